//! Cairn's signing key in a PKCS#11 token: making (or finding) the key pair there and writing its
//! minisign public key, as `cairn keygen --pkcs11` does. Opening the key for signing is
//! [`crate::pipeline::Workspace::signer`].

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use cairn_evidence::keys::PublicKey;

use crate::config::{Config, SigningBackend};

/// What `pkcs11_keygen` did.
#[derive(Debug)]
pub struct Keygen {
    /// The token and key, in words.
    pub held: String,
    /// Whether the pair was made now (else it was there already).
    pub made: bool,
    /// Its public key.
    pub public: PublicKey,
    /// Where the public key is (`[signing] public_key`).
    pub public_path: PathBuf,
}

/// Makes the key pair in the token `[signing]` names, unless one is there under its label, and
/// writes its minisign public key to `[signing] public_key`. A public key file already there must
/// hold this key: keys are never overwritten.
pub fn pkcs11_keygen(config: &Config) -> Result<Keygen> {
    let SigningBackend::Pkcs11(token) = &config.signing else {
        bail!("[signing] has no backend = \"pkcs11\": `keygen --pkcs11` makes the key in the token it names");
    };
    let (key, made) = cairn_signer::Pkcs11Signer::generate(token)?;
    let public = PublicKey::from_verifying(key);
    let path = &config.public_key;
    match std::fs::read_to_string(path) {
        Ok(text) => {
            if PublicKey::parse(&text, &path.display().to_string())?.key != key {
                bail!(
                    "{} holds another public key than the {}; keys are never overwritten",
                    path.display(),
                    token.describe()
                );
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(path, public.to_minisign_file())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    Ok(Keygen { held: token.describe(), made, public, public_path: path.clone() })
}
