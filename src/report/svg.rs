//! The page's charts, drawn by `plotters` into SVG text that the page
//! holds inline: no script, font or style comes from anywhere else. Only
//! numbers and dates become text in them, never a name from the database.

use chrono::{DateTime, Utc};
use plotters::prelude::*;

use super::axis;
use super::eta::ChunkPoint;

const SIZE: (u32, u32) = (640, 240);

type Drawn = Result<(), Box<dyn std::error::Error>>;

/// The frame both charts share: a white canvas of the page's size, its
/// margins and label areas; `paint` builds the chart in it. None if
/// plotters fails, so the page goes without that chart.
fn svg_chart(paint: impl FnOnce(&mut ChartBuilder<'_, '_, SVGBackend<'_>>) -> Drawn) -> Option<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let drawn = (|| -> Drawn {
            root.fill(&WHITE)?;
            paint(ChartBuilder::on(&root).margin(12).x_label_area_size(28).y_label_area_size(56))?;
            root.present()?;
            Ok(())
        })();
        drawn.ok()?;
    }
    Some(svg)
}

/// The red of a failed chunk, on every chart.
const FAILED: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const FAILED_HEX: &str = "#d62728";
/// The blue of the sparkline's stored PRs.
const STORED_HEX: &str = "#1f77b4";

/// The PRs stored over time, a point per stored chunk and a red cross per
/// failed one (at the PRs stored by then); none before the first chunk.
/// The time axis is ticked at round times, labelled as finely as the span
/// needs (`axis`).
pub fn stored_over_time(chunks: &[ChunkPoint]) -> Option<String> {
    let point = |c: &ChunkPoint| (c.completed_at, c.stored_after);
    let points: Vec<(DateTime<Utc>, i64)> = chunks.iter().filter(|c| !c.failed).map(point).collect();
    let failed: Vec<(DateTime<Utc>, i64)> = chunks.iter().filter(|c| c.failed).map(point).collect();
    points.first()?;
    let times = || points.iter().chain(&failed).map(|p| p.0);
    let (first, last) = (times().min()?, times().max()?);
    // One point, or all at one instant: a span around it to draw in.
    let (from, to) = if last > first {
        (first, last)
    } else {
        (first - chrono::Duration::minutes(30), last + chrono::Duration::minutes(30))
    };
    let ticks = axis::time_ticks(from, to, 5);
    let top = points.iter().chain(&failed).map(|p| p.1).max().unwrap_or(0).max(1);
    svg_chart(|frame| {
        let x = (from..to).with_key_points(ticks.iter().map(|t| t.at).collect());
        let mut chart = frame.build_cartesian_2d(x, 0i64..top + top / 10 + 1)?;
        let label = |t: &DateTime<Utc>| ticks.iter().find(|k| k.at == *t).map(|k| k.label.clone()).unwrap_or_default();
        chart.configure_mesh().y_labels(5).x_label_formatter(&label).y_desc("PRs stored").draw()?;
        chart.draw_series(LineSeries::new(points.iter().copied(), BLUE.stroke_width(2)))?;
        chart.draw_series(points.iter().map(|p| Circle::new(*p, 2, BLUE.filled())))?;
        chart.draw_series(failed.iter().map(|p| Cross::new(*p, 5, FAILED.stroke_width(2))))?;
        Ok(())
    })
}

/// The points each chunk cost, a bar per chunk whose cost is known, red
/// for a failed attempt (it costs points as well); none when no cost is known.
pub fn points_per_chunk(chunks: &[ChunkPoint]) -> Option<String> {
    let bars: Vec<(i32, i64, bool)> = chunks.iter().filter_map(|c| c.points.map(|p| (c.number, p, c.failed))).collect();
    let (first, last) = (bars.first()?.0, bars.last()?.0);
    let top = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let of = |failed: bool| bars.iter().filter(move |b| b.2 == failed).map(|b| (b.0, b.1));
    svg_chart(|frame| {
        let mut chart = frame.build_cartesian_2d((first..last).into_segmented(), 0i64..top + top / 10 + 1)?;
        chart.configure_mesh().x_labels(8).y_labels(5).x_desc("chunk").y_desc("points").draw()?;
        chart.draw_series(Histogram::vertical(&chart).style(GREEN.mix(0.7).filled()).margin(1).data(of(false)))?;
        chart.draw_series(Histogram::vertical(&chart).style(FAILED.filled()).margin(1).data(of(true)))?;
        Ok(())
    })
}

