//! Writing a page of PRs: one set-based statement per table (arrays through
//! `unnest`), so a chunk of 50 PRs with thousands of comments is a handful of
//! round trips. Ids are made here because an existing database's tables may
//! have no defaults.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::error::{StoreError, StoreResult};
use super::unnamed;
use crate::github::model::{Person, PullRequest};

/// Everyone who appears in the page, once each, in github_id order: two
/// runs writing shared contributors then lock their rows in the same order
/// and cannot deadlock.
fn people(prs: &[PullRequest]) -> Vec<&Person> {
    let mut seen = HashMap::new();
    let all = prs.iter().flat_map(|pr| {
        std::iter::once(&pr.author)
            .chain(pr.merged_by.iter())
            .chain(pr.reviews.iter().map(|r| &r.reviewer))
            .chain(pr.comments.iter().map(|c| &c.author))
    });
    for p in all {
        seen.entry(p.github_id).or_insert(p);
    }
    let mut people: Vec<&Person> = seen.into_values().collect();
    people.sort_by_key(|p| p.github_id);
    people
}

/// Upserts the page; returns how many of its PRs were not stored before
/// (PostgreSQL says which rows an upsert inserted), by which the chunk's
/// commit moves `processed_prs` instead of counting the repository's PRs.
pub async fn store_pull_requests(tx: &mut PgConnection, repository_id: Uuid, prs: &[PullRequest]) -> StoreResult<i32> {
    if prs.is_empty() {
        return Ok(0);
    }
    let people_ids = upsert_contributors(tx, &people(prs)).await?;
    let (pr_ids, new_prs) = upsert_pull_requests(tx, repository_id, prs, &people_ids).await?;
    upsert_reviews(tx, prs, &pr_ids, &people_ids).await?;
    upsert_comments(tx, prs, &pr_ids, &people_ids).await?;
    Ok(new_prs)
}

async fn upsert_contributors(tx: &mut PgConnection, people: &[&Person]) -> StoreResult<HashMap<i64, Uuid>> {
    let ids: Vec<i64> = people.iter().map(|p| p.github_id).collect();
    let logins: Vec<&str> = people.iter().map(|p| p.login.as_str()).collect();
    // A login now belongs to someone else (accounts get renamed and names
    // reused): free it, keeping the old row recognisable, before taking it.
    unnamed::statement(
        "UPDATE contributors c SET username = c.username || '#' || c.github_id::text, last_updated_at = now() \
         FROM unnest($1::bigint[], $2::text[]) AS i(github_id, username) \
         WHERE c.username = i.username AND c.github_id <> i.github_id",
    )
    .bind(&ids)
    .bind(&logins)
    .execute(&mut *tx)
    .await?;
    let rows: Vec<(Uuid, i64)> = unnamed::rows(
        "INSERT INTO contributors (id, github_id, username, display_name, avatar_url, is_bot, first_seen_at, last_updated_at) \
         SELECT i.id, i.github_id, i.username, i.display_name, i.avatar_url, i.is_bot, now(), now() \
         FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bool[]) \
           AS i(id, github_id, username, display_name, avatar_url, is_bot) \
         ON CONFLICT (github_id) DO UPDATE SET username = EXCLUDED.username, display_name = EXCLUDED.display_name, \
           avatar_url = EXCLUDED.avatar_url, is_bot = EXCLUDED.is_bot, last_updated_at = now() \
         RETURNING id, github_id",
    )
    .bind(people.iter().map(|_| super::ids::new_id()).collect::<Vec<_>>())
    .bind(&ids)
    .bind(&logins)
    .bind(people.iter().map(|p| p.name.as_deref()).collect::<Vec<_>>())
    .bind(people.iter().map(|p| p.avatar_url.as_deref()).collect::<Vec<_>>())
    .bind(people.iter().map(|p| p.is_bot).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows.into_iter().map(|(id, gh)| (gh, id)).collect())
}

fn uuid_of(map: &HashMap<i64, Uuid>, github_id: i64) -> StoreResult<Uuid> {
    map.get(&github_id)
        .copied()
        .ok_or_else(|| StoreError::Inconsistent(format!("no row was written for github id {github_id}")))
}

