//! The pipeline stages over the lake: collect, verify, render, bundle.
//! Each stage reads committed objects and commits new ones; any stage can run alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use cairn_collector::{CollectRun, RowSink, SourceReport};
use cairn_evidence::classification::{Audience, Classification};
use cairn_evidence::keyring::Keyring;
use cairn_evidence::keys::{read_signing_key, PublicKey};
use cairn_evidence::lake::{Lake, LakeError, LakeState, RunOutcome, RunWriter};
use cairn_evidence::lock::WriterLock;
use cairn_evidence::manifest::{RunManifest, SimulatedObjects, Stage};
use cairn_evidence::signer::Signer;
use cairn_evidence::tables::{self, names, EventsBatch};
use cairn_evidence::time::run_id;
use cairn_renderer::LakeView;
use cairn_verifier::lake::{verify_manifests, verify_object};
use cairn_verifier::open::FindingStanding;
use cairn_verifier::{ChainVerifier, Finding, FindingKind, VerifyOptions};
use chrono::{DateTime, Duration, Utc};
use rand_chacha::rand_core::{RngCore as _, SeedableRng as _};
use rand_chacha::ChaCha20Rng;

use crate::config::{Config, SigningBackend};

/// Where run times and run ids come from: the system clock, or a fixed, seeded one (the demo,
/// so the same seed gives the same bytes).
pub enum Clock {
    /// Wall-clock time and random run-id suffixes.
    System,
    /// Starts at `at`, advances one minute per reading; suffixes from a seeded generator.
    Fixed {
        /// The next time to hand out.
        at: DateTime<Utc>,
        /// Suffix generator.
        rng: Box<ChaCha20Rng>,
    },
}

impl Clock {
    /// A fixed clock.
    pub fn fixed(at: DateTime<Utc>, seed: u64) -> Self {
        Self::Fixed { at, rng: Box::new(ChaCha20Rng::seed_from_u64(seed ^ 0x5eed_c10c)) }
    }

    /// The current time without advancing a fixed clock.
    pub fn now_peek(&self) -> DateTime<Utc> {
        match self {
            Self::System => Utc::now(),
            Self::Fixed { at, .. } => *at,
        }
    }

    /// The current time (whole seconds).
    pub fn now(&mut self) -> DateTime<Utc> {
        match self {
            Self::System => {
                let now = Utc::now();
                DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
            }
            Self::Fixed { at, .. } => {
                let t = *at;
                *at = t + Duration::minutes(1);
                t
            }
        }
    }

    /// A new run id at `at`.
    pub fn run_id(&mut self, at: DateTime<Utc>) -> String {
        let suffix = match self {
            Self::System => rand_core::OsRng.next_u32(),
            Self::Fixed { rng, .. } => rng.next_u32(),
        };
        run_id(at, suffix)
    }
}

/// The configuration and the lake it names.
pub struct Workspace {
    /// Validated configuration.
    pub config: Config,
    /// The lake.
    pub lake: Lake,
}

impl Workspace {
    /// The portal model of `view`: every control of `checked` evaluated, with the keyring joined
    /// with the published key documents, `public` as Cairn's key and `downloads` as the bundles
    /// offered. Render, bundle and the OSCAL export all build it here.
    pub fn portal_model(
        &self,
        view: &LakeView,
        checked: &cairn_controls::user::Checked,
        public: &PublicKey,
        downloads: &[cairn_renderer::model::DownloadView],
    ) -> Result<cairn_renderer::PortalModel> {
        let keyring = crate::trust::joined_keyring(self.keyring()?, &self.config, &view.artefacts.keys)?;
        Ok(cairn_renderer::portal_model(view, checked, public, &keyring, downloads))
    }

    /// Withholds from `view` what `audience` may not see: the artefact rows of tables and sources
    /// classified above its ceiling (`[privacy] tables`, `classification` of a `[[source]]`).
    pub fn withhold(&self, view: &mut LakeView, audience: Audience) {
        view.withhold(audience, |table, source| self.class_of(table, source));
    }

    /// The classification of a row of `table` from `source`: the higher of the two.
    pub fn class_of(&self, table: &str, source: &str) -> Classification {
        let config = &self.config;
        let table = config.table_classes.get(table).copied().unwrap_or_default();
        table.max(config.source_classes.get(source).copied().unwrap_or_default())
    }

    /// Opens the lake named by the configuration.
    pub fn open(config: Config) -> Result<Self> {
        let lake = Lake::open(&config.store_url, &config.dir).context("cannot open the store")?;
        Ok(Self { config, lake })
    }

    /// Cairn's signing key where it is held, which must match the configured public key.
    pub fn signer(&self) -> Result<Box<dyn Signer>> {
        let signer: Box<dyn Signer> = match &self.config.signing {
            SigningBackend::File(path) => {
                Box::new(read_signing_key(path).context("cannot load Cairn's signing key ([signing] key)")?)
            }
            SigningBackend::Pkcs11(token) => Box::new(
                cairn_signer::Pkcs11Signer::open(token)
                    .context("cannot use Cairn's signing key ([signing] backend = \"pkcs11\")")?,
            ),
            SigningBackend::AwsKms(key) => Box::new(
                cairn_signer::AwsKmsSigner::open(key)
                    .context("cannot use Cairn's signing key ([signing] backend = \"aws-kms\")")?,
            ),
        };
        let public = self.public_key()?;
        if signer.verifying_key() != public.key {
            bail!(
                "{} does not belong to the public key {} ([signing] public_key)",
                self.config.signing.describe(),
                self.config.public_key.display()
            );
        }
        Ok(signer)
    }

