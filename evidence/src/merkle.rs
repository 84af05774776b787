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

/// Why a Merkle proof does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The index is not inside the tree.
    #[error("leaf index {index} is not inside a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The sizes of a consistency proof are not in order.
    #[error("tree size {old} is larger than tree size {new}")]
    SizesOutOfOrder {
        /// The old size.
        old: u64,
        /// The new size.
        new: u64,
    },
    /// The proof has the wrong number of hashes for these sizes.
    #[error("the proof has the wrong number of hashes ({0})")]
    WrongLength(usize),
    /// The proof leads to another root.
    #[error("the proof leads to root {computed}, not {expected}")]
    RootMismatch {
        /// The root the proof computes.
        computed: String,
        /// The root it should reach.
        expected: String,
    },
}

/// The largest power of two smaller than `n` (`n >= 2`).
fn split(n: usize) -> usize {
    1usize << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The audit path of leaf `index` in the tree of `leaves` (RFC 6962 section 2.1.1), leaf
/// sibling first. `None` when `index` is outside the tree.
pub fn inclusion_proof(leaves: &[Sha256Digest], index: usize) -> Option<Vec<Sha256Digest>> {
    fn path(leaves: &[Sha256Digest], index: usize, out: &mut Vec<Sha256Digest>) {
        if leaves.len() <= 1 {
            return;
        }
        let k = split(leaves.len());
        if index < k {
            path(&leaves[..k], index, out);
            out.push(root(&leaves[k..]));
        } else {
            path(&leaves[k..], index - k, out);
            out.push(root(&leaves[..k]));
        }
    }
    (index < leaves.len()).then(|| {
        let mut out = Vec::new();
        path(leaves, index, &mut out);
        out
    })
}

/// The audit paths of every leaf at once, in O(n log n) (one [`inclusion_proof`] each would be
/// O(n) per leaf).
pub fn inclusion_proofs(leaves: &[Sha256Digest]) -> Vec<Vec<Sha256Digest>> {
    fn all(leaves: &[Sha256Digest]) -> (Sha256Digest, Vec<Vec<Sha256Digest>>) {
        if leaves.len() == 1 {
            return (leaves[0], vec![Vec::new()]);
        }
        let k = split(leaves.len());
        let (left_root, mut left) = all(&leaves[..k]);
        let (right_root, mut right) = all(&leaves[k..]);
        for p in &mut left {
            p.push(right_root);
        }
        for p in &mut right {
            p.push(left_root);
        }
        left.append(&mut right);
        (node_hash(&left_root, &right_root), left)
    }
    if leaves.is_empty() {
        return Vec::new();
    }
    all(leaves).1
}

/// The consistency proof from the tree of the first `old` leaves to the tree of all `leaves`
/// (RFC 6962 section 2.1.2). `None` when `old` is 0 or larger than the tree.
pub fn consistency_proof(leaves: &[Sha256Digest], old: usize) -> Option<Vec<Sha256Digest>> {
    fn subproof(m: usize, leaves: &[Sha256Digest], complete: bool, out: &mut Vec<Sha256Digest>) {
        let n = leaves.len();
        if m == n {
            if !complete {
                out.push(root(leaves));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            subproof(m, &leaves[..k], complete, out);
            out.push(root(&leaves[k..]));
        } else {
            subproof(m - k, &leaves[k..], false, out);
            out.push(root(&leaves[..k]));
        }
    }
    (old >= 1 && old <= leaves.len()).then(|| {
        let mut out = Vec::new();
        subproof(old, leaves, true, &mut out);
        out
    })
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves with `root`
/// (RFC 9162 section 2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf_hash: &Sha256Digest,
    proof: &[Sha256Digest],
    expected_root: &Sha256Digest,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength(proof.len()));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength(proof.len()));
    }
    if r != *expected_root {
        return Err(ProofError::RootMismatch { computed: r.to_hex(), expected: expected_root.to_hex() });
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with `old_root` is a prefix of the tree of
/// `new_size` leaves with `new_root` (RFC 9162 section 2.1.4.2): the log only grew.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Sha256Digest,
    new_root: &Sha256Digest,
    proof: &[Sha256Digest],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder { old: old_size, new: new_size });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength(proof.len()));
        }
        if old_root != new_root {
            return Err(ProofError::RootMismatch { computed: new_root.to_hex(), expected: old_root.to_hex() });
        }
        return Ok(());
    }
    if old_size == 0 {
        // Every tree extends the empty tree.
        return if proof.is_empty() { Ok(()) } else { Err(ProofError::WrongLength(proof.len())) };
    }
    let mut path: Vec<Sha256Digest> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err(ProofError::WrongLength(proof.len()));
    };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(ProofError::WrongLength(proof.len()));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength(proof.len()));
    }
    if fr != *old_root {
        return Err(ProofError::RootMismatch { computed: fr.to_hex(), expected: old_root.to_hex() });
    }
    if sr != *new_root {
        return Err(ProofError::RootMismatch { computed: sr.to_hex(), expected: new_root.to_hex() });
    }
    Ok(())
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
