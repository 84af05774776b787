//! Signed evidence bundles: deterministic zips that anyone checks with `minisign` and `sha256sum`.
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
//! Deterministic: entries sorted, fixed timestamps (1980-01-01) and permissions (0644), so the
//! same inputs give the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use cairn_evidence::digest::Sha256Digest;
use cairn_evidence::digest::{sha256_hex, Sha256Stream};
use cairn_evidence::keys::{sign_minisign, PublicKey};
use cairn_evidence::lake::checkpoint_verifier;
use cairn_evidence::manifest::{ObjectEntry, RunManifest};
use cairn_evidence::merkle::{leaf_hash, verify_inclusion};
use cairn_evidence::note::{verify_note, Checkpoint};
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

/// Where a bundle file's bytes come from.
#[derive(Clone, Debug)]
pub enum Content {
    /// Bytes in memory (small, generated files).
    Bytes(Vec<u8>),
    /// A file on disk, streamed into the zip (evidence objects, extracts).
    File(PathBuf),
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

/// One file to put in a bundle.
#[derive(Clone, Debug)]
pub struct BundleFile {
    /// Path inside the zip (relative, `/`-separated).
    pub path: String,
    /// What it is (`lake_object`, `verification_report`, `findings_csv`, …).
    pub kind: String,
    /// Controls it is evidence for.
    pub controls: Vec<String>,
    /// Its bytes.
    pub content: Content,
    /// Its inclusion proof, for objects committed to the lake.
    pub inclusion: Option<InclusionRef>,
    /// It holds simulated data.
    pub simulated: bool,
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
    /// Every evidence file.
    pub files: Vec<ManifestFile>,
}

/// What a bundle is built from.
#[derive(Clone, Debug)]
pub struct BundleSpec {
    /// Bundle name (also the zip's base name).
    pub name: String,
    /// What it covers.
    pub scope: String,
    /// The audit period.
    pub period: Period,
    /// The lake run it is built from.
    pub run_id: String,
    /// That run's commit time.
    pub created_at: String,
    /// Merkle tree size at that run.
    pub merkle_size: u64,
    /// Merkle root at that run.
    pub merkle_root: String,
    /// The run's signed checkpoint.
    pub checkpoint: String,
    /// The files.
    pub files: Vec<BundleFile>,
}

/// What a bundle covers.
#[derive(Clone, Debug)]
pub enum Scope {
    /// Every control.
    All,
    /// The controls mapped to one framework.
    Framework(String),
    /// One control.
    Control(String),
}

impl Scope {
    /// As the bundle's manifest and README name it.
    pub fn label(&self) -> String {
        match self {
            Self::All => "all controls".into(),
            Self::Framework(f) => format!("framework {f}"),
            Self::Control(c) => format!("control {c}"),
        }
    }

    /// As the zip's name carries it.
    pub fn slug(&self) -> String {
        match self {
            Self::All => "all".into(),
            Self::Framework(f) => f.clone(),
            Self::Control(c) => c.clone(),
        }
    }
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

/// Removes a file when dropped, unless told to keep it.
struct RemoveUnlessKept<'a> {
    path: &'a Path,
    keep: bool,
}

impl Drop for RemoveUnlessKept<'_> {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(self.path);
        }
    }
}

fn safe_entry_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name.contains('\0')
        && name.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
}

fn readme(manifest: &BundleManifest) -> String {
    let period = match (&manifest.period.since, &manifest.period.until) {
        (None, None) => "everything collected".to_string(),
        (since, until) => format!(
            "collected from {} to {} (inclusive)",
            since.as_deref().unwrap_or("the start"),
            until.as_deref().unwrap_or("the latest run")
        ),
    };
    format!(
        "Cairn evidence bundle {name}\n\
         ==============================\n\n{simulated}\
         Scope: {scope}\nPeriod: {period}\nRun: {run}\nCreated: {created}\n\
         Lake Merkle tree: size {size}, root {root}\n\
         Signed by Cairn key id {key}\n\n\
         How to verify (no Cairn installation and no network needed)\n\
         ------------------------------------------------------------\n\
         1. Get Cairn's public key (cairn.pub) from a channel you trust, for example the\n   \"How to verify\" page of the evidence portal. Its key id must be {key}.\n\
         2. In the folder where this zip was extracted, run:\n\n\
         \x20  minisign -Vm manifest.json -p cairn.pub\n\
         \x20  sha256sum -c --strict SHA256SUMS\n\
         \x20  python3 verify.py cairn.pub        # needs the `cryptography` package\n\n\
         The first proves manifest.json was signed with Cairn's key. manifest.json lists every\n\
         evidence file with its SHA-256 and size. The second proves every file here is exactly\n\
         the file listed. The third also checks the signed checkpoint of the lake's Merkle log\n\
         and the inclusion proof of every lake object, so each is shown to be part of the\n\
         population the portal reports. With Cairn installed,\n\
         `cairn check-bundle {name}.zip --pubkey cairn.pub` does all of this and also checks that\n\
         nothing was added or removed.\n\n\
         Files\n-----\n{files}",
        name = manifest.name,
        simulated = if manifest.simulated {
            "SIMULATED DATA: files marked `\"simulated\": true` in manifest.json hold synthetic\n\
             records (a demo, or a source declared simulated). They are not evidence about a real system.\n\n"
        } else {
            ""
        },
        scope = manifest.scope,
        run = manifest.run_id,
        created = manifest.created_at,
        size = manifest.merkle_size,
        root = manifest.merkle_root,
        key = manifest.signing_key_id,
        files = manifest.files.iter().fold(String::new(), |mut out, f| {
            let marker = if f.simulated { ", simulated" } else { "" };
            let _ = writeln!(out, "{}  {} ({} bytes, {}{marker})", f.sha256, f.path, f.size, f.kind);
            out
        }),
    )
}

