//! Provenance of every record: `cairn trace` follows a demo event from its input line to the
//! bundle holding it, and the portal says on every page with simulated evidence that it is.

mod common;

use common::{cairn, demo, files};
use serde_json::Value;

fn trace(org: &std::path::Path, id: &str) -> Value {
    let out = cairn(org, &["trace", id, "--format", "json"]);
    assert_eq!(out.code, 0, "trace {id}: {}\n{}", out.stdout, out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

/// The event on line `line` of the Splunk export, as the service signed it.
fn event_on_line(org: &std::path::Path, line: usize) -> Value {
    let text = std::fs::read_to_string(org.join("inputs/payments/export-2026-11-20.json")).unwrap();
    let record: Value =
        serde_json::from_str(text.lines().nth(line - 1).unwrap().trim_start_matches('\u{feff}')).unwrap();
    serde_json::from_str(record["result"]["_raw"].as_str().unwrap()).unwrap()
}

#[test]
fn trace_follows_a_demo_event_from_its_input_line_to_the_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 11);
    let event = event_on_line(&org, 40);
    let hash = event["hash"].as_str().unwrap();
    let t = trace(&org, hash);
    assert_eq!(t["kind"], "event");
    // 1. The source line, read again now and still the same bytes.
    let source = &t["sources"][0];
    assert_eq!(source["source"], "payments");
    assert_eq!(source["object_key"], "inputs/payments/export-2026-11-20.json");
    assert_eq!(source["line"], 40);
    assert_eq!(source["simulated"], true);
    assert_eq!(source["confidence"], "unverified");
    assert!(source["actor"].as_str().unwrap().starts_with("cairn-collector/"), "{source}");
    assert!(source["recheck"].as_str().unwrap().contains("still has"), "{source}");
    // 2-3. The collect run and the lake object, with its Merkle leaf.
    assert_eq!(t["collection"]["stage"], "collect");
    assert_eq!(t["object"]["table"], "events");
    assert_eq!(t["object"]["simulated"], true);
    assert!(t["object"]["key"].as_str().unwrap().starts_with("lake/events/date="), "{t}");
    assert_eq!(t["event"]["chain"], event["chain"]);
    assert_eq!(t["event"]["seq"], event["seq"]);
    // 4. Verified by the verify run, with no finding.
    assert_eq!(t["verification"]["result"], "verified", "{t}");
    assert!(t["verification"]["findings"].as_array().unwrap().is_empty());
    // 5. The event controls rest on its object.
    let controls: Vec<&str> = t["controls"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(controls.contains(&"LOG-01") && controls.contains(&"LOG-02"), "{controls:?}");
    // 6. The demo's bundle lists the object, with its inclusion proof.
    let bundles = t["bundles"].as_array().unwrap();
    assert_eq!(bundles.len(), 1, "{t}");
    assert_eq!(bundles[0]["entry"], format!("store/{}", t["object"]["key"].as_str().unwrap()));
    assert_eq!(bundles[0]["leaf_index"], t["object"]["leaf_index"]);
    // The same object traced by its key and by its digest gives the same hops.
    let by_key = trace(&org, t["object"]["key"].as_str().unwrap());
    let by_digest = trace(&org, t["object"]["sha256"].as_str().unwrap());
    assert_eq!(by_key["object"], t["object"]);
    assert_eq!(by_digest["object"], t["object"]);
    assert_eq!(by_key["sources"][0]["source"], "payments");
    // Text output names every hop.
    let text = cairn(&org, &["trace", hash]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    for hop in
        ["1. source", "2. collect run", "3. lake object", "4. verification: verified", "5. controls", "6. bundles"]
    {
        assert!(text.stdout.contains(hop), "{hop}: {}", text.stdout);
    }
}

#[test]
fn trace_names_findings_artefacts_and_unknown_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 12);
    // The event Datadog delivered twice: verification failed it with a `duplicate` finding.
    let verify = cairn(&org, &["verify", "--full", "--format", "json"]);
    let duplicate = common::findings(&verify.stdout).into_iter().find(|f| f.0 == "duplicate").unwrap();
    let lake = org.join("store");
    let script = format!(
        "import json, sys, pyarrow.dataset as ds\n\
         t = ds.dataset(sys.argv[1] + '/lake/events', format='parquet', partitioning='hive').to_table().to_pylist()\n\
         print(next(json.loads(r['event_json'])['hash'] for r in t if r['chain'] == '{}' and r['seq'] == {}))",
        duplicate.1, duplicate.2
    );
    let hash = common::tool(&org, "python3", &["-c", &script, lake.to_str().unwrap()]);
    assert_eq!(hash.code, 0, "{}", hash.stderr);
    let t = trace(&org, hash.stdout.trim());
    assert_eq!(t["verification"]["result"], "failed", "{t}");
    assert!(t["verification"]["findings"].as_array().unwrap().iter().any(|f| f["kind"] == "duplicate"), "{t}");
    // A release artefact's digest leads to the signed provenance recording it.
    let release =
        files(&org.join("inputs/releases")).into_iter().find(|f| f.extension().is_some_and(|e| e == "gz")).unwrap();
    let digest =
        cairn_evidence::digest::sha256_hex(&std::fs::read(org.join("inputs/releases").join(&release)).unwrap());
    let t = trace(&org, &digest);
    assert_eq!(t["kind"], "artefact", "{t}");
    assert_eq!(t["object"]["table"], "blob");
    assert!(t["sources"][0]["object_key"].as_str().unwrap().starts_with("inputs/attestations/"), "{t}");
    assert!(!t["controls"].as_array().unwrap().is_empty(), "{t}");
    assert!(!t["bundles"].as_array().unwrap().is_empty(), "{t}");
    // An id that names nothing: exit 2 and a message saying what an id may be.
    let none = cairn(&org, &["trace", &"0".repeat(64)]);
    assert_eq!(none.code, 2);
    assert!(none.stderr.contains("is not a committed lake object key"), "{}", none.stderr);
}

#[test]
fn every_portal_page_with_simulated_evidence_carries_the_banner() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 13);
    let portal = org.join("portal");
    let pages: Vec<_> = files(&portal).into_iter().filter(|p| p.extension().is_some_and(|e| e == "html")).collect();
    assert!(pages.len() > 70);
    for page in &pages {
        let html = std::fs::read_to_string(portal.join(page)).unwrap();
        let banner = html.contains("class=\"simulated-banner\"");
        // The instructions page shows no evidence; every other page shows the demo's.
        assert_eq!(banner, page.to_str() != Some("verify.html"), "{}", page.display());
    }
    // The bundle's signed manifest carries the flag, and marks each simulated file.
    let zip = files(&org.join("bundles")).into_iter().next().unwrap();
    let out = common::tool(&org, "unzip", &["-p", org.join("bundles").join(&zip).to_str().unwrap(), "manifest.json"]);
    let manifest: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(manifest["simulated"], true);
    let files = manifest["files"].as_array().unwrap();
    assert!(files.iter().filter(|f| f["kind"] == "lake_object").all(|f| f["simulated"] == true));
}
