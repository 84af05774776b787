//! Cairn's signing key held outside a file, each backend against a real implementation:
//!
//! - a PKCS#11 token: SoftHSM 2 (`scripts/test` installs it), initialised in a temporary folder;
//!   `cairn keygen --pkcs11` makes the key pair in the token;
//! - AWS KMS: MiniStack, a local AWS emulator that signs with Ed25519 KMS keys and, started with
//!   `AUTH=true`, checks every request's Signature Version 4 (`scripts/test` installs it in a
//!   virtual environment of its own), on 127.0.0.1.
//!
//! Collect, verify and bundle sign through each; the real `minisign -V` checks the run manifests
//! and a bundle with the public key Cairn wrote, as it checks a key file's.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{cairn_env, tool, unzip, Org};

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
    let unpacked = bundle_unpacked(tmp.path(), &env);

    // minisign checks what the token signed, with the public key keygen wrote.
    let pubkey = tmp.path().join("keys/hsm.pub");
    let bundle = tool(&unpacked, "minisign", &["-Vm", "manifest.json", "-p", pubkey.to_str().unwrap()]);
    assert_eq!(bundle.code, 0, "{}{}", bundle.stdout, bundle.stderr);
    let manifests = run_manifests(tmp.path());
    // Collect's and verify's (`verify --full` re-checks and commits nothing).
    assert_eq!(manifests.len(), 2);
    for manifest in &manifests {
        assert!(minisign_ok(tmp.path(), manifest, "keys/hsm.pub"), "{}", manifest.display());
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

/// MiniStack on a free port of 127.0.0.1, stopped when dropped.
struct Ministack {
    child: Child,
    port: u16,
    python: String,
}

impl Drop for Ministack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Ministack {
    fn start(dir: &Path) -> Self {
        let python = std::env::var("CAIRN_TEST_MINISTACK_PYTHON")
            .expect("CAIRN_TEST_MINISTACK_PYTHON names a Python with ministack: run the test command from the README");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&python)
            .args(["-m", "ministack"])
            .current_dir(dir)
            .env("GATEWAY_PORT", port.to_string())
            .env("BIND_HOST", "127.0.0.1")
            .env("AUTH", "true")
            .env("SERVICES", "kms,iam,sts")
            .env("IOT_MTLS_ENABLED", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ministack starts");
        let ministack = Self { child, port, python };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "ministack did not listen on 127.0.0.1:{port} within 60 s");
            std::thread::sleep(Duration::from_millis(200));
        }
        ministack
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An IAM user allowed to use KMS, its access key, and an Ed25519 signing key in KMS, made
    /// with boto3 as an administrator would: `(key id, access key id, secret)`.
    fn account(&self) -> (String, String, String) {
        let script = r#"
import boto3, json, sys
endpoint = sys.argv[1]
root = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
iam = boto3.client("iam", **root)
iam.create_user(UserName="cairn-job")
iam.put_user_policy(UserName="cairn-job", PolicyName="sign", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["kms:Sign", "kms:GetPublicKey"], "Resource": "*"}]}))
access = iam.create_access_key(UserName="cairn-job")["AccessKey"]
key = boto3.client("kms", **root).create_key(KeySpec="ECC_NIST_EDWARDS25519", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
print(key["Arn"], access["AccessKeyId"], access["SecretAccessKey"])
"#;
        let out = Command::new(&self.python).args(["-c", script, &self.endpoint()]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let parts: Vec<&str> = text.split_whitespace().collect();
        (parts[0].to_string(), parts[1].to_string(), parts[2].to_string())
    }
    /// A role that an OIDC platform's service account `sub` may assume with its web identity
    /// token (as EKS sets up for a pod), allowed to use KMS, and an Ed25519 key: `(key, role)`.
    fn role_for(&self, issuer: &str, sub: &str) -> (String, String) {
        let script = r#"
import boto3, json, sys
endpoint, issuer, sub = sys.argv[1:4]
root = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
iam = boto3.client("iam", **root)
iam.create_open_id_connect_provider(Url="https://" + issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["0" * 40])
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"Federated": "arn:aws:iam::000000000000:oidc-provider/" + issuer},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringEquals": {issuer + ":sub": sub, issuer + ":aud": "sts.amazonaws.com"}}}]}
role = iam.create_role(RoleName="cairn-nightly", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
iam.put_role_policy(RoleName="cairn-nightly", PolicyName="sign", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["kms:Sign", "kms:GetPublicKey"], "Resource": "*"}]}))
key = boto3.client("kms", **root).create_key(KeySpec="ECC_NIST_EDWARDS25519", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
print(key["Arn"], role["Arn"])
"#;
        let out = Command::new(&self.python).args(["-c", script, &self.endpoint(), issuer, sub]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let parts: Vec<&str> = text.split_whitespace().collect();
        (parts[0].to_string(), parts[1].to_string())
    }
}

