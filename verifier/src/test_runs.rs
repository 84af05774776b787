//! Test results against the release gates: a release's tests pass, and no test stays
//! quarantined (skipped while it would fail) longer than allowed.
//!
//! Runs are ordered by when they ran (the report's `timestamp`, else its collection).
//!
//! - **Release tests**: the latest run of each report file (`unit.xml`, `chaos.xml`) of a
//!   release `<subject>/<version>` must have no failed and no errored case; else
//!   `release_tests_failed`. When a later run of that file passes, `tests_cleared` (not a break)
//!   resolves it.
//! - **Quarantine**: a case of a subject skipped as quarantined (see `cairn_collector::junit`)
//!   in every run of it since some day, more than `test_quarantine_days` before the verify run, is
//!   `test_quarantine_overdue`. When a later run runs it again, `tests_cleared` resolves it.

use std::collections::{BTreeMap, BTreeSet};

use cairn_evidence::artefacts::{TestCaseRow, TestRunRow};
use chrono::{DateTime, Utc};

use crate::{Finding, FindingKind};

/// The words after the name of a release's tests in a `release_tests_failed` detail.
const DID_NOT_PASS: &str = " did not pass: ";
/// The words after the name of a quarantined test in a `test_quarantine_overdue` detail.
const QUARANTINED: &str = " is quarantined since ";
/// The words after a name in a `tests_cleared` detail.
const CLEARED: &str = " is cleared: ";

/// What a `release_tests_failed`, `test_quarantine_overdue` or `tests_cleared` finding names.
pub fn named_in(f: &Finding) -> Option<&str> {
    let sep = match f.kind {
        FindingKind::ReleaseTestsFailed => DID_NOT_PASS,
        FindingKind::TestQuarantineOverdue => QUARANTINED,
        FindingKind::TestsCleared => CLEARED,
        _ => return None,
    };
    f.detail.split_once(sep).map(|(name, _)| name)
}

/// `payments 1.4.0` or `payments`.
fn release(run: &TestRunRow) -> String {
    match &run.subject_version {
        Some(v) => format!("{} {v}", run.subject),
        None => run.subject.clone(),
    }
}

