//! Source type `grype`: Grype JSON reports (`grype <target> -o json`).
//!
//! What is read:
//! - every entry of `matches` is one row: `vulnerability` on `artifact`;
//! - the scanned target is `source.target`: the string (a directory or file), or for an image
//!   its `userInput`, else its first tag, else its `imageID`;
//! - scanner, version and time are `descriptor.name`, `descriptor.version`, `descriptor.timestamp`;
//! - the package is `artifact.name` at `artifact.version`, its purl `artifact.purl`;
//! - aliases are the ids of `relatedVulnerabilities`;
//! - the severity is `vulnerability.severity`; the CVSS score and vector are the first entry of
//!   `vulnerability.cvss` (then of the related records) with the highest version;
//! - the fix state is `vulnerability.fix.state` (`fixed`, `not-fixed`, `wont-fix`, `unknown`),
//!   the fixed versions `vulnerability.fix.versions`.

use cairn_evidence::artefacts::ArtefactSet;
use cairn_evidence::tables::Provenance;
use serde::de::{Deserializer, IgnoredAny};
use serde::Deserialize;
use serde_json::{Number, Value};

use super::report::{non_empty, push_rows, FixState, Report, Severity, Vulnerability, UNIT};
use crate::artefact::{self, ArtefactFormat};
use crate::config::ArtefactConfig;
use crate::json_doc::{field_fns, in_field, indexed_seq, keep_all, probe, seq_fns};
use crate::source::newtype_source;

/// A `grype` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct Grype(pub ArtefactConfig);

/// How a `grype` file is read.
const FORMAT: ArtefactFormat = ArtefactFormat { unit: UNIT, parse: Some(parse) };

newtype_source!(Grype, "grype", artefact::collect, FORMAT);

fn parse(
    bytes: &[u8],
    relative: &str,
    blob: &str,
    provenance: &Provenance,
    rows: &mut ArtefactSet,
) -> Result<u64, String> {
    push_rows(bytes, relative, blob, provenance, rows, ("grype", parse_grype))
}

/// Parses a Grype JSON report.
pub(super) fn parse_grype(bytes: &[u8]) -> Result<Report, String> {
    let probe: Probe = probe(bytes, "Grype")?;
    if probe.matches.is_none() {
        return Err("not a Grype report: matches is missing".into());
    }
    let descriptor = probe.descriptor.ok_or("not a Grype report: descriptor is missing")?;
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let vulnerabilities = doc.matches.into_iter().map(row).collect();
    Ok(Report {
        scanner: non_empty(descriptor.name).unwrap_or_else(|| "grype".into()),
        scanner_version: non_empty(descriptor.version),
        target: doc.source.map(|s| target(s.target)).unwrap_or_default(),
        scanned_at: non_empty(descriptor.timestamp),
        vulnerabilities,
    })
}

/// What was scanned: a path as written, or an image by what the user asked for.
fn target(t: Option<Value>) -> String {
    match t {
        Some(Value::String(s)) => s,
        Some(Value::Object(o)) => {
            let text = |k: &str| o.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from);
            let first_tag = o.get("tags").and_then(Value::as_array).and_then(|t| t.first()).and_then(Value::as_str);
            text("userInput").or(first_tag.map(String::from)).or_else(|| text("imageID")).unwrap_or_default()
        }
        _ => String::new(),
    }
}

