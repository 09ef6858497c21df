//! Failure reports as GitHub issues: one open issue per backfill that needs
//! attention, commented on again rather than opened twice.

use http::Method;
use serde_json::{json, Value};

use super::client::GithubClient;
use super::error::GithubError;

/// The label that marks the tool's issues, so it finds its own again.
pub const LABEL: &str = "backfill";

/// Opens an issue titled `title` in `repo` (OWNER/NAME), or comments on the
/// open one with that title. Returns the link to the issue or comment.
pub async fn open_or_comment(
    client: &GithubClient,
    repo: &str,
    title: &str,
    body: &str,
) -> Result<String, GithubError> {
    let list =
        client.rest(Method::GET, &format!("/repos/{repo}/issues?state=open&labels={LABEL}&per_page=100"), None).await?;
    let existing = list
        .as_array()
        .and_then(|issues| issues.iter().find(|i| i.get("title").and_then(Value::as_str) == Some(title)))
        .and_then(|i| i.get("number").and_then(Value::as_u64));
    let answer = match existing {
        Some(number) => {
            let path = format!("/repos/{repo}/issues/{number}/comments");
            client.rest(Method::POST, &path, Some(&json!({ "body": body }))).await?
        }
        None => {
            let issue = json!({ "title": title, "body": body, "labels": [LABEL] });
            client.rest(Method::POST, &format!("/repos/{repo}/issues"), Some(&issue)).await?
        }
    };
    Ok(answer.get("html_url").and_then(Value::as_str).unwrap_or("").to_string())
}
