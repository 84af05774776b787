//! Merkle proofs as files: an inclusion proof of one committed object and a consistency proof
//! between two runs, each self-contained JSON checked offline against Cairn's signed checkpoints
//! (C2SP signed notes) and public key.

use cairn_evidence::digest::Sha256Digest;
use cairn_evidence::keys::PublicKey;
use cairn_evidence::lake::checkpoint_verifier;
use cairn_evidence::manifest::{ObjectEntry, RunManifest};
use cairn_evidence::merkle::{leaf_hash, verify_consistency, verify_inclusion, ProofError};
use cairn_evidence::note::{verify_note, Checkpoint, NoteError};
use serde::{Deserialize, Serialize};

/// Format tag of inclusion proof files.
pub const INCLUSION_FORMAT: &str = "cairn-inclusion-proof/1";
/// Format tag of consistency proof files.
pub const CONSISTENCY_FORMAT: &str = "cairn-consistency-proof/1";

/// An inclusion proof of one committed object in the lake's Merkle log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// Always [`INCLUSION_FORMAT`].
    pub format: String,
    /// Object key.
    pub key: String,
    /// Its table (or `blob`).
    pub table: String,
    /// Its SHA-256.
    pub sha256: String,
    /// Its size.
    pub size: u64,
    /// Its leaf index.
    pub leaf_index: u64,
    /// Tree size of the checkpoint.
    pub tree_size: u64,
    /// Audit path, hex, leaf sibling first.
    pub proof: Vec<String>,
    /// The signed checkpoint (C2SP signed note) the proof leads to.
    pub checkpoint: String,
    /// When Cairn's key was rotated after that checkpoint: each rotation run since, newest first
    /// (as in [`ConsistencyProof::handovers`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handovers: Vec<Handover>,
}

/// A consistency proof between two runs' checkpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// Always [`CONSISTENCY_FORMAT`].
    pub format: String,
    /// Proof hashes, hex.
    pub proof: Vec<String>,
    /// The older signed checkpoint.
    pub old_checkpoint: String,
    /// The newer signed checkpoint.
    pub new_checkpoint: String,
    /// When Cairn's key was rotated after the older checkpoint: each rotation run since, newest
    /// first, so that the key the proof is checked with leads, handover by handover, to the key
    /// that signed the older checkpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handovers: Vec<Handover>,
}

/// A key rotation run as a proof carries it: the manifest's exact text and its signature (by the
/// key it hands over to).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Handover {
    /// The rotation run's manifest, exactly as stored.
    pub manifest: String,
    /// Its minisign signature, as stored.
    pub signature: String,
}

