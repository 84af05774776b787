//! Source type `threat-composer`: AWS Threat Composer workspaces (`.tc.json`, schema 1), into
//! `threat_models` and `threats` rows.
//!
//! ```toml
//! [[source]]
//! name = "threat-models"
//! type = "threat-composer"
//! url  = "threat-models/"    # a file, a folder or an object-store prefix
//! ```
//!
//! A workspace is one JSON object: `applicationInfo.name` is the model's title, and each entry of
//! `threats` becomes a row in `threats` order:
//!
//! | row | from the threat |
//! | --- | --- |
//! | `threat_id` | `id` (a UUID), or `T<numericId>`, or its position |
//! | `title` | `statement`, or the grammar's parts (`threatSource`, `prerequisites`, `threatAction`, `threatImpact`) joined |
//! | `category` | the `STRIDE` metadata letters, comma-separated |
//! | `severity` | the `Priority` metadata value (`High`, `Medium`, `Low`) |
//! | `status` | `threatIdentified` (and a threat without `status`, Threat Composer's default) → `Identified`; `threatResolved` → `Resolved`; `threatResolvedNotUseful` → `NotUseful`; anything else as written |
//! | `mitigation` | the `content` of every mitigation `mitigationLinks` links to it, `; `-separated, except those marked `mitigationResolvedWillNotAction` |
//! | `element` | `impactedAssets`, comma-separated |
//!
//! An `Identified` threat counts as open. Control ids in brackets (`[LOG-03]`) in a threat's
//! statement or its mitigations link it to controls, as in the other formats. A workspace that is
//! not strict JSON (a repeated key), has no `threats` array, or holds a field of the wrong type is
//! kept aside with the field's path.

use std::collections::BTreeMap;

use cairn_evidence::artefacts::{ArtefactSet, ThreatModelRow, ThreatRow};
use cairn_evidence::tables::Provenance;
use serde::Deserialize;
use serde_json::Value;

use super::draft::{controls_in, non_blank, Draft, UNIT};
use crate::artefact::{self, ArtefactFormat};
use crate::config::ArtefactConfig;
use crate::source::newtype_source;

/// A `threat-composer` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct ThreatComposer(pub ArtefactConfig);

/// How a `threat-composer` file is read.
const FORMAT: ArtefactFormat = ArtefactFormat { unit: UNIT, parse: Some(parse) };

newtype_source!(ThreatComposer, "threat-composer", artefact::collect, FORMAT);

/// Parses one workspace into the sink's rows.
fn parse(
    bytes: &[u8],
    _relative: &str,
    blob: &str,
    provenance: &Provenance,
    rows: &mut ArtefactSet,
) -> Result<u64, String> {
    cairn_evidence::json::check_strict(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let (model, threats) = parse_threat_composer(bytes, blob, provenance)?;
    rows.threat_models.push(model);
    rows.threats.extend(threats);
    Ok(1)
}

/// The text of a string field at `path`: `None` when absent or null, an error naming the path
/// when it is another type.
fn text(value: Option<&Value>, path: &str) -> Result<Option<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{path}: expected a string, found {other}")),
    }
}

/// The strings of a field at `path` that is a string or an array of strings, `sep`-joined.
fn texts(value: Option<&Value>, path: &str, sep: &str) -> Result<Option<String>, String> {
    match value {
        Some(Value::Array(items)) => {
            let parts = items
                .iter()
                .enumerate()
                .map(|(i, v)| text(Some(v), &format!("{path}[{i}]")).map(Option::unwrap_or_default))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(non_blank(Some(parts.join(sep))))
        }
        other => Ok(non_blank(text(other, path)?)),
    }
}

/// The objects of an array field at `path` (absent: none).
fn objects<'a>(root: &'a Value, field: &str) -> Result<&'a [Value], String> {
    match root.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(format!("{field}: expected an array, found {other}")),
    }
}

/// The status written in the `threats` table for a Threat Composer status.
fn status_of(status: Option<&str>) -> String {
    match status.map(str::trim) {
        None | Some("" | "threatIdentified") => "Identified".into(),
        Some("threatResolved") => "Resolved".into(),
        Some("threatResolvedNotUseful") => "NotUseful".into(),
        Some(other) => other.to_string(),
    }
}

