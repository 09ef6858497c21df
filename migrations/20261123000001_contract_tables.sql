-- The tables of the backfill contract (section 4), exactly as an existing
-- contributor-analytics database has them, so `backfill` can be pointed at one.
-- IF NOT EXISTS everywhere: on such a database this migration changes nothing.

CREATE TABLE IF NOT EXISTS repositories (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    github_id bigint UNIQUE NOT NULL,
    owner text,
    name text,
    full_name text UNIQUE,
    pull_request_count integer,
    first_tracked_at timestamptz DEFAULT now(),
    last_updated_at timestamptz DEFAULT now(),
    UNIQUE (owner, name)
);

CREATE TABLE IF NOT EXISTS contributors (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    github_id bigint UNIQUE NOT NULL,
    username text UNIQUE NOT NULL,
    display_name text,
    avatar_url text,
    is_bot boolean DEFAULT false,
    first_seen_at timestamptz DEFAULT now(),
    last_updated_at timestamptz DEFAULT now()
);

CREATE TABLE IF NOT EXISTS pull_requests (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    github_id bigint UNIQUE NOT NULL,
    number integer,
    title text NOT NULL,
    body text,
    state text CHECK (state IN ('open', 'closed')),
    repository_id uuid REFERENCES repositories(id) ON DELETE CASCADE,
    author_id uuid NOT NULL REFERENCES contributors(id),
    base_branch text,
    head_branch text,
    draft boolean DEFAULT false,
    merged boolean DEFAULT false,
    merged_by_id uuid REFERENCES contributors(id),
    created_at timestamptz,
    updated_at timestamptz,
    merged_at timestamptz,
    closed_at timestamptz,
    additions integer DEFAULT 0,
    deletions integer DEFAULT 0,
    changed_files integer DEFAULT 0,
    commits integer DEFAULT 0,
    html_url text,
    UNIQUE (repository_id, number)
);

CREATE TABLE IF NOT EXISTS reviews (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    github_id bigint UNIQUE NOT NULL,
    pull_request_id uuid REFERENCES pull_requests(id) ON DELETE CASCADE,
    reviewer_id uuid NOT NULL REFERENCES contributors(id),
    state text CHECK (state IN ('PENDING', 'APPROVED', 'CHANGES_REQUESTED', 'COMMENTED', 'DISMISSED')),
    body text,
    submitted_at timestamptz NOT NULL,
    commit_id text
);

CREATE TABLE IF NOT EXISTS comments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    github_id bigint UNIQUE NOT NULL,
    pull_request_id uuid REFERENCES pull_requests(id) ON DELETE CASCADE,
    commenter_id uuid NOT NULL REFERENCES contributors(id),
    body text NOT NULL,
    created_at timestamptz,
    updated_at timestamptz,
    comment_type text CHECK (comment_type IN ('issue_comment', 'review_comment')),
    in_reply_to_id uuid REFERENCES comments(id),
    position integer,
    original_position integer,
    diff_hunk text,
    path text,
    commit_id text
);

CREATE TABLE IF NOT EXISTS progressive_backfill_state (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    repository_id uuid UNIQUE REFERENCES repositories(id) ON DELETE CASCADE,
    total_prs integer NOT NULL,
    processed_prs integer DEFAULT 0,
    last_processed_cursor text,
    last_processed_pr_number integer,
    last_processed_at timestamptz,
    status varchar(20) DEFAULT 'active' CHECK (status IN ('active', 'paused', 'completed', 'failed')),
    chunk_size integer DEFAULT 25,
    error_count integer DEFAULT 0,
    consecutive_errors integer DEFAULT 0,
    last_error text,
    last_error_at timestamptz,
    metadata jsonb DEFAULT '{}'::jsonb,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now()
);

CREATE TABLE IF NOT EXISTS backfill_chunks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    repository_id uuid REFERENCES repositories(id) ON DELETE CASCADE,
    backfill_state_id uuid REFERENCES progressive_backfill_state(id) ON DELETE CASCADE,
    chunk_number integer,
    pr_numbers integer[],
    pr_count integer GENERATED ALWAYS AS (array_length(pr_numbers, 1)) STORED,
    status varchar(20) DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'skipped')),
    processor_type varchar(20) DEFAULT 'github_actions',
    started_at timestamptz,
    completed_at timestamptz,
    processing_time_ms integer GENERATED ALWAYS AS (
        CASE WHEN completed_at IS NOT NULL AND started_at IS NOT NULL
             THEN (EXTRACT(EPOCH FROM (completed_at - started_at)) * 1000)::integer
        END
    ) STORED,
    error text,
    retry_count integer DEFAULT 0,
    api_calls_made integer DEFAULT 0,
    rate_limit_remaining integer,
    created_at timestamptz DEFAULT now(),
    UNIQUE (backfill_state_id, chunk_number)
);

CREATE INDEX IF NOT EXISTS idx_pull_requests_repository ON pull_requests (repository_id);
CREATE INDEX IF NOT EXISTS idx_pull_requests_author ON pull_requests (author_id);
CREATE INDEX IF NOT EXISTS idx_reviews_pull_request ON reviews (pull_request_id);
CREATE INDEX IF NOT EXISTS idx_reviews_reviewer ON reviews (reviewer_id);
CREATE INDEX IF NOT EXISTS idx_comments_pull_request ON comments (pull_request_id);
CREATE INDEX IF NOT EXISTS idx_comments_commenter ON comments (commenter_id);
CREATE INDEX IF NOT EXISTS idx_backfill_state_status ON progressive_backfill_state (status);
CREATE INDEX IF NOT EXISTS idx_backfill_chunks_state ON backfill_chunks (backfill_state_id, chunk_number);
