//! Published key documents (`[[trust.published]]`): a JWKS served over local HTTP is fetched at
//! every collection and its keys recorded in the `keys` table; a rotation is recorded and shown
//! on the keys page; a pinned fingerprint that stops matching and a key withdrawn while the
//! keyring trusts it are findings; a server that never answers costs the run no more than the
//! timeout and becomes a finding only past the grace period; redirects to other hosts and
//! oversized documents are refused; a minisign public key file works too.

mod common;

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use cairn_evidence::artefacts::{KeyRow, LakeTable as _};
use cairn_evidence::keys::PublicKey;
use cairn_evidence::published::fingerprint;
use common::{cairn, Org};
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde_json::{json, Value};

/// What the test server answers on one path.
#[derive(Clone)]
enum Answer {
    /// 200 with this body.
    Body(Vec<u8>),
    /// 302 to this location.
    Redirect(String),
    /// Reads the request and never answers.
    Hang,
    /// 200 with this many bytes and no `Content-Length`, so only reading counts them.
    Endless(usize),
}

/// A tiny HTTP/1.1 server on 127.0.0.1: one thread per connection, answers by path.
struct Server {
    port: u16,
    answers: Arc<Mutex<HashMap<String, Answer>>>,
}

impl Server {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let answers: Arc<Mutex<HashMap<String, Answer>>> = Arc::default();
        let shared = Arc::clone(&answers);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let answers = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &answers));
            }
        });
        Self { port, answers }
    }

    fn set(&self, path: &str, answer: Answer) {
        self.answers.lock().unwrap().insert(path.into(), answer);
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn serve(mut stream: TcpStream, answers: &Mutex<HashMap<String, Answer>>) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&request);
    let target = text.split_whitespace().nth(1).unwrap_or("/");
    let path = target.split('?').next().unwrap_or(target).to_string();
    let answer = answers.lock().unwrap().get(&path).cloned();
    let _ = match answer {
        Some(Answer::Body(body)) => stream
            .write_all(
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())
                    .as_bytes(),
            )
            .and_then(|()| stream.write_all(&body)),
        Some(Answer::Redirect(to)) => stream.write_all(
            format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
        ),
        Some(Answer::Hang) => {
            std::thread::sleep(Duration::from_secs(120));
            Ok(())
        }
        Some(Answer::Endless(n)) => {
            let chunk = vec![b' '; 64 * 1024];
            let mut result = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let mut sent = 0;
            while result.is_ok() && sent < n {
                result = stream.write_all(&chunk);
                sent += chunk.len();
            }
            result
        }
        None => stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    };
}

fn key(byte: u8) -> VerifyingKey {
    SigningKey::from_bytes(&[byte; 32]).verifying_key()
}

fn jwks(keys: &[(&str, VerifyingKey)]) -> Vec<u8> {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(kid, k)| json!({"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": kid, "x": B64URL.encode(k.as_bytes())}))
        .collect();
    serde_json::to_vec_pretty(&json!({ "keys": keys })).unwrap()
}

/// Appends a `[[trust.published]]` entry to the organisation's configuration.
fn publish(org: &Path, entry: &str) {
    let mut config = std::fs::read_to_string(org.join("cairn.toml")).unwrap();
    config.push_str("\n[[trust.published]]\n");
    config.push_str(entry);
    config.push('\n');
    std::fs::write(org.join("cairn.toml"), config).unwrap();
}

/// Every `keys` row in the lake, in commit order.
fn key_rows(org: &Path) -> Vec<KeyRow> {
    let dir = org.join("store/lake/keys");
    let mut files: Vec<_> = common::files(&dir).into_iter().map(|f| dir.join(f)).collect();
    // Objects are named `<run_id>-<n>`, and run ids sort in commit order.
    files.sort_by_key(|f| f.file_name().unwrap().to_owned());
    let mut rows = Vec::new();
    for f in files {
        let bytes = bytes::Bytes::from(std::fs::read(f).unwrap());
        for batch in cairn_evidence::tables::from_parquet(bytes).unwrap() {
            rows.extend(KeyRow::from_batch(&batch.unwrap()).unwrap());
        }
    }
    rows
}

/// (event, kid, fingerprint) of the rows of the latest run, sorted.
fn latest(rows: &[KeyRow]) -> Vec<(String, String, String)> {
    let run = rows.last().map(|r| r.provenance.run_id.clone()).unwrap_or_default();
    let mut out: Vec<_> = rows
        .iter()
        .filter(|r| r.provenance.run_id == run)
        .map(|r| (r.event.clone(), r.kid.clone(), r.fingerprint.clone()))
        .collect();
    out.sort();
    out
}

