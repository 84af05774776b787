//! The lake's tables: one Arrow schema each, and the row types that fill them.
//!
//! | table | one row per |
//! | --- | --- |
//! | `events` | collected audit event: its original JSON text, its chain columns and its provenance |
//! | `quarantine` | source record that could not be collected, with file, line and reason |
//! | `findings` | verification finding: kind, chain, seq, lake object, line, detail |
//!
//! Every row carries provenance: source name, source object key, line and byte offset, the
//! sha256 of the raw record, the run id and the collection time.

use std::sync::Arc;

use arrow_array::builder::{StringBuilder, TimestampMicrosecondBuilder, UInt64Builder};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray, UInt64Array};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

/// Names of the tables Cairn writes.
pub mod names {
    /// Collected audit events.
    pub const EVENTS: &str = "events";
    /// Records kept aside.
    pub const QUARANTINE: &str = "quarantine";
    /// Verification findings.
    pub const FINDINGS: &str = "findings";
    /// Control evaluations.
    pub const CONTROL_RESULTS: &str = "control_results";
    /// One row per attestation subject.
    pub const ATTESTATIONS: &str = "attestations";
    /// One row per SBOM document.
    pub const SBOMS: &str = "sboms";
    /// One row per SBOM component.
    pub const SBOM_COMPONENTS: &str = "sbom_components";
    /// Component changes between two SBOMs of one subject.
    pub const SBOM_DIFFS: &str = "sbom_diffs";
    /// One row per threat model.
    pub const THREAT_MODELS: &str = "threat_models";
    /// One row per threat.
    pub const THREATS: &str = "threats";
    /// One row per release artefact seen.
    pub const ARTEFACTS: &str = "artefacts";
    /// One row per document recorded as manual evidence.
    pub const DOCUMENTS: &str = "documents";
    /// One row per signed policy Decision Card version.
    pub const POLICIES: &str = "policies";
    /// One row per key (and per fetch) of a published key document.
    pub const KEYS: &str = "keys";
}

/// An error reading or writing a table.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// Arrow rejected the data.
    #[error("arrow: {0}")]
    Arrow(#[from] ArrowError),
    /// Parquet rejected the data.
    #[error("parquet: {0}")]
    Parquet(#[from] ParquetError),
    /// A column is missing or has the wrong type.
    #[error("column `{0}` is missing or has the wrong type")]
    Column(&'static str),
}

pub(crate) fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn s(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

fn u(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::UInt64, nullable)
}

/// Schema of `events`.
pub fn events_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        s("chain", false),
        u("seq", false),
        s("ts", false),
        s("kid", false),
        s("prev", false),
        s("hash", false),
        s("sig", false),
        s("event_json", false),
        s("siem_time", true),
        s("siem_meta", true),
        s("source", false),
        s("object_key", false),
        u("line", false),
        u("byte_offset", false),
        s("record_sha256", false),
        s("run_id", false),
        Field::new("collected_at", ts_type(), false),
    ]))
}

/// Schema of `quarantine`.
pub fn quarantine_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        s("source", false),
        s("object_key", false),
        u("line", false),
        u("byte_offset", false),
        s("reason", false),
        s("raw", false),
        s("record_sha256", false),
        s("run_id", false),
        Field::new("collected_at", ts_type(), false),
    ]))
}

/// Schema of `findings`.
pub fn findings_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        s("kind", false),
        s("chain", true),
        u("seq", true),
        s("object_key", true),
        u("line", true),
        s("detail", false),
        s("run_id", false),
        Field::new("found_at", ts_type(), false),
    ]))
}

/// Schema of `control_results`.
pub fn control_results_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        s("run_id", false),
        s("control_id", false),
        s("status", false),
        s("reasons", false),
        s("evidence", false),
        s("failing_findings", false),
        s("evidence_fresh_at", true),
        Field::new("evaluated_at", ts_type(), false),
    ]))
}

