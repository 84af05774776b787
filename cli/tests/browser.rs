//! The portal in a real browser: the demo organisation, plus evidence written to attack the
//! portal (a script as an SBOM component's name, an image with an `onerror` as a threat model's
//! title, a `javascript:` link in a mitigation), rendered and opened page by page in Debian's
//! headless Chromium by `tests/browser/portal.mjs` (playwright-core, axe-core): no console error,
//! no request leaving the page, no dialog, no serious or critical accessibility violation.
//! Screenshots of the dashboard and a control page are left in `target/tmp/browser/`.

mod common;

use std::path::Path;

use common::{cairn, demo, tool};

const EVIL_SBOM: &str = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"timestamp":"2026-11-19T17:05:00Z",
"component":{"type":"application","name":"evil","version":"1.0"}},
"components":[{"type":"library","name":"<script>alert('sbom')</script>","version":"1\"><img src=x onerror=alert('v')>",
"purl":"javascript:alert('purl')","licenses":[{"expression":"MIT"}]}]}"#;

const EVIL_MODEL: &str = "---\ntitle: <img src=x onerror=alert('title')>\nsubsystem: evil\nowner: <b>owner</b>\nreviewed: 2026-11-01\n---\n\n\
### T-0001: <script>alert('threat')</script>\n\n- **Status:** Open\n- **Severity:** Low\n\
- **Mitigation:** [click me](javascript:alert('link')) <iframe src=\"javascript:alert('frame')\"></iframe>\n";

#[test]
fn every_portal_page_is_clean_in_chromium_and_hostile_evidence_stays_inert() {
    let tmp = tempfile::tempdir().unwrap();
    let org = demo(tmp.path(), 9);
    std::fs::write(org.join("inputs/sboms/cyclonedx/evil.cdx.json"), EVIL_SBOM).unwrap();
    std::fs::write(org.join("inputs/threat-models/markdown/evil.md"), EVIL_MODEL).unwrap();
    for step in [&["collect"][..], &["verify"], &["render"]] {
        let out = cairn(&org, step);
        assert!(out.code == 0 || out.code == 1, "{step:?}: {}", out.stderr);
    }
    let portal = org.join("portal");
    // The hostile text is on its pages, as text.
    let pages: Vec<String> = common::files(&portal.join("artefacts"))
        .iter()
        .map(|p| std::fs::read_to_string(portal.join("artefacts").join(p)).unwrap())
        .collect();
    assert!(pages.iter().any(|p| p.contains("&lt;script&gt;alert(&#x27;sbom&#x27;)&lt;&#x2F;script&gt;")));
    assert!(pages.iter().any(|p| p.contains("&lt;img src=x onerror=alert(&#x27;title&#x27;)&gt;")));
    assert!(!pages.iter().any(|p| p.contains("<script") || p.contains("href=\"javascript:")));
    // The Markdown model's document is rendered, its hostile link kept as text without a target.
    let document = pages.iter().find(|p| p.contains("<div class=\"document\">") && p.contains("click me")).unwrap();
    assert!(document.contains("<a rel=\"noopener noreferrer nofollow\">click me</a>"), "{document}");

    let browser = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/browser");
    assert!(
        browser.join("node_modules/playwright-core").exists() && Path::new("/usr/bin/chromium").exists(),
        "the browser tests need Debian's chromium and `npm ci` in tests/browser (the README's test command does both)"
    );
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    let out = tool(&browser, "node", &["portal.mjs", portal.to_str().unwrap(), artifacts.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(report["pages"].as_u64().unwrap() > 100, "{report}");
    assert!(artifacts.join("dashboard.png").exists() && artifacts.join("control.png").exists());
}
