//! Changes to the world while clients read it, as a repository changes under
//! a tool keeping its copy current. Each one moves the PR's `updatedAt` to
//! the world's clock (`World::now`) and keeps the node index right, and each
//! refuses what GitHub would refuse (merging a closed PR, dismissing a
//! comment) with an error rather than a panic.
//!
//! `fake.with_world(|w| w.merge_pr("o", "n", 12))`, or a repository created
//! under its owner: `fake.with_world(|w| w.create_repository(&spec))`.

use chrono::{DateTime, Duration, Utc};

use crate::data::{self, Actor, ActorKind, PullRequest, RepoSpec, Rng};
use crate::ids::Ids;
use crate::world::World;

/// Why a change was not made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeError {
    /// No repository of that `owner/name` in the world.
    NoRepository(String),
    NoPullRequest {
        repository: String,
        number: i32,
    },
    /// The PR has no review or issue comment at that index.
    NoItem {
        number: i32,
        what: &'static str,
        index: usize,
    },
    /// GitHub would refuse it; the message says why.
    Refused(String),
}

impl std::fmt::Display for ChangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChangeError::NoRepository(r) => write!(f, "no repository {r}"),
            ChangeError::NoPullRequest { repository, number } => write!(f, "no PR #{number} in {repository}"),
            ChangeError::NoItem { number, what, index } => write!(f, "PR #{number} has no {what} at index {index}"),
            ChangeError::Refused(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ChangeError {}

/// What new content is made of: its time, fresh ids, and people to write it.
struct Making<'a> {
    now: DateTime<Utc>,
    rng: &'a mut Rng,
    ids: Ids,
    actors: &'a [Actor],
}

impl Making<'_> {
    /// A user drawn at random.
    fn user(&mut self) -> Option<usize> {
        let users: Vec<usize> = (0..self.actors.len()).filter(|&i| self.actors[i].kind == ActorKind::User).collect();
        users.get(self.rng.below(users.len() as u64) as usize).copied()
    }

    /// `author` if they can still act: deleted accounts and mannequins
    /// (imported history) write nothing new, so a user stands in.
    fn living(&mut self, author: Option<usize>) -> Option<usize> {
        match author.filter(|&i| self.actors.get(i).is_some_and(|a| a.kind != ActorKind::Mannequin)) {
            Some(a) => Some(a),
            None => self.user(),
        }
    }

    /// Submits a review with `comments` review comments now; its node id.
    fn review(&mut self, pr: &mut PullRequest, comments: usize) -> String {
        data::add_review(self.rng, &mut self.ids, self.actors, pr, comments);
        let (now, author) = (self.now, pr.reviews.last().and_then(|r| r.author));
        let author = self.living(author);
        let Some(r) = pr.reviews.last_mut() else { return String::new() };
        // Others see a review once submitted, and it is not dismissed yet.
        if matches!(r.state, "PENDING" | "DISMISSED") {
            r.state = "COMMENTED";
        }
        (r.author, r.created_at, r.submitted_at) = (author, now, Some(now));
        for c in &mut r.comments {
            (c.author, c.created_at, c.updated_at) = (author, now, now);
        }
        r.node_id.clone()
    }

    /// Writes an issue comment now; its node id.
    fn comment(&mut self, pr: &mut PullRequest) -> String {
        data::add_issue_comment(self.rng, &mut self.ids, self.actors, pr);
        let author = pr.comments.last().and_then(|c| c.author);
        let author = self.living(author);
        let Some(c) = pr.comments.last_mut() else { return String::new() };
        (c.author, c.created_at, c.updated_at) = (author, self.now, self.now);
        c.node_id.clone()
    }
}

impl World {
    /// The time of a change made now: the wall clock to the second (GitHub's
    /// timestamps have no fraction), but at least a second past every PR's
    /// `updatedAt` and the previous change. So a change is always newer than
    /// everything before it, even several within one second (the clock then
    /// runs a little ahead of the wall) or in a world whose dates run past
    /// today (the generated ones start in 2019, so usually it is just now).
    pub fn now(&mut self) -> DateTime<Utc> {
        let latest = self.repos.iter().flat_map(|r| &r.pull_requests).map(|p| p.updated_at).max();
        let floor = latest.map_or(self.clock, |l| l.max(self.clock));
        let floor = floor.checked_add_signed(Duration::seconds(1)).unwrap_or(floor);
        let wall = Utc::now();
        let wall = DateTime::from_timestamp(wall.timestamp(), 0).unwrap_or(wall);
        self.clock = wall.max(floor);
        self.clock
    }

