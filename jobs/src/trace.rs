//! `cairn trace ID`: the hop-by-hop history of one event or lake object — the source record it
//! was read from, the run that collected it, the lake object that holds it, what verification
//! found, the controls that rest on it and the bundles that carry it.
//!
//! ID is a lake object key, a SHA-256 (of a lake object or blob, or of a release artefact or
//! attestation subject), or an audit event's `hash`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use cairn_evidence::digest::sha256_hex;
use cairn_evidence::manifest::{ObjectEntry, RunManifest, Stage};
use cairn_evidence::tables::{self, names, EnvelopeRow, EventRow};
use cairn_verifier::Finding;
use serde::Serialize;

use cairn_renderer::LakeView;

use crate::pipeline::{read_view, Workspace};

/// What `cairn trace` found.
#[derive(Debug, Serialize)]
pub struct Trace {
    /// The ID asked for.
    pub id: String,
    /// `event`, `lake_object` or `artefact`.
    pub kind: &'static str,
    /// Where the record (or the object's rows) came from.
    pub sources: Vec<SourceHop>,
    /// The run that committed the lake object.
    pub collection: RunHop,
    /// The lake object.
    pub object: ObjectHop,
    /// The event, when the ID named one.
    pub event: Option<EventHop>,
    /// What verification found.
    pub verification: VerificationHop,
    /// Controls resting on it, as the latest verify run evaluated them.
    pub controls: Vec<ControlHop>,
    /// Bundles whose signed manifest lists the lake object.
    pub bundles: Vec<BundleHop>,
}

/// A source record.
#[derive(Debug, Serialize)]
pub struct SourceHop {
    /// The envelope: origin, actor, timestamp, confidence, simulated.
    #[serde(flatten)]
    pub envelope: EnvelopeRow,
    /// SHA-256 of the raw record (empty when not known).
    pub record_sha256: String,
    /// Rows of the object that came from this source object (1 for an event).
    pub rows: u64,
    /// Whether the source line was read again now and still has that SHA-256.
    pub recheck: String,
}

/// A committing run.
#[derive(Debug, Serialize)]
pub struct RunHop {
    /// Run id.
    pub run_id: String,
    /// `collect` or `verify`.
    pub stage: String,
    /// Commit time.
    pub committed_at: String,
    /// Minisign key id that signed the manifest.
    pub signing_key_id: String,
}

/// A lake object.
#[derive(Debug, Serialize)]
pub struct ObjectHop {
    /// Key in the store.
    pub key: String,
    /// Table, or `blob`.
    pub table: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Size.
    pub size: u64,
    /// Rows.
    pub rows: u64,
    /// Its leaf index in the lake's Merkle log.
    pub leaf_index: u64,
    /// Whether it holds simulated data.
    pub simulated: bool,
}

/// An event inside a lake object.
#[derive(Debug, Serialize)]
pub struct EventHop {
    /// Chain id.
    pub chain: String,
    /// Position in the chain.
    pub seq: u64,
    /// Event time.
    pub ts: String,
    /// Signing key id.
    pub kid: String,
    /// Row in the lake object (0-based).
    pub row: u64,
}

/// What verification found.
#[derive(Debug, Serialize)]
pub struct VerificationHop {
    /// `verified`, `failed` or `unverified` (no verify run has covered it yet).
    pub result: &'static str,
    /// The latest verify run covering it.
    pub run_id: Option<String>,
    /// Findings about it, any run.
    pub findings: Vec<Finding>,
}

/// A control resting on it.
#[derive(Debug, Serialize)]
pub struct ControlHop {
    /// Control id.
    pub id: String,
    /// Its status in that run.
    pub status: String,
    /// The verify run that evaluated it.
    pub run_id: String,
}

/// A bundle carrying it.
#[derive(Debug, Serialize)]
pub struct BundleHop {
    /// The zip.
    pub path: String,
    /// The entry holding the lake object.
    pub entry: String,
    /// Its inclusion proof's leaf index, as the manifest records it.
    pub leaf_index: Option<u64>,
}

/// What the ID resolved to.
enum Target {
    Event(Box<EventRow>, u64),
    Object,
}

