//! The assembly of chunks from answers, with the answers written out as
//! GitHub sends them: what a page leaves owed, and what each follow-up's
//! answer does to its chunk.

use serde_json::{json, Value};

use super::assemble::{struck, InFlight};
use super::document::{document, Answer, Layout};
use super::follow_up::{Conn, Ends, FollowUp};
use super::partial::Hole;
use crate::github::wire;

const AT: &str = "2026-01-01T00:00:00Z";

fn connection(nodes: Vec<Value>, total: usize, end: Option<&str>, start: Option<&str>) -> Value {
    json!({
        "totalCount": total,
        "pageInfo": { "hasNextPage": nodes.len() < total, "endCursor": end, "startCursor": start },
        "nodes": nodes,
    })
}

fn review(id: i64, comments: usize) -> Value {
    json!({ "id": format!("R{id}"), "fullDatabaseId": id.to_string(), "author": null, "state": "COMMENTED",
            "body": "", "submittedAt": AT, "createdAt": AT, "commit": null, "comments": { "totalCount": comments } })
}

fn issue_comment(id: i64) -> Value {
    json!({ "id": format!("IC{id}"), "fullDatabaseId": id.to_string(), "author": null, "body": "b",
            "createdAt": AT, "updatedAt": AT })
}

fn review_comment(id: i64) -> Value {
    json!({ "id": format!("RC{id}"), "fullDatabaseId": id.to_string(), "author": null, "body": "b",
            "createdAt": AT, "updatedAt": AT, "path": "a.rs", "position": 1, "originalPosition": 1,
            "diffHunk": "@@", "commit": null, "replyTo": null })
}

/// A PR with its inline windows: `reviews` (null: nulled) and `comments`.
fn pr(number: i32, updated: &str, reviews: Value, comments: Value) -> Value {
    json!({ "id": format!("PR{number}"), "fullDatabaseId": (1000 + number).to_string(), "number": number,
            "title": "t", "body": "", "state": "OPEN", "isDraft": false, "merged": false, "createdAt": AT,
            "updatedAt": updated, "mergedAt": null, "closedAt": null, "additions": 0, "deletions": 0,
            "changedFiles": 0, "baseRefName": "main", "headRefName": "x", "url": "u", "author": null,
            "mergedBy": null, "commits": { "totalCount": 1 }, "reviews": reviews, "comments": comments })
}

fn ids(from: i64, n: usize) -> std::ops::Range<i64> {
    from..from + n as i64
}

/// A PR with `n` reviews (the first 100 inline, each with `comments`
/// comments) and `m` issue comments (the first 100 inline).
fn heavy_pr(number: i32, n: usize, comments: usize, m: usize) -> Value {
    let reviews: Vec<Value> = ids(1, n.min(100)).map(|i| review(i, comments)).collect();
    let issue: Vec<Value> = ids(5_000, m.min(100)).map(issue_comment).collect();
    pr(number, AT, connection(reviews, n, Some("r100"), None), connection(issue, m, Some("c100"), None))
}

fn page(prs: Vec<Value>) -> wire::Connection<wire::PullRequest> {
    let total = prs.len();
    serde_json::from_value(connection(prs, total, Some("p"), None)).expect("a page")
}

fn in_flight_with(prs: Vec<Value>, holes: &[Hole]) -> InFlight {
    let mut in_flight = InFlight::default();
    in_flight.push_page(0, "repository", page(prs), holes, None, 50, None).expect("the page is taken");
    in_flight
}

fn owed(in_flight: &mut InFlight) -> Vec<FollowUp> {
    let n = in_flight.owed().len();
    let taken = in_flight.take(n);
    let out = taken.iter().map(|(_, f)| f.clone()).collect();
    in_flight.give_back(taken);
    out
}

fn reviews_of(index: usize) -> Hole {
    Hole::PrReviews { page: "repository".into(), index }
}

