//! What the portal shows, already read from the lake.

pub use cairn_evidence::finding::Finding;
use serde::Serialize;

/// One chain.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
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
    pub findings: Vec<Finding>,
    /// Its events came from simulated sources.
    pub simulated: bool,
}

/// A requirement link as shown.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
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
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ControlView {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description, Markdown as the catalog writes it.
    pub description: String,
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
    /// The evidence its status rests on.
    pub evidence_items: Vec<EvidenceItemView>,
    /// Findings that fail it, at most [`FAILING_SHOWN`] of them.
    pub failing: Vec<Finding>,
    /// How many findings fail it in all.
    pub failing_total: usize,
    /// Its status in each verify run, newest first.
    pub history: Vec<StatusPoint>,
    /// The evidence it rests on is simulated.
    pub simulated: bool,
}

/// How many failing findings a control page lists; the rest are counted and in the lake.
pub const FAILING_SHOWN: usize = 100;

/// One piece of evidence behind a control.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct EvidenceItemView {
    /// What it is: a lake object key, a run manifest, or a document's title.
    pub label: String,
    /// Its key in the store (a lake object, a blob, or `runs/<run id>.json`).
    pub key: String,
    /// Table, `run` or `document`.
    pub kind: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Size in bytes (0 when not known).
    pub size: u64,
    /// Rows, for tables.
    pub rows: u64,
    /// The run that committed it.
    pub run_id: String,
    /// When that run committed it (RFC 3339).
    pub committed_at: String,
    /// The sources that run collected from (its provenance), comma-separated.
    pub sources: String,
    /// Its page, relative to the portal root.
    pub page: String,
    /// The item holds simulated data.
    pub simulated: bool,
}

/// A control's status in one verify run.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct StatusPoint {
    /// The verify run.
    pub run_id: String,
    /// When it was evaluated (RFC 3339).
    pub evaluated_at: String,
    /// `passing`, `failing`, `stale`, `no_evidence` or `manual`.
    pub status: String,
    /// Why, joined.
    pub reasons: String,
    /// The run's page.
    pub page: String,
}

/// A key the evidence depends on.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct KeyView {
    /// Key id.
    pub kid: String,
    /// `cairn` (signs run manifests, checkpoints and bundles) or `service` (signs audit events
    /// or attestations, trusted through the keyring).
    pub role: String,
    /// The public key, base64.
    pub public_key: String,
    /// Whether it is the key Cairn signs with now.
    pub current: bool,
    /// Runs it signed (Cairn keys).
    pub runs_signed: usize,
    /// First and last run it signed (Cairn keys).
    pub first_run: String,
    /// Last run it signed.
    pub last_run: String,
    /// The first run's page.
    pub first_run_page: String,
    /// The last run's page.
    pub last_run_page: String,
    /// The Cairn key it took signing over from, by a rotation run (empty when none).
    pub took_over_from: String,
    /// That rotation run, and its page.
    pub took_over_at: String,
    /// The rotation run's page.
    pub took_over_page: String,
    /// The Cairn key it handed signing to (empty when none).
    pub handed_to: String,
    /// That rotation run.
    pub handed_at: String,
    /// The rotation run's page.
    pub handed_page: String,
    /// Validity from the keyring (RFC 3339, empty when open).
    pub not_before: String,
    /// End of validity.
    pub not_after: String,
    /// Revocation time.
    pub revoked_at: String,
    /// Chain patterns it may sign (`*` for all).
    pub chain_patterns: Vec<String>,
    /// Chains in the lake it may sign, with their pages.
    pub chains: Vec<ChainLink>,
    /// Attestation source patterns it may sign.
    pub attestation_patterns: Vec<String>,
    /// Decision Card id patterns it may sign.
    pub policy_patterns: Vec<String>,
}

/// A key learned from a published key document (JWKS or minisign public key file).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct PublishedKeyView {
    /// The document's configured name.
    pub document: String,
    /// Where it was fetched from (URL or path).
    pub location: String,
    /// Key id.
    pub kid: String,
    /// `Ed25519`.
    pub algorithm: String,
    /// Lowercase hex SHA-256 of the raw 32-byte key (the current, or last, key of this kid).
    pub fingerprint: String,
    /// `present` or `removed`.
    pub state: String,
    /// First fetch that held it (RFC 3339).
    pub first_seen: String,
    /// Last fetch that held it.
    pub last_seen: String,
    /// When it was removed from the document (empty while present).
    pub removed_at: String,
    /// Whether the keyring trusts a key under this kid (from the keyring file, or joined from
    /// the document).
    pub trusted: bool,
    /// Chain patterns the keyring lets it sign.
    pub chain_patterns: Vec<String>,
    /// Chains in the lake it may sign, with their pages.
    pub chains: Vec<ChainLink>,
    /// Attestation source patterns it may sign.
    pub attestation_patterns: Vec<String>,
    /// Decision Card id patterns it may sign.
    pub policy_patterns: Vec<String>,
    /// Its rotation history, oldest first: added, changed, removed.
    pub history: Vec<KeyChangeView>,
}

