//! SIEM shapes: where the audit event sits in each SIEM's records, and which of the SIEM's own
//! metadata is kept beside it.
//!
//! | type | records | event (default) | metadata kept |
//! | --- | --- | --- | --- |
//! | `splunk-export` | JSON lines of `search/jobs/export?output_mode=json`; only `preview:false` rows | `/result/_raw` | `_time`; `index`, `host`, `source`, `sourcetype`, `splunk_server` |
//! | `splunk-results` | `search/jobs/{sid}/results?output_mode=json` pages: `{"results":[…],"messages":[…],"init_offset":n}` | `/_raw` | `_time`; `index`, `host`, `source`, `sourcetype`, `splunk_server` |
//! | `splunk-hec` | HEC event objects back to back (optionally newline separated) | `/event` | `time`; `index`, `host`, `source`, `sourcetype`, `fields` |
//! | `sentinel-export` | JSON lines of Azure Monitor data export blobs (`am-<Table>/…/PT05M.json`) | required | `TimeGenerated`; `Type`, `TenantId`, `_ResourceId`, the table (from `am-<Table>`) |
//! | `datadog-archive` | gzip (or zstd) JSON lines in `dt=YYYYMMDD/hour=HH/archive_*.json.gz` | `/attributes` | `date`; `_id`, `host`, `service`, `source`, `status`, `tags` |

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read};

use cairn_evidence::digest::{sha256_hex, Sha256Stream};
use cairn_evidence::lake::RunWriter;
use cairn_evidence::manifest::SourceCursor;
use cairn_evidence::tables::{Provenance, QuarantineRow};
use serde_json::{Map, Value};

use crate::jsonl::{chain_event, CollectRun, JsonlConfig, Record};
use crate::sink::RowSink;
use crate::source::{CollectError, SourceLocation, SourceReport};

/// Where a Splunk export row holds the original event text.
pub const SPLUNK_EXPORT_EVENT: &str = "/result/_raw";
/// Where a Splunk results row holds the original event text.
pub const SPLUNK_RESULTS_EVENT: &str = "/_raw";
/// Where a HEC event object holds the event.
pub const SPLUNK_HEC_EVENT: &str = "/event";
/// Where a Datadog archived log holds its parsed attributes.
pub const DATADOG_EVENT: &str = "/attributes";

/// Copies the named members of `from` into a metadata object (absent ones are left out).
fn pick(from: Option<&Value>, keys: &[&str], into: &mut Map<String, Value>) {
    let Some(Value::Object(o)) = from else { return };
    for k in keys {
        if let Some(v) = o.get(*k) {
            into.insert((*k).to_string(), v.clone());
        }
    }
}

fn with_meta(record: Record, time: Option<&Value>, meta: Map<String, Value>) -> Record {
    match record {
        Record::Event(mut ev) => {
            ev.siem_time = time.map(|t| t.as_str().map_or_else(|| t.to_string(), str::to_string));
            ev.siem_meta = (!meta.is_empty()).then(|| Value::Object(meta).to_string());
            Record::Event(ev)
        }
        other => other,
    }
}

/// One line of Splunk export output. Preview rounds, message lines and the closing `lastrow`
/// line carry no event.
pub(crate) fn splunk_export_line(line: &str, pointer: &str) -> Record {
    let value: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return Record::Bad(format!("not JSON: {e}")),
    };
    let Some(result) = value.get("result") else {
        if let Some(Value::Array(messages)) = value.get("messages") {
            for m in messages {
                let level = m.get("type").and_then(Value::as_str).unwrap_or("INFO");
                let text = m.get("text").and_then(Value::as_str).unwrap_or_default();
                if level == "ERROR" || level == "WARN" {
                    tracing::warn!(level, text, "Splunk reported a message in the export");
                }
            }
            return Record::Skip("message");
        }
        if value.get("lastrow").is_some() || value.get("preview").is_some() {
            return Record::Skip("end of results");
        }
        return Record::Bad("not a Splunk export row: no `result`, `messages` or `lastrow`".into());
    };
    if value.get("preview").and_then(Value::as_bool) == Some(true) {
        return Record::Skip("preview round");
    }
    let mut meta = Map::new();
    pick(Some(result), &["index", "host", "source", "sourcetype", "splunk_server"], &mut meta);
    with_meta(chain_event(&value, None, pointer), result.get("_time"), meta)
}

