//! Source type `junit`: JUnit XML test reports in the variants tools write (Ant and Jenkins,
//! Maven Surefire with flaky reruns, pytest, go-junit-report, jest-junit, …), into one `test_runs`
//! row per report and one `test_cases` row per test case. The report's exact bytes are kept as a
//! blob.
//!
//! What is read:
//! - the root is `<testsuites>` or `<testsuite>`; suites may nest in either, to any depth (up to
//!   64 levels); every `<testcase>` anywhere is one case, its suite the names of the suites it
//!   sits in, outermost first;
//! - a case's status: a `<failure>` child makes it `failed`; else an `<error>` child `error`;
//!   else a `<skipped>` child `skipped`, or `quarantined` when the skip's message (or text)
//!   matches one of the source's `quarantine` patterns; else `passed`. Surefire's
//!   `flakyFailure`/`flakyError` and `rerunFailure`/`rerunError` children count as `reruns`: a
//!   passed case with reruns is flaky;
//! - the run's totals are counted from its cases; totals the file states (the root's `tests`,
//!   `failures`, `errors`, `skipped`, or the sum of its top-level suites') that disagree are
//!   kept in `stated_mismatch`, never used;
//! - the run's name is the root's `name`, else the first suite's; its time the first suite's
//!   `timestamp`;
//! - the release is the folder `<subject>/<version>/` the report sits in, as for scans and
//!   release files; else the subject is the run's name, with no version;
//! - a case's tags are those of the source's `tags` whose patterns match its suite, classname or
//!   name.
//!
//! ```toml
//! [[source]]
//! name = "tests"
//! type = "junit"
//! url = "inputs/tests/"
//! quarantine = ["*quarantine*"]   # the default: globs over a skip's message, any case
//! [source.tags]                   # tag → globs over suite, classname or case name, any case
//! chaos = ["*chaos*"]
//! canary = ["canary*"]
//! ```
//!
//! Entities other than XML's five and character references are refused, and no DTD is read.

use std::collections::{BTreeMap, BTreeSet};

use cairn_evidence::artefacts::{ArtefactSet, TestCaseRow, TestRunRow};
use cairn_evidence::keyring::glob_match;
use cairn_evidence::tables::Provenance;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use serde::Deserialize;

use crate::artefact;
use crate::error::CollectError;
use crate::run::{CollectRun, Cursors, SourceReport};
use crate::sink::RowSink;

/// A `junit` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Junit {
    /// Source name (unique in the configuration).
    pub name: String,
    /// The source holds synthetic data.
    #[serde(default)]
    pub simulated: bool,
    /// A file, a folder, or a `file://` URL; relative paths resolve against the config file.
    pub url: String,
    /// Globs over a skip's message that mark the skipped case quarantined.
    #[serde(default = "default_quarantine")]
    pub quarantine: Vec<String>,
    /// Tag → globs over a case's suite, classname or name.
    #[serde(default)]
    pub tags: BTreeMap<String, Vec<String>>,
}

fn default_quarantine() -> Vec<String> {
    vec!["*quarantine*".into()]
}

/// What the report of a `junit` source counts.
const UNIT: &str = "test reports";

/// What a report's cases are matched against.
struct Patterns<'a> {
    quarantine: &'a [String],
    tags: &'a BTreeMap<String, Vec<String>>,
}

impl crate::source::Source for Junit {
    fn name(&self) -> &str {
        &self.name
    }

    fn type_name(&self) -> &'static str {
        "junit"
    }

    fn simulated(&self) -> bool {
        self.simulated
    }

    async fn collect(
        &self,
        run: &CollectRun<'_>,
        writer: &mut cairn_evidence::lake::RunWriter<'_>,
        sink: &mut RowSink,
        cursors: &mut Cursors,
    ) -> Result<SourceReport, CollectError> {
        let config =
            crate::config::ArtefactConfig { name: self.name.clone(), simulated: self.simulated, url: self.url.clone() };
        let patterns = Patterns { quarantine: &self.quarantine, tags: &self.tags };
        let parse = |bytes: &[u8], relative: &str, blob: &str, provenance: &Provenance, rows: &mut ArtefactSet| {
            parse(bytes, relative, blob, provenance, rows, &patterns)
        };
        artefact::collect_with(UNIT, Some(&parse), &config, run, writer, sink, cursors).await
    }
}

