//! Shared by the integration tests: a fake GitHub per test, the test's own
//! database (from `#[sqlx::test]`), and the real `backfill` binary.

#![allow(dead_code)]

pub mod action_runner;
pub mod browser;
pub mod changes;
pub mod cluster;
pub mod consistency;
pub mod current;
pub mod oracle;
pub mod workflow_files;

use std::process::Output;
use std::time::{Duration, Instant};

use fake_github::{FakeGithub, RepoSpec, World};
use sqlx::PgPool;

pub const TOKEN: &str = "ghp_testtoken_0123456789abcdef";

/// How long the tests' fake takes to answer a query it times out: long
/// enough that a hiccup (a 502 at once) is told apart from it even on a busy
/// machine, short enough to keep the suite quick.
pub const GITHUB_TIMEOUT: Duration = Duration::from_millis(400);

pub struct Harness {
    pub fake: FakeGithub,
    pub pool: PgPool,
    pub db_url: String,
}

/// The URL of the test's database: DATABASE_URL with the database name swapped.
pub fn url_of(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set by scripts/test.sh");
    let db = pool.connect_options().get_database().unwrap_or("postgres").to_string();
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h.to_string(), format!("?{q}")),
        None => (base.clone(), String::new()),
    };
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let host_part = match head[scheme_end..].find('/') {
        Some(i) => &head[..scheme_end + i],
        None => &head[..],
    };
    format!("{host_part}/{db}{query}")
}

pub fn spec(owner: &str, name: &str, prs: usize) -> RepoSpec {
    RepoSpec::new(owner, name, prs)
}

impl Harness {
    pub async fn start(pool: PgPool, specs: &[RepoSpec]) -> Harness {
        let db_url = url_of(&pool);
        Harness::start_with(pool, db_url, specs).await
    }

    /// With a database of the test's own choosing (its own cluster, a pooler).
    pub async fn start_with(pool: PgPool, db_url: String, specs: &[RepoSpec]) -> Harness {
        let fake = FakeGithub::start(World::new(specs)).await.expect("fake GitHub starts");
        fake.with_control(|c| {
            c.token = Some(TOKEN.to_string());
            c.timeout_delay = GITHUB_TIMEOUT;
        });
        Harness { fake, pool, db_url }
    }

