//! Keeping a completed backfill current (README, "What a run does"): the
//! scheduled run, with no flag, stores the PRs opened after the cursor and
//! refreshes whole the PRs changed since the last sweep, until the database
//! holds the fake's data as it is now, whatever kills, races and early page
//! ends come in between.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::current::{assert_current_consistent, chunk_rows, differences, is_current, ChunkRow};
use common::oracle::{assert_complete, assert_same, stored};
use common::{spec, text, Harness};
use fake_github::data::{PullRequest, Rng};
use fake_github::{Fault, RequestRecord, World};
use sqlx::PgPool;

/// A killed run's claim lapses after this; the runs after it wait less.
const LEASE: [(&str, &str); 1] = [("BACKFILL_LEASE", "2s")];

fn seed(var: &str) -> u64 {
    let seed = std::env::var(var).ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs())
    });
    eprintln!("seed {seed} ({var}={seed} replays it)");
    seed
}

/// How many existing PRs to change, by kind; each PR gets one change.
#[derive(Clone, Copy)]
struct Mix {
    merge: usize,
    close: usize,
    retitle: usize,
    review: usize,
    comment: usize,
    uncomment: usize,
    dismiss: usize,
}

/// Forty PRs changed every way the fake can change one.
const FORTY: Mix = Mix { merge: 6, close: 6, retitle: 8, review: 6, comment: 5, uncomment: 4, dismiss: 5 };

/// What was changed on the fake.
#[derive(Debug, Default)]
struct Changes {
    merged: Vec<i32>,
    closed: Vec<i32>,
    retitled: Vec<i32>,
    /// Reviews added, with review comments.
    reviewed: Vec<i32>,
    commented: Vec<i32>,
    /// (PR, the id of the issue comment deleted from it).
    uncommented: Vec<(i32, i64)>,
    /// (PR, the id of its review dismissed).
    dismissed: Vec<(i32, i64)>,
    opened: Vec<i32>,
}

impl Changes {
    fn existing(&self) -> BTreeSet<i32> {
        let plain = [&self.merged, &self.closed, &self.retitled, &self.reviewed, &self.commented];
        let with_ids = [&self.uncommented, &self.dismissed];
        plain.into_iter().flatten().copied().chain(with_ids.into_iter().flatten().map(|(n, _)| *n)).collect()
    }

    fn all(&self) -> BTreeSet<i32> {
        let mut all = self.existing();
        all.extend(&self.opened);
        all
    }
}

fn pr<'w>(w: &'w World, (owner, name): (&str, &str), number: i32) -> &'w PullRequest {
    let repo = w.repo(owner, name).expect("repository in the fake");
    repo.pull_requests.iter().find(|p| p.number == number).expect("PR in the fake")
}

/// The first PR of `order` not yet `used` that `fits`.
fn pick(
    w: &World,
    repo: (&str, &str),
    order: &[i32],
    used: &mut BTreeSet<i32>,
    what: &str,
    fits: impl Fn(&PullRequest) -> bool,
) -> i32 {
    let found = order.iter().copied().find(|n| !used.contains(n) && fits(pr(w, repo, *n)));
    let n = found.unwrap_or_else(|| panic!("no PR left to {what}"));
    used.insert(n);
    n
}

fn must<T>(what: &str, n: i32, done: Result<T, fake_github::ChangeError>) -> T {
    done.unwrap_or_else(|e| panic!("{what} PR #{n}: {e}"))
}

