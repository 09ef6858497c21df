//! One GraphQL POST, classified: every failure becomes a `GithubError` of the
//! right kind, and every answer carries the rate-limit numbers GitHub sent.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use graphql_client::QueryBody;
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::GithubError;
use super::wire::{ApiError, Envelope};

/// What GitHub said about the budget in its `x-ratelimit-*` headers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateInfo {
    pub limit: Option<i64>,
    pub remaining: Option<i64>,
    pub used: Option<i64>,
    pub reset_at: Option<DateTime<Utc>>,
}

impl RateInfo {
    fn from_headers(h: &HeaderMap) -> RateInfo {
        let num = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
        RateInfo {
            limit: num("x-ratelimit-limit"),
            remaining: num("x-ratelimit-remaining"),
            used: num("x-ratelimit-used"),
            reset_at: num("x-ratelimit-reset").and_then(|s| Utc.timestamp_opt(s, 0).single()),
        }
    }
}

/// A successful HTTP exchange: data (possibly partial) and any `errors[]`.
#[derive(Debug)]
pub struct Reply<T> {
    pub data: Option<T>,
    pub errors: Vec<ApiError>,
    pub rate: RateInfo,
}

pub struct GithubClient {
    http: reqwest::Client,
    url: String,
    token: String,
    /// Every request sent, answered or not: what a chunk's `api_calls_made` counts.
    sent: std::sync::atomic::AtomicU32,
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
    pub fn new(url: &str, token: &str) -> Result<GithubClient, GithubError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(READ_TIMEOUT)
            .build()
            .map_err(|e| GithubError::Other(format!("cannot set up the HTTP client: {e}")))?;
        Ok(GithubClient { http, url: url.to_string(), token: token.to_string(), sent: Default::default() })
    }

    pub fn requests_sent(&self) -> u32 {
        self.sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sends one document. A primary rate limit reported in `errors[]` is
    /// returned as `Err(RateLimited)`; other `errors[]` are left to the caller,
    /// who knows which of them (a deleted node, say) are harmless.
    pub async fn query<V: Serialize, T: DeserializeOwned>(&self, body: &QueryBody<V>) -> Result<Reply<T>, GithubError> {
        self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let payload =
            serde_json::to_vec(body).map_err(|e| GithubError::Other(format!("cannot encode the query: {e}")))?;
        let resp = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .header(USER_AGENT, concat!("backfill/", env!("CARGO_PKG_VERSION")))
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .body(payload)
            .send()
            .await
            .map_err(transport_error)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let rate = RateInfo::from_headers(&headers);
        let bytes = resp.bytes().await.map_err(transport_error)?;
        if status != 200 {
            return Err(status_error(status, &headers, &rate, &bytes));
        }
        let envelope: Envelope<T> = serde_json::from_slice(&bytes)
            .map_err(|e| GithubError::ServerError(format!("unreadable answer ({} bytes): {e}", bytes.len())))?;
        if envelope.errors.iter().any(|e| matches!(e.kind.as_deref(), Some("RATE_LIMITED" | "RATE_LIMIT"))) {
            return Err(GithubError::RateLimited { reset_at: rate.reset_at });
        }
        Ok(Reply { data: envelope.data, errors: envelope.errors, rate })
    }
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

fn status_error(status: u16, headers: &HeaderMap, rate: &RateInfo, body: &[u8]) -> GithubError {
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
        403 | 429 if rate.remaining == Some(0) => GithubError::RateLimited { reset_at: rate.reset_at },
        403 => GithubError::Forbidden(one_line(&message)),
        404 => GithubError::NotFound(one_line(&message)),
        502 | 504 => GithubError::Timeout(format!("HTTP {status}")),
        500..=599 => GithubError::ServerError(format!("HTTP {status}")),
        _ => GithubError::Other(format!("HTTP {status}: {}", one_line(&message))),
    }
}

/// Error text goes on one line of stderr, and never at length.
pub fn one_line(s: &str) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 300 {
        flat.chars().take(300).collect::<String>() + "…"
    } else {
        flat
    }
}
