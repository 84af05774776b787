//! Artefact sources: attestations, SBOMs, threat models and release folders.
//!
//! ```toml
//! [[source]]
//! name = "provenance"
//! type = "dsse"            # or intoto, sigstore-bundle, cyclonedx, spdx, threat-dragon,
//!                          #    markdown-threat-model, release
//! url  = "inputs/attestations/"
//! ```
//!
//! Each file is read whole; a `.jsonl` file of envelopes or bundles is read one record per line.
//! Collection is incremental by content hash: a file whose bytes are unchanged since it was last
//! collected is skipped, a changed file is collected again as a new version. Every artefact is
//! stored as a content-addressed blob of its exact bytes (release files are recorded by digest
//! only). A file or line that is not what its source type says is kept aside with the reason.

use std::collections::BTreeMap;

use cairn_evidence::artefacts::{ArtefactRow, AttestationRow};
use cairn_evidence::attest::{
    cert_identity, Bundle, BundleContent, Envelope, SignerMaterial, SlsaProvenance, Statement, SLSA_PROVENANCE_V1,
};
use cairn_evidence::digest::sha256_hex;
use cairn_evidence::lake::RunWriter;
use cairn_evidence::manifest::SourceCursor;
use cairn_evidence::tables::{Provenance, QuarantineRow};
use serde::Deserialize;

use crate::jsonl::CollectRun;
use crate::sink::RowSink;
use crate::source::{CollectError, SourceLocation, SourceReport};

/// Configuration of an artefact source.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtefactConfig {
    /// Source name (unique in the configuration).
    pub name: String,
    /// The source holds synthetic data (a demo, or a staging SIEM during a first rollout):
    /// every row it yields is marked `simulated`, and the portal and bundles say so.
    #[serde(default)]
    pub simulated: bool,
    /// A file, a folder, or a `file://` URL; relative paths resolve against the config file.
    pub url: String,
}

/// What an artefact source holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArtefactKind {
    /// DSSE envelopes with in-toto Statements (`.json`, or `.intoto.jsonl`: one per line).
    Dsse,
    /// Sigstore bundles (`.json`/`.sigstore.json`, or `.jsonl`: one per line).
    SigstoreBundle,
    /// CycloneDX JSON SBOMs.
    CycloneDx,
    /// SPDX 2.3 JSON SBOMs.
    Spdx,
    /// OWASP Threat Dragon models.
    ThreatDragon,
    /// Markdown threat models.
    MarkdownThreatModel,
    /// Release artefacts, in `<subject>/<version>/<file>` folders.
    Release,
}

/// One record of a source file: the whole file, or one line of a `.jsonl` file.
struct Record<'a> {
    line: u64,
    offset: u64,
    bytes: &'a [u8],
}

fn records<'a>(key: &str, bytes: &'a [u8]) -> Vec<Record<'a>> {
    if !key.to_ascii_lowercase().ends_with(".jsonl") {
        return vec![Record { line: 1, offset: 0, bytes }];
    }
    let mut out = Vec::new();
    let mut offset = 0u64;
    for (i, raw) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        let len = raw.len() as u64;
        let trimmed = raw.strip_suffix(b"\n").unwrap_or(raw);
        let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
        if !trimmed.iter().all(u8::is_ascii_whitespace) {
            out.push(Record { line: i as u64 + 1, offset, bytes: trimmed });
        }
        offset += len;
    }
    out
}

/// Finds the record a row was collected from inside its blob: the whole blob, or the line whose
/// digest the row names. `None` when neither matches (the blob is not the one collected).
pub fn find_record<'a>(blob: &'a [u8], object_key: &str, record_sha256: &str) -> Option<&'a [u8]> {
    records(object_key, blob).into_iter().map(|r| r.bytes).find(|b| sha256_hex(b) == record_sha256)
}

/// Reads a JSON artefact strictly (no repeated keys, bounded nesting).
fn strict_json(bytes: &[u8]) -> Result<serde_json::Value, String> {
    cairn_evidence::json::check_strict(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))
}

