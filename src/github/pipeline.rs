//! The requests of a run's chunks of one backfill, as few as GitHub's cost
//! formula allows. Each request carries the follow-ups of the chunks in
//! flight (oldest first) and, when the run takes more chunks, the next
//! page: chunk k's follow-ups travel with chunk k+1's page. Chunks still
//! come out whole and in order, and the caller stores each alone; a crash
//! loses at most the pages fetched ahead.
//!
//! A request GitHub times out on is split: the page goes alone, and the
//! follow-ups in requests half the size; a page alone is halved, down to
//! one PR. What a partial answer nulled is asked again; one follow-up that
//! keeps failing alone fails the chunk, naming its PR.

use std::collections::{HashMap, VecDeque};

use super::absorb::{absorb, repairable, unparsable, Caps};
use super::client::GithubClient;
use super::cost;
use super::error::GithubError;
use super::fetch::{fail_on_errors, partial_message, Assembly, FetchedPage, PageRequest};
use super::partial::{self, Hole};
use super::round::{document, Layout, Order, PageAsk, RoundData};
use super::wire;
use super::work::Work;
use crate::text::one_line;
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;

/// Chunks fetched and not yet handed out, at most: the oldest and the pages
/// fetched ahead of it, whose follow-ups fill the requests' spare room.
const MAX_IN_FLIGHT: usize = 5;
/// Counted requests of follow-ups in one request when the repository has
/// taught nothing smaller: five points' worth, well under the node limit.
pub const DEFAULT_FOLLOW_UPS: usize = 448;
/// A chunk that needs more requests than this is not converging (a cursor
/// that does not advance): fail it rather than spend the budget.
const MAX_REQUESTS_PER_CHUNK: u32 = 2_000;
/// Partial answers one follow-up may get, in requests of one, before its chunk fails.
const MAX_STRIKES: u32 = 4;

/// The whole chunk after `req.after`, alone (no page asked ahead).
pub async fn fetch_page(client: &GithubClient, req: &PageRequest<'_>) -> Result<FetchedPage, GithubError> {
    let mut pipeline = Pipeline::new(req.owner, req.name, req.after, req.after_number, req.detail_ids);
    pipeline.next_chunk(client, req.size, 0).await
}

pub struct Pipeline {
    owner: String,
    name: String,
    order: Order,
    /// A sweep's watermark: PRs updated no later are left out of its chunks.
    changed_after: Option<DateTime<Utc>>,
    in_flight: VecDeque<Assembly>,
    /// Where the next page begins, whether there is one, and the number of
    /// the PR before it (to name the next one in errors).
    next_after: Option<String>,
    more_pages: bool,
    after_number: Option<i32>,
    /// A page size timeouts taught, for the pages after.
    page_cut_to: Option<i64>,
    /// After a request with a page and follow-ups timed out, it is split:
    /// its follow-ups go first without a page (`hold_page`), then the page
    /// alone (`page_alone`).
    hold_page: bool,
    page_alone: bool,
    /// Requests sent (retries included) not yet counted to a chunk.
    uncounted: u32,
    /// Requests sent and pages fetched, to ration the requests that save points.
    rounds: u32,
    pages: u32,
    caps: Caps,
    strikes: HashMap<String, u32>,
}

impl Pipeline {
    pub fn new(
        owner: &str,
        name: &str,
        after: Option<&str>,
        after_number: Option<i32>,
        follow_ups: Option<usize>,
    ) -> Pipeline {
        let cap = follow_ups.unwrap_or(DEFAULT_FOLLOW_UPS).clamp(1, DEFAULT_FOLLOW_UPS);
        Pipeline {
            owner: owner.to_string(),
            name: name.to_string(),
            order: Order::Created,
            changed_after: None,
            in_flight: VecDeque::new(),
            next_after: after.map(str::to_string),
            more_pages: true,
            after_number,
            page_cut_to: None,
            hold_page: false,
            page_alone: false,
            uncounted: 0,
            rounds: 0,
            pages: 0,
            caps: Caps { now: cap, ceiling: cap, cut_to: None, last_cut_from: None, clean_in_a_row: 0 },
            strikes: HashMap::new(),
        }
    }

    /// A sweep of the repository's PRs, most recently updated first, whose
    /// chunks hold only those updated after `changed_after`, refetched whole.
    pub fn sweep(
        owner: &str,
        name: &str,
        after: Option<&str>,
        changed_after: DateTime<Utc>,
        follow_ups: Option<usize>,
    ) -> Pipeline {
        let mut pipeline = Pipeline::new(owner, name, after, None, follow_ups);
        pipeline.order = Order::RecentlyUpdated;
        pipeline.changed_after = Some(changed_after);
        pipeline
    }

