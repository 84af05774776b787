//! The verify stage's supply-chain and design checks: attestation signatures and
//! transparency-log proofs, the approved-dependency register, releases against their
//! attestations and SBOMs, threat-model review, and SBOM diffs.
//!
//! Like chain verification, each artefact is checked once: in the first verify run after the
//! collect run that brought it (or again with `verify --full`).

use std::collections::{BTreeMap, BTreeSet};

use cairn_renderer::markdown;

use anyhow::{Context as _, Result};
use cairn_collector::find_record;
use cairn_evidence::artefacts::{
    ArtefactRow, ArtefactSet, AttestationRow, LakeTable, SbomComponentRow, SbomDiffRow, ThreatModelRow, ThreatRow,
};
use cairn_evidence::attest::{Bundle, BundleContent, Envelope, SignerMaterial};
use cairn_evidence::digest::sha256_hex;
use cairn_evidence::keyring::{KeyUse, Keyring, TrustedKey};
use cairn_evidence::lake::Lake;
use cairn_evidence::manifest::RunManifest;
use cairn_evidence::tables;
use cairn_verifier::attest::{check_envelope, check_tlog_entry, SignatureCheck, TlogCheck};
use cairn_verifier::supply::{check_components, check_releases, check_threat_models, sbom_diff, Register};
use cairn_verifier::{Finding, FindingKind};
use chrono::{DateTime, Utc};

use crate::config::Config;

/// Every committed row of one artefact table, oldest run first.
pub async fn read_table<T: LakeTable>(lake: &Lake, manifests: &[RunManifest]) -> Result<Vec<T>> {
    let mut rows = Vec::new();
    for entry in manifests.iter().flat_map(|m| m.objects.iter()).filter(|e| e.table == T::TABLE) {
        let bytes = lake.get_checked(entry).await?;
        for batch in tables::from_parquet(bytes).with_context(|| format!("cannot decode {}", entry.key))? {
            rows.extend(T::from_batch(&batch?).with_context(|| format!("{} is not a {} table", entry.key, T::TABLE))?);
        }
    }
    Ok(rows)
}

/// All artefact rows in the lake.
pub type ArtefactTables = ArtefactSet;

/// Reads every artefact table of the committed runs.
pub async fn read_artefacts(lake: &Lake, manifests: &[RunManifest]) -> Result<ArtefactTables> {
    Ok(ArtefactSet {
        attestations: read_table(lake, manifests).await?,
        sboms: read_table(lake, manifests).await?,
        components: read_table(lake, manifests).await?,
        diffs: read_table(lake, manifests).await?,
        threat_models: read_table(lake, manifests).await?,
        threats: read_table(lake, manifests).await?,
        artefacts: read_table(lake, manifests).await?,
        documents: read_table(lake, manifests).await?,
        policies: read_table(lake, manifests).await?,
        keys: read_table(lake, manifests).await?,
    })
}

/// The largest Markdown threat model rendered on its page; a larger one is linked, not shown.
pub const MARKDOWN_SHOWN_LIMIT: u64 = 1024 * 1024;

