//! The static auditor portal: tera templates (autoescaped) rendered from a [`PortalModel`].
//!
//! Built in three phases: new (templates), load (render every page in memory, reporting every
//! error at once with its template and page), build (write the files). Same model, same bytes.

use std::path::{Path, PathBuf};

use tera::{Context, Tera};

use crate::model::{chain_file_name, PortalModel};

/// The built-in templates, embedded so the binary works on its own.
const TEMPLATES: [(&str, &str); 10] = [
    ("framework.html", include_str!("../../templates/framework.html")),
    ("objects.html", include_str!("../../templates/objects.html")),
    ("object.html", include_str!("../../templates/object.html")),
    ("downloads.html", include_str!("../../templates/downloads.html")),
    ("base.html", include_str!("../../templates/base.html")),
    ("index.html", include_str!("../../templates/index.html")),
    ("chain.html", include_str!("../../templates/chain.html")),
    ("control.html", include_str!("../../templates/control.html")),
    ("runs.html", include_str!("../../templates/runs.html")),
    ("verify.html", include_str!("../../templates/verify.html")),
];

/// The built-in static assets.
const ASSETS: [(&str, &str); 1] = [("style.css", include_str!("../../site/style.css"))];

/// What went wrong rendering the portal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortalError {
    /// A template failed to parse.
    #[error("template {template}: {detail}")]
    Template {
        /// Template name.
        template: String,
        /// Why, with the whole cause chain.
        detail: String,
    },
    /// Pages failed to render (all of them are listed).
    #[error("{} page(s) failed to render:\n{}", .0.len(), .0.join("\n"))]
    Pages(Vec<String>),
    /// Writing a file failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn cause_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A rendered page: a path relative to the portal root, and its bytes.
pub type Page = (String, Vec<u8>);

fn templates() -> Result<Tera, PortalError> {
    let mut tera = Tera::default();
    tera.add_raw_templates(TEMPLATES.to_vec())
        .map_err(|e| PortalError::Template { template: "built-in".into(), detail: cause_chain(&e) })?;
    tera.autoescape_on(vec![".html"]);
    Ok(tera)
}

/// Renders every page in memory, sorted by path.
pub fn render(model: &PortalModel) -> Result<Vec<Page>, PortalError> {
    let tera = templates()?;
    let mut pages: Vec<Page> = Vec::new();
    let mut errors = Vec::new();
    let mut page = |path: String, template: &str, extra: &dyn Fn(&mut Context)| {
        let depth = path.matches('/').count();
        let mut ctx = Context::new();
        ctx.insert("root", &"../".repeat(depth));
        ctx.insert("latest_run", &model.latest_run);
        extra(&mut ctx);
        match tera.render(template, &ctx) {
            Ok(html) => pages.push((path, html.into_bytes())),
            Err(e) => errors.push(format!("page {path} (template {template}): {}", cause_chain(&e))),
        }
    };
    page("index.html".into(), "index.html", &|ctx| {
        ctx.insert("summary", &model.summary);
        ctx.insert("frameworks", &model.frameworks);
        ctx.insert("controls", &model.controls);
        ctx.insert("chains", &model.chains);
        ctx.insert("lake_findings", &model.lake_findings);
    });
    page("runs.html".into(), "runs.html", &|ctx| ctx.insert("runs", &model.runs));
    page("verify.html".into(), "verify.html", &|ctx| {
        ctx.insert("public_key", &model.public_key);
        ctx.insert("key_id", &model.key_id);
    });
    page("objects.html".into(), "objects.html", &|ctx| {
        ctx.insert("objects", &model.objects);
        ctx.insert("checkpoint", &model.checkpoint);
    });
    page("downloads.html".into(), "downloads.html", &|ctx| {
        ctx.insert("downloads", &model.downloads);
        ctx.insert("key_id", &model.key_id);
    });
    for framework in &model.frameworks {
        page(framework.file.clone(), "framework.html", &|ctx| ctx.insert("framework", framework));
    }
    for object in &model.objects {
        page(object.file.clone(), "object.html", &|ctx| {
            ctx.insert("object", object);
            ctx.insert("checkpoint", &model.checkpoint);
        });
    }
    for chain in &model.chains {
        page(format!("chains/{}", chain_file_name(&chain.id)), "chain.html", &|ctx| ctx.insert("chain", chain));
    }
    for control in &model.controls {
        page(format!("controls/{}.html", control.id), "control.html", &|ctx| ctx.insert("control", control));
    }
    if !errors.is_empty() {
        return Err(PortalError::Pages(errors));
    }
    for (name, body) in ASSETS {
        pages.push((name.to_string(), body.as_bytes().to_vec()));
    }
    pages.sort();
    Ok(pages)
}

/// Renders the portal into `out`. Returns the files written.
pub fn build(model: &PortalModel, out: &Path) -> Result<Vec<PathBuf>, PortalError> {
    let pages = render(model)?;
    let mut written = Vec::new();
    for (rel, bytes) in pages {
        // Every page path is built above from fixed names and sanitized ids; check anyway.
        debug_assert!(!rel.contains("..") && !rel.starts_with('/'));
        let path = out.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|source| PortalError::Write { path: parent.to_path_buf(), source })?;
        }
        std::fs::write(&path, &bytes).map_err(|source| PortalError::Write { path: path.clone(), source })?;
        written.push(path);
    }
    Ok(written)
}
