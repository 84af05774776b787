//! Source type `jsonl`: one JSON record per line, the audit event at a JSON pointer.
//!
//! ```toml
//! [[source]]
//! name = "payments"
//! type = "jsonl"
//! url  = "inputs/payments/"   # a file or a folder/prefix of many files
//! event = "/event"             # optional JSON pointer; default: the whole line
//! ```
//!
//! Only complete lines are read: a last line without its newline is left for the next run, since
//! a writer may still be appending it. A source object whose already-collected bytes changed is
//! not read again: that is reported and kept aside.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use cairn_evidence::digest::{sha256_hex, Sha256Stream};
use cairn_evidence::event::ChainFields;
use cairn_evidence::lake::RunWriter;
use cairn_evidence::manifest::SourceCursor;
use cairn_evidence::tables::{EventRow, Provenance, QuarantineRow};
use cairn_evidence::time::parse_rfc3339;
use chrono::{DateTime, Utc};
use object_store::memory::InMemory;
use serde::Deserialize;
use serde_json::Value;

use crate::sink::RowSink;
use crate::source::{CollectError, SourceLocation, SourceReport};

/// Configuration of a `jsonl` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonlConfig {
    /// Source name (unique in the configuration).
    pub name: String,
    /// A file, a folder, or a `file://` URL; relative paths resolve against the config file.
    pub url: String,
    /// JSON pointer to the audit event inside each record; empty or absent: the whole record.
    #[serde(default)]
    pub event: Option<String>,
}

/// What one run needs to know to collect.
pub struct CollectRun<'a> {
    /// The run's id.
    pub run_id: &'a str,
    /// The run's time.
    pub collected_at: DateTime<Utc>,
    /// Folder relative source paths resolve against.
    pub base: &'a Path,
    /// The in-memory store for `memory://` sources (tests).
    pub memory: Option<Arc<InMemory>>,
}

/// The longest raw record kept in the quarantine table.
const QUARANTINE_RAW_LIMIT: usize = 64 * 1024;

/// Outcome of reading one record.
pub(crate) enum Record {
    /// An audit event.
    Event(Box<ChainEventRecord>),
    /// A record that carries no event by design (a Splunk preview row, a message line): counted,
    /// not kept aside.
    Skip(&'static str),
    /// A record that should carry an event and does not.
    Bad(String),
}

/// An audit event read from a record, with the SIEM's metadata beside it.
pub(crate) struct ChainEventRecord {
    pub(crate) fields: ChainFields,
    pub(crate) json: String,
    pub(crate) siem_time: Option<String>,
    pub(crate) siem_meta: Option<String>,
}

impl ChainEventRecord {
    /// The `events` row of this record.
    pub(crate) fn into_row(self, provenance: Provenance) -> EventRow {
        let f = self.fields;
        EventRow {
            chain: f.chain,
            seq: f.seq,
            ts: f.ts,
            kid: f.kid,
            prev: f.prev,
            hash: f.hash,
            sig: f.sig,
            event_json: self.json,
            siem_time: self.siem_time,
            siem_meta: self.siem_meta,
            provenance,
        }
    }
}

/// The audit event at `pointer` inside a record (a string holding JSON is parsed; an empty
/// pointer is the whole record, whose text is `text`).
pub(crate) fn chain_event(value: &Value, text: Option<&str>, pointer: &str) -> Record {
    let (event, json) = if pointer.is_empty() {
        (value.clone(), text.map_or_else(|| value.to_string(), str::to_string))
    } else {
        match value.pointer(pointer) {
            None => return Record::Bad(format!("no value at JSON pointer {pointer}")),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(v) => (v, s.clone()),
                Err(e) => return Record::Bad(format!("the string at {pointer} is not JSON: {e}")),
            },
            Some(v) => (v.clone(), v.to_string()),
        }
    };
    let fields = match ChainFields::from_value(&event) {
        Ok(f) => f,
        Err(e) => return Record::Bad(format!("not a chain event: {e}")),
    };
    if parse_rfc3339(&fields.ts).is_none() {
        return Record::Bad(format!("not a chain event: member `ts` = {:?} is not an RFC 3339 time", fields.ts));
    }
    Record::Event(Box::new(ChainEventRecord { fields, json, siem_time: None, siem_meta: None }))
}

/// Extracts the chain event from one line, or says why it cannot.
fn parse_record(line: &str, pointer: &str) -> Record {
    match serde_json::from_str::<Value>(line) {
        Ok(value) => chain_event(&value, Some(line), pointer),
        Err(e) => Record::Bad(format!("not JSON: {e}")),
    }
}

/// How the lines of a line-based source are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineFormat {
    /// One JSON record per line.
    Jsonl,
    /// Splunk `search/jobs/export?output_mode=json` output.
    SplunkExport,
    /// Azure Monitor (Sentinel) data export blobs.
    SentinelExport,
}

impl LineFormat {
    fn parse(self, line: &str, pointer: &str, object: &str) -> Record {
        match self {
            Self::Jsonl => parse_record(line, pointer),
            Self::SplunkExport => crate::siem::splunk_export_line(line, pointer),
            Self::SentinelExport => crate::siem::sentinel_line(line, pointer, object),
        }
    }
}