/// One row of `control_results`: a control's evaluation in one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlResultRow {
    /// The verify run that evaluated it.
    pub run_id: String,
    /// Control id.
    pub control_id: String,
    /// `passing`, `failing`, `stale`, `no_evidence`, `manual`.
    pub status: String,
    /// Why, as a JSON array of strings.
    pub reasons: String,
    /// The evidence it used, as a JSON array of `{"key", "sha256"}`.
    pub evidence: String,
    /// The findings that failed it, as a JSON array of `{"kind", "chain", "seq", "run_id"}`.
    pub failing_findings: String,
    /// When its evidence was last fresh (RFC 3339).
    pub evidence_fresh_at: Option<String>,
    /// When it was evaluated.
    pub evaluated_at: DateTime<Utc>,
}

/// Builds a `RecordBatch` of `control_results`.
pub fn control_results_batch(rows: &[ControlResultRow]) -> Result<RecordBatch, TableError> {
    let mut cols: Vec<StringBuilder> = (0..6).map(|_| StringBuilder::new()).collect();
    let mut fresh = StringBuilder::new();
    let mut at = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    for r in rows {
        for (b, v) in
            cols.iter_mut().zip([&r.run_id, &r.control_id, &r.status, &r.reasons, &r.evidence, &r.failing_findings])
        {
            b.append_value(v);
        }
        fresh.append_option(r.evidence_fresh_at.as_deref());
        at.append_value(micros(r.evaluated_at));
    }
    let mut arrays: Vec<ArrayRef> = cols.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef).collect();
    arrays.push(Arc::new(fresh.finish()));
    arrays.push(Arc::new(at.finish()));
    Ok(RecordBatch::try_new(control_results_schema(), arrays)?)
}

/// Where a record came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// Source name from the configuration.
    pub source: String,
    /// The source object (file path or object-store key) it was read from.
    pub object_key: String,
    /// 1-based line in that object.
    pub line: u64,
    /// Byte offset of the line in that object.
    pub byte_offset: u64,
    /// Lowercase hex SHA-256 of the raw record bytes.
    pub record_sha256: String,
    /// The run that collected it.
    pub run_id: String,
    /// When it was collected.
    pub collected_at: DateTime<Utc>,
}

/// One row of `events`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    /// Chain id.
    pub chain: String,
    /// Position in the chain.
    pub seq: u64,
    /// Event time as written.
    pub ts: String,
    /// Key id.
    pub kid: String,
    /// Previous hash as written.
    pub prev: String,
    /// Claimed hash.
    pub hash: String,
    /// Claimed signature.
    pub sig: String,
    /// The event's JSON text.
    pub event_json: String,
    /// The SIEM's own time for the record, as it wrote it (Splunk `_time`, Datadog `date`, …).
    pub siem_time: Option<String>,
    /// The SIEM's own metadata beside the event (index, host, sourcetype, service, table, …), as
    /// a JSON object.
    pub siem_meta: Option<String>,
    /// Where it came from.
    pub provenance: Provenance,
}

/// One row of `quarantine`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuarantineRow {
    /// Why it was kept aside.
    pub reason: String,
    /// The raw record (lossy UTF-8, truncated to 64 KiB).
    pub raw: String,
    /// Where it came from.
    pub provenance: Provenance,
}

/// One row of `findings`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FindingRow {
    /// Finding kind, e.g. `gap`.
    pub kind: String,
    /// Chain, when the finding is about one.
    pub chain: Option<String>,
    /// Sequence number, when the finding is about one event.
    pub seq: Option<u64>,
    /// Lake object the finding points at.
    pub object_key: Option<String>,
    /// Line in the source object, when known.
    pub line: Option<u64>,
    /// Human explanation.
    pub detail: String,
    /// The verification run that found it.
    pub run_id: String,
    /// When it was found.
    pub found_at: DateTime<Utc>,
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(v: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(v).unwrap_or_default()
}

pub(crate) struct ProvenanceBuilder {
    source: StringBuilder,
    object_key: StringBuilder,
    line: UInt64Builder,
    byte_offset: UInt64Builder,
    record_sha256: StringBuilder,
    run_id: StringBuilder,
    collected_at: TimestampMicrosecondBuilder,
}