/// Traces `id` through the lake.
pub async fn trace(ws: &Workspace, id: &str) -> Result<Trace> {
    let id = id.trim();
    if id.is_empty() {
        bail!("give a lake object key, a SHA-256 or an event hash to trace");
    }
    let view = read_view(ws).await?;
    let log: Vec<(&RunManifest, &ObjectEntry)> =
        view.manifests.iter().flat_map(|m| m.objects.iter().map(move |o| (m, o))).collect();
    let hex = id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
    let lower = id.to_ascii_lowercase();
    // A key, an object's digest, then an artefact's digest, then an event's hash.
    let mut found = log.iter().position(|(_, o)| o.key == id || (hex && o.sha256 == lower));
    let mut kind = "lake_object";
    if found.is_none() && hex {
        if let Some(blob) = artefact_blob(&view, &lower) {
            found = log.iter().position(|(_, o)| o.key == blob);
            kind = "artefact";
        }
    }
    let mut target = Target::Object;
    if found.is_none() {
        if let Some((index, row, at)) = find_event(ws, &log, id).await? {
            found = Some(index);
            target = Target::Event(Box::new(row), at);
            kind = "event";
        }
    }
    let Some(index) = found else {
        bail!(
            "{id:?} is not a committed lake object key, the SHA-256 of an object, blob, release artefact or \
             attestation subject, or the hash of a collected event"
        );
    };
    let (run, entry) = log[index];
    if entry.table == "blob" && kind == "lake_object" {
        kind = "artefact";
    }
    let sources = match &target {
        Target::Event(row, _) => vec![source_hop(ws, row.provenance.envelope(), &row.provenance.record_sha256, 1)],
        Target::Object => object_sources(ws, &view, entry).await?,
    };
    let verification = verification(&view, run, entry, &target, &sources);
    let controls = controls(&view, entry);
    let bundles = bundles(ws, &entry.key)?;
    Ok(Trace {
        id: id.to_string(),
        kind,
        sources,
        collection: RunHop {
            run_id: run.run_id.clone(),
            stage: stage_name(run.stage).into(),
            committed_at: run.committed_at.clone(),
            signing_key_id: run.signing_key_id.clone(),
        },
        object: ObjectHop {
            key: entry.key.clone(),
            table: entry.table.clone(),
            sha256: entry.sha256.clone(),
            size: entry.size,
            rows: entry.rows,
            leaf_index: index as u64,
            simulated: entry.simulated,
        },
        event: match target {
            Target::Event(row, at) => {
                Some(EventHop { chain: row.chain, seq: row.seq, ts: row.ts, kid: row.kid, row: at })
            }
            Target::Object => None,
        },
        verification,
        controls,
        bundles,
    })
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Collect => "collect",
        Stage::Verify => "verify",
        Stage::Acknowledge => "acknowledge",
        Stage::Rotate => "rotate",
        Stage::Erase => "erase",
    }
}

/// The blob holding a release artefact or attestation subject with this digest, if any.
fn artefact_blob(view: &LakeView, digest: &str) -> Option<String> {
    let a = &view.artefacts;
    a.attestations
        .iter()
        .find(|r| r.digest_alg == "sha256" && r.digest_value == digest)
        .map(|r| r.blob.clone())
        .or_else(|| {
            // A release artefact is recorded by digest, not stored: trace the attestation naming it.
            a.artefacts
                .iter()
                .find(|r| r.sha256 == digest)
                .and_then(|r| a.attestations.iter().find(|t| t.digest_value == r.sha256).map(|t| t.blob.clone()))
        })
}

/// Finds the event whose `hash` is `hash`: its log index, row and row index.
async fn find_event(
    ws: &Workspace,
    log: &[(&RunManifest, &ObjectEntry)],
    hash: &str,
) -> Result<Option<(usize, EventRow, u64)>> {
    for (index, (_, entry)) in log.iter().enumerate().filter(|(_, (_, o))| o.table == names::EVENTS) {
        let bytes = ws.lake.get_checked(entry).await?;
        let mut at = 0u64;
        for batch in tables::from_parquet(bytes).with_context(|| format!("cannot decode {}", entry.key))? {
            let batch = batch?;
            let events = tables::EventsBatch::try_new(batch.clone())?;
            let refs = events.try_refs()?;
            if let Some(i) = refs.iter().position(|r| r.hash == hash) {
                let row = tables::event_rows(&batch.slice(i, 1))?.into_iter().next();
                return Ok(row.map(|r| (index, r, at + i as u64)));
            }
            at += refs.len() as u64;
        }
    }
    Ok(None)
}

