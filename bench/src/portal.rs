//! `cairn bench portal`: renders a generated portal of about N pages and, in the same run, builds
//! a Hugo site of as many Markdown pages of similar size, and compares pages per second; then
//! re-renders the portal after one control changed and counts the pages rewritten.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cairn_evidence::finding::FindingKind;
use cairn_evidence::keys::PublicKey;
use cairn_renderer::model::{
    anchor, chain_file_name, ChainLink, ChainView, ControlView, CursorView, DownloadView, EvidenceItemView, Finding,
    FrameworkView, KeyView, ObjectLink, ObjectView, RequirementRow, RequirementView, RunView, StatusPoint, SummaryView,
};
use cairn_renderer::portal::{self, BuildReport};
use cairn_renderer::{markdown, PortalModel};
use ed25519_dalek::SigningKey;
use rand_chacha::rand_core::{RngCore as _, SeedableRng as _};
use rand_chacha::ChaCha20Rng;

use crate::{list_times, median, remove_if_present};

/// The targets: Cairn's median build renders at least this many times Hugo's pages per second…
const TARGET_RATIO: f64 = 10.0;
/// …and a process's first build (what one `cairn render` is) at least this many times.
const FIRST_BUILD_TARGET_RATIO: f64 = 6.0;

/// Pages that do not depend on N: dashboard, runs, how to verify, lake objects, downloads,
/// supply chain, keys.
const FIXED_PAGES: usize = 7;

/// Deterministic choices from a seeded stream.
struct Draw(ChaCha20Rng);

impl Draw {
    fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n.max(1) as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn hex(&mut self, bytes: usize) -> String {
        let mut b = vec![0u8; bytes];
        self.0.fill_bytes(&mut b);
        hex::encode(b)
    }

    fn b64(&mut self, bytes: usize) -> String {
        let mut b = vec![0u8; bytes];
        self.0.fill_bytes(&mut b);
        B64.encode(b)
    }
}

const PREFIXES: [&str; 12] = ["LOG", "ACC", "CHG", "BCK", "VUL", "NET", "ENC", "HRS", "VEN", "INC", "AST", "DEV"];

const SUBJECTS: [&str; 20] = [
    "Production database backups",
    "Administrator access to cloud accounts",
    "Changes to the payments service",
    "Audit events of the identity provider",
    "Laptop disk encryption settings",
    "Vendor security reviews",
    "Incident response runbooks",
    "TLS certificates of public endpoints",
    "Access rights in the HR system",
    "Container images in the registry",
    "Secrets used by the CI pipeline",
    "Firewall rules of the production network",
    "Customer data exports",
    "Service account keys",
    "Logs of the Kubernetes control plane",
    "Release artefacts",
    "Third-party libraries",
    "Encryption keys in the KMS",
    "On-call escalations",
    "Accounts of people who left",
];

const PREDICATES: [&str; 12] = [
    "are encrypted at rest with keys rotated yearly",
    "are reviewed and approved by a second engineer",
    "are retained for at least one year",
    "are signed and their signatures verified",
    "are restricted to named people with MFA",
    "are restore-tested every quarter",
    "raise an alert within 15 minutes of a failure",
    "are revoked within one business day",
    "are scanned for known vulnerabilities weekly",
    "are recorded in a tamper-evident log",
    "are inventoried, each with an owner",
    "are documented and reviewed every year",
];

const SENTENCES: [&str; 14] = [
    "The owning team keeps the configuration in version control and every change goes through review.",
    "Cairn reads the evidence from the lake each night and evaluates the control against it.",
    "Exceptions are recorded with an owner, a reason and an expiry date, and reviewed monthly.",
    "The control covers every production region; staging environments are out of scope.",
    "A failure opens a ticket for the owning team and is reported in the weekly security review.",
    "The evidence is kept for the audit period and one year beyond it.",
    "Auditors can sample the underlying events from any evidence bundle and check them offline.",
    "Automated checks run on every deployment, so drift is caught within a day.",
    "The procedure was last walked through with the external auditor during the previous period.",
    "Where a system cannot produce the evidence itself, a signed export from its administrator is used.",
    "Keys used for signing are held in a hardware-backed store and never leave it.",
    "The control fails when any of the listed finding kinds appears in the latest verification.",
    "Service owners attest to the scope of the control once a quarter.",
    "Alerts are routed to the on-call engineer and acknowledged within the agreed time.",
];

const RATIONALES: [&str; 8] = [
    "Integrity of the security event record is a precondition for monitoring it for anomalies.",
    "The requirement asks for restricted access; this control proves it for the systems in scope.",
    "Tested restores show that backups can meet the recovery objectives the requirement names.",
    "Reviewed changes are the evidence the requirement expects for change management.",
    "Encryption at rest addresses the confidentiality part of the requirement only.",
    "Timely revocation is one of several measures the requirement lists for access management.",
    "Vulnerability scanning supports, but does not by itself satisfy, the risk treatment asked for.",
    "A documented, reviewed procedure is what the requirement asks to be maintained.",
];

const REQUIREMENT_TITLES: [&str; 12] = [
    "Logical access to information assets is restricted",
    "Changes to infrastructure and software are authorised",
    "Security events are logged and monitored",
    "Data is protected in transit and at rest",
    "Backups are taken and restores are tested",
    "Vulnerabilities are identified and remediated",
    "Suppliers are assessed and monitored",
    "Incidents are detected, reported and handled",
    "Assets are inventoried with an owner",
    "Personnel leaving have their access removed",
    "Risks are assessed and treated",
    "Policies are documented, approved and reviewed",
];

const SERVICES: [&str; 10] =
    ["payments-api", "idp", "billing", "k8s-audit", "ledger", "search", "gateway", "hr-system", "crm", "vault"];

/// Finding kinds by evidence kind, as the catalog's controls use them.
const EVIDENCE: [(&str, &[&str]); 8] = [
    ("events", &["altered", "broken_link", "fork", "restart", "bad_signature", "unknown_key", "key_not_valid"]),
    ("events", &["gap", "reorder", "time_backwards"]),
    ("lake", &["object_digest_mismatch", "manifest_signature", "manifest_chain"]),
    ("verification", &["altered", "gap", "bad_signature"]),
    ("attestations", &["attestation_signature", "tlog_inclusion", "subject_digest_mismatch", "unattested_artifact"]),
    ("sboms", &["unapproved_component", "disallowed_license", "missing_sbom"]),
    ("threat_models", &["threat_model_stale", "unmitigated_threat"]),
    ("manual", &[]),
];

const RELATIONSHIPS: [&str; 5] = ["equal", "subset_of", "superset_of", "intersects_with", "intersects_with"];

/// One framework's generated requirement list.
struct RequirementList {
    key: &'static str,
    name: &'static str,
    version: &'static str,
    /// Id, title, group.
    requirements: Vec<(String, String, String)>,
}

/// The generated portal, with what the Hugo site needs that the model holds only as HTML.
struct Generated {
    model: PortalModel,
    /// Each control's description, in Markdown.
    descriptions: Vec<String>,
    lists: Vec<RequirementList>,
}

