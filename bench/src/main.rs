//! The benchmark: the real `backfill` binary against the fake GitHub serving
//! a large synthetic repository, then the store layer against COPY. Prints a
//! markdown table and, with `--readme`, puts it in README.md.
//!
//! Usage: backfill-bench --backfill PATH [--prs N] [--heavy-every N] [--readme PATH]
//! Needs DATABASE_URL (a server where it may create databases) and
//! /usr/bin/time (GNU time) for the CPU and memory figures.

mod projection;
mod store;

use std::process::ExitCode;
use std::time::Duration;

use backfill::github::{fetch_page, lookup_repository, ClientSettings, FetchedPage, GithubClient, PageRequest};
use fake_github::{FakeGithub, RepoSpec, World};
use projection::{fixed, project, PerPr};
use sqlx::postgres::PgConnectOptions;

struct Args {
    backfill: String,
    prs: usize,
    heavy_every: usize,
    readme: Option<String>,
}

fn args() -> Result<Args, String> {
    let all: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| all.iter().position(|a| a == flag).and_then(|i| all.get(i + 1)).cloned();
    let number = |flag: &str, default: usize| match value(flag) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| format!("{flag} needs a number")),
    };
    Ok(Args {
        backfill: value("--backfill").ok_or("--backfill PATH (the release binary) is required")?,
        prs: number("--prs", 20_000)?,
        heavy_every: number("--heavy-every", 400)?,
        readme: value("--readme"),
    })
}

/// What GNU time said about the run: wall, user and system seconds, peak RSS in KiB.
struct Usage {
    wall: f64,
    cpu: f64,
    max_rss_kib: f64,
}

async fn run_backfill(a: &Args, url: &str, graphql: &str, cmd: &[&str]) -> Result<Usage, String> {
    let out = tokio::process::Command::new("/usr/bin/time")
        .args(["-f", "@usage %e %U %S %M", &a.backfill])
        .args(cmd)
        .env("DATABASE_URL", url)
        .env("GITHUB_TOKEN", "bench")
        .env("GITHUB_GRAPHQL_URL", graphql)
        .env("BACKFILL_REQUEST_INTERVAL", "0s")
        .env("BACKFILL_NO_PROGRESS", "true")
        .output()
        .await
        .map_err(|e| format!("cannot run {} under /usr/bin/time: {e}", a.backfill))?;
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("backfill {cmd:?} failed:\n{err}"));
    }
    let line = err.lines().rev().find_map(|l| l.strip_prefix("@usage ")).ok_or("no usage line from GNU time")?;
    let n: Vec<f64> = line.split_whitespace().filter_map(|v| v.parse().ok()).collect();
    match n[..] {
        [wall, user, sys, rss] => Ok(Usage { wall, cpu: user + sys, max_rss_kib: rss }),
        _ => Err(format!("unreadable usage line: {line}")),
    }
}

async fn fetch_all(graphql: &str) -> Result<Vec<FetchedPage>, String> {
    let settings = ClientSettings { request_interval: Duration::ZERO, ..ClientSettings::default() };
    let client = GithubClient::new(graphql, "bench", settings).map_err(|e| e.to_string())?;
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let request = PageRequest {
            owner: "bench",
            name: "repo",
            after: after.as_deref(),
            size: 50,
            after_number: None,
            detail_ids: None,
        };
        let page = fetch_page(&client, &request).await.map_err(|e| e.to_string())?;
        let (more, next) = (page.has_next_page, page.end_cursor.clone());
        pages.push(page);
        if !more {
            return Ok(pages);
        }
        after = next;
    }
}

async fn bench(a: &Args) -> Result<String, String> {
    let base_url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is not set (bench/run.sh sets it)")?;
    let base: PgConnectOptions = base_url.parse().map_err(|e| format!("DATABASE_URL: {e}"))?;
    let admin = sqlx::PgPool::connect_with(base.clone()).await.map_err(|e| e.to_string())?;
    let spec = RepoSpec { extreme_period: a.heavy_every, ..RepoSpec::new("bench", "repo", a.prs) };
    let world = World::new(std::slice::from_ref(&spec));
    let shape = world.repos[0].pull_requests.iter().fold((0usize, 0usize, 0usize), |(r, c, heavy), pr| {
        let comments = pr.comments.len() + pr.reviews.iter().map(|v| v.comments.len()).sum::<usize>();
        (r + pr.reviews.len(), c + comments, heavy + usize::from(pr.reviews.len() > 100 || comments > 100))
    });
    let fake = FakeGithub::start(world).await.map_err(|e| e.to_string())?;
    let graphql = fake.graphql_url();

    sqlx::query("DROP DATABASE IF EXISTS backfill_bench_run").execute(&admin).await.map_err(|e| e.to_string())?;
    sqlx::query("CREATE DATABASE backfill_bench_run").execute(&admin).await.map_err(|e| e.to_string())?;
    let url = base_url.rsplit_once('/').map_or(base_url.clone(), |(h, _)| format!("{h}/backfill_bench_run"));
    run_backfill(a, &url, &graphql, &["migrate"]).await?;
    run_backfill(a, &url, &graphql, &["add", "bench/repo"]).await?;
    let before = fake.requests().len();
    let usage = run_backfill(a, &url, &graphql, &["run", "--time-budget", "2h", "-q"]).await?;
    let log = fake.requests()[before..].to_vec();
    let mut by_operation = std::collections::BTreeMap::<String, usize>::new();
    for r in &log {
        *by_operation.entry(r.operation.clone().unwrap_or_default()).or_default() += 1;
    }
    eprintln!("requests by operation: {by_operation:?}");
    let prs = a.prs as f64;
    let per = PerPr {
        points: log.iter().map(|r| r.cost).sum::<i64>() as f64 / prs,
        requests: log.len() as f64 / prs,
        nodes: log.iter().map(|r| r.nodes).sum::<u64>() as f64 / prs,
        local_seconds: usage.wall / prs,
    };
    let run_db =
        sqlx::PgPool::connect_with(base.clone().database("backfill_bench_run")).await.map_err(|e| e.to_string())?;
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pull_requests").fetch_one(&run_db).await.map_err(|e| e.to_string())?;
    run_db.close().await;
    if stored != a.prs as i64 {
        return Err(format!("the run stored {stored} PRs of {}", a.prs));
    }

    let client = GithubClient::new(&graphql, "bench", ClientSettings::default()).map_err(|e| e.to_string())?;
    let repo = lookup_repository(&client, "bench", "repo").await.map_err(|e| e.to_string())?;
    let pages = fetch_all(&graphql).await?;
    let times = store::store_vs_copy(&admin, &base, &repo, &pages).await?;
    let _ = sqlx::query("DROP DATABASE IF EXISTS backfill_bench_run").execute(&admin).await;

    Ok(report(a, &per, &usage, &times, shape))
}

