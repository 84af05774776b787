//! RFC 8785 JSON Canonicalization Scheme (JCS).
//!
//! Hashes in Cairn are only ever taken over canonical bytes, so two emitters that serialise the
//! same event with different whitespace or member order produce the same hash.

use serde_json::Value;

/// Why a value has no canonical form.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalError {
    /// The value holds something RFC 8785 cannot express (e.g. a non-finite number).
    #[error("value cannot be canonicalized (RFC 8785): {0}")]
    Unrepresentable(String),
}

/// The RFC 8785 canonical bytes of `value`.
pub fn canonical_bytes(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    serde_json_canonicalizer::to_vec(value).map_err(|e| CanonicalError::Unrepresentable(e.to_string()))
}

/// The RFC 8785 canonical text of `value`.
pub fn canonical_string(value: &Value) -> Result<String, CanonicalError> {
    serde_json_canonicalizer::to_string(value).map_err(|e| CanonicalError::Unrepresentable(e.to_string()))
}
