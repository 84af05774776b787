//! What both SBOM formats share: the strict-JSON check and the rows it pushes, and how names,
//! hashes and lists are written.

use cairn_evidence::artefacts::{ArtefactSet, SbomComponentRow, SbomRow};
use cairn_evidence::tables::Provenance;

/// What the report of an SBOM source counts.
pub(super) const UNIT: &str = "SBOMs";

/// A format's parser: the document's bytes, its blob key and its provenance in; its rows out.
pub(super) type ParseDocument = fn(&[u8], &str, &Provenance) -> Result<(SbomRow, Vec<SbomComponentRow>), String>;

/// Checks that a document is strict JSON (no repeated keys, bounded nesting), then parses it
/// with `parse` into the sink's rows: one SBOM and its components.
pub(super) fn push_rows(
    bytes: &[u8],
    blob: &str,
    provenance: &Provenance,
    rows: &mut ArtefactSet,
    parse: ParseDocument,
) -> Result<u64, String> {
    cairn_evidence::json::check_strict(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let (sbom, components) = parse(bytes, blob, provenance)?;
    rows.sboms.push(sbom);
    rows.components.extend(components);
    Ok(1)
}

/// `group/name` when there is a group, else `name`.
pub(super) fn qualified_name(group: Option<&str>, name: &str) -> String {
    match group.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => format!("{g}/{name}"),
        None => name.to_string(),
    }
}

/// `ALG:hex`, the algorithm as written and the hex lowercased.
pub(super) fn hash_text(alg: &str, hex: &str) -> String {
    format!("{}:{}", alg.trim(), hex.trim().to_ascii_lowercase())
}
