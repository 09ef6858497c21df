//! The fields of the objects a PR holds, as GitHub spells them.

use graphql_parser::query::Field;
use serde_json::{json, Value};

use crate::data::{IssueComment, PullRequest, Review, ReviewComment};
use crate::exec::{Exec, Obj};
use crate::paging::Order;

impl<'w> Exec<'w> {
    pub(crate) fn review_field(&mut self, r: &'w Review, f: &'w Field<'w, String>, path: &[Value]) -> Value {
        match f.name.as_str() {
            "id" => json!(r.node_id),
            "fullDatabaseId" => json!(r.full_id.to_string()),
            "author" => self.sub(self.actor(r.author), f, path),
            "state" => json!(r.state),
            "body" => json!(r.body),
            "submittedAt" => json!(r.submitted_at.map(|t| t.to_rfc3339())),
            "createdAt" => json!(r.created_at.to_rfc3339()),
            "commit" => self.sub(r.commit_oid.as_deref().map(Obj::Commit), f, path),
            "comments" => {
                let items = r.comments.iter().map(|c| Obj::ReviewComment(c, r)).collect();
                self.connection(items, Order::Listed { descending: false }, false, f, path)
            }
            _ => Value::Null,
        }
    }

    pub(crate) fn review_comment_field(
        &mut self,
        c: &'w ReviewComment,
        review: &'w Review,
        f: &'w Field<'w, String>,
        path: &[Value],
    ) -> Value {
        match f.name.as_str() {
            "id" => json!(c.node_id),
            "fullDatabaseId" => json!(c.full_id.to_string()),
            "author" => self.sub(self.actor(c.author), f, path),
            "body" => json!(c.body),
            "createdAt" => json!(c.created_at.to_rfc3339()),
            "updatedAt" => json!(c.updated_at.to_rfc3339()),
            "path" => json!(c.path),
            "position" => json!(c.position),
            "originalPosition" => json!(c.original_position),
            "diffHunk" => json!(c.diff_hunk),
            "commit" => self.sub(Some(Obj::Commit(&c.commit_oid)), f, path),
            "replyTo" => {
                let target = c.reply_to.and_then(|id| review.comments.iter().find(|o| o.full_id == id));
                self.sub(target.map(|t| Obj::ReviewComment(t, review)), f, path)
            }
            _ => Value::Null,
        }
    }

    pub(crate) fn issue_comment_field(
        &mut self,
        c: &'w IssueComment,
        f: &'w Field<'w, String>,
        path: &[Value],
    ) -> Value {
        match f.name.as_str() {
            "id" => json!(c.node_id),
            "fullDatabaseId" => json!(c.full_id.to_string()),
            "author" => self.sub(self.actor(c.author), f, path),
            "body" => json!(c.body),
            "createdAt" => json!(c.created_at.to_rfc3339()),
            "updatedAt" => json!(c.updated_at.to_rfc3339()),
            _ => Value::Null,
        }
    }

    pub(crate) fn pr_field(&mut self, p: &'w PullRequest, f: &'w Field<'w, String>, path: &[Value]) -> Value {
        match f.name.as_str() {
            "id" => json!(p.node_id),
            "fullDatabaseId" => json!(p.full_id.to_string()),
            "number" => json!(p.number),
            "title" => json!(p.title),
            "body" => json!(p.body),
            "state" => json!(p.state),
            "isDraft" => json!(p.draft),
            "merged" => json!(p.state == "MERGED"),
            "author" => self.sub(self.actor(p.author), f, path),
            "mergedBy" => self.sub(self.actor(p.merged_by), f, path),
            "createdAt" => json!(p.created_at.to_rfc3339()),
            "updatedAt" => json!(p.updated_at.to_rfc3339()),
            "mergedAt" => json!(p.merged_at.map(|t| t.to_rfc3339())),
            "closedAt" => json!(p.closed_at.map(|t| t.to_rfc3339())),
            "additions" => json!(p.additions),
            "deletions" => json!(p.deletions),
            "changedFiles" => json!(p.changed_files),
            "baseRefName" => json!(p.base_ref),
            "headRefName" => json!(p.head_ref),
            "url" => json!(format!("https://github.com/pr/{}", p.number)),
            "commits" => json!({ "totalCount": p.commits }),
            "reviews" => {
                let items = p.reviews.iter().map(Obj::Review).collect();
                self.connection(items, Order::Listed { descending: false }, false, f, path)
            }
            "comments" => {
                let items = p.comments.iter().map(Obj::IssueComment).collect();
                self.connection(items, Order::Listed { descending: false }, false, f, path)
            }
            _ => Value::Null,
        }
    }
}
