//! The two shapes of valid keyless bundle that `sigstore-verify` 0.15 does not read, verified here
//! beside it. Both are DSSE envelopes logged under an entry kind the crate does not pair with one:
//!
//! - **logged as `hashedrekord` 0.0.1.** The entry commits to SHA-256 of the envelope's PAE, the
//!   very bytes its signature covers (the Sigstore client specification allows this pairing). The
//!   envelope is restated as the message signature it is, a signature over that digest, and the
//!   crate verifies that in full: certificate chain, SCT, signing time, the log entry's proof,
//!   promise and body, and the signature. The statement inside must then name the subject.
//! - **logged in Rekor v2 as `dsse` 0.0.2.** The crate verifies everything but the log entry (the
//!   certificate at each RFC 3161 time, which Rekor v2 bundles must carry, the SCT, the envelope's
//!   signature and its statement's subject); here, the entry is checked to be this envelope's (its
//!   payload hash, its one signature and that signature's certificate) and to be in the log: its
//!   RFC 6962 inclusion proof reaches the checkpoint's root, and a log key of the trusted root
//!   signed that checkpoint.
//!
//! Nothing is skipped that the crate checks for the shapes it reads.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cairn_evidence::digest::Sha256Digest;
use cairn_evidence::merkle;
use serde_json::{json, Value};
use sigstore_verify::crypto::Keyring;
use sigstore_verify::rekor::RekorEntryBody;
use sigstore_verify::types::{
    Artifact, ArtifactDigest, Bundle, Checkpoint, DerCertificate, DsseEnvelope, HashAlgorithm, KindVersion, Sha256Hash,
    Sha512Hash, SignatureContent, Statement,
};
use sigstore_verify::{Error, VerificationPolicy, VerificationResult, Verifier};

use crate::FindingKind;

/// A bundle, read into the form it is verified in.
pub(super) enum Shape {
    /// One the crate reads whole.
    Whole(Bundle),
    /// A DSSE envelope logged as `hashedrekord` 0.0.1: the envelope, its PAE's digest, and the
    /// bundle restated as a message signature over that digest.
    HashedRekordOverDsse { envelope: DsseEnvelope, pae: ArtifactDigest, restated: Bundle },
    /// A DSSE envelope logged in Rekor v2 as `dsse` 0.0.2: the bundle without its log entries,
    /// and those entries as they were.
    RekorV2Dsse { unlogged: Bundle, entries: Vec<Value> },
}

/// Why a bundle did not verify: the finding's kind and the reason.
pub(super) type Failure = (FindingKind, String);

impl Shape {
    /// Reads a bundle's JSON.
    pub(super) fn read(text: &str) -> Result<Shape, String> {
        let parse = |json: &str| {
            Bundle::from_json(json).map_err(|e| format!("the bundle does not parse as a Sigstore bundle: {e}"))
        };
        let mut value: Value =
            serde_json::from_str(text).map_err(|e| format!("the bundle does not parse as a Sigstore bundle: {e}"))?;
        let entries = value.pointer("/verificationMaterial/tlogEntries").and_then(Value::as_array);
        let kind = |e: &Value| (e.pointer("/kindVersion/kind").cloned(), e.pointer("/kindVersion/version").cloned());
        let rekor_v2_dsse = entries.is_some_and(|entries| {
            !entries.is_empty() && entries.iter().all(|e| kind(e) == (Some(json!("dsse")), Some(json!("0.0.2"))))
        });
        if rekor_v2_dsse && value.get("dsseEnvelope").is_some() {
            let entries = value["verificationMaterial"]["tlogEntries"].take();
            value["verificationMaterial"]["tlogEntries"] = json!([]);
            let Value::Array(entries) = entries else { unreachable!("checked to be an array above") };
            return Ok(Shape::RekorV2Dsse { unlogged: parse(&value.to_string())?, entries });
        }
        let bundle = parse(text)?;
        let hashedrekord_v1 = !bundle.verification_material.tlog_entries.is_empty()
            && bundle
                .verification_material
                .tlog_entries
                .iter()
                .all(|e| e.kind_version == KindVersion::HashedRekordV001);
        let SignatureContent::DsseEnvelope(envelope) = &bundle.content else { return Ok(Shape::Whole(bundle)) };
        if !hashedrekord_v1 {
            return Ok(Shape::Whole(bundle));
        }
        let envelope = envelope.clone();
        let pae = Sha256Digest::of(&envelope.pae()).0;
        let object = value.as_object_mut().ok_or("the bundle is not a JSON object")?;
        object.remove("dsseEnvelope");
        object.insert(
            "messageSignature".into(),
            json!({
                "messageDigest": {"algorithm": "SHA2_256", "digest": B64.encode(pae)},
                "signature": B64.encode(envelope.signature.sig.as_bytes()),
            }),
        );
        let restated = parse(&value.to_string())?;
        let pae = ArtifactDigest::new(HashAlgorithm::Sha2256, pae.to_vec()).map_err(|e| e.to_string())?;
        Ok(Shape::HashedRekordOverDsse { envelope, pae, restated })
    }

