//! The chain event v1 conformance vectors (made by an independent implementation), and
//! tampered copies of a clean chain: each tamper must be found and named, and nothing else.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cairn_evidence::event::{event_hash, ChainFields};
use cairn_evidence::keyring::Keyring;
use cairn_evidence::tables::{EventRow, Provenance};
use cairn_verifier::{ChainVerifier, Finding, VerifyOptions};
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{json, Value};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(rel)
}

fn row(line_no: u64, text: &str) -> EventRow {
    let value: Value = serde_json::from_str(text).unwrap();
    let f = ChainFields::from_value(&value).unwrap();
    EventRow {
        chain: f.chain,
        seq: f.seq,
        ts: f.ts,
        kid: f.kid,
        prev: f.prev,
        hash: f.hash,
        sig: f.sig,
        event_json: text.to_string(),
        siem_time: None,
        siem_meta: None,
        provenance: Provenance {
            source: "test".into(),
            object_key: "input.jsonl".into(),
            line: line_no,
            byte_offset: 0,
            record_sha256: String::new(),
            run_id: "r".into(),
            collected_at: chrono::DateTime::UNIX_EPOCH,
            actor: "test".into(),
            confidence: cairn_evidence::tables::Confidence::Unverified,
            simulated: false,
        },
    }
}

fn verify(keyring: &Keyring, lines: &[String]) -> Vec<Finding> {
    let rows: Vec<EventRow> = lines.iter().enumerate().map(|(i, l)| row(i as u64 + 1, l)).collect();
    let refs: Vec<_> = rows.iter().map(EventRow::as_ref).collect();
    let mut v = ChainVerifier::new(keyring, VerifyOptions::default(), &BTreeMap::new());
    v.verify_rows("lake/events/x.parquet", &refs);
    v.finish().0
}

fn summary(findings: &[Finding]) -> Vec<(String, String, u64)> {
    let mut s: Vec<_> = findings
        .iter()
        .map(|f| (f.kind.as_str().to_string(), f.chain.clone().unwrap_or_default(), f.seq.unwrap_or(u64::MAX)))
        .collect();
    s.sort();
    s
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().map(str::to_string).collect()
}

#[test]
fn valid_vectors_verify_clean() {
    let keyring = Keyring::load(&fixture("chain-v1/keyring.toml")).unwrap();
    let findings = verify(&keyring, &lines(&fixture("chain-v1/valid.jsonl")));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn invalid_vectors_give_exactly_the_expected_findings() {
    let keyring = Keyring::load(&fixture("chain-v1/keyring.toml")).unwrap();
    let findings = verify(&keyring, &lines(&fixture("chain-v1/invalid.jsonl")));
    let expected: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(fixture("chain-v1/invalid.expected.json")).unwrap()).unwrap();
    let mut want: Vec<(String, String, u64)> = expected
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().into(), e["chain"].as_str().unwrap().into(), e["seq"].as_u64().unwrap()))
        .collect();
    want.sort();
    assert_eq!(summary(&findings), want, "{findings:#?}");
}

struct Emitter {
    key: SigningKey,
    kid: String,
}

fn sign_event(key: &SigningKey, mut event: Value) -> String {
    let hash = event_hash(&event).unwrap();
    event["hash"] = json!(hash.to_hex());
    event["sig"] = json!(B64.encode(key.sign(&hash.0).to_bytes()));
    serde_json::to_string(&event).unwrap()
}

impl Emitter {
    fn chain(&self, chain: &str, n: u64) -> Vec<String> {
        self.chain_at(chain, n, |seq| format!("2026-03-01T00:{:02}:{:02}Z", seq / 60, seq % 60))
    }

    /// A chain whose event at `seq` has time `ts(seq)`.
    fn chain_at(&self, chain: &str, n: u64, ts: impl Fn(u64) -> String) -> Vec<String> {
        let mut prev = cairn_evidence::event::GENESIS_PREV.to_string();
        (0..n)
            .map(|seq| {
                let ev = json!({"chain": chain, "seq": seq, "ts": ts(seq), "kid": self.kid, "prev": prev, "action": "read", "n": seq});
                let text = sign_event(&self.key, ev);
                prev = serde_json::from_str::<Value>(&text).unwrap()["hash"].as_str().unwrap().to_string();
                text
            })
            .collect()
    }
}

