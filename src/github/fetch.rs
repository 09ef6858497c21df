//! One chunk as it is put together: its page of PRs, and the follow-ups
//! still owed before it is whole. The requests themselves are the
//! pipeline's (`pipeline`), which asks for the follow-ups of several chunks
//! and the next page in one request.
//!
//! The page brings each PR with its first 100 reviews and issue comments,
//! and each review's comment count. What it leaves becomes follow-ups: the
//! comments of each review that has any (one counted request per review,
//! the least GitHub's formula allows), and the rest of any connection longer
//! than its window, read from both ends at once.

use std::collections::{HashMap, HashSet, VecDeque};

use super::error::GithubError;
use super::model::{self, PullRequest};
use super::wire::{self, ApiError, Connection};
use super::work::{Conn, Ends, Work, WINDOW};
use crate::budget::Budget;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct PageRequest<'a> {
    pub owner: &'a str,
    pub name: &'a str,
    pub after: Option<&'a str>,
    pub size: i64,
    /// The number of the PR before `after`, to name the next one in errors.
    pub after_number: Option<i32>,
    /// Counted requests of follow-ups per request known to work for the
    /// repository (the default when none is known).
    pub detail_ids: Option<usize>,
}

/// A page of PRs with everything that hangs off them, and what it cost.
#[derive(Debug, Default)]
pub struct FetchedPage {
    pub prs: Vec<PullRequest>,
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
    pub total_count: i64,
    /// Requests counted to this chunk, retries included: the one that
    /// brought its page, and those sent while it was the oldest in flight
    /// without a page of their own.
    pub requests: u32,
    /// Points those requests cost, failed and partial answers included.
    pub points: i64,
    /// The budget after the last request, from `rateLimit` or the headers.
    pub budget: Option<Budget>,
    /// Cost of the last request, to plan the next one.
    pub last_cost: Option<i64>,
    /// The page size that finally worked: smaller than asked after timeouts.
    pub size: i64,
    /// Whether timeouts made the page smaller than asked.
    pub shrunk: bool,
    /// Follow-ups per request at the end, when timeouts or partial answers
    /// made it smaller than it began.
    pub detail_ids: Option<usize>,
    /// PRs the page held, those left out as unchanged (a sweep's) included.
    pub seen: usize,
}

impl FetchedPage {
    pub(super) fn note_budget(&mut self, headers: Option<Budget>, body: Option<&wire::RateLimit>) {
        self.budget = headers;
        if let Some(r) = body {
            self.last_cost = Some(r.cost);
            self.budget = Some(r.budget);
        }
    }
}

/// One chunk in flight.
#[derive(Default)]
pub(super) struct Assembly {
    pub(super) page: FetchedPage,
    /// The cursor the page began after: the chunk is stored only from there.
    pub(super) began_after: Option<String>,
    pr_index: HashMap<String, usize>,
    review_pr: HashMap<String, usize>,
    seen_reviews: HashSet<i64>,
    seen_comments: HashSet<i64>,
    pub(super) work: VecDeque<Work>,
}

impl Assembly {
    /// A page as it came: its PRs, and what they still need (`changed_after`:
    /// a sweep's watermark, PRs updated no later left out). `holes`: the
    /// PRs whose reviews a partial answer nulled, read again from the start.
    pub(super) fn from_page(
        connection: Connection<wire::PullRequest>,
        holes: &[usize],
        began_after: Option<String>,
        size: i64,
        changed_after: Option<DateTime<Utc>>,
    ) -> Result<Assembly, GithubError> {
        let mut asm = Assembly { began_after, ..Assembly::default() };
        asm.page.size = size;
        asm.page.has_next_page = connection.page_info.has_next_page;
        asm.page.end_cursor = connection.page_info.end_cursor;
        asm.page.total_count = connection.total_count;
        asm.page.seen = connection.nodes.len();
        for (at, wire_pr) in connection.nodes.into_iter().enumerate() {
            let Some(mut wire_pr) = wire_pr else { continue };
            // A sweep's PR updated no later than its watermark is as stored.
            if changed_after.is_some_and(|t| wire_pr.updated_at <= t) {
                continue;
            }
            let pr = model::pull_request(&mut wire_pr)?;
            let idx = asm.page.prs.len();
            asm.pr_index.insert(pr.node_id.clone(), idx);
            let id = pr.node_id.clone();
            asm.page.prs.push(pr);
            match wire_pr.reviews {
                Some(reviews) if !holes.contains(&at) => asm.first_window(Conn::Reviews, &id, reviews.into())?,
                // Nulled by a partial answer: fetched again, from the start.
                _ => asm.work.push_back(Work::FromStart { conn: Conn::Reviews, id: id.clone() }),
            }
            asm.first_window(Conn::IssueComments, &id, wire_pr.comments.into())?;
        }
        Ok(asm)
    }

    /// A connection's first window (inline, or asked from the start).
    pub(super) fn first_window(&mut self, conn: Conn, id: &str, window: Window) -> Result<(), GithubError> {
        let got = window.items.len();
        self.take(conn, id, window.items)?;
        // `totalCount`, not `hasNextPage`, says whether there is more: GitHub
        // has been seen to end a connection's pages too early.
        if window.total > got {
            let front = Some(window.end_cursor.ok_or_else(|| no_cursor(conn))?);
            let ends = Ends { conn, id: id.to_string(), front, back: None, got, total: window.total };
            self.work.push_back(Work::Ends(ends));
        }
        Ok(())
    }

