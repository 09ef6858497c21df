//! One GraphQL POST, classified: every failure becomes a `GithubError` of the
//! right kind, and every answer carries the rate-limit numbers GitHub sent.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use graphql_client::QueryBody;
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use serde::de::DeserializeOwned;
use serde::Serialize;

use tokio::time::Instant;

use super::error::GithubError;
use super::pacing::Pacer;
use super::retry::{next_step, Next, RetryPolicy};
use super::wire::{ApiError, Envelope};
use crate::budget::Budget;
use crate::report::{NoticeLevel, Notifier};
use crate::text::one_line;

/// The budget in GitHub's `x-ratelimit-*` headers, when it sent them.
fn budget_from_headers(h: &HeaderMap) -> Option<Budget> {
    let num = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
    Some(Budget {
        limit: num("x-ratelimit-limit")?,
        remaining: num("x-ratelimit-remaining")?,
        used: num("x-ratelimit-used"),
        reset_at: num("x-ratelimit-reset").and_then(|s| Utc.timestamp_opt(s, 0).single()),
    })
}

/// A successful HTTP exchange: data (possibly partial) and any `errors[]`.
#[derive(Debug)]
pub struct Reply<T> {
    pub data: Option<T>,
    pub errors: Vec<ApiError>,
    /// The budget from the headers (the body's `rateLimit` is the caller's).
    pub budget: Option<Budget>,
}

pub struct GithubClient {
    http: reqwest::Client,
    url: String,
    token: String,
    /// Every request sent, answered or not: what a chunk's `api_calls_made` counts.
    sent: AtomicU32,
    /// Failures in a row across requests: the backoff keeps growing while
    /// GitHub keeps failing, even when the caller retries with a smaller query.
    failures: AtomicU32,
    pacer: Pacer,
    settings: ClientSettings,
    notify: Notifier,
    /// GitHub's REST API root, for the few calls GraphQL cannot make.
    rest_url: String,
}

/// How hard the client tries, and how politely.
#[derive(Debug, Clone, Copy)]
pub struct ClientSettings {
    /// The least time between two requests.
    pub request_interval: Duration,
    pub retry: RetryPolicy,
    /// No retry is scheduled to end after this (the run's time budget).
    pub deadline: Option<Instant>,
}

impl Default for ClientSettings {
    fn default() -> ClientSettings {
        ClientSettings { request_interval: Duration::from_millis(250), retry: RetryPolicy::default(), deadline: None }
    }
}

/// The token never appears in debug output.
impl std::fmt::Debug for GithubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubClient").field("url", &self.url).field("token", &"<redacted>").finish()
    }
}

/// GitHub kills queries after 10 s; anything much slower is a dead connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

