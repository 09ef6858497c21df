//! Profiles of synthetic repository: today's mix, which the tests compare
//! against, and a big repository shaped like pytorch/pytorch, where a client
//! meets the long tails a real backfill pays for.

use chrono::{DateTime, Utc};

use crate::data::{
    add_issue_comment, add_review, bare_pull_request, pr_state, Actor, ActorKind, PullRequest, Repository, Rng,
};
use crate::ids::Ids;

/// The mix of reviews and comments `generate` makes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// A few reviews and comments a PR and, with `RepoSpec::extremes`, one of
    /// each extreme shape in every `extreme_period` PRs. Kept byte for byte:
    /// tests compare against it.
    #[default]
    Today,
    /// Shaped like pytorch/pytorch, drawn per PR from the seed (`extremes`
    /// unused):
    /// - 1 PR in 30 is heavy: over 100 reviews (2 in 5 of them), over 100
    ///   issue comments (2 in 5) or both (1 in 5). A heavy count is 101-300,
    ///   one time in 4 301-700. Those reviews are mostly approvals and bot
    ///   noise (1 in 10 has one comment), as are half its issue comments.
    /// - Other PRs have 0-2 reviews (1 in 4), 1-8 (13 in 20) or 8-47 (1 in
    ///   10), and 0-11 issue comments plus 0-2 from bots; 1 in 20 is opened
    ///   by dependabot.
    /// - Their reviews have no comment (1 in 2), 1-3 (2 in 5: on GitHub each
    ///   reply to a thread is a review of its own) or 4-15 (1 in 10).
    /// - 1 PR in 150 has a review of over 100 comments: 101-200, one time in
    ///   3 201-400.
    ///
    /// So about 3 reviews in 10 have comments (1 in 2 outside heavy PRs).
    BigRepository,
}

const DEPENDABOT: usize = 40;
const GITHUB_ACTIONS: usize = 41;

/// The size of a heavy connection: over 100, now and then over 300.
fn heavy_count(rng: &mut Rng) -> usize {
    if rng.chance(25) {
        301 + rng.below(400) as usize
    } else {
        101 + rng.below(200) as usize
    }
}

/// Comments on an ordinary review.
fn review_comments(rng: &mut Rng) -> usize {
    match rng.below(10) {
        0..=4 => 0,
        5..=8 => 1 + rng.below(3) as usize,
        _ => 4 + rng.below(12) as usize,
    }
}

/// Adds issue comments, `bot_percent` of them from a bot.
fn issue_comments(rng: &mut Rng, ids: &mut Ids, actors: &[Actor], pr: &mut PullRequest, n: usize, bot_percent: u64) {
    for _ in 0..n {
        add_issue_comment(rng, ids, actors, pr);
        if rng.chance(bot_percent) {
            let bot = if rng.chance(70) { GITHUB_ACTIONS } else { DEPENDABOT };
            if let Some(c) = pr.comments.last_mut() {
                c.author = Some(bot);
                c.body = format!("CI status for this PR: {} jobs, see the checks tab", 1 + rng.below(90));
            }
        }
    }
}

/// One PR of the big-repository profile.
pub(crate) fn big_pull_request(
    rng: &mut Rng,
    ids: &mut Ids,
    actors: &[Actor],
    number: i32,
    created_at: DateTime<Utc>,
) -> PullRequest {
    let full_id = ids.take(rng);
    let state = pr_state(rng, created_at);
    let mut pr = bare_pull_request(rng, actors, (full_id, number), state, created_at);
    if rng.chance(5) {
        pr.author = Some(DEPENDABOT).filter(|&i| i < actors.len());
    }
    // 10 in 300 heavy: 4 by reviews, 4 by issue comments, 2 by both.
    let heavy = rng.below(300);
    if heavy < 4 || (8..10).contains(&heavy) {
        for _ in 0..heavy_count(rng) {
            let comments = usize::from(rng.chance(10));
            add_review(rng, ids, actors, &mut pr, comments);
            let approval = if rng.chance(60) { "APPROVED" } else { "COMMENTED" };
            let bot = rng.chance(40).then(|| 40 + rng.below(3) as usize);
            if let Some(r) = pr.reviews.last_mut().filter(|r| r.comments.is_empty() && r.state != "PENDING") {
                r.state = approval;
                r.body.clear();
                r.author = bot.or(r.author);
            }
        }
    } else {
        let reviews = match rng.below(20) {
            0..=4 => rng.below(3),
            5..=17 => 1 + rng.below(8),
            _ => 8 + rng.below(40),
        };
        for _ in 0..reviews {
            let comments = review_comments(rng);
            add_review(rng, ids, actors, &mut pr, comments);
        }
    }
    if (4..10).contains(&heavy) {
        let n = heavy_count(rng);
        issue_comments(rng, ids, actors, &mut pr, n, 50);
    } else {
        let (people, bots) = (rng.below(12) as usize, rng.below(3) as usize);
        issue_comments(rng, ids, actors, &mut pr, people, 0);
        issue_comments(rng, ids, actors, &mut pr, bots, 100);
    }
    if rng.below(150) == 0 {
        let n = if rng.chance(33) { 201 + rng.below(200) } else { 101 + rng.below(100) } as usize;
        add_review(rng, ids, actors, &mut pr, n);
    }
    pr
}

