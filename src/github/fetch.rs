//! Fetching one chunk completely, for as few points as the cost formula allows.
//!
//! The page query brings the PRs with their first reviews and issue comments
//! inline: with no connection nested below those, a page of 50 costs one
//! point. Review comments sit one level deeper, where inlining them would
//! multiply the cost by the page size, so they come next, for up to 400
//! reviews in one `PullRequestDetails` request (`nodes(ids:)` is a list, not a
//! connection, so it multiplies nothing). PRs with more reviews or comments
//! than the page held are refetched 100 at a time in the same request, and a
//! connection longer than 100 is followed with its cursor to the end
//! (`details`).
//!
//! A request GitHub times out on, or answers only in part (`partial`), is
//! asked again smaller: the page down to a single PR, the `nodes(ids:)`
//! request down to a single id. The sizes that worked are handed back so the
//! planner remembers them for the repository.

use std::collections::{HashMap, HashSet};

use graphql_client::GraphQLQuery;

use super::client::{GithubClient, Reply};
use super::error::GithubError;
use super::follow::{resume, Continuation};
use super::model::{self, PullRequest};
use super::partial;
use super::queries::{pull_request_page, PullRequestPage};
use super::wire::{self, ApiError, Connection};
use crate::budget::Budget;

/// Reviews and issue comments asked for inline with each PR. They add nodes
/// but no cost; most PRs have fewer, so few need a follow-up.
pub const INLINE_REVIEWS: i64 = 30;
pub const INLINE_COMMENTS: i64 = 40;
/// Ids per `nodes(ids:)` list, GitHub's maximum.
pub(super) const IDS_PER_LIST: usize = 100;
/// The `nodes(ids:)` lists in one `PullRequestDetails` request.
pub(super) const DETAIL_LISTS: usize = 6;
/// The most ids one `PullRequestDetails` request carries.
pub const MAX_DETAIL_IDS: usize = DETAIL_LISTS * IDS_PER_LIST;
/// A chunk that needs more requests than this is not converging (a cursor
/// that does not advance): fail it rather than spend the budget.
const MAX_REQUESTS_PER_CHUNK: u32 = 2_000;

#[derive(Debug, Clone)]
pub struct PageRequest<'a> {
    pub owner: &'a str,
    pub name: &'a str,
    pub after: Option<&'a str>,
    pub size: i64,
    /// The number of the PR before `after`, to name the next one in errors.
    pub after_number: Option<i32>,
    /// Ids per `PullRequestDetails` request known to work for the
    /// repository (all it can carry when none is known).
    pub detail_ids: Option<usize>,
}

/// A page of PRs with everything that hangs off them, and what it cost.
#[derive(Debug, Default)]
pub struct FetchedPage {
    pub prs: Vec<PullRequest>,
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
    pub total_count: i64,
    pub requests: u32,
    /// Points the fetch cost, failed and partial answers included.
    pub points: i64,
    /// The budget after the last request, from `rateLimit` or the headers.
    pub budget: Option<Budget>,
    /// Cost of the last request, to plan the next one.
    pub last_cost: Option<i64>,
    /// The page size that finally worked: smaller than asked after timeouts.
    pub size: i64,
    /// Whether timeouts made the page smaller than asked.
    pub shrunk: bool,
    /// Ids per details request at the end, when timeouts or partial answers
    /// made it smaller than it began.
    pub detail_ids: Option<usize>,
}

impl FetchedPage {
    pub(super) fn count(&mut self, headers: Option<Budget>, body: Option<&wire::RateLimit>) {
        self.requests += 1;
        self.budget = headers;
        if let Some(r) = body {
            self.points += r.cost;
            self.last_cost = Some(r.cost);
            self.budget = Some(r.budget);
        }
    }
}

#[derive(Default)]
pub(super) struct Assembly {
    pub(super) page: FetchedPage,
    pub(super) pr_index: HashMap<String, usize>,
    pub(super) review_pr: HashMap<String, usize>,
    seen_reviews: HashSet<i64>,
    seen_comments: HashSet<i64>,
    pub(super) reviews_of: Vec<String>,
    pub(super) comments_of: Vec<String>,
    pub(super) review_comments_of: Vec<String>,
    pub(super) continuations: Vec<Continuation>,
    /// Ids in one `PullRequestDetails` request, over all its lists; halved
    /// when GitHub times out on one or answers it in part.
    pub(super) ids_per_request: usize,
    /// Where `ids_per_request` began, and grows back to after clean answers:
    /// a timeout that was load, not size, should not slow the whole chunk.
    pub(super) ids_ceiling: usize,
    /// The fewest ids a request was cut to, when one was.
    pub(super) ids_cut_to: Option<usize>,
    /// How many ids the last request that timed out carried.
    pub(super) last_cut_from: Option<usize>,
    /// Details answers in a row that came back whole.
    pub(super) clean_in_a_row: u32,
    /// Partial answers per id: an id that keeps failing alone fails the chunk.
    pub(super) strikes: HashMap<String, u32>,
}