fn requirement_lists(per_framework: usize, draw: &mut Draw) -> Vec<RequirementList> {
    let frameworks: [(&str, &str, &str); 4] = [
        ("soc2", "SOC 2 (2017 Trust Services Criteria)", "2017-tsc/2022-pof"),
        ("iso27001", "ISO/IEC 27001:2022", "2022+amd1:2024"),
        ("gdpr", "GDPR", "2016/679 (OJ L 119, 4.5.2016; corrigenda applied)"),
        ("hipaa", "HIPAA Security Rule", "2013 omnibus text"),
    ];
    frameworks
        .iter()
        .map(|&(key, name, version)| {
            let requirements = (0..per_framework)
                .map(|i| {
                    let (id, group) = match key {
                        "soc2" => (format!("CC{}.{}", i % 9 + 1, i / 9 + 1), format!("CC{}", i % 9 + 1)),
                        "iso27001" => (format!("A.{}.{}", i % 4 + 5, i / 4 + 1), format!("A.{}", i % 4 + 5)),
                        "gdpr" => (format!("Art. {}({})", i % 95 + 5, i / 95 + 1), format!("Art. {}", i % 95 + 5)),
                        _ => (
                            format!("164.{}({})({})", 308 + 2 * (i % 5), i / 5 % 26 + 1, i / 130 + 1),
                            format!("164.{}", 308 + 2 * (i % 5)),
                        ),
                    };
                    (id, draw.pick(&REQUIREMENT_TITLES).to_string(), group)
                })
                .collect();
            RequirementList { key, name, version, requirements }
        })
        .collect()
}

/// A control's description, in Markdown: two or three paragraphs, sometimes a list.
fn description(subject: &str, draw: &mut Draw) -> String {
    let mut text = format!("{subject} are in scope of this control. ");
    for _ in 0..2 + draw.below(2) {
        text.push_str(draw.pick(&SENTENCES));
        text.push(' ');
    }
    text.push_str("\n\nThe control **fails** when the evidence shows a listed finding. ");
    for _ in 0..=draw.below(3) {
        text.push_str(draw.pick(&SENTENCES));
        text.push(' ');
    }
    if draw.below(3) == 0 {
        text.push_str("\n\nIt relies on:\n\n");
        for _ in 0..2 + draw.below(2) {
            let _ = writeln!(text, "- {}", draw.pick(&SENTENCES));
        }
    }
    text
}

/// What the controls refer to: generated before them.
struct Lake<'a> {
    lists: &'a [RequirementList],
    downloads: &'a [DownloadView],
    objects: &'a [ObjectView],
    runs: &'a [RunView],
}

fn finding(kind: &str, chain: &str, run_id: &str, draw: &mut Draw) -> Finding {
    let seq = draw.below(2_000_000) as u64;
    let kind = FindingKind::parse(kind).unwrap_or(FindingKind::Altered);
    Finding {
        object_key: Some(format!("lake/events/date=2026-11-{:02}/{run_id}-0003.parquet", 1 + draw.below(30))),
        line: Some(1 + draw.below(100_000) as u64),
        run_id: run_id.to_string(),
        ..Finding::event(
            kind,
            chain,
            seq,
            format!("event {seq}: {kind}; the stored hash does not match the recomputed one ({}…)", draw.hex(8)),
        )
    }
}

/// The findings that fail a control, as its page lists them.
fn failing_findings(fails_on: &[String], latest_run: &str, draw: &mut Draw) -> Vec<Finding> {
    (0..=draw.below(5))
        .map(|_| {
            let chain = format!("{}-{:03}", draw.pick(&SERVICES), 1 + draw.below(20));
            finding(&fails_on[draw.below(fails_on.len())], &chain, latest_run, draw)
        })
        .collect()
}

/// One control with its evaluation: mostly passing, a few failing, stale or without evidence;
/// its evidence, the findings failing it and its status in each verify run.
fn control(i: usize, lake: &Lake, draw: &mut Draw) -> (ControlView, String) {
    let subject = draw.pick(&SUBJECTS);
    let title = format!("{subject} {}", draw.pick(&PREDICATES));
    let markdown_text = description(subject, draw);
    let (evidence, kinds) = draw.pick(&EVIDENCE);
    let fails_on: Vec<String> = kinds.iter().take(1 + draw.below(kinds.len())).map(|k| (*k).to_string()).collect();
    let max_age_days = draw.pick(&[1, 7, 7, 30, 90, 365]);
    let latest_run = lake.runs.last().map(|r| r.run_id.as_str()).unwrap_or_default();
    let roll = draw.below(100);
    let (status, reasons) = if evidence == "manual" {
        match roll {
            0..=69 => (
                "passing",
                vec![format!(
                    "document \"{subject} review\" by owner-{}@example.com, dated 2026-10-{:02}",
                    draw.below(40),
                    1 + draw.below(28)
                )],
            ),
            70..=89 => ("manual", vec!["shown by a document with an owner and a date; none is recorded".to_string()]),
            _ => (
                "stale",
                vec![format!(
                    "the newest document is {} days old (limit {max_age_days})",
                    max_age_days + 1 + draw.below(30) as u32
                )],
            ),
        }
    } else {
        match roll {
            0..=81 => (
                "passing",
                vec![match evidence {
                    "events" => format!(
                        "{} events in 200 chains verified, no failing finding",
                        1_000_000 + draw.below(9_000_000)
                    ),
                    "lake" => "every manifest and committed object checked, no failing finding".to_string(),
                    "verification" => format!("verified {} hours ago", 1 + draw.below(20)),
                    _ => format!(
                        "{} {evidence} collected, the newest {} days old, no failing finding",
                        1 + draw.below(40),
                        draw.below(5)
                    ),
                }],
            ),
            82..=87 if !fails_on.is_empty() => (
                "failing",
                fails_on
                    .iter()
                    .take(1 + draw.below(2))
                    .map(|k| format!("{} {k} finding(s)", 1 + draw.below(5)))
                    .collect(),
            ),
            88..=93 => (
                "stale",
                vec![format!(
                    "latest verification is {} days old (limit {max_age_days})",
                    max_age_days + 1 + draw.below(10) as u32
                )],
            ),
            _ => ("no_evidence", vec![format!("no {} evidence has been collected", evidence.replace('_', " "))]),
        }
    };
    let failing = if status == "failing" { failing_findings(&fails_on, latest_run, draw) } else { Vec::new() };
    let mut requirements: Vec<RequirementView> = Vec::new();
    for _ in 0..3 + draw.below(6) {
        let list = &lake.lists[draw.below(lake.lists.len())];
        // The last twentieth of each list is never mapped: those requirements are the gaps.
        let mapped = (list.requirements.len() * 19 / 20).max(1);
        let id = &list.requirements[draw.below(mapped)].0;
        if requirements.iter().any(|r| r.framework == list.key && &r.id == id) {
            continue;
        }
        requirements.push(RequirementView {
            framework: list.key.to_string(),
            id: id.clone(),
            relationship: draw.pick(&RELATIONSHIPS).to_string(),
            rationale: draw.pick(&RATIONALES).to_string(),
            confidence: draw.pick(&["high", "high", "medium", "low"]).to_string(),
        });
    }
    let bundles = lake
        .downloads
        .iter()
        .filter(|d| d.scope == "all" || requirements.iter().any(|r| r.framework == d.scope))
        .cloned()
        .collect();
    let committed_at = |run_id: &str| {
        lake.runs.iter().find(|r| r.run_id == run_id).map(|r| r.committed_at.clone()).unwrap_or_default()
    };
    // The objects of the control's evidence window: a few of its table, newest first.
    let evidence_items = if evidence == "manual" && status == "manual" {
        Vec::new()
    } else {
        let table = match evidence {
            "events" | "verification" | "lake" => "events",
            _ => "blob",
        };
        let candidates: Vec<&ObjectView> = lake.objects.iter().rev().filter(|o| o.table == table).take(60).collect();
        let picked: Vec<&ObjectView> =
            (0..3 + draw.below(6)).filter_map(|_| candidates.get(draw.below(candidates.len())).copied()).collect();
        picked
            .into_iter()
            .map(|o| EvidenceItemView {
                simulated: false,
                label: if evidence == "manual" { format!("{subject} review (2026-10-02)") } else { o.key.clone() },
                key: o.key.clone(),
                kind: if evidence == "manual" { "document".into() } else { o.table.clone() },
                sha256: o.sha256.clone(),
                size: o.size,
                rows: o.rows,
                run_id: o.run_id.clone(),
                committed_at: committed_at(&o.run_id),
                sources: SERVICES[..2 + draw.below(4)].join(", "),
                page: o.file.clone(),
            })
            .collect()
    };
    // One point per verify run, newest first: the same status, with an earlier failure now and then.
    let history = lake
        .runs
        .iter()
        .rev()
        .filter(|r| r.stage == "verify")
        .enumerate()
        .map(|(n, r)| {
            let (status, why) = if n == 0 {
                (status.to_string(), reasons.join("; "))
            } else if draw.below(40) == 0 && !fails_on.is_empty() {
                ("failing".to_string(), format!("1 {} finding(s)", fails_on[0]))
            } else {
                (status.to_string(), reasons.join("; "))
            };
            StatusPoint {
                run_id: r.run_id.clone(),
                evaluated_at: r.committed_at.clone(),
                status,
                reasons: why,
                page: r.file.clone(),
            }
        })
        .collect();
    let view = ControlView {
        simulated: false,
        id: format!("{}-{:05}", PREFIXES[i % PREFIXES.len()], i + 1),
        title,
        description_html: markdown::to_html(&markdown_text),
        description: markdown_text.clone(),
        evidence: evidence.to_string(),
        fails_on,
        max_age_days,
        status: status.to_string(),
        reasons,
        requirements,
        bundles,
        evidence_items,
        failing_total: failing.len(),
        failing,
        history,
    };
    (view, markdown_text)
}

