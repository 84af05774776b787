//! Source type `threat-dragon`: OWASP Threat Dragon JSON models (v2, and the legacy v1), into
//! `threat_models` and `threats` rows: every threat of every diagram cell, in diagram order then
//! cell order.

use cairn_evidence::artefacts::{ArtefactSet, ThreatModelRow, ThreatRow};
use cairn_evidence::tables::Provenance;
use serde::Deserialize;
use serde_json::Value;

use super::draft::{controls_in, non_blank, Draft, UNIT};
use crate::artefact::{self, ArtefactFormat};
use crate::config::ArtefactConfig;
use crate::source::newtype_source;

/// A `threat-dragon` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct ThreatDragon(pub ArtefactConfig);

/// How a `threat-dragon` file is read.
const FORMAT: ArtefactFormat = ArtefactFormat { unit: UNIT, parse: Some(parse) };

newtype_source!(ThreatDragon, "threat-dragon", artefact::collect, FORMAT);

/// Parses one model into the sink's rows.
fn parse(
    bytes: &[u8],
    _relative: &str,
    blob: &str,
    provenance: &Provenance,
    rows: &mut ArtefactSet,
) -> Result<u64, String> {
    cairn_evidence::json::check_strict(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let (model, threats) = parse_threat_dragon(bytes, blob, provenance)?;
    rows.threat_models.push(model);
    rows.threats.extend(threats);
    Ok(1)
}

/// A Threat Dragon model (v2, or v1 without `version`). Leaves are JSON values so that a value of
/// the wrong type is reported with its field's path.
#[derive(Deserialize)]
struct TdModel {
    version: Option<Value>,
    summary: Option<TdSummary>,
    detail: Option<TdDetail>,
}

#[derive(Deserialize)]
struct TdSummary {
    title: Option<Value>,
    owner: Option<Value>,
}

#[derive(Deserialize)]
struct TdDetail {
    reviewer: Option<Value>,
    diagrams: Option<Vec<TdDiagram>>,
}

#[derive(Deserialize)]
struct TdDiagram {
    /// v2: the cells.
    cells: Option<Vec<TdCell>>,
    /// v1: the JointJS graph holding the cells.
    #[serde(rename = "diagramJson")]
    diagram_json: Option<TdDiagramJson>,
}

#[derive(Deserialize)]
struct TdDiagramJson {
    cells: Option<Vec<TdCell>>,
}

#[derive(Deserialize)]
struct TdCell {
    /// v2: the element's data, with its threats.
    data: Option<TdData>,
    /// v1: the threats, directly on the cell.
    threats: Option<Vec<TdThreat>>,
    attrs: Option<Value>,
    labels: Option<Value>,
}

#[derive(Deserialize)]
struct TdData {
    name: Option<Value>,
    threats: Option<Vec<TdThreat>>,
}

#[derive(Deserialize)]
struct TdThreat {
    id: Option<Value>,
    #[serde(rename = "threatId")]
    threat_id: Option<Value>,
    title: Option<Value>,
    #[serde(rename = "type")]
    kind: Option<Value>,
    status: Option<Value>,
    severity: Option<Value>,
    description: Option<Value>,
    mitigation: Option<Value>,
}

/// A string (or number) leaf; `what` names it in the error.
fn td_text(v: Option<&Value>, what: &str) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(format!("{what} is not a string")),
    }
}

/// The element's name: `data.name`, else the text of its shape, else the text of its first label.
fn td_element(cell: &TdCell) -> Option<String> {
    let text = |v: &Value| {
        ["/text/text", "/label/text", "/labelText/text"]
            .iter()
            .find_map(|p| v.pointer(p).and_then(Value::as_str))
            .map(str::to_string)
    };
    let name = cell.data.as_ref().and_then(|d| d.name.as_ref()).and_then(Value::as_str).map(str::to_string);
    non_blank(name).or_else(|| non_blank(cell.attrs.as_ref().and_then(text))).or_else(|| {
        let label = cell.labels.as_ref().and_then(|l| l.get(0))?;
        non_blank(label.as_str().map(str::to_string).or_else(|| label.get("attrs").and_then(text)))
    })
}

