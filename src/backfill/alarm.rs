//! `--report-issue`: when a run pauses a backfill for repeated failures or
//! marks it failed, say so in a GitHub issue, where people look.

use sqlx::PgPool;
use uuid::Uuid;

use crate::github::issues::open_or_comment;
use crate::github::Clients;
use crate::report::actions::cell;
use crate::report::{Reporter, RunSummary};
use crate::status::BackfillStatus;
use crate::store::chunks;

/// Reports each backfill that needs attention. A report that cannot be made
/// is a warning: the run's own outcome stands.
pub async fn report_issues(
    pool: &PgPool,
    clients: &Clients,
    repo: &str,
    ids: &[Uuid],
    summary: &RunSummary,
    reporter: &Reporter,
) {
    for (id, b) in ids.iter().zip(&summary.backfills).filter(|(_, b)| b.needs_attention) {
        let failure = chunks::last_failure(pool, *id).await.ok().flatten();
        let chunk = failure.as_ref().map_or_else(|| "-".to_string(), |(n, _)| n.to_string());
        let error = failure.and_then(|(_, e)| e).or_else(|| b.note.clone()).unwrap_or_default();
        let what = if b.status == Some(BackfillStatus::Failed) {
            "was marked failed"
        } else {
            "was paused after repeated failures"
        };
        let title = format!("backfill: {} needs attention", b.repository);
        let body = format!(
            "The backfill of `{r}` {what}.\n\n| | |\n|---|---|\n| Repository | {r} |\n| Status | {s} |\n\
             | Chunk | {chunk} |\n| Error | {e} |\n| Progress | {p}/{t} PRs |\n| Workflow run | {run} |\n\n\
             When the cause is fixed: `backfill resume {r}`.\n",
            r = cell(&b.repository),
            s = cell(b.status.map_or("", BackfillStatus::as_str)),
            e = cell(&error),
            p = b.processed_prs,
            t = b.total_prs,
            run = workflow_run().unwrap_or_else(|| "not run from GitHub Actions".to_string()),
        );
        // The report goes through whoever serves the repository it lands in.
        let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
        let reported = match clients.for_repository(owner, name).await {
            Ok(github) => open_or_comment(&github, repo, &title, &body).await,
            Err(e) => Err(e),
        };
        match reported {
            Ok(url) => reporter.info(&format!("{}: reported in {url}", b.repository)),
            Err(e) => reporter.warn(&format!("{}: could not report it in {repo}: {e}", b.repository)),
        }
    }
}

/// The link to this workflow run, from the variables Actions sets.
fn workflow_run() -> Option<String> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    Some(format!("{}/{}/actions/runs/{}", var("GITHUB_SERVER_URL")?, var("GITHUB_REPOSITORY")?, var("GITHUB_RUN_ID")?))
}
