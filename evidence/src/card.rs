//! Signed policy Decision Cards: a JSON document of any shape with `id` (a string), `version` (a
//! string or a number), `issued_at` (RFC 3339) and optionally `expires_at`, signed by a detached
//! `.sig` (base64 Ed25519 over the card's RFC 8785 canonical bytes) or `.minisig` (minisign over
//! its exact bytes). Read here once for the collector, which records cards, and the verifier,
//! which re-checks their signatures.

use serde_json::Value;

use crate::time::parse_rfc3339;

/// What a card says about itself.
#[derive(Debug, PartialEq, Eq)]
pub struct Card {
    /// `id`.
    pub id: String,
    /// `version`, as text.
    pub version: String,
    /// `issued_at`.
    pub issued_at: String,
    /// `expires_at`.
    pub expires_at: Option<String>,
    /// The RFC 8785 canonical bytes: what a `.sig` signs.
    pub canonical: Vec<u8>,
}

/// Reads a card: strict JSON (no duplicate keys), an object with the fields above.
pub fn parse_card(bytes: &[u8]) -> Result<Card, String> {
    crate::json::check_strict(bytes).map_err(|e| format!("not a Decision Card: {e}"))?;
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let obj = value.as_object().ok_or("a Decision Card is a JSON object")?;
    let text = |field: &str| -> Result<Option<String>, String> {
        match obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(Value::Number(n)) if field == "version" => Ok(Some(n.to_string())),
            Some(other) => Err(format!("`{field}` must be a non-empty string, not {other}")),
        }
    };
    let id = text("id")?.ok_or("the card has no `id`")?;
    let version = text("version")?.ok_or("the card has no `version`")?;
    let issued_at = text("issued_at")?.ok_or("the card has no `issued_at`")?;
    if parse_rfc3339(&issued_at).is_none() {
        return Err(format!("issued_at {issued_at:?} is not an RFC 3339 time"));
    }
    let expires_at = text("expires_at")?;
    if let Some(e) = expires_at.as_deref().filter(|e| parse_rfc3339(e).is_none()) {
        return Err(format!("expires_at {e:?} is not an RFC 3339 time"));
    }
    let canonical = crate::canonical::canonical_bytes(&value).map_err(|e| format!("cannot canonicalize: {e}"))?;
    Ok(Card { id, version, issued_at, expires_at, canonical })
}

#[cfg(test)]
mod tests {
    use super::parse_card;

    #[test]
    fn cards_need_id_version_and_issue_time() {
        let card = parse_card(br#"{"version": 3, "id": "payments-egress", "issued_at": "2026-10-01T00:00:00Z", "rules": {"b": 1, "a": 2}}"#)
            .unwrap();
        assert_eq!((card.id.as_str(), card.version.as_str()), ("payments-egress", "3"));
        assert_eq!(
            String::from_utf8(card.canonical).unwrap(),
            r#"{"id":"payments-egress","issued_at":"2026-10-01T00:00:00Z","rules":{"a":2,"b":1},"version":3}"#
        );
        for (bad, why) in [
            (r#"{"version": "1", "issued_at": "2026-10-01T00:00:00Z"}"#, "no `id`"),
            (r#"{"id": "x", "issued_at": "2026-10-01T00:00:00Z"}"#, "no `version`"),
            (r#"{"id": "x", "version": "1", "issued_at": "yesterday"}"#, "RFC 3339"),
            (r#"{"id": "x", "id": "y", "version": "1", "issued_at": "2026-10-01T00:00:00Z"}"#, "duplicate"),
            (r#"["id"]"#, "object"),
        ] {
            let err = parse_card(bad.as_bytes()).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
