//! User catalogs: each invalid case in `tests/invalid/<case>/` is reported with its file, line
//! and message; a valid file adds controls, changes rules and marks requirements not applicable.

use std::path::PathBuf;

use cairn_controls::frameworks::builtin;
use cairn_controls::user::check;
use cairn_controls::{EvidenceKind, BUILTIN_CATALOG};

/// Every finding kind the verifier names.
const ALL_KINDS: [&str; 36] = [
    "gap",
    "altered",
    "reorder",
    "broken_link",
    "fork",
    "restart",
    "bad_signature",
    "unknown_key",
    "key_not_valid",
    "time_backwards",
    "object_digest_mismatch",
    "manifest_signature",
    "manifest_chain",
    "duplicate",
    "attestation_signature",
    "tlog_inclusion",
    "signer_identity",
    "subject_digest_mismatch",
    "unattested_artifact",
    "unapproved_component",
    "disallowed_license",
    "missing_sbom",
    "threat_model_stale",
    "unmitigated_threat",
    "vulnerability_gate",
    "vulnerability_fixed",
    "release_tests_failed",
    "test_quarantine_overdue",
    "tests_cleared",
    "policy_signature",
    "policy_mutated",
    "policy_review_overdue",
    "policy_unknown",
    "published_key_removed",
    "published_key_pin_mismatch",
    "published_key_unreachable",
];

#[test]
fn the_built_in_catalog_checks_clean() {
    let checked = check(BUILTIN_CATALOG, &[], &builtin().unwrap(), &ALL_KINDS);
    assert!(checked.problems.is_empty(), "{:?}", checked.problems);
    assert!(checked.gaps["soc2"].len() < 61, "some SOC 2 criteria are covered");
}

#[test]
fn each_invalid_case_names_file_line_and_problem() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let mut cases: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    assert!(cases.len() >= 8);
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(case.join("catalog.toml")).unwrap();
        let expected = std::fs::read_to_string(case.join("expected.txt")).unwrap();
        let expected = expected.trim();
        let checked = check(BUILTIN_CATALOG, &[(format!("{name}.toml"), text)], &builtin().unwrap(), &ALL_KINDS);
        let got: Vec<String> = checked.problems.iter().map(ToString::to_string).collect();
        assert!(
            got.iter().any(|p| p.starts_with(&format!("{name}.toml:{expected}"))),
            "{name}: expected {expected:?}, got {got:?}"
        );
    }
}

#[test]
fn a_valid_user_file_adds_changes_and_excludes() {
    let text = r#"
[[control]]
id = "ORG-10"
title = "Records of processing are kept"
description = "The controller keeps its records of processing up to date."
evidence = "manual"
fails_on = []
max_age_days = 365

  [[control.requirement]]
  framework = "gdpr"
  id = "Art. 30(1)"
  relationship = "equal"
  rationale = "The record itself."
  confidence = "high"

[[override]]
id = "LOG-04"
max_age_days = 2

[[not_applicable]]
framework = "hipaa"
id = "164.310(a)(1)"
justification = "No facility holds ePHI: all systems run in a cloud provider's regions."
"#;
    let checked = check(BUILTIN_CATALOG, &[("local.toml".into(), text.into())], &builtin().unwrap(), &["gap"]);
    assert!(checked.problems.iter().all(|p| p.file == "built-in"), "{:?}", checked.problems);
    let added = checked.catalog.controls.iter().find(|c| c.id == "ORG-10").unwrap();
    assert_eq!(added.evidence, EvidenceKind::Manual);
    assert_eq!(checked.catalog.controls.iter().find(|c| c.id == "LOG-04").unwrap().max_age_days, 2);
    assert!(!checked.gaps["gdpr"].contains(&"Art. 30(1)".to_string()));
    assert!(!checked.gaps["hipaa"].contains(&"164.310(a)(1)".to_string()), "not applicable is not a gap");
}

#[test]
fn a_gap_fails_the_log_controls_and_through_them_a_requirement_in_every_framework() {
    use cairn_controls::{evaluate, roll_up, EvidenceSummary, Status};
    let frameworks = builtin().unwrap();
    let catalog = cairn_controls::Catalog::builtin().unwrap();
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc);
    let mut evidence = EvidenceSummary {
        events_verified: 100,
        chains: 1,
        last_verified_at: Some(at("2026-11-20T02:00:00Z")),
        ..Default::default()
    };
    let clean = roll_up(&catalog, &evaluate(&catalog, &evidence, at("2026-11-20T03:00:00Z")), &frameworks, &[]);
    evidence.findings_by_kind.insert("gap".into(), 1);
    let results = evaluate(&catalog, &evidence, at("2026-11-20T03:00:00Z"));
    assert_eq!(results.iter().find(|r| r.id == "LOG-02").unwrap().status, Status::Failing);
    let rolled = roll_up(&catalog, &results, &frameworks, &[]);
    let status = |rs: &[cairn_controls::RequirementStatus], f: &str, id: &str| {
        rs.iter().find(|r| r.framework == f && r.id == id).unwrap().status
    };
    for (f, id) in [("soc2", "CC7.2"), ("iso27001", "A.8.15"), ("gdpr", "Art. 32(1)(b)"), ("hipaa", "164.312(b)")] {
        assert_eq!(status(&rolled, f, id), Some(Status::Failing), "{f} {id}");
        assert_ne!(status(&clean, f, id), Some(Status::Failing), "{f} {id} fails without the gap");
    }
    // A requirement no control maps to is a gap.
    let gap = rolled.iter().find(|r| r.framework == "soc2" && r.id == "CC1.1").unwrap();
    assert_eq!((gap.coverage, gap.status), (cairn_controls::Coverage::None, None));
}
