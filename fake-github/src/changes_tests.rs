//! Changes made while the fake serves: each shows in the next query, moves
//! `updatedAt` past everything before it, and keeps node ids right.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::changes::ChangeError;
use crate::chaos_tests::{ask, fake};
use crate::data::PullRequest;
use crate::server::AppState;
use crate::world::World;

const PRS: &str = "{ repository(owner: \"o\", name: \"r\") { pullRequests(first: 100) { nodes { number title \
    state updatedAt createdAt mergedAt closedAt mergedBy { login } \
    reviews(first: 100) { totalCount nodes { id state comments(first: 10) { totalCount } } } \
    comments(first: 100) { totalCount nodes { id createdAt } } } } } }";

/// Every PR as the fake answers it, by number.
async fn prs(state: &AppState) -> Vec<Value> {
    let a = ask(state, PRS, json!({})).await;
    a.body["data"]["repository"]["pullRequests"]["nodes"].as_array().cloned().unwrap_or_default()
}

fn pr(all: &[Value], number: i32) -> Value {
    all.iter().find(|p| p["number"] == json!(number)).cloned().unwrap_or(Value::Null)
}

fn time(v: &Value) -> DateTime<Utc> {
    let t = v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok());
    t.map(|t| t.with_timezone(&Utc)).unwrap_or_else(|| panic!("not a time: {v}"))
}

fn count(pr: &Value, connection: &str) -> u64 {
    pr[connection]["totalCount"].as_u64().unwrap_or(0)
}

fn world(state: &AppState) -> std::sync::RwLockWriteGuard<'_, World> {
    state.world.write().unwrap_or_else(|e| e.into_inner())
}

type Pick = fn(&PullRequest) -> bool;
type Change = fn(&mut World, i32, &PullRequest) -> Result<(), ChangeError>;
type Check = fn(&Value, &Value) -> bool;

fn approved(pr: &PullRequest) -> Option<usize> {
    pr.reviews.iter().position(|r| r.state == "APPROVED")
}

#[tokio::test]
async fn each_change_moves_updated_at_past_everything_and_shows_in_a_query() {
    let open = |p: &PullRequest| p.state == "OPEN" && !p.draft;
    let cases: [(&str, Pick, Change, Check); 7] = [
        (
            "merge",
            open,
            |w, n, _| w.merge_pr("o", "r", n).map(drop),
            |_, a| a["state"] == "MERGED" && a["mergedAt"] == a["updatedAt"] && a["closedAt"] == a["updatedAt"],
        ),
        (
            "close",
            open,
            |w, n, _| w.close_pr("o", "r", n).map(drop),
            |_, a| a["state"] == "CLOSED" && a["closedAt"] == a["updatedAt"] && a["mergedAt"].is_null(),
        ),
        ("retitle", |_| true, |w, n, _| w.retitle_pr("o", "r", n, "Renamed").map(drop), |_, a| a["title"] == "Renamed"),
        (
            "review",
            |_| true,
            |w, n, _| w.add_review("o", "r", n, 3).map(drop),
            |b, a| {
                let last = a["reviews"]["nodes"].as_array().and_then(|r| r.last()).cloned().unwrap_or_default();
                count(a, "reviews") == count(b, "reviews") + 1
                    && count(&last, "comments") == 3
                    && last["state"] != "PENDING"
            },
        ),
        (
            "comment",
            |_| true,
            |w, n, _| w.add_issue_comment("o", "r", n).map(drop),
            |b, a| {
                let last = a["comments"]["nodes"].as_array().and_then(|r| r.last()).cloned().unwrap_or_default();
                count(a, "comments") == count(b, "comments") + 1 && last["createdAt"] == a["updatedAt"]
            },
        ),
        (
            "delete comment",
            |p| !p.comments.is_empty(),
            |w, n, _| w.delete_issue_comment("o", "r", n, 0).map(drop),
            |b, a| {
                count(a, "comments") + 1 == count(b, "comments")
                    && a["comments"]["nodes"][0] != b["comments"]["nodes"][0]
            },
        ),
        (
            "dismiss",
            |p| approved(p).is_some(),
            |w, n, p| w.dismiss_review("o", "r", n, approved(p).unwrap_or(0)).map(drop),
            |b, a| {
                let states = |p: &Value| p["reviews"]["nodes"].as_array().cloned().unwrap_or_default();
                let dismissed = |p: &Value| states(p).iter().filter(|r| r["state"] == "DISMISSED").count();
                count(a, "reviews") == count(b, "reviews") && dismissed(a) == dismissed(b) + 1
            },
        ),
    ];
    for (name, pick, change, check) in cases {
        let state = fake(60);
        let target = state.world.read().unwrap().repos[0].pull_requests.iter().find(|p| pick(p)).cloned();
        let target = target.unwrap_or_else(|| panic!("{name}: no PR to change"));
        let before = prs(&state).await;
        let latest = before.iter().map(|p| time(&p["updatedAt"])).max().expect("PRs");
        let result = change(&mut world(&state), target.number, &target);
        assert_eq!(result, Ok(()), "{name}");
        let after = prs(&state).await;
        let (b, a) = (pr(&before, target.number), pr(&after, target.number));
        assert!(check(&b, &a), "{name}:\nbefore {b}\nafter {a}");
        assert!(time(&a["updatedAt"]) > latest, "{name}: newer than every PR before");
        let others = |all: &[Value]| -> Vec<Value> {
            all.iter().filter(|p| p["number"] != json!(target.number)).cloned().collect()
        };
        assert_eq!(others(&before), others(&after), "{name}: the other PRs as they were");
    }
}

