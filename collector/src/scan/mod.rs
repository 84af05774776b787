//! Vulnerability-scan reports: Trivy JSON, Grype JSON, OSV-Scanner JSON and SARIF 2.1.0, into
//! one `scans` row per report and one `vulnerabilities` row per vulnerability, on one scale of
//! severities and fix states whatever the scanner. The report's exact bytes are kept as a blob.
//!
//! Each format is one source type, in its own module, which says what it reads. A report is
//! about a release: the folder `<subject>/<version>/` it sits in under the source, else its
//! target when that reads as an image `name:tag` (see `report::release_of`).

pub mod grype;
pub mod osv;
mod report;
pub mod sarif;
pub mod trivy;

pub use grype::Grype;
pub use osv::OsvScanner;
pub use sarif::Sarif;
pub use trivy::Trivy;
