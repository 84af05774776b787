//! The disclosure vault: the personal values audit events disclose, kept apart from the lake.
//!
//! An event that commits to its personal values ([`crate::disclosure`]) is stored in the lake as
//! signed, with the commitments only. Its disclosures (salt, name, value) go to the vault:
//! Parquet objects under `vault/disclosures/date=…/<run>-<nnnn>.parquet` in the same store, one
//! row per disclosure. The vault is not part of the Merkle log: each disclosure proves itself
//! against the signed commitment, so the log needs none of them, and a value can be erased by
//! rewriting the vault while every lake object, chain and proof stays as it was.
//!
//! Which vault objects hold live rows is said by the signed run manifests: a run lists the vault
//! objects it wrote (`vault`), and an erasure run also names the ones it replaced
//! (`erasure.replaced`). A vault object no manifest lists, or one an erasure replaced, is removed
//! by the next writer, with what crashed runs leave behind.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Schema, SchemaRef};

use crate::artefacts::{lake_table, Column, LakeTable};
pub use crate::manifest::Erasure;
use crate::manifest::ObjectEntry;
use crate::tables::{names, provenance_fields, Provenance, ProvenanceBuilder, ProvenanceColumns, TableError};

/// Where vault objects live in the store.
pub const PREFIX: &str = "vault/disclosures";

lake_table! {
    /// One disclosed value of one event. Its source record is the envelope's origin.
    pub struct DisclosureRow in names::DISCLOSURES {
        /// The event's chain.
        pub chain: String,
        /// The event's seq.
        pub seq: u64,
        /// The event's hash (lowercase hex), as signed.
        pub event_hash: String,
        /// JSON pointer of the value in the revealed event (`/actor`, `/attrs/ip`).
        pub path: String,
        /// The disclosure's digest (base64url SHA-256), as the event commits to it.
        pub digest: String,
        /// The disclosure as issued (base64url of `[salt, name, value]`).
        pub disclosure: String,
        /// The value, as JSON text.
        pub value_json: String,
    }
}

/// The live vault objects after `manifests` (oldest first), by key: each written by one of them
/// and not replaced by an erasure since.
pub fn live<'a>(
    manifests: impl IntoIterator<Item = &'a crate::manifest::RunManifest>,
) -> BTreeMap<String, ObjectEntry> {
    let mut live = BTreeMap::new();
    for m in manifests {
        for replaced in m.erasure.iter().flat_map(|e| &e.replaced) {
            live.remove(replaced);
        }
        for entry in &m.vault {
            live.insert(entry.key.clone(), entry.clone());
        }
    }
    live
}

/// A vault object's key: `vault/disclosures/date=<date>/<run_id>-<nnnn>.parquet`.
pub fn key(date: &str, run_id: &str, part: u32) -> String {
    format!("{PREFIX}/date={date}/{run_id}-{part:04}.parquet")
}

/// The `disclosures` batch of `rows`.
pub fn batch(rows: &[DisclosureRow]) -> Result<RecordBatch, TableError> {
    DisclosureRow::to_batch(rows)
}

/// Reads the rows of a vault object.
pub fn rows(bytes: bytes::Bytes) -> Result<Vec<DisclosureRow>, TableError> {
    let mut out = Vec::new();
    for batch in crate::tables::from_parquet(bytes)? {
        out.extend(DisclosureRow::from_batch(&batch?)?);
    }
    Ok(out)
}

/// The keyed pseudonym of a disclosed value (its JSON text): the same value gives the same
/// pseudonym under the same secret, so rows stay joinable (the same actor in two events), and
/// without the secret it cannot be computed from a guessed value. HMAC-SHA256, its first 16
/// bytes in hex, prefixed `p-`.
pub fn pseudonym(secret: &[u8], value_json: &str) -> String {
    let mac = crate::digest::hmac_sha256(secret, value_json.as_bytes());
    format!("p-{}", hex::encode(&mac[..16]))
}