fn severity(status: &str) -> u8 {
    match status {
        "passing" => 0,
        "manual" => 1,
        "no_evidence" => 2,
        "stale" => 3,
        _ => 4,
    }
}

/// Readiness per framework, rolled up from the controls as `cairn render` does: a requirement is
/// as covered as its weakest full (`equal`, `superset_of`) mapping, or with only partial mappings
/// the weakest of those; the crosswalk goes through the same controls.
fn frameworks(controls: &[ControlView], lists: &[RequirementList]) -> Vec<FrameworkView> {
    let mut links: BTreeMap<(&str, &str), Vec<(&ControlView, &str)>> = BTreeMap::new();
    for c in controls {
        for r in &c.requirements {
            links.entry((r.framework.as_str(), r.id.as_str())).or_default().push((c, r.relationship.as_str()));
        }
    }
    lists
        .iter()
        .map(|list| {
            let requirements: Vec<RequirementRow> = list
                .requirements
                .iter()
                .map(|(id, title, group)| {
                    let mapped = links.get(&(list.key, id.as_str())).map_or(&[][..], Vec::as_slice);
                    let full: Vec<_> =
                        mapped.iter().filter(|(_, rel)| matches!(*rel, "equal" | "superset_of")).collect();
                    let (coverage, deciding) = if !full.is_empty() {
                        ("full", full)
                    } else if !mapped.is_empty() {
                        ("partial", mapped.iter().collect())
                    } else {
                        ("none", Vec::new())
                    };
                    let status =
                        deciding.iter().map(|(c, _)| c.status.as_str()).max_by_key(|s| severity(s)).unwrap_or("");
                    let mut crosswalk: Vec<String> = mapped
                        .iter()
                        .flat_map(|(c, _)| c.requirements.iter())
                        .filter(|r| r.framework != list.key)
                        .map(|r| format!("{} {}", r.framework, r.id))
                        .collect();
                    crosswalk.sort();
                    crosswalk.dedup();
                    RequirementRow {
                        id: id.clone(),
                        title: title.clone(),
                        group: group.clone(),
                        coverage: coverage.to_string(),
                        status: status.to_string(),
                        controls: mapped.iter().map(|(c, _)| c.id.clone()).collect(),
                        crosswalk,
                        anchor: anchor(id),
                    }
                })
                .collect();
            let count = |pred: &dyn Fn(&RequirementRow) -> bool| requirements.iter().filter(|r| pred(r)).count();
            let covered = count(&|r| r.coverage != "none");
            let passing = count(&|r| r.status == "passing");
            let failing = count(&|r| r.status == "failing");
            FrameworkView {
                key: list.key.to_string(),
                name: list.name.to_string(),
                version: list.version.to_string(),
                total: requirements.len(),
                covered,
                gaps: requirements.len() - covered,
                passing,
                failing,
                other: covered - passing - failing,
                file: format!("frameworks/{}.html", list.key),
                requirements,
            }
        })
        .collect()
}

/// Runs in the generated lake: two a day for 30 days, collect then verify.
const RUNS: usize = 60;

/// How many pages of each kind make about `pages` in all: mostly controls.
struct Sizes {
    controls: usize,
    objects: usize,
    chains: usize,
}

impl Sizes {
    fn for_pages(pages: usize) -> Self {
        let chains = (pages / 50).max(1);
        let objects = pages * 3 / 20;
        let controls = pages.saturating_sub(FIXED_PAGES + 4 + chains + objects + RUNS).max(1);
        Self { controls, objects, chains }
    }
}

fn minisign_signature(draw: &mut Draw, run_id: &str) -> String {
    format!(
        "untrusted comment: signature from cairn secret key\n{}\ntrusted comment: timestamp:{} file:{run_id}.json hashed\n{}\n",
        draw.b64(74),
        1_795_000_000 + draw.below(3_000_000),
        draw.b64(64)
    )
}

