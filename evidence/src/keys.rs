//! Ed25519 keys and signatures in the formats people already have tools for.
//!
//! - Private keys are PKCS#8 PEM (what `openssl genpkey -algorithm ed25519` writes), written with
//!   mode 0600 and refused when group or world can read them.
//! - Public keys and detached signatures use the minisign formats, so `minisign -V` checks Cairn's
//!   signatures with no Cairn installed. Signatures are the legacy `Ed` kind (Ed25519 over the
//!   message itself), which every minisign since 0.1 accepts. Verification also accepts the
//!   prehashed `ED` kind (Ed25519 over the message's BLAKE2b-512) that `minisign -S` writes by
//!   default.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use ed25519_dalek::{Signature, SigningKey, Verifier as _, VerifyingKey};

use crate::digest::Sha256Digest;
use crate::signer::{sign, SignError, Signer};

/// What went wrong with a key or a signature file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A private key file is readable by group or others.
    #[error(
        "private key {path} has mode {mode:04o}: it must not be readable by group or others; run `chmod 600 {path}`"
    )]
    UnsafePermissions {
        /// The file at fault.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The PEM text is not an Ed25519 PKCS#8 private key.
    #[error("private key {path} is not an Ed25519 PKCS#8 PEM key: {detail}")]
    BadPrivateKey {
        /// The file at fault.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// A public key is neither a minisign public key nor base64 of 32 bytes.
    #[error("public key {what} is not a minisign public key or base64 of a 32-byte Ed25519 key: {detail}")]
    BadPublicKey {
        /// Where it came from.
        what: String,
        /// Why.
        detail: String,
    },
    /// A minisign signature file is malformed.
    #[error("signature is not in minisign format: {0}")]
    BadSignatureFormat(String),
    /// A signature does not verify.
    #[error("signature does not verify: {0}")]
    SignatureMismatch(String),
}

/// Refuses a private file (a key, a secret) that group or others may read.
fn refuse_shared(path: &Path) -> Result<(), KeyError> {
    let meta = fs::metadata(path).map_err(|source| KeyError::Io { path: path.to_path_buf(), source })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::UnsafePermissions { path: path.to_path_buf(), mode });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    Ok(())
}

/// Reads a PKCS#8 PEM Ed25519 private key, refusing files readable by group or others.
pub fn read_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    let io = |source| KeyError::Io { path: path.to_path_buf(), source };
    refuse_shared(path)?;
    let text = fs::read_to_string(path).map_err(io)?;
    SigningKey::from_pkcs8_pem(&text)
        .map_err(|e| KeyError::BadPrivateKey { path: path.to_path_buf(), detail: e.to_string() })
}

/// Reads a secret (raw bytes, at least 32), refusing files readable by group or others: the key
/// of the pseudonyms of personal values.
pub fn read_secret(path: &Path) -> Result<Vec<u8>, KeyError> {
    let io = |source| KeyError::Io { path: path.to_path_buf(), source };
    refuse_shared(path)?;
    let bytes = fs::read(path).map_err(io)?;
    if bytes.len() < 32 {
        return Err(KeyError::BadPrivateKey {
            path: path.to_path_buf(),
            detail: format!("{} bytes; a secret holds at least 32 random bytes", bytes.len()),
        });
    }
    Ok(bytes)
}

/// Writes a private key as PKCS#8 PEM with mode 0600. Never overwrites an existing file.
pub fn write_signing_key(path: &Path, key: &SigningKey) -> Result<(), KeyError> {
    let io = |source| KeyError::Io { path: path.to_path_buf(), source };
    let pem = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| KeyError::BadPrivateKey { path: path.to_path_buf(), detail: e.to_string() })?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(pem.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// A public key with its minisign key id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// The 8-byte minisign key id.
    pub key_id: [u8; 8],
    /// The Ed25519 key.
    pub key: VerifyingKey,
}

impl PublicKey {
    /// The public half of `signing`, with a key id derived from the key itself
    /// (first 8 bytes of its SHA-256), so one key always has one id.
    pub fn of(signing: &SigningKey) -> Self {
        Self::from_verifying(signing.verifying_key())
    }

