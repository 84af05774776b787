//! `cairn-verifier`: every check Cairn makes, synchronous. Bytes and rows in, [`Finding`]s out.
//!
//! - audit-event chains: hashes, links, gaps, order, forks, duplicates, signatures, keys, time
//!   ([`chain`]), the signatures batched with one term per key ([`batch`]);
//! - the lake's own integrity: manifest signatures and links, object digests, the Merkle root
//!   ([`lake`]);
//! - attestations: DSSE and Sigstore bundle signatures, transparency-log inclusion ([`attest`]),
//!   keyless bundles against a Sigstore trusted root and trusted identities ([`keyless`]);
//! - the supply chain: components against the register, releases against their attestations and
//!   SBOMs, threat-model review, SBOM diffs ([`supply`]);
//! - vulnerability scans over time: what appeared and was fixed, first seen, the severity gate
//!   ([`vulnerabilities`]);
//! - test results against the release gates: failed tests, overdue quarantines ([`test_runs`]);
//! - signed policy Decision Cards and the events that name them ([`policy`]);
//! - published key documents and what still depends on their keys ([`published`]);
//! - Merkle proof files ([`proof`]) and evidence bundles ([`bundle`]), offline;
//! - which recorded breaks are still open: not resolved, not acknowledged ([`open`]).
//!
//! It does not read the store, schedule work or print anything: `cairn-jobs` reads the lake, feeds
//! it and records what it finds. The one file it opens is an evidence bundle it is asked to check.
#![forbid(unsafe_code)]

pub mod attest;
pub mod batch;
pub mod bundle;
mod canonical_event;
pub mod chain;
pub mod finding;
pub mod keyless;
pub mod lake;
pub mod open;
pub mod policy;
pub mod proof;
pub mod published;
pub mod supply;
pub mod test_runs;
pub mod vulnerabilities;

pub use chain::{ChainVerifier, VerifyOptions};
pub use finding::{Finding, FindingKind};
