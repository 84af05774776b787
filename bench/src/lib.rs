//! `cairn-bench`: Cairn's benchmarks, reached only through `cairn bench`. Each measures Cairn
//! against a baseline run on the same machine in the same run and prints the ratio.
//!
//! `cairn bench verify`: verification throughput against raw Ed25519 verification of the same
//! signatures on all cores, measured in the same run, plus the verifier's peak memory.

#![deny(unsafe_code)]

pub mod portal;
pub mod record;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cairn_evidence::keys::{write_signing_key, PublicKey};
use cairn_evidence::time::parse_rfc3339;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use rand_chacha::rand_core::{RngCore as _, SeedableRng as _};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

use cairn_demo::Emitter;
use cairn_jobs::config::Config;
use cairn_jobs::pipeline::{self, Clock, Workspace};
use cairn_verifier::batch::BATCH;

use crate::record::Record;

const LINES_PER_FILE: u64 = 100_000;

struct Generated {
    messages: Vec<[u8; 32]>,
    signatures: Vec<Signature>,
    keys: Vec<VerifyingKey>,
}

/// Creates `dir/keys/` with Cairn's signing key drawn from `rng`; returns the key.
fn write_cairn_key(dir: &Path, rng: &mut ChaCha20Rng) -> Result<SigningKey> {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys)?;
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let cairn = SigningKey::from_bytes(&seed);
    write_signing_key(&keys.join("cairn.key"), &cairn)?;
    std::fs::write(keys.join("cairn.pub"), PublicKey::of(&cairn).to_minisign_file())?;
    Ok(cairn)
}

/// Writes `events` signed events over `chains` chains into `dir`, with a config to collect them.
fn generate(dir: &Path, events: u64, chains: u64) -> Result<Generated> {
    let keys_dir = dir.join("keys");
    let inputs = dir.join("inputs");
    std::fs::create_dir_all(&inputs)?;
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    write_cairn_key(dir, &mut rng)?;
    let start = parse_rfc3339("2026-11-20T00:00:00Z").expect("constant");
    let per_chain: Vec<(u64, u64)> =
        (0..chains).map(|c| (c, events / chains + u64::from(c < events % chains))).collect();
    let parts: Vec<Result<(String, Generated)>> = per_chain
        .par_iter()
        .map(|&(c, n)| {
            let mut rng = ChaCha20Rng::seed_from_u64(1000 + c);
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            let key = SigningKey::from_bytes(&seed);
            let kid = format!("bench-{c}");
            let ring = format!(
                "[[key]]\nkid = \"{kid}\"\npublic_key = \"{}\"\n\n",
                B64.encode(key.verifying_key().as_bytes())
            );
            let verifying = key.verifying_key();
            let mut emitter = Emitter::new(&format!("bench-chain-{c:03}"), &kid, key, start);
            let mut out = Generated { messages: Vec::new(), signatures: Vec::new(), keys: Vec::new() };
            let mut file: Option<std::io::BufWriter<std::fs::File>> = None;
            for i in 0..n {
                if i % LINES_PER_FILE == 0 {
                    if let Some(mut f) = file.take() {
                        f.flush()?;
                    }
                    let path = inputs.join(format!("chain-{c:03}-{:04}.jsonl", i / LINES_PER_FILE));
                    file = Some(std::io::BufWriter::new(std::fs::File::create(path)?));
                }
                let event = emitter.next(&mut rng);
                let mut hash = [0u8; 32];
                hex::decode_to_slice(event["hash"].as_str().unwrap_or_default(), &mut hash)?;
                let sig = B64.decode(event["sig"].as_str().unwrap_or_default())?;
                out.messages.push(hash);
                out.signatures.push(Signature::from_slice(&sig)?);
                out.keys.push(verifying);
                let f = file.as_mut().expect("opened above");
                serde_json::to_writer(&mut *f, &event)?;
                f.write_all(b"\n")?;
            }
            if let Some(mut f) = file.take() {
                f.flush()?;
            }
            Ok((ring, out))
        })
        .collect();
    let mut keyring = String::new();
    let mut all = Generated { messages: Vec::new(), signatures: Vec::new(), keys: Vec::new() };
    for part in parts {
        let (ring, g) = part?;
        keyring.push_str(&ring);
        all.messages.extend(g.messages);
        all.signatures.extend(g.signatures);
        all.keys.extend(g.keys);
    }
    std::fs::write(keys_dir.join("trusted.toml"), keyring)?;
    std::fs::write(
        dir.join("cairn.toml"),
        "[store]\nurl = \"store\"\n[signing]\nkey = \"keys/cairn.key\"\npublic_key = \"keys/cairn.pub\"\n[trust]\nkeyring = \"keys/trusted.toml\"\n\n[[source]]\nname = \"bench\"\ntype = \"jsonl\"\nurl = \"inputs/\"\n",
    )?;
    Ok(all)
}

