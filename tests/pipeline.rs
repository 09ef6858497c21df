//! The pipeline end to end: the real binary, real PostgreSQL, the fake GitHub.

mod common;

use common::oracle::assert_complete;
use common::{spec, Harness};
use sqlx::PgPool;

/// Chunk rows are numbered 1..n without gaps, hold the PRs exactly once, and
/// the state's counters agree with what is stored.
async fn assert_bookkeeping(pool: &PgPool, full_name: &str, total: i64) {
    let chunks: Vec<(i32, Option<i32>, String, Option<i32>)> = sqlx::query_as(
        "SELECT c.chunk_number, c.pr_count, c.status::text, c.api_calls_made FROM backfill_chunks c \
         JOIN repositories r ON r.id = c.repository_id WHERE r.full_name = $1 ORDER BY c.chunk_number",
    )
    .bind(full_name)
    .fetch_all(pool)
    .await
    .expect("chunks");
    let numbers: Vec<i32> = chunks.iter().map(|c| c.0).collect();
    assert_eq!(numbers, (1..=chunks.len() as i32).collect::<Vec<_>>(), "chunk numbers without gaps");
    assert!(
        chunks.iter().all(|c| c.2 == "completed" && c.3.unwrap_or(0) >= 1),
        "every chunk completed with its calls counted"
    );
    assert!(chunks.iter().all(|c| (1..=50).contains(&c.1.unwrap_or(0))), "every chunk holds 1-50 PRs");
    let in_chunks: i64 = chunks.iter().map(|c| i64::from(c.1.unwrap_or(0))).sum();
    let distinct: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT n) FROM backfill_chunks c JOIN repositories r ON r.id = c.repository_id, unnest(c.pr_numbers) n \
         WHERE r.full_name = $1",
    )
    .bind(full_name)
    .fetch_one(pool)
    .await
    .expect("distinct PR numbers");
    assert_eq!((in_chunks, distinct), (total, total), "each PR in exactly one chunk");
    let (processed, total_prs, stored, status): (i32, i32, i64, String) = sqlx::query_as(
        "SELECT s.processed_prs, s.total_prs, (SELECT count(*) FROM pull_requests p WHERE p.repository_id = r.id), s.status::text \
         FROM progressive_backfill_state s JOIN repositories r ON r.id = s.repository_id WHERE r.full_name = $1",
    )
    .bind(full_name)
    .fetch_one(pool)
    .await
    .expect("state");
    assert_eq!(
        (i64::from(processed), i64::from(total_prs), stored, status.as_str()),
        (total, total, total, "completed")
    );
}

/// Everything a later run could change, to prove it changes nothing.
/// The data and the backfill's progress (not when it last ran, or what it
/// spent and learned doing so).
async fn snapshot(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT format('%s|%s|%s|%s|%s|%s', (SELECT count(*) FROM pull_requests), (SELECT count(*) FROM reviews), \
           (SELECT count(*) FROM comments), (SELECT count(*) FROM contributors), \
           (SELECT string_agg(id::text || chunk_number, ',' ORDER BY id) FROM backfill_chunks), \
           (SELECT string_agg(concat_ws(' ', status, processed_prs, total_prs, last_processed_cursor, \
              last_processed_pr_number, chunk_size, error_count), ',' ORDER BY id) FROM progressive_backfill_state s))",
    )
    .fetch_all(pool)
    .await
    .expect("snapshot")
}

#[sqlx::test(migrations = false)]
async fn repeated_default_runs_backfill_a_repository_exactly(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "widgets", 1_000)]).await;
    h.add("acme/widgets").await;
    let runs = h.run_until_completed("acme/widgets", 60).await;
    assert!(runs >= 20, "one chunk of at most 50 PRs per default run, got {runs} runs");
    assert_complete(&h, "acme", "widgets").await;
    assert_bookkeeping(&pool, "acme/widgets", 1_000).await;
    let (points, requests) = h.spent();
    eprintln!(
        "1,000 PRs by default runs: {points} points, {requests} requests ({:.3} points/PR)",
        points as f64 / 1_000.0
    );

    // Completed and unchanged on GitHub: more runs and a second migrate
    // change no data, and each run asks, in one request, for new PRs and for
    // a page of the most recently updated ones (of every backfill kept
    // current at once), and no more.
    let before = snapshot(&pool).await;
    h.ok(&["run"]).await;
    h.ok(&["migrate"]).await;
    h.ok(&["run", "--time-budget", "30s"]).await;
    assert_eq!(snapshot(&pool).await, before);
    let later: Vec<_> = h.fake.requests()[requests..].iter().map(|r| r.operation.clone()).collect();
    let news = Some("RepositoryNews".to_string());
    assert_eq!(later, vec![news.clone(), news], "one request per run over a current backfill");
    assert_eq!(h.state_field("acme/widgets", "s.metadata ? 'current_as_of'").await.as_deref(), Some("true"));
}

