//! Settings checked before anything runs: a bad value stops here, with a
//! usage error, before a connection is opened or a row written.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;

use crate::exit::AppError;
use crate::github::client::rest_url_for;
use crate::github::credential::{app_key, AppCredentials, Credential};
use crate::github::retry::RetryPolicy;
use crate::github::ClientSettings;
use crate::report::Verbosity;
use crate::store::Route;

pub struct Config {
    pub database: PgConnectOptions,
    /// Kept only to scrub it from error messages.
    pub database_url: String,
    /// The tokens, in the order they are spent (`tokens`).
    pub tokens: Vec<Credential>,
    /// A GitHub App (`Credential::App`), used instead of the tokens when given.
    pub app: Option<Credential>,
    pub graphql_url: String,
    pub verbosity: Verbosity,
    pub no_progress: bool,
    pub processor_type: &'static str,
    pub route: Route,
    /// GitHub's REST root: `GITHUB_API_URL` (Actions sets it), else the
    /// one the GraphQL URL implies.
    pub rest_url: String,
    /// Pacing and retries; the deadline is set when a run starts.
    pub client: ClientSettings,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config").field("graphql_url", &self.graphql_url).finish_non_exhaustive()
    }
}

impl Config {
    pub fn tokens(&self) -> Result<&[Credential], AppError> {
        match self.tokens.is_empty() {
            true => Err(AppError::usage(
                "no GitHub token: set GITHUB_TOKEN (or GITHUB_TOKENS, or the GITHUB_APP_* settings) or pass --github-token",
            )),
            false => Ok(&self.tokens),
        }
    }
}

/// The tokens requests are sent with, in the order they are spent: every
/// `--github-token` given on the command line, then every token of
/// `GITHUB_TOKENS` (separated by commas, spaces or newlines, as a secret may
/// hold them one a line); `GITHUB_TOKEN` (`from_env`) only without
/// `GITHUB_TOKENS`, so that a workflow's own token never joins a pool by
/// accident. One token given as `GITHUB_TOKEN` or `--github-token` is "the
/// token" of every message, as ever; the tokens of a pool are named each.
pub fn tokens(flags: &[String], from_env: bool, pool: Option<&str>) -> Vec<Credential> {
    let listed: Vec<&str> = pool.unwrap_or("").split(|c: char| c == ',' || c.is_whitespace()).collect();
    let listed: Vec<&str> = listed.into_iter().filter(|t| !t.is_empty()).collect();
    let flags = match from_env && !listed.is_empty() {
        true => &[][..],
        false => flags,
    };
    let mut all: Vec<String> = Vec::new();
    for token in flags.iter().filter_map(|t| given(Some(t))).chain(listed.iter().map(|t| t.to_string())) {
        if !all.contains(&token) {
            all.push(token);
        }
    }
    let pooled = all.len() > 1 || !listed.is_empty();
    all.into_iter().map(|secret| Credential::Token { secret, pooled }).collect()
}

/// A value given but blank counts as not given (an unset workflow input is "").
pub fn given(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The database URL, parsed without echoing it (it may hold a password).
pub fn database(url: Option<&str>) -> Result<(PgConnectOptions, String), AppError> {
    let url = given(url).ok_or_else(|| AppError::usage("no database URL: set DATABASE_URL or pass --database-url"))?;
    let options = crate::store::parse_url(&url).map_err(AppError::usage)?;
    Ok((options, url))
}

pub fn graphql_url(url: &str) -> Result<String, AppError> {
    let url = url.trim().to_string();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(AppError::usage("the GraphQL URL must start with https:// (or http:// for a local server)"));
    }
    Ok(url)
}

pub fn verbosity(quiet: bool, verbose: bool) -> Verbosity {
    match (quiet, verbose) {
        (true, _) => Verbosity::Quiet,
        (false, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    }
}

/// Inside a workflow the chunks are the workflow's; by hand, the CLI's.
pub fn processor_type() -> &'static str {
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        "github_actions"
    } else {
        "cli"
    }
}

/// GitHub's REST root: the one Actions names, else the GraphQL URL's
/// (`https://HOST/api/graphql` -> `https://HOST/api/v3` on Enterprise Server).
pub fn rest_url(api_url: Option<&str>, graphql_url: &str) -> Result<String, AppError> {
    match given(api_url) {
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
            Ok(url.trim_end_matches('/').to_string())
        }
        Some(_) => Err(AppError::usage("GITHUB_API_URL must start with https:// (or http:// for a local server)")),
        None => Ok(rest_url_for(graphql_url)),
    }
}

