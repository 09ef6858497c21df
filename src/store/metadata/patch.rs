//! The write side: a `Patch` says of each key whether it is kept, set or
//! removed, and goes to PostgreSQL as two bind parameters (the keys to
//! remove, the object to merge; `sql::apply`), so no statement spells a key.

use serde_json::Value;

use super::{Change, Patch};

impl Patch {
    /// What a pause sets, and a good chunk or a `resume` clears.
    pub fn clear_pause() -> Patch {
        Patch {
            pause_kind: Change::Remove,
            paused_until: Change::Remove,
            pause_reason: Change::Remove,
            error_pauses: Change::Remove,
            resume_to: Change::Remove,
            ..Patch::default()
        }
    }

    /// The keys removed, with the former name of every key the patch
    /// changes (a key written under its new name drops the old one): the
    /// `text[]` parameter of `sql::apply`.
    pub fn removed_keys(&self) -> Vec<&'static str> {
        self.render().removed
    }

    /// The keys set, as one object: the `jsonb` parameter of `sql::apply`,
    /// or a new row's whole column.
    pub fn set_object(&self) -> Value {
        Value::Object(self.render().set)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use serde_json::json;

    use super::*;
    use crate::status::Priority;
    use crate::store::metadata::{Metadata, PauseKind, ResumeTo};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn a_patch_renders_as_keys_removed_and_an_object_set() {
        let cases = [
            (Patch::default(), vec![], json!({})),
            (Patch { points_spent: Change::Set(5), ..Patch::default() }, vec![], json!({ "points_spent": 5 })),
            (Patch { passed_over: Change::Remove, ..Patch::default() }, vec!["passed_over"], json!({})),
            (
                Patch::clear_pause(),
                vec!["pause_kind", "paused_until", "pause_reason", "error_pauses", "resume_to"],
                json!({}),
            ),
            // the renamed key: written under its new name, the old one goes
            (
                Patch { follow_up_limit: Change::Set(100), ..Patch::default() },
                vec!["max_detail_ids"],
                json!({ "follow_up_limit": 100 }),
            ),
            (
                Patch { follow_up_limit: Change::Remove, ..Patch::default() },
                vec!["follow_up_limit", "max_detail_ids"],
                json!({}),
            ),
            (
                Patch {
                    pause_kind: Change::Set(PauseKind::Manual),
                    pause_reason: Change::Set("paused by hand".into()),
                    paused_until: Change::Remove,
                    resume_to: Change::Set(ResumeTo::Completed),
                    priority: Change::Set(Priority::High),
                    ..Patch::default()
                },
                vec!["paused_until"],
                json!({ "pause_kind": "manual", "pause_reason": "paused by hand", "resume_to": "completed", "priority": "high" }),
            ),
            (
                Patch { refresh_from: Change::Set(at("2026-12-01T12:00:00Z")), ..Patch::default() },
                vec![],
                json!({ "refresh_from": "2026-12-01T12:00:00Z" }),
            ),
            // a later change wins; a later Keep leaves the earlier one
            (
                Patch::clear_pause().and(Patch { resume_to: Change::Set(ResumeTo::Active), ..Patch::default() }),
                vec!["pause_kind", "paused_until", "pause_reason", "error_pauses"],
                json!({ "resume_to": "active" }),
            ),
        ];
        for (patch, removed, set) in cases {
            assert_eq!(patch.removed_keys(), removed, "{patch:?}");
            assert_eq!(patch.set_object(), set, "{patch:?}");
        }
    }

    #[test]
    fn what_a_patch_sets_reads_back_as_set() {
        let until = at("2026-12-01T13:00:00.123456Z");
        let patch = Patch {
            follow_up_limit: Change::Set(75),
            points_per_pr: Change::Set(0.125),
            pause_kind: Change::Set(PauseKind::Errors),
            paused_until: Change::Set(until),
            resume_to: Change::Set(ResumeTo::Active),
            priority: Change::Set(Priority::Low),
            ..Patch::default()
        };
        let want = Metadata {
            follow_up_limit: Some(75),
            points_per_pr: Some(0.125),
            pause_kind: Some(PauseKind::Errors),
            paused_until: Some(until),
            resume_to: Some(ResumeTo::Active),
            priority: Some(Priority::Low),
            ..Metadata::default()
        };
        assert_eq!(Metadata::decode(&patch.set_object()), want);
    }

    #[test]
    fn changes_combine_later_first() {
        let cases = [
            (Change::Set(1), Change::Keep, Change::Set(1)),
            (Change::Set(1), Change::Set(2), Change::Set(2)),
            (Change::Set(1), Change::Remove, Change::Remove),
            (Change::Remove, Change::Keep, Change::Remove),
            (Change::Keep, Change::Keep, Change::Keep),
        ];
        for (first, later, want) in cases {
            assert_eq!(first.clone().and(later.clone()), want, "{first:?} then {later:?}");
        }
        assert_eq!(Change::set_or_keep(None::<i64>), Change::Keep);
        assert_eq!(Change::set_or_remove(None::<i64>), Change::Remove);
        assert_eq!(Change::set_or_remove(Some(3)), Change::Set(3));
    }
}