    /// Cairn's public key.
    pub fn public_key(&self) -> Result<PublicKey> {
        let path = &self.config.public_key;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read Cairn's public key {}", path.display()))?;
        Ok(PublicKey::parse(&text, &path.display().to_string())?)
    }

    /// The built-in control catalog with the configured user catalogs applied, checked.
    pub fn controls(&self) -> Result<cairn_controls::user::Checked> {
        let mut files = Vec::new();
        for path in &self.config.control_catalogs {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read control catalog {}", path.display()))?;
            files.push((path.display().to_string(), text));
        }
        let frameworks = cairn_controls::frameworks::builtin()?;
        let kinds: Vec<&str> = FindingKind::ALL.iter().map(|k| k.as_str()).collect();
        Ok(cairn_controls::user::check(cairn_controls::BUILTIN_CATALOG, &files, &frameworks, &kinds))
    }

    /// The checked control catalog, refusing one with problems.
    pub fn checked_controls(&self) -> Result<cairn_controls::user::Checked> {
        let checked = self.controls()?;
        if !checked.problems.is_empty() {
            let list: Vec<String> = checked.problems.iter().map(ToString::to_string).collect();
            bail!(
                "the control catalog has {} problem(s); `cairn controls check` lists them:\n{}",
                list.len(),
                list.join("\n")
            );
        }
        Ok(checked)
    }

    /// The trusted source keys.
    pub fn keyring(&self) -> Result<Keyring> {
        Ok(Keyring::load(&self.config.keyring)?)
    }
}

/// A run id that sorts after every committed one: manifests are read in run-id order, so two
/// runs in the same second (or a clock that stepped back) must still sort in commit order.
pub(crate) fn next_run_id(clock: &mut Clock, state: &LakeState, started: DateTime<Utc>) -> String {
    let latest = state
        .latest()
        .and_then(|m| chrono::NaiveDateTime::parse_from_str(m.run_id.get(..16)?, "%Y%m%dT%H%M%SZ").ok())
        .map(|t| t.and_utc());
    let at = match latest {
        Some(t) if started <= t => t + Duration::seconds(1),
        _ => started,
    };
    clock.run_id(at)
}

/// Rows per Parquet object; `CAIRN_ROWS_PER_OBJECT` lowers it (smaller objects, more of them).
fn rows_per_object() -> usize {
    std::env::var("CAIRN_ROWS_PER_OBJECT").ok().and_then(|v| v.parse().ok()).unwrap_or(cairn_collector::ROWS_PER_OBJECT)
}

/// What a collect run did.
#[derive(Debug)]
pub struct CollectSummary {
    /// The committed run.
    pub run_id: String,
    /// Per source.
    pub sources: Vec<SourceReport>,
    /// Leftover objects of interrupted runs removed first.
    pub removed_leftovers: usize,
    /// Per published key document.
    pub published: Vec<cairn_collector::published::PublishedReport>,
}

/// How long a writer lock holds before another run may take it over.
const LOCK_TTL_HOURS: i64 = 6;

/// Runs `work` holding the lake's writer lock, and releases it whatever the outcome.
pub(crate) async fn locked<T>(
    ws: &Workspace,
    job: &str,
    now: DateTime<Utc>,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let lock = WriterLock::acquire(&ws.lake, job, now, Duration::hours(LOCK_TTL_HOURS))
        .await
        .with_context(|| format!("cannot take the writer lock in the store {}", ws.lake.url()))?;
    let result = work.await;
    let released = lock.release().await;
    let value = result?;
    released.context("cannot release the writer lock")?;
    Ok(value)
}

/// Collects every source and commits one run, holding the writer lock.
pub async fn collect(ws: &Workspace, clock: &mut Clock) -> Result<CollectSummary> {
    let key = ws.signer()?;
    let now = clock.now_peek();
    locked(ws, "collect", now, collect_locked(ws, clock, key)).await
}

