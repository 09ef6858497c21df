//! Reads over a long history: `status`, `history` and `status --html` of
//! the real binary over one backfill with 100,000 chunk rows, each the
//! median of three runs (wall time of the process, start to exit).

use std::time::Instant;

use crate::run::{create_database, database_url, run_backfill, text, Bench};

pub const CHUNKS: usize = 100_000;
const DB: &str = "backfill_bench_history";
const REPOSITORY: &str = "history/long";
/// Each read is run this many times; the median is kept.
const TIMES: usize = 3;

/// The tables the history's rows go into, as `backfill migrate` makes them.
const TABLES: [&str; 2] = [
    include_str!("../../migrations/20261123000001_contract_tables.sql"),
    include_str!("../../migrations/20261215000001_chunk_points_and_removals.sql"),
];

/// What the history held and how long each read took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reads {
    pub chunks: usize,
    pub failed: usize,
    /// The PR numbers the completed chunks hold, all told.
    pub prs: usize,
    /// Seconds the history took to write, migrate and analyze.
    pub fill: f64,
    pub status: Read,
    pub history: Read,
    pub html: Read,
}

/// One read's seconds, the median of `TIMES` runs each: wall time, and the
/// CPU time of the binary (the rest is mostly PostgreSQL's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Read {
    pub wall: f64,
    pub cpu: f64,
}

/// Chunks of the history that failed, and PRs in the rest (as the SQL makes them).
pub fn shape(chunks: usize) -> (usize, usize) {
    let failed = (chunks + 50) / 100;
    (failed, (chunks - failed) * 50)
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// `backfill <cmd>` run `TIMES` times: the median wall and CPU seconds.
async fn timed(b: &Bench, url: &str, cmd: &[&str]) -> Result<Read, String> {
    let (mut walls, mut cpus) = (Vec::new(), Vec::new());
    for _ in 0..TIMES {
        let started = Instant::now();
        // The reads ask GitHub nothing: no fake is needed behind the URL.
        let usage = run_backfill(b, url, "http://127.0.0.1:9/graphql", cmd, &[]).await?;
        walls.push(started.elapsed().as_secs_f64());
        cpus.push(usage.cpu);
    }
    Ok(Read { wall: median(walls), cpu: median(cpus) })
}

pub async fn measure(b: &Bench, chunks: usize) -> Result<Reads, String> {
    let (failed, prs) = shape(chunks);
    let started = Instant::now();
    let db = create_database(b, DB).await?;
    for sql in TABLES {
        sqlx::raw_sql(sql).execute(&db).await.map_err(text)?;
    }
    let fill = include_str!("long_history.sql")
        .replace("@CHUNKS@", &chunks.to_string())
        .replace("@FAILED@", &failed.to_string())
        .replace("@PRS@", &prs.to_string());
    sqlx::raw_sql(&fill).execute(&db).await.map_err(text)?;
    let url = database_url(b, DB);
    run_backfill(b, &url, "http://127.0.0.1:9/graphql", &["migrate"], &[]).await?;
    sqlx::raw_sql("VACUUM ANALYZE").execute(&db).await.map_err(text)?;
    db.close().await;
    let fill = started.elapsed().as_secs_f64();

    let html = std::env::temp_dir().join(format!("backfill-bench-status-{}.html", std::process::id()));
    let html_path = html.to_string_lossy().to_string();
    let reads = Reads {
        chunks,
        failed,
        prs,
        fill,
        status: timed(b, &url, &["status"]).await?,
        history: timed(b, &url, &["history", REPOSITORY]).await?,
        html: timed(b, &url, &["status", "--html", &html_path]).await?,
    };
    let page = std::fs::read_to_string(&html).map_err(|e| format!("{html_path}: {e}"))?;
    let _ = std::fs::remove_file(&html);
    if !page.contains(REPOSITORY) {
        return Err(format!("the status page does not name {REPOSITORY}"));
    }
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {DB}")).execute(&b.admin).await;
    Ok(reads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_has_one_failed_chunk_in_a_hundred() {
        // chunks -> (failed, PRs)
        let cases = [(0, (0, 0)), (49, (0, 2_450)), (50, (1, 2_450)), (150, (2, 7_400)), (100_000, (1_000, 4_950_000))];
        for (chunks, want) in cases {
            assert_eq!(shape(chunks), want, "{chunks} chunks");
        }
    }
}