/// `runners_per_token`: processes that share one token, and so its
/// secondary limit of points per minute, evenly.
pub fn client_settings(
    request_interval: Duration,
    max_retries: u32,
    retry_delay: Duration,
    points_per_minute: u32,
    runners_per_token: u32,
    github_timeout: Duration,
    reserve: u32,
) -> ClientSettings {
    ClientSettings {
        request_interval,
        retry: RetryPolicy { max_retries, base: retry_delay, ..RetryPolicy::default() },
        deadline: None,
        points_per_minute: (points_per_minute / runners_per_token.max(1)).max(1),
        shared_token: runners_per_token > 1,
        github_timeout,
        reserve: i64::from(reserve),
    }
}

/// All three App settings, or none; the key must be one GitHub could have issued.
pub fn app_credentials(
    id: Option<&str>,
    key: Option<&str>,
    installation: Option<&str>,
) -> Result<Option<Credential>, AppError> {
    // Without an installation id, the App serves every owner it is
    // installed on, each through its own installation.
    let (app_id, key, installation) = match (given(id), given(key), given(installation)) {
        (None, None, None) => return Ok(None),
        (Some(a), Some(k), i) => (a, k, i),
        _ => {
            return Err(AppError::usage(
                "GitHub App authentication needs GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (and, to use one installation only, GITHUB_APP_INSTALLATION_ID)",
            ))
        }
    };
    // octocrab signs the JWT with the numeric id as its issuer.
    let app_id = app_id.parse::<u64>().map_err(|_| {
        AppError::usage("GITHUB_APP_ID must be the App's numeric id (its settings page shows it as \"App ID\")")
    })?;
    let installation_id = installation
        .map(|i| i.parse::<u64>().map_err(|_| AppError::usage("GITHUB_APP_INSTALLATION_ID must be a number")))
        .transpose()?;
    // PEM text (secret stores sometimes keep its line breaks as \n), or a file.
    let private_key = if key.starts_with("-----BEGIN") {
        key.replace("\\n", "\n")
    } else {
        std::fs::read_to_string(&key)
            .map_err(|e| AppError::usage(format!("cannot read the GitHub App private key file: {e}")))?
    };
    let key = app_key(&private_key)
        .ok_or_else(|| AppError::usage("the GitHub App private key is not an RSA key in PEM form"))?;
    Ok(Some(Credential::App(AppCredentials { app_id, key, installation_id, owner: None })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_alone_or_as_a_pool() {
        let flags = |f: &[&str]| f.iter().map(|t| t.to_string()).collect::<Vec<String>>();
        type Case<'a> = (Vec<String>, bool, Option<&'a str>, &'a [&'a str], bool);
        // (--github-token values, whether they came from GITHUB_TOKEN, GITHUB_TOKENS, the tokens, pooled)
        let cases: [Case; 8] = [
            (flags(&["a"]), true, None, &["a"], false),
            (flags(&["a"]), false, None, &["a"], false),
            (flags(&[" "]), true, None, &[], false),
            (flags(&[]), false, Some("a\nb\n"), &["a", "b"], true),
            (flags(&[]), false, Some(" a, b\r\n c,,a "), &["a", "b", "c"], true),
            // a workflow's GITHUB_TOKEN stays out of a pool
            (flags(&["w"]), true, Some("a\nb"), &["a", "b"], true),
            (flags(&["x", "y"]), false, Some("a"), &["x", "y", "a"], true),
            (flags(&["a"]), false, Some(""), &["a"], false),
        ];
        for (given, from_env, pool, want, pooled) in cases {
            let got = tokens(&given, from_env, pool);
            let secrets: Vec<&str> = got
                .iter()
                .filter_map(|c| match c {
                    Credential::Token { secret, pooled: p } if *p == pooled => Some(secret.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(secrets, want, "{given:?} {from_env} {pool:?}");
        }
    }

    #[test]
    fn the_rest_root_is_actions_own_else_the_graphql_urls() {
        // (GITHUB_API_URL, GraphQL URL, REST root)
        let cases = [
            (None, "https://api.github.com/graphql", "https://api.github.com"),
            (Some(""), "https://ghe.example/api/graphql", "https://ghe.example/api/v3"),
            (None, "https://ghe.example/api/graphql/", "https://ghe.example/api/v3"),
            (Some("https://ghe.example/api/v3/"), "https://ghe.example/api/graphql", "https://ghe.example/api/v3"),
            (Some("http://127.0.0.1:8080"), "http://127.0.0.1:9090/graphql", "http://127.0.0.1:8080"),
        ];
        for (api, graphql, want) in cases {
            assert_eq!(rest_url(api, graphql).map_err(|e| e.message), Ok(want.to_string()), "{api:?} {graphql}");
        }
        assert!(rest_url(Some("ghe.example/api/v3"), "https://api.github.com/graphql").is_err());
    }
}
