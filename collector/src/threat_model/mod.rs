//! Threat models: OWASP Threat Dragon JSON (v2, and v1), AWS Threat Composer workspaces and
//! Markdown, into `threat_models` and `threats` rows.
//!
//! Threat Dragon: every threat of every diagram cell, in diagram order then cell order. Markdown:
//! Cairn's convention (front matter, threat headings, threat tables, OWASP pytm reports), described in
//! `docs/threat-models.md`. In both, control ids written in brackets (`[LOG-03]`) in a threat's text or
//! mitigation link the threat to Cairn's controls.
//!
//! Each format is one source type, in its own module: `threat_dragon`, `threat_composer` and
//! `markdown`.

mod draft;
pub mod markdown;
pub mod threat_composer;
pub mod threat_dragon;

pub use markdown::MarkdownThreatModel;
pub use threat_composer::ThreatComposer;
pub use threat_dragon::ThreatDragon;

#[cfg(test)]
mod tests {
    use cairn_evidence::artefacts::ThreatRow;
    use cairn_evidence::tables::Provenance;

    use super::draft::controls_in;
    use super::markdown::parse_markdown;
    use super::threat_dragon::parse_threat_dragon;

    const TD_DEMO: &[u8] = include_bytes!("../../../fixtures/threatmodel/threat-dragon-v2-demo-threat-model.json");
    const PYTM_REPORT: &str = include_str!("../../../fixtures/threatmodel/pytm-report-output.md");
    const BLOB: &str = "blobs/sha256/abc";

    fn prov() -> Provenance {
        Provenance {
            source: "threat-models".into(),
            object_key: "tm/model".into(),
            line: 1,
            byte_offset: 0,
            record_sha256: "ab".into(),
            run_id: "r1".into(),
            collected_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            actor: "test".into(),
            confidence: cairn_evidence::tables::Confidence::Unverified,
            simulated: false,
        }
    }

    fn count(rows: &[ThreatRow], f: impl Fn(&ThreatRow) -> bool) -> usize {
        rows.iter().filter(|r| f(r)).count()
    }

    #[test]
    fn threat_dragon_v2_demo() {
        let (model, threats) = parse_threat_dragon(TD_DEMO, BLOB, &prov()).unwrap();
        assert_eq!(model.format, "threat-dragon-v2");
        assert_eq!(model.title, "Demo Threat Model");
        assert_eq!(model.owner.as_deref(), Some("Mike Goodwin"));
        assert_eq!(model.reviewer.as_deref(), Some("Jane Smith"));
        assert_eq!(model.version.as_deref(), Some("2.3.0"));
        assert_eq!((model.subsystem.as_deref(), model.reviewed.as_deref()), (None, None));
        assert_eq!(model.blob, BLOB);
        assert_eq!(model.provenance, prov());
        // Counted with python over detail.diagrams[].cells[].data.threats[]: 14 threats, 10 Open, 4 Mitigated.
        assert_eq!(model.threats, 14);
        assert_eq!(model.open_threats, 10);
        assert_eq!(threats.len(), 14);
        assert_eq!(count(&threats, |t| t.status == "Open"), 10);
        assert_eq!(count(&threats, |t| t.status == "Mitigated"), 4);
        assert_eq!(count(&threats, |t| t.category.as_deref() == Some("Information disclosure")), 10);
        assert_eq!(count(&threats, |t| t.category.as_deref() == Some("Denial of service")), 2);
        assert_eq!(count(&threats, |t| t.category.as_deref() == Some("Tampering")), 1);
        assert_eq!(count(&threats, |t| t.category.as_deref() == Some("Spoofing")), 1);
        assert_eq!(count(&threats, |t| t.severity.as_deref() == Some("High")), 8);
        assert_eq!(count(&threats, |t| t.severity.as_deref() == Some("Medium")), 4);
        assert_eq!(count(&threats, |t| t.severity.as_deref() == Some("Low")), 2);
        assert_eq!(count(&threats, |t| t.title == "Data flow should use HTTP/S"), 4);
        assert!(threats.iter().all(|t| t.model_blob == BLOB && t.provenance == prov() && t.controls.is_empty()));
        assert!(threats.iter().all(|t| t.mitigation.is_some()));

        let first = &threats[0];
        assert_eq!(first.threat_id, "7df716cd-a982-48a5-b4ed-800ccb670734");
        assert_eq!(first.title, "Accessing DB credentials");
        assert_eq!(first.category.as_deref(), Some("Information disclosure"));
        assert_eq!(first.severity.as_deref(), Some("High"));
        assert_eq!(first.status, "Open");
        assert_eq!(first.element.as_deref(), Some("Worker Config"));
        assert!(first.mitigation.as_deref().unwrap().starts_with("Encrypt the DB credentials"));

        let spoof = &threats[6];
        assert_eq!(spoof.title, "Fake messages could be placed on the queue");
        assert_eq!(spoof.category.as_deref(), Some("Spoofing"));
        assert_eq!(spoof.status, "Mitigated");
        assert_eq!(spoof.element.as_deref(), Some("Message Queue"));
        assert_eq!(threats[7].element.as_deref(), Some("Background\nWorker Process"));
        assert_eq!(threats[7].title, "Poison messages 1");
        // A flow's threat: the element is the flow's name.
        assert_eq!(threats[9].element.as_deref(), Some("Put Message"));
        assert_eq!(threats[13].threat_id, "79cbaf10-e5a2-4fd6-9818-7f180a113938");
        assert_eq!(threats[13].element.as_deref(), Some("Web Request"));
        assert_eq!(threats[13].status, "Mitigated");
    }