async fn collect_locked(ws: &Workspace, clock: &mut Clock, key: Box<dyn Signer>) -> Result<CollectSummary> {
    let public = PublicKey::from_verifying(key.verifying_key());
    let state = ws
        .lake
        .state(&public)
        .await
        .context("the lake's committed manifests do not verify, so nothing was collected on top of them")?;
    let removed = ws.lake.remove_uncommitted(&state).await.context("cannot remove leftovers of an interrupted run")?;
    if !removed.is_empty() {
        tracing::warn!(objects = removed.len(), "removed objects left by a run that did not commit");
    }
    let started = clock.now();
    let run_id = next_run_id(clock, &state, started);
    let mut writer = RunWriter::new(&ws.lake, &state, &run_id, started)?;
    let mut sink = RowSink::new(&started.format("%Y-%m-%d").to_string()).with_rows_per_object(rows_per_object());
    let mut cursors = state.cursors();
    let mut reports = Vec::new();
    let progress = crate::progress::Progress::start("collect", ws.config.sources.len() as u64);
    for source in &ws.config.sources {
        let run = CollectRun {
            run_id: &run_id,
            collected_at: started,
            base: &ws.config.dir,
            memory: None,
            actor: cairn_evidence::tables::collector_actor(source.type_name()),
            simulated: source.simulated(),
        };
        progress.message(source.name());
        tracing::info!(source = source.name(), r#type = source.type_name(), "collecting");
        let source_cursors = cursors.entry(source.name().to_string()).or_default();
        let report = source.collect(&run, &mut writer, &mut sink, source_cursors).await?;
        tracing::info!(
            source = source.name(),
            objects = report.objects,
            records = report.records,
            events = report.events,
            quarantined = report.quarantined,
            "collected"
        );
        reports.push(report);
        progress.inc();
    }
    let mut published = Vec::new();
    if !ws.config.published.is_empty() {
        let committed: Vec<RunManifest> = state.manifests.iter().map(|(_, m)| m.clone()).collect();
        let rows = crate::trust::key_rows(&ws.lake, &committed).await?;
        let histories = cairn_evidence::published::histories(&rows);
        let run = CollectRun {
            run_id: &run_id,
            collected_at: started,
            base: &ws.config.dir,
            memory: None,
            actor: cairn_evidence::tables::collector_actor("published-keys"),
            simulated: false,
        };
        published =
            cairn_collector::published::collect(&ws.config.published, &histories, &run, &mut writer, &mut sink).await?;
    }
    sink.finish(&mut writer).await?;
    let mut stats = BTreeMap::new();
    for p in &published {
        stats.insert(format!("published.{}.keys", p.name), p.keys as u64);
        stats.insert(format!("published.{}.unreachable", p.name), u64::from(p.unreachable.is_some()));
    }
    for r in &reports {
        stats.insert(format!("source.{}.records", r.name), r.records);
        stats.insert(format!("source.{}.events", r.name), r.events);
        stats.insert(format!("source.{}.quarantined", r.name), r.quarantined);
        stats.insert(format!("source.{}.rewritten", r.name), r.rewritten);
    }
    stats.insert("events".into(), reports.iter().map(|r| r.events).sum());
    stats.insert("quarantined".into(), reports.iter().map(|r| r.quarantined).sum());
    let outcome = RunOutcome {
        cursors,
        chain_heads: state.chain_heads(),
        verified_through: state.latest().and_then(|m| m.verified_through.clone()),
        stats,
        rotation: None,
        erasure: None,
    };
    let committed_at = clock.now();
    writer.commit(Stage::Collect, &state, outcome, key.as_ref(), committed_at).await?;
    Ok(CollectSummary { run_id, sources: reports, removed_leftovers: removed.len(), published })
}

/// What a verification found.
#[derive(Debug)]
pub struct VerifyReport {
    /// Every finding, as committed (or as it would be, for `--full`).
    pub findings: Vec<Finding>,
    /// Events verified in this pass.
    pub events: u64,
    /// Objects whose digest was re-checked.
    pub objects_checked: u64,
    /// The verify run committed, if any.
    pub committed: Option<String>,
    /// A shard pass's own result (not committed).
    pub shard: Option<ShardPass>,
    /// Every break that counts, with where it stands: after a committed pass, every break the
    /// lake records; after `--full` or on a lake whose manifests fail, those this pass found.
    /// Acknowledgements in the lake apply either way.
    pub standing: Vec<FindingStanding>,
}

impl VerifyReport {
    /// A report that commits nothing (`--full`, or a lake whose manifests fail); its standing
    /// is filled in by `with_standing`.
    fn uncommitted(findings: Vec<Finding>, events: u64, objects_checked: u64) -> Self {
        Self { findings, events, objects_checked, committed: None, shard: None, standing: Vec::new() }
    }

    /// True when a finding breaks the evidence (duplicates alone do not).
    pub fn has_breaks(&self) -> bool {
        self.findings.iter().any(|f| f.kind.is_break())
    }

    /// The breaks still open: neither resolved nor acknowledged.
    pub fn open(&self) -> impl Iterator<Item = &FindingStanding> {
        self.standing.iter().filter(|s| s.is_open())
    }

    /// Whether any break is still open: what the exit code and the job's outcome follow.
    pub fn has_open(&self) -> bool {
        self.open().next().is_some()
    }
}

/// Fills `report.standing`: from the whole lake when the pass committed, else from the pass's
/// own findings, with the lake's acknowledgements when its manifests verify.
async fn with_standing(
    ws: &Workspace,
    mut report: VerifyReport,
    intact: Option<&[RunManifest]>,
    now: DateTime<Utc>,
) -> Result<VerifyReport> {
    report.standing = match (&report.committed, intact) {
        (Some(_), _) => crate::open::lake_standing(&ws.lake, &ws.public_key()?, now).await?,
        (None, Some(manifests)) => {
            let acks = crate::open::acknowledgements(&ws.lake, manifests).await?;
            cairn_verifier::open::standing(&report.findings, &acks, now)
        }
        (None, None) => cairn_verifier::open::standing(&report.findings, &[], now),
    };
    Ok(report)
}

fn recorded(f: Finding, run_id: &str, at: DateTime<Utc>, simulated: &SimulatedObjects) -> Finding {
    let about_simulated = simulated.about(f.object_key.as_deref());
    f.recorded(run_id, at, about_simulated)
}

/// Verifies the lake: manifests, object digests and chains. Incremental from the last verified
/// chain heads unless `full`. An incremental pass on an intact lake commits a verify run with the
/// findings and the new heads; `full` and a lake whose manifests fail only report.
pub async fn verify(ws: &Workspace, clock: &mut Clock, full: bool) -> Result<VerifyReport> {
    verify_pass(ws, clock, full, None).await
}

/// One shard of a verification: `index` of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

impl Shard {
    /// Whether a chain or lake object belongs to this shard.
    pub fn owns(self, id: &str) -> bool {
        cairn_evidence::digest::shard_of(id, self.count) == self.index
    }
}

/// Events of one batch that belong to a shard's chains.
struct ShardBatch {
    rows: EventsBatch,
    shard: Shard,
}

impl tables::EventBatch for ShardBatch {
    fn refs(&self) -> Vec<tables::EventRef<'_>> {
        self.rows.refs().into_iter().filter(|r| self.shard.owns(r.chain)).collect()
    }
}

