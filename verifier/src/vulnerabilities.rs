//! Vulnerability scans over time: what appeared in and what was fixed by each scan of a subject,
//! when each vulnerability was first seen, and the severity gate.
//!
//! Scans of one subject by one scanner are ordered by when they ran (`scanned_at`, else when
//! they were collected). A vulnerability is one advisory on one package (for a SARIF result, one
//! rule at one location), so the same advisory on two packages is two.
//!
//! The gate (`[supply.vulnerability_gate]`, days by severity):
//!
//! ```toml
//! [supply.vulnerability_gate]
//! critical = 15   # the defaults
//! high = 30
//! ```
//!
//! When a scan arrives that is the latest of its subject by its scanner, every vulnerability it
//! still lists whose severity is gated and which was first seen (in any scan of that subject by
//! that scanner) more than that many days before the verify run is a `vulnerability_gate`
//! finding. When a later scan no longer lists a gated vulnerability, a `vulnerability_fixed`
//! finding (not a break) names it, and resolves its gate finding. A vulnerability that comes
//! back counts its age from when it was first seen, not from its return.

use std::collections::{BTreeMap, BTreeSet};

use cairn_evidence::artefacts::{ScanRow, VulnerabilityChangeRow, VulnerabilityRow};
use cairn_evidence::time::format_rfc3339;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::{Finding, FindingKind};

/// Days a vulnerability of each gated severity may stay open; severities not named are not gated.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Gate(pub BTreeMap<String, u32>);

impl Default for Gate {
    fn default() -> Self {
        Self(BTreeMap::from([("critical".into(), 15), ("high".into(), 30)]))
    }
}

/// The severities a gate may name, as the `severity` column writes them.
pub const SEVERITIES: [&str; 6] = ["critical", "high", "medium", "low", "negligible", "unknown"];

impl Gate {
    /// A severity the gate names that no scan writes, if any.
    pub fn unknown_severity(&self) -> Option<&str> {
        self.0.keys().map(String::as_str).find(|s| !SEVERITIES.contains(s))
    }
}

/// A vulnerability within a subject and scanner: its id and what it is on (the package, else
/// the location, else the result's target).
type Key<'a> = (&'a str, &'a str);

fn key(v: &VulnerabilityRow) -> Key<'_> {
    let on = v.package.as_deref().or(v.location.as_deref()).unwrap_or(&v.target);
    (&v.vulnerability_id, on)
}

/// How a gate finding and the `vulnerability_fixed` finding that resolves it name their
/// vulnerability: `subject: id in package (scanner)`.
fn named(subject: &str, scanner: &str, (id, on): Key<'_>) -> String {
    format!("{subject}: {id} in {on} ({scanner})")
}

/// The words between a vulnerability's name and the rest of a gate finding's detail.
const OPEN_SINCE: &str = " is open since ";
/// The words between a vulnerability's name and the rest of a `vulnerability_fixed` detail.
const NO_LONGER: &str = " is no longer reported";

/// The vulnerability a `vulnerability_gate` or `vulnerability_fixed` finding names.
pub fn named_in(f: &Finding) -> Option<&str> {
    let sep = match f.kind {
        FindingKind::VulnerabilityGate => OPEN_SINCE,
        FindingKind::VulnerabilityFixed => NO_LONGER,
        _ => return None,
    };
    f.detail.split_once(sep).map(|(name, _)| name)
}

/// Scans in the order they ran, with their vulnerabilities, grouped by subject and scanner.
struct History<'a> {
    by_subject: BTreeMap<(&'a str, &'a str), Vec<&'a ScanRow>>,
    listed: BTreeMap<&'a str, Vec<&'a VulnerabilityRow>>,
}

impl<'a> History<'a> {
    fn new(scans: &'a [ScanRow], vulnerabilities: &'a [VulnerabilityRow]) -> Self {
        let mut by_subject: BTreeMap<(&str, &str), Vec<&ScanRow>> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for s in scans {
            // A report collected twice (the same bytes under two names) is one scan.
            if seen.insert(s.blob.as_str()) {
                by_subject.entry((s.subject.as_str(), s.scanner.as_str())).or_default().push(s);
            }
        }
        for list in by_subject.values_mut() {
            // Stable: scans that ran at one time keep the order they were collected in.
            list.sort_by_key(|s| s.ran_at());
        }
        let mut listed: BTreeMap<&str, Vec<&VulnerabilityRow>> = BTreeMap::new();
        let mut rows = BTreeSet::new();
        for v in vulnerabilities {
            if rows.insert((v.scan_blob.as_str(), key(v))) {
                listed.entry(v.scan_blob.as_str()).or_default().push(v);
            }
        }
        Self { by_subject, listed }
    }

    fn listed(&self, scan: &ScanRow) -> &[&'a VulnerabilityRow] {
        self.listed.get(scan.blob.as_str()).map(Vec::as_slice).unwrap_or_default()
    }

