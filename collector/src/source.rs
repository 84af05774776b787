//! Source configuration (`[[source]]` in `cairn.toml`) and where source objects are read from.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use serde::Deserialize;

use crate::jsonl::JsonlConfig;

/// One `[[source]]` entry, by `type`.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type")]
pub enum SourceConfig {
    /// One JSON record per line.
    #[serde(rename = "jsonl")]
    Jsonl(JsonlConfig),
}

impl SourceConfig {
    /// The source's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Jsonl(c) => &c.name,
        }
    }

    /// The source's type as written in the configuration.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Jsonl(_) => "jsonl",
        }
    }
}

/// What collecting one source did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceReport {
    /// Source name.
    pub name: String,
    /// Source objects seen.
    pub objects: u64,
    /// Source objects with new data.
    pub objects_with_new_data: u64,
    /// Records read (non-empty lines).
    pub records: u64,
    /// Events collected.
    pub events: u64,
    /// Records kept aside.
    pub quarantined: u64,
    /// Source objects whose already-collected part changed (kept aside, not re-read).
    pub rewritten: u64,
}

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

/// Where a source's objects live: a store, a prefix in it, and how keys are shown.
pub struct SourceLocation {
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// Prefix (folder) to list, or the single object.
    pub prefix: ObjectPath,
    /// A single object rather than a prefix.
    pub single: Option<ObjectPath>,
    /// Shown before keys in provenance: the source's `url` as configured (so provenance does
    /// not depend on where the configuration folder happens to sit).
    pub display_root: String,
}

impl SourceLocation {
    /// Resolves a source `url`: a local path (relative to `base`), `file://` or `memory://`
    /// (the latter takes the store to use from `memory`).
    pub fn resolve(name: &str, url: &str, base: &Path, memory: Option<Arc<InMemory>>) -> Result<Self, CollectError> {
        let err = |detail: String| CollectError::Location { source_name: name.to_string(), detail };
        if let Some(rest) = url.strip_prefix("memory://") {
            let store = memory.ok_or_else(|| err("memory:// sources exist only in tests".into()))?;
            let prefix = ObjectPath::from(rest);
            return Ok(Self { store, prefix, single: None, display_root: "memory://".into() });
        }
        if let Some((scheme, _)) = url.split_once("://").filter(|(s, _)| *s != "file") {
            return Err(err(format!("scheme {scheme}:// is not supported by this build; use a path or file://")));
        }
        let path = url.strip_prefix("file://").unwrap_or(url);
        let path: PathBuf = if Path::new(path).is_absolute() { PathBuf::from(path) } else { base.join(path) };
        let meta = std::fs::metadata(&path).map_err(|e| err(format!("{}: {e}", path.display())))?;
        let (root, single, display_root) = if meta.is_file() {
            let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            let shown = url.rsplit_once('/').map_or(String::new(), |(dir, _)| dir.to_string());
            (parent, Some(ObjectPath::from(file)), shown)
        } else {
            (path.clone(), None, url.trim_end_matches('/').to_string())
        };
        let store = LocalFileSystem::new_with_prefix(&root).map_err(|e| err(e.to_string()))?;
        Ok(Self { store: Arc::new(store), prefix: ObjectPath::default(), single, display_root })
    }
}
