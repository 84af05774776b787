//! `cairn-renderer`: the read-only auditor portal and signed evidence bundles.
//!
//! It owns turning a [`PortalModel`] (already-read evidence) into static HTML, and a set of files
//! into a deterministic, minisign-signed zip, plus checking such a zip. It does not read the lake;
//! of the configuration it sees only a template folder's path ([`templates::Templates::load`]).
#![forbid(unsafe_code)]

pub mod bundle;
pub mod markdown;
pub mod model;
pub mod portal;
pub mod templates;

pub use model::PortalModel;
