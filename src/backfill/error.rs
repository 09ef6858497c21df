//! How a run fails as a whole. Its own file, below the run's phases, since
//! each of them returns it and the loop in `mod.rs` uses each of them.

use crate::store::StoreError;

/// Failures that stop the whole run rather than one backfill.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Usage(String),
    /// The token or the App was refused (the message names which): no
    /// retry, and no backfill is held to blame.
    #[error("{0}")]
    BadCredentials(String),
    /// A setting is wrong (the GraphQL URL): nothing was marked.
    #[error("{0}")]
    Config(String),
    /// GitHub is down, overloaded or too slow: nothing was paused or marked failed.
    #[error(
        "GitHub could not be reached ({0}): no backfill was paused or marked failed, and the next run tries again"
    )]
    GithubDown(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a verify or a repair of one backfill fails.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Github(#[from] crate::github::GithubError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another process holds the backfill (a run storing a chunk), or it
    /// was removed meanwhile: nothing more was written.
    #[error("{0} is held by another process, or was removed: the repair stopped there; try again later")]
    Taken(String),
}
