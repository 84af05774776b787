//! Source type `markdown-threat-model` (alias `markdown`): Markdown threat models following
//! Cairn's convention (front matter, threat headings, threat tables, OWASP pytm reports),
//! described in `docs/threat-models.md`, into `threat_models` and `threats` rows.

use cairn_evidence::artefacts::{ArtefactSet, ThreatModelRow, ThreatRow};
use cairn_evidence::tables::Provenance;
use serde::Deserialize;

use super::draft::{controls_in, non_blank, Draft, UNIT};
use crate::artefact::{self, ArtefactFormat};
use crate::config::ArtefactConfig;
use crate::source::newtype_source;

/// A `markdown-threat-model` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct MarkdownThreatModel(pub ArtefactConfig);

/// How a `markdown-threat-model` file is read.
const FORMAT: ArtefactFormat = ArtefactFormat { unit: UNIT, parse: Some(parse) };

newtype_source!(MarkdownThreatModel, "markdown-threat-model", artefact::collect, FORMAT);

/// Parses one model into the sink's rows.
fn parse(
    bytes: &[u8],
    _relative: &str,
    blob: &str,
    provenance: &Provenance,
    rows: &mut ArtefactSet,
) -> Result<u64, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let (model, threats) = parse_markdown(text, blob, provenance)?;
    rows.threat_models.push(model);
    rows.threats.extend(threats);
    Ok(1)
}

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
