//! Source type `osv-scanner`: OSV-Scanner JSON reports (`osv-scanner scan --format json`).
//!
//! What is read:
//! - for every `results[].packages[]` entry, one row per entry of `groups` (OSV-Scanner groups
//!   the records of one vulnerability that are aliases of each other); a report without
//!   `groups` (older versions) gives one row per entry of `vulnerabilities`;
//! - the row's id is the group's first id, its aliases the group's other ids and `aliases`
//!   and the records' own `aliases`;
//! - the target is the result's `source.path`; the scan's target is the first result's, and
//!   the report states neither the scanner's version nor the time;
//! - the package is `package.name` at `package.version` (a git commit for a repository);
//! - the severity is the band of the group's `max_severity` CVSS score, else the records'
//!   `database_specific.severity` label; the vector is a record's first `severity[].score`;
//! - the fix state is `fixed` when an `affected` entry for the package (by name and ecosystem)
//!   has a `fixed` event, `not_fixed` when it has ranges but no fix, else `unknown`.

use cairn_evidence::artefacts::ArtefactSet;
use cairn_evidence::tables::Provenance;
use serde::de::{Deserializer, IgnoredAny};
use serde::Deserialize;
use serde_json::Value;

use super::report::{first_line, non_empty, push_rows, FixState, Report, Severity, Vulnerability, UNIT};
use crate::artefact::{self, ArtefactFormat};
use crate::config::ArtefactConfig;
use crate::json_doc::{field_fns, in_field, indexed_seq, keep_all, probe, seq_fns};
use crate::source::newtype_source;

/// An `osv-scanner` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct OsvScanner(pub ArtefactConfig);

/// How an `osv-scanner` file is read.
const FORMAT: ArtefactFormat = ArtefactFormat { unit: UNIT, parse: Some(parse) };

newtype_source!(OsvScanner, "osv-scanner", artefact::collect, FORMAT);

fn parse(
    bytes: &[u8],
    relative: &str,
    blob: &str,
    provenance: &Provenance,
    rows: &mut ArtefactSet,
) -> Result<u64, String> {
    push_rows(bytes, relative, blob, provenance, rows, ("osv-scanner", parse_osv))
}

/// Parses an OSV-Scanner JSON report.
pub(super) fn parse_osv(bytes: &[u8]) -> Result<Report, String> {
    let probe: Probe = probe(bytes, "OSV-Scanner")?;
    if probe.results.is_none() {
        return Err("not an OSV-Scanner report: results is missing".into());
    }
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let target = doc.results.first().and_then(|r| r.source.as_ref()).and_then(|s| non_empty(s.path.clone()));
    let mut vulnerabilities = Vec::new();
    for (r, result) in doc.results.iter().enumerate() {
        let path = result.source.as_ref().and_then(|s| non_empty(s.path.clone()));
        for (i, p) in result.packages.iter().enumerate() {
            if p.groups.is_empty() {
                for v in &p.vulnerabilities {
                    let ids = vec![v.id.clone()];
                    vulnerabilities.push(row(path.as_ref(), p, &ids, &[], None));
                }
            }
            for (g, group) in p.groups.iter().enumerate() {
                if group.ids.iter().all(|id| id.trim().is_empty()) {
                    return Err(format!("results[{r}].packages[{i}].groups[{g}].ids: no id"));
                }
                vulnerabilities.push(row(path.as_ref(), p, &group.ids, &group.aliases, group.max_severity.as_deref()));
            }
        }
    }
    Ok(Report {
        scanner: "osv-scanner".into(),
        scanner_version: None,
        target: target.unwrap_or_default(),
        scanned_at: None,
        vulnerabilities,
    })
}

