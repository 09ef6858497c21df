//! The action's own scripts, run here as a runner runs them: every command
//! with only the inputs given, the download with a stand-in for `gh` and its
//! checksum, and a new adopter's migrate, add and run against the fake GitHub.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::action_runner::{action_script, both, run_env, Runner};
use common::{spec, text, Harness, TOKEN};
use fake_github::{FakeGithub, World};
use sqlx::PgPool;

/// Runs the action's run step with a stand-in binary that prints each
/// argument it gets on a line.
async fn arguments_for(given: &[(&str, &str)]) -> (Output, String) {
    let runner = Runner::new("action");
    let echo = runner.path("bin/print-args");
    runner.executable(&echo, "#!/bin/sh\nfor a in \"$@\"; do echo \"[$a]\"; done\n");
    let mut env = run_env(given);
    env.push(("BACKFILL_BIN".into(), echo.display().to_string()));
    let (out, _) = runner.step(&action_script("run"), &env).await;
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    (out, printed)
}

#[tokio::test]
async fn the_action_passes_inputs_as_arguments_and_evaluates_none() {
    let dir = std::env::temp_dir().join(format!("backfill-evil-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let evil = dir.join("evaluated");
    let repository_id = format!("acme/one; touch {}", evil.display());
    let args = format!("-v $(touch {}) --no-progress", evil.display());
    let (out, printed) = arguments_for(&[
        ("IN_REPOSITORY_ID", &repository_id),
        ("IN_CHUNK_SIZE", "20"),
        ("IN_TIME_BUDGET", "25m"),
        ("IN_DRY_RUN", "true"),
        ("IN_ARGS", &args),
    ])
    .await;
    assert!(out.status.success(), "{}", both(&out));
    let want = [
        "[run]".to_string(),
        format!("[--repository-id]\n[acme/one; touch {}]", evil.display()),
        "[--chunk-size]\n[20]".to_string(),
        "[--time-budget]\n[25m]".to_string(),
        "[--dry-run]".to_string(),
        "[-v]".to_string(),
        "[$(touch".to_string(),
        "[--no-progress]".to_string(),
    ];
    for w in want {
        assert!(printed.contains(&w), "{w} in:\n{printed}");
    }
    for absent in ["--max-chunks", "--migrate", "--report-issue"] {
        assert!(!printed.contains(absent), "an empty input adds no argument ({absent}):\n{printed}");
    }
    let evaluated = evil.exists();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!evaluated, "an input was evaluated by the shell");
}

#[tokio::test]
async fn the_action_runs_every_command_with_only_the_inputs_given() {
    // No command: run, and nothing else when no input is given.
    let (out, printed) = arguments_for(&[]).await;
    assert!(out.status.success(), "{}", both(&out));
    assert_eq!(printed, "[run]\n");

    let hostile = "acme/ops$(touch /nonexistent/evaluated)";
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("IN_COMMAND", "run"), ("IN_MIGRATE", "true"), ("IN_REPORT_ISSUE", hostile)],
            "[run]\n[--report-issue]\n[acme/ops$(touch /nonexistent/evaluated)]\n[--migrate]\n",
        ),
        (&[("IN_COMMAND", "run"), ("IN_MIGRATE", "false"), ("IN_DRY_RUN", "false")], "[run]\n"),
        (&[("IN_COMMAND", "run"), ("IN_AUDIT", "500")], "[run]\n[--audit]\n[500]\n"),
        (&[("IN_COMMAND", "verify")], "[verify]\n"),
        (
            &[("IN_COMMAND", "verify"), ("IN_REPOSITORY", "acme/*"), ("IN_ARGS", "--repair")],
            "[verify]\n[acme/*]\n[--repair]\n",
        ),
        (&[("IN_COMMAND", "migrate"), ("IN_REPOSITORY_ID", "acme/one"), ("IN_MIGRATE", "true")], "[migrate]\n"),
        (&[("IN_COMMAND", "add"), ("IN_REPOSITORY", "acme/one")], "[add]\n[acme/one]\n"),
        // A whole owner: the pattern reaches the binary as it is, never a glob.
        (&[("IN_COMMAND", "add"), ("IN_REPOSITORY", "acme/*")], "[add]\n[acme/*]\n"),
        (&[("IN_COMMAND", "remove"), ("IN_REPOSITORY", "acme/*")], "[remove]\n[acme/*]\n"),
        (
            &[("IN_COMMAND", "add"), ("IN_REPOSITORY", "acme/one"), ("IN_CHUNK_SIZE", "10")],
            "[add]\n[acme/one]\n[--chunk-size]\n[10]\n",
        ),
        (&[("IN_COMMAND", "status"), ("IN_ARGS", "--json")], "[status]\n[--json]\n"),
        (&[("IN_COMMAND", "status"), ("IN_REPOSITORY_ID", "acme/one")], "[status]\n[--repository-id]\n[acme/one]\n"),
        (&[("IN_COMMAND", "pause"), ("IN_REPOSITORY", "acme/one")], "[pause]\n[acme/one]\n"),
        (&[("IN_COMMAND", "resume"), ("IN_REPOSITORY_ID", "acme/two")], "[resume]\n[acme/two]\n"),
        (
            &[("IN_COMMAND", "history"), ("IN_REPOSITORY", "acme/one"), ("IN_ARGS", "--failed")],
            "[history]\n[acme/one]\n[--failed]\n",
        ),
        (
            &[("IN_COMMAND", "priority"), ("IN_REPOSITORY", "acme/one"), ("IN_ARGS", "high")],
            "[priority]\n[acme/one]\n[high]\n",
        ),
        (
            &[("IN_COMMAND", "remove"), ("IN_REPOSITORY_ID", "acme/two"), ("IN_ARGS", "--purge")],
            "[remove]\n[acme/two]\n[--purge]\n",
        ),
    ];
    for (given, want) in cases {
        let (out, printed) = arguments_for(given).await;
        assert!(out.status.success(), "{given:?}: {}", both(&out));
        assert_eq!(printed, *want, "{given:?}");
    }

    // Refused before the binary runs: an unknown command, add or pause
    // without a repository. Exit 2 and an error annotation, as for a usage error.
    let refused: &[(&[(&str, &str)], &str)] = &[
        (&[("IN_COMMAND", "drop-tables; true")], "input command is 'drop-tables??true'"),
        (&[("IN_COMMAND", "add")], "command add needs the input repository"),
        (&[("IN_COMMAND", "pause")], "command pause needs the input repository"),
        (&[("IN_COMMAND", "remove")], "command remove needs the input repository"),
    ];
    for (given, want) in refused {
        let (out, printed) = arguments_for(given).await;
        assert_eq!(out.status.code(), Some(2), "{given:?}: {}", both(&out));
        assert!(printed.starts_with("::error title=backfill::") && printed.contains(want), "{given:?}: {printed}");
        assert_eq!(printed.lines().count(), 1, "{printed}");
    }
}