fn digest_of(content: &Content, io: impl Fn(std::io::Error) -> BundleError) -> Result<(String, u64), BundleError> {
    match content {
        Content::Bytes(b) => Ok((sha256_hex(b), b.len() as u64)),
        Content::File(path) => {
            let mut file = File::open(path).map_err(&io)?;
            let mut hasher = Sha256Stream::new();
            let mut buf = vec![0u8; 1 << 20];
            let mut size = 0u64;
            loop {
                let n = file.read(&mut buf).map_err(&io)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                size += n as u64;
            }
            Ok((hasher.finish().to_hex(), size))
        }
    }
}

/// Builds and signs a bundle at `out` (written to a temporary name, then renamed, so a reader
/// never sees half a zip). Files on disk are streamed: memory does not grow with their size.
pub fn write_bundle(out: &Path, spec: BundleSpec, key: &SigningKey) -> Result<BundleInfo, BundleError> {
    let io = |source| BundleError::Io { path: out.to_path_buf(), source };
    let mut files = spec.files;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    for pair in files.windows(2) {
        if pair[0].path == pair[1].path {
            return Err(BundleError::Check {
                path: out.to_path_buf(),
                detail: format!("two files named {:?}", pair[0].path),
            });
        }
    }
    for f in &files {
        let reserved = FIXED_ENTRIES.contains(&f.path.as_str());
        if !safe_entry_name(&f.path) || reserved {
            return Err(BundleError::Check {
                path: out.to_path_buf(),
                detail: format!("refusing entry name {:?}", f.path),
            });
        }
    }
    let public = PublicKey::of(key);
    let mut listed = Vec::with_capacity(files.len());
    for f in &files {
        let (sha256, size) = digest_of(&f.content, io)?;
        listed.push(ManifestFile {
            path: f.path.clone(),
            sha256,
            size,
            kind: f.kind.clone(),
            controls: f.controls.clone(),
            inclusion: f.inclusion.clone(),
            simulated: f.simulated,
        });
    }
    let manifest = BundleManifest {
        format: BUNDLE_FORMAT.into(),
        name: spec.name.clone(),
        scope: spec.scope,
        period: spec.period,
        run_id: spec.run_id.clone(),
        created_at: spec.created_at,
        merkle_size: spec.merkle_size,
        merkle_root: spec.merkle_root,
        checkpoint: spec.checkpoint,
        signing_key_id: public.key_id_hex(),
        simulated: listed.iter().any(|f| f.simulated),
        files: listed,
    };
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    manifest_bytes.push(b'\n');
    let signature =
        sign_minisign(key, &manifest_bytes, &format!("file:manifest.json\tbundle:{}\trun:{}", spec.name, spec.run_id));
    // Generated entries, then every file, all in sorted order.
    let mut small: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    small.insert("README.txt".into(), readme(&manifest).into_bytes());
    small.insert("verify.py".into(), VERIFY_PY.as_bytes().to_vec());
    small.insert("manifest.json".into(), manifest_bytes);
    small.insert("manifest.json.minisig".into(), signature.into_bytes());
    let mut sums: Vec<(String, String)> = small.iter().map(|(p, b)| (p.clone(), sha256_hex(b))).collect();
    sums.extend(manifest.files.iter().map(|f| (f.path.clone(), f.sha256.clone())));
    sums.sort();
    let sums = sums.iter().fold(String::new(), |mut out, (path, digest)| {
        let _ = writeln!(out, "{digest}  {path}");
        out
    });
    small.insert("SHA256SUMS".into(), sums.into_bytes());

    let partial = out.with_extension("zip.partial");
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let file = File::create(&partial).map_err(io)?;
    // A failure part-way (a full disk) leaves no partial zip behind.
    let mut partial_guard = RemoveUnlessKept { path: &partial, keep: false };
    let mut zip = ZipWriter::new(std::io::BufWriter::new(file));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let zip_err = |e: zip::result::ZipError| BundleError::Zip { path: out.to_path_buf(), detail: e.to_string() };
    let sizes: BTreeMap<&str, u64> = manifest.files.iter().map(|f| (f.path.as_str(), f.size)).collect();
    let mut order: Vec<(&str, Option<&BundleFile>)> = small.keys().map(|k| (k.as_str(), None)).collect();
    order.extend(files.iter().map(|f| (f.path.as_str(), Some(f))));
    order.sort_by(|a, b| a.0.cmp(b.0));
    for (path, file) in order {
        // ZIP64 extra fields only where an entry needs them, so ordinary bundles carry none.
        let size = file.and_then(|f| sizes.get(f.path.as_str()).copied()).unwrap_or(0);
        zip.start_file(path, options.large_file(size >= u64::from(u32::MAX))).map_err(zip_err)?;
        match file.map(|f| &f.content) {
            None => zip.write_all(&small[path]).map_err(io)?,
            Some(Content::Bytes(b)) => zip.write_all(b).map_err(io)?,
            Some(Content::File(p)) => {
                let mut src = File::open(p).map_err(io)?;
                std::io::copy(&mut src, &mut zip).map_err(io)?;
            }
        }
    }
    let writer = zip.finish().map_err(zip_err)?;
    let file = writer.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&partial, out).map_err(io)?;
    partial_guard.keep = true;
    let (sha256, size) = digest_of(&Content::File(out.to_path_buf()), io)?;
    Ok(BundleInfo { path: out.to_path_buf(), size, sha256 })
}

