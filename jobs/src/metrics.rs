//! The Prometheus textfile that `cairn run --metrics-file` leaves for node_exporter's textfile collector:
//! what the last run did, as gauges an alert rule can read.
//!
//! Owns the metric names, the exposition text and the atomic write. Does not measure anything: the
//! pipeline fills a [`RunMetrics`]. The collector skips a whole file that has sample timestamps, so none
//! are written; it reads only `*.prom`, so the temporary file is a dot-file beside the target.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::Path;

use anyhow::{Context as _, Result};
use cairn_controls::Status;
use chrono::{DateTime, Utc};

/// What one run of a job did, as the metrics file reports it.
#[derive(Clone, Debug)]
pub struct RunMetrics {
    /// The job's name: the `job` label of every sample.
    pub job: String,
    /// The run's id, when it got far enough to have one.
    pub run_id: Option<String>,
    /// The process exit code: 0 verified, 1 findings, 2 failed.
    pub exit_code: u8,
    /// Wall-clock time of the whole run.
    pub duration_seconds: f64,
    /// When the run finished.
    pub finished_at: DateTime<Utc>,
    /// The steps that ran, in the order they ran.
    pub steps: Vec<StepMetrics>,
    /// Events collected; `None` when collection did not run (the family is then left out).
    pub events_collected: Option<u64>,
    /// Events verified; `None` when verification did not run.
    pub events_verified: Option<u64>,
    /// Committed findings, counted by kind (`gap`, `broken_link`, ...).
    pub findings_by_kind: BTreeMap<String, u64>,
    /// Chain breaks; `None` when verification did not run.
    pub chain_breaks: Option<u64>,
    /// Signature failures; `None` when verification did not run.
    pub signature_failures: Option<u64>,
    /// Breaks neither resolved nor acknowledged; `None` when verification did not run.
    pub open_findings: Option<u64>,
    /// Breaks acknowledged, their acknowledgement still running; `None` when verification did
    /// not run.
    pub acknowledged_findings: Option<u64>,
    /// Controls counted by status; empty when controls were not evaluated (the family is then left out).
    pub controls_by_status: BTreeMap<String, u64>,
    /// Quarantined records, one entry per configured source.
    pub quarantined_by_source: BTreeMap<String, u64>,
}

/// One step of a run.
#[derive(Clone, Debug)]
pub struct StepMetrics {
    /// The step's name (`collect`, `verify`, ...): the `step` label.
    pub name: String,
    /// How long it took.
    pub seconds: f64,
    /// Whether it succeeded.
    pub ok: bool,
}

impl RunMetrics {
    /// Exit codes 0 (verified) and 1 (findings) are runs that did their job; 2 is a failed run.
    fn succeeded(&self) -> bool {
        self.exit_code <= 1
    }
}

const LAST_SUCCESS: &str = "cairn_last_success_timestamp_seconds";

/// Every status a control can have: each is written, with 0 when no control has it, so an alert on
/// one status never sees its series vanish.
const CONTROL_STATUSES: [Status; 5] =
    [Status::Passing, Status::Failing, Status::Stale, Status::NoEvidence, Status::Manual];

/// A sample's value. Counts stay integers, so a large count is never rounded through `f64`.
#[derive(Clone, Copy)]
enum Value {
    Count(u64),
    Real(f64),
}

impl Value {
    fn flag(b: bool) -> Self {
        Self::Count(u64::from(b))
    }

    /// NaN and infinities are valid exposition but meaningless here: such a sample is left out.
    fn is_writable(self) -> bool {
        match self {
            Self::Count(_) => true,
            Self::Real(x) => x.is_finite(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count(n) => write!(f, "{n}"),
            // `Display` for f64 never uses an exponent: 1795000000, 12.5, 0.001.
            Self::Real(x) => write!(f, "{x}"),
        }
    }
}

/// One sample: the `job` label, at most one other label, and the value.
struct Sample<'a> {
    label: Option<(&'static str, &'a str)>,
    value: Value,
}

