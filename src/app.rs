//! The commands: each checks what it needs, does its work, and says which
//! exit code the outcome calls for. Errors of the layers below arrive typed
//! and become an `AppError` in one place each (the `From`s in `exit` and
//! here), and the database URL is scrubbed from every message once, at the end.

mod add;
mod setup;
mod verify;

use sqlx::PgPool;

use crate::backfill::{self, RunError, RunOptions};
use crate::cli::{Cli, Command, HistoryArgs, RunArgs, StatusArgs};
use crate::config::Config;
use crate::exit::{AppError, Exit};
use crate::report::{self, html, ChunkPoint, Reporter};
use crate::shutdown::Shutdown;
use crate::status::{BackfillStatus, Priority};
use crate::store::owners::{self, Stop};
use crate::store::{self, history, pause, state, tracking, StoreError};
use setup::{backfill_named, github_clients, require_schema, tracked};

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
            migrate_and_recount(config, &pool, &reporter).await?;
            Ok(Exit::Success)
        }
        Command::Add(args) => add::add(config, &pool, &reporter, args).await,
        Command::Run(args) => run(config, &pool, &mut reporter, args).await,
        Command::Status(args) => status(&pool, &reporter, args).await,
        Command::Pause { id } => set_status(&pool, &reporter, &id, BackfillStatus::Paused).await,
        Command::Resume { id } => set_status(&pool, &reporter, &id, BackfillStatus::Active).await,
        Command::History(args) => show_history(&pool, &reporter, args).await,
        Command::Priority { id, level } => set_priority(&pool, &reporter, &id, level).await,
        Command::Remove { id, purge } => remove(&pool, &reporter, &id, purge).await,
        Command::Verify(args) => verify::verify(config, &pool, &reporter, args).await,
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
            RunError::BadCredentials(m) => AppError::usage(m),
            RunError::Config(m) => AppError::usage(m),
            RunError::GithubDown(_) => AppError::failure(e.to_string()),
            RunError::Store(e) => e.into(),
        }
    }
}

async fn migrate(config: &Config, pool: &PgPool, reporter: &Reporter) -> Result<(), AppError> {
    let migrated = store::migrate(pool, config.route).await?;
    for name in &migrated.rebuilt {
        reporter.info(&format!("rebuilt the index {name}, which an interrupted build had left invalid"));
    }
    match migrated.applied {
        0 => reporter.info("the database schema was already up to date"),
        1 => reporter.info("applied 1 migration: the database schema is up to date"),
        n => reporter.info(&format!("applied {n} migrations: the database schema is up to date")),
    }
    Ok(())
}

/// `backfill migrate`, the command: the migrations, then the figures the
/// commits keep by arithmetic recounted once (`store::repair`), each one
/// that was wrong named.
async fn migrate_and_recount(config: &Config, pool: &PgPool, reporter: &Reporter) -> Result<(), AppError> {
    migrate(config, pool, reporter).await?;
    for fix in store::repair::recount_all(pool).await? {
        reporter.info(&fix.to_string());
    }
    Ok(())
}

async fn run(config: &Config, pool: &PgPool, reporter: &mut Reporter, args: RunArgs) -> Result<Exit, AppError> {
    // Retries never plan past the time budget.
    let deadline = args.time_budget.map(|b| tokio::time::Instant::now() + b);
    let clients = github_clients(config, reporter, deadline).await?;
    if args.migrate && !store::missing_tables(pool).await?.is_empty() {
        migrate(config, pool, reporter).await?;
    }
    require_schema(pool).await?;
    clients.seed(&store::credentials::kept(pool).await?);
    let options = RunOptions {
        repository: args.repository_id,
        chunk_size: args.chunk_size,
        max_chunks: args.max_chunks,
        max_chunks_total: args.max_chunks_total,
        time_budget: args.time_budget,
        dry_run: args.dry_run,
        discover: args.discover,
        report_issue: args.report_issue,
        processor_type: config.processor_type,
        lease: args.lease,
        audit: args.audit,
    };
    let mut shutdown = Shutdown::listen();
    let summary = backfill::run(pool, &clients, &options, reporter, &mut shutdown).await;
    // What each credential has left, whatever became of the run: the next
    // run starts from it.
    let credentials = clients.credentials();
    let kept = store::credentials::keep(pool, &credentials).await;
    let summary = summary?;
    kept?;
    reporter.credentials(&credentials, clients.reserve());
    match summary.interrupted {
        Some(signal) => Err(AppError::failure(format!(
            "interrupted by {signal}: stopped early; what was not committed was rolled back, and the next run continues from the last stored chunk"
        ))),
        None if summary.succeeded() => Ok(Exit::Success),
        None => Ok(Exit::Failure),
    }
}

