//! `cairn-evidence` is the kernel every other Cairn crate builds on.
//!
//! It owns:
//! - the record types and their Arrow schemas ([`tables`]),
//! - RFC 8785 canonical JSON and SHA-256 digests ([`canonical`], [`digest`]),
//! - Ed25519 keys in PKCS#8 PEM and minisign formats, and the trusted-source keyring ([`keys`], [`keyring`]),
//! - what signs for Cairn, wherever its key is held ([`signer`]), and the handover of signing to
//!   a new key ([`rotation`]),
//! - published key documents (JWKS, minisign public key files) and their history ([`published`]),
//! - the formats both collection and verification read: signed policy Decision Cards ([`card`]) and
//!   how an artefact file is cut into records ([`records`]),
//! - findings, the one shape of a failed check from the verifier to the lake and the portal ([`finding`]),
//! - the chain event v1 contract's field extraction and hashing ([`event`]),
//! - classifications and audiences ([`classification`]),
//! - selective disclosure of personal values in events ([`disclosure`]), and the vault that keeps
//!   the disclosed values apart from the lake ([`vault`]),
//! - the evidence lake over `object_store`: Parquet tables, content-addressed blobs,
//!   signed run manifests and the Merkle tree over committed objects ([`lake`], [`manifest`], [`merkle`]).
//!
//! It does not own collection (`cairn-collector`), verification policy (`cairn-verifier`),
//! controls, rendering or the command line.
#![forbid(unsafe_code)]

pub mod acknowledgement;
pub mod artefacts;
pub mod attest;
pub mod bundle;
pub mod canonical;
pub mod card;
pub mod classification;
pub mod digest;
pub mod disclosure;
pub mod event;
pub mod finding;
pub mod json;
pub mod keyring;
pub mod keys;
pub mod lake;
pub mod lock;
pub mod manifest;
pub mod merkle;
pub mod note;
pub mod published;
pub mod records;
pub mod retry;
pub mod rotation;
pub mod signer;
pub mod store;
pub mod tables;
pub mod time;
pub mod vault;

pub use digest::Sha256Digest;
