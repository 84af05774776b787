//! Buffers rows and writes them to the lake in bounded parts.

use cairn_evidence::artefacts::{ArtefactSet, LakeTable};
use cairn_evidence::lake::{LakeError, RunWriter};
use cairn_evidence::tables::{events_batch, names, quarantine_batch, EventRow, QuarantineRow};

/// Rows per Parquet object: bounds the memory of writers and readers alike.
pub const ROWS_PER_OBJECT: usize = 100_000;

/// Collects rows for one run and flushes them as Parquet objects of at most
/// [`ROWS_PER_OBJECT`] rows, partitioned by the run's collection date.
pub struct RowSink {
    date: String,
    events: Vec<EventRow>,
    quarantine: Vec<QuarantineRow>,
    rows_per_object: usize,
    /// Rows of the artefact tables.
    pub artefacts: ArtefactSet,
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
            events: Vec::new(),
            quarantine: Vec::new(),
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

    /// Adds an event, flushing a full part.
    pub async fn push_event(&mut self, writer: &mut RunWriter<'_>, row: EventRow) -> Result<(), LakeError> {
        self.events.push(row);
        if self.events.len() >= self.rows_per_object {
            self.flush_events(writer).await?;
        }
        Ok(())
    }

    /// Adds a quarantined record, flushing a full part.
    pub async fn push_quarantine(&mut self, writer: &mut RunWriter<'_>, row: QuarantineRow) -> Result<(), LakeError> {
        self.quarantine.push(row);
        if self.quarantine.len() >= self.rows_per_object {
            self.flush_quarantine(writer).await?;
        }
        Ok(())
    }

    async fn flush_events(&mut self, writer: &mut RunWriter<'_>) -> Result<(), LakeError> {
        if self.events.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.events);
        let batch = events_batch(&rows).map_err(|source| LakeError::Table { key: names::EVENTS.into(), source })?;
        writer.write_table(names::EVENTS, &self.date, &batch).await?;
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
        flush_table(writer, d, &mut a.threat_models, at_least).await?;
        flush_table(writer, d, &mut a.threats, at_least).await?;
        flush_table(writer, d, &mut a.artefacts, at_least).await?;
        flush_table(writer, d, &mut a.documents, at_least).await
    }

    /// Writes artefact tables that reached a full part.
    pub async fn flush_full_artefacts(&mut self, writer: &mut RunWriter<'_>) -> Result<(), LakeError> {
        self.flush_artefacts(writer, self.rows_per_object).await
    }

    /// Writes what is left.
    pub async fn finish(mut self, writer: &mut RunWriter<'_>) -> Result<(), LakeError> {
        self.flush_events(writer).await?;
        self.flush_quarantine(writer).await?;
        self.flush_artefacts(writer, 1).await
    }
}
