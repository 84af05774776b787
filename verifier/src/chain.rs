//! Verification of audit-event chains (chain event v1).
//!
//! Events are fed in the order they are read (collect run, lake object, row), but a chain's
//! order comes from `seq` and `prev` alone: delivery order (files read in another order, a SIEM
//! that partitions by the event's own time, an export split over several files) is not evidence.
//! For each batch:
//! 1. in parallel, each event's hash is recomputed from its canonical bytes and its signature is
//!    checked with the keyring key it names (batched Ed25519 verification, falling back to one
//!    by one to name the bad ones);
//! 2. each event is placed in its chain by `seq`. Every pair of neighbours (`s - 1`, `s`) is
//!    checked once, when the later of the two to arrive is placed: the link (`prev`) and the
//!    time. A seq above the head opens a missing range, which remembers its neighbours; an event
//!    that falls into it is linked in, whenever it arrives. Forks, duplicates and restarts are
//!    told from a window of recent events.
//!
//! Memory is bounded by the number of chains, not events: per chain only the head, a window of
//! the last [`VerifyOptions::window`] events and the still-missing ranges are kept. The ranges
//! still missing at the end are reported as gaps and carried in the chain heads, so events
//! arriving on a later night close them.

use std::collections::{BTreeMap, HashMap};

use crate::batch::BATCH;
use crate::canonical_event;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cairn_evidence::canonical::{canonical_bytes, CanonicalError};
use cairn_evidence::event::GENESIS_PREV;
use cairn_evidence::keyring::{KeyUse, Keyring};
use cairn_evidence::manifest::{ChainHead, OpenGap};
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
    /// How many recent events per chain are remembered to tell duplicates and forks.
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

/// A missing range `start..=end` (the map key is `start`), and what is known of its neighbours.
#[derive(Clone, Debug)]
struct Missing {
    end: u64,
    /// Hash and time of the event at `start - 1`; none when `start` is 0.
    before: Option<(String, String)>,
    /// `prev` and time of the event at `end + 1`.
    after_prev: String,
    after_ts: String,
    /// Where the event at `end + 1` is.
    object_key: String,
    line: u64,
    /// The seq its `gap` finding named, once reported (by this pass's end or an earlier pass).
    reported_at: Option<u64>,
}

