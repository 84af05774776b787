//! Which findings are still open: every break recorded in the lake stands until it is resolved
//! (a gap whose missing events arrived, named by a later `gap_closed`; a vulnerability past its
//! gate that a later scan no longer lists, named by a `vulnerability_fixed`; failed release tests
//! or an overdue quarantine that a later run cleared, named by a `tests_cleared`) or acknowledged (a signed,
//! dated acknowledgement whose `until` has not passed). A nightly job's exit code and the
//! metrics follow the open ones, not only the new ones, so a break never reads as green while it
//! stays.

use std::collections::{BTreeMap, BTreeSet};

use cairn_evidence::acknowledgement::AcknowledgementRow;
use cairn_evidence::time::parse_rfc3339;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::finding::{Finding, FindingKind};
use crate::{test_runs, vulnerabilities};

/// Where a break stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Standing {
    /// Not resolved, not acknowledged (or its acknowledgement lapsed).
    Open {
        /// The acknowledgement that lapsed, if one did.
        #[serde(skip_serializing_if = "Option::is_none")]
        lapsed: Option<Acknowledged>,
    },
    /// A gap whose missing events arrived later, or a vulnerability since fixed.
    Resolved {
        /// The verify run that recorded the `gap_closed` or `vulnerability_fixed` finding.
        closed_by_run: String,
    },
    /// Accepted, until a date.
    Acknowledged(Acknowledged),
}

/// An acknowledgement as shown beside its finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Acknowledged {
    /// Who.
    pub by: String,
    /// Why.
    pub reason: String,
    /// Until when (RFC 3339).
    pub until: String,
    /// When it was made (RFC 3339).
    pub at: String,
    /// The acknowledge run that committed it.
    pub run_id: String,
}

/// A recorded break and where it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingStanding {
    /// The finding's id ([`Finding::id`]).
    pub id: String,
    /// The finding as first recorded.
    pub finding: Finding,
    /// Where it stands.
    #[serde(flatten)]
    pub standing: Standing,
}

impl FindingStanding {
    /// Whether it still counts against the exit code and the metrics.
    pub fn is_open(&self) -> bool {
        matches!(self.standing, Standing::Open { .. })
    }
}

/// The breaks a later finding resolved, and the run that recorded it: a gap by the `gap_closed`
/// that names its chain and seq; a vulnerability's gate finding by a `vulnerability_fixed` that
/// names the same vulnerability, and a release's failed tests or an overdue quarantine by a
/// `tests_cleared` that names the same tests, unless the break was recorded again after that.
struct Resolutions<'a> {
    gaps: BTreeMap<(&'a str, u64), &'a str>,
    named: BTreeMap<(&'static str, &'a str), &'a str>,
}

/// Whether `f` opens or resolves a break named by its detail, in which family, under which name.
fn named(f: &Finding) -> Option<(bool, &'static str, &str)> {
    match f.kind {
        FindingKind::VulnerabilityGate => Some((false, "vulnerability", vulnerabilities::named_in(f)?)),
        FindingKind::VulnerabilityFixed => Some((true, "vulnerability", vulnerabilities::named_in(f)?)),
        FindingKind::ReleaseTestsFailed | FindingKind::TestQuarantineOverdue => {
            Some((false, "tests", test_runs::named_in(f)?))
        }
        FindingKind::TestsCleared => Some((true, "tests", test_runs::named_in(f)?)),
        _ => None,
    }
}

impl<'a> Resolutions<'a> {
    /// `findings` oldest first.
    fn of(findings: &'a [Finding]) -> Self {
        let mut gaps = BTreeMap::new();
        let mut resolved = BTreeMap::new();
        for f in findings {
            if f.kind == FindingKind::GapClosed {
                if let (Some(chain), Some(seq)) = (f.chain.as_deref(), f.seq) {
                    gaps.insert((chain, seq), f.run_id.as_str());
                }
            } else if let Some((resolves, family, name)) = named(f) {
                if resolves {
                    resolved.insert((family, name), f.run_id.as_str());
                } else {
                    resolved.remove(&(family, name));
                }
            }
        }
        Self { gaps, named: resolved }
    }