#[tokio::test]
async fn a_deleted_comment_answers_null_by_id() {
    let state = fake(30);
    let (number, ids) = {
        let w = state.world.read().unwrap();
        let p = w.repos[0].pull_requests.iter().find(|p| p.comments.len() >= 3).expect("a PR with comments");
        (p.number, p.comments.iter().take(3).map(|c| c.node_id.clone()).collect::<Vec<_>>())
    };
    let gone = world(&state).delete_issue_comment("o", "r", number, 1);
    assert_eq!(gone.as_ref(), Ok(&ids[1]));
    let q = "query($ids: [ID!]!, $id: ID!) { nodes(ids: $ids) { ... on IssueComment { id } } \
        node(id: $id) { id } }";
    let a = ask(&state, q, json!({ "ids": ids, "id": ids[1] })).await;
    assert_eq!(a.body["data"]["nodes"], json!([{ "id": ids[0] }, null, { "id": ids[2] }]));
    assert_eq!(a.body["data"]["node"], Value::Null);
    let errors = a.body["errors"].as_array().cloned().unwrap_or_default();
    let paths: Vec<&Value> = errors.iter().map(|e| &e["path"]).collect();
    assert_eq!(paths, [&json!(["nodes", 1]), &json!(["node"])]);
    assert!(errors.iter().all(|e| e["type"] == "NOT_FOUND"), "{errors:?}");
}

#[tokio::test]
async fn new_ids_are_above_every_id_ever_used_and_resolve() {
    let state = fake(40);
    let mut w = world(&state);
    let all_ids = |w: &World| -> Vec<i64> {
        let prs = w.repos.iter().flat_map(|r| &r.pull_requests);
        prs.flat_map(|p| {
            let reviews =
                p.reviews.iter().flat_map(|r| std::iter::once(r.full_id).chain(r.comments.iter().map(|c| c.full_id)));
            std::iter::once(p.full_id).chain(reviews).chain(p.comments.iter().map(|c| c.full_id)).collect::<Vec<_>>()
        })
        .collect()
    };
    let top = all_ids(&w).into_iter().max().expect("ids");
    // The comment holding the top id goes first: its id must not come back.
    let (number, index) = w.repos[0]
        .pull_requests
        .iter()
        .find_map(|p| p.comments.iter().position(|c| c.full_id == top).map(|i| (p.number, i)))
        .unwrap_or((0, 0));
    if number > 0 {
        w.delete_issue_comment("o", "r", number, index).expect("deleted");
    }
    let first = w.repos[0].pull_requests[0].number;
    let review = w.add_review("o", "r", first, 4).expect("reviewed");
    let comment = w.add_issue_comment("o", "r", first).expect("commented");
    let opened = w.open_pr("o", "r").expect("opened");
    let mut ids = all_ids(&w);
    let fresh: Vec<i64> = ids.iter().copied().filter(|&id| id > top).collect();
    assert!(fresh.len() >= 4 + 1 + 1 + 3, "review, its 4 comments, a comment, a PR and its content: {fresh:?}");
    ids.sort_unstable();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "no id twice");
    assert!(w.node(&review).is_some() && w.node(&comment).is_some(), "new nodes are indexed");
    let pr = w.repos[0].pull_requests.last().expect("the new PR");
    assert_eq!(pr.number, opened);
    assert!(w.node(&pr.node_id).is_some() && pr.reviews.iter().all(|r| w.node(&r.node_id).is_some()));
}

