//! What both threat-model formats share: a threat as read, before it becomes a row, and the
//! control ids written in its text.

use std::collections::BTreeSet;

use cairn_evidence::artefacts::ThreatRow;
use cairn_evidence::tables::Provenance;

/// What the report of a threat-model source counts.
pub(super) const UNIT: &str = "threat models";

/// A threat as read, before it gets the model's blob and provenance.
#[derive(Debug, Default)]
pub(super) struct Draft {
    /// 1-based line of the threat in a Markdown document (0 for Threat Dragon).
    pub(super) line: usize,
    pub(super) threat_id: String,
    pub(super) title: String,
    pub(super) category: Option<String>,
    pub(super) severity: Option<String>,
    pub(super) status: String,
    pub(super) mitigation: Option<String>,
    pub(super) element: Option<String>,
    pub(super) controls: String,
}

impl Draft {
    pub(super) fn into_row(self, blob: &str, provenance: &Provenance) -> ThreatRow {
        ThreatRow {
            model_blob: blob.to_string(),
            threat_id: self.threat_id,
            title: self.title,
            category: self.category,
            severity: self.severity,
            status: self.status,
            mitigation: self.mitigation,
            element: self.element,
            controls: self.controls,
            provenance: provenance.clone(),
        }
    }
}

/// `Some` only for text that is not empty or whitespace.
pub(super) fn non_blank(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// Control ids written as `[XXX-01]` (2–8 uppercase ASCII letters, `-`, 1–4 digits) in any of the texts,
/// deduplicated, sorted and `; `-separated, without the brackets.
pub(super) fn controls_in<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut found = BTreeSet::new();
    for text in texts {
        let b = text.as_bytes();
        for (start, _) in text.match_indices('[') {
            let letters = b[start + 1..].iter().take_while(|c| c.is_ascii_uppercase()).count();
            if !(2..=8).contains(&letters) || b.get(start + 1 + letters) != Some(&b'-') {
                continue;
            }
            let digits_at = start + 2 + letters;
            let digits = b[digits_at..].iter().take_while(|c| c.is_ascii_digit()).count();
            if (1..=4).contains(&digits) && b.get(digits_at + digits) == Some(&b']') {
                found.insert(&text[start + 1..digits_at + digits]);
            }
        }
    }
    found.into_iter().collect::<Vec<_>>().join("; ")
}
