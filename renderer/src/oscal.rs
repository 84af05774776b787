//! OSCAL 1.1.2 JSON, the format GRC tools exchange: assessment results (one result per verify
//! run, one finding per control), the assessment plan they import, and a component definition
//! of the control catalog with its framework mappings.
//!
//! Everything comes from the [`PortalModel`], and every UUID is a version-5 UUID of what it
//! names, so the same lake gives the same bytes. Evidence is a back-matter resource per lake
//! object or run manifest, carrying its SHA-256; where its bytes can be found depends on where
//! the documents are placed ([`Placement`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::model::{ControlView, EvidenceItemView, PortalModel};

/// The OSCAL release the documents follow.
pub const OSCAL_VERSION: &str = "1.1.2";

/// The namespace of Cairn's own property names: a name under the reserved `.invalid` domain
/// (RFC 2606), so it identifies and never resolves. OSCAL tools want an `http(s)` URI here.
pub const NS: &str = "https://cairn.invalid/ns/oscal";

/// The documents' file names, in the folder they are written to.
pub const ASSESSMENT_RESULTS: &str = "assessment-results.json";
/// See [`ASSESSMENT_RESULTS`].
pub const ASSESSMENT_PLAN: &str = "assessment-plan.json";
/// See [`ASSESSMENT_RESULTS`].
pub const COMPONENT_DEFINITION: &str = "component-definition.json";

/// Where the documents are written, which decides what an evidence resource links to.
#[derive(Clone, Debug)]
pub enum Placement {
    /// A folder of their own (`cairn export oscal`): links are lake object keys, relative to
    /// the lake's root.
    Lake,
    /// The portal's `oscal/` folder: links are the portal's object and run pages.
    Portal,
    /// An evidence bundle's `oscal/` folder: links are the bundle's entries under `store/`;
    /// evidence the bundle does not hold (outside its period) keeps its digest and no link.
    Bundle(BTreeSet<String>),
}

/// The three documents, as (file name, bytes), for the controls in `scope` (every control of the
/// model when empty).
pub fn documents(model: &PortalModel, scope: &[String], placement: &Placement) -> Vec<(String, Vec<u8>)> {
    let controls: Vec<&ControlView> =
        model.controls.iter().filter(|c| scope.is_empty() || scope.contains(&c.id)).collect();
    let stamp = Stamp::of(model, &controls);
    let docs = [
        (ASSESSMENT_RESULTS, assessment_results(model, &controls, placement, &stamp)),
        (ASSESSMENT_PLAN, assessment_plan(&controls, &stamp)),
        (COMPONENT_DEFINITION, component_definition(model, &controls, &stamp)),
    ];
    docs.into_iter()
        .map(|(name, doc)| {
            let mut bytes = serde_json::to_vec_pretty(&doc).unwrap_or_default();
            bytes.push(b'\n');
            (name.to_string(), bytes)
        })
        .collect()
}

/// A version-5 UUID (SHA-1, RFC 9562) of `parts`, under Cairn's OSCAL namespace.
pub fn uuid(parts: &[&str]) -> String {
    let namespace = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, NS.as_bytes());
    // Parts joined with a separator no part holds unescaped, so ("a", "b/c") and ("a/b", "c") differ.
    let name: Vec<String> = parts.iter().map(|p| p.replace('\\', "\\\\").replace('/', "\\/")).collect();
    uuid::Uuid::new_v5(&namespace, name.join("/").as_bytes()).to_string()
}

