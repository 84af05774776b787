//! SIEM shapes end to end: a signed chain wrapped the way Splunk (export and HEC), Microsoft
//! Sentinel (data export) and Datadog (log archives) write it collects and verifies clean; one
//! event altered inside its SIEM record is named; late data is collected exactly once.

mod common;

use std::io::Write as _;
use std::path::Path;

use common::{cairn, findings, Org};
use serde_json::{json, Value};

/// Replaces the `[[source]]` of the organisation with one of `kind` over `inputs/app/`.
fn use_source(org: &Org, kind: &str, event: Option<&str>) {
    let config = std::fs::read_to_string(org.dir.join("cairn.toml")).unwrap();
    let head = config.split("[[source]]").next().unwrap();
    let event = event.map(|e| format!("event = \"{e}\"\n")).unwrap_or_default();
    std::fs::write(
        org.dir.join("cairn.toml"),
        format!("{head}[[source]]\nname = \"app\"\ntype = \"{kind}\"\nurl = \"inputs/app/\"\n{event}"),
    )
    .unwrap();
}

fn write(org: &Org, rel: &str, bytes: &[u8]) {
    let path = org.dir.join("inputs/app").join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn gzip(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

/// Collect then verify; returns the findings as (kind, chain, seq).
fn run(dir: &Path) -> (String, Vec<(String, String, u64)>) {
    let c = cairn(dir, &["collect"]);
    assert_eq!(c.code, 0, "{}\n{}", c.stdout, c.stderr);
    let v = cairn(dir, &["verify", "--format", "json"]);
    assert!(v.code == 0 || v.code == 1, "{}", v.stderr);
    (c.stdout, findings(&v.stdout))
}

fn tamper(event: &Value) -> Value {
    let mut e = event.clone();
    e["actor"] = json!("mallory");
    e
}

fn splunk_export(events: &[Value], final_round: bool) -> String {
    let mut out = String::from('\u{feff}');
    let row = |e: &Value, preview: bool, offset: usize| {
        json!({"preview": preview, "offset": offset, "result": {
            "_raw": e.to_string(), "_time": "2026-11-20T10:00:00.000+01:00", "host": "app-01",
            "index": "audit", "sourcetype": "cairn:audit", "splunk_server": "idx-1", "_si": ["idx-1", "audit"]}})
        .to_string()
    };
    // A preview round first, as a running search streams it.
    for (i, e) in events.iter().take(2).enumerate() {
        out.push_str(&row(e, true, i));
        out.push('\n');
    }
    out.push_str(r#"{"messages":[{"type":"INFO","text":"Your timerange was substituted"}]}"#);
    out.push('\n');
    if final_round {
        for (i, e) in events.iter().enumerate() {
            out.push_str(&row(e, false, i));
            out.push('\n');
        }
        out.push_str("{\"preview\":false,\"lastrow\":true}\n");
    }
    out
}

#[test]
fn splunk_export_collects_the_final_round_and_names_an_altered_event() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    use_source(&org, "splunk-export", None);
    let events = org.events(20);
    write(&org, "export-1.json", splunk_export(&events, true).as_bytes());
    let (out, found) = run(&org.dir);
    assert!(out.contains("app: 1 objects (1 with new data), 24 records, 20 events, 0 kept aside"), "{out}");
    assert!(found.is_empty(), "{found:?}");
    // The SIEM's metadata sits beside each event.
    let check = r#"
import json, sys, pyarrow.dataset as ds
t = ds.dataset(sys.argv[1] + "/lake/events", format="parquet", partitioning="hive").to_table().to_pylist()
print(t[0]["siem_time"], json.dumps(json.loads(t[0]["siem_meta"]), sort_keys=True))
"#;
    let py = common::tool(&org.dir, "python3", &["-c", check, org.dir.join("store").to_str().unwrap()]);
    assert_eq!(
        py.stdout.trim(),
        r#"2026-11-20T10:00:00.000+01:00 {"host": "app-01", "index": "audit", "sourcetype": "cairn:audit", "splunk_server": "idx-1"}"#,
        "{}",
        py.stderr
    );
    // The next export carries one altered event.
    let mut more = org.events(5);
    more[2] = tamper(&more[2]);
    write(&org, "export-2.json", splunk_export(&more, true).as_bytes());
    let (_, found) = run(&org.dir);
    assert_eq!(found, vec![("altered".to_string(), "app-main".to_string(), 22)]);
}

#[test]
fn splunk_hec_batches_back_to_back_collect_whole_objects_only() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    use_source(&org, "splunk-hec", None);
    let events = org.events(10);
    let hec = |e: &Value, i: usize| {
        json!({"time": format!("{}.{:03}", 1_763_632_800 + i, i), "host": "app-01", "source": "app", "sourcetype": "cairn:audit", "index": "audit", "event": e, "fields": {"region": "eu"}})
        .to_string()
    };
    // Objects back to back, some on one line, and a partial object at the end.
    let mut batch = String::new();
    for (i, e) in events.iter().enumerate() {
        batch.push_str(&hec(e, i));
        if i % 3 == 2 {
            batch.push('\n');
        }
    }
    let next = org.events(1).remove(0);
    let partial = hec(&next, 10);
    let cut = partial.len() / 2;
    batch.push_str(&partial[..cut]);
    write(&org, "batch.json", batch.as_bytes());
    let (out, found) = run(&org.dir);
    assert!(out.contains("10 records, 10 events, 0 kept aside"), "{out}");
    assert!(found.is_empty(), "{found:?}");
    // The writer finishes the object and adds one altered event.
    let mut last = org.events(1).remove(0);
    last = tamper(&last);
    let mut f = std::fs::OpenOptions::new().append(true).open(org.dir.join("inputs/app/batch.json")).unwrap();
    write!(f, "{}\n{}", &partial[cut..], hec(&last, 11)).unwrap();
    drop(f);
    let (out, found) = run(&org.dir);
    assert!(out.contains("2 records, 2 events"), "{out}");
    assert_eq!(found, vec![("altered".to_string(), "app-main".to_string(), 11)]);
}

fn sentinel(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| {
            json!({"TimeGenerated": e["ts"], "TenantId": "0f6a", "Type": "AuditLogs_CL", "_ResourceId": "/subscriptions/s/resourcegroups/rg/providers/x/app", "AuditEvent": e.to_string()})
                .to_string()
                + "\n"
        })
        .collect()
}

