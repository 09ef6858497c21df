-- Another repository's history, as an existing contributor-analytics
-- database holds it, written into the contract's tables before the tool is
-- pointed at the database: @PRS@ PRs, 4 reviews and 8 comments each (half
-- review comments, one in four of those a reply), by @PEOPLE@ people. The
-- comments are in prefill_comments.sql, written at the same time on a
-- connection of their own.
--
-- Ids are random-looking UUIDs (the md5 of the row's kind and number): they
-- land in the primary-key indexes in random order, as gen_random_uuid()'s
-- version-4 ids do, and a review or comment can name its PR's id without a
-- join. GitHub ids are far above the fake's, so nothing here meets the
-- repositories the bench backfills. The rows are consistent by construction,
-- so the foreign-key triggers are skipped for this session (as a restore
-- does); the constraints and indexes stay as they are.
SET session_replication_role = replica;

INSERT INTO repositories (id, github_id, owner, name, full_name, pull_request_count)
VALUES (md5('repository')::uuid, 99, 'prefill', 'other', 'prefill/other', @PRS@);

INSERT INTO contributors (id, github_id, username, display_name, avatar_url, is_bot, first_seen_at, last_updated_at)
SELECT md5('person' || k)::uuid, 30000000000 + k, 'prefill-person-' || k, 'Prefilled Person ' || k,
  'https://avatars.example.test/u/' || (30000000000 + k) || '?v=4', k % 50 = 0, now(), now()
FROM generate_series(1, @PEOPLE@) AS k;

INSERT INTO pull_requests (id, github_id, number, title, body, state, repository_id, author_id, base_branch,
  head_branch, draft, merged, merged_by_id, created_at, updated_at, merged_at, closed_at, additions, deletions,
  changed_files, commits, html_url)
SELECT md5('pr' || g)::uuid, 40000000000 + g, g, 'Prefilled pull request number ' || g,
  'What this change does and why. ' || repeat('A sentence of the description. ', 8),
  CASE WHEN g % 10 = 0 THEN 'open' ELSE 'closed' END, md5('repository')::uuid,
  md5('person' || (1 + g * 7 % @PEOPLE@))::uuid, 'main', 'topic-' || g, g % 50 = 0, g % 10 > 2,
  CASE WHEN g % 10 > 2 THEN md5('person' || (1 + g * 13 % @PEOPLE@))::uuid END,
  w.at, w.at + interval '2 days', CASE WHEN g % 10 > 2 THEN w.at + interval '2 days' END,
  CASE WHEN g % 10 > 0 THEN w.at + interval '2 days' END, g % 500, g % 200, 1 + g % 30, 1 + g % 12,
  'https://github.com/prefill/other/pull/' || g
FROM generate_series(1, @PRS@) AS g
CROSS JOIN LATERAL (SELECT timestamptz '2016-01-01' + g * interval '2 minutes') AS w(at);

INSERT INTO reviews (id, github_id, pull_request_id, reviewer_id, state, body, submitted_at, commit_id)
SELECT md5('review' || r)::uuid, 50000000000 + r, md5('pr' || ((r + 3) / 4))::uuid,
  md5('person' || (1 + r * 11 % @PEOPLE@))::uuid,
  (ARRAY['APPROVED', 'COMMENTED', 'CHANGES_REQUESTED', 'COMMENTED'])[1 + r % 4],
  CASE WHEN r % 3 = 0 THEN 'Looks good to me, one question inline.' ELSE '' END,
  timestamptz '2016-01-01' + ((r + 3) / 4) * interval '2 minutes' + (1 + r % 4) * interval '1 hour',
  md5('commit' || ((r + 3) / 4)) || '00000000'
FROM generate_series(1, 4 * @PRS@::bigint) AS r;

RESET session_replication_role;
