//! The reports of a fleet read like those of two backfills: a run over many closes with the
//! ones that need attention and a count of the rest, `status --attention`
//! lists only those, and the page opens with the whole fleet, the urgent
//! first, in a real browser.

mod common;

use common::browser::{as_dom_text, browser, console_lines, open_in_browser, TempDir};
use common::{spec, stderr, text, Harness};
use fake_github::Fault;
use sqlx::PgPool;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A stored chunk of `repo`'s, `hours` ago, as an earlier run left it.
async fn old_chunk(h: &Harness, repo: &str, hours: i32) {
    sqlx::query(
        "INSERT INTO backfill_chunks (repository_id, backfill_state_id, chunk_number, pr_numbers, status, started_at, \
           completed_at) \
         SELECT s.repository_id, s.id, 1, ARRAY[1, 2, 3], 'completed', now() - make_interval(hours => $2), \
           now() - make_interval(hours => $2) + interval '5 seconds' \
         FROM progressive_backfill_state s JOIN repositories r ON r.id = s.repository_id WHERE r.full_name = $1",
    )
    .bind(repo)
    .bind(hours)
    .execute(&h.pool)
    .await
    .expect("an old chunk");
}

#[sqlx::test(migrations = false)]
async fn a_run_over_many_backfills_names_those_that_need_attention_and_counts_the_rest(pool: PgPool) {
    // More PRs than a page holds: each begins on its own, in turn.
    let names: Vec<String> = (0..10).map(|i| format!("acme/r{i:02}")).collect();
    let specs: Vec<_> = names
        .iter()
        .map(|n| spec("acme", &n[5..], 150))
        .chain([spec("acme", "failing", 150), spec("acme", "stale", 150)])
        .collect();
    let h = Harness::start(pool, &specs).await;
    h.ok(&["migrate"]).await;
    for name in &names {
        h.ok(&["add", name]).await;
    }
    // The first turn is the high one's, and GitHub fails it; the low one gets
    // none in a run of eight chunks, and stored its last PRs two days ago.
    h.ok(&["add", "acme/failing", "--priority", "high"]).await;
    h.ok(&["add", "acme/stale", "--priority", "low"]).await;
    old_chunk(&h, "acme/stale", 48).await;
    h.fake.with_control(|c| c.faults.push_back(Fault::GraphqlError { kind: None, message: "boom <b>here</b>".into() }));

    let dir = TempDir::new("fleet-summary");
    let summary = dir.0.join("summary.md");
    let env = [("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap_or_default())];
    let out = h.backfill_with(&["run", "--max-chunks-total", "8", "--chunk-size", "10"], &env).await;
    assert_eq!(out.status.code(), Some(1), "a chunk failed: {}", text(&out));
    let err = stderr(&out);
    let closing: Vec<&str> = err.lines().skip_while(|l| !l.starts_with("run finished:")).collect();
    assert!(closing[0].contains("7 chunks, 70 PRs stored, 1 failed chunk"), "{err}");
    assert_eq!(closing[1], "12 backfills in this run, 7 of them stored PRs; 2 need attention:", "{err}");
    assert!(closing[2].starts_with("  acme/failing: failing: 1 failed chunk in a row since "), "{err}");
    assert!(closing[2].ends_with("boom <b>here</b>"), "the terminal shows GitHub's words as they are: {err}");
    assert!(closing[3].starts_with("  acme/stale: behind: no PRs stored since "), "{err}");
    assert_eq!(closing[4], "and 10 more, all in progress", "{err}");
    assert_eq!(closing.len(), 5, "{err}");

    let md = std::fs::read_to_string(&summary).expect("the step summary");
    assert!(md.starts_with("### backfill run\n\n7 chunks, 70 PRs stored, 1 failed chunk,"), "totals first:\n{md}");
    let wanted = [
        "12 backfills in this run, 7 of them stored PRs; **2 need attention**:",
        "| acme/failing | failing: 1 failed chunk in a row since ",
        "boom &lt;b&gt;here&lt;/b&gt; |",
        "| acme/stale | behind: no PRs stored since ",
        "And 10 more, all in progress.",
        "<details><summary>The 7 backfills that stored PRs in this run</summary>",
    ];
    for part in wanted {
        assert!(md.contains(part), "{part:?} in:\n{md}");
    }
    assert_eq!(md.matches("```mermaid").count(), 7, "a chart for each that stored PRs:\n{md}");

    // `status --attention`: the same two, most urgent first, the rest counted.
    for (args, env) in
        [(&["status", "--attention"][..], &[][..]), (&["status"], &[("BACKFILL_STATUS_ATTENTION", "yes")][..])]
    {
        let out = h.backfill_with(args, env).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let table = stdout(&out);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(lines[0].starts_with("REPOSITORY") && lines[0].contains("ATTENTION"), "{table}");
        assert!(lines[1].starts_with("acme/failing") && lines[1].contains("failing: 1 failed chunk"), "{table}");
        assert!(lines[2].starts_with("acme/stale") && lines[2].contains("behind: no PRs stored since"), "{table}");
        assert_eq!(stderr(&out).trim_end(), "and 10 more, all in progress", "{}", text(&out));
    }
    let out = h.ok(&["status", "--attention", "--json"]).await;
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let rows = rows.as_array().cloned().unwrap_or_default();
    let got: Vec<(&str, &str)> =
        rows.iter().map(|r| (r["repository"].as_str().unwrap_or(""), r["standing"].as_str().unwrap_or(""))).collect();
    assert_eq!(got, [("acme/failing", "failing"), ("acme/stale", "behind")]);
    assert!(rows[0]["attention"].as_str().is_some_and(|a| a.ends_with("boom <b>here</b>")), "{rows:?}");
    let all = h.ok(&["status", "--json"]).await;
    let all: serde_json::Value = serde_json::from_slice(&all.stdout).expect("JSON");
    let all = all.as_array().cloned().unwrap_or_default();
    assert_eq!(all.len(), 12);
    assert!(all.iter().filter(|r| r["standing"] == "in_progress").all(|r| r["attention"].is_null()), "{all:?}");

    // Fixed: the failing one stores again, the stale one gets its turn.
    h.ok(&["run", "--chunk-size", "10"]).await;
    let out = h.ok(&["status", "--attention"]).await;
    assert_eq!(stdout(&out), "", "{}", text(&out));
    assert_eq!(stderr(&out).trim_end(), "no backfill needs attention (12 tracked: all in progress)", "{}", text(&out));
    let out = h.ok(&["status", "--attention", "--json"]).await;
    assert_eq!(stdout(&out).trim(), "[]");
}

/// A backfill made in SQL, as a fleet's runs would have left it: `chunks`
/// chunks of 50 PRs 30 minutes apart, the last ending `hours` ago (and
/// failed, with `error`, if `failing`).
struct Made<'a> {
    name: &'a str,
    status: &'a str,
    metadata: &'a str,
    error: Option<&'a str>,
    chunks: i32,
    hours: i32,
    failing: bool,
}

async fn make(h: &Harness, github_id: i64, b: Made<'_>) {
    sqlx::query(
        "WITH r AS (INSERT INTO repositories (github_id, owner, name, full_name, pull_request_count) \
           VALUES ($1, split_part($2, '/', 1), split_part($2, '/', 2), $2, 10000) RETURNING id), \
         s AS (INSERT INTO progressive_backfill_state (repository_id, total_prs, processed_prs, status, metadata, \
             last_error, last_processed_at, created_at) \
           SELECT id, 10000, $5 * 50, $3, $4::jsonb, $6, now() - make_interval(hours => $7), now() - interval '30 days' \
           FROM r RETURNING id, repository_id) \
         INSERT INTO backfill_chunks (repository_id, backfill_state_id, chunk_number, pr_numbers, status, started_at, \
           completed_at, error) \
         SELECT s.repository_id, s.id, k, \
           CASE WHEN $8 AND k = $5 THEN '{}'::int[] ELSE ARRAY(SELECT generate_series((k - 1) * 50 + 1, k * 50)) END, \
           CASE WHEN $8 AND k = $5 THEN 'failed' ELSE 'completed' END, \
           now() - make_interval(hours => $7, mins => 30 * ($5 - k)), \
           now() - make_interval(hours => $7, mins => 30 * ($5 - k)) + interval '5 seconds', \
           CASE WHEN $8 AND k = $5 THEN $6 END \
         FROM s, generate_series(1, $5) AS k",
    )
    .bind(github_id)
    .bind(b.name)
    .bind(b.status)
    .bind(b.metadata)
    .bind(b.chunks)
    .bind(b.error)
    .bind(b.hours)
    .bind(b.failing)
    .execute(&h.pool)
    .await
    .expect("a backfill made in SQL");
}

#[sqlx::test(migrations = false)]
async fn the_page_of_a_fleet_opens_with_the_urgent_in_a_browser(pool: PgPool) {
    let Some(browser) = browser() else { return };
    let h = Harness::start(pool, &[]).await;
    h.ok(&["migrate"]).await;
    let plain =
        |name| Made { name, status: "active", metadata: "{}", error: None, chunks: 20, hours: 0, failing: false };
    let names: Vec<String> = (0..16).map(|i| format!("fleet/r{i:02}")).collect();
    let mut fleet: Vec<Made> =
        names.iter().enumerate().map(|(i, n)| Made { hours: (i % 2) as i32, ..plain(n) }).collect();
    fleet.extend([
        Made { status: "failed", error: Some("repository <i>gone</i>"), chunks: 3, hours: 5, ..plain("fleet/broken") },
        Made { error: Some("GitHub said <b>no</b> & more"), chunks: 10, failing: true, ..plain("fleet/flaky") },
        Made { chunks: 5, hours: 72, ..plain("fleet/stale") },
        Made { status: "paused", metadata: r#"{"pause_kind": "manual"}"#, chunks: 5, hours: 72, ..plain("fleet/held") },
    ]);
    for (i, b) in fleet.into_iter().enumerate() {
        make(&h, 1_000 + i as i64, b).await;
    }

    let dir = TempDir::new("fleet-html");
    let page = dir.0.join("status.html");
    h.ok(&["status", "--html", page.to_str().unwrap_or_default()]).await;
    let (dom, log) = open_in_browser(&browser, &page).await;
    assert!(console_lines(&log).is_empty(), "console messages: {:?}", console_lines(&log));
    assert!(dom.contains("<p id=\"rendered\">rendered: 20 backfills</p>"), "the page's script ran: {dom}");
    assert!(
        dom.contains("<p class=\"fleet\">20 backfills: 3 need attention (1 failed, 1 failing, 1 behind); 16 in progress, 1 paused by hand.</p>"),
        "{dom}"
    );
    // The overview: the urgent first, most urgent first; every row a sparkline.
    let rows: Vec<&str> = dom.split("<tr class=\"backfill-row").skip(1).collect();
    assert_eq!(rows.len(), 20, "{dom}");
    let urgent = [("fleet/broken", "failed"), ("fleet/flaky", "failing"), ("fleet/stale", "behind")];
    for (row, (name, standing)) in rows.iter().zip(urgent) {
        assert!(row.starts_with(&format!(" attention\" data-standing=\"{standing}\"><td>{name}</td>")), "{row}");
    }
    assert!(rows[3..].iter().all(|r| r.starts_with("\" data-standing=")), "the others after: {dom}");
    assert!(dom.contains("data-standing=\"paused_by_hand\"><td>fleet/held</td>"), "a pause by hand is no attention");
    assert!(
        rows[0].contains(&format!("<td class=\"last-error\">{}</td>", as_dom_text("repository <i>gone</i>"))),
        "{}",
        rows[0]
    );
    assert!(rows[1].contains(&format!("<td class=\"last-error\">{}</td>", as_dom_text("GitHub said <b>no</b> & more"))));
    assert!(rows[1].contains("<circle class=\"failed\""), "the failed chunk is a red dot: {}", rows[1]);
    assert!(!dom.contains("<b>no</b>") && !dom.contains("<i>gone</i>"), "database text is never markup");
    assert_eq!(dom.matches("<svg class=\"spark\"").count(), 20);
    // Sections: the three, then the nine most recently active (the r's an hour fresher).
    let sections: Vec<&str> = dom.split("<section class=\"backfill\">\n<h2>").skip(1).collect();
    let named: Vec<&str> = sections.iter().filter_map(|s| s.split("</h2>").next()).collect();
    assert_eq!(named.len(), 12, "{named:?}");
    assert_eq!(&named[..3], ["fleet/broken", "fleet/flaky", "fleet/stale"]);
    let fresh: Vec<String> = (0..16).step_by(2).map(|i| format!("fleet/r{i:02}")).collect();
    assert_eq!(named[3..].iter().filter(|n| fresh.iter().any(|f| f == *n)).count(), 8, "{named:?}");
    assert!(dom
        .contains("Sections below for 12 of 20 backfills: the 3 that need attention and the 9 most recently active."));
}