impl<'a> Sample<'a> {
    fn plain(value: Value) -> Self {
        Self { label: None, value }
    }

    fn labelled(name: &'static str, label_value: &'a str, value: Value) -> Self {
        Self { label: Some((name, label_value)), value }
    }
}

/// Writes one gauge family; a family left with no writable sample is left out entirely.
fn family(out: &mut String, job: &str, name: &str, help: &str, samples: &[Sample<'_>]) {
    if !samples.iter().any(|s| s.value.is_writable()) {
        return;
    }
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for s in samples.iter().filter(|s| s.value.is_writable()) {
        let _ = write!(out, "{name}{{job=\"{}\"", escape_label_value(job));
        if let Some((label, value)) = s.label {
            let _ = write!(out, ",{label}=\"{}\"", escape_label_value(value));
        }
        let _ = writeln!(out, "}} {}", s.value);
    }
}

/// Escapes a label value as the text format requires: backslash, double quote and newline.
fn escape_label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn unix_seconds(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

/// The exposition text for one run. `previous_last_success` is the last success time from the file this
/// one replaces; it is written only when this run failed (a successful run writes its own finish time).
/// Families come in a fixed order and samples sorted by label, so the same run renders the same bytes.
pub fn render(m: &RunMetrics, previous_last_success: Option<f64>) -> String {
    let mut out = String::new();
    let job = m.job.as_str();
    let succeeded = m.succeeded();

    family(
        &mut out,
        job,
        "cairn_run_success",
        "1 if the last run did its job (exit code 0 or 1), 0 if it failed (exit code 2).",
        &[Sample::plain(Value::flag(succeeded))],
    );
    family(
        &mut out,
        job,
        "cairn_run_exit_code",
        "Exit code of the last run: 0 verified, 1 findings, 2 failed.",
        &[Sample::plain(Value::Count(m.exit_code.into()))],
    );
    family(
        &mut out,
        job,
        "cairn_run_duration_seconds",
        "Wall-clock duration of the last run.",
        &[Sample::plain(Value::Real(m.duration_seconds))],
    );
    family(
        &mut out,
        job,
        "cairn_last_run_timestamp_seconds",
        "Unix time when the last run finished.",
        &[Sample::plain(Value::Real(unix_seconds(m.finished_at)))],
    );
    let last_success = if succeeded { Some(unix_seconds(m.finished_at)) } else { previous_last_success };
    if let Some(t) = last_success {
        family(
            &mut out,
            job,
            LAST_SUCCESS,
            "Unix time when the last successful run (exit code 0 or 1) finished.",
            &[Sample::plain(Value::Real(t))],
        );
    }

    // Two series with the same labels would make the file invalid, so a step that ran twice is
    // reported once: total time, and successful only if every run of it was.
    let mut steps: BTreeMap<&str, (f64, bool)> = BTreeMap::new();
    for s in &m.steps {
        let e = steps.entry(s.name.as_str()).or_insert((0.0, true));
        e.0 += s.seconds;
        e.1 &= s.ok;
    }
    let step_seconds: Vec<_> =
        steps.iter().map(|(name, (secs, _))| Sample::labelled("step", name, Value::Real(*secs))).collect();
    family(&mut out, job, "cairn_step_duration_seconds", "Duration of each step of the last run.", &step_seconds);
    let step_ok: Vec<_> =
        steps.iter().map(|(name, (_, ok))| Sample::labelled("step", name, Value::flag(*ok))).collect();
    family(&mut out, job, "cairn_step_success", "1 if the step succeeded in the last run, 0 if it failed.", &step_ok);

    let counts = [
        ("cairn_events_collected", "Events collected by the last run.", m.events_collected),
        ("cairn_events_verified", "Events verified in the lake, as of the last run.", m.events_verified),
    ];
    for (name, help, n) in counts {
        if let Some(n) = n {
            family(&mut out, job, name, help, &[Sample::plain(Value::Count(n))]);
        }
    }

    let by_kind = labelled_counts("kind", &m.findings_by_kind);
    family(&mut out, job, "cairn_findings", "Findings in the lake by kind, as of the last run.", &by_kind);

    let counts = [
        (
            "cairn_chain_breaks",
            "Chain-break findings in the lake (altered, missing, unplaceable, forked events), as of the last run.",
            m.chain_breaks,
        ),
        (
            "cairn_signature_failures",
            "Signature and key findings in the lake, as of the last run.",
            m.signature_failures,
        ),
        (
            "cairn_open_findings",
            "Breaks in the lake neither resolved nor acknowledged, as of the last run: what exit code 1 follows.",
            m.open_findings,
        ),
        (
            "cairn_acknowledged_findings",
            "Breaks in the lake acknowledged until a date still ahead, as of the last run.",
            m.acknowledged_findings,
        ),
    ];
    for (name, help, n) in counts {
        if let Some(n) = n {
            family(&mut out, job, name, help, &[Sample::plain(Value::Count(n))]);
        }
    }

    if !m.controls_by_status.is_empty() {
        let mut by_status: BTreeMap<&str, u64> = CONTROL_STATUSES.iter().map(|s| (s.as_str(), 0)).collect();
        for (status, n) in &m.controls_by_status {
            by_status.insert(status, *n);
        }
        let samples: Vec<_> =
            by_status.iter().map(|(status, n)| Sample::labelled("status", status, Value::Count(*n))).collect();
        family(&mut out, job, "cairn_controls", "Controls by status after the last run.", &samples);
    }

    let by_source = labelled_counts("source", &m.quarantined_by_source);
    family(&mut out, job, "cairn_quarantined_records", "Records quarantined by the last run, by source.", &by_source);

    if let Some(run_id) = &m.run_id {
        family(
            &mut out,
            job,
            "cairn_run_info",
            "The last run's id, as the label run_id; the value is always 1.",
            &[Sample::labelled("run_id", run_id, Value::Count(1))],
        );
    }
    out
}

fn labelled_counts<'a>(label: &'static str, counts: &'a BTreeMap<String, u64>) -> Vec<Sample<'a>> {
    counts.iter().map(|(k, n)| Sample::labelled(label, k, Value::Count(*n))).collect()
}

/// Writes the metrics file at `path` atomically: a dot-file in the same directory (the collector reads only
/// `*.prom`), fsynced, then renamed over `path`. When the run failed, the last success time is carried over
/// from the file being replaced, so `time() - cairn_last_success_timestamp_seconds` keeps growing.
pub fn write_textfile(path: &Path, m: &RunMetrics) -> Result<()> {
    write_atomically(path, m).with_context(|| format!("writing metrics file {}", path.display()))
}

fn write_atomically(path: &Path, m: &RunMetrics) -> Result<()> {
    let previous = if m.succeeded() {
        None
    } else {
        match fs::read(path) {
            Ok(bytes) => last_success_in(&String::from_utf8_lossy(&bytes), &m.job),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).context("reading the previous file for the last success time"),
        }
    };
    let text = render(m, previous);

    let name = path.file_name().context("the path has no file name")?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);

    let written = write_synced(&tmp, text.as_bytes())
        .and_then(|()| fs::rename(&tmp, path).with_context(|| format!("renaming {} over it", tmp.display())));
    if written.is_err() {
        // Best effort: the temporary file may not exist, and the original error is the one to report.
        let _ = fs::remove_file(&tmp);
    }
    written?;
    sync_dir(dir);
    Ok(())
}