/// What a generated repository holds, counted as the profiles state it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Shape {
    pub prs: usize,
    pub reviews: usize,
    pub review_comments: usize,
    pub issue_comments: usize,
    /// PRs with over 100 reviews or over 100 issue comments.
    pub heavy_prs: usize,
    pub prs_over_300_reviews: usize,
    pub prs_over_300_issue_comments: usize,
    pub reviews_over_100_comments: usize,
    pub reviews_over_200_comments: usize,
    pub reviews_with_comments: usize,
    pub reviews_with_1_to_3_comments: usize,
    /// Issue comments written by bots.
    pub bot_comments: usize,
}

impl Shape {
    pub fn of(repo: &Repository, actors: &[Actor]) -> Shape {
        let is_bot = |a: Option<usize>| a.and_then(|i| actors.get(i)).is_some_and(|a| a.kind == ActorKind::Bot);
        let mut s = Shape { prs: repo.pull_requests.len(), ..Shape::default() };
        for pr in &repo.pull_requests {
            let (reviews, comments) = (pr.reviews.len(), pr.comments.len());
            s.reviews += reviews;
            s.issue_comments += comments;
            s.heavy_prs += usize::from(reviews > 100 || comments > 100);
            s.prs_over_300_reviews += usize::from(reviews > 300);
            s.prs_over_300_issue_comments += usize::from(comments > 300);
            s.bot_comments += pr.comments.iter().filter(|c| is_bot(c.author)).count();
            for r in &pr.reviews {
                let n = r.comments.len();
                s.review_comments += n;
                s.reviews_with_comments += usize::from(n > 0);
                s.reviews_with_1_to_3_comments += usize::from((1..=3).contains(&n));
                s.reviews_over_100_comments += usize::from(n > 100);
                s.reviews_over_200_comments += usize::from(n > 200);
            }
        }
        s
    }

    /// The share of reviews that have at least one comment.
    pub fn commented_share(&self) -> f64 {
        self.reviews_with_comments as f64 / self.reviews.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{actors, generate, RepoSpec};

    fn big(prs: usize, seed: u64) -> RepoSpec {
        RepoSpec { seed, profile: Profile::BigRepository, ..RepoSpec::new("o", "big", prs) }
    }

    #[test]
    fn the_big_repository_has_pytorchs_tails() {
        let actors = actors();
        for seed in [42, 7] {
            let s = Shape::of(&generate(&big(3_000, seed), &actors, 0), &actors);
            assert!((3_000 / 40..=3_000 / 20).contains(&s.heavy_prs), "1 PR in 30 heavy: {s:?}");
            assert!(s.prs_over_300_reviews >= 1 && s.prs_over_300_issue_comments >= 1, "{s:?}");
            assert!(s.reviews_over_100_comments >= 5 && s.reviews_over_200_comments >= 1, "1 PR in 150: {s:?}");
            assert!((0.22..=0.40).contains(&s.commented_share()), "3 reviews in 10 commented: {s:?}");
            assert!(s.reviews_with_1_to_3_comments * 10 >= s.reviews_with_comments * 7, "most have 1-3: {s:?}");
            assert!(s.bot_comments * 10 >= s.issue_comments, "bot noise: {s:?}");
        }
    }

    #[test]
    fn profiles_are_deterministic_and_distinct() {
        let actors = actors();
        let a = Shape::of(&generate(&big(500, 3), &actors, 0), &actors);
        assert_eq!(a, Shape::of(&generate(&big(500, 3), &actors, 0), &actors), "same seed, same repository");
        let today = RepoSpec { seed: 3, ..RepoSpec::new("o", "big", 500) };
        assert_ne!(a, Shape::of(&generate(&today, &actors, 0), &actors));
    }
}
