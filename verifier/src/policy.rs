//! Signed policy Decision Cards: each card's signature by a key the keyring allows for it,
//! immutability per `id` and `version`, review (expiry and the review interval), and audit events
//! that name a card the lake does not hold or one issued after them.

use chrono::{DateTime, Utc};

use cairn_evidence::keyring::Keyring;

use crate::{Finding, FindingKind};

/// The Decision Card an audit event names in its `policy` member: `{"id": …, "version": …}` or
/// `"id@version"`. `None` when the event names none.
pub fn event_policy(event_json: &str) -> Option<(String, String)> {
    // Most events name no card: look before parsing.
    if !event_json.contains("\"policy\"") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(event_json).ok()?;
    match value.get("policy")? {
        serde_json::Value::String(s) => {
            let (id, version) = s.rsplit_once('@').unwrap_or((s.as_str(), ""));
            Some((id.to_string(), version.to_string()))
        }
        serde_json::Value::Object(o) => {
            let text = |k: &str| match o.get(k) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            Some((text("id"), text("version")))
        }
        other => Some((other.to_string(), String::new())),
    }
}

/// Checks that the card an event names is in the lake and was issued before the event.
pub fn check_event_policy(
    row: &cairn_evidence::tables::EventRef<'_>,
    lake_key: &str,
    cards: &[cairn_evidence::artefacts::PolicyRow],
) -> Option<Finding> {
    let (id, version) = event_policy(row.event_json)?;
    let finding = |detail: String| Finding {
        object_key: Some(lake_key.to_string()),
        line: Some(row.line),
        ..Finding::event(FindingKind::PolicyUnknown, row.chain, row.seq, detail)
    };
    let Some(card) = cards.iter().find(|c| c.card_id == id && c.version == version) else {
        return Some(finding(format!(
            "the event names Decision Card {id:?} version {version:?}, which the lake does not hold"
        )));
    };
    let issued = cairn_evidence::time::parse_rfc3339(&card.issued_at);
    let at = cairn_evidence::time::parse_rfc3339(row.ts);
    match (issued, at) {
        (Some(issued), Some(at)) if at < issued => Some(finding(format!(
            "the event at {} names Decision Card {id} version {version}, not issued until {}",
            row.ts, card.issued_at
        ))),
        _ => None,
    }
}

/// The checks of one collected Decision Card (`bytes` are its exact bytes); `all` is every card
/// in the lake, this one included.
pub fn check_policy(
    row: &cairn_evidence::artefacts::PolicyRow,
    bytes: &[u8],
    all: &[cairn_evidence::artefacts::PolicyRow],
    keyring: &Keyring,
    review_days: u32,
    at: DateTime<Utc>,
) -> Vec<Finding> {
    let p = &row.provenance;
    let card = format!("Decision Card {} version {}", row.card_id, row.version);
    let finding = |kind, detail: String| Finding::object(kind, &p.object_key, detail).at_line(p.line);
    let mut out = Vec::new();
    let issued = cairn_evidence::time::parse_rfc3339(&row.issued_at);
    // Signature: by a key the keyring allows for this card, valid when the card was issued.
    let allowed: Vec<_> = keyring
        .keys()
        .filter(|k| k.permits_policy(&row.card_id, issued) == cairn_evidence::keyring::KeyUse::Allowed)
        .collect();
    let verified_by = match row.signature_kind.as_str() {
        "ed25519" => cairn_evidence::card::parse_card(bytes).ok().and_then(|c| {
            let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, row.signature.trim()).ok()?;
            let sig = ed25519_dalek::Signature::from_slice(&raw).ok()?;
            allowed.iter().find(|k| k.key.verify_strict(&c.canonical, &sig).is_ok()).map(|k| k.kid.clone())
        }),
        "minisign" => allowed
            .iter()
            .find(|k| cairn_evidence::keys::verify_minisign_with(&k.key, bytes, &row.signature).is_ok())
            .map(|k| k.kid.clone()),
        _ => None,
    };
    if verified_by.is_none() {
        let why = if row.signature_kind == "none" {
            "has no signature beside it (`.sig` or `.minisig`)".to_string()
        } else if allowed.is_empty() {
            "is signed, but no key in the keyring may sign it (a key's `policies` must name the card)".to_string()
        } else {
            let kids: Vec<&str> = allowed.iter().map(|k| k.kid.as_str()).collect();
            format!("has a {} signature that no allowed key verifies ({})", row.signature_kind, kids.join(", "))
        };
        out.push(finding(FindingKind::PolicySignature, format!("{card} {why}")));
    }
    // Immutable per version: every other copy of this id and version has the same content.
    if let Some(other) = all
        .iter()
        .find(|o| o.card_id == row.card_id && o.version == row.version && o.canonical_sha256 != row.canonical_sha256)
    {
        out.push(finding(
            FindingKind::PolicyMutated,
            format!(
                "{card} was published with other content: canonical sha256 {} here, {} in {} (run {})",
                row.canonical_sha256, other.canonical_sha256, other.provenance.object_key, other.provenance.run_id
            ),
        ));
    }
    // Reviewed: not expired, and the newest version re-signed within the review interval.
    if let Some(expires) = row.expires_at.as_deref().and_then(cairn_evidence::time::parse_rfc3339) {
        if expires <= at {
            out.push(finding(
                FindingKind::PolicyReviewOverdue,
                format!("{card} expired at {}", row.expires_at.as_deref().unwrap_or_default()),
            ));
        }
    }
    let newest = all
        .iter()
        .filter(|o| o.card_id == row.card_id)
        .filter_map(|o| cairn_evidence::time::parse_rfc3339(&o.issued_at))
        .max();
    if let (Some(issued), Some(newest)) = (issued, newest) {
        if issued == newest && at - issued > chrono::Duration::days(i64::from(review_days)) {
            out.push(finding(
                FindingKind::PolicyReviewOverdue,
                format!(
                    "{card} was issued {} days ago and not re-signed since (review interval {review_days} days)",
                    (at - issued).num_days()
                ),
            ));
        }
    }
    out
}