fn write_synced(tmp: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(tmp).with_context(|| format!("creating temporary file {}", tmp.display()))?;
    f.write_all(bytes).with_context(|| format!("writing temporary file {}", tmp.display()))?;
    f.sync_all().with_context(|| format!("syncing temporary file {}", tmp.display()))
}

/// Makes the rename durable. The new file is already in place when this runs, so a failure only weakens
/// durability across a power cut, which the next run repairs: it is logged, not returned.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(dir = %dir.display(), error = %e, "could not sync the metrics file's directory");
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The value of `cairn_last_success_timestamp_seconds{job="<job>"}` in an earlier metrics file, if it has
/// one that is a finite number. Lines that do not parse are skipped: the file may be from an older version.
fn last_success_in(text: &str, job: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(LAST_SUCCESS)?.strip_prefix('{')?;
        let (labels, rest) = parse_labels(rest)?;
        if !labels.iter().any(|(k, v)| k == "job" && v == job) {
            return None;
        }
        let value: f64 = rest.split_whitespace().next()?.parse().ok()?;
        value.is_finite().then_some(value)
    })
}

/// Parses `name="value",...}` (the part after `{`), undoing the escapes; returns the labels and the rest
/// of the line after `}`.
fn parse_labels(mut s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('}') {
            return Some((labels, rest));
        }
        let (name, rest) = s.split_once('=')?;
        let quoted = rest.trim_start().strip_prefix('"')?;
        let mut chars = quoted.char_indices();
        let mut value = String::new();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        labels.push((name.trim().to_owned(), value));
        s = quoted[end + 1..].trim_start();
        s = s.strip_prefix(',').unwrap_or(s);
    }
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};

    use chrono::TimeZone as _;

    use super::*;

    fn small() -> RunMetrics {
        RunMetrics {
            job: "nightly".into(),
            run_id: Some("20261121T020200Z-93096d3c".into()),
            exit_code: 1,
            duration_seconds: 12.5,
            finished_at: Utc.with_ymd_and_hms(2026, 11, 21, 2, 2, 12).unwrap(),
            steps: vec![
                StepMetrics { name: "collect".into(), seconds: 3.2, ok: true },
                StepMetrics { name: "verify".into(), seconds: 9.25, ok: true },
            ],
            events_collected: Some(7200),
            events_verified: Some(7196),
            findings_by_kind: BTreeMap::from([("gap".into(), 1), ("broken_link".into(), 7)]),
            chain_breaks: Some(7),
            signature_failures: Some(0),
            open_findings: Some(6),
            acknowledged_findings: Some(2),
            controls_by_status: BTreeMap::from([("passing".into(), 30), ("failing".into(), 2)]),
            quarantined_by_source: BTreeMap::from([("splunk".into(), 0), ("datadog".into(), 3)]),
        }
    }

    fn failed(mut m: RunMetrics) -> RunMetrics {
        m.exit_code = 2;
        m.finished_at += chrono::Duration::days(1);
        m
    }

    const FINISHED: &str = "1795226532"; // 2026-11-21T02:02:12Z

    #[test]
    fn render_full_run() {
        let expected = format!(
            r#"# HELP cairn_run_success 1 if the last run did its job (exit code 0 or 1), 0 if it failed (exit code 2).
# TYPE cairn_run_success gauge
cairn_run_success{{job="nightly"}} 1
# HELP cairn_run_exit_code Exit code of the last run: 0 verified, 1 findings, 2 failed.
# TYPE cairn_run_exit_code gauge
cairn_run_exit_code{{job="nightly"}} 1
# HELP cairn_run_duration_seconds Wall-clock duration of the last run.
# TYPE cairn_run_duration_seconds gauge
cairn_run_duration_seconds{{job="nightly"}} 12.5
# HELP cairn_last_run_timestamp_seconds Unix time when the last run finished.
# TYPE cairn_last_run_timestamp_seconds gauge
cairn_last_run_timestamp_seconds{{job="nightly"}} {FINISHED}
# HELP cairn_last_success_timestamp_seconds Unix time when the last successful run (exit code 0 or 1) finished.
# TYPE cairn_last_success_timestamp_seconds gauge
cairn_last_success_timestamp_seconds{{job="nightly"}} {FINISHED}
# HELP cairn_step_duration_seconds Duration of each step of the last run.
# TYPE cairn_step_duration_seconds gauge
cairn_step_duration_seconds{{job="nightly",step="collect"}} 3.2
cairn_step_duration_seconds{{job="nightly",step="verify"}} 9.25
# HELP cairn_step_success 1 if the step succeeded in the last run, 0 if it failed.
# TYPE cairn_step_success gauge
cairn_step_success{{job="nightly",step="collect"}} 1
cairn_step_success{{job="nightly",step="verify"}} 1
# HELP cairn_events_collected Events collected by the last run.
# TYPE cairn_events_collected gauge
cairn_events_collected{{job="nightly"}} 7200
# HELP cairn_events_verified Events verified in the lake, as of the last run.
# TYPE cairn_events_verified gauge
cairn_events_verified{{job="nightly"}} 7196
# HELP cairn_findings Findings in the lake by kind, as of the last run.
# TYPE cairn_findings gauge
cairn_findings{{job="nightly",kind="broken_link"}} 7
cairn_findings{{job="nightly",kind="gap"}} 1
# HELP cairn_chain_breaks Chain-break findings in the lake (altered, missing, unplaceable, forked events), as of the last run.
# TYPE cairn_chain_breaks gauge
cairn_chain_breaks{{job="nightly"}} 7
# HELP cairn_signature_failures Signature and key findings in the lake, as of the last run.
# TYPE cairn_signature_failures gauge
cairn_signature_failures{{job="nightly"}} 0
# HELP cairn_open_findings Breaks in the lake neither resolved nor acknowledged, as of the last run: what exit code 1 follows.
# TYPE cairn_open_findings gauge
cairn_open_findings{{job="nightly"}} 6
# HELP cairn_acknowledged_findings Breaks in the lake acknowledged until a date still ahead, as of the last run.
# TYPE cairn_acknowledged_findings gauge
cairn_acknowledged_findings{{job="nightly"}} 2
# HELP cairn_controls Controls by status after the last run.
# TYPE cairn_controls gauge
cairn_controls{{job="nightly",status="failing"}} 2
cairn_controls{{job="nightly",status="manual"}} 0
cairn_controls{{job="nightly",status="no_evidence"}} 0
cairn_controls{{job="nightly",status="passing"}} 30
cairn_controls{{job="nightly",status="stale"}} 0
# HELP cairn_quarantined_records Records quarantined by the last run, by source.
# TYPE cairn_quarantined_records gauge
cairn_quarantined_records{{job="nightly",source="datadog"}} 3
cairn_quarantined_records{{job="nightly",source="splunk"}} 0
# HELP cairn_run_info The last run's id, as the label run_id; the value is always 1.
# TYPE cairn_run_info gauge
cairn_run_info{{job="nightly",run_id="20261121T020200Z-93096d3c"}} 1
"#
        );
        assert_eq!(render(&small(), None), expected);
    }

    #[test]
    fn render_leaves_out_what_did_not_run() {
        let mut m = failed(small());
        m.run_id = None;
        m.steps = vec![StepMetrics { name: "collect".into(), seconds: 0.5, ok: false }];
        m.events_collected = None;
        m.events_verified = None;
        m.findings_by_kind.clear();
        m.chain_breaks = None;
        m.signature_failures = None;
        m.open_findings = None;
        m.acknowledged_findings = None;
        m.controls_by_status.clear();
        let text = render(&m, None);
        for absent in [
            LAST_SUCCESS,
            "cairn_events_collected",
            "cairn_events_verified",
            "cairn_findings",
            "cairn_chain_breaks",
            "cairn_signature_failures",
            "cairn_open_findings",
            "cairn_acknowledged_findings",
            "cairn_controls",
            "cairn_run_info",
        ] {
            assert!(!text.contains(&format!("{absent}{{")), "{absent} written:\n{text}");
            assert!(!text.contains(&format!("# TYPE {absent} ")), "{absent} declared:\n{text}");
        }
        assert!(text.contains("cairn_run_success{job=\"nightly\"} 0\n"), "{text}");
        assert!(text.contains("cairn_run_exit_code{job=\"nightly\"} 2\n"), "{text}");
        assert!(text.contains("cairn_step_success{job=\"nightly\",step=\"collect\"} 0\n"), "{text}");
        assert!(text.contains("cairn_quarantined_records{job=\"nightly\",source=\"splunk\"} 0\n"), "{text}");
    }

    #[test]
    fn render_never_writes_non_finite_numbers_or_exponents() {
        let mut m = small();
        m.duration_seconds = f64::NAN;
        m.steps[0].seconds = f64::INFINITY;
        m.findings_by_kind.insert("gap".into(), u64::MAX);
        m.finished_at = Utc.with_ymd_and_hms(2286, 11, 20, 17, 46, 40).unwrap(); // 1e10 seconds
        let text = render(&m, None);
        assert!(!text.contains("cairn_run_duration_seconds{"), "{text}");
        assert!(!text.contains("step=\"collect\"} inf"), "{text}");
        assert!(text.contains("cairn_step_duration_seconds{job=\"nightly\",step=\"verify\"} 9.25\n"), "{text}");
        assert!(text.contains("cairn_last_run_timestamp_seconds{job=\"nightly\"} 10000000000\n"), "{text}");
        assert!(text.contains(&format!("kind=\"gap\"}} {}\n", u64::MAX)), "{text}");
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.chars().all(|c| c.is_ascii_digit() || c == '.'), "{line}");
        }
    }

    #[test]
    fn render_escapes_label_values() {
        let mut m = small();
        m.job = "night\"ly".into();
        m.quarantined_by_source = BTreeMap::from([("we\"ird\\src\nname".into(), 4)]);
        let text = render(&m, None);
        assert!(
            text.contains("cairn_quarantined_records{job=\"night\\\"ly\",source=\"we\\\"ird\\\\src\\nname\"} 4\n"),
            "{text}"
        );
        // Every sample stays on one line.
        assert!(text.lines().all(|l| l.starts_with("# ") || l.starts_with("cairn_")), "{text}");
    }

    #[test]
    fn failed_run_carries_the_previous_success_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cairn.prom");
        let ok = small();
        write_textfile(&path, &ok).unwrap();
        let first = fs::read_to_string(&path).unwrap();
        assert!(first.contains(&format!("{LAST_SUCCESS}{{job=\"nightly\"}} {FINISHED}\n")), "{first}");

        let bad = failed(ok.clone());
        write_textfile(&path, &bad).unwrap();
        let second = fs::read_to_string(&path).unwrap();
        assert!(second.contains(&format!("{LAST_SUCCESS}{{job=\"nightly\"}} {FINISHED}\n")), "{second}");
        assert!(second.contains("cairn_run_success{job=\"nightly\"} 0\n"), "{second}");
        assert!(second.contains("cairn_last_run_timestamp_seconds{job=\"nightly\"} 1795312932\n"), "{second}");

        // Still carried after a second failure, from the file the first failure wrote.
        write_textfile(&path, &failed(bad.clone())).unwrap();
        let third = fs::read_to_string(&path).unwrap();
        assert!(third.contains(&format!("{LAST_SUCCESS}{{job=\"nightly\"}} {FINISHED}\n")), "{third}");

        // A success replaces it with its own finish time.
        let mut good = bad;
        good.exit_code = 0;
        write_textfile(&path, &good).unwrap();
        let fourth = fs::read_to_string(&path).unwrap();
        assert!(fourth.contains(&format!("{LAST_SUCCESS}{{job=\"nightly\"}} 1795312932\n")), "{fourth}");
    }

    #[test]
    fn failed_run_without_an_earlier_success_has_no_success_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cairn.prom");
        write_textfile(&path, &failed(small())).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains(LAST_SUCCESS), "{text}");

        // Another job's success time in the file is not this job's.
        let other = r#"cairn_last_success_timestamp_seconds{job="weekly"} 1700000000"#;
        fs::write(&path, other).unwrap();
        write_textfile(&path, &failed(small())).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains(LAST_SUCCESS), "{text}");
    }

    #[test]
    fn last_success_is_read_back_through_escapes() {
        let mut m = small();
        m.job = "a\"b\\c\nd,e}".into();
        let text = render(&m, None);
        assert_eq!(last_success_in(&text, &m.job), Some(1_795_226_532.0));
        assert_eq!(last_success_in(&text, "nightly"), None);
        assert_eq!(last_success_in("cairn_last_success_timestamp_seconds{job=\"x\"} NaN", "x"), None);
        assert_eq!(last_success_in("cairn_last_success_timestamp_seconds{job=\"x\"", "x"), None);
    }

    #[test]
    fn write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cairn.prom");
        fs::write(&path, "old").unwrap();
        write_textfile(&path, &small()).unwrap();
        let names: Vec<_> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert_eq!(names, ["cairn.prom"]);
        assert_eq!(fs::read_to_string(&path).unwrap(), render(&small(), None));
    }

    #[test]
    fn write_into_a_missing_directory_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("cairn.prom");
        let err = write_textfile(&path, &small()).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(fs::read_dir(dir.path()).unwrap().next().is_none(), "something was left behind");
    }

    /// The output goes through the Python client's text-format parser (`prometheus-client`, installed by
    /// scripts/test), which must find every family with exactly the samples expected.
    #[test]
    fn output_parses_with_the_prometheus_parser() {
        let mut m = small();
        m.quarantined_by_source.insert("we\"ird\\src\nname".into(), 4);
        let text = render(&m, None);
        let job = |extra: &[(&str, &str)]| {
            let mut labels = serde_json::Map::new();
            labels.insert("job".into(), "nightly".into());
            for (k, v) in extra {
                labels.insert((*k).into(), (*v).into());
            }
            labels
        };
        let finished: f64 = FINISHED.parse().unwrap();
        let expected = serde_json::json!({
            "cairn_run_success": [[job(&[]), 1.0]],
            "cairn_run_exit_code": [[job(&[]), 1.0]],
            "cairn_run_duration_seconds": [[job(&[]), 12.5]],
            "cairn_last_run_timestamp_seconds": [[job(&[]), finished]],
            "cairn_last_success_timestamp_seconds": [[job(&[]), finished]],
            "cairn_step_duration_seconds": [[job(&[("step", "collect")]), 3.2], [job(&[("step", "verify")]), 9.25]],
            "cairn_step_success": [[job(&[("step", "collect")]), 1.0], [job(&[("step", "verify")]), 1.0]],
            "cairn_events_collected": [[job(&[]), 7200.0]],
            "cairn_events_verified": [[job(&[]), 7196.0]],
            "cairn_findings": [[job(&[("kind", "broken_link")]), 7.0], [job(&[("kind", "gap")]), 1.0]],
            "cairn_chain_breaks": [[job(&[]), 7.0]],
            "cairn_signature_failures": [[job(&[]), 0.0]],
            "cairn_open_findings": [[job(&[]), 6.0]],
            "cairn_acknowledged_findings": [[job(&[]), 2.0]],
            "cairn_controls": [
                [job(&[("status", "failing")]), 2.0],
                [job(&[("status", "manual")]), 0.0],
                [job(&[("status", "no_evidence")]), 0.0],
                [job(&[("status", "passing")]), 30.0],
                [job(&[("status", "stale")]), 0.0],
            ],
            "cairn_quarantined_records": [
                [job(&[("source", "datadog")]), 3.0],
                [job(&[("source", "splunk")]), 0.0],
                [job(&[("source", "we\"ird\\src\nname")]), 4.0],
            ],
            "cairn_run_info": [[job(&[("run_id", "20261121T020200Z-93096d3c")]), 1.0]],
        });
        let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
expected = json.loads(sys.argv[1])
families = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}
assert sorted(families) == sorted(expected), f"families {sorted(families)} != {sorted(expected)}"
for name, want in expected.items():
    f = families[name]
    assert f.type == "gauge", f"{name}: type {f.type}"
    assert f.documentation, f"{name}: no HELP"
    got = [[s.labels, s.value] for s in f.samples]
    assert got == want, f"{name}: samples {got} != {want}"
    assert all(s.name == name and s.timestamp is None for s in f.samples), f"{name}: {f.samples}"
"#;
        let mut child = Command::new("python3")
            .args(["-c", script, &expected.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 (scripts/test installs it)");
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "the Prometheus parser rejected the output:\n{}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