/// An OSCAL token (`^(\p{L}|_)(\p{L}|\p{N}|[.\-_])*$`) naming `id`: `id` itself when it is one,
/// otherwise every other character as `_`, after a leading `_` if it starts with no letter.
pub fn token(id: &str) -> String {
    let mut out: String =
        id.chars().map(|c| if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect();
    if !out.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

/// What every document shares: the lake's latest run and its time, and the controls in scope.
struct Stamp {
    /// The latest run id (the documents' version).
    run: String,
    /// Its commit time.
    at: String,
    /// The ids of the controls in scope, comma-separated: part of each document's UUID.
    scope: String,
}

impl Stamp {
    fn of(model: &PortalModel, controls: &[&ControlView]) -> Self {
        let at = model.runs.first().map_or_else(|| "1970-01-01T00:00:00Z".into(), |r| r.committed_at.clone());
        let run = if model.latest_run.is_empty() { "none".to_string() } else { model.latest_run.clone() };
        let scope = controls.iter().map(|c| c.id.as_str()).collect::<Vec<_>>().join(",");
        Self { run, at, scope }
    }

    fn metadata(&self, title: &str, remarks: &str) -> Value {
        json!({
            "title": title,
            "last-modified": self.at,
            "version": self.run,
            "oscal-version": OSCAL_VERSION,
            "props": [prop("generator", &format!("cairn {}", env!("CARGO_PKG_VERSION")))],
            "remarks": remarks,
        })
    }
}

/// A property in Cairn's namespace.
fn prop(name: &str, value: &str) -> Value {
    // OSCAL values are non-empty and carry no leading or trailing white space.
    let value = value.trim();
    json!({ "name": name, "ns": NS, "value": if value.is_empty() { "-" } else { value } })
}

/// Non-empty text: OSCAL's strings must hold at least one non-space character.
fn text(value: &str, otherwise: &str) -> String {
    if value.trim().is_empty() {
        otherwise.to_string()
    } else {
        value.to_string()
    }
}

fn reviewed(controls: &[&ControlView]) -> Value {
    let ids: Vec<Value> = controls.iter().map(|c| json!({ "control-id": token(&c.id) })).collect();
    json!({ "control-selections": [{ "include-controls": ids }] })
}

/// `satisfied` or `not-satisfied`, with OSCAL's reason (`pass`, `fail`, `other`).
fn state(status: &str) -> (&'static str, &'static str) {
    match status {
        "passing" => ("satisfied", "pass"),
        "failing" => ("not-satisfied", "fail"),
        _ => ("not-satisfied", "other"),
    }
}

/// Evidence resources, by the key or label they were made for.
#[derive(Default)]
struct Resources(BTreeMap<String, Value>);

impl Resources {
    /// The resource for one evidence item; returns its UUID.
    fn evidence(&mut self, item: &EvidenceItemView, placement: &Placement) -> String {
        let key = item.key.clone();
        let id = uuid(&["evidence", &key, &item.sha256]);
        if self.0.contains_key(&key) {
            return id;
        }
        let mut props = vec![prop("sha256", &item.sha256), prop("kind", &item.kind), prop("run-id", &item.run_id)];
        if item.rows > 0 {
            props.push(prop("rows", &item.rows.to_string()));
        }
        if item.simulated {
            props.push(prop("simulated", "true"));
        }
        let hashes = json!([{ "algorithm": "SHA-256", "value": item.sha256 }]);
        let href = match placement {
            Placement::Lake => Some(key.clone()),
            Placement::Portal => (!item.page.is_empty()).then(|| format!("../{}", item.page)),
            Placement::Bundle(held) => held.contains(&key).then(|| format!("../store/{key}")),
        };
        let mut resource = json!({
            "uuid": id,
            "title": text(&item.label, &key),
            "description": describe(item),
            "props": props,
        });
        match href {
            Some(href) => resource["rlinks"] = json!([{ "href": href, "hashes": hashes }]),
            None => {
                resource["remarks"] =
                    json!("Not held in this bundle (outside its period); its digest identifies it in the lake.");
            }
        }
        self.0.insert(key, resource);
        id
    }

    fn into_values(self) -> Vec<Value> {
        self.0.into_values().collect()
    }
}

fn describe(item: &EvidenceItemView) -> String {
    let mut out = format!("{} committed by run {}", item.kind, item.run_id);
    if !item.committed_at.is_empty() {
        let _ = write!(out, " at {}", item.committed_at);
    }
    if item.rows > 0 {
        let _ = write!(out, ", {} rows", item.rows);
    }
    if !item.sources.is_empty() {
        let _ = write!(out, ", collected from {}", item.sources);
    }
    out.push('.');
    out
}

fn assessment_results(model: &PortalModel, controls: &[&ControlView], placement: &Placement, stamp: &Stamp) -> Value {
    let scope_key = &stamp.scope;
    let mut resources = Resources::default();
    // Verify runs, oldest first, each with every control's status as that run committed it.
    let mut runs: BTreeMap<(String, String), Vec<(&ControlView, &crate::model::StatusPoint)>> = BTreeMap::new();
    for c in controls {
        for point in &c.history {
            runs.entry((point.evaluated_at.clone(), point.run_id.clone())).or_default().push((c, point));
        }
    }
    let latest = runs.keys().next_back().cloned();
    let mut results = Vec::new();
    for ((at, run_id), points) in &runs {
        let is_latest = latest.as_ref().is_some_and(|(_, r)| r == run_id);
        // The run's own record of its evaluation: its control_results objects.
        let evaluations: Vec<EvidenceItemView> = model
            .objects
            .iter()
            .filter(|o| o.run_id == *run_id && o.table == cairn_evidence::tables::names::CONTROL_RESULTS)
            .map(|o| EvidenceItemView {
                label: o.key.clone(),
                key: o.key.clone(),
                kind: o.table.clone(),
                sha256: o.sha256.clone(),
                size: o.size,
                rows: o.rows,
                run_id: o.run_id.clone(),
                committed_at: at.clone(),
                page: o.file.clone(),
                simulated: o.simulated,
                ..EvidenceItemView::default()
            })
            .collect();
        let mut observations = Vec::new();
        let mut findings = Vec::new();
        for (c, point) in points {
            let mut evidence: Vec<Value> = evaluations
                .iter()
                .map(|e| {
                    json!({
                        "href": format!("#{}", resources.evidence(e, placement)),
                        "description": format!("The control evaluation run {run_id} committed ({}).", e.label),
                    })
                })
                .collect();
            if is_latest {
                for item in &c.evidence_items {
                    evidence.push(json!({
                        "href": format!("#{}", resources.evidence(item, placement)),
                        "description": format!("Evidence the control rests on: {}.", text(&item.label, &item.kind)),
                    }));
                }
            }
            let observation_id = uuid(&["observation", run_id, &c.id]);
            let reasons = text(&point.reasons, &format!("Status {}.", point.status));
            let mut observation = json!({
                "uuid": observation_id,
                "title": format!("{} in run {run_id}", c.id),
                "description": format!("Cairn evaluated control {} ({}) as {}: {reasons}", c.id, c.title, point.status),
                "props": [prop("status", &point.status), prop("evidence-kind", &c.evidence)],
                "methods": ["TEST"],
                "collected": at,
            });
            if !evidence.is_empty() {
                observation["relevant-evidence"] = Value::Array(evidence);
            }
            if is_latest && !c.bundles.is_empty() && matches!(placement, Placement::Portal) {
                observation["links"] = Value::Array(
                    c.bundles
                        .iter()
                        .map(|b| json!({ "href": format!("../downloads/{}", b.name), "rel": "reference", "text": "signed evidence bundle" }))
                        .collect(),
                );
            }
            observations.push(observation);
            let (state, reason) = state(&point.status);
            findings.push(json!({
                "uuid": uuid(&["finding", run_id, &c.id]),
                "title": format!("{} {}", c.id, c.title),
                "description": reasons,
                "props": [prop("status", &point.status)],
                "target": {
                    "type": "objective-id",
                    "target-id": token(&c.id),
                    "status": { "state": state, "reason": reason },
                },
                "related-observations": [{ "observation-uuid": observation_id }],
            }));
        }
        let in_run: Vec<&ControlView> = points.iter().map(|(c, _)| *c).collect();
        results.push(json!({
            "uuid": uuid(&["result", run_id, scope_key]),
            "title": format!("Verify run {run_id}"),
            "description": format!(
                "The controls as verify run {run_id} evaluated them at {at}: {} of {} satisfied.",
                points.iter().filter(|(_, p)| p.status == "passing").count(),
                points.len()
            ),
            "start": at,
            "end": at,
            "props": [prop("run-id", run_id)],
            "reviewed-controls": reviewed(&in_run),
            "observations": observations,
            "findings": findings,
        }));
    }
    if results.is_empty() {
        // OSCAL needs at least one result: before any verify run, one that says so.
        results.push(json!({
            "uuid": uuid(&["result", "none", scope_key]),
            "title": "No verify run yet",
            "description": "The lake holds no control evaluation: run `cairn verify`.",
            "start": stamp.at,
            "reviewed-controls": reviewed(controls),
        }));
    }
    let mut doc = json!({
        "uuid": uuid(&["assessment-results", &stamp.run, scope_key]),
        "metadata": stamp.metadata(
            "Cairn assessment results",
            "One result per verify run; one finding per control, satisfied only when the control passed.",
        ),
        "import-ap": { "href": ASSESSMENT_PLAN },
        "results": results,
    });
    let resources = resources.into_values();
    if !resources.is_empty() {
        doc["back-matter"] = json!({ "resources": resources });
    }
    json!({ "assessment-results": doc })
}

fn assessment_plan(controls: &[&ControlView], stamp: &Stamp) -> Value {
    let scope_key = &stamp.scope;
    let system = uuid(&["system", scope_key]);
    json!({ "assessment-plan": {
        "uuid": uuid(&["assessment-plan", &stamp.run, scope_key]),
        "metadata": stamp.metadata(
            "Cairn assessment plan",
            "Every control is tested by Cairn's nightly verify run over the evidence lake.",
        ),
        "import-ssp": { "href": format!("#{system}") },
        "local-definitions": {
            "activities": [{
                "uuid": uuid(&["activity", "verify"]),
                "title": "Nightly verification and control evaluation",
                "description": "Re-check every run manifest and Merkle checkpoint, every audit-event hash chain and Ed25519 signature, and the supply-chain evidence; then evaluate each control from its evidence, its freshness limit and the findings that fail it.",
                "props": [{ "name": "method", "value": "TEST" }],
                "related-controls": reviewed(controls),
            }],
        },
        "reviewed-controls": reviewed(controls),
        "back-matter": { "resources": [{
            "uuid": system,
            "title": "The system under assessment",
            "description": "No OSCAL system security plan is exported. The controls assessed are described, with their framework mappings, in the component definition.",
            "rlinks": [{ "href": COMPONENT_DEFINITION, "media-type": "application/json" }],
        }] },
    } })
}

fn component_definition(model: &PortalModel, controls: &[&ControlView], stamp: &Stamp) -> Value {
    let catalog = uuid(&["catalog"]);
    let mut resources = vec![json!({
        "uuid": catalog,
        "title": "Cairn control catalog",
        "description": "The controls Cairn evaluates, each with the evidence it rests on, how fresh that evidence must be and the findings that fail it.",
    })];
    let mut implementations = vec![json!({
        "uuid": uuid(&["implementation", "catalog"]),
        "source": format!("#{catalog}"),
        "description": "Each control of the catalog, with the evidence it rests on.",
        "implemented-requirements": controls.iter().map(|c| {
            let mut props = vec![
                prop("control-id", &c.id),
                prop("evidence-kind", &c.evidence),
                prop("max-age-days", &c.max_age_days.to_string()),
            ];
            props.extend(c.fails_on.iter().map(|k| prop("fails-on", k)));
            props.extend(c.requirements.iter().map(|r| prop("maps-to", &format!("{} {}", r.framework, r.id))));
            json!({
                "uuid": uuid(&["requirement", "catalog", &c.id]),
                "control-id": token(&c.id),
                "description": text(&c.description, &c.title),
                "props": props,
            })
        }).collect::<Vec<_>>(),
    })];
    for f in &model.frameworks {
        let mut requirements = Vec::new();
        for r in &f.requirements {
            let mapped: Vec<(&ControlView, &crate::model::RequirementView)> = controls
                .iter()
                .filter_map(|c| c.requirements.iter().find(|q| q.framework == f.key && q.id == r.id).map(|q| (*c, q)))
                .collect();
            if mapped.is_empty() {
                continue;
            }
            let mut props = vec![prop("requirement-id", &r.id)];
            props.extend(mapped.iter().map(|(c, _)| prop("control", &c.id)));
            let description = mapped
                .iter()
                .map(|(c, q)| {
                    let rationale =
                        if q.rationale.trim().is_empty() { String::new() } else { format!(": {}", q.rationale.trim()) };
                    format!("- {} {} ({}){rationale}", c.id, c.title, q.relationship)
                })
                .collect::<Vec<_>>()
                .join("\n");
            requirements.push(json!({
                "uuid": uuid(&["requirement", &f.key, &r.id]),
                "control-id": token(&r.id),
                "description": format!("{} {}, met by:\n\n{description}", r.id, text(&r.title, "")),
                "props": props,
            }));
        }
        if requirements.is_empty() {
            continue;
        }
        let source = uuid(&["framework", &f.key]);
        resources.push(json!({
            "uuid": source,
            "title": f.name,
            "description": format!("The requirements of {} ({}) as Cairn's framework list names them.", f.name, text(&f.version, "unversioned")),
            "props": [prop("framework", &f.key), prop("version", &f.version)],
        }));
        implementations.push(json!({
            "uuid": uuid(&["implementation", &f.key]),
            "source": format!("#{source}"),
            "description": format!("The {} requirements Cairn's controls map to.", f.name),
            "implemented-requirements": requirements,
        }));
    }
    json!({ "component-definition": {
        "uuid": uuid(&["component-definition", env!("CARGO_PKG_VERSION"), &stamp.run]),
        "metadata": stamp.metadata(
            "Cairn control catalog",
            "The control catalog Cairn evaluates, with its SOC 2, ISO/IEC 27001:2022, GDPR and HIPAA mappings.",
        ),
        "components": [{
            "uuid": uuid(&["component", "cairn"]),
            "type": "software",
            "title": "Cairn",
            "description": "Collects audit logs, attestations, SBOMs, scans, test results and threat models into a signed, append-only evidence lake; re-verifies every hash chain and signature nightly; evaluates each control from its evidence.",
            "control-implementations": implementations,
        }],
        "back-matter": { "resources": resources },
    } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_oscal_tokens() {
        assert_eq!(token("CC6.1"), "CC6.1");
        assert_eq!(token("A.5.15"), "A.5.15");
        assert_eq!(token("164.308(a)(1)"), "_164.308_a__1_");
        assert_eq!(token("Art. 32"), "Art._32");
    }

    #[test]
    fn uuids_are_v5_and_name_their_parts() {
        let a = uuid(&["finding", "run-1", "ACC-01"]);
        assert_eq!(a, uuid(&["finding", "run-1", "ACC-01"]));
        assert_ne!(a, uuid(&["finding", "run-1/ACC-01"]));
        assert_eq!(a.as_bytes()[14], b'5', "{a}");
    }
}
