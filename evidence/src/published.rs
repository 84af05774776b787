//! Published key documents: a JWKS (RFC 7517, with RFC 8037 `OKP`/`Ed25519` keys) or a minisign
//! public key file that a vendor or team publishes, e.g. under `/.well-known/`.
//!
//! This module parses them and names their keys by one fingerprint, the lowercase hex SHA-256 of
//! the raw 32-byte Ed25519 public key (the same bytes whatever the document's format, so a key
//! moved from a minisign file to a JWKS keeps its fingerprint). It also replays the `keys` table
//! into each document's history. Fetching belongs to the collector; judging the history to the
//! verifier.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use ed25519_dalek::VerifyingKey;
use serde_json::Value;

use crate::artefacts::KeyRow;
use crate::digest::sha256_hex;
use crate::keys::PublicKey;

/// Why a published key document was refused. Each variant names the document and the field.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishedKeyError {
    /// The document is neither a JWKS nor a minisign public key file.
    #[error("published key document {document:?}: {detail}")]
    Format {
        /// The document's configured name.
        document: String,
        /// Why.
        detail: String,
    },
    /// One field of the document is missing or invalid.
    #[error("published key document {document:?}: `{field}`: {detail}")]
    Field {
        /// The document's configured name.
        document: String,
        /// The field at fault, as a path (`keys[1].x`).
        field: String,
        /// Why.
        detail: String,
    },
}

/// One key of a published document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedKey {
    /// Its id: the JWK's `kid`, or the minisign key id (`%016X`). A JWK without `kid` is named
    /// by its fingerprint.
    pub kid: String,
    /// Always `Ed25519`: the only algorithm Cairn verifies.
    pub algorithm: String,
    /// The key.
    pub key: VerifyingKey,
}

impl PublishedKey {
    /// Its fingerprint ([`fingerprint`]).
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.key)
    }
}

/// A key's fingerprint: lowercase hex SHA-256 of the raw 32-byte Ed25519 public key.
pub fn fingerprint(key: &VerifyingKey) -> String {
    sha256_hex(key.as_bytes())
}

/// Parses a published document: a JWKS when it is a JSON object, otherwise a minisign public key
/// file. `document` names it in errors.
pub fn parse_document(bytes: &[u8], document: &str) -> Result<Vec<PublishedKey>, PublishedKeyError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| PublishedKeyError::Format { document: document.into(), detail: "not UTF-8 text".into() })?;
    if text.trim_start().starts_with('{') {
        parse_jwks(text, document)
    } else {
        parse_minisign(text, document)
    }
}

/// Parses a minisign public key file (`untrusted comment:` line, then base64 of `Ed`, the 8-byte
/// key id and the 32-byte key).
pub fn parse_minisign(text: &str, document: &str) -> Result<Vec<PublishedKey>, PublishedKeyError> {
    let field =
        |detail: String| PublishedKeyError::Field { document: document.into(), field: "key line".into(), detail };
    if !text.trim_start().starts_with("untrusted comment:") {
        return Err(PublishedKeyError::Format {
            document: document.into(),
            detail: "neither a JWKS (a JSON object) nor a minisign public key file (`untrusted comment:` first)".into(),
        });
    }
    let key = PublicKey::parse(text, &format!("in {document:?}")).map_err(|e| field(e.to_string()))?;
    let line = text.lines().map(str::trim).rfind(|l| !l.is_empty() && !l.starts_with("untrusted comment:"));
    // A bare 32-byte key would parse above but is not a minisign file: it carries no key id.
    if line.is_none_or(|l| base64::engine::general_purpose::STANDARD.decode(l).map(|r| r.len()).ok() != Some(42)) {
        return Err(field("must decode to 42 bytes (`Ed`, an 8-byte key id, a 32-byte key)".into()));
    }
    Ok(vec![PublishedKey { kid: key.key_id_hex(), algorithm: "Ed25519".into(), key: key.key }])
}

