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
use std::io::Read as _;
use std::path::{Path, PathBuf};

use cairn_evidence::digest::{is_sha256_hex, sha256_hex, Sha256Stream};
use cairn_evidence::keys::{sign_minisign, PublicKey};
use cairn_evidence::signer::{SignError, Signer};
use rayon::prelude::*;
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
    /// A file on disk, streamed into the zip (extracts).
    File(PathBuf),
    /// A file on disk whose SHA-256 and size are already known: a lake object, checked against
    /// the digest its manifest committed as it was read and written there by the caller.
    Checked {
        /// Where it is.
        path: PathBuf,
        /// Its lowercase hex SHA-256.
        sha256: String,
        /// Its size in bytes.
        size: u64,
    },
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

/// The deflate level of every entry: zlib's default, as Info-ZIP `zip`'s.
const DEFLATE_LEVEL: i32 = 6;
/// Entries up to this size are deflated on every core, in memory, ahead of the writer; larger
/// ones are streamed into the zip.
const PARALLEL_ENTRY_MAX: u64 = 16 << 20;
/// At most this many bytes of entries are deflated ahead of the writer at a time.
const PARALLEL_BATCH_BYTES: u64 = 16 << 20;

/// What deflates entries on one thread: raw deflate (as a zip entry holds it) at
/// [`DEFLATE_LEVEL`], and the buffers it reads and writes.
struct DeflateWorker {
    deflate: zlib_rs::Deflate,
    read: Vec<u8>,
    buf: Vec<u8>,
}

impl DeflateWorker {
    fn new() -> Self {
        Self { deflate: zlib_rs::Deflate::new(DEFLATE_LEVEL, false, 15), read: Vec::new(), buf: Vec::new() }
    }
}

/// One entry of the zip, in the order they are written.
struct Entry<'a> {
    path: &'a str,
    source: EntrySource<'a>,
    size: u64,
}

enum EntrySource<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

impl Entry<'_> {
    /// Copies the entry's bytes into `out`.
    fn copy_into(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        match self.source {
            EntrySource::Bytes(b) => out.write_all(b),
            EntrySource::File(p) => std::io::copy(&mut File::open(p)?, out).map(drop),
        }
    }

    /// The entry deflated alone at the writer's level, as a zip archive of that one entry in
    /// memory, for the writer to copy in compressed.
    ///
    /// `worker` (a deflate state and two buffers) is reused from one entry to the next, so
    /// memory does not churn.
    fn deflated_alone(&self, worker: &mut DeflateWorker) -> std::io::Result<Vec<u8>> {
        let DeflateWorker { deflate, read, buf } = worker;
        let data: &[u8] = match self.source {
            EntrySource::Bytes(b) => b,
            EntrySource::File(p) => {
                read.clear();
                File::open(p)?.read_to_end(read)?;
                read
            }
        };
        buf.resize(zlib_rs::compress_bound(data.len()), 0);
        deflate.reset();
        let failed = |why: String| std::io::Error::other(format!("{}: deflate failed ({why})", self.path));
        match deflate.compress(data, buf, zlib_rs::DeflateFlush::Finish) {
            Ok(zlib_rs::Status::StreamEnd) => {}
            Ok(status) => return Err(failed(format!("{status:?}"))),
            Err(e) => return Err(failed(e.as_str().to_string())),
        }
        let deflated = &buf[..deflate.total_out() as usize];
        let too_large = |_| std::io::Error::other(format!("{}: too large to deflate ahead", self.path));
        let size = u32::try_from(data.len()).map_err(too_large)?;
        let compressed = u32::try_from(deflated.len()).map_err(too_large)?;
        let name_len = u16::try_from(self.path.len()).map_err(too_large)?;
        let crc = zlib_rs::crc32::crc32(0, data);
        // APPNOTE 4.3.7 and 4.3.12: local header, data, central directory header, end record.
        // Version 2.0, deflated, 1980-01-01 00:00, UTF-8 names flagged, made on Unix as 0644.
        let flags: u16 = if self.path.is_ascii() { 0 } else { 1 << 11 };
        let common = |out: &mut Vec<u8>| {
            for v in [20u16, flags, 8, 0, (1 << 5) | 1] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            for v in [crc, compressed, size] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&name_len.to_le_bytes());
        };
        let mut out = Vec::with_capacity(deflated.len() + 2 * self.path.len() + 128);
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(self.path.as_bytes());
        out.extend_from_slice(deflated);
        let directory_at = out.len() as u32;
        out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        // Made by: Unix (3, high byte), version 2.0 (20 = 0x14, low byte).
        out.extend_from_slice(&0x0314u16.to_le_bytes());
        common(&mut out);
        for v in [0u16, 0, 0, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(0o100_644u32 << 16).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(self.path.as_bytes());
        let directory_len = out.len() as u32 - directory_at;
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        for v in [0u16, 0, 1, 1] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&directory_len.to_le_bytes());
        out.extend_from_slice(&directory_at.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        Ok(out)
    }
}

