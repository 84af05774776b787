//! Source type `documents`: documents a person records as evidence of manual controls (a policy,
//! an access review, a restore test, a contract), each with an owner and a date.
//!
//! ```toml
//! [[source]]
//! name = "documents"
//! type = "documents"
//! url  = "evidence/documents/"   # a folder holding documents.toml and the files it lists
//! ```
//!
//! `documents.toml` lists every document:
//!
//! ```toml
//! [[document]]
//! file = "access-review-2026-q3.pdf"
//! title = "Quarterly access review, Q3 2026"
//! controls = ["ACC-02"]
//! owner = "Head of IT operations"
//! date = "2026-10-01"
//! ```
//!
//! Each document's exact bytes become a blob. An entry with a problem (a missing or unsafe file, a
//! bad date, no control, no owner, an unknown key) and a file the list does not name are kept aside
//! with the line and reason. The folder is collected again whenever the list or a listed file
//! changes.

use std::collections::{BTreeMap, BTreeSet};

use cairn_evidence::artefacts::DocumentRow;
use cairn_evidence::digest::sha256_hex;
use cairn_evidence::lake::RunWriter;
use cairn_evidence::manifest::SourceCursor;
use cairn_evidence::tables::QuarantineRow;
use chrono::NaiveDate;
use object_store::path::Path as ObjectPath;
use serde::Deserialize;

use crate::config::ArtefactConfig;
use crate::error::CollectError;
use crate::listing::Listing;
use crate::run::{CollectRun, Cursors, SourceReport};
use crate::sink::{quarantine_text, RowSink};
use crate::source::newtype_source;

/// A `documents` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct Documents(pub ArtefactConfig);

newtype_source!(Documents, "documents", collect);

/// The list's file name.
pub const INDEX: &str = "documents.toml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndex {
    #[serde(default)]
    document: Vec<toml::Spanned<toml::Table>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    file: String,
    title: String,
    controls: Vec<String>,
    owner: String,
    date: String,
}

/// One checked entry of the list.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    /// Line of its `[[document]]` header.
    pub line: u64,
    /// File name.
    pub file: String,
    /// Title.
    pub title: String,
    /// Control ids.
    pub controls: Vec<String>,
    /// Owner.
    pub owner: String,
    /// Date.
    pub date: String,
}

fn line_of(text: &str, offset: usize) -> u64 {
    text[..offset.min(text.len())].matches('\n').count() as u64 + 1
}

/// An entry that does not check: its line and why.
pub type Problem = (u64, String);

/// Reads the list: the entries that check, and the problems of those that do not.
pub fn parse_index(text: &str) -> Result<(Vec<Entry>, Vec<Problem>), String> {
    let raw: RawIndex = toml::from_str(text).map_err(|e| format!("{INDEX}: {e}"))?;
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let mut files = BTreeSet::new();
    for table in raw.document {
        // The line of the entry's `[[document]]` header, where its span starts.
        let start = table.span().start;
        let line = line_of(text, start + text[start..].len() - text[start..].trim_start().len());
        let d = match RawDocument::deserialize(toml::Value::Table(table.into_inner())) {
            Ok(d) => d,
            Err(e) => {
                problems.push((line, format!("{INDEX} line {line}: {}", e.message())));
                continue;
            }
        };
        let safe = !d.file.is_empty()
            && d.file.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_. ".contains(&b))
            && !d.file.starts_with('.')
            && d.file != INDEX;
        let problem = if !safe {
            Some(format!("file {:?} must be a plain file name in the documents folder", d.file))
        } else if NaiveDate::parse_from_str(&d.date, "%Y-%m-%d").is_err() {
            Some(format!("date {:?} is not a YYYY-MM-DD date", d.date))
        } else if d.controls.is_empty() {
            Some("controls is empty: name the controls this document is evidence for".into())
        } else if d.owner.trim().is_empty() {
            Some("owner is empty".into())
        } else if !files.insert(d.file.clone()) {
            Some(format!("file {:?} is listed twice", d.file))
        } else {
            None
        };
        match problem {
            Some(p) => problems.push((line, format!("{INDEX} line {line}: {p}"))),
            None => entries.push(Entry {
                line,
                file: d.file,
                title: d.title,
                controls: d.controls,
                owner: d.owner,
                date: d.date,
            }),
        }
    }
    Ok((entries, problems))
}

