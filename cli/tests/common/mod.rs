//! Shared helpers of the integration tests: run the real `cairn` binary, build organisations.
#![allow(dead_code, reason = "each test binary uses a different subset of the helpers")]

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cairn_evidence::event::{event_hash, GENESIS_PREV};
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{json, Value};

/// What a command did.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cairn` with `args` in `dir`.
pub fn cairn(dir: &Path, args: &[&str]) -> Output {
    cairn_env(dir, args, &[])
}

/// Runs `cairn` with extra environment variables.
pub fn cairn_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .expect("cairn runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs an external tool; panics with its output if it fails to start.
pub fn tool(dir: &Path, program: &str, args: &[&str]) -> Output {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed (run the test command from the README): {e}"));
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Unpacks the zip `zip` into `into` with Info-ZIP's `unzip`.
pub fn unzip(zip: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    let u = tool(into, "unzip", &["-q", zip.to_str().unwrap()]);
    assert_eq!(u.code, 0, "{}", u.stderr);
}

/// Runs the demo into `dir/org` and returns that folder.
pub fn demo(dir: &Path, seed: u64) -> PathBuf {
    let org = dir.join("org");
    let out = cairn(dir, &["demo", "--dir", org.to_str().unwrap(), "--seed", &seed.to_string()]);
    assert_eq!(out.code, 0, "demo failed:\n{}\n{}", out.stdout, out.stderr);
    org
}

/// The findings of `cairn verify --format json` as (kind, chain, seq).
pub fn findings(json: &str) -> Vec<(String, String, u64)> {
    let v: Vec<Value> =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("verify --format json is a JSON array: {e}\n{json}"));
    let mut out: Vec<_> = v
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["chain"].as_str().unwrap_or("").to_string(),
                f["seq"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect();
    out.sort();
    out
}

/// Every file under `dir`, relative, sorted.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Signs an event (adds `hash` and `sig`).
pub fn sign(key: &SigningKey, mut event: Value) -> Value {
    let obj = event.as_object_mut().unwrap();
    obj.remove("hash");
    obj.remove("sig");
    let hash = event_hash(&event).unwrap();
    event["hash"] = json!(hash.to_hex());
    event["sig"] = json!(B64.encode(key.sign(&hash.0).to_bytes()));
    event
}

/// A small organisation whose keys the test holds, so it can write more events later.
pub struct Org {
    pub dir: PathBuf,
    pub key: SigningKey,
    pub chain: String,
    pub next_seq: u64,
    pub prev: String,
}

impl Org {
    /// Creates config, keys and an empty input folder in `dir`.
    pub fn new(dir: &Path) -> Self {
        std::fs::create_dir_all(dir.join("inputs/app")).unwrap();
        let out = cairn(dir, &["keygen"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let key = SigningKey::from_bytes(&[21u8; 32]);
        std::fs::write(
            dir.join("keys/trusted.toml"),
            format!(
                "[[key]]\nkid = \"app-1\"\npublic_key = \"{}\"\nchains = [\"app-*\"]\n",
                B64.encode(key.verifying_key().as_bytes())
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("cairn.toml"),
            "[store]\nurl = \"store\"\n[signing]\nkey = \"keys/cairn.key\"\npublic_key = \"keys/cairn.pub\"\n[trust]\nkeyring = \"keys/trusted.toml\"\n\n[[source]]\nname = \"app\"\ntype = \"jsonl\"\nurl = \"inputs/app/\"\nevent = \"/event\"\n",
        )
        .unwrap();
        Self { dir: dir.to_path_buf(), key, chain: "app-main".into(), next_seq: 0, prev: GENESIS_PREV.into() }
    }

    /// `n` new signed events.
    pub fn events(&mut self, n: u64) -> Vec<Value> {
        self.events_at(n, |seq| format!("2026-11-20T{:02}:{:02}:{:02}Z", seq / 3600 % 24, seq / 60 % 60, seq % 60))
    }

    /// `n` new signed events, the one at `seq` stamped `ts(seq)`.
    pub fn events_at(&mut self, n: u64, ts: impl Fn(u64) -> String) -> Vec<Value> {
        let mut out = Vec::new();
        for _ in 0..n {
            let event = sign(
                &self.key,
                json!({"chain": self.chain, "seq": self.next_seq, "ts": ts(self.next_seq), "kid": "app-1", "prev": self.prev, "action": "read", "actor": "alice"}),
            );
            self.prev = event["hash"].as_str().unwrap().to_string();
            self.next_seq += 1;
            out.push(event);
        }
        out
    }

    /// `n` new signed events as SIEM-wrapped lines.
    pub fn lines(&mut self, n: u64) -> String {
        let mut out = String::new();
        for event in self.events(n) {
            out.push_str(&json!({"host": "app-01", "event": event}).to_string());
            out.push('\n');
        }
        out
    }

    /// Appends text to an input file.
    pub fn append(&self, file: &str, text: &str) {
        use std::io::Write as _;
        let mut f =
            std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("inputs/app").join(file)).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }
}
