//! The fake's whole state: the data it serves and the knobs tests turn
//! (token, rate-limit budget, latency, injected faults), plus a log of what
//! every request cost.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::data::{self, Actor, IssueComment, PullRequest, RepoSpec, Repository, Review, ReviewComment};

pub enum NodeRef<'w> {
    Repo(&'w Repository),
    Pr(&'w PullRequest),
    Review(&'w Review),
    ReviewComment(&'w ReviewComment, &'w Review),
    IssueComment(&'w IssueComment),
}

#[derive(Clone, Copy)]
enum Loc {
    Repo(usize),
    Pr(usize, usize),
    Review(usize, usize, usize),
    ReviewComment(usize, usize, usize, usize),
    IssueComment(usize, usize, usize),
}

pub struct World {
    pub actors: Vec<Actor>,
    pub repos: Vec<Repository>,
    index: HashMap<String, Loc>,
}

impl World {
    pub fn new(specs: &[RepoSpec]) -> World {
        let actors = data::actors();
        let repos = specs.iter().enumerate().map(|(i, s)| data::generate(s, &actors, i)).collect();
        let mut world = World { actors, repos, index: HashMap::new() };
        world.reindex();
        world
    }

    /// Rebuilds the node-id index; call after changing `repos`.
    pub fn reindex(&mut self) {
        self.index.clear();
        for (ri, repo) in self.repos.iter().enumerate() {
            self.index.insert(repo.node_id.clone(), Loc::Repo(ri));
            for (pi, pr) in repo.pull_requests.iter().enumerate() {
                self.index.insert(pr.node_id.clone(), Loc::Pr(ri, pi));
                for (vi, review) in pr.reviews.iter().enumerate() {
                    self.index.insert(review.node_id.clone(), Loc::Review(ri, pi, vi));
                    for (ci, c) in review.comments.iter().enumerate() {
                        self.index.insert(c.node_id.clone(), Loc::ReviewComment(ri, pi, vi, ci));
                    }
                }
                for (ci, c) in pr.comments.iter().enumerate() {
                    self.index.insert(c.node_id.clone(), Loc::IssueComment(ri, pi, ci));
                }
            }
        }
    }

    pub fn repo(&self, owner: &str, name: &str) -> Option<&Repository> {
        self.repos.iter().find(|r| r.owner == owner && r.name == name)
    }

    pub fn node(&self, id: &str) -> Option<NodeRef<'_>> {
        let r = &self.repos;
        Some(match *self.index.get(id)? {
            Loc::Repo(a) => NodeRef::Repo(&r[a]),
            Loc::Pr(a, b) => NodeRef::Pr(&r[a].pull_requests[b]),
            Loc::Review(a, b, c) => NodeRef::Review(&r[a].pull_requests[b].reviews[c]),
            Loc::ReviewComment(a, b, c, d) => {
                let review = &r[a].pull_requests[b].reviews[c];
                NodeRef::ReviewComment(&review.comments[d], review)
            }
            Loc::IssueComment(a, b, c) => NodeRef::IssueComment(&r[a].pull_requests[b].comments[c]),
        })
    }
}

/// A misbehaviour to serve instead of (or on top of) a normal answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// HTTP 502 with GitHub's JSON "Something went wrong" body.
    BadGateway,
    /// HTTP 502 with a bare HTML page, as a load balancer sends it.
    BadGatewayHtml,
    /// HTTP 504.
    GatewayTimeout,
    /// HTTP 403 "secondary rate limit", with `retry-after` when given.
    SecondaryLimit { retry_after: Option<u64> },
    /// The normal answer cut off half way.
    Truncated,
    /// HTTP 401 "Bad credentials".
    Unauthorized,
}

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct RequestRecord {
    pub at: DateTime<Utc>,
    pub operation: Option<String>,
    pub status: u16,
    /// Points charged (0 when nothing was executed).
    pub cost: i64,
    pub requests: u64,
    pub nodes: u64,
    pub fault: Option<Fault>,
}

/// The primary rate-limit window.
pub struct Budget {
    pub limit: i64,
    pub remaining: i64,
    pub window: Duration,
    pub reset_at: DateTime<Utc>,
}

impl Budget {
    pub fn new(limit: i64, window: Duration) -> Budget {
        Budget { limit, remaining: limit, window, reset_at: Utc::now() + window }
    }

    /// Starts a fresh window once the old one has passed.
    pub fn refresh(&mut self, now: DateTime<Utc>) {
        if now >= self.reset_at {
            self.remaining = self.limit;
            self.reset_at = now + self.window;
        }
    }
}

pub struct Control {
    /// The token requests must carry; `None` accepts any.
    pub token: Option<String>,
    pub budget: Budget,
    pub latency: Duration,
    pub faults: VecDeque<Fault>,
    pub log: Vec<RequestRecord>,
}

impl Default for Control {
    fn default() -> Control {
        Control {
            token: None,
            budget: Budget::new(5_000, Duration::from_secs(3_600)),
            latency: Duration::ZERO,
            faults: VecDeque::new(),
            log: Vec::new(),
        }
    }
}
