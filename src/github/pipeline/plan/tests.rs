use super::*;

/// `n` follow-ups of `counted` requests and `nodes` nodes each.
fn owed(n: usize, counted: u64, nodes: u64) -> Vec<Owed> {
    vec![Owed { counted, nodes }; n]
}

fn needs(follow_ups: &[Owed]) -> Needs<'_> {
    Needs {
        follow_ups,
        more_pages: true,
        in_flight: 0,
        ahead: 1,
        page_size: 50,
        requests: 0,
        pages: 0,
        node_limit: 100_000,
        budget: None,
    }
}

fn plan(page: Option<(i64, i64)>, follow_ups: usize) -> RequestPlan {
    RequestPlan { page: page.map(|(size, inline)| PagePlan { size, inline }), follow_ups }
}

const WHOLE: Option<(i64, i64)> = Some((50, 100));

#[test]
fn each_request_is_planned_from_what_the_chunks_need() {
    let (few, many, huge) = (owed(30, 1, 5), owed(300, 1, 5), owed(66, 1, 5));
    let two_ends = owed(30, 2, 200);
    let heavy = owed(30, 1, 200);
    let small = owed(48, 1, 5);
    // (what is needed, the request planned)
    let cases: Vec<(&str, Needs<'_>, RequestPlan)> = vec![
        ("the first page alone", needs(&[]), plan(WHOLE, 0)),
        ("a page with follow-ups", Needs { in_flight: 1, ..needs(&few) }, plan(WHOLE, 30)),
        // 101 + 48 = 149 counted is one point; the 49th would make two
        ("packed to a rounding boundary", Needs { in_flight: 1, ..needs(&huge) }, plan(WHOLE, 48)),
        (
            "the last request pays rather than asks again",
            Needs { in_flight: 1, more_pages: false, ..needs(&huge) },
            plan(None, 66),
        ),
        ("both-ends reads cost two each", Needs { in_flight: 1, ..needs(&two_ends) }, plan(WHOLE, 24)),
        ("no more chunks wanted: follow-ups alone", Needs { in_flight: 1, ahead: 0, ..needs(&few) }, plan(None, 30)),
        ("five in flight: no page", Needs { in_flight: 5, ahead: 9, ..needs(&few) }, plan(None, 30)),
        ("enough for a request of their own go first", Needs { in_flight: 1, ..needs(&many) }, plan(None, 149)),
        (
            "...unless the ration of extra requests is spent",
            Needs { in_flight: 1, requests: 3, pages: 2, ..needs(&many) },
            plan(WHOLE, 148),
        ),
        ("a smaller chunk asks a smaller page", Needs { page_size: 12, ..needs(&[]) }, plan(Some((12, 100)), 0)),
        (
            "a budget that pays for less takes fewer",
            Needs { in_flight: 1, more_pages: false, budget: Some(1), ..needs(&many) },
            plan(None, 149),
        ),
        (
            "a budget of one point with a page takes what one point pays",
            Needs { in_flight: 1, requests: 3, pages: 2, budget: Some(1), ..needs(&many) },
            plan(WHOLE, 48),
        ),
        (
            "a spent budget still sends one follow-up",
            Needs { in_flight: 1, ahead: 0, budget: Some(0), ..needs(&few) },
            plan(None, 1),
        ),
        ("a spent budget still asks the page", Needs { budget: Some(0), ..needs(&[]) }, plan(WHOLE, 0)),
        // Under a node limit (GitHub timed out on larger requests):
        (
            "a page asks fewer of each PR's items inline",
            Needs { node_limit: 5_025, ..needs(&[]) },
            plan(Some((50, 49)), 0),
        ),
        (
            "small follow-ups ride along and the page takes the rest",
            Needs { in_flight: 1, node_limit: 5_025, ..needs(&small) },
            plan(Some((50, 47)), 48),
        ),
        (
            "beside a page, follow-ups take at most half",
            Needs { in_flight: 1, node_limit: 5_000, ..needs(&heavy) },
            plan(Some((50, 25)), 12),
        ),
        ("under the least inline, fewer PRs", Needs { node_limit: 500, ..needs(&[]) }, plan(Some((23, 10)), 0)),
        ("never less than one PR", Needs { node_limit: 10, ..needs(&[]) }, plan(Some((1, 10)), 0)),
        (
            "follow-ups alone take what fits",
            Needs { in_flight: 1, ahead: 0, node_limit: 1_000, ..needs(&heavy) },
            plan(None, 5),
        ),
        ("and at least one", Needs { in_flight: 1, ahead: 0, node_limit: 100, ..needs(&heavy) }, plan(None, 1)),
    ];
    for (what, given, want) in cases {
        assert_eq!(plan_request(&given), want, "{what}");
    }
}

#[test]
fn only_a_request_larger_than_the_least_can_be_asked_smaller() {
    let cases = [
        (plan(WHOLE, 30), true),
        (plan(WHOLE, 0), true),
        (plan(Some((1, 11)), 0), true),
        (plan(Some((1, 10)), 1), true),
        (plan(Some((1, 10)), 0), false),
        (plan(None, 2), true),
        (plan(None, 1), false),
    ];
    for (request, can) in cases {
        assert_eq!(request.can_shrink(), can, "{request:?}");
    }
}

#[test]
fn the_first_pages_of_small_repositories_share_requests() {
    // A repository of 20 PRs: its page counts 41 and asks 4,020 nodes.
    let page = Owed { counted: 41, nodes: 4_020 };
    let pages = vec![page; 40];
    fn fleet<'a>(pages: &'a [Owed], follow_ups: &'a [Owed], in_flight: usize, node_limit: u64) -> FleetNeeds<'a> {
        FleetNeeds { pages, follow_ups, in_flight, node_limit, budget: None }
    }
    let plan = |pages, inline, follow_ups| FleetPlan { pages, inline, follow_ups };
    let (few, many) = (owed(20, 1, 6), owed(300, 1, 6));
    // (what is needed, the request planned)
    let cases: Vec<(&str, FleetNeeds<'_>, FleetPlan)> = vec![
        ("six pages to two points", fleet(&pages, &[], 0, 100_000), plan(6, 100, 0)),
        ("and follow-ups in the room left", fleet(&pages, &few, 6, 100_000), plan(6, 100, 3)),
        ("follow-ups enough for a request of their own go first", fleet(&pages, &many, 6, 100_000), plan(0, 100, 149)),
        ("too many chunks in flight: follow-ups first", fleet(&pages, &few, 30, 100_000), plan(0, 100, 20)),
        ("pages take at most half the node limit", fleet(&pages, &[], 0, 20_000), plan(2, 100, 0)),
        ("one page over the limit asks fewer items inline", fleet(&pages, &[], 0, 2_010), plan(1, 49, 0)),
        ("no page left: follow-ups alone", fleet(&[], &few, 3, 100_000), plan(0, 100, 20)),
        (
            "a budget of one point: three pages and no follow-up",
            FleetNeeds { budget: Some(1), ..fleet(&pages, &few, 6, 100_000) },
            plan(3, 100, 0),
        ),
    ];
    for (what, given, want) in cases {
        assert_eq!(plan_fleet_request(&given), want, "{what}");
    }
}
