//! The contract's mapping rules, each checked on the shape that tests it.

mod common;

use common::oracle::assert_complete;
use common::{spec, Harness};
use sqlx::PgPool;

async fn scalar<T>(pool: &PgPool, sql: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// 200 PRs hold each extreme shape of the fake at least once.
#[sqlx::test(migrations = false)]
async fn awkward_shapes_are_stored_whole_and_exact(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "shapes", 200)]).await;
    h.add("acme/shapes").await;
    h.ok(&["run", "--time-budget", "2m"]).await;
    assert_complete(&h, "acme", "shapes").await;

    // Deleted authors are GitHub's ghost; bots are login[bot].
    let ghost: (i64, bool) = sqlx::query_as("SELECT github_id, is_bot FROM contributors WHERE username = 'ghost'")
        .fetch_one(&pool)
        .await
        .expect("ghost row");
    assert_eq!(ghost, (10137, false));
    let ghost_prs: i64 = scalar(
        &pool,
        "SELECT count(*) FROM pull_requests p JOIN contributors c ON c.id = p.author_id WHERE c.username = 'ghost'",
    )
    .await;
    assert!(ghost_prs > 0);
    let bots: Vec<String> = sqlx::query_scalar("SELECT username FROM contributors WHERE is_bot ORDER BY 1")
        .fetch_all(&pool)
        .await
        .expect("bots");
    assert!(!bots.is_empty() && bots.iter().all(|b| b.ends_with("[bot]")), "{bots:?}");

    // 64-bit ids survive.
    let smallest: i64 = scalar(&pool, "SELECT min(github_id) FROM pull_requests").await;
    assert!(smallest > i64::from(u32::MAX), "{smallest}");

    // NUL removed, nothing else touched; 70 KB bodies kept whole.
    let nul_left: i64 = scalar(&pool, "SELECT count(*) FROM comments WHERE body LIKE '%has a NUL byte inside%'").await;
    assert!(nul_left > 0, "bodies that held NUL are stored without it");
    let longest: i32 = scalar(&pool, "SELECT max(length(body)) FROM pull_requests").await;
    assert_eq!(longest, 70 * 1024 + 3);
    let title = "'; DELETE FROM contributors; -- \"😈\" \\N \\\\";
    let in_fake = h.fake.with_world(|w| w.repos[0].pull_requests.iter().filter(|p| p.title == title).count() as i64);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM pull_requests WHERE title = $1")
        .bind(title)
        .fetch_one(&pool)
        .await
        .expect("count");
    assert!(in_fake > 0);
    assert_eq!(stored, in_fake, "a title full of quotes and SQL is stored exactly");

    // Huge threads are complete: 300 issue comments, 230 reviews, a review with 150 comments.
    let most_comments: i64 =
        scalar(&pool, "SELECT max(n) FROM (SELECT count(*) n FROM comments WHERE comment_type = 'issue_comment' GROUP BY pull_request_id) x").await;
    assert!(most_comments >= 300, "{most_comments}");
    let most_reviews: i64 =
        scalar(&pool, "SELECT max(n) FROM (SELECT count(*) n FROM reviews GROUP BY pull_request_id) x").await;
    assert!(most_reviews >= 230, "{most_reviews}");
    let replies: i64 = scalar(&pool, "SELECT count(*) FROM comments WHERE in_reply_to_id IS NOT NULL").await;
    assert!(replies > 0);
    let review_comments: i64 = scalar(&pool, "SELECT count(*) FROM comments WHERE comment_type = 'review_comment' AND diff_hunk IS NOT NULL AND path IS NOT NULL").await;
    let fake_biggest_review = h.fake.with_world(|w| {
        w.repos[0].pull_requests.iter().flat_map(|p| p.reviews.iter()).map(|r| r.comments.len()).max().unwrap_or(0)
    });
    assert!(fake_biggest_review >= 150 && review_comments > 150);

    // Merged PRs are closed with merged set; reviews without submittedAt use createdAt.
    let merged_open: i64 = scalar(&pool, "SELECT count(*) FROM pull_requests WHERE merged AND state <> 'closed'").await;
    assert_eq!(merged_open, 0);
    let pending: i64 = scalar(&pool, "SELECT count(*) FROM reviews WHERE state = 'PENDING'").await;
    assert!(pending > 0, "pending reviews (no submittedAt) are stored");
}

/// A login that moved to another account does not block the new owner.
#[sqlx::test(migrations = false)]
async fn a_reused_login_is_handed_over(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "renames", 60)]).await;
    h.add("acme/renames").await;
    sqlx::query(
        "INSERT INTO contributors (id, github_id, username, is_bot, first_seen_at, last_updated_at) \
         VALUES (gen_random_uuid(), 999999999, 'dev-01', false, now(), now())",
    )
    .execute(&pool)
    .await
    .expect("an older account named dev-01");
    h.ok(&["run", "--time-budget", "1m"]).await;
    assert_complete(&h, "acme", "renames").await;
    let old: String = scalar(&pool, "SELECT username FROM contributors WHERE github_id = 999999999").await;
    assert_eq!(old, "dev-01#999999999");
}