    const TD_V1: &str = r#"{
      "summary": {"title": "Legacy API", "owner": "Ops"},
      "detail": {"reviewer": "", "diagrams": [{"title": "Main", "id": 0, "diagramJson": {"cells": [
        {"type": "tm.Process", "id": "p1", "attrs": {"text": {"text": "API"}},
         "threats": [
           {"title": "Token replay", "type": "Spoofing", "status": "Open", "severity": "High",
            "description": "Stolen tokens are replayed", "mitigation": "Short-lived tokens [IAM-12], audit [LOG-03] [LOG-03]"},
           {"title": "Verbose errors", "type": "Information disclosure", "status": "NA", "severity": "Low",
            "mitigation": "   "}
         ]},
        {"type": "tm.Boundary", "id": "b1", "attrs": {}},
        {"type": "tm.Flow", "id": "f1", "labels": [{"position": 0.5, "attrs": {"text": {"text": "Query"}}}],
         "threats": [{"title": "Injection", "type": "Tampering", "status": "Mitigated", "severity": "Medium",
           "mitigation": "Parameterised queries", "threatId": "TH-7"}]}
      ]}}]}
    }"#;

    #[test]
    fn threat_dragon_v1() {
        let (model, threats) = parse_threat_dragon(TD_V1.as_bytes(), BLOB, &prov()).unwrap();
        assert_eq!(model.format, "threat-dragon-v1");
        assert_eq!(model.title, "Legacy API");
        assert_eq!(model.owner.as_deref(), Some("Ops"));
        assert_eq!(model.reviewer, None);
        assert_eq!(model.version, None);
        assert_eq!((model.threats, model.open_threats), (3, 1));
        let ids: Vec<&str> = threats.iter().map(|t| t.threat_id.as_str()).collect();
        assert_eq!(ids, ["0.0.0", "0.0.1", "TH-7"]);
        assert_eq!(threats[0].element.as_deref(), Some("API"));
        assert_eq!(threats[0].controls, "IAM-12; LOG-03");
        assert_eq!(threats[1].status, "NA");
        assert_eq!(threats[1].mitigation, None);
        assert_eq!(threats[1].controls, "");
        assert_eq!(threats[2].element.as_deref(), Some("Query"));
        assert_eq!(threats[2].category.as_deref(), Some("Tampering"));
    }

    #[test]
    fn threat_dragon_errors() {
        let err = |json: &str| parse_threat_dragon(json.as_bytes(), BLOB, &prov()).unwrap_err();
        assert_eq!(
            err(r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}"#),
            "not a Threat Dragon model: summary.title is missing"
        );
        assert_eq!(err(r#"{"summary": {"title": 3.5e0}}"#), "not a Threat Dragon model: detail is missing");
        assert_eq!(err(r#"{"summary": {"title": ["x"]}}"#), "not a Threat Dragon model: summary.title is not a string");
        assert!(err("[1, 2]").starts_with("not a Threat Dragon model: "));
        assert!(err("title: not json").starts_with("not JSON: "), "{}", err("title: not json"));
        let truncated = std::str::from_utf8(&TD_DEMO[..TD_DEMO.len() / 2]).unwrap();
        assert!(err(truncated).starts_with("not JSON (truncated): "), "{}", err(truncated));
        let no_status = r#"{"version": "2.3.0", "summary": {"title": "M"}, "detail": {"diagrams": [
            {"cells": [{"data": {"name": "A"}}, {"data": {"name": "B", "threats": [
              {"title": "ok", "status": "Open"}, {"title": "no status", "type": "Spoofing"}]}}]}]}}"#;
        assert_eq!(err(no_status), "detail.diagrams[0].cells[1].data.threats[1]: status is missing");
        let no_title = r#"{"summary": {"title": "M"}, "detail": {"diagrams": [{"diagramJson": {"cells": [
            {"threats": [{"status": "Open"}]}]}}]}}"#;
        assert_eq!(err(no_title), "detail.diagrams[0].diagramJson.cells[0].threats[0]: title is missing");
    }

    const MD_MODEL: &str = "---
