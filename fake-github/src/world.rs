//! The fake's whole state: the data it serves and the knobs tests turn
//! (token, rate-limit budget, latency, injected faults), plus a log of what
//! every request cost.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::data::{self, Actor, IssueComment, PullRequest, RepoSpec, Repository, Review, ReviewComment, Rng};
pub use crate::faults::{Chaos, Fault};
use crate::limits::{PointsWindow, SecondaryPoints};

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
    /// The highest database id ever seen: new objects take ids above it, so
    /// none repeats one in use or deleted (GitHub never reuses ids).
    pub(crate) last_id: i64,
    /// The time of the latest change (`World::now`).
    pub(crate) clock: DateTime<Utc>,
    /// Draws the content of changes, so a run of changes can be replayed.
    pub(crate) rng: Rng,
}

impl World {
    pub fn new(specs: &[RepoSpec]) -> World {
        let actors = data::actors();
        let repos = specs.iter().enumerate().map(|(i, s)| data::generate(s, &actors, i)).collect();
        let seed = specs.first().map_or(0, |s| s.seed);
        let mut world = World {
            actors,
            repos,
            index: HashMap::new(),
            last_id: 0,
            clock: DateTime::<Utc>::MIN_UTC,
            rng: Rng::new(seed ^ 0xc4a9_6e5d),
        };
        world.reindex();
        world
    }

    /// Rebuilds the node-id index; call after changing `repos` by hand (the
    /// changes of `crate::changes` keep it right themselves).
    pub fn reindex(&mut self) {
        self.index.clear();
        for ri in 0..self.repos.len() {
            self.index.insert(self.repos[ri].node_id.clone(), Loc::Repo(ri));
            for pi in 0..self.repos[ri].pull_requests.len() {
                self.index_pr(ri, pi);
            }
        }
    }

    /// Indexes one PR and everything in it at their current places, and
    /// keeps new ids above theirs.
    pub(crate) fn index_pr(&mut self, ri: usize, pi: usize) {
        let Some(pr) = self.repos.get(ri).and_then(|r| r.pull_requests.get(pi)) else { return };
        let index = &mut self.index;
        let mut top = pr.full_id;
        index.insert(pr.node_id.clone(), Loc::Pr(ri, pi));
        for (vi, review) in pr.reviews.iter().enumerate() {
            index.insert(review.node_id.clone(), Loc::Review(ri, pi, vi));
            top = top.max(review.full_id);
            for (ci, c) in review.comments.iter().enumerate() {
                index.insert(c.node_id.clone(), Loc::ReviewComment(ri, pi, vi, ci));
                top = top.max(c.full_id);
            }
        }
        for (ci, c) in pr.comments.iter().enumerate() {
            index.insert(c.node_id.clone(), Loc::IssueComment(ri, pi, ci));
            top = top.max(c.full_id);
        }
        self.last_id = self.last_id.max(top);
    }

    /// Forgets a node that is gone, so `node`/`nodes` answer null for it.
    pub(crate) fn unindex(&mut self, node_id: &str) {
        self.index.remove(node_id);
    }

    pub fn repo(&self, owner: &str, name: &str) -> Option<&Repository> {
        self.repos.iter().find(|r| r.owner == owner && r.name == name)
    }

    /// The login owning the repository a node belongs to.
    pub fn owner_of(&self, id: &str) -> Option<&str> {
        let repo = match *self.index.get(id)? {
            Loc::Repo(a)
            | Loc::Pr(a, _)
            | Loc::Review(a, ..)
            | Loc::ReviewComment(a, ..)
            | Loc::IssueComment(a, ..) => a,
        };
        self.repos.get(repo).map(|r| r.owner.as_str())
    }

    pub fn node(&self, id: &str) -> Option<NodeRef<'_>> {
        // An index left stale by a hand-made change answers null, not a panic.
        let pr = |a: usize, b: usize| self.repos.get(a)?.pull_requests.get(b);
        Some(match *self.index.get(id)? {
            Loc::Repo(a) => NodeRef::Repo(self.repos.get(a)?),
            Loc::Pr(a, b) => NodeRef::Pr(pr(a, b)?),
            Loc::Review(a, b, c) => NodeRef::Review(pr(a, b)?.reviews.get(c)?),
            Loc::ReviewComment(a, b, c, d) => {
                let review = pr(a, b)?.reviews.get(c)?;
                NodeRef::ReviewComment(review.comments.get(d)?, review)
            }
            Loc::IssueComment(a, b, c) => NodeRef::IssueComment(pr(a, b)?.comments.get(c)?),
        })
    }
}

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct RequestRecord {
    /// When the request arrived.
    pub received: DateTime<Utc>,
    /// When the answer went out.
    pub at: DateTime<Utc>,
    pub operation: Option<String>,
    pub status: u16,
    /// Points charged (0 when nothing was executed).
    pub cost: i64,
    pub requests: u64,
    pub nodes: u64,
    pub fault: Option<Fault>,
    /// Refused for the primary rate limit (`RATE_LIMITED`).
    pub rate_limited: bool,
    /// The account whose budget it spent (`Control::account_of`; none: the default).
    pub account: Option<String>,
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
        Budget { limit, remaining: limit, window, reset_at: whole_second_after(Utc::now() + window) }
    }

    /// Starts a fresh window once the old one has passed.
    pub fn refresh(&mut self, now: DateTime<Utc>) {
        if now >= self.reset_at {
            self.remaining = self.limit;
            self.reset_at = whole_second_after(now + self.window);
        }
    }
}