async fn status(pool: &PgPool, reporter: &Reporter, args: StatusArgs) -> Result<Exit, AppError> {
    require_schema(pool).await?;
    let ident = args.repository_id.as_deref();
    let mut rows = state::statuses(pool, ident).await?;
    if let (Some(ident), true) = (ident, rows.is_empty()) {
        return Err(AppError::usage(format!("no backfill for '{ident}': start one with `backfill add OWNER/NAME`")));
    }
    let now = chrono::Utc::now();
    let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.repository_id).collect();
    let mut read: std::collections::HashMap<uuid::Uuid, store::progress::Progress> =
        store::progress::of_repositories(pool, &ids).await?.into_iter().map(|p| (p.repository_id, p)).collect();
    let mut progress: Vec<Option<store::progress::Progress>> =
        rows.iter().map(|r| read.remove(&r.repository_id)).collect();
    for (row, p) in rows.iter_mut().zip(&progress) {
        let (chunks, per_pr, budget) =
            p.as_ref().map_or((&[][..], None, None), |p| (&p.chunks[..], p.points_per_pr, p.budget));
        row.set_eta(chunks, per_pr, budget.map(|b| b.limit), now);
    }
    let mut audited = store::verify::last_audits(pool, &ids).await?;
    for row in rows.iter_mut() {
        row.audited = audited.remove(&row.repository_id);
    }
    let chunks: Vec<&[ChunkPoint]> = progress.iter().map(|p| p.as_ref().map_or(&[][..], |p| &p.chunks[..])).collect();
    let fleet = report::stand_all(&mut rows, &chunks);
    let tracked = rows.len();
    if args.attention {
        // Most urgent first, as listed.
        let mut kept: Vec<_> = rows.into_iter().zip(progress).filter(|(r, _)| r.needs_attention()).collect();
        kept.sort_by_key(|(r, _)| r.standing);
        (rows, progress) = kept.into_iter().unzip();
    }
    let credentials = store::credentials::kept(pool).await?;
    if let Some(path) = &args.html {
        let pages: Vec<html::PageBackfill> = (rows.iter().zip(&progress))
            .map(|(line, p)| html::PageBackfill { line, chunks: p.as_ref().map_or(&[], |p| &p.chunks) })
            .collect();
        let budget = html::latest_budget(progress.iter().flatten().filter_map(|p| p.budget));
        let page = html::page(&pages, budget, &credentials, now);
        std::fs::write(path, page)
            .map_err(|e| AppError::usage(format!("cannot write the HTML page {}: {e}", path.display())))?;
        reporter.info(&format!("wrote {}", path.display()));
    }
    if args.json {
        let text = serde_json::to_string(&rows).map_err(|e| AppError::failure(e.to_string()))?;
        reporter.result(&text);
        return Ok(Exit::Success);
    }
    match (rows.is_empty(), args.attention) {
        (true, true) if tracked > 0 => {
            reporter.info(&format!("no backfill needs attention ({tracked} tracked: {})", fleet.rest_words()))
        }
        (true, _) => reporter.info("no backfill is tracked: start one with `backfill add OWNER/NAME`"),
        (false, false) => {
            reporter.result(&report::status_table(&rows));
            for c in &credentials {
                reporter.info(&format!("credential {}", report::credential_text(c, now)));
            }
        }
        (false, true) => {
            reporter.result(&report::attention_table(&rows));
            if let Some(rest) = fleet.rest_sentence() {
                reporter.info(&rest);
            }
        }
    }
    Ok(Exit::Success)
}

async fn set_status(pool: &PgPool, reporter: &Reporter, ident: &str, status: BackfillStatus) -> Result<Exit, AppError> {
    require_schema(pool).await?;
    let backfill = tracked(backfill_named(pool, ident).await?)?;
    let now = pause::set_status_by_hand(pool, backfill.id, status).await?;
    reporter.info(&format!("{}: {now}", backfill.full_name));
    Ok(Exit::Success)
}

