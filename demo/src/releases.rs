//! The demo organisation's releases: for each service a release folder, a signed SLSA build
//! provenance (DSSE, Ed25519), a CycloneDX and an SPDX SBOM, and a threat model (Threat Dragon for
//! one service, Markdown for the others), plus the approved-dependency register.
//!
//! It also records documents as evidence of manual controls (`inputs/documents/documents.toml`).
//!
//! Planted: the storage service ships a component outside the register under a licence the
//! register does not allow, the identity threat model has an open high-severity threat with
//! no mitigation, and the latest backup restore test is older than its control allows.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cairn_evidence::attest::pae;
use cairn_evidence::digest::sha256_hex;
use ed25519_dalek::{Signer as _, SigningKey};
use rand_chacha::rand_core::RngCore as _;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};

/// The key id the demo's CI signs provenance with.
pub const CI_KID: &str = "ci-2026";

/// A component every service ships: name, version, licence.
const COMMON: [(&str, &str, &str); 6] = [
    ("serde", "1.0.215", "MIT OR Apache-2.0"),
    ("serde_json", "1.0.133", "MIT OR Apache-2.0"),
    ("tokio", "1.41.1", "MIT"),
    ("tracing", "0.1.41", "MIT"),
    ("sha2", "0.10.8", "MIT OR Apache-2.0"),
    ("ed25519-dalek", "2.1.1", "BSD-3-Clause"),
];

/// Components by service (beyond the common ones). Storage's last one is planted: an npm package
/// outside the register, under a licence it does not allow.
fn extra(service: &str) -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
    match service {
        "payments" => {
            vec![("cargo", "rust_decimal", "1.36.0", "MIT"), ("cargo", "reqwest", "0.12.9", "MIT OR Apache-2.0")]
        }
        "identity" => {
            vec![("cargo", "argon2", "0.5.3", "MIT OR Apache-2.0"), ("cargo", "jsonwebtoken", "9.3.0", "MIT")]
        }
        _ => vec![("cargo", "object_store", "0.11.1", "MIT OR Apache-2.0"), ("npm", "left-pad", "1.3.0", "WTFPL")],
    }
}

fn components(service: &str) -> Vec<(String, String, String, String)> {
    COMMON
        .iter()
        .map(|(n, v, l)| ("cargo".to_string(), (*n).to_string(), (*v).to_string(), (*l).to_string()))
        .chain(extra(service).into_iter().map(|(e, n, v, l)| (e.into(), n.into(), v.into(), l.into())))
        .collect()
}

fn purl(eco: &str, name: &str, version: &str) -> String {
    format!("pkg:{eco}/{name}@{version}")
}

fn cyclonedx(service: &str, version: &str, rng: &mut ChaCha20Rng) -> Value {
    let comps = components(service);
    let list: Vec<Value> = comps
        .iter()
        .map(|(eco, n, v, l)| {
            let mut hash = [0u8; 32];
            rng.fill_bytes(&mut hash);
            let licenses = if l.contains(' ') { json!([{"expression": l}]) } else { json!([{"license": {"id": l}}]) };
            json!({"type": "library", "bom-ref": purl(eco, n, v), "name": n, "version": v, "purl": purl(eco, n, v),
                   "licenses": licenses, "hashes": [{"alg": "SHA-256", "content": hex::encode(hash)}]})
        })
        .collect();
    let root = purl("generic", &format!("acme/{service}"), version);
    json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "serialNumber": format!("urn:uuid:{}", uuid_like(rng)),
        "metadata": {
            "timestamp": "2026-11-19T17:05:00Z",
            "tools": {"components": [{"type": "application", "name": "cargo-cyclonedx", "version": "0.5.7"}]},
            "component": {"type": "application", "bom-ref": root, "name": service, "version": version, "purl": root}
        },
        "components": list,
        "dependencies": [{"ref": root, "dependsOn": comps.iter().map(|(e, n, v, _)| purl(e, n, v)).collect::<Vec<_>>()}]
    })
}

