-- Two tables of the tool's own (the contract's tables stay exactly as they are).
--
-- The points each chunk cost (dropped attempts included), which the
-- contract's `backfill_chunks` has no column for: `backfill history` shows
-- them beside the requests. Goes with its chunk row.
CREATE TABLE IF NOT EXISTS backfill_chunk_points (
    chunk_id uuid PRIMARY KEY REFERENCES backfill_chunks (id) ON DELETE CASCADE,
    points integer NOT NULL
);

-- Repositories whose backfill was stopped for good (`backfill remove`): no
-- run takes it and `run --discover` does not start it again, also after
-- `--purge` has deleted its state row. `backfill add` deletes the row.
CREATE TABLE IF NOT EXISTS backfill_removals (
    repository_id uuid PRIMARY KEY REFERENCES repositories (id) ON DELETE CASCADE,
    removed_at timestamptz NOT NULL DEFAULT now(),
    purged boolean NOT NULL DEFAULT false
);