fn row(
    path: Option<&String>,
    p: &PackageVulns,
    ids: &[String],
    aliases: &[String],
    max: Option<&str>,
) -> Vulnerability {
    let records: Vec<&OsvRecord> = p.vulnerabilities.iter().filter(|v| ids.contains(&v.id)).collect();
    let id = ids.first().cloned().unwrap_or_default();
    let mut all_aliases: Vec<String> = ids.iter().chain(aliases).cloned().collect();
    all_aliases.extend(records.iter().flat_map(|r| r.aliases.iter().cloned()));
    let max = max.map(str::trim).filter(|s| !s.is_empty());
    let severity = match max {
        Some(score) => Severity::from_score(score),
        None => records
            .iter()
            .filter_map(|r| r.database_specific.as_ref()?.get("severity")?.as_str())
            .map(Severity::from_label)
            .next()
            .unwrap_or_default(),
    };
    let vector = records.iter().flat_map(|r| r.severity.iter()).find_map(|s| non_empty(s.score.clone()));
    let package = &p.package;
    let mut fixed = Vec::new();
    let mut ranged = false;
    for a in records.iter().flat_map(|r| r.affected.iter()) {
        let same = a
            .package
            .as_ref()
            .is_none_or(|ap| ap.name == package.name && (ap.ecosystem.is_none() || ap.ecosystem == package.ecosystem));
        if !same {
            continue;
        }
        for r in &a.ranges {
            ranged = true;
            fixed.extend(r.events.iter().filter_map(|e| non_empty(e.fixed.clone())));
        }
    }
    fixed.sort();
    fixed.dedup();
    let fix_state = match (fixed.is_empty(), ranged) {
        (false, _) => FixState::Fixed,
        (true, true) => FixState::NotFixed,
        (true, false) => FixState::Unknown,
    };
    Vulnerability {
        target: path.cloned(),
        package: non_empty(package.name.clone()).or_else(|| non_empty(package.commit.clone())),
        package_version: non_empty(package.version.clone()),
        purl: None,
        id,
        aliases: all_aliases,
        severity,
        cvss_score: max.map(String::from),
        cvss_vector: vector,
        fix_state,
        fixed_versions: fixed,
        location: None,
        title: records.iter().find_map(|r| r.summary.as_deref().and_then(first_line)),
    }
}

#[derive(Deserialize)]
struct Probe {
    results: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Doc {
    #[serde(deserialize_with = "seq_results")]
    results: Vec<OsvResult>,
}

#[derive(Deserialize)]
struct OsvResult {
    #[serde(default)]
    source: Option<OsvSource>,
    #[serde(default, deserialize_with = "seq_packages")]
    packages: Vec<PackageVulns>,
}

#[derive(Deserialize)]
struct OsvSource {
    #[serde(default)]
    path: Option<String>,
}

#[derive(Deserialize)]
struct PackageVulns {
    #[serde(deserialize_with = "f_package")]
    package: OsvPackage,
    #[serde(default, deserialize_with = "seq_vulnerabilities")]
    vulnerabilities: Vec<OsvRecord>,
    #[serde(default, deserialize_with = "seq_groups")]
    groups: Vec<Group>,
}

#[derive(Deserialize, PartialEq)]
struct OsvPackage {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    ecosystem: Option<String>,
    #[serde(default)]
    commit: Option<String>,
}

#[derive(Deserialize)]
struct OsvRecord {
    #[serde(deserialize_with = "f_id")]
    id: String,
    #[serde(default, deserialize_with = "seq_aliases")]
    aliases: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default, deserialize_with = "seq_severity")]
    severity: Vec<OsvSeverity>,
    #[serde(default, deserialize_with = "seq_affected")]
    affected: Vec<Affected>,
    #[serde(default)]
    database_specific: Option<serde_json::Map<String, Value>>,
}

#[derive(Deserialize)]
struct OsvSeverity {
    #[serde(default)]
    score: Option<String>,
}

#[derive(Deserialize)]
struct Affected {
    #[serde(default)]
    package: Option<AffectedPackage>,
    #[serde(default, deserialize_with = "seq_ranges")]
    ranges: Vec<Range>,
}

#[derive(Deserialize)]
struct AffectedPackage {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    ecosystem: Option<String>,
}

#[derive(Deserialize)]
struct Range {
    #[serde(default, deserialize_with = "seq_events")]
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    fixed: Option<String>,
}

#[derive(Deserialize)]
struct Group {
    #[serde(default, deserialize_with = "seq_ids")]
    ids: Vec<String>,
    #[serde(default, deserialize_with = "seq_aliases")]
    aliases: Vec<String>,
    #[serde(default, deserialize_with = "f_max_severity")]
    max_severity: Option<String>,
}

field_fns! {
    f_package: OsvPackage = "package";
    f_id: String = "id";
    f_max_severity: Option<String> = "max_severity";
}

seq_fns! {
    seq_results: OsvResult = "results";
    seq_packages: PackageVulns = "packages";
    seq_vulnerabilities: OsvRecord = "vulnerabilities";
    seq_groups: Group = "groups";
    seq_ids: String = "ids";
    seq_aliases: String = "aliases";
    seq_severity: OsvSeverity = "severity";
    seq_affected: Affected = "affected";
    seq_ranges: Range = "ranges";
    seq_events: Event = "events";
}
