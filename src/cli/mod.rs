//! Flags, each also read from the environment (what a workflow sets): the
//! global ones here, the commands' in `commands`, their value checks in `values`.

mod commands;
mod values;

use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser};

use crate::config::{self, Config};
use crate::exit::AppError;
use crate::store::Route;
pub use commands::{AddArgs, Command, HistoryArgs, RunArgs, StatusArgs, VerifyArgs};
use values::interval;
pub use values::Target;

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
    /// Given more than once: a pool, each token spent in turn.
    #[arg(long, env = "GITHUB_TOKEN", global = true, hide_env_values = true, value_name = "TOKEN")]
    pub github_token: Vec<String>,

    /// Several tokens, separated by commas, spaces or newlines: a pool, each
    /// spent in turn (a token of one account adds no budget). With it,
    /// GITHUB_TOKEN is left aside; never printed.
    #[arg(long, env = "GITHUB_TOKENS", global = true, hide_env_values = true, value_name = "TOKENS")]
    pub github_tokens: Option<String>,

    /// Whether `github_token` came from GITHUB_TOKEN rather than the command line.
    #[arg(skip)]
    pub token_from_env: bool,

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
    #[arg(long, env = "BACKFILL_NO_PROGRESS", value_parser = BoolishValueParser::new(), global = true)]
    pub no_progress: bool,

    /// DATABASE_URL is a transaction-mode pooler (PgBouncer, Supabase port 6543):
    /// no cached prepared statements, no session lock for migrations.
    #[arg(long, env = "BACKFILL_TRANSACTION_POOLER", value_parser = BoolishValueParser::new(), global = true)]
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

    /// How long GitHub runs a query before it gives up (502/504): a failure
    /// that comes back in under half of this is a gateway hiccup, sent again
    /// as it was; a slower one is a timeout, asked again smaller.
    #[arg(long, env = "BACKFILL_GITHUB_TIMEOUT", global = true, value_name = "DURATION", default_value = "10s", value_parser = interval)]
    pub github_timeout: Duration,

    /// GitHub's secondary limit of points per minute for one token: a GraphQL
    /// query is 1 point whatever its cost, a REST read 1, a REST write 5.
    #[arg(long, env = "BACKFILL_POINTS_PER_MINUTE", global = true, value_name = "N", default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(10..=100_000))]
    pub points_per_minute: u32,

    /// How many runners share this token (a matrix on one token): each keeps
    /// to its share of the points per minute, so that together they stay under.
    #[arg(long, env = "BACKFILL_RUNNERS_PER_TOKEN", global = true, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runners_per_token: u32,

    /// Points of each credential's hourly budget never spent: left for the
    /// token's other users (a run that reaches it stops as at the rate limit).
    #[arg(long, env = "BACKFILL_RESERVE", global = true, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub reserve: u32,

    #[command(subcommand)]
    pub command: Command,
}

/// Parses the command line; a usage error comes back as one line.
pub fn parse() -> Result<Cli, clap::Error> {
    Cli::parse_from_matches(Cli::command().try_get_matches()?)
}

impl Cli {
    /// The flags, and where the token came from: GITHUB_TOKEN is left aside
    /// when GITHUB_TOKENS is given, a token on the command line is not.
    fn parse_from_matches(matches: clap::ArgMatches) -> Result<Cli, clap::Error> {
        let mut cli = Cli::from_arg_matches(&matches)?;
        let mut level = Some(&matches);
        while let Some(m) = level {
            if let Some(source) = m.value_source("github_token") {
                cli.token_from_env = source == ValueSource::EnvVariable;
            }
            level = m.subcommand().map(|(_, sub)| sub);
        }
        Ok(cli)
    }
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
        let graphql_url = config::graphql_url(&self.graphql_url)?;
        Ok(Config {
            database,
            database_url,
            rest_url: config::rest_url(std::env::var("GITHUB_API_URL").ok().as_deref(), &graphql_url)?,
            graphql_url,
            app: config::app_credentials(
                self.app_id.as_deref(),
                self.app_private_key.as_deref(),
                self.app_installation_id.as_deref(),
            )?,
            tokens: config::tokens(&self.github_token, self.token_from_env, self.github_tokens.as_deref()),
            verbosity: config::verbosity(self.quiet, self.verbose),
            no_progress: self.no_progress,
            processor_type: config::processor_type(),
            route: if self.transaction_pooler { Route::TransactionPooler } else { Route::Direct },
            client: config::client_settings(
                self.request_interval,
                self.max_retries,
                self.retry_delay,
                self.points_per_minute,
                self.runners_per_token,
                self.github_timeout,
                self.reserve,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_on_the_command_line_is_told_from_github_token() {
        // (arguments, from the environment)
        let cases: [(&[&str], bool); 3] = [
            (&["backfill", "--github-token", "a", "status"], false),
            (&["backfill", "status", "--github-token", "a", "--github-token", "b"], false),
            (&["backfill", "status"], false),
        ];
        for (args, from_env) in cases {
            let cli = Cli::command().try_get_matches_from(args).and_then(Cli::parse_from_matches);
            assert_eq!(cli.map(|c| c.token_from_env).ok(), Some(from_env), "{args:?}");
        }
        let two = Cli::try_parse_from(["backfill", "status", "--github-token", "a", "--github-token", "b"]);
        assert_eq!(two.map(|c| c.github_token).ok(), Some(vec!["a".to_string(), "b".to_string()]));
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
