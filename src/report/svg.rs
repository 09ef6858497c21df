//! The page's charts, drawn by `plotters` into SVG text that the page
//! holds inline: no script, font or style comes from anywhere else. Only
//! numbers and dates become text in them, never a name from the database.

use chrono::{DateTime, Utc};
use plotters::prelude::*;

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

/// The PRs stored over time, a point per stored chunk; none before the first.
pub fn stored_over_time(chunks: &[ChunkPoint]) -> Option<String> {
    let points: Vec<(DateTime<Utc>, i64)> =
        chunks.iter().filter(|c| !c.failed).map(|c| (c.completed_at, c.stored_after)).collect();
    let (first, last) = (points.first()?.0, points.last()?.0);
    // One point, or all at one instant: a span around it to draw in.
    let (from, to) = if last > first {
        (first, last)
    } else {
        (first - chrono::Duration::minutes(30), last + chrono::Duration::minutes(30))
    };
    let top = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    svg_chart(|frame| {
        let mut chart = frame.build_cartesian_2d(from..to, 0i64..top + top / 10 + 1)?;
        chart
            .configure_mesh()
            .x_labels(5)
            .y_labels(5)
            .x_label_formatter(&|t: &DateTime<Utc>| t.format("%m-%d %H:%M").to_string())
            .y_desc("PRs stored")
            .draw()?;
        chart.draw_series(LineSeries::new(points.iter().copied(), BLUE.stroke_width(2)))?;
        chart.draw_series(points.iter().map(|p| Circle::new(*p, 2, BLUE.filled())))?;
        Ok(())
    })
}

/// The points each chunk cost, a bar per chunk whose cost is known (failed
/// attempts too: they cost points as well); none when no cost is known.
pub fn points_per_chunk(chunks: &[ChunkPoint]) -> Option<String> {
    let bars: Vec<(i32, i64)> = chunks.iter().filter_map(|c| c.points.map(|p| (c.number, p))).collect();
    let (first, last) = (bars.first()?.0, bars.last()?.0);
    let top = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    svg_chart(|frame| {
        let mut chart = frame.build_cartesian_2d((first..last).into_segmented(), 0i64..top + top / 10 + 1)?;
        chart.configure_mesh().x_labels(8).y_labels(5).x_desc("chunk").y_desc("points").draw()?;
        chart.draw_series(
            Histogram::vertical(&chart).style(GREEN.mix(0.7).filled()).margin(1).data(bars.iter().copied()),
        )?;
        Ok(())
    })
}

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
}