/// The sources of a lake object: for a table, each source object its rows came from; for a
/// blob, the artefact rows naming it.
async fn object_sources(ws: &Workspace, view: &LakeView, entry: &ObjectEntry) -> Result<Vec<SourceHop>> {
    if entry.table == "blob" {
        let a = &view.artefacts;
        let provenances = a
            .attestations
            .iter()
            .filter(|r| r.blob == entry.key)
            .map(|r| &r.provenance)
            .chain(a.sboms.iter().filter(|r| r.blob == entry.key).map(|r| &r.provenance))
            .chain(a.threat_models.iter().filter(|r| r.blob == entry.key).map(|r| &r.provenance))
            .chain(a.documents.iter().filter(|r| r.blob == entry.key).map(|r| &r.provenance))
            .chain(a.policies.iter().filter(|r| r.blob == entry.key).map(|r| &r.provenance))
            .chain(a.keys.iter().filter(|r| r.blob.as_deref() == Some(entry.key.as_str())).map(|r| &r.provenance));
        let mut seen = BTreeSet::new();
        return Ok(provenances
            .filter(|p| seen.insert((p.source.clone(), p.object_key.clone(), p.run_id.clone())))
            .map(|p| source_hop(ws, p.envelope(), &p.record_sha256, 1))
            .collect());
    }
    // One hop per source object, in first-seen order, with its row count.
    let mut hops: Vec<SourceHop> = Vec::new();
    let bytes = ws.lake.get_checked(entry).await?;
    for batch in tables::from_parquet(bytes).with_context(|| format!("cannot decode {}", entry.key))? {
        for e in tables::envelope_rows(&batch?)? {
            match hops.iter_mut().find(|h| h.envelope.source == e.source && h.envelope.object_key == e.object_key) {
                Some(h) => h.rows += 1,
                None => hops.push(SourceHop {
                    envelope: EnvelopeRow { line: 0, byte_offset: 0, ..e },
                    record_sha256: String::new(),
                    rows: 1,
                    recheck: "not re-read (an object's rows come from many records)".into(),
                }),
            }
        }
    }
    Ok(hops)
}

fn source_hop(
    ws: &Workspace,
    envelope: cairn_evidence::tables::Envelope<'_>,
    record_sha256: &str,
    rows: u64,
) -> SourceHop {
    let recheck = recheck_line(&ws.config.dir, envelope.object_key, envelope.byte_offset, record_sha256);
    SourceHop {
        envelope: EnvelopeRow {
            source: envelope.source.to_string(),
            object_key: envelope.object_key.to_string(),
            line: envelope.line,
            byte_offset: envelope.byte_offset,
            actor: envelope.actor.to_string(),
            timestamp: envelope.timestamp,
            confidence: envelope.confidence,
            simulated: envelope.simulated,
        },
        record_sha256: record_sha256.to_string(),
        rows,
        recheck,
    }
}

