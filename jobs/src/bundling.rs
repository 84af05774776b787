//! `cairn bundle`: what goes into a signed evidence zip for a scope and an audit period.
//!
//! Scope: every control (`--all`), the controls mapped to one framework, or one control.
//! Period: collection days `--since`..=`--until` (the lake's `date=` partitions).
//! Contents: the committed lake objects in scope byte for byte, each with its inclusion proof in
//! the lake's Merkle log; the run manifests with their signatures and checkpoints; CSV extracts
//! of the events and findings in scope; the verification report; `controls.csv`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use cairn_controls::EvidenceKind;
use cairn_evidence::classification::{Audience, AudienceNote, Classification, LeftOut};
use cairn_evidence::keys::PublicKey;
use cairn_evidence::manifest::ObjectEntry;
use cairn_evidence::tables::{self, names, EventRow};
use cairn_evidence::Sha256Digest;
use cairn_renderer::bundle::{write_bundle, BundleFile, BundleInfo, BundleSpec, Content, InclusionRef, Period};
use cairn_renderer::extracts::{controls_csv, csv_field, verification_report};
use cairn_renderer::model::PortalModel;
use rand_chacha::rand_core::{RngCore as _, SeedableRng as _};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use cairn_renderer::LakeView;

use crate::pipeline::{self, Workspace};
use crate::population;
use crate::scratch::Scratch;

pub use cairn_renderer::bundle::Scope;

/// A bundle request.
pub struct Request {
    /// Scope.
    pub scope: Scope,
    /// First collection day, inclusive.
    pub since: Option<String>,
    /// Last collection day, inclusive.
    pub until: Option<String>,
    /// A `.zip` path, or a folder for the default name.
    pub out: PathBuf,
    /// Draw this many events per chain for auditor sampling, with this seed.
    pub sample: Option<(u64, u64)>,
    /// Only the objects these runs committed (a nightly job's new evidence), when set.
    pub runs: Option<std::collections::BTreeSet<String>>,
    /// Also hold the OSCAL documents of the controls in scope (`oscal/`), linking the bundle's
    /// own entries.
    pub oscal: bool,
    /// Also hold these populations' packs (`population/NAME/`), their period the bundle's.
    pub populations: Vec<String>,
    /// Who the bundle is for: an external audience gets nothing classified above confidential
    /// and no disclosed personal value.
    pub audience: Audience,
}

fn valid_day(d: &str) -> bool {
    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok()
}

/// How many lake objects a bundle reads and checks ahead of the one it is writing out.
const READ_AHEAD: usize = 3;

/// The `date=` partition of a lake key, if it has one.
fn partition_day(key: &str) -> Option<&str> {
    key.split('/').find_map(|p| p.strip_prefix("date="))
}

fn in_period(day: Option<&str>, since: Option<&str>, until: Option<&str>) -> bool {
    let Some(day) = day else { return true };
    since.is_none_or(|s| day >= s) && until.is_none_or(|u| day <= u)
}

