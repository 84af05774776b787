//! One run of a `[[job]]`: its steps in order under the job's lock, within its timeout, abandoned
//! cleanly on SIGTERM or SIGINT, with every step's duration and counts logged, the outcome
//! recorded in the store for `cairn jobs` and the next `cairn schedule`, and the metrics file
//! written.
//!
//! Abandoning is safe by construction: a run becomes visible only when its signed manifest is
//! written, in one put. Whatever an abandoned step wrote before that is removed by the next run.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, Result};
use bytes::Bytes;
use cairn_evidence::lock::{job_lock_key, WriterLock, LOCK_KEY};
use cairn_evidence::time::{format_rfc3339, parse_rfc3339};
use cairn_verifier::open::Standing;
use cairn_verifier::FindingKind;
use chrono::{DateTime, Utc};
use object_store::path::Path as ObjectPath;
use object_store::PutPayload;
use serde::{Deserialize, Serialize};

use crate::bundling::{self, Request};
use crate::metrics::{RunMetrics, StepMetrics};
use crate::pipeline::{self, Clock, Workspace};
use crate::schedule::{lock_ttl, Job, Step};

/// One step as it went.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StepOutcome {
    /// The step.
    pub step: String,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Whether it completed.
    pub ok: bool,
    /// What it did, or why it failed.
    pub detail: String,
}

/// What a run of a job did; stored as `jobs/<name>.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunOutcome {
    /// The job.
    pub job: String,
    /// The scheduled time it ran for, when started by the scheduler.
    pub scheduled_for: Option<String>,
    /// Start (RFC 3339).
    pub started_at: String,
    /// End (RFC 3339).
    pub finished_at: String,
    /// 0 verified, 1 evidence findings, 2 the job failed.
    pub exit_code: u8,
    /// One line for operators.
    pub message: String,
    /// Steps that ran.
    pub steps: Vec<StepOutcome>,
    /// Runs committed to the lake.
    pub run_ids: Vec<String>,
}

/// Key of a job's last outcome in the store.
pub fn state_key(job: &str) -> String {
    format!("jobs/{job}.json")
}

/// The last recorded outcome of a job, if any.
pub async fn last_outcome(ws: &Workspace, job: &str) -> Result<Option<RunOutcome>> {
    match ws.lake.get(&state_key(job)).await {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(cairn_evidence::lake::LakeError::Store { source: object_store::Error::NotFound { .. }, .. }) => Ok(None),
        Err(e) => Err(e).context("cannot read the job's last outcome"),
    }
}

/// The scheduled times the jobs last ran for, from their recorded outcomes.
pub async fn last_scheduled(ws: &Workspace) -> Result<BTreeMap<String, DateTime<Utc>>> {
    let mut out = BTreeMap::new();
    for job in &ws.config.jobs {
        if let Some(at) =
            last_outcome(ws, &job.name).await?.and_then(|o| o.scheduled_for).and_then(|t| parse_rfc3339(&t))
        {
            out.insert(job.name.clone(), at);
        }
    }
    Ok(out)
}

/// Counts gathered from the steps, for the metrics file.
#[derive(Default)]
struct Counts {
    events_collected: Option<u64>,
    quarantined_by_source: BTreeMap<String, u64>,
    run_ids: Vec<String>,
    findings: bool,
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::warn!("SIGTERM: abandoning the current step"),
                    _ = tokio::signal::ctrl_c() => tracing::warn!("SIGINT: abandoning the current step"),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops a run cleanly");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn run_step(ws: &Workspace, job: &Job, step: Step, counts: &mut Counts) -> Result<String> {
    match step {
        Step::Collect => {
            let summary = pipeline::collect(ws, &mut Clock::System).await?;
            let events: u64 = summary.sources.iter().filter(|s| s.unit.is_empty()).map(|s| s.events).sum();
            counts.events_collected = Some(events);
            for s in &summary.sources {
                counts.quarantined_by_source.insert(s.name.clone(), s.quarantined);
            }
            counts.run_ids.push(summary.run_id.clone());
            let quarantined: u64 = summary.sources.iter().map(|s| s.quarantined).sum();
            Ok(format!(
                "run {}: {events} events from {} sources, {quarantined} records kept aside, {} leftovers removed",
                summary.run_id,
                summary.sources.len(),
                summary.removed_leftovers
            ))
        }
        Step::Verify => {
            let report = pipeline::verify(ws, &mut Clock::System, false).await?;
            counts.findings = report.has_open();
            if let Some(run) = &report.committed {
                counts.run_ids.push(run.clone());
            }
            Ok(format!(
                "run {}: {} events verified, {} objects checked, {} new finding(s), {} open",
                report.committed.as_deref().unwrap_or("none"),
                report.events,
                report.objects_checked,
                report.findings.len(),
                report.open().count()
            ))
        }
        Step::Evaluate => {
            let status = lake_status(ws).await?;
            let by: Vec<String> = status.controls_by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
            Ok(format!("controls: {}", by.join(", ")))
        }
        Step::Render => {
            let index = crate::render::render(ws, &ws.config.portal_out.clone()).await?;
            Ok(format!("portal {}", index.display()))
        }
        Step::Bundle => {
            let runs =
                job.bundle_only_new.then(|| counts.run_ids.iter().cloned().collect::<std::collections::BTreeSet<_>>());
            if runs.as_ref().is_some_and(std::collections::BTreeSet::is_empty) {
                return Ok("nothing new to bundle: this run committed no evidence".into());
            }
            let request = Request {
                scope: job.bundle.clone(),
                since: None,
                until: None,
                out: ws.config.bundles_out.clone(),
                sample: None,
                runs,
                oscal: job.bundle_oscal,
                populations: job.bundle_populations.clone(),
                audience: job.bundle_audience,
            };
            let info = bundling::bundle(ws, &request).await?;
            let mut detail = format!("{} ({} bytes, sha256 {})", info.path.display(), info.size, info.sha256);
            if job.steps.contains(&Step::Render) {
                // The portal was rendered before this bundle existed: render again (only the
                // pages that list bundles change) so it offers the new one.
                crate::render::render(ws, &ws.config.portal_out.clone()).await?;
                detail.push_str("; linked from the portal");
            }
            Ok(detail)
        }
        Step::Publish => {
            let url = job.publish_url.as_deref().context("the publish step needs [job.publish] url")?;
            let report = crate::publish::publish(&ws.config.portal_out, url, &ws.config.dir).await?;
            Ok(format!(
                "{url}: {} files, {} uploaded ({} bytes), {} removed",
                report.files, report.uploaded, report.bytes, report.removed
            ))
        }
    }
}

