use std::collections::BTreeMap;
use std::path::PathBuf;

use cairn_evidence::artefacts::{ArtefactSet, TestCaseRow, TestRunRow};
use cairn_evidence::tables::{Confidence, Provenance};

use super::{parse, Patterns};

fn prov() -> Provenance {
    Provenance {
        source: "tests".into(),
        object_key: "tests/report.xml".into(),
        line: 1,
        byte_offset: 0,
        record_sha256: String::new(),
        run_id: "run-1".into(),
        collected_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        actor: "test".into(),
        confidence: Confidence::Unverified,
        simulated: false,
    }
}

fn collect_with(
    xml: &[u8],
    relative: &str,
    tags: &BTreeMap<String, Vec<String>>,
) -> Result<(TestRunRow, Vec<TestCaseRow>), String> {
    let quarantine = vec!["*quarantine*".to_string()];
    let patterns = Patterns { quarantine: &quarantine, tags };
    let mut rows = ArtefactSet::default();
    parse(xml, relative, "blobs/sha256/x", &prov(), &mut rows, &patterns)?;
    assert_eq!(rows.test_runs.len(), 1);
    Ok((rows.test_runs.remove(0), rows.test_cases))
}

fn collect(xml: &str) -> Result<(TestRunRow, Vec<TestCaseRow>), String> {
    collect_with(xml.as_bytes(), "app/1.0/unit.xml", &BTreeMap::new())
}

#[test]
fn nested_suites_statuses_reruns_and_recounted_totals() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="all" tests="9" failures="0">
  <testsuite name="outer" timestamp="2026-11-20T10:00:00">
    <testsuite name="inner">
      <testcase classname="a.B" name="passes" time="0.01"/>
      <testcase classname="a.B" name="fails"><failure message="expected 1, got 2">trace</failure></testcase>
      <testcase classname="a.B" name="breaks"><error type="Panic">boom &amp; more
second line</error></testcase>
    </testsuite>
    <testcase name="skipped"><skipped/></testcase>
    <testcase name="parked"><skipped message="Quarantined: flaky on CI, TICKET-9"/></testcase>
    <testcase name="flaky"><flakyFailure message="timeout"/><rerunFailure/></testcase>
  </testsuite>
</testsuites>"#;
    let (run, cases) = collect(xml).unwrap();
    let got: Vec<(&str, &str, &str, u64)> =
        cases.iter().map(|c| (c.suite.as_str(), c.name.as_str(), c.status.as_str(), c.reruns)).collect();
    assert_eq!(
        got,
        [
            ("outer / inner", "passes", "passed", 0),
            ("outer / inner", "fails", "failed", 0),
            ("outer / inner", "breaks", "error", 0),
            ("outer", "skipped", "skipped", 0),
            ("outer", "parked", "quarantined", 0),
            ("outer", "flaky", "passed", 2),
        ]
    );
    assert_eq!(cases[1].message.as_deref(), Some("expected 1, got 2"));
    assert_eq!(cases[2].message.as_deref(), Some("boom & more"), "text, unescaped, first line");
    assert_eq!(cases[0].classname.as_deref(), Some("a.B"));
    assert_eq!(cases[0].time.as_deref(), Some("0.01"));
    let totals = (run.tests, run.passed, run.failed, run.errors, run.skipped, run.quarantined, run.flaky);
    assert_eq!(totals, (6, 2, 1, 1, 2, 1, 1));
    assert_eq!(run.stated_mismatch.as_deref(), Some("tests=9 failures=0"), "the file's own totals are not trusted");
    assert_eq!((run.name.as_str(), run.file.as_str()), ("all", "unit.xml"));
    assert_eq!((run.subject.as_str(), run.subject_version.as_deref()), ("app", Some("1.0")));
    assert_eq!(run.started_at.as_deref(), Some("2026-11-20T10:00:00"));
    assert_eq!(run.ran_at().to_rfc3339(), "2026-11-20T10:00:00+00:00", "a zone-less time reads as UTC");
}

#[test]
fn a_testsuite_root_with_matching_totals_and_tags_by_pattern() {
    let xml = r#"<testsuite name="chaos-network" tests="2" failures="0" errors="0" skipped="0">
  <testcase classname="canary.Deploy" name="rolls out"/>
  <testcase classname="net" name="partition heals"/>
</testsuite>"#;
    let tags = BTreeMap::from([
        ("chaos".to_string(), vec!["CHAOS-*".to_string()]),
        ("canary".to_string(), vec!["canary.*".to_string()]),
    ]);
    let (run, cases) = collect_with(xml.as_bytes(), "report.xml", &tags).unwrap();
    assert_eq!(run.stated_mismatch, None);
    assert_eq!((run.subject.as_str(), run.subject_version.as_deref()), ("chaos-network", None));
    assert_eq!(cases[0].tags, "canary; chaos");
    assert_eq!(cases[1].tags, "chaos");
    assert_eq!(run.tags, "canary; chaos");
}

#[test]
fn a_report_that_is_not_junit_is_refused_with_its_line() {
    let err = |xml: &str| collect(xml).unwrap_err();
    assert_eq!(
        err("<html><body/></html>"),
        "not a JUnit XML report: the root element is <html>, expected <testsuites> or <testsuite>"
    );
    assert_eq!(err(""), "not a JUnit XML report: no root element");
    assert_eq!(err("<testsuite>\n<testcase/>\n</testsuite>"), "line 2: a <testcase> has no name");
    assert!(err("<testsuite>\n<testcase name=\"a\">\n</testsuite>").starts_with("not a JUnit XML report: line 3: "));
    assert_eq!(err("<testsuite><testcase name=\"a\">"), "not a JUnit XML report: it ends inside <testcase>");
    let dtd = "<!DOCTYPE testsuite [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<testsuite/>";
    assert_eq!(err(dtd), "line 1: a DTD is not accepted in a JUnit report");
    let deep = format!("<testsuite>{}", "<testsuite>".repeat(80));
    assert!(err(&deep).contains("nest deeper than 64"), "{}", err(&deep));
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/junit")
}

/// Every real report gives the cases and statuses an independent counter
/// (`fixtures/junit/expected.py`) finds in it.
#[test]
fn every_real_report_gives_the_cases_an_independent_count_finds() {
    let out = std::process::Command::new("python3").arg(fixtures().join("expected.py")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected = String::from_utf8(out.stdout).unwrap();
    let mut checked = 0;
    for line in expected.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let name = fields[0];
        let bytes = std::fs::read(fixtures().join(name)).unwrap();
        let (run, cases) = collect_with(&bytes, name, &BTreeMap::new()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = format!(
            "cases={} passed={} failed={} errors={} skipped={} flaky={}",
            cases.len(),
            run.passed,
            run.failed,
            run.errors,
            run.skipped,
            run.flaky
        );
        assert_eq!(got, fields[1], "{name}");
        assert_eq!(run.tests, cases.len() as u64);
        checked += 1;
    }
    assert!(checked >= 6, "every fixture is counted: {expected}");
}
