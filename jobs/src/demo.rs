//! `cairn demo`: a sample organisation, generated from a seed, run through the whole pipeline.
//!
//! Three services emit signed, hash-chained audit events a few thousand at a time, each shipped
//! the way real SIEM pipelines ship them: plain JSON lines, an event wrapped in a SIEM envelope,
//! and an event carried as a JSON string. Two faults are planted: one event dropped
//! (payments) and one event delivered twice (identity). Each service also has a release with its
//! provenance, SBOMs and threat model ([`crate::demo_releases`]). Same seed, same bytes.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cairn_evidence::event::{event_hash, GENESIS_PREV};
use cairn_evidence::keys::{write_signing_key, PublicKey};
use cairn_evidence::time::parse_rfc3339;
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::{Signer as _, SigningKey};
use rand_chacha::rand_core::{RngCore as _, SeedableRng as _};
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};

/// How a service's events travel to Cairn.
#[derive(Clone, Copy)]
pub enum Wrapping {
    /// The event is the whole line.
    Plain,
    /// The event object sits under `/event` of a SIEM envelope.
    Envelope,
    /// The event is a JSON string under `/message`.
    StringField,
}

/// A signed event generator for one chain.
pub struct Emitter {
    /// Chain id.
    pub chain: String,
    /// Key id.
    pub kid: String,
    /// Signing key.
    pub key: SigningKey,
    seq: u64,
    prev: String,
    at: DateTime<Utc>,
}

const ACTIONS: [&str; 6] = ["login", "read", "update", "delete", "export", "grant"];

impl Emitter {
    /// A new chain starting at `at`.
    pub fn new(chain: &str, kid: &str, key: SigningKey, at: DateTime<Utc>) -> Self {
        Self { chain: chain.into(), kid: kid.into(), key, seq: 0, prev: GENESIS_PREV.into(), at }
    }

    /// The next signed event (as a JSON value with `hash` and `sig`).
    pub fn next(&mut self, rng: &mut ChaCha20Rng) -> Value {
        self.at += Duration::milliseconds(i64::from(rng.next_u32() % 30_000) + 1);
        let r = rng.next_u32();
        let mut event = json!({
            "chain": self.chain,
            "seq": self.seq,
            "ts": self.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "kid": self.kid,
            "prev": self.prev,
            "actor": format!("user{}@example.com", r % 500),
            "action": ACTIONS[(r >> 9) as usize % ACTIONS.len()],
            "resource": format!("/records/{}", (r >> 12) % 100_000),
            "outcome": if r.is_multiple_of(17) { "denied" } else { "success" },
            "attrs": {"ip": format!("10.0.{}.{}", (r >> 20) % 256, (r >> 4) % 250 + 1)},
        });
        let hash = event_hash(&event).expect("a generated event is canonicalizable");
        event["hash"] = json!(hash.to_hex());
        event["sig"] = json!(B64.encode(self.key.sign(&hash.0).to_bytes()));
        self.prev = hash.to_hex();
        self.seq += 1;
        event
    }
}

/// One line of a source file carrying `event`.
pub fn wrap(event: &Value, wrapping: Wrapping, host: &str) -> String {
    match wrapping {
        Wrapping::Plain => event.to_string(),
        Wrapping::Envelope => {
            json!({"time": event["ts"], "host": host, "sourcetype": "cairn:audit", "index": "audit", "event": event})
                .to_string()
        }
        Wrapping::StringField => json!({"ts": event["ts"], "service": host, "message": event.to_string()}).to_string(),
    }
}

fn key_from(rng: &mut ChaCha20Rng) -> SigningKey {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    SigningKey::from_bytes(&bytes)
}

/// What the demo planted, so the caller can say what verification should find.
pub struct Planted {
    /// (chain, seq) of the dropped event.
    pub dropped: (String, u64),
    /// (chain, seq) of the event delivered twice.
    pub duplicated: (String, u64),
}

