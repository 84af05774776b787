//! The lake's tables: one Arrow schema each, and the row types that fill them.
//!
//! | table | one row per |
//! | --- | --- |
//! | `events` | collected audit event: its original JSON text, its chain columns and its provenance |
//! | `quarantine` | source record that could not be collected, with file, line and reason |
//! | `findings` | verification finding: kind, chain, seq, lake object, line, detail |
//!
//! Every row of every table ends with the provenance envelope ([`envelope_fields`]): `origin`
//! (source name, object key, line and byte offset), `actor` (what wrote the row, with its
//! version), `timestamp` (when), `confidence` (`verified`, `unverified` or `failed`) and
//! `simulated`. Collected rows also keep the sha256 of the raw record and the run id.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, StringBuilder, TimestampMicrosecondBuilder, UInt64Builder};
use arrow_array::{
    Array, ArrayRef, BooleanArray, RecordBatch, StringArray, StructArray, TimestampMicrosecondArray, UInt64Array,
};
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use crate::event::Claims;
use crate::finding::{Finding, FindingKind};

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
    /// Signed, dated acknowledgements of open findings.
    pub const ACKNOWLEDGEMENTS: &str = "acknowledgements";
    /// Disclosed personal values of events, in the vault beside the lake (not a lake table).
    pub const DISCLOSURES: &str = "disclosures";
    /// One row per attestation subject.
    pub const ATTESTATIONS: &str = "attestations";
    /// One row per SBOM document.
    pub const SBOMS: &str = "sboms";
    /// One row per SBOM component.
    pub const SBOM_COMPONENTS: &str = "sbom_components";
    /// Component changes between two SBOMs of one subject.
    pub const SBOM_DIFFS: &str = "sbom_diffs";
    /// One row per vulnerability-scan report.
    pub const SCANS: &str = "scans";
    /// One row per vulnerability a scan reports (one package affected by one advisory).
    pub const VULNERABILITIES: &str = "vulnerabilities";
    /// Vulnerabilities that appeared or were fixed between successive scans of one subject.
    pub const VULNERABILITY_CHANGES: &str = "vulnerability_changes";
    /// One row per test report (a JUnit XML file).
    pub const TEST_RUNS: &str = "test_runs";
    /// One row per test case of a test report.
    pub const TEST_CASES: &str = "test_cases";
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
    /// A value this version of Cairn does not know (written by a newer one).
    #[error("column `{column}` holds {value:?}, which this version does not know")]
    Value {
        /// The column.
        column: &'static str,
        /// The value.
        value: String,
    },
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
    Arc::new(Schema::new(
        [
            s("chain", false),
            u("seq", false),
            s("ts", false),
            s("kid", false),
            s("event_json", false),
            s("siem_time", true),
            s("siem_meta", true),
        ]
        .into_iter()
        .chain(provenance_fields())
        .collect::<Vec<_>>(),
    ))
}

/// Schema of `quarantine`.
pub fn quarantine_schema() -> SchemaRef {
    Arc::new(Schema::new(
        [s("reason", false), s("raw", false)].into_iter().chain(provenance_fields()).collect::<Vec<_>>(),
    ))
}

/// Schema of `findings`.
pub fn findings_schema() -> SchemaRef {
    Arc::new(Schema::new(
        [
            s("kind", false),
            s("chain", true),
            u("seq", true),
            s("object_key", true),
            u("line", true),
            s("detail", false),
            s("run_id", false),
        ]
        .into_iter()
        .chain(envelope_fields())
        .collect::<Vec<_>>(),
    ))
}

/// Schema of `control_results`.
pub fn control_results_schema() -> SchemaRef {
    Arc::new(Schema::new(
        [
            s("run_id", false),
            s("control_id", false),
            s("status", false),
            s("reasons", false),
            s("evidence", false),
            s("failing_findings", false),
            s("evidence_fresh_at", true),
        ]
        .into_iter()
        .chain(envelope_fields())
        .collect::<Vec<_>>(),
    ))
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
    /// When it was evaluated (the `timestamp` column).
    pub evaluated_at: DateTime<Utc>,
    /// True when any evidence it rests on is simulated.
    pub simulated: bool,
}

impl ControlResultRow {
    /// The row's envelope: written by the evaluator, from the verify run.
    pub fn envelope<'a>(&self, actor: &'a str) -> Envelope<'a> {
        Envelope {
            source: "verify",
            object_key: "",
            line: 0,
            byte_offset: 0,
            actor,
            timestamp: self.evaluated_at,
            confidence: Confidence::Verified,
            simulated: self.simulated,
        }
    }
}

