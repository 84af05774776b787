//! Chain event v1: the fields every signed, hash-chained audit event carries, and its hash.
//!
//! `hash` = SHA-256 of the RFC 8785 canonical bytes of the event without `hash` and `sig`;
//! `sig` = standard base64 of Ed25519 over the 32 raw bytes of `hash`.

use serde_json::{Map, Value};

use crate::canonical::canonical_bytes;
use crate::digest::{is_sha256_hex, Sha256Digest};

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
        if !is_sha256_hex(&fields.prev) {
            return Err(FieldError::Invalid { field: "prev", expected: "must be 64 lowercase hex digits" });
        }
        if !is_sha256_hex(&fields.hash) {
            return Err(FieldError::Invalid { field: "hash", expected: "must be 64 lowercase hex digits" });
        }
        Ok(fields)
    }
}

/// Where an event's claimed `prev`, `hash` and `sig` sit in its JSON text. The `events` table
/// keeps them only there (the text is what was signed); read back, they are found again here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims([Claim; 3]);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Claim {
    /// Bytes `start..end` of the text.
    Span(usize, usize),
    /// A value written with JSON escapes, unescaped.
    Text(Box<str>),
}

impl Default for Claim {
    fn default() -> Self {
        Self::Span(0, 0)
    }
}

#[derive(serde::Deserialize)]
struct ClaimFields<'a> {
    #[serde(borrow, default)]
    prev: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    hash: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    sig: std::borrow::Cow<'a, str>,
}

impl Claims {
    /// Finds the claims of the top-level object `json`. Text that is not such an object, or a
    /// member missing, repeated or not a string, gives empty claims: verification then names
    /// the event, whose own text it reads too.
    pub fn find(json: &str) -> Self {
        let Ok(fields) = serde_json::from_str::<ClaimFields<'_>>(json) else { return Self::default() };
        let claim = |value: std::borrow::Cow<'_, str>| match value {
            std::borrow::Cow::Borrowed(s) => {
                let start = (s.as_ptr() as usize).wrapping_sub(json.as_ptr() as usize);
                match json.get(start..start.saturating_add(s.len())) {
                    Some(found) if found.as_ptr() == s.as_ptr() => Claim::Span(start, start + s.len()),
                    _ => Claim::Text(s.into()),
                }
            }
            std::borrow::Cow::Owned(s) => Claim::Text(s.into()),
        };
        Self([claim(fields.prev), claim(fields.hash), claim(fields.sig)])
    }

    fn get<'a>(&'a self, json: &'a str, i: usize) -> &'a str {
        match &self.0[i] {
            Claim::Span(start, end) => json.get(*start..*end).unwrap_or_default(),
            Claim::Text(text) => text,
        }
    }

    /// `prev`, from the `json` these claims were found in.
    pub fn prev<'a>(&'a self, json: &'a str) -> &'a str {
        self.get(json, 0)
    }

    /// `hash`, from the `json` these claims were found in.
    pub fn hash<'a>(&'a self, json: &'a str) -> &'a str {
        self.get(json, 1)
    }

    /// `sig`, from the `json` these claims were found in.
    pub fn sig<'a>(&'a self, json: &'a str) -> &'a str {
        self.get(json, 2)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_found_in_the_text_escaped_or_not() {
        let json = r#"{"chain":"c","prev":"00ab","n":{"hash":"inner"},"hash":"\u0066f","sig":"AA=="}"#;
        let claims = Claims::find(json);
        assert_eq!((claims.prev(json), claims.hash(json), claims.sig(json)), ("00ab", "ff", "AA=="));
        assert!(matches!(claims.0[0], Claim::Span(..)), "an unescaped value is borrowed from the text");
        for bad in [r#"{"hash":"a","hash":"b","prev":"","sig":""}"#, r#"{"prev":1}"#, "[1]", "{", ""] {
            let claims = Claims::find(bad);
            assert_eq!((claims.prev(bad), claims.hash(bad), claims.sig(bad)), ("", "", ""), "{bad}");
        }
        let partial = r#"{"hash":"ab"}"#;
        assert_eq!(Claims::find(partial).hash(partial), "ab");
        assert_eq!(Claims::find(partial).sig(partial), "");
    }
}