const SENTINEL_HOUR: &str = "am-auditlogs_cl/WorkspaceResourceId=/subscriptions/0f6a/resourcegroups/rg/providers/microsoft.operationalinsights/workspaces/ws/y=2026/m=11/d=20/h=10";

#[test]
fn sentinel_export_picks_up_late_data_in_old_folders_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    use_source(&org, "sentinel-export", Some("/AuditEvent"));
    let first = org.events(8);
    write(&org, &format!("{SENTINEL_HOUR}/m=00/PT05M.json"), sentinel(&first[..5]).as_bytes());
    write(&org, &format!("{SENTINEL_HOUR}/m=05/PT05M.json"), sentinel(&first[5..]).as_bytes());
    let (out, found) = run(&org.dir);
    assert!(out.contains("2 objects (2 with new data), 8 records, 8 events"), "{out}");
    assert!(found.is_empty(), "{found:?}");
    // Late records land in the old 10:00 folder: an overflow blob, and lines appended to a blob.
    let late = org.events(4);
    write(&org, &format!("{SENTINEL_HOUR}/m=00/PT05M_1.json"), sentinel(&late[..2]).as_bytes());
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(org.dir.join("inputs/app").join(format!("{SENTINEL_HOUR}/m=05/PT05M.json")))
        .unwrap();
    f.write_all(sentinel(&late[2..]).as_bytes()).unwrap();
    drop(f);
    let (out, found) = run(&org.dir);
    assert!(out.contains("3 objects (2 with new data), 4 records, 4 events"), "{out}");
    assert!(found.is_empty(), "late data collected once, in order of arrival: {found:?}");
    let (out, _) = run(&org.dir);
    assert!(out.contains("0 with new data), 0 records, 0 events"), "{out}");
    // An altered event inside a Sentinel record is named.
    let mut more = org.events(3);
    more[1] = tamper(&more[1]);
    write(&org, &format!("{SENTINEL_HOUR}/m=10/PT05M.json"), sentinel(&more).as_bytes());
    let (_, found) = run(&org.dir);
    assert_eq!(found, vec![("altered".to_string(), "app-main".to_string(), 13)]);
}