impl GithubClient {
    pub fn new(url: &str, token: &str, settings: ClientSettings) -> Result<GithubClient, GithubError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(READ_TIMEOUT)
            .build()
            .map_err(|e| GithubError::Other(format!("cannot set up the HTTP client: {e}")))?;
        Ok(GithubClient {
            http,
            url: url.to_string(),
            token: token.to_string(),
            sent: AtomicU32::new(0),
            failures: AtomicU32::new(0),
            pacer: Pacer::new(settings.request_interval),
            settings,
            notify: Box::new(|_, _| {}),
            rest_url: rest_url_for(url),
        })
    }

    /// The REST root when it is not the one the GraphQL URL implies
    /// (`GITHUB_API_URL` in Actions).
    pub fn with_rest_url(mut self, url: &str) -> GithubClient {
        self.rest_url = url.trim_end_matches('/').to_string();
        self
    }

    /// Every request to GitHub, GraphQL or REST: the token, who we are, what we accept.
    fn request(&self, method: reqwest::Method, url: &str, accept: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .bearer_auth(&self.token)
            .header(USER_AGENT, concat!("backfill/", env!("CARGO_PKG_VERSION")))
            .header(ACCEPT, accept)
    }

    /// One REST call, paced like the GraphQL ones; the JSON answer.
    pub async fn rest(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, GithubError> {
        let _turn = self.pacer.wait_turn().await;
        self.sent.fetch_add(1, Ordering::Relaxed);
        let mut req = self
            .request(method, &format!("{}{path}", self.rest_url), "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        if let Some(b) = body {
            req = req.header(CONTENT_TYPE, "application/json").body(b.to_string());
        }
        let resp = req.send().await.map_err(transport_error)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(transport_error)?;
        if !(200..300).contains(&status) {
            return Err(status_error(status, &headers, budget_from_headers(&headers), &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|e| GithubError::ServerError(format!("unreadable REST answer: {e}")))
    }

    pub fn with_notifier(mut self, notify: Notifier) -> GithubClient {
        self.notify = notify;
        self
    }

    pub fn requests_sent(&self) -> u32 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Sends one document, retrying what the retry policy says may succeed
    /// later. A primary rate limit (in `errors[]` or already known to be
    /// spent) is `Err(RateLimited)`; other `errors[]` are left to the caller,
    /// who knows which of them (a deleted node, say) are harmless.
    pub async fn query<V: Serialize, T: DeserializeOwned>(&self, body: &QueryBody<V>) -> Result<Reply<T>, GithubError> {
        self.query_with(body, false).await
    }

    /// Like `query`, but a timeout or a too-large query comes back to the
    /// caller (after the backoff is set) so that it can ask for less.
    pub async fn query_or_shrink<V: Serialize, T: DeserializeOwned>(
        &self,
        body: &QueryBody<V>,
    ) -> Result<Reply<T>, GithubError> {
        self.query_with(body, true).await
    }

    async fn query_with<V: Serialize, T: DeserializeOwned>(
        &self,
        body: &QueryBody<V>,
        can_shrink: bool,
    ) -> Result<Reply<T>, GithubError> {
        let mut retries = 0;
        loop {
            let mut turn = self.pacer.wait_turn().await;
            if let Some(reset_at) = turn.exhausted_until(Utc::now()) {
                return Err(GithubError::RateLimited { reset_at: Some(reset_at) });
            }
            let (budget, result) = self.send(body).await;
            let cost = budget.and_then(|b| turn.record(b));
            let error = match result {
                Ok(reply) => {
                    self.failures.store(0, Ordering::Relaxed);
                    self.detail(body.operation_name, cost, reply.budget);
                    return Ok(reply);
                }
                Err(e) => e,
            };
            let failures = self.failures.fetch_add(1, Ordering::Relaxed).saturating_add(1);
            let time_left = self.settings.deadline.map(|d| d.saturating_duration_since(Instant::now()));
            match next_step(&self.settings.retry, &error, failures, retries, rand::random(), time_left) {
                Next::Retry { wait, smaller } => {
                    turn.hold_off(wait);
                    if smaller && can_shrink {
                        (self.notify)(NoticeLevel::Warning, &format!("{error}; asking for less in {wait:.1?}"));
                        return Err(error);
                    }
                    retries += 1;
                    let max = self.settings.retry.max_retries;
                    (self.notify)(NoticeLevel::Warning, &format!("{error}; retry {retries} of {max} in {wait:.1?}"));
                }
                Next::GiveUp => return Err(error),
            }
        }
    }

    fn detail(&self, operation: &str, cost: Option<i64>, budget: Option<Budget>) {
        let show = |n: Option<i64>| n.map_or_else(|| "?".to_string(), |n| n.to_string());
        let (cost, left, limit) = (show(cost), show(budget.map(|b| b.remaining)), show(budget.map(|b| b.limit)));
        (self.notify)(NoticeLevel::Detail, &format!("{operation}: cost {cost}, {left} of {limit} points left"));
    }

    /// One exchange, with the budget from the headers whenever GitHub answered.
    async fn send<V: Serialize, T: DeserializeOwned>(
        &self,
        body: &QueryBody<V>,
    ) -> (Option<Budget>, Result<Reply<T>, GithubError>) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        let payload = match serde_json::to_vec(body) {
            Ok(p) => p,
            Err(e) => return (None, Err(GithubError::Other(format!("cannot encode the query: {e}")))),
        };
        let sent = self
            .request(reqwest::Method::POST, &self.url, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .body(payload)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => return (None, Err(transport_error(e))),
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let budget = budget_from_headers(&headers);
        let result = match resp.bytes().await {
            Err(e) => Err(transport_error(e)),
            Ok(bytes) if status != 200 => Err(status_error(status, &headers, budget, &bytes)),
            Ok(bytes) => parse(&bytes, budget),
        };
        (budget, result)
    }
}

/// `https://api.github.com/graphql` -> `https://api.github.com`;
/// Enterprise Server's `https://HOST/api/graphql` -> `https://HOST/api/v3`.
pub fn rest_url_for(graphql_url: &str) -> String {
    let base = graphql_url.trim_end_matches('/').trim_end_matches("/graphql");
    if base.ends_with("/api") {
        format!("{base}/v3")
    } else {
        base.to_string()
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8], budget: Option<Budget>) -> Result<Reply<T>, GithubError> {
    let reset_at = budget.and_then(|b| b.reset_at);
    let envelope: Envelope<T> = serde_json::from_slice(bytes)
        .map_err(|e| GithubError::ServerError(format!("unreadable answer ({} bytes): {e}", bytes.len())))?;
    if envelope.errors.iter().any(|e| matches!(e.kind.as_deref(), Some("RATE_LIMITED" | "RATE_LIMIT"))) {
        return Err(GithubError::RateLimited { reset_at });
    }
    // No data at all: the whole query failed (a timeout, too many nodes), so
    // the error is the answer, and the retry policy gets to see it.
    if envelope.data.is_none() {
        if let Some(e) = GithubError::from_api_errors(&envelope.errors, reset_at) {
            return Err(e);
        }
    }
    Ok(Reply { data: envelope.data, errors: envelope.errors, budget })
}

fn transport_error(e: reqwest::Error) -> GithubError {
    // reqwest's messages name the URL, never the headers, so the token stays out.
    let text = one_line(&e.to_string());
    if e.is_timeout() {
        GithubError::Timeout(text)
    } else if e.is_connect() {
        GithubError::Unreachable(text)
    } else if e.is_body() || e.is_decode() || e.is_request() {
        GithubError::ServerError(text)
    } else {
        GithubError::Other(text)
    }
}

fn status_error(status: u16, headers: &HeaderMap, budget: Option<Budget>, body: &[u8]) -> GithubError {
    let text = String::from_utf8_lossy(body);
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or_else(|| format!("HTTP {status}"));
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    match status {
        401 => GithubError::BadCredentials,
        403 | 429 if text.to_lowercase().contains("secondary rate limit") || retry_after.is_some() => {
            GithubError::SecondaryLimit { retry_after, message: one_line(&message) }
        }
        403 | 429 if budget.is_some_and(|b| b.remaining == 0) => {
            GithubError::RateLimited { reset_at: budget.and_then(|b| b.reset_at) }
        }
        403 => GithubError::Forbidden(one_line(&message)),
        404 => GithubError::NotFound(one_line(&message)),
        502 | 504 => GithubError::Timeout(format!("HTTP {status}")),
        500..=599 => GithubError::ServerError(format!("HTTP {status}")),
        _ => GithubError::Other(format!("HTTP {status}: {}", one_line(&message))),
    }
}