/// A deterministic portal of about `pages` pages.
fn generate(pages: usize) -> Generated {
    let sizes = Sizes::for_pages(pages);
    let mut draw = Draw(ChaCha20Rng::seed_from_u64(2026));
    let lists = requirement_lists((sizes.controls * 11 / 64).max(24), &mut draw);
    let mut seed = [0u8; 32];
    draw.0.fill_bytes(&mut seed);
    let public = PublicKey::of(&SigningKey::from_bytes(&seed));
    let key_id = public.key_id_hex();

    let mut runs: Vec<RunView> = Vec::new();
    for r in 0..RUNS {
        let collect = r % 2 == 0;
        let hour = if collect { 2 } else { 14 };
        let id = format!("202611{:02}T{hour:02}0000Z-{}", r / 2 + 1, draw.hex(4));
        let cursors = if collect {
            SERVICES
                .iter()
                .map(|s| CursorView {
                    source: format!("{s}-audit"),
                    object: format!("exports/{s}/2026-11-{:02}.jsonl", r / 2 + 1),
                    offset: 1_000_000 + draw.below(400_000_000) as u64,
                    lines: 1_000 + draw.below(900_000) as u64,
                    prefix_sha256: draw.hex(32),
                })
                .collect()
        } else {
            Vec::new()
        };
        let stats = if collect {
            vec![
                ("records".to_string(), draw.below(9_000_000) as u64),
                ("quarantined".to_string(), draw.below(3) as u64),
                ("sources".to_string(), SERVICES.len() as u64),
            ]
        } else {
            vec![("events_verified".to_string(), draw.below(90_000_000) as u64), ("findings".to_string(), 0)]
        };
        runs.push(RunView {
            file: format!("runs/{id}.html"),
            previous_file: runs.last().map(|p| p.file.clone()),
            previous: runs.last().map(|p| p.run_id.clone()),
            stage: if collect { "collect" } else { "verify" }.to_string(),
            committed_at: format!("2026-11-{:02}T{hour:02}:00:{:02}Z", r / 2 + 1, draw.below(60)),
            sha256: draw.hex(32),
            merkle_root: draw.hex(32),
            signing_key_id: key_id.clone(),
            signature: minisign_signature(&mut draw, &id),
            checkpoint: format!("cairn.example/lake\n{r}\n{}\n\n— cairn {}\n", draw.b64(32), draw.b64(68)),
            cursors,
            stats,
            run_id: id,
            ..RunView::default()
        });
    }
    let latest_run = runs.last().map(|r| r.run_id.clone()).unwrap_or_default();
    // Collect runs commit the objects, in turn.
    let run_of = |i: usize| runs[(i * 2) % RUNS].run_id.clone();

    let mut chains: Vec<ChainView> = Vec::new();
    for i in 0..sizes.chains {
        let id = format!("{}-{:03}", SERVICES[i % SERVICES.len()], i / SERVICES.len() + 1);
        let events = 20_000 + draw.below(2_000_000) as u64;
        let findings = if draw.below(10) == 0 {
            (0..=draw.below(4))
                .map(|_| {
                    let kind = draw.pick(&["altered", "gap", "duplicate", "bad_signature", "reorder"]);
                    finding(kind, &id, &latest_run, &mut draw)
                })
                .collect()
        } else {
            Vec::new()
        };
        chains.push(ChainView {
            simulated: false,
            file: chain_file_name(&id),
            id,
            events,
            head_seq: events,
            head_hash: draw.hex(32),
            head_ts: format!("2026-11-30T{:02}:{:02}:{:02}Z", draw.below(14), draw.below(60), draw.below(60)),
            findings,
        });
    }

    let depth = usize::BITS - sizes.objects.max(2).next_power_of_two().leading_zeros() - 1;
    let objects: Vec<ObjectView> = (0..sizes.objects)
        .map(|i| {
            let run = run_of(i);
            let (key, table, rows, size) = match i % 10 {
                0..=6 => (
                    format!("lake/events/date=2026-11-{:02}/{run}-{:04}.parquet", i % 30 + 1, i % 100),
                    "events",
                    50_000 + draw.below(50_000) as u64,
                    4_000_000 + draw.below(4_000_000) as u64,
                ),
                7 | 8 => (format!("lake/blobs/sha256/{}", draw.hex(32)), "blob", 0, 1_000 + draw.below(900_000) as u64),
                _ => (
                    format!("lake/findings/{run}.parquet"),
                    "findings",
                    draw.below(20) as u64,
                    2_000 + draw.below(9_000) as u64,
                ),
            };
            ObjectView {
                simulated: false,
                index: i as u64,
                file: format!("objects/{i}.html"),
                key,
                table: table.to_string(),
                sha256: draw.hex(32),
                size,
                rows,
                run_id: run,
                proof: (0..depth).map(|_| draw.hex(32)).collect(),
            }
        })
        .collect();
    let mut merkle_size = 0u64;
    for run in &mut runs {
        run.object_links = objects
            .iter()
            .filter(|o| o.run_id == run.run_id)
            .map(|o| ObjectLink { key: o.key.clone(), table: o.table.clone(), page: o.file.clone() })
            .collect();
        run.objects = run.object_links.len();
        merkle_size += run.objects as u64;
        run.merkle_size = merkle_size;
    }

    let downloads: Vec<DownloadView> = ["all", "soc2", "iso27001", "gdpr", "hipaa"]
        .iter()
        .map(|scope| DownloadView {
            name: format!("cairn-evidence-{scope}-{latest_run}.zip"),
            size: 10_000_000 + draw.below(90_000_000) as u64,
            sha256: draw.hex(32),
            scope: (*scope).to_string(),
        })
        .collect();

    let lake = Lake { lists: &lists, downloads: &downloads, objects: &objects, runs: &runs };
    let mut controls = Vec::with_capacity(sizes.controls);
    let mut descriptions = Vec::with_capacity(sizes.controls);
    for i in 0..sizes.controls {
        let (view, text) = control(i, &lake, &mut draw);
        controls.push(view);
        descriptions.push(text);
    }

    let mut keys = vec![KeyView {
        kid: key_id.clone(),
        role: "cairn".into(),
        public_key: public.minisign_line(),
        current: true,
        runs_signed: runs.len(),
        first_run: runs.first().map(|r| r.run_id.clone()).unwrap_or_default(),
        last_run: latest_run.clone(),
        ..KeyView::default()
    }];
    keys.extend(SERVICES.iter().map(|s| {
        KeyView {
            kid: format!("{s}-2026"),
            role: "service".into(),
            public_key: draw.b64(32),
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2027-01-01T00:00:00Z".into(),
            chain_patterns: vec![format!("{s}-*")],
            chains: chains
                .iter()
                .filter(|c| c.id.starts_with(s))
                .map(|c| ChainLink { id: c.id.clone(), file: c.file.clone() })
                .collect(),
            ..KeyView::default()
        }
    }));

    let findings = chains.iter().flat_map(|c| &c.findings);
    let count = |kinds: &[&str]| findings.clone().filter(|f| kinds.contains(&f.kind.as_str())).count() as u64;
    let summary = SummaryView {
        events_verified: chains.iter().map(|c| c.events).sum(),
        chains: chains.len() as u64,
        breaks: count(&["altered", "gap", "reorder"]),
        signature_failures: count(&["bad_signature"]),
        duplicates: count(&["duplicate"]),
        findings_total: findings.clone().count() as u64,
        quarantined: 17,
        last_verified_at: runs.last().map(|r| r.committed_at.clone()),
        open: count(&["altered", "gap", "reorder", "bad_signature"]),
        acknowledged: 0,
    };
    let model = PortalModel {
        latest_run,
        summary,
        frameworks: frameworks(&controls, &lists),
        controls,
        chains,
        checkpoint: runs.last().map(|r| r.checkpoint.clone()).unwrap_or_default(),
        runs,
        objects,
        downloads,
        public_key: public.to_minisign_file(),
        key_id,
        keys,
        ..PortalModel::default()
    };
    Generated { model, descriptions, lists }
}

const HUGO_CONFIG: &str = r#"baseURL = "https://portal.example/"
title = "Cairn evidence portal"
disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]
disablePathToLower = true
uglyURLs = true
relativeURLs = true
enableRobotsTXT = false

