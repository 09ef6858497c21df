//! Partial answers. Since September 2025 GitHub stops a query that exceeds
//! its resource limits and answers HTTP 200 with `null` where it stopped and
//! an error of type `RESOURCE_LIMITS_EXCEEDED` naming the `path`. The null
//! sits at the failed field when that field may be null, else at the nearest
//! ancestor that may (a whole PR, the whole repository). Such an answer is
//! never taken as complete: what failed is asked again alone where it can
//! be named, and the whole request asked again smaller where it cannot.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::document::{Answer, PAGE_ALIAS};
use crate::github::client::Reply;
use crate::github::error::GithubError;
use crate::github::wire::ApiError;
use crate::text::one_line;

/// Where a partial answer struck, as far as it can be repaired alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hole {
    /// A PR of a page (the page's alias, the PR's index in it) whose
    /// `reviews` GitHub nulled: they are read again from the start, the page kept.
    PrReviews { page: String, index: usize },
    /// A follow-up's alias (and its index, for a `nodes(ids:)` list): that
    /// follow-up is asked again.
    Part { alias: String, index: Option<usize> },
}

/// Every hole of an answer, or `None` when one cannot be named that way
/// (a PR or the repository nulled): the request must be asked again whole.
pub fn holes(errors: &[ApiError]) -> Option<Vec<Hole>> {
    let mut holes = Vec::new();
    for e in errors.iter().filter(|e| e.is_resource_limit()) {
        let hole = match e.path.as_slice() {
            [Value::String(page), prs, nodes, index, field, ..]
                if is_page(page) && prs == "pullRequests" && nodes == "nodes" && field == "reviews" =>
            {
                Hole::PrReviews { page: page.clone(), index: usize::try_from(index.as_u64()?).ok()? }
            }
            // A refetch's page lists its PRs straight under the alias.
            [Value::String(page), Value::Number(index), field, ..] if is_page(page) && field == "reviews" => {
                Hole::PrReviews { page: page.clone(), index: usize::try_from(index.as_u64()?).ok()? }
            }
            [Value::String(alias), rest @ ..] if !is_page(alias) && alias != "rateLimit" => {
                let index = match rest.first() {
                    Some(Value::Number(i)) => Some(usize::try_from(i.as_u64()?).ok()?),
                    _ => None,
                };
                Hole::Part { alias: alias.clone(), index }
            }
            _ => return None,
        };
        holes.push(hole);
    }
    Some(holes)
}

/// Whether an alias of an answer is a page's (`repository`, `repository1`, ...).
fn is_page(alias: &str) -> bool {
    alias.strip_prefix(PAGE_ALIAS).is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
}

/// The check of an answer before it is taken: a partial answer is taken
/// when every hole can be asked again alone; otherwise the request is asked
/// again smaller.
pub fn repairable(reply: &Reply<Answer>) -> Result<(), GithubError> {
    // A PR nulled without a partial-answer error to say so is no more
    // complete than one with it.
    let nulled_pr = reply.data.as_ref().is_some_and(|d| {
        d.parts.keys().filter(|k| is_page(k)).any(|page| {
            let nodes = d.parse::<Option<PageNodes>>(page).and_then(Result::ok).flatten();
            nodes.is_some_and(|r| r.pull_requests.nodes.iter().any(Option::is_none))
        })
    });
    match holes(&reply.errors) {
        Some(_) if !nulled_pr => Ok(()),
        _ => Err(GithubError::ResourceLimits(one_line(&message(&reply.errors)))),
    }
}

/// The page's PRs, only to see whether any came back null.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageNodes {
    pull_requests: PageNodeList,
}

#[derive(serde::Deserialize)]
struct PageNodeList {
    nodes: Vec<Option<serde::de::IgnoredAny>>,
}

