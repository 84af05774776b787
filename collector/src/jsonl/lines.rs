//! The line-block machinery every line-based source shares (`jsonl`, `splunk-export`,
//! `sentinel-export`): each source object is read as a stream, its new complete lines parsed a
//! block at a time on every core, and their rows pushed in order. A source type brings only its
//! [`LineFormat`]: how one line becomes a record.
//!
//! Only complete lines are read: a last line without its newline is left for the next run, since
//! a writer may still be appending it. A source object whose already-collected bytes changed is
//! not read again: that is reported and kept aside.

use cairn_evidence::digest::{is_sha256_hex, sha256_hex, Sha256Digest, Sha256Stream};
use cairn_evidence::event::ChainFields;
use cairn_evidence::lake::RunWriter;
use cairn_evidence::manifest::SourceCursor;
use cairn_evidence::tables::{EventView, Provenance, QuarantineRow};
use cairn_evidence::time::parse_rfc3339;
use futures::TryStreamExt as _;
use object_store::GetResultPayload;
use rayon::prelude::*;
use serde::Deserialize;

use crate::config::JsonlConfig;
use crate::error::CollectError;
use crate::listing::{cursor_of, Listing};
use crate::record::{ChainEventRecord, Record};
use crate::run::{CollectRun, Cursors, SourceReport};
use crate::sink::RowSink;

/// The chain fields of a line that is itself the event, read without building the whole JSON
/// tree (the other members are skipped, not stored): the common case, and the fast one.
#[derive(Deserialize)]
struct BorrowedFields<'a> {
    #[serde(borrow)]
    chain: std::borrow::Cow<'a, str>,
    seq: u64,
    #[serde(borrow)]
    ts: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    kid: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    prev: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    hash: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    sig: std::borrow::Cow<'a, str>,
    /// Present when the event carries disclosures: those go the general path, which takes them
    /// out of the stored text.
    #[serde(rename = "_disclosures", default)]
    disclosures: Option<serde::de::IgnoredAny>,
}

/// The chain fields of a whole-line event, borrowed from the line; `None` sends the line down
/// the general path, which also words the reason when the line is bad.
fn fast_fields(line: &str) -> Option<BorrowedFields<'_>> {
    let f: BorrowedFields = serde_json::from_str(line).ok()?;
    if f.disclosures.is_some()
        || f.chain.is_empty()
        || !is_sha256_hex(&f.prev)
        || !is_sha256_hex(&f.hash)
        || parse_rfc3339(&f.ts).is_none()
    {
        return None;
    }
    Some(f)
}

/// The fast path of `jsonl` line parsing for a whole-line event.
pub(crate) fn fast_event(line: &str) -> Option<Record> {
    let f = fast_fields(line)?;
    let fields = ChainFields {
        chain: f.chain.into_owned(),
        seq: f.seq,
        ts: f.ts.into_owned(),
        kid: f.kid.into_owned(),
        prev: f.prev.into_owned(),
        hash: f.hash.into_owned(),
        sig: f.sig.into_owned(),
    };
    Some(Record::Event(Box::new(ChainEventRecord::new(fields, line.to_string()))))
}

/// One line as the parallel stage leaves it.
enum Parsed<'a> {
    /// A whole-line event (the line, its fields): its row is filled straight from the block.
    Event(&'a str, BorrowedFields<'a>),
    /// Anything else, judged by the general path.
    Other(Record),
}

