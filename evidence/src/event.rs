//! Chain event v1: the fields every signed, hash-chained audit event carries, and its hash.
//!
//! `hash` = SHA-256 of the RFC 8785 canonical bytes of the event without `hash` and `sig`;
//! `sig` = standard base64 of Ed25519 over the 32 raw bytes of `hash`.

use serde_json::{Map, Value};

use crate::canonical::canonical_bytes;
use crate::digest::Sha256Digest;

/// The zero `prev` of the first event of a chain.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain fields of one event, as found in its JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainFields {
    /// Chain id.
    pub chain: String,
    /// Position in the chain.
    pub seq: u64,
    /// RFC 3339 time, as written.
    pub ts: String,
    /// Signing key id.
    pub kid: String,
    /// Hex hash of the previous event.
    pub prev: String,
    /// Hex hash of this event, as claimed.
    pub hash: String,
    /// Base64 signature, as claimed.
    pub sig: String,
}

/// Why an event's chain fields cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// The event is not a JSON object.
    #[error("the event is not a JSON object")]
    NotAnObject,
    /// A required member is missing.
    #[error("missing member `{0}`")]
    Missing(&'static str),
    /// A member has the wrong type or form.
    #[error("member `{field}` {expected}")]
    Invalid {
        /// The member.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
}

fn string_field(obj: &Map<String, Value>, field: &'static str) -> Result<String, FieldError> {
    match obj.get(field) {
        None => Err(FieldError::Missing(field)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(FieldError::Invalid { field, expected: "must be a string" }),
    }
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

impl ChainFields {
    /// Reads the chain fields of an event object and checks their form
    /// (not their truth: that is the verifier's job).
    pub fn from_value(event: &Value) -> Result<Self, FieldError> {
        let obj = event.as_object().ok_or(FieldError::NotAnObject)?;
        let seq = match obj.get("seq") {
            None => return Err(FieldError::Missing("seq")),
            Some(v) => v.as_u64().ok_or(FieldError::Invalid { field: "seq", expected: "must be an integer >= 0" })?,
        };
        let fields = Self {
            chain: string_field(obj, "chain")?,
            seq,
            ts: string_field(obj, "ts")?,
            kid: string_field(obj, "kid")?,
            prev: string_field(obj, "prev")?,
            hash: string_field(obj, "hash")?,
            sig: string_field(obj, "sig")?,
        };
        if fields.chain.is_empty() {
            return Err(FieldError::Invalid { field: "chain", expected: "must not be empty" });
        }
        if !is_hex64(&fields.prev) {
            return Err(FieldError::Invalid { field: "prev", expected: "must be 64 lowercase hex digits" });
        }
        if !is_hex64(&fields.hash) {
            return Err(FieldError::Invalid { field: "hash", expected: "must be 64 lowercase hex digits" });
        }
        Ok(fields)
    }
}

/// The chain event v1 hash of `event`: SHA-256 over the canonical bytes without `hash` and `sig`.
/// `None` when the event is not an object or cannot be canonicalized.
pub fn event_hash(event: &Value) -> Option<Sha256Digest> {
    let obj = event.as_object()?;
    let mut body = obj.clone();
    body.remove("hash");
    body.remove("sig");
    let bytes = canonical_bytes(&Value::Object(body)).ok()?;
    Some(Sha256Digest::of(&bytes))
}

/// The hash of an event given as JSON text (what the lake stores).
pub fn event_hash_of_text(text: &str) -> Option<Sha256Digest> {
    let mut value: Value = serde_json::from_str(text).ok()?;
    let obj = value.as_object_mut()?;
    obj.remove("hash");
    obj.remove("sig");
    let bytes = canonical_bytes(&value).ok()?;
    Some(Sha256Digest::of(&bytes))
}
