//! The first pages of many small repositories (all their PRs in one page),
//! several to a request under aliases, priced and packed by the same cost
//! rules (`plan::plan_fleet_request`), their follow-ups sharing requests
//! whatever repository they are of. Each chunk comes out whole with its
//! key, for the caller to store alone; a repository GitHub no longer has
//! fails alone. A request shared by several chunks counts to each whose
//! page it brought, and its points are shared among the chunks it served.

use super::assemble::{self, Taken};
use super::chunk::Fetched;
use super::document::{document, Answer, FirstPage, Layout, Order, PageSpec, MIN_INLINE};
use super::follow_up::{estimate, FollowUp};
use super::partial;
use super::plan::{plan_fleet_request, FleetNeeds, FleetPlan, Owed};
use super::Pipeline;
use crate::github::client::{GithubClient, Reply};
use crate::github::error::{GithubError, Retry};

fn page_owed(page: &FirstPage) -> Owed {
    Owed { counted: super::cost::page_cost(page.size), nodes: super::cost::page_nodes(page.size, 100) }
}

impl Pipeline {
    /// The first pages of `pages`, fetched together.
    pub fn fleet(pages: Vec<FirstPage>) -> Pipeline {
        let mut pipeline = Pipeline::new("", "", None, None, None);
        pipeline.queue = pages.into();
        pipeline
    }

    /// The next chunk of the fleet that is whole (or a repository's
    /// failure), in no order; none once every page was fetched and handed out.
    pub async fn next_of_fleet(&mut self, client: &GithubClient) -> Result<Option<Fetched>, GithubError> {
        let mut requests = 0;
        loop {
            if let Some(failed) = self.failed.pop_front() {
                return Ok(Some(failed));
            }
            if let Some((key, chunk)) = self.in_flight.pop_any_whole() {
                return Ok(Some((key, Ok(chunk))));
            }
            if self.queue.is_empty() && self.in_flight.is_empty() {
                return Ok(None);
            }
            if requests >= super::MAX_REQUESTS_PER_CHUNK {
                return Err(GithubError::Other("the fleet's pages needed too many requests; stopped".into()));
            }
            requests += 1;
            self.fleet_request(client).await?;
        }
    }

    /// One request of pages and follow-ups: planned, built, sent, assembled.
    async fn fleet_request(&mut self, client: &GithubClient) -> Result<(), GithubError> {
        let owed = self.in_flight.owed();
        let pages: Vec<Owed> = self.queue.iter().map(page_owed).collect();
        let plan = plan_fleet_request(&FleetNeeds {
            pages: &pages,
            follow_ups: &owed,
            in_flight: self.in_flight.len(),
            node_limit: self.node_limit.now(),
            // On the credential the request goes out on, less the reserve.
            budget: client.spendable(),
        });
        self.requests += 1;
        let taken = self.in_flight.take(plan.follow_ups);
        let asked: Vec<FirstPage> = self.queue.drain(..plan.pages).collect();
        let specs: Vec<PageSpec<'_>> = asked
            .iter()
            .map(|p| PageSpec {
                owner: &p.owner,
                name: &p.name,
                after: None,
                size: p.size,
                inline: plan.inline,
                order: Order::Created,
                ids: None,
            })
            .collect();
        let follow_ups: Vec<&FollowUp> = taken.iter().map(|(_, f)| f).collect();
        let page_sizes: Vec<(i64, i64)> = asked.iter().map(|p| (p.size, plan.inline)).collect();
        let nodes =
            page_sizes.iter().map(|p| estimate(Some(*p), &[]).nodes).sum::<u64>() + estimate(None, &follow_ups).nodes;
        let (body, layout) = document(&specs, &follow_ups);
        let can_shrink = can_shrink(&plan, &asked);
        let (sent_before, spent_before) = (client.requests_sent(), client.points_spent());
        let answer = client.query_checked(&body, can_shrink, &partial::repairable).await;
        let sent = client.requests_sent().wrapping_sub(sent_before);
        let points = (client.points_spent() - spent_before).max(0) as f64;
        match answer {
            Ok(reply) => self.assemble_fleet(reply, &asked, &layout, taken, (sent, points), nodes),
            Err(e) if e.asks_for_less() && can_shrink => {
                self.in_flight.give_back(taken);
                for page in asked.into_iter().rev() {
                    self.queue.push_front(page);
                }
                match e.meaning().retry {
                    Retry::SmallerThisOnce => self.node_limit.failed_twice(nodes),
                    Retry::Smaller | Retry::SmallerAtOnce => self.node_limit.timed_out(nodes),
                    Retry::GiveUp | Retry::Again | Retry::AfterRetryAfter(_) => {}
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// The answer into the chunks: each page a new chunk (or its
    /// repository's failure), each follow-up into its chunk; the request's
    /// requests counted and its points shared.
    fn assemble_fleet(
        &mut self,
        reply: Reply<Answer>,
        asked: &[FirstPage],
        layout: &Layout,
        taken: Vec<Taken>,
        (sent, points): (u32, f64),
        nodes: u64,
    ) -> Result<(), GithubError> {
        let rate_limit = reply.data.as_ref().and_then(Answer::rate_limit);
        self.in_flight.note_budget(reply.budget, rate_limit.as_ref());
        let counted: u64 =
            asked.iter().map(|p| page_owed(p).counted).sum::<u64>() + taken.iter().map(|(_, f)| f.cost()).sum::<u64>();
        let per_counted = points / counted.max(1) as f64;
        for (slot, follow_up) in &taken {
            self.in_flight.add_points(*slot, per_counted * follow_up.cost() as f64);
        }
        if asked.is_empty() {
            self.in_flight.count_to_oldest(sent);
        }
        let reset_at = reply.budget.and_then(|b| b.reset_at);
        let (data, holes) = partial::usable(reply.data, &reply.errors, reset_at)?;
        for (page, alias) in asked.iter().zip(&layout.pages) {
            let full_name = format!("{}/{}", page.owner, page.name);
            let connection = match assemble::page_of(&data, alias, &reply.errors, reset_at, &full_name) {
                Ok(connection) => connection,
                Err(e) => {
                    self.failed.push_back((page.key, Err(e)));
                    continue;
                }
            };
            self.in_flight.push_page(page.key, alias, connection, &holes, None, page.size, None)?;
            let slot = self.in_flight.len() - 1;
            self.in_flight.count_to(slot, sent);
            self.in_flight.add_points(slot, per_counted * page_owed(page).counted as f64);
            self.pages += 1;
        }
        let struck = assemble::struck(layout, &holes);
        let alone = asked.is_empty() && taken.len() == 1;
        let again = self.in_flight.absorb(&data, layout, taken, &struck)?;
        if again.is_empty() {
            self.node_limit.whole(nodes);
            return Ok(());
        }
        self.ask_again(again, alone, nodes, &reply.errors)
    }
}

/// Whether a request of a fleet can be asked smaller: more than one page or
/// follow-up, or one page larger than the least.
fn can_shrink(plan: &FleetPlan, asked: &[FirstPage]) -> bool {
    match asked {
        [] => plan.follow_ups > 1,
        [one] => one.size > 1 || plan.inline > MIN_INLINE || plan.follow_ups > 0,
        _ => true,
    }
}