/// A batch verification: whether every signature is its key's over its message.
type BatchCheck = fn(&[&[u8]], &[Signature], &[VerifyingKey]) -> bool;

/// Peak resident set size of the finished child `pid`, in KiB, and its exit status.
#[expect(unsafe_code, reason = "wait4 is the only way to read one child's peak RSS; std does not expose rusage")]
fn wait_with_peak_rss(pid: u32) -> Result<(i32, u64)> {
    let mut status: libc::c_int = 0;
    // SAFETY: zeroed rusage is a valid value; wait4 writes into the two out-pointers, which live
    // for the whole call, and `pid` is our own child that has not been waited for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid as libc::pid_t, &raw mut status, 0, &raw mut usage) };
    if rc < 0 {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    Ok((code, u64::try_from(usage.ru_maxrss).unwrap_or(0)))
}

/// `cairn bench prepare`: generates the events and collects them, in its own process so the
/// benchmark's parent stays small (a child's peak RSS as reported by the kernel starts from its
/// parent's resident size at fork). Writes the raw signatures to `baseline.bin` for the baseline.
pub async fn prepare(dir: &Path, events: u64, chains: u64) -> Result<u8> {
    let t = Instant::now();
    let generated = generate(dir, events, chains)?;
    println!("generate: {:.1} s", t.elapsed().as_secs_f64());
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("baseline.bin"))?);
    for ((m, s), k) in generated.messages.iter().zip(&generated.signatures).zip(&generated.keys) {
        out.write_all(m)?;
        out.write_all(&s.to_bytes())?;
        out.write_all(k.as_bytes())?;
    }
    out.flush()?;
    drop(generated);
    let ws = Workspace::open(Config::load(&dir.join("cairn.toml"))?)?;
    let t = Instant::now();
    pipeline::collect(&ws, &mut Clock::System).await?;
    let collect_s = t.elapsed().as_secs_f64();
    println!("collect: {collect_s:.1} s ({:.0} events/s)", events as f64 / collect_s);
    Ok(0)
}

fn read_baseline(path: &Path) -> Result<Generated> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut g = Generated { messages: Vec::new(), signatures: Vec::new(), keys: Vec::new() };
    for rec in bytes.chunks_exact(128) {
        let mut m = [0u8; 32];
        m.copy_from_slice(&rec[..32]);
        g.messages.push(m);
        g.signatures.push(Signature::from_slice(&rec[32..96])?);
        let k: [u8; 32] = rec[96..].try_into()?;
        g.keys.push(VerifyingKey::from_bytes(&k)?);
    }
    Ok(g)
}