[[menu.main]]
name = "Dashboard"
url = "/index.html"
weight = 1
[[menu.main]]
name = "Supply chain"
url = "/supply.html"
weight = 2
[[menu.main]]
name = "Runs"
url = "/runs.html"
weight = 3
[[menu.main]]
name = "Lake objects"
url = "/objects.html"
weight = 4
[[menu.main]]
name = "Downloads"
url = "/downloads.html"
weight = 5
[[menu.main]]
name = "How to verify"
url = "/verify.html"
weight = 6
"#;

const HUGO_BASEOF: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{ .Title }} · {{ .Site.Title }}</title>
<link rel="stylesheet" href="{{ "style.css" | relURL }}">
</head>
<body>
{{ partial "header.html" . }}
<main>
{{ block "main" . }}{{ end }}
</main>
{{ partial "footer.html" . }}
</body>
</html>
"#;

const HUGO_HEADER: &str = r#"<header>
<span class="brand">{{ .Site.Title }}</span>
<nav>{{ range .Site.Menus.main }}<a href="{{ .URL | relURL }}">{{ .Name }}</a>{{ end }}</nav>
</header>
"#;

const HUGO_FOOTER: &str = r#"<footer>Read-only. Generated from the evidence lake as of run <span class="mono">{{ .Site.Params.latest_run }}</span>. Every figure on this site can be re-checked offline: see <a href="{{ "verify.html" | relURL }}">How to verify</a>.</footer>
"#;

const HUGO_SINGLE: &str = r#"{{ define "main" }}
<h1>{{ .Title }}</h1>
{{ with .Params.status }}<p><span class="status status-{{ . }}">{{ . }}</span> {{ delimit $.Params.reasons "; " }}</p>{{ end }}
{{ .Content }}
{{ end }}
"#;

const HUGO_LIST: &str = r#"{{ define "main" }}
<h1>{{ .Title }}</h1>
{{ .Content }}
{{ if .IsHome }}
<h2>Controls</h2>
<table>
<tr><th>Control</th><th>Status</th><th>Why</th><th>Maps to</th></tr>
{{ range where .Site.RegularPages "Section" "controls" }}
<tr><td><a href="{{ .RelPermalink }}">{{ .Params.control }}</a> {{ .Params.name }}</td><td><span class="status status-{{ .Params.status }}">{{ .Params.status }}</span></td><td>{{ delimit .Params.reasons "; " }}</td>
<td>{{ range $i, $m := .Params.maps_to }}{{ if $i }}, {{ end }}<span class="mono">{{ $m }}</span>{{ end }}</td></tr>
{{ end }}
</table>
<h2>Chains</h2>
<table>
<tr><th>Chain</th><th>Events</th><th>Head seq</th><th>Head time</th><th>Findings</th></tr>
{{ range where .Site.RegularPages "Section" "chains" }}
<tr><td><a href="{{ .RelPermalink }}">{{ .Params.chain }}</a></td><td>{{ .Params.events }}</td><td>{{ .Params.head_seq }}</td><td class="mono">{{ .Params.head_ts }}</td><td>{{ .Params.findings }}</td></tr>
{{ end }}
</table>
{{ else }}
<table>
<tr><th>Leaf</th><th>Object</th><th>Table</th><th>Rows</th><th>Size</th><th>SHA-256</th><th>Run</th></tr>
{{ range .Pages }}
<tr><td><a href="{{ .RelPermalink }}">{{ .Params.leaf }}</a></td><td class="mono">{{ .Params.key }}</td><td>{{ .Params.table }}</td><td>{{ .Params.rows }}</td><td>{{ .Params.size }}</td><td class="mono">{{ .Params.sha256 }}</td><td class="mono">{{ .Params.run }}</td></tr>
{{ end }}
</table>
{{ end }}
{{ end }}
"#;

/// Writes a Markdown page with TOML front matter.
fn content_page(site: &Path, rel: &str, front: &serde_json::Value, body: &str) -> Result<()> {
    let path = site.join("content").join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let front = toml::to_string(front).context("front matter")?;
    std::fs::write(&path, format!("+++\n{front}+++\n\n{body}")).with_context(|| format!("writing {}", path.display()))
}