/// GitHub states resets in whole seconds (`x-ratelimit-reset` is epoch
/// seconds), and the budget really is back at that second.
fn whole_second_after(t: DateTime<Utc>) -> DateTime<Utc> {
    let secs = t.timestamp() + i64::from(t.timestamp_subsec_nanos() > 0);
    DateTime::from_timestamp(secs, 0).unwrap_or(t)
}

/// How `nodes(ids: [...])` counts in the cost formula. GitHub documents the
/// formula for connections only; both readings are served so a client can be
/// measured against the dearer one and the cheaper one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CostReading {
    /// The list is the parent: a connection nested under it needs one request
    /// per id, as the formula's "each parent full" says.
    #[default]
    PerId,
    /// The list multiplies nodes only: a nested connection is one request
    /// whatever the number of ids (the fake's reading before `PerId`).
    PerList,
}

impl std::str::FromStr for CostReading {
    type Err = String;

    fn from_str(s: &str) -> Result<CostReading, String> {
        match s {
            "per-id" => Ok(CostReading::PerId),
            "per-list" => Ok(CostReading::PerList),
            _ => Err(format!("'{s}' is not a cost reading (per-id or per-list)")),
        }
    }
}

pub struct Control {
    /// The token requests must carry; `None` accepts any, or, once an App
    /// is set, only the App's installation tokens.
    pub token: Option<String>,
    /// The budget of the default account: the wanted token's, and any token's
    /// when none is wanted.
    pub budget: Budget,
    /// More tokens let in (a pool), each of an account: tokens of one
    /// account share its budget, as GitHub's do.
    pub tokens: HashMap<String, String>,
    /// The budgets of accounts other than the default (an App installation's
    /// is `installation {id}`); one used first gets `account_budget`.
    pub accounts: HashMap<String, Budget>,
    pub account_budget: Budget,
    pub latency: Duration,
    /// How long a query that times out runs before its 502 (GitHub: about
    /// 10 s); zero answers at once.
    pub timeout_delay: Duration,
    pub faults: VecDeque<Fault>,
    pub chaos: Chaos,
    /// How `nodes(ids:)` is charged.
    pub cost_reading: CostReading,
    /// GitHub applies `orderBy: UPDATED_AT` only loosely: PRs whose
    /// `updatedAt` fall in the same stretch of this length (from the epoch)
    /// come by number, not by time. On by default (two minutes) so a client
    /// meets the looseness unless a test asks for `None`, a strict order.
    pub updated_order_slack: Option<chrono::Duration>,
    pub log: Vec<RequestRecord>,
    /// Issues opened through the REST API.
    pub issues: Vec<crate::rest::Issue>,
    /// A GitHub App whose installation tokens the fake sells.
    pub app: Option<crate::rest::FakeApp>,
    /// Every installation token sold, oldest first.
    pub app_tokens: Vec<crate::rest::IssuedToken>,
    /// Requests being answered now, and the most there ever were at once.
    pub in_flight: u32,
    pub max_in_flight: u32,
    /// GitHub's points-per-minute secondary limit, shared by every client:
    /// 1 point a query, whatever its cost (`limits`).
    pub secondary_points: Option<SecondaryPoints>,
    /// Requests arriving while more than this many are in flight are refused
    /// with a secondary limit (GitHub allows 100).
    pub max_concurrent: Option<u32>,
    pub(crate) points_window: PointsWindow,
    /// A `Fault::EarlyEnd` waiting for a page of PRs with more after it.
    pub(crate) early_end_armed: bool,
    seen: u64,
    rng: Option<(u64, Rng)>,
}

impl Control {
    /// The account a token spends: its installation's, a pool token's own,
    /// or (none) the default.
    pub fn account_of(&self, token: Option<&str>) -> Option<String> {
        let token = token?;
        if let Some(sold) = self.app_tokens.iter().find(|t| t.token == token) {
            // The installation on every owner spends the default budget.
            return Some(sold.account.clone()).filter(|a| !a.is_empty());
        }
        self.tokens.get(token).cloned()
    }

