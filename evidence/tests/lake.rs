//! The commit protocol on the in-memory store: write-once objects, manifests written last and
//! chained, leftovers of an uncommitted run removed, content-addressed blobs stored once.

use std::path::Path;

use bytes::Bytes;
use cairn_evidence::keys::PublicKey;
use cairn_evidence::lake::{Lake, LakeError, RunOutcome, RunWriter};
use cairn_evidence::manifest::Stage;
use cairn_evidence::tables::{events_batch, from_parquet, names, EventRow, Provenance};
use cairn_evidence::time::parse_rfc3339;
use ed25519_dalek::SigningKey;

fn row(seq: u64) -> EventRow {
    EventRow {
        chain: "c".into(),
        seq,
        ts: "2026-11-20T00:00:00Z".into(),
        kid: "k".into(),
        prev: "0".repeat(64),
        hash: "1".repeat(64),
        sig: "s".into(),
        event_json: "{}".into(),
        siem_time: seq.is_multiple_of(2).then(|| "2026-11-20T00:00:00.000+00:00".into()),
        siem_meta: Some(r#"{"index":"audit"}"#.into()),
        provenance: Provenance {
            source: "src".into(),
            object_key: "inputs/a.jsonl".into(),
            line: seq + 1,
            byte_offset: seq * 10,
            record_sha256: "2".repeat(64),
            run_id: "20261120T000000Z-00000001".into(),
            collected_at: parse_rfc3339("2026-11-20T00:00:00Z").unwrap(),
            actor: "test".into(),
            confidence: cairn_evidence::tables::Confidence::Unverified,
            simulated: false,
        },
    }
}

#[tokio::test]
async fn runs_commit_last_and_chain_and_leftovers_are_removed() {
    let lake = Lake::open("memory://", Path::new(".")).unwrap();
    let key = SigningKey::from_bytes(&[5u8; 32]);
    let public = PublicKey::of(&key);
    let t = parse_rfc3339("2026-11-20T01:00:00Z").unwrap();

    // Run 1 commits one table object and one blob.
    let state = lake.state(&public).await.unwrap();
    let mut w = RunWriter::new(&lake, &state, "20261120T010000Z-0000000a", t).unwrap();
    let batch = events_batch(&[row(0), row(1)]).unwrap();
    let entry = w.write_table(names::EVENTS, "2026-11-20", &batch).await.unwrap();
    let blob = w.write_blob(Bytes::from_static(b"raw artefact"), false).await.unwrap();
    let m1 = w.commit(Stage::Collect, &state, RunOutcome::default(), &key, t).await.unwrap();
    assert_eq!(m1.objects.len(), 2);
    assert!(m1.previous.is_none());
    assert_eq!(m1.merkle.size, 2);

    // Objects are write-once.
    let err = lake.put_new(&entry.key, Bytes::from_static(b"x")).await.unwrap_err();
    assert!(matches!(err, LakeError::AlreadyExists { .. }), "{err}");
    // The table reads back, checked against its digest.
    let bytes = lake.get_checked(&entry).await.unwrap();
    let rows: usize = from_parquet(bytes).unwrap().map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 2);

    // Run 2 dies after writing data: nothing of it is visible, and the next writer removes it.
    let state = lake.state(&public).await.unwrap();
    let mut dead = RunWriter::new(&lake, &state, "20261120T020000Z-0000000b", t).unwrap();
    let orphan = dead.write_table(names::EVENTS, "2026-11-20", &batch).await.unwrap();
    drop(dead);
    let state = lake.state(&public).await.unwrap();
    assert!(!state.committed_keys.contains(&orphan.key));
    let removed = lake.remove_uncommitted(&state).await.unwrap();
    assert_eq!(removed, vec![orphan.key.clone()]);

    // Run 3 links to run 1; the committed blob is not written or listed again.
    let mut w = RunWriter::new(&lake, &state, "20261120T030000Z-0000000c", t).unwrap();
    assert_eq!(w.write_blob(Bytes::from_static(b"raw artefact"), false).await.unwrap(), blob);
    assert!(w.objects().is_empty());
    let m3 = w.commit(Stage::Verify, &state, RunOutcome::default(), &key, t).await.unwrap();
    assert_eq!(m3.previous.as_ref().unwrap().run_id, m1.run_id);
    assert_eq!(m3.merkle.size, 2);

    // A run id that would not sort last is refused.
    let state = lake.state(&public).await.unwrap();
    assert!(RunWriter::new(&lake, &state, "20261120T000000Z-0000000d", t).is_err());

    // A manifest signed by another key is refused by writers.
    let other = PublicKey::of(&SigningKey::from_bytes(&[6u8; 32]));
    let err = lake.state(&other).await.unwrap_err().to_string();
    assert!(err.contains("signature"), "{err}");
}

