//! Source type `decision-card`: signed policy Decision Cards.
//!
//! ```toml
//! [[source]]
//! name = "policies"
//! type = "decision-card"
//! url  = "policy/cards/"    # a folder or object-store prefix
//! ```
//!
//! A Decision Card is a JSON document of any shape with `id` (a string), `version` (a string or a
//! number), `issued_at` (RFC 3339) and optionally `expires_at`. Beside each `<card>.json` lies its
//! detached signature: `<card>.json.sig` (base64 of an Ed25519 signature over the card's RFC 8785
//! canonical bytes) or `<card>.json.minisig` (a minisign signature of the file's exact bytes).
//! Each card's bytes become a blob and a `policies` row holding its canonical digest and its
//! signature, which `verify` checks against the keyring. A card that does not read (not JSON, a
//! duplicate key, a missing or ill-typed field) and a signature without a card are kept aside with
//! the reason. A card is collected again when it or its signature changes.

use std::collections::{BTreeMap, BTreeSet};

use cairn_evidence::artefacts::PolicyRow;
use cairn_evidence::card::parse_card;
use cairn_evidence::digest::sha256_hex;
use cairn_evidence::lake::RunWriter;
use cairn_evidence::manifest::SourceCursor;
use cairn_evidence::tables::QuarantineRow;
use serde::Deserialize;

use crate::config::ArtefactConfig;
use crate::error::CollectError;
use crate::listing::Listing;
use crate::run::{CollectRun, Cursors, SourceReport};
use crate::sink::{quarantine_text, RowSink};
use crate::source::newtype_source;

/// A `decision-card` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct DecisionCard(pub ArtefactConfig);

newtype_source!(DecisionCard, "decision-card", collect);

/// Collects every Decision Card under the source's location.
async fn collect(
    config: &ArtefactConfig,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut Cursors,
) -> Result<SourceReport, CollectError> {
    let name = config.name.as_str();
    let lake_err = |error| CollectError::Lake { source_name: name.into(), error };
    let Listing { location, keys, mut report } = Listing::open(name, &config.url, run, "decision cards").await?;
    let relative: BTreeMap<String, _> = keys.iter().map(|k| (location.relative(k), k.clone())).collect();
    // Signatures are named by appending `.sig` or `.minisig` to the card's name, exactly.
    let is_signature = |rel: &str| std::path::Path::new(rel).extension().is_some_and(|e| e == "sig" || e == "minisig");
    let cards: BTreeSet<&String> = relative.keys().filter(|r| !is_signature(r)).collect();
    report.objects = keys.len() as u64;
    for (rel, key) in &relative {
        let shown = location.shown(key);
        let provenance = |bytes: &[u8]| run.provenance(name, &shown, (1, 0), sha256_hex(bytes));
        if is_signature(rel) {
            let card = rel.trim_end_matches(".minisig").trim_end_matches(".sig").to_string();
            if !cards.contains(&card) {
                let bytes = location.read(name, key).await?;
                let state = sha256_hex(&bytes);
                if cursors.get(&shown).is_some_and(|c| c.prefix_sha256 == state) {
                    continue;
                }
                report.quarantined += 1;
                let reason = format!("a signature without its card: {card} is not in the folder");
                tracing::warn!(source = name, object = %shown, %reason, "kept aside");
                let row = QuarantineRow { reason, raw: String::new(), provenance: provenance(&bytes) };
                sink.push_quarantine(writer, row).await.map_err(lake_err)?;
                cursors.insert(shown, SourceCursor { prefix_sha256: state, ..SourceCursor::start() });
            }
            continue;
        }
        let bytes = location.read(name, key).await?;
        let mut signature = None;
        for (kind, suffix) in [("ed25519", ".sig"), ("minisign", ".minisig")] {
            if let Some(sig_key) = relative.get(&format!("{rel}{suffix}")) {
                let text = location.read(name, sig_key).await?;
                signature = Some((kind, String::from_utf8_lossy(&text).into_owned()));
                break;
            }
        }
        let sig_digest = signature.as_ref().map(|(_, s)| sha256_hex(s.as_bytes())).unwrap_or_default();
        let state = sha256_hex(format!("{}\n{sig_digest}", sha256_hex(&bytes)).as_bytes());
        if cursors.get(&shown).is_some_and(|c| c.prefix_sha256 == state) {
            continue;
        }
        report.objects_with_new_data += 1;
        report.records += 1;
        match parse_card(&bytes) {
            Ok(card) => {
                report.events += 1;
                let blob = writer.write_blob(bytes.clone(), run.simulated).await.map_err(lake_err)?;
                let (signature_kind, signature) = signature.unwrap_or(("none", String::new()));
                sink.artefacts.policies.push(PolicyRow {
                    card_id: card.id,
                    version: card.version,
                    issued_at: card.issued_at,
                    expires_at: card.expires_at,
                    canonical_sha256: sha256_hex(&card.canonical),
                    blob,
                    signature_kind: signature_kind.into(),
                    signature,
                    provenance: provenance(&bytes),
                });
            }
            Err(reason) => {
                report.quarantined += 1;
                tracing::warn!(source = name, object = %shown, %reason, "Decision Card kept aside");
                let row = QuarantineRow { reason, raw: quarantine_text(&bytes), provenance: provenance(&bytes) };
                sink.push_quarantine(writer, row).await.map_err(lake_err)?;
            }
        }
        sink.flush_full_artefacts(writer).await.map_err(lake_err)?;
        cursors
            .insert(shown, SourceCursor { offset: bytes.len() as u64, prefix_sha256: state, ..SourceCursor::start() });
    }
    Ok(report)
}
