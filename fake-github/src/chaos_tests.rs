//! The handler driven directly (no socket): partial answers, timeouts by
//! cost, and the secondary limits that depend on other requests.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{json, Value};

use crate::server::{graphql, AppState, Shared};
use crate::{Control, CostReading, Fault, RepoSpec, SecondaryPoints, World};

pub(crate) struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Value,
}

pub(crate) fn fake(prs: usize) -> AppState {
    let world = World::new(&[RepoSpec::new("o", "r", prs)]);
    Arc::new(Shared { world: RwLock::new(world), control: Mutex::new(Control::default()) })
}

fn control<T>(state: &AppState, f: impl FnOnce(&mut Control) -> T) -> T {
    f(&mut state.control.lock().unwrap())
}

pub(crate) async fn ask(state: &AppState, query: &str, vars: Value) -> Answer {
    let body = json!({ "query": query, "variables": vars }).to_string();
    let resp = graphql(State(state.clone()), HeaderMap::new(), Bytes::from(body)).await;
    let status = resp.status().as_u16();
    let retry_after = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    Answer { status, retry_after, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
}

fn path(steps: &[Value]) -> Vec<Value> {
    steps.to_vec()
}

const PAGE: &str = "{ repository(owner: \"o\", name: \"r\") { pullRequests(first: 5) { nodes { number \
    reviews(first: 10) { totalCount nodes { id comments(first: 3) { totalCount } } } \
    comments(first: 10) { totalCount } } } } rateLimit { cost remaining } }";

/// Queues a partial answer failing `failed` and returns the answer.
async fn partial_at(failed: &[Value], query: &str, vars: Value) -> (AppState, Answer) {
    let state = fake(20);
    control(&state, |c| c.faults.push_back(Fault::Partial { path: failed.to_vec() }));
    let answer = ask(&state, query, vars).await;
    assert_eq!(answer.status, 200);
    let errors = answer.body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    assert_eq!(e["type"], "RESOURCE_LIMITS_EXCEEDED");
    assert_eq!(e["message"], "Resource limits for this query exceeded.");
    assert_eq!(e["path"], Value::Array(failed.to_vec()));
    assert!(e["locations"][0]["line"].as_u64().is_some() && e["locations"][0]["column"].as_u64().is_some());
    let log = control(&state, |c| c.log.clone());
    assert_eq!(log[0].fault, Some(Fault::Partial { path: failed.to_vec() }));
    (state, answer)
}

#[tokio::test]
async fn a_nullable_connection_is_nulled_in_place() {
    let failed = path(&[json!("repository"), json!("pullRequests"), json!("nodes"), json!(3), json!("reviews")]);
    let (state, a) = partial_at(&failed, PAGE, json!({})).await;
    let pr = &a.body["data"]["repository"]["pullRequests"]["nodes"][3];
    assert_eq!(pr["reviews"], Value::Null);
    assert!(pr["number"].is_u64() && pr["comments"]["totalCount"].is_u64(), "the rest answered: {pr}");
    assert!(a.body["data"]["repository"]["pullRequests"]["nodes"][2]["reviews"].is_object());
    // rateLimit rides along, and the answer is charged like a whole one.
    assert_eq!(a.body["data"]["rateLimit"]["cost"], 1);
    assert_eq!(control(&state, |c| (c.log[0].cost, c.budget.remaining)), (1, 4_999));
}

#[tokio::test]
async fn a_non_null_connection_nulls_its_list_item() {
    let failed = path(&[json!("repository"), json!("pullRequests"), json!("nodes"), json!(3), json!("comments")]);
    let (_, a) = partial_at(&failed, PAGE, json!({})).await;
    let nodes = &a.body["data"]["repository"]["pullRequests"]["nodes"];
    assert_eq!(nodes[3], Value::Null);
    assert!(nodes[2].is_object() && nodes[4].is_object());

    // Two levels down: a review's comments null that review.
    let state = fake(20);
    let reviewed = state.world.read().unwrap().repos[0].pull_requests[..5].iter().position(|p| !p.reviews.is_empty());
    let i = reviewed.expect("one of the first PRs has reviews");
    let deep = path(&[
        json!("repository"),
        json!("pullRequests"),
        json!("nodes"),
        json!(i),
        json!("reviews"),
        json!("nodes"),
        json!(0),
        json!("comments"),
    ]);
    let (_, a) = partial_at(&deep, PAGE, json!({})).await;
    let pr = &a.body["data"]["repository"]["pullRequests"]["nodes"][i];
    assert_eq!(pr["reviews"]["nodes"][0], Value::Null);
    assert!(pr["reviews"]["totalCount"].is_u64());
}

#[tokio::test]
async fn the_top_connection_nulls_the_repository_and_nodes_null_their_item() {
    let failed = path(&[json!("repository"), json!("pullRequests")]);
    let (_, a) = partial_at(&failed, PAGE, json!({})).await;
    assert_eq!(a.body["data"]["repository"], Value::Null);
    assert!(a.body["data"]["rateLimit"]["remaining"].is_i64(), "rateLimit still answered");

    let state = fake(20);
    let ids: Vec<String> = state.world.read().unwrap().repos[0]
        .pull_requests
        .iter()
        .flat_map(|p| p.reviews.iter().map(|r| r.node_id.clone()))
        .take(3)
        .collect();
    assert_eq!(ids.len(), 3, "the data set has reviews");
    let q = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on PullRequestReview { id comments(first: 5) { totalCount } } } }";
    let failed = path(&[json!("nodes"), json!(1), json!("comments")]);
    let (_, a) = partial_at(&failed, q, json!({ "ids": ids })).await;
    let nodes = &a.body["data"]["nodes"];
    assert_eq!((nodes[0]["id"].as_str(), &nodes[1]), (Some(ids[0].as_str()), &Value::Null));

    let q = "query($id: ID!) { node(id: $id) { ... on PullRequestReview { comments(first: 5) { totalCount } } } }";
    let failed = path(&[json!("node"), json!("comments")]);
    let (_, a) = partial_at(&failed, q, json!({ "id": ids[0] })).await;
    assert_eq!(a.body["data"], json!({ "node": null }));
}

