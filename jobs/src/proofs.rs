//! `cairn proof`: inclusion proofs of committed objects and consistency proofs between runs, made
//! from the lake as self-contained JSON files (checked offline by `cairn_verifier::proof`).

use anyhow::{bail, Context as _, Result};
use cairn_evidence::digest::Sha256Digest;
use cairn_evidence::manifest::{ObjectEntry, RunManifest};
use cairn_evidence::merkle::{consistency_proof, inclusion_proof, leaf_hash};
use cairn_verifier::lake::verify_manifests;
pub use cairn_verifier::proof::{ConsistencyProof, Handover, InclusionProof, CONSISTENCY_FORMAT, INCLUSION_FORMAT};

use crate::pipeline::Workspace;

struct Log {
    stored: Vec<cairn_evidence::lake::StoredManifest>,
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

    /// Every key rotation run after run `run_id`, newest first: from the key the lake is signed
    /// with now back to the one that signed that run's checkpoint.
    fn handovers_after(&self, run_id: &str) -> Vec<Handover> {
        self.stored
            .iter()
            .zip(&self.manifests)
            .filter(|(_, m)| m.rotation.is_some() && m.run_id.as_str() > run_id)
            .rev()
            .map(|(s, _)| Handover {
                manifest: String::from_utf8_lossy(&s.bytes).into_owned(),
                signature: s.signature.clone().unwrap_or_default(),
            })
            .collect()
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
    Ok(Log { stored, manifests, checkpoints, entries })
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
    let handovers = log.handovers_after(&run.run_id);
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
        handovers,
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
    let handovers = log.handovers_after(&old_run.run_id);
    Ok(ConsistencyProof {
        format: CONSISTENCY_FORMAT.into(),
        proof: hexes(&proof),
        old_checkpoint,
        new_checkpoint,
        handovers,
    })
}
