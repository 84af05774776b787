//! One function per command. Each returns the exit code, or an error (exit 2).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};
use cairn_evidence::keys::{write_signing_key, PublicKey};
use cairn_verifier::bundle::{check_bundle, BundleCheckError};
use ed25519_dalek::SigningKey;

use cairn_evidence::classification::Audience;
use cairn_jobs::bundling::{self, Request, Scope};
use cairn_jobs::config::Config;
use cairn_jobs::pipeline::{self, Clock, VerifyReport, Workspace};
use cairn_jobs::render::render;
use cairn_jobs::{acknowledge, proofs, runner, schedule};
use cairn_verifier::open::{FindingStanding, Standing};

use crate::{BenchCommand, Cli, Command, ControlsCommand, ExportCommand, OutputFormat, ProofCommand};

/// Runs the command line's command.
pub async fn run(cli: &Cli) -> Result<u8> {
    match &cli.command {
        Command::Demo { dir, seed } => Box::pin(run_demo(dir, *seed)).await,
        Command::Keygen { pkcs11: true, .. } => keygen_held(&cli.config, cairn_jobs::signing::Held::Pkcs11),
        Command::Keygen { aws_kms: true, .. } => keygen_held(&cli.config, cairn_jobs::signing::Held::AwsKms),
        Command::Keygen { key, public_key, .. } => keygen(key, public_key),
        Command::CheckBundle { file, pubkey } => check(file, pubkey),
        Command::Bench(BenchCommand::Verify { events, chains, dir, json }) => {
            tokio::task::block_in_place(|| cairn_bench::verify(*events, *chains, dir.as_deref(), json.as_deref()))
        }
        Command::Bench(BenchCommand::Bundle { files, size_kib, dir, json }) => {
            tokio::task::block_in_place(|| cairn_bench::bundle(*files, *size_kib, dir.as_deref(), json.as_deref()))
        }
        Command::Bench(BenchCommand::Ingest { events, runs, dir, json }) => {
            tokio::task::block_in_place(|| cairn_bench::ingest(*events, *runs, dir.as_deref(), json.as_deref()))
        }
        Command::Bench(BenchCommand::PrepareIngest { events, dir }) => cairn_bench::prepare_ingest(dir, *events),
        Command::Bench(BenchCommand::Nightly { events, dir, json }) => {
            tokio::task::block_in_place(|| cairn_bench::nightly(*events, dir.as_deref(), json.as_deref()))
        }
        Command::Bench(BenchCommand::PrepareNightly { events, dir }) => cairn_bench::prepare_nightly(dir, *events),
        Command::Bench(BenchCommand::Portal { pages, runs, dir, json }) => {
            tokio::task::block_in_place(|| cairn_bench::portal::portal(*pages, *runs, dir.as_deref(), json.as_deref()))
        }
        Command::Bench(BenchCommand::PrepareBundle { files, size, dir }) => {
            cairn_bench::prepare_bundle(dir, *files, *size).await
        }
        Command::Bench(BenchCommand::Prepare { events, chains, dir }) => {
            Box::pin(cairn_bench::prepare(dir, *events, *chains)).await
        }
        Command::Proof(proof) => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            let json = match proof {
                ProofCommand::Inclusion { key, run } => {
                    serde_json::to_string_pretty(&proofs::inclusion(&ws, key, run.as_deref()).await?)?
                }
                ProofCommand::Consistency { old, new } => {
                    serde_json::to_string_pretty(&proofs::consistency(&ws, old, new).await?)?
                }
            };
            println!("{json}");
            Ok(0)
        }
        Command::VerifyProof { file, pubkey } => {
            let text = std::fs::read_to_string(pubkey)
                .with_context(|| format!("cannot read public key {}", pubkey.display()))?;
            let public = PublicKey::parse(&text, &pubkey.display().to_string())?;
            let proof = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
            match cairn_verifier::proof::verify_file(&proof, &public) {
                Ok(summary) => {
                    println!("OK {summary}");
                    Ok(0)
                }
                Err(e) => {
                    println!("FAILED {}: {:#}", file.display(), anyhow::Error::from(e));
                    Ok(1)
                }
            }
        }
        Command::Controls(ControlsCommand::Check) => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            let checked = ws.controls()?;
            for p in &checked.problems {
                println!("{p}");
            }
            println!(
                "{} controls (built-in catalog and {} user file(s)); {} requirement(s) marked not applicable",
                checked.catalog.controls.len(),
                ws.config.control_catalogs.len(),
                checked.not_applicable.len()
            );
            for (framework, gaps) in &checked.gaps {
                let shown: Vec<&str> = gaps.iter().take(12).map(String::as_str).collect();
                let more = if gaps.len() > shown.len() {
                    format!(" and {} more", gaps.len() - shown.len())
                } else {
                    String::new()
                };
                println!(
                    "coverage gaps in {framework}: {} requirement(s) no control covers: {}{more}",
                    gaps.len(),
                    shown.join(", ")
                );
            }
            // The catalog files' populations, checked as `cairn population` reads them.
            let populations = match cairn_jobs::population::definitions(&ws, &checked) {
                Ok(all) => {
                    println!("{} population(s)", all.len());
                    0
                }
                Err(e) => {
                    println!("{e:#}");
                    1
                }
            };
            let problems = checked.problems.len() + populations;
            if problems == 0 {
                println!("catalog OK");
                Ok(0)
            } else {
                println!("{problems} problem(s)");
                Ok(2)
            }
        }
        Command::Trace { id, format } => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            let trace = cairn_jobs::trace::trace(&ws, id).await?;
            match format {
                OutputFormat::Text => print!("{}", cairn_jobs::trace::to_text(&trace)),
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&trace)?),
            }
            Ok(0)
        }
        Command::Run { job } => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            let Some(job) = ws.config.jobs.iter().find(|j| &j.name == job) else {
                let names: Vec<&str> = ws.config.jobs.iter().map(|j| j.name.as_str()).collect();
                anyhow::bail!(
                    "no [[job]] named {job:?} in {}; jobs: {}",
                    cli.config.display(),
                    if names.is_empty() { "none".to_string() } else { names.join(", ") }
                );
            };
            let outcome =
                Box::pin(runner::run_job(&ws, job, None, cli.metrics_file.as_deref(), runner::shutdown_signal())).await;
            print_outcome(&outcome);
            if outcome.exit_code == 2 {
                anyhow::bail!("job {}: {}", outcome.job, outcome.message);
            }
            Ok(outcome.exit_code)
        }
        Command::Schedule => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            if ws.config.jobs.is_empty() {
                anyhow::bail!("{} has no [[job]] to schedule", cli.config.display());
            }
            let last = runner::last_scheduled(&ws).await?;
            let metrics = cli.metrics_file.as_deref();
            // One signal stops both the loop and the run in progress.
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                runner::shutdown_signal().await;
                let _ = stop_tx.send(true);
            });
            let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
                let _ = rx.wait_for(|stop| *stop).await;
            };
            let ws_ref = &ws;
            let stop_for_runs = stop_rx.clone();
            let how = Box::pin(schedule::run_schedule(
                &ws.config.jobs,
                &schedule::SystemTimer,
                &last,
                |job, at| {
                    let rx = stop_for_runs.clone();
                    let job = job.clone();
                    async move {
                        let outcome = Box::pin(runner::run_job(ws_ref, &job, Some(at), metrics, stopped(rx))).await;
                        print_outcome(&outcome);
                    }
                },
                stopped(stop_rx),
            ))
            .await;
            match how {
                schedule::Stopped::Signal => {
                    for key in [cairn_evidence::lock::LOCK_KEY.to_string()]
                        .into_iter()
                        .chain(ws.config.jobs.iter().map(|j| cairn_evidence::lock::job_lock_key(&j.name)))
                    {
                        if let Err(e) = cairn_evidence::lock::WriterLock::release_if_ours(&ws.lake, &key).await {
                            tracing::warn!(lock = %key, error = %e, "cannot release the lock");
                        }
                    }
                    tracing::info!("scheduler stopped by a signal");
                    Ok(0)
                }
                schedule::Stopped::NothingScheduled => anyhow::bail!("no job has a future scheduled time"),
            }
        }
        Command::Jobs => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            if ws.config.jobs.is_empty() {
                println!("{} has no [[job]].", cli.config.display());
                return Ok(0);
            }
            let now = chrono::Utc::now();
            for job in &ws.config.jobs {
                let steps: Vec<&str> = job.steps.iter().map(|s| s.as_str()).collect();
                println!("{}", job.name);
                println!("  schedule  {} ({})", job.schedule_text, job.time_zone);
                println!("  steps     {}", steps.join(" → "));
                println!(
                    "  timeout   {} minutes; catch up after downtime: {}",
                    job.timeout.as_secs() / 60,
                    if job.catch_up { "yes" } else { "no" }
                );
                let next: Vec<String> =
                    schedule::upcoming(job, now, 3).into_iter().map(cairn_evidence::time::format_rfc3339).collect();
                println!("  next      {}", if next.is_empty() { "never".to_string() } else { next.join(", ") });
                match runner::last_outcome(&ws, &job.name).await? {
                    Some(o) => {
                        println!(
                            "  last      {} → {} exit {}: {}",
                            o.started_at, o.finished_at, o.exit_code, o.message
                        );
                    }
                    None => println!("  last      never ran"),
                }
                let key = cairn_evidence::lock::job_lock_key(&job.name);
                if let Some(holder) = cairn_evidence::lock::WriterLock::holder(&ws.lake, &key).await? {
                    println!(
                        "  running   held by {} since {} (expires {})",
                        holder.owner, holder.acquired_at, holder.expires_at
                    );
                }
            }
            Ok(0)
        }
        Command::Collect => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            let summary = pipeline::collect(&ws, &mut Clock::System).await?;
            print_collect(&summary);
            Ok(0)
        }
        Command::Verify { full, shard: Some((index, count)), .. } if !*full => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            let shard = pipeline::Shard { index: *index, count: *count };
            let pass = pipeline::verify_shard(&ws, &mut Clock::System, shard).await?;
            let key = pipeline::store_shard(&ws, shard, &pass).await?;
            println!(
                "shard {index}/{count} of run {}: verified {} events, checked {} objects, {} finding(s); stored as {key}",
                pass.base_run,
                pass.events,
                pass.objects_checked,
                pass.findings.len()
            );
            for f in &pass.findings {
                println!("  {f}");
            }
            Ok(u8::from(pass.findings.iter().any(|f| f.kind.is_break())))
        }
        Command::Verify { merge: true, format, .. } => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            let report = pipeline::merge_shards(&ws, &mut Clock::System).await?;
            print_verify(&report, *format)?;
            Ok(u8::from(report.has_open()))
        }
        Command::Verify { full, format, .. } => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            let report = pipeline::verify(&ws, &mut Clock::System, *full).await?;
            print_verify(&report, *format)?;
            Ok(u8::from(report.has_open()))
        }
        Command::Findings { all, format } => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            let standing = cairn_jobs::open::lake_standing(&ws.lake, &ws.public_key()?, chrono::Utc::now()).await?;
            let shown: Vec<&FindingStanding> =
                standing.iter().filter(|s| *all || !matches!(s.standing, Standing::Resolved { .. })).collect();
            if *format == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&shown)?);
            } else if shown.is_empty() {
                println!("no open or acknowledged findings");
            } else {
                for s in &shown {
                    println!("{}", standing_line(s));
                }
            }
            Ok(u8::from(standing.iter().any(FindingStanding::is_open)))
        }
        Command::RotateKey { to } => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            let next = Workspace::open(Config::load(to)?)?;
            let done = cairn_jobs::signing::rotate(&ws, &next, &mut Clock::System).await?;
            println!(
                "committed rotate run {}: key {} hands signing to key {}",
                done.run_id,
                done.from.key_id_hex(),
                done.to.key_id_hex()
            );
            println!("now make [signing] in {} name the new key (as {} does)", cli.config.display(), to.display());
            Ok(0)
        }
        Command::Ack { ids, by, reason, until } => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            let request =
                acknowledge::Request { ids: ids.clone(), by: by.clone(), reason: reason.clone(), until: *until };
            let report = acknowledge::acknowledge(&ws, &mut Clock::System, &request).await?;
            println!("committed acknowledge run {}", report.run_id);
            for s in &report.acknowledged {
                println!("{}", standing_line(s));
            }
            Ok(0)
        }
        Command::Erase { subject, by, reason } => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            let request =
                cairn_jobs::erasure::Request { subject: subject.clone(), by: by.clone(), reason: reason.clone() };
            let report = cairn_jobs::erasure::erase(&ws, &mut Clock::System, &request).await?;
            println!(
                "committed erase run {}: {} values of {} events erased ({} vault objects rewritten); the events' commitments stay",
                report.run_id, report.values, report.events, report.rewritten
            );
            Ok(0)
        }
        Command::Population { name: None, .. } => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            for d in cairn_jobs::population::definitions(&ws, &ws.controls()?)? {
                let origin = if d.defined_in == "built-in" { String::new() } else { format!(" [{}]", d.defined_in) };
                println!("{} (version {}): {}{origin}", d.name, d.version, d.title);
            }
            Ok(0)
        }
        Command::Population { name: Some(name), list: _, since, until, out, sample, seed } => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            let out = out.clone().unwrap_or_else(|| cairn_jobs::population::default_out(&ws).to_path_buf());
            let request = cairn_jobs::population::Request {
                name: name.clone(),
                since: since.clone(),
                until: until.clone(),
                out,
                sample: sample.zip(seed.clone()).map(|(n, s)| (n as usize, s)),
            };
            let packed = cairn_jobs::population::pack(&ws, &request).await?;
            println!(
                "population {} (version {}): {} rows, rows sha256 {}",
                packed.definition.name, packed.definition.version, packed.rows, packed.rows_sha256
            );
            if !packed.incomplete.is_empty() {
                println!("incomplete: a seq is missing in the period on {}", packed.incomplete.join(", "));
            }
            if sample.is_some() {
                println!("sample: {} rows drawn, each with its membership proof", packed.sampled);
            }
            println!(
                "pack: {} ({} bytes, sha256 {})",
                packed.bundle.path.display(),
                packed.bundle.size,
                packed.bundle.sha256
            );
            Ok(0)
        }
        Command::Export(ExportCommand::Oscal { out }) => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            for path in cairn_jobs::export::oscal(&ws, out).await? {
                println!("{}", path.display());
            }
            Ok(0)
        }
        Command::Render { out, audience } => {
            let mut ws = Workspace::open(Config::load(&cli.config)?)?;
            if let Some(a) = audience {
                ws.config.portal_audience = Audience::parse(a).context("--audience is internal or external")?;
            }
            let out = out.clone().unwrap_or_else(|| ws.config.portal_out.clone());
            let index = render(&ws, &out).await?;
            println!("portal: {}", index.display());
            Ok(0)
        }
        Command::Bundle {
            out,
            framework,
            control,
            all: _,
            since,
            until,
            sample,
            seed,
            oscal,
            population,
            audience,
        } => {
            let ws = Workspace::open(Config::load(&cli.config)?)?;
            let scope = match (framework, control) {
                (Some(f), _) => Scope::Framework(f.clone()),
                (_, Some(c)) => Scope::Control(c.clone()),
                _ => Scope::All,
            };
            let out = out.clone().unwrap_or_else(|| ws.config.bundles_out.clone());
            let request = Request {
                scope,
                since: since.clone(),
                until: until.clone(),
                out,
                sample: sample.map(|n| (n, *seed)),
                runs: None,
                oscal: *oscal,
                populations: population.clone(),
                audience: Audience::parse(audience).context("--audience is internal or external")?,
            };
            let info = bundling::bundle(&ws, &request).await?;
            println!("bundle: {} ({} bytes, sha256 {})", info.path.display(), info.size, info.sha256);
            Ok(0)
        }
    }
}

