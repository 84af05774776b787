//! Supply-chain and design policy: the approved-dependency register, releases against their
//! attestations and SBOMs, threat-model review and unmitigated threats, SBOM diffs, and
//! vulnerability scans against the severity gate (`crate::vulnerabilities`).
//!
//! The register (TOML):
//!
//! ```toml
//! # Package URLs allowed, as globs (`*` any run, `?` one character). A component without a
//! # purl is matched by `name` against `names`.
//! purls = ["pkg:cargo/*", "pkg:npm/@acme/*"]
//! names = ["busybox"]
//! # Licence ids allowed. An SPDX expression passes when some `OR` branch has only allowed ids.
//! licenses = ["MIT", "Apache-2.0", "BSD-3-Clause"]
//! # A component with no licence stated: "deny" (the default) or "allow".
//! unknown_license = "deny"
//! ```

use std::collections::{BTreeMap, BTreeSet};

use cairn_evidence::artefacts::{
    ArtefactRow, ArtefactSet, AttestationRow, SbomComponentRow, SbomDiffRow, SbomRow, ThreatModelRow, ThreatRow,
    VulnerabilityChangeRow,
};
use cairn_evidence::digest::sha256_hex;
use cairn_evidence::keyring::{glob_match, Keyring};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::vulnerabilities::Gate;
use crate::{Finding, FindingKind};

/// The approved-dependency register.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Register {
    /// Allowed package-URL globs.
    #[serde(default)]
    pub purls: Vec<String>,
    /// Allowed names, for components without a purl.
    #[serde(default)]
    pub names: Vec<String>,
    /// Allowed licence ids.
    #[serde(default)]
    pub licenses: BTreeSet<String>,
    /// Whether a component with no licence stated passes.
    #[serde(default)]
    pub unknown_license: UnknownLicense,
}

/// What to do with a component whose licence is not stated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownLicense {
    /// A finding.
    #[default]
    Deny,
    /// Passes.
    Allow,
}

/// Why a register cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// It is not TOML of the register's shape; the parser's message names the line and key.
    #[error(transparent)]
    Toml {
        /// The parser's complaint.
        #[from]
        source: toml::de::Error,
    },
}

impl Register {
    /// Parses a register; errors name the line and key.
    pub fn parse(text: &str) -> Result<Self, RegisterError> {
        Ok(toml::from_str(text)?)
    }

    fn approves(&self, c: &SbomComponentRow) -> bool {
        match &c.purl {
            Some(purl) => self.purls.iter().any(|g| glob_match(g, purl)),
            None => self.names.iter().any(|g| glob_match(g, &c.name)),
        }
    }
}

