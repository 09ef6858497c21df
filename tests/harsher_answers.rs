//! GitHub's harsher answers: partial data, a budget smaller than a chunk,
//! queries it times out on, and a points-per-minute limit shared by several
//! runners. Whatever GitHub does, the data must end up exactly the fake's,
//! every point must be accounted for, and the tool must never loop in place.

mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::consistency::assert_consistent;
use common::oracle::assert_complete;
use common::{spec, stderr, text, Harness};
use fake_github::{Fault, RepoSpec, RequestRecord, SecondaryPoints};
use serde_json::json;
use sqlx::PgPool;

/// Runs `args` until every backfill is completed, each run exiting 0 and
/// its closing line stating exactly the points the fake charged during it
/// (dropped attempts and timed-out requests included). A run that leaves the
/// backfill paused is followed by one only once the pause is over (polled),
/// so the loop cannot spin while nothing can move.
async fn run_to_completion(h: &Harness, args: &[&str], env: &[(&str, &str)], within: Duration) -> Vec<Output> {
    let deadline = Instant::now() + within;
    let mut runs = Vec::new();
    while !h.all_completed().await {
        assert!(Instant::now() < deadline, "not completed after {} runs", runs.len());
        let before = h.fake.requests().len();
        let out = h.backfill_with(args, env).await;
        assert_eq!(out.status.code(), Some(0), "run {} failed:\n{}", runs.len() + 1, text(&out));
        assert!(!stderr(&out).contains("panicked"), "panic:\n{}", text(&out));
        let charged: i64 = h.fake.requests()[before..].iter().map(|r| r.cost).sum();
        assert_eq!(points_used(&out), charged, "run {}: points used against the fake:\n{}", runs.len() + 1, text(&out));
        runs.push(out);
        let until: Option<String> = sqlx::query_scalar(
            "SELECT max(metadata->>'paused_until') FROM progressive_backfill_state WHERE status = 'paused'",
        )
        .fetch_one(&h.pool)
        .await
        .expect("states");
        let until = until.and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok()).map(|t| t.to_utc());
        if let Some(t) = until {
            let left = (t - chrono::Utc::now()).to_std().unwrap_or_default();
            let wait = left.min(deadline.saturating_duration_since(Instant::now()));
            h.wait_until("the pause is over", wait + Duration::from_secs(1), || async { chrono::Utc::now() >= t })
                .await;
        }
    }
    runs
}

/// The `P` of the closing line `run finished: ..., P points used, L points left`
/// (`1 point used` for one).
fn points_used(out: &Output) -> i64 {
    let err = stderr(out);
    let line = err.lines().find(|l| l.contains("run finished:")).unwrap_or_else(|| panic!("no closing line:\n{err}"));
    line.split(", ")
        .find_map(|part| part.strip_suffix(" points used").or_else(|| part.strip_suffix(" point used")))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no points in the closing line: {line}"))
}

async fn failed_chunks(h: &Harness) -> Vec<(i32, Option<String>)> {
    sqlx::query_as("SELECT chunk_number, error FROM backfill_chunks WHERE status = 'failed' ORDER BY chunk_number")
        .fetch_all(&h.pool)
        .await
        .expect("chunks")
}

fn count(log: &[RequestRecord], what: impl Fn(&RequestRecord) -> bool) -> usize {
    log.iter().filter(|r| what(r)).count()
}

