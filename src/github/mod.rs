//! Everything that talks to GitHub's GraphQL API.

mod answer;
pub mod app;
pub mod client;
mod details;
pub mod error;
pub mod fetch;
mod follow;
pub mod issues;
pub mod lookup;
pub mod model;
pub mod pacing;
pub mod partial;
pub mod queries;
pub mod retry;
pub mod wire;

pub use client::{ClientSettings, GithubClient};
pub use error::GithubError;
pub use fetch::{fetch_page, FetchedPage, PageRequest};
pub use lookup::{lookup_repository, rate_limit, RepositoryInfo};
