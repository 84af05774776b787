//! Batched Ed25519 verification that sums the terms of signatures made with the same key.
//!
//! The decision is `ed25519_dalek::verify_batch`'s (ed25519-dalek 2.2), input for input: the same
//! checks on each signature (`s` below the group order, `R` a point), the same coefficients `zᵢ`
//! (drawn from a Merlin transcript of every challenge hash `H(R ‖ A ‖ M)` and every `s`, exactly as
//! ed25519-dalek draws them) and the same equation
//!
//! ```text
//! [−Σ zᵢ·sᵢ]B + Σ [zᵢ]Rᵢ + Σ [zᵢ·kᵢ]Aᵢ = 0,    kᵢ = H(Rᵢ ‖ Aᵢ ‖ Mᵢ) mod ℓ
//! ```
//!
//! One thing differs: ed25519-dalek puts one key term into its multiscalar multiplication per
//! signature. Here the terms of the signatures made with the same key `A` are summed first,
//! `Σ [zᵢ·kᵢ]A = [Σ zᵢ·kᵢ]A`, which is the same point. A service signs its audit events with one
//! key, so a batch of 128 events names at most as many keys as there are services in its lake
//! object: about 130 points to multiply instead of 257 when it holds one or two, 145 when it holds
//! sixteen, never more than 257. A batch that fails says only that some signature in it is bad;
//! the caller checks them one by one to name it.

use std::iter::once;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::{Signature, VerifyingKey};
use merlin::Transcript;
use sha2::{Digest, Sha512};

/// Signatures per batch, in the verifier and in the benchmark's baselines alike.
pub const BATCH: usize = 128;

/// Whether every `signatures[i]` is `keys[i]`'s signature of `messages[i]`. False also when the
/// three lengths differ. An empty batch verifies.
#[must_use]
#[expect(non_snake_case, reason = "R, A and B are the names the Ed25519 equation gives these points")]
pub fn verify_batch(messages: &[&[u8]], signatures: &[Signature], keys: &[VerifyingKey]) -> bool {
    let n = signatures.len();
    if messages.len() != n || keys.len() != n {
        return false;
    }
    // The challenge hashes, then the coefficients from a transcript of them and of each `s`,
    // in ed25519-dalek's order and with its labels.
    let hrams: Vec<[u8; 64]> = (0..n)
        .map(|i| {
            let mut h = Sha512::new();
            h.update(signatures[i].r_bytes());
            h.update(keys[i].as_bytes());
            h.update(messages[i]);
            h.finalize().into()
        })
        .collect();
    let mut transcript = Transcript::new(b"ed25519 batch verification");
    for hram in &hrams {
        transcript.append_message(b"hram", hram);
    }
    for sig in signatures {
        transcript.append_message(b"sig.s", sig.s_bytes());
    }
    let mut rng = transcript.build_rng().finalize(&mut NoEntropy);

    let mut B_coefficient = Scalar::ZERO;
    let mut zs: Vec<Scalar> = Vec::with_capacity(n);
    let mut Rs: Vec<EdwardsPoint> = Vec::with_capacity(n);
    // One entry per distinct key, in order of first use: its encoding, point and summed scalar.
    let mut As: Vec<(&[u8; 32], EdwardsPoint, Scalar)> = Vec::new();
    let mut last = 0;
    for i in 0..n {
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(*signatures[i].s_bytes())) else {
            return false;
        };
        let Some(R) = CompressedEdwardsY(*signatures[i].r_bytes()).decompress() else {
            return false;
        };
        let mut z = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rng, &mut z);
        let z = Scalar::from(u128::from_le_bytes(z));
        B_coefficient += z * s;
        let zk = z * Scalar::from_bytes_mod_order_wide(&hrams[i]);
        let key = keys[i].as_bytes();
        if As.get(last).is_none_or(|(k, _, _)| *k != key) {
            last = As.iter().position(|(k, _, _)| *k == key).unwrap_or_else(|| {
                As.push((key, keys[i].to_edwards(), Scalar::ZERO));
                As.len() - 1
            });
        }
        As[last].2 += zk;
        zs.push(z);
        Rs.push(R);
    }
    let sum = EdwardsPoint::vartime_multiscalar_mul(
        once(-B_coefficient).chain(zs).chain(As.iter().map(|a| a.2)),
        once(ED25519_BASEPOINT_POINT).chain(Rs).chain(As.iter().map(|a| a.1)),
    );
    sum.is_identity()
}

