//! `backfill verify` and its repair, for one backfill: GitHub's PRs listed
//! cheaply (`github::verify`) and compared with the copy (`verify`), then
//! every PR that differs refetched whole through the pipeline and stored
//! as a sweep stores its pages: one short transaction per page, under the
//! backfill's claim, with a chunk row of its numbers, and what GitHub no
//! longer has for those PRs deleted. PRs GitHub no longer has at all are
//! deleted only when asked.

use std::collections::HashMap;

use chrono::Utc;
use sqlx::PgPool;

use super::chunk::keep_claim;
use super::verify::compare;
use super::VerifyError;
use crate::github::verify::{self as listing, Listing, Reach};
use crate::github::{GithubClient, Pipeline};
use crate::report::verify::{Differences, Kind, Repair};
use crate::status::BackfillStatus;
use crate::store::chunks::ChunkRecord;
use crate::store::claims::{self, Began, Holder, Verdict};
use crate::store::state::Backfill;
use crate::store::verify::{self as stored, Span, StoredPr};
use crate::store::StoreError;

/// PRs a repair's page asks for, at most (a backfill's largest page).
const REFETCH_PAGE: i64 = 50;

/// What a comparison of one backfill (or an audit's window) found.
#[derive(Debug, Clone)]
pub struct Checked {
    pub listing: Listing,
    pub stored: Vec<StoredPr>,
    pub span: Span,
    pub differences: Differences,
    /// Points the listing cost.
    pub points: i64,
}

impl Checked {
    /// GitHub's PRs inside the span compared.
    pub fn listed(&self) -> usize {
        self.listing.prs.iter().filter(|p| self.span.holds(p.number)).count()
    }

    pub fn first_pr(&self) -> Option<i32> {
        let numbers = self.listing.prs.iter().map(|p| p.number).chain(self.stored.iter().map(|p| p.number));
        numbers.filter(|n| self.span.holds(*n)).min()
    }

    pub fn last_pr(&self) -> Option<i32> {
        let numbers = self.listing.prs.iter().map(|p| p.number).chain(self.stored.iter().map(|p| p.number));
        numbers.filter(|n| self.span.holds(*n)).max()
    }
}

/// The span a whole verify compares: every PR of a completed backfill, and
/// of one under way those up to its last stored PR (what it has not
/// reached yet is not missing).
pub fn whole_span(backfill: &Backfill) -> Span {
    match backfill.status {
        BackfillStatus::Completed => Span::default(),
        BackfillStatus::Active | BackfillStatus::Paused | BackfillStatus::Failed => {
            Span { after: None, through: Some(backfill.last_processed_pr_number.unwrap_or(0)) }
        }
    }
}

/// Compares the copy of `backfill` in `span` with GitHub, listing from
/// `after` (a cursor) as far as `reach`.
pub async fn check(
    pool: &PgPool,
    github: &GithubClient,
    backfill: &Backfill,
    after: Option<&str>,
    reach: Reach,
    span: impl Fn(&Listing) -> Span,
) -> Result<Checked, VerifyError> {
    let before = github.points_spent();
    let listing = listing::list(github, &backfill.owner, &backfill.name, after, reach).await?;
    let span = span(&listing);
    let stored = stored::stored_prs(pool, backfill.repository_id, span).await?;
    let differences = compare(&stored, &listing.prs, span);
    Ok(Checked { listing, stored, span, differences, points: github.points_spent() - before })
}

/// The whole copy of a backfill against GitHub.
pub async fn check_whole(pool: &PgPool, github: &GithubClient, backfill: &Backfill) -> Result<Checked, VerifyError> {
    let span = whole_span(backfill);
    let reach = span.through.map_or(Reach::All, Reach::Through);
    check(pool, github, backfill, None, reach, |_| span).await
}

/// What a repair is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct RepairSettings {
    /// Delete the PRs GitHub no longer has (else they are kept).
    pub delete_missing: bool,
    pub processor_type: &'static str,
}

/// Refetches whole every PR `checked` found different and stores it, and
/// deletes those GitHub no longer has when asked; the backfill must be
/// claimed by `holder`. Returns what it did (`left` is for the caller's
/// verify after it).
pub async fn repair(
    pool: &PgPool,
    github: &GithubClient,
    backfill: &Backfill,
    checked: &Checked,
    settings: RepairSettings,
    holder: &Holder,
) -> Result<Repair, VerifyError> {
    let ids: HashMap<i32, &str> = checked.listing.prs.iter().map(|p| (p.number, p.id.as_str())).collect();
    let wanted: Vec<String> =
        checked.differences.to_refetch().iter().filter_map(|n| ids.get(n).map(|id| id.to_string())).collect();
    let mut done = Repair::default();
    let node_limit = backfill.metadata.node_limit.and_then(|n| u64::try_from(n).ok());
    let size = backfill.metadata.max_chunk_size.unwrap_or(REFETCH_PAGE).clamp(1, REFETCH_PAGE);
    let mut pipeline = Pipeline::refetch(&backfill.owner, &backfill.name, wanted, node_limit);
    while !pipeline.exhausted() {
        let (started_at, before) = (Utc::now(), github.points_spent());
        let page = tokio::select! {
            page = pipeline.next_chunk(github, size, 0) => page?,
            () = keep_claim(pool, backfill.id, holder) => return Err(VerifyError::Taken(backfill.full_name.clone())),
        };
        if page.prs.is_empty() {
            continue;
        }
        let record = ChunkRecord {
            started_at,
            pr_numbers: page.prs.iter().map(|p| p.number).collect(),
            api_calls: i32::try_from(page.requests).unwrap_or(i32::MAX),
            rate_limit_remaining: page.budget.map(|b| i32::try_from(b.remaining).unwrap_or(i32::MAX)),
            processor_type: settings.processor_type,
            points: github.points_spent() - before,
        };
        let mut tx = held(pool, backfill, holder).await?;
        stored::write_refetched(&mut tx, backfill, &page.prs, &record).await?;
        tx.commit().await.map_err(StoreError::from)?;
        done.refetched.extend(record.pr_numbers);
    }
    let gone = checked.differences.of(Kind::PrsGone);
    match (settings.delete_missing, gone.is_empty()) {
        (_, true) => {}
        (true, false) => {
            let mut tx = held(pool, backfill, holder).await?;
            stored::delete_prs(&mut tx, backfill, &gone).await?;
            tx.commit().await.map_err(StoreError::from)?;
            done.deleted = gone;
        }
        (false, false) => done.kept = gone,
    }
    // What was found missing may have been deleted behind the tool's back,
    // uncounted: once per repair, `processed_prs` is counted from the rows.
    if !done.refetched.is_empty() || !done.deleted.is_empty() {
        let mut tx = held(pool, backfill, holder).await?;
        stored::recount_processed(&mut tx, backfill).await?;
        tx.commit().await.map_err(StoreError::from)?;
    }
    done.refetched.sort_unstable();
    Ok(done)
}

/// A transaction that holds the claim (and the state row), or why not.
async fn held<'p>(
    pool: &'p PgPool,
    backfill: &Backfill,
    holder: &Holder,
) -> Result<sqlx::Transaction<'p, sqlx::Postgres>, VerifyError> {
    let mut tx = pool.begin().await.map_err(StoreError::from)?;
    match claims::confirm(&mut tx, backfill.id, holder, Began::Anywhere).await? {
        Verdict::Held => Ok(tx),
        Verdict::ClaimLost | Verdict::CursorMoved | Verdict::Removed => {
            Err(VerifyError::Taken(backfill.full_name.clone()))
        }
    }
}
