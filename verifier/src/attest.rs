//! Attestation checks: DSSE signatures with trusted Ed25519 keys, Sigstore transparency-log
//! inclusion proofs (RFC 6962), and keyless (Fulcio certificate) bundles in full against a
//! trusted root and the identities the keyring trusts (`crate::keyless`).

use cairn_evidence::artefacts::AttestationRow;
use cairn_evidence::attest::{Bundle, BundleContent, Envelope, SignerMaterial, TlogEntry};
use cairn_evidence::digest::Sha256Digest;
use cairn_evidence::keyring::{KeyUse, Keyring, TrustedKey};
use cairn_evidence::merkle::{leaf_hash, verify_inclusion};
use cairn_evidence::records::find_record;
use chrono::{DateTime, Utc};
use ed25519_dalek::Signature;
use serde_json::Value;

use crate::keyless::{self, KeylessCheck, SigstoreTrust};
use crate::{Finding, FindingKind};

/// How an envelope's signature check ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureCheck {
    /// A signature verified with this trusted key.
    Verified {
        /// The key's id.
        kid: String,
    },
    /// No signature verified; why.
    Failed(String),
}

/// Checks a DSSE envelope's signatures over its pre-authentication encoding.
///
/// `keys` are the keys trusted for this attestation's source at its time. A signature with a
/// `keyid` hint is tried with that key only; one without (real bundles carry `"keyid": ""`) is
/// tried with each trusted key. One verified signature suffices.
pub fn check_envelope(envelope: &Envelope, keys: &[&TrustedKey]) -> SignatureCheck {
    // 1. There must be something to check, and someone to check it with.
    if envelope.signatures.is_empty() {
        return SignatureCheck::Failed("the envelope has no signature".into());
    }
    if keys.is_empty() {
        return SignatureCheck::Failed("no key in the keyring is trusted for attestations of this source".into());
    }
    // 2. Signatures are over PAE(payloadType, payload), on the exact decoded payload bytes.
    let message = envelope.pae();
    let mut reasons = Vec::new();
    for (i, s) in envelope.signatures.iter().enumerate() {
        let Ok(sig) = Signature::from_slice(&s.sig) else {
            reasons.push(format!("signature {i} is not a 64-byte Ed25519 signature ({} bytes)", s.sig.len()));
            continue;
        };
        let candidates: Vec<&&TrustedKey> =
            if s.keyid.is_empty() { keys.iter().collect() } else { keys.iter().filter(|k| k.kid == s.keyid).collect() };
        if candidates.is_empty() {
            reasons.push(format!("signature {i} names key {:?}, which is not trusted for this source", s.keyid));
            continue;
        }
        // 3. Strict verification: no malleable or small-order signatures.
        if let Some(k) = candidates.iter().find(|k| k.key.verify_strict(&message, &sig).is_ok()) {
            return SignatureCheck::Verified { kid: k.kid.clone() };
        }
        reasons.push(format!("signature {i} does not verify with any trusted key"));
    }
    SignatureCheck::Failed(reasons.join("; "))
}

/// How a transparency-log entry's check ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlogCheck {
    /// The proof leads from the entry to the root, which the carried checkpoint names.
    Included {
        /// The leaf index the proof is for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The entry carries no inclusion proof (only a promise): nothing to recompute.
    NoProof,
    /// The proof or the entry is wrong; why.
    Failed(String),
}

