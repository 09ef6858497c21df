//! The one error type at the GitHub boundary, and what each kind means,
//! decided once in `GithubError::meaning`: callers branch on that meaning to
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

    /// What is left of the primary budget, on every credential, is the
    /// reserve kept for the credentials' other users (`--reserve`): the
    /// tool spends no more of it until `reset_at`.
    #[error("only the reserve of {reserve} points a credential is left of GitHub's rate limit until {}: the reserve held", .reset_at.format("%Y-%m-%d %H:%M:%S UTC"))]
    ReserveHeld { reset_at: DateTime<Utc>, reserve: i64 },

    /// A secondary limit (HTTP 403/429): wait `retry_after` (a minute when absent).
    #[error("GitHub's secondary rate limit was hit: {message}")]
    SecondaryLimit { retry_after: Option<Duration>, message: String },

    /// GitHub gave up on the query (502/504) or the connection timed out; a
    /// smaller page usually succeeds.
    #[error("GitHub timed out: {0}")]
    Timeout(String),

    /// A 502/504 (or "Something went wrong") that came back at once: the
    /// gateway failed, the query never ran long. Sent again as it was.
    #[error("GitHub's gateway failed at once: {0}")]
    Hiccup(String),

    /// The same request failed at once a second time: asked smaller, in
    /// case it is the request, though that says nothing about its size.
    #[error("GitHub's gateway failed at once, twice: {0}")]
    RepeatedHiccup(String),

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

    /// The GitHub App (serving every owner it is installed on) is not
    /// installed on the repository's owner: that backfill's trouble alone.
    #[error("the GitHub App {app_id} is not installed on {owner}: install it there (or set GITHUB_APP_INSTALLATION_ID to the one installation to use)")]
    NotInstalled { app_id: u64, owner: String },

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

/// What a failure means for the run, decided once per kind of error in
/// [`GithubError::meaning`]: every question asked about an error (retry?
/// whose fault? charged?) is answered there, so a new kind cannot be
/// forgotten by one of the places that ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meaning {
    pub retry: Retry,
    pub blame: Blame,
    /// Whether GitHub ran the failed query, and so charged points for it
    /// (counted as the least a query costs when the drop is not known).
    pub charged: bool,
}

/// Whether, and how, the same request is worth sending again (`retry.rs`
/// turns this into a wait).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Waiting will not change the answer.
    GiveUp,
    /// The same request, after the backoff.
    Again,
    /// After the wait GitHub asked for (`retry-after`; a default without
    /// it), plus the backoff.
    AfterRetryAfter(Option<Duration>),
    /// A smaller request, after the backoff: GitHub was overloaded by it.
    Smaller,
    /// A smaller request at once: the size, not the load, was the problem.
    SmallerAtOnce,
    /// A smaller request after the backoff, though the failure says nothing
    /// about what size GitHub can answer (nothing is learned from it).
    SmallerThisOnce,
}

/// Whose failure it is, which decides what becomes of the backfill and the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// GitHub's own trouble (down, overloaded, too slow): never held against
    /// a backfill; the run stops, the others would fare no better.
    Github,
    /// The primary limit is spent: pause until the reset.
    RateLimit { reset_at: Option<DateTime<Utc>> },
    /// The repository is gone or hidden from this token: that backfill fails.
    Repository,
    /// The token or the App was refused: the run stops with exit 2.
    Credential,
    /// The GraphQL URL is not GitHub's: the run stops with exit 2.
    Setting,
    /// The request's own failure: counts towards the backfill's pause.
    Backfill,
}

impl GithubError {
    /// The one classification of every kind of error.
    pub fn meaning(&self) -> Meaning {
        use Blame as B;
        use GithubError as E;
        use Retry as R;
        let (retry, blame, charged) = match self {
            E::RateLimited { reset_at } => (R::GiveUp, B::RateLimit { reset_at: *reset_at }, false),
            E::ReserveHeld { reset_at, .. } => (R::GiveUp, B::RateLimit { reset_at: Some(*reset_at) }, false),
            E::SecondaryLimit { retry_after, .. } => (R::AfterRetryAfter(*retry_after), B::Github, false),
            E::Timeout(_) => (R::Smaller, B::Github, true),
            E::Hiccup(_) => (R::Again, B::Github, false),
            E::RepeatedHiccup(_) => (R::SmallerThisOnce, B::Github, false),
            E::ServerError(_) => (R::Again, B::Github, true),
            E::NotFound(_) | E::Forbidden(_) | E::NotInstalled { .. } => (R::GiveUp, B::Repository, false),
            E::BadCredentials(_) | E::AppRejected { .. } => (R::GiveUp, B::Credential, false),
            E::ResourceLimits(_) => (R::Smaller, B::Github, false),
            E::TooLarge(_) => (R::SmallerAtOnce, B::Backfill, false),
            E::Unreachable(_) => (R::Again, B::Github, false),
            E::WrongEndpoint => (R::GiveUp, B::Setting, false),
            E::Other(_) => (R::GiveUp, B::Backfill, false),
        };
        Meaning { retry, blame, charged }
    }