/// Parses a JWKS: `{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": <base64url>, "kid": …}, …]}`.
/// Every key must be an Ed25519 public key: a document holding others is refused whole, with the
/// key named, rather than trusted in part.
pub fn parse_jwks(text: &str, document: &str) -> Result<Vec<PublishedKey>, PublishedKeyError> {
    let err = |field: String, detail: String| PublishedKeyError::Field { document: document.into(), field, detail };
    crate::json::check_strict(text.as_bytes())
        .map_err(|e| PublishedKeyError::Format { document: document.into(), detail: format!("not a JWKS: {e}") })?;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| PublishedKeyError::Format { document: document.into(), detail: format!("not JSON: {e}") })?;
    let keys = value
        .get("keys")
        .ok_or_else(|| err("keys".into(), "missing: a JWKS is an object with a `keys` array".into()))?
        .as_array()
        .ok_or_else(|| err("keys".into(), "must be an array".into()))?;
    if keys.is_empty() {
        return Err(err("keys".into(), "holds no key".into()));
    }
    let mut out: Vec<PublishedKey> = Vec::with_capacity(keys.len());
    for (i, jwk) in keys.iter().enumerate() {
        let path = |name: &str| format!("keys[{i}].{name}");
        let obj = jwk.as_object().ok_or_else(|| err(format!("keys[{i}]"), "must be an object".into()))?;
        let text_field = |name: &str| -> Result<Option<&str>, PublishedKeyError> {
            match obj.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(err(path(name), "must be a string".into())),
            }
        };
        if obj.contains_key("d") {
            // Never echo the value: it is a private key published by mistake.
            return Err(err(path("d"), "a private key must never be published; refusing the document".into()));
        }
        // Keys of other types (RSA, EC, X25519…) may sit beside the Ed25519 ones in a vendor's
        // JWKS: they are skipped, never trusted.
        let kty = text_field("kty")?.ok_or_else(|| err(path("kty"), "missing".into()))?;
        let crv = text_field("crv")?;
        if kty != "OKP" || crv != Some("Ed25519") {
            continue;
        }
        if let Some(alg) = text_field("alg")?.filter(|a| *a != "EdDSA" && *a != "Ed25519") {
            return Err(err(path("alg"), format!("{alg:?} does not go with an Ed25519 key (expected `EdDSA`)")));
        }
        let x = text_field("x")?.ok_or_else(|| err(path("x"), "missing".into()))?;
        let raw = B64URL
            .decode(x.trim_end_matches('='))
            .map_err(|e| err(path("x"), format!("not base64url (RFC 7515, no padding): {e}")))?;
        let bytes: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| err(path("x"), format!("decodes to {} bytes; an Ed25519 key is 32", raw.len())))?;
        let key =
            VerifyingKey::from_bytes(&bytes).map_err(|e| err(path("x"), format!("not an Ed25519 public key: {e}")))?;
        let kid = match text_field("kid")? {
            Some("") => return Err(err(path("kid"), "must not be empty".into())),
            Some(kid) => kid.to_string(),
            None => fingerprint(&key),
        };
        if out.iter().any(|k| k.kid == kid) {
            return Err(err(path("kid"), format!("{kid:?} appears twice")));
        }
        out.push(PublishedKey { kid, algorithm: "Ed25519".into(), key });
    }
    if out.is_empty() {
        return Err(err(
            "keys".into(),
            "holds no Ed25519 key (`kty` `OKP`, `crv` `Ed25519`, RFC 8037); keys of other types are ignored".into(),
        ));
    }
    Ok(out)
}

/// What a `keys` row records. Key rows: `added`, `changed` (same kid, other key material),
/// `unchanged`, `removed` (gone from the document), `missing` (a pinned kid the document does not
/// hold). Document rows (empty `kid`): `fetched`, `unreachable`.
pub mod events {
    /// A kid seen for the first time (or again after its removal).
    pub const ADDED: &str = "added";
    /// The same kid with other key material.
    pub const CHANGED: &str = "changed";
    /// The same kid and key as the last successful fetch.
    pub const UNCHANGED: &str = "unchanged";
    /// A kid the last successful fetch held and this one does not.
    pub const REMOVED: &str = "removed";
    /// A pinned kid the document does not hold (and did not hold before).
    pub const MISSING: &str = "missing";
    /// The document was fetched and parsed.
    pub const FETCHED: &str = "fetched";
    /// The document could not be fetched or parsed.
    pub const UNREACHABLE: &str = "unreachable";
}

