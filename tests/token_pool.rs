//! Credentials for fleets: a pool of tokens spent one after another, two
//! tokens of one account told apart from two accounts, a reserve left for a
//! token's other users, and budgets kept from one run to the next, shown
//! by name and never by secret.

mod common;

use std::process::Output;
use std::time::Duration;

use common::{spec, stderr, text, Harness};
use fake_github::world::Budget;
use sqlx::PgPool;

/// Tokens long enough that their names show their last four characters
/// (ones no UUID or stored text holds by chance).
const A: &str = "ghp_pooltoken_aaaaaaaaaaaaaaaaaaaaaaaaaa_QzqK";
const B: &str = "ghp_pooltoken_bbbbbbbbbbbbbbbbbbbbbbbbbb_WvwJ";
const C: &str = "ghp_pooltoken_cccccccccccccccccccccccccc_XkxP";

const HOUR: Duration = Duration::from_secs(3_600);

/// `tokens` let in, each spending `account`'s budget, `points` an hour each.
fn accounts(h: &Harness, tokens: &[(&str, &str)], points: i64) {
    h.fake.with_control(|c| {
        c.account_budget = Budget::new(points, HOUR);
        for (token, account) in tokens {
            c.tokens.insert(token.to_string(), account.to_string());
        }
    });
}

/// The accounts the fake's requests spent, in order, each once per run of requests.
fn account_order(h: &Harness, from: usize) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for r in &h.fake.requests()[from..] {
        let account = r.account.clone().unwrap_or_else(|| "default".into());
        if order.last() != Some(&account) {
            order.push(account);
        }
    }
    order
}

/// Points the fake charged to `account` in requests `from..`.
fn charged(h: &Harness, from: usize, account: &str) -> i64 {
    h.fake.requests()[from..].iter().filter(|r| r.account.as_deref() == Some(account)).map(|r| r.cost).sum()
}

/// No token appears anywhere in `text`, nor its last four characters but
/// inside its name (`token …a1a1 (3f9c)`).
fn assert_named_only(text: &str, tokens: &[&str], what: &str) {
    for token in tokens {
        assert!(!text.contains(token), "{what} holds a token");
        let tail = &token[token.len() - 4..];
        for (i, _) in text.match_indices(tail) {
            let named = text[..i].ends_with('…') && text[i + tail.len()..].starts_with(" (");
            assert!(named, "{what} shows {tail} outside a name: {}", &text[i.saturating_sub(40)..]);
        }
    }
}

fn all_output(outs: &[&Output]) -> String {
    outs.iter().map(|o| text(o)).collect::<Vec<String>>().join("\n")
}

/// Every row of every table, as text.
async fn database_text(h: &Harness) -> String {
    let mut all = String::new();
    for table in backfill::store::TABLES.iter().chain(&["_sqlx_migrations"]) {
        let rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT x::text FROM {table} x")).fetch_all(&h.pool).await.expect("rows");
        all.push_str(&rows.join("\n"));
    }
    all
}

async fn kept(h: &Harness) -> Vec<(String, i32, i32)> {
    sqlx::query_as("SELECT name, points_limit, points_left FROM backfill_credentials ORDER BY name")
        .fetch_all(&h.pool)
        .await
        .expect("credentials")
}