impl ProvenanceBuilder {
    pub(crate) fn new() -> Self {
        Self {
            source: StringBuilder::new(),
            object_key: StringBuilder::new(),
            line: UInt64Builder::new(),
            byte_offset: UInt64Builder::new(),
            record_sha256: StringBuilder::new(),
            run_id: StringBuilder::new(),
            collected_at: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
        }
    }
    pub(crate) fn push(&mut self, p: &Provenance) {
        self.source.append_value(&p.source);
        self.object_key.append_value(&p.object_key);
        self.line.append_value(p.line);
        self.byte_offset.append_value(p.byte_offset);
        self.record_sha256.append_value(&p.record_sha256);
        self.run_id.append_value(&p.run_id);
        self.collected_at.append_value(micros(p.collected_at));
    }
    /// The provenance columns, in schema order.
    pub(crate) fn finish(mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.source.finish()),
            Arc::new(self.object_key.finish()),
            Arc::new(self.line.finish()),
            Arc::new(self.byte_offset.finish()),
            Arc::new(self.record_sha256.finish()),
            Arc::new(self.run_id.finish()),
            Arc::new(self.collected_at.finish()),
        ]
    }
}

/// The provenance columns every artefact table ends with.
pub(crate) fn provenance_fields() -> Vec<Field> {
    vec![
        s("source", false),
        s("object_key", false),
        u("line", false),
        u("byte_offset", false),
        s("record_sha256", false),
        s("run_id", false),
        Field::new("collected_at", ts_type(), false),
    ]
}

/// Builds a `RecordBatch` of `events`.
pub fn events_batch(rows: &[EventRow]) -> Result<RecordBatch, TableError> {
    let mut cols: Vec<StringBuilder> = (0..7).map(|_| StringBuilder::new()).collect();
    let mut siem_time = StringBuilder::new();
    let mut siem_meta = StringBuilder::new();
    let mut seq = UInt64Builder::new();
    let mut p = ProvenanceBuilder::new();
    for r in rows {
        cols[0].append_value(&r.chain);
        seq.append_value(r.seq);
        cols[1].append_value(&r.ts);
        cols[2].append_value(&r.kid);
        cols[3].append_value(&r.prev);
        cols[4].append_value(&r.hash);
        cols[5].append_value(&r.sig);
        cols[6].append_value(&r.event_json);
        siem_time.append_option(r.siem_time.as_deref());
        siem_meta.append_option(r.siem_meta.as_deref());
        p.push(&r.provenance);
    }
    let mut c = cols.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef);
    let mut next = || c.next().unwrap_or_else(|| Arc::new(StringArray::from(Vec::<String>::new())));
    let chain = next();
    let mut arrays: Vec<ArrayRef> = vec![
        chain,
        Arc::new(seq.finish()),
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
        Arc::new(siem_time.finish()),
        Arc::new(siem_meta.finish()),
    ];
    arrays.extend(p.finish());
    Ok(RecordBatch::try_new(events_schema(), arrays)?)
}

/// Builds a `RecordBatch` of `quarantine`.
pub fn quarantine_batch(rows: &[QuarantineRow]) -> Result<RecordBatch, TableError> {
    let mut p = ProvenanceBuilder::new();
    let mut reason = StringBuilder::new();
    let mut raw = StringBuilder::new();
    for r in rows {
        reason.append_value(&r.reason);
        raw.append_value(&r.raw);
        p.push(&r.provenance);
    }
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(p.source.finish()),
        Arc::new(p.object_key.finish()),
        Arc::new(p.line.finish()),
        Arc::new(p.byte_offset.finish()),
        Arc::new(reason.finish()),
        Arc::new(raw.finish()),
        Arc::new(p.record_sha256.finish()),
        Arc::new(p.run_id.finish()),
        Arc::new(p.collected_at.finish()),
    ];
    Ok(RecordBatch::try_new(quarantine_schema(), arrays)?)
}

/// Builds a `RecordBatch` of `findings`.
pub fn findings_batch(rows: &[FindingRow]) -> Result<RecordBatch, TableError> {
    let mut kind = StringBuilder::new();
    let mut chain = StringBuilder::new();
    let mut seq = UInt64Builder::new();
    let mut object_key = StringBuilder::new();
    let mut line = UInt64Builder::new();
    let mut detail = StringBuilder::new();
    let mut run_id = StringBuilder::new();
    let mut found_at = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    for r in rows {
        kind.append_value(&r.kind);
        chain.append_option(r.chain.as_deref());
        seq.append_option(r.seq);
        object_key.append_option(r.object_key.as_deref());
        line.append_option(r.line);
        detail.append_value(&r.detail);
        run_id.append_value(&r.run_id);
        found_at.append_value(micros(r.found_at));
    }
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(kind.finish()),
        Arc::new(chain.finish()),
        Arc::new(seq.finish()),
        Arc::new(object_key.finish()),
        Arc::new(line.finish()),
        Arc::new(detail.finish()),
        Arc::new(run_id.finish()),
        Arc::new(found_at.finish()),
    ];
    Ok(RecordBatch::try_new(findings_schema(), arrays)?)
}

