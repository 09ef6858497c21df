//! The requests after the page: `PullRequestDetails` for everything that can
//! be asked by id alone, many PRs and reviews at once, and the `...Page`
//! queries that follow one connection past its first 100 items. An id that
//! GitHub times out on, or answers in part, is asked again in a smaller
//! request, down to one id; one that keeps failing alone fails the chunk,
//! naming its PR.

use graphql_client::GraphQLQuery;

use super::client::{GithubClient, Reply};
use super::error::GithubError;
use super::fetch::{fail_on_errors, partial_message, take_ids, Assembly, IDS_PER_LIST};
use super::follow::{tail_nodes, Continuation};
use super::partial;
use super::queries::{
    issue_comments_page, pull_request_details, review_comments_page, reviews_page, IssueCommentsPage,
    PullRequestDetails, ReviewCommentsPage, ReviewsPage,
};
use super::wire::{self, NodeData};
use crate::text::one_line;

/// Partial answers one id may get, in requests of one id, before its chunk fails.
const MAX_STRIKES: u32 = 4;

/// Which list of the details request an id went in.
#[derive(Clone, Copy)]
enum List {
    ReviewsOf,
    CommentsOf,
    ReviewComments,
}

impl Assembly {
    /// One request for everything that can be asked by id alone.
    pub(super) async fn fetch_details(&mut self, client: &GithubClient) -> Result<(), GithubError> {
        let mut room = self.ids_per_request;
        let mut take = |list: &mut Vec<String>| {
            let ids = take_ids(list, IDS_PER_LIST.min(room));
            room -= ids.len();
            ids
        };
        let vars = pull_request_details::Variables {
            reviews_of: take(&mut self.reviews_of),
            comments_of: take(&mut self.comments_of),
            review_comments_a: take(&mut self.review_comments_of),
            review_comments_b: take(&mut self.review_comments_of),
            review_comments_c: take(&mut self.review_comments_of),
            review_comments_d: take(&mut self.review_comments_of),
        };
        let sent_ids = self.ids_per_request - room;
        let body = PullRequestDetails::build_query(vars);
        // Holes GitHub names by list and index are asked again alone; any
        // other partial answer is asked again whole, smaller.
        let named = |reply: &Reply<wire::DetailsData>| match partial::list_holes(&reply.errors) {
            Some(_) => Ok(()),
            None => Err(GithubError::ResourceLimits(one_line(&partial_message(&reply.errors)))),
        };
        let reply = match client.query_checked(&body, sent_ids > 1, &named).await {
            Err(e) if e.asks_for_less() && sent_ids > 1 => {
                // Put the ids back, in order, and ask for half as many at a time.
                let v = body.variables;
                let review_comments =
                    [v.review_comments_a, v.review_comments_b, v.review_comments_c, v.review_comments_d].concat();
                self.reviews_of.splice(0..0, v.reviews_of);
                self.comments_of.splice(0..0, v.comments_of);
                self.review_comments_of.splice(0..0, review_comments);
                self.cut_ids((sent_ids / 2).max(1));
                // GitHub's timeouts are about size, but one may be load: a
                // second at that size or more, and the chunk never asks
                // that many again.
                if self.last_cut_from.is_some_and(|m| sent_ids >= m) {
                    self.ids_ceiling = self.ids_ceiling.min(self.ids_per_request);
                }
                self.last_cut_from = Some(sent_ids);
                return Ok(());
            }
            Err(e) if e.asks_for_less() => return Err(self.name_the_pr(&body.variables, e)),
            other => other?,
        };
        let Some(data) = reply.data else {
            return Err(GithubError::from_api_errors(&reply.errors, reply.budget.and_then(|b| b.reset_at))
                .unwrap_or_else(|| GithubError::ServerError("an answer without data".into())));
        };
        self.page.count(reply.budget, data.rate_limit.as_ref());
        fail_on_errors(&reply.errors)?;
        let holes = partial::list_holes(&reply.errors).unwrap_or_default();
        let hit = |alias: &str, at: usize| holes.iter().any(|(a, i)| a == alias && *i == at);
        let v = &body.variables;
        let mut again: Vec<(List, String)> = Vec::new();
        for (at, item) in data.reviews_of.into_iter().enumerate() {
            // GitHub answers one item per id asked; anything past that is not ours.
            let Some(id) = v.reviews_of.get(at) else { break };
            match item.map(|i| (i.id, i.reviews)) {
                _ if hit("reviewsOf", at) => again.push((List::ReviewsOf, id.clone())),
                Some((Some(id), Some(conn))) => {
                    if let Some(&pr) = self.pr_index.get(&id) {
                        self.add_reviews(pr, conn, Some(0), Vec::new())?;
                    }
                }
                Some((Some(id), None)) => again.push((List::ReviewsOf, id)),
                _ => {}
            }
        }
        for (at, item) in data.comments_of.into_iter().enumerate() {
            let Some(id) = v.comments_of.get(at) else { break };
            match item.map(|i| (i.id, i.comments)) {
                _ if hit("commentsOf", at) => again.push((List::CommentsOf, id.clone())),
                Some((Some(id), Some(conn))) => {
                    if let Some(&pr) = self.pr_index.get(&id) {
                        self.add_issue_comments(pr, conn, Some(0), Vec::new())?;
                    }
                }
                Some((Some(id), None)) => again.push((List::CommentsOf, id)),
                _ => {}
            }
        }
        let lists = [
            ("reviewCommentsA", data.review_comments_a, &v.review_comments_a),
            ("reviewCommentsB", data.review_comments_b, &v.review_comments_b),
            ("reviewCommentsC", data.review_comments_c, &v.review_comments_c),
            ("reviewCommentsD", data.review_comments_d, &v.review_comments_d),
        ];
        for (alias, items, ids) in lists {
            for (at, item) in items.into_iter().enumerate() {
                let Some(id) = ids.get(at) else { break };
                match item.map(|i| (i.id, i.comments)) {
                    _ if hit(alias, at) => again.push((List::ReviewComments, id.clone())),
                    Some((Some(id), Some(conn))) => self.add_review_comments(&id, conn, 0, Vec::new())?,
                    Some((Some(id), None)) => again.push((List::ReviewComments, id)),
                    _ => {}
                }
            }
        }
        if again.is_empty() {
            self.grow_ids();
        } else {
            self.ask_again(again, &reply.errors)?;
        }
        Ok(())
    }

