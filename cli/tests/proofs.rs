//! The lake's Merkle log: every committed object has an inclusion proof, every run's log
//! extends the previous ones, and the proofs check offline against Cairn's key only.

mod common;

use common::{cairn, findings, Org};

fn runs(dir: &std::path::Path) -> Vec<String> {
    let mut runs: Vec<String> = std::fs::read_dir(dir.join("store/runs"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(str::to_string))
        .collect();
    runs.sort();
    runs
}

#[test]
fn inclusion_and_consistency_proofs_verify_offline_and_tampering_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    for night in 0..3 {
        let lines = org.lines(40);
        org.append(&format!("day{night}.jsonl"), &lines);
        assert_eq!(cairn(tmp.path(), &["collect"]).code, 0);
        assert_eq!(cairn(tmp.path(), &["verify"]).code, 0);
    }
    let runs = runs(tmp.path());
    assert_eq!(runs.len(), 6);

    let objects: Vec<String> = common::files(&tmp.path().join("store"))
        .into_iter()
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| p.starts_with("lake/"))
        .collect();
    assert!(objects.len() >= 3);
    for (i, key) in objects.iter().enumerate() {
        let p = cairn(tmp.path(), &["proof", "inclusion", key]);
        assert_eq!(p.code, 0, "{}", p.stderr);
        let file = tmp.path().join(format!("inc{i}.json"));
        std::fs::write(&file, &p.stdout).unwrap();
        let v = cairn(tmp.path(), &["verify-proof", file.to_str().unwrap(), "--pubkey", "keys/cairn.pub"]);
        assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
        assert!(v.stdout.starts_with("OK "), "{}", v.stdout);
    }
    for old in 0..runs.len() {
        for new in old..runs.len() {
            let p = cairn(tmp.path(), &["proof", "consistency", &runs[old], &runs[new]]);
            assert_eq!(p.code, 0, "{}", p.stderr);
            let file = tmp.path().join("cons.json");
            std::fs::write(&file, &p.stdout).unwrap();
            let v = cairn(tmp.path(), &["verify-proof", file.to_str().unwrap(), "--pubkey", "keys/cairn.pub"]);
            assert_eq!(v.code, 0, "{old}->{new}: {}{}", v.stdout, v.stderr);
        }
    }

    // The standalone script shipped in bundles checks the same proof files with Python alone.
    let script = tmp.path().join("verify.py");
    std::fs::write(&script, cairn_renderer_verify_py()).unwrap();
    let py =
        common::tool(tmp.path(), "python3", &[script.to_str().unwrap(), "keys/cairn.pub", "inc0.json", "cons.json"]);
    assert_eq!(py.code, 0, "{}{}", py.stdout, py.stderr);
    assert!(py.stdout.contains("the log only grew"), "{}", py.stdout);

    // A proof for an object whose digest was changed does not verify.
    let p = cairn(tmp.path(), &["proof", "inclusion", &objects[0]]).stdout;
    let mut value: serde_json::Value = serde_json::from_str(&p).unwrap();
    value["sha256"] = serde_json::json!("00".repeat(32));
    let forged = tmp.path().join("forged.json");
    std::fs::write(&forged, value.to_string()).unwrap();
    let v = cairn(tmp.path(), &["verify-proof", forged.to_str().unwrap(), "--pubkey", "keys/cairn.pub"]);
    assert_eq!(v.code, 1, "{}", v.stdout);
    let py =
        common::tool(tmp.path(), "python3", &[script.to_str().unwrap(), "keys/cairn.pub", forged.to_str().unwrap()]);
    assert_eq!(py.code, 1, "{}", py.stdout);
    // Nor does one checked against another key.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    assert_eq!(cairn(&other, &["keygen"]).code, 0);
    std::fs::write(&forged, &p).unwrap();
    let v = cairn(tmp.path(), &["verify-proof", forged.to_str().unwrap(), "--pubkey", "other/keys/cairn.pub"]);
    assert_eq!(v.code, 1, "{}", v.stdout);
    assert!(v.stdout.contains("checkpoint signature"), "{}", v.stdout);

    // A rewritten checkpoint is a finding of `verify --full`.
    let cp = tmp.path().join("store/runs").join(format!("{}.checkpoint", runs[2]));
    let text = std::fs::read_to_string(&cp).unwrap().replacen('\n', "\n9", 2);
    std::fs::write(&cp, text).unwrap();
    let full = cairn(tmp.path(), &["verify", "--full", "--format", "json"]);
    assert_eq!(full.code, 1);
    assert!(findings(&full.stdout).iter().any(|f| f.0 == "manifest_signature"), "{}", full.stdout);
}

/// The verify.py that bundles carry, taken from a bundle the demo writes.
fn cairn_renderer_verify_py() -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let org = common::demo(tmp.path(), 1);
    let zip = std::fs::read_dir(org.join("bundles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "zip"))
        .unwrap();
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut archive.by_name("verify.py").unwrap(), &mut out).unwrap();
    out
}
