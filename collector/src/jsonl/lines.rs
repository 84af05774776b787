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
use std::ops::Range;

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

/// A line of a block: its number, its offset in the object, and where its bytes lie in the
/// block (without the newline).
type LineAt = (u64, u64, Range<usize>);

/// The columns of a whole-line event, as places in its block: a block travels to the parsing
/// job and back, so what the job finds cannot borrow from it.
struct EventAt {
    chain: Range<usize>,
    seq: u64,
    ts: Range<usize>,
    kid: Range<usize>,
}

/// One line as the parallel stage leaves it.
enum Parsed {
    /// A whole-line event: its row is filled straight from the block.
    Event(EventAt),
    /// Anything else, judged by the general path.
    Other(Record),
}

/// Where `text` lies in `block`, when it is a slice of it: a JSON string without escapes (one
/// with escapes was copied out of the block, so it lies elsewhere).
fn range_in(block: &[u8], text: &str) -> Option<Range<usize>> {
    let start = (text.as_ptr() as usize).checked_sub(block.as_ptr() as usize)?;
    (start + text.len() <= block.len()).then(|| start..start + text.len())
}

/// A whole-line event's columns in its block; `None` when one is not a slice of it (a string
/// with escapes), which sends the line down the general path.
fn event_at(block: &[u8], f: &BorrowedFields<'_>) -> Option<EventAt> {
    Some(EventAt {
        chain: range_in(block, &f.chain)?,
        seq: f.seq,
        ts: range_in(block, &f.ts)?,
        kid: range_in(block, &f.kid)?,
    })
}

/// Parses the lines of a block on every core, each with the SHA-256 of its raw bytes.
fn parse_lines(
    block: &[u8],
    lines: &[LineAt],
    format: LineFormat,
    pointer: &str,
    shown: &str,
) -> Vec<(Parsed, Sha256Digest)> {
    let whole_line = format.whole_line_events && pointer.is_empty();
    lines
        .par_iter()
        .map(|(_, _, at)| {
            let raw = &block[at.clone()];
            let parsed = match std::str::from_utf8(raw) {
                Ok(text) => match whole_line.then(|| fast_fields(text)).flatten().and_then(|f| event_at(block, &f)) {
                    Some(event) => Parsed::Event(event),
                    None => Parsed::Other((format.parse)(text, pointer, shown)),
                },
                Err(e) => Parsed::Other(Record::Bad(format!("not UTF-8: {e}"))),
            };
            (parsed, Sha256Digest::of(raw))
        })
        .collect()
}

/// A block of complete lines, what parsing found in it, and the object's digest carried over it.
struct ParsedBlock {
    block: Vec<u8>,
    lines: Vec<LineAt>,
    parsed: Vec<(Parsed, Sha256Digest)>,
    prefix: Sha256Stream,
}

