//! RFC 6962 Merkle tree hash over the objects the lake has committed.
//!
//! Leaf hash = SHA-256(0x00 ‖ leaf bytes), node hash = SHA-256(0x01 ‖ left ‖ right): the prefixes
//! keep a leaf from ever being confused with an interior node.

use sha2::{Digest as _, Sha256};

use crate::digest::Sha256Digest;

/// SHA-256(0x00 ‖ leaf).
pub fn leaf_hash(leaf: &[u8]) -> Sha256Digest {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    Sha256Digest(h.finalize().into())
}

/// SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Sha256Digest, right: &Sha256Digest) -> Sha256Digest {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left.0);
    h.update(right.0);
    Sha256Digest(h.finalize().into())
}

/// The Merkle tree hash of leaves given by their leaf hashes. The empty tree hashes to SHA-256("").
pub fn root(leaves: &[Sha256Digest]) -> Sha256Digest {
    match leaves.len() {
        0 => Sha256Digest::of(b""),
        1 => leaves[0],
        n => {
            // k is the largest power of two smaller than n (RFC 6962 section 2.1).
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6962_reference_roots() {
        // The eight leaves used by the RFC 6962 reference test vectors.
        let inputs: [&[u8]; 8] = [
            b"",
            &[0x00],
            &[0x10],
            &[0x20, 0x21],
            &[0x30, 0x31],
            &[0x40, 0x41, 0x42, 0x43],
            &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            &[0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f],
        ];
        let leaves: Vec<_> = inputs.iter().map(|l| leaf_hash(l)).collect();
        assert_eq!(root(&leaves[..1]).to_hex(), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
        assert_eq!(root(&leaves[..3]).to_hex(), "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77");
        assert_eq!(root(&leaves).to_hex(), "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
        assert_eq!(root(&[]).to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
