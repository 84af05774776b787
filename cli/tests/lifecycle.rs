//! Nights of collection: incremental runs, bad records kept aside, crashes mid-run, bad
//! configuration and keys.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{cairn, cairn_env, findings, Org};

fn verified_events(stdout: &str) -> u64 {
    stdout.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no count in {stdout:?}"))
}

#[test]
fn a_second_night_adds_exactly_the_new_lines_linked_to_the_heads() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    let night1 = org.lines(300);
    org.append("day1.jsonl", &night1);
    assert_eq!(cairn(tmp.path(), &["collect"]).code, 0);
    let v1 = cairn(tmp.path(), &["verify"]);
    assert_eq!((v1.code, verified_events(&v1.stdout)), (0, 300), "{}", v1.stdout);

    // 100 new lines: 60 appended to yesterday's file, 40 in a new file.
    let more = org.lines(100);
    let lines: Vec<&str> = more.lines().collect();
    org.append("day1.jsonl", &(lines[..60].join("\n") + "\n"));
    org.append("day2.jsonl", &(lines[60..].join("\n") + "\n"));
    let c2 = cairn(tmp.path(), &["collect"]);
    assert!(c2.stdout.contains("100 events"), "{}", c2.stdout);
    let v2 = cairn(tmp.path(), &["verify"]);
    assert_eq!((v2.code, verified_events(&v2.stdout)), (0, 100), "{}", v2.stdout);
    // Nothing new: nothing collected, nothing verified, still clean.
    let c3 = cairn(tmp.path(), &["collect"]);
    assert!(c3.stdout.contains(" 0 events"), "{}", c3.stdout);
    let full = cairn(tmp.path(), &["verify", "--full"]);
    assert_eq!((full.code, verified_events(&full.stdout)), (0, 400), "{}", full.stdout);

    // A night whose first event does not link to the stored head is caught at the boundary.
    let mut forged = Org {
        dir: org.dir.clone(),
        key: org.key.clone(),
        chain: org.chain.clone(),
        next_seq: org.next_seq,
        prev: "ab".repeat(32),
    };
    org.append("day3.jsonl", &forged.lines(3));
    assert_eq!(cairn(tmp.path(), &["collect"]).code, 0);
    let v4 = cairn(tmp.path(), &["verify", "--format", "json"]);
    assert_eq!(v4.code, 1);
    assert_eq!(findings(&v4.stdout), vec![("broken_link".into(), "app-main".into(), 400)]);
}

#[test]
fn bad_lines_are_kept_aside_counted_and_never_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    let good = org.lines(10);
    let mut text = String::new();
    for (i, l) in good.lines().enumerate() {
        text.push_str(l);
        text.push('\n');
        if i == 2 {
            text.push_str("{not json\n");
        }
        if i == 5 {
            text.push_str("{\"host\":\"x\",\"message\":\"no event here\"}\n");
        }
        if i == 7 {
            text.push_str("{\"event\":{\"chain\":\"app-main\",\"seq\":\"7\"}}\n");
        }
    }
    // A last line without its newline is still being written: it waits for the next run.
    text.push_str("{\"partial\":");
    org.append("day1.jsonl", &text);
    let c = cairn(tmp.path(), &["collect"]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    assert!(c.stdout.contains("13 records, 10 events, 3 kept aside"), "{}", c.stdout);
    let v = cairn(tmp.path(), &["verify"]);
    assert_eq!(v.code, 0, "{}", v.stdout);
    let script = r#"
import sys, pyarrow.dataset as ds
t = ds.dataset(sys.argv[1] + "/lake/quarantine", format="parquet", partitioning="hive").to_table().to_pylist()
for r in t: print(r["origin"]["object_key"], r["origin"]["line"], r["reason"], r["confidence"])
"#;
    let q = common::tool(tmp.path(), "python3", &["-c", script, "store"]);
    assert_eq!(q.code, 0, "{}", q.stderr);
    let lines: Vec<&str> = q.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", q.stdout);
    assert!(lines[0].starts_with("inputs/app/day1.jsonl 4 not JSON"), "{}", q.stdout);
    assert!(lines[1].starts_with("inputs/app/day1.jsonl 8 no value at JSON pointer /event"), "{}", q.stdout);
    assert!(lines[2].contains("member `seq` must be an integer"), "{}", q.stdout);
    // A record that could not be collected carries confidence `failed`.
    assert!(lines.iter().all(|l| l.ends_with(" failed")), "{}", q.stdout);
}

#[test]
fn a_collector_killed_mid_run_loses_and_doubles_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    let total = 6000;
    for day in 0..6 {
        let lines = org.lines(total / 6);
        org.append(&format!("day{day}.jsonl"), &lines);
    }
    let config = tmp.path().join("cairn.toml");
    // Small objects: many writes, so kills land between them.
    for delay_ms in [5u64, 20, 40, 80, 120, 200, 300] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args(["--quiet", "collect", "--config", config.to_str().unwrap()])
            .env("CAIRN_ROWS_PER_OBJECT", "150")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    let c = cairn_env(tmp.path(), &["collect"], &[("CAIRN_ROWS_PER_OBJECT", "150")]);
    assert_eq!(c.code, 0, "{}{}", c.stdout, c.stderr);
    let full = cairn(tmp.path(), &["verify", "--full", "--format", "json"]);
    assert_eq!(full.code, 0, "{}{}", full.stdout, full.stderr);
    assert_eq!(findings(&full.stdout), vec![]);
    let text = cairn(tmp.path(), &["verify", "--full"]);
    assert_eq!(verified_events(&text.stdout), total, "no event lost or doubled: {}", text.stdout);
    // Only committed objects remain.
    let v = cairn(tmp.path(), &["verify"]);
    assert_eq!(v.code, 0);
}

