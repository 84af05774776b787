//! A full disk, on the `file://` lake and on the output folders: a clear error that names what
//! could not be written, exit code 2, nothing committed or left half-written, and the next run
//! completes the work. The disk fills for the child process only: a file-size limit
//! (`ulimit -f`, with SIGXFSZ ignored) makes every write past it fail as a full disk does.

mod common;

use std::path::Path;

use common::{cairn, tool};

/// Runs `cairn args` in `dir` with writes limited to `kib` KiB per file.
fn cairn_with_full_disk(dir: &Path, kib: u64, args: &str) -> common::Output {
    let script = format!("ulimit -f {kib}; trap '' XFSZ; exec \"$0\" {args}");
    let out = std::process::Command::new("bash")
        .args(["-c", &script, env!("CARGO_BIN_EXE_cairn")])
        .current_dir(dir)
        .env("TMPDIR", dir.join("tmp"))
        .output()
        .unwrap();
    common::Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn files_named(dir: &Path, pred: impl Fn(&str) -> bool) -> Vec<String> {
    if !dir.exists() {
        return Vec::new();
    }
    common::files(dir).into_iter().map(|p| p.to_string_lossy().into_owned()).filter(|p| pred(p)).collect()
}

#[test]
fn a_full_disk_stops_each_stage_cleanly_and_the_next_run_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let org = tmp.path().join("org");
    let out = cairn(tmp.path(), &["bench", "prepare-ingest", "--events", "50000", "--dir", org.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    std::fs::create_dir_all(org.join("tmp")).unwrap();

    // The lake's disk fills while the events object is written.
    let out = cairn_with_full_disk(&org, 2000, "collect");
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("lake/events/") && out.stderr.contains("File too large"), "{}", out.stderr);
    assert!(files_named(&org.join("store/runs"), |_| true).is_empty(), "no run committed");
    assert!(files_named(&org.join("store/locks"), |_| true).is_empty(), "no lock left");
    let out = cairn(&org, &["verify", "--full"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("verified 0 events"), "{}", out.stdout);

    // With space again, the next run collects everything, once.
    let out = cairn(&org, &["collect"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = cairn(&org, &["verify"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("verified 50000 events"), "{}", out.stdout);

    // The bundle's disk fills: no zip and no partial zip; the error names the file.
    let out = cairn_with_full_disk(&org, 1000, "bundle");
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("File too large") && out.stderr.contains(org.to_str().unwrap()), "{}", out.stderr);
    assert!(files_named(&org.join("bundles"), |_| true).is_empty(), "nothing in bundles/");
    assert!(files_named(&org.join("tmp"), |_| true).is_empty(), "the staging folder is removed");

    // The portal's disk fills: the error names the page, no temporary file is left behind.
    let out = cairn_with_full_disk(&org, 20, "render");
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("writing ") && out.stderr.contains("portal/"), "{}", out.stderr);
    assert!(files_named(&org.join("portal"), |p| Path::new(p).extension().is_some_and(|e| e == "tmp")).is_empty());

    let out = cairn(&org, &["bundle"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = cairn(&org, &["render"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = tool(&org, "ls", &["portal/index.html"]);
    assert_eq!(out.code, 0);
}
