//! Priorities: who goes first in a run, who gets how much of it, and the
//! rule that keeps a low priority from starving.
//!
//! - **Order.** The runnable backfills come in the contract's order
//!   (newest-tracked first, then least recently updated); a stable sort puts
//!   high before normal before low, so that order holds within a priority.
//! - **Share.** Within a run the next chunk goes to the backfill with the
//!   fewest turns for its weight (high 4, normal 2, low 1), ties to the
//!   earlier in the order: under a time budget or a rate limit that runs
//!   out, a high-priority backfill gets about twice the chunks of a normal
//!   one and four times a low one's. With equal weights this is the plain
//!   round robin the run loop always had.
//! - **No starvation.** Each run records the backfills it selected but gave
//!   no turn (`metadata.passed_over`, cleared by a turn). One passed over
//!   `STARVED_AFTER` runs in a row goes first in the next, ahead of every
//!   priority, with a high weight for that run; several such go longest
//!   waiting first. A run whose first turn goes to the first in its order
//!   (every run that takes any chunk) serves it, and a backfill served drops
//!   to zero runs passed over, behind every starving one: so with N
//!   backfills runnable, none is passed over more than
//!   `STARVED_AFTER + N - 1` runs in a row (`worst_wait` below; beside one
//!   high-priority backfill and one chunk a run, a low one moves every
//!   `STARVED_AFTER + 1`-th run).

use uuid::Uuid;

use crate::status::Priority;
use crate::store::state::Candidate;

/// Runs in a row a backfill may be passed over before it goes first.
pub const STARVED_AFTER: u32 = 3;

/// A backfill's share of a run against the others'.
pub const fn weight(priority: Priority) -> u32 {
    match priority {
        Priority::High => 4,
        Priority::Normal => 2,
        Priority::Low => 1,
    }
}

/// A backfill in the order a run takes them, with its weight for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ranked {
    pub id: Uuid,
    pub weight: u32,
}

fn starving(c: &Candidate) -> bool {
    c.passed_over >= STARVED_AFTER
}

/// The run's order: starving backfills first (longest waiting first), then
/// by priority; the given (contract) order breaks every tie.
pub fn order(candidates: &[Candidate]) -> Vec<Ranked> {
    let mut sorted: Vec<&Candidate> = candidates.iter().collect();
    sorted.sort_by_key(|c| match starving(c) {
        true => (0, u32::MAX - c.passed_over, Priority::High),
        false => (1, 0, c.priority),
    });
    sorted
        .into_iter()
        .map(|c| Ranked { id: c.id, weight: if starving(c) { weight(Priority::High) } else { weight(c.priority) } })
        .collect()
}

/// Which backfill gets the next chunk: given each one's (weight, turns so
/// far), the fewest turns per weight (the lowest `(turns + 1) / weight`),
/// the earliest on a tie. None when there is none.
pub fn next_turn(turns: &[(u32, u32)]) -> Option<usize> {
    let key = |&(w, t): &(u32, u32)| (u64::from(t) + 1, u64::from(w.max(1)));
    let mut best: Option<usize> = None;
    for (i, entry) in turns.iter().enumerate() {
        let (n, w) = key(entry);
        let better = match best {
            None => true,
            // n/w < bn/bw, in integers
            Some(b) => {
                let (bn, bw) = key(&turns[b]);
                n * bw < bn * w
            }
        };
        if better {
            best = Some(i);
        }
    }
    best
}

