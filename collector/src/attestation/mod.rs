//! Attestations: DSSE envelopes holding in-toto Statements (`dsse`, alias `intoto`) and Sigstore
//! bundles (`sigstore-bundle`), into `attestations` rows, one per subject digest.
//!
//! ```toml
//! [[source]]
//! name = "provenance"
//! type = "dsse"            # or intoto, sigstore-bundle
//! url  = "inputs/attestations/"
//! ```
//!
//! Each file is read whole; a `.jsonl` file of envelopes or bundles is read one record per line.
//! Any predicate is collected as long as it names its type with a URI; SLSA provenance v1 also
//! gives the builder, the source and the materials.

pub mod dsse;
pub mod sigstore;
mod statement;

pub use dsse::Dsse;
pub use sigstore::SigstoreBundle;

#[cfg(test)]
mod tests {
    use cairn_evidence::tables::Provenance;

    use super::dsse::dsse_rows;
    use super::sigstore::{bundle_rows, signed_name};

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
        let gh = include_bytes!("../../../fixtures/attest/gh-artifact-attestation-slsa-v1.dsse-rekor.sigstore.json");
        let rows = bundle_rows(gh, "x", "blobs/sha256/b", prov()).unwrap();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.subject_name, "github_provenance_demo-0.0.0-py3-none-any.whl");
        assert_eq!((r.digest_alg.as_str(), r.signer_kind.as_str()), ("sha256", "keyless"));
        assert_eq!(r.builder_id.as_deref(), Some("https://github.com/actions/runner/github-hosted"));
        assert_eq!(r.signer_issuer.as_deref(), Some("https://token.actions.githubusercontent.com"));
        assert_eq!(r.tlog_entries, 1);
        assert!(r.materials.contains("95baf27389e83e6a5c48f42e190d48d7abcea19e"));
        let py = include_bytes!("../../../fixtures/attest/sigstore-python-bundle-v03-message-signature.sigstore.json");
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
        let gh = include_bytes!("../../../fixtures/attest/gh-artifact-attestation-slsa-v1.dsse-rekor.sigstore.json");
        assert!(bundle_rows(&gh[..3000], "x", "b", prov()).unwrap_err().starts_with("not valid JSON"));
        // A Statement whose predicateType is not a type URI.
        let payload = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"ab"}}],"predicateType":"whatever","predicate":{}}"#;
        let env = format!(
            r#"{{"payload":"{}","payloadType":"application/vnd.in-toto+json","signatures":[]}}"#,
            base64::engine::general_purpose::STANDARD.encode(payload)
        );
        assert!(dsse_rows(env.as_bytes(), "b", prov()).unwrap_err().contains("unknown predicate"));
    }
}
