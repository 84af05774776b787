//! The portal's pages as an auditor reads them, pinned by snapshots (insta), and its incremental
//! render: a second render of the same lake rewrites nothing; a changed control rewrites only the
//! pages that show it. A template folder (`[portal] templates`) re-brands every page, keeps
//! evidence escaped and, when at fault, fails the render naming each file.
//!
//! Snapshots hold each page's `<main>` with run ids, times, digests, signatures and byte sizes
//! replaced by placeholders, so they change only when what a page says changes.

mod common;

use std::path::Path;

use common::{cairn, demo};

/// The `<main>` element of a page.
fn main_of(page: &Path) -> String {
    let html = std::fs::read_to_string(page).unwrap();
    let start = html.find("<main>").expect("a <main>");
    let end = html.find("</main>").expect("a </main>");
    html[start..end + "</main>".len()].to_string()
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    s.add_filter(r"\b\d{8}T\d{6}Z-[0-9a-f]{8}\b", "[run]");
    s.add_filter(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z\b", "[time]");
    s.add_filter(r"\b[0-9a-f]{64}\b", "[sha256]");
    s.add_filter(r"\b[0-9A-F]{16}\b", "[key id]");
    s.add_filter(r"\b\d+ bytes\b", "[n] bytes");
    s.add_filter(r"[A-Za-z0-9+/]{40,}={0,2}", "[base64]");
    s
}

#[test]
fn representative_pages_match_their_snapshots() {
    let tmp = tempfile::tempdir().unwrap();
    let portal = demo(tmp.path(), 7).join("portal");
    let _guard = settings().bind_to_scope();
    for (name, page) in [
        ("dashboard", "index.html"),
        ("control-failing", "controls/LOG-02.html"),
        ("control-stale-manual", "controls/RET-05.html"),
        ("chain-with-gap", "chains/payments-eu-1.html"),
        ("framework-gdpr", "frameworks/gdpr.html"),
        ("keys", "keys.html"),
        ("runs", "runs.html"),
    ] {
        insta::assert_snapshot!(name, main_of(&portal.join(page)));
    }
}

/// Every file under `dir` with its modification time.
fn mtimes(dir: &Path) -> Vec<(String, std::time::SystemTime)> {
    let mut out: Vec<_> = common::files(dir)
        .into_iter()
        .map(|rel| {
            let modified = std::fs::metadata(dir.join(&rel)).unwrap().modified().unwrap();
            (rel.to_string_lossy().into_owned(), modified)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_second_render_rewrites_nothing_and_a_changed_control_rewrites_only_its_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 7);
    let portal = org.join("portal");
    let before = mtimes(&portal);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = cairn(&org, &["render"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(mtimes(&portal), before, "an unchanged lake rewrote pages");

    // Loosen one control's freshness limit in a catalog file of the organisation's own.
    std::fs::write(org.join("local.toml"), "[[override]]\nid = \"RET-05\"\nmax_age_days = 120\n").unwrap();
    let mut config = std::fs::read_to_string(org.join("cairn.toml")).unwrap();
    config.push_str("\n[controls]\ncatalog = [\"local.toml\"]\n");
    std::fs::write(org.join("cairn.toml"), config).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = cairn(&org, &["render"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = mtimes(&portal);
    assert_eq!(after.len(), before.len());
    let rewritten: Vec<&str> =
        after.iter().zip(&before).filter(|(a, b)| a.1 != b.1).map(|(a, _)| a.0.as_str()).collect();
    // Its page, and the pages and indexes that list it with its reasons; the OSCAL component
    // definition that states its freshness limit, and the downloads page listing that document's
    // digest; nothing else.
    assert!(rewritten.contains(&"controls/RET-05.html"), "{rewritten:?}");
    let may_change = [
        "controls/RET-05.html",
        "index.html",
        "index.json",
        "COMPLIANCE_EVIDENCE_INDEX.md",
        "search.html",
        "oscal/component-definition.json",
        "downloads.html",
    ];
    assert!(rewritten.iter().all(|p| may_change.contains(p)), "{rewritten:?}");
    assert!(std::fs::read_to_string(portal.join("controls/RET-05.html")).unwrap().contains("(limit 120)"));
}

/// Every file under `dir` with its bytes.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    common::files(dir)
        .into_iter()
        .map(|rel| (rel.to_string_lossy().into_owned(), std::fs::read(dir.join(&rel)).unwrap()))
        .collect()
}

/// Points the organisation's `[portal] templates` at `folder`, or at none.
fn use_templates(org: &Path, folder: Option<&str>) {
    let path = org.join("cairn.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    let mut config = config.lines().filter(|l| !l.starts_with("templates = ")).collect::<Vec<_>>().join("\n");
    config.push('\n');
    let config = match folder {
        Some(folder) => config.replacen("[portal]\n", &format!("[portal]\ntemplates = \"{folder}\"\n"), 1),
        None => config,
    };
    assert_eq!(config.contains("templates = "), folder.is_some(), "the demo's cairn.toml has a [portal] section");
    std::fs::write(&path, config).unwrap();
}

/// The built-in `base.html`'s brand, and a re-branded one with a logo in text.
const BRAND: (&str, &str) = (
    "<span class=\"brand\">Cairn evidence portal</span>",
    "<span class=\"brand\"><span class=\"logo\" aria-hidden=\"true\">[ACME]</span> Acme trust centre</span>",
);
const TITLE: (&str, &str) = (" · Cairn evidence portal</title>", " · Acme trust centre</title>");

/// An SBOM whose component name is a script.
const EVIL_SBOM: &str = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"timestamp":"2026-11-19T17:05:00Z",
"component":{"type":"application","name":"evil","version":"1.0"}},
"components":[{"type":"library","name":"<script>alert('sbom')</script>","version":"1","licenses":[{"expression":"MIT"}]}]}"#;

#[test]
fn a_rebranded_base_template_shows_on_every_page_and_keeps_evidence_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 7);
    std::fs::write(org.join("inputs/sboms/cyclonedx/evil.cdx.json"), EVIL_SBOM).unwrap();
    for step in [&["collect"][..], &["verify"], &["render"]] {
        let out = cairn(&org, step);
        assert!(out.code == 0 || out.code == 1, "{step:?}: {}", out.stderr);
    }
    let portal = org.join("portal");
    let built_in = contents(&portal);
    let built_in_times = mtimes(&portal);

    // A folder with no template in it (only a note) changes nothing, not even a file's time.
    let brand = org.join("brand");
    std::fs::create_dir(&brand).unwrap();
    std::fs::write(brand.join("README.md"), "Acme's portal templates.\n").unwrap();
    use_templates(&org, Some("brand"));
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = cairn(&org, &["render"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(mtimes(&portal), built_in_times, "a template folder without templates rewrote pages");

    // A re-branded base.html: every page carries the new brand and title, and nothing else
    // about it changes; files that are not templated are not rewritten.
    let base = include_str!("../../templates/base.html");
    assert!(base.contains(BRAND.0) && base.contains(TITLE.0));
    std::fs::write(brand.join("base.html"), base.replace(BRAND.0, BRAND.1).replace(TITLE.0, TITLE.1)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = cairn(&org, &["render"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rebranded = contents(&portal);
    assert_eq!(rebranded.len(), built_in.len());
    let mut pages = 0;
    for ((path, new), (_, old)) in rebranded.iter().zip(&built_in) {
        let (new, old) = (String::from_utf8_lossy(new), String::from_utf8_lossy(old));
        if Path::new(path).extension().is_some_and(|ext| ext == "html") {
            pages += 1;
            assert!(new.contains(BRAND.1) && new.contains(TITLE.1), "{path} is not re-branded");
            assert_eq!(new, old.replace(BRAND.0, BRAND.1).replace(TITLE.0, TITLE.1), "{path}");
        } else {
            assert_eq!(new, old, "{path}");
        }
    }
    assert!(pages > 50, "{pages} pages");
    let rewritten: Vec<String> =
        mtimes(&portal).into_iter().zip(&built_in_times).filter(|(a, b)| a.1 != b.1).map(|(a, _)| a.0).collect();
    assert_eq!(rewritten.len(), pages, "every page and nothing else is rewritten: {rewritten:?}");
    // The hostile component name is on an SBOM page inside the new brand, as text.
    let sbom = rebranded
        .iter()
        .map(|(path, bytes)| (path, String::from_utf8_lossy(bytes)))
        .find(|(path, page)| path.starts_with("artefacts/") && page.contains("alert(&#x27;sbom&#x27;)"))
        .expect("the SBOM page lists the hostile component");
    assert!(sbom.1.contains(BRAND.1), "{}", sbom.0);
    assert!(sbom.1.contains("&lt;script&gt;alert(&#x27;sbom&#x27;)&lt;&#x2F;script&gt;"), "{}", sbom.0);
    assert!(!sbom.1.contains("<script"), "{}", sbom.0);

    // A bundle's offline copy of the portal is re-branded too.
    let zip_path = tmp.path().join("rebranded.zip");
    let out = cairn(&org, &["bundle", "--out", zip_path.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut index = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("portal/index.html").unwrap(), &mut index).unwrap();
    assert!(index.contains(BRAND.1), "the bundle's portal/index.html is not re-branded");

    // Without the folder, the portal is again byte for byte the built-in one.
    use_templates(&org, None);
    let out = cairn(&org, &["render"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(contents(&portal) == built_in, "dropping the template folder did not restore the built-in pages");
}

#[test]
fn a_template_folder_at_fault_fails_the_render_naming_each_file_and_leaves_the_portal() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 7);
    let portal = org.join("portal");
    let before = mtimes(&portal);
    let brand = org.join("brand");
    std::fs::create_dir(&brand).unwrap();
    std::fs::write(brand.join("bse.html"), "{% extends \"base.html\" %}").unwrap();
    std::fs::write(brand.join("control.html"), "{% extends \"base.html\" %}\n{% block content %}{% if %}\n").unwrap();
    use_templates(&org, Some("brand"));
    let out = cairn(&org, &["render"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let bse = brand.join("bse.html").display().to_string();
    let control = brand.join("control.html").display().to_string();
    for expected in [
        "2 problem(s)",
        &format!("{bse}: not the name of a built-in template"),
        "attestation.html, base.html, chain.html",
        &format!("{control}: line 2: does not parse"),
    ] {
        assert!(out.stderr.contains(expected), "{expected:?} not in:\n{}", out.stderr);
    }
    assert_eq!(mtimes(&portal), before, "a failed render touched the portal");
}
