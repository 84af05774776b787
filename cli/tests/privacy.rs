//! Personal data: the demo's services commit to their events' personal values (the actor's
//! email, the client IP) with salted digests, and send the values beside the signed event. The
//! values live in the disclosure vault, never in the lake; a bundle for an external auditor holds
//! none of them and still proves every sampled event; an erasure removes a user's values and
//! every proof still holds. Every search for a value reads Parquet decompressed (pyarrow).

mod common;

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::{cairn, demo, findings, tool, unzip};

/// Every personal value the vault holds, by event: `chain seq path value` lines, read with
/// pyarrow from the vault's Parquet objects.
const VAULT_VALUES: &str = r#"
import json, pathlib, sys, pyarrow.parquet as pq
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.parquet")):
    for r in pq.read_table(path).to_pylist():
        print(r["chain"], r["seq"], r["path"], json.loads(r["value_json"]))
"#;

/// Prints each of the values (argv[2:]: emails and IP addresses) found anywhere under the
/// folder argv[1]: in any file's bytes, and in every cell of every Parquet file, decompressed. A
/// value counts only as a whole token: `10.0.1.2` is not found inside `10.0.1.23`.
const FIND_VALUES: &str = r#"
import json, pathlib, re, sys
import pyarrow.parquet as pq
values = set(sys.argv[2:])
token = re.compile(r"[\w.@+-]+")
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*")):
    if not path.is_file():
        continue
    texts = [(str(path), path.read_bytes().decode("utf-8", "replace"))]
    if path.suffix == ".parquet":
        texts.append((str(path) + " (decompressed)", json.dumps(pq.read_table(path).to_pylist(), default=str)))
    for name, text in texts:
        for v in sorted(values & {t.strip(".") for t in token.findall(text)}):
            print(v, "in", name)
"#;

/// Prints each of the texts (argv[2:]) found anywhere under the folder argv[1]: in any file's
/// bytes, and in every cell of every Parquet file, decompressed.
const FIND_TEXT: &str = r#"
import json, pathlib, sys
import pyarrow.parquet as pq
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*")):
    if not path.is_file():
        continue
    texts = [path.read_bytes().decode("utf-8", "replace")]
    if path.suffix == ".parquet":
        texts.append(json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False))
    for text in sorted(set(sys.argv[2:])):
        if any(text in t for t in texts):
            print(text, "in", path)
"#;