/// Why a proof file does not check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofFileError {
    /// Not JSON.
    #[error("the proof is not JSON")]
    NotJson(#[source] serde_json::Error),
    /// JSON, but not the shape its format says.
    #[error(transparent)]
    Shape(serde_json::Error),
    /// A `format` this version does not know.
    #[error("unknown proof format {0:?}")]
    UnknownFormat(Option<String>),
    /// A proof hash that is not 64 hex digits.
    #[error("{0:?} is not a SHA-256 hash")]
    NotAHash(String),
    /// The checkpoint's signature does not verify with the key, or it does not parse.
    #[error("checkpoint signature")]
    Checkpoint(#[source] NoteError),
    /// The proof and its checkpoint disagree on the tree size.
    #[error("the proof is for tree size {proof}, the checkpoint says {checkpoint}")]
    TreeSize {
        /// The size the proof names.
        proof: u64,
        /// The size the checkpoint signs.
        checkpoint: u64,
    },
    /// The audit path does not lead to the signed root.
    #[error(transparent)]
    Merkle(#[from] ProofError),
    /// A handover does not lead from the trusted key to the key before it.
    #[error("handover {index}: {detail}")]
    Handover {
        /// Its place in `handovers`, from 0.
        index: usize,
        /// What is wrong.
        detail: String,
    },
}

/// The trusted key, then each key before it that `handovers` (newest first) prove handed over:
/// each rotation run signed by the key it hands over to, its statement by the key it hands over
/// from.
fn lake_keys(trusted: &PublicKey, handovers: &[Handover]) -> Result<Vec<PublicKey>, ProofFileError> {
    let mut keys = vec![*trusted];
    for (index, h) in handovers.iter().enumerate() {
        let fail = |detail: String| ProofFileError::Handover { index, detail };
        let current = keys[keys.len() - 1];
        current
            .verify_minisign(h.manifest.as_bytes(), &h.signature)
            .map_err(|e| fail(format!("the rotation run is not signed by the key after it: {e}")))?;
        let manifest: RunManifest =
            serde_json::from_str(&h.manifest).map_err(|e| fail(format!("not a run manifest: {e}")))?;
        let rotation = manifest.rotation.ok_or_else(|| fail("the run is not a key rotation".into()))?;
        let (from, to) = rotation.keys().map_err(fail)?;
        if to.key != current.key {
            return Err(fail("it hands over to a key other than the one that signed it".into()));
        }
        rotation.check_statement(&from, &to, manifest.previous.as_ref()).map_err(fail)?;
        keys.push(from);
    }
    Ok(keys)
}

fn parse_hexes(proof: &[String]) -> Result<Vec<Sha256Digest>, ProofFileError> {
    proof.iter().map(|h| Sha256Digest::from_hex(h).ok_or_else(|| ProofFileError::NotAHash(h.clone()))).collect()
}

/// A checkpoint signed by any of `keys`.
fn checked_by_any(note: &str, keys: &[PublicKey]) -> Result<Checkpoint, ProofFileError> {
    let verifiers: Vec<_> = keys.iter().map(checkpoint_verifier).collect();
    let (text, _) = verify_note(note, &verifiers).map_err(ProofFileError::Checkpoint)?;
    Checkpoint::parse(text).map_err(ProofFileError::Checkpoint)
}

/// Verifies a proof file (either kind) against Cairn's public key. Returns a one-line summary.
pub fn verify_file(text: &str, public: &PublicKey) -> Result<String, ProofFileError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(ProofFileError::NotJson)?;
    match value.get("format").and_then(serde_json::Value::as_str) {
        Some(INCLUSION_FORMAT) => {
            let p: InclusionProof = serde_json::from_value(value).map_err(ProofFileError::Shape)?;
            let cp = checked_by_any(&p.checkpoint, &lake_keys(public, &p.handovers)?)?;
            if cp.size != p.tree_size {
                return Err(ProofFileError::TreeSize { proof: p.tree_size, checkpoint: cp.size });
            }
            let entry = ObjectEntry {
                key: p.key.clone(),
                table: p.table.clone(),
                sha256: p.sha256.clone(),
                size: p.size,
                rows: 0,
                simulated: false,
            };
            let leaf = leaf_hash(&RunManifest::leaf_bytes(&entry));
            verify_inclusion(p.leaf_index, cp.size, &leaf, &parse_hexes(&p.proof)?, &cp.root)?;
            Ok(format!(
                "{} (sha256 {}) is leaf {} of {} tree size {} root {}",
                p.key,
                p.sha256,
                p.leaf_index,
                cp.origin,
                cp.size,
                cp.root.to_hex()
            ))
        }
        Some(CONSISTENCY_FORMAT) => {
            let p: ConsistencyProof = serde_json::from_value(value).map_err(ProofFileError::Shape)?;
            // Across key rotations each checkpoint is signed by the key of its time: any of the
            // lake's keys the handovers prove. The consistency proof then binds the older root
            // to the newer one.
            let keys = lake_keys(public, &p.handovers)?;
            let old = checked_by_any(&p.old_checkpoint, &keys)?;
            let new = checked_by_any(&p.new_checkpoint, &keys)?;
            verify_consistency(old.size, new.size, &old.root, &new.root, &parse_hexes(&p.proof)?)?;
            let across = match p.handovers.len() {
                0 => String::new(),
                n => format!(" (across {n} key rotations)"),
            };
            Ok(format!(
                "{} tree size {} is a prefix of tree size {}: the log only grew{across}",
                new.origin, old.size, new.size
            ))
        }
        other => Err(ProofFileError::UnknownFormat(other.map(str::to_string))),
    }
}
