//! The README demo, end to end, checked with the tools auditors use: `minisign`, `sha256sum`,
//! `unzip`, and a third-party Parquet reader.

mod common;

use common::{cairn, demo, files, findings, tool, Output};

#[test]
fn demo_runs_end_to_end_and_its_bundle_verifies_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 7);
    assert!(org.join("portal/index.html").is_file());
    let index = std::fs::read_to_string(org.join("portal/index.html")).unwrap();
    assert!(index.contains("Content-Security-Policy"), "the portal carries a CSP");
    assert!(!index.contains("http://") && !index.contains("https://"), "no external references");
    let listed: Vec<_> = std::fs::read_dir(org.join("bundles")).unwrap().map(|e| e.unwrap().path()).collect();
    let zips: Vec<_> = listed.iter().filter(|p| p.extension().is_some_and(|e| e == "zip")).cloned().collect();
    assert_eq!(zips.len(), 1);
    // Beside the zip, and beside its copy on the portal, its digest for `sha256sum -c`.
    assert_eq!(listed.len(), 2, "{listed:?}");
    let digest_file = format!("{}.sha256", zips[0].file_name().unwrap().to_str().unwrap());
    for dir in ["bundles", "portal/downloads"] {
        let sums = tool(&org.join(dir), "sha256sum", &["-c", "--strict", &digest_file]);
        assert_eq!(sums.code, 0, "{dir}: {}{}", sums.stdout, sums.stderr);
    }
    let zip = zips[0].to_str().unwrap();
    // Every control page links the bundle holding its evidence; the portal serves a copy.
    let name = zips[0].file_name().unwrap().to_str().unwrap();
    for control in ["LOG-01", "LOG-02", "LOG-03", "LOG-04"] {
        let page = std::fs::read_to_string(org.join(format!("portal/controls/{control}.html"))).unwrap();
        assert!(page.contains(&format!("href=\"../downloads/{name}\"")), "{control} does not link {name}");
    }
    assert_eq!(std::fs::read(org.join("portal/downloads").join(name)).unwrap(), std::fs::read(&zips[0]).unwrap());
    // Every lake object page shows its inclusion proof against the signed checkpoint.
    let object = std::fs::read_to_string(org.join("portal/objects/0.html")).unwrap();
    assert!(object.contains("Inclusion proof") && object.contains("\u{2014} cairn"), "{object}");
    let pubkey = org.join("keys/cairn.pub");
    let pubkey = pubkey.to_str().unwrap();

    let check = cairn(tmp.path(), &["check-bundle", zip, "--pubkey", pubkey]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    assert!(check.stdout.starts_with("OK "), "{}", check.stdout);

    let unzipped = tmp.path().join("x");
    std::fs::create_dir(&unzipped).unwrap();
    assert_eq!(tool(&unzipped, "unzip", &["-q", zip]).code, 0);
    let sig = tool(&unzipped, "minisign", &["-Vm", "manifest.json", "-p", pubkey]);
    assert_eq!(sig.code, 0, "minisign: {}{}", sig.stdout, sig.stderr);
    let sums = tool(&unzipped, "sha256sum", &["-c", "SHA256SUMS"]);
    assert_eq!(sums.code, 0, "sha256sum: {}{}", sums.stdout, sums.stderr);
    assert!(sums.stdout.contains("evidence/verification-report.json: OK"));
    // The lake's own run manifests, carried in the bundle, verify with minisign too.
    for m in
        files(&unzipped).iter().filter(|p| p.starts_with("store/runs") && p.extension().is_some_and(|e| e == "json"))
    {
        let m = m.to_str().unwrap();
        let sig = format!("{m}.minisig");
        let run_sig = tool(&unzipped, "minisign", &["-Vm", m, "-x", &sig, "-p", pubkey]);
        assert_eq!(run_sig.code, 0, "{}{}", run_sig.stdout, run_sig.stderr);
    }

    // A file changed inside the zip is caught by every checker.
    std::fs::write(unzipped.join("evidence/findings.csv"), "kind\n").unwrap();
    let v = tool(&unzipped, "python3", &["verify.py", pubkey]);
    assert_ne!(v.code, 0, "verify.py accepted a changed file");
    assert_ne!(tool(&unzipped, "sha256sum", &["-c", "--quiet", "SHA256SUMS"]).code, 0);

    // Exactly the planted faults, and nothing else.
    let v = cairn(&org, &["verify", "--full", "--format", "json"]);
    assert_eq!(v.code, 1, "a gap is a finding: {}", v.stderr);
    let got = findings(&v.stdout);
    let kinds: Vec<&str> = got.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "disallowed_license",
            "disallowed_license",
            "duplicate",
            "gap",
            "test_quarantine_overdue",
            "time_backwards",
            "unapproved_component",
            "unapproved_component",
            "unmitigated_threat",
            "vulnerability_fixed",
            "vulnerability_gate"
        ],
        "{got:?}"
    );
    let demo_out = std::fs::read_to_string(org.join("cairn.toml")).unwrap();
    assert!(demo_out.contains("[[source]]"));
}

