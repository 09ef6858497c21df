//! What a person at a terminal sees: exit codes, one-line errors, no secrets,
//! and nothing written when the input is wrong.

mod common;

use common::{spec, stderr, text, Harness, TOKEN};
use sqlx::PgPool;

async fn table_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        .fetch_one(pool)
        .await
        .expect("count")
}

fn one_line_error(out: &std::process::Output, code: i32, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{}", text(out));
    assert_eq!(err.trim_end().lines().count(), 1, "one line on stderr: {err:?}");
    assert!(err.contains(needle), "stderr {err:?} should mention {needle:?}");
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "no panic: {err}");
}

#[sqlx::test(migrations = false)]
async fn bad_arguments_are_one_line_usage_errors_that_write_nothing(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "widgets", 10)]).await;
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--chunk-size", "4"], "5 to 50"),
        (&["run", "--chunk-size", "fifty"], "5 to 50"),
        (&["run", "--max-chunks", "0"], "--max-chunks"),
        (&["run", "--time-budget", "soon"], "duration"),
        (&["add", "not-a-repository"], "OWNER/NAME"),
        (&["add", "a/b/c"], "OWNER/NAME"),
        (&["frobnicate"], "frobnicate"),
    ];
    for (args, needle) in cases {
        let out = h.backfill(args).await;
        one_line_error(&out, 2, needle);
    }
    let out = h.backfill_with(&["migrate"], &[("DATABASE_URL", "")]).await;
    one_line_error(&out, 2, "DATABASE_URL");
    let out = h.backfill_with(&["migrate"], &[("DATABASE_URL", "mysql://nope")]).await;
    one_line_error(&out, 2, "PostgreSQL URL");
    let out = h.backfill_with(&["run"], &[("GITHUB_TOKEN", "")]).await;
    one_line_error(&out, 2, "GITHUB_TOKEN");
    assert_eq!(table_count(&pool).await, 0, "nothing was created");
    assert!(h.fake.requests().is_empty(), "nothing was sent to GitHub");
}

#[sqlx::test(migrations = false)]
async fn commands_before_migrate_say_how_to_fix_it(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "widgets", 10)]).await;
    for args in [&["run"][..], &["add", "acme/widgets"], &["status"], &["pause", "acme/widgets"]] {
        let out = h.backfill(args).await;
        one_line_error(&out, 2, "backfill migrate");
    }
    assert_eq!(table_count(&pool).await, 0);
}

#[sqlx::test(migrations = false)]
async fn an_unknown_repository_is_refused_and_nothing_written(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "widgets", 10)]).await;
    h.ok(&["migrate"]).await;
    let out = h.backfill(&["add", "acme/nonexistent"]).await;
    one_line_error(&out, 2, "acme/nonexistent");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM repositories").fetch_one(&pool).await.expect("count");
    assert_eq!(rows, 0);
}

#[sqlx::test(migrations = false)]
async fn a_rejected_token_exits_2_writes_nothing_and_is_never_printed(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "widgets", 40)]).await;
    h.add("acme/widgets").await;
    let wrong = "ghp_wrong_secret_value_42";
    for args in [&["run"][..], &["add", "acme/widgets"]] {
        let out = h.backfill_with(args, &[("GITHUB_TOKEN", wrong)]).await;
        one_line_error(&out, 2, "token");
        assert!(!text(&out).contains(wrong));
    }
    let chunks: i64 = sqlx::query_scalar("SELECT count(*) FROM backfill_chunks").fetch_one(&pool).await.expect("count");
    let (errors, status): (i32, String) =
        sqlx::query_as("SELECT error_count, status::text FROM progressive_backfill_state")
            .fetch_one(&pool)
            .await
            .expect("state");
    assert_eq!((chunks, errors, status.as_str()), (0, 0, "active"));
}

