//! Every document in `queries/` must be valid against GitHub's full public
//! schema (the file named by `GITHUB_GRAPHQL_SCHEMA`, which CI downloads, or
//! `../shared/github/schema.graphql`), and the project's minimal
//! `queries/schema.graphql` must say nothing the full schema does not.

use std::path::{Path, PathBuf};

use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use backfill::github::news::{self, NewsAsk};
use backfill::github::pipeline::document::{document, Order, PageSpec};
use backfill::github::pipeline::follow_up::{estimate, Conn, Ends, Estimate, FollowUp};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Where GitHub's full public schema is: `GITHUB_GRAPHQL_SCHEMA` when set,
/// for a checkout with no `../shared` beside it (as on GitHub's runners).
fn github_schema_path() -> PathBuf {
    let default = root().join("../shared/github/schema.graphql");
    let path = std::env::var_os("GITHUB_GRAPHQL_SCHEMA").filter(|p| !p.is_empty()).map_or(default, PathBuf::from);
    if !path.is_file() {
        panic!(
            "GitHub's GraphQL schema is missing at {}: set GITHUB_GRAPHQL_SCHEMA to a copy of \
             https://docs.github.com/public/fpt/schema.docs.graphql, or put one at ../shared/github/schema.graphql",
            path.display()
        );
    }
    path
}

/// GitHub's schema defines one field twice; a strict parser reports that and
/// keeps the first definition, which is all the validation needs.
fn github_schema() -> Valid<Schema> {
    let path = github_schema_path();
    match Schema::parse(read(&path), &path) {
        Ok(schema) => Valid::assume_valid(schema),
        Err(with_errors) => {
            let unexpected: Vec<String> = with_errors
                .errors
                .iter()
                .map(|e| e.to_string())
                .filter(|m| !m.contains("defined multiple times") && !m.contains("duplicate"))
                .collect();
            assert!(unexpected.is_empty(), "GitHub's schema failed to parse: {unexpected:#?}");
            Valid::assume_valid(with_errors.partial)
        }
    }
}

/// A field as (name, type, [(argument, type)]), for comparing schemas.
type FieldShape = (String, String, Vec<(String, String)>);

fn documents() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("queries"))
        .expect("queries/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "graphql") && p.file_name().is_some_and(|n| n != "schema.graphql")
        })
        .collect();
    docs.sort();
    docs
}

#[test]
fn every_document_validates_against_githubs_public_schema() {
    let schema = github_schema();
    let docs = documents();
    assert!(docs.len() >= 2, "found the documents: {docs:?}");
    for doc in docs {
        if let Err(e) = ExecutableDocument::parse_and_validate(&schema, read(&doc), &doc) {
            panic!("{} is not valid against GitHub's schema:\n{}", doc.display(), e.errors);
        }
    }
}

#[test]
fn every_document_validates_against_the_minimal_schema() {
    let path = root().join("queries/schema.graphql");
    let schema =
        Schema::parse_and_validate(read(&path), &path).unwrap_or_else(|e| panic!("minimal schema: {}", e.errors));
    for doc in documents() {
        if let Err(e) = ExecutableDocument::parse_and_validate(&schema, read(&doc), &doc) {
            panic!("{} is not valid against queries/schema.graphql:\n{}", doc.display(), e.errors);
        }
    }
}

/// Each type, field, argument, enum value and interface of the minimal schema
/// exists in GitHub's with the same type, and nothing carries a description.
#[test]
fn the_minimal_schema_is_a_faithful_subset() {
    let full = github_schema();
    let path = root().join("queries/schema.graphql");
    let mine = Schema::parse(read(&path), &path).unwrap_or_else(|e| panic!("minimal schema: {}", e.errors));
    let mut problems = Vec::new();
    for (name, ty) in &mine.types {
        if ty.is_built_in() {
            continue;
        }
        let Some(theirs) = full.types.get(name) else {
            problems.push(format!("type {name} is not in GitHub's schema"));
            continue;
        };
        if ty.description().is_some() {
            problems.push(format!("type {name} has a description"));
        }
        let fields = |t: &ExtendedType| -> Vec<FieldShape> {
            let list = match t {
                ExtendedType::Object(o) => o.fields.values().map(|f| f.node.clone()).collect::<Vec<_>>(),
                ExtendedType::Interface(i) => i.fields.values().map(|f| f.node.clone()).collect(),
                _ => Vec::new(),
            };
            list.iter()
                .map(|f| {
                    let args = f.arguments.iter().map(|a| (a.name.to_string(), a.ty.to_string())).collect();
                    (f.name.to_string(), f.ty.to_string(), args)
                })
                .collect()
        };
        let their_fields = fields(theirs);
        for (field, field_ty, args) in fields(ty) {
            match their_fields.iter().find(|(n, _, _)| *n == field) {
                None => problems.push(format!("{name}.{field} is not in GitHub's schema")),
                Some((_, t, their_args)) => {
                    if *t != field_ty {
                        problems.push(format!("{name}.{field} is {field_ty} here but {t} at GitHub"));
                    }
                    for arg in args {
                        if !their_args.contains(&arg) {
                            problems.push(format!("{name}.{field}({}: {}) differs from GitHub's", arg.0, arg.1));
                        }
                    }
                }
            }
        }
        match (ty, theirs) {
            (ExtendedType::Enum(a), ExtendedType::Enum(b)) => {
                for v in a.values.keys() {
                    if !b.values.contains_key(v) {
                        problems.push(format!("enum {name} has {v}, GitHub's does not"));
                    }
                }
            }
            (ExtendedType::Object(a), ExtendedType::Object(b)) => {
                for i in &a.implements_interfaces {
                    if !b.implements_interfaces.contains(i) {
                        problems.push(format!("{name} implements {i} only here"));
                    }
                }
            }
            (ExtendedType::InputObject(a), ExtendedType::InputObject(b)) => {
                for (f, def) in &a.fields {
                    if b.fields.get(f).map(|d| d.ty.to_string()) != Some(def.ty.to_string()) {
                        problems.push(format!("input {name}.{f} differs from GitHub's"));
                    }
                }
            }
            (a, b) if std::mem::discriminant(a) != std::mem::discriminant(b) => {
                problems.push(format!("{name} is a different kind of type at GitHub"));
            }
            _ => {}
        }
    }
    assert!(problems.is_empty(), "queries/schema.graphql: {problems:#?}");
}