    /// Ids a partial answer left out go back to the front of their lists;
    /// an id left out twice goes in a request with fewer ids.
    fn ask_again(&mut self, ids: Vec<(List, String)>, errors: &[wire::ApiError]) -> Result<(), GithubError> {
        let mut again = false;
        for (list, id) in ids.into_iter().rev() {
            let strikes = self.strikes.entry(id.clone()).or_insert(0);
            *strikes += 1;
            again |= *strikes >= 2;
            // Failing alone, again and again: GitHub will not answer it.
            if *strikes > MAX_STRIKES && self.ids_per_request == 1 {
                let why = GithubError::ResourceLimits(one_line(&partial_message(errors)));
                return Err(GithubError::Other(format!("{}, asked alone, still failed: {why}", self.pr_named_by(&id))));
            }
            let target = match list {
                List::ReviewsOf => &mut self.reviews_of,
                List::CommentsOf => &mut self.comments_of,
                List::ReviewComments => &mut self.review_comments_of,
            };
            target.insert(0, id);
        }
        if again {
            self.cut_ids((self.ids_per_request / 2).max(1));
        }
        Ok(())
    }

    /// Fewer ids per request from now on, and remembered for the repository.
    fn cut_ids(&mut self, to: usize) {
        self.ids_per_request = to;
        self.ids_cut_to = Some(self.ids_cut_to.map_or(to, |n| n.min(to)));
        self.clean_in_a_row = 0;
    }

