//! What the portal and bundles show, as read from the lake: the renderer's input.

use std::collections::BTreeMap;

use cairn_evidence::acknowledgement::AcknowledgementRow;
use cairn_evidence::artefacts::ArtefactSet as ArtefactTables;
use cairn_evidence::finding::Finding;
use cairn_evidence::lake::StoredManifest;
use cairn_evidence::manifest::{RunManifest, Stage};
use cairn_evidence::tables::ControlResultRow;
use cairn_evidence::time::parse_rfc3339;
use chrono::{DateTime, Utc};

/// Everything committed that the portal and bundles show.
pub struct LakeView {
    /// Stored manifests, oldest first.
    pub stored: Vec<StoredManifest>,
    /// Parsed manifests, oldest first.
    pub manifests: Vec<RunManifest>,
    /// Findings about the manifests themselves, found now.
    pub lake_findings: Vec<Finding>,
    /// Every committed finding.
    pub findings: Vec<Finding>,
    /// Every acknowledgement of a finding.
    pub acknowledgements: Vec<AcknowledgementRow>,
    /// Records kept aside, in total.
    pub quarantined: u64,
    /// The artefact tables.
    pub artefacts: ArtefactTables,
    /// Every control evaluation committed by a verify run, oldest run first.
    pub control_history: Vec<ControlResultRow>,
    /// The text of every Markdown threat model, by blob key.
    pub markdown_models: BTreeMap<String, String>,
}

impl LakeView {
    /// The latest verify manifest.
    pub fn latest_verify(&self) -> Option<&RunManifest> {
        self.manifests.iter().rev().find(|m| m.stage == Stage::Verify)
    }

    /// Every break the lake records (and those its manifests show now), with where it stands as
    /// of [`Self::as_of`].
    pub fn standing(&self) -> Vec<cairn_verifier::open::FindingStanding> {
        self.standing_at(self.as_of())
    }

    /// The same, as of `now`.
    pub fn standing_at(&self, now: DateTime<Utc>) -> Vec<cairn_verifier::open::FindingStanding> {
        let all: Vec<Finding> = self.findings.iter().chain(&self.lake_findings).cloned().collect();
        cairn_verifier::open::standing(&all, &self.acknowledgements, now)
    }

    /// The time reports are evaluated at: the latest run's commit time, so the same lake gives
    /// the same pages and bundles.
    pub fn as_of(&self) -> DateTime<Utc> {
        self.manifests.last().and_then(|m| parse_rfc3339(&m.committed_at)).unwrap_or_default()
    }
}
