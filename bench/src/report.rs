//! The markdown the benchmark prints and puts in the README: each profile's
//! shape, every figure under both cost readings, the projection for 150,000
//! PRs from the big-repository runs, and the measure under faults.

use fake_github::shapes::Shape;
use fake_github::{CostReading, Profile};

use crate::faults::{self, FaultRun};
use crate::projection::{fixed, project};
use crate::run::Measured;

/// Around the table under faults inside the README's bench section, so that
/// `--only faults` can replace it alone.
pub const FAULTS_MARKERS: (&str, &str) = ("<!-- bench:faults:start -->", "<!-- bench:faults:end -->");

/// The runs in the table's column order.
pub const COLUMNS: [(Profile, CostReading); 4] = [
    (Profile::Today, CostReading::PerId),
    (Profile::Today, CostReading::PerList),
    (Profile::BigRepository, CostReading::PerId),
    (Profile::BigRepository, CostReading::PerList),
];

const PROJECTED_PRS: f64 = 150_000.0;

fn reading_name(r: CostReading) -> &'static str {
    match r {
        CostReading::PerId => "per id",
        CostReading::PerList => "per list",
    }
}

fn profile_name(p: Profile) -> &'static str {
    match p {
        Profile::Today => "today's profile",
        Profile::BigRepository => "big repository",
    }
}

fn describe(m: &Measured) -> String {
    let s: &Shape = &m.shape;
    match m.case.profile {
        Profile::Today => format!(
            "- Today's profile: {} PRs ({} reviews, {} review comments, {} issue comments; {} PRs with over 100 \
             reviews or over 100 issue comments and {} reviews with over 100 comments, one heavy shape in every {} \
             PRs).\n",
            s.prs,
            s.reviews,
            s.review_comments,
            s.issue_comments,
            s.heavy_prs,
            s.reviews_over_100_comments,
            m.case.heavy_every
        ),
        Profile::BigRepository => format!(
            "- Big repository, shaped like pytorch/pytorch: {} PRs ({} reviews, {} review comments, {} issue \
             comments of which {} by bots; {} PRs with over 100 reviews or over 100 issue comments, {} with over 300 \
             reviews, {} with over 300 issue comments; {} reviews with over 100 comments, {} with over 200; {:.0}% of \
             reviews have comments, {:.0}% of those 1-3).\n",
            s.prs,
            s.reviews,
            s.review_comments,
            s.issue_comments,
            s.bot_comments,
            s.heavy_prs,
            s.prs_over_300_reviews,
            s.prs_over_300_issue_comments,
            s.reviews_over_100_comments,
            s.reviews_over_200_comments,
            s.commented_share() * 100.0,
            s.reviews_with_1_to_3_comments as f64 * 100.0 / s.reviews_with_comments.max(1) as f64
        ),
    }
}

fn row(md: &mut String, measure: &str, runs: &[&Measured], cell: impl Fn(&Measured) -> String, target: &str) {
    let cells: Vec<String> = runs.iter().map(|m| cell(m)).collect();
    md.push_str(&format!("| {measure} | {} | {target} |\n", cells.join(" | ")));
}

