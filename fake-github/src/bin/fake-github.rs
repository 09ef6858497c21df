//! Serves a synthetic repository on 127.0.0.1 until interrupted; prints the
//! GraphQL URL on its first line of output. `fake-github --help` lists the flags.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use fake_github::world::Budget;
use fake_github::{Chaos, CostReading, FakeGithub, RepoSpec, SecondaryPoints, World};

/// Every flag: name, value, what it does (with its default). `--help` prints
/// this table and nothing else is accepted.
const FLAGS: &[(&str, &str, &str)] = &[
    ("--port", "N", "port on 127.0.0.1 (default 0: any free port)"),
    ("--repo", "OWNER/NAME", "the repository served (default demo-org/demo-repo)"),
    ("--prs", "N", "pull requests in it (default 1000)"),
    ("--seed", "N", "seed of the synthetic data (default 42)"),
    ("--token", "T", "the token requests must carry (default: any)"),
    ("--budget", "POINTS", "rate-limit points per window (default 5000)"),
    ("--window", "SECS", "length of the rate-limit window (default 3600)"),
    ("--latency-ms", "MS", "delay before every answer (default 0)"),
    ("--fail-percent", "P", "answers that are 502s at once, gateway hiccups (default 0)"),
    ("--html-percent", "P", "of those 502s, the share sent as nginx's HTML page (default 50)"),
    ("--truncate-percent", "P", "answers cut off half way (default 0)"),
    ("--secondary-every", "N", "refuse every Nth request with a secondary limit (default 0: never)"),
    ("--retry-after", "SECS", "retry-after sent with a secondary limit (default 0: none)"),
    ("--timeout-above-nodes", "N", "time out queries asking for more nodes (default 0: never)"),
    ("--timeout-above-cost", "POINTS", "time out queries costing more (default 0: never)"),
    ("--timeout-delay-ms", "MS", "how long a query that times out runs before its 502 (default 0)"),
    ("--partial-percent", "P", "answers over the resource limits, with nulls (default 0)"),
    ("--early-end-percent", "P", "requests after which a PR page says hasNextPage false too early (default 0)"),
    (
        "--secondary-points",
        "POINTS",
        "queries per secondary window for all clients, 1 point each (default 0: no limit)",
    ),
    ("--secondary-window", "SECS", "length of that window (default 60)"),
    ("--max-concurrent", "N", "refuse requests beyond this many in flight (default 0: no limit)"),
    ("--chaos-seed", "N", "seed of the random faults (default 1)"),
    ("--cost-reading", "READING", "per-id: nodes(ids:) charged a request per id (default); per-list: one per list"),
];

fn usage() -> String {
    let mut text = String::from(
        "Usage: fake-github [FLAGS]\n\n\
         A local stand-in for GitHub's GraphQL API serving one synthetic repository on\n\
         127.0.0.1 until interrupted. Prints its GraphQL URL on the first line.\n\nFlags:\n",
    );
    for (flag, value, what) in FLAGS {
        text.push_str(&format!("  {:<28} {what}\n", format!("{flag} {value}")));
    }
    text.push_str(&format!("  {:<28} print this and exit\n", "-h, --help"));
    text
}

enum Parsed {
    Help,
    Serve(Flags),
}

/// The flags given, each once (the last one wins), by name.
struct Flags(HashMap<&'static str, String>);

impl Flags {
    fn get<T: std::str::FromStr>(&self, flag: &str, default: T) -> Result<T, String> {
        match self.0.get(flag) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("{flag} needs a valid value, not '{v}'")),
        }
    }
}

/// Accepts `--flag VALUE` and `--flag=VALUE` for the flags in `FLAGS`, and
/// `-h`/`--help`; anything else is an error naming it.
fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut flags = HashMap::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(Parsed::Help);
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let Some((flag, _, _)) = FLAGS.iter().find(|(f, _, _)| *f == name) else {
            return Err(if name.starts_with('-') {
                format!("unknown flag {name} (see --help)")
            } else {
                format!("unexpected argument '{arg}' (see --help)")
            });
        };
        let value = match inline {
            Some(v) => v,
            None => rest.next().cloned().ok_or_else(|| format!("{flag} needs a value"))?,
        };
        flags.insert(*flag, value);
    }
    Ok(Parsed::Serve(Flags(flags)))
}

