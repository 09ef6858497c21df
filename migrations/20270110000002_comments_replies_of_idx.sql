-- no-transaction
-- An index of the tool's own, built without blocking writes (CONCURRENTLY
-- cannot run in a transaction, nor beside another statement: one per file).
--
-- The replies to a comment. Serves, when a refreshed PR lost comments
-- (`store::refresh::delete_vanished`): `UPDATE comments SET in_reply_to_id =
-- NULL WHERE in_reply_to_id IN (...)`, and the foreign-key check of the
-- `DELETE FROM comments` after it (no reply may point at a deleted comment).
-- Without it both read all of `comments`. Partial: most comments reply to
-- none, and both statements look for one that does.
--
-- An interrupted build leaves the index invalid, which IF NOT EXISTS would
-- keep: `backfill migrate` rebuilds an invalid one (`store::indexes`).
CREATE INDEX CONCURRENTLY IF NOT EXISTS comments_replies_of_idx ON comments (in_reply_to_id)
    WHERE in_reply_to_id IS NOT NULL;
