//! `backfill verify [ID | OWNER/NAME | OWNER/*] [--json] [--repair
//! [--delete-missing]]`: each backfill's copy against GitHub's counts, a
//! line per kind of difference, and exit 1 when anything differs, as a
//! check should. `--repair` refetches what differs and verifies again, and
//! exits 0 once the copy matches (but for the PRs GitHub no longer has that
//! it was not told to delete). What each found is kept in
//! `backfill_verifications`.

use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;

use super::setup::{backfill_named, github_clients, require_schema, tracked};
use crate::backfill::repair::{check_whole, repair, Checked, RepairSettings};
use crate::backfill::VerifyError;
use crate::cli::VerifyArgs;
use crate::config::Config;
use crate::exit::{AppError, Exit};
use crate::github::error::Blame;
use crate::github::GithubClient;
use crate::report::verify::{Kind, Repair, Verification};
use crate::report::Reporter;
use crate::store::claims::{self, Holder};
use crate::store::state::{self, Backfill};
use crate::store::verify::{self as stored, Pass, Record};
use crate::store::{self, StoreError};

/// How long a repair's claim lasts without its heartbeat, as a run's.
const LEASE: Duration = Duration::from_secs(30);

pub(super) async fn verify(
    config: &Config,
    pool: &PgPool,
    reporter: &Reporter,
    args: VerifyArgs,
) -> Result<Exit, AppError> {
    require_schema(pool).await?;
    let backfills = targets(pool, args.target.as_deref()).await?;
    let clients = github_clients(config, reporter, None).await?;
    clients.seed(&store::credentials::kept(pool).await?);
    let settings = RepairSettings { delete_missing: args.delete_missing, processor_type: config.processor_type };
    let holder = Holder::new(LEASE);
    let mut exit = Exit::Success;
    for backfill in &backfills {
        // An App not installed on the owner fails that backfill alone.
        let outcome = match clients.for_repository(&backfill.owner, &backfill.name).await {
            Err(e) => Err(VerifyError::Github(e)),
            Ok(github) if args.repair => verify_repair(pool, &github, backfill, settings, &holder).await,
            Ok(github) => verify_one(pool, &github, backfill).await,
        };
        match outcome {
            Ok(v) => {
                if !v.matches {
                    exit = Exit::Failure;
                }
                match args.json {
                    true => reporter.result(&serde_json::to_string(&v).map_err(|e| AppError::failure(e.to_string()))?),
                    false => reporter.result(&v.lines().join("\n")),
                }
            }
            Err(e) => {
                reporter.error(&format!("{}: {}", backfill.full_name, failure(e)?));
                exit = Exit::Failure;
            }
        }
    }
    store::credentials::keep(pool, &clients.credentials()).await?;
    Ok(exit)
}

/// What a failure of one backfill's verify is to the person at the
/// terminal: the line to print, or the error that stops every verify.
fn failure(e: VerifyError) -> Result<String, AppError> {
    match e {
        VerifyError::Github(e) => match e.meaning().blame {
            Blame::Credential | Blame::Setting => Err(AppError::usage(e.to_string())),
            Blame::Github | Blame::RateLimit { .. } | Blame::Repository | Blame::Backfill => Ok(e.to_string()),
        },
        VerifyError::Store(e) => Err(e.into()),
        VerifyError::Taken(_) => Ok(e.to_string()),
    }
}

/// The backfills a target names: one (`ID`, `OWNER/NAME`), an owner's
/// (`OWNER/*`), or every one; a target that names none is a usage error.
async fn targets(pool: &PgPool, target: Option<&str>) -> Result<Vec<Backfill>, AppError> {
    match target.map(str::trim) {
        Some(ident) if !ident.ends_with("/*") => Ok(vec![tracked(backfill_named(pool, ident).await?)?]),
        Some(pattern) => {
            let login = pattern.trim_end_matches("/*");
            let backfills = state::of_owner(pool, Some(login)).await?;
            if backfills.is_empty() {
                return Err(AppError::usage(format!(
                    "no backfill of '{login}': `backfill add '{login}/*'` tracks them"
                )));
            }
            Ok(backfills)
        }
        None => Ok(state::of_owner(pool, None).await?),
    }
}

