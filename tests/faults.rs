//! GitHub misbehaving: random 502s and cut-off bodies, secondary limits,
//! heavy-query timeouts, a tiny primary budget. Whatever happens, the data
//! must end up exactly the fake's, and the tool must stay polite.

mod common;

use std::time::{Duration, Instant};

use common::oracle::assert_complete;
use common::{spec, stderr, text, Harness};
use fake_github::{Chaos, Fault, RequestRecord};
use sqlx::PgPool;

/// Seconds of `retry-after` the fake sends with its secondary limits.
const RETRY_AFTER: u64 = 1;

/// Requests after a secondary limit that came before its `retry-after` was over.
fn early_after_secondary(log: &[RequestRecord]) -> Vec<String> {
    log.windows(2)
        .filter_map(|w| {
            let Some(Fault::SecondaryLimit { retry_after: Some(s) }) = w[0].fault else { return None };
            let allowed = w[0].at + chrono::Duration::seconds(s as i64);
            (w[1].received < allowed)
                .then(|| format!("{} came {} before {allowed}", w[1].received, allowed - w[1].received))
        })
        .collect()
}

/// Runs with a time budget, again and again, until the backfill completes.
async fn run_to_completion(h: &Harness, repo: &str, args: &[&str], env: &[(&str, &str)]) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut codes = Vec::new();
    while h.status_of(repo).await != "completed" {
        assert!(Instant::now() < deadline, "{repo} did not complete; exit codes so far {codes:?}");
        let out = h.backfill_with(args, env).await;
        let code = out.status.code().unwrap_or(-1);
        assert!(code == 0 || code == 1, "a run under faults must not exit {code}:\n{}", text(&out));
        assert!(!stderr(&out).contains("panicked"), "panic:\n{}", text(&out));
        codes.push(code);
        if h.status_of(repo).await == "paused" {
            // Three failed chunks in a row pause a backfill; with these fault
            // rates that means the retries are not doing their job.
            panic!("paused under transient faults:\n{}", text(&out));
        }
    }
    codes
}

