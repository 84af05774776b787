//! The lake reads of the verify stage's supply-chain and design checks: the artefact tables, the
//! blobs the new attestations and Decision Cards name, and the approved-dependency register. The
//! checks themselves are `cairn_verifier::supply::check_new`.
//!
//! Like chain verification, each artefact is checked once: in the first verify run after the
//! collect run that brought it (or again with `verify --full`).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context as _, Result};
use cairn_evidence::artefacts::{ArtefactSet, LakeTable};
use cairn_evidence::keyring::Keyring;
use cairn_evidence::lake::Lake;
use cairn_evidence::manifest::RunManifest;
use cairn_evidence::tables;
use cairn_verifier::supply::{check_new, Register, SupplyInput, SupplyOutcome};
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
        scans: read_table(lake, manifests).await?,
        vulnerabilities: read_table(lake, manifests).await?,
        vulnerability_changes: read_table(lake, manifests).await?,
        test_runs: read_table(lake, manifests).await?,
        test_cases: read_table(lake, manifests).await?,
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

/// Runs the supply-chain checks over the artefacts that arrived in `new_runs`.
pub async fn check(
    lake: &Lake,
    config: &Config,
    manifests: &[RunManifest],
    new_runs: &BTreeSet<String>,
    keyring: &Keyring,
    at: DateTime<Utc>,
) -> Result<SupplyOutcome> {
    let tables = read_artefacts(lake, manifests).await?;
    let mut blobs = BTreeMap::new();
    for key in SupplyInput::blobs_needed(&tables, new_runs) {
        let bytes = lake.get(&key).await.with_context(|| format!("cannot read {key}"))?;
        blobs.insert(key, bytes.to_vec());
    }
    let register = match &config.register {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the approved-dependency register {}", path.display()))?;
            Some(Register::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    let mut sigstore = cairn_verifier::keyless::SigstoreTrust::production();
    for path in &config.sigstore_trusted_roots {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the Sigstore trusted root {}", path.display()))?;
        sigstore = sigstore.with(&text, &path.display().to_string()).map_err(|e| anyhow::anyhow!(e))?;
    }
    let input = SupplyInput {
        tables: &tables,
        blobs: &blobs,
        register: register.as_ref(),
        keyring,
        threat_model_review_days: config.threat_model_review_days,
        policy_review_days: config.policy_review_days,
        vulnerability_gate: &config.vulnerability_gate,
        test_quarantine_days: config.test_quarantine_days,
        sigstore: &sigstore,
    };
    Ok(check_new(&input, new_runs, at))
}
