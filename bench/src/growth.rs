//! Growth: whether the tool's work grows with what the database already
//! holds. Writes: the same repositories of today's profile backfilled by the
//! real binary into an empty database and into one pre-filled with another
//! repository's 1,000,000 PRs, 4,000,000 reviews and 8,000,000 comments,
//! timed as PostgreSQL saw it (pg_stat_statements, execution time of the
//! statements that write). Reads: `long_history`.

use std::time::Instant;

use fake_github::{FakeGithub, RepoSpec, World};
use sqlx::Row;

use crate::long_history::{self, median, Reads};
use crate::run::{create_database, database_url, fresh_run_database, run_backfill, text, Bench, RUN_DB};

/// PRs of each repository backfilled, and how many repositories (each
/// written once into each database; the medians are reported).
pub const RUN_PRS: usize = 2_000;
pub const REPEATS: usize = 3;
/// The pre-filled repository's reviews and comments per PR, and PRs per person.
pub const REVIEWS_PER_PR: usize = 4;
pub const COMMENTS_PER_PR: usize = 8;
pub const PRS_PER_PERSON: usize = 10;
const PREFILLED_DB: &str = "backfill_bench_prefilled";
const CONTRACT: &str = include_str!("../../migrations/20261123000001_contract_tables.sql");
/// The pre-filled rows that name a row that is not there, all foreign keys
/// told: the fill skips the checks (see prefill.sql), so they are made here.
const ORPHANS: &str = "SET work_mem = '512MB';
SELECT (SELECT count(*) FROM pull_requests p WHERE NOT EXISTS (SELECT FROM repositories r WHERE r.id = p.repository_id))
  + (SELECT count(*) FROM pull_requests p WHERE NOT EXISTS (SELECT FROM contributors c WHERE c.id = p.author_id))
  + (SELECT count(*) FROM pull_requests p
     WHERE p.merged_by_id IS NOT NULL AND NOT EXISTS (SELECT FROM contributors c WHERE c.id = p.merged_by_id))
  + (SELECT count(*) FROM reviews r WHERE NOT EXISTS (SELECT FROM pull_requests p WHERE p.id = r.pull_request_id))
  + (SELECT count(*) FROM reviews r WHERE NOT EXISTS (SELECT FROM contributors c WHERE c.id = r.reviewer_id))
  + (SELECT count(*) FROM comments m WHERE NOT EXISTS (SELECT FROM pull_requests p WHERE p.id = m.pull_request_id))
  + (SELECT count(*) FROM comments m WHERE NOT EXISTS (SELECT FROM contributors c WHERE c.id = m.commenter_id))
  + (SELECT count(*) FROM comments m
     WHERE m.in_reply_to_id IS NOT NULL AND NOT EXISTS (SELECT FROM comments o WHERE o.id = m.in_reply_to_id));
RESET work_mem";

/// One backfill of a repository, as PostgreSQL and GNU time saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriteRun {
    /// Execution time of the statements that write, in milliseconds.
    pub writes_ms: f64,
    /// Execution time of every statement of the run, in milliseconds.
    pub all_ms: f64,
    /// Wall seconds of the binary.
    pub wall: f64,
}

/// The pre-filled database: its PRs, how long it took, its size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prefill {
    pub prs: usize,
    /// Seconds of the INSERTs, then of VACUUM ANALYZE and a checkpoint.
    pub insert: f64,
    pub vacuum: f64,
    pub bytes: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Growth {
    pub prefill: Prefill,
    pub empty: Vec<WriteRun>,
    pub prefilled: Vec<WriteRun>,
    pub reads: Reads,
}

impl Growth {
    /// The median of one figure over the runs into the empty and into the pre-filled database.
    pub fn medians(&self, figure: fn(&WriteRun) -> f64) -> (f64, f64) {
        let of = |runs: &[WriteRun]| median(runs.iter().map(figure).collect());
        (of(&self.empty), of(&self.prefilled))
    }
}

/// Whether a statement, as pg_stat_statements prints it, writes rows: an
/// INSERT, UPDATE or DELETE, or a WITH one of whose parts is. A row lock
/// (`FOR UPDATE`, `FOR NO KEY UPDATE`) writes no data; BEGIN and COMMIT
/// are not counted.
pub fn writes(query: &str) -> bool {
    let words: Vec<String> = query
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let verb = |i: usize| match words[i].as_str() {
        "insert" | "delete" => true,
        "update" => i == 0 || !matches!(words[i - 1].as_str(), "for" | "key"),
        _ => false,
    };
    match words.first().map(String::as_str) {
        Some("insert" | "update" | "delete") => true,
        Some("with") => (1..words.len()).any(verb),
        _ => false,
    }
}

