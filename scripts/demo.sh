#!/usr/bin/env bash
# The main job end to end, locally: a throwaway PostgreSQL, the fake GitHub
# serving a synthetic repository, and `backfill` taking it to completed.
# DEMO_PRS sets the repository's size (default 1000); DEMO_CHAOS=1 makes the
# fake fail now and then (502s, cut-off bodies, secondary limits) to show the
# retries at work. The binaries are built into CARGO_TARGET_DIR (default
# target/). Whatever happens (a failing command, Ctrl-C, a kill), the fake
# GitHub and the PostgreSQL cluster are stopped on the way out.
set -euo pipefail
# A relative CARGO_TARGET_DIR means the caller's directory, not the checkout's.
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
  CARGO_TARGET_DIR=$(realpath -m -- "$CARGO_TARGET_DIR")
  export CARGO_TARGET_DIR
fi
cd "$(dirname "$0")/.."
. scripts/pg.sh
bin_dir="${CARGO_TARGET_DIR:-target}/debug"

fake_pid=""
fake_out=""
step_pid=""
cleanup() {
  local status=$?
  # Every cleanup command runs, whatever the one before it did.
  set +eu
  trap - EXIT INT TERM HUP
  [ -n "$step_pid" ] && kill "$step_pid" 2>/dev/null && wait "$step_pid" 2>/dev/null
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
  stop_throwaway_postgres
  [ -n "$fake_out" ] && rm -f "$fake_out"
  [ "$status" = 0 ] || echo "demo failed (exit $status); the fake GitHub and PostgreSQL are stopped" >&2
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Runs a command in the background and waits for it, so that a signal to this
# script is handled at once (bash defers traps until a foreground command ends)
# and the cleanup stops the command too.
step() {
  "$@" &
  step_pid=$!
  local status=0
  wait "$step_pid" || status=$?
  step_pid=""
  return "$status"
}

echo "building backfill and fake-github (debug) into $bin_dir..." >&2
cargo build --locked -p backfill -p fake-github
unset DATABASE_URL
start_throwaway_postgres
# pg.sh set a trap of its own; this one stops the cluster too, and more.
trap cleanup EXIT

fake_out=$(mktemp)
chaos=()
if [ "${DEMO_CHAOS:-0}" = 1 ]; then
  chaos=(--fail-percent 5 --truncate-percent 2 --secondary-every 25 --retry-after 2)
fi
"$bin_dir/fake-github" --prs "${DEMO_PRS:-1000}" --token demo-token "${chaos[@]}" >"$fake_out" &
fake_pid=$!
deadline=$((SECONDS + 10))
until [ -s "$fake_out" ]; do
  kill -0 "$fake_pid" 2>/dev/null || { echo "the fake GitHub did not start" >&2; exit 1; }
  [ "$SECONDS" -lt "$deadline" ] || { echo "the fake GitHub did not print its URL within 10s" >&2; exit 1; }
  sleep 0.1
done
export GITHUB_GRAPHQL_URL
GITHUB_GRAPHQL_URL=$(head -n 1 "$fake_out")
export GITHUB_TOKEN=demo-token
# The fake is local and answers at once; real GitHub gets the 250ms default.
export BACKFILL_REQUEST_INTERVAL=${BACKFILL_REQUEST_INTERVAL:-20ms}
echo "fake GitHub at $GITHUB_GRAPHQL_URL" >&2

backfill="$bin_dir/backfill"
start=$(date +%s)
step "$backfill" migrate
step "$backfill" add demo-org/demo-repo
step "$backfill" run --time-budget 10m
step "$backfill" status
echo "demo finished in $(( $(date +%s) - start ))s" >&2
