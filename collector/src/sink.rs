//! Buffers rows and writes them to the lake in bounded parts.

use arrow_array::RecordBatch;
use cairn_evidence::artefacts::{ArtefactSet, LakeTable};
use cairn_evidence::digest::sha256_hex;
use cairn_evidence::lake::{LakeError, RunWriter};
use cairn_evidence::tables::{
    names, quarantine_batch, Confidence, EventRow, EventView, EventsBuilder, PartWriter, Provenance, QuarantineRow,
    TableError, ROW_GROUP_ROWS,
};
use cairn_evidence::vault::DisclosureRow;

use crate::error::CollectError;
use crate::record::Record;
use crate::run::SourceReport;

/// The longest raw record kept in the quarantine table.
pub const QUARANTINE_RAW_LIMIT: usize = 64 * 1024;

/// A raw record as the quarantine table keeps it: lossy UTF-8, at most [`QUARANTINE_RAW_LIMIT`]
/// bytes.
pub(crate) fn quarantine_text(raw: &[u8]) -> String {
    String::from_utf8_lossy(&raw[..raw.len().min(QUARANTINE_RAW_LIMIT)]).into_owned()
}

/// Rows per Parquet object: bounds the memory of writers and readers alike.
pub const ROWS_PER_OBJECT: usize = 100_000;

/// Collects rows for one run and flushes them as Parquet objects of at most
/// [`ROWS_PER_OBJECT`] rows, partitioned by the run's collection date.
pub struct RowSink {
    date: String,
    /// The row group being filled (boxed: the sink lives in the collectors' futures).
    events: Box<EventsBuilder>,
    /// Bytes of event text in the largest row group so far: the next one is sized by it.
    last_json_bytes: usize,
    /// The threads encoding `events` parts while rows keep coming: part `k` goes to encoder
    /// `k % ENCODERS`, so one part is encoded while the next is filled.
    encoders: Vec<Encoder>,
    /// The part being filled (counting from 0), and the rows already sent into it.
    part: usize,
    part_rows: usize,
    /// The next part to write to the lake: parts are written in order.
    next_write: usize,
    quarantine: Vec<QuarantineRow>,
    /// Disclosed personal values, bound for the vault rather than the lake.
    disclosures: Vec<DisclosureRow>,
    rows_per_object: usize,
    /// Rows of the artefact tables.
    pub artefacts: ArtefactSet,
}

/// A finished `events` part: its bytes, rows, SHA-256, and whether any row is simulated.
type EncodedPart = (bytes::Bytes, u64, String, bool);

/// Threads encoding `events` parts at once.
const ENCODERS: usize = 2;

/// A thread that encodes `events` parts: rows come in a row group at a time (a batch, and
/// whether any of its rows is simulated), finished Parquet parts go back, in order. At most a
/// part's row groups wait, so memory stays bounded while the rows of the next part are filled
/// for the other encoder: with less room, the thread filling rows would wait for this one row
/// group by row group, and the encoders would take turns rather than work at once.
struct Encoder {
    rows: std::sync::mpsc::SyncSender<(RecordBatch, bool)>,
    parts: std::sync::mpsc::Receiver<Result<EncodedPart, TableError>>,
    thread: std::thread::JoinHandle<()>,
}

