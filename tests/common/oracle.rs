//! What the database must hold after a complete backfill, computed straight
//! from the fake's data with the contract's mapping rules, and the same rows
//! read back from PostgreSQL, in one comparable form.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use fake_github::data::{ActorKind, Repository};
use fake_github::World;
use sqlx::PgPool;

/// Rows of one table, each rendered as one line.
pub type Rows = BTreeSet<String>;

fn clean(s: &str) -> String {
    s.replace('\0', "")
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

/// (github_id, login, is_bot) after the ghost and bot rules.
fn who(world: &World, actor: Option<usize>) -> (i64, String, bool) {
    match actor.map(|i| &world.actors[i]) {
        None => (10137, "ghost".to_string(), false),
        Some(a) if a.kind == ActorKind::Bot => (a.database_id, format!("{}[bot]", a.login), true),
        Some(a) => (a.database_id, a.login.clone(), false),
    }
}

pub struct Expected {
    pub pull_requests: Rows,
    pub reviews: Rows,
    pub comments: Rows,
    pub contributors: Rows,
}

pub fn expected(world: &World, repo: &Repository) -> Expected {
    let mut e =
        Expected { pull_requests: Rows::new(), reviews: Rows::new(), comments: Rows::new(), contributors: Rows::new() };
    let mut person = |actor| {
        let (id, login, bot) = who(world, actor);
        e.contributors.insert(format!("{id}|{login}|{bot}"));
        login
    };
    let mut prs = Vec::new();
    let mut reviews = Vec::new();
    let mut comments = Vec::new();
    for pr in &repo.pull_requests {
        let author = person(pr.author);
        let merger = pr.merged_by.map(|m| person(Some(m)));
        let state = if pr.state == "OPEN" { "open" } else { "closed" };
        prs.push(format!(
            "{}|{}|{:?}|{:?}|{state}|{}|{}|{author}|{merger:?}|{}|{}|{:?}|{:?}|{}|{}|{}|{}|{}|{}",
            pr.full_id,
            pr.number,
            clean(&pr.title),
            clean(&pr.body),
            pr.state == "MERGED",
            pr.draft,
            ts(pr.created_at),
            ts(pr.updated_at),
            pr.merged_at.map(ts),
            pr.closed_at.map(ts),
            pr.additions,
            pr.deletions,
            pr.changed_files,
            pr.commits,
            pr.base_ref,
            pr.head_ref,
        ));
        for r in &pr.reviews {
            let reviewer = person(r.author);
            reviews.push(format!(
                "{}|{}|{reviewer}|{}|{:?}|{}|{:?}",
                r.full_id,
                pr.full_id,
                r.state,
                clean(&r.body),
                ts(r.submitted_at.unwrap_or(r.created_at)),
                r.commit_oid
            ));
            for c in &r.comments {
                let author = person(c.author);
                comments.push(format!(
                    "{}|{}|review_comment|{author}|{:?}|{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
                    c.full_id,
                    pr.full_id,
                    clean(&c.body),
                    ts(c.created_at),
                    ts(c.updated_at),
                    c.reply_to,
                    c.position,
                    Some(c.original_position),
                    Some(clean(&c.path)),
                    Some(clean(&c.diff_hunk)),
                    Some(&c.commit_oid)
                ));
            }
        }
        for c in &pr.comments {
            let author = person(c.author);
            comments.push(format!(
                "{}|{}|issue_comment|{author}|{:?}|{}|{}|None|None|None|None|None|None",
                c.full_id,
                pr.full_id,
                clean(&c.body),
                ts(c.created_at),
                ts(c.updated_at)
            ));
        }
    }
    e.pull_requests.extend(prs);
    e.reviews.extend(reviews);
    e.comments.extend(comments);
    e
}

type PrRow = (
    i64,
    Option<i32>,
    String,
    Option<String>,
    Option<String>,
    Option<bool>,
    Option<bool>,
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    (Option<i32>, Option<i32>, Option<i32>, Option<i32>, Option<String>, Option<String>),
);

/// The same rows as stored for one repository.
pub async fn stored(pool: &PgPool, full_name: &str) -> Expected {
    let rows: Vec<sqlx::postgres::PgRow> = sqlx::query(
        "SELECT p.github_id, p.number, p.title, p.body, p.state, p.merged, p.draft, a.username, m.username AS merger, \
           p.created_at, p.updated_at, p.merged_at, p.closed_at, p.additions, p.deletions, p.changed_files, p.commits, \
           p.base_branch, p.head_branch \
         FROM pull_requests p JOIN repositories r ON r.id = p.repository_id JOIN contributors a ON a.id = p.author_id \
         LEFT JOIN contributors m ON m.id = p.merged_by_id WHERE r.full_name = $1",
    )
    .bind(full_name)
    .fetch_all(pool)
    .await
    .expect("read pull_requests");
    use sqlx::Row;
    let mut pull_requests = Rows::new();
    for r in rows {
        let row: PrRow = (
            r.get(0),
            r.get(1),
            r.get(2),
            r.get(3),
            r.get(4),
            r.get(5),
            r.get(6),
            r.get(7),
            r.get(8),
            r.get(9),
            r.get(10),
            r.get(11),
            r.get(12),
            (r.get(13), r.get(14), r.get(15), r.get(16), r.get(17), r.get(18)),
        );
        let (a, d, f, c, base, head) = row.13;
        pull_requests.insert(format!(
            "{}|{}|{:?}|{:?}|{}|{}|{}|{}|{:?}|{}|{}|{:?}|{:?}|{}|{}|{}|{}|{}|{}",
            row.0,
            row.1.unwrap_or(-1),
            row.2,
            row.3.unwrap_or_default(),
            row.4.unwrap_or_default(),
            row.5.unwrap_or_default(),
            row.6.unwrap_or_default(),
            row.7,
            row.8,
            row.9.map(ts).unwrap_or_default(),
            row.10.map(ts).unwrap_or_default(),
            row.11.map(ts),
            row.12.map(ts),
            a.unwrap_or(-1),
            d.unwrap_or(-1),
            f.unwrap_or(-1),
            c.unwrap_or(-1),
            base.unwrap_or_default(),
            head.unwrap_or_default(),
        ));
    }
    type ReviewRow = (i64, i64, String, String, Option<String>, DateTime<Utc>, Option<String>);
    let reviews: Vec<ReviewRow> = sqlx::query_as(
        "SELECT v.github_id, p.github_id, u.username, v.state, v.body, v.submitted_at, v.commit_id \
         FROM reviews v JOIN pull_requests p ON p.id = v.pull_request_id JOIN repositories r ON r.id = p.repository_id \
         JOIN contributors u ON u.id = v.reviewer_id WHERE r.full_name = $1",
    )
    .bind(full_name)
    .fetch_all(pool)
    .await
    .expect("read reviews");
    let reviews = reviews
        .into_iter()
        .map(|(id, pr, who, state, body, at, commit)| {
            format!("{id}|{pr}|{who}|{state}|{:?}|{}|{commit:?}", body.unwrap_or_default(), ts(at))
        })
        .collect();
    type CommentRow = (i64, i64, String, String, String, Option<DateTime<Utc>>, Option<DateTime<Utc>>, Option<i64>);
    type CommentTail = (Option<i32>, Option<i32>, Option<String>, Option<String>, Option<String>);
    let comments: Vec<sqlx::postgres::PgRow> = sqlx::query(
        "SELECT c.github_id, p.github_id, c.comment_type, u.username, c.body, c.created_at, c.updated_at, parent.github_id, \
           c.position, c.original_position, c.path, c.diff_hunk, c.commit_id \
         FROM comments c JOIN pull_requests p ON p.id = c.pull_request_id JOIN repositories r ON r.id = p.repository_id \
         JOIN contributors u ON u.id = c.commenter_id LEFT JOIN comments parent ON parent.id = c.in_reply_to_id \
         WHERE r.full_name = $1",
    )
    .bind(full_name)
    .fetch_all(pool)
    .await
    .expect("read comments");
    let comments = comments
        .into_iter()
        .map(|r| {
            let head: CommentRow = (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6), r.get(7));
            let tail: CommentTail = (r.get(8), r.get(9), r.get(10), r.get(11), r.get(12));
            format!(
                "{}|{}|{}|{}|{:?}|{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
                head.0,
                head.1,
                head.2,
                head.3,
                head.4,
                head.5.map(ts).unwrap_or_default(),
                head.6.map(ts).unwrap_or_default(),
                head.7,
                tail.0,
                tail.1,
                tail.2,
                tail.3,
                tail.4
            )
        })
        .collect();
    let people: Vec<(i64, String, Option<bool>)> =
        sqlx::query_as("SELECT github_id, username, is_bot FROM contributors")
            .fetch_all(pool)
            .await
            .expect("read contributors");
    let contributors =
        people.into_iter().map(|(id, login, bot)| format!("{id}|{login}|{}", bot.unwrap_or(false))).collect();
    Expected { pull_requests, reviews, comments, contributors }
}

