//! What goes in the next request: a pure function of what the chunks in
//! flight still need, what the pipeline has learned, and the budget.
//!
//! - A page is asked while there are pages left and the caller means to
//!   take more chunks than are in flight (at most five in flight).
//! - Follow-ups ride along with it, oldest chunk first, packed by GitHub's
//!   cost formula up to a rounding boundary (`cost::pack`), never past the
//!   follow-up limit; a fraction of a point waits for the next request
//!   when one is coming anyway.
//! - Enough follow-ups for a full request of their own go alone first,
//!   when the ration of extra requests allows (`cost::may_add_request`).
//! - A request never costs more points than the budget has left: it takes
//!   fewer follow-ups (a request without a page still takes one).
//! - After a request with a page and follow-ups timed out, it is split
//!   (`Split`): its follow-ups go first without the page, then the page
//!   alone. A page alone that timed out is halved, follow-ups alone too.

use super::cost;

/// How many chunks may be in flight at once: the oldest and the pages
/// fetched ahead of it, whose follow-ups fill the requests' spare room.
pub const MAX_IN_FLIGHT: usize = 5;

/// Where a timed-out request with a page and follow-ups stands in being
/// sent again in two parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Split {
    /// Nothing split: a request takes a page and follow-ups as they fit.
    #[default]
    None,
    /// The next request takes follow-ups only.
    FollowUpsFirst,
    /// The next page goes alone, without follow-ups.
    PageAlone,
}

impl Split {
    /// The split once a request was planned: follow-ups first, then the page.
    pub fn after_planning(self) -> Split {
        match self {
            Split::FollowUpsFirst => Split::PageAlone,
            other => other,
        }
    }
}

/// What the chunks in flight still need, and what constrains the request.
#[derive(Debug, Clone)]
pub struct Needs<'a> {
    /// The counted requests of each follow-up owed, oldest chunk first.
    pub follow_ups: &'a [u64],
    /// Whether GitHub has more pages after the last one fetched.
    pub more_pages: bool,
    /// Chunks in flight, and how many more the caller means to take after
    /// the next one.
    pub in_flight: usize,
    pub ahead: usize,
    /// PRs a page asks for (already cut by timeouts).
    pub page_size: i64,
    pub split: Split,
    /// Requests sent and pages fetched so far, for the ration.
    pub requests: u32,
    pub pages: u32,
    /// The most counted requests of follow-ups one request may carry.
    pub follow_up_limit: usize,
    /// Points GitHub has left in its window, when known.
    pub budget: Option<i64>,
}

/// One request: a page of `page` PRs (none: no page) and the first
/// `follow_ups` follow-ups owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestPlan {
    pub page: Option<i64>,
    pub follow_ups: usize,
}

pub fn plan_request(needs: &Needs<'_>) -> RequestPlan {
    let pending: u64 = needs.follow_ups.iter().sum();
    let alone_first =
        pending >= cost::FOLLOW_UPS_FOR_A_REQUEST_OF_THEIR_OWN && cost::may_add_request(needs.requests, needs.pages);
    let wanted = needs.ahead.saturating_add(1).min(MAX_IN_FLIGHT);
    let page_wanted = needs.more_pages && needs.in_flight < wanted;
    let page = (page_wanted && needs.split != Split::FollowUpsFirst && !alone_first).then(|| needs.page_size.max(1));
    let page_cost = page.map_or(0, cost::page_cost);
    // Another request is coming anyway while pages are still to be asked
    // beyond those in flight: a fraction of a point can wait for it.
    let more_requests = page.is_some() || (needs.more_pages && needs.ahead.saturating_add(1) > needs.in_flight);
    let mut follow_ups = match (page, needs.split) {
        (Some(_), Split::PageAlone) => 0,
        _ => cost::pack(page_cost, needs.follow_ups, needs.follow_up_limit as u64, more_requests),
    };
    if let Some(left) = needs.budget {
        let least = usize::from(page.is_none()).min(follow_ups);
        let counted = |n: usize| page_cost + needs.follow_ups[..n].iter().sum::<u64>();
        while follow_ups > least && cost::points(counted(follow_ups)) > left {
            follow_ups -= 1;
        }
    }
    RequestPlan { page, follow_ups }
}

/// How a request that timed out (or was too large) is asked again smaller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shrink {
    /// A page and follow-ups: split, the follow-ups first, at most this many
    /// counted requests of them per request.
    Split { follow_up_limit: usize },
    /// A page alone: half its PRs.
    HalvePage { to: i64 },
    /// Follow-ups alone: half of them.
    HalveFollowUps { follow_up_limit: usize },
}

impl RequestPlan {
    /// Whether the request can be asked smaller; `counted` is its
    /// follow-ups' counted requests.
    pub fn can_shrink(&self, counted: usize) -> bool {
        counted > 1 || self.page.is_some_and(|size| size > 1 || counted > 0)
    }