fn keygen(key_path: &Path, public_path: &Path) -> Result<u8> {
    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
    let key = SigningKey::from_bytes(&seed);
    if let Some(parent) = key_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    if public_path.exists() {
        anyhow::bail!("{} already exists; keys are never overwritten", public_path.display());
    }
    write_signing_key(key_path, &key)?;
    let public = PublicKey::of(&key);
    std::fs::write(public_path, public.to_minisign_file())
        .with_context(|| format!("cannot write {}", public_path.display()))?;
    println!("private key: {} (mode 0600)", key_path.display());
    println!("public key:  {} (minisign key id {})", public_path.display(), public.key_id_hex());
    Ok(0)
}

/// Makes or finds the key `[signing]` names in its token or KMS, and writes its public key.
fn keygen_held(config: &Path, held: cairn_jobs::signing::Held) -> Result<u8> {
    let done = cairn_jobs::signing::keygen_held(&Config::load(config)?, held)?;
    let how = match (held, done.made) {
        (_, true) => "made now, not extractable",
        (cairn_jobs::signing::Held::Pkcs11, false) => "already there",
        (cairn_jobs::signing::Held::AwsKms, false) => "kept by KMS",
    };
    println!("private key: {} ({how})", done.held);
    println!("public key:  {} (minisign key id {})", done.public_path.display(), done.public.key_id_hex());
    Ok(0)
}

