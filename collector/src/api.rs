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

/// Sends a request until the server answers with success, honouring rate limits and backing
/// off on server errors and timeouts.
async fn send(
    name: &str,
    what: &str,
    build: &impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, (CollectError, bool)> {
    let resp = build().send().await.map_err(|e| {
        let why = if e.is_timeout() { "timed out".to_string() } else { e.without_url().to_string() };
        (err(name, format!("{what}: {why}")), true)
    })?;
    let status = resp.status();
    let header =
        |h: &str| resp.headers().get(h).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<f64>().ok());
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        let secs = header("x-ratelimit-reset").or_else(|| header("retry-after")).unwrap_or(1.0);
        return Err((err(name, format!("{what}: rate limited (HTTP 429), asked to wait {secs} s")), true));
    }
    if status.is_server_error() {
        return Err((err(name, format!("{what}: HTTP {status}")), true));
    }
    if !status.is_success() {
        let hint = "check the credentials and the query";
        return Err((err(name, format!("{what}: HTTP {status} ({hint})")), false));
    }
    Ok(resp)
}

/// How long to wait before retrying after `error` (a 429 says how long; others back off).
fn wait_for(error: &CollectError, backoff: Duration) -> Duration {
    let text = error.to_string();
    text.split_once("asked to wait ")
        .and_then(|(_, rest)| rest.split(' ').next()?.parse::<f64>().ok())
        .map_or(backoff, |secs| Duration::from_secs_f64(secs.max(0.0)).min(MAX_WAIT))
}

/// Retries `attempt` (which may fail retryably) up to [`ATTEMPTS`] times.
async fn with_retries<T, F, Fut>(name: &str, what: &str, attempt: F) -> Result<T, CollectError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, (CollectError, bool)>>,
{
    let mut backoff = Duration::from_millis(250);
    let mut last = None;
    for n in 1..=ATTEMPTS {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err((e, false)) => return Err(e),
            Err((e, true)) => {
                tracing::warn!(source = name, attempt = n, reason = %e, "request to retry");
                tokio::time::sleep(wait_for(&e, backoff) + jitter()).await;
                backoff = (backoff * 2).min(MAX_WAIT);
                last = Some(e);
            }
        }
    }
    let last = last.map_or_else(String::new, |e| e.to_string());
    Err(err(name, format!("{what}: gave up after {ATTEMPTS} attempts; last: {last}")))
}

/// Sends a JSON request until a complete answer comes: `partial` answers are asked again.
async fn send_json(
    name: &str,
    what: &str,
    build: impl Fn() -> reqwest::RequestBuilder,
    partial: impl Fn(&Value) -> bool,
) -> Result<Value, CollectError> {
    with_retries(name, what, || async {
        let resp = send(name, what, &build).await?;
        let body: Value = resp
            .json()
            .await
            .map_err(|e| (err(name, format!("{what}: the answer is not JSON: {}", e.without_url())), true))?;
        if partial(&body) {
            return Err((err(name, format!("{what}: the answer was partial (timeout)")), true));
        }
        Ok(body)
    })
    .await
}

/// The time window one run of an API source asks for, from its cursor.
struct Window {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    overlap: chrono::Duration,
    /// Ids collected inside the overlap window by the last run.
    seen: BTreeSet<String>,
    /// Records read by earlier runs.
    lines: u64,
}

impl Window {
    /// From the last watermark minus the overlap (or `start`) to a minute ago; `None` when that
    /// is empty.
    fn of(
        name: &str,
        start: &str,
        overlap_seconds: u64,
        cursor: Option<&SourceCursor>,
        now: DateTime<Utc>,
    ) -> Result<Option<Self>, CollectError> {
        let start =
            parse_rfc3339(start).ok_or_else(|| err(name, format!("start = {start:?} is not an RFC 3339 time")))?;
        let overlap = chrono::Duration::seconds(i64::try_from(overlap_seconds).unwrap_or(i64::MAX / 2));
        let watermark =
            cursor.and_then(|c| DateTime::<Utc>::from_timestamp_millis(i64::try_from(c.offset).unwrap_or(0)));
        let from = watermark.map_or(start, |w| w - overlap);
        let to = now - chrono::Duration::seconds(SETTLE_SECONDS);
        if to <= from {
            return Ok(None);
        }
        let seen = cursor.map(|c| c.seen_ids.iter().cloned().collect()).unwrap_or_default();
        Ok(Some(Self { from, to, overlap, seen, lines: cursor.map_or(0, |c| c.lines) }))
    }