/// The whole section; `runs` holds one run for each of `COLUMNS`.
pub fn report(runs: &[Measured], date: &str, machine: &str, cores: usize) -> Result<String, String> {
    let find = |(p, r): (Profile, CostReading)| {
        runs.iter().find(|m| m.case.profile == p && m.case.reading == r).ok_or(format!("no run for {p:?} {r:?}"))
    };
    let cols = COLUMNS.iter().map(|c| find(*c)).collect::<Result<Vec<_>, _>>()?;
    let mut md = format!(
        "Measured {date} on {machine} ({cores} cores), release build, the fake GitHub answering at once. Each column \
         is a run of its own (fresh fake, fresh database) under one reading of what `nodes(ids:)` costs: per id (the \
         fake's default: each id is a parent whose connections are filled, so a connection under 100 ids is 100 \
         requests) or per list (one request per list, whatever the ids). Two synthetic repositories:\n\n"
    );
    md.push_str(&describe(cols[0]));
    md.push_str(&describe(cols[2]));
    md.push_str("\n| Measure |");
    for (p, r) in COLUMNS {
        md.push_str(&format!(" {}, {} |", profile_name(p), reading_name(r)));
    }
    md.push_str(" Target (per id) |\n|---|---:|---:|---:|---:|---:|\n");
    let points = |m: &Measured| format!("{:.4}", m.per.points);
    row(&mut md, "GitHub points per PR", &cols, points, "≤ 0.04 today's, ≤ 0.045 big; floor 0.02");
    let requests = |m: &Measured| format!("{:.4}", m.per.requests);
    row(&mut md, "Requests per PR", &cols, requests, "≤ 0.025 today's, ≤ 0.03 big; floor 0.02");
    row(&mut md, "Nodes asked per PR", &cols, |m| format!("{:.0}", m.per.nodes), "");
    let cpu = |m: &Measured| format!("{:.3}", m.usage.cpu / (m.case.prs as f64 / 1_000.0));
    row(&mut md, "CPU seconds per 1,000 PRs (the binary)", &cols, cpu, "≤ 0.3");
    let rss = |m: &Measured| format!("{:.1} MiB", m.usage.max_rss_kib / 1024.0);
    row(&mut md, "Peak memory (the binary, whole run)", &cols, rss, "< 50 MiB");
    row(&mut md, "Wall time of the run", &cols, |m| format!("{:.1} s", m.usage.wall), "");
    let store = |m: &Measured| {
        let (store, copy) =
            (m.store.prs as f64 / m.store.store.as_secs_f64(), m.store.prs as f64 / m.store.copy.as_secs_f64());
        format!("{:.2} ({store:.0} vs {copy:.0} PRs/s)", store / copy)
    };
    row(&mut md, "Store layer vs COPY, share of COPY's throughput", &cols, store, "≥ 0.33");

    md.push_str("\nThe floor is one point and one request for each page of 50 PRs.\n");

    let (per_id, per_list) = (cols[2], cols[3]);
    md.push_str(&format!(
        "\nProjected for {PROJECTED_PRS:.0} PRs from the big-repository runs (the realistic case for pytorch/pytorch), \
         with GitHub answering in 0.5 s per request plus 0.1 ms per requested node, the tool's own time as measured \
         ({:.1} ms per PR per id, {:.1} ms per list), a run every 30 minutes with a 25-minute time budget, and the \
         hour's budget shared by its two runs:\n\n",
        per_id.per.local_seconds * 1_000.0,
        per_list.per.local_seconds * 1_000.0
    ));
    md.push_str(
        "| Reading | Schedule | Hourly budget | PRs per run | Runs | Calendar time | Limited by |\n\
         |---|---|---:|---:|---:|---:|---|\n",
    );
    for m in [per_id, per_list] {
        for budget in [5_000.0, 1_000.0] {
            let pr = project(PROJECTED_PRS, &m.per, budget);
            md.push_str(&format!(
                "| {} | backfill, `--time-budget 25m` | {budget:.0} | {:.0} | {:.0} | {:.1} days | {} |\n",
                reading_name(m.case.reading),
                pr.prs_per_run,
                pr.runs,
                pr.days,
                pr.limited_by
            ));
        }
    }
    let old = fixed(PROJECTED_PRS, 25.0, "the fixed size");
    md.push_str(&format!(
        "| either | fixed 25 PRs per run | either | 25 | {:.0} | {:.1} days | {} |\n",
        old.runs, old.days, old.limited_by
    ));
    Ok(md)
}

/// Around the fleet's table inside the README's bench section.
pub const FLEET_MARKERS: (&str, &str) = ("<!-- bench:fleet:start -->", "<!-- bench:fleet:end -->");

