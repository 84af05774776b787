//! The Datadog Logs Search API over a real socket: a local server speaking its documented shape
//! (cursor pagination, a 429 with `x-ratelimit-reset`, a partial `timeout` page, key headers)
//! serves signed events; they are collected once, late logs inside the overlap window are picked
//! up, and nothing is collected twice.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use common::{cairn_env, findings, Org};
use serde_json::{json, Value};

/// The mock: serves `logs.json` (reloaded on each request), three logs a page, after answering
/// the very first request 429 and the first ask of page 2 with a partial `timeout`. It counts
/// requests in `requests.log`.
const SERVER: &str = r#"
import json, sys, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
root = sys.argv[2]
state = {"requests": 0, "timeouts": set()}
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def reply(self, code, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        for k, v in headers: self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_POST(self):
        state["requests"] += 1
        with open(os.path.join(root, "requests.log"), "a") as f: f.write(self.path + "\n")
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/api/v2/logs/events/search":
            return self.reply(404, {"errors": ["not found"]})
        if self.headers.get("DD-API-KEY") != "api-secret-1" or self.headers.get("DD-APPLICATION-KEY") != "app-secret-1":
            return self.reply(403, {"errors": ["Forbidden"]})
        if state["requests"] == 1:
            return self.reply(429, {"errors": ["Too many requests"]}, [("x-ratelimit-reset", "1"), ("x-ratelimit-limit", "300")])
        logs = json.load(open(os.path.join(root, "logs.json")))
        f = body["filter"]
        logs = [l for l in logs if f["from"] <= l["attributes"]["timestamp"] < f["to"]]
        logs.sort(key=lambda l: l["attributes"]["timestamp"])
        start = int(body["page"].get("cursor", "0"))
        page = logs[start:start + 3]
        after = str(start + 3) if start + 3 < len(logs) else None
        meta = {"page": {"after": after} if after else {}, "status": "done", "elapsed": 5, "request_id": "r"}
        if start == 3 and (f["from"], 3) not in state["timeouts"]:
            state["timeouts"].add((f["from"], 3))
            meta["status"] = "timeout"
            page = page[:1]
        self.reply(200, {"data": page, "meta": meta, "links": {}})
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

struct Mock {
    child: Child,
    url: String,
}

impl Mock {
    fn start(dir: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("python3")
            .args(["-c", SERVER, &port.to_string(), dir.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the mock API did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A log as the search API returns it, indexed `ago` seconds before now.
fn log(id: &str, event: &Value, ago: i64) -> Value {
    let ts = (Utc::now() - chrono::Duration::seconds(ago)).to_rfc3339_opts(SecondsFormat::Millis, true);
    json!({"id": id, "type": "log", "attributes": {"timestamp": ts, "host": "app-01", "service": "app",
        "status": "info", "message": "audit", "tags": ["env:prod"], "attributes": event}})
}

#[test]
fn datadog_search_api_pages_retries_and_overlaps_without_double_collection() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    let mock = Mock::start(tmp.path());
    let config = std::fs::read_to_string(org.dir.join("cairn.toml")).unwrap();
    let head = config.split("[[source]]").next().unwrap();
    std::fs::write(
        org.dir.join("cairn.toml"),
        format!(
            "{head}[[source]]\nname = \"app\"\ntype = \"datadog-api\"\nurl = \"{}\"\nquery = \"service:app\"\nstart = \"2026-01-01T00:00:00Z\"\noverlap_seconds = 300\n",
            mock.url
        ),
    )
    .unwrap();
    let env = [("DD_API_KEY", "api-secret-1"), ("DD_APPLICATION_KEY", "app-secret-1")];
    // Eight logs indexed between 10 and 2 minutes ago: pages of three, page 2 partial once.
    let events = org.events(8);
    let logs: Vec<Value> =
        events.iter().enumerate().map(|(i, e)| log(&format!("AAA{i}"), e, 600 - 60 * i as i64)).collect();
    std::fs::write(tmp.path().join("logs.json"), serde_json::to_string(&logs).unwrap()).unwrap();
    let c = cairn_env(&org.dir, &["collect"], &env);
    assert_eq!(c.code, 0, "{}\n{}", c.stdout, c.stderr);
    assert!(c.stdout.contains("8 records, 8 events, 0 kept aside"), "{}", c.stdout);
    assert!(!c.stderr.contains("secret") && !c.stdout.contains("secret"), "{}", c.stderr);
    let requests = std::fs::read_to_string(tmp.path().join("requests.log")).unwrap().lines().count();
    assert_eq!(requests, 5, "one 429, three pages, one repeat of the partial page");
    let v = cairn_env(&org.dir, &["verify", "--format", "json"], &env);
    assert!(findings(&v.stdout).is_empty(), "{}", v.stdout);

    // A log indexed late, inside the window already asked for, and two new ones: the next run
    // asks again from before its watermark and collects exactly those three.
    let more = org.events(3);
    let mut all = logs.clone();
    all.push(log("AAA8", &more[0], 100));
    all.push(log("AAA9", &more[1], 50));
    all.push(log("AAA10", &more[2], 40));
    std::fs::write(tmp.path().join("logs.json"), serde_json::to_string(&all).unwrap()).unwrap();
    let c = cairn_env(&org.dir, &["collect"], &env);
    assert_eq!(c.code, 0, "{}\n{}", c.stdout, c.stderr);
    assert!(c.stdout.contains(", 1 events"), "only the late log is old enough to ask for yet: {}", c.stdout);
    let v = cairn_env(&org.dir, &["verify", "--format", "json"], &env);
    assert!(findings(&v.stdout).is_empty(), "nothing twice, nothing skipped: {}", v.stdout);

    // Wrong keys: a clear error naming the endpoint and the status, never the key.
    let bad = [("DD_API_KEY", "wrong-secret"), ("DD_APPLICATION_KEY", "app-secret-1")];
    let c = cairn_env(&org.dir, &["collect"], &bad);
    assert_eq!(c.code, 2);
    assert!(c.stderr.contains("403") && c.stderr.contains("/api/v2/logs/events/search"), "{}", c.stderr);
    assert!(!c.stderr.contains("wrong-secret"), "{}", c.stderr);
}

/// A Splunk management port: `search/jobs/export` streaming JSON lines (a preview round, a
/// message, then the final rows), answering the first request 503.
const SPLUNK: &str = r#"
import json, sys, os, urllib.parse, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
root = sys.argv[2]
state = {"n": 0}
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        state["n"] += 1
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        with open(os.path.join(root, "splunk-requests.log"), "a") as f: f.write(json.dumps(form) + "\n")
        if self.headers.get("Authorization") != "Bearer tok-secret-9":
            self.send_response(401); self.send_header("Content-Length", "0"); self.end_headers(); return
        if state["n"] == 1:
            self.send_response(503); self.send_header("Content-Length", "0"); self.end_headers(); return
        lo, hi = float(form["earliest_time"][0]), float(form["latest_time"][0])
        rows = json.load(open(os.path.join(root, "splunk.json")))
        rows = [r for r in rows if lo <= r["epoch"] < hi]
        out = []
        if rows:
            out.append({"preview": True, "offset": 0, "lastrow": True, "result": rows[0]["result"]})
        out.append({"messages": [{"type": "INFO", "text": "Search finalized."}]})
        for i, r in enumerate(rows):
            out.append({"preview": False, "offset": i, "result": r["result"]})
        data = ("\n".join(json.dumps(o) for o in out) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(0, len(data), 100):
            part = data[i:i + 100]
            self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

fn splunk_row(event: &Value, cd: &str, ago: i64) -> Value {
    let t = Utc::now() - chrono::Duration::seconds(ago);
    let splunk_time = t
        .with_timezone(&chrono::FixedOffset::west_opt(8 * 3600).unwrap())
        .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string();
    json!({"epoch": t.timestamp_millis() as f64 / 1000.0, "result": {"_raw": event.to_string(), "_time": splunk_time,
        "_cd": cd, "index": "audit", "host": "app-01", "sourcetype": "cairn:audit", "splunk_server": "idx-1"}})
}

#[test]
fn splunk_export_api_streams_retries_and_overlaps_without_double_collection() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("python3")
        .args(["-c", SPLUNK, &port.to_string(), tmp.path().to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mock = Mock { child, url: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the mock Splunk did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let config = std::fs::read_to_string(org.dir.join("cairn.toml")).unwrap();
    let head = config.split("[[source]]").next().unwrap();
    std::fs::write(
        org.dir.join("cairn.toml"),
        format!(
            "{head}[[source]]\nname = \"app\"\ntype = \"splunk-api\"\nurl = \"{}\"\nsearch = \"search index=audit | reverse\"\nstart = \"2026-01-01T00:00:00Z\"\n",
            mock.url
        ),
    )
    .unwrap();
    let env = [("SPLUNK_TOKEN", "tok-secret-9")];
    let events = org.events(6);
    let rows: Vec<Value> =
        events.iter().enumerate().map(|(i, e)| splunk_row(e, &format!("7:{i}"), 500 - 60 * i as i64)).collect();
    std::fs::write(tmp.path().join("splunk.json"), serde_json::to_string(&rows).unwrap()).unwrap();
    let c = cairn_env(&org.dir, &["collect"], &env);
    assert_eq!(c.code, 0, "{}\n{}", c.stdout, c.stderr);
    assert!(c.stdout.contains("8 records, 6 events, 0 kept aside"), "{}", c.stdout);
    assert!(!c.stderr.contains("tok-secret"), "{}", c.stderr);
    // A late event inside the window already asked for: collected once, nothing twice.
    let late = org.events(1);
    let mut all = rows.clone();
    all.push(splunk_row(&late[0], "7:6", 90));
    std::fs::write(tmp.path().join("splunk.json"), serde_json::to_string(&all).unwrap()).unwrap();
    let c = cairn_env(&org.dir, &["collect"], &env);
    assert_eq!(c.code, 0, "{}\n{}", c.stdout, c.stderr);
    assert!(c.stdout.contains(", 1 events"), "{}", c.stdout);
    let v = cairn_env(&org.dir, &["verify", "--format", "json"], &env);
    assert!(findings(&v.stdout).is_empty(), "{}", v.stdout);
    let c = cairn_env(&org.dir, &["collect"], &[("SPLUNK_TOKEN", "nope-secret")]);
    assert_eq!(c.code, 2);
    assert!(c.stderr.contains("401") && !c.stderr.contains("nope-secret"), "{}", c.stderr);
}

/// A Splunk management port for search jobs: `POST search/jobs` creates one, its status says
/// `RUNNING` once then `DONE`, its results come in pages of `count` from `offset` (the first page
/// request answered 429 with a `Retry-After`), and `DELETE` removes it. Requests are logged.
const SPLUNK_JOBS: &str = r#"
import json, sys, os, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
root = sys.argv[2]
state = {"polls": 0, "pages": 0, "window": None}
def note(line):
    with open(os.path.join(root, "splunk-jobs.log"), "a") as f: f.write(line + "\n")
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, code, body=None, headers=()):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(code)
        for k, v in headers: self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def authorised(self):
        if self.headers.get("Authorization") != "Bearer tok-secret-9":
            self.reply(401); return False
        return True
    def rows(self):
        lo, hi = state["window"]
        rows = json.load(open(os.path.join(root, "splunk.json")))
        return [r["result"] for r in rows if lo <= r["epoch"] < hi]
    def do_POST(self):
        if not self.authorised(): return
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        note("POST " + self.path + " " + form.get("exec_mode", [""])[0])
        state["window"] = (float(form["earliest_time"][0]), float(form["latest_time"][0]))
        state["polls"] = 0
        self.reply(201, {"sid": "1700000000.42"})
    def do_DELETE(self):
        if not self.authorised(): return
        note("DELETE " + self.path)
        self.reply(200, {"messages": []})
    def do_GET(self):
        if not self.authorised(): return
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/services/search/jobs/1700000000.42":
            state["polls"] += 1
            done = state["polls"] > 1
            note("GET status " + ("DONE" if done else "RUNNING"))
            content = {"dispatchState": "DONE" if done else "RUNNING", "isDone": done, "resultCount": str(len(self.rows())) if done else "0"}
            self.reply(200, {"entry": [{"name": "search", "content": content}]})
        elif url.path == "/services/search/jobs/1700000000.42/results":
            state["pages"] += 1
            if state["pages"] == 1:
                note("GET results 429")
                self.reply(429, {}, [("Retry-After", "0")]); return
            offset, count = int(q["offset"][0]), int(q["count"][0])
            note("GET results offset=%d count=%d" % (offset, count))
            page = self.rows()[offset:offset + count]
            self.reply(200, {"preview": False, "init_offset": offset, "messages": [], "fields": [{"name": "_raw"}], "results": page})
        else:
            self.reply(404, {"messages": [{"type": "ERROR", "text": "Unknown sid."}]})
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

#[test]
fn splunk_search_job_is_created_polled_paged_and_deleted_without_double_collection() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("python3")
        .args(["-c", SPLUNK_JOBS, &port.to_string(), tmp.path().to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mock = Mock { child, url: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the mock Splunk did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let config = std::fs::read_to_string(org.dir.join("cairn.toml")).unwrap();
    let head = config.split("[[source]]").next().unwrap();
    std::fs::write(
        org.dir.join("cairn.toml"),
        format!(
            "{head}[[source]]\nname = \"app\"\ntype = \"splunk-api\"\nmode = \"search-job\"\npage_size = 2\nurl = \"{}\"\nsearch = \"search index=audit | reverse\"\nstart = \"2026-01-01T00:00:00Z\"\n",
            mock.url
        ),
    )
    .unwrap();
    let env = [("SPLUNK_TOKEN", "tok-secret-9")];
    let events = org.events(5);
    let rows: Vec<Value> =
        events.iter().enumerate().map(|(i, e)| splunk_row(e, &format!("7:{i}"), 500 - 60 * i as i64)).collect();
    std::fs::write(tmp.path().join("splunk.json"), serde_json::to_string(&rows).unwrap()).unwrap();
    let c = cairn_env(&org.dir, &["collect"], &env);
    assert_eq!(c.code, 0, "{}\n{}", c.stdout, c.stderr);
    assert!(c.stdout.contains("5 records, 5 events, 0 kept aside"), "{}", c.stdout);
    assert!(!c.stderr.contains("tok-secret"), "{}", c.stderr);
    let log = std::fs::read_to_string(tmp.path().join("splunk-jobs.log")).unwrap();
    let requests: Vec<&str> = log.lines().collect();
    assert_eq!(
        requests,
        [
            "POST /services/search/jobs normal",
            "GET status RUNNING",
            "GET status DONE",
            "GET results 429",
            "GET results offset=0 count=2",
            "GET results offset=2 count=2",
            "GET results offset=4 count=2",
            "DELETE /services/search/jobs/1700000000.42",
        ],
        "{log}"
    );
    // A late event inside the window already asked for: collected once, nothing twice.
    let late = org.events(1);
    let mut all = rows.clone();
    all.push(splunk_row(&late[0], "7:5", 90));
    std::fs::write(tmp.path().join("splunk.json"), serde_json::to_string(&all).unwrap()).unwrap();
    let c = cairn_env(&org.dir, &["collect"], &env);
    assert_eq!(c.code, 0, "{}\n{}", c.stdout, c.stderr);
    assert!(c.stdout.contains(", 1 events"), "{}", c.stdout);
    let v = cairn_env(&org.dir, &["verify", "--format", "json"], &env);
    assert!(findings(&v.stdout).is_empty(), "nothing twice, nothing skipped: {}", v.stdout);
}
