//! What both attestation formats share: strict JSON, and the rows of an in-toto Statement.

use cairn_evidence::artefacts::AttestationRow;
use cairn_evidence::attest::{Envelope, SlsaProvenance, Statement, SLSA_PROVENANCE_V1};
use cairn_evidence::tables::Provenance;

/// What the report of an attestation source counts.
pub(super) const UNIT: &str = "attestation subjects";

/// Reads a JSON artefact strictly (no repeated keys, bounded nesting).
pub(super) fn strict_json(bytes: &[u8]) -> Result<serde_json::Value, String> {
    cairn_evidence::json::check_strict(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))
}

/// The subject rows of an in-toto Statement inside an envelope.
pub(super) fn statement_rows(
    envelope: &Envelope,
    field: &str,
    base: &AttestationRow,
) -> Result<Vec<AttestationRow>, String> {
    let statement = Statement::parse(&envelope.payload, field).map_err(|e| e.to_string())?;
    // Any predicate is collected, as long as it names its type with a URI.
    if !statement.predicate_type.contains(':') {
        return Err(format!(
            "{field}.predicateType: unknown predicate {:?} (not a type URI)",
            statement.predicate_type
        ));
    }
    let mut row = base.clone();
    row.payload_type.clone_from(&envelope.payload_type);
    row.predicate_type.clone_from(&statement.predicate_type);
    if statement.predicate_type == SLSA_PROVENANCE_V1 {
        let p = SlsaProvenance::from_predicate(&statement.predicate, &format!("{field}.predicate"))
            .map_err(|e| e.to_string())?;
        row.builder_id = Some(p.builder_id);
        row.build_type = Some(p.build_type);
        row.source_repo = p.source_repo;
        row.source_commit = p.source_commit;
        row.invocation_id = p.invocation_id;
        row.started_on = p.started_on;
        row.finished_on = p.finished_on;
        row.materials = serde_json::to_string(&p.materials).unwrap_or_else(|_| "[]".into());
    }
    let mut rows = Vec::new();
    for s in statement.subjects {
        for (alg, value) in s.digest {
            let mut r = row.clone();
            r.subject_name.clone_from(&s.name);
            r.digest_alg = alg;
            r.digest_value = value;
            rows.push(r);
        }
    }
    Ok(rows)
}

pub(super) fn empty_attestation(format: &str, blob: &str, provenance: Provenance) -> AttestationRow {
    AttestationRow {
        format: format.into(),
        blob: blob.into(),
        payload_type: String::new(),
        predicate_type: String::new(),
        subject_name: String::new(),
        digest_alg: String::new(),
        digest_value: String::new(),
        builder_id: None,
        build_type: None,
        source_repo: None,
        source_commit: None,
        invocation_id: None,
        started_on: None,
        finished_on: None,
        materials: "[]".into(),
        signer_kind: "none".into(),
        signer: String::new(),
        signer_issuer: None,
        signatures: 0,
        tlog_entries: 0,
        timestamps: 0,
        provenance,
    }
}
