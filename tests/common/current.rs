//! A completed backfill kept current: how far the database is from the
//! fake's data as it is now, PR by PR, and what must hold of the chunks
//! however sweeps, kills and races went.
//!
//! `oracle::assert_complete` already compares with the fake's current world
//! (it reads the world when called), table by table and both ways, so a
//! stale PR, a missing new review, a deleted comment still stored and a PR
//! still open all fail it. `consistency::assert_consistent` does not fit a
//! refreshed backfill: a sweep's chunk holds PRs stored before, so "each PR
//! in one chunk" and "each chunk's rows carry its xmin" no longer hold.
//! `assert_current_consistent` is its counterpart for sweeps.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use fake_github::encode_cursor;

use super::oracle::{expected, stored, Rows};
use super::Harness;

/// What differs for each PR whose stored rows are not the fake's now:
/// "pr" (its own row), "reviews", "comments". Empty when the PRs, reviews
/// and comments of OWNER/NAME are exactly the fake's.
pub type Differences = BTreeMap<i32, BTreeSet<&'static str>>;

/// The PR a row belongs to: PR rows start with the PR's id, review and
/// comment rows give it second.
fn pr_of(row: &str, field: usize) -> Option<i64> {
    row.split('|').nth(field).and_then(|f| f.parse().ok())
}

fn note(out: &mut Differences, numbers: &HashMap<i64, i32>, what: &'static str, field: usize, want: &Rows, got: &Rows) {
    for row in want.symmetric_difference(got) {
        let number = pr_of(row, field).and_then(|id| numbers.get(&id).copied()).unwrap_or(-1);
        out.entry(number).or_default().insert(what);
    }
}

/// The PRs of OWNER/NAME whose stored rows differ from the fake's current
/// data (a PR stored that the fake lacks counts as -1), and contributors the
/// fake's data names that are not stored.
pub async fn differences(h: &Harness, owner: &str, name: &str) -> (Differences, Vec<String>) {
    let (want, numbers) = h.fake.with_world(|w| {
        let repo = w.repo(owner, name).expect("repository in the fake");
        let numbers: HashMap<i64, i32> = repo.pull_requests.iter().map(|p| (p.full_id, p.number)).collect();
        (expected(w, repo), numbers)
    });
    let got = stored(&h.pool, &format!("{owner}/{name}")).await;
    let mut out = Differences::new();
    note(&mut out, &numbers, "pr", 0, &want.pull_requests, &got.pull_requests);
    note(&mut out, &numbers, "reviews", 1, &want.reviews, &got.reviews);
    note(&mut out, &numbers, "comments", 1, &want.comments, &got.comments);
    let people = want.contributors.difference(&got.contributors).cloned().collect();
    (out, people)
}

/// Whether the database holds exactly the fake's current data for OWNER/NAME.
pub async fn is_current(h: &Harness, owner: &str, name: &str) -> bool {
    let (prs, people) = differences(h, owner, name).await;
    prs.is_empty() && people.is_empty()
}

/// One `backfill_chunks` row: its number, status and PR numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRow {
    pub number: i32,
    pub status: String,
    pub prs: Vec<i32>,
}

pub async fn chunk_rows(h: &Harness, full_name: &str) -> Vec<ChunkRow> {
    let rows: Vec<(i32, String, Vec<i32>)> = sqlx::query_as(
        "SELECT c.chunk_number, c.status::text, coalesce(c.pr_numbers, '{}') FROM backfill_chunks c \
         JOIN repositories r ON r.id = c.repository_id WHERE r.full_name = $1 ORDER BY c.chunk_number",
    )
    .bind(full_name)
    .fetch_all(&h.pool)
    .await
    .expect("chunks");
    rows.into_iter().map(|(number, status, prs)| ChunkRow { number, status, prs }).collect()
}