/// A verify alone: nothing is written but its row.
async fn verify_one(pool: &PgPool, github: &GithubClient, backfill: &Backfill) -> Result<Verification, VerifyError> {
    let started = Utc::now();
    let checked = check_whole(pool, github, backfill).await?;
    let matches = checked.differences.is_empty();
    keep(pool, backfill, &checked, None, started, checked.points).await?;
    Ok(verification(backfill, &checked, None, matches, checked.points))
}

/// Verify, repair what differs, verify again; under a claim, so that no
/// run stores a chunk of the backfill meanwhile.
async fn verify_repair(
    pool: &PgPool,
    github: &GithubClient,
    backfill: &Backfill,
    settings: RepairSettings,
    holder: &Holder,
) -> Result<Verification, VerifyError> {
    let Some(claimed) = claims::take_for_repair(pool, backfill.id, holder).await? else {
        return Err(VerifyError::Taken(backfill.full_name.clone()));
    };
    let outcome = repaired(pool, github, &claimed, settings, holder).await;
    // Best effort: a claim that cannot be given up lapses by itself.
    let _ = claims::release_all(pool, holder).await;
    outcome
}

async fn repaired(
    pool: &PgPool,
    github: &GithubClient,
    backfill: &Backfill,
    settings: RepairSettings,
    holder: &Holder,
) -> Result<Verification, VerifyError> {
    let (started, before) = (Utc::now(), github.points_spent());
    let checked = check_whole(pool, github, backfill).await?;
    if checked.differences.is_empty() {
        keep(pool, backfill, &checked, None, started, checked.points).await?;
        return Ok(verification(backfill, &checked, None, true, checked.points));
    }
    let mut done = repair(pool, github, backfill, &checked, settings, holder).await?;
    // The state as the repair left it: its count of stored PRs.
    let now = state::get(pool, backfill.id).await?.unwrap_or_else(|| backfill.clone());
    let after = check_whole(pool, github, &now).await?;
    done.left = after.differences;
    let matches = done.left.only_gone() && done.left.of(Kind::PrsGone) == done.kept;
    let points = github.points_spent() - before;
    keep(pool, backfill, &checked, Some((&done, matches)), started, points).await?;
    Ok(verification(backfill, &checked, Some(done), matches, points))
}

/// The verify's row in `backfill_verifications`: what it found first, and
/// what its repair did.
async fn keep(
    pool: &PgPool,
    backfill: &Backfill,
    checked: &Checked,
    repair: Option<(&Repair, bool)>,
    started: chrono::DateTime<Utc>,
    points: i64,
) -> Result<(), StoreError> {
    let record = Record {
        pass: Pass::Verify,
        pass_started_at: started,
        first_pr: checked.first_pr(),
        last_pr: checked.last_pr(),
        end_cursor: None,
        pass_done: true,
        prs_checked: checked.listed(),
        found: &checked.differences,
        refetched: repair.map_or(0, |(r, _)| r.refetched.len()),
        deleted: repair.map_or(0, |(r, _)| r.deleted.len()),
        repaired: repair.map_or(checked.differences.is_empty(), |(_, matches)| matches),
        points,
    };
    stored::record(pool, backfill.id, &record).await
}

fn verification(
    backfill: &Backfill,
    checked: &Checked,
    repair: Option<Repair>,
    matches: bool,
    points: i64,
) -> Verification {
    Verification {
        repository: backfill.full_name.clone(),
        prs_on_github: checked.listing.total_count,
        prs_listed: checked.listed(),
        prs_stored: checked.stored.len(),
        through_pr: checked.span.through,
        differences: checked.differences.clone(),
        repair,
        matches,
        points,
    }
}
