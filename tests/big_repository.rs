//! A repository shaped like pytorch/pytorch (`Profile::BigRepository`: PRs
//! with hundreds of reviews or issue comments, reviews with hundreds of
//! comments), backfilled by one `run --time-budget`, so that the fetch is
//! pipelined: one request carries the follow-ups of chunk k with the page
//! of chunk k+1. Whatever travels together, every chunk must come out whole
//! and be stored alone, in its own transaction, in order.

mod common;

use std::time::{Duration, Instant};

use common::consistency::{assert_chunks_in_order, assert_consistent};
use common::oracle::assert_complete;
use common::{spec, text, Harness};
use fake_github::{Profile, RepoSpec, RequestRecord};
use sqlx::PgPool;

const OWNER: &str = "big";
const NAME: &str = "repo";
const FULL_NAME: &str = "big/repo";
/// With the default seed, 1,000 PRs of the profile hold 7 PRs of over 300
/// reviews, 6 of over 300 issue comments and a review of 261 comments
/// (`long_tails` checks before each run that they are there).
const PRS: usize = 1_000;

/// The counted requests of a page of 50 PRs alone (`1 + 2 × 50`: the page,
/// and each PR's inline reviews and issue comments): a `PullRequestPage`
/// that counts more carried follow-ups too.
const FULL_PAGE_ALONE: u64 = 101;

fn big_repository(prs: usize) -> RepoSpec {
    RepoSpec { profile: Profile::BigRepository, ..spec(OWNER, NAME, prs) }
}

/// What the fake holds of one PR with a long tail.
#[derive(Debug, Clone, PartialEq)]
struct Tail {
    number: i32,
    reviews: i64,
    issue_comments: i64,
    review_comments: i64,
    /// The `fullDatabaseId`s of the comments of its reviews of over 200.
    long_review_comments: Vec<Vec<i64>>,
}

/// The PRs of the fake with over 300 reviews, over 300 issue comments or a
/// review of over 200 comments; fails unless there is one of each, so the
/// test cannot pass by testing nothing.
fn long_tails(h: &Harness) -> Vec<Tail> {
    let tails: Vec<Tail> = h.fake.with_world(|w| {
        let repo = w.repo(OWNER, NAME).expect("repository in the fake");
        repo.pull_requests
            .iter()
            .map(|pr| Tail {
                number: pr.number,
                reviews: pr.reviews.len() as i64,
                issue_comments: pr.comments.len() as i64,
                review_comments: pr.reviews.iter().map(|r| r.comments.len() as i64).sum(),
                long_review_comments: pr
                    .reviews
                    .iter()
                    .filter(|r| r.comments.len() > 200)
                    .map(|r| r.comments.iter().map(|c| c.full_id).collect())
                    .collect(),
            })
            .filter(|t| t.reviews > 300 || t.issue_comments > 300 || !t.long_review_comments.is_empty())
            .collect()
    });
    let over_300_reviews = tails.iter().filter(|t| t.reviews > 300).count();
    let over_300_comments = tails.iter().filter(|t| t.issue_comments > 300).count();
    let long_reviews = tails.iter().map(|t| t.long_review_comments.len()).sum::<usize>();
    eprintln!(
        "{PRS} PRs: {over_300_reviews} with over 300 reviews, {over_300_comments} with over 300 issue comments; \
         reviews of over 200 comments: {long_reviews}"
    );
    assert!(over_300_reviews >= 1, "no PR with over 300 reviews: the test tests nothing");
    assert!(over_300_comments >= 1, "no PR with over 300 issue comments: the test tests nothing");
    assert!(long_reviews >= 1, "no review with over 200 comments: the test tests nothing");
    tails
}

/// A big repository added, and backfilled by one `run --time-budget 5m`.
struct Backfilled {
    h: Harness,
    tails: Vec<Tail>,
    elapsed: Duration,
}

async fn backfill_in_one_run(pool: PgPool) -> Backfilled {
    let h = Harness::start(pool, &[big_repository(PRS)]).await;
    let tails = long_tails(&h);
    h.add(FULL_NAME).await;
    let started = Instant::now();
    let out = h.ok(&["run", "--time-budget", "5m"]).await;
    let elapsed = started.elapsed();
    assert_eq!(h.status_of(FULL_NAME).await, "completed", "one run of 5 minutes completes:\n{}", text(&out));
    Backfilled { h, tails, elapsed }
}

/// Reviews, issue comments and review comments stored for the PR `number`.
async fn stored_counts(h: &Harness, number: i32) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM reviews v WHERE v.pull_request_id = p.id), \
                (SELECT count(*) FROM comments c WHERE c.pull_request_id = p.id AND c.comment_type = 'issue_comment'), \
                (SELECT count(*) FROM comments c WHERE c.pull_request_id = p.id AND c.comment_type = 'review_comment') \
         FROM pull_requests p JOIN repositories r ON r.id = p.repository_id WHERE r.full_name = $1 AND p.number = $2",
    )
    .bind(FULL_NAME)
    .bind(number)
    .fetch_one(&h.pool)
    .await
    .unwrap_or_else(|e| panic!("PR {number} is stored: {e}"))
}

