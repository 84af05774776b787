//! `cairn-verifier`: pure, synchronous verification. Bytes and rows in, findings out.
//!
//! It owns the audit-event chain checks ([`chain`]) and the checks of the lake's own integrity:
//! manifest signatures and links, object digests and the Merkle root ([`lake`]), and the history
//! of published key documents ([`published`]).
//! It does not read the store, schedule work or print anything: `cairn` feeds it and reports.
#![forbid(unsafe_code)]

pub mod attest;
pub mod bundle;
pub mod chain;
pub mod finding;
pub mod lake;
pub mod policy;
pub mod proof;
pub mod published;
pub mod supply;

pub use chain::{ChainVerifier, VerifyOptions};
pub use finding::{Finding, FindingKind};
