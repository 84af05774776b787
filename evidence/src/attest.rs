//! Attestation formats, parsed into checked types: DSSE envelopes and their pre-authentication
//! encoding, in-toto Statements v1, SLSA provenance v1 and Sigstore bundles v0.1–v0.3.
//!
//! Parsing only: signatures and transparency-log proofs are checked by `cairn-verifier`.
//! Every error names the field at fault.

use std::collections::BTreeMap;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::Value;

/// What is wrong with an attestation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct AttestError {
    /// The field at fault, as a JSON path (`dsseEnvelope.payload`).
    pub field: String,
    /// What is wrong with it.
    pub detail: String,
}

fn err(field: &str, detail: impl Into<String>) -> AttestError {
    AttestError { field: field.to_string(), detail: detail.into() }
}

/// Decodes base64 in the standard or the URL-safe alphabet, padded or not (DSSE verifiers must
/// accept either).
pub fn decode_base64(text: &str, field: &str) -> Result<Vec<u8>, AttestError> {
    [&STANDARD, &URL_SAFE, &STANDARD_NO_PAD, &URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(text).ok())
        .ok_or_else(|| err(field, "is not valid base64"))
}

fn str_at<'a>(v: &'a Value, key: &str, field: &str) -> Result<&'a str, AttestError> {
    match v.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(err(&format!("{field}.{key}"), "is not a string")),
        None => Err(err(&format!("{field}.{key}"), "is missing")),
    }
}

fn opt_str(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The DSSE pre-authentication encoding: `DSSEv1 SP LEN(type) SP type SP LEN(body) SP body`.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// One DSSE signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// The unauthenticated key id hint; may be empty.
    pub keyid: String,
    /// The signature bytes.
    pub sig: Vec<u8>,
}

/// A DSSE envelope with its payload decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// `payloadType`.
    pub payload_type: String,
    /// The exact decoded payload bytes: signatures are over these, never over a re-serialisation.
    pub payload: Vec<u8>,
    /// Signatures.
    pub signatures: Vec<EnvelopeSignature>,
}

impl Envelope {
    /// Reads an envelope from its JSON value; `field` names it in errors.
    pub fn from_value(v: &Value, field: &str) -> Result<Self, AttestError> {
        if !v.is_object() {
            return Err(err(field, "is not a JSON object"));
        }
        let payload_type = str_at(v, "payloadType", field)?.to_string();
        let payload = decode_base64(str_at(v, "payload", field)?, &format!("{field}.payload"))?;
        let sigs = match v.get("signatures") {
            Some(Value::Array(a)) => a,
            Some(_) => return Err(err(&format!("{field}.signatures"), "is not an array")),
            None => return Err(err(&format!("{field}.signatures"), "is missing")),
        };
        let mut signatures = Vec::new();
        for (i, s) in sigs.iter().enumerate() {
            let at = format!("{field}.signatures[{i}]");
            let sig = decode_base64(str_at(s, "sig", &at)?, &format!("{at}.sig"))?;
            let keyid = s.get("keyid").and_then(Value::as_str).unwrap_or_default().to_string();
            signatures.push(EnvelopeSignature { keyid, sig });
        }
        Ok(Self { payload_type, payload, signatures })
    }

    /// The bytes the signatures are over.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }
}

/// One subject of a Statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// Name.
    pub name: String,
    /// Digests by algorithm, lowercase hex.
    pub digest: BTreeMap<String, String>,
}

/// An in-toto Statement v1 (or v0.1, which differs only in `_type`).
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// Subjects.
    pub subjects: Vec<Subject>,
    /// `predicateType`.
    pub predicate_type: String,
    /// The predicate, as written.
    pub predicate: Value,
}

/// The statement types read.
const STATEMENT_TYPES: [&str; 2] = ["https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"];