/// Collects new lines of every object of the source.
pub async fn collect(
    format: LineFormat,
    config: &JsonlConfig,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut BTreeMap<String, SourceCursor>,
) -> Result<SourceReport, CollectError> {
    let name = config.name.as_str();
    let pointer = config.event.as_deref().unwrap_or(match format {
        LineFormat::SplunkExport => crate::siem::SPLUNK_EXPORT_EVENT,
        LineFormat::Jsonl | LineFormat::SentinelExport => "",
    });
    if format == LineFormat::SentinelExport && pointer.is_empty() {
        return Err(CollectError::Location {
            source_name: name.into(),
            detail: "a sentinel-export source needs `event`: the JSON pointer of the column holding the audit event"
                .into(),
        });
    }
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(CollectError::Location {
            source_name: name.into(),
            detail: format!("event = {pointer:?} is not a JSON pointer (it must start with `/`)"),
        });
    }
    let location = SourceLocation::resolve(name, &config.url, run.base, run.memory.clone())?;
    let keys = location.keys(name).await?;
    let mut report = SourceReport { name: name.into(), ..SourceReport::default() };
    for key in keys {
        report.objects += 1;
        let shown = location.shown(&key);
        let bytes: Bytes = location.read(name, &key).await?;
        let cursor = cursors.get(&shown).cloned().unwrap_or(SourceCursor {
            offset: 0,
            lines: 0,
            prefix_sha256: sha256_hex(b""),
            object_sha256: None,
        });
        let start = usize::try_from(cursor.offset).unwrap_or(usize::MAX);
        let provenance = |line: u64, offset: u64, raw: &[u8]| Provenance {
            source: name.to_string(),
            object_key: shown.clone(),
            line,
            byte_offset: offset,
            record_sha256: sha256_hex(raw),
            run_id: run.run_id.to_string(),
            collected_at: run.collected_at,
        };
        // The part collected before must be unchanged; otherwise evidence was rewritten at the source.
        if bytes.len() < start || sha256_hex(&bytes[..start]) != cursor.prefix_sha256 {
            report.rewritten += 1;
            report.quarantined += 1;
            tracing::warn!(source = name, object = %shown, "source object changed after it was collected; not re-reading it");
            let row = QuarantineRow {
                reason: format!(
                    "source object changed after it was collected: its first {} bytes ({} lines) no longer match",
                    cursor.offset, cursor.lines
                ),
                raw: String::new(),
                provenance: provenance(0, 0, b""),
            };
            sink.push_quarantine(writer, row)
                .await
                .map_err(|error| CollectError::Lake { source_name: name.into(), error })?;
            continue;
        }
        // Only complete lines.
        let end = bytes[start..].iter().rposition(|b| *b == b'\n').map_or(start, |i| start + i + 1);
        if end == start {
            continue;
        }
        report.objects_with_new_data += 1;
        let mut prefix = Sha256Stream::new();
        prefix.update(&bytes[..end]);
        let mut line_no = cursor.lines;
        let mut offset = start;
        for raw_line in bytes[start..end].split_inclusive(|b| *b == b'\n') {
            line_no += 1;
            let line_offset = offset as u64;
            offset += raw_line.len();
            let raw = raw_line.strip_suffix(b"\n").unwrap_or(raw_line);
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            // A UTF-8 byte-order mark opens some exports (Splunk's among them).
            let raw = if line_offset == 0 { raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw) } else { raw };
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            report.records += 1;
            let record = match std::str::from_utf8(raw) {
                Ok(text) => format.parse(text, pointer, &shown),
                Err(e) => Record::Bad(format!("not UTF-8: {e}")),
            };
            let push = match record {
                Record::Event(ev) => {
                    report.events += 1;
                    sink.push_event(writer, ev.into_row(provenance(line_no, line_offset, raw))).await
                }
                Record::Skip(_) => Ok(()),
                Record::Bad(reason) => {
                    report.quarantined += 1;
                    tracing::debug!(source = name, object = %shown, line = line_no, %reason, "record kept aside");
                    let text = String::from_utf8_lossy(&raw[..raw.len().min(QUARANTINE_RAW_LIMIT)]).into_owned();
                    let row = QuarantineRow { reason, raw: text, provenance: provenance(line_no, line_offset, raw) };
                    sink.push_quarantine(writer, row).await
                }
            };
            push.map_err(|error| CollectError::Lake { source_name: name.into(), error })?;
        }
        cursors.insert(
            shown,
            SourceCursor {
                offset: end as u64,
                lines: line_no,
                prefix_sha256: prefix.finish().to_hex(),
                object_sha256: None,
            },
        );
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_judged_with_reasons() {
        let good = r#"{"chain":"c","seq":0,"ts":"2026-01-01T00:00:00Z","kid":"k","prev":"0000000000000000000000000000000000000000000000000000000000000000","hash":"1111111111111111111111111111111111111111111111111111111111111111","sig":"x"}"#;
        assert!(matches!(parse_record(good, ""), Record::Event(_)));
        let wrapped = format!(r#"{{"host":"h","event":{}}}"#, serde_json::to_string(good).unwrap());
        assert!(matches!(parse_record(&wrapped, "/event"), Record::Event(_)));
        let nested = format!(r#"{{"host":"h","event":{good}}}"#);
        assert!(matches!(parse_record(&nested, "/event"), Record::Event(_)));
        let reason = |r: Record| match r {
            Record::Bad(why) => why,
            Record::Event(_) | Record::Skip(_) => panic!("expected a bad record"),
        };
        assert!(reason(parse_record("{oops", "")).starts_with("not JSON"));
        assert_eq!(reason(parse_record(&nested, "/evt")), "no value at JSON pointer /evt");
        assert_eq!(reason(parse_record(r#"{"chain":"c"}"#, "")), "not a chain event: missing member `seq`");
        let bad_ts = good.replace("2026-01-01T00:00:00Z", "yesterday");
        assert!(reason(parse_record(&bad_ts, "")).contains("RFC 3339"));
    }
}