/// Changes `mix` PRs of `repo` among those `eligible`, picked at random.
fn change(w: &mut World, repo: (&str, &str), mix: Mix, rng: &mut Rng, eligible: impl Fn(i32) -> bool) -> Changes {
    let (owner, name) = repo;
    let mut order: Vec<i32> = w.repo(owner, name).expect("repository").pull_requests.iter().map(|p| p.number).collect();
    order.retain(|n| eligible(*n));
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut used = BTreeSet::new();
    let mut out = Changes::default();
    let ready = |p: &PullRequest| p.state == "OPEN" && !p.draft;
    for _ in 0..mix.merge {
        let n = pick(w, repo, &order, &mut used, "merge", ready);
        must("merge", n, w.merge_pr(owner, name, n));
        out.merged.push(n);
    }
    for _ in 0..mix.close {
        let n = pick(w, repo, &order, &mut used, "close", ready);
        must("close", n, w.close_pr(owner, name, n));
        out.closed.push(n);
    }
    for _ in 0..mix.retitle {
        let n = pick(w, repo, &order, &mut used, "retitle", |_| true);
        must("retitle", n, w.retitle_pr(owner, name, n, &format!("Retitled #{n} after the backfill")));
        out.retitled.push(n);
    }
    for _ in 0..mix.review {
        let n = pick(w, repo, &order, &mut used, "review", |_| true);
        must("review", n, w.add_review(owner, name, n, 1 + rng.below(3) as usize));
        out.reviewed.push(n);
    }
    for _ in 0..mix.comment {
        let n = pick(w, repo, &order, &mut used, "comment on", |_| true);
        must("comment on", n, w.add_issue_comment(owner, name, n));
        out.commented.push(n);
    }
    for _ in 0..mix.uncomment {
        let n = pick(w, repo, &order, &mut used, "delete a comment of", |p| !p.comments.is_empty());
        let comments = &pr(w, repo, n).comments;
        let index = rng.below(comments.len() as u64) as usize;
        let id = comments[index].full_id;
        must("delete a comment of", n, w.delete_issue_comment(owner, name, n, index));
        out.uncommented.push((n, id));
    }
    let dismissable = |state: &str| matches!(state, "APPROVED" | "CHANGES_REQUESTED");
    for _ in 0..mix.dismiss {
        let n =
            pick(w, repo, &order, &mut used, "dismiss a review of", |p| p.reviews.iter().any(|r| dismissable(r.state)));
        let reviews = &pr(w, repo, n).reviews;
        let index = reviews.iter().position(|r| dismissable(r.state)).expect("a dismissable review");
        let id = reviews[index].full_id;
        must("dismiss a review of", n, w.dismiss_review(owner, name, n, index));
        out.dismissed.push((n, id));
    }
    out
}

fn open_prs(w: &mut World, (owner, name): (&str, &str), count: usize) -> Vec<i32> {
    (0..count).map(|_| w.open_pr(owner, name).unwrap_or_else(|e| panic!("open a PR: {e}"))).collect()
}

/// Adds OWNER/NAME and backfills it to completed with plain runs; returns
/// its chunks then.
async fn complete(h: &Harness, full_name: &str) -> Vec<ChunkRow> {
    let (owner, name) = full_name.split_once('/').expect("OWNER/NAME");
    h.add(full_name).await;
    let runs = h.run_until_completed(full_name, 100).await;
    assert_complete(h, owner, name).await;
    let chunks = chunk_rows(h, full_name).await;
    eprintln!("{full_name}: completed in {runs} runs, {} chunks", chunks.len());
    chunks
}

/// A few of the differences, for a failure message.
async fn stale_summary(h: &Harness, owner: &str, name: &str) -> String {
    let (prs, people) = differences(h, owner, name).await;
    let some: Vec<_> = prs.iter().take(10).collect();
    format!("{} PRs differ, e.g. {some:?}; contributors missing: {:?}", prs.len(), &people[..people.len().min(5)])
}

/// Runs `args` until the database holds the fake's current data for
/// FULL_NAME, at most `max_runs`; each must exit 0. Returns the runs it took
/// and the backfill's status after each.
async fn runs_until_current(
    h: &Harness,
    full_name: &str,
    max_runs: usize,
    args: &[&str],
    env: &[(&str, &str)],
) -> (usize, Vec<String>) {
    let (owner, name) = full_name.split_once('/').expect("OWNER/NAME");
    let mut statuses = Vec::new();
    for runs in 0..=max_runs {
        if is_current(h, owner, name).await {
            return (runs, statuses);
        }
        assert!(runs < max_runs, "not current after {max_runs} runs: {}", stale_summary(h, owner, name).await);
        let out = h.backfill_with(args, env).await;
        assert_eq!(out.status.code(), Some(0), "run {} failed:\n{}", runs + 1, text(&out));
        statuses.push(h.status_of(full_name).await);
    }
    unreachable!()
}

