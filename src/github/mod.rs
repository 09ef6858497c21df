//! Everything that talks to GitHub's APIs: the client (`client`, over
//! octocrab in `transport`), what its answers mean (`answer`, `error`,
//! `retry`, `pacing`), and the two kinds of question asked: the small ones
//! (`lookup`, `issues`) and a backfill's chunks (`pipeline`).

mod answer;
pub mod client;
pub mod clients;
pub mod credential;
pub mod error;
pub mod issues;
mod lanes;
pub mod lookup;
pub mod model;
pub mod news;
pub mod pacing;
pub mod pipeline;
mod pool;
pub mod queries;
pub mod retry;
mod settings;
mod transport;
pub mod verify;
pub mod wire;

pub use client::{ClientSettings, GithubClient};
pub use clients::Clients;
pub use credential::{AppCredentials, Credential, CredentialName};
pub use error::GithubError;
pub use lookup::{lookup_repository, rate_limit, RepositoryInfo};
pub use pipeline::limits::DEFAULT_NODE_LIMIT;
pub use pipeline::{FetchedChunk, Pipeline};