/// Fails with the first rows that differ, not a wall of text.
pub fn assert_same(what: &str, want: &Rows, got: &Rows) {
    if want == got {
        return;
    }
    let missing: Vec<_> = want.difference(got).take(3).map(|s| s.chars().take(300).collect::<String>()).collect();
    let extra: Vec<_> = got.difference(want).take(3).map(|s| s.chars().take(300).collect::<String>()).collect();
    panic!("{what}: expected {} rows, stored {}\nmissing: {missing:#?}\nunexpected: {extra:#?}", want.len(), got.len());
}

/// Asserts that the database holds exactly the fake's data for OWNER/NAME
/// (contributors: the database may hold people of other repositories too).
pub async fn assert_complete(h: &super::Harness, owner: &str, name: &str) {
    let want =
        h.fake.with_world(|w| w.repo(owner, name).map(|repo| expected(w, repo))).expect("repository in the fake");
    let got = stored(&h.pool, &format!("{owner}/{name}")).await;
    assert_same("pull_requests", &want.pull_requests, &got.pull_requests);
    assert_same("reviews", &want.reviews, &got.reviews);
    assert_same("comments", &want.comments, &got.comments);
    let missing: Vec<_> = want.contributors.difference(&got.contributors).take(5).collect();
    assert!(missing.is_empty(), "contributors missing: {missing:?}");
    // The count the commits keep by arithmetic equals the rows.
    let full_name = format!("{owner}/{name}");
    let counted = h.processed_prs(&full_name).await;
    assert_eq!(i64::from(counted), got.pull_requests.len() as i64, "{full_name}: processed_prs against the rows");
}
