//! SIGKILL at random moments: whatever instant a run dies at (mid-request,
//! mid-transaction, mid-commit), the database holds whole chunks only, and
//! later runs finish the backfill exactly.

mod common;

use std::time::Duration;

use common::consistency::assert_consistent;
use common::oracle::assert_complete;
use common::{spec, text, Harness};
use fake_github::data::Rng;
use sqlx::PgPool;

/// Kills per test: enough to land in every phase of a chunk many times,
/// few enough to keep the suite quick.
const KILLS: usize = 30;

/// A killed run's claim lapses after its lease; a short one keeps the runs
/// after a kill from skipping the backfill for long (the takeover with the
/// default lease is tested in `short_transactions.rs`).
const LEASE: [(&str, &str); 1] = [("BACKFILL_LEASE", "2s")];

#[sqlx::test(migrations = false)]
async fn random_kills_leave_whole_chunks_and_later_runs_finish_exactly(pool: PgPool) {
    let h = Harness::start(pool, &[spec("crash", "repo", 2000)]).await;
    h.add("crash/repo").await;
    // Some latency, so kills land in GitHub requests as well as in PostgreSQL work.
    h.fake.with_control(|c| c.latency = Duration::from_millis(25));
    let seed: u64 = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs())
    });
    eprintln!("crash seed {seed} (CRASH_SEED={seed} replays these kill times)");
    let mut rng = Rng::new(seed);
    let mut kills = 0;
    let mut finished_runs = 0;
    while kills < KILLS && h.status_of("crash/repo").await != "completed" {
        let mut child = h.spawn(&["run", "--time-budget", "5m"], &LEASE);
        // From just after start-up to a few chunks in; later kills reach
        // further, so that even a slow machine stores chunks between them.
        let moment = Duration::from_millis(10 + rng.below(700 + 40 * kills as u64));
        tokio::select! {
            _ = tokio::time::sleep(moment) => {
                child.start_kill().expect("SIGKILL sent");
                child.wait().await.expect("killed child reaped");
                kills += 1;
            }
            status = child.wait() => {
                assert_eq!(status.expect("child ran").code(), Some(0), "an unkilled run failed (seed {seed})");
                finished_runs += 1;
            }
        }
        assert_consistent(&h, "crash/repo", &format!("after kill {kills} at {moment:?} (seed {seed})")).await;
    }
    assert!(kills >= 10, "the backfill finished before enough kills ({kills}); seed {seed}");
    let before_last = h.processed_prs("crash/repo").await;
    eprintln!("{kills} kills, {finished_runs} runs finished on their own, {before_last} PRs stored by then");
    assert!(before_last > 0, "the killed runs stored chunks too (seed {seed})");

    // Until the last killed run's lease lapses, a run skips the backfill.
    h.wait_until("a last run completes the backfill", Duration::from_secs(120), || async {
        let out = h.backfill_with(&["run", "--time-budget", "5m"], &LEASE).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        h.status_of("crash/repo").await == "completed"
    })
    .await;
    assert_consistent(&h, "crash/repo", &format!("at the end (seed {seed})")).await;
    assert_complete(&h, "crash", "repo").await;
}
