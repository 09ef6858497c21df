//! No database transaction stays open while the tool waits on GitHub: the
//! chunk is fetched outside any transaction (the claim is a lease renewed by
//! a heartbeat), and only the store is one short transaction. So a database
//! that kills idle transactions is fine, `pause` never waits for a fetch, and
//! a killed run's claim lapses so that a later run takes over.

mod common;

use std::time::{Duration, Instant};

use common::consistency::assert_consistent;
use common::oracle::assert_complete;
use common::{spec, text, Harness};
use fake_github::{Fault, RepoSpec};
use sqlx::PgPool;

/// The tool's sessions on this test's database: those idle inside a
/// transaction for longer than a blink, and all of them.
const SAMPLE: &str = "SELECT count(*) FILTER (WHERE state IN ('idle in transaction', 'idle in transaction (aborted)') \
       AND now() - state_change > interval '500 milliseconds'), count(*) \
     FROM pg_stat_activity WHERE application_name = 'backfill' AND datname = current_database()";

/// A repository without the extreme PRs: each chunk is a couple of requests.
fn ordinary(owner: &str, name: &str, prs: usize) -> RepoSpec {
    RepoSpec { extremes: false, ..spec(owner, name, prs) }
}

/// Waits for a spawned run, failing the test if it hangs.
async fn finished(child: tokio::process::Child) -> std::process::Output {
    tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the run finished within two minutes")
        .expect("run output")
}

/// Managed PostgreSQL (and many a DBA) ends sessions that sit idle in a
/// transaction. Slow answers and a secondary limit's `retry-after` keep the
/// tool waiting on GitHub for seconds at a time: no transaction may be open
/// meanwhile, or the server kills the connection and the chunk with it.
#[sqlx::test(migrations = false)]
async fn a_database_that_kills_idle_transactions_still_completes(pool: PgPool) {
    let db = pool.connect_options().get_database().expect("the test's database").to_string();
    sqlx::query(&format!("ALTER DATABASE \"{db}\" SET idle_in_transaction_session_timeout = '2s'"))
        .execute(&pool)
        .await
        .expect("set the idle timeout");
    let h = Harness::start(pool, &[ordinary("idle", "repo", 120)]).await;
    h.add("idle/repo").await;
    h.fake.with_control(|c| {
        c.latency = Duration::from_millis(1500);
        c.chaos.secondary_every = Some(4);
        c.chaos.secondary_retry_after = Some(4);
    });

    let started = Instant::now();
    let out = h.backfill_with(&["run", "--time-budget", "10m"], &[("BACKFILL_RETRY_DELAY", "100ms")]).await;
    eprintln!("the run took {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(h.status_of("idle/repo").await, "completed");
    assert_complete(&h, "idle", "repo").await;
    assert_consistent(&h, "idle/repo", "under a 2 s idle-in-transaction timeout").await;

    let log = h.fake.requests();
    let limits: Vec<_> = log
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.fault, Some(Fault::SecondaryLimit { .. })) && [403, 429].contains(&r.status))
        .collect();
    eprintln!("{} requests, {} secondary limits", log.len(), limits.len());
    assert!(!limits.is_empty(), "a secondary limit was served ({} requests)", log.len());
    for (i, limit) in limits {
        if let Some(next) = log.get(i + 1) {
            assert!(next.received >= limit.at + chrono::Duration::seconds(4), "retry-after was waited");
        }
    }
}

