//! Keeping a completed backfill current (README, "What a run does"): the
//! scheduled run, with no flag, stores the PRs opened after the cursor and
//! refreshes whole the PRs changed since the last sweep, until the database
//! holds the fake's data as it is now. Kills, races and early page ends are
//! in `keep_current_races.rs`.

mod common;

use common::changes::*;
use std::collections::BTreeSet;
use std::time::Instant;

use chrono::{DateTime, Utc};
use common::current::{assert_current_consistent, chunk_rows, differences, ChunkRow};
use common::oracle::{assert_complete, assert_same, stored};
use common::{spec, Harness};
use fake_github::data::{PullRequest, Rng};
use fake_github::Fault;
use sqlx::PgPool;

#[sqlx::test(migrations = false)]
async fn plain_runs_bring_a_completed_backfill_up_to_the_fakes_changes(pool: PgPool) {
    let started = Instant::now();
    let h = Harness::start(pool, &[spec("keep", "current", 1000)]).await;
    let history = complete(&h, "keep/current").await;
    let mut rng = Rng::new(seed("CHANGE_SEED"));
    let changed_from = Utc::now();
    let changes = h.fake.with_world(|w| {
        let mut c = change(w, REPO, FORTY, &mut rng, |_| true);
        c.opened = open_prs(w, REPO, 30);
        c
    });
    assert_eq!(changes.existing().len(), 40, "forty PRs changed: {changes:?}");

    // The oracle compares with the fake as it is now: it sees each change.
    let (stale, _) = differences(&h, "keep", "current").await;
    assert_eq!(stale.keys().copied().collect::<BTreeSet<_>>(), changes.all(), "the changed and new PRs differ");
    let sees = |n: &i32, what: &str| assert!(stale[n].contains(what), "PR {n}: {what} differ: {:?}", stale[n]);
    for n in changes.merged.iter().chain(&changes.closed).chain(&changes.retitled).chain(&changes.opened) {
        sees(n, "pr");
    }
    for n in &changes.reviewed {
        sees(n, "reviews");
        sees(n, "comments");
    }
    for n in changes.commented.iter().chain(changes.uncommented.iter().map(|(n, _)| n)) {
        sees(n, "comments");
    }
    for (n, _) in &changes.dismissed {
        sees(n, "reviews");
    }

    let before = h.fake.requests().len();
    let (runs, statuses) = runs_until_current(&h, "keep/current", 6, &["run"], &[]).await;
    let to_current = h.fake.requests().len() - before;
    // The sweep ends at a page of PRs older than its watermark.
    let mut more = 0;
    while current_as_of(&status_json(&h, "keep/current").await).is_none_or(|t| t < changed_from) {
        assert!(more < 3, "no sweep ended after the changes in {more} more runs");
        h.ok(&["run"]).await;
        more += 1;
    }
    let log = h.fake.requests()[before..].to_vec();
    eprintln!(
        "current after {runs} plain runs ({to_current} requests), sweep ended {more} runs later; \
         {} requests in all: {:?}; statuses {statuses:?}; {:?}",
        log.len(),
        operations(&log),
        started.elapsed()
    );

    assert_complete(&h, "keep", "current").await;
    let deleted: Vec<i64> = changes.uncommented.iter().map(|(_, id)| *id).collect();
    let left = count(&h, "SELECT count(*) FROM comments WHERE github_id = ANY($1)", &deleted).await;
    assert_eq!(left, 0, "the deleted issue comments {deleted:?} are gone");
    let dismissed: Vec<i64> = changes.dismissed.iter().map(|(_, id)| *id).collect();
    let sql = "SELECT count(*) FROM reviews WHERE github_id = ANY($1) AND state = 'DISMISSED'";
    assert_eq!(count(&h, sql, &dismissed).await, dismissed.len() as i64, "dismissed reviews stored as DISMISSED");
    assert_current_consistent(&h, "keep/current", &history, "at the end").await;
    let distinct: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT p.number) FROM pull_requests p JOIN repositories r ON r.id = p.repository_id \
         WHERE r.full_name = 'keep/current'",
    )
    .fetch_one(&h.pool)
    .await
    .expect("count");
    assert_eq!((h.processed_prs("keep/current").await, distinct), (1030, 1030), "processed_prs is the PRs stored");
    assert_eq!(h.state_field("keep/current", "s.total_prs").await.as_deref(), Some("1030"));
    assert_eq!(h.status_of("keep/current").await, "completed");
    let status = status_json(&h, "keep/current").await;
    assert_eq!(status["status"], "completed", "{status}");
    assert_eq!(status["sweeping"], false, "{status}");
}

