//! Cairn's signing key held outside a file: making (or finding) the key pair in a PKCS#11 token,
//! or reading an AWS KMS key, and writing its minisign public key, as `cairn keygen --pkcs11` and
//! `cairn keygen --aws-kms` do. Opening the key for signing is
//! [`crate::pipeline::Workspace::signer`].

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use cairn_evidence::keys::PublicKey;
use cairn_evidence::signer::Signer as _;

use crate::config::{Config, SigningBackend};

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
