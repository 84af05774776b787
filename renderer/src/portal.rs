//! The static auditor portal: tera templates (autoescaped) rendered from a [`PortalModel`].
//!
//! Built in three phases: new (templates: the built-in ones, some perhaps replaced from a folder,
//! see [`crate::templates`]), load (render every page in memory, reporting every
//! error at once with its template and page), build (write the files). Same model, same bytes.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use tera::Context;

use crate::model::{chain_file_name, ControlView, DownloadView, PortalModel, RequirementView};
use crate::templates::{cause_chain, TemplateError, Templates};

/// The search page's script, inlined and allowed by its hash in that page's CSP.
const SEARCH_JS: &str = include_str!("../../site/search.js");

/// One entry of the search page.
#[derive(serde::Serialize)]
struct SearchEntry {
    kind: &'static str,
    title: String,
    page: String,
    /// Lowercased words it is found by.
    text: String,
}

/// Everything the search page lists: controls first, then requirements, chains, artefacts,
/// runs and lake objects.
fn search_entries(model: &PortalModel) -> Vec<SearchEntry> {
    let mut out = Vec::new();
    let mut add = |kind: &'static str, title: String, page: String, extra: &str| {
        let text = format!("{kind} {title} {extra}").to_lowercase();
        out.push(SearchEntry { kind, title, page, text });
    };
    for c in &model.controls {
        let maps: Vec<String> = c.requirements.iter().map(|r| format!("{} {}", r.framework, r.id)).collect();
        add(
            "control",
            format!("{} {}", c.id, c.title),
            format!("controls/{}.html", c.id),
            &format!("{} {}", c.status, maps.join(" ")),
        );
    }
    for f in &model.frameworks {
        add("framework", f.name.clone(), f.file.clone(), &f.key);
        for r in &f.requirements {
            let anchor = &r.anchor;
            add(
                "requirement",
                format!("{} {} {}", f.name, r.id, r.title),
                format!("{}#req-{anchor}", f.file),
                &format!("{} {}", r.group, r.controls.join(" ")),
            );
        }
    }
    for c in &model.chains {
        add("chain", c.id.clone(), format!("chains/{}", c.file), &format!("{} events", c.events));
    }
    for a in &model.supply.attestations {
        add("attestation", a.source_object.clone(), a.file.clone(), &a.predicate_type);
    }
    for s in &model.supply.sboms {
        add("sbom", format!("{} ({})", s.subject, s.spec), s.file.clone(), &s.source_object);
    }
    for s in &model.supply.scans {
        add("scan", format!("{} {} ({})", s.subject, s.subject_version, s.scanner), s.file.clone(), &s.source_object);
    }
    for r in &model.supply.test_runs {
        add("tests", format!("{} {} ({})", r.subject, r.subject_version, r.report), r.file.clone(), &r.source_object);
    }
    for t in &model.supply.threat_models {
        add("threat model", t.title.clone(), t.file.clone(), &format!("{} {}", t.subsystem, t.source_object));
    }
    for r in &model.runs {
        add("run", r.run_id.clone(), r.file.clone(), &r.stage);
    }
    for o in &model.objects {
        add("lake object", o.key.clone(), o.file.clone(), &format!("{} {}", o.table, o.sha256));
    }
    out
}

/// A control as the dashboard lists it: all but its description, evidence, failing findings and
/// history, which only its own page shows. With them, the dashboard's context was as large as every
/// control page's together, and built on one core.
#[derive(serde::Serialize)]
struct ControlSummary<'a> {
    id: &'a str,
    title: &'a str,
    evidence: &'a str,
    fails_on: &'a [String],
    max_age_days: u32,
    status: &'a str,
    reasons: &'a [String],
    requirements: &'a [RequirementView],
    bundles: &'a [DownloadView],
    failing_total: usize,
    simulated: bool,
}

impl<'a> ControlSummary<'a> {
    fn of(c: &'a ControlView) -> Self {
        Self {
            id: &c.id,
            title: &c.title,
            evidence: &c.evidence,
            fails_on: &c.fails_on,
            max_age_days: c.max_age_days,
            status: &c.status,
            reasons: &c.reasons,
            requirements: &c.requirements,
            bundles: &c.bundles,
            failing_total: c.failing_total,
            simulated: c.simulated,
        }
    }
}

/// The built-in static assets.
const ASSETS: [(&str, &str); 2] =
    [("style.css", include_str!("../../site/style.css")), ("favicon.svg", include_str!("../../site/favicon.svg"))];

