//! Which backfills need a person, and what the others are doing: one
//! reading shared by a run's closing lines and step summary, `status
//! --attention` and the page, so that they never disagree.
//!
//! The rule. A backfill needs attention when it is
//! - failed: marked failed; no run takes it until `backfill resume`;
//! - paused after failures: three failures of its own in a row paused it
//!   (a run tries it again when the cooldown ends, `resume` sooner);
//! - failing: its latest chunk failed (not yet three in a row, or GitHub's);
//! - behind: it has not moved for `BEHIND_AFTER` while the others did. An
//!   active one moves when it stores a chunk (before its first, its start
//!   counts); a completed one kept current moves when a sweep for changed
//!   PRs completes. The others' latest move (the fleet's clock) is the
//!   newest stored chunk or completed sweep of any backfill shown, not the
//!   wall clock, so a fleet that all waits (a schedule switched off, a
//!   weekly cron) is not behind: it is idle.
//!
//! Not attention: paused by hand (someone chose it), paused until the rate
//! limit resets (it resumes by itself), in progress, current, and completed
//! without refresh (`add --no-refresh`).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::eta::ChunkPoint;
use crate::status::{BackfillStatus, PauseKind};
use crate::text::{count, one_line};

/// How long a backfill may stand still while others move before it is behind.
pub const BEHIND_AFTER: Duration = Duration::hours(24);

/// Where a backfill stands, most urgent first (the order lists sort by).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Standing {
    Failed,
    PausedAfterFailures,
    Failing,
    Behind,
    InProgress,
    Current,
    NotRefreshed,
    RateLimited,
    PausedByHand,
    /// Its state row went during the run (`remove --purge`).
    Removed,
}

impl Standing {
    pub fn needs_attention(self) -> bool {
        match self {
            Standing::Failed | Standing::PausedAfterFailures | Standing::Failing | Standing::Behind => true,
            Standing::InProgress
            | Standing::Current
            | Standing::NotRefreshed
            | Standing::RateLimited
            | Standing::PausedByHand
            | Standing::Removed => false,
        }
    }

    /// As `--json` spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Standing::Failed => "failed",
            Standing::PausedAfterFailures => "paused_after_failures",
            Standing::Failing => "failing",
            Standing::Behind => "behind",
            Standing::InProgress => "in_progress",
            Standing::Current => "current",
            Standing::NotRefreshed => "not_refreshed",
            Standing::RateLimited => "rate_limited",
            Standing::PausedByHand => "paused_by_hand",
            Standing::Removed => "removed",
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Standing::Failed => "failed",
            Standing::PausedAfterFailures => "paused after failures",
            Standing::Failing => "failing",
            Standing::Behind => "behind",
            Standing::InProgress => "in progress",
            Standing::Current => "current",
            Standing::NotRefreshed => "completed, not refreshed",
            Standing::RateLimited => "waiting for the rate limit",
            Standing::PausedByHand => "paused by hand",
            Standing::Removed => "removed",
        }
    }
}

/// In `--json` as `as_str` spells it.
impl Serialize for Standing {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What the reading needs of one backfill: plain values, from a status
/// line or a run's report alike.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    /// None: no state row (any more).
    pub status: Option<BackfillStatus>,
    pub pause: Option<PauseKind>,
    /// As stored, in words (the column has held two spellings of a time).
    pub paused_until: Option<&'a str>,
    pub no_refresh: bool,
    pub began_at: Option<DateTime<Utc>>,
    pub current_as_of: Option<DateTime<Utc>>,
    /// The error stored for it (the state row's, or what the run said).
    pub error: Option<&'a str>,
    /// Its recent chunks, oldest first.
    pub chunks: &'a [ChunkPoint],
}

impl Facts<'_> {
    fn last_stored(&self) -> Option<DateTime<Utc>> {
        self.chunks.iter().filter(|c| !c.failed).map(|c| c.completed_at).max()
    }

    /// When it last moved: its newest stored chunk or completed sweep.
    pub fn last_moved(&self) -> Option<DateTime<Utc>> {
        self.last_stored().max(self.current_as_of)
    }

    /// The failed chunks at the end of its history, newest last.
    fn failing(&self) -> &[ChunkPoint] {
        let good = self.chunks.iter().rposition(|c| !c.failed).map_or(0, |i| i + 1);
        &self.chunks[good..]
    }

    /// The moment a behind backfill is measured from.
    fn moved_at(&self, status: BackfillStatus) -> Option<DateTime<Utc>> {
        match status {
            BackfillStatus::Completed => self.current_as_of.or_else(|| self.last_stored()),
            BackfillStatus::Active | BackfillStatus::Paused | BackfillStatus::Failed => {
                self.last_stored().or(self.began_at)
            }
        }
    }
}

/// The fleet's latest move: the newest stored chunk or sweep of any of them.
pub fn fleet_clock<'a>(facts: impl IntoIterator<Item = &'a Facts<'a>>) -> Option<DateTime<Utc>> {
    facts.into_iter().filter_map(Facts::last_moved).max()
}

