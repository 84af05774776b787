//! Object stores from URLs: the one place that knows the schemes.
//!
//! `s3://bucket/prefix`, `gs://bucket/prefix` and `az://container/prefix` (also `abfs://`,
//! `azure://`) are opened with the cloud's usual environment variables, exactly as in
//! production: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT` (an
//! S3-compatible server), `AWS_ALLOW_HTTP`; `GOOGLE_SERVICE_ACCOUNT`…; `AZURE_STORAGE_ACCOUNT_NAME`,
//! `AZURE_STORAGE_ACCOUNT_KEY`…. The returned store is rooted at the URL's prefix. Credentials
//! never appear in messages: errors name the URL only.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::ObjectStore;

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
    let store: Arc<dyn ObjectStore> = match scheme {
        "s3" => Arc::new(AmazonS3Builder::from_env().with_url(&root).build().map_err(|e| message(url, &e))?),
        "gs" => Arc::new(GoogleCloudStorageBuilder::from_env().with_url(&root).build().map_err(|e| message(url, &e))?),
        _ => Arc::new(MicrosoftAzureBuilder::from_env().with_url(&root).build().map_err(|e| message(url, &e))?),
    };
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        return Ok(Some(store));
    }
    let prefix = ObjectPath::parse(prefix).map_err(|e| format!("{url}: {e}"))?;
    Ok(Some(Arc::new(PrefixStore::new(store, prefix))))
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
