//! Partial answers: GitHub gives up on one field of a query that exceeds its
//! resource limits, answers the rest, and nulls that field the way GraphQL
//! propagates nulls (up to the nearest nullable position).

use serde_json::{json, Value};

/// A position in the answer that partial answers care about: a connection
/// (which may fail) or a nullable object on the way to one.
#[derive(Clone, Debug)]
pub(crate) struct Site {
    pub path: Vec<Value>,
    pub nullable: bool,
    pub connection: bool,
    pub line: usize,
    pub column: usize,
}

/// (nullable, is a connection) of the fields on the way to our connections.
/// Hard-coded from GitHub's schema (`../shared/github/schema.graphql`), which
/// the fake does not parse. List items (`nodes`, `edges`, `nodes(ids:)`) are
/// all nullable there, so indexes need no entry.
pub(crate) fn shape(parent: &str, field: &str) -> Option<(bool, bool)> {
    Some(match (parent, field) {
        ("Query", "repository" | "node" | "repositoryOwner") => (true, false),
        ("Organization", "repositories") => (false, true),
        ("Repository", "pullRequests") => (false, true),
        ("PullRequest", "reviews") => (true, true),
        ("PullRequest", "comments" | "commits") => (false, true),
        ("PullRequestReview", "comments") => (false, true),
        _ => return None,
    })
}

/// The answer's connections that could fail: those present as objects.
fn candidates<'s>(data: &Value, sites: &'s [Site]) -> Vec<&'s Site> {
    sites
        .iter()
        .filter(|s| s.connection)
        .filter(|s| at(data, &s.path).is_some_and(|v| v.get("nodes").is_some() || v.get("totalCount").is_some()))
        .collect()
}

fn at<'v>(data: &'v Value, path: &[Value]) -> Option<&'v Value> {
    path.iter().try_fold(data, |v, step| match step {
        Value::Number(i) => v.get(i.as_u64()? as usize),
        Value::String(k) => v.get(k),
        _ => None,
    })
}

fn at_mut<'v>(data: &'v mut Value, path: &[Value]) -> Option<&'v mut Value> {
    path.iter().try_fold(data, |v, step| match step {
        Value::Number(i) => v.get_mut(i.as_u64()? as usize),
        Value::String(k) => v.get_mut(k),
        _ => None,
    })
}

/// Where the null lands when the field at `failed` fails: the field if it
/// is nullable, else its nearest nullable ancestor (`[]`: all of `data`).
pub(crate) fn null_target(sites: &[Site], failed: &[Value]) -> Vec<Value> {
    let mut p = failed.to_vec();
    while let Some(last) = p.last() {
        if last.is_number() || sites.iter().any(|s| s.nullable && s.path == p) {
            break;
        }
        p.pop();
    }
    p
}

/// Fails one connection of `data`: the one at `want` if the answer has it,
/// else one chosen by `pick`. Returns the failed path and its error, or
/// `None` when the answer has no connection.
pub(crate) fn apply(data: &mut Value, sites: &[Site], want: &[Value], pick: u64) -> Option<(Vec<Value>, Value)> {
    let found = candidates(data, sites);
    let chosen = match found.iter().find(|s| !want.is_empty() && s.path == want) {
        Some(s) => *s,
        None => *found.get((pick % found.len().max(1) as u64) as usize)?,
    };
    let target = null_target(sites, &chosen.path);
    if let Some(v) = at_mut(data, &target) {
        *v = Value::Null;
    }
    let error = json!({
        "type": "RESOURCE_LIMITS_EXCEEDED",
        "message": "Resource limits for this query exceeded.",
        "path": chosen.path,
        "locations": [{ "line": chosen.line, "column": chosen.column }],
    });
    Some((chosen.path.clone(), error))
}
