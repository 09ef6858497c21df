#!/usr/bin/env bash
# The benchmark, in one command: builds release binaries, starts a throwaway
# PostgreSQL, runs the real `backfill` against the fake GitHub serving large
# synthetic repositories (today's profile and a big one shaped like
# pytorch/pytorch, each under both readings of nodes(ids:) costs), and writes
# the results table into README.md.
# BENCH_PRS (default 20000) and BENCH_HEAVY_EVERY (default 400) shape today's
# profile; BENCH_BIG_PRS (default 10000) sizes the big repository. Arguments
# are passed on: `bench/run.sh --only faults` runs the measure under faults
# (500 PRs clean and under issue 24's faults) alone and rewrites its table;
# `--only growth` the writes into a pre-filled database and the reads over a
# long history (BENCH_GROWTH_PRS, default 1000000, sizes the pre-filled
# repository; BENCH_GROWTH_CHUNKS, default 100000, the history).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh
ensure_postgres_binaries
ensure_package time test -x /usr/bin/time
cargo build --release --locked -p backfill -p backfill-bench
unset DATABASE_URL
# pg_stat_statements times the growth measure's writes.
PG_SETTINGS="-c shared_preload_libraries=pg_stat_statements" start_throwaway_postgres
target/release/backfill-bench --backfill target/release/backfill \
  --prs "${BENCH_PRS:-20000}" --heavy-every "${BENCH_HEAVY_EVERY:-400}" --big-prs "${BENCH_BIG_PRS:-10000}" \
  --growth-prs "${BENCH_GROWTH_PRS:-1000000}" --growth-chunks "${BENCH_GROWTH_CHUNKS:-100000}" \
  --readme README.md "$@"