fn setup() -> (Emitter, Keyring) {
    let key = SigningKey::from_bytes(&[3u8; 32]);
    let public = B64.encode(key.verifying_key().as_bytes());
    let other = B64.encode(SigningKey::from_bytes(&[4u8; 32]).verifying_key().as_bytes());
    let ring = format!(
        "[[key]]\nkid = \"k1\"\npublic_key = \"{public}\"\nchains = [\"svc-*\"]\n\n[[key]]\nkid = \"old\"\npublic_key = \"{other}\"\nrevoked_at = \"2026-02-01T00:00:00Z\"\n"
    );
    (Emitter { key, kid: "k1".into() }, Keyring::parse(&ring, Path::new("ring.toml")).unwrap())
}

#[test]
fn each_tamper_is_named() {
    let (em, ring) = setup();
    let clean = em.chain("svc-a", 10);
    assert!(verify(&ring, &clean).is_empty());

    let mut altered = clean.clone();
    altered[4] = altered[4].replace("\"action\":\"read\"", "\"action\":\"wipe\"");
    assert_eq!(summary(&verify(&ring, &altered)), vec![("altered".into(), "svc-a".into(), 4)]);

    let mut deleted = clean.clone();
    deleted.remove(5);
    assert_eq!(summary(&verify(&ring, &deleted)), vec![("gap".into(), "svc-a".into(), 5)]);

    // Delivery order is not evidence: swapped neighbours, or the whole chain backwards, link.
    let mut swapped = clean.clone();
    swapped.swap(3, 4);
    assert_eq!(summary(&verify(&ring, &swapped)), vec![]);
    let reversed: Vec<String> = clean.iter().rev().cloned().collect();
    assert_eq!(summary(&verify(&ring, &reversed)), vec![]);

    let mut dup = clean.clone();
    dup.insert(7, clean[6].clone());
    assert_eq!(summary(&verify(&ring, &dup)), vec![("duplicate".into(), "svc-a".into(), 6)]);

    // Re-signed with a key that is not in the keyring.
    let stranger = SigningKey::from_bytes(&[9u8; 32]);
    let mut forged = clean.clone();
    let mut ev: Value = serde_json::from_str(&forged[2]).unwrap();
    ev["kid"] = json!("stranger");
    forged[2] = sign_event(&stranger, ev);
    let got = summary(&verify(&ring, &forged));
    assert!(got.contains(&("unknown_key".into(), "svc-a".into(), 2)), "{got:?}");
    // Changing kid changes the hash, so the next link breaks too: the forgery is visible twice.
    assert!(got.iter().all(|(_, _, seq)| *seq == 2 || *seq == 3), "{got:?}");

    // Signed by a revoked key.
    let revoked = Emitter { key: SigningKey::from_bytes(&[4u8; 32]), kid: "old".into() };
    let got = summary(&verify(&ring, &revoked.chain("svc-b", 3)));
    assert_eq!(got.iter().filter(|f| f.0 == "key_not_valid").count(), 3, "{got:?}");

    // A good signature by the right key but over someone else's hash.
    let mut badsig = clean.clone();
    let other: Value = serde_json::from_str(&clean[8]).unwrap();
    let mut ev: Value = serde_json::from_str(&badsig[7]).unwrap();
    ev["sig"] = other["sig"].clone();
    badsig[7] = serde_json::to_string(&ev).unwrap();
    assert_eq!(summary(&verify(&ring, &badsig)), vec![("bad_signature".into(), "svc-a".into(), 7)]);

    // Chain not allowed for the key.
    let got = summary(&verify(&ring, &em.chain("billing", 2)));
    assert_eq!(got.iter().filter(|f| f.0 == "unknown_key").count(), 2, "{got:?}");

    // Restart mid-stream.
    let mut restart = clean[..5].to_vec();
    restart.extend(em.chain("svc-a", 3).into_iter().map(|l| l.replace("\"n\":", "\"m\":")).map(|l| {
        let mut v: Value = serde_json::from_str(&l).unwrap();
        v.as_object_mut().unwrap().remove("hash");
        sign_event(&em.key, v)
    }));
    let got = summary(&verify(&ring, &restart));
    assert!(got.contains(&("restart".into(), "svc-a".into(), 0)), "{got:?}");
}

