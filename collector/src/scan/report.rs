//! What the four scan formats share: the report each parser gives, the rows it becomes, and how
//! severities, fix states and release subjects are normalised.

use cairn_evidence::artefacts::{ArtefactSet, ScanRow, VulnerabilityRow};
use cairn_evidence::tables::Provenance;

use crate::json_doc::{join_sorted, strip_utf8_bom};

/// What the report of a scan source counts.
pub(super) const UNIT: &str = "scan reports";

/// A format's parser: the report's bytes in (strict JSON, without a byte-order mark); the
/// report's facts and its vulnerabilities out.
pub(super) type ParseReport = fn(&[u8]) -> Result<Report, String>;

/// One report as its parser read it.
#[derive(Debug, Default)]
pub(super) struct Report {
    /// The scanner as the report names itself.
    pub(super) scanner: String,
    /// Its version, when stated.
    pub(super) scanner_version: Option<String>,
    /// What was scanned.
    pub(super) target: String,
    /// When, as written.
    pub(super) scanned_at: Option<String>,
    /// What it found, in report order.
    pub(super) vulnerabilities: Vec<Vulnerability>,
}

/// One vulnerability as a parser read it.
#[derive(Debug, Default)]
pub(super) struct Vulnerability {
    /// The result's own target, when the report has one per result.
    pub(super) target: Option<String>,
    pub(super) package: Option<String>,
    pub(super) package_version: Option<String>,
    pub(super) purl: Option<String>,
    pub(super) id: String,
    pub(super) aliases: Vec<String>,
    pub(super) severity: Severity,
    pub(super) cvss_score: Option<String>,
    pub(super) cvss_vector: Option<String>,
    pub(super) fix_state: FixState,
    pub(super) fixed_versions: Vec<String>,
    pub(super) location: Option<String>,
    pub(super) title: Option<String>,
}

/// A severity on one scale for every scanner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Negligible,
    #[default]
    Unknown,
}

impl Severity {
    /// A severity as scanners write it: `CRITICAL`, `High`, `moderate`, `Negligible`, ….
    /// Anything else is `Unknown`.
    pub(super) fn from_label(label: &str) -> Self {
        match label.trim().to_ascii_lowercase().as_str() {
            "critical" => Self::Critical,
            "high" | "important" => Self::High,
            "medium" | "moderate" => Self::Medium,
            "low" => Self::Low,
            "negligible" | "none" | "info" | "informational" => Self::Negligible,
            _ => Self::Unknown,
        }
    }

    /// The CVSS v3 qualitative rating of a base score: 9.0 and above critical, 7.0 high, 4.0
    /// medium, above 0 low. A score that is not a number in 0–10, or 0, is `Unknown`.
    pub(super) fn from_score(score: &str) -> Self {
        match score.trim().parse::<f64>() {
            Ok(s) if (9.0..=10.0).contains(&s) => Self::Critical,
            Ok(s) if (7.0..9.0).contains(&s) => Self::High,
            Ok(s) if (4.0..7.0).contains(&s) => Self::Medium,
            Ok(s) if s > 0.0 && s < 4.0 => Self::Low,
            _ => Self::Unknown,
        }
    }

    /// As written in the `severity` column.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
            Self::Negligible => "negligible",
            Self::Unknown => "unknown",
        }
    }
}

/// Whether a fix exists, on one scale for every scanner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum FixState {
    /// A fixed version exists.
    Fixed,
    /// None yet.
    NotFixed,
    /// The vendor will not fix it (or the release is past its end of life).
    WontFix,
    /// The report does not say.
    #[default]
    Unknown,
}

impl FixState {
    /// As written in the `fix_state` column.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::NotFixed => "not_fixed",
            Self::WontFix => "wont_fix",
            Self::Unknown => "unknown",
        }
    }
}

/// The release a report is about: the folder `<subject>/<version>/` it sits in under the source
/// (the layout release folders use); else the target when it reads as an image reference
/// (`registry/org/name:tag`, `name@sha256:…`); else the target itself, with no version.
pub(super) fn release_of(relative: &str, target: &str) -> (String, Option<String>) {
    if let Some((subject, version)) = crate::artefact::release_folder(relative) {
        return (subject, Some(version));
    }
    let target = target.trim();
    let reference = target.split('@').next().unwrap_or(target);
    let (path, tag) = match reference.rsplit_once(':') {
        // A colon after the last slash is a tag; one before it is a registry's port.
        Some((path, tag)) if !tag.contains('/') && !tag.is_empty() => (path, Some(tag.to_string())),
        _ => (reference, None),
    };
    let looks_like_image = !target.contains(char::is_whitespace) && !path.starts_with('/') && !path.starts_with('.');
    match (looks_like_image, path.rsplit('/').next()) {
        (true, Some(name)) if !name.is_empty() && (tag.is_some() || target.contains('@')) => (name.to_string(), tag),
        _ => (target.to_string(), None),
    }
}

