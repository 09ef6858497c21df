//! A run with nothing to do still asks GitHub whether the token works: a
//! request for `rateLimit` alone costs nothing, and GitHub refuses a bad
//! token before it looks at any rate limit. So a rejected token exits 2 even
//! while every backfill waits out a spent budget, and writes nothing.

mod common;

use std::time::Duration;

use common::{spec, stderr, text, Harness};
use fake_github::{Fault, RepoSpec};
use sqlx::PgPool;

const REPOS: [&str; 2] = ["acme/widgets", "acme/gears"];

/// Every state row and every chunk row, whole, as text.
async fn rows(h: &Harness) -> (Vec<String>, Vec<String>) {
    let states = sqlx::query_scalar("SELECT s::text FROM progressive_backfill_state s ORDER BY s.id")
        .fetch_all(&h.pool)
        .await
        .expect("states");
    let chunks = sqlx::query_scalar("SELECT c::text FROM backfill_chunks c ORDER BY c.id")
        .fetch_all(&h.pool)
        .await
        .expect("chunks");
    (states, chunks)
}

/// Runs until every backfill is paused for the spent budget, its pause ahead.
async fn pause_every_backfill(h: &Harness) {
    for _ in 0..4 {
        let mut paused = 0;
        for repo in REPOS {
            paused += usize::from(h.status_of(repo).await == "paused");
        }
        if paused == REPOS.len() {
            for repo in REPOS {
                let until = h.state_field(repo, "s.metadata->>'paused_until'").await.unwrap_or_default();
                let until = chrono::DateTime::parse_from_rfc3339(&until).expect("paused_until is a time");
                assert!(until > chrono::Utc::now(), "{repo} is paused until {until}, not ahead");
            }
            return;
        }
        h.ok(&["run"]).await;
    }
    panic!("not every backfill was paused for the rate limit");
}

#[sqlx::test(migrations = false)]
async fn a_rejected_token_exits_2_while_every_backfill_is_paused_for_the_rate_limit(pool: PgPool) {
    let ordinary = |name: &str| RepoSpec { extremes: false, ..spec("acme", name, 120) };
    let h = Harness::start(pool, &[ordinary("widgets"), ordinary("gears")]).await;
    // Four points for ten minutes: the two lookups of `add`, then a chunk's page and details.
    h.fake.with_control(|c| c.budget = fake_github::world::Budget::new(4, Duration::from_secs(600)));
    for repo in REPOS {
        h.add(repo).await;
    }
    pause_every_backfill(&h).await;
    let before = rows(&h).await;
    assert!(!before.1.is_empty(), "a chunk was stored before the pause, to be left alone");

    let wrong = "ghp_wrong_secret_value_42";
    for args in [&["run"][..], &["run", "--dry-run"]] {
        let sent = h.fake.requests().len();
        let out = h.backfill_with(args, &[("GITHUB_TOKEN", wrong)]).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: one line on stderr: {err:?}");
        assert!(err.contains("GITHUB_TOKEN"), "{args:?}: the line names the setting: {err:?}");
        assert!(!text(&out).contains(wrong), "{args:?} printed the token");
        let asked: Vec<_> = h.fake.requests()[sent..].iter().map(|r| (r.status, r.fault.clone())).collect();
        assert_eq!(asked, vec![(401, Some(Fault::Unauthorized))], "{args:?}: one request, refused");
        assert_eq!(rows(&h).await, before, "{args:?} wrote nothing");
    }

    // The right token in the same state: the check is free and answered
    // although the budget is spent, and the run has nothing to do.
    let sent = h.fake.requests().len();
    let out = h.ok(&["run"]).await;
    assert!(stderr(&out).contains("no backfill to run"), "{}", text(&out));
    let asked: Vec<_> = h.fake.requests()[sent..].iter().map(|r| (r.status, r.cost, r.rate_limited)).collect();
    assert_eq!(asked, vec![(200, 0, false)], "one free request, answered");
    assert_eq!(h.fake.with_control(|c| c.budget.remaining), 0, "the budget is still spent");
    assert_eq!(rows(&h).await, before, "a run with nothing to do writes nothing");

    // Were GitHub to refuse even that for the rate limit, the token still works.
    let refusal = Fault::GraphqlError { kind: Some("RATE_LIMITED".into()), message: "API rate limit exceeded".into() };
    h.fake.with_control(|c| c.faults.push_back(refusal));
    let out = h.ok(&["run"]).await;
    let err = stderr(&out);
    assert!(err.contains("rate limit is spent") && !err.contains("warning"), "{}", text(&out));
    assert_eq!(rows(&h).await, before);
}