#[test]
fn same_seed_same_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let oa = demo(a.path(), 3);
    let ob = demo(b.path(), 3);
    let fa = files(&oa);
    assert_eq!(fa, files(&ob));
    assert!(fa.iter().any(|p| p.starts_with("store/lake/events")));
    for f in &fa {
        let (x, y) = (std::fs::read(oa.join(f)).unwrap(), std::fs::read(ob.join(f)).unwrap());
        if f.to_string_lossy().contains("portal")
            || f.to_string_lossy().contains("bundles")
            || f.starts_with("store")
            || f.starts_with("inputs")
        {
            assert!(x == y, "{} differs between two demos with the same seed", f.display());
        }
    }
    let c = tempfile::tempdir().unwrap();
    let oc = demo(c.path(), 4);
    assert_ne!(
        std::fs::read(oa.join("inputs/payments/export-2026-11-20.json")).unwrap(),
        std::fs::read(oc.join("inputs/payments/export-2026-11-20.json")).unwrap()
    );
}

#[test]
fn the_lake_reads_in_pyarrow_with_the_documented_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 5);
    let script = r#"
import json, sys, pyarrow.dataset as ds
events = ds.dataset(sys.argv[1] + "/lake/events", format="parquet", partitioning="hive")
t = events.to_table()
print(t.num_rows)
print(",".join(t.schema.names))
print(t.column("date")[0])
findings = ds.dataset(sys.argv[1] + "/lake/findings", format="parquet", partitioning="hive").to_table()
print(",".join(sorted(set(findings.column("kind").to_pylist()))))
results = {r["control_id"]: r for r in ds.dataset(sys.argv[1] + "/lake/control_results", format="parquet", partitioning="hive").to_table().to_pylist()}
print(results["LOG-01"]["status"], results["LOG-02"]["status"], ",".join(sorted(set(f["kind"] for f in json.loads(results["LOG-02"]["failing_findings"])))), len(json.loads(results["LOG-02"]["evidence"])))
def table(name):
    return ds.dataset(sys.argv[1] + "/lake/" + name, format="parquet", partitioning="hive").to_table()
a = table("attestations")
print(a.num_rows, sorted(set(a.column("builder_id").to_pylist())), sorted(set(a.column("predicate_type").to_pylist())))
s = table("sboms")
print(s.num_rows, sorted(s.column("spec").to_pylist()))
c = table("sbom_components").to_pylist()
print(len(c), sorted(r["purl"] for r in c if "left-pad" in r["name"]))
m = table("threat_models").to_pylist()
print(sorted((r["format"], r["threats"], r["open_threats"]) for r in m))
print(table("artefacts").num_rows, table("threats").num_rows)
print(results["SCS-01"]["status"], results["SCS-04"]["status"], results["SCS-03"]["status"], results["SDL-02"]["status"])
sc = table("scans").to_pylist()
print(sorted((r["format"], r["subject"], r["subject_version"], r["vulnerabilities"]) for r in sc))
v = table("vulnerabilities").to_pylist()
print(len(v), sorted((r["vulnerability_id"], r["severity"], r["fix_state"]) for r in v if r["severity"] in ("critical", "high")))
ch = table("vulnerability_changes").to_pylist()
print(len(ch), sorted((r["change"], r["vulnerability_id"]) for r in ch if r["change"] == "fixed"))
print(results["VUL-01"]["status"], results["VUL-03"]["status"], ",".join(f["kind"] for f in json.loads(results["VUL-03"]["failing_findings"])))
tr = table("test_runs").to_pylist()
print(sorted((r["subject"], r["subject_version"], r["file"], r["tests"], r["failed"], r["quarantined"], r["flaky"], r["tags"]) for r in tr))
tc = table("test_cases").to_pylist()
print(len(tc), sorted(set(r["status"] for r in tc)), results["CHG-07"]["status"], ",".join(f["kind"] for f in json.loads(results["CHG-07"]["failing_findings"])))
# Every table ends with the provenance envelope, and everything the demo holds is simulated.
import os
envelope = ["origin", "actor", "timestamp", "confidence", "simulated"]
for name in sorted(os.listdir(sys.argv[1] + "/lake")):
    t = table(name)
    names = [n for n in t.schema.names if n != "date"]
    origin = t.schema.field("origin").type
    print(name, names[-5:] == envelope, [origin.field(i).name for i in range(origin.num_fields)] == ["source", "object_key", "line", "byte_offset"], set(t.column("simulated").to_pylist()), sorted(set(t.column("confidence").to_pylist())), sorted(set(a.split("/")[0] for a in t.column("actor").to_pylist())))