/// Builds the bundle.
pub async fn bundle(ws: &Workspace, request: &Request) -> Result<BundleInfo> {
    for d in [&request.since, &request.until].into_iter().flatten() {
        if !valid_day(d) {
            bail!("{d:?} is not a day (YYYY-MM-DD)");
        }
    }
    let key = ws.signer()?;
    let public = PublicKey::from_verifying(key.verifying_key());
    let (mut view, checkpoint) = pipeline::signable_view(ws, "bundle").await?;
    // Controls are evaluated on every row; what the bundle shows of them is what its audience
    // may see.
    ws.withhold(&mut view, request.audience);
    let latest = view.manifests.last().context("the lake has no committed run yet; run `cairn collect` first")?;
    let checked = ws.checked_controls()?;
    let catalog = &checked.catalog;
    let controls: Vec<&cairn_controls::Control> = match &request.scope {
        Scope::All => catalog.controls.iter().collect(),
        Scope::Framework(f) => {
            if !cairn_controls::FRAMEWORKS.iter().any(|(k, _)| k == f) {
                bail!("unknown framework {f:?}; one of soc2, iso27001, gdpr, hipaa");
            }
            catalog.controls.iter().filter(|c| c.requirements.iter().any(|r| &r.framework == f)).collect()
        }
        Scope::Control(id) => {
            let c = catalog.controls.iter().find(|c| &c.id == id).with_context(|| format!("unknown control {id:?}"))?;
            vec![c]
        }
    };
    let model = ws.portal_model(&view, &checked, &public, &[])?;
    let (since, until) = (request.since.as_deref(), request.until.as_deref());
    let scratch = Scratch::new()?;
    let (mut files, left_out) = collect_files(ws, &view, &model, &controls, since, until, request, &scratch.0)
        .await
        .with_context(|| format!("cannot stage the bundle's files in {}", scratch.0.display()))?;
    let about = if request.populations.is_empty() {
        None
    } else {
        let all = population::definitions(ws, &checked)?;
        let period = cairn_population::Period::parse(since, until)?;
        let inputs = population::Inputs { ws, view: &view, model: &model, scratch: &scratch.0 };
        let mut chosen = Vec::new();
        for name in &request.populations {
            let definition = cairn_population::find(&all, name)?;
            if chosen.iter().any(|d: &&cairn_population::Definition| d.name == definition.name) {
                continue;
            }
            let staged = population::stage(&inputs, definition, &period, None).await?;
            merge_files(&mut files, staged.files);
            chosen.push(definition);
        }
        Some(population::readme_section(&chosen))
    };

    let name = format!("cairn-evidence-{}-{}", request.scope.slug(), latest.run_id);
    let path = pipeline::zip_path(&request.out, &name)?;
    let spec = BundleSpec {
        name,
        scope: request.scope.label(),
        period: Period {
            since: request.since.clone(),
            until: request.until.clone(),
            runs: request.runs.as_ref().map(|r| r.iter().cloned().collect()),
        },
        run_id: latest.run_id.clone(),
        created_at: latest.committed_at.clone(),
        merkle_size: latest.merkle.size,
        merkle_root: latest.merkle.root.clone(),
        checkpoint,
        files,
        about,
        audience: Some(AudienceNote { audience: request.audience, ceiling: request.audience.ceiling(), left_out }),
    };
    Ok(write_bundle(&path, spec, key.as_ref())?)
}

/// Adds `more` to `files`; a file already there (a lake object both hold) is kept once, evidence
/// of the controls of both.
fn merge_files(files: &mut Vec<BundleFile>, more: Vec<BundleFile>) {
    let mut at: BTreeMap<String, usize> = files.iter().enumerate().map(|(i, f)| (f.path.clone(), i)).collect();
    for f in more {
        if let Some(&i) = at.get(&f.path) {
            let existing = &mut files[i];
            existing.controls.extend(f.controls);
            existing.controls.sort();
            existing.controls.dedup();
        } else {
            at.insert(f.path.clone(), files.len());
            files.push(f);
        }
    }
}

