//! Where every break the lake records stands: read from its `findings` and `acknowledgements`
//! tables, judged by `cairn_verifier::open`.

use anyhow::{bail, Context as _, Result};
use cairn_evidence::acknowledgement::AcknowledgementRow;
use cairn_evidence::artefacts::LakeTable as _;
use cairn_evidence::keys::PublicKey;
use cairn_evidence::lake::Lake;
use cairn_evidence::manifest::RunManifest;
use cairn_evidence::tables::{self, names};
use cairn_verifier::lake::verify_manifests;
use cairn_verifier::open::{standing, FindingStanding};
use cairn_verifier::Finding;
use chrono::{DateTime, Utc};

/// Every finding the lake's verify runs recorded (oldest run first) and every acknowledgement.
pub async fn recorded(lake: &Lake, manifests: &[RunManifest]) -> Result<(Vec<Finding>, Vec<AcknowledgementRow>)> {
    read(lake, manifests, true).await
}

/// Every acknowledgement the lake holds (the findings tables are not read).
pub async fn acknowledgements(lake: &Lake, manifests: &[RunManifest]) -> Result<Vec<AcknowledgementRow>> {
    Ok(read(lake, manifests, false).await?.1)
}

async fn read(
    lake: &Lake,
    manifests: &[RunManifest],
    with_findings: bool,
) -> Result<(Vec<Finding>, Vec<AcknowledgementRow>)> {
    let mut findings = Vec::new();
    let mut acks = Vec::new();
    let wanted = |table: &str| table == names::ACKNOWLEDGEMENTS || with_findings && table == names::FINDINGS;
    for entry in manifests.iter().flat_map(|m| &m.objects).filter(|e| wanted(&e.table)) {
        let bytes = lake.get_checked(entry).await?;
        for batch in tables::from_parquet(bytes).with_context(|| format!("cannot decode {}", entry.key))? {
            let batch = batch.with_context(|| format!("cannot decode {}", entry.key))?;
            if entry.table == names::FINDINGS {
                findings.extend(tables::finding_rows(&batch)?);
            } else {
                acks.extend(AcknowledgementRow::from_batch(&batch)?);
            }
        }
    }
    Ok((findings, acks))
}

/// Every break the lake records, with where it stands at `now`. Refuses a lake whose manifests
/// do not verify (`cairn verify` names what is wrong with it).
pub async fn lake_standing(lake: &Lake, public: &PublicKey, now: DateTime<Utc>) -> Result<Vec<FindingStanding>> {
    let manifests = verified_manifests(lake, public).await?;
    let (findings, acks) = recorded(lake, &manifests).await?;
    Ok(standing(&findings, &acks, now))
}

async fn verified_manifests(lake: &Lake, public: &PublicKey) -> Result<Vec<RunManifest>> {
    let stored = lake.stored_manifests().await.context("cannot list the lake's manifests")?;
    let (problems, manifests) = verify_manifests(&stored, public);
    if let Some(p) = problems.first() {
        bail!("the lake's manifests do not verify ({}: {}); run `cairn verify` to see every finding", p.kind, p.detail);
    }
    Ok(manifests)
}
