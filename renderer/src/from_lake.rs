//! Turns what the lake holds ([`LakeView`]) into the portal's model: every control evaluated as
//! of the latest run, framework roll-ups, chains, artefacts, runs, keys and lake objects.

use std::collections::{BTreeMap, BTreeSet};

use crate::markdown;
use crate::model::{
    chain_file_name, ChainLink, ChainView, ControlView, CursorView, DownloadView, EvidenceItemView, FrameworkView,
    KeyChangeView, KeyView, ObjectLink, ObjectView, PortalModel, PublishedDocumentView, PublishedKeyView,
    RequirementRow, RequirementView, RunView, StatusPoint, SummaryView, FAILING_SHOWN,
};
use cairn_controls::user::Checked;
use cairn_controls::{evaluate, roll_up, Coverage, EvidenceSummary, RequirementStatus, Status, FRAMEWORKS};
use cairn_evidence::digest::sha256_hex;
use cairn_evidence::keyring::{glob_match, Keyring};
use cairn_evidence::keys::PublicKey;
use cairn_evidence::manifest::{ObjectEntry, RunManifest, SimulatedObjects, Stage};
use cairn_evidence::merkle::{inclusion_proofs, leaf_hash};
use cairn_evidence::published::histories;
use cairn_evidence::time::parse_rfc3339;
use cairn_evidence::Sha256Digest;
use cairn_verifier::open::{unresolved, FindingStanding, Standing};
use cairn_verifier::{Finding, FindingKind};

use crate::lake_view::LakeView;

/// The evidence summary controls are evaluated on.
pub fn evidence_summary(view: &LakeView) -> EvidenceSummary {
    let heads = view.manifests.last().map(|m| m.chain_heads.clone()).unwrap_or_default();
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for f in unresolved(&view.findings) {
        *by_kind.entry(f.kind.as_str().to_string()).or_insert(0) += 1;
    }
    for f in &view.lake_findings {
        *by_kind.entry(f.kind.as_str().to_string()).or_insert(0) += 1;
    }
    let artefacts = view.evaluated_artefacts();
    EvidenceSummary {
        events_verified: heads.values().map(|h| h.events).sum(),
        chains: heads.len() as u64,
        last_verified_at: view.latest_verify().and_then(|m| parse_rfc3339(&m.committed_at)),
        findings_by_kind: by_kind,
        artefacts: cairn_controls::artefact_evidence(&artefacts),
        documents: cairn_controls::document_evidence(&artefacts),
    }
}

