//! GitHub's GraphQL cost formula, computed from the document as sent.
//!
//! Every connection given `first`/`last` needs as many requests as the product
//! of the `first` values of the connections above it (each parent assumed
//! full); the sum of those, divided by 100 and rounded half up, is the cost (at
//! least 1). Nodes are the product including the connection's own `first`.
//! `nodes(ids:)` is a list, not a connection: it adds no request of its own and
//! multiplies the node count by the number of ids. Under `CostReading::PerId`
//! (the default) it multiplies the requests below it too, since each id is a
//! parent whose connections must be filled; under `PerList` it does not. A
//! connection read for `totalCount` alone, without `first`, fills no page and
//! costs nothing.

use std::collections::HashMap;

use graphql_parser::query::{FragmentDefinition, Selection, SelectionSet};
use serde_json::{Map, Value};

use crate::exec::{field_arg, GqlError};
use crate::world::CostReading;

pub const MAX_NODES: u64 = 500_000;
pub const MAX_FIRST: u64 = 100;

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Cost {
    pub requests: u64,
    pub nodes: u64,
}

impl Cost {
    /// GitHub's rounding: to the nearest 100 requests, half up, at least 1.
    pub fn points(&self) -> i64 {
        i64::try_from(self.requests.saturating_add(50) / 100).unwrap_or(i64::MAX).max(1)
    }
}

pub struct CostWalk<'a> {
    pub vars: &'a Map<String, Value>,
    pub fragments: &'a HashMap<&'a str, &'a FragmentDefinition<'a, String>>,
    pub reading: CostReading,
    pub cost: Cost,
}

impl<'a> CostWalk<'a> {
    /// Walks a selection; `requests_mult` and `nodes_mult` are the products of
    /// the enclosing connections' (and lists') sizes.
    pub fn walk(
        &mut self,
        set: &'a SelectionSet<'a, String>,
        requests_mult: u64,
        nodes_mult: u64,
        depth: usize,
    ) -> Result<(), GqlError> {
        if depth > 64 {
            return Err(GqlError::new(None, "Query has depth of more than 64, which exceeds max depth of 64"));
        }
        for sel in &set.items {
            match sel {
                Selection::Field(f) => {
                    let first = field_arg(f, "first", self.vars);
                    let last = field_arg(f, "last", self.vars);
                    let size = first.as_i64().or(last.as_i64());
                    if let Some(n) = size {
                        if n < 0 || n as u64 > MAX_FIRST {
                            return Err(GqlError::new(
                                Some("EXCESSIVE_PAGINATION"),
                                format!("Requesting {n} records on the `{}` connection exceeds the `first` limit of 100 records.", f.name),
                            ));
                        }
                        let n = n as u64;
                        // Saturating: a deep enough document overflows u64,
                        // and then is over every limit anyway.
                        self.cost.requests = self.cost.requests.saturating_add(requests_mult);
                        self.cost.nodes = self.cost.nodes.saturating_add(nodes_mult.saturating_mul(n));
                        let (requests_below, nodes_below) =
                            (requests_mult.saturating_mul(n), nodes_mult.saturating_mul(n));
                        self.walk(&f.selection_set, requests_below, nodes_below, depth + 1)?;
                    } else if f.name == "nodes" && !field_arg(f, "ids", self.vars).is_null() {
                        let k = field_arg(f, "ids", self.vars).as_array().map_or(0, Vec::len) as u64;
                        self.cost.nodes = self.cost.nodes.saturating_add(nodes_mult.saturating_mul(k));
                        let requests_below = match self.reading {
                            CostReading::PerId => requests_mult.saturating_mul(k.max(1)),
                            CostReading::PerList => requests_mult,
                        };
                        self.walk(&f.selection_set, requests_below, nodes_mult.saturating_mul(k.max(1)), depth + 1)?;
                    } else if is_paged_connection(f) {
                        return Err(GqlError::new(
                            Some("MISSING_PAGINATION_BOUNDARIES"),
                            format!(
                                "You must provide a `first` or `last` value to properly paginate the `{}` connection.",
                                f.name
                            ),
                        ));
                    } else {
                        self.walk(&f.selection_set, requests_mult, nodes_mult, depth + 1)?;
                    }
                }
                Selection::InlineFragment(i) => self.walk(&i.selection_set, requests_mult, nodes_mult, depth + 1)?,
                Selection::FragmentSpread(s) => {
                    if let Some(frag) = self.fragments.get(s.fragment_name.as_str()).copied() {
                        self.walk(&frag.selection_set, requests_mult, nodes_mult, depth + 1)?;
                    } else {
                        return Err(GqlError::new(
                            None,
                            format!("Fragment {} was used, but not defined", s.fragment_name),
                        ));
                    }
                }
            }
        }
        if self.cost.nodes > MAX_NODES {
            return Err(GqlError::new(
                Some("MAX_NODE_LIMIT_EXCEEDED"),
                format!("By the time this query traverses to the nodes connection, it is requesting up to {} possible nodes which exceeds the maximum limit of 500,000.", self.cost.nodes),
            ));
        }
        Ok(())
    }
}

