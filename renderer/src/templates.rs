//! The portal's templates: built in (embedded, so the binary works on its own), each replaceable
//! by a file of the same name in a folder (`[portal] templates`), so an organisation can re-brand
//! its portal without a rebuild.
//!
//! A template folder is checked whole before anything renders, and every problem in it is
//! reported at once: a file that is not a built-in template's name (a typo would otherwise be
//! silently ignored), a nested folder, a link leading out of the folder, a file that does not
//! parse. Overrides render under the same autoescaping as the built-in templates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tera::Tera;

/// The built-in templates, by name.
const BUILT_IN: [(&str, &str); 20] = [
    ("keys.html", include_str!("../../templates/keys.html")),
    ("run.html", include_str!("../../templates/run.html")),
    ("search.html", include_str!("../../templates/search.html")),
    ("findings_table.html", include_str!("../../templates/findings_table.html")),
    ("supply.html", include_str!("../../templates/supply.html")),
    ("attestation.html", include_str!("../../templates/attestation.html")),
    ("sbom.html", include_str!("../../templates/sbom.html")),
    ("scan.html", include_str!("../../templates/scan.html")),
    ("tests.html", include_str!("../../templates/tests.html")),
    ("threat_model.html", include_str!("../../templates/threat_model.html")),
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

/// The names a template folder may override, sorted.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = BUILT_IN.iter().map(|(name, _)| *name).collect();
    names.sort_unstable();
    names
}

/// Files a template folder may hold besides templates, never read: notes for people (`README`,
/// `README.md`, …) and hidden files (`.DS_Store`, `.gitkeep`, an editor's swap files).
fn is_ignored(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name.starts_with('.') || lower == "readme" || lower.starts_with("readme.")
}

/// A template the folder replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The built-in template's name.
    pub name: &'static str,
    /// The file that replaces it.
    pub path: PathBuf,
}

/// The templates a portal renders with: the built-in ones, some perhaps replaced.
#[derive(Debug)]
pub struct Templates {
    pub(crate) tera: Tera,
    overrides: Vec<Override>,
    dir: Option<PathBuf>,
}

/// What is wrong with a template folder, or (never expected) with the built-in templates.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The folder cannot be read.
    #[error("template folder {}: {source}", dir.display())]
    Folder {
        /// The folder.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Files in the folder are at fault (all of them are listed).
    #[error(
        "template folder {}: {} problem(s):\n{}",
        dir.display(),
        problems.len(),
        problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
    )]
    Files {
        /// The folder.
        dir: PathBuf,
        /// Each file at fault, in name order.
        problems: Vec<TemplateProblem>,
    },
    /// The templates do not fit together, e.g. an override extends or imports a template that
    /// does not exist.
    #[error("templates{}: {detail}", dir.as_ref().map(|d| format!(" (with overrides from {})", d.display())).unwrap_or_default())]
    Set {
        /// The template folder, if any.
        dir: Option<PathBuf>,
        /// Tera's explanation, with its whole cause chain.
        detail: String,
    },
}

/// One file of a template folder at fault.
#[derive(Debug)]
pub struct TemplateProblem {
    /// The file.
    pub file: PathBuf,
    /// What is wrong with it.
    pub kind: TemplateProblemKind,
}

impl std::fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.kind)
    }
}

/// What is wrong with one file of a template folder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateProblemKind {
    /// Its name is not a built-in template's.
    #[error("not the name of a built-in template; a template folder may hold only {}", names().join(", "))]
    UnknownName,
    /// Its name is not UTF-8.
    #[error("its name is not UTF-8")]
    NameNotUtf8,
    /// A folder: template folders are flat.
    #[error("a folder; a template folder holds only template files")]
    NestedFolder,
    /// A symbolic link whose target is not a file in the same folder.
    #[error("a link to {}, which is not a file in the template folder", target.display())]
    LinkOutside {
        /// Where it leads.
        target: PathBuf,
    },
    /// Not a regular file (a device, a socket, a pipe).
    #[error("not a regular file")]
    NotAFile,
    /// It cannot be read, or is not UTF-8.
    #[error("cannot be read: {source}")]
    Read {
        /// The I/O error.
        source: std::io::Error,
    },
    /// It does not parse.
    #[error("{}does not parse:{}", line.map(|l| format!("line {l}: ")).unwrap_or_default(), indented(detail))]
    Parse {
        /// The line at fault, when tera names one.
        line: Option<usize>,
        /// Tera's explanation.
        detail: String,
    },
}

