//! The tool's own indexes, each named for the queries it serves (the
//! migrations say which), and the repair of one an interrupted build left
//! invalid.
//!
//! The migrations build them `CONCURRENTLY`, so that an existing database
//! keeps taking writes meanwhile. A build that is interrupted (a cancel, a
//! lost connection, a deadlock) leaves an index marked invalid, which
//! PostgreSQL keeps up to date but never reads from, and which `CREATE INDEX
//! ... IF NOT EXISTS` then takes for done. So `migrate` looks for ours that
//! are invalid and rebuilds each with `REINDEX INDEX CONCURRENTLY`; the
//! leftover of an interrupted rebuild (`<name>_ccnew` or `_ccold`, invalid) is
//! dropped first.

use sqlx::{Executor, PgPool};

use super::error::StoreResult;
use super::unnamed;

/// The indexes the tool's migrations create.
pub const OWN: &[&str] = &["comments_replies_of_idx", "backfill_chunks_by_backfill_status_number_idx"];

/// Rebuilds each of the tool's indexes found invalid; returns their names.
/// Each statement runs on its own, outside any transaction, as
/// `CONCURRENTLY` requires.
pub async fn rebuild_invalid(pool: &PgPool) -> StoreResult<Vec<String>> {
    let names: Vec<String> = OWN.iter().map(|s| s.to_string()).collect();
    let mut tx = pool.begin().await?;
    let invalid: Vec<(String, bool)> = unnamed::rows(
        "SELECT c.relname::text, c.relname <> ALL($1) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE NOT i.indisvalid AND c.relnamespace = current_schema()::regnamespace \
           AND (c.relname = ANY($1) OR EXISTS (SELECT 1 FROM unnest($1) AS o(name) \
             WHERE c.relname LIKE o.name || '\\_cc%')) \
         ORDER BY 2 DESC, 1",
    )
    .bind(&names)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut rebuilt = Vec::new();
    for (name, leftover) in invalid {
        let sql = match leftover {
            true => format!("DROP INDEX CONCURRENTLY IF EXISTS {}", quote(&name)),
            false => format!("REINDEX INDEX CONCURRENTLY {}", quote(&name)),
        };
        pool.execute(sql.as_str()).await?;
        if !leftover {
            rebuilt.push(name);
        }
    }
    Ok(rebuilt)
}

/// An identifier as SQL text (the names come from the catalog).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_as_identifiers() {
        let cases = [("plain_idx", "\"plain_idx\""), ("odd\"name", "\"odd\"\"name\"")];
        for (name, want) in cases {
            assert_eq!(quote(name), want, "{name}");
        }
    }
}
