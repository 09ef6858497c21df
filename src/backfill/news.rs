//! Backfills kept current are checked together before the run takes its
//! turns: one request asks up to a hundred repositories what the run needs
//! to know (was a PR created after the cursor? was one updated since the
//! watermark?), so a fleet where nothing happened costs a request per
//! hundred backfills, not two per backfill. Only those with news get turns,
//! through the usual paths; the others are current as of the check, as
//! after a sweep that found nothing. The sweep's rules stay: a PR counts as
//! changed when updated after the watermark (which reaches back a margin),
//! and a whole page of the most recently updated is read, as GitHub keeps
//! that order only loosely.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::serving::by_client;
use super::sweep::{next_watermark, watermark};
use super::{Run, RunError};
use crate::github::error::Blame;
use crate::github::news::{news, News, NewsAsk};
use crate::github::GithubClient;
use crate::report::Reporter;
use crate::status::BackfillStatus;
use crate::store::refresh::mark_current;
use crate::store::state::Backfill;

/// What a backfill kept current gets from this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Turnout {
    /// Nothing new: no turn, current as of the check.
    Current,
    /// A turn: from the page after the cursor, or (`sweep_first`) straight
    /// to the sweep; `sweep_after`: PRs stored before changed, so a turn
    /// that found new PRs sweeps after them.
    Turn { sweep_first: bool, sweep_after: bool },
}

/// The usual turn: new PRs first, then the sweep.
pub(super) const USUAL: Turnout = Turnout::Turn { sweep_first: false, sweep_after: true };

/// What the news of a backfill's repository say its turn should do;
/// `last_number`: the number of the newest PR stored (PRs after it are new,
/// not changed).
pub(super) fn turnout(news: &News, watermark: DateTime<Utc>, last_number: Option<i32>) -> Turnout {
    let News::Found { created_after_cursor, recently_updated, .. } = news else {
        // GitHub no longer shows it: the usual turn finds out and says so.
        return USUAL;
    };
    let changed = recently_updated.iter().any(|(n, at)| *at > watermark && last_number.is_none_or(|last| *n <= last));
    match (created_after_cursor, changed) {
        (false, false) => Turnout::Current,
        (false, true) => Turnout::Turn { sweep_first: true, sweep_after: true },
        (true, sweep_after) => Turnout::Turn { sweep_first: false, sweep_after },
    }
}

/// Whether a backfill is checked with the others: kept current, and not in
/// the middle of a sweep (which goes on where it stopped).
fn checkable(b: &Backfill) -> bool {
    b.status == BackfillStatus::Completed && b.metadata.sweep_cursor.is_none() && b.last_processed_cursor.is_some()
}

/// Each backfill's turnout (`None`: not checked, the usual turn). A check
/// GitHub could not answer leaves every backfill to its usual turn; a
/// rejected credential or a wrong URL stops the run.
pub(super) async fn check(pool: &PgPool, run: &Run<'_>, reporter: &Reporter) -> Result<Vec<Option<Turnout>>, RunError> {
    let mut out = vec![None; run.backfills.len()];
    let checkable = run.backfills.iter().enumerate().filter(|(_, b)| b.as_ref().is_some_and(checkable)).map(|(i, _)| i);
    // Each client asks about the repositories it serves.
    for (github, places) in by_client(&run.served, checkable.collect::<Vec<_>>()) {
        let checked: Vec<(usize, &Backfill)> =
            places.iter().filter_map(|&i| run.backfills[i].as_ref().map(|b| (i, b))).collect();
        check_with(pool, &github, &checked, reporter, &mut out).await?;
    }
    Ok(out)
}

/// Checks `checked` with one client, filling in their turnouts.
async fn check_with(
    pool: &PgPool,
    github: &GithubClient,
    checked: &[(usize, &Backfill)],
    reporter: &Reporter,
    out: &mut [Option<Turnout>],
) -> Result<(), RunError> {
    let asks: Vec<NewsAsk<'_>> = checked
        .iter()
        .map(|(_, b)| NewsAsk { owner: &b.owner, name: &b.name, after: b.last_processed_cursor.as_deref() })
        .collect();
    let checked_at = Utc::now();
    let found = match news(github, &asks).await {
        Ok(found) => found,
        Err(e) => match e.meaning().blame {
            Blame::Credential => return Err(RunError::BadCredentials(e.to_string())),
            Blame::Setting => return Err(RunError::Config(e.to_string())),
            Blame::Github | Blame::RateLimit { .. } | Blame::Repository | Blame::Backfill => {
                reporter.warn(&format!("could not check the backfills kept current together ({e}): each in turn"));
                return Ok(());
            }
        },
    };
    let mut current = Vec::new();
    for ((i, b), news) in checked.iter().zip(&found) {
        let t = turnout(news, watermark(b), b.last_processed_pr_number);
        if t == Turnout::Current {
            current.push(b.id);
        }
        out[*i] = Some(t);
    }
    let marked = mark_current(pool, &current, checked_at, next_watermark(checked_at)).await?;
    let news_count = checked.len() - current.len();
    reporter.info(&format!(
        "checked {} backfill(s) kept current together: {news_count} with news, {marked} current",
        checked.len()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::minutes(minute)
    }

    #[test]
    fn only_backfills_with_news_get_a_turn() {
        let found = |created: bool, updated: &[(i32, i64)]| News::Found {
            created_after_cursor: created,
            recently_updated: updated.iter().map(|(n, m)| (*n, at(*m))).collect(),
            total: 20,
        };
        let turn = |sweep_first, sweep_after| Turnout::Turn { sweep_first, sweep_after };
        // (news, watermark minute, newest stored PR) -> turnout
        let cases = [
            (found(false, &[]), 100, Some(20), Turnout::Current),
            (found(false, &[(20, 90), (3, 50)]), 100, Some(20), Turnout::Current),
            (found(false, &[(20, 100)]), 100, Some(20), Turnout::Current),
            (found(false, &[(20, 90), (3, 101)]), 100, Some(20), turn(true, true)),
            (found(true, &[(21, 110)]), 100, Some(20), turn(false, false)),
            (found(true, &[(21, 110), (4, 105)]), 100, Some(20), turn(false, true)),
            (found(false, &[(21, 110)]), 100, None, turn(true, true)),
            (News::Gone, 100, Some(20), USUAL),
        ];
        for (news, watermark, last, want) in cases {
            assert_eq!(turnout(&news, at(watermark), last), want, "{news:?}");
        }
    }
}
