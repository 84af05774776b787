//! What API sources (`splunk-api`, `datadog-api`) share: requests retried through rate limits,
//! server errors and timeouts, and the time window each run asks for, from a watermark and an
//! overlap.

use std::collections::BTreeSet;
use std::time::Duration;

use cairn_evidence::manifest::SourceCursor;
use cairn_evidence::time::parse_rfc3339;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::CollectError;

pub(crate) fn default_overlap() -> u64 {
    300
}

pub(crate) fn default_page() -> u32 {
    1000
}

/// How long logs are given to be indexed before a run asks for them.
const SETTLE_SECONDS: i64 = 60;

/// Attempts per request before the run gives up (nothing is recorded for the source then).
const ATTEMPTS: u32 = 6;

/// The longest wait a rate limit may impose on one request.
const MAX_WAIT: Duration = Duration::from_secs(60);

pub(crate) fn err(name: &str, detail: String) -> CollectError {
    CollectError::Location { source_name: name.to_string(), detail }
}

/// A little jitter from the clock, so retries of many jobs do not align.
fn jitter() -> Duration {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    Duration::from_millis(u64::from(nanos % 250))
}

/// Sends a request until the server answers with success, honouring rate limits and backing
/// off on server errors and timeouts.
pub(crate) async fn send(
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
pub(crate) async fn with_retries<T, F, Fut>(name: &str, what: &str, attempt: F) -> Result<T, CollectError>
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
pub(crate) async fn send_json(
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
pub(crate) struct Window {
    pub(crate) from: DateTime<Utc>,
    pub(crate) to: DateTime<Utc>,
    overlap: chrono::Duration,
    /// Ids collected inside the overlap window by the last run.
    pub(crate) seen: BTreeSet<String>,
    /// Records read by earlier runs.
    lines: u64,
}

impl Window {
    /// From the last watermark minus the overlap (or `start`) to a minute ago; `None` when that
    /// is empty.
    pub(crate) fn of(
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
    pub(crate) fn in_next_overlap(&self, at: Option<DateTime<Utc>>) -> bool {
        at.is_some_and(|t| t >= self.to - self.overlap)
    }

    /// The cursor after reading `read` records, with the ids inside the next overlap window.
    pub(crate) fn cursor(&self, read: u64, mut next_seen: Vec<String>) -> SourceCursor {
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

pub(crate) fn http_client(name: &str, timeout: Duration) -> Result<reqwest::Client, CollectError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| err(name, format!("cannot build an HTTP client: {e}")))
}