"#;
    let out = tool(tmp.path(), "python3", &["-c", script, org.join("store").to_str().unwrap()]);
    assert_eq!(out.code, 0, "pyarrow must be installed (the README's test command installs it): {}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    // Every event each SIEM delivered: Splunk's final-round rows, Datadog's archived logs,
    // Sentinel's exported records.
    let mut inputs = 0;
    for service in ["payments", "identity", "storage"] {
        for f in files(&org.join("inputs").join(service)) {
            let bytes = std::fs::read(org.join("inputs").join(service).join(&f)).unwrap();
            let text = if f.extension().is_some_and(|e| e == "gz") {
                let mut out = String::new();
                std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out).unwrap();
                out
            } else {
                String::from_utf8(bytes).unwrap()
            };
            inputs += text
                .lines()
                .filter(|l| {
                    !l.contains("\"preview\":true")
                        && (l.contains("\"_raw\"") || !l.contains("preview") && !l.contains("messages"))
                })
                .count();
        }
    }
    assert_eq!(lines[0].parse::<usize>().unwrap(), inputs);
    assert_eq!(
        lines[1],
        "chain,seq,ts,kid,event_json,siem_time,siem_meta,record_sha256,run_id,origin,actor,timestamp,confidence,simulated,date"
    );
    assert_eq!(lines[2], "2026-11-21");
    assert_eq!(
        lines[3],
        "disallowed_license,duplicate,gap,test_quarantine_overdue,time_backwards,unapproved_component,unmitigated_threat,vulnerability_fixed,vulnerability_gate"
    );
    // Each verify run records every control's evaluation, its evidence and what failed it.
    assert_eq!(lines[4], "passing failing gap,time_backwards 1");
    // The releases: one signed provenance per service, a CycloneDX and an SPDX SBOM each, threat models.
    assert_eq!(lines[5], "3 ['https://ci.example.com/runners/hosted'] ['https://slsa.dev/provenance/v1']");
    assert_eq!(lines[6], "6 ['CycloneDX 1.6', 'CycloneDX 1.6', 'CycloneDX 1.6', 'SPDX-2.3', 'SPDX-2.3', 'SPDX-2.3']");
    assert_eq!(lines[7], "51 ['pkg:npm/left-pad@1.3.0', 'pkg:npm/left-pad@1.3.0']");
    assert_eq!(lines[8], "[('markdown', 3, 1), ('markdown', 3, 1), ('threat-dragon-v2', 4, 1)]");
    assert_eq!(lines[9], "3 10");
    assert_eq!(lines[10], "passing failing passing failing");
    // The scans: every release by Trivy, identity by Grype, storage's lock file by OSV-Scanner,
    // payments' code by a SARIF analyser, and payments 1.3.0's earlier Trivy scan.
    assert_eq!(
        lines[11],
        "[('grype', 'identity', '1.4.0', 2), ('osv-scanner', 'storage', '1.4.0', 1), ('sarif', 'payments', '1.4.0', 1), \
         ('trivy', 'identity', '1.4.0', 1), ('trivy', 'payments', '1.3.0', 3), ('trivy', 'payments', '1.4.0', 2), \
         ('trivy', 'storage', '1.4.0', 2)]"
    );
    assert_eq!(
        lines[12],
        "12 [('DEMO-2026-0001', 'critical', 'fixed'), ('DEMO-2026-0001', 'critical', 'fixed'), ('DEMO-2026-0002', 'high', 'fixed')]"
    );
    assert_eq!(lines[13], "11 [('fixed', 'DEMO-2026-0002')]");
    assert_eq!(lines[14], "passing failing vulnerability_gate");
    // The test reports: every release's unit tests, payments' chaos suite (tagged by the source's
    // pattern), and identity 1.3.0's earlier run, where the quarantine began.
    assert_eq!(
        lines[15],
        "[('identity', '1.3.0', 'unit.xml', 3, 0, 1, 0, ''), ('identity', '1.4.0', 'unit.xml', 3, 0, 1, 0, ''), \
         ('payments', '1.4.0', 'chaos.xml', 2, 0, 0, 0, 'chaos'), ('payments', '1.4.0', 'unit.xml', 4, 0, 0, 1, ''), \
         ('storage', '1.4.0', 'unit.xml', 2, 0, 0, 0, '')]"
    );
    assert_eq!(lines[16], "14 ['passed', 'quarantined'] failing test_quarantine_overdue");
    let tables: Vec<&str> = lines[17..].to_vec();
    assert_eq!(tables.len(), 17, "{}", out.stdout);
    for line in tables {
        let name = line.split(' ').next().unwrap();
        let (confidence, actor) = match name {
            "findings" => ("['verified']", "['cairn-verifier']"),
            "control_results" => ("['verified']", "['cairn-controls']"),
            _ => ("['unverified']", "['cairn-collector']"),
        };
        assert_eq!(line, format!("{name} True True {{True}} {confidence} {actor}"));
    }
}

/// Every relative link on every page of the demo portal resolves to a file in the portal.
#[test]
fn every_portal_link_resolves_and_framework_pages_cross_walk() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 9);
    let portal = org.join("portal");
    let pages: Vec<_> = files(&portal).into_iter().filter(|p| p.extension().is_some_and(|e| e == "html")).collect();
    assert!(pages.len() > 70, "{} pages", pages.len());
    for page in &pages {
        let html = std::fs::read_to_string(portal.join(page)).unwrap();
        for link in html.split("href=\"").skip(1).filter_map(|rest| rest.split('"').next()) {
            assert!(!link.contains("://") && !link.starts_with('/'), "{}: non-relative link {link}", page.display());
            let link = link.replace("&#x2F;", "/");
            let target = link.split('#').next().unwrap();
            if target.is_empty() {
                continue;
            }
            let resolved = portal.join(page.parent().unwrap()).join(target);
            assert!(resolved.is_file(), "{}: broken link {link}", page.display());
        }
    }
    // The same map for machines and for people who read Markdown.
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(portal.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["frameworks"].as_array().unwrap().len(), 4);
    let soc2_index = index["frameworks"].as_array().unwrap().iter().find(|f| f["key"] == "soc2").unwrap();
    assert_eq!(soc2_index["requirements"].as_array().unwrap().len(), 61);
    assert!(index["controls"].as_array().unwrap().len() >= 40);
    for c in index["controls"].as_array().unwrap() {
        assert!(portal.join(c["page"].as_str().unwrap()).is_file());
    }
    let markdown = std::fs::read_to_string(portal.join("COMPLIANCE_EVIDENCE_INDEX.md")).unwrap();
    assert!(markdown.contains("| [LOG-02](controls/LOG-02.html)") && markdown.contains("failing"), "{markdown}");
    let soc2 = std::fs::read_to_string(portal.join("frameworks/soc2.html")).unwrap();
    assert_eq!(soc2.matches("<tr id=\"req-").count(), 61, "every SOC 2 criterion is listed");
    // CC7.2 fails through the log controls, and crosses to ISO A.8.15 through them.
    let row = soc2
        .split("<tr id=\"req-cc7-2\" class=\"req row-failing\"><td class=\"mono\">CC7.2</td>")
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(row.contains("status-failing") && row.contains("A.8.15"), "{row}");
}

