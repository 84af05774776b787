//! Jobs that run unattended: `cairn run`, its lock, its metrics file and publish step; `cairn
//! schedule` and its clean stop; `cairn jobs`.

mod common;

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{cairn, demo, tool};

fn add_job(org: &Path, job: &str) {
    let mut config = std::fs::read_to_string(org.join("cairn.toml")).unwrap();
    config.push('\n');
    config.push_str(job);
    std::fs::write(org.join("cairn.toml"), config).unwrap();
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cairn starts")
}

fn signal(child: &Child, sig: &str) {
    let out = tool(Path::new("."), "kill", &[sig, &child.id().to_string()]);
    assert_eq!(out.code, 0, "kill {sig}: {}", out.stderr);
}

/// Waits for `path` to exist, up to `limit`.
fn wait_for(path: &Path, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// An organisation whose collect and verify take a few seconds: 100,000 signed events.
fn slow_org(dir: &Path) -> std::path::PathBuf {
    let org = dir.join("org");
    let out = cairn(dir, &["bench", "prepare-ingest", "--events", "100000", "--dir", org.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    add_job(&org, "[[job]]\nname = \"nightly\"\nschedule = \"0 30 2 * * *\"\nsteps = [\"collect\", \"verify\"]\n");
    org
}

/// The lake verifies clean from its first manifest, with every event exactly once.
fn assert_lake_clean(org: &Path, events: u64) {
    let out = cairn(org, &["verify", "--full", "--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.stdout.trim(), "[]", "no finding");
    let out = cairn(org, &["verify", "--full"]);
    assert!(out.stdout.contains(&format!("{events} events")), "{}", out.stdout);
}

#[test]
fn a_nightly_run_collects_verifies_renders_bundles_publishes_and_writes_its_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 3);
    // A fresh demo carries the nightly job the README shows, never run yet.
    let out = cairn(&org, &["jobs"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("nightly\n") && out.stdout.contains("0 30 2 * * * (UTC)"), "{}", out.stdout);
    assert!(out.stdout.contains("collect → verify → evaluate → render → bundle → publish"), "{}", out.stdout);
    assert!(out.stdout.contains("last      never ran"), "{}", out.stdout);
    // Run in Berlin's time zone instead.
    let config = std::fs::read_to_string(org.join("cairn.toml")).unwrap();
    let schedule = "schedule = \"0 30 2 * * *\"";
    assert_eq!(config.matches(schedule).count(), 1, "{config}");
    let config = config.replace(schedule, &format!("{schedule}\ntime_zone = \"Europe/Berlin\""));
    std::fs::write(org.join("cairn.toml"), config).unwrap();
    std::fs::create_dir_all(org.join("metrics")).unwrap();
    let out = cairn(&org, &["--metrics-file", "metrics/cairn.prom", "run", "nightly"]);
    // The demo's planted faults were found by the demo's own verify run; this run adds none, but
    // they are still open, so the run says so with exit 1.
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    for step in ["collect", "verify", "evaluate", "render", "bundle", "publish"] {
        assert!(
            out.stdout.lines().any(|l| l.trim_start().starts_with(step) && l.contains("ok")),
            "{step}: {}",
            out.stdout
        );
    }
    assert!(out.stderr.contains("job finished"), "{}", out.stderr);

    // The portal, with its bundles, is published, and the index says what was.
    let published = org.join("published");
    assert_eq!(
        std::fs::read(published.join("index.html")).unwrap(),
        std::fs::read(org.join("portal/index.html")).unwrap()
    );
    let downloads: Vec<String> = std::fs::read_dir(published.join("downloads"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let zips: Vec<&String> =
        downloads.iter().filter(|n| Path::new(n).extension().is_some_and(|e| e == "zip")).collect();
    assert_eq!(zips.len(), 2, "the demo's bundle and this run's: {downloads:?}");
    // Each with its digest file, which `sha256sum -c` checks it against.
    assert_eq!(downloads.len(), 4, "{downloads:?}");
    for zip in zips {
        let sums = tool(&published.join("downloads"), "sha256sum", &["-c", "--strict", &format!("{zip}.sha256")]);
        assert_eq!(sums.code, 0, "{zip}: {}{}", sums.stdout, sums.stderr);
    }
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(published.join(".cairn-published.json")).unwrap()).unwrap();
    assert!(index.as_object().unwrap().contains_key("controls/LOG-02.html"));

    // The metrics file parses with Prometheus' own parser and has what operators alert on.
    let metrics = org.join("metrics/cairn.prom");
    assert!(metrics.exists(), "the metrics file is written");
    let check = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
families = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
def value(name, **labels):
    for s in families[name].samples:
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise SystemExit(f"{name} {labels} missing")
assert value("cairn_run_success", job="nightly") == 1
assert value("cairn_run_exit_code", job="nightly") == 1
assert value("cairn_run_duration_seconds", job="nightly") > 0
assert value("cairn_last_success_timestamp_seconds", job="nightly") > 1.7e9
for step in ["collect", "verify", "evaluate", "render", "bundle", "publish"]:
    assert value("cairn_step_success", job="nightly", step=step) == 1
assert value("cairn_events_collected", job="nightly") == 0
assert value("cairn_events_verified", job="nightly") > 5000
assert value("cairn_findings", job="nightly", kind="gap") == 1
assert value("cairn_chain_breaks", job="nightly") >= 2
assert value("cairn_signature_failures", job="nightly") == 0
assert value("cairn_open_findings", job="nightly") >= 3
assert value("cairn_acknowledged_findings", job="nightly") == 0
assert value("cairn_controls", job="nightly", status="failing") >= 1
assert value("cairn_controls", job="nightly", status="stale") == 1
assert value("cairn_quarantined_records", job="nightly", source="payments") == 0
print("ok", len(families))
"#;
    let out = tool(&org, "python3", &["-c", check, metrics.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);

    // `cairn jobs` lists it with its next times in its time zone and the outcome just recorded.
    let out = cairn(&org, &["jobs"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("nightly") && out.stdout.contains("0 30 2 * * * (Europe/Berlin)"), "{}", out.stdout);
    assert!(out.stdout.contains("exit 1: completed; findings are open"), "{}", out.stdout);
    // 02:30 in Berlin is 01:30 or 00:30 UTC.
    assert!(out.stdout.contains("T01:30:00Z") || out.stdout.contains("T00:30:00Z"), "{}", out.stdout);

    // An unknown job is refused with the list of jobs.
    let out = cairn(&org, &["run", "weekly"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no [[job]] named \"weekly\"") && out.stderr.contains("nightly"), "{}", out.stderr);
}

#[test]
fn a_second_run_is_refused_naming_the_holder_and_a_killed_holder_is_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    let org = slow_org(tmp.path());
    let mut first = spawn(&org, &["run", "nightly"]);
    assert!(
        wait_for(&org.join("store/locks/job-nightly.json"), Duration::from_secs(30)),
        "the first run takes the lock"
    );

    let second = cairn(&org, &["run", "nightly"]);
    assert_eq!(second.code, 2, "{}\n{}", second.stdout, second.stderr);
    assert!(second.stderr.contains("already running"), "{}", second.stderr);
    assert!(second.stderr.contains(&format!(":{} for nightly", first.id())), "names the holder: {}", second.stderr);

    // The holder dies mid-run, without releasing anything.
    signal(&first, "-KILL");
    let _ = first.wait();
    assert!(org.join("store/locks/job-nightly.json").exists(), "a killed run leaves its lock behind");

    let third = cairn(&org, &["run", "nightly"]);
    assert_eq!(third.code, 0, "{}\n{}", third.stdout, third.stderr);
    assert!(third.stderr.contains("taking over the lock of a run that is gone"), "{}", third.stderr);
    assert!(!org.join("store/locks/job-nightly.json").exists() && !org.join("store/locks/writer.json").exists());
    assert_lake_clean(&org, 100_000);
}

#[test]
fn sigterm_abandons_the_step_releases_the_locks_and_the_next_run_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let org = slow_org(tmp.path());
    let mut run = spawn(&org, &["run", "nightly"]);
    assert!(wait_for(&org.join("store/locks/writer.json"), Duration::from_secs(30)), "collect takes the writer lock");
    signal(&run, "-TERM");
    let status = run.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(run.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("stopped by a signal"), "{stderr}");
    assert!(!org.join("store/locks/job-nightly.json").exists() && !org.join("store/locks/writer.json").exists());

    let next = cairn(&org, &["run", "nightly"]);
    assert_eq!(next.code, 0, "{}\n{}", next.stdout, next.stderr);
    assert_lake_clean(&org, 100_000);
}

#[test]
fn the_scheduler_runs_a_job_every_second_and_stops_cleanly_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 4);
    add_job(&org, "[[job]]\nname = \"often\"\nschedule = \"* * * * * *\"\nsteps = [\"evaluate\"]\n");
    let mut scheduler = spawn(&org, &["schedule"]);
    let stderr = std::io::BufReader::new(scheduler.stderr.take().unwrap());
    let mut seen = Vec::new();
    let mut finished = 0;
    for line in stderr.lines() {
        let line = line.unwrap();
        if line.contains("job finished") {
            finished += 1;
        }
        seen.push(line);
        if finished == 2 {
            signal(&scheduler, "-TERM");
        }
        if seen.last().is_some_and(|l| l.contains("scheduler stopped")) {
            break;
        }
        assert!(seen.len() < 500, "{seen:#?}");
    }
    let status = scheduler.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{seen:#?}");
    assert!(
        seen.iter().any(|l| l.contains("scheduled") && l.contains("next=")),
        "logs the next time at start: {seen:#?}"
    );
    assert!(finished >= 2, "{seen:#?}");
    assert!(!org.join("store/locks/job-often.json").exists());
    let out = cairn(&org, &["jobs"]);
    assert!(out.stdout.contains("exit 0"), "{}", out.stdout);
}

/// `cairn bench verify --json` records what it measured, with the build and the machine.
#[test]
fn a_benchmark_records_its_figures_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    let out = cairn(tmp.path(), &["bench", "verify", "--events", "3000", "--chains", "3", "--json", "verify.json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("figures recorded in verify.json"), "{}", out.stdout);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("verify.json")).unwrap()).unwrap();
    assert_eq!((doc["format"].as_str(), doc["benchmark"].as_str()), (Some("cairn-bench/1"), Some("verify")));
    assert_eq!(doc["params"]["events"], 3000);
    let figures = &doc["figures"];
    for name in [
        "cairn_seconds",
        "cairn_events_per_second",
        "cairn_peak_rss_mib",
        "baseline_seconds",
        "ratio",
        "summed_baseline_seconds",
        "summed_ratio",
    ] {
        assert!(figures[name].as_f64().is_some_and(|v| v > 0.0), "{name}: {doc}");
    }
    // Each printed ratio is the one recorded.
    for (line, name) in
        [("ratio (cairn / raw ed25519-dalek): ", "ratio"), ("ratio (cairn / raw, one term per key): ", "summed_ratio")]
    {
        let rest = out.stdout.split(line).nth(1).unwrap_or_else(|| panic!("no {line:?} in {}", out.stdout));
        let printed: f64 = rest.lines().next().unwrap().parse().unwrap();
        assert!((figures[name].as_f64().unwrap() - printed).abs() < 0.01, "{name}: {doc}");
    }
    assert!(
        doc["machine"]["cores"].as_u64().unwrap() >= 1
            && doc["build"]["profile"] == if cfg!(debug_assertions) { "debug" } else { "release" },
        "{doc}"
    );
}
