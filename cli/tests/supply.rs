//! Supply-chain and design evidence end to end: the real attestations, SBOMs and threat models of
//! `fixtures/` collect with their facts; DSSE signatures and Sigstore inclusion proofs are checked;
//! bad files are kept aside with their reason while the run goes on.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cairn_evidence::artefacts::{AttestationRow, LakeTable, SbomComponentRow, SbomRow, ThreatModelRow, ThreatRow};
use cairn_evidence::attest::pae;
use cairn_evidence::tables::{self, QuarantineRow};
use common::{cairn, Org};
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{json, Value};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(rel)
}

fn copy(rel: &str, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let name = Path::new(rel).file_name().unwrap();
    std::fs::copy(fixture(rel), to.join(name)).unwrap();
}

/// Every row of one table in the lake under `store`.
fn rows<T: LakeTable>(store: &Path) -> Vec<T> {
    read_all(store, T::TABLE, |b| T::from_batch(b).unwrap())
}

fn read_all<T>(store: &Path, table: &str, decode: impl Fn(&arrow_array::RecordBatch) -> Vec<T>) -> Vec<T> {
    let mut files = Vec::new();
    let root = store.join("lake").join(table);
    if root.exists() {
        for f in common::files(&root) {
            files.push(root.join(f));
        }
    }
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let bytes = bytes::Bytes::from(std::fs::read(&f).unwrap());
        for batch in tables::from_parquet(bytes).unwrap() {
            out.extend(decode(&batch.unwrap()));
        }
    }
    out
}

const CI_SEED: [u8; 32] = [33; 32];

/// A DSSE envelope with an in-toto Statement about `subject`, signed with `key`.
fn envelope(key: &SigningKey, subject: &str, digest: &str) -> (Vec<u8>, String, Value) {
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": subject, "digest": {"sha256": digest}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "https://ci.example.com/v1", "externalParameters": {}},
                      "runDetails": {"builder": {"id": "https://ci.example.com/runner"}}}
    });
    let payload = statement.to_string().into_bytes();
    let kind = "application/vnd.in-toto+json".to_string();
    let sig = key.sign(&pae(&kind, &payload));
    let env = json!({"payloadType": kind, "payload": B64.encode(&payload), "signatures": [{"keyid": "", "sig": B64.encode(sig.to_bytes())}]});
    (payload, kind, env)
}

/// An organisation with every artefact source type, fed from the real fixtures.
fn org(dir: &Path) -> Org {
    let org = Org::new(dir);
    let ci = SigningKey::from_bytes(&CI_SEED);
    let mut keyring = std::fs::read_to_string(dir.join("keys/trusted.toml")).unwrap();
    let _ = write!(
        keyring,
        "\n[[key]]\nkid = \"ci\"\npublic_key = \"{}\"\nchains = []\nattestations = [\"dsse\"]\n",
        B64.encode(ci.verifying_key().as_bytes())
    );
    // The identities the real bundles were signed by: GitHub's attestation workflow (public-good
    // instance) and a person (staging instance, whose root the configuration adds).
    let _ = write!(
        keyring,
        "\n[[keyless]]\nattestations = [\"bundles\"]\nsan = \"{GH_WORKFLOW}*\"\nissuer = \"https://token.actions.githubusercontent.com\"\n\
         \n[[keyless]]\nattestations = [\"bundles\"]\nsan = \"william@yossarian.net\"\nissuer = \"https://github.com/login/oauth\"\n\
         \n[[keyless]]\nattestations = [\"bundles\"]\nsan = \"{CONFORMANCE_WORKFLOW}\"\nissuer = \"https://token.actions.githubusercontent.com\"\n"
    );
    std::fs::write(dir.join("keys/trusted.toml"), keyring).unwrap();
    let inputs = dir.join("inputs");
    copy("attest/gh-artifact-attestation-slsa-v1.dsse-rekor.sigstore.json", &inputs.join("bundles"));
    copy("attest/sigstore-python-bundle-v03-message-signature.sigstore.json", &inputs.join("bundles"));
    // DSSE envelopes logged as `hashedrekord` (Rekor v1) and as `dsse` 0.0.2 (Rekor v2, staging).
    for case in ["dsse-with-hashedrekord-happy-path", "rekor2-dsse-happy-path"] {
        let bundle = fixture(&format!("sigstore/conformance/{case}/bundle.sigstore.json"));
        std::fs::copy(bundle, inputs.join(format!("bundles/{case}.sigstore.json"))).unwrap();
    }
    copy("sbom/cdx16-cyclonedx-npm-package-integrity.cdx.json", &inputs.join("cdx"));
    copy("sbom/spdx23-k8s-bom-hello-server.spdx.json", &inputs.join("spdx"));
    copy("sbom/spdx23-hello-source-files-checksums.spdx.json", &inputs.join("spdx"));
    copy("threatmodel/threat-dragon-v2-demo-threat-model.json", &inputs.join("dragon"));
    copy("threatmodel/pytm-report-output.md", &inputs.join("markdown"));
    std::fs::create_dir_all(inputs.join("dsse")).unwrap();
    let (_, _, good) = envelope(&ci, "app-1.0.tar.gz", &"ab".repeat(32));
    std::fs::write(inputs.join("dsse/good.intoto.jsonl"), format!("{good}\n")).unwrap();
    let mut config = std::fs::read_to_string(dir.join("cairn.toml")).unwrap();
    for (name, kind) in [
        ("bundles", "sigstore-bundle"),
        ("cdx", "cyclonedx"),
        ("spdx", "spdx"),
        ("dragon", "threat-dragon"),
        ("markdown", "markdown-threat-model"),
        ("dsse", "dsse"),
    ] {
        let _ = write!(config, "\n[[source]]\nname = \"{name}\"\ntype = \"{kind}\"\nurl = \"inputs/{name}/\"\n");
    }
    let staging = fixture("sigstore/trusted_root.staging.json");
    let config =
        config.replace("[trust]\n", &format!("[trust]\nsigstore_trusted_roots = [{:?}]\n", staging.to_str().unwrap()));
    std::fs::write(dir.join("cairn.toml"), config).unwrap();
    org
}

