//! Pauses: for the rate limit (until the reset), for repeated failures (a
//! cooldown that doubles), and by hand (until `resume`). What a pause
//! writes is decided by pure functions over the row as read under its
//! lock (`errors_pause`, `by_hand`), then written as a `Patch`.

use chrono::{DateTime, Duration, Utc};
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::error::StoreResult;
use super::metadata::{sql, Change, Key, Metadata, Patch, PauseKind, ResumeTo};
use super::state::Backfill;
use super::unnamed;
use crate::status::BackfillStatus;

/// After this many failures of its own in a row a backfill is paused for a
/// cooldown (`record_failure`), or until `backfill resume`.
pub const MAX_CONSECUTIVE_ERRORS: i32 = 3;

/// The longest cooldown after repeated failures.
const MAX_COOLDOWN_HOURS: i64 = 24;

/// A pause by hand that came while a chunk was fetched: the chunk is
/// stored, and the pause holds.
pub(super) fn paused_by_hand() -> String {
    format!(
        "coalesce(status = '{}' AND {} = '{}', false)",
        BackfillStatus::Paused,
        sql::text(Key::PauseKind),
        PauseKind::Manual.as_str()
    )
}

/// Counts a failed chunk; pauses the backfill at the third in a row, for a
/// cooldown that doubles with each such pause since the last good chunk
/// (1 h, 2 h, 4 h, ... at most 24 h), after which a run tries it again by
/// itself. Returns whether it is now paused. The state row is locked
/// already (`claims::confirm`), so what is read here holds until the commit;
/// `now()` is the database's, as for every other time the store writes.
pub(super) async fn record_failure(tx: &mut PgConnection, backfill: &Backfill, error: &str) -> StoreResult<bool> {
    let (in_a_row, Json(meta), now): (i32, Json<Metadata>, DateTime<Utc>) = unnamed::rows(
        "SELECT coalesce(consecutive_errors, 0) + 1, coalesce(metadata, '{}'::jsonb), now() \
         FROM progressive_backfill_state WHERE id = $1 FOR UPDATE",
    )
    .bind(backfill.id)
    .fetch_one(&mut *tx)
    .await?;
    let pause = errors_pause(in_a_row, &meta, error, now);
    let sql = format!(
        "UPDATE progressive_backfill_state SET \
           error_count = coalesce(error_count, 0) + 1, consecutive_errors = $3, \
           last_error = $2, last_error_at = now(), updated_at = now(), \
           status = CASE WHEN $4 THEN $5 ELSE status END, \
           metadata = CASE WHEN $4 THEN {} ELSE metadata END \
         WHERE id = $1 RETURNING status = $5",
        sql::apply(6)
    );
    let patch = pause.clone().unwrap_or_default();
    Ok(unnamed::scalar(&sql)
        .bind(backfill.id)
        .bind(error)
        .bind(in_a_row)
        .bind(pause.is_some())
        .bind(BackfillStatus::Paused.as_str())
        .bind(patch.removed_keys())
        .bind(patch.set_object())
        .fetch_one(&mut *tx)
        .await?)
}

/// The cooldown pause after `in_a_row` failures, when they are enough.
fn errors_pause(in_a_row: i32, meta: &Metadata, error: &str, now: DateTime<Utc>) -> Option<Patch> {
    if in_a_row < MAX_CONSECUTIVE_ERRORS {
        return None;
    }
    let before = meta.error_pauses.unwrap_or(0).max(0);
    let cooldown = Duration::hours((1_i64 << before.min(5)).min(MAX_COOLDOWN_HOURS));
    Some(Patch {
        pause_kind: Change::Set(PauseKind::Errors),
        pause_reason: Change::Set(format!("{in_a_row} consecutive failed chunks; last: {error}")),
        paused_until: Change::Set(now + cooldown),
        error_pauses: Change::Set(before.saturating_add(1)),
        ..Patch::default()
    })
}