/// Builds a `RecordBatch` of `control_results`.
pub fn control_results_batch(rows: &[ControlResultRow]) -> Result<RecordBatch, TableError> {
    let mut cols: Vec<StringBuilder> = (0..6).map(|_| StringBuilder::new()).collect();
    let mut fresh = StringBuilder::new();
    let mut envelope = EnvelopeBuilder::new();
    let actor = evaluator_actor();
    for r in rows {
        for (b, v) in
            cols.iter_mut().zip([&r.run_id, &r.control_id, &r.status, &r.reasons, &r.evidence, &r.failing_findings])
        {
            b.append_value(v);
        }
        fresh.append_option(r.evidence_fresh_at.as_deref());
        envelope.push(&r.envelope(&actor));
    }
    let mut arrays: Vec<ArrayRef> = cols.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef).collect();
    arrays.push(Arc::new(fresh.finish()));
    arrays.extend(envelope.finish());
    Ok(RecordBatch::try_new(control_results_schema(), arrays)?)
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
    /// The event's JSON text. The table stores `prev`, `hash` and `sig` only inside it: they are
    /// what the event claims, and its text is what was signed.
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

/// A finding's envelope in the `findings` table: written by the verifier; its origin is the lake
/// object (and line) the finding points at.
pub fn finding_envelope<'a>(f: &'a Finding, actor: &'a str) -> Envelope<'a> {
    Envelope {
        source: "verify",
        object_key: f.object_key.as_deref().unwrap_or_default(),
        line: f.line.unwrap_or_default(),
        byte_offset: 0,
        actor,
        timestamp: f.found_at.unwrap_or_default(),
        confidence: Confidence::Verified,
        simulated: f.simulated,
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(v: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(v).unwrap_or_default()
}

/// How far a row's content had been checked when it was written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Checked by the verifier (its own findings and evaluations, or content whose signature it
    /// checked as it was written).
    Verified,
    /// Collected as it was; the checks come later, in `verify`, and land as findings.
    #[default]
    Unverified,
    /// Could not be read or failed its checks (quarantined records).
    Failed,
}

impl Confidence {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Unverified => "unverified",
            Self::Failed => "failed",
        }
    }

    /// Reads a column value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "verified" => Some(Self::Verified),
            "unverified" => Some(Self::Unverified),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// The version written into `actor`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The `actor` of rows a collector wrote: `cairn-collector/<version> (<source type>)`.
pub fn collector_actor(source_type: &str) -> String {
    format!("cairn-collector/{VERSION} ({source_type})")
}

/// The `actor` of findings.
pub fn verifier_actor() -> String {
    format!("cairn-verifier/{VERSION}")
}

/// The `actor` of control evaluations.
pub fn evaluator_actor() -> String {
    format!("cairn-controls/{VERSION}")
}

/// Where a record came from, who wrote it, and how far it can be trusted.
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
    /// When it was collected (the `timestamp` column).
    pub collected_at: DateTime<Utc>,
    /// What wrote the row ([`collector_actor`]).
    pub actor: String,
    /// How far the row had been checked when written.
    pub confidence: Confidence,
    /// True for synthetic data (the demo, or a source declared `simulated`).
    pub simulated: bool,
}

impl Provenance {
    /// The row's envelope.
    pub fn envelope(&self) -> Envelope<'_> {
        Envelope {
            source: &self.source,
            object_key: &self.object_key,
            line: self.line,
            byte_offset: self.byte_offset,
            actor: &self.actor,
            timestamp: self.collected_at,
            confidence: self.confidence,
            simulated: self.simulated,
        }
    }
}

/// The five provenance columns of one row: `origin` (source, object key, line, byte offset),
/// `actor`, `timestamp`, `confidence`, `simulated`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// `origin.source`: the source name, or the step that derived the row (`verify`).
    pub source: &'a str,
    /// `origin.object_key`: the object read (empty when none).
    pub object_key: &'a str,
    /// `origin.line`: 1-based line in that object (0 when not line-based).
    pub line: u64,
    /// `origin.byte_offset`.
    pub byte_offset: u64,
    /// What wrote the row, with its version.
    pub actor: &'a str,
    /// When the row was written (collected, found, evaluated).
    pub timestamp: DateTime<Utc>,
    /// How far it had been checked.
    pub confidence: Confidence,
    /// Synthetic data.
    pub simulated: bool,
}

