//! User catalogs (`[controls] catalog = [...]` in `cairn.toml`): add or replace controls, change
//! evidence rules, and mark requirements not applicable with a justification. [`check`] validates
//! the built-in catalog together with the user files and reports every problem with its file and
//! line; requirements no control covers are reported as coverage gaps, not errors.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::catalog::{Catalog, Control, EvidenceKind};
use crate::frameworks::Framework;

/// A user catalog file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserCatalog {
    /// New controls, or replacements of built-in ones with the same id.
    #[serde(default, rename = "control")]
    pub controls: Vec<Control>,
    /// Changes to the evidence rules of existing controls.
    #[serde(default, rename = "override")]
    pub overrides: Vec<RuleOverride>,
    /// Requirements that do not apply, and why.
    #[serde(default, rename = "not_applicable")]
    pub not_applicable: Vec<NotApplicable>,
    /// Populations (`[[population]]`), read and checked by `cairn-population`.
    #[serde(default, rename = "population")]
    pub populations: Vec<toml::Table>,
}

/// A change to one control's evidence rule.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOverride {
    /// The control.
    pub id: String,
    /// New evidence kind.
    pub evidence: Option<EvidenceKind>,
    /// New failing finding kinds.
    pub fails_on: Option<Vec<String>>,
    /// New freshness limit.
    pub max_age_days: Option<u32>,
}

/// A requirement marked not applicable.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotApplicable {
    /// Framework key.
    pub framework: String,
    /// Requirement id.
    pub id: String,
    /// Why it does not apply.
    pub justification: String,
}

/// One problem, located.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file (`built-in` for the embedded catalog).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// The merged catalog and what checking it found.
#[derive(Clone, Debug)]
pub struct Checked {
    /// Built-in controls with the user files applied.
    pub catalog: Catalog,
    /// Requirements marked not applicable.
    pub not_applicable: Vec<NotApplicable>,
    /// Problems (errors).
    pub problems: Vec<Problem>,
    /// Per framework, requirements no control covers and none marked not applicable.
    pub gaps: BTreeMap<String, Vec<String>>,
}

/// The 1-based line of the first occurrence of `needle` at or after line `from`.
fn line_of(text: &str, needle: &str, from: usize) -> usize {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| l.contains(needle))
        .map_or(from.max(1), |(i, _)| i + 1)
}

fn check_control(
    c: &Control,
    text: &str,
    file: &str,
    frameworks: &BTreeMap<String, Framework>,
    finding_kinds: &[&str],
    problems: &mut Vec<Problem>,
) {
    let at = line_of(text, &format!("id = \"{}\"", c.id), 1);
    let mut push = |line: usize, message: String| problems.push(Problem { file: file.into(), line, message });
    if c.requirements.is_empty() {
        push(at, format!("control {} maps to no requirement", c.id));
    }
    for link in &c.requirements {
        let line = line_of(text, &format!("\"{}\"", link.id), at);
        match frameworks.get(&link.framework) {
            None => push(
                line_of(text, &format!("\"{}\"", link.framework), at),
                format!("control {}: unknown framework {:?}", c.id, link.framework),
            ),
            Some(f) if f.requirement(&link.id).is_none() => {
                push(line, format!("control {}: {} has no requirement {:?}", c.id, f.name, link.id));
            }
            Some(_) => {}
        }
    }
    for kind in &c.fails_on {
        if !finding_kinds.contains(&kind.as_str()) {
            push(line_of(text, &format!("\"{kind}\""), at), format!("control {}: unknown finding kind {kind:?}", c.id));
        }
    }
}

