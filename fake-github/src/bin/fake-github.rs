//! Serves a synthetic repository on 127.0.0.1 until interrupted.
//!
//! Usage: fake-github [--port N] [--repo OWNER/NAME] [--prs N] [--seed N] [--token T]
//!          [--budget POINTS] [--window SECS] [--latency-ms MS]
//!          [--fail-percent P] [--truncate-percent P] [--secondary-every N] [--retry-after SECS]
//!          [--timeout-above-nodes N] [--timeout-above-cost POINTS] [--partial-percent P]
//!          [--secondary-points POINTS] [--secondary-window SECS] [--max-concurrent N] [--chaos-seed N]
//! Prints the GraphQL URL on its first line of output.

use std::process::ExitCode;
use std::time::Duration;

use fake_github::world::Budget;
use fake_github::{Chaos, FakeGithub, RepoSpec, SecondaryPoints, World};

fn value<T: std::str::FromStr>(args: &[String], flag: &str, default: T) -> Result<T, String> {
    match args.iter().position(|a| a == flag) {
        None => Ok(default),
        Some(i) => args.get(i + 1).and_then(|v| v.parse().ok()).ok_or_else(|| format!("{flag} needs a valid value")),
    }
}

async fn serve(args: Vec<String>) -> Result<(), String> {
    let port: u16 = value(&args, "--port", 0)?;
    let repo: String = value(&args, "--repo", "demo-org/demo-repo".to_string())?;
    let prs: usize = value(&args, "--prs", 1_000)?;
    let seed: u64 = value(&args, "--seed", 42)?;
    let token: String = value(&args, "--token", String::new())?;
    let (owner, name) = repo.split_once('/').ok_or("--repo takes OWNER/NAME")?;
    let mut spec = RepoSpec::new(owner, name, prs);
    spec.seed = seed;
    let fake = FakeGithub::start_on(World::new(&[spec]), port).await.map_err(|e| format!("cannot listen: {e}"))?;
    let budget: i64 = value(&args, "--budget", 5_000)?;
    let window: u64 = value(&args, "--window", 3_600)?;
    let latency: u64 = value(&args, "--latency-ms", 0)?;
    let chaos = Chaos {
        seed: value(&args, "--chaos-seed", 1)?,
        bad_gateway_percent: value(&args, "--fail-percent", 0)?,
        truncated_percent: value(&args, "--truncate-percent", 0)?,
        secondary_every: Some(value(&args, "--secondary-every", 0)?).filter(|n| *n > 0),
        secondary_retry_after: Some(value(&args, "--retry-after", 0)?).filter(|n| *n > 0),
        timeout_above_nodes: Some(value(&args, "--timeout-above-nodes", 0)?).filter(|n| *n > 0),
        timeout_above_cost: Some(value(&args, "--timeout-above-cost", 0)?).filter(|n| *n > 0),
        partial_percent: value(&args, "--partial-percent", 0)?,
    };
    let secondary_points: i64 = value(&args, "--secondary-points", 0)?;
    let secondary_window: u64 = value(&args, "--secondary-window", 60)?;
    let max_concurrent: u32 = value(&args, "--max-concurrent", 0)?;
    fake.with_control(|c| {
        c.token = Some(token).filter(|t| !t.is_empty());
        c.budget = Budget::new(budget, Duration::from_secs(window));
        c.latency = Duration::from_millis(latency);
        c.chaos = chaos;
        c.secondary_points = (secondary_points > 0)
            .then(|| SecondaryPoints { points: secondary_points, window: Duration::from_secs(secondary_window) });
        c.max_concurrent = Some(max_concurrent).filter(|n| *n > 0);
    });
    println!("{}", fake.graphql_url());
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match serve(std::env::args().skip(1).collect()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-github: {e}");
            ExitCode::from(2)
        }
    }
}