/// An [`Envelope`] read back, owned.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EnvelopeRow {
    /// `origin.source`.
    pub source: String,
    /// `origin.object_key`.
    pub object_key: String,
    /// `origin.line`.
    pub line: u64,
    /// `origin.byte_offset`.
    pub byte_offset: u64,
    /// `actor`.
    pub actor: String,
    /// `timestamp`.
    pub timestamp: DateTime<Utc>,
    /// `confidence`.
    pub confidence: Confidence,
    /// `simulated`.
    pub simulated: bool,
}

/// Names of the envelope's columns, in schema order.
pub const ENVELOPE_COLUMNS: [&str; 5] = ["origin", "actor", "timestamp", "confidence", "simulated"];

fn origin_fields() -> Fields {
    Fields::from(vec![s("source", false), s("object_key", false), u("line", false), u("byte_offset", false)])
}

/// The envelope columns every table ends with.
pub fn envelope_fields() -> Vec<Field> {
    vec![
        Field::new("origin", DataType::Struct(origin_fields()), false),
        s("actor", false),
        Field::new("timestamp", ts_type(), false),
        s("confidence", false),
        Field::new("simulated", DataType::Boolean, false),
    ]
}

/// The columns every collected table ends with: the raw record's digest, the run, the envelope.
pub(crate) fn provenance_fields() -> Vec<Field> {
    let mut fields = vec![s("record_sha256", false), s("run_id", false)];
    fields.extend(envelope_fields());
    fields
}

pub(crate) struct EnvelopeBuilder {
    source: StringBuilder,
    object_key: StringBuilder,
    line: UInt64Builder,
    byte_offset: UInt64Builder,
    actor: StringBuilder,
    timestamp: TimestampMicrosecondBuilder,
    confidence: StringBuilder,
    simulated: BooleanBuilder,
}

impl EnvelopeBuilder {
    pub(crate) fn new() -> Self {
        Self {
            source: StringBuilder::new(),
            object_key: StringBuilder::new(),
            line: UInt64Builder::new(),
            byte_offset: UInt64Builder::new(),
            actor: StringBuilder::new(),
            timestamp: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            confidence: StringBuilder::new(),
            simulated: BooleanBuilder::new(),
        }
    }
    pub(crate) fn push(&mut self, e: &Envelope<'_>) {
        self.source.append_value(e.source);
        self.object_key.append_value(e.object_key);
        self.line.append_value(e.line);
        self.byte_offset.append_value(e.byte_offset);
        self.actor.append_value(e.actor);
        self.timestamp.append_value(micros(e.timestamp));
        self.confidence.append_value(e.confidence.as_str());
        self.simulated.append_value(e.simulated);
    }
    /// The envelope columns, in schema order.
    pub(crate) fn finish(mut self) -> Vec<ArrayRef> {
        let origin = StructArray::new(
            origin_fields(),
            vec![
                Arc::new(self.source.finish()),
                Arc::new(self.object_key.finish()),
                Arc::new(self.line.finish()),
                Arc::new(self.byte_offset.finish()),
            ],
            None,
        );
        vec![
            Arc::new(origin),
            Arc::new(self.actor.finish()),
            Arc::new(self.timestamp.finish()),
            Arc::new(self.confidence.finish()),
            Arc::new(self.simulated.finish()),
        ]
    }
}

pub(crate) struct ProvenanceBuilder {
    record_sha256: StringBuilder,
    run_id: StringBuilder,
    envelope: EnvelopeBuilder,
}

impl ProvenanceBuilder {
    pub(crate) fn new() -> Self {
        Self { record_sha256: StringBuilder::new(), run_id: StringBuilder::new(), envelope: EnvelopeBuilder::new() }
    }
    pub(crate) fn push(&mut self, p: &Provenance) {
        self.record_sha256.append_value(&p.record_sha256);
        self.run_id.append_value(&p.run_id);
        self.envelope.push(&p.envelope());
    }
    /// The provenance columns, in schema order.
    pub(crate) fn finish(mut self) -> Vec<ArrayRef> {
        let mut columns: Vec<ArrayRef> = vec![Arc::new(self.record_sha256.finish()), Arc::new(self.run_id.finish())];
        columns.extend(self.envelope.finish());
        columns
    }
}