impl Encoder {
    fn start(rows_per_object: usize) -> Self {
        let waiting = rows_per_object.div_ceil(ROW_GROUP_ROWS);
        let (rows, incoming) = std::sync::mpsc::sync_channel::<(RecordBatch, bool)>(waiting);
        let (done, parts) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let mut part: Option<(PartWriter, u64, bool)> = None;
            // The next part is sized like the last one, with a margin.
            let mut last_size = 0usize;
            for (batch, simulated) in incoming {
                let result = (|| -> Result<Option<EncodedPart>, TableError> {
                    let count = batch.num_rows() as u64;
                    let (w, n, sim) = match part.as_mut() {
                        Some(p) => p,
                        None => part.insert((
                            PartWriter::with_capacity(batch.schema(), last_size + last_size / 8)?,
                            0,
                            false,
                        )),
                    };
                    w.write(&batch)?;
                    drop(batch);
                    *n += count;
                    *sim |= simulated;
                    if *n == rows_per_object as u64 {
                        let (w, n, sim) = part.take().ok_or(TableError::Column("part"))?;
                        let bytes = w.finish()?;
                        last_size = bytes.len();
                        let digest = sha256_hex(&bytes);
                        return Ok(Some((bytes, n, digest, sim)));
                    }
                    Ok(None)
                })();
                match result {
                    Ok(None) => {}
                    Ok(Some(finished)) => {
                        if done.send(Ok(finished)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = done.send(Err(e));
                        return;
                    }
                }
            }
            if let Some((w, n, sim)) = part {
                let _ = done.send(w.finish().map(|b| {
                    let digest = sha256_hex(&b);
                    (b, n, digest, sim)
                }));
            }
        });
        Self { rows, parts, thread }
    }
}

fn encoder_failed() -> LakeError {
    LakeError::Url { url: String::new(), detail: "the Parquet encoding thread stopped".into() }
}

async fn flush_table<T: LakeTable>(
    writer: &mut RunWriter<'_>,
    date: &str,
    rows: &mut Vec<T>,
    at_least: usize,
) -> Result<(), LakeError> {
    if rows.is_empty() || rows.len() < at_least {
        return Ok(());
    }
    let rows = std::mem::take(rows);
    let batch = T::to_batch(&rows).map_err(|source| LakeError::Table { key: T::TABLE.into(), source })?;
    writer.write_table(T::TABLE, date, &batch).await?;
    Ok(())
}

impl RowSink {
    /// A sink writing into partition `date=<date>`.
    pub fn new(date: &str) -> Self {
        Self {
            date: date.to_string(),
            events: Box::new(EventsBuilder::with_capacity(0, 0)),
            last_json_bytes: 0,
            encoders: Vec::new(),
            part: 0,
            part_rows: 0,
            next_write: 0,
            quarantine: Vec::new(),
            disclosures: Vec::new(),
            rows_per_object: ROWS_PER_OBJECT,
            artefacts: ArtefactSet::default(),
        }
    }

    /// Overrides the part size (tests).
    #[must_use]
    pub fn with_rows_per_object(mut self, rows: usize) -> Self {
        self.rows_per_object = rows.max(1);
        self
    }

    /// Adds an event. Rows go to the encoding thread a row group at a time; finished parts are
    /// written as they come back.
    pub async fn push_event(&mut self, writer: &mut RunWriter<'_>, row: EventRow) -> Result<(), LakeError> {
        self.push_event_view(writer, &EventView::of(&row)).await
    }

    /// Adds an event from borrowed columns: a collector reading many events fills the row
    /// group straight from its input.
    pub async fn push_event_view(&mut self, writer: &mut RunWriter<'_>, row: &EventView<'_>) -> Result<(), LakeError> {
        if self.events.is_empty() {
            // A fresh row group, sized like the last one with a margin.
            let rows = ROW_GROUP_ROWS.min(self.rows_per_object - self.part_rows);
            *self.events = EventsBuilder::with_capacity(rows, self.last_json_bytes + self.last_json_bytes / 8);
        }
        self.events.push(row);
        // A chunk never crosses a part boundary, so every part holds exactly `rows_per_object`.
        if self.events.len() >= ROW_GROUP_ROWS.min(self.rows_per_object - self.part_rows) {
            self.flush_events(writer).await?;
        }
        Ok(())
    }

