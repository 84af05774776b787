//! Source type `splunk-hec`: HTTP Event Collector batches, event objects back to back (optionally
//! newline separated).
//!
//! ```toml
//! [[source]]
//! name = "payments-hec"
//! type = "splunk-hec"
//! url  = "inputs/hec/"
//! event = "/event"    # the default
//! ```
//!
//! Kept beside the event: `time`; `index`, `host`, `source`, `sourcetype`, `fields`. Only complete
//! objects are read; a trailing partial one is left for the next run.

use cairn_evidence::digest::sha256_hex;
use cairn_evidence::lake::RunWriter;
use cairn_evidence::manifest::SourceCursor;
use cairn_evidence::tables::QuarantineRow;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::JsonlConfig;
use crate::error::CollectError;
use crate::listing::{cursor_of, pointer_of, Listing, ObjectContext};
use crate::record::{chain_event, pick, with_meta, Record};
use crate::run::{CollectRun, Cursors, SourceReport};
use crate::sink::RowSink;
use crate::source::newtype_source;

/// A `splunk-hec` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct SplunkHec(pub JsonlConfig);

newtype_source!(SplunkHec, "splunk-hec", collect_hec);

/// Where a HEC event object holds the event.
pub const SPLUNK_HEC_EVENT: &str = "/event";

/// One HEC event object.
pub(crate) fn hec_object(value: &Value, pointer: &str) -> Record {
    let mut meta = Map::new();
    pick(Some(value), &["index", "host", "source", "sourcetype", "fields"], &mut meta);
    with_meta(chain_event(value, None, pointer), value.get("time"), meta)
}

#[expect(clippy::naive_bytecount, reason = "records are small; a byte-counting crate is not worth its weight")]
fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

/// Collects Splunk HEC batches: event objects back to back, optionally newline separated. Only
/// complete objects are read; a trailing partial one is left for the next run. A stretch that
/// does not parse is kept aside up to the next line, and reading goes on from there.
async fn collect_hec(
    config: &JsonlConfig,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut Cursors,
) -> Result<SourceReport, CollectError> {
    let name = config.name.as_str();
    let pointer = pointer_of(config, SPLUNK_HEC_EVENT)?;
    let Listing { location, keys, mut report } = Listing::open(name, &config.url, run, "").await?;
    for key in keys {
        report.objects += 1;
        let ctx = ObjectContext { name, shown: location.shown(&key), run };
        let bytes = location.read(name, &key).await?;
        let cursor = cursor_of(cursors, &ctx.shown);
        let start = usize::try_from(cursor.offset).unwrap_or(usize::MAX);
        if bytes.len() < start || sha256_hex(&bytes[..start]) != cursor.prefix_sha256 {
            report.rewritten += 1;
            report.quarantined += 1;
            let row = QuarantineRow {
                reason: format!(
                    "source object changed after it was collected: its first {} bytes no longer match",
                    cursor.offset
                ),
                raw: String::new(),
                provenance: ctx.provenance(0, 0, b""),
            };
            sink.push_quarantine(writer, row)
                .await
                .map_err(|error| CollectError::Lake { source_name: name.into(), error })?;
            continue;
        }
        let mut at = start;
        let mut line = cursor.lines + 1;
        let mut consumed = start;
        loop {
            // Skip whitespace between objects, counting lines.
            while at < bytes.len() && bytes[at].is_ascii_whitespace() {
                if bytes[at] == b'\n' {
                    line += 1;
                }
                at += 1;
            }
            if at >= bytes.len() {
                consumed = at;
                break;
            }
            let mut stream = serde_json::Deserializer::from_slice(&bytes[at..]).into_iter::<Value>();
            match stream.next() {
                Some(Ok(value)) => {
                    let end = at + stream.byte_offset();
                    let raw = &bytes[at..end];
                    ctx.push(hec_object(&value, &pointer), (line, at as u64, raw), writer, sink, &mut report).await?;
                    line += newlines(raw);
                    at = end;
                    consumed = at;
                }
                // A partial object at the end: a writer may still be appending it.
                Some(Err(e)) if e.is_eof() => break,
                None => {
                    consumed = bytes.len();
                    break;
                }
                Some(Err(e)) => {
                    let stop = bytes[at..].iter().position(|b| *b == b'\n').map_or(bytes.len(), |i| at + i + 1);
                    let raw = &bytes[at..stop];
                    let record = Record::Bad(format!("not a JSON object: {e}"));
                    ctx.push(record, (line, at as u64, raw), writer, sink, &mut report).await?;
                    line += newlines(raw);
                    at = stop;
                    consumed = at;
                }
            }
        }
        if consumed > start {
            report.objects_with_new_data += 1;
        }
        cursors.insert(
            ctx.shown.clone(),
            SourceCursor {
                offset: consumed as u64,
                lines: newlines(&bytes[..consumed]),
                prefix_sha256: sha256_hex(&bytes[..consumed]),
                object_sha256: None,
                seen_ids: Vec::new(),
            },
        );
    }
    Ok(report)
}