    /// The cursor the next chunk handed out begins after.
    pub fn begins_after(&self) -> Option<&str> {
        match self.in_flight.front() {
            Some(asm) => asm.began_after.as_deref(),
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
    ) -> Result<FetchedPage, GithubError> {
        let spent_before = client.points_spent();
        let mut requests = 0;
        // Asked for a chunk past the last page: GitHub may have said so too
        // early, so the cursor is asked again.
        if self.in_flight.is_empty() {
            self.more_pages = true;
        }
        loop {
            if self.in_flight.front().is_some_and(|a| a.work.is_empty()) {
                if let Some(mut asm) = self.in_flight.pop_front() {
                    asm.page.points = client.points_spent() - spent_before;
                    asm.page.detail_ids = self.caps.cut_to.map(|_| self.caps.now).filter(|n| *n < self.caps.ceiling);
                    return Ok(asm.page);
                }
            }
            if requests >= MAX_REQUESTS_PER_CHUNK {
                return Err(GithubError::Other(format!(
                    "the chunk needed over {MAX_REQUESTS_PER_CHUNK} requests; stopped"
                )));
            }
            requests += 1;
            self.round(client, size, ahead).await?;
        }
    }

    /// One request: what goes in it, and what came back put in place.
    async fn round(&mut self, client: &GithubClient, size: i64, ahead: usize) -> Result<(), GithubError> {
        let wanted = ahead.saturating_add(1).min(MAX_IN_FLIGHT);
        let pending: Vec<u64> = self.in_flight.iter().flat_map(|a| a.work.iter().map(Work::cost)).collect();
        // Enough follow-ups for a full request of their own besides the
        // page's room: sent alone first, when the ration allows.
        let alone_first = pending.iter().sum::<u64>() >= cost::FOLLOW_UPS_FOR_A_REQUEST_OF_THEIR_OWN
            && cost::may_add_request(self.rounds, self.pages);
        let with_page = self.more_pages && self.in_flight.len() < wanted && !self.hold_page && !alone_first;
        self.hold_page = false;
        self.rounds += 1;
        let page_size = self.page_cut_to.map_or(size, |cut| cut.min(size)).max(1);
        let page_cost = if with_page { cost::page_cost(page_size) } else { 0 };
        // Another request is coming anyway while pages are still to be
        // asked beyond those in flight: a fraction of a point can wait for it.
        let more_rounds = with_page || (self.more_pages && ahead.saturating_add(1) > self.in_flight.len());
        let n = if with_page && self.page_alone {
            0
        } else {
            cost::pack(page_cost, &pending, self.caps.now as u64, more_rounds)
        };
        let taken = self.take(n);
        let after = self.next_after.clone();
        let page = with_page.then(|| PageAsk {
            owner: &self.owner,
            name: &self.name,
            after: after.as_deref(),
            size: page_size,
            order: self.order,
        });
        let items: Vec<&Work> = taken.iter().map(|(_, w)| w).collect();
        let units: usize = items.iter().map(|w| w.cost() as usize).sum();
        let (body, layout) = document(page.as_ref(), &items);
        let can_shrink = units > 1 || (with_page && (page_size > 1 || units > 0));
        let sent_before = client.requests_sent();
        let answer = client.query_checked(&body, can_shrink, &repairable).await;
        self.uncounted += client.requests_sent().wrapping_sub(sent_before);
        let reply = match answer {
            Ok(reply) => reply,
            Err(e) if e.asks_for_less() && can_shrink => {
                self.give_back(taken);
                if with_page && units > 0 {
                    (self.hold_page, self.page_alone) = (true, true);
                    self.caps.cut(units.div_ceil(2));
                } else if with_page {
                    self.page_cut_to = Some((page_size / 2).max(1));
                } else {
                    self.caps.cut(units / 2);
                }
                return Ok(());
            }
            Err(e) if e.asks_for_less() => return Err(e.asked_alone(&self.whose(with_page, &taken))),
            Err(e) => return Err(e),
        };
        // A request counts to the chunk whose page it brought, else to the
        // oldest in flight: every chunk has at least its page's request,
        // and none is counted twice.
        let sent = std::mem::take(&mut self.uncounted);
        let rate_limit = reply.data.as_ref().and_then(RoundData::rate_limit);
        for asm in self.in_flight.iter_mut() {
            asm.page.note_budget(reply.budget, rate_limit.as_ref());
        }
        if let (false, Some(oldest)) = (with_page, self.in_flight.front_mut()) {
            oldest.page.requests += sent;
        }
        let Some(data) = reply.data else {
            return Err(GithubError::from_api_errors(&reply.errors, reply.budget.and_then(|b| b.reset_at))
                .unwrap_or_else(|| GithubError::ServerError("an answer without data".into())));
        };
        fail_on_errors(&reply.errors)?;
        let holes = partial::holes(&reply.errors).unwrap_or_default();
        if with_page {
            let repository =
                data.parse::<Option<wire::PullRequestsOf>>("repository").transpose().map_err(unparsable)?;
            let Some(connection) = repository.flatten().map(|r| r.pull_requests) else {
                return Err(GithubError::from_api_errors(&reply.errors, reply.budget.and_then(|b| b.reset_at))
                    .unwrap_or_else(|| GithubError::NotFound(format!("repository {}/{}", self.owner, self.name))));
            };
            let nulled: Vec<usize> =
                holes.iter().filter_map(|h| if let Hole::PrReviews(i) = h { Some(*i) } else { None }).collect();
            let mut asm = Assembly::from_page(connection, &nulled, after, page_size, self.changed_after)?;
            asm.page.shrunk = page_size < size;
            asm.page.requests = sent;
            asm.page.note_budget(reply.budget, rate_limit.as_ref());
            self.next_after = asm.page.end_cursor.clone();
            self.more_pages = asm.page.has_next_page;
            self.after_number = asm.page.prs.last().map(|p| p.number).or(self.after_number);
            self.page_alone = false;
            self.pages += 1;
            self.in_flight.push_back(asm);
        }
        let struck: Vec<usize> = holes
            .iter()
            .flat_map(|h| match h {
                Hole::Part { alias, index } => layout.struck(alias, *index),
                Hole::PrReviews(_) => Vec::new(),
            })
            .collect();
        let again = self.put_in_place(&data, &layout, taken, &struck)?;
        if again.is_empty() {
            self.caps.grow();
            return Ok(());
        }
        self.ask_again(again, &reply.errors)
    }

    /// The first `n` follow-ups in flight, oldest chunk first, with the
    /// chunk each belongs to.
    fn take(&mut self, mut n: usize) -> Vec<(usize, Work)> {
        let mut out = Vec::with_capacity(n);
        for (slot, asm) in self.in_flight.iter_mut().enumerate() {
            while n > 0 {
                let Some(work) = asm.work.pop_front() else { break };
                out.push((slot, work));
                n -= 1;
            }
        }
        out
    }

    /// Follow-ups back where they were, in order.
    fn give_back(&mut self, taken: Vec<(usize, Work)>) {
        for (slot, work) in taken.into_iter().rev() {
            if let Some(asm) = self.in_flight.get_mut(slot) {
                asm.work.push_front(work);
            }
        }
    }

    /// Each follow-up's answer into its chunk; returns those to ask again.
    fn put_in_place(
        &mut self,
        data: &RoundData,
        layout: &Layout,
        taken: Vec<(usize, Work)>,
        struck: &[usize],
    ) -> Result<Vec<(usize, Work)>, GithubError> {
        let mut lists: HashMap<usize, (&str, usize)> = HashMap::new();
        for (alias, _, items) in &layout.lists {
            for (at, &item) in items.iter().enumerate() {
                lists.insert(item, (alias.as_str(), at));
            }
        }
        let mut list_values: HashMap<&str, Vec<Box<RawValue>>> = HashMap::new();
        for (alias, _, _) in &layout.lists {
            if let Some(Ok(v)) = data.parse::<Vec<Box<RawValue>>>(alias) {
                list_values.insert(alias.as_str(), v);
            }
        }
        let mut again = Vec::new();
        for (i, (slot, work)) in taken.into_iter().enumerate() {
            let value = match (&work, lists.get(&i)) {
                (Work::FromStart { .. }, Some((alias, at))) => {
                    list_values.get(alias).and_then(|l| l.get(*at)).map(|raw| raw.get())
                }
                _ => layout
                    .ends
                    .iter()
                    .find(|(_, item)| *item == i)
                    .and_then(|(alias, _)| data.parts.get(alias))
                    .map(|raw| raw.get()),
            };
            if struck.contains(&i) {
                again.push((slot, work));
                continue;
            }
            let Some(asm) = self.in_flight.get_mut(slot) else { continue };
            // Missing from the answer: asked again. Null: a node deleted
            // since it was seen, gone for good.
            let Some(value) = value else {
                again.push((slot, work));
                continue;
            };
            if value.trim() == "null" {
                continue;
            }
            if !absorb(asm, &work, value)? {
                again.push((slot, work));
            }
        }
        Ok(again)
    }

    /// Follow-ups a partial answer left out go back to the front; one left
    /// out twice is asked in smaller requests.
    fn ask_again(&mut self, again: Vec<(usize, Work)>, errors: &[wire::ApiError]) -> Result<(), GithubError> {
        let mut smaller = false;
        for (_, work) in &again {
            let strikes = self.strikes.entry(work.id().to_string()).or_insert(0);
            *strikes += 1;
            smaller |= *strikes >= 2;
            if *strikes > MAX_STRIKES && self.caps.now == 1 {
                let why = GithubError::ResourceLimits(one_line(&partial_message(errors)));
                let who = self.whose(false, std::slice::from_ref(&(0, work.clone())));
                return Err(GithubError::Other(format!("{who}, asked alone, still failed: {why}")));
            }
        }
        self.give_back(again);
        if smaller {
            self.caps.cut(self.caps.now / 2);
        }
        Ok(())
    }

    /// Whom a request as small as it gets was for, as a person names it.
    fn whose(&self, page: bool, taken: &[(usize, Work)]) -> String {
        if page || taken.is_empty() {
            return self.after_number.map_or_else(|| "the first PR".to_string(), |n| format!("the PR after #{n}"));
        }
        let id = taken[0].1.id();
        self.in_flight
            .iter()
            .find(|a| a.holds(id))
            .and_then(|a| a.pr_named_by(id))
            .unwrap_or_else(|| format!("node {id}"))
    }
}
