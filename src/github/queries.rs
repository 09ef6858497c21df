//! The documents in `queries/`, compiled by graphql_client against the
//! project's minimal schema: a misspelt field or a wrong variable type fails
//! the build. Responses are parsed by `wire`, which keeps `errors[].type`.

#![allow(clippy::all, missing_docs)]

use graphql_client::GraphQLQuery;

/// GitHub sends 64-bit ids as strings.
pub type BigInt = String;
#[allow(clippy::upper_case_acronyms)]
pub type URI = String;
pub type DateTime = String;
pub type GitObjectID = String;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "queries/schema.graphql",
    query_path = "queries/repository.graphql",
    variables_derives = "Debug"
)]
pub struct RepositoryLookup;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "queries/schema.graphql",
    query_path = "queries/repository.graphql",
    variables_derives = "Debug"
)]
pub struct RateLimitNow;

#[derive(GraphQLQuery)]
#[graphql(schema_path = "queries/schema.graphql", query_path = "queries/owner.graphql", variables_derives = "Debug")]
pub struct OwnerRepositories;

/// Never sent as it stands (`round` puts each request together from its
/// fragments); derived so that the build checks them against the schema.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "queries/schema.graphql",
    query_path = "queries/pull_requests.graphql",
    variables_derives = "Debug"
)]
pub struct ChunkRound;

/// `backfill verify` and the rolling audit: a page of PRs, counted.
#[derive(GraphQLQuery)]
#[graphql(schema_path = "queries/schema.graphql", query_path = "queries/verify.graphql", variables_derives = "Debug")]
pub struct VerifyPage;
