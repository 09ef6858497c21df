//! GitHub App authentication against the fake, through octocrab: the App's
//! JWT buys installation tokens, renewed as they run out, however long the
//! run; a wrong App or token is named in one line, and nothing is written.

mod common;

use std::time::Duration;

use common::oracle::assert_complete;
use common::{spec, stderr, text, Harness, TOKEN};
use fake_github::rest::FakeApp;
use fake_github::world::Fault;
use sqlx::PgPool;

const KEY: &str = include_str!("fixtures/test-app-key.pem");
const PUBLIC_KEY: &str = include_str!("fixtures/test-app-key.pub.pem");
/// An RSA key, but not the App's.
const STRANGER_KEY: &str = include_str!("fixtures/stranger-key.pem");

fn app_env(key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("GITHUB_TOKEN", String::new()),
        ("GITHUB_APP_ID", "31337".into()),
        ("GITHUB_APP_PRIVATE_KEY", key.to_string()),
        ("GITHUB_APP_INSTALLATION_ID", "77".into()),
    ]
}

async fn with_env(h: &Harness, args: &[&str], env: &[(&'static str, String)]) -> std::process::Output {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    h.backfill_with(args, &env).await
}

/// The fake sells the App's tokens and accepts no personal token.
async fn app_only(h: &Harness, app: FakeApp) {
    h.ok(&["migrate"]).await;
    h.fake.with_control(|c| {
        c.token = None;
        c.app = Some(app);
    });
}

fn issued(h: &Harness) -> Vec<String> {
    h.fake.with_control(|c| c.app_tokens.iter().map(|t| t.token.clone()).collect())
}

fn assert_no_secret(out: &std::process::Output, secrets: &[String]) {
    for secret in secrets.iter().map(String::as_str).chain(["PRIVATE KEY", TOKEN]) {
        assert!(!text(out).contains(secret), "{secret} printed:\n{}", text(out));
    }
}

async fn rows(h: &Harness, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&h.pool).await.expect("count")
}

#[sqlx::test(migrations = false)]
async fn an_app_installation_token_does_the_work(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "widgets", 60)]).await;
    app_only(&h, FakeApp::new("31337", PUBLIC_KEY, 77)).await;
    let out = h.backfill(&["add", "acme/widgets"]).await;
    assert_eq!(out.status.code(), Some(2), "the personal token is refused now:\n{}", text(&out));
    assert!(stderr(&out).contains("rejected the token"), "{}", text(&out));

    let out = with_env(&h, &["add", "acme/widgets"], &app_env(KEY)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = with_env(&h, &["run", "--time-budget", "1m"], &app_env(KEY)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(h.status_of("acme/widgets").await, "completed");
    assert_no_secret(&out, &issued(&h));

    // The key may also be a file.
    let dir = std::env::temp_dir().join(format!("backfill-app-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("key.pem");
    std::fs::write(&path, KEY).expect("key file");
    let out = with_env(&h, &["run"], &app_env(&path.display().to_string())).await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_no_secret(&out, &issued(&h));
}

#[sqlx::test(migrations = false)]
async fn wrong_app_settings_are_configuration_errors_that_name_the_app(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "widgets", 10)]).await;
    app_only(&h, FakeApp::new("31337", PUBLIC_KEY, 77)).await;
    let with = |i: usize, value: &str| {
        let mut env = app_env(KEY);
        env[i].1 = value.to_string();
        env
    };
    // An App id without its key (the installation id alone may be left
    // out: the App then serves every owner it is installed on).
    let mut partial = app_env(KEY);
    partial.remove(2);
    let app = "GitHub App 31337 (installation 77)";
    let cases = [
        (app_env("-----BEGIN RSA PRIVATE KEY-----\nnot base64\n-----END RSA PRIVATE KEY-----"), "not an RSA key"),
        (app_env("/no/such/key.pem"), "cannot read the GitHub App private key file"),
        (partial, "needs GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY"),
        (with(1, "Iv1.0123abcd"), "must be the App's numeric id"),
        (with(3, "78"), "GitHub App 31337 (installation 78) when asked for an installation token (Not Found)"),
        (app_env(STRANGER_KEY), app),
        (with(1, "31338"), "GitHub App 31338 (installation 77)"),
    ];
    for (env, says) in cases {
        for args in [&["add", "acme/widgets"][..], &["run"]] {
            let out = with_env(&h, args, &env).await;
            assert_eq!(out.status.code(), Some(2), "{args:?}, {says}:\n{}", text(&out));
            let err = stderr(&out);
            assert!(err.contains(says) && err.lines().count() == 1, "{args:?}, {says}:\n{err}");
            assert_no_secret(&out, &[]);
        }
    }
    assert!(issued(&h).is_empty(), "no token was sold to a wrong App");
    assert_eq!(rows(&h, "repositories").await, 0, "nothing written");
}