    /// Whether a record of time `at` falls in the next run's overlap window.
    fn in_next_overlap(&self, at: Option<DateTime<Utc>>) -> bool {
        at.is_some_and(|t| t >= self.to - self.overlap)
    }

    /// The cursor after reading `read` records, with the ids inside the next overlap window.
    fn cursor(&self, read: u64, mut next_seen: Vec<String>) -> SourceCursor {
        next_seen.sort();
        next_seen.dedup();
        SourceCursor {
            offset: u64::try_from(self.to.timestamp_millis()).unwrap_or(0),
            lines: self.lines + read,
            prefix_sha256: String::new(),
            object_sha256: None,
            seen_ids: next_seen,
        }
    }
}

fn http_client(name: &str, timeout: Duration) -> Result<reqwest::Client, CollectError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| err(name, format!("cannot build an HTTP client: {e}")))
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

/// How a `splunk-api` source asks Splunk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplunkApiMode {
    /// `POST search/jobs/export`: one streamed answer of JSON lines.
    #[default]
    Export,
    /// `POST search/jobs` to create a job, poll it until `DONE`, then page through
    /// `search/jobs/{sid}/results` with `offset`/`count`; the job is deleted afterwards.
    SearchJob,
}

fn default_job_timeout() -> u64 {
    600
}

/// Configuration of a `splunk-api` source: Splunk's search REST API, by streaming export or by
/// search job.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplunkApiConfig {
    /// Source name.
    pub name: String,
    /// The source holds synthetic data (a demo, or a staging SIEM during a first rollout):
    /// every row it yields is marked `simulated`, and the portal and bundles say so.
    #[serde(default)]
    pub simulated: bool,
    /// The management URL (`https://splunk.example.com:8089`).
    pub url: String,
    /// The search, oldest first (end it with `| reverse`: chains are verified in arrival order).
    pub search: String,
    /// RFC 3339 time the first run starts from.
    pub start: String,
    /// JSON pointer of the audit event inside each export row.
    #[serde(default)]
    pub event: Option<String>,
    /// Seconds asked again each run, for events indexed late.
    #[serde(default = "default_overlap")]
    pub overlap_seconds: u64,
    /// `export` (the default) or `search-job`.
    #[serde(default)]
    pub mode: SplunkApiMode,
    /// Results per page in `search-job` mode.
    #[serde(default = "default_page")]
    pub page_size: u32,
    /// How long a search job may run before the source gives up (and cancels it), in seconds.
    #[serde(default = "default_job_timeout")]
    pub job_timeout_seconds: u64,
}

/// The id a Splunk result row is recognised by inside the overlap window: its index and `_cd`
/// (bucket and offset), else the digest of its `_raw`.
fn splunk_row_id(r: &Value) -> String {
    r.get("_cd").and_then(Value::as_str).map_or_else(
        || sha256_hex(r.get("_raw").and_then(Value::as_str).unwrap_or_default().as_bytes()),
        |cd| format!("{}:{cd}", r.get("index").and_then(Value::as_str).unwrap_or_default()),
    )
}

/// Whether a result row is new: not collected by the last run inside the overlap window. Rows
/// inside the next run's overlap window are noted in `next_seen`.
fn fresh_row(window: &Window, r: &Value, next_seen: &mut Vec<String>) -> bool {
    let id = splunk_row_id(r);
    let time = r.get("_time").and_then(Value::as_str).and_then(crate::siem::parse_splunk_time);
    if window.in_next_overlap(time) {
        next_seen.push(id.clone());
    }
    !window.seen.contains(&id)
}