fn datadog(events: &[Value], first_id: usize) -> String {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            json!({"_id": format!("AQAAAY{:08}", first_id + i), "date": e["ts"], "host": "app-01", "service": "app",
                   "source": "cairn", "status": "info", "message": "audit event", "attributes": e, "tags": ["env:prod"]})
            .to_string()
                + "\n"
        })
        .collect()
}

#[test]
fn datadog_archives_stream_and_late_or_rewritten_files_are_read_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    use_source(&org, "datadog-archive", None);
    let first = org.events(6);
    let a1 = "dt=20261120/hour=10/archive_100501.1234.7dq1a9mnSya3bFotoErfxl.json.gz";
    write(&org, a1, &gzip(&datadog(&first, 0)));
    let (out, found) = run(&org.dir);
    assert!(out.contains("1 objects (1 with new data), 6 records, 6 events"), "{out}");
    assert!(found.is_empty(), "{found:?}");
    // Datadog rewrites the archive with two more logs (same start); a late archive appears in the
    // old hour; one log of the late archive repeats an `_id` already read in this run.
    let more = org.events(4);
    write(&org, a1, &gzip(&(datadog(&first, 0) + &datadog(&more[..2], 6))));
    let late = format!("{}{}", datadog(&more[2..], 8), datadog(&more[3..], 9));
    write(&org, "dt=20261120/hour=10/archive_105959.0001.zzz.json.gz", &gzip(&late));
    let (out, found) = run(&org.dir);
    assert!(out.contains("2 objects (2 with new data), 5 records, 4 events, 0 kept aside"), "{out}");
    assert!(found.is_empty(), "{found:?}");
    // A cut-off archive: its whole lines are read, the cut is kept aside; an altered event is named.
    let mut tail = org.events(3);
    tail[0] = tamper(&tail[0]);
    let gz = gzip(&datadog(&tail, 20));
    write(&org, "dt=20261120/hour=11/archive_110000.0000.cut.json.gz", &gz[..gz.len() - 30]);
    let (out, found) = run(&org.dir);
    assert!(out.contains("1 kept aside"), "{out}");
    assert!(found.contains(&("altered".to_string(), "app-main".to_string(), 10)), "{found:?}");
}

/// 120 events 20 minutes apart from 2026-11-20 00:00 (two days), but seq 90's clock went back
/// 13 hours: every SIEM files it under an earlier hour and day than the events before it.
fn clock_back_chain(org: &mut Org) -> Vec<Value> {
    org.events_at(120, |seq| {
        let minutes = seq * 20 - if seq == 90 { 13 * 60 } else { 0 };
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z").unwrap()
            + chrono::Duration::minutes(i64::try_from(minutes).unwrap());
        t.to_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string()
    })
}

/// Groups events by a key derived from their time (an hour or a day), in key order.
fn partitioned(events: &[Value], key: impl Fn(&str) -> String) -> Vec<(String, Vec<Value>)> {
    let mut parts: std::collections::BTreeMap<String, Vec<Value>> = std::collections::BTreeMap::new();
    for e in events {
        parts.entry(key(e["ts"].as_str().unwrap())).or_default().push(e.clone());
    }
    parts.into_iter().collect()
}

