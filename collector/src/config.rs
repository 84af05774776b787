//! The two `[[source]]` shapes most source types share: files of JSON records (`jsonl` and the
//! SIEM exports) and files read whole (artefacts, documents, Decision Cards).

use serde::Deserialize;

/// Configuration of a source of JSON records in files: `jsonl`, `splunk-export`,
/// `splunk-results`, `splunk-hec`, `sentinel-export`, `datadog-archive`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonlConfig {
    /// Source name (unique in the configuration).
    pub name: String,
    /// The source holds synthetic data (a demo, or a staging SIEM during a first rollout):
    /// every row it yields is marked `simulated`, and the portal and bundles say so.
    #[serde(default)]
    pub simulated: bool,
    /// A file, a folder, or a `file://` URL; relative paths resolve against the config file.
    pub url: String,
    /// JSON pointer to the audit event inside each record; empty or absent: the whole record.
    #[serde(default)]
    pub event: Option<String>,
}

/// Configuration of a source of files read whole: attestations, SBOMs, threat models, release
/// files, documents, Decision Cards.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtefactConfig {
    /// Source name (unique in the configuration).
    pub name: String,
    /// The source holds synthetic data (a demo, or a staging SIEM during a first rollout):
    /// every row it yields is marked `simulated`, and the portal and bundles say so.
    #[serde(default)]
    pub simulated: bool,
    /// A file, a folder, or a `file://` URL; relative paths resolve against the config file.
    pub url: String,
}
