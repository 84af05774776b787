//! SBOM documents: CycloneDX 1.4–1.7 JSON and SPDX 2.2/2.3 JSON, into `sboms` and `sbom_components` rows.
//!
//! Both parsers read the document with typed structs that keep only the fields the rows need
//! (everything else is skipped while parsing), so memory follows the extracted fields and not the
//! document's size. Each document is read twice: a first pass only checks that the bytes are
//! JSON of the right format and spec version (so a wrong file gets a clear reason), the second
//! pass extracts. Errors name the field at fault with its path (`components[3].hashes[0]: …`).
//!
//! CycloneDX (specVersion 1.4 to 1.7):
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
//!
//! SPDX (spdxVersion `SPDX-2.2` or `SPDX-2.3`):
//! - every entry of `packages` is one component row; `files` are not components;
//! - `purl` is the first `externalRefs` entry of type `purl` in category `PACKAGE-MANAGER` (or `PACKAGE_MANAGER`);
//! - `licenses` is `licenseConcluded`, else `licenseDeclared`, skipping `NOASSERTION` and `NONE`;
//! - `supplier` is as written without its `Organization: ` / `Person: ` prefix (`NOASSERTION` gives none);
//! - `depends_on` comes from `DEPENDS_ON` relationships (and the inverse `DEPENDENCY_OF` family:
//!   `B DEPENDENCY_OF A`, `B DEV_DEPENDENCY_OF A`, … mean A depends on B); `CONTAINS` is not a dependency;
//! - the subject is the first package named by `documentDescribes`, or by a `DESCRIBES` relationship
//!   from the document (or `DESCRIBED_BY` to it); without one, the document's name;
//! - `tool` lists the `creationInfo.creators` entries that start with `Tool: `, without the prefix.
//!
//! For both, hashes are written `ALG:hex` with the algorithm as the format spells it (`SHA-256`,
//! `SHA256`) and the hex lowercased.

use std::collections::HashMap;
use std::fmt;

use cairn_evidence::artefacts::{SbomComponentRow, SbomRow};
use cairn_evidence::tables::Provenance;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// CycloneDX minor versions (of `1.x`) accepted.
const CDX_MINOR_VERSIONS: std::ops::RangeInclusive<u32> = 4..=7;
/// SPDX versions accepted.
const SPDX_VERSIONS: [&str; 2] = ["SPDX-2.2", "SPDX-2.3"];

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

/// Parses an SPDX 2.3 JSON document (2.2 is accepted too). `blob` is the document's blob key,
/// `provenance` its origin.
pub fn parse_spdx(
    bytes: &[u8],
    blob: &str,
    provenance: &Provenance,
) -> Result<(SbomRow, Vec<SbomComponentRow>), String> {
    let bytes = strip_utf8_bom(bytes);
    if bytes.trim_ascii_start().starts_with(b"SPDXVersion:") {
        return Err("not an SPDX JSON document: it is SPDX tag-value, which is not supported".into());
    }
    let probe: SpdxProbe = probe(bytes, "SPDX")?;
    let spdx_version = match probe.spdx_version {
        Some(Value::String(v)) => v,
        Some(other) => {
            return Err(format!("SPDX document: spdxVersion is {other}, expected a string such as \"SPDX-2.3\""))
        }
        None if probe.bom_format.is_some() => {
            return Err("not an SPDX document: spdxVersion is missing (it looks like a CycloneDX document)".into())
        }
        None if probe.context.is_some() => {
            return Err("not an SPDX 2 document: spdxVersion is missing (SPDX 3 JSON-LD is not supported)".into())
        }
        None => return Err("not an SPDX document: spdxVersion is missing".into()),
    };
    if !SPDX_VERSIONS.contains(&spdx_version.as_str()) {
        return Err(format!("unsupported SPDX version \"{spdx_version}\" (supported: {})", SPDX_VERSIONS.join(", ")));
    }

    let doc: SpdxDoc = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let name = doc.name.ok_or("name is missing")?;
    let doc_id = doc.spdx_id.unwrap_or_else(|| "SPDXRef-DOCUMENT".to_string());

    let mut depends: HashMap<String, Vec<String>> = HashMap::new();
    let mut described = doc.document_describes;
    for rel in doc.relationships {
        let kind = rel.relationship_type.to_ascii_uppercase();
        let (from, to) = match kind.as_str() {
            "DESCRIBES" => {
                if rel.spdx_element_id == doc_id {
                    described.push(rel.related_spdx_element);
                }
                continue;
            }
            "DESCRIBED_BY" => {
                if rel.related_spdx_element == doc_id {
                    described.push(rel.spdx_element_id);
                }
                continue;
            }
            "DEPENDS_ON" => (rel.spdx_element_id, rel.related_spdx_element),
            k if k.ends_with("DEPENDENCY_OF") => (rel.related_spdx_element, rel.spdx_element_id),
            _ => continue,
        };
        if !is_no_value(&from) && !is_no_value(&to) {
            depends.entry(from).or_default().push(to);
        }
    }

    let mut rows = Vec::with_capacity(doc.packages.len());
    for (i, p) in doc.packages.into_iter().enumerate() {
        let id = p.spdx_id.ok_or_else(|| format!("packages[{i}]: SPDXID is missing"))?;
        let pkg_name = p.name.ok_or_else(|| format!("packages[{i}]: name is missing"))?;
        let purl = p
            .external_refs
            .into_iter()
            .filter(|r| {
                r.kind.as_deref().is_some_and(|t| t.trim().eq_ignore_ascii_case("purl"))
                    && r.category.as_deref().is_some_and(|c| {
                        matches!(c.trim().to_ascii_uppercase().as_str(), "PACKAGE-MANAGER" | "PACKAGE_MANAGER")
                    })
            })
            .find_map(|r| r.locator);
        let licenses = [p.license_concluded, p.license_declared]
            .into_iter()
            .flatten()
            .map(|l| l.trim().to_string())
            .find(|l| !l.is_empty() && !is_no_value(l));
        let supplier = p.supplier.and_then(|s| {
            let s = s.trim();
            let s = s.strip_prefix("Organization:").or_else(|| s.strip_prefix("Person:")).unwrap_or(s).trim();
            (!s.is_empty() && !is_no_value(s)).then(|| s.to_string())
        });
        let hashes = p.checksums.into_iter().map(|c| hash_text(&c.algorithm, &c.checksum_value)).collect();
        let depends_on = depends.get(&id).cloned().unwrap_or_default();
        rows.push(SbomComponentRow {
            sbom_blob: blob.to_string(),
            component_ref: id,
            name: pkg_name,
            version: p.version_info,
            purl,
            component_type: p.primary_package_purpose.map(|t| t.to_ascii_lowercase()),
            licenses,
            hashes: join_sorted(hashes),
            supplier,
            depends_on: join_sorted(depends_on),
            provenance: provenance.clone(),
        });
    }

    let subject = described.iter().find_map(|id| rows.iter().find(|r| &r.component_ref == id));
    let (subject, subject_version, subject_purl) = match subject {
        Some(r) => (r.name.clone(), r.version.clone(), r.purl.clone()),
        None => (name.clone(), None, None),
    };
    let creation = doc.creation_info.unwrap_or_default();
    let tool = creation
        .creators
        .iter()
        .filter_map(|c| c.trim().strip_prefix("Tool:"))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>();
    let sbom = SbomRow {
        blob: blob.to_string(),
        spec: spdx_version,
        document: name,
        serial: doc.document_namespace,
        tool: tool.join("; "),
        created: creation.created,
        subject,
        subject_version,
        subject_purl,
        components: rows.len() as u64,
        provenance: provenance.clone(),
    };
    Ok((sbom, rows))
}

