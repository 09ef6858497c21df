//! `backfill`: progressive, crash-safe backfill of GitHub pull-request history
//! into PostgreSQL. The modules follow the data path:
//! `cli` -> `config` -> `backfill` -> (`github`, `store`) -> `report`.

pub mod app;
pub mod backfill;
pub mod cli;
pub mod config;
pub mod exit;
pub mod github;
pub mod report;
pub mod shutdown;
pub mod store;