/// Reads the source record again, when it is a plain local file: the line at `offset` (or the
/// whole file, for records that are whole files), and compares its SHA-256.
fn recheck_line(base: &Path, object_key: &str, offset: u64, expected: &str) -> String {
    use std::io::{BufRead as _, Seek as _};
    if expected.is_empty() {
        return "no record digest to compare".into();
    }
    let relative = Path::new(object_key);
    if object_key.contains("://")
        || relative.components().any(|c| matches!(c, std::path::Component::ParentDir))
        || [".gz", ".zst"].iter().any(|ext| object_key.ends_with(ext))
    {
        return "not re-read (compressed or not a local file)".into();
    }
    let path = base.join(relative);
    let Ok(mut file) = std::fs::File::open(&path) else {
        return format!("not re-read: {} is no longer there", path.display());
    };
    // A record that is a whole file (an SBOM, an attestation), when small enough to read again.
    let small = file.metadata().is_ok_and(|m| m.len() <= 16 << 20);
    if small && std::fs::read(&path).is_ok_and(|b| sha256_hex(&b) == expected) {
        return "re-read now: the file still has this SHA-256".into();
    }
    if file.seek(std::io::SeekFrom::Start(offset)).is_err() {
        return "not re-read: the offset is past the end of the file".into();
    }
    let mut line = Vec::new();
    if std::io::BufReader::new(file).read_until(b'\n', &mut line).is_err() {
        return format!("not re-read: {} is unreadable", path.display());
    }
    let line = line.strip_suffix(b"\n").unwrap_or(&line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let unmarked = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
    if sha256_hex(line) == expected || sha256_hex(unmarked) == expected {
        "re-read now: the line still has this SHA-256".into()
    } else {
        "CHANGED: the line at this offset no longer has this SHA-256".into()
    }
}

fn verification(
    view: &LakeView,
    run: &RunManifest,
    entry: &ObjectEntry,
    target: &Target,
    sources: &[SourceHop],
) -> VerificationHop {
    let source_objects: BTreeSet<&str> = sources.iter().map(|s| s.envelope.object_key.as_str()).collect();
    let findings: Vec<Finding> = view
        .findings
        .iter()
        .filter(|f| match target {
            Target::Event(row, _) => f.chain.as_deref() == Some(row.chain.as_str()) && f.seq == Some(row.seq),
            Target::Object => f.object_key.as_deref().is_some_and(|k| k == entry.key || source_objects.contains(k)),
        })
        .cloned()
        .collect();
    // The latest verify run that came after the collection (and, for an event, reached its seq).
    let covering = view.manifests.iter().rev().find(|m| {
        m.stage == Stage::Verify
            && m.run_id > run.run_id
            && match target {
                Target::Event(row, _) => m.chain_heads.get(&row.chain).is_some_and(|h| h.seq >= row.seq),
                Target::Object => true,
            }
    });
    let result = if !findings.is_empty() {
        "failed"
    } else if covering.is_some() {
        "verified"
    } else {
        "unverified"
    };
    VerificationHop { result, run_id: covering.map(|m| m.run_id.clone()), findings }
}

/// The controls of the latest verify run whose evidence lists the object, or (for a blob) an
/// object of a table whose rows name it, committed by the same run.
fn controls(view: &LakeView, entry: &ObjectEntry) -> Vec<ControlHop> {
    let Some(latest) = view.control_history.last().map(|r| r.run_id.clone()) else { return Vec::new() };
    let mut keys: BTreeSet<String> = BTreeSet::from([entry.key.clone()]);
    if entry.table == "blob" {
        let a = &view.artefacts;
        let naming: Vec<(&str, &str)> = a
            .attestations
            .iter()
            .filter(|r| r.blob == entry.key)
            .map(|r| (names::ATTESTATIONS, r.provenance.run_id.as_str()))
            .chain(a.sboms.iter().filter(|r| r.blob == entry.key).map(|r| (names::SBOMS, r.provenance.run_id.as_str())))
            .chain(
                a.threat_models
                    .iter()
                    .filter(|r| r.blob == entry.key)
                    .map(|r| (names::THREAT_MODELS, r.provenance.run_id.as_str())),
            )
            .chain(
                a.policies
                    .iter()
                    .filter(|r| r.blob == entry.key)
                    .map(|r| (names::POLICIES, r.provenance.run_id.as_str())),
            )
            .collect();
        for m in &view.manifests {
            for o in &m.objects {
                if naming.iter().any(|(table, run)| o.table == *table && m.run_id == *run) {
                    keys.insert(o.key.clone());
                }
            }
        }
    }
    let documents: Vec<&str> =
        view.artefacts.documents.iter().filter(|d| d.blob == entry.key).flat_map(|d| d.controls.split("; ")).collect();
    view.control_history
        .iter()
        .filter(|r| r.run_id == latest)
        .filter(|r| {
            documents.contains(&r.control_id.as_str())
                || serde_json::from_str::<Vec<serde_json::Value>>(&r.evidence)
                    .unwrap_or_default()
                    .iter()
                    .any(|e| e["key"].as_str().is_some_and(|k| keys.contains(k)))
        })
        .map(|r| ControlHop { id: r.control_id.clone(), status: r.status.clone(), run_id: r.run_id.clone() })
        .collect()
}

/// The bundles in `[bundles] out` whose signed manifest lists the object.
fn bundles(ws: &Workspace, key: &str) -> Result<Vec<BundleHop>> {
    let dir = &ws.config.bundles_out;
    let Ok(listing) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
    let mut zips: Vec<_> = listing
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "zip"))
        .collect();
    zips.sort();
    let public = ws.public_key()?;
    let entry = format!("store/{key}");
    let mut hops = Vec::new();
    for zip in zips {
        match cairn_verifier::bundle::signed_manifest(&zip, &public) {
            Ok(manifest) => {
                if let Some(f) = manifest.files.iter().find(|f| f.path == entry) {
                    hops.push(BundleHop {
                        path: zip.display().to_string(),
                        entry: entry.clone(),
                        leaf_index: f.inclusion.as_ref().map(|i| i.leaf_index),
                    });
                }
            }
            Err(e) => {
                tracing::warn!(bundle = %zip.display(), error = %e, "bundle skipped: its manifest does not verify");
            }
        }
    }
    Ok(hops)
}