/// FULL_NAME's object in `status --json`.
async fn status_json(h: &Harness, full_name: &str) -> serde_json::Value {
    let out = h.ok(&["status", "--json"]).await;
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    let rows = rows.as_array().expect("an array").clone();
    rows.into_iter().find(|r| r["repository"] == full_name).expect("the backfill in status --json")
}

fn current_as_of(status: &serde_json::Value) -> Option<DateTime<Utc>> {
    let at = status["current_as_of"].as_str()?;
    Some(DateTime::parse_from_rfc3339(at).expect("current_as_of is a time").with_timezone(&Utc))
}

/// Requests by operation.
fn operations(log: &[RequestRecord]) -> BTreeMap<String, usize> {
    let mut ops = BTreeMap::new();
    for r in log {
        *ops.entry(r.operation.clone().unwrap_or_else(|| "-".into())).or_insert(0) += 1;
    }
    ops
}

async fn count(h: &Harness, sql: &str, ids: &[i64]) -> i64 {
    sqlx::query_scalar(sql).bind(ids).fetch_one(&h.pool).await.expect("count")
}

const REPO: (&str, &str) = ("keep", "current");

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
const TEN: Mix = Mix { merge: 1, close: 1, retitle: 2, review: 2, comment: 1, uncomment: 2, dismiss: 1 };

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

/// Whether a sweep is under way (its cursor stored).
async fn sweeping(h: &Harness, full_name: &str) -> bool {
    h.state_field(full_name, "s.metadata ? 'sweep_cursor'").await.as_deref() == Some("true")
}

#[sqlx::test(migrations = false)]
async fn runs_killed_during_a_refresh_lose_nothing_and_store_nothing_twice(pool: PgPool) {
    const KILLED: (&str, &str) = ("keep", "killed");
    const KILLS: usize = 10;
    let started = Instant::now();
    let h = Harness::start(pool, &[spec("keep", "killed", 600)]).await;
    let history = complete(&h, "keep/killed").await;
    let seed = seed("CRASH_SEED");
    let mut rng = Rng::new(seed);
    h.fake.with_world(|w| {
        change(w, KILLED, FORTY, &mut rng, |_| true);
        open_prs(w, KILLED, 30);
    });
    // Requests that take a moment, and pages of ten: a refresh is some
    // twenty chunks, so that kills land between and inside them.
    h.fake.with_control(|c| c.latency = Duration::from_millis(25));
    let args = ["run", "--time-budget", "1m", "--chunk-size", "10"];
    let (mut kills, mut finished, mut mid_sweep, mut more_changed) = (0, Vec::new(), 0, false);
    while kills < KILLS {
        // Until a killed run's lease lapses, a run would only skip the backfill.
        h.wait_until("the last killed run's claim lapses", Duration::from_secs(10), || async {
            let live: i64 = sqlx::query_scalar("SELECT count(*) FROM backfill_claims WHERE expires_at > now()")
                .fetch_one(&h.pool)
                .await
                .expect("claims");
            live == 0
        })
        .await;
        let mut child = h.spawn(&args, &LEASE);
        let began = Instant::now();
        let moment = Duration::from_millis(10 + rng.below(1_000));
        tokio::select! {
            _ = tokio::time::sleep(moment) => {
                child.start_kill().expect("SIGKILL sent");
                child.wait().await.expect("killed child reaped");
                kills += 1;
            }
            status = child.wait() => {
                assert_eq!(status.expect("child ran").code(), Some(0), "an unkilled run failed (seed {seed})");
                finished.push(began.elapsed());
                assert!(finished.len() < 20, "runs end before the kills land (seed {seed}): {finished:?}");
            }
        }
        mid_sweep += usize::from(sweeping(&h, "keep/killed").await);
        let context = format!("after kill {kills} at {moment:?} (seed {seed})");
        assert_current_consistent(&h, "keep/killed", &history, &context).await;
        if kills == KILLS / 2 && !more_changed {
            more_changed = true;
            // More changes while the refreshes are being killed.
            h.fake.with_world(|w| {
                change(w, KILLED, TEN, &mut rng, |_| true);
                open_prs(w, KILLED, 5);
            });
        }
    }
    eprintln!("{kills} kills ({mid_sweep} left a sweep under way); runs that ended by themselves took {finished:?}");
    assert!(mid_sweep >= 1, "some kill landed in the middle of a sweep (seed {seed})");

    // A killed run's claim lapses after the lease; until then runs skip the backfill.
    h.fake.with_control(|c| c.latency = Duration::ZERO);
    h.wait_until("plain runs bring the data up to the fake's", Duration::from_secs(45), || async {
        let out = h.backfill_with(&["run"], &LEASE).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        is_current(&h, "keep", "killed").await
    })
    .await;
    assert_complete(&h, "keep", "killed").await;
    let chunks = assert_current_consistent(&h, "keep/killed", &history, &format!("at the end (seed {seed})")).await;
    assert_eq!(h.processed_prs("keep/killed").await, 635, "every PR, new ones included, stored once");
    assert_eq!(h.status_of("keep/killed").await, "completed");
    eprintln!("{} chunks after completion; {:?}", chunks.len() - history.len(), started.elapsed());
}