/// An `events` row borrowed from where it was read: what [`EventsBuilder`] appends, so a
/// collector can fill the columns straight from its input, without a row of owned strings.
#[derive(Clone, Copy, Debug)]
pub struct EventView<'a> {
    /// Chain id.
    pub chain: &'a str,
    /// Position in the chain.
    pub seq: u64,
    /// Event time as written.
    pub ts: &'a str,
    /// Key id.
    pub kid: &'a str,
    /// The event's JSON text, which carries its claimed `prev`, `hash` and `sig`.
    pub event_json: &'a str,
    /// The SIEM's own time for the record.
    pub siem_time: Option<&'a str>,
    /// The SIEM's own metadata, as a JSON object.
    pub siem_meta: Option<&'a str>,
    /// Lowercase hex SHA-256 of the raw record bytes.
    pub record_sha256: &'a str,
    /// The run that collected it.
    pub run_id: &'a str,
    /// Its provenance envelope.
    pub envelope: Envelope<'a>,
}

impl<'a> EventView<'a> {
    /// The view of an owned row.
    pub fn of(r: &'a EventRow) -> Self {
        Self {
            chain: &r.chain,
            seq: r.seq,
            ts: &r.ts,
            kid: &r.kid,
            event_json: &r.event_json,
            siem_time: r.siem_time.as_deref(),
            siem_meta: r.siem_meta.as_deref(),
            record_sha256: &r.provenance.record_sha256,
            run_id: &r.provenance.run_id,
            envelope: r.provenance.envelope(),
        }
    }
}

/// The `events` columns being filled a row at a time; [`EventsBuilder::finish`] makes the batch.
pub struct EventsBuilder {
    /// chain, ts, kid, event_json: in schema order.
    text: [StringBuilder; 4],
    seq: UInt64Builder,
    siem_time: StringBuilder,
    siem_meta: StringBuilder,
    record_sha256: StringBuilder,
    run_id: StringBuilder,
    envelope: EnvelopeBuilder,
    rows: usize,
    simulated: bool,
}

impl EventsBuilder {
    /// Room for `rows` rows whose event texts take about `json_bytes` bytes in all: a batch of
    /// that size is then built without its buffers being copied as they grow.
    pub fn with_capacity(rows: usize, json_bytes: usize) -> Self {
        let text = |bytes: usize| StringBuilder::with_capacity(rows, bytes);
        Self {
            text: [text(rows * 16), text(rows * 32), text(rows * 16), text(json_bytes)],
            seq: UInt64Builder::with_capacity(rows),
            siem_time: StringBuilder::new(),
            siem_meta: StringBuilder::new(),
            record_sha256: text(rows * 64),
            run_id: StringBuilder::new(),
            envelope: EnvelopeBuilder::new(),
            rows: 0,
            simulated: false,
        }
    }

    /// Appends a row.
    pub fn push(&mut self, r: &EventView<'_>) {
        let [chain, ts, kid, json] = &mut self.text;
        chain.append_value(r.chain);
        ts.append_value(r.ts);
        kid.append_value(r.kid);
        json.append_value(r.event_json);
        self.seq.append_value(r.seq);
        self.siem_time.append_option(r.siem_time);
        self.siem_meta.append_option(r.siem_meta);
        self.record_sha256.append_value(r.record_sha256);
        self.run_id.append_value(r.run_id);
        self.envelope.push(&r.envelope);
        self.rows += 1;
        self.simulated |= r.envelope.simulated;
    }

    /// Rows appended.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// No row appended.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Bytes of event text appended.
    pub fn json_bytes(&self) -> usize {
        self.text[3].values_slice().len()
    }

    /// Whether any row appended is simulated.
    pub fn simulated(&self) -> bool {
        self.simulated
    }

    /// The batch of the rows appended.
    pub fn finish(self) -> Result<RecordBatch, TableError> {
        let Self { text, mut seq, mut siem_time, mut siem_meta, mut record_sha256, mut run_id, envelope, .. } = self;
        let [chain, ts, kid, json] = text.map(|mut b| Arc::new(b.finish()) as ArrayRef);
        let mut arrays: Vec<ArrayRef> = vec![
            chain,
            Arc::new(seq.finish()),
            ts,
            kid,
            json,
            Arc::new(siem_time.finish()),
            Arc::new(siem_meta.finish()),
            Arc::new(record_sha256.finish()),
            Arc::new(run_id.finish()),
        ];
        arrays.extend(envelope.finish());
        Ok(RecordBatch::try_new(events_schema(), arrays)?)
    }
}

