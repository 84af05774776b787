//! Signed evidence bundles checked by tools Cairn did not write — `minisign`, `sha256sum`,
//! `unzip -t`, Python's `zipfile` and the bundled `verify.py` — and every single-byte change of
//! every entry caught by each of them that applies.

mod common;

use std::path::{Path, PathBuf};

use common::{cairn, demo, files, tool, unzip};

fn bundle(org: &Path, args: &[&str], out: &Path) -> PathBuf {
    let mut all = vec!["bundle", "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let b = cairn(org, &all);
    assert_eq!(b.code, 0, "{}{}", b.stdout, b.stderr);
    out.to_path_buf()
}

fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let i = at % bytes.len();
    bytes[i] ^= 0x04;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn bundles_check_with_every_tool_and_any_changed_byte_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 11);
    let pubkey = org.join("keys/cairn.pub");
    let pubkey = pubkey.to_str().unwrap();
    let zip = bundle(
        &org,
        &["--framework", "soc2", "--since", "2026-11-01", "--until", "2026-11-30"],
        &tmp.path().join("soc2.zip"),
    );

    // Deterministic: the same lake and request give the same bytes.
    let again = bundle(
        &org,
        &["--framework", "soc2", "--since", "2026-11-01", "--until", "2026-11-30"],
        &tmp.path().join("again.zip"),
    );
    assert_eq!(std::fs::read(&zip).unwrap(), std::fs::read(&again).unwrap());
    // Beside each zip, its digest for `sha256sum -c`.
    let sums = tool(tmp.path(), "sha256sum", &["-c", "--strict", "soc2.zip.sha256"]);
    assert_eq!(sums.code, 0, "{}{}", sums.stdout, sums.stderr);

    let check = cairn(&org, &["check-bundle", zip.to_str().unwrap(), "--pubkey", pubkey]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    assert_eq!(tool(tmp.path(), "unzip", &["-tq", zip.to_str().unwrap()]).code, 0);
    let py = tool(
        tmp.path(),
        "python3",
        &["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(len(z.namelist()))", zip.to_str().unwrap()],
    );
    assert_eq!(py.code, 0, "{}", py.stderr);

    let clean = tmp.path().join("clean");
    unzip(&zip, &clean);
    assert_eq!(tool(&clean, "minisign", &["-Vm", "manifest.json", "-p", pubkey]).code, 0);
    assert_eq!(tool(&clean, "sha256sum", &["-c", "--strict", "--quiet", "SHA256SUMS"]).code, 0);
    let v = tool(&clean, "python3", &["verify.py", pubkey]);
    assert_eq!(v.code, 0, "verify.py: {}{}", v.stdout, v.stderr);
    assert!(v.stdout.contains("inclusion proofs lead to the checkpoint root"), "{}", v.stdout);
    let entries = files(&clean);
    assert!(entries.iter().any(|p| p.starts_with("store/lake/events")), "{entries:?}");
    assert!(entries.iter().any(|p| p.starts_with("store/runs")), "{entries:?}");
    for name in ["controls.csv", "evidence/events.csv", "evidence/findings.csv", "evidence/verification-report.json"] {
        assert!(entries.contains(&PathBuf::from(name)), "{name} missing: {entries:?}");
    }

    // One byte changed in any entry: each applicable checker fails. Entries are tried on a few
    // threads at once, each in a folder of its own: the checkers are separate processes.
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(entry) = entries.get(i) else { break };
                let dir = tmp.path().join(format!("t{i}"));
                unzip(&zip, &dir);
                flip(&dir.join(entry), 7 + i * 13);
                let name = entry.to_string_lossy();
                let sums = tool(&dir, "sha256sum", &["-c", "--strict", "--quiet", "SHA256SUMS"]);
                let sig = tool(&dir, "minisign", &["-Vm", "manifest.json", "-p", pubkey]);
                match name.as_ref() {
                    "manifest.json.minisig" => assert_ne!(sig.code, 0, "minisign accepted a changed signature"),
                    "manifest.json" => {
                        assert_ne!(sig.code, 0, "minisign accepted a changed manifest");
                        assert_ne!(sums.code, 0);
                    }
                    _ => assert_ne!(sums.code, 0, "sha256sum accepted a change to {name}"),
                }
                if name != "verify.py" {
                    let py = tool(&dir, "python3", &[clean.join("verify.py").to_str().unwrap(), pubkey]);
                    assert_ne!(py.code, 0, "verify.py accepted a change to {name}: {}", py.stdout);
                }
                std::fs::remove_dir_all(&dir).unwrap();
            });
        }
    });

    // A changed byte inside the zip itself is caught by check-bundle.
    let bytes = std::fs::read(&zip).unwrap();
    for at in [100usize, bytes.len() / 3, bytes.len() / 2] {
        let bad = tmp.path().join("bad.zip");
        std::fs::write(&bad, &bytes).unwrap();
        flip(&bad, at);
        let c = cairn(&org, &["check-bundle", bad.to_str().unwrap(), "--pubkey", pubkey]);
        assert_eq!(c.code, 1, "a change at byte {at} went unnoticed: {}", c.stdout);
    }
}

