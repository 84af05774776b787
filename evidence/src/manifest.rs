//! Run manifests: what a run committed, signed by Cairn and chained to the previous manifest.
//!
//! A manifest is the commit record of one run. It lists every object the run wrote, and carries
//! forward the whole state the next run needs (source cursors, chain heads, what has been
//! verified), so only the latest manifest is ever needed to continue.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The format tag written into every manifest.
pub const MANIFEST_FORMAT: &str = "cairn-run-manifest/1";

/// What a run did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Collected evidence from sources.
    Collect,
    /// Verified chains and the lake.
    Verify,
}

/// One committed object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectEntry {
    /// Key in the store.
    pub key: String,
    /// Table name, or `blob`.
    pub table: String,
    /// Lowercase hex SHA-256 of the object's bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Rows, for tables.
    pub rows: u64,
}

/// How far one source object has been collected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCursor {
    /// Bytes consumed (always at a line boundary); for API sources, the watermark (Unix
    /// milliseconds) the last run asked up to.
    pub offset: u64,
    /// Lines consumed.
    pub lines: u64,
    /// SHA-256 of the consumed bytes, to notice a source rewritten under us.
    pub prefix_sha256: String,
    /// For compressed objects (read whole, then decompressed): SHA-256 of the object as last
    /// read, so an unchanged object is not decompressed again. Offsets and the prefix digest then
    /// count decompressed bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_sha256: Option<String>,
    /// For API sources: the record ids already collected inside the overlap window, so the next
    /// run, which asks again from a little before its watermark, does not collect them twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen_ids: Vec<String>,
}

impl SourceCursor {
    /// The cursor of an object not read yet: nothing consumed.
    pub fn start() -> Self {
        Self {
            offset: 0,
            lines: 0,
            prefix_sha256: crate::digest::sha256_hex(b""),
            object_sha256: None,
            seen_ids: Vec::new(),
        }
    }
}

/// The last verified event of a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// Highest sequence number verified.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
    /// Its time as written.
    pub ts: String,
    /// Events of this chain verified so far.
    pub events: u64,
    /// Findings about this chain so far.
    pub findings: u64,
}

/// The previous manifest, by id and digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousRun {
    /// Its run id.
    pub run_id: String,
    /// SHA-256 of its exact bytes.
    pub sha256: String,
}

/// The Merkle tree over every object committed so far, this run's included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkleState {
    /// Number of leaves.
    pub size: u64,
    /// Lowercase hex root.
    pub root: String,
}

/// A run manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunManifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// This run.
    pub run_id: String,
    /// What it did.
    pub stage: Stage,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it committed (RFC 3339).
    pub committed_at: String,
    /// The manifest this one follows.
    pub previous: Option<PreviousRun>,
    /// Minisign key id of the signing key.
    pub signing_key_id: String,
    /// Objects written by this run.
    pub objects: Vec<ObjectEntry>,
    /// Source cursors after this run: source name → source object → cursor.
    pub cursors: BTreeMap<String, BTreeMap<String, SourceCursor>>,
    /// Chain heads after this run.
    pub chain_heads: BTreeMap<String, ChainHead>,
    /// The last collect run whose events have been verified.
    pub verified_through: Option<String>,
    /// Counters of this run (records read, kept aside, findings by kind …).
    pub stats: BTreeMap<String, u64>,
    /// The Merkle tree over all committed objects.
    pub merkle: MerkleState,
}

impl RunManifest {
    /// The canonical bytes that are stored and signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// The bytes of the Merkle leaf for one object: canonical JSON of key, sha256, size, table.
    pub fn leaf_bytes(entry: &ObjectEntry) -> Vec<u8> {
        let value = serde_json::json!({
            "key": entry.key,
            "sha256": entry.sha256,
            "size": entry.size,
            "table": entry.table,
        });
        crate::canonical::canonical_bytes(&value).unwrap_or_default()
    }
}
