//! Keyless Sigstore signatures, verified offline: the Fulcio certificate chains to a trusted root
//! and was valid when the signature was made (the transparency log's integrated time or an RFC
//! 3161 timestamp, each verified), its SCT verifies, the log entry's inclusion proof or signed
//! promise verifies against the root's log keys and matches the signature, the signature verifies
//! over the artefact (a DSSE envelope's subjects, or a message signature's digest), and the
//! certificate's identity (subject alternative name and OIDC issuer) is one the keyring trusts
//! for the bundle's source (`[[keyless]]`).
//!
//! `sigstore-verify` does the verifying. Two shapes of valid bundle it does not read, DSSE
//! envelopes logged as `hashedrekord` 0.0.1 and DSSE envelopes logged in Rekor v2 as `dsse`
//! 0.0.2, are verified by it over a restated bundle and here for the rest (`shapes`).
//!
//! The trusted roots are `trusted_root.json` files (Sigstore's format): the public-good
//! instance's, vendored in `verifier/sigstore/` with its source, and those `[trust]
//! sigstore_trusted_roots` adds (a private instance's, staging's). A bundle verifies when it
//! verifies against one of them. Nothing is fetched.

use cairn_evidence::keyring::KeylessIdentity;
use sigstore_verify::crypto::Keyring;
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::{ArtifactDigest, HashAlgorithm};
use sigstore_verify::Verifier;

use crate::FindingKind;

mod shapes;

/// The public-good Sigstore instance's trusted root, as vendored.
pub const PRODUCTION_TRUSTED_ROOT: &str = include_str!("../sigstore/trusted_root.json");

/// The trusted roots, prepared for verifying.
pub struct SigstoreTrust {
    roots: Vec<Root>,
}

/// One trusted root, prepared.
struct Root {
    verifier: Verifier,
    /// Its transparency logs' keys, for the log entries checked beside the verifier.
    logs: Keyring,
    /// Where the root came from, for messages.
    origin: String,
}

impl std::fmt::Debug for SigstoreTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origins: Vec<&str> = self.roots.iter().map(|r| r.origin.as_str()).collect();
        f.debug_struct("SigstoreTrust").field("roots", &origins).finish_non_exhaustive()
    }
}

impl SigstoreTrust {
    /// The vendored public-good root.
    pub fn production() -> Self {
        Self::from_json(PRODUCTION_TRUSTED_ROOT, "the built-in public-good Sigstore root")
            .expect("the vendored trusted root parses")
    }

    /// A root from its JSON; `origin` names it in messages.
    pub fn from_json(json: &str, origin: &str) -> Result<Self, String> {
        Self { roots: Vec::new() }.with(json, origin)
    }

    /// These roots and one more, from its JSON.
    pub fn with(mut self, json: &str, origin: &str) -> Result<Self, String> {
        let root = TrustedRoot::from_json(json).map_err(|e| format!("{origin}: not a Sigstore trusted root: {e}"))?;
        let unusable = |e: &dyn std::fmt::Display| format!("{origin}: cannot be used to verify: {e}");
        let verifier = Verifier::new(&root).map_err(|e| unusable(&e))?;
        let logs = root.rekor_keys().map_err(|e| unusable(&e))?;
        self.roots.push(Root { verifier, logs, origin: origin.to_string() });
        Ok(self)
    }
}

/// What a keyless check found: the kind of finding and why, or the identity it verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeylessCheck {
    /// Everything verified, by an identity trusted for the source.
    Verified {
        /// The certificate's subject alternative name.
        san: String,
        /// Its OIDC issuer.
        issuer: String,
    },
    /// A check failed.
    Failed(FindingKind, String),
}

/// The artefact a bundle signs, as the collected row names it: the subject digest of a DSSE
/// statement, or the message digest of a message signature.
pub struct Subject<'a> {
    /// `sha256`, `sha384` or `sha512`.
    pub alg: &'a str,
    /// Lowercase hex.
    pub hex: &'a str,
}