// ---------------------------------------------------------------------------------------------
// CycloneDX

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
fn fully_parenthesised(s: &str) -> bool {
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
fn cdx_version_supported(v: &str) -> bool {
    v.strip_prefix("1.").and_then(|m| m.parse::<u32>().ok()).is_some_and(|m| CDX_MINOR_VERSIONS.contains(&m))
}

// ---------------------------------------------------------------------------------------------
// SPDX

/// First pass: what the document says it is.
#[derive(Deserialize)]
struct SpdxProbe {
    #[serde(rename = "spdxVersion")]
    spdx_version: Option<Value>,
    #[serde(rename = "bomFormat")]
    bom_format: Option<IgnoredAny>,
    #[serde(rename = "@context")]
    context: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct SpdxDoc {
    #[serde(rename = "SPDXID", default, deserialize_with = "f_spdxid")]
    spdx_id: Option<String>,
    #[serde(default, deserialize_with = "f_name")]
    name: Option<String>,
    #[serde(rename = "documentNamespace", default, deserialize_with = "f_document_namespace")]
    document_namespace: Option<String>,
    #[serde(rename = "creationInfo", default, deserialize_with = "f_creation_info")]
    creation_info: Option<SpdxCreationInfo>,
    #[serde(rename = "documentDescribes", default, deserialize_with = "seq_document_describes")]
    document_describes: Vec<String>,
    #[serde(default, deserialize_with = "seq_packages")]
    packages: Vec<SpdxPackage>,
    #[serde(default, deserialize_with = "seq_relationships")]
    relationships: Vec<SpdxRelationship>,
}

#[derive(Default, Deserialize)]
struct SpdxCreationInfo {
    #[serde(default, deserialize_with = "f_created")]
    created: Option<String>,
    #[serde(default, deserialize_with = "seq_creators")]
    creators: Vec<String>,
}

#[derive(Deserialize)]
struct SpdxPackage {
    #[serde(rename = "SPDXID", default, deserialize_with = "f_spdxid")]
    spdx_id: Option<String>,
    #[serde(default, deserialize_with = "f_name")]
    name: Option<String>,
    #[serde(rename = "versionInfo", default, deserialize_with = "f_version_info")]
    version_info: Option<String>,
    #[serde(rename = "licenseConcluded", default, deserialize_with = "f_license_concluded")]
    license_concluded: Option<String>,
    #[serde(rename = "licenseDeclared", default, deserialize_with = "f_license_declared")]
    license_declared: Option<String>,
    #[serde(default, deserialize_with = "f_supplier_text")]
    supplier: Option<String>,
    #[serde(rename = "primaryPackagePurpose", default, deserialize_with = "f_primary_package_purpose")]
    primary_package_purpose: Option<String>,
    #[serde(default, deserialize_with = "seq_checksums")]
    checksums: Vec<SpdxChecksum>,
    #[serde(rename = "externalRefs", default, deserialize_with = "seq_external_refs")]
    external_refs: Vec<SpdxExternalRef>,
}

#[derive(Deserialize)]
struct SpdxChecksum {
    #[serde(deserialize_with = "f_algorithm")]
    algorithm: String,
    #[serde(rename = "checksumValue", deserialize_with = "f_checksum_value")]
    checksum_value: String,
}

#[derive(Deserialize)]
struct SpdxExternalRef {
    #[serde(rename = "referenceCategory", default, deserialize_with = "f_reference_category")]
    category: Option<String>,
    #[serde(rename = "referenceType", default, deserialize_with = "f_reference_type")]
    kind: Option<String>,
    #[serde(rename = "referenceLocator", default, deserialize_with = "f_reference_locator")]
    locator: Option<String>,
}

#[derive(Deserialize)]
struct SpdxRelationship {
    #[serde(rename = "spdxElementId", deserialize_with = "f_spdx_element_id")]
    spdx_element_id: String,
    #[serde(rename = "relationshipType", deserialize_with = "f_relationship_type")]
    relationship_type: String,
    #[serde(rename = "relatedSpdxElement", deserialize_with = "f_related_spdx_element")]
    related_spdx_element: String,
}

/// Keeps only the relationships the rows use (dependencies and what the document describes).
fn relationship_used(r: &SpdxRelationship) -> bool {
    let t = r.relationship_type.to_ascii_uppercase();
    matches!(t.as_str(), "DEPENDS_ON" | "DESCRIBES" | "DESCRIBED_BY") || t.ends_with("DEPENDENCY_OF")
}

/// `NOASSERTION` or `NONE`.
fn is_no_value(s: &str) -> bool {
    s.eq_ignore_ascii_case("NOASSERTION") || s.eq_ignore_ascii_case("NONE")
}

// ---------------------------------------------------------------------------------------------
// Shared

/// The first pass: the bytes must be one JSON object, read into `T` (which keeps almost nothing).
fn probe<T: DeserializeOwned>(bytes: &[u8], format: &str) -> Result<T, String> {
    let article = if format.starts_with('S') { "an" } else { "a" };
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(format!("not {article} {format} document: the input is empty")),
        Some(b'<') => {
            return Err(format!("not {article} {format} JSON document: it looks like XML, which is not supported"))
        }
        Some(b'{') => {}
        Some(_) => return Err(format!("not {article} {format} document: the input is not a JSON object")),
    }
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Eof => format!(
            "not {article} {format} document: the JSON is truncated (it ends early at line {} column {})",
            e.line(),
            e.column()
        ),
        serde_json::error::Category::Syntax => format!("not {article} {format} document: invalid JSON: {e}"),
        serde_json::error::Category::Data | serde_json::error::Category::Io => {
            format!("not {article} {format} document: {e}")
        }
    })
}