/// The text of every Markdown threat model, by blob key, read from the lake.
pub async fn markdown_models(
    lake: &Lake,
    manifests: &[RunManifest],
    t: &ArtefactTables,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for m in t.threat_models.iter().filter(|m| m.format == "markdown") {
        let entry = manifests.iter().flat_map(|r| r.objects.iter()).find(|e| e.key == m.blob);
        if let Some(entry) = entry.filter(|e| e.size <= MARKDOWN_SHOWN_LIMIT) {
            let bytes = lake.get_checked(entry).await?;
            out.insert(m.blob.clone(), String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    Ok(out)
}

/// What the supply-chain checks found and derived.
pub struct SupplyOutcome {
    /// Findings.
    pub findings: Vec<Finding>,
    /// Component changes between successive SBOMs of a subject.
    pub diffs: Vec<SbomDiffRow>,
}

fn finding_at(kind: FindingKind, object_key: &str, line: u64, detail: String) -> Finding {
    Finding { kind, chain: None, seq: None, object_key: Some(object_key.to_string()), line: Some(line), detail }
}

/// Keys trusted to sign attestations of `source` at `at`.
fn attestation_keys<'k>(keyring: &'k Keyring, source: &str, at: DateTime<Utc>) -> Vec<&'k TrustedKey> {
    keyring.keys().filter(|k| k.permits_attestation(source, Some(at)) == KeyUse::Allowed).collect()
}

/// Re-checks one collected attestation record from its stored blob.
fn check_attestation(row: &AttestationRow, blob: &[u8], keyring: &Keyring) -> Vec<Finding> {
    let p = &row.provenance;
    let at = |kind, detail| finding_at(kind, &p.object_key, p.line, detail);
    let Some(record) = find_record(blob, &p.object_key, &p.record_sha256) else {
        return vec![at(
            FindingKind::AttestationSignature,
            format!("the stored blob {} no longer holds the record collected", row.blob),
        )];
    };
    let keys = attestation_keys(keyring, &p.source, p.collected_at);
    let parsed = serde_json::from_slice::<serde_json::Value>(record).map_err(|e| e.to_string());
    let mut out = Vec::new();
    match row.format.as_str() {
        "dsse" => match parsed.and_then(|v| Envelope::from_value(&v, "envelope").map_err(|e| e.to_string())) {
            Err(e) => out.push(at(FindingKind::AttestationSignature, format!("the envelope does not parse: {e}"))),
            Ok(envelope) => {
                if let SignatureCheck::Failed(why) = check_envelope(&envelope, &keys) {
                    out.push(at(FindingKind::AttestationSignature, why));
                }
            }
        },
        _ => match parsed.and_then(|v| Bundle::from_value(&v).map_err(|e| e.to_string())) {
            Err(e) => out.push(at(FindingKind::AttestationSignature, format!("the bundle does not parse: {e}"))),
            Ok(bundle) => {
                // Keyless signatures are shown with their identity, not verified; a bundle signed
                // with a key is checked like an envelope, with the key its hint names.
                if let (SignerMaterial::PublicKey { hint }, BundleContent::Dsse(envelope)) =
                    (&bundle.signer, &bundle.content)
                {
                    let named: Vec<&TrustedKey> =
                        keys.iter().copied().filter(|k| hint.is_empty() || k.kid == *hint).collect();
                    if let SignatureCheck::Failed(why) = check_envelope(envelope, &named) {
                        out.push(at(FindingKind::AttestationSignature, why));
                    }
                }
                for (i, entry) in bundle.tlog_entries.iter().enumerate() {
                    if let TlogCheck::Failed(why) = check_tlog_entry(entry, &bundle.content) {
                        out.push(at(
                            FindingKind::TlogInclusion,
                            format!("tlog entry {i} (log index {}): {why}", entry.log_index),
                        ));
                    }
                }
            }
        },
    }
    out
}

/// Runs the checks over the artefacts that arrived in `new_runs`.
pub async fn check(
    lake: &Lake,
    config: &Config,
    manifests: &[RunManifest],
    new_runs: &BTreeSet<String>,
    keyring: &Keyring,
    at: DateTime<Utc>,
) -> Result<SupplyOutcome> {
    let t = read_artefacts(lake, manifests).await?;
    let is_new = |run: &str| new_runs.contains(run);
    let mut findings = Vec::new();

    // 1. Attestations: each collected record once, from its stored blob.
    let mut seen = BTreeSet::new();
    for row in t.attestations.iter().filter(|r| is_new(&r.provenance.run_id)) {
        let p = &row.provenance;
        if !seen.insert((p.object_key.clone(), p.line, p.record_sha256.clone(), p.run_id.clone())) {
            continue;
        }
        let blob = lake.get(&row.blob).await.with_context(|| format!("cannot read {}", row.blob))?;
        if row.blob.rsplit('/').next() != Some(sha256_hex(&blob).as_str()) {
            findings.push(Finding::object(
                FindingKind::ObjectDigestMismatch,
                &row.blob,
                "the blob's bytes do not match its name".into(),
            ));
            continue;
        }
        findings.extend(check_attestation(row, &blob, keyring));
    }

    // 2. SBOM components against the approved-dependency register.
    if let Some(path) = &config.register {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the approved-dependency register {}", path.display()))?;
        let register = Register::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        // The package an SBOM describes is the organisation's own, not a dependency.
        let subjects: BTreeSet<(&str, &str, Option<&str>)> =
            t.sboms.iter().map(|s| (s.blob.as_str(), s.subject.as_str(), s.subject_version.as_deref())).collect();
        let new: Vec<SbomComponentRow> = t
            .components
            .iter()
            .filter(|c| is_new(&c.provenance.run_id))
            .filter(|c| !subjects.contains(&(c.sbom_blob.as_str(), c.name.as_str(), c.version.as_deref())))
            .cloned()
            .collect();
        findings.extend(check_components(&new, &register));
    }

    // 3. Release artefacts: attested by digest, described by an SBOM.
    let new_artefacts: Vec<ArtefactRow> =
        t.artefacts.iter().filter(|a| is_new(&a.provenance.run_id)).cloned().collect();
    findings.extend(check_releases(&new_artefacts, &t.attestations, &t.sboms));

    // 4. Threat models: reviewed in time, no open high-severity threat without a mitigation.
    let models: Vec<ThreatModelRow> =
        t.threat_models.iter().filter(|m| is_new(&m.provenance.run_id)).cloned().collect();
    let threats: Vec<ThreatRow> = t.threats.iter().filter(|m| is_new(&m.provenance.run_id)).cloned().collect();
    findings.extend(check_threat_models(&models, &threats, config.threat_model_review_days, at));

    // 5. Decision Cards: signed by a key allowed for them, immutable per version, reviewed.
    for row in t.policies.iter().filter(|r| is_new(&r.provenance.run_id)) {
        let blob = lake.get(&row.blob).await.with_context(|| format!("cannot read {}", row.blob))?;
        findings.extend(check_policy(row, &blob, &t.policies, keyring, config.policy_review_days, at));
    }

    // 6. Diffs: each new SBOM against the latest earlier SBOM of the same subject.
    let mut by_blob: BTreeMap<&str, Vec<SbomComponentRow>> = BTreeMap::new();
    for c in &t.components {
        by_blob.entry(c.sbom_blob.as_str()).or_default().push(c.clone());
    }
    let mut diffs = Vec::new();
    for (i, sbom) in t.sboms.iter().enumerate() {
        if !is_new(&sbom.provenance.run_id) {
            continue;
        }
        let previous = t.sboms[..i].iter().rev().find(|s| s.subject == sbom.subject && s.blob != sbom.blob);
        if let Some(prev) = previous {
            let empty = Vec::new();
            let old = by_blob.get(prev.blob.as_str()).unwrap_or(&empty);
            let new = by_blob.get(sbom.blob.as_str()).unwrap_or(&empty);
            diffs.extend(sbom_diff(&sbom.subject, (&prev.blob, old), (&sbom.blob, new)));
        }
    }
    Ok(SupplyOutcome { findings, diffs })
}

/// The Decision Card an audit event names in its `policy` member: `{"id": …, "version": …}` or
/// `"id@version"`. `None` when the event names none.
pub fn event_policy(event_json: &str) -> Option<(String, String)> {
    // Most events name no card: look before parsing.
    if !event_json.contains("\"policy\"") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(event_json).ok()?;
    match value.get("policy")? {
        serde_json::Value::String(s) => {
            let (id, version) = s.rsplit_once('@').unwrap_or((s.as_str(), ""));
            Some((id.to_string(), version.to_string()))
        }
        serde_json::Value::Object(o) => {
            let text = |k: &str| match o.get(k) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            Some((text("id"), text("version")))
        }
        other => Some((other.to_string(), String::new())),
    }
}

/// Checks that the card an event names is in the lake and was issued before the event.
pub fn check_event_policy(
    row: &cairn_evidence::tables::EventRef<'_>,
    lake_key: &str,
    cards: &[cairn_evidence::artefacts::PolicyRow],
) -> Option<Finding> {
    let (id, version) = event_policy(row.event_json)?;
    let finding = |detail: String| Finding {
        kind: FindingKind::PolicyUnknown,
        chain: Some(row.chain.to_string()),
        seq: Some(row.seq),
        object_key: Some(lake_key.to_string()),
        line: Some(row.line),
        detail,
    };
    let Some(card) = cards.iter().find(|c| c.card_id == id && c.version == version) else {
        return Some(finding(format!(
            "the event names Decision Card {id:?} version {version:?}, which the lake does not hold"
        )));
    };
    let issued = cairn_evidence::time::parse_rfc3339(&card.issued_at);
    let at = cairn_evidence::time::parse_rfc3339(row.ts);
    match (issued, at) {
        (Some(issued), Some(at)) if at < issued => Some(finding(format!(
            "the event at {} names Decision Card {id} version {version}, not issued until {}",
            row.ts, card.issued_at
        ))),
        _ => None,
    }
}

/// The checks of one collected Decision Card (`bytes` are its exact bytes); `all` is every card
/// in the lake, this one included.
pub fn check_policy(
    row: &cairn_evidence::artefacts::PolicyRow,
    bytes: &[u8],
    all: &[cairn_evidence::artefacts::PolicyRow],
    keyring: &Keyring,
    review_days: u32,
    at: DateTime<Utc>,
) -> Vec<Finding> {
    let p = &row.provenance;
    let card = format!("Decision Card {} version {}", row.card_id, row.version);
    let finding = |kind, detail: String| Finding {
        kind,
        chain: None,
        seq: None,
        object_key: Some(p.object_key.clone()),
        line: Some(p.line),
        detail,
    };
    let mut out = Vec::new();
    let issued = cairn_evidence::time::parse_rfc3339(&row.issued_at);
    // Signature: by a key the keyring allows for this card, valid when the card was issued.
    let allowed: Vec<_> = keyring
        .keys()
        .filter(|k| k.permits_policy(&row.card_id, issued) == cairn_evidence::keyring::KeyUse::Allowed)
        .collect();
    let verified_by = match row.signature_kind.as_str() {
        "ed25519" => cairn_collector::policy::parse_card(bytes).ok().and_then(|c| {
            let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, row.signature.trim()).ok()?;
            let sig = ed25519_dalek::Signature::from_slice(&raw).ok()?;
            allowed.iter().find(|k| k.key.verify_strict(&c.canonical, &sig).is_ok()).map(|k| k.kid.clone())
        }),
        "minisign" => allowed
            .iter()
            .find(|k| cairn_evidence::keys::verify_minisign_with(&k.key, bytes, &row.signature).is_ok())
            .map(|k| k.kid.clone()),
        _ => None,
    };
    if verified_by.is_none() {
        let why = if row.signature_kind == "none" {
            "has no signature beside it (`.sig` or `.minisig`)".to_string()
        } else if allowed.is_empty() {
            "is signed, but no key in the keyring may sign it (a key's `policies` must name the card)".to_string()
        } else {
            let kids: Vec<&str> = allowed.iter().map(|k| k.kid.as_str()).collect();
            format!("has a {} signature that no allowed key verifies ({})", row.signature_kind, kids.join(", "))
        };
        out.push(finding(FindingKind::PolicySignature, format!("{card} {why}")));
    }
    // Immutable per version: every other copy of this id and version has the same content.
    if let Some(other) = all
        .iter()
        .find(|o| o.card_id == row.card_id && o.version == row.version && o.canonical_sha256 != row.canonical_sha256)
    {
        out.push(finding(
            FindingKind::PolicyMutated,
            format!(
                "{card} was published with other content: canonical sha256 {} here, {} in {} (run {})",
                row.canonical_sha256, other.canonical_sha256, other.provenance.object_key, other.provenance.run_id
            ),
        ));
    }
    // Reviewed: not expired, and the newest version re-signed within the review interval.
    if let Some(expires) = row.expires_at.as_deref().and_then(cairn_evidence::time::parse_rfc3339) {
        if expires <= at {
            out.push(finding(
                FindingKind::PolicyReviewOverdue,
                format!("{card} expired at {}", row.expires_at.as_deref().unwrap_or_default()),
            ));
        }
    }
    let newest = all
        .iter()
        .filter(|o| o.card_id == row.card_id)
        .filter_map(|o| cairn_evidence::time::parse_rfc3339(&o.issued_at))
        .max();
    if let (Some(issued), Some(newest)) = (issued, newest) {
        if issued == newest && at - issued > chrono::Duration::days(i64::from(review_days)) {
            out.push(finding(
                FindingKind::PolicyReviewOverdue,
                format!(
                    "{card} was issued {} days ago and not re-signed since (review interval {review_days} days)",
                    (at - issued).num_days()
                ),
            ));
        }
    }
    out
}