/// Rows as stored and the transactions that last wrote them: a run that
/// writes nothing leaves both as they were.
async fn rows_and_writers(h: &Harness, full_name: &str) -> (common::oracle::Expected, Vec<i64>, Vec<ChunkRow>) {
    let (owner, name) = full_name.split_once('/').expect("OWNER/NAME");
    let rows = stored(&h.pool, &format!("{owner}/{name}")).await;
    let writers: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT x FROM (SELECT p.xmin::text::bigint AS x FROM pull_requests p \
           UNION ALL SELECT v.xmin::text::bigint FROM reviews v UNION ALL SELECT c.xmin::text::bigint FROM comments c \
           UNION ALL SELECT u.xmin::text::bigint FROM contributors u) t ORDER BY x",
    )
    .fetch_all(&h.pool)
    .await
    .expect("xmins");
    (rows, writers, chunk_rows(h, full_name).await)
}

#[sqlx::test(migrations = false)]
async fn a_run_over_an_unchanged_completed_backfill_sends_two_requests_and_writes_nothing(pool: PgPool) {
    let h = Harness::start(pool, &[spec("keep", "still", 400)]).await;
    complete(&h, "keep/still").await;
    let (rows, writers, chunks) = rows_and_writers(&h, "keep/still").await;
    for run in 1..=3 {
        let before = h.fake.requests().len();
        h.ok(&["run"]).await;
        let log = h.fake.requests()[before..].to_vec();
        eprintln!("run {run}: {} requests: {:?}", log.len(), operations(&log));
        assert!(
            log.len() <= 2,
            "run {run} over a current backfill sent {} requests: {:?}",
            log.len(),
            operations(&log)
        );
        let (now, now_writers, now_chunks) = rows_and_writers(&h, "keep/still").await;
        assert_same("pull_requests", &rows.pull_requests, &now.pull_requests);
        assert_same("reviews", &rows.reviews, &now.reviews);
        assert_same("comments", &rows.comments, &now.comments);
        assert_same("contributors", &rows.contributors, &now.contributors);
        assert_eq!(now_writers, writers, "run {run} rewrote rows");
        assert_eq!(now_chunks, chunks, "run {run} stored a chunk");
        assert_eq!(h.status_of("keep/still").await, "completed");
        let status = status_json(&h, "keep/still").await;
        assert!(current_as_of(&status).is_some(), "run {run} ended a sweep: {status}");
    }
}

/// Ten PRs changed every way, for changes made between runs.

