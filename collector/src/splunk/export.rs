//! Source type `splunk-export`: files of `search/jobs/export?output_mode=json` output (also Splunk
//! Web's JSON export), JSON lines of `{"preview","offset","lastrow","result"}`.
//!
//! ```toml
//! [[source]]
//! name = "payments-splunk"
//! type = "splunk-export"
//! url  = "inputs/splunk/"   # a file or a folder/prefix of many files
//! event = "/result/_raw"    # the default
//! ```
//!
//! Only `preview:false` rows are read; preview rounds, `messages` lines (ERROR/WARN ones are
//! logged) and the closing `lastrow` line carry no event. Kept beside the event: `_time`;
//! `index`, `host`, `source`, `sourcetype`, `splunk_server`. Lines are read by the shared
//! line-block machinery (`jsonl::lines`).

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::JsonlConfig;
use crate::jsonl::lines::{self, LineFormat};
use crate::record::{chain_event, pick, with_meta, Record};
use crate::source::newtype_source;

/// A `splunk-export` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct SplunkExport(pub JsonlConfig);

/// How a `splunk-export` line is read.
const FORMAT: LineFormat = LineFormat {
    default_event: SPLUNK_EXPORT_EVENT,
    event_required: None,
    whole_line_events: false,
    parse: parse_line,
};

newtype_source!(SplunkExport, "splunk-export", lines::collect, FORMAT);

fn parse_line(line: &str, pointer: &str, _object: &str) -> Record {
    splunk_export_line(line, pointer)
}

/// Where a Splunk export row holds the original event text.
pub const SPLUNK_EXPORT_EVENT: &str = "/result/_raw";

/// One line of Splunk export output. Preview rounds, message lines and the closing `lastrow`
/// line carry no event.
pub(crate) fn splunk_export_line(line: &str, pointer: &str) -> Record {
    let value: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return Record::Bad(format!("not JSON: {e}")),
    };
    let Some(result) = value.get("result") else {
        if let Some(Value::Array(messages)) = value.get("messages") {
            for m in messages {
                let level = m.get("type").and_then(Value::as_str).unwrap_or("INFO");
                let text = m.get("text").and_then(Value::as_str).unwrap_or_default();
                if level == "ERROR" || level == "WARN" {
                    tracing::warn!(level, text, "Splunk reported a message in the export");
                }
            }
            return Record::Skip("message");
        }
        if value.get("lastrow").is_some() || value.get("preview").is_some() {
            return Record::Skip("end of results");
        }
        return Record::Bad("not a Splunk export row: no `result`, `messages` or `lastrow`".into());
    };
    if value.get("preview").and_then(Value::as_bool) == Some(true) {
        return Record::Skip("preview round");
    }
    let mut meta = Map::new();
    pick(Some(result), &["index", "host", "source", "sourcetype", "splunk_server"], &mut meta);
    with_meta(chain_event(&value, None, pointer), result.get("_time"), meta)
}

/// A Splunk `_time`: ISO 8601 with milliseconds and an offset written `-08:00` or `+0100`.
pub fn parse_splunk_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .or_else(|_| chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The final-round result rows of a whole Splunk export (what a search returned), in order.
pub fn splunk_export_results(text: &str) -> Result<Vec<Value>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", i + 1))?;
        if v.get("preview").and_then(Value::as_bool) == Some(false) {
            if let Some(r) = v.get("result") {
                out.push(r.clone());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPORT: &str = include_str!("../../../fixtures/siem/splunk-search-jobs-export-output_mode-json.jsonl");

    #[test]
    fn the_real_splunk_export_keeps_only_its_final_round() {
        assert!(EXPORT.starts_with('\u{feff}'), "the captured file opens with a byte-order mark");
        let rows = splunk_export_results(EXPORT).unwrap();
        let got: Vec<(&str, &str)> =
            rows.iter().map(|r| (r["host"].as_str().unwrap(), r["count"].as_str().unwrap())).collect();
        assert_eq!(got.len(), 5);
        assert_eq!(got[0], ("172.16.35.130", "16"));
        assert_eq!(got[4], ("three.four.com", "35994"));
        // Every preview row is skipped; final rows without `_raw` are not audit events.
        let mut skipped = 0;
        let mut bad = Vec::new();
        for line in EXPORT.trim_start_matches('\u{feff}').lines() {
            match splunk_export_line(line, SPLUNK_EXPORT_EVENT) {
                Record::Skip(_) => skipped += 1,
                Record::Bad(why) => bad.push(why),
                Record::Event(_) => panic!("a stats row is not an event"),
            }
        }
        assert_eq!((skipped, bad.len()), (64, 5));
        assert_eq!(bad[0], "no value at JSON pointer /result/_raw");
    }

    #[test]
    fn metadata_is_kept_beside_the_event() {
        let event = r#"{"chain":"c","seq":0,"ts":"2026-01-01T00:00:00Z","kid":"k","prev":"0000000000000000000000000000000000000000000000000000000000000000","hash":"1111111111111111111111111111111111111111111111111111111111111111","sig":"x"}"#;
        let line = serde_json::json!({"preview": false, "offset": 0, "result": {
            "_raw": event, "_time": "2026-01-01T01:00:00.000+0100", "host": "h1", "index": "audit",
            "sourcetype": "cairn:audit", "_si": ["idx", "audit"]}})
        .to_string();
        let Record::Event(ev) = splunk_export_line(&line, SPLUNK_EXPORT_EVENT) else { panic!("no event") };
        assert_eq!(ev.json, event, "the event text is kept exactly as indexed");
        assert_eq!(ev.siem_time.as_deref(), Some("2026-01-01T01:00:00.000+0100"));
        let utc = parse_splunk_time("2026-01-01T01:00:00.000+0100").unwrap();
        assert_eq!(utc, parse_splunk_time("2025-12-31T16:00:00.000-08:00").unwrap());
        let meta: Value = serde_json::from_str(ev.siem_meta.as_deref().unwrap()).unwrap();
        assert_eq!(meta, serde_json::json!({"host": "h1", "index": "audit", "sourcetype": "cairn:audit"}));
        let preview = line.replace("\"preview\":false", "\"preview\":true");
        assert!(matches!(splunk_export_line(&preview, SPLUNK_EXPORT_EVENT), Record::Skip(_)));
    }
}