fn date_of(text: &str) -> Option<DateTime<Utc>> {
    cairn_evidence::time::parse_rfc3339(text).or_else(|| {
        chrono::NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0).map(|t| t.and_utc())
    })
}

/// What controls need to know of the collected artefacts: how many of each kind and the newest
/// one's date (an SBOM's creation, an attestation's build end or collection, a model's review).
pub fn artefact_evidence(t: &ArtefactTables) -> BTreeMap<String, cairn_controls::ArtefactEvidence> {
    use cairn_controls::{ArtefactEvidence, EvidenceKind};
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
    let cards: BTreeSet<&str> = t.policies.iter().map(|p| p.card_id.as_str()).collect();
    out.insert(
        EvidenceKind::Policies.as_str().to_string(),
        ArtefactEvidence {
            count: cards.len() as u64,
            newest: t.policies.iter().filter_map(|p| cairn_evidence::time::parse_rfc3339(&p.issued_at)).max(),
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

/// The portal's view of the supply-chain and design evidence. `findings` are every committed
/// finding; `controls` the catalog's control ids (threats link only to controls that exist).
pub fn portal_view(
    t: &ArtefactTables,
    markdown: &BTreeMap<String, String>,
    findings: &[cairn_renderer::model::FindingView],
    controls: &BTreeSet<String>,
    verified_through: Option<&str>,
) -> cairn_renderer::model::SupplyView {
    use cairn_renderer::model::{
        artefact_file_name, AttestationView, ComponentView, ReleaseFileView, SbomView, SubjectView, SupplyView,
        ThreatModelView, ThreatView,
    };
    let about = |object: &str, line: Option<u64>| -> Vec<cairn_renderer::model::FindingView> {
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
        let sig_failure = own.iter().find(|f| f.kind == FindingKind::AttestationSignature.as_str());
        let tlog_failure = own.iter().find(|f| f.kind == FindingKind::TlogInclusion.as_str());
        let (state, status) = if let Some(f) = sig_failure {
            ("failed", format!("signature check failed: {}", f.detail))
        } else if !verified(&p.run_id) {
            ("pending", "collected; not yet verified".to_string())
        } else if a.signer_kind == "keyless" {
            (
                "not_verified",
                format!(
                    "not verified: keyless. Certificate identity {}, issuer {}; the certificate chain is not checked against a Fulcio root",
                    a.signer,
                    a.signer_issuer.as_deref().unwrap_or("not stated")
                ),
            )
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
        .map(|d| cairn_renderer::model::DocumentView {
            file: d.file.clone(),
            title: d.title.clone(),
            controls: d.controls.split("; ").filter(|c| controls.contains(*c)).map(str::to_string).collect(),
            owner: d.owner.clone(),
            date: d.date.clone(),
            sha256: d.sha256.clone(),
            blob: d.blob.clone(),
        })
        .collect();
    SupplyView { releases, attestations, sboms, threat_models, documents }
}

/// Recorded documents by the control ids they name.
pub fn document_evidence(t: &ArtefactTables) -> BTreeMap<String, Vec<cairn_controls::DocumentEvidence>> {
    let mut out: BTreeMap<String, Vec<cairn_controls::DocumentEvidence>> = BTreeMap::new();
    for d in &t.documents {
        let Some(date) = date_of(&d.date) else { continue };
        for control in d.controls.split("; ").filter(|c| !c.is_empty()) {
            out.entry(control.to_string()).or_default().push(cairn_controls::DocumentEvidence {
                title: d.title.clone(),
                owner: d.owner.clone(),
                date,
            });
        }
    }
    out
}
