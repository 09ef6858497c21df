//! One chunk as it is put together: its page of PRs, and the follow-ups
//! still owed before it is whole. The requests themselves are the
//! pipeline's, which asks for the follow-ups of several chunks and the next
//! page in one request; `assemble` hands each answer to its chunk.
//!
//! The page brings each PR with its first 100 reviews and issue comments,
//! and each review's comment count. What it leaves becomes follow-ups: the
//! comments of each review that has any (one counted request per review,
//! the least GitHub's formula allows), and the rest of any connection longer
//! than its window, read from both ends at once.

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};

use super::follow_up::{window_for, Conn, Ends, FollowUp, WINDOW};
use crate::budget::Budget;
use crate::github::error::GithubError;
use crate::github::model::{self, PullRequest};
use crate::github::wire::{self, Connection};

/// A chunk: a page of PRs with everything that hangs off them, and what it
/// took to fetch.
#[derive(Debug, Default)]
pub struct FetchedChunk {
    pub prs: Vec<PullRequest>,
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
    pub total_count: i64,
    /// Requests counted to this chunk, retries included: the one that
    /// brought its page, and those sent while it was the oldest in flight
    /// without a page of their own.
    pub requests: u32,
    /// The budget after the last request, from `rateLimit` or the headers.
    pub budget: Option<Budget>,
    /// The page size that finally worked: smaller than asked after timeouts.
    pub size: i64,
    /// Whether timeouts made the page smaller than asked.
    pub shrunk: bool,
    /// The node limit at the end (`limits`), when it is under the default.
    pub node_limit: Option<u64>,
    /// Its share of the points of the requests that fetched it, when it
    /// shared them with other repositories' chunks (a fleet's first pages).
    pub points: Option<i64>,
}

impl FetchedChunk {
    /// The budget after a request: the answer's own `rateLimit`, else the headers'.
    pub(super) fn note_budget(&mut self, headers: Option<Budget>, body: Option<&wire::RateLimit>) {
        self.budget = body.map(|r| r.budget).or(headers);
    }
}

/// What a fleet's fetch hands out: a chunk whole, or why a repository's
/// page could not be had (the repository's own failure), with its key.
pub type Fetched = (usize, Result<FetchedChunk, GithubError>);