    fn repo_index(&self, owner: &str, name: &str) -> Result<usize, ChangeError> {
        // Names are case-insensitive on GitHub, as `repository(...)` reads them.
        let same = |a: &str, b: &str| a.to_lowercase() == b.to_lowercase();
        self.repos
            .iter()
            .position(|r| same(&r.owner, owner) && same(&r.name, name))
            .ok_or_else(|| ChangeError::NoRepository(format!("{owner}/{name}")))
    }

    /// Makes one change to PR `number` at the world's clock: the PR's
    /// `updatedAt` moves there and the index follows. A refusing `change`
    /// must leave the PR as it was.
    fn change<T>(
        &mut self,
        (owner, name, number): (&str, &str, i32),
        change: impl FnOnce(&mut PullRequest, &mut Making) -> Result<T, ChangeError>,
    ) -> Result<T, ChangeError> {
        let ri = self.repo_index(owner, name)?;
        let Some(pi) = self.repos[ri].pull_requests.iter().position(|p| p.number == number) else {
            return Err(ChangeError::NoPullRequest { repository: format!("{owner}/{name}"), number });
        };
        let now = self.now();
        let mut making = Making { now, rng: &mut self.rng, ids: Ids::starting_at(self.last_id), actors: &self.actors };
        let pr = &mut self.repos[ri].pull_requests[pi];
        let out = change(pr, &mut making)?;
        pr.updated_at = now;
        self.last_id = making.ids.last();
        self.index_pr(ri, pi);
        Ok(out)
    }

    /// Merges an open, ready PR (state, `mergedAt`, `closedAt`, `mergedBy`);
    /// returns its new `updatedAt`.
    pub fn merge_pr(&mut self, owner: &str, name: &str, number: i32) -> Result<DateTime<Utc>, ChangeError> {
        self.change((owner, name, number), |pr, m| {
            if pr.state != "OPEN" || pr.draft {
                let what = if pr.draft { "a draft" } else { pr.state };
                return Err(ChangeError::Refused(format!("PR #{number} is {what}: only an open, ready PR merges")));
            }
            (pr.state, pr.merged_at, pr.closed_at, pr.merged_by) = ("MERGED", Some(m.now), Some(m.now), m.user());
            Ok(m.now)
        })
    }

    /// Closes an open PR unmerged; returns its new `updatedAt`.
    pub fn close_pr(&mut self, owner: &str, name: &str, number: i32) -> Result<DateTime<Utc>, ChangeError> {
        self.change((owner, name, number), |pr, m| {
            if pr.state != "OPEN" {
                return Err(ChangeError::Refused(format!("PR #{number} is {}: only an open PR closes", pr.state)));
            }
            (pr.state, pr.closed_at) = ("CLOSED", Some(m.now));
            Ok(m.now)
        })
    }

    /// Gives a PR a new title (GitHub refuses a blank one); returns its new
    /// `updatedAt`.
    pub fn retitle_pr(
        &mut self,
        owner: &str,
        name: &str,
        number: i32,
        title: &str,
    ) -> Result<DateTime<Utc>, ChangeError> {
        self.change((owner, name, number), |pr, m| {
            if title.trim().is_empty() {
                return Err(ChangeError::Refused("a PR's title can't be blank".into()));
            }
            pr.title = title.to_string();
            Ok(m.now)
        })
    }

    /// Submits a review with `comments` review comments; returns its node id.
    pub fn add_review(&mut self, owner: &str, name: &str, number: i32, comments: usize) -> Result<String, ChangeError> {
        self.change((owner, name, number), |pr, m| Ok(m.review(pr, comments)))
    }

    /// Writes an issue comment; returns its node id.
    pub fn add_issue_comment(&mut self, owner: &str, name: &str, number: i32) -> Result<String, ChangeError> {
        self.change((owner, name, number), |pr, m| Ok(m.comment(pr)))
    }

