//! `run --dry-run`: what a run would do, from the budget GitHub reports now.
//! It asks GitHub for `rateLimit` alone (no repository data, of each
//! credential) and writes nothing but the credentials' budgets it saw.

use chrono::Utc;
use sqlx::PgPool;
use uuid::Uuid;

use super::attempt::ChunkSettings;
use super::plan::{plan_chunk, Plan};
use super::{RunError, RunOptions};
use crate::github::Clients;
use crate::report::{credential_text, Reporter};
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
    if !clients.per_owner() {
        credential_lines(clients, reporter);
    }
    for id in ids {
        let Some(b) = state::get(pool, *id).await? else { continue };
        // An App serving every owner: each owner's installation has its own budget.
        let (github, seen) = match clients.per_owner() {
            false => (clients.main_arc(), checked),
            true => match clients.for_repository(&b.owner, &b.name).await {
                Ok(github) => {
                    let seen = super::pick::check_credentials(&github, reporter).await?;
                    (github, seen)
                }
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
        let completed = b.status == BackfillStatus::Completed;
        let mut input = settings.plan_input(&b, &github, seen);
        let budget = input.budget;
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
    // Each owner's installation is known once its repositories were planned.
    if clients.per_owner() {
        credential_lines(clients, reporter);
    }
    Ok(())
}

/// A line per credential, by name, with its budget as GitHub states it now,
/// and the reserve the run would keep of each.
fn credential_lines(clients: &Clients, reporter: &Reporter) {
    let now = Utc::now();
    for c in clients.credentials() {
        reporter.result(&format!("credential {}", credential_text(&c, now)));
    }
    let reserve = match clients.reserve() {
        0 => "reserve: none (--reserve N keeps N points of each credential's hour for its other users)".to_string(),
        n => format!("reserve: {n} points of each credential's hour left unspent for its other users"),
    };
    reporter.result(&reserve);
}
