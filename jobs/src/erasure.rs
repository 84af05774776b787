//! `cairn erase`: a data subject's disclosed personal values removed from the vault, and the
//! erasure recorded as a signed `erase` run.
//!
//! The signed events keep their salted commitments, so every chain, signature and Merkle proof
//! verifies as before; the values behind the commitments are gone. The vault objects holding
//! them are rewritten without them (new objects, listed by the erase run), and the old ones are
//! removed once the run is committed; a crash before the removal leaves them dead (the committed
//! run names them replaced), and the next writer removes them.

use std::collections::BTreeSet;

use anyhow::{bail, Context as _, Result};
use cairn_evidence::keys::PublicKey;
use cairn_evidence::lake::{RunOutcome, RunWriter};
use cairn_evidence::manifest::Stage;
use cairn_evidence::vault::{self, Erasure};

use crate::pipeline::{Clock, Workspace};

/// Whose values to erase, who asks and why.
#[derive(Clone, Debug)]
pub struct Request {
    /// The subject's identifiers as events disclose them (an email address, a user name).
    pub subject: Vec<String>,
    /// Who asks for the erasure.
    pub by: String,
    /// Why: the request's reference.
    pub reason: String,
}

/// What an erase run did.
#[derive(Debug)]
pub struct Report {
    /// The erase run.
    pub run_id: String,
    /// Events whose disclosed values were erased.
    pub events: u64,
    /// Values erased.
    pub values: u64,
    /// Vault objects rewritten.
    pub rewritten: usize,
}

/// Erases every disclosed value of every event that discloses one of the subject's identifiers,
/// and commits an `erase` run recording it (who, why, how many, which commitments; never the
/// values). Refused when no event discloses any of them: nothing is committed.
pub async fn erase(ws: &Workspace, clock: &mut Clock, request: &Request) -> Result<Report> {
    let by = request.by.trim();
    let reason = request.reason.trim();
    if by.is_empty() {
        bail!("say who asks for the erasure (--by NAME)");
    }
    if reason.is_empty() {
        bail!("say why, with the request's reference (--reason TEXT)");
    }
    let subject: Vec<String> = request.subject.iter().filter(|s| !s.is_empty()).cloned().collect();
    if subject.is_empty() {
        bail!("name the data subject (--subject, repeated for each identifier: an email address, a user name)");
    }
    let key = ws.signer()?;
    let now = clock.now_peek();
    crate::pipeline::locked(ws, "erase", now, commit(ws, clock, key, &subject, (by, reason))).await
}

async fn commit(
    ws: &Workspace,
    clock: &mut Clock,
    key: Box<dyn cairn_evidence::signer::Signer>,
    subject: &[String],
    (by, reason): (&str, &str),
) -> Result<Report> {
    let state = ws.lake.state(&PublicKey::from_verifying(key.verifying_key())).await?;
    ws.lake.remove_uncommitted(&state).await?;
    // First the events naming the subject, over the whole vault (an event's values may sit in
    // two objects); then each object holding any of their values, rewritten without them.
    let mut events = BTreeSet::new();
    for entry in state.vault.values() {
        let rows =
            vault::rows(ws.lake.get_checked(entry).await?).with_context(|| format!("cannot read {}", entry.key))?;
        events.extend(vault::events_naming(&rows, subject));
    }
    if events.is_empty() {
        bail!(
            "no event in the vault discloses {} given; nothing was erased",
            if subject.len() == 1 { "the identifier" } else { "any of the identifiers" }
        );
    }
    let started = clock.now();
    let run_id = crate::pipeline::next_run_id(clock, &state, started);
    let date = started.format("%Y-%m-%d").to_string();
    let mut writer = RunWriter::new(&ws.lake, &state, &run_id, started)?;
    let mut replaced = Vec::new();
    let mut digests = Vec::new();
    for entry in state.vault.values() {
        let rows =
            vault::rows(ws.lake.get_checked(entry).await?).with_context(|| format!("cannot read {}", entry.key))?;
        let (kept, erased) = vault::without_events(rows, &events);
        if erased.is_empty() {
            continue;
        }
        if !kept.is_empty() {
            writer.write_vault(&date, &kept).await?;
        }
        digests.extend(erased.into_iter().map(|r| r.digest));
        replaced.push(entry.key.clone());
    }
    digests.sort();
    let erasure = Erasure {
        by: by.to_string(),
        reason: reason.to_string(),
        events: events.len() as u64,
        digests: digests.clone(),
        replaced: replaced.clone(),
    };
    let outcome = RunOutcome {
        cursors: state.cursors(),
        chain_heads: state.chain_heads(),
        verified_through: state.latest().and_then(|m| m.verified_through.clone()),
        stats: [("erased_events", events.len() as u64), ("erased_values", digests.len() as u64)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        rotation: None,
        erasure: Some(erasure),
    };
    writer.commit(Stage::Erase, &state, outcome, key.as_ref(), clock.now()).await?;
    // Committed: the replaced objects are dead; remove them now (or the next writer will).
    for key in &replaced {
        ws.lake.delete(key).await?;
    }
    Ok(Report { run_id, events: events.len() as u64, values: digests.len() as u64, rewritten: replaced.len() })
}