/// The lake's state as the metrics report it.
pub struct LakeStatus {
    events_verified: u64,
    findings_by_kind: BTreeMap<String, u64>,
    chain_breaks: u64,
    signature_failures: u64,
    open_findings: u64,
    acknowledged_findings: u64,
    controls_by_status: BTreeMap<String, u64>,
}

async fn lake_status(ws: &Workspace) -> Result<LakeStatus> {
    let view = pipeline::read_view(ws).await?;
    let checked = ws.checked_controls()?;
    let evidence = cairn_renderer::evidence_summary(&view);
    let results = cairn_controls::evaluate(&checked.catalog, &evidence, view.as_of());
    let mut controls_by_status = BTreeMap::new();
    for r in &results {
        *controls_by_status.entry(r.status.as_str().to_string()).or_insert(0) += 1;
    }
    let signature =
        |k: FindingKind| matches!(k, FindingKind::BadSignature | FindingKind::UnknownKey | FindingKind::KeyNotValid);
    let (mut chain_breaks, mut signature_failures) = (0, 0);
    for (kind, n) in &evidence.findings_by_kind {
        match FindingKind::parse(kind) {
            Some(k) if signature(k) => signature_failures += n,
            Some(k) if k.is_chain_break() => chain_breaks += n,
            _ => {}
        }
    }
    // As of now, not of the latest run: an acknowledgement that lapsed since counts as open.
    let standing = view.standing_at(Utc::now());
    let acknowledged = standing.iter().filter(|s| matches!(s.standing, Standing::Acknowledged(_))).count();
    Ok(LakeStatus {
        open_findings: standing.iter().filter(|s| s.is_open()).count() as u64,
        acknowledged_findings: acknowledged as u64,
        events_verified: evidence.events_verified,
        findings_by_kind: evidence.findings_by_kind,
        chain_breaks,
        signature_failures,
        controls_by_status,
    })
}