/// Parses a report with `parse`, checks that it is strict JSON (no repeated keys, bounded
/// nesting), and pushes one `scans` row and its `vulnerabilities` rows.
pub(super) fn push_rows(
    bytes: &[u8],
    relative: &str,
    blob: &str,
    provenance: &Provenance,
    rows: &mut ArtefactSet,
    (format, parse): (&str, ParseReport),
) -> Result<u64, String> {
    let bytes = strip_utf8_bom(bytes);
    // The format's own reasons first (an empty file, the wrong format), then repeated keys and
    // nesting, which a typed parse can miss.
    let mut report = parse(bytes)?;
    cairn_evidence::json::check_strict(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    if report.target.trim().is_empty() {
        // A report that names no target is about what its own path says.
        report.target = relative.to_string();
    }
    let (subject, subject_version) = release_of(relative, &report.target);
    let count = report.vulnerabilities.len() as u64;
    for v in report.vulnerabilities {
        let mut aliases = v.aliases;
        aliases.retain(|a| !a.is_empty() && *a != v.id);
        rows.vulnerabilities.push(VulnerabilityRow {
            scan_blob: blob.to_string(),
            subject: subject.clone(),
            subject_version: subject_version.clone(),
            scanner: report.scanner.clone(),
            target: v.target.unwrap_or_else(|| report.target.clone()),
            package: v.package,
            package_version: v.package_version,
            purl: v.purl,
            vulnerability_id: v.id,
            aliases: join_sorted(aliases),
            severity: v.severity.as_str().to_string(),
            cvss_score: v.cvss_score,
            cvss_vector: v.cvss_vector,
            fix_state: v.fix_state.as_str().to_string(),
            fixed_version: (!v.fixed_versions.is_empty()).then(|| v.fixed_versions.join("; ")),
            location: v.location,
            title: v.title,
            provenance: provenance.clone(),
        });
    }
    rows.scans.push(ScanRow {
        blob: blob.to_string(),
        format: format.to_string(),
        scanner: report.scanner,
        scanner_version: report.scanner_version,
        target: report.target,
        subject,
        subject_version,
        scanned_at: report.scanned_at,
        vulnerabilities: count,
        provenance: provenance.clone(),
    });
    Ok(1)
}

/// A non-empty, trimmed string, or none.
pub(super) fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The first line of `text`, at most 200 characters.
pub(super) fn first_line(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_come_from_the_folder_then_the_image_reference() {
        let cases = [
            ("payments/1.4.0/trivy.json", "anything", ("payments", Some("1.4.0"))),
            ("scans/payments/1.4.0/trivy.json", "x", ("payments", Some("1.4.0"))),
            ("trivy.json", "ghcr.io/acme/payments:1.4.0", ("payments", Some("1.4.0"))),
            ("trivy.json", "registry:5000/acme/api:2", ("api", Some("2"))),
            ("trivy.json", "alpine:3.10", ("alpine", Some("3.10"))),
            ("trivy.json", "acme/api@sha256:abcd", ("api", None)),
            ("trivy.json", "registry:5000/acme/api", ("registry:5000/acme/api", None)),
            ("trivy.json", "/src/Cargo.lock", ("/src/Cargo.lock", None)),
            ("trivy.json", "alpine:3.10 (alpine 3.10.2)", ("alpine:3.10 (alpine 3.10.2)", None)),
        ];
        for (relative, target, (subject, version)) in cases {
            let got = release_of(relative, target);
            assert_eq!((got.0.as_str(), got.1.as_deref()), (subject, version), "{relative} {target}");
        }
    }

    #[test]
    fn severities_on_one_scale() {
        assert_eq!(Severity::from_label("CRITICAL"), Severity::Critical);
        assert_eq!(Severity::from_label("Moderate"), Severity::Medium);
        assert_eq!(Severity::from_label("Negligible"), Severity::Negligible);
        assert_eq!(Severity::from_label("whatever"), Severity::Unknown);
        assert_eq!(Severity::from_score("9.8"), Severity::Critical);
        assert_eq!(Severity::from_score("7.0"), Severity::High);
        assert_eq!(Severity::from_score("6.9"), Severity::Medium);
        assert_eq!(Severity::from_score("0.1"), Severity::Low);
        assert_eq!(Severity::from_score("0"), Severity::Unknown);
        assert_eq!(Severity::from_score("11"), Severity::Unknown);
        assert_eq!(Severity::from_score(""), Severity::Unknown);
    }
}