#[test]
fn scopes_and_periods_select_their_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 12);
    let only_lake = bundle(&org, &["--control", "LOG-03"], &tmp.path().join("log03.zip"));
    let dir = tmp.path().join("log03");
    unzip(&only_lake, &dir);
    let entries = files(&dir);
    assert!(
        !entries.iter().any(|p| p.starts_with("store/lake/events")),
        "LOG-03 rests on the lake, not events: {entries:?}"
    );
    assert!(entries.iter().any(|p| p.starts_with("store/runs")));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["scope"], "control LOG-03");

    // An SBOM control's bundle carries the SBOM tables and the SBOMs' own bytes.
    let sboms = bundle(&org, &["--control", "SCS-03"], &tmp.path().join("scs03.zip"));
    let dir = tmp.path().join("scs03");
    unzip(&sboms, &dir);
    let entries = files(&dir);
    assert!(entries.iter().any(|p| p.starts_with("store/lake/sboms")), "{entries:?}");
    assert!(entries.iter().any(|p| p.starts_with("store/lake/sbom_components")), "{entries:?}");
    let blobs: Vec<_> = entries.iter().filter(|p| p.starts_with("store/blobs/sha256")).collect();
    let cdx = std::fs::read(org.join("inputs/sboms/cyclonedx/payments-1.4.0.cdx.json")).unwrap();
    let cdx_blob = format!("store/blobs/sha256/{}", cairn_evidence::digest::sha256_hex(&cdx));
    assert!(blobs.iter().any(|p| p.to_str() == Some(cdx_blob.as_str())), "{blobs:?}");
    assert!(!entries.iter().any(|p| p.starts_with("store/lake/events")), "SCS-03 does not rest on events");
    let model = std::fs::read(org.join("inputs/threat-models/markdown/identity.md")).unwrap();
    let model_blob = format!("store/blobs/sha256/{}", cairn_evidence::digest::sha256_hex(&model));
    assert!(!blobs.iter().any(|p| p.to_str() == Some(model_blob.as_str())), "a threat model is not SBOM evidence");

    let empty = bundle(&org, &["--since", "2025-01-01", "--until", "2025-01-31"], &tmp.path().join("old.zip"));
    let dir = tmp.path().join("old");
    unzip(&empty, &dir);
    assert!(!files(&dir).iter().any(|p| p.starts_with("store/")), "nothing was collected in January 2025");
    let bad = cairn(&org, &["bundle", "--since", "yesterday"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("yesterday"), "{}", bad.stderr);
    let unknown = cairn(&org, &["bundle", "--control", "NOPE-1"]);
    assert_eq!(unknown.code, 2);
}

#[test]
fn hostile_zips_are_refused() {
    use std::io::Write as _;
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 13);
    let pubkey = org.join("keys/cairn.pub");
    for (case, name, symlink) in
        [("slip", "../outside.txt", false), ("absolute", "/etc/cron.d/x", false), ("link", "evidence/link", true)]
    {
        let path = tmp.path().join(format!("{case}.zip"));
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        if symlink {
            zip.add_symlink(name, "/etc/passwd", options).unwrap();
        } else {
            zip.start_file(name, options).unwrap();
            zip.write_all(b"x").unwrap();
        }
        zip.finish().unwrap();
        let c = cairn(&org, &["check-bundle", path.to_str().unwrap(), "--pubkey", pubkey.to_str().unwrap()]);
        assert_eq!(c.code, 1, "{case}: {}", c.stdout);
        assert!(c.stdout.contains("escape") || c.stdout.contains("symbolic link"), "{case}: {}", c.stdout);
    }
}

#[test]
fn samples_are_reproducible_and_traceable_to_proven_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 14);
    let a = bundle(&org, &["--sample", "5", "--seed", "42"], &tmp.path().join("a.zip"));
    let b = bundle(&org, &["--sample", "5", "--seed", "42"], &tmp.path().join("b.zip"));
    let c = bundle(&org, &["--sample", "5", "--seed", "43"], &tmp.path().join("c.zip"));
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "same seed, same bytes");
    let (da, dc) = (tmp.path().join("a"), tmp.path().join("c"));
    unzip(&a, &da);
    unzip(&c, &dc);
    let sample = std::fs::read_to_string(da.join("evidence/sample.jsonl")).unwrap();
    assert_ne!(
        sample,
        std::fs::read_to_string(dc.join("evidence/sample.jsonl")).unwrap(),
        "another seed, another sample"
    );
    let rows: Vec<serde_json::Value> = sample.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 15, "5 events from each of 3 chains");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(da.join("manifest.json")).unwrap()).unwrap();
    // Every sampled event sits in a bundled lake object that carries an inclusion proof, at the
    // row it names.
    let script = r#"
import json, sys, pyarrow.parquet as pq
for line in open("evidence/sample.jsonl"):
    s = json.loads(line)
    row = pq.read_table(s["lake_object"]).slice(s["row"], 1).to_pylist()[0]
    assert (row["chain"], row["seq"], json.loads(row["event_json"])["hash"]) == (s["chain"], s["seq"], s["hash"]), s
print("ok")
"#;
    let out = tool(&da, "python3", &["-c", script]);
    assert_eq!(out.stdout.trim(), "ok", "{}", out.stderr);
    for r in &rows {
        let object = r["lake_object"].as_str().unwrap();
        let entry = manifest["files"].as_array().unwrap().iter().find(|f| f["path"] == object).unwrap();
        assert!(entry["inclusion"]["proof"].is_array(), "{entry}");
    }
}
