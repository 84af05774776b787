//! Object stores from URLs: the one place that knows the schemes.
//!
//! `s3://bucket/prefix`, `gs://bucket/prefix` and `az://container/prefix` (also `abfs://`,
//! `azure://`) are opened with the cloud's usual environment variables, exactly as in
//! production: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT` (an
//! S3-compatible server), `AWS_ALLOW_HTTP`; `GOOGLE_SERVICE_ACCOUNT`…; `AZURE_STORAGE_ACCOUNT_NAME`,
//! `AZURE_STORAGE_ACCOUNT_KEY`…. The returned store is rooted at the URL's prefix. Credentials
//! never appear in messages: errors name the URL only.
//!
//! Requests that fail with a timeout, a connection error, a 5xx (including S3's 503 SlowDown) or
//! a 429 are retried with exponential backoff and jitter by the store's client (at most
//! `CAIRN_STORE_MAX_RETRIES` times, default 10; each request may take
//! `CAIRN_STORE_TIMEOUT_SECONDS`, default 60), and whatever still fails on the way (an upload cut
//! off by a reset) is retried by [`RetryingStore`], all within `CAIRN_STORE_RETRY_SECONDS`
//! (default 180). Past that the error reaches the run, which stops with exit code 2 before
//! committing anything.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use crate::retry::{RetryPolicy, RetryingStore};

/// The cloud schemes Cairn opens.
pub const CLOUD_SCHEMES: [&str; 5] = ["s3", "gs", "az", "abfs", "azure"];

/// Opens a cloud URL rooted at its prefix; `Ok(None)` when `url` is not a cloud URL.
pub fn open_cloud(url: &str) -> Result<Option<Arc<dyn ObjectStore>>, String> {
    let Some((scheme, rest)) = url.split_once("://") else { return Ok(None) };
    if !CLOUD_SCHEMES.contains(&scheme) {
        return Ok(None);
    }
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(format!("{url} names no bucket"));
    }
    let root = format!("{scheme}://{bucket}");
    let (retry, client) = (retry_config()?, client_options()?);
    let store: Arc<dyn ObjectStore> = match scheme {
        "s3" => Arc::new(
            AmazonS3Builder::from_env()
                .with_url(&root)
                .with_retry(retry)
                .with_client_options(client.with_allow_http(allow_http()))
                .build()
                .map_err(|e| message(url, &e))?,
        ),
        "gs" => Arc::new(
            GoogleCloudStorageBuilder::from_env()
                .with_url(&root)
                .with_retry(retry)
                .with_client_options(client)
                .build()
                .map_err(|e| message(url, &e))?,
        ),
        _ => Arc::new(
            MicrosoftAzureBuilder::from_env()
                .with_url(&root)
                .with_retry(retry)
                .with_client_options(client)
                .build()
                .map_err(|e| message(url, &e))?,
        ),
    };
    let store: Arc<dyn ObjectStore> = Arc::new(RetryingStore::new(store, retry_policy()?));
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        return Ok(Some(store));
    }
    let prefix = ObjectPath::parse(prefix).map_err(|e| format!("{url}: {e}"))?;
    Ok(Some(Arc::new(PrefixStore::new(store, prefix))))
}

/// A whole number of seconds from the environment variable `name`, or `default`.
fn env_seconds(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(text) => text.trim().parse().map_err(|_| format!("{name}={text:?} is not a whole number")),
        Err(_) => Ok(default),
    }
}

/// How long Cairn itself retries an operation the client gave up on (`CAIRN_STORE_RETRY_SECONDS`).
pub fn retry_policy() -> Result<RetryPolicy, String> {
    Ok(RetryPolicy {
        budget: std::time::Duration::from_secs(env_seconds("CAIRN_STORE_RETRY_SECONDS", 180)?),
        ..RetryPolicy::default()
    })
}

fn retry_config() -> Result<RetryConfig, String> {
    Ok(RetryConfig {
        backoff: BackoffConfig {
            init_backoff: std::time::Duration::from_millis(100),
            max_backoff: std::time::Duration::from_secs(15),
            base: 2.0,
        },
        max_retries: usize::try_from(env_seconds("CAIRN_STORE_MAX_RETRIES", 10)?).unwrap_or(10),
        retry_timeout: std::time::Duration::from_secs(env_seconds("CAIRN_STORE_RETRY_SECONDS", 180)?),
    })
}

fn client_options() -> Result<ClientOptions, String> {
    Ok(ClientOptions::new()
        .with_timeout(std::time::Duration::from_secs(env_seconds("CAIRN_STORE_TIMEOUT_SECONDS", 60)?))
        .with_connect_timeout(std::time::Duration::from_secs(10)))
}

/// `AWS_ALLOW_HTTP`, which replacing the client options would otherwise drop.
fn allow_http() -> bool {
    std::env::var("AWS_ALLOW_HTTP").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// A builder error, without anything that could hold a secret.
fn message(url: &str, e: &object_store::Error) -> String {
    let kind = match e {
        object_store::Error::Generic { store, .. } => format!("{store} configuration is incomplete or invalid"),
        other => other.to_string(),
    };
    format!("cannot open {url}: {kind}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cloud_urls_are_opened_here() {
        assert!(open_cloud("/var/lib/cairn").unwrap().is_none());
        assert!(open_cloud("file:///x").unwrap().is_none());
        assert!(open_cloud("memory://").unwrap().is_none());
        assert!(open_cloud("s3://").unwrap_err().contains("no bucket"));
    }
}
