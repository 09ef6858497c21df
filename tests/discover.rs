//! `run --discover`: tracked repositories without a backfill get one, unless
//! they already hold 95% of their PRs.

mod common;

use common::oracle::assert_complete;
use common::{spec, text, Harness};
use sqlx::PgPool;

/// Forgets a repository's backfill, as if another system tracked it.
async fn drop_backfill(pool: &PgPool, full_name: &str) {
    for sql in [
        "DELETE FROM backfill_chunks c USING repositories r WHERE r.id = c.repository_id AND r.full_name = $1",
        "DELETE FROM progressive_backfill_state s USING repositories r WHERE r.id = s.repository_id AND r.full_name = $1",
    ] {
        sqlx::query(sql).bind(full_name).execute(pool).await.expect("delete");
    }
}

async fn has_backfill(pool: &PgPool, full_name: &str) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM progressive_backfill_state s JOIN repositories r ON r.id = s.repository_id \
         WHERE r.full_name = $1)",
    )
    .bind(full_name)
    .fetch_one(pool)
    .await
    .expect("exists")
}

#[sqlx::test(migrations = false)]
async fn discovery_starts_backfills_for_tracked_repositories_missing_their_prs(pool: PgPool) {
    let specs = [spec("acme", "partial", 120), spec("acme", "full", 60), spec("acme", "empty", 0)];
    let h = Harness::start(pool.clone(), &specs).await;
    for repo in ["acme/partial", "acme/full", "acme/empty"] {
        h.add(repo).await;
    }
    h.ok(&["run"]).await; // partial: 50 of 120; full: 50 of 60
    h.ok(&["run", "--repository-id", "acme/full"]).await; // full: 60 of 60
    for repo in ["acme/partial", "acme/full", "acme/empty"] {
        drop_backfill(&pool, repo).await;
    }

    let out = h.ok(&["run", "--discover", "--dry-run"]).await;
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("would start 1 backfill(s): acme/partial"), "{}", text(&out));
    assert!(!has_backfill(&pool, "acme/partial").await, "a dry run starts nothing");

    let out = h.ok(&["run", "--discover"]).await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("started 1 backfill(s): acme/partial"), "{}", text(&out));
    assert!(has_backfill(&pool, "acme/partial").await);
    assert!(!has_backfill(&pool, "acme/full").await, "holds all its PRs");
    assert!(!has_backfill(&pool, "acme/empty").await, "has no PRs");
    // A second discovery finds nothing new, and the backfill runs to the end
    // over the PRs already stored without duplicating them.
    let out = h.ok(&["run", "--discover", "--time-budget", "2m"]).await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("discovery: every tracked repository"), "{}", text(&out));
    assert_eq!(h.status_of("acme/partial").await, "completed");
    assert_eq!(h.processed_prs("acme/partial").await, 120);
    assert_complete(&h, "acme", "partial").await;
}