/// Builds the portal model.
pub fn portal_model(
    view: &LakeView,
    checked: &Checked,
    public: &PublicKey,
    keyring: &Keyring,
    downloads: &[DownloadView],
) -> PortalModel {
    let catalog = &checked.catalog;
    let evidence = evidence_summary(view);
    let results = evaluate(catalog, &evidence, view.as_of());
    let count = |pred: &dyn Fn(FindingKind) -> bool| -> u64 {
        unresolved(&view.findings).filter(|f| pred(f.kind)).count() as u64
            + view.lake_findings.iter().filter(|f| pred(f.kind)).count() as u64
    };
    let standing: Vec<FindingStanding> =
        view.standing().into_iter().map(|s| FindingStanding { finding: s.finding.as_shown(), ..s }).collect();
    let summary = SummaryView {
        events_verified: evidence.events_verified,
        chains: evidence.chains,
        breaks: count(&FindingKind::is_chain_break),
        signature_failures: count(&|k| {
            matches!(k, FindingKind::BadSignature | FindingKind::UnknownKey | FindingKind::KeyNotValid)
        }),
        duplicates: count(&|k| k == FindingKind::Duplicate),
        findings_total: (view.findings.len() + view.lake_findings.len()) as u64,
        quarantined: view.quarantined,
        last_verified_at: view.latest_verify().map(|m| m.committed_at.clone()),
        open: standing.iter().filter(|s| s.is_open()).count() as u64,
        acknowledged: standing.iter().filter(|s| matches!(s.standing, Standing::Acknowledged(_))).count() as u64,
    };
    let mut controls: Vec<ControlView> = catalog
        .controls
        .iter()
        .zip(&results)
        .map(|(c, r)| ControlView {
            id: c.id.clone(),
            title: c.title.clone(),
            description: c.description.clone(),
            description_html: markdown::to_html(&c.description),
            evidence: c.evidence.as_str().into(),
            fails_on: c.fails_on.clone(),
            max_age_days: c.max_age_days,
            status: r.status.as_str().into(),
            reasons: r.reasons.clone(),
            bundles: downloads
                .iter()
                .filter(|d| {
                    d.scope == "all" || d.scope == c.id || c.requirements.iter().any(|r| r.framework == d.scope)
                })
                .cloned()
                .collect(),
            requirements: c
                .requirements
                .iter()
                .map(|l| RequirementView {
                    framework: l.framework.clone(),
                    id: l.id.clone(),
                    relationship: l.relationship.as_str().into(),
                    rationale: l.rationale.clone(),
                    confidence: l.confidence.clone(),
                })
                .collect(),
            history: view
                .control_history
                .iter()
                .rev()
                .filter(|h| h.control_id == c.id)
                .map(|h| StatusPoint {
                    run_id: h.run_id.clone(),
                    evaluated_at: cairn_evidence::time::format_rfc3339(h.evaluated_at),
                    status: h.status.clone(),
                    reasons: view
                        .masked_reason(&serde_json::from_str::<Vec<String>>(&h.reasons).unwrap_or_default().join("; ")),
                    page: run_file(&h.run_id),
                })
                .collect(),
            ..ControlView::default()
        })
        .collect();
    // The built-in lists are checked by the test suite; should one ever fail to load, the
    // portal still renders without readiness figures, and says why in the log.
    let lists = cairn_controls::frameworks::builtin().unwrap_or_else(|e| {
        tracing::error!(error = %e, "framework requirement lists failed to load");
        BTreeMap::new()
    });
    let rolled = roll_up(catalog, &results, &lists, &checked.not_applicable);
    let frameworks =
        FRAMEWORKS.iter().map(|(key, name)| framework_view(key, name, lists.get(*key), &rolled, catalog)).collect();
    let heads = view.manifests.last().map(|m| m.chain_heads.clone()).unwrap_or_default();
    let simulated = SimulatedObjects::of(&view.manifests);
    // A chain's events are simulated when its findings point into simulated objects, or when
    // all collected data is.
    let chain_simulated = |id: &str| {
        let mut objects =
            view.findings.iter().filter(|f| f.chain.as_deref() == Some(id)).map(|f| f.object_key.as_deref());
        objects.any(|k| k.is_some_and(|k| simulated.contains(k))) || simulated.all()
    };
    let chains = heads
        .iter()
        .map(|(id, h)| ChainView {
            simulated: chain_simulated(id),
            id: id.clone(),
            file: chain_file_name(id),
            events: h.events,
            head_seq: h.seq,
            head_hash: h.hash.clone(),
            head_ts: h.ts.clone(),
            findings: view.findings.iter().filter(|f| f.chain.as_deref() == Some(id)).map(Finding::as_shown).collect(),
        })
        .collect();
    let mut lake_findings: Vec<Finding> = view.lake_findings.iter().map(Finding::as_shown).collect();
    lake_findings.extend(view.findings.iter().filter(|f| f.chain.is_none()).map(Finding::as_shown));
    let mut runs: Vec<RunView> = view
        .stored
        .iter()
        .zip(view.manifests.iter())
        .rev()
        .map(|(s, m)| RunView {
            simulated: m.objects.iter().any(|o| o.simulated),
            run_id: m.run_id.clone(),
            stage: match m.stage {
                Stage::Collect => "collect".into(),
                Stage::Verify => "verify".into(),
                Stage::Acknowledge => "acknowledge".into(),
                Stage::Rotate => "rotate".into(),
                Stage::Erase => "erase".into(),
            },
            committed_at: m.committed_at.clone(),
            objects: m.objects.len(),
            sha256: sha256_hex(&s.bytes),
            previous: m.previous.as_ref().map(|p| p.run_id.clone()),
            merkle_size: m.merkle.size,
            merkle_root: m.merkle.root.clone(),
            file: run_file(&m.run_id),
            previous_file: m.previous.as_ref().map(|p| run_file(&p.run_id)),
            signing_key_id: m.signing_key_id.clone(),
            erasure: m.erasure.clone(),
            signature: s.signature.clone().unwrap_or_default(),
            checkpoint: s.checkpoint.clone().unwrap_or_default(),
            object_links: Vec::new(),
            cursors: m
                .cursors
                .iter()
                .flat_map(|(source, objects)| {
                    objects.iter().map(move |(object, c)| CursorView {
                        source: source.clone(),
                        object: object.clone(),
                        offset: c.offset,
                        lines: c.lines,
                        prefix_sha256: c.prefix_sha256.clone(),
                    })
                })
                .collect(),
            stats: m.stats.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        })
        .collect();
    let entries: Vec<(&str, &ObjectEntry)> =
        view.manifests.iter().flat_map(|m| m.objects.iter().map(move |o| (m.run_id.as_str(), o))).collect();
    let leaves: Vec<_> = entries.iter().map(|(_, e)| leaf_hash(&RunManifest::leaf_bytes(e))).collect();
    let mut proofs = inclusion_proofs(&leaves);
    let objects: Vec<ObjectView> = entries
        .iter()
        .enumerate()
        .map(|(i, (run, e))| ObjectView {
            simulated: e.simulated,
            index: i as u64,
            file: format!("objects/{i}.html"),
            key: e.key.clone(),
            table: e.table.clone(),
            sha256: e.sha256.clone(),
            size: e.size,
            rows: e.rows,
            run_id: (*run).to_string(),
            proof: std::mem::take(&mut proofs[i]).iter().map(Sha256Digest::to_hex).collect(),
        })
        .collect();
    for run in &mut runs {
        run.object_links = objects
            .iter()
            .filter(|o: &&ObjectView| o.run_id == run.run_id)
            .map(|o| ObjectLink { key: o.key.clone(), table: o.table.clone(), page: o.file.clone() })
            .collect();
    }
    for (control, c) in controls.iter_mut().zip(&catalog.controls) {
        control.evidence_items = evidence_items(c, view, &objects, &runs);
        control.simulated = control.evidence_items.iter().any(|e| e.simulated) || simulated.all();
        let failing: Vec<Finding> = view
            .lake_findings
            .iter()
            .filter(|f| c.fails_on.iter().any(|k| k == f.kind.as_str()))
            .map(Finding::as_shown)
            .chain(
                unresolved(&view.findings)
                    .filter(|f| c.fails_on.iter().any(|k| k == f.kind.as_str()))
                    .map(Finding::as_shown),
            )
            .collect();
        control.failing_total = failing.len();
        control.failing = failing.into_iter().take(FAILING_SHOWN).collect();
    }
    let all_findings: Vec<Finding> = view.findings.iter().map(Finding::as_shown).collect();
    let control_ids = catalog.controls.iter().map(|c| c.id.clone()).collect();
    let verified_through = view.latest_verify().and_then(|m| m.verified_through.clone());
    let supply = crate::supply_view::portal_view(
        &view.artefacts,
        &view.markdown_models,
        &all_findings,
        &control_ids,
        verified_through.as_deref(),
    );
    let published_keys = published_keys(view, keyring, &objects);
    PortalModel {
        audience: view.shown_to.clone(),
        simulated: simulated.any(),
        supply,
        objects,
        checkpoint: view.stored.last().and_then(|s| s.checkpoint.clone()).unwrap_or_default(),
        downloads: downloads.to_vec(),
        latest_run: view.manifests.last().map(|m| m.run_id.clone()).unwrap_or_default(),
        summary,
        frameworks,
        controls,
        chains,
        lake_findings,
        standing,
        runs,
        public_key: public.to_minisign_file(),
        key_id: public.key_id_hex(),
        keys: key_views(view, public, keyring),
        published_documents: published_documents(view),
        published_keys,
        oscal: false,
    }
}