fn page_query(req: &PageRequest<'_>, size: i64) -> graphql_client::QueryBody<pull_request_page::Variables> {
    PullRequestPage::build_query(pull_request_page::Variables {
        owner: req.owner.into(),
        name: req.name.into(),
        first: size,
        after: req.after.map(str::to_string),
        reviews_first: INLINE_REVIEWS,
        comments_first: INLINE_COMMENTS,
    })
}

pub async fn fetch_page(client: &GithubClient, req: &PageRequest<'_>) -> Result<FetchedPage, GithubError> {
    let spent_before = client.points_spent();
    let (reply, size) = ask_page(client, req).await?;
    let first_ids = req.detail_ids.unwrap_or(MAX_DETAIL_IDS).clamp(1, MAX_DETAIL_IDS);
    let mut asm = Assembly { ids_per_request: first_ids, ids_ceiling: first_ids, ..Assembly::default() };
    asm.page.size = size;
    asm.page.shrunk = size < req.size;
    let data = reply.data.as_ref();
    asm.page.count(reply.budget, data.and_then(|d| d.rate_limit.as_ref()));
    let holes = partial::page_holes(&reply.errors).unwrap_or_default();
    let Some(connection) = reply.data.and_then(|d| d.repository).map(|r| r.pull_requests) else {
        return Err(GithubError::from_api_errors(&reply.errors, reply.budget.and_then(|b| b.reset_at))
            .unwrap_or_else(|| GithubError::NotFound(format!("repository {}/{}", req.owner, req.name))));
    };
    fail_on_errors(&reply.errors)?;
    asm.page.has_next_page = connection.page_info.has_next_page;
    asm.page.end_cursor = connection.page_info.end_cursor;
    asm.page.total_count = connection.total_count;
    for (at, wire_pr) in connection.nodes.into_iter().enumerate() {
        let Some(mut wire_pr) = wire_pr else { continue };
        let pr = model::pull_request(&mut wire_pr)?;
        let idx = asm.page.prs.len();
        asm.pr_index.insert(pr.node_id.clone(), idx);
        asm.page.prs.push(pr);
        match wire_pr.reviews {
            // Nulled by a partial answer: fetched again alone, from the start.
            _ if holes.contains(&at) => asm.reviews_of.push(wire_pr.id.clone()),
            None => asm.reviews_of.push(wire_pr.id.clone()),
            Some(reviews) => {
                if reviews.page_info.has_next_page {
                    asm.reviews_of.push(wire_pr.id.clone());
                }
                asm.add_reviews(idx, reviews, None, Vec::new())?;
            }
        }
        if wire_pr.comments.page_info.has_next_page {
            asm.comments_of.push(wire_pr.id.clone());
        }
        asm.add_issue_comments(idx, wire_pr.comments, None, Vec::new())?;
    }
    while asm.has_work() {
        if asm.page.requests >= MAX_REQUESTS_PER_CHUNK {
            return Err(GithubError::Other(format!(
                "the chunk needed over {MAX_REQUESTS_PER_CHUNK} requests; stopped"
            )));
        }
        if asm.reviews_of.is_empty() && asm.comments_of.is_empty() && asm.review_comments_of.is_empty() {
            asm.follow_one(client).await?;
        } else {
            asm.fetch_details(client).await?;
        }
    }
    // What the chunk ended with, when it had to cut: the size that worked.
    asm.page.detail_ids = asm.ids_cut_to.map(|_| asm.ids_per_request).filter(|n| *n < first_ids);
    asm.page.points = client.points_spent() - spent_before;
    Ok(asm.page)
}

/// The page itself. One GitHub times out on, or answers in part where the
/// hole cannot be filled alone, is asked again at half the size, down to a
/// single PR; from there the client retries it, and a PR whose request keeps
/// failing alone is named in the error.
async fn ask_page(client: &GithubClient, req: &PageRequest<'_>) -> Result<(Reply<wire::PageData>, i64), GithubError> {
    let repairable = |reply: &Reply<wire::PageData>| {
        let prs = reply.data.as_ref().and_then(|d| d.repository.as_ref()).map(|r| &r.pull_requests.nodes);
        match partial::page_holes(&reply.errors) {
            // A PR nulled without a partial-answer error to say so is no
            // more complete than one with it.
            Some(_) if prs.is_none_or(|nodes| nodes.iter().all(Option::is_some)) => Ok(()),
            _ if partial::any(&reply.errors) || prs.is_some() => {
                Err(GithubError::ResourceLimits(crate::text::one_line(&partial_message(&reply.errors))))
            }
            // No repository and no partial answer: not found, or forbidden.
            _ => Ok(()),
        }
    };
    let mut size = req.size.max(1);
    loop {
        let body = page_query(req, size);
        if size <= 1 {
            let after = req.after_number.map_or_else(|| "the first PR".to_string(), |n| format!("the PR after #{n}"));
            return client
                .query_checked(&body, false, &repairable)
                .await
                .map(|reply| (reply, size))
                .map_err(|e| e.asked_alone(&after));
        }
        match client.query_checked(&body, true, &repairable).await {
            Err(e) if e.asks_for_less() => size = (size / 2).max(1),
            other => return other.map(|reply| (reply, size)),
        }
    }
}

