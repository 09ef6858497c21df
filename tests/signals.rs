//! SIGTERM and SIGINT, as GitHub Actions sends them on cancel and timeout:
//! the run stops promptly, says so, and leaves whole chunks only.

mod common;

use std::time::Duration;

use common::consistency::assert_consistent;
use common::oracle::assert_complete;
use common::{spec, stderr, text, Harness};
use sqlx::PgPool;

async fn signal_mid_chunk(h: &Harness, signal: &str) -> std::process::Output {
    let child = h.spawn(&["run", "--time-budget", "5m"], &[]);
    let pid = child.id().expect("running child").to_string();
    let sent = h.fake.requests().len();
    // Inside a chunk: a request has gone out since the run started, and one is in flight.
    h.wait_until("the run is inside a chunk", Duration::from_secs(30), || async {
        h.fake.with_control(|c| c.in_flight > 0 && c.log.len() > sent)
    })
    .await;
    let ok = tokio::process::Command::new("kill").args([&format!("-{signal}"), &pid]).status().await;
    assert!(ok.is_ok_and(|s| s.success()), "kill -{signal} {pid}");
    tokio::time::timeout(Duration::from_secs(15), child.wait_with_output())
        .await
        .expect("the run stops promptly after the signal")
        .expect("run output")
}

#[sqlx::test(migrations = false)]
async fn a_signal_abandons_the_chunk_in_progress_and_says_so(pool: PgPool) {
    let h = Harness::start(pool, &[spec("sig", "repo", 200)]).await;
    h.add("sig/repo").await;
    h.fake.with_control(|c| c.latency = Duration::from_millis(300));

    let out = signal_mid_chunk(&h, "TERM").await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stderr(&out).contains("interrupted by SIGTERM"), "{}", text(&out));
    assert_eq!(h.processed_prs("sig/repo").await, 0, "the first chunk was abandoned whole");
    assert_consistent(&h, "sig/repo", "after SIGTERM").await;

    // One chunk stored, then Ctrl-C in the middle of the second.
    h.fake.with_control(|c| c.latency = Duration::ZERO);
    h.ok(&["run"]).await;
    h.fake.with_control(|c| c.latency = Duration::from_millis(300));
    let out = signal_mid_chunk(&h, "INT").await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stderr(&out).contains("interrupted by SIGINT"), "{}", text(&out));
    assert_eq!(h.processed_prs("sig/repo").await, 50);
    assert_consistent(&h, "sig/repo", "after SIGINT").await;

    h.fake.with_control(|c| c.latency = Duration::ZERO);
    h.ok(&["run", "--time-budget", "5m"]).await;
    assert_complete(&h, "sig", "repo").await;
    assert_consistent(&h, "sig/repo", "at the end").await;
}