/// Drops a leading UTF-8 byte-order mark, which some Windows tools write.
fn strip_utf8_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// `group/name` when there is a group, else `name`.
fn qualified_name(group: Option<&str>, name: &str) -> String {
    match group.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => format!("{g}/{name}"),
        None => name.to_string(),
    }
}

/// `ALG:hex`, the algorithm as written and the hex lowercased.
fn hash_text(alg: &str, hex: &str) -> String {
    format!("{}:{}", alg.trim(), hex.trim().to_ascii_lowercase())
}

/// Sorted, without repeats, `; `-separated.
fn join_sorted(mut items: Vec<String>) -> String {
    items.sort();
    items.dedup();
    items.join("; ")
}

/// Puts `name` in front of an error's path: `name: msg`, or `name.inner: msg` when `msg`
/// already names a path inside it (left as is when that path already starts with `name`).
fn at_path(name: &str, msg: &str) -> String {
    if let Some((head, _)) = msg.split_once(": ") {
        let is_path = head.starts_with(|c: char| c.is_ascii_alphabetic() || c == '$' || c == '@')
            && head.chars().all(|c| c.is_ascii_alphanumeric() || "_$@.[]-".contains(c));
        if is_path {
            let rest = head.strip_prefix(name);
            if rest.is_some_and(|r| r.is_empty() || r.starts_with('[') || r.starts_with('.')) {
                return msg.to_string();
            }
            return format!("{name}.{msg}");
        }
    }
    format!("{name}: {msg}")
}

/// Deserializes a value, naming the field in its errors.
fn in_field<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D, name: &str) -> Result<T, D::Error> {
    T::deserialize(d).map_err(|e| de::Error::custom(at_path(name, &e.to_string())))
}

/// Keeps every element.
fn keep_all<T>(_: &T) -> bool {
    true
}

/// An array (`null` reads as empty) whose element errors name the element (`name[i]`), keeping
/// only the elements `keep` accepts.
struct IndexedSeq<T> {
    name: &'static str,
    keep: fn(&T) -> bool,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for IndexedSeq<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
        let name = self.name;
        d.deserialize_seq(self).map_err(|e| de::Error::custom(at_path(name, &e.to_string())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::new();
        let mut i = 0usize;
        loop {
            match seq.next_element::<T>() {
                Ok(Some(v)) => {
                    if (self.keep)(&v) {
                        out.push(v);
                    }
                }
                Ok(None) => return Ok(out),
                Err(e) => return Err(de::Error::custom(at_path(&format!("{}[{i}]", self.name), &e.to_string()))),
            }
            i += 1;
        }
    }
}

/// Reads an array field with [`IndexedSeq`].
fn indexed_seq<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
    name: &'static str,
    keep: fn(&T) -> bool,
) -> Result<Vec<T>, D::Error> {
    d.deserialize_option(IndexedSeq { name, keep })
}

