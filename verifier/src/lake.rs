//! Checks of the lake's own integrity: every manifest signed by Cairn's key and linked to the one
//! before it, every Merkle root right, every committed object still the bytes it was.

use cairn_evidence::digest::sha256_hex;
use cairn_evidence::keys::PublicKey;
use cairn_evidence::lake::{checkpoint_verifier, StoredManifest};
use cairn_evidence::manifest::{ObjectEntry, PreviousRun, RunManifest};
use cairn_evidence::merkle;
use cairn_evidence::note::{verify_note, Checkpoint};
use cairn_evidence::rotation::KeyWalk;

use crate::finding::{Finding, FindingKind};

/// Checks every manifest in commit order. Returns the findings and the manifests that parse
/// (a manifest with a bad signature is still returned, so the objects it names are checked too;
/// the finding says it cannot be trusted).
pub fn verify_manifests(stored: &[StoredManifest], public: &PublicKey) -> (Vec<Finding>, Vec<RunManifest>) {
    let mut findings = Vec::new();
    let mut parsed = Vec::new();
    let mut previous: Option<PreviousRun> = None;
    let mut leaves = Vec::new();
    // Which key signed which runs: the handovers the rotation runs record (docs/signing.md).
    let mut walk = KeyWalk::start(stored.iter().filter_map(|m| m.manifest.as_ref().ok()), public);
    for m in stored {
        let finding = |kind, detail: String| Finding::object(kind, &m.key, detail);
        // Step 1: the signature over its exact bytes, by the key signing at this place in the
        // lake (a rotation run's handover checked first; an unreadable manifest is checked with
        // the key signing before it).
        let key = match m.manifest.as_ref().map(|manifest| walk.key_for(manifest)) {
            Ok(Ok(key)) => key,
            Ok(Err(e)) => {
                findings.push(finding(FindingKind::ManifestSignature, format!("key rotation: {e}")));
                *walk.active()
            }
            Err(_) => *walk.active(),
        };
        match &m.signature {
            None => findings
                .push(finding(FindingKind::ManifestSignature, "no signature (.minisig) beside the manifest".into())),
            Some(sig) => {
                if let Err(e) = key.verify_minisign(&m.bytes, sig) {
                    findings.push(finding(FindingKind::ManifestSignature, format!("{e} (key {})", key.key_id_hex())));
                }
            }
        }
        // Step 2: it must parse as a manifest of this run.
        let manifest = match &m.manifest {
            Ok(manifest) => manifest.clone(),
            Err(e) => {
                findings.push(finding(FindingKind::ManifestSignature, format!("not a readable run manifest: {e}")));
                previous = Some(PreviousRun { run_id: m.run_id.clone(), sha256: sha256_hex(&m.bytes) });
                continue;
            }
        };
        if manifest.run_id != m.run_id {
            findings.push(finding(
                FindingKind::ManifestChain,
                format!("names run {} but is stored as {}", manifest.run_id, m.run_id),
            ));
        }
        // Step 3: it must link to the manifest before it, by that manifest's exact digest.
        if manifest.previous != previous {
            let want = previous.as_ref().map_or("none".to_string(), |p| format!("{} ({})", p.run_id, p.sha256));
            let got = manifest.previous.as_ref().map_or("none".to_string(), |p| format!("{} ({})", p.run_id, p.sha256));
            findings.push(finding(
                FindingKind::ManifestChain,
                format!("links to {got}, but the manifest before it is {want}"),
            ));
        }
        // Step 4: its Merkle root must cover every object committed so far.
        leaves.extend(manifest.objects.iter().map(|e| merkle::leaf_hash(&RunManifest::leaf_bytes(e))));
        let root = merkle::root(&leaves).to_hex();
        if manifest.merkle.size != leaves.len() as u64 || manifest.merkle.root != root {
            findings.push(finding(
                FindingKind::ManifestChain,
                format!(
                    "records Merkle tree size {} root {}, but the committed objects give size {} root {root}",
                    manifest.merkle.size,
                    manifest.merkle.root,
                    leaves.len()
                ),
            ));
        }
        // Step 5: the signed checkpoint must commit to the same tree.
        if let Some(f) = check_checkpoint(m, &manifest, &key) {
            findings.push(f);
        }
        previous = Some(PreviousRun { run_id: manifest.run_id.clone(), sha256: sha256_hex(&m.bytes) });
        parsed.push(manifest);
    }
    if let Err(e) = walk.finish(public) {
        findings.push(Finding::object(FindingKind::ManifestSignature, "runs/", e));
    }
    (findings, parsed)
}

fn check_checkpoint(m: &StoredManifest, manifest: &RunManifest, public: &PublicKey) -> Option<Finding> {
    let key = format!("runs/{}.checkpoint", m.run_id);
    let Some(note) = &m.checkpoint else {
        return Some(Finding::object(FindingKind::ManifestSignature, &key, "the run has no signed checkpoint".into()));
    };
    let verifier = checkpoint_verifier(public);
    let text = match verify_note(note, std::slice::from_ref(&verifier)) {
        Ok((text, _)) => text,
        Err(e) => return Some(Finding::object(FindingKind::ManifestSignature, &key, e.to_string())),
    };
    match Checkpoint::parse(text) {
        Ok(cp)
            if cp.origin == verifier.name
                && cp.size == manifest.merkle.size
                && cp.root.to_hex() == manifest.merkle.root =>
        {
            None
        }
        Ok(cp) => Some(Finding::object(
            FindingKind::ManifestChain,
            &key,
            format!(
                "checkpoint {} size {} root {} does not match the manifest's tree (size {} root {})",
                cp.origin,
                cp.size,
                cp.root.to_hex(),
                manifest.merkle.size,
                manifest.merkle.root
            ),
        )),
        Err(e) => Some(Finding::object(FindingKind::ManifestSignature, &key, e.to_string())),
    }
}

/// Checks one committed object's bytes against its manifest entry.
pub fn verify_object(entry: &ObjectEntry, bytes: &[u8]) -> Option<Finding> {
    let actual = sha256_hex(bytes);
    (actual != entry.sha256 || bytes.len() as u64 != entry.size).then(|| {
        Finding::object(
            FindingKind::ObjectDigestMismatch,
            &entry.key,
            format!(
                "bytes hash to {actual} ({} bytes), but the manifest records {} ({} bytes)",
                bytes.len(),
                entry.sha256,
                entry.size
            ),
        )
    })
}