/// The messages of the partial-answer errors, with where each struck.
pub(super) fn partial_message(errors: &[ApiError]) -> String {
    let parts: Vec<String> = errors
        .iter()
        .filter(|e| e.is_resource_limit())
        .map(|e| {
            let path: Vec<String> =
                e.path.iter().map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_string)).collect();
            format!("{} (at {})", e.message, path.join("."))
        })
        .collect();
    parts.join("; ")
}

/// Errors that come with usable data: a node deleted since the page was
/// read is gone for good and is skipped, and partial answers were dealt
/// with by the caller; anything else fails the chunk.
pub(super) fn fail_on_errors(errors: &[ApiError]) -> Result<(), GithubError> {
    let serious: Vec<ApiError> =
        errors.iter().filter(|e| e.kind.as_deref() != Some("NOT_FOUND") && !e.is_resource_limit()).cloned().collect();
    match GithubError::from_api_errors(&serious, None) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

pub(super) fn take_ids(list: &mut Vec<String>, n: usize) -> Vec<String> {
    let n = n.min(list.len());
    list.drain(..n).collect()
}

impl Assembly {
    pub(super) fn has_work(&self) -> bool {
        !(self.reviews_of.is_empty()
            && self.comments_of.is_empty()
            && self.review_comments_of.is_empty()
            && self.continuations.is_empty())
    }

    /// `from`: for a window read by cursor (or from the start again), the
    /// items before it; the connection is then followed to its end. `None`
    /// for the page's inline window, which `reviews_of` restarts instead.
    /// `tail`: the connection's last items, fetched alongside.
    pub(super) fn add_reviews(
        &mut self,
        pr: usize,
        conn: Connection<wire::Review>,
        from: Option<usize>,
        tail: Vec<Option<wire::Review>>,
    ) -> Result<(), GithubError> {
        let next = from.map(|got| resume(got, &conn, tail.len(), "reviews")).transpose()?.flatten();
        for r in conn.nodes.into_iter().chain(tail).flatten() {
            let review = model::review(r)?;
            if self.seen_reviews.insert(review.github_id) {
                self.review_pr.insert(review.node_id.clone(), pr);
                self.review_comments_of.push(review.node_id.clone());
                self.page.prs[pr].reviews.push(review);
            }
        }
        if let Some((after, got)) = next {
            let node = self.page.prs[pr].node_id.clone();
            self.continuations.push(Continuation::Reviews { pr: node, after, got });
        }
        Ok(())
    }

    pub(super) fn add_issue_comments(
        &mut self,
        pr: usize,
        conn: Connection<wire::IssueComment>,
        from: Option<usize>,
        tail: Vec<Option<wire::IssueComment>>,
    ) -> Result<(), GithubError> {
        let next = from.map(|got| resume(got, &conn, tail.len(), "comments")).transpose()?.flatten();
        for c in conn.nodes.into_iter().chain(tail).flatten() {
            let comment = model::issue_comment(c)?;
            if self.seen_comments.insert(comment.github_id) {
                self.page.prs[pr].comments.push(comment);
            }
        }
        if let Some((after, got)) = next {
            let node = self.page.prs[pr].node_id.clone();
            self.continuations.push(Continuation::IssueComments { pr: node, after, got });
        }
        Ok(())
    }

    pub(super) fn add_review_comments(
        &mut self,
        review: &str,
        conn: Connection<wire::ReviewComment>,
        from: usize,
        tail: Vec<Option<wire::ReviewComment>>,
    ) -> Result<(), GithubError> {
        let Some(&pr) = self.review_pr.get(review) else { return Ok(()) };
        let next = resume(from, &conn, tail.len(), "review comments")?;
        for c in conn.nodes.into_iter().chain(tail).flatten() {
            let comment = model::review_comment(c)?;
            if self.seen_comments.insert(comment.github_id) {
                self.page.prs[pr].comments.push(comment);
            }
        }
        if let Some((after, got)) = next {
            self.continuations.push(Continuation::ReviewComments { review: review.to_string(), after, got });
        }
        Ok(())
    }
}