    /// Adds what one record of `source` turned out to be: an event, nothing (a record that
    /// carries no event by design), or a record kept aside with its reason. Counts events and
    /// records kept aside in `report`; `raw` is the record as read.
    pub(crate) async fn push_record(
        &mut self,
        writer: &mut RunWriter<'_>,
        source: &str,
        report: &mut SourceReport,
        (record, provenance, raw): (Record, Provenance, &[u8]),
    ) -> Result<(), CollectError> {
        let pushed = match record {
            Record::Event(mut ev) => {
                report.events += 1;
                let disclosures = std::mem::take(&mut ev.disclosures);
                let refused = ev.refused.take();
                let row = ev.into_row(provenance);
                let vault = disclosures.into_iter().map(|placed| DisclosureRow {
                    chain: row.chain.clone(),
                    seq: row.seq,
                    event_hash: row.hash.clone(),
                    path: placed.path,
                    digest: placed.disclosure.digest,
                    disclosure: placed.disclosure.encoded,
                    value_json: placed.disclosure.value.to_string(),
                    provenance: row.provenance.clone(),
                });
                self.disclosures.extend(vault);
                if let Some(reason) = refused {
                    // The signed event is kept; its disclosures are not (their values are not
                    // what it committed to), and are counted aside without their text.
                    report.quarantined += 1;
                    let p = &row.provenance;
                    tracing::debug!(source, object = %p.object_key, line = p.line, %reason, "disclosures refused");
                    let reason = format!("disclosures of {} seq {} refused: {reason}", row.chain, row.seq);
                    let aside = QuarantineRow { reason, raw: String::new(), provenance: row.provenance.clone() };
                    self.push_quarantine(writer, aside)
                        .await
                        .map_err(|error| CollectError::Lake { source_name: source.into(), error })?;
                }
                if self.disclosures.len() >= self.rows_per_object {
                    self.flush_disclosures(writer)
                        .await
                        .map_err(|error| CollectError::Lake { source_name: source.into(), error })?;
                }
                self.push_event(writer, row).await
            }
            Record::Skip(why) => {
                let p = &provenance;
                tracing::trace!(source, object = %p.object_key, line = p.line, why, "record carries no event");
                Ok(())
            }
            Record::Bad(reason) => {
                report.quarantined += 1;
                let p = &provenance;
                tracing::debug!(source, object = %p.object_key, line = p.line, %reason, "record kept aside");
                let row = QuarantineRow { reason, raw: quarantine_text(raw), provenance };
                self.push_quarantine(writer, row).await
            }
        };
        pushed.map_err(|error| CollectError::Lake { source_name: source.into(), error })
    }

    /// Adds a quarantined record, flushing a full part. Its confidence is `failed`: it could
    /// not be collected.
    pub async fn push_quarantine(
        &mut self,
        writer: &mut RunWriter<'_>,
        mut row: QuarantineRow,
    ) -> Result<(), LakeError> {
        row.provenance.confidence = Confidence::Failed;
        self.quarantine.push(row);
        if self.quarantine.len() >= self.rows_per_object {
            self.flush_quarantine(writer).await?;
        }
        Ok(())
    }

    /// Hands the buffered events to the encoding thread, and writes the parts it has finished.
    async fn flush_events(&mut self, writer: &mut RunWriter<'_>) -> Result<(), LakeError> {
        // Finished parts first: an encoding error surfaces with its own cause.
        self.write_finished(writer, false).await?;
        if !self.events.is_empty() {
            let rows_per_object = self.rows_per_object;
            let slot = self.part % ENCODERS;
            if self.encoders.len() <= slot {
                self.encoders.push(Encoder::start(rows_per_object));
            }
            let rows = std::mem::replace(&mut *self.events, EventsBuilder::with_capacity(0, 0));
            self.part_rows = (self.part_rows + rows.len()) % rows_per_object;
            if self.part_rows == 0 {
                self.part += 1;
            }
            self.last_json_bytes = self.last_json_bytes.max(rows.json_bytes());
            let simulated = rows.simulated();
            let batch = rows.finish().map_err(|source| LakeError::Table { key: names::EVENTS.into(), source })?;
            let encoder = &self.encoders[slot];
            if crate::runtime::blocking(|| encoder.rows.send((batch, simulated))).is_err() {
                // The encoder stopped: the error it sent says why.
                let cause = encoder.parts.try_iter().find_map(Result::err);
                return Err(
                    cause.map_or_else(encoder_failed, |source| LakeError::Table { key: names::EVENTS.into(), source })
                );
            }
        }
        Ok(())
    }

