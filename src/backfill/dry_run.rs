//! `run --dry-run`: what a run would do, from the budget GitHub reports now.
//! It asks GitHub for `rateLimit` alone (no repository data) and writes nothing.

use chrono::Utc;
use sqlx::PgPool;
use uuid::Uuid;

use super::chunk::{plan_input, ChunkSettings};
use super::plan::{plan_chunk, Plan};
use super::{RunError, RunOptions};
use crate::github::Clients;
use crate::report::Reporter;
use crate::status::BackfillStatus;
use crate::store::state;

pub async fn print_plans(
    pool: &PgPool,
    clients: &Clients,
    ids: &[Uuid],
    opts: &RunOptions,
    reporter: &Reporter,
) -> Result<(), RunError> {
    let settings = ChunkSettings { chunk_size: opts.chunk_size, processor_type: opts.processor_type };
    let checked = super::pick::check_credentials(clients.main(), reporter).await?;
    for id in ids {
        let Some(b) = state::get(pool, *id).await? else { continue };
        // An App serving every owner: each owner's installation has its own budget.
        let seen = match clients.per_owner() {
            false => checked,
            true => match clients.for_repository(&b.owner, &b.name).await {
                Ok(github) => super::pick::check_credentials(&github, reporter).await?,
                Err(e) => {
                    reporter.result(&format!("{}: {e}", b.full_name));
                    continue;
                }
            },
        };
        if b.total_prs == 0 && b.processed_prs == 0 {
            reporter.result(&format!("{}: the repository has no pull requests yet: nothing to fetch", b.full_name));
            continue;
        }
        // Without an answer from GitHub, what the last run saw.
        let budget = seen.or_else(|| b.metadata.budget_seen(Utc::now()));
        let completed = b.status == BackfillStatus::Completed;
        let mut input = plan_input(&b, &settings, budget);
        if completed {
            input.prs_left = None;
        }
        let line = match plan_chunk(&input) {
            Plan::Fetch { size, expected_cost } if completed => {
                let since = super::sweep::watermark(&b).format("%Y-%m-%d %H:%M UTC");
                let current = b.metadata.current_as_of.map_or_else(
                    || "not yet swept".to_string(),
                    |t| format!("current as of {}", t.format("%Y-%m-%d %H:%M UTC")),
                );
                format!(
                    "{}: completed, {current}: would look for new PRs and sweep for PRs changed since {since}, \
                     pages of {size} for about {expected_cost} points each",
                    b.full_name
                )
            }
            Plan::Fetch { size, expected_cost } => {
                format!("{}: would fetch {size} PRs for about {expected_cost} points", b.full_name)
            }
            Plan::WaitForReset { expected_cost, remaining } => format!(
                "{}: would wait for the rate-limit reset ({expected_cost} points needed, {remaining} left)",
                b.full_name
            ),
        };
        let budget_text = match budget {
            Some(b) => {
                let reset = b.reset_at.map_or_else(String::new, |t| format!(", resets {}", t.format("%H:%M:%S UTC")));
                format!("; budget: {} of {} points{reset}", b.remaining, b.limit)
            }
            None => "; budget unknown".to_string(),
        };
        reporter.result(&format!("{line}{budget_text}"));
    }
    Ok(())
}
