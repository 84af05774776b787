//! Source type `trivy`: Trivy JSON reports (`trivy image|fs|repo --format json`), `SchemaVersion` 2.
//!
//! What is read:
//! - every entry of `Results[].Vulnerabilities` is one row, its target the result's `Target`;
//!   results without vulnerabilities (misconfigurations, secrets, licences) give none;
//! - the scanned target is `ArtifactName`, the time `CreatedAt`, the version `Trivy.Version`
//!   when the report has it (older reports do not);
//! - the package is `PkgName` at `InstalledVersion`, its purl `PkgIdentifier.PURL`;
//! - the severity is `Severity`; the CVSS score and vector are those of the vendor named by
//!   `SeveritySource`, else NVD's, else the first vendor's in name order, v3 before v2;
//! - the fix state is `Status` (`fixed`; `affected`, `fix_deferred`, `under_investigation` are
//!   not fixed; `will_not_fix`, `end_of_life` will not be), or without a `Status` (reports
//!   before 0.35) `fixed` exactly when `FixedVersion` is stated; `FixedVersion` may list
//!   several versions, `, `-separated.

use std::collections::BTreeMap;

use cairn_evidence::artefacts::ArtefactSet;
use cairn_evidence::tables::Provenance;
use serde::de::Deserializer;
use serde::Deserialize;
use serde_json::{Number, Value};

use super::report::{non_empty, push_rows, FixState, Report, Severity, Vulnerability, UNIT};
use crate::artefact::{self, ArtefactFormat};
use crate::config::ArtefactConfig;
use crate::json_doc::{field_fns, in_field, indexed_seq, keep_all, probe, seq_fns};
use crate::source::newtype_source;

/// A `trivy` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct Trivy(pub ArtefactConfig);

/// How a `trivy` file is read.
const FORMAT: ArtefactFormat = ArtefactFormat { unit: UNIT, parse: Some(parse) };

newtype_source!(Trivy, "trivy", artefact::collect, FORMAT);

fn parse(
    bytes: &[u8],
    relative: &str,
    blob: &str,
    provenance: &Provenance,
    rows: &mut ArtefactSet,
) -> Result<u64, String> {
    push_rows(bytes, relative, blob, provenance, rows, ("trivy", parse_trivy))
}

/// Parses a Trivy JSON report.
pub(super) fn parse_trivy(bytes: &[u8]) -> Result<Report, String> {
    let probe: Probe = probe(bytes, "Trivy")?;
    match probe.schema_version {
        Some(Value::Number(n)) if n.as_u64() == Some(2) => {}
        Some(other) => return Err(format!("unsupported Trivy report: SchemaVersion is {other}, expected 2")),
        None => return Err("not a Trivy report: SchemaVersion is missing".into()),
    }
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let mut vulnerabilities = Vec::new();
    for result in doc.results {
        for v in result.vulnerabilities {
            vulnerabilities.push(row(v, result.target.as_ref()));
        }
    }
    Ok(Report {
        scanner: "Trivy".into(),
        scanner_version: doc.trivy.and_then(|t| non_empty(t.version)),
        target: doc.artifact_name.unwrap_or_default(),
        scanned_at: non_empty(doc.created_at),
        vulnerabilities,
    })
}

fn row(v: TrivyVuln, target: Option<&String>) -> Vulnerability {
    let fixed_versions: Vec<String> = v
        .fixed_version
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let fix_state = match v.status.as_deref() {
        Some("fixed") => FixState::Fixed,
        Some("affected" | "fix_deferred" | "under_investigation") => FixState::NotFixed,
        Some("will_not_fix" | "end_of_life") => FixState::WontFix,
        Some(_) => FixState::Unknown,
        None if fixed_versions.is_empty() => FixState::NotFixed,
        None => FixState::Fixed,
    };
    let (cvss_score, cvss_vector) = cvss(&v.cvss, v.severity_source.as_deref());
    Vulnerability {
        target: non_empty(target.cloned()),
        package: non_empty(v.pkg_name),
        package_version: non_empty(v.installed_version),
        purl: v.pkg_identifier.and_then(|p| non_empty(p.purl)),
        id: v.vulnerability_id,
        aliases: Vec::new(),
        severity: Severity::from_label(v.severity.as_deref().unwrap_or_default()),
        cvss_score,
        cvss_vector,
        fix_state,
        fixed_versions,
        location: None,
        title: non_empty(v.title),
    }
}

