//! The document of one request, built from its plan: the page (when one is
//! asked) and the follow-ups under aliases, put together from the fragments
//! in `queries/pull_requests.graphql`. Ids and cursors travel as variables;
//! only window sizes are written into the text. Only the fragments the
//! request uses are sent, as GraphQL requires. The `Layout` says where each
//! follow-up's answer will sit.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use super::follow_up::{Conn, FollowUp, WINDOWS};
use crate::github::client::Document;
use crate::github::wire::{Costed, RateLimit};

const FRAGMENTS: &str = include_str!("../../../queries/pull_requests.graphql");

/// PRs' reviews and issue comments asked inline with each, at most: a
/// window of 100 counts as one request, as one of 30 does, and saves most
/// follow-ups. Under a small node limit the window shrinks (`PageSpec::inline`).
pub const INLINE: i64 = 100;
/// The smallest inline window: a page keeps its PRs by asking fewer of
/// each PR's reviews and comments down to this, and only then fewer PRs.
pub const MIN_INLINE: i64 = 10;
/// Ids per `nodes(ids:)` list, GitHub's maximum.
const IDS_PER_LIST: usize = 100;

/// The order pages come in: a backfill's, oldest created first (new PRs
/// land after its cursor), or a sweep's, most recently updated first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Created,
    RecentlyUpdated,
}

impl Order {
    fn literal(self) -> &'static str {
        match self {
            Order::Created => "{ field: CREATED_AT, direction: ASC }",
            Order::RecentlyUpdated => "{ field: UPDATED_AT, direction: DESC }",
        }
    }
}

/// The page a request asks for: whose PRs, after which cursor, how many,
/// in which order, and how many of each PR's reviews and issue comments.
#[derive(Debug, Clone)]
pub struct PageSpec<'a> {
    pub owner: &'a str,
    pub name: &'a str,
    pub after: Option<&'a str>,
    pub size: i64,
    pub inline: i64,
    pub order: Order,
    /// The PRs of these node ids instead of the repository's page after
    /// `after` (a repair's refetch): a list, not a connection, so one
    /// counted request less than a page of as many PRs.
    pub ids: Option<&'a [String]>,
}

/// A small repository's first page, among a fleet's (`fleet`), and whose
/// it is.
#[derive(Debug, Clone)]
pub struct FirstPage {
    pub key: usize,
    pub owner: String,
    pub name: String,
    /// PRs asked: all the repository has (as last counted), at least one.
    pub size: i64,
}

/// The alias of a request's pages: `repository`, `repository1`, ... (the
/// names a partial answer's path begins with).
pub const PAGE_ALIAS: &str = "repository";

/// What each alias of a request holds: page aliases in the order of the
/// pages; list aliases name the follow-ups (by their index in the
/// request's follow-ups) in list order.
#[derive(Debug, Default)]
pub struct Layout {
    pub pages: Vec<String>,
    pub lists: Vec<(String, Conn, Vec<usize>)>,
    pub ends: Vec<(String, usize)>,
}

impl Layout {
    /// The follow-up an alias (and, for a list, an index in it) stands for.
    pub fn item(&self, alias: &str, index: Option<usize>) -> Option<usize> {
        if let Some((_, _, items)) = self.lists.iter().find(|(a, _, _)| a == alias) {
            return index.and_then(|i| items.get(i).copied());
        }
        self.ends.iter().find(|(a, _)| a == alias).map(|(_, i)| *i)
    }

