//! The action's scripts as a runner runs them: its run step's environment,
//! and a scratch runner with the step's files and a stand-in `gh`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use super::workflow_files::{keys, load, root};

/// The `run:` script of the action's step with this id.
pub fn action_script(id: &str) -> String {
    let action = load(&root().join("action.yml"));
    let steps = action["runs"]["steps"].as_vec().expect("steps");
    let step = steps.iter().find(|s| s["id"].as_str() == Some(id)).unwrap_or_else(|| panic!("a step {id}"));
    step["run"].as_str().unwrap_or_else(|| panic!("step {id} runs a script")).to_string()
}

/// Every input the run step maps to its environment, empty (as a runner
/// sets an input nobody gave), with `given` on top.
pub fn run_env(given: &[(&str, &str)]) -> Vec<(String, String)> {
    let action = load(&root().join("action.yml"));
    let steps = action["runs"]["steps"].as_vec().expect("steps");
    let run = steps.iter().find(|s| s["id"].as_str() == Some("run")).expect("run step");
    let mut env: Vec<(String, String)> =
        keys(&run["env"]).into_iter().filter(|k| k.starts_with("IN_")).map(|k| (k, String::new())).collect();
    assert!(env.len() >= 10, "the run step maps the inputs: {env:?}");
    for (k, v) in given {
        env.retain(|(n, _)| n != k);
        env.push((k.to_string(), v.to_string()));
    }
    env
}

/// A scratch directory of a runner's: RUNNER_TEMP, the step's files, a `gh`.
pub struct Runner {
    dir: PathBuf,
}

impl Runner {
    pub fn new(what: &str) -> Runner {
        let dir = std::env::temp_dir().join(format!("backfill-{what}-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("bin")).expect("temp dir");
        std::fs::create_dir_all(dir.join("release")).expect("temp dir");
        std::fs::create_dir_all(dir.join("temp")).expect("temp dir");
        Runner { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn executable(&self, path: &Path, script: &str) {
        std::fs::write(path, script).expect("script");
        let chmod = std::process::Command::new("chmod").arg("+x").arg(path).status();
        assert!(chmod.is_ok_and(|s| s.success()), "chmod {}", path.display());
    }

    /// A `gh` that serves `release/` for `gh release download ... --dir D`
    /// (or fails with FAKE_GH_FAIL), logging its arguments: nothing leaves
    /// the machine.
    pub fn fake_gh(&self) {
        let script = "#!/bin/sh\n\
            echo \"$*\" >> \"$FAKE_GH_LOG\"\n\
            if [ -n \"$FAKE_GH_FAIL\" ]; then echo \"$FAKE_GH_FAIL\" >&2; exit 1; fi\n\
            dir=.\n\
            while [ $# -gt 0 ]; do\n\
              if [ \"$1\" = --dir ]; then dir=$2; shift; fi\n\
              shift\n\
            done\n\
            for f in \"$FAKE_RELEASE\"/*; do [ -e \"$f\" ] && cp \"$f\" \"$dir\"/; done\n\
            exit 0\n";
        self.executable(&self.path("bin/gh"), script);
    }

    /// A release asset as release.yml makes it: `backfill` (here a link to
    /// `binary`) in backfill-<target>.tar.gz, and its .sha256 beside it.
    pub fn release(&self, binary: &Path) {
        let stage = self.path("stage");
        std::fs::create_dir_all(&stage).expect("stage");
        std::os::unix::fs::symlink(binary, stage.join("backfill")).expect("link");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(
                "tar -czf release/backfill-x86_64-unknown-linux-gnu.tar.gz -C stage backfill && cd release && \
                 sha256sum backfill-x86_64-unknown-linux-gnu.tar.gz > backfill-x86_64-unknown-linux-gnu.tar.gz.sha256",
            )
            .current_dir(&self.dir)
            .output()
            .expect("sh runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    /// Runs `script` as a runner runs a bash step (`bash --noprofile --norc
    /// -eo pipefail`), with only `env` and the runner's own variables, and
    /// a fresh GITHUB_OUTPUT, whose lines it returns.
    pub async fn step(&self, script: &str, env: &[(String, String)]) -> (Output, HashMap<String, String>) {
        let output = self.path("output.txt");
        let _ = std::fs::remove_file(&output);
        let path = format!("{}:{}", self.path("bin").display(), std::env::var("PATH").unwrap_or_default());
        let mut cmd = tokio::process::Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .env_clear()
            .env("PATH", path)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_STEP_SUMMARY", self.path("summary.md"))
            .env("RUNNER_TEMP", self.path("temp"))
            .env("FAKE_RELEASE", self.path("release"))
            .env("FAKE_GH_LOG", self.path("gh.log"))
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(180), cmd.output())
            .await
            .expect("the step finished within three minutes")
            .expect("bash runs");
        let lines = std::fs::read_to_string(&output).unwrap_or_default();
        let outputs = lines.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect();
        (out, outputs)
    }

    /// The prebuilt step, on a Linux x86_64 runner for the action's v9.9.9.
    pub async fn fetch(&self, extra: &[(&str, &str)]) -> (Output, HashMap<String, String>) {
        let mut env: Vec<(String, String)> = [
            ("ACTION_REPOSITORY", "acme/backfill"),
            ("ACTION_REF", "v9.9.9"),
            ("WANTED_VERSION", ""),
            ("RUNNER_OS_NAME", "Linux"),
            ("RUNNER_ARCH_NAME", "X64"),
            ("GH_TOKEN", "ghs_workflow_token"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.step(&action_script("prebuilt"), &env).await
    }

    pub fn gh_calls(&self) -> String {
        std::fs::read_to_string(self.path("gh.log")).unwrap_or_default()
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn both(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}
