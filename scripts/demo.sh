#!/usr/bin/env bash
# The main job end to end, locally: a throwaway PostgreSQL, the fake GitHub
# serving a synthetic repository, and `backfill` taking it to completed.
# DEMO_PRS sets the repository's size (default 1000); DEMO_CHAOS=1 makes the
# fake fail now and then (502s, cut-off bodies, secondary limits) to show the
# retries at work.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh
cargo build --locked --quiet -p backfill -p fake-github
unset DATABASE_URL
start_throwaway_postgres

fake_out=$(mktemp)
chaos=()
if [ "${DEMO_CHAOS:-0}" = 1 ]; then
  chaos=(--fail-percent 5 --truncate-percent 2 --secondary-every 25 --retry-after 2)
fi
target/debug/fake-github --prs "${DEMO_PRS:-1000}" --token demo-token "${chaos[@]}" >"$fake_out" &
fake_pid=$!
trap 'kill $fake_pid 2>/dev/null; stop_throwaway_postgres; rm -f "$fake_out"' EXIT
for _ in $(seq 1 100); do
  [ -s "$fake_out" ] && break
  kill -0 "$fake_pid" 2>/dev/null || { echo "the fake GitHub did not start" >&2; exit 1; }
  sleep 0.1
done
export GITHUB_GRAPHQL_URL
GITHUB_GRAPHQL_URL=$(head -n 1 "$fake_out")
export GITHUB_TOKEN=demo-token
# The fake is local and answers at once; real GitHub gets the 250ms default.
export BACKFILL_REQUEST_INTERVAL=${BACKFILL_REQUEST_INTERVAL:-20ms}
echo "fake GitHub at $GITHUB_GRAPHQL_URL" >&2

backfill=target/debug/backfill
start=$(date +%s)
$backfill migrate
$backfill add demo-org/demo-repo
$backfill run --time-budget 10m
$backfill status
echo "demo finished in $(( $(date +%s) - start ))s" >&2
