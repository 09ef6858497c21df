//! The requests of a run's chunks of one backfill, as few as GitHub's cost
//! formula allows. Each request carries the follow-ups of the chunks in
//! flight (oldest first) and, when the run takes more chunks, the next
//! page: chunk k's follow-ups travel with chunk k+1's page. Chunks still
//! come out whole and in order, and the caller stores each alone; a crash
//! loses at most the pages fetched ahead.
//!
//! One request, in four steps, each a file of its own:
//! 1. `plan`: what goes in it, a pure function of what the chunks in
//!    flight still need, the learned limits and the budget;
//! 2. `document`: the GraphQL document of that plan, and where each
//!    follow-up's answer will sit;
//! 3. `GithubClient::query_checked` (`client.rs`): sent, paced, retried;
//! 4. `assemble`: the answer put into the chunks in flight (`chunk`).
//!
//! Each request asks no more nodes than a limit learned request by request
//! (`limits`): a real timeout cuts it and the request is planned again
//! within it, whole answers grow it back. What a partial answer nulled is
//! asked again; one follow-up that keeps failing alone fails the chunk,
//! naming its PR.

mod assemble;
mod chunk;
pub mod cost;
pub mod document;
pub mod fleet;
pub mod follow_up;
pub mod limits;
mod partial;
pub mod plan;

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};

use self::assemble::{InFlight, Taken};
use self::chunk::Fetched;
use self::document::{document, Answer, FirstPage, Layout, Order, PageSpec};
use self::follow_up::{estimate, FollowUp};
use self::limits::NodeLimit;
use self::plan::{plan_request, Needs, RequestPlan};
use super::client::{GithubClient, Reply};
use super::error::{GithubError, Retry};
use crate::text::one_line;

pub use self::chunk::FetchedChunk;

/// A chunk that needs more requests than this is not converging (a cursor
/// that does not advance): fail it rather than spend the budget.
const MAX_REQUESTS_PER_CHUNK: u32 = 2_000;
/// Partial answers one follow-up may get, in requests of one, before its chunk fails.
const MAX_STRIKES: u32 = 4;

pub struct Pipeline {
    owner: String,
    name: String,
    order: Order,
    /// A sweep's watermark: PRs updated no later are left out of its chunks.
    changed_after: Option<DateTime<Utc>>,
    in_flight: InFlight,
    /// Where the next page begins, whether there is one, and the number of
    /// the PR before it (to name the next one in errors).
    next_after: Option<String>,
    more_pages: bool,
    after_number: Option<i32>,
    /// Requests sent (retries included) not yet counted to a chunk.
    uncounted: u32,
    /// Requests planned and pages fetched, to ration the requests that save points.
    requests: u32,
    pages: u32,
    node_limit: NodeLimit,
    /// Partial answers each follow-up (by node id) got.
    strikes: HashMap<String, u32>,
    /// A fleet's first pages not yet asked (`fleet`), and the repositories
    /// whose page could not be had, not yet handed out.
    queue: VecDeque<FirstPage>,
    failed: VecDeque<Fetched>,
    /// A refetch's PRs (`refetch`) not yet asked, by node id: its pages
    /// take them in turn instead of reading the repository's.
    ids: Option<VecDeque<String>>,
}

impl Pipeline {
    /// A backfill's chunks after `after` (the PR numbered `after_number`),
    /// oldest created first; `node_limit`: what the repository taught.
    pub fn new(
        owner: &str,
        name: &str,
        after: Option<&str>,
        after_number: Option<i32>,
        node_limit: Option<u64>,
    ) -> Pipeline {
        Pipeline {
            owner: owner.to_string(),
            name: name.to_string(),
            order: Order::Created,
            changed_after: None,
            in_flight: InFlight::default(),
            next_after: after.map(str::to_string),
            more_pages: true,
            after_number,
            uncounted: 0,
            requests: 0,
            pages: 0,
            node_limit: NodeLimit::new(node_limit),
            strikes: HashMap::new(),
            queue: VecDeque::new(),
            failed: VecDeque::new(),
            ids: None,
        }
    }

    /// The PRs of `ids` (node ids) of `owner/name`, refetched whole in
    /// chunks of a page each: a repair's, stored like a sweep's pages.
    /// Ids GitHub no longer answers for are left out.
    pub fn refetch(owner: &str, name: &str, ids: Vec<String>, node_limit: Option<u64>) -> Pipeline {
        let mut pipeline = Pipeline::new(owner, name, None, None, node_limit);
        pipeline.more_pages = !ids.is_empty();
        pipeline.ids = Some(ids.into());
        pipeline
    }