/// A case as the portal and findings name it: its suite, classname and name, ` / `-separated
/// (a classname that repeats the innermost suite's name is said once).
pub fn case_label(c: &TestCaseRow) -> String {
    let innermost = c.suite.rsplit(" / ").next().unwrap_or_default();
    let classname = c.classname.as_deref().filter(|n| *n != innermost);
    [Some(c.suite.as_str()), classname, Some(c.name.as_str())]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The cases of each run, by blob (a report collected twice is one run).
fn cases_by_run(cases: &[TestCaseRow]) -> BTreeMap<&str, Vec<&TestCaseRow>> {
    let mut out: BTreeMap<&str, Vec<&TestCaseRow>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for c in cases {
        if seen.insert((c.run_blob.as_str(), c.provenance.run_id.as_str(), case_label(c))) {
            out.entry(c.run_blob.as_str()).or_default().push(c);
        }
    }
    // The same report collected by two runs would list its cases twice: keep one run's.
    for list in out.values_mut() {
        let first = list.first().map(|c| c.provenance.run_id.clone()).unwrap_or_default();
        list.retain(|c| c.provenance.run_id == first);
    }
    out
}

/// Runs, one per blob, in the order they ran.
fn in_order(runs: &[TestRunRow]) -> Vec<&TestRunRow> {
    let mut seen = BTreeSet::new();
    let mut out: Vec<&TestRunRow> = runs.iter().filter(|r| seen.insert(r.blob.as_str())).collect();
    out.sort_by_key(|r| r.ran_at());
    out
}

/// The release gates over the runs of `new_runs`.
pub fn check(
    runs: &[TestRunRow],
    cases: &[TestCaseRow],
    quarantine_days: u32,
    new_runs: &BTreeSet<String>,
    at: DateTime<Utc>,
) -> Vec<Finding> {
    let ordered = in_order(runs);
    let by_run = cases_by_run(cases);
    let is_new = |r: &TestRunRow| new_runs.contains(&r.provenance.run_id);
    let mut out = Vec::new();

    // Release tests: the latest run of each report file of each release.
    let mut by_file: BTreeMap<(&str, Option<&str>, &str), Vec<&TestRunRow>> = BTreeMap::new();
    for r in &ordered {
        by_file.entry((&r.subject, r.subject_version.as_deref(), &r.file)).or_default().push(r);
    }
    for list in by_file.values() {
        let Some(latest) = list.last().filter(|r| is_new(r)) else { continue };
        let name = format!("tests of {} in {}", release(latest), latest.file);
        if latest.failed + latest.errors > 0 {
            let failing: Vec<String> = by_run
                .get(latest.blob.as_str())
                .into_iter()
                .flatten()
                .filter(|c| c.status == "failed" || c.status == "error")
                .take(5)
                .map(|c| case_label(c))
                .collect();
            let more = (latest.failed + latest.errors).saturating_sub(failing.len() as u64);
            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
            out.push(Finding::object(
                FindingKind::ReleaseTestsFailed,
                &latest.provenance.object_key,
                format!(
                    "{name}{DID_NOT_PASS}{} failed and {} errored of {} ({}{more})",
                    latest.failed,
                    latest.errors,
                    latest.tests,
                    failing.join(", ")
                ),
            ));
        } else if list.iter().rev().skip(1).any(|r| r.failed + r.errors > 0) {
            out.push(Finding::object(
                FindingKind::TestsCleared,
                &latest.provenance.object_key,
                format!("{name}{CLEARED}all {} ran without a failure", latest.tests),
            ));
        }
    }

    // Quarantine: how long each case of a subject has been quarantined, run after run.
    let mut by_subject: BTreeMap<&str, Vec<&TestRunRow>> = BTreeMap::new();
    for r in &ordered {
        by_subject.entry(&r.subject).or_default().push(r);
    }
    let limit = chrono::Duration::days(i64::from(quarantine_days));
    for (subject, list) in by_subject {
        let mut since: BTreeMap<String, (DateTime<Utc>, &str)> = BTreeMap::new();
        let mut overdue = BTreeSet::new();
        for r in list {
            let ran = r.ran_at();
            for c in by_run.get(r.blob.as_str()).into_iter().flatten() {
                let name = format!("test {subject}: {}", case_label(c));
                if c.status == "quarantined" {
                    let (start, first_object) = *since.entry(name.clone()).or_insert((ran, &r.provenance.object_key));
                    if is_new(r) && at - start > limit && overdue.insert(name.clone()) {
                        out.push(Finding::object(
                            FindingKind::TestQuarantineOverdue,
                            first_object,
                            format!(
                                "{name}{QUARANTINED}{}, past the {quarantine_days}-day limit: {}",
                                start.format("%Y-%m-%d"),
                                c.message.as_deref().unwrap_or("no reason given")
                            ),
                        ));
                    }
                } else if let Some((start, _)) = since.remove(&name) {
                    if is_new(r) && ran - start > limit {
                        out.push(Finding::object(
                            FindingKind::TestsCleared,
                            &r.provenance.object_key,
                            format!("{name}{CLEARED}it ran again ({}) on {}", c.status, ran.format("%Y-%m-%d")),
                        ));
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_evidence::tables::{Confidence, Provenance};
    use cairn_evidence::time::parse_rfc3339;

    fn prov(run: &str, object: &str) -> Provenance {
        Provenance {
            source: "tests".into(),
            object_key: object.into(),
            line: 1,
            byte_offset: 0,
            record_sha256: String::new(),
            run_id: run.into(),
            collected_at: parse_rfc3339("2026-11-21T02:00:00Z").unwrap(),
            actor: "test".into(),
            confidence: Confidence::Unverified,
            simulated: false,
        }
    }

    fn run(blob: &str, version: &str, at: &str, run_id: &str, (failed, errors): (u64, u64)) -> TestRunRow {
        TestRunRow {
            blob: blob.into(),
            file: "unit.xml".into(),
            name: "unit".into(),
            subject: "payments".into(),
            subject_version: Some(version.into()),
            started_at: Some(at.into()),
            tests: 3,
            passed: 3 - failed - errors,
            failed,
            errors,
            skipped: 0,
            quarantined: 0,
            flaky: 0,
            stated_mismatch: None,
            tags: String::new(),
            provenance: prov(run_id, &format!("tests/{blob}.xml")),
        }
    }

    fn case(blob: &str, name: &str, status: &str) -> TestCaseRow {
        TestCaseRow {
            run_blob: blob.into(),
            subject: "payments".into(),
            subject_version: None,
            suite: "unit".into(),
            classname: None,
            name: name.into(),
            status: status.into(),
            reruns: 0,
            time: None,
            message: (status == "quarantined").then(|| "quarantined: flaky on CI".into()),
            tags: String::new(),
            provenance: prov("r", "x"),
        }
    }

    fn runs(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_release_fails_until_its_tests_pass_and_a_quarantine_is_overdue_until_the_test_runs() {
        let at = parse_rfc3339("2026-11-21T02:00:00Z").unwrap();
        let runs_rows = vec![
            run("a", "1.4.0", "2026-10-01T00:00:00Z", "r1", (0, 0)),
            run("b", "1.4.0", "2026-11-20T00:00:00Z", "r2", (1, 0)),
        ];
        let cases = vec![
            case("a", "pays", "passed"),
            case("a", "refunds", "quarantined"),
            case("b", "pays", "failed"),
            case("b", "refunds", "quarantined"),
        ];
        let found = check(&runs_rows, &cases, 14, &runs(&["r2"]), at);
        let got: Vec<(&str, &str)> = found.iter().map(|f| (f.kind.as_str(), f.detail.as_str())).collect();
        assert_eq!(
            got,
            [
                ("release_tests_failed", "tests of payments 1.4.0 in unit.xml did not pass: 1 failed and 0 errored of 3 (unit / pays)"),
                (
                    "test_quarantine_overdue",
                    "test payments: unit / refunds is quarantined since 2026-10-01, past the 14-day limit: quarantined: flaky on CI"
                ),
            ]
        );
        assert_eq!(found[1].object_key.as_deref(), Some("tests/a.xml"), "named where the quarantine began");

        // The next night: it passes, and the quarantined test runs again.
        let mut later = runs_rows.clone();
        later.push(run("c", "1.4.0", "2026-11-21T01:00:00Z", "r3", (0, 0)));
        let mut cases = cases.clone();
        cases.extend([case("c", "pays", "passed"), case("c", "refunds", "passed")]);
        let found = check(&later, &cases, 14, &runs(&["r3"]), at);
        let names: Vec<(&str, Option<&str>)> = found.iter().map(|f| (f.kind.as_str(), named_in(f))).collect();
        assert_eq!(
            names,
            [
                ("tests_cleared", Some("tests of payments 1.4.0 in unit.xml")),
                ("tests_cleared", Some("test payments: unit / refunds")),
            ]
        );
        assert!(found.iter().all(|f| !f.kind.is_break()));
    }
}
