//! The framework catalogs against the identifier facts in `fixtures/frameworks` (copied from the
//! project's shared framework notes): every id present, none invented, counts exact.

use std::collections::BTreeSet;
use std::path::PathBuf;

use cairn_controls::frameworks::builtin;
use cairn_controls::Catalog;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/frameworks").join(name))
        .unwrap()
}

/// The `id:` values of the lines between `start` and the next top-level key.
fn yaml_ids(text: &str, start: &str) -> BTreeSet<String> {
    let mut inside = false;
    let mut ids = BTreeSet::new();
    for line in text.lines() {
        if !line.starts_with(' ') && !line.starts_with('-') {
            inside = line.trim_end() == start;
            continue;
        }
        if inside {
            let t = line.trim_start().trim_start_matches("- ");
            if let Some(id) = t.strip_prefix("id: ") {
                ids.insert(id.trim().trim_matches('\'').trim_matches('"').to_string());
            }
        }
    }
    ids
}

fn catalog_ids(key: &str, pred: impl Fn(&cairn_controls::frameworks::Requirement) -> bool) -> BTreeSet<String> {
    builtin().unwrap()[key].requirements.iter().filter(|r| pred(r)).map(|r| r.id.clone()).collect()
}

#[test]
fn soc2_has_exactly_the_61_criteria() {
    let want = yaml_ids(&fixture("soc2_tsc2017_criteria.yaml"), "criteria:");
    assert_eq!(want.len(), 61);
    assert_eq!(catalog_ids("soc2", |_| true), want);
}

#[test]
fn iso27001_has_all_93_annex_a_controls_and_the_clauses() {
    let text = fixture("iso27001_2022_annex_a.yaml");
    let annex = yaml_ids(&text, "annex_a_controls:");
    assert_eq!(annex.len(), 93);
    assert_eq!(catalog_ids("iso27001", |r| r.kind.as_deref() == Some("annex_a")), annex);
    assert_eq!(catalog_ids("iso27001", |r| r.kind.as_deref() == Some("clause")), yaml_ids(&text, "isms_clauses:"));
    assert!(annex.iter().all(|id| id.starts_with("A.")), "Annex A ids are written A.x.y");
}

#[test]
fn gdpr_has_the_listed_articles_paragraphs_and_points() {
    let want: BTreeSet<String> = yaml_ids(&fixture("gdpr_selected_articles.yaml"), "articles:");
    let got = catalog_ids("gdpr", |_| true);
    let groups: BTreeSet<String> = builtin().unwrap()["gdpr"].groups.iter().map(|g| g.id.clone()).collect();
    // Article-level ids may be groups rather than requirements.
    assert_eq!(
        got.union(&groups).cloned().collect::<BTreeSet<_>>(),
        want.union(&groups).cloned().collect::<BTreeSet<_>>()
    );
    assert!(got.contains("Art. 32(1)(b)"));
}

#[test]
fn hipaa_has_every_standard_and_specification_with_required_or_addressable() {
    let text = fixture("hipaa_security_rule.yaml");
    assert_eq!(catalog_ids("hipaa", |_| true), yaml_ids(&text, "standards:"));
    let hipaa = &builtin().unwrap()["hipaa"];
    let count = |kind: &str| {
        hipaa
            .requirements
            .iter()
            .filter(|r| {
                ["164.308", "164.310", "164.312"].contains(&r.group.as_str())
                    && r.implementation.as_deref() == Some(kind)
            })
            .count()
    };
    // 164.308-164.312: 36 implementation specifications, 14 Required and 22 Addressable.
    assert_eq!((count("required"), count("addressable")), (14, 22));
    // Ids with and without the trailing (i) name the same requirement.
    assert_eq!(hipaa.requirement("164.308(a)(1)").map(|r| r.id.as_str()), Some("164.308(a)(1)(i)"));
    assert!(hipaa.version.contains("NPRM"));
}

#[test]
fn every_control_maps_to_requirements_that_exist() {
    let frameworks = builtin().unwrap();
    let catalog = Catalog::builtin().unwrap();
    for c in &catalog.controls {
        assert!(!c.requirements.is_empty(), "{} maps to nothing", c.id);
        for link in &c.requirements {
            assert!(
                frameworks[&link.framework].requirement(&link.id).is_some(),
                "{} maps to unknown {} {}",
                c.id,
                link.framework,
                link.id
            );
        }
    }
}