/// A line of a backfill's PRs stored over its recent chunks, small enough
/// for a table cell, with a red dot per failed chunk (the last
/// `SPARK_FAILED`); written by hand: plotters' frame is too large for it.
/// Only numbers go into it. None without a chunk.
pub fn sparkline(chunks: &[ChunkPoint]) -> Option<String> {
    let (w, h, pad) = (120.0, 24.0, 2.0);
    let first = chunks.iter().map(|c| c.completed_at).min()?;
    let last = chunks.iter().map(|c| c.completed_at).max()?;
    let span = (last - first).num_milliseconds().max(1) as f64;
    let top = chunks.iter().map(|c| c.stored_after).max().unwrap_or(0).max(1) as f64;
    let at = |c: &ChunkPoint| {
        let x = pad + (c.completed_at - first).num_milliseconds() as f64 / span * (w - 2.0 * pad);
        (x, h - pad - c.stored_after as f64 / top * (h - 2.0 * pad))
    };
    let dot = |c: &ChunkPoint, class: &str, r: f64, fill: &str| {
        let (x, y) = at(c);
        format!("<circle class=\"{class}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r}\" fill=\"{fill}\"/>")
    };
    let stored: Vec<&ChunkPoint> = chunks.iter().filter(|c| !c.failed).collect();
    let shown: Vec<&ChunkPoint> = match stored.len() {
        n if n > SPARK_POINTS => (0..SPARK_POINTS).map(|k| stored[k * (n - 1) / (SPARK_POINTS - 1)]).collect(),
        _ => stored,
    };
    let mut svg = format!(
        "<svg class=\"spark\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" \
         aria-label=\"PRs stored over time\">"
    );
    match shown.as_slice() {
        [] => {}
        [one] => svg.push_str(&dot(one, "stored", 2.0, STORED_HEX)),
        many => svg.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{STORED_HEX}\" stroke-width=\"1.5\" points=\"{}\"/>",
            many.iter().map(|c| at(c)).map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ")
        )),
    }
    let failed: Vec<&ChunkPoint> = chunks.iter().filter(|c| c.failed).collect();
    for c in &failed[failed.len().saturating_sub(SPARK_FAILED)..] {
        svg.push_str(&dot(c, "failed", 2.5, FAILED_HEX));
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// Points in a sparkline: a long history is thinned to this many.
const SPARK_POINTS: usize = 60;
/// Failed chunks marked in a sparkline, the most recent.
const SPARK_FAILED: usize = 20;

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(number: i32, stored_after: i64, points: Option<i64>) -> ChunkPoint {
        let t = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default();
        let t = t + chrono::Duration::minutes(30 * i64::from(number));
        ChunkPoint { number, started_at: t, completed_at: t, prs: 5, stored_after, points, failed: false, error: None }
    }

    #[test]
    fn charts_are_inline_svg_or_nothing() {
        let chunks = [chunk(1, 5, Some(1)), chunk(2, 10, Some(3)), chunk(3, 15, None)];
        let cases = [
            (stored_over_time(&chunks), true),
            (stored_over_time(&chunks[..1]), true),
            (stored_over_time(&[]), false),
            (points_per_chunk(&chunks), true),
            (points_per_chunk(&chunks[2..]), false),
        ];
        for (i, (svg, drawn)) in cases.into_iter().enumerate() {
            assert_eq!(svg.is_some(), drawn, "case {i}");
            if let Some(svg) = svg {
                assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "case {i}: {svg}");
                assert!(!svg.contains("href") && !svg.contains("<image"), "case {i}: nothing fetched");
            }
        }
    }

    /// Chunks `secs` apart from 10:00:00, `failed` the numbers that failed.
    fn run(n: i32, secs: i64, failed: &[i32]) -> Vec<ChunkPoint> {
        let t = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default();
        (1..=n)
            .map(|k| {
                let at = t + chrono::Duration::seconds(secs * i64::from(k));
                let failed = failed.contains(&k);
                let stored = 5 * i64::from(k - failed as i32);
                ChunkPoint {
                    number: k,
                    started_at: at,
                    completed_at: at,
                    prs: 5,
                    stored_after: stored,
                    points: Some(2),
                    failed,
                    error: None,
                }
            })
            .collect()
    }

    /// The x axis's labels: the texts that read as times.
    fn time_labels(svg: &str) -> Vec<String> {
        svg.split("</text>")
            .filter_map(|part| part.rsplit_once('>').map(|(_, text)| text.trim().to_string()))
            .filter(|text| text.contains(':') || text.matches('-').count() == 2)
            .collect()
    }

    #[test]
    fn time_labels_differ_and_failed_chunks_are_red() {
        let cases = [
            // A run of a minute: seconds on the axis.
            (run(4, 15, &[2]), "10:00:", true),
            // Half a day of 30-minute runs: hours and minutes.
            (run(24, 1_800, &[]), "12:00", false),
            // A month: dates.
            (run(30, 86_400, &[29]), "2026-12-", true),
        ];
        for (chunks, looks_like, red) in cases {
            let svg = stored_over_time(&chunks).unwrap_or_default();
            let labels = time_labels(&svg);
            assert!(labels.len() >= 2 && labels.iter().any(|l| l.contains(looks_like)), "{labels:?}");
            let mut distinct = labels.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), labels.len(), "no label twice: {labels:?}");
            for chart in [svg, points_per_chunk(&chunks).unwrap_or_default()] {
                assert_eq!(chart.to_uppercase().contains("D62728"), red, "{chart}");
            }
        }
    }

    #[test]
    fn a_sparkline_is_small_and_marks_failures() {
        let long = run(500, 1_800, &[499, 500]);
        let cases = [
            (sparkline(&run(3, 60, &[])), Some((3, 0))),
            (sparkline(&run(1, 60, &[])), Some((0, 0))),
            (sparkline(&run(3, 60, &[3])), Some((2, 1))),
            (sparkline(&long), Some((SPARK_POINTS, 2))),
            (sparkline(&[]), None),
        ];
        for (i, (svg, want)) in cases.into_iter().enumerate() {
            let got = svg.as_ref().map(|svg| {
                let points = svg.split("points=\"").nth(1).and_then(|p| p.split('"').next()).unwrap_or_default();
                (points.split_whitespace().count(), svg.matches("class=\"failed\"").count())
            });
            assert_eq!(got, want, "case {i}: {svg:?}");
            if let Some(svg) = svg {
                assert!(
                    svg.starts_with("<svg class=\"spark\"") && svg.ends_with("</svg>") && svg.len() < 2_000,
                    "{svg}"
                );
            }
        }
    }
}
