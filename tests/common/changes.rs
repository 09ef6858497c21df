//! Changes made to the fake's repository while tests keep a backfill
//! current, and the runs that catch up with them: shared by
//! `keep_current.rs` and `keep_current_races.rs`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use fake_github::data::{PullRequest, Rng};
use fake_github::{Fault, RequestRecord, World};

use super::current::{chunk_rows, differences, is_current, ChunkRow};
use super::oracle::assert_complete;
use super::{text, Harness};
/// A killed run's claim lapses after this; the runs after it wait less.
pub const LEASE: [(&str, &str); 1] = [("BACKFILL_LEASE", "2s")];

pub fn seed(var: &str) -> u64 {
    let seed = std::env::var(var).ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs())
    });
    eprintln!("seed {seed} ({var}={seed} replays it)");
    seed
}

/// How many existing PRs to change, by kind; each PR gets one change.
#[derive(Clone, Copy)]
pub struct Mix {
    pub merge: usize,
    pub close: usize,
    pub retitle: usize,
    pub review: usize,
    pub comment: usize,
    pub uncomment: usize,
    pub dismiss: usize,
}

/// Forty PRs changed every way the fake can change one.
pub const FORTY: Mix = Mix { merge: 6, close: 6, retitle: 8, review: 6, comment: 5, uncomment: 4, dismiss: 5 };

/// What was changed on the fake.
#[derive(Debug, Default)]
pub struct Changes {
    pub merged: Vec<i32>,
    pub closed: Vec<i32>,
    pub retitled: Vec<i32>,
    /// Reviews added, with review comments.
    pub reviewed: Vec<i32>,
    pub commented: Vec<i32>,
    /// (PR, the id of the issue comment deleted from it).
    pub uncommented: Vec<(i32, i64)>,
    /// (PR, the id of its review dismissed).
    pub dismissed: Vec<(i32, i64)>,
    pub opened: Vec<i32>,
}

impl Changes {
    pub fn existing(&self) -> BTreeSet<i32> {
        let plain = [&self.merged, &self.closed, &self.retitled, &self.reviewed, &self.commented];
        let with_ids = [&self.uncommented, &self.dismissed];
        plain.into_iter().flatten().copied().chain(with_ids.into_iter().flatten().map(|(n, _)| *n)).collect()
    }

    pub fn all(&self) -> BTreeSet<i32> {
        let mut all = self.existing();
        all.extend(&self.opened);
        all
    }
}

pub fn pr<'w>(w: &'w World, (owner, name): (&str, &str), number: i32) -> &'w PullRequest {
    let repo = w.repo(owner, name).expect("repository in the fake");
    repo.pull_requests.iter().find(|p| p.number == number).expect("PR in the fake")
}

/// The first PR of `order` not yet `used` that `fits`.
pub fn pick(
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

pub fn must<T>(what: &str, n: i32, done: Result<T, fake_github::ChangeError>) -> T {
    done.unwrap_or_else(|e| panic!("{what} PR #{n}: {e}"))
}

/// Changes `mix` PRs of `repo` among those `eligible`, picked at random.
pub fn change(w: &mut World, repo: (&str, &str), mix: Mix, rng: &mut Rng, eligible: impl Fn(i32) -> bool) -> Changes {
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

pub fn open_prs(w: &mut World, (owner, name): (&str, &str), count: usize) -> Vec<i32> {
    (0..count).map(|_| w.open_pr(owner, name).unwrap_or_else(|e| panic!("open a PR: {e}"))).collect()
}

/// Adds OWNER/NAME and backfills it to completed with plain runs; returns
/// its chunks then.
pub async fn complete(h: &Harness, full_name: &str) -> Vec<ChunkRow> {
    let (owner, name) = full_name.split_once('/').expect("OWNER/NAME");
    h.add(full_name).await;
    let runs = h.run_until_completed(full_name, 100).await;
    assert_complete(h, owner, name).await;
    let chunks = chunk_rows(h, full_name).await;
    eprintln!("{full_name}: completed in {runs} runs, {} chunks", chunks.len());
    chunks
}

/// A few of the differences, for a failure message.
pub async fn stale_summary(h: &Harness, owner: &str, name: &str) -> String {
    let (prs, people) = differences(h, owner, name).await;
    let some: Vec<_> = prs.iter().take(10).collect();
    format!("{} PRs differ, e.g. {some:?}; contributors missing: {:?}", prs.len(), &people[..people.len().min(5)])
}

/// Runs `args` until the database holds the fake's current data for
/// FULL_NAME, at most `max_runs`; each must exit 0. Returns the runs it took
/// and the backfill's status after each.
pub async fn runs_until_current(
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
pub async fn status_json(h: &Harness, full_name: &str) -> serde_json::Value {
    let out = h.ok(&["status", "--json"]).await;
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    let rows = rows.as_array().expect("an array").clone();
    rows.into_iter().find(|r| r["repository"] == full_name).expect("the backfill in status --json")
}

pub fn current_as_of(status: &serde_json::Value) -> Option<DateTime<Utc>> {
    let at = status["current_as_of"].as_str()?;
    Some(DateTime::parse_from_rfc3339(at).expect("current_as_of is a time").with_timezone(&Utc))
}

/// Requests by operation.
pub fn operations(log: &[RequestRecord]) -> BTreeMap<String, usize> {
    let mut ops = BTreeMap::new();
    for r in log {
        *ops.entry(r.operation.clone().unwrap_or_else(|| "-".into())).or_insert(0) += 1;
    }
    ops
}

pub async fn count(h: &Harness, sql: &str, ids: &[i64]) -> i64 {
    sqlx::query_scalar(sql).bind(ids).fetch_one(&h.pool).await.expect("count")
}

pub const REPO: (&str, &str) = ("keep", "current");

/// Requests the fake answered with `fault`.
pub fn struck(h: &Harness, from: usize, fault: &Fault) -> usize {
    h.fake.requests()[from..].iter().filter(|r| r.fault.as_ref() == Some(fault)).count()
}

/// Ten PRs changed every way.
pub const TEN: Mix = Mix { merge: 1, close: 1, retitle: 2, review: 2, comment: 1, uncomment: 2, dismiss: 1 };
