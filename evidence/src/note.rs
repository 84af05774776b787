//! C2SP signed notes and tlog checkpoints: how Cairn publishes the head of its Merkle log, in the
//! format transparency logs (sum.golang.org, Rekor v2, witnesses) already use.
//!
//! A note is UTF-8 text ending in a newline, a blank line, then signature lines
//! `— <key name> <base64(4-byte key id || signature)>`. A checkpoint's text is the log origin, the
//! tree size and the base64 root hash, one per line, then optional extension lines.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::digest::Sha256Digest;
use crate::signer::{sign, SignError, Signer};

/// The em dash and space that open a signature line.
const SIG_PREFIX: &str = "\u{2014} ";
/// Signature type of plain Ed25519 note signatures.
const ED25519: u8 = 0x01;

/// What is wrong with a note, a checkpoint or a verifier key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The text is not a signed note.
    #[error("malformed signed note: {0}")]
    Malformed(String),
    /// A verifier key string is malformed.
    #[error("malformed verifier key {key:?}: {detail}")]
    BadKey {
        /// The key string.
        key: String,
        /// Why.
        detail: String,
    },
    /// A signature by a known key does not verify.
    #[error("the signature by {0} does not verify")]
    BadSignature(String),
    /// No signature by a known key.
    #[error("no signature by a trusted key ({0})")]
    NoTrustedSignature(String),
    /// The note text is not a checkpoint.
    #[error("malformed checkpoint: {0}")]
    BadCheckpoint(String),
}

/// A note verifier: name, key id and Ed25519 key (`<name>+<hex id>+<base64(0x01 || key)>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    /// Key name.
    pub name: String,
    /// 4-byte key id.
    pub id: u32,
    /// The key.
    pub key: VerifyingKey,
}

fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519]);
    h.update(key.as_bytes());
    let d: [u8; 32] = h.finalize().into();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

impl NoteVerifier {
    /// The verifier of `key` under `name`.
    pub fn new(name: &str, key: VerifyingKey) -> Self {
        Self { name: name.to_string(), id: key_id(name, &key), key }
    }

    /// Parses `<name>+<hex id>+<base64(type || key)>`, splitting on the first two `+` only
    /// (base64 may contain `+`).
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let bad = |detail: &str| NoteError::BadKey { key: text.to_string(), detail: detail.into() };
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected <name>+<hex key id>+<base64 key>"));
        };
        let id = u32::from_str_radix(id, 16).map_err(|_| bad("key id is not 8 hex digits"))?;
        let raw = B64.decode(key).map_err(|_| bad("key is not base64"))?;
        let (&kind, key) = raw.split_first().ok_or_else(|| bad("empty key"))?;
        if kind != ED25519 || key.len() != 32 {
            return Err(bad("only Ed25519 keys (type 0x01, 32 bytes) are supported"));
        }
        let key =
            VerifyingKey::from_bytes(key.try_into().map_err(|_| bad("length"))?).map_err(|e| bad(&e.to_string()))?;
        if key_id(name, &key) != id {
            return Err(bad("key id does not match the name and key"));
        }
        Ok(Self { name: name.to_string(), id, key })
    }

    /// The verifier key string.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, B64.encode(raw))
    }
}

/// Signs `text` (which must end in a newline) as a note by `name`.
pub fn sign_note(text: &str, name: &str, key: &dyn Signer) -> Result<String, SignError> {
    let verifier = NoteVerifier::new(name, key.verifying_key());
    let sig = sign(key, text.as_bytes())?;
    let mut raw = verifier.id.to_be_bytes().to_vec();
    raw.extend_from_slice(&sig.to_bytes());
    Ok(format!("{text}\n{SIG_PREFIX}{name} {}\n", B64.encode(raw)))
}

/// Verifies a signed note against trusted verifiers. Signatures by unknown keys are ignored; a
/// known key whose signature fails rejects the note; at least one known signature must verify.
/// Returns the note text (with its final newline) and the names that verified.
pub fn verify_note<'a>(note: &'a str, trusted: &[NoteVerifier]) -> Result<(&'a str, Vec<String>), NoteError> {
    let malformed = |d: &str| NoteError::Malformed(d.into());
    if !note.ends_with('\n') {
        return Err(malformed("does not end with a newline"));
    }
    // The text ends at the last blank line.
    let split = note.rfind("\n\n").ok_or_else(|| malformed("no blank line before the signatures"))?;
    let (text, sigs) = (&note[..=split], &note[split + 2..]);
    let mut verified = Vec::new();
    for line in sigs.lines() {
        let rest =
            line.strip_prefix(SIG_PREFIX).ok_or_else(|| malformed("a signature line must start with an em dash"))?;
        let (name, b64) =
            rest.rsplit_once(' ').ok_or_else(|| malformed("a signature line needs a name and a signature"))?;
        let raw = B64.decode(b64).map_err(|_| malformed("a signature is not base64"))?;
        if raw.len() < 4 {
            return Err(malformed("a signature is shorter than its key id"));
        }
        let id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let Some(v) = trusted.iter().find(|v| v.name == name && v.id == id) else { continue };
        let sig = Signature::from_slice(&raw[4..]).map_err(|_| NoteError::BadSignature(name.into()))?;
        v.key.verify(text.as_bytes(), &sig).map_err(|_| NoteError::BadSignature(name.into()))?;
        verified.push(name.to_string());
    }
    if verified.is_empty() {
        let names: Vec<&str> = trusted.iter().map(|v| v.name.as_str()).collect();
        return Err(NoteError::NoTrustedSignature(names.join(", ")));
    }
    Ok((text, verified))
}

