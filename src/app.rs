//! The commands: each checks what it needs, does its work, and says which
//! exit code the outcome calls for. Errors of the layers below arrive typed
//! and become an `AppError` in one place each (the `From`s in `exit` and
//! here), and the database URL is scrubbed from every message once, at the end.

use sqlx::PgPool;

use crate::backfill::{self, RunError, RunOptions};
use crate::cli::{Cli, Command, RunArgs};
use crate::config::Config;
use crate::exit::{AppError, Exit};
use crate::github::app::installation_token;
use crate::github::{lookup_repository, ClientSettings, GithubClient, GithubError};
use crate::report::{html, Reporter};
use crate::shutdown::Shutdown;
use crate::status::BackfillStatus;
use crate::store::{self, chunks, state, StoreError};

pub async fn execute(cli: Cli) -> Result<Exit, AppError> {
    let config = cli.config()?;
    let scrub = |e: AppError| AppError { message: store::strip_url(&e.message, &config.database_url), ..e };
    command(&config, cli.command).await.map_err(scrub)
}

async fn command(config: &Config, command: Command) -> Result<Exit, AppError> {
    let mut reporter = Reporter::new(config.verbosity, config.no_progress);
    let pool = store::connect(config.database.clone(), config.route).await?;
    match command {
        Command::Migrate => {
            migrate(config, &pool, &reporter).await?;
            Ok(Exit::Success)
        }
        Command::Add { repository, chunk_size, no_refresh, refresh } => {
            let keep_current = (no_refresh || refresh).then_some(refresh);
            add(config, &pool, &reporter, &repository, chunk_size, keep_current).await
        }
        Command::Run(args) => run(config, &pool, &mut reporter, args).await,
        Command::Status { repository_id, json, html } => {
            status(&pool, &reporter, repository_id.as_deref(), json, html.as_deref()).await
        }
        Command::Pause { id } => set_status(&pool, &reporter, &id, BackfillStatus::Paused).await,
        Command::Resume { id } => set_status(&pool, &reporter, &id, BackfillStatus::Active).await,
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        AppError::failure(e.to_string())
    }
}

impl From<RunError> for AppError {
    fn from(e: RunError) -> AppError {
        match e {
            RunError::Usage(m) => AppError::usage(m),
            RunError::BadCredentials => github_error(GithubError::BadCredentials, ""),
            RunError::Config(m) => AppError::usage(m),
            RunError::GithubDown(_) => AppError::failure(e.to_string()),
            RunError::Store(e) => e.into(),
        }
    }
}

async fn migrate(config: &Config, pool: &PgPool, reporter: &Reporter) -> Result<(), AppError> {
    match store::migrate(pool, config.route).await? {
        0 => reporter.info("the database schema was already up to date"),
        1 => reporter.info("applied 1 migration: the database schema is up to date"),
        n => reporter.info(&format!("applied {n} migrations: the database schema is up to date")),
    }
    Ok(())
}

/// `run`, `add` and `status` need the tables; say how to get them.
async fn require_schema(pool: &PgPool) -> Result<(), AppError> {
    let missing = store::missing_tables(pool).await?;
    match missing.len() {
        0 => Ok(()),
        n if n == store::TABLES.len() => {
            Err(AppError::usage("the database has no backfill tables yet: run `backfill migrate` first"))
        }
        _ => Err(AppError::usage(format!(
            "the database lacks the table(s) {}: run `backfill migrate` first",
            missing.join(", ")
        ))),
    }
}

fn github_error(e: GithubError, what: &str) -> AppError {
    match e {
        GithubError::BadCredentials | GithubError::AppRejected | GithubError::WrongEndpoint => {
            AppError::usage(e.to_string())
        }
        GithubError::NotFound(_) | GithubError::Forbidden(_) => {
            AppError::usage(format!("{what} was not found on GitHub, or the token cannot see it"))
        }
        other => AppError::failure(other.to_string()),
    }
}

/// The GitHub client, with a token or, for a GitHub App, an installation
/// token bought with the App's key.
async fn github_client(
    config: &Config,
    reporter: &Reporter,
    deadline: Option<tokio::time::Instant>,
) -> Result<GithubClient, AppError> {
    let settings = ClientSettings { deadline, ..config.client };
    let installation_token = match &config.app {
        Some(app) => Some(
            installation_token(&config.graphql_url, config.rest_url.as_deref(), app, settings)
                .await
                .map_err(|e| github_error(e, "the GitHub App installation"))?,
        ),
        None => None,
    };
    let token = match &installation_token {
        Some(t) => t.as_str(),
        None => config.token()?,
    };
    let client =
        GithubClient::new(&config.graphql_url, token, settings).map_err(|e| AppError::failure(e.to_string()))?;
    let client = client.with_notifier(reporter.notifier());
    Ok(match &config.rest_url {
        Some(url) => client.with_rest_url(url),
        None => client,
    })
}