    /// Verifies the bundle against one trusted root (its verifier and its log keys) for the
    /// artefact with `digest`, any identity: the identity is the caller's to match.
    pub(super) fn verify(
        &self,
        verifier: &Verifier,
        logs: &Keyring,
        digest: &ArtifactDigest,
    ) -> Result<VerificationResult, Failure> {
        let any = VerificationPolicy::any_identity();
        match self {
            Shape::Whole(bundle) => {
                verifier.verify(Artifact::from_digest(digest.clone()), bundle, &any).map_err(|e| refusal(&e))
            }
            Shape::HashedRekordOverDsse { envelope, pae, restated } => {
                let verified =
                    verifier.verify(Artifact::from_digest(pae.clone()), restated, &any).map_err(|e| refusal(&e))?;
                names(envelope, digest).map_err(|why| (FindingKind::AttestationSignature, why))?;
                Ok(verified)
            }
            Shape::RekorV2Dsse { unlogged, entries } => {
                let verified = verifier
                    .verify(Artifact::from_digest(digest.clone()), unlogged, &any.skip_tlog_unsafe())
                    .map_err(|e| refusal(&e))?;
                for (n, entry) in entries.iter().enumerate() {
                    logged_dsse_v002(entry, unlogged, logs, &verified)
                        .map_err(|why| (FindingKind::TlogInclusion, format!("Rekor v2 entry {n}: {why}")))?;
                }
                Ok(verified)
            }
        }
    }
}

/// The crate's refusal as a finding: a log entry's, else the signature's.
fn refusal(e: &Error) -> Failure {
    let kind = match e {
        Error::TransparencyLog(_) => FindingKind::TlogInclusion,
        _ => FindingKind::AttestationSignature,
    };
    (kind, e.to_string())
}

/// Whether the envelope's in-toto statement names the artefact with `digest` among its subjects,
/// as the crate requires of every DSSE bundle it verifies.
fn names(envelope: &DsseEnvelope, digest: &ArtifactDigest) -> Result<(), String> {
    if envelope.payload_type != "application/vnd.in-toto+json" {
        return Err(format!("the envelope's payload type {:?} is not an in-toto statement", envelope.payload_type));
    }
    let statement: Statement = serde_json::from_slice(envelope.payload.as_bytes())
        .map_err(|e| format!("the envelope's payload is not an in-toto statement: {e}"))?;
    let named = match digest.algorithm() {
        HashAlgorithm::Sha2256 => {
            Sha256Hash::try_from(digest.value().as_bytes()).is_ok_and(|d| statement.matches_sha256(&d))
        }
        HashAlgorithm::Sha2512 => {
            Sha512Hash::try_from(digest.value().as_bytes()).is_ok_and(|d| statement.matches_sha512(&d))
        }
        _ => false,
    };
    if named {
        Ok(())
    } else {
        Err("artifact hash does not match any subject in attestation".into())
    }
}