/// The transcript's RNG takes no outside entropy: ed25519-dalek's batch coefficients are a
/// function of the batch alone, and these must be the same.
struct NoEntropy;

impl rand_core::RngCore for NoEntropy {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }

    fn fill_bytes(&mut self, _dest: &mut [u8]) {}

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for NoEntropy {}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    /// `count` signatures over distinct messages, signed in turn by `signers`.
    fn batch(count: usize, signers: &[SigningKey]) -> (Vec<Vec<u8>>, Vec<Signature>, Vec<VerifyingKey>) {
        let messages: Vec<Vec<u8>> = (0..count).map(|i| format!("event {i}").into_bytes()).collect();
        let signatures = messages.iter().enumerate().map(|(i, m)| signers[i % signers.len()].sign(m)).collect();
        let keys = (0..count).map(|i| signers[i % signers.len()].verifying_key()).collect();
        (messages, signatures, keys)
    }

    /// This verifier and ed25519-dalek's on the same batch; panics if they disagree.
    fn both(messages: &[Vec<u8>], signatures: &[Signature], keys: &[VerifyingKey]) -> bool {
        let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let ours = verify_batch(&messages, signatures, keys);
        let theirs = ed25519_dalek::verify_batch(&messages, signatures, keys).is_ok();
        assert_eq!(ours, theirs, "the summed batch and ed25519-dalek's disagree");
        ours
    }

    #[test]
    fn good_batches_verify_with_one_key_many_keys_or_none() {
        let signers: Vec<SigningKey> = (1..=128).map(key).collect();
        for keys in [1, 2, 5, 128] {
            for count in [1, 2, 127, 128] {
                let (m, s, k) = batch(count, &signers[..keys]);
                assert!(both(&m, &s, &k), "{count} signatures by {keys} keys");
            }
        }
        assert!(both(&[], &[], &[]));
    }

    #[test]
    fn one_bad_signature_fails_the_batch() {
        let signers: Vec<SigningKey> = (1..=3).map(key).collect();
        let (m, s, k) = batch(64, &signers);
        // Another message under the same signature.
        let mut altered = m.clone();
        altered[17][0] ^= 1;
        assert!(!both(&altered, &s, &k));
        // The right signature, the wrong key (one that signs others in the batch).
        let mut swapped = k.clone();
        swapped[17] = k[18];
        assert!(!both(&m, &s, &swapped));
        // A signature by a key that is not the one named.
        let mut forged = s.clone();
        forged[40] = key(9).sign(&m[40]);
        assert!(!both(&m, &forged, &k));
        // Two bad signatures whose errors could cancel if coefficients were not independent.
        let mut pair = s.clone();
        pair.swap(3, 6);
        assert!(!both(&m, &pair, &k));
    }

    #[test]
    fn malformed_signatures_fail_the_batch() {
        let signers = [key(1)];
        let (m, s, k) = batch(8, &signers);
        // `s` above the group order ℓ: `s + ℓ` is the same scalar, and is refused.
        let mut big = s.clone();
        let mut bytes = big[2].to_bytes();
        let sum: [u8; 32] = {
            // s + ℓ as little-endian bytes (s < ℓ < 2^253, so it fits; its top bits stay clear).
            let order: [u8; 32] = [
                0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
            ];
            let mut out = [0u8; 32];
            let mut carry = 0u16;
            for j in 0..32 {
                let digit = u16::from(bytes[32 + j]) + u16::from(order[j]) + carry;
                out[j] = (digit & 0xff) as u8;
                carry = digit >> 8;
            }
            out
        };
        bytes[32..].copy_from_slice(&sum);
        big[2] = Signature::from_bytes(&bytes);
        assert!(!both(&m, &big, &k));
        // `R` not a point on the curve.
        let mut off = s.clone();
        let mut bytes = off[5].to_bytes();
        let not_a_point = (0u8..=255)
            .map(|b| [b; 32])
            .find(|y| CompressedEdwardsY(*y).decompress().is_none())
            .expect("some y is not on the curve");
        bytes[..32].copy_from_slice(&not_a_point);
        off[5] = Signature::from_bytes(&bytes);
        assert!(!both(&m, &off, &k));
        // Lengths that differ.
        let messages: Vec<&[u8]> = m.iter().map(Vec::as_slice).collect();
        assert!(!verify_batch(&messages[..7], &s, &k));
    }
}
