//! Source type `cyclonedx`: CycloneDX JSON SBOMs, specVersion 1.4 to 1.7.
//!
//! What is read:
//! - every entry of `components`, and of their nested `components` (depth-first, each right after
//!   its parent), is one component row; `metadata.component` is the subject, not a row (nor are
//!   its own nested components);
//! - `component_ref` is the `bom-ref`, or empty when the component has none;
//! - `hashes` are the component's own, or when it has none those of its
//!   `externalReferences[type=distribution]` (npm tools put the tarball's hash there);
//! - `supplier` is `supplier.name`;
//! - `depends_on` comes from the `dependencies` entry whose `ref` is the component's `bom-ref`;
//! - `tool` lists `metadata.tools`, in both the legacy array form (`vendor name version`) and the
//!   1.5+ object form (`group/name version` for each of its components, then its services).

use std::collections::HashMap;
use std::fmt;

use cairn_evidence::artefacts::{ArtefactSet, SbomComponentRow, SbomRow};
use cairn_evidence::tables::Provenance;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::document::{hash_text, push_rows, qualified_name, UNIT};
use crate::artefact::{self, ArtefactFormat};
use crate::config::ArtefactConfig;
use crate::json_doc::{
    field_fns, in_field, indexed_seq, join_sorted, keep_all, probe, seq_fns, strip_utf8_bom, IndexedSeq,
};
use crate::source::newtype_source;

/// A `cyclonedx` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct CycloneDx(pub ArtefactConfig);

/// How a `cyclonedx` file is read.
const FORMAT: ArtefactFormat = ArtefactFormat { unit: UNIT, parse: Some(parse) };

newtype_source!(CycloneDx, "cyclonedx", artefact::collect, FORMAT);

/// Parses one document into the sink's rows.
fn parse(
    bytes: &[u8],
    _relative: &str,
    blob: &str,
    provenance: &Provenance,
    rows: &mut ArtefactSet,
) -> Result<u64, String> {
    push_rows(bytes, blob, provenance, rows, parse_cyclonedx)
}

/// CycloneDX minor versions (of `1.x`) accepted.
const CDX_MINOR_VERSIONS: std::ops::RangeInclusive<u32> = 4..=7;

/// Parses a CycloneDX JSON document. `blob` is the document's blob key, `provenance` its origin.
pub fn parse_cyclonedx(
    bytes: &[u8],
    blob: &str,
    provenance: &Provenance,
) -> Result<(SbomRow, Vec<SbomComponentRow>), String> {
    let bytes = strip_utf8_bom(bytes);
    let probe: CdxProbe = probe(bytes, "CycloneDX")?;
    match probe.bom_format {
        Some(Value::String(f)) if f == "CycloneDX" => {}
        Some(other) => return Err(format!("not a CycloneDX document: bomFormat is {other}, expected \"CycloneDX\"")),
        None if probe.spdx_version.is_some() => {
            return Err("not a CycloneDX document: bomFormat is missing (it looks like an SPDX document)".into())
        }
        None => return Err("not a CycloneDX document: bomFormat is missing".into()),
    }
    let spec_version = match probe.spec_version {
        Some(Value::String(v)) => v,
        Some(other) => {
            return Err(format!("CycloneDX document: specVersion is {other}, expected a string such as \"1.6\""))
        }
        None => return Err("CycloneDX document: specVersion is missing".into()),
    };
    if !cdx_version_supported(&spec_version) {
        return Err(format!(
            "unsupported CycloneDX specVersion \"{spec_version}\" (supported: 1.{} to 1.{})",
            CDX_MINOR_VERSIONS.start(),
            CDX_MINOR_VERSIONS.end()
        ));
    }

    let doc: CdxDoc = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;

    let mut depends: HashMap<String, Vec<String>> = HashMap::new();
    for dep in doc.dependencies {
        depends.entry(dep.reference).or_default().extend(dep.depends_on.unwrap_or_default());
    }

    let mut rows = Vec::new();
    for (i, component) in doc.components.into_iter().enumerate() {
        flatten_cdx(component, &format!("components[{i}]"), &depends, blob, provenance, &mut rows)?;
    }

    let metadata = doc.metadata.unwrap_or_default();
    let tool = metadata.tools.map(|t| t.0).unwrap_or_default().iter().filter_map(CdxTool::label).collect::<Vec<_>>();
    let (subject, subject_version, subject_purl) = match metadata.component {
        Some(c) => {
            let name = c.name.ok_or("metadata.component: name is missing")?;
            (qualified_name(c.group.as_deref(), &name), c.version, c.purl)
        }
        None => (String::new(), None, None),
    };
    let sbom = SbomRow {
        blob: blob.to_string(),
        spec: format!("CycloneDX {spec_version}"),
        document: subject.clone(),
        serial: doc.serial_number,
        tool: tool.join("; "),
        created: metadata.timestamp,
        subject,
        subject_version,
        subject_purl,
        components: rows.len() as u64,
        provenance: provenance.clone(),
    };
    Ok((sbom, rows))
}