/// Collects the events indexed since the last run through the streaming export endpoint, or
/// (`mode = "search-job"`) through a search job and its paged results.
/// The token comes from `SPLUNK_TOKEN` (sent as `Authorization: Bearer`). Preview rounds and
/// messages are skipped; rows already collected inside the overlap window (by `_cd`, else by the
/// digest of `_raw`) are not collected again.
pub async fn collect_splunk_api(
    config: &SplunkApiConfig,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut BTreeMap<String, SourceCursor>,
) -> Result<SourceReport, CollectError> {
    let name = config.name.as_str();
    let pointer = config.event.clone().unwrap_or_else(|| crate::siem::SPLUNK_EXPORT_EVENT.to_string());
    let Some(token) = std::env::var("SPLUNK_TOKEN").ok().filter(|v| !v.is_empty()) else {
        return Err(err(name, "SPLUNK_TOKEN must be set in the environment".into()));
    };
    if config.mode == SplunkApiMode::SearchJob {
        return collect_splunk_job(config, &token, run, writer, sink, cursors).await;
    }
    let endpoint = format!("{}/services/search/jobs/export", config.url.trim_end_matches('/'));
    let mut report = SourceReport { name: name.into(), objects: 1, ..SourceReport::default() };
    let Some(window) =
        Window::of(name, &config.start, config.overlap_seconds, cursors.get(&endpoint), run.collected_at)?
    else {
        return Ok(report);
    };
    let client = http_client(name, Duration::from_secs(600))?;
    let form = [
        ("search", config.search.clone()),
        ("earliest_time", format!("{:.3}", window.from.timestamp_millis() as f64 / 1000.0)),
        ("latest_time", format!("{:.3}", window.to.timestamp_millis() as f64 / 1000.0)),
        ("output_mode", "json".to_string()),
    ];
    let what = format!("POST {endpoint}");
    let build = || client.post(&endpoint).bearer_auth(&token).form(&form);
    let mut resp = with_retries(name, &what, || send(name, &what, &build)).await?;
    let mut pending: Vec<u8> = Vec::new();
    let mut line = 0u64;
    let mut offset = 0u64;
    let mut new_seen = Vec::new();
    let mut done = false;
    while !done {
        let chunk =
            resp.chunk().await.map_err(|e| err(name, format!("{what}: the answer broke off: {}", e.without_url())))?;
        if let Some(chunk) = chunk {
            pending.extend_from_slice(&chunk);
        } else {
            done = true;
            if !pending.is_empty() && pending.last() != Some(&b'\n') {
                pending.push(b'\n');
            }
        }
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let raw: Vec<u8> = pending.drain(..=end).collect();
            let at = offset;
            offset += raw.len() as u64;
            line += 1;
            let text = String::from_utf8_lossy(&raw);
            let text = text.trim_start_matches('\u{feff}').trim();
            if text.is_empty() {
                continue;
            }
            report.records += 1;
            let value: Option<Value> = serde_json::from_str(text).ok();
            let result =
                value.as_ref().filter(|v| v.get("preview") != Some(&Value::Bool(true))).and_then(|v| v.get("result"));
            if result.is_some_and(|r| !fresh_row(&window, r, &mut new_seen)) {
                continue;
            }
            let provenance = run.provenance(name, &endpoint, (line, at), sha256_hex(text.as_bytes()));
            let record = crate::siem::splunk_export_line(text, &pointer);
            sink.push_record(writer, name, &mut report, (record, provenance, text.as_bytes())).await?;
        }
    }
    if report.events > 0 {
        report.objects_with_new_data = 1;
    }
    cursors.insert(endpoint, window.cursor(line, new_seen));
    Ok(report)
}

/// A value Splunk writes as a number or a string of one.
fn count_of(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.trim().parse().ok())
}

