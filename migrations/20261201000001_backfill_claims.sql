-- Claims: which run is working a backfill right now. A claim is a lease, not
-- a lock held by an open transaction: the run that holds it renews
-- `expires_at` while it waits on GitHub, and a run that dies stops renewing,
-- so the backfill is free again once the lease lapses. A table of the tool's
-- own (the contract's tables stay exactly as they are).

CREATE TABLE IF NOT EXISTS backfill_claims (
    backfill_state_id uuid PRIMARY KEY REFERENCES progressive_backfill_state (id) ON DELETE CASCADE,
    -- One id per `backfill run` process.
    holder uuid NOT NULL,
    -- Where that process runs (host and pid), for a person reading the table.
    holder_name text,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