/// The messages of the partial-answer errors, with where each struck.
pub fn message(errors: &[ApiError]) -> String {
    let parts: Vec<String> = errors
        .iter()
        .filter(|e| e.is_resource_limit())
        .map(|e| {
            let path: Vec<String> =
                e.path.iter().map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_string)).collect();
            format!("{} (at {})", e.message, path.join("."))
        })
        .collect();
    parts.join("; ")
}

/// An answer's data, and the holes a partial answer left in it to ask
/// again. An answer without data fails as GitHub's errors say; one with
/// errors other than those `fail_on_other_errors` lets through fails too.
pub fn usable(
    data: Option<Answer>,
    errors: &[ApiError],
    reset_at: Option<DateTime<Utc>>,
) -> Result<(Answer, Vec<Hole>), GithubError> {
    let Some(data) = data else {
        return Err(GithubError::from_api_errors(errors, reset_at)
            .unwrap_or_else(|| GithubError::ServerError("an answer without data".into())));
    };
    fail_on_other_errors(errors)?;
    Ok((data, holes(errors).unwrap_or_default()))
}

/// Errors that come with usable data: a node deleted since the page was
/// read is gone for good and is skipped, and the holes of a partial answer
/// are asked again; anything else fails the chunk.
pub fn fail_on_other_errors(errors: &[ApiError]) -> Result<(), GithubError> {
    let serious: Vec<ApiError> =
        errors.iter().filter(|e| e.kind.as_deref() != Some("NOT_FOUND") && !e.is_resource_limit()).cloned().collect();
    match GithubError::from_api_errors(&serious, None) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn partial(path: Value) -> ApiError {
        ApiError {
            kind: Some("RESOURCE_LIMITS_EXCEEDED".into()),
            path: path.as_array().cloned().unwrap_or_default(),
            ..ApiError::default()
        }
    }

    #[test]
    fn holes_name_only_what_can_be_asked_again_alone() {
        let other = ApiError { kind: Some("NOT_FOUND".into()), ..ApiError::default() };
        let part = |alias: &str, index: Option<usize>| Hole::Part { alias: alias.into(), index };
        let reviews = |page: &str, index| Hole::PrReviews { page: page.into(), index };
        let cases = [
            (vec![], Some(vec![])),
            (vec![other.clone()], Some(vec![])),
            (
                vec![partial(json!(["repository", "pullRequests", "nodes", 3, "reviews"]))],
                Some(vec![reviews("repository", 3)]),
            ),
            (
                vec![
                    partial(json!(["repository", "pullRequests", "nodes", 0, "reviews"])),
                    partial(json!(["repository", "pullRequests", "nodes", 7, "reviews", "nodes", 2, "comments"])),
                ],
                Some(vec![reviews("repository", 0), reviews("repository", 7)]),
            ),
            (vec![partial(json!(["reviewsOf", 2, "reviews"]))], Some(vec![part("reviewsOf", Some(2))])),
            (
                vec![partial(json!(["repository12", "pullRequests", "nodes", 4, "reviews"]))],
                Some(vec![reviews("repository12", 4)]),
            ),
            (vec![partial(json!(["repository12", "pullRequests"]))], None),
            // a refetch's page: its PRs straight under the alias
            (vec![partial(json!(["repository", 5, "reviews"]))], Some(vec![reviews("repository", 5)])),
            (vec![partial(json!(["repository", 5]))], None),
            (vec![partial(json!(["commentsOf1", 0, "comments", "nodes"]))], Some(vec![part("commentsOf1", Some(0))])),
            (vec![partial(json!(["more3", "front"]))], Some(vec![part("more3", None)])),
            // a non-null field takes its PR with it: the PR cannot be named
            (vec![partial(json!(["repository", "pullRequests", "nodes", 3, "comments"]))], None),
            (vec![partial(json!(["repository", "pullRequests"]))], None),
            (vec![partial(json!(["rateLimit"]))], None),
            (vec![partial(json!(["repository", "pullRequests", "nodes", 3, "reviews"])), partial(json!([]))], None),
        ];
        for (errors, want) in cases {
            assert_eq!(holes(&errors), want, "{errors:?}");
        }
    }
}