fn vault_values(org: &Path) -> Vec<(String, u64, String, String)> {
    let out = tool(org, "python3", &["-c", VAULT_VALUES, "store/vault"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
        .lines()
        .map(|l| {
            let mut p = l.splitn(4, ' ');
            let mut next = || p.next().unwrap().to_string();
            (next(), next().parse().unwrap(), next(), next())
        })
        .collect()
}

fn found(dir: &Path, values: &[&str]) -> Vec<String> {
    let mut args = vec!["-c", FIND_VALUES, dir.to_str().unwrap()];
    args.extend_from_slice(values);
    let out = tool(dir, "python3", &args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn an_external_bundle_holds_no_personal_value_and_still_proves_every_sampled_event() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 21);
    let pubkey = org.join("keys/cairn.pub");
    let values = vault_values(&org);
    let emails: Vec<&str> = values.iter().filter(|v| v.2 == "/actor").map(|v| v.3.as_str()).collect();
    let ips: Vec<&str> = values.iter().filter(|v| v.2 == "/attrs/ip").map(|v| v.3.as_str()).collect();
    assert!(emails.len() > 6000 && ips.len() == emails.len(), "every demo event discloses its actor and IP");
    let mut distinct: Vec<&str> = emails.iter().chain(&ips).copied().collect();
    distinct.sort_unstable();
    distinct.dedup();
    // The lake never held them, in any table.
    assert_eq!(found(&org.join("store/lake"), &distinct), Vec::<String>::new());

    let mut bundles = Vec::new();
    for audience in ["external", "internal"] {
        let zip = tmp.path().join(format!("{audience}.zip"));
        let b = cairn(
            &org,
            &["bundle", "--audience", audience, "--sample", "4", "--seed", "9", "--out", zip.to_str().unwrap()],
        );
        assert_eq!(b.code, 0, "{}{}", b.stdout, b.stderr);
        let dir = tmp.path().join(audience);
        unzip(&zip, &dir);
        let v = tool(&dir, "python3", &["verify.py", pubkey.to_str().unwrap()]);
        assert_eq!(v.code, 0, "{audience}: {}{}", v.stdout, v.stderr);
        assert!(v.stdout.contains("OK  12 sampled events"), "{}", v.stdout);
        assert!(v.stdout.contains("each at its row (pyarrow)"), "{}", v.stdout);
        assert_eq!(tool(&dir, "minisign", &["-Vqm", "manifest.json", "-p", pubkey.to_str().unwrap()]).code, 0);
        bundles.push((dir, v.stdout));
    }
    let (external, internal) = (&bundles[0], &bundles[1]);

    // The external bundle: not one email or IP of the demo's logs, in any file or cell.
    assert_eq!(found(&external.0, &distinct), Vec::<String>::new());
    assert!(!external.0.join("evidence/disclosures.jsonl").exists());
    assert!(!external.1.contains("disclosed values"), "{}", external.1);
    let readme = std::fs::read_to_string(external.0.join("README.txt")).unwrap();
    assert!(readme.contains("AUDIENCE: external"), "{readme}");
    assert!(readme.contains("disclosed personal values of the sampled events"), "{readme}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(external.0.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["audience"]["audience"], "external");
    let left: Vec<&serde_json::Value> = manifest["audience"]["left_out"].as_array().unwrap().iter().collect();
    assert!(left.iter().any(|l| l["count"] == 24 && l["classification"] == "restricted"), "{left:?}");

    // The internal bundle carries the sampled events' values, each matching its commitment.
    let disclosed = std::fs::read_to_string(internal.0.join("evidence/disclosures.jsonl")).unwrap();
    assert_eq!(disclosed.lines().count(), 24, "actor and IP of each of the 12 sampled events");
    assert!(internal.1.contains("OK  24 disclosed values match"), "{}", internal.1);
    let revealed: Vec<String> = disclosed
        .lines()
        .map(|l| {
            let d: serde_json::Value = serde_json::from_str(l).unwrap();
            let text = URL_SAFE_NO_PAD.decode(d["disclosure"].as_str().unwrap()).unwrap();
            let array: Vec<serde_json::Value> = serde_json::from_slice(&text).unwrap();
            array[2].as_str().unwrap().to_string()
        })
        .collect();
    assert!(revealed.iter().all(|v| distinct.contains(&v.as_str())), "the internal bundle does disclose them");

    // The portal offers bundles made for outsiders, never one made for the internal team.
    let out = org.join("bundles");
    for audience in ["external", "internal"] {
        let zip = out.join(format!("cairn-evidence-{audience}-20261121T020000Z-00000000.zip"));
        std::fs::copy(tmp.path().join(format!("{audience}.zip")), &zip).unwrap();
    }
    let r = cairn(&org, &["render"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let downloads: Vec<String> = std::fs::read_dir(org.join("portal/downloads"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(downloads.iter().any(|d| d.contains("-external-")), "{downloads:?}");
    assert!(!downloads.iter().any(|d| d.contains("-internal-")), "{downloads:?}");
    assert!(r.stderr.contains("made for an internal audience"), "{}", r.stderr);

    // A disclosure that is not the one committed to is caught by verify.py.
    let mut lines: Vec<serde_json::Value> = disclosed.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // base64url of ["x","actor","mallory@example.com"]
    lines[0]["disclosure"] = "WyJ4IiwiYWN0b3IiLCJtYWxsb3J5QGV4YW1wbGUuY29tIl0".into();
    let forged: String = lines.iter().map(|l| l.to_string() + "\n").collect();
    std::fs::write(internal.0.join("evidence/disclosures.jsonl"), forged).unwrap();
    // (SHA256SUMS and the manifest would catch it first; verify.py's own check is the point.)
    let script = "import json, sys; sys.argv = ['verify.py']; import verify; \
                  m = json.load(open('manifest.json')); \
                  verify.check_sampled_events({f['path']: f for f in m['files']})";
    let v = tool(&internal.0, "python3", &["-c", script]);
    assert_ne!(v.code, 0);
    assert!(v.stderr.contains("matches no commitment"), "{}", v.stderr);
}

#[test]
fn erasing_a_user_keeps_every_proof_and_leaves_no_value_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 22);
    // The demo's planted breaks, acknowledged, so that a full verification is clean.
    let listed = cairn(&org, &["findings", "--format", "json"]);
    let standing: Vec<serde_json::Value> = serde_json::from_str(&listed.stdout).unwrap();
    let until = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%d").to_string();
    let mut ack = vec!["ack", "--by", "Dana Ops", "--reason", "planted by the demo", "--until", &until];
    ack.extend(standing.iter().filter(|s| s["status"] == "open").map(|s| s["id"].as_str().unwrap()));
    assert_eq!(cairn(&org, &ack).code, 0);
    let before = cairn(&org, &["verify", "--full", "--format", "json"]);
    assert_eq!(before.code, 0, "{}", before.stdout);
    let values = vault_values(&org);
    // The user with the most events, and the addresses only their events disclose.
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for v in values.iter().filter(|v| v.2 == "/actor") {
        *counts.entry(&v.3).or_default() += 1;
    }
    let (subject, events) = counts.iter().max_by_key(|(_, n)| **n).map(|(s, n)| (s.to_string(), *n)).unwrap();
    let theirs: std::collections::BTreeSet<(&str, u64)> =
        values.iter().filter(|v| v.3 == subject).map(|v| (v.0.as_str(), v.1)).collect();
    let ip_of = |mine: bool| -> std::collections::BTreeSet<&str> {
        values
            .iter()
            .filter(|v| v.2 == "/attrs/ip" && theirs.contains(&(v.0.as_str(), v.1)) == mine)
            .map(|v| v.3.as_str())
            .collect()
    };
    let only_theirs: Vec<&str> = ip_of(true).difference(&ip_of(false)).copied().collect();
    assert!(!only_theirs.is_empty());
    let mut erased: Vec<&str> = vec![subject.as_str()];
    erased.extend(&only_theirs);
    assert!(!found(&org.join("store"), &[&subject]).is_empty(), "the vault holds the subject's email before");

    let e = cairn(
        &org,
        &[
            "erase",
            "--subject",
            &subject,
            "--by",
            "Data Protection Officer",
            "--reason",
            "GDPR Art. 17 request DSR-2026-118",
        ],
    );
    assert_eq!(e.code, 0, "{}{}", e.stdout, e.stderr);
    assert!(e.stdout.contains(&format!("{} values of {events} events erased", 2 * events)), "{}", e.stdout);
    assert!(!e.stdout.contains(&subject) && !e.stderr.contains(&subject), "the value is never echoed");

    // The portal shows the erasure on its run's page: who, why, how many; never the value.
    let run_id = e.stdout.split_whitespace().nth(3).unwrap().trim_end_matches(':').to_string();
    assert_eq!(cairn(&org, &["render"]).code, 0);
    let page = std::fs::read_to_string(org.join(format!("portal/runs/{run_id}.html"))).unwrap();
    assert!(page.contains("Data Protection Officer") && page.contains("DSR-2026-118"), "{page}");
    assert!(page.contains(&format!("<tr><th>Values erased</th><td>{}", 2 * events)), "{page}");
    assert_eq!(found(&org.join("portal"), &erased), Vec::<String>::new());
    // Nowhere in the store: not the lake, not the vault, not the run manifests.
    assert_eq!(found(&org.join("store"), &erased), Vec::<String>::new());
    // Every proof still holds: a full verification finds exactly what it found before.
    let after = cairn(&org, &["verify", "--full", "--format", "json"]);
    assert_eq!(after.code, 0, "clean: {}{}", after.stdout, after.stderr);
    assert_eq!(findings(&after.stdout), findings(&before.stdout));
    // The erasure is evidence: a signed run naming who, why and which commitments.
    let manifests: Vec<serde_json::Value> = std::fs::read_dir(org.join("store/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect();
    let run = manifests.iter().find(|m| m["stage"] == "erase").expect("an erase run");
    assert_eq!(run["erasure"]["by"], "Data Protection Officer");
    assert_eq!(run["erasure"]["events"], events as u64);
    assert_eq!(run["erasure"]["digests"].as_array().unwrap().len(), 2 * events);
    let remaining = vault_values(&org);
    assert_eq!(remaining.len(), values.len() - 2 * events);
    // An internal bundle after the erasure still proves every sampled event.
    let zip = tmp.path().join("after.zip");
    let b = cairn(&org, &["bundle", "--sample", "50", "--seed", "1", "--out", zip.to_str().unwrap()]);
    assert_eq!(b.code, 0, "{}{}", b.stdout, b.stderr);
    let dir = tmp.path().join("after");
    unzip(&zip, &dir);
    let v = tool(&dir, "python3", &["verify.py", org.join("keys/cairn.pub").to_str().unwrap()]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    assert_eq!(found(&dir, &erased), Vec::<String>::new());
    // The vault is checked like the lake: a changed vault object is named by a full verification.
    let vault = org.join("store/vault");
    let vault_object =
        vault.join(common::files(&vault).into_iter().find(|p| p.extension().is_some_and(|x| x == "parquet")).unwrap());
    let mut bytes = std::fs::read(&vault_object).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&vault_object, bytes).unwrap();
    let tampered = cairn(&org, &["verify", "--full", "--format", "json"]);
    assert!(
        tampered.stdout.contains("object_digest_mismatch") && tampered.stdout.contains("vault/disclosures/"),
        "{}",
        tampered.stdout
    );
    std::fs::write(&vault_object, {
        let mut b = std::fs::read(&vault_object).unwrap();
        b[at] ^= 0x01;
        b
    })
    .unwrap();
    // Nothing left to erase for that subject: refused, and nothing committed.
    let again = cairn(&org, &["erase", "--subject", &subject, "--by", "DPO", "--reason", "again"]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("nothing was erased"), "{}", again.stderr);
}

#[test]
fn verify_py_canonicalizes_as_rfc_8785_and_hashes_chain_events_as_their_emitters() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let script = r#"
import json, sys
sys.path.insert(0, sys.argv[1])
import verify
for n in ["structures", "values", "weird"]:
    value = json.load(open(f"{sys.argv[2]}/jcs/jcs-{n}.input.json", encoding="utf-8"))
    want = open(f"{sys.argv[2]}/jcs/jcs-{n}.output.json", "rb").read().rstrip(b"\n")
    assert verify.jcs(value).encode() == want, n
count = 0
for line in open(f"{sys.argv[2]}/chain-v1/valid.jsonl", encoding="utf-8"):
    event = json.loads(line)
    assert verify.event_hash(event) == event["hash"], event
    count += 1
print(count)
"#;
    let renderer = Path::new(env!("CARGO_MANIFEST_DIR")).join("../renderer/src");
    let out = tool(&fixtures, "python3", &["-c", script, renderer.to_str().unwrap(), fixtures.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "16");
}

#[test]
fn whole_line_events_with_disclosures_are_split_and_a_forged_one_is_kept_aside() {
    use cairn_evidence::disclosure::{conceal, Disclosure};
    let tmp = tempfile::tempdir().unwrap();
    let org = common::Org::new(tmp.path());
    // The events are the whole lines (no pointer): the path JSON lines take fastest.
    let config = std::fs::read_to_string(org.dir.join("cairn.toml")).unwrap().replace("event = \"/event\"\n", "");
    std::fs::write(org.dir.join("cairn.toml"), config).unwrap();
    let mut prev = cairn_evidence::event::GENESIS_PREV.to_string();
    let mut lines = String::new();
    for i in 0..3u64 {
        let mut event = serde_json::json!({"chain": "app-main", "seq": i, "ts": format!("2026-11-20T00:00:0{i}Z"),
            "kid": "app-1", "prev": prev, "action": "read", "actor": format!("carol{i}@example.net")});
        let d = conceal(event.as_object_mut().unwrap(), "actor", &format!("c2FsdC1mb3ItZXZlbnQt{i}")).unwrap();
        let mut event = common::sign(&org.key, event);
        prev = event["hash"].as_str().unwrap().to_string();
        // Event 1's disclosure is not what it committed to: kept aside, the event kept.
        let disclosure = if i == 1 {
            Disclosure::new("c2FsdA", Some("actor"), "mallory@example.net".into()).encoded
        } else {
            d.encoded
        };
        event["_disclosures"] = serde_json::json!([disclosure]);
        let mut line = event.to_string();
        if i == 2 {
            // An escaped member name is still the member.
            line = line.replace("\"_disclosures\"", "\"\\u005fdisclosures\"");
            assert!(line.contains("u005fdisclosures"));
        }
        lines.push_str(&line);
        lines.push('\n');
    }
    org.append("events.jsonl", &lines);
    let c = cairn(&org.dir, &["collect"]);
    assert_eq!(c.code, 0, "{}{}", c.stdout, c.stderr);
    let v = cairn(&org.dir, &["verify", "--format", "json"]);
    assert_eq!(
        findings(&v.stdout),
        Vec::<(String, String, u64)>::new(),
        "every event verifies as signed: {}",
        v.stdout
    );
    assert_eq!(v.code, 0, "{}", v.stderr);
    let values = vault_values(&org.dir);
    let kept: Vec<&str> = values.iter().map(|v| v.3.as_str()).collect();
    assert_eq!(kept, ["carol0@example.net", "carol2@example.net"]);
    assert_eq!(
        found(&org.dir.join("store/lake"), &["carol0@example.net", "carol2@example.net", "mallory@example.net"]),
        Vec::<String>::new()
    );
    let aside = tool(
        &org.dir,
        "python3",
        &["-c", "import pathlib, pyarrow.parquet as pq\nfor p in pathlib.Path('store/lake/quarantine').rglob('*.parquet'):\n    for r in pq.read_table(p).to_pylist(): print(r['reason'], '|', r['raw'])"],
    );
    assert!(
        aside.stdout.contains("disclosures of app-main seq 1 refused")
            && aside.stdout.contains("not one the signed event commits to"),
        "{}",
        aside.stdout
    );
    assert!(!aside.stdout.contains("mallory"), "the refused value is not kept: {}", aside.stdout);
}

#[test]
fn keyed_pseudonyms_keep_sampled_events_joinable_without_their_values() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 23);
    // A secret that is readable by others is refused.
    let key = org.join("keys/pseudonym.key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    let config = std::fs::read_to_string(org.join("cairn.toml")).unwrap();
    std::fs::write(org.join("cairn.toml"), format!("{config}\n[privacy]\npseudonym_key = \"keys/pseudonym.key\"\n"))
        .unwrap();
    let bundle = |audience: &str| {
        let zip = tmp.path().join(format!("{audience}.zip"));
        let args = ["bundle", "--audience", audience, "--sample", "60", "--seed", "2", "--out", zip.to_str().unwrap()];
        let b = cairn(&org, &args);
        (b, zip)
    };
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let (refused, _) = bundle("external");
    assert_eq!(refused.code, 2, "{}", refused.stdout);
    assert!(refused.stderr.contains("pseudonym_key"), "{}", refused.stderr);
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();

    let mut samples = Vec::new();
    for audience in ["external", "internal"] {
        let (b, zip) = bundle(audience);
        assert_eq!(b.code, 0, "{}{}", b.stdout, b.stderr);
        let dir = tmp.path().join(audience);
        unzip(&zip, &dir);
        let v = tool(&dir, "python3", &["verify.py", org.join("keys/cairn.pub").to_str().unwrap()]);
        assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
        samples.push(dir);
    }
    let lines = |dir: &Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(dir.join("evidence/sample.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let external = lines(&samples[0]);
    assert_eq!(external, lines(&samples[1]), "the same draw, the same pseudonyms");
    // The actor of each sampled event, from the internal bundle's disclosures.
    let mut actor = std::collections::BTreeMap::new();
    for l in std::fs::read_to_string(samples[1].join("evidence/disclosures.jsonl")).unwrap().lines() {
        let d: serde_json::Value = serde_json::from_str(l).unwrap();
        if d["path"] == "/actor" {
            let text = URL_SAFE_NO_PAD.decode(d["disclosure"].as_str().unwrap()).unwrap();
            let array: Vec<serde_json::Value> = serde_json::from_slice(&text).unwrap();
            actor.insert((d["chain"].as_str().unwrap().to_string(), d["seq"].as_u64().unwrap()), array[2].clone());
        }
    }
    // Two sampled events share an actor's pseudonym exactly when they share the actor.
    let mut shared = 0;
    for a in &external {
        for b in &external {
            let key = |e: &serde_json::Value| (e["chain"].as_str().unwrap().to_string(), e["seq"].as_u64().unwrap());
            let same_actor = actor[&key(a)] == actor[&key(b)];
            assert_eq!(a["pseudonyms"]["/actor"] == b["pseudonyms"]["/actor"], same_actor);
            shared += usize::from(same_actor && key(a) != key(b));
        }
    }
    assert!(shared > 0, "180 events of 500 actors: some share one");
    assert!(external[0]["pseudonyms"]["/attrs/ip"].as_str().unwrap().starts_with("p-"));
}

/// Each control's status, from its page: `(id, status)`, sorted.
fn control_statuses(portal: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(portal.join("controls"))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let page = std::fs::read_to_string(&path).unwrap();
            let status = page.split("<span class=\"status status-").nth(1).unwrap().split('"').next().unwrap();
            (path.file_stem().unwrap().to_string_lossy().into_owned(), status.to_string())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn an_external_portal_withholds_restricted_sources_and_every_control_keeps_its_status() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 23);
    let pubkey = org.join("keys/cairn.pub");
    // The demo's documents and Threat Dragon models become restricted.
    let config = std::fs::read_to_string(org.join("cairn.toml")).unwrap();
    let config = config
        .replace("name = \"documents\"\n", "name = \"documents\"\nclassification = \"restricted\"\n")
        .replace("name = \"threat-dragon\"\n", "name = \"threat-dragon\"\nclassification = \"restricted\"\n");
    assert_eq!(config.matches("classification = \"restricted\"").count(), 2);
    std::fs::write(org.join("cairn.toml"), config).unwrap();
    // Two document titles, the owner only one of them names, and a threat only a Threat Dragon
    // model holds.
    let secrets = [
        "Quarterly access review, Q3 2026",
        "Incident response plan, version 3",
        "Head of IT operations",
        "Card numbers leak into logs",
    ];
    // Every file's bytes, and every cell of every Parquet file decompressed.
    let grep = |dir: &Path| -> Vec<String> {
        let mut args = vec!["-c", FIND_TEXT, dir.to_str().unwrap()];
        args.extend_from_slice(&secrets);
        let out = tool(dir, "python3", &args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout.lines().map(str::to_string).collect()
    };
    let mut portals = Vec::new();
    for audience in ["external", "internal"] {
        let out = tmp.path().join(format!("portal-{audience}"));
        let r = cairn(&org, &["render", "--audience", audience, "--out", out.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        portals.push(out);
    }
    let (external, internal) = (&portals[0], &portals[1]);

    // External pages name none of it, in any page, the search index or the OSCAL export ...
    assert_eq!(grep(external), Vec::<String>::new());
    let index = std::fs::read_to_string(external.join("index.html")).unwrap();
    assert!(index.contains("Rendered for an external audience"), "{index}");
    assert!(index.contains("rows of table documents (classified restricted)"), "{index}");
    assert!(index.contains("rows of table threat_models (classified restricted)"), "{index}");
    // ... while internal pages show all of it, and warn.
    let shown = grep(internal);
    for s in secrets {
        assert!(shown.iter().any(|h| h.starts_with(s)), "{s} on the internal pages: {shown:?}");
    }
    assert!(std::fs::read_to_string(internal.join("index.html")).unwrap().contains("Do not publish them"));

    // Every control has the same status for both audiences; a reason naming a withheld document
    // says so, in the evaluation as in the committed history.
    assert_eq!(control_statuses(external), control_statuses(internal));
    let access = std::fs::read_to_string(external.join("controls/ACC-02.html")).unwrap();
    assert!(access.contains("status-passing"), "{access}");
    assert!(access.matches("a document withheld from this audience").count() >= 2, "{access}");

    // Control results committed from now on name no restricted document, for any audience.
    let results = org.join("store/lake/control_results");
    let before = grep(&results);
    assert!(!before.is_empty(), "the demo's results were committed before the classification");
    let objects = common::files(&results).len();
    let v = cairn(&org, &["verify"]);
    assert!(v.code == 0 || v.code == 1, "{}{}", v.stdout, v.stderr);
    assert_eq!(common::files(&results).len(), objects + 1, "the verify run committed its results");
    assert_eq!(grep(&results), before);

    // A bundle for an external audience leaves the withheld artefacts' files out, and the
    // results committed before that name them; says so, and still verifies. Its offline portal
    // copy withholds them too.
    let zip = tmp.path().join("external.zip");
    let b = cairn(&org, &["bundle", "--out", zip.to_str().unwrap()]);
    assert_eq!(b.code, 0, "{}{}", b.stdout, b.stderr);
    let dir = tmp.path().join("external-bundle");
    unzip(&zip, &dir);
    assert_eq!(grep(&dir), Vec::<String>::new());
    let readme = std::fs::read_to_string(dir.join("README.txt")).unwrap();
    assert!(readme.contains("blobs of a source classified restricted"), "{readme}");
    assert!(readme.contains("control_results, naming documents classified restricted"), "{readme}");
    let v = tool(&dir, "python3", &["verify.py", pubkey.to_str().unwrap()]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
}

#[test]
fn events_signed_with_personal_values_in_clear_stay_out_of_an_external_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = common::Org::new(tmp.path());
    // The service signs its actor in clear: the values cannot be taken out of the signed text
    // without breaking its proof, so the objects holding them stay with the organisation.
    let config = std::fs::read_to_string(org.dir.join("cairn.toml"))
        .unwrap()
        .replace("event = \"/event\"\n", "event = \"/event\"\npersonal = [\"/actor\", \"/attrs/ip\"]\n");
    std::fs::write(org.dir.join("cairn.toml"), config).unwrap();
    let lines = org.lines(5);
    org.append("events.jsonl", &lines);
    let c = cairn(&org.dir, &["collect"]);
    assert_eq!(c.code, 0, "{}{}", c.stdout, c.stderr);
    let v = cairn(&org.dir, &["verify"]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    let pubkey = org.dir.join("keys/cairn.pub");
    let mut bundles = Vec::new();
    for audience in ["external", "internal"] {
        let zip = tmp.path().join(format!("{audience}.zip"));
        let b = cairn(&org.dir, &["bundle", "--audience", audience, "--out", zip.to_str().unwrap()]);
        assert_eq!(b.code, 0, "{}{}", b.stdout, b.stderr);
        let dir = tmp.path().join(audience);
        unzip(&zip, &dir);
        let v = tool(&dir, "python3", &["verify.py", pubkey.to_str().unwrap()]);
        assert_eq!(v.code, 0, "{audience}: {}{}", v.stdout, v.stderr);
        bundles.push(dir);
    }
    assert_eq!(found(&bundles[0], &["alice"]), Vec::<String>::new());
    let readme = std::fs::read_to_string(bundles[0].join("README.txt")).unwrap();
    assert!(readme.contains("lake objects of table events, holding personal values in clear at /actor"), "{readme}");
    assert!(!found(&bundles[1], &["alice"]).is_empty(), "the internal bundle holds the signed events");

    // A pointer that is not one is refused, naming the line.
    let config = std::fs::read_to_string(org.dir.join("cairn.toml")).unwrap().replace("\"/attrs/ip\"", "\"attrs.ip\"");
    std::fs::write(org.dir.join("cairn.toml"), config).unwrap();
    let c = cairn(&org.dir, &["collect"]);
    assert_eq!(c.code, 2, "{}", c.stderr);
    assert!(c.stderr.contains("line 9: [[source]] \"app\": personal = "), "{}", c.stderr);
}
