//! The fleet profile: 200 repositories of 20 PRs under one owner (and one
//! of another owner), tracked by one `add 'OWNER/*'`, backfilled to the
//! end; then a run with nothing new anywhere, and a run after three PRs
//! changed in each of five repositories. Requests and points as the fake
//! counted them.

use fake_github::{FakeGithub, RepoSpec, World};

use crate::run::{fresh_run_database, run_backfill, text, Bench, RUN_DB};

pub const REPOSITORIES: usize = 200;
pub const PRS: usize = 20;
/// Repositories changed after the backfill, and PRs changed in each.
pub const CHANGED: [usize; 5] = [3, 50, 99, 150, 199];
pub const CHANGED_PRS: usize = 3;
/// Runs allowed to finish the backfill (one with a time budget should do).
const MAX_RUNS: usize = 5;

/// What the fleet took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FleetRun {
    pub backfill_requests: usize,
    pub backfill_points: i64,
    pub backfill_runs: usize,
    pub backfill_wall: f64,
    pub idle_requests: usize,
    pub idle_points: i64,
    pub changed_requests: usize,
    pub changed_points: i64,
}

fn name(i: usize) -> String {
    format!("r{i:03}")
}

/// Requests and points the fake saw since `before`.
fn spent(fake: &FakeGithub, before: usize) -> (usize, i64) {
    let log = fake.requests();
    (log.len() - before, log[before..].iter().map(|r| r.cost).sum())
}

async fn scalar(b: &Bench, sql: &str) -> Result<i64, String> {
    let db = sqlx::PgPool::connect_with(b.base.clone().database(RUN_DB)).await.map_err(text)?;
    let n = sqlx::query_scalar(sql).fetch_one(&db).await.map_err(text)?;
    db.close().await;
    Ok(n)
}

pub async fn measure(b: &Bench) -> Result<FleetRun, String> {
    let mut specs: Vec<RepoSpec> = (0..REPOSITORIES).map(|i| RepoSpec::new("fleet", &name(i), PRS)).collect();
    specs.push(RepoSpec::new("other", "outsider", PRS));
    let fake = FakeGithub::start(World::new(&specs)).await.map_err(text)?;
    let graphql = fake.graphql_url();
    let url = fresh_run_database(b).await?;
    run_backfill(b, &url, &graphql, &["migrate"], &[]).await?;
    run_backfill(b, &url, &graphql, &["add", "fleet/*"], &[]).await?;
    let tracked = scalar(b, "SELECT count(*) FROM progressive_backfill_state").await?;
    if tracked != REPOSITORIES as i64 {
        return Err(format!("add 'fleet/*' tracked {tracked} repositories, not {REPOSITORIES}"));
    }
    let before = fake.requests().len();
    let (mut runs, mut wall) = (0, 0.0);
    let open = "SELECT count(*) FROM progressive_backfill_state WHERE status <> 'completed'";
    while scalar(b, open).await? > 0 {
        if runs == MAX_RUNS {
            return Err(format!("the fleet was not backfilled in {MAX_RUNS} runs"));
        }
        runs += 1;
        wall += run_backfill(b, &url, &graphql, &["run", "--time-budget", "2h", "-q"], &[]).await?.wall;
    }
    let prs = scalar(b, "SELECT count(*) FROM pull_requests").await?;
    if prs != (REPOSITORIES * PRS) as i64 {
        return Err(format!("the fleet stored {prs} PRs, not {}", REPOSITORIES * PRS));
    }
    let (backfill_requests, backfill_points) = spent(&fake, before);

    let before = fake.requests().len();
    run_backfill(b, &url, &graphql, &["run", "-q"], &[]).await?;
    let (idle_requests, idle_points) = spent(&fake, before);

    let title = "changed while kept current";
    fake.with_world(|w| -> Result<(), String> {
        for i in CHANGED {
            let numbers: Vec<i32> = w
                .repo("fleet", &name(i))
                .map(|r| r.pull_requests.iter().take(CHANGED_PRS).map(|p| p.number).collect())
                .unwrap_or_default();
            for n in numbers {
                w.retitle_pr("fleet", &name(i), n, title).map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    })?;
    let before = fake.requests().len();
    run_backfill(b, &url, &graphql, &["run", "-q"], &[]).await?;
    let (changed_requests, changed_points) = spent(&fake, before);
    let refreshed = scalar(b, &format!("SELECT count(*) FROM pull_requests WHERE title = '{title}'")).await?;
    if refreshed != (CHANGED.len() * CHANGED_PRS) as i64 {
        return Err(format!("{refreshed} changed PRs refreshed, not {}", CHANGED.len() * CHANGED_PRS));
    }
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {RUN_DB}")).execute(&b.admin).await;
    Ok(FleetRun {
        backfill_requests,
        backfill_points,
        backfill_runs: runs,
        backfill_wall: wall,
        idle_requests,
        idle_points,
        changed_requests,
        changed_points,
    })
}
