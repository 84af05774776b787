//! What one run gives a collector (the run's id and time, where relative paths resolve), what a
//! collector gives back (its report), and the cursors it reads and moves.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use cairn_evidence::manifest::SourceCursor;
use cairn_evidence::tables::{Confidence, Envelope, Provenance};
use chrono::{DateTime, Utc};
use object_store::memory::InMemory;

/// One source's cursors, by source object as shown in provenance: how far each object has been
/// read. They travel in the run manifest.
pub type Cursors = BTreeMap<String, SourceCursor>;

/// What one run needs to know to collect.
pub struct CollectRun<'a> {
    /// The run's id.
    pub run_id: &'a str,
    /// The run's time.
    pub collected_at: DateTime<Utc>,
    /// Folder relative source paths resolve against.
    pub base: &'a Path,
    /// The in-memory store for `memory://` sources (tests).
    pub memory: Option<Arc<InMemory>>,
    /// The `actor` of the rows this source yields ([`cairn_evidence::tables::collector_actor`]).
    pub actor: String,
    /// The source is declared simulated.
    pub simulated: bool,
}

impl CollectRun<'_> {
    /// The envelope of a record read from `object_key` of source `source`, as collected (not yet
    /// verified): what [`Self::provenance`] holds too.
    pub fn envelope<'s>(
        &'s self,
        source: &'s str,
        object_key: &'s str,
        (line, byte_offset): (u64, u64),
    ) -> Envelope<'s> {
        Envelope {
            source,
            object_key,
            line,
            byte_offset,
            actor: &self.actor,
            timestamp: self.collected_at,
            confidence: Confidence::Unverified,
            simulated: self.simulated,
        }
    }

    /// The provenance of a record read from `object_key` of source `source`.
    pub fn provenance(
        &self,
        source: &str,
        object_key: &str,
        (line, byte_offset): (u64, u64),
        record_sha256: String,
    ) -> Provenance {
        Provenance {
            source: source.to_string(),
            object_key: object_key.to_string(),
            line,
            byte_offset,
            record_sha256,
            run_id: self.run_id.to_string(),
            collected_at: self.collected_at,
            actor: self.actor.clone(),
            confidence: Confidence::Unverified,
            simulated: self.simulated,
        }
    }
}

/// What collecting one source did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceReport {
    /// Source name.
    pub name: String,
    /// Source objects seen.
    pub objects: u64,
    /// Source objects with new data.
    pub objects_with_new_data: u64,
    /// Records read (non-empty lines).
    pub records: u64,
    /// Events collected (for artefact sources: artefacts, counted in [`Self::unit`]).
    pub events: u64,
    /// What `events` counts, when not audit events (`SBOMs`, `attestation subjects`, …).
    pub unit: &'static str,
    /// Records kept aside.
    pub quarantined: u64,
    /// Source objects whose already-collected part changed (kept aside, not re-read).
    pub rewritten: u64,
}