/// Parses lines (with their numbers and offsets) on every core, each with the SHA-256 of its
/// raw bytes.
fn parse_lines<'a>(
    lines: &[(u64, u64, &'a [u8])],
    format: LineFormat,
    pointer: &str,
    shown: &str,
) -> Vec<(Parsed<'a>, Sha256Digest)> {
    let whole_line = format.whole_line_events && pointer.is_empty();
    lines
        .par_iter()
        .map(|&(_, _, raw)| {
            let parsed = match std::str::from_utf8(raw) {
                Ok(text) => match whole_line.then(|| fast_fields(text)).flatten() {
                    Some(fields) => Parsed::Event(text, fields),
                    None => Parsed::Other((format.parse)(text, pointer, shown)),
                },
                Err(e) => Parsed::Other(Record::Bad(format!("not UTF-8: {e}"))),
            };
            (parsed, Sha256Digest::of(raw))
        })
        .collect()
}

/// How the lines of a line-based source are read: what each source type brings to the
/// machinery.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LineFormat {
    /// The event pointer when the source sets no `event`.
    pub(crate) default_event: &'static str,
    /// Why a source of this type must set `event` to a JSON pointer, when it must.
    pub(crate) event_required: Option<&'static str>,
    /// Whether a line that is itself the event (no pointer) takes the fast path: its row filled
    /// straight from the block.
    pub(crate) whole_line_events: bool,
    /// Reads one line: its text, the event pointer, and the object as shown in provenance.
    pub(crate) parse: fn(&str, &str, &str) -> Record,
}

/// Bytes of complete lines parsed together, in parallel.
const BLOCK_BYTES: usize = 4 * 1024 * 1024;

/// Reads one source object as a stream of chunks: re-hashes the part collected before, then
/// parses the new complete lines a block at a time, in parallel, and pushes their rows in order.
/// Memory holds one block, whatever the object's size.
struct ObjectLines<'a> {
    name: &'a str,
    shown: &'a str,
    format: LineFormat,
    pointer: &'a str,
    run: &'a CollectRun<'a>,
    cursor: SourceCursor,
    /// Bytes of the object seen so far.
    seen: u64,
    /// Bytes consumed (collected before, or parsed now): always at a line boundary.
    consumed: u64,
    lines: u64,
    prefix: Sha256Stream,
    pending: Vec<u8>,
    /// A line over [`MAX_LINE`] being passed over.
    oversize: Option<Oversize>,
    /// The previous block's buffer, reused.
    spare: Vec<u8>,
}

/// A line too long to hold, being passed over: where it starts, its bytes so far, and the
/// digest of what was consumed before it (restored if the object ends inside it).
struct Oversize {
    at: u64,
    bytes: u64,
    prefix: Sha256Stream,
}

/// The longest line read; a longer one is kept aside unread, so one line cannot exhaust memory.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

impl<'a> ObjectLines<'a> {
    fn new(
        name: &'a str,
        shown: &'a str,
        format: LineFormat,
        pointer: &'a str,
        run: &'a CollectRun<'a>,
        cursor: SourceCursor,
    ) -> Self {
        Self {
            name,
            shown,
            format,
            pointer,
            run,
            lines: cursor.lines,
            cursor,
            seen: 0,
            consumed: 0,
            prefix: Sha256Stream::new(),
            pending: Vec::new(),
            oversize: None,
            spare: Vec::new(),
        }
    }

    fn provenance(&self, line: u64, offset: u64, raw: &[u8]) -> Provenance {
        self.run.provenance(self.name, self.shown, (line, offset), sha256_hex(raw))
    }

    /// Takes the next chunk; `false` when the part collected before turned out changed.
    async fn feed(
        &mut self,
        mut chunk: &[u8],
        writer: &mut RunWriter<'_>,
        sink: &mut RowSink,
        report: &mut SourceReport,
    ) -> Result<bool, CollectError> {
        let start = self.cursor.offset;
        if self.seen < start {
            let take = usize::try_from(start - self.seen).unwrap_or(usize::MAX).min(chunk.len());
            self.prefix.update(&chunk[..take]);
            self.seen += take as u64;
            chunk = &chunk[take..];
            if self.seen == start {
                if self.prefix.clone().finish().to_hex() != self.cursor.prefix_sha256 {
                    return Ok(false);
                }
                self.consumed = start;
            }
        }
        if self.seen < start {
            return Ok(true);
        }
        self.seen += chunk.len() as u64;
        if let Some(skip) = self.oversize.as_mut() {
            // Inside a line too long to hold: pass over it to its end, hashing what is passed.
            let Some(end) = memchr::memchr(b'\n', chunk) else {
                self.prefix.update(chunk);
                skip.bytes += chunk.len() as u64;
                return Ok(true);
            };
            self.prefix.update(&chunk[..=end]);
            let (at, bytes) = (skip.at, skip.bytes + end as u64 + 1);
            self.oversize = None;
            self.lines += 1;
            self.consumed = at + bytes;
            report.records += 1;
            report.quarantined += 1;
            let row = QuarantineRow {
                reason: format!("line of {bytes} bytes, longer than {} MiB: not read", MAX_LINE / (1024 * 1024)),
                raw: String::new(),
                provenance: self.provenance(self.lines, at, b""),
            };
            sink.push_quarantine(writer, row)
                .await
                .map_err(|error| CollectError::Lake { source_name: self.name.into(), error })?;
            chunk = &chunk[end + 1..];
        }
        self.pending.extend_from_slice(chunk);
        if self.pending.len() >= BLOCK_BYTES {
            Box::pin(self.parse_complete_lines(writer, sink, report)).await?;
        }
        if self.pending.len() > MAX_LINE {
            // What is left is one unfinished line already over the limit: stop holding it.
            self.oversize =
                Some(Oversize { at: self.consumed, bytes: self.pending.len() as u64, prefix: self.prefix.clone() });
            self.prefix.update(&self.pending);
            self.pending = Vec::new();
        }
        Ok(true)
    }

