//! When to send a failed request again, and how long to wait first: a pure
//! function of the error's meaning (`GithubError::meaning`, which decides
//! the kind of retry for each kind of error), the attempt and a random draw,
//! so the whole policy reads (and is tested) as a table.
//!
//! - Secondary limit: wait `retry-after` (a minute when GitHub gives none),
//!   plus an exponentially growing, jittered extra, so that a crowd of
//!   clients told the same `retry-after` do not return in one burst.
//! - Timeout (502/504, "Something went wrong", read timeout), a partial
//!   answer over GitHub's resource limits, and a query too large: retry
//!   smaller, after the backoff (at once for "too large", which is not a
//!   load problem). GitHub charges for timeouts, so the caller splits the
//!   request before it is sent again.
//! - Server error, truncated or malformed body, reset connection: the same
//!   request again after the backoff.
//! - Anything else (bad token, not found, primary limit) will not change by
//!   waiting: give up at once.
//!
//! Retries are bounded by a count, and none is made whose wait would end
//! after the run's time budget.

use std::time::Duration;

use super::error::{GithubError, Retry};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt of one request.
    pub max_retries: u32,
    /// First backoff; each further failure doubles it.
    pub base: Duration,
    /// No single backoff is longer than this.
    pub cap: Duration,
    /// The wait after a secondary limit that came without `retry-after`.
    pub secondary_default: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: 6,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            secondary_default: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Wait, then send again; `smaller`: ask for less if the caller can.
    Retry {
        wait: Duration,
        smaller: bool,
    },
    GiveUp,
}

/// `failures`: failures in a row so far, this one included (1 on the first);
/// it sets the backoff. `retries`: how often this request was already retried.
/// `jitter`: a random draw in [0, 1). `time_left`: until the run's budget ends.
pub fn next_step(
    policy: &RetryPolicy,
    error: &GithubError,
    failures: u32,
    retries: u32,
    jitter: f64,
    time_left: Option<Duration>,
) -> Next {
    if retries >= policy.max_retries {
        return Next::GiveUp;
    }
    let backoff = backoff(policy, failures, jitter);
    let (wait, smaller) = match error.meaning().retry {
        Retry::AfterRetryAfter(retry_after) => (retry_after.unwrap_or(policy.secondary_default) + backoff, false),
        Retry::Smaller | Retry::SmallerThisOnce => (backoff, true),
        Retry::SmallerAtOnce => (Duration::ZERO, true),
        Retry::Again => (backoff, false),
        Retry::GiveUp => return Next::GiveUp,
    };
    if time_left.is_some_and(|left| wait >= left) {
        return Next::GiveUp;
    }
    Next::Retry { wait, smaller }
}

/// `base * 2^(failures-1)`, capped, then scaled into [50%, 100%] by the
/// jitter ("equal jitter": never shorter than half, never in lockstep).
pub fn backoff(policy: &RetryPolicy, failures: u32, jitter: f64) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    let full = policy.base.saturating_mul(1 << doublings).min(policy.cap);
    let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.0 };
    full.mul_f64(0.5 + 0.5 * jitter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::credential::Credential;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let p = RetryPolicy::default();
        let cases = [
            (1, 0.0, 0.5),
            (1, 0.999_999, 1.0),
            (2, 0.0, 1.0),
            (3, 0.5, 3.0),
            (4, 0.0, 4.0),
            (7, 0.0, 30.0),
            (7, 1.0, 60.0),
            (40, 1.0, 60.0),
            (0, 1.0, 1.0),
            (1, f64::NAN, 0.5),
            (1, 7.0, 1.0),
        ];
        for (failures, jitter, want) in cases {
            let got = backoff(&p, failures, jitter).as_secs_f64();
            assert!((got - want).abs() < 1e-3, "failures {failures}, jitter {jitter}: {got} != {want}");
        }
    }

    #[test]
    fn each_kind_of_failure_gets_its_treatment() {
        use GithubError as E;
        let p = RetryPolicy::default();
        let secondary =
            |s: Option<u64>| E::SecondaryLimit { retry_after: s.map(Duration::from_secs), message: "x".into() };
        let retry = |wait: f64, smaller: bool| Next::Retry { wait: secs(wait), smaller };
        // (error, failures in a row, retries already made, jitter, time left, expected)
        let cases: Vec<(E, u32, u32, f64, Option<f64>, Next)> = vec![
            // secondary limits wait retry-after (60 s without it) plus the backoff
            (secondary(Some(5)), 1, 0, 0.0, None, retry(5.5, false)),
            (secondary(Some(5)), 3, 2, 1.0, None, retry(9.0, false)),
            (secondary(None), 1, 0, 0.0, None, retry(60.5, false)),
            // timeouts retry smaller after the backoff; "too large" at once
            (E::Timeout("502".into()), 1, 0, 0.0, None, retry(0.5, true)),
            (E::Timeout("502".into()), 2, 1, 1.0, None, retry(2.0, true)),
            (E::TooLarge("nodes".into()), 1, 0, 0.0, None, retry(0.0, true)),
            (E::ResourceLimits("partial".into()), 1, 0, 0.0, None, retry(0.5, true)),
            // bad bodies and resets: the same request after the backoff
            (E::ServerError("truncated".into()), 1, 0, 1.0, None, retry(1.0, false)),
            (E::Unreachable("reset".into()), 3, 0, 0.0, None, retry(2.0, false)),
            // waiting cannot help these
            (E::RateLimited { reset_at: None }, 1, 0, 0.0, None, Next::GiveUp),
            (E::BadCredentials(Credential::token("t").name()), 1, 0, 0.0, None, Next::GiveUp),
            (E::NotFound("repo".into()), 1, 0, 0.0, None, Next::GiveUp),
            (E::Forbidden("repo".into()), 1, 0, 0.0, None, Next::GiveUp),
            (E::Other("odd".into()), 1, 0, 0.0, None, Next::GiveUp),
            // bounded by count...
            (E::ServerError("x".into()), 7, 6, 0.0, None, Next::GiveUp),
            (E::ServerError("x".into()), 6, 5, 0.0, None, retry(16.0, false)),
            // ...and by the time budget
            (secondary(Some(30)), 1, 0, 0.0, Some(20.0), Next::GiveUp),
            (secondary(Some(30)), 1, 0, 0.0, Some(31.0), retry(30.5, false)),
            (E::Timeout("x".into()), 4, 0, 0.0, Some(4.0), Next::GiveUp),
        ];
        for (i, (error, failures, retries, jitter, left, want)) in cases.into_iter().enumerate() {
            let got = next_step(&p, &error, failures, retries, jitter, left.map(secs));
            match (got, want) {
                (Next::Retry { wait: a, smaller: sa }, Next::Retry { wait: b, smaller: sb }) => {
                    assert!(
                        sa == sb && (a.as_secs_f64() - b.as_secs_f64()).abs() < 1e-3,
                        "case {i}: {got:?} != {want:?}"
                    )
                }
                _ => assert_eq!(got, want, "case {i}: {error:?}"),
            }
        }
    }
}
