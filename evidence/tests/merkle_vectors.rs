//! RFC 6962 proofs against the transparency-dev/merkle vectors in `fixtures/tlog`, and every
//! proof Cairn generates for small trees, verified and tampered with.

use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cairn_evidence::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, root, verify_consistency, verify_inclusion,
};
use cairn_evidence::Sha256Digest;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tlog").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Decodes a base64 hash; a value that is not 32 bytes becomes a digest that matches nothing.
fn digest(v: &Value) -> Sha256Digest {
    let bytes = B64.decode(v.as_str().unwrap()).unwrap();
    bytes.as_slice().try_into().map_or_else(|_| Sha256Digest::of(&bytes), Sha256Digest)
}

fn proof(v: &Value) -> Vec<Sha256Digest> {
    v.as_array().unwrap().iter().map(digest).collect()
}

#[test]
fn inclusion_vectors() {
    for name in [
        "merkle-inclusion_1_happy-path.json",
        "merkle-inclusion_4_happy-path.json",
        "merkle-inclusion_1_wrong-leaf.json",
        "merkle-inclusion_1_modified-proof1-bit3.json",
    ] {
        let v = fixture(name);
        let got = verify_inclusion(
            v["leafIdx"].as_u64().unwrap(),
            v["treeSize"].as_u64().unwrap(),
            &digest(&v["leafHash"]),
            &proof(&v["proof"]),
            &digest(&v["root"]),
        );
        assert_eq!(got.is_err(), v["wantErr"].as_bool().unwrap(), "{name}: {got:?}");
    }
}

#[test]
fn consistency_vectors() {
    for name in [
        "merkle-consistency_1_happy-path.json",
        "merkle-consistency_4_happy-path.json",
        "merkle-consistency_4_swapped-roots.json",
    ] {
        let v = fixture(name);
        let got = verify_consistency(
            v["size1"].as_u64().unwrap(),
            v["size2"].as_u64().unwrap(),
            &digest(&v["root1"]),
            &digest(&v["root2"]),
            &proof(&v["proof"]),
        );
        assert_eq!(got.is_err(), v["wantErr"].as_bool().unwrap(), "{name}: {got:?}");
    }
}

#[test]
fn generated_proofs_verify_and_tampered_ones_do_not() {
    let leaves: Vec<Sha256Digest> = (0u8..33).map(|i| leaf_hash(&[i, i.wrapping_mul(7)])).collect();
    for n in 1..=leaves.len() {
        let tree = &leaves[..n];
        let r = root(tree);
        let every: Vec<_> = (0..n).map(|i| inclusion_proof(tree, i).unwrap()).collect();
        assert_eq!(cairn_evidence::merkle::inclusion_proofs(tree), every, "n={n}");
        for i in 0..n {
            let p = inclusion_proof(tree, i).unwrap();
            verify_inclusion(i as u64, n as u64, &tree[i], &p, &r).unwrap();
            assert!(verify_inclusion(i as u64, n as u64, &leaf_hash(b"other"), &p, &r).is_err());
            if let Some(first) = p.first() {
                let mut bad = p.clone();
                bad[0] = Sha256Digest::of(first.as_bytes());
                assert!(verify_inclusion(i as u64, n as u64, &tree[i], &bad, &r).is_err());
            }
        }
        assert!(inclusion_proof(tree, n).is_none());
        for m in 1..=n {
            let old = root(&leaves[..m]);
            let p = consistency_proof(tree, m).unwrap();
            verify_consistency(m as u64, n as u64, &old, &r, &p).unwrap();
            if m < n {
                assert!(verify_consistency(m as u64, n as u64, &leaf_hash(b"x"), &r, &p).is_err(), "m={m} n={n}");
                assert!(verify_consistency(m as u64, n as u64, &old, &r, &p[1..]).is_err());
            }
        }
    }
}
