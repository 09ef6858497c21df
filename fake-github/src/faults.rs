//! The misbehaviours the fake serves: the queued ones (`Fault`), those that
//! strike at random or on a rhythm (`Chaos`), and how each is answered.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::exec::GqlError;
use crate::server::{error_body, json_response};

/// A misbehaviour to serve instead of (or on top of) a normal answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// HTTP 502 with GitHub's JSON "Something went wrong" body.
    BadGateway,
    /// HTTP 502 with a bare HTML page, as a load balancer sends it.
    BadGatewayHtml,
    /// HTTP 504.
    GatewayTimeout,
    /// A real timeout, unlike the three above (gateway hiccups, answered at
    /// once and never run): the query is charged as it would be, then
    /// answered 502 after `Control::timeout_delay`, as GitHub stops a query
    /// at about 10 s. A query over `Chaos::timeout_above_*` is logged as one.
    SlowTimeout,
    /// HTTP 403 "secondary rate limit", with `retry-after` when given.
    SecondaryLimit { retry_after: Option<u64> },
    /// The normal answer cut off half way.
    Truncated,
    /// HTTP 401 "Bad credentials".
    Unauthorized,
    /// HTTP 200 with `MAX_NODE_LIMIT_EXCEEDED` and no data, whatever was asked.
    NodeLimit,
    /// HTTP 200, no data, one error with this `type` and message.
    GraphqlError { kind: Option<String>, message: String },
    /// HTTP 200 with one connection failed for `RESOURCE_LIMITS_EXCEEDED`: the
    /// response path of that connection (`["repository", "pullRequests"]`).
    /// Queued with an empty path (or one the answer lacks), a connection of
    /// the answer is picked at random; the log holds the one that failed.
    Partial { path: Vec<serde_json::Value> },
    /// HTTP 200 with a `pullRequests` page answering `hasNextPage: false`
    /// although more PRs follow (its `endCursor` and `totalCount` as
    /// normal), as GitHub now and then does. It strikes the next page that
    /// has PRs after it: answers without one leave it waiting, and the log
    /// holds it on the request it struck.
    EarlyEnd,
}

/// Faults that strike at random (from a seed, so a failing run can be
/// replayed) or on a rhythm, on top of the queued ones.
#[derive(Clone, Debug, PartialEq)]
pub struct Chaos {
    pub seed: u64,
    /// HTTP 502s answered at once (gateway hiccups, not timeouts)...
    pub bad_gateway_percent: u64,
    /// ...of which this share comes as nginx's bare HTML page, the rest with
    /// GitHub's JSON body (default 50).
    pub html_percent: u64,
    /// Normal answers cut off half way.
    pub truncated_percent: u64,
    /// Every Nth request is refused with a secondary limit...
    pub secondary_every: Option<u64>,
    /// ...carrying this `retry-after` (none when absent).
    pub secondary_retry_after: Option<u64>,
    /// Queries asking for more nodes than this time out after being charged
    /// (`Fault::SlowTimeout`), as GitHub's do when they run past 10 seconds.
    pub timeout_above_nodes: Option<u64>,
    /// Likewise for queries costing more points than this.
    pub timeout_above_cost: Option<i64>,
    /// Answers (executed, HTTP 200) that come back partial: one connection
    /// null for `RESOURCE_LIMITS_EXCEEDED`, as GitHub answers heavy queries.
    pub partial_percent: u64,
    /// Requests that end the next `pullRequests` page early (`Fault::EarlyEnd`).
    pub early_end_percent: u64,
}

impl Chaos {
    /// A world that fails often but not on purpose: 15% of requests
    /// answered 502 at once (a third as nginx's HTML page), 4% cut off half
    /// way, every 5th refused with a secondary limit and `retry-after: 1`,
    /// and any query over 8,000 nodes timed out (after `timeout_delay`).
    pub fn unlucky(seed: u64) -> Chaos {
        Chaos {
            seed,
            bad_gateway_percent: 15,
            html_percent: 33,
            truncated_percent: 4,
            secondary_every: Some(5),
            secondary_retry_after: Some(1),
            timeout_above_nodes: Some(8_000),
            ..Chaos::default()
        }
    }
}

impl Default for Chaos {
    fn default() -> Chaos {
        Chaos {
            seed: 0,
            bad_gateway_percent: 0,
            html_percent: 50,
            truncated_percent: 0,
            secondary_every: None,
            secondary_retry_after: None,
            timeout_above_nodes: None,
            timeout_above_cost: None,
            partial_percent: 0,
            early_end_percent: 0,
        }
    }
}

pub(crate) fn fault_response(fault: &Fault) -> Response {
    match fault {
        Fault::BadGateway | Fault::SlowTimeout => json_response(
            StatusCode::BAD_GATEWAY,
            json!({ "data": null, "errors": [{ "message": "Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug. Please include `0000:1111:2222:3333:4444` when reporting this issue." }] }),
            None,
        ),
        Fault::BadGatewayHtml => {
            let mut r = (
                StatusCode::BAD_GATEWAY,
                "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
            )
                .into_response();
            r.headers_mut().insert("content-type", HeaderValue::from_static("text/html"));
            r
        }
        Fault::GatewayTimeout => {
            (StatusCode::GATEWAY_TIMEOUT, "<html><body><h1>504 Gateway Time-out</h1></body></html>").into_response()
        }
        Fault::SecondaryLimit { retry_after } => {
            let mut r = json_response(
                StatusCode::FORBIDDEN,
                json!({ "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", "documentation_url": "https://docs.github.com/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api#secondary-rate-limits" }),
                None,
            );
            if let Some(s) = retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
                r.headers_mut().insert("retry-after", s);
            }
            r
        }
        Fault::Unauthorized => json_response(
            StatusCode::UNAUTHORIZED,
            json!({ "message": "Bad credentials", "documentation_url": "https://docs.github.com/graphql" }),
            None,
        ),
        Fault::NodeLimit => {
            let e = GqlError::new(
                Some("MAX_NODE_LIMIT_EXCEEDED"),
                "This query requests up to 600,000 possible nodes which exceeds the maximum limit of 500,000.",
            );
            json_response(StatusCode::OK, error_body(&[e]), None)
        }
        Fault::GraphqlError { kind, message } => {
            let mut error = json!({ "message": message, "locations": [] });
            if let Some(kind) = kind {
                error["type"] = json!(kind);
            }
            json_response(StatusCode::OK, json!({ "data": null, "errors": [error] }), None)
        }
        // Served on top of a normal answer, never instead of one.
        Fault::Truncated | Fault::Partial { .. } | Fault::EarlyEnd => StatusCode::OK.into_response(),
    }
}

/// Whether the fault needs the request parsed, costed and charged first
/// (rather than answering in its place).
pub(crate) fn rides_on_the_answer(fault: &Fault) -> bool {
    matches!(fault, Fault::Truncated | Fault::Partial { .. } | Fault::EarlyEnd | Fault::SlowTimeout)
}