/// The fleet's table, between its markers.
pub fn fleet_table(f: &crate::fleet::FleetRun) -> String {
    use crate::fleet::{CHANGED, CHANGED_PRS, PRS, REPOSITORIES};
    let mut md = format!(
        "{}\nA fleet: {REPOSITORIES} repositories of {PRS} PRs under one owner (and one of another owner, not \
         tracked), tracked by one `add 'OWNER/*'` and backfilled to the end ({} run(s) with a time budget, {:.1} s); \
         then a run with nothing new anywhere; then one after {CHANGED_PRS} PRs changed in each of {} repositories. \
         Requests and points as GitHub (the fake) counted them; the data checked after each.\n\n",
        FLEET_MARKERS.0,
        f.backfill_runs,
        f.backfill_wall,
        CHANGED.len(),
    );
    md.push_str("| Fleet | requests | points | per repository |\n|---|---:|---:|---:|\n");
    let per = |n: usize| format!("{:.2} requests", n as f64 / REPOSITORIES as f64);
    md.push_str(&format!(
        "| Backfill all | {} | {} | {} |\n",
        f.backfill_requests,
        f.backfill_points,
        per(f.backfill_requests)
    ));
    md.push_str(&format!(
        "| A run, nothing new | {} | {} | {} |\n",
        f.idle_requests,
        f.idle_points,
        per(f.idle_requests)
    ));
    md.push_str(&format!(
        "| A run after changes in {} | {} | {} | {} |\n{}\n",
        CHANGED.len(),
        f.changed_requests,
        f.changed_points,
        per(f.changed_requests),
        FLEET_MARKERS.1
    ));
    md
}

/// One row of the table under faults: the figure clean, under faults, and their ratio.
fn figure(md: &mut String, measure: &str, clean: f64, faulty: f64, cell: impl Fn(f64) -> String) {
    let ratio = if clean > 0.0 { format!("{:.2}", faulty / clean) } else { "-".to_string() };
    md.push_str(&format!("| {measure} | {} | {} | {ratio} |\n", cell(clean), cell(faulty)));
}

