//! Vulnerability-scan reports: Trivy JSON, Grype JSON, OSV-Scanner JSON and SARIF 2.1.0, into
//! one `scans` row per report and one `vulnerabilities` row per vulnerability, on one scale of
//! severities and fix states whatever the scanner. The report's exact bytes are kept as a blob.
//!
//! Each format is one source type, in its own module, which says what it reads. A report is
//! about a release: the folder `<subject>/<version>/` it sits in under the source, else its
//! target when that reads as an image `name:tag` (see `report::release_of`).

pub mod grype;
pub mod osv;
mod report;
pub mod sarif;
pub mod trivy;

pub use grype::Grype;
pub use osv::OsvScanner;
pub use sarif::Sarif;
pub use trivy::Trivy;

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use cairn_evidence::artefacts::{ArtefactSet, ScanRow, VulnerabilityRow};
    use cairn_evidence::tables::{Confidence, Provenance};

    use super::report::{push_rows, ParseReport};

    fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scan")
    }

    fn prov() -> Provenance {
        Provenance {
            source: "scans".into(),
            object_key: "scans/report.json".into(),
            line: 1,
            byte_offset: 0,
            record_sha256: String::new(),
            run_id: "run-1".into(),
            collected_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            actor: "test".into(),
            confidence: Confidence::Unverified,
            simulated: false,
        }
    }

    /// The source type that reads a fixture, by its name.
    fn format_of(name: &str) -> (&'static str, ParseReport) {
        if name.ends_with(".sarif.json") {
            ("sarif", super::sarif::parse_sarif)
        } else if name.starts_with("trivy") {
            ("trivy", super::trivy::parse_trivy)
        } else if name.starts_with("grype") {
            ("grype", super::grype::parse_grype)
        } else {
            ("osv-scanner", super::osv::parse_osv)
        }
    }

    fn collect(name: &str, relative: &str) -> Result<(ScanRow, Vec<VulnerabilityRow>), String> {
        let bytes = std::fs::read(fixtures().join(name)).unwrap();
        collect_bytes(&bytes, name, relative)
    }

    fn collect_bytes(bytes: &[u8], name: &str, relative: &str) -> Result<(ScanRow, Vec<VulnerabilityRow>), String> {
        let mut rows = ArtefactSet::default();
        push_rows(bytes, relative, "blobs/sha256/x", &prov(), &mut rows, format_of(name))?;
        assert_eq!(rows.scans.len(), 1);
        Ok((rows.scans.remove(0), rows.vulnerabilities))
    }

    /// Every real report gives the rows, and the severities, that an independent counter
    /// (`fixtures/scan/expected.py`) finds in it.
    #[test]
    fn every_real_report_gives_the_rows_an_independent_count_finds() {
        let out = std::process::Command::new("python3").arg(fixtures().join("expected.py")).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let expected = String::from_utf8(out.stdout).unwrap();
        let mut checked = 0;
        for line in expected.lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            let (name, rows, severities) = (fields[0], fields[2], fields[3]);
            let (scan, vulns) = collect(name, name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(format!("rows={}", vulns.len()), rows, "{name}");
            assert_eq!(scan.vulnerabilities, vulns.len() as u64);
            let mut counts: BTreeMap<usize, (&str, usize)> = BTreeMap::new();
            let order = ["critical", "high", "medium", "low", "negligible", "unknown"];
            for v in &vulns {
                let rank = order.iter().position(|s| *s == v.severity).unwrap();
                counts.entry(rank).or_insert((order[rank], 0)).1 += 1;
            }
            let got: Vec<String> = counts.values().map(|(s, n)| format!("{s}={n}")).collect();
            let got = if got.is_empty() { "-".to_string() } else { got.join(" ") };
            assert_eq!(got, severities, "{name}");
            assert!(vulns.iter().all(|v| !v.vulnerability_id.is_empty() && v.scan_blob == "blobs/sha256/x"));
            checked += 1;
        }
        assert_eq!(checked, 12, "every fixture is counted");
    }

    #[test]
    fn trivy_rows_carry_the_package_the_fix_and_the_scores() {
        let (scan, vulns) = collect("trivy-debian-buster.json", "payments/2.0.1/trivy.json").unwrap();
        assert_eq!((scan.scanner.as_str(), scan.scanner_version.as_deref()), ("Trivy", None));
        assert_eq!(scan.target, "testdata/fixtures/images/debian-buster.tar.gz");
        assert_eq!((scan.subject.as_str(), scan.subject_version.as_deref()), ("payments", Some("2.0.1")));
        assert_eq!(scan.scanned_at.as_deref(), Some("2021-08-25T12:20:30.000000005Z"));
        let bash = &vulns[0];
        assert_eq!(bash.vulnerability_id, "CVE-2019-18276");
        assert_eq!((bash.package.as_deref(), bash.severity.as_str()), (Some("bash"), "low"));
        assert_eq!((bash.fix_state.as_str(), bash.fixed_version.as_deref()), ("not_fixed", None));
        // The vendor Trivy took the severity from (nvd here), v3 first.
        assert_eq!(bash.cvss_score.as_deref(), Some("7.8"));
        assert_eq!(bash.cvss_vector.as_deref(), Some("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"));
        assert_eq!(bash.target, "testdata/fixtures/images/debian-buster.tar.gz (debian 10.1)");
        let idn = &vulns[1];
        assert_eq!((idn.severity.as_str(), idn.fix_state.as_str()), ("critical", "fixed"));
        assert_eq!(idn.fixed_version.as_deref(), Some("2.0.5-1+deb10u1"));

        let (_, alpine) = collect("trivy-alpine-310.json", "trivy-alpine-310.json").unwrap();
        assert_eq!(alpine[0].vulnerability_id, "CVE-2019-1549");
        assert_eq!(alpine[0].purl.as_deref(), Some("pkg:apk/alpine/libcrypto1.1@1.1.1c-r0?arch=x86_64&distro=3.10.2"));
        assert_eq!(alpine[0].package_version.as_deref(), Some("1.1.1c-r0"));
        assert_eq!(alpine[0].title.as_deref(), Some("openssl: information disclosure in fork()"));
    }

    #[test]
    fn grype_osv_and_sarif_rows() {
        let (scan, vulns) = collect("grype-json-imgs-presenter.json", "g.json").unwrap();
        assert_eq!((scan.scanner.as_str(), scan.target.as_str(), scan.scanned_at), ("grype", "user-input", None));
        assert_eq!(vulns[0].fixed_version.as_deref(), Some("1.2.1; 2.1.3; 3.4.0"));
        assert_eq!((vulns[0].fix_state.as_str(), vulns[0].cvss_score.as_deref()), ("fixed", Some("8.2")));
        assert_eq!((vulns[1].fix_state.as_str(), vulns[1].package.as_deref()), ("unknown", Some("package-2")));

        let (scan, vulns) = collect("osv-scanner-test-vuln-results-a.json", "o.json").unwrap();
        assert_eq!(scan.target, "/path/to/go.mod");
        let regex = &vulns[1];
        assert_eq!(regex.vulnerability_id, "GHSA-m5pq-gvj9-9vr8");
        assert!(regex.aliases.contains("RUSTSEC-2022-0013"), "{}", regex.aliases);
        assert_eq!(regex.target, "/path/to/sub-rust-project/Cargo.lock");
        assert_eq!((regex.package.as_deref(), regex.package_version.as_deref()), (Some("regex"), Some("1.5.1")));

        let (scan, vulns) = collect("codeql-python-testing-queries.sarif.json", "c.json").unwrap();
        assert_eq!((scan.scanner.as_str(), scan.scanner_version.as_deref()), ("CodeQL", Some("2.5.8")));
        assert_eq!(vulns[0].vulnerability_id, "py/flask-debug");
        assert_eq!(vulns[0].location.as_deref(), Some("crypto/app-crypto.py:25"));
        assert_eq!((vulns[0].package.as_deref(), vulns[0].fix_state.as_str()), (None, "unknown"));

        let (scan, vulns) = collect("gitleaks-sarif-simple.sarif.json", "leaks.json").unwrap();
        assert_eq!((scan.scanner.as_str(), scan.scanner_version.as_deref()), ("gitleaks", Some("v8.0.0")));
        assert_eq!(
            (vulns[0].vulnerability_id.as_str(), vulns[0].location.as_deref()),
            ("test-rule", Some("auth.py:1"))
        );
    }

    #[test]
    fn a_wrong_or_broken_report_is_refused_with_its_reason() {
        let trivy = std::fs::read(fixtures().join("trivy-alpine-310.json")).unwrap();
        let err = |bytes: &[u8], name: &str| collect_bytes(bytes, name, "r.json").unwrap_err();
        assert_eq!(err(&trivy, "grype.json"), "not a Grype report: matches is missing");
        assert_eq!(err(&trivy, "x.sarif.json"), "not a SARIF log: version is missing");
        assert_eq!(err(&trivy, "osv.json"), "not an OSV-Scanner report: results is missing");
        assert_eq!(
            err(b"{\"SchemaVersion\": 1}", "trivy.json"),
            "unsupported Trivy report: SchemaVersion is 1, expected 2"
        );
        assert_eq!(err(b"", "trivy.json"), "not a Trivy document: the input is empty");
        let text = String::from_utf8(trivy).unwrap().replacen(
            "\"VulnerabilityID\": \"CVE-2019-1551\"",
            "\"VulnerabilityID\": 7",
            1,
        );
        let e = err(text.as_bytes(), "trivy.json");
        assert!(e.starts_with("Results[0].Vulnerabilities[1].VulnerabilityID: invalid type"), "{e}");
        let dup = br#"{"SchemaVersion": 2, "Results": [], "ArtifactName": "a", "ArtifactName": "b"}"#;
        assert!(err(dup, "trivy.json").contains("duplicate field `ArtifactName`"), "{}", err(dup, "trivy.json"));
        let dup = br#"{"SchemaVersion": 2, "Results": [], "Metadata": {"OS": 1, "OS": 2}}"#;
        assert!(err(dup, "trivy.json").starts_with("not valid JSON"), "{}", err(dup, "trivy.json"));
    }
}