    /// The follow-ups a hole at the alias (and index) took out: a whole
    /// list when no index is named.
    pub fn struck(&self, alias: &str, index: Option<usize>) -> Vec<usize> {
        match (self.lists.iter().find(|(a, _, _)| a == alias), index) {
            (Some((_, _, items)), None) => items.clone(),
            _ => self.item(alias, index).into_iter().collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RequestBody {
    query: String,
    variables: Map<String, Value>,
    #[serde(rename = "operationName")]
    operation_name: &'static str,
}

impl RequestBody {
    /// A document of the tool's own: `selections` under the operation's
    /// `declared` variables, with the fragments of
    /// `queries/pull_requests.graphql` it spreads.
    pub fn new(
        operation: &'static str,
        declared: &[String],
        selections: &str,
        variables: Map<String, Value>,
        fragments: BTreeSet<&'static str>,
    ) -> RequestBody {
        let params = if declared.is_empty() { String::new() } else { format!("({})", declared.join(", ")) };
        let mut query = format!("query {operation}{params} {{\n{selections}}}\n");
        for fragment in with_dependencies(fragments) {
            query.push('\n');
            query.push_str(&fragment);
        }
        RequestBody { query, variables, operation_name: operation }
    }
}

impl Document for RequestBody {
    fn operation(&self) -> &str {
        self.operation_name
    }
}

/// The answer, each top-level field kept as text until it is read: the
/// page is parsed once, straight into its types, and each alias as the
/// follow-up it answers.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct Answer {
    pub parts: HashMap<String, Box<RawValue>>,
}

impl Answer {
    /// A field parsed; `None` when it is absent.
    pub fn parse<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<serde_json::Result<T>> {
        self.parts.get(key).map(|raw| serde_json::from_str(raw.get()))
    }

    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.parse("rateLimit").and_then(Result::ok)
    }
}

impl Costed for Answer {
    fn cost(&self) -> Option<i64> {
        self.rate_limit().map(|r| r.cost)
    }
}

/// The alias of the `n`th list of a connection's follow-ups read from the
/// start in `window`s: `reviewComments`, `reviewComments1`, ... for whole
/// windows, `reviewComments_5`, `reviewComments_5_1`, ... for smaller ones.
fn list_alias(conn: Conn, window: usize, n: usize) -> String {
    let name = list_name(conn);
    match (window == WINDOWS[WINDOWS.len() - 1], n) {
        (true, 0) => name.to_string(),
        (true, n) => format!("{name}{n}"),
        (false, 0) => format!("{name}_{window}"),
        (false, n) => format!("{name}_{window}_{n}"),
    }
}

fn list_name(conn: Conn) -> &'static str {
    match conn {
        Conn::Reviews => "reviewsOf",
        Conn::IssueComments => "commentsOf",
        Conn::ReviewComments => "reviewComments",
    }
}

/// (type the connection hangs off, field, its connection fragment).
fn shape(conn: Conn) -> (&'static str, &'static str, &'static str) {
    match conn {
        Conn::Reviews => ("PullRequest", "reviews", "ReviewConnectionFields"),
        Conn::IssueComments => ("PullRequest", "comments", "IssueCommentConnectionFields"),
        Conn::ReviewComments => ("PullRequestReview", "comments", "ReviewCommentConnectionFields"),
    }
}

