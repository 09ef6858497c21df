//! The pipeline against the fake GitHub, in process: chunks come out whole,
//! in order, equal to what GitHub holds, with every request counted to one
//! chunk, however many are fetched ahead and however often GitHub times out.

use std::collections::BTreeMap;
use std::time::Duration;

use fake_github::{FakeGithub, Fault, RepoSpec, World};

use super::document::FirstPage;
use super::{FetchedChunk, Pipeline};
use crate::github::retry::RetryPolicy;
use crate::github::GithubError;
use crate::github::{ClientSettings, GithubClient};

/// Per PR number: (reviews, review comments, issue comments).
type Counts = BTreeMap<i32, (usize, usize, usize)>;

fn githubs(fake: &FakeGithub) -> Counts {
    githubs_of(fake, "r")
}

fn githubs_of(fake: &FakeGithub, name: &str) -> Counts {
    fake.with_world(|w| {
        let repo = w.repo("o", name).map(|r| r.pull_requests.clone()).unwrap_or_default();
        repo.iter()
            .map(|pr| {
                let review_comments = pr.reviews.iter().map(|r| r.comments.len()).sum();
                (pr.number, (pr.reviews.len(), review_comments, pr.comments.len()))
            })
            .collect()
    })
}

fn counts(chunks: &[FetchedChunk]) -> Counts {
    let kind = crate::github::model::CommentKind::Review;
    chunks
        .iter()
        .flat_map(|c| &c.prs)
        .map(|pr| {
            let review_comments = pr.comments.iter().filter(|c| c.kind == kind).count();
            (pr.number, (pr.reviews.len(), review_comments, pr.comments.len() - review_comments))
        })
        .collect()
}

/// A client that retries at once; a failure that comes back sooner than
/// half `github_timeout` is a hiccup.
fn client(fake: &FakeGithub, github_timeout: Duration) -> GithubClient {
    let retry = RetryPolicy { base: Duration::from_millis(10), ..RetryPolicy::default() };
    let settings =
        ClientSettings { request_interval: Duration::ZERO, retry, github_timeout, ..ClientSettings::default() };
    GithubClient::new(&fake.graphql_url(), "t", settings).expect("a client")
}

/// Every chunk of the repository, `ahead` fetched ahead each time.
async fn fetch_all(fake: &FakeGithub, size: i64, ahead: usize) -> Vec<FetchedChunk> {
    fetch_all_with(&client(fake, Duration::from_secs(10)), size, ahead).await
}

async fn fetch_all_with(client: &GithubClient, size: i64, ahead: usize) -> Vec<FetchedChunk> {
    let mut pipeline = Pipeline::new("o", "r", None, None, None);
    let mut chunks = Vec::new();
    loop {
        let chunk = pipeline.next_chunk(client, size, ahead).await.expect("a chunk");
        let more = chunk.has_next_page;
        chunks.push(chunk);
        if !more {
            return chunks;
        }
    }
}

async fn fake_with(prs: usize) -> FakeGithub {
    FakeGithub::start(World::new(&[RepoSpec::new("o", "r", prs)])).await.expect("the fake starts")
}

#[tokio::test]
async fn chunks_come_whole_in_order_with_every_request_counted_once() {
    // (PRs, page size, chunks fetched ahead)
    for (prs, size, ahead) in [(230, 50, 0), (230, 50, 3), (230, 20, 9), (40, 50, 2)] {
        let fake = fake_with(prs).await;
        let chunks = fetch_all(&fake, size, ahead).await;
        let numbers: Vec<i32> = chunks.iter().flat_map(|c| c.prs.iter().map(|p| p.number)).collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "in order: {numbers:?}");
        assert_eq!(counts(&chunks), githubs(&fake), "{prs} PRs, size {size}, {ahead} ahead");
        let counted: u32 = chunks.iter().map(|c| c.requests).sum();
        assert_eq!(counted as usize, fake.requests().len(), "{prs} PRs, size {size}, {ahead} ahead");
        assert!(chunks.iter().all(|c| c.requests >= 1), "each chunk has at least its page's request");
    }
}

