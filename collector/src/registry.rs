//! Every source type Cairn collects: the `[[source]]` entry, read by its `type` when the
//! configuration is loaded, and the collector each type maps to.

use cairn_evidence::lake::RunWriter;
use serde::Deserialize;

use crate::error::CollectError;
use crate::run::{CollectRun, Cursors, SourceReport};
use crate::sink::RowSink;
use crate::source::Source;
use crate::{
    attestation, datadog, documents, jsonl, junit, policy, release, sbom, scan, sentinel, splunk, threat_model,
};

/// One `[[source]]` entry, by `type`.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type")]
pub enum SourceConfig {
    /// One JSON record per line.
    #[serde(rename = "jsonl")]
    Jsonl(jsonl::Jsonl),
    /// Splunk search export (`output_mode=json`) files.
    #[serde(rename = "splunk-export")]
    SplunkExport(splunk::SplunkExport),
    /// Splunk search results pages (`search/jobs/{sid}/results?output_mode=json`).
    #[serde(rename = "splunk-results")]
    SplunkResults(splunk::SplunkResults),
    /// Splunk HTTP Event Collector batches.
    #[serde(rename = "splunk-hec")]
    SplunkHec(splunk::SplunkHec),
    /// Azure Monitor (Microsoft Sentinel) data export blobs.
    #[serde(rename = "sentinel-export")]
    SentinelExport(sentinel::SentinelExport),
    /// Datadog log archives.
    #[serde(rename = "datadog-archive")]
    DatadogArchive(datadog::DatadogArchive),
    /// Splunk's search export REST endpoint.
    #[serde(rename = "splunk-api")]
    SplunkApi(splunk::SplunkApiConfig),
    /// The Datadog Logs Search API.
    #[serde(rename = "datadog-api")]
    DatadogApi(datadog::DatadogApiConfig),
    /// DSSE envelopes holding in-toto Statements.
    #[serde(rename = "dsse", alias = "intoto")]
    Dsse(attestation::Dsse),
    /// Sigstore bundles.
    #[serde(rename = "sigstore-bundle")]
    SigstoreBundle(attestation::SigstoreBundle),
    /// CycloneDX JSON SBOMs.
    #[serde(rename = "cyclonedx")]
    CycloneDx(sbom::CycloneDx),
    /// SPDX JSON SBOMs.
    #[serde(rename = "spdx")]
    Spdx(sbom::Spdx),
    /// Trivy JSON reports.
    #[serde(rename = "trivy")]
    Trivy(scan::Trivy),
    /// Grype JSON reports.
    #[serde(rename = "grype")]
    Grype(scan::Grype),
    /// OSV-Scanner JSON reports.
    #[serde(rename = "osv-scanner")]
    OsvScanner(scan::OsvScanner),
    /// SARIF 2.1.0 logs.
    #[serde(rename = "sarif")]
    Sarif(scan::Sarif),
    /// JUnit XML test reports.
    #[serde(rename = "junit")]
    Junit(junit::Junit),
    /// OWASP Threat Dragon models.
    #[serde(rename = "threat-dragon")]
    ThreatDragon(threat_model::ThreatDragon),
    /// Markdown threat models.
    #[serde(rename = "markdown-threat-model", alias = "markdown")]
    MarkdownThreatModel(threat_model::MarkdownThreatModel),
    /// AWS Threat Composer workspaces.
    #[serde(rename = "threat-composer")]
    ThreatComposer(threat_model::ThreatComposer),
    /// Release artefacts, recorded by digest.
    #[serde(rename = "release")]
    Release(release::Release),
    /// Documents recorded as evidence of manual controls.
    #[serde(rename = "documents")]
    Documents(documents::Documents),
    /// Signed policy Decision Cards.
    #[serde(rename = "decision-card")]
    DecisionCard(policy::DecisionCard),
}