#[tokio::test]
async fn an_opened_pr_comes_last_in_created_order_and_can_be_merged() {
    let state = fake(25);
    let (last_number, old) = {
        let w = state.world.read().unwrap();
        (w.repos[0].pull_requests.last().map_or(0, |p| p.number), w.repos[0].pull_requests.len())
    };
    let number = world(&state).open_pr("o", "r").expect("opened");
    assert_eq!(number, last_number + 1);
    let q = "query($c: String) { repository(owner: \"o\", name: \"r\") { pullRequests(first: 10, after: $c, \
        orderBy: { field: CREATED_AT, direction: ASC }) { totalCount nodes { number createdAt updatedAt state \
        reviews(first: 5) { totalCount } comments(first: 5) { totalCount } } } } }";
    let a = ask(&state, q, json!({ "c": crate::encode_cursor(old - 1) })).await;
    let c = &a.body["data"]["repository"]["pullRequests"];
    assert_eq!(c["totalCount"], json!(old + 1));
    let nodes = c["nodes"].as_array().cloned().unwrap_or_default();
    assert_eq!(nodes.len(), 1, "only the new PR after the old last one: {c}");
    let p = &nodes[0];
    assert_eq!((p["number"].clone(), p["state"].clone()), (json!(number), json!("OPEN")));
    assert_eq!(p["createdAt"], p["updatedAt"]);
    assert!(count(p, "reviews") >= 1 && count(p, "comments") >= 1, "{p}");
    assert!(world(&state).merge_pr("o", "r", number).is_ok(), "a new PR is ready to merge");
}

#[test]
fn refusals_and_unknown_targets_are_errors_not_panics() {
    let mut w = World::new(&[crate::RepoSpec::new("o", "r", 40)]);
    let merged = w.repos[0].pull_requests.iter().find(|p| p.state == "MERGED").map_or(0, |p| p.number);
    let commented = w.repos[0]
        .pull_requests
        .iter()
        .find_map(|p| p.reviews.iter().position(|r| r.state == "COMMENTED").map(|i| (p.number, i)));
    let (reviewed, commented_at) = commented.expect("a commented review");
    let first = w.repos[0].pull_requests[0].number;
    let refused = |r: Result<(), ChangeError>| matches!(r, Err(ChangeError::Refused(_)));
    let missing_pr = ChangeError::NoPullRequest { repository: "o/r".into(), number: 999_999 };
    assert_eq!(w.merge_pr("o", "nope", first), Err(ChangeError::NoRepository("o/nope".into())));
    assert_eq!(w.close_pr("o", "r", 999_999), Err(missing_pr));
    assert!(refused(w.merge_pr("o", "r", merged).map(drop)), "merging a merged PR");
    assert!(refused(w.close_pr("o", "r", merged).map(drop)), "closing a merged PR");
    assert!(refused(w.retitle_pr("o", "r", first, "  ").map(drop)), "a blank title");
    assert!(refused(w.dismiss_review("o", "r", reviewed, commented_at).map(drop)), "dismissing a comment");
    let none = ChangeError::NoItem { number: first, what: "issue comment", index: 10_000 };
    assert_eq!(w.delete_issue_comment("o", "r", first, 10_000), Err(none));
    let none = ChangeError::NoItem { number: first, what: "review", index: 10_000 };
    assert_eq!(w.dismiss_review("O", "R", first, 10_000), Err(none), "names are case-insensitive");
    let after = World::new(&[crate::RepoSpec::new("o", "r", 40)]);
    let same = |a: &World, b: &World| {
        a.repos[0].pull_requests.iter().zip(&b.repos[0].pull_requests).all(|(x, y)| {
            (x.updated_at, &x.title, x.state, x.comments.len()) == (y.updated_at, &y.title, y.state, y.comments.len())
        })
    };
    assert!(same(&w, &after), "a refused change changes nothing");
}

#[test]
fn the_clock_only_moves_forward() {
    let mut w = World::new(&[crate::RepoSpec::new("o", "r", 10)]);
    let wall = Utc::now();
    let times: Vec<_> = (0..5).map(|_| w.now()).collect();
    assert!(times.windows(2).all(|t| t[0] < t[1]), "{times:?}");
    assert!(times[0] >= wall - chrono::Duration::seconds(1) && times[0].timestamp_subsec_nanos() == 0);
    let future = DateTime::from_timestamp(4_102_444_800, 0).expect("2100"); // 2100-01-01
    w.repos[0].pull_requests[3].updated_at = future;
    assert_eq!(w.now(), future + chrono::Duration::seconds(1), "after a date past today");
    let number = w.repos[0].pull_requests[5].number;
    assert_eq!(w.retitle_pr("o", "r", number, "Later"), Ok(future + chrono::Duration::seconds(2)));
}