#[test]
fn incremental_links_to_previous_heads() {
    let (em, ring) = setup();
    let all = em.chain("svc-a", 20);
    let rows: Vec<EventRow> = all.iter().enumerate().map(|(i, l)| row(i as u64 + 1, l)).collect();
    let mut first = ChainVerifier::new(&ring, VerifyOptions::default(), &BTreeMap::new());
    // Fed as batches, the way the pipeline feeds them.
    first.push_batch("o1".into(), Box::new(rows[..5].to_vec()));
    first.push_batch("o1".into(), Box::new(rows[5..12].to_vec()));
    let (f1, heads) = first.finish();
    assert!(f1.is_empty());
    assert_eq!(heads["svc-a"].seq, 11);
    let mut second = ChainVerifier::new(&ring, VerifyOptions::default(), &heads);
    let refs: Vec<_> = rows[12..].iter().map(EventRow::as_ref).collect();
    second.verify_rows("o2", &refs);
    let (f2, heads) = second.finish();
    assert!(f2.is_empty(), "{f2:?}");
    assert_eq!(heads["svc-a"].events, 20);
    // A tampered link across the night boundary is caught.
    let mut third = ChainVerifier::new(&ring, VerifyOptions::default(), &heads);
    let mut next = rows[19].clone();
    next.seq = 20;
    third.verify_rows("o3", &[next.as_ref()]);
    let (f3, _) = third.finish();
    assert!(f3.iter().any(|f| f.kind.as_str() == "altered"), "{f3:?}");
}

fn verify_objects(
    ring: &Keyring,
    heads: &BTreeMap<String, cairn_evidence::manifest::ChainHead>,
    objects: &[(&str, Vec<String>)],
) -> (Vec<Finding>, BTreeMap<String, cairn_evidence::manifest::ChainHead>) {
    let mut v = ChainVerifier::new(ring, VerifyOptions::default(), heads);
    for (key, lines) in objects {
        let rows: Vec<EventRow> = lines.iter().enumerate().map(|(i, l)| row(i as u64 + 1, l)).collect();
        v.push_batch((*key).to_string(), Box::new(rows));
    }
    v.finish()
}

/// Datadog archives partition by the event's own time: an event whose clock went back an hour
/// is written into an earlier hour's file, read before its predecessors.
#[test]
fn a_clock_going_back_into_an_earlier_partition_is_one_time_backwards() {
    let (em, ring) = setup();
    // 10:00:00 + seq minutes, but seq 90 says 09:20.
    let ts = |seq: u64| {
        let t = if seq == 90 { 9 * 60 + 20 } else { 10 * 60 + seq };
        format!("2026-03-01T{:02}:{:02}:00Z", t / 60, t % 60)
    };
    let all = em.chain_at("svc-a", 150, ts);
    let hour = |line: &String| serde_json::from_str::<Value>(line).unwrap()["ts"].as_str().unwrap()[..13].to_string();
    let mut partitions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in &all {
        partitions.entry(hour(line)).or_default().push(line.clone());
    }
    assert_eq!(partitions.len(), 4, "09 to 12 o'clock");
    let objects: Vec<(&str, Vec<String>)> = partitions.iter().map(|(h, l)| (h.as_str(), l.clone())).collect();
    let (findings, heads) = verify_objects(&ring, &BTreeMap::new(), &objects);
    assert_eq!(summary(&findings), vec![("time_backwards".into(), "svc-a".into(), 90)], "{findings:#?}");
    assert_eq!(findings[0].object_key.as_deref(), Some("2026-03-01T09"));
    assert_eq!(heads["svc-a"].seq, 149);
    assert!(heads["svc-a"].gaps.is_empty());
    // The same chain in any order of its partitions, and one export split in three files read
    // newest first: the same one finding.
    let reversed: Vec<(&str, Vec<String>)> = objects.iter().rev().cloned().collect();
    assert_eq!(summary(&verify_objects(&ring, &BTreeMap::new(), &reversed).0), summary(&findings));
    let split: Vec<(&str, Vec<String>)> =
        vec![("c", all[100..].to_vec()), ("b", all[50..100].to_vec()), ("a", all[..50].to_vec())];
    assert_eq!(summary(&verify_objects(&ring, &BTreeMap::new(), &split).0), summary(&findings));
}