/// Deepest nesting of elements read.
const MAX_DEPTH: usize = 64;

/// One case as read.
#[derive(Default)]
struct Case {
    suite: String,
    classname: Option<String>,
    name: String,
    time: Option<String>,
    failure: Option<String>,
    error: Option<String>,
    skipped: Option<String>,
    reruns: u64,
}

/// The totals a suite or the root states.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
struct Stated {
    tests: Option<u64>,
    failures: Option<u64>,
    errors: Option<u64>,
    skipped: Option<u64>,
}

impl Stated {
    fn of(e: &BytesStart<'_>) -> Self {
        let n = |key: &str| attribute(e, key).and_then(|v| v.trim().parse().ok());
        Self { tests: n("tests"), failures: n("failures"), errors: n("errors"), skipped: n("skipped").or(n("skip")) }
    }

    fn add(self, other: Self) -> Self {
        let sum = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        Self {
            tests: sum(self.tests, other.tests),
            failures: sum(self.failures, other.failures),
            errors: sum(self.errors, other.errors),
            skipped: sum(self.skipped, other.skipped),
        }
    }
}

fn attribute(e: &BytesStart<'_>, key: &str) -> Option<String> {
    let a = e.try_get_attribute(key).ok()??;
    a.unescape_value().ok().map(std::borrow::Cow::into_owned)
}

/// The first line of a message, at most 200 characters.
fn first_line(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.chars().take(200).collect())
}

/// 1-based line of byte `offset` in `bytes`.
fn line_at(bytes: &[u8], offset: u64) -> usize {
    let end = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
    memchr::memchr_iter(b'\n', &bytes[..end]).count() + 1
}

fn parse(
    bytes: &[u8],
    relative: &str,
    blob: &str,
    provenance: &Provenance,
    rows: &mut ArtefactSet,
    patterns: &Patterns<'_>,
) -> Result<u64, String> {
    let report = read(bytes)?;
    let file = relative.rsplit('/').next().unwrap_or(relative).to_string();
    let name = report.name.clone().unwrap_or_else(|| file.clone());
    let (subject, subject_version) = match artefact::release_folder(relative) {
        Some((s, v)) => (s, Some(v)),
        None => (name.clone(), None),
    };
    let matches = |globs: &[String], text: &str| {
        let text = text.to_lowercase();
        globs.iter().any(|g| glob_match(&g.to_lowercase(), &text))
    };
    let mut totals = [0u64; 6]; // passed, failed, errors, skipped, quarantined, flaky
    let mut run_tags = BTreeSet::new();
    for c in report.cases {
        let skip_text = c.skipped.as_deref().unwrap_or_default();
        let (status, message) = if c.failure.is_some() {
            ("failed", c.failure.as_deref())
        } else if c.error.is_some() {
            ("error", c.error.as_deref())
        } else if c.skipped.is_some() && matches(patterns.quarantine, skip_text) {
            ("quarantined", c.skipped.as_deref())
        } else if c.skipped.is_some() {
            ("skipped", c.skipped.as_deref())
        } else {
            ("passed", None)
        };
        match status {
            "passed" => {
                totals[0] += 1;
                if c.reruns > 0 {
                    totals[5] += 1;
                }
            }
            "failed" => totals[1] += 1,
            "error" => totals[2] += 1,
            "skipped" => totals[3] += 1,
            _ => {
                totals[3] += 1;
                totals[4] += 1;
            }
        }
        let named = [Some(c.suite.as_str()), c.classname.as_deref(), Some(c.name.as_str())];
        let tags: Vec<String> = patterns
            .tags
            .iter()
            .filter(|(_, globs)| named.iter().flatten().any(|n| matches(globs, n)))
            .map(|(tag, _)| tag.clone())
            .collect();
        run_tags.extend(tags.iter().cloned());
        rows.test_cases.push(TestCaseRow {
            run_blob: blob.to_string(),
            subject: subject.clone(),
            subject_version: subject_version.clone(),
            suite: c.suite,
            classname: c.classname,
            name: c.name,
            status: status.to_string(),
            reruns: c.reruns,
            time: c.time,
            message: message.and_then(first_line),
            tags: tags.join("; "),
            provenance: provenance.clone(),
        });
    }
    let [passed, failed, errors, skipped, quarantined, flaky] = totals;
    let tests = passed + failed + errors + skipped;
    let counted = Stated { tests: Some(tests), failures: Some(failed), errors: Some(errors), skipped: Some(skipped) };
    let stated = report.stated;
    let differs = |s: Option<u64>, c: Option<u64>| s.is_some() && s != c;
    let stated_mismatch = (differs(stated.tests, counted.tests)
        || differs(stated.failures, counted.failures)
        || differs(stated.errors, counted.errors)
        || differs(stated.skipped, counted.skipped))
    .then(|| {
        [("tests", stated.tests), ("failures", stated.failures), ("errors", stated.errors), ("skipped", stated.skipped)]
            .iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
            .collect::<Vec<_>>()
            .join(" ")
    });
    rows.test_runs.push(TestRunRow {
        blob: blob.to_string(),
        file,
        name,
        subject,
        subject_version,
        started_at: report.timestamp,
        tests,
        passed,
        failed,
        errors,
        skipped,
        quarantined,
        flaky,
        stated_mismatch,
        tags: run_tags.into_iter().collect::<Vec<_>>().join("; "),
        provenance: provenance.clone(),
    });
    Ok(1)
}