/// Runs the benchmark and prints its figures.
pub fn verify(events: u64, chains: u64, dir: Option<&Path>, json: Option<&Path>) -> Result<u8> {
    if events == 0 || chains == 0 {
        bail!("--events and --chains must be at least 1");
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; benchmark figures mean little (cargo build --release)");
    }
    let (dir, temporary): (PathBuf, bool) = match dir {
        Some(d) => (d.to_path_buf(), false),
        None => (std::env::temp_dir().join(format!("cairn-bench-{}", std::process::id())), true),
    };
    if dir.join("cairn.toml").exists() {
        bail!("{} already holds a configuration; choose an empty folder", dir.display());
    }
    let threads = rayon::current_num_threads();
    println!("cairn bench verify: {events} events in {chains} chains, {threads} threads, folder {}", dir.display());
    let exe = std::env::current_exe().context("cannot find the cairn executable")?;
    let status = Command::new(&exe)
        .args([
            "--quiet",
            "bench",
            "prepare",
            "--events",
            &events.to_string(),
            "--chains",
            &chains.to_string(),
            "--dir",
        ])
        .arg(&dir)
        .status()
        .context("cannot start `cairn bench prepare`")?;
    if !status.success() {
        bail!("`cairn bench prepare` failed");
    }

    // `cairn verify` end to end, in its own process so its peak memory is its own.
    let t = Instant::now();
    let child = Command::new(&exe)
        .args(["--quiet", "verify", "--format", "json", "--config"])
        .arg(dir.join("cairn.toml"))
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start `cairn verify`")?;
    let (code, peak_kib) = wait_with_peak_rss(child.id())?;
    let verify_s = t.elapsed().as_secs_f64();
    if code != 0 {
        bail!("`cairn verify` exited {code} on clean generated data");
    }
    let verify_rate = events as f64 / verify_s;

    // The baselines, on the same signatures in the verifier's batches on all cores: ed25519-dalek's
    // batch verification, and the verifier's own batch equation (one term per key) alone.
    let generated = read_baseline(&dir.join("baseline.bin"))?;
    let raw = |check: BatchCheck| -> Result<f64> {
        let t = Instant::now();
        let ok = generated
            .messages
            .par_chunks(BATCH)
            .zip(generated.signatures.par_chunks(BATCH))
            .zip(generated.keys.par_chunks(BATCH))
            .all(|((m, s), k)| {
                let msgs: Vec<&[u8]> = m.iter().map(<[u8; 32]>::as_slice).collect();
                check(&msgs, s, k)
            });
        let seconds = t.elapsed().as_secs_f64();
        if !ok {
            bail!("raw verification failed on generated signatures");
        }
        Ok(seconds)
    };
    let raw_s = raw(|m, s, k| ed25519_dalek::verify_batch(m, s, k).is_ok())?;
    let summed_s = raw(cairn_verifier::batch::verify_batch)?;
    let raw_rate = events as f64 / raw_s;
    let summed_rate = events as f64 / summed_s;
    println!(
        "cairn verify (end to end): {verify_s:.2} s, {verify_rate:.0} events/s, peak RSS {:.0} MiB",
        peak_kib as f64 / 1024.0
    );
    println!("raw ed25519-dalek batch verify (all cores): {raw_s:.2} s, {raw_rate:.0} signatures/s");
    println!("raw batch verify, one term per key (all cores): {summed_s:.2} s, {summed_rate:.0} signatures/s");
    println!("ratio (cairn / raw ed25519-dalek): {:.2}", verify_rate / raw_rate);
    println!("ratio (cairn / raw, one term per key): {:.2}", verify_rate / summed_rate);
    if let Some(path) = json {
        Record::new("verify")
            .param("events", events)
            .param("chains", chains)
            .figure("cairn_seconds", verify_s)
            .figure("cairn_events_per_second", verify_rate)
            .figure("cairn_peak_rss_mib", peak_kib as f64 / 1024.0)
            .figure("baseline_seconds", raw_s)
            .figure("baseline_signatures_per_second", raw_rate)
            .figure("ratio", verify_rate / raw_rate)
            .figure("summed_baseline_seconds", summed_s)
            .figure("summed_baseline_signatures_per_second", summed_rate)
            .figure("summed_ratio", verify_rate / summed_rate)
            .write(path)?;
    }
    if temporary {
        std::fs::remove_dir_all(&dir).ok();
    }
    Ok(0)
}

