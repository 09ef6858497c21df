//! The synthetic repository: deterministic from a seed, with the awkward shapes
//! real repositories have (gaps in PR numbers, bots, deleted authors, huge
//! threads, 64-bit ids, NUL bytes, very long bodies).

use chrono::{DateTime, Duration, TimeZone, Utc};

pub use crate::ids::repository_id;
use crate::ids::{node_id, Ids};
pub use crate::shapes::Profile;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorKind {
    User,
    Bot,
    Mannequin,
}

#[derive(Clone, Debug)]
pub struct Actor {
    pub kind: ActorKind,
    pub database_id: i64,
    pub login: String,
    pub name: Option<String>,
}

impl Actor {
    pub fn avatar_url(&self) -> String {
        format!("https://avatars.example.test/u/{}?v=4", self.database_id)
    }
}

#[derive(Clone, Debug)]
pub struct ReviewComment {
    pub node_id: String,
    pub full_id: i64,
    /// Index into `World::actors`; `None` is a deleted account.
    pub author: Option<usize>,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub path: String,
    pub position: Option<i32>,
    pub original_position: i32,
    pub diff_hunk: String,
    pub commit_oid: String,
    /// `full_id` of the comment this one answers.
    pub reply_to: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct Review {
    pub node_id: String,
    pub full_id: i64,
    pub author: Option<usize>,
    pub state: &'static str,
    pub body: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub commit_oid: Option<String>,
    pub comments: Vec<ReviewComment>,
}

#[derive(Clone, Debug)]
pub struct IssueComment {
    pub node_id: String,
    pub full_id: i64,
    pub author: Option<usize>,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct PullRequest {
    pub node_id: String,
    pub full_id: i64,
    pub number: i32,
    pub title: String,
    pub body: String,
    /// OPEN, CLOSED or MERGED, as GraphQL spells it.
    pub state: &'static str,
    pub draft: bool,
    pub author: Option<usize>,
    pub merged_by: Option<usize>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub merged_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub additions: i32,
    pub deletions: i32,
    pub changed_files: i32,
    pub commits: i32,
    pub base_ref: String,
    pub head_ref: String,
    pub reviews: Vec<Review>,
    pub comments: Vec<IssueComment>,
}

#[derive(Clone, Debug)]
pub struct Repository {
    pub node_id: String,
    pub database_id: i64,
    pub owner: String,
    pub name: String,
    pub fork: bool,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    /// Kept in creation order, which is what `CREATED_AT ASC` pages through.
    pub pull_requests: Vec<PullRequest>,
    /// The places in that order of PRs deleted since (`World::delete_pr`),
    /// ascending: the cursors of the PRs after them keep their places.
    pub removed: Vec<usize>,
}

/// What a synthetic repository looks like.
#[derive(Clone, Debug)]
pub struct RepoSpec {
    pub owner: String,
    pub name: String,
    pub pull_requests: usize,
    pub seed: u64,
    /// Adds the extreme PRs: hundreds of reviews and comments, a review with
    /// 150 comments, a 70 KB body.
    pub extremes: bool,
    /// One of each extreme shape in every this many PRs (at least 97): 97
    /// packs them densely for tests; the benchmark spreads them out.
    pub extreme_period: usize,
    /// The mix of reviews and comments; `extremes` shape `Today` only.
    pub profile: Profile,
    /// A fork of another repository (`isFork`).
    pub fork: bool,
    /// Archived (`isArchived`).
    pub archived: bool,
    /// When the repository was created; `None`: a day after the one before
    /// it in the world (`DEFAULT_CREATED` for the first).
    pub created_at: Option<DateTime<Utc>>,
}

/// When the first repository of a world was created, unless its spec says.
pub fn default_created(repo_index: usize) -> DateTime<Utc> {
    let first = Utc.with_ymd_and_hms(2015, 1, 1, 0, 0, 0).single().unwrap_or_default();
    first + Duration::days(repo_index as i64)
}

impl RepoSpec {
    pub fn new(owner: &str, name: &str, pull_requests: usize) -> RepoSpec {
        RepoSpec {
            owner: owner.to_string(),
            name: name.to_string(),
            pull_requests,
            seed: 42,
            extremes: true,
            extreme_period: 97,
            profile: Profile::Today,
            fork: false,
            archived: false,
            created_at: None,
        }
    }
}

/// A small deterministic generator (splitmix64): the data must be the same on
/// every machine and every run so that tests can compare against it.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const TITLES: &[&str] = &[
    "Fix flaky test in scheduler",
    "Add \"quoted\" option to 'config' loader",
    "Robert'); DROP TABLE pull_requests;--",
    "Speed up tensor copy 🚀🔥",
    "Revert \"Revert \\\"Bump deps\\\"\"",
    "Handle $1 and %s and {} in format strings",
    "Ünïcödé názvy a 中文标题",
    "Update README.md",
    "SELECT * FROM users WHERE '1'='1'",
    "Tab\tseparated and back\\slash",
];

/// The people of a world: index 0.. are users, then bots, then a mannequin.
pub fn actors() -> Vec<Actor> {
    let mut actors: Vec<Actor> = (0..40)
        .map(|i| Actor {
            kind: ActorKind::User,
            database_id: 1_000 + i * 7_919,
            login: format!("dev-{i:02}"),
            name: if i % 4 == 0 { None } else { Some(format!("Developer Nº{i} \"d{i}\"")) },
        })
        .collect();
    for (id, login) in [(49_699_333, "dependabot"), (41_898_282, "github-actions"), (29_139_614, "renovate")] {
        actors.push(Actor { kind: ActorKind::Bot, database_id: id, login: login.into(), name: None });
    }
    actors.push(Actor {
        kind: ActorKind::Mannequin,
        database_id: 90_000_001,
        login: "imported-user".into(),
        name: None,
    });
    actors
}

/// Picks an author: mostly users, some bots, now and then a deleted account.
fn pick_author(rng: &mut Rng, actors: &[Actor]) -> Option<usize> {
    match rng.below(100) {
        0..=2 => None,
        3..=9 => Some(40 + rng.below(3) as usize),
        10 => Some(43),
        _ => Some(rng.below(40) as usize),
    }
    .filter(|&i| i < actors.len())
}

fn text(rng: &mut Rng, what: &str, n: usize) -> String {
    let mut s = format!("{what} {n}: ");
    if rng.chance(3) {
        s.push_str("has a NUL\0 byte inside\0");
    }
    if rng.chance(10) {
        s.push_str("multi\nline\r\nwith `code` and <html> & \"quotes\"");
    }
    s
}

pub fn generate(spec: &RepoSpec, actors: &[Actor], repo_index: usize) -> Repository {
    let mut rng = Rng::new(spec.seed.wrapping_add(repo_index as u64 * 1_000_003));
    let base = 5_000_000_000 + repo_index as i64 * 1_000_000_000;
    let mut ids = Ids::starting_at(base);
    let start = Utc.with_ymd_and_hms(2019, 1, 1, 0, 0, 0).single().unwrap_or_default();
    let mut number = 0;
    let mut prs = Vec::with_capacity(spec.pull_requests);
    for i in 0..spec.pull_requests {
        number += 1 + if rng.chance(30) { rng.below(4) as i32 + 1 } else { 0 };
        let created_at = start + Duration::minutes(i as i64 * 97 + rng.below(60) as i64);
        let pr = match spec.profile {
            Profile::Today => {
                let mut pr = pull_request(&mut rng, &mut ids, actors, number, created_at);
                if spec.extremes {
                    shape_extreme(&mut rng, &mut ids, actors, &mut pr, i % spec.extreme_period.max(97));
                }
                pr
            }
            Profile::BigRepository => crate::shapes::big_pull_request(&mut rng, &mut ids, actors, number, created_at),
        };
        prs.push(pr);
    }
    let database_id = repository_id(&spec.owner, &spec.name);
    Repository {
        node_id: node_id("R", database_id),
        database_id,
        owner: spec.owner.clone(),
        name: spec.name.clone(),
        fork: spec.fork,
        archived: spec.archived,
        created_at: spec.created_at.unwrap_or_else(|| default_created(repo_index)),
        pull_requests: prs,
        removed: Vec::new(),
    }
}

fn pull_request(rng: &mut Rng, ids: &mut Ids, actors: &[Actor], number: i32, created_at: DateTime<Utc>) -> PullRequest {
    let full_id = ids.take(rng);
    let (state, closed) = pr_state(rng, created_at);
    let review_count = match rng.below(100) {
        0..=24 => rng.below(3),
        25..=94 => rng.below(7),
        _ => 7 + rng.below(25),
    } as usize;
    let comment_count = rng.below(13) as usize;
    let mut pr = bare_pull_request(rng, actors, (full_id, number), (state, closed), created_at);
    for _ in 0..review_count {
        let comments = if rng.chance(40) { 1 + rng.below(8) as usize } else { 0 };
        add_review(rng, ids, actors, &mut pr, comments);
    }
    for _ in 0..comment_count {
        add_issue_comment(rng, ids, actors, &mut pr);
    }
    pr
}

/// A PR's state, and when it was closed (or merged).
pub(crate) fn pr_state(rng: &mut Rng, created_at: DateTime<Utc>) -> (&'static str, Option<DateTime<Utc>>) {
    let state = match rng.below(10) {
        0 => "OPEN",
        1 | 2 => "CLOSED",
        _ => "MERGED",
    };
    (state, (state != "OPEN").then(|| created_at + Duration::hours(1 + rng.below(200) as i64)))
}

/// A PR with no reviews or comments yet.
pub(crate) fn bare_pull_request(
    rng: &mut Rng,
    actors: &[Actor],
    (full_id, number): (i64, i32),
    (state, closed): (&'static str, Option<DateTime<Utc>>),
    created_at: DateTime<Utc>,
) -> PullRequest {
    PullRequest {
        node_id: node_id("PR", full_id),
        full_id,
        number,
        title: format!("{} (#{number})", TITLES[rng.below(TITLES.len() as u64) as usize]),
        body: text(rng, "Body of PR", number as usize),
        state,
        draft: state == "OPEN" && rng.chance(30),
        author: pick_author(rng, actors),
        merged_by: (state == "MERGED").then(|| pick_author(rng, actors)).flatten(),
        created_at,
        updated_at: closed.unwrap_or(created_at) + Duration::minutes(5),
        merged_at: if state == "MERGED" { closed } else { None },
        closed_at: closed,
        additions: rng.below(2_000) as i32,
        deletions: rng.below(800) as i32,
        changed_files: 1 + rng.below(40) as i32,
        commits: 1 + rng.below(12) as i32,
        base_ref: "main".into(),
        head_ref: format!("feature/{number}-branch"),
        reviews: Vec::new(),
        comments: Vec::new(),
    }
}

/// Five PRs in every period get something extreme (by default every 97, so
/// any repository of a few hundred PRs holds each shape at least once).
fn shape_extreme(rng: &mut Rng, ids: &mut Ids, actors: &[Actor], pr: &mut PullRequest, slot: usize) {
    match slot {
        13 => (0..300).for_each(|_| add_issue_comment(rng, ids, actors, pr)),
        29 => (0..230).for_each(|_| add_review(rng, ids, actors, pr, 0)),
        41 => add_review(rng, ids, actors, pr, 150),
        57 => pr.body = "x".repeat(70 * 1024) + "\0end",
        71 => {
            pr.author = None;
            pr.title = "'; DELETE FROM contributors; -- \"😈\" \\N \\\\".into();
        }
        _ => {}
    }
}

pub(crate) fn add_review(rng: &mut Rng, ids: &mut Ids, actors: &[Actor], pr: &mut PullRequest, comments: usize) {
    let full_id = ids.take(rng);
    let created_at = pr.created_at + Duration::minutes(10 + rng.below(3_000) as i64);
    let state = ["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "COMMENTED"][rng.below(5) as usize];
    let pending = rng.chance(2);
    let mut review = Review {
        node_id: node_id("PRR", full_id),
        full_id,
        author: pick_author(rng, actors),
        state: if pending { "PENDING" } else { state },
        body: if rng.chance(50) { String::new() } else { text(rng, "Review", full_id as usize % 1000) },
        submitted_at: (!pending).then_some(created_at + Duration::seconds(30)),
        created_at,
        commit_oid: rng.chance(95).then(|| format!("{:040x}", rng.next_u64() as u128 * 7)),
        comments: Vec::new(),
    };
    for c in 0..comments {
        let full_id = ids.take(rng);
        let reply_to =
            if c > 0 && rng.chance(30) { Some(review.comments[rng.below(c as u64) as usize].full_id) } else { None };
        let at = created_at + Duration::seconds(c as i64);
        review.comments.push(ReviewComment {
            node_id: node_id("PRRC", full_id),
            full_id,
            author: review.author,
            body: text(rng, "Review comment", c),
            created_at: at,
            updated_at: at + Duration::seconds(rng.below(100) as i64),
            path: format!("src/module_{}/file.rs", rng.below(20)),
            position: rng.chance(80).then(|| rng.below(400) as i32 + 1),
            original_position: rng.below(400) as i32 + 1,
            diff_hunk: format!("@@ -{0},7 +{0},8 @@ fn f() {{\n-    old();\n+    new();", rng.below(500)),
            commit_oid: format!("{:040x}", rng.next_u64() as u128 * 13),
            reply_to,
        });
    }
    pr.reviews.push(review);
}

pub(crate) fn add_issue_comment(rng: &mut Rng, ids: &mut Ids, actors: &[Actor], pr: &mut PullRequest) {
    let full_id = ids.take(rng);
    let created_at = pr.created_at + Duration::minutes(1 + rng.below(5_000) as i64);
    pr.comments.push(IssueComment {
        node_id: node_id("IC", full_id),
        full_id,
        author: pick_author(rng, actors),
        body: text(rng, "Comment", pr.comments.len()),
        created_at,
        updated_at: created_at,
    });
}
