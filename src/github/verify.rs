//! What GitHub says of a repository's PRs, cheaply, for `backfill verify`
//! and the rolling audit: each PR's node id, number, `updatedAt` and counts
//! (`queries/verify.graphql`), never its content. Pages of 100 PRs, oldest
//! created first, one point each; a page that times out is asked again
//! smaller.

use chrono::{DateTime, Utc};
use graphql_client::GraphQLQuery;
use serde::Deserialize;

use super::client::{GithubClient, Reply};
use super::error::GithubError;
use super::queries::{verify_page, VerifyPage};
use super::wire::{self, Costed, Count};

/// PRs a page asks: 101 counted requests (each PR's reviews are a
/// connection), one point.
pub const PAGE: i64 = 100;
/// The smallest page a timeout shrinks it to.
const LEAST_PAGE: i64 = 10;
/// Reviews whose comment counts a PR brings: past them, its review
/// comments are not compared.
pub const REVIEWS_COUNTED: i64 = 100;

/// One PR as GitHub counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePr {
    pub number: i32,
    /// Its node id: how a repair asks for it again.
    pub id: String,
    pub updated_at: DateTime<Utc>,
    pub reviews: i64,
    /// The comments of all its reviews; `None` for a PR with more reviews
    /// than `REVIEWS_COUNTED`, whose count would be short.
    pub review_comments: Option<i64>,
    pub issue_comments: i64,
}

/// A run of a repository's PRs, oldest first: where it ends, and whether
/// GitHub has PRs after it.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub prs: Vec<RemotePr>,
    /// GitHub's count of the repository's PRs, as the last page said.
    pub total_count: i64,
    pub end_cursor: Option<String>,
    /// False: the listing reached the repository's newest PR.
    pub has_next_page: bool,
}

/// How far a listing reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// To the newest PR.
    All,
    /// Until it holds this many PRs (an audit's window).
    Prs(usize),
    /// Until it passes this number (a backfill still under way: what it
    /// has not reached is not compared).
    Through(i32),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerifyData {
    rate_limit: Option<wire::RateLimit>,
    repository: Option<Repository>,
}

impl Costed for VerifyData {
    fn cost(&self) -> Option<i64> {
        self.rate_limit.as_ref().map(|r| r.cost)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Repository {
    pull_requests: wire::Connection<WirePr>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePr {
    id: String,
    number: i32,
    updated_at: DateTime<Utc>,
    reviews: Option<Reviews>,
    comments: Count,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reviews {
    total_count: i64,
    #[serde(default)]
    nodes: Vec<Option<ReviewCount>>,
}

#[derive(Debug, Deserialize)]
struct ReviewCount {
    comments: Count,
}

impl WirePr {
    fn counted(self) -> Result<RemotePr, GithubError> {
        let number = self.number;
        let reviews =
            self.reviews.ok_or_else(|| GithubError::Other(format!("PR #{number} came without its reviews")))?;
        let listed = reviews.nodes.iter().flatten().count() as i64;
        let review_comments = (listed >= reviews.total_count)
            .then(|| reviews.nodes.iter().flatten().map(|r| r.comments.total_count).sum());
        Ok(RemotePr {
            number,
            id: self.id,
            updated_at: self.updated_at,
            reviews: reviews.total_count,
            review_comments,
            issue_comments: self.comments.total_count,
        })
    }
}

/// An answer GitHub cut short at its resource limits is asked again, as
/// any failure is: counts with holes would read as differences.
fn whole(reply: &Reply<VerifyData>) -> Result<(), GithubError> {
    reply.refuse_partial(|| "the PR counts".into())
}

/// The PRs of `owner/name` after `after`, oldest first, as far as `reach`.
pub async fn list(
    client: &GithubClient,
    owner: &str,
    name: &str,
    after: Option<&str>,
    reach: Reach,
) -> Result<Listing, GithubError> {
    let mut listing = Listing { end_cursor: after.map(str::to_string), has_next_page: true, ..Listing::default() };
    let mut size = PAGE;
    while listing.has_next_page && !reached(&listing, reach) {
        let first = match reach {
            Reach::Prs(want) => size.min(i64::try_from(want.saturating_sub(listing.prs.len())).unwrap_or(PAGE)),
            Reach::All | Reach::Through(_) => size,
        };
        let variables =
            verify_page::Variables { owner: owner.into(), name: name.into(), first, after: listing.end_cursor.clone() };
        let reply = match client.query_checked(&VerifyPage::build_query(variables), size > LEAST_PAGE, &whole).await {
            Ok(reply) => reply,
            // A timeout: the same PRs in smaller pages.
            Err(e) if e.asks_for_less() && size > LEAST_PAGE => {
                size = (size / 2).max(LEAST_PAGE);
                continue;
            }
            Err(e) => return Err(e),
        };
        let Some(repository) = reply.data.and_then(|d| d.repository) else {
            return Err(GithubError::from_api_errors(&reply.errors, None)
                .unwrap_or_else(|| GithubError::NotFound(format!("repository {owner}/{name}"))));
        };
        let page = repository.pull_requests;
        listing.total_count = page.total_count;
        let next = page.page_info.end_cursor;
        let read: Vec<RemotePr> = page.nodes.into_iter().flatten().map(WirePr::counted).collect::<Result<_, _>>()?;
        // A cursor that does not move (or nothing after it) ends the listing.
        let moved = next.is_some() && next != listing.end_cursor;
        listing.has_next_page = page.page_info.has_next_page && moved && !read.is_empty();
        listing.prs.extend(read);
        if moved {
            listing.end_cursor = next;
        }
    }
    Ok(listing)
}

/// Whether a listing has read as far as it was asked to.
fn reached(listing: &Listing, reach: Reach) -> bool {
    match reach {
        Reach::All => false,
        Reach::Prs(want) => listing.prs.len() >= want,
        Reach::Through(number) => listing.prs.last().is_some_and(|p| p.number > number),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_comments_are_counted_only_when_every_review_came() {
        let answer = |total: i64, listed: usize| -> WirePr {
            let nodes: Vec<serde_json::Value> =
                (0..listed).map(|i| serde_json::json!({ "comments": { "totalCount": i } })).collect();
            serde_json::from_value(serde_json::json!({
                "id": "PR_1", "number": 1, "updatedAt": "2026-12-01T00:00:00Z",
                "reviews": { "totalCount": total, "nodes": nodes },
                "comments": { "totalCount": 4 },
            }))
            .expect("a PR")
        };
        // (reviews on GitHub, reviews listed) -> review comments
        let cases = [(0, 0, Some(0)), (3, 3, Some(3)), (150, 100, None)];
        for (total, listed, want) in cases {
            let got = answer(total, listed).counted().expect("counted");
            assert_eq!((got.reviews, got.review_comments, got.issue_comments), (total, want, 4), "{total} {listed}");
        }
    }

    #[test]
    fn a_listing_stops_where_it_was_asked_to() {
        let pr = |number| RemotePr {
            number,
            id: format!("PR_{number}"),
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
            reviews: 0,
            review_comments: Some(0),
            issue_comments: 0,
        };
        let listing = Listing { prs: vec![pr(1), pr(2), pr(5)], ..Listing::default() };
        // (reach, reached)
        let cases = [
            (Reach::All, false),
            (Reach::Prs(3), true),
            (Reach::Prs(4), false),
            (Reach::Through(4), true),
            (Reach::Through(5), false),
        ];
        for (reach, want) in cases {
            assert_eq!(reached(&listing, reach), want, "{reach:?}");
        }
    }
}