/// `cairn bench prepare-bundle`: a lake holding `files` committed blobs of `size` bytes of
/// log-like text, each named by a document row as evidence of a control (a bundle carries only
/// the blobs some control rests on), and the same files under `files/` for the baselines.
pub async fn prepare_bundle(dir: &Path, files: u64, size: u64) -> Result<u8> {
    use cairn_evidence::artefacts::{DocumentRow, LakeTable as _};
    use cairn_evidence::lake::{RunOutcome, RunWriter};
    use cairn_evidence::tables::{collector_actor, Confidence, Provenance};
    let plain = dir.join("files");
    std::fs::create_dir_all(&plain)?;
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let cairn = write_cairn_key(dir, &mut rng)?;
    std::fs::write(dir.join("keys/trusted.toml"), "")?;
    std::fs::write(
        dir.join("cairn.toml"),
        "[store]\nurl = \"store\"\n[signing]\nkey = \"keys/cairn.key\"\npublic_key = \"keys/cairn.pub\"\n[trust]\nkeyring = \"keys/trusted.toml\"\n",
    )?;
    let ws = Workspace::open(Config::load(&dir.join("cairn.toml"))?)?;
    let state = ws.lake.state(&PublicKey::of(&cairn)).await?;
    let now = chrono::Utc::now();
    let run_id = cairn_evidence::time::run_id(now, rng.next_u32());
    let mut writer = RunWriter::new(&ws.lake, &state, &run_id, now)?;
    let mut documents = Vec::with_capacity(files as usize);
    for i in 0..files {
        // Log-like text: compressible, but not trivially.
        let mut text = String::with_capacity(size as usize + 128);
        while (text.len() as u64) < size {
            let r = rng.next_u64();
            let _ = writeln!(
                text,
                "2026-11-20T00:{:02}:{:02}Z host-{:02} event={:016x} user{}@example.com ok",
                r % 60,
                (r >> 8) % 60,
                (r >> 16) % 20,
                r,
                (r >> 24) % 500
            );
        }
        text.truncate(size as usize);
        let name = format!("file-{i:05}.log");
        std::fs::write(plain.join(&name), &text)?;
        let sha256 = cairn_evidence::digest::sha256_hex(text.as_bytes());
        let blob = writer.write_blob(bytes::Bytes::from(text), false).await?;
        documents.push(DocumentRow {
            blob,
            file: name.clone(),
            title: format!("Access review log {i}"),
            controls: "ACC-03".into(),
            owner: "bench".into(),
            date: now.format("%Y-%m-%d").to_string(),
            sha256: sha256.clone(),
            provenance: Provenance {
                source: "bench-documents".into(),
                object_key: format!("documents/{name}"),
                line: i + 1,
                byte_offset: 0,
                record_sha256: sha256,
                run_id: run_id.clone(),
                collected_at: now,
                actor: collector_actor("documents"),
                confidence: Confidence::Verified,
                simulated: false,
            },
        });
    }
    let date = now.format("%Y-%m-%d").to_string();
    writer.write_table(DocumentRow::TABLE, &date, &DocumentRow::to_batch(&documents)?).await?;
    writer.commit(cairn_evidence::manifest::Stage::Collect, &state, RunOutcome::default(), &cairn, now).await?;
    Ok(0)
}

fn timed(mut cmd: Command) -> Result<(f64, u64)> {
    let t = Instant::now();
    let child = cmd.stdout(Stdio::null()).spawn().context("cannot start a benchmark command")?;
    let (code, peak) = wait_with_peak_rss(child.id())?;
    if code != 0 {
        bail!("{cmd:?} exited {code}");
    }
    Ok((t.elapsed().as_secs_f64(), peak))
}

