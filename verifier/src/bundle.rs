//! Evidence bundles checked completely, as an auditor's tools would: entry names, sizes, the
//! manifest's signature, every file's digest against the manifest and `SHA256SUMS`, nothing added
//! or removed, the signed checkpoint and every inclusion proof. Reads the zip file it is given.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use cairn_evidence::bundle::{safe_entry_name, BundleManifest, FIXED_ENTRIES, MAX_UNPACKED_BYTES};
use cairn_evidence::digest::{Sha256Digest, Sha256Stream};
use cairn_evidence::keys::PublicKey;
use cairn_evidence::lake::checkpoint_verifier;
use cairn_evidence::manifest::{ObjectEntry, RunManifest};
use cairn_evidence::merkle::{leaf_hash, verify_inclusion};
use cairn_evidence::note::{verify_note, Checkpoint};
use zip::ZipArchive;

/// Why a bundle could not be checked, or does not check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleCheckError {
    /// I/O on the zip file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The zip container is unreadable.
    #[error("{path}: not a readable zip: {detail}")]
    Zip {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// The bundle fails a check.
    #[error("{path}: {detail}")]
    Check {
        /// The file.
        path: PathBuf,
        /// Which check and why.
        detail: String,
    },
}

/// What a successful check saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleCheck {
    /// The manifest.
    pub manifest: BundleManifest,
    /// The trusted comment of the signature.
    pub trusted_comment: String,
    /// Entries in the zip.
    pub entries: usize,
}

/// Reads a bundle's `manifest.json` and checks its signature, without checking the files (what
/// `cairn trace` needs to say which bundles list an object; [`check_bundle`] checks it all).
pub fn signed_manifest(path: &Path, public: &PublicKey) -> Result<BundleManifest, BundleCheckError> {
    let fail = |detail: String| BundleCheckError::Check { path: path.to_path_buf(), detail };
    let (manifest_bytes, sig) = manifest_entries(path)?;
    let sig =
        String::from_utf8_lossy(&sig.ok_or_else(|| fail("manifest.json.minisig is missing".into()))?).into_owned();
    public.verify_minisign(&manifest_bytes, &sig).map_err(|e| fail(format!("manifest.json.minisig: {e}")))?;
    serde_json::from_slice(&manifest_bytes).map_err(|e| fail(format!("manifest.json: {e}")))
}

/// Reads a bundle's `manifest.json` without checking its signature: what the bundle says about
/// itself (whom it was made for), to decide where it may be copied; never what it proves.
pub fn unchecked_manifest(path: &Path) -> Result<BundleManifest, BundleCheckError> {
    let (manifest_bytes, _) = manifest_entries(path)?;
    serde_json::from_slice(&manifest_bytes)
        .map_err(|e| BundleCheckError::Check { path: path.to_path_buf(), detail: format!("manifest.json: {e}") })
}

/// `manifest.json` and, when present, `manifest.json.minisig`, each at most 64 MiB.
fn manifest_entries(path: &Path) -> Result<(Vec<u8>, Option<Vec<u8>>), BundleCheckError> {
    const LIMIT: u64 = 64 << 20;
    let fail = |detail: String| BundleCheckError::Check { path: path.to_path_buf(), detail };
    let zip_err = |e: zip::result::ZipError| BundleCheckError::Zip { path: path.to_path_buf(), detail: e.to_string() };
    let file = File::open(path).map_err(|source| BundleCheckError::Io { path: path.to_path_buf(), source })?;
    let mut zip = ZipArchive::new(file).map_err(zip_err)?;
    let mut read = |name: &str| -> Result<Option<Vec<u8>>, BundleCheckError> {
        let entry = match zip.by_name(name) {
            Ok(entry) => entry,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(fail(format!("{name}: {e}"))),
        };
        let mut bytes = Vec::new();
        entry.take(LIMIT + 1).read_to_end(&mut bytes).map_err(|e| fail(format!("{name} is corrupt: {e}")))?;
        if bytes.len() as u64 > LIMIT {
            return Err(fail(format!("{name} is larger than {LIMIT} bytes")));
        }
        Ok(Some(bytes))
    };
    let manifest = read("manifest.json")?.ok_or_else(|| fail("manifest.json is missing".into()))?;
    Ok((manifest, read("manifest.json.minisig")?))
}