fn check(file: &Path, pubkey: &Path) -> Result<u8> {
    let text =
        std::fs::read_to_string(pubkey).with_context(|| format!("cannot read public key {}", pubkey.display()))?;
    let public = PublicKey::parse(&text, &pubkey.display().to_string())?;
    match check_bundle(file, &public) {
        Ok(c) => {
            println!(
                "OK {}: signature by key {} verified; {} files match the signed manifest and SHA256SUMS; checkpoint and inclusion proofs verified (run {}, Merkle size {} root {})",
                file.display(),
                public.key_id_hex(),
                c.manifest.files.len(),
                c.manifest.run_id,
                c.manifest.merkle_size,
                c.manifest.merkle_root
            );
            Ok(0)
        }
        Err(BundleCheckError::Io { path, source }) => Err(anyhow::anyhow!("{}: {source}", path.display())),
        Err(e) => {
            println!("FAILED {e}");
            Ok(1)
        }
    }
}

fn print_outcome(outcome: &runner::RunOutcome) {
    println!("job {}: exit {}: {}", outcome.job, outcome.exit_code, outcome.message);
    for s in &outcome.steps {
        println!("  {:<9} {:>8.1}s  {}  {}", s.step, s.seconds, if s.ok { "ok    " } else { "FAILED" }, s.detail);
    }
}