/// One change of a published key.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct KeyChangeView {
    /// When the fetch that saw it happened (RFC 3339).
    pub at: String,
    /// `added`, `changed` or `removed`.
    pub event: String,
    /// The fingerprint after the change (before it, for `removed`).
    pub fingerprint: String,
    /// For `changed`: the fingerprint before.
    pub previous_fingerprint: String,
    /// The document version's SHA-256.
    pub document_sha256: String,
    /// The page of the document version's blob, when the portal has one.
    pub object_page: String,
    /// The run that saw it.
    pub run_id: String,
}

/// A published key document and its last fetches.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct PublishedDocumentView {
    /// Its configured name.
    pub name: String,
    /// URL or path.
    pub location: String,
    /// Last successful fetch (RFC 3339), empty if never.
    pub last_fetched: String,
    /// The document's SHA-256 then.
    pub document_sha256: String,
    /// Versions seen (distinct SHA-256).
    pub versions: usize,
    /// Whether the last fetch failed.
    pub unreachable: bool,
    /// The last failure: time and reason.
    pub last_failure_at: String,
    /// Why it failed.
    pub last_failure: String,
}

/// A link to a chain page.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ChainLink {
    /// Chain id.
    pub id: String,
    /// Page file name.
    pub file: String,
}

/// Readiness for one framework.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
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
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
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
    /// Its row's id on the framework page (`req-` + [`anchor`]).
    pub anchor: String,
}

/// A fragment-safe form of an identifier: lowercase ASCII letters and digits, every run of
/// anything else as one `-`, none at either end.
pub fn anchor(text: &str) -> String {
    let mut out = String::new();
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// One committed run.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
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
    /// Its page, relative to the portal root.
    pub file: String,
    /// The previous run's page.
    pub previous_file: Option<String>,
    /// Key id of the key that signed it.
    pub signing_key_id: String,
    /// The manifest's minisign signature file, as stored.
    pub signature: String,
    /// The signed checkpoint stored with it.
    pub checkpoint: String,
    /// Objects it committed, with their pages.
    pub object_links: Vec<ObjectLink>,
    /// Source cursors after it.
    pub cursors: Vec<CursorView>,
    /// Its counters.
    pub stats: Vec<(String, u64)>,
    /// The run wrote simulated data.
    pub simulated: bool,
    /// For an erase run: who asked, why, and what was erased (never the values).
    pub erasure: Option<cairn_evidence::manifest::Erasure>,
}

/// A link to a lake object's page.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ObjectLink {
    /// Object key.
    pub key: String,
    /// Table, or `blob`.
    pub table: String,
    /// Its page.
    pub page: String,
}

/// Where a source stood after a run.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct CursorView {
    /// Source name.
    pub source: String,
    /// Source object, or the API stream.
    pub object: String,
    /// Bytes read (a time watermark in milliseconds for API sources).
    pub offset: u64,
    /// Lines read.
    pub lines: u64,
    /// SHA-256 of the bytes read so far.
    pub prefix_sha256: String,
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
    /// Breaks neither resolved nor acknowledged.
    pub open: u64,
    /// Breaks acknowledged, their acknowledgement still running.
    pub acknowledged: u64,
}

/// A committed lake object with its inclusion proof against the latest checkpoint.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
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
    /// The object holds simulated data.
    pub simulated: bool,
}

/// A signed evidence bundle offered for download.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
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
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
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
    pub lake_findings: Vec<Finding>,
    /// Every break and where it stands (open, acknowledged, resolved), as of the latest run.
    pub standing: Vec<cairn_verifier::open::FindingStanding>,
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
    /// Supply-chain and design evidence.
    pub supply: SupplyView,
    /// Cairn's signing keys over the runs, then the keyring's keys.
    pub keys: Vec<KeyView>,
    /// Some evidence in the lake is simulated.
    pub simulated: bool,
    /// Published key documents.
    pub published_documents: Vec<PublishedDocumentView>,
    /// Every key ever seen in a published document.
    pub published_keys: Vec<PublishedKeyView>,
    /// The portal carries the OSCAL export (`oscal/`), linked from its downloads page.
    pub oscal: bool,
    /// Whom the pages are for and what they withhold; none when they show the whole lake.
    pub audience: Option<cairn_evidence::classification::AudienceNote>,
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

