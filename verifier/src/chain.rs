//! Verification of audit-event chains (chain event v1).
//!
//! Events are fed in arrival order (collect run, lake object, row). For each batch:
//! 1. in parallel, each event's hash is recomputed from its canonical bytes and its signature is
//!    checked with the keyring key it names (batched Ed25519 verification, falling back to one
//!    by one to name the bad ones);
//! 2. in order, each event is placed in its chain: links, gaps, reorders, forks, duplicates,
//!    restarts and time going backwards.
//!
//! Memory is bounded by the number of chains, not events: per chain only the head, a window of
//! the last [`VerifyOptions::window`] events and the still-missing ranges are kept.

use std::collections::{BTreeMap, HashMap};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cairn_evidence::canonical::{canonical_bytes, CanonicalError};
use cairn_evidence::event::GENESIS_PREV;
use cairn_evidence::keyring::{KeyUse, Keyring};
use cairn_evidence::manifest::ChainHead;
use cairn_evidence::tables::{EventBatch, EventRef};
use cairn_evidence::time::parse_rfc3339;
use cairn_evidence::Sha256Digest;
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use rayon::prelude::*;
use serde_json::Value;

use crate::finding::{Finding, FindingKind};

/// Tunables of chain verification.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// How far an event's time may go back before it is `time_backwards`.
    pub max_clock_skew: Duration,
    /// How many recent events per chain are remembered to tell duplicates, forks and reorders.
    pub window: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self { max_clock_skew: Duration::seconds(300), window: 4096 }
    }
}

/// Result of the per-event checks that need no chain context.
#[derive(Debug, Default)]
struct EventCheck {
    altered: Option<String>,
    key: Option<(FindingKind, String)>,
}

#[derive(Clone, Debug)]
struct Seen {
    hash: String,
    prev: String,
}

#[derive(Clone, Debug)]
struct Missing {
    end: u64,
    object_key: String,
    line: u64,
}

#[derive(Debug, Default)]
struct ChainState {
    head: Option<(u64, String)>,
    head_ts: String,
    window: BTreeMap<u64, Vec<Seen>>,
    missing: BTreeMap<u64, Missing>,
    last_ts: Option<DateTime<Utc>>,
    events: u64,
    findings: u64,
}

/// Verifies chains incrementally from the heads of the previous verification.
pub struct ChainVerifier<'k> {
    keyring: &'k Keyring,
    options: VerifyOptions,
    chains: HashMap<String, ChainState>,
    findings: Vec<Finding>,
    events: u64,
    /// A batch whose per-event checks are done but which is not yet placed in its chains:
    /// placing it overlaps with checking the next batch.
    pending: Option<(String, Box<dyn EventBatch>, Vec<EventCheck>)>,
}

impl<'k> ChainVerifier<'k> {
    /// Starts from `heads` (empty for a full re-check).
    pub fn new(keyring: &'k Keyring, options: VerifyOptions, heads: &BTreeMap<String, ChainHead>) -> Self {
        let chains = heads
            .iter()
            .map(|(chain, h)| {
                let state = ChainState {
                    head: Some((h.seq, h.hash.clone())),
                    head_ts: h.ts.clone(),
                    last_ts: parse_rfc3339(&h.ts),
                    events: h.events,
                    findings: h.findings,
                    ..ChainState::default()
                };
                (chain.clone(), state)
            })
            .collect();
        Self { keyring, options, chains, findings: Vec::new(), events: 0, pending: None }
    }