/// Entries every bundle has besides its files.
const FIXED_ENTRIES: [&str; 5] = ["README.txt", "SHA256SUMS", "manifest.json", "manifest.json.minisig", "verify.py"];

/// The standalone checker shipped in every bundle.
pub const VERIFY_PY: &str = include_str!("verify.py");

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

/// The most a bundle may decompress to before it is refused as a zip bomb.
pub const MAX_UNPACKED_BYTES: u64 = 64 << 30;

/// Reads a bundle's `manifest.json` and checks its signature, without checking the files (what
/// `cairn trace` needs to say which bundles list an object; [`check_bundle`] checks it all).
pub fn signed_manifest(path: &Path, public: &PublicKey) -> Result<BundleManifest, BundleError> {
    const LIMIT: u64 = 64 << 20;
    let fail = |detail: String| BundleError::Check { path: path.to_path_buf(), detail };
    let zip_err = |e: zip::result::ZipError| BundleError::Zip { path: path.to_path_buf(), detail: e.to_string() };
    let file = File::open(path).map_err(|source| BundleError::Io { path: path.to_path_buf(), source })?;
    let mut zip = ZipArchive::new(file).map_err(zip_err)?;
    let mut read = |name: &str| -> Result<Vec<u8>, BundleError> {
        let entry = zip.by_name(name).map_err(|e| fail(format!("{name}: {e}")))?;
        let mut bytes = Vec::new();
        entry.take(LIMIT + 1).read_to_end(&mut bytes).map_err(|e| fail(format!("{name} is corrupt: {e}")))?;
        if bytes.len() as u64 > LIMIT {
            return Err(fail(format!("{name} is larger than {LIMIT} bytes")));
        }
        Ok(bytes)
    };
    let manifest_bytes = read("manifest.json")?;
    let sig = String::from_utf8_lossy(&read("manifest.json.minisig")?).into_owned();
    public.verify_minisign(&manifest_bytes, &sig).map_err(|e| fail(format!("manifest.json.minisig: {e}")))?;
    serde_json::from_slice(&manifest_bytes).map_err(|e| fail(format!("manifest.json: {e}")))
}

/// Checks a bundle completely: entry names (no absolute paths, `..`, symlinks or duplicates), the
/// decompressed size, the signature of manifest.json, every file's digest and size, SHA256SUMS,
/// that no file was added or removed, the signed checkpoint and every inclusion proof.
pub fn check_bundle(path: &Path, public: &PublicKey) -> Result<BundleCheck, BundleError> {
    let fail = |detail: String| BundleError::Check { path: path.to_path_buf(), detail };
    let io = |source| BundleError::Io { path: path.to_path_buf(), source };
    let zip_err = |e: zip::result::ZipError| BundleError::Zip { path: path.to_path_buf(), detail: e.to_string() };
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
