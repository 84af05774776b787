//! Source type `datadog-archive`: Datadog log archives `dt=YYYYMMDD/hour=HH/archive_*.json.gz` (or
//! `.json.zst`), JSON lines decompressed as a stream.
//!
//! ```toml
//! [[source]]
//! name = "payments-dd-archive"
//! type = "datadog-archive"
//! url  = "s3://dd-archives/payments/"
//! event = "/attributes"    # the default
//! ```
//!
//! Kept beside the event: `date`; `_id`, `host`, `service`, `source`, `status`, `tags`. An archive
//! Datadog rewrote after it was collected is read on when its start is unchanged, else again from
//! the start (kept aside as `rewritten`); a log whose `_id` was already read in the same run is not
//! collected twice.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};

use cairn_evidence::digest::{sha256_hex, Sha256Stream};
use cairn_evidence::lake::RunWriter;
use cairn_evidence::manifest::SourceCursor;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::JsonlConfig;
use crate::error::CollectError;
use crate::listing::{cursor_of, pointer_of, Listing, ObjectContext};
use crate::record::{chain_event, pick, with_meta, Record};
use crate::run::{CollectRun, Cursors, SourceReport};
use crate::sink::RowSink;
use crate::source::newtype_source;

/// A `datadog-archive` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct DatadogArchive(pub JsonlConfig);

newtype_source!(DatadogArchive, "datadog-archive", collect_datadog);

/// Where a Datadog archived log holds its parsed attributes.
pub const DATADOG_EVENT: &str = "/attributes";

/// One Datadog archived log.
pub(crate) fn datadog_line(value: &Value, pointer: &str) -> Record {
    let mut meta = Map::new();
    pick(Some(value), &["_id", "host", "service", "source", "status", "tags"], &mut meta);
    with_meta(chain_event(value, None, pointer), value.get("date"), meta)
}

/// The longest line read from a compressed archive; a longer one is kept aside unread, so one
/// huge line cannot exhaust memory.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// Reads the next line (without its newline) into `buf`, at most `max` bytes: `Ok(None)` at the
/// end, `Ok(Some(false))` for a line too long (skipped to its end), `Ok(Some(true))` otherwise.
/// The returned count is the bytes consumed, newline included; `complete` says whether the line
/// ended with a newline.
fn read_bounded_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<(bool, usize, bool)>> {
    buf.clear();
    let mut consumed = 0;
    let mut fits = true;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok((consumed > 0).then_some((fits, consumed, false)));
        }
        let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if fits {
            if buf.len() + take > max + 1 {
                fits = false;
                buf.clear();
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        reader.consume(take);
        consumed += take;
        if done {
            if buf.last() == Some(&b'\n') {
                buf.pop();
            }
            return Ok(Some((fits, consumed, true)));
        }
    }
}

/// One line of a Datadog archive; an `_id` already collected in this run is not collected again.
fn archived_record(line: &[u8], pointer: &str, ids: &mut HashSet<String>) -> Record {
    let text = match std::str::from_utf8(line) {
        Ok(t) => t,
        Err(e) => return Record::Bad(format!("not UTF-8: {e}")),
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return Record::Bad(format!("not JSON: {e}")),
    };
    if let Some(id) = value.get("_id").and_then(Value::as_str) {
        if !ids.insert(id.to_string()) {
            return Record::Skip("an `_id` already collected in this run");
        }
    }
    datadog_line(&value, pointer)
}

/// A streaming decoder for an archive, by its extension (`.gz`, `.zst`, or plain).
fn decompress<'a>(key: &str, bytes: &'a [u8]) -> Result<Box<dyn Read + 'a>, String> {
    let extension = key.rsplit('.').next().unwrap_or_default().to_ascii_lowercase();
    if extension == "gz" {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(bytes)))
    } else if extension == "zst" {
        ruzstd::decoding::StreamingDecoder::new(bytes)
            .map(|d| Box::new(d) as Box<dyn Read>)
            .map_err(|e| format!("not a zstd archive: {e}"))
    } else {
        Ok(Box::new(bytes))
    }
}

