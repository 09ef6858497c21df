//! Responses exactly as GitHub sends them. graphql_client's response type
//! drops `errors[].type`, which is what tells a rate limit from a missing
//! repository, so the envelope and payloads are parsed here.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::budget::Budget;

#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    pub data: Option<T>,
    #[serde(default)]
    pub errors: Vec<ApiError>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApiError {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The newer spelling of some kinds (`graphql_rate_limit`).
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub extensions: Option<ErrorExtensions>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub path: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorExtensions {
    #[serde(default)]
    pub code: Option<String>,
}

impl ApiError {
    /// Every name the error goes by: `type`, `code`, `extensions.code`.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        [self.kind.as_deref(), self.code.as_deref(), self.extensions.as_ref().and_then(|x| x.code.as_deref())]
            .into_iter()
            .flatten()
    }

    /// A query over GitHub's resource limits: HTTP 200, nulls at `path`.
    pub fn is_resource_limit(&self) -> bool {
        self.names().any(|n| n.eq_ignore_ascii_case("RESOURCE_LIMITS_EXCEEDED"))
    }
}

/// What an answer cost, as its own `rateLimit` says: every document asks for it.
pub trait Costed {
    fn cost(&self) -> Option<i64>;
}

macro_rules! costed {
    ($($t:ty),*) => {
        $(impl Costed for $t {
            fn cost(&self) -> Option<i64> {
                self.rate_limit.as_ref().map(|r| r.cost)
            }
        })*
    };
}
costed!(RepositoryLookupData, RateLimitData, OwnerRepositoriesData);

/// `rateLimit { cost limit remaining used resetAt nodeCount }`: what the
/// request cost, and the budget it left, decoded straight into `Budget`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    pub cost: i64,
    pub node_count: i64,
    #[serde(flatten)]
    pub budget: Budget,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
    /// Where a window read from the back goes on from, towards the front.
    #[serde(default)]
    pub start_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection<T> {
    pub total_count: i64,
    pub page_info: PageInfo,
    #[serde(default = "Vec::new")]
    pub nodes: Vec<Option<T>>,
}

#[derive(Debug, Deserialize)]
pub struct Count {
    #[serde(rename = "totalCount")]
    pub total_count: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    #[serde(rename = "__typename")]
    pub typename: String,
    pub login: String,
    pub avatar_url: Option<String>,
    pub database_id: Option<i64>,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Commit {
    pub oid: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyTo {
    pub full_database_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    pub id: String,
    pub full_database_id: Option<String>,
    pub author: Option<Actor>,
    pub state: String,
    pub body: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub commit: Option<Commit>,
    /// How many comments the review has: only reviews with some are asked for them.
    #[serde(default)]
    pub comments: Option<Count>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewComment {
    pub id: String,
    pub full_database_id: Option<String>,
    pub author: Option<Actor>,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub path: String,
    pub position: Option<i32>,
    pub original_position: Option<i32>,
    pub diff_hunk: String,
    pub commit: Option<Commit>,
    pub reply_to: Option<ReplyTo>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueComment {
    pub id: String,
    pub full_database_id: Option<String>,
    pub author: Option<Actor>,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullRequest {
    pub id: String,
    pub full_database_id: Option<String>,
    pub number: i32,
    pub title: String,
    pub body: String,
    pub state: String,
    pub is_draft: bool,
    pub merged: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub merged_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub additions: i32,
    pub deletions: i32,
    pub changed_files: i32,
    pub base_ref_name: String,
    pub head_ref_name: String,
    pub url: String,
    pub author: Option<Actor>,
    pub merged_by: Option<Actor>,
    pub commits: Count,
    pub reviews: Option<Connection<Review>>,
    pub comments: Connection<IssueComment>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryOwner {
    pub login: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Repository {
    pub database_id: Option<i64>,
    pub name: String,
    pub name_with_owner: String,
    pub owner: RepositoryOwner,
    pub pull_requests: Count,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryLookupData {
    pub rate_limit: Option<RateLimit>,
    pub repository: Option<Repository>,
}

/// A repository as an owner's listing has it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnedRepository {
    pub database_id: Option<i64>,
    pub name: String,
    pub name_with_owner: String,
    pub owner: RepositoryOwner,
    pub is_fork: bool,
    pub is_archived: bool,
    pub created_at: DateTime<Utc>,
    pub pull_requests: Count,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    pub login: String,
    pub repositories: Connection<OwnedRepository>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerRepositoriesData {
    pub rate_limit: Option<RateLimit>,
    pub repository_owner: Option<Owner>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitData {
    pub rate_limit: Option<RateLimit>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestsOf {
    pub pull_requests: Connection<PullRequest>,
}

/// A `nodes(ids:)` item: `{}` when the node is not of the fragment's type.
#[derive(Debug, Deserialize)]
pub struct ReviewsOfPr {
    pub reviews: Option<Connection<Review>>,
}

#[derive(Debug, Deserialize)]
pub struct CommentsOfPr {
    pub comments: Option<Connection<IssueComment>>,
}

#[derive(Debug, Deserialize)]
pub struct CommentsOfReview {
    pub comments: Option<Connection<ReviewComment>>,
}

/// A connection read from both ends under `node(id:)`.
#[derive(Debug, Deserialize)]
pub struct BothEnds<T> {
    pub front: Option<Connection<T>>,
    pub back: Option<Connection<T>>,
}