async fn set_priority(pool: &PgPool, reporter: &Reporter, ident: &str, level: Priority) -> Result<Exit, AppError> {
    require_schema(pool).await?;
    let backfill = tracked(backfill_named(pool, ident).await?)?;
    tracking::set_priority(pool, backfill.repository_id, level).await?;
    reporter.info(&format!("{}: priority {level}", backfill.full_name));
    Ok(Exit::Success)
}

/// Asks nothing (CI runs it), and again is harmless: a backfill removed
/// already is said to be so, with exit 0.
async fn remove(pool: &PgPool, reporter: &Reporter, ident: &str, purge: bool) -> Result<Exit, AppError> {
    if let Some(login) = ident.strip_suffix("/*") {
        return stop_owner(pool, reporter, login, purge).await;
    }
    require_schema(pool).await?;
    let Some(backfill) = state::find(pool, ident).await? else {
        return match tracking::removed(pool, ident).await? {
            Some((name, _)) => {
                reporter.info(&format!("{name}: already removed and purged"));
                Ok(Exit::Success)
            }
            None => Err(AppError::usage(format!("no backfill for '{ident}'"))),
        };
    };
    tracking::remove(pool, backfill.repository_id, backfill.id, purge).await?;
    let name = &backfill.full_name;
    let what = if purge { ", its chunk rows and state deleted" } else { "" };
    reporter.info(&format!(
        "{name}: removed{what}: no run takes it from now on; its {} stored PRs stay (`backfill add {name}` tracks it again)",
        backfill.processed_prs
    ));
    Ok(Exit::Success)
}

/// `remove 'OWNER/*'`: `run --discover` tracks no new repository of the
/// owner; the backfills it started stay, each removed on its own if wanted.
async fn stop_owner(pool: &PgPool, reporter: &Reporter, login: &str, purge: bool) -> Result<Exit, AppError> {
    if purge {
        return Err(AppError::usage(format!(
            "--purge is for one backfill: `backfill remove '{login}/*'` stops following the owner, and its backfills stay"
        )));
    }
    require_schema(pool).await?;
    match owners::stop(pool, login).await? {
        Stop::Unknown => Err(AppError::usage(format!(
            "'{login}/*' was never added: `backfill add '{login}/*'` tracks every repository of {login}"
        ))),
        Stop::Stopped { login, already: true, .. } => {
            reporter.info(&format!("{login}/*: already stopped"));
            Ok(Exit::Success)
        }
        Stop::Stopped { login, already: false, backfills } => {
            reporter.info(&format!(
                "{login}/*: stopped: `run --discover` tracks no new repository of {login}; its {backfills} backfill(s) stay \
                 (`backfill remove OWNER/NAME` stops one)"
            ));
            Ok(Exit::Success)
        }
    }
}

/// Verifications `history` lists under the chunks.
const VERIFICATIONS_SHOWN: u32 = 10;

async fn show_history(pool: &PgPool, reporter: &Reporter, args: HistoryArgs) -> Result<Exit, AppError> {
    require_schema(pool).await?;
    let backfill = backfill_named(pool, &args.id).await?;
    let rows = history::chunks(pool, backfill.id, args.failed, args.limit).await?;
    if args.json {
        for row in &rows {
            reporter.result(&serde_json::to_string(row).map_err(|e| AppError::failure(e.to_string()))?);
        }
        return Ok(Exit::Success);
    }
    let header = history::header(pool, &backfill).await?;
    let table = match (rows.is_empty(), args.failed) {
        (true, true) => "no failed chunk".to_string(),
        (true, false) => "no chunk yet".to_string(),
        (false, _) => crate::report::history_table(&rows),
    };
    reporter.result(&format!("{}\n{table}", crate::report::history_header(&header, chrono::Utc::now())));
    // What the verifies and the rolling audit found, newest first.
    let verified = store::verify::recent(pool, backfill.id, VERIFICATIONS_SHOWN).await?;
    if !verified.is_empty() {
        reporter.result(&format!("\n{}", report::verifications_table(&verified)));
    }
    Ok(Exit::Success)
}