/// The score and vector of the vendor Trivy took the severity from, else NVD's, else the first
/// vendor's; v3 before v2.
fn cvss(by_vendor: &BTreeMap<String, Cvss>, source: Option<&str>) -> (Option<String>, Option<String>) {
    let preferred = source.into_iter().chain(["nvd"]).filter_map(|s| by_vendor.get(s));
    for c in preferred.chain(by_vendor.values()) {
        if let Some(score) = &c.v3_score {
            return (Some(score.to_string()), non_empty(c.v3_vector.clone()));
        }
    }
    for c in by_vendor.values() {
        if let Some(score) = &c.v2_score {
            return (Some(score.to_string()), non_empty(c.v2_vector.clone()));
        }
    }
    (None, None)
}

#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "SchemaVersion")]
    schema_version: Option<Value>,
}

#[derive(Deserialize)]
struct Doc {
    #[serde(rename = "ArtifactName", default, deserialize_with = "f_artifact_name")]
    artifact_name: Option<String>,
    #[serde(rename = "CreatedAt", default, deserialize_with = "f_created_at")]
    created_at: Option<String>,
    #[serde(rename = "Trivy", default)]
    trivy: Option<TrivyInfo>,
    #[serde(rename = "Results", default, deserialize_with = "seq_results")]
    results: Vec<TrivyResult>,
}

#[derive(Deserialize)]
struct TrivyInfo {
    #[serde(rename = "Version", default)]
    version: Option<String>,
}

#[derive(Deserialize)]
struct TrivyResult {
    #[serde(rename = "Target", default, deserialize_with = "f_target")]
    target: Option<String>,
    #[serde(rename = "Vulnerabilities", default, deserialize_with = "seq_vulnerabilities")]
    vulnerabilities: Vec<TrivyVuln>,
}

#[derive(Deserialize)]
struct TrivyVuln {
    #[serde(rename = "VulnerabilityID", deserialize_with = "f_vulnerability_id")]
    vulnerability_id: String,
    #[serde(rename = "PkgName", default, deserialize_with = "f_pkg_name")]
    pkg_name: Option<String>,
    #[serde(rename = "PkgIdentifier", default)]
    pkg_identifier: Option<PkgIdentifier>,
    #[serde(rename = "InstalledVersion", default, deserialize_with = "f_installed_version")]
    installed_version: Option<String>,
    #[serde(rename = "FixedVersion", default, deserialize_with = "f_fixed_version")]
    fixed_version: Option<String>,
    #[serde(rename = "Status", default, deserialize_with = "f_status")]
    status: Option<String>,
    #[serde(rename = "Severity", default, deserialize_with = "f_severity")]
    severity: Option<String>,
    #[serde(rename = "SeveritySource", default)]
    severity_source: Option<String>,
    #[serde(rename = "Title", default)]
    title: Option<String>,
    #[serde(rename = "CVSS", default, deserialize_with = "f_cvss")]
    cvss: BTreeMap<String, Cvss>,
}

#[derive(Deserialize)]
struct PkgIdentifier {
    #[serde(rename = "PURL", default)]
    purl: Option<String>,
}

#[derive(Deserialize)]
struct Cvss {
    #[serde(rename = "V3Score", default)]
    v3_score: Option<Number>,
    #[serde(rename = "V3Vector", default)]
    v3_vector: Option<String>,
    #[serde(rename = "V2Score", default)]
    v2_score: Option<Number>,
    #[serde(rename = "V2Vector", default)]
    v2_vector: Option<String>,
}

field_fns! {
    f_artifact_name: Option<String> = "ArtifactName";
    f_created_at: Option<String> = "CreatedAt";
    f_target: Option<String> = "Target";
    f_vulnerability_id: String = "VulnerabilityID";
    f_pkg_name: Option<String> = "PkgName";
    f_installed_version: Option<String> = "InstalledVersion";
    f_fixed_version: Option<String> = "FixedVersion";
    f_status: Option<String> = "Status";
    f_severity: Option<String> = "Severity";
}

fn f_cvss<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Cvss>, D::Error> {
    let map: Option<BTreeMap<String, Cvss>> = in_field(d, "CVSS")?;
    Ok(map.unwrap_or_default())
}

seq_fns! {
    seq_results: TrivyResult = "Results";
    seq_vulnerabilities: TrivyVuln = "Vulnerabilities";
}