fn report(a: &Args, p: &PerPr, u: &Usage, t: &store::StoreTimes, shape: (usize, usize, usize)) -> String {
    let total = 150_000.0;
    let thousands = a.prs as f64 / 1_000.0;
    let store_rate = t.prs as f64 / t.store.as_secs_f64();
    let copy_rate = t.prs as f64 / t.copy.as_secs_f64();
    let mut md = format!(
        "Measured {} on {} ({} cores) with {} synthetic PRs ({} reviews, {} comments; {} PRs with over 100 reviews or \
         comments, one heavy shape in every {} PRs), release build.\n\n",
        chrono::Utc::now().format("%Y-%m-%d"),
        machine(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        a.prs,
        shape.0,
        shape.1,
        shape.2,
        a.heavy_every
    );
    md.push_str("| Measure | Result | Target |\n|---|---:|---:|\n");
    md.push_str(&format!("| GitHub points per PR | {:.4} | ≤ 0.06 (floor 0.02) |\n", p.points));
    md.push_str(&format!("| Requests per PR | {:.4} | ≤ 0.06 (floor 0.02) |\n", p.requests));
    md.push_str(&format!("| Nodes asked per PR | {:.0} | |\n", p.nodes));
    md.push_str(&format!("| CPU seconds per 1,000 PRs (the binary) | {:.3} | ≤ 0.5 |\n", u.cpu / thousands));
    md.push_str(&format!("| Peak memory (the binary, whole run) | {:.1} MiB | |\n", u.max_rss_kib / 1024.0));
    md.push_str(&format!("| Wall time of the run, fake GitHub answering at once | {:.1} s | |\n", u.wall));
    md.push_str(&format!(
        "| Store throughput: store layer vs COPY | {:.0} vs {:.0} PRs/s ({:.2} of COPY) | ≥ 0.33 of COPY |\n\n",
        store_rate,
        copy_rate,
        store_rate / copy_rate
    ));
    md.push_str(&format!(
        "Projected for {total:.0} PRs, with GitHub answering in 0.5 s per request plus 0.1 ms per requested node, \
         the tool's own time as measured ({:.1} ms per PR), a run every 30 minutes with a 25-minute time budget, and \
         the hour's budget shared by its two runs:\n\n",
        p.local_seconds * 1_000.0
    ));
    md.push_str("| Schedule | Hourly budget | PRs per run | Runs | Calendar time | Limited by |\n|---|---:|---:|---:|---:|---|\n");
    for budget in [5_000.0, 1_000.0] {
        let pr = project(total, p, budget);
        md.push_str(&format!(
            "| backfill, `--time-budget 25m` | {budget:.0} | {:.0} | {:.0} | {:.1} days | {} |\n",
            pr.prs_per_run, pr.runs, pr.days, pr.limited_by
        ));
    }
    let old = fixed(total, 25.0, "the fixed size");
    md.push_str(&format!(
        "| fixed 25 PRs per run | either | 25 | {:.0} | {:.1} days | {} |\n",
        old.runs, old.days, old.limited_by
    ));
    md
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string()))
        })
        .unwrap_or_else(|| "an unknown CPU".into());
    format!("{cpu}, {}", std::env::consts::ARCH)
}

fn update_readme(path: &str, table: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let (start, end) = ("<!-- bench:start -->", "<!-- bench:end -->");
    let (head, rest) = text.split_once(start).ok_or("README has no <!-- bench:start --> marker")?;
    let (_, tail) = rest.split_once(end).ok_or("README has no <!-- bench:end --> marker")?;
    std::fs::write(path, format!("{head}{start}\n{table}{end}{tail}")).map_err(|e| format!("{path}: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match args() {
        Ok(a) => bench(&a).await.and_then(|table| {
            println!("{table}");
            a.readme.as_deref().map_or(Ok(()), |path| update_readme(path, &table))
        }),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("backfill-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
