//! SBOM documents: CycloneDX 1.4–1.7 JSON and SPDX 2.2/2.3 JSON, into `sboms` and `sbom_components` rows.
//!
//! Both parsers read the document with typed structs that keep only the fields the rows need
//! (everything else is skipped while parsing), so memory follows the extracted fields and not the
//! document's size. Each document is read twice: a first pass only checks that the bytes are
//! JSON of the right format and spec version (so a wrong file gets a clear reason), the second
//! pass extracts. Errors name the field at fault with its path (`components[3].hashes[0]: …`).
//!
//! Each format is one source type, in its own module: `cyclonedx` and `spdx` say what they read.
//!
//! For both, hashes are written `ALG:hex` with the algorithm as the format spells it (`SHA-256`,
//! `SHA256`) and the hex lowercased.

pub mod cyclonedx;
mod document;
pub mod spdx;

pub use cyclonedx::CycloneDx;
pub use spdx::Spdx;

#[cfg(test)]
mod tests {
    use cairn_evidence::artefacts::{SbomComponentRow, SbomRow};
    use cairn_evidence::tables::Provenance;

    use super::cyclonedx::{cdx_version_supported, fully_parenthesised, parse_cyclonedx};
    use super::spdx::parse_spdx;
    use crate::json_doc::at_path;

    const CDX_NPM: &[u8] = include_bytes!("../../../fixtures/sbom/cdx16-cyclonedx-npm-package-integrity.cdx.json");
    const SPDX_K8S: &[u8] = include_bytes!("../../../fixtures/sbom/spdx23-k8s-bom-hello-server.spdx.json");
    const SPDX_HELLO: &[u8] = include_bytes!("../../../fixtures/sbom/spdx23-hello-source-files-checksums.spdx.json");

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