    /// At the end of the object: parses what is left; `false` when the object is now shorter
    /// than what was collected before.
    async fn finish(
        &mut self,
        writer: &mut RunWriter<'_>,
        sink: &mut RowSink,
        report: &mut SourceReport,
    ) -> Result<bool, CollectError> {
        if self.seen < self.cursor.offset {
            return Ok(false);
        }
        if let Some(skip) = self.oversize.take() {
            // An over-long last line without its end: leave it, from its start, for the next run.
            self.prefix = skip.prefix;
            return Ok(true);
        }
        Box::pin(self.parse_complete_lines(writer, sink, report)).await?;
        Ok(true)
    }

    /// Parses the complete lines held (a last line without its newline stays: a writer may
    /// still be appending it), in parallel, and pushes the rows in order.
    async fn parse_complete_lines(
        &mut self,
        writer: &mut RunWriter<'_>,
        sink: &mut RowSink,
        report: &mut SourceReport,
    ) -> Result<(), CollectError> {
        let Some(last) = memchr::memrchr(b'\n', &self.pending) else {
            return Ok(());
        };
        // Swap buffers rather than copy: the complete lines become the block, the unfinished
        // tail moves to the spare buffer, which becomes `pending` (no fresh pages per block).
        let mut next = std::mem::take(&mut self.spare);
        next.clear();
        next.extend_from_slice(&self.pending[last + 1..]);
        let mut block = std::mem::replace(&mut self.pending, next);
        block.truncate(last + 1);
        // Split into lines with their numbers and offsets (cheap, in order) ...
        let mut lines = Vec::new();
        let mut offset = self.consumed;
        let mut start = 0;
        // The block ends with a newline, so every line found is complete.
        for end in memchr::memchr_iter(b'\n', &block) {
            let raw_line = &block[start..=end];
            start = end + 1;
            self.lines += 1;
            let line_offset = offset;
            offset += raw_line.len() as u64;
            let raw = raw_line.strip_suffix(b"\n").unwrap_or(raw_line);
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            // A UTF-8 byte-order mark opens some exports (Splunk's among them).
            let raw = if line_offset == 0 { raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw) } else { raw };
            if !raw.iter().all(u8::is_ascii_whitespace) {
                lines.push((self.lines, line_offset, raw));
            }
        }
        self.consumed = offset;
        // ... parse them on every core, the object's digest going on beside ...
        let (format, pointer, shown) = (self.format, self.pointer, self.shown);
        let prefix = &mut self.prefix;
        let ((), parsed) = rayon::join(|| prefix.update(&block), || parse_lines(&lines, format, pointer, shown));
        // ... and push them in order.
        let lake_err = |error| CollectError::Lake { source_name: self.name.into(), error };
        for ((line_no, line_offset, raw), (parsed, digest)) in lines.into_iter().zip(parsed) {
            report.records += 1;
            match parsed {
                Parsed::Event(text, f) => {
                    report.events += 1;
                    let hex = digest.hex();
                    let row = EventView {
                        chain: &f.chain,
                        seq: f.seq,
                        ts: &f.ts,
                        kid: &f.kid,
                        event_json: text,
                        siem_time: None,
                        siem_meta: None,
                        record_sha256: hex.as_str(),
                        run_id: self.run.run_id,
                        envelope: self.run.envelope(self.name, self.shown, (line_no, line_offset)),
                    };
                    sink.push_event_view(writer, &row).await.map_err(lake_err)?;
                }
                Parsed::Other(record) => {
                    let provenance =
                        self.run.provenance(self.name, self.shown, (line_no, line_offset), digest.to_hex());
                    sink.push_record(writer, self.name, report, (record, provenance, raw)).await?;
                }
            }
        }
        self.spare = block;
        Ok(())
    }

    /// Where the object now stands.
    fn cursor(self) -> SourceCursor {
        SourceCursor {
            offset: self.consumed,
            lines: self.lines,
            prefix_sha256: self.prefix.finish().to_hex(),
            object_sha256: None,
            seen_ids: Vec::new(),
        }
    }
}

