//! `cairn-controls`: the control catalog and the evaluation of each control from evidence.
//!
//! The catalog is data (`controls/catalog/*.toml`, embedded at build time): each control says
//! which evidence it rests on, which verification findings fail it, how fresh its evidence must
//! be, and which framework requirements it maps to. Evaluation is pure: a summary of the lake
//! and its findings in, one result per control out ([`evaluate`]); [`control_results`] turns a
//! verify run's findings and the collected artefacts into the rows of the `control_results` table.
#![forbid(unsafe_code)]

mod catalog;
pub mod frameworks;
mod results;
mod rollup;
pub mod user;

pub use catalog::{
    evaluate, ArtefactEvidence, Catalog, CatalogError, Control, ControlResult, DocumentEvidence, EvidenceKind,
    EvidenceSummary, Relationship, RequirementLink, Status, BUILTIN_CATALOG, FRAMEWORKS,
};
pub use results::{artefact_evidence, control_results, document_evidence, EvaluationInput};
pub use rollup::{roll_up, Coverage, RequirementStatus};
