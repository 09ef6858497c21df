//! Fetching one chunk completely, for as few points as the cost formula allows.
//!
//! The page query brings the PRs with their first reviews and issue comments
//! inline: with no connection nested below those, a page of 50 costs one
//! point. Review comments sit one level deeper, where inlining them would
//! multiply the cost by the page size, so they come next, for up to 400
//! reviews in one `PullRequestDetails` request (`nodes(ids:)` is a list, not a
//! connection, so it multiplies nothing). PRs with more reviews or comments
//! than the page held are refetched 100 at a time in the same request, and a
//! connection longer than 100 is followed with its cursor to the end.

use std::collections::{HashMap, HashSet};

use graphql_client::GraphQLQuery;

use super::client::{GithubClient, Reply};
use super::error::GithubError;
use super::follow::{resume, tail_nodes, Continuation};
use super::model::{self, PullRequest};
use super::queries::{
    issue_comments_page, pull_request_details, pull_request_page, review_comments_page, reviews_page,
    IssueCommentsPage, PullRequestDetails, PullRequestPage, ReviewCommentsPage, ReviewsPage,
};
use super::wire::{self, ApiError, Connection, NodeData};
use crate::budget::Budget;

/// Reviews and issue comments asked for inline with each PR. They add nodes
/// but no cost; most PRs have fewer, so few need a follow-up.
pub const INLINE_REVIEWS: i64 = 30;
pub const INLINE_COMMENTS: i64 = 40;
/// Ids per `nodes(ids:)` list, GitHub's maximum.
const IDS_PER_LIST: usize = 100;
/// The `nodes(ids:)` lists in one `PullRequestDetails` request.
const DETAIL_LISTS: usize = 6;
/// The smallest page asked for after timeouts (the contract's smallest chunk).
pub const MIN_PAGE: i64 = 5;
/// A chunk that needs more requests than this is not converging (a cursor
/// that does not advance): fail it rather than spend the budget.
const MAX_REQUESTS_PER_CHUNK: u32 = 2_000;

#[derive(Debug, Clone)]
pub struct PageRequest<'a> {
    pub owner: &'a str,
    pub name: &'a str,
    pub after: Option<&'a str>,
    pub size: i64,
}

/// A page of PRs with everything that hangs off them, and what it cost.
#[derive(Debug, Default)]
pub struct FetchedPage {
    pub prs: Vec<PullRequest>,
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
    pub total_count: i64,
    pub requests: u32,
    pub points: i64,
    /// The budget after the last request, from `rateLimit` or the headers.
    pub budget: Option<Budget>,
    /// Cost of the last request, to plan the next one.
    pub last_cost: Option<i64>,
    /// The page size that finally worked: smaller than asked after timeouts.
    pub size: i64,
    /// Whether timeouts made the page smaller than asked.
    pub shrunk: bool,
}

