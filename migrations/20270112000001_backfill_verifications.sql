-- A table of the tool's own (the contract's tables stay exactly as they are).
--
-- What each `backfill verify`, and each window of the rolling audit
-- (`run --audit N`), found when it compared the copy with GitHub: how many
-- differences of each kind, and what its repair did. `history` lists them;
-- `status` and its page show each backfill's last full audit: the last
-- whole verify, or the last audit pass that reached the newest PR (its
-- windows share `pass_started_at`). The audit's next window begins after
-- the latest window's `end_cursor` (the PR numbered `last_pr`) until a
-- window ends its pass (`pass_done`). Goes with its backfill.
CREATE TABLE IF NOT EXISTS backfill_verifications (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    backfill_state_id uuid NOT NULL REFERENCES progressive_backfill_state (id) ON DELETE CASCADE,
    verified_at timestamptz NOT NULL DEFAULT now(),
    kind text NOT NULL CHECK (kind IN ('verify', 'audit')),
    pass_started_at timestamptz NOT NULL,
    first_pr integer,
    last_pr integer,
    end_cursor text,
    pass_done boolean NOT NULL,
    prs_checked integer NOT NULL,
    prs_missing integer NOT NULL DEFAULT 0,
    prs_stale integer NOT NULL DEFAULT 0,
    reviews_missing integer NOT NULL DEFAULT 0,
    reviews_extra integer NOT NULL DEFAULT 0,
    comments_missing integer NOT NULL DEFAULT 0,
    comments_extra integer NOT NULL DEFAULT 0,
    prs_gone integer NOT NULL DEFAULT 0,
    prs_refetched integer NOT NULL DEFAULT 0,
    prs_deleted integer NOT NULL DEFAULT 0,
    repaired boolean NOT NULL,
    points integer NOT NULL DEFAULT 0
);

-- A backfill's verifications newest first: where its audit goes on, its
-- last full audit, and its history.
CREATE INDEX IF NOT EXISTS backfill_verifications_newest_index
    ON backfill_verifications (backfill_state_id, verified_at DESC);