    /// The run that resolved `f`, if one did.
    fn resolved_by(&self, f: &Finding) -> Option<&'a str> {
        if f.kind == FindingKind::Gap {
            return self.gaps.get(&(f.chain.as_deref()?, f.seq?)).copied();
        }
        match named(f)? {
            (false, family, name) => self.named.get(&(family, name)).copied(),
            (true, _, _) => None,
        }
    }
}

/// The findings without the breaks a later finding resolved: what controls, counts and metrics
/// rest on. (A resolved gap was a late delivery, not a missing event; a resolved gate finding a
/// vulnerability since fixed. Both stay in the lake's history.)
pub fn unresolved(findings: &[Finding]) -> impl Iterator<Item = &Finding> {
    let resolutions = Resolutions::of(findings);
    findings.iter().filter(move |f| resolutions.resolved_by(f).is_none())
}

/// Every break among `recorded` (oldest first, as the lake's verify runs recorded them; the
/// first of several with one id stands for all), with where it stands at `now`.
pub fn standing(recorded: &[Finding], acks: &[AcknowledgementRow], now: DateTime<Utc>) -> Vec<FindingStanding> {
    let resolutions = Resolutions::of(recorded);
    // The latest acknowledgement of each finding.
    let mut latest: BTreeMap<&str, &AcknowledgementRow> = BTreeMap::new();
    for a in acks {
        let newer =
            latest.get(a.finding_id.as_str()).is_none_or(|b| b.provenance.collected_at <= a.provenance.collected_at);
        if newer {
            latest.insert(&a.finding_id, a);
        }
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for f in recorded.iter().filter(|f| f.kind.is_break()) {
        let id = f.id();
        if !seen.insert(id.clone()) {
            continue;
        }
        let standing = match resolutions.resolved_by(f) {
            Some(run) => Standing::Resolved { closed_by_run: run.to_string() },
            None => match latest.get(id.as_str()) {
                None => Standing::Open { lapsed: None },
                Some(a) => {
                    let shown = Acknowledged {
                        by: a.by.clone(),
                        reason: a.reason.clone(),
                        until: a.until.clone(),
                        at: cairn_evidence::time::format_rfc3339(a.provenance.collected_at),
                        run_id: a.provenance.run_id.clone(),
                    };
                    if parse_rfc3339(&a.until).is_some_and(|until| until > now) {
                        Standing::Acknowledged(shown)
                    } else {
                        Standing::Open { lapsed: Some(shown) }
                    }
                }
            },
        };
        out.push(FindingStanding { id, finding: f.clone(), standing });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_evidence::tables::{Confidence, Provenance};

    fn ack(finding: &Finding, until: &str, at: &str) -> AcknowledgementRow {
        AcknowledgementRow {
            finding_id: finding.id(),
            kind: finding.kind.to_string(),
            chain: finding.chain.clone(),
            seq: finding.seq,
            by: "Dana Ops".into(),
            reason: "the collector host was down; the events are in the vendor's archive".into(),
            until: until.into(),
            provenance: Provenance {
                source: "acknowledgement".into(),
                object_key: String::new(),
                line: 0,
                byte_offset: 0,
                record_sha256: String::new(),
                run_id: "ack-run".into(),
                collected_at: parse_rfc3339(at).unwrap(),
                actor: "cairn-ack".into(),
                confidence: Confidence::Verified,
                simulated: false,
            },
        }
    }

    #[test]
    fn breaks_stand_open_until_closed_or_acknowledged() {
        let now = parse_rfc3339("2026-12-06T00:00:00Z").unwrap();
        let gap = Finding::event(FindingKind::Gap, "a", 10, "seq 10 is missing".into()).recorded("r1", now, false);
        let gap2 = Finding::event(FindingKind::Gap, "a", 40, "seq 40 is missing".into()).recorded("r1", now, false);
        let fork = Finding::event(FindingKind::Fork, "b", 3, "two events".into()).recorded("r1", now, false);
        let dup = Finding::event(FindingKind::Duplicate, "b", 4, "again".into()).recorded("r1", now, false);
        let closed = Finding::event(FindingKind::GapClosed, "a", 10, "closed".into()).recorded("r2", now, false);
        let all = [gap.clone(), gap2.clone(), fork.clone(), dup, closed];
        let got = standing(&all, &[], now);
        let ids: Vec<(&str, bool)> = got.iter().map(|s| (s.finding.kind.as_str(), s.is_open())).collect();
        assert_eq!(ids, [("gap", false), ("gap", true), ("fork", true)]);
        let left: Vec<(&str, Option<u64>)> = unresolved(&all).map(|f| (f.kind.as_str(), f.seq)).collect();
        assert_eq!(left, [("gap", Some(40)), ("fork", Some(3)), ("duplicate", Some(4)), ("gap_closed", Some(10))]);
        assert_eq!(got[0].standing, Standing::Resolved { closed_by_run: "r2".into() });

        // An acknowledgement stands until its date; the latest one counts.
        let acks = [ack(&fork, "2026-12-31T00:00:00Z", "2026-12-01T00:00:00Z")];
        let got = standing(&all, &acks, now);
        assert!(matches!(&got[2].standing, Standing::Acknowledged(a) if a.by == "Dana Ops"));
        let later = parse_rfc3339("2027-01-01T00:00:00Z").unwrap();
        assert!(matches!(&standing(&all, &acks, later)[2].standing, Standing::Open { lapsed: Some(_) }));
        let renewed = [acks[0].clone(), ack(&fork, "2027-02-01T00:00:00Z", "2026-12-30T00:00:00Z")];
        assert!(!standing(&all, &renewed, later)[2].is_open());
        // Another finding's acknowledgement does not count.
        let other = [ack(&gap2, "2026-12-31T00:00:00Z", "2026-12-01T00:00:00Z")];
        assert!(standing(&all, &other, now)[2].is_open());
        assert!(!standing(&all, &other, now)[1].is_open());
    }

    #[test]
    fn a_gate_finding_stands_until_a_later_scan_no_longer_lists_it() {
        let now = parse_rfc3339("2026-12-06T00:00:00Z").unwrap();
        let gate = |run: &str| {
            let detail = "payments: CVE-1 in openssl (Trivy) is open since 2026-10-30, past the 15-day limit";
            Finding::object(FindingKind::VulnerabilityGate, "scans/a.json", detail.into()).recorded(run, now, false)
        };
        let fixed = |run: &str, who: &str| {
            let detail = format!(
                "payments: CVE-1 in {who} (Trivy) is no longer reported: the scan of payments does not list it"
            );
            Finding::object(FindingKind::VulnerabilityFixed, "scans/b.json", detail).recorded(run, now, false)
        };
        let open = |all: &[Finding]| standing(all, &[], now).iter().map(FindingStanding::is_open).collect::<Vec<_>>();
        assert_eq!(open(&[gate("r1"), gate("r2")]), [true]);
        // Fixed on another package: still open.
        assert_eq!(open(&[gate("r1"), fixed("r2", "zlib")]), [true]);
        let all = [gate("r1"), fixed("r2", "openssl")];
        assert_eq!(standing(&all, &[], now)[0].standing, Standing::Resolved { closed_by_run: "r2".into() });
        assert_eq!(unresolved(&all).count(), 1, "only the fix itself is left");
        // It came back: open again.
        assert_eq!(open(&[gate("r1"), fixed("r2", "openssl"), gate("r3")]), [true]);
    }
}
