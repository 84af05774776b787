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

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cairn_evidence::digest::sha256_hex;
use cairn_evidence::lake::RunWriter;
use cairn_evidence::manifest::SourceCursor;
use cairn_evidence::tables::{Provenance, QuarantineRow};
use cairn_evidence::time::{format_rfc3339, parse_rfc3339};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::jsonl::{chain_event, CollectRun, Record};
use crate::sink::RowSink;
use crate::source::{CollectError, SourceReport};

/// Configuration of a `datadog-api` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatadogApiConfig {
    /// Source name.
    pub name: String,
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

fn default_overlap() -> u64 {
    300
}

fn default_page() -> u32 {
    1000
}

/// Where a returned log holds its parsed attributes.
pub const DATADOG_API_EVENT: &str = "/attributes/attributes";

/// How long logs are given to be indexed before a run asks for them.
const SETTLE_SECONDS: i64 = 60;

/// Attempts per request before the run gives up (nothing is recorded for the source then).
const ATTEMPTS: u32 = 6;

/// The longest wait a rate limit may impose on one request.
const MAX_WAIT: Duration = Duration::from_secs(60);

fn err(name: &str, detail: String) -> CollectError {
    CollectError::Location { source_name: name.to_string(), detail }
}

/// A little jitter from the clock, so retries of many jobs do not align.
fn jitter() -> Duration {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    Duration::from_millis(u64::from(nanos % 250))
}

/// Sends a request until it succeeds, honouring rate limits and backing off on server errors;
/// `partial` says whether a successful answer is only partial (and must be asked again).
async fn send_json(
    name: &str,
    what: &str,
    build: impl Fn() -> reqwest::RequestBuilder,
    partial: impl Fn(&Value) -> bool,
) -> Result<Value, CollectError> {
    let mut backoff = Duration::from_millis(250);
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let wait = match build().send().await {
            Err(e) => {
                // The error's text names the URL, never the headers.
                last = if e.is_timeout() { "timed out".to_string() } else { e.without_url().to_string() };
                backoff
            }
            Ok(resp) => {
                let status = resp.status();
                let header = |h: &str| {
                    resp.headers().get(h).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<f64>().ok())
                };
                if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                    let secs = header("x-ratelimit-reset").or_else(|| header("retry-after")).unwrap_or(1.0);
                    last = format!("rate limited (HTTP 429), asked to wait {secs} s");
                    Duration::from_secs_f64(secs.max(0.0)).min(MAX_WAIT)
                } else if status.is_server_error() {
                    last = format!("HTTP {status}");
                    backoff
                } else if !status.is_success() {
                    return Err(err(
                        name,
                        format!("{what}: HTTP {status} (check the API and application keys and the query)"),
                    ));
                } else {
                    let body: Value = resp
                        .json()
                        .await
                        .map_err(|e| err(name, format!("{what}: the answer is not JSON: {}", e.without_url())))?;
                    if !partial(&body) {
                        return Ok(body);
                    }
                    last = "the answer was partial (timeout)".into();
                    backoff
                }
            }
        };
        tracing::warn!(source = name, attempt, reason = %last, "request to retry");
        tokio::time::sleep(wait + jitter()).await;
        backoff = (backoff * 2).min(MAX_WAIT);
    }
    Err(err(name, format!("{what}: gave up after {ATTEMPTS} attempts: {last}")))
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
pub async fn collect_datadog_api(
    config: &DatadogApiConfig,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut BTreeMap<String, SourceCursor>,
) -> Result<SourceReport, CollectError> {
    let name = config.name.as_str();
    let pointer = config.event.clone().unwrap_or_else(|| DATADOG_API_EVENT.to_string());
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (Some(api_key), Some(app_key)) = (env("DD_API_KEY"), env("DD_APPLICATION_KEY")) else {
        return Err(err(name, "DD_API_KEY and DD_APPLICATION_KEY must be set in the environment".into()));
    };
    let start = parse_rfc3339(&config.start)
        .ok_or_else(|| err(name, format!("start = {:?} is not an RFC 3339 time", config.start)))?;
    let base = config.url.trim_end_matches('/');
    let endpoint = format!("{base}/api/v2/logs/events/search");
    let shown = endpoint.clone();
    let cursor = cursors.get(&shown).cloned();
    let overlap = chrono::Duration::seconds(i64::try_from(config.overlap_seconds).unwrap_or(i64::MAX / 2));
    let watermark =
        cursor.as_ref().and_then(|c| DateTime::<Utc>::from_timestamp_millis(i64::try_from(c.offset).unwrap_or(0)));
    let from = watermark.map_or(start, |w| w - overlap);
    let to = run.collected_at - chrono::Duration::seconds(SETTLE_SECONDS);
    let mut report = SourceReport { name: name.into(), objects: 1, ..SourceReport::default() };
    if to <= from {
        return Ok(report);
    }
    let seen: BTreeSet<String> = cursor.as_ref().map(|c| c.seen_ids.iter().cloned().collect()).unwrap_or_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| err(name, format!("cannot build an HTTP client: {e}")))?;
    let mut page_cursor: Option<String> = None;
    let mut line = 0u64;
    let mut new_seen: Vec<String> = Vec::new();
    let (from_s, to_s) = (format_rfc3339(from), format_rfc3339(to));
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
            if ts.is_some_and(|t| t >= to - overlap) && !id.is_empty() {
                new_seen.push(id.clone());
            }
            if !id.is_empty() && seen.contains(&id) {
                continue;
            }
            let raw = item.to_string();
            let provenance = Provenance {
                source: name.to_string(),
                object_key: shown.clone(),
                line,
                byte_offset: 0,
                record_sha256: sha256_hex(raw.as_bytes()),
                run_id: run.run_id.to_string(),
                collected_at: run.collected_at,
            };
            let lake_err = |error| CollectError::Lake { source_name: name.into(), error };
            match api_record(item, &pointer) {
                Record::Event(ev) => {
                    report.events += 1;
                    sink.push_event(writer, ev.into_row(provenance)).await.map_err(lake_err)?;
                }
                Record::Skip(_) => {}
                Record::Bad(reason) => {
                    report.quarantined += 1;
                    let row = QuarantineRow { reason, raw: raw.chars().take(64 * 1024).collect(), provenance };
                    sink.push_quarantine(writer, row).await.map_err(lake_err)?;
                }
            }
        }
        match page.pointer("/meta/page/after").and_then(Value::as_str) {
            Some(after) if !after.is_empty() => page_cursor = Some(after.to_string()),
            _ => break,
        }
    }
    if report.events > 0 {
        report.objects_with_new_data = 1;
    }
    new_seen.sort();
    new_seen.dedup();
    cursors.insert(
        shown,
        SourceCursor {
            offset: u64::try_from(to.timestamp_millis()).unwrap_or(0),
            lines: cursor.map_or(0, |c| c.lines) + line,
            prefix_sha256: String::new(),
            object_sha256: None,
            seen_ids: new_seen,
        },
    );
    Ok(report)
}
