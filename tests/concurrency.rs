//! Several `backfill run` processes at once against one database, as cron
//! overlap, a manual dispatch or a matrix of runners makes them: each
//! backfill is worked on by one process at a time, and nothing is stored twice.

mod common;

use std::time::{Duration, Instant};

use common::consistency::assert_consistent;
use common::oracle::assert_complete;
use common::{spec, text, Harness};
use sqlx::PgPool;

/// Looping runners, as in `worker` below.
const PROCESSES: usize = 4;
const REPOS: [(&str, &str, usize); 3] = [("multi", "one", 400), ("multi", "two", 300), ("multi", "three", 250)];

async fn all_completed(h: &Harness) -> bool {
    let open: i64 = sqlx::query_scalar("SELECT count(*) FROM progressive_backfill_state WHERE status <> 'completed'")
        .fetch_one(&h.pool)
        .await
        .expect("states");
    open == 0
}

#[sqlx::test(migrations = false)]
async fn four_processes_over_three_repositories_store_everything_once(pool: PgPool) {
    let specs: Vec<_> = REPOS.iter().map(|(o, n, prs)| spec(o, n, *prs)).collect();
    let h = Harness::start(pool, &specs).await;
    for (owner, name, _) in REPOS {
        h.add(&format!("{owner}/{name}")).await;
    }
    // Requests that take a moment, so that runs overlap.
    h.fake.with_control(|c| c.latency = Duration::from_millis(10));

    let (a, b, c, d) = tokio::join!(worker(&h, 1), worker(&h, 2), worker(&h, 3), worker(&h, 4));
    let runs = a + b + c + d;
    for (owner, name, _) in REPOS {
        let full_name = format!("{owner}/{name}");
        assert_consistent(&h, &full_name, "after the concurrent runs").await;
        assert_complete(&h, owner, name).await;
    }
    let overlap = h.fake.with_control(|c| c.max_in_flight);
    eprintln!("{runs} runs by {PROCESSES} looping processes; up to {overlap} requests at once");
    assert!(overlap >= 2, "the processes did run at the same time");
}

/// One looping runner: default runs, one after another, until every
/// backfill is completed; each must succeed. Returns how many it made.
async fn worker(h: &Harness, n: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut runs = 0;
    while !all_completed(h).await {
        assert!(Instant::now() < deadline, "runner {n}: not completed after {runs} runs");
        let out = h.backfill(&["run"]).await;
        assert_eq!(out.status.code(), Some(0), "runner {n}, run {runs} failed:\n{}", text(&out));
        runs += 1;
    }
    runs
}