/// `fn f(d) -> Result<T, _>` reading field `name` with [`in_field`].
macro_rules! field_fns {
    ($($f:ident: $ty:ty = $name:literal;)*) => {$(
        fn $f<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
            in_field(d, $name)
        }
    )*};
}

/// `fn f(d) -> Result<Vec<T>, _>` reading array field `name` with [`indexed_seq`].
macro_rules! seq_fns {
    ($($f:ident: $ty:ty = $name:literal $(, keep $keep:path)?;)*) => {$(
        fn $f<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<$ty>, D::Error> {
            #[allow(unused_mut, unused_assignments)]
            let mut keep: fn(&$ty) -> bool = keep_all;
            $(keep = $keep;)?
            indexed_seq(d, $name, keep)
        }
    )*};
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
    f_spdxid: Option<String> = "SPDXID";
    f_document_namespace: Option<String> = "documentNamespace";
    f_creation_info: Option<SpdxCreationInfo> = "creationInfo";
    f_created: Option<String> = "created";
    f_version_info: Option<String> = "versionInfo";
    f_license_concluded: Option<String> = "licenseConcluded";
    f_license_declared: Option<String> = "licenseDeclared";
    f_supplier_text: Option<String> = "supplier";
    f_primary_package_purpose: Option<String> = "primaryPackagePurpose";
    f_algorithm: String = "algorithm";
    f_checksum_value: String = "checksumValue";
    f_reference_category: Option<String> = "referenceCategory";
    f_reference_type: Option<String> = "referenceType";
    f_reference_locator: Option<String> = "referenceLocator";
    f_spdx_element_id: String = "spdxElementId";
    f_relationship_type: String = "relationshipType";
    f_related_spdx_element: String = "relatedSpdxElement";
}

seq_fns! {
    seq_components: CdxComponent = "components";
    seq_dependencies: CdxDependency = "dependencies";
    seq_hashes: CdxHash = "hashes";
    seq_licenses: CdxLicenseChoice = "licenses";
    seq_external_references: CdxExternalReference = "externalReferences";
    seq_tools: CdxTool = "components";
    seq_document_describes: String = "documentDescribes";
    seq_packages: SpdxPackage = "packages";
    seq_relationships: SpdxRelationship = "relationships", keep relationship_used;
    seq_creators: String = "creators";
    seq_checksums: SpdxChecksum = "checksums";
    seq_external_refs: SpdxExternalRef = "externalRefs";
}

#[cfg(test)]
mod tests {
    use super::*;

    const CDX_NPM: &[u8] = include_bytes!("../../fixtures/sbom/cdx16-cyclonedx-npm-package-integrity.cdx.json");
    const SPDX_K8S: &[u8] = include_bytes!("../../fixtures/sbom/spdx23-k8s-bom-hello-server.spdx.json");
    const SPDX_HELLO: &[u8] = include_bytes!("../../fixtures/sbom/spdx23-hello-source-files-checksums.spdx.json");

    fn prov() -> Provenance {
        Provenance {
            source: "sboms".into(),
            object_key: "release/sbom.json".into(),
            line: 1,
            byte_offset: 0,
            record_sha256: "00".repeat(32),
            run_id: "run-1".into(),
            collected_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            actor: "test".into(),
            confidence: cairn_evidence::tables::Confidence::Unverified,
            simulated: false,
        }
    }

    fn cdx(json: &str) -> Result<(SbomRow, Vec<SbomComponentRow>), String> {
        parse_cyclonedx(json.as_bytes(), "blob-x", &prov())
    }

    fn spdx(json: &str) -> Result<(SbomRow, Vec<SbomComponentRow>), String> {
        parse_spdx(json.as_bytes(), "blob-y", &prov())
    }

