//! `add`: one repository, as it always was (its id alone on stdout, for
//! scripts and the action), or several and whole owners (`OWNER/*`) at
//! once, one line for each repository and a total. What an owner-wide add
//! does with each repository of the owner's listing is planned first
//! (`store::fleet::plan`), then written, one repository at a time: a
//! failure halfway leaves the repositories before it tracked, and running
//! the add again tracks the rest.

use sqlx::PgPool;
use uuid::Uuid;

use super::setup::{github_clients, github_error, require_schema};
use crate::cli::{AddArgs, Target};
use crate::config::Config;
use crate::exit::{AppError, Exit};
use crate::github::error::Blame;
use crate::github::lookup::{list_repositories, OwnerListing};
use crate::github::{lookup_repository, Clients, GithubError, RepositoryInfo};
use crate::report::Reporter;
use crate::store::fleet::{self, Filters, Owner, Settings, Standing, Verdict};
use crate::store::{owners, state, tracking};

pub(super) async fn add(config: &Config, pool: &PgPool, reporter: &Reporter, args: AddArgs) -> Result<Exit, AppError> {
    let settings = Settings {
        chunk_size: args.chunk_size.map(|n| n as i32),
        priority: args.priority,
        keep_current: (args.no_refresh || args.refresh).then_some(args.refresh),
    };
    let filters = Filters {
        include_forks: args.include_forks,
        include_archived: args.include_archived,
        min_prs: i64::from(args.min_prs),
    };
    let mut targets: Vec<Target> = Vec::new();
    for target in args.targets {
        if !targets.iter().any(|t| t.same_as(&target)) {
            targets.push(target);
        }
    }
    let clients = github_clients(config, reporter, None).await?;
    require_schema(pool).await?;
    if let [Target::Repository { owner, name }] = targets.as_slice() {
        return one(pool, reporter, &clients, (owner, name), &settings).await;
    }
    let mut fleet = Fleet { pool, reporter, settings, filters, total: Total::default() };
    for target in &targets {
        let found = match target {
            Target::Repository { owner, name } => fleet.named(&clients, owner, name).await?,
            Target::Owner(login) => fleet.owner(&clients, login).await?,
        };
        // One target that cannot be tracked: as for one repository since
        // ever, a usage error, and nothing was written.
        let alone = targets.len() == 1;
        match found {
            Found::Yes => {}
            Found::Missing if alone => {
                return Err(AppError::usage(format!("{target} was not found on GitHub, or the token cannot see it")))
            }
            Found::NotInstalled(e) if alone => return Err(AppError::usage(e.to_string())),
            Found::Missing => {
                reporter.result(&format!("{target}: not found on GitHub, or the token cannot see it"));
                fleet.total.missing.push(target.to_string());
            }
            Found::NotInstalled(e) => {
                reporter.result(&format!("{target}: {e}"));
                fleet.total.uninstalled.push(target.to_string());
            }
        }
    }
    reporter.result(&fleet.total.line());
    let total = &fleet.total;
    if total.missing.is_empty() && total.uninstalled.is_empty() {
        return Ok(Exit::Success);
    }
    let mut left_out = Vec::new();
    if !total.missing.is_empty() {
        left_out.push(format!("not found on GitHub, or the token cannot see it: {}", total.missing.join(", ")));
    }
    if !total.uninstalled.is_empty() {
        left_out.push(format!("the GitHub App is not installed on: {}", total.uninstalled.join(", ")));
    }
    Err(AppError::failure(format!("{}; the others are tracked", left_out.join("; "))))
}

/// What the database knew of a named repository before `add` tracked it.
enum Before {
    New,
    Tracked,
    Removed { purged: bool },
}