#[sqlx::test(migrations = false)]
async fn two_runners_refreshing_at_once_store_each_sweep_page_once(pool: PgPool) {
    const RACED: (&str, &str) = ("keep", "raced");
    const ROUNDS: usize = 5;
    let h = Harness::start(pool, &[spec("keep", "raced", 600)]).await;
    let history = complete(&h, "keep/raced").await;
    let mut rng = Rng::new(seed("CHANGE_SEED"));
    h.fake.with_control(|c| c.latency = Duration::from_millis(10));
    let args = ["run", "--time-budget", "1m"];
    // Every PR changed or opened so far: within the ten minutes' margin,
    // each sweep refreshes them all again.
    let (mut changed, mut both_stored) = (BTreeSet::new(), 0);
    for round in 1..=ROUNDS {
        let mix = if round == 1 { FORTY } else { TEN };
        let changes = h.fake.with_world(|w| {
            let mut c = change(w, RACED, mix, &mut rng, |_| true);
            c.opened = open_prs(w, RACED, if round == 1 { 30 } else { 5 });
            c
        });
        changed.extend(changes.all());
        let before = chunk_rows(&h, "keep/raced").await.len();
        let (a, b) = (h.spawn(&args, &LEASE), h.spawn(&args, &LEASE));
        let both = async { tokio::join!(a.wait_with_output(), b.wait_with_output()) };
        let (a, b) =
            tokio::time::timeout(Duration::from_secs(60), both).await.expect("both runners end within a minute");
        let mut stored_by = Vec::new();
        for (who, out) in [("a", a), ("b", b)] {
            let out = out.expect("runner ran");
            assert_eq!(out.status.code(), Some(0), "round {round}: runner {who} failed:\n{}", text(&out));
            let last = String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("").to_string();
            stored_by.push(!last.contains(" 0 chunks"));
            eprintln!("round {round}, runner {who}: {last}");
        }
        both_stored += usize::from(stored_by == [true, true]);
        let context = format!("round {round}");
        let current = is_current(&h, "keep", "raced").await;
        assert!(current, "{context}: after both runners: {}", stale_summary(&h, "keep", "raced").await);
        let chunks = assert_current_consistent(&h, "keep/raced", &history, &context).await;
        let status = status_json(&h, "keep/raced").await;
        assert_eq!(status["sweeping"], false, "{context}: no sweep left half done: {status}");

        // The world did not change while they ran, so every sweep met the
        // same PRs, each once, and the new ones were also stored by the look
        // for new PRs: a sweep page stored by both runners would count its
        // PRs once more than the others.
        let mut times: BTreeMap<i32, usize> = BTreeMap::new();
        for c in &chunks[before..] {
            for n in &c.prs {
                *times.entry(*n).or_default() += 1;
            }
        }
        assert_eq!(times.keys().copied().collect::<BTreeSet<_>>(), changed, "{context}: the PRs its chunks hold");
        let sweeps = times[changes.existing().first().expect("a changed PR")];
        let want = |n: &i32| sweeps + usize::from(changes.opened.contains(n));
        let odd: Vec<_> = times.iter().filter(|(n, t)| **t != want(n)).collect();
        eprintln!("round {round}: {} chunks, {sweeps} sweeps", chunks.len() - before);
        assert!(odd.is_empty(), "{context}: PRs stored other than once a sweep ({sweeps}): {odd:?}");
    }
    eprintln!("in {both_stored} of {ROUNDS} rounds both runners stored chunks");
}