/// Whether an SPDX licence expression is allowed: some `OR` branch whose ids are all allowed
/// (`WITH` exceptions go with their licence). `None` for an expression that does not parse.
pub fn license_allowed(expression: &str, allowed: &BTreeSet<String>) -> Option<bool> {
    let spaced = expression.replace('(', " ( ").replace(')', " ) ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut at = 0;
    let value = or_expr(&tokens, &mut at, allowed)?;
    (at == tokens.len()).then_some(value)
}

fn or_expr(t: &[&str], at: &mut usize, ok: &BTreeSet<String>) -> Option<bool> {
    let mut v = and_expr(t, at, ok)?;
    while t.get(*at).is_some_and(|w| w.eq_ignore_ascii_case("OR")) {
        *at += 1;
        v |= and_expr(t, at, ok)?;
    }
    Some(v)
}

fn and_expr(t: &[&str], at: &mut usize, ok: &BTreeSet<String>) -> Option<bool> {
    let mut v = atom(t, at, ok)?;
    while t.get(*at).is_some_and(|w| w.eq_ignore_ascii_case("AND")) {
        *at += 1;
        v &= atom(t, at, ok)?;
    }
    Some(v)
}

fn atom(t: &[&str], at: &mut usize, ok: &BTreeSet<String>) -> Option<bool> {
    let word = *t.get(*at)?;
    *at += 1;
    if word == "(" {
        let v = or_expr(t, at, ok)?;
        (t.get(*at) == Some(&")")).then(|| *at += 1)?;
        return Some(v);
    }
    if word == ")" || ["AND", "OR", "WITH"].iter().any(|k| word.eq_ignore_ascii_case(k)) {
        return None;
    }
    if t.get(*at).is_some_and(|w| w.eq_ignore_ascii_case("WITH")) {
        // An exception only widens what its licence permits: the licence decides.
        t.get(*at + 1)?;
        *at += 2;
    }
    Some(ok.contains(word) || ok.contains(word.trim_end_matches('+')))
}

/// A finding about a row of an artefact table: it points at the source object and line.
fn finding(kind: FindingKind, object_key: &str, line: u64, detail: String) -> Finding {
    Finding::object(kind, object_key, detail).at_line(line)
}

/// Components outside the register, and licences it does not allow.
pub fn check_components(components: &[SbomComponentRow], register: &Register) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in components {
        let p = &c.provenance;
        let version = c.version.as_deref().map(|v| format!("@{v}")).unwrap_or_default();
        let shown = c.purl.clone().unwrap_or_else(|| format!("{}{version}", c.name));
        if !register.approves(c) {
            out.push(finding(
                FindingKind::UnapprovedComponent,
                &p.object_key,
                p.line,
                format!("component {shown} is not in the approved-dependency register"),
            ));
        }
        let verdict = match c.licenses.as_deref().map(str::trim) {
            None | Some("" | "NOASSERTION" | "NONE") => match register.unknown_license {
                UnknownLicense::Allow => Ok(()),
                UnknownLicense::Deny => Err("states no licence".to_string()),
            },
            Some(expr) => match license_allowed(expr, &register.licenses) {
                Some(true) => Ok(()),
                Some(false) => Err(format!("is licensed {expr}, which the register does not allow")),
                None => Err(format!("has a licence expression that does not parse: {expr}")),
            },
        };
        if let Err(why) = verdict {
            out.push(finding(
                FindingKind::DisallowedLicense,
                &p.object_key,
                p.line,
                format!("component {shown} {why}"),
            ));
        }
    }
    out
}

/// The release a release artefact belongs to: its folder, `<subject>/<version>`.
pub fn release_of(artefact: &ArtefactRow) -> Option<(String, String)> {
    let mut parts = artefact.name.rsplit('/').skip(1);
    let version = parts.next()?;
    let subject = parts.next()?;
    Some((subject.to_string(), version.to_string()))
}

/// Release artefacts against attestations (by digest) and SBOMs (by subject and version).
pub fn check_releases(artefacts: &[ArtefactRow], attestations: &[AttestationRow], sboms: &[SbomRow]) -> Vec<Finding> {
    let mut out = Vec::new();
    let attested: BTreeSet<&str> =
        attestations.iter().filter(|a| a.digest_alg == "sha256").map(|a| a.digest_value.as_str()).collect();
    let mut releases = BTreeMap::new();
    for a in artefacts {
        let p = &a.provenance;
        if !attested.contains(a.sha256.as_str()) {
            let file = a.name.rsplit('/').next().unwrap_or(&a.name);
            let named: Vec<&AttestationRow> = attestations.iter().filter(|s| s.subject_name == file).collect();
            if let Some(s) = named.first() {
                out.push(finding(
                    FindingKind::SubjectDigestMismatch,
                    &p.object_key,
                    p.line,
                    format!(
                        "release artefact {} has sha256 {}, but its attestation ({}) names {}:{}",
                        a.name, a.sha256, s.provenance.object_key, s.digest_alg, s.digest_value
                    ),
                ));
            } else {
                out.push(finding(
                    FindingKind::UnattestedArtifact,
                    &p.object_key,
                    p.line,
                    format!("release artefact {} (sha256 {}) is named by no attestation", a.name, a.sha256),
                ));
            }
        }
        if let Some(release) = release_of(a) {
            releases.entry(release).or_insert(a);
        }
    }
    for ((subject, version), a) in releases {
        let has_sbom = sboms.iter().any(|s| {
            let name = s.subject.rsplit('/').next().unwrap_or(&s.subject);
            (name.eq_ignore_ascii_case(&subject) || s.subject.eq_ignore_ascii_case(&subject))
                && s.subject_version.as_deref() == Some(version.as_str())
        });
        if !has_sbom {
            out.push(finding(
                FindingKind::MissingSbom,
                &a.provenance.object_key,
                a.provenance.line,
                format!("release {subject} {version} has no SBOM (none describes {subject} version {version})"),
            ));
        }
    }
    out
}