/// Checks a bundle completely: entry names (no absolute paths, `..`, symlinks or duplicates), the
/// decompressed size, the signature of manifest.json, every file's digest and size, SHA256SUMS,
/// that no file was added or removed, the signed checkpoint and every inclusion proof.
pub fn check_bundle(path: &Path, public: &PublicKey) -> Result<BundleCheck, BundleCheckError> {
    let fail = |detail: String| BundleCheckError::Check { path: path.to_path_buf(), detail };
    let io = |source| BundleCheckError::Io { path: path.to_path_buf(), source };
    let zip_err = |e: zip::result::ZipError| BundleCheckError::Zip { path: path.to_path_buf(), detail: e.to_string() };
    let file = File::open(path).map_err(io)?;
    let mut zip = ZipArchive::new(file).map_err(zip_err)?;
    // Pass 1: names, kinds and declared sizes, before anything is decompressed.
    let mut names = std::collections::BTreeSet::new();
    let mut declared = 0u64;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(zip_err)?;
        let name = entry.name().to_string();
        if !safe_entry_name(&name) || entry.enclosed_name().is_none() {
            return Err(fail(format!("entry name {name:?} could escape the folder it is extracted to")));
        }
        if entry.unix_mode().is_some_and(|m| m & 0o170_000 == 0o120_000) {
            return Err(fail(format!("entry {name:?} is a symbolic link")));
        }
        if entry.is_dir() {
            return Err(fail(format!("entry {name:?} is a folder; bundles hold files only")));
        }
        if !names.insert(name.clone()) {
            return Err(fail(format!("entry {name:?} appears twice")));
        }
        declared = declared.saturating_add(entry.size());
    }
    if declared > MAX_UNPACKED_BYTES {
        return Err(fail(format!(
            "the entries would unpack to {declared} bytes, more than the {MAX_UNPACKED_BYTES} allowed"
        )));
    }
    // Pass 2: digests, streamed, each entry read no further than it declares.
    let mut digests: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let mut small: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for i in 0..zip.len() {
        let entry = zip.by_index(i).map_err(|e| fail(format!("entry {i} is unreadable: {e}")))?;
        let name = entry.name().to_string();
        let limit = entry.size();
        let mut reader = entry.take(limit + 1);
        let mut hasher = Sha256Stream::new();
        let mut keep = FIXED_ENTRIES.contains(&name.as_str()).then(Vec::new);
        let mut buf = vec![0u8; 1 << 16];
        let mut size = 0u64;
        loop {
            let n = reader.read(&mut buf).map_err(|e| fail(format!("entry {name:?} is corrupt: {e}")))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if size > limit {
                return Err(fail(format!("entry {name:?} unpacks to more than it declares")));
            }
            hasher.update(&buf[..n]);
            if let Some(k) = keep.as_mut() {
                k.extend_from_slice(&buf[..n]);
            }
        }
        digests.insert(name.clone(), (hasher.finish().to_hex(), size));
        if let Some(k) = keep {
            small.insert(name, k);
        }
    }
    let get = |name: &str| small.get(name).ok_or_else(|| fail(format!("{name} is missing")));
    let manifest_bytes = get("manifest.json")?;
    let sig = String::from_utf8_lossy(get("manifest.json.minisig")?).into_owned();
    let trusted_comment =
        public.verify_minisign(manifest_bytes, &sig).map_err(|e| fail(format!("manifest.json.minisig: {e}")))?;
    let manifest: BundleManifest =
        serde_json::from_slice(manifest_bytes).map_err(|e| fail(format!("manifest.json: {e}")))?;
    for f in &manifest.files {
        let (actual, size) = digests.get(&f.path).ok_or_else(|| fail(format!("{} is missing", f.path)))?;
        if *actual != f.sha256 || *size != f.size {
            return Err(fail(format!(
                "{} has sha256 {actual} ({size} bytes); the signed manifest says {} ({} bytes)",
                f.path, f.sha256, f.size
            )));
        }
    }
    let listed: std::collections::BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    for name in digests.keys() {
        if !FIXED_ENTRIES.contains(&name.as_str()) && !listed.contains(name.as_str()) {
            return Err(fail(format!("{name} is in the zip but not in the signed manifest")));
        }
    }
    let sums = String::from_utf8_lossy(get("SHA256SUMS")?).into_owned();
    let mut summed = 0;
    for line in sums.lines() {
        let (digest, name) =
            line.split_once("  ").ok_or_else(|| fail(format!("SHA256SUMS line {line:?} is malformed")))?;
        let (actual, _) =
            digests.get(name).ok_or_else(|| fail(format!("SHA256SUMS names {name}, which is missing")))?;
        if actual != digest {
            return Err(fail(format!("SHA256SUMS: {name} does not match")));
        }
        summed += 1;
    }
    if summed + 1 != digests.len() {
        return Err(fail(format!("SHA256SUMS lists {summed} files; the zip has {} besides it", digests.len() - 1)));
    }
    // The checkpoint and every inclusion proof.
    let verifier = checkpoint_verifier(public);
    let (text, _) = verify_note(&manifest.checkpoint, std::slice::from_ref(&verifier))
        .map_err(|e| fail(format!("checkpoint: {e}")))?;
    let checkpoint = Checkpoint::parse(text).map_err(|e| fail(format!("checkpoint: {e}")))?;
    if checkpoint.size != manifest.merkle_size || checkpoint.root.to_hex() != manifest.merkle_root {
        return Err(fail("the checkpoint does not match the manifest's Merkle tree".into()));
    }
    for f in &manifest.files {
        let Some(inc) = &f.inclusion else { continue };
        let entry = ObjectEntry {
            key: inc.key.clone(),
            table: inc.table.clone(),
            sha256: f.sha256.clone(),
            size: f.size,
            rows: 0,
            simulated: false,
        };
        let proof: Vec<Sha256Digest> = inc
            .proof
            .iter()
            .map(|h| Sha256Digest::from_hex(h).ok_or_else(|| fail(format!("{}: proof hash {h:?} is not hex", f.path))))
            .collect::<Result<_, _>>()?;
        if inc.tree_size != checkpoint.size {
            return Err(fail(format!("{}: inclusion proof is for another tree size", f.path)));
        }
        verify_inclusion(
            inc.leaf_index,
            checkpoint.size,
            &leaf_hash(&RunManifest::leaf_bytes(&entry)),
            &proof,
            &checkpoint.root,
        )
        .map_err(|e| fail(format!("{}: inclusion proof: {e}", f.path)))?;
    }
    Ok(BundleCheck { manifest, trusted_comment, entries: digests.len() })
}