#[sqlx::test(migrations = false)]
async fn a_big_repository_is_stored_exactly_by_one_pipelined_run(pool: PgPool) {
    let b = backfill_in_one_run(pool).await;
    let h = &b.h;
    assert_complete(h, OWNER, NAME).await;
    assert_consistent(h, FULL_NAME, "after one pipelined run").await;
    // The long tails, one by one, so that a miss names its PR.
    for tail in &b.tails {
        let want = (tail.reviews, tail.issue_comments, tail.review_comments);
        let got = stored_counts(h, tail.number).await;
        assert_eq!(got, want, "PR {}: (reviews, issue comments, review comments) stored vs the fake's", tail.number);
        for ids in &tail.long_review_comments {
            let stored: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM comments c JOIN pull_requests p ON p.id = c.pull_request_id \
                 JOIN repositories r ON r.id = p.repository_id \
                 WHERE c.github_id = ANY($1) AND c.comment_type = 'review_comment' AND p.number = $2 AND r.full_name = $3",
            )
            .bind(ids)
            .bind(tail.number)
            .bind(FULL_NAME)
            .fetch_one(&h.pool)
            .await
            .expect("comments of one review");
            assert_eq!(stored, ids.len() as i64, "PR {}: the comments of its review of {}", tail.number, ids.len());
        }
    }
    eprintln!("{} long tails stored whole; the run took {:?}", b.tails.len(), b.elapsed);
}

#[sqlx::test(migrations = false)]
async fn the_chunks_are_stored_in_order_one_transaction_each(pool: PgPool) {
    let b = backfill_in_one_run(pool).await;
    let chunks = assert_chunks_in_order(&b.h, FULL_NAME, "after one pipelined run").await;
    let in_chunks: Vec<i32> = chunks.iter().flat_map(|c| c.pr_numbers.iter().copied()).collect();
    let want: Vec<i32> =
        b.h.fake
            .with_world(|w| w.repo(OWNER, NAME).map(|r| r.pull_requests.iter().map(|p| p.number).collect()))
            .expect("repository in the fake");
    assert_eq!(in_chunks, want, "the chunks, in order, hold every PR once, in the fake's order");
    // Several chunks in one run, or the pipeline had nothing to overlap.
    assert!(chunks.len() >= PRS / 50, "{} chunks for {PRS} PRs", chunks.len());
    let xmins: Vec<i64> = chunks.iter().map(|c| c.row_xmin).collect();
    eprintln!("{} chunks, transactions {:?}..{:?}", chunks.len(), xmins.first(), xmins.last());
}

/// The requests of a log, by operation: (pages, follow-ups alone, others).
fn by_operation(log: &[RequestRecord]) -> (usize, usize, Vec<Option<String>>) {
    let count = |op: &str| log.iter().filter(|r| r.operation.as_deref() == Some(op)).count();
    let others = log
        .iter()
        .filter(|r| !matches!(r.operation.as_deref(), Some("PullRequestPage" | "PullRequestDetails")))
        .map(|r| r.operation.clone())
        .collect();
    (count("PullRequestPage"), count("PullRequestDetails"), others)
}

/// Pages that carried follow-ups of earlier chunks.
fn pages_with_follow_ups(log: &[RequestRecord]) -> usize {
    log.iter().filter(|r| r.operation.as_deref() == Some("PullRequestPage") && r.requests > FULL_PAGE_ALONE).count()
}

/// (chunk_number, api_calls_made) of a backfill's chunks.
async fn api_calls(h: &Harness, full_name: &str) -> Vec<(i32, i32)> {
    sqlx::query_as(
        "SELECT c.chunk_number, coalesce(c.api_calls_made, 0) FROM backfill_chunks c \
         JOIN repositories r ON r.id = c.repository_id WHERE r.full_name = $1 ORDER BY c.chunk_number",
    )
    .bind(full_name)
    .fetch_all(&h.pool)
    .await
    .expect("chunks")
}

/// The shape of a repository's data, PR by PR (numbers, and the size of
/// every connection), without its ids.
fn shape_of(h: &Harness, name: &str) -> Vec<(i32, usize, usize, Vec<usize>)> {
    h.fake.with_world(|w| {
        let repo = w.repo(OWNER, name).expect("repository in the fake");
        repo.pull_requests
            .iter()
            .map(|p| {
                (p.number, p.reviews.len(), p.comments.len(), p.reviews.iter().map(|r| r.comments.len()).collect())
            })
            .collect()
    })
}

