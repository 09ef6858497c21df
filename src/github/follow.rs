//! Following a connection past the window a query brought: where to go on,
//! and when the last items fetched alongside show there is nothing left.

use super::error::GithubError;
use super::wire::{self, Connection};

/// A connection that still has items after `after`, the `got`th.
pub enum Continuation {
    Reviews { pr: String, after: String, got: usize },
    IssueComments { pr: String, after: String, got: usize },
    ReviewComments { review: String, after: String, got: usize },
}

pub fn tail_nodes<T>(tail: Option<wire::Tail<T>>) -> Vec<Option<T>> {
    tail.map(|t| t.nodes).unwrap_or_default()
}

/// Where a connection goes on after a window that began `before` items in:
/// nowhere when GitHub says it ended, or when the tail read with the window
/// reaches back to it (`before + window + tail >= totalCount`); otherwise
/// after the window's last item.
pub fn resume<T>(
    before: usize,
    conn: &Connection<T>,
    tail: usize,
    what: &str,
) -> Result<Option<(String, usize)>, GithubError> {
    let got = before + conn.nodes.len();
    let covered = got + tail >= usize::try_from(conn.total_count).unwrap_or(0);
    if !conn.page_info.has_next_page || (tail > 0 && covered) {
        return Ok(None);
    }
    Ok(Some((next_cursor(conn.page_info.end_cursor.clone(), what)?, got)))
}

/// More items without a cursor to reach them would restart the connection forever.
pub fn next_cursor(end_cursor: Option<String>, what: &str) -> Result<String, GithubError> {
    end_cursor.ok_or_else(|| GithubError::ServerError(format!("GitHub reported more {what} but no cursor to them")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::wire::PageInfo;

    fn conn(window: usize, total: i64, more: bool) -> Connection<u8> {
        Connection {
            total_count: total,
            page_info: PageInfo { has_next_page: more, end_cursor: Some("c".into()) },
            nodes: vec![Some(0); window],
        }
    }

    #[test]
    fn a_connection_is_followed_until_its_window_and_tail_meet() {
        // (items before the window, window, totalCount, hasNextPage, tail) -> (resume after, items got)
        let cases = [
            (0, 100, 300, true, 0, Some(100)),     // restarted from the start: go on
            (100, 100, 300, true, 100, None),      // 200 read + the last 100 = all 300
            (100, 100, 301, true, 100, Some(200)), // one item in the gap: go on
            (100, 100, 230, true, 100, None),      // overlap, deduplicated later
            (0, 40, 40, false, 0, None),           // GitHub says it ended
            (200, 100, 350, false, 100, None),
        ];
        for (before, window, total, more, tail, want) in cases {
            let got = resume(before, &conn(window, total, more), tail, "items").map(|r| r.map(|(_, n)| n));
            assert_eq!(got.ok(), Some(want), "{before} {window} {total} {more} {tail}");
        }
        let no_cursor =
            Connection::<u8> { page_info: PageInfo { has_next_page: true, end_cursor: None }, ..conn(1, 5, true) };
        assert!(resume(0, &no_cursor, 0, "items").is_err(), "more items and no cursor to them");
    }
}
