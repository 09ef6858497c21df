//! PostgreSQL: the contract's tables, read and written with plain SQL.

pub mod chunks;
pub mod claims;
mod error;
pub mod metadata;
pub mod state;
mod unnamed;
pub mod upsert;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

pub use error::{StoreError, StoreResult};
pub use metadata::{Metadata, PauseKind};
pub use state::Backfill;

/// The tables the tool reads and writes (the contract's, then its own);
/// all must exist before `run`.
pub const TABLES: &[&str] = &[
    "repositories",
    "contributors",
    "pull_requests",
    "reviews",
    "comments",
    "progressive_backfill_state",
    "backfill_chunks",
    "backfill_claims",
];

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

/// How the database is reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Route {
    #[default]
    Direct,
    /// A transaction-mode pooler (PgBouncer, Supabase's on port 6543): each
    /// transaction may land on another server connection, so nothing may
    /// outlive one. The tool keeps no session state of its own (claims are
    /// row locks held by the chunk's transaction); this also turns off the
    /// named prepared statements sqlx caches per connection, and the session
    /// advisory lock that migrations take.
    TransactionPooler,
}

pub async fn connect(options: PgConnectOptions, route: Route) -> StoreResult<PgPool> {
    let options = options.application_name("backfill");
    let options = match route {
        Route::Direct => options,
        Route::TransactionPooler => options.statement_cache_capacity(0),
    };
    PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(15))
        .connect_with(options)
        .await
        .map_err(|e| StoreError::Unreachable(crate::text::one_line(&e.to_string())))
}

pub async fn migrate(pool: &PgPool, route: Route) -> StoreResult<()> {
    let mut migrator = sqlx::migrate!("./migrations");
    // The advisory lock is a session lock: through a transaction pooler it
    // could be taken on one server connection and released on another.
    migrator.set_locking(route == Route::Direct);
    Ok(migrator.run(pool).await?)
}

/// The contract's tables that this database lacks.
pub async fn missing_tables(pool: &PgPool) -> StoreResult<Vec<String>> {
    let names: Vec<String> = TABLES.iter().map(|s| s.to_string()).collect();
    let mut tx = pool.begin().await?;
    let missing = unnamed::scalar("SELECT t FROM unnest($1::text[]) AS t WHERE to_regclass(quote_ident(t)) IS NULL")
        .bind(&names)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(missing)
}
