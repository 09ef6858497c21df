-- Points: what each chunk's GraphQL requests cost, failed attempts
-- included, for the charts of `status --html` and the ETA. A table of the
-- tool's own (the contract's `backfill_chunks` keeps exactly its columns);
-- it goes with its chunk row.

CREATE TABLE IF NOT EXISTS backfill_chunk_points (
    chunk_id uuid PRIMARY KEY REFERENCES backfill_chunks (id) ON DELETE CASCADE,
    points integer NOT NULL
);
