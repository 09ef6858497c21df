//! What goes in the next request: a pure function of what the chunks in
//! flight still need, the node limit learned so far (`limits`), and the
//! budget.
//!
//! - A page is asked while there are pages left and the caller means to
//!   take more chunks than are in flight (at most five in flight).
//! - Follow-ups ride along with it, oldest chunk first, packed by GitHub's
//!   cost formula up to a rounding boundary (`cost::pack`), at most
//!   `MAX_FOLLOW_UPS` counted requests; a fraction of a point waits for the
//!   next request when one is coming anyway.
//! - Enough follow-ups for a full request of their own go alone first,
//!   when the ration of extra requests allows (`cost::may_add_request`).
//! - The request asks no more nodes than the limit: beside a page the
//!   follow-ups take at most half of it, and the page takes the rest by
//!   asking fewer of each PR's reviews and comments inline (down to
//!   `MIN_INLINE`), and only then fewer PRs. Follow-ups alone take what
//!   fits, at least one.
//! - A request never costs more points than the budget has left: it takes
//!   fewer follow-ups (a request without a page still takes one).

use super::cost;
use super::document::{INLINE, MIN_INLINE};
use super::limits::MAX_FOLLOW_UPS;

/// How many chunks may be in flight at once: the oldest and the pages
/// fetched ahead of it, whose follow-ups fill the requests' spare room.
pub const MAX_IN_FLIGHT: usize = 5;

/// One follow-up owed: what it adds to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owed {
    /// Counted requests, by GitHub's cost formula.
    pub counted: u64,
    /// Nodes, by GitHub's count.
    pub nodes: u64,
}

/// What the chunks in flight still need, and what constrains the request.
#[derive(Debug, Clone)]
pub struct Needs<'a> {
    /// The follow-ups owed, oldest chunk first.
    pub follow_ups: &'a [Owed],
    /// Whether GitHub has more pages after the last one fetched.
    pub more_pages: bool,
    /// Chunks in flight, and how many more the caller means to take after
    /// the next one.
    pub in_flight: usize,
    pub ahead: usize,
    /// PRs a page asks for.
    pub page_size: i64,
    /// Requests sent and pages fetched so far, for the ration.
    pub requests: u32,
    pub pages: u32,
    /// The most nodes one request may ask.
    pub node_limit: u64,
    /// Points the request may cost, when known: what GitHub has left in the
    /// window of the credential it goes out on, less the reserve.
    pub budget: Option<i64>,
}

/// The page part of a request: its PRs, and each PR's reviews and issue
/// comments asked inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PagePlan {
    pub size: i64,
    pub inline: i64,
}

/// One request: a page (or none) and the first `follow_ups` follow-ups owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestPlan {
    pub page: Option<PagePlan>,
    pub follow_ups: usize,
}

pub fn plan_request(needs: &Needs<'_>) -> RequestPlan {
    let counted: Vec<u64> = needs.follow_ups.iter().map(|o| o.counted).collect();
    let alone_first = counted.iter().sum::<u64>() >= cost::FOLLOW_UPS_FOR_A_REQUEST_OF_THEIR_OWN
        && cost::may_add_request(needs.requests, needs.pages);
    let wanted = needs.ahead.saturating_add(1).min(MAX_IN_FLIGHT);
    let page_wanted = needs.more_pages && needs.in_flight < wanted && !alone_first;
    let size = needs.page_size.max(1);
    // Another request is coming anyway while pages are still to be asked
    // beyond those in flight: a fraction of a point can wait for it.
    let more_requests = page_wanted || (needs.more_pages && needs.ahead.saturating_add(1) > needs.in_flight);
    let page_cost = if page_wanted { cost::page_cost(size) } else { 0 };
    let mut follow_ups = cost::pack(page_cost, &counted, MAX_FOLLOW_UPS as u64, more_requests);
    let nodes = |n: usize| needs.follow_ups[..n].iter().map(|o| o.nodes).sum::<u64>();
    let page = if page_wanted {
        while follow_ups > 0 && nodes(follow_ups) > needs.node_limit / 2 {
            follow_ups -= 1;
        }
        Some(fit_page(size, needs.node_limit.saturating_sub(nodes(follow_ups))))
    } else {
        while follow_ups > 1 && nodes(follow_ups) > needs.node_limit {
            follow_ups -= 1;
        }
        None
    };
    if let Some(left) = needs.budget {
        let page_cost = page.map_or(0, |p| cost::page_cost(p.size));
        let least = usize::from(page.is_none()).min(follow_ups);
        let counted = |n: usize| page_cost + counted[..n].iter().sum::<u64>();
        while follow_ups > least && cost::points(counted(follow_ups)) > left {
            follow_ups -= 1;
        }
    }
    RequestPlan { page, follow_ups }
}

