//! Where a source's objects are read from: a local folder or file, or an object-store prefix.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::TryStreamExt as _;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;

use crate::error::CollectError;

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
    /// Resolves a source `url`: a local path (relative to `base`), `file://`, `s3://`, `gs://`,
    /// `az://` (credentials from the environment), or `memory://` (the store to use comes from
    /// `memory`).
    pub fn resolve(name: &str, url: &str, base: &Path, memory: Option<Arc<InMemory>>) -> Result<Self, CollectError> {
        let err = |detail: String| CollectError::Location { source_name: name.to_string(), detail };
        if let Some(rest) = url.strip_prefix("memory://") {
            let store = memory.ok_or_else(|| err("memory:// sources exist only in tests".into()))?;
            let prefix = ObjectPath::from(rest);
            return Ok(Self { store, prefix, single: None, display_root: "memory://".into() });
        }
        if let Some(store) = cairn_evidence::store::open_cloud(url).map_err(err)? {
            let shown = url.trim_end_matches('/').to_string();
            return Ok(Self { store, prefix: ObjectPath::default(), single: None, display_root: shown });
        }
        if let Some((scheme, _)) = url.split_once("://").filter(|(s, _)| *s != "file") {
            return Err(err(format!(
                "scheme {scheme}:// is not supported; use a path, file://, s3://, gs:// or az://"
            )));
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

    /// The source's objects, sorted by key.
    pub async fn keys(&self, name: &str) -> Result<Vec<ObjectPath>, CollectError> {
        if let Some(single) = &self.single {
            return Ok(vec![single.clone()]);
        }
        let mut keys: Vec<ObjectPath> =
            self.store.list(Some(&self.prefix)).map_ok(|m| m.location).try_collect().await.map_err(|error| {
                CollectError::Read { source_name: name.into(), key: self.prefix.to_string(), error }
            })?;
        keys.sort();
        Ok(keys)
    }

    /// How a key is shown in provenance: under the source's `url` as configured.
    pub fn shown(&self, key: &ObjectPath) -> String {
        if self.display_root.is_empty() {
            key.to_string()
        } else {
            format!("{}/{}", self.display_root, key)
        }
    }

    /// The key relative to the listed prefix (for a single object, its file name).
    pub fn relative(&self, key: &ObjectPath) -> String {
        let prefix = self.prefix.as_ref();
        let k = key.as_ref();
        k.strip_prefix(prefix).map_or(k, |r| r.trim_start_matches('/')).to_string()
    }

    /// Reads one object whole.
    pub async fn read(&self, name: &str, key: &ObjectPath) -> Result<bytes::Bytes, CollectError> {
        let err = |error| CollectError::Read { source_name: name.into(), key: self.shown(key), error };
        self.store.get(key).await.map_err(err)?.bytes().await.map_err(err)
    }
}