fn digest_of(content: &Content, io: impl Fn(std::io::Error) -> BundleError) -> Result<(String, u64), BundleError> {
    match content {
        Content::Bytes(b) => Ok((sha256_hex(b), b.len() as u64)),
        Content::Checked { sha256, size, .. } => Ok((sha256.clone(), *size)),
        Content::File(path) => file_digest(path).map_err(io),
    }
}

/// A file's SHA-256 and size, read in 1 MiB pieces.
fn file_digest(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256Stream::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hasher.finish().to_hex(), size))
}

/// The digest file beside a bundle: `<zip>.sha256`, one `sha256sum` line, so that
/// `sha256sum -c cairn-evidence-….zip.sha256` checks a download.
pub fn digest_file_path(zip: &Path) -> PathBuf {
    let mut name = zip.as_os_str().to_os_string();
    name.push(".sha256");
    PathBuf::from(name)
}

/// Writes the digest file beside `zip` (whole, under a temporary name renamed over it).
pub fn write_digest_file(zip: &Path, sha256: &str) -> std::io::Result<()> {
    let name = zip.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{}: not a file name", zip.display()))
    })?;
    let path = digest_file_path(zip);
    let partial = path.with_extension("sha256.partial");
    std::fs::write(&partial, format!("{sha256}  {name}\n"))?;
    std::fs::rename(&partial, &path)
}

/// A bundle's SHA-256 and size: from its digest file when that names it and was written after the
/// zip last changed (a bundle can be hundreds of MiB, and the portal lists every one on every
/// render), else by reading the zip.
pub fn bundle_digest(zip: &Path) -> std::io::Result<(String, u64)> {
    let meta = std::fs::metadata(zip)?;
    let recorded = || -> Option<String> {
        let sidecar = digest_file_path(zip);
        if std::fs::metadata(&sidecar).ok()?.modified().ok()? < meta.modified().ok()? {
            return None;
        }
        let line = std::fs::read_to_string(&sidecar).ok()?;
        let (digest, name) = line.strip_suffix('\n')?.split_once("  ")?;
        let names_it = zip.file_name().and_then(|n| n.to_str()) == Some(name);
        (names_it && is_sha256_hex(digest)).then(|| digest.to_string())
    };
    match recorded() {
        Some(digest) => Ok((digest, meta.len())),
        None => file_digest(zip),
    }
}

/// Builds and signs a bundle at `out` (written to a temporary name, then renamed, so a reader
/// never sees half a zip). Memory does not grow with the files' size: at most
/// `PARALLEL_BATCH_BYTES` of entries are deflated ahead in memory, and larger files are streamed.
/// A [`Content::Checked`] file is not digested again.
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
    // Every file is digested on every core; the list keeps the files' order.
    let digests: Vec<(String, u64)> =
        files.par_iter().map(|f| digest_of(&f.content, io)).collect::<Result<_, BundleError>>()?;
    for (f, (sha256, size)) in files.iter().zip(digests) {
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
        .compression_level(Some(i64::from(DEFLATE_LEVEL)))
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let zip_err = |e: zip::result::ZipError| BundleError::Zip { path: out.to_path_buf(), detail: e.to_string() };
    let sizes: BTreeMap<&str, u64> = manifest.files.iter().map(|f| (f.path.as_str(), f.size)).collect();
    let mut order: Vec<Entry<'_>> = small
        .iter()
        .map(|(path, bytes)| Entry { path, source: EntrySource::Bytes(bytes), size: bytes.len() as u64 })
        .collect();
    order.extend(files.iter().map(|f| Entry {
        path: &f.path,
        source: match &f.content {
            Content::Bytes(b) => EntrySource::Bytes(b),
            Content::File(p) | Content::Checked { path: p, .. } => EntrySource::File(p),
        },
        size: sizes.get(f.path.as_str()).copied().unwrap_or(0),
    }));
    order.sort_by(|a, b| a.path.cmp(b.path));
    // Runs of entries small enough are deflated on every core, each into a zip of its own in
    // memory, and copied into the bundle compressed, in order: the bytes are those the writer
    // would deflate itself, so the bundle stays deterministic. A larger entry is streamed.
    let mut rest = order.as_slice();
    while let Some(first) = rest.first() {
        if first.size > PARALLEL_ENTRY_MAX {
            // ZIP64 extra fields only where an entry needs them, so ordinary bundles carry none.
            zip.start_file(first.path, options.large_file(first.size >= u64::from(u32::MAX))).map_err(zip_err)?;
            first.copy_into(&mut zip).map_err(io)?;
            rest = &rest[1..];
            continue;
        }
        let mut take = 0;
        let mut bytes = 0;
        while let Some(e) = rest.get(take) {
            if e.size > PARALLEL_ENTRY_MAX || (take > 0 && bytes + e.size > PARALLEL_BATCH_BYTES) {
                break;
            }
            bytes += e.size;
            take += 1;
        }
        let (batch, after) = rest.split_at(take);
        let deflated: Vec<Vec<u8>> = batch
            .par_iter()
            .map_init(DeflateWorker::new, |worker, e| e.deflated_alone(worker))
            .collect::<Result<_, std::io::Error>>()
            .map_err(io)?;
        for one in deflated {
            let mut alone = zip::ZipArchive::new(std::io::Cursor::new(one)).map_err(zip_err)?;
            let entry = alone.by_index_raw(0).map_err(zip_err)?;
            zip.raw_copy_file_touch(entry, DateTime::default(), Some(0o644)).map_err(zip_err)?;
        }
        rest = after;
    }
    let writer = zip.finish().map_err(zip_err)?;
    let file = writer.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&partial, out).map_err(io)?;
    partial_guard.keep = true;
    let (sha256, size) = file_digest(out).map_err(io)?;
    write_digest_file(out, &sha256).map_err(io)?;
    Ok(BundleInfo { path: out.to_path_buf(), size, sha256 })
}