async fn add(
    config: &Config,
    pool: &PgPool,
    reporter: &Reporter,
    repository: &str,
    chunk_size: Option<i64>,
    keep_current: Option<bool>,
) -> Result<Exit, AppError> {
    let (owner, name) = repository
        .split_once('/')
        .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| AppError::usage(format!("'{repository}' is not OWNER/NAME")))?;
    let client = github_client(config, reporter, None).await?;
    require_schema(pool).await?;
    let info = lookup_repository(&client, owner, name)
        .await
        .map_err(|e| github_error(e, &format!("repository {repository}")))?;
    let id = state::add_repository(pool, &info, chunk_size.map(|n| n as i32)).await?;
    if let Some(on) = keep_current {
        state::keep_current(pool, id, on).await?;
        let how = if on { "kept current once completed" } else { "left as it is once completed (--no-refresh)" };
        reporter.info(&format!("{}: {how}", info.full_name));
    }
    reporter.info(&format!("tracking {} ({} pull requests)", info.full_name, info.pull_request_count));
    reporter.result(&id.to_string());
    Ok(Exit::Success)
}

async fn run(config: &Config, pool: &PgPool, reporter: &mut Reporter, args: RunArgs) -> Result<Exit, AppError> {
    // Retries never plan past the time budget.
    let deadline = args.time_budget.map(|b| tokio::time::Instant::now() + b);
    let client = github_client(config, reporter, deadline).await?;
    if args.migrate && !store::missing_tables(pool).await?.is_empty() {
        migrate(config, pool, reporter).await?;
    }
    require_schema(pool).await?;
    let options = RunOptions {
        repository: args.repository_id,
        chunk_size: args.chunk_size,
        max_chunks: args.max_chunks,
        time_budget: args.time_budget,
        dry_run: args.dry_run,
        discover: args.discover,
        report_issue: args.report_issue,
        processor_type: config.processor_type,
        lease: args.lease,
    };
    let mut shutdown = Shutdown::listen();
    let summary = backfill::run(pool, &client, &options, reporter, &mut shutdown).await?;
    match summary.interrupted {
        Some(signal) => Err(AppError::failure(format!(
            "interrupted by {signal}: stopped early; what was not committed was rolled back, and the next run continues from the last stored chunk"
        ))),
        None if summary.succeeded() => Ok(Exit::Success),
        None => Ok(Exit::Failure),
    }
}

async fn status(
    pool: &PgPool,
    reporter: &Reporter,
    ident: Option<&str>,
    json: bool,
    html: Option<&std::path::Path>,
) -> Result<Exit, AppError> {
    require_schema(pool).await?;
    let mut rows = state::statuses(pool, ident).await?;
    if let (Some(ident), true) = (ident, rows.is_empty()) {
        return Err(AppError::usage(format!("no backfill for '{ident}': start one with `backfill add OWNER/NAME`")));
    }
    let now = chrono::Utc::now();
    let mut progress = Vec::new();
    for row in &mut rows {
        let p = store::progress::of_repository(pool, row.repository_id).await?;
        let (chunks, per_pr, budget) =
            p.as_ref().map_or((&[][..], None, None), |p| (&p.chunks[..], p.points_per_pr, p.budget));
        row.set_eta(chunks, per_pr, budget.map(|b| b.limit), now);
        progress.push(p);
    }
    if let Some(path) = html {
        let pages: Vec<html::PageBackfill> = (rows.iter().zip(&progress))
            .map(|(line, p)| html::PageBackfill {
                line,
                priority: p.as_ref().map_or("normal", |p| p.priority.as_str()),
                chunks: p.as_ref().map_or(&[], |p| &p.chunks),
            })
            .collect();
        let page = html::page(&pages, html::latest_budget(progress.iter().flatten().filter_map(|p| p.budget)), now);
        std::fs::write(path, page)
            .map_err(|e| AppError::usage(format!("cannot write the HTML page {}: {e}", path.display())))?;
        reporter.info(&format!("wrote {}", path.display()));
    }
    if json {
        let text = serde_json::to_string(&rows).map_err(|e| AppError::failure(e.to_string()))?;
        reporter.result(&text);
        return Ok(Exit::Success);
    }
    if rows.is_empty() {
        reporter.info("no backfills yet: start one with `backfill add OWNER/NAME`");
        return Ok(Exit::Success);
    }
    reporter.result(&crate::report::status_table(&rows));
    Ok(Exit::Success)
}

async fn set_status(pool: &PgPool, reporter: &Reporter, ident: &str, status: BackfillStatus) -> Result<Exit, AppError> {
    require_schema(pool).await?;
    let backfill =
        state::find(pool, ident).await?.ok_or_else(|| AppError::usage(format!("no backfill for '{ident}'")))?;
    let now = chunks::set_status_by_hand(pool, backfill.id, status).await?;
    reporter.info(&format!("{}: {now}", backfill.full_name));
    Ok(Exit::Success)
}
