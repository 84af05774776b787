//! The supply-chain and design tables: attestations, SBOMs and their components, threat models
//! and their threats, release artefacts. One row type each, with the same provenance columns as
//! every other table; the artefact's exact bytes are a content-addressed blob named by `blob`.
//!
//! | table | one row per |
//! | --- | --- |
//! | `attestations` | subject of an attestation (DSSE envelope or Sigstore bundle) |
//! | `sboms` | SBOM document (CycloneDX or SPDX) |
//! | `sbom_components` | component (package) listed by an SBOM |
//! | `sbom_diffs` | component added, removed or changed between two SBOMs of one subject |
//! | `scans` | vulnerability-scan report (Trivy, Grype, OSV-Scanner, SARIF) |
//! | `vulnerabilities` | vulnerability a scan reports: one advisory on one package (or one SARIF result) |
//! | `vulnerability_changes` | vulnerability that appeared in, or was fixed by, a scan of a subject |
//! | `test_runs` | test report (JUnit XML), its totals counted from its cases |
//! | `test_cases` | test case of a test report |
//! | `threat_models` | threat model (Threat Dragon or Markdown) |
//! | `threats` | threat of a threat model |
//! | `artefacts` | release artefact file seen, with its digest |
//! | `documents` | document recorded as evidence of manual controls (policy, review, contract) |
//! | `policies` | signed policy Decision Card, one row per card file |
//! | `keys` | key of a published key document at one fetch, or the fetch itself |

use std::sync::Arc;

use arrow_array::builder::{StringBuilder, UInt64Builder};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::tables::{col, names, provenance_fields, Provenance, ProvenanceBuilder, ProvenanceColumns, TableError};

/// A row type with its own table.
pub trait LakeTable: Sized {
    /// The table's name.
    const TABLE: &'static str;
    /// The Arrow schema.
    fn schema() -> SchemaRef;
    /// Builds a batch of rows.
    fn to_batch(rows: &[Self]) -> Result<RecordBatch, TableError>;
    /// Reads the rows of a batch.
    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, TableError>;
}

