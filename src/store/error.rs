//! The one error type of the store: what kind of failure it was, so the
//! run loop and the commands branch on the kind and say it once.

use crate::text::one_line;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection could be opened at all: where, and what to check.
    #[error("cannot connect to PostgreSQL at {0}")]
    Unreachable(String),
    /// The server went away (restart, failover, network, pool exhausted):
    /// what was not committed was rolled back.
    #[error(
        "lost the connection to PostgreSQL ({0}): what was not committed was rolled back, and the next run continues from the last stored chunk"
    )]
    ConnectionLost(String),
    /// PostgreSQL refused what was written (a constraint of an existing
    /// database, say): that chunk fails, the run goes on.
    #[error("database error: {0}")]
    Refused(String),
    /// What was read or written does not add up (a row missing after an
    /// upsert, a status the contract does not know).
    #[error("the database holds what the tool cannot use: {0}")]
    Inconsistent(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        let text = one_line(&e.to_string());
        match &e {
            sqlx::Error::Io(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::ConnectionLost(text),
            // 57P01-57P03: shutting down or restarting; 08xxx: connection exceptions.
            sqlx::Error::Database(d) if d.code().is_some_and(|c| c.starts_with("57P") || c.starts_with("08")) => {
                StoreError::ConnectionLost(text)
            }
            sqlx::Error::Database(_) => StoreError::Refused(text),
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => StoreError::Inconsistent(text),
            _ => StoreError::Other(text),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> StoreError {
        let text = one_line(&e.to_string());
        match e {
            sqlx::migrate::MigrateError::Execute(inner) => match StoreError::from(inner) {
                lost @ StoreError::ConnectionLost(_) => lost,
                _ => StoreError::Other(text),
            },
            _ => StoreError::Other(text),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