/// What one shard found: its chains and its objects, from the lake as of `base_run`.
#[derive(Debug)]
pub struct ShardPass {
    /// The latest committed run the shard verified from.
    pub base_run: String,
    /// Findings about its chains and objects.
    pub findings: Vec<Finding>,
    /// Its chains' new heads.
    pub heads: BTreeMap<String, cairn_evidence::manifest::ChainHead>,
    /// Events it verified.
    pub events: u64,
    /// Objects whose digest it checked.
    pub objects_checked: u64,
    /// The last collect run whose events are now verified.
    pub verified_through: Option<String>,
}

/// Verifies only the chains and lake objects of `shard` (read-only: the caller stores the
/// result, and `verify --merge` commits the union).
pub async fn verify_shard(ws: &Workspace, clock: &mut Clock, shard: Shard) -> Result<ShardPass> {
    let stored = ws.lake.stored_manifests().await.context("cannot list the lake's manifests")?;
    let base_run = stored.last().map(|s| s.run_id.clone()).context("the lake has no committed run to verify")?;
    let report = verify_pass(ws, clock, false, Some(shard)).await?;
    let pass = report.shard.context("a shard pass returns its result")?;
    Ok(ShardPass { base_run, ..pass })
}

/// A shard's result as stored under `shards/<base run>/<index>-of-<count>.json`.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredShard {
    format: String,
    base_run: String,
    index: u32,
    count: u32,
    findings: Vec<Finding>,
    heads: BTreeMap<String, cairn_evidence::manifest::ChainHead>,
    events: u64,
    objects_checked: u64,
    verified_through: Option<String>,
}

const SHARD_FORMAT: &str = "cairn-verify-shard/1";

/// Stores a shard's result where `verify --merge` finds it; returns its key.
pub async fn store_shard(ws: &Workspace, shard: Shard, pass: &ShardPass) -> Result<String> {
    let stored = StoredShard {
        format: SHARD_FORMAT.into(),
        base_run: pass.base_run.clone(),
        index: shard.index,
        count: shard.count,
        findings: pass.findings.clone(),
        heads: pass.heads.clone(),
        events: pass.events,
        objects_checked: pass.objects_checked,
        verified_through: pass.verified_through.clone(),
    };
    let key = format!("shards/{}/{}-of-{}.json", pass.base_run, shard.index, shard.count);
    let bytes = bytes::Bytes::from(serde_json::to_vec_pretty(&stored)?);
    ws.lake
        .store()
        .put(&object_store::path::Path::from(key.as_str()), bytes.into())
        .await
        .with_context(|| format!("cannot store the shard's result {key}"))?;
    Ok(key)
}