#[sqlx::test(migrations = false)]
async fn a_wrong_token_is_named_as_the_token(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "widgets", 10)]).await;
    h.ok(&["migrate"]).await;
    let out = h.backfill_with(&["add", "acme/widgets"], &[("GITHUB_TOKEN", "ghp_wrong_secret_token")]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = stderr(&out);
    assert_eq!(err.trim(), "error: GitHub rejected the token (401 Bad credentials): check GITHUB_TOKEN", "{err}");
    assert!(!text(&out).contains("ghp_wrong_secret_token"));
    assert_eq!(rows(&h, "repositories").await, 0, "nothing written");
}

/// A run slow enough (a request every 300 ms) to outlive many tokens.
const SLOW_RUN: [(&str, &str); 1] = [("BACKFILL_REQUEST_INTERVAL", "300ms")];

async fn run_across_tokens(h: &Harness) {
    let mut env = app_env(KEY);
    env.extend(SLOW_RUN.iter().map(|(k, v)| (*k, v.to_string())));
    let out = with_env(h, &["add", "acme/widgets"], &env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = with_env(h, &["run", "--time-budget", "3m", "--chunk-size", "10"], &env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(h.status_of("acme/widgets").await, "completed", "one run:\n{}", text(&out));
    assert_complete(h, "acme", "widgets").await;
    assert_no_secret(&out, &issued(h));
}

#[sqlx::test(migrations = false)]
async fn tokens_are_renewed_before_they_expire_however_long_the_run(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "widgets", 200)]).await;
    // octocrab renews a token 30 s before its stated expiry, so each of
    // these is used for about a second, as an hour's token is for 59 minutes.
    let app = FakeApp { token_life: Duration::from_secs(31), ..FakeApp::new("31337", PUBLIC_KEY, 77) };
    app_only(&h, app).await;
    run_across_tokens(&h).await;
    let tokens = issued(&h).len();
    eprintln!("{tokens} tokens sold over {} requests", h.fake.requests().len());
    assert!(tokens >= 5, "the run outlived many tokens: {tokens} sold");
    let refused = h.fake.requests().iter().filter(|r| r.fault == Some(Fault::Unauthorized)).count();
    assert_eq!(refused, 0, "no request went out with an expired token");
}

#[sqlx::test(migrations = false)]
async fn a_token_that_dies_early_is_renewed_on_its_401(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "widgets", 200)]).await;
    // Each token says it lasts an hour, and works for a second.
    let app = FakeApp {
        token_life: Duration::from_secs(1),
        stated_life: Some(Duration::from_secs(3600)),
        ..FakeApp::new("31337", PUBLIC_KEY, 77)
    };
    app_only(&h, app).await;
    run_across_tokens(&h).await;
    let log = h.fake.requests();
    let refused = log.iter().filter(|r| r.fault == Some(Fault::Unauthorized)).count();
    eprintln!("{} tokens sold, {refused} of {} requests refused", issued(&h).len(), log.len());
    assert!(refused >= 3, "tokens died under the run: {refused} requests refused");
    assert!(issued(&h).len() > refused / 2, "each death bought a new token: {} sold", issued(&h).len());
    assert_eq!(log.last().map(|r| r.status), Some(200), "the run ended on an answer");
}
