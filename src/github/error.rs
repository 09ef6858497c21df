//! The one error type at the GitHub boundary. Callers branch on the kind:
//! pause for a rate limit, wait out a secondary limit, shrink after a timeout,
//! fail one backfill for a missing repository, stop everything for a bad token.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::credential::CredentialName;
use crate::text::one_line;

#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// The primary (hourly) budget is spent; nothing more can be sent until `reset_at`.
    #[error("GitHub's rate limit is exhausted{}", until(.reset_at))]
    RateLimited { reset_at: Option<DateTime<Utc>> },

    /// A secondary limit (HTTP 403/429): wait `retry_after` (a minute when absent).
    #[error("GitHub's secondary rate limit was hit: {message}")]
    SecondaryLimit { retry_after: Option<Duration>, message: String },

    /// GitHub gave up on the query (502/504) or the connection timed out; a
    /// smaller page usually succeeds.
    #[error("GitHub timed out: {0}")]
    Timeout(String),

    /// A 5xx other than a timeout, or a body that is not the JSON GitHub sends
    /// (truncated, an HTML error page): worth retrying.
    #[error("GitHub sent a bad response: {0}")]
    ServerError(String),

    /// GitHub does not have the object (or no longer lets this token see it).
    #[error("not found on GitHub: {0}")]
    NotFound(String),

    #[error("GitHub refused access: {0}")]
    Forbidden(String),

    /// HTTP 401: the credential itself is wrong (for an App, even after its
    /// installation token was renewed); no retry will help.
    #[error("GitHub rejected {name} (401 Bad credentials): check {settings}", name = .0, settings = .0.settings())]
    BadCredentials(CredentialName),

    /// The App's id, key or installation was refused when asking for an
    /// installation token.
    #[error("GitHub rejected {app} when asked for an installation token ({reason}): check {}", .app.settings())]
    AppRejected { app: CredentialName, reason: String },

    /// GitHub stopped the query at its resource limits (`RESOURCE_LIMITS_EXCEEDED`,
    /// HTTP 200 with nulls) where the caller could not ask again for the
    /// failed part alone: like a timeout, a smaller request is the remedy.
    #[error("GitHub answered only in part (resource limits exceeded): {0}")]
    ResourceLimits(String),

    /// The query asked for too many nodes (`MAX_NODE_LIMIT_EXCEEDED`).
    #[error("GitHub refused the query as too large: {0}")]
    TooLarge(String),

    #[error("cannot reach GitHub: {0}")]
    Unreachable(String),

    /// HTTP 404 from the GraphQL endpoint itself (not GraphQL's own
    /// `NOT_FOUND`): the URL is not GitHub's GraphQL API.
    #[error("the GraphQL URL answered HTTP 404: it is not GitHub's GraphQL endpoint; check GITHUB_GRAPHQL_URL")]
    WrongEndpoint,

    #[error("GitHub error: {0}")]
    Other(String),
}

/// The names GitHub has given the primary limit's error: `RATE_LIMITED` (the
/// documented `type`), `RATE_LIMIT` (the newer `type`), `graphql_rate_limit`
/// (the newer `code`), `RATE_LIMIT_EXCEEDED` (seen in `extensions.code`).
pub const RATE_LIMIT_NAMES: &[&str] = &["RATE_LIMITED", "RATE_LIMIT", "graphql_rate_limit", "RATE_LIMIT_EXCEEDED"];

fn until(reset_at: &Option<DateTime<Utc>>) -> String {
    reset_at.map(|t| format!(" until {}", t.format("%Y-%m-%d %H:%M:%S UTC"))).unwrap_or_default()
}

impl GithubError {
    /// Whether the failure is GitHub's (down, overloaded, too slow) rather
    /// than the backfill's: the same request may succeed later, and such a
    /// failure never pauses or fails a backfill.
    pub fn is_githubs(&self) -> bool {
        matches!(
            self,
            GithubError::Timeout(_)
                | GithubError::ServerError(_)
                | GithubError::SecondaryLimit { .. }
                | GithubError::Unreachable(_)
                | GithubError::ResourceLimits(_)
        )
    }

    /// The failure of a request already as small as it gets, naming whose
    /// it was (`who`: a PR). GitHub answering in part even then is the PR's
    /// own failure; a timeout or an outage stays GitHub's.
    pub fn asked_alone(self, who: &str) -> GithubError {
        match self {
            GithubError::ResourceLimits(m) => {
                GithubError::Other(format!("{who}, asked alone, still failed: GitHub answered only in part ({m})"))
            }
            GithubError::Timeout(m) => GithubError::Timeout(format!("{who}, asked alone: {m}")),
            GithubError::TooLarge(m) => GithubError::Other(format!("{who}, asked alone, is still too large: {m}")),
            other => other,
        }
    }

    /// Whether a smaller query is the remedy (fewer PRs, fewer ids).
    pub fn asks_for_less(&self) -> bool {
        matches!(self, GithubError::Timeout(_) | GithubError::TooLarge(_) | GithubError::ResourceLimits(_))
    }

    /// Classifies `errors[]` of an HTTP 200 answer: by their names first
    /// (`type`, `code`, `extensions.code`, in any of the spellings GitHub has
    /// sent), and only then by the message text.
    pub fn from_api_errors(errors: &[super::wire::ApiError], reset_at: Option<DateTime<Utc>>) -> Option<GithubError> {
        errors.first()?;
        let message = one_line(&errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "));
        let named =
            |names: &[&str]| errors.iter().any(|e| e.names().any(|n| names.iter().any(|m| n.eq_ignore_ascii_case(m))));
        let text = message.to_lowercase();
        Some(if named(RATE_LIMIT_NAMES) {
            GithubError::RateLimited { reset_at }
        } else if named(&["RESOURCE_LIMITS_EXCEEDED"]) {
            GithubError::ResourceLimits(message)
        } else if named(&["MAX_NODE_LIMIT_EXCEEDED"]) {
            GithubError::TooLarge(message)
        } else if named(&["NOT_FOUND"]) {
            GithubError::NotFound(message)
        } else if named(&["FORBIDDEN"]) {
            GithubError::Forbidden(message)
        } else if text.contains("secondary rate limit") {
            GithubError::SecondaryLimit { retry_after: None, message }
        } else if text.contains("api rate limit exceeded") || text.contains("rate limit exceeded") {
            GithubError::RateLimited { reset_at }
        } else if text.contains("something went wrong while executing your query") {
            GithubError::Timeout(message)
        } else {
            GithubError::Other(message)
        })
    }
}