/// An event, as the vault names it: chain, seq and hash.
pub type EventKey = (String, u64, String);

/// Whether a disclosed value (JSON text) is one of `values`: a string equal to one of them, or
/// any other JSON value whose text is.
fn names_subject(value_json: &str, values: &[String]) -> bool {
    match serde_json::from_str::<serde_json::Value>(value_json) {
        Ok(serde_json::Value::String(s)) => values.contains(&s),
        _ => values.iter().any(|v| v == value_json),
    }
}

/// The events among `rows` that disclose any of `values` (a data subject's identifiers: an
/// email address, a user name). Every disclosed value of such an event is about the subject
/// (its client address beside its actor), and is erased with it.
pub fn events_naming(rows: &[DisclosureRow], values: &[String]) -> std::collections::BTreeSet<EventKey> {
    rows.iter()
        .filter(|r| names_subject(&r.value_json, values))
        .map(|r| (r.chain.clone(), r.seq, r.event_hash.clone()))
        .collect()
}

/// Splits `rows` into those kept and those of the `events` erased.
pub fn without_events(
    rows: Vec<DisclosureRow>,
    events: &std::collections::BTreeSet<EventKey>,
) -> (Vec<DisclosureRow>, Vec<DisclosureRow>) {
    rows.into_iter().partition(|r| !events.contains(&(r.chain.clone(), r.seq, r.event_hash.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_survive_parquet() {
        let row = DisclosureRow {
            chain: "c".into(),
            seq: 3,
            event_hash: "ab".repeat(32),
            path: "/actor".into(),
            digest: "d".into(),
            disclosure: "WyJzIiwgImFjdG9yIiwgImEiXQ".into(),
            value_json: "\"a\"".into(),
            provenance: Provenance {
                source: "payments".into(),
                object_key: "inputs/export.json".into(),
                line: 7,
                byte_offset: 120,
                record_sha256: "cd".repeat(32),
                run_id: "R".into(),
                collected_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
                actor: "test".into(),
                confidence: crate::tables::Confidence::Unverified,
                simulated: false,
            },
        };
        let bytes = crate::tables::to_parquet(&batch(std::slice::from_ref(&row)).unwrap()).unwrap();
        assert_eq!(rows(bytes).unwrap(), vec![row]);
        assert_eq!(key("2026-11-21", "R", 2), "vault/disclosures/date=2026-11-21/R-0002.parquet");
    }

    #[test]
    fn every_value_of_an_event_naming_the_subject_is_erased() {
        let row = |seq: u64, path: &str, value: &str| DisclosureRow {
            chain: "c".into(),
            seq,
            event_hash: format!("h{seq}"),
            path: path.into(),
            digest: format!("d{seq}{path}"),
            disclosure: String::new(),
            value_json: value.into(),
            provenance: Provenance {
                source: "s".into(),
                object_key: "o".into(),
                line: seq,
                byte_offset: 0,
                record_sha256: String::new(),
                run_id: "R".into(),
                collected_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
                actor: "test".into(),
                confidence: crate::tables::Confidence::Unverified,
                simulated: false,
            },
        };
        let rows = vec![
            row(1, "/actor", "\"ann@example.com\""),
            row(1, "/attrs/ip", "\"10.0.0.1\""),
            row(2, "/actor", "\"bob@example.com\""),
            row(2, "/attrs/ip", "\"10.0.0.1\""),
            row(3, "/n", "7"),
        ];
        let events = events_naming(&rows, &["ann@example.com".into()]);
        assert_eq!(events.len(), 1);
        let (kept, erased) = without_events(rows.clone(), &events);
        assert_eq!(erased.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(), ["/actor", "/attrs/ip"]);
        assert_eq!(kept.len(), 3, "bob's event keeps its values, though it shares the address");
        assert_eq!(events_naming(&rows, &["7".into()]).len(), 1, "a non-string value by its JSON text");
        assert!(events_naming(&rows, &["ann".into()]).is_empty(), "whole values only");
    }
}
