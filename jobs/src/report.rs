//! Turns what the lake holds into the portal's model and the bundle's evidence files.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use anyhow::Result;
use cairn_controls::{evaluate, Catalog, ControlResult, EvidenceSummary, Status, FRAMEWORKS};
use cairn_evidence::digest::sha256_hex;
use cairn_evidence::keys::PublicKey;
use cairn_evidence::manifest::Stage;
use cairn_evidence::tables::FindingRow;
use cairn_evidence::time::parse_rfc3339;
use cairn_renderer::bundle::BundleFile;
use cairn_renderer::markdown;
use cairn_renderer::model::{
    chain_file_name, ChainView, ControlView, FindingView, FrameworkView, PortalModel, RequirementView, RunView,
    SummaryView,
};
use cairn_verifier::{Finding, FindingKind};
use serde::Serialize;

use crate::pipeline::LakeView;

fn view_of_row(f: &FindingRow) -> FindingView {
    FindingView {
        kind: f.kind.clone(),
        chain: f.chain.clone(),
        seq: f.seq,
        object_key: f.object_key.clone(),
        line: f.line,
        detail: f.detail.clone(),
        run_id: f.run_id.clone(),
    }
}

fn view_of_finding(f: &Finding) -> FindingView {
    FindingView {
        kind: f.kind.as_str().into(),
        chain: f.chain.clone(),
        seq: f.seq,
        object_key: f.object_key.clone(),
        line: f.line,
        detail: f.detail.clone(),
        run_id: String::new(),
    }
}

/// The evidence summary controls are evaluated on.
pub fn evidence_summary(view: &LakeView) -> EvidenceSummary {
    let heads = view.manifests.last().map(|m| m.chain_heads.clone()).unwrap_or_default();
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for f in &view.findings {
        *by_kind.entry(f.kind.clone()).or_insert(0) += 1;
    }
    for f in &view.lake_findings {
        *by_kind.entry(f.kind.as_str().to_string()).or_insert(0) += 1;
    }
    EvidenceSummary {
        events_verified: heads.values().map(|h| h.events).sum(),
        chains: heads.len() as u64,
        last_verified_at: view.latest_verify().and_then(|m| parse_rfc3339(&m.committed_at)),
        findings_by_kind: by_kind,
    }
}

/// Builds the portal model.
pub fn portal_model(view: &LakeView, catalog: &Catalog, public: &PublicKey) -> PortalModel {
    let evidence = evidence_summary(view);
    let results = evaluate(catalog, &evidence, view.as_of());
    let count = |pred: &dyn Fn(FindingKind) -> bool| -> u64 {
        view.findings.iter().filter(|f| FindingKind::parse(&f.kind).is_some_and(pred)).count() as u64
            + view.lake_findings.iter().filter(|f| pred(f.kind)).count() as u64
    };
    let summary = SummaryView {
        events_verified: evidence.events_verified,
        chains: evidence.chains,
        breaks: count(&|k| {
            k.is_break() && !matches!(k, FindingKind::BadSignature | FindingKind::UnknownKey | FindingKind::KeyNotValid)
        }),
        signature_failures: count(&|k| {
            matches!(k, FindingKind::BadSignature | FindingKind::UnknownKey | FindingKind::KeyNotValid)
        }),
        duplicates: count(&|k| k == FindingKind::Duplicate),
        findings_total: (view.findings.len() + view.lake_findings.len()) as u64,
        quarantined: view.quarantined,
        last_verified_at: view.latest_verify().map(|m| m.committed_at.clone()),
    };
    let controls: Vec<ControlView> = catalog
        .controls
        .iter()
        .zip(&results)
        .map(|(c, r)| ControlView {
            id: c.id.clone(),
            title: c.title.clone(),
            description_html: markdown::to_html(&c.description),
            evidence: format!("{:?}", c.evidence).to_lowercase(),
            fails_on: c.fails_on.clone(),
            max_age_days: c.max_age_days,
            status: r.status.as_str().into(),
            reasons: r.reasons.clone(),
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
        })
        .collect();
    let frameworks = FRAMEWORKS.iter().map(|(key, name)| framework_view(key, name, catalog, &results)).collect();
    let heads = view.manifests.last().map(|m| m.chain_heads.clone()).unwrap_or_default();
    let chains = heads
        .iter()
        .map(|(id, h)| ChainView {
            id: id.clone(),
            file: chain_file_name(id),
            events: h.events,
            head_seq: h.seq,
            head_hash: h.hash.clone(),
            head_ts: h.ts.clone(),
            findings: view.findings.iter().filter(|f| f.chain.as_deref() == Some(id)).map(view_of_row).collect(),
        })
        .collect();
    let mut lake_findings: Vec<FindingView> = view.lake_findings.iter().map(view_of_finding).collect();
    lake_findings.extend(view.findings.iter().filter(|f| f.chain.is_none()).map(view_of_row));
    let runs = view
        .stored
        .iter()
        .zip(view.manifests.iter())
        .rev()
        .map(|(s, m)| RunView {
            run_id: m.run_id.clone(),
            stage: match m.stage {
                Stage::Collect => "collect".into(),
                Stage::Verify => "verify".into(),
            },
            committed_at: m.committed_at.clone(),
            objects: m.objects.len(),
            sha256: sha256_hex(&s.bytes),
            previous: m.previous.as_ref().map(|p| p.run_id.clone()),
            merkle_size: m.merkle.size,
            merkle_root: m.merkle.root.clone(),
        })
        .collect();
    PortalModel {
        latest_run: view.manifests.last().map(|m| m.run_id.clone()).unwrap_or_default(),
        summary,
        frameworks,
        controls,
        chains,
        lake_findings,
        runs,
        public_key: public.to_minisign_file(),
        key_id: public.key_id_hex(),
    }
}