/// Runs `job` once. Never fails: a failure is an outcome with exit code 2 and a message.
pub async fn run_job(
    ws: &Workspace,
    job: &Job,
    scheduled_for: Option<DateTime<Utc>>,
    metrics_file: Option<&Path>,
    shutdown: impl Future<Output = ()>,
) -> RunOutcome {
    let started = Utc::now();
    let clock = Instant::now();
    tracing::info!(job = %job.name, steps = ?job.steps.iter().map(|s| s.as_str()).collect::<Vec<_>>(), scheduled_for = ?scheduled_for.map(format_rfc3339), "job started");
    let mut outcome = RunOutcome {
        job: job.name.clone(),
        scheduled_for: scheduled_for.map(format_rfc3339),
        started_at: format_rfc3339(started),
        finished_at: String::new(),
        exit_code: 2,
        message: String::new(),
        steps: Vec::new(),
        run_ids: Vec::new(),
    };
    let mut counts = Counts::default();
    let lock_key = job_lock_key(&job.name);
    let lock = match WriterLock::acquire_key(&ws.lake, &lock_key, &job.name, started, lock_ttl(job)).await {
        Ok(lock) => Some(lock),
        Err(e @ cairn_evidence::lock::LockError::Held(_)) => {
            outcome.message = format!("job {} is already running: {e}", job.name);
            None
        }
        Err(e) => {
            outcome.message = format!("cannot take the lock of job {} in the store {}: {e}", job.name, ws.lake.url());
            None
        }
    };
    let mut status = None;
    let lock_refused = lock.is_none();
    if let Some(lock) = lock {
        let mut steps: Vec<StepOutcome> = Vec::new();
        let work = async {
            for &step in &job.steps {
                let t = Instant::now();
                tracing::info!(job = %job.name, step = step.as_str(), "step started");
                let result = run_step(ws, job, step, &mut counts).await;
                let seconds = t.elapsed().as_secs_f64();
                match result {
                    Ok(detail) => {
                        tracing::info!(job = %job.name, step = step.as_str(), seconds, detail = %detail, "step done");
                        steps.push(StepOutcome { step: step.as_str().into(), seconds, ok: true, detail });
                    }
                    Err(e) => {
                        let detail = format!("{e:#}");
                        tracing::error!(job = %job.name, step = step.as_str(), seconds, error = %detail, "step failed");
                        steps.push(StepOutcome {
                            step: step.as_str().into(),
                            seconds,
                            ok: false,
                            detail: detail.clone(),
                        });
                        return Err(format!("step {} failed (lake {}): {detail}", step.as_str(), ws.lake.url()));
                    }
                }
            }
            Ok(())
        };
        let result = tokio::select! {
            biased;
            () = shutdown => Err("stopped by a signal; the current step was abandoned and its uncommitted output will be removed by the next run".to_string()),
            r = tokio::time::timeout(job.timeout, work) => r.unwrap_or_else(|_| Err(format!(
                "timed out after {} minutes; the current step was abandoned and its uncommitted output will be removed by the next run",
                job.timeout.as_secs() / 60
            ))),
        };
        outcome.steps = steps;
        outcome.run_ids = std::mem::take(&mut counts.run_ids);
        match result {
            Ok(()) => {
                outcome.exit_code = u8::from(counts.findings);
                outcome.message = if counts.findings {
                    "completed; findings are open (`cairn findings` lists them)".into()
                } else {
                    "completed; all evidence verified".into()
                };
            }
            Err(message) => {
                outcome.exit_code = 2;
                outcome.message = message;
                // An abandoned step may not have reached its own release of the writer lock.
                if let Err(e) = WriterLock::release_if_ours(&ws.lake, LOCK_KEY).await {
                    tracing::warn!(lock = LOCK_KEY, error = %e, "cannot release the writer lock");
                }
            }
        }
        if let Err(e) = lock.release().await {
            tracing::warn!(error = %e, "cannot release the job lock");
        }
        let evaluated = job.steps.iter().any(|s| matches!(s, Step::Verify | Step::Evaluate));
        if evaluated && outcome.exit_code < 2 {
            match lake_status(ws).await {
                Ok(s) => status = Some(s),
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "cannot read the lake's status for the metrics"),
            }
        }
    }
    let finished = Utc::now();
    outcome.finished_at = format_rfc3339(finished);
    let seconds = clock.elapsed().as_secs_f64();
    if !lock_refused {
        // A refused run records nothing: the outcome in the store is the holder's to write.
        if let Err(e) = save_outcome(ws, &outcome).await {
            tracing::warn!(error = %format!("{e:#}"), "cannot record the job's outcome in the store");
        }
    }
    if let Some(path) = metrics_file {
        let m = RunMetrics {
            job: job.name.clone(),
            run_id: outcome.run_ids.last().cloned(),
            exit_code: outcome.exit_code,
            duration_seconds: seconds,
            finished_at: finished,
            steps: outcome
                .steps
                .iter()
                .map(|s| StepMetrics { name: s.step.clone(), seconds: s.seconds, ok: s.ok })
                .collect(),
            events_collected: counts.events_collected,
            events_verified: status.as_ref().map(|s| s.events_verified),
            findings_by_kind: status.as_ref().map(|s| s.findings_by_kind.clone()).unwrap_or_default(),
            chain_breaks: status.as_ref().map(|s| s.chain_breaks),
            signature_failures: status.as_ref().map(|s| s.signature_failures),
            open_findings: status.as_ref().map(|s| s.open_findings),
            acknowledged_findings: status.as_ref().map(|s| s.acknowledged_findings),
            controls_by_status: status.as_ref().map(|s| s.controls_by_status.clone()).unwrap_or_default(),
            quarantined_by_source: counts.quarantined_by_source.clone(),
        };
        if let Err(e) = crate::metrics::write_textfile(path, &m) {
            tracing::error!(error = %format!("{e:#}"), "cannot write the metrics file");
        }
    }
    tracing::info!(
        job = %job.name,
        exit_code = outcome.exit_code,
        seconds,
        runs = ?outcome.run_ids,
        message = %outcome.message,
        "job finished"
    );
    outcome
}

async fn save_outcome(ws: &Workspace, outcome: &RunOutcome) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(outcome)?;
    ws.lake
        .store()
        .put(&ObjectPath::from(state_key(&outcome.job).as_str()), PutPayload::from(Bytes::from(bytes)))
        .await
        .context("cannot write the job's outcome")?;
    Ok(())
}