/// Combines every shard's result for the latest run into one committed verify run: the union of
/// their findings and chain heads, plus what only the whole lake can check (manifests, supply
/// chain). Refuses when a shard is missing or ran against another state of the lake.
pub async fn merge_shards(ws: &Workspace, clock: &mut Clock) -> Result<VerifyReport> {
    let public = ws.public_key()?;
    let keyring_file = ws.keyring()?;
    let stored = ws.lake.stored_manifests().await.context("cannot list the lake's manifests")?;
    let (lake_findings, manifests) = verify_manifests(&stored, &public);
    let key_rows = crate::trust::key_rows(&ws.lake, &manifests).await?;
    let keyring = crate::trust::joined_keyring(keyring_file.clone(), &ws.config, &key_rows)?;
    let base = stored.last().map(|s| s.run_id.clone()).context("the lake has no committed run")?;
    let prefix = format!("shards/{base}");
    let keys = ws.lake.list(&prefix).await?;
    if keys.is_empty() {
        bail!("no shard results for run {base}: run `cairn verify --shard I/N` for every I first");
    }
    let mut shards: Vec<StoredShard> = Vec::new();
    for (key, _) in &keys {
        let bytes = ws.lake.get(key).await?;
        let shard: StoredShard =
            serde_json::from_slice(&bytes).with_context(|| format!("{key} is not a shard result"))?;
        if shard.format != SHARD_FORMAT || shard.base_run != base {
            bail!("{key} is not a shard result for run {base}");
        }
        shards.push(shard);
    }
    let count = shards[0].count;
    let mut have: Vec<u32> = shards.iter().filter(|s| s.count == count).map(|s| s.index).collect();
    have.sort_unstable();
    have.dedup();
    if shards.iter().any(|s| s.count != count) || have != (0..count).collect::<Vec<_>>() {
        let missing: Vec<String> = (0..count).filter(|i| !have.contains(i)).map(|i| format!("{i}/{count}")).collect();
        bail!("the shard results for run {base} are incomplete: missing {}", missing.join(", "));
    }
    let mut findings = lake_findings;
    let lake_intact = findings.is_empty();
    let latest = manifests.last();
    let mut heads = latest.map(|m| m.chain_heads.clone()).unwrap_or_default();
    let (mut events, mut objects_checked) = (0, 0);
    for s in &shards {
        findings.extend(s.findings.iter().cloned());
        heads.extend(s.heads.clone());
        events += s.events;
        objects_checked += s.objects_checked;
    }
    let verified_through = shards[0].verified_through.clone();
    let previous = latest.and_then(|m| m.verified_through.clone());
    let mut new_runs = std::collections::BTreeSet::new();
    let mut after = previous.is_none();
    for m in &manifests {
        if after && m.stage == Stage::Collect {
            new_runs.insert(m.run_id.clone());
        }
        if previous.as_deref() == Some(m.run_id.as_str()) {
            after = true;
        }
    }
    let started = clock.now();
    let supply = if lake_intact {
        crate::supply::check(&ws.lake, &ws.config, &manifests, &new_runs, &keyring, started).await?
    } else {
        cairn_verifier::supply::SupplyOutcome::default()
    };
    findings.extend(supply.findings);
    if lake_intact {
        // Shards do not report which kids their events used; the keyring names the dependents.
        let no_events = BTreeMap::new();
        findings.extend(crate::trust::check(&ws.config, &key_rows, &new_runs, &keyring_file, &no_events, started));
    }
    if !lake_intact {
        let simulated = SimulatedObjects::of(&manifests);
        let rows = findings.into_iter().map(|f| recorded(f, "", started, &simulated)).collect();
        let report = VerifyReport::uncommitted(rows, events, objects_checked);
        return with_standing(ws, report, None, started).await;
    }
    let key = ws.signer()?;
    let now = clock.now_peek();
    let report = locked(
        ws,
        "verify",
        now,
        commit_verification(
            ws,
            clock,
            key,
            started,
            (findings, supply.derived),
            heads,
            events,
            objects_checked,
            verified_through,
        ),
    )
    .await?;
    for (key, _) in &keys {
        if let Err(e) = ws.lake.store().delete(&object_store::path::Path::from(key.as_str())).await {
            tracing::warn!(key = %key, error = %e, "cannot remove a merged shard result");
        }
    }
    with_standing(ws, report, None, clock.now_peek()).await
}

