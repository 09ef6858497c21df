-- A table and a column of the tool's own (the contract's tables stay exactly
-- as they are), so that a chunk's commit, `status` and `history` read a row
-- per backfill rather than its whole history.
--
-- Each backfill's chunk rows, counted in the transaction that inserts each
-- row (`src/store/counts.rs`): every row numbered up to `counted_through` is
-- in the counts. Rows numbered above it (written by another tool) are
-- counted by each reader and by the next chunk's commit; `backfill migrate`
-- fills the row of a backfill that has none and recounts every one.
CREATE TABLE IF NOT EXISTS backfill_chunk_counts (
    backfill_state_id uuid PRIMARY KEY REFERENCES progressive_backfill_state (id) ON DELETE CASCADE,
    counted_through integer NOT NULL,
    completed integer NOT NULL,
    failed integer NOT NULL,
    -- Failed chunks since the last completed one (the next chunk row's
    -- `retry_count`), and when the first of them began.
    failing integer NOT NULL,
    failing_since timestamptz,
    -- PRs the completed chunks stored that were not stored before: where the
    -- chart of PRs stored after each chunk ends.
    stored_prs bigint NOT NULL
);

-- The PRs a chunk stored that were not stored before (a refresh of stored
-- PRs adds none), beside the points it cost: the steps of that chart.
ALTER TABLE backfill_chunk_points ADD COLUMN IF NOT EXISTS new_prs integer;

-- Once, for the rows already there: each PR counted at the first completed
-- chunk of its backfill that held it.
WITH firsts AS (
    SELECT c.backfill_state_id, min(c.chunk_number) AS chunk_number
    FROM backfill_chunks c, unnest(c.pr_numbers) AS pr
    WHERE c.status = 'completed'
    GROUP BY c.backfill_state_id, pr
), news AS (
    SELECT backfill_state_id, chunk_number, count(*) AS n FROM firsts GROUP BY backfill_state_id, chunk_number
)
UPDATE backfill_chunk_points p SET new_prs = coalesce(news.n, 0)
FROM backfill_chunks c
LEFT JOIN news ON news.backfill_state_id = c.backfill_state_id AND news.chunk_number = c.chunk_number
WHERE p.chunk_id = c.id AND p.new_prs IS NULL;
