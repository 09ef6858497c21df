//! The HTTP face of the fake: `POST /graphql` answered the way api.github.com
//! answers, headers and failure modes included.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use graphql_parser::query::{Definition, OperationDefinition};
use serde_json::{json, Map, Value};

use crate::cost::{Cost, CostWalk};
use crate::exec::{fragments, Exec, GqlError, RateSnapshot};
use crate::faults::{fault_response, rides_on_the_answer, Fault};
use crate::paging::EarlyEnd;
use crate::partial;
use crate::world::{Control, RequestRecord, World};

pub struct Shared {
    pub world: RwLock<World>,
    pub control: Mutex<Control>,
}

pub type AppState = Arc<Shared>;

pub(crate) fn lock_control(state: &Shared) -> std::sync::MutexGuard<'_, Control> {
    state.control.lock().unwrap_or_else(|e| e.into_inner())
}

fn token_of(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    matches!(scheme.to_ascii_lowercase().as_str(), "bearer" | "token").then(|| token.trim().to_string())
}

/// Whether the request carries the token the fake wants (any, when none is set).
pub(crate) fn authorized(state: &Shared, headers: &HeaderMap) -> bool {
    lock_control(state).accepts(token_of(headers).as_deref(), Utc::now())
}

pub(crate) fn json_response(status: StatusCode, body: Value, rate: Option<&RateSnapshot>) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
    if let Some(r) = rate {
        add_rate_headers(h, r);
    }
    resp
}