/// Sends `signal` (STOP, CONT) to a process this test started.
fn signal(child: &tokio::process::Child, signal: &str) {
    let pid = child.id().expect("the runner is running").to_string();
    let status = std::process::Command::new("kill").args([&format!("-{signal}"), &pid]).status();
    assert!(status.is_ok_and(|s| s.success()), "kill -{signal} {pid}");
}

/// The holder of the live claim, if any ("pid N on HOST").
async fn claim_holder(h: &Harness) -> Option<String> {
    sqlx::query_scalar("SELECT holder_name FROM backfill_claims WHERE expires_at > now()")
        .fetch_optional(&h.pool)
        .await
        .expect("claims")
        .flatten()
}

/// Whether another session of this database is in a statement or a transaction.
async fn busy(h: &Harness) -> bool {
    let busy: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid() AND state <> 'idle'",
    )
    .fetch_one(&h.pool)
    .await
    .expect("pg_stat_activity");
    busy > 0
}

#[sqlx::test(migrations = false)]
async fn a_runner_stalled_past_its_lease_mid_refresh_stores_nothing_the_other_stored(pool: PgPool) {
    const STALLED: (&str, &str) = ("keep", "stalled");
    let h = Harness::start(pool, &[spec("keep", "stalled", 600)]).await;
    let history = complete(&h, "keep/stalled").await;
    let mut rng = Rng::new(seed("CHANGE_SEED"));
    let changes = h.fake.with_world(|w| {
        let mut c = change(w, STALLED, FORTY, &mut rng, |_| true);
        c.opened = open_prs(w, STALLED, 30);
        c
    });
    // Slow requests and pages of ten: the refresh is a dozen chunks.
    h.fake.with_control(|c| c.latency = Duration::from_millis(60));
    let args = ["run", "--time-budget", "1m", "--chunk-size", "10"];
    let a = h.spawn(&args, &LEASE);
    h.wait_until("runner a is in the middle of the sweep", Duration::from_secs(30), || async {
        sweeping(&h, "keep/stalled").await
    })
    .await;
    // Stopped outside a transaction: one held open would keep b waiting on its locks.
    for attempt in 0.. {
        signal(&a, "STOP");
        if !(busy(&h).await || busy(&h).await) {
            break;
        }
        assert!(attempt < 50, "runner a is always in a transaction");
        signal(&a, "CONT");
        h.wait_until("runner a's transaction ends", Duration::from_secs(5), || async { !busy(&h).await }).await;
    }
    let at_stop = chunk_rows(&h, "keep/stalled").await.len();
    h.wait_until("runner a's claim lapses", Duration::from_secs(10), || async { claim_holder(&h).await.is_none() })
        .await;
    let b = h.spawn(&args, &LEASE);
    let b_pid = format!("pid {} ", b.id().expect("runner b runs"));
    h.wait_until("runner b takes the backfill over", Duration::from_secs(10), || async {
        claim_holder(&h).await.is_some_and(|holder| holder.starts_with(&b_pid))
            || chunk_rows(&h, "keep/stalled").await.len() > at_stop
    })
    .await;
    // Runner a wakes while b refreshes: what it fetched must not be stored
    // over b's chunks.
    signal(&a, "CONT");
    let both = async { tokio::join!(a.wait_with_output(), b.wait_with_output()) };
    let (a, b) = tokio::time::timeout(Duration::from_secs(60), both).await.expect("both runners end within a minute");
    for (who, out) in [("a", a), ("b", b)] {
        let out = out.expect("runner ran");
        assert_eq!(out.status.code(), Some(0), "runner {who} failed:\n{}", text(&out));
        let said: Vec<_> = String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.contains("not stored") || l.contains("run finished"))
            .map(str::to_string)
            .collect();
        eprintln!("runner {who}: {said:?}");
    }
    h.fake.with_control(|c| c.latency = Duration::ZERO);
    let mut runs = 0;
    while !is_current(&h, "keep", "stalled").await || sweeping(&h, "keep/stalled").await {
        assert!(runs < 4, "not current, or a sweep left, after {runs} more runs");
        h.ok(&["run"]).await;
        runs += 1;
    }
    assert_complete(&h, "keep", "stalled").await;
    let chunks = assert_current_consistent(&h, "keep/stalled", &history, "after the stall").await;
    // Nothing changed on the fake since: each sweep met each changed PR once.
    let mut times: BTreeMap<i32, usize> = BTreeMap::new();
    for c in &chunks[history.len()..] {
        for n in &c.prs {
            *times.entry(*n).or_default() += 1;
        }
    }
    assert_eq!(times.keys().copied().collect::<BTreeSet<_>>(), changes.all());
    let sweeps = times[changes.existing().first().expect("a changed PR")];
    let odd: Vec<_> = times.iter().filter(|(n, t)| **t != sweeps + usize::from(changes.opened.contains(n))).collect();
    eprintln!(
        "{} chunks after completion ({} when a stopped), {sweeps} sweeps, {runs} more runs",
        chunks.len() - history.len(),
        at_stop - history.len()
    );
    assert!(odd.is_empty(), "PRs stored other than once a sweep ({sweeps}): {odd:?}");
}

