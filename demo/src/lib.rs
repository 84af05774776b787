//! `cairn-demo`: the sample organisation `cairn demo` writes and then runs through the whole
//! pipeline, generated from a seed. It only writes files; it neither collects nor verifies.
//!
//! Three services emit signed, hash-chained audit events a few thousand at a time, each
//! committing to its personal values (the actor's email, the client IP) with salted digests and
//! sending the values beside the signed event ([`Emitter::concealing`]), each shipped through a
//! different SIEM in its real shape: a Splunk search export, Datadog log archives and
//! Microsoft Sentinel data export blobs. Three faults are planted: one event dropped (payments,
//! Splunk), one event delivered twice (identity, Datadog) and one exported out of order
//! (storage, Sentinel). Each service also has a release with its
//! provenance, SBOMs and threat model ([`crate::releases`]). Same seed, same bytes.

#![forbid(unsafe_code)]

mod releases;
mod scans;
mod test_reports;

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cairn_evidence::disclosure;
use cairn_evidence::event::{event_hash, GENESIS_PREV};
use cairn_evidence::keys::{write_signing_key, PublicKey};
use cairn_evidence::time::parse_rfc3339;
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::{Signer as _, SigningKey};
use rand_chacha::rand_core::{RngCore as _, SeedableRng as _};
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};

/// How a service's events travel to Cairn: through which SIEM, in its own shape.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Wrapping {
    /// Splunk: a search export (`output_mode=json`), the event text in `_raw`.
    SplunkExport,
    /// Datadog: gzip'd log archives per hour, the event as the log's attributes.
    DatadogArchive,
    /// Microsoft Sentinel: data export blobs per hour, the event as a JSON string column.
    SentinelExport,
}

impl Wrapping {
    /// The source `type` and `event` pointer of the configuration.
    fn source(self) -> (&'static str, &'static str) {
        match self {
            Self::SplunkExport => ("splunk-export", ""),
            Self::DatadogArchive => ("datadog-archive", ""),
            Self::SentinelExport => ("sentinel-export", "/AuditEvent"),
        }
    }
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
    /// Whether personal values (the actor, the client IP) are committed to rather than carried.
    conceal: bool,
}

const ACTIONS: [&str; 6] = ["login", "read", "update", "delete", "export", "grant"];

impl Emitter {
    /// A new chain starting at `at`.
    pub fn new(chain: &str, kid: &str, key: SigningKey, at: DateTime<Utc>) -> Self {
        Self { chain: chain.into(), kid: kid.into(), key, seq: 0, prev: GENESIS_PREV.into(), at, conceal: false }
    }

    /// The same emitter, committing to its events' personal values (the actor's email, the
    /// client IP) with salted digests instead of signing them in clear: the values travel in
    /// `_disclosures`, outside the hash ([`cairn_evidence::disclosure`]).
    #[must_use]
    pub fn concealing(mut self) -> Self {
        self.conceal = true;
        self
    }

    /// The next signed event, stamped by a clock that is `back` behind (the emitter's own time
    /// carries on afterwards as if nothing happened).
    pub fn next_with_clock_back(&mut self, rng: &mut ChaCha20Rng, back: Duration) -> Value {
        self.at -= back;
        let event = self.next(rng);
        self.at += back;
        event
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
        let disclosures = if self.conceal { conceal_personal(&mut event, rng) } else { Vec::new() };
        let hash = event_hash(&event).expect("a generated event is canonicalizable");
        event["hash"] = json!(hash.to_hex());
        event["sig"] = json!(B64.encode(self.key.sign(&hash.0).to_bytes()));
        if !disclosures.is_empty() {
            event[disclosure::DISCLOSURES] = json!(disclosures);
        }
        self.prev = hash.to_hex();
        self.seq += 1;
        event
    }
}

/// Replaces an event's actor and client IP by salted commitments (128 random bits of salt
/// each); returns their disclosures.
fn conceal_personal(event: &mut Value, rng: &mut ChaCha20Rng) -> Vec<String> {
    let mut salt = || {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    };
    let mut out = Vec::new();
    if let Some(obj) = event.as_object_mut() {
        out.extend(disclosure::conceal(obj, "actor", &salt()).map(|d| d.encoded));
        if let Some(attrs) = obj.get_mut("attrs").and_then(Value::as_object_mut) {
            out.extend(disclosure::conceal(attrs, "ip", &salt()).map(|d| d.encoded));
        }
        obj.insert(disclosure::SD_ALG.into(), json!("sha-256"));
    }
    out
}