impl Statement {
    /// Parses a DSSE payload as a Statement.
    pub fn parse(payload: &[u8], field: &str) -> Result<Self, AttestError> {
        crate::json::check_strict(payload).map_err(|e| err(field, format!("is not JSON: {e}")))?;
        let v: Value = serde_json::from_slice(payload).map_err(|e| err(field, format!("is not JSON: {e}")))?;
        let kind = str_at(&v, "_type", field)?;
        if !STATEMENT_TYPES.contains(&kind) {
            return Err(err(&format!("{field}._type"), format!("{kind:?} is not an in-toto Statement")));
        }
        let predicate_type = str_at(&v, "predicateType", field)?.to_string();
        let Some(Value::Array(subjects)) = v.get("subject") else {
            return Err(err(&format!("{field}.subject"), "is missing or not an array"));
        };
        let mut out = Vec::new();
        for (i, s) in subjects.iter().enumerate() {
            let at = format!("{field}.subject[{i}]");
            let name = s.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
            let Some(Value::Object(d)) = s.get("digest") else {
                return Err(err(&format!("{at}.digest"), "is missing (subjects are matched by digest)"));
            };
            let mut digest = BTreeMap::new();
            for (alg, value) in d {
                let Some(hex) = value.as_str() else {
                    return Err(err(&format!("{at}.digest.{alg}"), "is not a string"));
                };
                digest.insert(alg.clone(), hex.to_ascii_lowercase());
            }
            if digest.is_empty() {
                return Err(err(&format!("{at}.digest"), "is empty"));
            }
            out.push(Subject { name, digest });
        }
        if out.is_empty() {
            return Err(err(&format!("{field}.subject"), "is empty"));
        }
        Ok(Self { subjects: out, predicate_type, predicate: v.get("predicate").cloned().unwrap_or(Value::Null) })
    }
}

/// SLSA provenance `predicateType` v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// One resolved dependency (material) of a build.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Material {
    /// URI.
    pub uri: String,
    /// Digests by algorithm.
    pub digest: BTreeMap<String, String>,
}

/// The facts of a SLSA provenance v1 predicate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlsaProvenance {
    /// `runDetails.builder.id`.
    pub builder_id: String,
    /// `buildDefinition.buildType`.
    pub build_type: String,
    /// The source repository.
    pub source_repo: Option<String>,
    /// The source commit.
    pub source_commit: Option<String>,
    /// `runDetails.metadata.invocationId`.
    pub invocation_id: Option<String>,
    /// `runDetails.metadata.startedOn`.
    pub started_on: Option<String>,
    /// `runDetails.metadata.finishedOn`.
    pub finished_on: Option<String>,
    /// `buildDefinition.resolvedDependencies`.
    pub materials: Vec<Material>,
}

impl SlsaProvenance {
    /// Reads the required and the usual fields of a provenance v1 predicate.
    pub fn from_predicate(p: &Value, field: &str) -> Result<Self, AttestError> {
        let build_type = opt_str(p, "/buildDefinition/buildType")
            .ok_or_else(|| err(&format!("{field}.buildDefinition.buildType"), "is missing"))?;
        let builder_id = opt_str(p, "/runDetails/builder/id")
            .ok_or_else(|| err(&format!("{field}.runDetails.builder.id"), "is missing"))?;
        let mut materials = Vec::new();
        if let Some(Value::Array(deps)) = p.pointer("/buildDefinition/resolvedDependencies") {
            for d in deps {
                let digest = d
                    .get("digest")
                    .and_then(Value::as_object)
                    .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
                    .unwrap_or_default();
                let uri = d.get("uri").and_then(Value::as_str).unwrap_or_default().to_string();
                materials.push(Material { uri, digest });
            }
        }
        // The source: the workflow's repository (GitHub), else the first resolved dependency.
        let first = materials.first();
        let source_repo = opt_str(p, "/buildDefinition/externalParameters/workflow/repository")
            .or_else(|| opt_str(p, "/buildDefinition/externalParameters/source/uri"))
            .or_else(|| first.map(|m| m.uri.split('@').next().unwrap_or(&m.uri).to_string()));
        let source_commit = materials.iter().find_map(|m| m.digest.get("gitCommit").or(m.digest.get("sha1")).cloned());
        Ok(Self {
            builder_id,
            build_type,
            source_repo,
            source_commit,
            invocation_id: opt_str(p, "/runDetails/metadata/invocationId"),
            started_on: opt_str(p, "/runDetails/metadata/startedOn"),
            finished_on: opt_str(p, "/runDetails/metadata/finishedOn"),
            materials,
        })
    }
}