/// Checks that a Rekor v2 `dsse` 0.0.2 entry logs this envelope, signed by this certificate, and
/// is in the log: its inclusion proof reaches the root of a checkpoint signed by a log key of the
/// trusted root valid at the earliest verified signing time.
fn logged_dsse_v002(
    entry: &Value,
    bundle: &Bundle,
    logs: &Keyring,
    verified: &VerificationResult,
) -> Result<(), String> {
    let signed_at = *verified.verified_timestamps().iter().min().ok_or("no verified signing time")?;
    let text = |pointer: &str| entry.pointer(pointer).and_then(Value::as_str).ok_or(format!("no {pointer}"));
    let body = B64.decode(text("/canonicalizedBody")?).map_err(|e| format!("canonicalizedBody: {e}"))?;
    let RekorEntryBody::DsseV002(logged) =
        RekorEntryBody::from_json(&body, "dsse", "0.0.2").map_err(|e| format!("its body does not parse: {e}"))?
    else {
        return Err("its body is not a dsse 0.0.2 body".into());
    };
    let logged = logged.spec.dsse_v002;
    let SignatureContent::DsseEnvelope(envelope) = &bundle.content else {
        return Err("the bundle holds no DSSE envelope".into());
    };
    if logged.payload_hash.algorithm != HashAlgorithm::Sha2256
        || logged.payload_hash.digest.as_bytes() != Sha256Digest::of(envelope.payload.as_bytes()).0
    {
        return Err("the logged payload hash is not the SHA-256 of the envelope's payload".into());
    }
    let [signature] = logged.signatures.as_slice() else {
        return Err(format!("it logs {} signatures; the envelope holds one", logged.signatures.len()));
    };
    if signature.content.as_bytes() != envelope.signature.sig.as_bytes() {
        return Err("the logged signature is not the envelope's".into());
    }
    let logged_certificate = signature.verifier.x509_certificate.as_ref().map(|c| c.raw_bytes.as_bytes());
    if logged_certificate.is_none() || logged_certificate != bundle.signing_certificate().map(DerCertificate::as_bytes)
    {
        return Err("the logged signature's certificate is not the bundle's".into());
    }

    let index: u64 = text("/logIndex")?.parse().map_err(|e| format!("logIndex: {e}"))?;
    let checkpoint = Checkpoint::from_text(text("/inclusionProof/checkpoint/envelope")?)
        .map_err(|e| format!("its checkpoint does not parse: {e}"))?;
    let hashes =
        entry.pointer("/inclusionProof/hashes").and_then(Value::as_array).ok_or("no inclusion proof hashes")?;
    let proof = hashes
        .iter()
        .map(|h| {
            let bytes = h.as_str().and_then(|h| B64.decode(h).ok()).unwrap_or_default();
            <[u8; 32]>::try_from(bytes.as_slice())
                .map(Sha256Digest)
                .map_err(|_| "an inclusion proof hash is not 32 bytes")
        })
        .collect::<Result<Vec<_>, _>>()?;
    let root = Sha256Digest(*checkpoint.root_hash().as_bytes());
    merkle::verify_inclusion(index, checkpoint.tree_size(), &merkle::leaf_hash(&body), &proof, &root)
        .map_err(|e| format!("its inclusion proof does not reach the checkpoint's root: {e}"))?;
    // Four-byte key hints can collide: every matching key is tried.
    let signed = checkpoint.signatures().iter().any(|s| {
        logs.keys_by_hint(&s.key_id, signed_at).any(|key| key.verify(checkpoint.signed_data(), &s.signature).is_ok())
    });
    if signed {
        Ok(())
    } else {
        Err(format!("its checkpoint ({}) is not signed by a log key of the trusted root", checkpoint.origin()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyless::{check, KeylessCheck, SigstoreTrust, Subject};
    use cairn_evidence::digest::sha256_hex;
    use cairn_evidence::keyring::KeylessIdentity;

    const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/sigstore/conformance");

    /// Any workflow of GitHub Actions: the conformance bundles' signer is one.
    fn anyone() -> KeylessIdentity {
        KeylessIdentity {
            attestations: vec!["*".into()],
            san: "*".into(),
            issuer: "https://token.actions.githubusercontent.com".into(),
        }
    }

    fn case(name: &str) -> Value {
        serde_json::from_slice(&std::fs::read(format!("{CASES}/{name}/bundle.sigstore.json")).unwrap()).unwrap()
    }

    /// Checks a bundle of the Rekor v2 cases (signed against staging) for `a.txt`.
    fn rekor_v2(bundle: &Value) -> KeylessCheck {
        let staging = std::fs::read_to_string(format!("{CASES}/../trusted_root.staging.json")).unwrap();
        let trust = SigstoreTrust::from_json(&staging, "the staging root").unwrap();
        let digest = sha256_hex(&std::fs::read(format!("{CASES}/a.txt")).unwrap());
        let anyone = anyone();
        let subject = Subject { alg: "sha256", hex: &digest };
        check(bundle.to_string().as_bytes(), &subject, &[&anyone], "conformance", &trust)
    }

    fn fails_with(got: &KeylessCheck, words: &str) {
        assert!(
            matches!(got, KeylessCheck::Failed(FindingKind::TlogInclusion, why) if why.contains(words)),
            "expected tlog_inclusion with {words:?}, got {got:?}"
        );
    }

    /// The Rekor v2 entry is checked here, not by the verifier: each part of it that can be wrong
    /// while the rest of the bundle is right is found, by name.
    #[test]
    fn a_rekor_v2_dsse_entry_is_this_envelopes_and_is_in_the_log() {
        let happy = case("rekor2-dsse-happy-path");
        assert!(matches!(rekor_v2(&happy), KeylessCheck::Verified { .. }), "{:?}", rekor_v2(&happy));
        let entry = "/verificationMaterial/tlogEntries/0";

        // A hash of the audit path changed.
        let mut b = happy.clone();
        *b.pointer_mut(&format!("{entry}/inclusionProof/hashes/3")).unwrap() = json!(B64.encode([7u8; 32]));
        fails_with(&rekor_v2(&b), "its inclusion proof does not reach the checkpoint's root");

        // Another leaf index.
        let mut b = happy.clone();
        *b.pointer_mut(&format!("{entry}/logIndex")).unwrap() = json!("7130");
        fails_with(&rekor_v2(&b), "its inclusion proof does not reach the checkpoint's root");

        // One byte of the checkpoint's signature (after its four-byte key hint).
        let mut b = happy.clone();
        let note = b.pointer(&format!("{entry}/inclusionProof/checkpoint/envelope")).unwrap().as_str().unwrap();
        let (head, line) = note.trim_end().rsplit_once('\n').unwrap();
        let (name, signature) = line.rsplit_once(' ').unwrap();
        let mut signature = B64.decode(signature).unwrap();
        signature[10] ^= 1;
        let forged = format!("{head}\n{name} {}\n", B64.encode(signature));
        *b.pointer_mut(&format!("{entry}/inclusionProof/checkpoint/envelope")).unwrap() = json!(forged);
        fails_with(&rekor_v2(&b), "is not signed by a log key of the trusted root");

        // The logged signature names another certificate.
        let mut b = happy.clone();
        let other = case("dsse-with-hashedrekord-happy-path");
        let body = B64.decode(b.pointer(&format!("{entry}/canonicalizedBody")).unwrap().as_str().unwrap()).unwrap();
        let mut body: Value = serde_json::from_slice(&body).unwrap();
        body["spec"]["dsseV002"]["signatures"][0]["verifier"]["x509Certificate"]["rawBytes"] =
            other["verificationMaterial"]["certificate"]["rawBytes"].clone();
        let body = body.to_string();
        assert_ne!(B64.encode(&body), b.pointer(&format!("{entry}/canonicalizedBody")).unwrap().as_str().unwrap());
        *b.pointer_mut(&format!("{entry}/canonicalizedBody")).unwrap() = json!(B64.encode(body));
        fails_with(&rekor_v2(&b), "the logged signature's certificate is not the bundle's");

        // A Rekor v2 DSSE entry beside one of another kind is not read as either.
        let mut b = happy.clone();
        let v1 = case("dsse-with-hashedrekord-happy-path")["verificationMaterial"]["tlogEntries"][0].clone();
        b["verificationMaterial"]["tlogEntries"].as_array_mut().unwrap().push(v1);
        let got = rekor_v2(&b);
        assert!(
            matches!(&got, KeylessCheck::Failed(FindingKind::AttestationSignature, why) if why.contains("dsse/0.0.2")),
            "{got:?}"
        );
    }

    /// A DSSE envelope logged as `hashedrekord` must still name the subject: the restated bundle
    /// proves the signature, the statement the subject.
    #[test]
    fn a_dsse_envelope_logged_as_hashedrekord_must_name_the_subject() {
        let bundle = case("dsse-with-hashedrekord-happy-path");
        let artifact = std::fs::read(format!("{CASES}/dsse-with-hashedrekord-happy-path/artifact")).unwrap();
        let anyone = anyone();
        let run = |hex: &str| {
            let subject = Subject { alg: "sha256", hex };
            check(bundle.to_string().as_bytes(), &subject, &[&anyone], "conformance", &SigstoreTrust::production())
        };
        let got = run(&sha256_hex(&artifact));
        assert!(matches!(got, KeylessCheck::Verified { .. }), "{got:?}");
        let got = run(&"ab".repeat(32));
        assert!(
            matches!(&got, KeylessCheck::Failed(FindingKind::AttestationSignature, why) if why.contains("does not match any subject")),
            "{got:?}"
        );
    }
}