fn row(m: Match) -> Vulnerability {
    let v = m.vulnerability;
    let fix = v.fix.unwrap_or_default();
    let fix_state = match fix.state.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("fixed") => FixState::Fixed,
        Some("not-fixed") => FixState::NotFixed,
        Some("wont-fix") => FixState::WontFix,
        _ => FixState::Unknown,
    };
    // The highest CVSS version first; within one version, the first listed.
    let cvss = v
        .cvss
        .iter()
        .chain(m.related.iter().flat_map(|r| r.cvss.iter()))
        .filter(|c| c.metrics.as_ref().is_some_and(|m| m.base_score.is_some()))
        .fold(None::<&Cvss>, |best, c| match best {
            Some(b) if version_key(b.version.as_deref()) >= version_key(c.version.as_deref()) => Some(b),
            _ => Some(c),
        });
    let cvss_score = cvss.and_then(|c| c.metrics.as_ref()?.base_score.as_ref()).map(Number::to_string);
    let cvss_vector = cvss.and_then(|c| non_empty(c.vector.clone()));
    Vulnerability {
        target: None,
        package: non_empty(m.artifact.name),
        package_version: non_empty(m.artifact.version),
        purl: non_empty(m.artifact.purl),
        aliases: m.related.into_iter().filter_map(|r| non_empty(r.id)).collect(),
        id: v.id,
        severity: Severity::from_label(v.severity.as_deref().unwrap_or_default()),
        cvss_score,
        cvss_vector,
        fix_state,
        fixed_versions: fix.versions.into_iter().filter(|s| !s.trim().is_empty()).collect(),
        location: None,
        title: None,
    }
}

/// A CVSS version (`3.1`, `2.0`) as comparable numbers; unknown sorts lowest.
fn version_key(v: Option<&str>) -> (u32, u32) {
    let v = v.unwrap_or_default();
    let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
    (major.parse().unwrap_or(0), minor.parse().unwrap_or(0))
}

#[derive(Deserialize)]
struct Probe {
    matches: Option<IgnoredAny>,
    descriptor: Option<Descriptor>,
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
}

#[derive(Deserialize)]
struct Doc {
    #[serde(deserialize_with = "seq_matches")]
    matches: Vec<Match>,
    #[serde(default)]
    source: Option<Source>,
}

#[derive(Deserialize)]
struct Source {
    #[serde(default)]
    target: Option<Value>,
}

#[derive(Deserialize)]
struct Match {
    #[serde(deserialize_with = "f_vulnerability")]
    vulnerability: GrypeVuln,
    #[serde(rename = "relatedVulnerabilities", default, deserialize_with = "seq_related")]
    related: Vec<Related>,
    #[serde(deserialize_with = "f_artifact")]
    artifact: Artifact,
}

#[derive(Deserialize)]
struct GrypeVuln {
    #[serde(deserialize_with = "f_id")]
    id: String,
    #[serde(default, deserialize_with = "f_severity")]
    severity: Option<String>,
    #[serde(default, deserialize_with = "seq_cvss")]
    cvss: Vec<Cvss>,
    #[serde(default, deserialize_with = "f_fix")]
    fix: Option<Fix>,
}

#[derive(Deserialize)]
struct Related {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, deserialize_with = "seq_cvss")]
    cvss: Vec<Cvss>,
}

#[derive(Deserialize)]
struct Cvss {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    vector: Option<String>,
    #[serde(default)]
    metrics: Option<Metrics>,
}

#[derive(Deserialize)]
struct Metrics {
    #[serde(rename = "baseScore", default)]
    base_score: Option<Number>,
}

#[derive(Default, Deserialize)]
struct Fix {
    #[serde(default, deserialize_with = "seq_versions")]
    versions: Vec<String>,
    #[serde(default)]
    state: Option<String>,
}

#[derive(Deserialize)]
struct Artifact {
    #[serde(default, deserialize_with = "f_name")]
    name: Option<String>,
    #[serde(default, deserialize_with = "f_version")]
    version: Option<String>,
    #[serde(default)]
    purl: Option<String>,
}

field_fns! {
    f_vulnerability: GrypeVuln = "vulnerability";
    f_artifact: Artifact = "artifact";
    f_id: String = "id";
    f_severity: Option<String> = "severity";
    f_fix: Option<Fix> = "fix";
    f_name: Option<String> = "name";
    f_version: Option<String> = "version";
}

seq_fns! {
    seq_matches: Match = "matches";
    seq_related: Related = "relatedVulnerabilities";
    seq_cvss: Cvss = "cvss";
    seq_versions: String = "versions";
}