/// The same promise, watched directly: while a run waits on slow answers,
/// PostgreSQL never sees one of its sessions idle in a transaction.
#[sqlx::test(migrations = false)]
async fn no_session_of_the_tool_idles_in_a_transaction(pool: PgPool) {
    let h = Harness::start(pool, &[spec("watch", "repo", 120)]).await;
    h.add("watch/repo").await;
    h.fake.with_control(|c| c.latency = Duration::from_millis(800));

    let mut child = h.spawn(&["run", "--time-budget", "5m"], &[]);
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut samples, mut saw_tool, mut saw_idle) = (0, 0, 0);
    while child.try_wait().expect("child status").is_none() {
        assert!(Instant::now() < deadline, "the run did not end within two minutes");
        let (idle, tool): (i64, i64) = sqlx::query_as(SAMPLE).fetch_one(&h.pool).await.expect("pg_stat_activity");
        samples += 1;
        saw_tool += i32::from(tool > 0);
        saw_idle += i32::from(idle > 0);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = finished(child).await;
    eprintln!("{samples} samples: {saw_tool} saw the tool's sessions, {saw_idle} saw one idle in a transaction");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(saw_tool > 0, "the sampler saw the tool's sessions ({samples} samples)");
    assert_eq!(saw_idle, 0, "{saw_idle} of {samples} samples saw the tool idle in a transaction for over 500 ms");
    assert_eq!(h.status_of("watch/repo").await, "completed");
    assert_consistent(&h, "watch/repo", "after the watched run").await;
}

/// Someone pausing a backfill must not wait for a slow chunk to finish. The
/// chunk in flight may still be stored, but the pause holds.
#[sqlx::test(migrations = false)]
async fn pause_during_a_fetch_returns_at_once(pool: PgPool) {
    let h = Harness::start(pool, &[ordinary("halt", "repo", 120)]).await;
    h.add("halt/repo").await;
    h.fake.with_control(|c| c.latency = Duration::from_secs(3));

    let child = h.spawn(&["run"], &[]);
    h.wait_until("a request is in flight", Duration::from_secs(30), || async {
        h.fake.with_control(|c| c.in_flight > 0)
    })
    .await;
    let asked = Instant::now();
    let out = h.backfill(&["pause", "halt/repo"]).await;
    let took = asked.elapsed();
    eprintln!("pause took {took:?}");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(took < Duration::from_secs(1), "pause waited {took:?} for the chunk in flight");

    let run = finished(child).await;
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    assert_eq!(h.status_of("halt/repo").await, "paused", "the pause holds after the chunk in flight");
    assert_consistent(&h, "halt/repo", "after the paused run").await;

    h.fake.with_control(|c| c.latency = Duration::ZERO);
    h.ok(&["resume", "halt/repo"]).await;
    h.ok(&["run", "--time-budget", "5m"]).await;
    assert_eq!(h.status_of("halt/repo").await, "completed");
    assert_complete(&h, "halt", "repo").await;
    assert_consistent(&h, "halt/repo", "at the end").await;
}

/// A run killed outright (SIGKILL, a runner lost) cannot release its claim;
/// the claim must lapse on its own so the next scheduled run takes over
/// within a minute, and not be stuck behind a dead process.
#[sqlx::test(migrations = false)]
async fn after_a_kill_another_run_takes_over_within_a_minute(pool: PgPool) {
    let h = Harness::start(pool, &[spec("kill", "repo", 200)]).await;
    h.add("kill/repo").await;
    h.fake.with_control(|c| c.latency = Duration::from_millis(500));

    let mut child = h.spawn(&["run", "--time-budget", "5m"], &[]);
    h.wait_until("a request is in flight", Duration::from_secs(30), || async {
        h.fake.with_control(|c| c.in_flight > 0)
    })
    .await;
    child.start_kill().expect("SIGKILL sent");
    child.wait().await.expect("killed child reaped");
    let killed = Instant::now();
    let at_kill = h.processed_prs("kill/repo").await;
    assert_consistent(&h, "kill/repo", "after the kill").await;

    h.fake.with_control(|c| c.latency = Duration::ZERO);
    let deadline = killed + Duration::from_secs(70);
    let mut runs = 0;
    loop {
        h.ok(&["run"]).await;
        runs += 1;
        if h.processed_prs("kill/repo").await > at_kill {
            break;
        }
        assert!(Instant::now() < deadline, "no run took over within 70 s ({runs} runs)");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let takeover = killed.elapsed();
    eprintln!("a run took over {takeover:?} after the kill ({runs} runs)");
    assert!(takeover < Duration::from_secs(60), "the takeover took {takeover:?}");

    h.ok(&["run", "--time-budget", "5m"]).await;
    assert_eq!(h.status_of("kill/repo").await, "completed");
    assert_consistent(&h, "kill/repo", "at the end").await;
    assert_complete(&h, "kill", "repo").await;
}
