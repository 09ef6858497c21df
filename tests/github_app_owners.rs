//! One GitHub App across organisations: without an installation id it
//! serves each owner with the installation there, each with its own budget;
//! an owner the App is not installed on fails alone, named with the App.

mod common;

use std::time::Duration;

use common::oracle::assert_complete;
use common::{spec, stderr, text, Harness, TOKEN};
use fake_github::rest::FakeApp;
use fake_github::world::Budget;
use sqlx::PgPool;

const KEY: &str = include_str!("fixtures/test-app-key.pem");
const PUBLIC_KEY: &str = include_str!("fixtures/test-app-key.pub.pem");

/// The App by its id and key alone: no installation named.
fn app_env() -> Vec<(&'static str, &'static str)> {
    vec![("GITHUB_TOKEN", ""), ("GITHUB_APP_ID", "31337"), ("GITHUB_APP_PRIVATE_KEY", KEY)]
}

/// acme and globex have the App installed (5 and 6); initech does not, and
/// was tracked earlier with a personal token.
async fn three_owners(pool: PgPool, prs: [usize; 3]) -> Harness {
    let specs = [spec("acme", "widgets", prs[0]), spec("globex", "gadgets", prs[1]), spec("initech", "tps", prs[2])];
    let h = Harness::start(pool, &specs).await;
    h.ok(&["migrate"]).await;
    h.add("initech/tps").await;
    let app = FakeApp::new("31337", PUBLIC_KEY, 0).installed_on(5, "acme").installed_on(6, "globex");
    h.fake.with_control(|c| {
        c.token = None;
        c.app = Some(app);
    });
    for repo in ["acme/widgets", "globex/gadgets"] {
        let out = h.backfill_with(&["add", repo], &app_env()).await;
        assert_eq!(out.status.code(), Some(0), "{repo}:\n{}", text(&out));
    }
    h
}

fn sold(h: &Harness) -> Vec<String> {
    h.fake.with_control(|c| c.app_tokens.iter().map(|t| t.token.clone()).collect())
}

fn assert_no_secret(h: &Harness, out: &std::process::Output) {
    for secret in sold(h).iter().map(String::as_str).chain(["PRIVATE KEY", TOKEN]) {
        assert!(!text(out).contains(secret), "{secret} printed:\n{}", text(out));
    }
}

/// The accounts whose budgets the requests spent, in order of first use.
fn accounts(h: &Harness) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for r in h.fake.requests() {
        let account = r.account.unwrap_or_else(|| "default".into());
        if !seen.contains(&account) {
            seen.push(account);
        }
    }
    seen.sort();
    seen
}

#[sqlx::test(migrations = false)]
async fn each_owner_is_served_by_its_installation(pool: PgPool) {
    let h = three_owners(pool, [40, 30, 20]).await;

    // Where the App is not installed: a usage error naming the App and the
    // owner, and nothing written.
    let out = h.backfill_with(&["add", "initech/payroll"], &app_env()).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = stderr(&out);
    assert!(err.contains("GitHub App 31337 is not installed on initech"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // Among others, that target alone is left out.
    let out = h.backfill_with(&["add", "initech/payroll", "globex/gadgets"], &app_env()).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("initech/payroll: the GitHub App 31337 is not installed on initech"), "{}", text(&out));
    assert!(text(&out).contains("globex/gadgets: already tracked"), "{}", text(&out));

    h.fake.with_control(|c| c.log.clear());
    let out = h.backfill_with(&["run", "--time-budget", "2m"], &app_env()).await;
    let said = text(&out);
    assert_complete(&h, "acme", "widgets").await;
    assert_complete(&h, "globex", "gadgets").await;
    assert_ne!(h.status_of("initech/tps").await, "completed", "{said}");
    assert!(
        said.contains("initech/tps") && said.contains("not installed on initech"),
        "initech's trouble named:\n{said}"
    );
    assert_eq!(out.status.code(), Some(1), "a backfill failed, the run says so:\n{said}");
    assert_eq!(accounts(&h), ["installation 5", "installation 6"], "each owner spent its own installation's budget");
    // Each installation's token saw only its owner's repositories: the
    // fake answers nothing across owners, so completion above proves it.
    assert_no_secret(&h, &out);

    // Each installation is a credential of its own, named with its owner:
    // said after the run, kept for the next, shown by status.
    for name in ["App 31337 installation 5 (acme)", "App 31337 installation 6 (globex)"] {
        assert!(said.contains(&format!("credential {name}: ")), "{name} said:\n{said}");
    }
    let kept: Vec<String> = sqlx::query_scalar("SELECT name FROM backfill_credentials ORDER BY name")
        .fetch_all(&h.pool)
        .await
        .expect("kept credentials");
    assert_eq!(kept, ["App 31337 installation 5 (acme)", "App 31337 installation 6 (globex)"]);
    let status = text(&h.ok(&["status"]).await);
    assert!(status.contains("credential App 31337 installation 6 (globex): "), "{status}");
}

#[sqlx::test(migrations = false)]
async fn an_installation_out_of_budget_pauses_its_owner_only(pool: PgPool) {
    let h = three_owners(pool, [200, 30, 1]).await;
    h.fake.with_control(|c| {
        c.accounts.insert("installation 5".into(), Budget::new(5, Duration::from_secs(3600)));
        c.log.clear();
    });
    let out = h.backfill_with(&["run", "--time-budget", "2m"], &app_env()).await;
    let said = text(&out);
    assert_complete(&h, "globex", "gadgets").await;
    assert_ne!(h.status_of("acme/widgets").await, "completed", "{said}");
    assert!(h.processed_prs("acme/widgets").await > 0, "acme spent what it had:\n{said}");
    assert!(said.contains("rate limit"), "the pause is said:\n{said}");
    let refused = h.fake.requests().iter().filter(|r| r.rate_limited).count();
    assert!(refused <= 1, "no request thrown at the spent budget: {refused} refused");
    assert_no_secret(&h, &out);
}