/// Reads a Threat Composer workspace.
pub fn parse_threat_composer(
    bytes: &[u8],
    blob: &str,
    provenance: &Provenance,
) -> Result<(ThreatModelRow, Vec<ThreatRow>), String> {
    let root: Value = serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    if !root.is_object() {
        return Err("a Threat Composer workspace is a JSON object".into());
    }
    let Some(threats) = root.get("threats") else {
        return Err("threats: missing (not a Threat Composer workspace)".into());
    };
    if !threats.is_array() {
        return Err(format!("threats: expected an array, found {threats}"));
    }
    let title = text(root.pointer("/applicationInfo/name"), "applicationInfo.name")?
        .and_then(|t| non_blank(Some(t)))
        .unwrap_or_else(|| "Threat Composer workspace".into());

    // Mitigations by id, without those decided against.
    let mut mitigations: BTreeMap<String, String> = BTreeMap::new();
    for (i, m) in objects(&root, "mitigations")?.iter().enumerate() {
        let at = format!("mitigations[{i}]");
        let status = text(m.get("status"), &format!("{at}.status"))?;
        if status.as_deref() == Some("mitigationResolvedWillNotAction") {
            continue;
        }
        if let (Some(id), Some(content)) =
            (text(m.get("id"), &format!("{at}.id"))?, non_blank(text(m.get("content"), &format!("{at}.content"))?))
        {
            mitigations.insert(id, content);
        }
    }
    let mut linked: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (i, link) in objects(&root, "mitigationLinks")?.iter().enumerate() {
        let at = format!("mitigationLinks[{i}]");
        let mitigation = text(link.get("mitigationId"), &format!("{at}.mitigationId"))?;
        let threat = text(link.get("linkedId"), &format!("{at}.linkedId"))?;
        if let (Some(m), Some(t)) = (mitigation, threat) {
            if let Some(content) = mitigations.get(&m) {
                linked.entry(t).or_default().push(content);
            }
        }
    }

    let mut drafts = Vec::new();
    for (i, threat) in objects(&root, "threats")?.iter().enumerate() {
        let at = format!("threats[{i}]");
        let field = |name: &str| text(threat.get(name), &format!("{at}.{name}"));
        let id = non_blank(field("id")?);
        let numeric = threat.get("numericId").and_then(Value::as_u64).map(|n| format!("T{n}"));
        let threat_id = id.clone().or(numeric).unwrap_or_else(|| (i + 1).to_string());
        let title = if let Some(statement) = non_blank(field("statement")?) {
            statement
        } else {
            let parts = ["threatSource", "prerequisites", "threatAction", "threatImpact"]
                .iter()
                .map(|name| field(name))
                .collect::<Result<Vec<_>, _>>()?;
            non_blank(Some(parts.into_iter().flatten().collect::<Vec<_>>().join(" ")))
                .ok_or_else(|| format!("{at}: neither a statement nor its parts"))?
        };
        let mut severity = None;
        let mut category = None;
        for (j, entry) in objects(threat, "metadata")?.iter().enumerate() {
            let path = format!("{at}.metadata[{j}]");
            match text(entry.get("key"), &format!("{path}.key"))?.as_deref() {
                Some("Priority") => severity = texts(entry.get("value"), &format!("{path}.value"), ", ")?,
                Some("STRIDE") => category = texts(entry.get("value"), &format!("{path}.value"), ", ")?,
                _ => {}
            }
        }
        let mitigation = id.as_ref().and_then(|id| linked.get(id)).map(|m| m.join("; "));
        let controls = controls_in([Some(title.as_str()), mitigation.as_deref()].into_iter().flatten());
        drafts.push(Draft {
            line: 0,
            threat_id,
            title,
            category,
            severity,
            status: status_of(field("status")?.as_deref()),
            mitigation,
            element: texts(threat.get("impactedAssets"), &format!("{at}.impactedAssets"), ", ")?,
            controls,
        });
    }

    let open = drafts.iter().filter(|d| d.status == "Identified").count();
    let model = ThreatModelRow {
        blob: blob.to_string(),
        format: "threat-composer-v1".into(),
        title,
        subsystem: None,
        version: None,
        owner: None,
        reviewer: None,
        reviewed: None,
        threats: drafts.len() as u64,
        open_threats: open as u64,
        provenance: provenance.clone(),
    };
    let rows = drafts.into_iter().map(|d| d.into_row(blob, provenance)).collect();
    Ok((model, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace as Threat Composer saves one: two threats, one mitigated through a link, one
    /// without status (Threat Composer's default: identified), and a mitigation decided against.
    const WORKSPACE: &str = r#"{
  "schema": 1,
  "applicationInfo": {"name": "Payments API", "description": "Card payments"},
  "architecture": {"description": "", "image": ""},
  "dataflow": {"description": "", "image": ""},
  "assumptions": [],
  "mitigations": [
    {"id": "m-1", "numericId": 1, "displayOrder": 1, "content": "Sign and hash-chain every audit event [LOG-02]", "status": "mitigationResolved"},
    {"id": "m-2", "numericId": 2, "displayOrder": 2, "content": "Rate-limit the export API", "status": "mitigationResolvedWillNotAction"}
  ],
  "assumptionLinks": [],
  "mitigationLinks": [
    {"mitigationId": "m-1", "linkedId": "t-1"},
    {"mitigationId": "m-2", "linkedId": "t-2"}
  ],
  "threats": [
    {"id": "t-1", "numericId": 1, "displayOrder": 1, "threatSource": "an insider", "prerequisites": "with database access",
     "threatAction": "can alter audit records", "threatImpact": "hiding fraud", "impactedGoal": ["integrity"],
     "impactedAssets": ["audit log", "ledger"], "statement": "An insider with database access can alter audit records",
     "status": "threatResolved", "tags": [],
     "metadata": [{"key": "Priority", "value": "High"}, {"key": "STRIDE", "value": ["T", "R"]}]},
    {"id": "t-2", "numericId": 2, "displayOrder": 2, "threatSource": "an external actor", "prerequisites": "with a stolen token",
     "threatAction": "can export every card", "threatImpact": "a breach", "impactedGoal": ["confidentiality"],
     "impactedAssets": ["card data"], "tags": [],
     "metadata": [{"key": "Priority", "value": "High"}, {"key": "STRIDE", "value": ["I"]}, {"key": "Comments", "value": "see INC-7"}]}
  ]
}"#;

    fn prov() -> Provenance {
        Provenance {
            source: "threat-models".into(),
            object_key: "tm/payments.tc.json".into(),
            line: 1,
            byte_offset: 0,
            record_sha256: "ab".into(),
            run_id: "r1".into(),
            collected_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            actor: "test".into(),
            confidence: cairn_evidence::tables::Confidence::Unverified,
            simulated: false,
        }
    }

    #[test]
    fn a_workspace_gives_its_threats_with_their_linked_mitigations() {
        let (model, threats) = parse_threat_composer(WORKSPACE.as_bytes(), "blobs/sha256/ab", &prov()).unwrap();
        assert_eq!((model.format.as_str(), model.title.as_str()), ("threat-composer-v1", "Payments API"));
        assert_eq!((model.threats, model.open_threats), (2, 1));
        let t1 = &threats[0];
        assert_eq!((t1.threat_id.as_str(), t1.status.as_str()), ("t-1", "Resolved"));
        assert_eq!(t1.title, "An insider with database access can alter audit records");
        assert_eq!((t1.severity.as_deref(), t1.category.as_deref()), (Some("High"), Some("T, R")));
        assert_eq!(t1.mitigation.as_deref(), Some("Sign and hash-chain every audit event [LOG-02]"));
        assert_eq!((t1.element.as_deref(), t1.controls.as_str()), (Some("audit log, ledger"), "LOG-02"));
        // No statement: the grammar's parts; no status: identified; its only mitigation was
        // decided against, so it has none.
        let t2 = &threats[1];
        assert_eq!(t2.title, "an external actor with a stolen token can export every card a breach");
        assert_eq!((t2.status.as_str(), t2.mitigation.as_deref()), ("Identified", None));
        assert_eq!(t2.model_blob, "blobs/sha256/ab");
    }

    #[test]
    fn an_open_high_threat_without_mitigation_is_what_the_verifier_flags() {
        // The verifier's rule (open or identified, high, no mitigation) reads these rows.
        let (_, threats) = parse_threat_composer(WORKSPACE.as_bytes(), "b", &prov()).unwrap();
        let flagged: Vec<&str> = threats
            .iter()
            .filter(|t| t.status.eq_ignore_ascii_case("identified") && t.severity.as_deref() == Some("High"))
            .filter(|t| t.mitigation.is_none())
            .map(|t| t.threat_id.as_str())
            .collect();
        assert_eq!(flagged, ["t-2"]);
    }

    #[test]
    fn a_file_that_is_not_a_workspace_names_the_field_at_fault() {
        for (bad, why) in [
            (r#"{"schema": 1}"#, "threats: missing"),
            (r#"{"threats": {}}"#, "threats: expected an array"),
            ("[1]", "a JSON object"),
            (r#"{"threats": [{"id": 7, "statement": "x"}]}"#, "threats[0].id: expected a string"),
            (r#"{"threats": [{"id": "a"}]}"#, "threats[0]: neither a statement"),
            (
                r#"{"threats": [{"statement": "s", "metadata": [{"key": "Priority", "value": 3}]}]}"#,
                "metadata[0].value",
            ),
            (r#"{"threats": [], "mitigationLinks": "m"}"#, "mitigationLinks: expected an array"),
        ] {
            let err = parse_threat_composer(bad.as_bytes(), "b", &prov()).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let err = parse(br#"{"threats": [], "threats": []}"#, "x", "b", &prov(), &mut ArtefactSet::default());
        assert!(err.unwrap_err().contains("not valid JSON"));
    }
}