/// PostgreSQL's view of the database `db` since the last reset: execution
/// milliseconds of the statements that write, and of all of them.
/// The costliest statements go to stderr, for whoever works on the store.
async fn statement_times(b: &Bench, db: &str) -> Result<(f64, f64), String> {
    let rows: Vec<(String, f64, i64)> = sqlx::query_as(
        "SELECT coalesce(s.query, ''), s.total_exec_time, s.calls FROM pg_stat_statements s \
         JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 ORDER BY s.total_exec_time DESC",
    )
    .bind(db)
    .fetch_all(&b.admin)
    .await
    .map_err(text)?;
    for (query, ms, calls) in rows.iter().take(6) {
        let query: String = query.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(110).collect();
        eprintln!("  {db}: {ms:8.1} ms {calls:6} calls  {query}");
    }
    let all = rows.iter().map(|r| r.1).sum();
    Ok((rows.iter().filter(|r| writes(&r.0)).map(|r| r.1).sum(), all))
}

/// Makes pg_stat_statements readable, or says why it is not.
async fn enable_statements(b: &Bench) -> Result<(), String> {
    let ready = async {
        sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").execute(&b.admin).await?;
        sqlx::query("SELECT pg_stat_statements_reset()").execute(&b.admin).await
    };
    ready.await.map(|_| ()).map_err(|e| {
        format!("pg_stat_statements: {e} (start the server with shared_preload_libraries=pg_stat_statements, as bench/run.sh does)")
    })
}

/// The repository of repeat `i`.
fn name(i: usize) -> String {
    format!("r{i}")
}

/// Writes the other repository's history into a database with the
/// contract's tables and nothing else, as one the tool would be pointed at.
async fn prefill(b: &Bench, prs: usize) -> Result<Prefill, String> {
    let db = create_database(b, PREFILLED_DB).await?;
    sqlx::raw_sql(CONTRACT).execute(&db).await.map_err(text)?;
    let fill = |sql: &str| {
        let people = (prs / PRS_PER_PERSON).max(1);
        sql.replace("@PRS@", &prs.to_string()).replace("@PEOPLE@", &people.to_string())
    };
    let (rest, comments) = (fill(include_str!("prefill.sql")), fill(include_str!("prefill_comments.sql")));
    let started = Instant::now();
    // Two connections: the comments are most of the work and need nothing
    // of the rest but ids they can compute.
    let (a, c) = tokio::join!(sqlx::raw_sql(&rest).execute(&db), sqlx::raw_sql(&comments).execute(&db));
    a.and(c).map_err(text)?;
    let insert = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let orphans: i64 = sqlx::raw_sql(ORPHANS).fetch_one(&db).await.and_then(|r| r.try_get(0)).map_err(text)?;
    if orphans != 0 {
        return Err(format!("the pre-filled rows break their foreign keys: {orphans} orphans"));
    }
    eprintln!("pre-filled in {insert:.0} s, the foreign keys checked in {:.0} s", started.elapsed().as_secs_f64());
    // What autovacuum would do before long, done now so that it does not
    // run during the measure; then the dirty pages written out, to disk as
    // well (fsync is off), so that the kernel's writeback does not either.
    let started = Instant::now();
    // One statement each: several in one string are one transaction, where VACUUM cannot run.
    for sql in ["VACUUM ANALYZE", "CHECKPOINT"] {
        sqlx::raw_sql(sql).execute(&db).await.map_err(text)?;
    }
    let synced = tokio::process::Command::new("sync").status().await.map_err(|e| format!("sync: {e}"))?;
    if !synced.success() {
        return Err(format!("sync: {synced}"));
    }
    let vacuum = started.elapsed().as_secs_f64();
    let bytes = sqlx::query_scalar("SELECT pg_database_size(current_database())").fetch_one(&db).await.map_err(text)?;
    db.close().await;
    Ok(Prefill { prs, insert, vacuum, bytes })
}