pub(crate) fn col<'a, T: 'static>(batch: &'a RecordBatch, name: &'static str) -> Result<&'a T, TableError> {
    batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref::<T>()).ok_or(TableError::Column(name))
}

pub(crate) struct ProvenanceColumns<'a> {
    source: &'a StringArray,
    object_key: &'a StringArray,
    line: &'a UInt64Array,
    byte_offset: &'a UInt64Array,
    record_sha256: &'a StringArray,
    run_id: &'a StringArray,
    collected_at: &'a TimestampMicrosecondArray,
}

impl<'a> ProvenanceColumns<'a> {
    pub(crate) fn of(batch: &'a RecordBatch) -> Result<Self, TableError> {
        Ok(Self {
            source: col(batch, "source")?,
            object_key: col(batch, "object_key")?,
            line: col(batch, "line")?,
            byte_offset: col(batch, "byte_offset")?,
            record_sha256: col(batch, "record_sha256")?,
            run_id: col(batch, "run_id")?,
            collected_at: col(batch, "collected_at")?,
        })
    }
    pub(crate) fn row(&self, i: usize) -> Provenance {
        Provenance {
            source: self.source.value(i).to_string(),
            object_key: self.object_key.value(i).to_string(),
            line: self.line.value(i),
            byte_offset: self.byte_offset.value(i),
            record_sha256: self.record_sha256.value(i).to_string(),
            run_id: self.run_id.value(i).to_string(),
            collected_at: from_micros(self.collected_at.value(i)),
        }
    }
}

/// Reads the rows of an `events` batch.
pub fn event_rows(batch: &RecordBatch) -> Result<Vec<EventRow>, TableError> {
    let p = ProvenanceColumns::of(batch)?;
    let siem_time: &StringArray = col(batch, "siem_time")?;
    let siem_meta: &StringArray = col(batch, "siem_meta")?;
    Ok(event_refs(batch)?
        .into_iter()
        .enumerate()
        .map(|(i, r)| EventRow {
            chain: r.chain.to_string(),
            seq: r.seq,
            ts: r.ts.to_string(),
            kid: r.kid.to_string(),
            prev: r.prev.to_string(),
            hash: r.hash.to_string(),
            sig: r.sig.to_string(),
            event_json: r.event_json.to_string(),
            siem_time: (!siem_time.is_null(i)).then(|| siem_time.value(i).to_string()),
            siem_meta: (!siem_meta.is_null(i)).then(|| siem_meta.value(i).to_string()),
            provenance: p.row(i),
        })
        .collect())
}

/// Reads the rows of a `quarantine` batch.
pub fn quarantine_rows(batch: &RecordBatch) -> Result<Vec<QuarantineRow>, TableError> {
    let reason: &StringArray = col(batch, "reason")?;
    let raw: &StringArray = col(batch, "raw")?;
    let p = ProvenanceColumns::of(batch)?;
    Ok((0..batch.num_rows())
        .map(|i| QuarantineRow {
            reason: reason.value(i).to_string(),
            raw: raw.value(i).to_string(),
            provenance: p.row(i),
        })
        .collect())
}

