//! What a pipeline learns about the size of its requests while it runs:
//! how many counted requests of follow-ups one request may carry. GitHub's
//! timeouts and partial answers are about size, so they cut it; clean
//! answers grow it back, since a timeout may have been load, not size.

/// Counted requests of follow-ups in one request when the repository has
/// taught nothing smaller: five points' worth, well under the node limit.
pub const DEFAULT_FOLLOW_UP_LIMIT: usize = 448;

/// The follow-up limit: counted requests of follow-ups per request.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUpLimit {
    now: usize,
    ceiling: usize,
    cut_to: Option<usize>,
    last_cut_from: Option<usize>,
    clean_in_a_row: u32,
}

impl FollowUpLimit {
    /// Starts at what the repository taught (the default when nothing).
    pub fn new(learned: Option<usize>) -> FollowUpLimit {
        let start = learned.unwrap_or(DEFAULT_FOLLOW_UP_LIMIT).clamp(1, DEFAULT_FOLLOW_UP_LIMIT);
        FollowUpLimit { now: start, ceiling: start, cut_to: None, last_cut_from: None, clean_in_a_row: 0 }
    }

    pub fn now(&self) -> usize {
        self.now
    }

    /// Fewer follow-ups per request from now on, and remembered for the
    /// repository. A second cut at that size or more means it was size, not
    /// load: the pipeline never asks that many again.
    pub fn cut(&mut self, to: usize) {
        let to = to.max(1);
        if self.last_cut_from.is_some_and(|m| self.now >= m) {
            self.ceiling = self.ceiling.min(to);
        }
        self.last_cut_from = Some(self.now);
        self.now = to;
        self.cut_to = Some(self.cut_to.map_or(to, |n| n.min(to)));
        self.clean_in_a_row = 0;
    }

    /// Two whole answers in a row double the limit again, up to the
    /// ceiling: a timeout that was load should not slow the rest.
    pub fn grow(&mut self) {
        self.clean_in_a_row += 1;
        if self.clean_in_a_row >= 2 && self.now < self.ceiling {
            self.now = (self.now * 2).min(self.ceiling);
            self.clean_in_a_row = 0;
        }
    }

    /// What the repository should remember: the limit, when cuts left it
    /// below where it began.
    pub fn learned(&self) -> Option<usize> {
        self.cut_to.map(|_| self.now).filter(|n| *n < self.ceiling)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug)]
    enum Event {
        Cut(usize),
        Clean,
    }

    #[test]
    fn the_limit_is_cut_at_once_and_grows_back_after_clean_answers() {
        use Event::{Clean, Cut};
        // (learned before, events) -> (limit now, what is remembered)
        type Case = (Option<usize>, Vec<Event>, usize, Option<usize>);
        let cases: Vec<Case> = vec![
            (None, vec![], 448, None),
            (Some(1_000), vec![], 448, None),
            (Some(0), vec![], 1, None),
            (None, vec![Cut(224)], 224, Some(224)),
            (None, vec![Cut(224), Clean], 224, Some(224)),
            (None, vec![Cut(224), Clean, Clean], 448, None),
            (None, vec![Cut(100), Clean, Clean], 200, Some(200)),
            (None, vec![Cut(100), Clean, Clean, Clean, Clean], 400, Some(400)),
            (None, vec![Cut(224), Cut(112), Clean, Clean], 224, Some(224)),
            // cut again once grown back to the size cut before: size, not
            // load, so it never grows past the cut again
            (None, vec![Cut(224), Clean, Clean, Cut(224), Clean, Clean], 224, None),
            (None, vec![Cut(0)], 1, Some(1)),
        ];
        for (learned, events, now, remembered) in cases {
            let mut limit = FollowUpLimit::new(learned);
            for e in &events {
                match e {
                    Event::Cut(to) => limit.cut(*to),
                    Event::Clean => limit.grow(),
                }
            }
            assert_eq!((limit.now(), limit.learned()), (now, remembered), "{learned:?} {events:?}");
        }
    }
}
