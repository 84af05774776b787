//! Handing Cairn's signing to a new key without breaking the lake. A rotation is a run of its
//! own (`stage: "rotate"`). Its manifest carries a [`KeyRotation`]: the old key, the new key, and
//! the old key's minisign signature over a short statement. The statement names both keys and the
//! run the rotation follows, by that run's manifest digest. The rotation run's manifest, and every
//! run after it, is signed by the new key. So each handover is signed by both keys, at one fixed
//! place in the chain of manifests.
//!
//! [`KeyWalk`] follows the handovers while the manifests are read in order. It says which key
//! must have signed each run. At the end it checks that the key the configuration names
//! (`[signing] public_key`, the trust anchor) is one of the lake's keys. A key that is not in that
//! chain of handovers is never trusted. Each link is signed by the key before it and by the key
//! after it, so trust passes in both directions.

use crate::keys::PublicKey;
pub use crate::manifest::KeyRotation;
use crate::manifest::{PreviousRun, RunManifest};

/// The first line of every rotation statement.
pub const STATEMENT_FORMAT: &str = "cairn key rotation v1";

impl KeyRotation {
    /// The statement the old key signs: both keys, and the run the rotation follows.
    pub fn statement(from: &PublicKey, to: &PublicKey, after: &PreviousRun) -> Vec<u8> {
        format!(
            "{STATEMENT_FORMAT}\nfrom {}\nto {}\nafter {} {}\n",
            from.minisign_line(),
            to.minisign_line(),
            after.run_id,
            after.sha256
        )
        .into_bytes()
    }

    /// Checks the old key's signature over the statement handing over from `from` to `to`
    /// after the run `after` (the rotation run's `previous`).
    pub fn check_statement(&self, from: &PublicKey, to: &PublicKey, after: Option<&PreviousRun>) -> Result<(), String> {
        let after = after.ok_or("a rotation cannot be the lake's first run")?;
        from.verify_minisign(&Self::statement(from, to, after), &self.statement_signature)
            .map(|_| ())
            .map_err(|e| format!("the old key's signature over the rotation statement: {e}"))
    }

    /// Its two keys.
    pub fn keys(&self) -> Result<(PublicKey, PublicKey), String> {
        let from = PublicKey::parse(&self.from, "the rotation's old key").map_err(|e| e.to_string())?;
        let to = PublicKey::parse(&self.to, "the rotation's new key").map_err(|e| e.to_string())?;
        Ok((from, to))
    }
}

/// One of the lake's keys, and the run it started signing at (`None` for the first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LakeKey {
    /// The key.
    pub key: PublicKey,
    /// The rotation run it took over at.
    pub since_run: Option<String>,
}

/// Follows the handovers through the manifests, oldest first.
#[derive(Clone, Debug)]
pub struct KeyWalk {
    keys: Vec<LakeKey>,
}

impl KeyWalk {
    /// Starts at the lake's first key: the old key of the first rotation among `manifests`, or
    /// `anchor` when there is none.
    pub fn start<'a>(manifests: impl IntoIterator<Item = &'a RunManifest>, anchor: &PublicKey) -> Self {
        let first = manifests
            .into_iter()
            .find_map(|m| m.rotation.as_ref())
            .and_then(|r| r.keys().ok())
            .map_or(*anchor, |(from, _)| from);
        Self { keys: vec![LakeKey { key: first, since_run: None }] }
    }

    /// The key signing now.
    pub fn active(&self) -> &PublicKey {
        &self.keys.last().expect("a walk starts with a key").key
    }

    /// The key that must have signed `manifest`. A rotation run hands over first, once its
    /// statement is checked: its old key must be the key signing until now, and that key's
    /// signature must verify over the statement.
    pub fn key_for(&mut self, manifest: &RunManifest) -> Result<PublicKey, String> {
        if let Some(rotation) = &manifest.rotation {
            let (from, to) = rotation.keys()?;
            if from.key != self.active().key {
                return Err(format!(
                    "hands signing over from key {}, but the runs before it were signed by key {}",
                    from.key_id_hex(),
                    self.active().key_id_hex()
                ));
            }
            rotation.check_statement(&from, &to, manifest.previous.as_ref())?;
            self.keys.push(LakeKey { key: to, since_run: Some(manifest.run_id.clone()) });
        }
        Ok(*self.active())
    }

    /// The lake's keys, oldest first, once `anchor` (the configured public key) is found among
    /// them.
    pub fn finish(self, anchor: &PublicKey) -> Result<Vec<LakeKey>, String> {
        if self.keys.iter().any(|k| k.key.key == anchor.key) {
            Ok(self.keys)
        } else {
            let keys: Vec<String> = self.keys.iter().map(|k| k.key.key_id_hex()).collect();
            Err(format!(
                "the configured public key {} is none of the keys that signed this lake ({})",
                anchor.key_id_hex(),
                keys.join(", ")
            ))
        }
    }
}
