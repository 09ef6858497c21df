//! Proving the copy complete (README, "Is the copy complete?"): `verify`
//! compares GitHub's counts of each PR with the copy and exits 1 when they
//! differ, `verify --repair` refetches what differs until the copy equals
//! GitHub's again (the oracle says so, every column), the rolling audit of
//! `run --audit N` finds and repairs what lies in the part it reaches, and a
//! PR GitHub removed is reported, kept, or deleted when asked.

mod common;

use common::changes::complete;
use common::oracle::assert_complete;
use common::{spec, stderr, text, Harness};
use sqlx::PgPool;

/// Stdout of a command, as text.
fn out(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// PR numbers of `full_name` that `sql` (a condition on `p`) picks, lowest first.
async fn prs_where(h: &Harness, full_name: &str, condition: &str, limit: i64) -> Vec<i32> {
    sqlx::query_scalar(&format!(
        "SELECT p.number FROM pull_requests p JOIN repositories r ON r.id = p.repository_id \
         WHERE r.full_name = $1 AND {condition} ORDER BY p.number LIMIT $2"
    ))
    .bind(full_name)
    .bind(limit)
    .fetch_all(&h.pool)
    .await
    .expect("PRs picked")
}

/// Runs a statement over the PRs `numbers` of `full_name` (`$1`: the
/// repository's name, `$2`: the numbers).
async fn damage(h: &Harness, full_name: &str, sql: &str, numbers: &[i32]) -> u64 {
    sqlx::query(sql).bind(full_name).bind(numbers).execute(&h.pool).await.expect("damage done").rows_affected()
}

const OF_THESE: &str = "pull_request_id IN (SELECT p.id FROM pull_requests p JOIN repositories r \
     ON r.id = p.repository_id WHERE r.full_name = $1 AND p.number = ANY($2))";

/// Deletes one whole PR with its reviews and comments.
async fn delete_whole_pr(h: &Harness, full_name: &str, number: i32) {
    for sql in [
        format!("UPDATE comments SET in_reply_to_id = NULL WHERE {OF_THESE}"),
        format!("DELETE FROM comments WHERE {OF_THESE}"),
        format!("DELETE FROM reviews WHERE {OF_THESE}"),
        "DELETE FROM pull_requests p USING repositories r WHERE r.id = p.repository_id AND r.full_name = $1 \
         AND p.number = ANY($2)"
            .to_string(),
    ] {
        damage(h, full_name, &sql, &[number]).await;
    }
}

/// Points the fake charged since the request at `mark`.
fn points_since(h: &Harness, mark: usize) -> i64 {
    h.fake.requests()[mark..].iter().map(|r| r.cost).sum()
}

#[sqlx::test(migrations = false)]
async fn verify_finds_what_was_lost_and_repair_brings_the_copy_back(pool: PgPool) {
    let h = Harness::start(pool, &[spec("check", "copy", 300)]).await;
    complete(&h, "check/copy").await;
    let name = "check/copy";

    let mark = h.fake.requests().len();
    let clean = h.backfill(&["verify", name]).await;
    assert_eq!(clean.status.code(), Some(0), "the untouched copy matches:\n{}", text(&clean));
    assert!(out(&clean).contains("check/copy: matches GitHub"), "{}", text(&clean));
    assert!(points_since(&h, mark) <= 4, "a verify of 300 PRs: {} points", points_since(&h, mark));

    // Issue comments of three PRs, three reviews (of three other PRs), one
    // whole PR, and one PR's updated_at 400 days back.
    let commented = prs_where(
        &h,
        name,
        "EXISTS (SELECT 1 FROM comments c WHERE c.pull_request_id = p.id \
         AND c.comment_type = 'issue_comment')",
        3,
    )
    .await;
    let reviewed = prs_where(
        &h,
        name,
        &format!(
            "EXISTS (SELECT 1 FROM reviews v WHERE v.pull_request_id = p.id) \
         AND NOT p.number = ANY('{{{}}}')",
            join(&commented)
        ),
        3,
    )
    .await;
    let all = prs_where(&h, name, "true", 300).await;
    let (gone, stale) = (vec![all[150]], vec![all[201]]);
    assert!(!commented.iter().chain(&reviewed).any(|n| gone.contains(n) || stale.contains(n)), "PRs apart");
    assert_eq!((commented.len(), reviewed.len()), (3, 3), "PRs to damage");
    let sql = format!("DELETE FROM comments WHERE comment_type = 'issue_comment' AND {OF_THESE}");
    assert!(damage(&h, name, &sql, &commented).await >= 3);
    let sql = format!(
        "DELETE FROM reviews WHERE id IN (SELECT DISTINCT ON (pull_request_id) id FROM reviews WHERE {OF_THESE})"
    );
    assert_eq!(damage(&h, name, &sql, &reviewed).await, 3);
    delete_whole_pr(&h, name, gone[0]).await;
    let sql = "UPDATE pull_requests p SET updated_at = p.updated_at - interval '400 days' FROM repositories r \
               WHERE r.id = p.repository_id AND r.full_name = $1 AND p.number = ANY($2)";
    assert_eq!(damage(&h, name, sql, &stale).await, 1);

    let mark = h.fake.requests().len();
    let found = h.backfill(&["verify", name]).await;
    let points = points_since(&h, mark);
    assert_eq!(found.status.code(), Some(1), "differences are a failed check:\n{}", text(&found));
    let said = out(&found);
    eprintln!("{said}({points} points)");
    assert!(points <= 12, "verify spent {points} points");
    let line = |kind: &str| said.lines().find(|l| l.trim_start().starts_with(kind)).unwrap_or_default().to_string();
    for n in &commented {
        assert!(line("comments missing:").contains(&format!("#{n}")), "PR {n} named:\n{said}");
    }
    for n in &reviewed {
        assert!(line("reviews missing:").contains(&format!("#{n}")), "PR {n} named:\n{said}");
    }
    assert!(line("PRs missing:").contains(&format!("#{}", gone[0])), "{said}");
    assert!(line("PRs stale:").contains(&format!("#{}", stale[0])), "{said}");
    assert!(!said.contains("no longer has"), "nothing is gone from GitHub:\n{said}");

    // The same as one JSON object.
    let json = h.backfill(&["verify", name, "--json"]).await;
    assert_eq!(json.status.code(), Some(1), "{}", text(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON object");
    assert_eq!(v["differences"]["prs_missing"], serde_json::json!(gone), "{v}");
    assert_eq!(v["differences"]["prs_stale"], serde_json::json!(stale), "{v}");
    assert_eq!(v["differences"]["reviews_missing"], serde_json::json!(reviewed), "{v}");
    assert_eq!(v["differences"]["comments_missing"], serde_json::json!(commented), "{v}");
    assert_eq!(v["matches"], false);

    let repaired = h.backfill(&["verify", "--repair", name]).await;
    assert_eq!(repaired.status.code(), Some(0), "the repair mends it:\n{}", text(&repaired));
    assert!(out(&repaired).contains("matches GitHub after the repair"), "{}", text(&repaired));
    eprintln!("{}", out(&repaired));
    assert_complete(&h, "check", "copy").await;
    assert_eq!(h.processed_prs(name).await, 300, "processed_prs counts the PR restored");
    let again = h.backfill(&["verify", name]).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));

    // The repair's pages are chunk rows of their numbers, like a sweep's.
    let repaired_rows: Vec<Vec<i32>> = sqlx::query_scalar(
        "SELECT c.pr_numbers FROM backfill_chunks c JOIN repositories r ON r.id = c.repository_id \
         WHERE r.full_name = $1 ORDER BY c.chunk_number DESC LIMIT 1",
    )
    .bind(name)
    .fetch_all(&h.pool)
    .await
    .expect("chunk rows");
    let mut mended: Vec<i32> = commented.iter().chain(&reviewed).chain(&gone).chain(&stale).copied().collect();
    mended.sort_unstable();
    assert_eq!(repaired_rows, vec![mended], "one chunk row of the PRs refetched");

    // What each verify found is kept, and shown.
    let kept: Vec<(String, i32, i32, bool)> = sqlx::query_as(
        "SELECT kind, prs_missing + prs_stale + reviews_missing + comments_missing, prs_refetched, repaired \
         FROM backfill_verifications ORDER BY id",
    )
    .fetch_all(&h.pool)
    .await
    .expect("verifications");
    let want = [
        ("verify", 0, 0, true),
        ("verify", 8, 0, false),
        ("verify", 8, 0, false),
        ("verify", 8, 8, true),
        ("verify", 0, 0, true),
    ];
    let want: Vec<(String, i32, i32, bool)> = want.iter().map(|(k, f, r, ok)| (k.to_string(), *f, *r, *ok)).collect();
    assert_eq!(kept, want);
    let history = out(&h.ok(&["history", name]).await);
    assert!(history.contains("VERIFIED") && history.contains("PRs stale 1"), "{history}");
    let status: serde_json::Value = serde_json::from_slice(&h.ok(&["status", "--json"]).await.stdout).expect("JSON");
    assert_eq!(status[0]["audited"]["prs_checked"], 300, "{status}");
    assert!(out(&h.ok(&["status"]).await).contains("AUDITED"));
    let page = std::env::temp_dir().join(format!("verify-{}.html", uuid::Uuid::new_v4()));
    h.ok(&["status", "--html", page.to_str().unwrap_or_default()]).await;
    let html = std::fs::read_to_string(&page).expect("the page");
    let _ = std::fs::remove_file(&page);
    assert!(html.contains("Last fully audited: ") && html.contains("300 PRs, all matched"), "{html}");
}

fn join(numbers: &[i32]) -> String {
    numbers.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

#[sqlx::test(migrations = false)]
async fn the_rolling_audit_repairs_what_it_reaches_within_its_budget(pool: PgPool) {
    let h = Harness::start(pool, &[spec("roll", "ing", 300)]).await;
    complete(&h, "roll/ing").await;
    let name = "roll/ing";
    // A difference in each third of the PRs.
    let reviewed = prs_where(&h, name, "EXISTS (SELECT 1 FROM reviews v WHERE v.pull_request_id = p.id)", 300).await;
    let planted: Vec<i32> = [0, reviewed.len() / 2, reviewed.len() - 1].iter().map(|i| reviewed[*i]).collect();
    let sql = format!(
        "DELETE FROM reviews WHERE id IN (SELECT DISTINCT ON (pull_request_id) id FROM reviews WHERE {OF_THESE})"
    );
    assert_eq!(damage(&h, name, &sql, &planted).await, 3);

    let mut per_run = Vec::new();
    for run in 0..3 {
        let mark = h.fake.requests().len();
        let o = h.backfill_with(&["run"], &[("BACKFILL_AUDIT", "100")]).await;
        assert_eq!(o.status.code(), Some(0), "run {run}:\n{}", text(&o));
        assert!(stderr(&o).contains("roll/ing: audited"), "run {run} audits:\n{}", text(&o));
        let log = h.fake.requests()[mark..].to_vec();
        let listing: i64 = log.iter().filter(|r| r.operation.as_deref() == Some("VerifyPage")).map(|r| r.cost).sum();
        per_run.push((listing, points_since(&h, mark)));
        if run == 0 {
            // The first window reached the first planted PR only; the rest
            // wait for the windows that reach them.
            let later = h.backfill(&["verify", name, "--json"]).await;
            assert_eq!(later.status.code(), Some(1), "{}", text(&later));
            let v: serde_json::Value = serde_json::from_slice(&later.stdout).expect("JSON");
            assert_eq!(v["differences"]["reviews_missing"], serde_json::json!(planted[1..]), "{v}");
        }
    }
    // A point for each window of 100 PRs, a point or two for the repair of
    // its one PR, and the run's check for news: within README's budget.
    for (run, (listing, all)) in per_run.iter().enumerate() {
        assert_eq!(*listing, 1, "run {run}: 100 PRs listed for a point");
        assert!(*all <= 4, "run {run}: {all} points in all");
    }
    assert_complete(&h, "roll", "ing").await;
    let status: serde_json::Value = serde_json::from_slice(&h.ok(&["status", "--json"]).await.stdout).expect("JSON");
    let audited = &status[0]["audited"];
    assert_eq!(audited["found"]["reviews_missing"], 3, "{status}");
    assert_eq!((audited["prs_checked"].as_i64(), audited["repaired"].as_bool()), (Some(300), Some(true)), "{status}");
    // The next run begins a new pass at the first PR, and finds nothing.
    let o = h.backfill_with(&["run", "--audit", "100"], &[]).await;
    assert!(stderr(&o).contains("matched GitHub"), "{}", text(&o));
    let windows: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT pass_started_at) FROM backfill_verifications WHERE kind = 'audit'")
            .fetch_one(&h.pool)
            .await
            .expect("passes");
    assert_eq!(windows, 2, "a second pass began");
}

#[sqlx::test(migrations = false)]
async fn a_pr_github_removed_is_reported_kept_and_deleted_only_when_asked(pool: PgPool) {
    let h = Harness::start(pool, &[spec("spam", "med", 60)]).await;
    complete(&h, "spam/med").await;
    let name = "spam/med";
    let spam = prs_where(
        &h,
        name,
        "EXISTS (SELECT 1 FROM comments c WHERE c.pull_request_id = p.id) \
         AND EXISTS (SELECT 1 FROM reviews v WHERE v.pull_request_id = p.id)",
        1,
    )
    .await[0];
    h.fake.with_world(|w| w.delete_pr("spam", "med", spam)).expect("GitHub removes the PR");
    let rows_of_spam = |h: &Harness| {
        let pool = h.pool.clone();
        async move {
            let sql = format!("SELECT (SELECT count(*) FROM comments WHERE {OF_THESE}) + (SELECT count(*) FROM reviews WHERE {OF_THESE}) \
                 + (SELECT count(*) FROM pull_requests p JOIN repositories r ON r.id = p.repository_id \
                    WHERE r.full_name = $1 AND p.number = ANY($2))");
            sqlx::query_scalar::<_, i64>(&sql).bind("spam/med").bind(vec![spam]).fetch_one(&pool).await.expect("rows")
        }
    };
    let stored = rows_of_spam(&h).await;
    assert!(stored >= 3, "the PR with its reviews and comments is stored");

    let found = h.backfill(&["verify", name]).await;
    assert_eq!(found.status.code(), Some(1), "{}", text(&found));
    assert!(out(&found).contains(&format!("PRs GitHub no longer has: 1: #{spam}")), "{}", text(&found));

    let kept = h.backfill(&["verify", name, "--repair"]).await;
    assert_eq!(kept.status.code(), Some(0), "kept on purpose, said so:\n{}", text(&kept));
    assert!(out(&kept).contains("kept 1 PR GitHub no longer has"), "{}", text(&kept));
    assert_eq!(rows_of_spam(&h).await, stored, "left as stored");

    // A run's planner is not shrunk by the count above GitHub's.
    let o = h.ok(&["run"]).await;
    assert!(!stderr(&o).contains("paused"), "{}", text(&o));

    let deleted =
        h.backfill_with(&["verify", name], &[("BACKFILL_REPAIR", "true"), ("BACKFILL_DELETE_MISSING", "1")]).await;
    assert_eq!(deleted.status.code(), Some(0), "{}", text(&deleted));
    assert!(out(&deleted).contains("deleted 1 PR GitHub no longer has"), "{}", text(&deleted));
    assert_eq!(rows_of_spam(&h).await, 0, "the PR went with its reviews and comments");
    assert_eq!(h.processed_prs(name).await, 59);
    assert_complete(&h, "spam", "med").await;
    let clean = h.backfill(&["verify", name]).await;
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));
}

#[sqlx::test(migrations = false)]
async fn bad_targets_are_usage_errors_that_write_nothing(pool: PgPool) {
    let h = Harness::start(pool, &[spec("some", "repo", 30)]).await;
    h.add("some/repo").await;
    for args in [
        &["verify", "nobody/here"][..],
        &["verify", "nobody/*"],
        &["verify", "--delete-missing", "some/repo"],
        &["verify", "some/repo", "--frobnicate"],
    ] {
        let o = h.backfill(args).await;
        assert_eq!(o.status.code(), Some(2), "{args:?}:\n{}", text(&o));
        assert_eq!(stderr(&o).trim().lines().count(), 1, "one line: {}", text(&o));
    }
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM backfill_verifications").fetch_one(&h.pool).await.expect("rows");
    assert_eq!(rows, 0, "nothing written");
    // A backfill under way is compared as far as it has reached.
    h.ok(&["run", "--chunk-size", "5"]).await;
    let o = h.backfill(&["verify", "some/*"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}
