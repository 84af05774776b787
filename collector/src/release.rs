//! Source type `release`: release artefacts in `<subject>/<version>/<file>` folders, each file
//! recorded by its name, size and SHA-256 (not kept as a blob).
//!
//! ```toml
//! [[source]]
//! name = "releases"
//! type = "release"
//! url  = "inputs/releases/"
//! ```

use cairn_evidence::lake::RunWriter;
use serde::Deserialize;

use crate::artefact::{self, ArtefactFormat};
use crate::config::ArtefactConfig;
use crate::error::CollectError;
use crate::run::{CollectRun, Cursors, SourceReport};
use crate::sink::RowSink;
use crate::source::Source;

/// A `release` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct Release(pub ArtefactConfig);

/// How a `release` file is read: by digest only.
const FORMAT: ArtefactFormat = ArtefactFormat { unit: "release files", parse: None };

impl Source for Release {
    fn name(&self) -> &str {
        &self.0.name
    }

    fn type_name(&self) -> &'static str {
        "release"
    }

    fn simulated(&self) -> bool {
        self.0.simulated
    }

    async fn collect(
        &self,
        run: &CollectRun<'_>,
        writer: &mut RunWriter<'_>,
        sink: &mut RowSink,
        cursors: &mut Cursors,
    ) -> Result<SourceReport, CollectError> {
        artefact::collect(FORMAT, &self.0, run, writer, sink, cursors).await
    }
}
