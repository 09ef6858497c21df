//! Owners and their repositories: `repositoryOwner(login:)` and its
//! `repositories` connection, filtered and ordered as GitHub's. Every owner
//! of the world is an organization that owns its repositories outright, so
//! `ownerAffiliations` changes nothing, and every repository is public.

use graphql_parser::query::Field;
use serde_json::Value;

use crate::data::Repository;
use crate::exec::{field_arg, Exec, GqlError, Obj};
use crate::paging::Order;

impl<'w> Exec<'w> {
    /// The owner of that login (any case), or null and GitHub's `NOT_FOUND`.
    pub(crate) fn repository_owner(&mut self, f: &'w Field<'w, String>, path: &[Value]) -> Value {
        let login = field_arg(f, "login", self.vars);
        let login = login.as_str().unwrap_or("");
        let found = self.world.repos.iter().find(|r| r.owner.eq_ignore_ascii_case(login) && self.sees(&r.owner));
        if found.is_none() {
            let mut e =
                GqlError::new(Some("NOT_FOUND"), format!("Could not resolve to a User with the login of '{login}'."));
            e.path = path.to_vec();
            self.errors.push(e);
        }
        self.sub(found.map(|r| Obj::Owner(r.owner.as_str())), f, path)
    }

    /// The owner's repositories: `isFork`, `isArchived` and `privacy`
    /// filter; `orderBy` NAME sorts by name, any other field (and none) by
    /// creation, the only dates the fake keeps. Cursors are positions, which
    /// hold in creation order: a new repository comes last.
    pub(crate) fn repositories(&mut self, login: &'w str, f: &'w Field<'w, String>, path: &[Value]) -> Value {
        let flag = |name: &str| field_arg(f, name, self.vars).as_bool();
        let (fork, archived) = (flag("isFork"), flag("isArchived"));
        let private_only = field_arg(f, "privacy", self.vars).as_str() == Some("PRIVATE");
        let mut repos: Vec<&'w Repository> = self
            .world
            .repos
            .iter()
            .filter(|r| r.owner == login && !private_only)
            .filter(|r| fork.is_none_or(|want| r.fork == want) && archived.is_none_or(|want| r.archived == want))
            .collect();
        let order = field_arg(f, "orderBy", self.vars);
        match order["field"].as_str() {
            Some("NAME") => repos.sort_by_key(|r| r.name.to_lowercase()),
            _ => repos.sort_by_key(|r| r.created_at),
        }
        let descending = order["direction"].as_str() == Some("DESC");
        let items = repos.into_iter().map(Obj::Repo).collect();
        self.connection(items, Order::Listed { descending }, false, f, path)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};
    use serde_json::{json, Value};

    use crate::chaos_tests::ask;
    use crate::data::RepoSpec;
    use crate::server::{AppState, Shared};
    use crate::world::{Control, World};

