//! Source type `spdx`: SPDX JSON SBOMs, spdxVersion `SPDX-2.2` or `SPDX-2.3`.
//!
//! What is read:
//! - every entry of `packages` is one component row; `files` are not components;
//! - `purl` is the first `externalRefs` entry of type `purl` in category `PACKAGE-MANAGER` (or `PACKAGE_MANAGER`);
//! - `licenses` is `licenseConcluded`, else `licenseDeclared`, skipping `NOASSERTION` and `NONE`;
//! - `supplier` is as written without its `Organization: ` / `Person: ` prefix (`NOASSERTION` gives none);
//! - `depends_on` comes from `DEPENDS_ON` relationships (and the inverse `DEPENDENCY_OF` family:
//!   `B DEPENDENCY_OF A`, `B DEV_DEPENDENCY_OF A`, … mean A depends on B); `CONTAINS` is not a dependency;
//! - the subject is the first package named by `documentDescribes`, or by a `DESCRIBES` relationship
//!   from the document (or `DESCRIBED_BY` to it); without one, the document's name;
//! - `tool` lists the `creationInfo.creators` entries that start with `Tool: `, without the prefix.

use std::collections::HashMap;

use cairn_evidence::artefacts::{ArtefactSet, SbomComponentRow, SbomRow};
use cairn_evidence::tables::Provenance;
use serde::de::{Deserializer, IgnoredAny};
use serde::Deserialize;
use serde_json::Value;

use super::document::{hash_text, push_rows, UNIT};
use crate::artefact::{self, ArtefactFormat};
use crate::config::ArtefactConfig;
use crate::json_doc::{field_fns, in_field, indexed_seq, join_sorted, keep_all, probe, seq_fns, strip_utf8_bom};
use crate::source::newtype_source;

/// An `spdx` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct Spdx(pub ArtefactConfig);

/// How an `spdx` file is read.
const FORMAT: ArtefactFormat = ArtefactFormat { unit: UNIT, parse: Some(parse) };

newtype_source!(Spdx, "spdx", artefact::collect, FORMAT);

/// Parses one document into the sink's rows.
fn parse(
    bytes: &[u8],
    _relative: &str,
    blob: &str,
    provenance: &Provenance,
    rows: &mut ArtefactSet,
) -> Result<u64, String> {
    push_rows(bytes, blob, provenance, rows, parse_spdx)
}

/// SPDX versions accepted.
const SPDX_VERSIONS: [&str; 2] = ["SPDX-2.2", "SPDX-2.3"];

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

field_fns! {
    f_name: Option<String> = "name";
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
    seq_document_describes: String = "documentDescribes";
    seq_packages: SpdxPackage = "packages";
    seq_relationships: SpdxRelationship = "relationships", keep relationship_used;
    seq_creators: String = "creators";
    seq_checksums: SpdxChecksum = "checksums";
    seq_external_refs: SpdxExternalRef = "externalRefs";
}
