//! GitHub App authentication against the fake: the App's JWT buys an
//! installation token, and that token does the work.

mod common;

use common::{spec, stderr, text, Harness, TOKEN};
use fake_github::rest::FakeApp;
use sqlx::PgPool;

const KEY: &str = include_str!("fixtures/test-app-key.pem");
const PUBLIC_KEY: &str = include_str!("fixtures/test-app-key.pub.pem");

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

#[sqlx::test(migrations = false)]
async fn an_app_installation_token_does_the_work(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "widgets", 60)]).await;
    h.ok(&["migrate"]).await;
    let installation_token = "ghs_installation_0123456789";
    h.fake.with_control(|c| {
        // GraphQL now takes only the installation token, not the test's personal one.
        c.token = Some(installation_token.into());
        c.app = Some(FakeApp {
            app_id: "31337".into(),
            public_key_pem: PUBLIC_KEY.into(),
            installation_id: 77,
            token: installation_token.into(),
        });
    });
    let out = h.backfill(&["add", "acme/widgets"]).await;
    assert_eq!(out.status.code(), Some(2), "the personal token is refused now:\n{}", text(&out));

    let out = with_env(&h, &["add", "acme/widgets"], &app_env(KEY)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = with_env(&h, &["run", "--time-budget", "1m"], &app_env(KEY)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(h.status_of("acme/widgets").await, "completed");

    // The key may also be a file.
    let dir = std::env::temp_dir().join(format!("backfill-app-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("key.pem");
    std::fs::write(&path, KEY).expect("key file");
    let out = with_env(&h, &["run"], &app_env(&path.display().to_string())).await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for secret in [installation_token, "PRIVATE KEY", TOKEN] {
        assert!(!text(&out).contains(secret), "{secret} printed:\n{}", text(&out));
    }
}

#[sqlx::test(migrations = false)]
async fn wrong_app_settings_are_configuration_errors(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "widgets", 10)]).await;
    h.ok(&["migrate"]).await;
    h.fake.with_control(|c| {
        c.app = Some(FakeApp {
            app_id: "31337".into(),
            public_key_pem: PUBLIC_KEY.into(),
            installation_id: 77,
            token: "ghs_x".into(),
        })
    });
    let mut wrong_installation = app_env(KEY);
    wrong_installation[3].1 = "78".into();
    let mut partial = app_env(KEY);
    partial.truncate(3);
    let cases = [
        (app_env("-----BEGIN RSA PRIVATE KEY-----\nnot base64\n-----END RSA PRIVATE KEY-----"), "not an RSA key"),
        (app_env("/no/such/key.pem"), "cannot read the GitHub App private key file"),
        (partial, "needs all of"),
        (wrong_installation, "rejected the App credentials"),
    ];
    for (env, says) in cases {
        let out = with_env(&h, &["add", "acme/widgets"], &env).await;
        assert_eq!(out.status.code(), Some(2), "{says}:\n{}", text(&out));
        let err = stderr(&out);
        assert!(err.contains(says) && err.lines().count() == 1, "{says}:\n{err}");
    }
}
