//! The demo organisation's vulnerability scans, in the formats the scanners write: a Trivy JSON
//! report of every service's 1.4.0 image, a Grype JSON report of identity's, an OSV-Scanner
//! report of storage's lock file, and a SARIF log of payments' static analysis. Each sits in its
//! release's folder, `<service>/1.4.0/`.
//!
//! Planted: payments was also scanned on 2026-10-28 as 1.3.0. Its critical `DEMO-2026-0001` in
//! `libssl3` is still reported by the 1.4.0 scan, so it has been open since then, past the
//! 15-day gate for critical vulnerabilities; its high `DEMO-2026-0002` in `libcurl4` is fixed
//! in 1.4.0.
//!
//! The advisory ids are the demo's own (`DEMO-…`): no real advisory is claimed of any package.

use std::path::Path;

use anyhow::Result;
use serde_json::{json, Value};

/// The night the demo's 1.4.0 images were scanned.
const SCANNED_AT: &str = "2026-11-20T23:30:00Z";

/// One vulnerability of a demo Trivy report: id, package, installed, fixed (empty: none),
/// severity, CVSS v3 score, title.
type TrivyEntry = (&'static str, &'static str, &'static str, &'static str, &'static str, f64, &'static str);

const OPENSSL: TrivyEntry = (
    "DEMO-2026-0001",
    "libssl3",
    "3.0.15-1~deb12u1",
    "3.0.16-1~deb12u1",
    "CRITICAL",
    9.8,
    "openssl: heap overflow in the TLS record layer",
);
const CURL: TrivyEntry = (
    "DEMO-2026-0002",
    "libcurl4",
    "7.88.1-10+deb12u7",
    "7.88.1-10+deb12u8",
    "HIGH",
    7.5,
    "curl: credentials leaked on cross-origin redirect",
);
const ZLIB: TrivyEntry =
    ("DEMO-2026-0003", "zlib1g", "1:1.2.13.dfsg-1", "", "MEDIUM", 5.3, "zlib: out-of-bounds read in inflate");
const TAR: TrivyEntry =
    ("DEMO-2026-0004", "tar", "1.34+dfsg-1.2", "", "LOW", 3.3, "tar: crafted archive exhausts memory");

fn trivy(service: &str, version: &str, at: &str, entries: &[TrivyEntry]) -> Value {
    let image = format!("registry.example.com/acme/{service}:{version}");
    let vulnerabilities: Vec<Value> = entries
        .iter()
        .map(|(id, pkg, installed, fixed, severity, score, title)| {
            let mut v = json!({
                "VulnerabilityID": id,
                "PkgID": format!("{pkg}@{installed}"),
                "PkgName": pkg,
                "PkgIdentifier": {"PURL": format!("pkg:deb/debian/{pkg}@{installed}?arch=amd64&distro=debian-12.8")},
                "InstalledVersion": installed,
                "Status": if fixed.is_empty() { "affected" } else { "fixed" },
                "SeveritySource": "nvd",
                "Title": title,
                "Severity": severity,
                "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "V3Score": score}},
            });
            if !fixed.is_empty() {
                v["FixedVersion"] = json!(fixed);
            }
            v
        })
        .collect();
    json!({
        "SchemaVersion": 2,
        "CreatedAt": at,
        "ArtifactName": image,
        "ArtifactType": "container_image",
        "Metadata": {"OS": {"Family": "debian", "Name": "12.8"}, "RepoTags": [image]},
        "Results": [
            {"Target": format!("{image} (debian 12.8)"), "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": vulnerabilities},
            {"Target": "app/Cargo.lock", "Class": "lang-pkgs", "Type": "cargo"},
        ],
    })
}

fn grype(service: &str, version: &str) -> Value {
    let image = format!("registry.example.com/acme/{service}:{version}");
    json!({
        "matches": [
            {
                "vulnerability": {
                    "id": "DEMO-2026-0005",
                    "severity": "Medium",
                    "cvss": [{"version": "3.1", "vector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", "metrics": {"baseScore": 5.9}}],
                    "fix": {"versions": ["0.9.4"], "state": "fixed"},
                },
                "relatedVulnerabilities": [{"id": "DEMO-GHSA-7q2x-demo-0005"}],
                "artifact": {"name": "jsonwebtoken", "version": "9.3.0", "type": "rust-crate", "purl": "pkg:cargo/jsonwebtoken@9.3.0"},
            },
            {
                "vulnerability": {
                    "id": "DEMO-2026-0006",
                    "severity": "Negligible",
                    "cvss": [],
                    "fix": {"versions": [], "state": "wont-fix"},
                },
                "relatedVulnerabilities": [],
                "artifact": {"name": "login", "version": "1:4.13+dfsg1-1", "type": "deb", "purl": "pkg:deb/debian/login@1:4.13+dfsg1-1"},
            },
        ],
        "source": {"type": "image", "target": {"userInput": image, "tags": [image]}},
        "distro": {"name": "debian", "version": "12"},
        "descriptor": {"name": "grype", "version": "0.86.1", "timestamp": SCANNED_AT},
    })
}

