//! The growth measure's table in the README, between its own markers.

use crate::growth::{Growth, WriteRun, COMMENTS_PER_PR, PRS_PER_PERSON, REPEATS, REVIEWS_PER_PR, RUN_PRS};

pub const GROWTH_MARKERS: (&str, &str) = ("<!-- bench:growth:start -->", "<!-- bench:growth:end -->");

/// Where and when the measure ran.
pub struct Place<'a> {
    pub date: &'a str,
    pub machine: &'a str,
    pub cores: usize,
}

fn writes_row(md: &mut String, g: &Growth, measure: &str, figure: fn(&WriteRun) -> f64, unit: &str, target: &str) {
    let (empty, prefilled) = g.medians(figure);
    let ratio = if empty > 0.0 { format!("{:.2}", prefilled / empty) } else { "-".to_string() };
    md.push_str(&format!("| {measure} | {empty:.0} {unit} | {prefilled:.0} {unit} | {ratio} | {target} |\n"));
}

pub fn growth_table(g: &Growth, at: &Place) -> String {
    let p = &g.prefill;
    let r = &g.reads;
    let mut md = format!(
        "{}\nGrowth, measured {} on {} ({} cores), release build, the throwaway cluster's settings (`fsync`, \
         `synchronous_commit` and `full_page_writes` off, PostgreSQL's default 128 MB of shared buffers). Writes: {REPEATS} repositories of {RUN_PRS} PRs (today's profile), each \
         backfilled by `backfill run` once into an empty database and once into one pre-filled with another \
         repository's {} PRs, {} reviews, {} comments and {} people (random-looking UUID ids, as \
         `gen_random_uuid()` makes them; written by `INSERT ... SELECT FROM generate_series` in {:.0} s with the foreign keys checked after, then \
         `VACUUM ANALYZE`, a checkpoint and `sync` in {:.0} s; {:.1} GB on disk). The time is PostgreSQL's: `pg_stat_statements` reset \
         before the run, then the `total_exec_time` of the run database's INSERT, UPDATE and DELETE statements \
         (and WITH statements that do one) summed; planning, BEGIN and COMMIT are not in it. Each figure is the \
         median of the {REPEATS}. Reads: the real binary over one backfill of {} chunk rows ({} failed, {} PR \
         numbers in the rest), each the median of 3 runs.\n\n",
        GROWTH_MARKERS.0,
        at.date,
        at.machine,
        at.cores,
        p.prs,
        p.prs * REVIEWS_PER_PR,
        p.prs * COMMENTS_PER_PR,
        p.prs / PRS_PER_PERSON,
        p.insert,
        p.vacuum,
        p.bytes as f64 / 1e9,
        r.chunks,
        r.failed,
        r.prs,
    );
    md.push_str("| Writes | empty database | pre-filled database | pre-filled / empty | Target |\n");
    md.push_str("|---|---:|---:|---:|---:|\n");
    writes_row(&mut md, g, "INSERT, UPDATE, DELETE: execution time", |w| w.writes_ms, "ms", "≤ 1.3");
    writes_row(&mut md, g, "All statements: execution time", |w| w.all_ms, "ms", "");
    writes_row(&mut md, g, "Wall time of `backfill run`", |w| w.wall * 1_000.0, "ms", "");
    md.push_str(&format!(
        "\n| Reads over {} chunk rows | wall time | CPU time of the binary | Target (wall) |\n|---|---:|---:|---:|\n",
        r.chunks
    ));
    for (name, read) in [
        ("`backfill status`", r.status),
        ("`backfill history OWNER/NAME` (the newest 20 chunks)", r.history),
        ("`backfill status --html FILE`", r.html),
    ] {
        md.push_str(&format!("| {name} | {:.2} s | {:.2} s | < 1 s |\n", read.wall, read.cpu));
    }
    md.push_str(GROWTH_MARKERS.1);
    md.push('\n');
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::growth::Prefill;
    use crate::long_history::{Read, Reads};

    #[test]
    fn the_growth_table_gives_medians_their_ratio_and_each_read() {
        let run = |writes_ms: f64| WriteRun { writes_ms, all_ms: 2.0 * writes_ms, wall: writes_ms / 500.0 };
        let g = Growth {
            prefill: Prefill { prs: 1_000, insert: 12.0, vacuum: 3.0, bytes: 2_500_000_000 },
            empty: vec![run(1_000.0), run(900.0), run(5_000.0)],
            prefilled: vec![run(1_500.0), run(2_000.0), run(1_400.0)],
            reads: Reads {
                chunks: 100,
                failed: 1,
                prs: 4_950,
                fill: 1.0,
                status: Read { wall: 0.25, cpu: 0.2 },
                history: Read { wall: 0.1, cpu: 0.01 },
                html: Read { wall: 1.5, cpu: 1.25 },
            },
        };
        let md = growth_table(&g, &Place { date: "2026-01-01", machine: "a CPU", cores: 2 });
        assert!(md.starts_with(GROWTH_MARKERS.0) && md.trim_end().ends_with(GROWTH_MARKERS.1), "{md}");
        assert!(md.contains("| INSERT, UPDATE, DELETE: execution time | 1000 ms | 1500 ms | 1.50 | ≤ 1.3 |"), "{md}");
        assert!(md.contains("| All statements: execution time | 2000 ms | 3000 ms | 1.50 |  |"), "{md}");
        assert!(md.contains("| Wall time of `backfill run` | 2000 ms | 3000 ms | 1.50 |  |"), "{md}");
        assert!(md.contains("| `backfill status` | 0.25 s | 0.20 s | < 1 s |"), "{md}");
        assert!(md.contains("(the newest 20 chunks) | 0.10 s | 0.01 s | < 1 s |"), "{md}");
        assert!(md.contains("| `backfill status --html FILE` | 1.50 s | 1.25 s | < 1 s |"), "{md}");
        assert!(md.contains("1000 PRs, 4000 reviews, 8000 comments and 100 people"), "{md}");
        let prefill =
            "in 12 s with the foreign keys checked after, then `VACUUM ANALYZE`, a checkpoint and `sync` in 3 s";
        assert!(md.contains(&format!("{prefill}; 2.5 GB on disk")), "{md}");
        assert!(md.contains("100 chunk rows (1 failed, 4950 PR numbers"), "{md}");
    }
}