fn add_rate_headers(h: &mut HeaderMap, r: &RateSnapshot) {
    let reset = chrono::DateTime::parse_from_rfc3339(&r.reset_at).map(|t| t.timestamp()).unwrap_or(0);
    for (k, v) in [
        ("x-ratelimit-limit", r.limit.to_string()),
        ("x-ratelimit-remaining", r.remaining.to_string()),
        ("x-ratelimit-used", r.used.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
        ("x-ratelimit-resource", "graphql".to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
}

/// Counts a request as in flight for as long as it is being answered.
struct InFlight(AppState);

impl InFlight {
    fn enter(state: &AppState) -> InFlight {
        let mut c = lock_control(state);
        c.in_flight += 1;
        c.max_in_flight = c.max_in_flight.max(c.in_flight);
        InFlight(state.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut c = lock_control(&self.0);
        c.in_flight = c.in_flight.saturating_sub(1);
    }
}

pub async fn graphql(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let received = Utc::now();
    let in_flight = InFlight::enter(&state);
    let (latency, timeout_delay, token_ok, fault, pick, account) = {
        let mut c = lock_control(&state);
        let token_ok = c.accepts(token_of(&headers).as_deref(), received);
        let account = c.account_of(token_of(&headers).as_deref());
        let fault = if !token_ok {
            Some(Fault::Unauthorized)
        } else if c.too_many_in_flight() {
            Some(Fault::SecondaryLimit { retry_after: Some(1) })
        } else {
            c.next_fault()
        };
        let pick = matches!(fault, Some(Fault::Partial { .. })).then(|| c.draw());
        (c.latency, c.timeout_delay, token_ok, fault, pick, account)
    };
    if matches!(fault, Some(Fault::SecondaryLimit { .. })) {
        // Refused at the door: it holds no place among those in flight.
        drop(in_flight);
    }
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let record = |status: u16, op: Option<String>, cost: i64, c: Cost, fault: Option<Fault>| RequestRecord {
        received,
        at: Utc::now(),
        operation: op,
        status,
        cost,
        requests: c.requests,
        nodes: c.nodes,
        rate_limited: false,
        fault,
        account: account.clone(),
    };
    let partial = match &fault {
        Some(Fault::Partial { path }) => Some((path.as_slice(), pick.unwrap_or(0))),
        _ => None,
    };
    if let Some(f) = fault.as_ref().filter(|f| !rides_on_the_answer(f)) {
        let resp = fault_response(f);
        let op = if token_ok { operation_name(&body) } else { None };
        lock_control(&state).log.push(record(resp.status().as_u16(), op, 0, Cost::default(), Some(f.clone())));
        return resp;
    }
    // A cut-off answer is not read, so it would waste an early end.
    let token = token_of(&headers);
    let strike = Strike {
        partial,
        may_end_early: fault != Some(Fault::Truncated),
        time_out: fault == Some(Fault::SlowTimeout),
        token: token.as_deref(),
    };
    let out = execute(&state, &body, strike);
    let timed_out = out.fault == Some(Fault::SlowTimeout);
    if timed_out && !timeout_delay.is_zero() {
        // The query ran all this while before GitHub gave up on it.
        tokio::time::sleep(timeout_delay).await;
    }
    let truncated = fault == Some(Fault::Truncated) && !timed_out;
    let status = out.resp.status().as_u16();
    let logged = if truncated { fault } else { out.fault };
    let entry =
        RequestRecord { rate_limited: out.rate_limited, ..record(status, out.op, out.points, out.cost, logged) };
    lock_control(&state).log.push(entry);
    if truncated {
        return truncate(out.resp).await;
    }
    out.resp
}

async fn truncate(resp: Response) -> Response {
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let cut = bytes.slice(..bytes.len() / 2);
    Response::from_parts(parts, axum::body::Body::from(cut))
}

fn operation_name(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("operationName")?.as_str().map(str::to_string)
}

pub(crate) fn error_body(errors: &[GqlError]) -> Value {
    json!({ "errors": errors.iter().map(GqlError::to_json).collect::<Vec<_>>() })
}

/// What one executed request answered, cost and (when it misbehaved) why.
struct Outcome {
    resp: Response,
    op: Option<String>,
    points: i64,
    cost: Cost,
    fault: Option<Fault>,
    /// Refused for the primary rate limit.
    rate_limited: bool,
}

impl Outcome {
    fn uncharged(resp: Response, op: Option<String>, cost: Cost) -> Outcome {
        Outcome { resp, op, points: 0, cost, fault: None, rate_limited: false }
    }
}

/// The faults that ride on an executed request: `partial` (a wanted path and
/// a random pick) fails one connection of the answer, a waiting early end
/// strikes it when `may_end_early`, and `time_out` stops it once charged.
struct Strike<'a> {
    partial: Option<(&'a [Value], u64)>,
    may_end_early: bool,
    time_out: bool,
    /// The request's token: whose budget it spends.
    token: Option<&'a str>,
}

/// Parses, costs, charges and runs one request, as `strike` says.
fn execute(state: &Shared, body: &[u8], strike: Strike<'_>) -> Outcome {
    let Strike { partial, may_end_early, time_out, token } = strike;
    let request: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            let body = json!({ "message": format!("Problems parsing JSON: {e}") });
            return Outcome::uncharged(json_response(StatusCode::BAD_REQUEST, body, None), None, Cost::default());
        }
    };
    let op_name = request.get("operationName").and_then(Value::as_str).map(str::to_string);
    let empty = Map::new();
    let vars = request.get("variables").and_then(Value::as_object).unwrap_or(&empty);
    let text = request.get("query").and_then(Value::as_str).unwrap_or("");
    let doc = match graphql_parser::parse_query::<String>(text) {
        Ok(d) => d,
        Err(e) => {
            let body = error_body(&[GqlError::new(None, format!("Parse error: {e}"))]);
            return Outcome::uncharged(json_response(StatusCode::OK, body, None), op_name, Cost::default());
        }
    };
    let frags = fragments(&doc);
    let operation = doc.definitions.iter().find_map(|d| match d {
        Definition::Operation(OperationDefinition::Query(q)) if op_name.is_none() || q.name == op_name => {
            Some(&q.selection_set)
        }
        Definition::Operation(OperationDefinition::SelectionSet(s)) if op_name.is_none() => Some(s),
        _ => None,
    });
    let Some(selection) = operation else {
        let e = GqlError::new(None, "No query operation with that name in the document");
        return Outcome::uncharged(json_response(StatusCode::OK, error_body(&[e]), None), op_name, Cost::default());
    };
    let (reading, updated_slack, reach) = {
        let c = lock_control(state);
        (c.cost_reading, c.updated_order_slack, c.reach_of(token))
    };
    let mut walk = CostWalk { vars, fragments: &frags, reading, cost: Cost::default() };
    if let Err(e) = walk.walk(selection, 1, 1, 0) {
        return Outcome::uncharged(json_response(StatusCode::OK, error_body(&[e]), None), op_name, walk.cost);
    }
    let cost = walk.cost;
    let points = if crate::cost::is_free(selection) { 0 } else { cost.points() };
    let rate = match charge(state, cost, points, time_out, token) {
        Charged::Yes(snapshot) => snapshot,
        Charged::Refused(resp, fault) => {
            let rate_limited = fault.is_none();
            return Outcome { resp, op: op_name, points: 0, cost, fault, rate_limited };
        }
        Charged::TimedOut(resp) => {
            return Outcome { resp, op: op_name, points, cost, fault: Some(Fault::SlowTimeout), rate_limited: false }
        }
    };
    // Taken, not read, so that two requests at once cannot both use it.
    let early_end = may_end_early && std::mem::take(&mut lock_control(state).early_end_armed);
    let world = state.world.read().unwrap_or_else(|e| e.into_inner());
    let mut exec = Exec {
        world: &world,
        vars,
        fragments: frags.clone(),
        rate,
        errors: Vec::new(),
        sites: Vec::new(),
        updated_slack,
        reach: reach.as_deref(),
        early_end: if early_end { EarlyEnd::Armed } else { EarlyEnd::Off },
    };
    let mut data = exec.run(selection);
    let mut errors: Vec<Value> = exec.errors.iter().map(GqlError::to_json).collect();
    let mut fault = None;
    match exec.early_end {
        EarlyEnd::Armed => lock_control(state).early_end_armed = true,
        EarlyEnd::Struck => fault = Some(Fault::EarlyEnd),
        EarlyEnd::Off => {}
    }
    if let Some((path, error)) = partial.and_then(|(want, pick)| partial::apply(&mut data, &exec.sites, want, pick)) {
        errors.push(error);
        fault = Some(Fault::Partial { path });
    }
    let mut out = json!({ "data": data });
    if !errors.is_empty() {
        out["errors"] = Value::Array(errors);
    }
    let resp = json_response(StatusCode::OK, out, Some(&exec.rate));
    Outcome { resp, op: op_name, points, cost, fault, rate_limited: false }
}

/// What one GraphQL query counts against the secondary points window.
const QUERY_POINTS: i64 = 1;

enum Charged {
    Yes(RateSnapshot),
    /// Not charged: a secondary limit (its fault) or the primary limit (none) said no.
    Refused(Response, Option<Fault>),
    /// Charged, then killed: what a query running past GitHub's 10 s costs.
    TimedOut(Response),
}

/// Decides, under one lock so concurrent requests cannot both slip in,
/// whether the limits let a request of this cost run, and charges it; with
/// `time_out` (or over the chaos thresholds) it is then stopped.
fn charge(state: &Shared, cost: Cost, points: i64, time_out: bool, token: Option<&str>) -> Charged {
    let mut c = lock_control(state);
    let now = Instant::now();
    // The secondary limit counts the query, not its cost: 1 point each (5
    // for a mutation, and the fake executes none).
    if let Err(secs) = c.admit_points(now, QUERY_POINTS) {
        let fault = Fault::SecondaryLimit { retry_after: Some(secs) };
        return Charged::Refused(fault_response(&fault), Some(fault));
    }
    let b = c.budget_of(token, Utc::now());
    // A free query (`rateLimit` alone) is answered even with nothing left.
    let allowed = b.remaining >= points;
    if allowed {
        b.remaining -= points;
    }
    let snapshot = RateSnapshot {
        cost: points,
        limit: b.limit,
        remaining: if allowed { b.remaining } else { 0 },
        used: b.limit - b.remaining,
        reset_at: b.reset_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        node_count: cost.nodes as i64,
    };
    if !allowed {
        let e = GqlError::new(Some("RATE_LIMITED"), "API rate limit exceeded for user ID 1.");
        let body = json!({ "data": null, "errors": [e.to_json()] });
        return Charged::Refused(json_response(StatusCode::OK, body, Some(&snapshot)), None);
    }
    c.charge_points(now, QUERY_POINTS);
    let chaos = &c.chaos;
    if time_out
        || chaos.timeout_above_nodes.is_some_and(|n| cost.nodes > n)
        || chaos.timeout_above_cost.is_some_and(|n| points > n)
    {
        let mut resp = fault_response(&Fault::SlowTimeout);
        add_rate_headers(resp.headers_mut(), &snapshot);
        return Charged::TimedOut(resp);
    }
    Charged::Yes(snapshot)
}
