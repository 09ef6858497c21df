//! The SQL text for the keys: the only place a key is spelled in a
//! statement. Writes go through `apply` with a `Patch`'s two parameters;
//! the few statements that must read a key in the database (a `WHERE`
//! over many rows, a check under the row's lock) take its text from `text`.
//! A key with a former name is read in Rust only (`Metadata::decode`).

use super::Key;

/// The key's value as text (`metadata->>'key'`), NULL when absent. Prefix
/// a table alias as needed: `format!("s.{}", text(key))`.
pub fn text(key: Key) -> String {
    format!("metadata->>'{}'", key.as_str())
}

/// The column with a patch applied: `$first` the keys removed (`text[]`,
/// `Patch::removed_keys`), `$first + 1` the object merged over what is left
/// (`jsonb`, `Patch::set_object`).
pub fn apply(first: usize) -> String {
    apply_on("metadata", first)
}

/// The same on a column named otherwise: `progressive_backfill_state.metadata`
/// in an `ON CONFLICT DO UPDATE`, where `metadata` alone is ambiguous.
pub fn apply_on(column: &str, first: usize) -> String {
    format!("(coalesce({column}, '{{}}'::jsonb) - ${first}::text[]) || ${}::jsonb", first + 1)
}

/// The column with a count one higher than stored; a count of another
/// shape (or below zero) counts as none.
pub fn count_up(key: Key) -> String {
    let k = key.as_str();
    format!(
        "coalesce(metadata, '{{}}'::jsonb) || jsonb_build_object('{k}', \
           CASE WHEN jsonb_typeof(metadata->'{k}') = 'number' \
             THEN greatest((metadata->>'{k}')::numeric::bigint, 0) ELSE 0 END + 1)"
    )
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn no_key_is_spelled_in_sql_outside_this_module() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let own = root.join("store").join("metadata");
        let mut files = Vec::new();
        sources(&root, &mut files);
        assert!(files.len() > 20, "the sources were found: {files:?}");
        let names: Vec<&str> =
            Key::ALL.iter().flat_map(|k| std::iter::once(k.as_str()).chain(k.former_name())).collect();
        for file in files.iter().filter(|f| !f.starts_with(&own)) {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            for name in &names {
                assert!(
                    !text.contains(&format!("'{name}'")),
                    "{} spells the key '{name}': use store::metadata",
                    file.display()
                );
            }
        }
    }

    #[test]
    fn the_sql_text_names_the_key() {
        assert_eq!(text(Key::PauseKind), "metadata->>'pause_kind'");
        assert_eq!(apply(4), "(coalesce(metadata, '{}'::jsonb) - $4::text[]) || $5::jsonb");
        assert!(count_up(Key::PassedOver).contains("jsonb_build_object('passed_over'"));
    }
}
