//! Published key documents: judges the `keys` rows of the runs being verified against what came
//! before them.
//!
//! 1. A key `removed` from its document while something still depends on it (the caller says
//!    what: keyring entries, joined scopes, chains whose events name the kid) →
//!    `published_key_removed`.
//! 2. A key whose fingerprint differs from the one pinned for its kid, or a pinned kid the
//!    document no longer (or never) held → `published_key_pin_mismatch`.
//! 3. A failed fetch at least `grace` after the document's last successful fetch (or, if it was
//!    never fetched, after its first failure) → `published_key_unreachable`. A failure within the
//!    grace period is no finding: the collector only logged it.
//!
//! Each row is judged once, in the verify run that first sees it; a document that stays
//! unreachable past its grace period gives one finding per failed run.

use std::collections::{BTreeMap, BTreeSet};

use cairn_evidence::artefacts::KeyRow;
use cairn_evidence::keyring::Keyring;
use cairn_evidence::published::{events, DocumentHistory};
use cairn_evidence::time::parse_rfc3339;
use chrono::{DateTime, Duration, Utc};

use crate::finding::{Finding, FindingKind};

/// Checks the `keys` rows of `new_runs`. `rows` are every row in commit order (older rows give
/// the history); `grace` is each document's grace period by name (a document no longer
/// configured gets none: its failures are not judged); `dependents` names what uses a kid.
pub fn check(
    rows: &[KeyRow],
    new_runs: &BTreeSet<String>,
    grace: &BTreeMap<String, Duration>,
    dependents: &dyn Fn(&str) -> Vec<String>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut before: BTreeMap<&str, DocumentHistory> = BTreeMap::new();
    for row in rows {
        let history = before.entry(row.document.as_str()).or_default();
        if new_runs.contains(&row.provenance.run_id) {
            findings.extend(judge(row, history, grace.get(&row.document).copied(), dependents));
        }
        history.apply(row);
    }
    findings
}

fn finding(kind: FindingKind, row: &KeyRow, detail: String) -> Finding {
    Finding::object(kind, row.blob.as_deref().unwrap_or(&row.location), detail)
}

fn judge(
    row: &KeyRow,
    history: &DocumentHistory,
    grace: Option<Duration>,
    dependents: &dyn Fn(&str) -> Vec<String>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let doc = &row.document;
    // 1. Removed while still used.
    if row.event == events::REMOVED {
        let users = dependents(&row.kid);
        if !users.is_empty() {
            out.push(finding(
                FindingKind::PublishedKeyRemoved,
                row,
                format!(
                    "key {:?} (fingerprint {}) is no longer in published document {doc:?} ({}) but {} still depend on it",
                    row.kid,
                    row.fingerprint,
                    row.location,
                    users.join(", ")
                ),
            ));
        }
    }
    // 2. Pins.
    if let Some(pin) = &row.pinned {
        let observed = match row.event.as_str() {
            events::REMOVED => Some("none: the kid was removed from the document".to_string()),
            events::MISSING => Some("none: the document does not hold the kid".to_string()),
            _ if row.fingerprint != *pin => Some(row.fingerprint.clone()),
            _ => None,
        };
        if let Some(observed) = observed {
            out.push(finding(
                FindingKind::PublishedKeyPinMismatch,
                row,
                format!(
                    "key {:?} of published document {doc:?} ({}): pinned fingerprint {pin}, observed {observed}",
                    row.kid, row.location
                ),
            ));
        }
    }
    // 3. Unreachable past the grace period.
    if row.event == events::UNREACHABLE {
        if let (Some(grace), Some(at)) = (grace, parse_rfc3339(&row.fetched_at)) {
            let last_ok = history.last_fetched.as_ref().and_then(|(t, _)| parse_rfc3339(t));
            let since = last_ok.or_else(|| history.failing_since.as_deref().and_then(parse_rfc3339)).unwrap_or(at);
            if at - since >= grace {
                let last = last_ok.map_or_else(
                    || "it was never fetched".to_string(),
                    |t| format!("last fetched {}", cairn_evidence::time::format_rfc3339(t)),
                );
                out.push(finding(
                    FindingKind::PublishedKeyUnreachable,
                    row,
                    format!(
                        "published document {doc:?} ({}) unreachable at {} for {} h, past its grace period of {} h ({last}): {}",
                        row.location,
                        row.fetched_at,
                        (at - since).num_hours(),
                        grace.num_hours(),
                        row.detail
                    ),
                ));
            }
        }
    }
    out
}

