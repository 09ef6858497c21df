//! What a pipeline's request brought, put in place: each follow-up's
//! answer into its chunk, the check that a partial answer can be repaired,
//! and how many follow-ups the next request may carry.

use super::client::Reply;
use super::error::GithubError;
use super::fetch::{partial_message, Assembly, Window};
use super::partial;
use super::round::RoundData;
use super::wire;
use super::work::{Conn, Work};
use crate::text::one_line;

/// How many counted requests of follow-ups go in one request: halved when
/// GitHub times out or answers in part, grown back after clean answers.
pub(super) struct Caps {
    pub(super) now: usize,
    pub(super) ceiling: usize,
    pub(super) cut_to: Option<usize>,
    pub(super) last_cut_from: Option<usize>,
    pub(super) clean_in_a_row: u32,
}

impl Caps {
    /// Fewer follow-ups per request from now on, and remembered for the
    /// repository. A second cut at that size or more means it was size, not
    /// load: the chunk never asks that many again.
    pub(super) fn cut(&mut self, to: usize) {
        let to = to.max(1);
        if self.last_cut_from.is_some_and(|m| self.now >= m) {
            self.ceiling = self.ceiling.min(to);
        }
        self.last_cut_from = Some(self.now);
        self.now = to;
        self.cut_to = Some(self.cut_to.map_or(to, |n| n.min(to)));
        self.clean_in_a_row = 0;
    }

    /// Two whole answers in a row double the follow-ups per request again,
    /// up to the ceiling: a timeout that was load should not slow the rest.
    pub(super) fn grow(&mut self) {
        self.clean_in_a_row += 1;
        if self.clean_in_a_row >= 2 && self.now < self.ceiling {
            self.now = (self.now * 2).min(self.ceiling);
            self.clean_in_a_row = 0;
        }
    }
}

/// The page's PRs, only to see whether any came back null.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageNodes {
    pull_requests: PageNodeList,
}

#[derive(serde::Deserialize)]
struct PageNodeList {
    nodes: Vec<Option<serde::de::IgnoredAny>>,
}

/// One follow-up's answer into its chunk; `false` when it came back empty
/// where it may not (to be asked again).
pub(super) fn absorb(asm: &mut Assembly, work: &Work, value: &str) -> Result<bool, GithubError> {
    let bad = unparsable;
    match work {
        Work::FromStart { conn, id } => {
            let window: Option<Window> = match conn {
                Conn::Reviews => serde_json::from_str::<wire::ReviewsOfPr>(value).map_err(bad)?.reviews.map(Into::into),
                Conn::IssueComments => {
                    serde_json::from_str::<wire::CommentsOfPr>(value).map_err(bad)?.comments.map(Into::into)
                }
                Conn::ReviewComments => {
                    serde_json::from_str::<wire::CommentsOfReview>(value).map_err(bad)?.comments.map(Into::into)
                }
            };
            let Some(window) = window else { return Ok(false) };
            asm.first_window(*conn, id, window)?;
        }
        Work::Ends(e) => {
            let (front, back): (Option<Window>, Option<Window>) = match e.conn {
                Conn::Reviews => ends::<wire::Review>(value).map_err(bad)?,
                Conn::IssueComments => ends::<wire::IssueComment>(value).map_err(bad)?,
                Conn::ReviewComments => ends::<wire::ReviewComment>(value).map_err(bad)?,
            };
            let Some(front) = front else { return Ok(false) };
            if e.back_size() > 0 && back.is_none() {
                return Ok(false);
            }
            asm.next_windows(e.clone(), front, back)?;
        }
    }
    Ok(true)
}

pub(super) fn unparsable(e: serde_json::Error) -> GithubError {
    GithubError::ServerError(format!("an answer that does not parse: {e}"))
}

fn ends<T>(value: &str) -> Result<(Option<Window>, Option<Window>), serde_json::Error>
where
    T: serde::de::DeserializeOwned,
    wire::Connection<T>: Into<Window>,
{
    let both: wire::BothEnds<T> = serde_json::from_str(value)?;
    Ok((both.front.map(Into::into), both.back.map(Into::into)))
}

/// The checks of an answer: a partial answer is taken when every hole can
/// be asked again alone; otherwise the request is asked again smaller.
pub(super) fn repairable(reply: &Reply<RoundData>) -> Result<(), GithubError> {
    // A PR nulled without a partial-answer error to say so is no more
    // complete than one with it.
    let nulled_pr = reply
        .data
        .as_ref()
        .and_then(|d| d.parse::<Option<PageNodes>>("repository"))
        .and_then(Result::ok)
        .flatten()
        .is_some_and(|r| r.pull_requests.nodes.iter().any(Option::is_none));
    match partial::holes(&reply.errors) {
        Some(_) if !nulled_pr => Ok(()),
        _ => Err(GithubError::ResourceLimits(one_line(&partial_message(&reply.errors)))),
    }
}