/// An RFC 6962 inclusion proof carried by a transparency-log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    /// The leaf's index in the (shard's) tree: the one the proof is computed for.
    pub log_index: u64,
    /// Root hash the proof leads to.
    pub root_hash: [u8; 32],
    /// Tree size.
    pub tree_size: u64,
    /// Audit path.
    pub hashes: Vec<[u8; 32]>,
    /// The log's checkpoint (signed note), when carried.
    pub checkpoint: Option<String>,
}

/// One transparency-log entry of a bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogEntry {
    /// The log's global index.
    pub log_index: u64,
    /// Entry kind and version, e.g. `dsse 0.0.1`.
    pub kind: String,
    /// When the log integrated it (unix seconds), if stated.
    pub integrated_time: Option<i64>,
    /// The canonicalized entry body: the leaf's data.
    pub body: Vec<u8>,
    /// The inclusion proof, if carried.
    pub proof: Option<InclusionProof>,
}

/// What a Sigstore bundle signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BundleContent {
    /// A signature over an artefact's digest.
    Message {
        /// Digest algorithm as written (`SHA2_256`).
        algorithm: String,
        /// The artefact's digest.
        digest: Vec<u8>,
        /// The signature.
        signature: Vec<u8>,
    },
    /// A DSSE envelope.
    Dsse(Envelope),
}

/// Who signed a bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerMaterial {
    /// A public key known by its hint.
    PublicKey {
        /// The key hint.
        hint: String,
    },
    /// A signing certificate (DER), leaf first.
    Certificate {
        /// DER certificates, leaf first.
        chain: Vec<Vec<u8>>,
    },
}

/// A Sigstore bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    /// The media type as written.
    pub media_type: String,
    /// What is signed.
    pub content: BundleContent,
    /// Who signed.
    pub signer: SignerMaterial,
    /// Transparency-log entries.
    pub tlog_entries: Vec<TlogEntry>,
    /// RFC 3161 timestamps (DER).
    pub timestamps: usize,
}

/// The bundle media types accepted: every spelling of v0.1–v0.3 seen in real files.
pub const BUNDLE_MEDIA_TYPES: [&str; 5] = [
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle.v0.2+json",
];

fn int64(v: &Value, key: &str, field: &str) -> Result<u64, AttestError> {
    match v.get(key) {
        Some(Value::String(s)) => {
            s.parse().map_err(|_| err(&format!("{field}.{key}"), format!("{s:?} is not an integer")))
        }
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| err(&format!("{field}.{key}"), "is not an integer")),
        _ => Err(err(&format!("{field}.{key}"), "is missing")),
    }
}

fn hash32(text: &str, field: &str) -> Result<[u8; 32], AttestError> {
    decode_base64(text, field)?.try_into().map_err(|_| err(field, "is not a 32-byte hash"))
}