/// Builds a `RecordBatch` of `events`.
pub fn events_batch(rows: &[EventRow]) -> Result<RecordBatch, TableError> {
    let json = rows.iter().map(|r| r.event_json.len()).sum();
    let mut builder = EventsBuilder::with_capacity(rows.len(), json);
    for r in rows {
        builder.push(&EventView::of(r));
    }
    builder.finish()
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
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(reason.finish()), Arc::new(raw.finish())];
    arrays.extend(p.finish());
    Ok(RecordBatch::try_new(quarantine_schema(), arrays)?)
}

/// Builds a `RecordBatch` of `findings`.
pub fn findings_batch(rows: &[Finding]) -> Result<RecordBatch, TableError> {
    let mut kind = StringBuilder::new();
    let mut chain = StringBuilder::new();
    let mut seq = UInt64Builder::new();
    let mut object_key = StringBuilder::new();
    let mut line = UInt64Builder::new();
    let mut detail = StringBuilder::new();
    let mut run_id = StringBuilder::new();
    let mut envelope = EnvelopeBuilder::new();
    let actor = verifier_actor();
    for r in rows {
        kind.append_value(r.kind.as_str());
        chain.append_option(r.chain.as_deref());
        seq.append_option(r.seq);
        object_key.append_option(r.object_key.as_deref());
        line.append_option(r.line);
        detail.append_value(&r.detail);
        run_id.append_value(&r.run_id);
        envelope.push(&finding_envelope(r, &actor));
    }
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(kind.finish()),
        Arc::new(chain.finish()),
        Arc::new(seq.finish()),
        Arc::new(object_key.finish()),
        Arc::new(line.finish()),
        Arc::new(detail.finish()),
        Arc::new(run_id.finish()),
    ];
    arrays.extend(envelope.finish());
    Ok(RecordBatch::try_new(findings_schema(), arrays)?)
}

pub(crate) fn col<'a, T: 'static>(batch: &'a RecordBatch, name: &'static str) -> Result<&'a T, TableError> {
    batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref::<T>()).ok_or(TableError::Column(name))
}

/// The envelope columns of a batch.
pub(crate) struct EnvelopeColumns<'a> {
    source: &'a StringArray,
    object_key: &'a StringArray,
    line: &'a UInt64Array,
    byte_offset: &'a UInt64Array,
    actor: &'a StringArray,
    timestamp: &'a TimestampMicrosecondArray,
    confidence: &'a StringArray,
    simulated: &'a BooleanArray,
}

fn child<'a, T: 'static>(origin: &'a StructArray, name: &'static str) -> Result<&'a T, TableError> {
    origin.column_by_name(name).and_then(|c| c.as_any().downcast_ref::<T>()).ok_or(TableError::Column(name))
}

impl<'a> EnvelopeColumns<'a> {
    pub(crate) fn of(batch: &'a RecordBatch) -> Result<Self, TableError> {
        let origin: &StructArray = col(batch, "origin")?;
        Ok(Self {
            source: child(origin, "source")?,
            object_key: child(origin, "object_key")?,
            line: child(origin, "line")?,
            byte_offset: child(origin, "byte_offset")?,
            actor: col(batch, "actor")?,
            timestamp: col(batch, "timestamp")?,
            confidence: col(batch, "confidence")?,
            simulated: col(batch, "simulated")?,
        })
    }
    fn confidence(&self, i: usize) -> Confidence {
        Confidence::parse(self.confidence.value(i)).unwrap_or(Confidence::Unverified)
    }
    pub(crate) fn row(&self, i: usize) -> EnvelopeRow {
        EnvelopeRow {
            source: self.source.value(i).to_string(),
            object_key: self.object_key.value(i).to_string(),
            line: self.line.value(i),
            byte_offset: self.byte_offset.value(i),
            actor: self.actor.value(i).to_string(),
            timestamp: from_micros(self.timestamp.value(i)),
            confidence: self.confidence(i),
            simulated: self.simulated.value(i),
        }
    }
}

/// Reads the envelope of every row of a batch of any table.
pub fn envelope_rows(batch: &RecordBatch) -> Result<Vec<EnvelopeRow>, TableError> {
    let e = EnvelopeColumns::of(batch)?;
    Ok((0..batch.num_rows()).map(|i| e.row(i)).collect())
}