pub(crate) fn cause_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Tera's multi-line parse errors (the line, a caret under the column, what was expected) on lines
/// of their own, indented under the file they are about.
fn indented(detail: &str) -> String {
    if !detail.contains('\n') {
        return format!(" {detail}");
    }
    let mut out = String::new();
    for line in detail.lines() {
        out.push_str("\n    ");
        out.push_str(line);
    }
    out
}

/// The line a tera parse error points at (` --> 3:12`), if any.
fn parse_error_line(detail: &str) -> Option<usize> {
    let at = detail.split_once("--> ")?.1;
    at.split(':').next()?.trim().parse().ok()
}

impl Templates {
    /// The built-in templates only.
    pub fn built_in() -> Result<Self, TemplateError> {
        Self::with(BTreeMap::new(), None)
    }

    /// The built-in templates, each replaced by the file of the same name in `dir`, if there is
    /// one. Every problem in the folder is reported at once, before anything renders.
    pub fn load(dir: &Path) -> Result<Self, TemplateError> {
        let folder_err = |source| TemplateError::Folder { dir: dir.to_path_buf(), source };
        // Links are judged against the folder's real path, so a folder reached through a link
        // (e.g. a deployment's `current/`) still works.
        let real = std::fs::canonicalize(dir).map_err(folder_err)?;
        let mut entries: Vec<std::fs::DirEntry> =
            std::fs::read_dir(&real).and_then(Iterator::collect).map_err(folder_err)?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        let mut texts = BTreeMap::new();
        let mut problems = Vec::new();
        for entry in entries {
            let file = dir.join(entry.file_name());
            match read_override(&real, &entry) {
                Ok(Some((name, text))) => {
                    texts.insert(name, (file, text));
                }
                Ok(None) => {}
                Err(kind) => problems.push(TemplateProblem { file, kind }),
            }
        }
        if !problems.is_empty() {
            return Err(TemplateError::Files { dir: dir.to_path_buf(), problems });
        }
        Self::with(texts, Some(dir.to_path_buf()))
    }

    /// The built-in templates with `overrides` (name → file, text) in their place.
    fn with(overrides: BTreeMap<&'static str, (PathBuf, String)>, dir: Option<PathBuf>) -> Result<Self, TemplateError> {
        let set_err = |e: &tera::Error| TemplateError::Set { dir: dir.clone(), detail: cause_chain(e) };
        let mut tera = Tera::default();
        let templates: Vec<(&str, &str)> = BUILT_IN
            .iter()
            .map(|&(name, text)| (name, overrides.get(name).map_or(text, |(_, user)| user.as_str())))
            .collect();
        tera.add_raw_templates(templates).map_err(|e| set_err(&e))?;
        // Every template name ends in `.html`, so overrides are escaped exactly as the built-ins.
        tera.autoescape_on(vec![".html"]);
        tera.set_escape_fn(escape_html);
        let overrides = overrides.into_iter().map(|(name, (path, _))| Override { name, path }).collect();
        Ok(Self { tera, overrides, dir })
    }

    /// The templates replaced, by name.
    pub fn overrides(&self) -> &[Override] {
        &self.overrides
    }

    /// The template folder, if one was loaded.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The file replacing template `name`, if one does.
    pub(crate) fn override_of(&self, name: &str) -> Option<&Path> {
        self.overrides.iter().find(|o| o.name == name).map(|o| o.path.as_path())
    }
}

/// Reads one entry of a template folder whose real path is `real`: `None` when it is ignored,
/// else the template it replaces and its text, checked to parse.
fn read_override(
    real: &Path,
    entry: &std::fs::DirEntry,
) -> Result<Option<(&'static str, String)>, TemplateProblemKind> {
    let Some(file_name) = entry.file_name().to_str().map(str::to_string) else {
        return Err(TemplateProblemKind::NameNotUtf8);
    };
    if is_ignored(&file_name) {
        return Ok(None);
    }
    let read = |source| TemplateProblemKind::Read { source };
    let kind = entry.file_type().map_err(read)?;
    if kind.is_dir() {
        return Err(TemplateProblemKind::NestedFolder);
    }
    let Some(&(name, _)) = BUILT_IN.iter().find(|(name, _)| *name == file_name) else {
        return Err(TemplateProblemKind::UnknownName);
    };
    let path = if kind.is_symlink() {
        // A link may only name another file of this same folder.
        let target = std::fs::canonicalize(entry.path()).map_err(read)?;
        if target.parent() != Some(real) || !target.is_file() {
            return Err(TemplateProblemKind::LinkOutside { target });
        }
        target
    } else if kind.is_file() {
        entry.path()
    } else {
        return Err(TemplateProblemKind::NotAFile);
    };
    let text = std::fs::read_to_string(&path).map_err(read)?;
    // Parsed alone first, so every file that does not parse is reported, not only the first.
    if let Err(e) = tera::Template::new(name, Some(path.display().to_string()), &text) {
        let detail = cause_chain(&e);
        return Err(TemplateProblemKind::Parse { line: parse_error_line(&detail), detail });
    }
    Ok(Some((name, text)))
}

