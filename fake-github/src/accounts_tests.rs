//! Budgets by account: the tokens of one account share one, each App
//! installation has its own, and the default account takes the rest.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use serde_json::{json, Value};

use crate::chaos_tests::fake;
use crate::server::{graphql, AppState};
use crate::world::{Budget, Control};

const PAGE: &str = "{ repository(owner: \"o\", name: \"r\") { pullRequests(first: 5) { nodes { number } } } \
    rateLimit { cost remaining } }";

async fn remaining_after(state: &AppState, token: &str) -> Option<i64> {
    let mut headers = HeaderMap::new();
    headers.insert("authorization", HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
    let body = json!({ "query": PAGE }).to_string();
    let resp = graphql(State(state.clone()), headers, Bytes::from(body)).await;
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    answer["data"]["rateLimit"]["remaining"].as_i64()
}

#[tokio::test]
async fn tokens_spend_their_accounts_budget() {
    let state = fake(5);
    state.control.lock().unwrap().token = Some("main".into());
    let setup = |c: &mut Control| {
        c.budget = Budget::new(10, Duration::from_secs(600));
        c.account_budget = Budget::new(20, Duration::from_secs(600));
        c.tokens.insert("a1".into(), "alice".into());
        c.tokens.insert("a2".into(), "alice".into());
        c.tokens.insert("b1".into(), "bob".into());
    };
    setup(&mut state.control.lock().unwrap());
    // (token, the remaining budget its account has after one point)
    let cases = [("main", 9), ("a1", 19), ("a2", 18), ("b1", 19), ("main", 8), ("a1", 17)];
    for (token, want) in cases {
        assert_eq!(remaining_after(&state, token).await, Some(want), "{token}");
    }
    let log = state.control.lock().unwrap().log.clone();
    let accounts: Vec<Option<&str>> = log.iter().map(|r| r.account.as_deref()).collect();
    assert_eq!(accounts, [None, Some("alice"), Some("alice"), Some("bob"), None, Some("alice")]);
    assert_eq!(remaining_after(&state, "nobody").await, None, "an unknown token is refused");
}
