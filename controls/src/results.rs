//! Control results from the lake: each control evaluated as of a verify run, on every committed
//! finding and the collected artefacts, with the lake objects it rests on. Pure: the caller reads
//! the lake and stores the rows (the `control_results` table).

use std::collections::{BTreeMap, BTreeSet};

use cairn_evidence::artefacts::{ArtefactSet as ArtefactTables, ScanRow, TestRunRow};
use cairn_evidence::digest::sha256_hex;
use cairn_evidence::finding::Finding;
use cairn_evidence::lake::StoredManifest;
use cairn_evidence::manifest::{ChainHead, RunManifest, SimulatedObjects};
use cairn_evidence::tables::{names, ControlResultRow};
use cairn_evidence::time::{format_rfc3339, parse_rfc3339};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::catalog::{evaluate, ArtefactEvidence, DocumentEvidence, EvidenceKind, EvidenceSummary};
use crate::user::Checked;

/// What a verify run evaluates controls on.
pub struct EvaluationInput<'a> {
    /// Every committed manifest, oldest first, with its stored bytes.
    pub manifests: &'a [(StoredManifest, RunManifest)],
    /// Every finding: committed ones and this run's.
    pub findings: &'a [Finding],
    /// The chain heads after this run.
    pub heads: &'a BTreeMap<String, ChainHead>,
    /// The collected artefact tables.
    pub artefacts: &'a ArtefactTables,
    /// Which committed objects hold simulated data.
    pub simulated: &'a SimulatedObjects,
}

/// Evaluates every control of `checked` as of verify run `run_id` at `at`: one row each.
pub fn control_results(
    checked: &Checked,
    input: &EvaluationInput<'_>,
    (run_id, at): (&str, DateTime<Utc>),
) -> Result<Vec<ControlResultRow>, serde_json::Error> {
    let mut by_kind = BTreeMap::new();
    for f in input.findings {
        *by_kind.entry(f.kind.as_str().to_string()).or_insert(0u64) += 1;
    }
    let summary = EvidenceSummary {
        events_verified: input.heads.values().map(|h| h.events).sum(),
        chains: input.heads.len() as u64,
        last_verified_at: Some(at),
        findings_by_kind: by_kind,
        artefacts: artefact_evidence(input.artefacts),
        documents: document_evidence(input.artefacts),
    };
    let results = evaluate(&checked.catalog, &summary, at);
    let objects = |table: &str| -> Vec<Value> {
        input
            .manifests
            .iter()
            .flat_map(|(_, m)| m.objects.iter())
            .filter(|e| e.table == table)
            .map(|e| json!({"key": e.key, "sha256": e.sha256}))
            .collect()
    };
    let runs: Vec<Value> =
        input.manifests.iter().map(|(s, _)| json!({"key": s.key, "sha256": sha256_hex(&s.bytes)})).collect();
    let mut rows = Vec::new();
    for (c, r) in checked.catalog.controls.iter().zip(results) {
        let evidence = match c.evidence {
            EvidenceKind::Events => objects(names::EVENTS),
            EvidenceKind::Lake | EvidenceKind::Verification => runs.clone(),
            EvidenceKind::Attestations => objects(names::ATTESTATIONS),
            EvidenceKind::Sboms => objects(names::SBOMS),
            EvidenceKind::Scans => objects(names::SCANS),
            EvidenceKind::Tests => objects(names::TEST_RUNS),
            EvidenceKind::ThreatModels => objects(names::THREAT_MODELS),
            EvidenceKind::Policies => objects(names::POLICIES),
            EvidenceKind::Manual => input
                .artefacts
                .documents
                .iter()
                .filter(|d| d.controls.split("; ").any(|x| x == c.id))
                .map(|d| json!({"key": d.blob, "sha256": d.sha256, "title": d.title, "date": d.date}))
                .collect(),
        };
        let failing: Vec<Value> = input
            .findings
            .iter()
            .filter(|f| c.fails_on.iter().any(|k| k == f.kind.as_str()))
            .map(|f| json!({"kind": f.kind, "chain": f.chain, "seq": f.seq, "run_id": f.run_id}))
            .collect();
        let fresh = !evidence.is_empty();
        rows.push(ControlResultRow {
            run_id: run_id.to_string(),
            control_id: c.id.clone(),
            status: r.status.as_str().to_string(),
            reasons: serde_json::to_string(&r.reasons)?,
            evidence: serde_json::to_string(&evidence)?,
            failing_findings: serde_json::to_string(&failing)?,
            evidence_fresh_at: fresh.then(|| format_rfc3339(at)),
            evaluated_at: at,
            simulated: rests_on_simulated(&evidence, input.simulated),
        });
    }
    Ok(rows)
}