/// Reads the rows of a `findings` batch.
pub fn finding_rows(batch: &RecordBatch) -> Result<Vec<FindingRow>, TableError> {
    let kind: &StringArray = col(batch, "kind")?;
    let chain: &StringArray = col(batch, "chain")?;
    let seq: &UInt64Array = col(batch, "seq")?;
    let object_key: &StringArray = col(batch, "object_key")?;
    let line: &UInt64Array = col(batch, "line")?;
    let detail: &StringArray = col(batch, "detail")?;
    let run_id: &StringArray = col(batch, "run_id")?;
    let found_at: &TimestampMicrosecondArray = col(batch, "found_at")?;
    let opt_s = |a: &StringArray, i| (!a.is_null(i)).then(|| a.value(i).to_string());
    let opt_u = |a: &UInt64Array, i| (!a.is_null(i)).then(|| a.value(i));
    Ok((0..batch.num_rows())
        .map(|i| FindingRow {
            kind: kind.value(i).to_string(),
            chain: opt_s(chain, i),
            seq: opt_u(seq, i),
            object_key: opt_s(object_key, i),
            line: opt_u(line, i),
            detail: detail.value(i).to_string(),
            run_id: run_id.value(i).to_string(),
            found_at: from_micros(found_at.value(i)),
        })
        .collect())
}

/// Reads the rows of a `control_results` batch.
pub fn control_result_rows(batch: &RecordBatch) -> Result<Vec<ControlResultRow>, TableError> {
    let text = |name| -> Result<&StringArray, TableError> { col(batch, name) };
    let (run_id, control_id, status) = (text("run_id")?, text("control_id")?, text("status")?);
    let (reasons, evidence, failing) = (text("reasons")?, text("evidence")?, text("failing_findings")?);
    let fresh = text("evidence_fresh_at")?;
    let at: &TimestampMicrosecondArray = col(batch, "evaluated_at")?;
    Ok((0..batch.num_rows())
        .map(|i| ControlResultRow {
            run_id: run_id.value(i).to_string(),
            control_id: control_id.value(i).to_string(),
            status: status.value(i).to_string(),
            reasons: reasons.value(i).to_string(),
            evidence: evidence.value(i).to_string(),
            failing_findings: failing.value(i).to_string(),
            evidence_fresh_at: (!fresh.is_null(i)).then(|| fresh.value(i).to_string()),
            evaluated_at: from_micros(at.value(i)),
        })
        .collect())
}

/// Rows per Parquet row group: small enough that a reader holds one group in little memory.
pub const ROW_GROUP_ROWS: usize = 16 * 1024;

/// Columns written without dictionary encoding.
const UNIQUE_COLUMNS: [&str; 7] = ["event_json", "hash", "sig", "prev", "record_sha256", "siem_meta", "byte_offset"];

/// Columns of random bytes (hex or base64), written uncompressed.
const RANDOM_COLUMNS: [&str; 4] = ["hash", "sig", "prev", "record_sha256"];

/// Encodes a batch as a Parquet file. Deterministic: the same rows give the same bytes.
pub fn to_parquet(batch: &RecordBatch) -> Result<Bytes, TableError> {
    let mut writer = PartWriter::new(batch.schema())?;
    writer.write(batch)?;
    writer.finish()
}

/// A Parquet file written a batch at a time, so rows can be released as they are encoded. The
/// same rows give the same bytes whatever the batch sizes, as long as batches end on row-group
/// boundaries ([`ROW_GROUP_ROWS`]).
pub struct PartWriter {
    writer: ArrowWriter<Vec<u8>>,
}

impl PartWriter {
    /// A writer for `schema`, with Cairn's settings.
    pub fn new(schema: SchemaRef) -> Result<Self, TableError> {
        let mut props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by("cairn".to_string());
        // Columns whose every value differs: a dictionary would only be built to be thrown away.
        for column in UNIQUE_COLUMNS {
            if schema.column_with_name(column).is_some() {
                props = props.set_column_dictionary_enabled(parquet::schema::types::ColumnPath::from(column), false);
            }
        }
        // Digests and signatures are random: compressing them costs time and saves nothing.
        for column in RANDOM_COLUMNS {
            if schema.column_with_name(column).is_some() {
                props = props.set_column_compression(
                    parquet::schema::types::ColumnPath::from(column),
                    Compression::UNCOMPRESSED,
                );
            }
        }
        Ok(Self { writer: ArrowWriter::try_new(Vec::new(), schema, Some(props.build()))? })
    }

    /// Encodes a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), TableError> {
        Ok(self.writer.write(batch)?)
    }

    /// The finished file.
    pub fn finish(self) -> Result<Bytes, TableError> {
        Ok(Bytes::from(self.writer.into_inner()?))
    }
}