    /// When, and in which scan of `list` (one subject's, in the order they ran), each
    /// vulnerability was first listed.
    fn first_listed(&self, list: &[&'a ScanRow]) -> BTreeMap<Key<'a>, (DateTime<Utc>, &'a ScanRow)> {
        let mut first = BTreeMap::new();
        for scan in list {
            for v in self.listed(scan) {
                first.entry(key(v)).or_insert((scan.ran_at(), *scan));
            }
        }
        first
    }
}

/// What the scans of `new_runs` changed: each against the scan of its subject by its scanner
/// that ran just before it (a subject's first scan: everything it lists appeared), and the
/// `vulnerability_fixed` findings for gated severities.
pub fn changes(
    scans: &[ScanRow],
    vulnerabilities: &[VulnerabilityRow],
    gate: &Gate,
    new_runs: &BTreeSet<String>,
) -> (Vec<VulnerabilityChangeRow>, Vec<Finding>) {
    let history = History::new(scans, vulnerabilities);
    let mut rows = Vec::new();
    let mut findings = Vec::new();
    for ((subject, scanner), list) in &history.by_subject {
        for (i, scan) in list.iter().enumerate() {
            if !new_runs.contains(&scan.provenance.run_id) {
                continue;
            }
            let previous = i.checked_sub(1).map(|p| list[p]);
            let now: BTreeMap<Key, &VulnerabilityRow> = history.listed(scan).iter().map(|v| (key(v), *v)).collect();
            let before: BTreeMap<Key, &VulnerabilityRow> =
                previous.map(|p| history.listed(p).iter().map(|v| (key(v), *v)).collect()).unwrap_or_default();
            let seen_at = format_rfc3339(scan.ran_at());
            let row = |change: &str, v: &VulnerabilityRow| VulnerabilityChangeRow {
                subject: (*subject).to_string(),
                subject_version: scan.subject_version.clone(),
                scanner: (*scanner).to_string(),
                from_blob: previous.map(|p| p.blob.clone()),
                to_blob: scan.blob.clone(),
                change: change.to_string(),
                vulnerability_id: v.vulnerability_id.clone(),
                package: v.package.clone(),
                package_version: v.package_version.clone(),
                severity: v.severity.clone(),
                seen_at: seen_at.clone(),
                provenance: scan.provenance.clone(),
            };
            for (k, v) in &now {
                if !before.contains_key(k) {
                    rows.push(row("appeared", v));
                }
            }
            for (k, v) in &before {
                if now.contains_key(k) {
                    continue;
                }
                rows.push(row("fixed", v));
                if gate.0.contains_key(&v.severity) {
                    let version = scan.subject_version.as_deref().map(|v| format!(" {v}")).unwrap_or_default();
                    findings.push(Finding::object(
                        FindingKind::VulnerabilityFixed,
                        &scan.provenance.object_key,
                        format!(
                            "{}{NO_LONGER}: the scan of {subject}{version} on {seen_at} does not list it",
                            named(subject, scanner, *k)
                        ),
                    ));
                }
            }
        }
    }
    (rows, findings)
}

/// The gate over the scans of `new_runs` that are the latest of their subject by their scanner.
pub fn check_gate(
    scans: &[ScanRow],
    vulnerabilities: &[VulnerabilityRow],
    gate: &Gate,
    new_runs: &BTreeSet<String>,
    at: DateTime<Utc>,
) -> Vec<Finding> {
    let history = History::new(scans, vulnerabilities);
    let mut out = Vec::new();
    for ((subject, scanner), list) in &history.by_subject {
        let Some(latest) = list.last().filter(|s| new_runs.contains(&s.provenance.run_id)) else { continue };
        let first = history.first_listed(list);
        for v in history.listed(latest) {
            let Some(days) = gate.0.get(&v.severity) else { continue };
            let Some((since, where_first)) = first.get(&key(v)) else { continue };
            let age = (at - *since).num_days();
            if age > i64::from(*days) {
                out.push(Finding::object(
                    FindingKind::VulnerabilityGate,
                    &where_first.provenance.object_key,
                    format!(
                        "{}{OPEN_SINCE}{}, past the {days}-day limit for {} vulnerabilities",
                        named(subject, scanner, key(v)),
                        since.format("%Y-%m-%d"),
                        v.severity
                    ),
                ));
            }
        }
    }
    out
}

/// When each vulnerability of each scan was first seen, by `(scan blob, id, what it is on)`: the
/// first scan of its subject by its scanner that listed it.
pub fn first_seen(
    scans: &[ScanRow],
    vulnerabilities: &[VulnerabilityRow],
) -> BTreeMap<(String, String, String), DateTime<Utc>> {
    let history = History::new(scans, vulnerabilities);
    let mut out = BTreeMap::new();
    for list in history.by_subject.values() {
        let first = history.first_listed(list);
        for scan in list {
            for v in history.listed(scan) {
                let (id, on) = key(v);
                out.insert((scan.blob.clone(), id.to_string(), on.to_string()), first[&key(v)].0);
            }
        }
    }
    out
}

/// What a vulnerability row is on: its package, else its location, else its result's target.
pub fn on(v: &VulnerabilityRow) -> &str {
    key(v).1
}

/// How gate and fix findings name the vulnerability of a row.
pub fn name_of(v: &VulnerabilityRow) -> String {
    named(&v.subject, &v.scanner, key(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_evidence::tables::{Confidence, Provenance};
    use cairn_evidence::time::parse_rfc3339;

    fn prov(run: &str, object: &str) -> Provenance {
        Provenance {
            source: "scans".into(),
            object_key: object.into(),
            line: 1,
            byte_offset: 0,
            record_sha256: String::new(),
            run_id: run.into(),
            collected_at: parse_rfc3339("2026-11-21T02:00:00Z").unwrap(),
            actor: "test".into(),
            confidence: Confidence::Unverified,
            simulated: false,
        }
    }

    fn scan(blob: &str, version: &str, at: &str, run: &str) -> ScanRow {
        ScanRow {
            blob: blob.into(),
            format: "trivy".into(),
            scanner: "Trivy".into(),
            scanner_version: None,
            target: "img".into(),
            subject: "payments".into(),
            subject_version: Some(version.into()),
            scanned_at: Some(at.into()),
            vulnerabilities: 0,
            provenance: prov(run, &format!("scans/{blob}.json")),
        }
    }

    fn vuln(blob: &str, id: &str, package: &str, severity: &str) -> VulnerabilityRow {
        VulnerabilityRow {
            scan_blob: blob.into(),
            subject: "payments".into(),
            subject_version: None,
            scanner: "Trivy".into(),
            target: "img".into(),
            package: Some(package.into()),
            package_version: Some("1".into()),
            purl: None,
            vulnerability_id: id.into(),
            aliases: String::new(),
            severity: severity.into(),
            cvss_score: None,
            cvss_vector: None,
            fix_state: "fixed".into(),
            fixed_version: None,
            location: None,
            title: None,
            provenance: prov("r", "x"),
        }
    }

    fn runs(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_gate_counts_from_the_first_scan_that_listed_it_and_a_later_scan_fixes_it() {
        let at = parse_rfc3339("2026-11-21T02:00:00Z").unwrap();
        // Collected in the other order from how they ran: order comes from the scan time.
        let scans =
            vec![scan("b", "1.4.0", "2026-11-20T00:00:00Z", "r2"), scan("a", "1.3.0", "2026-10-30T00:00:00Z", "r1")];
        let vulns = vec![
            vuln("a", "CVE-1", "openssl", "critical"),
            vuln("a", "CVE-2", "zlib", "high"),
            vuln("a", "CVE-3", "musl", "low"),
            vuln("b", "CVE-1", "openssl", "critical"),
            vuln("b", "CVE-4", "curl", "critical"),
        ];
        let gate = Gate::default();
        let found = check_gate(&scans, &vulns, &gate, &runs(&["r2"]), at);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, FindingKind::VulnerabilityGate);
        assert_eq!(found[0].object_key.as_deref(), Some("scans/a.json"));
        assert_eq!(
            found[0].detail,
            "payments: CVE-1 in openssl (Trivy) is open since 2026-10-30, past the 15-day limit for critical vulnerabilities"
        );
        assert_eq!(named_in(&found[0]), Some("payments: CVE-1 in openssl (Trivy)"));
        // Only the latest scan is gated: the older one arriving alone finds nothing.
        assert!(check_gate(&scans, &vulns, &gate, &runs(&["r1"]), at).is_empty());

        let (rows, fixed) = changes(&scans, &vulns, &gate, &runs(&["r2"]));
        let got: Vec<(&str, &str)> = rows.iter().map(|r| (r.change.as_str(), r.vulnerability_id.as_str())).collect();
        assert_eq!(got, [("appeared", "CVE-4"), ("fixed", "CVE-2"), ("fixed", "CVE-3")]);
        assert!(rows.iter().all(|r| r.from_blob.as_deref() == Some("a") && r.to_blob == "b"));
        // Only the gated severity is a finding; it names the vulnerability as the gate does.
        assert_eq!(fixed.len(), 1);
        assert_eq!(named_in(&fixed[0]), Some("payments: CVE-2 in zlib (Trivy)"));
        assert!(!fixed[0].kind.is_break());

        // A subject's first scan: everything appeared.
        let (first, _) = changes(&scans, &vulns, &gate, &runs(&["r1"]));
        assert_eq!(first.len(), 3);
        assert!(first.iter().all(|r| r.change == "appeared" && r.from_blob.is_none()));

        let first = first_seen(&scans, &vulns);
        let day = |k: (&str, &str, &str)| first[&(k.0.into(), k.1.into(), k.2.into())].format("%F").to_string();
        assert_eq!(day(("b", "CVE-1", "openssl")), "2026-10-30");
        assert_eq!(day(("b", "CVE-4", "curl")), "2026-11-20");
        assert_eq!(name_of(&vulns[3]), named_in(&found[0]).unwrap());
    }

    #[test]
    fn a_gate_names_only_severities_scans_write() {
        let gate: Gate = toml::from_str("critical = 7\nsevere = 1").unwrap();
        assert_eq!(gate.unknown_severity(), Some("severe"));
        assert_eq!(Gate::default().unknown_severity(), None);
    }
}