#[derive(Debug, Default)]
struct ChainState {
    /// Highest seq placed, its hash and its time as written.
    head: Option<Head>,
    /// Hashes of the last events placed, by seq (more than one after a fork).
    window: BTreeMap<u64, Vec<String>>,
    missing: BTreeMap<u64, Missing>,
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
    /// Starts from `heads` (empty for a full re-check), with the gaps they still carry.
    pub fn new(keyring: &'k Keyring, options: VerifyOptions, heads: &BTreeMap<String, ChainHead>) -> Self {
        let chains = heads
            .iter()
            .map(|(chain, h)| {
                let missing = h
                    .gaps
                    .iter()
                    .map(|g| {
                        let missing = Missing {
                            end: g.end,
                            before: g.before_hash.clone().map(|hash| (hash, g.before_ts.clone().unwrap_or_default())),
                            after_prev: g.after_prev.clone(),
                            after_ts: g.after_ts.clone(),
                            object_key: g.object_key.clone(),
                            line: g.line,
                            reported_at: Some(g.reported_at),
                        };
                        (g.start, missing)
                    })
                    .collect();
                let state = ChainState {
                    head: Some(Head { seq: h.seq, hash: h.hash.clone(), ts: h.ts.clone(), time: parse_rfc3339(&h.ts) }),
                    missing,
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

    /// Verifies rows read from lake object `lake_key`.
    pub fn verify_rows(&mut self, lake_key: &str, rows: &[EventRef<'_>]) {
        self.flush();
        let keyring = self.keyring;
        let checks: Vec<EventCheck> =
            rows.par_chunks(BATCH).flat_map_iter(|chunk| check_chunk(keyring, chunk)).collect();
        for (row, check) in rows.iter().zip(checks) {
            self.place(lake_key, row, check);
        }
    }

    /// Adds a batch read from lake object `lake_key`. The batch is checked in parallel while the
    /// previous batch is placed in its chains; [`Self::finish`] places the last.
    pub fn push_batch(&mut self, lake_key: String, batch: Box<dyn EventBatch>) {
        let keyring = self.keyring;
        let pending = self.pending.take();
        let (checks, ()) = rayon::join(
            || batch.refs().par_chunks(BATCH).flat_map_iter(|chunk| check_chunk(keyring, chunk)).collect::<Vec<_>>(),
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

    fn place(&mut self, lake_key: &str, row: &EventRef<'_>, check: EventCheck) {
        self.events += 1;
        let window = self.options.window;
        let skew = self.options.max_clock_skew;
        let (s, h, p) = (row.seq, row.hash, row.prev);
        let time = parse_rfc3339(row.ts);
        // The per-event findings come first, then those of placing the event in its chain; all
        // are pushed at the end, once `state` is no longer borrowed. A finding about another
        // event (the one after this, whose link or time is checked now that this one arrived)
        // names that event.
        let mut findings: Vec<(At, FindingKind, String)> = Vec::new();
        findings.extend(check.altered.map(|detail| (At::Here, FindingKind::Altered, detail)));
        findings.extend(check.key.map(|(kind, detail)| (At::Here, kind, detail)));
        // Looked up before inserting, so a known chain's name is not copied for every event.
        let state = match self.chains.get_mut(row.chain) {
            Some(state) => state,
            None => self.chains.entry(row.chain.to_string()).or_default(),
        };
        state.events += 1;
        // The window holds seqs up to the head only.
        let below_head = state.head.as_ref().is_some_and(|head| s <= head.seq);
        let remembered = below_head.then(|| state.window.get(&s).map(|seen| seen.iter().any(|e| e == h))).flatten();
        // Whether this event is remembered in the window: as the only one at its seq, or (a
        // fork) beside the first.
        let mut remember = Remember::Only;
        match state.head.as_ref().map(|head| head.seq) {
            None => {
                if s == 0 {
                    if p != GENESIS_PREV {
                        findings.push((
                            At::Here,
                            FindingKind::BrokenLink,
                            "the first event of a chain must have prev = 64 zeros".into(),
                        ));
                    }
                } else {
                    state.missing.insert(0, Missing::below(None, row, lake_key));
                }
                set_head(&mut state.head, row, time);
            }
            Some(head_seq) if s > head_seq => {
                if let Some(head) = state.head.as_ref().filter(|_| s == head_seq + 1) {
                    let linked =
                        p == head.hash || state.window.get(&head_seq).is_some_and(|v| v.iter().any(|e| e == p));
                    if !linked {
                        findings.push((
                            At::Here,
                            FindingKind::BrokenLink,
                            format!("prev {} is not the hash {} of seq {head_seq}", short(p), short(&head.hash)),
                        ));
                    }
                    if let Some(detail) = went_back((&head.ts, head.time), (row.ts, time), skew) {
                        findings.push((At::Here, FindingKind::TimeBackwards, detail));
                    }
                } else {
                    let before = state.head.as_ref().map(|head| (head.hash.clone(), head.ts.clone()));
                    state.missing.insert(head_seq + 1, Missing::below(before, row, lake_key));
                }
                set_head(&mut state.head, row, time);
            }
            Some(_) if remembered == Some(true) => {
                findings.push((At::Here, FindingKind::Duplicate, format!("event {} was delivered again", short(h))));
                remember = Remember::No;
            }
            Some(_) if s > 0 && remembered == Some(false) => {
                let first = state.window.get(&s).and_then(|v| v.first()).map_or("", String::as_str);
                findings.push((
                    At::Here,
                    FindingKind::Fork,
                    format!("a second, different event {} claims seq {s} (first: {})", short(h), short(first)),
                ));
                remember = Remember::Beside;
            }
            Some(_) if missing_range(&state.missing, s).is_some() => {
                if let Some(reported_at) = fill(state, row, lake_key, skew, &mut findings) {
                    // Named at the gap's seq, so it answers the `gap` finding; located at the
                    // event that closed it.
                    let at = At::Event { seq: reported_at, object_key: lake_key.to_string(), line: row.line };
                    findings.push((
                        at,
                        FindingKind::GapClosed,
                        format!(
                            "the gap reported at seq {reported_at} is closed: its events arrived late, the last of them seq {s} (links and times are checked as each is placed)"
                        ),
                    ));
                }
            }
            Some(head_seq) if s == 0 => {
                // Seq 0 again after the chain moved on, and not missing: the emitter started over.
                let head_hash = state.head.as_ref().map_or("", |head| head.hash.as_str());
                findings.push((
                    At::Here,
                    FindingKind::Restart,
                    format!("the chain restarts at seq 0 after reaching seq {head_seq} (head {})", short(head_hash)),
                ));
                // Ranges not yet reported are reported now; those reported earlier stay open.
                for (start, m) in std::mem::take(&mut state.missing) {
                    if m.reported_at.is_none() {
                        let at = At::Event { seq: start, object_key: m.object_key, line: m.line };
                        findings.push((at, FindingKind::Gap, gap_detail(start, m.end)));
                    }
                }
                state.window.clear();
                if p != GENESIS_PREV {
                    findings.push((
                        At::Here,
                        FindingKind::BrokenLink,
                        "a restarted chain must have prev = 64 zeros".into(),
                    ));
                }
                set_head(&mut state.head, row, time);
            }
            Some(head_seq) => {
                findings.push((
                    At::Here,
                    FindingKind::Reorder,
                    format!(
                        "seq {s} arrived after the chain had reached seq {head_seq}, and it is neither missing nor one of the last events remembered (a replay or a late delivery); it cannot be linked"
                    ),
                ));
                remember = Remember::No;
            }
        }
        match remember {
            Remember::Only => {
                // The oldest entry's buffers are reused once the window is full.
                let mut slot = if state.window.len() >= window {
                    state.window.pop_first().map(|(_, v)| v).unwrap_or_default()
                } else {
                    Vec::new()
                };
                slot.truncate(1);
                match slot.first_mut() {
                    Some(first) => {
                        first.clear();
                        first.push_str(h);
                    }
                    None => slot.push(h.to_string()),
                }
                state.window.insert(s, slot);
            }
            Remember::Beside => state.window.entry(s).or_default().push(h.to_string()),
            Remember::No => {}
        }
        for (at, kind, detail) in findings {
            let at = match at {
                At::Here => Placed { seq: s, object_key: lake_key.to_string(), line: row.line },
                At::Event { seq, object_key, line } => Placed { seq, object_key, line },
            };
            self.push(kind, row.chain, at, detail);
        }
    }

    fn push(&mut self, kind: FindingKind, chain: &str, at: Placed, detail: String) {
        if let Some(state) = self.chains.get_mut(chain) {
            state.findings += 1;
        }
        self.findings.push(Finding {
            object_key: Some(at.object_key),
            line: Some(at.line),
            ..Finding::event(kind, chain, at.seq, detail)
        });
    }

    /// Ends verification: ranges first found missing in this pass become `gap` findings, and
    /// every range still missing is carried in its chain's head. Returns the findings (in the
    /// order found) and the new chain heads.
    pub fn finish(mut self) -> (Vec<Finding>, BTreeMap<String, ChainHead>) {
        self.flush();
        let mut chains: Vec<(String, ChainState)> = std::mem::take(&mut self.chains).into_iter().collect();
        chains.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut heads = BTreeMap::new();
        for (name, mut state) in chains {
            let mut gaps = Vec::with_capacity(state.missing.len());
            for (start, m) in std::mem::take(&mut state.missing) {
                if m.reported_at.is_none() {
                    state.findings += 1;
                    self.findings.push(Finding {
                        object_key: Some(m.object_key.clone()),
                        line: Some(m.line),
                        ..Finding::event(FindingKind::Gap, &name, start, gap_detail(start, m.end))
                    });
                }
                let reported_at = m.reported_at.unwrap_or(start);
                let (before_hash, before_ts) = m.before.map_or((None, None), |(hash, ts)| (Some(hash), Some(ts)));
                gaps.push(OpenGap {
                    start,
                    end: m.end,
                    reported_at,
                    before_hash,
                    before_ts,
                    after_prev: m.after_prev,
                    after_ts: m.after_ts,
                    object_key: m.object_key,
                    line: m.line,
                });
            }
            if let Some(Head { seq, hash, ts, .. }) = state.head {
                heads.insert(name, ChainHead { seq, hash, ts, events: state.events, findings: state.findings, gaps });
            }
        }
        (self.findings, heads)
    }
}

/// How a placed event is remembered in its chain's window.
enum Remember {
    /// As the one event at its seq.
    Only,
    /// Beside the first event at its seq (a fork).
    Beside,
    /// Not at all (a duplicate, or an event that cannot be placed).
    No,
}

/// Which event a finding found while placing one event names.
#[derive(Clone)]
enum At {
    /// The event being placed.
    Here,
    /// Another event (the next one, a gap's first seq), with where it is.
    Event { seq: u64, object_key: String, line: u64 },
}

/// The highest seq placed in a chain: its hash, and its time as written and as read.
#[derive(Debug)]
struct Head {
    seq: u64,
    hash: String,
    ts: String,
    time: Option<DateTime<Utc>>,
}

/// Sets the chain's head to `row` (whose time reads as `time`), reusing the head's buffers.
fn set_head(head: &mut Option<Head>, row: &EventRef<'_>, time: Option<DateTime<Utc>>) {
    match head {
        Some(head) => {
            head.seq = row.seq;
            head.hash.clear();
            head.hash.push_str(row.hash);
            head.ts.clear();
            head.ts.push_str(row.ts);
            head.time = time;
        }
        None => *head = Some(Head { seq: row.seq, hash: row.hash.to_string(), ts: row.ts.to_string(), time }),
    }
}

/// Where a finding points: an event by seq, its lake object and line.
#[derive(Clone, Debug)]
struct Placed {
    seq: u64,
    object_key: String,
    line: u64,
}

impl Missing {
    /// The range below the event `row` (at `end + 1`), whose predecessor is `before`.
    fn below(before: Option<(String, String)>, row: &EventRef<'_>, lake_key: &str) -> Self {
        Missing {
            end: row.seq - 1,
            before,
            after_prev: row.prev.to_string(),
            after_ts: row.ts.to_string(),
            object_key: lake_key.to_string(),
            line: row.line,
            reported_at: None,
        }
    }
}

/// The start of the missing range holding `s`, if any.
fn missing_range(missing: &BTreeMap<u64, Missing>, s: u64) -> Option<u64> {
    let (&start, m) = missing.range(..=s).next_back()?;
    (s <= m.end).then_some(start)
}

/// Places an event that falls into a missing range: checks it against the neighbours the range
/// remembers, and splits the range around it. Returns the seq a closed gap was reported at, when
/// this event was the last one missing of a gap reported by an earlier pass.
fn fill(
    state: &mut ChainState,
    row: &EventRef<'_>,
    lake_key: &str,
    skew: Duration,
    findings: &mut Vec<(At, FindingKind, String)>,
) -> Option<u64> {
    let s = row.seq;
    let start = missing_range(&state.missing, s)?;
    let m = state.missing.remove(&start)?;
    if s == start {
        match &m.before {
            Some((hash, ts)) => {
                if row.prev != hash {
                    findings.push((
                        At::Here,
                        FindingKind::BrokenLink,
                        format!("prev {} is not the hash {} of seq {}", short(row.prev), short(hash), s - 1),
                    ));
                }
                if let Some(detail) = went_back((ts, parse_rfc3339(ts)), (row.ts, parse_rfc3339(row.ts)), skew) {
                    findings.push((At::Here, FindingKind::TimeBackwards, detail));
                }
            }
            None if s == 0 && row.prev != GENESIS_PREV => {
                findings.push((
                    At::Here,
                    FindingKind::BrokenLink,
                    "the first event of a chain must have prev = 64 zeros".into(),
                ));
            }
            None => {}
        }
    }
    if s == m.end {
        let next = At::Event { seq: s + 1, object_key: m.object_key.clone(), line: m.line };
        if m.after_prev != row.hash {
            findings.push((
                next.clone(),
                FindingKind::BrokenLink,
                format!("prev {} is not the hash {} of seq {s}", short(&m.after_prev), short(row.hash)),
            ));
        }
        if let Some(detail) =
            went_back((row.ts, parse_rfc3339(row.ts)), (&m.after_ts, parse_rfc3339(&m.after_ts)), skew)
        {
            findings.push((next, FindingKind::TimeBackwards, detail));
        }
    }
    if start < s {
        let left = Missing { end: s - 1, after_prev: row.prev.to_string(), after_ts: row.ts.to_string(), ..m.clone() };
        let left = Missing { object_key: lake_key.to_string(), line: row.line, ..left };
        state.missing.insert(start, left);
    }
    if s < m.end {
        let right = Missing { before: Some((row.hash.to_string(), row.ts.to_string())), ..m.clone() };
        state.missing.insert(s + 1, right);
    }
    let reported_at = m.reported_at?;
    let still_open = state.missing.values().any(|r| r.reported_at == Some(reported_at));
    (!still_open).then_some(reported_at)
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

fn gap_detail(start: u64, end: u64) -> String {
    if start == end {
        format!("seq {start} is missing")
    } else {
        format!("seqs {start}..={end} are missing ({} events)", end - start + 1)
    }
}

/// Why the event at time `later` (the next seq) went back beyond `skew` from the one at
/// `earlier`, if it did: each as written and as read. Times that do not read are not compared.
fn went_back(
    (earlier, a): (&str, Option<DateTime<Utc>>),
    (later, b): (&str, Option<DateTime<Utc>>),
    skew: Duration,
) -> Option<String> {
    let (a, b) = (a?, b?);
    (b + skew < a)
        .then(|| format!("time {later} is {}s before the previous event's time {earlier}", (a - b).num_seconds()))
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
        // Events stored in canonical form are hashed straight from their text; the rest are
        // parsed and canonicalised.
        match canonical_event::hash(row).map_or_else(|| content_hash(row), Ok) {
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
    if !crate::batch::verify_batch(&messages, &sigs, &keys) {
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
}