/// Decodes a Parquet file into batches, one row group at a time.
pub fn from_parquet(bytes: Bytes) -> Result<impl Iterator<Item = Result<RecordBatch, TableError>>, TableError> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)?.with_batch_size(ROW_GROUP_ROWS).build()?;
    Ok(reader.map(|b| b.map_err(TableError::from)))
}

/// An `events` row borrowed from a batch: what verification reads, without copying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// Chain id.
    pub chain: &'a str,
    /// Position in the chain.
    pub seq: u64,
    /// Event time as written.
    pub ts: &'a str,
    /// Key id.
    pub kid: &'a str,
    /// Previous hash as written.
    pub prev: &'a str,
    /// Claimed hash.
    pub hash: &'a str,
    /// Claimed signature.
    pub sig: &'a str,
    /// The event's JSON text.
    pub event_json: &'a str,
    /// Line in the source object.
    pub line: u64,
}

impl EventRow {
    /// Borrows the row.
    pub fn as_ref(&self) -> EventRef<'_> {
        EventRef {
            chain: &self.chain,
            seq: self.seq,
            ts: &self.ts,
            kid: &self.kid,
            prev: &self.prev,
            hash: &self.hash,
            sig: &self.sig,
            event_json: &self.event_json,
            line: self.provenance.line,
        }
    }
}

/// Rows of events that can be lent out as [`EventRef`]s: a decoded `events` batch, or owned rows.
pub trait EventBatch: Send + Sync {
    /// The rows, in order.
    fn refs(&self) -> Vec<EventRef<'_>>;
}

impl EventBatch for Vec<EventRow> {
    fn refs(&self) -> Vec<EventRef<'_>> {
        self.iter().map(EventRow::as_ref).collect()
    }
}

/// A decoded `events` batch whose columns have been checked.
pub struct EventsBatch(RecordBatch);

impl EventsBatch {
    /// Checks that `batch` has the `events` columns the verifier reads.
    pub fn try_new(batch: RecordBatch) -> Result<Self, TableError> {
        event_refs(&batch)?;
        Ok(Self(batch))
    }
}

impl EventBatch for EventsBatch {
    fn refs(&self) -> Vec<EventRef<'_>> {
        event_refs(&self.0).unwrap_or_default()
    }
}

/// Borrows the rows of an `events` batch.
pub fn event_refs(batch: &RecordBatch) -> Result<Vec<EventRef<'_>>, TableError> {
    let chain: &StringArray = col(batch, "chain")?;
    let seq: &UInt64Array = col(batch, "seq")?;
    let ts: &StringArray = col(batch, "ts")?;
    let kid: &StringArray = col(batch, "kid")?;
    let prev: &StringArray = col(batch, "prev")?;
    let hash: &StringArray = col(batch, "hash")?;
    let sig: &StringArray = col(batch, "sig")?;
    let json: &StringArray = col(batch, "event_json")?;
    let line: &UInt64Array = col(batch, "line")?;
    Ok((0..batch.num_rows())
        .map(|i| EventRef {
            chain: chain.value(i),
            seq: seq.value(i),
            ts: ts.value(i),
            kid: kid.value(i),
            prev: prev.value(i),
            hash: hash.value(i),
            sig: sig.value(i),
            event_json: json.value(i),
            line: line.value(i),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_results_read_back_as_written() {
        let at = from_micros(1_795_000_000_000_000);
        let rows = vec![
            ControlResultRow {
                run_id: "r1".into(),
                control_id: "LOG-01".into(),
                status: "passing".into(),
                reasons: "[]".into(),
                evidence: r#"[{"key":"k","sha256":"00"}]"#.into(),
                failing_findings: "[]".into(),
                evidence_fresh_at: Some("2026-11-21T02:02:00Z".into()),
                evaluated_at: at,
            },
            ControlResultRow {
                run_id: "r1".into(),
                control_id: "RET-05".into(),
                status: "stale".into(),
                reasons: r#"["old"]"#.into(),
                evidence: "[]".into(),
                failing_findings: "[]".into(),
                evidence_fresh_at: None,
                evaluated_at: at,
            },
        ];
        let batch = control_results_batch(&rows).expect("batch");
        assert_eq!(control_result_rows(&batch).expect("rows"), rows);
    }
}
