# Sourced by the other scripts: starts a throwaway PostgreSQL cluster from the
# system's binaries (installing them with apt when missing), exports
# DATABASE_URL, and removes the cluster when the calling script exits.
# PG_SETTINGS, when set, adds server options (`-c name=value ...`).

pg_bindir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# Installs Debian's PACKAGE unless the check that follows it passes (root only).
ensure_package() {
  local package=$1; shift
  if "$@"; then return 0; fi
  if [ "$(id -u)" != 0 ]; then
    echo "$package is missing: install the '$package' package" >&2
    return 1
  fi
  echo "installing $package from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "$package" >/dev/null
}

ensure_postgres_binaries() {
  ensure_package postgresql test -x "$(pg_bindir)/initdb"
}

# PgBouncer, for the test that runs through a transaction-mode pooler.
ensure_pgbouncer() {
  ensure_package pgbouncer test -x /usr/sbin/pgbouncer
}

# A headless browser for the test that opens the `status --html` page: the
# one BACKFILL_TEST_BROWSER names, or any Chromium or Google Chrome on PATH
# (GitHub's runners have google-chrome); else Debian's chromium is installed.
browser_present() {
  if [ -n "${BACKFILL_TEST_BROWSER:-}" ]; then
    command -v "$BACKFILL_TEST_BROWSER" >/dev/null
    return
  fi
  local name
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$name" >/dev/null && return 0
  done
  return 1
}

ensure_chromium() {
  ensure_package chromium browser_present
}

# Runs a command as the postgres user when we are root (initdb refuses root).
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_throwaway_postgres() {
  ensure_postgres_binaries || return 1
  local bin; bin=$(pg_bindir)
  PG_TMP=$(mktemp -d /tmp/backfill-pg.XXXXXX)
  chmod 755 "$PG_TMP"
  [ "$(id -u)" = 0 ] && chown postgres: "$PG_TMP"
  as_postgres "$bin/initdb" -D "$PG_TMP/data" -U postgres -A trust -E UTF8 --no-sync >"$PG_TMP/initdb.log" 2>&1 || {
    cat "$PG_TMP/initdb.log" >&2; return 1; }
  local port attempt
  for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 30000))
    if as_postgres "$bin/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_TMP -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 ${PG_SETTINGS:-}" \
        start >/dev/null; then
      export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
      PG_BIN="$bin"
      trap stop_throwaway_postgres EXIT
      echo "throwaway PostgreSQL on 127.0.0.1:$port" >&2
      return 0
    fi
  done
  cat "$PG_TMP/server.log" >&2
  return 1
}

stop_throwaway_postgres() {
  [ -n "${PG_TMP:-}" ] || return 0
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_TMP"
}
