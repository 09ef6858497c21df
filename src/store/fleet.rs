//! Fleets: every repository of an owner tracked at once (`add 'OWNER/*'`,
//! and `run --discover` for those created since). What becomes of each
//! repository of an owner's listing is decided first, as data (`plan`, a
//! pure function tested as a table), from what the database already knows
//! of it (`standings`); only then is anything written (`state::track`).

use std::collections::HashMap;

use sqlx::PgPool;
use uuid::Uuid;

use super::error::StoreResult;
use super::metadata::{Change, Patch};
use super::unnamed;
use crate::github::lookup::OwnedRepository;
use crate::status::Priority;

/// What `add` gives each repository it tracks (`--chunk-size`,
/// `--priority`, `--refresh`/`--no-refresh`); `None` leaves it as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    pub chunk_size: Option<i32>,
    pub priority: Option<Priority>,
    pub keep_current: Option<bool>,
}

impl Settings {
    /// The metadata a backfill is tracked with; `discovered`: started by
    /// `run --discover` rather than by hand.
    pub fn patch(&self, discovered: bool) -> Patch {
        Patch {
            priority: Change::set_or_keep(self.priority),
            no_refresh: Change::set_or_keep(self.keep_current.map(|on| !on)),
            discovered: if discovered { Change::Set(true) } else { Change::Keep },
            ..Patch::default()
        }
    }
}

/// Which of an owner's repositories are tracked: forks and archived ones
/// only when asked, and none with fewer PRs than `min_prs`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filters {
    pub include_forks: bool,
    pub include_archived: bool,
    pub min_prs: i64,
}

/// An owner whose repositories are all tracked, as GitHub spells its login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub login: String,
    pub filters: Filters,
    pub settings: Settings,
}

/// What the database knows of a repository before an owner-wide add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// No backfill (no row at all, or a row another system tracks).
    Untracked,
    /// A backfill, with its repository's id.
    Tracked(Uuid),
    /// Stopped by `backfill remove`, with its repository's id: only a plain
    /// `add OWNER/NAME` brings it back.
    Removed(Uuid),
}

/// What an owner-wide add does with one repository of the listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Track,
    AlreadyTracked(Uuid),
    StaysRemoved,
    Fork,
    Archived,
    FewPrs { prs: i64, min: i64 },
}

impl Verdict {
    /// Left out by the owner's filters.
    pub fn filtered(&self) -> bool {
        matches!(self, Verdict::Fork | Verdict::Archived | Verdict::FewPrs { .. })
    }
}

/// One repository's verdict: what the database knows of it first (a
/// tracked or removed repository stays as it is, whatever the filters),
/// then the filters.
pub fn verdict(repo: &OwnedRepository, filters: &Filters, standing: Standing) -> Verdict {
    let prs = repo.info.pull_request_count;
    match standing {
        Standing::Tracked(id) => Verdict::AlreadyTracked(id),
        Standing::Removed(_) => Verdict::StaysRemoved,
        Standing::Untracked if repo.fork && !filters.include_forks => Verdict::Fork,
        Standing::Untracked if repo.archived && !filters.include_archived => Verdict::Archived,
        Standing::Untracked if prs < filters.min_prs => Verdict::FewPrs { prs, min: filters.min_prs },
        Standing::Untracked => Verdict::Track,
    }
}

/// The verdict of each repository of a listing, in its order.
pub fn plan(listing: &[OwnedRepository], filters: &Filters, standings: &HashMap<i64, Standing>) -> Vec<Verdict> {
    listing
        .iter()
        .map(|repo| {
            let standing = standings.get(&repo.info.github_id).copied().unwrap_or(Standing::Untracked);
            verdict(repo, filters, standing)
        })
        .collect()
}