/// A Splunk `_time`: ISO 8601 with milliseconds and an offset written `-08:00` or `+0100`.
pub fn parse_splunk_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .or_else(|_| chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The final-round result rows of a whole Splunk export (what a search returned), in order.
pub fn splunk_export_results(text: &str) -> Result<Vec<Value>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", i + 1))?;
        if v.get("preview").and_then(Value::as_bool) == Some(false) {
            if let Some(r) = v.get("result") {
                out.push(r.clone());
            }
        }
    }
    Ok(out)
}

/// One line of an Azure Monitor data export blob. `object` is the blob's key, whose
/// `am-<Table>` container names the table.
pub(crate) fn sentinel_line(line: &str, pointer: &str, object: &str) -> Record {
    let value: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return Record::Bad(format!("not JSON: {e}")),
    };
    let mut meta = Map::new();
    pick(Some(&value), &["Type", "TenantId", "_ResourceId"], &mut meta);
    if let Some(table) = object.split('/').find_map(|p| p.strip_prefix("am-")) {
        meta.insert("table".into(), Value::String(table.to_string()));
    }
    with_meta(chain_event(&value, None, pointer), value.get("TimeGenerated"), meta)
}

/// One row of a Splunk results page.
pub(crate) fn splunk_result_row(row: &Value, pointer: &str) -> Record {
    let mut meta = Map::new();
    pick(Some(row), &["index", "host", "source", "sourcetype", "splunk_server"], &mut meta);
    with_meta(chain_event(row, None, pointer), row.get("_time"), meta)
}

/// Collects Splunk results pages (one response per file). A page is read whole once; a page
/// that changes is read again (its events then show as duplicates in verify) and noted.
pub async fn collect_splunk_results(
    config: &JsonlConfig,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut BTreeMap<String, SourceCursor>,
) -> Result<SourceReport, CollectError> {
    let name = config.name.as_str();
    let pointer = pointer_of(config, SPLUNK_RESULTS_EVENT)?;
    let location = SourceLocation::resolve(name, &config.url, run.base, run.memory.clone())?;
    let mut report = SourceReport { name: name.into(), ..SourceReport::default() };
    for key in location.keys(name).await? {
        report.objects += 1;
        let ctx = ObjectContext { name, shown: location.shown(&key), run };
        let bytes = location.read(name, &key).await?;
        let digest = sha256_hex(&bytes);
        let previous = cursors.get(&ctx.shown).and_then(|c| c.object_sha256.clone());
        if previous.as_deref() == Some(digest.as_str()) {
            continue;
        }
        report.objects_with_new_data += 1;
        if previous.is_some() {
            report.rewritten += 1;
            let note = Record::Bad("results page changed after it was collected: read again".into());
            ctx.push(note, (0, 0, b""), writer, sink, &mut report).await?;
        }
        let text = std::str::from_utf8(&bytes).map(|t| t.trim_start_matches('\u{feff}'));
        let page = text
            .map_err(|e| format!("not UTF-8: {e}"))
            .and_then(|t| serde_json::from_str::<Value>(t).map_err(|e| format!("not a Splunk results page: {e}")));
        match page {
            Err(why) => ctx.push(Record::Bad(why), (1, 0, &bytes), writer, sink, &mut report).await?,
            Ok(page) => {
                for m in page.get("messages").and_then(Value::as_array).into_iter().flatten() {
                    if m.get("type").and_then(Value::as_str).is_some_and(|t| t == "ERROR" || t == "FATAL") {
                        tracing::warn!(source = name, object = %ctx.shown, message = %m, "Splunk reported an error in a results page");
                    }
                }
                let Some(rows) = page.get("results").and_then(Value::as_array) else {
                    let why = Record::Bad("not a Splunk results page: no `results` array".into());
                    ctx.push(why, (1, 0, &bytes), writer, sink, &mut report).await?;
                    cursors.insert(
                        ctx.shown.clone(),
                        SourceCursor { object_sha256: Some(digest), ..SourceCursor::start() },
                    );
                    continue;
                };
                let first = page.get("init_offset").and_then(Value::as_u64).unwrap_or(0);
                for (i, row) in rows.iter().enumerate() {
                    let raw = row.to_string();
                    // Each row is placed by its result offset; `line` counts rows from 1.
                    let at = (i as u64 + 1, first + i as u64, raw.as_bytes());
                    ctx.push(splunk_result_row(row, &pointer), at, writer, sink, &mut report).await?;
                }
            }
        }
        cursors.insert(ctx.shown.clone(), SourceCursor { object_sha256: Some(digest), ..SourceCursor::start() });
    }
    Ok(report)
}