/// A Hugo site with one Markdown page per portal page: the same text as Markdown tables,
/// paragraphs and lists, laid out by a theme-less baseof/single/list with a header and footer
/// partial. The dashboard and the lake-objects page are list pages, as they list every control
/// and every object; the other sections are not rendered as lists (the portal has no such pages).
fn write_hugo_site(site: &Path, g: &Generated, cairn_out: &Path, cairn_pages: &[&str]) -> Result<()> {
    let m = &g.model;
    for (rel, text) in [
        ("hugo.toml", format!("{HUGO_CONFIG}\n[params]\nlatest_run = \"{}\"\n", m.latest_run)),
        ("layouts/_default/baseof.html", HUGO_BASEOF.to_string()),
        ("layouts/_default/single.html", HUGO_SINGLE.to_string()),
        ("layouts/_default/list.html", HUGO_LIST.to_string()),
        ("layouts/partials/header.html", HUGO_HEADER.to_string()),
        ("layouts/partials/footer.html", HUGO_FOOTER.to_string()),
        ("static/style.css", include_str!("../../site/style.css").to_string()),
    ] {
        let path = site.join(rel);
        std::fs::create_dir_all(path.parent().expect("relative path with a folder or the site root"))?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let s = &m.summary;
    content_page(
        site,
        "_index.md",
        &serde_json::json!({ "title": "Dashboard" }),
        &format!(
            "| Events verified | Chains | Chain breaks | Signature failures | Duplicate deliveries | Records kept aside |\n| --- | --- | --- | --- | --- | --- |\n| {} | {} | {} | {} | {} | {} |\n\nLatest verification: `{}`. {} finding(s).\n\n## Readiness by framework\n\n| Framework | Requirements | Covered by a control | Passing | Failing | Stale or no evidence | Gaps (no control) |\n| --- | --- | --- | --- | --- | --- | --- |\n{}",
            s.events_verified,
            s.chains,
            s.breaks,
            s.signature_failures,
            s.duplicates,
            s.quarantined,
            s.last_verified_at.as_deref().unwrap_or("never"),
            s.findings_total,
            m.frameworks.iter().fold(String::new(), |mut rows, f| {
                let _ = writeln!(
                    rows,
                    "| [{}]({}) ({}) | {} | {} | {} | {} | {} | {} |",
                    f.name, f.file, f.version, f.total, f.covered, f.passing, f.failing, f.other, f.gaps
                );
                rows
            })
        ),
    )?;
    for section in ["controls", "chains", "frameworks"] {
        content_page(
            site,
            &format!("{section}/_index.md"),
            &serde_json::json!({ "title": section, "_build": { "render": "never" } }),
            "",
        )?;
    }
    content_page(
        site,
        "objects/_index.md",
        &serde_json::json!({ "title": "Lake objects", "url": "/objects.html" }),
        &format!("Every object the lake has committed, in the order of its Merkle log. Each page shows the object's inclusion proof against the latest signed checkpoint:\n\n```\n{}```\n", m.checkpoint),
    )?;
    let mut runs = String::from("Each run commits with a manifest that Cairn signs and links to the previous manifest by its SHA-256, forming a chain. The Merkle root covers every object committed so far.\n\n| Run | Stage | Committed | Objects | Manifest sha256 | Previous | Merkle size / root |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    for r in &m.runs {
        let _ = writeln!(
            runs,
            "| `{}` | {} | `{}` | {} | `{}` | `{}` | `{} / {}` |",
            r.run_id,
            r.stage,
            r.committed_at,
            r.objects,
            r.sha256,
            r.previous.as_deref().unwrap_or("none"),
            r.merkle_size,
            r.merkle_root
        );
    }
    content_page(site, "runs.md", &serde_json::json!({ "title": "Runs" }), &runs)?;
    content_page(
        site,
        "verify.md",
        &serde_json::json!({ "title": "How to verify" }),
        &format!("Cairn signs run manifests and evidence bundles with one Ed25519 key, published as a minisign public key (key id `{}`):\n\n```\n{}```\n\nSave it as `cairn.pub`, obtained from a channel you trust (not from the bundle you are checking). Then, for an evidence bundle:\n\n```\nunzip BUNDLE.zip -d bundle && cd bundle\nminisign -Vm manifest.json -p cairn.pub\nsha256sum -c --strict SHA256SUMS\n```\n\nThe first command proves the manifest was signed by Cairn's key; the manifest lists every file with its SHA-256. The second proves every file in the bundle is exactly the one listed. No Cairn installation and no network are needed.\n", m.key_id, m.public_key),
    )?;
    let mut downloads = format!("Signed evidence bundles (key id `{}`). Each checks offline with `minisign`, `sha256sum` and its own `verify.py`: see [How to verify](verify.html).\n\n| Bundle | Scope | Size | SHA-256 |\n| --- | --- | --- | --- |\n", m.key_id);
    for d in &m.downloads {
        let _ = writeln!(downloads, "| [{0}](downloads/{0}) | {1} | {2} | `{3}` |", d.name, d.scope, d.size, d.sha256);
    }
    content_page(site, "downloads.md", &serde_json::json!({ "title": "Downloads" }), &downloads)?;
    content_page(
        site,
        "supply.md",
        &serde_json::json!({ "title": "Supply chain and design" }),
        "What was shipped, how it was built, what is inside it, and which threats were considered. Every artefact's exact bytes are kept in the lake as a content-addressed blob.\n\n## Releases\n\nNo release folder is collected.\n\n## Attestations\n\nNone collected.\n\n## SBOMs\n\nNone collected.\n\n## Threat models\n\nNone collected.\n\n## Documents\n\nNone recorded.\n",
    )?;
    for f in &m.frameworks {
        let mut body = format!("Requirement list version {}. Identifiers are the framework's; titles are Cairn's words.\n\n{} requirements: {} covered by a control ({} passing, {} failing, {} stale, manual or without evidence), {} gaps.\n\n| Requirement | Title | Coverage | Status | Controls | Same controls also cover |\n| --- | --- | --- | --- | --- | --- |\n", f.version, f.total, f.covered, f.passing, f.failing, f.other, f.gaps);
        for r in &f.requirements {
            let controls: Vec<String> = r.controls.iter().map(|c| format!("[{c}](../controls/{c}.html)")).collect();
            let _ = writeln!(
                body,
                "| `{}` | {} | {} | {} | {} | {} |",
                r.id,
                r.title,
                r.coverage,
                r.status,
                controls.join(", "),
                r.crosswalk.join(", ")
            );
        }
        content_page(site, &format!("frameworks/{}.md", f.key), &serde_json::json!({ "title": f.name }), &body)?;
    }
    for o in &m.objects {
        let mut body = format!("| Field | Value |\n| --- | --- |\n| Key | `{}` |\n| Table | {} |\n| Rows | {} |\n| Size | {} bytes |\n| SHA-256 | `{}` |\n| Committed by run | `{}` |\n\n## Inclusion proof\n\nLeaf {}: SHA-256(0x00 ‖ the RFC 8785 JSON of this object's key, sha256, size and table). Audit path, leaf sibling first (RFC 6962):\n\n", o.key, o.table, o.rows, o.size, o.sha256, o.run_id, o.index);
        for (i, h) in o.proof.iter().enumerate() {
            let _ = writeln!(body, "{}. `{h}`", i + 1);
        }
        let _ = write!(body, "\nIt leads to the root of this signed checkpoint:\n\n```\n{}```\n\nCheck it offline: `cairn proof inclusion {} > proof.json`, then `cairn verify-proof proof.json --pubkey cairn.pub`; evidence bundles carry the same proof for every object and a `verify.py` that checks it with Python alone.\n", m.checkpoint, o.key);
        let front = serde_json::json!({
            "title": format!("Lake object {}", o.index), "leaf": o.index, "key": o.key, "table": o.table,
            "rows": o.rows, "size": o.size, "sha256": o.sha256, "run": o.run_id, "weight": o.index + 1,
        });
        content_page(site, &format!("objects/{}.md", o.index), &front, &body)?;
    }
    for c in &m.chains {
        let mut body = format!("| Field | Value |\n| --- | --- |\n| Events verified | {} |\n| Head seq | {} |\n| Head hash | `{}` |\n| Head time | `{}` |\n\n## Findings\n\n", c.events, c.head_seq, c.head_hash, c.head_ts);
        if c.findings.is_empty() {
            body.push_str("None.\n");
        } else {
            body.push_str("| Kind | Seq | Lake object | Source line | Detail | Found by run |\n| --- | --- | --- | --- | --- | --- |\n");
            for f in &c.findings {
                let _ = writeln!(
                    body,
                    "| {} | {} | `{}` | {} | {} | `{}` |",
                    f.kind,
                    f.seq.unwrap_or_default(),
                    f.object_key.as_deref().unwrap_or_default(),
                    f.line.unwrap_or_default(),
                    f.detail,
                    f.run_id
                );
            }
        }
        let front = serde_json::json!({
            "title": format!("Chain {}", c.id), "chain": c.id, "events": c.events, "head_seq": c.head_seq,
            "head_ts": c.head_ts, "findings": c.findings.len(),
        });
        content_page(site, &format!("chains/{}.md", c.id), &front, &body)?;
    }
    for (c, description) in m.controls.iter().zip(&g.descriptions) {
        let mut body = format!("{description}\n\n## Evidence rule\n\n| Field | Value |\n| --- | --- |\n| Evidence | {} |\n| Fails on findings | {} |\n| Freshness limit | {} days |\n\n## Mapped requirements\n\n| Framework | Requirement | Relationship | Rationale | Confidence |\n| --- | --- | --- | --- | --- |\n",
            c.evidence,
            if c.fails_on.is_empty() { "none".to_string() } else { c.fails_on.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ") },
            c.max_age_days);
        for r in &c.requirements {
            let _ = writeln!(
                body,
                "| [{0}](../frameworks/{0}.html) | `{1}` | {2} | {3} | {4} |",
                r.framework, r.id, r.relationship, r.rationale, r.confidence
            );
        }
        body.push_str("\n## Evidence used\n\n");
        if c.evidence_items.is_empty() {
            body.push_str("No evidence of this kind is in the lake yet.\n");
        } else {
            body.push_str("| Evidence | Kind | SHA-256 | Size / rows | Committed by run | Collected | Sources |\n| --- | --- | --- | --- | --- | --- | --- |\n");
            for e in &c.evidence_items {
                let _ = writeln!(
                    body,
                    "| [`{}`](../{}) | {} | `{}` | {} bytes, {} rows | `{}` | `{}` | {} |",
                    e.label, e.page, e.kind, e.sha256, e.size, e.rows, e.run_id, e.committed_at, e.sources
                );
            }
        }
        body.push_str("\n## Failing findings\n\n");
        if c.failing.is_empty() {
            body.push_str("None.\n");
        } else {
            let _ = writeln!(body, "{} finding(s) fail this control.\n", c.failing_total);
            body.push_str("| Kind | Chain | Seq | Object | Line | Detail | Found by run |\n| --- | --- | --- | --- | --- | --- | --- |\n");
            for f in &c.failing {
                let _ = writeln!(
                    body,
                    "| {} | `{}` | {} | `{}` | {} | {} | `{}` |",
                    f.kind,
                    f.chain.as_deref().unwrap_or_default(),
                    f.seq.unwrap_or_default(),
                    f.object_key.as_deref().unwrap_or_default(),
                    f.line.unwrap_or_default(),
                    f.detail,
                    f.run_id
                );
            }
        }
        body.push_str("\n## Status history\n\n| Verify run | Evaluated | Status | Why |\n| --- | --- | --- | --- |\n");
        for h in &c.history {
            let _ = writeln!(
                body,
                "| [`{}`](../{}) | `{}` | {} | {} |",
                h.run_id, h.page, h.evaluated_at, h.status, h.reasons
            );
        }
        body.push_str("\n## Evidence bundles\n\n");
        for b in &c.bundles {
            let _ = writeln!(body, "- [{0}](../downloads/{0}) ({1} bytes, sha256 `{2}`)", b.name, b.size, b.sha256);
        }
        let front = serde_json::json!({
            "title": format!("{} {}", c.id, c.title), "control": c.id, "name": c.title, "status": c.status,
            "reasons": c.reasons,
            "maps_to": c.requirements.iter().map(|r| format!("{} {}", r.framework, r.id)).collect::<Vec<_>>(),
        });
        content_page(site, &format!("controls/{}.md", c.id), &front, &body)?;
    }
    if cairn_pages.iter().any(|p| p.starts_with("runs/")) {
        for r in &m.runs {
            let mut body = format!(
                "| Field | Value |\n| --- | --- |\n| Stage | {} |\n| Committed | `{}` |\n| Manifest | `runs/{}.json`, sha256 `{}` |\n| Signed by | [`{}`](../keys.html) |\n| Previous run | `{}` |\n| Merkle log after it | `{} objects, root {}` |\n\n## Signature\n\n```\n{}```\n\n## Signed checkpoint\n\n```\n{}```\n\n## Objects committed\n\n",
                r.stage,
                r.committed_at,
                r.run_id,
                r.sha256,
                r.signing_key_id,
                r.previous.as_deref().unwrap_or("none"),
                r.merkle_size,
                r.merkle_root,
                r.signature,
                r.checkpoint
            );
            body.push_str("| Object | Table |\n| --- | --- |\n");
            for o in &r.object_links {
                let _ = writeln!(body, "| [`{}`](../{}) | {} |", o.key, o.page, o.table);
            }
            body.push_str("\n## Source cursors\n\n| Source | Object | Offset | Lines | SHA-256 of the bytes read |\n| --- | --- | --- | --- | --- |\n");
            for c in &r.cursors {
                let _ = writeln!(
                    body,
                    "| {} | `{}` | {} | {} | `{}` |",
                    c.source, c.object, c.offset, c.lines, c.prefix_sha256
                );
            }
            body.push_str("\n## Counters\n\n| Counter | Value |\n| --- | --- |\n");
            for (name, value) in &r.stats {
                let _ = writeln!(body, "| {name} | {value} |");
            }
            let front = serde_json::json!({ "title": format!("Run {}", r.run_id), "url": format!("/{}", r.file) });
            content_page(site, &format!("runs/{}.md", r.run_id), &front, &body)?;
        }
    }
    if cairn_pages.contains(&"keys.html") {
        let mut body = String::from("Every key the evidence on this site depends on.\n\n| Key id | Role | Valid | May sign chains | Chains in the lake | Public key |\n| --- | --- | --- | --- | --- | --- |\n");
        for k in &m.keys {
            let chains: Vec<String> = k.chains.iter().map(|c| format!("[{}](chains/{})", c.id, c.file)).collect();
            let _ = writeln!(
                body,
                "| `{}` | {} | `{} to {}` | `{}` | {} | `{}` |",
                k.kid,
                k.role,
                k.not_before,
                k.not_after,
                k.chain_patterns.join(", "),
                chains.join(", "),
                k.public_key
            );
        }
        content_page(site, "keys.md", &serde_json::json!({ "title": "Keys" }), &body)?;
    }
    // Pages of the portal this site does not mirror yet: the same text, as paragraphs.
    let mirrored = |p: &str| {
        ["index.html", "runs.html", "verify.html", "objects.html", "downloads.html", "supply.html", "keys.html"]
            .contains(&p)
            || ["controls/", "objects/", "chains/", "frameworks/", "runs/"].iter().any(|dir| p.starts_with(dir))
    };
    for page in cairn_pages.iter().filter(|p| !mirrored(p)) {
        let html = std::fs::read_to_string(cairn_out.join(page))?;
        let front = serde_json::json!({ "title": page, "url": format!("/{page}") });
        content_page(site, &page.replace(".html", ".md"), &front, &text_of(&html))?;
    }
    debug_assert_eq!(g.lists.len(), m.frameworks.len());
    Ok(())
}

/// The text of an HTML page, one paragraph per line of it.
fn text_of(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            '\n' if !in_tag => text.push_str("\n\n"),
            _ if !in_tag => text.push(ch),
            _ => {}
        }
    }
    text
}

