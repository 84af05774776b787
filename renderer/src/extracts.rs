//! The machine-readable extracts inside an evidence bundle: the verification report (JSON), and
//! the CSV cells of the events, findings and `controls.csv` extracts.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use cairn_evidence::finding::Finding;
use serde::Serialize;

use crate::bundle::BundleFile;
use crate::model::PortalModel;

/// `evidence/verification-report.json`: the summary, chains and their findings, the lake's own
/// findings, where every break stands and each control's status, as of the bundle's run.
#[derive(Serialize)]
pub struct VerificationReport<'a> {
    format: &'static str,
    as_of_run: &'a str,
    summary: &'a crate::model::SummaryView,
    chains: &'a [crate::model::ChainView],
    lake_findings: &'a [Finding],
    /// Every break and where it stands: open, acknowledged (by whom, why, until when), resolved.
    standing: &'a [cairn_verifier::open::FindingStanding],
    controls: Vec<ControlStatus<'a>>,
}

/// One control in the verification report.
#[derive(Serialize)]
pub struct ControlStatus<'a> {
    id: &'a str,
    status: &'a str,
    reasons: &'a [String],
}

/// One CSV cell: always quoted, with a value a spreadsheet could read as a formula neutralised.
pub fn csv_field(value: &str) -> String {
    // Quote everything; neutralise spreadsheet formulas in evidence text (OWASP's list: a
    // spreadsheet may read a cell starting with any of these as a formula).
    let v = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_string() };
    format!("\"{}\"", v.replace('"', "\"\""))
}

/// The verification report of `model` for the controls `ids`.
pub fn verification_report<'a>(model: &'a PortalModel, ids: &[String]) -> VerificationReport<'a> {
    VerificationReport {
        format: "cairn-verification-report/1",
        as_of_run: &model.latest_run,
        summary: &model.summary,
        chains: &model.chains,
        lake_findings: &model.lake_findings,
        standing: &model.standing,
        controls: model
            .controls
            .iter()
            .filter(|c| ids.contains(&c.id))
            .map(|c| ControlStatus { id: &c.id, status: &c.status, reasons: &c.reasons })
            .collect(),
    }
}

/// control → framework requirement → evidence files in the bundle.
pub fn controls_csv(model: &PortalModel, ids: &[String], files: &[BundleFile]) -> String {
    let mut out = String::from("control,title,status,framework,requirement,relationship,evidence\n");
    let mut seen = BTreeSet::new();
    for c in model.controls.iter().filter(|c| ids.contains(&c.id)) {
        let evidence: Vec<&str> =
            files.iter().filter(|f| f.controls.contains(&c.id)).map(|f| f.path.as_str()).collect();
        for r in &c.requirements {
            if seen.insert((c.id.clone(), r.framework.clone(), r.id.clone())) {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{}",
                    csv_field(&c.id),
                    csv_field(&c.title),
                    csv_field(&c.status),
                    csv_field(&r.framework),
                    csv_field(&r.id),
                    csv_field(&r.relationship),
                    csv_field(&evidence.join(" "))
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_cells_that_could_start_a_formula_are_neutralised() {
        for lead in ['=', '+', '-', '@', '\t', '\r'] {
            assert_eq!(super::csv_field(&format!("{lead}1+1")), format!("\"'{lead}1+1\""), "{lead:?}");
        }
        assert_eq!(super::csv_field("plain \"text\""), "\"plain \"\"text\"\"\"");
        assert_eq!(super::csv_field("a=b"), "\"a=b\"");
    }
}
