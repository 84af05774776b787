//! What signs for Cairn: one Ed25519 key, held in a file (a [`SigningKey`]) or in a device that
//! keeps it (the PKCS#11 backend of `cairn-signer`). Whatever holds it, the signatures are the
//! same Ed25519 signatures over the same bytes, so the public key, `minisign -V` and every
//! auditor's check stay as they are.
//!
//! [`sign`] checks each signature with the public key before it is used: a device that signs
//! wrongly is found at once, and nothing it signed is written.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

/// Why a signature could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The holder of the key refused or failed.
    #[error("cannot sign with {signer}: {detail}")]
    Failed {
        /// Where the key is held ([`Signer::describe`]).
        signer: String,
        /// Why.
        detail: String,
    },
    /// The holder returned a signature its own public key does not verify.
    #[error("{signer} returned a signature that does not verify with its public key")]
    BadSignature {
        /// Where the key is held.
        signer: String,
    },
}

/// An Ed25519 key that signs, wherever it is held.
pub trait Signer: Send + Sync {
    /// The public key its signatures verify with.
    fn verifying_key(&self) -> VerifyingKey;
    /// Signs `message` with Ed25519 (RFC 8032, the message itself, not a digest of it). Callers use
    /// [`sign`], which also checks the result.
    fn try_sign(&self, message: &[u8]) -> Result<Signature, SignError>;
    /// Where the key is held, for messages: never a secret.
    fn describe(&self) -> String;
    /// Whether it signs messages of any length. One that does not (AWS KMS signs at most 4096
    /// bytes) has its minisign signatures made over the message's BLAKE2b-512, minisign's own
    /// prehashed form (`ED`), which `minisign -V` checks the same way.
    fn signs_long_messages(&self) -> bool {
        true
    }
}

impl Signer for SigningKey {
    fn verifying_key(&self) -> VerifyingKey {
        SigningKey::verifying_key(self)
    }

    fn try_sign(&self, message: &[u8]) -> Result<Signature, SignError> {
        Ok(self.sign(message))
    }

    fn describe(&self) -> String {
        "the signing key file".into()
    }
}

/// Signs `message` with `signer` and checks the signature with its public key.
pub fn sign(signer: &dyn Signer, message: &[u8]) -> Result<Signature, SignError> {
    let signature = signer.try_sign(message)?;
    signer
        .verifying_key()
        .verify_strict(message, &signature)
        .map_err(|_| SignError::BadSignature { signer: signer.describe() })?;
    Ok(signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A holder that signs with another key than the one it names.
    struct Wrong(SigningKey, SigningKey);

    impl Signer for Wrong {
        fn verifying_key(&self) -> VerifyingKey {
            self.0.verifying_key()
        }
        fn try_sign(&self, message: &[u8]) -> Result<Signature, SignError> {
            Ok(self.1.sign(message))
        }
        fn describe(&self) -> String {
            "a faulty device".into()
        }
    }

    #[test]
    fn a_signature_its_public_key_does_not_verify_is_refused() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let signature = sign(&key, b"manifest").unwrap();
        assert_eq!(signature, key.sign(b"manifest"));
        let err = sign(&Wrong(key, SigningKey::from_bytes(&[8; 32])), b"manifest").unwrap_err();
        assert_eq!(err.to_string(), "a faulty device returned a signature that does not verify with its public key");
    }
}