/// `cairn bench bundle`: bundle throughput and memory against `zip -r` and `sha256sum`.
pub fn bundle(files: u64, size_kib: u64, dir: Option<&Path>, json: Option<&Path>) -> Result<u8> {
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; benchmark figures mean little (cargo build --release)");
    }
    let (dir, temporary): (PathBuf, bool) = match dir {
        Some(d) => (d.to_path_buf(), false),
        None => (std::env::temp_dir().join(format!("cairn-bench-bundle-{}", std::process::id())), true),
    };
    if dir.join("cairn.toml").exists() {
        bail!("{} already holds a configuration; choose an empty folder", dir.display());
    }
    let size = size_kib * 1024;
    let total_mb = (files * size) as f64 / 1e6;
    println!("cairn bench bundle: {files} files of {size_kib} KiB ({total_mb:.0} MB), folder {}", dir.display());
    let exe = std::env::current_exe().context("cannot find the cairn executable")?;
    let status = Command::new(&exe)
        .args([
            "--quiet",
            "bench",
            "prepare-bundle",
            "--files",
            &files.to_string(),
            "--size",
            &size.to_string(),
            "--dir",
        ])
        .arg(&dir)
        .status()?;
    if !status.success() {
        bail!("`cairn bench prepare-bundle` failed");
    }
    let mut cairn = Command::new(&exe);
    cairn
        .args(["--quiet", "--config"])
        .arg(dir.join("cairn.toml"))
        .args(["bundle", "--all", "--out"])
        .arg(dir.join("cairn.zip"));
    let (cairn_s, cairn_rss) = timed(cairn)?;
    // A bundle that left the files out would measure nothing.
    let bundled = zip::ZipArchive::new(std::fs::File::open(dir.join("cairn.zip"))?)
        .context("cannot read the bundle")?
        .file_names()
        .filter(|n| n.starts_with("store/blobs/"))
        .count() as u64;
    if bundled != files {
        bail!("the bundle holds {bundled} of the {files} files; the benchmark measured nothing");
    }
    let mut zip = Command::new("zip");
    zip.current_dir(&dir).args(["-r", "-q", "-6", "baseline.zip", "files"]);
    let (zip_s, zip_rss) = timed(zip).context("the baseline needs Info-ZIP `zip` (apt-get install zip)")?;
    let mut sums = Command::new("sh");
    sums.current_dir(&dir).args(["-c", "sha256sum files/* > /dev/null"]);
    let (sum_s, _) = timed(sums)?;
    let size_of = |p: &str| std::fs::metadata(dir.join(p)).map_or(0.0, |m| m.len() as f64 / 1e6);
    println!(
        "cairn bundle --all (digest, prove, sign, deflate, write): {cairn_s:.2} s, {:.0} MB/s, peak RSS {:.0} MiB, zip {:.0} MB",
        total_mb / cairn_s,
        cairn_rss as f64 / 1024.0,
        size_of("cairn.zip")
    );
    println!(
        "zip -r -6: {zip_s:.2} s, {:.0} MB/s, peak RSS {:.0} MiB, zip {:.0} MB",
        total_mb / zip_s,
        zip_rss as f64 / 1024.0,
        size_of("baseline.zip")
    );
    println!("sha256sum: {sum_s:.2} s, {:.0} MB/s", total_mb / sum_s);
    println!("ratio (cairn / zip -r throughput): {:.2}", zip_s / cairn_s);
    if let Some(path) = json {
        Record::new("bundle")
            .param("files", files)
            .param("size_kib", size_kib)
            .figure("cairn_seconds", cairn_s)
            .figure("cairn_peak_rss_mib", cairn_rss as f64 / 1024.0)
            .figure("cairn_zip_mb", size_of("cairn.zip"))
            .figure("baseline_seconds", zip_s)
            .figure("baseline_peak_rss_mib", zip_rss as f64 / 1024.0)
            .figure("baseline_zip_mb", size_of("baseline.zip"))
            .figure("sha256sum_seconds", sum_s)
            .figure("ratio", zip_s / cairn_s)
            .write(path)?;
    }
    if temporary {
        std::fs::remove_dir_all(&dir).ok();
    }
    Ok(0)
}