    /// Wraps a bare Ed25519 key with its derived key id.
    pub fn from_verifying(key: VerifyingKey) -> Self {
        let digest = Sha256Digest::of(key.as_bytes());
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&digest.0[..8]);
        Self { key_id, key }
    }

    /// The key id as minisign displays it: the 8 bytes read as a little-endian u64, `%016X`.
    pub fn key_id_hex(&self) -> String {
        format!("{:016X}", u64::from_le_bytes(self.key_id))
    }

    /// The base64 line of a minisign public key file (`"Ed" || key_id || pk`).
    pub fn minisign_line(&self) -> String {
        let mut raw = Vec::with_capacity(42);
        raw.extend_from_slice(b"Ed");
        raw.extend_from_slice(&self.key_id);
        raw.extend_from_slice(self.key.as_bytes());
        B64.encode(raw)
    }

    /// A whole minisign public key file.
    pub fn to_minisign_file(&self) -> String {
        format!("untrusted comment: minisign public key {}\n{}\n", self.key_id_hex(), self.minisign_line())
    }

    /// Parses a minisign public key (file text or its base64 line) or base64 of a raw 32-byte key.
    /// `what` names the source in errors.
    pub fn parse(text: &str, what: &str) -> Result<Self, KeyError> {
        let bad = |detail: &str| KeyError::BadPublicKey { what: what.to_string(), detail: detail.to_string() };
        // Parse the base64 line, not the comment: files in the wild use several comment styles.
        let line = text
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty() && !l.starts_with("untrusted comment:") && !l.starts_with('#'))
            .ok_or_else(|| bad("no key line"))?;
        let raw = B64.decode(line).map_err(|e| bad(&format!("not base64: {e}")))?;
        match raw.len() {
            32 => {
                let key = VerifyingKey::from_bytes(raw.as_slice().try_into().map_err(|_| bad("length"))?)
                    .map_err(|e| bad(&e.to_string()))?;
                Ok(Self::from_verifying(key))
            }
            42 if &raw[..2] == b"Ed" => {
                let mut key_id = [0u8; 8];
                key_id.copy_from_slice(&raw[2..10]);
                let pk: [u8; 32] = raw[10..].try_into().map_err(|_| bad("length"))?;
                let key = VerifyingKey::from_bytes(&pk).map_err(|e| bad(&e.to_string()))?;
                Ok(Self { key_id, key })
            }
            n => Err(bad(&format!("decoded to {n} bytes; expected 32 (raw key) or 42 (minisign)"))),
        }
    }

    /// Verifies a minisign signature file over `message` made by this key: its key id, the
    /// signature (legacy `Ed` or prehashed `ED`) and the global signature over the trusted
    /// comment. Returns the trusted comment.
    pub fn verify_minisign(&self, message: &[u8], signature_file: &str) -> Result<String, KeyError> {
        MinisignSignature::parse(signature_file)?.verify(&self.key, Some(&self.key_id), message)
    }
}

/// Verifies a minisign signature file over `message` with a bare Ed25519 key, whatever key id
/// the file names (a bare key has no minisign key id to compare it with): the signature (legacy
/// `Ed` or prehashed `ED`) and the global signature over the trusted comment. Returns the trusted
/// comment.
pub fn verify_minisign_with(key: &VerifyingKey, message: &[u8], signature_file: &str) -> Result<String, KeyError> {
    MinisignSignature::parse(signature_file)?.verify(key, None, message)
}

/// What a minisign signature's Ed25519 signature is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MinisignAlgorithm {
    /// `Ed`, legacy: the message itself.
    Legacy,
    /// `ED`, minisign's default since 0.10: the message's unkeyed BLAKE2b-512.
    Prehashed,
}

/// A minisign signature file (4 lines: untrusted comment, `alg || key_id || sig`, trusted
/// comment, global signature), split and decoded but not yet verified.
struct MinisignSignature<'a> {
    algorithm: MinisignAlgorithm,
    key_id: [u8; 8],
    signature: Signature,
    trusted_comment: &'a str,
    /// Decoded only once the signature over the message verifies, so a file that is wrong in
    /// both places is reported by its signature, as it always was.
    global_line: &'a str,
}