async fn verify_pass(ws: &Workspace, clock: &mut Clock, full: bool, shard: Option<Shard>) -> Result<VerifyReport> {
    let public = ws.public_key()?;
    let keyring_file = ws.keyring()?;
    let stored = ws.lake.stored_manifests().await.context("cannot list the lake's manifests")?;
    let (lake_findings, manifests) = verify_manifests(&stored, &public);
    let lake_intact = lake_findings.is_empty();
    let key_rows = if lake_intact { crate::trust::key_rows(&ws.lake, &manifests).await? } else { Vec::new() };
    let keyring = crate::trust::joined_keyring(keyring_file.clone(), &ws.config, &key_rows)?;
    let supply_keyring = keyring.clone();
    let mut findings = lake_findings;
    if shard.is_some() && !lake_intact {
        bail!("the lake's manifests do not verify; run `cairn verify` unsharded to see the findings");
    }
    let latest = manifests.last();
    let mut heads = if full { BTreeMap::new() } else { latest.map(|m| m.chain_heads.clone()).unwrap_or_default() };
    if let Some(shard) = shard {
        // The manifests are checked once, by the merge; a shard checks its own chains only.
        heads.retain(|chain, _| shard.owns(chain));
        findings.clear();
    }
    let verified_through = if full { None } else { latest.and_then(|m| m.verified_through.clone()) };
    let last_verify = if full { None } else { manifests.iter().rposition(|m| m.stage == Stage::Verify) };
    let options = VerifyOptions {
        max_clock_skew: Duration::seconds(i64::from(ws.config.max_clock_skew_seconds)),
        ..VerifyOptions::default()
    };
    // Chains are verified on their own thread, fed batches through a small bounded channel, so
    // reading and decoding the next objects overlaps with checking and placing this one.
    let (batches, received) = std::sync::mpsc::sync_channel::<(String, Box<dyn tables::EventBatch>)>(2);
    let chain_thread = std::thread::Builder::new()
        .name("cairn-chains".into())
        .spawn(move || {
            let mut verifier = ChainVerifier::new(&keyring, options, &heads);
            for (key, rows) in received {
                verifier.push_batch(key, rows);
            }
            verifier.flush();
            let events = verifier.events();
            let (findings, heads) = verifier.finish();
            (events, findings, heads)
        })
        .context("cannot start the chain verification thread")?;
    let mut events_are_new = verified_through.is_none();
    let mut last_collect = verified_through.clone();
    let mut objects_checked = 0u64;
    let mut new_runs = std::collections::BTreeSet::new();
    // Which chains' events name each kid, for published keys removed while still in use.
    let track_kids = !ws.config.published.is_empty();
    let mut kid_chains: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    // Decision Cards events may name; events are checked against every card in the lake.
    let cards: Vec<cairn_evidence::artefacts::PolicyRow> =
        if lake_intact { crate::supply::read_table(&ws.lake, &manifests).await? } else { Vec::new() };
    let live_vault = cairn_evidence::vault::live(&manifests);
    let progress = crate::progress::Progress::start("verify", manifests.iter().map(|m| m.objects.len() as u64).sum());
    for (i, m) in manifests.iter().enumerate() {
        if events_are_new && m.stage == Stage::Collect {
            new_runs.insert(m.run_id.clone());
        }
        // The last verification checked every object before it, but not the ones it wrote.
        let check_objects = last_verify.is_none_or(|v| i >= v);
        for entry in &m.objects {
            progress.inc();
            let wants_events = events_are_new && m.stage == Stage::Collect && entry.table == names::EVENTS;
            // Each shard checks the digests of its own objects, and reads every events object
            // for its chains' rows.
            let check_this = check_objects && shard.is_none_or(|s| s.owns(&entry.key));
            if !check_this && !wants_events {
                continue;
            }
            let bytes = match ws.lake.get(&entry.key).await {
                Ok(b) => b,
                Err(LakeError::Store { source: object_store::Error::NotFound { .. }, .. }) => {
                    findings.push(Finding::object(
                        FindingKind::ObjectDigestMismatch,
                        &entry.key,
                        "the committed object is missing".into(),
                    ));
                    continue;
                }
                Err(e) => return Err(e).context("cannot read a committed object"),
            };
            if check_this {
                objects_checked += 1;
                if let Some(f) = verify_object(entry, &bytes) {
                    findings.push(f);
                    continue;
                }
            }
            if wants_events {
                for batch in tables::from_parquet(bytes).with_context(|| format!("cannot decode {}", entry.key))? {
                    let batch = batch.with_context(|| format!("cannot decode {}", entry.key))?;
                    let rows =
                        EventsBatch::try_new(batch).with_context(|| format!("{} is not an events table", entry.key))?;
                    for r in tables::EventBatch::refs(&rows) {
                        if shard.is_none_or(|s| s.owns(r.chain)) {
                            findings.extend(cairn_verifier::policy::check_event_policy(&r, &entry.key, &cards));
                            if track_kids && !kid_chains.get(r.kid).is_some_and(|c| c.contains(r.chain)) {
                                kid_chains.entry(r.kid.to_string()).or_default().insert(r.chain.to_string());
                            }
                        }
                    }
                    let rows: Box<dyn tables::EventBatch> = match shard {
                        Some(shard) => Box::new(ShardBatch { rows, shard }),
                        None => Box::new(rows),
                    };
                    let sent = tokio::task::block_in_place(|| batches.send((entry.key.clone(), rows)));
                    if sent.is_err() {
                        bail!("the chain verification thread stopped");
                    }
                }
                tracing::info!(object = %entry.key, rows = entry.rows, "verifying");
            }
        }
        // The run's disclosure vault objects that still hold live rows: their digests too (an
        // erasure replaces objects; the ones it replaced are gone by design).
        if check_objects && shard.is_none() {
            for entry in m.vault.iter().filter(|e| live_vault.contains_key(&e.key)) {
                objects_checked += 1;
                match ws.lake.get(&entry.key).await {
                    Ok(bytes) => findings.extend(verify_object(entry, &bytes)),
                    Err(LakeError::Store { source: object_store::Error::NotFound { .. }, .. }) => {
                        findings.push(Finding::object(
                            FindingKind::ObjectDigestMismatch,
                            &entry.key,
                            "the committed vault object is missing".into(),
                        ));
                    }
                    Err(e) => return Err(e).context("cannot read a committed vault object"),
                }
            }
        }
        if m.stage == Stage::Collect && events_are_new {
            last_collect = Some(m.run_id.clone());
        }
        if verified_through.as_deref() == Some(m.run_id.as_str()) {
            events_are_new = true;
        }
    }
    drop(batches);
    let (events, chain_findings, new_heads) =
        chain_thread.join().map_err(|_| anyhow::anyhow!("the chain verification thread panicked"))?;
    findings.extend(chain_findings);
    if let Some(_shard) = shard {
        let pass = ShardPass {
            base_run: String::new(),
            findings,
            heads: new_heads,
            events,
            objects_checked,
            verified_through: last_collect,
        };
        return Ok(VerifyReport {
            findings: Vec::new(),
            events,
            objects_checked,
            committed: None,
            shard: Some(pass),
            standing: Vec::new(),
        });
    }
    let started = clock.now();
    let supply = if lake_intact {
        crate::supply::check(&ws.lake, &ws.config, &manifests, &new_runs, &supply_keyring, started).await?
    } else {
        cairn_verifier::supply::SupplyOutcome::default()
    };
    findings.extend(supply.findings);
    if lake_intact {
        findings.extend(crate::trust::check(&ws.config, &key_rows, &new_runs, &keyring_file, &kid_chains, started));
    }
    if full || !lake_intact {
        let simulated = SimulatedObjects::of(&manifests);
        let rows = findings.into_iter().map(|f| recorded(f, "", started, &simulated)).collect();
        let report = VerifyReport::uncommitted(rows, events, objects_checked);
        let intact = lake_intact.then_some(manifests.as_slice());
        return with_standing(ws, report, intact, started).await;
    }
    let key = ws.signer()?;
    let now = clock.now_peek();
    let report = locked(
        ws,
        "verify",
        now,
        commit_verification(
            ws,
            clock,
            key,
            started,
            (findings, supply.derived),
            new_heads,
            events,
            objects_checked,
            last_collect,
        ),
    )
    .await?;
    with_standing(ws, report, None, clock.now_peek()).await
}

