//! `backfill`: progressive, crash-safe backfill of GitHub pull-request history
//! into PostgreSQL.
//!
//! The modules follow the data path, and imports run one way, down it:
//! `app -> cli -> config -> backfill -> store -> github -> report`.
//! `app` runs the commands; `cli` parses flags into `config`'s settings;
//! `backfill` is the run loop (pick, claim, plan, fetch, store, report);
//! `store` writes what `github` fetched; `report` shows plain values that
//! the layers above fill. Below them all sit the leaves, which import
//! nothing of the crate: `budget`, `exit`, `shutdown`, `status`, `text`.
//! `tests/architecture.rs` holds the code to this order.

pub mod app;
pub mod backfill;
pub mod budget;
pub mod cli;
pub mod config;
pub mod exit;
pub mod github;
pub mod report;
pub mod shutdown;
pub mod status;
pub mod store;
pub mod text;
