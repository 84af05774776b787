//! Published key documents (`[[trust.published]]`): fetched every collect run, each distinct
//! version kept as a blob, every key recorded in the `keys` table.
//!
//! ```toml
//! [[trust.published]]
//! name = "vendor"
//! url = "https://vendor.example/.well-known/jwks.json"   # or a file path
//! pins = { "vendor-2026" = "<fingerprint>" }             # optional: kid = fingerprint
//! grace_hours = 72                                       # default 72
//! timeout_seconds = 10                                   # connect and total; default 10
//! max_bytes = 1048576                                    # default 1 MiB
//! join_keyring = false                                   # default: the keys are only recorded
//! chains = ["vendor-*"]                                  # with join_keyring: what they may sign
//! ```
//!
//! A fetch never fails the run: a document that cannot be fetched (timeout, refused redirect,
//! bad status, too big) or parsed is recorded as an `unreachable` row with the reason and logged
//! as a warning; the verifier decides, from the grace period, when that becomes a finding. URLs
//! must be `https://`, except plain `http://` to the local machine (`127.0.0.1`, `localhost`,
//! `[::1]`); a redirect is followed only to the same host and never down to plain HTTP. A URL's
//! user info, query and fragment (where tokens live) are never logged nor stored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use cairn_evidence::artefacts::KeyRow;
use cairn_evidence::digest::sha256_hex;
use cairn_evidence::lake::RunWriter;
use cairn_evidence::published::{events, parse_document, DocumentHistory, PublishedKey};
use cairn_evidence::tables::Provenance;
use cairn_evidence::time::format_rfc3339;
use reqwest::Url;
use serde::Deserialize;

use crate::error::CollectError;
use crate::run::CollectRun;
use crate::sink::RowSink;

/// One `[[trust.published]]` entry as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPublished {
    /// Its name (letters, digits, `-`, `_`).
    pub name: String,
    /// `https://` URL (plain `http://` only to the local machine) or a file path.
    pub url: String,
    /// Expected fingerprints by kid: lowercase hex SHA-256 of the raw 32-byte key.
    #[serde(default)]
    pub pins: BTreeMap<String, String>,
    /// Hours a document may stay unreachable before it is a finding.
    pub grace_hours: Option<u32>,
    /// Connect and total timeout of one fetch, in seconds.
    pub timeout_seconds: Option<u64>,
    /// The largest document accepted.
    pub max_bytes: Option<u64>,
    /// Whether the document's keys join the keyring.
    #[serde(default)]
    pub join_keyring: bool,
    /// With `join_keyring`: chain globs the keys may sign (default: none).
    #[serde(default)]
    pub chains: Vec<String>,
    /// With `join_keyring`: attestation source globs the keys may sign (default: none).
    #[serde(default)]
    pub attestations: Vec<String>,
    /// With `join_keyring`: Decision Card id globs the keys may sign (default: none).
    #[serde(default)]
    pub policies: Vec<String>,
}

/// Where a document is fetched from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocumentLocation {
    /// An `https://` (or local `http://`) URL.
    Url(Url),
    /// A file.
    File(PathBuf),
}

/// What a joined document's keys may sign.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JoinScope {
    /// Chain globs.
    pub chains: Vec<String>,
    /// Attestation source globs.
    pub attestations: Vec<String>,
    /// Decision Card id globs.
    pub policies: Vec<String>,
}

/// A checked `[[trust.published]]` entry.
#[derive(Clone, Debug)]
pub struct PublishedSource {
    /// Its name.
    pub name: String,
    /// Where it lives.
    pub location: DocumentLocation,
    /// Expected fingerprints by kid.
    pub pins: BTreeMap<String, String>,
    /// How long it may stay unreachable before that is a finding.
    pub grace_hours: u32,
    /// Connect and total timeout of one fetch.
    pub timeout: Duration,
    /// The largest document accepted, in bytes.
    pub max_bytes: u64,
    /// `Some` when its keys join the keyring, with what they may sign.
    pub join: Option<JoinScope>,
}

/// Default grace period.
pub const DEFAULT_GRACE_HOURS: u32 = 72;
/// Default fetch timeout.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 10;
/// Default size limit: 1 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 1024 * 1024;

