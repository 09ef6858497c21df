//! Partial answers. Since September 2025 GitHub stops a query that exceeds
//! its resource limits and answers HTTP 200 with `null` where it stopped and
//! an error of type `RESOURCE_LIMITS_EXCEEDED` naming the `path`. The null
//! sits at the failed field when that field may be null, else at the nearest
//! ancestor that may (a whole PR, the whole repository). Such an answer is
//! never taken as complete: what failed is asked again alone where it can
//! be named, and the whole request asked again smaller where it cannot.

use serde_json::Value;

use super::wire::ApiError;

/// Where a partial answer struck, as far as it can be repaired alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hole {
    /// A PR of the page (its index there) whose `reviews` GitHub nulled:
    /// they are read again from the start, the page kept.
    PrReviews(usize),
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
            [repo, prs, nodes, index, field, ..]
                if repo == "repository" && prs == "pullRequests" && nodes == "nodes" && field == "reviews" =>
            {
                Hole::PrReviews(usize::try_from(index.as_u64()?).ok()?)
            }
            [Value::String(alias), rest @ ..] if alias != "repository" && alias != "rateLimit" => {
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

/// Whether any error is a partial answer.
pub fn any(errors: &[ApiError]) -> bool {
    errors.iter().any(ApiError::is_resource_limit)
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
        let cases = [
            (vec![], Some(vec![])),
            (vec![other.clone()], Some(vec![])),
            (
                vec![partial(json!(["repository", "pullRequests", "nodes", 3, "reviews"]))],
                Some(vec![Hole::PrReviews(3)]),
            ),
            (
                vec![
                    partial(json!(["repository", "pullRequests", "nodes", 0, "reviews"])),
                    partial(json!(["repository", "pullRequests", "nodes", 7, "reviews", "nodes", 2, "comments"])),
                ],
                Some(vec![Hole::PrReviews(0), Hole::PrReviews(7)]),
            ),
            (vec![partial(json!(["reviewsOf", 2, "reviews"]))], Some(vec![part("reviewsOf", Some(2))])),
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
