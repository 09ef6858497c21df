//! One measured run: a fresh fake GitHub serving one profile under one
//! reading of `nodes(ids:)` costs, a fresh database, the real binary
//! backfilling it all under GNU time, then the store layer against COPY on
//! the same pages.

use std::collections::BTreeMap;
use std::time::Duration;

use backfill::github::{lookup_repository, ClientSettings, FetchedChunk, GithubClient, Pipeline};
use fake_github::shapes::Shape;
use fake_github::world::Budget;
use fake_github::{CostReading, FakeGithub, Profile, RepoSpec, World};
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

use crate::projection::PerPr;
use crate::store::{self, StoreTimes};

/// Where the runs happen: the binary under test and a server where the
/// benchmark may create databases.
pub struct Bench {
    pub backfill: String,
    pub admin: PgPool,
    pub base: PgConnectOptions,
    pub base_url: String,
}

/// What one run serves.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    pub profile: Profile,
    pub reading: CostReading,
    pub prs: usize,
    /// One heavy shape in every this many PRs (today's profile only).
    pub heavy_every: usize,
}

impl Case {
    fn spec(&self) -> RepoSpec {
        let spec = RepoSpec::new("bench", "repo", self.prs);
        match self.profile {
            Profile::Today => RepoSpec { extreme_period: self.heavy_every, ..spec },
            Profile::BigRepository => RepoSpec { profile: Profile::BigRepository, ..spec },
        }
    }
}

/// What GNU time said about the run: wall, user and system seconds, peak RSS in KiB.
pub struct Usage {
    pub wall: f64,
    pub cpu: f64,
    pub max_rss_kib: f64,
}

/// Everything one run measured.
pub struct Measured {
    pub case: Case,
    pub shape: Shape,
    pub per: PerPr,
    pub usage: Usage,
    pub store: StoreTimes,
}

pub const RUN_DB: &str = "backfill_bench_run";

pub fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The URL of the database `name` on the bench's server.
pub fn database_url(b: &Bench, name: &str) -> String {
    b.base_url.rsplit_once('/').map_or(b.base_url.clone(), |(h, _)| format!("{h}/{name}"))
}

/// Drops and creates the database `name`; a pool on it.
pub async fn create_database(b: &Bench, name: &str) -> Result<PgPool, String> {
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&b.admin).await.map_err(text)?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&b.admin).await.map_err(text)?;
    PgPool::connect_with(b.base.clone().database(name)).await.map_err(text)
}

/// Drops and creates the run's database; its URL.
pub async fn fresh_run_database(b: &Bench) -> Result<String, String> {
    sqlx::query(&format!("DROP DATABASE IF EXISTS {RUN_DB}")).execute(&b.admin).await.map_err(text)?;
    sqlx::query(&format!("CREATE DATABASE {RUN_DB}")).execute(&b.admin).await.map_err(text)?;
    Ok(database_url(b, RUN_DB))
}

/// Runs the binary under GNU time; `env` is added to the bench's own settings.
pub async fn run_backfill(
    b: &Bench,
    url: &str,
    graphql: &str,
    cmd: &[&str],
    env: &[(&str, &str)],
) -> Result<Usage, String> {
    let out = tokio::process::Command::new("/usr/bin/time")
        .args(["-f", "@usage %e %U %S %M", &b.backfill])
        .args(cmd)
        .env("DATABASE_URL", url)
        .env("GITHUB_TOKEN", "bench")
        .env("GITHUB_GRAPHQL_URL", graphql)
        .env("BACKFILL_REQUEST_INTERVAL", "0s")
        .env("BACKFILL_NO_PROGRESS", "true")
        .envs(env.iter().copied())
        .output()
        .await
        .map_err(|e| format!("cannot run {} under /usr/bin/time: {e}", b.backfill))?;
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("backfill {cmd:?} failed:\n{err}"));
    }
    let line = err.lines().rev().find_map(|l| l.strip_prefix("@usage ")).ok_or("no usage line from GNU time")?;
    let n: Vec<f64> = line.split_whitespace().filter_map(|v| v.parse().ok()).collect();
    match n[..] {
        [wall, user, sys, rss] => Ok(Usage { wall, cpu: user + sys, max_rss_kib: rss }),
        _ => Err(format!("unreadable usage line: {line}")),
    }
}

async fn fetch_all(graphql: &str) -> Result<Vec<FetchedChunk>, String> {
    let settings = ClientSettings { request_interval: Duration::ZERO, ..ClientSettings::default() };
    let client = GithubClient::new(graphql, "bench", settings).map_err(text)?;
    // One chunk at a time, nothing fetched ahead: each page alone.
    let mut pipeline = Pipeline::new("bench", "repo", None, None, None);
    let mut chunks = Vec::new();
    loop {
        let chunk = pipeline.next_chunk(&client, 50, 0).await.map_err(text)?;
        let more = chunk.has_next_page;
        chunks.push(chunk);
        if !more {
            return Ok(chunks);
        }
    }
}

/// Runs one case from scratch and checks that every PR was stored.
pub async fn measure(b: &Bench, case: Case) -> Result<Measured, String> {
    let world = World::new(&[case.spec()]);
    let shape = Shape::of(&world.repos[0], &world.actors);
    let fake = FakeGithub::start(world).await.map_err(text)?;
    fake.with_control(|c| c.cost_reading = case.reading);
    let graphql = fake.graphql_url();

    let url = fresh_run_database(b).await?;
    run_backfill(b, &url, &graphql, &["migrate"], &[]).await?;
    run_backfill(b, &url, &graphql, &["add", "bench/repo"], &[]).await?;
    let before = fake.requests().len();
    let usage = run_backfill(b, &url, &graphql, &["run", "--time-budget", "2h", "-q"], &[]).await?;
    let log = fake.requests()[before..].to_vec();
    let mut by_operation = BTreeMap::<String, usize>::new();
    for r in &log {
        *by_operation.entry(r.operation.clone().unwrap_or_default()).or_default() += 1;
    }
    eprintln!("{case:?}: requests by operation: {by_operation:?}");
    let prs = case.prs as f64;
    let per = PerPr {
        points: log.iter().map(|r| r.cost).sum::<i64>() as f64 / prs,
        requests: log.len() as f64 / prs,
        nodes: log.iter().map(|r| r.nodes).sum::<u64>() as f64 / prs,
        local_seconds: usage.wall / prs,
    };
    let run_db = sqlx::PgPool::connect_with(b.base.clone().database(RUN_DB)).await.map_err(text)?;
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pull_requests").fetch_one(&run_db).await.map_err(text)?;
    run_db.close().await;
    if stored != case.prs as i64 {
        return Err(format!("{case:?}: the run stored {stored} PRs of {}", case.prs));
    }

    // The pages for the store measure are not what is measured: a fresh
    // budget keeps them from waiting for the window the run spent.
    fake.with_control(|c| c.budget = Budget::new(1_000_000, Duration::from_secs(3_600)));
    let client = GithubClient::new(&graphql, "bench", ClientSettings::default()).map_err(text)?;
    let repo = lookup_repository(&client, "bench", "repo").await.map_err(text)?;
    let pages = fetch_all(&graphql).await?;
    let store = store::store_vs_copy(&b.admin, &b.base, &repo, &pages).await?;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {RUN_DB}")).execute(&b.admin).await;
    Ok(Measured { case, shape, per, usage, store })
}