#[sqlx::test(migrations = false)]
async fn a_time_budget_run_finishes_the_backfill_in_one_process(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "gadgets", 1_000)]).await;
    h.add("acme/gadgets").await;
    let out = h.ok(&["run", "--time-budget", "5m"]).await;
    assert_eq!(h.status_of("acme/gadgets").await, "completed", "{}", common::text(&out));
    assert_complete(&h, "acme", "gadgets").await;
    assert_bookkeeping(&pool, "acme/gadgets", 1_000).await;
}

#[sqlx::test(migrations = false)]
async fn max_chunks_and_chunk_size_bound_a_run(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "bolts", 300)]).await;
    h.add("acme/bolts").await;
    h.ok(&["run", "--chunk-size", "7", "--max-chunks", "3"]).await;
    let counts: Vec<Option<i32>> = sqlx::query_scalar("SELECT pr_count FROM backfill_chunks ORDER BY chunk_number")
        .fetch_all(&pool)
        .await
        .expect("chunks");
    assert_eq!(counts, vec![Some(7), Some(7), Some(7)]);
    let processed = h.processed_prs("acme/bolts").await;
    assert_eq!(processed, 21);
}

/// Several repositories in one run: each gets its chunk, each completes whole.
#[sqlx::test(migrations = false)]
async fn runs_take_every_active_backfill(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("one", "small", 120), spec("two", "smaller", 60)]).await;
    h.add("one/small").await;
    h.ok(&["add", "two/smaller"]).await;
    h.ok(&["run"]).await;
    let per_repo: Vec<(String, i64)> = sqlx::query_as(
        "SELECT r.full_name, count(c.id) FROM repositories r LEFT JOIN backfill_chunks c ON c.repository_id = r.id \
         GROUP BY r.full_name ORDER BY r.full_name",
    )
    .fetch_all(&pool)
    .await
    .expect("chunks per repository");
    assert_eq!(per_repo, vec![("one/small".to_string(), 1), ("two/smaller".to_string(), 1)]);
    h.ok(&["run", "--time-budget", "2m"]).await;
    assert_complete(&h, "one", "small").await;
    assert_complete(&h, "two", "smaller").await;
    assert_bookkeeping(&pool, "one/small", 120).await;
    assert_bookkeeping(&pool, "two/smaller", 60).await;
}

/// Without the extreme PRs, a run of many chunks sends about one request a
/// chunk: each carries the last chunk's follow-ups with the next page. (The
/// last chunk's follow-ups need one request of their own.)
#[sqlx::test(migrations = false)]
async fn an_ordinary_repository_costs_about_one_request_per_chunk(pool: PgPool) {
    let mut ordinary = spec("plain", "repo", 500);
    ordinary.extremes = false;
    let h = Harness::start(pool.clone(), &[ordinary]).await;
    h.add("plain/repo").await;
    let (lookup_points, lookup_requests) = h.spent();
    h.ok(&["run", "--time-budget", "2m"]).await;
    assert_complete(&h, "plain", "repo").await;
    let (points, requests) = h.spent();
    let (points, requests) = (points - lookup_points, requests - lookup_requests);
    eprintln!("500 ordinary PRs: {points} points, {requests} requests");
    // 10 chunks: a request each, one for the last one's follow-ups, and,
    // caught up, a page of the most recently updated PRs (none changed).
    assert!(requests <= 12, "{requests} requests for 500 PRs in 10 chunks");
    assert!(points <= 13, "{points} points for 500 PRs");
}

/// A short budget still takes chunks; the run stops when the budget is spent.
#[sqlx::test(migrations = false)]
async fn a_short_time_budget_still_takes_chunks(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "quick", 200)]).await;
    h.add("acme/quick").await;
    h.fake.with_control(|c| c.latency = std::time::Duration::from_millis(200));
    h.ok(&["run", "--time-budget", "3s"]).await;
    let processed = h.processed_prs("acme/quick").await;
    assert!(processed >= 50, "at least one chunk within 3 s: {processed}");
    assert_ne!(h.status_of("acme/quick").await, "completed", "200 PRs at 0.2 s a request take longer than 3 s");
}

/// `add --chunk-size` fixes a repository's chunk size for later runs;
/// `run --chunk-size` still overrides it.
#[sqlx::test(migrations = false)]
async fn a_repositorys_own_chunk_size_is_kept(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "sized", 100)]).await;
    h.ok(&["migrate"]).await;
    h.ok(&["add", "acme/sized", "--chunk-size", "10"]).await;
    h.ok(&["run"]).await;
    h.ok(&["run", "--chunk-size", "5"]).await;
    h.ok(&["run"]).await;
    let counts: Vec<Option<i32>> = sqlx::query_scalar("SELECT pr_count FROM backfill_chunks ORDER BY chunk_number")
        .fetch_all(&pool)
        .await
        .expect("chunks");
    assert_eq!(counts, vec![Some(10), Some(5), Some(10)]);
    assert_eq!(h.processed_prs("acme/sized").await, 25);
}
