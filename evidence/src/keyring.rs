//! The keyring of trusted source keys: which key (`kid`) may sign which chains, and when.
//!
//! ```toml
//! [[key]]
//! kid = "payments-2026"
//! public_key = "<base64 of the 32-byte Ed25519 key, or a minisign public key line>"
//! not_before = "2026-01-01T00:00:00Z"   # optional
//! not_after  = "2027-01-01T00:00:00Z"   # optional
//! revoked_at = "2026-06-01T00:00:00Z"   # optional
//! chains = ["payments-*"]                # optional glob list; default: any chain
//! attestations = ["releases"]            # optional: attestation sources it may sign; default: none
//! policies = ["payments-*"]              # optional: Decision Card ids it may sign; default: none
//! ```
//!
//! A key signs attestations only when `attestations` names the source (globs allowed): a key
//! trusted for audit events is not thereby trusted to vouch for builds.
//!
//! Keyless signatures (a Sigstore bundle with a Fulcio certificate) are trusted by identity, not
//! by key: the certificate's subject alternative name and OIDC issuer.
//!
//! ```toml
//! [[keyless]]
//! attestations = ["npm-provenance"]        # attestation sources (globs) it may sign
//! san = "https://github.com/acme/*/.github/workflows/release.yml@refs/tags/*"   # glob
//! issuer = "https://token.actions.githubusercontent.com"                        # exact
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use serde::Deserialize;

use crate::keys::PublicKey;
use crate::time::parse_rfc3339;

/// What is wrong with a keyring file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    /// The file could not be read.
    #[error("keyring {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys (the message names line and key).
    #[error("keyring {path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// One entry is invalid.
    #[error("keyring {path}: key {kid:?}: {detail}")]
    Entry {
        /// The file.
        path: PathBuf,
        /// The entry's kid.
        kid: String,
        /// Why.
        detail: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeyring {
    #[serde(default)]
    key: Vec<RawKey>,
    #[serde(default)]
    keyless: Vec<KeylessIdentity>,
}

/// A keyless signer trusted for attestation sources: a certificate identity and its issuer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeylessIdentity {
    /// Globs of attestation source names it may sign.
    pub attestations: Vec<String>,
    /// Glob over the certificate's subject alternative name (a URI or an email address).
    pub san: String,
    /// The certificate's OIDC issuer, exactly.
    pub issuer: String,
}

impl KeylessIdentity {
    /// Whether a certificate with `san` from `issuer` may sign attestations of `source`.
    pub fn permits(&self, source: &str, san: &str, issuer: &str) -> bool {
        self.attestations.iter().any(|g| glob_match(g, source)) && glob_match(&self.san, san) && self.issuer == issuer
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    kid: String,
    public_key: String,
    not_before: Option<String>,
    not_after: Option<String>,
    revoked_at: Option<String>,
    chains: Option<Vec<String>>,
    #[serde(default)]
    attestations: Vec<String>,
    #[serde(default)]
    policies: Vec<String>,
}

/// One trusted key.
#[derive(Clone, Debug)]
pub struct TrustedKey {
    /// Its id, as events name it in `kid`.
    pub kid: String,
    /// The Ed25519 key.
    pub key: VerifyingKey,
    /// Not valid before this time.
    pub not_before: Option<DateTime<Utc>>,
    /// Not valid at or after this time.
    pub not_after: Option<DateTime<Utc>>,
    /// Revoked from this time on.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Globs of chain ids it may sign; `None` means any chain.
    pub chains: Option<Vec<String>>,
    /// Globs of attestation source names it may sign; empty means none.
    pub attestations: Vec<String>,
    /// Globs of policy Decision Card ids it may sign; empty means none.
    pub policies: Vec<String>,
}

/// Why a key may not be used for an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyUse {
    /// The key may sign this event.
    Allowed,
    /// The key is not allowed for this chain.
    ChainNotAllowed,
    /// The event's time is before `not_before`.
    NotYetValid(DateTime<Utc>),
    /// The event's time is at or after `not_after`.
    Expired(DateTime<Utc>),
    /// The event's time is at or after `revoked_at`.
    Revoked(DateTime<Utc>),
}

impl TrustedKey {
    /// May this key sign an event of `chain` made at `at`?
    pub fn permits(&self, chain: &str, at: Option<DateTime<Utc>>) -> KeyUse {
        if let Some(globs) = &self.chains {
            if !globs.iter().any(|g| glob_match(g, chain)) {
                return KeyUse::ChainNotAllowed;
            }
        }
        // An event without a readable time cannot prove it was signed in the window; the
        // verifier reports the bad timestamp separately, so only check what we can.
        if let Some(at) = at {
            if let Some(t) = self.revoked_at.filter(|t| at >= *t) {
                return KeyUse::Revoked(t);
            }
            if let Some(t) = self.not_before.filter(|t| at < *t) {
                return KeyUse::NotYetValid(t);
            }
            if let Some(t) = self.not_after.filter(|t| at >= *t) {
                return KeyUse::Expired(t);
            }
        }
        KeyUse::Allowed
    }
}

impl TrustedKey {
    /// May this key sign attestations collected by `source` at `at`? Validity and revocation
    /// apply as for events.
    pub fn permits_attestation(&self, source: &str, at: Option<DateTime<Utc>>) -> KeyUse {
        if !self.attestations.iter().any(|g| glob_match(g, source)) {
            return KeyUse::ChainNotAllowed;
        }
        let any_chain = Self { chains: None, ..self.clone() };
        any_chain.permits("", at)
    }
}