/// Escapes text for HTML exactly as tera's own `escape_html` does (`&`, `<`, `>`, `"`, `'` and
/// `/` become entities), copying the runs between those characters whole: most evidence text has
/// none of them, and tera's version, a character at a time, took 7.7% of a profile of rendering
/// 10,000 pages.
pub(crate) fn escape_html(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len() + input.len() / 8);
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#x27;",
            b'/' => "&#x2F;",
            _ => continue,
        };
        // Each of these is one ASCII byte, so `start..i` lies on character boundaries.
        out.push_str(&input[start..i]);
        out.push_str(entity);
        start = i + 1;
    }
    out.push_str(&input[start..]);
    out
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::{TemplateError, TemplateProblemKind, Templates};
    use crate::model::{ControlView, PortalModel};
    use crate::portal::{render, render_with, PortalError};

    /// A scratch folder, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(test: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("cairn-templates-{}-{test}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn write(&self, name: &str, text: &str) -> &Self {
            std::fs::write(self.0.join(name), text).unwrap();
            self
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn model() -> PortalModel {
        PortalModel {
            controls: vec![ControlView {
                id: "LOG-02".into(),
                title: "<script>alert('title')</script>".into(),
                ..ControlView::default()
            }],
            ..PortalModel::default()
        }
    }

    fn problems(err: TemplateError) -> Vec<(String, TemplateProblemKind)> {
        match err {
            TemplateError::Files { problems, .. } => problems
                .into_iter()
                .map(|p| (p.file.file_name().unwrap().to_string_lossy().into_owned(), p.kind))
                .collect(),
            other => panic!("expected file problems, got {other}"),
        }
    }

    #[test]
    fn an_override_replaces_only_its_template_and_is_escaped_the_same() {
        let dir = Scratch::new("override");
        dir.write("README.md", "Acme's portal templates.").write(".DS_Store", "\0\0").write(
            "base.html",
            "<!DOCTYPE html><title>{% block title %}{% endblock title %} · Acme</title>\
             <p class=\"brand\">ACME TRUST</p><main>{% block content %}{% endblock content %}</main>",
        );
        dir.write(
            "control.html",
            "{% extends \"base.html\" %}{% block content %}<h1>{{ control.title }}</h1>{% endblock content %}",
        );
        let templates = Templates::load(&dir.0).unwrap();
        let names: Vec<&str> = templates.overrides().iter().map(|o| o.name).collect();
        assert_eq!(names, ["base.html", "control.html"]);
        let pages = render_with(&model(), &templates).unwrap();
        let page = |path: &str| String::from_utf8(pages.iter().find(|(p, _)| p == path).unwrap().1.clone()).unwrap();
        for (path, _) in pages.iter().filter(|(p, _)| Path::new(p).extension().is_some_and(|ext| ext == "html")) {
            assert!(page(path).contains("<p class=\"brand\">ACME TRUST</p>"), "{path}");
        }
        let control = page("controls/LOG-02.html");
        assert!(control.contains("<h1>&lt;script&gt;alert(&#x27;title&#x27;)&lt;&#x2F;script&gt;</h1>"), "{control}");
        assert!(!control.contains("<script"), "{control}");
        // Pages whose template is not overridden keep theirs, inside the new base.
        assert!(page("verify.html").contains("minisign"));
    }

    #[test]
    fn an_empty_folder_renders_the_same_bytes_as_the_built_in_templates() {
        let dir = Scratch::new("empty");
        dir.write("README", "nothing overridden yet");
        let built_in = render(&model()).unwrap();
        assert_eq!(render_with(&model(), &Templates::load(&dir.0).unwrap()).unwrap(), built_in);
        // A copy of a built-in template is no change either.
        dir.write("base.html", include_str!("../../templates/base.html"));
        assert_eq!(render_with(&model(), &Templates::load(&dir.0).unwrap()).unwrap(), built_in);
    }

    #[test]
    fn every_file_at_fault_is_named_at_once() {
        let dir = Scratch::new("faults");
        dir.write("bse.html", "typo").write("style.css", "body {}").write("index.html", "ok {{ latest_run }}");
        dir.write("control.html", "line one\n{% if %}\n").write("chain.html", "{% block x %}");
        std::fs::create_dir(dir.0.join("partials")).unwrap();
        let err = Templates::load(&dir.0).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("5 problem(s)"), "{text}");
        assert!(
            text.contains("bse.html: not the name of a built-in template") && text.contains("base.html, chain.html")
        );
        let found = problems(err);
        let kinds: Vec<(&str, &str)> = found
            .iter()
            .map(|(file, kind)| {
                let kind = match kind {
                    TemplateProblemKind::UnknownName => "unknown",
                    TemplateProblemKind::NestedFolder => "folder",
                    TemplateProblemKind::Parse { .. } => "parse",
                    _ => "other",
                };
                (file.as_str(), kind)
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("bse.html", "unknown"),
                ("chain.html", "parse"),
                ("control.html", "parse"),
                ("partials", "folder"),
                ("style.css", "unknown")
            ]
        );
        let line = found.iter().find_map(|(file, kind)| match kind {
            TemplateProblemKind::Parse { line, .. } if file == "control.html" => Some(*line),
            _ => None,
        });
        assert_eq!(line, Some(Some(2)), "{text}");
        assert!(text.contains("control.html: line 2: does not parse"), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn links_may_only_name_files_of_the_same_folder() {
        let dir = Scratch::new("links");
        let outside = Scratch::new("links-outside");
        outside.write("base.html", "{% block content %}{% endblock content %}");
        dir.write("mine.txt", "x");
        std::os::unix::fs::symlink(outside.0.join("base.html"), dir.0.join("base.html")).unwrap();
        std::os::unix::fs::symlink(Path::new("../../../etc/passwd"), dir.0.join("index.html")).unwrap();
        let found = problems(Templates::load(&dir.0).unwrap_err());
        let names: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(names, ["base.html", "index.html", "mine.txt"]);
        assert!(matches!(found[0].1, TemplateProblemKind::LinkOutside { .. }), "{:?}", found[0].1);
        // A missing target cannot be resolved: refused too.
        assert!(matches!(found[1].1, TemplateProblemKind::LinkOutside { .. } | TemplateProblemKind::Read { .. }));

        // A link to a file of the folder itself is followed.
        let dir = Scratch::new("links-inside");
        dir.write(".base.html", "<p>linked</p>{% block content %}{% endblock content %}");
        std::os::unix::fs::symlink(dir.0.join(".base.html"), dir.0.join("base.html")).unwrap();
        let templates = Templates::load(&dir.0).unwrap();
        assert_eq!(templates.overrides().len(), 1);
    }

    #[test]
    fn a_missing_folder_and_templates_that_do_not_fit_are_errors() {
        let err = Templates::load(Path::new("/nonexistent/cairn-templates")).unwrap_err();
        assert!(matches!(err, TemplateError::Folder { .. }), "{err}");
        let dir = Scratch::new("unfit");
        dir.write("index.html", "{% extends \"brand.html\" %}");
        let err = Templates::load(&dir.0).unwrap_err().to_string();
        assert!(err.contains("with overrides from") && err.contains("brand.html"), "{err}");
    }

    #[test]
    fn a_render_error_names_the_page_the_template_and_the_override() {
        let dir = Scratch::new("render");
        dir.write(
            "control.html",
            "{% extends \"base.html\" %}{% block content %}{{ control.nope }}{% endblock content %}",
        );
        let err = render_with(&model(), &Templates::load(&dir.0).unwrap()).unwrap_err();
        assert!(matches!(err, PortalError::Pages { .. }));
        let text = err.to_string();
        assert!(text.contains("page controls/LOG-02.html (template control.html from "), "{text}");
        assert!(text.contains("nope"), "{text}");
        assert!(text.contains("templates overridden: control.html from "), "{text}");
    }

    #[test]
    fn escaping_is_tera_s_own_byte_for_byte() {
        for text in [
            "",
            "plain text with no entity",
            "<script>alert('x')</script>",
            "a & b \"quoted\" / path/to/object?x=1&y=2",
            "ünïcödé → 日本語 & <b>ǅ</b>",
            "&&&<<<>>>\"\"'''///",
            "trailing <",
            "> leading",
            "javascript:alert(1)//",
        ] {
            assert_eq!(super::escape_html(text), tera::escape_html(text), "{text:?}");
        }
    }
}
