//! Fleets: an organization's 200 repositories tracked by one `add
//! 'OWNER/*'` (forks and archived ones left out unless asked, small ones
//! with `--min-prs`), several repositories at once, and `run --discover`
//! starting the repositories created under the owner since, never one that
//! `backfill remove` stopped.

mod common;

use common::{spec, stderr, text, Harness};
use fake_github::{Fault, RepoSpec};
use sqlx::PgPool;

fn repo(owner: &str, name: &str, prs: usize) -> RepoSpec {
    RepoSpec { extremes: false, ..spec(owner, name, prs) }
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The backfills of an owner's repositories, by name.
async fn backfills(pool: &PgPool, owner: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT r.full_name FROM progressive_backfill_state s JOIN repositories r ON r.id = s.repository_id \
         WHERE r.owner = $1 ORDER BY 1",
    )
    .bind(owner)
    .fetch_all(pool)
    .await
    .expect("backfills")
}

/// Every state row, as text: to see that an add left them as they were.
async fn state_rows(pool: &PgPool) -> String {
    sqlx::query_scalar(
        "SELECT coalesce(string_agg(s::text, E'\\n' ORDER BY s.id), '') FROM progressive_backfill_state s",
    )
    .fetch_one(pool)
    .await
    .expect("state rows")
}

/// The listings the fake served: (requests, points).
fn listings(h: &Harness, since: usize) -> (usize, i64) {
    let log = h.fake.requests();
    let asked: Vec<_> = log[since..].iter().filter(|r| r.operation.as_deref() == Some("OwnerRepositories")).collect();
    (asked.len(), asked.iter().map(|r| r.cost).sum())
}

/// 200 repositories of 2-3 PRs under `acme`, a fork and an archived one
/// among them, and one repository each of two other owners.
fn fleet() -> Vec<RepoSpec> {
    let mut specs: Vec<RepoSpec> = (0..200).map(|i| repo("acme", &format!("repo-{i:03}"), 2 + i % 2)).collect();
    specs.insert(50, RepoSpec { fork: true, ..repo("acme", "a-fork", 3) });
    specs.insert(120, RepoSpec { archived: true, ..repo("acme", "old", 3) });
    specs.extend([repo("other", "alone", 2), repo("small", "one", 1), repo("small", "five", 5)]);
    specs
}