/// Requests the fake answered with `fault`.
fn struck(h: &Harness, from: usize, fault: &Fault) -> usize {
    h.fake.requests()[from..].iter().filter(|r| r.fault.as_ref() == Some(fault)).count()
}

#[sqlx::test(migrations = false)]
async fn a_page_ending_too_early_does_not_complete_a_backfill_with_prs_missing(pool: PgPool) {
    let h = Harness::start(pool, &[spec("keep", "early", 500)]).await;
    h.add("keep/early").await;
    h.ok(&["run"]).await;
    let mut early_ends = 0;
    let mut runs = 1;
    let mut seen = Vec::new();
    while h.status_of("keep/early").await != "completed" {
        assert!(runs < 40, "not completed after {runs} runs: {seen:?}");
        let processed = h.processed_prs("keep/early").await;
        // Before the second chunk, and before the last two.
        let cut = runs == 1 || (processed >= 400 && early_ends < 2);
        let before = h.fake.requests().len();
        if cut {
            h.fake.with_control(|c| c.faults.push_back(Fault::EarlyEnd));
        }
        h.ok(&["run"]).await;
        runs += 1;
        let (status, processed) = (h.status_of("keep/early").await, h.processed_prs("keep/early").await);
        seen.push((status.clone(), processed));
        if cut {
            assert_eq!(struck(&h, before, &Fault::EarlyEnd), 1, "the page said hasNextPage false too early");
            early_ends += 1;
            assert!(processed < 500, "the early end came with PRs left: {processed}");
        }
        assert!(status != "completed" || processed == 500, "completed with {processed} of 500 PRs stored");
    }
    eprintln!("{runs} runs, {early_ends} pages ended early; (status, processed_prs) after each: {seen:?}");
    assert_eq!(early_ends, 2);
    assert_eq!(h.processed_prs("keep/early").await, 500);
    assert_eq!(h.state_field("keep/early", "s.total_prs").await.as_deref(), Some("500"));
    assert_complete(&h, "keep", "early").await;
    common::consistency::assert_consistent(&h, "keep/early", "after early ends").await;
    common::consistency::assert_chunks_in_order(&h, "keep/early", "after early ends").await;
    let history = chunk_rows(&h, "keep/early").await;

    // New PRs of the completed backfill, the first page of them ending early.
    h.fake.with_world(|w| open_prs(w, ("keep", "early"), 25));
    let before = h.fake.requests().len();
    h.fake.with_control(|c| c.faults.push_back(Fault::EarlyEnd));
    h.ok(&["run", "--chunk-size", "10"]).await;
    assert_eq!(struck(&h, before, &Fault::EarlyEnd), 1, "the page of new PRs said hasNextPage false too early");
    let (status, processed) = (h.status_of("keep/early").await, h.processed_prs("keep/early").await);
    assert!(status != "completed" || processed == 525, "{status} with {processed} of 525 PRs stored");
    runs_until_current(&h, "keep/early", 6, &["run", "--chunk-size", "10"], &[]).await;
    assert_eq!(h.processed_prs("keep/early").await, 525);
    assert_eq!(h.status_of("keep/early").await, "completed");
    assert_current_consistent(&h, "keep/early", &history, "after the new PRs").await;
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