/// First pass: what the document says it is.
#[derive(Deserialize)]
struct CdxProbe {
    #[serde(rename = "bomFormat")]
    bom_format: Option<Value>,
    #[serde(rename = "specVersion")]
    spec_version: Option<Value>,
    #[serde(rename = "spdxVersion")]
    spdx_version: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct CdxDoc {
    #[serde(rename = "serialNumber", default, deserialize_with = "f_serial_number")]
    serial_number: Option<String>,
    #[serde(default, deserialize_with = "f_metadata")]
    metadata: Option<CdxMetadata>,
    #[serde(default, deserialize_with = "seq_components")]
    components: Vec<CdxComponent>,
    #[serde(default, deserialize_with = "seq_dependencies")]
    dependencies: Vec<CdxDependency>,
}

#[derive(Default, Deserialize)]
struct CdxMetadata {
    #[serde(default, deserialize_with = "f_timestamp")]
    timestamp: Option<String>,
    #[serde(default, deserialize_with = "f_tools")]
    tools: Option<CdxTools>,
    #[serde(default, deserialize_with = "f_component")]
    component: Option<CdxComponent>,
}

#[derive(Deserialize)]
struct CdxComponent {
    #[serde(rename = "bom-ref", default, deserialize_with = "f_bom_ref")]
    bom_ref: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "f_type")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "f_group")]
    group: Option<String>,
    #[serde(default, deserialize_with = "f_name")]
    name: Option<String>,
    #[serde(default, deserialize_with = "f_version")]
    version: Option<String>,
    #[serde(default, deserialize_with = "f_purl")]
    purl: Option<String>,
    #[serde(default, deserialize_with = "f_supplier")]
    supplier: Option<CdxOrganization>,
    #[serde(default, deserialize_with = "seq_hashes")]
    hashes: Vec<CdxHash>,
    #[serde(default, deserialize_with = "seq_licenses")]
    licenses: Vec<CdxLicenseChoice>,
    #[serde(rename = "externalReferences", default, deserialize_with = "seq_external_references")]
    external_references: Vec<CdxExternalReference>,
    #[serde(default, deserialize_with = "seq_components")]
    components: Vec<CdxComponent>,
}

#[derive(Deserialize)]
struct CdxOrganization {
    #[serde(default, deserialize_with = "f_name")]
    name: Option<String>,
}

#[derive(Deserialize)]
struct CdxHash {
    #[serde(deserialize_with = "f_alg")]
    alg: String,
    #[serde(deserialize_with = "f_content")]
    content: String,
}

/// One entry of a `licenses` array: `{license:{id|name}}` or `{expression}`.
#[derive(Deserialize)]
struct CdxLicenseChoice {
    #[serde(default, deserialize_with = "f_license")]
    license: Option<CdxLicense>,
    #[serde(default, deserialize_with = "f_expression")]
    expression: Option<String>,
}

#[derive(Deserialize)]
struct CdxLicense {
    #[serde(default, deserialize_with = "f_id")]
    id: Option<String>,
    #[serde(default, deserialize_with = "f_name")]
    name: Option<String>,
}

#[derive(Deserialize)]
struct CdxExternalReference {
    #[serde(rename = "type", default, deserialize_with = "f_type")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "seq_hashes")]
    hashes: Vec<CdxHash>,
}

#[derive(Deserialize)]
struct CdxDependency {
    #[serde(rename = "ref", deserialize_with = "f_ref")]
    reference: String,
    #[serde(rename = "dependsOn", default, deserialize_with = "f_depends_on")]
    depends_on: Option<Vec<String>>,
}

/// `metadata.tools`: the legacy array of tools, or the 1.5+ object of components and services.
struct CdxTools(Vec<CdxTool>);

/// A tool in either form: legacy `{vendor, name, version}` or a component/service `{group, name, version}`.
#[derive(Deserialize)]
struct CdxTool {
    #[serde(default, deserialize_with = "f_vendor")]
    vendor: Option<String>,
    #[serde(default, deserialize_with = "f_group")]
    group: Option<String>,
    #[serde(default, deserialize_with = "f_name")]
    name: Option<String>,
    #[serde(default, deserialize_with = "f_version")]
    version: Option<String>,
}

#[derive(Deserialize)]
struct CdxToolsObject {
    #[serde(default, deserialize_with = "seq_tools")]
    components: Vec<CdxTool>,
    #[serde(default, deserialize_with = "seq_tools")]
    services: Vec<CdxTool>,
}