/// A report as read.
struct Report {
    name: Option<String>,
    timestamp: Option<String>,
    stated: Stated,
    cases: Vec<Case>,
}

/// Reads a JUnit XML report: its root, its suites, its cases.
fn read(bytes: &[u8]) -> Result<Report, String> {
    let mut reader = Reader::from_reader(bytes);
    let at = |reader: &Reader<&[u8]>| line_at(bytes, reader.buffer_position());
    let mut stack: Vec<String> = Vec::new();
    let mut suites: Vec<String> = Vec::new();
    let mut root: Option<(String, Stated, Stated)> = None; // element, own totals, top-level suites' totals
    let mut report = Report { name: None, timestamp: None, stated: Stated::default(), cases: Vec::new() };
    let mut case: Option<Case> = None;
    // Which child of a case is open (`failure`, `error`, `skipped`), to take its text as message.
    let mut open_child: Option<String> = None;
    let mut child_text = String::new();
    let mut first_suite_name: Option<String> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("not a JUnit XML report: line {}: {e}", line_at(bytes, reader.error_position())))?;
        let (e, empty) = match &event {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            Event::End(_) => {
                let closed = stack.pop().unwrap_or_default();
                match closed.as_str() {
                    "testsuite" => {
                        suites.pop();
                    }
                    "testcase" => report.cases.extend(case.take()),
                    _ => {}
                }
                if open_child.as_deref() == Some(closed.as_str()) {
                    // A child without a `message` attribute: its text is the message.
                    if let Some(c) = case.as_mut() {
                        let slot = match closed.as_str() {
                            "failure" => &mut c.failure,
                            "error" => &mut c.error,
                            _ => &mut c.skipped,
                        };
                        if slot.as_deref().is_some_and(str::is_empty) {
                            *slot = Some(std::mem::take(&mut child_text));
                        }
                    }
                    child_text.clear();
                    open_child = None;
                }
                continue;
            }
            Event::Text(t) => {
                if open_child.is_some() {
                    child_text.push_str(&t.decode().unwrap_or_default());
                }
                continue;
            }
            Event::CData(t) => {
                if open_child.is_some() {
                    child_text.push_str(&t.decode().unwrap_or_default());
                }
                continue;
            }
            Event::GeneralRef(r) => {
                if open_child.is_some() {
                    let name = r.decode().unwrap_or_default();
                    match (r.resolve_char_ref(), quick_xml::escape::resolve_predefined_entity(&name)) {
                        (Ok(Some(ch)), _) => child_text.push(ch),
                        (_, Some(text)) => child_text.push_str(text),
                        _ => return Err(format!("line {}: unknown entity &{name};", at(&reader))),
                    }
                }
                continue;
            }
            Event::DocType(_) => return Err(format!("line {}: a DTD is not accepted in a JUnit report", at(&reader))),
            Event::Eof => break,
            _ => continue,
        };
        let Some(e) = e else { continue };
        let tag = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        if root.is_none() {
            if tag != "testsuites" && tag != "testsuite" {
                return Err(format!(
                    "not a JUnit XML report: the root element is <{tag}>, expected <testsuites> or <testsuite>"
                ));
            }
            report.name = attribute(e, "name").filter(|n| !n.trim().is_empty());
            root = Some((tag.clone(), Stated::of(e), Stated::default()));
        } else if tag == "testsuite" && stack.len() == 1 {
            if let Some(r) = root.as_mut().filter(|r| r.0 == "testsuites") {
                r.2 = r.2.add(Stated::of(e));
            }
        }
        match tag.as_str() {
            "testsuite" => {
                let name = attribute(e, "name").unwrap_or_default();
                first_suite_name.get_or_insert_with(|| name.clone());
                if report.timestamp.is_none() {
                    report.timestamp = attribute(e, "timestamp").filter(|t| !t.trim().is_empty());
                }
                if !empty {
                    suites.push(name);
                }
            }
            "testcase" if case.is_some() => {
                return Err(format!("line {}: a <testcase> inside a <testcase>", at(&reader)));
            }
            "testcase" => {
                let name = attribute(e, "name")
                    .filter(|n| !n.trim().is_empty())
                    .ok_or_else(|| format!("line {}: a <testcase> has no name", at(&reader)))?;
                let c = Case {
                    suite: suites.iter().filter(|s| !s.is_empty()).cloned().collect::<Vec<_>>().join(" / "),
                    classname: attribute(e, "classname").filter(|n| !n.trim().is_empty()),
                    name,
                    time: attribute(e, "time").filter(|t| !t.trim().is_empty()),
                    ..Case::default()
                };
                if empty {
                    report.cases.push(c);
                } else {
                    case = Some(c);
                }
            }
            "failure" | "error" | "skipped" if stack.last().is_some_and(|p| p == "testcase") => {
                if let Some(c) = case.as_mut() {
                    let message = attribute(e, "message").unwrap_or_default();
                    let slot = match tag.as_str() {
                        "failure" => &mut c.failure,
                        "error" => &mut c.error,
                        _ => &mut c.skipped,
                    };
                    slot.get_or_insert(message);
                    if !empty {
                        open_child = Some(tag.clone());
                    }
                }
            }
            "flakyFailure" | "flakyError" | "rerunFailure" | "rerunError" => {
                if let Some(c) = case.as_mut() {
                    c.reruns += 1;
                }
            }
            _ => {}
        }
        if !empty {
            stack.push(tag);
            if stack.len() > MAX_DEPTH {
                return Err(format!("line {}: elements nest deeper than {MAX_DEPTH} levels", at(&reader)));
            }
        }
    }
    let Some((element, own, children)) = root else {
        return Err("not a JUnit XML report: no root element".into());
    };
    if !stack.is_empty() {
        return Err(format!("not a JUnit XML report: it ends inside <{}>", stack.last().cloned().unwrap_or_default()));
    }
    report.stated = if own.tests.is_some() || element == "testsuite" { own } else { children };
    report.name = report.name.or(first_suite_name.filter(|n| !n.trim().is_empty()));
    Ok(report)
}

#[cfg(test)]
mod tests;
