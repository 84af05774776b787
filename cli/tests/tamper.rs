//! Tampering with source events, lake objects and manifests: each is found, named, and exits 1;
//! nothing already committed is changed.

mod common;

use std::path::Path;

use common::{cairn, findings, sign, Org};
use serde_json::Value;

/// A fresh organisation with 50 events, tampered by `edit` before collection.
fn collect_and_verify(edit: impl FnOnce(&mut Vec<String>, &Path)) -> (i32, Vec<(String, String, u64)>) {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    let mut lines: Vec<String> = org.lines(50).lines().map(str::to_string).collect();
    edit(&mut lines, tmp.path());
    org.append("day1.jsonl", &(lines.join("\n") + "\n"));
    let c = cairn(tmp.path(), &["collect"]);
    assert_eq!(c.code, 0, "{}{}", c.stdout, c.stderr);
    let v = cairn(tmp.path(), &["verify", "--format", "json"]);
    (v.code, findings(&v.stdout))
}

fn event(line: &str) -> Value {
    serde_json::from_str::<Value>(line).unwrap()["event"].clone()
}

fn with_event(line: &str, event: Value) -> String {
    let mut v: Value = serde_json::from_str(line).unwrap();
    v["event"] = event;
    v.to_string()
}

#[test]
fn clean_chain_verifies_and_exits_0() {
    let (code, got) = collect_and_verify(|_, _| {});
    assert_eq!((code, got), (0, vec![]));
}

#[test]
fn a_changed_field_is_altered() {
    let (code, got) = collect_and_verify(|lines, _| {
        let mut e = event(&lines[10]);
        e["actor"] = "mallory".into();
        lines[10] = with_event(&lines[10], e);
    });
    assert_eq!(code, 1);
    assert_eq!(got, vec![("altered".into(), "app-main".into(), 10)]);
}

#[test]
fn a_deleted_event_is_a_gap() {
    let (code, got) = collect_and_verify(|lines, _| {
        lines.remove(20);
    });
    assert_eq!(code, 1);
    assert_eq!(got, vec![("gap".into(), "app-main".into(), 20)]);
}

#[test]
fn two_swapped_events_still_link_delivery_order_is_not_evidence() {
    let (code, got) = collect_and_verify(|lines, _| lines.swap(30, 31));
    assert_eq!((code, got), (0, vec![]));
}

#[test]
fn an_event_resigned_with_a_stranger_key_is_an_unknown_key() {
    let (code, got) = collect_and_verify(|lines, _| {
        let stranger = ed25519_dalek::SigningKey::from_bytes(&[99u8; 32]);
        let mut e = event(&lines[40]);
        e["kid"] = "intruder".into();
        lines[40] = with_event(&lines[40], sign(&stranger, e));
    });
    assert_eq!(code, 1);
    assert!(got.contains(&("unknown_key".into(), "app-main".into(), 40)), "{got:?}");
    // The forged event has a new hash, so the next event's link breaks as well.
    assert!(got.contains(&("broken_link".into(), "app-main".into(), 41)), "{got:?}");
}

#[test]
fn events_signed_after_revocation_are_key_not_valid() {
    let (code, got) = collect_and_verify(|_, dir| {
        let ring = dir.join("keys/trusted.toml");
        let text = std::fs::read_to_string(&ring).unwrap();
        std::fs::write(&ring, text + "revoked_at = \"2026-11-20T00:00:45Z\"\n").unwrap();
    });
    assert_eq!(code, 1);
    assert_eq!(got.len(), 5, "{got:?}");
    assert!(got.iter().all(|f| f.0 == "key_not_valid" && f.2 >= 45), "{got:?}");
}

fn committed_org() -> (tempfile::TempDir, Org) {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    let lines = org.lines(30);
    org.append("day1.jsonl", &lines);
    assert_eq!(cairn(tmp.path(), &["collect"]).code, 0);
    let v = cairn(tmp.path(), &["verify"]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    (tmp, org)
}

fn find(dir: &Path, prefix: &str, suffix: &str) -> std::path::PathBuf {
    let found = common::files(dir)
        .into_iter()
        .find(|p| p.to_string_lossy().starts_with(prefix) && p.to_string_lossy().ends_with(suffix));
    dir.join(found.unwrap_or_else(|| panic!("no {prefix}…{suffix} under {}", dir.display())))
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let i = at.min(bytes.len() - 1);
    bytes[i] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_flipped_byte_in_a_parquet_object_is_found() {
    let (tmp, _org) = committed_org();
    let object = find(tmp.path(), "store/lake/events", ".parquet");
    flip_byte(&object, 200);
    let v = cairn(tmp.path(), &["verify", "--full", "--format", "json"]);
    assert_eq!(v.code, 1, "{}", v.stderr);
    let got = findings(&v.stdout);
    assert_eq!(got[0].0, "object_digest_mismatch", "{got:?}");
}

#[test]
fn a_flipped_byte_in_a_manifest_is_found_and_nothing_is_written_on_top() {
    let (tmp, mut org) = committed_org();
    let manifest = find(tmp.path(), "store/runs/", ".json");
    flip_byte(&manifest, 300);
    let before = common::files(&tmp.path().join("store"));
    let v = cairn(tmp.path(), &["verify", "--format", "json"]);
    assert_eq!(v.code, 1, "{}", v.stderr);
    let got = findings(&v.stdout);
    assert!(got.iter().any(|f| f.0 == "manifest_signature"), "{got:?}");
    // The next manifest links to the original bytes, so the chain of manifests is broken too.
    assert!(got.iter().any(|f| f.0 == "manifest_chain"), "{got:?}");
    // Collecting on top of a forged manifest is refused, and nothing is written.
    let more = org.lines(5);
    org.append("day1.jsonl", &more);
    let c = cairn(tmp.path(), &["collect"]);
    assert_eq!(c.code, 2, "{}", c.stdout);
    assert!(c.stderr.contains("manifest") && c.stderr.contains("does not verify"), "{}", c.stderr);
    assert_eq!(common::files(&tmp.path().join("store")), before);
}
