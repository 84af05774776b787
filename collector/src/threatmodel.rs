//! Threat models: OWASP Threat Dragon JSON (v2, and v1) and Markdown, into `threat_models` and `threats` rows.
//!
//! Threat Dragon: every threat of every diagram cell, in diagram order then cell order. Markdown:
//! Cairn's convention (front matter, threat headings, threat tables, OWASP pytm reports), described in
//! `docs/threat-models.md`. In both, control ids written in brackets (`[LOG-03]`) in a threat's text or
//! mitigation link the threat to Cairn's controls.

use std::collections::BTreeSet;

use cairn_evidence::artefacts::{ThreatModelRow, ThreatRow};
use cairn_evidence::tables::Provenance;
use serde::Deserialize;
use serde_json::Value;

/// A threat as read, before it gets the model's blob and provenance.
#[derive(Debug, Default)]
struct Draft {
    /// 1-based line of the threat in a Markdown document (0 for Threat Dragon).
    line: usize,
    threat_id: String,
    title: String,
    category: Option<String>,
    severity: Option<String>,
    status: String,
    mitigation: Option<String>,
    element: Option<String>,
    controls: String,
}

impl Draft {
    fn into_row(self, blob: &str, provenance: &Provenance) -> ThreatRow {
        ThreatRow {
            model_blob: blob.to_string(),
            threat_id: self.threat_id,
            title: self.title,
            category: self.category,
            severity: self.severity,
            status: self.status,
            mitigation: self.mitigation,
            element: self.element,
            controls: self.controls,
            provenance: provenance.clone(),
        }
    }
}

/// `Some` only for text that is not empty or whitespace.
fn non_blank(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// Control ids written as `[XXX-01]` (2–8 uppercase ASCII letters, `-`, 1–4 digits) in any of the texts,
/// deduplicated, sorted and `; `-separated, without the brackets.
fn controls_in<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut found = BTreeSet::new();
    for text in texts {
        let b = text.as_bytes();
        for (start, _) in text.match_indices('[') {
            let letters = b[start + 1..].iter().take_while(|c| c.is_ascii_uppercase()).count();
            if !(2..=8).contains(&letters) || b.get(start + 1 + letters) != Some(&b'-') {
                continue;
            }
            let digits_at = start + 2 + letters;
            let digits = b[digits_at..].iter().take_while(|c| c.is_ascii_digit()).count();
            if (1..=4).contains(&digits) && b.get(digits_at + digits) == Some(&b']') {
                found.insert(&text[start + 1..digits_at + digits]);
            }
        }
    }
    found.into_iter().collect::<Vec<_>>().join("; ")
}

// ------------------------------------------------------------------------------------------------
// Threat Dragon

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

// ------------------------------------------------------------------------------------------------
// Markdown

/// The front matter's known keys.
#[derive(Debug, Default)]
struct FrontMatter {
    title: Option<String>,
    subsystem: Option<String>,
    version: Option<String>,
    owner: Option<String>,
    reviewer: Option<String>,
    reviewed: Option<String>,
}

/// One line of the body (after the front matter).
struct BodyLine<'a> {
    /// 1-based line number in the document.
    no: usize,
    text: &'a str,
    /// Inside a fenced code block (fence lines included).
    fenced: bool,
    /// ATX heading: level and text.
    heading: Option<(usize, &'a str)>,
}

/// The front matter, if the first line is `---`, and the index of the first body line.
fn front_matter(lines: &[&str]) -> Result<(Option<FrontMatter>, usize), String> {
    if lines.first().map(|l| l.trim_end()) != Some("---") {
        return Ok((None, 0));
    }
    let close = (1..lines.len())
        .find(|&i| lines[i].trim_end() == "---")
        .ok_or_else(|| "line 1: front matter opened by `---` is not closed by a `---` line".to_string())?;
    let mut fm = FrontMatter::default();
    for (i, line) in lines[1..close].iter().enumerate() {
        let no = i + 2;
        if line.starts_with([' ', '\t', '#']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        let value = [('"', '"'), ('\'', '\'')]
            .iter()
            .find_map(|&(a, b)| value.strip_prefix(a).and_then(|v| v.strip_suffix(b)))
            .unwrap_or(value)
            .trim();
        let value = non_blank(Some(value.to_string()));
        let slot = match key.trim().to_ascii_lowercase().as_str() {
            "title" => &mut fm.title,
            "subsystem" => &mut fm.subsystem,
            "version" => &mut fm.version,
            "owner" => &mut fm.owner,
            "reviewer" => &mut fm.reviewer,
            "reviewed" => {
                if let Some(v) = &value {
                    if !is_date(v) {
                        return Err(format!("line {no}: reviewed: `{v}` is not a valid YYYY-MM-DD date"));
                    }
                }
                &mut fm.reviewed
            }
            _ => continue,
        };
        *slot = value;
    }
    Ok((Some(fm), close + 1))
}

/// A valid calendar date written exactly as `YYYY-MM-DD`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
        && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// An ATX heading (`## Text`): its level and text, without a closing `#` sequence.
fn atx_heading(line: &str) -> Option<(usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let s = &line[indent..];
    let level = s.bytes().take_while(|&b| b == b'#').count();
    let rest = &s[level..];
    if !(1..=6).contains(&level) || !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let text = rest.trim();
    let unclosed = text.trim_end_matches('#');
    Some((
        level,
        if unclosed.is_empty() {
            ""
        } else if unclosed.ends_with([' ', '\t']) {
            unclosed.trim_end()
        } else {
            text
        },
    ))
}

/// The body's lines, with fenced code blocks and headings marked.
fn body_lines<'a>(lines: &[&'a str], start: usize) -> Vec<BodyLine<'a>> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (i, text) in lines.iter().enumerate().skip(start) {
        let trimmed = text.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        let fenced = match (fence, marker) {
            (None, Some(m)) => {
                fence = Some(m);
                true
            }
            (Some(open), Some(m)) if open == m => {
                fence = None;
                true
            }
            (Some(_), _) => true,
            (None, None) => false,
        };
        let heading = if fenced { None } else { atx_heading(text) };
        out.push(BodyLine { no: i + 1, text, fenced, heading });
    }
    out
}

