//! One GraphQL POST, classified: every failure becomes a `GithubError` of the
//! right kind, and every answer carries the rate-limit numbers GitHub sent.
//! A client may hold several credentials (a pool of tokens, `lanes`): a
//! request goes out on the one in use, and one refused for the primary
//! limit is sent again on the next, unseen by the caller, until all are spent.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use graphql_client::QueryBody;
use http::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

use tokio::time::Instant;

pub use super::answer::Reply;
use super::answer::{budget_from_headers, parse, status_error};
use super::credential::Credential;
use super::error::{Blame, GithubError};
use super::lanes::Lanes;
use super::pacing::{rest_points, Pacer, QUERY_POINTS};
use super::retry::{next_step, Next};
pub use super::settings::ClientSettings;
use super::transport::Route;
use super::wire::Costed;
use crate::budget::Budget;
use crate::report::{NoticeLevel, Notifier};

pub struct GithubClient {
    /// One per credential, each with its own pacing and budget (`pool`).
    pub(super) lanes: Lanes,
    url: String,
    /// Every request sent, answered or not: what a chunk's `api_calls_made` counts.
    sent: AtomicU32,
    /// Points spent by every answered request (`points_spent`).
    spent: AtomicI64,
    /// `wait_across_resets`.
    across_resets: AtomicBool,
    /// Failures in a row across requests: the backoff keeps growing while
    /// GitHub keeps failing, even when the caller retries with a smaller query.
    failures: AtomicU32,
    settings: ClientSettings,
    pub(super) notify: Notifier,
}

/// A request body: graphql_client's for the fixed documents, `document`'s
/// for the ones put together per request.
pub trait Document: Serialize + Sync {
    fn operation(&self) -> &str;
}

impl<V: Serialize + Sync> Document for QueryBody<V> {
    fn operation(&self) -> &str {
        self.operation_name
    }
}

/// The token never appears in debug output.
impl std::fmt::Debug for GithubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubClient").field("url", &self.url).field("credential", &self.credential()).finish()
    }
}

impl GithubClient {
    /// A client for a token, with the REST root the GraphQL URL implies.
    pub fn new(url: &str, token: &str, settings: ClientSettings) -> Result<GithubClient, GithubError> {
        GithubClient::connect(url, &rest_url_for(url), &Credential::token(token), settings)
    }

    /// A client for any credential; `rest_url` is GitHub's REST root, for
    /// the few calls GraphQL cannot make (and an App's token exchange).
    pub fn connect(
        url: &str,
        rest_url: &str,
        credential: &Credential,
        settings: ClientSettings,
    ) -> Result<GithubClient, GithubError> {
        GithubClient::connect_pool(url, rest_url, std::slice::from_ref(credential), settings)
    }

    /// A client for several credentials, spent in the order given.
    pub fn connect_pool(
        url: &str,
        rest_url: &str,
        credentials: &[Credential],
        settings: ClientSettings,
    ) -> Result<GithubClient, GithubError> {
        Ok(GithubClient {
            lanes: Lanes::new(url, rest_url, credentials, settings.reserve, || {
                Pacer::new(settings.request_interval, settings.points_per_minute, settings.shared_token)
            })?,
            url: url.to_string(),
            sent: AtomicU32::new(0),
            spent: AtomicI64::new(0),
            across_resets: AtomicBool::new(false),
            failures: AtomicU32::new(0),
            settings,
            notify: Box::new(|_, _| {}),
        })
    }

