//! An answer put into the chunks in flight: the page it brought becomes a
//! new chunk at the back, and each follow-up's part goes into the chunk that
//! owes it. `InFlight` holds the chunks, oldest first, hands their
//! follow-ups out to requests, and takes back those an answer left out.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;

use super::chunk::{unparsable, Assembly, FetchedChunk};
use super::document::{Answer, Layout};
use super::follow_up::FollowUp;
use super::partial::Hole;
use super::plan::Owed;
use crate::budget::Budget;
use crate::github::error::GithubError;
use crate::github::wire::{self, ApiError, Connection};

/// A follow-up handed to a request, with the place in flight of the chunk
/// that owes it.
pub(super) type Taken = (usize, FollowUp);

/// The chunks fetched and not yet handed out, oldest first.
#[derive(Default)]
pub(super) struct InFlight {
    chunks: VecDeque<Assembly>,
}

impl InFlight {
    pub(super) fn len(&self) -> usize {
        self.chunks.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// The cursor the oldest chunk's page began after, when one is in flight.
    pub(super) fn oldest_began_after(&self) -> Option<Option<&str>> {
        self.chunks.front().map(|c| c.began_after.as_deref())
    }

    /// What each follow-up owed adds to a request, oldest chunk first.
    pub(super) fn owed(&self) -> Vec<Owed> {
        let owed = |f: &FollowUp| Owed { counted: f.cost(), nodes: f.nodes() };
        self.chunks.iter().flat_map(|c| c.follow_ups.iter().map(owed)).collect()
    }

    /// The first `n` follow-ups owed, oldest chunk first.
    pub(super) fn take(&mut self, mut n: usize) -> Vec<Taken> {
        let mut out = Vec::with_capacity(n);
        for (slot, chunk) in self.chunks.iter_mut().enumerate() {
            while n > 0 {
                let Some(follow_up) = chunk.follow_ups.pop_front() else { break };
                out.push((slot, follow_up));
                n -= 1;
            }
        }
        out
    }

    /// Follow-ups back where they were, in order.
    pub(super) fn give_back(&mut self, taken: Vec<Taken>) {
        for (slot, follow_up) in taken.into_iter().rev() {
            if let Some(chunk) = self.chunks.get_mut(slot) {
                chunk.follow_ups.push_front(follow_up);
            }
        }
    }

    /// The oldest chunk, once it owes nothing.
    pub(super) fn pop_whole(&mut self) -> Option<FetchedChunk> {
        if self.chunks.front().is_some_and(|c| c.follow_ups.is_empty()) {
            return self.chunks.pop_front().map(|c| c.chunk);
        }
        None
    }

    /// Any chunk that owes nothing, with its key and its share of points:
    /// a fleet's chunks are of different repositories, in no order.
    pub(super) fn pop_any_whole(&mut self) -> Option<(usize, FetchedChunk)> {
        let at = self.chunks.iter().position(|c| c.follow_ups.is_empty())?;
        let whole = self.chunks.remove(at)?;
        let points = Some(whole.points.round() as i64);
        Some((whole.key, FetchedChunk { points, ..whole.chunk }))
    }

    /// Adds to the chunk at `slot` its share of a request's points.
    pub(super) fn add_points(&mut self, slot: usize, points: f64) {
        if let Some(c) = self.chunks.get_mut(slot) {
            c.points += points;
        }
    }

    /// Counts a request to the chunk at `slot` (it brought that chunk's page).
    pub(super) fn count_to(&mut self, slot: usize, requests: u32) {
        if let Some(c) = self.chunks.get_mut(slot) {
            c.chunk.requests += requests;
        }
    }

    /// What an answer said of the budget, for every chunk in flight.
    pub(super) fn note_budget(&mut self, headers: Option<Budget>, body: Option<&wire::RateLimit>) {
        for c in &mut self.chunks {
            c.chunk.note_budget(headers, body);
        }
    }

    /// Requests that brought no page count to the oldest chunk in flight.
    pub(super) fn count_to_oldest(&mut self, requests: u32) {
        if let Some(oldest) = self.chunks.front_mut() {
            oldest.chunk.requests += requests;
        }
    }

    /// A page an answer brought (under `alias`), as the newest chunk;
    /// `holes`: those of the answer, of which the page's PRs whose reviews
    /// were nulled are read again.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn push_page(
        &mut self,
        key: usize,
        alias: &str,
        connection: Connection<wire::PullRequest>,
        holes: &[Hole],
        began_after: Option<String>,
        size: i64,
        changed_after: Option<DateTime<Utc>>,
    ) -> Result<&mut FetchedChunk, GithubError> {
        let nulled: Vec<usize> = holes
            .iter()
            .filter_map(|h| match h {
                Hole::PrReviews { page, index } if page == alias => Some(*index),
                Hole::PrReviews { .. } | Hole::Part { .. } => None,
            })
            .collect();
        let mut assembly = Assembly::from_page(connection, &nulled, began_after, size, changed_after)?;
        assembly.key = key;
        self.chunks.push_back(assembly);
        let newest = self.chunks.back_mut().map(|c| &mut c.chunk);
        newest.ok_or_else(|| GithubError::Other("a chunk pushed is not in flight".into()))
    }

