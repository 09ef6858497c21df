use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::budget::Budget;
use crate::report::eta::{ChunkPoint, Estimate};
use crate::status::{BackfillStatus, PauseKind};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

/// `n` chunks of 50, one every 30 minutes up to t0; the last failed if asked.
fn chunks(n: i32, last_failed: bool, error: &str) -> Vec<ChunkPoint> {
    (1..=n)
        .map(|k| {
            let at = t0() - Duration::minutes(30 * i64::from(n - k));
            let failed = last_failed && k == n;
            ChunkPoint {
                number: k,
                started_at: at - Duration::seconds(5),
                completed_at: at,
                prs: if failed { 0 } else { 50 },
                stored_after: 50 * i64::from(k.min(n - i32::from(last_failed))),
                points: Some(2),
                failed,
                error: failed.then(|| error.to_string()),
            }
        })
        .collect()
}

fn estimate() -> Eta {
    Eta::Estimate(Estimate {
        prs_left: 123_456,
        runs: 12,
        prs_per_hour: Some(1234.5),
        at_schedule_secs: Some(400_000),
        completes_at: Some(t0()),
        at_budget_secs: Some(90_000),
        bound: Some(crate::report::eta::Bound::Schedule),
        per_run: Some("1 chunk per run".into()),
    })
}

/// A backfill this run stored a chunk of.
fn moved(name: &str, history: i32) -> BackfillReport {
    BackfillReport {
        repository: name.to_string(),
        prs_stored: 50,
        processed_prs: 50 * i64::from(history),
        total_prs: 200_000,
        chunk_size: Some(50),
        points: 2,
        status: Some(BackfillStatus::Active),
        eta: Some(estimate()),
        chunks: chunks(history, false, ""),
        ..BackfillReport::default()
    }
}

/// A backfill paused by this run after its third failure in a row.
fn paused(name: &str, error: &str) -> BackfillReport {
    BackfillReport {
        prs_stored: 0,
        status: Some(BackfillStatus::Paused),
        pause_kind: Some(PauseKind::Errors),
        needs_attention: true,
        note: Some(format!("chunk failed: {error}")),
        chunks: chunks(40, true, error),
        ..moved(name, 40)
    }
}

fn run(backfills: Vec<BackfillReport>) -> RunSummary {
    RunSummary {
        chunks: backfills.iter().filter(|b| b.prs_stored > 0).count() as u32,
        failed_chunks: backfills.iter().filter(|b| b.needs_attention).count() as u32,
        prs_stored: backfills.iter().map(|b| b.prs_stored).sum(),
        requests: 600,
        points: 1_200,
        budget: Some(Budget { limit: 5_000, remaining: 3_800, used: None, reset_at: Some(t0()) }),
        backfills,
        ..RunSummary::default()
    }
}

#[test]
fn the_summary_sentence_counts_in_the_singular_too() {
    let one = RunSummary { chunks: 1, prs_stored: 1, failed_chunks: 1, requests: 1, points: 1, ..Default::default() };
    let md = summary_markdown(&one);
    assert!(md.contains("1 chunk, 1 PR stored, 1 failed chunk, 1 request, 1 point used;"), "{md}");
    let md = summary_markdown(&RunSummary { chunks: 2, prs_stored: 50, requests: 3, points: 4, ..Default::default() });
    assert!(md.contains("2 chunks, 50 PRs stored, 0 failed chunks, 3 requests, 4 points used;"), "{md}");
}

#[test]
fn a_few_backfills_get_a_row_each_and_a_fleet_its_totals_first() {
    let few = run(vec![moved("acme/one", 3), paused("acme/two", "boom")]);
    let md = summary_markdown(&few);
    assert!(md.starts_with("### backfill run\n\n| Repository | PRs stored this run |"), "{md}");
    assert!(md.contains("| acme/one | 50 | 150/200000 | 0.1% | 50 | 2 | 3800 | active |"), "{md}");
    assert!(md.contains("| acme/two | 0 | 2000/200000 |") && !md.contains("need"), "{md}");
    assert!(md.trim_end().ends_with("Outcome: **failed**."), "{md}");

    let mut many: Vec<BackfillReport> = (0..11).map(|i| moved(&format!("acme/r{i:02}"), 3)).collect();
    many[4] = paused("acme/r04", "GitHub said <b>no</b> | twice");
    let md = summary_markdown(&run(many));
    let want = [
        "### backfill run\n\n10 chunks, 500 PRs stored, 1 failed chunk, 600 requests, 1200 points used; \
         3800 of 5000 points left, resets 12:00 UTC. Outcome: **failed**.\n\n",
        "11 backfills in this run, 10 of them stored PRs; **1 needs attention**:\n\n",
        "| acme/r04 | paused after failures: GitHub said &lt;b&gt;no&lt;/b&gt; \\| twice | 2000/200000 | 1.0% | 0 | 2 |",
        "And 10 more, all in progress.\n\n",
        "<details><summary>The 10 backfills that stored PRs in this run</summary>\n\n| Repository |",
        "| acme/r10 | 50 | 150/200000 |",
    ];
    for part in want {
        assert!(md.contains(part), "{part:?} in:\n{md}");
    }
    assert!(md.starts_with(want[0]), "totals first:\n{md}");
    assert_eq!(md.matches("```mermaid").count(), MAX_CHARTS, "{md}");
    assert!(!md.contains("**acme/r04**"), "no chart for one that did not move:\n{md}");
}

#[test]
fn five_hundred_backfills_stay_far_under_a_mebibyte() {
    // The largest the summary can get: long names, long errors, 60 in
    // trouble, all the others moved with a long history each.
    let name = |i: usize| format!("an-organisation-with-a-long-name/a-repository-with-a-long-name-too-{i:03}");
    let error =
        "GitHub said: something went wrong while executing your query, please include the request id. ".repeat(4);
    let backfills: Vec<BackfillReport> = (0..500)
        .map(|i| match i % 8 == 3 && i < 480 {
            true => paused(&name(i), &error),
            false => moved(&name(i), 500),
        })
        .collect();
    let md = summary_markdown(&run(backfills));
    eprintln!("the step summary of 500 backfills: {} bytes", md.len());
    assert!(md.len() < 100 * 1024, "{} bytes", md.len());
    assert!(md.contains("500 backfills in this run, 440 of them stored PRs; **60 need attention**"), "{md}");
    for i in (0..480).filter(|i| i % 8 == 3).take(MAX_ATTENTION_ROWS) {
        assert!(md.contains(&format!("| {} | paused after failures", markdown_text(&name(i)))), "{i}");
    }
    assert!(md.contains("And 10 more that need attention: `backfill status --attention` lists them all."), "{md}");
    assert!(md.contains("And 440 more, all in progress."), "{md}");
    assert!(md.contains("<details><summary>The first 100 of the 440 backfills that stored PRs in this run"), "{md}");
    assert_eq!(md.matches("```mermaid").count(), MAX_CHARTS);
}
