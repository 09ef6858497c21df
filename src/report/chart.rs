//! The step summary's picture of a backfill's progress: a Mermaid
//! `xychart-beta` (GitHub renders it in Markdown) with one point per
//! chunk: the PRs stored once that chunk was.

use super::eta::ChunkPoint;

/// Points in one chart: the last this many chunks (a long history would
/// make an unreadable line, and a huge summary).
pub const MAX_POINTS: usize = 50;

/// The chart of the backfill's stored chunks, or none before the first.
/// `total` tops the y axis, so the line shows how far there is to go.
pub fn mermaid_progress(repository: &str, chunks: &[ChunkPoint], total: i64) -> Option<String> {
    let stored: Vec<&ChunkPoint> = chunks.iter().filter(|c| !c.failed).collect();
    let shown = &stored[stored.len().saturating_sub(MAX_POINTS)..];
    let (first, last) = (shown.first()?, shown.last()?);
    let numbers: Vec<String> = shown.iter().map(|c| c.number.to_string()).collect();
    let values: Vec<String> = shown.iter().map(|c| c.stored_after.to_string()).collect();
    let top = total.max(last.stored_after).max(1);
    let title: String = repository.chars().filter(|c| !matches!(c, '"' | '\n' | '\r' | '`')).collect();
    let mut md = format!(
        "```mermaid\nxychart-beta\n    title \"{title}: PRs stored after each chunk\"\n    x-axis \"chunk\" [{}]\n    \
         y-axis \"PRs stored\" 0 --> {top}\n    line [{}]\n```\n\n",
        numbers.join(", "),
        values.join(", ")
    );
    let cut = if stored.len() > shown.len() {
        format!("the last {} of {} chunks read", shown.len(), stored.len())
    } else {
        crate::text::count(shown.len(), "chunk", "chunks")
    };
    md.push_str(&format!(
        "Chunks {}-{} ({cut}), {} to {}.\n\n",
        first.number,
        last.number,
        first.completed_at.format("%Y-%m-%d %H:%M UTC"),
        last.completed_at.format("%Y-%m-%d %H:%M UTC")
    ));
    Some(md)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    fn chunk(number: i32, stored_after: i64, failed: bool) -> ChunkPoint {
        let t = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default();
        let t = t + chrono::Duration::minutes(30 * i64::from(number));
        ChunkPoint { number, started_at: t, completed_at: t, prs: 50, stored_after, points: None, failed, error: None }
    }

    #[test]
    fn the_chart_has_a_point_per_stored_chunk() {
        let three = [chunk(1, 50, false), chunk(2, 50, true), chunk(3, 100, false)];
        let md = mermaid_progress("acme/\"w\"", &three, 2_000).unwrap_or_default();
        assert!(
            md.starts_with("```mermaid\nxychart-beta\n    title \"acme/w: PRs stored after each chunk\"\n"),
            "{md}"
        );
        assert!(
            md.contains("    x-axis \"chunk\" [1, 3]\n    y-axis \"PRs stored\" 0 --> 2000\n    line [50, 100]\n```")
        );
        assert!(md.contains("Chunks 1-3 (2 chunks), 2026-12-01 10:30 UTC to 2026-12-01 11:30 UTC."), "{md}");
        let many: Vec<ChunkPoint> = (1..=120).map(|n| chunk(n, i64::from(n) * 5, false)).collect();
        let md = mermaid_progress("acme/big", &many, 600).unwrap_or_default();
        let want: Vec<String> = (71..=120).map(|n| n.to_string()).collect();
        assert!(md.contains(&format!("[{}]", want.join(", "))), "{md}");
        assert!(md.contains("(the last 50 of 120 chunks read)"), "{md}");
        let cases = [(vec![], None), (vec![chunk(1, 0, true)], None)];
        for (chunks, want) in cases {
            assert_eq!(mermaid_progress("acme/none", &chunks, 10), want);
        }
    }
}