/// One record of a service's SIEM carrying `event` (the `n`th of its service).
pub fn wrap(event: &Value, wrapping: Wrapping, host: &str, n: usize) -> String {
    match wrapping {
        Wrapping::SplunkExport => json!({"preview": false, "offset": n, "result": {
            "_raw": event.to_string(), "_time": event["ts"], "host": host, "index": "audit",
            "source": "cairn-audit", "sourcetype": "cairn:audit", "splunk_server": "splunk-idx-01"}})
        .to_string(),
        Wrapping::DatadogArchive => json!({"_id": format!("AQAAAZ{n:010}"), "date": event["ts"], "host": host,
            "service": host.trim_end_matches("-01"), "source": "cairn", "status": "info", "message": "audit event",
            "attributes": event, "tags": ["env:prod", "team:identity"]})
        .to_string(),
        Wrapping::SentinelExport => json!({"TimeGenerated": event["ts"], "TenantId": "7d1c5f0e-0000-4000-8000-00000000cafe",
            "Type": "CairnAudit_CL", "Computer": host, "_ResourceId": format!("/subscriptions/7d1c5f0e/resourcegroups/prod/providers/microsoft.compute/virtualmachines/{host}"),
            "AuditEvent": event.to_string()})
        .to_string(),
    }
}