/// Pauses a backfill until the rate limit resets; a later run resumes it.
/// A pause by hand stays one: it never turns into a pause that ends by
/// itself (what was learned is kept either way).
pub async fn pause_for_rate_limit(
    tx: &mut PgConnection,
    backfill: &Backfill,
    until: DateTime<Utc>,
    reason: &str,
    learned: &Patch,
) -> StoreResult<()> {
    super::state::remember(tx, backfill, learned).await?;
    let pause = Patch {
        pause_kind: Change::Set(PauseKind::RateLimit),
        paused_until: Change::Set(until),
        pause_reason: Change::Set(reason.to_string()),
        ..Patch::default()
    };
    let sql = format!(
        "UPDATE progressive_backfill_state SET status = $2, updated_at = now(), metadata = {} \
         WHERE id = $1 AND NOT {}",
        sql::apply(3),
        paused_by_hand()
    );
    unnamed::statement(&sql)
        .bind(backfill.id)
        .bind(BackfillStatus::Paused.as_str())
        .bind(pause.removed_keys())
        .bind(pause.set_object())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// `pause` and `resume` by hand, in one short transaction that locks the
/// state row, decides (`by_hand`) and writes. Returns the status now stored.
pub async fn set_status_by_hand(
    pool: &sqlx::PgPool,
    state_id: Uuid,
    status: BackfillStatus,
) -> StoreResult<BackfillStatus> {
    let mut tx = pool.begin().await?;
    let (stored, Json(meta)): (Option<String>, Json<Metadata>) = unnamed::rows(
        "SELECT status::text, coalesce(metadata, '{}'::jsonb) FROM progressive_backfill_state WHERE id = $1 FOR UPDATE",
    )
    .bind(state_id)
    .fetch_one(&mut *tx)
    .await?;
    let (now, patch) = by_hand(BackfillStatus::from_column(stored.as_deref()), &meta, status);
    let sql = format!(
        "UPDATE progressive_backfill_state SET updated_at = now(), status = $2, \
           consecutive_errors = CASE WHEN $3 THEN 0 ELSE consecutive_errors END, metadata = {} \
         WHERE id = $1",
        sql::apply(4)
    );
    unnamed::statement(&sql)
        .bind(state_id)
        .bind(now.as_str())
        .bind(status == BackfillStatus::Active)
        .bind(patch.removed_keys())
        .bind(patch.set_object())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(now)
}

/// The status and metadata after a pause or resume by hand, from the
/// status before (None: a word the contract does not know). A pause
/// remembers the status it paused (`resume_to`), so that `resume` of a
/// completed backfill leaves it completed; a resume also forgets the
/// failures in a row and their cooldown.
fn by_hand(before: Option<BackfillStatus>, meta: &Metadata, wanted: BackfillStatus) -> (BackfillStatus, Patch) {
    match wanted {
        BackfillStatus::Active => {
            let completed = before == Some(BackfillStatus::Completed) || meta.resume_to == Some(ResumeTo::Completed);
            let now = if completed { BackfillStatus::Completed } else { BackfillStatus::Active };
            (now, Patch::clear_pause())
        }
        BackfillStatus::Paused | BackfillStatus::Completed | BackfillStatus::Failed => {
            let resume_to = match (before, meta.resume_to) {
                (Some(BackfillStatus::Active), _) => Change::Set(ResumeTo::Active),
                (Some(BackfillStatus::Completed), _) => Change::Set(ResumeTo::Completed),
                // Paused again (or failed): what the first pause remembered holds.
                (Some(BackfillStatus::Paused | BackfillStatus::Failed) | None, Some(_)) => Change::Keep,
                (Some(BackfillStatus::Paused | BackfillStatus::Failed) | None, None) => Change::Set(ResumeTo::Active),
            };
            let patch = Patch {
                pause_kind: Change::Set(PauseKind::Manual),
                pause_reason: Change::Set("paused by hand".to_string()),
                paused_until: Change::Remove,
                resume_to,
                ..Patch::default()
            };
            (wanted, patch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cooldown_doubles_up_to_a_day() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        // (pauses before, failures in a row, cooldown in hours, pauses after)
        let cases = [
            (None, 1, None),
            (None, 2, None),
            (None, 3, Some((1, 1))),
            (Some(1), 3, Some((2, 2))),
            (Some(3), 4, Some((8, 4))),
            (Some(4), 3, Some((16, 5))),
            (Some(5), 3, Some((24, 6))),
            (Some(40), 3, Some((24, 41))),
        ];
        for (before, in_a_row, want) in cases {
            let meta = Metadata { error_pauses: before, ..Metadata::default() };
            let got = errors_pause(in_a_row, &meta, "boom", now);
            let want = want.map(|(hours, after)| Patch {
                pause_kind: Change::Set(PauseKind::Errors),
                pause_reason: Change::Set(format!("{in_a_row} consecutive failed chunks; last: boom")),
                paused_until: Change::Set(now + Duration::hours(hours)),
                error_pauses: Change::Set(after),
                ..Patch::default()
            });
            assert_eq!(got, want, "{before:?} pauses, {in_a_row} in a row");
        }
    }

    #[test]
    fn a_pause_by_hand_remembers_what_resume_returns_to() {
        use BackfillStatus::{Active, Completed, Failed, Paused};
        let meta = |to: Option<ResumeTo>| Metadata { resume_to: to, ..Metadata::default() };
        // (status before, resume_to stored, wanted, status after, resume_to written)
        let cases = [
            (Some(Active), None, Paused, Paused, Change::Set(ResumeTo::Active)),
            (Some(Completed), None, Paused, Paused, Change::Set(ResumeTo::Completed)),
            (Some(Paused), Some(ResumeTo::Completed), Paused, Paused, Change::Keep),
            (Some(Paused), None, Paused, Paused, Change::Set(ResumeTo::Active)),
            (Some(Failed), None, Paused, Paused, Change::Set(ResumeTo::Active)),
            (None, Some(ResumeTo::Active), Paused, Paused, Change::Keep),
            (Some(Paused), Some(ResumeTo::Completed), Active, Completed, Change::Remove),
            (Some(Paused), Some(ResumeTo::Active), Active, Active, Change::Remove),
            (Some(Paused), None, Active, Active, Change::Remove),
            (Some(Completed), None, Active, Completed, Change::Remove),
            (Some(Failed), None, Active, Active, Change::Remove),
        ];
        for (before, stored, wanted, want_status, want_resume_to) in cases {
            let (status, patch) = by_hand(before, &meta(stored), wanted);
            assert_eq!((status, &patch.resume_to), (want_status, &want_resume_to), "{before:?} {stored:?} {wanted}");
            let want_kind = match wanted {
                Active => Change::Remove,
                Paused | Completed | Failed => Change::Set(PauseKind::Manual),
            };
            assert_eq!(patch.pause_kind, want_kind, "{before:?} {stored:?} {wanted}");
            assert_eq!(patch.paused_until, Change::Remove, "a pause by hand has no end: {before:?} {wanted}");
        }
    }
}