fn datadog_hour(ts: &str) -> String {
    format!("dt={}/hour={}/archive_{}0000.0000.a1b2c3.json.gz", ts[..10].replace('-', ""), &ts[11..13], &ts[11..13])
}

#[test]
fn chain_order_comes_from_seq_whatever_order_the_siem_files_are_read_in() {
    let one_finding = vec![("time_backwards".to_string(), "app-main".to_string(), 90)];
    // Datadog archives: one file per hour of the event's own time.
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    use_source(&org, "datadog-archive", None);
    let events = clock_back_chain(&mut org);
    let mut id = 0;
    for (path, part) in partitioned(&events, datadog_hour) {
        write(&org, &path, &gzip(&datadog(&part, id)));
        id += part.len();
    }
    let (out, found) = run(&org.dir);
    assert!(out.contains("120 events"), "{out}");
    assert_eq!(found, one_finding, "Datadog");

    // A Splunk export split over three files, newest first.
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    use_source(&org, "splunk-export", None);
    let events = clock_back_chain(&mut org);
    for (i, part) in events.chunks(40).rev().enumerate() {
        let newest_first: Vec<Value> = part.iter().rev().cloned().collect();
        write(&org, &format!("export-{i}.json"), splunk_export(&newest_first, true).as_bytes());
    }
    let (out, found) = run(&org.dir);
    assert!(out.contains("120 events"), "{out}");
    assert_eq!(found, one_finding, "Splunk");

    // A Sentinel data export split by day (and hour) of TimeGenerated.
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    use_source(&org, "sentinel-export", Some("/AuditEvent"));
    let events = clock_back_chain(&mut org);
    let sentinel_path = |ts: &str| {
        format!(
            "am-auditlogs_cl/WorkspaceResourceId=/subscriptions/0f6a/resourcegroups/rg/providers/microsoft.operationalinsights/workspaces/ws/y={}/m={}/d={}/h={}/m=00/PT05M.json",
            &ts[..4],
            &ts[5..7],
            &ts[8..10],
            &ts[11..13]
        )
    };
    for (path, part) in partitioned(&events, sentinel_path) {
        write(&org, &path, sentinel(&part).as_bytes());
    }
    let (out, found) = run(&org.dir);
    assert!(out.contains("120 events"), "{out}");
    assert_eq!(found, one_finding, "Sentinel");
}

#[test]
fn a_partition_arriving_on_the_next_night_closes_its_gap() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    use_source(&org, "datadog-archive", None);
    let events = org.events_at(30, |seq| format!("2026-11-20T{:02}:{:02}:00Z", seq / 3, seq % 3 * 20));
    let parts = partitioned(&events, datadog_hour);
    // Night 1: the archive of 04:00 (seqs 12..=14) is not written yet.
    for (i, (path, part)) in parts.iter().enumerate().filter(|(i, _)| *i != 4) {
        write(&org, path, &gzip(&datadog(part, i * 3)));
    }
    let (_, found) = run(&org.dir);
    assert_eq!(found, vec![("gap".to_string(), "app-main".to_string(), 12)]);
    let open = cairn(&org.dir, &["verify"]);
    assert_eq!(open.code, 1, "the gap stays open: {}", open.stdout);
    assert!(
        open.stdout.contains("gap chain=app-main seq=12: seqs 12..=14 are missing (3 events) [open]"),
        "{}",
        open.stdout
    );
    // Night 2: it arrives late, and the gap is closed rather than left open.
    write(&org, &parts[4].0, &gzip(&datadog(&parts[4].1, 12)));
    let (out, found) = run(&org.dir);
    assert!(out.contains("3 events"), "{out}");
    assert_eq!(found, vec![("gap_closed".to_string(), "app-main".to_string(), 12)]);
    let closed = cairn(&org.dir, &["verify"]);
    assert_eq!(closed.code, 0, "{}", closed.stdout);
    let all = cairn(&org.dir, &["findings", "--all"]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    assert!(all.stdout.contains("[resolved: closed by run "), "{}", all.stdout);
    // A full re-check reads the late file in its place: no gap at all.
    let full = cairn(&org.dir, &["verify", "--full", "--format", "json"]);
    assert_eq!((full.code, findings(&full.stdout)), (0, vec![]));
}

