//! Source type `datadog-api`: the Datadog Logs Search API v2 (`POST /api/v2/logs/events/search`).
//!
//! ```toml
//! [[source]]
//! name = "payments-dd"
//! type = "datadog-api"
//! url = "https://api.datadoghq.eu"       # the site's API base URL
//! query = "service:payments source:audit"
//! start = "2026-11-01T00:00:00Z"         # where the first run starts
//! event = "/attributes/attributes"       # pointer inside each returned log (the default)
//! overlap_seconds = 300                  # asked again each run, for logs indexed late
//! ```
//!
//! Keys come from `DD_API_KEY` and `DD_APPLICATION_KEY` and are sent only as headers: they never
//! appear in logs, errors or the lake. Each run asks from the last watermark minus the overlap up
//! to a minute ago, follows `meta.page.after` to the end, and records the new watermark and the
//! ids collected inside the overlap window, so a log is never collected twice nor skipped. A page
//! Datadog marks `timeout` (partial) is asked again, never recorded as complete; 429 answers wait
//! for `x-ratelimit-reset` (or `retry-after`), 5xx answers and timeouts back off with jitter.

use std::time::Duration;

use cairn_evidence::digest::sha256_hex;
use cairn_evidence::lake::RunWriter;
use cairn_evidence::time::{format_rfc3339, parse_rfc3339};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::CollectError;
use crate::http::{default_overlap, default_page, err, http_client, send_json, Window};
use crate::record::{chain_event, Record};
use crate::run::{CollectRun, Cursors, SourceReport};
use crate::sink::RowSink;
use crate::source::Source;

/// Configuration of a `datadog-api` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatadogApiConfig {
    /// Source name.
    pub name: String,
    /// The source holds synthetic data (a demo, or a staging SIEM during a first rollout):
    /// every row it yields is marked `simulated`, and the portal and bundles say so.
    #[serde(default)]
    pub simulated: bool,
    /// API base URL (`https://api.datadoghq.com`, `https://api.datadoghq.eu`, …).
    pub url: String,
    /// Log search query.
    pub query: String,
    /// RFC 3339 time the first run starts from.
    pub start: String,
    /// JSON pointer of the audit event inside each returned log.
    #[serde(default)]
    pub event: Option<String>,
    /// Seconds asked again each run, for logs indexed late.
    #[serde(default = "default_overlap")]
    pub overlap_seconds: u64,
    /// Logs per page (Datadog allows up to 1000).
    #[serde(default = "default_page")]
    pub page_limit: u32,
}

/// Where a returned log holds its parsed attributes.
pub const DATADOG_API_EVENT: &str = "/attributes/attributes";

impl Source for DatadogApiConfig {
    fn name(&self) -> &str {
        &self.name
    }

    fn type_name(&self) -> &'static str {
        "datadog-api"
    }

    fn simulated(&self) -> bool {
        self.simulated
    }

    async fn collect(
        &self,
        run: &CollectRun<'_>,
        writer: &mut RunWriter<'_>,
        sink: &mut RowSink,
        cursors: &mut Cursors,
    ) -> Result<SourceReport, CollectError> {
        collect_datadog_api(self, run, writer, sink, cursors).await
    }
}

/// One log returned by the search API.
fn api_record(item: &Value, pointer: &str) -> Record {
    let attributes = item.get("attributes");
    let mut meta = Map::new();
    if let Some(id) = item.get("id") {
        meta.insert("id".into(), id.clone());
    }
    if let Some(Value::Object(a)) = attributes {
        for k in ["host", "service", "status", "tags"] {
            if let Some(v) = a.get(k) {
                meta.insert(k.into(), v.clone());
            }
        }
    }
    let time = attributes.and_then(|a| a.get("timestamp")).and_then(Value::as_str).map(str::to_string);
    match chain_event(item, None, pointer) {
        Record::Event(mut ev) => {
            ev.siem_time = time;
            ev.siem_meta = Some(Value::Object(meta).to_string());
            Record::Event(ev)
        }
        other => other,
    }
}

/// Collects the logs indexed since the last run.
async fn collect_datadog_api(
    config: &DatadogApiConfig,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut Cursors,
) -> Result<SourceReport, CollectError> {
    let name = config.name.as_str();
    let pointer = config.event.clone().unwrap_or_else(|| DATADOG_API_EVENT.to_string());
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (Some(api_key), Some(app_key)) = (env("DD_API_KEY"), env("DD_APPLICATION_KEY")) else {
        return Err(err(name, "DD_API_KEY and DD_APPLICATION_KEY must be set in the environment".into()));
    };
    let base = config.url.trim_end_matches('/');
    let endpoint = format!("{base}/api/v2/logs/events/search");
    let shown = endpoint.clone();
    let mut report = SourceReport { name: name.into(), objects: 1, ..SourceReport::default() };
    let Some(window) = Window::of(name, &config.start, config.overlap_seconds, cursors.get(&shown), run.collected_at)?
    else {
        return Ok(report);
    };
    let client = http_client(name, Duration::from_secs(60))?;
    let mut page_cursor: Option<String> = None;
    let mut line = 0u64;
    let mut new_seen: Vec<String> = Vec::new();
    let (from_s, to_s) = (format_rfc3339(window.from), format_rfc3339(window.to));
    loop {
        let mut body = json!({
            "filter": {"query": config.query, "from": from_s, "to": to_s},
            "sort": "timestamp",
            "page": {"limit": config.page_limit},
        });
        if let Some(c) = &page_cursor {
            body["page"]["cursor"] = json!(c);
        }
        let page = send_json(
            name,
            &format!("POST {endpoint}"),
            || client.post(&endpoint).header("DD-API-KEY", &api_key).header("DD-APPLICATION-KEY", &app_key).json(&body),
            |v| v.pointer("/meta/status").and_then(Value::as_str) == Some("timeout"),
        )
        .await?;
        for item in page.get("data").and_then(Value::as_array).into_iter().flatten() {
            line += 1;
            report.records += 1;
            let id = item.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            let ts = item.pointer("/attributes/timestamp").and_then(Value::as_str).and_then(parse_rfc3339);
            if window.in_next_overlap(ts) && !id.is_empty() {
                new_seen.push(id.clone());
            }
            if !id.is_empty() && window.seen.contains(&id) {
                continue;
            }
            let raw = item.to_string();
            let provenance = run.provenance(name, &shown, (line, 0), sha256_hex(raw.as_bytes()));
            sink.push_record(writer, name, &mut report, (api_record(item, &pointer), provenance, raw.as_bytes()))
                .await?;
        }
        match page.pointer("/meta/page/after").and_then(Value::as_str) {
            Some(after) if !after.is_empty() => page_cursor = Some(after.to_string()),
            _ => break,
        }
    }
    if report.events > 0 {
        report.objects_with_new_data = 1;
    }
    cursors.insert(shown, window.cursor(line, new_seen));
    Ok(report)
}