/// Every published key document with its last fetches.
fn published_documents(view: &LakeView) -> Vec<PublishedDocumentView> {
    let rows = &view.artefacts.keys;
    histories(rows)
        .into_values()
        .map(|h| {
            let versions: BTreeSet<&str> =
                rows.iter().filter(|r| r.document == h.document).filter_map(|r| r.document_sha256.as_deref()).collect();
            let (last_fetched, document_sha256) = h.last_fetched.clone().unwrap_or_default();
            let (last_failure_at, last_failure) = h.last_failure.clone().unwrap_or_default();
            PublishedDocumentView {
                name: h.document.clone(),
                location: h.location.clone(),
                last_fetched,
                document_sha256,
                versions: versions.len(),
                unreachable: h.failing_since.is_some(),
                last_failure_at,
                last_failure,
            }
        })
        .collect()
}

/// Every key ever seen in a published document: where it came from, when, its rotations and
/// what the keyring lets it sign.
fn published_keys(view: &LakeView, keyring: &Keyring, objects: &[ObjectView]) -> Vec<PublishedKeyView> {
    let heads = view.manifests.last().map(|m| m.chain_heads.clone()).unwrap_or_default();
    let mut out = Vec::new();
    for h in histories(&view.artefacts.keys).into_values() {
        for k in h.keys.values() {
            let trusted =
                keyring.get(&k.kid).filter(|t| cairn_evidence::published::fingerprint(&t.key) == k.fingerprint);
            let patterns = trusted.map(|t| t.chains.clone().unwrap_or_else(|| vec!["*".into()])).unwrap_or_default();
            out.push(PublishedKeyView {
                document: h.document.clone(),
                location: h.location.clone(),
                kid: k.kid.clone(),
                algorithm: k.algorithm.clone(),
                fingerprint: k.fingerprint.clone(),
                state: if k.removed_at.is_some() { "removed" } else { "present" }.into(),
                first_seen: k.first_seen.clone(),
                last_seen: k.last_seen.clone(),
                removed_at: k.removed_at.clone().unwrap_or_default(),
                trusted: trusted.is_some(),
                chains: heads
                    .keys()
                    .filter(|id| patterns.iter().any(|p| glob_match(p, id)))
                    .map(|id| ChainLink { id: id.clone(), file: chain_file_name(id) })
                    .collect(),
                chain_patterns: patterns,
                attestation_patterns: trusted.map(|t| t.attestations.clone()).unwrap_or_default(),
                policy_patterns: trusted.map(|t| t.policies.clone()).unwrap_or_default(),
                history: k
                    .changes
                    .iter()
                    .map(|r| KeyChangeView {
                        at: r.fetched_at.clone(),
                        event: r.event.clone(),
                        fingerprint: r.fingerprint.clone(),
                        previous_fingerprint: r.previous_fingerprint.clone().unwrap_or_default(),
                        document_sha256: r.document_sha256.clone().unwrap_or_default(),
                        object_page: r
                            .blob
                            .as_ref()
                            .and_then(|b| objects.iter().find(|o| &o.key == b))
                            .map(|o| o.file.clone())
                            .unwrap_or_default(),
                        run_id: r.provenance.run_id.clone(),
                    })
                    .collect(),
            });
        }
    }
    out
}