async fn upsert_pull_requests(
    tx: &mut PgConnection,
    repository_id: Uuid,
    prs: &[PullRequest],
    people: &HashMap<i64, Uuid>,
) -> StoreResult<(HashMap<i64, Uuid>, i32)> {
    let authors = prs.iter().map(|p| uuid_of(people, p.author.github_id)).collect::<Result<Vec<_>, _>>()?;
    let mergers = prs
        .iter()
        .map(|p| p.merged_by.as_ref().map(|m| uuid_of(people, m.github_id)).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    let times = |f: fn(&PullRequest) -> Option<DateTime<Utc>>| prs.iter().map(f).collect::<Vec<_>>();
    let ints = |f: fn(&PullRequest) -> i32| prs.iter().map(f).collect::<Vec<_>>();
    let texts = |f: fn(&PullRequest) -> &str| prs.iter().map(f).collect::<Vec<_>>();
    // `xmax` is 0 in a row version an INSERT made, and the updating
    // transaction's id in one ON CONFLICT DO UPDATE made.
    let rows: Vec<(Uuid, i64, bool)> = unnamed::rows(
        "INSERT INTO pull_requests (id, github_id, number, title, body, state, repository_id, author_id, base_branch, \
           head_branch, draft, merged, merged_by_id, created_at, updated_at, merged_at, closed_at, additions, deletions, \
           changed_files, commits, html_url) \
         SELECT i.id, i.github_id, i.number, i.title, i.body, i.state, $22, i.author_id, i.base_branch, i.head_branch, \
           i.draft, i.merged, i.merged_by_id, i.created_at, i.updated_at, i.merged_at, i.closed_at, i.additions, \
           i.deletions, i.changed_files, i.commits, i.html_url \
         FROM unnest($1::uuid[], $2::bigint[], $3::int[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::text[], \
           $9::text[], $10::bool[], $11::bool[], $12::uuid[], $13::timestamptz[], $14::timestamptz[], $15::timestamptz[], \
           $16::timestamptz[], $17::int[], $18::int[], $19::int[], $20::int[], $21::text[]) \
           AS i(id, github_id, number, title, body, state, author_id, base_branch, head_branch, draft, merged, \
           merged_by_id, created_at, updated_at, merged_at, closed_at, additions, deletions, changed_files, commits, html_url) \
         ON CONFLICT (github_id) DO UPDATE SET number = EXCLUDED.number, title = EXCLUDED.title, body = EXCLUDED.body, \
           state = EXCLUDED.state, repository_id = EXCLUDED.repository_id, author_id = EXCLUDED.author_id, \
           base_branch = EXCLUDED.base_branch, head_branch = EXCLUDED.head_branch, draft = EXCLUDED.draft, \
           merged = EXCLUDED.merged, merged_by_id = EXCLUDED.merged_by_id, created_at = EXCLUDED.created_at, \
           updated_at = EXCLUDED.updated_at, merged_at = EXCLUDED.merged_at, closed_at = EXCLUDED.closed_at, \
           additions = EXCLUDED.additions, deletions = EXCLUDED.deletions, changed_files = EXCLUDED.changed_files, \
           commits = EXCLUDED.commits, html_url = EXCLUDED.html_url \
         RETURNING id, github_id, xmax = 0",
    )
    .bind(prs.iter().map(|_| super::ids::new_id()).collect::<Vec<_>>())
    .bind(prs.iter().map(|p| p.github_id).collect::<Vec<_>>())
    .bind(ints(|p| p.number))
    .bind(texts(|p| &p.title))
    .bind(texts(|p| &p.body))
    .bind(texts(|p| p.state))
    .bind(&authors)
    .bind(texts(|p| &p.base_branch))
    .bind(texts(|p| &p.head_branch))
    .bind(prs.iter().map(|p| p.draft).collect::<Vec<_>>())
    .bind(prs.iter().map(|p| p.merged).collect::<Vec<_>>())
    .bind(&mergers)
    .bind(times(|p| Some(p.created_at)))
    .bind(times(|p| Some(p.updated_at)))
    .bind(times(|p| p.merged_at))
    .bind(times(|p| p.closed_at))
    .bind(ints(|p| p.additions))
    .bind(ints(|p| p.deletions))
    .bind(ints(|p| p.changed_files))
    .bind(ints(|p| p.commits))
    .bind(texts(|p| &p.html_url))
    .bind(repository_id)
    .fetch_all(&mut *tx)
    .await?;
    let new_prs = rows.iter().filter(|r| r.2).count();
    Ok((rows.into_iter().map(|(id, gh, _)| (gh, id)).collect(), i32::try_from(new_prs).unwrap_or(i32::MAX)))
}

async fn upsert_reviews(
    tx: &mut PgConnection,
    prs: &[PullRequest],
    pr_ids: &HashMap<i64, Uuid>,
    people: &HashMap<i64, Uuid>,
) -> StoreResult<()> {
    let reviews: Vec<_> = prs.iter().flat_map(|pr| pr.reviews.iter().map(move |r| (pr.github_id, r))).collect();
    if reviews.is_empty() {
        return Ok(());
    }
    let pr_uuids = reviews.iter().map(|(pr, _)| uuid_of(pr_ids, *pr)).collect::<Result<Vec<_>, _>>()?;
    let reviewers =
        reviews.iter().map(|(_, r)| uuid_of(people, r.reviewer.github_id)).collect::<Result<Vec<_>, _>>()?;
    unnamed::statement(
        "INSERT INTO reviews (id, github_id, pull_request_id, reviewer_id, state, body, submitted_at, commit_id) \
         SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], \
           $7::timestamptz[], $8::text[]) \
         ON CONFLICT (github_id) DO UPDATE SET pull_request_id = EXCLUDED.pull_request_id, \
           reviewer_id = EXCLUDED.reviewer_id, state = EXCLUDED.state, body = EXCLUDED.body, \
           submitted_at = EXCLUDED.submitted_at, commit_id = EXCLUDED.commit_id",
    )
    .bind(reviews.iter().map(|_| super::ids::new_id()).collect::<Vec<_>>())
    .bind(reviews.iter().map(|(_, r)| r.github_id).collect::<Vec<_>>())
    .bind(&pr_uuids)
    .bind(&reviewers)
    .bind(reviews.iter().map(|(_, r)| r.state.as_str()).collect::<Vec<_>>())
    .bind(reviews.iter().map(|(_, r)| r.body.as_str()).collect::<Vec<_>>())
    .bind(reviews.iter().map(|(_, r)| r.submitted_at).collect::<Vec<_>>())
    .bind(reviews.iter().map(|(_, r)| r.commit_id.as_deref()).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn upsert_comments(
    tx: &mut PgConnection,
    prs: &[PullRequest],
    pr_ids: &HashMap<i64, Uuid>,
    people: &HashMap<i64, Uuid>,
) -> StoreResult<()> {
    let comments: Vec<_> = prs.iter().flat_map(|pr| pr.comments.iter().map(move |c| (pr.github_id, c))).collect();
    if comments.is_empty() {
        return Ok(());
    }
    let pr_uuids = comments.iter().map(|(pr, _)| uuid_of(pr_ids, *pr)).collect::<Result<Vec<_>, _>>()?;
    let authors = comments.iter().map(|(_, c)| uuid_of(people, c.author.github_id)).collect::<Result<Vec<_>, _>>()?;
    unnamed::statement(
        "INSERT INTO comments (id, github_id, pull_request_id, commenter_id, body, created_at, updated_at, comment_type, \
           position, original_position, diff_hunk, path, commit_id) \
         SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::uuid[], $5::text[], $6::timestamptz[], \
           $7::timestamptz[], $8::text[], $9::int[], $10::int[], $11::text[], $12::text[], $13::text[]) \
         ON CONFLICT (github_id) DO UPDATE SET pull_request_id = EXCLUDED.pull_request_id, \
           commenter_id = EXCLUDED.commenter_id, body = EXCLUDED.body, created_at = EXCLUDED.created_at, \
           updated_at = EXCLUDED.updated_at, comment_type = EXCLUDED.comment_type, position = EXCLUDED.position, \
           original_position = EXCLUDED.original_position, diff_hunk = EXCLUDED.diff_hunk, path = EXCLUDED.path, \
           commit_id = EXCLUDED.commit_id",
    )
    .bind(comments.iter().map(|_| super::ids::new_id()).collect::<Vec<_>>())
    .bind(comments.iter().map(|(_, c)| c.github_id).collect::<Vec<_>>())
    .bind(&pr_uuids)
    .bind(&authors)
    .bind(comments.iter().map(|(_, c)| c.body.as_str()).collect::<Vec<_>>())
    .bind(comments.iter().map(|(_, c)| c.created_at).collect::<Vec<_>>())
    .bind(comments.iter().map(|(_, c)| c.updated_at).collect::<Vec<_>>())
    .bind(comments.iter().map(|(_, c)| c.kind.as_str()).collect::<Vec<_>>())
    .bind(comments.iter().map(|(_, c)| c.position).collect::<Vec<_>>())
    .bind(comments.iter().map(|(_, c)| c.original_position).collect::<Vec<_>>())
    .bind(comments.iter().map(|(_, c)| c.diff_hunk.as_deref()).collect::<Vec<_>>())
    .bind(comments.iter().map(|(_, c)| c.path.as_deref()).collect::<Vec<_>>())
    .bind(comments.iter().map(|(_, c)| c.commit_id.as_deref()).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    // Replies point at rows of the same PR, all written just above.
    let (children, parents): (Vec<i64>, Vec<i64>) =
        comments.iter().filter_map(|(_, c)| c.reply_to.map(|p| (c.github_id, p))).unzip();
    if !children.is_empty() {
        unnamed::statement(
            "UPDATE comments c SET in_reply_to_id = p.id \
             FROM unnest($1::bigint[], $2::bigint[]) AS r(child, parent) JOIN comments p ON p.github_id = r.parent \
             WHERE c.github_id = r.child AND c.in_reply_to_id IS DISTINCT FROM p.id",
        )
        .bind(&children)
        .bind(&parents)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
