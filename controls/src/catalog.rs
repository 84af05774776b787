//! The control catalog's types, the built-in catalog, and the evaluation of each control from a
//! summary of the evidence.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The built-in catalog's text.
pub const BUILTIN_CATALOG: &str = include_str!("../catalog/controls.toml");

/// What is wrong with a catalog.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// The TOML is malformed or has unknown keys (the message names line and key).
    #[error("control catalog {name}: {message}")]
    Syntax {
        /// Which catalog.
        name: String,
        /// The parser's message.
        message: String,
    },
    /// A control is invalid.
    #[error("control catalog {name}: control {id}: {detail}")]
    Control {
        /// Which catalog.
        name: String,
        /// The control.
        id: String,
        /// Why.
        detail: String,
    },
}

/// How a control relates to a requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    /// The control and requirement cover the same ground.
    Equal,
    /// The control covers part of the requirement.
    SubsetOf,
    /// The control covers more than the requirement.
    SupersetOf,
    /// They overlap.
    IntersectsWith,
}

impl Relationship {
    /// As written in the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Equal => "equal",
            Self::SubsetOf => "subset_of",
            Self::SupersetOf => "superset_of",
            Self::IntersectsWith => "intersects_with",
        }
    }
}

/// A link from a control to a framework requirement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequirementLink {
    /// `soc2`, `iso27001`, `gdpr` or `hipaa`.
    pub framework: String,
    /// Requirement id as the framework writes it.
    pub id: String,
    /// Relationship type.
    pub relationship: Relationship,
    /// Why the link holds.
    pub rationale: String,
    /// `high`, `medium` or `low`.
    pub confidence: String,
}

/// The evidence a control rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// Verified audit events.
    Events,
    /// The lake's own manifests and objects.
    Lake,
    /// That verification ran.
    Verification,
    /// CI attestations (build provenance, signatures).
    Attestations,
    /// SBOMs of released artefacts.
    Sboms,
    /// Vulnerability-scan reports.
    Scans,
    /// Test reports (JUnit XML).
    Tests,
    /// Threat models.
    ThreatModels,
    /// A document recorded by a person (policy, training record, contract, DPIA).
    Manual,
    /// Signed policy Decision Cards.
    Policies,
}

impl EvidenceKind {
    /// As written in the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Events => "events",
            Self::Lake => "lake",
            Self::Verification => "verification",
            Self::Attestations => "attestations",
            Self::Sboms => "sboms",
            Self::Scans => "scans",
            Self::Tests => "tests",
            Self::ThreatModels => "threat_models",
            Self::Manual => "manual",
            Self::Policies => "policies",
        }
    }
}

/// One control.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// Id, e.g. `LOG-01`.
    pub id: String,
    /// Short title.
    pub title: String,
    /// Markdown description.
    pub description: String,
    /// Evidence it rests on.
    pub evidence: EvidenceKind,
    /// Finding kinds that fail it.
    pub fails_on: Vec<String>,
    /// Evidence older than this many days makes it stale.
    pub max_age_days: u32,
    /// Framework requirements it maps to.
    #[serde(default, rename = "requirement")]
    pub requirements: Vec<RequirementLink>,
}

/// A catalog of controls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Catalog version.
    pub version: String,
    /// Controls in catalog order.
    #[serde(rename = "control")]
    pub controls: Vec<Control>,
}

/// The frameworks Cairn maps to, with their display names.
pub const FRAMEWORKS: [(&str, &str); 4] = [
    ("soc2", "SOC 2 (2017 Trust Services Criteria)"),
    ("iso27001", "ISO/IEC 27001:2022"),
    ("gdpr", "GDPR"),
    ("hipaa", "HIPAA Security Rule"),
];

impl Catalog {
    /// The built-in catalog.
    pub fn builtin() -> Result<Self, CatalogError> {
        Self::parse(BUILTIN_CATALOG, "built-in")
    }

    /// Parses and validates a catalog.
    pub fn parse(text: &str, name: &str) -> Result<Self, CatalogError> {
        let catalog: Catalog =
            toml::from_str(text).map_err(|e| CatalogError::Syntax { name: name.into(), message: e.to_string() })?;
        for c in &catalog.controls {
            let bad = |detail: String| CatalogError::Control { name: name.into(), id: c.id.clone(), detail };
            for link in &c.requirements {
                if !FRAMEWORKS.iter().any(|(f, _)| *f == link.framework) {
                    return Err(bad(format!("unknown framework {:?}", link.framework)));
                }
            }
            if !c.id.starts_with(|ch: char| ch.is_ascii_alphanumeric())
                || !c.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                return Err(bad("ids start with a letter or digit and use letters, digits, `-` and `.` only".into()));
            }
        }
        Ok(catalog)
    }
}