#[sqlx::test(migrations = false)]
async fn changes_made_while_the_backfill_runs_are_caught_by_its_first_sweep(pool: PgPool) {
    const MOVING: (&str, &str) = ("keep", "moving");
    let h = Harness::start(pool, &[spec("keep", "moving", 600)]).await;
    h.add("keep/moving").await;
    let mut rng = Rng::new(seed("CHANGE_SEED"));
    let mut changed = BTreeSet::new();
    let mut runs = 0;
    while h.status_of("keep/moving").await != "completed" {
        assert!(runs < 60, "not completed after {runs} runs");
        h.ok(&["run"]).await;
        runs += 1;
        let stored = h.processed_prs("keep/moving").await;
        if runs % 3 != 0 || h.status_of("keep/moving").await == "completed" {
            continue;
        }
        // PRs stored so far, changed on the fake: the backfill has moved past them.
        let now = h.fake.with_world(|w| change(w, MOVING, TEN, &mut rng, |n| n <= stored && !changed.contains(&n)));
        let (stale, _) = differences(&h, "keep", "moving").await;
        let missed: Vec<_> = now.existing().into_iter().filter(|n| !stale.contains_key(n)).collect();
        assert!(missed.is_empty(), "PRs changed after being stored read as stale: {missed:?}");
        changed.extend(now.existing());
    }
    let history = chunk_rows(&h, "keep/moving").await;
    let (stale, _) = differences(&h, "keep", "moving").await;
    eprintln!("completed in {runs} runs; {} PRs changed after being stored: {changed:?}", changed.len());
    assert!(changed.len() >= 30, "changes were made during the backfill: {changed:?}");
    assert_eq!(stale.keys().copied().collect::<BTreeSet<_>>(), changed, "stored stale at completion: {stale:?}");
    let status = status_json(&h, "keep/moving").await;
    assert_eq!(current_as_of(&status), None, "no sweep yet at completion: {status}");

    let before = h.fake.requests().len();
    let (runs, _) = runs_until_current(&h, "keep/moving", 3, &["run"], &[]).await;
    let log = h.fake.requests()[before..].to_vec();
    eprintln!("current {runs} runs after completion, {} requests: {:?}", log.len(), operations(&log));
    // Still the first sweep: none has ended since the backfill completed.
    let status = status_json(&h, "keep/moving").await;
    assert_eq!(current_as_of(&status), None, "the first sweep refreshed them: {status}");
    let refreshed: BTreeSet<i32> =
        chunk_rows(&h, "keep/moving").await[history.len()..].iter().flat_map(|c| c.prs.clone()).collect();
    assert_eq!(refreshed, changed, "the first sweep's chunks hold the PRs changed during the backfill");
    assert_complete(&h, "keep", "moving").await;
    assert_current_consistent(&h, "keep/moving", &history, "after the first sweep").await;
    h.ok(&["run"]).await;
    let status = status_json(&h, "keep/moving").await;
    assert!(current_as_of(&status).is_some() && status["sweeping"] == false, "the first sweep ended: {status}");
}

/// A backfill that began three hours ago and completed now, ten of whose
/// PRs changed an hour ago and sixty just now; the first sweep's first page
/// (fifty PRs, most recently updated first) holds only recent ones, and
/// says there is no next page when `early_end`. Runs until the database
/// holds the fake's data.
async fn sweep_over_older_changes(pool: PgPool, early_end: bool) {
    const SWEPT: (&str, &str) = ("keep", "swept");
    let h = Harness::start(pool, &[spec("keep", "swept", 300)]).await;
    let history = complete(&h, "keep/swept").await;
    // As if the backfill had begun three hours ago: PRs changed an hour ago,
    // after they were stored, are after the first sweep's watermark.
    sqlx::query("UPDATE progressive_backfill_state SET created_at = now() - interval '3 hours'")
        .execute(&h.pool)
        .await
        .expect("backdate the backfill");
    let mut rng = Rng::new(seed("CHANGE_SEED"));
    // To the second, as GitHub's times are.
    let hour_ago = DateTime::from_timestamp(Utc::now().timestamp() - 3600, 0).expect("a time");
    let (older, recent) = h.fake.with_world(|w| {
        let retitle = Mix { merge: 0, close: 0, retitle: 10, review: 0, comment: 0, uncomment: 0, dismiss: 0 };
        let older = change(w, SWEPT, retitle, &mut rng, |_| true).retitled;
        let repo = w.repos.iter_mut().find(|r| r.name == "swept").expect("repository");
        for p in repo.pull_requests.iter_mut().filter(|p| older.contains(&p.number)) {
            p.updated_at = hour_ago;
        }
        let recent = change(w, SWEPT, Mix { retitle: 60, ..retitle }, &mut rng, |n| !older.contains(&n)).retitled;
        (older, recent)
    });
    let before = h.fake.requests().len();
    if early_end {
        h.fake.with_control(|c| c.faults.push_back(Fault::EarlyEnd));
    }
    h.ok(&["run"]).await;
    let log: Vec<_> = h.fake.requests()[before..].iter().map(|r| (r.operation.clone(), r.fault.clone())).collect();
    let watermark = h.state_field("keep/swept", "s.metadata->>'refresh_from'").await;
    let status = status_json(&h, "keep/swept").await;
    eprintln!("the first sweep's run: requests {log:?}; watermark now {watermark:?}; status {status}");
    if early_end {
        assert_eq!(struck(&h, before, &Fault::EarlyEnd), 1, "the sweep's first page said hasNextPage false");
    }
    let (stale, _) = differences(&h, "keep", "swept").await;
    eprintln!("stale after it: {:?}; older {older:?}, recent {recent:?}", stale.keys().collect::<Vec<_>>());
    let (runs, _) = runs_until_current(&h, "keep/swept", 6, &["run"], &[]).await;
    eprintln!("current {} runs after the first sweep's first page", runs + 1);
    assert_complete(&h, "keep", "swept").await;
    assert_current_consistent(&h, "keep/swept", &history, "after the sweeps").await;
}