#[expect(clippy::too_many_arguments, reason = "the parts of one bundle request")]
async fn collect_files(
    ws: &Workspace,
    view: &LakeView,
    model: &PortalModel,
    controls: &[&cairn_controls::Control],
    since: Option<&str>,
    until: Option<&str>,
    request: &Request,
    scratch: &Path,
) -> Result<(Vec<BundleFile>, Vec<LeftOut>)> {
    let sample = request.sample;
    let audience = request.audience;
    let config = &ws.config;
    let class_of_table = |table: &str| config.table_classes.get(table).copied().unwrap_or_default();
    // Sources the audience may not see: an object holding any of their rows is left out.
    let hidden_sources: BTreeMap<&str, Classification> =
        config.source_classes.iter().filter(|(_, c)| !audience.may_see(**c)).map(|(s, c)| (s.as_str(), *c)).collect();
    let mut left_out: BTreeMap<(String, Classification), u64> = BTreeMap::new();
    let in_runs = |run: &str| request.runs.as_ref().is_none_or(|runs| runs.contains(run));
    let ids = |kinds: &[EvidenceKind]| -> Vec<String> {
        controls.iter().filter(|c| kinds.contains(&c.evidence)).map(|c| c.id.clone()).collect()
    };
    let all_ids: Vec<String> = controls.iter().map(|c| c.id.clone()).collect();
    let event_controls = ids(&[EvidenceKind::Events]);
    let lake_controls = ids(&[EvidenceKind::Lake, EvidenceKind::Verification]);
    let attestation_controls = ids(&[EvidenceKind::Attestations]);
    let sbom_controls = ids(&[EvidenceKind::Sboms]);
    let scan_controls = ids(&[EvidenceKind::Scans]);
    let test_controls = ids(&[EvidenceKind::Tests]);
    let threat_controls = ids(&[EvidenceKind::ThreatModels]);
    let supply_controls = ids(&[
        EvidenceKind::Attestations,
        EvidenceKind::Sboms,
        EvidenceKind::Scans,
        EvidenceKind::Tests,
        EvidenceKind::ThreatModels,
    ]);
    let manual_controls = ids(&[EvidenceKind::Manual]);
    let policy_controls = ids(&[EvidenceKind::Policies]);
    // Each blob is evidence of the controls resting on the rows that name it; a document, of the
    // controls it names.
    let mut blob_controls: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let a = &view.artefacts;
    let kinds = [
        (a.attestations.iter().map(|r| r.blob.as_str()).collect::<Vec<_>>(), &attestation_controls),
        (a.sboms.iter().map(|r| r.blob.as_str()).collect(), &sbom_controls),
        (a.scans.iter().map(|r| r.blob.as_str()).collect(), &scan_controls),
        (a.test_runs.iter().map(|r| r.blob.as_str()).collect(), &test_controls),
        (a.threat_models.iter().map(|r| r.blob.as_str()).collect(), &threat_controls),
    ];
    for (blobs, for_controls) in kinds {
        for b in blobs {
            blob_controls.entry(b).or_default().extend(for_controls.iter().cloned());
        }
    }
    for d in &a.documents {
        let named = d.controls.split("; ").filter(|c| all_ids.iter().any(|id| id == c)).map(str::to_string);
        blob_controls.entry(d.blob.as_str()).or_default().extend(named);
    }
    // The blobs only withheld rows name, with the highest classification among them.
    let mut withheld_blobs: BTreeMap<&str, Classification> = BTreeMap::new();
    let w = &view.withheld;
    let withheld_rows = w
        .attestations
        .iter()
        .map(|r| (r.blob.as_str(), names::ATTESTATIONS, &r.provenance))
        .chain(w.sboms.iter().map(|r| (r.blob.as_str(), names::SBOMS, &r.provenance)))
        .chain(w.scans.iter().map(|r| (r.blob.as_str(), names::SCANS, &r.provenance)))
        .chain(w.test_runs.iter().map(|r| (r.blob.as_str(), names::TEST_RUNS, &r.provenance)))
        .chain(w.threat_models.iter().map(|r| (r.blob.as_str(), names::THREAT_MODELS, &r.provenance)))
        .chain(w.documents.iter().map(|r| (r.blob.as_str(), names::DOCUMENTS, &r.provenance)));
    for (blob, table, provenance) in withheld_rows {
        if !blob_controls.contains_key(blob) {
            let class = ws.class_of(table, &provenance.source);
            let entry = withheld_blobs.entry(blob).or_insert(class);
            *entry = (*entry).max(class);
        }
    }
    // Each object with its collection day: its `date=` partition, or (blobs) its run's day.
    let entries: Vec<(String, &ObjectEntry, &str)> = view
        .manifests
        .iter()
        .flat_map(|m| {
            m.objects.iter().map(|o| {
                (partition_day(&o.key).map_or_else(|| day_of_run(&m.run_id), str::to_string), o, m.run_id.as_str())
            })
        })
        .collect();
    // The portal model already holds every object's audit path against the latest checkpoint,
    // in the same log order as `entries`.
    let tree_size = model.objects.len() as u64;
    let mut files = Vec::new();
    let mut events_csv = String::from("chain,seq,ts,kid,hash,source,object_key,line,run_id,lake_object,event_json\n");
    let mut findings_csv = String::from("kind,chain,seq,object_key,line,detail,run_id\n");
    let events_path = scratch.join("events.csv");
    let mut events_out = std::io::BufWriter::new(
        std::fs::File::create(&events_path).with_context(|| format!("cannot create {}", events_path.display()))?,
    );
    let mut wrote_events = false;
    let mut events_simulated = false;
    let mut sampler = Sampler::new(sample);
    // First the objects the bundle takes (what the scope, the period and the audience allow)...
    let mut picked = Vec::new();
    for (index, (day, entry, run)) in entries.iter().enumerate() {
        if !in_period(Some(day), since, until) || !in_runs(run) {
            continue;
        }
        // Events and records kept aside are the evidence of event controls; findings and control
        // results of every control; other objects (blobs) of the lake-integrity controls.
        let (kind, for_controls) = match entry.table.as_str() {
            names::EVENTS | names::QUARANTINE => ("lake_object", event_controls.clone()),
            names::FINDINGS | names::CONTROL_RESULTS => ("lake_object", all_ids.clone()),
            names::ATTESTATIONS => ("lake_object", attestation_controls.clone()),
            names::SBOMS | names::SBOM_COMPONENTS | names::SBOM_DIFFS => ("lake_object", sbom_controls.clone()),
            names::SCANS | names::VULNERABILITIES | names::VULNERABILITY_CHANGES => {
                ("lake_object", scan_controls.clone())
            }
            names::TEST_RUNS | names::TEST_CASES => ("lake_object", test_controls.clone()),
            names::THREAT_MODELS | names::THREATS => ("lake_object", threat_controls.clone()),
            names::ARTEFACTS => ("lake_object", supply_controls.clone()),
            names::DOCUMENTS => ("lake_object", manual_controls.clone()),
            names::POLICIES => ("lake_object", policy_controls.clone()),
            "blob" => (
                "artefact",
                blob_controls.get(entry.key.as_str()).map(|c| c.iter().cloned().collect()).unwrap_or_default(),
            ),
            _ => ("lake_object", lake_controls.clone()),
        };
        if let Some(class) = withheld_blobs.get(entry.key.as_str()) {
            *left_out.entry((format!("blobs of a source classified {}", class.as_str()), *class)).or_default() += 1;
            continue;
        }
        if for_controls.is_empty() {
            continue;
        }
        let table_class = class_of_table(&entry.table);
        let what =
            if entry.table == "blob" { "blobs".to_string() } else { format!("lake objects of table {}", entry.table) };
        if !audience.may_see(table_class) {
            *left_out.entry((what, table_class)).or_default() += 1;
            continue;
        }
        picked.push((index, *entry, kind, for_controls, table_class, what));
    }
    // ...then each of them read from the lake and checked against the digest its manifest
    // committed, a few ahead of the one being written out, on every core.
    let progress = crate::progress::Progress::start("bundle", picked.len() as u64);
    let fetch = |entry: &ObjectEntry| {
        let (lake, entry) = (ws.lake.clone(), entry.clone());
        tokio::spawn(async move { lake.get_checked(&entry).await })
    };
    let picked_keys: Vec<&ObjectEntry> = picked.iter().map(|p| p.1).collect();
    let mut ahead: std::collections::VecDeque<_> = picked_keys.iter().take(READ_AHEAD).map(|e| fetch(e)).collect();
    for (at, (index, entry, kind, for_controls, table_class, what)) in picked.into_iter().enumerate() {
        progress.inc();
        if let Some(next) = picked_keys.get(at + READ_AHEAD) {
            ahead.push_back(fetch(next));
        }
        let bytes = ahead.pop_front().context("an object read ahead went missing")?.await??;
        if entry.table != "blob" && !hidden_sources.is_empty() {
            let mut class = table_class;
            for batch in tables::from_parquet(bytes.clone())? {
                for source in tables::sources_of(&batch?)? {
                    class = class.max(hidden_sources.get(source.as_str()).copied().unwrap_or(class));
                }
            }
            if !audience.may_see(class) {
                *left_out
                    .entry((format!("{what}, holding rows of a source classified {}", class.as_str()), class))
                    .or_default() += 1;
                continue;
            }
        }
        // Personal values a source's events carry in clear, where `personal` says they are:
        // restricted, whatever the source's classification.
        if entry.table == names::EVENTS && !config.personal.is_empty() && !audience.may_see(Classification::Restricted)
        {
            let mut in_clear: BTreeSet<&str> = BTreeSet::new();
            for batch in tables::from_parquet(bytes.clone())? {
                for row in tables::event_rows(&batch?)? {
                    let Some(pointers) = config.personal.get(&row.provenance.source) else { continue };
                    let event: serde_json::Value = serde_json::from_str(&row.event_json)
                        .with_context(|| format!("{}: an event that is not JSON", entry.key))?;
                    in_clear.extend(pointers.iter().filter(|p| event.pointer(p).is_some()).map(String::as_str));
                }
            }
            if !in_clear.is_empty() {
                let at = in_clear.into_iter().collect::<Vec<_>>().join(", ");
                *left_out
                    .entry((format!("{what}, holding personal values in clear at {at}"), Classification::Restricted))
                    .or_default() += 1;
                continue;
            }
        }
        // Control results committed before a document's source was classified may name it.
        if entry.table == names::CONTROL_RESULTS && !view.withheld.documents.is_empty() {
            let mut names_withheld = false;
            for batch in tables::from_parquet(bytes.clone())? {
                names_withheld |= tables::control_result_rows(&batch?)?.iter().any(|r| {
                    let reasons: Vec<String> = serde_json::from_str(&r.reasons).unwrap_or_default();
                    reasons.iter().any(|reason| view.masked_reason(reason) != *reason)
                });
            }
            if names_withheld {
                let class = view
                    .withheld
                    .documents
                    .iter()
                    .map(|d| ws.class_of(names::DOCUMENTS, &d.provenance.source))
                    .max()
                    .unwrap_or_default();
                *left_out
                    .entry((format!("{what}, naming documents classified {}", class.as_str()), class))
                    .or_default() += 1;
                continue;
            }
        }
        let local = scratch.join(format!("obj-{index}"));
        std::fs::write(&local, &bytes).with_context(|| format!("cannot write {}", local.display()))?;
        let bytes_len = bytes.len() as u64;
        if entry.table == names::EVENTS {
            let mut row_index = 0u64;
            for batch in tables::from_parquet(bytes.clone())? {
                for r in tables::event_rows(&batch?)? {
                    sampler.offer(&r, &entry.key, row_index);
                    row_index += 1;
                    let p = &r.provenance;
                    events_csv.clear();
                    let _ = writeln!(
                        events_csv,
                        "{},{},{},{},{},{},{},{},{},{},{}",
                        csv_field(&r.chain),
                        r.seq,
                        csv_field(&r.ts),
                        csv_field(&r.kid),
                        csv_field(&r.hash),
                        csv_field(&p.source),
                        csv_field(&p.object_key),
                        p.line,
                        csv_field(&p.run_id),
                        csv_field(&entry.key),
                        csv_field(&r.event_json)
                    );
                    std::io::Write::write_all(&mut events_out, events_csv.as_bytes())?;
                    wrote_events = true;
                }
            }
        }
        if entry.table == names::FINDINGS {
            for batch in tables::from_parquet(bytes)? {
                for f in tables::finding_rows(&batch?)? {
                    let _ = writeln!(
                        findings_csv,
                        "{},{},{},{},{},{},{}",
                        csv_field(f.kind.as_str()),
                        csv_field(f.chain.as_deref().unwrap_or("")),
                        f.seq.map(|s| s.to_string()).unwrap_or_default(),
                        csv_field(f.object_key.as_deref().unwrap_or("")),
                        f.line.map(|s| s.to_string()).unwrap_or_default(),
                        csv_field(&f.detail),
                        csv_field(&f.run_id)
                    );
                }
            }
        }
        let proof = model
            .objects
            .get(index)
            .filter(|o| o.key == entry.key)
            .map(|o| o.proof.clone())
            .context("the portal model's log does not match the manifests")?;
        events_simulated |= entry.simulated && entry.table == names::EVENTS;
        files.push(BundleFile {
            simulated: entry.simulated,
            path: format!("store/{}", entry.key),
            kind: kind.into(),
            controls: for_controls,
            content: Content::Checked { path: local, sha256: entry.sha256.clone(), size: bytes_len },
            inclusion: Some(InclusionRef {
                key: entry.key.clone(),
                table: entry.table.clone(),
                leaf_index: index as u64,
                tree_size,
                proof,
            }),
        });
    }
    std::io::Write::flush(&mut events_out)?;
    drop(events_out);
    if let Some(mut drawn) = sampler.finish() {
        let disclosed = sampled_disclosures(ws, view, &drawn).await?;
        // With a pseudonym key, each sampled event names its personal values by keyed
        // pseudonyms: the same person, the same pseudonym, in this bundle and the next.
        if let Some(path) = &config.pseudonym_key {
            let secret = cairn_evidence::keys::read_secret(path)
                .with_context(|| format!("[privacy] pseudonym_key {}", path.display()))?;
            let mut by_event: BTreeMap<(&str, u64, &str), BTreeMap<String, String>> = BTreeMap::new();
            for d in &disclosed {
                by_event
                    .entry((d.chain.as_str(), d.seq, d.hash.as_str()))
                    .or_default()
                    .insert(d.path.clone(), cairn_evidence::vault::pseudonym(&secret, &d.value_json));
            }
            for e in &mut drawn {
                if let Some(p) = by_event.get(&(e.chain.as_str(), e.seq, e.hash.as_str())) {
                    e.pseudonyms.clone_from(p);
                }
            }
        }
        files.push(BundleFile {
            simulated: events_simulated,
            path: "evidence/sample.jsonl".into(),
            kind: "event_sample".into(),
            controls: event_controls.clone(),
            content: Content::Bytes(jsonl(&drawn).into_bytes()),
            inclusion: None,
        });
        files.push(BundleFile {
            simulated: false,
            path: "evidence/source-keys.json".into(),
            kind: "source_keys".into(),
            controls: event_controls.clone(),
            content: Content::Bytes(source_keys(&ws.keyring()?)?),
            inclusion: None,
        });
        // The sampled events' disclosed values, for an audience that may see them; for one that
        // may not, what was left out.
        if audience.may_see(Classification::Restricted) {
            if !disclosed.is_empty() {
                files.push(BundleFile {
                    simulated: events_simulated,
                    path: "evidence/disclosures.jsonl".into(),
                    kind: "event_disclosures".into(),
                    controls: event_controls.clone(),
                    content: Content::Bytes(jsonl(&disclosed).into_bytes()),
                    inclusion: None,
                });
            }
        } else if !disclosed.is_empty() {
            let what =
                "disclosed personal values of the sampled events (their salted commitments stay in each signed event)";
            *left_out.entry((what.to_string(), Classification::Restricted)).or_default() += disclosed.len() as u64;
        }
    }
    // Run manifests, their signatures and checkpoints: the commit record of every run in the
    // period, and every key rotation run whatever its day, so that each run's signature leads,
    // handover by handover, to the key the bundle is signed with.
    let is_rotation =
        |s: &&cairn_evidence::lake::StoredManifest| s.manifest.as_ref().is_ok_and(|m| m.rotation.is_some());
    for s in view
        .stored
        .iter()
        .filter(|s| (in_period(Some(&day_of_run(&s.run_id)), since, until) && in_runs(&s.run_id)) || is_rotation(s))
    {
        // The key a rotation took over from, as a minisign public key file (`keys/`), so that
        // `minisign -V` checks the runs it signed.
        if let Some(rotation) = s.manifest.as_ref().ok().and_then(|m| m.rotation.as_ref()) {
            let (from, _) = rotation.keys().map_err(|e| anyhow::anyhow!("run {}: {e}", s.run_id))?;
            let path = format!("keys/cairn-{}.pub", from.key_id_hex());
            // A key handed back to later is carried once.
            if !files.iter().any(|f| f.path == path) {
                files.push(BundleFile {
                    simulated: false,
                    path,
                    kind: "lake_key".into(),
                    controls: lake_controls.clone(),
                    content: Content::Bytes(from.to_minisign_file().into_bytes()),
                    inclusion: None,
                });
            }
        }
        let mut push = |suffix: &str, kind: &str, bytes: Vec<u8>| {
            files.push(BundleFile {
                simulated: false,
                path: format!("store/runs/{}{suffix}", s.run_id),
                kind: kind.into(),
                controls: lake_controls.clone(),
                content: Content::Bytes(bytes),
                inclusion: None,
            });
        };
        push(".json", "run_manifest", s.bytes.to_vec());
        if let Some(sig) = &s.signature {
            push(".json.minisig", "run_manifest_signature", sig.clone().into_bytes());
        }
        if let Some(cp) = &s.checkpoint {
            push(".checkpoint", "checkpoint", cp.clone().into_bytes());
        }
    }
    if wrote_events {
        files.push(BundleFile {
            simulated: events_simulated,
            path: "evidence/events.csv".into(),
            kind: "events_csv".into(),
            controls: event_controls.clone(),
            content: Content::File(events_path),
            inclusion: None,
        });
    }
    files.push(BundleFile {
        simulated: false,
        path: "evidence/findings.csv".into(),
        kind: "findings_csv".into(),
        controls: all_ids.clone(),
        content: Content::Bytes(findings_csv.into_bytes()),
        inclusion: None,
    });
    let report = verification_report(model, &all_ids);
    let mut report_bytes = serde_json::to_vec_pretty(&report)?;
    report_bytes.push(b'\n');
    files.push(BundleFile {
        simulated: false,
        path: "evidence/verification-report.json".into(),
        kind: "verification_report".into(),
        controls: all_ids.clone(),
        content: Content::Bytes(report_bytes),
        inclusion: None,
    });
    // An offline copy of the portal, without the pages of controls outside the scope.
    let templates = crate::render::templates(ws)?;
    for (page, bytes) in cairn_renderer::portal::render_with(model, &templates)? {
        let control_page = page.strip_prefix("controls/").and_then(|p| p.strip_suffix(".html"));
        if control_page.is_some_and(|id| !all_ids.iter().any(|c| c == id)) {
            continue;
        }
        files.push(BundleFile {
            simulated: false,
            path: format!("portal/{page}"),
            kind: "portal_page".into(),
            controls: Vec::new(),
            content: Content::Bytes(bytes),
            inclusion: None,
        });
    }
    files.push(BundleFile {
        simulated: false,
        path: "controls.csv".into(),
        kind: "controls_csv".into(),
        controls: all_ids.clone(),
        content: Content::Bytes(controls_csv(model, &all_ids, &files).into_bytes()),
        inclusion: None,
    });
    if request.oscal {
        let held = files.iter().filter_map(|f| f.path.strip_prefix("store/")).map(str::to_string).collect();
        let placement = cairn_renderer::oscal::Placement::Bundle(held);
        for (name, bytes) in cairn_renderer::oscal::documents(model, &all_ids, &placement) {
            files.push(BundleFile {
                simulated: false,
                path: format!("oscal/{name}"),
                kind: "oscal".into(),
                controls: all_ids.clone(),
                content: Content::Bytes(bytes),
                inclusion: None,
            });
        }
    }
    let left_out =
        left_out.into_iter().map(|((what, classification), count)| LeftOut { what, classification, count }).collect();
    Ok((files, left_out))
}

