//! Serves a synthetic repository on 127.0.0.1 until interrupted.
//!
//! Usage: fake-github [--port N] [--repo OWNER/NAME] [--prs N] [--seed N] [--token T]
//! Prints the GraphQL URL on its first line of output.

use std::process::ExitCode;

use fake_github::{FakeGithub, RepoSpec, World};

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
    if !token.is_empty() {
        fake.with_control(|c| c.token = Some(token));
    }
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