/// Removes `<a …>`/`</a>` tags and turns `<br>` into a line break; other text is kept.
fn strip_anchors(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        let tag = &rest[at..];
        let lower = tag.get(..6).unwrap_or(tag).to_ascii_lowercase();
        let end = tag.find('>');
        match end {
            Some(end) if lower.starts_with("<br") && tag[3..end].trim_matches([' ', '/']).is_empty() => {
                out.push('\n');
                rest = &tag[end + 1..];
            }
            Some(end) if lower.starts_with("<a ") || lower.starts_with("<a>") || lower.starts_with("</a>") => {
                rest = &tag[end + 1..];
            }
            _ => {
                out.push('<');
                rest = &tag[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes the HTML entities Markdown exporters write.
fn decode_entities(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// The end of a Markdown link `[text](target)` starting at `i`: the index of `]` and of `)`.
fn link_at(chars: &[char], i: usize) -> Option<(usize, usize)> {
    let close = |from: usize, c: char| {
        let mut j = from;
        while j < chars.len() {
            match chars[j] {
                '\\' => j += 2,
                x if x == c => return Some(j),
                _ => j += 1,
            }
        }
        None
    };
    let text_end = close(i + 1, ']')?;
    if chars.get(text_end + 1) != Some(&'(') {
        return None;
    }
    let url_end = close(text_end + 2, ')')?;
    (!chars[text_end + 2..url_end].iter().any(|c| c.is_whitespace())).then_some((text_end, url_end))
}

/// Inline Markdown as plain text: backslash escapes resolved, `**` dropped, links replaced by their text.
fn render_inline(chars: &[char], out: &mut String) {
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && chars.get(i + 1).is_some_and(char::is_ascii_punctuation) {
            out.push(chars[i + 1]);
            i += 2;
        } else if c == '*' && chars.get(i + 1) == Some(&'*') {
            i += 2;
        } else if let Some((text_end, url_end)) = (c == '[').then(|| link_at(chars, i)).flatten() {
            render_inline(&chars[i + 1..text_end], out);
            i = url_end + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
}

/// A Markdown fragment (a cell, a value, a heading) as plain text, each line trimmed.
fn clean_inline(s: &str) -> String {
    let chars: Vec<char> = strip_anchors(s).chars().collect();
    let mut out = String::new();
    render_inline(&chars, &mut out);
    let decoded = decode_entities(&out);
    decoded.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}

/// Splits `T-0001: Title` (or `T-0001 — Title`, `T-0001 - Title`) into id and title. The id is 1–8
/// uppercase ASCII letters, an optional `-`, and 1–6 digits.
fn threat_heading(text: &str) -> Option<(String, String)> {
    let text = clean_inline(text);
    let b = text.as_bytes();
    let letters = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
    if !(1..=8).contains(&letters) {
        return None;
    }
    let dash = usize::from(b.get(letters) == Some(&b'-'));
    let digits = b[letters + dash..].iter().take_while(|c| c.is_ascii_digit()).count();
    if !(1..=6).contains(&digits) {
        return None;
    }
    let (id, rest) = text.split_at(letters + dash + digits);
    let title =
        rest.strip_prefix(':').or_else(|| [" — ", " – ", " - "].iter().find_map(|sep| rest.strip_prefix(sep)))?;
    Some((id.to_string(), title.trim().to_string()))
}

/// A `Key: value` line (optionally a list item, optionally with the key in bold): lowercase key and value.
fn key_value(line: &str) -> Option<(String, String)> {
    let mut s = line.trim();
    if let Some(rest) = ["- ", "* ", "+ "].iter().find_map(|b| s.strip_prefix(b)) {
        s = rest.trim_start();
    }
    let (key, value) = s.split_once(':')?;
    let key = key.trim().trim_matches(['*', '_']).trim();
    if key.is_empty() || key.len() > 40 || !key.chars().all(|c| c.is_ascii_alphabetic() || c == ' ') {
        return None;
    }
    let value = value.trim();
    let value = value.strip_prefix("**").or_else(|| value.strip_prefix("__")).unwrap_or(value);
    Some((key.to_ascii_lowercase(), clean_inline(value)))
}

/// Which threat field a key or column header names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    Title,
    Status,
    Category,
    Severity,
    Element,
    Mitigation,
    Description,
}

fn field_of_key(key: &str) -> Option<Field> {
    Some(match key {
        "status" => Field::Status,
        "category" | "stride" => Field::Category,
        "severity" | "priority" => Field::Severity,
        "element" | "asset" => Field::Element,
        "mitigation" | "mitigations" => Field::Mitigation,
        _ => return None,
    })
}

fn field_of_header(header: &str) -> Option<Field> {
    Some(match header {
        "threat number" | "threat id" | "id" => Field::Id,
        "threat" | "title" => Field::Title,
        "description" => Field::Description,
        other => return field_of_key(other),
    })
}

/// Threats written as headings (`### T-0001: Title`) with `Key: value` lines under them.
fn heading_threats(body: &[BodyLine<'_>], out: &mut Vec<Draft>) -> Result<(), String> {
    let threat_at = |l: &BodyLine<'_>| l.heading.filter(|(level, _)| *level >= 2).and_then(|(_, t)| threat_heading(t));
    for (i, line) in body.iter().enumerate() {
        let (Some((level, heading)), Some((threat_id, title))) = (line.heading, threat_at(line)) else { continue };
        let end = body[i + 1..]
            .iter()
            .position(|l| l.heading.is_some_and(|(lv, _)| lv <= level) || threat_at(l).is_some())
            .map_or(body.len(), |p| i + 1 + p);
        let mut texts = vec![heading.to_string()];
        let (mut status, mut category, mut severity, mut element, mut mitigation) = (None, None, None, None, None);
        let mut mitigation_block: Vec<String> = Vec::new();
        let mut in_mitigation = false;
        for l in body[i + 1..end].iter().filter(|l| !l.fenced) {
            texts.push(l.text.to_string());
            if let Some((_, h)) = l.heading {
                let h = clean_inline(h).to_lowercase();
                in_mitigation = matches!(h.trim_end_matches(':'), "mitigation" | "mitigations");
                continue;
            }
            if in_mitigation {
                if !l.text.trim().is_empty() {
                    mitigation_block.push(clean_inline(l.text));
                }
                continue;
            }
            let Some((key, value)) = key_value(l.text) else { continue };
            let slot = match field_of_key(&key) {
                Some(Field::Status) => &mut status,
                Some(Field::Category) => &mut category,
                Some(Field::Severity) => &mut severity,
                Some(Field::Element) => &mut element,
                Some(Field::Mitigation) => &mut mitigation,
                _ => continue,
            };
            if slot.is_none() {
                *slot = non_blank(Some(value));
            }
        }
        let status =
            status.ok_or_else(|| format!("line {}: threat heading `{}` has no Status", line.no, line.text.trim()))?;
        let mitigation = non_blank(Some(mitigation.into_iter().chain(mitigation_block).collect::<Vec<_>>().join("\n")));
        let cleaned: Vec<String> = texts.iter().map(|t| clean_inline(t)).collect();
        let controls = controls_in(texts.iter().chain(&cleaned).map(String::as_str));
        out.push(Draft { line: line.no, threat_id, title, category, severity, status, mitigation, element, controls });
    }
    Ok(())
}

/// The cells of a table row, split on unescaped `|`, outer pipes removed.
fn table_cells(line: &str) -> Vec<&str> {
    let s = line.trim();
    let s = s.strip_prefix('|').unwrap_or(s);
    let s = if s.ends_with('|') && !s.ends_with("\\|") { &s[..s.len() - 1] } else { s };
    let mut cells = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, c) in s.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => {
                cells.push(&s[start..i]);
                start = i + 1;
            }
            _ => escaped = false,
        }
    }
    cells.push(&s[start..]);
    cells
}

fn is_delimiter_row(line: &str) -> bool {
    line.contains('|')
        && table_cells(line).iter().all(|c| {
            let c = c.trim();
            let c = c.strip_prefix(':').unwrap_or(c);
            let c = c.strip_suffix(':').unwrap_or(c);
            !c.is_empty() && c.bytes().all(|b| b == b'-')
        })
}

/// Threats written as table rows; true when the document has a threat table (even an empty one).
fn table_threats(body: &[BodyLine<'_>], out: &mut Vec<Draft>) -> Result<bool, String> {
    let mut seen = false;
    let mut i = 0;
    while i + 1 < body.len() {
        let (header, delimiter) = (&body[i], &body[i + 1]);
        if header.fenced || delimiter.fenced || !header.text.contains('|') || !is_delimiter_row(delimiter.text) {
            i += 1;
            continue;
        }
        let columns: Vec<Option<Field>> = table_cells(header.text)
            .iter()
            .map(|h| field_of_header(clean_inline(h).to_lowercase().trim_end_matches(':')))
            .collect();
        let column = |f: Field| columns.iter().position(|c| *c == Some(f));
        let rows_end = body[i + 2..]
            .iter()
            .position(|l| l.fenced || l.text.trim().is_empty() || !l.text.contains('|'))
            .map_or(body.len(), |p| i + 2 + p);
        let (Some(id_col), Some(status_col)) = (column(Field::Id), column(Field::Status)) else {
            i = rows_end;
            continue;
        };
        seen = true;
        for (n, row) in body[i + 2..rows_end].iter().enumerate() {
            let raw = table_cells(row.text);
            if raw.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let cell = |col: Option<usize>| non_blank(col.and_then(|c| raw.get(c)).map(|c| clean_inline(c)));
            let threat_id = cell(Some(id_col)).map_or_else(|| (n + 1).to_string(), |id| id.replace('`', ""));
            let status = cell(Some(status_col))
                .ok_or_else(|| format!("line {}: threat `{threat_id}` has an empty Status cell", row.no))?;
            let title = cell(column(Field::Title)).unwrap_or_default();
            let mitigation = cell(column(Field::Mitigation));
            let description = cell(column(Field::Description));
            let raw_texts = [column(Field::Title), column(Field::Mitigation), column(Field::Description)]
                .into_iter()
                .flatten()
                .filter_map(|c| raw.get(c).map(|t| t.replace("\\[", "[").replace("\\]", "]")))
                .collect::<Vec<_>>();
            let controls = controls_in(
                [Some(title.as_str()), mitigation.as_deref(), description.as_deref()]
                    .into_iter()
                    .flatten()
                    .chain(raw_texts.iter().map(String::as_str)),
            );
            out.push(Draft {
                line: row.no,
                threat_id,
                title,
                category: cell(column(Field::Category)),
                severity: cell(column(Field::Severity)),
                status,
                mitigation,
                element: cell(column(Field::Element)),
                controls,
            });
        }
        i = rows_end;
    }
    Ok(seen)
}

/// HTML as plain text: `<br>` and `</p>` become line breaks, other tags go, lines are trimmed.
fn html_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        let Some(end) = rest[at..].find('>') else {
            out.push_str(&rest[at..]);
            rest = "";
            break;
        };
        let tag = rest[at + 1..at + end].trim_matches([' ', '/']).to_ascii_lowercase();
        if tag == "br" || tag == "p" {
            out.push('\n');
        }
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    decode_entities(&out).lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}

/// OWASP pytm findings: `<details><summary>ID — description</summary>` blocks with `<h6>` sections.
/// pytm writes no status: each finding is recorded as `Identified`.
fn pytm_threats(body: &[BodyLine<'_>], out: &mut Vec<Draft>) {
    let Some(first) = body.first() else { return };
    let prose = body.iter().map(|l| if l.fenced { "" } else { l.text }).collect::<Vec<_>>().join("\n");
    let lower = prose.to_ascii_lowercase();
    let mut from = 0;
    let mut position = 0;
    while let Some(at) = lower[from..].find("<details").map(|p| from + p) {
        let end = lower[at..].find("</details>").map_or(prose.len(), |p| at + p);
        from = end.max(at + 1);
        let (block, block_l) = (&prose[at..end], &lower[at..end]);
        let between = |open: &str, close: &str, from: usize| -> Option<(usize, usize)> {
            let start = from + block_l[from..].find(open)?;
            let content = start + block_l[start..].find('>')? + 1;
            let stop = content + block_l[content..].find(close)?;
            Some((content, stop))
        };
        let Some((s_start, s_end)) = between("<summary", "</summary>", 0) else { continue };
        let summary = html_text(&block[s_start..s_end]).split_whitespace().collect::<Vec<_>>().join(" ");
        let (mut element, mut severity, mut mitigation, mut known) = (None, None, None, false);
        let mut cursor = s_end;
        while let Some((n_start, n_end)) = between("<h6", "</h6>", cursor) {
            let content_end = block_l[n_end..].find("<h6").map_or(block.len(), |p| n_end + p);
            let value = non_blank(Some(html_text(&block[n_end + "</h6>".len()..content_end])));
            let slot = match html_text(&block[n_start..n_end]).to_lowercase().as_str() {
                "targeted element" => &mut element,
                "severity" => &mut severity,
                "mitigation" | "mitigations" => &mut mitigation,
                _ => {
                    cursor = content_end;
                    continue;
                }
            };
            known = true;
            *slot = value;
            cursor = content_end;
        }
        if !known {
            continue;
        }
        position += 1;
        let split = [" — ", " – ", " - "]
            .iter()
            .filter_map(|sep| summary.split_once(sep))
            .find(|(id, _)| !id.is_empty() && !id.contains(char::is_whitespace));
        let (threat_id, title) =
            split.map_or_else(|| (position.to_string(), summary.clone()), |(id, t)| (id.to_string(), t.to_string()));
        let controls = controls_in([title.as_str(), mitigation.as_deref().unwrap_or("")]);
        out.push(Draft {
            line: first.no + prose[..at].matches('\n').count(),
            threat_id,
            title,
            category: None,
            severity,
            status: "Identified".to_string(),
            mitigation,
            element,
            controls,
        });
    }
}

/// Parses a Markdown threat model (format `markdown`), following the convention in
/// `docs/threat-models.md`: optional front matter (`title`, `subsystem`, `version`, `owner`,
/// `reviewer`, `reviewed`), threats as headings (`### T-0001: Title` with `Status:` etc. lines), as
/// table rows (a table with an id column and `Status`, as AWS Threat Composer exports), or as OWASP
/// pytm `<details>` findings. Threats are listed in document order. Errors name the line.
pub fn parse_markdown(
    text: &str,
    blob: &str,
    provenance: &Provenance,
) -> Result<(ThreatModelRow, Vec<ThreatRow>), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let (front, body_start) = front_matter(&lines)?;
    let body = body_lines(&lines, body_start);

    let mut drafts = Vec::new();
    heading_threats(&body, &mut drafts)?;
    let threat_table = table_threats(&body, &mut drafts)?;
    pytm_threats(&body, &mut drafts);
    drafts.sort_by_key(|d| d.line);
    let pytm_report =
        body.iter().any(|l| l.heading.is_some_and(|(_, h)| clean_inline(h).eq_ignore_ascii_case("potential threats")));

    let has_front = front.is_some();
    let fm = front.unwrap_or_default();
    let title = fm
        .title
        .or_else(|| body.iter().find_map(|l| l.heading.filter(|(level, _)| *level == 1).map(|(_, t)| clean_inline(t))))
        .unwrap_or_default();
    if !has_front && title.is_empty() && drafts.is_empty() && !threat_table && !pytm_report {
        return Err("not a threat model: no front matter, no threat headings and no threat table".into());
    }

    let open = drafts
        .iter()
        .filter(|d| ["open", "identified"].iter().any(|s| d.status.trim().eq_ignore_ascii_case(s)))
        .count();
    let model_row = ThreatModelRow {
        blob: blob.to_string(),
        format: "markdown".to_string(),
        title,
        subsystem: fm.subsystem,
        version: fm.version,
        owner: fm.owner,
        reviewer: fm.reviewer,
        reviewed: fm.reviewed,
        threats: drafts.len() as u64,
        open_threats: open as u64,
        provenance: provenance.clone(),
    };
    let rows = drafts.into_iter().map(|d| d.into_row(blob, provenance)).collect();
    Ok((model_row, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TD_DEMO: &[u8] = include_bytes!("../../fixtures/threatmodel/threat-dragon-v2-demo-threat-model.json");
    const PYTM_REPORT: &str = include_str!("../../fixtures/threatmodel/pytm-report-output.md");
    const BLOB: &str = "blobs/sha256/abc";

    fn prov() -> Provenance {
        Provenance {
            source: "threat-models".into(),
            object_key: "tm/model".into(),
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

    fn count(rows: &[ThreatRow], f: impl Fn(&ThreatRow) -> bool) -> usize {
        rows.iter().filter(|r| f(r)).count()
    }

    #[test]
    fn threat_dragon_v2_demo() {
        let (model, threats) = parse_threat_dragon(TD_DEMO, BLOB, &prov()).unwrap();
        assert_eq!(model.format, "threat-dragon-v2");
        assert_eq!(model.title, "Demo Threat Model");
        assert_eq!(model.owner.as_deref(), Some("Mike Goodwin"));
        assert_eq!(model.reviewer.as_deref(), Some("Jane Smith"));
        assert_eq!(model.version.as_deref(), Some("2.3.0"));
        assert_eq!((model.subsystem.as_deref(), model.reviewed.as_deref()), (None, None));
        assert_eq!(model.blob, BLOB);
        assert_eq!(model.provenance, prov());
        // Counted with python over detail.diagrams[].cells[].data.threats[]: 14 threats, 10 Open, 4 Mitigated.
        assert_eq!(model.threats, 14);
        assert_eq!(model.open_threats, 10);
        assert_eq!(threats.len(), 14);
        assert_eq!(count(&threats, |t| t.status == "Open"), 10);
        assert_eq!(count(&threats, |t| t.status == "Mitigated"), 4);
        assert_eq!(count(&threats, |t| t.category.as_deref() == Some("Information disclosure")), 10);
        assert_eq!(count(&threats, |t| t.category.as_deref() == Some("Denial of service")), 2);
        assert_eq!(count(&threats, |t| t.category.as_deref() == Some("Tampering")), 1);
        assert_eq!(count(&threats, |t| t.category.as_deref() == Some("Spoofing")), 1);
        assert_eq!(count(&threats, |t| t.severity.as_deref() == Some("High")), 8);
        assert_eq!(count(&threats, |t| t.severity.as_deref() == Some("Medium")), 4);
        assert_eq!(count(&threats, |t| t.severity.as_deref() == Some("Low")), 2);
        assert_eq!(count(&threats, |t| t.title == "Data flow should use HTTP/S"), 4);
        assert!(threats.iter().all(|t| t.model_blob == BLOB && t.provenance == prov() && t.controls.is_empty()));
        assert!(threats.iter().all(|t| t.mitigation.is_some()));

        let first = &threats[0];
        assert_eq!(first.threat_id, "7df716cd-a982-48a5-b4ed-800ccb670734");
        assert_eq!(first.title, "Accessing DB credentials");
        assert_eq!(first.category.as_deref(), Some("Information disclosure"));
        assert_eq!(first.severity.as_deref(), Some("High"));
        assert_eq!(first.status, "Open");
        assert_eq!(first.element.as_deref(), Some("Worker Config"));
        assert!(first.mitigation.as_deref().unwrap().starts_with("Encrypt the DB credentials"));

        let spoof = &threats[6];
        assert_eq!(spoof.title, "Fake messages could be placed on the queue");
        assert_eq!(spoof.category.as_deref(), Some("Spoofing"));
        assert_eq!(spoof.status, "Mitigated");
        assert_eq!(spoof.element.as_deref(), Some("Message Queue"));
        assert_eq!(threats[7].element.as_deref(), Some("Background\nWorker Process"));
        assert_eq!(threats[7].title, "Poison messages 1");
        // A flow's threat: the element is the flow's name.
        assert_eq!(threats[9].element.as_deref(), Some("Put Message"));
        assert_eq!(threats[13].threat_id, "79cbaf10-e5a2-4fd6-9818-7f180a113938");
        assert_eq!(threats[13].element.as_deref(), Some("Web Request"));
        assert_eq!(threats[13].status, "Mitigated");
    }

    const TD_V1: &str = r#"{
      "summary": {"title": "Legacy API", "owner": "Ops"},
      "detail": {"reviewer": "", "diagrams": [{"title": "Main", "id": 0, "diagramJson": {"cells": [
        {"type": "tm.Process", "id": "p1", "attrs": {"text": {"text": "API"}},
         "threats": [
           {"title": "Token replay", "type": "Spoofing", "status": "Open", "severity": "High",
            "description": "Stolen tokens are replayed", "mitigation": "Short-lived tokens [IAM-12], audit [LOG-03] [LOG-03]"},
           {"title": "Verbose errors", "type": "Information disclosure", "status": "NA", "severity": "Low",
            "mitigation": "   "}
         ]},
        {"type": "tm.Boundary", "id": "b1", "attrs": {}},
        {"type": "tm.Flow", "id": "f1", "labels": [{"position": 0.5, "attrs": {"text": {"text": "Query"}}}],
         "threats": [{"title": "Injection", "type": "Tampering", "status": "Mitigated", "severity": "Medium",
           "mitigation": "Parameterised queries", "threatId": "TH-7"}]}
      ]}}]}
    }"#;

    #[test]
    fn threat_dragon_v1() {
        let (model, threats) = parse_threat_dragon(TD_V1.as_bytes(), BLOB, &prov()).unwrap();
        assert_eq!(model.format, "threat-dragon-v1");
        assert_eq!(model.title, "Legacy API");
        assert_eq!(model.owner.as_deref(), Some("Ops"));
        assert_eq!(model.reviewer, None);
        assert_eq!(model.version, None);
        assert_eq!((model.threats, model.open_threats), (3, 1));
        let ids: Vec<&str> = threats.iter().map(|t| t.threat_id.as_str()).collect();
        assert_eq!(ids, ["0.0.0", "0.0.1", "TH-7"]);
        assert_eq!(threats[0].element.as_deref(), Some("API"));
        assert_eq!(threats[0].controls, "IAM-12; LOG-03");
        assert_eq!(threats[1].status, "NA");
        assert_eq!(threats[1].mitigation, None);
        assert_eq!(threats[1].controls, "");
        assert_eq!(threats[2].element.as_deref(), Some("Query"));
        assert_eq!(threats[2].category.as_deref(), Some("Tampering"));
    }

    #[test]
    fn threat_dragon_errors() {
        let err = |json: &str| parse_threat_dragon(json.as_bytes(), BLOB, &prov()).unwrap_err();
        assert_eq!(
            err(r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}"#),
            "not a Threat Dragon model: summary.title is missing"
        );
        assert_eq!(err(r#"{"summary": {"title": 3.5e0}}"#), "not a Threat Dragon model: detail is missing");
        assert_eq!(err(r#"{"summary": {"title": ["x"]}}"#), "not a Threat Dragon model: summary.title is not a string");
        assert!(err("[1, 2]").starts_with("not a Threat Dragon model: "));
        assert!(err("title: not json").starts_with("not JSON: "), "{}", err("title: not json"));
        let truncated = std::str::from_utf8(&TD_DEMO[..TD_DEMO.len() / 2]).unwrap();
        assert!(err(truncated).starts_with("not JSON (truncated): "), "{}", err(truncated));
        let no_status = r#"{"version": "2.3.0", "summary": {"title": "M"}, "detail": {"diagrams": [
            {"cells": [{"data": {"name": "A"}}, {"data": {"name": "B", "threats": [
              {"title": "ok", "status": "Open"}, {"title": "no status", "type": "Spoofing"}]}}]}]}}"#;
        assert_eq!(err(no_status), "detail.diagrams[0].cells[1].data.threats[1]: status is missing");
        let no_title = r#"{"summary": {"title": "M"}, "detail": {"diagrams": [{"diagramJson": {"cells": [
            {"threats": [{"status": "Open"}]}]}}]}}"#;
        assert_eq!(err(no_title), "detail.diagrams[0].diagramJson.cells[0].threats[0]: title is missing");
    }

    const MD_MODEL: &str = "---
title: Audit pipeline
subsystem: collector
version: \"1.4\"
owner: Platform security
reviewer: J. Smith
reviewed: 2025-03-14
colour: blue
---

# Audit pipeline threat model

Intro text. Note: not a threat.

### T-0001: Forged audit events
- **Status:** Open
- **STRIDE:** Spoofing
- **Severity:** High
- **Element:** Ingest API

An attacker with network access posts events in another service's name [IAM-12].

#### Mitigation
Sign events at the source and verify
signatures on ingest [LOG-03].

### T-0002 — Log deletion
Status: Mitigated
Category: Tampering
Priority: Medium
Asset: Lake
Mitigation: Hash-chained, append-only storage [LOG-03]

```
### T-0003: inside a code block, not a threat
```

## TM-12 - Backlog flooding
**Status**: identified

## Appendix
Status: ignored, not under a threat heading
";

    #[test]
    fn markdown_front_matter_and_headings() {
        let (model, threats) = parse_markdown(MD_MODEL, BLOB, &prov()).unwrap();
        assert_eq!(model.format, "markdown");
        assert_eq!(model.title, "Audit pipeline");
        assert_eq!(model.subsystem.as_deref(), Some("collector"));
        assert_eq!(model.version.as_deref(), Some("1.4"));
        assert_eq!(model.owner.as_deref(), Some("Platform security"));
        assert_eq!(model.reviewer.as_deref(), Some("J. Smith"));
        assert_eq!(model.reviewed.as_deref(), Some("2025-03-14"));
        assert_eq!((model.threats, model.open_threats), (3, 2));
        assert_eq!(model.provenance, prov());

        let t1 = &threats[0];
        assert_eq!((t1.threat_id.as_str(), t1.title.as_str()), ("T-0001", "Forged audit events"));
        assert_eq!(t1.status, "Open");
        assert_eq!(t1.category.as_deref(), Some("Spoofing"));
        assert_eq!(t1.severity.as_deref(), Some("High"));
        assert_eq!(t1.element.as_deref(), Some("Ingest API"));
        assert_eq!(
            t1.mitigation.as_deref(),
            Some("Sign events at the source and verify\nsignatures on ingest [LOG-03].")
        );
        assert_eq!(t1.controls, "IAM-12; LOG-03");
        assert_eq!(t1.model_blob, BLOB);

        let t2 = &threats[1];
        assert_eq!((t2.threat_id.as_str(), t2.title.as_str()), ("T-0002", "Log deletion"));
        assert_eq!(t2.status, "Mitigated");
        assert_eq!(t2.category.as_deref(), Some("Tampering"));
        assert_eq!(t2.severity.as_deref(), Some("Medium"));
        assert_eq!(t2.element.as_deref(), Some("Lake"));
        assert_eq!(t2.mitigation.as_deref(), Some("Hash-chained, append-only storage [LOG-03]"));
        assert_eq!(t2.controls, "LOG-03");

        let t3 = &threats[2];
        assert_eq!(
            (t3.threat_id.as_str(), t3.title.as_str(), t3.status.as_str()),
            ("TM-12", "Backlog flooding", "identified")
        );
        assert_eq!((t3.category.as_deref(), t3.mitigation.as_deref(), t3.controls.as_str()), (None, None, ""));
    }

    #[test]
    fn markdown_doc_example_matches_the_docs() {
        let doc = include_str!("../../docs/threat-models.md");
        let example = doc.split("```markdown\n").nth(1).unwrap().split("\n```\n").next().unwrap();
        let (model, threats) = parse_markdown(example, BLOB, &prov()).unwrap();
        assert_eq!((model.threats, model.open_threats), (2, 1));
        assert_eq!(threats[0].controls, "IAM-12; LOG-03");
        assert_eq!(threats[1].controls, "LOG-03");
    }

    const THREAT_COMPOSER: &str = r#"# Payments API

## Application Info
Takes card payments.

## Assumptions

| Assumption Number | Assumption | Linked Threats | Linked Mitigations | Comments |
| --- | --- | --- | --- | --- |
| <a name="A-0001"></a>A-0001 | The VPC is private |  |  |  |

## Threats

| Threat Number | Threat | Mitigations | Assumptions | Status | Priority | STRIDE | Comments |
| --- | --- | --- | --- | --- | --- | --- | --- |
| <a name="T-0001"></a>T-0001 | An internal actor with access to the \_audit\_ bucket can delete logs \[LOG-03\] | [**M-0001**](#M-0001): Object lock on the bucket<br/>[**M-0002**](#M-0002): Alert on deletes \(see runbook\) | [**A-0001**](#A-0001): The VPC is private |  Identified | High | T, R |  |
| <a name="T-0002"></a>T-0002 | An external threat actor can forge a session token |  |  |  Resolved | Medium | S |  |


## Mitigations

| Mitigation Number | Mitigation | Threats Mitigating | Assumptions | Status | Comments |
| --- | --- | --- | --- | --- | --- |
| <a name="M-0001"></a>M-0001 | Object lock on the bucket | [**T-0001**](#T-0001) |  | Resolved |  |
"#;

    #[test]
    fn markdown_threat_composer_table() {
        let (model, threats) = parse_markdown(THREAT_COMPOSER, BLOB, &prov()).unwrap();
        assert_eq!(model.title, "Payments API");
        assert_eq!((model.subsystem, model.reviewed), (None, None));
        assert_eq!((model.threats, model.open_threats), (2, 1));
        let t1 = &threats[0];
        assert_eq!(t1.threat_id, "T-0001");
        assert_eq!(t1.title, "An internal actor with access to the _audit_ bucket can delete logs [LOG-03]");
        assert_eq!(
            t1.mitigation.as_deref(),
            Some("M-0001: Object lock on the bucket\nM-0002: Alert on deletes (see runbook)")
        );
        assert_eq!(t1.status, "Identified");
        assert_eq!(t1.severity.as_deref(), Some("High"));
        assert_eq!(t1.category.as_deref(), Some("T, R"));
        assert_eq!(t1.element, None);
        assert_eq!(t1.controls, "LOG-03");
        let t2 = &threats[1];
        assert_eq!((t2.threat_id.as_str(), t2.status.as_str()), ("T-0002", "Resolved"));
        assert_eq!(t2.title, "An external threat actor can forge a session token");
        assert_eq!((t2.mitigation.as_deref(), t2.category.as_deref()), (None, Some("S")));
    }

    #[test]
    fn markdown_errors() {
        let err = |md: &str| parse_markdown(md, BLOB, &prov()).unwrap_err();
        assert_eq!(
            err("---\ntitle: X\nreviewed: 2025-02-30\n---\n"),
            "line 3: reviewed: `2025-02-30` is not a valid YYYY-MM-DD date"
        );
        assert_eq!(
            err("---\nreviewed: 14/03/2025\n---\n"),
            "line 2: reviewed: `14/03/2025` is not a valid YYYY-MM-DD date"
        );
        assert!(err("---\ntitle: X\n").starts_with("line 1: front matter"));
        assert_eq!(
            err("# M\n\ntext\n\n## T-0009: No status here\nSeverity: High\n\n## T-0010: Fine\nStatus: Open\n"),
            "line 5: threat heading `## T-0009: No status here` has no Status"
        );
        assert_eq!(
            err("| ID | Threat | Status |\n|---|---|---|\n| T1 | x | Open |\n| T2 | y |  |\n"),
            "line 4: threat `T2` has an empty Status cell"
        );
        assert_eq!(
            err("Some notes.\n\n## Ideas\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"),
            "not a threat model: no front matter, no threat headings and no threat table"
        );
    }

    #[test]
    fn pytm_report_fixture_has_no_findings() {
        let (model, threats) = parse_markdown(PYTM_REPORT, BLOB, &prov()).unwrap();
        assert_eq!(model.format, "markdown");
        assert_eq!(model.title, "");
        assert_eq!((model.threats, model.open_threats), (0, 0));
        assert!(threats.is_empty());
    }

    #[test]
    fn pytm_findings() {
        // The fixture's report with two findings rendered by pytm's docs/basic_template.md.
        let findings = "<details>
  <summary>
    INP02 — Overflow Buffers
  </summary>

  <h6>Targeted Element</h6>
  <p>Web Server</p>

  <h6>Severity</h6>
  <p>High</p>

  <h6>Example Instances</h6>
  <p>Buffer overflow in a C library.</p>

  <h6>Mitigations</h6>
  <p>Use a language or compiler that performs automatic bounds checking.<br>Validate input [SEC-01].</p>

  <h6>References</h6>
  <p>https://capec.mitre.org/data/definitions/100.html</p>

  &nbsp;
</details>
<details>
  <summary>
    DS06 - Data Leak &amp; exposure
  </summary>
  <h6>Targeted Element</h6>
  <p>SQL Database</p>
  <h6>Severity</h6>
  <p>Very High</p>
  <h6>Mitigations</h6>
  <p></p>
</details>
";
        let last = PYTM_REPORT.rfind("||").unwrap();
        let report = format!("{}{findings}{}", &PYTM_REPORT[..last], &PYTM_REPORT[last + 2..]);
        let (model, threats) = parse_markdown(&report, BLOB, &prov()).unwrap();
        assert_eq!((model.threats, model.open_threats), (2, 2));
        let t1 = &threats[0];
        assert_eq!((t1.threat_id.as_str(), t1.title.as_str()), ("INP02", "Overflow Buffers"));
        assert_eq!(t1.element.as_deref(), Some("Web Server"));
        assert_eq!(t1.severity.as_deref(), Some("High"));
        assert_eq!(
            t1.mitigation.as_deref(),
            Some("Use a language or compiler that performs automatic bounds checking.\nValidate input [SEC-01].")
        );
        assert_eq!(t1.status, "Identified");
        assert_eq!(t1.controls, "SEC-01");
        let t2 = &threats[1];
        assert_eq!((t2.threat_id.as_str(), t2.title.as_str()), ("DS06", "Data Leak & exposure"));
        assert_eq!((t2.element.as_deref(), t2.severity.as_deref()), (Some("SQL Database"), Some("Very High")));
        assert_eq!(t2.mitigation, None);
    }

    #[test]
    fn controls_need_the_exact_shape() {
        assert_eq!(
            controls_in(["[LOG-03] [IAM-12] [A-01] [ABCDEFGHI-1] [LOG-12345] [log-03] [LOG03] [IAM-12]"]),
            "IAM-12; LOG-03"
        );
        assert_eq!(controls_in(["[ABCDEFGH-1234] x", "[OPS-7]"]), "ABCDEFGH-1234; OPS-7");
    }
}