/// Checks one transparency-log entry of a bundle against the bundle's own content.
pub fn check_tlog_entry(entry: &TlogEntry, content: &BundleContent) -> TlogCheck {
    let Some(proof) = &entry.proof else {
        return TlogCheck::NoProof;
    };
    // 1. The leaf is the canonicalized body, domain-separated: SHA-256(0x00 || body).
    let leaf = leaf_hash(&entry.body);
    // 2. The audit path leads to the root, using the proof's own (shard-local) index.
    let hashes: Vec<Sha256Digest> = proof.hashes.iter().map(|h| Sha256Digest(*h)).collect();
    if let Err(e) = verify_inclusion(proof.log_index, proof.tree_size, &leaf, &hashes, &Sha256Digest(proof.root_hash)) {
        return TlogCheck::Failed(format!("the inclusion proof for log index {} fails: {e}", proof.log_index));
    }
    // 3. The checkpoint carried with the proof names the same tree (its signature is the log's,
    //    whose key is not kept here).
    if let Some(note) = &proof.checkpoint {
        let mut lines = note.lines().skip(1);
        let size = lines.next().unwrap_or_default();
        let root = lines.next().unwrap_or_default();
        let root_b64 = base64_std(&proof.root_hash);
        if size != proof.tree_size.to_string() || root != root_b64 {
            return TlogCheck::Failed(format!(
                "the checkpoint names tree size {size} and root {root}, the proof {} and {root_b64}",
                proof.tree_size
            ));
        }
    }
    // 4. The entry is about this bundle's content, not another artefact's.
    if let Err(mismatch) = entry_matches(&entry.body, content) {
        return TlogCheck::Failed(mismatch.to_string());
    }
    TlogCheck::Included { index: proof.log_index, size: proof.tree_size }
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Why a Rekor entry body does not name the bundle's artefact.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
enum EntryMismatch {
    /// The body does not parse.
    #[error("the log entry body is not JSON: {source}")]
    BodyNotJson {
        /// The parser's complaint.
        source: serde_json::Error,
    },
    /// The body names another digest, or none.
    #[error("the log entry is for {}, this bundle's artefact is {ours}", .logged.as_deref().unwrap_or("no digest"))]
    OtherArtefact {
        /// The digest the log entry names, if it names one as a string.
        logged: Option<String>,
        /// The digest of this bundle's artefact.
        ours: String,
    },
}

/// Checks that a Rekor entry body names the bundle's artefact: a `hashedrekord`'s digest (of the
/// message, or of a DSSE envelope's PAE, the bytes its signature covers) or a `dsse` entry's
/// payload hash, as Rekor v1 logs them (hex) or Rekor v2 (`apiVersion` 0.0.2, base64). Other kinds
/// are not compared.
fn entry_matches(body: &[u8], content: &BundleContent) -> Result<(), EntryMismatch> {
    let v: Value = serde_json::from_slice(body).map_err(|source| EntryMismatch::BodyNotJson { source })?;
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or_default();
    let ours = match (kind, content) {
        ("hashedrekord", BundleContent::Message { digest, .. }) => hex::encode(digest),
        ("hashedrekord", BundleContent::Dsse(env)) => Sha256Digest::of(&env.pae()).to_hex(),
        ("dsse", BundleContent::Dsse(env)) => Sha256Digest::of(&env.payload).to_hex(),
        _ => return Ok(()),
    };
    let rekor_v2 = v.get("apiVersion").and_then(Value::as_str) == Some("0.0.2");
    let pointer = match (kind, rekor_v2) {
        ("hashedrekord", false) => "/spec/data/hash/value",
        ("hashedrekord", true) => "/spec/hashedRekordV002/data/digest",
        (_, false) => "/spec/payloadHash/value",
        (_, true) => "/spec/dsseV002/payloadHash/digest",
    };
    let logged = v.pointer(pointer).and_then(Value::as_str).map(|logged| {
        use base64::Engine as _;
        match base64::engine::general_purpose::STANDARD.decode(logged) {
            Ok(bytes) if rekor_v2 => hex::encode(bytes),
            _ => logged.to_string(),
        }
    });
    match logged {
        Some(logged) if logged.eq_ignore_ascii_case(&ours) => Ok(()),
        logged => Err(EntryMismatch::OtherArtefact { logged, ours }),
    }
}

/// Keys trusted to sign attestations of `source` at `at`.
fn attestation_keys<'k>(keyring: &'k Keyring, source: &str, at: DateTime<Utc>) -> Vec<&'k TrustedKey> {
    keyring.keys().filter(|k| k.permits_attestation(source, Some(at)) == KeyUse::Allowed).collect()
}