/// Requests of every shape `document` puts together, with the points
/// `follow_up::estimate` expects of each: a page alone, follow-ups alone,
/// both with more than one list of each kind, and each side of a rounding
/// boundary.
fn request_shapes() -> Vec<(serde_json::Value, Estimate)> {
    let ends = |conn, back: Option<&str>, got| {
        FollowUp::Ends(Ends {
            conn,
            id: "N".into(),
            front: Some("f".into()),
            back: back.map(str::to_string),
            got,
            total: 450,
        })
    };
    let from_start =
        |conn, n: usize| (0..n).map(move |i| FollowUp::FromStart { conn, id: format!("id{i}"), window: 100 });
    let mut every: Vec<FollowUp> = Vec::new();
    for conn in [Conn::Reviews, Conn::IssueComments, Conn::ReviewComments] {
        every.extend(from_start(conn, 150));
        every.push(ends(conn, None, 100));
        every.push(ends(conn, Some("b"), 300));
        every.extend([5, 10, 25, 50].map(|window| FollowUp::FromStart { conn, id: format!("w{window}"), window }));
    }
    let page =
        PageSpec { owner: "o", name: "n", after: Some("c"), size: 50, inline: 100, order: Order::Created, ids: None };
    let narrow = PageSpec { size: 23, inline: 10, ..page.clone() };
    let sweep = PageSpec { order: Order::RecentlyUpdated, ..page.clone() };
    let ids: Vec<String> = (0..50).map(|i| format!("PR_{i}")).collect();
    let refetch = PageSpec { ids: Some(&ids), ..page.clone() };
    let comments = |n| from_start(Conn::ReviewComments, n).collect::<Vec<_>>();
    let shapes: Vec<(Option<&PageSpec<'_>>, Vec<FollowUp>)> = vec![
        (Some(&page), Vec::new()),
        (None, comments(1)),
        (Some(&page), every),
        (Some(&page), comments(48)),
        (Some(&page), comments(49)),
        (None, comments(149)),
        (None, comments(150)),
        (None, comments(249)),
        (None, comments(250)),
        (Some(&sweep), comments(3)),
        (Some(&narrow), comments(3)),
        // a repair's refetch: 100 counted, one fewer than estimated
        (Some(&refetch), comments(48)),
    ];
    let out: Vec<(serde_json::Value, Estimate)> = shapes
        .into_iter()
        .map(|(page, follow_ups)| {
            let refs: Vec<&FollowUp> = follow_ups.iter().collect();
            let (body, _) = document(page.cloned().as_slice(), &refs);
            let estimated = estimate(page.map(|p| (p.size, p.inline)), &refs);
            (serde_json::to_value(&body).expect("a body"), estimated)
        })
        .collect();
    let points: Vec<i64> = out.iter().map(|(_, e)| e.points).collect();
    assert_eq!(points, [1, 1, 6, 1, 2, 1, 2, 2, 3, 1, 1, 1], "the shapes straddle the rounding boundaries");
    out
}

