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

/// What the fault proxy does with a new connection.
const PASS: u8 = 0;
/// Accept and close at once: the server is down (connection reset).
const DOWN: u8 = 1;
/// Answer every request with S3's `503 SlowDown`.
const SLOW_DOWN: u8 = 2;

/// A TCP proxy in front of the S3 server that can be switched to fail: the store as seen from
/// the run goes down (connections reset), throttles (503 SlowDown) and comes back.
struct FaultProxy {
    port: u16,
    mode: std::sync::Arc<std::sync::atomic::AtomicU8>,
    faults: std::sync::Arc<std::sync::atomic::AtomicU64>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl FaultProxy {
    fn start(upstream: &str) -> Self {
        use std::sync::atomic::Ordering;
        use std::sync::{Arc, Mutex};
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(std::sync::atomic::AtomicU8::new(PASS));
        let faults = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let open: Arc<Mutex<Vec<std::net::TcpStream>>> = Arc::default();
        let (m, f, o) = (mode.clone(), faults.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { continue };
                match m.load(Ordering::SeqCst) {
                    DOWN => {
                        f.fetch_add(1, Ordering::SeqCst);
                        let _ = client.shutdown(std::net::Shutdown::Both);
                    }
                    SLOW_DOWN => {
                        f.fetch_add(1, Ordering::SeqCst);
                        std::thread::spawn(move || {
                            let mut buf = vec![0u8; 65536];
                            let _ = std::io::Read::read(&mut client, &mut buf);
                            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                            let _ = write!(
                                client,
                                "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            );
                        });
                    }
                    _ => {
                        let Ok(server) = std::net::TcpStream::connect(&upstream) else { continue };
                        o.lock().unwrap().extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                        let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                        let (mut c1, mut s1) = (client, server);
                        std::thread::spawn(move || {
                            let _ = std::io::copy(&mut c1, &mut s1);
                            let _ = s1.shutdown(std::net::Shutdown::Write);
                        });
                        std::thread::spawn(move || {
                            let _ = std::io::copy(&mut s2, &mut c2);
                            let _ = c2.shutdown(std::net::Shutdown::Write);
                        });
                    }
                }
            }
        });
        Self { port, mode, faults, open }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, std::sync::atomic::Ordering::SeqCst);
        if mode != PASS {
            // Connections already open fail too: the server went away.
            for s in self.open.lock().unwrap().drain(..) {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    fn faults(&self) -> u64 {
        self.faults.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "cairn-test".into()),
            ("AWS_SECRET_ACCESS_KEY", "cairn-test-secret".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT", format!("http://127.0.0.1:{}", self.port)),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }
}

/// 100,000 signed events collected into a lake in S3 by a `nightly` job.
fn s3_org(dir: &Path, s3: &S3Server, bucket: &str) -> std::path::PathBuf {
    let org = dir.join("org");
    let out = common::cairn(dir, &["bench", "prepare-ingest", "--events", "100000", "--dir", org.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    s3.create_bucket(bucket);
    let config = std::fs::read_to_string(org.join("cairn.toml"))
        .unwrap()
        .replace("url = \"store\"", &format!("url = \"s3://{bucket}/lake\""));
    std::fs::write(
        org.join("cairn.toml"),
        format!(
            "{config}\n[[job]]\nname = \"nightly\"\nschedule = \"0 30 2 * * *\"\nsteps = [\"collect\", \"verify\"]\n"
        ),
    )
    .unwrap();
    org
}

/// Starts `cairn run nightly` and returns it once its collect step is under way.
fn start_run(org: &Path, env: &[(&str, String)]) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["run", "nightly"])
        .current_dir(org)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(stderr).map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains("collecting") => return (child, rx),
            Ok(_) => {}
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the run did not start collecting: {e}");
            }
        }
    }
}

fn verify_clean(org: &Path, env: &[(&str, &str)]) {
    let out = cairn_env(org, &["verify", "--full", "--format", "json"], env);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.stdout.trim(), "[]");
    let out = cairn_env(org, &["verify", "--full"], env);
    assert!(out.stdout.contains("100000 events"), "{}", out.stdout);
}

#[test]
fn a_store_that_goes_down_and_throttles_mid_run_is_retried_and_the_run_completes() {
    let s3 = S3Server::start();
    let proxy = FaultProxy::start(&s3.endpoint);
    let tmp = tempfile::tempdir().unwrap();
    let org = s3_org(tmp.path(), &s3, "faults-retried");
    let env = proxy.env();
    let (mut run, log) = start_run(&org, &env);
    proxy.set(DOWN);
    std::thread::sleep(Duration::from_secs(2));
    proxy.set(SLOW_DOWN);
    std::thread::sleep(Duration::from_secs(2));
    proxy.set(PASS);
    let status = run.wait().unwrap();
    let lines: Vec<String> = log.iter().collect();
    assert!(proxy.faults() > 0, "the faults reached the run");
    assert_eq!(status.code(), Some(0), "retried through the outage: {lines:#?}");
    assert!(lines.iter().any(|l| l.contains("retry")), "{lines:#?}");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    verify_clean(&org, &env);
}

#[test]
fn a_store_that_stays_down_fails_the_run_with_exit_2_and_the_next_run_completes_it() {
    let s3 = S3Server::start();
    let proxy = FaultProxy::start(&s3.endpoint);
    let tmp = tempfile::tempdir().unwrap();
    let org = s3_org(tmp.path(), &s3, "faults-down");
    let mut env = proxy.env();
    env.extend([("CAIRN_STORE_RETRY_SECONDS", "3".to_string()), ("CAIRN_STORE_MAX_RETRIES", "3".to_string())]);
    let (mut run, log) = start_run(&org, &env);
    proxy.set(DOWN);
    let status = run.wait().unwrap();
    let lines: Vec<String> = log.iter().collect();
    assert_eq!(status.code(), Some(2), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("s3://faults-down/lake")), "the error names the store: {lines:#?}");
    assert!(!lines.iter().any(|l| l.contains("cairn-test-secret")), "no secret in the log");

    // The store comes back: the lake holds nothing half-committed, and the next run (taking
    // over the lock the failed run could not release) completes the work.
    proxy.set(PASS);
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = cairn_env(&org, &["verify", "--full", "--format", "json"], &env_ref);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let out = cairn_env(&org, &["run", "nightly"], &env_ref);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    verify_clean(&org, &env_ref);
}
