//! Cairn's signing key: making (or finding) the key pair in a PKCS#11 token, or reading an AWS
//! KMS key, and writing its minisign public key, as `cairn keygen --pkcs11` and `cairn keygen
//! --aws-kms` do; and handing the lake's signing to a new key (`cairn rotate-key`). Opening the
//! key for signing is [`crate::pipeline::Workspace::signer`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use cairn_evidence::digest::sha256_hex;
use cairn_evidence::keys::{sign_minisign, PublicKey};
use cairn_evidence::lake::{RunOutcome, RunWriter};
use cairn_evidence::manifest::{PreviousRun, Stage};
use cairn_evidence::rotation::KeyRotation;
use cairn_evidence::signer::Signer as _;

use crate::config::{Config, SigningBackend};
use crate::pipeline::{Clock, Workspace};

/// What [`keygen_held`] did.
#[derive(Debug)]
pub struct Keygen {
    /// Where the key is held, in words.
    pub held: String,
    /// Whether the key pair was made now (else it was there already).
    pub made: bool,
    /// Its public key.
    pub public: PublicKey,
    /// Where the public key is (`[signing] public_key`).
    pub public_path: PathBuf,
}

/// The backends `keygen_held` serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Held {
    /// `--pkcs11`: the pair is made in the token unless it is there under its label.
    Pkcs11,
    /// `--aws-kms`: the key is made in KMS (by whoever runs the account); its public key is read.
    AwsKms,
}

/// Makes or finds the key `[signing]` names in its token or KMS, and writes its minisign public key
/// to `[signing] public_key`. A public key file already there must hold this key: keys are never
/// overwritten.
pub fn keygen_held(config: &Config, held: Held) -> Result<Keygen> {
    let (public, made) = match (&config.signing, held) {
        (SigningBackend::Pkcs11(token), Held::Pkcs11) => cairn_signer::Pkcs11Signer::generate(token)?,
        (SigningBackend::AwsKms(key), Held::AwsKms) => (cairn_signer::AwsKmsSigner::open(key)?.verifying_key(), false),
        (_, Held::Pkcs11) => {
            bail!("[signing] has no backend = \"pkcs11\": `keygen --pkcs11` makes the key in the token it names")
        }
        (_, Held::AwsKms) => {
            bail!("[signing] has no backend = \"aws-kms\": `keygen --aws-kms` reads the KMS key it names")
        }
    };
    let path = &config.public_key;
    match std::fs::read_to_string(path) {
        Ok(text) => {
            if PublicKey::parse(&text, &path.display().to_string())?.key != public {
                bail!(
                    "{} holds another public key than {}; keys are never overwritten",
                    path.display(),
                    config.signing.describe()
                );
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
            }
            let file = PublicKey::from_verifying(public).to_minisign_file();
            std::fs::write(path, file).with_context(|| format!("cannot write {}", path.display()))?;
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    Ok(Keygen {
        held: config.signing.describe(),
        made,
        public: PublicKey::from_verifying(public),
        public_path: path.clone(),
    })
}

/// What [`rotate`] committed.
#[derive(Debug)]
pub struct Rotation {
    /// The rotation run.
    pub run_id: String,
    /// The key that signed until now.
    pub from: PublicKey,
    /// The key that signs from this run on.
    pub to: PublicKey,
}

/// Hands the lake's signing from the key `ws` names to the key `next` names (another
/// configuration of the same lake, whose `[signing]` holds the new key): a rotation run, whose
/// statement the old key signs and whose manifest the new key signs. After it, `[signing]` must
/// name the new key: the lake refuses runs signed by the old one.
pub async fn rotate(ws: &Workspace, next: &Workspace, clock: &mut Clock) -> Result<Rotation> {
    if ws.config.store_url != next.config.store_url {
        bail!(
            "the new key's configuration names another store ({}, not {}): a rotation hands over one lake",
            next.config.store_url,
            ws.config.store_url
        );
    }
    let old = ws.signer()?;
    let new = next.signer()?;
    let (from, to) = (PublicKey::from_verifying(old.verifying_key()), PublicKey::from_verifying(new.verifying_key()));
    if from.key == to.key {
        bail!("the new key is the key signing now ({}); nothing to rotate", from.key_id_hex());
    }
    let now = clock.now_peek();
    let run_id = crate::pipeline::locked(ws, "rotate", now, async {
        let state = ws.lake.state(&from).await?;
        ws.lake.remove_uncommitted(&state).await?;
        let Some((stored, latest)) = state.manifests.last() else {
            bail!("the lake has no run yet: start it with the new key instead");
        };
        let after = PreviousRun { run_id: latest.run_id.clone(), sha256: sha256_hex(&stored.bytes) };
        let started = clock.now();
        let run_id = crate::pipeline::next_run_id(clock, &state, started);
        let statement = KeyRotation::statement(&from, &to, &after);
        let comment = format!("file:key-rotation\tafter:{}\trun:{run_id}", after.run_id);
        let rotation = KeyRotation {
            from: from.minisign_line(),
            to: to.minisign_line(),
            statement_signature: sign_minisign(old.as_ref(), &statement, &comment)?,
        };
        let outcome = RunOutcome {
            cursors: state.cursors(),
            chain_heads: state.chain_heads(),
            verified_through: latest.verified_through.clone(),
            stats: BTreeMap::new(),
            rotation: Some(rotation),
            erasure: None,
        };
        let writer = RunWriter::new(&ws.lake, &state, &run_id, started)?;
        writer.commit(Stage::Rotate, &state, outcome, new.as_ref(), clock.now()).await?;
        Ok(run_id)
    })
    .await?;
    Ok(Rotation { run_id, from, to })
}
