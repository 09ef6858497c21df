//! The commands: each checks what it needs, does its work, and says which
//! exit code the outcome calls for.

use sqlx::PgPool;

use crate::backfill::{self, RunError, RunOptions};
use crate::cli::{Cli, Command, RunArgs};
use crate::config::Config;
use crate::exit::{AppError, Exit};
use crate::github::app::installation_token;
use crate::github::{lookup_repository, ClientSettings, GithubClient, GithubError};
use crate::report::Reporter;
use crate::shutdown::Shutdown;
use crate::store::{self, chunks, state};

pub async fn execute(cli: Cli) -> Result<Exit, AppError> {
    let config = Config::from_cli(&cli)?;
    let mut reporter = Reporter::new(config.verbosity, config.no_progress);
    let pool = connect(&config).await?;
    match cli.command {
        Command::Migrate => {
            store::migrate(&pool, config.route).await.map_err(|e| database_error(&config, &e.to_string()))?;
            reporter.info("database schema is up to date");
            Ok(Exit::Success)
        }
        Command::Add { repository, chunk_size } => add(&config, &pool, &reporter, &repository, chunk_size).await,
        Command::Run(args) => run(&config, &pool, &mut reporter, args).await,
        Command::Status { repository_id, json } => {
            status(&config, &pool, &reporter, repository_id.as_deref(), json).await
        }
        Command::Pause { id } => set_status(&config, &pool, &reporter, &id, "paused").await,
        Command::Resume { id } => set_status(&config, &pool, &reporter, &id, "active").await,
    }
}

async fn connect(config: &Config) -> Result<PgPool, AppError> {
    store::connect(config.database.clone(), config.route).await.map_err(|e| {
        AppError::failure(format!(
            "cannot connect to PostgreSQL: {}",
            store::strip_url(&flat(&e.to_string()), &config.database_url)
        ))
    })
}

fn flat(s: &str) -> String {
    crate::github::client::one_line(s)
}

fn database_error(config: &Config, message: &str) -> AppError {
    AppError::failure(format!("database error: {}", store::strip_url(&flat(message), &config.database_url)))
}

/// `run`, `add` and `status` need the tables; say how to get them.
async fn require_schema(config: &Config, pool: &PgPool) -> Result<(), AppError> {
    let missing = store::missing_tables(pool).await.map_err(|e| database_error(config, &e.to_string()))?;
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
        GithubError::BadCredentials | GithubError::AppRejected => AppError::usage(e.to_string()),
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
) -> Result<Exit, AppError> {
    let (owner, name) = repository
        .split_once('/')
        .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| AppError::usage(format!("'{repository}' is not OWNER/NAME")))?;
    let client = github_client(config, reporter, None).await?;
    require_schema(config, pool).await?;
    let info = lookup_repository(&client, owner, name)
        .await
        .map_err(|e| github_error(e, &format!("repository {repository}")))?;
    let id = state::add_repository(pool, &info, chunk_size.map(|n| n as i32))
        .await
        .map_err(|e| database_error(config, &e.to_string()))?;
    reporter.info(&format!("tracking {} ({} pull requests)", info.full_name, info.pull_request_count));
    reporter.result(&id.to_string());
    Ok(Exit::Success)
}

async fn run(config: &Config, pool: &PgPool, reporter: &mut Reporter, args: RunArgs) -> Result<Exit, AppError> {
    // Retries never plan past the time budget.
    let deadline = args.time_budget.map(|b| tokio::time::Instant::now() + b);
    let client = github_client(config, reporter, deadline).await?;
    require_schema(config, pool).await?;
    let options = RunOptions {
        repository: args.repository_id,
        chunk_size: args.chunk_size,
        max_chunks: args.max_chunks,
        time_budget: args.time_budget,
        dry_run: args.dry_run,
        discover: args.discover,
        report_issue: args.report_issue,
        processor_type: config.processor_type,
    };
    let mut shutdown = Shutdown::listen();
    match backfill::run(pool, &client, &options, reporter, &mut shutdown).await {
        Ok(summary) if summary.interrupted.is_some() => Err(AppError::failure(format!(
            "interrupted by {}: stopped early; what was not committed was rolled back, and the next run continues from the last stored chunk",
            summary.interrupted.unwrap_or("a signal")
        ))),
        Ok(summary) if summary.succeeded() => Ok(Exit::Success),
        Ok(_) => Ok(Exit::Failure),
        Err(RunError::Usage(m)) => Err(AppError::usage(m)),
        Err(RunError::Chunk(backfill::chunk::ChunkError::BadCredentials)) => {
            Err(github_error(GithubError::BadCredentials, ""))
        }
        Err(RunError::Chunk(backfill::chunk::ChunkError::Database(e))) if store::is_connection_lost(&e) => {
            Err(AppError::failure(format!(
                "lost the connection to PostgreSQL ({}): what was not committed was rolled back, and the next run continues from the last stored chunk",
                store::strip_url(&flat(&e.to_string()), &config.database_url)
            )))
        }
        Err(RunError::Chunk(backfill::chunk::ChunkError::Database(e))) => Err(database_error(config, &e.to_string())),
    }
}

async fn status(
    config: &Config,
    pool: &PgPool,
    reporter: &Reporter,
    ident: Option<&str>,
    json: bool,
) -> Result<Exit, AppError> {
    require_schema(config, pool).await?;
    let rows = state::statuses(pool, ident).await.map_err(|e| database_error(config, &e.to_string()))?;
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

async fn set_status(
    config: &Config,
    pool: &PgPool,
    reporter: &Reporter,
    ident: &str,
    status: &str,
) -> Result<Exit, AppError> {
    require_schema(config, pool).await?;
    let backfill = state::find(pool, ident)
        .await
        .map_err(|e| database_error(config, &e.to_string()))?
        .ok_or_else(|| AppError::usage(format!("no backfill for '{ident}'")))?;
    chunks::set_status_by_hand(pool, backfill.id, status).await.map_err(|e| database_error(config, &e.to_string()))?;
    reporter.info(&format!("{}: {status}", backfill.full_name));
    Ok(Exit::Success)
}
