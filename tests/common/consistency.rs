//! What must hold after any crash, kill or race: the stored PRs are exactly
//! the first N of the repository in cursor order, each with all its reviews
//! and comments, in chunks numbered 1..n that hold each of them once, and the
//! state's counters and cursor say N.

use fake_github::encode_cursor;

use super::Harness;

/// The state's `processed_prs`, cursor and last PR number.
pub async fn cursor_state(h: &Harness, full_name: &str) -> (i32, Option<String>, Option<i32>) {
    sqlx::query_as(
        "SELECT s.processed_prs, s.last_processed_cursor, s.last_processed_pr_number \
         FROM progressive_backfill_state s JOIN repositories r ON r.id = s.repository_id WHERE r.full_name = $1",
    )
    .bind(full_name)
    .fetch_one(&h.pool)
    .await
    .expect("state row")
}

/// Panics with `context` (a seed, a kill number) when the database is not consistent.
pub async fn assert_consistent(h: &Harness, full_name: &str, context: &str) {
    let (owner, name) = full_name.split_once('/').expect("OWNER/NAME");
    let (processed, cursor, last_number) = cursor_state(h, full_name).await;
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

/// One chunk as stored: its number, PR numbers, and the transaction ids
/// (`xmin`) of its own row and of the rows it wrote.
#[derive(Debug)]
pub struct StoredChunk {
    pub number: i32,
    pub pr_numbers: Vec<i32>,
    pub row_xmin: i64,
    pub pr_xmins: Vec<i64>,
    pub review_xmins: Vec<i64>,
    pub comment_xmins: Vec<i64>,
}

/// The chunks of a backfill in chunk-number order, with the `xmin` of every
/// row they wrote (as bigint: `xid` has no ordering of its own).
pub async fn stored_chunks(h: &Harness, full_name: &str) -> Vec<StoredChunk> {
    type Row = (i32, Vec<i32>, i64, Vec<i64>, Vec<i64>, Vec<i64>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT c.chunk_number, coalesce(c.pr_numbers, '{}'), c.xmin::text::bigint, \
           array(SELECT DISTINCT p.xmin::text::bigint FROM pull_requests p \
                 WHERE p.repository_id = c.repository_id AND p.number = ANY(c.pr_numbers)), \
           array(SELECT DISTINCT v.xmin::text::bigint FROM reviews v JOIN pull_requests p ON p.id = v.pull_request_id \
                 WHERE p.repository_id = c.repository_id AND p.number = ANY(c.pr_numbers)), \
           array(SELECT DISTINCT m.xmin::text::bigint FROM comments m JOIN pull_requests p ON p.id = m.pull_request_id \
                 WHERE p.repository_id = c.repository_id AND p.number = ANY(c.pr_numbers)) \
         FROM backfill_chunks c JOIN repositories r ON r.id = c.repository_id WHERE r.full_name = $1 \
         ORDER BY c.chunk_number",
    )
    .bind(full_name)
    .fetch_all(&h.pool)
    .await
    .expect("chunks and their rows' xmin");
    rows.into_iter()
        .map(|(number, pr_numbers, row_xmin, pr_xmins, review_xmins, comment_xmins)| StoredChunk {
            number,
            pr_numbers,
            row_xmin,
            pr_xmins,
            review_xmins,
            comment_xmins,
        })
        .collect()
}

/// Chunks stored in order, one transaction each: numbered 1..n without gaps;
/// every PR number of chunk k below every one of chunk k+1 (and ascending
/// within a chunk, as `CREATED_AT ASC` pages them); and every row a chunk
/// wrote (its PRs, their reviews and comments, its own `backfill_chunks`
/// row) carries one `xmin`, the chunk's transaction, which no other chunk
/// shares and which grows with the chunk number (each chunk committed
/// before the next began). Returns the chunks.
///
/// The `xmin` of a row is the transaction that wrote its current version,
/// so this holds only while nothing rewrites a chunk's rows later: the
/// chunk row is inserted once and never updated (`store::chunks` has no
/// UPDATE of `backfill_chunks`), and a PR, review or comment is upserted
/// again only when a later page brings it again, which a cursor that moves
/// past each stored page never does; were it to happen, that PR would be in
/// two chunks (see `assert_consistent`) and carry the later chunk's `xmin`,
/// and this fails. Contributors are shared between chunks and rewritten by
/// each, so they are not checked.
pub async fn assert_chunks_in_order(h: &Harness, full_name: &str, context: &str) -> Vec<StoredChunk> {
    let chunks = stored_chunks(h, full_name).await;
    let numbers: Vec<i32> = chunks.iter().map(|c| c.number).collect();
    assert_eq!(numbers, (1..=chunks.len() as i32).collect::<Vec<_>>(), "{context}: chunk numbers of {full_name}");
    for c in &chunks {
        assert!(!c.pr_numbers.is_empty(), "{context}: chunk {} holds no PR", c.number);
        assert!(
            c.pr_numbers.windows(2).all(|w| w[0] < w[1]),
            "{context}: chunk {}'s PR numbers are not ascending: {:?}",
            c.number,
            c.pr_numbers
        );
    }
    for w in chunks.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (last, first) = (a.pr_numbers.last(), b.pr_numbers.first());
        assert!(
            last < first,
            "{context}: chunk {} ends at PR {last:?}, after chunk {} begins at PR {first:?}",
            a.number,
            b.number
        );
    }
    for c in &chunks {
        let one = [c.row_xmin];
        assert_eq!(c.pr_xmins, one, "{context}: chunk {}'s PRs (xmin) and its row (xmin {})", c.number, c.row_xmin);
        assert!(
            c.review_xmins.iter().chain(&c.comment_xmins).all(|x| *x == c.row_xmin),
            "{context}: chunk {}'s reviews ({:?}) and comments ({:?}) were not written by its transaction ({})",
            c.number,
            c.review_xmins,
            c.comment_xmins,
            c.row_xmin
        );
    }
    for w in chunks.windows(2) {
        assert!(
            w[0].row_xmin < w[1].row_xmin,
            "{context}: chunk {} (xmin {}) was not committed before chunk {} (xmin {})",
            w[0].number,
            w[0].row_xmin,
            w[1].number,
            w[1].row_xmin
        );
    }
    chunks
}
