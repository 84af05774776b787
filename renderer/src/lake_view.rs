//! What the portal and bundles show, as read from the lake: the renderer's input.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use cairn_evidence::acknowledgement::AcknowledgementRow;
use cairn_evidence::artefacts::ArtefactSet as ArtefactTables;
use cairn_evidence::classification::{Audience, AudienceNote, Classification, LeftOut};
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
    /// Whom the view is shown to and what it withholds from them ([`Self::withhold`]); none
    /// when it shows the whole lake.
    pub shown_to: Option<AudienceNote>,
    /// The artefact rows withheld from `artefacts`.
    pub withheld: ArtefactTables,
}

/// What a withheld document's title becomes in control reasons.
pub const WITHHELD_TITLE: &str = "a document withheld from this audience";
/// What a withheld document's owner becomes in control reasons.
pub const WITHHELD_OWNER: &str = "its owner";

/// Masks a document's title and owner, as control reasons show a document withheld from their
/// reader.
pub fn mask_document(document: &mut cairn_evidence::artefacts::DocumentRow) {
    document.title = WITHHELD_TITLE.to_string();
    document.owner = WITHHELD_OWNER.to_string();
}

impl LakeView {
    /// Withholds the artefact rows `audience` may not see: those of a table or a source
    /// `class_of(table, source)` classifies above its ceiling, with the Markdown threat models
    /// only they name. What was withheld is counted in [`Self::shown_to`]. Controls are still
    /// evaluated on every row ([`Self::evaluated_artefacts`]), so a status does not depend on who
    /// reads it; only what the pages show does.
    pub fn withhold(&mut self, audience: Audience, class_of: impl Fn(&str, &str) -> Classification) {
        let mut counted: BTreeMap<(&'static str, Classification), u64> = BTreeMap::new();
        let gone = self.artefacts.split_off(|table, provenance| {
            let class = class_of(table, &provenance.source);
            let hide = !audience.may_see(class);
            if hide {
                *counted.entry((table, class)).or_default() += 1;
            }
            hide
        });
        let shown: BTreeSet<&str> = self.artefacts.threat_models.iter().map(|t| t.blob.as_str()).collect();
        self.markdown_models.retain(|blob, _| shown.contains(blob.as_str()));
        self.withheld.extend(&gone);
        let left_out = counted
            .into_iter()
            .map(|((table, classification), count)| LeftOut {
                what: format!("rows of table {table}"),
                classification,
                count,
            })
            .collect();
        self.shown_to = Some(AudienceNote { audience, ceiling: audience.ceiling(), left_out });
    }

    /// Every artefact row, the withheld ones included with their documents' titles and owners
    /// masked: what controls are evaluated on.
    pub fn evaluated_artefacts(&self) -> Cow<'_, ArtefactTables> {
        if self.withheld.row_counts().is_empty() {
            return Cow::Borrowed(&self.artefacts);
        }
        let mut all = self.artefacts.clone();
        let mut withheld = self.withheld.clone();
        withheld.documents.iter_mut().for_each(mask_document);
        all.extend(&withheld);
        Cow::Owned(all)
    }

    /// A control reason committed by a verify run, with the titles and owners of withheld
    /// documents masked as [`Self::evaluated_artefacts`] masks them.
    pub fn masked_reason(&self, reason: &str) -> String {
        let mut out = reason.to_string();
        for d in &self.withheld.documents {
            out = out
                .replace(&format!("{:?}", d.title), &format!("{WITHHELD_TITLE:?}"))
                .replace(&format!("by {},", d.owner), &format!("by {WITHHELD_OWNER},"))
                .replace(&format!("({},", d.owner), &format!("({WITHHELD_OWNER},"));
        }
        out
    }

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
