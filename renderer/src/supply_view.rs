//! The portal's view of the supply-chain and design evidence: releases, attestations, SBOMs
//! (with their diffs), threat models and recorded documents.

use std::collections::{BTreeMap, BTreeSet};

use cairn_evidence::artefacts::ArtefactSet as ArtefactTables;
use cairn_evidence::finding::{Finding, FindingKind};

use crate::markdown;

/// The portal's view of the supply-chain and design evidence. `findings` are every committed
/// finding; `controls` the catalog's control ids (threats link only to controls that exist).
pub fn portal_view(
    t: &ArtefactTables,
    markdown: &BTreeMap<String, String>,
    findings: &[Finding],
    controls: &BTreeSet<String>,
    verified_through: Option<&str>,
) -> crate::model::SupplyView {
    use crate::model::{
        artefact_file_name, AttestationView, ComponentView, ReleaseFileView, SbomView, SubjectView, SupplyView,
        ThreatModelView, ThreatView,
    };
    let about = |object: &str, line: Option<u64>| -> Vec<Finding> {
        findings
            .iter()
            .filter(|f| f.object_key.as_deref() == Some(object) && (line.is_none() || f.line == line))
            .cloned()
            .collect()
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let verified = |run: &str| verified_through.is_some_and(|v| run <= v);

    // Attestations: one view per collected record, its subjects gathered.
    let mut attestations: Vec<AttestationView> = Vec::new();
    for a in &t.attestations {
        let p = &a.provenance;
        let subject =
            SubjectView { name: a.subject_name.clone(), alg: a.digest_alg.clone(), digest: a.digest_value.clone() };
        let file = artefact_file_name("attestation", &a.blob, &p.object_key, p.line, &p.run_id);
        if let Some(v) = attestations.iter_mut().find(|v| v.file == file) {
            v.subjects.push(subject);
            continue;
        }
        let own = about(&p.object_key, Some(p.line));
        let sig_failure =
            own.iter().find(|f| matches!(f.kind, FindingKind::AttestationSignature | FindingKind::SignerIdentity));
        let tlog_failure = own.iter().find(|f| f.kind == FindingKind::TlogInclusion);
        let (state, status) = if let Some(f) = sig_failure {
            ("failed", format!("signature check failed: {}", f.detail))
        } else if !verified(&p.run_id) {
            ("pending", "collected; not yet verified".to_string())
        } else if a.signer_kind == "keyless" && tlog_failure.is_none() {
            (
                "verified",
                format!(
                    "keyless signature verified: the certificate of {} (issuer {}) chains to the trusted Sigstore root and was valid when it signed, and that identity is trusted for this source",
                    a.signer,
                    a.signer_issuer.as_deref().unwrap_or("not stated")
                ),
            )
        } else if a.signer_kind == "keyless" {
            ("failed", "keyless signature not verified: its transparency-log entry failed".to_string())
        } else if a.format == "dsse" || !a.predicate_type.is_empty() {
            ("verified", "signature verified with a key the keyring trusts for this source".to_string())
        } else {
            ("not_verified", "not verified: a signature over the artefact itself, which is not collected".to_string())
        };
        let tlog_status = match (a.tlog_entries, tlog_failure) {
            (0, _) => "no transparency-log entry".to_string(),
            (_, Some(f)) => format!("inclusion proof failed: {}", f.detail),
            (n, None) if verified(&p.run_id) => format!(
                "{n} entr{} whose inclusion proof leads to the root its checkpoint names (the log's own signature is not checked: its key is not kept)",
                if n == 1 { "y" } else { "ies" }
            ),
            (n, None) => format!("{n} entries, not yet checked"),
        };
        let materials: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(&a.materials)
            .unwrap_or_default()
            .iter()
            .map(|m| {
                let digests: Vec<String> = m["digest"]
                    .as_object()
                    .map(|d| d.iter().map(|(k, v)| format!("{k}:{}", v.as_str().unwrap_or_default())).collect())
                    .unwrap_or_default();
                format!("{} {}", m["uri"].as_str().unwrap_or_default(), digests.join(" "))
            })
            .collect();
        attestations.push(AttestationView {
            simulated: p.simulated,
            file: artefact_file_name("attestation", &a.blob, &p.object_key, p.line, &p.run_id),
            source_object: p.object_key.clone(),
            line: p.line,
            blob: a.blob.clone(),
            format: a.format.clone(),
            predicate_type: a.predicate_type.clone(),
            subjects: vec![subject],
            builder_id: opt(&a.builder_id),
            build_type: opt(&a.build_type),
            source_repo: opt(&a.source_repo),
            source_commit: opt(&a.source_commit),
            invocation_id: opt(&a.invocation_id),
            started_on: opt(&a.started_on),
            finished_on: opt(&a.finished_on),
            materials,
            signer: if a.signer.is_empty() { a.signer_kind.clone() } else { a.signer.clone() },
            signature_state: state.into(),
            signature_status: status,
            tlog_status,
            findings: own,
        });
    }

    // SBOMs with their components, licence summary and changes.
    let mut sboms = Vec::new();
    for s in &t.sboms {
        let p = &s.provenance;
        let mut components = Vec::new();
        let mut licenses: BTreeMap<String, u64> = BTreeMap::new();
        for c in t.components.iter().filter(|c| c.sbom_blob == s.blob && c.provenance.run_id == p.run_id) {
            let lic = c.licenses.clone().unwrap_or_else(|| "not stated".into());
            *licenses.entry(lic.clone()).or_insert(0) += 1;
            components.push(ComponentView {
                name: c.name.clone(),
                version: opt(&c.version),
                purl: opt(&c.purl),
                kind: opt(&c.component_type),
                licenses: lic,
                supplier: opt(&c.supplier),
                hashes: c.hashes.clone(),
            });
        }
        let mut licenses: Vec<(String, u64)> = licenses.into_iter().collect();
        licenses.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let changes = t
            .diffs
            .iter()
            .filter(|d| d.to_blob == s.blob)
            .map(|d| match d.change.as_str() {
                "changed" => format!("changed {} {} → {}", d.name, opt(&d.from_version), opt(&d.to_version)),
                "added" => format!("added {} {}", d.name, opt(&d.to_version)),
                other => format!("{other} {} {}", d.name, opt(&d.from_version)),
            })
            .collect();
        sboms.push(SbomView {
            simulated: p.simulated,
            file: artefact_file_name("sbom", &s.blob, &p.object_key, p.line, &p.run_id),
            source_object: p.object_key.clone(),
            blob: s.blob.clone(),
            spec: s.spec.clone(),
            document: s.document.clone(),
            subject: s.subject.clone(),
            subject_version: opt(&s.subject_version),
            tool: s.tool.clone(),
            created: opt(&s.created),
            components,
            licenses,
            changes,
            findings: about(&p.object_key, None),
        });
    }

    let scans = scan_views(t, findings);
    let test_runs = test_run_views(t, findings);

    // Threat models with their threats, linked to the controls they name.
    let mut threat_models = Vec::new();
    for m in &t.threat_models {
        let p = &m.provenance;
        let threats = t
            .threats
            .iter()
            .filter(|x| {
                x.model_blob == m.blob && x.provenance.run_id == p.run_id && x.provenance.object_key == p.object_key
            })
            .map(|x| {
                let named: Vec<String> = x.controls.split("; ").filter(|c| !c.is_empty()).map(str::to_string).collect();
                let (known, unknown): (Vec<String>, Vec<String>) =
                    named.into_iter().partition(|c| controls.contains(c));
                ThreatView {
                    id: x.threat_id.clone(),
                    title: x.title.clone(),
                    category: opt(&x.category),
                    severity: opt(&x.severity),
                    status: x.status.clone(),
                    open: x.status.eq_ignore_ascii_case("open") || x.status.eq_ignore_ascii_case("identified"),
                    mitigation: opt(&x.mitigation),
                    element: opt(&x.element),
                    controls: known,
                    unknown_controls: unknown,
                }
            })
            .collect();
        threat_models.push(ThreatModelView {
            simulated: p.simulated,
            file: artefact_file_name("threat-model", &m.blob, &p.object_key, p.line, &p.run_id),
            source_object: p.object_key.clone(),
            blob: m.blob.clone(),
            format: m.format.clone(),
            title: m.title.clone(),
            subsystem: opt(&m.subsystem),
            owner: opt(&m.owner),
            reviewer: opt(&m.reviewer),
            reviewed: opt(&m.reviewed),
            open: m.open_threats,
            threats,
            findings: about(&p.object_key, None),
            body_html: markdown.get(&m.blob).map(|text| markdown::to_html(text)).unwrap_or_default(),
        });
    }

    // Release files, with what vouches for them.
    let releases = t
        .artefacts
        .iter()
        .map(|r| {
            let release = cairn_verifier::supply::release_of(r);
            ReleaseFileView {
                name: r.name.clone(),
                sha256: r.sha256.clone(),
                size: r.size,
                attested_by: attestations
                    .iter()
                    .filter(|a| a.subjects.iter().any(|s| s.alg == "sha256" && s.digest == r.sha256))
                    .map(|a| a.file.clone())
                    .collect(),
                sboms: sboms
                    .iter()
                    .filter(|s| {
                        release.as_ref().is_some_and(|(subject, version)| {
                            s.subject.rsplit('/').next() == Some(subject.as_str()) && s.subject_version == *version
                        })
                    })
                    .map(|s| s.file.clone())
                    .collect(),
                findings: about(&r.provenance.object_key, None),
            }
        })
        .collect();
    let documents = t
        .documents
        .iter()
        .map(|d| crate::model::DocumentView {
            file: d.file.clone(),
            title: d.title.clone(),
            controls: d.controls.split("; ").filter(|c| controls.contains(*c)).map(str::to_string).collect(),
            owner: d.owner.clone(),
            date: d.date.clone(),
            sha256: d.sha256.clone(),
            blob: d.blob.clone(),
        })
        .collect();
    SupplyView { releases, attestations, sboms, scans, test_runs, threat_models, documents }
}

/// Each test report with its cases, worst first, and the open gate findings about it.
fn test_run_views(t: &ArtefactTables, findings: &[Finding]) -> Vec<crate::model::TestRunView> {
    use cairn_verifier::test_runs::case_label;

    use crate::model::{artefact_file_name, TestCaseView, TestRunView};
    let open: Vec<&Finding> = cairn_verifier::open::unresolved(findings)
        .filter(|f| matches!(f.kind, FindingKind::ReleaseTestsFailed | FindingKind::TestQuarantineOverdue))
        .collect();
    let mut latest: BTreeMap<(&str, Option<&str>, &str), chrono::DateTime<chrono::Utc>> = BTreeMap::new();
    for r in &t.test_runs {
        let at = latest.entry((&r.subject, r.subject_version.as_deref(), &r.file)).or_insert(r.ran_at());
        *at = (*at).max(r.ran_at());
    }
    // Cases by the report they came from, so each page reads only its own.
    let mut by_run: BTreeMap<&str, Vec<&cairn_evidence::artefacts::TestCaseRow>> = BTreeMap::new();
    for c in &t.test_cases {
        by_run.entry(c.run_blob.as_str()).or_default().push(c);
    }
    let rank = |s: &str| ["failed", "error", "quarantined", "skipped"].iter().position(|x| *x == s).unwrap_or(4);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for r in &t.test_runs {
        let p = &r.provenance;
        if !seen.insert(r.blob.as_str()) {
            continue;
        }
        let mut cases: Vec<TestCaseView> = by_run
            .get(r.blob.as_str())
            .into_iter()
            .flatten()
            .copied()
            .filter(|c| c.provenance.run_id == p.run_id)
            .map(|c| TestCaseView {
                label: case_label(c),
                status: c.status.clone(),
                reruns: c.reruns,
                time: c.time.clone().unwrap_or_default(),
                message: c.message.clone().unwrap_or_default(),
                tags: c.tags.clone(),
            })
            .collect();
        cases.sort_by(|a, b| {
            (rank(&a.status), a.reruns == 0, &a.label).cmp(&(rank(&b.status), b.reruns == 0, &b.label))
        });
        let ran_at = r.ran_at();
        let release = match &r.subject_version {
            Some(v) => format!("{} {v}", r.subject),
            None => r.subject.clone(),
        };
        let own = open
            .iter()
            .filter(|f| {
                f.object_key.as_deref() == Some(p.object_key.as_str())
                    || (f.kind == FindingKind::TestQuarantineOverdue
                        && f.detail.starts_with(&format!("test {}: ", r.subject)))
                    || f.detail.starts_with(&format!("tests of {release} in {} ", r.file))
            })
            .map(|f| (*f).clone())
            .collect();
        out.push(TestRunView {
            file: artefact_file_name("tests", &r.blob, &p.object_key, p.line, &p.run_id),
            source_object: p.object_key.clone(),
            blob: r.blob.clone(),
            report: r.file.clone(),
            name: r.name.clone(),
            subject: r.subject.clone(),
            subject_version: r.subject_version.clone().unwrap_or_default(),
            started_at: cairn_evidence::time::format_rfc3339(ran_at),
            latest: latest.get(&(r.subject.as_str(), r.subject_version.as_deref(), r.file.as_str())) == Some(&ran_at),
            tests: r.tests,
            passed: r.passed,
            failed: r.failed,
            errors: r.errors,
            skipped: r.skipped,
            quarantined: r.quarantined,
            flaky: r.flaky,
            stated_mismatch: r.stated_mismatch.clone().unwrap_or_default(),
            tags: r.tags.clone(),
            cases,
            findings: own,
            simulated: p.simulated,
        });
    }
    out.sort_by(|a, b| {
        (&a.subject, &a.subject_version, &b.started_at, &a.report, &a.file).cmp(&(
            &b.subject,
            &b.subject_version,
            &a.started_at,
            &b.report,
            &b.file,
        ))
    });
    out
}

/// Severities, most severe first, as the `severity` column writes them.
const SEVERITY_ORDER: [&str; 6] = cairn_verifier::vulnerabilities::SEVERITIES;

fn severity_rank(s: &str) -> usize {
    SEVERITY_ORDER.iter().position(|x| *x == s).unwrap_or(SEVERITY_ORDER.len())
}

/// Each scan with its vulnerabilities, their first-seen day and age at the scan, the changes
/// since the previous scan, and the gate findings still open about them.
fn scan_views(t: &ArtefactTables, findings: &[Finding]) -> Vec<crate::model::ScanView> {
    use cairn_verifier::vulnerabilities::{first_seen, name_of, named_in, on};

    use crate::model::{artefact_file_name, ScanView, VulnerabilityView};
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let first = first_seen(&t.scans, &t.vulnerabilities);
    // Rows by the report they came from, so each page reads only its own.
    let mut by_scan: BTreeMap<&str, Vec<&cairn_evidence::artefacts::VulnerabilityRow>> = BTreeMap::new();
    for v in &t.vulnerabilities {
        by_scan.entry(v.scan_blob.as_str()).or_default().push(v);
    }
    let open_gates: BTreeMap<&str, &Finding> = cairn_verifier::open::unresolved(findings)
        .filter(|f| f.kind == FindingKind::VulnerabilityGate)
        .filter_map(|f| Some((named_in(f)?, f)))
        .collect();
    // The latest scan of each release by each scanner.
    let mut latest: BTreeMap<(&str, Option<&str>, &str), chrono::DateTime<chrono::Utc>> = BTreeMap::new();
    for s in &t.scans {
        let at = latest.entry((&s.subject, s.subject_version.as_deref(), &s.scanner)).or_insert(s.ran_at());
        *at = (*at).max(s.ran_at());
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for s in &t.scans {
        let p = &s.provenance;
        if !seen.insert(s.blob.as_str()) {
            continue;
        }
        let ran_at = s.ran_at();
        let mut gate_findings = Vec::new();
        let mut listed = BTreeSet::new();
        let mut vulnerabilities: Vec<VulnerabilityView> = by_scan
            .get(s.blob.as_str())
            .into_iter()
            .flatten()
            .copied()
            .filter(|v| v.provenance.run_id == p.run_id)
            .filter(|v| listed.insert((v.vulnerability_id.as_str(), on(v))))
            .map(|v| {
                let since = first
                    .get(&(s.blob.clone(), v.vulnerability_id.clone(), on(v).to_string()))
                    .copied()
                    .unwrap_or(ran_at);
                let gate = open_gates.get(name_of(v).as_str());
                if let Some(f) = gate {
                    gate_findings.push((*f).clone());
                }
                VulnerabilityView {
                    id: v.vulnerability_id.clone(),
                    aliases: v.aliases.clone(),
                    on: on(v).to_string(),
                    version: opt(&v.package_version),
                    severity: v.severity.clone(),
                    cvss: opt(&v.cvss_score),
                    fix_state: v.fix_state.replace('_', " "),
                    fixed_version: opt(&v.fixed_version),
                    title: opt(&v.title),
                    first_seen: since.format("%Y-%m-%d").to_string(),
                    age_days: (ran_at - since).num_days(),
                    past_gate: gate.is_some(),
                }
            })
            .collect();
        vulnerabilities.sort_by(|a, b| {
            (severity_rank(&a.severity), b.age_days, &a.id, &a.on).cmp(&(
                severity_rank(&b.severity),
                a.age_days,
                &b.id,
                &b.on,
            ))
        });
        let mut counts: Vec<(String, u64)> = Vec::new();
        for sev in SEVERITY_ORDER {
            let n = vulnerabilities.iter().filter(|v| v.severity == sev).count() as u64;
            if n > 0 {
                counts.push((sev.to_string(), n));
            }
        }
        let changes = t
            .vulnerability_changes
            .iter()
            .filter(|c| c.to_blob == s.blob)
            .map(|c| {
                let on =
                    c.package.as_deref().map(|p| format!(" in {p} {}", opt(&c.package_version))).unwrap_or_default();
                format!("{} {} ({}){}", c.change, c.vulnerability_id, c.severity, on.trim_end())
            })
            .collect();
        let scanner = match &s.scanner_version {
            Some(v) => format!("{} {v}", s.scanner),
            None => s.scanner.clone(),
        };
        out.push(ScanView {
            file: artefact_file_name("scan", &s.blob, &p.object_key, p.line, &p.run_id),
            source_object: p.object_key.clone(),
            blob: s.blob.clone(),
            format: s.format.clone(),
            scanner,
            target: s.target.clone(),
            subject: s.subject.clone(),
            subject_version: opt(&s.subject_version),
            scanned_at: cairn_evidence::time::format_rfc3339(ran_at),
            latest: latest.get(&(s.subject.as_str(), s.subject_version.as_deref(), s.scanner.as_str()))
                == Some(&ran_at),
            counts,
            past_gate: gate_findings.len() as u64,
            vulnerabilities,
            changes,
            findings: gate_findings,
            simulated: p.simulated,
        });
    }
    out.sort_by(|a, b| {
        (&a.subject, &a.subject_version, &b.scanned_at, &a.scanner, &a.file).cmp(&(
            &b.subject,
            &b.subject_version,
            &a.scanned_at,
            &b.scanner,
            &b.file,
        ))
    });
    out
}
