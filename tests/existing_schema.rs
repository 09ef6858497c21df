//! Pointing `backfill` at a database whose tables another tool created.

mod common;

use common::oracle::assert_complete;
use common::{spec, Harness};
use sqlx::PgPool;

/// The columns of the contract's tables (the tool's own tables left out).
async fn columns(pool: &PgPool) -> Vec<(String, String, String, Option<String>)> {
    sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, column_default::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%' AND table_name NOT IN ('backfill_claims', 'backfill_chunk_points', 'backfill_removals', 'backfill_owners', 'backfill_credentials', 'backfill_chunk_counts', 'backfill_verifications') \
         ORDER BY table_name, column_name",
    )
    .fetch_all(pool)
    .await
    .expect("columns")
}

async fn tables(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        .fetch_all(pool)
        .await
        .expect("tables")
}

#[sqlx::test(migrations = false)]
async fn migrate_and_run_leave_an_existing_contract_schema_as_it_is(pool: PgPool) {
    sqlx::raw_sql(include_str!("fixtures/contract_schema.sql")).execute(&pool).await.expect("contract schema");
    let before = columns(&pool).await;
    assert_eq!(before.len(), 8 + 8 + 22 + 8 + 14 + 16 + 16, "the fixture has the contract's columns");
    let h = Harness::start(pool.clone(), &[spec("legacy", "service", 260)]).await;
    h.add("legacy/service").await;
    h.ok(&["migrate"]).await;
    h.ok(&["run", "--time-budget", "2m"]).await;
    assert_eq!(h.status_of("legacy/service").await, "completed");
    assert_eq!(columns(&pool).await, before, "no column added, changed or given a default");
    let mut contract_tables = tables(&pool).await;
    // The tool's own tables: sqlx's migration record, the claims (leases),
    // the chunks' points, the removed repositories, the owners added whole,
    // the credentials' budgets, the chunk counts and what verifies found.
    let own = [
        "_sqlx_migrations",
        "backfill_claims",
        "backfill_chunk_points",
        "backfill_removals",
        "backfill_owners",
        "backfill_credentials",
        "backfill_chunk_counts",
        "backfill_verifications",
    ];
    contract_tables.retain(|t| !own.contains(&t.as_str()));
    assert_eq!(contract_tables.len(), 7, "only the tool's own tables were added: {contract_tables:?}");
    assert_complete(&h, "legacy", "service").await;
    let processed = h.processed_prs("legacy/service").await;
    assert_eq!(processed, 260);
}

#[sqlx::test(migrations = false)]
async fn a_second_migrate_is_harmless(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "tiny", 30)]).await;
    h.ok(&["migrate"]).await;
    let before = columns(&pool).await;
    h.ok(&["add", "acme/tiny"]).await;
    h.ok(&["run"]).await;
    h.ok(&["migrate"]).await;
    assert_eq!(columns(&pool).await, before);
    assert_complete(&h, "acme", "tiny").await;
}

/// A database that refuses a chunk's data (here, a size limit another tool
/// put on PR bodies): the chunk is recorded as failed with the reason, the
/// counters move, nothing of it is stored, and three in a row pause the backfill.
#[sqlx::test(migrations = false)]
async fn a_chunk_the_database_refuses_is_recorded_as_failed(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("legacy", "strict", 120)]).await;
    h.add("legacy/strict").await;
    sqlx::query("ALTER TABLE pull_requests ADD CONSTRAINT body_size CHECK (length(body) < 60000)")
        .execute(&pool)
        .await
        .expect("constraint");
    h.ok(&["run"]).await; // PRs 1-50: no huge body
    for attempt in 1..=3 {
        let out = h.backfill(&["run"]).await; // PRs 51-100 hold a 70 KB body
        assert_eq!(out.status.code(), Some(1), "attempt {attempt}: {}", common::text(&out));
        assert!(common::stderr(&out).contains("body_size"), "{}", common::text(&out));
    }
    let chunks: Vec<(i32, String, Option<String>, Option<i32>)> = sqlx::query_as(
        "SELECT chunk_number, status::text, error, api_calls_made FROM backfill_chunks ORDER BY chunk_number",
    )
    .fetch_all(&pool)
    .await
    .expect("chunks");
    let statuses: Vec<&str> = chunks.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(statuses, ["completed", "failed", "failed", "failed"]);
    assert!(chunks[1..].iter().all(|c| c.2.as_deref().is_some_and(|e| e.contains("body_size")) && c.3 >= Some(1)));
    let (status, errors, in_a_row, reason): (String, i32, i32, Option<String>) = sqlx::query_as(
        "SELECT status::text, error_count, consecutive_errors, metadata->>'pause_reason' FROM progressive_backfill_state",
    )
    .fetch_one(&pool)
    .await
    .expect("state");
    assert_eq!((status.as_str(), errors, in_a_row), ("paused", 3, 3));
    assert!(reason.is_some_and(|r| r.contains("3 consecutive")));
    assert_eq!(h.processed_prs("legacy/strict").await, 50, "nothing of the failed chunks was stored");
    // Paused for errors: scheduled runs leave it alone until resumed.
    let sent = h.fake.requests().len();
    h.ok(&["run"]).await;
    let asked: Vec<_> = h.fake.requests()[sent..].iter().map(|r| (r.operation.clone(), r.cost)).collect();
    assert_eq!(asked, [(Some("RateLimitNow".to_string()), 0)], "only the free check of the token");
}