#[tokio::test]
async fn an_edge_node_takes_the_null_of_its_non_null_connection() {
    let q = "{ repository(owner: \"o\", name: \"r\") { pullRequests(first: 3) { edges { cursor node { comments(first: 2) { totalCount } } } } } }";
    let failed =
        path(&[json!("repository"), json!("pullRequests"), json!("edges"), json!(1), json!("node"), json!("comments")]);
    let (_, a) = partial_at(&failed, q, json!({})).await;
    let edge = &a.body["data"]["repository"]["pullRequests"]["edges"][1];
    assert_eq!(edge["node"], Value::Null);
    assert!(edge["cursor"].is_string());
}

#[tokio::test]
async fn random_partials_fail_a_connection_of_the_answer_and_replay_from_the_seed() {
    let run = || async {
        let state = fake(20);
        control(&state, |c| {
            c.chaos.seed = 9;
            c.chaos.partial_percent = 100;
        });
        let mut failed = Vec::new();
        for _ in 0..8 {
            let a = ask(&state, PAGE, json!({})).await;
            let e = &a.body["errors"][0];
            assert_eq!((a.status, &e["type"]), (200, &json!("RESOURCE_LIMITS_EXCEEDED")));
            let p = e["path"].as_array().unwrap().clone();
            let last = p.last().and_then(Value::as_str).unwrap();
            assert!(["pullRequests", "reviews", "comments"].contains(&last), "{p:?}");
            assert!(a.body["data"]["rateLimit"].is_object());
            failed.push(p);
        }
        let logged: Vec<_> = control(&state, |c| c.log.iter().map(|r| r.fault.clone()).collect());
        assert_eq!(logged, failed.iter().map(|p| Some(Fault::Partial { path: p.clone() })).collect::<Vec<_>>());
        failed
    };
    let first = run().await;
    assert!(first.iter().any(|p| p.len() > 2), "deeper connections are picked too: {first:?}");
    assert_eq!(first, run().await, "the same seed fails the same fields");
}

