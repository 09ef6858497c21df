#!/usr/bin/env bash
# The whole test suite against a real PostgreSQL: the one in DATABASE_URL, or
# a throwaway cluster started here. Extra arguments go to
# `cargo nextest run` (or `cargo test` where nextest is missing).
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
# cargo-nextest runs the test binaries side by side, where `cargo test` runs
# them one after the other; either takes the same arguments used here.
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked "$@"
else
  cargo test --workspace --locked "$@"
fi
