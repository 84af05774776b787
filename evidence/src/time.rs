//! Timestamps: RFC 3339 in UTC, and run ids that sort by time.

use chrono::{DateTime, SecondsFormat, Utc};

/// Parses an RFC 3339 timestamp (any offset) into UTC.
pub fn parse_rfc3339(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// Formats a time as RFC 3339 UTC with a `Z` suffix and second precision, as Cairn writes it.
pub fn format_rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A run id: `YYYYMMDDTHHMMSSZ-<8 hex>`, sortable by time, unique by its random suffix.
pub fn run_id(at: DateTime<Utc>, suffix: u32) -> String {
    format!("{}-{suffix:08x}", at.format("%Y%m%dT%H%M%SZ"))
}

/// True when `text` has the shape of a run id (so it is safe as an object-key segment).
pub fn is_run_id(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 25
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[16] == b'-'
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[17..].iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_round_trip_their_shape() {
        let t = parse_rfc3339("2026-11-20T02:00:00Z").unwrap();
        let id = run_id(t, 0xdead_beef);
        assert_eq!(id, "20261120T020000Z-deadbeef");
        assert!(is_run_id(&id));
        assert!(!is_run_id("../etc/passwd"));
    }
}