/// The subject rows of an in-toto Statement inside an envelope.
fn statement_rows(envelope: &Envelope, field: &str, base: &AttestationRow) -> Result<Vec<AttestationRow>, String> {
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

fn empty_attestation(format: &str, blob: &str, provenance: Provenance) -> AttestationRow {
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
fn signed_name(relative: &str) -> String {
    let file = relative.rsplit('/').next().unwrap_or(relative);
    [".sigstore.json", ".sigstore", ".bundle.json", ".json"]
        .iter()
        .find_map(|s| file.strip_suffix(s))
        .unwrap_or(file)
        .to_string()
}

/// Collects the new or changed files of an artefact source.
pub async fn collect(
    kind: ArtefactKind,
    config: &ArtefactConfig,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut BTreeMap<String, SourceCursor>,
) -> Result<SourceReport, CollectError> {
    let name = config.name.as_str();
    let lake_err = |error| CollectError::Lake { source_name: name.into(), error };
    let location = SourceLocation::resolve(name, &config.url, run.base, run.memory.clone())?;
    let unit = match kind {
        ArtefactKind::Dsse | ArtefactKind::SigstoreBundle => "attestation subjects",
        ArtefactKind::CycloneDx | ArtefactKind::Spdx => "SBOMs",
        ArtefactKind::ThreatDragon | ArtefactKind::MarkdownThreatModel => "threat models",
        ArtefactKind::Release => "release files",
    };
    let mut report = SourceReport { name: name.into(), unit, ..SourceReport::default() };
    for key in location.keys(name).await? {
        report.objects += 1;
        let shown = location.shown(&key);
        let relative = location.relative(&key);
        let bytes = location.read(name, &key).await?;
        let digest = sha256_hex(&bytes);
        if cursors.get(&shown).is_some_and(|c| c.prefix_sha256 == digest && c.offset == bytes.len() as u64) {
            continue;
        }
        report.objects_with_new_data += 1;
        let provenance = |r: &Record| run.provenance(name, &shown, (r.line, r.offset), sha256_hex(r.bytes));
        if kind == ArtefactKind::Release {
            report.records += 1;
            report.events += 1;
            let whole = Record { line: 1, offset: 0, bytes: &bytes };
            sink.artefacts.artefacts.push(ArtefactRow {
                name: relative.clone(),
                sha256: digest.clone(),
                size: bytes.len() as u64,
                provenance: provenance(&whole),
            });
        } else {
            // The blob is written only when some record of the file collects.
            let blob = format!("blobs/sha256/{digest}");
            let mut blob_written = false;
            let recs = records(&relative, &bytes);
            let lines = recs.len();
            for r in recs {
                report.records += 1;
                let p = provenance(&r);
                let outcome = parse(kind, &r, &relative, &blob, p.clone(), sink);
                match outcome {
                    Ok(n) => {
                        report.events += n;
                        if !blob_written {
                            writer.write_blob(bytes.clone(), run.simulated).await.map_err(lake_err)?;
                            blob_written = true;
                        }
                    }
                    Err(reason) => {
                        report.quarantined += 1;
                        tracing::warn!(source = name, object = %shown, line = r.line, %reason, "artefact kept aside");
                        let row = QuarantineRow { reason, raw: crate::sink::quarantine_text(r.bytes), provenance: p };
                        sink.push_quarantine(writer, row).await.map_err(lake_err)?;
                    }
                }
            }
            if lines == 0 {
                report.quarantined += 1;
                let whole = Record { line: 0, offset: 0, bytes: &bytes };
                let row = QuarantineRow {
                    reason: "the file holds no record".into(),
                    raw: String::new(),
                    provenance: provenance(&whole),
                };
                sink.push_quarantine(writer, row).await.map_err(lake_err)?;
            }
        }
        sink.flush_full_artefacts(writer).await.map_err(lake_err)?;
        cursors.insert(
            shown,
            SourceCursor {
                offset: bytes.len() as u64,
                lines: 0,
                prefix_sha256: digest,
                object_sha256: None,
                seen_ids: Vec::new(),
            },
        );
    }
    Ok(report)
}

/// Parses one record into the sink's rows; returns how many primary rows it gave.
fn parse(
    kind: ArtefactKind,
    r: &Record,
    relative: &str,
    blob: &str,
    provenance: Provenance,
    sink: &mut RowSink,
) -> Result<u64, String> {
    let rows = &mut sink.artefacts;
    match kind {
        ArtefactKind::Dsse => {
            let a = dsse_rows(r.bytes, blob, provenance)?;
            let n = a.len() as u64;
            rows.attestations.extend(a);
            Ok(n)
        }
        ArtefactKind::SigstoreBundle => {
            let a = bundle_rows(r.bytes, &signed_name(relative), blob, provenance)?;
            let n = a.len() as u64;
            rows.attestations.extend(a);
            Ok(n)
        }
        ArtefactKind::CycloneDx | ArtefactKind::Spdx => {
            cairn_evidence::json::check_strict(r.bytes).map_err(|e| format!("not valid JSON: {e}"))?;
            let (sbom, components) = if kind == ArtefactKind::CycloneDx {
                crate::sbom::parse_cyclonedx(r.bytes, blob, &provenance)?
            } else {
                crate::sbom::parse_spdx(r.bytes, blob, &provenance)?
            };
            rows.sboms.push(sbom);
            rows.components.extend(components);
            Ok(1)
        }
        ArtefactKind::ThreatDragon => {
            cairn_evidence::json::check_strict(r.bytes).map_err(|e| format!("not valid JSON: {e}"))?;
            let (model, threats) = crate::threatmodel::parse_threat_dragon(r.bytes, blob, &provenance)?;
            rows.threat_models.push(model);
            rows.threats.extend(threats);
            Ok(1)
        }
        ArtefactKind::MarkdownThreatModel => {
            let text = std::str::from_utf8(r.bytes).map_err(|e| format!("not UTF-8: {e}"))?;
            let (model, threats) = crate::threatmodel::parse_markdown(text, blob, &provenance)?;
            rows.threat_models.push(model);
            rows.threats.extend(threats);
            Ok(1)
        }
        ArtefactKind::Release => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prov() -> Provenance {
        Provenance {
            source: "s".into(),
            object_key: "k".into(),
            line: 1,
            byte_offset: 0,
            record_sha256: String::new(),
            run_id: "r".into(),
            collected_at: chrono::DateTime::from_timestamp(0, 0).unwrap_or_default(),
            actor: "test".into(),
            confidence: cairn_evidence::tables::Confidence::Unverified,
            simulated: false,
        }
    }

    #[test]
    fn real_bundles_give_subject_rows() {
        let gh = include_bytes!("../../fixtures/attest/gh-artifact-attestation-slsa-v1.dsse-rekor.sigstore.json");
        let rows = bundle_rows(gh, "x", "blobs/sha256/b", prov()).unwrap();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.subject_name, "github_provenance_demo-0.0.0-py3-none-any.whl");
        assert_eq!((r.digest_alg.as_str(), r.signer_kind.as_str()), ("sha256", "keyless"));
        assert_eq!(r.builder_id.as_deref(), Some("https://github.com/actions/runner/github-hosted"));
        assert_eq!(r.signer_issuer.as_deref(), Some("https://token.actions.githubusercontent.com"));
        assert_eq!(r.tlog_entries, 1);
        assert!(r.materials.contains("95baf27389e83e6a5c48f42e190d48d7abcea19e"));
        let py = include_bytes!("../../fixtures/attest/sigstore-python-bundle-v03-message-signature.sigstore.json");
        let name = signed_name("attest/sigstore-python-bundle-v03-message-signature.sigstore.json");
        let rows = bundle_rows(py, &name, "blobs/sha256/c", prov()).unwrap();
        assert_eq!(rows[0].subject_name, "sigstore-python-bundle-v03-message-signature");
        assert_eq!(rows[0].digest_value, "5e6ae9de58c1177bea615b4fcbfb2fd688e8c4b51c2e56b6a38e817833ec24a2");
        assert_eq!(rows[0].predicate_type, "");
    }

    #[test]
    fn bad_attestations_say_why() {
        use base64::Engine as _;
        let e = dsse_rows(
            b"{\"payload\":\"e30=\",\"payloadType\":\"x\",\"signatures\":[],\"payload\":\"e30=\"}",
            "b",
            prov(),
        )
        .unwrap_err();
        assert!(e.contains("duplicate key"), "{e}");
        let e = dsse_rows(br#"{"payload":"%%%","payloadType":"x","signatures":[]}"#, "b", prov()).unwrap_err();
        assert_eq!(e, "envelope.payload: is not valid base64");
        let gh = include_bytes!("../../fixtures/attest/gh-artifact-attestation-slsa-v1.dsse-rekor.sigstore.json");
        assert!(bundle_rows(&gh[..3000], "x", "b", prov()).unwrap_err().starts_with("not valid JSON"));
        // A Statement whose predicateType is not a type URI.
        let payload = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"ab"}}],"predicateType":"whatever","predicate":{}}"#;
        let env = format!(
            r#"{{"payload":"{}","payloadType":"application/vnd.in-toto+json","signatures":[]}}"#,
            base64::engine::general_purpose::STANDARD.encode(payload)
        );
        assert!(dsse_rows(env.as_bytes(), "b", prov()).unwrap_err().contains("unknown predicate"));
    }

    #[test]
    fn records_are_lines_of_jsonl_files() {
        let text = b"{\"a\":1}\n\n{\"b\":2}\r\n";
        let r = records("x.intoto.jsonl", text);
        assert_eq!(r.iter().map(|r| (r.line, r.offset)).collect::<Vec<_>>(), vec![(1, 0), (3, 9)]);
        assert_eq!(find_record(text, "x.intoto.jsonl", &sha256_hex(b"{\"b\":2}")), Some(&b"{\"b\":2}"[..]));
        assert_eq!(records("x.json", text).len(), 1);
    }
}
