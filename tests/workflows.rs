//! `action.yml` and the workflows parse, declare what the docs promise, and
//! never paste an expression into shell text (inputs reach scripts through
//! `env:` only, so no input can inject a command). `action_scripts.rs` runs
//! the action's own scripts as a runner does.

mod common;

use common::workflow_files::{keys, load, root};
use yaml_rust2::{Yaml, YamlLoader};

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
    for want in [
        "command",
        "repository",
        "repository-id",
        "chunk-size",
        "max-chunks",
        "time-budget",
        "dry-run",
        "migrate",
        "report-issue",
        "database-url",
        "github-token",
        "args",
    ] {
        assert!(inputs.contains(&want.to_string()), "input {want} in {inputs:?}");
    }
    assert_eq!(action["inputs"]["github-token"]["default"].as_str(), Some("${{ github.token }}"));
    assert_eq!(action["inputs"]["command"]["default"].as_str(), Some("run"));
    assert_eq!(action["inputs"]["migrate"]["default"].as_str(), Some("false"));
    let outputs = keys(&action["outputs"]);
    for want in ["prs_stored", "chunks", "failed_chunks", "rate_limit_remaining", "status", "repository_id"] {
        assert!(outputs.contains(&want.to_string()), "output {want} in {outputs:?}");
        let value = action["outputs"][want]["value"].as_str().unwrap_or("");
        assert!(value.contains(&format!("steps.run.outputs.{want}")), "output {want} comes from the run step");
    }
    assert_no_expressions_in_scripts("action.yml", &action["runs"]["steps"]);
    let steps = action["runs"]["steps"].as_vec().expect("steps");
    // Every input reaches a script, and only through a step's env.
    let mapped: Vec<String> = steps
        .iter()
        .flat_map(|s| s["env"].as_hash().into_iter().flat_map(|h| h.values()))
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    for input in &inputs {
        let expression = format!("${{{{ inputs.{input} }}}}");
        assert!(mapped.contains(&expression), "input {input} reaches the scripts through env: {mapped:?}");
    }
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
    assert_eq!(names, ["backfill-add.yml", "backfill-matrix.yml", "ci.yml", "progressive-backfill.yml", "release.yml"]);

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
    // It grants issues: write, so it uses it: failures are reported in the
    // workflow's own repository. And a new database's first run migrates.
    assert_eq!(wf["permissions"]["issues"].as_str(), Some("write"));
    assert_eq!(step["with"]["report-issue"].as_str(), Some("${{ github.repository }}"));
    assert_eq!(step["with"]["migrate"].as_bool(), Some(true));

    // Adding a repository: by hand, migrate then add, through the action.
    let add = load(&dir.join("backfill-add.yml"));
    assert!(add["on"]["schedule"].is_badvalue(), "backfill-add.yml runs by hand only");
    let input = &add["on"]["workflow_dispatch"]["inputs"]["repository"];
    assert_eq!(input["required"].as_bool(), Some(true), "the repository input");
    let uses: Vec<&Yaml> = add["jobs"]["add"]["steps"]
        .as_vec()
        .map(|s| s.iter().filter(|s| s["uses"].as_str() == Some("./")).collect())
        .unwrap_or_default();
    let commands: Vec<&str> = uses.iter().filter_map(|s| s["with"]["command"].as_str()).collect();
    assert_eq!(commands, ["migrate", "add"]);
    assert_eq!(uses[1]["with"]["repository"].as_str(), Some("${{ inputs.repository }}"));
    assert!(uses
        .iter()
        .all(|s| s["with"]["database-url"].as_str().is_some_and(|v| v.contains("secrets.DATABASE_URL"))));

    // Four runners on one shared token finish no sooner than one: by hand
    // only, and each keeps to its share of the token's points per minute.
    let matrix_text = std::fs::read_to_string(dir.join("backfill-matrix.yml")).expect("matrix");
    let matrix = load(&dir.join("backfill-matrix.yml"));
    assert!(matrix["on"]["schedule"].is_badvalue(), "backfill-matrix.yml has no schedule");
    assert!(!matrix["on"]["workflow_dispatch"].is_badvalue());
    let runners = matrix["jobs"]["backfill"]["strategy"]["matrix"]["runner"].as_vec().map_or(0, Vec::len);
    let steps = matrix["jobs"]["backfill"]["steps"].as_vec().cloned().unwrap_or_default();
    let step = steps.iter().find(|s| s["uses"].as_str() == Some("./")).expect("the backfill step");
    assert_no_expressions_in_scripts("backfill-matrix.yml", &matrix["jobs"]["backfill"]["steps"]);
    // Each runner's own token: line N of one secret, masked, then the action's.
    let pick = steps.iter().position(|s| s["name"].as_str() == Some("Pick this runner's token"));
    let backfill = steps.iter().position(|s| s["uses"].as_str() == Some("./"));
    assert!(pick.is_some() && pick < backfill, "the token is picked before the backfill step");
    let pick = &steps[pick.unwrap_or_default()];
    assert_eq!(pick["env"]["TOKENS"].as_str(), Some("${{ secrets.BACKFILL_TOKENS }}"));
    assert_eq!(pick["env"]["RUNNER"].as_str(), Some("${{ matrix.runner }}"));
    assert!(step["with"]["github-token"].as_str().is_some_and(|t| t.starts_with("${{ env.BACKFILL_RUNNER_TOKEN || ")));
    let script = pick["run"].as_str().unwrap_or_default();
    // (the secret, the runner, what it exports and masks)
    let cases = [
        ("ghp_one\nghp_two\nghp_three\n", "2", Some("ghp_two")),
        ("ghp_one\r\n\n  ghp_two \r\n", "2", Some("ghp_two")),
        ("ghp_one\n", "3", None),
        ("", "1", None),
    ];
    for (tokens, runner, want) in cases {
        let dir = common::cluster::scratch_dir("matrix-token");
        let env_file = dir.join("env");
        let out = std::process::Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .env("TOKENS", tokens)
            .env("RUNNER", runner)
            .env("GITHUB_ENV", &env_file)
            .output()
            .expect("bash runs");
        assert!(out.status.success(), "{tokens:?} {runner}: {}", String::from_utf8_lossy(&out.stderr));
        let exported = std::fs::read_to_string(&env_file).unwrap_or_default();
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        match want {
            Some(token) => {
                assert_eq!(exported, format!("BACKFILL_RUNNER_TOKEN={token}\n"), "{tokens:?} {runner}");
                assert!(said.starts_with(&format!("::add-mask::{token}\n")), "masked first: {said}");
            }
            None => assert!(exported.is_empty() && said.contains("shared token"), "{tokens:?} {runner}: {said}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert_eq!(
        step["env"]["BACKFILL_RUNNERS_PER_TOKEN"].as_str(),
        Some(format!("${{{{ vars.BACKFILL_RUNNERS_PER_TOKEN || '{runners}' }}}}").as_str()),
        "the default share is the runner count"
    );
    let header: String =
        matrix_text.lines().take_while(|l| l.starts_with('#')).map(|l| l.trim_start_matches('#')).collect();
    let header = header.split_whitespace().collect::<Vec<_>>().join(" ");
    for want in [
        "of its own",
        "BACKFILL_RUNNERS_PER_TOKEN",
        "shared token",
        &format!("({runners}, the default"),
        "BACKFILL_TOKENS",
    ] {
        assert!(header.contains(want), "the header says {want:?}: {header}");
    }

    let release = load(&dir.join("release.yml"));
    let targets: Vec<&str> = release["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_vec()
        .map(|v| v.iter().filter_map(|t| t["target"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(targets, ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"]);
}

/// CI on GitHub runs what `.ci/run` runs here: fmt, clippy, then the README's
/// test command with nextest installed, and gives tests/queries.rs GitHub's
/// published schema in place of the `../shared` copy a clone lacks.
#[test]
fn ci_runs_the_readmes_test_command_with_nextest_and_githubs_schema() {
    let ci = load(&root().join(".github/workflows/ci.yml"));
    let steps = ci["jobs"]["test"]["steps"].as_vec().expect("ci.yml's test job has steps");
    let step = |what: &str, matches: &dyn Fn(&Yaml) -> bool| {
        steps.iter().position(matches).unwrap_or_else(|| panic!("ci.yml has no step that {what}"))
    };
    let runs = |s: &Yaml, script: &str| s["run"].as_str().is_some_and(|run| run.trim() == script);
    step("checks the format", &|s| runs(s, "cargo fmt --all -- --check"));
    step("lints", &|s| runs(s, "cargo clippy --workspace --all-targets --locked -- -D warnings"));
    let nextest = step("installs cargo-nextest", &|s| {
        let action = s["uses"].as_str().is_some_and(|u| u.starts_with("taiki-e/install-action@"));
        let installs = s["run"].as_str().is_some_and(|r| r.contains("cargo install") && r.contains("cargo-nextest"));
        (action && s["with"]["tool"].as_str() == Some("cargo-nextest")) || installs
    });
    let test = step("runs scripts/test.sh", &|s| runs(s, "scripts/test.sh"));
    let schema =
        steps[test]["env"]["GITHUB_GRAPHQL_SCHEMA"].as_str().expect("the test step sets GITHUB_GRAPHQL_SCHEMA");
    let download = step("downloads the schema to the test's GITHUB_GRAPHQL_SCHEMA", &|s| {
        let script = s["run"].as_str().unwrap_or("");
        s["env"]["GITHUB_GRAPHQL_SCHEMA"].as_str() == Some(schema) && script.contains("curl -fsSL --retry 3")
    });
    let url = steps[download]["env"]["SCHEMA_URL"].as_str();
    assert_eq!(url, Some("https://docs.github.com/public/fpt/schema.docs.graphql"), "the schema GitHub's docs publish");
    assert!(nextest < test && download < test, "nextest and the schema are there before the tests run");
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