/// A run's page.
fn run_file(run_id: &str) -> String {
    let plain = !run_id.is_empty() && run_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        format!("runs/{run_id}.html")
    } else {
        format!("runs/run-{}.html", &sha256_hex(run_id.as_bytes())[..16])
    }
}

/// The evidence a control's status rests on, each with the run that committed it.
fn evidence_items(
    c: &cairn_controls::Control,
    view: &LakeView,
    objects: &[ObjectView],
    runs: &[RunView],
) -> Vec<EvidenceItemView> {
    use cairn_controls::EvidenceKind;
    use cairn_evidence::tables::names;
    let run_of = |id: &str| runs.iter().find(|r| r.run_id == id);
    let sources_of = |id: &str| {
        let mut names: Vec<&str> =
            run_of(id).map(|r| r.cursors.iter().map(|c| c.source.as_str()).collect()).unwrap_or_default();
        names.dedup();
        names.join(", ")
    };
    let of_object = |o: &ObjectView, label: String, kind: &str| EvidenceItemView {
        label,
        key: o.key.clone(),
        kind: kind.into(),
        sha256: o.sha256.clone(),
        size: o.size,
        rows: o.rows,
        run_id: o.run_id.clone(),
        committed_at: run_of(&o.run_id).map(|r| r.committed_at.clone()).unwrap_or_default(),
        sources: sources_of(&o.run_id),
        page: o.file.clone(),
        simulated: o.simulated,
    };
    let table = |t: &str| -> Vec<EvidenceItemView> {
        objects.iter().filter(|o| o.table == t).map(|o| of_object(o, o.key.clone(), t)).collect()
    };
    match c.evidence {
        EvidenceKind::Events => table(names::EVENTS),
        EvidenceKind::Attestations => table(names::ATTESTATIONS),
        EvidenceKind::Sboms => table(names::SBOMS),
        EvidenceKind::Scans => table(names::SCANS),
        EvidenceKind::Tests => table(names::TEST_RUNS),
        EvidenceKind::ThreatModels => table(names::THREAT_MODELS),
        EvidenceKind::Policies => table(names::POLICIES),
        EvidenceKind::Lake | EvidenceKind::Verification => runs
            .iter()
            .rev()
            .map(|r| EvidenceItemView {
                label: format!("runs/{}.json", r.run_id),
                key: format!("runs/{}.json", r.run_id),
                kind: format!("{} run", r.stage),
                sha256: r.sha256.clone(),
                run_id: r.run_id.clone(),
                committed_at: r.committed_at.clone(),
                sources: sources_of(&r.run_id),
                page: r.file.clone(),
                simulated: r.simulated,
                ..EvidenceItemView::default()
            })
            .collect(),
        EvidenceKind::Manual => view
            .artefacts
            .documents
            .iter()
            .filter(|d| d.controls.split("; ").any(|x| x == c.id))
            .filter_map(|d| {
                let o = objects.iter().find(|o| o.key == d.blob)?;
                Some(of_object(o, format!("{} ({})", d.title, d.date), "document"))
            })
            .collect(),
    }
}