/// Writes rows the verify run derived (SBOM diffs, vulnerability changes), if there are any.
async fn write_derived<T: cairn_evidence::artefacts::LakeTable>(
    writer: &mut RunWriter<'_>,
    rows: &[T],
    started: DateTime<Utc>,
) -> Result<()> {
    if !rows.is_empty() {
        let batch = T::to_batch(rows).with_context(|| format!("cannot build the {} table", T::TABLE))?;
        writer.write_table(T::TABLE, &started.format("%Y-%m-%d").to_string(), &batch).await?;
    }
    Ok(())
}

/// Commits a verify run: the findings table and the new chain heads.
#[expect(clippy::too_many_arguments, reason = "the results of one verification pass, committed together")]
async fn commit_verification(
    ws: &Workspace,
    clock: &mut Clock,
    key: Box<dyn Signer>,
    started: DateTime<Utc>,
    (findings, derived): (Vec<Finding>, cairn_verifier::supply::Derived),
    new_heads: BTreeMap<String, cairn_evidence::manifest::ChainHead>,
    events: u64,
    objects_checked: u64,
    last_collect: Option<String>,
) -> Result<VerifyReport> {
    let state = ws.lake.state(&PublicKey::from_verifying(key.verifying_key())).await?;
    ws.lake.remove_uncommitted(&state).await?;
    let run_id = next_run_id(clock, &state, started);
    let simulated = SimulatedObjects::of(state.manifests.iter().map(|(_, m)| m));
    let rows: Vec<Finding> = findings.into_iter().map(|f| recorded(f, &run_id, started, &simulated)).collect();
    let mut writer = RunWriter::new(&ws.lake, &state, &run_id, started)?;
    if !rows.is_empty() {
        let batch = tables::findings_batch(&rows).context("cannot build the findings table")?;
        writer.write_table(names::FINDINGS, &started.format("%Y-%m-%d").to_string(), &batch).await?;
    }
    write_derived(&mut writer, &derived.diffs, started).await?;
    write_derived(&mut writer, &derived.vulnerability_changes, started).await?;
    match control_results(ws, &state, &rows, &new_heads, (&run_id, started), &simulated).await {
        Ok(results) if !results.is_empty() => {
            let batch = tables::control_results_batch(&results).context("cannot build the control_results table")?;
            writer.write_table(names::CONTROL_RESULTS, &started.format("%Y-%m-%d").to_string(), &batch).await?;
        }
        Ok(_) => {}
        // Evidence verification stands on its own: a catalog problem is reported, not fatal here.
        Err(e) => tracing::warn!(error = %format!("{e:#}"), "controls not evaluated in this run"),
    }
    let mut stats = BTreeMap::new();
    stats.insert("events_verified".to_string(), events);
    stats.insert("objects_checked".to_string(), objects_checked);
    for r in &rows {
        *stats.entry(format!("findings.{}", r.kind)).or_insert(0) += 1;
    }
    let outcome = RunOutcome {
        cursors: state.cursors(),
        chain_heads: new_heads,
        verified_through: last_collect,
        stats,
        rotation: None,
        erasure: None,
    };
    writer.commit(Stage::Verify, &state, outcome, key.as_ref(), clock.now()).await?;
    Ok(VerifyReport {
        findings: rows,
        events,
        objects_checked,
        committed: Some(run_id),
        shard: None,
        standing: Vec::new(),
    })
}