/// What the lake says, summarised for evaluation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvidenceSummary {
    /// Audit events verified.
    pub events_verified: u64,
    /// Chains seen.
    pub chains: u64,
    /// When the latest verification committed.
    pub last_verified_at: Option<DateTime<Utc>>,
    /// Findings by kind.
    pub findings_by_kind: BTreeMap<String, u64>,
    /// Collected artefacts by evidence kind (`attestations`, `sboms`, `scans`, `tests`, `threat_models`).
    pub artefacts: BTreeMap<String, ArtefactEvidence>,
    /// Recorded documents by the control id they are evidence for.
    pub documents: BTreeMap<String, Vec<DocumentEvidence>>,
}

/// A document recorded as evidence of a manual control.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentEvidence {
    /// Title.
    pub title: String,
    /// Owner.
    pub owner: String,
    /// The date it records (midnight UTC).
    pub date: DateTime<Utc>,
}

/// What is known of one kind of collected artefact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArtefactEvidence {
    /// How many were collected.
    pub count: u64,
    /// The newest one's date: an SBOM's creation, an attestation's build or collection, a
    /// threat model's review. `None` when none states one.
    pub newest: Option<DateTime<Utc>>,
}

/// A control's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Evidence present, fresh, and no failing finding.
    Passing,
    /// A failing finding.
    Failing,
    /// Evidence older than allowed.
    Stale,
    /// No evidence.
    NoEvidence,
    /// Rests on a document a person records; none is recorded.
    Manual,
}

impl Status {
    /// As shown in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passing => "passing",
            Self::Failing => "failing",
            Self::Stale => "stale",
            Self::NoEvidence => "no_evidence",
            Self::Manual => "manual",
        }
    }
}

/// One control's evaluation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ControlResult {
    /// Control id.
    pub id: String,
    /// Status.
    pub status: Status,
    /// Why, one line each.
    pub reasons: Vec<String>,
}