/// One key of a document as the `keys` table tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyHistory {
    /// Its kid.
    pub kid: String,
    /// The current (or, once removed, the last) fingerprint.
    pub fingerprint: String,
    /// The current (or last) public key, standard base64.
    pub public_key: String,
    /// Algorithm.
    pub algorithm: String,
    /// First fetch that held it (RFC 3339).
    pub first_seen: String,
    /// Last fetch that held it.
    pub last_seen: String,
    /// When it was removed, if it is gone.
    pub removed_at: Option<String>,
    /// Its rows other than `unchanged`, oldest first: the rotation history.
    pub changes: Vec<KeyRow>,
}

/// One document as the `keys` table tells it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentHistory {
    /// The configured name.
    pub document: String,
    /// Where it was last fetched from.
    pub location: String,
    /// Its keys by kid, including removed ones.
    pub keys: BTreeMap<String, KeyHistory>,
    /// The last successful fetch (RFC 3339) and the document's SHA-256 then.
    pub last_fetched: Option<(String, String)>,
    /// The last failed fetch: time and reason.
    pub last_failure: Option<(String, String)>,
    /// The first failure since the last successful fetch (or ever, if none succeeded).
    pub failing_since: Option<String>,
}

impl DocumentHistory {
    /// Keys the document held at its last successful fetch.
    pub fn current(&self) -> impl Iterator<Item = &KeyHistory> {
        self.keys.values().filter(|k| k.removed_at.is_none())
    }

    /// Applies one row (rows must come in commit order).
    pub fn apply(&mut self, row: &KeyRow) {
        self.document.clone_from(&row.document);
        self.location.clone_from(&row.location);
        match row.event.as_str() {
            events::FETCHED => {
                self.last_fetched = Some((row.fetched_at.clone(), row.document_sha256.clone().unwrap_or_default()));
                self.failing_since = None;
            }
            events::UNREACHABLE => {
                self.last_failure = Some((row.fetched_at.clone(), row.detail.clone()));
                if self.failing_since.is_none() {
                    self.failing_since = Some(row.fetched_at.clone());
                }
            }
            events::ADDED | events::CHANGED | events::UNCHANGED => {
                let entry = self.keys.entry(row.kid.clone()).or_insert_with(|| KeyHistory {
                    kid: row.kid.clone(),
                    fingerprint: String::new(),
                    public_key: String::new(),
                    algorithm: String::new(),
                    first_seen: row.fetched_at.clone(),
                    last_seen: String::new(),
                    removed_at: None,
                    changes: Vec::new(),
                });
                entry.fingerprint.clone_from(&row.fingerprint);
                entry.public_key.clone_from(&row.public_key);
                entry.algorithm.clone_from(&row.algorithm);
                entry.last_seen.clone_from(&row.fetched_at);
                entry.removed_at = None;
                if row.event != events::UNCHANGED {
                    entry.changes.push(row.clone());
                }
            }
            events::REMOVED => {
                if let Some(entry) = self.keys.get_mut(&row.kid) {
                    entry.removed_at = Some(row.fetched_at.clone());
                    entry.changes.push(row.clone());
                }
            }
            _ => {}
        }
    }
}

