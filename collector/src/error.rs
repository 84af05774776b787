//! Why a source could not be collected at all.

/// Why a source could not be collected at all. Bad records are not errors: they are quarantined.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectError {
    /// The source's location cannot be used.
    #[error("source {source_name:?}: {detail}")]
    Location {
        /// Source name.
        source_name: String,
        /// Why.
        detail: String,
    },
    /// The store failed.
    #[error("source {source_name:?}: reading {key}: {error}")]
    Read {
        /// Source name.
        source_name: String,
        /// Object.
        key: String,
        /// The store's error.
        error: object_store::Error,
    },
    /// Writing to the lake failed.
    #[error("source {source_name:?}: writing to the lake: {error}")]
    Lake {
        /// Source name.
        source_name: String,
        /// The lake's error.
        error: cairn_evidence::lake::LakeError,
    },
}