/// Cairn's signing keys as the runs show them, then every key the keyring trusts.
fn key_views(view: &LakeView, public: &PublicKey, keyring: &Keyring) -> Vec<KeyView> {
    let current = public.key_id_hex();
    let mut cairn: Vec<KeyView> = Vec::new();
    for m in &view.manifests {
        match cairn.iter_mut().find(|k| k.kid == m.signing_key_id) {
            Some(k) => {
                k.runs_signed += 1;
                k.last_run.clone_from(&m.run_id);
            }
            None => cairn.push(KeyView {
                kid: m.signing_key_id.clone(),
                role: "cairn".into(),
                current: m.signing_key_id == current,
                runs_signed: 1,
                first_run: m.run_id.clone(),
                last_run: m.run_id.clone(),
                ..KeyView::default()
            }),
        }
    }
    if !cairn.iter().any(|k| k.current) {
        cairn.push(KeyView { kid: current.clone(), role: "cairn".into(), current: true, ..KeyView::default() });
    }
    // Handovers (rotation runs): both keys are known from the statement, and so is where.
    for m in &view.manifests {
        let Some((from, to)) = m.rotation.as_ref().and_then(|r| r.keys().ok()) else { continue };
        if let Some(k) = cairn.iter_mut().find(|k| k.kid == from.key_id_hex()) {
            k.public_key = from.minisign_line();
            k.handed_to = to.key_id_hex();
            k.handed_at.clone_from(&m.run_id);
            k.handed_page = run_file(&m.run_id);
        }
        if let Some(k) = cairn.iter_mut().find(|k| k.kid == to.key_id_hex()) {
            k.public_key = to.minisign_line();
            k.took_over_from = from.key_id_hex();
            k.took_over_at.clone_from(&m.run_id);
            k.took_over_page = run_file(&m.run_id);
        }
    }
    for k in &mut cairn {
        if !k.first_run.is_empty() {
            k.first_run_page = run_file(&k.first_run);
            k.last_run_page = run_file(&k.last_run);
        }
        if k.current {
            k.public_key = public.minisign_line();
        }
    }
    let heads = view.manifests.last().map(|m| m.chain_heads.clone()).unwrap_or_default();
    let time =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map(cairn_evidence::time::format_rfc3339).unwrap_or_default();
    let services = keyring.keys().map(|k| {
        let patterns = k.chains.clone().unwrap_or_else(|| vec!["*".into()]);
        KeyView {
            kid: k.kid.clone(),
            role: "service".into(),
            public_key: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, k.key.as_bytes()),
            not_before: time(k.not_before),
            not_after: time(k.not_after),
            revoked_at: time(k.revoked_at),
            chains: heads
                .keys()
                .filter(|id| patterns.iter().any(|p| glob_match(p, id)))
                .map(|id| ChainLink { id: id.clone(), file: chain_file_name(id) })
                .collect(),
            chain_patterns: patterns,
            attestation_patterns: k.attestations.clone(),
            policy_patterns: k.policies.clone(),
            ..KeyView::default()
        }
    });
    cairn.extend(services);
    cairn
}