/// Re-checks one collected attestation record from its stored blob: the envelope's signature by a
/// key trusted for its source when it was collected, or a Sigstore bundle's signature (by a
/// trusted key, or keyless against `trust` and the keyring's identities) and each of its
/// transparency-log entries.
pub fn check_attestation(row: &AttestationRow, blob: &[u8], keyring: &Keyring, trust: &SigstoreTrust) -> Vec<Finding> {
    let p = &row.provenance;
    let at = |kind, detail| Finding::object(kind, &p.object_key, detail).at_line(p.line);
    let Some(record) = find_record(blob, &p.object_key, &p.record_sha256) else {
        return vec![at(
            FindingKind::AttestationSignature,
            format!("the stored blob {} no longer holds the record collected", row.blob),
        )];
    };
    let keys = attestation_keys(keyring, &p.source, p.collected_at);
    let parsed = serde_json::from_slice::<serde_json::Value>(record).map_err(|e| e.to_string());
    let mut out = Vec::new();
    match row.format.as_str() {
        "dsse" => match parsed.and_then(|v| Envelope::from_value(&v, "envelope").map_err(|e| e.to_string())) {
            Err(e) => out.push(at(FindingKind::AttestationSignature, format!("the envelope does not parse: {e}"))),
            Ok(envelope) => {
                if let SignatureCheck::Failed(why) = check_envelope(&envelope, &keys) {
                    out.push(at(FindingKind::AttestationSignature, why));
                }
            }
        },
        _ => match parsed.and_then(|v| Bundle::from_value(&v).map_err(|e| e.to_string())) {
            Err(e) => out.push(at(FindingKind::AttestationSignature, format!("the bundle does not parse: {e}"))),
            Ok(bundle) => {
                // A bundle signed with a key is checked like an envelope, with the key its hint
                // names; a keyless one in full against the trusted root and trusted identities.
                if let (SignerMaterial::PublicKey { hint }, BundleContent::Dsse(envelope)) =
                    (&bundle.signer, &bundle.content)
                {
                    let named: Vec<&TrustedKey> =
                        keys.iter().copied().filter(|k| hint.is_empty() || k.kid == *hint).collect();
                    if let SignatureCheck::Failed(why) = check_envelope(envelope, &named) {
                        out.push(at(FindingKind::AttestationSignature, why));
                    }
                }
                let logged_before = out.len();
                for (i, entry) in bundle.tlog_entries.iter().enumerate() {
                    if let TlogCheck::Failed(why) = check_tlog_entry(entry, &bundle.content) {
                        out.push(at(
                            FindingKind::TlogInclusion,
                            format!("tlog entry {i} (log index {}): {why}", entry.log_index),
                        ));
                    }
                }
                if let SignerMaterial::Certificate { .. } = &bundle.signer {
                    let identities: Vec<_> = keyring.keyless_for(&p.source).collect();
                    let subject = keyless::Subject { alg: &row.digest_alg, hex: &row.digest_value };
                    if let KeylessCheck::Failed(kind, why) =
                        keyless::check(record, &subject, &identities, &p.source, trust)
                    {
                        // A log entry already named by its own inclusion check is not named twice.
                        if kind != FindingKind::TlogInclusion || out.len() == logged_before {
                            out.push(at(kind, why));
                        }
                    }
                }
            }
        },
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_evidence::attest::{Bundle, EnvelopeSignature};
    use ed25519_dalek::{Signer as _, SigningKey};

    const GH: &[u8] = include_bytes!("../../fixtures/attest/gh-artifact-attestation-slsa-v1.dsse-rekor.sigstore.json");
    const PY: &[u8] =
        include_bytes!("../../fixtures/attest/sigstore-python-bundle-v03-message-signature.sigstore.json");

    #[test]
    fn real_bundles_pass_the_inclusion_check_and_a_flipped_bit_fails_it() {
        for bytes in [GH, PY] {
            let b = Bundle::parse(bytes).unwrap();
            let entry = &b.tlog_entries[0];
            assert!(matches!(check_tlog_entry(entry, &b.content), TlogCheck::Included { .. }));
            // One bit of one audit-path hash.
            let mut bad = entry.clone();
            bad.proof.as_mut().unwrap().hashes[3][7] ^= 0x10;
            assert!(matches!(check_tlog_entry(&bad, &b.content), TlogCheck::Failed(_)));
            // One bit of the entry body.
            let mut bad = entry.clone();
            bad.body[40] ^= 0x01;
            assert!(matches!(check_tlog_entry(&bad, &b.content), TlogCheck::Failed(_)));
            // The right proof, for another artefact.
            let mut other = b.content.clone();
            match &mut other {
                BundleContent::Message { digest, .. } => digest[0] ^= 1,
                BundleContent::Dsse(env) => env.payload.push(b' '),
            }
            let TlogCheck::Failed(why) = check_tlog_entry(entry, &other) else { panic!("passed") };
            assert!(why.contains("log entry is for"), "{why}");
        }
    }

    /// DSSE envelopes logged as `hashedrekord` (its digest is of the envelope's PAE) and in Rekor v2
    /// as `dsse` 0.0.2 (base64 digests under `dsseV002`): each entry names its own envelope, and
    /// not the envelope of the conformance case that swapped it for another.
    #[test]
    fn dsse_logged_as_hashedrekord_or_in_rekor_v2_names_its_envelope() {
        let case = |name: &str| {
            let path =
                format!("{}/../fixtures/sigstore/conformance/{name}/bundle.sigstore.json", env!("CARGO_MANIFEST_DIR"));
            Bundle::parse(&std::fs::read(path).unwrap()).unwrap()
        };
        for (happy, swapped) in [
            ("dsse-with-hashedrekord-happy-path", "dsse-with-hashedrekord-mismatch-envelope_fail"),
            ("rekor2-dsse-happy-path", "rekor2-dsse-mismatch-envelope_fail"),
        ] {
            let b = case(happy);
            let got = check_tlog_entry(&b.tlog_entries[0], &b.content);
            assert!(matches!(got, TlogCheck::Included { .. }), "{happy}: {got:?}");
            let b = case(swapped);
            let got = check_tlog_entry(&b.tlog_entries[0], &b.content);
            assert!(matches!(&got, TlogCheck::Failed(why) if why.contains("log entry is for")), "{swapped}: {got:?}");
        }
    }

    #[test]
    fn log_entry_mismatches_read_as_they_always_did() {
        let b = Bundle::parse(PY).unwrap();
        let not_json = serde_json::from_slice::<Value>(b"{").unwrap_err();
        let err = entry_matches(b"{", &b.content).unwrap_err().to_string();
        assert_eq!(err, format!("the log entry body is not JSON: {not_json}"));
        let BundleContent::Message { digest, .. } = &b.content else { panic!("a message signature bundle") };
        let ours = hex::encode(digest);
        let err = entry_matches(br#"{"kind":"hashedrekord","spec":{}}"#, &b.content).unwrap_err().to_string();
        assert_eq!(err, format!("the log entry is for no digest, this bundle's artefact is {ours}"));
        let body = br#"{"kind":"hashedrekord","spec":{"data":{"hash":{"value":"ab12"}}}}"#;
        let err = entry_matches(body, &b.content).unwrap_err().to_string();
        assert_eq!(err, format!("the log entry is for ab12, this bundle's artefact is {ours}"));
    }

    fn key(kid: &str, seed: u8) -> (SigningKey, TrustedKey) {
        let sk = SigningKey::from_bytes(&[seed; 32]);
        let tk = TrustedKey {
            kid: kid.into(),
            key: sk.verifying_key(),
            not_before: None,
            not_after: None,
            revoked_at: None,
            chains: None,
            attestations: vec!["*".into()],
            policies: Vec::new(),
        };
        (sk, tk)
    }

    #[test]
    fn dsse_signatures_verify_and_tampering_or_strangers_do_not() {
        let (sk, tk) = key("ci-2026", 7);
        let (stranger, _) = key("other", 9);
        let mut env = Envelope {
            payload_type: "application/vnd.in-toto+json".into(),
            payload: br#"{"_type":"https://in-toto.io/Statement/v1"}"#.to_vec(),
            signatures: Vec::new(),
        };
        let sig = sk.sign(&env.pae()).to_bytes().to_vec();
        env.signatures.push(EnvelopeSignature { keyid: String::new(), sig });
        assert_eq!(check_envelope(&env, &[&tk]), SignatureCheck::Verified { kid: "ci-2026".into() });
        let mut changed = env.clone();
        changed.payload[3] ^= 1;
        assert!(matches!(check_envelope(&changed, &[&tk]), SignatureCheck::Failed(_)));
        let mut retyped = env.clone();
        retyped.payload_type = "application/json".into();
        assert!(matches!(check_envelope(&retyped, &[&tk]), SignatureCheck::Failed(_)));
        let mut foreign = env.clone();
        foreign.signatures[0].sig = stranger.sign(&env.pae()).to_bytes().to_vec();
        assert!(matches!(check_envelope(&foreign, &[&tk]), SignatureCheck::Failed(_)));
        assert!(matches!(check_envelope(&env, &[]), SignatureCheck::Failed(_)));
        let mut hinted = env.clone();
        hinted.signatures[0].keyid = "someone-else".into();
        let SignatureCheck::Failed(why) = check_envelope(&hinted, &[&tk]) else { panic!("passed") };
        assert!(why.contains("someone-else"), "{why}");
    }
}
