//! The sigstore-conformance `bundle-verify` cases, table-driven: every keyless case verifies, and
//! every case whose name ends in `_fail` fails (`fixtures/sigstore/conformance/CASES.md` says
//! where each came from and what the conformance runner passes for it).
//!
//! A case verifies its `artifact` (else the shared `a.txt`) by its SHA-256, against its own
//! `trusted_root.json` (else the public-good root Cairn vendors), for the identity and issuer the
//! conformance runner requires. Cases signed with a managed key (a `publicKey` in the bundle, or
//! a `key.pub`) are not keyless: Cairn verifies key-signed bundles with the keys of its keyring,
//! and those cases are listed, not run.
//!
//! That includes the two shapes `sigstore-verify` 0.15 does not read, which Cairn verifies beside
//! it (`verifier/src/keyless/shapes.rs`): a DSSE envelope logged as `hashedrekord` 0.0.1, and one
//! logged in Rekor v2 as `dsse` 0.0.2. Their `_fail` cases fail on the fault they plant.

use std::path::{Path, PathBuf};

use cairn_evidence::digest::sha256_hex;
use cairn_evidence::keyring::KeylessIdentity;
use cairn_verifier::keyless::{check, KeylessCheck, SigstoreTrust, Subject};

/// The identity the conformance suite's bundles were signed by, and its issuer.
const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn cases() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sigstore/conformance")
}

/// What one case did: `None` when it is not a keyless case.
fn run(dir: &Path) -> Option<KeylessCheck> {
    let bundle = std::fs::read(dir.join("bundle.sigstore.json")).unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
    if dir.join("key.pub").exists() || parsed["verificationMaterial"].get("publicKey").is_some() {
        return None;
    }
    let artifact = if dir.join("artifact").exists() { dir.join("artifact") } else { cases().join("a.txt") };
    let digest = sha256_hex(&std::fs::read(artifact).unwrap());
    // The case's own root; the Rekor v2 cases ship the staging root upstream, which the copy
    // lacks (CASES.md), so they get the staging root kept beside them; the others the public-good
    // root Cairn vendors.
    let name = dir.file_name().unwrap().to_string_lossy();
    let trust = match std::fs::read_to_string(dir.join("trusted_root.json")) {
        Ok(json) => SigstoreTrust::from_json(&json, "the case's trusted root").unwrap(),
        Err(_) if name.starts_with("rekor2-") => {
            let staging = std::fs::read_to_string(cases().join("../trusted_root.staging.json")).unwrap();
            SigstoreTrust::from_json(&staging, "the staging root").unwrap()
        }
        Err(_) => SigstoreTrust::production(),
    };
    let identity =
        KeylessIdentity { attestations: vec!["conformance".into()], san: IDENTITY.into(), issuer: ISSUER.into() };
    let subject = Subject { alg: "sha256", hex: &digest };
    Some(check(&bundle, &subject, &[&identity], "conformance", &trust))
}

/// Each keyless `_fail` case, and words of the reason it must fail with.
const FAULTS: [(&str, &str); 8] = [
    // Cosign's legacy bundle (`rekorBundle`), a format Cairn does not read: refused as it stands.
    // A swapped log entry in a Sigstore bundle is `tlog_inclusion` (`keyless.rs`'s unit tests).
    ("cve-2022-36056-swapped-tlog-entry_fail", "does not parse as a Sigstore bundle"),
    ("dsse-with-hashedrekord-invalid-sig_fail", "ECDSA_P256_SHA256 signature invalid"),
    ("dsse-with-hashedrekord-mismatch-envelope_fail", "artifact hash mismatch for hashedrekord entry"),
    ("dsse-with-hashedrekord-mismatch-sig_fail", "signature in bundle does not match signature in Rekor entry"),
    // The signature and its timestamp come from a bundle signed later, after this certificate
    // expired; the certificate's validity at each signing time is checked before the signature.
    ("rekor2-dsse-invalid-sig_fail", "CertExpired"),
    ("rekor2-dsse-mismatch-envelope_fail", "the logged payload hash is not the SHA-256 of the envelope's payload"),
    ("rekor2-dsse-mismatch-sig_fail", "the logged signature is not the envelope's"),
    ("rekor2-multiple-timestamps-one-outside-cert-validity_fail", "CertExpired"),
];

#[test]
fn every_keyless_case_passes_and_every_fail_case_fails() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("bundle.sigstore.json").exists())
        .collect();
    dirs.sort();
    let (mut passed, mut failed, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    let mut wrong = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let Some(outcome) = run(dir) else {
            skipped.push(name);
            continue;
        };
        let fault = FAULTS.iter().find(|(n, _)| *n == name).map(|(_, why)| *why);
        match (&outcome, fault) {
            (KeylessCheck::Verified { .. }, None) if !name.ends_with("_fail") => passed.push(name),
            (KeylessCheck::Failed(_, why), Some(fault)) if why.contains(fault) => failed.push(name),
            _ => wrong.push(format!("{name}: {outcome:?}")),
        }
    }
    assert!(wrong.is_empty(), "cases with the wrong outcome:\n{}", wrong.join("\n"));
    // Of the cases copied (CASES.md), every keyless one is exercised; the managed-key cases are not
    // keyless.
    assert_eq!(passed, ["dsse-with-hashedrekord-happy-path", "rekor2-dsse-happy-path"]);
    assert_eq!(failed.len(), FAULTS.len(), "{failed:?}");
    assert_eq!(skipped.len(), 4, "skipped {skipped:?}");
}