/// Whether a query asks for `rateLimit` alone: GitHub charges nothing for
/// it (`rateLimit.cost` 0) and answers it even once the budget is spent.
/// Only plain top-level fields count; anything else is costed as usual.
pub fn is_free(set: &SelectionSet<'_, String>) -> bool {
    !set.items.is_empty() && set.items.iter().all(|s| matches!(s, Selection::Field(f) if f.name == "rateLimit"))
}

/// A connection that asks for items (`nodes`/`edges`) must say how many.
fn is_paged_connection(f: &graphql_parser::query::Field<'_, String>) -> bool {
    const CONNECTIONS: &[&str] = &["pullRequests", "reviews", "comments", "commits", "repositories"];
    CONNECTIONS.contains(&f.name.as_str())
        && f.selection_set
            .items
            .iter()
            .any(|s| matches!(s, Selection::Field(x) if x.name == "nodes" || x.name == "edges"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::fragments;

    type Doc<'a> = graphql_parser::query::Document<'a, String>;

    fn operation<'a>(doc: &'a Doc<'a>) -> &'a SelectionSet<'a, String> {
        doc.definitions
            .iter()
            .find_map(|d| match d {
                graphql_parser::query::Definition::Operation(graphql_parser::query::OperationDefinition::Query(q)) => {
                    Some(&q.selection_set)
                }
                graphql_parser::query::Definition::Operation(
                    graphql_parser::query::OperationDefinition::SelectionSet(s),
                ) => Some(s),
                _ => None,
            })
            .expect("an operation")
    }

    fn cost(query: &str, vars: &serde_json::Value, reading: CostReading) -> Result<(Cost, i64), Option<&'static str>> {
        let doc = graphql_parser::parse_query::<String>(query).expect("query parses");
        let frags = fragments(&doc);
        let vars = vars.as_object().cloned().unwrap_or_default();
        let set = operation(&doc);
        let mut walk = CostWalk { vars: &vars, fragments: &frags, reading, cost: Cost::default() };
        walk.walk(set, 1, 1, 0).map_err(|e| e.kind)?;
        Ok((walk.cost, walk.cost.points()))
    }

    /// (requests, nodes, points), or the error type GitHub would answer with.
    type Want = Result<(u64, u64, i64), Option<&'static str>>;

    /// `count` review ids, split into lists of at most 100 as variables `l0`, `l1`...
    fn id_lists(count: usize) -> (String, serde_json::Value) {
        let ids: Vec<String> = (0..count).map(|i| format!("PRR_{i}")).collect();
        let lists: Vec<&[String]> = ids.chunks(100).collect();
        let params: Vec<String> = (0..lists.len()).map(|i| format!("$l{i}: [ID!]!")).collect();
        let fields: Vec<String> = (0..lists.len())
            .map(|i| format!("l{i}: nodes(ids: $l{i}) {{ ... on PullRequestReview {{ comments(first: 100) {{ totalCount }} }} }}"))
            .collect();
        let vars = lists.iter().enumerate().map(|(i, l)| (format!("l{i}"), serde_json::json!(l))).collect();
        (format!("query({}) {{ {} }}", params.join(", "), fields.join(" ")), serde_json::Value::Object(vars))
    }

    #[test]
    fn costs_follow_githubs_formula() {
        let none = serde_json::json!({});
        let (ids_149, vars_149) = id_lists(149);
        let (ids_151, vars_151) = id_lists(151);
        // Twelve nested connections of 100 overflow u64 nodes: refused, not a panic.
        let deep = format!("{{ {}x{} }}", "c(first: 100) { ".repeat(12), " }".repeat(12));
        // Each case under [PerId, PerList]; they differ only under `nodes(ids:)`.
        let cases: Vec<(&str, serde_json::Value, [Want; 2])> = vec![
            // GitHub's documented example: 1 + 100 + 100*50 requests, 51 points.
            (
                "{ viewer { repositories(first: 100) { nodes { issues(first: 50) { nodes { labels(first: 60) { nodes { name } } } } } } } }",
                none.clone(),
                [Ok((5_101, 100 + 5_000 + 300_000, 51)); 2],
            ),
            // Our page: two connections under 50 PRs, one point.
            (
                "query($n: Int!) { repository(owner: \"o\", name: \"n\") { pullRequests(first: $n) { nodes { reviews(first: 30) { totalCount } comments(first: 40) { totalCount } commits { totalCount } } } } }",
                serde_json::json!({ "n": 50 }),
                [Ok((101, 50 + 1_500 + 2_000, 1)); 2],
            ),
            // `backfill verify`'s page: 100 PRs' reviews (their comments
            // and the issue comments counted without `first`), one point.
            (
                "{ repository(owner: \"o\", name: \"n\") { pullRequests(first: 100) { totalCount nodes { number reviews(first: 100) { totalCount nodes { comments { totalCount } } } comments { totalCount } } } } }",
                none.clone(),
                [Ok((101, 100 + 10_000, 1)); 2],
            ),
            // A third connection at 50 PRs would round up to two points.
            (
                "{ repository(owner: \"o\", name: \"n\") { pullRequests(first: 50) { nodes { a: reviews(first: 1) { totalCount } b: reviews(first: 1) { totalCount } c: reviews(first: 1) { totalCount } } } } }",
                none.clone(),
                [Ok((151, 200, 2)); 2],
            ),
            // nodes(ids:) is a list: each id a parent (per id), or one request (per list).
            (
                "query($ids: [ID!]!) { nodes(ids: $ids) { ... on PullRequestReview { comments(first: 100) { totalCount } } } }",
                serde_json::json!({ "ids": ["a", "b", "c"] }),
                [Ok((3, 3 + 300, 1)), Ok((1, 3 + 300, 1))],
            ),
            // 100 + 49 ids: 149 requests round to one point; 100 + 51 to two.
            (&ids_149, vars_149, [Ok((149, 149 + 14_900, 1)), Ok((2, 149 + 14_900, 1))]),
            (&ids_151, vars_151, [Ok((151, 151 + 15_100, 2)), Ok((2, 151 + 15_100, 1))]),
            // Deeper: 2 PRs' reviews (2 requests), each of their 10 reviews' comments (20).
            (
                "query($ids: [ID!]!) { nodes(ids: $ids) { ... on PullRequest { reviews(first: 10) { nodes { comments(first: 5) { totalCount } } } } } }",
                serde_json::json!({ "ids": ["a", "b"] }),
                [Ok((22, 2 + 20 + 100, 1)), Ok((11, 2 + 20 + 100, 1))],
            ),
            // Fragments count where they are spread.
            (
                "query { repository(owner: \"o\", name: \"n\") { pullRequests(first: 10) { ...F } } } fragment F on PullRequestConnection { nodes { reviews(first: 10) { totalCount } } }",
                none.clone(),
                [Ok((11, 110, 1)); 2],
            ),
            (
                "{ repository(owner: \"o\", name: \"n\") { pullRequests(first: 101) { totalCount } } }",
                none.clone(),
                [Err(Some("EXCESSIVE_PAGINATION")); 2],
            ),
            (
                "{ repository(owner: \"o\", name: \"n\") { pullRequests { nodes { number } } } }",
                none.clone(),
                [Err(Some("MISSING_PAGINATION_BOUNDARIES")); 2],
            ),
            (
                "{ viewer { repositories(first: 100) { nodes { issues(first: 100) { nodes { labels(first: 100) { nodes { name } } } } } } } }",
                none.clone(),
                [Err(Some("MAX_NODE_LIMIT_EXCEEDED")); 2],
            ),
            (&deep, none.clone(), [Err(Some("MAX_NODE_LIMIT_EXCEEDED")); 2]),
        ];
        for (query, vars, wants) in cases {
            for (reading, want) in [CostReading::PerId, CostReading::PerList].into_iter().zip(wants) {
                let got = cost(query, &vars, reading).map(|(c, p)| (c.requests, c.nodes, p));
                assert_eq!(got, want, "{reading:?}: {query}");
            }
        }
    }

    #[test]
    fn the_rate_limit_alone_is_free() {
        let cases = [
            ("query RateLimitNow { rateLimit { cost remaining } }", true),
            ("{ a: rateLimit { cost } b: rateLimit { remaining } }", true),
            ("{ rateLimit { cost } viewer { login } }", false),
            ("{ viewer { rateLimit { cost } } }", false),
            ("query Q { ...F } fragment F on Query { rateLimit { cost } }", false),
        ];
        for (query, free) in cases {
            let doc = graphql_parser::parse_query::<String>(query).expect("query parses");
            assert_eq!(is_free(operation(&doc)), free, "{query}");
        }
    }

    #[test]
    fn points_round_half_up_and_are_at_least_one() {
        for (requests, points) in [(0, 1), (1, 1), (149, 1), (150, 2), (151, 2), (249, 2), (250, 3), (5_101, 51)] {
            assert_eq!(Cost { requests, nodes: 0 }.points(), points, "{requests} requests");
        }
    }
}
