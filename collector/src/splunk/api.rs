//! Source type `splunk-api`: Splunk's search REST API, by streaming export
//! (`POST /services/search/jobs/export`) or, with `mode = "search-job"`, by a search job and its
//! paged results.
//!
//! ```toml
//! [[source]]
//! name = "payments-splunk"
//! type = "splunk-api"
//! url = "https://splunk.example.com:8089"
//! search = "search index=audit sourcetype=cairn:audit"   # any order: chains are ordered by seq
//! start = "2026-11-01T00:00:00Z"
//! overlap_seconds = 300
//! ```
//!
//! The token comes from `SPLUNK_TOKEN` and is sent only as `Authorization: Bearer`. Each run asks
//! from the last watermark minus the overlap up to a minute ago, reads export rows as
//! `splunk-export` does (search-job rows as `splunk-results` does), and keeps the ids of rows inside
//! the overlap window so none is collected twice. Requests are retried through rate limits, server errors and timeouts.

use std::time::Duration;

use cairn_evidence::digest::sha256_hex;
use cairn_evidence::lake::RunWriter;
use serde::Deserialize;
use serde_json::Value;

use super::export::{parse_splunk_time, splunk_export_line, SPLUNK_EXPORT_EVENT};
use super::results::{splunk_result_row, SPLUNK_RESULTS_EVENT};
use crate::error::CollectError;
use crate::http::{default_overlap, default_page, err, http_client, send, send_json, with_retries, Window};
use crate::run::{CollectRun, Cursors, SourceReport};
use crate::sink::RowSink;
use crate::source::Source;

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
    /// The search. Its rows may come in any order (newest first is Splunk's default): chains
    /// are ordered by `seq` when they are verified.
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

impl Source for SplunkApiConfig {
    fn name(&self) -> &str {
        &self.name
    }

    fn type_name(&self) -> &'static str {
        "splunk-api"
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
        collect_splunk_api(self, run, writer, sink, cursors).await
    }
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
    let time = r.get("_time").and_then(Value::as_str).and_then(parse_splunk_time);
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
async fn collect_splunk_api(
    config: &SplunkApiConfig,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut Cursors,
) -> Result<SourceReport, CollectError> {
    let name = config.name.as_str();
    let pointer = config.event.clone().unwrap_or_else(|| SPLUNK_EXPORT_EVENT.to_string());
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
            let record = splunk_export_line(text, &pointer);
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
    cursors: &mut Cursors,
) -> Result<SourceReport, CollectError> {
    let name = config.name.as_str();
    let pointer = config.event.clone().unwrap_or_else(|| SPLUNK_RESULTS_EVENT.to_string());
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
            let record = splunk_result_row(row, pointer);
            sink.push_record(writer, name, report, (record, provenance, text.as_bytes())).await?;
        }
        offset = first + rows.len() as u64;
        if rows.is_empty() || total.is_some_and(|t| offset >= t) {
            break;
        }
    }
    Ok((offset, next_seen))
}
