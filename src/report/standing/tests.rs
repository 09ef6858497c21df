use super::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

/// A chunk that ended `hours` before the clock (2026-12-01 12:00).
fn chunk(number: i32, hours: i64, failed: bool) -> ChunkPoint {
    let at = t("2026-12-01T12:00:00Z") - Duration::hours(hours);
    ChunkPoint {
        number,
        started_at: at - Duration::seconds(5),
        completed_at: at,
        prs: if failed { 0 } else { 50 },
        stored_after: 50 * i64::from(number),
        points: Some(1),
        failed,
        error: failed.then(|| format!("boom {number}")),
    }
}

fn facts(status: BackfillStatus, chunks: &[ChunkPoint]) -> Facts<'_> {
    Facts { status: Some(status), chunks, ..Facts::default() }
}

#[test]
fn each_backfill_stands_somewhere() {
    use BackfillStatus::{Active, Completed, Failed, Paused};
    let clock = Some(t("2026-12-01T12:00:00Z"));
    let recent = [chunk(1, 3, false), chunk(2, 1, false)];
    let failing = [chunk(1, 3, false), chunk(2, 1, true)];
    let recovered = [chunk(1, 3, true), chunk(2, 1, false)];
    let stale = [chunk(1, 30, false), chunk(2, 25, false)];
    let nearly = [chunk(1, 23, false)];
    let paused = |pause| Facts { pause, ..facts(Paused, &recent) };
    let cases: Vec<(&str, Facts, Option<DateTime<Utc>>, Standing)> = vec![
        ("no state row", Facts::default(), clock, Standing::Removed),
        ("marked failed", facts(Failed, &recent), clock, Standing::Failed),
        ("paused for failures", paused(Some(PauseKind::Errors)), clock, Standing::PausedAfterFailures),
        ("paused for the rate limit", paused(Some(PauseKind::RateLimit)), clock, Standing::RateLimited),
        ("paused by hand", paused(Some(PauseKind::Manual)), clock, Standing::PausedByHand),
        ("paused, cause unknown", paused(None), clock, Standing::PausedByHand),
        (
            "paused by hand long ago",
            Facts { pause: Some(PauseKind::Manual), ..facts(Paused, &stale) },
            clock,
            Standing::PausedByHand,
        ),
        ("its last chunk failed", facts(Active, &failing), clock, Standing::Failing),
        ("a sweep's chunk failed", facts(Completed, &failing), clock, Standing::Failing),
        ("failed, then stored", facts(Active, &recovered), clock, Standing::InProgress),
        ("moving", facts(Active, &recent), clock, Standing::InProgress),
        ("23 hours still", facts(Active, &nearly), clock, Standing::InProgress),
        ("25 hours still", facts(Active, &stale), clock, Standing::Behind),
        (
            "25 hours still, nobody moved since",
            facts(Active, &stale),
            Some(t("2026-11-30T11:00:00Z")),
            Standing::InProgress,
        ),
        (
            "no chunk, began two days ago",
            Facts { began_at: clock.map(|c| c - Duration::days(2)), ..facts(Active, &[]) },
            clock,
            Standing::Behind,
        ),
        (
            "no chunk, began an hour ago",
            Facts { began_at: clock.map(|c| c - Duration::hours(1)), ..facts(Active, &[]) },
            clock,
            Standing::InProgress,
        ),
        ("no chunk, start unknown", facts(Active, &[]), clock, Standing::InProgress),
        (
            "completed, swept an hour ago",
            Facts { current_as_of: clock.map(|c| c - Duration::hours(1)), ..facts(Completed, &stale) },
            clock,
            Standing::Current,
        ),
        (
            "completed, swept two days ago",
            Facts { current_as_of: clock.map(|c| c - Duration::days(2)), ..facts(Completed, &recent) },
            clock,
            Standing::Behind,
        ),
        ("completed, never swept, stored long ago", facts(Completed, &stale), clock, Standing::Behind),
        (
            "completed without refresh",
            Facts { no_refresh: true, ..facts(Completed, &stale) },
            clock,
            Standing::NotRefreshed,
        ),
        ("no clock", facts(Active, &stale), None, Standing::InProgress),
    ];
    for (name, f, clock, want) in cases {
        assert_eq!(standing(&f, clock), want, "{name}");
    }
}

#[test]
fn the_reason_says_since_when_and_why() {
    use BackfillStatus::{Active, Completed, Failed, Paused};
    let failing = [chunk(1, 30, false), chunk(2, 2, true), chunk(3, 1, true)];
    let stale = [chunk(1, 30, false)];
    let began = Some(t("2026-11-28T09:00:00Z"));
    let cases: Vec<(Facts, Standing, &str)> = vec![
        (Facts { error: Some("gone\n  for good"), ..facts(Failed, &[]) }, Standing::Failed, "failed: gone for good"),
        (facts(Failed, &[]), Standing::Failed, "failed"),
        (
            Facts {
                pause: Some(PauseKind::Errors),
                paused_until: Some("2026-12-01T13:00:00Z"),
                ..facts(Paused, &failing)
            },
            Standing::PausedAfterFailures,
            "paused after failures until 2026-12-01T13:00:00Z: boom 3",
        ),
        (
            facts(Active, &failing),
            Standing::Failing,
            "failing: 2 failed chunks in a row since 2026-12-01 09:59 UTC: boom 3",
        ),
        (facts(Active, &stale), Standing::Behind, "behind: no PRs stored since 2026-11-30 06:00 UTC"),
        (
            Facts { began_at: began, ..facts(Active, &[]) },
            Standing::Behind,
            "behind: no PRs stored since it began 2026-11-28 09:00 UTC",
        ),
        (
            Facts { current_as_of: began, ..facts(Completed, &stale) },
            Standing::Behind,
            "behind: current as of 2026-11-28 09:00 UTC only",
        ),
        (facts(Active, &stale), Standing::InProgress, "in progress"),
    ];
    for (f, s, want) in cases {
        assert_eq!(reason(&f, s), want);
    }
}

#[test]
fn a_fleet_lists_the_urgent_first_and_counts_the_rest() {
    use BackfillStatus::{Active, Completed, Failed, Paused};
    let recent = [chunk(1, 1, false)];
    let stale = [chunk(1, 30, false)];
    let failing = [chunk(1, 1, true)];
    let current = Facts { current_as_of: Some(t("2026-12-01T11:00:00Z")), ..facts(Completed, &recent) };
    let fleet = Fleet::read(&[
        facts(Active, &stale),
        facts(Active, &recent),
        facts(Failed, &[]),
        current.clone(),
        facts(Active, &failing),
        facts(Active, &recent),
        Facts { pause: Some(PauseKind::Manual), ..facts(Paused, &stale) },
    ]);
    let order: Vec<(usize, Standing)> = fleet.attention.iter().map(|(i, s, _)| (*i, *s)).collect();
    assert_eq!(order, [(2, Standing::Failed), (4, Standing::Failing), (0, Standing::Behind)]);
    assert_eq!((fleet.standings.len(), fleet.rest_count()), (7, 4));
    assert_eq!(fleet.standings[3], Standing::Current);
    let cases = [
        (fleet.rest_words(), "2 in progress, 1 current, 1 paused by hand"),
        (Fleet::read(&[current.clone(), current.clone()]).rest_words(), "all current"),
        (Fleet::read(&[facts(Active, &recent)]).rest_words(), "all in progress"),
        (Fleet::read(&[facts(Failed, &[])]).rest_words(), ""),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}