#[sqlx::test(migrations = false)]
async fn one_add_tracks_an_owners_repositories_and_again_adds_none(pool: PgPool) {
    let h = Harness::start(pool.clone(), &fleet()).await;
    h.ok(&["migrate"]).await;

    let out = h.ok(&["add", "acme/*"]).await;
    let said = stdout(&out);
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.len(), 203, "a line for each of the 202 repositories and a total:\n{said}");
    assert_eq!(lines.iter().filter(|l| l.contains(": tracked now, ")).count(), 200, "{said}");
    assert!(said.contains("acme/a-fork: skipped: a fork (--include-forks tracks it)"), "{said}");
    assert!(said.contains("acme/old: skipped: archived (--include-archived tracks it)"), "{said}");
    assert_eq!(lines.last(), Some(&"total: 200 tracked now, 0 already tracked, 2 skipped"), "{said}");
    assert!(stderr(&out).contains("acme/*: 202 repositories on GitHub"), "{}", text(&out));
    let tracked = backfills(&pool, "acme").await;
    assert_eq!(tracked.len(), 200, "exactly the 200");
    assert!(!tracked.iter().any(|r| r == "acme/a-fork" || r == "acme/old"), "{tracked:?}");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM repositories").fetch_one(&pool).await.expect("rows");
    assert_eq!(rows, 200, "nothing of the other owners, the fork or the archived one");
    assert_eq!(listings(&h, 0), (3, 3), "202 repositories: three requests, a point each");

    // Again: nothing new, and the backfills are left exactly as they were.
    let before = state_rows(&pool).await;
    let out = h.ok(&["add", "acme/*", "--priority", "high"]).await;
    let said = stdout(&out);
    assert_eq!(said.lines().last(), Some("total: 0 tracked now, 200 already tracked, 2 skipped"), "{said}");
    assert!(said.contains("acme/repo-000: already tracked, left as it is (id "), "{said}");
    assert_eq!(state_rows(&pool).await, before, "existing backfills untouched");

    // Every flag is also read from the environment, as a workflow sets it.
    let out = h.backfill_with(&["add", "acme/*"], &[("BACKFILL_INCLUDE_FORKS", "yes")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = stdout(&out);
    assert!(said.contains("acme/a-fork: tracked now, 3 PRs (id "), "{said}");
    assert_eq!(said.lines().last(), Some("total: 1 tracked now, 200 already tracked, 1 skipped"), "{said}");
    let (forks, archived): (bool, bool) =
        sqlx::query_as("SELECT include_forks, include_archived FROM backfill_owners WHERE login = 'acme'")
            .fetch_one(&pool)
            .await
            .expect("the owner is remembered once, with the latest add's filters");
    assert_eq!((forks, archived), (true, false));

    let out = h.backfill_with(&["add", "small/*"], &[("BACKFILL_MIN_PRS", "2")]).await;
    let said = stdout(&out);
    assert!(said.contains("small/one: skipped: 1 PR, fewer than --min-prs 2"), "{said}");
    assert!(said.contains("small/five: tracked now, 5 PRs"), "{said}");
    assert_eq!(backfills(&pool, "small").await, ["small/five"]);

    // Several at once: a repository named by hand is tracked whatever the
    // filters; a repository and an owner GitHub does not have are named,
    // the others are added, and the exit is 1.
    let out = h.ok(&["add", "other/alone", "small/one", "acme/repo-007", "Other/Alone"]).await;
    let said = stdout(&out);
    assert!(said.contains("other/alone: tracked now, 2 PRs (id "), "{said}");
    assert!(said.contains("small/one: tracked now, 1 PR (id "), "{said}");
    assert!(said.contains("acme/repo-007: already tracked (id "), "{said}");
    assert_eq!(said.lines().count(), 4, "a name given twice is added once:\n{said}");
    assert_eq!(said.lines().last(), Some("total: 2 tracked now, 1 already tracked, 0 skipped"));
    let out = h.backfill(&["add", "other/alone", "nobody/nothing", "ghost/*"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = stdout(&out);
    assert!(said.contains("nobody/nothing: not found on GitHub") && said.contains("ghost/*: not found on GitHub"));
    assert_eq!(said.lines().last(), Some("total: 0 tracked now, 1 already tracked, 0 skipped, 2 not found"));
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "one error line: {err}");
    assert!(err.contains("nobody/nothing, ghost/*"), "{err}");

    // One target as before: a repository's id alone on stdout; an owner
    // GitHub does not have, or a pattern other than OWNER/*, is a usage
    // error that writes nothing.
    let out = h.ok(&["add", "other/alone"]).await;
    let id = stdout(&out);
    assert!(uuid::Uuid::parse_str(id.trim()).is_ok(), "{}", text(&out));
    let rows = state_rows(&pool).await;
    for (args, needle) in [(&["add", "ghost/*"][..], "ghost/* was not found"), (&["add", "acme/repo-*"], "OWNER/*")] {
        let out = h.backfill(args).await;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(stderr(&out).contains(needle) && stdout(&out).is_empty(), "{}", text(&out));
    }
    assert_eq!(state_rows(&pool).await, rows);
    let owners: i64 =
        sqlx::query_scalar("SELECT count(*) FROM backfill_owners").fetch_one(&pool).await.expect("owners");
    assert_eq!(owners, 2, "acme and small; no owner GitHub does not have");
}

#[sqlx::test(migrations = false)]
async fn discovery_starts_repositories_created_under_an_owner_by_its_filters_but_never_a_removed_one(pool: PgPool) {
    let specs: Vec<RepoSpec> = (0..5).map(|i| repo("acme", &format!("r{i}"), 3)).collect();
    let h = Harness::start(pool.clone(), &specs).await;
    h.ok(&["migrate"]).await;
    // GitHub stops the first listing at its resource limits: asked again.
    h.fake.with_control(|c| c.faults.push_back(Fault::Partial { path: Vec::new() }));
    let args = ["add", "acme/*", "--priority", "high", "--min-prs", "1"];
    let out = h.backfill_with(&args, &[("BACKFILL_RETRY_DELAY", "10ms")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(backfills(&pool, "acme").await.len(), 5, "{}", text(&out));
    assert_eq!(listings(&h, 0).0, 2, "the partial answer and the whole one");
    h.ok(&["remove", "acme/r1"]).await;
    h.ok(&["remove", "acme/r2", "--purge"]).await;
    h.fake.with_world(|w| {
        w.create_repository(&repo("acme", "new", 3)).expect("created");
        w.create_repository(&RepoSpec { fork: true, ..repo("acme", "new-fork", 3) }).expect("created");
        w.create_repository(&repo("acme", "empty", 0)).expect("created");
    });

    let sent = h.fake.requests().len();
    let out = h.ok(&["run", "--discover", "--dry-run"]).await;
    assert!(stderr(&out).contains("discovery: acme/*: would start 1 backfill(s): acme/new"), "{}", text(&out));
    assert!(!backfills(&pool, "acme").await.contains(&"acme/new".to_string()), "a dry run starts nothing");
    assert_eq!(listings(&h, sent), (1, 1), "one request for 8 repositories");

    let out = h.ok(&["run", "--discover"]).await;
    assert!(stderr(&out).contains("discovery: acme/*: started 1 backfill(s): acme/new"), "{}", text(&out));
    assert_eq!(backfills(&pool, "acme").await, ["acme/new", "acme/r0", "acme/r1", "acme/r3", "acme/r4"]);
    assert_eq!(h.status_of("acme/new").await, "completed", "and the same run took its chunk");
    let meta = h.state_field("acme/new", "s.metadata").await.unwrap_or_default();
    let meta: serde_json::Value = serde_json::from_str(&meta).expect("metadata");
    assert_eq!((&meta["priority"], &meta["discovered"]), (&serde_json::json!("high"), &serde_json::json!(true)));
    let removed: i64 = sqlx::query_scalar("SELECT count(*) FROM backfill_removals").fetch_one(&pool).await.expect("n");
    assert_eq!(removed, 2, "the removed ones stay removed");
    let out = h.ok(&["run", "--discover"]).await;
    assert!(stderr(&out).contains("discovery: acme/*: nothing new among its 8 repositories"), "{}", text(&out));

    // The owner's filters held: no fork, nothing under --min-prs 1.
    // An owner-wide add says so of a removed repository; a plain add of it
    // tracks it again, as always.
    let said = stdout(&h.ok(&["add", "acme/*"]).await);
    assert!(said.contains("acme/r2: skipped: removed with `backfill remove`, and stays removed"), "{said}");
    assert!(said.contains("acme/empty: tracked now, 0 PRs"), "this add's filters (no --min-prs) win: {said}");
    let out = h.ok(&["add", "acme/r2"]).await;
    assert!(stderr(&out).contains("acme/r2: removed and purged before"), "{}", text(&out));

    // `remove 'OWNER/*'` stops the discovery of new repositories, not the backfills.
    let out = h.ok(&["remove", "acme/*"]).await;
    assert!(
        stderr(&out).contains("acme/*: stopped") && stderr(&out).contains("its 6 backfill(s) stay"),
        "{}",
        text(&out)
    );
    h.fake.with_world(|w| w.create_repository(&repo("acme", "newer", 2)).expect("created"));
    let sent = h.fake.requests().len();
    h.ok(&["run", "--discover"]).await;
    assert!(!backfills(&pool, "acme").await.contains(&"acme/newer".to_string()));
    assert_eq!(listings(&h, sent), (0, 0), "a stopped owner is not listed");
    assert!(stderr(&h.ok(&["remove", "acme/*"]).await).contains("acme/*: already stopped"));
    let out = h.backfill(&["remove", "nobody/*"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = h.backfill(&["remove", "acme/*", "--purge"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