/// The document for pages (operation `PullRequestPage`; several pages are
/// the first pages of as many repositories) and follow-ups (alone:
/// `PullRequestDetails`), with where each page's and follow-up's answer sits.
pub fn document(pages: &[PageSpec<'_>], follow_ups: &[&FollowUp]) -> (RequestBody, Layout) {
    let mut vars = Map::new();
    let mut declared: Vec<String> = Vec::new();
    let mut selections = String::from("  rateLimit {\n    ...RateLimitFields\n  }\n");
    let mut used = BTreeSet::from(["RateLimitFields"]);
    let mut page_aliases = Vec::new();
    for (i, p) in pages.iter().enumerate() {
        // The first page's names are unnumbered, the others numbered.
        let n = if i == 0 { String::new() } else { i.to_string() };
        let alias = format!("{PAGE_ALIAS}{n}");
        if let Some(ids) = p.ids {
            declared.push(format!("$ids{n}: [ID!]!"));
            vars.insert(format!("ids{n}"), json!(ids));
            selections.push_str(&format!(
                "  {alias}: nodes(ids: $ids{n}) {{\n    __typename\n    ...PullRequestFields\n  }}\n"
            ));
            page_aliases.push(alias);
            continue;
        }
        for (var, ty, value) in [
            ("owner", "String!", json!(p.owner)),
            ("name", "String!", json!(p.name)),
            ("first", "Int!", json!(p.size)),
            ("after", "String", json!(p.after)),
        ] {
            declared.push(format!("${var}{n}: {ty}"));
            vars.insert(format!("{var}{n}"), value);
        }
        let connection = format!(
            "pullRequests(first: $first{n}, after: $after{n}, orderBy: {}) {{\n      totalCount\n      pageInfo {{\n        ...PageInfoFields\n      }}\n      nodes {{\n        ...PullRequestFields\n      }}\n    }}",
            p.order.literal()
        );
        selections
            .push_str(&format!("  {alias}: repository(owner: $owner{n}, name: $name{n}) {{\n    {connection}\n  }}\n"));
        page_aliases.push(alias);
    }
    // The inline windows are the fragment's variables: one pair for every
    // page of the request.
    if let Some(inline) = pages.iter().map(|p| p.inline).min() {
        for var in ["reviewsFirst", "commentsFirst"] {
            declared.push(format!("${var}: Int!"));
            vars.insert(var.into(), json!(inline));
        }
        used.extend(["PageInfoFields", "PullRequestFields"]);
    }
    let mut layout = Layout { pages: page_aliases, ..Layout::default() };
    for conn in [Conn::Reviews, Conn::IssueComments, Conn::ReviewComments] {
        let (on, field, fragment) = shape(conn);
        for window in WINDOWS {
            let from_start: Vec<usize> = (0..follow_ups.len())
                .filter(|&i| {
                    matches!(follow_ups[i], FollowUp::FromStart { conn: c, window: w, .. } if *c == conn && *w == window)
                })
                .collect();
            for (n, group) in from_start.chunks(IDS_PER_LIST).enumerate() {
                let alias = list_alias(conn, window, n);
                declared.push(format!("${alias}: [ID!]!"));
                vars.insert(alias.clone(), json!(group.iter().map(|&i| follow_ups[i].id()).collect::<Vec<_>>()));
                selections.push_str(&format!(
                    "  {alias}: nodes(ids: ${alias}) {{\n    __typename\n    ... on {on} {{\n      id\n      {field}(first: {window}) {{\n        ...{fragment}\n      }}\n    }}\n  }}\n"
                ));
                used.insert(fragment);
                layout.lists.push((alias, conn, group.to_vec()));
            }
        }
    }
    for (i, follow_up) in follow_ups.iter().enumerate() {
        let FollowUp::Ends(e) = follow_up else { continue };
        let alias = format!("more{}", layout.ends.len());
        let (on, field, fragment) = shape(e.conn);
        declared.extend([format!("${alias}: ID!"), format!("${alias}After: String")]);
        vars.insert(alias.clone(), json!(e.id));
        vars.insert(format!("{alias}After"), json!(e.front));
        let mut inner = format!(
            "      front: {field}(first: {}, after: ${alias}After) {{\n        ...{fragment}\n      }}\n",
            e.front_size()
        );
        if e.back_size() > 0 {
            declared.push(format!("${alias}Before: String"));
            vars.insert(format!("{alias}Before"), json!(e.back));
            inner.push_str(&format!(
                "      back: {field}(last: {}, before: ${alias}Before) {{\n        ...{fragment}\n      }}\n",
                e.back_size()
            ));
        }
        selections.push_str(&format!(
            "  {alias}: node(id: ${alias}) {{\n    __typename\n    ... on {on} {{\n{inner}    }}\n  }}\n"
        ));
        used.insert(fragment);
        layout.ends.push((alias, i));
    }
    let operation = if pages.is_empty() { "PullRequestDetails" } else { "PullRequestPage" };
    (RequestBody::new(operation, &declared, &selections, vars, used), layout)
}

/// The fragments of `queries/pull_requests.graphql` by name.
fn fragments() -> HashMap<&'static str, &'static str> {
    let mut out = HashMap::new();
    let mut rest = FRAGMENTS;
    while let Some(at) = rest.find("\nfragment ") {
        let text = &rest[at + 1..];
        let end = text.find("\n}\n").map_or(text.len(), |e| e + 3);
        let name = text["fragment ".len()..].split_whitespace().next().unwrap_or_default();
        out.insert(name, &text[..end]);
        rest = &text[end..];
    }
    out
}

/// The fragments named, and every fragment they spread, each once.
fn with_dependencies(names: BTreeSet<&'static str>) -> Vec<String> {
    let all = fragments();
    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    let mut todo: Vec<&str> = names.into_iter().collect();
    while let Some(name) = todo.pop() {
        let Some(text) = all.get(name) else { continue };
        if wanted.insert(name) {
            for spread in text.split("...").skip(1) {
                let next = spread.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap_or_default();
                if next != "on" && !next.is_empty() {
                    todo.push(next);
                }
            }
        }
    }
    wanted.iter().filter_map(|n| all.get(n)).map(|t| t.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::super::follow_up::Ends;
    use super::*;

    #[test]
    fn only_the_fragments_used_are_sent() {
        let one = FollowUp::FromStart { conn: Conn::ReviewComments, id: "r".into(), window: 100 };
        let (body, layout) = document(&[], &[&one]);
        assert!(body.query.contains("fragment ReviewCommentConnectionFields"), "{}", body.query);
        assert!(body.query.contains("fragment ActorFields"), "spread inside a fragment: {}", body.query);
        assert!(!body.query.contains("fragment PullRequestFields"), "{}", body.query);
        assert!(!body.query.contains("fragment ReviewFields"), "{}", body.query);
        assert_eq!(layout.item("reviewComments", Some(0)), Some(0));
        assert_eq!(layout.item("reviewComments", Some(1)), None);
        assert_eq!(body.operation_name, "PullRequestDetails");
    }

    #[test]
    fn lists_past_a_hundred_ids_and_ends_get_aliases_of_their_own() {
        let mut every: Vec<FollowUp> = Vec::new();
        for conn in [Conn::Reviews, Conn::IssueComments, Conn::ReviewComments] {
            every.extend((0..150).map(|i| FollowUp::FromStart { conn, id: format!("id{i}"), window: 100 }));
            every.extend((0..3).map(|i| FollowUp::FromStart { conn, id: format!("small{i}"), window: 5 }));
            for (back, got) in [(None, 100), (Some("b".to_string()), 300)] {
                let front = Some("f".to_string());
                every.push(FollowUp::Ends(Ends { conn, id: "N".into(), front, back, got, total: 450 }));
            }
        }
        let page = PageSpec {
            owner: "o",
            name: "n",
            after: Some("c"),
            size: 50,
            inline: 100,
            order: Order::Created,
            ids: None,
        };
        let refs: Vec<&FollowUp> = every.iter().collect();
        let (body, layout) = document(&[page], &refs);
        assert!(body.query.contains("reviewsOf1: nodes(ids: $reviewsOf1)"), "a second list of 100");
        assert!(body.query.contains("more5: node(id: $more5)"));
        assert!(body.query.contains("reviewComments_5: nodes(ids: $reviewComments_5)"), "a list of small windows");
        assert!(body.query.contains("comments(first: 5)"), "{}", body.query);
        assert_eq!(body.operation_name, "PullRequestPage");
        // Every follow-up has one place in the answer.
        let mut placed: Vec<usize> = layout.lists.iter().flat_map(|(_, _, items)| items.clone()).collect();
        placed.extend(layout.ends.iter().map(|(_, i)| *i));
        placed.sort_unstable();
        assert_eq!(placed, (0..every.len()).collect::<Vec<_>>());
    }
}