/// `cairn bench prepare-ingest`: one JSON-lines export of `events` signed events over 16 chains,
/// interleaved as a SIEM export interleaves services, and a configuration collecting it.
pub fn prepare_ingest(dir: &Path, events: u64) -> Result<u8> {
    let chains = 16u64;
    let scratch = dir.join("scratch");
    std::fs::create_dir_all(&scratch)?;
    generate(&scratch, events, chains)?;
    // Interleave the chains' files line by line into one export.
    let inputs = scratch.join("inputs");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&inputs)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    names.sort();
    let mut readers: Vec<std::io::Lines<std::io::BufReader<std::fs::File>>> = Vec::new();
    for n in &names {
        readers.push(std::io::BufRead::lines(std::io::BufReader::new(std::fs::File::open(n)?)));
    }
    std::fs::create_dir_all(dir.join("inputs"))?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("inputs/export.jsonl"))?);
    let mut open = readers.len();
    while open > 0 {
        open = 0;
        for r in &mut readers {
            if let Some(line) = r.next() {
                out.write_all(line?.as_bytes())?;
                out.write_all(b"\n")?;
                open += 1;
            }
        }
    }
    out.flush()?;
    std::fs::rename(scratch.join("keys"), dir.join("keys"))?;
    std::fs::write(
        dir.join("cairn.toml"),
        "[store]\nurl = \"store\"\n[signing]\nkey = \"keys/cairn.key\"\npublic_key = \"keys/cairn.pub\"\n[trust]\nkeyring = \"keys/trusted.toml\"\n\n[[source]]\nname = \"export\"\ntype = \"jsonl\"\nurl = \"inputs/export.jsonl\"\n",
    )?;
    std::fs::remove_dir_all(&scratch)?;
    Ok(0)
}

/// `cairn bench ingest`: collecting a JSON-lines export into the lake, against DuckDB converting
/// the same file to Parquet, in the same run: `runs` timed runs of each, alternating (each
/// collect into an empty lake, each after `sync`), compared by their medians.
pub fn ingest(events: u64, runs: usize, dir: Option<&Path>, json: Option<&Path>) -> Result<u8> {
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; benchmark figures mean little (cargo build --release)");
    }
    if runs == 0 {
        bail!("--runs must be at least 1");
    }
    let (dir, temporary): (PathBuf, bool) = match dir {
        Some(d) => (d.to_path_buf(), false),
        None => (std::env::temp_dir().join(format!("cairn-bench-ingest-{}", std::process::id())), true),
    };
    if dir.join("cairn.toml").exists() {
        bail!("{} already holds a configuration; choose an empty folder", dir.display());
    }
    let exe = std::env::current_exe().context("cannot find the cairn executable")?;
    let status = Command::new(&exe)
        .args(["--quiet", "bench", "prepare-ingest", "--events", &events.to_string(), "--dir"])
        .arg(&dir)
        .status()?;
    if !status.success() {
        bail!("`cairn bench prepare-ingest` failed");
    }
    let export = dir.join("inputs/export.jsonl");
    let mb = std::fs::metadata(&export)?.len() as f64 / 1e6;
    println!(
        "cairn bench ingest: {events} lines, {mb:.0} MB ({:.0} bytes/line), {} threads, {runs} runs each, folder {}",
        mb * 1e6 / events as f64,
        rayon::current_num_threads(),
        dir.display()
    );
    let script = "import sys, duckdb\n\
        duckdb.sql(\"COPY (SELECT * FROM read_json_auto('\" + sys.argv[1] + \"')) TO '\" + sys.argv[2] + \"' (FORMAT PARQUET)\")\n";
    let (mut cairn_times, mut duck_times, mut cairn_peak, mut duck_peak) = (Vec::new(), Vec::new(), 0u64, 0u64);
    for _ in 0..runs {
        // Each collect starts from an empty lake; earlier runs' writes are flushed first.
        remove_if_present(&dir.join("store"))?;
        remove_if_present(&dir.join("duckdb.parquet"))?;
        Command::new("sync").status().ok();
        let mut cairn = Command::new(&exe);
        cairn.args(["--quiet", "--config"]).arg(dir.join("cairn.toml")).arg("collect");
        let (s, rss) = timed(cairn)?;
        cairn_times.push(s);
        cairn_peak = cairn_peak.max(rss);
        Command::new("sync").status().ok();
        let mut duck = Command::new("python3");
        duck.args(["-c", script]).arg(&export).arg(dir.join("duckdb.parquet"));
        let (s, rss) = timed(duck).context("the baseline needs DuckDB for Python (pip install duckdb)")?;
        duck_times.push(s);
        duck_peak = duck_peak.max(rss);
    }
    println!("cairn collect runs (s): {}", list_times(&cairn_times));
    println!("duckdb runs (s): {}", list_times(&duck_times));
    let (cairn_runs, duck_runs) = (cairn_times.clone(), duck_times.clone());
    let (cairn_s, duck_s) = (median(&mut cairn_times), median(&mut duck_times));
    let rate = |s: f64| (events as f64 / s, mb / s);
    let (c_rows, c_mb) = rate(cairn_s);
    let (d_rows, d_mb) = rate(duck_s);
    println!(
        "cairn collect (parse, extract chain fields, hash, Parquet, commit): median {cairn_s:.2} s, {c_rows:.0} events/s, {c_mb:.0} MB/s, peak RSS {:.0} MiB",
        cairn_peak as f64 / 1024.0
    );
    println!(
        "duckdb read_json_auto → Parquet: median {duck_s:.2} s, {d_rows:.0} rows/s, {d_mb:.0} MB/s, peak RSS {:.0} MiB",
        duck_peak as f64 / 1024.0
    );
    println!("ratio (cairn / duckdb events per second, medians): {:.2}", c_rows / d_rows);
    if let Some(path) = json {
        Record::new("ingest")
            .param("events", events)
            .param("runs", runs)
            .param("megabytes", mb)
            .figure("cairn_runs_seconds", cairn_runs)
            .figure("cairn_median_seconds", cairn_s)
            .figure("cairn_events_per_second", c_rows)
            .figure("cairn_peak_rss_mib", cairn_peak as f64 / 1024.0)
            .figure("baseline_runs_seconds", duck_runs)
            .figure("baseline_median_seconds", duck_s)
            .figure("baseline_rows_per_second", d_rows)
            .figure("baseline_peak_rss_mib", duck_peak as f64 / 1024.0)
            .figure("ratio", c_rows / d_rows)
            .write(path)?;
    }
    if temporary {
        std::fs::remove_dir_all(&dir).ok();
    }
    Ok(0)
}