impl Bundle {
    /// Parses a bundle from its JSON bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, AttestError> {
        crate::json::check_strict(bytes).map_err(|e| err("bundle", format!("is not JSON: {e}")))?;
        let v: Value = serde_json::from_slice(bytes).map_err(|e| err("bundle", format!("is not JSON: {e}")))?;
        Self::from_value(&v)
    }

    /// Reads a bundle from its JSON value.
    pub fn from_value(v: &Value) -> Result<Self, AttestError> {
        let media_type = str_at(v, "mediaType", "bundle")?.to_string();
        if !BUNDLE_MEDIA_TYPES.contains(&media_type.as_str()) {
            return Err(err("bundle.mediaType", format!("{media_type:?} is not a Sigstore bundle v0.1–v0.3")));
        }
        let content = match (v.get("messageSignature"), v.get("dsseEnvelope")) {
            (Some(m), None) => {
                let f = "bundle.messageSignature";
                let digest = m.get("messageDigest").ok_or_else(|| err(&format!("{f}.messageDigest"), "is missing"))?;
                BundleContent::Message {
                    algorithm: str_at(digest, "algorithm", &format!("{f}.messageDigest"))?.to_string(),
                    digest: decode_base64(
                        str_at(digest, "digest", &format!("{f}.messageDigest"))?,
                        &format!("{f}.messageDigest.digest"),
                    )?,
                    signature: decode_base64(str_at(m, "signature", f)?, &format!("{f}.signature"))?,
                }
            }
            (None, Some(d)) => {
                let envelope = Envelope::from_value(d, "bundle.dsseEnvelope")?;
                if envelope.signatures.len() != 1 {
                    return Err(err("bundle.dsseEnvelope.signatures", "a bundle's envelope has exactly one signature"));
                }
                BundleContent::Dsse(envelope)
            }
            _ => return Err(err("bundle", "needs exactly one of messageSignature and dsseEnvelope")),
        };
        let f = "bundle.verificationMaterial";
        let material = v.get("verificationMaterial").ok_or_else(|| err(f, "is missing"))?;
        let signer = if let Some(c) = material.get("certificate") {
            let der = decode_base64(str_at(c, "rawBytes", &format!("{f}.certificate"))?, &format!("{f}.certificate"))?;
            SignerMaterial::Certificate { chain: vec![der] }
        } else if let Some(chain) = material.pointer("/x509CertificateChain/certificates").and_then(Value::as_array) {
            let mut ders = Vec::new();
            for (i, c) in chain.iter().enumerate() {
                let at = format!("{f}.x509CertificateChain.certificates[{i}]");
                ders.push(decode_base64(str_at(c, "rawBytes", &at)?, &at)?);
            }
            if ders.is_empty() {
                return Err(err(&format!("{f}.x509CertificateChain"), "has no certificate"));
            }
            SignerMaterial::Certificate { chain: ders }
        } else if let Some(k) = material.get("publicKey") {
            SignerMaterial::PublicKey { hint: k.get("hint").and_then(Value::as_str).unwrap_or_default().to_string() }
        } else {
            return Err(err(f, "has no certificate, certificate chain or public key"));
        };
        let mut tlog_entries = Vec::new();
        for (i, t) in material.get("tlogEntries").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let at = format!("{f}.tlogEntries[{i}]");
            let kind = format!(
                "{} {}",
                t.pointer("/kindVersion/kind").and_then(Value::as_str).unwrap_or("?"),
                t.pointer("/kindVersion/version").and_then(Value::as_str).unwrap_or("?")
            );
            let proof = match t.get("inclusionProof") {
                None => None,
                Some(p) => {
                    let pf = format!("{at}.inclusionProof");
                    let mut hashes = Vec::new();
                    for (j, h) in p.get("hashes").and_then(Value::as_array).into_iter().flatten().enumerate() {
                        let hf = format!("{pf}.hashes[{j}]");
                        hashes.push(hash32(h.as_str().ok_or_else(|| err(&hf, "is not a string"))?, &hf)?);
                    }
                    Some(InclusionProof {
                        log_index: int64(p, "logIndex", &pf)?,
                        root_hash: hash32(str_at(p, "rootHash", &pf)?, &format!("{pf}.rootHash"))?,
                        tree_size: int64(p, "treeSize", &pf)?,
                        hashes,
                        checkpoint: opt_str(p, "/checkpoint/envelope"),
                    })
                }
            };
            tlog_entries.push(TlogEntry {
                log_index: int64(t, "logIndex", &at)?,
                kind,
                integrated_time: int64(t, "integratedTime", &at).ok().and_then(|t| i64::try_from(t).ok()),
                body: decode_base64(str_at(t, "canonicalizedBody", &at)?, &format!("{at}.canonicalizedBody"))?,
                proof,
            });
        }
        let timestamps = material
            .pointer("/timestampVerificationData/rfc3161Timestamps")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        Ok(Self { media_type, content, signer, tlog_entries, timestamps })
    }
}