/// What went wrong rendering the portal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortalError {
    /// The templates cannot be used: a template folder at fault, or templates that do not fit
    /// together.
    #[error(transparent)]
    Templates(#[from] TemplateError),
    /// Pages failed to render (all of them are listed).
    #[error(
        "{} page(s) failed to render:\n{}{}",
        pages.len(),
        pages.join("\n"),
        overrides.as_ref().map(|o| format!("\n(templates overridden: {o})")).unwrap_or_default()
    )]
    Pages {
        /// One line per page: its path, its template and the cause.
        pages: Vec<String>,
        /// The overridden templates and their folder, if any template is overridden.
        overrides: Option<String>,
    },
    /// Writing a file failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A rendered page: a path relative to the portal root, and its bytes.
pub type Page = (String, Vec<u8>);

/// A page to render: its path, its template and what it adds to the template's context.
type PageSpec<'a> = (String, &'static str, Box<dyn Fn(&mut Context) + Send + Sync + 'a>);

fn spec<'a>(path: String, template: &'static str, extra: impl Fn(&mut Context) + Send + Sync + 'a) -> PageSpec<'a> {
    (path, template, Box::new(extra))
}

/// Renders every page in memory with the built-in templates, sorted by path.
pub fn render(model: &PortalModel) -> Result<Vec<Page>, PortalError> {
    render_with(model, &Templates::built_in()?)
}

