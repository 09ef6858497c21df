//! PostgreSQL: the contract's tables, read and written with plain SQL.

pub mod chunks;
pub mod state;
pub mod upsert;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

pub use state::{Backfill, BackfillStatus};

/// The tables the tool reads and writes; all must exist before `run`.
pub const TABLES: &[&str] = &[
    "repositories",
    "contributors",
    "pull_requests",
    "reviews",
    "comments",
    "progressive_backfill_state",
    "backfill_chunks",
];

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Parses the URL without echoing it: it may hold a password.
pub fn parse_url(url: &str) -> Result<PgConnectOptions, String> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err("the database URL is not a PostgreSQL URL: it must start with postgres:// or postgresql://".into());
    }
    PgConnectOptions::from_str(url)
        .map_err(|e| format!("the database URL is not a valid PostgreSQL URL ({})", strip_url(&e.to_string(), url)))
}

/// Removes the URL (and so any password) from a message that might quote it.
pub fn strip_url(message: &str, url: &str) -> String {
    if url.is_empty() {
        message.to_string()
    } else {
        message.replace(url, "<database-url>")
    }
}

pub async fn connect(options: PgConnectOptions) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(15))
        .connect_with(options.application_name("backfill"))
        .await
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// The contract's tables that this database lacks.
pub async fn missing_tables(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    let names: Vec<String> = TABLES.iter().map(|s| s.to_string()).collect();
    sqlx::query_scalar("SELECT t FROM unnest($1::text[]) AS t WHERE to_regclass(quote_ident(t)) IS NULL")
        .bind(&names)
        .fetch_all(pool)
        .await
}