fn disclosure(seq: u64, path: &str, value: &str) -> cairn_evidence::vault::DisclosureRow {
    cairn_evidence::vault::DisclosureRow {
        chain: "c".into(),
        seq,
        event_hash: format!("{seq:064}"),
        path: path.into(),
        digest: format!("d{seq}{path}"),
        disclosure: String::new(),
        value_json: format!("{value:?}"),
        provenance: row(seq).provenance,
    }
}

/// The vault follows the commit protocol too: a crashed run's vault objects are removed by the
/// next writer, and an erasure that committed but died before removing the objects it replaced
/// leaves them dead (no reader sees them), and the next writer removes them.
#[tokio::test]
async fn vault_objects_live_by_the_manifests_and_dead_ones_are_removed() {
    use cairn_evidence::vault::{self, Erasure};
    let lake = Lake::open("memory://", Path::new(".")).unwrap();
    let key = SigningKey::from_bytes(&[6u8; 32]);
    let public = PublicKey::of(&key);
    let t = parse_rfc3339("2026-11-20T01:00:00Z").unwrap();

    let state = lake.state(&public).await.unwrap();
    let mut w = RunWriter::new(&lake, &state, "20261120T010000Z-0000000a", t).unwrap();
    let first = w
        .write_vault(
            "2026-11-20",
            &[disclosure(0, "/actor", "ann@example.com"), disclosure(1, "/actor", "bo@example.com")],
        )
        .await
        .unwrap();
    let m = w.commit(Stage::Collect, &state, RunOutcome::default(), &key, t).await.unwrap();
    assert_eq!(m.vault, vec![first.clone()]);
    assert!(m.objects.is_empty(), "vault objects are not Merkle leaves");

    // A run that dies after writing to the vault: not live, removed by the next writer.
    let state = lake.state(&public).await.unwrap();
    let mut dead = RunWriter::new(&lake, &state, "20261120T020000Z-0000000b", t).unwrap();
    let orphan = dead.write_vault("2026-11-20", &[disclosure(2, "/actor", "cy@example.com")]).await.unwrap();
    drop(dead);
    let state = lake.state(&public).await.unwrap();
    assert_eq!(state.vault.keys().collect::<Vec<_>>(), [&first.key]);
    assert_eq!(lake.remove_uncommitted(&state).await.unwrap(), vec![orphan.key.clone()]);

    // An erasure commits its replacement, then dies before removing what it replaced.
    let mut w = RunWriter::new(&lake, &state, "20261120T030000Z-0000000c", t).unwrap();
    let kept = w.write_vault("2026-11-20", &[disclosure(1, "/actor", "bo@example.com")]).await.unwrap();
    let erasure = Erasure {
        by: "DPO".into(),
        reason: "request 1".into(),
        events: 1,
        digests: vec!["d0/actor".into()],
        replaced: vec![first.key.clone()],
    };
    let outcome = RunOutcome { erasure: Some(erasure), ..RunOutcome::default() };
    w.commit(Stage::Erase, &state, outcome, &key, t).await.unwrap();
    let state = lake.state(&public).await.unwrap();
    assert_eq!(state.vault.keys().collect::<Vec<_>>(), [&kept.key], "the replaced object is dead at once");
    assert!(lake.get(&first.key).await.is_ok(), "still stored until a writer removes it");
    assert_eq!(lake.remove_uncommitted(&state).await.unwrap(), vec![first.key.clone()]);
    let rows = vault::rows(lake.get_checked(&kept).await.unwrap()).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].value_json, "\"bo@example.com\"");
}
