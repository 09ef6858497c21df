-- A table of the tool's own (the contract's tables stay exactly as they are).
--
-- Each credential's primary rate-limit budget as GitHub last stated it,
-- under the credential's name (`token …a1b2 (3f9c)`: the token's last four
-- characters and a short hash of it; `App 123 installation 456 (acme)`),
-- never a secret. Written at the end of each run (and by `run --dry-run`'s
-- check), read at the start of the next, so that a token known to be spent
-- until its reset is not asked again before it; `status`, its page and the
-- step summary show whose budget is whose.
CREATE TABLE IF NOT EXISTS backfill_credentials (
    name text PRIMARY KEY,
    points_limit integer NOT NULL,
    points_left integer NOT NULL,
    points_used integer,
    resets_at timestamptz,
    seen_at timestamptz NOT NULL
);
