//! Verification split over shards, as a Kubernetes Indexed Job runs it: every shard verifies its
//! own chains and objects, `--merge` commits the union, and the union equals what one unsharded
//! verification finds — with a planted fault in every shard.

mod common;

use std::collections::BTreeSet;

use cairn_evidence::digest::shard_of;
use cairn_evidence::event::GENESIS_PREV;
use common::{cairn, findings, Org};
use serde_json::json;

const SHARDS: u32 = 4;

#[test]
fn the_union_of_four_shards_equals_the_unsharded_verification() {
    let tmp = tempfile::tempdir().unwrap();
    let sharded = tmp.path().join("sharded");
    std::fs::create_dir_all(&sharded).unwrap();
    let mut org = Org::new(&sharded);
    // Chains until every shard has two; the first chain of each shard gets a fault.
    let mut per_shard = vec![Vec::new(); SHARDS as usize];
    for i in 0.. {
        let chain = format!("app-{i:03}");
        let s = shard_of(&chain, SHARDS) as usize;
        if per_shard[s].len() < 2 {
            per_shard[s].push(chain);
        }
        if per_shard.iter().all(|c| c.len() == 2) {
            break;
        }
    }
    let faults = ["gap", "altered", "fork", "bad_signature"];
    let mut lines = String::new();
    let mut planted = BTreeSet::new();
    for (s, chains) in per_shard.iter().enumerate() {
        for (c, chain) in chains.iter().enumerate() {
            org.chain.clone_from(chain);
            org.next_seq = 0;
            org.prev = GENESIS_PREV.into();
            let mut events = org.events(20);
            if c == 0 {
                let fault = faults[s];
                match fault {
                    "gap" => {
                        events.remove(7);
                    }
                    "altered" => events[7]["actor"] = json!("mallory"),
                    "fork" => {
                        let mut other = events[7].clone();
                        other["action"] = json!("write");
                        events.insert(8, common::sign(&org.key, other));
                    }
                    _ => events[7]["sig"] = events[6]["sig"].clone(),
                }
                planted.insert((fault.to_string(), chain.clone()));
            }
            for e in events {
                lines.push_str(&json!({"host": "app-01", "event": e}).to_string());
                lines.push('\n');
            }
        }
    }
    org.append("export.jsonl", &lines);
    let out = cairn(&sharded, &["collect"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The same lake, verified in one pass, for comparison.
    let whole = tmp.path().join("whole");
    let out = common::tool(tmp.path(), "cp", &["-a", sharded.to_str().unwrap(), whole.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = cairn(&whole, &["verify", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let expected: BTreeSet<(String, String, u64)> = findings(&out.stdout).into_iter().collect();
    let planted_found: BTreeSet<(String, String)> = expected.iter().map(|(k, c, _)| (k.clone(), c.clone())).collect();
    assert!(planted.is_subset(&planted_found), "{planted:?} in {expected:?}");

    // Each shard finds the fault in its own chains, and nothing about other shards' chains.
    for index in 0..SHARDS {
        if index == SHARDS - 1 {
            // A merge before every shard has run is refused, naming what is missing.
            let out = cairn(&sharded, &["verify", "--merge"]);
            assert_eq!(out.code, 2, "{}", out.stdout);
            assert!(out.stderr.contains(&format!("missing {index}/{SHARDS}")), "{}", out.stderr);
        }
        let out = cairn(&sharded, &["verify", "--shard", &format!("{index}/{SHARDS}")]);
        assert_eq!(out.code, 1, "shard {index}: {}\n{}", out.stdout, out.stderr);
        let fault = faults[index as usize];
        assert!(out.stdout.contains(&per_shard[index as usize][0]), "shard {index}: {}", out.stdout);
        for (s, chains) in per_shard.iter().enumerate() {
            if s != index as usize {
                assert!(
                    !chains.iter().any(|c| out.stdout.contains(c.as_str())),
                    "shard {index} strays: {}",
                    out.stdout
                );
            }
        }
        assert!(out.stdout.contains(fault) || fault == "bad_signature", "{}", out.stdout);
    }
    let out = cairn(&sharded, &["verify", "--merge", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let merged: BTreeSet<(String, String, u64)> = findings(&out.stdout).into_iter().collect();
    assert_eq!(merged, expected, "the union of the shards is the unsharded result");

    // The merged run is an ordinary verify run: the next incremental verification has nothing
    // new (the merged breaks stay open, so it still exits 1), and a full re-check of the merged
    // lake finds the same as the whole one.
    let out = cairn(&sharded, &["verify", "--format", "json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.stdout.trim(), "[]");
    let full_sharded = cairn(&sharded, &["verify", "--full", "--format", "json"]);
    let full_whole = cairn(&whole, &["verify", "--full", "--format", "json"]);
    let a: BTreeSet<_> = findings(&full_sharded.stdout).into_iter().collect();
    let b: BTreeSet<_> = findings(&full_whole.stdout).into_iter().collect();
    assert_eq!(a, b);
    let shards_dir = sharded.join("store/shards");
    assert!(!shards_dir.exists() || common::files(&shards_dir).is_empty(), "merged shard results are removed");
}