/// Renders every page in memory with `templates`, sorted by path.
pub fn render_with(model: &PortalModel, templates: &Templates) -> Result<Vec<Page>, PortalError> {
    let tera = &templates.tera;
    // Every page is listed first, then rendered on all cores; the order of the list is kept.
    let mut specs: Vec<PageSpec<'_>> = Vec::new();
    specs.push(spec("index.html".into(), "index.html", move |ctx| {
        ctx.insert("summary", &model.summary);
        ctx.insert("frameworks", &model.frameworks);
        ctx.insert("controls", &model.controls.iter().map(ControlSummary::of).collect::<Vec<_>>());
        ctx.insert("chains", &model.chains);
        ctx.insert("lake_findings", &model.lake_findings);
        ctx.insert("standing", &model.standing);
        ctx.insert("audience", &model.audience);
    }));
    specs.push(spec("runs.html".into(), "runs.html", move |ctx| ctx.insert("runs", &model.runs)));
    specs.push(spec("verify.html".into(), "verify.html", move |ctx| {
        // Instructions only: no evidence on this page.
        ctx.insert("simulated", &false);
        ctx.insert("public_key", &model.public_key);
        ctx.insert("key_id", &model.key_id);
    }));
    specs.push(spec("objects.html".into(), "objects.html", move |ctx| {
        ctx.insert("objects", &model.objects);
        ctx.insert("checkpoint", &model.checkpoint);
    }));
    specs.push(spec("keys.html".into(), "keys.html", move |ctx| {
        ctx.insert("keys", &model.keys);
        ctx.insert("published_documents", &model.published_documents);
        ctx.insert("published_keys", &model.published_keys);
    }));
    let entries = search_entries(model);
    let script_hash = {
        use base64::Engine as _;
        let digest = cairn_evidence::digest::Sha256Digest::of(SEARCH_JS.as_bytes());
        format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(digest.as_bytes()))
    };
    specs.push(spec("search.html".into(), "search.html", move |ctx| {
        ctx.insert("entries", &entries);
        ctx.insert("script", SEARCH_JS);
        ctx.insert("script_hash", &script_hash);
    }));
    for run in &model.runs {
        specs.push(spec(run.file.clone(), "run.html", move |ctx| {
            ctx.insert("run", run);
            ctx.insert("simulated", &run.simulated);
        }));
    }
    // The OSCAL export, when the portal carries it: listed on the downloads page.
    let oscal: Vec<Page> = if model.oscal {
        crate::oscal::documents(model, &[], &crate::oscal::Placement::Portal)
            .into_iter()
            .map(|(name, bytes)| (format!("oscal/{name}"), bytes))
            .collect()
    } else {
        Vec::new()
    };
    let oscal_links: Vec<serde_json::Value> = oscal
        .iter()
        .map(|(path, bytes)| {
            serde_json::json!({
                "name": path.strip_prefix("oscal/").unwrap_or(path), "size": bytes.len(),
                "sha256": cairn_evidence::digest::sha256_hex(bytes),
            })
        })
        .collect();
    specs.push(spec("downloads.html".into(), "downloads.html", move |ctx| {
        ctx.insert("downloads", &model.downloads);
        ctx.insert("oscal", &oscal_links);
        ctx.insert("oscal_version", crate::oscal::OSCAL_VERSION);
        ctx.insert("key_id", &model.key_id);
    }));
    for framework in &model.frameworks {
        specs.push(spec(framework.file.clone(), "framework.html", move |ctx| ctx.insert("framework", framework)));
    }
    for object in &model.objects {
        specs.push(spec(object.file.clone(), "object.html", move |ctx| {
            ctx.insert("object", object);
            ctx.insert("simulated", &object.simulated);
            ctx.insert("checkpoint", &model.checkpoint);
        }));
    }
    for chain in &model.chains {
        specs.push(spec(format!("chains/{}", chain_file_name(&chain.id)), "chain.html", move |ctx| {
            ctx.insert("chain", chain);
            ctx.insert("simulated", &chain.simulated);
        }));
    }
    for control in &model.controls {
        specs.push(spec(format!("controls/{}.html", control.id), "control.html", move |ctx| {
            ctx.insert("control", control);
            ctx.insert("simulated", &control.simulated);
        }));
    }
    specs.push(spec("supply.html".into(), "supply.html", move |ctx| ctx.insert("supply", &model.supply)));
    for a in &model.supply.attestations {
        specs.push(spec(a.file.clone(), "attestation.html", move |ctx| {
            ctx.insert("a", a);
            ctx.insert("simulated", &a.simulated);
        }));
    }
    for s in &model.supply.sboms {
        specs.push(spec(s.file.clone(), "sbom.html", move |ctx| {
            ctx.insert("s", s);
            ctx.insert("simulated", &s.simulated);
        }));
    }
    for s in &model.supply.scans {
        specs.push(spec(s.file.clone(), "scan.html", move |ctx| {
            ctx.insert("s", s);
            ctx.insert("simulated", &s.simulated);
        }));
    }
    for r in &model.supply.test_runs {
        specs.push(spec(r.file.clone(), "tests.html", move |ctx| {
            ctx.insert("r", r);
            ctx.insert("simulated", &r.simulated);
        }));
    }
    for t in &model.supply.threat_models {
        specs.push(spec(t.file.clone(), "threat_model.html", move |ctx| {
            ctx.insert("t", t);
            ctx.insert("simulated", &t.simulated);
        }));
    }
    let rendered: Vec<Result<Page, String>> = specs
        .into_par_iter()
        .map(|(path, template, extra)| {
            let depth = path.matches('/').count();
            let mut ctx = Context::new();
            ctx.insert("root", &"../".repeat(depth));
            ctx.insert("latest_run", &model.latest_run);
            // Pages summarising the whole lake carry the banner when any of it is simulated;
            // pages about one thing override this with that thing's own flag.
            ctx.insert("simulated", &model.simulated);
            extra(&mut ctx);
            match tera.render(template, &ctx) {
                Ok(html) => Ok((path, html.into_bytes())),
                Err(e) => {
                    let from = templates.override_of(template).map(|p| format!(" from {}", p.display()));
                    Err(format!("page {path} (template {template}{}): {}", from.unwrap_or_default(), cause_chain(&e)))
                }
            }
        })
        .collect();
    let mut pages: Vec<Page> = Vec::with_capacity(rendered.len());
    let mut errors = Vec::new();
    for r in rendered {
        match r {
            Ok(p) => pages.push(p),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        // The failing template may be one another extends or imports (`base.html`): name every
        // override, so a user's own template is never mistaken for a built-in one.
        let overrides = templates.dir().filter(|_| !templates.overrides().is_empty()).map(|dir| {
            let names: Vec<&str> = templates.overrides().iter().map(|o| o.name).collect();
            format!("{} from {}", names.join(", "), dir.display())
        });
        return Err(PortalError::Pages { pages: errors, overrides });
    }
    for (name, body) in ASSETS {
        pages.push((name.to_string(), body.as_bytes().to_vec()));
    }
    pages.extend(oscal);
    pages.push(("index.json".into(), index_json(model)));
    pages.push(("COMPLIANCE_EVIDENCE_INDEX.md".into(), index_markdown(model).into_bytes()));
    pages.sort();
    Ok(pages)
}