/// Backfills repository `repo` into the database `db` (migrated, the
/// repository added) and checks every PR was stored.
async fn write_run(b: &Bench, db: &str, graphql: &str, repo: &str) -> Result<WriteRun, String> {
    let url = database_url(b, db);
    sqlx::query("SELECT pg_stat_statements_reset()").execute(&b.admin).await.map_err(text)?;
    let run = ["run", "--repository-id", repo, "--time-budget", "2h", "-q"];
    let wall = run_backfill(b, &url, graphql, &run, &[]).await?.wall;
    let (writes_ms, all_ms) = statement_times(b, db).await?;
    let pool = sqlx::PgPool::connect_with(b.base.clone().database(db)).await.map_err(text)?;
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pull_requests p JOIN repositories r ON r.id = p.repository_id WHERE r.full_name = $1",
    )
    .bind(repo)
    .fetch_one(&pool)
    .await
    .map_err(text)?;
    pool.close().await;
    if stored != RUN_PRS as i64 {
        return Err(format!("{repo} in {db}: {stored} PRs stored of {RUN_PRS}"));
    }
    Ok(WriteRun { writes_ms, all_ms, wall })
}

pub async fn measure(b: &Bench, prefill_prs: usize, heavy_every: usize, chunks: usize) -> Result<Growth, String> {
    enable_statements(b).await?;
    eprintln!("pre-filling a database with {prefill_prs} PRs of another repository...");
    let prefill = prefill(b, prefill_prs).await?;
    let specs: Vec<RepoSpec> = (1..=REPEATS)
        .map(|i| RepoSpec { extreme_period: heavy_every, ..RepoSpec::new("growth", &name(i), RUN_PRS) })
        .collect();
    let fake = FakeGithub::start(World::new(&specs)).await.map_err(text)?;
    let graphql = fake.graphql_url();
    let prefilled_url = database_url(b, PREFILLED_DB);
    run_backfill(b, &prefilled_url, &graphql, &["migrate"], &[]).await?;
    let (mut empty, mut prefilled) = (Vec::new(), Vec::new());
    // Each repository into a fresh empty database and into the pre-filled
    // one (which keeps the ones before it: 0.2% more rows each time), the
    // empty one first every other time, so that what the machine does
    // meanwhile falls on both alike.
    for i in 1..=REPEATS {
        let repo = format!("growth/{}", name(i));
        eprintln!("backfilling {repo} ({RUN_PRS} PRs) into an empty and into the pre-filled database...");
        let url = fresh_run_database(b).await?;
        run_backfill(b, &url, &graphql, &["migrate"], &[]).await?;
        for into_empty in [i % 2 == 1, i % 2 == 0] {
            let (db, url, runs) =
                if into_empty { (RUN_DB, &url, &mut empty) } else { (PREFILLED_DB, &prefilled_url, &mut prefilled) };
            run_backfill(b, url, &graphql, &["add", &repo], &[]).await?;
            runs.push(write_run(b, db, &graphql, &repo).await?);
        }
    }
    for db in [RUN_DB, PREFILLED_DB] {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db}")).execute(&b.admin).await;
    }
    eprintln!("reading a history of {chunks} chunks...");
    let reads = long_history::measure(b, chunks).await?;
    Ok(Growth { prefill, empty, prefilled, reads })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statements_that_write_are_told_from_the_rest() {
        let cases = [
            ("INSERT INTO reviews (id) SELECT * FROM unnest($1::uuid[])", true),
            ("  insert into contributors (id) values ($1) ON CONFLICT (github_id) DO UPDATE SET x = $2", true),
            ("UPDATE contributors c SET username = c.username || $1", true),
            ("DELETE FROM backfill_claims WHERE backfill_state_id = $1", true),
            ("WITH c AS ( INSERT INTO backfill_chunks (id) SELECT $1 RETURNING id) SELECT chunk_number FROM c", true),
            ("WITH gone AS (SELECT id FROM comments) DELETE FROM comments WHERE id IN (SELECT id FROM gone)", true),
            ("SELECT id FROM progressive_backfill_state WHERE id = $1 FOR UPDATE", false),
            ("WITH s AS (SELECT id FROM progressive_backfill_state FOR NO KEY UPDATE) SELECT * FROM s", false),
            ("SELECT updated_at, last_updated_at FROM contributors", false),
            ("COMMIT", false),
            ("BEGIN", false),
            ("", false),
        ];
        for (query, want) in cases {
            assert_eq!(writes(query), want, "{query}");
        }
    }
}