/// Evaluates every control as of this verify run: all committed findings plus this run's, the
/// new chain heads, and this run as the latest verification.
async fn control_results(
    ws: &Workspace,
    state: &cairn_evidence::lake::LakeState,
    new_findings: &[Finding],
    heads: &BTreeMap<String, cairn_evidence::manifest::ChainHead>,
    (run_id, at): (&str, DateTime<Utc>),
    simulated: &SimulatedObjects,
) -> Result<Vec<cairn_evidence::tables::ControlResultRow>> {
    let checked = ws.checked_controls()?;
    let mut findings: Vec<Finding> = Vec::new();
    for (_, m) in &state.manifests {
        for entry in m.objects.iter().filter(|e| e.table == names::FINDINGS) {
            for batch in tables::from_parquet(ws.lake.get_checked(entry).await?)? {
                findings.extend(tables::finding_rows(&batch?)?);
            }
        }
    }
    findings.extend_from_slice(new_findings);
    // Gaps closed by events that arrived later do not fail controls.
    let findings: Vec<Finding> = cairn_verifier::open::unresolved(&findings).cloned().collect();
    let committed: Vec<RunManifest> = state.manifests.iter().map(|(_, m)| m.clone()).collect();
    let mut artefacts = crate::supply::read_artefacts(&ws.lake, &committed).await?;
    // Committed reasons are read by every audience: they name a document an external audience
    // may not see by neither its title nor its owner.
    for d in &mut artefacts.documents {
        if !Audience::External.may_see(ws.class_of(names::DOCUMENTS, &d.provenance.source)) {
            cairn_renderer::mask_document(d);
        }
    }
    let input = cairn_controls::EvaluationInput {
        manifests: &state.manifests,
        findings: &findings,
        heads,
        artefacts: &artefacts,
        simulated,
    };
    Ok(cairn_controls::control_results(&checked, &input, (run_id, at))?)
}

/// Reads what the portal and bundles need from the lake.
pub async fn read_view(ws: &Workspace) -> Result<LakeView> {
    let public = ws.public_key()?;
    let stored = ws.lake.stored_manifests().await.context("cannot list the lake's manifests")?;
    let (lake_findings, manifests) = verify_manifests(&stored, &public);
    let mut findings = Vec::new();
    let mut acknowledgements = Vec::new();
    let mut control_history = Vec::new();
    let mut quarantined = 0;
    let shown = |t: &str| t == names::FINDINGS || t == names::CONTROL_RESULTS || t == names::ACKNOWLEDGEMENTS;
    for m in &manifests {
        quarantined += m.stats.get("quarantined").copied().unwrap_or(0);
        for entry in m.objects.iter().filter(|e| shown(&e.table)) {
            let bytes = ws.lake.get_checked(entry).await?;
            for batch in tables::from_parquet(bytes).with_context(|| format!("cannot decode {}", entry.key))? {
                let batch = batch?;
                if entry.table == names::FINDINGS {
                    findings.extend(tables::finding_rows(&batch)?);
                } else if entry.table == names::ACKNOWLEDGEMENTS {
                    use cairn_evidence::artefacts::LakeTable as _;
                    acknowledgements.extend(cairn_evidence::acknowledgement::AcknowledgementRow::from_batch(&batch)?);
                } else {
                    control_history.extend(tables::control_result_rows(&batch)?);
                }
            }
        }
    }
    let artefacts = crate::supply::read_artefacts(&ws.lake, &manifests).await?;
    let markdown_models = crate::supply::markdown_models(&ws.lake, &manifests, &artefacts).await?;
    Ok(LakeView {
        stored,
        manifests,
        lake_findings,
        findings,
        acknowledgements,
        quarantined,
        artefacts,
        control_history,
        markdown_models,
        shown_to: None,
        withheld: cairn_evidence::artefacts::ArtefactSet::default(),
    })
}

/// The lake as a signed zip is made from: its view, refused when its manifests do not verify,
/// and the latest run's signed checkpoint. `what` names the zip in the refusal.
pub async fn signable_view(ws: &Workspace, what: &str) -> Result<(LakeView, String)> {
    let view = read_view(ws).await?;
    if let Some(f) = view.lake_findings.first() {
        bail!("the lake's manifests do not verify ({f}); no {what} is signed over them. Run `cairn verify`");
    }
    if view.manifests.is_empty() {
        bail!("the lake has no committed run yet; run `cairn collect` first");
    }
    let checkpoint =
        view.stored.last().and_then(|s| s.checkpoint.clone()).context("the latest run has no checkpoint")?;
    Ok((view, checkpoint))
}

/// The zip `out` names: `out` itself when it ends in `.zip`, or `NAME.zip` in that folder.
pub fn zip_path(out: &Path, name: &str) -> Result<PathBuf> {
    if out.extension().is_some_and(|e| e == "zip") {
        Ok(out.to_path_buf())
    } else {
        safe_join(out, &format!("{name}.zip"))
    }
}

/// A path under `dir` for a file name made only of safe characters.
pub fn safe_join(dir: &Path, name: &str) -> Result<PathBuf> {
    if name.is_empty()
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        || name.starts_with('.')
    {
        bail!("refusing unsafe file name {name:?}");
    }
    Ok(dir.join(name))
}