    #[test]
    fn cyclonedx_npm_fixture() {
        let (sbom, rows) = parse_cyclonedx(CDX_NPM, "sha256-npm", &prov()).unwrap();
        assert_eq!(sbom.blob, "sha256-npm");
        assert_eq!(sbom.spec, "CycloneDX 1.6");
        assert_eq!(sbom.document, "demo-package-integrity");
        assert_eq!(sbom.subject, "demo-package-integrity");
        assert_eq!(sbom.subject_version, None);
        assert_eq!(
            sbom.subject_purl.as_deref(),
            Some("pkg:npm/demo-package-integrity?vcs_url=git%2Bhttps%3A%2F%2Fgithub.com%2FCycloneDX%2Fcyclonedx-node-npm.git")
        );
        assert_eq!(sbom.serial, None);
        assert_eq!(sbom.created, None);
        assert_eq!(sbom.tool, "npm 11.4.1; @cyclonedx/cyclonedx-library 8.4.0; @cyclonedx/cyclonedx-npm 3.1.0");
        assert_eq!(sbom.components, 5);
        assert_eq!(sbom.provenance, prov());

        assert_eq!(rows.len(), 5);
        let names: Vec<_> = rows.iter().map(|r| (r.name.as_str(), r.version.as_deref().unwrap_or(""))).collect();
        assert_eq!(
            names,
            [
                ("base64-js", "1.0.1"),
                ("buffer", "5.4.3"),
                ("base64-js", "1.3.1"),
                ("ieee754", "1.1.13"),
                ("ignore", "5.1.4")
            ]
        );
        assert!(rows.iter().all(|r| r.sbom_blob == "sha256-npm" && r.provenance == prov()));
        assert!(rows.iter().all(|r| r.component_type.as_deref() == Some("library") && r.supplier.is_none()));

        let b = &rows[0];
        assert_eq!(b.component_ref, "demo-package-integrity|base64-js@1.0.1");
        assert_eq!(b.purl.as_deref(), Some("pkg:npm/base64-js@1.0.1"));
        assert_eq!(b.licenses.as_deref(), Some("MIT"));
        // No hashes of its own: the distribution reference's hash is used.
        assert_eq!(b.hashes, "SHA-1:6926d1b194fbc737b8eed513756de2fcda7ea408");
        assert_eq!(b.depends_on, "");

        let buffer = &rows[1];
        assert_eq!(buffer.purl.as_deref(), Some("pkg:npm/buffer@5.4.3"));
        assert_eq!(
            buffer.hashes,
            "SHA-384:e61d498b4e0d47671b8e26354a16f2d7a48f077044b42496c5519dc0f5fe00e7b07982b54808f22cb81b278997000554"
        );
        assert_eq!(
            buffer.depends_on,
            "demo-package-integrity|buffer@5.4.3|base64-js@1.3.1; demo-package-integrity|ieee754@1.1.13"
        );

        assert_eq!(rows[2].component_ref, "demo-package-integrity|buffer@5.4.3|base64-js@1.3.1");
        assert_eq!(rows[2].hashes, "SHA-1:58ece8cb75dd07e71ed08c736abc5fac4dbf8df1");
        assert_eq!(rows[3].purl.as_deref(), Some("pkg:npm/ieee754@1.1.13"));
        assert_eq!(rows[3].licenses.as_deref(), Some("BSD-3-Clause"));
        assert_eq!(rows[3].hashes, "SHA-256:603e6b4c40da1551bbaabe8aa8a4b35f62f132b0b60e99906a59f0ad04d47ae2");
        assert!(rows[4].hashes.starts_with("SHA-512:3336d449a8644d6d"));
    }

    #[test]
    fn spdx_k8s_fixture() {
        let (sbom, rows) = parse_spdx(SPDX_K8S, "sha256-k8s", &prov()).unwrap();
        assert_eq!(sbom.blob, "sha256-k8s");
        assert_eq!(sbom.spec, "SPDX-2.3");
        assert_eq!(sbom.document, "SBOM-SPDX-2d85f548-12fa-46d5-87ce-5e78e5e111f4");
        assert_eq!(
            sbom.serial.as_deref(),
            Some("https://spdx.org/spdxdocs/k8s-releng-bom-7c6a33ab-bd76-4b06-b291-a850e0815b07")
        );
        assert_eq!(sbom.tool, "sigs.k8s.io/bom/pkg/spdx");
        assert_eq!(sbom.created.as_deref(), Some("2022-11-03T07:10:10Z"));
        assert_eq!(sbom.subject, "hello-server-src");
        assert_eq!(sbom.subject_version.as_deref(), Some("0.1.0"));
        assert_eq!(sbom.subject_purl.as_deref(), Some("pkg:deb/debian/libselinux1-dev@3.1-3?arch=s390x"));
        // Four packages; the binary in files[] is not a component.
        assert_eq!(sbom.components, 4);
        assert_eq!(rows.len(), 4);
        assert!(rows.iter().all(|r| r.sbom_blob == "sha256-k8s" && r.provenance == prov()));

        let src = &rows[0];
        assert_eq!(src.component_ref, "SPDXRef-Package-hello-server-src");
        assert_eq!(src.licenses.as_deref(), Some("Apache-2.0"));
        assert_eq!(src.hashes, "");
        assert_eq!(src.component_type, None);
        assert_eq!(
            src.depends_on,
            "SPDXRef-Package-SPDXRef-Package-cargo-hyper-0.14; \
             SPDXRef-Package-SPDXRef-Package-cargo-pretty-env-logger-0.4.0; \
             SPDXRef-Package-SPDXRef-Package-cargo-tokio-1"
        );

        let hyper = &rows[1];
        assert_eq!(hyper.name, "hyper");
        assert_eq!(hyper.version.as_deref(), Some("0.14"));
        assert_eq!(hyper.purl.as_deref(), Some("pkg:cargo/hyper@0.14"));
        assert_eq!(hyper.licenses.as_deref(), Some("MIT"));
        assert_eq!(hyper.hashes, "SHA256:02c929dc5c39e335a03c405292728118860721b10190d98c2a0f0efd5baafbac");
        assert_eq!(hyper.depends_on, "");

        assert_eq!(rows[2].name, "tokio");
        assert_eq!(rows[2].version.as_deref(), Some("1.19.2"));
        assert_eq!(rows[2].purl.as_deref(), Some("pkg:cargo/tokio@1.19.2"));
        assert_eq!(rows[3].name, "pretty_env_logger");
        assert_eq!(rows[3].licenses.as_deref(), Some("MIT OR Apache-2.0"));
        assert_eq!(rows[3].hashes, "SHA256:926d36b9553851b8b0005f1275891b392ee4d2d833852c417ed025477350fb9d");
    }

