//! The format of a signed evidence bundle, shared by the renderer, which writes bundles, and the
//! verifier, which checks them:
//!
//! ```text
//! README.txt              how to verify, with the exact commands
//! manifest.json           scope, period, run id, checkpoint, every file with sha256/size/kind/
//!                         controls and, for lake objects, its inclusion proof
//! manifest.json.minisig   minisign signature of manifest.json by Cairn's key
//! SHA256SUMS              for `sha256sum -c`
//! verify.py               standalone checker (Python standard library + `cryptography`)
//! controls.csv            control → requirement → evidence
//! store/…                 committed lake objects and run manifests, byte for byte
//! evidence/…              reports and extracts
//! ```

use serde::{Deserialize, Serialize};

/// Format tag of bundle manifests.
pub const BUNDLE_FORMAT: &str = "cairn-evidence-bundle/1";

/// Entries every bundle has besides its files.
pub const FIXED_ENTRIES: [&str; 5] =
    ["README.txt", "SHA256SUMS", "manifest.json", "manifest.json.minisig", "verify.py"];

/// The most a bundle may decompress to before it is refused as a zip bomb.
pub const MAX_UNPACKED_BYTES: u64 = 64 << 30;

/// Whether a path inside a bundle is safe to extract: relative, `/`-separated, with no empty, `.`
/// or `..` segment, backslash or NUL.
pub fn safe_entry_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name.contains('\0')
        && name.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
}

/// Where a file sits in the lake's Merkle log, and the audit path that proves it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionRef {
    /// The object's key in the lake.
    pub key: String,
    /// Its table (or `blob`).
    pub table: String,
    /// Its leaf index.
    pub leaf_index: u64,
    /// The tree size of the bundle's checkpoint.
    pub tree_size: u64,
    /// Audit path, hex, leaf sibling first.
    pub proof: Vec<String>,
}

/// A file entry of the bundle manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Path inside the zip.
    pub path: String,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// What it is.
    pub kind: String,
    /// Controls it is evidence for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<String>,
    /// Inclusion proof in the lake's Merkle log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion: Option<InclusionRef>,
    /// The file holds simulated data (written only when true).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
}

/// The audit period a bundle covers (collection days, inclusive).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// First day (YYYY-MM-DD), if bounded.
    pub since: Option<String>,
    /// Last day (YYYY-MM-DD), if bounded.
    pub until: Option<String>,
    /// Only the objects these runs committed (a nightly job's new evidence), if so limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs: Option<Vec<String>>,
}

/// The signed manifest of a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// Bundle name.
    pub name: String,
    /// What it covers (`all`, `framework soc2`, `control LOG-01`).
    pub scope: String,
    /// The audit period.
    pub period: Period,
    /// The lake run it was built from.
    pub run_id: String,
    /// That run's commit time.
    pub created_at: String,
    /// Merkle tree size of the lake at that run.
    pub merkle_size: u64,
    /// Merkle root of the lake at that run.
    pub merkle_root: String,
    /// The run's signed checkpoint (C2SP signed note); inclusion proofs lead to its root.
    pub checkpoint: String,
    /// Minisign key id of the signing key.
    pub signing_key_id: String,
    /// True when any file holds simulated data (synthetic, not evidence about a real system).
    #[serde(default)]
    pub simulated: bool,
    /// Who the bundle was made for, and what it left out for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<crate::classification::AudienceNote>,
    /// Every evidence file.
    pub files: Vec<ManifestFile>,
}