impl<'a> MinisignSignature<'a> {
    fn parse(signature_file: &'a str) -> Result<Self, KeyError> {
        let fmt = |d: &str| KeyError::BadSignatureFormat(d.to_string());
        let mut lines = signature_file.split('\n');
        lines
            .next()
            .filter(|l| l.starts_with("untrusted comment:"))
            .ok_or_else(|| fmt("line 1 must be an untrusted comment"))?;
        let sig_line = lines.next().ok_or_else(|| fmt("missing signature line"))?.trim_end_matches('\r');
        let trusted_comment = lines
            .next()
            .and_then(|l| l.trim_end_matches('\r').strip_prefix("trusted comment: "))
            .ok_or_else(|| fmt("line 3 must be a trusted comment"))?;
        let global_line = lines.next().ok_or_else(|| fmt("missing global signature line"))?.trim_end_matches('\r');
        let sig_raw = B64.decode(sig_line).map_err(|e| fmt(&format!("signature line: {e}")))?;
        if sig_raw.len() != 74 {
            return Err(fmt("signature line must decode to 74 bytes"));
        }
        let algorithm = match &sig_raw[..2] {
            b"Ed" => MinisignAlgorithm::Legacy,
            b"ED" => MinisignAlgorithm::Prehashed,
            _ => return Err(fmt("the signature algorithm is neither `Ed` nor `ED`")),
        };
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&sig_raw[2..10]);
        let signature = Signature::from_slice(&sig_raw[10..]).map_err(|e| fmt(&e.to_string()))?;
        Ok(Self { algorithm, key_id, signature, trusted_comment, global_line })
    }

    /// Verifies with `key`, and checks the key id when one is expected. Returns the trusted comment.
    fn verify(&self, key: &VerifyingKey, key_id: Option<&[u8; 8]>, message: &[u8]) -> Result<String, KeyError> {
        let fmt = |d: &str| KeyError::BadSignatureFormat(d.to_string());
        // 1. The file names the key expected (the key id is a hint, not signed: this only turns a
        //    wrong key file into a clear message).
        if let Some(expected) = key_id.filter(|&expected| *expected != self.key_id) {
            return Err(KeyError::SignatureMismatch(format!(
                "signed by key id {:016X}, expected {:016X}",
                u64::from_le_bytes(self.key_id),
                u64::from_le_bytes(*expected)
            )));
        }
        // 2. The signature over the message, or over its BLAKE2b-512 when prehashed.
        let verified = match self.algorithm {
            MinisignAlgorithm::Legacy => key.verify(message, &self.signature),
            MinisignAlgorithm::Prehashed => {
                use blake2::Digest as _;
                key.verify(&blake2::Blake2b512::digest(message), &self.signature)
            }
        };
        verified.map_err(|_| KeyError::SignatureMismatch("signature over the file does not verify".into()))?;
        // 3. The global signature over signature || trusted comment, which binds the comment.
        let global_raw = B64.decode(self.global_line).map_err(|e| fmt(&format!("global signature: {e}")))?;
        let global = Signature::from_slice(&global_raw).map_err(|e| fmt(&e.to_string()))?;
        let mut signed = self.signature.to_bytes().to_vec();
        signed.extend_from_slice(self.trusted_comment.as_bytes());
        key.verify(&signed, &global)
            .map_err(|_| KeyError::SignatureMismatch("trusted comment signature does not verify".into()))?;
        Ok(self.trusted_comment.to_string())
    }
}