impl FetchedPage {
    fn count(&mut self, headers: Option<Budget>, body: Option<&wire::RateLimit>) {
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
struct Assembly {
    page: FetchedPage,
    pr_index: HashMap<String, usize>,
    review_pr: HashMap<String, usize>,
    seen_reviews: HashSet<i64>,
    seen_comments: HashSet<i64>,
    reviews_of: Vec<String>,
    comments_of: Vec<String>,
    review_comments_of: Vec<String>,
    continuations: Vec<Continuation>,
    /// Ids in one `PullRequestDetails` request, over all its lists; halved
    /// when GitHub times out on one.
    ids_per_request: usize,
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
    // A page GitHub times out on is asked again at half the size, down to
    // MIN_PAGE; from there on the client retries it as it is.
    let mut size = req.size.max(MIN_PAGE);
    let reply: Reply<wire::PageData> = loop {
        let body = page_query(req, size);
        if size <= MIN_PAGE {
            break client.query(&body).await?;
        }
        match client.query_or_shrink(&body).await {
            Err(e) if e.asks_for_less() => size = (size / 2).max(MIN_PAGE),
            other => break other?,
        }
    };
    let mut asm = Assembly { ids_per_request: DETAIL_LISTS * IDS_PER_LIST, ..Assembly::default() };
    asm.page.size = size;
    asm.page.shrunk = size < req.size;
    let data = reply.data.as_ref();
    asm.page.count(reply.budget, data.and_then(|d| d.rate_limit.as_ref()));
    let Some(connection) = reply.data.and_then(|d| d.repository).map(|r| r.pull_requests) else {
        return Err(GithubError::from_api_errors(&reply.errors, reply.budget.and_then(|b| b.reset_at))
            .unwrap_or_else(|| GithubError::NotFound(format!("repository {}/{}", req.owner, req.name))));
    };
    fail_on_errors(&reply.errors)?;
    asm.page.has_next_page = connection.page_info.has_next_page;
    asm.page.end_cursor = connection.page_info.end_cursor;
    asm.page.total_count = connection.total_count;
    for mut wire_pr in connection.nodes.into_iter().flatten() {
        let pr = model::pull_request(&mut wire_pr)?;
        let idx = asm.page.prs.len();
        asm.pr_index.insert(pr.node_id.clone(), idx);
        asm.page.prs.push(pr);
        if let Some(reviews) = wire_pr.reviews {
            if reviews.page_info.has_next_page {
                asm.reviews_of.push(wire_pr.id.clone());
            }
            asm.add_reviews(idx, reviews, None, Vec::new())?;
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
    Ok(asm.page)
}

/// Errors that come with usable data: a node deleted since the page was
/// read is gone for good and is skipped; anything else fails the chunk.
fn fail_on_errors(errors: &[ApiError]) -> Result<(), GithubError> {
    let serious: Vec<ApiError> = errors.iter().filter(|e| e.kind.as_deref() != Some("NOT_FOUND")).cloned().collect();
    match GithubError::from_api_errors(&serious, None) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn take_ids(list: &mut Vec<String>, n: usize) -> Vec<String> {
    let n = n.min(list.len());
    list.drain(..n).collect()
}

impl Assembly {
    fn has_work(&self) -> bool {
        !(self.reviews_of.is_empty()
            && self.comments_of.is_empty()
            && self.review_comments_of.is_empty()
            && self.continuations.is_empty())
    }

    /// `from`: for a window read by cursor (or from the start again), the
    /// items before it; the connection is then followed to its end. `None`
    /// for the page's inline window, which `reviews_of` restarts instead.
    /// `tail`: the connection's last items, fetched alongside.
    fn add_reviews(
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

    fn add_issue_comments(
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

    fn add_review_comments(
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

    /// One request for everything that can be asked by id alone.
    async fn fetch_details(&mut self, client: &GithubClient) -> Result<(), GithubError> {
        let mut room = self.ids_per_request;
        let mut take = |list: &mut Vec<String>| {
            let ids = take_ids(list, IDS_PER_LIST.min(room));
            room -= ids.len();
            ids
        };
        let vars = pull_request_details::Variables {
            reviews_of: take(&mut self.reviews_of),
            comments_of: take(&mut self.comments_of),
            review_comments_a: take(&mut self.review_comments_of),
            review_comments_b: take(&mut self.review_comments_of),
            review_comments_c: take(&mut self.review_comments_of),
            review_comments_d: take(&mut self.review_comments_of),
        };
        let sent_ids = self.ids_per_request - room;
        let body = PullRequestDetails::build_query(vars);
        let sent = if sent_ids > 1 { client.query_or_shrink(&body).await } else { client.query(&body).await };
        let reply: Reply<wire::DetailsData> = match sent {
            Err(e) if e.asks_for_less() => {
                // Put the ids back, in order, and ask for half as many at a time.
                let v = body.variables;
                let review_comments =
                    [v.review_comments_a, v.review_comments_b, v.review_comments_c, v.review_comments_d].concat();
                self.reviews_of.splice(0..0, v.reviews_of);
                self.comments_of.splice(0..0, v.comments_of);
                self.review_comments_of.splice(0..0, review_comments);
                self.ids_per_request = (sent_ids / 2).max(1);
                return Ok(());
            }
            other => other?,
        };
        let Some(data) = reply.data else {
            return Err(GithubError::from_api_errors(&reply.errors, reply.budget.and_then(|b| b.reset_at))
                .unwrap_or_else(|| GithubError::ServerError("an answer without data".into())));
        };
        self.page.count(reply.budget, data.rate_limit.as_ref());
        fail_on_errors(&reply.errors)?;
        for item in data.reviews_of.into_iter().flatten() {
            if let (Some(id), Some(conn)) = (item.id, item.reviews) {
                if let Some(&pr) = self.pr_index.get(&id) {
                    self.add_reviews(pr, conn, Some(0), Vec::new())?;
                }
            }
        }
        for item in data.comments_of.into_iter().flatten() {
            if let (Some(id), Some(conn)) = (item.id, item.comments) {
                if let Some(&pr) = self.pr_index.get(&id) {
                    self.add_issue_comments(pr, conn, Some(0), Vec::new())?;
                }
            }
        }
        let lists = [data.review_comments_a, data.review_comments_b, data.review_comments_c, data.review_comments_d];
        for item in lists.into_iter().flatten().flatten() {
            if let (Some(id), Some(conn)) = (item.id, item.comments) {
                self.add_review_comments(&id, conn, 0, Vec::new())?;
            }
        }
        Ok(())
    }

    /// One request for a connection past its first 100 items (and its last 100).
    async fn follow_one(&mut self, client: &GithubClient) -> Result<(), GithubError> {
        let Some(next) = self.continuations.pop() else { return Ok(()) };
        match next {
            Continuation::Reviews { pr, after, got } => {
                let body = ReviewsPage::build_query(reviews_page::Variables { id: pr.clone(), after: Some(after) });
                let node: Option<wire::ReviewsOfPr> = self.node_query(client, &body).await?;
                if let (Some(node), Some(&idx)) = (node, self.pr_index.get(&pr)) {
                    if let Some(conn) = node.reviews {
                        self.add_reviews(idx, conn, Some(got), tail_nodes(node.tail))?;
                    }
                }
            }
            Continuation::IssueComments { pr, after, got } => {
                let body = IssueCommentsPage::build_query(issue_comments_page::Variables {
                    id: pr.clone(),
                    after: Some(after),
                });
                let node: Option<wire::CommentsOfPr> = self.node_query(client, &body).await?;
                if let (Some(node), Some(&idx)) = (node, self.pr_index.get(&pr)) {
                    if let Some(conn) = node.comments {
                        self.add_issue_comments(idx, conn, Some(got), tail_nodes(node.tail))?;
                    }
                }
            }
            Continuation::ReviewComments { review, after, got } => {
                let body = ReviewCommentsPage::build_query(review_comments_page::Variables {
                    id: review.clone(),
                    after: Some(after),
                });
                let node: Option<wire::CommentsOfReview> = self.node_query(client, &body).await?;
                if let Some(node) = node {
                    if let Some(conn) = node.comments {
                        self.add_review_comments(&review, conn, got, tail_nodes(node.tail))?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn node_query<V: serde::Serialize, T: serde::de::DeserializeOwned>(
        &mut self,
        client: &GithubClient,
        body: &graphql_client::QueryBody<V>,
    ) -> Result<Option<T>, GithubError> {
        let reply: Reply<NodeData<T>> = client.query(body).await?;
        let rate_limit = reply.data.as_ref().and_then(|d| d.rate_limit.as_ref());
        self.page.count(reply.budget, rate_limit);
        fail_on_errors(&reply.errors)?;
        Ok(reply.data.and_then(|d| d.node))
    }
}