    /// Writes the parts the encoders have finished, in order; with `last`, closes them and
    /// waits for the rest.
    async fn write_finished(&mut self, writer: &mut RunWriter<'_>, last: bool) -> Result<(), LakeError> {
        let table_err = |source| LakeError::Table { key: names::EVENTS.into(), source };
        if last {
            for encoder in &mut self.encoders {
                // Closing the row channel tells the encoder to finish its last part.
                encoder.rows = std::sync::mpsc::sync_channel(0).0;
            }
        }
        // Parts sent whole, and with `last` the partial one too.
        let expected = self.part + usize::from(last && self.part_rows > 0);
        while self.next_write < expected {
            let Some(encoder) = self.encoders.get(self.next_write % ENCODERS) else { break };
            let part = if last {
                crate::runtime::blocking(|| encoder.parts.recv()).map_err(|_| encoder_failed())?
            } else {
                match encoder.parts.try_recv() {
                    Ok(part) => part,
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => return Err(encoder_failed()),
                }
            };
            let (bytes, rows, digest, simulated) = part.map_err(table_err)?;
            writer.write_parquet_behind(names::EVENTS, &self.date, bytes, (rows, simulated), digest).await?;
            self.next_write += 1;
        }
        if last {
            for encoder in std::mem::take(&mut self.encoders) {
                encoder.thread.join().map_err(|_| encoder_failed())?;
            }
        }
        Ok(())
    }

    /// Writes the disclosed values gathered so far to the vault.
    async fn flush_disclosures(&mut self, writer: &mut RunWriter<'_>) -> Result<(), LakeError> {
        if self.disclosures.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.disclosures);
        writer.write_vault(&self.date, &rows).await?;
        Ok(())
    }

    async fn flush_quarantine(&mut self, writer: &mut RunWriter<'_>) -> Result<(), LakeError> {
        if self.quarantine.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.quarantine);
        let batch =
            quarantine_batch(&rows).map_err(|source| LakeError::Table { key: names::QUARANTINE.into(), source })?;
        writer.write_table(names::QUARANTINE, &self.date, &batch).await?;
        Ok(())
    }

    /// Writes the artefact tables holding at least `at_least` rows (1: all that hold any).
    /// Called after each source object, so a large SBOM is written in bounded parts.
    pub async fn flush_artefacts(&mut self, writer: &mut RunWriter<'_>, at_least: usize) -> Result<(), LakeError> {
        let a = &mut self.artefacts;
        let d = &self.date;
        flush_table(writer, d, &mut a.attestations, at_least).await?;
        flush_table(writer, d, &mut a.sboms, at_least).await?;
        flush_table(writer, d, &mut a.components, at_least).await?;
        flush_table(writer, d, &mut a.diffs, at_least).await?;
        flush_table(writer, d, &mut a.scans, at_least).await?;
        flush_table(writer, d, &mut a.vulnerabilities, at_least).await?;
        flush_table(writer, d, &mut a.vulnerability_changes, at_least).await?;
        flush_table(writer, d, &mut a.test_runs, at_least).await?;
        flush_table(writer, d, &mut a.test_cases, at_least).await?;
        flush_table(writer, d, &mut a.threat_models, at_least).await?;
        flush_table(writer, d, &mut a.threats, at_least).await?;
        flush_table(writer, d, &mut a.artefacts, at_least).await?;
        flush_table(writer, d, &mut a.documents, at_least).await?;
        flush_table(writer, d, &mut a.policies, at_least).await?;
        flush_table(writer, d, &mut a.keys, at_least).await
    }

    /// Writes artefact tables that reached a full part.
    pub async fn flush_full_artefacts(&mut self, writer: &mut RunWriter<'_>) -> Result<(), LakeError> {
        self.flush_artefacts(writer, self.rows_per_object).await
    }

    /// Writes what is left.
    pub async fn finish(mut self, writer: &mut RunWriter<'_>) -> Result<(), LakeError> {
        self.flush_events(writer).await?;
        self.write_finished(writer, true).await?;
        self.flush_quarantine(writer).await?;
        self.flush_disclosures(writer).await?;
        self.flush_artefacts(writer, 1).await
    }
}