/// Tracks a repository named by hand: a removed one is tracked again.
async fn track_named(pool: &PgPool, info: &RepositoryInfo, settings: &Settings) -> Result<(Uuid, Before), AppError> {
    let before = match fleet::standings(pool, &[info.github_id]).await?.get(&info.github_id) {
        Some(Standing::Tracked(_)) => Before::Tracked,
        Some(Standing::Removed(id)) => {
            let purged = tracking::removed(pool, &id.to_string()).await?.is_some_and(|(_, purged)| purged);
            Before::Removed { purged }
        }
        Some(Standing::Untracked) | None => Before::New,
    };
    let id = state::track(pool, info, settings.chunk_size, &settings.patch(false)).await?;
    Ok((id, before))
}

/// One OWNER/NAME: what it printed before fleets, line for line.
async fn one(
    pool: &PgPool,
    reporter: &Reporter,
    clients: &Clients,
    (owner, name): (&str, &str),
    settings: &Settings,
) -> Result<Exit, AppError> {
    let what = format!("repository {owner}/{name}");
    let client = clients.for_repository(owner, name).await.map_err(|e| github_error(e, &what))?;
    let info = lookup_repository(&client, owner, name).await.map_err(|e| github_error(e, &what))?;
    let (id, before) = track_named(pool, &info, settings).await?;
    let full_name = &info.full_name;
    match before {
        Before::Removed { purged: false } => {
            reporter.info(&format!("{full_name}: removed before; tracked again from where it stopped"))
        }
        Before::Removed { purged: true } => reporter.info(&format!(
            "{full_name}: removed and purged before; tracked again from the first PR (the PRs stored are kept and refreshed)"
        )),
        Before::New | Before::Tracked => {}
    }
    if let Some(priority) = settings.priority {
        reporter.info(&format!("{full_name}: priority {priority}"));
    }
    if let Some(on) = settings.keep_current {
        let how = if on { "kept current once completed" } else { "left as it is once completed (--no-refresh)" };
        reporter.info(&format!("{full_name}: {how}"));
    }
    reporter.info(&format!("tracking {full_name} ({} pull requests)", info.pull_request_count));
    reporter.result(&id.to_string());
    Ok(Exit::Success)
}

/// The repositories' lines so far, counted for the total.
#[derive(Default)]
struct Total {
    tracked: usize,
    already: usize,
    skipped: usize,
    missing: Vec<String>,
    uninstalled: Vec<String>,
}

impl Total {
    fn line(&self) -> String {
        let mut missing = match self.missing.len() {
            0 => String::new(),
            n => format!(", {n} not found"),
        };
        if !self.uninstalled.is_empty() {
            missing += &format!(", {} where the App is not installed", self.uninstalled.len());
        }
        format!(
            "total: {} tracked now, {} already tracked, {} skipped{missing}",
            self.tracked, self.already, self.skipped
        )
    }
}

struct Fleet<'a> {
    pool: &'a PgPool,
    reporter: &'a Reporter,
    settings: Settings,
    filters: Filters,
    total: Total,
}

/// Whether a target of several could be looked up.
enum Found {
    Yes,
    /// GitHub has no such repository or owner, or hides it from the token.
    Missing,
    /// The App serving each owner by its installation is not installed on
    /// this one.
    NotInstalled(GithubError),
}

/// A failure that concerns the target alone leaves it out (the others are
/// still tracked); any other failure stops the add.
fn absent(e: GithubError, what: &str) -> Result<Found, AppError> {
    if let GithubError::NotInstalled { .. } = e {
        return Ok(Found::NotInstalled(e));
    }
    match e.meaning().blame {
        Blame::Repository => Ok(Found::Missing),
        Blame::Credential | Blame::Setting | Blame::Github | Blame::RateLimit { .. } | Blame::Backfill => {
            Err(github_error(e, what))
        }
    }
}

