//! The publish step: copies the rendered portal (with its `downloads/`) to an object-store prefix
//! or a folder, e.g. an S3 bucket served as a static website.
//!
//! Only changed files are uploaded, and in an order that never leaves the published site missing
//! a page: first every new or changed file, then the removal of files that no longer exist, and
//! last the index of what was published (`.cairn-published.json`: path → SHA-256). A run cut off
//! at any point leaves a complete site behind, and the next run finishes the work. Only files the
//! index lists are ever removed: other objects under the prefix are left alone.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result};
use bytes::Bytes;
use cairn_evidence::digest::sha256_hex;
use cairn_evidence::lake::{Lake, LakeError};
use cairn_renderer::bundle::bundle_digest;
use object_store::path::Path as ObjectPath;
use object_store::{Attribute, Attributes, PutOptions, PutPayload};

/// The index of what was published, at the destination's root.
pub const INDEX: &str = ".cairn-published.json";

/// What a publish did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// Files in the site.
    pub files: usize,
    /// Files uploaded because they were new or changed.
    pub uploaded: usize,
    /// Bytes uploaded.
    pub bytes: u64,
    /// Files removed because the site no longer has them.
    pub removed: usize,
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("md") => "text/markdown; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("zip") => "application/zip",
        Some("js") => "text/javascript; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Every file under `dir` as a `/`-separated relative path, skipping dot files (the renderer's
/// page list and temporary files).
fn site_files(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, prefix)) = stack.pop() {
        let entries = std::fs::read_dir(&folder).with_context(|| format!("cannot read {}", folder.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot read {}", folder.display()))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                anyhow::bail!("{}: a file name that is not UTF-8", folder.display());
            };
            if name.starts_with('.') {
                continue;
            }
            let kind = entry.file_type()?;
            let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
            if kind.is_dir() {
                stack.push((entry.path(), rel));
            } else if kind.is_file() {
                out.push(rel);
            }
            // Symbolic links are not followed: the site is what the renderer wrote.
        }
    }
    out.sort();
    Ok(out)
}

/// Publishes the site in `dir` to `url` (an `s3://`, `gs://`, `az://` prefix or a folder).
pub async fn publish(dir: &Path, url: &str, base: &Path) -> Result<PublishReport> {
    let dest = Lake::open(url, base).with_context(|| format!("cannot open the publish destination {url}"))?;
    let cloud = url.contains("://") && !url.starts_with("file://") && !url.starts_with("memory://");
    let files = site_files(dir)?;
    let old: BTreeMap<String, String> = match dest.get(INDEX).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the published index is unreadable; uploading every file");
            BTreeMap::new()
        }),
        Err(LakeError::Store { source: object_store::Error::NotFound { .. }, .. }) => BTreeMap::new(),
        Err(e) => return Err(e).context("cannot read the published index"),
    };
    let mut report = PublishReport { files: files.len(), ..PublishReport::default() };
    let mut new = BTreeMap::new();
    for rel in &files {
        let path = dir.join(rel);
        let read = || std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()));
        // A bundle's digest comes from the digest file beside it while that is current: bundles
        // are large, and most nights publish every one of them unchanged.
        let (sha, bytes) = if Path::new(rel).extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")) {
            let (sha, _) = bundle_digest(&path).with_context(|| format!("cannot read {}", path.display()))?;
            (sha, None)
        } else {
            let bytes = read()?;
            (sha256_hex(&bytes), Some(bytes))
        };
        if old.get(rel) != Some(&sha) {
            let bytes = match bytes {
                Some(b) => b,
                None => read()?,
            };
            let mut opts = PutOptions::default();
            if cloud {
                opts.attributes = Attributes::from_iter([(Attribute::ContentType, content_type(rel))]);
            }
            report.bytes += bytes.len() as u64;
            dest.store()
                .put_opts(&ObjectPath::parse(rel)?, PutPayload::from(Bytes::from(bytes)), opts)
                .await
                .with_context(|| format!("cannot upload {rel} to {url}"))?;
            report.uploaded += 1;
        }
        new.insert(rel.clone(), sha);
    }
    for rel in old.keys().filter(|rel| !new.contains_key(*rel)) {
        let Ok(path) = ObjectPath::parse(rel) else {
            tracing::warn!(path = %rel, "the published index names an invalid path; left alone");
            continue;
        };
        match dest.store().delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => report.removed += 1,
            Err(e) => return Err(e).with_context(|| format!("cannot remove {rel} from {url}")),
        }
    }
    let index = serde_json::to_vec_pretty(&new)?;
    dest.store()
        .put(&ObjectPath::from(INDEX), PutPayload::from(Bytes::from(index)))
        .await
        .with_context(|| format!("cannot write the published index to {url}"))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[tokio::test]
    async fn uploads_only_changes_removes_what_is_gone_and_leaves_other_files() {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("site");
        let dest = tmp.path().join("dest");
        std::fs::create_dir_all(&dest).unwrap();
        write(&dest, "unrelated.txt", "not ours");
        write(&site, "index.html", "<p>1</p>");
        write(&site, "controls/A-1.html", "a");
        write(&site, "controls/B-1.html", "b");
        write(&site, ".cairn-pages", "internal");
        let url = dest.to_str().unwrap();
        let first = publish(&site, url, tmp.path()).await.unwrap();
        assert_eq!((first.files, first.uploaded, first.removed), (3, 3, 0));
        assert_eq!(std::fs::read_to_string(dest.join("controls/A-1.html")).unwrap(), "a");
        assert!(!dest.join(".cairn-pages").exists());

        let again = publish(&site, url, tmp.path()).await.unwrap();
        assert_eq!((again.uploaded, again.removed), (0, 0), "nothing changed, nothing uploaded");

        write(&site, "index.html", "<p>2</p>");
        std::fs::remove_file(site.join("controls/B-1.html")).unwrap();
        let third = publish(&site, url, tmp.path()).await.unwrap();
        assert_eq!((third.uploaded, third.removed), (1, 1));
        assert_eq!(std::fs::read_to_string(dest.join("index.html")).unwrap(), "<p>2</p>");
        assert!(!dest.join("controls/B-1.html").exists());
        assert_eq!(std::fs::read_to_string(dest.join("unrelated.txt")).unwrap(), "not ours");
    }

    #[tokio::test]
    async fn a_lost_index_means_upload_everything_not_remove_anything() {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("site");
        let dest = tmp.path().join("dest");
        std::fs::create_dir_all(&dest).unwrap();
        write(&site, "index.html", "x");
        let url = dest.to_str().unwrap();
        publish(&site, url, tmp.path()).await.unwrap();
        std::fs::remove_file(dest.join(INDEX)).unwrap();
        write(&dest, "old.html", "stale, but not known to be ours");
        let report = publish(&site, url, tmp.path()).await.unwrap();
        assert_eq!((report.uploaded, report.removed), (1, 0));
        assert!(dest.join("old.html").exists());
    }
}