    /// Polls `check` until it holds, failing after `within`.
    /// Until no live lease holds `full_name`: a run started earlier would
    /// only skip the backfill.
    pub async fn lease_lapsed(&self, full_name: &str) {
        self.wait_until("the killed run's lease lapses", Duration::from_secs(30), || async {
            let held: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM backfill_claims c JOIN progressive_backfill_state s \
                 ON s.id = c.backfill_state_id JOIN repositories r ON r.id = s.repository_id \
                 WHERE r.full_name = $1 AND c.expires_at > now())",
            )
            .bind(full_name)
            .fetch_one(&self.pool)
            .await
            .expect("claims read");
            !held
        })
        .await;
    }

    pub async fn wait_until<F: std::future::Future<Output = bool>>(
        &self,
        what: &str,
        within: Duration,
        mut check: impl FnMut() -> F,
    ) {
        let deadline = Instant::now() + within;
        while !check().await {
            assert!(Instant::now() < deadline, "gave up waiting until {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Runs the binary with this test's database and fake GitHub.
    pub async fn backfill(&self, args: &[&str]) -> Output {
        self.backfill_with(args, &[]).await
    }

    pub async fn backfill_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let cmd = self.command(args, env);
        Self::finish(cmd).await
    }

    /// Starts the binary without waiting for it (to kill or signal it).
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> tokio::process::Child {
        let mut cmd = self.command(args, env);
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        cmd.spawn().expect("backfill binary starts")
    }

    async fn finish(mut cmd: tokio::process::Command) -> Output {
        tokio::time::timeout(Duration::from_secs(120), cmd.output())
            .await
            .expect("backfill finished within two minutes")
            .expect("backfill binary runs")
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_backfill"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &self.db_url)
            .env("GITHUB_TOKEN", TOKEN)
            .env("GITHUB_GRAPHQL_URL", self.fake.graphql_url())
            .env("BACKFILL_NO_PROGRESS", "true")
            // The fake answers at once; spacing only slows the suite (the
            // fault tests set their own).
            .env("BACKFILL_REQUEST_INTERVAL", "5ms")
            // GitHub gives a query 10 s; the fake, `GITHUB_TIMEOUT`: its real
            // timeouts come after that, its hiccups at once.
            .env("BACKFILL_GITHUB_TIMEOUT", format!("{}ms", GITHUB_TIMEOUT.as_millis()));
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.kill_on_drop(true);
        cmd
    }

    /// Runs `args` and insists on exit 0.
    pub async fn ok(&self, args: &[&str]) -> Output {
        let out = self.backfill(args).await;
        assert_eq!(out.status.code(), Some(0), "backfill {args:?} failed:\n{}", text(&out));
        out
    }

    pub async fn add(&self, repo: &str) -> String {
        self.ok(&["migrate"]).await;
        let out = self.ok(&["add", repo]).await;
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub async fn status_of(&self, repo: &str) -> String {
        sqlx::query_scalar(
            "SELECT s.status::text FROM progressive_backfill_state s JOIN repositories r ON r.id = s.repository_id WHERE r.full_name = $1",
        )
        .bind(repo)
        .fetch_one(&self.pool)
        .await
        .expect("state row")
    }

    pub async fn processed_prs(&self, repo: &str) -> i32 {
        sqlx::query_scalar(
            "SELECT s.processed_prs FROM progressive_backfill_state s JOIN repositories r ON r.id = s.repository_id \
             WHERE r.full_name = $1",
        )
        .bind(repo)
        .fetch_one(&self.pool)
        .await
        .expect("state row")
    }

    /// Default runs (one chunk each) until the backfill completes.
    pub async fn run_until_completed(&self, repo: &str, max_runs: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(300);
        for runs in 1..=max_runs {
            self.ok(&["run"]).await;
            if self.status_of(repo).await == "completed" {
                return runs;
            }
            assert!(Instant::now() < deadline, "backfill of {repo} did not complete in time");
        }
        panic!("{repo} not completed after {max_runs} runs");
    }

    /// A column of the backfill's state row, as text.
    pub async fn state_field(&self, repo: &str, expr: &str) -> Option<String> {
        sqlx::query_scalar(&format!(
            "SELECT ({expr})::text FROM progressive_backfill_state s JOIN repositories r ON r.id = s.repository_id \
             WHERE r.full_name = $1"
        ))
        .bind(repo)
        .fetch_one(&self.pool)
        .await
        .expect("state row")
    }

    /// Whether every backfill in the database is completed.
    pub async fn all_completed(&self) -> bool {
        let open: i64 =
            sqlx::query_scalar("SELECT count(*) FROM progressive_backfill_state WHERE status <> 'completed'")
                .fetch_one(&self.pool)
                .await
                .expect("states");
        open == 0
    }

    /// One looping runner, as a schedule or a matrix job makes them: default
    /// runs one after another until every backfill is completed, each of
    /// which must succeed. Returns how many runs it made.
    pub async fn looping_runner(&self, n: usize, env: &[(&str, &str)]) -> usize {
        let deadline = Instant::now() + Duration::from_secs(240);
        let mut runs = 0;
        while !self.all_completed().await {
            assert!(Instant::now() < deadline, "runner {n}: not completed after {runs} runs");
            let out = self.backfill_with(&["run"], env).await;
            assert_eq!(out.status.code(), Some(0), "runner {n}, run {runs} failed:\n{}", text(&out));
            runs += 1;
        }
        runs
    }

    /// Points and requests the fake charged so far.
    pub fn spent(&self) -> (i64, usize) {
        let log = self.fake.requests();
        (log.iter().map(|r| r.cost).sum(), log.len())
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}