/// Evaluates every control at time `now`.
pub fn evaluate(catalog: &Catalog, evidence: &EvidenceSummary, now: DateTime<Utc>) -> Vec<ControlResult> {
    catalog
        .controls
        .iter()
        .map(|c| {
            let mut reasons = Vec::new();
            let Some(verified_at) = evidence.last_verified_at else {
                return ControlResult {
                    id: c.id.clone(),
                    status: Status::NoEvidence,
                    reasons: vec!["no verification has run".into()],
                };
            };
            let artefacts = evidence.artefacts.get(c.evidence.as_str()).cloned().unwrap_or_default();
            match c.evidence {
                EvidenceKind::Attestations
                | EvidenceKind::Sboms
                | EvidenceKind::Scans
                | EvidenceKind::Tests
                | EvidenceKind::ThreatModels
                | EvidenceKind::Policies
                    if artefacts.count == 0 =>
                {
                    return ControlResult {
                        id: c.id.clone(),
                        status: Status::NoEvidence,
                        reasons: vec![format!(
                            "no {} evidence has been collected",
                            c.evidence.as_str().replace('_', " ")
                        )],
                    };
                }
                EvidenceKind::Manual => {
                    let newest = evidence.documents.get(&c.id).and_then(|docs| docs.iter().max_by_key(|d| d.date));
                    let limit = Duration::days(i64::from(c.max_age_days));
                    let (status, reason) = match newest {
                        None => (
                            Status::Manual,
                            "shown by a document with an owner and a date; none is recorded".to_string(),
                        ),
                        Some(d) if now - d.date > limit => (
                            Status::Stale,
                            format!(
                                "the newest document, {:?} ({}, dated {}), is {} days old (limit {})",
                                d.title,
                                d.owner,
                                d.date.format("%Y-%m-%d"),
                                (now - d.date).num_days(),
                                c.max_age_days
                            ),
                        ),
                        Some(d) => (
                            Status::Passing,
                            format!("document {:?} by {}, dated {}", d.title, d.owner, d.date.format("%Y-%m-%d")),
                        ),
                    };
                    return ControlResult { id: c.id.clone(), status, reasons: vec![reason] };
                }
                EvidenceKind::Events
                | EvidenceKind::Lake
                | EvidenceKind::Verification
                | EvidenceKind::Attestations
                | EvidenceKind::Sboms
                | EvidenceKind::Scans
                | EvidenceKind::Tests
                | EvidenceKind::ThreatModels
                | EvidenceKind::Policies => {}
            }
            if c.evidence == EvidenceKind::Events && evidence.events_verified == 0 {
                return ControlResult {
                    id: c.id.clone(),
                    status: Status::NoEvidence,
                    reasons: vec!["no audit events have been collected".into()],
                };
            }
            let failing: Vec<String> = c
                .fails_on
                .iter()
                .filter_map(|k| {
                    evidence.findings_by_kind.get(k).filter(|n| **n > 0).map(|n| format!("{n} {k} finding(s)"))
                })
                .collect();
            let age = now - verified_at;
            let is_artefact = matches!(
                c.evidence,
                EvidenceKind::Attestations
                    | EvidenceKind::Sboms
                    | EvidenceKind::Scans
                    | EvidenceKind::Tests
                    | EvidenceKind::ThreatModels
                    | EvidenceKind::Policies
            );
            let artefact_age = artefacts.newest.map(|t| now - t);
            let limit = Duration::days(i64::from(c.max_age_days));
            let kind_name = c.evidence.as_str().replace('_', " ");
            let status = if !failing.is_empty() {
                reasons.extend(failing);
                Status::Failing
            } else if age > limit {
                reasons.push(format!("latest verification is {} days old (limit {})", age.num_days(), c.max_age_days));
                Status::Stale
            } else if is_artefact && artefact_age.is_none_or(|a| a > limit) {
                reasons.push(match artefact_age {
                    Some(a) => {
                        format!("the newest of {} is {} days old (limit {})", kind_name, a.num_days(), c.max_age_days)
                    }
                    None => format!("no collected {kind_name} states a date"),
                });
                Status::Stale
            } else {
                reasons.push(match c.evidence {
                    EvidenceKind::Events => format!(
                        "{} events in {} chains verified, no failing finding",
                        evidence.events_verified, evidence.chains
                    ),
                    EvidenceKind::Lake => "every manifest and committed object checked, no failing finding".into(),
                    EvidenceKind::Verification => format!("verified {} ago", human_age(age)),
                    _ => format!(
                        "{} {kind_name} collected, the newest {} old, no failing finding",
                        artefacts.count,
                        artefact_age.map_or_else(String::new, human_age)
                    ),
                });
                Status::Passing
            };
            ControlResult { id: c.id.clone(), status, reasons }
        })
        .collect()
}

fn human_age(age: Duration) -> String {
    if age.num_days() > 0 {
        format!("{} days", age.num_days())
    } else if age.num_hours() > 0 {
        format!("{} hours", age.num_hours())
    } else {
        format!("{} minutes", age.num_minutes().max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn builtin_catalog_loads_and_evaluates() {
        let cat = Catalog::builtin().unwrap();
        assert!(cat.controls.len() >= 4);
        let mut ev = EvidenceSummary {
            events_verified: 10,
            chains: 1,
            last_verified_at: Some(t("2026-11-20T00:00:00Z")),
            ..Default::default()
        };
        ev.findings_by_kind.insert("gap".into(), 1);
        ev.findings_by_kind.insert("duplicate".into(), 1);
        let res = evaluate(&cat, &ev, t("2026-11-21T00:00:00Z"));
        let status = |id: &str| res.iter().find(|r| r.id == id).unwrap().status;
        assert_eq!(status("LOG-01"), Status::Passing);
        assert_eq!(status("LOG-02"), Status::Failing);
        assert_eq!(status("LOG-04"), Status::Passing);
        let later = evaluate(&cat, &ev, t("2026-12-21T00:00:00Z"));
        assert_eq!(later.iter().find(|r| r.id == "LOG-04").unwrap().status, Status::Stale);
        assert!(evaluate(&cat, &EvidenceSummary::default(), t("2026-11-21T00:00:00Z"))
            .iter()
            .all(|r| r.status == Status::NoEvidence));
    }

    #[test]
    fn catalog_typos_are_named() {
        let err = Catalog::parse("version = \"1\"\n[[control]]\nid = \"X\"\ntitel = \"t\"\n", "user.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("titel"), "{err}");
    }
}