fn ends(conn: Conn, id: &str, front: Option<&str>, got: usize, total: usize) -> FollowUp {
    FollowUp::Ends(Ends { conn, id: id.into(), front: front.map(str::to_string), back: None, got, total })
}

#[test]
fn a_page_leaves_owed_what_its_windows_did_not_bring() {
    let from_start = |conn, id: &str, window| FollowUp::FromStart { conn, id: id.into(), window };
    // (the page's PRs, the partial answer's holes) -> the follow-ups owed
    type Case = (&'static str, Vec<Value>, Vec<Hole>, Vec<FollowUp>);
    let cases: Vec<Case> = vec![
        ("everything inline", vec![heavy_pr(1, 3, 0, 5)], vec![], vec![]),
        ("a review's comments", vec![heavy_pr(1, 1, 3, 0)], vec![], vec![from_start(Conn::ReviewComments, "R1", 5)]),
        (
            "a review with more comments than a window: both ends",
            vec![heavy_pr(1, 1, 150, 0)],
            vec![],
            vec![ends(Conn::ReviewComments, "R1", None, 0, 150)],
        ),
        (
            "the rest of long connections, after the inline window",
            vec![heavy_pr(1, 120, 0, 340)],
            vec![],
            vec![
                ends(Conn::Reviews, "PR1", Some("r100"), 100, 120),
                ends(Conn::IssueComments, "PR1", Some("c100"), 100, 340),
            ],
        ),
        (
            "reviews nulled by a partial answer: read from the start",
            vec![heavy_pr(1, 0, 0, 0), pr(2, AT, Value::Null, connection(vec![], 0, None, None))],
            vec![reviews_of(0)],
            vec![from_start(Conn::Reviews, "PR1", 100), from_start(Conn::Reviews, "PR2", 100)],
        ),
    ];
    for (what, prs, holes, want) in cases {
        let mut in_flight = in_flight_with(prs, &holes);
        assert_eq!(owed(&mut in_flight), want, "{what}");
    }
}

#[test]
fn a_sweep_leaves_out_prs_updated_no_later_than_its_watermark() {
    let prs = vec![pr(1, "2026-03-01T00:00:00Z", Value::Null, connection(vec![], 0, None, None)), heavy_pr(2, 1, 0, 0)];
    let watermark = "2026-02-01T00:00:00Z".parse().ok();
    let mut in_flight = InFlight::default();
    in_flight.push_page(0, "repository", page(prs), &[reviews_of(0)], None, 50, watermark).expect("the page is taken");
    assert_eq!(owed(&mut in_flight), vec![FollowUp::FromStart { conn: Conn::Reviews, id: "PR1".into(), window: 100 }]);
    // The follow-up handed to a request that is never answered.
    let _ = in_flight.take(1);
    let chunk = in_flight.pop_whole().expect("nothing owed");
    assert_eq!(chunk.prs.iter().map(|p| p.number).collect::<Vec<_>>(), [1], "PR 2 is as stored");
}

/// The answer to a request of `follow_ups`, each alias answered by `parts`.
fn answer_to(follow_ups: &[FollowUp], parts: impl Fn(&str, &Layout) -> Option<Value>) -> (Answer, Layout) {
    let refs: Vec<&FollowUp> = follow_ups.iter().collect();
    let (_, layout) = document(&[], &refs);
    let mut data = serde_json::Map::new();
    let aliases = layout.lists.iter().map(|(a, _, _)| a.clone()).chain(layout.ends.iter().map(|(a, _)| a.clone()));
    for alias in aliases {
        if let Some(v) = parts(&alias, &layout) {
            data.insert(alias, v);
        }
    }
    let answer: Answer = serde_json::from_value(Value::Object(data)).expect("an answer");
    (answer, layout)
}

#[test]
fn follow_up_answers_complete_their_chunk_each_item_once() {
    let mut in_flight = in_flight_with(vec![heavy_pr(1, 1, 3, 250)], &[]);
    let taken = in_flight.take(2);
    let follow_ups: Vec<FollowUp> = taken.iter().map(|(_, f)| f.clone()).collect();
    // The review's 3 comments from the start, one of them twice; the issue
    // comments' next 100 from the front and the last 50 from the back.
    let (answer, layout) = answer_to(&follow_ups, |alias, _| match alias {
        "reviewComments_5" => {
            let comments: Vec<Value> = [1, 2, 3, 3].into_iter().map(review_comment).collect();
            Some(json!([{ "comments": connection(comments, 3, Some("e"), None) }]))
        }
        "more0" => Some(json!({
            "front": connection(ids(5_100, 100).map(issue_comment).collect(), 250, Some("c200"), None),
            "back": connection(ids(5_200, 50).map(issue_comment).collect(), 250, None, Some("c201")),
        })),
        _ => None,
    });
    let again = in_flight.absorb(&answer, &layout, taken, &[]).expect("absorbed");
    assert!(again.is_empty(), "nothing to ask again");
    let chunk = in_flight.pop_whole().expect("the chunk is whole");
    let pr = &chunk.prs[0];
    let issue = pr.comments.iter().filter(|c| c.github_id >= 5_000).count();
    assert_eq!((pr.reviews.len(), pr.comments.len() - issue, issue), (1, 3, 250));
}

#[test]
fn what_an_answer_leaves_out_is_asked_again_and_a_null_is_gone() {
    let follow_ups: Vec<FollowUp> = ["R1", "R2", "R3", "R4"]
        .iter()
        .map(|id| FollowUp::FromStart { conn: Conn::ReviewComments, id: (*id).into(), window: 5 })
        .collect();
    let with_comments = || json!({ "comments": connection(vec![review_comment(9)], 1, Some("e"), None) });
    // R1 answered, R2 null (deleted), R3 an empty item (of another type),
    // R4 missing from a short list; R1 is also struck by a partial answer.
    let list = json!([with_comments(), null, {}]);
    let cases: Vec<(&str, Vec<usize>, Vec<&str>)> =
        vec![("whole", vec![], vec!["R3", "R4"]), ("R1 struck", vec![0], vec!["R1", "R3", "R4"])];
    for (what, struck_items, want) in cases {
        let reviews: Vec<Value> = ids(1, 4).map(|i| review(i, 1)).collect();
        let mut in_flight =
            in_flight_with(vec![pr(1, AT, connection(reviews, 4, None, None), connection(vec![], 0, None, None))], &[]);
        let taken = in_flight.take(4);
        let (answer, layout) = answer_to(&follow_ups, |_, _| Some(list.clone()));
        let again = in_flight.absorb(&answer, &layout, taken, &struck_items).expect("absorbed");
        let again: Vec<&str> = again.iter().map(|(_, f)| f.id()).collect();
        assert_eq!(again, want, "{what}");
    }
}

#[test]
fn a_partial_answer_strikes_whole_lists_or_single_items() {
    let follow_ups: Vec<FollowUp> =
        (0..3).map(|i| FollowUp::FromStart { conn: Conn::Reviews, id: format!("PR{i}"), window: 100 }).collect();
    let mut all = follow_ups.clone();
    all.push(ends(Conn::IssueComments, "PR9", Some("c"), 100, 150));
    let (_, layout) = answer_to(&all, |_, _| None);
    let part = |alias: &str, index: Option<usize>| Hole::Part { alias: alias.into(), index };
    let cases = [
        (vec![part("reviewsOf", Some(1))], vec![1]),
        (vec![part("reviewsOf", None)], vec![0, 1, 2]),
        (vec![part("more0", None)], vec![3]),
        (vec![reviews_of(0), part("nothing", None)], vec![]),
    ];
    for (holes, want) in cases {
        assert_eq!(struck(&layout, &holes), want, "{holes:?}");
    }
}
