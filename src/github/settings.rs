//! How hard a client tries, and how politely: the settings every request
//! goes out under, from the command line (`--request-interval`,
//! `--max-retries`, `--points-per-minute`, `--github-timeout`, `--reserve`).

use std::time::Duration;

use tokio::time::Instant;

use super::retry::RetryPolicy;

/// How long GitHub runs a query before it stops it.
pub const GITHUB_TIMEOUT: Duration = Duration::from_secs(10);

/// GitHub's secondary limit on points per minute, for one token (a query is 1).
pub const POINTS_PER_MINUTE: u32 = 2_000;

/// How hard the client tries, and how politely.
#[derive(Debug, Clone, Copy)]
pub struct ClientSettings {
    /// The least time between two requests.
    pub request_interval: Duration,
    pub retry: RetryPolicy,
    /// No retry is scheduled to end after this (the run's time budget).
    pub deadline: Option<Instant>,
    /// This process's share of GitHub's secondary limit of points per
    /// minute (2,000 for the token, divided among the runners that share it):
    /// 1 point a query, whatever its cost.
    pub points_per_minute: u32,
    /// Other runners use the same token (`--runners-per-token` above 1).
    pub shared_token: bool,
    /// How long GitHub runs a query before it gives up and answers 502/504
    /// (about 10 s): a failure that comes back in under half of that is a
    /// gateway hiccup, not a timeout.
    pub github_timeout: Duration,
    /// Points of each credential's hour never spent (`--reserve`): left
    /// for the credential's other users.
    pub reserve: i64,
}

impl Default for ClientSettings {
    fn default() -> ClientSettings {
        ClientSettings {
            request_interval: Duration::from_millis(250),
            retry: RetryPolicy::default(),
            deadline: None,
            points_per_minute: POINTS_PER_MINUTE,
            shared_token: false,
            github_timeout: GITHUB_TIMEOUT,
            reserve: 0,
        }
    }
}
