//! Several `backfill run` processes at once against one database, as cron
//! overlap, a manual dispatch or a matrix of runners makes them: each
//! backfill is worked on by one process at a time, and nothing is stored twice.

mod common;

use std::time::Duration;

use common::consistency::assert_consistent;
use common::oracle::assert_complete;
use common::{spec, Harness};
use sqlx::PgPool;

/// Looping runners (`Harness::looping_runner`).
const PROCESSES: usize = 4;
const REPOS: [(&str, &str, usize); 3] = [("multi", "one", 400), ("multi", "two", 300), ("multi", "three", 250)];

#[sqlx::test(migrations = false)]
async fn four_processes_over_three_repositories_store_everything_once(pool: PgPool) {
    let specs: Vec<_> = REPOS.iter().map(|(o, n, prs)| spec(o, n, *prs)).collect();
    let h = Harness::start(pool, &specs).await;
    for (owner, name, _) in REPOS {
        h.add(&format!("{owner}/{name}")).await;
    }
    // Requests that take a moment, so that runs overlap.
    h.fake.with_control(|c| c.latency = Duration::from_millis(10));

    let (a, b, c, d) = tokio::join!(
        h.looping_runner(1, &[]),
        h.looping_runner(2, &[]),
        h.looping_runner(3, &[]),
        h.looping_runner(4, &[])
    );
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