    /// The one owner a token can see, for an App installation on one owner:
    /// its token answers nothing of another owner's repositories, as
    /// GitHub's does not. `None`: every owner.
    pub fn reach_of(&self, token: Option<&str>) -> Option<String> {
        let token = token?;
        let sold = self.app_tokens.iter().find(|t| t.token == token)?;
        let app = self.app.as_ref()?;
        app.installations.iter().find(|(id, _)| sold.account == format!("installation {id}")).map(|(_, o)| o.clone())
    }

    /// The budget a request with `token` spends, its window refreshed at `now`.
    pub fn budget_of(&mut self, token: Option<&str>, now: DateTime<Utc>) -> &mut Budget {
        let budget = match self.account_of(token) {
            Some(account) => {
                let fresh = Budget::new(self.account_budget.limit, self.account_budget.window);
                self.accounts.entry(account).or_insert(fresh)
            }
            None => &mut self.budget,
        };
        budget.refresh(now);
        budget
    }

    /// Whether a request with `token` is let in at `now`: a live
    /// installation token of the App, or the token the fake wants.
    pub fn accepts(&self, token: Option<&str>, now: chrono::DateTime<chrono::Utc>) -> bool {
        if let Some(sold) = self.app_tokens.iter().find(|t| Some(t.token.as_str()) == token) {
            return now < sold.dies_at;
        }
        if token.is_some_and(|t| self.tokens.contains_key(t)) {
            return true;
        }
        match &self.token {
            Some(wanted) => token == Some(wanted.as_str()),
            None => self.app.is_none(),
        }
    }

    /// The fault for the request that just arrived: a queued one first, then
    /// the rhythm, then chance. An early end is not answered here: it waits
    /// (`early_end_armed`) for a page it can cut short.
    pub fn next_fault(&mut self) -> Option<Fault> {
        self.seen += 1;
        let fault = self.draw_fault();
        if fault == Some(Fault::EarlyEnd) {
            self.early_end_armed = true;
            return None;
        }
        fault
    }

    fn draw_fault(&mut self) -> Option<Fault> {
        if let Some(f) = self.faults.pop_front() {
            return Some(f);
        }
        let chaos = self.chaos.clone();
        if chaos.secondary_every.is_some_and(|n| n > 0 && self.seen.is_multiple_of(n)) {
            return Some(Fault::SecondaryLimit { retry_after: chaos.secondary_retry_after });
        }
        // A seed set after the first request (a test's `add` looks the
        // repository up first) still takes effect.
        if self.rng.as_ref().is_none_or(|(seed, _)| *seed != chaos.seed) {
            self.rng = Some((chaos.seed, Rng::new(chaos.seed)));
        }
        let (_, rng) = self.rng.as_mut()?;
        let roll = rng.below(100);
        if roll < chaos.bad_gateway_percent {
            // Drawn as `chance(100 - html)` so that a seed replays as before the knob.
            let json = rng.chance(100u64.saturating_sub(chaos.html_percent));
            return Some(if json { Fault::BadGateway } else { Fault::BadGatewayHtml });
        }
        let truncated = chaos.bad_gateway_percent + chaos.truncated_percent;
        if roll < truncated {
            return Some(Fault::Truncated);
        }
        let partial = truncated + chaos.partial_percent;
        if roll < partial {
            return Some(Fault::Partial { path: Vec::new() });
        }
        (roll < partial + chaos.early_end_percent).then_some(Fault::EarlyEnd)
    }

    /// A draw from the same seeded sequence as the faults.
    pub(crate) fn draw(&mut self) -> u64 {
        let seed = self.chaos.seed;
        self.rng.get_or_insert_with(|| (seed, Rng::new(seed))).1.next_u64()
    }
}

impl Default for Control {
    fn default() -> Control {
        Control {
            token: None,
            app_tokens: Vec::new(),
            budget: Budget::new(5_000, Duration::from_secs(3_600)),
            tokens: HashMap::new(),
            accounts: HashMap::new(),
            account_budget: Budget::new(5_000, Duration::from_secs(3_600)),
            latency: Duration::ZERO,
            timeout_delay: Duration::ZERO,
            faults: VecDeque::new(),
            chaos: Chaos::default(),
            cost_reading: CostReading::default(),
            updated_order_slack: Some(chrono::Duration::minutes(2)),
            log: Vec::new(),
            issues: Vec::new(),
            app: None,
            in_flight: 0,
            max_in_flight: 0,
            secondary_points: None,
            max_concurrent: None,
            points_window: PointsWindow::default(),
            early_end_armed: false,
            seen: 0,
            rng: None,
        }
    }
}