/// True when any row of the batch is marked simulated (false for a batch without the column).
pub fn any_simulated(batch: &RecordBatch) -> bool {
    col::<BooleanArray>(batch, "simulated").is_ok_and(|a| a.true_count() > 0)
}

pub(crate) struct ProvenanceColumns<'a> {
    record_sha256: &'a StringArray,
    run_id: &'a StringArray,
    envelope: EnvelopeColumns<'a>,
}

impl<'a> ProvenanceColumns<'a> {
    pub(crate) fn of(batch: &'a RecordBatch) -> Result<Self, TableError> {
        Ok(Self {
            record_sha256: col(batch, "record_sha256")?,
            run_id: col(batch, "run_id")?,
            envelope: EnvelopeColumns::of(batch)?,
        })
    }
    pub(crate) fn row(&self, i: usize) -> Provenance {
        let e = &self.envelope;
        Provenance {
            source: e.source.value(i).to_string(),
            object_key: e.object_key.value(i).to_string(),
            line: e.line.value(i),
            byte_offset: e.byte_offset.value(i),
            record_sha256: self.record_sha256.value(i).to_string(),
            run_id: self.run_id.value(i).to_string(),
            collected_at: from_micros(e.timestamp.value(i)),
            actor: e.actor.value(i).to_string(),
            confidence: e.confidence(i),
            simulated: e.simulated.value(i),
        }
    }
}

/// The sources named in the provenance envelopes of a batch of any table (its `origin.source`).
pub fn sources_of(batch: &RecordBatch) -> Result<std::collections::BTreeSet<String>, TableError> {
    let e = EnvelopeColumns::of(batch)?;
    Ok(e.source.iter().flatten().map(str::to_string).collect())
}

