//! Sweeps over `pullRequests(orderBy: {field: UPDATED_AT})` while the world
//! changes: what a tool keeping its copy current meets on GitHub.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::chaos_tests::{ask, fake};
use crate::server::AppState;

/// One page: (number, updatedAt) of each PR, endCursor, hasNextPage, totalCount.
type Page = (Vec<(i32, DateTime<Utc>)>, Value, bool, Value);

async fn page(state: &AppState, order: &str, first: usize, after: &Value) -> Page {
    let q = format!(
        "query($c: String) {{ repository(owner: \"o\", name: \"r\") {{ pullRequests(first: {first}, after: $c, \
         orderBy: {{ field: {order} }}) {{ totalCount nodes {{ number updatedAt }} \
         pageInfo {{ endCursor hasNextPage }} }} }} }}"
    );
    let a = ask(state, &q, json!({ "c": after })).await;
    let c = &a.body["data"]["repository"]["pullRequests"];
    let nodes = c["nodes"].as_array().unwrap_or_else(|| panic!("{order} after {after}: {}", a.body));
    let prs = nodes
        .iter()
        .map(|p| {
            let at = p["updatedAt"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            (p["number"].as_i64().unwrap_or(0) as i32, at.map(|t| t.with_timezone(&Utc)).unwrap_or_default())
        })
        .collect();
    let info = &c["pageInfo"];
    (prs, info["endCursor"].clone(), info["hasNextPage"] == json!(true), c["totalCount"].clone())
}

/// A whole sweep, `between(page index)` run after each page; the PRs served.
async fn sweep(state: &AppState, order: &str, first: usize, between: impl Fn(usize)) -> Vec<(i32, DateTime<Utc>)> {
    let (mut served, mut after) = (Vec::new(), Value::Null);
    for i in 0.. {
        let (prs, end, more, _) = page(state, order, first, &after).await;
        served.extend(prs);
        between(i);
        if !more {
            break;
        }
        after = end;
    }
    served
}

fn numbers(state: &AppState) -> Vec<i32> {
    state.world.read().unwrap().repos[0].pull_requests.iter().map(|p| p.number).collect()
}

fn once(served: &[(i32, DateTime<Utc>)]) -> bool {
    served.iter().map(|p| p.0).collect::<HashSet<_>>().len() == served.len()
}

#[tokio::test]
async fn a_pr_changed_mid_sweep_is_met_by_the_next_sweep_only() {
    let state = fake(60);
    let all = numbers(&state);
    let order = "UPDATED_AT, direction: DESC";
    let untouched = sweep(&state, order, 10, |_| {}).await;
    let (first_served, last_served) = (untouched[0].0, untouched[59].0);
    let middle = untouched[25].0;
    // After page 1: one PR already served, one still to come; after page 3, one served on page 3.
    let changed = sweep(&state, order, 10, |i| {
        let mut w = state.world.write().unwrap();
        let done = match i {
            0 => w.retitle_pr("o", "r", first_served, "Seen").and(w.add_issue_comment("o", "r", last_served).map(drop)),
            2 => w.add_review("o", "r", middle, 2).map(drop),
            _ => Ok(()),
        };
        assert_eq!(done, Ok(()));
    })
    .await;
    assert!(once(&changed), "no PR twice in one sweep: {changed:?}");
    let met: HashSet<i32> = changed.iter().map(|p| p.0).collect();
    let want: HashSet<i32> = all.iter().copied().filter(|&n| n != last_served).collect();
    assert_eq!(met, want, "every PR once but the one that jumped ahead of the cursor");
    assert_eq!(changed.iter().find(|p| p.0 == middle), untouched.iter().find(|p| p.0 == middle), "as first met");

    let next = sweep(&state, order, 10, |_| {}).await;
    assert!(once(&next) && next.len() == 60, "the next sweep meets all of them once");
    let top: HashSet<i32> = next[..3].iter().map(|p| p.0).collect();
    assert_eq!(top, HashSet::from([first_served, last_served, middle]), "the changed ones first");
    let old_newest = untouched[0].1;
    assert!(next[..3].iter().all(|p| p.1 > old_newest), "with their new updatedAt: {next:?}");
}

#[tokio::test]
async fn sweeps_of_an_unchanging_world_meet_each_pr_once_in_either_order_and_slack() {
    let state = fake(45);
    // PRs changed within seconds of each other share a stretch of the slack.
    for n in numbers(&state).into_iter().step_by(4) {
        state.world.write().unwrap().add_issue_comment("o", "r", n).expect("commented");
    }
    let mut all = numbers(&state);
    all.sort_unstable();
    for slack in [None, Some(Duration::minutes(2)), Some(Duration::days(400))] {
        state.control.lock().unwrap().updated_order_slack = slack;
        let stretch = |t: DateTime<Utc>| slack.map_or(t.timestamp_micros(), |s| t.timestamp() / s.num_seconds());
        for (direction, first) in [("DESC", 7), ("ASC", 7), ("DESC", 1), ("ASC", 100)] {
            let served = sweep(&state, &format!("UPDATED_AT, direction: {direction}"), first, |_| {}).await;
            let mut met: Vec<i32> = served.iter().map(|p| p.0).collect();
            met.sort_unstable();
            assert_eq!(met, all, "{slack:?} {direction} {first}: each PR once");
            let ordered = served.windows(2).all(|w| {
                let (a, b) = (stretch(w[0].1), stretch(w[1].1));
                (if direction == "DESC" { a > b } else { a < b }) || (a == b && w[0].0 < w[1].0)
            });
            assert!(ordered, "{slack:?} {direction}: by stretch, then number: {served:?}");
        }
    }
}

#[tokio::test]
async fn prs_within_the_slack_come_by_number_not_time() {
    let state = fake(12);
    // 2100-01-01T00:00:00Z starts a two-minute stretch: +10 s and +50 s share it, +130 s is the next.
    let base = DateTime::from_timestamp(4_102_444_800, 0).expect("a time");
    let (low, high, later) = {
        let mut w = state.world.write().unwrap();
        let prs = &mut w.repos[0].pull_requests;
        prs[2].updated_at = base + Duration::seconds(10);
        prs[8].updated_at = base + Duration::seconds(50);
        prs[5].updated_at = base + Duration::seconds(130);
        (prs[2].number, prs[8].number, prs[5].number)
    };
    // (slack, direction, the first three served)
    let cases = [
        (Some(Duration::minutes(2)), "DESC", [later, low, high]),
        (None, "DESC", [later, high, low]),
        (Some(Duration::minutes(5)), "DESC", [low, later, high]),
        (Some(Duration::minutes(2)), "ASC", [low, high, later]),
    ];
    for (slack, direction, want) in cases {
        state.control.lock().unwrap().updated_order_slack = slack;
        let order = format!("UPDATED_AT, direction: {direction}");
        let served = sweep(&state, &order, 5, |_| {}).await;
        let got: Vec<i32> = served.iter().map(|p| p.0).collect();
        let got = if direction == "DESC" { got[..3].to_vec() } else { got[got.len() - 3..].to_vec() };
        assert_eq!(got, want, "{slack:?} {direction}");
    }
}

#[tokio::test]
async fn a_cursor_of_one_order_is_refused_by_the_other() {
    let state = fake(10);
    let (_, created, _, _) = page(&state, "CREATED_AT, direction: ASC", 3, &Value::Null).await;
    let (_, updated, _, _) = page(&state, "UPDATED_AT, direction: DESC", 3, &Value::Null).await;
    assert_ne!(created, updated);
    for (order, cursor) in [("UPDATED_AT", &created), ("CREATED_AT", &updated), ("UPDATED_AT", &json!("bogus"))] {
        let q = format!(
            "query($c: String) {{ repository(owner: \"o\", name: \"r\") {{ pullRequests(first: 3, after: $c, \
             orderBy: {{ field: {order}, direction: DESC }}) {{ totalCount }} }} }}"
        );
        let a = ask(&state, &q, json!({ "c": cursor })).await;
        let want = format!("`{}` does not appear to be a valid cursor.", cursor.as_str().unwrap_or(""));
        assert_eq!(a.body["errors"][0]["message"], json!(want), "{order}: {}", a.body);
    }
}

#[tokio::test]
async fn last_before_pages_backwards_by_updated_at() {
    let state = fake(30);
    let order = "UPDATED_AT, direction: DESC";
    let forward: Vec<i32> = sweep(&state, order, 30, |_| {}).await.iter().map(|p| p.0).collect();
    let (_, cursor, _, _) = page(&state, order, 20, &Value::Null).await;
    let q = format!(
        "query($c: String) {{ repository(owner: \"o\", name: \"r\") {{ pullRequests(last: 5, before: $c, \
         orderBy: {{ field: {order} }}) {{ nodes {{ number }} }} }} }}"
    );
    let a = ask(&state, &q, json!({ "c": cursor })).await;
    let got: Vec<i32> = a.body["data"]["repository"]["pullRequests"]["nodes"]
        .as_array()
        .map(|n| n.iter().filter_map(|p| p["number"].as_i64()).map(|n| n as i32).collect())
        .unwrap_or_default();
    assert_eq!(got, forward[14..19].to_vec(), "the five before the twentieth");
}

fn last_fault(state: &AppState) -> Option<crate::Fault> {
    state.control.lock().unwrap().log.last().and_then(|r| r.fault.clone())
}

#[tokio::test]
async fn an_early_end_says_no_next_page_once_on_the_next_page_with_more() {
    for order in ["CREATED_AT, direction: ASC", "UPDATED_AT, direction: DESC"] {
        let state = fake(20);
        let (_, normal_end, _, _) = page(&state, order, 5, &Value::Null).await;
        let (_, fifteenth, _, _) = page(&state, order, 15, &Value::Null).await;
        state.control.lock().unwrap().faults.push_back(crate::Fault::EarlyEnd);
        // Answers with no page to cut short leave it waiting: the last page, and no page at all.
        let (last, _, more, _) = page(&state, order, 5, &fifteenth).await;
        assert_eq!((last.len(), more, last_fault(&state)), (5, false, None), "{order}: the last page");
        let q = "{ rateLimit { remaining } }";
        assert!(ask(&state, q, json!({})).await.body["data"]["rateLimit"].is_object());
        let (prs, end, more, total) = page(&state, order, 5, &Value::Null).await;
        assert_eq!((prs.len(), more, total), (5, false, json!(20)), "{order}: cut short, totalCount true");
        assert_eq!((end, last_fault(&state)), (normal_end.clone(), Some(crate::Fault::EarlyEnd)), "{order}");
        let (again, _, more, _) = page(&state, order, 5, &Value::Null).await;
        assert_eq!((again, more, last_fault(&state)), (prs, true, None), "{order}: once only");
        let (next, _, more, _) = page(&state, order, 5, &normal_end).await;
        assert_eq!((next.len(), more), (5, true), "{order}: its endCursor goes on as usual");
    }
}

#[tokio::test]
async fn early_ends_strike_by_chance_from_the_seed() {
    let run = |percent| async move {
        let state = fake(30);
        {
            let mut c = state.control.lock().unwrap();
            (c.chaos.seed, c.chaos.early_end_percent) = (5, percent);
        }
        let mut ends = Vec::new();
        for _ in 0..20 {
            ends.push(page(&state, "UPDATED_AT, direction: DESC", 10, &Value::Null).await.2);
        }
        ends
    };
    assert!(run(0).await.iter().all(|more| *more), "none without chaos");
    assert!(run(100).await.iter().all(|more| !more), "every page with 100%");
    let some = run(40).await;
    assert!(some.iter().any(|m| *m) && some.iter().any(|m| !m), "{some:?}");
    assert_eq!(some, run(40).await, "the same seed, the same pages cut short");
}