/// One HEC event object.
pub(crate) fn hec_object(value: &Value, pointer: &str) -> Record {
    let mut meta = Map::new();
    pick(Some(value), &["index", "host", "source", "sourcetype", "fields"], &mut meta);
    with_meta(chain_event(value, None, pointer), value.get("time"), meta)
}

/// One Datadog archived log.
pub(crate) fn datadog_line(value: &Value, pointer: &str) -> Record {
    let mut meta = Map::new();
    pick(Some(value), &["_id", "host", "service", "source", "status", "tags"], &mut meta);
    with_meta(chain_event(value, None, pointer), value.get("date"), meta)
}

/// The longest line read from a compressed archive; a longer one is kept aside unread, so one
/// huge line cannot exhaust memory.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// What every record of one source object shares: where it came from, and where it goes.
struct ObjectContext<'a> {
    name: &'a str,
    shown: String,
    run: &'a CollectRun<'a>,
}

impl ObjectContext<'_> {
    fn provenance(&self, line: u64, offset: u64, raw: &[u8]) -> Provenance {
        self.run.provenance(self.name, &self.shown, (line, offset), sha256_hex(raw))
    }

    /// Pushes one record's outcome into the sink, counting it.
    async fn push(
        &self,
        record: Record,
        (line, offset, raw): (u64, u64, &[u8]),
        writer: &mut RunWriter<'_>,
        sink: &mut RowSink,
        report: &mut SourceReport,
    ) -> Result<(), CollectError> {
        report.records += 1;
        sink.push_record(writer, self.name, report, (record, self.provenance(line, offset, raw), raw)).await
    }
}

fn pointer_of(config: &JsonlConfig, default: &str) -> Result<String, CollectError> {
    let pointer = config.event.clone().unwrap_or_else(|| default.to_string());
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(CollectError::Location {
            source_name: config.name.clone(),
            detail: format!("event = {pointer:?} is not a JSON pointer (it must start with `/`)"),
        });
    }
    Ok(pointer)
}

#[expect(clippy::naive_bytecount, reason = "records are small; a byte-counting crate is not worth its weight")]
fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

