//! PostgreSQL restarted (immediate mode, as a crash or a failover does it)
//! under a running backfill: the run fails with one clear line, nothing half
//! done is left, and the next run finishes exactly.

mod common;

use std::time::Duration;

use common::cluster::Cluster;
use common::consistency::assert_consistent;
use common::oracle::assert_complete;
use common::{spec, stderr, text, Harness};
use sqlx::postgres::PgPoolOptions;

#[tokio::test]
async fn a_restart_under_a_run_fails_it_cleanly_and_the_next_run_finishes() {
    let cluster = Cluster::start();
    let pool = PgPoolOptions::new().max_connections(2).connect(&cluster.url()).await.expect("own cluster");
    let h = Harness::start_with(pool, cluster.url(), &[spec("restart", "repo", 300)]).await;
    h.add("restart/repo").await;
    h.ok(&["run"]).await;

    // Slow answers: the run spends its time inside the chunk's transaction.
    h.fake.with_control(|c| c.latency = Duration::from_millis(400));
    let child = h.spawn(&["run", "--time-budget", "5m"], &[]);
    h.wait_until("the run is inside a chunk", Duration::from_secs(30), || async {
        h.fake.with_control(|c| c.in_flight) > 0
    })
    .await;
    cluster.restart_immediately();
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the run ends after the restart")
        .expect("run output");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one clear line:\n{err}");
    assert!(errors[0].contains("lost the connection to PostgreSQL"), "says it was the database:\n{err}");
    eprintln!("the run said: {}", errors[0]);
    assert!(!err.contains("panicked") && !err.contains("postgres://"), "{err}");

    h.fake.with_control(|c| c.latency = Duration::ZERO);
    assert_consistent(&h, "restart/repo", "after the restart").await;
    assert_eq!(h.processed_prs("restart/repo").await, 50, "only the chunk before the restart is stored");
    let out = h.backfill(&["run", "--time-budget", "5m"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(h.status_of("restart/repo").await, "completed");
    assert_consistent(&h, "restart/repo", "at the end").await;
    assert_complete(&h, "restart", "repo").await;
}