pub fn standing(f: &Facts, fleet: Option<DateTime<Utc>>) -> Standing {
    let Some(status) = f.status else { return Standing::Removed };
    match status {
        BackfillStatus::Failed => return Standing::Failed,
        BackfillStatus::Paused => {
            return match f.pause {
                Some(PauseKind::Errors) => Standing::PausedAfterFailures,
                Some(PauseKind::RateLimit) => Standing::RateLimited,
                Some(PauseKind::Manual) | None => Standing::PausedByHand,
            }
        }
        BackfillStatus::Active | BackfillStatus::Completed => {}
    }
    if !f.failing().is_empty() {
        return Standing::Failing;
    }
    if status == BackfillStatus::Completed && f.no_refresh {
        return Standing::NotRefreshed;
    }
    let behind = match (fleet, f.moved_at(status)) {
        (Some(fleet), Some(moved)) => fleet - moved > BEHIND_AFTER,
        _ => false,
    };
    match (behind, status) {
        (true, _) => Standing::Behind,
        (false, BackfillStatus::Completed) => Standing::Current,
        (false, _) => Standing::InProgress,
    }
}

fn at(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Why a backfill needs attention, in a line: its standing, what shows it
/// and the error that goes with it.
pub fn reason(f: &Facts, s: Standing) -> String {
    let chunk_error = f.chunks.iter().rev().find(|c| c.failed).and_then(|c| c.error.as_deref());
    let error = match s {
        Standing::Failed => f.error.or(chunk_error),
        Standing::PausedAfterFailures | Standing::Failing => chunk_error.or(f.error),
        _ => None,
    };
    let head = headline(f, s);
    error.map_or(head.clone(), |e| format!("{head}: {}", one_line(e)))
}

/// The same without the error (the page shows that in a column of its own).
pub fn headline(f: &Facts, s: Standing) -> String {
    match s {
        Standing::PausedAfterFailures => {
            format!("paused after failures{}", f.paused_until.map_or_else(String::new, |t| format!(" until {t}")))
        }
        Standing::Failing => {
            let failing = f.failing();
            let since = failing.first().map_or_else(String::new, |c| format!(" since {}", at(c.started_at)));
            format!("failing: {} in a row{since}", count(failing.len(), "failed chunk", "failed chunks"))
        }
        Standing::Behind => match (f.status, f.current_as_of, f.last_stored()) {
            (Some(BackfillStatus::Completed), Some(t), _) => format!("behind: current as of {} only", at(t)),
            (_, _, Some(t)) => format!("behind: no PRs stored since {}", at(t)),
            _ => {
                let began = f.began_at.map_or_else(String::new, |t| format!(" {}", at(t)));
                format!("behind: no PRs stored since it began{began}")
            }
        },
        other => other.words().to_string(),
    }
}

/// A set of backfills read at once: where each stands, those that need
/// attention (most urgent first, in the given order within a standing,
/// with why), and how many of the rest stand where.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// One per backfill given, in its order.
    pub standings: Vec<Standing>,
    /// Index into the given backfills, standing, reason.
    pub attention: Vec<(usize, Standing, String)>,
    pub rest: BTreeMap<Standing, usize>,
}

impl Fleet {
    pub fn read(facts: &[Facts]) -> Fleet {
        let clock = fleet_clock(facts);
        let standings: Vec<Standing> = facts.iter().map(|f| standing(f, clock)).collect();
        let mut attention = Vec::new();
        let mut rest = BTreeMap::new();
        for (i, (f, s)) in facts.iter().zip(&standings).enumerate() {
            match *s {
                s if s.needs_attention() => attention.push((i, s, reason(f, s))),
                s => *rest.entry(s).or_insert(0) += 1,
            }
        }
        attention.sort_by_key(|(i, s, _)| (*s, *i));
        Fleet { standings, attention, rest }
    }

    /// What the backfills that need no attention are doing: `all current`,
    /// `150 in progress, 47 current`.
    pub fn rest_words(&self) -> String {
        match (self.rest.len(), self.rest.iter().next()) {
            (1, Some((s, _))) => format!("all {}", s.words()),
            _ => self.rest.iter().map(|(s, n)| format!("{n} {}", s.words())).collect::<Vec<_>>().join(", "),
        }
    }

    /// `and 197 more, all current`, `and 197 more: 150 in progress, 47
    /// current`; none when every backfill needs attention.
    pub fn rest_sentence(&self) -> Option<String> {
        let words = self.rest_words();
        match self.rest.len() {
            0 => None,
            1 => Some(format!("and {} more, {words}", self.rest_count())),
            _ => Some(format!("and {} more: {words}", self.rest_count())),
        }
    }

    pub fn rest_count(&self) -> usize {
        self.standings.len() - self.attention.len()
    }
}

#[cfg(test)]
mod tests;
