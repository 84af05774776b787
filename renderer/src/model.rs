//! What the portal shows, already read from the lake.

use serde::Serialize;

/// A finding as shown.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FindingView {
    /// Kind.
    pub kind: String,
    /// Chain, if any.
    pub chain: Option<String>,
    /// Seq, if any.
    pub seq: Option<u64>,
    /// Lake object.
    pub object_key: Option<String>,
    /// Source line.
    pub line: Option<u64>,
    /// Explanation.
    pub detail: String,
    /// Verification run that found it.
    pub run_id: String,
}

/// One chain.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ChainView {
    /// Chain id.
    pub id: String,
    /// Page file name (safe).
    pub file: String,
    /// Events verified.
    pub events: u64,
    /// Head seq.
    pub head_seq: u64,
    /// Head hash.
    pub head_hash: String,
    /// Head time.
    pub head_ts: String,
    /// Findings about it.
    pub findings: Vec<FindingView>,
}

/// A requirement link as shown.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RequirementView {
    /// Framework key.
    pub framework: String,
    /// Requirement id.
    pub id: String,
    /// Relationship type.
    pub relationship: String,
    /// Rationale.
    pub rationale: String,
    /// Confidence.
    pub confidence: String,
}

/// One control with its evaluation.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ControlView {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description rendered from Markdown, sanitized.
    pub description_html: String,
    /// Evidence kind.
    pub evidence: String,
    /// Finding kinds that fail it.
    pub fails_on: Vec<String>,
    /// Freshness limit.
    pub max_age_days: u32,
    /// Status.
    pub status: String,
    /// Why.
    pub reasons: Vec<String>,
    /// Mapped requirements.
    pub requirements: Vec<RequirementView>,
    /// Bundles holding its evidence.
    pub bundles: Vec<DownloadView>,
}

/// Readiness for one framework.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FrameworkView {
    /// Key.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Version of the framework text the requirement list follows.
    pub version: String,
    /// Requirements in the framework's list.
    pub total: usize,
    /// Requirements mapped by at least one control.
    pub covered: usize,
    /// Requirements no control maps to.
    pub gaps: usize,
    /// Requirements whose controls all pass.
    pub passing: usize,
    /// Requirements with a failing control.
    pub failing: usize,
    /// The rest (stale or no evidence).
    pub other: usize,
    /// Page file name.
    pub file: String,
    /// Every requirement, in the framework's order.
    pub requirements: Vec<RequirementRow>,
}

/// One requirement on its framework page, with the crosswalk through its controls.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RequirementRow {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Group (series, theme, article, section).
    pub group: String,
    /// `full`, `partial`, `none` (a gap) or `not_applicable`.
    pub coverage: String,
    /// Rolled-up status, empty for gaps and not-applicable requirements.
    pub status: String,
    /// Controls mapped to it.
    pub controls: Vec<String>,
    /// Requirements of the other frameworks reached through those controls (`framework id`).
    pub crosswalk: Vec<String>,
}

/// One committed run.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RunView {
    /// Run id.
    pub run_id: String,
    /// Stage.
    pub stage: String,
    /// Commit time.
    pub committed_at: String,
    /// Objects written.
    pub objects: usize,
    /// Manifest sha256.
    pub sha256: String,
    /// Previous run id.
    pub previous: Option<String>,
    /// Merkle size.
    pub merkle_size: u64,
    /// Merkle root.
    pub merkle_root: String,
}

/// Headline figures.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct SummaryView {
    /// Events verified.
    pub events_verified: u64,
    /// Chains.
    pub chains: u64,
    /// Findings that break evidence.
    pub breaks: u64,
    /// Signature and key findings.
    pub signature_failures: u64,
    /// Duplicate deliveries.
    pub duplicates: u64,
    /// All findings.
    pub findings_total: u64,
    /// Records kept aside by collectors.
    pub quarantined: u64,
    /// Latest verification time.
    pub last_verified_at: Option<String>,
}

/// A committed lake object with its inclusion proof against the latest checkpoint.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ObjectView {
    /// Leaf index in the Merkle log.
    pub index: u64,
    /// Page file name.
    pub file: String,
    /// Object key.
    pub key: String,
    /// Table, or `blob`.
    pub table: String,
    /// SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Rows, for tables.
    pub rows: u64,
    /// The run that committed it.
    pub run_id: String,
    /// Audit path to the latest checkpoint's root, hex, leaf sibling first.
    pub proof: Vec<String>,
}

/// A signed evidence bundle offered for download.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DownloadView {
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256.
    pub sha256: String,
    /// Scope slug from its name (`all`, a framework, or a control id).
    pub scope: String,
}

/// Everything the portal shows.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PortalModel {
    /// Latest run id.
    pub latest_run: String,
    /// Headline figures.
    pub summary: SummaryView,
    /// Readiness per framework.
    pub frameworks: Vec<FrameworkView>,
    /// Controls.
    pub controls: Vec<ControlView>,
    /// Chains.
    pub chains: Vec<ChainView>,
    /// Findings about the lake itself.
    pub lake_findings: Vec<FindingView>,
    /// Runs, newest first.
    pub runs: Vec<RunView>,
    /// Committed objects, in log order.
    pub objects: Vec<ObjectView>,
    /// The latest signed checkpoint.
    pub checkpoint: String,
    /// Bundles offered for download.
    pub downloads: Vec<DownloadView>,
    /// Cairn's minisign public key file.
    pub public_key: String,
    /// Its key id.
    pub key_id: String,
}

/// A file name for a chain page that cannot escape the output folder: the id itself when it is
/// plain, otherwise a digest of it.
pub fn chain_file_name(chain: &str) -> String {
    let plain = !chain.is_empty()
        && chain.len() <= 100
        && chain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !chain.starts_with('-');
    if plain {
        format!("{chain}.html")
    } else {
        let digest = cairn_evidence::digest::sha256_hex(chain.as_bytes());
        format!("chain-{}.html", &digest[..16])
    }
}