fn osv(service: &str) -> Value {
    json!({
        "results": [{
            "source": {"path": format!("/src/{service}/Cargo.lock"), "type": "lockfile"},
            "packages": [{
                "package": {"name": "object_store", "version": "0.11.1", "ecosystem": "crates.io"},
                "vulnerabilities": [{
                    "id": "DEMO-GHSA-5h3m-demo-0007",
                    "aliases": ["DEMO-2026-0007"],
                    "summary": "object_store: signed URL accepted after expiry",
                    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:N"}],
                    "affected": [{
                        "package": {"name": "object_store", "ecosystem": "crates.io"},
                        "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.11.2"}]}],
                    }],
                    "database_specific": {"severity": "MODERATE"},
                }],
                "groups": [{"ids": ["DEMO-GHSA-5h3m-demo-0007"], "aliases": ["DEMO-GHSA-5h3m-demo-0007", "DEMO-2026-0007"], "max_severity": "5.4"}],
            }],
        }],
    })
}

fn sarif() -> Value {
    json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": {"driver": {
                "name": "demo-sast",
                "version": "2.4.0",
                "rules": [
                    {"id": "rust/hard-coded-credential", "shortDescription": {"text": "Hard-coded credential"},
                     "defaultConfiguration": {"level": "error"}, "properties": {"security-severity": "8.1", "tags": ["security"]}},
                    {"id": "rust/weak-hash", "shortDescription": {"text": "Use of a weak hash for a security purpose"},
                     "defaultConfiguration": {"level": "warning"}, "properties": {"security-severity": "4.3", "tags": ["security"]}},
                ],
            }},
            "invocations": [{"executionSuccessful": true, "startTimeUtc": SCANNED_AT}],
            "results": [
                {"ruleId": "rust/weak-hash", "ruleIndex": 1, "level": "warning",
                 "message": {"text": "MD5 is used to derive an idempotency key."},
                 "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/idempotency.rs"}, "region": {"startLine": 42}}}]},
            ],
        }],
    })
}

/// Writes the scans under `inputs/scans/` and returns their `[[source]]` entries.
pub fn write(inputs: &Path, services: &[&str]) -> Result<String> {
    let put = |kind: &str, service: &str, version: &str, file: &str, value: &Value| -> Result<()> {
        let folder = inputs.join("scans").join(kind).join(service).join(version);
        std::fs::create_dir_all(&folder)?;
        std::fs::write(folder.join(file), serde_json::to_string_pretty(value)? + "\n")?;
        Ok(())
    };
    for service in services {
        let entries: &[TrivyEntry] = match *service {
            "payments" => &[OPENSSL, ZLIB],
            "identity" => &[TAR],
            _ => &[ZLIB, TAR],
        };
        put("trivy", service, "1.4.0", "trivy.json", &trivy(service, "1.4.0", SCANNED_AT, entries))?;
    }
    put(
        "trivy",
        "payments",
        "1.3.0",
        "trivy.json",
        &trivy("payments", "1.3.0", "2026-10-28T23:30:00Z", &[OPENSSL, CURL, ZLIB]),
    )?;
    put("grype", "identity", "1.4.0", "grype.json", &grype("identity", "1.4.0"))?;
    put("osv", "storage", "1.4.0", "osv-scanner.json", &osv("storage"))?;
    put("sarif", "payments", "1.4.0", "sast.sarif", &sarif())?;
    Ok("\n[[source]]\nname = \"scan-trivy\"\ntype = \"trivy\"\nurl = \"inputs/scans/trivy/\"\n\
        \n[[source]]\nname = \"scan-grype\"\ntype = \"grype\"\nurl = \"inputs/scans/grype/\"\n\
        \n[[source]]\nname = \"scan-osv\"\ntype = \"osv-scanner\"\nurl = \"inputs/scans/osv/\"\n\
        \n[[source]]\nname = \"scan-sarif\"\ntype = \"sarif\"\nurl = \"inputs/scans/sarif/\"\n"
        .to_string())
}
