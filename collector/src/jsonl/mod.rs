//! Source type `jsonl`: one JSON record per line, the audit event at a JSON pointer.
//!
//! ```toml
//! [[source]]
//! name = "payments"
//! type = "jsonl"
//! url  = "inputs/payments/"   # a file or a folder/prefix of many files
//! event = "/event"             # optional JSON pointer; default: the whole line
//! ```
//!
//! Only complete lines are read: a last line without its newline is left for the next run, since
//! a writer may still be appending it. A source object whose already-collected bytes changed is
//! not read again: that is reported and kept aside.
//!
//! `jsonl::lines` holds the line-block machinery every line-based source type shares
//! (`splunk-export` and `sentinel-export` too); each type brings only how one line is read.

pub(crate) mod lines;

use serde::Deserialize;
use serde_json::Value;

use self::lines::{fast_event, LineFormat};
use crate::config::JsonlConfig;
use crate::record::{chain_event, Record};
use crate::source::newtype_source;

/// A `jsonl` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct Jsonl(pub JsonlConfig);

/// How a `jsonl` line is read.
const FORMAT: LineFormat =
    LineFormat { default_event: "", event_required: None, whole_line_events: true, parse: parse_line };

newtype_source!(Jsonl, "jsonl", lines::collect, FORMAT);

fn parse_line(line: &str, pointer: &str, _object: &str) -> Record {
    parse_record(line, pointer)
}

/// Extracts the chain event from one line, or says why it cannot.
fn parse_record(line: &str, pointer: &str) -> Record {
    if pointer.is_empty() {
        if let Some(record) = fast_event(line) {
            return record;
        }
    }
    match serde_json::from_str::<Value>(line) {
        Ok(value) => chain_event(&value, Some(line), pointer),
        Err(e) => Record::Bad(format!("not JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_judged_with_reasons() {
        let good = r#"{"chain":"c","seq":0,"ts":"2026-01-01T00:00:00Z","kid":"k","prev":"0000000000000000000000000000000000000000000000000000000000000000","hash":"1111111111111111111111111111111111111111111111111111111111111111","sig":"x"}"#;
        assert!(matches!(parse_record(good, ""), Record::Event(_)));
        let wrapped = format!(r#"{{"host":"h","event":{}}}"#, serde_json::to_string(good).unwrap());
        assert!(matches!(parse_record(&wrapped, "/event"), Record::Event(_)));
        let nested = format!(r#"{{"host":"h","event":{good}}}"#);
        assert!(matches!(parse_record(&nested, "/event"), Record::Event(_)));
        let reason = |r: Record| match r {
            Record::Bad(why) => why,
            Record::Event(_) | Record::Skip(_) => panic!("expected a bad record"),
        };
        assert!(reason(parse_record("{oops", "")).starts_with("not JSON"));
        assert_eq!(reason(parse_record(&nested, "/evt")), "no value at JSON pointer /evt");
        assert_eq!(reason(parse_record(r#"{"chain":"c"}"#, "")), "not a chain event: missing member `seq`");
        let bad_ts = good.replace("2026-01-01T00:00:00Z", "yesterday");
        assert!(reason(parse_record(&bad_ts, "")).contains("RFC 3339"));
    }
}
