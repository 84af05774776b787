//! Signed evidence bundles: deterministic zips that anyone checks with `minisign` and `sha256sum`.
//!
//! ```text
//! README.txt              how to verify, with the exact commands
//! manifest.json           scope, run id, Merkle root, every file with sha256/size/kind
//! manifest.json.minisig   minisign signature of manifest.json by Cairn's key
//! SHA256SUMS              for `sha256sum -c`
//! evidence/…              the evidence files
//! ```
//! Deterministic: entries sorted, fixed timestamps (1980-01-01) and permissions (0644), so the
//! same inputs give the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use cairn_evidence::digest::sha256_hex;
use cairn_evidence::keys::{sign_minisign, PublicKey};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// Format tag of bundle manifests.
pub const BUNDLE_FORMAT: &str = "cairn-evidence-bundle/1";

/// What went wrong building or checking a bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
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

/// One file to put in a bundle.
#[derive(Clone, Debug)]
pub struct BundleFile {
    /// Path inside the zip (relative, `/`-separated).
    pub path: String,
    /// What it is (`verification_report`, `findings_csv`, `run_manifest`, …).
    pub kind: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
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
}

/// The signed manifest of a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// Bundle name.
    pub name: String,
    /// What it covers.
    pub scope: String,
    /// The lake run it was built from.
    pub run_id: String,
    /// That run's commit time.
    pub created_at: String,
    /// Merkle tree size of the lake at that run.
    pub merkle_size: u64,
    /// Merkle root of the lake at that run.
    pub merkle_root: String,
    /// Minisign key id of the signing key.
    pub signing_key_id: String,
    /// Every evidence file.
    pub files: Vec<ManifestFile>,
}

/// What was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BundleInfo {
    /// The zip.
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
    /// Its SHA-256.
    pub sha256: String,
}

fn safe_entry_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name.contains('\0')
        && name.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
}

fn readme(manifest: &BundleManifest) -> String {
    format!(
        "Cairn evidence bundle {name}\n\
         ==============================\n\n\
         Scope: {scope}\nRun: {run}\nCreated: {created}\n\
         Lake Merkle tree: size {size}, root {root}\n\
         Signed by Cairn key id {key}\n\n\
         How to verify (no Cairn installation and no network needed)\n\
         ------------------------------------------------------------\n\
         1. Get Cairn's public key (cairn.pub) from a channel you trust, for example the\n   \"How to verify\" page of the evidence portal. Its key id must be {key}.\n\
         2. In the folder where this zip was extracted, run:\n\n\
         \x20  minisign -Vm manifest.json -p cairn.pub\n\
         \x20  sha256sum -c SHA256SUMS\n\n\
         The first proves manifest.json was signed with Cairn's key. manifest.json lists every\n\
         evidence file with its SHA-256 and size. The second proves every file here is exactly\n\
         the file listed. With Cairn installed, `cairn check-bundle {name}.zip --pubkey cairn.pub`\n\
         does both and also checks that nothing was added or removed.\n\n\
         Files\n-----\n{files}",
        name = manifest.name,
        scope = manifest.scope,
        run = manifest.run_id,
        created = manifest.created_at,
        size = manifest.merkle_size,
        root = manifest.merkle_root,
        key = manifest.signing_key_id,
        files = manifest.files.iter().fold(String::new(), |mut out, f| {
            let _ = writeln!(out, "{}  {} ({} bytes, {})", f.sha256, f.path, f.size, f.kind);
            out
        }),
    )
}

