//! `cairn-collector`: reads evidence from sources into the lake.
//!
//! One module per source type, each with the same shape: a `deny_unknown_fields` config, a
//! parser, and tests. Collection is incremental (cursors in the run manifest say how far each
//! source object has been read) and nothing is dropped silently: a record that cannot be
//! collected is kept aside in the `quarantine` table with its file, line and reason, and counted.
//!
//! It does not verify (that is `cairn-verifier`) and does not commit runs (the caller does).
#![forbid(unsafe_code)]

pub mod api;
pub mod artefact;
pub mod documents;
pub mod jsonl;
pub mod policy;
pub mod published;
pub mod sbom;
pub mod siem;
pub mod sink;
pub mod source;
pub mod threatmodel;

pub use sink::RowSink;
pub use source::{CollectError, SourceConfig, SourceReport};

/// Runs blocking work from async code: on a multi-threaded runtime the worker steps aside for it;
/// elsewhere (a current-thread runtime, or none) it simply runs.
pub(crate) fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}