/// Severities that make an open, unmitigated threat a finding.
const HIGH_SEVERITIES: [&str; 3] = ["high", "critical", "very high"];

/// Threat models not reviewed within `review_days` of `at`, and open high-severity threats with
/// no mitigation.
pub fn check_threat_models(
    models: &[ThreatModelRow],
    threats: &[ThreatRow],
    review_days: u32,
    at: DateTime<Utc>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for m in models {
        let p = &m.provenance;
        // Age counts from the stated review date or, for a model that states none (Threat
        // Dragon has no such field), from when its current content was first collected.
        let reviewed = m.reviewed.as_deref().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        let (since, what) = match reviewed {
            Some(d) => (d, "was last reviewed on"),
            None => (p.collected_at.date_naive(), "states no review date and was collected on"),
        };
        let age = (at.date_naive() - since).num_days();
        let stale = (age > i64::from(review_days))
            .then(|| format!("{what} {since}, {age} days ago (interval: {review_days} days)"));
        if let Some(why) = stale {
            out.push(finding(
                FindingKind::ThreatModelStale,
                &p.object_key,
                p.line,
                format!("threat model {:?} {why}", m.title),
            ));
        }
    }
    for t in threats {
        let open = t.status.eq_ignore_ascii_case("open") || t.status.eq_ignore_ascii_case("identified");
        let high = t.severity.as_deref().is_some_and(|s| HIGH_SEVERITIES.iter().any(|h| s.eq_ignore_ascii_case(h)));
        let mitigated = t.mitigation.as_deref().is_some_and(|m| !m.trim().is_empty());
        if open && high && !mitigated {
            let p = &t.provenance;
            out.push(finding(
                FindingKind::UnmitigatedThreat,
                &p.object_key,
                p.line,
                format!(
                    "threat {} {:?} is open, {} and has no mitigation",
                    t.threat_id,
                    t.title,
                    t.severity.as_deref().unwrap_or_default()
                ),
            ));
        }
    }
    out
}

/// The component changes from one SBOM of a subject to the next: added, removed, changed version.
/// Components are matched by name; the rows carry the newer SBOM's provenance.
pub fn sbom_diff(
    subject: &str,
    old: (&str, &[SbomComponentRow]),
    new: (&str, &[SbomComponentRow]),
) -> Vec<SbomDiffRow> {
    let index = |rows: &[SbomComponentRow]| -> BTreeMap<String, Option<String>> {
        rows.iter().map(|c| (c.name.clone(), c.version.clone())).collect()
    };
    let (before, after) = (index(old.1), index(new.1));
    let Some(provenance) = new.1.first().map(|c| c.provenance.clone()) else {
        return Vec::new();
    };
    let row = |change: &str, name: &str, from: Option<String>, to: Option<String>| SbomDiffRow {
        subject: subject.to_string(),
        from_blob: old.0.to_string(),
        to_blob: new.0.to_string(),
        change: change.to_string(),
        name: name.to_string(),
        from_version: from,
        to_version: to,
        provenance: provenance.clone(),
    };
    let mut out = Vec::new();
    for (name, v) in &after {
        match before.get(name) {
            None => out.push(row("added", name, None, v.clone())),
            Some(old_v) if old_v != v => out.push(row("changed", name, old_v.clone(), v.clone())),
            Some(_) => {}
        }
    }
    for (name, v) in &before {
        if !after.contains_key(name) {
            out.push(row("removed", name, v.clone(), None));
        }
    }
    out.sort_by(|a, b| (&a.name, &a.change).cmp(&(&b.name, &b.change)));
    out
}

/// What the supply-chain checks found and derived.
#[derive(Default)]
pub struct SupplyOutcome {
    /// Findings.
    pub findings: Vec<Finding>,
    /// The rows derived from the new artefacts, which the verify run commits.
    pub derived: Derived,
}

