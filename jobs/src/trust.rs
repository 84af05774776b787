//! Published key documents in the pipeline: their history from the lake, the keyring they
//! extend (only when `join_keyring` says so), and the findings about them.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context as _, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cairn_evidence::artefacts::KeyRow;
use cairn_evidence::keyring::{Keyring, TrustedKey};
use cairn_evidence::lake::Lake;
use cairn_evidence::manifest::RunManifest;
use cairn_evidence::published::histories;
use cairn_evidence::time::parse_rfc3339;
use cairn_verifier::Finding;
use chrono::{DateTime, Utc};

use crate::config::Config;

/// Every `keys` row of the committed runs, in commit order.
pub async fn key_rows(lake: &Lake, manifests: &[RunManifest]) -> Result<Vec<KeyRow>> {
    crate::supply::read_table(lake, manifests).await
}

/// The keyring file plus the keys of every document configured with `join_keyring`, as the
/// lake last recorded them, with the scopes the configuration gives. A key removed from its
/// document is revoked from its removal time. The keyring file wins a kid both name.
pub fn joined_keyring(file: Keyring, config: &Config, rows: &[KeyRow]) -> Result<Keyring> {
    let mut keyring = file;
    let docs = histories(rows);
    for source in &config.published {
        let (Some(scope), Some(history)) = (&source.join, docs.get(&source.name)) else {
            continue;
        };
        for k in history.keys.values() {
            let raw: [u8; 32] =
                B64.decode(&k.public_key).ok().and_then(|b| b.try_into().ok()).with_context(|| {
                    format!("the keys table holds a malformed key {:?} of {:?}", k.kid, source.name)
                })?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&raw)
                .with_context(|| format!("the keys table holds a malformed key {:?} of {:?}", k.kid, source.name))?;
            let added = keyring.add(TrustedKey {
                kid: k.kid.clone(),
                key,
                not_before: None,
                not_after: None,
                revoked_at: k.removed_at.as_deref().and_then(parse_rfc3339),
                chains: Some(scope.chains.clone()),
                attestations: scope.attestations.clone(),
                policies: scope.policies.clone(),
            });
            if !added {
                tracing::warn!(document = %source.name, kid = %k.kid, "the keyring file already names this kid; its entry is used");
            }
        }
    }
    Ok(keyring)
}

/// The findings about the published documents' rows collected by `new_runs`.
pub fn check(
    config: &Config,
    rows: &[KeyRow],
    new_runs: &BTreeSet<String>,
    keyring_file: &Keyring,
    kid_chains: &BTreeMap<String, BTreeSet<String>>,
    at: DateTime<Utc>,
) -> Vec<Finding> {
    let grace =
        config.published.iter().map(|d| (d.name.clone(), chrono::Duration::hours(i64::from(d.grace_hours)))).collect();
    let uses = |kid: &str| cairn_verifier::published::dependents(kid, keyring_file, kid_chains, at);
    cairn_verifier::published::check(rows, new_runs, &grace, &uses)
}
