//! What the commands need before their work: the tables, a GitHub client,
//! and GitHub's failures put as the person at the terminal needs them.

use sqlx::PgPool;

use crate::config::Config;
use crate::exit::AppError;
use crate::github::error::Blame;
use crate::github::{ClientSettings, Clients, GithubError};
use crate::report::Reporter;
use crate::store;

/// `run`, `add` and `status` need the tables; say how to get them.
pub(super) async fn require_schema(pool: &PgPool) -> Result<(), AppError> {
    let missing = store::missing_tables(pool).await?;
    match missing.len() {
        0 => Ok(()),
        n if n == store::TABLES.len() => {
            Err(AppError::usage("the database has no backfill tables yet: run `backfill migrate` first"))
        }
        _ => Err(AppError::usage(format!(
            "the database lacks the table(s) {}: run `backfill migrate` first",
            missing.join(", ")
        ))),
    }
}

pub(super) fn github_error(e: GithubError, what: &str) -> AppError {
    if let GithubError::NotInstalled { .. } = e {
        return AppError::usage(e.to_string());
    }
    match e.meaning().blame {
        Blame::Credential | Blame::Setting => AppError::usage(e.to_string()),
        Blame::Repository => AppError::usage(format!("{what} was not found on GitHub, or the token cannot see it")),
        Blame::Github | Blame::RateLimit { .. } | Blame::Backfill => AppError::failure(e.to_string()),
    }
}

/// The GitHub clients, with the tokens (one, or a pool spent one after
/// another) or, for a GitHub App, the installation tokens octocrab obtains
/// with the App's key as they are needed (an installation per owner when
/// none is named).
pub(super) async fn github_clients(
    config: &Config,
    reporter: &Reporter,
    deadline: Option<tokio::time::Instant>,
) -> Result<Clients, AppError> {
    let settings = ClientSettings { deadline, ..config.client };
    let credentials = match &config.app {
        Some(app) => std::slice::from_ref(app),
        None => config.tokens()?,
    };
    Clients::new(&config.graphql_url, &config.rest_url, credentials, settings, reporter.notifier())
        .map_err(|e| AppError::failure(e.to_string()))
}
