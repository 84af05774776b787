//! Signed evidence bundles: deterministic zips that anyone checks with `minisign` and `sha256sum`
//! (and `cairn_verifier::bundle::check_bundle`). The format is `cairn_evidence::bundle`.
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

use cairn_evidence::digest::{sha256_hex, Sha256Stream};
use cairn_evidence::keys::{sign_minisign, PublicKey};
use cairn_evidence::signer::{SignError, Signer};
use serde::Serialize;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

pub use cairn_evidence::bundle::{
    safe_entry_name, BundleManifest, InclusionRef, ManifestFile, Period, BUNDLE_FORMAT, FIXED_ENTRIES,
};

/// What went wrong building a bundle.
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
    /// The manifest could not be signed.
    #[error(transparent)]
    Sign(#[from] SignError),
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
    /// A section README.txt adds after the file list: what this kind of bundle holds, in its
    /// reader's words.
    pub about: Option<String>,
    /// Who it is for and what was left out for them.
    pub audience: Option<cairn_evidence::classification::AudienceNote>,
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

fn readme(manifest: &BundleManifest, about: Option<&str>) -> String {
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
         ==============================\n\n{simulated}{audience}\
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
         nothing was added or removed.\n\n{rotations}\
         Files\n-----\n{files}",
        name = manifest.name,
        simulated = if manifest.simulated {
            "SIMULATED DATA: files marked `\"simulated\": true` in manifest.json hold synthetic\n\
             records (a demo, or a source declared simulated). They are not evidence about a real system.\n\n"
        } else {
            ""
        },
        audience = manifest.audience.as_ref().map(audience_section).unwrap_or_default(),
        rotations = if manifest.files.iter().any(|f| f.kind == "lake_key") {
            "Cairn's signing key was rotated. Run manifests (store/runs/) signed before a rotation\n\
             verify with the key of their time, in keys/ (minisign -Vm store/runs/RUN.json -p\n\
             keys/cairn-KEYID.pub); each rotation run, signed by the next key, names the key before\n\
             it and carries that key's signature of the handover. verify.py checks each handover.\n\n"
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
    ) + &about.map(|a| format!("\n{a}")).unwrap_or_default()
}

/// README.txt's account of who the bundle is for and what it leaves out for them.
fn audience_section(note: &cairn_evidence::classification::AudienceNote) -> String {
    let mut out = format!(
        "AUDIENCE: {}. This bundle holds nothing classified above {}.\n",
        note.audience.as_str(),
        note.ceiling.as_str()
    );
    if note.left_out.is_empty() {
        out.push_str("Nothing in scope was left out for this audience.\n");
    } else {
        out.push_str("Left out for this audience (manifest.json `audience.left_out`):\n");
        for l in &note.left_out {
            let _ = writeln!(out, "  - {} ({}): {}", l.what, l.classification.as_str(), l.count);
        }
    }
    out.push('\n');
    out
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
pub fn write_bundle(out: &Path, spec: BundleSpec, key: &dyn Signer) -> Result<BundleInfo, BundleError> {
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
    let public = PublicKey::from_verifying(key.verifying_key());
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
        audience: spec.audience,
        files: listed,
    };
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    manifest_bytes.push(b'\n');
    let comment = format!("file:manifest.json\tbundle:{}\trun:{}", spec.name, spec.run_id);
    let signature = sign_minisign(key, &manifest_bytes, &comment)?;
    // Generated entries, then every file, all in sorted order.
    let mut small: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    small.insert("README.txt".into(), readme(&manifest, spec.about.as_deref()).into_bytes());
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

/// The standalone checker shipped in every bundle.
pub const VERIFY_PY: &str = include_str!("verify.py");
