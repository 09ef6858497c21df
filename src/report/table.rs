//! `backfill status` as a table a person can scan.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::eta::{estimate, ChunkPoint, Eta, EtaInput, PerRun};
use super::standing::{Facts, Fleet, Standing};
use crate::status::{BackfillStatus, PauseKind, Priority};
use crate::text::one_line;

/// One line of `backfill status` (and one JSON object of `--json`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatusLine {
    pub repository_id: Uuid,
    pub repository: String,
    pub status: BackfillStatus,
    pub processed_prs: i32,
    pub total_prs: i32,
    pub percent: f64,
    pub chunks_done: i64,
    pub chunks_failed: i64,
    /// Points every attempt spent, dropped ones included.
    pub points_spent: Option<i64>,
    pub last_run: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub paused_until: Option<String>,
    /// The start of the last complete sweep for changed PRs: the copy holds
    /// every change GitHub had made before then.
    pub current_as_of: Option<DateTime<Utc>>,
    /// A sweep is under way (`current_as_of` is about to move).
    pub sweeping: bool,
    /// `add --no-refresh`: a completed backfill is not kept current.
    pub no_refresh: bool,
    pub priority: Priority,
    /// When it will be done, from its own history (`report::eta`).
    pub eta: Option<Eta>,
    /// The same in words: both figures and what bounds them.
    pub eta_text: Option<String>,
    /// Why it is paused, when it is.
    pub pause_kind: Option<PauseKind>,
    /// When the backfill began.
    pub began_at: Option<DateTime<Utc>>,
    /// Where it stands among the backfills listed with it (`standing`).
    pub standing: Option<Standing>,
    /// Why it needs attention, when it does.
    pub attention: Option<String>,
    /// Its last full audit (`backfill verify`, or a rolling audit's pass).
    pub audited: Option<super::audit::Audited>,
}

impl StatusLine {
    /// Its ETA, from its chunks, the points per PR measured so far and the
    /// token's hourly limit as last seen.
    pub fn set_eta(
        &mut self,
        chunks: &[ChunkPoint],
        points_per_pr: Option<f64>,
        points_per_hour: Option<i64>,
        now: DateTime<Utc>,
    ) {
        let eta = estimate(&EtaInput {
            completed: self.status == BackfillStatus::Completed,
            prs_left: i64::from(self.total_prs) - i64::from(self.processed_prs),
            chunks,
            points_per_pr,
            points_per_hour,
            per_run: PerRun::Unknown,
            now,
        });
        self.eta_text = (eta != Eta::Done).then(|| eta.sentence());
        self.eta = Some(eta);
    }

    /// What the reading of the fleet needs of it, with its recent chunks.
    pub fn facts<'a>(&'a self, chunks: &'a [ChunkPoint]) -> Facts<'a> {
        Facts {
            status: Some(self.status),
            pause: self.pause_kind,
            paused_until: self.paused_until.as_deref(),
            no_refresh: self.no_refresh,
            began_at: self.began_at,
            current_as_of: self.current_as_of,
            error: self.error.as_deref(),
            chunks,
        }
    }

    pub fn needs_attention(&self) -> bool {
        self.standing.is_some_and(Standing::needs_attention)
    }

    /// How current the copy is, as a person reads it.
    fn currency(&self) -> String {
        if self.no_refresh {
            return "not refreshed".into();
        }
        let mut out = self.current_as_of.map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string());
        if self.sweeping {
            out.push_str(" (sweeping)");
        }
        out
    }
}

/// Each line's standing, read against all of them (`chunks`: each line's
/// recent chunks): the fleet the page and `--attention` show.
pub fn stand_all(rows: &mut [StatusLine], chunks: &[&[ChunkPoint]]) -> Fleet {
    let facts: Vec<Facts> = rows.iter().zip(chunks).map(|(r, c)| r.facts(c)).collect();
    let fleet = Fleet::read(&facts);
    for (row, s) in rows.iter_mut().zip(&fleet.standings) {
        row.standing = Some(*s);
    }
    for (i, _, reason) in &fleet.attention {
        rows[*i].attention = Some(reason.clone());
    }
    fleet
}

/// Rows under a header, each column as wide as its widest cell, two
/// spaces apart: what a terminal shows and a person can scan.
pub(super) fn columns<const N: usize>(header: [&str; N], body: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in body {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let render = |cells: &[String]| {
        let line: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        line.join("  ").trim_end().to_string()
    };
    let mut out = vec![render(&header.map(String::from))];
    out.extend(body.iter().map(|r| render(r)));
    out.join("\n")
}

pub fn status_table(rows: &[StatusLine]) -> String {
    let header = [
        "REPOSITORY",
        "STATUS",
        "PRIORITY",
        "PROCESSED",
        "PERCENT",
        "CHUNKS",
        "FAILED",
        "POINTS",
        "LAST RUN",
        "CURRENT AS OF",
        "AUDITED",
        "PAUSED UNTIL",
        "ETA",
        "ERROR",
    ];
    let body: Vec<[String; 14]> = rows
        .iter()
        .map(|r| {
            [
                r.repository.clone(),
                r.status.to_string(),
                r.priority.to_string(),
                format!("{}/{}", r.processed_prs, r.total_prs),
                format!("{:.1}%", r.percent),
                r.chunks_done.to_string(),
                r.chunks_failed.to_string(),
                r.points_spent.map_or_else(|| "-".into(), |p| p.to_string()),
                r.last_run.map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string()),
                r.currency(),
                r.audited.as_ref().map_or_else(|| "-".into(), super::audit::Audited::short),
                r.paused_until.clone().unwrap_or_else(|| "-".into()),
                r.eta.as_ref().map_or_else(|| "-".into(), Eta::short),
                r.error.as_deref().map_or_else(|| "-".into(), one_line),
            ]
        })
        .collect();
    columns(header, &body)
}

/// `backfill status --attention`: what needs doing first, and why.
pub fn attention_table(rows: &[StatusLine]) -> String {
    let header = ["REPOSITORY", "ATTENTION", "PRIORITY", "PROCESSED", "PERCENT", "LAST RUN"];
    let body: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.repository.clone(),
                r.attention.as_deref().map_or_else(|| "-".into(), one_line),
                r.priority.to_string(),
                format!("{}/{}", r.processed_prs, r.total_prs),
                format!("{:.1}%", r.percent),
                r.last_run.map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string()),
            ]
        })
        .collect();
    columns(header, &body)
}
