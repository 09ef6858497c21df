//! `--report-issue`: a backfill paused for failures or marked failed is
//! reported in a GitHub issue (one per backfill, commented on afterwards).

mod common;

use common::{spec, text, Harness};
use fake_github::rest::Issue;
use fake_github::Fault;
use sqlx::PgPool;

#[sqlx::test(migrations = false)]
async fn failures_open_one_issue_per_backfill_and_comment_after(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "flaky", 80), spec("acme", "gone", 80)]).await;
    h.add("acme/flaky").await;
    h.ok(&["add", "acme/gone"]).await;
    h.fake.with_world(|w| {
        w.repos.retain(|r| r.name != "gone");
        w.reindex();
    });
    let actions = [
        ("GITHUB_SERVER_URL", "https://github.example"),
        ("GITHUB_REPOSITORY", "acme/ops"),
        ("GITHUB_RUN_ID", "4242"),
        ("BACKFILL_RETRY_DELAY", "1ms"),
    ];
    let run = ["run", "--report-issue", "acme/ops", "--max-retries", "0"];
    let issues = |h: &Harness| -> Vec<Issue> { h.fake.with_control(|c| c.issues.clone()) };

    // Run 1: acme/gone is marked failed; acme/flaky stores a chunk.
    let out = h.backfill_with(&run, &actions).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let open = issues(&h);
    assert_eq!(open.len(), 1, "only the failed backfill so far: {open:?}\n{}", text(&out));
    assert_eq!(open[0].repository, "acme/ops");
    assert_eq!(open[0].title, "backfill: acme/gone needs attention");
    assert_eq!(open[0].labels, vec!["backfill".to_string()]);
    assert!(open[0].body.contains("was marked failed"), "{}", open[0].body);
    assert!(open[0].body.contains("https://github.example/acme/ops/actions/runs/4242"), "{}", open[0].body);

    // Runs 2 to 4: acme/flaky's chunks fail for a reason of their own (not
    // GitHub being down, which never pauses), and it is paused: its own issue.
    let own_failure =
        || Fault::GraphqlError { kind: Some("UNPROCESSABLE".into()), message: "the query is wrong".into() };
    for _ in 0..3 {
        h.fake.with_control(|c| c.faults.push_back(own_failure()));
        h.backfill_with(&run, &actions).await;
    }
    assert_eq!(h.status_of("acme/flaky").await, "paused");
    let open = issues(&h);
    assert_eq!(open.len(), 2, "{open:?}");
    let flaky = &open[1];
    assert_eq!(flaky.title, "backfill: acme/flaky needs attention");
    assert!(flaky.body.contains("paused after repeated failures"), "{}", flaky.body);
    assert!(flaky.body.contains("| Chunk | 4 |"), "the chunk that failed last: {}", flaky.body);
    assert!(flaky.body.contains("the query is wrong"), "the error: {}", flaky.body);

    // Resumed, it fails three more times: a comment on the open issue, no new one.
    h.ok(&["resume", "acme/flaky"]).await;
    for _ in 0..3 {
        h.fake.with_control(|c| c.faults.push_back(own_failure()));
        h.backfill_with(&run, &actions).await;
    }
    let open = issues(&h);
    assert_eq!(open.len(), 2, "no second issue for the same backfill: {open:?}");
    assert_eq!(open[1].comments.len(), 1, "{open:?}");
    assert!(open[1].comments[0].contains("| Chunk | 7 |"), "{}", open[1].comments[0]);
}
