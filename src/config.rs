//! Settings checked before anything runs: a bad value stops here, with a
//! usage error, before a connection is opened or a row written.

use sqlx::postgres::PgConnectOptions;

use crate::cli::Cli;
use crate::exit::AppError;
use crate::github::app::AppCredentials;
use crate::github::retry::RetryPolicy;
use crate::github::ClientSettings;
use crate::report::Verbosity;
use crate::store::Route;

pub struct Config {
    pub database: PgConnectOptions,
    /// Kept only to scrub it from error messages.
    pub database_url: String,
    pub github_token: Option<String>,
    /// GitHub App credentials, used instead of the token when given.
    pub app: Option<AppCredentials>,
    pub graphql_url: String,
    pub verbosity: Verbosity,
    pub no_progress: bool,
    pub processor_type: &'static str,
    pub route: Route,
    /// GitHub's REST root when Actions names it (`GITHUB_API_URL`).
    pub rest_url: Option<String>,
    /// Pacing and retries; the deadline is set when a run starts.
    pub client: ClientSettings,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config").field("graphql_url", &self.graphql_url).finish_non_exhaustive()
    }
}

impl Config {
    pub fn from_cli(cli: &Cli) -> Result<Config, AppError> {
        let url = cli.database_url.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let url = url.ok_or_else(|| AppError::usage("no database URL: set DATABASE_URL or pass --database-url"))?;
        let database = crate::store::parse_url(url).map_err(AppError::usage)?;
        let graphql_url = cli.graphql_url.trim().to_string();
        if !(graphql_url.starts_with("https://") || graphql_url.starts_with("http://")) {
            return Err(AppError::usage("the GraphQL URL must start with https:// (or http:// for a local server)"));
        }
        let verbosity = match (cli.quiet, cli.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, true) => Verbosity::Verbose,
            _ => Verbosity::Normal,
        };
        let in_actions = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
        Ok(Config {
            database,
            database_url: url.to_string(),
            app: app_credentials(cli)?,
            github_token: cli.github_token.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string),
            graphql_url,
            verbosity,
            no_progress: cli.no_progress,
            processor_type: if in_actions { "github_actions" } else { "cli" },
            rest_url: std::env::var("GITHUB_API_URL").ok().map(|u| u.trim().to_string()).filter(|u| !u.is_empty()),
            route: if cli.transaction_pooler { Route::TransactionPooler } else { Route::Direct },
            client: ClientSettings {
                request_interval: cli.request_interval,
                retry: RetryPolicy { max_retries: cli.max_retries, base: cli.retry_delay, ..RetryPolicy::default() },
                deadline: None,
            },
        })
    }

    pub fn token(&self) -> Result<&str, AppError> {
        self.github_token.as_deref().ok_or_else(|| {
            AppError::usage("no GitHub token: set GITHUB_TOKEN (or the GITHUB_APP_* settings) or pass --github-token")
        })
    }
}

/// All three App settings, or none; the key must be one GitHub could have issued.
fn app_credentials(cli: &Cli) -> Result<Option<AppCredentials>, AppError> {
    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let (id, key, installation) = (given(&cli.app_id), given(&cli.app_private_key), given(&cli.app_installation_id));
    let (app_id, key, installation) = match (id, key, installation) {
        (None, None, None) => return Ok(None),
        (Some(a), Some(k), Some(i)) => (a, k, i),
        _ => {
            return Err(AppError::usage(
                "GitHub App authentication needs all of GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID",
            ))
        }
    };
    let installation_id =
        installation.parse::<u64>().map_err(|_| AppError::usage("GITHUB_APP_INSTALLATION_ID must be a number"))?;
    // PEM text (secret stores sometimes keep its line breaks as \n), or a file.
    let private_key = if key.starts_with("-----BEGIN") {
        key.replace("\\n", "\n")
    } else {
        std::fs::read_to_string(&key)
            .map_err(|e| AppError::usage(format!("cannot read the GitHub App private key file: {e}")))?
    };
    let app = AppCredentials { app_id, private_key, installation_id };
    crate::github::app::app_jwt(&app, 0).map_err(|e| AppError::usage(e.to_string()))?;
    Ok(Some(app))
}
