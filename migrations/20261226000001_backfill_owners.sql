-- A table of the tool's own (the contract's tables stay exactly as they are).
--
-- Owners whose every repository is tracked (`backfill add 'OWNER/*'`), with
-- that add's filters and the settings each repository got: `run --discover`
-- lists each owner's repositories and tracks those created since, as the
-- add would have. `backfill remove 'OWNER/*'` sets `stopped_at` (the
-- backfills stay); another add clears it. GitHub's logins are
-- case-insensitive, and so is the key.
CREATE TABLE IF NOT EXISTS backfill_owners (
    login text NOT NULL,
    include_forks boolean NOT NULL DEFAULT false,
    include_archived boolean NOT NULL DEFAULT false,
    min_prs integer NOT NULL DEFAULT 0,
    chunk_size integer,
    priority text,
    refresh boolean,
    added_at timestamptz NOT NULL DEFAULT now(),
    stopped_at timestamptz
);

CREATE UNIQUE INDEX IF NOT EXISTS backfill_owners_by_login ON backfill_owners (lower(login));
