//! PostgreSQL: the contract's tables, read and written with plain SQL.

pub mod chunks;
pub mod claims;
pub mod counts;
pub mod credentials;
mod error;
pub mod fleet;
pub mod history;
mod ids;
pub mod indexes;
pub mod metadata;
pub mod owners;
pub mod pause;
pub mod progress;
pub mod refresh;
pub mod repair;
pub mod state;
pub mod tracking;
mod unnamed;
pub mod upsert;
pub mod verify;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

pub use error::{StoreError, StoreResult};
pub use metadata::{Change, Key, Metadata, Patch, PauseKind, ResumeTo};
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
    "backfill_chunk_points",
    "backfill_removals",
    "backfill_owners",
    "backfill_credentials",
    "backfill_chunk_counts",
    "backfill_verifications",
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
    let place = match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    };
    // One connection first, on its own: the pool would keep retrying and
    // end in a bare time-out, while this says what went wrong (refused,
    // timed out, no such host) within seconds.
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
        Ok(Ok(probe)) => {
            let _ = probe.close().await;
        }
        Ok(Err(e)) => return Err(StoreError::Unreachable(format!("{place}: {}", connect_cause(&e)))),
        Err(_) => {
            return Err(StoreError::Unreachable(format!(
                "{place}: no answer within {} s (is the host reachable, and the port open?)",
                CONNECT_TIMEOUT.as_secs()
            )))
        }
    }
    PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(15))
        .connect_with(options)
        .await
        .map_err(|e| StoreError::Unreachable(format!("{place}: {}", connect_cause(&e))))
}

/// How long the first connection may take before the tool says so.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What to check, from why the connection failed.
fn connect_cause(e: &sqlx::Error) -> String {
    let text = crate::text::one_line(&e.to_string());
    let lower = text.to_lowercase();
    let hint = if lower.contains("refused") {
        "connection refused: is PostgreSQL running there, and is the port right?"
    } else if lower.contains("lookup") || lower.contains("name or service not known") || lower.contains("resolve") {
        "host name not found: check the host in the database URL"
    } else if lower.contains("timed out") {
        "timed out: is the host reachable, and the port open?"
    } else if lower.contains("password") || lower.contains("authentication") {
        "authentication failed: check the user and password"
    } else if lower.contains("does not exist") {
        "the database or role does not exist: check the database URL"
    } else {
        return text;
    };
    format!("{hint} ({text})")
}

/// What `migrate` did beyond the migrations it applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migrated {
    pub applied: usize,
    /// The tool's indexes an interrupted build had left invalid, rebuilt.
    pub rebuilt: Vec<String>,
}

/// Applies the migrations the database lacks, rebuilds the tool's indexes
/// an interrupted build left invalid (`indexes`), and counts the chunks of
/// backfills that have no counts yet (`counts::fill_missing`).
pub async fn migrate(pool: &PgPool, route: Route) -> StoreResult<Migrated> {
    let before = applied_migrations(pool).await?;
    let mut migrator = sqlx::migrate!("./migrations");
    // The advisory lock is a session lock: through a transaction pooler it
    // could be taken on one server connection and released on another.
    migrator.set_locking(route == Route::Direct);
    migrator.run(pool).await?;
    let applied = applied_migrations(pool).await?.saturating_sub(before);
    let rebuilt = indexes::rebuild_invalid(pool).await?;
    counts::fill_missing(pool).await?;
    Ok(Migrated { applied, rebuilt })
}

/// Migrations recorded as applied (none before the first `migrate`).
async fn applied_migrations(pool: &PgPool) -> StoreResult<usize> {
    let mut tx = pool.begin().await?;
    let exists: bool =
        unnamed::scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(&mut *tx).await?;
    let n: i64 = if exists {
        unnamed::scalar("SELECT count(*) FROM _sqlx_migrations WHERE success").fetch_one(&mut *tx).await?
    } else {
        0
    };
    tx.commit().await?;
    Ok(usize::try_from(n).unwrap_or(0))
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
