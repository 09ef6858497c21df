//! Flags, each also read from the environment (what a workflow sets).

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Config};
use crate::exit::AppError;
use crate::store::Route;

#[derive(Debug, Parser)]
#[command(
    name = "backfill",
    version,
    about = "Backfill GitHub pull-request history into PostgreSQL, one atomic chunk at a time"
)]
pub struct Cli {
    /// PostgreSQL connection URL.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// GitHub token (personal, fine-grained or the workflow's); never printed.
    #[arg(long, env = "GITHUB_TOKEN", global = true, hide_env_values = true, value_name = "TOKEN")]
    pub github_token: Option<String>,

    /// GitHub App id: authenticate as the App's installation instead of with a token.
    #[arg(long, env = "GITHUB_APP_ID", global = true, value_name = "ID")]
    pub app_id: Option<String>,

    /// The App's private key, as PEM text or the path of a PEM file; never printed.
    #[arg(long, env = "GITHUB_APP_PRIVATE_KEY", global = true, hide_env_values = true, value_name = "PEM")]
    pub app_private_key: Option<String>,

    /// The App installation (on the repositories' owner) to act as.
    #[arg(long, env = "GITHUB_APP_INSTALLATION_ID", global = true, value_name = "ID")]
    pub app_installation_id: Option<String>,

    /// GitHub GraphQL endpoint (GitHub Actions sets it for Enterprise Server).
    #[arg(
        long,
        env = "GITHUB_GRAPHQL_URL",
        global = true,
        value_name = "URL",
        default_value = "https://api.github.com/graphql"
    )]
    pub graphql_url: String,

    /// Show each chunk's requests, cost and remaining budget.
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Only warnings and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Plain log lines instead of progress bars, even on a terminal.
    #[arg(long, env = "BACKFILL_NO_PROGRESS", global = true)]
    pub no_progress: bool,

    /// DATABASE_URL is a transaction-mode pooler (PgBouncer, Supabase port 6543):
    /// no cached prepared statements, no session lock for migrations.
    #[arg(long, env = "BACKFILL_TRANSACTION_POOLER", global = true)]
    pub transaction_pooler: bool,

    /// Least time between two GitHub requests (0s: no spacing).
    #[arg(long, env = "BACKFILL_REQUEST_INTERVAL", global = true, value_name = "DURATION", default_value = "250ms", value_parser = interval)]
    pub request_interval: Duration,

    /// Retries of one failed GitHub request (timeouts, 5xx, secondary limits).
    #[arg(long, env = "BACKFILL_MAX_RETRIES", global = true, value_name = "N", default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=20))]
    pub max_retries: u32,

    /// First wait after a failed GitHub request; doubles with each failure in a row.
    #[arg(long, env = "BACKFILL_RETRY_DELAY", global = true, value_name = "DURATION", default_value = "1s", value_parser = interval)]
    pub retry_delay: Duration,

    /// GitHub's secondary limit of GraphQL points per minute for one token.
    #[arg(long, env = "BACKFILL_POINTS_PER_MINUTE", global = true, value_name = "N", default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(10..=100_000))]
    pub points_per_minute: u32,

    /// How many runners share this token (a matrix on one token): each keeps
    /// to its share of the points per minute, so that together they stay under.
    #[arg(long, env = "BACKFILL_RUNNERS_PER_TOKEN", global = true, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runners_per_token: u32,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the tables (safe to run again, and on a database that has them).
    Migrate,
    /// Start backfilling a repository: look it up on GitHub and track it.
    Add {
        /// The repository, as OWNER/NAME.
        repository: String,
        /// A fixed chunk size for this repository (5-50).
        #[arg(long, value_name = "N", value_parser = chunk_size)]
        chunk_size: Option<i64>,
        /// Once completed, leave the backfill as it is: no sweeps for changed
        /// PRs (for when another system keeps recent PRs current).
        #[arg(long, env = "BACKFILL_NO_REFRESH", conflicts_with = "refresh")]
        no_refresh: bool,
        /// Keep a completed backfill current again (the default).
        #[arg(long)]
        refresh: bool,
    },
    /// Process backfills: by default one chunk each, then exit.
    Run(RunArgs),
    /// One line per backfill.
    Status {
        /// A repositories.id UUID or OWNER/NAME.
        #[arg(long, value_name = "ID")]
        repository_id: Option<String>,
        /// One JSON array of all the backfills instead of a table.
        #[arg(long)]
        json: bool,
        /// Also write one self-contained HTML page: progress, ETA, charts, failed chunks.
        #[arg(long, env = "BACKFILL_STATUS_HTML", value_name = "FILE")]
        html: Option<std::path::PathBuf>,
    },
    /// Stop scheduled runs from taking a backfill.
    Pause {
        /// A repositories.id UUID or OWNER/NAME.
        id: String,
    },
    /// Let scheduled runs take a paused or failed backfill again.
    Resume {
        /// A repositories.id UUID or OWNER/NAME.
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Only this backfill: a repositories.id UUID or OWNER/NAME.
    #[arg(long, env = "BACKFILL_REPOSITORY_ID", value_name = "ID")]
    pub repository_id: Option<String>,

    /// PRs per chunk (5-50), overriding the planner.
    #[arg(long, env = "BACKFILL_CHUNK_SIZE", value_name = "N", value_parser = chunk_size)]
    pub chunk_size: Option<i64>,

    /// Chunks per backfill (default 1; unlimited with --time-budget).
    #[arg(long, env = "BACKFILL_MAX_CHUNKS", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_chunks: Option<u32>,

    /// Keep taking chunks for this long, e.g. 25m.
    #[arg(long, env = "BACKFILL_TIME_BUDGET", value_name = "DURATION", value_parser = duration)]
    pub time_budget: Option<Duration>,

    /// Show what would be done; fetch no PR data, write nothing.
    #[arg(long, env = "BACKFILL_DRY_RUN")]
    pub dry_run: bool,

    /// First apply the migrations if the database lacks the tables (a new
    /// adopter's first scheduled run).
    #[arg(long, env = "BACKFILL_MIGRATE", conflicts_with = "dry_run")]
    pub migrate: bool,

    /// First start backfills for tracked repositories that have none and
    /// hold under 95% of their PRs.
    #[arg(long, env = "BACKFILL_DISCOVER")]
    pub discover: bool,

    /// Open (or comment on) an issue in OWNER/NAME when a backfill is paused
    /// for failures or marked failed.
    #[arg(long, env = "BACKFILL_REPORT_ISSUE", value_name = "OWNER/NAME", value_parser = owner_name)]
    pub report_issue: Option<String>,

    /// How long a claim on a backfill lasts unless renewed (every third of
    /// it): after a crash, the backfill is free again this long after.
    #[arg(long, env = "BACKFILL_LEASE", value_name = "DURATION", default_value = "30s", value_parser = lease)]
    pub lease: Duration,
}