/// Evaluates `$body` with `$source` bound to the entry's [`Source`]: one arm per variant, so a
/// variant without a collector does not compile.
macro_rules! with_source {
    ($config:expr, $source:ident => $body:expr) => {
        match $config {
            SourceConfig::Jsonl($source) => $body,
            SourceConfig::SplunkExport($source) => $body,
            SourceConfig::SplunkResults($source) => $body,
            SourceConfig::SplunkHec($source) => $body,
            SourceConfig::SentinelExport($source) => $body,
            SourceConfig::DatadogArchive($source) => $body,
            SourceConfig::SplunkApi($source) => $body,
            SourceConfig::DatadogApi($source) => $body,
            SourceConfig::Dsse($source) => $body,
            SourceConfig::SigstoreBundle($source) => $body,
            SourceConfig::CycloneDx($source) => $body,
            SourceConfig::Spdx($source) => $body,
            SourceConfig::Trivy($source) => $body,
            SourceConfig::Grype($source) => $body,
            SourceConfig::OsvScanner($source) => $body,
            SourceConfig::Sarif($source) => $body,
            SourceConfig::Junit($source) => $body,
            SourceConfig::ThreatDragon($source) => $body,
            SourceConfig::MarkdownThreatModel($source) => $body,
            SourceConfig::ThreatComposer($source) => $body,
            SourceConfig::Release($source) => $body,
            SourceConfig::Documents($source) => $body,
            SourceConfig::DecisionCard($source) => $body,
        }
    };
}

impl SourceConfig {
    /// The source's name.
    pub fn name(&self) -> &str {
        with_source!(self, s => s.name())
    }

    /// True when the source is declared simulated.
    pub fn simulated(&self) -> bool {
        with_source!(self, s => s.simulated())
    }

    /// The source's type as written in the configuration.
    pub fn type_name(&self) -> &'static str {
        with_source!(self, s => s.type_name())
    }

    /// Collects the source: what is new since `cursors` (the source's own, moved on as objects
    /// are read) goes into `sink`; blobs and full parts are written through `writer`.
    pub async fn collect(
        &self,
        run: &CollectRun<'_>,
        writer: &mut RunWriter<'_>,
        sink: &mut RowSink,
        cursors: &mut Cursors,
    ) -> Result<SourceReport, CollectError> {
        with_source!(self, s => s.collect(run, writer, sink, cursors).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `type` as written (aliases too), the type it reads as, and what else its entry needs.
    const TYPES: [(&str, &str, &str); 25] = [
        ("jsonl", "jsonl", ""),
        ("splunk-export", "splunk-export", ""),
        ("splunk-results", "splunk-results", ""),
        ("splunk-hec", "splunk-hec", ""),
        ("sentinel-export", "sentinel-export", ""),
        ("datadog-archive", "datadog-archive", ""),
        ("splunk-api", "splunk-api", "search = \"q\"\nstart = \"2026-01-01T00:00:00Z\""),
        ("datadog-api", "datadog-api", "query = \"q\"\nstart = \"2026-01-01T00:00:00Z\""),
        ("dsse", "dsse", ""),
        ("intoto", "dsse", ""),
        ("sigstore-bundle", "sigstore-bundle", ""),
        ("cyclonedx", "cyclonedx", ""),
        ("spdx", "spdx", ""),
        ("trivy", "trivy", ""),
        ("grype", "grype", ""),
        ("osv-scanner", "osv-scanner", ""),
        ("sarif", "sarif", ""),
        ("junit", "junit", ""),
        ("threat-dragon", "threat-dragon", ""),
        ("markdown-threat-model", "markdown-threat-model", ""),
        ("markdown", "markdown-threat-model", ""),
        ("threat-composer", "threat-composer", ""),
        ("release", "release", ""),
        ("documents", "documents", ""),
        ("decision-card", "decision-card", ""),
    ];

    #[test]
    fn every_type_reads_back_as_written() {
        for (written, type_name, extra) in TYPES {
            let text = format!("type = \"{written}\"\nname = \"s\"\nurl = \"in\"\nsimulated = true\n{extra}");
            let config: SourceConfig = toml::from_str(&text).unwrap_or_else(|e| panic!("{written}: {e}"));
            assert_eq!((config.type_name(), config.name(), config.simulated()), (type_name, "s", true));
        }
        // Every type serde knows is in the list above.
        let err = toml::from_str::<SourceConfig>("type = \"nope\"\nname = \"s\"").unwrap_err().to_string();
        let (_, known) = err.split_once("expected one of ").unwrap_or_else(|| panic!("{err}"));
        let known: Vec<&str> = known.split('`').skip(1).step_by(2).collect();
        assert!(known.len() >= 17, "{err}");
        for name in known {
            assert!(TYPES.iter().any(|(written, _, _)| *written == name), "{name} is not tested");
        }
    }
}
