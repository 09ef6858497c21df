//! A local stand-in for GitHub's GraphQL API, serving synthetic repositories.
//!
//! It executes the documents clients send (rather than matching canned
//! queries), charges GitHub's cost formula against a rate-limit budget, sends
//! the `x-ratelimit-*` headers and opaque cursors, and can misbehave on demand.
//! Its data can change while clients read it (`changes`), and PRs ordered by
//! `UPDATED_AT` page by sort value, loosely, as GitHub's do (`order`).
//! Tests, the demo command and the benchmark all use it.

#[cfg(test)]
mod accounts_tests;
pub mod changes;
#[cfg(test)]
mod changes_tests;
#[cfg(test)]
mod chaos_tests;
pub mod cost;
pub mod data;
mod exec;
mod faults;
#[cfg(test)]
mod faults_tests;
mod ids;
pub mod limits;
mod objects;
mod order;
mod owners;
mod paging;
mod partial;
pub mod rest;
mod server;
pub mod shapes;
#[cfg(test)]
mod sweep_tests;
pub mod world;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

pub use changes::ChangeError;
pub use data::{Profile, RepoSpec};
pub use limits::SecondaryPoints;
pub use paging::encode_cursor;
pub use world::{Chaos, Control, CostReading, Fault, RequestRecord, World};

use server::Shared;

/// A running fake on 127.0.0.1; it stops when dropped.
pub struct FakeGithub {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeGithub {
    /// Starts serving `world` on a free loopback port.
    pub async fn start(world: World) -> std::io::Result<FakeGithub> {
        FakeGithub::start_on(world, 0).await
    }

    pub async fn start_on(world: World, port: u16) -> std::io::Result<FakeGithub> {
        let shared = Arc::new(Shared { world: RwLock::new(world), control: Mutex::new(Control::default()) });
        let app = axum::Router::new()
            .route("/graphql", axum::routing::post(server::graphql))
            .route("/api/graphql", axum::routing::post(server::graphql))
            .route("/repos/{owner}/{name}/issues", axum::routing::get(rest::list_issues).post(rest::create_issue))
            .route("/repos/{owner}/{name}/issues/{number}/comments", axum::routing::post(rest::create_comment))
            .route("/app/installations/{id}/access_tokens", axum::routing::post(rest::installation_token))
            .route("/repos/{owner}/{name}/installation", axum::routing::get(rest::repository_installation))
            .route("/orgs/{owner}/installation", axum::routing::get(rest::owner_installation))
            .route("/users/{owner}/installation", axum::routing::get(rest::owner_installation))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeGithub { addr, shared, task })
    }

    pub fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// Read or change the served data.
    pub fn with_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        let mut w = self.shared.world.write().unwrap_or_else(|e| e.into_inner());
        f(&mut w)
    }

    /// Read or change the knobs: token, budget, latency, faults, the log.
    pub fn with_control<T>(&self, f: impl FnOnce(&mut Control) -> T) -> T {
        let mut c = self.shared.control.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut c)
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.with_control(|c| c.log.clone())
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        self.task.abort();
    }
}
