//! `pullRequests(orderBy: {field: UPDATED_AT})` as GitHub serves it: by each
//! PR's last change, but only loosely (`Control::updated_order_slack`), with
//! cursors that carry the sort value rather than a position. `after: C` means
//! "after that place in the order as it is now", so a PR changed during a
//! sweep moves ahead of the cursor: that sweep does not meet it again, the
//! next one does.

use base64::Engine;
use chrono::Duration;
use graphql_parser::query::Field;
use serde_json::Value;

use crate::data::{PullRequest, Repository};
use crate::exec::{field_arg, Exec, Obj};
use crate::paging::Order;

/// What an UPDATED_AT cursor carries: the PR's `updatedAt` and its number
/// (which breaks ties, numbers being unique in a repository).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mark {
    pub micros: i64,
    pub number: i32,
}

impl Mark {
    pub(crate) fn of(pr: &PullRequest) -> Mark {
        Mark { micros: pr.updated_at.timestamp_micros(), number: pr.number }
    }
}

/// An UPDATED_AT order as served.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UpdatedOrder {
    pub descending: bool,
    /// `updatedAt`s in one stretch of this length (counted from the epoch)
    /// are not told apart; `None` orders strictly.
    pub slack: Option<Duration>,
}

impl UpdatedOrder {
    /// A key that sorts ascending in the order served: `updatedAt` cut down to
    /// the slack (newest first when descending), then the number, ascending
    /// both ways. A total order, so a sweep over an unchanging world meets
    /// every PR once, however loose.
    pub(crate) fn rank(&self, m: Mark) -> (i128, i32) {
        let slack = self.slack.and_then(|s| s.num_microseconds()).filter(|&s| s > 1).unwrap_or(1);
        let stretch = i128::from(m.micros.div_euclid(slack));
        (if self.descending { -stretch } else { stretch }, m.number)
    }

    pub(crate) fn rank_of(&self, item: &Obj<'_>) -> Option<(i128, i32)> {
        match item {
            Obj::Pr(p) => Some(self.rank(Mark::of(p))),
            _ => None,
        }
    }
}

/// Tells these cursors from position cursors (`\u{1}`): each order refuses
/// the other's, as GitHub refuses a cursor of another ordering.
const PREFIX: &str = "cursor:v2:\u{2}";
/// Scramble the values so the cursor reads as noise, as GitHub's do.
const TIME_MASK: u64 = 0x6d3c_a1f0_95e2_4b87;
const NUMBER_MASK: u32 = 0x5a5a_a5a5;

pub(crate) fn encode(m: Mark) -> String {
    let text = format!("{PREFIX}{:x}.{:x}", (m.micros as u64) ^ TIME_MASK, (m.number as u32) ^ NUMBER_MASK);
    base64::engine::general_purpose::STANDARD.encode(text)
}

pub(crate) fn decode(cursor: &str) -> Option<Mark> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (time, number) = text.strip_prefix(PREFIX)?.split_once('.')?;
    let micros = (u64::from_str_radix(time, 16).ok()? ^ TIME_MASK) as i64;
    let number = (u32::from_str_radix(number, 16).ok()? ^ NUMBER_MASK) as i32;
    Some(Mark { micros, number })
}

impl<'w> Exec<'w> {
    /// A repository's `pullRequests`: stored (creation) order unless asked
    /// for UPDATED_AT.
    pub(crate) fn pull_requests(&mut self, r: &'w Repository, f: &'w Field<'w, String>, path: &[Value]) -> Value {
        let order_by = field_arg(f, "orderBy", self.vars);
        let descending = order_by["direction"] == "DESC";
        if order_by["field"] != "UPDATED_AT" {
            let items = r.pull_requests.iter().map(Obj::Pr).collect();
            // A deleted PR leaves its place: the cursors after it hold.
            let slots = (!r.removed.is_empty()).then(|| crate::paging::slots(r.pull_requests.len(), &r.removed));
            return self.connection_in(items, slots, Order::Listed { descending }, true, f, path);
        }
        let order = UpdatedOrder { descending, slack: self.updated_slack };
        let mut prs: Vec<&PullRequest> = r.pull_requests.iter().collect();
        prs.sort_by_key(|p| order.rank(Mark::of(p)));
        self.connection(prs.into_iter().map(Obj::Pr).collect(), Order::Updated(order), true, f, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_carry_the_sort_value_unreadably() {
        for (micros, number) in [(1_546_300_800_000_000, 1), (4_102_444_800_000_000, 98_765), (0, i32::MAX), (-5, 0)] {
            let m = Mark { micros, number };
            let c = encode(m);
            assert_eq!(decode(&c), Some(m));
            assert!(!c.contains(&number.to_string()) || number < 10, "{c} shows {number}");
            assert!(crate::paging::decode_cursor(&c).is_none(), "not a position cursor");
        }
        for bad in ["", "abc", &crate::encode_cursor(3), "Y3Vyc29yOnYyOgI=", "!!!"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn ranks_tell_apart_stretches_then_numbers() {
        let second = 1_000_000;
        let at = |s: i64, number| Mark { micros: s * second, number };
        // (slack, descending, marks in the order they must be served)
        let two = Some(Duration::minutes(2));
        let cases = [
            (None, true, vec![at(130, 2), at(100, 9), at(100, 10), at(50, 1)]),
            (None, false, vec![at(50, 1), at(100, 9), at(100, 10), at(130, 2)]),
            (two, true, vec![at(130, 2), at(50, 1), at(100, 9), at(100, 10)]),
            (two, false, vec![at(50, 1), at(100, 9), at(100, 10), at(130, 2)]),
            (two, true, vec![at(241, 7), at(200, 3), at(239, 5)]),
        ];
        for (slack, descending, want) in cases {
            let order = UpdatedOrder { descending, slack };
            let mut got = want.clone();
            got.reverse();
            got.sort_by_key(|m| order.rank(*m));
            assert_eq!(got, want, "{slack:?} descending {descending}");
        }
    }
}
