//! `cairn-collector`: reads evidence from sources into the lake.
//!
//! One module per source family, each the same shape: the `[[source]]` config of each of its
//! types (`deny_unknown_fields`), the parser, the [`Source`] implementation, and tests.
//! Collection is incremental (cursors in the run manifest say how far each source object has
//! been read) and nothing is dropped silently: a record that cannot be collected is kept aside in
//! the `quarantine` table with its file, line and reason, and counted.
//!
//! It does not verify (that is `cairn-verifier`) and does not commit runs (the caller does).
//!
//! # Layout
//!
//! Modules only use modules listed before them here, never the reverse:
//!
//! - shared: `error` ([`CollectError`]), `run` ([`CollectRun`], [`SourceReport`], [`Cursors`]),
//!   `runtime` (blocking work on the async runtime), `record` (what one SIEM record turns out to
//!   be), `location` (where a source's objects live), `sink` ([`RowSink`]), `source` (the
//!   [`Source`] trait), `config` (the two shared `[[source]]` shapes: [`JsonlConfig`],
//!   [`ArtefactConfig`]), `listing` (the opening every listed source shares: resolve, list,
//!   report, cursor), `http` (what API sources share: retries, the time window), `artefact`
//!   (files read whole), `json_doc` (typed reading of JSON documents read whole, with errors
//!   that name the field's path);
//! - families: [`jsonl`] (plain JSON lines, and in `jsonl::lines` the line-block machinery
//!   `splunk-export` and `sentinel-export` share), [`splunk`] (export, results, HEC, API),
//!   [`sentinel`], [`datadog`] (archive, API), [`attestation`] (DSSE, Sigstore bundles), [`sbom`]
//!   (CycloneDX, SPDX), [`scan`] (Trivy, Grype, OSV-Scanner, SARIF), [`junit`] (test
//!   reports), [`threat_model`] (Threat Dragon, Markdown), [`release`], [`documents`],
//!   [`policy`] (Decision Cards), and [`published`] (`[[trust.published]]` key documents, which
//!   are not `[[source]]` entries);
//! - `registry`: [`SourceConfig`], the `[[source]]` entry read by its `type`, each variant
//!   holding its type's [`Source`].
//!
//! # Adding a source type
//!
//! 1. Its module, in its family's folder (or a new `src/<family>/` with a `mod.rs` declaring it):
//!    a config (a `#[serde(transparent)]` newtype over [`JsonlConfig`] or [`ArtefactConfig`], or
//!    its own `deny_unknown_fields` struct), its [`Source`] (for a newtype, one
//!    `newtype_source!(Type, "type-name", collect_fn[, FORMAT])` line; else an `impl Source`),
//!    its parser, and tests. A type reading lines gives `jsonl::lines` a `LineFormat`;
//!    a type reading files whole gives `artefact` an `ArtefactFormat`.
//! 2. In `src/registry.rs`: one variant of [`SourceConfig`] (its `#[serde(rename = "…")]` is the
//!    `type` users write) and its arm in `with_source!`, plus its line in the test's `TYPES`.
//!    The compiler rejects a variant without an arm; the test rejects a type name that does not
//!    read back as written.
//! 3. A new family also gets its `pub mod` line in `src/lib.rs`.
#![forbid(unsafe_code)]

mod artefact;
mod config;
mod error;
mod http;
mod json_doc;
mod listing;
mod location;
mod record;
mod registry;
mod run;
mod runtime;
mod sink;
mod source;

pub mod attestation;
pub mod datadog;
pub mod documents;
pub mod jsonl;
pub mod junit;
pub mod policy;
pub mod published;
pub mod release;
pub mod sbom;
pub mod scan;
pub mod sentinel;
pub mod splunk;
pub mod threat_model;

pub use config::{ArtefactConfig, JsonlConfig};
pub use error::CollectError;
pub use registry::SourceConfig;
pub use run::{CollectRun, Cursors, SourceReport};
pub use sink::{RowSink, ROWS_PER_OBJECT};
pub use source::Source;
