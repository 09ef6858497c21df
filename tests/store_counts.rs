//! What the chunk commits keep by arithmetic instead of counting the
//! history (`processed_prs`, the chunk counts), and the tool's own indexes:
//! they agree with the rows, follow rows another tool wrote, and `migrate`
//! sets right what something else made drift.

mod common;

use common::oracle::assert_complete;
use common::{spec, stderr, text, Harness};
use sqlx::PgPool;

/// `status --json`'s chunk counts of the one backfill.
async fn status_counts(h: &Harness) -> (i64, i64) {
    let out = h.ok(&["status", "--json"]).await;
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    let row = &rows[0];
    (row["chunks_done"].as_i64().unwrap_or(-1), row["chunks_failed"].as_i64().unwrap_or(-1))
}

/// The same counts, from the rows.
async fn row_counts(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status = 'failed') \
         FROM backfill_chunks",
    )
    .fetch_one(pool)
    .await
    .expect("counts")
}

async fn last_chunk(pool: &PgPool) -> (i32, String, i32) {
    sqlx::query_as(
        "SELECT chunk_number, status::text, coalesce(retry_count, 0) FROM backfill_chunks \
         ORDER BY chunk_number DESC LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("last chunk")
}

#[sqlx::test(migrations = false)]
async fn the_counts_follow_the_rows_also_those_another_tool_wrote(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "widgets", 120)]).await;
    h.add("acme/widgets").await;
    h.ok(&["run", "--chunk-size", "20", "--max-chunks", "2"]).await;
    assert_eq!(status_counts(&h).await, row_counts(&pool).await);
    assert_eq!(status_counts(&h).await, (2, 0));

    // Another tool records two failed attempts above the tool's last row.
    sqlx::query(
        "INSERT INTO backfill_chunks (id, repository_id, backfill_state_id, chunk_number, pr_numbers, status, \
           started_at, completed_at, error, retry_count, created_at) \
         SELECT gen_random_uuid(), s.repository_id, s.id, 2 + n, '{}', 'failed', now(), now(), 'elsewhere', n - 1, now() \
         FROM progressive_backfill_state s, generate_series(1, 2) n",
    )
    .execute(&pool)
    .await
    .expect("rows of another tool");
    assert_eq!(status_counts(&h).await, (2, 2), "status counts the rows above the kept counts");
    let history = text(&h.ok(&["history", "acme/widgets"]).await);
    assert!(history.contains("2 failed chunks in a row"), "failing since the last stored chunk:\n{history}");

    // The tool's next chunk takes the number after them, and a failure of
    // its own counts them among the attempts at the same page.
    h.fake.with_control(|c| c.chaos.bad_gateway_percent = 100);
    let out = h.backfill(&["run", "--chunk-size", "20", "--max-retries", "0", "--retry-delay", "10ms"]).await;
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(last_chunk(&pool).await, (5, "failed".to_string(), 2), "{}", text(&out));
    assert_eq!(status_counts(&h).await, (2, 3));
    h.fake.with_control(|c| c.chaos.bad_gateway_percent = 0);
    h.ok(&["run", "--chunk-size", "20", "--time-budget", "1m"]).await;
    let after: Vec<(String, i32)> = sqlx::query_as(
        "SELECT status::text, coalesce(retry_count, 0) FROM backfill_chunks WHERE chunk_number > 5 ORDER BY chunk_number",
    )
    .fetch_all(&pool)
    .await
    .expect("chunks");
    assert_eq!(after.len(), 4, "80 PRs left in chunks of 20: {after:?}");
    assert_eq!(after[0], ("completed".to_string(), 3), "the page's three failed attempts before it");
    assert!(
        after[1..].iter().all(|c| c == &("completed".to_string(), 0)),
        "a stored chunk ends the failures: {after:?}"
    );
    assert_eq!(status_counts(&h).await, row_counts(&pool).await);
    assert_complete(&h, "acme", "widgets").await;
}

#[sqlx::test(migrations = false)]
async fn migrate_recounts_what_something_else_made_drift(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "widgets", 60)]).await;
    h.add("acme/widgets").await;
    h.ok(&["run", "--chunk-size", "20", "--time-budget", "1m"]).await;
    assert_eq!(h.status_of("acme/widgets").await, "completed");
    assert_eq!(h.processed_prs("acme/widgets").await, 60);

    // Someone deletes three PRs by hand, and the counts row is damaged.
    sqlx::raw_sql(
        "CREATE TEMP TABLE gone AS SELECT id FROM pull_requests ORDER BY number LIMIT 3; \
         UPDATE comments SET in_reply_to_id = NULL WHERE in_reply_to_id IN \
           (SELECT id FROM comments WHERE pull_request_id IN (SELECT id FROM gone)); \
         DELETE FROM comments WHERE pull_request_id IN (SELECT id FROM gone); \
         DELETE FROM reviews WHERE pull_request_id IN (SELECT id FROM gone); \
         DELETE FROM pull_requests WHERE id IN (SELECT id FROM gone); \
         UPDATE backfill_chunk_counts SET completed = 0",
    )
    .execute(&pool)
    .await
    .expect("drift");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pull_requests").fetch_one(&pool).await.expect("count");
    assert_eq!(left, 57, "three PRs deleted by hand");

    let out = h.ok(&["migrate"]).await;
    let said = stderr(&out);
    assert!(said.contains("acme/widgets: processed_prs was 60, 57 PRs are stored: corrected"), "{said}");
    assert!(said.contains("acme/widgets: the chunk counts differed from its chunk rows: recounted"), "{said}");
    assert_eq!(h.processed_prs("acme/widgets").await, 57);
    assert_eq!(status_counts(&h).await, row_counts(&pool).await);

    let again = stderr(&h.ok(&["migrate"]).await);
    assert!(!again.contains("corrected") && !again.contains("recounted"), "nothing left to set right:\n{again}");
}

#[sqlx::test(migrations = false)]
async fn the_tools_indexes_are_built_and_an_invalid_one_rebuilt(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "widgets", 10)]).await;
    h.ok(&["migrate"]).await;
    let valid = || async {
        sqlx::query_as::<_, (String, bool)>(
            "SELECT c.relname::text, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE c.relname IN ('comments_replies_of_idx', 'backfill_chunks_by_backfill_status_number_idx') \
             ORDER BY 1",
        )
        .fetch_all(&pool)
        .await
        .expect("indexes")
    };
    let built = vec![
        ("backfill_chunks_by_backfill_status_number_idx".to_string(), true),
        ("comments_replies_of_idx".to_string(), true),
    ];
    assert_eq!(valid().await, built);

    // What an interrupted CREATE INDEX CONCURRENTLY leaves behind.
    sqlx::query("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'comments_replies_of_idx'::regclass")
        .execute(&pool)
        .await
        .expect("invalid index");
    let out = h.ok(&["migrate"]).await;
    assert!(
        stderr(&out).contains("rebuilt the index comments_replies_of_idx, which an interrupted build had left invalid"),
        "{}",
        text(&out)
    );
    assert_eq!(valid().await, built);
}
