//! `cairn export oscal`: the lake's assessment as OSCAL JSON documents in a folder.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::pipeline::{self, Workspace};

/// Writes the OSCAL assessment results, assessment plan and component definition of every
/// control into `out` (created if missing); returns the files written. Evidence links are lake
/// object keys, relative to the lake's root.
pub async fn oscal(ws: &Workspace, out: &Path) -> Result<Vec<PathBuf>> {
    let view = pipeline::read_view(ws).await?;
    let checked = ws.checked_controls()?;
    let model = ws.portal_model(&view, &checked, &ws.public_key()?, &[])?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut written = Vec::new();
    for (name, bytes) in cairn_renderer::oscal::documents(&model, &[], &cairn_renderer::oscal::Placement::Lake) {
        let path = pipeline::safe_join(out, &name)?;
        let tmp = pipeline::safe_join(out, &format!("{name}.tmp"))?;
        std::fs::write(&tmp, &bytes)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    tracing::info!(files = written.len(), out = %out.display(), "OSCAL written");
    Ok(written)
}