/// Starts parsing a block (and carrying the object's digest over it) on the parsing threads; its
/// result comes back on the channel returned.
fn start_parsing(
    block: Vec<u8>,
    lines: Vec<LineAt>,
    mut prefix: Sha256Stream,
    format: LineFormat,
    (pointer, shown): (String, String),
) -> std::sync::mpsc::Receiver<ParsedBlock> {
    let (done, result) = std::sync::mpsc::sync_channel(1);
    rayon::spawn(move || {
        let ((), parsed) =
            rayon::join(|| prefix.update(&block), || parse_lines(&block, &lines, format, &pointer, &shown));
        // The receiver is gone only when collection already failed.
        let _ = done.send(ParsedBlock { block, lines, parsed, prefix });
    });
    result
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
    /// The block being parsed while the one before it is pushed.
    parsing: Option<std::sync::mpsc::Receiver<ParsedBlock>>,
    /// The buffer of a block already pushed, reused.
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
            parsing: None,
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
        self.took(writer, sink, report).await?;
        Ok(true)
    }

    /// Whether the next bytes may go straight into the line buffer: the part collected before
    /// is behind (and was found unchanged), and no over-long line is being passed over.
    fn reads_direct(&self) -> bool {
        self.seen >= self.cursor.offset && self.oversize.is_none()
    }

    /// Reads the next bytes of a local file straight into the line buffer (see
    /// [`Self::reads_direct`]), with no copy; the number read, 0 at its end.
    async fn feed_file(
        &mut self,
        file: &mut std::fs::File,
        writer: &mut RunWriter<'_>,
        sink: &mut RowSink,
        report: &mut SourceReport,
    ) -> Result<usize, CollectError> {
        let pending = &mut self.pending;
        pending.reserve(BLOCK_BYTES);
        let mut next = std::io::Read::take(file, BLOCK_BYTES as u64);
        let read = crate::runtime::blocking(|| std::io::Read::read_to_end(&mut next, pending));
        let n = read.map_err(|e| file_read_error(self.name, self.shown, e))?;
        self.seen += n as u64;
        self.took(writer, sink, report).await?;
        Ok(n)
    }

    /// After bytes were added to the line buffer: starts on a full block, and stops holding a
    /// line over [`MAX_LINE`].
    async fn took(
        &mut self,
        writer: &mut RunWriter<'_>,
        sink: &mut RowSink,
        report: &mut SourceReport,
    ) -> Result<(), CollectError> {
        if self.pending.len() >= BLOCK_BYTES {
            Box::pin(self.parse_complete_lines(writer, sink, report)).await?;
        }
        if self.pending.len() > MAX_LINE {
            // What is left is one unfinished line already over the limit: stop holding it.
            Box::pin(self.push_parsed(writer, sink, report)).await?;
            self.oversize =
                Some(Oversize { at: self.consumed, bytes: self.pending.len() as u64, prefix: self.prefix.clone() });
            self.prefix.update(&self.pending);
            self.pending = Vec::new();
        }
        Ok(())
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
        Box::pin(self.push_parsed(writer, sink, report)).await?;
        Ok(true)
    }

    /// Starts parsing the complete lines held (a last line without its newline stays: a writer
    /// may still be appending it) on every core, and meanwhile pushes the rows of the block
    /// parsed before, in order.
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
            let (line_start, line_offset) = (start, offset);
            start = end + 1;
            offset += (end + 1 - line_start) as u64;
            self.lines += 1;
            let mut raw = &block[line_start..end];
            raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            // A UTF-8 byte-order mark opens some exports (Splunk's among them).
            let bom = usize::from(line_offset == 0 && raw.starts_with(b"\xEF\xBB\xBF")) * 3;
            if !raw[bom..].iter().all(u8::is_ascii_whitespace) {
                lines.push((self.lines, line_offset, line_start + bom..line_start + raw.len()));
            }
        }
        self.consumed = offset;
        // ... parse them on every core, the object's digest going on beside, while the block
        // before is pushed.
        let before = self.take_parsed()?;
        let prefix = std::mem::replace(&mut self.prefix, Sha256Stream::new());
        let names = (self.pointer.to_string(), self.shown.to_string());
        self.parsing = Some(start_parsing(block, lines, prefix, self.format, names));
        if let Some(parsed) = before {
            self.push_block(parsed, writer, sink, report).await?;
        }
        Ok(())
    }

    /// Waits for the block being parsed, if any; the object's digest is current again after.
    fn take_parsed(&mut self) -> Result<Option<ParsedBlock>, CollectError> {
        let Some(parsing) = self.parsing.take() else { return Ok(None) };
        let mut parsed = crate::runtime::blocking(|| parsing.recv()).map_err(|_| CollectError::Location {
            source_name: self.name.into(),
            detail: format!("parsing the lines of {} stopped", self.shown),
        })?;
        self.prefix = std::mem::replace(&mut parsed.prefix, Sha256Stream::new());
        Ok(Some(parsed))
    }

    /// Pushes the rows of the block being parsed, if any.
    async fn push_parsed(
        &mut self,
        writer: &mut RunWriter<'_>,
        sink: &mut RowSink,
        report: &mut SourceReport,
    ) -> Result<(), CollectError> {
        match self.take_parsed()? {
            Some(parsed) => self.push_block(parsed, writer, sink, report).await,
            None => Ok(()),
        }
    }

    /// Pushes the rows of a parsed block, in order.
    async fn push_block(
        &mut self,
        parsed: ParsedBlock,
        writer: &mut RunWriter<'_>,
        sink: &mut RowSink,
        report: &mut SourceReport,
    ) -> Result<(), CollectError> {
        let ParsedBlock { block, lines, parsed, .. } = parsed;
        let lake_err = |error| CollectError::Lake { source_name: self.name.into(), error };
        for ((line_no, line_offset, at), (parsed, digest)) in lines.into_iter().zip(parsed) {
            report.records += 1;
            match parsed {
                Parsed::Event(e) => {
                    report.events += 1;
                    // The line was valid UTF-8 and its fields slices of it when it was parsed.
                    let line = std::str::from_utf8(&block[at.clone()]).ok();
                    let field =
                        |r: &Range<usize>| line?.get(r.start.checked_sub(at.start)?..r.end.checked_sub(at.start)?);
                    let (Some(event_json), Some(chain), Some(ts), Some(kid)) =
                        (line, field(&e.chain), field(&e.ts), field(&e.kid))
                    else {
                        return Err(CollectError::Location {
                            source_name: self.name.into(),
                            detail: format!("{} line {line_no}: its parsed fields no longer lie in it", self.shown),
                        });
                    };
                    let hex = digest.hex();
                    let row = EventView {
                        chain,
                        seq: e.seq,
                        ts,
                        kid,
                        event_json,
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
                    sink.push_record(writer, self.name, report, (record, provenance, &block[at])).await?;
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

/// A failed read of a local file, worded as the object store words one.
fn file_read_error(source_name: &str, shown: &str, error: std::io::Error) -> CollectError {
    let error = object_store::Error::Generic { store: "LocalFileSystem", source: Box::new(error) };
    CollectError::Read { source_name: source_name.into(), key: shown.into(), error }
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
            // A local file: read in large blocks (the generic stream reads 8 KiB at a time), the
            // new part straight into the line buffer.
            GetResultPayload::File(mut file, _) => {
                let mut block = Vec::new();
                loop {
                    if reader.reads_direct() {
                        if reader.feed_file(&mut file, writer, sink, &mut report).await? == 0 {
                            break;
                        }
                        continue;
                    }
                    block.resize(BLOCK_BYTES, 0);
                    let n = crate::runtime::blocking(|| std::io::Read::read(&mut file, &mut block))
                        .map_err(|e| file_read_error(name, &shown, e))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn line(chain: &str) -> String {
        let (zero, one) = ("0".repeat(64), "1".repeat(64));
        format!(
            r#"{{"chain":"{chain}","seq":3,"ts":"2026-01-01T00:00:00Z","kid":"k","prev":"{zero}","hash":"{one}","sig":"x"}}"#
        )
    }

    #[test]
    fn event_columns_are_found_in_the_block_and_escaped_ones_go_the_general_path() {
        let plain = line("payments");
        let escaped = line(r"pay\u006dents");
        let block = format!("{plain}\n{escaped}\n").into_bytes();
        let lines: Vec<LineAt> = vec![(1, 0, 0..plain.len()), (2, 0, plain.len() + 1..block.len() - 1)];
        let format = LineFormat {
            default_event: "",
            event_required: None,
            whole_line_events: true,
            parse: |_, _, _| Record::Bad("judged by the general path".into()),
        };
        let parsed = parse_lines(&block, &lines, format, "", "export.jsonl");
        let Parsed::Event(event) = &parsed[0].0 else { panic!("a plain event takes the fast path") };
        assert_eq!(&block[event.chain.clone()], b"payments");
        assert_eq!(&block[event.ts.clone()], b"2026-01-01T00:00:00Z");
        assert_eq!(&block[event.kid.clone()], b"k");
        assert_eq!(event.seq, 3);
        assert_eq!(parsed[0].1, Sha256Digest::of(plain.as_bytes()));
        // The escaped chain is not a slice of the block: the general path reads that line.
        assert!(matches!(&parsed[1].0, Parsed::Other(Record::Bad(why)) if why == "judged by the general path"));
        assert_eq!(parsed[1].1, Sha256Digest::of(escaped.as_bytes()));
        // A string from elsewhere is never taken for a place in the block.
        assert_eq!(range_in(&block, "payments"), None);
        assert_eq!(range_in(&block, std::str::from_utf8(&block[2..7]).unwrap()), Some(2..7));
    }
}