/// The table under faults, between its markers: each figure clean, under
/// faults, and the ratio of the two.
pub fn faults_table(clean: &FaultRun, faulty: &FaultRun) -> String {
    let c = faults::chaos();
    let n = |v: Option<u64>| v.map_or_else(|| "no".to_string(), |v| v.to_string());
    let mut md = format!(
        "{}
Under faults: a repository of {} PRs (today's profile) backfilled from scratch once with the fake \
         answering cleanly and once in issue 24's world (chaos seed {}): {}% of requests answered HTTP 502 at once \
         ({}% of those as nginx's HTML page), {}% cut off half way, every {}th refused with a secondary limit and \
         `retry-after: {}`, and any query over {} nodes timing out after 2 s, charged (the client's timeout set to \
         2 s too). The stored PRs, reviews and comments equal the fake's in both.\n\n",
        FAULTS_MARKERS.0,
        faults::PRS,
        c.seed,
        c.bad_gateway_percent,
        c.html_percent,
        c.truncated_percent,
        n(c.secondary_every),
        n(c.secondary_retry_after),
        n(c.timeout_above_nodes),
    );
    md.push_str("| Measure | clean | under faults | faults / clean |\n|---|---:|---:|---:|\n");
    let per_pr = |v: f64| format!("{v:.4}");
    let seconds = |v: f64| format!("{v:.1} s");
    let (clean_points, faulty_points) = (clean.points_per_pr(), faulty.points_per_pr());
    figure(&mut md, "GitHub points per PR", clean_points, faulty_points, per_pr);
    figure(&mut md, "Requests per PR", clean.requests_per_pr(), faulty.requests_per_pr(), per_pr);
    figure(&mut md, "Wall time of the runs", clean.wall, faulty.wall, seconds);
    let s = faulty.struck;
    md.push_str(&format!(
        "\nUnder faults the backfill took {} run(s) and met {} gateway 502s ({} as HTML), {} timeouts, {} truncated \
         answers and {} secondary limits.\n{}\n",
        faulty.runs, s.hiccups, s.html, s.timeouts, s.truncated, s.secondary, FAULTS_MARKERS.1
    ));
    md
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::projection::PerPr;
    use crate::run::{Case, Usage};
    use crate::store::StoreTimes;

    fn measured(i: usize) -> Measured {
        let (profile, reading) = COLUMNS[i];
        let k = i as f64 + 1.0;
        Measured {
            case: Case { profile, reading, prs: 1_000, heavy_every: 400 },
            shape: Shape { prs: 1_000, reviews: 10 * i, ..Shape::default() },
            per: PerPr { points: 0.01 * k, requests: 0.02 * k, nodes: 100.0 * k, local_seconds: 0.001 * k },
            usage: Usage { wall: 10.0 * k, cpu: 0.1 * k, max_rss_kib: 1024.0 * k },
            store: StoreTimes { store: Duration::from_secs(2), copy: Duration::from_secs(1), prs: 1_000 },
        }
    }

    #[test]
    fn every_figure_is_given_for_each_profile_under_both_readings() {
        let runs: Vec<Measured> = (0..4).rev().map(measured).collect();
        let md = report(&runs, "2026-01-01", "a CPU", 2).expect("all four runs");
        // Every row of the first table has a cell per run and a target.
        let rows: Vec<&str> =
            md.lines().filter(|l| l.starts_with('|')).take_while(|l| !l.contains("Reading")).collect();
        assert_eq!(rows.len(), 2 + 7, "{md}");
        assert!(rows.iter().all(|l| l.matches('|').count() == 7), "{md}");
        // Columns in COLUMNS order, whatever the order of the runs.
        assert!(md.contains("| GitHub points per PR | 0.0100 | 0.0200 | 0.0300 | 0.0400 |"), "{md}");
        assert!(md.contains("| Requests per PR | 0.0200 | 0.0400 | 0.0600 | 0.0800 |"), "{md}");
        assert!(md.contains("| CPU seconds per 1,000 PRs (the binary) | 0.100 | 0.200 | 0.300 | 0.400 |"), "{md}");
        assert!(md.contains("| Peak memory (the binary, whole run) | 1.0 MiB | 2.0 MiB | 3.0 MiB | 4.0 MiB |"), "{md}");
        assert!(md.contains("| Wall time of the run | 10.0 s | 20.0 s | 30.0 s | 40.0 s |"), "{md}");
        // The projection: the big repository's runs, under both readings.
        assert!(md.contains("from the big-repository runs") && md.contains("(3.0 ms per PR per id, 4.0 ms per list)"));
        assert_eq!(md.matches("| per id | backfill").count() + md.matches("| per list | backfill").count(), 4);
        assert!(report(&runs[1..], "d", "m", 2).is_err(), "a missing run is an error");
    }

    #[test]
    fn the_table_under_faults_gives_each_figure_and_its_ratio() {
        let run = |faults: bool, k: f64| FaultRun {
            faults,
            points: (10.0 * k) as i64,
            requests: (12.0 * k) as usize,
            wall: 2.0 * k,
            runs: 1,
            struck: faults::Struck { hiccups: 9, html: 3, timeouts: 2, truncated: 1, secondary: 4 },
        };
        let md = faults_table(&run(false, 1.0), &run(true, 1.5));
        assert!(md.starts_with(FAULTS_MARKERS.0) && md.trim_end().ends_with(FAULTS_MARKERS.1), "{md}");
        assert!(md.contains("| GitHub points per PR | 0.0200 | 0.0300 | 1.50 |"), "{md}");
        assert!(md.contains("| Requests per PR | 0.0240 | 0.0360 | 1.50 |"), "{md}");
        assert!(md.contains("| Wall time of the runs | 2.0 s | 3.0 s | 1.50 |"), "{md}");
        assert!(md.contains("15% of requests answered HTTP 502 at once (33% of those"), "{md}");
        assert!(md.contains("9 gateway 502s (3 as HTML), 2 timeouts, 1 truncated answers and 4 secondary"), "{md}");
    }
}
