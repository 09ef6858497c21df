//! Every statement goes to PostgreSQL unnamed. sqlx names and keeps
//! prepared statements per connection by default; through a
//! transaction-mode pooler (PgBouncer, Supabase's on port 6543) the next
//! transaction may land on another server connection, where such a name is
//! missing or, worse, taken by another client ("prepared statement sqlx_s_1
//! already exists"). An unnamed statement lives only until the next one, and
//! since every statement here runs inside a transaction, the pooler keeps
//! its parse and its execution on one server connection. The cost is one
//! parse per execution: microseconds, next to GitHub's hundreds of
//! milliseconds per request.

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{FromRow, Postgres};

pub fn statement(sql: &str) -> Query<'_, Postgres, PgArguments> {
    sqlx::query(sql).persistent(false)
}

pub fn rows<'q, T: for<'r> FromRow<'r, PgRow>>(sql: &'q str) -> QueryAs<'q, Postgres, T, PgArguments> {
    sqlx::query_as(sql).persistent(false)
}

pub fn scalar<'q, T>(sql: &'q str) -> QueryScalar<'q, Postgres, T, PgArguments>
where
    (T,): for<'r> FromRow<'r, PgRow>,
{
    sqlx::query_scalar(sql).persistent(false)
}