fn print_collect(summary: &pipeline::CollectSummary) {
    println!("collected run {}", summary.run_id);
    if summary.removed_leftovers > 0 {
        println!("  removed {} objects left by an interrupted run", summary.removed_leftovers);
    }
    for s in &summary.sources {
        println!(
            "  {}: {} objects ({} with new data), {} records, {} {}, {} kept aside{}",
            s.name,
            s.objects,
            s.objects_with_new_data,
            s.records,
            s.events,
            if s.unit.is_empty() { "events" } else { s.unit },
            s.quarantined,
            if s.rewritten > 0 {
                format!(", {} source objects rewritten after collection", s.rewritten)
            } else {
                String::new()
            }
        );
    }
    for p in &summary.published {
        match &p.unreachable {
            None => println!("  published keys {}: {} keys, {} changes", p.name, p.keys, p.changes),
            Some(reason) => println!("  published keys {}: unreachable ({reason}); the run went on", p.name),
        }
    }
}

/// One line for a finding and where it stands.
fn standing_line(s: &FindingStanding) -> String {
    let f = &s.finding;
    let mut line = format!("  {} {}", s.id, f.kind);
    if let Some(c) = &f.chain {
        let _ = write!(line, " chain={c}");
    }
    if let Some(seq) = f.seq {
        let _ = write!(line, " seq={seq}");
    }
    if f.chain.is_none() {
        if let Some(o) = &f.object_key {
            let _ = write!(line, " object={o}");
        }
    }
    let _ = write!(line, ": {}", f.detail);
    match &s.standing {
        Standing::Open { lapsed: None } => line.push_str(" [open]"),
        Standing::Open { lapsed: Some(a) } => {
            let _ = write!(line, " [open: the acknowledgement by {} lapsed at {}]", a.by, a.until);
        }
        Standing::Acknowledged(a) => {
            let _ = write!(line, " [acknowledged by {} until {}: {}]", a.by, a.until, a.reason);
        }
        Standing::Resolved { closed_by_run } => {
            let _ = write!(line, " [resolved: closed by run {closed_by_run}]");
        }
    }
    line
}

