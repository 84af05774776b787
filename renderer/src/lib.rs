//! `cairn-renderer`: the read-only auditor portal and signed evidence bundles.
//!
//! It owns the portal's view of the evidence: [`portal_model`] turns what was read from the lake
//! ([`LakeView`]) into a [`PortalModel`] (every control evaluated, framework roll-ups, chains,
//! artefacts, runs, keys), and [`portal::build`] writes it as static HTML with the built-in
//! templates or a folder replacing some of them ([`templates::Templates::load`]). It also turns a
//! set of files into a deterministic, minisign-signed zip, and checks such a zip. It does not read
//! the store: the caller reads the lake into a [`LakeView`].
#![forbid(unsafe_code)]

pub mod bundle;
pub mod extracts;
mod from_lake;
mod lake_view;
pub mod markdown;
pub mod model;
pub mod oscal;
pub mod portal;
mod supply_view;
pub mod templates;

pub use from_lake::{evidence_summary, portal_model};
pub use lake_view::{mask_document, LakeView};
pub use model::PortalModel;