/// A Rust type stored as one Arrow column.
pub trait Column: Sized {
    /// The column's field.
    fn field(name: &str) -> Field;
    /// Builds the column.
    fn build<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef
    where
        Self: 'a;
    /// Reads value `i` of column `name`.
    fn read(batch: &RecordBatch, name: &'static str) -> Result<Vec<Self>, TableError>;
}

impl Column for String {
    fn field(name: &str) -> Field {
        Field::new(name, DataType::Utf8, false)
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef {
        let mut b = StringBuilder::new();
        for v in values {
            b.append_value(v);
        }
        Arc::new(b.finish())
    }
    fn read(batch: &RecordBatch, name: &'static str) -> Result<Vec<Self>, TableError> {
        let a: &StringArray = col(batch, name)?;
        Ok((0..a.len()).map(|i| a.value(i).to_string()).collect())
    }
}

impl Column for Option<String> {
    fn field(name: &str) -> Field {
        Field::new(name, DataType::Utf8, true)
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef {
        let mut b = StringBuilder::new();
        for v in values {
            b.append_option(v.as_deref());
        }
        Arc::new(b.finish())
    }
    fn read(batch: &RecordBatch, name: &'static str) -> Result<Vec<Self>, TableError> {
        let a: &StringArray = col(batch, name)?;
        Ok((0..a.len()).map(|i| (!a.is_null(i)).then(|| a.value(i).to_string())).collect())
    }
}

impl Column for u64 {
    fn field(name: &str) -> Field {
        Field::new(name, DataType::UInt64, false)
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef {
        let mut b = UInt64Builder::new();
        for v in values {
            b.append_value(*v);
        }
        Arc::new(b.finish())
    }
    fn read(batch: &RecordBatch, name: &'static str) -> Result<Vec<Self>, TableError> {
        let a: &UInt64Array = col(batch, name)?;
        Ok(a.values().to_vec())
    }
}

impl Column for Option<u64> {
    fn field(name: &str) -> Field {
        Field::new(name, DataType::UInt64, true)
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef {
        let mut b = UInt64Builder::new();
        for v in values {
            b.append_option(*v);
        }
        Arc::new(b.finish())
    }
    fn read(batch: &RecordBatch, name: &'static str) -> Result<Vec<Self>, TableError> {
        let a: &UInt64Array = col(batch, name)?;
        Ok((0..a.len()).map(|i| (!a.is_null(i)).then(|| a.value(i))).collect())
    }
}

/// Declares a row type, its table name and its schema; every table gets the provenance columns.
macro_rules! lake_table {
    (
        $(#[$meta:meta])*
        pub struct $row:ident in $table:path {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
        pub struct $row {
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// Where it came from.
            #[serde(skip)]
            pub provenance: Provenance,
        }

        impl LakeTable for $row {
            const TABLE: &'static str = $table;

            fn schema() -> SchemaRef {
                let mut fields = vec![$( <$ty as Column>::field(stringify!($field)), )*];
                fields.extend(provenance_fields());
                Arc::new(Schema::new(fields))
            }

            fn to_batch(rows: &[Self]) -> Result<RecordBatch, TableError> {
                let mut arrays: Vec<ArrayRef> = vec![$( <$ty as Column>::build(rows.iter().map(|r| &r.$field)), )*];
                let mut p = ProvenanceBuilder::new();
                for r in rows {
                    p.push(&r.provenance);
                }
                arrays.extend(p.finish());
                Ok(RecordBatch::try_new(Self::schema(), arrays)?)
            }

            fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, TableError> {
                let p = ProvenanceColumns::of(batch)?;
                $( let mut $field = <$ty as Column>::read(batch, stringify!($field))?.into_iter(); )*
                Ok((0..batch.num_rows())
                    .map(|i| Self { $( $field: $field.next().unwrap_or_default(), )* provenance: p.row(i) })
                    .collect())
            }
        }
    };
}

pub(crate) use lake_table;

lake_table! {
    /// One subject of an attestation. An envelope with three subjects gives three rows.
    pub struct AttestationRow in names::ATTESTATIONS {
        /// `dsse` (a bare envelope) or `sigstore-bundle`.
        pub format: String,
        /// The blob holding the artefact's exact bytes (the whole source file).
        pub blob: String,
        /// The envelope's `payloadType`, or the bundle's media type for a message signature.
        pub payload_type: String,
        /// The in-toto `predicateType` (empty for a message signature).
        pub predicate_type: String,
        /// Subject name.
        pub subject_name: String,
        /// Digest algorithm (`sha256`, `sha512`, …).
        pub digest_alg: String,
        /// Lowercase hex digest.
        pub digest_value: String,
        /// SLSA `runDetails.builder.id`.
        pub builder_id: Option<String>,
        /// SLSA `buildDefinition.buildType`.
        pub build_type: Option<String>,
        /// Source repository (from the workflow parameters or the first resolved dependency).
        pub source_repo: Option<String>,
        /// Source commit (`gitCommit` of the resolved dependency).
        pub source_commit: Option<String>,
        /// SLSA `runDetails.metadata.invocationId`.
        pub invocation_id: Option<String>,
        /// SLSA `startedOn`.
        pub started_on: Option<String>,
        /// SLSA `finishedOn`.
        pub finished_on: Option<String>,
        /// Resolved dependencies as a JSON array of `{uri, digest}`.
        pub materials: String,
        /// `key` (a public key or key id), `keyless` (a certificate), or `none`.
        pub signer_kind: String,
        /// The key id hint, or the certificate's subject alternative name.
        pub signer: String,
        /// The certificate's OIDC issuer, for keyless signatures.
        pub signer_issuer: Option<String>,
        /// Signatures on the envelope or bundle.
        pub signatures: u64,
        /// Transparency-log entries carried.
        pub tlog_entries: u64,
        /// RFC 3161 timestamps carried.
        pub timestamps: u64,
    }
}

lake_table! {
    /// One SBOM document.
    pub struct SbomRow in names::SBOMS {
        /// The blob holding the document's exact bytes.
        pub blob: String,
        /// `CycloneDX 1.6`, `SPDX-2.3`, …
        pub spec: String,
        /// The document's name (SPDX `name`, or the CycloneDX metadata component).
        pub document: String,
        /// CycloneDX `serialNumber` or SPDX `documentNamespace`.
        pub serial: Option<String>,
        /// Tools that wrote it, `; `-separated.
        pub tool: String,
        /// Creation time as written.
        pub created: Option<String>,
        /// What it describes: the subject's name.
        pub subject: String,
        /// The subject's version.
        pub subject_version: Option<String>,
        /// The subject's package URL.
        pub subject_purl: Option<String>,
        /// Components listed.
        pub components: u64,
    }
}

lake_table! {
    /// One component of an SBOM.
    pub struct SbomComponentRow in names::SBOM_COMPONENTS {
        /// The SBOM's blob.
        pub sbom_blob: String,
        /// CycloneDX `bom-ref` or SPDX `SPDXID`.
        pub component_ref: String,
        /// Name (with its CycloneDX `group`, as `group/name`).
        pub name: String,
        /// Version.
        pub version: Option<String>,
        /// Package URL.
        pub purl: Option<String>,
        /// CycloneDX `type` or SPDX `primaryPackagePurpose`, lowercase.
        pub component_type: Option<String>,
        /// Licences as one SPDX expression (ids joined with ` AND ` when listed separately).
        pub licenses: Option<String>,
        /// Hashes as `ALG:hex`, `; `-separated, sorted.
        pub hashes: String,
        /// Supplier.
        pub supplier: Option<String>,
        /// What it depends on: component refs, `; `-separated, sorted.
        pub depends_on: String,
    }
}

lake_table! {
    /// A component added, removed or changed between two SBOMs of one subject.
    pub struct SbomDiffRow in names::SBOM_DIFFS {
        /// The subject both SBOMs describe.
        pub subject: String,
        /// The older SBOM's blob.
        pub from_blob: String,
        /// The newer SBOM's blob.
        pub to_blob: String,
        /// `added`, `removed` or `changed`.
        pub change: String,
        /// Component name.
        pub name: String,
        /// Version in the older SBOM.
        pub from_version: Option<String>,
        /// Version in the newer SBOM.
        pub to_version: Option<String>,
    }
}

lake_table! {
    /// One vulnerability-scan report.
    pub struct ScanRow in names::SCANS {
        /// The blob holding the report's exact bytes.
        pub blob: String,
        /// `trivy`, `grype`, `osv-scanner` or `sarif`: the source type that read it.
        pub format: String,
        /// The scanner as the report names itself (`Trivy`, `grype`, `CodeQL`, …).
        pub scanner: String,
        /// The scanner's version, when the report states it.
        pub scanner_version: Option<String>,
        /// What was scanned, as the report names it (an image, a folder, a lock file).
        pub target: String,
        /// The release subject the scan is about: from the report's folder `<subject>/<version>/`,
        /// else from the target (an image `name:tag`), else the target itself.
        pub subject: String,
        /// The release version, when known.
        pub subject_version: Option<String>,
        /// When the scan ran (RFC 3339), when the report states it.
        pub scanned_at: Option<String>,
        /// Vulnerability rows it gave.
        pub vulnerabilities: u64,
    }
}

impl ScanRow {
    /// When the scan ran: its `scanned_at`, else when it was collected.
    pub fn ran_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.scanned_at.as_deref().and_then(crate::time::parse_rfc3339).unwrap_or(self.provenance.collected_at)
    }
}

lake_table! {
    /// One vulnerability a scan reports: one advisory on one package, or one SARIF result.
    pub struct VulnerabilityRow in names::VULNERABILITIES {
        /// The scan's blob.
        pub scan_blob: String,
        /// The scan's release subject.
        pub subject: String,
        /// The scan's release version.
        pub subject_version: Option<String>,
        /// The scanner's name.
        pub scanner: String,
        /// What the result is about within the scan (Trivy's result target, OSV-Scanner's
        /// source path, the SARIF result's file); the scan's target when the report says no more.
        pub target: String,
        /// The affected package's name (none for a SARIF result about a file).
        pub package: Option<String>,
        /// The installed version.
        pub package_version: Option<String>,
        /// The package URL, when the report gives one.
        pub purl: Option<String>,
        /// The advisory id (`CVE-2024-1234`, `GHSA-…`), or the SARIF rule id.
        pub vulnerability_id: String,
        /// Other ids of the same advisory, `; `-separated, sorted.
        pub aliases: String,
        /// `critical`, `high`, `medium`, `low`, `negligible` or `unknown`.
        pub severity: String,
        /// The CVSS base score as written (`9.8`), when the report gives one.
        pub cvss_score: Option<String>,
        /// The CVSS vector, when the report gives one.
        pub cvss_vector: Option<String>,
        /// `fixed` (a fixed version exists), `not_fixed`, `wont_fix` or `unknown`.
        pub fix_state: String,
        /// The versions that fix it, `; `-separated, when known.
        pub fixed_version: Option<String>,
        /// A file and line (`path:line`), for results about source files.
        pub location: Option<String>,
        /// A short title.
        pub title: Option<String>,
    }
}

lake_table! {
    /// A vulnerability that appeared in, or was fixed by, a scan of one subject by one scanner,
    /// against the latest earlier scan of that subject by that scanner. A subject's first scan
    /// makes every vulnerability it lists `appeared`: the earliest `appeared` row of a
    /// vulnerability is when it was first seen.
    pub struct VulnerabilityChangeRow in names::VULNERABILITY_CHANGES {
        /// The subject both scans are about.
        pub subject: String,
        /// The newer scan's release version.
        pub subject_version: Option<String>,
        /// The scanner.
        pub scanner: String,
        /// The older scan's blob (none for a subject's first scan).
        pub from_blob: Option<String>,
        /// The newer scan's blob.
        pub to_blob: String,
        /// `appeared` or `fixed`.
        pub change: String,
        /// The advisory id.
        pub vulnerability_id: String,
        /// The package.
        pub package: Option<String>,
        /// The package's version in the scan that lists it.
        pub package_version: Option<String>,
        /// Its severity.
        pub severity: String,
        /// When the newer scan ran (its `scanned_at`, else when it was collected; RFC 3339).
        pub seen_at: String,
    }
}

lake_table! {
    /// One test report: a JUnit XML file, whatever tool wrote it. Its totals are counted from its
    /// test cases, not taken from the file.
    pub struct TestRunRow in names::TEST_RUNS {
        /// The blob holding the report's exact bytes.
        pub blob: String,
        /// The report's file name (`unit.xml`): successive runs of one suite set keep it.
        pub file: String,
        /// The root element's `name`, else the first suite's.
        pub name: String,
        /// The release subject: from the report's folder `<subject>/<version>/`, else the name.
        pub subject: String,
        /// The release version, when the folder names it.
        pub subject_version: Option<String>,
        /// When it ran (the first suite's `timestamp` as written), when stated.
        pub started_at: Option<String>,
        /// Test cases.
        pub tests: u64,
        /// Cases that passed (flaky ones included).
        pub passed: u64,
        /// Cases with a `<failure>`.
        pub failed: u64,
        /// Cases with an `<error>`.
        pub errors: u64,
        /// Cases skipped, quarantined ones included.
        pub skipped: u64,
        /// Skipped cases whose skip says they are quarantined.
        pub quarantined: u64,
        /// Passed cases that failed first and passed on a rerun.
        pub flaky: u64,
        /// The totals the file states, when they differ from its cases (`tests=12 failures=1`).
        pub stated_mismatch: Option<String>,
        /// Tags of its cases (`chaos`, `canary`, …), `; `-separated, sorted.
        pub tags: String,
    }
}

impl TestRunRow {
    /// When the run ran: its `started_at` (RFC 3339, or a local date-time JUnit writes without
    /// a zone, read as UTC), else when it was collected.
    pub fn ran_at(&self) -> chrono::DateTime<chrono::Utc> {
        let stated = self.started_at.as_deref().and_then(|t| {
            crate::time::parse_rfc3339(t).or_else(|| {
                chrono::NaiveDateTime::parse_from_str(t.trim(), "%Y-%m-%dT%H:%M:%S%.f").ok().map(|n| n.and_utc())
            })
        });
        stated.unwrap_or(self.provenance.collected_at)
    }
}

lake_table! {
    /// One test case of a test report.
    pub struct TestCaseRow in names::TEST_CASES {
        /// The report's blob.
        pub run_blob: String,
        /// The release subject.
        pub subject: String,
        /// The release version.
        pub subject_version: Option<String>,
        /// The suites it is nested in, outermost first, ` / `-separated.
        pub suite: String,
        /// Its `classname`.
        pub classname: Option<String>,
        /// Its `name`.
        pub name: String,
        /// `passed`, `failed`, `error`, `skipped` or `quarantined`.
        pub status: String,
        /// Failed runs before it passed (`flakyFailure`, `rerunFailure`, … elements).
        pub reruns: u64,
        /// Its `time` in seconds, as written.
        pub time: Option<String>,
        /// The first line of its failure, error or skip message (at most 200 characters).
        pub message: Option<String>,
        /// Tags matched by the source's patterns, `; `-separated, sorted.
        pub tags: String,
    }
}

lake_table! {
    /// One threat model.
    pub struct ThreatModelRow in names::THREAT_MODELS {
        /// The blob holding the model's exact bytes.
        pub blob: String,
        /// `threat-dragon-v2`, `threat-dragon-v1`, `markdown`, …
        pub format: String,
        /// Title.
        pub title: String,
        /// The subsystem or service it covers.
        pub subsystem: Option<String>,
        /// Model version.
        pub version: Option<String>,
        /// Owner.
        pub owner: Option<String>,
        /// Reviewer.
        pub reviewer: Option<String>,
        /// Date of the last review (`YYYY-MM-DD`), when the model states one.
        pub reviewed: Option<String>,
        /// Threats listed.
        pub threats: u64,
        /// Threats whose status is open.
        pub open_threats: u64,
    }
}

lake_table! {
    /// One threat of a threat model.
    pub struct ThreatRow in names::THREATS {
        /// The model's blob.
        pub model_blob: String,
        /// The threat's id as written (UUID, `T-0001`, …), or its position.
        pub threat_id: String,
        /// Title.
        pub title: String,
        /// STRIDE (or other model) category.
        pub category: Option<String>,
        /// Severity or priority as written.
        pub severity: Option<String>,
        /// Status as written (`Open`, `Mitigated`, `NotApplicable`, …).
        pub status: String,
        /// Mitigation text.
        pub mitigation: Option<String>,
        /// The diagram element or asset it applies to.
        pub element: Option<String>,
        /// Control ids named in the threat or its mitigation (`[LOG-03]`), `; `-separated.
        pub controls: String,
    }
}

lake_table! {
    /// A release artefact seen in a release folder, with its digest.
    pub struct ArtefactRow in names::ARTEFACTS {
        /// File name.
        pub name: String,
        /// Lowercase hex SHA-256.
        pub sha256: String,
        /// Size in bytes.
        pub size: u64,
    }
}

lake_table! {
    /// A document a person records as evidence of controls, with an owner and a date.
    pub struct DocumentRow in names::DOCUMENTS {
        /// The blob holding the document's exact bytes.
        pub blob: String,
        /// File name in the documents folder.
        pub file: String,
        /// Title.
        pub title: String,
        /// Control ids it is evidence for, `; `-separated.
        pub controls: String,
        /// Who owns it.
        pub owner: String,
        /// Its date (`YYYY-MM-DD`): when the review, test or approval it records took place.
        pub date: String,
        /// Lowercase hex SHA-256 of the document.
        pub sha256: String,
    }
}

lake_table! {
    /// A policy Decision Card: a signed JSON document fixing the policy an SDK enforces,
    /// immutable per `id` and `version`.
    pub struct PolicyRow in names::POLICIES {
        /// The card's `id`.
        pub card_id: String,
        /// Its `version`, as text.
        pub version: String,
        /// `issued_at` (RFC 3339).
        pub issued_at: String,
        /// `expires_at` (RFC 3339), if the card has one.
        pub expires_at: Option<String>,
        /// Lowercase hex SHA-256 of the card's RFC 8785 canonical bytes: what is signed, and what
        /// must not change under one `id` and `version`.
        pub canonical_sha256: String,
        /// The blob holding the card's exact bytes.
        pub blob: String,
        /// `ed25519` (a `.sig` beside the card), `minisign` (a `.minisig`) or `none`.
        pub signature_kind: String,
        /// The signature file's text (empty for `none`).
        pub signature: String,
    }
}

lake_table! {
    /// A key of a published key document (JWKS or minisign public key file) as one fetch saw
    /// it, or the fetch itself (`kid` empty). Replayed in commit order, the rows give every
    /// document's rotations (`evidence::published::histories`).
    pub struct KeyRow in names::KEYS {
        /// The document's name in `[[trust.published]]`.
        pub document: String,
        /// Where it was fetched from: the URL (without user info, query or fragment) or the path.
        pub location: String,
        /// `added`, `changed`, `unchanged`, `removed`, `missing` (key rows) or `fetched`,
        /// `unreachable` (document rows): see `evidence::published::events`.
        pub event: String,
        /// The key's id (empty on document rows).
        pub kid: String,
        /// `Ed25519` (empty on document rows).
        pub algorithm: String,
        /// Lowercase hex SHA-256 of the raw 32-byte public key (empty when not known).
        pub fingerprint: String,
        /// The public key, standard base64 of its 32 bytes (empty when not known).
        pub public_key: String,
        /// For `changed`: the fingerprint the kid had before.
        pub previous_fingerprint: Option<String>,
        /// The fingerprint `cairn.toml` pins for this kid, if any.
        pub pinned: Option<String>,
        /// When the kid was first seen in this document (RFC 3339).
        pub first_seen: Option<String>,
        /// When this fetch happened (RFC 3339).
        pub fetched_at: String,
        /// Lowercase hex SHA-256 of the document's bytes (none when unreachable).
        pub document_sha256: Option<String>,
        /// The blob holding the document's exact bytes.
        pub blob: Option<String>,
        /// Why the fetch failed (`unreachable`), or empty.
        pub detail: String,
    }
}

/// Rows of every artefact table: what one collect run buffers, or what the lake holds.
#[derive(Clone, Debug, Default)]
pub struct ArtefactSet {
    /// `attestations`.
    pub attestations: Vec<AttestationRow>,
    /// `sboms`.
    pub sboms: Vec<SbomRow>,
    /// `sbom_components`.
    pub components: Vec<SbomComponentRow>,
    /// `sbom_diffs`.
    pub diffs: Vec<SbomDiffRow>,
    /// `scans`.
    pub scans: Vec<ScanRow>,
    /// `vulnerabilities`.
    pub vulnerabilities: Vec<VulnerabilityRow>,
    /// `vulnerability_changes`.
    pub vulnerability_changes: Vec<VulnerabilityChangeRow>,
    /// `test_runs`.
    pub test_runs: Vec<TestRunRow>,
    /// `test_cases`.
    pub test_cases: Vec<TestCaseRow>,
    /// `threat_models`.
    pub threat_models: Vec<ThreatModelRow>,
    /// `threats`.
    pub threats: Vec<ThreatRow>,
    /// `artefacts`.
    pub artefacts: Vec<ArtefactRow>,
    /// `documents`.
    pub documents: Vec<DocumentRow>,
    /// `policies`.
    pub policies: Vec<PolicyRow>,
    /// `keys`.
    pub keys: Vec<KeyRow>,
}

/// Calls `$m!` with every field of [`ArtefactSet`] and its row type.
macro_rules! every_table {
    ($m:ident) => {
        $m!(
            attestations: AttestationRow,
            sboms: SbomRow,
            components: SbomComponentRow,
            diffs: SbomDiffRow,
            scans: ScanRow,
            vulnerabilities: VulnerabilityRow,
            vulnerability_changes: VulnerabilityChangeRow,
            test_runs: TestRunRow,
            test_cases: TestCaseRow,
            threat_models: ThreatModelRow,
            threats: ThreatRow,
            artefacts: ArtefactRow,
            documents: DocumentRow,
            policies: PolicyRow,
            keys: KeyRow
        )
    };
}

impl ArtefactSet {
    /// Moves the rows `withhold` picks, given each row's table and provenance, into a set of
    /// their own; the others stay, in their order.
    #[must_use]
    pub fn split_off(&mut self, mut withhold: impl FnMut(&'static str, &Provenance) -> bool) -> ArtefactSet {
        let mut out = ArtefactSet::default();
        macro_rules! split {
            ($($field:ident: $row:ty),*) => {$(
                let (gone, kept) = std::mem::take(&mut self.$field)
                    .into_iter()
                    .partition(|r| withhold(<$row as LakeTable>::TABLE, &r.provenance));
                self.$field = kept;
                out.$field = gone;
            )*};
        }
        every_table!(split);
        out
    }

    /// Appends every row of `other`.
    pub fn extend(&mut self, other: &ArtefactSet) {
        macro_rules! extend {
            ($($field:ident: $row:ty),*) => {$( self.$field.extend(other.$field.iter().cloned()); )*};
        }
        every_table!(extend);
    }

    /// How many rows each table holds, by table name, for the tables holding any.
    pub fn row_counts(&self) -> Vec<(&'static str, u64)> {
        let mut out = Vec::new();
        macro_rules! count {
            ($($field:ident: $row:ty),*) => {$(
                if !self.$field.is_empty() {
                    out.push((<$row as LakeTable>::TABLE, self.$field.len() as u64));
                }
            )*};
        }
        every_table!(count);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::{from_parquet, to_parquet};

    fn provenance(source: &str, object_key: &str) -> Provenance {
        Provenance {
            source: source.into(),
            object_key: object_key.into(),
            line: 1,
            byte_offset: 0,
            record_sha256: "ab".into(),
            run_id: "r".into(),
            collected_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            actor: "test".into(),
            confidence: crate::tables::Confidence::Unverified,
            simulated: false,
        }
    }

    #[test]
    fn rows_survive_parquet() {
        let p = provenance("sboms", "sbom/a.json");
        let rows = vec![
            ThreatRow {
                model_blob: "blobs/sha256/x".into(),
                threat_id: "T-0001".into(),
                title: "Spoofed caller".into(),
                category: Some("Spoofing".into()),
                severity: None,
                status: "Open".into(),
                mitigation: None,
                element: Some("API".into()),
                controls: "IAM-01".into(),
                provenance: p.clone(),
            },
            ThreatRow {
                model_blob: "blobs/sha256/x".into(),
                threat_id: "T-0002".into(),
                title: "Tampered log".into(),
                category: None,
                severity: Some("High".into()),
                status: "Mitigated".into(),
                mitigation: Some("hash chain".into()),
                element: None,
                controls: String::new(),
                provenance: p,
            },
        ];
        let batch = ThreatRow::to_batch(&rows).unwrap();
        let bytes = to_parquet(&batch).unwrap();
        let back: Vec<ThreatRow> =
            from_parquet(bytes).unwrap().flat_map(|b| ThreatRow::from_batch(&b.unwrap()).unwrap()).collect();
        assert_eq!(back, rows);
        assert_eq!(ThreatRow::schema().field(0).name(), "model_blob");
        assert!(ThreatRow::schema().field_with_name("timestamp").is_ok());
    }

    #[test]
    fn split_off_moves_the_picked_rows_and_keeps_the_order_of_the_rest() {
        let row = |source: &str, id: &str| ThreatRow {
            model_blob: "blobs/sha256/x".into(),
            threat_id: id.into(),
            title: "t".into(),
            category: None,
            severity: None,
            status: "Open".into(),
            mitigation: None,
            element: None,
            controls: String::new(),
            provenance: provenance(source, "tm/a.json"),
        };
        let mut set = ArtefactSet {
            threats: vec![row("open", "T-1"), row("hr", "T-2"), row("open", "T-3")],
            ..ArtefactSet::default()
        };
        let gone = set.split_off(|table, p| table == names::THREATS && p.source == "hr");
        let ids = |s: &ArtefactSet| s.threats.iter().map(|t| t.threat_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&set), ["T-1", "T-3"]);
        assert_eq!(ids(&gone), ["T-2"]);
        assert_eq!(gone.row_counts(), [(names::THREATS, 1)]);
        set.extend(&gone);
        assert_eq!(set.row_counts(), [(names::THREATS, 3)]);
    }
}
