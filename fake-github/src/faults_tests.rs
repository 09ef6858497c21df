//! Timeouts that take their time, gateway hiccups that do not, the share of
//! HTML 502s, the secondary window counting queries, and the free `rateLimit`.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use serde_json::{json, Value};

use crate::chaos_tests::{ask, fake, Answer};
use crate::server::{graphql, AppState};
use crate::{Chaos, Control, Fault, SecondaryPoints};

fn control<T>(state: &AppState, f: impl FnOnce(&mut Control) -> T) -> T {
    f(&mut state.control.lock().unwrap())
}

/// One point: a page of 5 PRs with its connections.
const PAGE: &str = "{ repository(owner: \"o\", name: \"r\") { pullRequests(first: 5) { nodes { number \
    comments(first: 10) { totalCount } } } } rateLimit { cost remaining } }";

/// Two points: three connections under 50 PRs (151 requests).
const HEAVY: &str = "{ repository(owner: \"o\", name: \"r\") { pullRequests(first: 50) { nodes { \
    a: reviews(first: 1) { totalCount } b: reviews(first: 1) { totalCount } c: reviews(first: 1) { totalCount } } } } }";

const RATE_ONLY: &str = "query RateLimitNow { rateLimit { cost limit remaining resetAt } }";

const DELAY: Duration = Duration::from_millis(300);

#[tokio::test]
async fn real_timeouts_are_charged_and_answered_late_hiccups_at_once() {
    // (queued fault, or a query over the cost threshold; status; points charged; late)
    let cases: [(Option<Fault>, u16, i64, bool); 5] = [
        (None, 502, 2, true),
        (Some(Fault::SlowTimeout), 502, 2, true),
        (Some(Fault::BadGateway), 502, 0, false),
        (Some(Fault::BadGatewayHtml), 502, 0, false),
        (Some(Fault::GatewayTimeout), 504, 0, false),
    ];
    for (queued, status, charged, late) in cases {
        let state = fake(60);
        control(&state, |c| {
            c.timeout_delay = DELAY;
            // Only the heavy query times out by itself; the queued faults strike it too.
            c.chaos.timeout_above_cost = queued.is_none().then_some(1);
            c.faults.extend(queued.clone());
        });
        let started = Instant::now();
        let a = ask(&state, HEAVY, json!({})).await;
        let took = started.elapsed();
        assert_eq!(a.status, status, "{queued:?}");
        assert_eq!(took >= DELAY, late, "{queued:?} answered after {took:?}");
        let log = control(&state, |c| c.log.clone());
        let r = &log[0];
        assert_eq!(r.cost, charged, "{queued:?}");
        assert_eq!(control(&state, |c| c.budget.remaining), 5_000 - charged, "{queued:?}");
        assert_eq!((r.at - r.received).to_std().unwrap() >= DELAY, late, "{queued:?}: the record's `at`");
        let logged = queued.clone().unwrap_or(Fault::SlowTimeout);
        assert_eq!(r.fault, Some(logged), "{queued:?}");
        if charged > 0 {
            let message = a.body["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(message.starts_with("Something went wrong while executing"), "{queued:?}: {}", a.body);
        }
    }
    // A queued timeout on a 1-point query costs its 1 point; the next is answered.
    let state = fake(20);
    control(&state, |c| c.faults.push_back(Fault::SlowTimeout));
    assert_eq!(ask(&state, PAGE, json!({})).await.status, 502);
    assert_eq!(ask(&state, PAGE, json!({})).await.status, 200);
    assert_eq!(control(&state, |c| c.log.iter().map(|r| r.cost).collect::<Vec<_>>()), vec![1, 1]);
}

#[tokio::test]
async fn random_502s_come_at_once_and_html_in_the_share_asked() {
    // (html_percent, least and most HTML pages of 200 502s)
    for (html_percent, least, most) in [(0, 0, 0), (33, 46, 86), (50, 80, 120), (100, 200, 200)] {
        let state = fake(5);
        control(&state, |c| {
            c.timeout_delay = DELAY;
            c.chaos = Chaos { seed: 3, bad_gateway_percent: 100, html_percent, ..Chaos::default() };
        });
        let started = Instant::now();
        for _ in 0..200 {
            assert_eq!(ask(&state, PAGE, json!({})).await.status, 502);
        }
        assert!(started.elapsed() < DELAY, "hiccups wait for nothing: {:?}", started.elapsed());
        let log = control(&state, |c| c.log.clone());
        let html = log.iter().filter(|r| r.fault == Some(Fault::BadGatewayHtml)).count();
        let json = log.iter().filter(|r| r.fault == Some(Fault::BadGateway)).count();
        assert_eq!(html + json, 200, "{html_percent}%");
        assert!((least..=most).contains(&html), "{html_percent}%: {html} HTML pages of 200");
        assert!(log.iter().all(|r| r.cost == 0), "never run, never charged");
    }
    assert_eq!(Chaos::default().html_percent, 50, "half, as before the knob");
}

#[tokio::test]
async fn the_secondary_window_counts_queries_not_their_cost() {
    let state = fake(60);
    let window = Duration::from_secs(60);
    control(&state, |c| c.secondary_points = Some(SecondaryPoints { points: 3, window }));
    // Three 2-point queries fit in a window of 3: each is 1 point there.
    for _ in 0..3 {
        assert_eq!(ask(&state, HEAVY, json!({})).await.status, 200);
    }
    let refused = ask(&state, PAGE, json!({})).await;
    assert_eq!(refused.status, 403, "the fourth query, however cheap, is over");
    assert_eq!(control(&state, |c| c.budget.remaining), 5_000 - 6, "the primary budget still pays the cost");
}

async fn ask_as(state: &AppState, token: &str, query: &str) -> Answer {
    let mut headers = HeaderMap::new();
    headers.insert("authorization", HeaderValue::from_str(&format!("bearer {token}")).unwrap());
    let body = json!({ "query": query, "operationName": "RateLimitNow" }).to_string();
    let resp = graphql(State(state.clone()), headers, Bytes::from(body)).await;
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    Answer { status, retry_after: None, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
}

#[tokio::test]
async fn the_rate_limit_alone_is_free_and_answered_with_nothing_left() {
    let state = fake(20);
    control(&state, |c| c.token = Some("good".into()));
    let a = ask_as(&state, "good", RATE_ONLY).await;
    assert_eq!((a.status, &a.body["data"]["rateLimit"]["cost"]), (200, &json!(0)), "{}", a.body);
    assert_eq!(control(&state, |c| (c.budget.remaining, c.log[0].cost)), (5_000, 0));

    control(&state, |c| c.budget.remaining = 0);
    let a = ask_as(&state, "good", RATE_ONLY).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"]["rateLimit"]["remaining"], 0, "answered, saying the budget is spent: {}", a.body);
    assert!(a.body.get("errors").is_none(), "{}", a.body);
    assert!(!control(&state, |c| c.log[1].rate_limited), "not a refusal");
    // Anything beside it is a query like any other: refused.
    let with_data = "query RateLimitNow { rateLimit { cost } repository(owner: \"o\", name: \"r\") { name } }";
    let a = ask_as(&state, "good", with_data).await;
    assert_eq!(a.body["errors"][0]["type"], "RATE_LIMITED", "{}", a.body);
    assert!(control(&state, |c| c.log[2].rate_limited));
    // The token is checked before anything.
    let a = ask_as(&state, "wrong", RATE_ONLY).await;
    assert_eq!((a.status, a.body["message"].as_str()), (401, Some("Bad credentials")));
}
