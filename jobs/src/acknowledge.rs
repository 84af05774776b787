//! Acknowledging open findings: a signed, dated statement of who accepts them, why and until
//! when, committed as an `acknowledge` run.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _, Result};
use cairn_evidence::acknowledgement::AcknowledgementRow;
use cairn_evidence::artefacts::LakeTable as _;
use cairn_evidence::keys::PublicKey;
use cairn_evidence::lake::{RunOutcome, RunWriter};
use cairn_evidence::manifest::Stage;
use cairn_evidence::tables::{names, Confidence, Provenance};
use cairn_verifier::open::{FindingStanding, Standing};
use chrono::{DateTime, Duration, Utc};

use crate::open::lake_standing;
use crate::pipeline::{Clock, Workspace};

/// The longest an acknowledgement may run: past it, someone must look at the finding again.
pub const MAX_ACKNOWLEDGEMENT_DAYS: i64 = 366;

/// What to acknowledge, by whom, why and until when.
#[derive(Clone, Debug)]
pub struct Request {
    /// Finding ids, as `cairn findings` and `cairn verify` print them.
    pub ids: Vec<String>,
    /// Who acknowledges them.
    pub by: String,
    /// Why they are accepted.
    pub reason: String,
    /// When the acknowledgement lapses.
    pub until: DateTime<Utc>,
}

/// What an acknowledge run committed.
#[derive(Debug)]
pub struct Report {
    /// The acknowledge run.
    pub run_id: String,
    /// The findings acknowledged, as they stand now.
    pub acknowledged: Vec<FindingStanding>,
}

/// Commits an `acknowledge` run with one `acknowledgements` row per finding, signed like every
/// run. Every id must name a recorded break that is not resolved; the reason and the name must be
/// given; `until` must lie ahead, at most [`MAX_ACKNOWLEDGEMENT_DAYS`] days.
pub async fn acknowledge(ws: &Workspace, clock: &mut Clock, request: &Request) -> Result<Report> {
    let now = clock.now_peek();
    let by = request.by.trim();
    let reason = request.reason.trim();
    if by.is_empty() {
        bail!("say who acknowledges the findings (--by NAME)");
    }
    if reason.is_empty() {
        bail!("say why the findings are accepted (--reason TEXT)");
    }
    if request.until <= now {
        bail!("--until {} is not in the future", cairn_evidence::time::format_rfc3339(request.until));
    }
    if request.until > now + Duration::days(MAX_ACKNOWLEDGEMENT_DAYS) {
        bail!("--until is more than {MAX_ACKNOWLEDGEMENT_DAYS} days ahead: acknowledgements must lapse and be looked at again");
    }
    if request.ids.is_empty() {
        bail!("name the findings to acknowledge by id (`cairn findings` lists the open ones)");
    }
    let standing = lake_standing(&ws.lake, &ws.public_key()?, now).await?;
    let by_id: BTreeMap<&str, &FindingStanding> = standing.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut chosen: Vec<&FindingStanding> = Vec::new();
    for id in &request.ids {
        match by_id.get(id.as_str()) {
            None => bail!("no recorded break has id {id:?}; `cairn findings --all` lists them"),
            Some(s) => {
                if let Standing::Resolved { closed_by_run } = &s.standing {
                    bail!("finding {id} is already resolved (closed by run {closed_by_run}); there is nothing to acknowledge");
                }
                if !chosen.iter().any(|c| c.id == s.id) {
                    chosen.push(s);
                }
            }
        }
    }
    let key = ws.signer()?;
    let run_id =
        crate::pipeline::locked(ws, "acknowledge", now, commit(ws, clock, key, &chosen, (by, reason, request.until)))
            .await?;
    let wanted: Vec<&str> = chosen.iter().map(|s| s.id.as_str()).collect();
    let after = lake_standing(&ws.lake, &ws.public_key()?, clock.now_peek()).await?;
    let acknowledged = after.into_iter().filter(|s| wanted.contains(&s.id.as_str())).collect();
    Ok(Report { run_id, acknowledged })
}

async fn commit(
    ws: &Workspace,
    clock: &mut Clock,
    key: Box<dyn cairn_evidence::signer::Signer>,
    chosen: &[&FindingStanding],
    (by, reason, until): (&str, &str, DateTime<Utc>),
) -> Result<String> {
    let state = ws.lake.state(&PublicKey::from_verifying(key.verifying_key())).await?;
    ws.lake.remove_uncommitted(&state).await?;
    let started = clock.now();
    let run_id = crate::pipeline::next_run_id(clock, &state, started);
    let until = cairn_evidence::time::format_rfc3339(until);
    let rows: Vec<AcknowledgementRow> = chosen
        .iter()
        .map(|s| {
            let f = &s.finding;
            let statement = serde_json::json!({"finding_id": s.id, "by": by, "reason": reason, "until": until});
            AcknowledgementRow {
                finding_id: s.id.clone(),
                kind: f.kind.to_string(),
                chain: f.chain.clone(),
                seq: f.seq,
                by: by.to_string(),
                reason: reason.to_string(),
                until: until.clone(),
                provenance: Provenance {
                    source: "cairn ack".into(),
                    object_key: f.object_key.clone().unwrap_or_default(),
                    line: f.line.unwrap_or(0),
                    byte_offset: 0,
                    record_sha256: cairn_evidence::digest::sha256_hex(statement.to_string().as_bytes()),
                    run_id: run_id.clone(),
                    collected_at: started,
                    actor: "cairn-ack".into(),
                    confidence: Confidence::Verified,
                    simulated: f.simulated,
                },
            }
        })
        .collect();
    let mut writer = RunWriter::new(&ws.lake, &state, &run_id, started)?;
    let batch = AcknowledgementRow::to_batch(&rows).context("cannot build the acknowledgements table")?;
    writer.write_table(names::ACKNOWLEDGEMENTS, &started.format("%Y-%m-%d").to_string(), &batch).await?;
    let outcome = RunOutcome {
        cursors: state.cursors(),
        chain_heads: state.chain_heads(),
        verified_through: state.latest().and_then(|m| m.verified_through.clone()),
        stats: BTreeMap::from([("acknowledged".to_string(), rows.len() as u64)]),
        rotation: None,
        erasure: None,
    };
    writer.commit(Stage::Acknowledge, &state, outcome, key.as_ref(), clock.now()).await?;
    Ok(run_id)
}
