//! What the sources of files read whole share (attestations, SBOMs, threat models, release
//! files): each file is read whole; a `.jsonl` file of envelopes or bundles is read one record per
//! line.
//!
//! Collection is incremental by content hash: a file whose bytes are unchanged since it was last
//! collected is skipped, a changed file is collected again as a new version. Every artefact is
//! stored as a content-addressed blob of its exact bytes (release files are recorded by digest
//! only). A file or line that is not what its source type says is kept aside with the reason.

use cairn_evidence::artefacts::{ArtefactRow, ArtefactSet};
use cairn_evidence::digest::sha256_hex;
use cairn_evidence::lake::RunWriter;
use cairn_evidence::manifest::SourceCursor;
use cairn_evidence::records::{records, Record};
use cairn_evidence::tables::{Provenance, QuarantineRow};

use crate::config::ArtefactConfig;
use crate::error::CollectError;
use crate::listing::Listing;
use crate::run::{CollectRun, Cursors, SourceReport};
use crate::sink::{quarantine_text, RowSink};

/// Parses one record (its bytes, its file's path under the source, the file's blob key, its
/// provenance) into rows; returns how many primary rows it gave.
pub(crate) type ParseRecord = fn(&[u8], &str, &str, &Provenance, &mut ArtefactSet) -> Result<u64, String>;

/// How a source type reads its files.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ArtefactFormat {
    /// What the report's `events` count (`SBOMs`, `attestation subjects`, …).
    pub(crate) unit: &'static str,
    /// How a record becomes rows; `None`: each file is recorded by its digest only, neither
    /// parsed nor kept as a blob (release files).
    pub(crate) parse: Option<ParseRecord>,
}

/// The release a file's path under its source names: its folders `<subject>/<version>/`, the
/// layout release files, scan reports and test reports share. `None` when it sits less deep.
pub(crate) fn release_folder(relative: &str) -> Option<(String, String)> {
    let mut folders = relative.rsplit('/').skip(1);
    let version = folders.next().filter(|v| !v.is_empty())?;
    let subject = folders.next().filter(|s| !s.is_empty())?;
    Some((subject.to_string(), version.to_string()))
}

/// Collects the new or changed files of a source whose files are read as `format` says.
pub(crate) async fn collect(
    format: ArtefactFormat,
    config: &ArtefactConfig,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut Cursors,
) -> Result<SourceReport, CollectError> {
    collect_with(format.unit, format.parse.as_ref(), config, run, writer, sink, cursors).await
}

/// [`collect`] with a parser that may hold the source's own settings (a `junit` source's
/// patterns): `unit` is what the report counts; `parse` as [`ArtefactFormat::parse`].
pub(crate) async fn collect_with<P>(
    unit: &'static str,
    parse: Option<&P>,
    config: &ArtefactConfig,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut Cursors,
) -> Result<SourceReport, CollectError>
where
    P: Fn(&[u8], &str, &str, &Provenance, &mut ArtefactSet) -> Result<u64, String> + ?Sized,
{
    let name = config.name.as_str();
    let lake_err = |error| CollectError::Lake { source_name: name.into(), error };
    let Listing { location, keys, mut report } = Listing::open(name, &config.url, run, unit).await?;
    for key in keys {
        report.objects += 1;
        let shown = location.shown(&key);
        let relative = location.relative(&key);
        let bytes = location.read(name, &key).await?;
        let digest = sha256_hex(&bytes);
        if cursors.get(&shown).is_some_and(|c| c.prefix_sha256 == digest && c.offset == bytes.len() as u64) {
            continue;
        }
        report.objects_with_new_data += 1;
        let provenance = |r: &Record| run.provenance(name, &shown, (r.line, r.offset), sha256_hex(r.bytes));
        if let Some(parse) = parse {
            // The blob is written only when some record of the file collects.
            let blob = format!("blobs/sha256/{digest}");
            let mut blob_written = false;
            let recs = records(&relative, &bytes);
            let lines = recs.len();
            for r in recs {
                report.records += 1;
                let p = provenance(&r);
                let outcome = parse(r.bytes, &relative, &blob, &p, &mut sink.artefacts);
                match outcome {
                    Ok(n) => {
                        report.events += n;
                        if !blob_written {
                            writer.write_blob(bytes.clone(), run.simulated).await.map_err(lake_err)?;
                            blob_written = true;
                        }
                    }
                    Err(reason) => {
                        report.quarantined += 1;
                        tracing::warn!(source = name, object = %shown, line = r.line, %reason, "artefact kept aside");
                        let row = QuarantineRow { reason, raw: quarantine_text(r.bytes), provenance: p };
                        sink.push_quarantine(writer, row).await.map_err(lake_err)?;
                    }
                }
            }
            if lines == 0 {
                report.quarantined += 1;
                let whole = Record { line: 0, offset: 0, bytes: &bytes };
                let row = QuarantineRow {
                    reason: "the file holds no record".into(),
                    raw: String::new(),
                    provenance: provenance(&whole),
                };
                sink.push_quarantine(writer, row).await.map_err(lake_err)?;
            }
        } else {
            // Recorded by digest only.
            report.records += 1;
            report.events += 1;
            let whole = Record { line: 1, offset: 0, bytes: &bytes };
            sink.artefacts.artefacts.push(ArtefactRow {
                name: relative.clone(),
                sha256: digest.clone(),
                size: bytes.len() as u64,
                provenance: provenance(&whole),
            });
        }
        sink.flush_full_artefacts(writer).await.map_err(lake_err)?;
        cursors.insert(
            shown,
            SourceCursor {
                offset: bytes.len() as u64,
                lines: 0,
                prefix_sha256: digest,
                object_sha256: None,
                seen_ids: Vec::new(),
            },
        );
    }
    Ok(report)
}
