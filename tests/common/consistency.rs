//! What must hold after any crash, kill or race: the stored PRs are exactly
//! the first N of the repository in cursor order, each with all its reviews
//! and comments, in chunks numbered 1..n that hold each of them once, and the
//! state's counters and cursor say N.

use fake_github::encode_cursor;

use super::Harness;

/// Panics with `context` (a seed, a kill number) when the database is not consistent.
pub async fn assert_consistent(h: &Harness, full_name: &str, context: &str) {
    let (owner, name) = full_name.split_once('/').expect("OWNER/NAME");
    let (processed, cursor, last_number): (i32, Option<String>, Option<i32>) = sqlx::query_as(
        "SELECT s.processed_prs, s.last_processed_cursor, s.last_processed_pr_number \
         FROM progressive_backfill_state s JOIN repositories r ON r.id = s.repository_id WHERE r.full_name = $1",
    )
    .bind(full_name)
    .fetch_one(&h.pool)
    .await
    .expect("state row");
    let n = processed as usize;
    let (want_numbers, want_reviews, want_comments) = h.fake.with_world(|w| {
        let repo = w.repo(owner, name).expect("repository in the fake");
        let prefix = &repo.pull_requests[..n.min(repo.pull_requests.len())];
        let numbers: Vec<i32> = prefix.iter().map(|p| p.number).collect();
        let reviews: usize = prefix.iter().map(|p| p.reviews.len()).sum();
        let comments: usize =
            prefix.iter().map(|p| p.comments.len() + p.reviews.iter().map(|r| r.comments.len()).sum::<usize>()).sum();
        (numbers, reviews as i64, comments as i64)
    });
    let stored: Vec<i32> = sqlx::query_scalar(
        "SELECT p.number FROM pull_requests p JOIN repositories r ON r.id = p.repository_id \
         WHERE r.full_name = $1 ORDER BY p.number",
    )
    .bind(full_name)
    .fetch_all(&h.pool)
    .await
    .expect("stored PRs");
    assert_eq!(stored, want_numbers, "{context}: stored PRs are not the first {n} of {full_name}");
    let (reviews, comments): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM reviews v JOIN pull_requests p ON p.id = v.pull_request_id WHERE p.repository_id = r.id), \
                (SELECT count(*) FROM comments c JOIN pull_requests p ON p.id = c.pull_request_id WHERE p.repository_id = r.id) \
         FROM repositories r WHERE r.full_name = $1",
    )
    .bind(full_name)
    .fetch_one(&h.pool)
    .await
    .expect("counts");
    assert_eq!((reviews, comments), (want_reviews, want_comments), "{context}: reviews and comments of {full_name}");

    let chunks: Vec<(i32, String, Vec<i32>)> = sqlx::query_as(
        "SELECT c.chunk_number, c.status::text, coalesce(c.pr_numbers, '{}') FROM backfill_chunks c \
         JOIN repositories r ON r.id = c.repository_id WHERE r.full_name = $1 ORDER BY c.chunk_number",
    )
    .bind(full_name)
    .fetch_all(&h.pool)
    .await
    .expect("chunks");
    let numbers: Vec<i32> = chunks.iter().map(|c| c.0).collect();
    assert_eq!(numbers, (1..=chunks.len() as i32).collect::<Vec<_>>(), "{context}: chunk numbers of {full_name}");
    assert!(chunks.iter().all(|c| c.1 == "completed"), "{context}: only completed chunks: {chunks:?}");
    let mut in_chunks: Vec<i32> = chunks.iter().flat_map(|c| c.2.iter().copied()).collect();
    in_chunks.sort_unstable();
    assert_eq!(in_chunks, want_numbers, "{context}: the chunks hold each stored PR once");

    let want_cursor = n.checked_sub(1).map(encode_cursor);
    assert_eq!(cursor, want_cursor, "{context}: the cursor of {full_name} is after PR {n}");
    assert_eq!(last_number, want_numbers.last().copied(), "{context}: last_processed_pr_number");
}