#[sqlx::test(migrations = false)]
async fn no_output_shows_the_token_or_the_database_password(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "widgets", 60)]).await;
    h.add("acme/widgets").await;
    for args in
        [&["-v", "run"][..], &["-v", "status"], &["-v", "status", "--json"], &["-v", "run", "--dry-run"], &["--help"]]
    {
        let out = h.ok(args).await;
        assert!(!text(&out).contains(TOKEN), "{args:?} printed the token");
    }
    let secret_url = "postgres://someone:pa55w0rd-secret@127.0.0.1:1/nowhere";
    let out = h.backfill_with(&["status"], &[("DATABASE_URL", secret_url)]).await;
    one_line_error(&out, 1, "PostgreSQL");
    assert!(!text(&out).contains("pa55w0rd-secret"));
}

#[sqlx::test(migrations = false)]
async fn status_reports_each_backfill_as_a_table_and_as_json(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "widgets", 120), spec("acme", "gears", 20)]).await;
    let id = h.add("acme/widgets").await;
    h.ok(&["add", "acme/gears"]).await;
    h.ok(&["run"]).await;
    let out = h.ok(&["status", "--json"]).await;
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    let rows = rows.as_array().expect("an array");
    assert_eq!(rows.len(), 2);
    let widgets = rows.iter().find(|r| r["repository"] == "acme/widgets").expect("widgets row");
    assert_eq!(widgets["repository_id"], id.as_str());
    assert_eq!((widgets["processed_prs"].as_i64(), widgets["total_prs"].as_i64()), (Some(50), Some(120)));
    assert_eq!(widgets["chunks_done"].as_i64(), Some(1));
    let gears = rows.iter().find(|r| r["repository"] == "acme/gears").expect("gears row");
    assert_eq!((gears["status"].as_str(), gears["percent"].as_f64()), (Some("completed"), Some(100.0)));
    let table = String::from_utf8_lossy(&h.ok(&["status"]).await.stdout).to_string();
    assert!(table.contains("acme/widgets") && table.contains("50/120") && table.contains("41.7%"), "{table}");
    let one = h.ok(&["status", "--repository-id", "acme/gears", "--json"]).await;
    let one: serde_json::Value = serde_json::from_slice(&one.stdout).expect("json");
    assert_eq!(one.as_array().map(Vec::len), Some(1));
}

#[sqlx::test(migrations = false)]
async fn paused_backfills_are_skipped_until_resumed(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "widgets", 120)]).await;
    h.add("acme/widgets").await;
    h.ok(&["pause", "acme/widgets"]).await;
    h.ok(&["run"]).await;
    h.ok(&["run", "--repository-id", "acme/widgets"]).await;
    assert_eq!(h.status_of("acme/widgets").await, "paused");
    // Each run with nothing to do checks the token, for free; nothing else is asked.
    let asked: Vec<_> = h.fake.requests().iter().map(|r| (r.operation.clone(), r.cost)).collect();
    let check = (Some("RateLimitNow".to_string()), 0);
    assert_eq!(asked, vec![(Some("RepositoryLookup".to_string()), 1), check.clone(), check], "the lookup of `add`");
    h.ok(&["resume", "acme/widgets"]).await;
    h.ok(&["run"]).await;
    let processed = h.processed_prs("acme/widgets").await;
    assert_eq!(processed, 50);
}

#[sqlx::test(migrations = false)]
async fn dry_run_reads_the_budget_only_and_writes_nothing(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "widgets", 120)]).await;
    h.add("acme/widgets").await;
    h.ok(&["run"]).await;
    // Every row of every table, as text: the database byte for byte. Only
    // the credentials' budgets, which the check reads from GitHub, are kept.
    let dump_sql: Vec<String> = backfill::store::TABLES
        .iter()
        .filter(|t| **t != "backfill_credentials")
        .map(|t| format!("(SELECT coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '') FROM {t} x)"))
        .collect();
    let dump = format!("SELECT {}", dump_sql.join(" || E'\\n--\\n' || "));
    let before: String = sqlx::query_scalar(&dump).fetch_one(&pool).await.expect("dump");
    let sent = h.fake.requests().len();
    let out = h.ok(&["run", "--dry-run", "--chunk-size", "20"]).await;
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("acme/widgets: would fetch 20 PRs"), "{said}");
    assert!(said.contains("of 5000 points"), "shows the budget GitHub reports now: {said}");
    let after: String = sqlx::query_scalar(&dump).fetch_one(&pool).await.expect("dump");
    assert_eq!(before, after, "the database is unchanged");
    let asked: Vec<Option<String>> = h.fake.requests()[sent..].iter().map(|r| r.operation.clone()).collect();
    assert_eq!(asked, vec![Some("RateLimitNow".to_string())], "only the budget was asked for");
    let kept: Vec<(String, i32)> = sqlx::query_as("SELECT name, points_left FROM backfill_credentials")
        .fetch_all(&pool)
        .await
        .expect("credentials");
    let left = h.fake.with_control(|c| c.budget.remaining) as i32;
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].0.starts_with("token …cdef (") && kept[0].1 == left, "the check's budget, by name: {kept:?}");
    assert!(said.contains(&format!("credential {}: {left} of 5000 points left", kept[0].0)), "{said}");
}