fn print_verify(report: &VerifyReport, format: OutputFormat) -> Result<()> {
    if format == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&report.findings)?);
        return Ok(());
    }
    println!("verified {} events; re-hashed {} committed objects", report.events, report.objects_checked);
    if let Some(run) = &report.committed {
        println!("committed verify run {run}");
    }
    if report.findings.is_empty() {
        println!("no new findings: every hash, signature, link and manifest this pass checked verified");
    } else {
        println!("{} finding(s):", report.findings.len());
        for f in &report.findings {
            let mut line = format!("  {}", f.kind);
            if let Some(c) = &f.chain {
                let _ = write!(line, " chain={c}");
            }
            if let Some(s) = f.seq {
                let _ = write!(line, " seq={s}");
            }
            if let Some(o) = &f.object_key {
                let _ = write!(line, " object={o}");
            }
            if let Some(l) = f.line {
                let _ = write!(line, " line={l}");
            }
            println!("{line}: {}", f.detail);
        }
    }
    let open: Vec<&FindingStanding> = report.open().collect();
    let acknowledged = report.standing.iter().filter(|s| matches!(s.standing, Standing::Acknowledged(_))).count();
    if open.is_empty() {
        println!("no open findings ({acknowledged} acknowledged)");
    } else {
        println!(
            "{} open finding(s), not resolved or acknowledged ({acknowledged} acknowledged; `cairn ack ID` accepts one until a date):",
            open.len()
        );
        for s in open {
            println!("{}", standing_line(s));
        }
    }
    Ok(())
}

