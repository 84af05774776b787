//! Real transparency-log material Cairn did not write: the sum.golang.org tlog-proof verifies
//! against its published key, and a Rekor v2 checkpoint with witness cosignatures parses.

use std::path::PathBuf;

use cairn_evidence::merkle::{leaf_hash, verify_inclusion};
use cairn_evidence::note::{verify_note, Checkpoint, NoteVerifier, TlogProof};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tlog").join(name)).unwrap()
}

/// sum.golang.org's published verifier key (golang.org/x/mod/sumdb).
const SUMDB_KEY: &str = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";

#[test]
fn sumdb_tlog_proof_verifies_against_its_published_key() {
    let proof = TlogProof::parse(&fixture("sumdb-go.sum-database-tree-43930254.tlog-proof")).unwrap();
    let sumdb = NoteVerifier::parse(SUMDB_KEY).unwrap();
    let (text, names) = verify_note(&proof.checkpoint, std::slice::from_ref(&sumdb)).unwrap();
    assert_eq!(names, ["sum.golang.org"]);
    let cp = Checkpoint::parse(text).unwrap();
    assert_eq!((cp.origin.as_str(), cp.size), ("go.sum database tree", 58_253_265));
    let leaf = fixture("sumdb-go.sum-database-tree-43930254.leaf.txt");
    assert_eq!(proof.index, 43_930_254);
    verify_inclusion(proof.index, cp.size, &leaf_hash(leaf.as_bytes()), &proof.proof, &cp.root).unwrap();

    // Any change is caught: another record, another index, a changed proof hash, a forged size.
    assert!(
        verify_inclusion(proof.index, cp.size, &leaf_hash(b"github.com/x v1.0.0 h1:"), &proof.proof, &cp.root).is_err()
    );
    assert!(verify_inclusion(proof.index + 1, cp.size, &leaf_hash(leaf.as_bytes()), &proof.proof, &cp.root).is_err());
    let mut bad = proof.proof.clone();
    bad[3].0[0] ^= 1;
    assert!(verify_inclusion(proof.index, cp.size, &leaf_hash(leaf.as_bytes()), &bad, &cp.root).is_err());
    let forged = proof.checkpoint.replace("58253265", "58253266");
    assert!(verify_note(&forged, &[sumdb]).is_err());
}

#[test]
fn rekor_v2_checkpoint_with_witness_cosignatures_parses_and_unknown_keys_are_ignored() {
    let note = fixture("rekor-v2-staging-checkpoint-with-witness-cosignatures.txt");
    // None of these keys is trusted here: the note must be refused, not misread.
    let sumdb = NoteVerifier::parse(SUMDB_KEY).unwrap();
    assert!(verify_note(&note, &[sumdb]).is_err());
    let text = &note[..=note.rfind("\n\n").unwrap()];
    let cp = Checkpoint::parse(text).unwrap();
    assert_eq!((cp.origin.as_str(), cp.size), ("log2025-alpha3.rekor.sigstage.dev", 4_026_479));
}
