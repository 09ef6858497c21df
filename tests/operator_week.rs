//! The first week of a real operator: an outage that heals by itself, a
//! wrong URL or token that says so at once (exit 2) and marks nothing, a
//! database adopted by the scheduled run, and states that move only as the
//! contract says.

mod common;

use common::oracle::assert_complete;
use common::{spec, stderr, text, Harness};
use sqlx::PgPool;

/// A port on 127.0.0.1 where nothing listens (free when asked).
fn closed_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port());
    format!("http://127.0.0.1:{}/graphql", port.expect("a free port"))
}

#[sqlx::test(migrations = false)]
async fn an_outage_of_five_runs_heals_without_a_resume(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "outage", 120)]).await;
    h.add("acme/outage").await;
    let down = closed_url();
    for run in 1..=5 {
        let env = [("GITHUB_GRAPHQL_URL", down.as_str()), ("BACKFILL_RETRY_DELAY", "10ms")];
        let out = h.backfill_with(&["run", "--max-retries", "1"], &env).await;
        assert_eq!(out.status.code(), Some(1), "run {run}:\n{}", text(&out));
        assert!(stderr(&out).contains("GitHub could not be reached"), "run {run}:\n{}", text(&out));
        assert_eq!(h.status_of("acme/outage").await, "active", "run {run} held GitHub's outage against it");
    }
    assert_eq!(h.state_field("acme/outage", "s.consecutive_errors").await.as_deref(), Some("0"));
    let runs = h.run_until_completed("acme/outage", 10).await;
    eprintln!("completed {runs} runs after GitHub came back");
    assert_complete(&h, "acme", "outage").await;
    assert_eq!(h.state_field("acme/outage", "s.last_error").await, None, "a good chunk clears the last error");
}

#[sqlx::test(migrations = false)]
async fn a_wrong_graphql_path_is_a_configuration_error_and_marks_nothing(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "one", 60), spec("acme", "two", 60)]).await;
    h.add("acme/one").await;
    h.ok(&["add", "acme/two"]).await;
    let wrong = h.fake.graphql_url().replace("/graphql", "/api/graphql-typo");
    let out = h.backfill_with(&["run"], &[("GITHUB_GRAPHQL_URL", wrong.as_str())]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("GITHUB_GRAPHQL_URL"), "says what to check:\n{}", text(&out));
    for repo in ["acme/one", "acme/two"] {
        assert_eq!(h.status_of(repo).await, "active");
        assert_eq!(h.state_field(repo, "s.last_error").await, None, "{repo} marked");
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM backfill_chunks").fetch_one(&h.pool).await.expect("rows");
    assert_eq!(rows, 0);
}

#[sqlx::test(migrations = false)]
async fn a_rejected_token_fails_the_dry_run_and_an_idle_run(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "tokens", 30)]).await;
    h.ok(&["migrate"]).await;
    let bad = [("GITHUB_TOKEN", "ghp_not_the_right_one")];
    // Nothing to run yet: one cheap request still tells the token is wrong.
    let out = h.backfill_with(&["run"], &bad).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("rejected the token"), "{}", text(&out));
    h.ok(&["add", "acme/tokens"]).await;
    let out = h.backfill_with(&["run", "--dry-run"], &bad).await;
    assert_eq!(out.status.code(), Some(2), "the natural check-my-secrets step:\n{}", text(&out));
    assert!(!text(&out).contains("ghp_not_the_right_one"), "no secret in the output");
}

#[sqlx::test(migrations = false)]
async fn pause_and_resume_of_a_completed_backfill_leave_it_completed(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "done", 30)]).await;
    h.add("acme/done").await;
    h.run_until_completed("acme/done", 3).await;
    h.ok(&["resume", "acme/done"]).await;
    assert_eq!(h.status_of("acme/done").await, "completed", "resume of a completed backfill");
    h.ok(&["pause", "acme/done"]).await;
    assert_eq!(h.status_of("acme/done").await, "paused");
    h.ok(&["resume", "acme/done"]).await;
    assert_eq!(h.status_of("acme/done").await, "completed", "pause then resume");
}

#[sqlx::test(migrations = false)]
async fn the_first_scheduled_run_can_migrate_and_migrate_says_what_it_did(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "new", 30)]).await;
    let out = h.backfill(&["run"]).await;
    assert_eq!(out.status.code(), Some(2), "no tables, no --migrate:\n{}", text(&out));
    let out = h.ok(&["run", "--migrate"]).await;
    assert!(stderr(&out).contains("applied 9 migrations"), "{}", text(&out));
    assert!(stderr(&out).contains("no backfill to run"), "{}", text(&out));
    let out = h.ok(&["migrate"]).await;
    assert!(stderr(&out).contains("already up to date"), "{}", text(&out));
    let out = h.backfill(&["status", "--repository-id", "acme/nothing"]).await;
    assert_eq!(out.status.code(), Some(2), "an unknown backfill, as for pause:\n{}", text(&out));
}

/// A backfill paused for failures of its own is tried again by itself once
/// its cooldown is over (here brought forward by hand), and a good chunk
/// clears the failures.
#[sqlx::test(migrations = false)]
async fn a_pause_for_its_own_failures_ends_after_a_cooldown(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "cool", 60)]).await;
    h.add("acme/cool").await;
    for _ in 0..3 {
        let own = fake_github::Fault::GraphqlError { kind: Some("UNPROCESSABLE".into()), message: "no".into() };
        h.fake.with_control(|c| c.faults.push_back(own));
        let out = h.backfill(&["run", "--max-retries", "0"]).await;
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    }
    assert_eq!(h.status_of("acme/cool").await, "paused");
    let hours = h
        .state_field(
            "acme/cool",
            "round(extract(epoch FROM (s.metadata->>'paused_until')::timestamptz - now()) / 3600)",
        )
        .await;
    assert_eq!(hours.as_deref(), Some("1"), "the first cooldown is an hour");
    let sent = h.fake.requests().len();
    h.ok(&["run"]).await;
    let asked: Vec<_> = h.fake.requests()[sent..].iter().map(|r| (r.operation.clone(), r.cost)).collect();
    let check = [(Some("RateLimitNow".to_string()), 0)];
    assert_eq!(asked, check, "nothing is asked during the cooldown but the free check of the token");

    sqlx::query(
        "UPDATE progressive_backfill_state SET metadata = metadata || '{\"paused_until\": \"2000-01-01T00:00:00Z\"}'",
    )
    .execute(&h.pool)
    .await
    .expect("cooldown over");
    h.run_until_completed("acme/cool", 5).await;
    assert_eq!(h.state_field("acme/cool", "s.consecutive_errors").await.as_deref(), Some("0"));
    assert_complete(&h, "acme", "cool").await;
}