/// The standalone checker shipped in every bundle.
pub const VERIFY_PY: &str = include_str!("verify.py");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_deflated_ahead_and_streamed_read_back_whole_in_order_and_the_zip_is_deterministic() {
        let dir = std::env::temp_dir().join(format!("cairn-bundle-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Small entries deflated ahead, one past the parallel limit streamed, small ones after.
        let big: Vec<u8> = (0..PARALLEL_ENTRY_MAX + 5).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.join("big.bin"), &big).unwrap();
        let file = |path: &str, content: Content| BundleFile {
            path: path.into(),
            kind: "lake_object".into(),
            controls: Vec::new(),
            content,
            inclusion: None,
            simulated: false,
        };
        let mut files: Vec<BundleFile> = (0..40)
            .map(|i| file(&format!("a/{i:02}.txt"), Content::Bytes(format!("line {i}\n").repeat(i).into_bytes())))
            .collect();
        files.push(file("b/big.bin", Content::File(dir.join("big.bin"))));
        files.push(file("c/after.txt", Content::Bytes(b"after\n".to_vec())));
        let spec = BundleSpec {
            name: "test".into(),
            scope: "all".into(),
            period: Period { since: None, until: None, runs: None },
            run_id: "20261121T020000Z-00000000".into(),
            created_at: "2026-11-21T02:00:00Z".into(),
            merkle_size: 0,
            merkle_root: String::new(),
            checkpoint: String::new(),
            files,
            about: None,
            audience: None,
        };
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let one = write_bundle(&dir.join("one.zip"), spec.clone(), &key).unwrap();
        let two = write_bundle(&dir.join("two.zip"), spec, &key).unwrap();
        assert_eq!(one.sha256, two.sha256);
        let mut zip = zip::ZipArchive::new(File::open(&one.path).unwrap()).unwrap();
        let names: Vec<String> = zip.file_names().map(str::to_string).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), 47, "{names:?}");
        let mut read = |name: &str| {
            let mut out = Vec::new();
            zip.by_name(name).unwrap().read_to_end(&mut out).unwrap();
            out
        };
        assert_eq!(read("b/big.bin"), big);
        assert_eq!(read("a/07.txt"), b"line 7\n".repeat(7));
        assert_eq!(read("c/after.txt"), b"after\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_bundles_digest_file_is_used_only_while_the_zip_is_unchanged_since() {
        use std::time::{Duration, SystemTime};
        let dir = std::env::temp_dir().join(format!("cairn-digest-file-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let zip = dir.join("b.zip");
        std::fs::write(&zip, b"first").unwrap();
        let at = |path: &Path, secs: u64| {
            let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs);
            File::options().write(true).open(path).unwrap().set_modified(t).unwrap();
        };
        // No digest file: the zip is read.
        assert_eq!(bundle_digest(&zip).unwrap(), (sha256_hex(b"first"), 5));
        write_digest_file(&zip, &sha256_hex(b"first")).unwrap();
        let sidecar = digest_file_path(&zip);
        assert_eq!(std::fs::read_to_string(&sidecar).unwrap(), format!("{}  b.zip\n", sha256_hex(b"first")));
        // Written after the zip: it is what the digest is taken from (the zip is not read).
        at(&zip, 0);
        at(&sidecar, 1);
        std::fs::write(&sidecar, format!("{}  b.zip\n", "ab".repeat(32))).unwrap();
        at(&sidecar, 1);
        assert_eq!(bundle_digest(&zip).unwrap().0, "ab".repeat(32));
        // The zip changed after it: the zip is read again.
        std::fs::write(&zip, b"second").unwrap();
        at(&zip, 2);
        assert_eq!(bundle_digest(&zip).unwrap(), (sha256_hex(b"second"), 6));
        // A digest file naming another file, or malformed, is not used.
        for line in [format!("{}  other.zip\n", "ab".repeat(32)), "not a digest  b.zip\n".to_string()] {
            std::fs::write(&sidecar, line).unwrap();
            at(&sidecar, 3);
            assert_eq!(bundle_digest(&zip).unwrap().0, sha256_hex(b"second"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