/// Reads the rows of an `events` batch.
pub fn event_rows(batch: &RecordBatch) -> Result<Vec<EventRow>, TableError> {
    let p = ProvenanceColumns::of(batch)?;
    let siem_time: &StringArray = col(batch, "siem_time")?;
    let siem_meta: &StringArray = col(batch, "siem_meta")?;
    Ok(EventsBatch::try_new(batch.clone())?
        .try_refs()?
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
pub fn finding_rows(batch: &RecordBatch) -> Result<Vec<Finding>, TableError> {
    let kind: &StringArray = col(batch, "kind")?;
    let chain: &StringArray = col(batch, "chain")?;
    let seq: &UInt64Array = col(batch, "seq")?;
    let object_key: &StringArray = col(batch, "object_key")?;
    let line: &UInt64Array = col(batch, "line")?;
    let detail: &StringArray = col(batch, "detail")?;
    let run_id: &StringArray = col(batch, "run_id")?;
    let envelope = EnvelopeColumns::of(batch)?;
    let opt_s = |a: &StringArray, i| (!a.is_null(i)).then(|| a.value(i).to_string());
    let opt_u = |a: &UInt64Array, i| (!a.is_null(i)).then(|| a.value(i));
    (0..batch.num_rows())
        .map(|i| {
            let text = kind.value(i);
            let kind = FindingKind::parse(text)
                .ok_or_else(|| TableError::Value { column: "kind", value: text.to_string() })?;
            Ok(Finding {
                kind,
                chain: opt_s(chain, i),
                seq: opt_u(seq, i),
                object_key: opt_s(object_key, i),
                line: opt_u(line, i),
                detail: detail.value(i).to_string(),
                run_id: run_id.value(i).to_string(),
                found_at: Some(from_micros(envelope.timestamp.value(i))),
                simulated: envelope.simulated.value(i),
            })
        })
        .collect()
}

/// Reads the rows of a `control_results` batch.
pub fn control_result_rows(batch: &RecordBatch) -> Result<Vec<ControlResultRow>, TableError> {
    let text = |name| -> Result<&StringArray, TableError> { col(batch, name) };
    let (run_id, control_id, status) = (text("run_id")?, text("control_id")?, text("status")?);
    let (reasons, evidence, failing) = (text("reasons")?, text("evidence")?, text("failing_findings")?);
    let fresh = text("evidence_fresh_at")?;
    let envelope = EnvelopeColumns::of(batch)?;
    Ok((0..batch.num_rows())
        .map(|i| ControlResultRow {
            run_id: run_id.value(i).to_string(),
            control_id: control_id.value(i).to_string(),
            status: status.value(i).to_string(),
            reasons: reasons.value(i).to_string(),
            evidence: evidence.value(i).to_string(),
            failing_findings: failing.value(i).to_string(),
            evidence_fresh_at: (!fresh.is_null(i)).then(|| fresh.value(i).to_string()),
            evaluated_at: from_micros(envelope.timestamp.value(i)),
            simulated: envelope.simulated.value(i),
        })
        .collect())
}

/// Rows per Parquet row group: small enough that a reader holds one group in little memory.
pub const ROW_GROUP_ROWS: usize = 16 * 1024;

/// Columns written without dictionary encoding.
const UNIQUE_COLUMNS: [&str; 5] = ["event_json", "record_sha256", "seq", "siem_meta", "ts"];

/// Columns of random bytes (hex digests), written uncompressed.
const RANDOM_COLUMNS: [&str; 1] = ["record_sha256"];

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
        Self::with_capacity(schema, 0)
    }

    /// A writer whose output buffer starts with room for `bytes`: a part about the size of the
    /// last one is then written without the buffer being copied as it grows.
    pub fn with_capacity(schema: SchemaRef, bytes: usize) -> Result<Self, TableError> {
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
        if schema.column_with_name("origin").is_some() {
            for unique in ["line", "byte_offset"] {
                let path = parquet::schema::types::ColumnPath::new(vec!["origin".into(), unique.into()]);
                props = props.set_column_dictionary_enabled(path, false);
            }
        }
        // Minimum and maximum of random text or of whole events prune nothing: not kept.
        for column in RANDOM_COLUMNS.iter().chain(&["event_json"]) {
            if schema.column_with_name(column).is_some() {
                props = props.set_column_statistics_enabled(
                    parquet::schema::types::ColumnPath::from(*column),
                    parquet::file::properties::EnabledStatistics::None,
                );
            }
        }
        // Digests are random: compressing them costs time and saves nothing.
        for column in RANDOM_COLUMNS {
            if schema.column_with_name(column).is_some() {
                props = props.set_column_compression(
                    parquet::schema::types::ColumnPath::from(column),
                    Compression::UNCOMPRESSED,
                );
            }
        }
        Ok(Self { writer: ArrowWriter::try_new(Vec::with_capacity(bytes), schema, Some(props.build()))? })
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

/// A decoded `events` batch whose columns have been checked, with each event's claimed `prev`,
/// `hash` and `sig` found in its text (the table keeps them nowhere else).
pub struct EventsBatch {
    batch: RecordBatch,
    claims: Vec<Claims>,
}

impl EventsBatch {
    /// Checks that `batch` has the `events` columns the verifier reads, and finds each event's
    /// claims.
    pub fn try_new(batch: RecordBatch) -> Result<Self, TableError> {
        let json: &StringArray = col(&batch, "event_json")?;
        let claims = json.iter().map(|text| Claims::find(text.unwrap_or_default())).collect();
        let checked = Self { batch, claims };
        checked.try_refs()?;
        Ok(checked)
    }

    /// Borrows the rows.
    pub fn try_refs(&self) -> Result<Vec<EventRef<'_>>, TableError> {
        let batch = &self.batch;
        let chain: &StringArray = col(batch, "chain")?;
        let seq: &UInt64Array = col(batch, "seq")?;
        let ts: &StringArray = col(batch, "ts")?;
        let kid: &StringArray = col(batch, "kid")?;
        let json: &StringArray = col(batch, "event_json")?;
        let line: &UInt64Array = child(col(batch, "origin")?, "line")?;
        Ok((0..batch.num_rows())
            .zip(&self.claims)
            .map(|(i, claims)| {
                let text = json.value(i);
                EventRef {
                    chain: chain.value(i),
                    seq: seq.value(i),
                    ts: ts.value(i),
                    kid: kid.value(i),
                    prev: claims.prev(text),
                    hash: claims.hash(text),
                    sig: claims.sig(text),
                    event_json: text,
                    line: line.value(i),
                }
            })
            .collect())
    }
}

impl EventBatch for EventsBatch {
    fn refs(&self) -> Vec<EventRef<'_>> {
        self.try_refs().unwrap_or_default()
    }
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
                simulated: false,
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
                simulated: true,
            },
        ];
        let batch = control_results_batch(&rows).expect("batch");
        assert_eq!(control_result_rows(&batch).expect("rows"), rows);
    }
}