/// A tlog checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log origin.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Sha256Digest,
    /// Extension lines.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text.
    pub fn to_text(&self) -> String {
        let mut text = format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root.0));
        for e in &self.extensions {
            text.push_str(e);
            text.push('\n');
        }
        text
    }

    /// Parses a checkpoint's note text.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let bad = |d: &str| NoteError::BadCheckpoint(d.into());
        let mut lines = text.strip_suffix('\n').ok_or_else(|| bad("no final newline"))?.split('\n');
        let origin = lines.next().filter(|l| !l.is_empty()).ok_or_else(|| bad("no origin line"))?;
        let size = lines.next().ok_or_else(|| bad("no size line"))?;
        if size.is_empty() || (size.len() > 1 && size.starts_with('0')) || !size.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("the size must be a decimal number without leading zeros"));
        }
        let size = size.parse().map_err(|_| bad("the size is too large"))?;
        let root =
            B64.decode(lines.next().ok_or_else(|| bad("no root line"))?).map_err(|_| bad("the root is not base64"))?;
        let root = Sha256Digest(root.as_slice().try_into().map_err(|_| bad("the root is not 32 bytes"))?);
        let extensions: Vec<String> = lines.map(str::to_string).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad("extension lines must not be empty"));
        }
        Ok(Self { origin: origin.to_string(), size, root, extensions })
    }
}

/// A `c2sp.org/tlog-proof@v1` file: a leaf index, its inclusion proof and a signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Leaf index.
    pub index: u64,
    /// Proof hashes, leaf sibling first.
    pub proof: Vec<Sha256Digest>,
    /// The signed checkpoint, verbatim.
    pub checkpoint: String,
}

impl TlogProof {
    /// Parses a tlog-proof file.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let bad = |d: &str| NoteError::Malformed(format!("tlog-proof: {d}"));
        let rest = text.strip_prefix("c2sp.org/tlog-proof@v1\n").ok_or_else(|| bad("missing header line"))?;
        let (head, checkpoint) = rest.split_once("\n\n").ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let mut lines = head.lines().peekable();
        if lines.peek().is_some_and(|l| l.starts_with("extra ")) {
            lines.next();
        }
        let index = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad("missing index line"))?;
        let proof = lines
            .map(|l| {
                let raw = B64.decode(l).map_err(|_| bad("a proof hash is not base64"))?;
                raw.as_slice().try_into().map(Sha256Digest).map_err(|_| bad("a proof hash is not 32 bytes"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { index, proof, checkpoint: checkpoint.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    #[test]
    fn signed_checkpoints_round_trip_and_tampering_fails() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let cp = Checkpoint {
            origin: "cairn.example/lake".into(),
            size: 12,
            root: Sha256Digest::of(b"r"),
            extensions: vec![],
        };
        let note = sign_note(&cp.to_text(), "cairn.example/lake", &key).unwrap();
        let v = NoteVerifier::new("cairn.example/lake", key.verifying_key());
        assert_eq!(NoteVerifier::parse(&v.to_vkey()).unwrap(), v);
        let (text, names) = verify_note(&note, std::slice::from_ref(&v)).unwrap();
        assert_eq!(Checkpoint::parse(text).unwrap(), cp);
        assert_eq!(names, ["cairn.example/lake"]);
        let forged = note.replace("\n12\n", "\n13\n");
        assert_eq!(
            verify_note(&forged, std::slice::from_ref(&v)).unwrap_err(),
            NoteError::BadSignature("cairn.example/lake".into())
        );
        let stranger = NoteVerifier::new("other", SigningKey::from_bytes(&[1u8; 32]).verifying_key());
        assert!(matches!(verify_note(&note, &[stranger]), Err(NoteError::NoTrustedSignature(_))));
    }
}