    /// Events verified so far by this verifier.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Verifies rows read from lake object `lake_key`, in arrival order.
    pub fn verify_rows(&mut self, lake_key: &str, rows: &[EventRef<'_>]) {
        self.flush();
        let keyring = self.keyring;
        let checks: Vec<EventCheck> = rows.par_chunks(128).flat_map_iter(|chunk| check_chunk(keyring, chunk)).collect();
        for (row, check) in rows.iter().zip(checks) {
            self.place(lake_key, row, check);
        }
    }

    /// Adds a batch read from lake object `lake_key`, in arrival order. The batch is checked in
    /// parallel while the previous batch is placed in its chains; [`Self::finish`] places the last.
    pub fn push_batch(&mut self, lake_key: String, batch: Box<dyn EventBatch>) {
        let keyring = self.keyring;
        let pending = self.pending.take();
        let (checks, ()) = rayon::join(
            || batch.refs().par_chunks(128).flat_map_iter(|chunk| check_chunk(keyring, chunk)).collect::<Vec<_>>(),
            || {
                if let Some((key, rows, checks)) = pending {
                    self.place_batch(&key, rows.as_ref(), checks);
                }
            },
        );
        self.pending = Some((lake_key, batch, checks));
    }

    /// Places the batch still pending, so [`Self::events`] counts every event pushed.
    pub fn flush(&mut self) {
        if let Some((key, rows, checks)) = self.pending.take() {
            self.place_batch(&key, rows.as_ref(), checks);
        }
    }

    fn place_batch(&mut self, lake_key: &str, batch: &dyn EventBatch, checks: Vec<EventCheck>) {
        for (row, check) in batch.refs().iter().zip(checks) {
            self.place(lake_key, row, check);
        }
    }

    fn push(&mut self, kind: FindingKind, row: &EventRef<'_>, lake_key: &str, detail: String) {
        if let Some(state) = self.chains.get_mut(row.chain) {
            state.findings += 1;
        }
        self.findings.push(Finding {
            kind,
            chain: Some(row.chain.to_string()),
            seq: Some(row.seq),
            object_key: Some(lake_key.to_string()),
            line: Some(row.line),
            detail,
        });
    }

    fn place(&mut self, lake_key: &str, row: &EventRef<'_>, check: EventCheck) {
        self.events += 1;
        let window = self.options.window;
        let skew = self.options.max_clock_skew;
        let (s, h, p) = (row.seq, row.hash, row.prev);
        let ts = parse_rfc3339(row.ts);
        // The per-event findings come first, then those of placing the event in its chain; all
        // are pushed at the end, once `state` is no longer borrowed.
        let mut findings: Vec<(FindingKind, String)> = Vec::new();
        findings.extend(check.altered.map(|detail| (FindingKind::Altered, detail)));
        findings.extend(check.key);
        // Looked up before inserting, so a known chain's name is not copied for every event.
        let state = match self.chains.get_mut(row.chain) {
            Some(state) => state,
            None => self.chains.entry(row.chain.to_string()).or_default(),
        };
        state.events += 1;
        let mut accept = true;
        match state.head.clone() {
            None => {
                if s == 0 {
                    if p != GENESIS_PREV {
                        findings.push((
                            FindingKind::BrokenLink,
                            "the first event of a chain must have prev = 64 zeros".into(),
                        ));
                    }
                } else {
                    state.missing.insert(0, Missing { end: s - 1, object_key: lake_key.to_string(), line: row.line });
                }
                time_check(state, ts, skew, row.ts, &mut findings);
            }
            Some((head_seq, head_hash))
                if s == 0 && head_seq > 0 && !state.window.get(&0).is_some_and(|v| v.iter().any(|e| e.hash == h)) =>
            {
                // Seq 0 again after the chain moved on: the emitter started over.
                findings.push((
                    FindingKind::Restart,
                    format!("the chain restarts at seq 0 after reaching seq {head_seq} (head {})", short(&head_hash)),
                ));
                let gaps = std::mem::take(&mut state.missing);
                for (start, m) in gaps {
                    findings.push((FindingKind::Gap, gap_detail(start, &m)));
                }
                state.window.clear();
                state.last_ts = None;
                if p != GENESIS_PREV {
                    findings.push((FindingKind::BrokenLink, "a restarted chain must have prev = 64 zeros".into()));
                }
            }
            Some((head_seq, head_hash)) if s == head_seq + 1 => {
                let linked =
                    p == head_hash || state.window.get(&head_seq).is_some_and(|v| v.iter().any(|e| e.hash == p));
                if !linked {
                    findings.push((
                        FindingKind::BrokenLink,
                        format!("prev {} is not the hash {} of seq {head_seq}", short(p), short(&head_hash)),
                    ));
                }
                time_check(state, ts, skew, row.ts, &mut findings);
            }
            Some((head_seq, _)) if s > head_seq + 1 => {
                state
                    .missing
                    .insert(head_seq + 1, Missing { end: s - 1, object_key: lake_key.to_string(), line: row.line });
                time_check(state, ts, skew, row.ts, &mut findings);
            }
            Some((head_seq, _)) => {
                accept = false;
                if let Some(seen) = state.window.get_mut(&s) {
                    if seen.iter().any(|e| e.hash == h) {
                        findings.push((FindingKind::Duplicate, format!("event {} was delivered again", short(h))));
                    } else {
                        findings.push((
                            FindingKind::Fork,
                            format!(
                                "a second, different event {} claims seq {s} (first: {})",
                                short(h),
                                short(&seen[0].hash)
                            ),
                        ));
                        seen.push(Seen { hash: h.to_string(), prev: p.to_string() });
                    }
                } else if take_missing(&mut state.missing, s) {
                    findings.push((FindingKind::Reorder, format!("seq {s} arrived after seq {head_seq}")));
                    if let Some(before) = state.window.get(&(s.wrapping_sub(1))) {
                        if s > 0 && !before.iter().any(|e| e.hash == p) {
                            findings.push((
                                FindingKind::BrokenLink,
                                format!("prev {} is not the hash of seq {}", short(p), s - 1),
                            ));
                        }
                    }
                    if let Some(after) = state.window.get(&(s + 1)) {
                        if !after.iter().any(|e| e.prev == h) {
                            findings.push((
                                FindingKind::BrokenLink,
                                format!("seq {} does not link to this event {}", s + 1, short(h)),
                            ));
                        }
                    }
                    state.window.insert(s, vec![Seen { hash: h.to_string(), prev: p.to_string() }]);
                } else {
                    findings.push((
                        FindingKind::Reorder,
                        format!(
                            "seq {s} arrived after the chain had reached seq {head_seq} and is older than what is remembered (late delivery or replay); it cannot be linked"
                        ),
                    ));
                }
            }
        }
        if accept {
            state.head = Some((s, h.to_string()));
            row.ts.clone_into(&mut state.head_ts);
            state.window.insert(s, vec![Seen { hash: h.to_string(), prev: p.to_string() }]);
            while state.window.len() > window {
                state.window.pop_first();
            }
        }
        for (kind, detail) in findings {
            self.push(kind, row, lake_key, detail);
        }
    }

    /// Ends verification: still-missing ranges become `gap` findings. Returns the findings
    /// (in the order found) and the new chain heads.
    pub fn finish(mut self) -> (Vec<Finding>, BTreeMap<String, ChainHead>) {
        self.flush();
        let mut chains: Vec<(String, ChainState)> = std::mem::take(&mut self.chains).into_iter().collect();
        chains.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut heads = BTreeMap::new();
        for (name, mut state) in chains {
            let missing = std::mem::take(&mut state.missing);
            state.findings += missing.len() as u64;
            for (start, m) in missing {
                self.findings.push(Finding {
                    kind: FindingKind::Gap,
                    chain: Some(name.clone()),
                    seq: Some(start),
                    object_key: Some(m.object_key.clone()),
                    line: Some(m.line),
                    detail: gap_detail(start, &m),
                });
            }
            if let Some((seq, hash)) = state.head {
                heads.insert(
                    name,
                    ChainHead { seq, hash, ts: state.head_ts, events: state.events, findings: state.findings },
                );
            }
        }
        (self.findings, heads)
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

fn gap_detail(start: u64, m: &Missing) -> String {
    if start == m.end {
        format!("seq {start} is missing")
    } else {
        format!("seqs {start}..={} are missing ({} events)", m.end, m.end - start + 1)
    }
}

fn time_check(
    state: &mut ChainState,
    ts: Option<DateTime<Utc>>,
    skew: Duration,
    text: &str,
    out: &mut Vec<(FindingKind, String)>,
) {
    let Some(t) = ts else { return };
    if let Some(last) = state.last_ts {
        if t + skew < last {
            out.push((
                FindingKind::TimeBackwards,
                format!("time {text} is {}s before the previous event's time", (last - t).num_seconds()),
            ));
        }
    }
    state.last_ts = Some(state.last_ts.map_or(t, |l| l.max(t)));
}

fn take_missing(missing: &mut BTreeMap<u64, Missing>, s: u64) -> bool {
    let Some((&start, m)) = missing.range_mut(..=s).next_back() else {
        return false;
    };
    if s > m.end {
        return false;
    }
    // The range `start..=end` loses `s`: what is left before it stays in place, what is left
    // after it becomes a range of its own.
    let after = (s < m.end).then(|| m.clone());
    if start < s {
        m.end = s - 1;
    } else {
        missing.remove(&start);
    }
    if let Some(after) = after {
        missing.insert(s + 1, after);
    }
    true
}

/// Per-event checks for a chunk: recompute hashes, then verify signatures, batched.
fn check_chunk(keyring: &Keyring, rows: &[EventRef<'_>]) -> Vec<EventCheck> {
    let mut checks: Vec<EventCheck> = Vec::with_capacity(rows.len());
    // (index, message, signature, key) of the signatures to verify.
    let mut pending: Vec<(usize, [u8; 32], Signature, VerifyingKey)> = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let mut check = EventCheck::default();
        // Step 1: the stored JSON must carry the same chain fields as the columns, and hash
        // to the claimed `hash`.
        let claimed = hex_32(row.hash);
        match content_hash(row) {
            Ok(computed) if claimed == Some(computed.0) => {}
            Ok(computed) => {
                check.altered =
                    Some(format!("content hashes to {}, but the event claims {}", computed.to_hex(), row.hash));
            }
            Err(why) => check.altered = Some(why.to_string()),
        }
        // Step 2: the key must be trusted for this chain at this time.
        let key = match keyring.get(row.kid) {
            None => {
                check.key = Some((FindingKind::UnknownKey, format!("kid {:?} is not in the keyring", row.kid)));
                None
            }
            Some(k) => match k.permits(row.chain, parse_rfc3339(row.ts)) {
                KeyUse::Allowed => Some(k.key),
                KeyUse::ChainNotAllowed => {
                    check.key = Some((
                        FindingKind::UnknownKey,
                        format!("kid {:?} is not trusted for chain {:?}", row.kid, row.chain),
                    ));
                    None
                }
                KeyUse::NotYetValid(t) => {
                    check.key = Some((FindingKind::KeyNotValid, format!("kid {:?} is not valid before {t}", row.kid)));
                    Some(k.key)
                }
                KeyUse::Expired(t) => {
                    check.key = Some((FindingKind::KeyNotValid, format!("kid {:?} expired at {t}", row.kid)));
                    Some(k.key)
                }
                KeyUse::Revoked(t) => {
                    check.key = Some((FindingKind::KeyNotValid, format!("kid {:?} was revoked at {t}", row.kid)));
                    Some(k.key)
                }
            },
        };
        // Step 3: the signature over the 32 raw bytes of `hash` must verify with that key.
        if let (Some(key), Some(msg)) = (key, claimed) {
            match B64.decode(row.sig).ok().and_then(|raw| Signature::from_slice(&raw).ok()) {
                Some(sig) => pending.push((i, msg, sig, key)),
                None if check.key.is_none() => {
                    check.key =
                        Some((FindingKind::BadSignature, "sig is not base64 of a 64-byte Ed25519 signature".into()));
                }
                None => {}
            }
        }
        checks.push(check);
    }
    let messages: Vec<&[u8]> = pending.iter().map(|(_, m, _, _)| m.as_slice()).collect();
    let sigs: Vec<Signature> = pending.iter().map(|(_, _, s, _)| *s).collect();
    let keys: Vec<VerifyingKey> = pending.iter().map(|(_, _, _, k)| *k).collect();
    if ed25519_dalek::verify_batch(&messages, &sigs, &keys).is_err() {
        for (i, msg, sig, key) in &pending {
            if key.verify(msg, sig).is_err() && checks[*i].key.is_none() {
                checks[*i].key =
                    Some((FindingKind::BadSignature, format!("signature does not verify with kid {:?}", rows[*i].kid)));
            }
        }
    }
    checks
}

/// Why a stored event cannot be hashed as the event its row says it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
enum StoredEventError {
    /// The stored text does not parse.
    #[error("the stored event is not JSON: {source}")]
    NotJson {
        /// The parser's complaint.
        source: serde_json::Error,
    },
    /// The stored text parses, but not to an object.
    #[error("the stored event is not a JSON object")]
    NotAnObject,
    /// The row's columns and the stored event's chain fields differ.
    #[error(
        "the lake row's columns (chain {row_chain:?}, seq {row_seq}) do not match the stored event (chain {event_chain:?}, seq {event_seq})"
    )]
    ColumnsDiffer {
        /// The row's `chain` column.
        row_chain: String,
        /// The row's `seq` column.
        row_seq: u64,
        /// The stored event's `chain`, `?` when it has no string `chain`.
        event_chain: String,
        /// The stored event's `seq` as JSON, `?` when it has none.
        event_seq: String,
    },
    /// The event has no canonical form to hash.
    #[error(transparent)]
    NotCanonical {
        /// The canonicalizer's complaint.
        #[from]
        source: CanonicalError,
    },
}

/// Parses the stored event, checks its chain fields against the row's (in the lake, `chain`,
/// `seq`, `ts` and `kid` are columns of their own; `prev`, `hash` and `sig` are read from this
/// same text), and returns the hash of its canonical bytes without `hash` and `sig`.
fn content_hash(row: &EventRef<'_>) -> Result<Sha256Digest, StoredEventError> {
    let mut value: Value =
        serde_json::from_str(row.event_json).map_err(|source| StoredEventError::NotJson { source })?;
    let obj = value.as_object_mut().ok_or(StoredEventError::NotAnObject)?;
    let text = |field: &str| obj.get(field).and_then(Value::as_str);
    let same = text("chain") == Some(row.chain)
        && obj.get("seq").and_then(Value::as_u64) == Some(row.seq)
        && text("ts") == Some(row.ts)
        && text("kid") == Some(row.kid)
        && text("prev") == Some(row.prev)
        && text("hash") == Some(row.hash)
        && text("sig") == Some(row.sig);
    if !same {
        return Err(StoredEventError::ColumnsDiffer {
            row_chain: row.chain.to_string(),
            row_seq: row.seq,
            event_chain: text("chain").unwrap_or("?").to_string(),
            event_seq: obj.get("seq").map_or_else(|| "?".to_string(), ToString::to_string),
        });
    }
    obj.remove("hash");
    obj.remove("sig");
    let bytes = canonical_bytes(&value)?;
    Ok(Sha256Digest::of(&bytes))
}

fn hex_32(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(event_json: &str) -> EventRef<'_> {
        EventRef {
            chain: "svc-a",
            seq: 4,
            ts: "2026-11-23T10:00:00Z",
            kid: "k1",
            prev: "p",
            hash: "h",
            sig: "s",
            event_json,
            line: 9,
        }
    }