/// Rows the checks derive from the artefacts.
#[derive(Default)]
pub struct Derived {
    /// Component changes between successive SBOMs of a subject.
    pub diffs: Vec<SbomDiffRow>,
    /// Vulnerabilities that appeared or were fixed between successive scans of a subject.
    pub vulnerability_changes: Vec<VulnerabilityChangeRow>,
}

/// What the supply-chain checks read besides the verify run's time.
pub struct SupplyInput<'a> {
    /// Every committed artefact row.
    pub tables: &'a ArtefactSet,
    /// The stored bytes of the blobs that the new attestation and Decision Card rows name, by key
    /// (see [`SupplyInput::blobs_needed`]).
    pub blobs: &'a BTreeMap<String, Vec<u8>>,
    /// The approved-dependency register, when one is configured.
    pub register: Option<&'a Register>,
    /// The keys trusted for attestations and Decision Cards.
    pub keyring: &'a Keyring,
    /// How old a threat model's review may be.
    pub threat_model_review_days: u32,
    /// How long a Decision Card stays valid without being re-signed.
    pub policy_review_days: u32,
    /// How long a vulnerability of each gated severity may stay open.
    pub vulnerability_gate: &'a Gate,
    /// How long a test may stay quarantined.
    pub test_quarantine_days: u32,
    /// The Sigstore trusted root keyless bundles are verified against.
    pub sigstore: &'a crate::keyless::SigstoreTrust,
}

impl SupplyInput<'_> {
    /// The blob keys [`check_new`] reads for the rows of `new_runs`: the caller reads them from the
    /// store into [`SupplyInput::blobs`].
    pub fn blobs_needed(tables: &ArtefactSet, new_runs: &BTreeSet<String>) -> BTreeSet<String> {
        let attestations =
            tables.attestations.iter().filter(|r| new_runs.contains(&r.provenance.run_id)).map(|r| &r.blob);
        let policies = tables.policies.iter().filter(|r| new_runs.contains(&r.provenance.run_id)).map(|r| &r.blob);
        attestations.chain(policies).cloned().collect()
    }

    fn blob(&self, key: &str, findings: &mut Vec<Finding>) -> Option<&[u8]> {
        let blob = self.blobs.get(key).map(Vec::as_slice);
        if blob.is_none() {
            findings.push(Finding::object(
                FindingKind::ObjectDigestMismatch,
                key,
                "the blob was not read for the check".into(),
            ));
        }
        blob
    }
}