/// The identity a keyless (Fulcio) certificate names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertIdentity {
    /// The subject alternative name: a URI (workflow identity) or an email address.
    pub san: String,
    /// The OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8, or the older .1.1).
    pub issuer: Option<String>,
}

/// Reads the identity of a DER certificate. It is read, not trusted: the certificate's chain is
/// not checked against a Fulcio root, which is why keyless signatures are never called verified.
pub fn cert_identity(der: &[u8]) -> Result<CertIdentity, AttestError> {
    use x509_cert::der::Decode as _;
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::SubjectAltName;
    let f = "verificationMaterial.certificate";
    let cert =
        x509_cert::Certificate::from_der(der).map_err(|e| err(f, format!("is not an X.509 certificate: {e}")))?;
    let mut san = String::new();
    let mut issuer = None;
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        let oid = ext.extn_id.to_string();
        let value = ext.extn_value.as_bytes();
        match oid.as_str() {
            "2.5.29.17" => {
                let names = SubjectAltName::from_der(value).map_err(|e| err(f, format!("bad subjectAltName: {e}")))?;
                san = names
                    .0
                    .iter()
                    .map(|n| match n {
                        GeneralName::UniformResourceIdentifier(u) => u.to_string(),
                        GeneralName::Rfc822Name(m) => m.to_string(),
                        GeneralName::DnsName(d) => d.to_string(),
                        other => format!("{other:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
            }
            // The newer extension is a DER UTF8String; the older one holds the raw text.
            "1.3.6.1.4.1.57264.1.8" => {
                issuer = x509_cert::der::asn1::Utf8StringRef::from_der(value).ok().map(|s| s.as_str().to_string());
            }
            "1.3.6.1.4.1.57264.1.1" if issuer.is_none() => {
                issuer = std::str::from_utf8(value).ok().map(str::to_string);
            }
            _ => {}
        }
    }
    if san.is_empty() {
        return Err(err(f, "names no subject alternative name"));
    }
    Ok(CertIdentity { san, issuer })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GH: &[u8] = include_bytes!("../../fixtures/attest/gh-artifact-attestation-slsa-v1.dsse-rekor.sigstore.json");
    const PY: &[u8] =
        include_bytes!("../../fixtures/attest/sigstore-python-bundle-v03-message-signature.sigstore.json");

    #[test]
    fn pae_matches_the_dsse_vector() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn github_attestation_bundle_parses_with_its_slsa_facts() {
        let b = Bundle::parse(GH).unwrap();
        assert_eq!(b.media_type, "application/vnd.dev.sigstore.bundle.v0.3+json");
        let BundleContent::Dsse(env) = &b.content else { panic!("not dsse") };
        assert_eq!(env.payload_type, "application/vnd.in-toto+json");
        assert_eq!(env.signatures.len(), 1);
        assert_eq!(env.signatures[0].keyid, "");
        let st = Statement::parse(&env.payload, "payload").unwrap();
        assert_eq!(st.predicate_type, SLSA_PROVENANCE_V1);
        assert_eq!(st.subjects[0].name, "github_provenance_demo-0.0.0-py3-none-any.whl");
        assert_eq!(st.subjects[0].digest["sha256"], "49a3aa6075e0f49f82843e74b5baa614ad2a588e6675612bf108a0a008c5ac25");
        let p = SlsaProvenance::from_predicate(&st.predicate, "predicate").unwrap();
        assert_eq!(p.builder_id, "https://github.com/actions/runner/github-hosted");
        assert_eq!(p.build_type, "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1");
        assert_eq!(p.source_repo.as_deref(), Some("https://github.com/malancas/attest-demo"));
        assert_eq!(p.source_commit.as_deref(), Some("95baf27389e83e6a5c48f42e190d48d7abcea19e"));
        assert_eq!(
            p.invocation_id.as_deref(),
            Some("https://github.com/malancas/attest-demo/actions/runs/9228858953/attempts/1")
        );
        assert_eq!(b.tlog_entries.len(), 1);
        let t = &b.tlog_entries[0];
        assert_eq!((t.log_index, t.kind.as_str(), t.integrated_time), (96_764_485, "dsse 0.0.1", Some(1_716_578_064)));
        let proof = t.proof.as_ref().unwrap();
        assert_eq!((proof.log_index, proof.tree_size, proof.hashes.len()), (92_601_054, 92_601_055, 16));
        let SignerMaterial::Certificate { chain } = &b.signer else { panic!("not keyless") };
        let id = cert_identity(&chain[0]).unwrap();
        assert!(id.san.starts_with("https://github.com/"), "{}", id.san);
        assert!(id.san.contains(".github/workflows/"), "{}", id.san);
        assert_eq!(id.issuer.as_deref(), Some("https://token.actions.githubusercontent.com"));
    }

    #[test]
    fn message_signature_bundle_parses() {
        let b = Bundle::parse(PY).unwrap();
        let BundleContent::Message { algorithm, digest, .. } = &b.content else { panic!("not a message") };
        assert_eq!(algorithm, "SHA2_256");
        assert_eq!(hex::encode(digest), "5e6ae9de58c1177bea615b4fcbfb2fd688e8c4b51c2e56b6a38e817833ec24a2");
        assert_eq!(b.tlog_entries[0].kind, "hashedrekord 0.0.1");
        let SignerMaterial::Certificate { chain } = &b.signer else { panic!("not keyless") };
        let id = cert_identity(&chain[0]).unwrap();
        assert!(!id.san.is_empty());
        assert!(id.issuer.is_some());
    }

    #[test]
    fn broken_bundles_name_the_field() {
        let mut v: Value = serde_json::from_slice(GH).unwrap();
        v["mediaType"] = "application/json".into();
        assert_eq!(Bundle::from_value(&v).unwrap_err().field, "bundle.mediaType");
        let mut v: Value = serde_json::from_slice(GH).unwrap();
        v["dsseEnvelope"]["payload"] = "!!not base64!!".into();
        let e = Bundle::from_value(&v).unwrap_err();
        assert_eq!(e.to_string(), "bundle.dsseEnvelope.payload: is not valid base64");
        for spelling in BUNDLE_MEDIA_TYPES {
            let mut v: Value = serde_json::from_slice(PY).unwrap();
            v["mediaType"] = spelling.into();
            assert!(Bundle::from_value(&v).is_ok(), "{spelling}");
        }
        assert!(Bundle::parse(&GH[..GH.len() / 2]).unwrap_err().detail.contains("not JSON"));
    }

    #[test]
    fn statements_need_subject_digests() {
        let e = Statement::parse(
            br#"{"_type":"https://in-toto.io/Statement/v1","predicateType":"x","subject":[{"name":"a"}]}"#,
            "payload",
        )
        .unwrap_err();
        assert_eq!(e.field, "payload.subject[0].digest");
        let e = Statement::parse(br#"{"_type":"nope","predicateType":"x","subject":[]}"#, "payload").unwrap_err();
        assert_eq!(e.field, "payload._type");
    }
}