#[tokio::test]
async fn changes_are_made_through_a_running_fake() {
    let fake = crate::FakeGithub::start(World::new(&[crate::RepoSpec::new("o", "n", 20)])).await.expect("starts");
    let number = fake.with_world(|w| w.repos[0].pull_requests[2].number);
    let at = fake.with_world(|w| w.retitle_pr("o", "n", number, "Changed under the client")).expect("retitled");
    assert_eq!(fake.with_world(|w| w.repos[0].pull_requests[2].updated_at), at);
}

/// Pages of `pullRequests` (oldest first, or `last`/`before`): the numbers
/// and the end (or start) cursor.
async fn pages(state: &AppState, args: &str, cursor: Value) -> (Vec<i64>, Value, i64) {
    let q = format!(
        "query($c: String) {{ repository(owner: \"o\", name: \"r\") {{ pullRequests({args}) {{ totalCount \
         pageInfo {{ startCursor endCursor }} nodes {{ number }} }} }} }}"
    );
    let a = ask(state, &q, json!({ "c": cursor })).await;
    let c = &a.body["data"]["repository"]["pullRequests"];
    let numbers = c["nodes"].as_array().map(|n| n.iter().filter_map(|p| p["number"].as_i64()).collect());
    let end = if args.starts_with("last") {
        c["pageInfo"]["startCursor"].clone()
    } else {
        c["pageInfo"]["endCursor"].clone()
    };
    (numbers.unwrap_or_else(|| panic!("{args}: {}", a.body)), end, c["totalCount"].as_i64().unwrap_or(-1))
}

#[tokio::test]
async fn a_deleted_pr_is_gone_and_the_cursors_after_it_hold() {
    let state = fake(30);
    let all: Vec<i64> = world(&state).repos[0].pull_requests.iter().map(|p| i64::from(p.number)).collect();
    let (first_ten, after_ten, _) = pages(&state, "first: 10", Value::Null).await;
    let (last_ten, before_last, _) = pages(&state, "last: 10", Value::Null).await;
    let pr_id = world(&state).repos[0].pull_requests[4].node_id.clone();
    let review = world(&state).repos[0].pull_requests[4].reviews.first().map(|r| r.node_id.clone());
    let gone = [all[4], all[15]];
    for n in gone {
        world(&state).delete_pr("o", "r", n as i32).expect("deleted");
    }
    let left: Vec<i64> = all.iter().copied().filter(|n| !gone.contains(n)).collect();
    // A cursor read before the deletions goes on where it stood, both ways.
    let (next, _, total) = pages(&state, "first: 10, after: $c", after_ten).await;
    assert_eq!(total, 28, "totalCount drops");
    let after = left.iter().position(|n| *n == all[9]).map_or(0, |i| i + 1);
    assert_eq!(next, left[after..after + 10].to_vec());
    let (before, _, _) = pages(&state, "last: 10, before: $c", before_last).await;
    assert_eq!(before, left[left.len() - 20..left.len() - 10].to_vec());
    assert_eq!(first_ten.len() + last_ten.len(), 20);
    // Paged whole, each way, every PR left once.
    for args in ["first: 7, after: $c", "last: 7, before: $c"] {
        let (mut got, mut cursor) = (Vec::new(), Value::Null);
        loop {
            let (numbers, next, _) = pages(&state, args, cursor).await;
            if numbers.is_empty() {
                break;
            }
            let at = if args.starts_with("last") { 0 } else { got.len() };
            got.splice(at..at, numbers);
            cursor = next;
        }
        assert_eq!(got, left, "{args}");
    }
    let q = "query($id: ID!) { node(id: $id) { id } }";
    for id in std::iter::once(pr_id).chain(review) {
        let a = ask(&state, q, json!({ "id": id })).await;
        assert!(a.body["data"]["node"].is_null(), "{id}: {}", a.body);
    }
    let missing = ChangeError::NoPullRequest { repository: "o/r".into(), number: gone[0] as i32 };
    assert_eq!(world(&state).delete_pr("o", "r", gone[0] as i32), Err(missing), "deleted once");
}