/// Collects new lines of every object of the source, each line read as `format` says.
pub(crate) async fn collect(
    format: LineFormat,
    config: &JsonlConfig,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut Cursors,
) -> Result<SourceReport, CollectError> {
    let name = config.name.as_str();
    let pointer = config.event.as_deref().unwrap_or(format.default_event);
    if let Some(detail) = format.event_required.filter(|_| pointer.is_empty()) {
        return Err(CollectError::Location { source_name: name.into(), detail: detail.into() });
    }
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(CollectError::Location {
            source_name: name.into(),
            detail: format!("event = {pointer:?} is not a JSON pointer (it must start with `/`)"),
        });
    }
    let Listing { location, keys, mut report } = Listing::open(name, &config.url, run, "").await?;
    for key in keys {
        report.objects += 1;
        let shown = location.shown(&key);
        let cursor = cursor_of(cursors, &shown);
        let mut reader = ObjectLines::new(name, &shown, format, pointer, run, cursor.clone());
        let read_err = |error| CollectError::Read { source_name: name.into(), key: shown.clone(), error };
        let mut intact = true;
        match location.store.get(&key).await.map_err(read_err)?.payload {
            // A local file: read in large blocks (the generic stream reads 8 KiB at a time).
            GetResultPayload::File(mut file, _) => {
                let mut block = vec![0u8; BLOCK_BYTES];
                loop {
                    let n = crate::runtime::blocking(|| std::io::Read::read(&mut file, &mut block)).map_err(|e| {
                        read_err(object_store::Error::Generic { store: "LocalFileSystem", source: Box::new(e) })
                    })?;
                    if n == 0 {
                        break;
                    }
                    intact = reader.feed(&block[..n], writer, sink, &mut report).await?;
                    if !intact {
                        break;
                    }
                }
            }
            GetResultPayload::Stream(mut stream) => {
                while let Some(chunk) = stream.try_next().await.map_err(read_err)? {
                    intact = reader.feed(&chunk, writer, sink, &mut report).await?;
                    if !intact {
                        break;
                    }
                }
            }
        }
        if intact {
            intact = reader.finish(writer, sink, &mut report).await?;
        }
        if !intact {
            // The part collected before changed: evidence was rewritten at the source.
            report.rewritten += 1;
            report.quarantined += 1;
            tracing::warn!(source = name, object = %shown, "source object changed after it was collected; not re-reading it");
            let row = QuarantineRow {
                reason: format!(
                    "source object changed after it was collected: its first {} bytes ({} lines) no longer match",
                    cursor.offset, cursor.lines
                ),
                raw: String::new(),
                provenance: reader.provenance(0, 0, b""),
            };
            sink.push_quarantine(writer, row)
                .await
                .map_err(|error| CollectError::Lake { source_name: name.into(), error })?;
            continue;
        }
        if reader.consumed > cursor.offset {
            report.objects_with_new_data += 1;
        }
        cursors.insert(shown.clone(), reader.cursor());
    }
    Ok(report)
}