/// Runs the checks over the artefacts that arrived in `new_runs`, in numbered steps.
pub fn check_new(input: &SupplyInput<'_>, new_runs: &BTreeSet<String>, at: DateTime<Utc>) -> SupplyOutcome {
    let t = input.tables;
    let keyring = input.keyring;
    let is_new = |run: &str| new_runs.contains(run);
    let mut findings = Vec::new();

    // 1. Attestations: each collected record once, from its stored blob.
    let mut seen = BTreeSet::new();
    for row in t.attestations.iter().filter(|r| is_new(&r.provenance.run_id)) {
        let p = &row.provenance;
        if !seen.insert((p.object_key.clone(), p.line, p.record_sha256.clone(), p.run_id.clone())) {
            continue;
        }
        let Some(blob) = input.blob(&row.blob, &mut findings) else { continue };
        if row.blob.rsplit('/').next() != Some(sha256_hex(blob).as_str()) {
            findings.push(Finding::object(
                FindingKind::ObjectDigestMismatch,
                &row.blob,
                "the blob's bytes do not match its name".into(),
            ));
            continue;
        }
        findings.extend(crate::attest::check_attestation(row, blob, keyring, input.sigstore));
    }

    // 2. SBOM components against the approved-dependency register.
    if let Some(register) = input.register {
        // The package an SBOM describes is the organisation's own, not a dependency.
        let subjects: BTreeSet<(&str, &str, Option<&str>)> =
            t.sboms.iter().map(|s| (s.blob.as_str(), s.subject.as_str(), s.subject_version.as_deref())).collect();
        let new: Vec<SbomComponentRow> = t
            .components
            .iter()
            .filter(|c| is_new(&c.provenance.run_id))
            .filter(|c| !subjects.contains(&(c.sbom_blob.as_str(), c.name.as_str(), c.version.as_deref())))
            .cloned()
            .collect();
        findings.extend(check_components(&new, register));
    }

    // 3. Release artefacts: attested by digest, described by an SBOM.
    let new_artefacts: Vec<ArtefactRow> =
        t.artefacts.iter().filter(|a| is_new(&a.provenance.run_id)).cloned().collect();
    findings.extend(check_releases(&new_artefacts, &t.attestations, &t.sboms));

    // 4. Threat models: reviewed in time, no open high-severity threat without a mitigation.
    let models: Vec<ThreatModelRow> =
        t.threat_models.iter().filter(|m| is_new(&m.provenance.run_id)).cloned().collect();
    let threats: Vec<ThreatRow> = t.threats.iter().filter(|m| is_new(&m.provenance.run_id)).cloned().collect();
    findings.extend(check_threat_models(&models, &threats, input.threat_model_review_days, at));

    // 5. Decision Cards: signed by a key allowed for them, immutable per version, reviewed.
    for row in t.policies.iter().filter(|r| is_new(&r.provenance.run_id)) {
        let Some(blob) = input.blob(&row.blob, &mut findings) else { continue };
        findings.extend(crate::policy::check_policy(row, blob, &t.policies, keyring, input.policy_review_days, at));
    }

    // 6. Diffs: each new SBOM against the latest earlier SBOM of the same subject.
    let mut by_blob: BTreeMap<&str, Vec<SbomComponentRow>> = BTreeMap::new();
    for c in &t.components {
        by_blob.entry(c.sbom_blob.as_str()).or_default().push(c.clone());
    }
    let mut diffs = Vec::new();
    for (i, sbom) in t.sboms.iter().enumerate() {
        if !is_new(&sbom.provenance.run_id) {
            continue;
        }
        let previous = t.sboms[..i].iter().rev().find(|s| s.subject == sbom.subject && s.blob != sbom.blob);
        if let Some(prev) = previous {
            let empty = Vec::new();
            let old = by_blob.get(prev.blob.as_str()).unwrap_or(&empty);
            let new = by_blob.get(sbom.blob.as_str()).unwrap_or(&empty);
            diffs.extend(sbom_diff(&sbom.subject, (&prev.blob, old), (&sbom.blob, new)));
        }
    }

    // 7. Scans: what each new scan changed, and the gate over the latest scan of each subject.
    let gate = input.vulnerability_gate;
    let (vulnerability_changes, fixed) = crate::vulnerabilities::changes(&t.scans, &t.vulnerabilities, gate, new_runs);
    findings.extend(fixed);
    findings.extend(crate::vulnerabilities::check_gate(&t.scans, &t.vulnerabilities, gate, new_runs, at));

    // 8. Test results: each release's latest runs pass, no test stays quarantined too long.
    findings.extend(crate::test_runs::check(&t.test_runs, &t.test_cases, input.test_quarantine_days, new_runs, at));
    SupplyOutcome { findings, derived: Derived { diffs, vulnerability_changes } }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_evidence::tables::Provenance;

    fn prov(line: u64) -> Provenance {
        Provenance {
            source: "s".into(),
            object_key: "sbom.json".into(),
            line,
            byte_offset: 0,
            record_sha256: String::new(),
            run_id: "r".into(),
            collected_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            actor: "test".into(),
            confidence: cairn_evidence::tables::Confidence::Unverified,
            simulated: false,
        }
    }

    fn comp(name: &str, version: &str, purl: Option<&str>, lic: Option<&str>) -> SbomComponentRow {
        SbomComponentRow {
            sbom_blob: "b".into(),
            component_ref: name.into(),
            name: name.into(),
            version: Some(version.into()),
            purl: purl.map(Into::into),
            component_type: Some("library".into()),
            licenses: lic.map(Into::into),
            hashes: String::new(),
            supplier: None,
            depends_on: String::new(),
            provenance: prov(1),
        }
    }

    #[test]
    fn licence_expressions() {
        let ok: BTreeSet<String> = ["MIT", "Apache-2.0"].into_iter().map(String::from).collect();
        assert_eq!(license_allowed("MIT", &ok), Some(true));
        assert_eq!(license_allowed("GPL-3.0-only", &ok), Some(false));
        assert_eq!(license_allowed("MIT OR GPL-3.0-only", &ok), Some(true));
        assert_eq!(license_allowed("MIT AND GPL-3.0-only", &ok), Some(false));
        assert_eq!(license_allowed("Apache-2.0 AND (MIT OR GPL-2.0-only)", &ok), Some(true));
        assert_eq!(license_allowed("(GPL-2.0-only WITH Classpath-exception-2.0) OR MIT", &ok), Some(true));
        assert_eq!(license_allowed("MIT AND", &ok), None);
        assert_eq!(license_allowed("(MIT", &ok), None);
    }

    #[test]
    fn components_outside_the_register_are_found() {
        let register = Register::parse("purls = [\"pkg:cargo/*\"]\nlicenses = [\"MIT\", \"Apache-2.0\"]\n").unwrap();
        let rows = vec![
            comp("serde", "1.0.1", Some("pkg:cargo/serde@1.0.1"), Some("MIT OR Apache-2.0")),
            comp("left-pad", "1.3.0", Some("pkg:npm/left-pad@1.3.0"), Some("WTFPL")),
            comp("mystery", "0.1", Some("pkg:cargo/mystery@0.1"), None),
        ];
        let f = check_components(&rows, &register);
        let kinds: Vec<_> = f.iter().map(|f| (f.kind, f.detail.split(' ').nth(1).unwrap_or_default())).collect();
        assert_eq!(
            kinds,
            vec![
                (FindingKind::UnapprovedComponent, "pkg:npm/left-pad@1.3.0"),
                (FindingKind::DisallowedLicense, "pkg:npm/left-pad@1.3.0"),
                (FindingKind::DisallowedLicense, "pkg:cargo/mystery@0.1"),
            ]
        );
        assert!(Register::parse("purl = []").unwrap_err().to_string().contains("purl"));
    }

    #[test]
    fn diffs_name_added_removed_and_changed() {
        let old = vec![comp("a", "1", None, None), comp("b", "1", None, None)];
        let new = vec![comp("a", "2", None, None), comp("c", "1", None, None)];
        let d = sbom_diff("svc", ("old", &old), ("new", &new));
        let got: Vec<_> = d.iter().map(|r| (r.change.as_str(), r.name.as_str())).collect();
        assert_eq!(got, vec![("changed", "a"), ("removed", "b"), ("added", "c")]);
    }

    #[test]
    fn threat_models_go_stale_and_open_high_threats_need_mitigation() {
        let at = DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z").unwrap().with_timezone(&Utc);
        let model = |reviewed: Option<&str>| ThreatModelRow {
            blob: "b".into(),
            format: "markdown".into(),
            title: "payments".into(),
            subsystem: None,
            version: None,
            owner: None,
            reviewer: None,
            reviewed: reviewed.map(Into::into),
            threats: 0,
            open_threats: 0,
            provenance: prov(1),
        };
        let f = check_threat_models(&[model(Some("2026-06-01")), model(Some("2024-01-01")), model(None)], &[], 365, at);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].detail.contains("2024-01-01"), "{}", f[0].detail);
        let threat = |status: &str, sev: &str, mitigation: Option<&str>| ThreatRow {
            model_blob: "b".into(),
            threat_id: "T-1".into(),
            title: "t".into(),
            category: None,
            severity: Some(sev.into()),
            status: status.into(),
            mitigation: mitigation.map(Into::into),
            element: None,
            controls: String::new(),
            provenance: prov(2),
        };
        let threats = [
            threat("Open", "High", None),
            threat("Open", "High", Some("rate limit")),
            threat("Mitigated", "Critical", None),
            threat("Open", "Low", None),
        ];
        let f = check_threat_models(&[], &threats, 365, at);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, FindingKind::UnmitigatedThreat);
    }
}