fn is_html(path: &str) -> bool {
    Path::new(path).extension().is_some_and(|e| e == "html")
}

/// `.html` files under `dir` and their total size in bytes.
fn html_files(dir: &Path) -> Result<(usize, u64)> {
    let mut found = (0, 0);
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if is_html(&entry.file_name().to_string_lossy()) {
                found.0 += 1;
                found.1 += entry.metadata()?.len();
            }
        }
    }
    Ok(found)
}

/// One `portal::build` into `out`, timed.
fn cairn_build(model: &PortalModel, out: &Path) -> Result<(f64, BuildReport)> {
    let t = Instant::now();
    let report = portal::build(model, out).with_context(|| format!("rendering the portal into {}", out.display()))?;
    Ok((t.elapsed().as_secs_f64(), report))
}

/// One whole `hugo` process building `site` into an empty `out`, timed by the wall clock.
fn hugo_build(site: &Path, out: &Path) -> Result<f64> {
    remove_if_present(out)?;
    let t = Instant::now();
    let status = Command::new("hugo")
        .arg("--quiet")
        .arg("--source")
        .arg(site)
        .arg("--destination")
        .arg(out)
        .arg("--cacheDir")
        .arg(site.join(".cache"))
        .stdout(Stdio::null())
        .status()
        .context("cannot start hugo")?;
    let seconds = t.elapsed().as_secs_f64();
    if !status.success() {
        bail!("hugo exited with {status} building {}", site.display());
    }
    Ok(seconds)
}

