//! What is new in many repositories at once, for the backfills kept
//! current: one request asks up to `REPOSITORIES_PER_REQUEST` of them,
//! under aliases, whether a PR was created after the backfill's cursor, and
//! which PRs were updated most recently. GitHub keeps that order loosely,
//! so a whole page of them is asked, as a sweep reads it: a page with none
//! updated after the watermark ends a sweep, and so it ends this check.
//! Each repository costs two counted requests (a point per 50).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Map};

use super::client::{GithubClient, Reply};
use super::error::GithubError;
use super::pipeline::document::{Answer, RequestBody};

/// Repositories asked in one request: 200 counted requests, two points.
pub const REPOSITORIES_PER_REQUEST: usize = 100;
/// PRs of each repository asked, most recently updated first: a sweep's page.
pub const RECENT: usize = 50;

/// One repository to ask about, and the cursor its backfill stands at.
#[derive(Debug, Clone)]
pub struct NewsAsk<'a> {
    pub owner: &'a str,
    pub name: &'a str,
    pub after: Option<&'a str>,
}

/// What GitHub said of one repository.
#[derive(Debug, Clone, PartialEq)]
pub enum News {
    /// GitHub no longer has (or shows) the repository.
    Gone,
    Found {
        /// A PR was created after the cursor.
        created_after_cursor: bool,
        /// The most recently updated PRs: their numbers and when.
        recently_updated: Vec<(i32, DateTime<Utc>)>,
        /// The repository's PRs, as GitHub counts them now.
        total: i64,
    },
}

/// The document asking about `asks`, each under the alias `r{i}`.
pub fn document(asks: &[NewsAsk<'_>]) -> RequestBody {
    let mut vars = Map::new();
    let mut declared = Vec::new();
    let mut selections = String::from("  rateLimit {\n    ...RateLimitFields\n  }\n");
    for (i, ask) in asks.iter().enumerate() {
        declared.extend([format!("$owner{i}: String!"), format!("$name{i}: String!"), format!("$after{i}: String")]);
        vars.insert(format!("owner{i}"), json!(ask.owner));
        vars.insert(format!("name{i}"), json!(ask.name));
        vars.insert(format!("after{i}"), json!(ask.after));
        selections.push_str(&format!(
            "  r{i}: repository(owner: $owner{i}, name: $name{i}) {{\n    created: pullRequests(first: 1, after: $after{i}, orderBy: {{ field: CREATED_AT, direction: ASC }}) {{\n      nodes {{\n        number\n      }}\n    }}\n    updated: pullRequests(first: {RECENT}, orderBy: {{ field: UPDATED_AT, direction: DESC }}) {{\n      totalCount\n      nodes {{\n        number\n        updatedAt\n      }}\n    }}\n  }}\n"
        ));
    }
    RequestBody::new("RepositoryNews", &declared, &selections, vars, BTreeSet::from(["RateLimitFields"]))
}

#[derive(Deserialize)]
struct NewsOf {
    created: Numbers,
    updated: Updated,
}

#[derive(Deserialize)]
struct Numbers {
    #[serde(default)]
    nodes: Vec<Option<Number>>,
}

#[derive(Deserialize)]
struct Number {
    #[allow(dead_code)]
    number: i32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Updated {
    total_count: i64,
    #[serde(default)]
    nodes: Vec<Option<UpdatedAt>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdatedAt {
    number: i32,
    updated_at: DateTime<Utc>,
}

/// What each repository's alias says in an answer, in the order asked.
pub fn read(answer: &Answer, asked: usize) -> Result<Vec<News>, GithubError> {
    (0..asked)
        .map(|i| match answer.parse::<Option<NewsOf>>(&format!("r{i}")) {
            None | Some(Ok(None)) => Ok(News::Gone),
            Some(Ok(Some(of))) => Ok(News::Found {
                created_after_cursor: of.created.nodes.iter().any(Option::is_some),
                recently_updated: of.updated.nodes.into_iter().flatten().map(|n| (n.number, n.updated_at)).collect(),
                total: of.updated.total_count,
            }),
            Some(Err(e)) => Err(GithubError::ServerError(format!("an answer that does not parse: {e}"))),
        })
        .collect()
}

/// What is new in each repository asked, in the order asked, in as few
/// requests as `REPOSITORIES_PER_REQUEST` allows.
pub async fn news(client: &GithubClient, asks: &[NewsAsk<'_>]) -> Result<Vec<News>, GithubError> {
    let mut out = Vec::with_capacity(asks.len());
    for batch in asks.chunks(REPOSITORIES_PER_REQUEST) {
        let reply: Reply<Answer> = client.query(&document(batch)).await?;
        // A repository GitHub no longer has comes back null with a
        // NOT_FOUND error beside the others' answers: it is that one's news.
        let serious = reply.errors.iter().filter(|e| e.kind.as_deref() != Some("NOT_FOUND")).cloned();
        if let Some(e) = GithubError::from_api_errors(&serious.collect::<Vec<_>>(), None) {
            return Err(e);
        }
        let answer = reply.data.ok_or_else(|| GithubError::ServerError("an answer without data".into()))?;
        out.extend(read(&answer, batch.len())?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_repository_reads_as_its_news() {
        let answer: Answer = serde_json::from_value(json!({
            "r0": { "created": { "nodes": [{ "number": 21 }] },
                    "updated": { "totalCount": 21, "nodes": [{ "number": 21, "updatedAt": "2026-12-01T00:00:00Z" }] } },
            "r1": { "created": { "nodes": [] }, "updated": { "totalCount": 0, "nodes": [] } },
            "r2": null,
        }))
        .expect("an answer");
        let at = "2026-12-01T00:00:00Z".parse().expect("a time");
        let news = read(&answer, 4).expect("read");
        assert_eq!(
            news,
            vec![
                News::Found { created_after_cursor: true, recently_updated: vec![(21, at)], total: 21 },
                News::Found { created_after_cursor: false, recently_updated: vec![], total: 0 },
                News::Gone,
                News::Gone,
            ]
        );
        let body = serde_json::to_value(document(&[NewsAsk { owner: "o", name: "n", after: None }])).expect("json");
        let query = body["query"].as_str().unwrap_or_default();
        assert!(query.contains("r0: repository(owner: $owner0, name: $name0)"), "{query}");
        assert!(query.contains("fragment RateLimitFields"), "{query}");
    }
}