    /// The smaller request after this one timed out.
    pub fn shrink(&self, counted: usize) -> Shrink {
        match self.page {
            Some(_) if counted > 0 => Shrink::Split { follow_up_limit: counted.div_ceil(2) },
            Some(size) => Shrink::HalvePage { to: (size / 2).max(1) },
            None => Shrink::HalveFollowUps { follow_up_limit: counted / 2 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(follow_ups: &[u64]) -> Needs<'_> {
        Needs {
            follow_ups,
            more_pages: true,
            in_flight: 0,
            ahead: 1,
            page_size: 50,
            split: Split::None,
            requests: 0,
            pages: 0,
            follow_up_limit: 448,
            budget: None,
        }
    }

    fn plan(page: Option<i64>, follow_ups: usize) -> RequestPlan {
        RequestPlan { page, follow_ups }
    }

    #[test]
    fn each_request_is_planned_from_what_the_chunks_need() {
        let ones = |n: usize| vec![1u64; n];
        let (few, many, huge) = (ones(30), ones(300), ones(66));
        let two_ends = vec![2u64; 30];
        // (what is needed, the request planned)
        let cases: Vec<(&str, Needs<'_>, RequestPlan)> = vec![
            ("the first page alone", needs(&[]), plan(Some(50), 0)),
            ("a page with follow-ups", Needs { in_flight: 1, ..needs(&few) }, plan(Some(50), 30)),
            // 101 + 48 = 149 counted is one point; the 49th would make two
            ("packed to a rounding boundary", Needs { in_flight: 1, ..needs(&huge) }, plan(Some(50), 48)),
            (
                "the last request pays rather than asks again",
                Needs { in_flight: 1, more_pages: false, ..needs(&huge) },
                plan(None, 66),
            ),
            ("both-ends reads cost two each", Needs { in_flight: 1, ..needs(&two_ends) }, plan(Some(50), 24)),
            (
                "no more chunks wanted: follow-ups alone",
                Needs { in_flight: 1, ahead: 0, ..needs(&few) },
                plan(None, 30),
            ),
            ("five in flight: no page", Needs { in_flight: 5, ahead: 9, ..needs(&few) }, plan(None, 30)),
            ("enough for a request of their own go first", Needs { in_flight: 1, ..needs(&many) }, plan(None, 149)),
            (
                "...unless the ration of extra requests is spent",
                Needs { in_flight: 1, requests: 3, pages: 2, ..needs(&many) },
                plan(Some(50), 148),
            ),
            ("a page cut by timeouts", Needs { page_size: 12, ..needs(&[]) }, plan(Some(12), 0)),
            (
                "after a split: follow-ups first",
                Needs { in_flight: 1, split: Split::FollowUpsFirst, follow_up_limit: 20, ..needs(&few) },
                plan(None, 20),
            ),
            ("then the page alone", Needs { in_flight: 1, split: Split::PageAlone, ..needs(&few) }, plan(Some(50), 0)),
            (
                "a page alone waits for no page wanted",
                Needs { in_flight: 1, ahead: 0, split: Split::PageAlone, ..needs(&few) },
                plan(None, 30),
            ),
            (
                "the follow-up limit bounds a request",
                Needs { in_flight: 1, ahead: 0, follow_up_limit: 10, ..needs(&few) },
                plan(None, 10),
            ),
            (
                "a budget that pays for less takes fewer",
                Needs { in_flight: 1, more_pages: false, budget: Some(1), ..needs(&many) },
                plan(None, 149),
            ),
            (
                "a budget of one point with a page takes what one point pays",
                Needs { in_flight: 1, requests: 3, pages: 2, budget: Some(1), ..needs(&many) },
                plan(Some(50), 48),
            ),
            (
                "a spent budget still sends one follow-up",
                Needs { in_flight: 1, ahead: 0, budget: Some(0), ..needs(&few) },
                plan(None, 1),
            ),
            ("a spent budget still asks the page", Needs { budget: Some(0), ..needs(&[]) }, plan(Some(50), 0)),
        ];
        for (what, given, want) in cases {
            assert_eq!(plan_request(&given), want, "{what}");
        }
    }

    #[test]
    fn a_split_goes_follow_ups_first_then_the_page_alone() {
        let cases = [
            (Split::None, Split::None),
            (Split::FollowUpsFirst, Split::PageAlone),
            (Split::PageAlone, Split::PageAlone),
        ];
        for (before, after) in cases {
            assert_eq!(before.after_planning(), after, "{before:?}");
        }
    }

    #[test]
    fn a_request_that_timed_out_is_asked_again_smaller() {
        // (the request, its follow-ups' counted requests) -> (can shrink, how)
        let cases = [
            (plan(Some(50), 30), 30, true, Shrink::Split { follow_up_limit: 15 }),
            (plan(Some(50), 1), 1, true, Shrink::Split { follow_up_limit: 1 }),
            (plan(Some(50), 0), 0, true, Shrink::HalvePage { to: 25 }),
            (plan(Some(3), 0), 0, true, Shrink::HalvePage { to: 1 }),
            (plan(Some(1), 0), 0, false, Shrink::HalvePage { to: 1 }),
            (plan(None, 149), 149, true, Shrink::HalveFollowUps { follow_up_limit: 74 }),
            (plan(None, 1), 2, true, Shrink::HalveFollowUps { follow_up_limit: 1 }),
            (plan(None, 1), 1, false, Shrink::HalveFollowUps { follow_up_limit: 0 }),
        ];
        for (request, counted, can, how) in cases {
            assert_eq!((request.can_shrink(counted), request.shrink(counted)), (can, how), "{request:?} {counted}");
        }
    }
}
