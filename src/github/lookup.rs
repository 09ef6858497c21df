//! The small questions: what a repository is, which repositories an owner
//! has, and how much budget is left.

use chrono::{DateTime, Utc};
use graphql_client::GraphQLQuery;

use super::client::{GithubClient, Reply};
use super::error::GithubError;
use super::queries::{
    owner_repositories, rate_limit_now, repository_lookup, OwnerRepositories, RateLimitNow, RepositoryLookup,
};
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

/// One repository of an owner's listing, with what `add 'OWNER/*'` filters on.
#[derive(Debug, Clone)]
pub struct OwnedRepository {
    pub info: RepositoryInfo,
    pub fork: bool,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
}

/// An owner (organization or user) as GitHub spells it, and every
/// repository it owns, oldest first.
#[derive(Debug, Clone)]
pub struct OwnerListing {
    pub login: String,
    pub repositories: Vec<OwnedRepository>,
}

impl OwnerListing {
    /// The repositories' GitHub ids, in the listing's order.
    pub fn ids(&self) -> Vec<i64> {
        self.repositories.iter().map(|r| r.info.github_id).collect()
    }
}

/// Every repository `login` owns, 100 a request (one point each). An owner
/// GitHub does not have is `NotFound`. A partial answer is asked again.
pub async fn list_repositories(client: &GithubClient, login: &str) -> Result<OwnerListing, GithubError> {
    let whole =
        |reply: &Reply<wire::OwnerRepositoriesData>| reply.refuse_partial(|| format!("the repositories of {login}"));
    let mut listing = OwnerListing { login: login.to_string(), repositories: Vec::new() };
    let mut after = None;
    loop {
        let variables = owner_repositories::Variables { login: login.into(), after: after.clone() };
        let reply = client.query_checked(&OwnerRepositories::build_query(variables), false, &whole).await?;
        let Some(owner) = reply.data.and_then(|d| d.repository_owner) else {
            return Err(GithubError::from_api_errors(&reply.errors, None)
                .unwrap_or_else(|| GithubError::NotFound(format!("owner {login}"))));
        };
        listing.login = owner.login;
        for repo in owner.repositories.nodes.into_iter().flatten() {
            listing.repositories.push(owned(repo)?);
        }
        let page = owner.repositories.page_info;
        // A cursor that does not move would ask the same page for ever.
        match page.end_cursor {
            Some(cursor) if page.has_next_page && after.as_ref() != Some(&cursor) => after = Some(cursor),
            _ => return Ok(listing),
        }
    }
}

fn owned(repo: wire::OwnedRepository) -> Result<OwnedRepository, GithubError> {
    let github_id = repo
        .database_id
        .ok_or_else(|| GithubError::Other(format!("repository {} has no database id", repo.name_with_owner)))?;
    Ok(OwnedRepository {
        info: RepositoryInfo {
            github_id,
            owner: repo.owner.login,
            name: repo.name,
            full_name: repo.name_with_owner,
            pull_request_count: repo.pull_requests.total_count,
        },
        fork: repo.is_fork,
        archived: repo.is_archived,
        created_at: repo.created_at,
    })
}

/// The budget as GitHub sees it now, asked of every credential (free, and
/// refused for a bad credential before any rate limit, so a pool's rejected
/// token is found here); reads no repository data. Returns the budget of
/// the credential in use.
pub async fn rate_limit(client: &GithubClient) -> Result<Option<Budget>, GithubError> {
    let mut in_use = None;
    for lane in 0..client.credential_count() {
        let reply: Reply<wire::RateLimitData> =
            client.query_on(lane, &RateLimitNow::build_query(rate_limit_now::Variables {})).await?;
        in_use = in_use.or(reply.data.and_then(|d| d.rate_limit).map(|r| r.budget).or(reply.budget));
    }
    Ok(client.budget_seen().or(in_use))
}
