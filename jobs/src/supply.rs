//! The verify stage's supply-chain and design checks: attestation signatures and
//! transparency-log proofs, the approved-dependency register, releases against their
//! attestations and SBOMs, threat-model review, and SBOM diffs.
//!
//! Like chain verification, each artefact is checked once: in the first verify run after the
//! collect run that brought it (or again with `verify --full`).

use std::collections::{BTreeMap, BTreeSet};


use anyhow::{Context as _, Result};
use cairn_collector::artefact::find_record;
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
    Finding::object(kind, object_key, detail).at_line(line)
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
        object_key: Some(lake_key.to_string()),
        line: Some(row.line),
        ..Finding::event(FindingKind::PolicyUnknown, row.chain, row.seq, detail)
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
    let finding = |kind, detail: String| Finding::object(kind, &p.object_key, detail).at_line(p.line);
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
