//! Findings: a failed check is a value with a kind and a location, never a bare `bool`. The type
//! is the kernel's ([`cairn_evidence::finding`]): one shape from the check to the `findings`
//! table, `cairn verify --format json` and the portal.

pub use cairn_evidence::finding::{Finding, FindingKind};