/// The text of a Splunk answer's `messages` of type ERROR or FATAL.
fn error_messages(answer: &Value) -> Vec<String> {
    answer
        .get("messages")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter(|x| matches!(x.get("type").and_then(Value::as_str), Some("ERROR" | "FATAL")))
                .filter_map(|x| x.get("text").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `mode = "search-job"`: creates a search job over the window, polls it until `DONE` (backing
/// off, up to `job_timeout_seconds`, cancelling it then), pages through its results with
/// `offset`/`count`, and deletes the job. Nothing is recorded for the source unless every page
/// was read.
async fn collect_splunk_job(
    config: &SplunkApiConfig,
    token: &str,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut BTreeMap<String, SourceCursor>,
) -> Result<SourceReport, CollectError> {
    let name = config.name.as_str();
    let pointer = config.event.clone().unwrap_or_else(|| crate::siem::SPLUNK_RESULTS_EVENT.to_string());
    let jobs = format!("{}/services/search/jobs", config.url.trim_end_matches('/'));
    let mut report = SourceReport { name: name.into(), objects: 1, ..SourceReport::default() };
    let Some(window) = Window::of(name, &config.start, config.overlap_seconds, cursors.get(&jobs), run.collected_at)?
    else {
        return Ok(report);
    };
    let client = http_client(name, Duration::from_secs(120))?;
    let form = [
        ("search", config.search.clone()),
        ("earliest_time", format!("{:.3}", window.from.timestamp_millis() as f64 / 1000.0)),
        ("latest_time", format!("{:.3}", window.to.timestamp_millis() as f64 / 1000.0)),
        ("exec_mode", "normal".to_string()),
        ("output_mode", "json".to_string()),
    ];
    let what = format!("POST {jobs}");
    let created = send_json(name, &what, || client.post(&jobs).bearer_auth(token).form(&form), |_| false).await?;
    let sid = created.get("sid").and_then(Value::as_str).unwrap_or_default();
    // The sid goes into URL paths: only the characters Splunk uses in sids.
    if sid.is_empty() || !sid.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
        return Err(err(name, format!("{what}: the answer carries no usable `sid`: {sid:?}")));
    }
    let job = format!("{jobs}/{sid}");
    let outcome = read_job(config, token, &client, &job, (&window, &pointer), (run, writer, sink, &mut report)).await;
    // The job is deleted whatever happened; a failure to delete only costs Splunk some disk.
    if let Err(e) = client.delete(&job).bearer_auth(token).send().await {
        tracing::debug!(source = name, job = %job, error = %e.without_url(), "search job not deleted");
    }
    let (read, next_seen) = outcome?;
    if report.events > 0 {
        report.objects_with_new_data = 1;
    }
    cursors.insert(jobs, window.cursor(read, next_seen));
    Ok(report)
}

/// Polls a search job until it is done, then reads every page of its results; returns the rows
/// read and the ids inside the next overlap window.
async fn read_job(
    config: &SplunkApiConfig,
    token: &str,
    client: &reqwest::Client,
    job: &str,
    (window, pointer): (&Window, &str),
    (run, writer, sink, report): (&CollectRun<'_>, &mut RunWriter<'_>, &mut RowSink, &mut SourceReport),
) -> Result<(u64, Vec<String>), CollectError> {
    let name = config.name.as_str();
    let deadline = std::time::Instant::now() + Duration::from_secs(config.job_timeout_seconds);
    let mut wait = Duration::from_millis(200);
    let what = format!("GET {job}");
    let total = loop {
        let status =
            send_json(name, &what, || client.get(job).bearer_auth(token).query(&[("output_mode", "json")]), |_| false)
                .await?;
        let content = &status["entry"][0]["content"];
        match content.get("dispatchState").and_then(Value::as_str) {
            Some("DONE") => break content.get("resultCount").and_then(count_of),
            Some("FAILED") => {
                let why = error_messages(&status).join("; ");
                return Err(err(name, format!("{what}: the search job failed: {why}")));
            }
            _ => {}
        }
        if std::time::Instant::now() >= deadline {
            let control = format!("{job}/control");
            let _ = client.post(&control).bearer_auth(token).form(&[("action", "cancel")]).send().await;
            return Err(err(
                name,
                format!("{what}: the search job was not done after {} s; it was cancelled", config.job_timeout_seconds),
            ));
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    };
    let results = format!("{job}/results");
    let page_size = config.page_size.max(1);
    let (mut offset, mut next_seen) = (0u64, Vec::new());
    loop {
        let what = format!("GET {results} (offset {offset})");
        let query =
            [("output_mode", "json".to_string()), ("offset", offset.to_string()), ("count", page_size.to_string())];
        let page = send_json(name, &what, || client.get(&results).bearer_auth(token).query(&query), |_| false).await?;
        for message in error_messages(&page) {
            tracing::warn!(source = name, %message, "Splunk reported an error with the results");
        }
        let rows = page
            .get("results")
            .and_then(Value::as_array)
            .ok_or_else(|| err(name, format!("{what}: the answer has no `results` array")))?;
        let first = page.get("init_offset").and_then(count_of).unwrap_or(offset);
        for (i, row) in rows.iter().enumerate() {
            report.records += 1;
            if !fresh_row(window, row, &mut next_seen) {
                continue;
            }
            let text = row.to_string();
            let provenance =
                run.provenance(name, &results, (first + i as u64 + 1, first + i as u64), sha256_hex(text.as_bytes()));
            let record = crate::siem::splunk_result_row(row, pointer);
            sink.push_record(writer, name, report, (record, provenance, text.as_bytes())).await?;
        }
        offset = first + rows.len() as u64;
        if rows.is_empty() || total.is_some_and(|t| offset >= t) {
            break;
        }
    }
    Ok((offset, next_seen))
}
