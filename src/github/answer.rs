//! What an HTTP exchange with GitHub means: the budget in its headers, and
//! every failure classified into a `GithubError` of the right kind.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use http::header::{HeaderMap, RETRY_AFTER};
use serde::de::DeserializeOwned;

use super::credential::CredentialName;
use super::error::{GithubError, RATE_LIMIT_NAMES};
use super::wire::{ApiError, Envelope};
use crate::budget::Budget;
use crate::text::one_line;

/// A successful HTTP exchange: data (possibly partial) and any `errors[]`.
#[derive(Debug)]
pub struct Reply<T> {
    pub data: Option<T>,
    pub errors: Vec<ApiError>,
    /// The budget from the headers (the body's `rateLimit` is the caller's).
    pub budget: Option<Budget>,
}

impl<T> Reply<T> {
    /// An answer GitHub cut short at its resource limits, as an error, so
    /// that it is asked again as any failure is: a listing or counts with
    /// holes would read as things missing. `what` names what was asked.
    pub fn refuse_partial(&self, what: impl FnOnce() -> String) -> Result<(), GithubError> {
        match self.errors.iter().any(|e| e.is_resource_limit()) {
            true => {
                Err(GithubError::from_api_errors(&self.errors, None)
                    .unwrap_or_else(|| GithubError::ResourceLimits(what())))
            }
            false => Ok(()),
        }
    }
}

/// The budget in GitHub's `x-ratelimit-*` headers, when it sent them.
pub(super) fn budget_from_headers(h: &HeaderMap) -> Option<Budget> {
    let num = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
    Some(Budget {
        limit: num("x-ratelimit-limit")?,
        remaining: num("x-ratelimit-remaining")?,
        used: num("x-ratelimit-used"),
        reset_at: num("x-ratelimit-reset").and_then(|s| Utc.timestamp_opt(s, 0).single()),
    })
}