#[tokio::test]
async fn a_chunk_fetched_alongside_others_costs_about_one_request() {
    let fake = fake_with(500).await;
    let chunks = fetch_all(&fake, 50, 20).await;
    let requests = fake.requests().len();
    // Ten pages; the heavy PRs (one of each extreme shape in every 97) need
    // a few more requests of follow-ups.
    assert!((10..=14).contains(&requests), "{requests} requests for {} chunks", chunks.len());
}

#[tokio::test]
async fn requests_that_time_out_are_split_and_the_chunks_still_come_whole() {
    let fake = fake_with(230).await;
    // A page of 50 with 100 of each PR's reviews and comments inline asks
    // 10,050 nodes: it times out until the node limit is learned.
    fake.with_control(|c| c.chaos.timeout_above_nodes = Some(8_000));
    // The fake answers at once: a client that gives GitHub no time at all
    // takes every 502 for a timeout.
    let chunks = fetch_all_with(&client(&fake, Duration::ZERO), 50, 3).await;
    assert_eq!(counts(&chunks), githubs(&fake));
    let log = fake.requests();
    let timed_out: Vec<usize> = (0..log.len()).filter(|&i| log[i].status != 200).collect();
    assert!(!timed_out.is_empty(), "the limit was reached: {} requests", log.len());
    for &i in &timed_out {
        assert!(log[i].nodes > 8_000, "only requests over the limit time out");
        // What follows a timed-out request is smaller.
        if let Some(next) = log.get(i + 1) {
            assert!(next.nodes < log[i].nodes, "request {i}: {} then {} nodes", log[i].nodes, next.nodes);
        }
    }
}

#[tokio::test]
async fn with_hiccups_all_along_the_size_comes_back_within_a_chunk_or_two_after_real_timeouts() {
    let fake = fake_with(600).await;
    // 15% of requests fail at once (hiccups); a real timeout takes 200 ms.
    fake.with_control(|c| {
        c.chaos.seed = 7;
        c.chaos.bad_gateway_percent = 15;
        c.timeout_delay = Duration::from_millis(200);
    });
    let client = client(&fake, Duration::from_millis(200));
    let mut pipeline = Pipeline::new("o", "r", None, None, None);
    let full_page = crate::github::pipeline::cost::page_nodes(50, 100);
    let pages = |from: usize| -> Vec<u64> {
        let log = fake.requests();
        let answered = log[from..].iter().filter(|r| r.status == 200);
        answered.filter(|r| r.operation.as_deref() == Some("PullRequestPage")).map(|r| r.nodes).collect()
    };
    for _ in 0..2 {
        pipeline.next_chunk(&client, 50, 3).await.expect("a chunk");
    }
    assert!(pages(0).iter().all(|n| *n >= full_page), "whole pages while nothing timed out: {:?}", pages(0));
    // GitHub slow for two requests in a row: real timeouts, one forgiven,
    // the second halving the limit.
    let mark = fake.requests().len();
    fake.with_control(|c| c.faults.extend([Fault::SlowTimeout, Fault::SlowTimeout]));
    pipeline.next_chunk(&client, 50, 3).await.expect("a chunk through the timeouts");
    let log = fake.requests()[mark..].to_vec();
    let timed_out: Vec<u64> = log.iter().filter(|r| r.fault == Some(Fault::SlowTimeout)).map(|r| r.nodes).collect();
    assert_eq!(timed_out.len(), 2, "{log:#?}");
    let after = log.iter().rposition(|r| r.fault == Some(Fault::SlowTimeout)).unwrap_or(0);
    let next = log[after + 1..].iter().find(|r| r.status == 200).map(|r| r.nodes);
    assert!(next.is_some_and(|n| n <= timed_out[1] / 2 + 1), "asked smaller at once: {next:?} after {timed_out:?}");
    // Within a chunk or two, whole pages again.
    let mark = fake.requests().len();
    for _ in 0..2 {
        pipeline.next_chunk(&client, 50, 3).await.expect("a chunk");
    }
    assert!(pages(mark).iter().any(|n| *n >= full_page), "the size came back: {:?}", pages(mark));
    let hiccups = fake.requests().iter().filter(|r| r.status == 502 && r.fault != Some(Fault::SlowTimeout)).count();
    assert!(hiccups > 0, "hiccups all along");
}

