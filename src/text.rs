//! Text that goes on one line of stderr, a log or a table cell.

/// Error text goes on one line, and never at length.
pub fn one_line(s: &str) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 300 {
        flat.chars().take(300).collect::<String>() + "…"
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_flattened_and_cut() {
        let long = "x".repeat(400);
        let cases = [("a\n  b\tc", "a b c".to_string()), ("", String::new()), (long.as_str(), "x".repeat(300) + "…")];
        for (given, want) in cases {
            assert_eq!(one_line(given), want);
        }
    }
}