/// Verifies one keyless bundle (its JSON record) for `subject`, trusting `identities`.
pub fn check(
    record: &[u8],
    subject: &Subject<'_>,
    identities: &[&KeylessIdentity],
    source: &str,
    trust: &SigstoreTrust,
) -> KeylessCheck {
    let signature = |why: String| KeylessCheck::Failed(FindingKind::AttestationSignature, why);
    let Ok(text) = std::str::from_utf8(record) else { return signature("the bundle is not UTF-8".into()) };
    let bundle = match shapes::Shape::read(text) {
        Ok(b) => b,
        Err(why) => return signature(why),
    };
    let alg = match subject.alg {
        "sha256" => HashAlgorithm::Sha2256,
        "sha384" => HashAlgorithm::Sha2384,
        "sha512" => HashAlgorithm::Sha2512,
        other => return signature(format!("the subject's digest algorithm {other} cannot be verified")),
    };
    let digest = match hex::decode(subject.hex)
        .map_err(|e| e.to_string())
        .and_then(|d| ArtifactDigest::new(alg, d).map_err(|e| e.to_string()))
    {
        Ok(d) => d,
        Err(e) => return signature(format!("the subject's digest {}:{} is not usable: {e}", subject.alg, subject.hex)),
    };
    // Cryptography first, with any identity, against each root until one verifies; the
    // identity is matched against the keyring after.
    let mut failures = Vec::new();
    let mut verified = None;
    for root in &trust.roots {
        match bundle.verify(&root.verifier, &root.logs, &digest) {
            Ok(r) => {
                verified = Some(r);
                break;
            }
            Err(failure) => failures.push((failure, &root.origin)),
        }
    }
    let Some(result) = verified else {
        // Named by the first root's failure; each root's reason is given.
        let kind = failures.first().map_or(FindingKind::AttestationSignature, |((kind, _), _)| *kind);
        let why: Vec<String> = failures.iter().map(|((_, why), origin)| format!("against {origin}: {why}")).collect();
        return KeylessCheck::Failed(kind, format!("keyless verification failed {}", why.join("; ")));
    };
    let san = result.identity().map(|s| s.as_str().to_string()).unwrap_or_default();
    let issuer = result.issuer().unwrap_or_default().to_string();
    if identities.iter().any(|k| k.permits(source, &san, &issuer)) {
        KeylessCheck::Verified { san, issuer }
    } else if identities.is_empty() {
        KeylessCheck::Failed(
            FindingKind::SignerIdentity,
            format!(
                "signed by {san} (issuer {issuer}), but no [[keyless]] identity in the keyring is trusted for source {source:?}"
            ),
        )
    } else {
        let trusted: Vec<String> = identities.iter().map(|k| format!("{} from {}", k.san, k.issuer)).collect();
        KeylessCheck::Failed(
            FindingKind::SignerIdentity,
            format!("signed by {san} (issuer {issuer}), which is not a trusted identity ({})", trusted.join("; ")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine as _;
    use serde_json::Value;

    const GH: &str = include_str!("../../fixtures/attest/gh-artifact-attestation-slsa-v1.dsse-rekor.sigstore.json");
    const PY: &str = include_str!("../../fixtures/attest/sigstore-python-bundle-v03-message-signature.sigstore.json");
    const WHEEL: &str = "49a3aa6075e0f49f82843e74b5baa614ad2a588e6675612bf108a0a008c5ac25";
    const WORKFLOW: &str = "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d";
    const ACTIONS: &str = "https://token.actions.githubusercontent.com";

    fn identity(san: &str, issuer: &str) -> KeylessIdentity {
        KeylessIdentity { attestations: vec!["bundles".into()], san: san.into(), issuer: issuer.into() }
    }

    fn run(bundle: &str, identities: &[KeylessIdentity]) -> KeylessCheck {
        let trusted: Vec<&KeylessIdentity> = identities.iter().collect();
        let subject = Subject { alg: "sha256", hex: WHEEL };
        check(bundle.as_bytes(), &subject, &trusted, "bundles", &SigstoreTrust::production())
    }

    fn kind(c: &KeylessCheck) -> Option<FindingKind> {
        match c {
            KeylessCheck::Verified { .. } => None,
            KeylessCheck::Failed(k, _) => Some(*k),
        }
    }

    #[test]
    fn a_real_github_attestation_verifies_keyless_for_its_trusted_identity() {
        let trusted = [identity("https://github.com/github/artifact-attestations-workflows/*", ACTIONS)];
        assert_eq!(run(GH, &trusted), KeylessCheck::Verified { san: WORKFLOW.into(), issuer: ACTIONS.into() });
        // Another identity, another issuer, or none configured: signer_identity.
        assert_eq!(
            kind(&run(GH, &[identity("https://github.com/acme/*", ACTIONS)])),
            Some(FindingKind::SignerIdentity)
        );
        assert_eq!(kind(&run(GH, &[identity("*", "https://accounts.google.com")])), Some(FindingKind::SignerIdentity));
        let none = run(GH, &[]);
        assert!(
            matches!(&none, KeylessCheck::Failed(FindingKind::SignerIdentity, why) if why.contains("no [[keyless]] identity")),
            "{none:?}"
        );
    }

    #[test]
    fn a_changed_byte_a_swapped_log_entry_and_another_subject_each_fail() {
        let trusted = [identity("*", ACTIONS)];
        // One byte of the signed statement changed.
        let mut b: Value = serde_json::from_str(GH).unwrap();
        let payload = B64.decode(b["dsseEnvelope"]["payload"].as_str().unwrap()).unwrap();
        let mut changed = payload.clone();
        let at = changed.len() - 10;
        changed[at] ^= 0x01;
        b["dsseEnvelope"]["payload"] = Value::String(B64.encode(&changed));
        let got = run(&b.to_string(), &trusted);
        assert_eq!(kind(&got), Some(FindingKind::AttestationSignature), "{got:?}");
        // The log entry of another bundle in place of this one's.
        let mut b: Value = serde_json::from_str(GH).unwrap();
        let other: Value = serde_json::from_str(PY).unwrap();
        b["verificationMaterial"]["tlogEntries"] = other["verificationMaterial"]["tlogEntries"].clone();
        let got = run(&b.to_string(), &trusted);
        assert_eq!(kind(&got), Some(FindingKind::TlogInclusion), "{got:?}");
        // A subject the statement does not name.
        let trusted_ids: Vec<&KeylessIdentity> = trusted.iter().collect();
        let other_subject = Subject { alg: "sha256", hex: &"ab".repeat(32) };
        let got = check(GH.as_bytes(), &other_subject, &trusted_ids, "bundles", &SigstoreTrust::production());
        assert_eq!(kind(&got), Some(FindingKind::AttestationSignature), "{got:?}");
    }

    #[test]
    fn a_root_that_is_not_one_is_refused_by_name() {
        let err = SigstoreTrust::from_json("{}", "keys/root.json").unwrap_err();
        assert!(err.starts_with("keys/root.json: "), "{err}");
    }

    const NPM: &str = include_str!("../../fixtures/sigstore/npm-sigstore-2.2.0.provenance.sigstore.json");
    const NPM_SHA512: &str = "7dc53d7251f012cb36fccff5d4514cf09c1ce0f8c181b857a0db24a0ae60ba82b4a8640149e51b419449f81d9f0c522f8727f482a09a3eb7a5f66b336e1031ba";
    const SIGSTORE_JS: &str = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main";

    fn npm(bundle: &str, identities: &[KeylessIdentity]) -> KeylessCheck {
        let trusted: Vec<&KeylessIdentity> = identities.iter().collect();
        let subject = Subject { alg: "sha512", hex: NPM_SHA512 };
        check(bundle.as_bytes(), &subject, &trusted, "bundles", &SigstoreTrust::production())
    }

    /// The real npm provenance of sigstore@2.2.0 (its subject is the tarball's `dist.integrity`):
    /// it verifies for the release workflow; a changed byte, a swapped log entry and another
    /// identity each fail with their own finding.
    #[test]
    fn the_real_npm_provenance_verifies_and_each_tampering_has_its_own_finding() {
        let trusted = [identity(SIGSTORE_JS, ACTIONS)];
        assert_eq!(npm(NPM, &trusted), KeylessCheck::Verified { san: SIGSTORE_JS.into(), issuer: ACTIONS.into() });

        let mut changed: Value = serde_json::from_str(NPM).unwrap();
        let mut payload = B64.decode(changed["dsseEnvelope"]["payload"].as_str().unwrap()).unwrap();
        let at = payload.len() / 2;
        payload[at] ^= 0x01;
        changed["dsseEnvelope"]["payload"] = Value::String(B64.encode(&payload));
        assert_eq!(kind(&npm(&changed.to_string(), &trusted)), Some(FindingKind::AttestationSignature));

        // The log entry's body swapped for another entry's (GitHub's attestation's), its time kept.
        let mut swapped: Value = serde_json::from_str(NPM).unwrap();
        let gh: Value = serde_json::from_str(GH).unwrap();
        swapped["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"] =
            gh["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"].clone();
        let got = npm(&swapped.to_string(), &trusted);
        assert_eq!(kind(&got), Some(FindingKind::TlogInclusion), "{got:?}");

        let other = [identity("https://github.com/sigstore/sigstore-js/.github/workflows/other.yml@*", ACTIONS)];
        assert_eq!(kind(&npm(NPM, &other)), Some(FindingKind::SignerIdentity));
    }
}