impl Fleet<'_> {
    /// OWNER/NAME among others: tracked as by itself, on one line.
    async fn named(&mut self, clients: &Clients, owner: &str, name: &str) -> Result<Found, AppError> {
        let what = format!("repository {owner}/{name}");
        let client = match clients.for_repository(owner, name).await {
            Ok(client) => client,
            Err(e) => return absent(e, &what),
        };
        let info = match lookup_repository(&client, owner, name).await {
            Ok(info) => info,
            Err(e) => return absent(e, &what),
        };
        let (id, before) = track_named(self.pool, &info, &self.settings).await?;
        let what = match before {
            Before::New => format!("tracked now, {}", prs(info.pull_request_count)),
            Before::Tracked => "already tracked".to_string(),
            Before::Removed { purged: false } => "removed before; tracked again from where it stopped".to_string(),
            Before::Removed { purged: true } => {
                "removed and purged before; tracked again from the first PR".to_string()
            }
        };
        match before {
            Before::Tracked => self.total.already += 1,
            Before::New | Before::Removed { .. } => self.total.tracked += 1,
        }
        self.reporter.result(&format!("{}: {what} (id {id})", info.full_name));
        Ok(Found::Yes)
    }

    /// OWNER/*: every repository of the owner's listing, by the filters,
    /// and the owner remembered for `run --discover`.
    async fn owner(&mut self, clients: &Clients, login: &str) -> Result<Found, AppError> {
        let client = match clients.for_owner(login).await {
            Ok(client) => client,
            Err(e) => return absent(e, &format!("owner {login}")),
        };
        let listing = match list_repositories(&client, login).await {
            Ok(listing) => listing,
            Err(e) => return absent(e, &format!("owner {login}")),
        };
        let standings = fleet::standings(self.pool, &listing.ids()).await?;
        let verdicts = fleet::plan(&listing.repositories, &self.filters, &standings);
        for (repo, verdict) in listing.repositories.iter().zip(&verdicts) {
            let line = self.apply(&repo.info, *verdict).await?;
            self.reporter.result(&line);
        }
        let owner = Owner { login: listing.login.clone(), filters: self.filters, settings: self.settings };
        owners::follow(self.pool, &owner).await?;
        self.reporter.info(&summary(&listing, &verdicts));
        Ok(Found::Yes)
    }

    /// Writes one verdict of an owner's listing; its line.
    async fn apply(&mut self, info: &RepositoryInfo, verdict: Verdict) -> Result<String, AppError> {
        let name = &info.full_name;
        let what = match verdict {
            Verdict::Track => {
                let id = state::track(self.pool, info, self.settings.chunk_size, &self.settings.patch(false)).await?;
                self.total.tracked += 1;
                return Ok(format!("{name}: tracked now, {} (id {id})", prs(info.pull_request_count)));
            }
            Verdict::AlreadyTracked(id) => {
                self.total.already += 1;
                return Ok(format!("{name}: already tracked, left as it is (id {id})"));
            }
            Verdict::StaysRemoved => {
                format!("removed with `backfill remove`, and stays removed (`backfill add {name}` tracks it again)")
            }
            Verdict::Fork => "a fork (--include-forks tracks it)".to_string(),
            Verdict::Archived => "archived (--include-archived tracks it)".to_string(),
            Verdict::FewPrs { prs: n, min } => format!("{}, fewer than --min-prs {min}", prs(n)),
        };
        self.total.skipped += 1;
        Ok(format!("{name}: skipped: {what}"))
    }
}

fn prs(n: i64) -> String {
    match n {
        1 => "1 PR".to_string(),
        n => format!("{n} PRs"),
    }
}

/// The owner's line on stderr: what its listing held, and what comes next.
fn summary(listing: &OwnerListing, verdicts: &[Verdict]) -> String {
    let filtered = verdicts.iter().filter(|v| v.filtered()).count();
    let removed = verdicts.iter().filter(|v| matches!(v, Verdict::StaysRemoved)).count();
    format!(
        "{}/*: {} repositories on GitHub ({filtered} left out by the filters, {removed} removed before); \
         `run --discover` tracks the ones created from now on",
        listing.login,
        listing.repositories.len()
    )
}