async fn serve(args: &Flags) -> Result<(), String> {
    let port: u16 = args.get("--port", 0)?;
    let repo: String = args.get("--repo", "demo-org/demo-repo".to_string())?;
    let prs: usize = args.get("--prs", 1_000)?;
    let seed: u64 = args.get("--seed", 42)?;
    let token: String = args.get("--token", String::new())?;
    let (owner, name) = repo.split_once('/').ok_or("--repo takes OWNER/NAME")?;
    let mut spec = RepoSpec::new(owner, name, prs);
    spec.seed = seed;
    let budget: i64 = args.get("--budget", 5_000)?;
    let window: u64 = args.get("--window", 3_600)?;
    let latency: u64 = args.get("--latency-ms", 0)?;
    let timeout_delay: u64 = args.get("--timeout-delay-ms", 0)?;
    let chaos = Chaos {
        seed: args.get("--chaos-seed", 1)?,
        bad_gateway_percent: args.get("--fail-percent", 0)?,
        html_percent: args.get("--html-percent", 50)?,
        truncated_percent: args.get("--truncate-percent", 0)?,
        secondary_every: Some(args.get("--secondary-every", 0)?).filter(|n| *n > 0),
        secondary_retry_after: Some(args.get("--retry-after", 0)?).filter(|n| *n > 0),
        timeout_above_nodes: Some(args.get("--timeout-above-nodes", 0)?).filter(|n| *n > 0),
        timeout_above_cost: Some(args.get("--timeout-above-cost", 0)?).filter(|n| *n > 0),
        partial_percent: args.get("--partial-percent", 0)?,
        early_end_percent: args.get("--early-end-percent", 0)?,
    };
    let secondary_points: i64 = args.get("--secondary-points", 0)?;
    let secondary_window: u64 = args.get("--secondary-window", 60)?;
    let max_concurrent: u32 = args.get("--max-concurrent", 0)?;
    let cost_reading: CostReading = args.get("--cost-reading", CostReading::PerId)?;
    let fake = FakeGithub::start_on(World::new(&[spec]), port).await.map_err(|e| format!("cannot listen: {e}"))?;
    fake.with_control(|c| {
        c.token = Some(token).filter(|t| !t.is_empty());
        c.budget = Budget::new(budget, Duration::from_secs(window));
        c.latency = Duration::from_millis(latency);
        c.timeout_delay = Duration::from_millis(timeout_delay);
        c.chaos = chaos;
        c.secondary_points = (secondary_points > 0)
            .then(|| SecondaryPoints { points: secondary_points, window: Duration::from_secs(secondary_window) });
        c.max_concurrent = Some(max_concurrent).filter(|n| *n > 0);
        c.cost_reading = cost_reading;
    });
    println!("{}", fake.graphql_url());
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match parse(&args) {
        Ok(Parsed::Help) => {
            print!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Serve(flags)) => serve(&flags).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-github: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn help_lists_every_flag() {
        assert!(matches!(parse(&args(&["--prs", "5", "--help"])), Ok(Parsed::Help)));
        assert!(matches!(parse(&args(&["-h"])), Ok(Parsed::Help)));
        let text = usage();
        for (flag, value, _) in FLAGS {
            assert!(text.contains(&format!("{flag} {value}")), "{flag} in:\n{text}");
        }
    }

    #[test]
    fn known_flags_take_values_both_ways() {
        let Ok(Parsed::Serve(f)) = parse(&args(&["--prs", "7", "--repo=a/b", "--token", "t"])) else {
            panic!("parses");
        };
        assert_eq!(f.get("--prs", 0usize), Ok(7));
        assert_eq!(f.get("--repo", String::new()), Ok("a/b".to_string()));
        assert_eq!(f.get("--port", 9u16), Ok(9));
        assert!(f.get("--prs", 0u8).is_ok());
        let Ok(Parsed::Serve(f)) = parse(&args(&["--prs", "many"])) else { panic!("parses") };
        assert_eq!(f.get("--prs", 0usize), Err("--prs needs a valid value, not 'many'".to_string()));
        let reading = |a: &[&str]| match parse(&args(a)) {
            Ok(Parsed::Serve(f)) => f.get("--cost-reading", CostReading::PerId),
            _ => panic!("parses"),
        };
        assert_eq!(reading(&[]), Ok(CostReading::PerId));
        assert_eq!(reading(&["--cost-reading=per-list"]), Ok(CostReading::PerList));
        assert_eq!(reading(&["--cost-reading", "per-id"]), Ok(CostReading::PerId));
        let wrong = "--cost-reading needs a valid value, not 'per-node'".to_string();
        assert_eq!(reading(&["--cost-reading", "per-node"]), Err(wrong));
    }

    #[test]
    fn unknown_flags_and_missing_values_are_named() {
        let err = |a: &[&str]| match parse(&args(a)) {
            Err(e) => e,
            Ok(_) => panic!("{a:?} should be refused"),
        };
        assert_eq!(err(&["--prs", "5", "--frobnicate", "1"]), "unknown flag --frobnicate (see --help)");
        assert_eq!(err(&["--porty=3"]), "unknown flag --porty (see --help)");
        assert_eq!(err(&["stray"]), "unexpected argument 'stray' (see --help)");
        assert_eq!(err(&["--prs"]), "--prs needs a value");
    }
}