/// Collects Datadog log archives: gzip (`.json.gz`) or zstd (`.json.zst`) JSON lines, read as a
/// stream. An archive Datadog rewrote after it was collected (it may, after a timeout) is read on
/// from where collection stopped when its start is unchanged; records already collected in this
/// run (the same `_id`) are not collected twice.
async fn collect_datadog(
    config: &JsonlConfig,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut Cursors,
) -> Result<SourceReport, CollectError> {
    let name = config.name.as_str();
    let pointer = pointer_of(config, DATADOG_EVENT)?;
    let Listing { location, keys, mut report } = Listing::open(name, &config.url, run, "").await?;
    let mut ids: HashSet<String> = HashSet::new();
    for key in keys {
        report.objects += 1;
        let ctx = ObjectContext { name, shown: location.shown(&key), run };
        let bytes = location.read(name, &key).await?;
        let digest = sha256_hex(&bytes);
        let cursor = cursor_of(cursors, &ctx.shown);
        if cursor.object_sha256.as_deref() == Some(digest.as_str()) {
            continue;
        }
        let lower = ctx.shown.to_ascii_lowercase();
        let decoder = match decompress(&lower, &bytes) {
            Ok(d) => d,
            Err(why) => {
                ctx.push(Record::Bad(why), (0, 0, b""), writer, sink, &mut report).await?;
                cursors.insert(ctx.shown.clone(), SourceCursor { object_sha256: Some(digest), ..cursor });
                continue;
            }
        };
        let mut reader = BufReader::with_capacity(256 * 1024, decoder);
        // Re-read the part collected before: it must be unchanged.
        let mut prefix = Sha256Stream::new();
        let mut offset = 0u64;
        let mut line = 0u64;
        let mut buf = Vec::new();
        while offset < cursor.offset {
            match read_bounded_line(&mut reader, &mut buf, MAX_LINE) {
                Ok(Some((_, n, true))) => {
                    prefix.update(&buf);
                    prefix.update(b"\n");
                    offset += n as u64;
                    line += 1;
                }
                _ => break,
            }
        }
        let rewritten = cursor.offset > 0
            && (offset != cursor.offset
                || line != cursor.lines
                || prefix.clone().finish().to_hex() != cursor.prefix_sha256);
        if rewritten {
            // Datadog replaced the archive with different content: read it again from the start;
            // records collected before show as duplicate deliveries in verify.
            report.rewritten += 1;
            let record = Record::Bad(format!(
                "archive rewritten after {} of its lines were collected: read again from the start",
                cursor.lines
            ));
            ctx.push(record, (0, 0, b""), writer, sink, &mut report).await?;
            prefix = Sha256Stream::new();
            offset = 0;
            line = 0;
            reader = BufReader::with_capacity(
                256 * 1024,
                decompress(&lower, &bytes).unwrap_or_else(|_| Box::new(std::io::empty())),
            );
        }
        let before = report.records;
        loop {
            match read_bounded_line(&mut reader, &mut buf, MAX_LINE) {
                // The end, or the last line of a cut-off stream: not a whole record.
                Ok(None | Some((_, _, false))) => break,
                Ok(Some((fits, n, true))) => {
                    line += 1;
                    let at = offset;
                    offset += n as u64;
                    prefix.update(&buf);
                    prefix.update(b"\n");
                    if buf.iter().all(u8::is_ascii_whitespace) && fits {
                        continue;
                    }
                    let record = if fits {
                        archived_record(&buf, &pointer, &mut ids)
                    } else {
                        Record::Bad(format!("line longer than {} MiB: not read", MAX_LINE / (1024 * 1024)))
                    };
                    ctx.push(record, (line, at, &buf), writer, sink, &mut report).await?;
                }
                Err(e) => {
                    let record = Record::Bad(format!("the archive is cut off or corrupt after line {line}: {e}"));
                    ctx.push(record, (line + 1, offset, b""), writer, sink, &mut report).await?;
                    break;
                }
            }
        }
        if report.records > before {
            report.objects_with_new_data += 1;
        }
        cursors.insert(
            ctx.shown.clone(),
            SourceCursor {
                offset,
                lines: line,
                prefix_sha256: prefix.finish().to_hex(),
                object_sha256: Some(digest),
                seen_ids: Vec::new(),
            },
        );
    }
    Ok(report)
}