/// One JSON object per line.
fn jsonl<T: Serialize>(items: &[T]) -> String {
    let mut out = String::new();
    for item in items {
        out.push_str(&serde_json::to_string(item).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// `evidence/source-keys.json`: the trusted source keys, so that `verify.py` checks each
/// sampled event's signature with the key its `kid` names, for its chain and time.
fn source_keys(keyring: &cairn_evidence::keyring::Keyring) -> Result<Vec<u8>> {
    let keys: BTreeMap<&str, serde_json::Value> = keyring
        .keys()
        .map(|k| {
            let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(cairn_evidence::time::format_rfc3339);
            let value = serde_json::json!({
                "public_key": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, k.key.as_bytes()),
                "chains": k.chains,
                "not_before": time(k.not_before),
                "not_after": time(k.not_after),
                "revoked_at": time(k.revoked_at),
            });
            (k.kid.as_str(), value)
        })
        .collect();
    let mut bytes = serde_json::to_vec_pretty(&serde_json::json!({"format": "cairn-source-keys/1", "keys": keys}))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// One disclosed value of a sampled event, as `evidence/disclosures.jsonl` holds it.
#[derive(Serialize)]
struct SampledDisclosure {
    chain: String,
    seq: u64,
    hash: String,
    path: String,
    disclosure: String,
    /// The value (JSON text), for its pseudonym; the disclosure carries it.
    #[serde(skip)]
    value_json: String,
}

/// The live vault's disclosures of the `drawn` events.
async fn sampled_disclosures(
    ws: &Workspace,
    view: &LakeView,
    drawn: &[SampledEvent],
) -> Result<Vec<SampledDisclosure>> {
    let wanted: BTreeSet<(&str, u64, &str)> =
        drawn.iter().map(|e| (e.chain.as_str(), e.seq, e.hash.as_str())).collect();
    let mut out = Vec::new();
    for entry in cairn_evidence::vault::live(&view.manifests).values() {
        let bytes = ws.lake.get_checked(entry).await?;
        for row in cairn_evidence::vault::rows(bytes).with_context(|| format!("cannot read {}", entry.key))? {
            if wanted.contains(&(row.chain.as_str(), row.seq, row.event_hash.as_str())) {
                out.push(SampledDisclosure {
                    chain: row.chain,
                    seq: row.seq,
                    hash: row.event_hash,
                    path: row.path,
                    disclosure: row.disclosure,
                    value_json: row.value_json,
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.chain, a.seq, &a.hash, &a.path).cmp(&(&b.chain, b.seq, &b.hash, &b.path)));
    out.dedup_by(|a, b| (&a.chain, a.seq, &a.hash, &a.path) == (&b.chain, b.seq, &b.hash, &b.path));
    Ok(out)
}

/// Reservoir sampling per chain (Algorithm R), seeded per chain so a sample is reproducible:
/// the same lake, period, size and seed draw the same events.
struct Sampler {
    size: u64,
    seed: u64,
    chains: std::collections::BTreeMap<String, (ChaCha20Rng, u64, Vec<SampledEvent>)>,
}

#[derive(Serialize)]
struct SampledEvent {
    chain: String,
    seq: u64,
    hash: String,
    lake_object: String,
    row: u64,
    source_object: String,
    source_line: u64,
    record_sha256: String,
    event_json: String,
    /// JSON pointer of each disclosed value → its keyed pseudonym (`[privacy] pseudonym_key`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pseudonyms: BTreeMap<String, String>,
}

impl Sampler {
    fn new(sample: Option<(u64, u64)>) -> Option<Self> {
        sample.map(|(size, seed)| Self { size, seed, chains: std::collections::BTreeMap::new() })
    }
}

trait Offer {
    fn offer(&mut self, row: &EventRow, lake_object: &str, row_index: u64);
    fn finish(self) -> Option<Vec<SampledEvent>>;
}

impl Offer for Option<Sampler> {
    fn offer(&mut self, row: &EventRow, lake_object: &str, row_index: u64) {
        let Some(s) = self else { return };
        let (size, seed) = (s.size, s.seed);
        let (rng, seen, kept) = s.chains.entry(row.chain.clone()).or_insert_with(|| {
            let chain_seed = u64::from_le_bytes(
                Sha256Digest::of(format!("{seed}\n{}", row.chain).as_bytes()).0[..8].try_into().unwrap_or_default(),
            );
            (ChaCha20Rng::seed_from_u64(chain_seed), 0, Vec::new())
        });
        *seen += 1;
        let slot = if (kept.len() as u64) < size {
            Some(kept.len())
        } else {
            usize::try_from(rng.next_u64() % *seen).ok().filter(|j| (*j as u64) < size)
        };
        let Some(slot) = slot else { return };
        let event = SampledEvent {
            chain: row.chain.clone(),
            seq: row.seq,
            hash: row.hash.clone(),
            lake_object: format!("store/{lake_object}"),
            row: row_index,
            source_object: row.provenance.object_key.clone(),
            source_line: row.provenance.line,
            record_sha256: row.provenance.record_sha256.clone(),
            event_json: row.event_json.clone(),
            pseudonyms: BTreeMap::new(),
        };
        if slot == kept.len() {
            kept.push(event);
        } else {
            kept[slot] = event;
        }
    }

    fn finish(self) -> Option<Vec<SampledEvent>> {
        let s = self?;
        let mut out = Vec::new();
        for (_, (_, _, mut kept)) in s.chains {
            kept.sort_by_key(|e| e.seq);
            out.extend(kept);
        }
        Some(out)
    }
}

fn day_of_run(run_id: &str) -> String {
    let d = run_id.get(..8).unwrap_or("");
    format!("{}-{}-{}", d.get(..4).unwrap_or(""), d.get(4..6).unwrap_or(""), d.get(6..8).unwrap_or(""))
}