/// Replays `keys` rows (in commit order) into each document's history, by document name.
pub fn histories<'a>(rows: impl IntoIterator<Item = &'a KeyRow>) -> BTreeMap<String, DocumentHistory> {
    let mut out: BTreeMap<String, DocumentHistory> = BTreeMap::new();
    for row in rows {
        out.entry(row.document.clone()).or_default().apply(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(byte: u8) -> String {
        let key = ed25519_dalek::SigningKey::from_bytes(&[byte; 32]).verifying_key();
        B64URL.encode(key.as_bytes())
    }

    #[test]
    fn jwks_with_ed25519_keys_parse_and_name_their_fingerprint() {
        let doc = format!(
            r#"{{"keys": [{{"kty": "OKP", "crv": "Ed25519", "x": "{}", "kid": "a", "use": "sig", "alg": "EdDSA"}},
                          {{"kty": "OKP", "crv": "Ed25519", "x": "{}"}}]}}"#,
            x(1),
            x(2)
        );
        let keys = parse_document(doc.as_bytes(), "vendor").unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].kid, "a");
        assert_eq!(keys[0].fingerprint(), sha256_hex(&B64URL.decode(x(1)).unwrap()));
        // Without a kid, a key is named by its fingerprint.
        assert_eq!(keys[1].kid, keys[1].fingerprint());
        // Keys of other types beside them are skipped, not trusted and not refused.
        let mixed = format!(
            r#"{{"keys": [{{"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "r"}}, {{"kty": "OKP", "crv": "X25519", "x": "{}"}},
                          {{"kty": "OKP", "crv": "Ed25519", "x": "{}", "kid": "a"}}]}}"#,
            x(3),
            x(1)
        );
        let keys = parse_document(mixed.as_bytes(), "vendor").unwrap();
        assert_eq!(keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn jwks_refusals_name_the_document_and_the_field() {
        let good = x(1);
        let short = B64URL.encode([1u8; 31]);
        for (doc, field, why) in [
            (r#"{"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}"#.to_string(), "keys", "no Ed25519 key"),
            (format!(r#"{{"keys": [{{"kty": "OKP", "crv": "X25519", "x": "{good}"}}]}}"#), "keys", "no Ed25519 key"),
            (format!(r#"{{"keys": [{{"x": "{good}"}}]}}"#), "keys[0].kty", "missing"),
            (r#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "not*base64url"}]}"#.into(), "keys[0].x", "base64url"),
            (format!(r#"{{"keys": [{{"kty": "OKP", "crv": "Ed25519", "x": "{short}"}}]}}"#), "keys[0].x", "31 bytes"),
            (format!(r#"{{"keys": [{{"kty": "OKP", "crv": "Ed25519"}}, {{"x": "{good}"}}]}}"#), "keys[0].x", "missing"),
            (
                format!(r#"{{"keys": [{{"kty": "OKP", "crv": "Ed25519", "x": "{good}", "d": "c2VjcmV0"}}]}}"#),
                "keys[0].d",
                "private",
            ),
            (
                format!(
                    r#"{{"keys": [{{"kty": "OKP", "crv": "Ed25519", "x": "{good}", "kid": "k"}}, {{"kty": "OKP", "crv": "Ed25519", "x": "{}", "kid": "k"}}]}}"#,
                    x(2)
                ),
                "keys[1].kid",
                "twice",
            ),
            (r#"{"key": []}"#.into(), "keys", "missing"),
            (r#"{"keys": []}"#.into(), "keys", "no key"),
        ] {
            let err = parse_document(doc.as_bytes(), "vendor").unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("\"vendor\"") && text.contains(&format!("`{field}`")) && text.contains(why),
                "{doc}: {text}"
            );
            assert!(!text.contains("c2VjcmV0"), "a private key is never echoed: {text}");
        }
        let err = parse_document(b"<html>hello</html>", "vendor").unwrap_err().to_string();
        assert!(err.contains("neither a JWKS"), "{err}");
    }

    #[test]
    fn minisign_public_key_files_parse_with_their_key_id() {
        let public = PublicKey::of(&ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]));
        let keys = parse_document(public.to_minisign_file().as_bytes(), "release-key").unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid, public.key_id_hex());
        assert_eq!(keys[0].key, public.key);
        let raw_only = format!(
            "untrusted comment: x\n{}\n",
            base64::engine::general_purpose::STANDARD.encode(public.key.as_bytes())
        );
        let err = parse_document(raw_only.as_bytes(), "release-key").unwrap_err().to_string();
        assert!(err.contains("42 bytes"), "{err}");
    }
}