fn spdx(service: &str, version: &str, rng: &mut ChaCha20Rng) -> Value {
    let comps = components(service);
    let mut packages = vec![json!({
        "SPDXID": "SPDXRef-Package-root", "name": service, "versionInfo": version,
        "downloadLocation": "NOASSERTION", "licenseConcluded": "NOASSERTION", "licenseDeclared": "Apache-2.0",
        "primaryPackagePurpose": "APPLICATION",
        "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                          "referenceLocator": purl("generic", &format!("acme/{service}"), version)}]
    })];
    let mut relationships = vec![
        json!({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Package-root"}),
    ];
    for (i, (eco, n, v, l)) in comps.iter().enumerate() {
        let mut sha = [0u8; 32];
        rng.fill_bytes(&mut sha);
        let id = format!("SPDXRef-Package-{i}");
        packages.push(json!({
            "SPDXID": id, "name": n, "versionInfo": v, "downloadLocation": "NOASSERTION",
            "licenseConcluded": l, "licenseDeclared": l, "primaryPackagePurpose": "LIBRARY",
            "checksums": [{"algorithm": "SHA256", "checksumValue": hex::encode(sha)}],
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl(eco, n, v)}]
        }));
        relationships.push(json!({"spdxElementId": "SPDXRef-Package-root", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": id}));
    }
    json!({
        "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("{service}-{version}"),
        "documentNamespace": format!("https://sbom.example.com/acme/{service}/{version}/{}", uuid_like(rng)),
        "creationInfo": {"created": "2026-11-19T17:05:00Z", "creators": ["Tool: syft-1.18.0", "Organization: Acme"]},
        "documentDescribes": ["SPDXRef-Package-root"],
        "packages": packages,
        "relationships": relationships
    })
}

fn uuid_like(rng: &mut ChaCha20Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    let h = hex::encode(b);
    format!("{}-{}-4{}-8{}-{}", &h[..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

/// A DSSE envelope with a SLSA v1 provenance for `file`, signed by the CI key.
fn provenance(
    service: &str,
    version: &str,
    file: &str,
    digest: &str,
    ci: &SigningKey,
    rng: &mut ChaCha20Rng,
) -> String {
    let mut commit = [0u8; 20];
    rng.fill_bytes(&mut commit);
    let run = 4_000_000 + rng.next_u32() % 1_000_000;
    let repo = format!("https://git.example.com/acme/{service}");
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": file, "digest": {"sha256": digest}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://ci.example.com/buildtypes/pipeline/v1",
                "externalParameters": {"workflow": {"repository": repo, "ref": format!("refs/tags/v{version}"), "path": ".ci/release.yml"}},
                "resolvedDependencies": [{"uri": format!("git+{repo}@refs/tags/v{version}"), "digest": {"gitCommit": hex::encode(commit)}}]
            },
            "runDetails": {
                "builder": {"id": "https://ci.example.com/runners/hosted"},
                "metadata": {"invocationId": format!("https://ci.example.com/acme/{service}/runs/{run}"),
                             "startedOn": "2026-11-19T17:01:12Z", "finishedOn": "2026-11-19T17:04:51Z"}
            }
        }
    });
    let payload = statement.to_string().into_bytes();
    let payload_type = "application/vnd.in-toto+json";
    let sig = ci.sign(&pae(payload_type, &payload));
    json!({"payloadType": payload_type, "payload": B64.encode(&payload),
           "signatures": [{"keyid": CI_KID, "sig": B64.encode(sig.to_bytes())}]})
    .to_string()
}

fn threat_dragon(service: &str) -> Value {
    let threat = |id: &str, title: &str, kind: &str, sev: &str, status: &str, mitigation: &str| {
        json!({"id": id, "title": title, "type": kind, "severity": sev, "status": status, "description": title,
               "mitigation": mitigation, "modelType": "STRIDE"})
    };
    json!({
        "version": "2.3.0",
        "summary": {"title": format!("{service} service"), "owner": "Payments team", "description": "Card payment API and ledger"},
        "detail": {"contributors": [{"name": "A. Analyst"}], "reviewer": "Security team", "diagrams": [{
            "id": 0, "title": "Payment flow", "diagramType": "STRIDE", "version": "2.3.0",
            "cells": [
                {"id": "a1", "shape": "actor", "data": {"type": "tm.Actor", "name": "Merchant", "hasOpenThreats": false, "threats": [
                    threat("6b1c2f0e-0001-4000-8000-000000000001", "Merchant credentials are replayed", "Spoofing", "High", "Mitigated",
                           "Signed requests with nonces; keys rotated every 90 days [CRY-03]")]}},
                {"id": "p1", "shape": "process", "data": {"type": "tm.Process", "name": "Payments API", "hasOpenThreats": true, "threats": [
                    threat("6b1c2f0e-0001-4000-8000-000000000002", "Audit events are dropped or altered", "Tampering", "High", "Mitigated",
                           "Events are hash-chained and signed; Cairn verifies every chain nightly [LOG-01]"),
                    threat("6b1c2f0e-0001-4000-8000-000000000003", "Card numbers leak into logs", "Information disclosure", "Medium", "Open",
                           "Redaction filter in the logging library")]}},
                {"id": "s1", "shape": "store", "data": {"type": "tm.Store", "name": "Ledger", "hasOpenThreats": false, "isEncrypted": true, "threats": [
                    threat("6b1c2f0e-0001-4000-8000-000000000004", "Ledger rows are changed after posting", "Tampering", "High", "Mitigated",
                           "Append-only table with database audit [LOG-03]")]}}
            ]}]}
    })
}

fn markdown_model(service: &str, version: &str) -> String {
    let mut md = format!(
        "---\ntitle: {service} threat model\nsubsystem: {service}\nversion: {version}\nowner: {service} team\nreviewer: Security team\nreviewed: 2026-10-02\n---\n\n# {service} threat model\n\n"
    );
    if service == "identity" {
        md.push_str(
            "### T-0001: Stolen session tokens are replayed\n\n- **Status:** Mitigated\n- **STRIDE:** Spoofing\n- **Severity:** High\n- **Element:** Token service\n- **Mitigation:** Short-lived tokens bound to the client; refresh tokens rotate [ACC-01]\n\n\
             ### T-0002: Administrator role granted without approval\n\n- **Status:** Open\n- **STRIDE:** Elevation of privilege\n- **Severity:** High\n- **Element:** Admin console\n\n\
             ### T-0003: Password hashes are brute-forced offline\n\n- **Status:** Mitigated\n- **STRIDE:** Information disclosure\n- **Severity:** Medium\n- **Element:** Credential store\n- **Mitigation:** Argon2id with per-user salt\n",
        );
    } else {
        md.push_str(
            "## Threats\n\n| Threat ID | Threat | Status | STRIDE | Severity | Mitigation | Element |\n| --- | --- | --- | --- | --- | --- | --- |\n\
             | T-0001 | Objects are read through a guessed URL | Mitigated | Information disclosure | High | Signed URLs expiring after 5 minutes [ACC-04] | Object gateway |\n\
             | T-0002 | Bucket deletion by a compromised operator | Mitigated | Tampering | High | Object lock in compliance mode [RET-01] | Object store |\n\
             | T-0003 | Upload floods exhaust capacity | Open | Denial of service | Medium | Per-tenant quotas planned | Object gateway |\n",
        );
    }
    md
}

/// Writes the releases, SBOMs, attestations, scans, test reports, threat models and register under
/// `dir/inputs`, and
/// returns the keyring entry for the CI key and the `[[source]]` entries.
pub fn write(dir: &Path, services: &[&str], rng: &mut ChaCha20Rng, ci: &SigningKey) -> Result<(String, String)> {
    let inputs = dir.join("inputs");
    for sub in [
        "releases",
        "attestations",
        "sboms/cyclonedx",
        "sboms/spdx",
        "threat-models/dragon",
        "threat-models/markdown",
        "policy",
    ] {
        std::fs::create_dir_all(inputs.join(sub))?;
    }
    let version = "1.4.0";
    for service in services {
        let release = inputs.join("releases").join(service).join(version);
        std::fs::create_dir_all(&release)?;
        let mut artefact = vec![0u8; 4096];
        rng.fill_bytes(&mut artefact);
        let file = format!("{service}-{version}-x86_64-linux.tar.gz");
        std::fs::write(release.join(&file), &artefact)?;
        let envelope = provenance(service, version, &file, &sha256_hex(&artefact), ci, rng);
        std::fs::write(inputs.join("attestations").join(format!("{service}-{version}.intoto.jsonl")), envelope + "\n")?;
        let cdx = serde_json::to_string_pretty(&cyclonedx(service, version, rng))?;
        std::fs::write(inputs.join("sboms/cyclonedx").join(format!("{service}-{version}.cdx.json")), cdx)?;
        let spdx = serde_json::to_string_pretty(&spdx(service, version, rng))?;
        std::fs::write(inputs.join("sboms/spdx").join(format!("{service}-{version}.spdx.json")), spdx)?;
        if *service == "payments" {
            let model = serde_json::to_string_pretty(&threat_dragon(service))?;
            std::fs::write(inputs.join("threat-models/dragon").join(format!("{service}.json")), model)?;
        } else {
            std::fs::write(
                inputs.join("threat-models/markdown").join(format!("{service}.md")),
                markdown_model(service, version),
            )?;
        }
    }
    std::fs::write(
        inputs.join("policy/dependencies.toml"),
        "# Approved-dependency register: package URLs (globs) and licences releases may ship.\n\
         purls = [\"pkg:cargo/*\", \"pkg:npm/@acme/*\"]\n\
         licenses = [\"MIT\", \"Apache-2.0\", \"BSD-3-Clause\", \"ISC\"]\n\
         unknown_license = \"deny\"\n",
    )?;
    let mut keyring = String::new();
    let _ = write!(
        keyring,
        "\n# The CI system's key: it signs build provenance collected by the `provenance` source, and no audit events.\n\
         [[key]]\nkid = \"{CI_KID}\"\npublic_key = \"{}\"\nnot_before = \"2026-01-01T00:00:00Z\"\nnot_after = \"2027-01-01T00:00:00Z\"\nchains = []\nattestations = [\"provenance\"]\n",
        B64.encode(ci.verifying_key().as_bytes())
    );
    write_documents(&inputs.join("documents"))?;
    // Decision Cards: the policies the services enforce, signed by the policy owners' key.
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let policy = SigningKey::from_bytes(&seed);
    let _ = write!(
        keyring,
        "\n# The policy owners' key: it signs the Decision Cards collected by the `policies` source.\n\
         [[key]]\nkid = \"policy-2026\"\npublic_key = \"{}\"\nnot_before = \"2026-01-01T00:00:00Z\"\nchains = []\npolicies = [\"*\"]\n",
        B64.encode(policy.verifying_key().as_bytes())
    );
    write_decision_cards(&inputs.join("policy/cards"), &policy)?;
    let sources = "\n[[source]]\nname = \"documents\"\ntype = \"documents\"\nurl = \"inputs/documents/\"\n\
         \n[[source]]\nname = \"policies\"\ntype = \"decision-card\"\nurl = \"inputs/policy/cards/\"\n\
         \n[[source]]\nname = \"releases\"\ntype = \"release\"\nurl = \"inputs/releases/\"\n\
         \n[[source]]\nname = \"provenance\"\ntype = \"dsse\"\nurl = \"inputs/attestations/\"\n\
         \n[[source]]\nname = \"sbom-cyclonedx\"\ntype = \"cyclonedx\"\nurl = \"inputs/sboms/cyclonedx/\"\n\
         \n[[source]]\nname = \"sbom-spdx\"\ntype = \"spdx\"\nurl = \"inputs/sboms/spdx/\"\n\
         \n[[source]]\nname = \"threat-dragon\"\ntype = \"threat-dragon\"\nurl = \"inputs/threat-models/dragon/\"\n\
         \n[[source]]\nname = \"threat-markdown\"\ntype = \"markdown-threat-model\"\nurl = \"inputs/threat-models/markdown/\"\n"
        .to_string()
        + &crate::scans::write(&inputs, services)?
        + &crate::test_reports::write(&inputs, services)?;
    Ok((keyring, sources))
}

/// Two signed Decision Cards, each with a `.sig` over its RFC 8785 canonical bytes.
fn write_decision_cards(folder: &Path, key: &SigningKey) -> Result<()> {
    use ed25519_dalek::Signer as _;
    std::fs::create_dir_all(folder)?;
    let cards = [
        serde_json::json!({
            "id": "payments-egress", "version": "2", "issued_at": "2026-10-15T09:00:00Z",
            "owner": "Payments security",
            "rules": {"default": "deny", "allow": ["api.acquirer.example:443", "fx.rates.example:443"]}
        }),
        serde_json::json!({
            "id": "identity-sessions", "version": "5", "issued_at": "2026-09-30T12:00:00Z",
            "expires_at": "2027-03-31T00:00:00Z", "owner": "Identity platform",
            "rules": {"max_session_minutes": 480, "mfa": "required", "idle_timeout_minutes": 30}
        }),
    ];
    for card in cards {
        let name =
            format!("{}-v{}.json", card["id"].as_str().unwrap_or("card"), card["version"].as_str().unwrap_or("0"));
        let canonical = cairn_evidence::canonical::canonical_bytes(&card)?;
        std::fs::write(folder.join(&name), serde_json::to_vec_pretty(&card)?)?;
        std::fs::write(folder.join(format!("{name}.sig")), B64.encode(key.sign(&canonical).to_bytes()))?;
    }
    Ok(())
}

/// Documents: (file, title, control, owner, date, body).
const DOCUMENTS: [(&str, &str, &str, &str, &str, &str); 4] = [
    (
        "incident-response-plan.md",
        "Incident response plan, version 3",
        "IR-01",
        "Chief information security officer",
        "2026-09-15",
        "# Incident response plan\n\nRoles, severity levels, escalation and communication for security incidents.\n",
    ),
    (
        "access-review-2026-q3.md",
        "Quarterly access review, Q3 2026",
        "ACC-02",
        "Head of IT operations",
        "2026-10-03",
        "# Access review Q3 2026\n\n214 accounts reviewed by their managers; 9 removed, 3 roles reduced.\n",
    ),
    (
        "backup-restore-test-2026-q2.md",
        "Evidence backup restore test, Q2 2026",
        "RET-05",
        "Platform team",
        "2026-06-20",
        "# Restore test\n\nThe evidence lake was restored from backup and `cairn verify --full` passed.\n",
    ),
    (
        "information-security-policy.md",
        "Information security policy",
        "RET-06",
        "Chief information security officer",
        "2026-02-01",
        "# Information security policy\n\nApproved by the board on 2026-02-01.\n",
    ),
];

fn write_documents(folder: &Path) -> Result<()> {
    std::fs::create_dir_all(folder)?;
    let mut index = String::from("# Documents recorded as evidence of manual controls: one entry per file.\n");
    for (file, title, control, owner, date, body) in DOCUMENTS {
        std::fs::write(folder.join(file), body)?;
        let _ = write!(
            index,
            "\n[[document]]\nfile = \"{file}\"\ntitle = \"{title}\"\ncontrols = [\"{control}\"]\nowner = \"{owner}\"\ndate = \"{date}\"\n"
        );
    }
    std::fs::write(folder.join("documents.toml"), index)?;
    Ok(())
}