/// The same repository twice: once by one pipelined run, once by default
/// runs (one chunk each, so nothing is fetched ahead and every follow-up
/// goes in requests of its own), which is what pipelining is measured
/// against. The fake seeds a repository's data with its seed plus its index
/// times 1,000,003, so the twin at index 1, seeded 1,000,003 less, holds
/// the same PRs, reviews and comments under other ids.
#[sqlx::test(migrations = false)]
async fn the_next_page_travels_with_the_follow_ups(pool: PgPool) {
    const TWIN: &str = "twin";
    let twin = RepoSpec { seed: 42_u64.wrapping_sub(1_000_003), ..big_repository(PRS) };
    let twin = RepoSpec { name: TWIN.to_string(), ..twin };
    let h = Harness::start(pool, &[big_repository(PRS), twin]).await;
    long_tails(&h);
    assert_eq!(shape_of(&h, NAME), shape_of(&h, TWIN), "the twin holds the same data");
    let twin_full_name = format!("{OWNER}/{TWIN}");

    h.add(FULL_NAME).await;
    let before = h.fake.requests().len();
    let started = Instant::now();
    let out = h.ok(&["run", "--time-budget", "5m"]).await;
    let elapsed = started.elapsed();
    assert_eq!(h.status_of(FULL_NAME).await, "completed", "one run of 5 minutes completes:\n{}", text(&out));
    let log = h.fake.requests()[before..].to_vec();
    assert_consistent(&h, FULL_NAME, "after one pipelined run").await;

    h.ok(&["add", &twin_full_name]).await;
    let twin_before = h.fake.requests().len();
    let runs = h.run_until_completed(&twin_full_name, 100).await;
    let twin_log = h.fake.requests()[twin_before..].to_vec();
    assert_consistent(&h, &twin_full_name, "after default runs").await;

    let chunks = api_calls(&h, FULL_NAME).await;
    let twin_chunks = api_calls(&h, &twin_full_name).await;
    let n = chunks.len();
    let (pages, details, others) = by_operation(&log);
    let (twin_pages, twin_details, twin_others) = by_operation(&twin_log);
    let riding = pages_with_follow_ups(&log);
    let points: i64 = log.iter().map(|r| r.cost).sum();
    let twin_points: i64 = twin_log.iter().map(|r| r.cost).sum();
    eprintln!(
        "{PRS} big PRs, pipelined: {n} chunks, {} requests ({pages} pages, {riding} of them with follow-ups, \
         {details} follow-ups alone, others {others:?}), {:.2} a chunk, {points} points, {elapsed:?}",
        log.len(),
        log.len() as f64 / n as f64,
    );
    eprintln!(
        "the same by {runs} default runs: {} chunks, {} requests ({twin_pages} pages, {} with follow-ups, \
         {twin_details} follow-ups alone, {} others), {twin_points} points",
        twin_chunks.len(),
        twin_log.len(),
        pages_with_follow_ups(&twin_log),
        twin_others.len(),
    );
    let failed: Vec<_> = log.iter().chain(&twin_log).filter(|r| r.status != 200).collect();
    assert!(failed.is_empty(), "the fake failed no request here: {failed:?}");
    // One page a chunk, and once caught up, one page of a sweep for changed
    // PRs (none here): none fetched twice, none fetched and dropped.
    assert_eq!(pages, n + 1, "one page a chunk and one of a sweep: none fetched twice, none fetched and dropped");
    assert_eq!(twin_chunks.len(), n, "the same chunks either way");
    // Unpipelined, a page never carries follow-ups (what makes the count
    // of requests a page carried a fair measure), and each chunk with any
    // needs at least one request of them alone: here, every chunk.
    assert_eq!(pages_with_follow_ups(&twin_log), 0, "a default run fetches no page ahead");
    assert!(twin_details >= n, "{twin_details} requests of follow-ups alone for {n} chunks, unpipelined");
    // Pipelined, follow-ups travel with the next page: under 2 requests a
    // chunk, and most pages carry some. Not 1 a chunk here: a connection of
    // 500-700 items takes 3-4 rounds after its page, while only two more
    // pages may be in flight to carry them, so such a chunk still needs
    // requests of follow-ups alone (measured: 32 requests for 20 chunks, 12
    // of them follow-ups alone, exactly 1.6 a chunk).
    assert!(log.len() * 5 <= n * 8, "{} requests for {n} chunks: over 1.6 a chunk", log.len());
    assert!(riding * 2 >= pages, "only {riding} of {pages} pages carried follow-ups");
    assert!(details * 2 <= twin_details, "{details} requests of follow-ups alone, against {twin_details} unpipelined");
    assert!(pages + details < twin_pages + twin_details, "pipelining saved no request");
    // Each request counted to one chunk: the chunks' api_calls_made add up
    // to the requests of the run's chunks (all but the sweep's page, which
    // found nothing changed and stored no chunk), and every chunk has its page's.
    let counted: i32 = chunks.iter().map(|c| c.1).sum();
    assert_eq!(counted as usize, pages + details - 1, "api_calls_made of the chunks: {chunks:?}");
    assert!(chunks.iter().all(|c| c.1 >= 1), "a chunk without its request: {chunks:?}");
}
