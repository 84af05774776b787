//! Source type `sentinel-export`: Azure Monitor (Microsoft Sentinel) data export blobs, JSON lines
//! under `am-<Table>/WorkspaceResourceId=…/y=/m=/d=/h=/m=/PT05M.json` (and `PT05M_1.json`…).
//!
//! ```toml
//! [[source]]
//! name = "payments-sentinel"
//! type = "sentinel-export"
//! url  = "az://exports/"
//! event = "/AuditEvent"    # required: the column holding the audit event
//! ```
//!
//! Folders are listed, never built. Kept beside the event: `TimeGenerated`; `Type`, `TenantId`,
//! `_ResourceId`, and the table (from `am-<Table>`). Lines are read by the shared line-block
//! machinery (`jsonl::lines`).

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::JsonlConfig;
use crate::jsonl::lines::{self, LineFormat};
use crate::record::{chain_event, pick, with_meta, Record};
use crate::source::newtype_source;

/// A `sentinel-export` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct SentinelExport(pub JsonlConfig);

/// How a `sentinel-export` line is read.
const FORMAT: LineFormat = LineFormat {
    default_event: "",
    event_required: Some(
        "a sentinel-export source needs `event`: the JSON pointer of the column holding the audit event",
    ),
    whole_line_events: false,
    parse: sentinel_line,
};

newtype_source!(SentinelExport, "sentinel-export", lines::collect, FORMAT);

/// One line of an Azure Monitor data export blob. `object` is the blob's key, whose
/// `am-<Table>` container names the table.
pub(crate) fn sentinel_line(line: &str, pointer: &str, object: &str) -> Record {
    let value: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return Record::Bad(format!("not JSON: {e}")),
    };
    let mut meta = Map::new();
    pick(Some(&value), &["Type", "TenantId", "_ResourceId"], &mut meta);
    if let Some(table) = object.split('/').find_map(|p| p.strip_prefix("am-")) {
        meta.insert("table".into(), Value::String(table.to_string()));
    }
    with_meta(chain_event(&value, None, pointer), value.get("TimeGenerated"), meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_kept_beside_the_event() {
        let event = r#"{"chain":"c","seq":0,"ts":"2026-01-01T00:00:00Z","kid":"k","prev":"0000000000000000000000000000000000000000000000000000000000000000","hash":"1111111111111111111111111111111111111111111111111111111111111111","sig":"x"}"#;
        let sentinel =
            serde_json::json!({"TimeGenerated": "2026-01-01T00:00:00Z", "Type": "AuditLogs_CL", "AuditEvent": event})
                .to_string();
        let Record::Event(ev) =
            sentinel_line(&sentinel, "/AuditEvent", "am-auditlogs_cl/WorkspaceResourceId=/x/PT05M.json")
        else {
            panic!("no event")
        };
        let meta: Value = serde_json::from_str(ev.siem_meta.as_deref().unwrap()).unwrap();
        assert_eq!(meta["table"], "auditlogs_cl");
        assert_eq!(ev.siem_time.as_deref(), Some("2026-01-01T00:00:00Z"));
    }
}