    /// Whether a smaller query is the remedy (fewer PRs, fewer ids).
    pub fn asks_for_less(&self) -> bool {
        match self.meaning().retry {
            Retry::Smaller | Retry::SmallerAtOnce | Retry::SmallerThisOnce => true,
            Retry::GiveUp | Retry::Again | Retry::AfterRetryAfter(_) => false,
        }
    }

    /// The failure of a request already as small as it gets, naming whose
    /// it was (`who`: a PR). GitHub answering in part even then is the PR's
    /// own failure; a timeout or an outage stays GitHub's.
    pub fn asked_alone(self, who: &str) -> GithubError {
        use GithubError as E;
        match self {
            E::ResourceLimits(m) => {
                E::Other(format!("{who}, asked alone, still failed: GitHub answered only in part ({m})"))
            }
            E::Timeout(m) => E::Timeout(format!("{who}, asked alone: {m}")),
            E::TooLarge(m) => E::Other(format!("{who}, asked alone, is still too large: {m}")),
            // Not about the request's size: asking alone changes nothing.
            e @ (E::RateLimited { .. }
            | E::ReserveHeld { .. }
            | E::SecondaryLimit { .. }
            | E::Hiccup(_)
            | E::RepeatedHiccup(_)
            | E::ServerError(_)
            | E::NotFound(_)
            | E::Forbidden(_)
            | E::BadCredentials(_)
            | E::AppRejected { .. }
            | E::Unreachable(_)
            | E::NotInstalled { .. }
            | E::WrongEndpoint
            | E::Other(_)) => e,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::credential::Credential;

    #[test]
    fn every_kind_of_error_has_one_meaning() {
        use Blame as B;
        use GithubError as E;
        use Retry as R;
        let reset_at = DateTime::from_timestamp(1_700_000_000, 0);
        let now = Utc::now();
        let five = Some(Duration::from_secs(5));
        let text = || "x".to_string();
        // One row per variant (the match below fails to compile when one is
        // added): (error, retry, blame, charged).
        let cases: Vec<(E, R, B, bool)> = vec![
            (E::RateLimited { reset_at }, R::GiveUp, B::RateLimit { reset_at }, false),
            (E::ReserveHeld { reset_at: now, reserve: 20 }, R::GiveUp, B::RateLimit { reset_at: Some(now) }, false),
            (E::SecondaryLimit { retry_after: five, message: text() }, R::AfterRetryAfter(five), B::Github, false),
            (E::SecondaryLimit { retry_after: None, message: text() }, R::AfterRetryAfter(None), B::Github, false),
            (E::Timeout(text()), R::Smaller, B::Github, true),
            (E::Hiccup(text()), R::Again, B::Github, false),
            (E::RepeatedHiccup(text()), R::SmallerThisOnce, B::Github, false),
            (E::ServerError(text()), R::Again, B::Github, true),
            (E::NotFound(text()), R::GiveUp, B::Repository, false),
            (E::Forbidden(text()), R::GiveUp, B::Repository, false),
            (E::BadCredentials(Credential::token("t").name()), R::GiveUp, B::Credential, false),
            (
                E::AppRejected {
                    app: CredentialName::App { app_id: 1, installation_id: Some(2), owner: None },
                    reason: text(),
                },
                R::GiveUp,
                B::Credential,
                false,
            ),
            (E::ResourceLimits(text()), R::Smaller, B::Github, false),
            (E::TooLarge(text()), R::SmallerAtOnce, B::Backfill, false),
            (E::Unreachable(text()), R::Again, B::Github, false),
            (E::NotInstalled { app_id: 1, owner: text() }, R::GiveUp, B::Repository, false),
            (E::WrongEndpoint, R::GiveUp, B::Setting, false),
            (E::Other(text()), R::GiveUp, B::Backfill, false),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for (error, retry, blame, charged) in cases {
            seen.insert(match error {
                E::RateLimited { .. } => 0,
                E::SecondaryLimit { .. } => 1,
                E::Timeout(_) => 2,
                E::ServerError(_) => 3,
                E::NotFound(_) => 4,
                E::Forbidden(_) => 5,
                E::BadCredentials(_) => 6,
                E::AppRejected { .. } => 7,
                E::ResourceLimits(_) => 8,
                E::TooLarge(_) => 9,
                E::Unreachable(_) => 10,
                E::WrongEndpoint => 11,
                E::Other(_) => 12,
                E::Hiccup(_) => 13,
                E::RepeatedHiccup(_) => 14,
                E::NotInstalled { .. } => 15,
                E::ReserveHeld { .. } => 16,
            });
            assert_eq!(error.meaning(), Meaning { retry, blame, charged }, "{error:?}");
        }
        assert_eq!(seen.len(), 17, "a row for every variant");
    }
}