/// Collects Splunk HEC batches: event objects back to back, optionally newline separated. Only
/// complete objects are read; a trailing partial one is left for the next run. A stretch that
/// does not parse is kept aside up to the next line, and reading goes on from there.
pub async fn collect_hec(
    config: &JsonlConfig,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut BTreeMap<String, SourceCursor>,
) -> Result<SourceReport, CollectError> {
    let name = config.name.as_str();
    let pointer = pointer_of(config, SPLUNK_HEC_EVENT)?;
    let location = SourceLocation::resolve(name, &config.url, run.base, run.memory.clone())?;
    let mut report = SourceReport { name: name.into(), ..SourceReport::default() };
    for key in location.keys(name).await? {
        report.objects += 1;
        let ctx = ObjectContext { name, shown: location.shown(&key), run };
        let bytes = location.read(name, &key).await?;
        let cursor = cursors.get(&ctx.shown).cloned().unwrap_or_else(SourceCursor::start);
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
pub async fn collect_datadog(
    config: &JsonlConfig,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut BTreeMap<String, SourceCursor>,
) -> Result<SourceReport, CollectError> {
    let name = config.name.as_str();
    let pointer = pointer_of(config, DATADOG_EVENT)?;
    let location = SourceLocation::resolve(name, &config.url, run.base, run.memory.clone())?;
    let mut report = SourceReport { name: name.into(), ..SourceReport::default() };
    let mut ids: HashSet<String> = HashSet::new();
    for key in location.keys(name).await? {
        report.objects += 1;
        let ctx = ObjectContext { name, shown: location.shown(&key), run };
        let bytes = location.read(name, &key).await?;
        let digest = sha256_hex(&bytes);
        let cursor = cursors.get(&ctx.shown).cloned().unwrap_or_else(SourceCursor::start);
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

#[cfg(test)]
mod tests {
    use super::*;

    const EXPORT: &str = include_str!("../../fixtures/siem/splunk-search-jobs-export-output_mode-json.jsonl");

    #[test]
    fn the_real_splunk_export_keeps_only_its_final_round() {
        assert!(EXPORT.starts_with('\u{feff}'), "the captured file opens with a byte-order mark");
        let rows = splunk_export_results(EXPORT).unwrap();
        let got: Vec<(&str, &str)> =
            rows.iter().map(|r| (r["host"].as_str().unwrap(), r["count"].as_str().unwrap())).collect();
        assert_eq!(got.len(), 5);
        assert_eq!(got[0], ("172.16.35.130", "16"));
        assert_eq!(got[4], ("three.four.com", "35994"));
        // Every preview row is skipped; final rows without `_raw` are not audit events.
        let mut skipped = 0;
        let mut bad = Vec::new();
        for line in EXPORT.trim_start_matches('\u{feff}').lines() {
            match splunk_export_line(line, SPLUNK_EXPORT_EVENT) {
                Record::Skip(_) => skipped += 1,
                Record::Bad(why) => bad.push(why),
                Record::Event(_) => panic!("a stats row is not an event"),
            }
        }
        assert_eq!((skipped, bad.len()), (64, 5));
        assert_eq!(bad[0], "no value at JSON pointer /result/_raw");
    }

    #[test]
    fn metadata_is_kept_beside_the_event() {
        let event = r#"{"chain":"c","seq":0,"ts":"2026-01-01T00:00:00Z","kid":"k","prev":"0000000000000000000000000000000000000000000000000000000000000000","hash":"1111111111111111111111111111111111111111111111111111111111111111","sig":"x"}"#;
        let line = serde_json::json!({"preview": false, "offset": 0, "result": {
            "_raw": event, "_time": "2026-01-01T01:00:00.000+0100", "host": "h1", "index": "audit",
            "sourcetype": "cairn:audit", "_si": ["idx", "audit"]}})
        .to_string();
        let Record::Event(ev) = splunk_export_line(&line, SPLUNK_EXPORT_EVENT) else { panic!("no event") };
        assert_eq!(ev.json, event, "the event text is kept exactly as indexed");
        assert_eq!(ev.siem_time.as_deref(), Some("2026-01-01T01:00:00.000+0100"));
        let utc = parse_splunk_time("2026-01-01T01:00:00.000+0100").unwrap();
        assert_eq!(utc, parse_splunk_time("2025-12-31T16:00:00.000-08:00").unwrap());
        let meta: Value = serde_json::from_str(ev.siem_meta.as_deref().unwrap()).unwrap();
        assert_eq!(meta, serde_json::json!({"host": "h1", "index": "audit", "sourcetype": "cairn:audit"}));
        let preview = line.replace("\"preview\":false", "\"preview\":true");
        assert!(matches!(splunk_export_line(&preview, SPLUNK_EXPORT_EVENT), Record::Skip(_)));
        let sentinel =
            serde_json::json!({"TimeGenerated": "2026-01-01T00:00:00Z", "Type": "AuditLogs_CL", "AuditEvent": event})
                .to_string();
        let Record::Event(ev) =
            sentinel_line(&sentinel, "/AuditEvent", "am-auditlogs_cl/WorkspaceResourceId=/x/PT05M.json")
        else {
            panic!("no event")
        };
        let meta: Value = serde_json::from_str(ev.siem_meta.as_deref().unwrap()).unwrap();
        assert_eq!(meta["table"], "auditlogs_cl");
        assert_eq!(ev.siem_time.as_deref(), Some("2026-01-01T00:00:00Z"));
    }
}