/// The bound the README states: runs in a row a backfill can be passed
/// over, with `runnable` backfills and at least one chunk a run.
pub const fn worst_wait(runnable: u32) -> u32 {
    STARVED_AFTER + runnable.saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn c(n: u128, priority: Priority, passed_over: u32) -> Candidate {
        Candidate { id: id(n), priority, passed_over }
    }

    use Priority::{High, Low, Normal};

    #[test]
    fn the_order_puts_the_starving_first_then_priorities_keeping_the_contract_order() {
        // (candidates in the contract's order, the run's order, weights)
        let cases: [(Vec<Candidate>, Vec<u128>, Vec<u32>); 5] = [
            (vec![c(1, Normal, 0), c(2, Normal, 0), c(3, Normal, 0)], vec![1, 2, 3], vec![2, 2, 2]),
            (vec![c(1, Low, 0), c(2, Normal, 0), c(3, High, 0)], vec![3, 2, 1], vec![4, 2, 1]),
            (vec![c(1, Normal, 0), c(2, High, 0), c(3, High, 0), c(4, Low, 0)], vec![2, 3, 1, 4], vec![4, 4, 2, 1]),
            (vec![c(1, High, 0), c(2, Low, 2), c(3, Low, 3)], vec![3, 1, 2], vec![4, 4, 1]),
            (vec![c(1, High, 0), c(2, Low, 3), c(3, Normal, 5), c(4, Low, 3)], vec![3, 2, 4, 1], vec![4, 4, 4, 4]),
        ];
        for (given, ids, weights) in cases {
            let got = order(&given);
            let want: Vec<Ranked> = ids.iter().zip(&weights).map(|(n, w)| Ranked { id: id(*n), weight: *w }).collect();
            assert_eq!(got, want, "{given:?}");
        }
    }

    #[test]
    fn the_next_turn_goes_to_the_fewest_turns_for_the_weight() {
        // (each backfill's weight and turns so far, who goes next)
        type Shares = &'static [(u32, u32)];
        let cases: [(Shares, Option<usize>); 7] = [
            (&[], None),
            (&[(2, 0), (2, 0), (2, 0)], Some(0)),
            (&[(2, 1), (2, 0), (2, 0)], Some(1)),
            (&[(2, 1), (2, 1), (2, 1)], Some(0)),
            (&[(4, 3), (1, 0)], Some(0)),
            (&[(4, 4), (1, 0)], Some(1)),
            (&[(1, 0), (4, 0)], Some(1)),
        ];
        for (turns, want) in cases {
            assert_eq!(next_turn(turns), want, "{turns:?}");
        }
    }

    #[test]
    fn a_run_long_enough_shares_four_two_one() {
        let mut turns = vec![(weight(High), 0), (weight(Normal), 0), (weight(Low), 0)];
        let mut sequence = Vec::new();
        for _ in 0..14 {
            let Some(i) = next_turn(&turns) else { break };
            turns[i].1 += 1;
            sequence.push(i);
        }
        assert_eq!(sequence, vec![0, 0, 1, 0, 0, 1, 2, 0, 0, 1, 0, 0, 1, 2]);
    }

    /// Runs of `chunks` turns each over backfills of these priorities, the
    /// way the run loop and `record_turns` play them: returns, per
    /// backfill, the most runs in a row it was passed over.
    fn simulate(priorities: &[Priority], chunks: u32, runs: usize) -> Vec<u32> {
        let mut passed = vec![0u32; priorities.len()];
        let mut worst = vec![0u32; priorities.len()];
        for _ in 0..runs {
            let candidates: Vec<Candidate> =
                priorities.iter().enumerate().map(|(i, p)| c(i as u128, *p, passed[i])).collect();
            let ranked = order(&candidates);
            let mut turns: Vec<(u32, u32)> = ranked.iter().map(|r| (r.weight, 0)).collect();
            for _ in 0..chunks {
                if let Some(i) = next_turn(&turns) {
                    turns[i].1 += 1;
                }
            }
            for (r, (_, t)) in ranked.iter().zip(&turns) {
                let i = r.id.as_u128() as usize;
                passed[i] = if *t > 0 { 0 } else { passed[i] + 1 };
                worst[i] = worst[i].max(passed[i]);
            }
        }
        worst
    }

    #[test]
    fn no_backfill_waits_longer_than_the_stated_bound() {
        // (priorities in the contract's order, chunks a run, the most runs in a row each is passed over)
        let cases: [(&[Priority], u32, &[u32]); 7] = [
            (&[High, Low], 1, &[1, 3]),
            (&[Low, High], 1, &[3, 1]),
            (&[High, Normal, Low], 1, &[2, 3, 4]),
            (&[High, High, Low], 1, &[2, 3, 4]),
            (&[High, High, High, Low, Low], 1, &[4, 4, 4, 5, 6]),
            (&[High, High, High, Low, Low], 2, &[1, 2, 3, 3, 4]),
            (&[Normal, Normal, Normal], 5, &[0, 0, 0]),
        ];
        for (priorities, chunks, want) in cases {
            let worst = simulate(priorities, chunks, 200);
            assert_eq!(worst, want, "{priorities:?}, {chunks} a run");
            let bound = worst_wait(priorities.len() as u32);
            assert!(worst.iter().all(|w| *w <= bound), "{priorities:?}: {worst:?} over the bound {bound}");
        }
        assert_eq!(worst_wait(2), 4);
    }
}
