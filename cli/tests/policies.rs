//! Signed policy Decision Cards: collected with their detached signatures, checked by `verify`
//! against the keys the keyring allows for them. A card signed in the test verifies; a changed
//! byte, a card republished under its version with other content, an expired card and an unsigned
//! one are findings; a card signed by Debian's real `minisign` (prehashed, its default) verifies.

mod common;

use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cairn_evidence::canonical::canonical_bytes;
use common::{cairn, tool, Org};
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{json, Value};

fn days_ago(days: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::days(days)).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Writes `card` as `name` in `dir`, with a `.sig` of its canonical bytes when a key is given.
fn write_card(dir: &Path, name: &str, card: &Value, key: Option<&SigningKey>) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), serde_json::to_vec_pretty(card).unwrap()).unwrap();
    if let Some(key) = key {
        let sig = key.sign(&canonical_bytes(card).unwrap());
        std::fs::write(dir.join(format!("{name}.sig")), B64.encode(sig.to_bytes())).unwrap();
    }
}

/// The policy findings of `verify --format json`: (kind, source object file name).
fn policy_findings(org: &Path) -> Vec<(String, String)> {
    let out = cairn(org, &["verify", "--format", "json"]);
    assert!(out.code == 0 || out.code == 1, "{}\n{}", out.stdout, out.stderr);
    let findings: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    let mut out: Vec<(String, String)> = findings
        .iter()
        .filter(|f| f["kind"].as_str().is_some_and(|k| k.starts_with("policy_")))
        .map(|f| {
            let object = f["object_key"].as_str().unwrap_or_default();
            (f["kind"].as_str().unwrap().to_string(), object.rsplit('/').next().unwrap().to_string())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn decision_cards_verify_and_tampering_mutation_expiry_and_missing_signatures_are_found() {
    let tmp = tempfile::tempdir().unwrap();
    let org = Org::new(tmp.path());
    let policy_key = SigningKey::from_bytes(&[33u8; 32]);
    let stranger = SigningKey::from_bytes(&[34u8; 32]);
    // The keyring allows the policy key for the payments cards only.
    let mut ring = std::fs::read_to_string(org.dir.join("keys/trusted.toml")).unwrap();
    let public = B64.encode(policy_key.verifying_key().as_bytes());
    ring.push_str("\n[[key]]\nkid = \"policy-2026\"\nchains = []\npolicies = [\"payments-*\"]\npublic_key = \"");
    ring.push_str(&public);
    ring.push_str("\"\n");
    std::fs::write(org.dir.join("keys/trusted.toml"), ring).unwrap();
    let mut config = std::fs::read_to_string(org.dir.join("cairn.toml")).unwrap();
    config.push_str("\n[[source]]\nname = \"policies\"\ntype = \"decision-card\"\nurl = \"policy/\"\n");
    std::fs::write(org.dir.join("cairn.toml"), config).unwrap();
    let cards = org.dir.join("policy");

    // A card signed by the allowed key verifies.
    let egress = json!({"id": "payments-egress", "version": "1", "issued_at": days_ago(30),
        "rules": {"allow": ["api.bank.example"], "default": "deny"}});
    write_card(&cards, "egress-v1.json", &egress, Some(&policy_key));
    let out = cairn(&org.dir, &["collect"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("1 decision cards"), "{}", out.stdout);
    assert_eq!(policy_findings(&org.dir), Vec::<(String, String)>::new());

    // One byte changed after signing: the signature no longer verifies.
    let mut tampered = egress.clone();
    tampered["id"] = json!("payments-refunds");
    write_card(&cards, "refunds-v1.json", &tampered, Some(&policy_key));
    let text = std::fs::read_to_string(cards.join("refunds-v1.json")).unwrap().replace("deny", "denY");
    std::fs::write(cards.join("refunds-v1.json"), text).unwrap();
    // The same id and version republished with other content, properly signed.
    let mut changed = egress.clone();
    changed["rules"]["allow"] = json!(["api.bank.example", "exfil.example"]);
    write_card(&cards, "egress-v1-again.json", &changed, Some(&policy_key));
    // A card past its expiry; a card with no signature; a card signed by a stranger's key; a
    // card the key may not sign (not a payments card).
    let mut expired = egress.clone();
    expired["id"] = json!("payments-old");
    expired["expires_at"] = json!(days_ago(1));
    write_card(&cards, "old-v1.json", &expired, Some(&policy_key));
    let mut unsigned = egress.clone();
    unsigned["id"] = json!("payments-unsigned");
    write_card(&cards, "unsigned-v1.json", &unsigned, None);
    let mut strange = egress.clone();
    strange["id"] = json!("payments-strange");
    write_card(&cards, "strange-v1.json", &strange, Some(&stranger));
    let mut hr = egress.clone();
    hr["id"] = json!("hr-retention");
    write_card(&cards, "hr-v1.json", &hr, Some(&policy_key));
    // Overdue: the newest version of a card issued 100 days ago (review interval 92).
    let mut stale = egress.clone();
    stale["id"] = json!("payments-stale");
    stale["issued_at"] = json!(days_ago(100));
    write_card(&cards, "stale-v1.json", &stale, Some(&policy_key));
    // Not JSON: kept aside, not a card.
    std::fs::write(cards.join("notes.json"), "this is not a card").unwrap();
    let out = cairn(&org.dir, &["collect"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("1 kept aside"), "{}", out.stdout);
    assert_eq!(
        policy_findings(&org.dir),
        [
            ("policy_mutated", "egress-v1-again.json"),
            ("policy_review_overdue", "old-v1.json"),
            ("policy_review_overdue", "stale-v1.json"),
            ("policy_signature", "hr-v1.json"),
            ("policy_signature", "refunds-v1.json"),
            ("policy_signature", "strange-v1.json"),
            ("policy_signature", "unsigned-v1.json"),
        ]
        .map(|(k, f)| (k.to_string(), f.to_string()))
    );

    // The control resting on the cards fails on them, and the portal says why.
    let out = cairn(&org.dir, &["render"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let page = std::fs::read_to_string(org.dir.join("portal/controls/CHG-06.html")).unwrap();
    assert!(page.contains("status-failing") && page.contains("policy_mutated"), "{page}");
}

#[test]
fn a_card_signed_by_debian_minisign_verifies_and_a_changed_one_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let org = Org::new(tmp.path());
    let keys = tmp.path().join("minisign");
    std::fs::create_dir_all(&keys).unwrap();
    let out = tool(&keys, "minisign", &["-G", "-W", "-p", "policy.pub", "-s", "policy.key"]);
    assert_eq!(out.code, 0, "minisign -G: {}", out.stderr);
    let public = std::fs::read_to_string(keys.join("policy.pub")).unwrap();
    let line = public.lines().nth(1).unwrap();
    let mut ring = std::fs::read_to_string(org.dir.join("keys/trusted.toml")).unwrap();
    ring.push_str("\n[[key]]\nkid = \"policy-minisign\"\nchains = []\npolicies = [\"*\"]\npublic_key = \"");
    ring.push_str(line);
    ring.push_str("\"\n");
    std::fs::write(org.dir.join("keys/trusted.toml"), ring).unwrap();
    let mut config = std::fs::read_to_string(org.dir.join("cairn.toml")).unwrap();
    config.push_str("\n[[source]]\nname = \"policies\"\ntype = \"decision-card\"\nurl = \"policy/\"\n");
    std::fs::write(org.dir.join("cairn.toml"), config).unwrap();
    let cards = org.dir.join("policy");
    std::fs::create_dir_all(&cards).unwrap();
    for (name, id) in [("good.json", "storage-retention"), ("bad.json", "storage-deletion")] {
        let card = json!({"id": id, "version": 7, "issued_at": days_ago(3), "retain_days": 400});
        std::fs::write(cards.join(name), serde_json::to_vec(&card).unwrap()).unwrap();
        // minisign's default since 0.10: a prehashed (BLAKE2b-512) `ED` signature.
        let out = tool(&cards, "minisign", &["-S", "-s", keys.join("policy.key").to_str().unwrap(), "-m", name]);
        assert_eq!(out.code, 0, "minisign -S: {}", out.stderr);
    }
    let sig = std::fs::read_to_string(cards.join("good.json.minisig")).unwrap();
    assert!(sig.lines().nth(1).unwrap().starts_with("RU"), "a prehashed signature: {sig}");
    std::fs::write(
        cards.join("bad.json"),
        std::fs::read_to_string(cards.join("bad.json")).unwrap().replace("400", "401"),
    )
    .unwrap();
    let out = cairn(&org.dir, &["collect"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(policy_findings(&org.dir), [("policy_signature".to_string(), "bad.json".to_string())]);
}

#[test]
fn events_must_name_a_card_the_lake_holds_issued_before_them() {
    let tmp = tempfile::tempdir().unwrap();
    let org = Org::new(tmp.path());
    let policy_key = SigningKey::from_bytes(&[33u8; 32]);
    let mut ring = std::fs::read_to_string(org.dir.join("keys/trusted.toml")).unwrap();
    ring.push_str("\n[[key]]\nkid = \"policy-2026\"\nchains = []\npolicies = [\"*\"]\npublic_key = \"");
    ring.push_str(&B64.encode(policy_key.verifying_key().as_bytes()));
    ring.push_str("\"\n");
    std::fs::write(org.dir.join("keys/trusted.toml"), ring).unwrap();
    let mut config = std::fs::read_to_string(org.dir.join("cairn.toml")).unwrap();
    config.push_str("\n[[source]]\nname = \"policies\"\ntype = \"decision-card\"\nurl = \"policy/\"\n");
    std::fs::write(org.dir.join("cairn.toml"), config).unwrap();
    let card = json!({"id": "payments-egress", "version": "1", "issued_at": days_ago(30), "rules": {}});
    write_card(&org.dir.join("policy"), "egress-v1.json", &card, Some(&policy_key));
    // Three chains of one event each: under the card, under an unknown version, and before the
    // card was issued.
    let mut lines = String::new();
    for (chain, policy, ts) in [
        ("app-a", json!({"id": "payments-egress", "version": "1"}), days_ago(1)),
        ("app-b", json!("payments-egress@9"), days_ago(1)),
        ("app-c", json!("payments-egress@1"), days_ago(40)),
        ("app-d", Value::Null, days_ago(1)),
    ] {
        let mut event = json!({"chain": chain, "seq": 0, "ts": ts, "kid": "app-1",
            "prev": cairn_evidence::event::GENESIS_PREV, "action": "transfer"});
        if !policy.is_null() {
            event["policy"] = policy;
        }
        let event = common::sign(&org.key, event);
        lines.push_str(&json!({"host": "app-01", "event": event}).to_string());
        lines.push('\n');
    }
    org.append("events.jsonl", &lines);
    let out = cairn(&org.dir, &["collect"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = cairn(&org.dir, &["verify", "--format", "json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let found = common::findings(&out.stdout);
    assert_eq!(
        found,
        [
            ("policy_unknown".to_string(), "app-b".to_string(), 0),
            ("policy_unknown".to_string(), "app-c".to_string(), 0)
        ]
    );
}