    #[test]
    fn spdx_hello_fixture() {
        let (sbom, rows) = parse_spdx(SPDX_HELLO, "sha256-hello", &prov()).unwrap();
        assert_eq!(sbom.spec, "SPDX-2.3");
        assert_eq!(sbom.document, "hello");
        assert_eq!(sbom.serial.as_deref(), Some("https://github.com/spdx/spdx-examples/example10/spdx"));
        // The only creator is a person: no tool.
        assert_eq!(sbom.tool, "");
        assert_eq!(sbom.created.as_deref(), Some("2022-10-28T17:24:21Z"));
        assert_eq!(sbom.subject, "hello");
        assert_eq!(sbom.subject_version, None);
        assert_eq!(sbom.subject_purl, None);
        // One package; its five files are not components.
        assert_eq!(sbom.components, 1);
        assert_eq!(rows.len(), 1);
        let p = &rows[0];
        assert_eq!(p.component_ref, "SPDXRef-hello-source");
        assert_eq!(p.name, "hello");
        assert_eq!(p.component_type.as_deref(), Some("library"));
        // licenseConcluded is NOASSERTION: licenseDeclared is used.
        assert_eq!(p.licenses.as_deref(), Some("MIT"));
        assert_eq!(p.hashes, "");
        assert_eq!(p.supplier, None);
        assert_eq!(p.purl, None);
        assert_eq!(p.depends_on, "");
    }

    #[test]
    fn cyclonedx_legacy_tools_licence_forms_and_nesting() {
        let (sbom, rows) = cdx(r#"{
            "bomFormat": "CycloneDX", "specVersion": "1.4",
            "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
            "metadata": {
                "timestamp": "2024-05-01T10:00:00Z",
                "tools": [{"vendor": "CycloneDX", "name": "cargo-cyclonedx", "version": "0.5.0"}, {"name": "bare"}],
                "component": {"type": "application", "group": "acme", "name": "shop", "version": "2.1.0",
                              "purl": "pkg:maven/acme/shop@2.1.0", "bom-ref": "shop"}
            },
            "components": [
                {"type": "Library", "bom-ref": "a", "group": "org.example", "name": "alpha", "version": "1",
                 "licenses": [{"expression": "Apache-2.0 AND (MIT OR GPL-2.0-only)"}],
                 "supplier": {"name": "Example Org"},
                 "hashes": [{"alg": "SHA-256", "content": "ABCDEF"}, {"alg": "MD5", "content": "0011"}],
                 "externalReferences": [{"type": "distribution", "url": "x",
                                         "hashes": [{"alg": "SHA-1", "content": "ffff"}]}],
                 "components": [
                    {"type": "file", "bom-ref": "a/1", "name": "alpha-core",
                     "components": [{"type": "file", "bom-ref": "a/1/x", "name": "deep"}]},
                    {"type": "file", "bom-ref": "a/2", "name": "alpha-extra"}
                 ]},
                {"type": "library", "bom-ref": "b", "name": "beta",
                 "licenses": [{"license": {"id": "MIT"}}, {"license": {"name": "Custom Licence"}},
                              {"license": {"id": "MIT", "acknowledgement": "concluded"}},
                              {"expression": "BSD-2-Clause OR ISC"}]}
            ],
            "dependencies": [{"ref": "a", "dependsOn": ["b", "a/2", "a/1"]}, {"ref": "b", "dependsOn": []}]
        }"#)
        .unwrap();
        assert_eq!(sbom.spec, "CycloneDX 1.4");
        assert_eq!(sbom.tool, "CycloneDX cargo-cyclonedx 0.5.0; bare");
        assert_eq!(sbom.serial.as_deref(), Some("urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"));
        assert_eq!(sbom.created.as_deref(), Some("2024-05-01T10:00:00Z"));
        assert_eq!(sbom.document, "acme/shop");
        assert_eq!(sbom.subject, "acme/shop");
        assert_eq!(sbom.subject_version.as_deref(), Some("2.1.0"));
        assert_eq!(sbom.subject_purl.as_deref(), Some("pkg:maven/acme/shop@2.1.0"));
        assert_eq!(sbom.components, 5);

        let refs: Vec<_> = rows.iter().map(|r| r.component_ref.as_str()).collect();
        assert_eq!(refs, ["a", "a/1", "a/1/x", "a/2", "b"]);
        let a = &rows[0];
        assert_eq!(a.name, "org.example/alpha");
        assert_eq!(a.component_type.as_deref(), Some("library"));
        assert_eq!(a.licenses.as_deref(), Some("Apache-2.0 AND (MIT OR GPL-2.0-only)"));
        assert_eq!(a.supplier.as_deref(), Some("Example Org"));
        // Own hashes win over the distribution reference's; sorted, hex lowercased.
        assert_eq!(a.hashes, "MD5:0011; SHA-256:abcdef");
        assert_eq!(a.depends_on, "a/1; a/2; b");
        assert_eq!(rows[1].name, "alpha-core");
        assert_eq!(rows[1].component_type.as_deref(), Some("file"));
        assert_eq!(rows[2].name, "deep");
        assert_eq!(rows[4].licenses.as_deref(), Some("MIT AND Custom Licence AND (BSD-2-Clause OR ISC)"));
        assert_eq!(rows[4].depends_on, "");
        assert_eq!(rows[4].version, None);
    }