fn framework_view(key: &str, name: &str, catalog: &Catalog, results: &[ControlResult]) -> FrameworkView {
    let mut by_requirement: BTreeMap<&str, Vec<Status>> = BTreeMap::new();
    for (c, r) in catalog.controls.iter().zip(results) {
        for link in c.requirements.iter().filter(|l| l.framework == key) {
            by_requirement.entry(link.id.as_str()).or_default().push(r.status);
        }
    }
    let failing = by_requirement.values().filter(|s| s.contains(&Status::Failing)).count();
    let passing = by_requirement.values().filter(|s| s.iter().all(|x| *x == Status::Passing)).count();
    FrameworkView {
        key: key.into(),
        name: name.into(),
        covered: by_requirement.len(),
        passing,
        failing,
        other: by_requirement.len() - passing - failing,
    }
}

#[derive(Serialize)]
struct VerificationReport<'a> {
    format: &'static str,
    as_of_run: &'a str,
    summary: &'a SummaryView,
    chains: &'a [ChainView],
    lake_findings: &'a [FindingView],
    controls: Vec<ControlStatus<'a>>,
}

#[derive(Serialize)]
struct ControlStatus<'a> {
    id: &'a str,
    status: &'a str,
    reasons: &'a [String],
}

fn csv_field(value: &str) -> String {
    // Quote everything; neutralise spreadsheet formulas in evidence text.
    let v = if value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value.to_string() };
    format!("\"{}\"", v.replace('"', "\"\""))
}

/// The evidence files of a run bundle.
pub fn bundle_files(view: &LakeView, model: &PortalModel) -> Result<Vec<BundleFile>> {
    let report = VerificationReport {
        format: "cairn-verification-report/1",
        as_of_run: &model.latest_run,
        summary: &model.summary,
        chains: &model.chains,
        lake_findings: &model.lake_findings,
        controls: model
            .controls
            .iter()
            .map(|c| ControlStatus { id: &c.id, status: &c.status, reasons: &c.reasons })
            .collect(),
    };
    let mut report_bytes = serde_json::to_vec_pretty(&report)?;
    report_bytes.push(b'\n');
    let mut findings_csv = String::from("kind,chain,seq,object_key,line,detail,run_id\n");
    let all: Vec<FindingView> = model
        .chains
        .iter()
        .flat_map(|c| c.findings.iter().cloned())
        .chain(model.lake_findings.iter().cloned())
        .collect();
    for f in &all {
        let _ = writeln!(
            findings_csv,
            "{},{},{},{},{},{},{}",
            csv_field(&f.kind),
            csv_field(f.chain.as_deref().unwrap_or("")),
            f.seq.map(|s| s.to_string()).unwrap_or_default(),
            csv_field(f.object_key.as_deref().unwrap_or("")),
            f.line.map(|s| s.to_string()).unwrap_or_default(),
            csv_field(&f.detail),
            csv_field(&f.run_id)
        );
    }
    let mut controls_csv = String::from("control,title,status,framework,requirement,relationship,evidence\n");
    let mut seen = BTreeSet::new();
    for c in &model.controls {
        for r in &c.requirements {
            if seen.insert((c.id.clone(), r.framework.clone(), r.id.clone())) {
                let _ = writeln!(
                    controls_csv,
                    "{},{},{},{},{},{},{}",
                    csv_field(&c.id),
                    csv_field(&c.title),
                    csv_field(&c.status),
                    csv_field(&r.framework),
                    csv_field(&r.id),
                    csv_field(&r.relationship),
                    csv_field("evidence/verification-report.json")
                );
            }
        }
    }
    let mut files = vec![
        BundleFile {
            path: "evidence/verification-report.json".into(),
            kind: "verification_report".into(),
            bytes: report_bytes,
        },
        BundleFile {
            path: "evidence/findings.csv".into(),
            kind: "findings_csv".into(),
            bytes: findings_csv.into_bytes(),
        },
        BundleFile {
            path: "evidence/controls.csv".into(),
            kind: "controls_csv".into(),
            bytes: controls_csv.into_bytes(),
        },
    ];
    if let Some(stored) = view.stored.last() {
        files.push(BundleFile {
            path: "evidence/run-manifest.json".into(),
            kind: "run_manifest".into(),
            bytes: stored.bytes.to_vec(),
        });
        if let Some(sig) = &stored.signature {
            files.push(BundleFile {
                path: "evidence/run-manifest.json.minisig".into(),
                kind: "run_manifest_signature".into(),
                bytes: sig.clone().into_bytes(),
            });
        }
    }
    Ok(files)
}
