//! Pull requests as the store wants them, and the contract's mapping rules
//! from GitHub's shapes: ghosts for deleted accounts, `login[bot]` for bots,
//! 64-bit ids, NUL characters dropped and nothing else touched.

use chrono::{DateTime, Utc};

use super::error::GithubError;
use super::wire;

/// GitHub's stand-in for deleted accounts.
pub const GHOST_LOGIN: &str = "ghost";
pub const GHOST_ID: i64 = 10137;

#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub github_id: i64,
    pub login: String,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
    pub is_bot: bool,
}

impl Person {
    pub fn ghost() -> Person {
        Person {
            github_id: GHOST_ID,
            login: GHOST_LOGIN.to_string(),
            name: None,
            avatar_url: Some("https://avatars.githubusercontent.com/u/10137?v=4".to_string()),
            is_bot: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentKind {
    Issue,
    Review,
}

impl CommentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CommentKind::Issue => "issue_comment",
            CommentKind::Review => "review_comment",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Review {
    pub node_id: String,
    pub github_id: i64,
    pub reviewer: Person,
    pub state: String,
    pub body: String,
    pub submitted_at: DateTime<Utc>,
    pub commit_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub github_id: i64,
    pub kind: CommentKind,
    pub author: Person,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `github_id` of the review comment this one answers.
    pub reply_to: Option<i64>,
    pub position: Option<i32>,
    pub original_position: Option<i32>,
    pub diff_hunk: Option<String>,
    pub path: Option<String>,
    pub commit_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PullRequest {
    pub node_id: String,
    pub github_id: i64,
    pub number: i32,
    pub title: String,
    pub body: String,
    /// 'open' or 'closed'; a merged PR is closed with `merged` set.
    pub state: &'static str,
    pub merged: bool,
    pub draft: bool,
    pub author: Person,
    pub merged_by: Option<Person>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub merged_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub additions: i32,
    pub deletions: i32,
    pub changed_files: i32,
    pub commits: i32,
    pub base_branch: String,
    pub head_branch: String,
    pub html_url: String,
    pub reviews: Vec<Review>,
    /// Issue comments and review comments alike.
    pub comments: Vec<Comment>,
}

/// PostgreSQL text cannot hold NUL; everything else is kept byte for byte.
pub fn clean(s: String) -> String {
    if s.contains('\0') {
        s.replace('\0', "")
    } else {
        s
    }
}

fn id(full: Option<String>, what: &str, node: &str) -> Result<i64, GithubError> {
    full.as_deref()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| GithubError::Other(format!("{what} {node} came without a usable fullDatabaseId")))
}

pub fn person(actor: Option<wire::Actor>) -> Person {
    let Some(a) = actor else { return Person::ghost() };
    // An account type without a database id (an enterprise-managed user) cannot
    // be told apart from others, so it is recorded as GitHub shows the unknown.
    let Some(github_id) = a.database_id else { return Person::ghost() };
    let is_bot = a.typename == "Bot";
    Person {
        github_id,
        login: clean(if is_bot { format!("{}[bot]", a.login) } else { a.login }),
        name: a.name.map(clean),
        avatar_url: a.avatar_url.map(clean),
        is_bot,
    }
}

pub fn review(r: wire::Review) -> Result<Review, GithubError> {
    Ok(Review {
        github_id: id(r.full_database_id, "review", &r.id)?,
        node_id: r.id,
        reviewer: person(r.author),
        state: r.state,
        body: clean(r.body),
        submitted_at: r.submitted_at.unwrap_or(r.created_at),
        commit_id: r.commit.map(|c| c.oid),
    })
}

pub fn review_comment(c: wire::ReviewComment) -> Result<Comment, GithubError> {
    Ok(Comment {
        github_id: id(c.full_database_id, "review comment", &c.id)?,
        kind: CommentKind::Review,
        author: person(c.author),
        body: clean(c.body),
        created_at: c.created_at,
        updated_at: c.updated_at,
        reply_to: c.reply_to.and_then(|r| r.full_database_id).and_then(|s| s.parse().ok()),
        position: c.position,
        original_position: c.original_position,
        diff_hunk: Some(clean(c.diff_hunk)),
        path: Some(clean(c.path)),
        commit_id: c.commit.map(|c| c.oid),
    })
}

pub fn issue_comment(c: wire::IssueComment) -> Result<Comment, GithubError> {
    Ok(Comment {
        github_id: id(c.full_database_id, "comment", &c.id)?,
        kind: CommentKind::Issue,
        author: person(c.author),
        body: clean(c.body),
        created_at: c.created_at,
        updated_at: c.updated_at,
        reply_to: None,
        position: None,
        original_position: None,
        diff_hunk: None,
        path: None,
        commit_id: None,
    })
}

/// The PR's own fields; reviews and comments are added as they arrive.
pub fn pull_request(p: &mut wire::PullRequest) -> Result<PullRequest, GithubError> {
    let take = std::mem::take;
    Ok(PullRequest {
        github_id: id(p.full_database_id.take(), "pull request", &p.id)?,
        node_id: p.id.clone(),
        number: p.number,
        title: clean(take(&mut p.title)),
        body: clean(take(&mut p.body)),
        state: if p.state == "OPEN" { "open" } else { "closed" },
        merged: p.merged || p.state == "MERGED",
        draft: p.is_draft,
        author: person(p.author.take()),
        merged_by: p.merged_by.take().map(|a| person(Some(a))),
        created_at: p.created_at,
        updated_at: p.updated_at,
        merged_at: p.merged_at,
        closed_at: p.closed_at,
        additions: p.additions,
        deletions: p.deletions,
        changed_files: p.changed_files,
        commits: p.commits.total_count as i32,
        base_branch: clean(take(&mut p.base_ref_name)),
        head_branch: clean(take(&mut p.head_ref_name)),
        html_url: take(&mut p.url),
        reviews: Vec::new(),
        comments: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(typename: &str, login: &str, id: Option<i64>) -> wire::Actor {
        wire::Actor { typename: typename.into(), login: login.into(), avatar_url: None, database_id: id, name: None }
    }

    #[test]
    fn people_follow_the_contract() {
        let cases = [
            (None, GHOST_LOGIN, GHOST_ID, false),
            (Some(actor("User", "octocat", Some(583231))), "octocat", 583231, false),
            (Some(actor("Bot", "dependabot", Some(49699333))), "dependabot[bot]", 49699333, true),
            (Some(actor("Mannequin", "old-import", Some(7))), "old-import", 7, false),
            (Some(actor("EnterpriseUserAccount", "emu_1", None)), GHOST_LOGIN, GHOST_ID, false),
        ];
        for (input, login, github_id, is_bot) in cases {
            let p = person(input);
            assert_eq!((p.login.as_str(), p.github_id, p.is_bot), (login, github_id, is_bot));
        }
    }

    #[test]
    fn clean_drops_nul_and_nothing_else() {
        let cases = [
            ("plain", "plain"),
            ("a\0b\0", "ab"),
            ("'; DROP TABLE x; -- \"q\" 🚀 \\N \t\r\n", "'; DROP TABLE x; -- \"q\" 🚀 \\N \t\r\n"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(clean(input.to_string()), want);
        }
    }
}
