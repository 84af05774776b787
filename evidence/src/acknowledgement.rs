//! Acknowledgements: a person's dated statement that an open finding is known, why it is
//! accepted, and until when. Each is a row of the `acknowledgements` table, committed by an
//! `acknowledge` run whose manifest Cairn signs, so it is as tamper-evident as the findings it
//! answers. Past `until` the finding is open again.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Schema, SchemaRef};

use crate::artefacts::{lake_table, Column, LakeTable};
use crate::tables::{names, provenance_fields, Provenance, ProvenanceBuilder, ProvenanceColumns, TableError};

lake_table! {
    /// One acknowledgement of one finding. Its time and run are the envelope's `timestamp` and
    /// `run_id`.
    pub struct AcknowledgementRow in names::ACKNOWLEDGEMENTS {
        /// The finding's id ([`crate::finding::Finding::id`]).
        pub finding_id: String,
        /// The finding's kind.
        pub kind: String,
        /// Its chain, for an event finding.
        pub chain: Option<String>,
        /// Its seq, for an event finding.
        pub seq: Option<u64>,
        /// Who acknowledges it, as they gave their name.
        pub by: String,
        /// Why it is accepted.
        pub reason: String,
        /// RFC 3339 time the acknowledgement lapses; the finding is open again after it.
        pub until: String,
    }
}
