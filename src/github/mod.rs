//! Everything that talks to GitHub's GraphQL API.

pub mod client;
pub mod error;
pub mod fetch;
pub mod model;
pub mod queries;
pub mod wire;

pub use client::{GithubClient, RateInfo};
pub use error::GithubError;
pub use fetch::{fetch_page, lookup_repository, FetchedPage, PageRequest, RepositoryInfo};