    /// A refetch with nothing left to ask or hand out.
    pub fn exhausted(&self) -> bool {
        self.ids.as_ref().is_some_and(VecDeque::is_empty) && self.in_flight.is_empty()
    }

    /// A sweep of the repository's PRs, most recently updated first, whose
    /// chunks hold only those updated after `changed_after`, refetched whole.
    pub fn sweep(
        owner: &str,
        name: &str,
        after: Option<&str>,
        changed_after: DateTime<Utc>,
        node_limit: Option<u64>,
    ) -> Pipeline {
        let mut pipeline = Pipeline::new(owner, name, after, None, node_limit);
        pipeline.order = Order::RecentlyUpdated;
        pipeline.changed_after = Some(changed_after);
        pipeline
    }

    /// The cursor the next chunk handed out begins after.
    pub fn begins_after(&self) -> Option<&str> {
        match self.in_flight.oldest_began_after() {
            Some(began_after) => began_after,
            None => self.next_after.as_deref(),
        }
    }

    /// The next chunk, whole: pages of `size` PRs, and `ahead` more chunks
    /// the caller means to take, whose pages may be fetched alongside.
    pub async fn next_chunk(
        &mut self,
        client: &GithubClient,
        size: i64,
        ahead: usize,
    ) -> Result<FetchedChunk, GithubError> {
        // Asked for a chunk past the last page: GitHub may have said so too
        // early, so the cursor is asked again.
        if self.in_flight.is_empty() {
            self.more_pages = self.ids.as_ref().is_none_or(|ids| !ids.is_empty());
        }
        if self.exhausted() {
            return Ok(FetchedChunk::default());
        }
        let mut requests = 0;
        loop {
            if let Some(mut chunk) = self.in_flight.pop_whole() {
                chunk.node_limit = self.node_limit.learned();
                return Ok(chunk);
            }
            if requests >= MAX_REQUESTS_PER_CHUNK {
                return Err(GithubError::Other(format!(
                    "the chunk needed over {MAX_REQUESTS_PER_CHUNK} requests; stopped"
                )));
            }
            requests += 1;
            self.request(client, size, ahead).await?;
        }
    }

    /// One request: planned, its document built, sent, its answer assembled.
    async fn request(&mut self, client: &GithubClient, size: i64, ahead: usize) -> Result<(), GithubError> {
        let owed = self.in_flight.owed();
        let plan = plan_request(&Needs {
            follow_ups: &owed,
            more_pages: self.more_pages,
            in_flight: self.in_flight.len(),
            ahead,
            page_size: size,
            requests: self.requests,
            pages: self.pages,
            node_limit: self.node_limit.now(),
            // On the credential the request goes out on, less the reserve.
            budget: client.spendable(),
        });
        self.requests += 1;
        let taken = self.in_flight.take(plan.follow_ups);
        let after = self.next_after.clone();
        // A refetch's page: its next ids, taken off only once answered.
        let ids: Option<Vec<String>> = match (&self.ids, plan.page) {
            (Some(ids), Some(p)) => Some(ids.iter().take(usize::try_from(p.size).unwrap_or(1)).cloned().collect()),
            _ => None,
        };
        let page = plan.page.map(|p| PageSpec {
            owner: &self.owner,
            name: &self.name,
            after: after.as_deref(),
            size: p.size,
            inline: p.inline,
            order: self.order,
            ids: ids.as_deref(),
        });
        let follow_ups: Vec<&FollowUp> = taken.iter().map(|(_, f)| f).collect();
        let nodes = estimate(plan.page.map(|p| (p.size, p.inline)), &follow_ups).nodes;
        let (body, layout) = document(page.as_slice(), &follow_ups);
        let can_shrink = plan.can_shrink();
        let sent_before = client.requests_sent();
        let answer = client.query_checked(&body, can_shrink, &partial::repairable).await;
        self.uncounted += client.requests_sent().wrapping_sub(sent_before);
        match answer {
            Ok(reply) => self.assemble(reply, plan, size, nodes, after, &layout, taken, ids.as_deref()),
            Err(e) if e.asks_for_less() && can_shrink => {
                self.in_flight.give_back(taken);
                match e.meaning().retry {
                    Retry::SmallerThisOnce => self.node_limit.failed_twice(nodes),
                    Retry::Smaller | Retry::SmallerAtOnce => self.node_limit.timed_out(nodes),
                    Retry::GiveUp | Retry::Again | Retry::AfterRetryAfter(_) => {}
                }
                Ok(())
            }
            Err(e) if e.asks_for_less() => Err(e.asked_alone(&self.whose(plan.page.is_some(), &taken))),
            Err(e) => Err(e),
        }
    }

