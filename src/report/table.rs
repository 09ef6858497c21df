//! `backfill status` as a table a person can scan.

use crate::store::BackfillStatus;

pub fn status_table(rows: &[BackfillStatus]) -> String {
    let header =
        ["REPOSITORY", "STATUS", "PROCESSED", "PERCENT", "CHUNKS", "FAILED", "LAST RUN", "PAUSED UNTIL", "ERROR"];
    let body: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            [
                r.repository.clone(),
                r.status.clone(),
                format!("{}/{}", r.processed_prs, r.total_prs),
                format!("{:.1}%", r.percent),
                r.chunks_done.to_string(),
                r.chunks_failed.to_string(),
                r.last_run.map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string()),
                r.paused_until.clone().unwrap_or_else(|| "-".into()),
                r.error.as_deref().map_or_else(|| "-".into(), crate::github::client::one_line),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &body {
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
