use uuid::Uuid;

use super::*;
use crate::report::eta::ChunkPoint;
use crate::report::standing::{Fleet, Standing};
use crate::report::table::{stand_all, StatusLine};
use crate::status::{BackfillStatus, Priority};

#[test]
fn database_text_is_escaped() {
    let cases = [
        ("acme/widgets", "acme/widgets"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("a & \"b\" 'c'", "a &amp; &quot;b&quot; &#39;c&#39;"),
    ];
    for (given, want) in cases {
        assert_eq!(escape(given), want);
    }
}

#[test]
fn the_budget_seen_last_is_the_latest_windows_lowest() {
    let at = |h: i64| DateTime::<Utc>::from_timestamp(1_800_000_000 + h * 3_600, 0);
    let b = |remaining: i64, reset| Budget { limit: 5_000, remaining, used: None, reset_at: reset };
    let cases = [
        (vec![b(4_000, at(1)), b(4_900, at(2)), b(4_950, at(2))], Some(b(4_900, at(2)))),
        (vec![b(10, None), b(20, at(0))], Some(b(20, at(0)))),
        (vec![], None),
    ];
    for (given, want) in cases {
        assert_eq!(latest_budget(given.clone()), want, "{given:?}");
    }
}

/// A status line as the store reads it.
fn line(name: &str, status: BackfillStatus, error: Option<&str>) -> StatusLine {
    StatusLine {
        repository_id: Uuid::new_v4(),
        repository: name.into(),
        status,
        processed_prs: 100,
        total_prs: 1_000,
        percent: 10.0,
        chunks_done: 2,
        chunks_failed: 0,
        points_spent: Some(4),
        last_run: None,
        error: error.map(str::to_string),
        paused_until: None,
        current_as_of: None,
        sweeping: false,
        no_refresh: false,
        priority: Priority::Normal,
        eta: None,
        eta_text: None,
        pause_kind: None,
        began_at: None,
        standing: None,
        attention: None,
        audited: None,
    }
}

/// Chunks 30 minutes apart up to 2026-12-01 12:00, `hours` earlier; the
/// last failed if asked.
fn history(n: i32, hours: i64, last_failed: bool) -> Vec<ChunkPoint> {
    let end = DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
        - chrono::Duration::hours(hours);
    (1..=n)
        .map(|k| {
            let at = end - chrono::Duration::minutes(30 * i64::from(n - k));
            let failed = last_failed && k == n;
            ChunkPoint {
                number: k,
                started_at: at,
                completed_at: at,
                prs: 50,
                stored_after: 50 * i64::from(k),
                points: Some(2),
                failed,
                error: failed.then(|| "GitHub said <b>no</b>".to_string()),
            }
        })
        .collect()
}

#[test]
fn the_fleet_sentence_counts_each_standing() {
    use Standing::*;
    let cases: [(&[Standing], &str); 4] = [
        (&[InProgress, InProgress, Current], "3 backfills, none needs attention: 2 in progress, 1 current."),
        (
            &[Current, Failing, InProgress, Failed, Failing],
            "5 backfills: 3 need attention (1 failed, 2 failing); 1 in progress, 1 current.",
        ),
        (&[Behind], "1 backfill, all needing attention: 1 behind."),
        (
            &[PausedByHand, PausedAfterFailures],
            "2 backfills: 1 needs attention (1 paused after failures); 1 paused by hand.",
        ),
    ];
    for (standings, want) in cases {
        assert_eq!(overview::sentence(standings), want);
    }
}

#[test]
fn the_page_says_which_backfills_have_sections() {
    let cases = [
        (
            (3, 3, 9, 200),
            "Sections below for 12 of 200 backfills: the 3 that need attention and the 9 most recently active.",
        ),
        (
            (1, 1, 11, 40),
            "Sections below for 12 of 40 backfills: the 1 that needs attention and the 11 most recently active.",
        ),
        ((0, 0, 12, 13), "Sections below for 12 of 13 backfills: the 12 most recently active (none needs attention)."),
        ((12, 30, 0, 200), "Sections below for 12 of 200 backfills: the first 12 of the 30 that need attention."),
        ((12, 12, 0, 20), "Sections below for 12 of 20 backfills: the 12 that need attention."),
    ];
    for ((shown, urgent, active, total), want) in cases {
        let note = sections_note(shown, urgent, active, total);
        assert!(note.starts_with(want), "{note}");
    }
}

#[test]
fn a_page_of_two_hundred_opens_with_the_urgent_and_keeps_to_a_few_sections() {
    let now = DateTime::parse_from_rfc3339("2026-12-01T12:05:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default();
    let mut lines: Vec<StatusLine> = Vec::new();
    let mut chunks: Vec<Vec<ChunkPoint>> = Vec::new();
    for i in 0..200 {
        let (l, c) = match i {
            17 => (line("acme/failing", BackfillStatus::Active, Some("GitHub said <b>no</b>")), history(40, 0, true)),
            90 => (line("acme/<stale>", BackfillStatus::Active, None), history(10, 48, false)),
            150 => (line("acme/gone", BackfillStatus::Failed, Some("not found")), history(3, 5, false)),
            // The most recently active: an hour later than the others.
            i if i % 20 == 5 => {
                (line(&format!("acme/recent{i:03}"), BackfillStatus::Active, None), history(40, 0, false))
            }
            i => (line(&format!("acme/r{i:03}"), BackfillStatus::Active, None), history(40, 1, false)),
        };
        lines.push(l);
        chunks.push(c);
    }
    let refs: Vec<&[ChunkPoint]> = chunks.iter().map(Vec::as_slice).collect();
    let fleet: Fleet = stand_all(&mut lines, &refs);
    assert_eq!(fleet.attention.len(), 3, "{:?}", fleet.attention);
    let pages: Vec<PageBackfill> =
        lines.iter().zip(&chunks).map(|(line, c)| PageBackfill { line, chunks: c }).collect();
    let credentials = [
        CredentialBudget { name: "token …cdef (3f9c)".into(), budget: None, seen_at: None },
        CredentialBudget { name: "App 1 installation 2 (<acme>)".into(), budget: None, seen_at: None },
    ];
    let html = page(&pages, None, &credentials, now);
    eprintln!("a page of 200 backfills: {} bytes", html.len());
    assert!(html.len() < 2 * 1024 * 1024, "{} bytes", html.len());
    assert!(html.contains(
        "<p class=\"fleet\">200 backfills: 3 need attention (1 failed, 1 failing, 1 behind); 197 in progress.</p>"
    ));
    // The urgent first in the table, most urgent first, and escaped.
    let rows: Vec<&str> = html.split("<tr class=\"backfill-row").skip(1).collect();
    assert_eq!(rows.len(), 200);
    let starts = ["<td>acme/gone</td>", "<td>acme/failing</td>", "<td>acme/&lt;stale&gt;</td>"];
    for (row, name) in rows.iter().zip(starts) {
        assert!(row.starts_with(" attention\"") && row.contains(name), "{row}");
    }
    assert!(rows[1].contains("<td class=\"last-error\">GitHub said &lt;b&gt;no&lt;/b&gt;</td>"), "{}", rows[1]);
    assert!(rows[1].contains("class=\"failed\""), "a red dot in its sparkline: {}", rows[1]);
    assert!(!html.contains("<b>no</b>") && !html.contains("<stale>"));
    assert_eq!(html.matches("<svg class=\"spark\"").count(), 200);
    // Sections: the three, then the most recently active.
    let sections: Vec<&str> = html.split("<section class=\"backfill\">\n<h2>").skip(1).collect();
    assert_eq!(sections.len(), MAX_SECTIONS);
    let named: Vec<&str> = sections.iter().filter_map(|s| s.split("</h2>").next()).collect();
    assert_eq!(&named[..3], ["acme/gone", "acme/failing", "acme/&lt;stale&gt;"]);
    assert!(named[3..].iter().all(|n| n.starts_with("acme/recent")), "{named:?}");
    assert!(html
        .contains("Sections below for 12 of 200 backfills: the 3 that need attention and the 9 most recently active."));
    assert!(html.contains("<figcaption>Red marks: failed chunks.</figcaption>"), "the failing one's charts");
    assert!(html.contains("<tr><td>token …cdef (3f9c)</td><td>budget not seen yet</td></tr>"), "each credential");
    assert!(html.contains("<td>App 1 installation 2 (&lt;acme&gt;)</td>"), "escaped");
}
