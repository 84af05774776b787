//! Cairn's signing key in a PKCS#11 token: SoftHSM 2 (`scripts/test` installs it), initialised in
//! a temporary folder. `cairn keygen --pkcs11` makes the key pair in the token; collect, verify
//! and bundle sign through it; the real `minisign -V` checks a run manifest and a bundle with the
//! public key Cairn wrote, as it checks a key file's.

mod common;

use std::path::Path;

use common::{cairn_env, tool, Org};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A SoftHSM token labelled `cairn` with user PIN 2468, in `dir/hsm`; its configuration file.
fn token(dir: &Path) -> String {
    let tokens = dir.join("hsm/tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("hsm/softhsm2.conf");
    std::fs::write(
        &conf,
        format!("directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n", tokens.display()),
    )
    .unwrap();
    let init = std::process::Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", "cairn", "--pin", "2468", "--so-pin", "13579"])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("softhsm2-util runs (install softhsm2)");
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    conf.display().to_string()
}

#[test]
fn a_key_in_a_token_signs_runs_and_bundles_that_minisign_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    let conf = token(tmp.path());
    let config = std::fs::read_to_string(tmp.path().join("cairn.toml")).unwrap();
    let signing = format!(
        "[signing]\nbackend = \"pkcs11\"\nmodule = \"{MODULE}\"\ntoken = \"cairn\"\nkey_label = \"cairn-signing\"\npublic_key = \"keys/hsm.pub\"\n"
    );
    let with_file_key = "[signing]\nkey = \"keys/cairn.key\"\npublic_key = \"keys/cairn.pub\"\n";
    assert!(config.contains(with_file_key));
    std::fs::write(tmp.path().join("cairn.toml"), config.replace(with_file_key, &signing)).unwrap();
    let env = [("SOFTHSM2_CONF", conf.as_str()), ("CAIRN_PKCS11_PIN", "2468")];
    let run = |args: &[&str]| cairn_env(tmp.path(), args, &env);

    let made = run(&["keygen", "--pkcs11"]);
    assert_eq!(made.code, 0, "{}{}", made.stdout, made.stderr);
    assert!(made.stdout.contains("made now, not extractable"), "{}", made.stdout);
    let again = run(&["keygen", "--pkcs11"]);
    assert!(again.stdout.contains("already there"), "{}{}", again.stdout, again.stderr);

    let lines = org.lines(40);
    org.append("day1.jsonl", &lines);
    for stage in [&["collect"][..], &["verify"], &["verify", "--full"]] {
        let out = run(stage);
        assert_eq!(out.code, 0, "{stage:?}: {}{}", out.stdout, out.stderr);
    }
    let zip = tmp.path().join("evidence.zip");
    let out = run(&["bundle", "--out", zip.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);

    // minisign checks what the token signed, with the public key keygen wrote.
    let pubkey = tmp.path().join("keys/hsm.pub");
    let unpacked = tmp.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    assert_eq!(tool(&unpacked, "unzip", &["-q", zip.to_str().unwrap()]).code, 0);
    let bundle = tool(&unpacked, "minisign", &["-Vm", "manifest.json", "-p", pubkey.to_str().unwrap()]);
    assert_eq!(bundle.code, 0, "{}{}", bundle.stdout, bundle.stderr);
    let runs = tmp.path().join("store/runs");
    let manifests: Vec<_> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    // Collect's and verify's (`verify --full` re-checks and commits nothing).
    assert_eq!(manifests.len(), 2);
    for manifest in &manifests {
        let out = tool(&runs, "minisign", &["-Vm", manifest.to_str().unwrap(), "-p", pubkey.to_str().unwrap()]);
        assert_eq!(out.code, 0, "{}: {}{}", manifest.display(), out.stdout, out.stderr);
    }
    // The key file's public key does not verify them: they were signed in the token.
    let other = tool(
        &unpacked,
        "minisign",
        &["-Vm", "manifest.json", "-p", tmp.path().join("keys/cairn.pub").to_str().unwrap()],
    );
    assert_ne!(other.code, 0);

    // No PIN: the job fails, naming the variable; and a public key of another key is refused.
    let out = cairn_env(tmp.path(), &["collect"], &[("SOFTHSM2_CONF", conf.as_str())]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("$CAIRN_PKCS11_PIN, which is not set"), "{}", out.stderr);
    let config = std::fs::read_to_string(tmp.path().join("cairn.toml")).unwrap();
    std::fs::write(tmp.path().join("cairn.toml"), config.replace("keys/hsm.pub", "keys/cairn.pub")).unwrap();
    let out = run(&["collect"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("does not belong to the public key"), "{}", out.stderr);
}