/// Whether a control's evidence (`[{"key", …}]`) rests on simulated data: any collected object
/// of it simulated; for evidence that is the lake's runs, or none, all collected data simulated.
fn rests_on_simulated(evidence: &[serde_json::Value], simulated: &SimulatedObjects) -> bool {
    if evidence.is_empty() {
        return simulated.all();
    }
    evidence.iter().filter_map(|e| e["key"].as_str()).any(|k| simulated.about(Some(k)))
}

fn date_of(text: &str) -> Option<DateTime<Utc>> {
    parse_rfc3339(text).or_else(|| {
        chrono::NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0).map(|t| t.and_utc())
    })
}

/// What controls need to know of the collected artefacts: how many of each kind and the newest
/// one's date (an SBOM's creation, an attestation's build end or collection, a scan's or a test
/// report's run, a model's review).
pub fn artefact_evidence(t: &ArtefactTables) -> BTreeMap<String, ArtefactEvidence> {
    let mut out = BTreeMap::new();
    let attestation_dates =
        t.attestations.iter().map(|a| a.finished_on.as_deref().and_then(date_of).unwrap_or(a.provenance.collected_at));
    let blobs: BTreeSet<&str> = t.attestations.iter().map(|a| a.blob.as_str()).collect();
    out.insert(
        EvidenceKind::Attestations.as_str().to_string(),
        ArtefactEvidence { count: blobs.len() as u64, newest: attestation_dates.max() },
    );
    let sbom_dates =
        t.sboms.iter().map(|s| s.created.as_deref().and_then(date_of).unwrap_or(s.provenance.collected_at));
    out.insert(
        EvidenceKind::Sboms.as_str().to_string(),
        ArtefactEvidence { count: t.sboms.len() as u64, newest: sbom_dates.max() },
    );
    let scans: BTreeSet<&str> = t.scans.iter().map(|s| s.blob.as_str()).collect();
    out.insert(
        EvidenceKind::Scans.as_str().to_string(),
        ArtefactEvidence { count: scans.len() as u64, newest: t.scans.iter().map(ScanRow::ran_at).max() },
    );
    let runs: BTreeSet<&str> = t.test_runs.iter().map(|r| r.blob.as_str()).collect();
    out.insert(
        EvidenceKind::Tests.as_str().to_string(),
        ArtefactEvidence { count: runs.len() as u64, newest: t.test_runs.iter().map(TestRunRow::ran_at).max() },
    );
    let cards: BTreeSet<&str> = t.policies.iter().map(|p| p.card_id.as_str()).collect();
    out.insert(
        EvidenceKind::Policies.as_str().to_string(),
        ArtefactEvidence {
            count: cards.len() as u64,
            newest: t.policies.iter().filter_map(|p| parse_rfc3339(&p.issued_at)).max(),
        },
    );
    out.insert(
        EvidenceKind::ThreatModels.as_str().to_string(),
        ArtefactEvidence {
            count: t.threat_models.len() as u64,
            newest: t
                .threat_models
                .iter()
                .map(|m| m.reviewed.as_deref().and_then(date_of).unwrap_or(m.provenance.collected_at))
                .max(),
        },
    );
    out
}

/// Recorded documents by the control ids they name.
pub fn document_evidence(t: &ArtefactTables) -> BTreeMap<String, Vec<DocumentEvidence>> {
    let mut out: BTreeMap<String, Vec<DocumentEvidence>> = BTreeMap::new();
    for d in &t.documents {
        let Some(date) = date_of(&d.date) else { continue };
        for control in d.controls.split("; ").filter(|c| !c.is_empty()) {
            out.entry(control.to_string()).or_default().push(DocumentEvidence {
                title: d.title.clone(),
                owner: d.owner.clone(),
                date,
            });
        }
    }
    out
}