    /// Deletes the PR's `index`th issue comment: from then on its node id
    /// answers null (`NOT_FOUND`) like any unknown id. Returns that id.
    pub fn delete_issue_comment(
        &mut self,
        owner: &str,
        name: &str,
        number: i32,
        index: usize,
    ) -> Result<String, ChangeError> {
        let gone = self.change((owner, name, number), |pr, _| {
            let missing = ChangeError::NoItem { number, what: "issue comment", index };
            (index < pr.comments.len()).then(|| pr.comments.remove(index).node_id).ok_or(missing)
        })?;
        self.unindex(&gone);
        Ok(gone)
    }

    /// Deletes a PR, as GitHub removes spam: from then on it answers to no
    /// query (its node id, and those of its reviews and comments, answer
    /// null), `totalCount` drops, and the cursors of the PRs after it still
    /// name them (GitHub's carry the sort value, not a count).
    pub fn delete_pr(&mut self, owner: &str, name: &str, number: i32) -> Result<(), ChangeError> {
        let ri = self.repo_index(owner, name)?;
        let repo = &mut self.repos[ri];
        let Some(pi) = repo.pull_requests.iter().position(|p| p.number == number) else {
            return Err(ChangeError::NoPullRequest { repository: format!("{owner}/{name}"), number });
        };
        let slot = crate::paging::slots(repo.pull_requests.len(), &repo.removed)[pi];
        repo.pull_requests.remove(pi);
        let at = repo.removed.partition_point(|s| *s < slot);
        repo.removed.insert(at, slot);
        self.reindex();
        Ok(())
    }

    /// Dismisses the PR's `index`th review: it stays, as DISMISSED. GitHub
    /// dismisses approvals and change requests only. Returns its node id.
    pub fn dismiss_review(
        &mut self,
        owner: &str,
        name: &str,
        number: i32,
        index: usize,
    ) -> Result<String, ChangeError> {
        self.change((owner, name, number), |pr, _| {
            let review = pr.reviews.get_mut(index).ok_or(ChangeError::NoItem { number, what: "review", index })?;
            if !matches!(review.state, "APPROVED" | "CHANGES_REQUESTED") {
                let why = format!("review {index} of PR #{number} is {}: it cannot be dismissed", review.state);
                return Err(ChangeError::Refused(why));
            }
            review.state = "DISMISSED";
            Ok(review.node_id.clone())
        })
    }

    /// Opens a PR after every other (the next number, created now, so a
    /// `CREATED_AT ASC` cursor meets it last), ready to merge, with 1-3
    /// reviews and 1-3 issue comments. Returns its number.
    pub fn open_pr(&mut self, owner: &str, name: &str) -> Result<i32, ChangeError> {
        let ri = self.repo_index(owner, name)?;
        let top = self.repos[ri].pull_requests.iter().map(|p| p.number).max().unwrap_or(0);
        let number = top.checked_add(1).ok_or_else(|| ChangeError::Refused("no PR number left".into()))?;
        let now = self.now();
        let mut m = Making { now, rng: &mut self.rng, ids: Ids::starting_at(self.last_id), actors: &self.actors };
        let full_id = m.ids.take(m.rng);
        let mut pr = data::bare_pull_request(m.rng, m.actors, (full_id, number), ("OPEN", None), now);
        (pr.draft, pr.updated_at) = (false, now);
        pr.author = m.living(pr.author);
        for _ in 0..1 + m.rng.below(3) {
            let comments = if m.rng.chance(50) { 1 + m.rng.below(4) as usize } else { 0 };
            m.review(&mut pr, comments);
        }
        for _ in 0..1 + m.rng.below(3) {
            m.comment(&mut pr);
        }
        self.last_id = m.ids.last();
        self.repos[ri].pull_requests.push(pr);
        self.index_pr(ri, self.repos[ri].pull_requests.len() - 1);
        Ok(number)
    }

    /// Creates a repository as `spec` describes it, after every other of the
    /// world (so an owner's `CREATED_AT ASC` listing meets it last), created
    /// now unless `spec` says when. A name the owner has already is refused.
    pub fn create_repository(&mut self, spec: &RepoSpec) -> Result<(), ChangeError> {
        if self.repo_index(&spec.owner, &spec.name).is_ok() {
            return Err(ChangeError::Refused(format!("{}/{} exists already", spec.owner, spec.name)));
        }
        let created_at = match spec.created_at {
            Some(at) => at,
            None => self.now(),
        };
        let spec = RepoSpec { created_at: Some(created_at), ..spec.clone() };
        let repo = data::generate(&spec, &self.actors, self.repos.len());
        self.repos.push(repo);
        self.reindex();
        Ok(())
    }
}
