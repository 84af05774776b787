//! What every source type is: a name, a type, a simulated flag, and a collector.

use std::future::Future;

use cairn_evidence::lake::RunWriter;

use crate::error::CollectError;
use crate::run::{CollectRun, Cursors, SourceReport};
use crate::sink::RowSink;

/// A configured source of one type, able to collect itself. Every variant of `SourceConfig` (the
/// `[[source]]` entry) holds one.
pub trait Source {
    /// The source's name (unique in the configuration).
    fn name(&self) -> &str;

    /// The source's type as written in the configuration (`type = "…"`).
    fn type_name(&self) -> &'static str;

    /// True when the source is declared simulated.
    fn simulated(&self) -> bool;

    /// Collects what is new since `cursors` (this source's cursors, moved on as objects are
    /// read) into `sink`, writing blobs and full parts through `writer`. Bad records are
    /// quarantined, not errors.
    // Not `+ Send`: some collectors hold a non-`Send` decoder across awaits, and the pipeline
    // awaits sources one after another on its own task.
    fn collect(
        &self,
        run: &CollectRun<'_>,
        writer: &mut RunWriter<'_>,
        sink: &mut RowSink,
        cursors: &mut Cursors,
    ) -> impl Future<Output = Result<SourceReport, CollectError>>;
}