impl TrustedKey {
    /// May this key sign the Decision Card `card_id` issued at `at`? Validity and revocation
    /// apply as for events.
    pub fn permits_policy(&self, card_id: &str, at: Option<DateTime<Utc>>) -> KeyUse {
        if !self.policies.iter().any(|g| glob_match(g, card_id)) {
            return KeyUse::ChainNotAllowed;
        }
        let any_chain = Self { chains: None, ..self.clone() };
        any_chain.permits("", at)
    }
}

/// All trusted keys by kid.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    keys: BTreeMap<String, TrustedKey>,
    keyless: Vec<KeylessIdentity>,
}

impl Keyring {
    /// Reads and validates a keyring file.
    pub fn load(path: &Path) -> Result<Self, KeyringError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| KeyringError::Io { path: path.to_path_buf(), source })?;
        Self::parse(&text, path)
    }

    /// Parses keyring text; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, KeyringError> {
        let raw: RawKeyring = toml::from_str(text)
            .map_err(|e| KeyringError::Syntax { path: path.to_path_buf(), message: e.to_string() })?;
        let mut keys = BTreeMap::new();
        for entry in raw.key {
            let err = |detail: String| KeyringError::Entry { path: path.to_path_buf(), kid: entry.kid.clone(), detail };
            if entry.kid.is_empty() {
                return Err(err("kid must not be empty".into()));
            }
            let public = PublicKey::parse(&entry.public_key, &format!("of kid {:?}", entry.kid))
                .map_err(|e| err(e.to_string()))?;
            let time = |field: &str, v: &Option<String>| -> Result<Option<DateTime<Utc>>, KeyringError> {
                match v {
                    None => Ok(None),
                    Some(s) => parse_rfc3339(s)
                        .map(Some)
                        .ok_or_else(|| err(format!("{field} = {s:?} is not an RFC 3339 time"))),
                }
            };
            let key = TrustedKey {
                kid: entry.kid.clone(),
                key: public.key,
                not_before: time("not_before", &entry.not_before)?,
                not_after: time("not_after", &entry.not_after)?,
                revoked_at: time("revoked_at", &entry.revoked_at)?,
                chains: entry.chains.clone(),
                attestations: entry.attestations.clone(),
                policies: entry.policies.clone(),
            };
            if keys.insert(entry.kid.clone(), key).is_some() {
                return Err(err("kid appears twice".into()));
            }
        }
        for k in &raw.keyless {
            if k.san.trim().is_empty() || k.issuer.trim().is_empty() || k.attestations.is_empty() {
                return Err(KeyringError::Entry {
                    path: path.to_path_buf(),
                    kid: format!("keyless {}", k.san),
                    detail: "a [[keyless]] identity needs attestations, san and issuer".into(),
                });
            }
        }
        Ok(Self { keys, keyless: raw.keyless })
    }

    /// The keyless identities trusted for attestations of `source`.
    pub fn keyless_for<'a>(&'a self, source: &'a str) -> impl Iterator<Item = &'a KeylessIdentity> {
        self.keyless.iter().filter(move |k| k.attestations.iter().any(|g| glob_match(g, source)))
    }

    /// Adds a key unless the keyring already holds its kid (the keyring file wins over keys
    /// learned elsewhere). Returns whether it was added.
    pub fn add(&mut self, key: TrustedKey) -> bool {
        if self.keys.contains_key(&key.kid) {
            return false;
        }
        self.keys.insert(key.kid.clone(), key);
        true
    }

    /// The key with this kid.
    pub fn get(&self, kid: &str) -> Option<&TrustedKey> {
        self.keys.get(kid)
    }

    /// Every key, by kid.
    pub fn keys(&self) -> impl Iterator<Item = &TrustedKey> {
        self.keys.values()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Shell-style glob: `*` any run of characters, `?` one character, everything else literal.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("payments-*", "payments-eu"));
        assert!(!glob_match("payments-*", "billing-eu"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a?c*", "abcdef"));
        assert!(!glob_match("a?c", "ac"));
    }

    #[test]
    fn unknown_fields_are_named() {
        let err =
            Keyring::parse("[[key]]\nkid = \"a\"\npublic_key = \"x\"\nnot_befor = \"2026\"\n", Path::new("k.toml"))
                .unwrap_err()
                .to_string();
        assert!(err.contains("not_befor"), "{err}");
        assert!(err.contains("line 4"), "{err}");
    }

    #[test]
    fn fixture_keyring_loads() {
        let k = Keyring::parse(
            "[[key]]\nkid = \"k-good\"\npublic_key = \"ajaeuiGDPnamDsEA5+xvPsEGhdUhX+S2hOR5otInfts=\"\nrevoked_at = \"2026-06-01T00:00:00Z\"\nchains = [\"svc-*\"]\n",
            Path::new("k.toml"),
        )
        .unwrap();
        let key = k.get("k-good").unwrap();
        assert_eq!(key.permits("svc-a", parse_rfc3339("2026-01-01T00:00:00Z")), KeyUse::Allowed);
        assert_eq!(key.permits("other", None), KeyUse::ChainNotAllowed);
        assert!(matches!(key.permits("svc-a", parse_rfc3339("2026-07-01T00:00:00Z")), KeyUse::Revoked(_)));
    }
}