/// Collects the documents folder when its list or a listed file changed.
async fn collect(
    config: &ArtefactConfig,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut Cursors,
) -> Result<SourceReport, CollectError> {
    let name = config.name.as_str();
    let lake_err = |error| CollectError::Lake { source_name: name.into(), error };
    let Listing { location, keys, mut report } = Listing::open(name, &config.url, run, "documents").await?;
    let index_key =
        keys.iter().find(|k| location.relative(k) == INDEX).cloned().ok_or_else(|| CollectError::Location {
            source_name: name.into(),
            detail: format!("{} has no {INDEX} listing its documents", config.url),
        })?;
    let index_bytes = location.read(name, &index_key).await?;
    let index_shown = location.shown(&index_key);
    let mut contents: BTreeMap<String, (ObjectPath, bytes::Bytes)> = BTreeMap::new();
    for key in keys.iter().filter(|k| **k != index_key) {
        contents.insert(location.relative(key), (key.clone(), location.read(name, key).await?));
    }
    report.objects = keys.len() as u64;
    // The folder's state: the list and every file, by digest.
    let mut state = sha256_hex(&index_bytes);
    for (file, (_, bytes)) in &contents {
        state = sha256_hex(format!("{state}\n{file}\n{}", sha256_hex(bytes)).as_bytes());
    }
    if cursors.get(&index_shown).is_some_and(|c| c.prefix_sha256 == state) {
        return Ok(report);
    }
    report.objects_with_new_data = report.objects;
    let quarantine = |object: String, line: u64, raw: &[u8], reason: String| QuarantineRow {
        reason,
        raw: quarantine_text(raw),
        provenance: run.provenance(name, &object, (line, 0), sha256_hex(raw)),
    };
    let text = String::from_utf8_lossy(&index_bytes);
    let (entries, problems) = match parse_index(&text) {
        Ok(parsed) => parsed,
        Err(reason) => (Vec::new(), vec![(0, reason)]),
    };
    for (line, reason) in problems {
        report.records += 1;
        report.quarantined += 1;
        sink.push_quarantine(writer, quarantine(index_shown.clone(), line, b"", reason)).await.map_err(lake_err)?;
    }
    let listed: BTreeSet<&str> = entries.iter().map(|e| e.file.as_str()).collect();
    for (file, (key, _)) in &contents {
        if !listed.contains(file.as_str()) {
            report.quarantined += 1;
            let reason = format!("{file} is not listed in {INDEX}, so no control, owner or date is known for it");
            sink.push_quarantine(writer, quarantine(location.shown(key), 0, b"", reason)).await.map_err(lake_err)?;
        }
    }
    for e in &entries {
        report.records += 1;
        let Some((key, bytes)) = contents.get(&e.file) else {
            report.quarantined += 1;
            let reason = format!("{INDEX} line {}: {} is listed but not in the folder", e.line, e.file);
            sink.push_quarantine(writer, quarantine(index_shown.clone(), e.line, b"", reason))
                .await
                .map_err(lake_err)?;
            continue;
        };
        let blob = writer.write_blob(bytes.clone(), run.simulated).await.map_err(lake_err)?;
        report.events += 1;
        sink.artefacts.documents.push(DocumentRow {
            blob,
            file: e.file.clone(),
            title: e.title.clone(),
            controls: e.controls.join("; "),
            owner: e.owner.clone(),
            date: e.date.clone(),
            sha256: sha256_hex(bytes),
            provenance: run.provenance(name, &location.shown(key), (e.line, 0), sha256_hex(bytes)),
        });
    }
    cursors.insert(
        index_shown,
        SourceCursor {
            offset: index_bytes.len() as u64,
            lines: 0,
            prefix_sha256: state,
            object_sha256: None,
            seen_ids: Vec::new(),
        },
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_checked_entry_by_entry() {
        let text = r#"
[[document]]
file = "review.pdf"
title = "Q3 access review"
controls = ["ACC-02"]
owner = "IT"
date = "2026-10-01"

[[document]]
file = "../etc/passwd"
title = "x"
controls = ["ACC-02"]
owner = "IT"
date = "2026-10-01"

[[document]]
file = "plan.md"
title = "IR plan"
controls = ["IR-01"]
owner = "CISO"
date = "1st of May"

[[document]]
file = "b.md"
title = "b"
controls = []
owner = "x"
date = "2026-01-01"

[[document]]
file = "c.md"
title = "c"
controls = ["IR-01"]
owner = "x"
date = "2026-01-01"
approved = true
"#;
        let (entries, problems) = parse_index(text).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!((entries[0].line, entries[0].file.as_str()), (2, "review.pdf"));
        let lines: Vec<u64> = problems.iter().map(|p| p.0).collect();
        assert_eq!(lines, [9, 16, 23, 30]);
        assert!(problems[0].1.contains("plain file name"), "{}", problems[0].1);
        assert!(problems[1].1.contains("\"1st of May\" is not a YYYY-MM-DD date"), "{}", problems[1].1);
        assert!(problems[2].1.contains("controls is empty"), "{}", problems[2].1);
        assert!(problems[3].1.contains("approved"), "{}", problems[3].1);
        assert!(parse_index("[[documnt]]\n").unwrap_err().contains("documnt"));
    }
}
