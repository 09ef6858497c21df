//! Partial answers. Since September 2025 GitHub stops a query that exceeds
//! its resource limits and answers HTTP 200 with `null` where it stopped and
//! an error of type `RESOURCE_LIMITS_EXCEEDED` naming the `path`. The null
//! sits at the failed field when that field may be null, else at the nearest
//! ancestor that may (a whole PR, the whole repository). Such an answer is
//! never taken as complete: what failed is asked again alone where it can
//! be named, and the whole request asked again smaller where it cannot.

use serde_json::Value;

use super::wire::ApiError;

/// The PRs of a page answer (their index in the page) whose `reviews` GitHub
/// nulled: those are fetched again alone. `None` when a hole cannot be named
/// that way (a PR or the repository nulled): the page must be asked again.
pub fn page_holes(errors: &[ApiError]) -> Option<Vec<usize>> {
    let mut holes = Vec::new();
    for e in errors.iter().filter(|e| e.is_resource_limit()) {
        match e.path.as_slice() {
            [repo, prs, nodes, index, field, ..]
                if repo == "repository" && prs == "pullRequests" && nodes == "nodes" && field == "reviews" =>
            {
                holes.push(usize::try_from(index.as_u64()?).ok()?);
            }
            _ => return None,
        }
    }
    Some(holes)
}

/// The items of a `nodes(ids:)` answer (list alias, index) that GitHub
/// nulled, in place or through the item: those ids are asked again. `None`
/// when a hole is outside every list: the whole request is asked again.
pub fn list_holes(errors: &[ApiError]) -> Option<Vec<(String, usize)>> {
    let mut holes = Vec::new();
    for e in errors.iter().filter(|e| e.is_resource_limit()) {
        match e.path.as_slice() {
            [Value::String(alias), index, ..] => holes.push((alias.clone(), usize::try_from(index.as_u64()?).ok()?)),
            _ => return None,
        }
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
    fn page_holes_name_only_what_can_be_fetched_alone() {
        let other = ApiError { kind: Some("NOT_FOUND".into()), ..ApiError::default() };
        let cases = [
            (vec![], Some(vec![])),
            (vec![other.clone()], Some(vec![])),
            (vec![partial(json!(["repository", "pullRequests", "nodes", 3, "reviews"]))], Some(vec![3])),
            (
                vec![
                    partial(json!(["repository", "pullRequests", "nodes", 0, "reviews"])),
                    partial(json!(["repository", "pullRequests", "nodes", 7, "reviews", "nodes"])),
                ],
                Some(vec![0, 7]),
            ),
            // a non-null field takes its PR with it: the PR cannot be named
            (vec![partial(json!(["repository", "pullRequests", "nodes", 3, "comments"]))], None),
            (vec![partial(json!(["repository", "pullRequests"]))], None),
            (vec![partial(json!(["repository", "pullRequests", "nodes", 3, "reviews"])), partial(json!([]))], None),
        ];
        for (errors, want) in cases {
            assert_eq!(page_holes(&errors), want, "{errors:?}");
        }
    }

    #[test]
    fn list_holes_name_the_item() {
        let cases = [
            (vec![partial(json!(["reviewsOf", 2, "reviews"]))], Some(vec![("reviewsOf".to_string(), 2)])),
            (vec![partial(json!(["commentsOf", 0, "comments", "nodes"]))], Some(vec![("commentsOf".to_string(), 0)])),
            (vec![partial(json!(["rateLimit"]))], None),
            (vec![partial(json!([]))], None),
        ];
        for (errors, want) in cases {
            assert_eq!(list_holes(&errors), want, "{errors:?}");
        }
    }
}