impl RawPublished {
    /// Checks the entry; relative paths resolve against `base`. Errors name the entry and field.
    pub fn check(self, base: &Path) -> Result<PublishedSource, String> {
        let name = self.name;
        let bad = |field: &str, detail: String| format!("[[trust.published]] {name:?}: `{field}`: {detail}");
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(bad("name", "must be letters, digits, `-` or `_`".into()));
        }
        let location = if self.url.contains("://") {
            let url = Url::parse(&self.url).map_err(|e| bad("url", format!("not a URL: {e}")))?;
            check_scheme(&url).map_err(|d| bad("url", d))?;
            DocumentLocation::Url(url)
        } else {
            let path = Path::new(&self.url);
            DocumentLocation::File(if path.is_absolute() { path.to_path_buf() } else { base.join(path) })
        };
        for (kid, fp) in &self.pins {
            if fp.len() != 64 || !fp.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                return Err(bad(
                    &format!("pins.{kid}"),
                    "must be a fingerprint: 64 lowercase hex digits (SHA-256 of the raw 32-byte key)".into(),
                ));
            }
        }
        let timeout = self.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
        if timeout == 0 {
            return Err(bad("timeout_seconds", "must be at least 1".into()));
        }
        let max_bytes = self.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
        if max_bytes == 0 {
            return Err(bad("max_bytes", "must be at least 1".into()));
        }
        let scope = JoinScope { chains: self.chains, attestations: self.attestations, policies: self.policies };
        if !self.join_keyring && scope != JoinScope::default() {
            return Err(bad(
                "join_keyring",
                "`chains`, `attestations` and `policies` only apply when `join_keyring = true`".into(),
            ));
        }
        Ok(PublishedSource {
            name,
            location,
            pins: self.pins,
            grace_hours: self.grace_hours.unwrap_or(DEFAULT_GRACE_HOURS),
            timeout: Duration::from_secs(timeout),
            max_bytes,
            join: self.join_keyring.then_some(scope),
        })
    }
}

/// `https://` anywhere; plain `http://` only to the local machine.
fn check_scheme(url: &Url) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(format!(
            "plain http:// is refused for {}: use https:// (http:// is allowed only to 127.0.0.1, localhost or [::1])",
            url.host_str().unwrap_or("?")
        )),
        other => Err(format!("scheme {other:?} is not supported: use https:// or a file path")),
    }
}

fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
}

impl DocumentLocation {
    /// How it is shown in logs and stored: a URL without user info, query or fragment.
    pub fn shown(&self) -> String {
        match self {
            Self::Url(url) => {
                let mut url = url.clone();
                let _ = url.set_username("");
                let _ = url.set_password(None);
                url.set_query(None);
                url.set_fragment(None);
                url.to_string()
            }
            Self::File(path) => path.display().to_string(),
        }
    }
}

/// Fetches a document's bytes within its timeout and size limit. The error is one line, safe
/// to log (no URL query, no credentials).
pub async fn fetch(doc: &PublishedSource) -> Result<Bytes, String> {
    // The whole fetch is bounded too, so nothing (a slow file system, a body dripping in) can
    // hold the run past the timeout.
    let limit = doc.timeout + Duration::from_secs(1);
    match tokio::time::timeout(limit, fetch_unbounded(doc)).await {
        Ok(result) => result,
        Err(_) => Err(format!("timed out after {} s", doc.timeout.as_secs())),
    }
}