/// A page of `size` PRs in `room` nodes: the inline window shrinks first,
/// then the PRs.
fn fit_page(size: i64, room: u64) -> PagePlan {
    let per_pr = room / u64::try_from(size).unwrap_or(1).max(1);
    let inline = i64::try_from(per_pr.saturating_sub(1) / 2).unwrap_or(INLINE).min(INLINE);
    if inline >= MIN_INLINE {
        return PagePlan { size, inline };
    }
    let fits = room / cost::page_nodes(1, MIN_INLINE);
    PagePlan { size: i64::try_from(fits).unwrap_or(1).clamp(1, size), inline: MIN_INLINE }
}

/// The first pages of many small repositories (all their PRs in a page),
/// asked several to a request: how many pages from the front of the queue,
/// and how many follow-ups, by the same cost rules.
#[derive(Debug, Clone)]
pub struct FleetNeeds<'a> {
    /// The pages not yet asked, in order: what each adds to a request at
    /// the full inline window.
    pub pages: &'a [Owed],
    pub follow_ups: &'a [Owed],
    /// Chunks fetched and not yet whole.
    pub in_flight: usize,
    pub node_limit: u64,
    pub budget: Option<i64>,
}

/// Chunks of a fleet's first pages in flight at most: their follow-ups go
/// before more pages, so that whole chunks are stored, not held.
pub const MAX_FLEET_IN_FLIGHT: usize = 30;

/// A request of a fleet's first pages: `pages` from the front of the
/// queue, all asked with `inline` of each PR's reviews and comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetPlan {
    pub pages: usize,
    pub inline: i64,
    pub follow_ups: usize,
}

/// Pages go together up to two points (249 counted requests, the boundary
/// the packer stops at beside a page) and half the node limit, at least one;
/// follow-ups fill the rest. Follow-ups enough for a request of their own,
/// or too many chunks in flight, go alone first.
pub fn plan_fleet_request(needs: &FleetNeeds<'_>) -> FleetPlan {
    let counted: Vec<u64> = needs.follow_ups.iter().map(|o| o.counted).collect();
    let owed: u64 = counted.iter().sum();
    let pages_now = !needs.pages.is_empty()
        && needs.in_flight < MAX_FLEET_IN_FLIGHT
        && owed < cost::FOLLOW_UPS_FOR_A_REQUEST_OF_THEIR_OWN;
    let nodes = |n: usize| needs.follow_ups[..n].iter().map(|o| o.nodes).sum::<u64>();
    if !pages_now {
        let mut follow_ups = cost::pack(0, &counted, MAX_FOLLOW_UPS as u64, !needs.pages.is_empty());
        while follow_ups > 1 && nodes(follow_ups) > needs.node_limit {
            follow_ups -= 1;
        }
        let follow_ups = within_budget(needs.budget, 0, &counted, follow_ups, 1);
        return FleetPlan { pages: 0, inline: INLINE, follow_ups };
    }
    let (mut pages, mut page_counted, mut page_nodes) = (0, 0, 0);
    for p in needs.pages {
        let fits = page_counted + p.counted <= 249 && page_nodes + p.nodes <= needs.node_limit / 2;
        if pages > 0 && !fits {
            break;
        }
        (pages, page_counted, page_nodes) = (pages + 1, page_counted + p.counted, page_nodes + p.nodes);
    }
    // One page over the limit alone asks fewer of its PRs' items inline.
    let inline = match pages {
        1 if page_nodes > needs.node_limit => {
            let size = i64::try_from(needs.pages[0].counted.saturating_sub(1) / 2).unwrap_or(1);
            fit_page(size, needs.node_limit).inline
        }
        _ => INLINE,
    };
    let room = needs.node_limit.saturating_sub(page_nodes.min(needs.node_limit));
    let mut follow_ups = cost::pack(page_counted, &counted, MAX_FOLLOW_UPS as u64, true);
    while follow_ups > 0 && nodes(follow_ups) > room {
        follow_ups -= 1;
    }
    let follow_ups = within_budget(needs.budget, page_counted, &counted, follow_ups, 0);
    // Then fewer pages, down to one.
    while let Some(left) = needs.budget.filter(|_| pages > 1 && follow_ups == 0) {
        if cost::points(page_counted) <= left {
            break;
        }
        pages -= 1;
        page_counted -= needs.pages[pages].counted;
    }
    FleetPlan { pages, inline, follow_ups }
}

/// The follow-ups (at least `least`) whose request the budget pays for.
fn within_budget(
    budget: Option<i64>,
    page_counted: u64,
    counted: &[u64],
    mut follow_ups: usize,
    least: usize,
) -> usize {
    if let Some(left) = budget {
        let least = least.min(follow_ups);
        while follow_ups > least && cost::points(page_counted + counted[..follow_ups].iter().sum::<u64>()) > left {
            follow_ups -= 1;
        }
    }
    follow_ups
}

impl RequestPlan {
    /// Whether a request as small as this one can be asked smaller: a page
    /// of more than one PR or more than the least inline, or more than one
    /// follow-up.
    pub fn can_shrink(&self) -> bool {
        match self.page {
            Some(p) => p.size > 1 || p.inline > MIN_INLINE || self.follow_ups > 0,
            None => self.follow_ups > 1,
        }
    }
}

#[cfg(test)]
mod tests;