/// One chunk in flight.
#[derive(Default)]
pub(super) struct Assembly {
    /// Whose chunk it is, among the first pages of a fleet (`Pipeline::fleet`).
    pub(super) key: usize,
    /// Its share of the points of the requests that fetched it, when it
    /// shared them with other repositories' chunks.
    pub(super) points: f64,
    pub(super) chunk: FetchedChunk,
    /// The cursor the page began after: the chunk is stored only from there.
    pub(super) began_after: Option<String>,
    pr_index: HashMap<String, usize>,
    review_pr: HashMap<String, usize>,
    seen_reviews: HashSet<i64>,
    seen_comments: HashSet<i64>,
    pub(super) follow_ups: VecDeque<FollowUp>,
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
        asm.chunk.size = size;
        asm.chunk.has_next_page = connection.page_info.has_next_page;
        asm.chunk.end_cursor = connection.page_info.end_cursor;
        asm.chunk.total_count = connection.total_count;
        for (at, wire_pr) in connection.nodes.into_iter().enumerate() {
            let Some(mut wire_pr) = wire_pr else { continue };
            // A sweep's PR updated no later than its watermark is as stored.
            if changed_after.is_some_and(|t| wire_pr.updated_at <= t) {
                continue;
            }
            let pr = model::pull_request(&mut wire_pr)?;
            let idx = asm.chunk.prs.len();
            asm.pr_index.insert(pr.node_id.clone(), idx);
            let id = pr.node_id.clone();
            asm.chunk.prs.push(pr);
            match wire_pr.reviews {
                Some(reviews) if !holes.contains(&at) => asm.first_window(Conn::Reviews, &id, reviews.into())?,
                // Nulled by a partial answer: fetched again, from the start.
                _ => asm.follow_ups.push_back(FollowUp::FromStart {
                    conn: Conn::Reviews,
                    id: id.clone(),
                    window: WINDOW,
                }),
            }
            asm.first_window(Conn::IssueComments, &id, wire_pr.comments.into())?;
        }
        Ok(asm)
    }

    /// A connection's first window (inline, or asked from the start).
    fn first_window(&mut self, conn: Conn, id: &str, window: Window) -> Result<(), GithubError> {
        let got = window.items.len();
        self.take(conn, id, window.items)?;
        // `totalCount`, not `hasNextPage`, says whether there is more: GitHub
        // has been seen to end a connection's pages too early.
        if window.total > got {
            let front = Some(window.end_cursor.ok_or_else(|| no_cursor(conn))?);
            let ends = Ends { conn, id: id.to_string(), front, back: None, got, total: window.total };
            self.follow_ups.push_back(FollowUp::Ends(ends));
        }
        Ok(())
    }

    /// The next windows of a connection read from both ends; it goes on
    /// until they meet, or until a request brings nothing.
    fn next_windows(&mut self, mut e: Ends, front: Window, back: Option<Window>) -> Result<(), GithubError> {
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
            self.follow_ups.push_back(FollowUp::Ends(e));
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
                            n @ 1..=WINDOW => {
                                self.follow_ups.push_back(FollowUp::FromStart { conn, id, window: window_for(n) })
                            }
                            total => {
                                let ends = Ends { conn, id, front: None, back: None, got: 0, total };
                                self.follow_ups.push_back(FollowUp::Ends(ends));
                            }
                        }
                        self.chunk.prs[pr].reviews.push(review);
                    }
                }
            }
            (Conn::IssueComments, Items::IssueComments(list)) => {
                let Some(&pr) = self.pr_index.get(id) else { return Ok(()) };
                for c in list.into_iter().flatten() {
                    let comment = model::issue_comment(c)?;
                    if self.seen_comments.insert(comment.github_id) {
                        self.chunk.prs[pr].comments.push(comment);
                    }
                }
            }
            (Conn::ReviewComments, Items::ReviewComments(list)) => {
                let Some(&pr) = self.review_pr.get(id) else { return Ok(()) };
                for c in list.into_iter().flatten() {
                    let comment = model::review_comment(c)?;
                    if self.seen_comments.insert(comment.github_id) {
                        self.chunk.prs[pr].comments.push(comment);
                    }
                }
            }
            _ => return Err(GithubError::Other("an answer of the wrong kind for its connection".into())),
        }
        Ok(())
    }

    /// One follow-up's answer into the chunk; `false` when it came back
    /// empty where it may not (to be asked again).
    pub(super) fn absorb(&mut self, follow_up: &FollowUp, value: &str) -> Result<bool, GithubError> {
        let bad = unparsable;
        match follow_up {
            FollowUp::FromStart { conn, id, .. } => {
                let window: Option<Window> = match conn {
                    Conn::Reviews => {
                        serde_json::from_str::<wire::ReviewsOfPr>(value).map_err(bad)?.reviews.map(Into::into)
                    }
                    Conn::IssueComments => {
                        serde_json::from_str::<wire::CommentsOfPr>(value).map_err(bad)?.comments.map(Into::into)
                    }
                    Conn::ReviewComments => {
                        serde_json::from_str::<wire::CommentsOfReview>(value).map_err(bad)?.comments.map(Into::into)
                    }
                };
                let Some(window) = window else { return Ok(false) };
                self.first_window(*conn, id, window)?;
            }
            FollowUp::Ends(e) => {
                let (front, back) = match e.conn {
                    Conn::Reviews => both_ends::<wire::Review>(value).map_err(bad)?,
                    Conn::IssueComments => both_ends::<wire::IssueComment>(value).map_err(bad)?,
                    Conn::ReviewComments => both_ends::<wire::ReviewComment>(value).map_err(bad)?,
                };
                let Some(front) = front else { return Ok(false) };
                if e.back_size() > 0 && back.is_none() {
                    return Ok(false);
                }
                self.next_windows(e.clone(), front, back)?;
            }
        }
        Ok(true)
    }

    /// The PR an id (a PR's or a review's) belongs to, as a person names it.
    pub(super) fn pr_named_by(&self, id: &str) -> Option<String> {
        let pr = self.pr_index.get(id).or_else(|| self.review_pr.get(id));
        pr.and_then(|&i| self.chunk.prs.get(i)).map(|p| format!("PR #{}", p.number))
    }

    pub(super) fn holds(&self, id: &str) -> bool {
        self.pr_index.contains_key(id) || self.review_pr.contains_key(id)
    }
}

fn no_cursor(conn: Conn) -> GithubError {
    GithubError::ServerError(format!("GitHub reported more {conn:?} but no cursor to them"))
}

/// An answer that is not the JSON its document asked for.
pub(super) fn unparsable(e: serde_json::Error) -> GithubError {
    GithubError::ServerError(format!("an answer that does not parse: {e}"))
}

/// A window of one connection as an answer brings it, whatever its items:
/// the page's inline ones, a follow-up's from the start, or one of two ends.
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

/// The front and back windows of a connection read from both ends.
fn both_ends<T>(value: &str) -> Result<(Option<Window>, Option<Window>), serde_json::Error>
where
    T: serde::de::DeserializeOwned,
    Connection<T>: Into<Window>,
{
    let both: wire::BothEnds<T> = serde_json::from_str(value)?;
    Ok((both.front.map(Into::into), both.back.map(Into::into)))
}