#[test]
fn bad_configuration_and_keys_fail_with_one_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let org = Org::new(tmp.path());
    let config = org.dir.join("cairn.toml");
    let good = std::fs::read_to_string(&config).unwrap();

    std::fs::write(&config, good.replace("event = \"/event\"", "evnt = \"/event\"")).unwrap();
    let out = cairn(tmp.path(), &["collect"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("evnt") && out.stderr.contains("line 13"), "{}", out.stderr);

    // An S3 store with no credentials anywhere: a failure naming the store, not a hang.
    std::fs::write(&config, good.replace("url = \"store\"", "url = \"s3://bucket/lake\"")).unwrap();
    let out =
        cairn_env(tmp.path(), &["collect"], &[("AWS_ENDPOINT", "http://127.0.0.1:9"), ("AWS_ALLOW_HTTP", "true")]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("s3://bucket/lake"), "{}", out.stderr);
    std::fs::write(&config, good.replace("url = \"store\"", "url = \"ftp://bucket/lake\"")).unwrap();
    let out = cairn(tmp.path(), &["collect"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("ftp://"), "{}", out.stderr);

    std::fs::write(&config, &good).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let key = org.dir.join("keys/cairn.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = cairn(tmp.path(), &["collect"]);
        assert_eq!(out.code, 2);
        assert!(out.stderr.contains("chmod 600"), "{}", out.stderr);
        std::fs::remove_file(&key).unwrap();
        let out = cairn(tmp.path(), &["collect"]);
        assert_eq!(out.code, 2);
        assert!(out.stderr.contains("cairn.key"), "{}", out.stderr);
    }
    let out = cairn(tmp.path(), &["--config", "nowhere.toml", "verify"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("nowhere.toml"), "{}", out.stderr);
    let out = cairn(tmp.path(), &["check-bundle", "missing.zip", "--pubkey", "keys/cairn.pub"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
}

#[test]
fn one_writer_at_a_time_and_stale_locks_are_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    let lines = org.lines(5);
    org.append("day1.jsonl", &lines);
    let locks = tmp.path().join("store/locks");
    std::fs::create_dir_all(&locks).unwrap();
    let lock = |expires: &str| {
        format!(
            "{{\"owner\":\"batch-7.example:4242\",\"job\":\"collect\",\"acquired_at\":\"2026-11-20T02:00:00Z\",\"expires_at\":\"{expires}\"}}"
        )
    };
    std::fs::write(locks.join("writer.json"), lock("2999-01-01T00:00:00Z")).unwrap();
    let held = cairn(tmp.path(), &["collect"]);
    assert_eq!(held.code, 2, "{}", held.stdout);
    assert!(held.stderr.contains("locked by batch-7.example:4242 for collect"), "{}", held.stderr);
    assert!(!tmp.path().join("store/runs").exists(), "nothing was committed");

    std::fs::write(locks.join("writer.json"), lock("2026-11-20T08:00:00Z")).unwrap();
    let taken = cairn(tmp.path(), &["collect"]);
    assert_eq!(taken.code, 0, "{}", taken.stderr);
    assert!(
        taken.stderr.contains("taking over the lock of a run that is gone lock=locks/writer.json"),
        "{}",
        taken.stderr
    );
    assert!(!locks.join("writer.json").exists(), "released after the run");
}

#[test]
fn controls_check_reports_catalog_problems_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let org = Org::new(tmp.path());
    let ok = cairn(tmp.path(), &["controls", "check"]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains("catalog OK") && ok.stdout.contains("coverage gaps in soc2"), "{}", ok.stdout);

    std::fs::write(
        org.dir.join("local-controls.toml"),
        "[[override]]\nid = \"LOG-02\"\nfails_on = [\"gap\", \"gasp\"]\n\n[[not_applicable]]\nframework = \"hipaa\"\nid = \"164.310(a)(1)\"\njustification = \"No facility of ours holds ePHI.\"\n",
    )
    .unwrap();
    let config = org.dir.join("cairn.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("[trust]", "[controls]\ncatalog = [\"local-controls.toml\"]\n\n[trust]"))
        .unwrap();
    let bad = cairn(tmp.path(), &["controls", "check"]);
    assert_eq!(bad.code, 2, "{}", bad.stdout);
    assert!(
        bad.stdout.contains("local-controls.toml:3: override of LOG-02: unknown finding kind \"gasp\""),
        "{}",
        bad.stdout
    );
    // Rendering refuses a catalog with problems, naming them.
    let render = cairn(tmp.path(), &["render"]);
    assert_eq!(render.code, 2);
    assert!(render.stderr.contains("gasp"), "{}", render.stderr);
}