/// Parses a Threat Dragon JSON model: v2 (with a top-level `version`, format `threat-dragon-v2`) or
/// the legacy v1 (cells under `diagramJson`, threats on the cell; format `threat-dragon-v1`).
///
/// One [`ThreatRow`] per threat of every cell, in diagram order then cell order. A threat without
/// `id`/`threatId` gets its position `<diagram>.<cell>.<threat>` (0-based) as its id. Errors name the
/// field at fault, e.g. `detail.diagrams[0].cells[4].data.threats[1]: status is missing`.
pub fn parse_threat_dragon(
    bytes: &[u8],
    blob: &str,
    provenance: &Provenance,
) -> Result<(ThreatModelRow, Vec<ThreatRow>), String> {
    use serde_json::error::Category;

    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let model: TdModel = serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        Category::Eof => format!("not JSON (truncated): {e}"),
        Category::Syntax | Category::Io => format!("not JSON: {e}"),
        Category::Data => format!("not a Threat Dragon model: {e}"),
    })?;
    let not_td = |e: String| format!("not a Threat Dragon model: {e}");

    let summary = model.summary.as_ref();
    let title = td_text(summary.and_then(|s| s.title.as_ref()), "summary.title")
        .map_err(not_td)?
        .ok_or_else(|| not_td("summary.title is missing".into()))?;
    let owner = non_blank(td_text(summary.and_then(|s| s.owner.as_ref()), "summary.owner").map_err(not_td)?);
    let version = non_blank(td_text(model.version.as_ref(), "version").map_err(not_td)?);
    let detail = model.detail.as_ref().ok_or_else(|| not_td("detail is missing".into()))?;
    let reviewer = non_blank(td_text(detail.reviewer.as_ref(), "detail.reviewer").map_err(not_td)?);
    let diagrams = detail.diagrams.as_ref().ok_or_else(|| not_td("detail.diagrams is missing".into()))?;
    let format =
        if model.version.as_ref().is_some_and(|v| !v.is_null()) { "threat-dragon-v2" } else { "threat-dragon-v1" };

    let mut drafts = Vec::new();
    for (di, diagram) in diagrams.iter().enumerate() {
        let (cells, cells_path) = match (&diagram.cells, &diagram.diagram_json) {
            (Some(cells), _) => (cells.as_slice(), format!("detail.diagrams[{di}].cells")),
            (None, Some(TdDiagramJson { cells: Some(cells) })) => {
                (cells.as_slice(), format!("detail.diagrams[{di}].diagramJson.cells"))
            }
            _ => continue,
        };
        for (ci, cell) in cells.iter().enumerate() {
            let (threats, threats_path) = if let Some(t) = cell.data.as_ref().and_then(|d| d.threats.as_ref()) {
                (t, format!("{cells_path}[{ci}].data.threats"))
            } else if let Some(t) = &cell.threats {
                (t, format!("{cells_path}[{ci}].threats"))
            } else {
                continue;
            };
            let element = td_element(cell);
            for (ti, threat) in threats.iter().enumerate() {
                let at = format!("{threats_path}[{ti}]");
                let field = |v: &Option<Value>, name: &str| td_text(v.as_ref(), &format!("{at}: {name}"));
                let threat_id = non_blank(field(&threat.id, "id")?)
                    .or(non_blank(field(&threat.threat_id, "threatId")?))
                    .unwrap_or_else(|| format!("{di}.{ci}.{ti}"));
                let title = field(&threat.title, "title")?.ok_or_else(|| format!("{at}: title is missing"))?;
                let status = field(&threat.status, "status")?.ok_or_else(|| format!("{at}: status is missing"))?;
                if status.trim().is_empty() {
                    return Err(format!("{at}: status is empty"));
                }
                let description = field(&threat.description, "description")?;
                let mitigation = non_blank(field(&threat.mitigation, "mitigation")?);
                let controls = controls_in(
                    [Some(title.as_str()), description.as_deref(), mitigation.as_deref()].into_iter().flatten(),
                );
                drafts.push(Draft {
                    line: 0,
                    threat_id,
                    title,
                    category: non_blank(field(&threat.kind, "type")?),
                    severity: non_blank(field(&threat.severity, "severity")?),
                    status,
                    mitigation,
                    element: element.clone(),
                    controls,
                });
            }
        }
    }

    let open = drafts.iter().filter(|d| d.status.trim().eq_ignore_ascii_case("open")).count();
    let model_row = ThreatModelRow {
        blob: blob.to_string(),
        format: format.to_string(),
        title,
        subsystem: None,
        version,
        owner,
        reviewer,
        reviewed: None,
        threats: drafts.len() as u64,
        open_threats: open as u64,
        provenance: provenance.clone(),
    };
    let rows = drafts.into_iter().map(|d| d.into_row(blob, provenance)).collect();
    Ok((model_row, rows))
}
