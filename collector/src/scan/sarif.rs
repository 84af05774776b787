//! Source type `sarif`: SARIF 2.1.0 logs from any analyser (CodeQL, Trivy, gitleaks, Semgrep, …).
//!
//! What is read:
//! - every entry of `runs[].results` is one row; its id is `ruleId`, else the id of the rule
//!   `ruleIndex` (or `rule.index`) points at; rules are looked up in `tool.driver.rules`, then
//!   in the rules of `tool.extensions` (where CodeQL keeps its query packs' rules);
//! - the scanner is `runs[].tool.driver.name` (the names of several runs, `; `-separated), its
//!   version `driver.version`, else `driver.semanticVersion`; the time is the first
//!   `invocations[].startTimeUtc`;
//! - the scanned target is the first result's file (for a log without results, the log's own
//!   path);
//! - the severity is the band of the rule's `properties["security-severity"]` score (the
//!   convention code-scanning tools share), else the result's `level` (else the rule's
//!   `defaultConfiguration.level`, else `warning`): `error` high, `warning` medium, `note`
//!   low, `none` negligible;
//! - the location is the first `physicalLocation`'s `artifactLocation.uri` and `region.startLine`;
//! - the title is the rule's `shortDescription.text`, else the first line of the message.
//!
//! A SARIF result names no package and no fix: the package columns are empty and the fix state
//! is `unknown`.

use cairn_evidence::artefacts::ArtefactSet;
use cairn_evidence::tables::Provenance;
use serde::de::Deserializer;
use serde::Deserialize;
use serde_json::Value;

use super::report::{first_line, non_empty, push_rows, FixState, Report, Severity, Vulnerability, UNIT};
use crate::artefact::{self, ArtefactFormat};
use crate::config::ArtefactConfig;
use crate::json_doc::{field_fns, in_field, indexed_seq, join_sorted, keep_all, probe, seq_fns};
use crate::source::newtype_source;

/// A `sarif` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct Sarif(pub ArtefactConfig);

/// How a `sarif` file is read.
const FORMAT: ArtefactFormat = ArtefactFormat { unit: UNIT, parse: Some(parse) };

newtype_source!(Sarif, "sarif", artefact::collect, FORMAT);

fn parse(
    bytes: &[u8],
    relative: &str,
    blob: &str,
    provenance: &Provenance,
    rows: &mut ArtefactSet,
) -> Result<u64, String> {
    push_rows(bytes, relative, blob, provenance, rows, ("sarif", parse_sarif))
}