#[sqlx::test(migrations = false)]
async fn random_faults_leave_the_data_exactly_as_without_them(pool: PgPool) {
    let h = Harness::start(pool, &[spec("chaos", "repo", 500)]).await;
    h.add("chaos/repo").await;
    let seed = std::env::var("FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(7);
    eprintln!("fault seed {seed} (set FAULT_SEED to replay another)");
    h.fake.with_control(|c| {
        c.chaos = Chaos {
            seed,
            bad_gateway_percent: 10,
            truncated_percent: 3,
            secondary_every: Some(7),
            secondary_retry_after: Some(RETRY_AFTER),
            timeout_above_nodes: None,
            ..Chaos::default()
        }
    });
    let env = [("BACKFILL_REQUEST_INTERVAL", "20ms"), ("BACKFILL_RETRY_DELAY", "100ms")];
    let codes = run_to_completion(&h, "chaos/repo", &["run", "--time-budget", "3m"], &env).await;
    assert_complete(&h, "chaos", "repo").await;
    assert_eq!(h.processed_prs("chaos/repo").await, 500);

    let log = h.fake.requests();
    let faults = log.iter().filter(|r| r.fault.is_some()).count();
    let secondary = log.iter().filter(|r| matches!(r.fault, Some(Fault::SecondaryLimit { .. }))).count();
    eprintln!("{} requests, {faults} faulty ({secondary} secondary limits), {} runs", log.len(), codes.len());
    assert!(faults >= 5 && secondary >= 2, "the faults did strike ({faults}, {secondary} secondary): seed {seed}");
    assert_eq!(early_after_secondary(&log), Vec::<String>::new(), "requests before retry-after: seed {seed}");
    assert_eq!(h.fake.with_control(|c| c.max_in_flight), 1, "one request in flight at most");
    assert!(codes.iter().all(|c| *c == 0), "every run succeeded despite the faults: {codes:?}, seed {seed}");
}

#[sqlx::test(migrations = false)]
async fn a_small_budget_pauses_until_the_reset_and_later_runs_finish(pool: PgPool) {
    // Ordinary PRs only: a chunk must fit in the 6 points a window holds.
    let ordinary = fake_github::RepoSpec { extremes: false, ..spec("tiny", "budget", 300) };
    let h = Harness::start(pool, &[ordinary]).await;
    h.add("tiny/budget").await;
    h.fake.with_control(|c| c.budget = fake_github::world::Budget::new(6, Duration::from_secs(8)));
    let before = h.fake.requests().len();
    let out = h.ok(&["run", "--time-budget", "1m"]).await;
    let err = stderr(&out);
    assert!(err.contains("rate limit") && err.contains("paused until"), "says until when:\n{err}");
    assert_eq!(h.status_of("tiny/budget").await, "paused");
    let until = h.state_field("tiny/budget", "s.metadata->>'paused_until'").await.expect("paused_until set");
    assert!(h.state_field("tiny/budget", "s.metadata->>'pause_reason'").await.is_some(), "reason kept");
    let refused = |log: &[RequestRecord]| log.iter().filter(|r| r.rate_limited).count();
    assert!(refused(&h.fake.requests()[before..]) <= 1, "at most one request into the spent budget");

    // Runs before the reset skip it, asking only the free check of the
    // token; later ones go on.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut runs = 0;
    while h.status_of("tiny/budget").await != "completed" {
        assert!(Instant::now() < deadline, "not completed after {runs} runs");
        let sent = h.fake.requests().len();
        // (with a second's margin, so the pause cannot end while the run starts)
        let margin = chrono::Utc::now() + chrono::Duration::seconds(1);
        let still_paused = chrono::DateTime::parse_from_rfc3339(&until_now(&h).await).is_ok_and(|t| t > margin);
        let out = h.ok(&["run", "--time-budget", "1m"]).await;
        let log = h.fake.requests();
        if still_paused {
            let asked: Vec<_> = log[sent..].iter().map(|r| (r.operation.as_deref(), r.cost, r.rate_limited)).collect();
            let check = (Some("RateLimitNow"), 0, false);
            assert_eq!(asked, vec![check], "a run before the reset sends nothing that costs:\n{}", text(&out));
        }
        assert!(refused(&log[sent..]) <= 1, "one run sent several requests into a spent budget");
        runs += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_complete(&h, "tiny", "budget").await;
    assert_eq!(h.processed_prs("tiny/budget").await, 300);
    assert!(!until.is_empty());
}

async fn until_now(h: &Harness) -> String {
    h.state_field("tiny/budget", "s.metadata->>'paused_until'").await.unwrap_or_default()
}

#[sqlx::test(migrations = false)]
async fn heavy_pages_time_out_and_the_requests_shrink_then_grow_back(pool: PgPool) {
    let h = Harness::start(pool, &[spec("heavy", "repo", 200)]).await;
    h.add("heavy/repo").await;
    // A page of 50 PRs with their inline windows of 100 reviews and 100
    // comments asks for 10,050 nodes; with 49 of each, 4,950.
    h.fake.with_control(|c| c.chaos.timeout_above_nodes = Some(7_500));
    let quick = [("BACKFILL_RETRY_DELAY", "10ms")];
    let out = h.backfill_with(&["run"], &quick).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let sizes: Vec<i32> = sqlx::query_scalar("SELECT pr_count FROM backfill_chunks ORDER BY chunk_number")
        .fetch_all(&h.pool)
        .await
        .expect("chunks");
    assert_eq!(sizes, vec![50], "the page keeps its PRs and asks fewer of each one's items inline");
    let timeouts = h.fake.requests().iter().filter(|r| r.status == 502).count();
    assert!(timeouts >= 1, "GitHub timed out at least once");
    let learned = node_limit(&h).await;
    assert!(learned <= 7_500, "the node limit that worked is remembered: {learned}");

    // The next run starts from what it remembers, so it does not time out
    // again, and grows the limit back by a step per request.
    let before = h.fake.requests().len();
    h.backfill_with(&["run"], &quick).await;
    let page_timeouts = h.fake.requests()[before..]
        .iter()
        .filter(|r| r.status == 502 && r.operation.as_deref() == Some("PullRequestPage"))
        .count();
    assert_eq!(page_timeouts, 0, "the remembered limit is used");
    assert!(node_limit(&h).await > learned, "and grows back");
    run_to_completion(&h, "heavy/repo", &["run", "--time-budget", "2m"], &quick).await;
    assert_complete(&h, "heavy", "repo").await;
}

/// The node limit the repository remembers (none: the largest number).
async fn node_limit(h: &Harness) -> u64 {
    let stored = h.state_field("heavy/repo", "s.metadata->'node_limit'").await;
    stored.and_then(|l| l.parse::<u64>().ok()).unwrap_or(u64::MAX)
}

/// A database an older version wrote held the follow-ups per request it
/// learned (`max_detail_ids`, then `follow_up_limit`): the node limit took
/// their place, and the next chunk removes them.
#[sqlx::test(migrations = false)]
async fn follow_up_limits_an_older_version_stored_are_dropped(pool: PgPool) {
    let h = Harness::start(pool, &[spec("older", "repo", 60)]).await;
    h.add("older/repo").await;
    sqlx::query("UPDATE progressive_backfill_state SET metadata = metadata || '{\"max_detail_ids\": 5, \"follow_up_limit\": 7}'")
        .execute(&h.pool)
        .await
        .expect("the old keys");
    h.ok(&["run", "--max-chunks", "1"]).await;
    for key in ["max_detail_ids", "follow_up_limit", "node_limit"] {
        let kept = h.state_field("older/repo", &format!("s.metadata ? '{key}'")).await;
        assert_eq!(kept.as_deref(), Some("false"), "{key}: nothing timed out, nothing to remember");
    }
    assert_eq!(h.processed_prs("older/repo").await, 50);
}

#[sqlx::test(migrations = false)]
async fn a_query_over_the_node_limit_is_asked_again_smaller(pool: PgPool) {
    let h = Harness::start(pool, &[spec("nodes", "repo", 120)]).await;
    h.add("nodes/repo").await;
    let before = h.fake.requests().len();
    h.fake.with_control(|c| c.faults.push_back(Fault::NodeLimit));
    h.ok(&["run"]).await;
    let log = h.fake.requests()[before..].to_vec();
    assert!(log.len() >= 2 && log[0].status == 200 && log[1].nodes < log[0].nodes.max(10_050), "{log:#?}");
    // The page keeps its 50 PRs, asking fewer of each PR's items inline; the
    // node limit it learned is the repository's.
    let sizes: Vec<i32> = sqlx::query_scalar("SELECT chunk_size FROM progressive_backfill_state")
        .fetch_all(&h.pool)
        .await
        .expect("state");
    assert_eq!(sizes, vec![50]);
    assert_eq!(h.processed_prs("nodes/repo").await, 50);
    let limit = h.state_field("nodes/repo", "s.metadata->'node_limit'").await;
    assert!(limit.and_then(|l| l.parse::<u64>().ok()).is_some_and(|l| l < 10_050), "a node limit is remembered");
}

#[sqlx::test(migrations = false)]
async fn a_github_that_keeps_failing_fails_the_run_but_never_the_backfill(pool: PgPool) {
    let h = Harness::start(pool, &[spec("down", "repo", 60)]).await;
    h.add("down/repo").await;
    h.fake.with_control(|c| c.chaos.bad_gateway_percent = 100);
    for run in 1..=4 {
        let before = h.fake.requests().len();
        let out = h.backfill(&["run", "--max-retries", "2", "--retry-delay", "10ms"]).await;
        assert_eq!(out.status.code(), Some(1), "run {run}:\n{}", text(&out));
        let err = stderr(&out);
        assert!(err.contains("retry 1 of 2"), "retries are reported:\n{err}");
        assert!(err.lines().any(|l| l.starts_with("error: GitHub could not be reached")), "one clear line:\n{err}");
        // A 502 at once is a hiccup: sent again as it was; failing twice, it
        // is asked smaller, and the third failure in a row spends the retries,
        // smaller request or not.
        assert_eq!(h.fake.requests().len() - before, 3, "bounded attempts in run {run}");
    }
    let rows: Vec<(String, Option<i32>, Option<String>)> =
        sqlx::query_as("SELECT status::text, api_calls_made, error FROM backfill_chunks ORDER BY chunk_number")
            .fetch_all(&h.pool)
            .await
            .expect("chunks");
    assert_eq!(rows.len(), 4, "every attempt is on record");
    assert!(rows
        .iter()
        .all(|r| r.0 == "failed" && r.1 == Some(3) && r.2.as_deref().is_some_and(|e| e.contains("HTTP 502"))));
    // GitHub's trouble is not the backfill's: it stays active, nothing counts towards a pause.
    assert_eq!(h.status_of("down/repo").await, "active");
    assert_eq!(h.state_field("down/repo", "s.consecutive_errors").await.as_deref(), Some("0"));
    assert_eq!(h.processed_prs("down/repo").await, 0);

    h.fake.with_control(|c| c.chaos.bad_gateway_percent = 0);
    h.ok(&["run", "--time-budget", "1m"]).await;
    assert_eq!(h.status_of("down/repo").await, "completed");
    assert_eq!(h.state_field("down/repo", "s.last_error").await, None, "a good chunk clears the last error");
}

#[sqlx::test(migrations = false)]
async fn a_wait_past_the_time_budget_is_not_taken(pool: PgPool) {
    let h = Harness::start(pool, &[spec("late", "repo", 60)]).await;
    h.add("late/repo").await;
    h.fake.with_control(|c| c.faults.push_back(Fault::SecondaryLimit { retry_after: Some(120) }));
    let before = h.fake.requests().len();
    let out = h.backfill(&["run", "--time-budget", "30s"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stderr(&out).contains("secondary rate limit"), "{}", text(&out));
    assert_eq!(h.fake.requests().len() - before, 1, "nothing sent during the wait it was asked for");
    assert_eq!(h.processed_prs("late/repo").await, 0);
}

#[sqlx::test(migrations = false)]
async fn a_budget_a_previous_run_saw_spent_is_not_asked_again(pool: PgPool) {
    let ordinary = fake_github::RepoSpec { extremes: false, ..spec("spent", "repo", 120) };
    let h = Harness::start(pool, &[ordinary]).await;
    // Three points for ten minutes: the lookup in `add`, then one chunk's page and details.
    h.fake.with_control(|c| c.budget = fake_github::world::Budget::new(3, Duration::from_secs(600)));
    h.add("spent/repo").await;
    h.ok(&["run"]).await;
    assert_eq!(h.processed_prs("spent/repo").await, 50);
    assert_eq!(h.state_field("spent/repo", "s.metadata->'rate_limit'->'remaining'").await.as_deref(), Some("0"));

    let sent = h.fake.requests().len();
    let out = h.ok(&["run"]).await;
    assert!(stderr(&out).contains("paused until"), "{}", text(&out));
    assert_eq!(h.fake.requests().len(), sent, "nothing sent into a budget known to be spent");
    assert_eq!(h.status_of("spent/repo").await, "paused");
}