/// Runs the benchmark and prints its figures. The exit code is 0 whether or not the target is
/// met: this is a measurement.
pub fn portal(pages: usize, runs: usize, dir: Option<&Path>, json: Option<&Path>) -> Result<u8> {
    if pages < 20 || runs == 0 {
        bail!("--pages must be at least 20 and --runs at least 1");
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; benchmark figures mean little (cargo build --release)");
    }
    let hugo_version = match Command::new("hugo").arg("version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        Ok(out) => {
            bail!("`hugo version` exited with {}; the comparison needs Hugo (apt-get install -y hugo)", out.status)
        }
        Err(e) => bail!("cannot run hugo ({e}); the comparison needs Hugo: apt-get install -y hugo"),
    };
    // Hugo's published figure is for tmpfs; write there when the machine has one.
    let (dir, temporary): (PathBuf, bool) = if let Some(d) = dir {
        (d.to_path_buf(), false)
    } else {
        let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
        (base.join(format!("cairn-bench-portal-{}", std::process::id())), true)
    };
    if std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some()) {
        bail!("{} is not empty; choose an empty folder", dir.display());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);

    let t = Instant::now();
    let mut generated = generate(pages);
    let model_s = t.elapsed().as_secs_f64();
    let m = &generated.model;
    println!(
        "cairn bench portal: {} controls, {} lake objects, {} chains, {} frameworks and the fixed pages; {threads} cores, folder {}",
        m.controls.len(),
        m.objects.len(),
        m.chains.len(),
        m.frameworks.len(),
        dir.display()
    );
    println!("{hugo_version}");
    println!("model generated in {model_s:.2} s (control descriptions rendered from Markdown here, not timed below)");

    // Cairn's builds (portal::build into an empty folder, in this process) alternate with Hugo's
    // (the whole process), so that whatever else the machine does weighs on both alike. The Hugo
    // site mirrors the pages of Cairn's first build.
    let cairn_out = dir.join("cairn");
    let site = dir.join("hugo-site");
    let hugo_out = dir.join("hugo-out");
    let (seconds, report) = cairn_build(&generated.model, &cairn_out)?;
    let mut cairn_times = vec![seconds];
    let cairn_html: Vec<&str> = report.written.iter().map(String::as_str).filter(|p| is_html(p)).collect();
    let cairn_pages = cairn_html.len();
    let (_, cairn_bytes) = html_files(&cairn_out)?;
    write_hugo_site(&site, &generated, &cairn_out, &cairn_html)?;
    let mut hugo_times = Vec::new();
    for run in 0..runs {
        hugo_times.push(hugo_build(&site, &hugo_out)?);
        if run + 1 < runs {
            remove_if_present(&cairn_out)?;
            cairn_times.push(cairn_build(&generated.model, &cairn_out)?.0);
        }
    }
    let mut render_times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let rendered = portal::render(&generated.model).context("rendering the portal in memory")?;
        render_times.push(t.elapsed().as_secs_f64());
        drop(rendered);
    }
    let (hugo_pages, hugo_bytes) = html_files(&hugo_out)?;

    let cairn_s = median(&mut cairn_times.clone());
    let hugo_s = median(&mut hugo_times.clone());
    let cairn_rate = cairn_pages as f64 / cairn_s;
    let hugo_rate = hugo_pages as f64 / hugo_s;
    let kib = |bytes: u64, pages: usize| bytes as f64 / 1024.0 / pages.max(1) as f64;
    let which = if runs == 1 { "one build".to_string() } else { format!("median of {runs} builds") };
    println!(
        "cairn portal::build (templates + write, empty folder): {cairn_pages} HTML pages ({} files), {cairn_s:.2} s ({which}: {}), {cairn_rate:.0} pages/s, {:.1} KiB/page",
        report.pages,
        list_times(&cairn_times),
        kib(cairn_bytes, cairn_pages)
    );
    println!(
        "hugo (whole process: read Markdown, render, write): {hugo_pages} HTML pages, {hugo_s:.2} s ({which}: {}), {hugo_rate:.0} pages/s, {:.1} KiB/page",
        list_times(&hugo_times),
        kib(hugo_bytes, hugo_pages)
    );
    let ratio = cairn_rate / hugo_rate;
    println!(
        "ratio (cairn / hugo pages per second): {ratio:.2} (target ≥ {TARGET_RATIO:.1}: {})",
        if ratio >= TARGET_RATIO { "met" } else { "not met" }
    );
    // A `cairn render` process builds once, on a fresh heap: its figure is the first build's.
    let first_s = cairn_times[0];
    let first_ratio = cairn_pages as f64 / first_s / hugo_rate;
    println!(
        "cairn's first build in this process (nothing rendered before it, as in `cairn render`): {first_s:.2} s, {:.0} pages/s, ratio to hugo {first_ratio:.2} (target ≥ {FIRST_BUILD_TARGET_RATIO:.1}: {})",
        cairn_pages as f64 / first_s,
        if first_ratio >= FIRST_BUILD_TARGET_RATIO { "met" } else { "not met" }
    );
    let render_s = median(&mut render_times);
    println!(
        "of cairn's time: portal::render alone (every page in memory, no files) {render_s:.2} s ({which}), the rest ({:.2} s) writes files",
        (cairn_s - render_s).max(0.0)
    );

    // Incremental: the same model again, then one control turned from passing to failing.
    let (same_s, same) = cairn_build(&generated.model, &cairn_out)?;
    println!("re-render, nothing changed: {} page(s) rewritten, {same_s:.2} s", same.written.len());
    let model = &mut generated.model;
    let changed = model
        .controls
        .iter()
        .position(|c| {
            c.status == "passing"
                && !c.fails_on.is_empty()
                && c.requirements.iter().any(|r| matches!(r.relationship.as_str(), "equal" | "superset_of"))
        })
        .unwrap_or(0);
    let mut draw = Draw(ChaCha20Rng::seed_from_u64(7));
    let control = &mut model.controls[changed];
    control.status = "failing".into();
    control.failing = failing_findings(&control.fails_on, &model.latest_run, &mut draw);
    control.failing_total = control.failing.len();
    control.reasons = vec![format!("{} {} finding(s)", control.failing_total, control.fails_on[0])];
    if let Some(latest) = control.history.first_mut() {
        latest.status.clone_from(&control.status);
        latest.reasons = control.reasons.join("; ");
    }
    let id = control.id.clone();
    model.frameworks = frameworks(&model.controls, &generated.lists);
    let (changed_s, after) = cairn_build(&generated.model, &cairn_out)?;
    print!(
        "re-render after control {id} went from passing to failing: {} page(s) rewritten, {changed_s:.2} s",
        after.written.len()
    );
    if after.written.len() < 20 {
        print!(": {}", after.written.join(", "));
    }
    println!();

    if let Some(path) = json {
        crate::record::Record::new("portal")
            .param("pages", pages)
            .param("runs", runs)
            .figure("cairn_html_pages", cairn_pages)
            .figure("cairn_runs_seconds", cairn_times.clone())
            .figure("cairn_median_seconds", cairn_s)
            .figure("cairn_first_seconds", first_s)
            .figure("cairn_render_median_seconds", render_s)
            .figure("baseline_html_pages", hugo_pages)
            .figure("baseline_runs_seconds", hugo_times.clone())
            .figure("baseline_median_seconds", hugo_s)
            .figure("baseline_version", hugo_version.clone())
            .figure("ratio", ratio)
            .figure("first_build_ratio", first_ratio)
            .figure("rerender_unchanged_pages_written", same.written.len())
            .figure("rerender_one_control_pages_written", after.written.len())
            .write(path)?;
    }
    if temporary {
        std::fs::remove_dir_all(&dir).ok();
    }
    Ok(0)
}
