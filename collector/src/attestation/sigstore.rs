//! Source type `sigstore-bundle`: Sigstore bundles (`.json`/`.sigstore.json`, or `.jsonl`: one per
//! line), holding a DSSE envelope or a message signature.

use cairn_evidence::artefacts::{ArtefactSet, AttestationRow};
use cairn_evidence::attest::{cert_identity, Bundle, BundleContent, SignerMaterial};
use cairn_evidence::tables::Provenance;
use serde::Deserialize;

use super::statement::{empty_attestation, statement_rows, strict_json, UNIT};
use crate::artefact::{self, ArtefactFormat};
use crate::config::ArtefactConfig;
use crate::source::newtype_source;

/// A `sigstore-bundle` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct SigstoreBundle(pub ArtefactConfig);

/// How a `sigstore-bundle` file is read.
const FORMAT: ArtefactFormat = ArtefactFormat { unit: UNIT, parse: Some(parse) };

newtype_source!(SigstoreBundle, "sigstore-bundle", artefact::collect, FORMAT);

/// Parses one bundle into the sink's rows; returns how many subject rows it gave.
fn parse(
    bytes: &[u8],
    relative: &str,
    blob: &str,
    provenance: &Provenance,
    rows: &mut ArtefactSet,
) -> Result<u64, String> {
    let a = bundle_rows(bytes, &signed_name(relative), blob, provenance.clone())?;
    let n = a.len() as u64;
    rows.attestations.extend(a);
    Ok(n)
}

/// Rows of a Sigstore bundle. `name` names the signed artefact of a message-signature bundle
/// (which carries only its digest): the bundle's file name without its bundle suffix.
pub fn bundle_rows(
    bytes: &[u8],
    name: &str,
    blob: &str,
    provenance: Provenance,
) -> Result<Vec<AttestationRow>, String> {
    let value = strict_json(bytes)?;
    let bundle = Bundle::from_value(&value).map_err(|e| e.to_string())?;
    let mut base = empty_attestation("sigstore-bundle", blob, provenance);
    base.tlog_entries = bundle.tlog_entries.len() as u64;
    base.timestamps = bundle.timestamps as u64;
    match &bundle.signer {
        SignerMaterial::PublicKey { hint } => {
            base.signer_kind = "key".into();
            base.signer.clone_from(hint);
        }
        SignerMaterial::Certificate { chain } => {
            let leaf = chain.first().map(Vec::as_slice).unwrap_or_default();
            let id = cert_identity(leaf).map_err(|e| e.to_string())?;
            base.signer_kind = "keyless".into();
            base.signer = id.san;
            base.signer_issuer = id.issuer;
        }
    }
    base.signatures = 1;
    match &bundle.content {
        BundleContent::Dsse(envelope) => statement_rows(envelope, "bundle.dsseEnvelope.payload", &base),
        BundleContent::Message { algorithm, digest, .. } => {
            let alg = match algorithm.as_str() {
                "SHA2_256" => "sha256",
                "SHA2_384" => "sha384",
                "SHA2_512" => "sha512",
                other => {
                    return Err(format!("bundle.messageSignature.messageDigest.algorithm: {other:?} is not supported"))
                }
            };
            let mut row = base;
            row.payload_type.clone_from(&bundle.media_type);
            row.subject_name = name.to_string();
            row.digest_alg = alg.into();
            row.digest_value = hex::encode(digest);
            Ok(vec![row])
        }
    }
}

/// The name of the artefact a bundle file signs: the file name without `.sigstore.json`,
/// `.sigstore` or `.bundle.json`.
pub(super) fn signed_name(relative: &str) -> String {
    let file = relative.rsplit('/').next().unwrap_or(relative);
    [".sigstore.json", ".sigstore", ".bundle.json", ".json"]
        .iter()
        .find_map(|s| file.strip_suffix(s))
        .unwrap_or(file)
        .to_string()
}