/// Signs `message` into a minisign signature file: the legacy `Ed` kind (Ed25519 over the message),
/// or the prehashed `ED` kind (over its BLAKE2b-512) for a signer that does not sign long
/// messages. `trusted_comment` must be one line without leading or trailing white space.
pub fn sign_minisign(key: &dyn Signer, message: &[u8], trusted_comment: &str) -> Result<String, SignError> {
    let public = PublicKey::from_verifying(key.verifying_key());
    let (kind, sig) = if key.signs_long_messages() {
        (b"Ed", sign(key, message)?)
    } else {
        use blake2::Digest as _;
        (b"ED", sign(key, &blake2::Blake2b512::digest(message))?)
    };
    let mut sig_raw = Vec::with_capacity(74);
    sig_raw.extend_from_slice(kind);
    sig_raw.extend_from_slice(&public.key_id);
    sig_raw.extend_from_slice(&sig.to_bytes());
    let trusted = trusted_comment.replace(['\n', '\r'], " ");
    let trusted = trusted.trim();
    let mut global_msg = sig.to_bytes().to_vec();
    global_msg.extend_from_slice(trusted.as_bytes());
    let global = sign(key, &global_msg)?;
    Ok(format!(
        "untrusted comment: signature from cairn secret key {}\n{}\ntrusted comment: {}\n{}\n",
        public.key_id_hex(),
        B64.encode(sig_raw),
        trusted,
        B64.encode(global.to_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    #[test]
    fn minisign_round_trip_and_tamper() {
        let k = key();
        let public = PublicKey::of(&k);
        let sig = sign_minisign(&k, b"hello", "timestamp:0\tfile:hello").unwrap();
        assert_eq!(public.verify_minisign(b"hello", &sig).unwrap(), "timestamp:0\tfile:hello");
        assert!(public.verify_minisign(b"hellO", &sig).is_err());
        let forged_comment = sig.replace("file:hello", "file:other");
        assert!(public.verify_minisign(b"hello", &forged_comment).is_err());
        let parsed = PublicKey::parse(&public.to_minisign_file(), "test").unwrap();
        assert_eq!(parsed, public);
        let raw = PublicKey::parse(&B64.encode(public.key.as_bytes()), "raw").unwrap();
        assert_eq!(raw.key, public.key);
    }

    /// A key whose holder signs short messages only (as AWS KMS does).
    struct ShortOnly(SigningKey);

    impl Signer for ShortOnly {
        fn verifying_key(&self) -> VerifyingKey {
            self.0.verifying_key()
        }
        fn try_sign(&self, message: &[u8]) -> Result<Signature, SignError> {
            assert!(message.len() <= 4096, "asked to sign {} bytes", message.len());
            Ok(ed25519_dalek::Signer::sign(&self.0, message))
        }
        fn describe(&self) -> String {
            "a short-message signer".into()
        }
        fn signs_long_messages(&self) -> bool {
            false
        }
    }

    #[test]
    fn a_signer_of_short_messages_makes_prehashed_minisign_signatures() {
        let long = vec![b'x'; 10_000];
        let sig = sign_minisign(&ShortOnly(key()), &long, "file:long").unwrap();
        let raw = B64.decode(sig.lines().nth(1).unwrap()).unwrap();
        assert_eq!(&raw[..2], b"ED");
        let public = PublicKey::of(&key());
        assert_eq!(public.verify_minisign(&long, &sig).unwrap(), "file:long");
        assert!(public.verify_minisign(&long[1..], &sig).is_err());
    }

    #[test]
    fn cairn_signatures_are_the_bytes_they_always_were() {
        // Computed outside Cairn (Python `cryptography`, seed 7 repeated) and accepted by
        // Debian's `minisign -V` 0.11.
        let expected = "untrusted comment: signature from cairn secret key E64CABF3122C81FE\n\
            RWT+gSwS86tM5jWaMVkg2VQcPMKh3Rg58+QL8jNYodk6br2DA8AxDOtQJeZ5IiqwFrTYIsUAHnh+AMDOqmrDxugCSKlEvUcQTww=\n\
            trusted comment: timestamp:0\tfile:hello\n\
            qHpCVCUZj6pLhpJIGWJ9BVbPLslOlLwvlXsuipgRCTwM237RyJJz5BqkFEJuruZ/0/gclSd6h/R8eva69RhdCA==\n";
        assert_eq!(sign_minisign(&key(), b"hello", "timestamp:0\tfile:hello").unwrap(), expected);
    }

    // Made by Debian's `minisign` 0.11; see tests/data/minisign/README.md.
    const DEBIAN_PUBLIC: &str = include_str!("../tests/data/minisign/minisign.pub");
    const DEBIAN_MESSAGE: &[u8] = include_bytes!("../tests/data/minisign/message.txt");
    const DEBIAN_PREHASHED: &str = include_str!("../tests/data/minisign/message.txt.prehashed.minisig");
    const DEBIAN_LEGACY: &str = include_str!("../tests/data/minisign/message.txt.legacy.minisig");

    /// The Debian signatures with their trusted comments.
    fn debian_signatures() -> [(&'static str, &'static str); 2] {
        [
            (DEBIAN_PREHASHED, "timestamp:1796524348\tfile:message.txt\thashed"),
            (DEBIAN_LEGACY, "timestamp:1796524348\tfile:message.txt"),
        ]
    }

    /// `signature_file` with the bytes of its signature line from `at` on replaced by `bytes`.
    fn with_signature_bytes(signature_file: &str, at: usize, bytes: &[u8]) -> String {
        let mut lines: Vec<String> = signature_file.split('\n').map(String::from).collect();
        let mut raw = B64.decode(&lines[1]).unwrap();
        raw[at..at + bytes.len()].copy_from_slice(bytes);
        lines[1] = B64.encode(raw);
        lines.join("\n")
    }

    fn mismatch(result: Result<String, KeyError>) -> String {
        match result {
            Err(KeyError::SignatureMismatch(detail)) => detail,
            other => panic!("expected a signature mismatch, got {other:?}"),
        }
    }

    #[test]
    fn debian_minisign_signatures_verify_prehashed_and_legacy() {
        let public = PublicKey::parse(DEBIAN_PUBLIC, "debian").unwrap();
        assert_eq!(public.key_id_hex(), "4088A7A7B6B7F365");
        assert!(DEBIAN_PREHASHED.lines().nth(1).unwrap().starts_with("RUR"), "`ED` signature");
        assert!(DEBIAN_LEGACY.lines().nth(1).unwrap().starts_with("RWR"), "`Ed` signature");
        for (file, comment) in debian_signatures() {
            assert_eq!(public.verify_minisign(DEBIAN_MESSAGE, file).unwrap(), comment);
            assert_eq!(verify_minisign_with(&public.key, DEBIAN_MESSAGE, file).unwrap(), comment);
        }
    }

    #[test]
    fn tampered_debian_minisign_signatures_fail() {
        let public = PublicKey::parse(DEBIAN_PUBLIC, "debian").unwrap();
        let mut message = DEBIAN_MESSAGE.to_vec();
        message[0] ^= 0x20;
        for (file, comment) in debian_signatures() {
            // The message.
            for result in [public.verify_minisign(&message, file), verify_minisign_with(&public.key, &message, file)] {
                assert_eq!(mismatch(result), "signature over the file does not verify");
            }
            // The trusted comment.
            let forged = file.replace(comment, &comment.replace("message.txt", "other.txt"));
            assert_ne!(forged, file);
            for result in [
                public.verify_minisign(DEBIAN_MESSAGE, &forged),
                verify_minisign_with(&public.key, DEBIAN_MESSAGE, &forged),
            ] {
                assert_eq!(mismatch(result), "trusted comment signature does not verify");
            }
            // The key id. It is not signed, so only a check against the expected id catches
            // it; a bare key has none to compare with.
            let renamed = with_signature_bytes(file, 2, &[0x11; 8]);
            assert_eq!(
                mismatch(public.verify_minisign(DEBIAN_MESSAGE, &renamed)),
                "signed by key id 1111111111111111, expected 4088A7A7B6B7F365"
            );
            assert_eq!(verify_minisign_with(&public.key, DEBIAN_MESSAGE, &renamed).unwrap(), comment);
            // Another key, with its own id or claiming this one's.
            let stranger = PublicKey::of(&key());
            assert!(mismatch(stranger.verify_minisign(DEBIAN_MESSAGE, file))
                .starts_with("signed by key id 4088A7A7B6B7F365"));
            let impostor = PublicKey { key_id: public.key_id, key: stranger.key };
            assert_eq!(
                mismatch(impostor.verify_minisign(DEBIAN_MESSAGE, file)),
                "signature over the file does not verify"
            );
            // The algorithm, swapped or unknown.
            let swapped = if file == DEBIAN_LEGACY { b"ED" } else { b"Ed" };
            let swapped = with_signature_bytes(file, 0, swapped);
            assert_eq!(
                mismatch(public.verify_minisign(DEBIAN_MESSAGE, &swapped)),
                "signature over the file does not verify"
            );
            let unknown = with_signature_bytes(file, 0, b"XX");
            assert!(matches!(public.verify_minisign(DEBIAN_MESSAGE, &unknown), Err(KeyError::BadSignatureFormat(_))));
        }
    }

    #[test]
    fn private_keys_are_written_0600_and_loose_ones_refused() {
        let dir = std::env::temp_dir().join(format!("cairn-keys-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.pem");
        write_signing_key(&path, &key()).unwrap();
        assert_eq!(read_signing_key(&path).unwrap().to_bytes(), key().to_bytes());
        assert!(write_signing_key(&path, &key()).is_err(), "never overwrites");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            let err = read_signing_key(&path).unwrap_err().to_string();
            assert!(err.contains("chmod 600"), "{err}");
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