fn framework_view(
    key: &str,
    name: &str,
    list: Option<&cairn_controls::frameworks::Framework>,
    rolled: &[RequirementStatus],
    catalog: &cairn_controls::Catalog,
) -> FrameworkView {
    let mine: Vec<&RequirementStatus> = rolled.iter().filter(|r| r.framework == key).collect();
    let count = |pred: &dyn Fn(&RequirementStatus) -> bool| mine.iter().filter(|r| pred(r)).count();
    let covered = count(&|r| matches!(r.coverage, Coverage::Full | Coverage::Partial));
    let passing = count(&|r| r.status == Some(Status::Passing));
    let failing = count(&|r| r.status == Some(Status::Failing));
    FrameworkView {
        key: key.into(),
        name: name.into(),
        version: list.map(|f| f.version.clone()).unwrap_or_default(),
        total: mine.len(),
        gaps: count(&|r| r.coverage == Coverage::None),
        covered,
        passing,
        failing,
        other: covered - passing - failing,
        file: format!("frameworks/{key}.html"),
        requirements: mine
            .iter()
            .map(|r| {
                let requirement = list.and_then(|f| f.requirement(&r.id));
                // The crosswalk is derived through the controls, never hand-copied.
                let mut crosswalk: Vec<String> = catalog
                    .controls
                    .iter()
                    .filter(|c| r.controls.contains(&c.id))
                    .flat_map(|c| c.requirements.iter())
                    .filter(|l| l.framework != key)
                    .map(|l| format!("{} {}", l.framework, l.id))
                    .collect();
                crosswalk.sort();
                crosswalk.dedup();
                RequirementRow {
                    id: r.id.clone(),
                    title: requirement.map(|q| q.title.clone()).unwrap_or_default(),
                    group: requirement.map(|q| q.group.clone()).unwrap_or_default(),
                    coverage: match r.coverage {
                        Coverage::Full => "full",
                        Coverage::Partial => "partial",
                        Coverage::None => "none",
                        Coverage::NotApplicable => "not_applicable",
                    }
                    .into(),
                    status: r.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
                    controls: r.controls.clone(),
                    crosswalk,
                    anchor: crate::model::anchor(&r.id),
                }
            })
            .collect(),
    }
}
