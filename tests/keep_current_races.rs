//! Keeping a completed backfill current whatever comes in between: runs
//! killed during a refresh, two runners at once, one stalled past its lease,
//! and pages that say they are the last too early.

mod common;

use common::changes::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::current::{assert_current_consistent, chunk_rows, is_current};
use common::oracle::assert_complete;
use common::{spec, text, Harness};
use fake_github::data::Rng;
use fake_github::Fault;
use sqlx::PgPool;

/// Whether a sweep is under way (its cursor stored).
async fn sweeping(h: &Harness, full_name: &str) -> bool {
    h.state_field(full_name, "s.metadata ? 'sweep_cursor'").await.as_deref() == Some("true")
}

#[sqlx::test(migrations = false)]
async fn runs_killed_during_a_refresh_lose_nothing_and_store_nothing_twice(pool: PgPool) {
    const KILLED: (&str, &str) = ("keep", "killed");
    const KILLS: usize = 10;
    let started = Instant::now();
    let h = Harness::start(pool, &[spec("keep", "killed", 600)]).await;
    let history = complete(&h, "keep/killed").await;
    let seed = seed("CRASH_SEED");
    let mut rng = Rng::new(seed);
    h.fake.with_world(|w| {
        change(w, KILLED, FORTY, &mut rng, |_| true);
        open_prs(w, KILLED, 30);
    });
    // Requests that take a moment, and pages of ten: a refresh is some
    // twenty chunks, so that kills land between and inside them.
    h.fake.with_control(|c| c.latency = Duration::from_millis(25));
    let args = ["run", "--time-budget", "1m", "--chunk-size", "10"];
    let (mut kills, mut finished, mut mid_sweep, mut more_changed) = (0, Vec::new(), 0, false);
    while kills < KILLS {
        h.lease_lapsed("keep/killed").await;
        let mut child = h.spawn(&args, &LEASE);
        let began = Instant::now();
        // Half the kills come at a random moment, the other half soon after
        // a sweep is under way: however slowly a busy machine starts its
        // runs, some kills land in the middle of a sweep.
        let in_sweep = rng.below(2) == 0;
        let moment = Duration::from_millis(if in_sweep { rng.below(100) } else { 10 + rng.below(1_000) });
        let killer = async {
            while in_sweep && !sweeping(&h, "keep/killed").await {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep(moment).await;
        };
        tokio::select! {
            _ = killer => {
                child.start_kill().expect("SIGKILL sent");
                child.wait().await.expect("killed child reaped");
                kills += 1;
            }
            status = child.wait() => {
                assert_eq!(status.expect("child ran").code(), Some(0), "an unkilled run failed (seed {seed})");
                finished.push(began.elapsed());
                assert!(finished.len() < 20, "runs end before the kills land (seed {seed}): {finished:?}");
            }
        }
        mid_sweep += usize::from(sweeping(&h, "keep/killed").await);
        let during = if in_sweep { " into a sweep" } else { "" };
        let context = format!("after kill {kills} at {moment:?}{during} (seed {seed})");
        assert_current_consistent(&h, "keep/killed", &history, &context).await;
        if kills == KILLS / 2 && !more_changed {
            more_changed = true;
            // More changes while the refreshes are being killed.
            h.fake.with_world(|w| {
                change(w, KILLED, TEN, &mut rng, |_| true);
                open_prs(w, KILLED, 5);
            });
        }
    }
    eprintln!("{kills} kills ({mid_sweep} left a sweep under way); runs that ended by themselves took {finished:?}");
    assert!(mid_sweep >= 1, "some kill landed in the middle of a sweep (seed {seed})");

    // A killed run's claim lapses after the lease; until then runs skip the backfill.
    h.fake.with_control(|c| c.latency = Duration::ZERO);
    h.wait_until("plain runs bring the data up to the fake's", Duration::from_secs(45), || async {
        let out = h.backfill_with(&["run"], &LEASE).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        is_current(&h, "keep", "killed").await
    })
    .await;
    assert_complete(&h, "keep", "killed").await;
    let chunks = assert_current_consistent(&h, "keep/killed", &history, &format!("at the end (seed {seed})")).await;
    assert_eq!(h.processed_prs("keep/killed").await, 635, "every PR, new ones included, stored once");
    assert_eq!(h.status_of("keep/killed").await, "completed");
    eprintln!("{} chunks after completion; {:?}", chunks.len() - history.len(), started.elapsed());
}

#[sqlx::test(migrations = false)]
async fn two_runners_refreshing_at_once_store_each_sweep_page_once(pool: PgPool) {
    const RACED: (&str, &str) = ("keep", "raced");
    const ROUNDS: usize = 5;
    let h = Harness::start(pool, &[spec("keep", "raced", 600)]).await;
    let history = complete(&h, "keep/raced").await;
    let mut rng = Rng::new(seed("CHANGE_SEED"));
    h.fake.with_control(|c| c.latency = Duration::from_millis(10));
    let args = ["run", "--time-budget", "1m"];
    // Every PR changed or opened so far: within the ten minutes' margin,
    // each sweep refreshes them all again.
    let (mut changed, mut both_stored) = (BTreeSet::new(), 0);
    for round in 1..=ROUNDS {
        let mix = if round == 1 { FORTY } else { TEN };
        let changes = h.fake.with_world(|w| {
            let mut c = change(w, RACED, mix, &mut rng, |_| true);
            c.opened = open_prs(w, RACED, if round == 1 { 30 } else { 5 });
            c
        });
        changed.extend(changes.all());
        let before = chunk_rows(&h, "keep/raced").await.len();
        let (a, b) = (h.spawn(&args, &LEASE), h.spawn(&args, &LEASE));
        let both = async { tokio::join!(a.wait_with_output(), b.wait_with_output()) };
        let (a, b) =
            tokio::time::timeout(Duration::from_secs(60), both).await.expect("both runners end within a minute");
        let mut stored_by = Vec::new();
        for (who, out) in [("a", a), ("b", b)] {
            let out = out.expect("runner ran");
            assert_eq!(out.status.code(), Some(0), "round {round}: runner {who} failed:\n{}", text(&out));
            let last = String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("").to_string();
            stored_by.push(!last.contains(" 0 chunks"));
            eprintln!("round {round}, runner {who}: {last}");
        }
        both_stored += usize::from(stored_by == [true, true]);
        let context = format!("round {round}");
        let current = is_current(&h, "keep", "raced").await;
        assert!(current, "{context}: after both runners: {}", stale_summary(&h, "keep", "raced").await);
        let chunks = assert_current_consistent(&h, "keep/raced", &history, &context).await;
        let status = status_json(&h, "keep/raced").await;
        assert_eq!(status["sweeping"], false, "{context}: no sweep left half done: {status}");

        // The world did not change while they ran, so every sweep met the
        // same PRs, each once, and the new ones were also stored by the look
        // for new PRs: a sweep page stored by both runners would count its
        // PRs once more than the others.
        let mut times: BTreeMap<i32, usize> = BTreeMap::new();
        for c in &chunks[before..] {
            for n in &c.prs {
                *times.entry(*n).or_default() += 1;
            }
        }
        assert_eq!(times.keys().copied().collect::<BTreeSet<_>>(), changed, "{context}: the PRs its chunks hold");
        let sweeps = times[changes.existing().first().expect("a changed PR")];
        let want = |n: &i32| sweeps + usize::from(changes.opened.contains(n));
        let odd: Vec<_> = times.iter().filter(|(n, t)| **t != want(n)).collect();
        eprintln!("round {round}: {} chunks, {sweeps} sweeps", chunks.len() - before);
        assert!(odd.is_empty(), "{context}: PRs stored other than once a sweep ({sweeps}): {odd:?}");
    }
    eprintln!("in {both_stored} of {ROUNDS} rounds both runners stored chunks");
}

/// Sends `signal` (STOP, CONT) to a process this test started.
fn signal(child: &tokio::process::Child, signal: &str) {
    let pid = child.id().expect("the runner is running").to_string();
    let status = std::process::Command::new("kill").args([&format!("-{signal}"), &pid]).status();
    assert!(status.is_ok_and(|s| s.success()), "kill -{signal} {pid}");
}

/// The holder of the live claim, if any ("pid N on HOST").
async fn claim_holder(h: &Harness) -> Option<String> {
    sqlx::query_scalar("SELECT holder_name FROM backfill_claims WHERE expires_at > now()")
        .fetch_optional(&h.pool)
        .await
        .expect("claims")
        .flatten()
}

/// Whether another session of this database is in a statement or a transaction.
async fn busy(h: &Harness) -> bool {
    let busy: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid() AND state <> 'idle'",
    )
    .fetch_one(&h.pool)
    .await
    .expect("pg_stat_activity");
    busy > 0
}