    /// 250 repositories of `org` (every 50th a fork, every 70th archived,
    /// created in reverse order of their names), and one of `other`.
    fn owners() -> AppState {
        let start = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).single().expect("a date");
        let mut specs: Vec<RepoSpec> = (0..250)
            .map(|i| RepoSpec {
                fork: i % 50 == 7,
                archived: i % 70 == 9,
                created_at: Some(start + Duration::days(250 - i as i64)),
                ..RepoSpec::new("org", &format!("repo-{i:03}"), 2)
            })
            .collect();
        specs.push(RepoSpec::new("other", "alone", 1));
        let world = World::new(&specs);
        std::sync::Arc::new(Shared { world: world.into(), control: Control::default().into() })
    }

    const LIST: &str = "query($login: String!, $after: String, $fork: Boolean, $order: RepositoryOrder) { \
        rateLimit { cost } repositoryOwner(login: $login) { __typename login \
        repositories(first: 100, after: $after, isFork: $fork, ownerAffiliations: [OWNER], orderBy: $order) { \
        totalCount pageInfo { hasNextPage endCursor } nodes { name isFork isArchived createdAt pullRequests { totalCount } } } } }";

    /// A whole listing: the names, the cost of each page, the total.
    type Listing = (Vec<String>, Vec<i64>, i64);

    async fn listing(state: &AppState, login: &str, fork: Value, order: Value) -> Listing {
        let (mut names, mut costs, mut after) = (Vec::new(), Vec::new(), Value::Null);
        loop {
            let vars = json!({ "login": login, "after": after, "fork": fork, "order": order });
            let a = ask(state, LIST, vars).await;
            let c = &a.body["data"]["repositoryOwner"]["repositories"];
            names.extend(
                c["nodes"].as_array().expect("nodes").iter().map(|n| n["name"].as_str().unwrap_or("").to_string()),
            );
            costs.push(a.body["data"]["rateLimit"]["cost"].as_i64().expect("a cost"));
            if c["pageInfo"]["hasNextPage"] != json!(true) {
                return (names, costs, c["totalCount"].as_i64().expect("a total"));
            }
            after = c["pageInfo"]["endCursor"].clone();
        }
    }

    #[tokio::test]
    async fn an_owners_repositories_come_100_a_page_for_a_point_each_in_the_order_asked() {
        let state = owners();
        let by_name: Vec<String> = (0..250).map(|i| format!("repo-{i:03}")).collect();
        let oldest_first: Vec<String> = by_name.iter().rev().cloned().collect();
        let forks = ["repo-007", "repo-057", "repo-107", "repo-157", "repo-207"];
        let created = json!({ "field": "CREATED_AT", "direction": "ASC" });
        // (login, isFork, orderBy) -> (names, cost of each page, totalCount)
        let cases: Vec<((&str, Value, Value), Listing)> = vec![
            (("org", Value::Null, created.clone()), (oldest_first.clone(), vec![1, 1, 1], 250)),
            (("ORG", Value::Null, Value::Null), (oldest_first.clone(), vec![1, 1, 1], 250)),
            (
                ("org", Value::Null, json!({ "field": "NAME", "direction": "ASC" })),
                (by_name.clone(), vec![1, 1, 1], 250),
            ),
            (("org", json!(true), created.clone()), (forks.iter().rev().map(|s| s.to_string()).collect(), vec![1], 5)),
            (("other", Value::Null, created.clone()), (vec!["alone".to_string()], vec![1], 1)),
        ];
        for ((login, fork, order), want) in cases {
            assert_eq!(listing(&state, login, fork.clone(), order.clone()).await, want, "{login} {fork} {order}");
        }
    }

    #[tokio::test]
    async fn a_repository_says_what_it_is_and_an_unknown_owner_is_not_found() {
        let state = owners();
        let a = ask(&state, LIST, json!({ "login": "org", "fork": true })).await;
        let first = &a.body["data"]["repositoryOwner"]["repositories"]["nodes"][0];
        assert_eq!(first["name"], "repo-207");
        assert_eq!((&first["isFork"], &first["isArchived"]), (&json!(true), &json!(false)));
        assert_eq!(first["createdAt"], "2020-02-13T00:00:00+00:00");
        assert_eq!(first["pullRequests"]["totalCount"], 2);
        assert_eq!(a.body["data"]["repositoryOwner"]["__typename"], "Organization");

        let a = ask(&state, LIST, json!({ "login": "nobody" })).await;
        assert_eq!(a.body["data"]["repositoryOwner"], Value::Null, "{}", a.body);
        assert_eq!(a.body["errors"][0]["type"], "NOT_FOUND");
        assert_eq!(a.body["errors"][0]["path"], json!(["repositoryOwner"]));
        assert_eq!(a.body["errors"][0]["message"], "Could not resolve to a User with the login of 'nobody'.");

        let unbounded = "{ repositoryOwner(login: \"org\") { repositories { nodes { name } } } }";
        let a = ask(&state, unbounded, json!({})).await;
        assert_eq!(a.body["errors"][0]["type"], "MISSING_PAGINATION_BOUNDARIES", "{}", a.body);
    }

    #[tokio::test]
    async fn a_repository_created_meanwhile_comes_last_and_a_taken_name_is_refused() {
        let state = owners();
        let created = json!({ "field": "CREATED_AT", "direction": "ASC" });
        let before = listing(&state, "org", Value::Null, created.clone()).await.0;
        {
            let mut world = state.world.write().expect("the world");
            world.create_repository(&RepoSpec::new("org", "brand-new", 3)).expect("created");
            let again = world.create_repository(&RepoSpec::new("Org", "Brand-New", 1));
            assert!(again.is_err(), "GitHub names are case-insensitive");
        }
        let after = listing(&state, "org", Value::Null, created).await.0;
        assert_eq!(after[..250], before[..], "the others keep their places");
        assert_eq!(after[250..], ["brand-new".to_string()]);
        let q = "{ repository(owner: \"org\", name: \"brand-new\") { createdAt pullRequests { totalCount } } }";
        let a = ask(&state, q, json!({})).await;
        assert_eq!(a.body["data"]["repository"]["pullRequests"]["totalCount"], 3, "{}", a.body);
        let made = a.body["data"]["repository"]["createdAt"].as_str().unwrap_or("");
        assert!(made.starts_with(&Utc::now().format("%Y-").to_string()), "created now: {made}");
    }
}
