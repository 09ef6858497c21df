//! The follow-ups a page leaves: connections to read further, each asked by
//! the id of the node it hangs off, so that any number of them, from any
//! PRs of any chunks in flight, can share one request.

use super::cost;

/// The most items one window of a connection brings (GitHub's `first` limit).
pub const WINDOW: usize = 100;

/// The windows a connection read from its start is asked in: a review with
/// 2 comments asks 5, not 100, so it asks GitHub for 5 nodes where it would
/// ask 100 (the cost is one counted request either way), and follow-ups of
/// alike size share a list.
pub const WINDOWS: [usize; 5] = [5, 10, 25, 50, WINDOW];

/// The window for a connection of `items` read from its start.
pub fn window_for(items: usize) -> usize {
    WINDOWS.into_iter().find(|w| *w >= items).unwrap_or(WINDOW)
}

/// Which connection a follow-up reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conn {
    /// A PR's reviews.
    Reviews,
    /// A PR's issue comments.
    IssueComments,
    /// A review's comments.
    ReviewComments,
}

/// One follow-up.
#[derive(Clone, Debug, PartialEq)]
pub enum FollowUp {
    /// A connection read from its start: its inline window was nulled by a
    /// partial answer, or (review comments) the page had no room for it.
    /// `window`: the items asked, as many as the page said it has (rounded
    /// up to one of `WINDOWS`), or a whole window when that is unknown.
    FromStart { conn: Conn, id: String, window: usize },
    /// A connection longer than what was read of it.
    Ends(Ends),
}

/// A connection read from both ends at once: the window after `front` (from
/// the start when none), and (when more than a window is left) the one
/// before `back`, or the last items when no `back` cursor is known yet. Each
/// request closes the gap by up to two windows for two counted requests.
#[derive(Clone, Debug, PartialEq)]
pub struct Ends {
    pub conn: Conn,
    pub id: String,
    pub front: Option<String>,
    pub back: Option<String>,
    /// Items of the connection read so far, and how many it holds.
    pub got: usize,
    pub total: usize,
}

impl Ends {
    fn left(&self) -> usize {
        self.total.saturating_sub(self.got)
    }

    /// The size of the window after `front`: at least one, to see the end.
    pub fn front_size(&self) -> usize {
        self.left().clamp(1, WINDOW)
    }

    /// The size of the window before `back`: what the front one leaves, if any.
    pub fn back_size(&self) -> usize {
        self.left().saturating_sub(WINDOW).min(WINDOW)
    }
}

impl FollowUp {
    /// The counted requests it adds to a request (`cost`'s formula).
    pub fn cost(&self) -> u64 {
        match self {
            FollowUp::FromStart { .. } => 1,
            FollowUp::Ends(e) => 1 + u64::from(e.back_size() > 0),
        }
    }

    /// The nodes it asks GitHub for, by GitHub's count: its windows, and a
    /// node of a `nodes(ids:)` list itself.
    pub fn nodes(&self) -> u64 {
        match self {
            FollowUp::FromStart { window, .. } => *window as u64 + 1,
            FollowUp::Ends(e) => (e.front_size() + e.back_size()) as u64,
        }
    }

    /// The node the connection hangs off (a PR's or a review's id).
    pub fn id(&self) -> &str {
        match self {
            FollowUp::FromStart { id, .. } => id,
            FollowUp::Ends(e) => &e.id,
        }
    }
}

/// What a request of a page (its PRs and inline window; none: no page)
/// and these follow-ups counts, costs in points, and asks in nodes.
pub fn estimate(page: Option<(i64, i64)>, follow_ups: &[&FollowUp]) -> Estimate {
    let counted = page.map_or(0, |(prs, _)| cost::page_cost(prs)) + follow_ups.iter().map(|f| f.cost()).sum::<u64>();
    let nodes = page.map_or(0, |(prs, inline)| cost::page_nodes(prs, inline))
        + follow_ups.iter().map(|f| f.nodes()).sum::<u64>();
    Estimate { counted, points: cost::points(counted), nodes }
}

/// A request before it is sent, by GitHub's formulas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    pub counted: u64,
    pub points: i64,
    pub nodes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ends(got: usize, total: usize) -> Ends {
        Ends { conn: Conn::Reviews, id: "PR".into(), front: Some("c".into()), back: None, got, total }
    }

    #[test]
    fn a_connection_is_closed_from_both_ends() {
        // (read so far, total) -> (front window, back window, counted requests)
        let cases = [
            (100, 101, (1, 0, 1)),
            (100, 200, (100, 0, 1)),
            (100, 201, (100, 1, 2)),
            (100, 300, (100, 100, 2)),
            (100, 450, (100, 100, 2)),
            (300, 300, (1, 0, 1)), // nothing left: one item's window shows the end
        ];
        for (got, total, want) in cases {
            let e = ends(got, total);
            let follow_up = FollowUp::Ends(e.clone());
            assert_eq!((e.front_size(), e.back_size(), follow_up.cost()), want, "{got} of {total}");
        }
        let from_start = FollowUp::FromStart { conn: Conn::ReviewComments, id: "PRR".into(), window: 5 };
        let follow_ups = [&from_start, &FollowUp::Ends(ends(100, 300))];
        let estimate_of = |e: Estimate| (e.counted, e.points, e.nodes);
        assert_eq!(estimate_of(estimate(Some((50, 100)), &follow_ups)), (104, 1, 10_050 + 6 + 200));
        assert_eq!(estimate_of(estimate(None, &[&from_start])), (1, 1, 6));
        assert_eq!(estimate_of(estimate(Some((50, 25)), &[])), (101, 1, 2_550));
    }

    #[test]
    fn a_connection_is_asked_in_a_window_as_large_as_it_is() {
        let cases = [(0, 5), (1, 5), (5, 5), (6, 10), (11, 25), (26, 50), (51, 100), (100, 100), (250, 100)];
        for (items, window) in cases {
            assert_eq!(window_for(items), window, "{items} items");
        }
    }
}