    /// The next windows of a connection read from both ends; it goes on
    /// until they meet, or until a round brings nothing.
    pub(super) fn next_windows(&mut self, mut e: Ends, front: Window, back: Option<Window>) -> Result<(), GithubError> {
        let (asked_front, asked_back) = (e.front_size(), e.back_size());
        let read = front.items.len() + back.as_ref().map_or(0, |b| b.items.len());
        let front_ended = front.items.len() < asked_front || !front.more;
        let back_short = back.as_ref().is_none_or(|b| b.items.len() < asked_back);
        e.got += read;
        e.total = front.total.max(back.as_ref().map_or(0, |b| b.total));
        self.take(e.conn, &e.id, front.items)?;
        if front.end_cursor.is_some() {
            e.front = front.end_cursor;
        }
        if let Some(back) = back {
            e.back = back.start_cursor.or(e.back.take());
            self.take(e.conn, &e.id, back.items)?;
        }
        let done = e.got >= e.total || read == 0 || (front_ended && back_short);
        if !done {
            self.work.push_back(Work::Ends(e));
        }
        Ok(())
    }

    /// Items of one connection into the chunk, each once. A review with
    /// comments owes them.
    fn take(&mut self, conn: Conn, id: &str, items: Items) -> Result<(), GithubError> {
        match (conn, items) {
            (Conn::Reviews, Items::Reviews(list)) => {
                let Some(&pr) = self.pr_index.get(id) else { return Ok(()) };
                for r in list.into_iter().flatten() {
                    let comments = r.comments.as_ref().map_or(0, |c| usize::try_from(c.total_count).unwrap_or(0));
                    let review = model::review(r)?;
                    if self.seen_reviews.insert(review.github_id) {
                        self.review_pr.insert(review.node_id.clone(), pr);
                        let id = review.node_id.clone();
                        // Over a window: read from both ends at once, as
                        // the count is known.
                        let conn = Conn::ReviewComments;
                        match comments {
                            0 => {}
                            1..=WINDOW => self.work.push_back(Work::FromStart { conn, id }),
                            total => {
                                let ends = Ends { conn, id, front: None, back: None, got: 0, total };
                                self.work.push_back(Work::Ends(ends));
                            }
                        }
                        self.page.prs[pr].reviews.push(review);
                    }
                }
            }
            (Conn::IssueComments, Items::IssueComments(list)) => {
                let Some(&pr) = self.pr_index.get(id) else { return Ok(()) };
                for c in list.into_iter().flatten() {
                    let comment = model::issue_comment(c)?;
                    if self.seen_comments.insert(comment.github_id) {
                        self.page.prs[pr].comments.push(comment);
                    }
                }
            }
            (Conn::ReviewComments, Items::ReviewComments(list)) => {
                let Some(&pr) = self.review_pr.get(id) else { return Ok(()) };
                for c in list.into_iter().flatten() {
                    let comment = model::review_comment(c)?;
                    if self.seen_comments.insert(comment.github_id) {
                        self.page.prs[pr].comments.push(comment);
                    }
                }
            }
            _ => return Err(GithubError::Other("an answer of the wrong kind for its connection".into())),
        }
        Ok(())
    }

    /// The PR an id (a PR's or a review's) belongs to, as a person names it.
    pub(super) fn pr_named_by(&self, id: &str) -> Option<String> {
        let pr = self.pr_index.get(id).or_else(|| self.review_pr.get(id));
        pr.and_then(|&i| self.page.prs.get(i)).map(|p| format!("PR #{}", p.number))
    }

    pub(super) fn holds(&self, id: &str) -> bool {
        self.pr_index.contains_key(id) || self.review_pr.contains_key(id)
    }
}

fn no_cursor(conn: Conn) -> GithubError {
    GithubError::ServerError(format!("GitHub reported more {conn:?} but no cursor to them"))
}

/// A window of one connection, whatever its items.
pub(super) struct Window {
    pub(super) items: Items,
    pub(super) total: usize,
    pub(super) more: bool,
    pub(super) end_cursor: Option<String>,
    pub(super) start_cursor: Option<String>,
}

pub(super) enum Items {
    Reviews(Vec<Option<wire::Review>>),
    IssueComments(Vec<Option<wire::IssueComment>>),
    ReviewComments(Vec<Option<wire::ReviewComment>>),
}

impl Items {
    fn len(&self) -> usize {
        match self {
            Items::Reviews(v) => v.len(),
            Items::IssueComments(v) => v.len(),
            Items::ReviewComments(v) => v.len(),
        }
    }
}

macro_rules! window_from {
    ($t:ty, $variant:ident) => {
        impl From<Connection<$t>> for Window {
            fn from(c: Connection<$t>) -> Window {
                Window {
                    items: Items::$variant(c.nodes),
                    total: usize::try_from(c.total_count).unwrap_or(0),
                    more: c.page_info.has_next_page,
                    end_cursor: c.page_info.end_cursor,
                    start_cursor: c.page_info.start_cursor,
                }
            }
        }
    };
}
window_from!(wire::Review, Reviews);
window_from!(wire::IssueComment, IssueComments);
window_from!(wire::ReviewComment, ReviewComments);

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
