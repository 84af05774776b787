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
//! Two kinds of valid bundle the verifier (`sigstore-verify` 0.15) cannot verify yet are named in
//! [`NOT_YET`] with the reason it gives: they must fail with exactly that reason (never pass
//! unverified), and the day they verify, this test says to move them back.

use std::path::{Path, PathBuf};

use cairn_evidence::digest::sha256_hex;
use cairn_evidence::keyring::KeylessIdentity;
use cairn_verifier::keyless::{check, KeylessCheck, SigstoreTrust, Subject};

/// The identity the conformance suite's bundles were signed by, and its issuer.
const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Valid bundles the verifier refuses, and the words of its refusal.
const NOT_YET: [(&str, &str); 2] = [
    // A DSSE envelope logged as a `hashedrekord` entry rather than a `dsse` or `intoto` one.
    ("dsse-with-hashedrekord-happy-path", "Rekor entry hashedrekord/0.0.1 is incompatible with a DSSE envelope"),
    // Rekor v2's `dsse` entry, version 0.0.2.
    ("rekor2-dsse-happy-path", "unsupported Rekor entry format: dsse/0.0.2"),
];

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

#[test]
fn every_keyless_case_passes_and_every_fail_case_fails() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("bundle.sigstore.json").exists())
        .collect();
    dirs.sort();
    let (mut passed, mut failed, mut skipped) = (0, 0, Vec::new());
    let mut wrong = Vec::new();
    // `_fail` cases that fail only because the verifier cannot read them yet: not evidence that the
    // planted fault is caught.
    let mut unexercised = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let Some(outcome) = run(dir) else {
            skipped.push(name);
            continue;
        };
        if let Some((_, reason)) = NOT_YET.iter().find(|(n, _)| *n == name) {
            match &outcome {
                KeylessCheck::Failed(_, why) if why.contains(reason) => skipped.push(name),
                _ => wrong.push(format!("{name} is listed as not verifiable yet, but: {outcome:?}")),
            }
            continue;
        }
        let must_fail = name.ends_with("_fail");
        match (&outcome, must_fail) {
            (KeylessCheck::Verified { .. }, false) => passed += 1,
            (KeylessCheck::Failed(_, why), true) if NOT_YET.iter().any(|(_, r)| why.contains(r)) => {
                unexercised.push(name);
            }
            (KeylessCheck::Failed(..), true) => failed += 1,
            _ => wrong.push(format!("{name}: {outcome:?}")),
        }
    }
    assert!(wrong.is_empty(), "cases with the wrong outcome:\n{}", wrong.join("\n"));
    // Of the cases copied (CASES.md): every keyless `_fail` case the verifier reads fails, the
    // managed-key cases are not keyless, and the Rekor v2 DSSE ones wait for the verifier.
    assert_eq!(
        unexercised,
        [
            "dsse-with-hashedrekord-mismatch-envelope_fail",
            "dsse-with-hashedrekord-mismatch-sig_fail",
            "rekor2-dsse-invalid-sig_fail",
            "rekor2-dsse-mismatch-envelope_fail",
            "rekor2-dsse-mismatch-sig_fail"
        ]
    );
    assert_eq!((passed, failed, skipped.len()), (0, 3, 6), "skipped {skipped:?}");
}