#[sqlx::test(migrations = false)]
async fn one_answer_in_four_partial_still_stores_everything_exactly(pool: PgPool) {
    let started = Instant::now();
    let h = Harness::start(pool, &[spec("partial", "repo", 600)]).await;
    let seed = std::env::var("PARTIAL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(7);
    eprintln!("partial seed {seed} (set PARTIAL_SEED to replay another)");
    // Before any request: the fake seeds its dice at the first one it sees.
    h.fake.with_control(|c| c.chaos.seed = seed);
    h.add("partial/repo").await;
    // Chance rarely nulls the rarer holes, so the run opens with one of each:
    // a PR's nullable `reviews` (refetched alone, the page kept whole), then
    // one PR's reviews in a details request (its id asked again).
    let reviews_hole = ["repository", "pullRequests", "nodes", "3", "reviews"];
    let details_hole = ["reviewsOf", "0", "reviews"];
    let path = |p: &[&str]| p.iter().map(|s| s.parse::<u64>().map_or_else(|_| json!(s), |i| json!(i))).collect();
    h.fake.with_control(|c| {
        c.chaos.partial_percent = 40;
        c.faults.extend([Fault::Partial { path: path(&reviews_hole) }, Fault::Partial { path: path(&details_hole) }]);
    });
    let env = [("BACKFILL_RETRY_DELAY", "100ms")];
    let runs = run_to_completion(&h, &["run", "--time-budget", "3m"], &env, Duration::from_secs(240)).await;

    assert_complete(&h, "partial", "repo").await;
    assert_consistent(&h, "partial/repo", &format!("seed {seed}")).await;
    assert_eq!(failed_chunks(&h).await, vec![], "a partial answer never fails a chunk: seed {seed}");
    let log = h.fake.requests();
    let holes: Vec<_> = log.iter().filter_map(|r| r.fault.clone()).take(2).collect();
    let want = [Fault::Partial { path: path(&reviews_hole) }, Fault::Partial { path: path(&details_hole) }];
    assert_eq!(holes, want, "the queued holes struck where they were aimed");
    let first: Vec<i32> = sqlx::query_scalar("SELECT pr_count FROM backfill_chunks WHERE chunk_number = 1")
        .fetch_all(&h.pool)
        .await
        .expect("chunk 1");
    assert_eq!(first, vec![50], "a PR's missing reviews do not shrink the page");
    let partial = count(&log, |r| matches!(r.fault, Some(Fault::Partial { .. })));
    // The two aimed ones, and at least a few by chance: a chunk of 50 PRs
    // takes about one request, so it takes 600 PRs to make enough answers.
    assert!(partial >= 5, "only {partial} partial answers were served: seed {seed}");
    eprintln!("{partial} partial of {} answers, {} runs, {:?}", log.len(), runs.len(), started.elapsed());
}

/// Backfills `prs` PRs (heavy ones included) under a primary budget of
/// `limit` points a `window`, with plain runs. Each run's closing line must
/// state exactly what the fake charged during it, dropped attempts included.
async fn under_a_tiny_budget(pool: PgPool, prs: usize, limit: i64, window: Duration) -> Vec<String> {
    let started = Instant::now();
    let h = Harness::start(pool, &[spec("tiny", "budget", prs)]).await;
    h.add("tiny/budget").await;
    let first = h.fake.requests().len();
    h.fake.with_control(|c| c.budget = fake_github::world::Budget::new(limit, window));
    let runs = run_to_completion(&h, &["run"], &[], Duration::from_secs(180)).await;

    let log = &h.fake.requests()[first..];
    let charged: i64 = log.iter().map(|r| r.cost).sum();
    let reported: i64 = runs.iter().map(points_used).sum();
    assert_eq!(reported, charged, "the runs' closing lines add up to what the fake charged");
    let cut_off = runs.iter().filter(|out| stderr(out).contains("exhausted mid-chunk")).count();
    assert!(cut_off > 0, "no chunk was cut off by the budget: the test tests nothing");

    assert_complete(&h, "tiny", "budget").await;
    assert_consistent(&h, "tiny/budget", &format!("after a budget of {limit}")).await;
    assert_eq!(failed_chunks(&h).await, vec![]);
    let out = h.ok(&["status", "--json"]).await;
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    let spent = status.as_array().and_then(|a| a.first()).and_then(|b| b["points_spent"].as_i64());
    assert_eq!(spent, Some(charged), "points_spent counts dropped attempts too:\n{status:#}");
    let refused = count(log, |r| r.rate_limited);
    eprintln!("{} runs, {charged} points, {cut_off} cut off, {refused} refused, {:?}", runs.len(), started.elapsed());
    runs.iter().map(stderr).collect()
}

#[sqlx::test(migrations = false)]
async fn a_budget_of_two_points_a_window_still_completes(pool: PgPool) {
    // A chunk of 50 PRs holding heavy ones costs 3-4 points here (its page,
    // then its follow-ups), 5 PRs 2.
    under_a_tiny_budget(pool, 150, 2, Duration::from_secs(2)).await;
}

#[sqlx::test(migrations = false)]
async fn when_five_prs_cost_more_than_a_window_the_chunk_waits_for_resets(pool: PgPool) {
    // Every chunk takes at least two requests (its page, then its
    // follow-ups) in a run of one chunk, so at one point a window none fits.
    let errs = under_a_tiny_budget(pool, 45, 1, Duration::from_secs(1)).await;
    let learned = errs.iter().any(|e| e.contains("cost more than a whole rate-limit window"));
    let went_on = errs.iter().any(|e| e.contains("then the chunk goes on"));
    assert!(learned && went_on, "no chunk spanned windows (learned {learned}, went on {went_on})");
}

/// Times out by nodes: a page of 50 PRs with its inline windows is 10,050
/// nodes, a page of 6 is 1,206; each review's comments asked by id are 101,
/// so a request of a page and its follow-ups goes over where either alone
/// may not.
const TIMEOUT_ABOVE_NODES: u64 = 2_000;

#[sqlx::test(migrations = false)]
async fn timeouts_by_cost_split_the_request_before_it_is_retried(pool: PgPool) {
    let started = Instant::now();
    let h = Harness::start(pool, &[spec("slow", "repo", 200)]).await;
    h.add("slow/repo").await;
    h.fake.with_control(|c| c.chaos.timeout_above_nodes = Some(TIMEOUT_ABOVE_NODES));
    let env = [("BACKFILL_RETRY_DELAY", "10ms")];
    let runs = run_to_completion(&h, &["run", "--time-budget", "3m"], &env, Duration::from_secs(240)).await;

    assert_complete(&h, "slow", "repo").await;
    assert_consistent(&h, "slow/repo", "after the timeouts").await;
    let log = h.fake.requests();
    let timeouts: Vec<usize> = (0..log.len()).filter(|&i| log[i].status == 502).collect();
    let op = |i: usize| log.get(i).and_then(|r| r.operation.as_deref());
    assert!(
        timeouts.iter().any(|&i| op(i) == Some("PullRequestPage")),
        "no page timed out: the threshold tests nothing"
    );
    // A request that timed out is planned again within a smaller node limit
    // before it is sent again: the next request of its kind asks fewer nodes.
    for &i in &timeouts {
        let next = log[i + 1..].iter().find(|r| r.operation == log[i].operation);
        let next = next.unwrap_or_else(|| panic!("request {i} ({:?}) timed out and was never asked again", log[i]));
        assert!(
            next.nodes < log[i].nodes,
            "request {i} timed out at {} nodes and was asked again at {}: {:?}",
            log[i].nodes,
            next.nodes,
            log[i].operation
        );
    }
    // Pages keep their PRs: fewer of each one's items are asked inline.
    let pages = log.iter().filter(|r| r.status == 200 && r.operation.as_deref() == Some("PullRequestPage"));
    assert!(pages.count() <= 200 / 50 + 2 * runs.len(), "pages of 50 PRs");
    let limit = h.state_field("slow/repo", "s.metadata->'node_limit'").await;
    let limit = limit.and_then(|n| n.parse::<u64>().ok());
    assert!(
        limit.is_some_and(|n| n <= TIMEOUT_ABOVE_NODES + 500),
        "the node limit that worked is remembered: {limit:?}"
    );
    eprintln!("{} timeouts in {} requests, {} runs, {:?}", timeouts.len(), log.len(), runs.len(), started.elapsed());
}

/// GitHub's secondary limit counts 1 point per query, whatever it costs, and
/// so do the fake and the runners. Small enough that four unpaced runners go
/// over it (the three repositories take about 37 queries together), large
/// enough that paced ones finish in about 130 s: a backfill is one runner's
/// at a time, so three of the four work, each at about 6 queries a minute
/// (its quarter, 7, less the burst).
const QUERIES_PER_MINUTE: i64 = 28;
const SHARED: [(&str, &str, usize); 3] = [("shared", "one", 201), ("shared", "two", 202), ("shared", "three", 203)];

#[sqlx::test(migrations = false)]
async fn four_runners_on_one_token_stay_under_the_points_per_minute_limit(pool: PgPool) {
    let started = Instant::now();
    let specs: Vec<RepoSpec> = SHARED.iter().map(|(o, n, prs)| spec(o, n, *prs)).collect();
    let h = Harness::start(pool, &specs).await;
    // Not kept current once completed: the sweeps of finished backfills
    // would only lengthen the test while the others finish.
    for (owner, name, _) in SHARED {
        h.add(&format!("{owner}/{name}")).await;
        h.ok(&["add", &format!("{owner}/{name}"), "--no-refresh"]).await;
    }
    let first = h.fake.requests().len();
    h.fake.with_control(|c| {
        c.secondary_points = Some(SecondaryPoints { points: QUERIES_PER_MINUTE, window: Duration::from_secs(60) });
        // Requests that take a moment, so that the runners overlap.
        c.latency = Duration::from_millis(10);
    });
    let per_minute = QUERIES_PER_MINUTE.to_string();
    let env = [("BACKFILL_POINTS_PER_MINUTE", per_minute.as_str()), ("BACKFILL_RUNNERS_PER_TOKEN", "4")];
    let (a, b, c, d) = tokio::join!(
        h.looping_runner(1, &env),
        h.looping_runner(2, &env),
        h.looping_runner(3, &env),
        h.looping_runner(4, &env)
    );

    let log = &h.fake.requests()[first..];
    let refused: Vec<_> = log.iter().filter(|r| matches!(r.fault, Some(Fault::SecondaryLimit { .. }))).collect();
    assert!(refused.is_empty(), "{} requests went over the shared limit, first {:?}", refused.len(), refused.first());
    for (owner, name, _) in SHARED {
        let full_name = format!("{owner}/{name}");
        assert_eq!(h.status_of(&full_name).await, "completed");
        assert_complete(&h, owner, name).await;
        assert_consistent(&h, &full_name, "after the shared-token runners").await;
    }
    // Every query counts 1 in the fake's window (none was refused), whatever it cost.
    let queries = log.len() as i64;
    assert!(queries > QUERIES_PER_MINUTE, "{queries} queries: unpaced runners would have stayed under the limit too");
    let minute = chrono::Duration::seconds(60);
    let in_minute = |s: &RequestRecord| count(log, |r| r.received >= s.received && r.received < s.received + minute);
    let peak = log.iter().map(in_minute).max().unwrap_or(0) as i64;
    assert!(peak * 2 >= QUERIES_PER_MINUTE, "at most {peak} queries in a minute: the limit was never approached");
    let (charged, runs) = (log.iter().map(|r| r.cost).sum::<i64>(), a + b + c + d);
    eprintln!(
        "{runs} runs, {queries} queries for {charged} points, at most {peak} in a minute, {:?}",
        started.elapsed()
    );
}