/// Checks the built-in catalog with the user files (`(file name, text)`) applied, in order.
/// `finding_kinds` is the vocabulary a rule may name.
pub fn check(
    builtin_text: &str,
    user_files: &[(String, String)],
    frameworks: &BTreeMap<String, Framework>,
    finding_kinds: &[&str],
) -> Checked {
    let mut problems = Vec::new();
    let mut catalog = match Catalog::parse(builtin_text, "built-in") {
        Ok(c) => c,
        Err(e) => {
            problems.push(Problem { file: "built-in".into(), line: 1, message: e.to_string() });
            Catalog { version: String::new(), controls: Vec::new() }
        }
    };
    for c in &catalog.controls {
        check_control(c, builtin_text, "built-in", frameworks, finding_kinds, &mut problems);
    }
    let mut not_applicable = Vec::new();
    for (file, text) in user_files {
        let user: UserCatalog = match toml::from_str(text) {
            Ok(u) => u,
            Err(e) => {
                let line = e.span().map_or(1, |s| text[..s.start.min(text.len())].matches('\n').count() + 1);
                problems.push(Problem { file: file.clone(), line, message: e.message().to_string() });
                continue;
            }
        };
        let mut seen = BTreeSet::new();
        let mut from = 1;
        for c in user.controls {
            from = line_of(text, &format!("id = \"{}\"", c.id), from);
            if !seen.insert(c.id.clone()) {
                problems.push(Problem {
                    file: file.clone(),
                    line: from,
                    message: format!("control {} is defined twice", c.id),
                });
                from += 1;
                continue;
            }
            let valid_id = c.id.starts_with(|ch: char| ch.is_ascii_alphanumeric())
                && c.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            if !valid_id {
                problems.push(Problem {
                    file: file.clone(),
                    line: from,
                    message: format!("control id {:?}: use letters, digits, `-` and `.`", c.id),
                });
            }
            check_control(&c, text, file, frameworks, finding_kinds, &mut problems);
            match catalog.controls.iter_mut().find(|x| x.id == c.id) {
                Some(existing) => *existing = c,
                None => catalog.controls.push(c),
            }
            from += 1;
        }
        for o in user.overrides {
            let line = line_of(text, &format!("id = \"{}\"", o.id), 1);
            let Some(c) = catalog.controls.iter_mut().find(|c| c.id == o.id) else {
                problems.push(Problem {
                    file: file.clone(),
                    line,
                    message: format!("override of unknown control {}", o.id),
                });
                continue;
            };
            if let Some(kinds) = &o.fails_on {
                for k in kinds.iter().filter(|k| !finding_kinds.contains(&k.as_str())) {
                    problems.push(Problem {
                        file: file.clone(),
                        line: line_of(text, &format!("\"{k}\""), line),
                        message: format!("override of {}: unknown finding kind {k:?}", o.id),
                    });
                }
                c.fails_on.clone_from(kinds);
            }
            if let Some(e) = o.evidence {
                c.evidence = e;
            }
            if let Some(d) = o.max_age_days {
                c.max_age_days = d;
            }
        }
        for na in user.not_applicable {
            let line = line_of(text, &format!("\"{}\"", na.id), 1);
            match frameworks.get(&na.framework) {
                Some(f) if f.requirement(&na.id).is_some() => {}
                _ => problems.push(Problem {
                    file: file.clone(),
                    line,
                    message: format!("not_applicable: no requirement {:?} in framework {:?}", na.id, na.framework),
                }),
            }
            if na.justification.trim().is_empty() {
                problems.push(Problem {
                    file: file.clone(),
                    line,
                    message: format!("not_applicable {} {}: a justification is required", na.framework, na.id),
                });
            }
            not_applicable.push(na);
        }
    }
    let mut gaps = BTreeMap::new();
    for (key, f) in frameworks {
        let covered: BTreeSet<&str> = catalog
            .controls
            .iter()
            .flat_map(|c| c.requirements.iter())
            .filter(|l| &l.framework == key)
            .filter_map(|l| f.requirement(&l.id).map(|r| r.id.as_str()))
            .collect();
        let missing: Vec<String> = f
            .requirements
            .iter()
            .filter(|r| !covered.contains(r.id.as_str()))
            .filter(|r| {
                !not_applicable
                    .iter()
                    .any(|n| &n.framework == key && f.requirement(&n.id).is_some_and(|x| x.id == r.id))
            })
            .map(|r| r.id.clone())
            .collect();
        gaps.insert(key.clone(), missing);
    }
    Checked { catalog, not_applicable, problems, gaps }
}
