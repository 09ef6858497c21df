//! GitHub's cost formula, applied before a request is sent, and the packing
//! of follow-ups into requests that it makes cheap.
//!
//! GitHub counts the requests needed to fill every connection, each parent
//! assumed full, and charges that count divided by 100, rounded to the
//! nearest point (at least one). A connection under `nodes(ids:)` counts once
//! per id. So a page of 50 PRs with two inline connections counts 101 and
//! costs one point, and 48 more counted requests ride along for nothing:
//! 149 cost one point, 150 two. The packer fills requests up to such a
//! boundary and leaves the fraction for the next request, when one is coming
//! anyway.
//!
//! While more requests are coming, one with a page stops at two points and
//! one of follow-ups alone at one: past those, each further point buys 100
//! counted requests in the same request but 149 in a request of its own.
//! Two points hold a page and 148 follow-ups, so an ordinary chunk still
//! costs one request.

/// What a request of `counted` requests costs in points.
pub fn points(counted: u64) -> i64 {
    let rounded = (counted + 50) / 100;
    i64::try_from(rounded).unwrap_or(i64::MAX).max(1)
}

/// The counted requests of a page of `size` PRs: the PR connection, and
/// each PR's reviews and issue comments.
pub fn page_cost(size: i64) -> u64 {
    1 + 2 * u64::try_from(size.max(0)).unwrap_or(0)
}

/// The nodes a page of `size` PRs asks, with `inline` reviews and issue
/// comments each (GitHub's count: the PRs, and each connection's `first`
/// for every PR above it).
pub fn page_nodes(size: i64, inline: i64) -> u64 {
    let (size, inline) = (u64::try_from(size.max(0)).unwrap_or(0), u64::try_from(inline.max(0)).unwrap_or(0));
    size * (1 + 2 * inline)
}

/// The most counted requests one point buys: 149 for one, 249 for two.
fn boundary_at_or_below(counted: u64) -> u64 {
    if counted < 149 {
        return counted;
    }
    (counted - 49) / 100 * 100 + 49
}

/// A page's request leaves room for 48 follow-ups at one point; past those
/// and a full request of follow-ups alone (149 at one point), sending those
/// alone first saves points: 149 for one point instead of 100 in the page's.
pub const FOLLOW_UPS_FOR_A_REQUEST_OF_THEIR_OWN: u64 = 48 + 149;

/// Requests per page the fetch may spend to save points that way. Points
/// are the budget that runs out (1,000 an hour on Actions' token); each
/// request costs GitHub's latency, so the extra ones are rationed.
pub const REQUESTS_PER_PAGE: f64 = 1.3;

/// Whether one more request keeps the fetch within `REQUESTS_PER_PAGE`,
/// after `requests` for `pages` pages.
pub fn may_add_request(requests: u32, pages: u32) -> bool {
    f64::from(requests + 1) <= REQUESTS_PER_PAGE * f64::from(pages + 1)
}

/// Points a request stops at while more are coming (see the module's doc).
const POINTS_WITH_A_PAGE: u64 = 2;
const POINTS_WITHOUT: u64 = 1;

/// How many of the pending follow-ups (their counted requests, oldest
/// first) go in the next request, beside a page counting `page` (0 for
/// none). `cap` bounds the follow-ups' counted requests in one request
/// (GitHub's timeouts are about size); a request without a page always
/// takes at least one. With `more_rounds` another request is coming anyway,
/// so a fraction of a point is left for it instead of paid for now.
pub fn pack(page: u64, items: &[u64], cap: u64, more_rounds: bool) -> usize {
    let mut taken = 0;
    let mut units = 0;
    for &cost in items {
        if units + cost > cap && !(page == 0 && taken == 0) {
            break;
        }
        units += cost;
        taken += 1;
    }
    if !more_rounds {
        return taken;
    }
    let most = if page > 0 { POINTS_WITH_A_PAGE } else { POINTS_WITHOUT };
    let limit = boundary_at_or_below(page + units).min(most * 100 + 49);
    while taken > 1 && page + units > limit {
        taken -= 1;
        units -= items[taken];
    }
    if taken == 1 && page > 0 && page + units > limit {
        taken = 0;
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_round_to_the_nearest_as_github_does() {
        let cases = [(0, 1), (1, 1), (101, 1), (149, 1), (150, 2), (151, 2), (249, 2), (250, 3), (5_101, 51)];
        for (counted, want) in cases {
            assert_eq!(points(counted), want, "{counted}");
        }
        assert_eq!((page_cost(50), page_cost(49), page_cost(1), page_cost(0)), (101, 99, 3, 1));
    }

    #[test]
    fn extra_requests_are_rationed_per_page() {
        // (requests so far, pages so far) -> one more allowed
        let cases =
            [(0, 0, true), (1, 1, true), (2, 1, false), (2, 2, true), (3, 2, false), (13, 10, true), (15, 10, false)];
        for (requests, pages, want) in cases {
            assert_eq!(may_add_request(requests, pages), want, "{requests} requests, {pages} pages");
        }
    }

    #[test]
    fn requests_are_filled_to_a_boundary_and_the_fraction_waits() {
        let ones = |n: usize| vec![1u64; n];
        // (page, items, cap, more rounds) -> items taken
        let cases: Vec<(u64, Vec<u64>, u64, bool, usize)> = vec![
            (101, ones(30), 500, true, 30),   // 131: one point, all of it
            (101, ones(48), 500, true, 48),   // 149: still one point
            (101, ones(66), 500, true, 48),   // 167 would pay a second point for 18
            (101, ones(66), 500, false, 66),  // the last request: pay rather than ask again
            (101, ones(150), 500, true, 148), // 249: two points, full
            (101, ones(160), 500, true, 148),
            (101, ones(400), 200, true, 148), // the cap, then the boundary below it
            (101, ones(400), 500, true, 148), // two points with a page: a third buys more alone
            (0, ones(200), 500, true, 149),   // follow-ups alone, more to come
            (0, ones(400), 500, true, 149),
            (0, ones(200), 500, false, 200),
            (0, ones(20), 500, true, 20), // under one point: all
            (0, vec![2, 2, 2], 1, true, 1),
            (0, vec![600], 500, false, 1), // one item over the cap still goes
            (101, vec![600], 500, true, 0),
            (101, vec![], 500, true, 0),
            (101, vec![2; 30], 500, true, 24), // 149 exactly
            (101, vec![2; 30], 500, false, 30),
        ];
        for (page, items, cap, more, want) in cases {
            assert_eq!(
                pack(page, &items, cap, more),
                want,
                "page {page}, {} items, cap {cap}, more {more}",
                items.len()
            );
        }
    }
}
