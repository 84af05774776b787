//! Source type `splunk-results`: `search/jobs/{sid}/results?output_mode=json` responses, one page
//! per file: `{"results":[…],"messages":[…],"init_offset":n}`.
//!
//! ```toml
//! [[source]]
//! name = "payments-splunk"
//! type = "splunk-results"
//! url  = "inputs/splunk-results/"
//! event = "/_raw"    # the default
//! ```
//!
//! A row's offset is `init_offset` plus its index; ERROR messages are logged. Kept beside the
//! event: `_time`; `index`, `host`, `source`, `sourcetype`, `splunk_server`. A page is read whole,
//! once; a page that changes is read again (kept aside as `rewritten`).

use cairn_evidence::digest::sha256_hex;
use cairn_evidence::lake::RunWriter;
use cairn_evidence::manifest::SourceCursor;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::JsonlConfig;
use crate::error::CollectError;
use crate::listing::{pointer_of, Listing, ObjectContext};
use crate::record::{chain_event, pick, with_meta, Record};
use crate::run::{CollectRun, Cursors, SourceReport};
use crate::sink::RowSink;
use crate::source::newtype_source;

/// A `splunk-results` source.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct SplunkResults(pub JsonlConfig);

newtype_source!(SplunkResults, "splunk-results", collect_splunk_results);

/// Where a Splunk results row holds the original event text.
pub const SPLUNK_RESULTS_EVENT: &str = "/_raw";

/// One row of a Splunk results page.
pub(crate) fn splunk_result_row(row: &Value, pointer: &str) -> Record {
    let mut meta = Map::new();
    pick(Some(row), &["index", "host", "source", "sourcetype", "splunk_server"], &mut meta);
    with_meta(chain_event(row, None, pointer), row.get("_time"), meta)
}

/// Collects Splunk results pages (one response per file). A page is read whole once; a page
/// that changes is read again (its events then show as duplicates in verify) and noted.
async fn collect_splunk_results(
    config: &JsonlConfig,
    run: &CollectRun<'_>,
    writer: &mut RunWriter<'_>,
    sink: &mut RowSink,
    cursors: &mut Cursors,
) -> Result<SourceReport, CollectError> {
    let name = config.name.as_str();
    let pointer = pointer_of(config, SPLUNK_RESULTS_EVENT)?;
    let Listing { location, keys, mut report } = Listing::open(name, &config.url, run, "").await?;
    for key in keys {
        report.objects += 1;
        let ctx = ObjectContext { name, shown: location.shown(&key), run };
        let bytes = location.read(name, &key).await?;
        let digest = sha256_hex(&bytes);
        let previous = cursors.get(&ctx.shown).and_then(|c| c.object_sha256.clone());
        if previous.as_deref() == Some(digest.as_str()) {
            continue;
        }
        report.objects_with_new_data += 1;
        if previous.is_some() {
            report.rewritten += 1;
            let note = Record::Bad("results page changed after it was collected: read again".into());
            ctx.push(note, (0, 0, b""), writer, sink, &mut report).await?;
        }
        let text = std::str::from_utf8(&bytes).map(|t| t.trim_start_matches('\u{feff}'));
        let page = text
            .map_err(|e| format!("not UTF-8: {e}"))
            .and_then(|t| serde_json::from_str::<Value>(t).map_err(|e| format!("not a Splunk results page: {e}")));
        match page {
            Err(why) => ctx.push(Record::Bad(why), (1, 0, &bytes), writer, sink, &mut report).await?,
            Ok(page) => {
                for m in page.get("messages").and_then(Value::as_array).into_iter().flatten() {
                    if m.get("type").and_then(Value::as_str).is_some_and(|t| t == "ERROR" || t == "FATAL") {
                        tracing::warn!(source = name, object = %ctx.shown, message = %m, "Splunk reported an error in a results page");
                    }
                }
                let Some(rows) = page.get("results").and_then(Value::as_array) else {
                    let why = Record::Bad("not a Splunk results page: no `results` array".into());
                    ctx.push(why, (1, 0, &bytes), writer, sink, &mut report).await?;
                    cursors.insert(
                        ctx.shown.clone(),
                        SourceCursor { object_sha256: Some(digest), ..SourceCursor::start() },
                    );
                    continue;
                };
                let first = page.get("init_offset").and_then(Value::as_u64).unwrap_or(0);
                for (i, row) in rows.iter().enumerate() {
                    let raw = row.to_string();
                    // Each row is placed by its result offset; `line` counts rows from 1.
                    let at = (i as u64 + 1, first + i as u64, raw.as_bytes());
                    ctx.push(splunk_result_row(row, &pointer), at, writer, sink, &mut report).await?;
                }
            }
        }
        cursors.insert(ctx.shown.clone(), SourceCursor { object_sha256: Some(digest), ..SourceCursor::start() });
    }
    Ok(report)
}
