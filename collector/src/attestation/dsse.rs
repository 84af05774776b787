//! Source type `dsse` (alias `intoto`): DSSE envelopes holding in-toto Statements (`.json`, or
//! `.intoto.jsonl`: one per line).

use cairn_evidence::artefacts::{ArtefactSet, AttestationRow};
use cairn_evidence::attest::Envelope;
use cairn_evidence::tables::Provenance;
use serde::Deserialize;

use super::statement::{empty_attestation, statement_rows, strict_json, UNIT};
use crate::artefact::{self, ArtefactFormat};
use crate::config::ArtefactConfig;
use crate::source::newtype_source;

/// A `dsse` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct Dsse(pub ArtefactConfig);

/// How a `dsse` file is read.
const FORMAT: ArtefactFormat = ArtefactFormat { unit: UNIT, parse: Some(parse) };

newtype_source!(Dsse, "dsse", artefact::collect, FORMAT);

/// Parses one envelope into the sink's rows; returns how many subject rows it gave.
fn parse(
    bytes: &[u8],
    _relative: &str,
    blob: &str,
    provenance: &Provenance,
    rows: &mut ArtefactSet,
) -> Result<u64, String> {
    let a = dsse_rows(bytes, blob, provenance.clone())?;
    let n = a.len() as u64;
    rows.attestations.extend(a);
    Ok(n)
}

/// Rows of a bare DSSE envelope.
pub fn dsse_rows(bytes: &[u8], blob: &str, provenance: Provenance) -> Result<Vec<AttestationRow>, String> {
    let value = strict_json(bytes)?;
    let envelope = Envelope::from_value(&value, "envelope").map_err(|e| e.to_string())?;
    let mut base = empty_attestation("dsse", blob, provenance);
    base.signatures = envelope.signatures.len() as u64;
    if !envelope.signatures.is_empty() {
        base.signer_kind = "key".into();
        let mut ids: Vec<&str> =
            envelope.signatures.iter().map(|s| s.keyid.as_str()).filter(|k| !k.is_empty()).collect();
        ids.dedup();
        base.signer = ids.join(", ");
    }
    statement_rows(&envelope, "envelope.payload", &base)
}