#[tokio::test]
async fn the_download_is_checked_against_its_sha256_and_says_why_it_falls_back() {
    // A release whose asset matches its .sha256: used.
    let runner = Runner::new("fetch");
    runner.fake_gh();
    let stand_in = runner.path("bin/print-args");
    runner.executable(&stand_in, "#!/bin/sh\necho \"[$*]\"\n");
    runner.release(&stand_in);
    let (out, outputs) = runner.fetch(&[]).await;
    assert!(out.status.success(), "{}", both(&out));
    assert_eq!(outputs.get("found").map(String::as_str), Some("true"), "{outputs:?}\n{}", both(&out));
    let bin = PathBuf::from(&outputs["bin"]);
    assert!(bin.starts_with(runner.path("temp")) && bin.exists(), "{bin:?}");
    let calls = runner.gh_calls();
    for want in ["release download v9.9.9 --repo acme/backfill", "--pattern backfill-x86_64-unknown-linux-gnu.tar.gz "]
    {
        assert!(calls.contains(want), "{want} in {calls}");
    }
    assert!(calls.contains("--pattern backfill-x86_64-unknown-linux-gnu.tar.gz.sha256"), "the .sha256 too: {calls}");
    assert!(both(&out).contains("backfill-x86_64-unknown-linux-gnu.tar.gz: OK"), "{}", both(&out));

    // The asset does not match: the step fails, saying so, and names no binary.
    let sha = runner.path("release/backfill-x86_64-unknown-linux-gnu.tar.gz.sha256");
    std::fs::write(&sha, format!("{}  backfill-x86_64-unknown-linux-gnu.tar.gz\n", "0".repeat(64))).expect("sha");
    let (out, outputs) = runner.fetch(&[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().any(|l| l.starts_with("::error title=backfill::")
            && l.contains("does not match its .sha256")
            && l.contains(&"0".repeat(64))),
        "{stdout}"
    );
    assert!(!outputs.contains_key("bin") && !outputs.contains_key("found"), "{outputs:?}");
    assert!(!runner.path("temp/backfill-bin/backfill").exists(), "a mismatched archive is not unpacked");

    // A release without the .sha256: built from source, saying why.
    std::fs::remove_file(&sha).expect("rm");
    let (out, outputs) = runner.fetch(&[]).await;
    assert!(out.status.success(), "{}", both(&out));
    assert_eq!(outputs.get("found").map(String::as_str), Some("false"));
    assert!(both(&out).contains("lacks backfill-x86_64-unknown-linux-gnu.tar.gz or"), "{}", both(&out));

    // The download fails: gh's own message is printed before the fallback.
    let why = "HTTP 404: Not Found (https://api.github.com/repos/acme/backfill/releases/tags/v9.9.9)";
    let (out, outputs) = runner.fetch(&[("FAKE_GH_FAIL", why)]).await;
    assert!(out.status.success(), "{}", both(&out));
    assert_eq!(outputs.get("found").map(String::as_str), Some("false"));
    let printed = both(&out);
    assert!(printed.contains(why) && printed.contains("building backfill from source"), "{printed}");

    // No release for the platform: no download tried.
    let before = runner.gh_calls();
    let (out, outputs) = runner.fetch(&[("RUNNER_OS_NAME", "macOS"), ("RUNNER_ARCH_NAME", "ARM64")]).await;
    assert!(out.status.success(), "{}", both(&out));
    assert_eq!(outputs.get("found").map(String::as_str), Some("false"));
    assert!(both(&out).contains("no prebuilt binary for macOS/ARM64"), "{}", both(&out));
    assert_eq!(runner.gh_calls(), before, "gh is not asked");
}

/// A new adopter, through the action alone, as its workflows run it: the
/// release binary fetched and checked, then `command: migrate`, `command:
/// add` and `command: run` against an empty database.
#[sqlx::test(migrations = false)]
async fn a_new_adopter_gets_from_an_empty_database_to_a_backfill_through_the_action(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "adopted", 120)]).await;
    let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(tables, 0, "an empty database");

    // The action finds the binary through the prebuilt step's `bin` output:
    // a release archive holding the binary under test.
    let runner = Runner::new("adopt");
    runner.fake_gh();
    runner.release(Path::new(env!("CARGO_BIN_EXE_backfill")));
    let (out, fetched) = runner.fetch(&[]).await;
    assert_eq!(fetched.get("found").map(String::as_str), Some("true"), "{}", both(&out));
    let bin = fetched["bin"].clone();

    // What the run step gets from its inputs, and what a runner sets.
    let step = |given: &[(&str, &str)], graphql_url: String| {
        let mut env = run_env(given);
        env.extend(
            [
                ("BACKFILL_BIN", bin.clone()),
                ("DATABASE_URL", h.db_url.clone()),
                ("GITHUB_TOKEN", TOKEN.to_string()),
                ("GITHUB_GRAPHQL_URL", graphql_url),
            ]
            .map(|(k, v)| (k.to_string(), v)),
        );
        env
    };
    let script = action_script("run");
    let url = h.fake.graphql_url();

    let (out, _) = runner.step(&script, &step(&[("IN_COMMAND", "migrate")], url.clone())).await;
    assert!(out.status.success(), "migrate: {}", text(&out));

    let (out, outputs) =
        runner.step(&script, &step(&[("IN_COMMAND", "add"), ("IN_REPOSITORY", "acme/adopted")], url.clone())).await;
    assert!(out.status.success(), "add: {}", text(&out));
    let id: String = sqlx::query_scalar("SELECT id::text FROM repositories WHERE full_name = 'acme/adopted'")
        .fetch_one(&pool)
        .await
        .expect("the repository is tracked");
    assert_eq!(outputs.get("repository_id"), Some(&id), "{outputs:?}\n{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&id), "add prints the id: {}", text(&out));
    assert_eq!(h.status_of("acme/adopted").await, "active");
    // A mistyped repository: the step fails as the binary does, and its
    // error annotation still reaches the log.
    let (out, outputs) =
        runner.step(&script, &step(&[("IN_COMMAND", "add"), ("IN_REPOSITORY", "acme/adoptde")], url.clone())).await;
    assert_eq!(out.status.code(), Some(2), "add a missing repository: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.lines().any(|l| l.starts_with("::error") && l.contains("acme/adoptde")), "{}", text(&out));
    assert!(!outputs.contains_key("repository_id"), "{outputs:?}");
    // A whole owner: a line per repository and a total, and no single id.
    let (out, outputs) =
        runner.step(&script, &step(&[("IN_COMMAND", "add"), ("IN_REPOSITORY", "acme/*")], url.clone())).await;
    assert!(out.status.success(), "add acme/*: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("acme/adopted: already tracked, left as it is"), "{}", text(&out));
    assert!(stdout.contains("total: 0 tracked now, 1 already tracked, 0 skipped"), "{}", text(&out));
    assert!(!outputs.contains_key("repository_id"), "{outputs:?}");

    let run = [("IN_COMMAND", "run"), ("IN_TIME_BUDGET", "2m"), ("IN_REPORT_ISSUE", "acme/ops")];
    let (out, outputs) = runner.step(&script, &step(&run, url.clone())).await;
    assert!(out.status.success(), "run: {}", text(&out));
    assert_eq!(outputs.get("status").map(String::as_str), Some("completed"), "{outputs:?}\n{}", text(&out));
    assert_eq!(outputs.get("prs_stored").map(String::as_str), Some("120"), "{outputs:?}");
    assert_eq!(h.status_of("acme/adopted").await, "completed");
    assert_eq!(h.processed_prs("acme/adopted").await, 120);
    let prs: i64 = sqlx::query_scalar("SELECT count(*) FROM pull_requests").fetch_one(&pool).await.expect("count");
    assert_eq!(prs, 120);
    assert!(h.fake.with_control(|c| c.issues.is_empty()), "nothing to report");

    // A second repository, served by a fake of its own (each fake serves its
    // one repository as the first): its own row, the first one untouched.
    let second = FakeGithub::start(World::new(&[spec("acme", "second", 30)])).await.expect("fake GitHub starts");
    second.with_control(|c| c.token = Some(TOKEN.to_string()));
    let (out, _) = runner
        .step(&script, &step(&[("IN_COMMAND", "add"), ("IN_REPOSITORY", "acme/second")], second.graphql_url()))
        .await;
    assert!(out.status.success(), "add the second: {}", text(&out));
    let names: Vec<String> = sqlx::query_scalar("SELECT full_name FROM repositories ORDER BY full_name")
        .fetch_all(&pool)
        .await
        .expect("repositories");
    assert_eq!(names, ["acme/adopted", "acme/second"]);
    assert_eq!(h.status_of("acme/adopted").await, "completed");
    assert_eq!(h.status_of("acme/second").await, "active");
}

/// The scheduled workflow's first run on a database nobody migrated:
/// `migrate: true` creates the tables and the run finds nothing to do yet.
#[sqlx::test(migrations = false)]
async fn the_first_scheduled_run_on_an_empty_database_creates_the_tables(pool: PgPool) {
    let h = Harness::start(pool.clone(), &[spec("acme", "adopted", 10)]).await;
    let runner = Runner::new("first-run");
    let mut env = run_env(&[("IN_MIGRATE", "true"), ("IN_TIME_BUDGET", "20m"), ("IN_REPORT_ISSUE", "acme/ops")]);
    env.extend(
        [
            ("BACKFILL_BIN", env!("CARGO_BIN_EXE_backfill").to_string()),
            ("DATABASE_URL", h.db_url.clone()),
            ("GITHUB_TOKEN", TOKEN.to_string()),
            ("GITHUB_GRAPHQL_URL", h.fake.graphql_url()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let (out, outputs) = runner.step(&action_script("run"), &env).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(outputs.get("status").map(String::as_str), Some("idle"), "{outputs:?}\n{}", text(&out));
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' \
         AND tablename IN ('repositories', 'progressive_backfill_state', 'backfill_chunks')",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(tables, 3, "{}", text(&out));
}