/// The demo leaves breaks open (the planted gap among them): `verify` stays red on them, not
/// only on new ones, until each is acknowledged; the metrics and the portal say so.
#[test]
fn open_findings_keep_verify_red_until_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 3);
    let v = cairn(&org, &["verify"]);
    assert_eq!(v.code, 1, "{}{}", v.stdout, v.stderr);
    assert!(v.stdout.contains("no new findings"), "{}", v.stdout);
    let gap_line = v.stdout.lines().find(|l| l.contains(" gap chain=payments-eu-1 seq=")).unwrap_or_default();
    assert!(gap_line.ends_with("[open]"), "the open gap is named: {}", v.stdout);
    let gap_id = gap_line.split_whitespace().next().unwrap().to_string();

    let listed = cairn(&org, &["findings", "--format", "json"]);
    assert_eq!(listed.code, 1, "{}", listed.stderr);
    let standing: Vec<serde_json::Value> = serde_json::from_str(&listed.stdout).unwrap();
    let open: Vec<String> =
        standing.iter().filter(|s| s["status"] == "open").map(|s| s["id"].as_str().unwrap().to_string()).collect();
    assert!(open.contains(&gap_id), "{open:?}");
    let kinds: Vec<&str> = standing.iter().map(|s| s["finding"]["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"time_backwards") && !kinds.contains(&"duplicate"), "{kinds:?}");

    std::fs::create_dir_all(org.join("metrics")).unwrap();
    let metrics = |org: &std::path::Path| {
        let out = cairn(org, &["--metrics-file", "metrics/cairn.prom", "run", "nightly"]);
        let text = std::fs::read_to_string(org.join("metrics/cairn.prom")).unwrap();
        (out.code, text)
    };
    let (code, text) = metrics(&org);
    assert_eq!(code, 1, "a run with open findings exits 1");
    assert!(text.contains(&format!("cairn_open_findings{{job=\"nightly\"}} {}\n", open.len())), "{text}");
    assert!(text.contains("cairn_acknowledged_findings{job=\"nightly\"} 0\n"), "{text}");

    // Refused: an unknown id, no reason, a date past or too far ahead.
    let until = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%d").to_string();
    for (args, why) in [
        (vec!["ack", "0000000000000000", "--by", "Dana", "--reason", "x", "--until", &until], "no recorded break"),
        (vec!["ack", &gap_id, "--by", "Dana", "--reason", " ", "--until", &until], "--reason"),
        (vec!["ack", &gap_id, "--by", "Dana", "--reason", "x", "--until", "2020-01-01"], "not in the future"),
        (vec!["ack", &gap_id, "--by", "Dana", "--reason", "x", "--until", "2999-01-01"], "366 days"),
    ] {
        let out = cairn(&org, &args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stdout);
        assert!(out.stderr.contains(why), "{args:?}: {}", out.stderr);
    }
    let reason = "Forwarder outage <script>alert(1)</script> INC-4411";
    let mut args = vec!["ack", "--by", "Dana Ops", "--reason", reason, "--until", &until];
    args.extend(open.iter().map(String::as_str));
    let acked = cairn(&org, &args);
    assert_eq!(acked.code, 0, "{}{}", acked.stdout, acked.stderr);
    assert!(acked.stdout.contains("committed acknowledge run"), "{}", acked.stdout);

    let v = cairn(&org, &["verify"]);
    assert_eq!(v.code, 0, "acknowledged findings no longer fail verify: {}", v.stdout);
    assert!(v.stdout.contains(&format!("no open findings ({} acknowledged)", open.len())), "{}", v.stdout);
    assert_eq!(cairn(&org, &["findings"]).code, 0);
    let (code, text) = metrics(&org);
    assert_eq!(code, 0);
    assert!(text.contains("cairn_open_findings{job=\"nightly\"} 0\n"), "{text}");
    assert!(text.contains(&format!("cairn_acknowledged_findings{{job=\"nightly\"}} {}\n", open.len())), "{text}");

    // The dashboard shows who acknowledged what, why and until when, escaped.
    let index = std::fs::read_to_string(org.join("portal/index.html")).unwrap();
    let section = &index[index.find("id=\"open-findings\"").unwrap()..];
    let row = section.split("<tr>").find(|r| r.contains(&gap_id)).unwrap();
    assert!(row.contains("acknowledged") && row.contains("Dana Ops") && row.contains(&until), "{row}");
    assert!(row.contains("&lt;script&gt;") && !index.contains("<script>alert"), "{row}");
}

/// Every error of `doc` against one of NIST's OSCAL 1.1.2 JSON schemas in `fixtures/oscal/`.
fn oscal_schema_errors(schema_file: &str, doc: &serde_json::Value) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/oscal").join(schema_file);
    let schema: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{schema_file} does not compile: {e}"));
    validator.iter_errors(doc).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

const OSCAL_DOCUMENTS: [(&str, &str); 3] = [
    ("assessment-results.json", "oscal_assessment-results_schema.json"),
    ("assessment-plan.json", "oscal_assessment-plan_schema.json"),
    ("component-definition.json", "oscal_component_schema.json"),
];

#[test]
fn oscal_export_validates_loads_in_trestle_and_says_which_controls_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 11);
    // A second night's verification: a second result.
    assert_eq!(cairn(&org, &["verify"]).code, 1);
    let out = tmp.path().join("oscal");
    let export = cairn(&org, &["export", "oscal", "--out", out.to_str().unwrap()]);
    assert_eq!(export.code, 0, "{}{}", export.stdout, export.stderr);
    assert_eq!(export.stdout.lines().count(), 3, "{}", export.stdout);
    for (doc, schema) in OSCAL_DOCUMENTS {
        let errors = oscal_schema_errors(schema, &read_json(&out.join(doc)));
        assert!(errors.is_empty(), "{doc} against NIST's {schema}:\n{}", errors.join("\n"));
    }
    // The schemas do reject what OSCAL forbids: a finding's status outside its two states.
    let mut broken = read_json(&out.join("assessment-results.json"));
    broken["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] = "passing".into();
    assert!(!oscal_schema_errors("oscal_assessment-results_schema.json", &broken).is_empty());

    let results = read_json(&out.join("assessment-results.json"));
    let results = results["assessment-results"]["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 2, "one result per verify run");
    let state = |id: &str| {
        let latest = results.last().unwrap();
        let f = latest["findings"].as_array().unwrap().iter().find(|f| f["target"]["target-id"] == id).unwrap();
        f["target"]["status"]["state"].as_str().unwrap().to_string()
    };
    // LOG-02 fails on the planted gap; LOG-01 passes; a control with no document is not satisfied.
    assert_eq!(state("LOG-02"), "not-satisfied");
    assert_eq!(state("LOG-01"), "satisfied");
    assert_eq!(state("ACC-01"), "not-satisfied");
    // Every evidence link resolves to a lake object with the digest it states.
    let doc = read_json(&out.join("assessment-results.json"));
    let resources = doc["assessment-results"]["back-matter"]["resources"].as_array().unwrap();
    assert!(!resources.is_empty());
    for r in resources {
        let link = &r["rlinks"][0];
        let bytes = std::fs::read(org.join("store").join(link["href"].as_str().unwrap())).unwrap();
        assert_eq!(cairn_evidence::digest::sha256_hex(&bytes), link["hashes"][0]["value"].as_str().unwrap());
    }
    // Same lake, same bytes.
    let again = tmp.path().join("again");
    assert_eq!(cairn(&org, &["export", "oscal", "--out", again.to_str().unwrap()]).code, 0);
    for (doc, _) in OSCAL_DOCUMENTS {
        assert_eq!(std::fs::read(out.join(doc)).unwrap(), std::fs::read(again.join(doc)).unwrap(), "{doc}");
    }

    // The portal carries the documents and links them; they validate too.
    let downloads = std::fs::read_to_string(org.join("portal/downloads.html")).unwrap();
    assert!(downloads.contains("href=\"oscal/assessment-results.json\""), "{downloads}");
    for (doc, schema) in OSCAL_DOCUMENTS {
        let errors = oscal_schema_errors(schema, &read_json(&org.join("portal/oscal").join(doc)));
        assert!(errors.is_empty(), "portal {doc}:\n{}", errors.join("\n"));
    }

    // The demo's bundle holds them (bundle --oscal), linking its own entries.
    let zip = std::fs::read_dir(org.join("bundles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "zip"))
        .unwrap();
    let unzipped = tmp.path().join("x");
    std::fs::create_dir(&unzipped).unwrap();
    assert_eq!(tool(&unzipped, "unzip", &["-q", zip.to_str().unwrap()]).code, 0);
    let sums = std::fs::read_to_string(unzipped.join("SHA256SUMS")).unwrap();
    let bundled = read_json(&unzipped.join("oscal/assessment-results.json"));
    assert!(sums.contains("  oscal/assessment-results.json"), "the bundle's checksums cover it");
    assert!(oscal_schema_errors("oscal_assessment-results_schema.json", &bundled).is_empty());
    let mut linked = 0;
    for r in bundled["assessment-results"]["back-matter"]["resources"].as_array().unwrap() {
        let Some(href) = r["rlinks"][0]["href"].as_str() else { continue };
        let entry = href.strip_prefix("../").unwrap();
        let bytes = std::fs::read(unzipped.join(entry)).unwrap_or_else(|e| panic!("{entry}: {e}"));
        assert_eq!(cairn_evidence::digest::sha256_hex(&bytes), r["rlinks"][0]["hashes"][0]["value"].as_str().unwrap());
        linked += 1;
    }
    assert!(linked > 0);

    // An auditor's OSCAL tool loads all three (compliance-trestle, installed by scripts/test).
    let python = std::env::var("CAIRN_TEST_TRESTLE_PYTHON").expect(
        "CAIRN_TEST_TRESTLE_PYTHON names a Python with compliance-trestle: run the test command from the README",
    );
    let script = r#"
import pathlib, sys
from trestle.oscal.assessment_results import AssessmentResults
from trestle.oscal.assessment_plan import AssessmentPlan
from trestle.oscal.component import ComponentDefinition
d = pathlib.Path(sys.argv[1])
ar = AssessmentResults.oscal_read(d / "assessment-results.json")
AssessmentPlan.oscal_read(d / "assessment-plan.json")
cd = ComponentDefinition.oscal_read(d / "component-definition.json")
latest = ar.results[-1]
failing = sorted(f.target.target_id for f in latest.findings if f.target.status.state.value == "not-satisfied")
print(len(ar.results), len(cd.components[0].control_implementations), " ".join(failing))
"#;
    let loaded = tool(tmp.path(), &python, &["-c", script, out.to_str().unwrap()]);
    assert_eq!(loaded.code, 0, "trestle: {}{}", loaded.stdout, loaded.stderr);
    let line = loaded.stdout.trim();
    assert!(line.starts_with("2 5 "), "two results; the catalog and four frameworks: {line}");
    assert!(line.split(' ').any(|id| id == "LOG-02") && !line.split(' ').any(|id| id == "LOG-01"), "{line}");
}

#[test]
fn oscal_export_of_a_lake_without_a_verify_run_is_valid_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    common::Org::new(tmp.path());
    let out = tmp.path().join("oscal");
    let export = cairn(tmp.path(), &["export", "oscal", "--out", out.to_str().unwrap()]);
    assert_eq!(export.code, 0, "{}{}", export.stdout, export.stderr);
    for (doc, schema) in OSCAL_DOCUMENTS {
        let errors = oscal_schema_errors(schema, &read_json(&out.join(doc)));
        assert!(errors.is_empty(), "{doc}:\n{}", errors.join("\n"));
    }
    let results = read_json(&out.join("assessment-results.json"));
    let results = results["assessment-results"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["title"], "No verify run yet");
    assert!(results[0].get("findings").is_none(), "no finding is claimed before any evaluation");
}

/// Runs, in DuckDB, the views of the pack's `population/NAME/duckdb.sql` and then `sql_file`; prints
/// each row as JSON with sorted keys (RFC 8785 for text and integers).
const DUCKDB_RERUN: &str = r#"
import duckdb, json, sys
con = duckdb.connect()
text = open(sys.argv[1] + "/duckdb.sql").read()
statements = [s for s in text.split(";\n") if s.strip() and not all(l.startswith("--") or not l.strip() for l in s.splitlines())]
for s in statements[:-1]:
    con.execute(s)
query = statements[-1] if sys.argv[2] == "-" else open(sys.argv[2]).read()
cur = con.execute(query)
names = [d[0] for d in cur.description]
for row in cur.fetchall():
    print(json.dumps(dict(zip(names, row)), sort_keys=True, separators=(",", ":"), ensure_ascii=False))
"#;

fn duckdb_lines(dir: &std::path::Path, population: &str, sql_file: &str) -> String {
    let out = tool(dir, "python3", &["-c", DUCKDB_RERUN, &format!("population/{population}"), sql_file]);
    assert_eq!(out.code, 0, "duckdb: {}{}", out.stdout, out.stderr);
    out.stdout
}

/// Each line's SHA-256, one per line.
fn digest_lines(text: &str) -> String {
    text.lines().fold(String::new(), |mut out, l| {
        out.push_str(&cairn_evidence::digest::sha256_hex(l.as_bytes()));
        out.push('\n');
        out
    })
}

fn unpack(zip: &str, into: &std::path::Path, pubkey: &str) -> Output {
    std::fs::create_dir(into).unwrap();
    assert_eq!(tool(into, "unzip", &["-q", zip]).code, 0);
    assert_eq!(tool(into, "minisign", &["-Vm", "manifest.json", "-p", pubkey]).code, 0);
    assert_eq!(tool(into, "sha256sum", &["-c", "--strict", "--quiet", "SHA256SUMS"]).code, 0);
    let v = tool(into, "python3", &["verify.py", pubkey]);
    assert_eq!(v.code, 0, "verify.py: {}{}", v.stdout, v.stderr);
    v
}

#[test]
fn a_population_pack_checks_offline_reruns_in_duckdb_and_shows_the_planted_gap() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 13);
    let list = cairn(&org, &["population", "--list"]);
    assert!(list.stdout.contains("privileged-access-events (version 1)"), "{}", list.stdout);
    let zip = tmp.path().join("pack.zip");
    let zip = zip.to_str().unwrap();
    let args = ["population", "privileged-access-events", "--since", "2026-11-20", "--out", zip];
    let run = cairn(&org, &[&args[..], &["--sample", "12", "--seed", "auditor 2027-01-15"]].concat());
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("incomplete: a seq is missing in the period on payments-eu-1"), "{}", run.stdout);
    assert!(run.stdout.contains("sample: 12 rows drawn"), "{}", run.stdout);
    let pubkey = org.join("keys/cairn.pub");
    let pubkey = pubkey.to_str().unwrap();
    let check = cairn(tmp.path(), &["check-bundle", zip, "--pubkey", pubkey]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);

    let x = tmp.path().join("x");
    let verified = unpack(zip, &x, pubkey);
    for line in ["rows, each matching its digest", "a seq is missing on payments-eu-1", "sample of 12 rows redrawn"] {
        assert!(verified.stdout.contains(line), "verify.py does not say {line:?}:\n{}", verified.stdout);
    }
    let readme = std::fs::read_to_string(x.join("README.txt")).unwrap();
    for line in ["Accuracy: each item is what the source says", "Completeness: nothing left out", "sample.json"] {
        assert!(readme.contains(line), "README.txt does not say {line:?}");
    }

    let p = x.join("population/privileged-access-events");
    let summary = read_json(&p.join("population.json"));
    let rows = std::fs::read_to_string(p.join("rows.jsonl")).unwrap();
    let digests = std::fs::read_to_string(p.join("digests.txt")).unwrap();
    assert_eq!(summary["row_count"].as_u64().unwrap() as usize, rows.lines().count());
    assert!(rows.lines().count() > 100, "the demo grants permissions every few minutes");
    assert!(rows.lines().all(|r| r.starts_with(r#"{"chain":"#) && r.contains(r#","record_sha256":""#)));
    assert_eq!(summary["rows_sha256"].as_str().unwrap(), cairn_evidence::digest::sha256_hex(digests.as_bytes()));
    let sql = std::fs::read(p.join("query.sql")).unwrap();
    assert_eq!(summary["query"]["sha256"].as_str().unwrap(), cairn_evidence::digest::sha256_hex(&sql));
    assert!(String::from_utf8(sql).unwrap().contains("ts >= '2026-11-20' AND ts < '9999-12-31'"));
    // Each row names the lake object it was read from, one the pack carries.
    let read: Vec<&str> =
        summary["objects_read"].as_array().unwrap().iter().map(|o| o["key"].as_str().unwrap()).collect();
    for row in rows.lines() {
        let row: serde_json::Value = serde_json::from_str(row).unwrap();
        let object = row["lake_object"].as_str().unwrap();
        assert!(read.contains(&object) && x.join("store").join(object).is_file(), "{row}");
    }
    let totals: u64 =
        summary["control_totals"]["rows_by_chain"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(totals as usize, rows.lines().count(), "the totals reconcile to the row count");
    // The planted gap: one payments event never arrived.
    let ranges = summary["completeness"].as_array().unwrap();
    let payments = ranges.iter().find(|r| r["chain"] == "payments-eu-1").unwrap();
    assert_eq!(payments["complete"], false);
    assert_eq!(payments["missing_total"], 1);
    assert!(ranges.iter().filter(|r| r["chain"] != "payments-eu-1").all(|r| r["complete"] == true), "{ranges:?}");
    assert_eq!(summary["complete"], false);

    // DuckDB, with the shipped SQL over the carried objects: the same rows, digests and sequence.
    let duck = duckdb_lines(&x, "privileged-access-events", "-");
    assert_eq!(digest_lines(&duck), digests, "DuckDB's rows differ from the pack's");
    let sequence = std::fs::read_to_string(p.join("sequence.jsonl")).unwrap();
    let recount = duckdb_lines(&x, "privileged-access-events", "population/privileged-access-events/completeness.sql");
    assert_eq!(recount, sequence, "DuckDB counts other sequence numbers");

    // The sample: rows of the population, with proofs; a forged sampled row fails.
    let sample = read_json(&p.join("sample.json"));
    assert_eq!(sample["rows"].as_array().unwrap().len(), 12);
    for r in sample["rows"].as_array().unwrap() {
        assert_eq!(rows.lines().nth(r["index"].as_u64().unwrap() as usize).unwrap(), r["row"].as_str().unwrap());
    }

    // One row dropped from the population: every offline check fails.
    let fewer = rows.split_inclusive('\n').skip(1).collect::<String>();
    std::fs::write(p.join("rows.jsonl"), fewer).unwrap();
    assert_ne!(tool(&x, "python3", &["verify.py", pubkey]).code, 0, "verify.py accepted a dropped row");
    assert_ne!(tool(&x, "sha256sum", &["-c", "--strict", "--quiet", "SHA256SUMS"]).code, 0);
}

#[test]
fn populations_over_releases_and_from_the_users_catalog_rerun_in_duckdb() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 17);
    let pubkey = org.join("keys/cairn.pub");
    let pubkey = pubkey.to_str().unwrap();
    for (name, min_rows) in [("release-sboms", 1), ("release-builds", 1)] {
        let zip = tmp.path().join(format!("{name}.zip"));
        let run = cairn(&org, &["population", name, "--out", zip.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{name}: {}{}", run.stdout, run.stderr);
        let x = tmp.path().join(name);
        unpack(zip.to_str().unwrap(), &x, pubkey);
        let summary = read_json(&x.join(format!("population/{name}/population.json")));
        assert!(summary["row_count"].as_u64().unwrap() >= min_rows, "{name}: {summary}");
        assert!(summary["completeness"].as_array().unwrap().is_empty(), "no chain in {name}");
        let digests = std::fs::read_to_string(x.join(format!("population/{name}/digests.txt"))).unwrap();
        assert_eq!(digest_lines(&duckdb_lines(&x, name, "-")), digests, "{name}: DuckDB's rows differ from the pack's");
    }

    // A population inside an evidence bundle: its files under population/NAME/, each lake object
    // once, evidence of the bundle's controls and the population's.
    let zip = tmp.path().join("with-population.zip");
    let args = ["bundle", "--control", "LOG-07", "--population", "audit-events", "--out", zip.to_str().unwrap()];
    let run = cairn(&org, &args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let x = tmp.path().join("bundled");
    let verified = unpack(zip.to_str().unwrap(), &x, pubkey);
    assert!(verified.stdout.contains("OK  population audit-events: "), "{}", verified.stdout);
    let digests = std::fs::read_to_string(x.join("population/audit-events/digests.txt")).unwrap();
    assert_eq!(digest_lines(&duckdb_lines(&x, "audit-events", "-")), digests, "the planted duplicate is ordered alike");
    assert!(std::fs::read_to_string(x.join("README.txt"))
        .unwrap()
        .contains("population/audit-events/  All audit events"));
    let manifest = read_json(&x.join("manifest.json"));
    let events: Vec<&serde_json::Value> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"].as_str().unwrap().starts_with("store/lake/events/"))
        .collect();
    assert!(!events.is_empty());
    for f in events {
        assert_eq!(f["controls"], serde_json::json!(["LOG-01", "LOG-02", "LOG-07"]), "{f}");
    }

    // A population of the user's own, in a catalog file beside their controls.
    std::fs::create_dir_all(org.join("controls")).unwrap();
    std::fs::write(
        org.join("controls/local.toml"),
        r#"[[population]]
name = "payments-events"
version = 3
title = "Payments audit events"
description = "Every audit event of the payments service."
controls = ["LOG-01"]
sql = """
SELECT chain, seq, record_sha256 FROM events WHERE chain LIKE 'payments-%' AND ts >= '{since}' AND ts < '{until}'
ORDER BY chain, seq, record_sha256
"""
"#,
    )
    .unwrap();
    let config = std::fs::read_to_string(org.join("cairn.toml")).unwrap();
    assert!(!config.contains("[controls]"), "the demo's configuration has no [controls] yet");
    std::fs::write(org.join("cairn.toml"), format!("{config}\n[controls]\ncatalog = [\"controls/local.toml\"]\n"))
        .unwrap();
    let list = cairn(&org, &["population", "--list"]);
    assert!(list.stdout.contains("payments-events (version 3): Payments audit events ["), "{}", list.stdout);
    let zip = tmp.path().join("payments.zip");
    let run = cairn(&org, &["population", "payments-events", "--out", zip.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let x = tmp.path().join("payments");
    unpack(zip.to_str().unwrap(), &x, pubkey);
    let summary = read_json(&x.join("population/payments-events/population.json"));
    assert_eq!(summary["population"]["defined_in"], "local.toml", "the file's name, not the folders of the machine");
    let chains = summary["control_totals"]["rows_by_chain"].as_object().unwrap();
    assert!(!chains.is_empty() && chains.keys().all(|c| c.starts_with("payments-")), "{chains:?}");

    // A population naming a control the catalog lacks, or selecting a timestamp, is refused.
    let local = std::fs::read_to_string(org.join("controls/local.toml")).unwrap();
    std::fs::write(org.join("controls/local.toml"), local.replace("LOG-01", "NOPE-9")).unwrap();
    let bad = cairn(&org, &["population", "payments-events"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("names control \"NOPE-9\""), "{}", bad.stderr);
    let check = cairn(&org, &["controls", "check"]);
    assert_eq!(check.code, 2, "controls check finds the population's problem too");
    assert!(
        check.stdout.contains("names control \"NOPE-9\"") && check.stdout.contains("1 problem(s)"),
        "{}",
        check.stdout
    );
    std::fs::write(
        org.join("controls/local.toml"),
        local.replace("SELECT chain, seq,", "SELECT chain, seq, timestamp,"),
    )
    .unwrap();
    let bad = cairn(&org, &["population", "payments-events"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("column \"timestamp\" is Timestamp"), "{}", bad.stderr);
    // A population is one query: it writes no file.
    let copy = "COPY (SELECT chain, seq, record_sha256 FROM events ORDER BY chain, seq) TO 'leak.csv'";
    let sql_start = local.find("SELECT chain, seq, record_sha256").unwrap();
    let sql_end = local[sql_start..].find("\n\"\"\"").unwrap() + sql_start;
    std::fs::write(org.join("controls/local.toml"), format!("{}{copy}{}", &local[..sql_start], &local[sql_end..]))
        .unwrap();
    let bad = cairn(&org, &["population", "payments-events"]);
    assert_ne!(bad.code, 0, "{}", bad.stdout);
    assert!(!org.join("leak.csv").exists() && !tmp.path().join("leak.csv").exists());
}
