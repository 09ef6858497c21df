//! Which client serves each backfill of a run: the one client of a token
//! (or a pool), or a GitHub App's installation on the backfill's owner, each
//! with its own budget. A backfill no installation serves (the App is not
//! installed on its owner) fails alone, saying so; the others run.

use std::sync::Arc;

use sqlx::PgPool;
use uuid::Uuid;

use super::attempt::{ChunkSettings, Start};
use super::chunk::{Chunk, ChunkOutcome};
use super::RunError;
use crate::github::error::Blame;
use crate::github::{Clients, GithubClient, GithubError};
use crate::store::claims::{self, Holder};
use crate::store::state::Backfill;

/// The client of each backfill (none: gone since picked, or not served),
/// and the backfills no client serves, with why.
pub(super) type Served = (Vec<Option<Arc<GithubClient>>>, Vec<(usize, GithubError)>);

/// Each backfill's client. A credential GitHub refuses or a wrong URL stops
/// the run; GitHub down stops it too (as any request would).
pub(super) async fn clients_of(clients: &Clients, backfills: &[Option<Backfill>]) -> Result<Served, RunError> {
    let mut served = Vec::with_capacity(backfills.len());
    let mut unserved = Vec::new();
    for (at, backfill) in backfills.iter().enumerate() {
        let Some(b) = backfill else {
            served.push(None);
            continue;
        };
        match clients.for_repository(&b.owner, &b.name).await {
            Ok(client) => served.push(Some(client)),
            Err(e) => {
                match e.meaning().blame {
                    Blame::Credential => return Err(RunError::BadCredentials(e.to_string())),
                    Blame::Setting => return Err(RunError::Config(e.to_string())),
                    Blame::Github | Blame::RateLimit { .. } | Blame::Backfill => {
                        return Err(RunError::GithubDown(e.to_string()))
                    }
                    Blame::Repository => unserved.push((at, e)),
                }
                served.push(None);
            }
        }
    }
    Ok((served, unserved))
}

/// A backfill no client serves, recorded as its fetch's failure would be:
/// claimed, marked (failed, for an App not installed on its owner), given up.
pub(super) async fn record_unserved(
    pool: &PgPool,
    github: &GithubClient,
    id: Uuid,
    settings: &ChunkSettings,
    holder: &Holder,
    error: &GithubError,
) -> Result<ChunkOutcome, RunError> {
    let start = Start::now(github);
    let Some(backfill) = claims::take(pool, id, holder).await? else { return Ok(ChunkOutcome::Skipped) };
    let chunk = Chunk { pool, github, backfill: &backfill, settings, holder, start, sweeping: false };
    let outcome = chunk.record_error(error, 0).await;
    let _ = claims::release_all(pool, holder).await;
    outcome
}

/// The backfills (their places in the run) grouped by the client serving
/// them, in the order each client first serves one.
pub(super) fn by_client(
    served: &[Option<Arc<GithubClient>>],
    places: impl IntoIterator<Item = usize>,
) -> Vec<(Arc<GithubClient>, Vec<usize>)> {
    let mut groups: Vec<(Arc<GithubClient>, Vec<usize>)> = Vec::new();
    for at in places {
        let Some(client) = served.get(at).cloned().flatten() else { continue };
        match groups.iter_mut().find(|(c, _)| Arc::ptr_eq(c, &client)) {
            Some((_, members)) => members.push(at),
            None => groups.push((client, vec![at])),
        }
    }
    groups
}