/// A release artefact and what vouches for it.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ReleaseFileView {
    /// Path in the release folder (`<subject>/<version>/<file>`).
    pub name: String,
    /// SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Pages of the attestations naming its digest.
    pub attested_by: Vec<String>,
    /// Pages of the SBOMs describing its release.
    pub sboms: Vec<String>,
    /// Findings about it.
    pub findings: Vec<Finding>,
}

/// One subject of an attestation.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct SubjectView {
    /// Name.
    pub name: String,
    /// Digest algorithm.
    pub alg: String,
    /// Digest.
    pub digest: String,
}

/// One attestation record (an envelope or a bundle).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct AttestationView {
    /// Page path.
    pub file: String,
    /// Source object and line.
    pub source_object: String,
    /// Line in the source object.
    pub line: u64,
    /// The stored blob.
    pub blob: String,
    /// `dsse` or `sigstore-bundle`.
    pub format: String,
    /// Predicate type.
    pub predicate_type: String,
    /// Subjects.
    pub subjects: Vec<SubjectView>,
    /// Builder id.
    pub builder_id: String,
    /// Build type.
    pub build_type: String,
    /// Source repository.
    pub source_repo: String,
    /// Source commit.
    pub source_commit: String,
    /// Invocation.
    pub invocation_id: String,
    /// Build start.
    pub started_on: String,
    /// Build end.
    pub finished_on: String,
    /// Materials (`uri digest`).
    pub materials: Vec<String>,
    /// Who signed: key id or certificate identity.
    pub signer: String,
    /// `verified`, `failed`, `not_verified` or `pending`.
    pub signature_state: String,
    /// The signature status in words.
    pub signature_status: String,
    /// The transparency-log status in words.
    pub tlog_status: String,
    /// Findings about it.
    pub findings: Vec<Finding>,
    /// Collected from a simulated source.
    pub simulated: bool,
}

/// One SBOM component.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ComponentView {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Package URL.
    pub purl: String,
    /// Type.
    pub kind: String,
    /// Licences.
    pub licenses: String,
    /// Supplier.
    pub supplier: String,
    /// Hashes.
    pub hashes: String,
}

/// One SBOM.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct SbomView {
    /// Page path.
    pub file: String,
    /// Source object.
    pub source_object: String,
    /// The stored blob.
    pub blob: String,
    /// Spec and version.
    pub spec: String,
    /// Document name.
    pub document: String,
    /// Subject.
    pub subject: String,
    /// Subject version.
    pub subject_version: String,
    /// Tools.
    pub tool: String,
    /// Creation time.
    pub created: String,
    /// Components.
    pub components: Vec<ComponentView>,
    /// Licence → components under it, most used first.
    pub licenses: Vec<(String, u64)>,
    /// Changes from the previous SBOM of the subject (`added name version`, …).
    pub changes: Vec<String>,
    /// Findings about it.
    pub findings: Vec<Finding>,
    /// Collected from a simulated source.
    pub simulated: bool,
}

/// One vulnerability-scan report of a release.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ScanView {
    /// Page path.
    pub file: String,
    /// Source object.
    pub source_object: String,
    /// The stored blob.
    pub blob: String,
    /// The source type that read it.
    pub format: String,
    /// Scanner and version.
    pub scanner: String,
    /// What was scanned.
    pub target: String,
    /// Release subject.
    pub subject: String,
    /// Release version.
    pub subject_version: String,
    /// When it ran (RFC 3339).
    pub scanned_at: String,
    /// The latest scan of its release by its scanner (older ones are superseded).
    pub latest: bool,
    /// Vulnerabilities by severity, most severe first: `(severity, count)`, counts above zero.
    pub counts: Vec<(String, u64)>,
    /// Vulnerabilities past the severity gate that no later scan fixed.
    pub past_gate: u64,
    /// Vulnerabilities, most severe first, then oldest first.
    pub vulnerabilities: Vec<VulnerabilityView>,
    /// Changes from the previous scan of the subject by the scanner (`appeared CVE-… in pkg`).
    pub changes: Vec<String>,
    /// Open gate findings about its vulnerabilities.
    pub findings: Vec<Finding>,
    /// Collected from a simulated source.
    pub simulated: bool,
}

/// One test report of a release.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct TestRunView {
    /// Page path.
    pub file: String,
    /// Source object.
    pub source_object: String,
    /// The stored blob.
    pub blob: String,
    /// The report's file name.
    pub report: String,
    /// Its name.
    pub name: String,
    /// Release subject.
    pub subject: String,
    /// Release version.
    pub subject_version: String,
    /// When it ran, as written (or when collected).
    pub started_at: String,
    /// The latest run of this report of its release.
    pub latest: bool,
    /// Totals, counted from the cases.
    pub tests: u64,
    /// Passed.
    pub passed: u64,
    /// Failed.
    pub failed: u64,
    /// Errored.
    pub errors: u64,
    /// Skipped (quarantined included).
    pub skipped: u64,
    /// Quarantined.
    pub quarantined: u64,
    /// Passed after reruns.
    pub flaky: u64,
    /// The totals the file states, when they differ.
    pub stated_mismatch: String,
    /// Tags of its cases.
    pub tags: String,
    /// Cases: failed and errored first, then quarantined, skipped, flaky, passed.
    pub cases: Vec<TestCaseView>,
    /// Open findings about it.
    pub findings: Vec<Finding>,
    /// Collected from a simulated source.
    pub simulated: bool,
}