    /// Each follow-up's part of the answer into its chunk; returns those to
    /// ask again (`struck` by a partial answer, missing, or empty where they
    /// may not be).
    pub(super) fn absorb(
        &mut self,
        data: &Answer,
        layout: &Layout,
        taken: Vec<Taken>,
        struck: &[usize],
    ) -> Result<Vec<Taken>, GithubError> {
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
        for (i, (slot, follow_up)) in taken.into_iter().enumerate() {
            let value = match (&follow_up, lists.get(&i)) {
                (FollowUp::FromStart { .. }, Some((alias, at))) => {
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
                again.push((slot, follow_up));
                continue;
            }
            let Some(chunk) = self.chunks.get_mut(slot) else { continue };
            // Missing from the answer: asked again. Null: a node deleted
            // since it was seen, gone for good.
            let Some(value) = value else {
                again.push((slot, follow_up));
                continue;
            };
            if value.trim() == "null" {
                continue;
            }
            if !chunk.absorb(&follow_up, value)? {
                again.push((slot, follow_up));
            }
        }
        Ok(again)
    }

    /// The PR an id (a PR's or a review's) belongs to, as a person names it.
    pub(super) fn pr_named_by(&self, id: &str) -> Option<String> {
        self.chunks.iter().find(|c| c.holds(id)).and_then(|c| c.pr_named_by(id))
    }
}

/// The page of PRs an answer brought under `alias`; an answer without it
/// says why (the repository is gone, or an error of GitHub's).
pub(super) fn page_of(
    data: &Answer,
    alias: &str,
    errors: &[ApiError],
    reset_at: Option<DateTime<Utc>>,
    full_name: &str,
) -> Result<Connection<wire::PullRequest>, GithubError> {
    let repository = data.parse::<Option<wire::PullRequestsOf>>(alias).transpose().map_err(unparsable)?;
    match repository.flatten() {
        Some(r) => Ok(r.pull_requests),
        None => Err(GithubError::from_api_errors(errors, reset_at)
            .unwrap_or_else(|| GithubError::NotFound(format!("repository {full_name}")))),
    }
}

/// A refetch's page (`nodes(ids:)` under `alias`) as a page of PRs; a PR
/// GitHub no longer has comes back null and is left out. `more`: ids are
/// left for the next page.
pub(super) fn listed_page(
    data: &Answer,
    alias: &str,
    more: bool,
) -> Result<Connection<wire::PullRequest>, GithubError> {
    let nodes = data.parse::<Vec<Option<wire::PullRequest>>>(alias).transpose().map_err(unparsable)?;
    let nodes = nodes.ok_or_else(|| GithubError::ServerError(format!("an answer without its `{alias}`")))?;
    let page_info = wire::PageInfo { has_next_page: more, end_cursor: None, start_cursor: None };
    Ok(Connection { total_count: nodes.iter().flatten().count() as i64, page_info, nodes })
}

/// The follow-ups (their index in the request) a partial answer struck.
pub(super) fn struck(layout: &Layout, holes: &[Hole]) -> Vec<usize> {
    holes
        .iter()
        .flat_map(|h| match h {
            Hole::Part { alias, index } => layout.struck(alias, *index),
            Hole::PrReviews { .. } => Vec::new(),
        })
        .collect()
}