title: Audit pipeline
subsystem: collector
version: \"1.4\"
owner: Platform security
reviewer: J. Smith
reviewed: 2025-03-14
colour: blue
---

# Audit pipeline threat model

Intro text. Note: not a threat.

### T-0001: Forged audit events
- **Status:** Open
- **STRIDE:** Spoofing
- **Severity:** High
- **Element:** Ingest API

An attacker with network access posts events in another service's name [IAM-12].

#### Mitigation
Sign events at the source and verify
signatures on ingest [LOG-03].

### T-0002 — Log deletion
Status: Mitigated
Category: Tampering
Priority: Medium
Asset: Lake
Mitigation: Hash-chained, append-only storage [LOG-03]

```
### T-0003: inside a code block, not a threat
```

## TM-12 - Backlog flooding
**Status**: identified

## Appendix
Status: ignored, not under a threat heading
";

    #[test]
    fn markdown_front_matter_and_headings() {
        let (model, threats) = parse_markdown(MD_MODEL, BLOB, &prov()).unwrap();
        assert_eq!(model.format, "markdown");
        assert_eq!(model.title, "Audit pipeline");
        assert_eq!(model.subsystem.as_deref(), Some("collector"));
        assert_eq!(model.version.as_deref(), Some("1.4"));
        assert_eq!(model.owner.as_deref(), Some("Platform security"));
        assert_eq!(model.reviewer.as_deref(), Some("J. Smith"));
        assert_eq!(model.reviewed.as_deref(), Some("2025-03-14"));
        assert_eq!((model.threats, model.open_threats), (3, 2));
        assert_eq!(model.provenance, prov());

        let t1 = &threats[0];
        assert_eq!((t1.threat_id.as_str(), t1.title.as_str()), ("T-0001", "Forged audit events"));
        assert_eq!(t1.status, "Open");
        assert_eq!(t1.category.as_deref(), Some("Spoofing"));
        assert_eq!(t1.severity.as_deref(), Some("High"));
        assert_eq!(t1.element.as_deref(), Some("Ingest API"));
        assert_eq!(
            t1.mitigation.as_deref(),
            Some("Sign events at the source and verify\nsignatures on ingest [LOG-03].")
        );
        assert_eq!(t1.controls, "IAM-12; LOG-03");
        assert_eq!(t1.model_blob, BLOB);

        let t2 = &threats[1];
        assert_eq!((t2.threat_id.as_str(), t2.title.as_str()), ("T-0002", "Log deletion"));
        assert_eq!(t2.status, "Mitigated");
        assert_eq!(t2.category.as_deref(), Some("Tampering"));
        assert_eq!(t2.severity.as_deref(), Some("Medium"));
        assert_eq!(t2.element.as_deref(), Some("Lake"));
        assert_eq!(t2.mitigation.as_deref(), Some("Hash-chained, append-only storage [LOG-03]"));
        assert_eq!(t2.controls, "LOG-03");

        let t3 = &threats[2];
        assert_eq!(
            (t3.threat_id.as_str(), t3.title.as_str(), t3.status.as_str()),
            ("TM-12", "Backlog flooding", "identified")
        );
        assert_eq!((t3.category.as_deref(), t3.mitigation.as_deref(), t3.controls.as_str()), (None, None, ""));
    }

    #[test]
    fn markdown_doc_example_matches_the_docs() {
        let doc = include_str!("../../../docs/threat-models.md");
        let example = doc.split("```markdown\n").nth(1).unwrap().split("\n```\n").next().unwrap();
        let (model, threats) = parse_markdown(example, BLOB, &prov()).unwrap();
        assert_eq!((model.threats, model.open_threats), (2, 1));
        assert_eq!(threats[0].controls, "IAM-12; LOG-03");
        assert_eq!(threats[1].controls, "LOG-03");
    }

    const THREAT_COMPOSER: &str = r#"# Payments API