impl<'de> Deserialize<'de> for CdxTools {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ToolsVisitor;
        impl<'de> Visitor<'de> for ToolsVisitor {
            type Value = CdxTools;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of tools or an object with components and services")
            }
            fn visit_unit<E: de::Error>(self) -> Result<CdxTools, E> {
                Ok(CdxTools(Vec::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<CdxTools, A::Error> {
                IndexedSeq { name: "tools", keep: keep_all }.visit_seq(seq).map(CdxTools)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<CdxTools, A::Error> {
                let object = CdxToolsObject::deserialize(MapAccessDeserializer::new(map))?;
                Ok(CdxTools(object.components.into_iter().chain(object.services).collect()))
            }
        }
        d.deserialize_any(ToolsVisitor)
    }
}

impl CdxTool {
    /// `vendor group/name version`, leaving out what is missing; `None` when nothing is there.
    fn label(&self) -> Option<String> {
        let name = self.name.as_deref().map(|n| qualified_name(self.group.as_deref(), n));
        let parts: Vec<&str> = [self.vendor.as_deref(), name.as_deref(), self.version.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

/// Pushes the row of `c`, then those of its nested components, depth-first. `path` names `c` in errors.
fn flatten_cdx(
    mut c: CdxComponent,
    path: &str,
    depends: &HashMap<String, Vec<String>>,
    blob: &str,
    provenance: &Provenance,
    rows: &mut Vec<SbomComponentRow>,
) -> Result<(), String> {
    let children = std::mem::take(&mut c.components);
    let name = c.name.ok_or_else(|| format!("{path}: name is missing"))?;
    let own: Vec<String> = c.hashes.iter().map(|h| hash_text(&h.alg, &h.content)).collect();
    let hashes = if own.is_empty() {
        c.external_references
            .iter()
            .filter(|r| r.kind.as_deref() == Some("distribution"))
            .flat_map(|r| &r.hashes)
            .map(|h| hash_text(&h.alg, &h.content))
            .collect()
    } else {
        own
    };
    let depends_on = c.bom_ref.as_ref().and_then(|r| depends.get(r)).cloned().unwrap_or_default();
    rows.push(SbomComponentRow {
        sbom_blob: blob.to_string(),
        component_ref: c.bom_ref.unwrap_or_default(),
        name: qualified_name(c.group.as_deref(), &name),
        version: c.version,
        purl: c.purl,
        component_type: c.kind.map(|k| k.to_ascii_lowercase()),
        licenses: cdx_licenses(c.licenses),
        hashes: join_sorted(hashes),
        supplier: c.supplier.and_then(|s| s.name).filter(|s| !s.trim().is_empty()),
        depends_on: join_sorted(depends_on),
        provenance: provenance.clone(),
    });
    for (i, child) in children.into_iter().enumerate() {
        flatten_cdx(child, &format!("{path}.components[{i}]"), depends, blob, provenance, rows)?;
    }
    Ok(())
}

/// One SPDX expression from a CycloneDX `licenses` array: an expression as written, or the
/// licence ids (or names) joined with ` AND `, in order, without repeats.
fn cdx_licenses(choices: Vec<CdxLicenseChoice>) -> Option<String> {
    let mut terms: Vec<String> = Vec::new();
    for choice in choices {
        let term = choice.expression.or_else(|| choice.license.and_then(|l| l.id.or(l.name)));
        if let Some(term) = term.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) {
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
    }
    match terms.len() {
        0 => None,
        1 => terms.pop(),
        _ => Some(
            terms
                .into_iter()
                .map(|t| {
                    let compound = t.contains(" OR ") || t.contains(" or ");
                    if compound && !fully_parenthesised(&t) {
                        format!("({t})")
                    } else {
                        t
                    }
                })
                .collect::<Vec<_>>()
                .join(" AND "),
        ),
    }
}

/// Whether `s` is one parenthesised group: `(…)` whose first `(` closes at the end.
pub(super) fn fully_parenthesised(s: &str) -> bool {
    if !s.starts_with('(') || !s.ends_with(')') {
        return false;
    }
    let mut depth = 0usize;
    for (i, ch) in s.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 && i + 1 < s.len() {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// Whether `1.x` is a supported CycloneDX version.
pub(super) fn cdx_version_supported(v: &str) -> bool {
    v.strip_prefix("1.").and_then(|m| m.parse::<u32>().ok()).is_some_and(|m| CDX_MINOR_VERSIONS.contains(&m))
}

field_fns! {
    f_serial_number: Option<String> = "serialNumber";
    f_metadata: Option<CdxMetadata> = "metadata";
    f_timestamp: Option<String> = "timestamp";
    f_tools: Option<CdxTools> = "tools";
    f_component: Option<CdxComponent> = "component";
    f_bom_ref: Option<String> = "bom-ref";
    f_type: Option<String> = "type";
    f_group: Option<String> = "group";
    f_name: Option<String> = "name";
    f_version: Option<String> = "version";
    f_purl: Option<String> = "purl";
    f_supplier: Option<CdxOrganization> = "supplier";
    f_alg: String = "alg";
    f_content: String = "content";
    f_license: Option<CdxLicense> = "license";
    f_expression: Option<String> = "expression";
    f_id: Option<String> = "id";
    f_ref: String = "ref";
    f_depends_on: Option<Vec<String>> = "dependsOn";
    f_vendor: Option<String> = "vendor";
}

seq_fns! {
    seq_components: CdxComponent = "components";
    seq_dependencies: CdxDependency = "dependencies";
    seq_hashes: CdxHash = "hashes";
    seq_licenses: CdxLicenseChoice = "licenses";
    seq_external_references: CdxExternalReference = "externalReferences";
    seq_tools: CdxTool = "components";
}
