//! Pointing `backfill` at a database whose tables another tool created.

mod common;

use common::oracle::assert_complete;
use common::{spec, Harness};
use sqlx::PgPool;

async fn columns(pool: &PgPool) -> Vec<(String, String, String, Option<String>)> {
    sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, column_default::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%' ORDER BY table_name, column_name",
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
    contract_tables.retain(|t| t != "_sqlx_migrations");
    assert_eq!(contract_tables.len(), 7, "only the tool's own migration table was added: {contract_tables:?}");
    assert_complete(&h, "legacy", "service").await;
    let processed: i32 = sqlx::query_scalar("SELECT processed_prs FROM progressive_backfill_state")
        .fetch_one(&pool)
        .await
        .expect("state");
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
