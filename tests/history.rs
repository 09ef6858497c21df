//! Seeing and steering every backfill: `history` answers "which chunk, what
//! did GitHub say, since when?" alone; priorities share a run that has room
//! for one chunk without starving the low one; `remove` stops a backfill for
//! good, also in the middle of a run.

mod common;

use std::time::Duration;

use common::{spec, stderr, text, Harness};
use fake_github::{Fault, RepoSpec};
use sqlx::PgPool;

fn ordinary(owner: &str, name: &str, prs: usize) -> RepoSpec {
    RepoSpec { extremes: false, ..spec(owner, name, prs) }
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The JSON lines of `history --json`, each parsed.
fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

async fn chunk_rows(h: &Harness, repo: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM backfill_chunks c JOIN repositories r ON r.id = c.repository_id WHERE r.full_name = $1",
    )
    .bind(repo)
    .fetch_one(&h.pool)
    .await
    .expect("chunk rows")
}

async fn stored_prs(h: &Harness, repo: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pull_requests p JOIN repositories r ON r.id = p.repository_id WHERE r.full_name = $1",
    )
    .bind(repo)
    .fetch_one(&h.pool)
    .await
    .expect("stored PRs")
}

async fn state_rows(h: &Harness, repo: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM progressive_backfill_state s JOIN repositories r ON r.id = s.repository_id \
         WHERE r.full_name = $1",
    )
    .bind(repo)
    .fetch_one(&h.pool)
    .await
    .expect("state rows")
}