    #[test]
    fn stored_event_errors_read_as_they_always_did() {
        let not_json = serde_json::from_str::<Value>("{").unwrap_err();
        assert_eq!(
            content_hash(&row("{")).unwrap_err().to_string(),
            format!("the stored event is not JSON: {not_json}")
        );
        assert_eq!(content_hash(&row("[1]")).unwrap_err().to_string(), "the stored event is not a JSON object");
        assert_eq!(
            content_hash(&row(r#"{"chain":"svc-b","seq":"4"}"#)).unwrap_err().to_string(),
            r#"the lake row's columns (chain "svc-a", seq 4) do not match the stored event (chain "svc-b", seq "4")"#
        );
        assert_eq!(
            content_hash(&row("{}")).unwrap_err().to_string(),
            r#"the lake row's columns (chain "svc-a", seq 4) do not match the stored event (chain "?", seq ?)"#
        );
        let same =
            r#"{"chain":"svc-a","seq":4,"ts":"2026-11-23T10:00:00Z","kid":"k1","prev":"p","hash":"h","sig":"s"}"#;
        let without = r#"{"chain":"svc-a","kid":"k1","prev":"p","seq":4,"ts":"2026-11-23T10:00:00Z"}"#;
        assert_eq!(content_hash(&row(same)).unwrap(), Sha256Digest::of(without.as_bytes()));
    }

    #[test]
    fn taking_a_seq_splits_its_missing_range() {
        let missing = |ranges: &[(u64, u64)]| -> BTreeMap<u64, Missing> {
            ranges.iter().map(|&(s, end)| (s, Missing { end, object_key: "o".into(), line: 1 })).collect()
        };
        let ranges = |m: &BTreeMap<u64, Missing>| -> Vec<(u64, u64)> { m.iter().map(|(&s, m)| (s, m.end)).collect() };
        for (s, taken, left) in [
            (5, true, vec![(6, 9), (20, 20)]),
            (7, true, vec![(5, 6), (8, 9), (20, 20)]),
            (9, true, vec![(5, 8), (20, 20)]),
            (20, true, vec![(5, 9)]),
            (4, false, vec![(5, 9), (20, 20)]),
            (10, false, vec![(5, 9), (20, 20)]),
        ] {
            let mut m = missing(&[(5, 9), (20, 20)]);
            assert_eq!(take_missing(&mut m, s), taken, "seq {s}");
            assert_eq!(ranges(&m), left, "seq {s}");
        }
    }
}