/// Writes a service's records where its SIEM would: one export file, or one archive or blob per
/// hour of event time.
fn write_records(folder: &Path, wrapping: Wrapping, records: &[(String, String)]) -> Result<()> {
    let mut by_hour: std::collections::BTreeMap<&str, String> = std::collections::BTreeMap::new();
    for (ts, line) in records {
        let hour = if wrapping == Wrapping::SplunkExport { "" } else { ts.get(11..13).unwrap_or("00") };
        let text = by_hour.entry(hour).or_default();
        text.push_str(line);
        text.push('\n');
    }
    for (hour, text) in by_hour {
        let (path, bytes) = match wrapping {
            Wrapping::SplunkExport => {
                // A preview round and a message, as a running search streams them, then the final rows.
                let mut out = String::from("\u{feff}");
                out.push_str("{\"preview\":true,\"offset\":0,\"lastrow\":true,\"result\":{\"count\":\"0\"}}\n");
                out.push_str("{\"messages\":[{\"type\":\"INFO\",\"text\":\"Search finalized.\"}]}\n");
                out.push_str(&text);
                out.push_str("{\"preview\":false,\"lastrow\":true}\n");
                (folder.join("export-2026-11-20.json"), out.into_bytes())
            }
            Wrapping::DatadogArchive => {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                std::io::Write::write_all(&mut gz, text.as_bytes())?;
                let name = format!("dt=20261120/hour={hour}/archive_{hour}0000.0000.cairndemo{hour}.json.gz");
                (folder.join(name), gz.finish()?)
            }
            Wrapping::SentinelExport => {
                let name = format!(
                    "am-cairnaudit_cl/WorkspaceResourceId=/subscriptions/7d1c5f0e/resourcegroups/prod/providers/microsoft.operationalinsights/workspaces/sec-prod/y=2026/m=11/d=20/h={hour}/m=00/PT05M.json"
                );
                (folder.join(name), text.into_bytes())
            }
        };
        std::fs::create_dir_all(path.parent().unwrap_or(folder))?;
        std::fs::write(path, bytes)?;
    }
    Ok(())
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
    /// (chain, seq) of the event whose clock went back an hour and ten minutes: Datadog
    /// archived it under an earlier hour than the events before it.
    pub clock_back: (String, u64),
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
    let services: [(&str, &str, Wrapping); 3] = [
        ("payments", "payments-eu-1", Wrapping::SplunkExport),
        ("identity", "identity-core", Wrapping::DatadogArchive),
        ("storage", "storage-objects", Wrapping::SentinelExport),
    ];
    let mut keyring = String::from("# Trusted source keys: which key may sign which audit-event chains, and when.\n");
    let mut sources = String::new();
    let mut planted =
        Planted { dropped: (String::new(), 0), duplicated: (String::new(), 0), clock_back: (String::new(), 0) };
    for (name, chain, wrapping) in services {
        let key = key_from(&mut rng);
        let kid = format!("{name}-2026");
        let _ = write!(
            keyring,
            "\n[[key]]\nkid = \"{kid}\"\npublic_key = \"{}\"\nnot_before = \"2026-01-01T00:00:00Z\"\nnot_after = \"2027-01-01T00:00:00Z\"\nchains = [\"{name}-*\"]\n",
            B64.encode(key.verifying_key().as_bytes())
        );
        let (kind, pointer) = wrapping.source();
        let _ = write!(sources, "\n[[source]]\nname = \"{name}\"\ntype = \"{kind}\"\nurl = \"inputs/{name}/\"\n");
        if !pointer.is_empty() {
            let _ = writeln!(sources, "event = \"{pointer}\"");
        }
        let count = 2000 + u64::from(rng.next_u32() % 1000);
        let mut emitter = Emitter::new(chain, &kid, key, start).concealing();
        let mut records: Vec<(String, String)> = Vec::new();
        for _ in 0..count {
            let seq = emitter.seq;
            // Planted: Splunk lost one event; Datadog ingested one twice, and archived one
            // whose clock went back under an earlier hour than the events before it.
            let clock_back = wrapping == Wrapping::DatadogArchive && seq == count * 2 / 3;
            let event = if clock_back {
                planted.clock_back = (chain.to_string(), seq);
                emitter.next_with_clock_back(&mut rng, Duration::minutes(70))
            } else {
                emitter.next(&mut rng)
            };
            let ts = event["ts"].as_str().unwrap_or_default().to_string();
            let record = wrap(&event, wrapping, &format!("{name}-01"), records.len());
            if wrapping == Wrapping::SplunkExport && seq == count / 2 {
                planted.dropped = (chain.to_string(), seq);
                continue;
            }
            records.push((ts.clone(), record));
            if wrapping == Wrapping::DatadogArchive && seq == count / 3 {
                planted.duplicated = (chain.to_string(), seq);
                records.push((ts, wrap(&event, wrapping, &format!("{name}-01"), records.len())));
            }
        }
        write_records(&dir.join("inputs").join(name), wrapping, &records)?;
    }
    let ci = key_from(&mut rng);
    let names: Vec<&str> = services.iter().map(|s| s.0).collect();
    let (ci_entry, release_sources) = crate::releases::write(dir, &names, &mut rng, &ci)?;
    keyring.push_str(&ci_entry);
    sources.push_str(&release_sources);
    std::fs::write(keys.join("trusted.toml"), keyring)?;
    // Every demo source is synthetic: its rows are marked, and the portal and bundles say so.
    let sources = sources.replace("[[source]]\n", "[[source]]\nsimulated = true\n");
    let config = format!(
        "# Cairn configuration of the demo organisation. Relative paths resolve against this file's folder.\n\n\
         [store]\nurl = \"store\"          # a folder, file:// or memory://\n\n\
         [signing]\nkey = \"keys/cairn.key\"          # PKCS#8 PEM, mode 0600\npublic_key = \"keys/cairn.pub\"   # minisign public key\n\n\
         [trust]\nkeyring = \"keys/trusted.toml\"\nmax_clock_skew_seconds = 300\n\n\
         [portal]\nout = \"portal\"\n\n[bundles]\nout = \"bundles\"\n\n\
         [supply]\nregister = \"inputs/policy/dependencies.toml\"   # approved dependencies and licences\n\
         threat_model_review_days = 365\n\n\
         # The nightly job: `cairn run nightly` once (cron, a systemd timer, a CronJob), or\n\
         # `cairn schedule` to run it at its time. `cairn jobs` lists it.\n\
         [[job]]\nname = \"nightly\"\nschedule = \"0 30 2 * * *\"   # sec min hour day month weekday, UTC\n\
         steps = [\"collect\", \"verify\", \"evaluate\", \"render\", \"bundle\", \"publish\"]\n\
         [job.publish]\nurl = \"published\"            # a folder here; s3://, gs:// or az:// for a static host\n\
         {sources}"
    );
    std::fs::write(dir.join("cairn.toml"), config)?;
    Ok(planted)
}

/// The demo's fixed clock start: the night after the generated day.
pub fn demo_start() -> DateTime<Utc> {
    parse_rfc3339("2026-11-21T02:00:00Z").expect("constant")
}