async fn run_demo(dir: &Path, seed: u64) -> Result<u8> {
    let planted = cairn_demo::generate(dir, seed)?;
    let config = Config::load(&dir.join("cairn.toml"))?;
    let ws = Workspace::open(config)?;
    let mut clock = Clock::fixed(cairn_demo::demo_start(), seed);
    let collected = pipeline::collect(&ws, &mut clock).await?;
    print_collect(&collected);
    let verified = pipeline::verify(&ws, &mut clock, false).await?;
    print_verify(&verified, OutputFormat::Text)?;
    let request = Request {
        scope: Scope::All,
        since: None,
        until: None,
        out: ws.config.bundles_out.clone(),
        sample: None,
        runs: None,
        oscal: true,
        populations: Vec::new(),
        audience: Audience::External,
    };
    let info = bundling::bundle(&ws, &request).await?;
    let index = render(&ws, &ws.config.portal_out.clone()).await?;
    println!();
    println!(
        "planted: event {} of {} dropped (Splunk); event {} of {} delivered twice, and event {} of {} stamped 70 minutes back, so archived under an earlier hour (Datadog)",
        planted.dropped.1,
        planted.dropped.0,
        planted.duplicated.1,
        planted.duplicated.0,
        planted.clock_back.1,
        planted.clock_back.0
    );
    println!(
        "         storage's release ships pkg:npm/left-pad@1.3.0 (outside the register, WTFPL); \
         identity's threat T-0002 is open, high and unmitigated; \
         the backup restore test (RET-05) is older than its 90 days;\n         \
         payments' critical DEMO-2026-0001 (libssl3), first reported by the scan of 1.3.0 on 2026-10-28, \
         is still open in 1.4.0, past its 15-day gate; identity's test `token refresh survives clock skew` \
         has been quarantined since 2026-10-30, past its 14 days"
    );
    println!("portal:  {}", index.display());
    println!("bundle:  {} ({} bytes)", info.path.display(), info.size);
    println!("check:   cairn check-bundle {} --pubkey {}", info.path.display(), ws.config.public_key.display());
    Ok(0)
}