/// What still uses `kid`, as of `at`: an unrevoked, unexpired keyring entry (with the chains,
/// attestation sources and Decision Cards it may sign), and chains whose events verified in this
/// pass name it.
pub fn dependents(
    kid: &str,
    keyring: &Keyring,
    kid_chains: &BTreeMap<String, BTreeSet<String>>,
    at: DateTime<Utc>,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(k) =
        keyring.get(kid).filter(|k| k.revoked_at.is_none_or(|t| t > at) && k.not_after.is_none_or(|t| t > at))
    {
        let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(" ") };
        let chains = k.chains.as_deref().map_or_else(|| "*".to_string(), list);
        out.push(format!(
            "keyring entry {kid:?} (chains {chains}; attestations {}; policies {})",
            list(&k.attestations),
            list(&k.policies)
        ));
    }
    if let Some(chains) = kid_chains.get(kid).filter(|c| !c.is_empty()) {
        out.push(format!("events of chains {}", chains.iter().cloned().collect::<Vec<_>>().join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_evidence::tables::Provenance;

    fn row(run: &str, at: &str, event: &str, kid: &str, fp: &str) -> KeyRow {
        KeyRow {
            document: "vendor".into(),
            location: "https://vendor.example/jwks.json".into(),
            event: event.into(),
            kid: kid.into(),
            algorithm: "Ed25519".into(),
            fingerprint: fp.into(),
            public_key: String::new(),
            previous_fingerprint: None,
            pinned: None,
            first_seen: None,
            fetched_at: at.into(),
            document_sha256: None,
            blob: None,
            detail: "timed out".into(),
            provenance: Provenance {
                source: "vendor".into(),
                object_key: String::new(),
                line: 1,
                byte_offset: 0,
                record_sha256: String::new(),
                run_id: run.into(),
                collected_at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
                actor: "test".into(),
                confidence: cairn_evidence::tables::Confidence::Unverified,
                simulated: false,
            },
        }
    }

    #[test]
    fn removal_pins_and_grace_are_judged_once_each() {
        let rows = vec![
            row("r1", "2026-11-01T00:00:00Z", events::FETCHED, "", ""),
            row("r1", "2026-11-01T00:00:00Z", events::ADDED, "a", "aa"),
            row("r1", "2026-11-01T00:00:00Z", events::ADDED, "b", "bb"),
            row("r2", "2026-11-02T00:00:00Z", events::UNREACHABLE, "", ""),
            row("r3", "2026-11-05T00:00:00Z", events::UNREACHABLE, "", ""),
            row("r4", "2026-11-06T00:00:00Z", events::FETCHED, "", ""),
            row("r4", "2026-11-06T00:00:00Z", events::UNCHANGED, "a", "aa"),
            row("r4", "2026-11-06T00:00:00Z", events::REMOVED, "b", "bb"),
            KeyRow { pinned: Some("cc".into()), ..row("r4", "2026-11-06T00:00:00Z", events::ADDED, "c", "c2") },
        ];
        let grace = BTreeMap::from([("vendor".to_string(), Duration::hours(72))]);
        let used = |kid: &str| if kid == "b" { vec!["keyring chains app-*".to_string()] } else { Vec::new() };
        let all: BTreeSet<String> = ["r1", "r2", "r3", "r4"].map(String::from).into();
        let kinds: Vec<(FindingKind, String)> =
            check(&rows, &all, &grace, &used).into_iter().map(|f| (f.kind, f.detail)).collect();
        // r2 is a day after the last fetch (within 72 h); r3 four days (past it).
        assert_eq!(kinds.len(), 3, "{kinds:?}");
        assert_eq!(kinds[0].0, FindingKind::PublishedKeyUnreachable);
        assert!(kinds[0].1.contains("96 h") && kinds[0].1.contains("timed out"), "{}", kinds[0].1);
        assert_eq!(kinds[1].0, FindingKind::PublishedKeyRemoved);
        assert!(kinds[1].1.contains("app-*"), "{}", kinds[1].1);
        assert_eq!(kinds[2].0, FindingKind::PublishedKeyPinMismatch);
        assert!(kinds[2].1.contains("pinned fingerprint cc, observed c2"), "{}", kinds[2].1);
        // Only the new runs' rows are judged.
        let only_r4: BTreeSet<String> = ["r4".to_string()].into();
        assert_eq!(check(&rows, &only_r4, &grace, &used).len(), 2);
        // Nothing depends on a removed key: no finding.
        assert_eq!(check(&rows, &only_r4, &grace, &|_| Vec::new()).len(), 1);
    }
}