    /// Two whole answers in a row double the ids per request again, up to
    /// where the chunk began.
    fn grow_ids(&mut self) {
        self.clean_in_a_row += 1;
        if self.clean_in_a_row >= 2 && self.ids_per_request < self.ids_ceiling {
            self.ids_per_request = (self.ids_per_request * 2).min(self.ids_ceiling);
            self.clean_in_a_row = 0;
        }
    }

    /// The PR an id (a PR's or a review's) belongs to, as a person names it.
    fn pr_named_by(&self, id: &str) -> String {
        let pr = self.pr_index.get(id).or_else(|| self.review_pr.get(id));
        pr.and_then(|&i| self.page.prs.get(i)).map_or_else(|| format!("node {id}"), |p| format!("PR #{}", p.number))
    }

    /// A request of a single id that still fails: say whose.
    fn name_the_pr(&self, v: &pull_request_details::Variables, e: GithubError) -> GithubError {
        let all = [&v.reviews_of, &v.comments_of, &v.review_comments_a, &v.review_comments_b];
        match all.into_iter().flatten().next() {
            Some(id) => e.asked_alone(&self.pr_named_by(id)),
            None => e,
        }
    }

    /// One request for a connection past its first 100 items (and its last 100).
    pub(super) async fn follow_one(&mut self, client: &GithubClient) -> Result<(), GithubError> {
        let Some(next) = self.continuations.pop() else { return Ok(()) };
        match next {
            Continuation::Reviews { pr, after, got } => {
                let body = ReviewsPage::build_query(reviews_page::Variables { id: pr.clone(), after: Some(after) });
                let node: Option<wire::ReviewsOfPr> = self.node_query(client, &body, &pr).await?;
                if let (Some(node), Some(&idx)) = (node, self.pr_index.get(&pr)) {
                    if let Some(conn) = node.reviews {
                        self.add_reviews(idx, conn, Some(got), tail_nodes(node.tail))?;
                    }
                }
            }
            Continuation::IssueComments { pr, after, got } => {
                let body = IssueCommentsPage::build_query(issue_comments_page::Variables {
                    id: pr.clone(),
                    after: Some(after),
                });
                let node: Option<wire::CommentsOfPr> = self.node_query(client, &body, &pr).await?;
                if let (Some(node), Some(&idx)) = (node, self.pr_index.get(&pr)) {
                    if let Some(conn) = node.comments {
                        self.add_issue_comments(idx, conn, Some(got), tail_nodes(node.tail))?;
                    }
                }
            }
            Continuation::ReviewComments { review, after, got } => {
                let body = ReviewCommentsPage::build_query(review_comments_page::Variables {
                    id: review.clone(),
                    after: Some(after),
                });
                let node: Option<wire::CommentsOfReview> = self.node_query(client, &body, &review).await?;
                if let Some(node) = node {
                    if let Some(conn) = node.comments {
                        self.add_review_comments(&review, conn, got, tail_nodes(node.tail))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A continuation answered in part is asked again as it is (one window
    /// of one connection is the smallest there is); one that keeps failing
    /// names its PR.
    async fn node_query<V: serde::Serialize, T: serde::de::DeserializeOwned>(
        &mut self,
        client: &GithubClient,
        body: &graphql_client::QueryBody<V>,
        id: &str,
    ) -> Result<Option<T>, GithubError> {
        let whole = |reply: &Reply<NodeData<T>>| match partial::any(&reply.errors) {
            false => Ok(()),
            true => Err(GithubError::ResourceLimits(one_line(&partial_message(&reply.errors)))),
        };
        let reply = match client.query_checked(body, false, &whole).await {
            Err(e) if e.asks_for_less() => return Err(e.asked_alone(&self.pr_named_by(id))),
            other => other?,
        };
        let rate_limit = reply.data.as_ref().and_then(|d| d.rate_limit.as_ref());
        self.page.count(reply.budget, rate_limit);
        fail_on_errors(&reply.errors)?;
        Ok(reply.data.and_then(|d| d.node))
    }
}
