//! The claim and the commit's compare-and-set, against a real PostgreSQL:
//! a live lease keeps a second holder out, a lapsed one lets it in, and the
//! check before a store refuses a holder whose claim was taken over or whose
//! cursor moved, so that nothing can be stored twice whatever the timing.

use std::time::{Duration, Instant};

use backfill::github::RepositoryInfo;
use backfill::store::claims::{self, Holder, Verdict};
use backfill::store::{self, state, Route};
use sqlx::PgPool;
use uuid::Uuid;

async fn one_backfill(pool: &PgPool) -> Uuid {
    store::migrate(pool, Route::Direct).await.expect("migrations");
    let repo = RepositoryInfo {
        github_id: 42,
        owner: "acme".into(),
        name: "claims".into(),
        full_name: "acme/claims".into(),
        pull_request_count: 10,
    };
    state::add_repository(pool, &repo, None).await.expect("repository");
    state::find(pool, "acme/claims").await.expect("find").expect("the backfill").id
}

async fn verdict(pool: &PgPool, id: Uuid, holder: &Holder, cursor: Option<Option<&str>>) -> Verdict {
    let mut tx = pool.begin().await.expect("begin");
    let began = cursor.map_or(claims::Began::Anywhere, claims::Began::AtCursor);
    let v = claims::confirm(&mut tx, id, holder, began).await.expect("confirm");
    tx.rollback().await.expect("rollback");
    v
}

/// Polls `take` for `holder` until it gets the backfill; returns how long that took.
async fn take_when_free(pool: &PgPool, id: Uuid, holder: &Holder, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if claims::take(pool, id, holder).await.expect("take").is_some() {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "the claim never came free");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[sqlx::test(migrations = false)]
async fn a_live_lease_keeps_others_out_and_a_lapsed_one_lets_them_in(pool: PgPool) {
    let id = one_backfill(&pool).await;
    let (a, b) = (Holder::new(Duration::from_millis(600)), Holder::new(Duration::from_millis(600)));
    assert!(claims::take(&pool, id, &a).await.expect("take").is_some(), "a free backfill is taken");
    assert!(claims::take(&pool, id, &b).await.expect("take").is_none(), "a live claim keeps the other out");
    assert!(claims::take(&pool, id, &a).await.expect("take").is_some(), "the holder may take its own again");
    assert!(claims::renew(&pool, id, &a).await.expect("renew"), "the holder renews");

    let waited = take_when_free(&pool, id, &b, Duration::from_secs(10)).await;
    assert!(waited >= Duration::from_millis(400), "taken over only when the lease lapsed ({waited:?})");
    assert!(!claims::renew(&pool, id, &a).await.expect("renew"), "the old holder learns its claim is gone");
    assert_eq!(verdict(&pool, id, &a, Some(None)).await, Verdict::ClaimLost, "and may not store");
    assert_eq!(verdict(&pool, id, &b, Some(None)).await, Verdict::Held);

    claims::release_all(&pool, &b).await.expect("release");
    assert!(claims::take(&pool, id, &a).await.expect("take").is_some(), "a released claim is free at once");
}

#[sqlx::test(migrations = false)]
async fn a_moved_cursor_refuses_the_commit(pool: PgPool) {
    let id = one_backfill(&pool).await;
    let holder = Holder::new(Duration::from_secs(30));
    claims::take(&pool, id, &holder).await.expect("take").expect("claimed");
    assert_eq!(verdict(&pool, id, &holder, Some(None)).await, Verdict::Held, "nothing stored yet: cursor NULL");
    sqlx::query("UPDATE progressive_backfill_state SET last_processed_cursor = 'elsewhere' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .expect("move the cursor");
    assert_eq!(verdict(&pool, id, &holder, Some(None)).await, Verdict::CursorMoved);
    assert_eq!(verdict(&pool, id, &holder, Some(Some("elsewhere"))).await, Verdict::Held);
    assert_eq!(verdict(&pool, id, &holder, None).await, Verdict::Held, "recording a failure needs the claim only");
}

#[sqlx::test(migrations = false)]
async fn only_runnable_backfills_are_claimed(pool: PgPool) {
    let id = one_backfill(&pool).await;
    sqlx::query("UPDATE progressive_backfill_state SET status = 'paused' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .expect("pause");
    let holder = Holder::new(Duration::from_secs(30));
    assert!(claims::take(&pool, id, &holder).await.expect("take").is_none());
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM backfill_claims").fetch_one(&pool).await.expect("count");
    assert_eq!(rows, 0, "no claim row for a backfill that may not run");
}