pub(super) fn parse<T: DeserializeOwned>(bytes: &[u8], budget: Option<Budget>) -> Result<Reply<T>, GithubError> {
    let reset_at = budget.and_then(|b| b.reset_at);
    let envelope: Envelope<T> = serde_json::from_slice(bytes)
        .map_err(|e| GithubError::ServerError(format!("unreadable answer ({} bytes): {e}", bytes.len())))?;
    let rate_limited = |e: &ApiError| e.names().any(|n| RATE_LIMIT_NAMES.iter().any(|m| n.eq_ignore_ascii_case(m)));
    if envelope.errors.iter().any(rate_limited) {
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

pub(super) fn transport_error(e: &reqwest::Error) -> GithubError {
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

pub(super) fn status_error(
    status: u16,
    headers: &HeaderMap,
    budget: Option<Budget>,
    body: &[u8],
    credential: &CredentialName,
) -> GithubError {
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
    // A limit is told by its headers first (`retry-after`: a secondary
    // limit; nothing left: the primary), and only then by the words.
    let text = text.to_lowercase();
    let secondary = GithubError::SecondaryLimit { retry_after, message: one_line(&message) };
    let primary = GithubError::RateLimited { reset_at: budget.and_then(|b| b.reset_at) };
    match status {
        401 => GithubError::BadCredentials(credential.clone()),
        403 | 429 if retry_after.is_some() => secondary,
        403 | 429 if budget.is_some_and(|b| b.remaining == 0) => primary,
        403 | 429 if text.contains("secondary rate limit") => secondary,
        403 | 429 if text.contains("rate limit") => primary,
        // Too many requests, and no more said: wait as for a secondary limit.
        429 => secondary,
        403 => GithubError::Forbidden(one_line(&message)),
        404 => GithubError::WrongEndpoint,
        502 | 504 => GithubError::Timeout(format!("HTTP {status}")),
        500..=599 => GithubError::ServerError(format!("HTTP {status}")),
        _ => GithubError::Other(format!("HTTP {status}: {}", one_line(&message))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::credential::Credential;
    use http::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("header value"));
        }
        h
    }

    fn kind(e: &GithubError) -> &'static str {
        match e {
            GithubError::RateLimited { .. } => "primary",
            GithubError::ReserveHeld { .. } => "reserve",
            GithubError::SecondaryLimit { .. } => "secondary",
            GithubError::Forbidden(_) => "forbidden",
            GithubError::BadCredentials(_) => "bad credentials",
            GithubError::Timeout(_) => "timeout",
            GithubError::Hiccup(_) => "hiccup",
            GithubError::RepeatedHiccup(_) => "hiccup again",
            GithubError::NotInstalled { .. } => "not installed",
            GithubError::ResourceLimits(_) => "partial",
            GithubError::TooLarge(_) => "too large",
            GithubError::NotFound(_) => "not found",
            GithubError::ServerError(_) => "server error",
            GithubError::Unreachable(_) => "unreachable",
            GithubError::AppRejected { .. } => "app rejected",
            GithubError::WrongEndpoint => "wrong endpoint",
            GithubError::Other(_) => "other",
        }
    }

    #[test]
    fn limits_are_told_by_their_headers_before_their_words() {
        let spent = [("x-ratelimit-limit", "5000"), ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")];
        // (status, headers, body, the kind it is)
        type Case<'a> = (u16, &'a [(&'static str, &'a str)], &'a str, &'a str);
        let cases: [Case; 9] = [
            (403, &[("retry-after", "30")], r#"{"message":"slow down"}"#, "secondary"),
            (429, &[("retry-after", "30")], "", "secondary"),
            // retry-after wins over a spent budget: wait what GitHub asked
            (403, &[("retry-after", "5"), spent[0], spent[1], spent[2]], "", "secondary"),
            (403, &spent, r#"{"message":"denied"}"#, "primary"),
            (403, &[], r#"{"message":"You have exceeded a secondary rate limit"}"#, "secondary"),
            (403, &[], r#"{"message":"API rate limit exceeded for user"}"#, "primary"),
            (429, &[], "", "secondary"),
            (403, &[], r#"{"message":"Resource not accessible by integration"}"#, "forbidden"),
            (401, &[], r#"{"message":"Bad credentials"}"#, "bad credentials"),
        ];
        for (status, pairs, body, want) in cases {
            let h = headers(pairs);
            let got =
                status_error(status, &h, budget_from_headers(&h), body.as_bytes(), &Credential::token("t").name());
            assert_eq!(kind(&got), want, "{status} {pairs:?} {body}");
        }
    }

    #[test]
    fn errors_in_a_200_are_told_by_their_names_in_every_spelling() {
        let cases = [
            (r#"{"data":null,"errors":[{"type":"RATE_LIMITED","message":"x"}]}"#, "primary"),
            (r#"{"data":null,"errors":[{"type":"RATE_LIMIT","code":"graphql_rate_limit","message":"x"}]}"#, "primary"),
            (r#"{"data":null,"errors":[{"code":"graphql_rate_limit","message":"x"}]}"#, "primary"),
            (r#"{"data":null,"errors":[{"extensions":{"code":"RATE_LIMITED"},"message":"x"}]}"#, "primary"),
            (r#"{"data":null,"errors":[{"message":"API rate limit exceeded"}]}"#, "primary"),
            (r#"{"data":null,"errors":[{"type":"RESOURCE_LIMITS_EXCEEDED","message":"x","path":["a"]}]}"#, "partial"),
            (r#"{"data":null,"errors":[{"type":"MAX_NODE_LIMIT_EXCEEDED","message":"x"}]}"#, "too large"),
            (r#"{"data":null,"errors":[{"message":"Something went wrong while executing your query."}]}"#, "timeout"),
            (r#"{"data":null,"errors":[{"type":"NOT_FOUND","message":"x"}]}"#, "not found"),
        ];
        for (body, want) in cases {
            let got = parse::<serde_json::Value>(body.as_bytes(), None).map(|_| ()).map_err(|e| kind(&e));
            assert_eq!(got, Err(want), "{body}");
        }
        let partial =
            r#"{"data":{"a":null},"errors":[{"type":"RESOURCE_LIMITS_EXCEEDED","message":"x","path":["a"]}]}"#;
        let reply = parse::<serde_json::Value>(partial.as_bytes(), None).expect("a partial answer comes back whole");
        assert_eq!(reply.errors.len(), 1, "for the caller to repair");
    }
}