## Application Info
Takes card payments.

## Assumptions

| Assumption Number | Assumption | Linked Threats | Linked Mitigations | Comments |
| --- | --- | --- | --- | --- |
| <a name="A-0001"></a>A-0001 | The VPC is private |  |  |  |

## Threats

| Threat Number | Threat | Mitigations | Assumptions | Status | Priority | STRIDE | Comments |
| --- | --- | --- | --- | --- | --- | --- | --- |
| <a name="T-0001"></a>T-0001 | An internal actor with access to the \_audit\_ bucket can delete logs \[LOG-03\] | [**M-0001**](#M-0001): Object lock on the bucket<br/>[**M-0002**](#M-0002): Alert on deletes \(see runbook\) | [**A-0001**](#A-0001): The VPC is private |  Identified | High | T, R |  |
| <a name="T-0002"></a>T-0002 | An external threat actor can forge a session token |  |  |  Resolved | Medium | S |  |


## Mitigations

| Mitigation Number | Mitigation | Threats Mitigating | Assumptions | Status | Comments |
| --- | --- | --- | --- | --- | --- |
| <a name="M-0001"></a>M-0001 | Object lock on the bucket | [**T-0001**](#T-0001) |  | Resolved |  |
"#;

    #[test]
    fn markdown_threat_composer_table() {
        let (model, threats) = parse_markdown(THREAT_COMPOSER, BLOB, &prov()).unwrap();
        assert_eq!(model.title, "Payments API");
        assert_eq!((model.subsystem, model.reviewed), (None, None));
        assert_eq!((model.threats, model.open_threats), (2, 1));
        let t1 = &threats[0];
        assert_eq!(t1.threat_id, "T-0001");
        assert_eq!(t1.title, "An internal actor with access to the _audit_ bucket can delete logs [LOG-03]");
        assert_eq!(
            t1.mitigation.as_deref(),
            Some("M-0001: Object lock on the bucket\nM-0002: Alert on deletes (see runbook)")
        );
        assert_eq!(t1.status, "Identified");
        assert_eq!(t1.severity.as_deref(), Some("High"));
        assert_eq!(t1.category.as_deref(), Some("T, R"));
        assert_eq!(t1.element, None);
        assert_eq!(t1.controls, "LOG-03");
        let t2 = &threats[1];
        assert_eq!((t2.threat_id.as_str(), t2.status.as_str()), ("T-0002", "Resolved"));
        assert_eq!(t2.title, "An external threat actor can forge a session token");
        assert_eq!((t2.mitigation.as_deref(), t2.category.as_deref()), (None, Some("S")));
    }

    #[test]
    fn markdown_errors() {
        let err = |md: &str| parse_markdown(md, BLOB, &prov()).unwrap_err();
        assert_eq!(
            err("---\ntitle: X\nreviewed: 2025-02-30\n---\n"),
            "line 3: reviewed: `2025-02-30` is not a valid YYYY-MM-DD date"
        );
        assert_eq!(
            err("---\nreviewed: 14/03/2025\n---\n"),
            "line 2: reviewed: `14/03/2025` is not a valid YYYY-MM-DD date"
        );
        assert!(err("---\ntitle: X\n").starts_with("line 1: front matter"));
        assert_eq!(
            err("# M\n\ntext\n\n## T-0009: No status here\nSeverity: High\n\n## T-0010: Fine\nStatus: Open\n"),
            "line 5: threat heading `## T-0009: No status here` has no Status"
        );
        assert_eq!(
            err("| ID | Threat | Status |\n|---|---|---|\n| T1 | x | Open |\n| T2 | y |  |\n"),
            "line 4: threat `T2` has an empty Status cell"
        );
        assert_eq!(
            err("Some notes.\n\n## Ideas\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"),
            "not a threat model: no front matter, no threat headings and no threat table"
        );
    }

    #[test]
    fn pytm_report_fixture_has_no_findings() {
        let (model, threats) = parse_markdown(PYTM_REPORT, BLOB, &prov()).unwrap();
        assert_eq!(model.format, "markdown");
        assert_eq!(model.title, "");
        assert_eq!((model.threats, model.open_threats), (0, 0));
        assert!(threats.is_empty());
    }

    #[test]
    fn pytm_findings() {
        // The fixture's report with two findings rendered by pytm's docs/basic_template.md.
        let findings = "<details>
  <summary>
    INP02 — Overflow Buffers
  </summary>

  <h6>Targeted Element</h6>
  <p>Web Server</p>

  <h6>Severity</h6>
  <p>High</p>

  <h6>Example Instances</h6>
  <p>Buffer overflow in a C library.</p>

  <h6>Mitigations</h6>
  <p>Use a language or compiler that performs automatic bounds checking.<br>Validate input [SEC-01].</p>

  <h6>References</h6>
  <p>https://capec.mitre.org/data/definitions/100.html</p>

  &nbsp;
</details>
<details>
  <summary>
    DS06 - Data Leak &amp; exposure
  </summary>
  <h6>Targeted Element</h6>
  <p>SQL Database</p>
  <h6>Severity</h6>
  <p>Very High</p>
  <h6>Mitigations</h6>
  <p></p>
</details>
";
        let last = PYTM_REPORT.rfind("||").unwrap();
        let report = format!("{}{findings}{}", &PYTM_REPORT[..last], &PYTM_REPORT[last + 2..]);
        let (model, threats) = parse_markdown(&report, BLOB, &prov()).unwrap();
        assert_eq!((model.threats, model.open_threats), (2, 2));
        let t1 = &threats[0];
        assert_eq!((t1.threat_id.as_str(), t1.title.as_str()), ("INP02", "Overflow Buffers"));
        assert_eq!(t1.element.as_deref(), Some("Web Server"));
        assert_eq!(t1.severity.as_deref(), Some("High"));
        assert_eq!(
            t1.mitigation.as_deref(),
            Some("Use a language or compiler that performs automatic bounds checking.\nValidate input [SEC-01].")
        );
        assert_eq!(t1.status, "Identified");
        assert_eq!(t1.controls, "SEC-01");
        let t2 = &threats[1];
        assert_eq!((t2.threat_id.as_str(), t2.title.as_str()), ("DS06", "Data Leak & exposure"));
        assert_eq!((t2.element.as_deref(), t2.severity.as_deref()), (Some("SQL Database"), Some("Very High")));
        assert_eq!(t2.mitigation, None);
    }

    #[test]
    fn controls_need_the_exact_shape() {
        assert_eq!(
            controls_in(["[LOG-03] [IAM-12] [A-01] [ABCDEFGHI-1] [LOG-12345] [log-03] [LOG03] [IAM-12]"]),
            "IAM-12; LOG-03"
        );
        assert_eq!(controls_in(["[ABCDEFGH-1234] x", "[OPS-7]"]), "ABCDEFGH-1234; OPS-7");
    }
}