    /// The answer put into the chunks in flight: the page it brought as a
    /// new chunk, each follow-up's part into its chunk.
    #[allow(clippy::too_many_arguments)]
    fn assemble(
        &mut self,
        reply: Reply<Answer>,
        plan: RequestPlan,
        size: i64,
        nodes: u64,
        after: Option<String>,
        layout: &Layout,
        taken: Vec<Taken>,
        ids: Option<&[String]>,
    ) -> Result<(), GithubError> {
        // A request counts to the chunk whose page it brought, else to the
        // oldest in flight: every chunk has at least its page's request,
        // and none is counted twice.
        let sent = std::mem::take(&mut self.uncounted);
        let rate_limit = reply.data.as_ref().and_then(Answer::rate_limit);
        self.in_flight.note_budget(reply.budget, rate_limit.as_ref());
        if plan.page.is_none() {
            self.in_flight.count_to_oldest(sent);
        }
        let reset_at = reply.budget.and_then(|b| b.reset_at);
        let (data, holes) = partial::usable(reply.data, &reply.errors, reset_at)?;
        if let Some(page) = plan.page {
            let full_name = format!("{}/{}", self.owner, self.name);
            let alias = layout.pages.first().map_or(document::PAGE_ALIAS, String::as_str);
            let connection = match ids {
                Some(ids) => {
                    let queue = self.ids.get_or_insert_with(VecDeque::new);
                    queue.drain(..ids.len().min(queue.len()));
                    assemble::listed_page(&data, alias, !queue.is_empty())?
                }
                None => assemble::page_of(&data, alias, &reply.errors, reset_at, &full_name)?,
            };
            let chunk = self.in_flight.push_page(0, alias, connection, &holes, after, page.size, self.changed_after)?;
            chunk.shrunk = page.size < size;
            chunk.requests = sent;
            chunk.note_budget(reply.budget, rate_limit.as_ref());
            self.next_after = chunk.end_cursor.clone();
            self.more_pages = chunk.has_next_page;
            self.after_number = chunk.prs.last().map(|p| p.number).or(self.after_number);
            self.pages += 1;
        }
        let struck = assemble::struck(layout, &holes);
        let alone = plan.page.is_none() && taken.len() == 1;
        let again = self.in_flight.absorb(&data, layout, taken, &struck)?;
        if again.is_empty() {
            self.node_limit.whole(nodes);
            return Ok(());
        }
        self.ask_again(again, alone, nodes, &reply.errors)
    }

    /// Follow-ups a partial answer left out go back to the front; one left
    /// out twice is asked in smaller requests (`alone`: the request of
    /// `nodes` held only it).
    fn ask_again(
        &mut self,
        again: Vec<Taken>,
        alone: bool,
        nodes: u64,
        errors: &[super::wire::ApiError],
    ) -> Result<(), GithubError> {
        let mut smaller = false;
        for (_, follow_up) in &again {
            let strikes = self.strikes.entry(follow_up.id().to_string()).or_insert(0);
            *strikes += 1;
            smaller |= *strikes >= 2;
            if *strikes > MAX_STRIKES && alone {
                let why = GithubError::ResourceLimits(one_line(&partial::message(errors)));
                let who = self.whose(false, std::slice::from_ref(&(0, follow_up.clone())));
                return Err(GithubError::Other(format!("{who}, asked alone, still failed: {why}")));
            }
        }
        self.in_flight.give_back(again);
        if smaller {
            self.node_limit.over_resource_limits(nodes);
        }
        Ok(())
    }

    /// Whom a request as small as it gets was for, as a person names it.
    fn whose(&self, page: bool, taken: &[Taken]) -> String {
        let Some((_, first)) = taken.first().filter(|_| !page) else {
            return self.after_number.map_or_else(|| "the first PR".to_string(), |n| format!("the PR after #{n}"));
        };
        let id = first.id();
        self.in_flight.pr_named_by(id).unwrap_or_else(|| format!("node {id}"))
    }
}

#[cfg(test)]
mod assemble_tests;
#[cfg(test)]
mod tests;