/// The workflow the sigstore-conformance bundles were signed by.
const CONFORMANCE_WORKFLOW: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";

/// The workflow GitHub's real attestation was signed by (its SAN, up to the ref).
const GH_WORKFLOW: &str = "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@";

fn verify_findings(dir: &Path) -> Vec<Value> {
    let out = cairn(dir, &["verify", "--format", "json"]);
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

#[test]
#[expect(clippy::many_single_char_names, reason = "one short name per table read")]
fn every_fixture_collects_with_its_facts_and_verifies_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let org = org(tmp.path());
    let out = cairn(&org.dir, &["collect"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let findings = verify_findings(&org.dir);
    assert!(findings.is_empty(), "{findings:#?}");
    let store = org.dir.join("store");
    assert!(rows::<QuarantineRowT>(&store).is_empty());

    let a: Vec<AttestationRow> = rows(&store);
    let gh = a.iter().find(|r| r.subject_name == "github_provenance_demo-0.0.0-py3-none-any.whl").unwrap();
    assert_eq!(gh.digest_value, "49a3aa6075e0f49f82843e74b5baa614ad2a588e6675612bf108a0a008c5ac25");
    assert_eq!(gh.builder_id.as_deref(), Some("https://github.com/actions/runner/github-hosted"));
    assert_eq!(gh.source_commit.as_deref(), Some("95baf27389e83e6a5c48f42e190d48d7abcea19e"));
    assert_eq!((gh.signer_kind.as_str(), gh.tlog_entries), ("keyless", 1));
    assert!(gh.signer.contains(".github/workflows/"), "{}", gh.signer);
    let py = a.iter().find(|r| r.format == "sigstore-bundle" && r.predicate_type.is_empty()).unwrap();
    assert_eq!(py.digest_value, "5e6ae9de58c1177bea615b4fcbfb2fd688e8c4b51c2e56b6a38e817833ec24a2");
    // Both conformance bundles collect as keyless attestations of their subjects, and verify.
    for (subject, digest) in [
        ("dsse-with-hashedrekord", "70ed0277251d0cf2eb5eda8b574ce012de485e39a3de1fb4b1e0717e14b02d6a"),
        ("a.txt", "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"),
    ] {
        let row = a.iter().find(|r| r.digest_value == digest).unwrap_or_else(|| panic!("{subject}: {a:#?}"));
        assert_eq!((row.subject_name.as_str(), row.signer_kind.as_str(), row.tlog_entries), (subject, "keyless", 1));
    }
    let dsse = a.iter().find(|r| r.format == "dsse").unwrap();
    assert_eq!(
        (dsse.subject_name.as_str(), dsse.builder_id.as_deref()),
        ("app-1.0.tar.gz", Some("https://ci.example.com/runner"))
    );
    assert!(dsse.blob.starts_with("blobs/sha256/") && store.join(&dsse.blob).exists());

    let s: Vec<SbomRow> = rows(&store);
    assert_eq!(s.len(), 3);
    let cdx = s.iter().find(|r| r.spec == "CycloneDX 1.6").unwrap();
    assert_eq!((cdx.subject.as_str(), cdx.components), ("demo-package-integrity", 5));
    let k8s = s.iter().find(|r| r.tool.contains("sigs.k8s.io/bom")).unwrap();
    assert_eq!(
        (k8s.subject.as_str(), k8s.components, k8s.created.as_deref()),
        ("hello-server-src", 4, Some("2022-11-03T07:10:10Z"))
    );
    let c: Vec<SbomComponentRow> = rows(&store);
    assert_eq!(c.len(), 5 + 4 + 1);
    assert!(c.iter().any(|r| r.purl.as_deref().is_some_and(|p| p.starts_with("pkg:cargo/hyper@"))), "{c:#?}");

    let m: Vec<ThreatModelRow> = rows(&store);
    let td = m.iter().find(|r| r.format == "threat-dragon-v2").unwrap();
    assert_eq!((td.title.as_str(), td.threats, td.open_threats), ("Demo Threat Model", 14, 10));
    assert!(m.iter().any(|r| r.format == "markdown" && r.threats == 0));
    let t: Vec<ThreatRow> = rows(&store);
    assert_eq!(t.iter().filter(|r| r.status == "Mitigated").count(), 4);

    // Unchanged files are not collected again.
    let again = cairn(&org.dir, &["collect"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(rows::<SbomRow>(&store).len(), 3);
}

/// `QuarantineRow` read through the same helper.
struct QuarantineRowT(QuarantineRow);

impl LakeTable for QuarantineRowT {
    const TABLE: &'static str = "quarantine";
    fn schema() -> arrow_schema::SchemaRef {
        tables::quarantine_schema()
    }
    fn to_batch(rows: &[Self]) -> Result<arrow_array::RecordBatch, tables::TableError> {
        tables::quarantine_batch(&rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>())
    }
    fn from_batch(batch: &arrow_array::RecordBatch) -> Result<Vec<Self>, tables::TableError> {
        Ok(tables::quarantine_rows(batch)?.into_iter().map(QuarantineRowT).collect())
    }
}

#[test]
fn signatures_and_inclusion_proofs_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let org = org(tmp.path());
    let ci = SigningKey::from_bytes(&CI_SEED);
    let stranger = SigningKey::from_bytes(&[44; 32]);
    let dsse = org.dir.join("inputs/dsse");
    // One payload byte changed after signing.
    let (payload, _, mut changed) = envelope(&ci, "app-1.1.tar.gz", &"cd".repeat(32));
    // The attested subject renamed: the Statement still parses, the signature no longer holds.
    let mut altered = payload.clone();
    let at = altered.windows(7).position(|w| w == b"app-1.1").unwrap() + 4;
    altered[at] = b'9';
    changed["payload"] = json!(B64.encode(&altered));
    std::fs::write(dsse.join("changed.json"), changed.to_string()).unwrap();
    // Signed by a key the keyring does not trust.
    let (_, _, foreign) = envelope(&stranger, "app-1.2.tar.gz", &"ef".repeat(32));
    std::fs::write(dsse.join("foreign.json"), foreign.to_string()).unwrap();
    // A real bundle whose audit path has one bit flipped.
    let mut bundle: Value = serde_json::from_slice(
        &std::fs::read(fixture("attest/gh-artifact-attestation-slsa-v1.dsse-rekor.sigstore.json")).unwrap(),
    )
    .unwrap();
    let hash = &mut bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][2];
    let mut bytes = B64.decode(hash.as_str().unwrap()).unwrap();
    bytes[0] ^= 0x01;
    *hash = json!(B64.encode(bytes));
    std::fs::write(org.dir.join("inputs/bundles/flipped.sigstore.json"), bundle.to_string()).unwrap();

    assert_eq!(cairn(&org.dir, &["collect"]).code, 0);
    let findings = verify_findings(&org.dir);
    let mut got: Vec<(String, String)> = findings
        .iter()
        .map(|f| (f["kind"].as_str().unwrap().to_string(), f["object_key"].as_str().unwrap().to_string()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("attestation_signature".to_string(), "inputs/dsse/changed.json".to_string()),
            ("attestation_signature".to_string(), "inputs/dsse/foreign.json".to_string()),
            ("tlog_inclusion".to_string(), "inputs/bundles/flipped.sigstore.json".to_string()),
        ],
        "{findings:#?}"
    );
    // The good envelope and the two intact bundles raised nothing: only the three above.
    let detail =
        findings.iter().find(|f| f["kind"] == "tlog_inclusion").unwrap()["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("92601054"), "{detail}");
}

#[test]
fn bad_files_are_kept_aside_with_their_reason_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let org = org(tmp.path());
    let inputs = org.dir.join("inputs");
    let bad = |dir: &str, name: &str, bytes: &[u8]| std::fs::write(inputs.join(dir).join(name), bytes).unwrap();
    // Not what the source type says.
    bad(
        "cdx",
        "threat-model.json",
        &std::fs::read(fixture("threatmodel/threat-dragon-v2-demo-threat-model.json")).unwrap(),
    );
    // A truncated envelope, invalid base64, an unknown predicate, duplicate keys.
    let ci = SigningKey::from_bytes(&CI_SEED);
    let (_, _, good) = envelope(&ci, "x", &"00".repeat(32));
    let text = good.to_string();
    bad("dsse", "truncated.json", &text.as_bytes()[..text.len() / 2]);
    bad(
        "dsse",
        "base64.json",
        br#"{"payloadType":"application/vnd.in-toto+json","payload":"not*base64","signatures":[]}"#,
    );
    let odd = json!({"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "x", "digest": {"sha256": "00"}}], "predicateType": "build-info", "predicate": {}});
    bad(
        "dsse",
        "predicate.json",
        json!({"payloadType": "application/vnd.in-toto+json", "payload": B64.encode(odd.to_string()), "signatures": []}).to_string().as_bytes(),
    );
    bad("dsse", "dupe.json", format!("{{\"payload\":\"e30=\",{}", &text[1..]).as_bytes());
    // A nesting bomb.
    let bomb = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    bad("spdx", "bomb.spdx.json", bomb.as_bytes());
    // A 50 MB SBOM: collected, not refused.
    let mut big = String::from(
        r#"{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"application","name":"big","version":"1"}},"components":["#,
    );
    let mut n = 0;
    while big.len() < 50 * 1024 * 1024 {
        if n > 0 {
            big.push(',');
        }
        let _ = write!(
            big,
            r#"{{"type":"library","bom-ref":"c{n}","name":"component-{n}","version":"1.0.{n}","purl":"pkg:cargo/component-{n}@1.0.{n}","licenses":[{{"license":{{"id":"MIT"}}}}],"hashes":[{{"alg":"SHA-256","content":"{:064x}"}}],"description":"{}"}}"#,
            n,
            "padding ".repeat(40)
        );
        n += 1;
    }
    big.push_str("]}");
    bad("cdx", "big.cdx.json", big.as_bytes());

    let out = cairn(&org.dir, &["collect"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let store = org.dir.join("store");
    let q: Vec<QuarantineRowT> = rows(&store);
    let mut got: Vec<(String, String)> =
        q.iter().map(|r| (r.0.provenance.object_key.clone(), r.0.reason.clone())).collect();
    got.sort();
    let expect = [
        ("inputs/cdx/threat-model.json", "not a CycloneDX document"),
        ("inputs/dsse/base64.json", "envelope.payload: is not valid base64"),
        ("inputs/dsse/dupe.json", "duplicate key \"payload\""),
        ("inputs/dsse/predicate.json", "unknown predicate \"build-info\""),
        ("inputs/dsse/truncated.json", "not valid JSON"),
        ("inputs/spdx/bomb.spdx.json", "recursion limit exceeded"),
    ];
    assert_eq!(got.len(), expect.len(), "{got:#?}");
    for ((key, reason), (want_key, want)) in got.iter().zip(expect) {
        assert_eq!(key, want_key);
        assert!(reason.contains(want), "{key}: {reason:?} should say {want:?}");
    }
    // Everything else collected, including the big SBOM with all its components.
    let sboms: Vec<SbomRow> = rows(&store);
    let big = sboms.iter().find(|s| s.subject == "big").unwrap();
    assert_eq!(big.components, n);
    assert_eq!(rows::<AttestationRow>(&store).iter().filter(|a| a.format == "dsse").count(), 1);
    assert!(out.stdout.contains("kept aside"), "{}", out.stdout);
}

#[test]
fn releases_are_matched_to_attestations_and_sboms_and_sbom_versions_are_diffed() {
    let tmp = tempfile::tempdir().unwrap();
    let org = org(tmp.path());
    let ci = SigningKey::from_bytes(&CI_SEED);
    let inputs = org.dir.join("inputs");
    // app 1.0: attested (good.intoto.jsonl names "ab"*32 for app-1.0.tar.gz, so the real file
    // differs: a digest mismatch), plus an unattested second file; the SBOM describes app 1.0.
    let release = inputs.join("releases/app/1.0");
    std::fs::create_dir_all(&release).unwrap();
    std::fs::write(release.join("app-1.0.tar.gz"), b"the real tarball").unwrap();
    std::fs::write(release.join("app-1.0.tar.gz.sig"), b"a detached signature").unwrap();
    // The file the real message-signature bundle signs: its digest is that bundle's subject.
    std::fs::copy(
        fixture("attest/sigstore-python-bundle-v03-message-signature.artifact.txt"),
        release.join("bundle_v3.txt"),
    )
    .unwrap();
    // app 2.0: attested by its true digest, but no SBOM.
    let release2 = inputs.join("releases/app/2.0");
    std::fs::create_dir_all(&release2).unwrap();
    std::fs::write(release2.join("app-2.0.tar.gz"), b"version two").unwrap();
    let digest = cairn_evidence::digest::sha256_hex(b"version two");
    let (_, _, env) = envelope(&ci, "app-2.0.tar.gz", &digest);
    std::fs::write(inputs.join("dsse/app-2.0.intoto.jsonl"), format!("{env}\n")).unwrap();
    let sbom = |version: &str, serde: &str| {
        json!({"bomFormat": "CycloneDX", "specVersion": "1.5",
               "metadata": {"component": {"type": "application", "name": "app", "version": version}},
               "components": [
                   {"type": "library", "name": "serde", "version": serde, "purl": format!("pkg:cargo/serde@{serde}")},
                   {"type": "library", "name": "log", "version": "0.4.22", "purl": "pkg:cargo/log@0.4.22"}]})
        .to_string()
    };
    std::fs::write(inputs.join("cdx/app.cdx.json"), sbom("1.0", "1.0.200")).unwrap();
    // The two real bundles again, as `gh attestation download` writes them: one per line.
    let lines: Vec<String> = [
        "attest/gh-artifact-attestation-slsa-v1.dsse-rekor.sigstore.json",
        "attest/sigstore-python-bundle-v03-message-signature.sigstore.json",
    ]
    .iter()
    .map(|f| serde_json::from_slice::<Value>(&std::fs::read(fixture(f)).unwrap()).unwrap().to_string())
    .collect();
    std::fs::write(inputs.join("bundles/sha256-49a3aa60.jsonl"), lines.join("\n") + "\n").unwrap();
    let mut config = std::fs::read_to_string(org.dir.join("cairn.toml")).unwrap();
    config.push_str("\n[[source]]\nname = \"releases\"\ntype = \"release\"\nurl = \"inputs/releases/\"\n");
    std::fs::write(org.dir.join("cairn.toml"), config).unwrap();

    assert_eq!(cairn(&org.dir, &["collect"]).code, 0);
    let mut got: Vec<(String, String)> = verify_findings(&org.dir)
        .iter()
        .map(|f| (f["kind"].as_str().unwrap().to_string(), f["detail"].as_str().unwrap().to_string()))
        .collect();
    got.sort();
    let kinds: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
    assert_eq!(kinds, ["missing_sbom", "subject_digest_mismatch", "unattested_artifact"], "{got:#?}");
    assert!(got[0].1.contains("app 2.0"), "{}", got[0].1);
    assert!(got[1].1.contains("app/1.0/app-1.0.tar.gz"), "{}", got[1].1);
    assert!(got[2].1.contains("app-1.0.tar.gz.sig"), "{}", got[2].1);
    let store = org.dir.join("store");
    let bundles: Vec<AttestationRow> = rows::<AttestationRow>(&store)
        .into_iter()
        .filter(|a| a.provenance.object_key == "inputs/bundles/sha256-49a3aa60.jsonl")
        .collect();
    assert_eq!(
        bundles.iter().filter(|a| a.format == "sigstore-bundle").map(|a| a.provenance.line).collect::<Vec<_>>(),
        [1, 2]
    );

    // A new SBOM version of the subject: the change is stored, nothing else is re-reported.
    std::fs::write(inputs.join("cdx/app.cdx.json"), sbom("1.0", "1.0.215")).unwrap();
    assert_eq!(cairn(&org.dir, &["collect"]).code, 0);
    assert!(verify_findings(&org.dir).is_empty());
    let diffs: Vec<cairn_evidence::artefacts::SbomDiffRow> = rows(&store);
    let got: Vec<_> = diffs
        .iter()
        .map(|d| (d.change.as_str(), d.name.as_str(), d.from_version.as_deref(), d.to_version.as_deref()))
        .collect();
    assert_eq!(got, [("changed", "serde", Some("1.0.200"), Some("1.0.215"))]);
}

/// The status of each control in the latest `control_results`, read with pyarrow.
fn control_status(store: &Path) -> std::collections::BTreeMap<String, (String, String)> {
    let script = r#"
import json, sys, pyarrow.dataset as ds
t = ds.dataset(sys.argv[1] + "/lake/control_results", format="parquet", partitioning="hive").to_table().to_pylist()
latest = max(r["run_id"] for r in t)
print(json.dumps({r["control_id"]: [r["status"], r["reasons"]] for r in t if r["run_id"] == latest}))
"#;
    let out = common::tool(store, "python3", &["-c", script, store.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: std::collections::BTreeMap<String, (String, String)> = serde_json::from_str(&out.stdout).unwrap();
    v
}

#[test]
fn an_sbom_older_than_its_freshness_window_makes_its_control_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let org = org(tmp.path());
    let inputs = org.dir.join("inputs");
    // Only a fresh SBOM first; the fixtures carry 2022 timestamps, so set them aside.
    for d in ["cdx", "spdx"] {
        std::fs::remove_dir_all(inputs.join(d)).unwrap();
        std::fs::create_dir_all(inputs.join(d)).unwrap();
    }
    let now = chrono::Utc::now();
    let sbom = |created: chrono::DateTime<chrono::Utc>| {
        json!({"bomFormat": "CycloneDX", "specVersion": "1.6",
               "metadata": {"timestamp": created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                            "component": {"type": "application", "name": "app", "version": "1.0"}},
               "components": [{"type": "library", "name": "log", "version": "0.4.22", "purl": "pkg:cargo/log@0.4.22"}]})
        .to_string()
    };
    std::fs::write(inputs.join("cdx/app.cdx.json"), sbom(now - chrono::Duration::days(2))).unwrap();
    assert_eq!(cairn(&org.dir, &["collect"]).code, 0);
    verify_findings(&org.dir);
    let status = control_status(&org.dir.join("store"));
    assert_eq!(status["SCS-03"].0, "passing", "{:?}", status["SCS-03"]);
    // The newest SBOM now 45 days old; SCS-03 allows 30.
    std::fs::write(inputs.join("cdx/app.cdx.json"), sbom(now - chrono::Duration::days(45))).unwrap();
    assert_eq!(cairn(&org.dir, &["collect"]).code, 0);
    verify_findings(&org.dir);
    let status = control_status(&org.dir.join("store"));
    // The first SBOM (2 days old) is still the newest collected: still passing.
    assert_eq!(status["SCS-03"].0, "passing", "{:?}", status["SCS-03"]);
    let fresh_lake = tempfile::tempdir().unwrap();
    let org2 = self::org(fresh_lake.path());
    for d in ["cdx", "spdx"] {
        std::fs::remove_dir_all(org2.dir.join("inputs").join(d)).unwrap();
        std::fs::create_dir_all(org2.dir.join("inputs").join(d)).unwrap();
    }
    std::fs::write(org2.dir.join("inputs/cdx/app.cdx.json"), sbom(now - chrono::Duration::days(45))).unwrap();
    assert_eq!(cairn(&org2.dir, &["collect"]).code, 0);
    verify_findings(&org2.dir);
    let status = control_status(&org2.dir.join("store"));
    assert_eq!(status["SCS-03"].0, "stale", "{:?}", status["SCS-03"]);
    assert!(status["SCS-03"].1.contains("45 days old (limit 30)"), "{:?}", status["SCS-03"]);
    // Attestations collected in the same run keep their own control passing.
    assert_eq!(status["SCS-01"].0, "passing", "{:?}", status["SCS-01"]);
}

#[test]
fn recorded_documents_evidence_manual_controls_and_bad_entries_are_kept_aside() {
    let tmp = tempfile::tempdir().unwrap();
    let org = org(tmp.path());
    let docs = org.dir.join("inputs/documents");
    std::fs::create_dir_all(&docs).unwrap();
    let today = chrono::Utc::now().date_naive();
    let day = |ago: i64| (today - chrono::Duration::days(ago)).format("%Y-%m-%d").to_string();
    std::fs::write(docs.join("ir-plan.md"), "# Incident response plan\n").unwrap();
    std::fs::write(docs.join("restore-test.md"), "# Restore test\n").unwrap();
    std::fs::write(docs.join("stray.pdf"), b"%PDF-1.7").unwrap();
    std::fs::write(
        docs.join("documents.toml"),
        format!(
            "[[document]]\nfile = \"ir-plan.md\"\ntitle = \"IR plan\"\ncontrols = [\"IR-01\"]\nowner = \"CISO\"\ndate = \"{}\"\n\n\
             [[document]]\nfile = \"restore-test.md\"\ntitle = \"Restore test\"\ncontrols = [\"RET-05\"]\nowner = \"Platform\"\ndate = \"{}\"\n\n\
             [[document]]\nfile = \"missing.md\"\ntitle = \"Gone\"\ncontrols = [\"ACC-02\"]\nowner = \"IT\"\ndate = \"{}\"\n\n\
             [[document]]\nfile = \"ir-plan.md\"\ntitle = \"Bad date\"\ncontrols = [\"IR-04\"]\nowner = \"CISO\"\ndate = \"last week\"\n",
            day(10),
            day(120),
            day(1)
        ),
    )
    .unwrap();
    let mut config = std::fs::read_to_string(org.dir.join("cairn.toml")).unwrap();
    config.push_str("\n[[source]]\nname = \"documents\"\ntype = \"documents\"\nurl = \"inputs/documents/\"\n");
    std::fs::write(org.dir.join("cairn.toml"), config).unwrap();
    let out = cairn(&org.dir, &["collect"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("documents: 4 objects (4 with new data), 4 records, 2 documents, 3 kept aside"),
        "{}",
        out.stdout
    );
    let q: Vec<QuarantineRowT> = rows(&org.dir.join("store"));
    let mut reasons: Vec<String> = q.iter().map(|r| r.0.reason.clone()).collect();
    reasons.sort();
    assert!(reasons[0].contains("line 15: missing.md is listed but not in the folder"), "{reasons:?}");
    assert!(reasons[1].contains("line 22: date \"last week\" is not a YYYY-MM-DD date"), "{reasons:?}");
    assert!(reasons[2].contains("stray.pdf is not listed"), "{reasons:?}");
    verify_findings(&org.dir);
    let status = control_status(&org.dir.join("store"));
    assert_eq!(status["IR-01"].0, "passing", "{:?}", status["IR-01"]);
    assert!(status["IR-01"].1.contains("IR plan") && status["IR-01"].1.contains("CISO"), "{:?}", status["IR-01"]);
    assert_eq!(status["RET-05"].0, "stale", "{:?}", status["RET-05"]);
    assert!(status["RET-05"].1.contains("120 days old (limit 90)"), "{:?}", status["RET-05"]);
    assert_eq!(status["ACC-02"].0, "manual", "{:?}", status["ACC-02"]);
    // Unchanged folder: nothing collected again.
    let again = cairn(&org.dir, &["collect"]);
    assert!(again.stdout.contains("documents: 4 objects (0 with new data)"), "{}", again.stdout);
}

/// A real Trivy report whose critical vulnerability is past the gate keeps `verify` red; the next
/// night's scan of a later release no longer reports it, and the gate finding is resolved. A
/// report of another format in the folder is kept aside with its reason.
#[test]
fn a_vulnerability_past_its_gate_stays_open_until_a_later_scan_no_longer_reports_it() {
    use cairn_evidence::artefacts::{ScanRow, VulnerabilityChangeRow, VulnerabilityRow};
    let tmp = tempfile::tempdir().unwrap();
    let org = Org::new(tmp.path());
    let mut config = std::fs::read_to_string(org.dir.join("cairn.toml")).unwrap();
    config.push_str("\n[[source]]\nname = \"trivy\"\ntype = \"trivy\"\nurl = \"inputs/trivy/\"\n");
    config = config.replace("[trust]", "[supply.vulnerability_gate]\ncritical = 15\nhigh = 30\n\n[trust]");
    std::fs::write(org.dir.join("cairn.toml"), config).unwrap();
    let report: Value =
        serde_json::from_slice(&std::fs::read(fixture("scan/trivy-debian-buster.json")).unwrap()).unwrap();
    let put = |release: &str, name: &str, value: &Value| {
        let dir = org.dir.join("inputs/trivy/app").join(release);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), serde_json::to_vec_pretty(value).unwrap()).unwrap();
    };
    // Night 1: the real report (scanned 2021-08-25) of release 1.0, and a Grype report in the
    // Trivy folder.
    put("1.0", "trivy.json", &report);
    let grype: Value =
        serde_json::from_slice(&std::fs::read(fixture("scan/grype-json-dirs-presenter.json")).unwrap()).unwrap();
    put("1.0", "grype.json", &grype);
    let out = cairn(&org.dir, &["collect"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("trivy: 2 objects (2 with new data), 2 records, 1 scan reports, 1 kept aside"),
        "{}",
        out.stdout
    );
    let store = org.dir.join("store");
    let kept: Vec<QuarantineRow> = read_all(&store, "quarantine", |b| tables::quarantine_rows(b).unwrap());
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].provenance.object_key, "inputs/trivy/app/1.0/grype.json");
    assert_eq!(kept[0].reason, "not a Trivy report: SchemaVersion is missing");
    let open = cairn(&org.dir, &["verify"]);
    assert_eq!(open.code, 1, "{}\n{}", open.stdout, open.stderr);
    let gate = "vulnerability_gate object=inputs/trivy/app/1.0/trivy.json: app: CVE-2019-18224 in libidn2-0 (Trivy) \
                is open since 2021-08-25, past the 15-day limit for critical vulnerabilities [open]";
    assert!(open.stdout.contains(gate), "{}", open.stdout);
    let scans: Vec<ScanRow> = rows(&store);
    assert_eq!(scans.len(), 1);
    assert_eq!((scans[0].subject.as_str(), scans[0].subject_version.as_deref()), ("app", Some("1.0")));
    let vulns: Vec<VulnerabilityRow> = rows(&store);
    assert_eq!(vulns.len(), 2);
    let changes: Vec<VulnerabilityChangeRow> = rows(&store);
    let got: Vec<(&str, &str)> = changes.iter().map(|c| (c.change.as_str(), c.vulnerability_id.as_str())).collect();
    assert_eq!(got, [("appeared", "CVE-2019-18224"), ("appeared", "CVE-2019-18276")]);
    let results = control_status(&store);
    assert_eq!(results["VUL-03"].0, "failing", "{results:?}");

    // Night 2: release 1.1, scanned a week later, no longer has it.
    let mut later = report.clone();
    later["CreatedAt"] = json!("2021-09-01T00:00:00Z");
    let list = later["Results"][0]["Vulnerabilities"].as_array_mut().unwrap();
    list.retain(|v| v["VulnerabilityID"] != "CVE-2019-18224");
    put("1.1", "trivy.json", &later);
    assert_eq!(cairn(&org.dir, &["collect"]).code, 0);
    let fixed = cairn(&org.dir, &["verify", "--format", "json"]);
    assert_eq!(fixed.code, 0, "the gate finding is resolved: {}\n{}", fixed.stdout, fixed.stderr);
    let found = common::findings(&fixed.stdout);
    assert_eq!(found.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), ["vulnerability_fixed"]);
    let changes: Vec<VulnerabilityChangeRow> = rows(&store);
    let last = changes.last().unwrap();
    assert_eq!((last.change.as_str(), last.vulnerability_id.as_str()), ("fixed", "CVE-2019-18224"));
    assert_eq!(last.subject_version.as_deref(), Some("1.1"));
    let all = cairn(&org.dir, &["findings", "--all"]);
    assert!(all.stdout.contains("[resolved: closed by run "), "{}", all.stdout);
    // No longer failing; stale, as the newest scan ran in 2021.
    let vul03 = &control_status(&store)["VUL-03"];
    assert_eq!(vul03.0, "stale", "{vul03:?}");
    assert!(vul03.1.contains("the newest of scans is"), "{vul03:?}");
}
