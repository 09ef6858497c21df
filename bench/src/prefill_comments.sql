-- The prefilled repository's comments (see prefill.sql), written beside the
-- rest on a connection of their own: 8 per PR, every other one a review
-- comment, every 8th a reply to the review comment two before it.
SET session_replication_role = replica;

INSERT INTO comments (id, github_id, pull_request_id, commenter_id, body, created_at, updated_at, comment_type,
  in_reply_to_id, position, original_position, diff_hunk, path, commit_id)
SELECT md5('comment' || c)::uuid, 60000000000 + c, md5('pr' || ((c + 7) / 8))::uuid,
  md5('person' || (1 + c * 17 % @PEOPLE@))::uuid,
  'A comment on the change, number ' || c || '. ' || repeat('Some words of it. ', 6), w.at, w.at,
  CASE WHEN w.review THEN 'review_comment' ELSE 'issue_comment' END,
  CASE WHEN c % 8 = 0 THEN md5('comment' || (c - 2))::uuid END,
  CASE WHEN w.review THEN (c % 40)::int END, CASE WHEN w.review THEN (c % 40)::int END,
  CASE WHEN w.review THEN '@@ -' || c % 500 || ',7 +' || c % 500 || ',8 @@ fn f() {' || E'\n-    old();\n+    new();' END,
  CASE WHEN w.review THEN 'src/module_' || c % 97 || '/file.rs' END,
  CASE WHEN w.review THEN md5('commit' || ((c + 7) / 8)) || '00000000' END
FROM generate_series(1, 8 * @PRS@::bigint) AS c
CROSS JOIN LATERAL (SELECT timestamptz '2016-01-01' + ((c + 7) / 8) * interval '2 minutes'
  + (c % 8) * interval '30 minutes', c % 2 = 0) AS w(at, review);

RESET session_replication_role;
