#!/usr/bin/env bash
# The whole test suite against a real PostgreSQL: the one in DATABASE_URL, or
# a throwaway cluster started here. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh
ensure_postgres_binaries
ensure_pgbouncer
ensure_chromium
# Tests that restart PostgreSQL start clusters of their own from these binaries.
export PG_BIN="${PG_BIN:-$(pg_bindir)}"
if [ -z "${DATABASE_URL:-}" ]; then
  start_throwaway_postgres
fi
cargo test --workspace --locked "$@"
