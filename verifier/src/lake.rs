//! Checks of the lake's own integrity: every manifest signed by Cairn's key and linked to the one
//! before it, every Merkle root right, every committed object still the bytes it was.

use cairn_evidence::digest::sha256_hex;
use cairn_evidence::keys::PublicKey;
use cairn_evidence::lake::StoredManifest;
use cairn_evidence::manifest::{ObjectEntry, PreviousRun, RunManifest};
use cairn_evidence::merkle;

use crate::finding::{Finding, FindingKind};

/// Checks every manifest in commit order. Returns the findings and the manifests that parse
/// (a manifest with a bad signature is still returned, so the objects it names are checked too;
/// the finding says it cannot be trusted).
pub fn verify_manifests(stored: &[StoredManifest], public: &PublicKey) -> (Vec<Finding>, Vec<RunManifest>) {
    let mut findings = Vec::new();
    let mut parsed = Vec::new();
    let mut previous: Option<PreviousRun> = None;
    let mut leaves = Vec::new();
    for m in stored {
        let finding = |kind, detail: String| Finding::object(kind, &m.key, detail);
        // Step 1: the signature over the manifest's exact bytes.
        match &m.signature {
            None => findings
                .push(finding(FindingKind::ManifestSignature, "no signature (.minisig) beside the manifest".into())),
            Some(sig) => {
                if let Err(e) = public.verify_minisign(&m.bytes, sig) {
                    findings
                        .push(finding(FindingKind::ManifestSignature, format!("{e} (key {})", public.key_id_hex())));
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
        previous = Some(PreviousRun { run_id: manifest.run_id.clone(), sha256: sha256_hex(&m.bytes) });
        parsed.push(manifest);
    }
    (findings, parsed)
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