async fn fetch_unbounded(doc: &PublishedSource) -> Result<Bytes, String> {
    let max = doc.max_bytes;
    let too_big = || format!("larger than the limit of {max} bytes (`max_bytes`)");
    match &doc.location {
        DocumentLocation::File(path) => {
            use tokio::io::AsyncReadExt as _;
            let file = tokio::fs::File::open(path).await.map_err(|e| format!("cannot open: {e}"))?;
            let mut bytes = Vec::new();
            file.take(max + 1).read_to_end(&mut bytes).await.map_err(|e| format!("cannot read: {e}"))?;
            if bytes.len() as u64 > max {
                return Err(too_big());
            }
            Ok(Bytes::from(bytes))
        }
        DocumentLocation::Url(url) => {
            let origin = url.clone();
            let policy = reqwest::redirect::Policy::custom(move |attempt| {
                let to = attempt.url();
                if to.host_str() != origin.host_str() || to.port_or_known_default() != origin.port_or_known_default() {
                    let host = to.host_str().unwrap_or("?").to_string();
                    attempt.error(format!("a redirect to another host ({host}) is refused"))
                } else if origin.scheme() == "https" && to.scheme() != "https" {
                    attempt.error("a redirect from https:// to plain http:// is refused")
                } else if attempt.previous().len() > 5 {
                    attempt.error("more than 5 redirects")
                } else {
                    attempt.follow()
                }
            });
            let client = reqwest::Client::builder()
                .connect_timeout(doc.timeout)
                .timeout(doc.timeout)
                .redirect(policy)
                .user_agent(concat!("cairn/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| http_error(&e))?;
            let mut response = client.get(url.clone()).send().await.map_err(|e| http_error(&e))?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("HTTP status {status}"));
            }
            if response.content_length().is_some_and(|n| n > max) {
                return Err(too_big());
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| http_error(&e))? {
                if (bytes.len() + chunk.len()) as u64 > max {
                    return Err(too_big());
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(Bytes::from(bytes))
        }
    }
}

/// A reqwest error and its causes on one line, without the URL (it may carry a token).
fn http_error(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() { "timed out".to_string() } else { String::new() };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    if text.is_empty() {
        text = strip_url(&error.to_string());
    }
    while let Some(e) = source {
        let part = strip_url(&e.to_string());
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

/// Removes a `for url (…)` part reqwest adds to its messages.
fn strip_url(text: &str) -> String {
    match text.find(" for url (") {
        Some(at) => {
            let rest = &text[at..];
            let end = rest.find(')').map_or(text.len(), |e| at + e + 1);
            format!("{}{}", &text[..at], &text[end..])
        }
        None => text.to_string(),
    }
}

/// What one document's fetch did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedReport {
    /// The document's name.
    pub name: String,
    /// Keys it holds now (none when unreachable).
    pub keys: usize,
    /// Keys added, changed, removed or missing since the last fetch.
    pub changes: usize,
    /// Why it could not be fetched or parsed.
    pub unreachable: Option<String>,
}

/// A fetched and parsed document.
pub struct Fetched {
    /// Lowercase hex SHA-256 of its bytes.
    pub sha256: String,
    /// Its blob.
    pub blob: String,
    /// Its keys.
    pub keys: Vec<PublishedKey>,
}

/// The `keys` rows of one fetch, given what the table held before (`history`). Pure: the caller
/// fetched, parsed and stored the blob.
pub fn observe(
    doc: &PublishedSource,
    history: Option<&DocumentHistory>,
    outcome: &Result<Fetched, String>,
    run: &CollectRun<'_>,
) -> Vec<KeyRow> {
    let location = doc.location.shown();
    let at = format_rfc3339(run.collected_at);
    let fetched = match outcome {
        Ok(f) => f,
        Err(detail) => {
            return vec![KeyRow {
                document: doc.name.clone(),
                location: location.clone(),
                event: events::UNREACHABLE.into(),
                kid: String::new(),
                algorithm: String::new(),
                fingerprint: String::new(),
                public_key: String::new(),
                previous_fingerprint: None,
                pinned: None,
                first_seen: None,
                fetched_at: at,
                document_sha256: None,
                blob: None,
                detail: detail.clone(),
                provenance: provenance(doc, &location, String::new(), run),
            }]
        }
    };
    let row = |event: &str, kid: &str| KeyRow {
        document: doc.name.clone(),
        location: location.clone(),
        event: event.into(),
        kid: kid.into(),
        algorithm: String::new(),
        fingerprint: String::new(),
        public_key: String::new(),
        previous_fingerprint: None,
        pinned: doc.pins.get(kid).cloned(),
        first_seen: None,
        fetched_at: at.clone(),
        document_sha256: Some(fetched.sha256.clone()),
        blob: Some(fetched.blob.clone()),
        detail: String::new(),
        provenance: provenance(doc, &location, fetched.sha256.clone(), run),
    };
    let mut rows = vec![KeyRow { pinned: None, ..row(events::FETCHED, "") }];
    let before = |kid: &str| history.and_then(|h| h.keys.get(kid));
    for key in &fetched.keys {
        let fingerprint = key.fingerprint();
        let known = before(&key.kid).filter(|k| k.removed_at.is_none());
        let (event, previous) = match known {
            None => (events::ADDED, None),
            Some(k) if k.fingerprint == fingerprint => (events::UNCHANGED, None),
            Some(k) => (events::CHANGED, Some(k.fingerprint.clone())),
        };
        let first_seen = match (event, before(&key.kid)) {
            (events::ADDED, _) | (_, None) => at.clone(),
            (_, Some(k)) => k.first_seen.clone(),
        };
        rows.push(KeyRow {
            algorithm: key.algorithm.clone(),
            fingerprint,
            public_key: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key.key.as_bytes()),
            previous_fingerprint: previous,
            first_seen: Some(first_seen),
            ..row(event, &key.kid)
        });
    }
    let held = |kid: &str| fetched.keys.iter().any(|k| k.kid == kid);
    if let Some(h) = history {
        for gone in h.current().filter(|k| !held(&k.kid)) {
            rows.push(KeyRow {
                algorithm: gone.algorithm.clone(),
                fingerprint: gone.fingerprint.clone(),
                public_key: gone.public_key.clone(),
                first_seen: Some(gone.first_seen.clone()),
                ..row(events::REMOVED, &gone.kid)
            });
        }
    }
    for kid in doc.pins.keys() {
        if !held(kid) && !rows.iter().any(|r| &r.kid == kid) {
            rows.push(row(events::MISSING, kid));
        }
    }
    rows
}

fn provenance(doc: &PublishedSource, location: &str, sha256: String, run: &CollectRun<'_>) -> Provenance {
    run.provenance(&doc.name, location, (1, 0), sha256)
}

/// Fetches every document, stores each new version as a blob and pushes its `keys` rows.
/// Only a lake error stops the run; a document that cannot be fetched is recorded and logged.
pub async fn collect(
    docs: &[PublishedSource],
    histories: &BTreeMap<String, DocumentHistory>,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
) -> Result<Vec<PublishedReport>, CollectError> {
    let mut reports = Vec::new();
    for doc in docs {
        let lake_err = |error| CollectError::Lake { source_name: doc.name.clone(), error };
        let shown = doc.location.shown();
        let history = histories.get(&doc.name);
        let outcome = match fetch(doc).await {
            Ok(bytes) => match parse_document(&bytes, &doc.name) {
                Ok(keys) => {
                    let sha256 = sha256_hex(&bytes);
                    let blob = writer.write_blob(bytes, run.simulated).await.map_err(lake_err)?;
                    Ok(Fetched { sha256, blob, keys })
                }
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e),
        };
        let rows = observe(doc, history, &outcome, run);
        let changes = rows
            .iter()
            .filter(|r| [events::ADDED, events::CHANGED, events::REMOVED, events::MISSING].contains(&r.event.as_str()))
            .count();
        for r in &rows {
            match r.event.as_str() {
                events::ADDED | events::CHANGED | events::REMOVED => {
                    tracing::info!(document = %doc.name, kid = %r.kid, fingerprint = %r.fingerprint, event = %r.event, "published key");
                }
                _ => {}
            }
            if let Some(pin) = r.pinned.as_deref().filter(|p| *p != r.fingerprint || r.event == events::REMOVED) {
                tracing::warn!(document = %doc.name, kid = %r.kid, pinned = %pin, observed = %r.fingerprint, "published key does not match its pinned fingerprint");
            }
        }
        let report = match &outcome {
            Ok(f) => PublishedReport { name: doc.name.clone(), keys: f.keys.len(), changes, unreachable: None },
            Err(reason) => {
                let since = history.and_then(|h| h.last_fetched.as_ref().map(|(t, _)| t.clone()));
                tracing::warn!(
                    document = %doc.name,
                    location = %shown,
                    reason = %reason,
                    last_fetched = since.as_deref().unwrap_or("never"),
                    grace_hours = doc.grace_hours,
                    "published key document unreachable; the run goes on"
                );
                PublishedReport { name: doc.name.clone(), keys: 0, changes: 0, unreachable: Some(reason.clone()) }
            }
        };
        sink.artefacts.keys.extend(rows);
        reports.push(report);
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(url: &str) -> RawPublished {
        RawPublished {
            name: "vendor".into(),
            url: url.into(),
            pins: BTreeMap::new(),
            grace_hours: None,
            timeout_seconds: None,
            max_bytes: None,
            join_keyring: false,
            chains: Vec::new(),
            attestations: Vec::new(),
            policies: Vec::new(),
        }
    }

    #[test]
    fn plain_http_is_only_for_the_local_machine() {
        assert!(raw("https://vendor.example/jwks.json").check(Path::new("/")).is_ok());
        assert!(raw("http://127.0.0.1:8080/jwks.json").check(Path::new("/")).is_ok());
        assert!(raw("http://localhost/jwks.json").check(Path::new("/")).is_ok());
        let err = raw("http://vendor.example/jwks.json").check(Path::new("/")).unwrap_err();
        assert!(err.contains("\"vendor\"") && err.contains("`url`") && err.contains("https://"), "{err}");
        let err = raw("ftp://vendor.example/jwks.json").check(Path::new("/")).unwrap_err();
        assert!(err.contains("ftp"), "{err}");
        let file = raw("keys/vendor.pub").check(Path::new("/etc/cairn")).unwrap();
        assert_eq!(file.location, DocumentLocation::File(PathBuf::from("/etc/cairn/keys/vendor.pub")));
    }

    #[test]
    fn pins_are_fingerprints_and_scopes_need_joining() {
        let mut r = raw("https://vendor.example/jwks.json");
        r.pins.insert("k1".into(), "ABC".into());
        let err = r.check(Path::new("/")).unwrap_err();
        assert!(err.contains("`pins.k1`") && err.contains("64 lowercase hex"), "{err}");
        let mut r = raw("https://vendor.example/jwks.json");
        r.chains = vec!["vendor-*".into()];
        let err = r.check(Path::new("/")).unwrap_err();
        assert!(err.contains("join_keyring"), "{err}");
    }

    #[test]
    fn shown_locations_carry_no_secrets() {
        let url = Url::parse("https://user:secret@vendor.example/jwks.json?token=abc#x").unwrap();
        assert_eq!(DocumentLocation::Url(url).shown(), "https://vendor.example/jwks.json");
        assert_eq!(strip_url("error sending request for url (https://h/x?t=1): boom"), "error sending request: boom");
    }
}