/// Parses a SARIF 2.1.0 log.
pub(super) fn parse_sarif(bytes: &[u8]) -> Result<Report, String> {
    let probe: Probe = probe(bytes, "SARIF")?;
    match probe.version {
        Some(Value::String(v)) if v == "2.1.0" => {}
        Some(other) => return Err(format!("unsupported SARIF log: version is {other}, expected \"2.1.0\"")),
        None => return Err("not a SARIF log: version is missing".into()),
    }
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let mut scanners = Vec::new();
    let mut version = None;
    let mut scanned_at = None;
    let mut vulnerabilities = Vec::new();
    for (r, run) in doc.runs.into_iter().enumerate() {
        let driver = run.tool.driver;
        let extension_rules: Vec<&Rule> = run.tool.extensions.iter().flat_map(|e| e.rules.iter()).collect();
        scanners.push(driver.name.clone());
        version = version
            .or_else(|| non_empty(driver.version.clone()).or_else(|| non_empty(driver.semantic_version.clone())));
        scanned_at = scanned_at.or_else(|| run.invocations.iter().find_map(|i| non_empty(i.start_time_utc.clone())));
        for (i, result) in run.results.into_iter().enumerate() {
            let index = result.rule_index.or_else(|| result.rule.as_ref().and_then(|r| r.index));
            let by_index = index.and_then(|i| driver.rules.get(usize::try_from(i).ok()?));
            let id = non_empty(result.rule_id.clone())
                .or_else(|| result.rule.as_ref().and_then(|r| non_empty(r.id.clone())))
                .or_else(|| by_index.map(|r| r.id.clone()))
                .ok_or_else(|| format!("runs[{r}].results[{i}]: names no rule (no ruleId, rule.id or ruleIndex)"))?;
            let rule = by_index
                .filter(|r| r.id == id)
                .or_else(|| driver.rules.iter().find(|r| r.id == id))
                .or_else(|| extension_rules.iter().copied().find(|r| r.id == id));
            let score = rule.and_then(|r| r.properties.as_ref()?.get("security-severity")).and_then(|s| match s {
                Value::String(s) => non_empty(Some(s.clone())),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
            let level = result
                .level
                .clone()
                .or_else(|| rule.and_then(|r| r.default_configuration.as_ref()?.level.clone()))
                .unwrap_or_else(|| "warning".into());
            let severity = match &score {
                Some(s) => Severity::from_score(s),
                None => match level.as_str() {
                    "error" => Severity::High,
                    "warning" => Severity::Medium,
                    "note" => Severity::Low,
                    "none" => Severity::Negligible,
                    _ => Severity::Unknown,
                },
            };
            let physical = result.locations.iter().find_map(|l| l.physical_location.as_ref());
            let uri = physical.and_then(|p| p.artifact_location.as_ref()?.uri.clone());
            let line = physical.and_then(|p| p.region.as_ref()?.start_line);
            let location = uri.as_ref().map(|u| match line {
                Some(l) => format!("{u}:{l}"),
                None => u.clone(),
            });
            let title = rule
                .and_then(|r| r.short_description.as_ref()?.text.as_deref().and_then(first_line))
                .or_else(|| result.message.as_ref()?.text.as_deref().and_then(first_line));
            vulnerabilities.push(Vulnerability {
                target: uri,
                package: None,
                package_version: None,
                purl: None,
                id,
                aliases: Vec::new(),
                severity,
                cvss_score: score,
                cvss_vector: None,
                fix_state: FixState::Unknown,
                fixed_versions: Vec::new(),
                location,
                title,
            });
        }
    }
    let target = vulnerabilities.iter().find_map(|v| v.target.clone()).unwrap_or_default();
    Ok(Report { scanner: join_sorted(scanners), scanner_version: version, target, scanned_at, vulnerabilities })
}

#[derive(Deserialize)]
struct Probe {
    version: Option<Value>,
}

#[derive(Deserialize)]
struct Doc {
    #[serde(deserialize_with = "seq_runs")]
    runs: Vec<Run>,
}

#[derive(Deserialize)]
struct Run {
    #[serde(deserialize_with = "f_tool")]
    tool: Tool,
    #[serde(default, deserialize_with = "seq_results")]
    results: Vec<SarifResult>,
    #[serde(default, deserialize_with = "seq_invocations")]
    invocations: Vec<Invocation>,
}

#[derive(Deserialize)]
struct Tool {
    #[serde(deserialize_with = "f_driver")]
    driver: Driver,
    #[serde(default, deserialize_with = "seq_extensions")]
    extensions: Vec<Driver>,
}

#[derive(Deserialize)]
struct Driver {
    #[serde(deserialize_with = "f_name")]
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(rename = "semanticVersion", default)]
    semantic_version: Option<String>,
    #[serde(default, deserialize_with = "seq_rules")]
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
struct Rule {
    #[serde(deserialize_with = "f_id")]
    id: String,
    #[serde(rename = "shortDescription", default)]
    short_description: Option<Message>,
    #[serde(rename = "defaultConfiguration", default)]
    default_configuration: Option<Configuration>,
    #[serde(default)]
    properties: Option<serde_json::Map<String, Value>>,
}

#[derive(Deserialize)]
struct Configuration {
    #[serde(default)]
    level: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct Invocation {
    #[serde(rename = "startTimeUtc", default)]
    start_time_utc: Option<String>,
}

#[derive(Deserialize)]
struct SarifResult {
    #[serde(rename = "ruleId", default)]
    rule_id: Option<String>,
    #[serde(rename = "ruleIndex", default)]
    rule_index: Option<i64>,
    #[serde(default)]
    rule: Option<RuleReference>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    message: Option<Message>,
    #[serde(default, deserialize_with = "seq_locations")]
    locations: Vec<Location>,
}

#[derive(Deserialize)]
struct RuleReference {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    index: Option<i64>,
}

#[derive(Deserialize)]
struct Location {
    #[serde(rename = "physicalLocation", default)]
    physical_location: Option<PhysicalLocation>,
}

#[derive(Deserialize)]
struct PhysicalLocation {
    #[serde(rename = "artifactLocation", default)]
    artifact_location: Option<ArtifactLocation>,
    #[serde(default)]
    region: Option<Region>,
}

#[derive(Deserialize)]
struct ArtifactLocation {
    #[serde(default)]
    uri: Option<String>,
}

#[derive(Deserialize)]
struct Region {
    #[serde(rename = "startLine", default)]
    start_line: Option<u64>,
}

field_fns! {
    f_tool: Tool = "tool";
    f_driver: Driver = "driver";
    f_name: String = "name";
    f_id: String = "id";
}

seq_fns! {
    seq_runs: Run = "runs";
    seq_extensions: Driver = "extensions";
    seq_results: SarifResult = "results";
    seq_invocations: Invocation = "invocations";
    seq_rules: Rule = "rules";
    seq_locations: Location = "locations";
}
