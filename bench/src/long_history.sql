-- One backfill with a long history: @CHUNKS@ chunk rows, one every 30
-- minutes up to now, each completed one with 50 PR numbers, one in a hundred
-- failed (no PRs, an error, and the next one a retry), and the points of each
-- beside it. Written before `backfill migrate` (with only the tables these
-- rows need), so that a migration filling a table of the tool's own from
-- existing rows sees them.
INSERT INTO repositories (id, github_id, owner, name, full_name, pull_request_count)
VALUES (md5('long history')::uuid, 98, 'history', 'long', 'history/long', @PRS@);

INSERT INTO progressive_backfill_state (id, repository_id, total_prs, processed_prs, last_processed_cursor,
  last_processed_pr_number, last_processed_at, status, chunk_size, error_count, created_at, updated_at)
VALUES (md5('long history state')::uuid, md5('long history')::uuid, @PRS@, @PRS@, 'Y3Vyc29y', @PRS@, now(),
  'active', 50, @FAILED@, now() - @CHUNKS@ * interval '30 minutes', now());

INSERT INTO backfill_chunks (id, repository_id, backfill_state_id, chunk_number, pr_numbers, status, processor_type,
  started_at, completed_at, error, retry_count, api_calls_made, rate_limit_remaining, created_at)
SELECT md5('chunk' || k)::uuid, md5('long history')::uuid, md5('long history state')::uuid, k,
  CASE WHEN x.failed THEN '{}'::int[] ELSE ARRAY(SELECT generate_series(x.done * 50 - 49, x.done * 50)) END,
  CASE WHEN x.failed THEN 'failed' ELSE 'completed' END, 'github_actions', x.at,
  x.at + (2 + k % 7) * interval '1 second', CASE WHEN x.failed THEN 'GitHub answered HTTP 502: Bad Gateway' END,
  CASE WHEN k % 100 = 51 THEN 1 ELSE 0 END, 1 + k % 3, 5000 - k % 4000, x.at
FROM generate_series(1, @CHUNKS@) AS k
-- Chunk 50 of every hundred fails; `done` counts the completed chunks up to k.
CROSS JOIN LATERAL (SELECT k % 100 = 50, k - (k + 50) / 100,
  now() - (@CHUNKS@ - k) * interval '30 minutes') AS x(failed, done, at);

INSERT INTO backfill_chunk_points (chunk_id, points)
SELECT id, 1 + chunk_number % 2 FROM backfill_chunks WHERE backfill_state_id = md5('long history state')::uuid;