#[sqlx::test(migrations = false)]
async fn three_tokens_finish_what_one_cannot_each_spent_before_the_next(pool: PgPool) {
    // 200 PRs in chunks of 5: about 42 points, where each token has 20.
    let h = Harness::start(pool, &[spec("acme", "widgets", 200)]).await;
    accounts(&h, &[(A, "alice"), (B, "bob"), (C, "carol")], 20);
    let dir = common::cluster::scratch_dir("token-pool");
    let (summary, page) = (dir.join("summary.md"), dir.join("status.html"));
    let pool_env = [("GITHUB_TOKENS", format!("{A}\n{B}\n{C}\n"))];
    let env: Vec<(&str, &str)> = pool_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let in_actions: Vec<(&str, &str)> = env
        .iter()
        .copied()
        .chain([("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap_or_default())])
        .collect();
    let migrated = h.ok(&["migrate"]).await;
    let added = h.backfill_with(&["add", "acme/widgets"], &env).await;
    assert_eq!(added.status.code(), Some(0), "{}", text(&added));
    let from = h.fake.requests().len();
    let run = h.backfill_with(&["run", "--time-budget", "2m", "--chunk-size", "5"], &in_actions).await;
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    assert_eq!(h.status_of("acme/widgets").await, "completed", "{}", text(&run));
    assert_eq!(h.processed_prs("acme/widgets").await, 200);
    // Each token only after the one before was spent, and no refusal seen.
    assert_eq!(account_order(&h, from), ["alice", "bob", "carol"], "{}", text(&run));
    let spent_before_bob = 20 - charged(&h, 0, "alice");
    assert!(spent_before_bob <= 1, "alice had {spent_before_bob} points left when bob took over");
    assert!(charged(&h, from, "bob") >= 19, "bob spent before carol: {}", charged(&h, from, "bob"));
    let err = stderr(&run);
    assert!(!err.contains("rate limit"), "the callers never saw a limit:\n{err}");
    assert!(err.matches("the requests go on with token …").count() == 2, "each move said once:\n{err}");
    // Whose budget is whose, kept by name.
    let names = kept(&h).await;
    assert_eq!(names.len(), 3, "{names:?}");
    for (name, limit, _) in &names {
        assert!(name.starts_with("token …") && *limit == 20, "{names:?}");
    }
    let status = h.ok(&["status", "--html", page.to_str().unwrap_or_default()]).await;
    let summary = std::fs::read_to_string(&summary).expect("the step summary");
    let page = std::fs::read_to_string(&page).expect("the page");
    let dry = h.backfill_with(&["run", "--dry-run"], &env).await;
    for (name, _, left) in &names {
        assert!(stderr(&status).contains(&format!("credential {name}: {left} of 20 points left")), "{}", text(&status));
        assert!(String::from_utf8_lossy(&dry.stdout).contains(&format!("credential {name}: ")), "{}", text(&dry));
        assert!(summary.contains(&format!("| {name} | {left} of 20 points left, resets ")), "{summary}");
        assert!(page.contains(&format!("<tr><td>{name}</td><td>{left} of 20 points left, resets ")), "{name}");
    }
    assert!(summary.contains("#### Credentials"), "{summary}");
    let outputs = all_output(&[&migrated, &added, &run, &status, &dry]) + &summary + &page;
    assert!(!outputs.contains("share one hourly budget"), "three accounts, though their windows end together");
    assert_named_only(&outputs, &[A, B, C], "the output");
    assert_named_only(&database_text(&h).await, &[A, B, C], "the database");
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrations = false)]
async fn a_reserve_is_left_for_the_tokens_other_users(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "widgets", 200)]).await;
    h.fake.with_control(|c| c.budget = Budget::new(40, HOUR));
    h.add("acme/widgets").await;
    let reserve = [("BACKFILL_RESERVE", "20")];
    let dry = h.backfill_with(&["run", "--dry-run"], &reserve).await;
    assert!(
        String::from_utf8_lossy(&dry.stdout).contains("reserve: 20 points of each credential's hour"),
        "{}",
        text(&dry)
    );
    let run = h.backfill_with(&["run", "--time-budget", "2m", "--chunk-size", "5"], &reserve).await;
    assert_eq!(run.status.code(), Some(0), "stopped as at the rate limit:\n{}", text(&run));
    let left = h.fake.with_control(|c| c.budget.remaining);
    assert!((20..=22).contains(&left), "the reserve held, and little more was left: {left}\n{}", text(&run));
    let stored = h.processed_prs("acme/widgets").await;
    assert!((70..200).contains(&stored), "what about 18 points pay for: {stored} PRs\n{}", text(&run));
    let err = stderr(&run);
    let warning = err.lines().find(|l| l.starts_with("warning: acme/widgets")).unwrap_or_default();
    assert!(warning.contains("reserve") && warning.contains("paused until"), "names the reserve and the reset:\n{err}");
    assert_eq!(h.status_of("acme/widgets").await, "paused");
    // The next run asks nothing before the reset: the budget kept says so.
    let sent = h.fake.requests().len();
    let again = h.backfill_with(&["run", "--chunk-size", "5"], &reserve).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(h.fake.requests()[sent..].iter().all(|r| r.cost == 0), "only the free check: {}", text(&again));
    assert!(h.fake.with_control(|c| c.budget.remaining) >= 20);
}