#[sqlx::test(migrations = false)]
async fn a_runner_stalled_past_its_lease_mid_refresh_stores_nothing_the_other_stored(pool: PgPool) {
    const STALLED: (&str, &str) = ("keep", "stalled");
    let h = Harness::start(pool, &[spec("keep", "stalled", 600)]).await;
    let history = complete(&h, "keep/stalled").await;
    let mut rng = Rng::new(seed("CHANGE_SEED"));
    let changes = h.fake.with_world(|w| {
        let mut c = change(w, STALLED, FORTY, &mut rng, |_| true);
        c.opened = open_prs(w, STALLED, 30);
        c
    });
    // Slow requests and pages of ten: the refresh is a dozen chunks.
    h.fake.with_control(|c| c.latency = Duration::from_millis(60));
    let args = ["run", "--time-budget", "1m", "--chunk-size", "10"];
    let a = h.spawn(&args, &LEASE);
    h.wait_until("runner a is in the middle of the sweep", Duration::from_secs(30), || async {
        sweeping(&h, "keep/stalled").await
    })
    .await;
    // Stopped outside a transaction: one held open would keep b waiting on its locks.
    for attempt in 0.. {
        signal(&a, "STOP");
        if !(busy(&h).await || busy(&h).await) {
            break;
        }
        assert!(attempt < 50, "runner a is always in a transaction");
        signal(&a, "CONT");
        h.wait_until("runner a's transaction ends", Duration::from_secs(5), || async { !busy(&h).await }).await;
    }
    let at_stop = chunk_rows(&h, "keep/stalled").await.len();
    h.wait_until("runner a's claim lapses", Duration::from_secs(10), || async { claim_holder(&h).await.is_none() })
        .await;
    let b = h.spawn(&args, &LEASE);
    let b_pid = format!("pid {} ", b.id().expect("runner b runs"));
    h.wait_until("runner b takes the backfill over", Duration::from_secs(10), || async {
        claim_holder(&h).await.is_some_and(|holder| holder.starts_with(&b_pid))
            || chunk_rows(&h, "keep/stalled").await.len() > at_stop
    })
    .await;
    // Runner a wakes while b refreshes: what it fetched must not be stored
    // over b's chunks.
    signal(&a, "CONT");
    let both = async { tokio::join!(a.wait_with_output(), b.wait_with_output()) };
    let (a, b) = tokio::time::timeout(Duration::from_secs(60), both).await.expect("both runners end within a minute");
    for (who, out) in [("a", a), ("b", b)] {
        let out = out.expect("runner ran");
        assert_eq!(out.status.code(), Some(0), "runner {who} failed:\n{}", text(&out));
        let said: Vec<_> = String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.contains("not stored") || l.contains("run finished"))
            .map(str::to_string)
            .collect();
        eprintln!("runner {who}: {said:?}");
    }
    h.fake.with_control(|c| c.latency = Duration::ZERO);
    let mut runs = 0;
    while !is_current(&h, "keep", "stalled").await || sweeping(&h, "keep/stalled").await {
        assert!(runs < 4, "not current, or a sweep left, after {runs} more runs");
        h.ok(&["run"]).await;
        runs += 1;
    }
    assert_complete(&h, "keep", "stalled").await;
    let chunks = assert_current_consistent(&h, "keep/stalled", &history, "after the stall").await;
    // Nothing changed on the fake since: each sweep met each changed PR once.
    let mut times: BTreeMap<i32, usize> = BTreeMap::new();
    for c in &chunks[history.len()..] {
        for n in &c.prs {
            *times.entry(*n).or_default() += 1;
        }
    }
    assert_eq!(times.keys().copied().collect::<BTreeSet<_>>(), changes.all());
    let sweeps = times[changes.existing().first().expect("a changed PR")];
    let odd: Vec<_> = times.iter().filter(|(n, t)| **t != sweeps + usize::from(changes.opened.contains(n))).collect();
    eprintln!(
        "{} chunks after completion ({} when a stopped), {sweeps} sweeps, {runs} more runs",
        chunks.len() - history.len(),
        at_stop - history.len()
    );
    assert!(odd.is_empty(), "PRs stored other than once a sweep ({sweeps}): {odd:?}");
}

