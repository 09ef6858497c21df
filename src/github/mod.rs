//! Everything that talks to GitHub's GraphQL API.

mod absorb;
mod answer;
pub mod client;
pub mod cost;
pub mod credential;
pub mod error;
pub mod fetch;
pub mod issues;
pub mod lookup;
pub mod model;
pub mod pacing;
pub mod partial;
pub mod pipeline;
pub mod queries;
pub mod retry;
pub mod round;
mod transport;
pub mod wire;
pub mod work;

pub use client::{ClientSettings, GithubClient};
pub use credential::{AppCredentials, Credential, CredentialName};
pub use error::GithubError;
pub use fetch::{FetchedPage, PageRequest};
pub use lookup::{lookup_repository, rate_limit, RepositoryInfo};
pub use pipeline::{fetch_page, Pipeline};
