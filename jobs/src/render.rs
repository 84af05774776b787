//! The render step: the portal from the lake, with the signed bundles of `[bundles] out` copied
//! into its `downloads/` folder and linked from the control pages.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use cairn_evidence::classification::Audience;
use cairn_renderer::bundle::{bundle_digest, write_digest_file};
use cairn_renderer::model::DownloadView;
use cairn_renderer::templates::Templates;

use crate::pipeline::{self, Workspace};

/// Renders the portal for `[portal] audience`; returns the path of its index page. Its pages
/// withhold what the audience may not see. Bundles found in the bundles folder are copied into
/// `downloads/` and linked from the control pages, except, for an external audience, those made
/// for an internal one.
pub async fn render(ws: &Workspace, out: &Path) -> Result<PathBuf> {
    // Templates first: a template folder at fault fails before the lake is read.
    let templates = templates(ws)?;
    let mut view = pipeline::read_view(ws).await?;
    let audience = ws.config.portal_audience;
    ws.withhold(&mut view, audience);
    let checked = ws.checked_controls()?;
    let downloads = list_bundles(&ws.config.bundles_out, audience)?;
    let mut model = ws.portal_model(&view, &checked, &ws.public_key()?, &downloads)?;
    model.oscal = true;
    let built = cairn_renderer::portal::build_with(&model, &templates, out)?;
    if !downloads.is_empty() {
        let target = out.join("downloads");
        std::fs::create_dir_all(&target).with_context(|| format!("cannot create {}", target.display()))?;
        for d in &downloads {
            let from = pipeline::safe_join(&ws.config.bundles_out, &d.name)?;
            let to = pipeline::safe_join(&target, &d.name)?;
            // Each copy keeps its digest file beside it, so an unchanged copy is not read again.
            let same = bundle_digest(&to).is_ok_and(|(sha256, _)| sha256 == d.sha256);
            if !same {
                std::fs::copy(&from, &to).with_context(|| format!("cannot copy {}", from.display()))?;
                write_digest_file(&to, &d.sha256)
                    .with_context(|| format!("cannot write the digest of {}", to.display()))?;
            }
        }
    }
    let withheld: u64 = view.withheld.row_counts().iter().map(|(_, n)| n).sum();
    tracing::info!(
        audience = audience.as_str(),
        withheld_rows = withheld,
        pages = built.pages,
        written = built.written.len(),
        removed = built.removed.len(),
        bundles = downloads.len(),
        templates_overridden = templates.overrides().len(),
        out = %out.display(),
        "portal rendered"
    );
    Ok(out.join("index.html"))
}

/// The portal's templates: the built-in ones, with those of `[portal] templates` in their place.
pub fn templates(ws: &Workspace) -> Result<Templates> {
    Ok(match &ws.config.portal_templates {
        Some(dir) => Templates::load(dir)?,
        None => Templates::built_in()?,
    })
}

/// The signed bundles in `dir` that `audience` may see, by name.
fn list_bundles(dir: &Path, audience: Audience) -> Result<Vec<DownloadView>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(out) };
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else { continue };
        let Some(stem) = name.strip_prefix("cairn-evidence-").and_then(|n| n.strip_suffix(".zip")) else { continue };
        // cairn-evidence-<scope>-<run id>.zip; a run id is 25 characters.
        let scope = stem.len().checked_sub(26).map_or("", |cut| &stem[..cut]).to_string();
        // A bundle made for the organisation's own team may hold personal values: a portal
        // outsiders read never offers it.
        let made_for = cairn_verifier::bundle::unchecked_manifest(&path).ok().and_then(|m| m.audience);
        if audience == Audience::External && made_for.is_some_and(|a| a.audience == Audience::Internal) {
            tracing::warn!(bundle = %path.display(), "not offered on the portal: made for an internal audience");
            continue;
        }
        let (sha256, size) = bundle_digest(&path).with_context(|| format!("cannot read {}", path.display()))?;
        out.push(DownloadView { name, size, sha256, scope });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