fn chunk_size(s: &str) -> Result<i64, String> {
    match s.trim().parse::<i64>() {
        Ok(n) if (5..=50).contains(&n) => Ok(n),
        _ => Err("must be a whole number from 5 to 50".to_string()),
    }
}

/// Longest `--time-budget`: a run, not a season.
const WEEK: Duration = Duration::from_secs(7 * 24 * 3_600);

/// humantime reads `M` as months and `y` as years: `25M` would be 25 months.
fn in_months_or_years(s: &str) -> bool {
    s.split(|c: char| !c.is_ascii_alphabetic())
        .any(|unit| matches!(unit, "M" | "month" | "months" | "y" | "year" | "years"))
}

/// humantime, minus months and years (which nobody means in a flag like these).
fn human(s: &str, what: &str) -> Result<Duration, String> {
    let s = s.trim();
    if in_months_or_years(s) {
        return Err(format!("'{s}' is in months or years (M is months, m minutes): write 25m for 25 minutes"));
    }
    humantime::parse_duration(s).map_err(|_| what.to_string())
}

fn duration(s: &str) -> Result<Duration, String> {
    let what = "must be a duration from 1s to 7d, such as 90s, 1h30m or 25m (write 25m for minutes, not 25M)";
    match human(s, what)? {
        d if !d.is_zero() && d <= WEEK => Ok(d),
        _ => Err(what.to_string()),
    }
}

fn owner_name(s: &str) -> Result<String, String> {
    let s = s.trim();
    match s.split_once('/') {
        Some((o, n)) if !o.is_empty() && !n.is_empty() && !n.contains('/') => Ok(s.to_string()),
        _ => Err("must be OWNER/NAME".to_string()),
    }
}

fn lease(s: &str) -> Result<Duration, String> {
    let what = "must be a duration from 1s to 10m, such as 30s";
    match human(s, what)? {
        d if (Duration::from_secs(1)..=Duration::from_secs(600)).contains(&d) => Ok(d),
        _ => Err(what.to_string()),
    }
}

fn interval(s: &str) -> Result<Duration, String> {
    let what = "must be a duration from 0s to 60s, such as 250ms";
    match human(s, what)? {
        d if d <= Duration::from_secs(60) => Ok(d),
        _ => Err(what.to_string()),
    }
}

/// Parses the command line; a usage error comes back as one line.
pub fn parse() -> Result<Cli, clap::Error> {
    Cli::try_parse()
}