/// Builds and signs a bundle at `out` (written to a temporary name, then renamed, so a reader
/// never sees half a zip).
#[expect(clippy::too_many_arguments, reason = "each argument is one field of the bundle's manifest")]
pub fn write_bundle(
    out: &Path,
    name: &str,
    scope: &str,
    run_id: &str,
    created_at: &str,
    merkle: (u64, &str),
    files: Vec<BundleFile>,
    key: &SigningKey,
) -> Result<BundleInfo, BundleError> {
    let io = |source| BundleError::Io { path: out.to_path_buf(), source };
    let mut files = files;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    for f in &files {
        if !safe_entry_name(&f.path) || !f.path.starts_with("evidence/") {
            return Err(BundleError::Check {
                path: out.to_path_buf(),
                detail: format!("refusing entry name {:?}", f.path),
            });
        }
    }
    let public = PublicKey::of(key);
    let manifest = BundleManifest {
        format: BUNDLE_FORMAT.into(),
        name: name.into(),
        scope: scope.into(),
        run_id: run_id.into(),
        created_at: created_at.into(),
        merkle_size: merkle.0,
        merkle_root: merkle.1.into(),
        signing_key_id: public.key_id_hex(),
        files: files
            .iter()
            .map(|f| ManifestFile {
                path: f.path.clone(),
                sha256: sha256_hex(&f.bytes),
                size: f.bytes.len() as u64,
                kind: f.kind.clone(),
            })
            .collect(),
    };
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    manifest_bytes.push(b'\n');
    let signature = sign_minisign(key, &manifest_bytes, &format!("file:manifest.json\tbundle:{name}\trun:{run_id}"));
    let readme_bytes = readme(&manifest).into_bytes();
    let mut entries: BTreeMap<String, Vec<u8>> = files.into_iter().map(|f| (f.path, f.bytes)).collect();
    entries.insert("README.txt".into(), readme_bytes);
    entries.insert("manifest.json".into(), manifest_bytes);
    entries.insert("manifest.json.minisig".into(), signature.into_bytes());
    let sums = entries.iter().fold(String::new(), |mut out, (path, bytes)| {
        let _ = writeln!(out, "{}  {path}", sha256_hex(bytes));
        out
    });
    entries.insert("SHA256SUMS".into(), sums.into_bytes());

    let partial = out.with_extension("zip.partial");
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let file = File::create(&partial).map_err(io)?;
    let mut zip = ZipWriter::new(file);
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    for (path, bytes) in &entries {
        zip.start_file(path.as_str(), options)
            .map_err(|e| BundleError::Zip { path: out.to_path_buf(), detail: e.to_string() })?;
        zip.write_all(bytes).map_err(io)?;
    }
    let file = zip.finish().map_err(|e| BundleError::Zip { path: out.to_path_buf(), detail: e.to_string() })?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&partial, out).map_err(io)?;
    let bytes = std::fs::read(out).map_err(io)?;
    Ok(BundleInfo { path: out.to_path_buf(), size: bytes.len() as u64, sha256: sha256_hex(&bytes) })
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

/// Checks a bundle completely: entry names, the signature of manifest.json, every file's digest
/// and size against the manifest, SHA256SUMS, and that no file was added or removed.
pub fn check_bundle(path: &Path, public: &PublicKey) -> Result<BundleCheck, BundleError> {
    let fail = |detail: String| BundleError::Check { path: path.to_path_buf(), detail };
    let file = File::open(path).map_err(|source| BundleError::Io { path: path.to_path_buf(), source })?;
    let mut zip =
        ZipArchive::new(file).map_err(|e| BundleError::Zip { path: path.to_path_buf(), detail: e.to_string() })?;
    let mut entries: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry =
            zip.by_index(i).map_err(|e| BundleError::Zip { path: path.to_path_buf(), detail: e.to_string() })?;
        let name = entry.name().to_string();
        if !safe_entry_name(&name) {
            return Err(fail(format!("entry name {name:?} could escape the folder it is extracted to")));
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|source| BundleError::Io { path: path.to_path_buf(), source })?;
        if entries.insert(name.clone(), bytes).is_some() {
            return Err(fail(format!("entry {name:?} appears twice")));
        }
    }
    let get = |name: &str| entries.get(name).ok_or_else(|| fail(format!("{name} is missing")));
    let manifest_bytes = get("manifest.json")?;
    let sig = String::from_utf8_lossy(get("manifest.json.minisig")?).into_owned();
    let trusted_comment =
        public.verify_minisign(manifest_bytes, &sig).map_err(|e| fail(format!("manifest.json.minisig: {e}")))?;
    let manifest: BundleManifest =
        serde_json::from_slice(manifest_bytes).map_err(|e| fail(format!("manifest.json: {e}")))?;
    for f in &manifest.files {
        let bytes = get(&f.path)?;
        let actual = sha256_hex(bytes);
        if actual != f.sha256 || bytes.len() as u64 != f.size {
            return Err(fail(format!(
                "{} has sha256 {actual} ({} bytes); the signed manifest says {} ({} bytes)",
                f.path,
                bytes.len(),
                f.sha256,
                f.size
            )));
        }
    }
    let listed: std::collections::BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    for name in entries.keys() {
        let fixed = matches!(name.as_str(), "README.txt" | "manifest.json" | "manifest.json.minisig" | "SHA256SUMS");
        if !fixed && !listed.contains(name.as_str()) {
            return Err(fail(format!("{name} is in the zip but not in the signed manifest")));
        }
    }
    let sums = String::from_utf8_lossy(get("SHA256SUMS")?).into_owned();
    let mut summed = 0;
    for line in sums.lines() {
        let (digest, name) =
            line.split_once("  ").ok_or_else(|| fail(format!("SHA256SUMS line {line:?} is malformed")))?;
        let bytes = get(name)?;
        if sha256_hex(bytes) != digest {
            return Err(fail(format!("SHA256SUMS: {name} does not match")));
        }
        summed += 1;
    }
    if summed + 1 != entries.len() {
        return Err(fail(format!("SHA256SUMS lists {summed} files; the zip has {} besides it", entries.len() - 1)));
    }
    Ok(BundleCheck { manifest, trusted_comment, entries: entries.len() })
}