    /// One REST call, paced like the GraphQL ones; the JSON answer.
    pub async fn rest(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, GithubError> {
        // REST has budgets of its own: the credential in use sends it.
        let lane = self.lanes.lane(self.lanes.in_use());
        let _permit = lane.pacer.permit_to_send(rest_points(&method)).await;
        self.sent.fetch_add(1, Ordering::Relaxed);
        let payload = body.map(|b| b.to_string().into());
        let answer = lane.transport.send(method, Route::Rest(path), "application/vnd.github+json", payload).await?;
        if !(200..300).contains(&answer.status) {
            let budget = budget_from_headers(&answer.headers);
            return Err(match status_error(answer.status, &answer.headers, budget, &answer.body, &lane.name) {
                // For REST a 404 is the object itself missing (a repository, an installation).
                GithubError::WrongEndpoint => GithubError::NotFound(format!("{path}: HTTP 404")),
                other => other,
            });
        }
        serde_json::from_slice(&answer.body)
            .map_err(|e| GithubError::ServerError(format!("unreadable REST answer: {e}")))
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
    pub async fn query<B: Document, T: DeserializeOwned + Costed>(&self, body: &B) -> Result<Reply<T>, GithubError> {
        self.query_with(body, None, false, &|_: &Reply<T>| Ok(())).await
    }

    /// Like `query`, on credential `lane` alone (`credential_count`), spent
    /// or not: for the free `rateLimit` question that checks each credential.
    pub async fn query_on<B: Document, T: DeserializeOwned + Costed>(
        &self,
        lane: usize,
        body: &B,
    ) -> Result<Reply<T>, GithubError> {
        self.query_with(body, Some(lane), false, &|_: &Reply<T>| Ok(())).await
    }

    /// Like `query`, with `check` judging an answer that came back: what it
    /// refuses (a partial answer the caller cannot repair) is retried like
    /// any failure. With `can_shrink`, a failure whose remedy is a smaller
    /// request (a timeout, a query too large) comes back to the caller, after
    /// the backoff is set, so that it can ask for less.
    pub async fn query_checked<B: Document, T: DeserializeOwned + Costed>(
        &self,
        body: &B,
        can_shrink: bool,
        check: &(dyn Fn(&Reply<T>) -> Result<(), GithubError> + Sync),
    ) -> Result<Reply<T>, GithubError> {
        self.query_with(body, None, can_shrink, check).await
    }

    async fn query_with<B: Document, T: DeserializeOwned + Costed>(
        &self,
        body: &B,
        pinned: Option<usize>,
        can_shrink: bool,
        check: &(dyn Fn(&Reply<T>) -> Result<(), GithubError> + Sync),
    ) -> Result<Reply<T>, GithubError> {
        let mut retries = 0;
        // This request already failed as a timeout does, at once: a gateway
        // hiccup, sent again; a second such failure is taken as a timeout.
        let mut hiccuped = false;
        loop {
            let lane = match pinned {
                Some(lane) => lane,
                None => match self.lanes.pick(Utc::now()) {
                    Ok(pick) => self.moved(pick),
                    Err(spent) => match self.reset_wait(Some(spent.reset_at)) {
                        Some(wait) => {
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        None => return Err(self.all_spent(spent)),
                    },
                },
            };
            let mut permit = self.lanes.lane(lane).pacer.permit_to_send(QUERY_POINTS).await;
            // Spent by another request while this one waited its turn.
            if pinned.is_none() && self.lanes.spent_until(lane, Utc::now()).is_some() {
                continue;
            }
            let sent_at = Instant::now();
            let (budget, result) = self.send(lane, body).await;
            let took = sent_at.elapsed();
            // The drop in `remaining` since the last answer of the window.
            let drop = budget.and_then(|b| self.record(lane, b));
            let error = match result {
                Ok(reply) => {
                    let cost = reply.data.as_ref().and_then(Costed::cost).or(drop);
                    self.charge(cost);
                    self.detail(body.operation(), cost, reply.budget);
                    match check(&reply) {
                        Ok(()) => {
                            self.failures.store(0, Ordering::Relaxed);
                            return Ok(reply);
                        }
                        Err(e) => e,
                    }
                }
                Err(e) => {
                    let e = self.hiccup_or_timeout(e, took, &mut hiccuped);
                    // GitHub charges what it ran, timeouts included; with no
                    // earlier answer in the window to measure the drop
                    // against, a query that ran is taken to have cost the least a query costs.
                    let ran = e.meaning().charged;
                    self.charge(drop.or(ran.then_some(1)));
                    e
                }
            };
            if let Blame::RateLimit { reset_at } = error.meaning().blame {
                // The next credential (or the wait for the first reset) takes it from here.
                if pinned.is_none() && self.lanes.len() > 1 {
                    self.lanes.mark_spent(lane, reset_at, Utc::now());
                    continue;
                }
                if let Some(wait) = self.reset_wait(reset_at) {
                    permit.hold_off(wait);
                    continue;
                }
            }
            let failures = self.failures.fetch_add(1, Ordering::Relaxed).saturating_add(1);
            let time_left = self.settings.deadline.map(|d| d.saturating_duration_since(Instant::now()));
            // Failures in a row count against a request's retries even when
            // they were an earlier, larger request's: asking smaller does not
            // buy an outage more attempts.
            let tried = retries.max(failures - 1);
            match next_step(&self.settings.retry, &error, failures, tried, rand::random(), time_left) {
                Next::Retry { wait, smaller } => {
                    permit.hold_off(wait);
                    if smaller && can_shrink {
                        (self.notify)(NoticeLevel::Warning, &format!("{error}; asking for less in {wait:.1?}"));
                        return Err(error);
                    }
                    retries = tried + 1;
                    let max = self.settings.retry.max_retries;
                    (self.notify)(NoticeLevel::Warning, &format!("{error}; retry {retries} of {max} in {wait:.1?}"));
                }
                Next::GiveUp => return Err(error),
            }
        }
    }

    /// A failure shaped like a timeout (502, 504, "Something went wrong")
    /// that came back in under half the time GitHub gives a query is a
    /// gateway hiccup: the query never ran long, and a smaller one would not
    /// fare better. Only a slow one is a timeout, whose remedy is a smaller
    /// request; the same request failing at once twice is asked smaller too,
    /// in case it is the request.
    fn hiccup_or_timeout(&self, error: GithubError, took: Duration, hiccuped: &mut bool) -> GithubError {
        match error {
            GithubError::Timeout(m) if took < self.settings.github_timeout / 2 => {
                match std::mem::replace(hiccuped, true) {
                    false => GithubError::Hiccup(m),
                    true => GithubError::RepeatedHiccup(m),
                }
            }
            other => other,
        }
    }

    /// Lets requests wait for the primary limit's reset and go on, rather than
    /// fail: for a chunk that cannot fit in one window. Without it, a reset
    /// is waited for only when it comes inside the run's time budget.
    pub fn wait_across_resets(&self, on: bool) {
        self.across_resets.store(on, Ordering::Relaxed);
    }

    /// How long to wait for the primary limit's reset before going on, when
    /// waiting is allowed: a chunk cut off mid-way keeps what it fetched.
    fn reset_wait(&self, reset_at: Option<DateTime<Utc>>) -> Option<Duration> {
        // GitHub's reset is a whole second; a little more, so the window has turned.
        let wait = (reset_at? - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(500);
        let in_budget = self.settings.deadline.is_some_and(|d| Instant::now() + wait < d);
        if !(in_budget || self.across_resets.load(Ordering::Relaxed)) {
            return None;
        }
        let until = reset_at?.format("%H:%M:%S UTC");
        (self.notify)(
            NoticeLevel::Warning,
            &format!(
                "GitHub's rate limit is spent: waiting {wait:.1?} for the reset at {until}, then the chunk goes on"
            ),
        );
        Some(wait)
    }

    /// Counts what a request cost against the primary budget (the pacing
    /// took its secondary points before it left, whatever it cost).
    fn charge(&self, cost: Option<i64>) {
        let Some(cost) = cost.filter(|c| *c > 0) else { return };
        self.spent.fetch_add(cost, Ordering::Relaxed);
    }

    /// Points this client's requests cost so far, failed ones included
    /// (from `rateLimit.cost`, or the drop in the budget when no body said).
    pub fn points_spent(&self) -> i64 {
        self.spent.load(Ordering::Relaxed)
    }

    fn detail(&self, operation: &str, cost: Option<i64>, budget: Option<Budget>) {
        let show = |n: Option<i64>| n.map_or_else(|| "?".to_string(), |n| n.to_string());
        let (cost, left, limit) = (show(cost), show(budget.map(|b| b.remaining)), show(budget.map(|b| b.limit)));
        (self.notify)(NoticeLevel::Detail, &format!("{operation}: cost {cost}, {left} of {limit} points left"));
    }

    /// One exchange, with the budget from the headers whenever GitHub answered.
    async fn send<B: Document, T: DeserializeOwned>(
        &self,
        lane: usize,
        body: &B,
    ) -> (Option<Budget>, Result<Reply<T>, GithubError>) {
        let lane = self.lanes.lane(lane);
        self.sent.fetch_add(1, Ordering::Relaxed);
        let payload = match serde_json::to_vec(body) {
            Ok(p) => p,
            Err(e) => return (None, Err(GithubError::Other(format!("cannot encode the query: {e}")))),
        };
        let answer =
            match lane.transport.send(Method::POST, Route::Graphql, "application/json", Some(payload.into())).await {
                Ok(a) => a,
                Err(e) => return (None, Err(e)),
            };
        let budget = budget_from_headers(&answer.headers);
        let result = match answer.status {
            200 => parse(&answer.body, budget),
            status => Err(status_error(status, &answer.headers, budget, &answer.body, &lane.name)),
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