/// A usage error as one line, without clap's `error: ` and with its
/// suggestion if it has one: `unrecognized subcommand 'statsu' (did you
/// mean 'status'?) (see `backfill --help`)`.
pub fn usage_error(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first).trim_end();
    let kinds = [ContextKind::SuggestedSubcommand, ContextKind::SuggestedArg, ContextKind::SuggestedValue];
    let suggested: Vec<String> = kinds
        .into_iter()
        .filter_map(|k| e.get(k))
        .flat_map(|v| match v {
            ContextValue::String(s) => vec![s.clone()],
            ContextValue::Strings(v) => v.clone(),
            _ => Vec::new(),
        })
        .map(|s| format!("'{s}'"))
        .collect();
    match suggested.is_empty() {
        true => format!("{first} (see `backfill --help`)"),
        false => format!("{first} (did you mean {}?) (see `backfill --help`)", suggested.join(" or ")),
    }
}

impl Cli {
    /// The settings every command shares, checked before anything runs: a
    /// bad value stops here, before a connection is opened or a row written.
    pub fn config(&self) -> Result<Config, AppError> {
        let (database, database_url) = config::database(self.database_url.as_deref())?;
        Ok(Config {
            database,
            database_url,
            graphql_url: config::graphql_url(&self.graphql_url)?,
            app: config::app_credentials(
                self.app_id.as_deref(),
                self.app_private_key.as_deref(),
                self.app_installation_id.as_deref(),
            )?,
            github_token: config::given(self.github_token.as_deref()),
            verbosity: config::verbosity(self.quiet, self.verbose),
            no_progress: self.no_progress,
            processor_type: config::processor_type(),
            rest_url: config::rest_url(),
            route: if self.transaction_pooler { Route::TransactionPooler } else { Route::Direct },
            client: config::client_settings(
                self.request_interval,
                self.max_retries,
                self.retry_delay,
                self.points_per_minute,
                self.runners_per_token,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked() {
        let sizes = [
            ("5", true),
            ("50", true),
            ("25", true),
            ("4", false),
            ("51", false),
            ("x", false),
            ("-5", false),
            ("", false),
        ];
        for (input, ok) in sizes {
            assert_eq!(chunk_size(input).is_ok(), ok, "chunk size {input:?}");
        }
        let intervals = [("0s", true), ("250ms", true), ("60s", true), ("61s", false), ("fast", false), ("1M", false)];
        for (input, ok) in intervals {
            assert_eq!(interval(input).is_ok(), ok, "interval {input:?}");
        }
        let leases = [("30s", true), ("1s", true), ("10m", true), ("0s", false), ("11m", false), ("1M", false)];
        for (input, ok) in leases {
            assert_eq!(lease(input).is_ok(), ok, "lease {input:?}");
        }
    }

    #[test]
    fn time_budgets_are_minutes_to_a_week_never_months() {
        let m = Duration::from_secs(60);
        let cases: [(&str, Option<Duration>); 16] = [
            ("25m", Some(25 * m)),
            (" 25m ", Some(25 * m)),
            ("90s", Some(Duration::from_secs(90))),
            ("1h30m", Some(90 * m)),
            ("1h 30m", Some(90 * m)),
            ("25min", Some(25 * m)),
            ("7d", Some(7 * 24 * 60 * m)),
            ("1w", Some(7 * 24 * 60 * m)),
            ("25M", None),
            ("1month", None),
            ("2 months", None),
            ("1y", None),
            ("8d", None),
            ("0s", None),
            ("soon", None),
            ("10", None),
        ];
        for (input, want) in cases {
            let got = duration(input);
            assert_eq!(got.as_ref().ok().copied(), want, "time budget {input:?}: {got:?}");
            if let Err(message) = got {
                assert!(message.contains("25m"), "{input:?}: {message}");
                assert_eq!(message.lines().count(), 1, "{message}");
            }
        }
        let months = duration("25M").err().unwrap_or_default();
        assert!(months.contains("months") && months.contains("write 25m for 25 minutes"), "{months}");
    }

    #[test]
    fn usage_errors_keep_clap_suggestions_on_one_line() {
        let cases: [(&[&str], &str); 5] = [
            (
                &["backfill", "statsu"],
                "unrecognized subcommand 'statsu' (did you mean 'status'?) (see `backfill --help`)",
            ),
            (&["backfill", "run", "--dry-rn"], "(did you mean '--dry-run'?)"),
            (&["backfill", "--verbos", "run"], "(did you mean '--verbose'?)"),
            (&["backfill", "frobnicate"], "unrecognized subcommand 'frobnicate' (see `backfill --help`)"),
            (&["backfill", "run", "--time-budget", "25M"], "write 25m for 25 minutes"),
        ];
        for (args, want) in cases {
            let line = match Cli::try_parse_from(args) {
                Ok(_) => String::new(),
                Err(e) => usage_error(&e),
            };
            assert!(line.contains(want), "{args:?}: {line:?} should contain {want:?}");
            assert_eq!(line.lines().count(), 1, "{line:?}");
            assert!(!line.starts_with("error:"), "{line:?}");
        }
    }
}