#[tokio::test]
async fn queries_over_a_cost_time_out_and_are_charged() {
    let state = fake(60);
    control(&state, |c| c.chaos.timeout_above_cost = Some(1));
    // Three connections under 50 PRs: 151 requests, 2 points.
    let heavy = "{ repository(owner: \"o\", name: \"r\") { pullRequests(first: 50) { nodes { \
        a: reviews(first: 1) { totalCount } b: reviews(first: 1) { totalCount } c: reviews(first: 1) { totalCount } } } } }";
    let a = ask(&state, heavy, json!({})).await;
    assert_eq!(a.status, 502);
    assert!(a.body["errors"][0]["message"].as_str().unwrap().starts_with("Something went wrong while executing"));
    assert_eq!(ask(&state, PAGE, json!({})).await.status, 200, "a 1-point query runs");
    let log = control(&state, |c| c.log.clone());
    // Logged as what it was, a real timeout, not a gateway hiccup.
    assert_eq!((log[0].cost, log[0].fault.clone()), (2, Some(Fault::SlowTimeout)));
    assert_eq!(control(&state, |c| c.budget.remaining), 5_000 - 2 - 1);
}

#[tokio::test]
async fn the_points_window_refuses_then_admits_once_points_leave_it() {
    let state = fake(20);
    let window = Duration::from_millis(1_800);
    control(&state, |c| c.secondary_points = Some(SecondaryPoints { points: 3, window }));
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(ask(&state, PAGE, json!({})).await.status, 200);
    }
    let refused = ask(&state, PAGE, json!({})).await;
    assert_eq!((refused.status, refused.retry_after.as_deref()), (403, Some("2")));
    assert!(refused.body["message"].as_str().unwrap().contains("secondary rate limit"));
    let log = control(&state, |c| c.log.clone());
    assert_eq!((log[3].cost, log[3].fault.clone()), (0, Some(Fault::SecondaryLimit { retry_after: Some(2) })));
    assert_eq!(control(&state, |c| c.budget.remaining), 4_997, "refusals cost nothing");

    let deadline = started + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "never admitted again");
        if ask(&state, PAGE, json!({})).await.status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(started.elapsed() >= window, "admitted only after the first points left the window");
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_are_refused() {
    let state = fake(5);
    control(&state, |c| {
        c.max_concurrent = Some(1);
        c.latency = Duration::from_millis(200);
    });
    let (a, b) = tokio::join!(ask(&state, PAGE, json!({})), ask(&state, PAGE, json!({})));
    assert_eq!((a.status, b.status), (200, 403));
    assert_eq!(b.retry_after.as_deref(), Some("1"));
    let c = ask(&state, PAGE, json!({})).await;
    assert_eq!(c.status, 200, "alone again, it runs");
    let faults = control(&state, |c| c.log.iter().filter(|r| r.fault.is_some()).count());
    assert_eq!(faults, 1);
}

#[tokio::test]
async fn nodes_by_id_are_charged_as_the_reading_says() {
    let state = fake(80);
    let ids: Vec<String> = state.world.read().unwrap().repos[0]
        .pull_requests
        .iter()
        .flat_map(|p| p.reviews.iter().map(|r| r.node_id.clone()))
        .take(151)
        .collect();
    assert_eq!(ids.len(), 151, "the data set has reviews");
    let q = "query($a: [ID!]!, $b: [ID!]!) { \
        a: nodes(ids: $a) { ... on PullRequestReview { comments(first: 100) { totalCount } } } \
        b: nodes(ids: $b) { ... on PullRequestReview { comments(first: 100) { totalCount } } } rateLimit { cost } }";
    let vars = json!({ "a": ids[..100], "b": ids[100..] });
    // 151 ids: 151 requests, 2 points, per id; 2 requests, 1 point, per list.
    for (reading, requests, points) in [(CostReading::PerId, 151, 2), (CostReading::PerList, 2, 1)] {
        control(&state, |c| c.cost_reading = reading);
        let before = control(&state, |c| c.budget.remaining);
        let a = ask(&state, q, vars.clone()).await;
        assert_eq!(a.body["data"]["rateLimit"]["cost"], points, "{reading:?}: {}", a.body);
        let last = control(&state, |c| c.log.last().map(|r| (r.requests, r.cost)));
        assert_eq!(last, Some((requests, points)), "{reading:?}");
        assert_eq!(control(&state, |c| before - c.budget.remaining), points, "{reading:?} charged");
    }
}