/// The published-key findings of `verify --format json`: (kind, detail).
fn published_findings(org: &Path) -> Vec<(String, String)> {
    let out = cairn(org, &["verify", "--format", "json"]);
    assert!(out.code == 0 || out.code == 1, "{}\n{}", out.stdout, out.stderr);
    let findings: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    let mut out: Vec<(String, String)> = findings
        .iter()
        .filter(|f| f["kind"].as_str().is_some_and(|k| k.starts_with("published_key_")))
        .map(|f| (f["kind"].as_str().unwrap().to_string(), f["detail"].as_str().unwrap().to_string()))
        .collect();
    out.sort();
    out
}

fn triple(event: &str, kid: &str, fp: &str) -> (String, String, String) {
    (event.into(), kid.into(), fp.into())
}

#[test]
fn a_served_jwks_is_recorded_its_rotation_shown_and_pins_and_withdrawals_found() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    let server = Server::start();
    let (a, b, c, d) = (key(61), key(62), key(63), key(64));
    server.set("/.well-known/jwks.json", Answer::Body(jwks(&[("vendor-1", a), ("vendor-2", b)])));
    publish(
        &org.dir,
        &format!(
            "name = \"vendor\"\nurl = \"{}\"\ntimeout_seconds = 2\npins = {{ \"vendor-1\" = \"{}\" }}",
            server.url("/.well-known/jwks.json?token=s3cret"),
            fingerprint(&a)
        ),
    );
    // The keyring trusts vendor-2 for the vendor's chains: it depends on the published key.
    let mut ring = std::fs::read_to_string(org.dir.join("keys/trusted.toml")).unwrap();
    ring.push_str("\n[[key]]\nkid = \"vendor-2\"\nchains = [\"vendor-*\"]\npublic_key = \"");
    ring.push_str(&base64::engine::general_purpose::STANDARD.encode(b.as_bytes()));
    ring.push_str("\"\n");
    std::fs::write(org.dir.join("keys/trusted.toml"), ring).unwrap();

    // First run: both keys are added, the document kept as a blob; nothing to find.
    let lines = org.lines(3);
    org.append("a.jsonl", &lines);
    let out = cairn(&org.dir, &["collect"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("published keys vendor: 2 keys, 2 changes"), "{}", out.stdout);
    assert!(!out.stderr.contains("s3cret"), "the URL's query is never logged: {}", out.stderr);
    // Each new key's fingerprint is logged: the value to pin on first use.
    assert!(out.stderr.contains(&fingerprint(&a)) && out.stderr.contains("vendor-1"), "{}", out.stderr);
    let rows = key_rows(&org.dir);
    assert_eq!(
        latest(&rows),
        [
            triple("added", "vendor-1", &fingerprint(&a)),
            triple("added", "vendor-2", &fingerprint(&b)),
            triple("fetched", "", "")
        ]
    );
    let doc = rows.iter().find(|r| r.event == "fetched").unwrap();
    assert_eq!(doc.location, server.url("/.well-known/jwks.json"), "stored without its query");
    assert!(rows.iter().all(|r| r.document == "vendor" && r.provenance.source == "vendor"));
    let blob = org.dir.join("store").join(doc.blob.as_deref().unwrap());
    assert_eq!(std::fs::read(blob).unwrap(), jwks(&[("vendor-1", a), ("vendor-2", b)]));
    assert_eq!(published_findings(&org.dir), Vec::<(String, String)>::new());

    // An unchanged document: every key is seen again, unchanged.
    let out = cairn(&org.dir, &["collect"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        latest(&key_rows(&org.dir)),
        [
            triple("fetched", "", ""),
            triple("unchanged", "vendor-1", &fingerprint(&a)),
            triple("unchanged", "vendor-2", &fingerprint(&b))
        ]
    );

    // The rotation: vendor-1 gets new key material, vendor-2 is withdrawn, vendor-3 appears.
    server.set("/.well-known/jwks.json", Answer::Body(jwks(&[("vendor-1", c), ("vendor-3", d)])));
    let out = cairn(&org.dir, &["collect"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows = key_rows(&org.dir);
    assert_eq!(
        latest(&rows),
        [
            triple("added", "vendor-3", &fingerprint(&d)),
            triple("changed", "vendor-1", &fingerprint(&c)),
            triple("fetched", "", ""),
            triple("removed", "vendor-2", &fingerprint(&b)),
        ]
    );
    let changed = rows.iter().find(|r| r.event == "changed").unwrap();
    assert_eq!(changed.previous_fingerprint.as_deref(), Some(fingerprint(&a).as_str()));
    assert_eq!(changed.pinned.as_deref(), Some(fingerprint(&a).as_str()));
    let found = published_findings(&org.dir);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, "published_key_pin_mismatch");
    assert!(
        found[0].1.contains(&format!("pinned fingerprint {}, observed {}", fingerprint(&a), fingerprint(&c))),
        "{}",
        found[0].1
    );
    assert_eq!(found[1].0, "published_key_removed");
    assert!(found[1].1.contains("\"vendor-2\"") && found[1].1.contains("vendor-*"), "{}", found[1].1);

    // The committed verification fails the key-management control; the keys page shows every
    // key, where it came from, and the rotation.
    let out = cairn(&org.dir, &["render"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let page = std::fs::read_to_string(org.dir.join("portal/keys.html")).unwrap();
    for needle in [
        "Published key documents",
        "vendor-3",
        &fingerprint(&a),
        &fingerprint(&c),
        &format!("(was {})", fingerprint(&a)),
        "removed",
        "vendor-*",
        // Escaped like everything else on the page.
        "http:&#x2F;&#x2F;127.0.0.1",
    ] {
        assert!(page.contains(needle), "keys page lacks {needle:?}");
    }
    assert!(!page.contains("s3cret"));
    let control = std::fs::read_to_string(org.dir.join("portal/controls/CRY-01.html")).unwrap();
    assert!(control.contains("published_key_removed"), "CRY-01 lists the finding");
}

#[test]
fn an_unanswering_server_costs_only_the_timeout_and_is_a_finding_past_the_grace_period() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    let server = Server::start();
    server.set("/hang", Answer::Hang);
    publish(
        &org.dir,
        &format!("name = \"strict\"\nurl = \"{}\"\ntimeout_seconds = 2\ngrace_hours = 0", server.url("/hang")),
    );
    publish(&org.dir, &format!("name = \"patient\"\nurl = \"{}\"\ntimeout_seconds = 2", server.url("/hang")));
    let lines = org.lines(4);
    org.append("a.jsonl", &lines);
    let started = Instant::now();
    let out = cairn(&org.dir, &["collect"]);
    let elapsed = started.elapsed();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(elapsed < Duration::from_secs(30), "the run took {elapsed:?}");
    assert!(out.stdout.contains("4 events"), "the other evidence is collected: {}", out.stdout);
    assert!(out.stdout.contains("published keys strict: unreachable (timed out"), "{}", out.stdout);
    assert!(out.stderr.contains("unreachable"), "a warning is logged: {}", out.stderr);
    let rows = key_rows(&org.dir);
    assert_eq!(rows.iter().filter(|r| r.event == "unreachable").count(), 2);
    // Past its grace period (none) the strict document is a finding; the patient one (72 h) is not.
    let found = published_findings(&org.dir);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "published_key_unreachable");
    assert!(found[0].1.contains("\"strict\"") && found[0].1.contains("never fetched"), "{}", found[0].1);
}

#[test]
fn redirects_to_other_hosts_and_oversized_documents_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let org = Org::new(tmp.path());
    let server = Server::start();
    let body = jwks(&[("k", key(71))]);
    server.set("/jwks.json", Answer::Body(body.clone()));
    // The same document through a redirect on the same host is followed …
    server.set("/moved", Answer::Redirect("/jwks.json".into()));
    // … one to another host (`localhost` is not `127.0.0.1`) is not.
    server.set("/elsewhere", Answer::Redirect(format!("http://localhost:{}/jwks.json", server.port)));
    server.set("/big", Answer::Endless(3 * 1024 * 1024));
    server.set("/tight", Answer::Body(body.clone()));
    publish(&org.dir, &format!("name = \"moved\"\nurl = \"{}\"\ntimeout_seconds = 5", server.url("/moved")));
    publish(&org.dir, &format!("name = \"elsewhere\"\nurl = \"{}\"\ntimeout_seconds = 5", server.url("/elsewhere")));
    publish(&org.dir, &format!("name = \"big\"\nurl = \"{}\"\ntimeout_seconds = 5", server.url("/big")));
    publish(
        &org.dir,
        &format!(
            "name = \"tight\"\nurl = \"{}\"\ntimeout_seconds = 5\nmax_bytes = {}",
            server.url("/tight"),
            body.len() - 1
        ),
    );
    let out = cairn(&org.dir, &["collect"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("published keys moved: 1 keys"), "{}", out.stdout);
    let rows = key_rows(&org.dir);
    let reason = |doc: &str| {
        rows.iter()
            .find(|r| r.document == doc && r.event == "unreachable")
            .map(|r| r.detail.clone())
            .unwrap_or_default()
    };
    assert!(reason("elsewhere").contains("redirect to another host (localhost) is refused"), "{}", reason("elsewhere"));
    assert!(reason("big").contains("larger than the limit of 1048576 bytes"), "{}", reason("big"));
    assert!(
        reason("tight").contains(&format!("larger than the limit of {} bytes", body.len() - 1)),
        "{}",
        reason("tight")
    );
    assert!(reason("moved").is_empty());

    // Plain http:// to another host is refused when the configuration is read.
    publish(&org.dir, "name = \"plain\"\nurl = \"http://vendor.example/jwks.json\"");
    let out = cairn(&org.dir, &["collect"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("\"plain\"") && out.stderr.contains("use https://"), "{}", out.stderr);
}

#[test]
fn a_minisign_public_key_file_works_too() {
    let tmp = tempfile::tempdir().unwrap();
    let org = Org::new(tmp.path());
    let first = PublicKey::of(&SigningKey::from_bytes(&[81u8; 32]));
    std::fs::write(org.dir.join("keys/vendor.pub"), first.to_minisign_file()).unwrap();
    publish(&org.dir, "name = \"release-key\"\nurl = \"keys/vendor.pub\"");
    let out = cairn(&org.dir, &["collect"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        latest(&key_rows(&org.dir)),
        [triple("added", &first.key_id_hex(), &fingerprint(&first.key)), triple("fetched", "", "")]
    );
    // A new key: a new key id, so the old one is removed and the new one added.
    let second = PublicKey::of(&SigningKey::from_bytes(&[82u8; 32]));
    std::fs::write(org.dir.join("keys/vendor.pub"), second.to_minisign_file()).unwrap();
    let out = cairn(&org.dir, &["collect"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        latest(&key_rows(&org.dir)),
        [
            triple("added", &second.key_id_hex(), &fingerprint(&second.key)),
            triple("fetched", "", ""),
            triple("removed", &first.key_id_hex(), &fingerprint(&first.key)),
        ]
    );
    // Nothing depends on the old key: a rotation alone is no finding.
    assert_eq!(published_findings(&org.dir), Vec::<(String, String)>::new());
}

#[test]
fn keys_join_the_keyring_only_when_the_configuration_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let org = Org::new(tmp.path());
    let vendor = SigningKey::from_bytes(&[91u8; 32]);
    std::fs::write(org.dir.join("keys/vendor.jwks"), jwks(&[("vendor-1", vendor.verifying_key())])).unwrap();
    let event = common::sign(
        &vendor,
        json!({"chain": "vendor-main", "seq": 0, "ts": "2026-11-20T00:00:00Z", "kid": "vendor-1",
            "prev": cairn_evidence::event::GENESIS_PREV, "action": "deploy"}),
    );
    org.append("vendor.jsonl", &format!("{}\n", json!({ "event": event })));
    let unknown = |org: &Path| {
        let out = cairn(org, &["verify", "--full", "--format", "json"]);
        common::findings(&out.stdout).into_iter().filter(|(kind, _, _)| kind == "unknown_key").count()
    };
    // Recorded, not trusted: the event's key is unknown.
    publish(&org.dir, "name = \"vendor\"\nurl = \"keys/vendor.jwks\"");
    assert_eq!(cairn(&org.dir, &["collect"]).code, 0);
    assert_eq!(unknown(&org.dir), 1);
    // Joined for the vendor's chains: the same event verifies.
    let config = std::fs::read_to_string(org.dir.join("cairn.toml")).unwrap();
    let joined = config.replace(
        "url = \"keys/vendor.jwks\"",
        "url = \"keys/vendor.jwks\"\njoin_keyring = true\nchains = [\"vendor-*\"]",
    );
    std::fs::write(org.dir.join("cairn.toml"), joined).unwrap();
    assert_eq!(unknown(&org.dir), 0);
}
