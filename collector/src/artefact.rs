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

/// One record of a source file: the whole file, or one line of a `.jsonl` file.
struct Record<'a> {
    line: u64,
    offset: u64,
    bytes: &'a [u8],
}

fn records<'a>(key: &str, bytes: &'a [u8]) -> Vec<Record<'a>> {
    if !key.to_ascii_lowercase().ends_with(".jsonl") {
        return vec![Record { line: 1, offset: 0, bytes }];
    }
    let mut out = Vec::new();
    let mut offset = 0u64;
    for (i, raw) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        let len = raw.len() as u64;
        let trimmed = raw.strip_suffix(b"\n").unwrap_or(raw);
        let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
        if !trimmed.iter().all(u8::is_ascii_whitespace) {
            out.push(Record { line: i as u64 + 1, offset, bytes: trimmed });
        }
        offset += len;
    }
    out
}

/// Finds the record a row was collected from inside its blob: the whole blob, or the line whose
/// digest the row names. `None` when neither matches (the blob is not the one collected).
pub fn find_record<'a>(blob: &'a [u8], object_key: &str, record_sha256: &str) -> Option<&'a [u8]> {
    records(object_key, blob).into_iter().map(|r| r.bytes).find(|b| sha256_hex(b) == record_sha256)
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
    let name = config.name.as_str();
    let lake_err = |error| CollectError::Lake { source_name: name.into(), error };
    let Listing { location, keys, mut report } = Listing::open(name, &config.url, run, format.unit).await?;
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
        if let Some(parse) = format.parse {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_lines_of_jsonl_files() {
        let text = b"{\"a\":1}\n\n{\"b\":2}\r\n";
        let r = records("x.intoto.jsonl", text);
        assert_eq!(r.iter().map(|r| (r.line, r.offset)).collect::<Vec<_>>(), vec![(1, 0), (3, 9)]);
        assert_eq!(find_record(text, "x.intoto.jsonl", &sha256_hex(b"{\"b\":2}")), Some(&b"{\"b\":2}"[..]));
        assert_eq!(records("x.json", text).len(), 1);
    }
}