/// What the database knows of each repository, by GitHub id (which a
/// rename keeps); a repository it has no row of is absent.
pub async fn standings(pool: &PgPool, ids: &[i64]) -> StoreResult<HashMap<i64, Standing>> {
    let mut tx = pool.begin().await?;
    let rows: Vec<(i64, Uuid, bool, bool)> = unnamed::rows(
        "SELECT r.github_id, r.id, \
           EXISTS (SELECT 1 FROM backfill_removals x WHERE x.repository_id = r.id), \
           EXISTS (SELECT 1 FROM progressive_backfill_state s WHERE s.repository_id = r.id) \
         FROM repositories r WHERE r.github_id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|(github_id, id, removed, tracked)| {
            let standing = match (removed, tracked) {
                (true, _) => Standing::Removed(id),
                (false, true) => Standing::Tracked(id),
                (false, false) => Standing::Untracked,
            };
            (github_id, standing)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::github::RepositoryInfo;

    fn repo(id: i64, prs: i64, fork: bool, archived: bool) -> OwnedRepository {
        let name = format!("r{id}");
        OwnedRepository {
            info: RepositoryInfo {
                github_id: id,
                owner: "o".into(),
                full_name: format!("o/{name}"),
                name,
                pull_request_count: prs,
            },
            fork,
            archived,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn an_owners_repositories_are_tracked_unless_known_or_filtered_out() {
        let id = Uuid::from_u128(7);
        let none = Filters::default();
        let all = Filters { include_forks: true, include_archived: true, min_prs: 0 };
        let three = Filters { min_prs: 3, ..none };
        use Standing::{Removed, Tracked, Untracked};
        // (prs, fork, archived, standing, filters) -> verdict
        let cases = [
            ((5, false, false, Untracked, none), Verdict::Track),
            ((0, false, false, Untracked, none), Verdict::Track),
            ((5, true, false, Untracked, none), Verdict::Fork),
            ((5, true, false, Untracked, all), Verdict::Track),
            ((5, false, true, Untracked, none), Verdict::Archived),
            ((5, false, true, Untracked, all), Verdict::Track),
            ((5, true, true, Untracked, none), Verdict::Fork),
            ((5, true, true, Untracked, Filters { include_forks: true, ..none }), Verdict::Archived),
            ((2, false, false, Untracked, three), Verdict::FewPrs { prs: 2, min: 3 }),
            ((3, false, false, Untracked, three), Verdict::Track),
            ((2, true, false, Untracked, three), Verdict::Fork),
            // What is known wins over the filters: a tracked fork stays tracked.
            ((5, false, false, Tracked(id), none), Verdict::AlreadyTracked(id)),
            ((0, true, true, Tracked(id), three), Verdict::AlreadyTracked(id)),
            ((5, false, false, Removed(id), all), Verdict::StaysRemoved),
            ((0, true, false, Removed(id), none), Verdict::StaysRemoved),
        ];
        for ((prs, fork, archived, standing, filters), want) in cases {
            let got = verdict(&repo(1, prs, fork, archived), &filters, standing);
            assert_eq!(got, want, "{prs} PRs, fork {fork}, archived {archived}, {standing:?}, {filters:?}");
            assert_eq!(got.filtered(), matches!(want, Verdict::Fork | Verdict::Archived | Verdict::FewPrs { .. }));
        }
    }

    #[test]
    fn a_plan_keeps_the_listings_order_and_reads_unknown_repositories_as_untracked() {
        let listing = [repo(1, 4, false, false), repo(2, 4, true, false), repo(3, 4, false, false)];
        let known = HashMap::from([(3, Standing::Removed(Uuid::nil())), (9, Standing::Tracked(Uuid::nil()))]);
        let got = plan(&listing, &Filters::default(), &known);
        assert_eq!(got, [Verdict::Track, Verdict::Fork, Verdict::StaysRemoved]);
    }

    #[test]
    fn settings_become_the_backfills_metadata() {
        let cases = [
            (Settings::default(), false, serde_json::json!({})),
            (Settings::default(), true, serde_json::json!({ "discovered": true })),
            (
                Settings { chunk_size: Some(20), priority: Some(Priority::High), keep_current: Some(false) },
                false,
                serde_json::json!({ "priority": "high", "no_refresh": true }),
            ),
            (
                Settings { keep_current: Some(true), ..Settings::default() },
                false,
                serde_json::json!({ "no_refresh": false }),
            ),
        ];
        for (settings, discovered, want) in cases {
            assert_eq!(settings.patch(discovered).set_object(), want, "{settings:?} {discovered}");
        }
    }
}