/// A web identity token (a JWT) for `sub`, as an OIDC platform mounts one into a pod. The
/// emulator reads its claims; real STS also checks its signature against the issuer's keys.
fn web_identity_token(issuer: &str, sub: &str) -> String {
    use base64::Engine as _;
    let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let header = b64(serde_json::json!({"alg": "RS256", "kid": "cairn-test"}));
    let claims = b64(serde_json::json!({
        "iss": format!("https://{issuer}"), "sub": sub, "aud": "sts.amazonaws.com", "exp": 4_102_444_800u64
    }));
    format!("{header}.{claims}.c2lnbmF0dXJl")
}

/// On Kubernetes (EKS), a job has no keys: its service account's web identity token is exchanged
/// with STS for a role's temporary keys. Cairn does that, signs with them, and a token for another
/// service account is refused by STS, by name.
#[test]
fn a_kms_key_signs_with_a_roles_credentials_for_a_web_identity_token() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    let kms = Ministack::start(tmp.path());
    let issuer = "oidc.eks.example/id/CAIRN";
    let (key_id, role_arn) = kms.role_for(issuer, "system:serviceaccount:cairn:nightly");
    sign_with_kms(tmp.path(), &key_id, &kms.endpoint());
    let token = tmp.path().join("token");
    std::fs::write(&token, web_identity_token(issuer, "system:serviceaccount:cairn:nightly")).unwrap();
    let endpoint = kms.endpoint();
    let env = [
        ("AWS_ACCESS_KEY_ID", ""),
        ("AWS_SECRET_ACCESS_KEY", ""),
        ("AWS_ROLE_ARN", role_arn.as_str()),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token.to_str().unwrap()),
        ("AWS_ENDPOINT_URL_STS", endpoint.as_str()),
    ];
    let run = |args: &[&str]| cairn_env(tmp.path(), args, &env);
    let out = run(&["keygen", "--aws-kms"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let lines = org.lines(10);
    org.append("day1.jsonl", &lines);
    for stage in [&["collect"][..], &["verify"]] {
        let out = run(stage);
        assert_eq!(out.code, 0, "{stage:?}: {}{}", out.stdout, out.stderr);
    }
    for manifest in run_manifests(tmp.path()) {
        assert!(minisign_ok(tmp.path(), &manifest, "keys/kms.pub"), "{}", manifest.display());
    }

    // Another service account's token: STS refuses the role, and the job says so.
    std::fs::write(&token, web_identity_token(issuer, "system:serviceaccount:other:job")).unwrap();
    let out = run(&["collect"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stderr.contains("STS AssumeRoleWithWebIdentity") && out.stderr.contains("AccessDenied"),
        "{}",
        out.stderr
    );
}

/// The kind of a minisign signature file: `Ed` (over the message) or `ED` (over its BLAKE2b-512).
fn minisign_kind(sig: &Path) -> String {
    use base64::Engine as _;
    let text = std::fs::read_to_string(sig).unwrap();
    let line = text.lines().nth(1).unwrap();
    let raw = base64::engine::general_purpose::STANDARD.decode(line).unwrap();
    String::from_utf8_lossy(&raw[..2]).into_owned()
}

#[test]
fn a_key_in_aws_kms_signs_runs_and_bundles_that_minisign_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    let kms = Ministack::start(tmp.path());
    let (key_id, access_key, secret) = kms.account();
    sign_with_kms(tmp.path(), &key_id, &kms.endpoint());
    let env = [("AWS_ACCESS_KEY_ID", access_key.as_str()), ("AWS_SECRET_ACCESS_KEY", secret.as_str())];
    let run = |args: &[&str]| cairn_env(tmp.path(), args, &env);

    let out = run(&["keygen", "--aws-kms"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("kept by KMS"), "{}", out.stdout);

    // Enough objects that the run manifest is longer than the 4096 bytes KMS signs as they are.
    for day in 0..24 {
        let lines = org.lines(5);
        org.append(&format!("day{day:02}.jsonl"), &lines);
    }
    for stage in [&["collect"][..], &["verify"]] {
        let out = run(stage);
        assert_eq!(out.code, 0, "{stage:?}: {}{}", out.stdout, out.stderr);
    }
    let unpacked = bundle_unpacked(tmp.path(), &env);
    let mut signed: Vec<PathBuf> = vec![unpacked.join("manifest.json")];
    signed.extend(run_manifests(tmp.path()));
    assert_eq!(signed.len(), 3, "the bundle's manifest, collect's and verify's");
    let mut long = 0;
    for file in &signed {
        assert!(minisign_ok(tmp.path(), file, "keys/kms.pub"), "{}", file.display());
        // A KMS key's minisign signatures are minisign's prehashed form, whatever the length.
        let size = std::fs::metadata(file).unwrap().len();
        let kind = minisign_kind(&file.with_extension("json.minisig"));
        assert_eq!(kind, "ED", "{}", file.display());
        long += usize::from(size > 4096);
    }
    assert!(long > 0, "no signed file is longer than KMS's limit: the prehashed path was not taken");

    // A wrong secret: KMS refuses the request's signature, and the job says so.
    let out = cairn_env(
        tmp.path(),
        &["collect"],
        &[("AWS_ACCESS_KEY_ID", access_key.as_str()), ("AWS_SECRET_ACCESS_KEY", "not-the-secret")],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("InvalidSignatureException"), "{}", out.stderr);
    assert!(!out.stderr.contains(&secret) && !out.stdout.contains(&secret));
}

/// The run manifests of the lake under `dir`, oldest first.
/// Points the configuration in `dir` at the AWS KMS key `key_id` served at `endpoint`.
fn sign_with_kms(dir: &Path, key_id: &str, endpoint: &str) {
    let config = std::fs::read_to_string(dir.join("cairn.toml")).unwrap();
    let with_file_key = "[signing]\nkey = \"keys/cairn.key\"\npublic_key = \"keys/cairn.pub\"\n";
    let signing = format!(
        "[signing]\nbackend = \"aws-kms\"\nkey_id = \"{key_id}\"\nregion = \"us-east-1\"\nendpoint = \"{endpoint}\"\npublic_key = \"keys/kms.pub\"\n"
    );
    std::fs::write(dir.join("cairn.toml"), config.replace(with_file_key, &signing)).unwrap();
}

fn run_manifests(dir: &Path) -> Vec<PathBuf> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(dir.join("store/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    runs.sort();
    runs
}

fn minisign_ok(dir: &Path, file: &Path, public: &str) -> bool {
    tool(dir, "minisign", &["-Vm", file.to_str().unwrap(), "-p", dir.join(public).to_str().unwrap()]).code == 0
}

/// Bundles the lake under `dir` (with `env`) and unpacks the zip into `dir/unpacked`.
fn bundle_unpacked(dir: &Path, env: &[(&str, &str)]) -> PathBuf {
    let zip = dir.join("evidence.zip");
    let out = cairn_env(dir, &["bundle", "--out", zip.to_str().unwrap()], env);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let unpacked = dir.join("unpacked");
    unzip(&zip, &unpacked);
    unpacked
}

/// A rotation hands signing to a new key: the old key signs the handover statement, the new key
/// the rotation run and every run after it. `verify --full` follows the handover, minisign checks
/// each run with the key of its time, the old key can no longer sign, and the keys page shows both
/// keys and where one took over. A handover the old key did not sign, or a configured key the lake
/// never had, is found.
#[test]
fn a_rotated_key_signs_on_and_verify_follows_the_handover() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut org = Org::new(dir);
    let run = |args: &[&str]| cairn_env(dir, args, &[]);
    let lines = org.lines(20);
    org.append("day1.jsonl", &lines);
    assert_eq!(run(&["collect"]).code, 0);
    assert_eq!(run(&["verify"]).code, 0);

    let made = run(&["keygen", "--key", "keys/next.key", "--public-key", "keys/next.pub"]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    let config = std::fs::read_to_string(dir.join("cairn.toml")).unwrap();
    let next = config.replace("keys/cairn.key", "keys/next.key").replace("keys/cairn.pub", "keys/next.pub");
    std::fs::write(dir.join("cairn.next.toml"), &next).unwrap();
    let out = run(&["rotate-key", "--to", "cairn.next.toml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("committed rotate run"), "{}", out.stdout);

    // Before the configuration follows, the old key may not sign another run.
    let out = run(&["collect"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stderr.contains("but the lake is signed by key"), "{}", out.stderr);

    // A copy of the lake as it is now, for the forgery below.
    let elsewhere = tempfile::tempdir().unwrap();
    let forged = elsewhere.path().join("forged");
    assert_eq!(tool(dir, "cp", &["-r", dir.to_str().unwrap(), forged.to_str().unwrap()]).code, 0);

    std::fs::write(dir.join("cairn.toml"), &next).unwrap();
    let lines = org.lines(20);
    org.append("day2.jsonl", &lines);
    assert_eq!(run(&["collect"]).code, 0);
    for args in [&["verify"][..], &["verify", "--full"]] {
        let out = run(args);
        assert_eq!(out.code, 0, "{args:?}: {}{}", out.stdout, out.stderr);
    }

    // collect, verify with the old key; rotate, collect, verify with the new one.
    let runs = run_manifests(dir);
    assert_eq!(runs.len(), 5);
    for (i, manifest) in runs.iter().enumerate() {
        let (signer, other) =
            if i < 2 { ("keys/cairn.pub", "keys/next.pub") } else { ("keys/next.pub", "keys/cairn.pub") };
        assert!(minisign_ok(dir, manifest, signer), "{} with {signer}", manifest.display());
        assert!(!minisign_ok(dir, manifest, other), "{} with {other}", manifest.display());
    }
    let rotation: serde_json::Value = serde_json::from_slice(&std::fs::read(&runs[2]).unwrap()).unwrap();
    assert_eq!(rotation["stage"], "rotate");

    // A consistency proof from a checkpoint of the old key to one of the new: both checkers follow
    // the handover from the key they are given.
    let run_id_of = |p: &PathBuf| p.file_stem().unwrap().to_str().unwrap().to_string();
    let proof = run(&["proof", "consistency", &run_id_of(&runs[0]), &run_id_of(&runs[4])]);
    assert_eq!(proof.code, 0, "{}", proof.stderr);
    let proof_file = dir.join("across.json");
    std::fs::write(&proof_file, &proof.stdout).unwrap();
    let checked = run(&["verify-proof", proof_file.to_str().unwrap(), "--pubkey", "keys/next.pub"]);
    assert_eq!(checked.code, 0, "{}{}", checked.stdout, checked.stderr);
    assert!(checked.stdout.contains("the log only grew (across 1 key rotations)"), "{}", checked.stdout);
    let unpacked_script = dir.join("verify.py");
    std::fs::write(&unpacked_script, include_str!("../../renderer/src/verify.py")).unwrap();
    let py = tool(dir, "python3", &["verify.py", "keys/next.pub", proof_file.to_str().unwrap()]);
    assert_eq!(py.code, 0, "{}{}", py.stdout, py.stderr);
    assert!(py.stdout.contains("(across 1 key rotations)"), "{}", py.stdout);
    // So does an inclusion proof against a checkpoint of the old key.
    let first_run: serde_json::Value = serde_json::from_slice(&std::fs::read(&runs[0]).unwrap()).unwrap();
    let object = first_run["objects"][0]["key"].as_str().unwrap();
    let inclusion = run(&["proof", "inclusion", object, "--run", &run_id_of(&runs[0])]);
    assert_eq!(inclusion.code, 0, "{}", inclusion.stderr);
    let inclusion_file = dir.join("inclusion.json");
    std::fs::write(&inclusion_file, &inclusion.stdout).unwrap();
    let checked = run(&["verify-proof", inclusion_file.to_str().unwrap(), "--pubkey", "keys/next.pub"]);
    assert_eq!(checked.code, 0, "{}{}", checked.stdout, checked.stderr);
    let py = tool(dir, "python3", &["verify.py", "keys/next.pub", inclusion_file.to_str().unwrap()]);
    assert_eq!(py.code, 0, "{}{}", py.stdout, py.stderr);
    // Without the handover, the old checkpoint is no key's the checker trusts.
    let mut bare: serde_json::Value = serde_json::from_str(&proof.stdout).unwrap();
    bare.as_object_mut().unwrap().remove("handovers");
    std::fs::write(&proof_file, bare.to_string()).unwrap();
    assert_ne!(run(&["verify-proof", proof_file.to_str().unwrap(), "--pubkey", "keys/next.pub"]).code, 0);
    assert_ne!(tool(dir, "python3", &["verify.py", "keys/next.pub", proof_file.to_str().unwrap()]).code, 0);

    // A bundle spanning the rotation: verify.py follows the handover from the new key back to the
    // old one, and carries the old key so that minisign checks the runs it signed.
    let unpacked = bundle_unpacked(dir, &[]);
    let v = tool(&unpacked, "python3", &["verify.py", dir.join("keys/next.pub").to_str().unwrap()]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    assert!(
        v.stdout.contains("OK  5 run manifests are each signed by the key of their time (1 key handovers followed)"),
        "{}",
        v.stdout
    );
    let old_id = std::fs::read_to_string(dir.join("keys/cairn.pub"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    let old_pub = format!("keys/cairn-{old_id}.pub");
    let first = format!("store/runs/{}", runs[0].file_name().unwrap().to_str().unwrap());
    assert!(minisign_ok(&unpacked, Path::new(&first), &old_pub), "{first} with {old_pub}");
    assert!(std::fs::read_to_string(unpacked.join("README.txt")).unwrap().contains("Cairn's signing key was rotated"));
    // A handover to the new key claimed from a stranger's key (the statement the stranger's, the
    // rotation run re-signed by the new key): the runs before it are not the stranger's, and
    // verify.py says so.
    let carried = unpacked.join(format!("store/runs/{}", runs[2].file_name().unwrap().to_str().unwrap()));
    let mut forged_rotation: serde_json::Value = serde_json::from_slice(&std::fs::read(&carried).unwrap()).unwrap();
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[98; 32]);
    let stranger_line = cairn_evidence::keys::PublicKey::of(&stranger).minisign_line();
    let previous = &forged_rotation["previous"];
    let statement = format!(
        "cairn key rotation v1\nfrom {stranger_line}\nto {}\nafter {} {}\n",
        forged_rotation["rotation"]["to"].as_str().unwrap(),
        previous["run_id"].as_str().unwrap(),
        previous["sha256"].as_str().unwrap()
    );
    forged_rotation["rotation"]["from"] = stranger_line.into();
    forged_rotation["rotation"]["statement_signature"] =
        cairn_evidence::keys::sign_minisign(&stranger, statement.as_bytes(), "file:key-rotation").unwrap().into();
    let mut bytes = serde_json::to_vec_pretty(&forged_rotation).unwrap();
    bytes.push(b'\n');
    let new_key = cairn_evidence::keys::read_signing_key(&dir.join("keys/next.key")).unwrap();
    std::fs::write(&carried, &bytes).unwrap();
    std::fs::write(
        carried.with_extension("json.minisig"),
        cairn_evidence::keys::sign_minisign(&new_key, &bytes, "file:x").unwrap(),
    )
    .unwrap();
    let check = format!(
        "import json, verify; kid, pk = verify.read_public_key({:?}); \
         verify.check_run_manifests(kid, pk, json.load(open('manifest.json')))",
        dir.join("keys/next.pub").to_str().unwrap()
    );
    let v = tool(&unpacked, "python3", &["-c", &check]);
    assert_ne!(v.code, 0, "{}", v.stdout);
    assert!(v.stderr.contains("was made by another key"), "{}", v.stderr);

    // The keys page: the earlier key's public key, and where each handed over or took over.
    let out = run(&["render"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let keys = std::fs::read_to_string(dir.join("portal/keys.html")).unwrap();
    let run_id = rotation["run_id"].as_str().unwrap();
    // The rotation run, linked three times (text and address): where the old key handed over,
    // where the new one took over, and the new key's first run.
    assert_eq!(keys.matches(run_id).count(), 3 * 2, "{keys}");
    assert!(keys.contains("handed signing to") && keys.contains("took signing over from"), "{keys}");
    assert!(!keys.contains("not held here"), "{keys}");

    // A handover statement signed by a stranger, not by the old key (the manifest re-signed by
    // the new key, as a thief of the new key alone could): verify names it.
    let forged_runs = run_manifests(&forged);
    let last = forged_runs.last().unwrap();
    let mut manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(last).unwrap()).unwrap();
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[99; 32]);
    let statement = b"cairn key rotation v1\n";
    manifest["rotation"]["statement_signature"] =
        cairn_evidence::keys::sign_minisign(&stranger, statement, "file:key-rotation").unwrap().into();
    let mut bytes = serde_json::to_vec_pretty(&manifest).unwrap();
    bytes.push(b'\n');
    let new_key = cairn_evidence::keys::read_signing_key(&forged.join("keys/next.key")).unwrap();
    let signature = cairn_evidence::keys::sign_minisign(&new_key, &bytes, "file:forged").unwrap();
    std::fs::write(last, &bytes).unwrap();
    std::fs::write(last.with_extension("json.minisig"), signature).unwrap();
    std::fs::write(forged.join("cairn.toml"), &next).unwrap();
    let out = cairn_env(&forged, &["verify", "--full", "--format", "json"], &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("key rotation: the old key's signature over the rotation statement"), "{}", out.stdout);

    // A configured public key the lake never had.
    let stranger_pub = cairn_evidence::keys::PublicKey::of(&stranger).to_minisign_file();
    std::fs::write(dir.join("keys/stranger.pub"), stranger_pub).unwrap();
    std::fs::write(dir.join("cairn.toml"), next.replace("keys/next.pub", "keys/stranger.pub")).unwrap();
    let out = cairn_env(dir, &["verify", "--full", "--format", "json"], &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("is none of the keys that signed this lake"), "{}", out.stdout);
}
