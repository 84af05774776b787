//! `cairn proof` and `cairn verify-proof`: inclusion proofs of committed objects and consistency
//! proofs between runs, as self-contained JSON files checked against Cairn's signed checkpoints.

use anyhow::{bail, Context as _, Result};
use cairn_evidence::digest::Sha256Digest;
use cairn_evidence::keys::PublicKey;
use cairn_evidence::lake::checkpoint_verifier;
use cairn_evidence::manifest::{ObjectEntry, RunManifest};
use cairn_evidence::merkle::{consistency_proof, inclusion_proof, leaf_hash, verify_consistency, verify_inclusion};
use cairn_evidence::note::{verify_note, Checkpoint};
use cairn_verifier::lake::verify_manifests;
use serde::{Deserialize, Serialize};

use crate::pipeline::Workspace;

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
}

struct Log {
    manifests: Vec<RunManifest>,
    checkpoints: Vec<Option<String>>,
    entries: Vec<ObjectEntry>,
}

impl Log {
    fn leaves(&self, size: u64) -> Vec<Sha256Digest> {
        self.entries.iter().take(size as usize).map(|e| leaf_hash(&RunManifest::leaf_bytes(e))).collect()
    }

    fn run(&self, run_id: Option<&str>) -> Result<(&RunManifest, String)> {
        let i = match run_id {
            None => self.manifests.len().checked_sub(1).context("the lake has no committed run")?,
            Some(id) => {
                self.manifests.iter().position(|m| m.run_id == id).with_context(|| format!("no committed run {id}"))?
            }
        };
        let checkpoint = self.checkpoints[i]
            .clone()
            .with_context(|| format!("run {} has no checkpoint", self.manifests[i].run_id))?;
        Ok((&self.manifests[i], checkpoint))
    }
}

async fn load(ws: &Workspace) -> Result<Log> {
    let public = ws.public_key()?;
    let stored = ws.lake.stored_manifests().await?;
    let (findings, manifests) = verify_manifests(&stored, &public);
    if let Some(f) = findings.first() {
        bail!("the lake's manifests do not verify ({f}); run `cairn verify` for the full report");
    }
    let checkpoints = stored.iter().map(|s| s.checkpoint.clone()).collect();
    let entries = manifests.iter().flat_map(|m| m.objects.iter().cloned()).collect();
    Ok(Log { manifests, checkpoints, entries })
}

fn hexes(proof: &[Sha256Digest]) -> Vec<String> {
    proof.iter().map(Sha256Digest::to_hex).collect()
}

/// The inclusion proof of object `key` in the tree of run `run_id` (default: the latest).
pub async fn inclusion(ws: &Workspace, key: &str, run_id: Option<&str>) -> Result<InclusionProof> {
    let log = load(ws).await?;
    let index =
        log.entries.iter().position(|e| e.key == key).with_context(|| format!("{key} is not a committed object"))?;
    let (run, checkpoint) = log.run(run_id)?;
    if index as u64 >= run.merkle.size {
        bail!("{key} was committed after run {}", run.run_id);
    }
    let leaves = log.leaves(run.merkle.size);
    let proof = inclusion_proof(&leaves, index).context("leaf outside the tree")?;
    let entry = &log.entries[index];
    Ok(InclusionProof {
        format: INCLUSION_FORMAT.into(),
        key: entry.key.clone(),
        table: entry.table.clone(),
        sha256: entry.sha256.clone(),
        size: entry.size,
        leaf_index: index as u64,
        tree_size: run.merkle.size,
        proof: hexes(&proof),
        checkpoint,
    })
}

/// The consistency proof from run `old` to run `new`.
pub async fn consistency(ws: &Workspace, old: &str, new: &str) -> Result<ConsistencyProof> {
    let log = load(ws).await?;
    let (old_run, old_checkpoint) = log.run(Some(old))?;
    let (new_run, new_checkpoint) = log.run(Some(new))?;
    if old_run.merkle.size > new_run.merkle.size {
        bail!("run {old} is newer than run {new}");
    }
    let leaves = log.leaves(new_run.merkle.size);
    let proof = if old_run.merkle.size == 0 {
        Vec::new()
    } else {
        consistency_proof(&leaves, old_run.merkle.size as usize).context("sizes outside the tree")?
    };
    Ok(ConsistencyProof { format: CONSISTENCY_FORMAT.into(), proof: hexes(&proof), old_checkpoint, new_checkpoint })
}

fn parse_hexes(proof: &[String]) -> Result<Vec<Sha256Digest>> {
    proof.iter().map(|h| Sha256Digest::from_hex(h).with_context(|| format!("{h:?} is not a SHA-256 hash"))).collect()
}

fn checked_checkpoint(note: &str, public: &PublicKey) -> Result<Checkpoint> {
    let verifier = checkpoint_verifier(public);
    let (text, _) = verify_note(note, std::slice::from_ref(&verifier)).context("checkpoint signature")?;
    Ok(Checkpoint::parse(text)?)
}

/// Verifies a proof file (either kind) against Cairn's public key. Returns a one-line summary.
pub fn verify_file(text: &str, public: &PublicKey) -> Result<String> {
    let value: serde_json::Value = serde_json::from_str(text).context("the proof is not JSON")?;
    match value.get("format").and_then(serde_json::Value::as_str) {
        Some(INCLUSION_FORMAT) => {
            let p: InclusionProof = serde_json::from_value(value)?;
            let cp = checked_checkpoint(&p.checkpoint, public)?;
            if cp.size != p.tree_size {
                bail!("the proof is for tree size {}, the checkpoint says {}", p.tree_size, cp.size);
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
            let p: ConsistencyProof = serde_json::from_value(value)?;
            let old = checked_checkpoint(&p.old_checkpoint, public)?;
            let new = checked_checkpoint(&p.new_checkpoint, public)?;
            verify_consistency(old.size, new.size, &old.root, &new.root, &parse_hexes(&p.proof)?)?;
            Ok(format!(
                "{} tree size {} is a prefix of tree size {}: the log only grew",
                new.origin, old.size, new.size
            ))
        }
        other => bail!("unknown proof format {other:?}"),
    }
}