#[test]
fn a_late_file_closes_the_gap_it_left_on_the_next_night() {
    let (em, ring) = setup();
    let all = em.chain("svc-a", 30);
    // Night 1: seqs 10..=12 are in a file that has not arrived yet.
    let night1 = vec![("n1-a", all[..10].to_vec()), ("n1-b", all[13..20].to_vec())];
    let (f1, heads) = verify_objects(&ring, &BTreeMap::new(), &night1);
    assert_eq!(summary(&f1), vec![("gap".into(), "svc-a".into(), 10)]);
    assert_eq!(f1[0].object_key.as_deref(), Some("n1-b"));
    let gaps = &heads["svc-a"].gaps;
    assert_eq!((gaps.len(), gaps[0].start, gaps[0].end, gaps[0].reported_at), (1, 10, 12, 10));
    // The heads survive the manifest's JSON.
    let heads: BTreeMap<String, cairn_evidence::manifest::ChainHead> =
        serde_json::from_str(&serde_json::to_string(&heads).unwrap()).unwrap();

    // Night 2: part of the late file arrives (seq 11), with new events: the gap stays open.
    let night2 = vec![("n2-a", vec![all[11].clone()]), ("n2-b", all[20..25].to_vec())];
    let (f2, heads2) = verify_objects(&ring, &heads, &night2);
    assert_eq!(summary(&f2), vec![]);
    let ranges: Vec<(u64, u64, u64)> = heads2["svc-a"].gaps.iter().map(|g| (g.start, g.end, g.reported_at)).collect();
    assert_eq!(ranges, vec![(10, 10, 10), (12, 12, 10)]);

    // Night 3: the rest arrives: the gap is closed, and nothing is missing any more.
    let night3 = vec![("n3", vec![all[12].clone(), all[10].clone()])];
    let (f3, heads3) = verify_objects(&ring, &heads2, &night3);
    assert_eq!(summary(&f3), vec![("gap_closed".into(), "svc-a".into(), 10)], "{f3:#?}");
    assert!(f3.iter().all(|f| !f.kind.is_break()));
    assert!(heads3["svc-a"].gaps.is_empty());
    assert_eq!(heads3["svc-a"].seq, 24);

    // A forged late event is checked against the neighbours the gap remembered.
    let mut forged: Value = serde_json::from_str(&all[11]).unwrap();
    forged["action"] = json!("wipe");
    let forged = sign_event(&em.key, forged);
    let late = [("late", vec![forged, all[12].clone(), all[10].clone()])];
    let (f, after) = verify_objects(&ring, &heads, &late);
    assert_eq!(
        summary(&f),
        vec![("broken_link".into(), "svc-a".into(), 12), ("gap_closed".into(), "svc-a".into(), 10)],
        "{f:#?}"
    );
    assert!(after["svc-a"].gaps.is_empty());
}

#[test]
fn a_replay_older_than_the_window_cannot_be_linked() {
    let (em, ring) = setup();
    let all = em.chain("svc-a", 10);
    let mut lines = all.clone();
    lines.push(all[2].clone());
    let rows: Vec<EventRow> = lines.iter().enumerate().map(|(i, l)| row(i as u64 + 1, l)).collect();
    let refs: Vec<_> = rows.iter().map(EventRow::as_ref).collect();
    let mut v = ChainVerifier::new(&ring, VerifyOptions { window: 4, ..VerifyOptions::default() }, &BTreeMap::new());
    v.verify_rows("o", &refs);
    assert_eq!(summary(&v.finish().0), vec![("reorder".into(), "svc-a".into(), 2)]);
}