/// The requests `document` puts together (a page alone, follow-ups alone,
/// both with several lists of each kind) are valid too: every fragment sent
/// is used, every variable declared and used, against both schemas.
#[test]
fn every_request_put_together_validates_against_both_schemas() {
    let path = root().join("queries/schema.graphql");
    let minimal =
        Schema::parse_and_validate(read(&path), &path).unwrap_or_else(|e| panic!("minimal schema: {}", e.errors));
    let full = github_schema();
    for (i, (body, _)) in request_shapes().into_iter().enumerate() {
        let doc = body["query"].as_str().unwrap_or_default().to_string();
        for (name, schema) in [("GitHub's", &full), ("the minimal", &minimal)] {
            if let Err(e) = ExecutableDocument::parse_and_validate(schema, doc.clone(), "request.graphql") {
                panic!("request {i} is not valid against {name} schema:\n{}\n{doc}", e.errors);
            }
        }
    }
}

/// The client prices each request before sending it, by GitHub's formula
/// as the fake reads it (a connection under `nodes(ids:)` once per id):
/// both must agree on every shape, rounding boundaries included.
#[tokio::test]
async fn the_client_prices_requests_as_github_charges_them() {
    let fake = fake_github::FakeGithub::start(fake_github::World::new(&[])).await.expect("the fake starts");
    // reqwest is built without a crypto provider of its own: the binary's is ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    for (i, (body, estimated)) in request_shapes().into_iter().enumerate() {
        let answer = post(&fake, &client, &body).await;
        let charged = answer["data"]["rateLimit"]["cost"].as_i64();
        assert_eq!(charged, Some(estimated.points), "request {i}: {answer}");
        // The node limit learned from timeouts is in GitHub's count of nodes.
        let nodes = answer["data"]["rateLimit"]["nodeCount"].as_u64();
        assert_eq!(nodes, Some(estimated.nodes), "request {i}: the client's count of nodes is GitHub's");
    }
}

/// `body` sent to the fake GitHub; its JSON answer.
async fn post(
    fake: &fake_github::FakeGithub,
    client: &reqwest::Client,
    body: &impl serde::Serialize,
) -> serde_json::Value {
    let sent = client
        .post(fake.graphql_url())
        .bearer_auth("test")
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).expect("a body"))
        .send()
        .await
        .expect("the fake answers");
    serde_json::from_slice(&sent.bytes().await.expect("a body")).expect("JSON")
}

/// The news of many repositories at once (`github::news`): valid against
/// both schemas, and priced as the fake charges it, two counted requests and
/// 51 nodes a repository.
#[tokio::test]
async fn news_documents_are_valid_and_priced_as_github_charges_them() {
    let path = root().join("queries/schema.graphql");
    let minimal =
        Schema::parse_and_validate(read(&path), &path).unwrap_or_else(|e| panic!("minimal schema: {}", e.errors));
    let full = github_schema();
    let fake = fake_github::FakeGithub::start(fake_github::World::new(&[])).await.expect("the fake starts");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    for n in [1usize, 2, 100] {
        let names: Vec<String> = (0..n).map(|i| format!("repo{i}")).collect();
        let asks: Vec<NewsAsk<'_>> = names.iter().map(|name| NewsAsk { owner: "o", name, after: Some("c") }).collect();
        let body = serde_json::to_value(news::document(&asks)).expect("a body");
        let doc = body["query"].as_str().unwrap_or_default().to_string();
        for (name, schema) in [("GitHub's", &full), ("the minimal", &minimal)] {
            if let Err(e) = ExecutableDocument::parse_and_validate(schema, doc.clone(), "news.graphql") {
                panic!("news of {n} is not valid against {name} schema:\n{}\n{doc}", e.errors);
            }
        }
        let answer = post(&fake, &client, &body).await;
        let counted = 2 * n as u64;
        assert_eq!(answer["data"]["rateLimit"]["cost"].as_i64(), Some(((counted + 50) / 100).max(1) as i64), "{n}");
        assert_eq!(answer["data"]["rateLimit"]["nodeCount"].as_u64(), Some(51 * n as u64), "{n}: {answer}");
    }
}

/// `backfill verify`'s page (`queries/verify.graphql`): 100 PRs with their
/// counts are 101 counted requests, one point, as GitHub charges them.
#[tokio::test]
async fn a_verify_page_of_a_hundred_prs_costs_one_point() {
    use backfill::github::queries::{verify_page, VerifyPage};
    use graphql_client::GraphQLQuery;
    let world = fake_github::World::new(&[fake_github::RepoSpec::new("o", "n", 120)]);
    let fake = fake_github::FakeGithub::start(world).await.expect("the fake starts");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let variables = verify_page::Variables { owner: "o".into(), name: "n".into(), first: 100, after: None };
    let answer = post(&fake, &reqwest::Client::new(), &VerifyPage::build_query(variables)).await;
    let rate = &answer["data"]["rateLimit"];
    assert_eq!((rate["cost"].as_i64(), rate["nodeCount"].as_i64()), (Some(1), Some(100 + 100 * 100)), "{answer}");
    let prs = answer["data"]["repository"]["pullRequests"]["nodes"].as_array().map_or(0, Vec::len);
    assert_eq!(prs, 100);
}
