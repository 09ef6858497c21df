//! Inside a GitHub Actions workflow: the step summary, the step outputs, and
//! annotations and groups on stdout, each escaped as the runner requires.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{spec, stderr, text, Harness};
use fake_github::Fault;
use sqlx::PgPool;

struct Workflow {
    dir: PathBuf,
}

impl Workflow {
    fn new() -> Workflow {
        let dir =
            std::env::temp_dir().join(format!("backfill-actions-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Workflow { dir }
    }
    fn summary(&self) -> PathBuf {
        self.dir.join("summary.md")
    }
    fn output(&self) -> PathBuf {
        self.dir.join("output.txt")
    }
    fn env(&self) -> Vec<(String, String)> {
        let p = |p: &Path| p.display().to_string();
        vec![
            ("GITHUB_ACTIONS".into(), "true".into()),
            ("GITHUB_STEP_SUMMARY".into(), p(&self.summary())),
            ("GITHUB_OUTPUT".into(), p(&self.output())),
        ]
    }
    /// The outputs of the last run (later lines win, as on a runner).
    fn outputs(&self) -> HashMap<String, String> {
        let text = std::fs::read_to_string(self.output()).unwrap_or_default();
        text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }
    fn clear(&self) {
        let _ = std::fs::remove_file(self.summary());
        let _ = std::fs::remove_file(self.output());
    }
}

impl Drop for Workflow {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn run_in(h: &Harness, wf: &Workflow, args: &[&str]) -> std::process::Output {
    let env = wf.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    h.backfill_with(args, &env).await
}

#[sqlx::test(migrations = false)]
async fn a_run_writes_its_summary_outputs_groups_and_annotations(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "one", 120), spec("acme", "two", 80)]).await;
    h.add("acme/one").await;
    h.ok(&["add", "acme/two"]).await;
    let wf = Workflow::new();

    let out = run_in(&h, &wf, &["run"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let outputs = wf.outputs();
    let want = [("prs_stored", "100"), ("chunks", "2"), ("failed_chunks", "0"), ("status", "ok")];
    for (k, v) in want {
        assert_eq!(outputs.get(k).map(String::as_str), Some(v), "output {k}: {outputs:?}");
    }
    let remaining: i64 = outputs["rate_limit_remaining"].parse().expect("a number");
    assert!(remaining > 4_900 && remaining < 5_000, "{remaining}");
    let md = std::fs::read_to_string(wf.summary()).expect("summary written");
    assert!(md.contains("| Repository | PRs stored this run | Processed |"), "{md}");
    assert!(md.contains("| acme/one | 50 | 50/120 | 41.7% | 50 |"), "{md}");
    assert!(md.contains("| acme/two | 50 | 50/80 | 62.5% | 50 |"), "{md}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for group in ["::group::acme/one", "::group::acme/two"] {
        assert!(stdout.lines().any(|l| l == group), "{group} in:\n{stdout}");
    }
    assert_eq!(stdout.matches("::group::").count(), stdout.matches("::endgroup::").count(), "{stdout}");

    // A failure whose message needs escaping: one annotation line, % escaped.
    wf.clear();
    let message = "100% of\nthe nodes: gone, really";
    h.fake.with_control(|c| c.faults.push_back(Fault::GraphqlError { kind: None, message: message.into() }));
    let out = run_in(&h, &wf, &["run", "--repository-id", "acme/one"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let errors: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::error")).collect();
    assert_eq!(errors.len(), 1, "{stdout}");
    assert!(errors[0].starts_with("::error title=backfill::acme/one: chunk failed"), "{}", errors[0]);
    assert!(errors[0].contains("100%25 of the nodes: gone, really"), "{}", errors[0]);
    assert!(stderr(&out).lines().filter(|l| l.starts_with("error:")).count() == 1, "one line on stderr too");
    assert_eq!(wf.outputs().get("status").map(String::as_str), Some("failed"));
    assert_eq!(wf.outputs().get("failed_chunks").map(String::as_str), Some("1"));
    let md = std::fs::read_to_string(wf.summary()).expect("summary written");
    assert!(md.contains("chunk failed"), "{md}");

    // The rate limit: a warning annotation and status rate_limited.
    wf.clear();
    h.fake.with_control(|c| c.budget = fake_github::world::Budget::new(1, std::time::Duration::from_secs(600)));
    let out = run_in(&h, &wf, &["run"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().any(|l| l.starts_with("::warning title=backfill::") && l.contains("paused until")),
        "{stdout}"
    );
    assert_eq!(wf.outputs().get("status").map(String::as_str), Some("rate_limited"));
}

#[sqlx::test(migrations = false)]
async fn outside_actions_nothing_of_this_is_written(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "one", 60)]).await;
    h.add("acme/one").await;
    let wf = Workflow::new();
    let mut env = wf.env();
    env[0].1 = "false".into();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = h.backfill_with(&["run"], &env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!wf.summary().exists() && !wf.output().exists());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("::"), "{}", text(&out));
}

/// A port on 127.0.0.1 that nothing listens on: bound, read, let go.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// The binary alone, in a workflow, with no database behind the URL.
async fn run_without_database(wf: &Workflow, args: &[&str], database_url: &str) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_backfill"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("GITHUB_TOKEN", common::TOKEN)
        .env("BACKFILL_NO_PROGRESS", "true")
        .envs(wf.env())
        .kill_on_drop(true);
    tokio::time::timeout(std::time::Duration::from_secs(120), cmd.output())
        .await
        .expect("backfill finished within two minutes")
        .expect("backfill binary runs")
}

#[tokio::test]
async fn a_run_that_cannot_reach_the_database_still_writes_its_outputs_and_summary() {
    let port = closed_port();
    let wf = Workflow::new();
    let out = run_without_database(&wf, &["run"], &format!("postgres://backfill:secret@127.0.0.1:{port}/db")).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let outputs = wf.outputs();
    let want = [("status", "failed"), ("prs_stored", "0"), ("chunks", "0"), ("failed_chunks", "0")];
    for (k, v) in want {
        assert_eq!(outputs.get(k).map(String::as_str), Some(v), "output {k}: {outputs:?}");
    }
    assert_eq!(outputs.get("rate_limit_remaining").map(String::as_str), Some(""), "{outputs:?}");
    let md = std::fs::read_to_string(wf.summary()).expect("summary written");
    assert!(md.starts_with("### backfill run\n\n") && md.contains("**failed**"), "{md}");
    let reason = stderr(&out).trim_end().strip_prefix("error: ").map(str::to_string).unwrap_or_default();
    assert!(!reason.is_empty() && md.contains(&reason), "the summary says why ({reason:?}):\n{md}");
    assert!(md.contains("127.0.0.1") && md.contains(&port.to_string()), "the reason names host and port:\n{md}");
    assert!(!text(&out).contains("secret") && !md.contains("secret"), "no password:\n{}\n{md}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().filter(|l| l.starts_with("::error title=backfill::")).count(), 1, "{stdout}");
}

#[tokio::test]
async fn a_usage_error_in_a_workflow_sets_status_failed() {
    let wf = Workflow::new();
    let out = run_without_database(&wf, &["run", "--time-budget", "25M"], "postgres://127.0.0.1/db").await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(wf.outputs().get("status").map(String::as_str), Some("failed"));
    let md = std::fs::read_to_string(wf.summary()).expect("summary written");
    assert!(md.contains("### backfill run") && md.contains("write 25m for 25 minutes"), "{md}");
}
