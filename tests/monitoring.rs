//! Seeing every backfill: the ETA from a backfill's own history, the step
//! summary's chart of its chunks, and the `status --html` page opened in a
//! real headless browser.

mod common;

use common::browser::{as_dom_text, browser, console_lines, open_in_browser, TempDir};
use common::{spec, stderr, text, Harness};
use fake_github::Fault;
use sqlx::PgPool;

async fn status_json(h: &Harness) -> Vec<serde_json::Value> {
    let out = h.ok(&["status", "--json"]).await;
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    rows.as_array().cloned().unwrap_or_default()
}

fn row<'a>(rows: &'a [serde_json::Value], repo: &str) -> &'a serde_json::Value {
    rows.iter().find(|r| r["repository"] == repo).unwrap_or_else(|| panic!("no status row for {repo}: {rows:?}"))
}

#[sqlx::test(migrations = false)]
async fn the_eta_of_a_known_history_is_the_hand_computed_figure(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "eta", 40), spec("acme", "fresh", 10), spec("acme", "done", 10)]).await;
    for repo in ["acme/eta", "acme/fresh", "acme/done"] {
        h.add(repo).await;
    }
    // The issue's backfill: 2,000 PRs, three scheduled runs 30 minutes
    // apart that stored one chunk of 50 each, the last a minute ago; 0.02
    // points per PR measured, a 5,000-point hourly budget seen.
    sqlx::query(
        "UPDATE progressive_backfill_state s SET total_prs = 2000, processed_prs = 150, \
           metadata = coalesce(metadata, '{}'::jsonb) || jsonb_build_object('points_per_pr', 0.02, \
             'rate_limit', jsonb_build_object('limit', 5000, 'remaining', 4990, 'reset_at', now() + interval '30 minutes')) \
         FROM repositories r WHERE r.id = s.repository_id AND r.full_name = 'acme/eta'",
    )
    .execute(&h.pool)
    .await
    .expect("state");
    // One statement, so that one `now()` times all three: the hand-computed
    // figures hold to the second however slowly the rows are written.
    sqlx::query(
        "WITH c AS (INSERT INTO backfill_chunks (id, repository_id, backfill_state_id, chunk_number, pr_numbers, status, \
           started_at, completed_at, retry_count, api_calls_made, created_at) \
         SELECT gen_random_uuid(), s.repository_id, s.id, r.n, \
           ARRAY(SELECT generate_series((r.n - 1) * 50 + 1, r.n * 50)), 'completed', \
           now() - make_interval(mins => r.minutes_ago), \
           now() - make_interval(mins => r.minutes_ago) + interval '5 seconds', 0, 1, now() \
         FROM progressive_backfill_state s JOIN repositories p ON p.id = s.repository_id \
         CROSS JOIN (VALUES (1, 61), (2, 31), (3, 1)) AS r(n, minutes_ago) WHERE p.full_name = 'acme/eta' \
         RETURNING id) \
         INSERT INTO backfill_chunk_points (chunk_id, points) SELECT id, 1 FROM c",
    )
    .execute(&h.pool)
    .await
    .expect("chunk rows");
    sqlx::query("UPDATE progressive_backfill_state SET status = 'completed' WHERE repository_id = (SELECT id FROM repositories WHERE full_name = 'acme/done')")
        .execute(&h.pool)
        .await
        .expect("completed");

    let rows = status_json(&h).await;
    // By hand: the runs after the first stored 100 PRs in the hour from the
    // first run's end to the last's, so 100 PRs an hour; 1,850 PRs left take
    // 18.5 h = 66,600 s. The budget: 1,850 x 0.02 = 37 points of 5,000 an
    // hour = 26.64 s.
    let eta = &row(&rows, "acme/eta")["eta"];
    assert_eq!(eta["state"], "estimate", "{eta}");
    assert_eq!(eta["prs_left"], 1850, "{eta}");
    assert_eq!(eta["runs"], 3, "{eta}");
    assert_eq!(eta["prs_per_hour"], 100.0, "{eta}");
    assert_eq!(eta["at_schedule_secs"], 66_600, "{eta}");
    assert_eq!(eta["at_budget_secs"], 27, "{eta}");
    assert_eq!(eta["bound"], "schedule", "{eta}");
    let completes: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(eta["completes_at"].clone()).expect("a completion time");
    let from_now = (completes - chrono::Utc::now()).num_seconds();
    assert!((66_000..=66_600).contains(&from_now), "completes in {from_now} s");
    let words = row(&rows, "acme/eta")["eta_text"].as_str().unwrap_or_default().to_string();
    assert!(words.starts_with("about 19 h at this schedule (100 PRs/h over the last 3 runs"), "{words}");
    assert!(words.contains("about 1 min if each run used the whole budget; bound by the schedule"), "{words}");
    assert_eq!(row(&rows, "acme/fresh")["eta"]["state"], "no_history");
    assert_eq!(row(&rows, "acme/done")["eta"]["state"], "done");
    assert!(row(&rows, "acme/done")["eta_text"].is_null());

    let table = String::from_utf8_lossy(&h.ok(&["status"]).await.stdout).to_string();
    let line = |repo: &str| table.lines().find(|l| l.starts_with(repo)).unwrap_or_default().to_string();
    assert!(table.lines().next().is_some_and(|l| l.contains("ETA")), "{table}");
    assert!(line("acme/eta").contains("about 19 h (schedule; 1 min at full budget)"), "{table}");
    assert!(line("acme/fresh").contains("no history"), "{table}");

    // A page that cannot be written: one line, a usage error, nothing printed.
    let out = h.backfill(&["status", "--html", "/nonexistent/folder/page.html"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot write the HTML page /nonexistent/folder/page.html"), "{err}");
    assert!(out.stdout.is_empty(), "{}", text(&out));
}

/// The `line [...]` or `x-axis "..." [...]` values of a Mermaid chart.
fn values(chart: &str, prefix: &str) -> Vec<i64> {
    let line = chart.lines().map(str::trim).find(|l| l.starts_with(prefix)).unwrap_or_default();
    let list = line.rsplit_once('[').and_then(|(_, rest)| rest.strip_suffix(']')).unwrap_or_default();
    list.split(',').filter_map(|v| v.trim().parse().ok()).collect()
}

#[sqlx::test(migrations = false)]
async fn the_step_summary_charts_the_backfills_chunks(pool: PgPool) {
    let h = Harness::start(pool, &[spec("acme", "chart", 55)]).await;
    h.add("acme/chart").await;
    let dir = TempDir::new("monitoring");
    let summary = dir.0.join("summary.md");
    let env = [("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap_or_default())];
    for _ in 0..2 {
        let _ = std::fs::remove_file(&summary);
        let out = h.backfill_with(&["run", "--chunk-size", "10", "--max-chunks", "2"], &env).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let md = std::fs::read_to_string(&summary).expect("the summary of the second run");
    let start = md.find("```mermaid\n").unwrap_or_else(|| panic!("a Mermaid chart: {md}"));
    let chart = &md[start..];
    let chart = &chart[..chart[3..].find("```").map_or(chart.len(), |i| i + 3)];
    assert!(
        chart.contains("xychart-beta") && chart.contains("title \"acme/chart: PRs stored after each chunk\""),
        "{chart}"
    );

    // The database's chunks: each one a point, at the PRs stored by then.
    let chunks: Vec<(i32, i32)> = sqlx::query_as(
        "SELECT c.chunk_number, c.pr_count FROM backfill_chunks c JOIN repositories r ON r.id = c.repository_id \
         WHERE r.full_name = 'acme/chart' AND c.status = 'completed' ORDER BY c.chunk_number",
    )
    .fetch_all(&h.pool)
    .await
    .expect("chunks");
    assert_eq!(chunks.len(), 4, "{chunks:?}");
    let numbers: Vec<i64> = chunks.iter().map(|c| i64::from(c.0)).collect();
    let stored: Vec<i64> = chunks
        .iter()
        .scan(0, |sum, c| {
            *sum += i64::from(c.1);
            Some(*sum)
        })
        .collect();
    assert_eq!(values(chart, "x-axis"), numbers, "{chart}");
    assert_eq!(values(chart, "line"), stored, "{chart}");
    assert!(chart.contains("y-axis \"PRs stored\" 0 --> 55"), "{chart}");
    // Both runs came within minutes: one run as far as the pace can tell.
    assert!(md.contains("**acme/chart**: no pace yet (1 run so far: it takes two);"), "{md}");
    assert!(md.contains("if each run used the whole budget"), "{md}");
}

#[sqlx::test(migrations = false)]
async fn the_html_page_opens_in_a_browser_and_shows_the_database_rows(pool: PgPool) {
    let Some(browser) = browser() else { return };
    let h = Harness::start(pool, &[spec("acme", "one", 30), spec("acme", "two", 12)]).await;
    h.add("acme/one").await;
    h.ok(&["add", "acme/two"]).await;
    h.fake.with_control(|c| {
        c.faults.push_back(Fault::GraphqlError { kind: None, message: "boom <b>bold</b> & \"quoted\"".into() })
    });
    let out = h.backfill(&["run", "--repository-id", "acme/one"]).await;
    assert_eq!(out.status.code(), Some(1), "the chunk fails: {}", text(&out));
    h.ok(&["run", "--chunk-size", "10", "--max-chunks", "2"]).await;

    let dir = TempDir::new("monitoring-html");
    let page = dir.0.join("status.html");
    let out = h.backfill_with(&["status"], &[("BACKFILL_STATUS_HTML", page.to_str().unwrap_or_default())]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let html = std::fs::read_to_string(&page).expect("the page is written");
    for outside in ["src=", "href=", "@import", "url("] {
        assert!(!html.contains(outside), "the page loads nothing from outside ({outside})");
    }

    // A broken page does log to the console: the check below can fail.
    let broken = dir.0.join("broken.html");
    std::fs::write(&broken, "<!DOCTYPE html><p>x</p><script>no_such_function();</script>").expect("write");
    let (_, log) = open_in_browser(&browser, &broken).await;
    assert!(!console_lines(&log).is_empty(), "a script error shows as a CONSOLE line: {log}");

    let (dom, log) = open_in_browser(&browser, &page).await;
    assert!(console_lines(&log).is_empty(), "console messages: {:?}", console_lines(&log));
    assert!(dom.contains("<p id=\"rendered\">rendered: 2 backfills</p>"), "the page's script ran: {dom}");
    let names: Vec<String> =
        sqlx::query_scalar("SELECT full_name FROM repositories ORDER BY 1").fetch_all(&h.pool).await.expect("names");
    assert_eq!(names.len(), 2);
    for name in &names {
        assert!(dom.contains(&format!("<td>{name}</td>")), "{name} in the table: {dom}");
        assert!(dom.contains(&format!("<h2>{name}</h2>")), "{name} has a section: {dom}");
    }
    let errors: Vec<String> =
        sqlx::query_scalar("SELECT error FROM backfill_chunks WHERE status = 'failed' ORDER BY chunk_number")
            .fetch_all(&h.pool)
            .await
            .expect("failed chunks");
    assert_eq!(errors.len(), 1, "{errors:?}");
    for error in &errors {
        assert!(error.contains("<b>bold</b>"), "GitHub's message is stored: {error}");
        assert!(dom.contains(&format!("<td class=\"error\">{}</td>", as_dom_text(error))), "{error} shown: {dom}");
    }
    assert!(!dom.contains("<b>bold</b>"), "database text is never markup");
    assert_eq!(dom.matches("<svg").count(), 6, "two charts per backfill, and a sparkline in each overview row");
    assert_eq!(dom.matches("<svg class=\"spark\"").count(), 2, "a sparkline per backfill");
    // acme/one's failed chunk: a red mark in its sparkline and its charts, said under them.
    assert_eq!(dom.matches("<circle class=\"failed\"").count(), 1, "{dom}");
    assert_eq!(dom.matches("<figcaption>Red marks: failed chunks.</figcaption>").count(), 2, "{dom}");
    assert!(
        dom.contains("<p class=\"fleet\">2 backfills, none needs attention: 1 in progress, 1 current.</p>"),
        "{dom}"
    );
    let priorities = dom.matches("<td>normal</td>").count();
    assert_eq!(priorities, 2, "each backfill's priority, normal by default");
}

/// A priority this tool never writes (another tool's, or one set by hand in
/// SQL) is decoded once, as normal: the table, `--json` and the page show
/// it alike, as the runs order it.
#[sqlx::test(migrations = false)]
async fn a_stored_priority_of_another_shape_shows_as_normal_everywhere(pool: PgPool) {
    let h =
        Harness::start(pool, &[spec("acme", "odd", 10), spec("acme", "typed", 10), spec("acme", "number", 10)]).await;
    h.add("acme/odd").await;
    h.add("acme/number").await;
    h.ok(&["add", "acme/typed", "--priority", "low"]).await;
    for (repo, stored) in [("acme/odd", "\"HIGH\""), ("acme/number", "3")] {
        sqlx::query(
            "UPDATE progressive_backfill_state s SET metadata = s.metadata || jsonb_build_object('priority', $2::jsonb) \
             FROM repositories r WHERE r.id = s.repository_id AND r.full_name = $1",
        )
        .bind(repo)
        .bind(stored)
        .execute(&h.pool)
        .await
        .expect("a priority of another shape");
    }
    let want = [("acme/odd", "normal"), ("acme/number", "normal"), ("acme/typed", "low")];

    let rows = status_json(&h).await;
    for (repo, priority) in want {
        assert_eq!(row(&rows, repo)["priority"], priority, "--json: {rows:?}");
    }

    let dir = TempDir::new("monitoring-priority");
    let page = dir.0.join("status.html");
    let out = h.ok(&["status", "--html", page.to_str().unwrap_or_default()]).await;
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    let html = std::fs::read_to_string(&page).expect("the page is written");
    for (repo, priority) in want {
        let line =
            table.lines().find(|l| l.starts_with(repo)).unwrap_or_else(|| panic!("{repo} in the table:\n{table}"));
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells.get(2), Some(&priority), "the table's PRIORITY column: {line}");
        assert!(
            html.contains(&format!("<td>{repo}</td><td>active</td><td>{priority}</td>")),
            "{repo} in the page: {html}"
        );
        assert!(html.contains(&format!("PRs, priority {priority}.")), "{repo}'s section: {html}");
    }
}