#[tokio::test]
async fn the_first_pages_of_small_repositories_share_requests_and_come_whole() {
    // Twelve repositories of 20 PRs (one with 300 comments each), and one
    // GitHub does not have.
    let specs: Vec<RepoSpec> = (0..12).map(|i| RepoSpec::new("o", &format!("r{i}"), 20)).collect();
    let fake = FakeGithub::start(World::new(&specs)).await.expect("the fake starts");
    let client = client(&fake, Duration::from_secs(10));
    let page = |key: usize, name: &str, size| FirstPage { key, owner: "o".into(), name: name.into(), size };
    let mut pages: Vec<FirstPage> = (0..12).map(|i| page(i, &format!("r{i}"), 20)).collect();
    pages.insert(5, page(99, "gone", 5));
    let mut fleet = Pipeline::fleet(pages);
    let mut got = BTreeMap::new();
    while let Some((key, chunk)) = fleet.next_of_fleet(&client).await.expect("the fleet's pages") {
        assert!(got.insert(key, chunk).is_none(), "{key} handed out once");
    }
    assert!(matches!(got.remove(&99), Some(Err(GithubError::NotFound(_)))), "the missing one fails alone");
    assert_eq!(got.len(), 12);
    for (key, chunk) in &got {
        let chunk = chunk.as_ref().expect("a whole chunk");
        assert_eq!(counts(std::slice::from_ref(chunk)), githubs_of(&fake, &format!("r{key}")), "r{key}");
        assert!(!chunk.has_next_page && chunk.requests >= 1, "r{key}: one page, counted its request");
    }
    let log = fake.requests();
    let charged: i64 = log.iter().map(|r| r.cost).sum();
    let shared: i64 = got.values().filter_map(|c| c.as_ref().ok()).filter_map(|c| c.points).sum();
    assert!((shared - charged).abs() <= 12, "the points are shared out: {shared} of {charged}");
    // Thirteen pages of 41 counted requests, six to a two-point request,
    // and the follow-ups: a handful of requests, not thirteen and more.
    assert!(log.len() <= 6, "{} requests", log.len());
}

#[tokio::test]
async fn a_refetch_brings_the_prs_it_names_whole_and_leaves_out_those_gone() {
    let fake = fake_with(120).await;
    let client = client(&fake, Duration::from_secs(10));
    let (wanted, ids): (Vec<i32>, Vec<String>) = fake.with_world(|w| {
        let prs = w.repo("o", "r").map(|r| r.pull_requests.clone()).unwrap_or_default();
        prs.iter().step_by(3).map(|p| (p.number, p.node_id.clone())).unzip()
    });
    let gone = wanted[2];
    fake.with_world(|w| w.delete_pr("o", "r", gone)).expect("a PR deleted");
    let mut pipeline = Pipeline::refetch("o", "r", ids, None);
    let mut chunks = Vec::new();
    while !pipeline.exhausted() {
        chunks.push(pipeline.next_chunk(&client, 25, 0).await.expect("a chunk"));
    }
    let got: Vec<i32> = chunks.iter().flat_map(|c| c.prs.iter().map(|p| p.number)).collect();
    let want: Vec<i32> = wanted.iter().copied().filter(|n| *n != gone).collect();
    assert_eq!(got, want, "every PR named, once, in order; the one gone left out");
    let mut githubs = githubs(&fake);
    githubs.retain(|n, _| want.contains(n));
    assert_eq!(counts(&chunks), githubs, "each PR whole");
    assert!(chunks.iter().all(|c| c.prs.len() <= 25), "a page of 25 ids at most");
    assert!(chunks.iter().rev().skip(1).all(|c| c.has_next_page), "more pages until the last");
}
