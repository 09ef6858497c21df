//! The benchmark: the real `backfill` binary against the fake GitHub serving
//! large synthetic repositories (today's profile and a big one shaped like
//! pytorch/pytorch), each under both readings of `nodes(ids:)` costs, then
//! the store layer against COPY, then a small repository clean and under
//! faults, a fleet, and growth (writes into a pre-filled database, reads
//! over a long history). Prints markdown tables and, with `--readme`, puts
//! them in README.md.
//!
//! Usage: backfill-bench --backfill PATH [--prs N] [--heavy-every N] [--big-prs N]
//!   [--growth-prs N] [--growth-chunks N] [--only faults|fleet|growth] [--readme PATH]
//! `--only NAME` runs that measure alone and replaces only its table. Needs
//! DATABASE_URL (a server where it may create databases, with
//! pg_stat_statements preloaded for growth) and /usr/bin/time (GNU time) for
//! the CPU and memory figures.

mod faults;
mod fleet;
mod growth;
mod growth_table;
mod long_history;
mod projection;
mod report;
mod run;
mod store;

use std::process::ExitCode;

use fake_github::Profile;
use sqlx::postgres::PgConnectOptions;

use run::{Bench, Case};

/// A measure run alone, whose table alone is replaced in the README.
#[derive(Clone, Copy, PartialEq)]
enum Only {
    Faults,
    Fleet,
    Growth,
}

struct Args {
    backfill: String,
    prs: usize,
    heavy_every: usize,
    big_prs: usize,
    /// The PRs of the repository the growth measure pre-fills a database with.
    growth_prs: usize,
    /// The chunk rows of the growth measure's long history.
    growth_chunks: usize,
    /// `--only faults`, `fleet` or `growth`: that measure alone.
    only: Option<Only>,
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
        big_prs: number("--big-prs", 10_000)?,
        growth_prs: number("--growth-prs", 1_000_000)?,
        growth_chunks: number("--growth-chunks", long_history::CHUNKS)?,
        only: match value("--only").as_deref() {
            None => None,
            Some("faults") => Some(Only::Faults),
            Some("fleet") => Some(Only::Fleet),
            Some("growth") => Some(Only::Growth),
            Some(other) => return Err(format!("--only takes `faults`, `fleet` or `growth`, not '{other}'")),
        },
        readme: value("--readme"),
    })
}

async fn bench(a: &Args) -> Result<String, String> {
    let base_url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is not set (bench/run.sh sets it)")?;
    let base: PgConnectOptions = base_url.parse().map_err(|e| format!("DATABASE_URL: {e}"))?;
    let admin = sqlx::PgPool::connect_with(base.clone()).await.map_err(|e| e.to_string())?;
    let b = Bench { backfill: a.backfill.clone(), admin, base, base_url };
    let mut runs = Vec::new();
    for (profile, reading) in report::COLUMNS.into_iter().filter(|_| a.only.is_none()) {
        let prs = if profile == Profile::Today { a.prs } else { a.big_prs };
        eprintln!("running {profile:?} with {prs} PRs, {reading:?}...");
        runs.push(run::measure(&b, Case { profile, reading, prs, heavy_every: a.heavy_every }).await?);
    }
    let mut tables = Vec::new();
    if a.only.is_none_or(|o| o == Only::Faults) {
        let mut under = Vec::new();
        for faulty in [false, true] {
            eprintln!("running {} PRs {}...", faults::PRS, faults::label(faulty));
            under.push(faults::measure(&b, faulty).await?);
        }
        tables.push(report::faults_table(&under[0], &under[1]));
    }
    if a.only.is_none_or(|o| o == Only::Fleet) {
        eprintln!("running a fleet of {} repositories...", fleet::REPOSITORIES);
        tables.push(report::fleet_table(&fleet::measure(&b).await?));
    }
    let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let machine = machine();
    if a.only.is_none_or(|o| o == Only::Growth) {
        let growth = growth::measure(&b, a.growth_prs, a.heavy_every, a.growth_chunks).await?;
        let place = growth_table::Place { date: &date, machine: &machine, cores };
        tables.push(growth_table::growth_table(&growth, &place));
    }
    b.admin.close().await;
    if a.only.is_some() {
        return Ok(tables.concat());
    }
    Ok(format!("{}\n{}", report::report(&runs, &date, &machine, cores)?, tables.join("\n")))
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

/// Replaces the README's bench section, or with `only` that measure's
/// table inside it (`tables` then carries its own markers; a table the
/// section does not hold yet goes at its end).
fn update_readme(path: &str, tables: &str, only: Option<Only>) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let section = ("<!-- bench:start -->", "<!-- bench:end -->");
    let (start, end) = match only {
        None => section,
        Some(Only::Faults) => report::FAULTS_MARKERS,
        Some(Only::Fleet) => report::FLEET_MARKERS,
        Some(Only::Growth) => growth_table::GROWTH_MARKERS,
    };
    let text = match (only, text.split_once(start)) {
        (None, Some((head, rest))) => {
            let (_, tail) = rest.split_once(end).ok_or(format!("README has no {end} marker"))?;
            format!("{head}{start}\n{tables}{end}{tail}")
        }
        (Some(_), Some((head, rest))) => {
            let (_, tail) = rest.split_once(end).ok_or(format!("README has no {end} marker"))?;
            format!("{head}{}{tail}", tables.trim_end())
        }
        (Some(_), None) => {
            let (head, tail) = text.split_once(section.1).ok_or(format!("README has no {} marker", section.1))?;
            format!("{head}\n{}\n{}{tail}", tables.trim_end(), section.1)
        }
        (None, None) => return Err(format!("README has no {start} marker")),
    };
    std::fs::write(path, text).map_err(|e| format!("{path}: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match args() {
        Ok(a) => bench(&a).await.and_then(|table| {
            println!("{table}");
            a.readme.as_deref().map_or(Ok(()), |path| update_readme(path, &table, a.only))
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
