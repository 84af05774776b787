//! Run manifests: what a run committed, signed by Cairn and chained to the previous manifest.
//!
//! A manifest is the commit record of one run. It lists every object the run wrote, and carries
//! forward the whole state the next run needs (source cursors, chain heads, what has been
//! verified), so only the latest manifest is ever needed to continue.

use std::collections::{BTreeMap, BTreeSet};

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
    /// Acknowledged open findings.
    Acknowledge,
    /// Handed signing to a new key (`rotation`).
    Rotate,
    /// Erased disclosed personal values from the vault (`erasure`).
    Erase,
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
    /// True when the object holds simulated data (written only when true).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
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
    /// Seqs still missing below `seq`, so an event that arrives on a later night is linked into
    /// its place and closes its gap (written only when some are missing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<OpenGap>,
}

/// A range of seqs still missing from a chain after a verification, with what is known of the
/// events on either side of it: a late event is checked against them when it arrives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenGap {
    /// First missing seq.
    pub start: u64,
    /// Last missing seq.
    pub end: u64,
    /// The seq its `gap` finding named (the start of the range as first reported): the gap is
    /// closed when no range reported at that seq is left.
    pub reported_at: u64,
    /// Hash of the event at `start - 1`; none when `start` is 0 (its `prev` must be 64 zeros).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_hash: Option<String>,
    /// Time of the event at `start - 1`, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_ts: Option<String>,
    /// `prev` of the event at `end + 1`.
    pub after_prev: String,
    /// Time of the event at `end + 1`, as written.
    pub after_ts: String,
    /// The lake object holding the event at `end + 1`.
    pub object_key: String,
    /// Its line in its source object.
    pub line: u64,
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
    /// For a rotation run: the handover of signing to the key that signs this manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<KeyRotation>,
    /// The disclosure vault objects this run wrote (`vault/disclosures/…`): personal values kept
    /// apart from the lake. Not leaves of the Merkle tree; each row proves itself against the
    /// commitment in its signed event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vault: Vec<ObjectEntry>,
    /// For an erasure run: what it erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erasure: Option<Erasure>,
}

/// What an erasure run erased, as its manifest records it. The values themselves are not
/// recorded: only the commitments whose values are gone, and the vault objects rewritten.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// Who asked for it, as they gave their name.
    pub by: String,
    /// Why (the request's reference).
    pub reason: String,
    /// Events whose disclosed values were erased.
    pub events: u64,
    /// The digests whose values were erased, sorted: the commitments stay in the signed events.
    pub digests: Vec<String>,
    /// The vault objects replaced by this run's (which hold the rows kept).
    pub replaced: Vec<String>,
}

/// A handover of signing, as a rotation run's manifest records it (the `rotation` module says
/// how it is made and checked).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRotation {
    /// The key that signed the runs before (the base64 line of its minisign public key).
    pub from: String,
    /// The key that signs this run and the runs after.
    pub to: String,
    /// The old key's minisign signature over the rotation statement (`KeyRotation::statement`).
    pub statement_signature: String,
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

/// Which committed objects hold simulated data, by the flag their collect runs recorded.
#[derive(Clone, Debug, Default)]
pub struct SimulatedObjects {
    simulated: BTreeSet<String>,
    real: BTreeSet<String>,
}

impl SimulatedObjects {
    /// Reads the flags of every collect run's objects.
    pub fn of<'a>(manifests: impl IntoIterator<Item = &'a RunManifest>) -> Self {
        let mut set = Self::default();
        for m in manifests.into_iter().filter(|m| m.stage == Stage::Collect) {
            for o in &m.objects {
                if o.simulated {
                    set.simulated.insert(o.key.clone());
                } else {
                    set.real.insert(o.key.clone());
                }
            }
        }
        set
    }

    /// True when the object holds simulated data.
    pub fn contains(&self, key: &str) -> bool {
        self.simulated.contains(key)
    }

    /// True when some collected data is simulated.
    pub fn any(&self) -> bool {
        !self.simulated.is_empty()
    }

    /// True when all collected data is simulated (and there is some).
    pub fn all(&self) -> bool {
        self.any() && self.real.is_empty()
    }

    /// Whether a row about `key` (a finding's object) is about simulated data: the object's own
    /// flag when it is a collected object, else whether all collected data is simulated. Real
    /// data is never hidden behind the flag: a finding about nothing in particular is marked
    /// simulated only in a lake holding nothing else.
    pub fn about(&self, key: Option<&str>) -> bool {
        match key {
            Some(k) if self.simulated.contains(k) => true,
            Some(k) if self.real.contains(k) => false,
            _ => self.all(),
        }
    }
}

#[cfg(test)]
mod simulated_tests {
    use super::*;

    fn manifest(stage: Stage, objects: &[(&str, bool)]) -> RunManifest {
        let text = serde_json::json!({
            "format": MANIFEST_FORMAT, "run_id": "r", "stage": stage, "started_at": "", "committed_at": "",
            "previous": null, "signing_key_id": "", "objects": [], "cursors": {}, "chain_heads": {},
            "verified_through": null, "stats": {}, "merkle": {"size": 0, "root": ""}
        });
        let mut m: RunManifest = serde_json::from_value(text).unwrap();
        m.objects = objects
            .iter()
            .map(|(key, simulated)| ObjectEntry {
                key: (*key).into(),
                table: "events".into(),
                sha256: String::new(),
                size: 0,
                rows: 1,
                simulated: *simulated,
            })
            .collect();
        m
    }

    #[test]
    fn real_data_is_never_hidden_behind_the_flag() {
        let mixed = [manifest(Stage::Collect, &[("a", true), ("b", false)]), manifest(Stage::Verify, &[("f", true)])];
        let s = SimulatedObjects::of(&mixed);
        assert!(s.any() && !s.all());
        assert!(s.about(Some("a")) && !s.about(Some("b")));
        // A finding about no collected object: simulated only when all collected data is.
        assert!(!s.about(None) && !s.about(Some("runs/r.json")));
        let demo = [manifest(Stage::Collect, &[("a", true)])];
        assert!(SimulatedObjects::of(&demo).about(None));
        // The flag is written only when true, so manifests without simulated data are unchanged.
        let text = serde_json::to_string(&mixed[0].objects).unwrap();
        assert_eq!(text.matches("simulated").count(), 1, "{text}");
    }
}
