//! The opening every collector of listed source objects shares: resolve the location, list its
//! objects, start the report; then, per object, its cursor and where its records go.

use cairn_evidence::digest::sha256_hex;
use cairn_evidence::lake::RunWriter;
use cairn_evidence::manifest::SourceCursor;
use cairn_evidence::tables::Provenance;
use object_store::path::Path as ObjectPath;

use crate::config::JsonlConfig;
use crate::error::CollectError;
use crate::location::SourceLocation;
use crate::record::Record;
use crate::run::{CollectRun, Cursors, SourceReport};
use crate::sink::RowSink;

/// A source opened for collection: where its objects live, their keys (sorted), and its report
/// so far.
pub(crate) struct Listing {
    pub(crate) location: SourceLocation,
    pub(crate) keys: Vec<ObjectPath>,
    pub(crate) report: SourceReport,
}

impl Listing {
    /// Resolves source `name`'s `url` and lists its objects; the report counts in `unit` (empty:
    /// audit events).
    pub(crate) async fn open(
        name: &str,
        url: &str,
        run: &CollectRun<'_>,
        unit: &'static str,
    ) -> Result<Self, CollectError> {
        let location = SourceLocation::resolve(name, url, run.base, run.memory.clone())?;
        let keys = location.keys(name).await?;
        let report = SourceReport { name: name.into(), unit, ..SourceReport::default() };
        Ok(Self { location, keys, report })
    }
}

/// Where the last run left the object shown as `shown`, or its start.
pub(crate) fn cursor_of(cursors: &Cursors, shown: &str) -> SourceCursor {
    cursors.get(shown).cloned().unwrap_or_else(SourceCursor::start)
}

/// The JSON pointer of the audit event inside each record: the source's `event`, else `default`.
pub(crate) fn pointer_of(config: &JsonlConfig, default: &str) -> Result<String, CollectError> {
    let pointer = config.event.clone().unwrap_or_else(|| default.to_string());
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(CollectError::Location {
            source_name: config.name.clone(),
            detail: format!("event = {pointer:?} is not a JSON pointer (it must start with `/`)"),
        });
    }
    Ok(pointer)
}

/// What every record of one source object shares: where it came from, and where it goes.
pub(crate) struct ObjectContext<'a> {
    pub(crate) name: &'a str,
    pub(crate) shown: String,
    pub(crate) run: &'a CollectRun<'a>,
}

impl ObjectContext<'_> {
    pub(crate) fn provenance(&self, line: u64, offset: u64, raw: &[u8]) -> Provenance {
        self.run.provenance(self.name, &self.shown, (line, offset), sha256_hex(raw))
    }

    /// Pushes one record's outcome into the sink, counting it.
    pub(crate) async fn push(
        &self,
        record: Record,
        (line, offset, raw): (u64, u64, &[u8]),
        writer: &mut RunWriter<'_>,
        sink: &mut RowSink,
        report: &mut SourceReport,
    ) -> Result<(), CollectError> {
        report.records += 1;
        sink.push_record(writer, self.name, report, (record, self.provenance(line, offset, raw), raw)).await
    }
}