#[sqlx::test(migrations = false)]
async fn a_sweep_goes_on_past_its_first_page_to_older_changes(pool: PgPool) {
    sweep_over_older_changes(pool, false).await;
}

#[sqlx::test(migrations = false)]
async fn a_page_ending_too_early_does_not_end_a_sweep_before_older_changes(pool: PgPool) {
    sweep_over_older_changes(pool, true).await;
}

#[sqlx::test(migrations = false)]
async fn a_backfill_added_with_no_refresh_is_left_as_stored_until_refresh_is_turned_back_on(pool: PgPool) {
    const FROZEN: (&str, &str) = ("keep", "frozen");
    let h = Harness::start(pool, &[spec("keep", "frozen", 300)]).await;
    let history = complete(&h, "keep/frozen").await;
    h.ok(&["add", "keep/frozen", "--no-refresh"]).await;
    let status = status_json(&h, "keep/frozen").await;
    assert_eq!((&status["status"], &status["no_refresh"]), (&"completed".into(), &true.into()), "{status}");
    let mut rng = Rng::new(seed("CHANGE_SEED"));
    let changes = h.fake.with_world(|w| change(w, FROZEN, TEN, &mut rng, |_| true));
    let (rows, writers, chunks) = rows_and_writers(&h, "keep/frozen").await;
    for run in 1..=3 {
        let before = h.fake.requests().len();
        h.ok(&["run"]).await;
        let log = h.fake.requests()[before..].to_vec();
        let ops = operations(&log);
        eprintln!("run {run} with --no-refresh: {ops:?}");
        let pages = ops.get("PullRequestPage").copied().unwrap_or(0);
        assert!(pages <= 1 && !ops.contains_key("PullRequestDetails"), "run {run} swept: {ops:?}");
        let (now, now_writers, now_chunks) = rows_and_writers(&h, "keep/frozen").await;
        assert_same("pull_requests", &rows.pull_requests, &now.pull_requests);
        assert_same("reviews", &rows.reviews, &now.reviews);
        assert_same("comments", &rows.comments, &now.comments);
        assert_eq!((now_writers == writers, now_chunks == chunks), (true, true), "run {run} wrote");
        let (stale, _) = differences(&h, "keep", "frozen").await;
        assert_eq!(stale.keys().copied().collect::<BTreeSet<_>>(), changes.existing(), "still as stored");
        assert_eq!(h.status_of("keep/frozen").await, "completed");
    }

    h.ok(&["add", "keep/frozen", "--refresh"]).await;
    let status = status_json(&h, "keep/frozen").await;
    assert_eq!(status["no_refresh"], false, "{status}");
    let (runs, _) = runs_until_current(&h, "keep/frozen", 3, &["run"], &[]).await;
    eprintln!("current {runs} runs after --refresh");
    assert_current_consistent(&h, "keep/frozen", &history, "after --refresh").await;
    assert_eq!(h.status_of("keep/frozen").await, "completed");
}