/// Removes a file or folder; one that is not there is fine.
pub(crate) fn remove_if_present(path: &Path) -> Result<()> {
    let removed = if path.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
    match removed {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The median of timings (the upper one of an even count).
pub(crate) fn median(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Timings as `1.23, 1.25, …`.
pub(crate) fn list_times(times: &[f64]) -> String {
    times.iter().map(|t| format!("{t:.2}")).collect::<Vec<_>>().join(", ")
}

/// `cairn bench prepare-nightly`: `events` signed events for a first night in `inputs/`, and 1%
/// more, continuing the same chains, held back in `pending/` for the second night; a config
/// with a `nightly` job running every step.
pub fn prepare_nightly(dir: &Path, events: u64) -> Result<u8> {
    let extra = (events / 100).max(1);
    let scratch = dir.join("scratch");
    std::fs::create_dir_all(&scratch)?;
    let chains = 16u64;
    generate(&scratch, events + extra, chains)?;
    let inputs = dir.join("inputs");
    let pending = dir.join("pending");
    std::fs::create_dir_all(&inputs)?;
    std::fs::create_dir_all(&pending)?;
    let mut names: Vec<PathBuf> =
        std::fs::read_dir(scratch.join("inputs"))?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    names.sort();
    // Each chain's files in order; its first share of `events` goes to night one.
    let total = events + extra;
    for c in 0..chains {
        let n = total / chains + u64::from(c < total % chains);
        let first = n * events / total;
        let mut night1 = std::io::BufWriter::new(std::fs::File::create(inputs.join(format!("chain-{c:03}.jsonl")))?);
        let mut night2 =
            std::io::BufWriter::new(std::fs::File::create(pending.join(format!("chain-{c:03}-night2.jsonl")))?);
        let prefix = format!("chain-{c:03}-");
        let mut i = 0u64;
        for name in names.iter().filter(|p| p.file_name().is_some_and(|f| f.to_string_lossy().starts_with(&prefix))) {
            for line in std::io::BufRead::lines(std::io::BufReader::new(std::fs::File::open(name)?)) {
                let out = if i < first { &mut night1 } else { &mut night2 };
                out.write_all(line?.as_bytes())?;
                out.write_all(b"\n")?;
                i += 1;
            }
        }
        night1.flush()?;
        night2.flush()?;
    }
    std::fs::rename(scratch.join("keys"), dir.join("keys"))?;
    let mut config = std::fs::read_to_string(scratch.join("cairn.toml"))?;
    config.push_str(
        "\n[[job]]\nname = \"nightly\"\nschedule = \"0 30 2 * * *\"\nsteps = [\"collect\", \"verify\", \"evaluate\", \"render\", \"bundle\", \"publish\"]\n[job.publish]\nurl = \"published\"\n",
    );
    std::fs::write(dir.join("cairn.toml"), config)?;
    std::fs::remove_dir_all(&scratch)?;
    Ok(0)
}

/// `cairn bench nightly`: a first full run of the nightly job (collect, verify, evaluate,
/// render, bundle, publish) over `events` events, then a second run after 1% new events
/// arrived, both timed in this run; the second should cost at most a tenth of the first.
pub fn nightly(events: u64, dir: Option<&Path>, json: Option<&Path>) -> Result<u8> {
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; benchmark figures mean little (cargo build --release)");
    }
    let (dir, temporary): (PathBuf, bool) = match dir {
        Some(d) => (d.to_path_buf(), false),
        None => (std::env::temp_dir().join(format!("cairn-bench-nightly-{}", std::process::id())), true),
    };
    if dir.join("cairn.toml").exists() {
        bail!("{} already holds a benchmark; remove it or name another --dir", dir.display());
    }
    std::fs::create_dir_all(&dir)?;
    let exe = std::env::current_exe()?;
    let dir_arg = dir.to_str().context("the folder's path is not UTF-8")?;
    eprintln!("generating {events} events plus 1% for the second night...");
    let mut prep = Command::new(&exe);
    prep.args(["bench", "prepare-nightly", "--events", &events.to_string(), "--dir", dir_arg]);
    timed(prep)?;
    let run = || {
        let mut cmd = Command::new(&exe);
        cmd.args(["--config", &format!("{dir_arg}/cairn.toml"), "-q", "run", "nightly"]).current_dir(&dir);
        cmd
    };
    eprintln!("first night (full run)...");
    let (first_s, first_rss) = timed(run())?;
    for entry in std::fs::read_dir(dir.join("pending"))? {
        let path = entry?.path();
        let name = path.file_name().context("a pending file has a name")?.to_owned();
        std::fs::rename(&path, dir.join("inputs").join(name))?;
    }
    eprintln!("second night (1% new events)...");
    let (second_s, second_rss) = timed(run())?;
    let ratio = second_s / first_s;
    let mut out = String::new();
    writeln!(out, "cairn bench nightly: {events} events, then {} new (1%); steps collect, verify, evaluate, render, bundle, publish", (events / 100).max(1))?;
    writeln!(out, "{:<28} {:>10} {:>14}", "run", "seconds", "peak RSS MiB")?;
    writeln!(out, "{:<28} {:>10.2} {:>14.0}", "first night (everything)", first_s, first_rss as f64 / 1024.0)?;
    writeln!(out, "{:<28} {:>10.2} {:>14.0}", "second night (1% new)", second_s, second_rss as f64 / 1024.0)?;
    writeln!(
        out,
        "ratio second/first: {:.1}% (target at most 5%): {}",
        ratio * 100.0,
        if ratio <= 0.05 { "met" } else { "NOT met" }
    )?;
    print!("{out}");
    if let Some(path) = json {
        Record::new("nightly")
            .param("events", events)
            .param("new_events", (events / 100).max(1))
            .figure("first_seconds", first_s)
            .figure("first_peak_rss_mib", first_rss as f64 / 1024.0)
            .figure("second_seconds", second_s)
            .figure("second_peak_rss_mib", second_rss as f64 / 1024.0)
            .figure("ratio", ratio)
            .write(path)?;
    }
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(0)
}
