//! The picker: which backfills a run takes, in priority order
//! (`priority::order`) and within a priority the contract's.

use chrono::Utc;
use sqlx::PgPool;
use uuid::Uuid;

use super::priority::{self, Ranked};
use super::{RunError, RunOptions};
use crate::budget::Budget;
use crate::github::error::Blame;
use crate::github::{rate_limit, GithubClient};
use crate::report::Reporter;
use crate::status::BackfillStatus;
use crate::store::state;

/// `--discover` first, when asked: tracked repositories without a backfill get one.
pub async fn discover(pool: &PgPool, opts: &RunOptions, reporter: &Reporter) -> Result<(), RunError> {
    let found = state::discover(pool, !opts.dry_run).await?;
    let verb = if opts.dry_run { "would start" } else { "started" };
    match found.len() {
        0 => reporter.info("discovery: every tracked repository has a backfill or its PRs"),
        n => reporter.info(&format!("discovery: {verb} {n} backfill(s): {}", found.join(", "))),
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
