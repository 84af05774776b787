//! The portal's pages as an auditor reads them, pinned by snapshots (insta), and its incremental
//! render: a second render of the same lake rewrites nothing; a changed control rewrites only the
//! pages that show it.
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
    // Its page, and the pages and indexes that list it with its reasons; nothing else.
    assert!(rewritten.contains(&"controls/RET-05.html"), "{rewritten:?}");
    let may_change =
        ["controls/RET-05.html", "index.html", "index.json", "COMPLIANCE_EVIDENCE_INDEX.md", "search.html"];
    assert!(rewritten.iter().all(|p| may_change.contains(p)), "{rewritten:?}");
    assert!(std::fs::read_to_string(portal.join("controls/RET-05.html")).unwrap().contains("(limit 120)"));
}
