//! The small questions: what a repository is, and how much budget is left.

use graphql_client::GraphQLQuery;

use super::client::{GithubClient, Reply};
use super::error::GithubError;
use super::queries::{rate_limit_now, repository_lookup, RateLimitNow, RepositoryLookup};
use super::wire;
use crate::budget::Budget;

#[derive(Debug, Clone)]
pub struct RepositoryInfo {
    pub github_id: i64,
    pub owner: String,
    pub name: String,
    pub full_name: String,
    pub pull_request_count: i64,
}

pub async fn lookup_repository(client: &GithubClient, owner: &str, name: &str) -> Result<RepositoryInfo, GithubError> {
    let body = RepositoryLookup::build_query(repository_lookup::Variables { owner: owner.into(), name: name.into() });
    let reply: Reply<wire::RepositoryLookupData> = client.query(&body).await?;
    let repo = reply.data.and_then(|d| d.repository);
    let Some(repo) = repo else {
        return Err(GithubError::from_api_errors(&reply.errors, None)
            .unwrap_or_else(|| GithubError::NotFound(format!("repository {owner}/{name}"))));
    };
    Ok(RepositoryInfo {
        github_id: repo
            .database_id
            .ok_or_else(|| GithubError::Other(format!("repository {owner}/{name} has no database id")))?,
        owner: repo.owner.login,
        name: repo.name,
        full_name: repo.name_with_owner,
        pull_request_count: repo.pull_requests.total_count,
    })
}

/// The budget as GitHub sees it now; reads no repository data.
pub async fn rate_limit(client: &GithubClient) -> Result<Option<Budget>, GithubError> {
    let reply: Reply<wire::RateLimitData> =
        client.query(&RateLimitNow::build_query(rate_limit_now::Variables {})).await?;
    Ok(reply.data.and_then(|d| d.rate_limit).map(|r| r.budget).or(reply.budget))
}
