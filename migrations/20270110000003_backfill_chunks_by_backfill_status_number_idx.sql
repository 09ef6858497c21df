-- no-transaction
-- An index of the tool's own, built without blocking writes (one statement
-- per file, as CONCURRENTLY requires).
--
-- A backfill's chunks of one status by number. Serves the latest failed
-- chunk (`store::chunks::last_failure`, for the alarm), `history --failed`
-- (`store::history::chunks`), and the last stored PR before a failed chunk
-- (`history`'s "after #N"): each one probe instead of a walk through the
-- backfill's rows. The contract's index on (backfill_state_id,
-- chunk_number) serves the newest chunks of every status.
--
-- An interrupted build leaves the index invalid, which IF NOT EXISTS would
-- keep: `backfill migrate` rebuilds an invalid one (`store::indexes`).
CREATE INDEX CONCURRENTLY IF NOT EXISTS backfill_chunks_by_backfill_status_number_idx
    ON backfill_chunks (backfill_state_id, status, chunk_number);
