//! What the commands need before their work: the tables, the backfill a
//! command names, a GitHub client, and GitHub's failures put as the person
//! at the terminal needs them.

use sqlx::PgPool;

use crate::config::Config;
use crate::exit::AppError;
use crate::github::error::Blame;
use crate::github::{ClientSettings, Clients, GithubError};
use crate::report::Reporter;
use crate::store::{self, state, tracking, Backfill};

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

/// The backfill `ident` names, or a usage error that says why there is none.
pub(super) async fn backfill_named(pool: &PgPool, ident: &str) -> Result<Backfill, AppError> {
    if let Some(backfill) = state::find(pool, ident).await? {
        return Ok(backfill);
    }
    Err(match tracking::removed(pool, ident).await? {
        Some((name, _)) => AppError::usage(format!(
            "{name} was removed with --purge, its chunks and state with it: `backfill add {name}` tracks it again"
        )),
        None => AppError::usage(format!("no backfill for '{ident}'")),
    })
}

/// A removed backfill takes no pause, resume or priority: it is not tracked.
pub(super) fn tracked(backfill: Backfill) -> Result<Backfill, AppError> {
    match backfill.removed {
        true => Err(AppError::usage(format!(
            "{} was removed: `backfill add {}` tracks it again",
            backfill.full_name, backfill.full_name
        ))),
        false => Ok(backfill),
    }
}