/// One test case.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct TestCaseView {
    /// Suite, classname and name.
    pub label: String,
    /// Status.
    pub status: String,
    /// Reruns before it passed.
    pub reruns: u64,
    /// Seconds, as written.
    pub time: String,
    /// First line of its message.
    pub message: String,
    /// Tags.
    pub tags: String,
}

/// One vulnerability of a scan.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct VulnerabilityView {
    /// Advisory id.
    pub id: String,
    /// Other ids.
    pub aliases: String,
    /// Package (or location).
    pub on: String,
    /// Installed version.
    pub version: String,
    /// Severity.
    pub severity: String,
    /// CVSS score.
    pub cvss: String,
    /// Fix state.
    pub fix_state: String,
    /// Fixed versions.
    pub fixed_version: String,
    /// Title.
    pub title: String,
    /// The day it was first seen in a scan of the subject (`YYYY-MM-DD`).
    pub first_seen: String,
    /// Days from first seen to this scan.
    pub age_days: i64,
    /// An open gate finding names it.
    pub past_gate: bool,
}

/// One threat.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ThreatView {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Category.
    pub category: String,
    /// Severity.
    pub severity: String,
    /// Status as written.
    pub status: String,
    /// Whether the status is open.
    pub open: bool,
    /// Mitigation.
    pub mitigation: String,
    /// Element.
    pub element: String,
    /// Control ids named, that exist in the catalog (linked).
    pub controls: Vec<String>,
    /// Control ids named that the catalog does not have (shown unlinked).
    pub unknown_controls: Vec<String>,
}

/// One threat model.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ThreatModelView {
    /// Page path.
    pub file: String,
    /// Source object.
    pub source_object: String,
    /// The stored blob.
    pub blob: String,
    /// Format.
    pub format: String,
    /// Title.
    pub title: String,
    /// Subsystem.
    pub subsystem: String,
    /// Owner.
    pub owner: String,
    /// Reviewer.
    pub reviewer: String,
    /// Review date.
    pub reviewed: String,
    /// Open threats.
    pub open: u64,
    /// Threats.
    pub threats: Vec<ThreatView>,
    /// Findings about it.
    pub findings: Vec<Finding>,
    /// A Markdown model's document, rendered and sanitized (empty for other formats).
    pub body_html: String,
    /// Collected from a simulated source.
    pub simulated: bool,
}

/// The supply-chain and design evidence.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct SupplyView {
    /// Release artefacts.
    pub releases: Vec<ReleaseFileView>,
    /// Attestations.
    pub attestations: Vec<AttestationView>,
    /// SBOMs.
    pub sboms: Vec<SbomView>,
    /// Vulnerability scans, by release then newest first.
    pub scans: Vec<ScanView>,
    /// Test reports, by release then newest first.
    pub test_runs: Vec<TestRunView>,
    /// Threat models.
    pub threat_models: Vec<ThreatModelView>,
    /// Documents recorded as evidence of manual controls.
    pub documents: Vec<DocumentView>,
}

/// A document recorded as evidence of manual controls.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct DocumentView {
    /// File name.
    pub file: String,
    /// Title.
    pub title: String,
    /// Control ids (linked when they exist).
    pub controls: Vec<String>,
    /// Owner.
    pub owner: String,
    /// Date.
    pub date: String,
    /// SHA-256.
    pub sha256: String,
    /// The stored blob.
    pub blob: String,
}

/// A page path for an artefact record: `artefacts/<kind>-<first 16 of its blob digest>-<8 of a
/// digest of where and when it was collected>.html`, made only of safe characters whatever the
/// keys hold, and distinct for the same bytes collected from two places or twice.
pub fn artefact_file_name(kind: &str, blob: &str, object_key: &str, line: u64, run_id: &str) -> String {
    let hex: String =
        blob.rsplit('/').next().unwrap_or_default().chars().filter(char::is_ascii_hexdigit).take(16).collect();
    let kind: String = kind.chars().filter(|c| c.is_ascii_lowercase() || *c == '-').collect();
    let place = cairn_evidence::digest::sha256_hex(format!("{object_key}\n{line}\n{run_id}").as_bytes());
    format!("artefacts/{kind}-{hex}-{}.html", &place[..8])
}
