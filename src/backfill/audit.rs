//! The rolling audit of a scheduled run (`run --audit N`): after its
//! chunks, the run verifies the next N PRs of each completed backfill it
//! took (GitHub's counts of them against the copy, 100 PRs a point) and
//! refetches whole those that differ, as `verify --repair` does. Each
//! window goes on after the last one's cursor, kept in its
//! `backfill_verifications` row, so a whole copy is audited over many runs
//! inside the usual budget; the window that reaches the newest PR ends the
//! pass, and the next run begins another at the first PR. PRs GitHub no
//! longer has are reported and kept (only `verify --repair
//! --delete-missing` deletes them).

use chrono::Utc;
use sqlx::PgPool;
use uuid::Uuid;

use super::repair::{check, repair, RepairSettings};
use super::turns::Run;
use super::verify::window_span;
use super::{RunError, VerifyError};
use crate::github::error::Blame;
use crate::github::verify::{Reach, PAGE};
use crate::github::GithubClient;
use crate::report::audit::AuditWindow;
use crate::report::verify::Repair;
use crate::report::Reporter;
use crate::shutdown::Shutdown;
use crate::status::BackfillStatus;
use crate::store::claims;
use crate::store::state;
use crate::store::verify::{self as stored, Pass, Record};

/// Whether the audit of the rest of the run's backfills goes on.
enum Next {
    Go,
    Stop,
}

impl Run<'_> {
    /// The next `window` PRs of each completed backfill of the run.
    pub(super) async fn audit(
        &mut self,
        pool: &PgPool,
        reporter: &mut Reporter,
        shutdown: &mut Shutdown,
        window: u32,
    ) -> Result<(), RunError> {
        for at in 0..self.ids.len() {
            let Some(github) = self.served[at].clone() else { continue };
            if self.out_of_time() || shutdown.requested().is_some() {
                reporter.info("the audit stops here for the time budget; the next run goes on from where it stopped");
                return Ok(());
            }
            // A window's listing is a point per 100 PRs, its repair more:
            // the audit waits for a budget that pays at least for the listing.
            let listing = (i64::from(window) + PAGE - 1) / PAGE + 1;
            if github.spendable().is_some_and(|left| left < listing) {
                reporter.info("the audit waits for the next run: the rate-limit budget is spent");
                return Ok(());
            }
            let before = github.points_spent();
            let next = self.audit_one(pool, &github, self.ids[at], window, reporter).await;
            let points = github.points_spent() - before;
            self.summary.points += points;
            self.summary.backfills[at].points += points;
            if let Next::Stop = next? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// One backfill's window, claimed for its repair; a failure of GitHub's
    /// is a warning, and the next run tries the same window again.
    async fn audit_one(
        &self,
        pool: &PgPool,
        github: &GithubClient,
        id: Uuid,
        window: u32,
        reporter: &Reporter,
    ) -> Result<Next, RunError> {
        let Some(backfill) = state::get(pool, id).await? else { return Ok(Next::Go) };
        if backfill.status != BackfillStatus::Completed {
            return Ok(Next::Go);
        }
        let Some(backfill) = claims::take_for_repair(pool, id, &self.holder).await? else { return Ok(Next::Go) };
        let outcome = self.audit_window(pool, github, &backfill, window, reporter).await;
        // Best effort: a claim that cannot be given up lapses by itself.
        let _ = claims::release_all(pool, &self.holder).await;
        match outcome {
            Ok(()) => Ok(Next::Go),
            Err(VerifyError::Store(e)) => Err(e.into()),
            Err(VerifyError::Github(e)) => {
                let name = &backfill.full_name;
                match e.meaning().blame {
                    Blame::Credential => Err(RunError::BadCredentials(e.to_string())),
                    Blame::Setting => Err(RunError::Config(e.to_string())),
                    Blame::RateLimit { .. } => {
                        reporter
                            .warn(&format!("{name}: the audit stopped for the rate limit ({e}); the next run goes on"));
                        Ok(Next::Stop)
                    }
                    Blame::Github | Blame::Repository | Blame::Backfill => {
                        reporter
                            .warn(&format!("{name}: the audit failed ({e}); the next run tries the same PRs again"));
                        Ok(Next::Go)
                    }
                }
            }
            Err(e @ VerifyError::Taken(_)) => {
                reporter.warn(&e.to_string());
                Ok(Next::Go)
            }
        }
    }

    async fn audit_window(
        &self,
        pool: &PgPool,
        github: &GithubClient,
        backfill: &state::Backfill,
        window: u32,
        reporter: &Reporter,
    ) -> Result<(), VerifyError> {
        let position = stored::audit_position(pool, backfill.id).await?;
        let (pass_started_at, cursor, after) = match &position {
            Some(p) => (p.pass_started_at, p.end_cursor.as_deref(), p.last_pr),
            None => (Utc::now(), None, None),
        };
        let reach = Reach::Prs(usize::try_from(window).unwrap_or(usize::MAX));
        let span = |l: &crate::github::verify::Listing| window_span(after, &l.prs, !l.has_next_page);
        let before = github.points_spent();
        let checked = check(pool, github, backfill, cursor, reach, span).await?;
        let settings = RepairSettings { delete_missing: false, processor_type: self.opts.processor_type };
        let repaired = match checked.differences.is_empty() {
            true => Repair::default(),
            false => repair(pool, github, backfill, &checked, settings, &self.holder).await?,
        };
        let points = github.points_spent() - before;
        let pass_done = !checked.listing.has_next_page;
        let last_pr = checked.listing.prs.last().map(|p| p.number).or(after);
        stored::record(
            pool,
            backfill.id,
            &Record {
                pass: Pass::Audit,
                pass_started_at,
                first_pr: checked.first_pr(),
                last_pr,
                end_cursor: checked.listing.end_cursor.clone(),
                pass_done,
                prs_checked: checked.listed(),
                found: &checked.differences,
                refetched: repaired.refetched.len(),
                deleted: 0,
                repaired: repaired.refetched.len() >= checked.differences.to_refetch().len(),
                points,
            },
        )
        .await?;
        let line = AuditWindow {
            repository: &backfill.full_name,
            first_pr: checked.first_pr(),
            last_pr: checked.last_pr(),
            prs_checked: checked.listed(),
            found: &checked.differences,
            repair: &repaired,
            points,
            pass_done,
        };
        reporter.info(&line.line());
        Ok(())
    }
}
