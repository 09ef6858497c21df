//! The picker: which backfills a run takes, in priority order
//! (`priority::order`) and within a priority the contract's.

use chrono::Utc;
use sqlx::PgPool;
use uuid::Uuid;

use super::priority::{self, Ranked};
use super::{RunError, RunOptions};
use crate::budget::Budget;
use crate::github::error::Blame;
use crate::github::lookup::list_repositories;
use crate::github::{rate_limit, Clients, GithubClient, RepositoryInfo};
use crate::report::Reporter;
use crate::status::BackfillStatus;
use crate::store::fleet::{self, Owner, Verdict};
use crate::store::{owners, state};

/// `--discover` first, when asked: the repositories of each owner added
/// whole (`add 'OWNER/*'`) that its filters let in and that have no
/// backfill get one, and so do tracked repositories without a backfill.
pub async fn discover(
    pool: &PgPool,
    clients: &Clients,
    opts: &RunOptions,
    reporter: &Reporter,
) -> Result<(), RunError> {
    for owner in owners::followed(pool).await? {
        discover_owner(pool, clients, &owner, opts.dry_run, reporter).await?;
    }
    let found = state::discover(pool, !opts.dry_run).await?;
    let verb = if opts.dry_run { "would start" } else { "started" };
    match found.len() {
        0 => reporter.info("discovery: every tracked repository has a backfill or its PRs"),
        n => reporter.info(&format!("discovery: {verb} {n} backfill(s): {}", found.join(", "))),
    }
    Ok(())
}

/// One owner's repositories, listed (a request per 100 of them): what is
/// new and let in by the owner's filters is tracked with the owner's
/// settings; what `backfill remove` stopped stays removed. An owner GitHub
/// no longer shows, or a listing GitHub fails, is a warning: the run goes on.
async fn discover_owner(
    pool: &PgPool,
    clients: &Clients,
    owner: &Owner,
    dry_run: bool,
    reporter: &Reporter,
) -> Result<(), RunError> {
    let login = &owner.login;
    let listed = match clients.for_owner(login).await {
        Ok(github) => list_repositories(&github, login).await,
        Err(e) => Err(e),
    };
    let listing = match listed {
        Ok(listing) => listing,
        Err(e) => {
            return match e.meaning().blame {
                Blame::Credential => Err(RunError::BadCredentials(e.to_string())),
                Blame::Setting => Err(RunError::Config(e.to_string())),
                Blame::Repository => {
                    reporter.warn(&format!(
                        "discovery: GitHub shows no owner {login} (any more): `backfill remove '{login}/*'` stops looking"
                    ));
                    Ok(())
                }
                Blame::Github | Blame::RateLimit { .. } | Blame::Backfill => {
                    reporter.warn(&format!("discovery: cannot list the repositories of {login}: {e}"));
                    Ok(())
                }
            };
        }
    };
    let standings = fleet::standings(pool, &listing.ids()).await?;
    let verdicts = fleet::plan(&listing.repositories, &owner.filters, &standings);
    let new: Vec<&RepositoryInfo> = (listing.repositories.iter().zip(&verdicts))
        .filter(|(_, verdict)| **verdict == Verdict::Track)
        .map(|(repo, _)| &repo.info)
        .collect();
    if !dry_run {
        for info in &new {
            state::track(pool, info, owner.settings.chunk_size, &owner.settings.patch(true)).await?;
        }
    }
    let verb = if dry_run { "would start" } else { "started" };
    let names: Vec<&str> = new.iter().map(|info| info.full_name.as_str()).collect();
    match new.len() {
        0 => reporter
            .info(&format!("discovery: {login}/*: nothing new among its {} repositories", listing.repositories.len())),
        n => reporter.info(&format!("discovery: {login}/*: {verb} {n} backfill(s): {}", names.join(", "))),
    }
    Ok(())
}

/// All runnable backfills, or the one `--repository-id` names if it may run.
pub async fn backfills(pool: &PgPool, opts: &RunOptions, reporter: &Reporter) -> Result<Vec<Ranked>, RunError> {
    let Some(ident) = &opts.repository else {
        return Ok(priority::order(&state::runnable(pool).await?));
    };
    let backfill = state::find(pool, ident).await?.ok_or_else(|| {
        RunError::Usage(format!("no backfill for '{ident}': start one with `backfill add OWNER/NAME`"))
    })?;
    let one = |id: Uuid| vec![Ranked { id, weight: priority::weight(backfill.metadata.priority.unwrap_or_default()) }];
    if backfill.removed {
        reporter.info(&format!(
            "{}: removed, skipped (`backfill add {}` tracks it again)",
            backfill.full_name, backfill.full_name
        ));
        return Ok(Vec::new());
    }
    match backfill.status {
        BackfillStatus::Completed => {
            reporter.info(&format!("{}: already completed, nothing to do", backfill.full_name));
            Ok(Vec::new())
        }
        BackfillStatus::Active => Ok(one(backfill.id)),
        _ if backfill.metadata.pause_over(Utc::now()) => Ok(one(backfill.id)),
        other => {
            reporter.info(&format!(
                "{}: {other}, skipped (`backfill resume {}` to run it again)",
                backfill.full_name, backfill.full_name
            ));
            Ok(Vec::new())
        }
    }
}

/// One free request, the budget alone: a rejected token or a URL that is
/// not GitHub's GraphQL API stops the run as a configuration error; a spent
/// rate limit means the credential was accepted; any other failure is only
/// worth a warning here. Returns the budget GitHub stated.
pub async fn check_credentials(github: &GithubClient, reporter: &Reporter) -> Result<Option<Budget>, RunError> {
    match rate_limit(github).await {
        Ok(budget) => Ok(budget),
        Err(e) => match e.meaning().blame {
            Blame::Credential => Err(RunError::BadCredentials(e.to_string())),
            Blame::Setting => Err(RunError::Config(e.to_string())),
            Blame::RateLimit { reset_at } => {
                let until = reset_at.map(|t| format!(" until {}", t.format("%H:%M:%S UTC"))).unwrap_or_default();
                reporter.info(&format!("GitHub's rate limit is spent{until}"));
                Ok(None)
            }
            Blame::Github | Blame::Repository | Blame::Backfill => {
                reporter.warn(&format!("cannot read the rate limit from GitHub: {e}"));
                Ok(None)
            }
        },
    }
}
