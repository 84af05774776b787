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

/// Implements [`Source`] for a `#[serde(transparent)]` newtype over a shared `[[source]]` config
/// (`JsonlConfig` or `ArtefactConfig`): the name and the simulated flag are the config's, and
/// collecting calls `$collect([$format,] &config, run, writer, sink, cursors)`.
macro_rules! newtype_source {
    ($source:ty, $type_name:literal, $collect:path $(, $format:expr)?) => {
        impl $crate::source::Source for $source {
            fn name(&self) -> &str {
                &self.0.name
            }

            fn type_name(&self) -> &'static str {
                $type_name
            }

            fn simulated(&self) -> bool {
                self.0.simulated
            }

            async fn collect(
                &self,
                run: &$crate::run::CollectRun<'_>,
                writer: &mut cairn_evidence::lake::RunWriter<'_>,
                sink: &mut $crate::sink::RowSink,
                cursors: &mut $crate::run::Cursors,
            ) -> Result<$crate::run::SourceReport, $crate::error::CollectError> {
                $collect($($format,)? &self.0, run, writer, sink, cursors).await
            }
        }
    };
}
pub(crate) use newtype_source;