/// The same map as the pages, for machines: frameworks → requirements → controls → evidence.
fn index_json(model: &PortalModel) -> Vec<u8> {
    let frameworks: Vec<serde_json::Value> = model
        .frameworks
        .iter()
        .map(|f| {
            serde_json::json!({
                "key": f.key, "name": f.name, "version": f.version, "page": f.file,
                "requirements_total": f.total, "covered": f.covered, "passing": f.passing,
                "failing": f.failing, "other": f.other, "gaps": f.gaps,
                "requirements": f.requirements.iter().map(|r| serde_json::json!({
                    "id": r.id, "title": r.title, "coverage": r.coverage, "status": r.status,
                    "controls": r.controls,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let controls: Vec<serde_json::Value> = model
        .controls
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c.id, "title": c.title, "status": c.status, "reasons": c.reasons,
                "evidence": c.evidence, "fails_on": c.fails_on, "max_age_days": c.max_age_days,
                "page": format!("controls/{}.html", c.id),
                "requirements": c.requirements.iter().map(|r| serde_json::json!({
                    "framework": r.framework, "id": r.id, "relationship": r.relationship,
                    "confidence": r.confidence,
                })).collect::<Vec<_>>(),
                "bundles": c.bundles.iter().map(|b| serde_json::json!({
                    "file": format!("downloads/{}", b.name), "sha256": b.sha256, "size": b.size,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let value = serde_json::json!({
        "format": "cairn-portal-index/1",
        "latest_run": model.latest_run,
        "checkpoint": model.checkpoint,
        "signing_key_id": model.key_id,
        "summary": model.summary,
        "frameworks": frameworks,
        "controls": controls,
        "chains": model.chains.iter().map(|c| serde_json::json!({
            "id": c.id, "page": format!("chains/{}", c.file), "events": c.events,
            "head_seq": c.head_seq, "head_hash": c.head_hash, "findings": c.findings.len(),
        })).collect::<Vec<_>>(),
        "lake_objects": model.objects.iter().map(|o| serde_json::json!({
            "leaf_index": o.index, "key": o.key, "table": o.table, "sha256": o.sha256, "size": o.size,
        })).collect::<Vec<_>>(),
        "downloads": model.downloads,
    });
    let mut bytes = serde_json::to_vec_pretty(&value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Makes evidence text inert in Markdown: no HTML, links, emphasis or table breaks.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            '|' | '[' | ']' | '`' | '*' | '_' | '\\' | '#' | '!' => {
                out.push('\\');
                out.push(ch);
            }
            _ => out.push(ch),
        }
    }
    out
}

/// The same map for people who read Markdown.
fn index_markdown(model: &PortalModel) -> String {
    use std::fmt::Write as _;
    let s = &model.summary;
    let mut out = String::new();
    let _ = writeln!(out, "# Compliance evidence index\n");
    let _ = writeln!(
        out,
        "As of run `{}`. {} events verified in {} chains; {} finding(s) ({} breaks, {} signature failures, {} duplicate deliveries); {} records kept aside.\n",
        md(&model.latest_run), s.events_verified, s.chains, s.findings_total, s.breaks, s.signature_failures, s.duplicates, s.quarantined
    );
    let _ = writeln!(out, "## Frameworks\n");
    let _ = writeln!(
        out,
        "| Framework | Requirements | Covered | Passing | Failing | Stale, manual or no evidence | Gaps |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |");
    for f in &model.frameworks {
        let _ = writeln!(
            out,
            "| [{}]({}) ({}) | {} | {} | {} | {} | {} | {} |",
            md(&f.name),
            f.file,
            md(&f.version),
            f.total,
            f.covered,
            f.passing,
            f.failing,
            f.other,
            f.gaps
        );
    }
    let _ = writeln!(out, "\n## Controls\n");
    let _ = writeln!(out, "| Control | Status | Maps to | Bundles |");
    let _ = writeln!(out, "| --- | --- | --- | --- |");
    for c in &model.controls {
        let maps: Vec<String> = c.requirements.iter().map(|r| format!("{} {}", md(&r.framework), md(&r.id))).collect();
        let bundles: Vec<String> =
            c.bundles.iter().map(|b| format!("[{}](downloads/{})", md(&b.name), b.name)).collect();
        let _ = writeln!(
            out,
            "| [{}](controls/{}.html) {} | {} | {} | {} |",
            md(&c.id),
            c.id,
            md(&c.title),
            md(&c.status),
            maps.join(", "),
            bundles.join(", ")
        );
    }
    let _ = writeln!(out, "\n## Audit-event chains\n");
    let _ = writeln!(out, "| Chain | Events | Head seq | Findings |");
    let _ = writeln!(out, "| --- | --- | --- | --- |");
    for c in &model.chains {
        let _ = writeln!(
            out,
            "| [{}](chains/{}) | {} | {} | {} |",
            md(&c.id),
            c.file,
            c.events,
            c.head_seq,
            c.findings.len()
        );
    }
    let _ = writeln!(out, "\n## How to verify\n");
    let _ = writeln!(out, "Cairn's signing key id is `{}`; its minisign public key is on [How to verify](verify.html). Each bundle checks offline with `minisign -Vm manifest.json -p cairn.pub`, `sha256sum -c --strict SHA256SUMS` and `python3 verify.py cairn.pub`.", md(&model.key_id));
    out
}

/// What [`build`] did to the output folder.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BuildReport {
    /// Pages in the portal.
    pub pages: usize,
    /// Pages written because they were new or changed, by path.
    pub written: Vec<String>,
    /// Pages of an earlier build that no longer exist, removed.
    pub removed: Vec<String>,
}

/// The list of pages the last build wrote, so the next one can remove those that no longer
/// exist without touching anything else in the folder.
pub const PAGE_LIST: &str = ".cairn-pages";

/// Renders the portal into `out` with the built-in templates; see [`build_with`].
pub fn build(model: &PortalModel, out: &Path) -> Result<BuildReport, PortalError> {
    build_with(model, &Templates::built_in()?, out)
}

/// Renders the portal into `out` with `templates`, incrementally: a page whose bytes are
/// unchanged is not rewritten; a changed page is written to a temporary file and renamed over the
/// old one, so a reader never sees half a page; pages the previous build wrote that no longer
/// exist are removed last, so the folder is never missing a page that is still linked.
///
/// Whether a page changed is decided by its bytes alone, never by times or by what changed
/// upstream, so an edited template rewrites exactly the pages it changes. Every page is rendered
/// before any is written: a template that fails leaves the previous portal whole.
pub fn build_with(model: &PortalModel, templates: &Templates, out: &Path) -> Result<BuildReport, PortalError> {
    let pages = render_with(model, templates)?;
    let write_err = |path: &Path, source| PortalError::Write { path: path.to_path_buf(), source };
    std::fs::create_dir_all(out).map_err(|e| write_err(out, e))?;
    let list_path = out.join(PAGE_LIST);
    let previous: Vec<String> = match std::fs::read_to_string(&list_path) {
        Ok(text) => text.lines().map(str::to_string).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(write_err(&list_path, e)),
    };
    let mut report = BuildReport { pages: pages.len(), ..BuildReport::default() };
    // Pages are compared and written on all cores; the report keeps the pages' order.
    let written: Vec<Result<Option<String>, PortalError>> = pages
        .par_iter()
        .map(|(rel, bytes)| {
            // Every page path is built above from fixed names and sanitized ids; check anyway.
            debug_assert!(!rel.contains("..") && !rel.starts_with('/'));
            let path = out.join(rel);
            if std::fs::read(&path).is_ok_and(|old| old == *bytes) {
                return Ok(None);
            }
            write_atomically(&path, bytes).map_err(|e| write_err(&path, e))?;
            Ok(Some(rel.clone()))
        })
        .collect();
    for w in written {
        if let Some(rel) = w? {
            report.written.push(rel);
        }
    }
    let current: std::collections::BTreeSet<&str> = pages.iter().map(|(rel, _)| rel.as_str()).collect();
    let mut list = String::new();
    for rel in &current {
        list.push_str(rel);
        list.push('\n');
    }
    if previous.iter().map(String::as_str).ne(current.iter().copied()) {
        write_atomically(&list_path, list.as_bytes()).map_err(|e| write_err(&list_path, e))?;
    }
    for rel in previous {
        // Only names this function wrote, and only ones that stay inside the folder.
        let safe = !rel.is_empty()
            && !rel.starts_with('/')
            && rel.split('/').all(|part| !part.is_empty() && part != ".." && part != ".");
        if safe && !current.contains(rel.as_str()) {
            let path = out.join(&rel);
            match std::fs::remove_file(&path) {
                Ok(()) => report.removed.push(rel),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(write_err(&path, e)),
            }
        }
    }
    Ok(report)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("page");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        // A full disk: leave the old page, not a stray temporary file.
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    #[test]
    fn markdown_index_text_is_inert() {
        let text = super::md("<script>alert(1)</script> [x](javascript:alert(1)) | *b*");
        assert!(!text.contains('<') && !text.contains("[x](") && !text.contains(" | "), "{text}");
        assert!(text.contains("\\[x\\]") && text.contains("\\|"), "{text}");
        assert!(text.starts_with("&lt;script&gt;"), "{text}");
    }
}