/// Writes the sample organisation into `dir`: config, keys, keyring and inputs.
pub fn generate(dir: &Path, seed: u64) -> Result<Planted> {
    if dir.join("cairn.toml").exists() {
        bail!("{} already holds a Cairn configuration; choose an empty folder", dir.display());
    }
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).with_context(|| format!("cannot create {}", keys.display()))?;
    let cairn_key = key_from(&mut rng);
    write_signing_key(&keys.join("cairn.key"), &cairn_key)?;
    std::fs::write(keys.join("cairn.pub"), PublicKey::of(&cairn_key).to_minisign_file())?;
    let start = parse_rfc3339("2026-11-20T00:00:00Z").expect("constant");
    let services: [(&str, &str, Wrapping, &str); 3] = [
        ("payments", "payments-eu-1", Wrapping::Plain, ""),
        ("identity", "identity-core", Wrapping::Envelope, "/event"),
        ("storage", "storage-objects", Wrapping::StringField, "/message"),
    ];
    let mut keyring = String::from("# Trusted source keys: which key may sign which audit-event chains, and when.\n");
    let mut sources = String::new();
    let mut planted = Planted { dropped: (String::new(), 0), duplicated: (String::new(), 0) };
    for (name, chain, wrapping, pointer) in services {
        let key = key_from(&mut rng);
        let kid = format!("{name}-2026");
        let _ = write!(
            keyring,
            "\n[[key]]\nkid = \"{kid}\"\npublic_key = \"{}\"\nnot_before = \"2026-01-01T00:00:00Z\"\nnot_after = \"2027-01-01T00:00:00Z\"\nchains = [\"{name}-*\"]\n",
            B64.encode(key.verifying_key().as_bytes())
        );
        let _ = write!(sources, "\n[[source]]\nname = \"{name}\"\ntype = \"jsonl\"\nurl = \"inputs/{name}/\"\n");
        if !pointer.is_empty() {
            let _ = writeln!(sources, "event = \"{pointer}\"");
        }
        let count = 2000 + u64::from(rng.next_u32() % 1000);
        let mut emitter = Emitter::new(chain, &kid, key, start);
        let mut lines = String::new();
        for _ in 0..count {
            let seq = emitter.seq;
            let line = wrap(&emitter.next(&mut rng), wrapping, &format!("{name}-01"));
            if name == "payments" && seq == count / 2 {
                planted.dropped = (chain.to_string(), seq);
                continue;
            }
            lines.push_str(&line);
            lines.push('\n');
            if name == "identity" && seq == count / 3 {
                planted.duplicated = (chain.to_string(), seq);
                lines.push_str(&line);
                lines.push('\n');
            }
        }
        let folder = dir.join("inputs").join(name);
        std::fs::create_dir_all(&folder)?;
        std::fs::write(folder.join("2026-11-20.jsonl"), lines)?;
    }
    let ci = key_from(&mut rng);
    let names: Vec<&str> = services.iter().map(|s| s.0).collect();
    let (ci_entry, release_sources) = crate::demo_releases::write(dir, &names, &mut rng, &ci)?;
    keyring.push_str(&ci_entry);
    sources.push_str(&release_sources);
    std::fs::write(keys.join("trusted.toml"), keyring)?;
    let config = format!(
        "# Cairn configuration of the demo organisation. Relative paths resolve against this file's folder.\n\n\
         [store]\nurl = \"store\"          # a folder, file:// or memory://\n\n\
         [signing]\nkey = \"keys/cairn.key\"          # PKCS#8 PEM, mode 0600\npublic_key = \"keys/cairn.pub\"   # minisign public key\n\n\
         [trust]\nkeyring = \"keys/trusted.toml\"\nmax_clock_skew_seconds = 300\n\n\
         [portal]\nout = \"portal\"\n\n[bundles]\nout = \"bundles\"\n\n\
         [supply]\nregister = \"inputs/policy/dependencies.toml\"   # approved dependencies and licences\n\
         threat_model_review_days = 365\n{sources}"
    );
    std::fs::write(dir.join("cairn.toml"), config)?;
    Ok(planted)
}

/// The demo's fixed clock start: the night after the generated day.
pub fn demo_start() -> DateTime<Utc> {
    parse_rfc3339("2026-11-21T02:00:00Z").expect("constant")
}