#[sqlx::test(migrations = false)]
async fn the_history_shows_the_failed_chunk_with_what_github_said_and_since_when(pool: PgPool) {
    let h = Harness::start(pool, &[ordinary("acme", "stuck", 60)]).await;
    h.add("acme/stuck").await;
    h.ok(&["run", "--chunk-size", "20"]).await;
    let said = "The test's own refusal, as GitHub words one";
    let own = Fault::GraphqlError { kind: Some("UNPROCESSABLE".into()), message: said.into() };
    h.fake.with_control(|c| c.faults.push_back(own));
    let out = h.backfill(&["run", "--chunk-size", "20", "--max-retries", "0"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    let out = h.ok(&["history", "acme/stuck"]).await;
    let shown = stdout(&out);
    let mut lines = shown.lines();
    let head = lines.next().unwrap_or_default();
    assert!(head.starts_with("acme/stuck: active, priority normal, 20/60 PRs; failing since "), "{shown}");
    assert!(head.contains("1 failed chunk in a row, 1 of its own") && head.contains(said), "{shown}");
    let columns = lines.next().unwrap_or_default();
    for column in ["CHUNK", "PRS", "STARTED", "DURATION", "POINTS", "REQUESTS", "ATTEMPT", "STATUS", "ERROR"] {
        assert!(columns.contains(column), "{column} in {columns}");
    }
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "newest first:\n{shown}");
    let last = h.state_field("acme/stuck", "s.last_processed_pr_number").await.unwrap_or_default();
    let after = format!("after #{last}");
    assert!(rows[0].starts_with("2 ") && rows[0].contains(&after) && rows[0].contains("failed"), "{shown}");
    assert!(rows[0].contains(said), "GitHub's own words:\n{shown}");
    let first = format!("#1-#{last} (20)");
    assert!(rows[1].starts_with("1 ") && rows[1].contains(&first) && rows[1].contains("completed"), "{shown}");

    let out = h.ok(&["history", "acme/stuck", "--failed"]).await;
    let failed: Vec<String> = stdout(&out).lines().skip(2).map(String::from).collect();
    assert_eq!(failed.len(), 1, "{}", stdout(&out));
    assert!(failed[0].starts_with("2 "), "{failed:?}");

    // The same page stored at its second attempt, and the failure over.
    h.ok(&["run", "--chunk-size", "20"]).await;
    let out = h.ok(&["history", "acme/stuck", "--json"]).await;
    let lines = json_lines(&out);
    let numbers: Vec<i64> = lines.iter().filter_map(|l| l["chunk_number"].as_i64()).collect();
    assert_eq!(numbers, vec![3, 2, 1]);
    assert_eq!(lines[0]["status"], "completed");
    assert!(lines[0]["first_pr"].as_i64().is_some_and(|n| n > last.parse().unwrap_or(0)), "{}", lines[0]);
    assert_eq!(lines[0]["retry_count"], 1, "its second attempt at the page: {}", lines[0]);
    assert_eq!(lines[1]["status"], "failed");
    assert!(lines[1]["error"].as_str().is_some_and(|e| e.contains(said)), "{}", lines[1]);
    assert!(lines[2]["points"].as_i64().is_some_and(|p| p >= 1), "the points of a chunk: {}", lines[2]);
    assert!(lines[2]["requests"].as_i64().is_some_and(|r| r >= 1), "{}", lines[2]);
    assert!(lines[2]["duration_ms"].as_i64().is_some(), "{}", lines[2]);
    let out = h.ok(&["history", "acme/stuck", "--failed", "--json", "--limit", "5"]).await;
    let failed = json_lines(&out);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["chunk_number"], 2);
    let out = h.ok(&["history", "acme/stuck", "--limit", "1"]).await;
    assert!(stdout(&out).lines().next().unwrap_or_default().contains("not failing"), "{}", stdout(&out));
    assert_eq!(stdout(&out).lines().count(), 3, "the header, the columns, one chunk:\n{}", stdout(&out));

    let out = h.backfill(&["history", "acme/nothing"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", text(&out));
}

/// One chunk a run: the high-priority backfill gets it, and the low one
/// still moves within the runs the README states (passed over at most
/// `STARVED_AFTER + N - 1` = 4 runs in a row for two backfills).
#[sqlx::test(migrations = false)]
async fn one_chunk_a_run_goes_to_the_high_priority_and_the_low_one_still_moves(pool: PgPool) {
    let h = Harness::start(pool, &[ordinary("acme", "urgent", 60), ordinary("acme", "later", 60)]).await;
    h.ok(&["migrate"]).await;
    h.ok(&["add", "acme/urgent", "--priority", "high"]).await;
    // Tracked last, so first in the contract's order: the priority must win.
    h.backfill_with(&["add", "acme/later"], &[("BACKFILL_PRIORITY", "low")]).await;
    let out = h.ok(&["status", "--json"]).await;
    let status: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("status JSON");
    let priorities: Vec<(String, String)> = status
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| (b["repository"].as_str().unwrap_or("").to_string(), b["priority"].as_str().unwrap_or("").to_string()))
        .collect();
    assert_eq!(
        priorities,
        vec![("acme/later".to_string(), "low".to_string()), ("acme/urgent".to_string(), "high".to_string())]
    );

    let mut got = Vec::new();
    for run in 1..=8 {
        let before = (chunk_rows(&h, "acme/urgent").await, chunk_rows(&h, "acme/later").await);
        h.ok(&["run", "--max-chunks-total", "1", "--chunk-size", "5"]).await;
        let after = (chunk_rows(&h, "acme/urgent").await, chunk_rows(&h, "acme/later").await);
        let moved = match (after.0 - before.0, after.1 - before.1) {
            (1, 0) => "high",
            (0, 1) => "low",
            other => panic!("run {run}: one chunk a run, got {other:?}"),
        };
        got.push(moved);
    }
    assert_eq!(got, ["high", "high", "high", "low", "high", "high", "high", "low"]);
    let first_low = got.iter().position(|g| *g == "low").map(|i| i + 1);
    assert!(first_low.is_some_and(|r| r <= 5), "the low one moved in run {first_low:?}, over the bound");

    // Changed later, by hand: now the other one goes first.
    h.ok(&["priority", "acme/urgent", "low"]).await;
    h.ok(&["priority", "acme/later", "HIGH"]).await;
    let before = chunk_rows(&h, "acme/later").await;
    h.ok(&["run", "--max-chunks-total", "1", "--chunk-size", "5"]).await;
    assert_eq!(chunk_rows(&h, "acme/later").await, before + 1);
    let out = h.ok(&["status"]).await;
    let table = stdout(&out);
    assert!(table.lines().next().is_some_and(|l| l.contains("PRIORITY")), "{table}");
    assert!(table.lines().any(|l| l.starts_with("acme/later") && l.contains(" high ")), "{table}");

    let out = h.backfill(&["priority", "acme/later", "urgent"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("high, normal or low"), "{}", text(&out));
}

#[sqlx::test(migrations = false)]
async fn remove_stops_a_backfill_for_good_and_add_tracks_it_again(pool: PgPool) {
    let h = Harness::start(pool, &[ordinary("acme", "kept", 60), ordinary("acme", "purged", 60)]).await;
    h.add("acme/kept").await;
    h.ok(&["add", "acme/purged"]).await;
    h.ok(&["run", "--chunk-size", "20"]).await;

    h.ok(&["remove", "acme/kept"]).await;
    let out = h.ok(&["remove", "acme/purged", "--purge"]).await;
    assert!(stderr(&out).contains("removed, its chunk rows and state deleted"), "{}", text(&out));
    assert_eq!((state_rows(&h, "acme/purged").await, chunk_rows(&h, "acme/purged").await), (0, 0));
    assert_eq!(chunk_rows(&h, "acme/kept").await, 1, "without --purge the chunks stay");
    for repo in ["acme/kept", "acme/purged"] {
        assert_eq!(stored_prs(&h, repo).await, 20, "{repo}: the stored PRs stay");
    }
    let out = h.ok(&["remove", "acme/purged"]).await;
    assert!(stderr(&out).contains("already removed"), "again is harmless:\n{}", text(&out));

    let sent = h.fake.requests().len();
    let out = h.ok(&["run", "--discover"]).await;
    assert!(stderr(&out).contains("no backfill to run"), "{}", text(&out));
    assert!(h.fake.requests().len() <= sent + 1, "only the credentials check was sent");
    assert_eq!(state_rows(&h, "acme/purged").await, 0, "--discover does not start a removed repository again");
    let out = h.ok(&["status", "--json"]).await;
    assert_eq!(stdout(&out).trim(), "[]", "status lists no removed backfill");
    let out = h.ok(&["history", "acme/kept"]).await;
    assert!(stdout(&out).contains("removed: no run takes it"), "{}", stdout(&out));
    let out = h.backfill(&["resume", "acme/kept"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // `add` tracks both again: the kept one from where it stopped, the
    // purged one from the first PR.
    let out = h.ok(&["add", "acme/kept"]).await;
    assert!(stderr(&out).contains("tracked again from where it stopped"), "{}", text(&out));
    let out = h.ok(&["add", "acme/purged"]).await;
    assert!(stderr(&out).contains("tracked again from the first PR"), "{}", text(&out));
    h.ok(&["run", "--chunk-size", "20"]).await;
    assert_eq!(h.processed_prs("acme/kept").await, 40);
    assert_eq!(h.processed_prs("acme/purged").await, 20, "the first page again, upserted");
    let first: Vec<i32> = sqlx::query_scalar(
        "SELECT c.chunk_number FROM backfill_chunks c JOIN repositories r ON r.id = c.repository_id \
         WHERE r.full_name = 'acme/purged'",
    )
    .fetch_all(&h.pool)
    .await
    .expect("chunks");
    assert_eq!(first, vec![1], "a fresh history");
}

/// A run going on notices a removal before its next chunk of that backfill;
/// a purge during a fetch leaves no row behind.
#[sqlx::test(migrations = false)]
async fn a_removal_during_a_run_takes_effect_before_the_next_chunk(pool: PgPool) {
    let h = Harness::start(pool, &[ordinary("acme", "busy", 60)]).await;
    h.add("acme/busy").await;
    let slow = Duration::from_millis(700);
    for purge in [false, true] {
        h.fake.with_control(|c| c.latency = slow);
        let child = h.spawn(&["run", "--time-budget", "5m", "--chunk-size", "5"], &[]);
        h.wait_until("a request is in flight", Duration::from_secs(30), || async {
            h.fake.with_control(|c| c.in_flight > 0)
        })
        .await;
        let args: &[&str] = if purge { &["remove", "acme/busy", "--purge"] } else { &["remove", "acme/busy"] };
        h.ok(args).await;
        let at_removal = chunk_rows(&h, "acme/busy").await;
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("the run ends soon after the removal")
            .expect("run output");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(stderr(&out).contains("removed"), "the run says why it stopped:\n{}", text(&out));
        let after = chunk_rows(&h, "acme/busy").await;
        match purge {
            false => assert!(after <= at_removal + 1, "only the chunk in flight: {at_removal} then {after}"),
            true => assert_eq!((after, state_rows(&h, "acme/busy").await), (0, 0), "nothing written after the purge"),
        }
        assert!(stored_prs(&h, "acme/busy").await < 60, "the run stopped before the end");
        h.fake.with_control(|c| c.latency = Duration::ZERO);
        h.ok(&["add", "acme/busy"]).await;
    }
}