/// The trace as text, one hop per block.
pub fn to_text(t: &Trace) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "trace {} ({})", t.id, t.kind.replace('_', " "));
    let _ = writeln!(out, "\n1. source");
    for s in &t.sources {
        let e = &s.envelope;
        let at = if e.line > 0 { format!(" line {} (byte {})", e.line, e.byte_offset) } else { String::new() };
        let rows = if s.rows > 1 { format!(", {} rows", s.rows) } else { String::new() };
        let _ = writeln!(out, "   {} {}{at}{rows}", e.source, e.object_key);
        if !s.record_sha256.is_empty() {
            let _ = writeln!(out, "   record sha256 {}: {}", s.record_sha256, s.recheck);
        }
        let simulated = if e.simulated { ", SIMULATED" } else { "" };
        let _ = writeln!(
            out,
            "   actor {}, confidence {}{simulated}, collected {}",
            e.actor,
            e.confidence.as_str(),
            cairn_evidence::time::format_rfc3339(e.timestamp)
        );
    }
    let c = &t.collection;
    let _ = writeln!(out, "\n2. {} run {}", c.stage, c.run_id);
    let _ = writeln!(out, "   committed {}, manifest signed by key {}", c.committed_at, c.signing_key_id);
    let o = &t.object;
    let _ = writeln!(out, "\n3. lake object {}", o.key);
    let _ = writeln!(
        out,
        "   table {}, sha256 {}, {} bytes, {} rows, Merkle leaf {}{}",
        o.table,
        o.sha256,
        o.size,
        o.rows,
        o.leaf_index,
        if o.simulated { ", simulated" } else { "" }
    );
    if let Some(e) = &t.event {
        let _ = writeln!(out, "   row {}: chain {} seq {} at {} (key {})", e.row, e.chain, e.seq, e.ts, e.kid);
    }
    let v = &t.verification;
    let by = v.run_id.as_deref().map(|r| format!(" (verify run {r})")).unwrap_or_default();
    let _ = writeln!(out, "\n4. verification: {}{by}", v.result);
    for f in &v.findings {
        let _ = writeln!(out, "   {} in run {}: {}", f.kind, f.run_id, f.detail);
    }
    let _ = writeln!(out, "\n5. controls");
    if t.controls.is_empty() {
        let _ = writeln!(out, "   none rests on it in the latest verify run");
    }
    for c in &t.controls {
        let _ = writeln!(out, "   {} {} (run {})", c.id, c.status, c.run_id);
    }
    let _ = writeln!(out, "\n6. bundles");
    if t.bundles.is_empty() {
        let _ = writeln!(out, "   none in the bundles folder lists it");
    }
    for b in &t.bundles {
        let leaf = b.leaf_index.map(|l| format!(", inclusion proof leaf {l}")).unwrap_or_default();
        let _ = writeln!(out, "   {} ({}{leaf})", b.path, b.entry);
    }
    out
}