#[sqlx::test(migrations = false)]
async fn a_refreshed_pr_with_hundreds_of_reviews_and_comments_keeps_them_all(pool: PgPool) {
    const WIDE: (&str, &str) = ("keep", "wide");
    let h = Harness::start(pool, &[spec("keep", "wide", 300)]).await;
    let history = complete(&h, "keep/wide").await;
    // The PRs with the most reviews, issue comments and review comments.
    let (most_reviews, most_comments, most_review_comments) = h.fake.with_world(|w| {
        let prs = &w.repo("keep", "wide").expect("repository").pull_requests;
        let top = |f: &dyn Fn(&PullRequest) -> usize| prs.iter().max_by_key(|p| f(p)).map(|p| (p.number, f(p)));
        (
            top(&|p| p.reviews.len()).expect("a PR"),
            top(&|p| p.comments.len()).expect("a PR"),
            top(&|p| p.reviews.iter().map(|r| r.comments.len()).max().unwrap_or(0)).expect("a PR"),
        )
    });
    eprintln!(
        "most reviews {most_reviews:?}, issue comments {most_comments:?}, review comments {most_review_comments:?}"
    );
    assert!(most_reviews.1 >= 100 && most_comments.1 >= 100, "the repository has its extreme PRs");
    h.fake.with_world(|w| {
        let (o, n) = WIDE;
        must("review", most_reviews.0, w.add_review(o, n, most_reviews.0, 3));
        must("comment on", most_comments.0, w.add_issue_comment(o, n, most_comments.0));
        must("delete a comment of", most_comments.0, w.delete_issue_comment(o, n, most_comments.0, 7));
        let wide = most_review_comments.0;
        must("retitle", wide, w.retitle_pr(o, n, wide, "Retitled, with its long review"));
    });
    let (stale, _) = differences(&h, "keep", "wide").await;
    assert!(stale.contains_key(&most_reviews.0) && stale.contains_key(&most_comments.0), "{stale:?}");
    let (runs, _) = runs_until_current(&h, "keep/wide", 4, &["run"], &[]).await;
    eprintln!("current after {runs} runs");
    assert_complete(&h, "keep", "wide").await;
    assert_current_consistent(&h, "keep/wide", &history, "after the refresh").await;
}

/// A repository that gets a PR or two between scheduled runs, as any busy
/// one does: each plain run stores them, and must still get to the sweep.
#[sqlx::test(migrations = false)]
async fn new_prs_between_every_two_runs_do_not_keep_changed_prs_stale(pool: PgPool) {
    const BUSY: (&str, &str) = ("keep", "busy");
    const RUNS: usize = 8;
    let h = Harness::start(pool, &[spec("keep", "busy", 300)]).await;
    let history = complete(&h, "keep/busy").await;
    let mut rng = Rng::new(seed("CHANGE_SEED"));
    let changes = h.fake.with_world(|w| change(w, BUSY, TEN, &mut rng, |_| true));
    let mut stale_after = Vec::new();
    for _ in 0..RUNS {
        h.fake.with_world(|w| open_prs(w, BUSY, 1));
        h.ok(&["run"]).await;
        let (stale, _) = differences(&h, "keep", "busy").await;
        stale_after.push(stale.len());
    }
    let chunks = chunk_rows(&h, "keep/busy").await;
    eprintln!(
        "PRs stale after each run: {stale_after:?}; chunks after completion: {:?}",
        chunks[history.len()..].iter().map(|c| &c.prs).collect::<Vec<_>>()
    );
    let (stale, _) = differences(&h, "keep", "busy").await;
    let still: Vec<_> = changes.existing().into_iter().filter(|n| stale.contains_key(n)).collect();
    assert!(still.is_empty(), "after {RUNS} plain runs, PRs changed before the first are still stale: {still:?}");
    assert_current_consistent(&h, "keep/busy", &history, "after the runs").await;
}