#[sqlx::test(migrations = false)]
async fn two_tokens_of_one_account_are_one_budget_and_said_so_once(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "widgets", 200)]).await;
    accounts(&h, &[(A, "alice"), (B, "alice")], 20);
    let tokens = format!("{A},{B}");
    let env = [("GITHUB_TOKENS", tokens.as_str())];
    h.ok(&["migrate"]).await;
    assert_eq!(h.backfill_with(&["add", "acme/widgets"], &env).await.status.code(), Some(0));
    let from = h.fake.requests().len();
    let run = h.backfill_with(&["run", "--time-budget", "2m", "--chunk-size", "5"], &env).await;
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let err = stderr(&run);
    let said: Vec<&str> = err.lines().filter(|l| l.contains("share one hourly budget")).collect();
    assert_eq!(said.len(), 1, "said once:\n{err}");
    let names = kept(&h).await;
    for (name, _, left) in &names {
        assert!(said[0].contains(name.as_str()), "names both: {}\n{names:?}", said[0]);
        assert_eq!(*left, 0, "both spent: {names:?}");
    }
    assert_eq!(h.status_of("acme/widgets").await, "paused", "waits for the one budget's reset");
    // The second token was asked once, to learn it was the same budget:
    // after the first refusal (the first token's, or the second's first
    // answer) at most that one answer more.
    let log = &h.fake.requests()[from..];
    let first_refusal = log.iter().position(|r| r.rate_limited).unwrap_or(log.len());
    assert!(log.len() - first_refusal <= 2, "{} requests after the budget was spent", log.len() - first_refusal);
}

#[sqlx::test(migrations = false)]
async fn a_rejected_token_of_a_pool_is_named(pool: PgPool) {
    // The first token's two points take the run to the second, mid-run.
    let h = Harness::start(pool, &[spec("acme", "widgets", 100)]).await;
    accounts(&h, &[(A, "alice")], 2);
    h.add("acme/widgets").await;
    let tokens = format!("{A}\n{C}");
    for args in [&["run", "--dry-run"][..], &["run", "--chunk-size", "5", "--time-budget", "1m"]] {
        let out = h.backfill_with(args, &[("GITHUB_TOKENS", tokens.as_str())]).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let err = stderr(&out);
        assert!(err.contains("GitHub rejected the token …XkxP (") && err.contains("check GITHUB_TOKENS"), "{err}");
        assert_eq!(err.lines().filter(|l| l.starts_with("error: ")).count(), 1, "{err}");
        assert_named_only(&text(&out), &[A, C], "the output");
    }
}

#[sqlx::test(migrations = false)]
async fn a_token_known_spent_is_not_asked_again_before_its_reset(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "first", 100), spec("acme", "second", 20)]).await;
    accounts(&h, &[(A, "alice"), (B, "bob")], 20);
    let tokens = format!("{A} {B}");
    let env = [("GITHUB_TOKENS", tokens.as_str())];
    h.ok(&["migrate"]).await;
    assert_eq!(h.backfill_with(&["add", "acme/first"], &env).await.status.code(), Some(0));
    let run = h.backfill_with(&["run", "--time-budget", "2m", "--chunk-size", "5"], &env).await;
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    assert_eq!(h.status_of("acme/first").await, "completed", "{}", text(&run));
    h.ok(&["add", "acme/second"]).await;
    let from = h.fake.requests().len();
    let next = h.backfill_with(&["run", "--repository-id", "acme/second"], &env).await;
    assert_eq!(next.status.code(), Some(0), "{}", text(&next));
    assert_eq!(h.status_of("acme/second").await, "completed", "{}", text(&next));
    assert_eq!(account_order(&h, from), ["bob"], "alice, spent until her reset, was not asked");
}
