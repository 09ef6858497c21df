//! PostgreSQL restarted (immediate mode, as a crash or a failover does it)
//! under a running backfill. No transaction is open while the run waits on
//! GitHub, so a restart in that time costs nothing; a server still down when
//! the chunk is to be stored fails the run with one clear line. Either way
//! nothing half done is left, and a later run finishes exactly.

mod common;

use std::time::Duration;

use common::cluster::Cluster;
use common::consistency::assert_consistent;
use common::oracle::assert_complete;
use common::{spec, stderr, text, Harness};
use sqlx::postgres::PgPoolOptions;

/// Short leases: a run that died with the server holds its claim this long.
const LEASE: [(&str, &str); 1] = [("BACKFILL_LEASE", "2s")];

async fn harness(cluster: &Cluster, repo: &str) -> Harness {
    let pool = PgPoolOptions::new().max_connections(2).connect(&cluster.url()).await.expect("own cluster");
    let (owner, name) = repo.split_once('/').expect("OWNER/NAME");
    let h = Harness::start_with(pool, cluster.url(), &[spec(owner, name, 300)]).await;
    h.add(repo).await;
    h.ok(&["run"]).await;
    // Slow answers: the run spends its time waiting on GitHub.
    h.fake.with_control(|c| c.latency = Duration::from_millis(400));
    h
}

async fn wait_for_a_fetch(h: &Harness) {
    h.wait_until("the run is fetching a chunk", Duration::from_secs(30), || async {
        h.fake.with_control(|c| c.in_flight) > 0
    })
    .await;
}

#[tokio::test]
async fn a_restart_while_the_run_waits_on_github_costs_nothing() {
    let cluster = Cluster::start();
    let h = harness(&cluster, "restart/quick").await;
    let child = h.spawn(&["run", "--time-budget", "5m"], &LEASE);
    wait_for_a_fetch(&h).await;
    cluster.restart_immediately();
    h.fake.with_control(|c| c.latency = Duration::from_millis(20));
    let out = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
        .await
        .expect("the run ends")
        .expect("run output");
    assert_eq!(out.status.code(), Some(0), "the run went on after the restart:\n{}", text(&out));
    assert_eq!(h.status_of("restart/quick").await, "completed");
    assert_consistent(&h, "restart/quick", "after the restart").await;
    assert_complete(&h, "restart", "quick").await;
}

#[tokio::test]
async fn a_server_down_at_the_commit_fails_the_run_cleanly_and_the_next_run_finishes() {
    let cluster = Cluster::start();
    let h = harness(&cluster, "restart/repo").await;
    let child = h.spawn(&["run", "--time-budget", "5m"], &LEASE);
    wait_for_a_fetch(&h).await;
    cluster.stop_immediately();
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the run ends while the server is down")
        .expect("run output");
    cluster.start_again();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one clear line:\n{err}");
    assert!(errors[0].contains("lost the connection to PostgreSQL"), "says it was the database:\n{err}");
    eprintln!("the run said: {}", errors[0]);
    assert!(!err.contains("panicked") && !err.contains("postgres://"), "{err}");

    h.fake.with_control(|c| c.latency = Duration::ZERO);
    assert_consistent(&h, "restart/repo", "after the server came back").await;
    assert_eq!(h.processed_prs("restart/repo").await, 50, "only the chunk before the stop is stored");
    // The dead run's claim lapses after its lease; then a run finishes the backfill.
    h.wait_until("a run completes the backfill", Duration::from_secs(60), || async {
        let out = h.backfill_with(&["run", "--time-budget", "5m"], &LEASE).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        h.status_of("restart/repo").await == "completed"
    })
    .await;
    assert_consistent(&h, "restart/repo", "at the end").await;
    assert_complete(&h, "restart", "repo").await;
}