/// What must hold of a completed backfill kept current, whatever runs,
/// kills and races came before: `history`, the chunks of the backfill up
/// to its completion, is unchanged; the stored PRs are the fake's first N
/// in creation order, each once, with `processed_prs` N and the cursor
/// after PR N; the chunk rows are numbered 1..n without gaps, all
/// completed, each holding distinct stored PRs, and every stored PR is in
/// one; and each chunk was one transaction, committed in number order, that
/// wrote its PRs whole: every PR row, and every review and comment of it,
/// was last written by the transaction of the latest chunk that holds the
/// PR (a PR rewritten outside a chunk, or by a chunk stored out of order,
/// or half of one, fails this). Returns the chunks.
pub async fn assert_current_consistent(
    h: &Harness,
    full_name: &str,
    history: &[ChunkRow],
    context: &str,
) -> Vec<ChunkRow> {
    let (owner, name) = full_name.split_once('/').expect("OWNER/NAME");
    let (processed, cursor, last_number) = super::consistency::cursor_state(h, full_name).await;
    let n = processed as usize;
    let want_numbers: Vec<i32> = h.fake.with_world(|w| {
        let repo = w.repo(owner, name).expect("repository in the fake");
        repo.pull_requests.iter().take(n).map(|p| p.number).collect()
    });
    type PrXmins = (i32, i64, Vec<i64>);
    let prs: Vec<PrXmins> = sqlx::query_as(
        "SELECT p.number, p.xmin::text::bigint, \
           array(SELECT DISTINCT v.xmin::text::bigint FROM reviews v WHERE v.pull_request_id = p.id \
                 UNION SELECT DISTINCT m.xmin::text::bigint FROM comments m WHERE m.pull_request_id = p.id) \
         FROM pull_requests p JOIN repositories r ON r.id = p.repository_id WHERE r.full_name = $1 \
         ORDER BY p.number",
    )
    .bind(full_name)
    .fetch_all(&h.pool)
    .await
    .expect("stored PRs and their rows' xmin");
    let stored: Vec<i32> = prs.iter().map(|p| p.0).collect();
    assert_eq!(stored.len(), n, "{context}: processed_prs of {full_name} is not the PRs stored");
    assert_eq!(stored, want_numbers, "{context}: stored PRs are not the first {n} of {full_name}, each once");
    assert_eq!(cursor, n.checked_sub(1).map(encode_cursor), "{context}: the cursor of {full_name} is after PR {n}");
    assert_eq!(last_number, want_numbers.last().copied(), "{context}: last_processed_pr_number");

    let chunks = chunk_rows(h, full_name).await;
    let numbers: Vec<i32> = chunks.iter().map(|c| c.number).collect();
    assert_eq!(numbers, (1..=chunks.len() as i32).collect::<Vec<_>>(), "{context}: chunk numbers of {full_name}");
    assert!(chunks.len() >= history.len(), "{context}: chunks of the backfill were lost");
    assert_eq!(&chunks[..history.len()], history, "{context}: the backfill's own chunks changed");
    let failed: Vec<_> = chunks.iter().filter(|c| c.status != "completed").collect();
    assert!(failed.is_empty(), "{context}: only completed chunks: {failed:?}");
    let stored_set: BTreeSet<i32> = stored.iter().copied().collect();
    let mut latest: HashMap<i32, i32> = HashMap::new();
    for c in &chunks {
        let distinct: BTreeSet<i32> = c.prs.iter().copied().collect();
        assert!(!c.prs.is_empty(), "{context}: chunk {} holds no PR", c.number);
        assert_eq!(distinct.len(), c.prs.len(), "{context}: chunk {} holds a PR twice: {:?}", c.number, c.prs);
        let strays: Vec<_> = distinct.difference(&stored_set).collect();
        assert!(strays.is_empty(), "{context}: chunk {} holds PRs not stored: {strays:?}", c.number);
        for pr in &c.prs {
            latest.insert(*pr, c.number);
        }
    }
    let outside: Vec<_> = stored.iter().filter(|p| !latest.contains_key(p)).take(10).collect();
    assert!(outside.is_empty(), "{context}: PRs stored in no chunk: {outside:?}");

    let row_xmins: Vec<(i32, i64)> = sqlx::query_as(
        "SELECT c.chunk_number, c.xmin::text::bigint FROM backfill_chunks c \
         JOIN repositories r ON r.id = c.repository_id WHERE r.full_name = $1 ORDER BY c.chunk_number",
    )
    .bind(full_name)
    .fetch_all(&h.pool)
    .await
    .expect("chunk rows' xmin");
    for w in row_xmins.windows(2) {
        assert!(
            w[0].1 < w[1].1,
            "{context}: chunk {} (xmin {}) was not committed before chunk {} (xmin {})",
            w[0].0,
            w[0].1,
            w[1].0,
            w[1].1
        );
    }
    let xmin_of: HashMap<i32, i64> = row_xmins.into_iter().collect();
    for (number, pr_xmin, detail_xmins) in &prs {
        let chunk = latest[number];
        let want = xmin_of[&chunk];
        assert_eq!(*pr_xmin, want, "{context}: PR {number} was last written by xmin {pr_xmin}, not by chunk {chunk}");
        assert!(
            detail_xmins.iter().all(|x| *x == want),
            "{context}: PR {number}'s reviews and comments ({detail_xmins:?}) were not last written by chunk {chunk} ({want})"
        );
    }
    chunks
}
