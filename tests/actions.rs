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