/// GitHub no longer has one repository: that backfill fails, the others go on.
#[sqlx::test(migrations = false)]
async fn a_vanished_repository_fails_alone(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "gone", 80), spec("acme", "stays", 80)]).await;
    h.add("acme/gone").await;
    h.ok(&["add", "acme/stays"]).await;
    h.fake.with_world(|w| {
        w.repos.retain(|r| r.name != "gone");
        w.reindex();
    });
    let out = h.backfill(&["run"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stderr(&out).contains("acme/gone"), "{}", text(&out));
    let (status, error): (String, Option<String>) = sqlx::query_as(
        "SELECT s.status::text, s.last_error FROM progressive_backfill_state s JOIN repositories r ON r.id = s.repository_id \
         WHERE r.name = 'gone'",
    )
    .fetch_one(&pool)
    .await
    .expect("state");
    assert_eq!(status, "failed");
    assert!(error.unwrap_or_default().contains("acme/gone"));
    let stays = h.processed_prs("acme/stays").await;
    assert_eq!(stays, 50);
}

/// The binary with no database or GitHub: for what clap decides alone.
async fn parse_only(args: &[&str]) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_backfill"));
    cmd.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).kill_on_drop(true);
    tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .expect("backfill finished within a minute")
        .expect("backfill binary runs")
}

#[tokio::test]
async fn mistyped_commands_and_flags_get_a_did_you_mean_on_the_same_line() {
    let cases: &[(&[&str], &str)] = &[
        (&["statsu"], "error: unrecognized subcommand 'statsu' (did you mean 'status'?) (see `backfill --help`)"),
        (&["run", "--dry-rn"], "(did you mean '--dry-run'?)"),
        (&["run", "--max-chunk", "2"], "(did you mean '--max-chunks'?)"),
        (&["--verbos", "run"], "(did you mean '--verbose'?)"),
    ];
    for (args, needle) in cases {
        one_line_error(&parse_only(args).await, 2, needle);
    }
}

#[tokio::test]
async fn a_time_budget_in_months_is_refused_and_minutes_are_suggested() {
    for budget in ["25M", "1y", "2months", "8d"] {
        let out = parse_only(&["run", "--time-budget", budget]).await;
        one_line_error(&out, 2, "write 25m for");
    }
    let out = parse_only(&["status", "--help"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("JSON array") && !help.contains("JSON lines"), "{help}");
}

/// Switches set from the environment read as a shell user writes them
/// (`1`, `yes`, `on`), and anything else is named.
#[tokio::test]
async fn switches_from_the_environment_take_1_yes_and_true() {
    let with_env = |var: &'static str, value: &'static str| async move {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_backfill"));
        cmd.args(["run"]).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).env(var, value);
        cmd.output().await.expect("backfill binary runs")
    };
    for (var, value) in [("BACKFILL_NO_PROGRESS", "1"), ("BACKFILL_DRY_RUN", "yes"), ("BACKFILL_DISCOVER", "true")] {
        // Parsed: the run goes on to ask for the database.
        one_line_error(&with_env(var, value).await, 2, "no database URL");
    }
    for (var, value) in [("BACKFILL_NO_PROGRESS", "0"), ("BACKFILL_TRANSACTION_POOLER", "off")] {
        one_line_error(&with_env(var, value).await, 2, "no database URL");
    }
    one_line_error(&with_env("BACKFILL_DRY_RUN", "maybe").await, 2, "invalid value 'maybe'");
}
