//! A fleet: two hundred small repositories under one owner, backfilled in
//! a handful of requests, then kept current for a request or two a run.

mod common;

use std::time::{Duration, Instant};

use common::oracle::assert_complete;
use common::{spec, text, Harness};
use sqlx::PgPool;

const REPOSITORIES: usize = 200;

fn name(i: usize) -> String {
    format!("r{i:03}")
}

/// Runs until every backfill is completed; the requests GitHub saw.
async fn backfill_all(h: &Harness) -> usize {
    let before = h.fake.requests().len();
    let deadline = Instant::now() + Duration::from_secs(240);
    while !h.all_completed().await {
        assert!(Instant::now() < deadline, "the fleet did not complete");
        let out = h.backfill(&["run", "--time-budget", "3m"]).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    h.fake.requests().len() - before
}

#[sqlx::test(migrations = false)]
async fn a_fleet_is_backfilled_and_kept_current_in_a_handful_of_requests(pool: PgPool) {
    let mut specs: Vec<_> = (0..REPOSITORIES).map(|i| spec("fleet", &name(i), 20)).collect();
    specs.push(spec("other", "outsider", 20));
    let h = Harness::start(pool, &specs).await;
    h.ok(&["migrate"]).await;
    h.ok(&["add", "fleet/*"]).await;
    let tracked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM progressive_backfill_state").fetch_one(&h.pool).await.expect("states");
    assert_eq!(tracked, REPOSITORIES as i64, "one add tracks the owner's repositories, and no other's");

    // Two hundred first pages, six to a request, and their follow-ups.
    let requests = backfill_all(&h).await;
    let points: i64 = h.fake.requests().iter().map(|r| r.cost).sum();
    eprintln!("backfilled {REPOSITORIES} repositories of 20 PRs: {requests} requests, {points} points");
    assert!(requests <= 100, "{requests} requests to backfill {REPOSITORIES} small repositories");
    for i in (0..REPOSITORIES).step_by(37) {
        assert_complete(&h, "fleet", &name(i)).await;
    }

    // Nothing new anywhere: one request per hundred backfills.
    let before = h.fake.requests().len();
    h.ok(&["run"]).await;
    let idle = h.fake.requests().len() - before;
    eprintln!("an idle run: {idle} requests");
    assert!(idle <= 5, "{idle} requests for a run over {REPOSITORIES} current backfills");

    // Three PRs changed in each of five repositories: their sweeps alone.
    let changed: Vec<String> = [3, 50, 99, 150, 199].map(name).to_vec();
    h.fake.with_world(|w| {
        for repo in &changed {
            for number in [2, 7, 11] {
                let pr = w.repo("fleet", repo).and_then(|r| r.pull_requests.iter().find(|p| p.number >= number));
                let number = pr.map_or(number, |p| p.number);
                w.retitle_pr("fleet", repo, number, "changed while kept current").expect("a change");
            }
        }
    });
    let before = h.fake.requests().len();
    h.ok(&["run"]).await;
    let after_changes = h.fake.requests().len() - before;
    eprintln!("a run after changes in 5 repositories: {after_changes} requests");
    assert!(after_changes <= 15, "{after_changes} requests after changes in 5 repositories");
    for repo in &changed {
        assert_complete(&h, "fleet", repo).await;
    }
    let outsider: i64 = sqlx::query_scalar("SELECT count(*) FROM repositories WHERE owner = 'other'")
        .fetch_one(&h.pool)
        .await
        .expect("repositories");
    assert_eq!(outsider, 0, "another owner's repository is not tracked");
}
