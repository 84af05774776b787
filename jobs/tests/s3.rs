//! Object storage: the same organisation collected and verified from a local folder and from a
//! real S3-compatible server (moto, started here on 127.0.0.1), with credentials from the
//! environment exactly as in production. Sources and the lake both live in S3.

mod common;

use std::io::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{cairn_env, findings, Org};
use serde_json::json;

/// A moto S3 server on a free local port, stopped when dropped.
struct S3Server {
    child: Child,
    endpoint: String,
}

impl S3Server {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto[server] must be installed (the README's test command installs it)");
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, endpoint }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "cairn-test".into()),
            ("AWS_SECRET_ACCESS_KEY", "cairn-test-secret".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    /// Creates buckets and uploads `dir`'s files under `bucket/prefix/`, with boto3.
    fn upload(&self, bucket: &str, dir: &Path, prefix: &str) {
        let script = r#"
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
bucket, root, prefix = sys.argv[2], sys.argv[3], sys.argv[4]
if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
    s3.create_bucket(Bucket=bucket)
for d, _, files in os.walk(root):
    for f in files:
        path = os.path.join(d, f)
        key = prefix + "/" + os.path.relpath(path, root)
        s3.upload_file(path, bucket, key)
"#;
        let out = common::tool(dir, "python3", &["-c", script, &self.endpoint, bucket, dir.to_str().unwrap(), prefix]);
        assert_eq!(out.code, 0, "{}", out.stderr);
    }

    fn create_bucket(&self, bucket: &str) {
        let script = r#"
import sys, boto3
boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1").create_bucket(Bucket=sys.argv[2])
"#;
        let out = common::tool(Path::new("."), "python3", &["-c", script, &self.endpoint, bucket]);
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn gzip(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

/// An organisation whose events arrive as Datadog archives, with one event delivered twice.
fn org_with_archives(dir: &Path) -> Org {
    let mut org = Org::new(dir);
    let events = org.events(30);
    let mut lines = String::new();
    for (i, e) in events.iter().enumerate() {
        let log =
            json!({"_id": format!("AQ{i:06}"), "date": e["ts"], "host": "app-01", "service": "app", "attributes": e});
        lines.push_str(&log.to_string());
        lines.push('\n');
        if i == 12 {
            // Re-ingested by the SIEM under a new id.
            let again =
                json!({"_id": "AQ-again", "date": e["ts"], "host": "app-01", "service": "app", "attributes": e});
            lines.push_str(&again.to_string());
            lines.push('\n');
        }
    }
    let archive = org.dir.join("inputs/app/dt=20261120/hour=00/archive_000000.0000.x.json.gz");
    std::fs::create_dir_all(archive.parent().unwrap()).unwrap();
    std::fs::write(archive, gzip(&lines)).unwrap();
    org
}

fn configure(org: &Org, store: &str, source_url: &str) {
    let config = std::fs::read_to_string(org.dir.join("cairn.toml")).unwrap();
    let head = config.split("[[source]]").next().unwrap().replace("url = \"store\"", &format!("url = \"{store}\""));
    std::fs::write(
        org.dir.join("cairn.toml"),
        format!("{head}[[source]]\nname = \"app\"\ntype = \"datadog-archive\"\nurl = \"{source_url}\"\n"),
    )
    .unwrap();
}

#[test]
fn the_same_organisation_collects_and_verifies_alike_from_a_folder_and_from_s3() {
    let s3 = S3Server::start();
    let env = s3.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut outcomes = Vec::new();
    for backend in ["file", "s3"] {
        let tmp = tempfile::tempdir().unwrap();
        let org = org_with_archives(tmp.path());
        if backend == "s3" {
            s3.upload("siem-archives", &org.dir.join("inputs/app"), "datadog/prod");
            s3.create_bucket("cairn-evidence");
            configure(&org, "s3://cairn-evidence/lake", "s3://siem-archives/datadog/prod/");
        } else {
            configure(&org, "store", "inputs/app/");
        }
        let c = cairn_env(&org.dir, &["collect"], &env);
        assert_eq!(c.code, 0, "{backend}: {}\n{}", c.stdout, c.stderr);
        let v = cairn_env(&org.dir, &["verify", "--format", "json"], &env);
        assert_eq!(v.code, 0, "{backend}: duplicates are reported, not breaks: {}", v.stderr);
        let got = findings(&v.stdout);
        // A second collect finds nothing new; a full verify re-reads the lake from the store.
        let again = cairn_env(&org.dir, &["collect"], &env);
        assert!(again.stdout.contains("0 with new data"), "{backend}: {}", again.stdout);
        let full = cairn_env(&org.dir, &["verify", "--full", "--format", "json"], &env);
        assert_eq!(findings(&full.stdout), got, "{backend}");
        let render = cairn_env(&org.dir, &["render"], &env);
        assert_eq!(render.code, 0, "{backend}: {}", render.stderr);
        assert!(!c.stderr.contains("cairn-test-secret") && !v.stderr.contains("cairn-test-secret"));
        let line = c.stdout.lines().find(|l| l.contains("app:")).unwrap().to_string();
        outcomes.push((backend, line.replace("s3://siem-archives/datadog/prod", "inputs/app"), got));
    }
    assert_eq!(outcomes[0].1, outcomes[1].1);
    assert_eq!(outcomes[0].2, outcomes[1].2);
    assert_eq!(outcomes[1].2, vec![("duplicate".to_string(), "app-main".to_string(), 12)]);
}

#[test]
fn wrong_credentials_or_a_missing_bucket_are_clear_errors_without_secrets() {
    let s3 = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let org = org_with_archives(tmp.path());
    configure(&org, "store", "s3://no-such-bucket/datadog/");
    let env = s3.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let c = cairn_env(&org.dir, &["collect"], &env);
    assert_eq!(c.code, 2, "{}", c.stdout);
    assert!(c.stderr.contains("no-such-bucket"), "{}", c.stderr);
    assert!(!c.stderr.contains("cairn-test-secret"), "{}", c.stderr);
}
