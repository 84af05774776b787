//! Framework roll-ups: each requirement's coverage by controls and its status from theirs.

use serde::Serialize;

use crate::catalog::{Catalog, Control, ControlResult, Relationship, RequirementLink, Status};
use crate::{frameworks, user};

/// How well a requirement is covered by its controls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// At least one control maps to it as `equal` or `superset_of`.
    Full,
    /// Only `subset_of` or `intersects_with` mappings.
    Partial,
    /// No control maps to it: a gap.
    None,
    /// Marked not applicable.
    NotApplicable,
}

/// A requirement's status rolled up from its controls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequirementStatus {
    /// Framework key.
    pub framework: String,
    /// Requirement id.
    pub id: String,
    /// Coverage.
    pub coverage: Coverage,
    /// Status: the weakest of the controls that decide it; `None` for gaps and not applicable.
    pub status: Option<Status>,
    /// The controls mapped to it.
    pub controls: Vec<String>,
}

/// How bad a status is, for the weakest-link roll-up.
fn severity(s: Status) -> u8 {
    match s {
        Status::Passing => 0,
        Status::Manual => 1,
        Status::NoEvidence => 2,
        Status::Stale => 3,
        Status::Failing => 4,
    }
}

/// Rolls control results up to every requirement of the given frameworks. A requirement is only
/// as covered as its weakest full (`equal`/`superset_of`) mapping; with only partial mappings, the
/// weakest of those decides and the coverage says `partial`.
pub fn roll_up(
    catalog: &Catalog,
    results: &[ControlResult],
    frameworks: &std::collections::BTreeMap<String, frameworks::Framework>,
    not_applicable: &[user::NotApplicable],
) -> Vec<RequirementStatus> {
    let status_of = |id: &str| results.iter().find(|r| r.id == id).map(|r| r.status);
    let mut out = Vec::new();
    for (key, f) in frameworks {
        for r in &f.requirements {
            let links: Vec<(&Control, &RequirementLink)> = catalog
                .controls
                .iter()
                .flat_map(|c| c.requirements.iter().map(move |l| (c, l)))
                .filter(|(_, l)| &l.framework == key && f.requirement(&l.id).is_some_and(|x| x.id == r.id))
                .collect();
            let controls: Vec<String> = links.iter().map(|(c, _)| c.id.clone()).collect();
            if not_applicable.iter().any(|n| &n.framework == key && f.requirement(&n.id).is_some_and(|x| x.id == r.id))
            {
                out.push(RequirementStatus {
                    framework: key.clone(),
                    id: r.id.clone(),
                    coverage: Coverage::NotApplicable,
                    status: None,
                    controls,
                });
                continue;
            }
            let full: Vec<_> = links
                .iter()
                .filter(|(_, l)| matches!(l.relationship, Relationship::Equal | Relationship::SupersetOf))
                .collect();
            let (coverage, deciding): (Coverage, Vec<_>) = if !full.is_empty() {
                (Coverage::Full, full)
            } else if !links.is_empty() {
                (Coverage::Partial, links.iter().collect())
            } else {
                (Coverage::None, Vec::new())
            };
            let status = deciding.iter().filter_map(|(c, _)| status_of(&c.id)).max_by_key(|s| severity(*s));
            out.push(RequirementStatus { framework: key.clone(), id: r.id.clone(), coverage, status, controls });
        }
    }
    out
}
