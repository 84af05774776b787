//! Source type `release`: release artefacts in `<subject>/<version>/<file>` folders, each file
//! recorded by its name, size and SHA-256 (not kept as a blob).
//!
//! ```toml
//! [[source]]
//! name = "releases"
//! type = "release"
//! url  = "inputs/releases/"
//! ```

use serde::Deserialize;

use crate::artefact::{self, ArtefactFormat};
use crate::config::ArtefactConfig;
use crate::source::newtype_source;

/// A `release` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct Release(pub ArtefactConfig);

/// How a `release` file is read: by digest only.
const FORMAT: ArtefactFormat = ArtefactFormat { unit: "release files", parse: None };

newtype_source!(Release, "release", artefact::collect, FORMAT);
