//! `action.yml` and the workflows parse, declare what the docs promise, and
//! never paste an expression into shell text (inputs reach scripts through
//! `env:` only, so no input can inject a command).

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(path: &Path) -> Yaml {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
    assert_eq!(docs.len(), 1, "{}: one document", path.display());
    docs.remove(0)
}

fn keys(y: &Yaml) -> Vec<String> {
    y.as_hash().map(|h| h.keys().filter_map(|k| k.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// Every `run:` script in a list of steps, with the step's name.
fn scripts(steps: &Yaml) -> Vec<(String, String)> {
    steps
        .as_vec()
        .map(|v| {
            v.iter()
                .filter_map(|s| {
                    let run = s["run"].as_str()?;
                    Some((s["name"].as_str().unwrap_or("?").to_string(), run.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn assert_no_expressions_in_scripts(file: &str, steps: &Yaml) {
    for (name, run) in scripts(steps) {
        assert!(!run.contains("${{"), "{file}, step '{name}': an expression in shell text; pass it through env:");
    }
}

#[test]
fn the_action_declares_its_inputs_and_outputs_and_keeps_inputs_out_of_scripts() {
    let action = load(&root().join("action.yml"));
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let inputs = keys(&action["inputs"]);
    for want in
        ["repository-id", "chunk-size", "max-chunks", "time-budget", "dry-run", "database-url", "github-token", "args"]
    {
        assert!(inputs.contains(&want.to_string()), "input {want} in {inputs:?}");
    }
    assert_eq!(action["inputs"]["github-token"]["default"].as_str(), Some("${{ github.token }}"));
    let outputs = keys(&action["outputs"]);
    for want in ["prs_stored", "chunks", "failed_chunks", "rate_limit_remaining", "status"] {
        assert!(outputs.contains(&want.to_string()), "output {want} in {outputs:?}");
        let value = action["outputs"][want]["value"].as_str().unwrap_or("");
        assert!(value.contains(&format!("steps.run.outputs.{want}")), "output {want} comes from the run step");
    }
    assert_no_expressions_in_scripts("action.yml", &action["runs"]["steps"]);
    let steps = action["runs"]["steps"].as_vec().expect("steps");
    assert!(steps.iter().all(|s| s["shell"].as_str() == Some("bash") || s["uses"].as_str().is_some()), "bash steps");
}

#[test]
fn the_workflows_parse_and_keep_expressions_out_of_scripts() {
    let dir = root().join(".github/workflows");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("workflows").flatten() {
        let path = entry.path();
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
        let wf = load(&path);
        assert!(!keys(&wf["jobs"]).is_empty(), "{file} has jobs");
        for job in keys(&wf["jobs"]) {
            assert!(wf["jobs"][job.as_str()]["timeout-minutes"].as_i64().is_some(), "{file}: job {job} has a timeout");
            assert_no_expressions_in_scripts(&file, &wf["jobs"][job.as_str()]["steps"]);
        }
        names.push(file);
    }
    names.sort();
    assert_eq!(names, ["backfill-matrix.yml", "ci.yml", "progressive-backfill.yml", "release.yml"]);

    let wf = load(&dir.join("progressive-backfill.yml"));
    assert_eq!(wf["on"]["schedule"][0]["cron"].as_str(), Some("*/30 * * * *"));
    assert_eq!(keys(&wf["on"]["workflow_dispatch"]["inputs"]), ["repository_id", "chunk_size"]);
    assert!(wf["concurrency"]["group"].as_str().is_some(), "a concurrency group");
    let job = &wf["jobs"]["backfill"];
    let step = job["steps"]
        .as_vec()
        .and_then(|s| s.iter().find(|s| s["uses"].as_str() == Some("./")))
        .expect("uses the action");
    let budget = step["with"]["time-budget"].as_str().and_then(|b| b.trim_end_matches('m').parse::<i64>().ok());
    let timeout = job["timeout-minutes"].as_i64().unwrap_or(0);
    assert!(budget.is_some_and(|b| b < timeout), "the job timeout ({timeout}m) is above the time budget ({budget:?}m)");
    assert!(step["with"]["database-url"].as_str().is_some_and(|v| v.contains("secrets.DATABASE_URL")));

    let release = load(&dir.join("release.yml"));
    let targets: Vec<&str> = release["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_vec()
        .map(|v| v.iter().filter_map(|t| t["target"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(targets, ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"]);
}

#[test]
fn the_readme_shows_how_to_use_the_action() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let snippet = readme.split("```yaml").nth(1).and_then(|s| s.split("```").next()).expect("a yaml block");
    let yaml = YamlLoader::load_from_str(snippet).expect("the snippet is YAML");
    let step = &yaml[0][0];
    assert!(step["uses"].as_str().is_some_and(|u| u.contains("backfill@")), "{snippet}");
    assert!(step["with"]["database-url"].as_str().is_some(), "{snippet}");
}

#[test]
fn the_action_passes_inputs_as_arguments_and_evaluates_none() {
    let action = load(&root().join("action.yml"));
    let steps = action["runs"]["steps"].as_vec().expect("steps");
    let run = steps.iter().find(|s| s["id"].as_str() == Some("run")).and_then(|s| s["run"].as_str()).expect("run step");
    let dir = std::env::temp_dir().join(format!("backfill-action-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // Stands in for the binary: prints each argument it gets on a line.
    let echo = dir.join("print-args");
    std::fs::write(&echo, "#!/bin/sh\nfor a in \"$@\"; do echo \"[$a]\"; done\n").expect("script");
    let chmod = std::process::Command::new("chmod").arg("+x").arg(&echo).status();
    assert!(chmod.is_ok_and(|s| s.success()));
    let evil = dir.join("evaluated");
    let out = std::process::Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", run])
        .env("BACKFILL_BIN", &echo)
        .env("IN_REPOSITORY_ID", format!("acme/one; touch {}", evil.display()))
        .env("IN_CHUNK_SIZE", "20")
        .env("IN_MAX_CHUNKS", "")
        .env("IN_TIME_BUDGET", "25m")
        .env("IN_DRY_RUN", "true")
        .env("IN_ARGS", format!("-v $(touch {}) --no-progress", evil.display()))
        .output()
        .expect("bash runs");
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    let evaluated = evil.exists();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{printed}{}", String::from_utf8_lossy(&out.stderr));
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
    assert!(!printed.contains("--max-chunks"), "an empty input adds no argument:\n{printed}");
    assert!(!evaluated, "an input was evaluated by the shell");
}
