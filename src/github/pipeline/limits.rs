//! What a pipeline learns, request by request, about how large a request
//! GitHub answers in time: a limit on the nodes a request asks (GitHub's
//! count: each connection's `first` times the parents above it), which
//! bounds pages and follow-ups alike.
//!
//! The rule, per answer:
//! - A request that answered whole and used at least half the limit grows
//!   it: back to the largest request that answered whole (`good`) at once,
//!   doubling, after a timeout that load caused; beyond it by `STEP` nodes
//!   every `WINS_PER_STEP` whole answers (additive), and never to a size
//!   that timed out (`ceiling`) until
//!   `PROBE_SOON` whole answers have passed, or `PROBE_AFTER` once it timed
//!   out again at about that size.
//! - A real timeout (slow, or the same request failing twice) beyond `good`
//!   sets the ceiling and falls back to `good`, or to half when nothing is
//!   known yet (multiplicative). At or under `good`, one timeout is forgiven:
//!   many whole answers of that size are not undone by one failure. A second
//!   one halves the limit (and whole answers double it back to `good`); two
//!   such halvings at about the same size with no whole answer that large
//!   between them mean `good` no longer holds, and it is halved too.
//! - Gateway hiccups (a 502 that comes back at once) say nothing about size
//!   and never reach the rule; the same request failing so twice is asked
//!   smaller, and the next whole answer doubles the limit back.

/// Nodes a request may ask when nothing smaller was learned: more than any
/// request of a page of 50 and five points of follow-ups asks, so that a
/// repository that never times out is never held back.
pub const DEFAULT_NODE_LIMIT: u64 = 100_000;
/// GitHub's own limit on the nodes of one query.
pub const MAX_NODE_LIMIT: u64 = 500_000;
/// The smallest limit: a page of one PR with the least inline window (a
/// request without a page still takes one follow-up, whatever it asks).
pub const MIN_NODE_LIMIT: u64 = 1 + 2 * super::document::MIN_INLINE as u64;
/// Growth beyond what answered whole: this many nodes after every
/// `WINS_PER_STEP` whole answers that used the limit (a size beyond what
/// answered whole is a probe, and a probe that times out costs points).
pub const STEP: u64 = 250;
pub const WINS_PER_STEP: u32 = 1;
/// Whole answers after which a size that timed out once is tried again,
/// and one that timed out again at about the same size.
pub const PROBE_SOON: u32 = 10;
pub const PROBE_AFTER: u32 = 100;

/// The counted requests of follow-ups one request carries at most: five
/// points' worth, whatever the node limit allows.
pub const MAX_FOLLOW_UPS: usize = 448;

#[derive(Debug, Clone, PartialEq)]
pub struct NodeLimit {
    now: u64,
    /// The largest request that answered whole (in this pipeline).
    good: u64,
    /// The smallest request beyond `good` that timed out, the whole answers
    /// since, and whether it timed out again at about that size (then it is
    /// tried again only after `PROBE_AFTER` whole answers, else `PROBE_SOON`).
    ceiling: Option<u64>,
    since_ceiling: u32,
    ceiling_held: bool,
    last_ceiling: Option<u64>,
    /// A timeout at or under `good` was forgiven, and nothing answered since.
    forgiven: bool,
    /// A second timeout at or under `good` halved the limit at this size,
    /// and nothing this large has answered whole since.
    struck_out_at: Option<u64>,
    /// Whole answers at the limit towards the next step beyond `good`.
    wins: u32,
}

impl NodeLimit {
    /// Starts at what the repository taught (the default when nothing).
    pub fn new(learned: Option<u64>) -> NodeLimit {
        let now = learned.unwrap_or(DEFAULT_NODE_LIMIT).clamp(MIN_NODE_LIMIT, MAX_NODE_LIMIT);
        NodeLimit {
            now,
            good: 0,
            ceiling: None,
            since_ceiling: 0,
            ceiling_held: false,
            last_ceiling: None,
            forgiven: false,
            struck_out_at: None,
            wins: 0,
        }
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    /// A request of `nodes` answered whole.
    pub fn whole(&mut self, nodes: u64) {
        self.forgiven = false;
        self.good = self.good.max(nodes);
        if self.struck_out_at.is_some_and(|at| about(nodes, at)) {
            self.struck_out_at = None;
        }
        if nodes.saturating_mul(2) < self.now {
            // A small request says nothing about the limit.
            return;
        }
        if self.ceiling.is_some() {
            self.since_ceiling += 1;
            if self.since_ceiling >= if self.ceiling_held { PROBE_AFTER } else { PROBE_SOON } {
                self.ceiling = None;
            }
        }
        let grown = if self.now < self.good {
            self.good.min(self.now.saturating_mul(2))
        } else {
            self.wins += 1;
            if self.wins < WINS_PER_STEP {
                return;
            }
            self.wins = 0;
            self.now.saturating_add(STEP)
        };
        let short_of = self.ceiling.map_or(MAX_NODE_LIMIT, |c| c.saturating_sub(STEP).max(self.good));
        self.now = self.now.max(grown.min(short_of)).clamp(MIN_NODE_LIMIT, MAX_NODE_LIMIT);
    }

    /// A request of `nodes` timed out for real (or was refused as too large).
    pub fn timed_out(&mut self, nodes: u64) {
        self.wins = 0;
        if nodes > self.good {
            self.ceiling_held = self.last_ceiling.is_some_and(|c| about(nodes, c) && about(c, nodes));
            self.last_ceiling = Some(nodes);
            self.ceiling = Some(self.ceiling.map_or(nodes, |c| c.min(nodes)));
            self.since_ceiling = 0;
            self.forgiven = false;
            self.now = (nodes / 2).max(self.good).clamp(MIN_NODE_LIMIT, MAX_NODE_LIMIT);
            return;
        }
        if !self.forgiven {
            self.forgiven = true;
            return;
        }
        self.forgiven = false;
        if self.struck_out_at.is_some_and(|at| about(nodes, at)) {
            self.good = nodes / 2;
        }
        self.struck_out_at = Some(nodes);
        self.now = (nodes / 2).clamp(MIN_NODE_LIMIT, MAX_NODE_LIMIT);
    }

    /// A request of `nodes` failed at once twice (gateway hiccups): it is
    /// asked smaller, but that says nothing about what GitHub can answer, so
    /// neither what answered whole nor a ceiling changes, and the next whole
    /// answer doubles the limit back.
    pub fn failed_twice(&mut self, nodes: u64) {
        self.wins = 0;
        self.now = (nodes / 2).max(if nodes > self.good { self.good } else { 0 }).clamp(MIN_NODE_LIMIT, MAX_NODE_LIMIT);
    }

    /// A follow-up GitHub answered only in part twice: requests this large
    /// are over its resource limits, whatever answered before.
    pub fn over_resource_limits(&mut self, nodes: u64) {
        self.forgiven = false;
        self.good = self.good.min(nodes / 2);
        self.now = (nodes / 2).min(self.now).clamp(MIN_NODE_LIMIT, MAX_NODE_LIMIT);
    }

    /// What the repository should remember: the limit, when it is under
    /// the default.
    pub fn learned(&self) -> Option<u64> {
        (self.now < DEFAULT_NODE_LIMIT).then_some(self.now)
    }
}

/// As large as `than`, give or take the rounding of a halving and a doubling.
fn about(nodes: u64, than: u64) -> bool {
    nodes >= than - than / 10
}

#[cfg(test)]
mod tests;