#[sqlx::test(migrations = false)]
async fn a_page_ending_too_early_does_not_complete_a_backfill_with_prs_missing(pool: PgPool) {
    let h = Harness::start(pool, &[spec("keep", "early", 500)]).await;
    h.add("keep/early").await;
    h.ok(&["run"]).await;
    let mut early_ends = 0;
    let mut runs = 1;
    let mut seen = Vec::new();
    while h.status_of("keep/early").await != "completed" {
        assert!(runs < 40, "not completed after {runs} runs: {seen:?}");
        let processed = h.processed_prs("keep/early").await;
        // Before the second chunk, and before the last two.
        let cut = runs == 1 || (processed >= 400 && early_ends < 2);
        let before = h.fake.requests().len();
        if cut {
            h.fake.with_control(|c| c.faults.push_back(Fault::EarlyEnd));
        }
        h.ok(&["run"]).await;
        runs += 1;
        let (status, processed) = (h.status_of("keep/early").await, h.processed_prs("keep/early").await);
        seen.push((status.clone(), processed));
        if cut {
            assert_eq!(struck(&h, before, &Fault::EarlyEnd), 1, "the page said hasNextPage false too early");
            early_ends += 1;
            assert!(processed < 500, "the early end came with PRs left: {processed}");
        }
        assert!(status != "completed" || processed == 500, "completed with {processed} of 500 PRs stored");
    }
    eprintln!("{runs} runs, {early_ends} pages ended early; (status, processed_prs) after each: {seen:?}");
    assert_eq!(early_ends, 2);
    assert_eq!(h.processed_prs("keep/early").await, 500);
    assert_eq!(h.state_field("keep/early", "s.total_prs").await.as_deref(), Some("500"));
    assert_complete(&h, "keep", "early").await;
    common::consistency::assert_consistent(&h, "keep/early", "after early ends").await;
    common::consistency::assert_chunks_in_order(&h, "keep/early", "after early ends").await;
    let history = chunk_rows(&h, "keep/early").await;

    // New PRs of the completed backfill, the first page of them ending early.
    h.fake.with_world(|w| open_prs(w, ("keep", "early"), 25));
    let before = h.fake.requests().len();
    h.fake.with_control(|c| c.faults.push_back(Fault::EarlyEnd));
    h.ok(&["run", "--chunk-size", "10"]).await;
    assert_eq!(struck(&h, before, &Fault::EarlyEnd), 1, "the page of new PRs said hasNextPage false too early");
    let (status, processed) = (h.status_of("keep/early").await, h.processed_prs("keep/early").await);
    assert!(status != "completed" || processed == 525, "{status} with {processed} of 525 PRs stored");
    runs_until_current(&h, "keep/early", 6, &["run", "--chunk-size", "10"], &[]).await;
    assert_eq!(h.processed_prs("keep/early").await, 525);
    assert_eq!(h.status_of("keep/early").await, "completed");
    assert_current_consistent(&h, "keep/early", &history, "after the new PRs").await;
}