    #[test]
    fn cyclonedx_tools_object_with_services_and_no_metadata_component() {
        let (sbom, rows) = cdx(r#"{"bomFormat": "CycloneDX", "specVersion": "1.5",
            "metadata": {"tools": {"components": [{"type": "application", "name": "syft", "version": "1.0.0"}],
                                   "services": [{"group": "acme", "name": "sbom-api", "version": "3"}]}},
            "components": []}"#)
        .unwrap();
        assert_eq!(sbom.tool, "syft 1.0.0; acme/sbom-api 3");
        assert_eq!(sbom.document, "");
        assert_eq!(sbom.subject, "");
        assert_eq!(sbom.components, 0);
        assert!(rows.is_empty());
    }

    #[test]
    fn cyclonedx_errors() {
        let err = cdx(r#"{"name": "not an sbom", "items": [1, 2]}"#).unwrap_err();
        assert_eq!(err, "not a CycloneDX document: bomFormat is missing");
        let err = parse_cyclonedx(SPDX_K8S, "b", &prov()).unwrap_err();
        assert_eq!(err, "not a CycloneDX document: bomFormat is missing (it looks like an SPDX document)");
        let err = cdx(r#"{"bomFormat": "SPDX", "specVersion": "1.6"}"#).unwrap_err();
        assert_eq!(err, r#"not a CycloneDX document: bomFormat is "SPDX", expected "CycloneDX""#);
        let err = cdx(r#"{"bomFormat": "CycloneDX", "specVersion": "1.2", "components": []}"#).unwrap_err();
        assert_eq!(err, r#"unsupported CycloneDX specVersion "1.2" (supported: 1.4 to 1.7)"#);
        let err = cdx(r#"{"bomFormat": "CycloneDX"}"#).unwrap_err();
        assert_eq!(err, "CycloneDX document: specVersion is missing");

        let truncated = &CDX_NPM[..CDX_NPM.len() / 2];
        let err = parse_cyclonedx(truncated, "b", &prov()).unwrap_err();
        assert!(err.starts_with("not a CycloneDX document: the JSON is truncated"), "{err}");
        let err = cdx("{\"bomFormat\": \"CycloneDX\", oops}").unwrap_err();
        assert!(err.starts_with("not a CycloneDX document: invalid JSON: key must be a string"), "{err}");
        assert_eq!(cdx("").unwrap_err(), "not a CycloneDX document: the input is empty");
        assert_eq!(cdx("[1]").unwrap_err(), "not a CycloneDX document: the input is not a JSON object");
        assert_eq!(
            cdx("<bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\"/>").unwrap_err(),
            "not a CycloneDX JSON document: it looks like XML, which is not supported"
        );

        let err = cdx(r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
            {"type": "library", "name": "a"}, {"type": "library", "version": "1"}]}"#)
        .unwrap_err();
        assert_eq!(err, "components[1]: name is missing");
        let err = cdx(r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
            {"type": "library", "name": "a", "components": [{"name": "b"}, {"type": "file"}]}]}"#)
        .unwrap_err();
        assert_eq!(err, "components[0].components[1]: name is missing");
        let err = cdx(r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
            {"name": "a"}, {"name": "b", "hashes": [{"alg": "SHA-1", "content": "00"}, {"content": "11"}]}]}"#)
        .unwrap_err();
        assert!(err.starts_with("components[1].hashes[1]: missing field `alg` at line "), "{err}");
        let err = cdx(r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "metadata": {"tools": "x"}}"#).unwrap_err();
        assert!(err.starts_with("metadata.tools: invalid type: string \"x\""), "{err}");
        let err = cdx(r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": 5}]}"#).unwrap_err();
        assert!(err.starts_with("components[0].name: invalid type: integer `5`, expected a string"), "{err}");
    }

    #[test]
    fn spdx_relationships_purl_and_supplier() {
        let (sbom, rows) = spdx(r#"{
            "SPDXID": "SPDXRef-DOCUMENT", "spdxVersion": "SPDX-2.2", "name": "doc",
            "documentNamespace": "https://example.com/doc",
            "creationInfo": {"created": "2024-01-01T00:00:00Z",
                             "creators": ["Tool: syft-1.2.3", "Organization: Acme", "Tool: trivy"]},
            "packages": [
                {"SPDXID": "SPDXRef-lib", "name": "lib", "versionInfo": "0.9",
                 "supplier": "Person: Jane Doe (jane@example.com)", "licenseConcluded": "NONE",
                 "licenseDeclared": "NOASSERTION", "primaryPackagePurpose": "OPERATING-SYSTEM",
                 "externalRefs": [
                    {"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "cpe:2.3:a:x"},
                    {"referenceCategory": "PACKAGE_MANAGER", "referenceType": "purl", "referenceLocator": "pkg:npm/lib@0.9"}]},
                {"SPDXID": "SPDXRef-app", "name": "app", "versionInfo": "1.0", "supplier": "Organization: Acme Corp",
                 "checksums": [{"algorithm": "SHA1", "checksumValue": "AA"}, {"algorithm": "MD5", "checksumValue": "bb"}],
                 "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                                   "referenceLocator": "pkg:generic/app@1.0"}]},
                {"SPDXID": "SPDXRef-tool", "name": "tool", "supplier": "NOASSERTION"}
            ],
            "relationships": [
                {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-app"},
                {"spdxElementId": "SPDXRef-app", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-tool"},
                {"spdxElementId": "SPDXRef-tool", "relationshipType": "DEV_DEPENDENCY_OF", "relatedSpdxElement": "SPDXRef-app"},
                {"spdxElementId": "SPDXRef-app", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-lib"},
                {"spdxElementId": "SPDXRef-lib", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "NONE"}
            ]}"#)
        .unwrap();
        assert_eq!(sbom.spec, "SPDX-2.2");
        assert_eq!(sbom.tool, "syft-1.2.3; trivy");
        assert_eq!(sbom.subject, "app");
        assert_eq!(sbom.subject_version.as_deref(), Some("1.0"));
        assert_eq!(sbom.subject_purl.as_deref(), Some("pkg:generic/app@1.0"));
        assert_eq!(sbom.components, 3);

        let (lib, app, tool) = (&rows[0], &rows[1], &rows[2]);
        assert_eq!(lib.purl.as_deref(), Some("pkg:npm/lib@0.9"));
        assert_eq!(lib.supplier.as_deref(), Some("Jane Doe (jane@example.com)"));
        assert_eq!(lib.licenses, None);
        assert_eq!(lib.component_type.as_deref(), Some("operating-system"));
        assert_eq!(lib.depends_on, "");
        assert_eq!(app.supplier.as_deref(), Some("Acme Corp"));
        assert_eq!(app.hashes, "MD5:bb; SHA1:aa");
        // CONTAINS is not a dependency; DEV_DEPENDENCY_OF is, the other way round.
        assert_eq!(app.depends_on, "SPDXRef-lib; SPDXRef-tool");
        assert_eq!(tool.supplier, None);
        assert_eq!(tool.purl, None);
    }

    #[test]
    fn null_arrays_read_as_empty() {
        let (sbom, rows) = cdx(r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": null,
            "dependencies": null, "metadata": {"tools": null, "timestamp": null}}"#)
        .unwrap();
        assert_eq!((sbom.components, sbom.tool.as_str(), sbom.created), (0, "", None));
        assert!(rows.is_empty());
        let (sbom, _) =
            spdx(r#"{"spdxVersion": "SPDX-2.3", "name": "n", "packages": null, "relationships": null}"#).unwrap();
        assert_eq!((sbom.components, sbom.subject.as_str()), (0, "n"));
    }

    #[test]
    fn spdx_subject_falls_back_to_document_name() {
        let (sbom, rows) = spdx(
            r#"{"spdxVersion": "SPDX-2.3", "name": "image-scan",
            "documentDescribes": ["SPDXRef-File-x"],
            "packages": [{"SPDXID": "SPDXRef-a", "name": "a"}]}"#,
        )
        .unwrap();
        assert_eq!(sbom.subject, "image-scan");
        assert_eq!(sbom.subject_version, None);
        assert_eq!(sbom.serial, None);
        assert_eq!(sbom.created, None);
        assert_eq!(rows.len(), 1);
    }

    #[test]
    fn spdx_errors() {
        let err = spdx(r#"{"name": "not an sbom"}"#).unwrap_err();
        assert_eq!(err, "not an SPDX document: spdxVersion is missing");
        let err = parse_spdx(CDX_NPM, "b", &prov()).unwrap_err();
        assert_eq!(err, "not an SPDX document: spdxVersion is missing (it looks like a CycloneDX document)");
        let err = spdx(r#"{"spdxVersion": "SPDX-2.1", "name": "x"}"#).unwrap_err();
        assert_eq!(err, r#"unsupported SPDX version "SPDX-2.1" (supported: SPDX-2.2, SPDX-2.3)"#);
        let err = spdx(r#"{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": []}"#).unwrap_err();
        assert_eq!(err, "not an SPDX 2 document: spdxVersion is missing (SPDX 3 JSON-LD is not supported)");
        let err = spdx("SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n").unwrap_err();
        assert_eq!(err, "not an SPDX JSON document: it is SPDX tag-value, which is not supported");

        let truncated = &SPDX_K8S[..SPDX_K8S.len() - 40];
        let err = parse_spdx(truncated, "b", &prov()).unwrap_err();
        assert!(err.starts_with("not an SPDX document: the JSON is truncated"), "{err}");

        let err = spdx(
            r#"{"spdxVersion": "SPDX-2.3", "name": "x", "packages": [{"SPDXID": "SPDXRef-a", "name": "a"},
            {"SPDXID": "SPDXRef-b"}]}"#,
        )
        .unwrap_err();
        assert_eq!(err, "packages[1]: name is missing");
        let err = spdx(r#"{"spdxVersion": "SPDX-2.3", "packages": []}"#).unwrap_err();
        assert_eq!(err, "name is missing");
        let err = spdx(
            r#"{"spdxVersion": "SPDX-2.3", "name": "x", "packages": [
            {"SPDXID": "SPDXRef-a", "name": "a", "checksums": [{"algorithm": "SHA1"}]}]}"#,
        )
        .unwrap_err();
        assert!(err.starts_with("packages[0].checksums[0]: missing field `checksumValue`"), "{err}");
    }

    #[test]
    fn licence_helpers() {
        assert!(fully_parenthesised("(MIT OR ISC)"));
        assert!(!fully_parenthesised("(MIT) OR (ISC)"));
        assert!(!fully_parenthesised("MIT"));
        assert!(cdx_version_supported("1.6"));
        assert!(!cdx_version_supported("1.3"));
        assert!(!cdx_version_supported("2.0"));
        assert_eq!(at_path("components[2]", "components[0]: x"), "components[2].components[0]: x");
        assert_eq!(at_path("components", "components[0]: x"), "components[0]: x");
        assert_eq!(at_path("metadata", "invalid type: map"), "metadata: invalid type: map");
    }
}
