//! Source configuration (`[[source]]` in `cairn.toml`) and where source objects are read from.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::TryStreamExt as _;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use serde::Deserialize;

use crate::artefact::{ArtefactConfig, ArtefactKind};
use crate::jsonl::JsonlConfig;

/// One `[[source]]` entry, by `type`.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type")]
pub enum SourceConfig {
    /// One JSON record per line.
    #[serde(rename = "jsonl")]
    Jsonl(JsonlConfig),
    /// Splunk search export (`output_mode=json`) files.
    #[serde(rename = "splunk-export")]
    SplunkExport(JsonlConfig),
    /// Splunk search results pages (`search/jobs/{sid}/results?output_mode=json`).
    #[serde(rename = "splunk-results")]
    SplunkResults(JsonlConfig),
    /// Splunk HTTP Event Collector batches.
    #[serde(rename = "splunk-hec")]
    SplunkHec(JsonlConfig),
    /// Azure Monitor (Microsoft Sentinel) data export blobs.
    #[serde(rename = "sentinel-export")]
    SentinelExport(JsonlConfig),
    /// Datadog log archives.
    #[serde(rename = "datadog-archive")]
    DatadogArchive(JsonlConfig),
    /// Splunk's search export REST endpoint.
    #[serde(rename = "splunk-api")]
    SplunkApi(crate::api::SplunkApiConfig),
    /// The Datadog Logs Search API.
    #[serde(rename = "datadog-api")]
    DatadogApi(crate::api::DatadogApiConfig),
    /// DSSE envelopes holding in-toto Statements.
    #[serde(rename = "dsse", alias = "intoto")]
    Dsse(ArtefactConfig),
    /// Sigstore bundles.
    #[serde(rename = "sigstore-bundle")]
    SigstoreBundle(ArtefactConfig),
    /// CycloneDX JSON SBOMs.
    #[serde(rename = "cyclonedx")]
    CycloneDx(ArtefactConfig),
    /// SPDX JSON SBOMs.
    #[serde(rename = "spdx")]
    Spdx(ArtefactConfig),
    /// OWASP Threat Dragon models.
    #[serde(rename = "threat-dragon")]
    ThreatDragon(ArtefactConfig),
    /// Markdown threat models.
    #[serde(rename = "markdown-threat-model", alias = "markdown")]
    MarkdownThreatModel(ArtefactConfig),
    /// Release artefacts, recorded by digest.
    #[serde(rename = "release")]
    Release(ArtefactConfig),
    /// Documents recorded as evidence of manual controls.
    #[serde(rename = "documents")]
    Documents(ArtefactConfig),
    /// Signed policy Decision Cards.
    #[serde(rename = "decision-card")]
    DecisionCard(ArtefactConfig),
}

impl SourceConfig {
    /// The source's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Jsonl(c)
            | Self::SplunkExport(c)
            | Self::SplunkResults(c)
            | Self::SplunkHec(c)
            | Self::SentinelExport(c)
            | Self::DatadogArchive(c) => &c.name,
            Self::DatadogApi(c) => &c.name,
            Self::SplunkApi(c) => &c.name,
            Self::Dsse(c)
            | Self::SigstoreBundle(c)
            | Self::CycloneDx(c)
            | Self::Spdx(c)
            | Self::ThreatDragon(c)
            | Self::MarkdownThreatModel(c)
            | Self::Release(c)
            | Self::Documents(c)
            | Self::DecisionCard(c) => &c.name,
        }
    }

    /// True when the source is declared simulated.
    pub fn simulated(&self) -> bool {
        match self {
            Self::Jsonl(c)
            | Self::SplunkExport(c)
            | Self::SplunkResults(c)
            | Self::SplunkHec(c)
            | Self::SentinelExport(c)
            | Self::DatadogArchive(c) => c.simulated,
            Self::DatadogApi(c) => c.simulated,
            Self::SplunkApi(c) => c.simulated,
            Self::Dsse(c)
            | Self::SigstoreBundle(c)
            | Self::CycloneDx(c)
            | Self::Spdx(c)
            | Self::ThreatDragon(c)
            | Self::MarkdownThreatModel(c)
            | Self::Release(c)
            | Self::Documents(c)
            | Self::DecisionCard(c) => c.simulated,
        }
    }

    /// The source's type as written in the configuration.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Jsonl(_) => "jsonl",
            Self::SplunkExport(_) => "splunk-export",
            Self::SplunkResults(_) => "splunk-results",
            Self::SplunkHec(_) => "splunk-hec",
            Self::SentinelExport(_) => "sentinel-export",
            Self::DatadogArchive(_) => "datadog-archive",
            Self::DatadogApi(_) => "datadog-api",
            Self::SplunkApi(_) => "splunk-api",
            Self::Dsse(_) => "dsse",
            Self::SigstoreBundle(_) => "sigstore-bundle",
            Self::CycloneDx(_) => "cyclonedx",
            Self::Spdx(_) => "spdx",
            Self::ThreatDragon(_) => "threat-dragon",
            Self::MarkdownThreatModel(_) => "markdown-threat-model",
            Self::Release(_) => "release",
            Self::Documents(_) => "documents",
            Self::DecisionCard(_) => "decision-card",
        }
    }

    /// For an artefact source, what it holds and its configuration.
    pub fn artefact(&self) -> Option<(ArtefactKind, &ArtefactConfig)> {
        Some(match self {
            Self::Jsonl(_)
            | Self::SplunkExport(_)
            | Self::SplunkResults(_)
            | Self::SplunkHec(_)
            | Self::SentinelExport(_)
            | Self::DatadogArchive(_)
            | Self::DatadogApi(_)
            | Self::SplunkApi(_)
            | Self::Documents(_)
            | Self::DecisionCard(_) => return None,
            Self::Dsse(c) => (ArtefactKind::Dsse, c),
            Self::SigstoreBundle(c) => (ArtefactKind::SigstoreBundle, c),
            Self::CycloneDx(c) => (ArtefactKind::CycloneDx, c),
            Self::Spdx(c) => (ArtefactKind::Spdx, c),
            Self::ThreatDragon(c) => (ArtefactKind::ThreatDragon, c),
            Self::MarkdownThreatModel(c) => (ArtefactKind::MarkdownThreatModel, c),
            Self::Release(c) => (ArtefactKind::Release, c),
        })
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
    /// Events collected (for artefact sources: artefacts, counted in [`Self::unit`]).
    pub events: u64,
    /// What `events` counts, when not audit events (`SBOMs`, `attestation subjects`, …).
    pub unit: &'static str,
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
