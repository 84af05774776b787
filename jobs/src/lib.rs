//! `cairn-jobs`: what runs Cairn's stages as jobs. It owns the configuration (`cairn.toml`), the
//! pipeline that drives each stage over the lake (collect, verify, evaluate, render, bundle,
//! publish), cron schedules, one run of a job under its lock, publishing, Prometheus metrics and
//! progress on a terminal.
//!
//! It does not parse sources (`cairn-collector`), decide what a check finds (`cairn-verifier`),
//! evaluate controls (`cairn-controls`) or lay out pages and zips (`cairn-renderer`); the `cairn`
//! command line is a thin layer over it.
#![deny(unsafe_code)]

pub mod acknowledge;
pub mod bundling;
pub mod config;
pub mod erasure;
pub mod export;
pub mod metrics;
pub mod open;
pub mod pipeline;
pub mod population;
pub mod progress;
pub mod proofs;
pub mod publish;
pub mod render;

pub mod runner;
pub mod schedule;
mod scratch;
pub mod signing;
pub mod supply;
pub mod trace;
pub mod trust;