#[test]
fn a_huge_line_or_a_nesting_bomb_is_kept_aside_and_reading_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    let before = org.lines(3);
    let after = org.lines(3);
    let huge = format!("{{\"host\":\"app-01\",\"event\":\"{}\"}}\n", "x".repeat(100 * 1024 * 1024));
    let bomb = format!("{}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let text = format!("{before}{huge}{bomb}\u{0}\u{ff}not utf-8\n{after}");
    let mut bytes = text.into_bytes();
    // Make the not-UTF-8 line really invalid UTF-8.
    let at = bytes.windows(9).position(|w| w == b"not utf-8").unwrap();
    bytes[at - 1] = 0xff;
    bytes[at - 2] = 0xfe;
    std::fs::write(org.dir.join("inputs/app/day.jsonl"), &bytes).unwrap();
    let (out, found) = run(&org.dir);
    assert!(out.contains("9 records, 6 events, 3 kept aside"), "{out}");
    assert!(found.is_empty(), "{found:?}");
    let q = cairn(&org.dir, &["verify", "--format", "json"]);
    assert!(q.code == 0, "{}", q.stderr);
    let check = r#"
import sys, pyarrow.dataset as ds
for r in sorted(ds.dataset(sys.argv[1] + "/lake/quarantine", format="parquet", partitioning="hive").to_table().to_pylist(), key=lambda r: r["origin"]["line"]):
    print(r["origin"]["line"], r["reason"][:60])
"#;
    let py = common::tool(&org.dir, "python3", &["-c", check, org.dir.join("store").to_str().unwrap()]);
    let lines: Vec<&str> = py.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", py.stdout);
    assert!(lines[0].starts_with("4 line of 104857") && lines[0].contains("longer than 16 MiB"), "{}", py.stdout);
    assert!(lines[1].starts_with("5 not JSON") && lines[1].contains("recursion limit"), "{}", py.stdout);
    assert!(lines[2].starts_with("6 not UTF-8"), "{}", py.stdout);
}

#[test]
fn splunk_results_pages_collect_each_row_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = Org::new(tmp.path());
    use_source(&org, "splunk-results", None);
    let page = |events: &[Value], offset: usize| {
        let rows: Vec<Value> = events
            .iter()
            .map(|e| json!({"_raw": e.to_string(), "_time": "2026-11-20T10:00:00.000-08:00", "host": "app-01", "index": "audit", "sourcetype": "cairn:audit", "_si": "idx-1\naudit"}))
            .collect();
        json!({"preview": false, "init_offset": offset, "messages": [{"type": "INFO", "text": "page"}], "fields": [{"name": "_raw"}], "results": rows}).to_string()
    };
    let first = org.events(10);
    write(&org, "sid-1/results-0000.json", page(&first, 0).as_bytes());
    let (out, found) = run(&org.dir);
    assert!(out.contains("1 objects (1 with new data), 10 records, 10 events, 0 kept aside"), "{out}");
    assert!(found.is_empty(), "{found:?}");
    let mut next = org.events(10);
    next[4] = tamper(&next[4]);
    write(&org, "sid-1/results-0010.json", page(&next, 10).as_bytes());
    let (out, found) = run(&org.dir);
    assert!(out.contains("2 objects (1 with new data), 10 records, 10 events"), "{out}");
    assert_eq!(found, vec![("altered".to_string(), "app-main".to_string(), 14)]);
    write(&org, "sid-1/results-0020.json", b"{\"results\": [");
    let (out, _) = run(&org.dir);
    assert!(out.contains("1 kept aside"), "{out}");
}
