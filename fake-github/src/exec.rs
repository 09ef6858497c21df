//! A small GraphQL executor over the synthetic data: it runs whatever document
//! a client sends (aliases, fragments, variables, `node`/`nodes`) for the types
//! and fields GitHub has and the data set holds.

use std::collections::HashMap;

use graphql_parser::query::{Definition, Field, FragmentDefinition, Selection, SelectionSet, Value as GqlValue};
use serde_json::{json, Map, Value};

use crate::data::{Actor, ActorKind, IssueComment, PullRequest, Repository, Review, ReviewComment};
use crate::partial::{shape, Site};
use crate::world::{NodeRef, World};

type Doc<'a> = graphql_parser::query::Document<'a, String>;

/// A GraphQL error as GitHub sends it: `type` is what clients branch on.
#[derive(Debug, Clone)]
pub struct GqlError {
    pub kind: Option<&'static str>,
    pub message: String,
    pub path: Vec<Value>,
}

impl GqlError {
    pub fn new(kind: Option<&'static str>, message: impl Into<String>) -> GqlError {
        GqlError { kind, message: message.into(), path: Vec::new() }
    }
    pub fn to_json(&self) -> Value {
        let mut v = json!({ "message": self.message, "locations": [] });
        if let Some(kind) = self.kind {
            v["type"] = json!(kind);
        }
        if !self.path.is_empty() {
            v["path"] = Value::Array(self.path.clone());
        }
        v
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Obj<'w> {
    Query,
    Repo(&'w Repository),
    /// An owner by its login: every owner of the world is an organization.
    Owner(&'w str),
    Pr(&'w PullRequest),
    Review(&'w Review),
    ReviewComment(&'w ReviewComment, &'w Review),
    IssueComment(&'w IssueComment),
    Actor(&'w Actor),
    Commit(&'w str),
    RateLimit,
}

impl Obj<'_> {
    fn typename(&self) -> &'static str {
        match self {
            Obj::Query => "Query",
            Obj::Repo(_) => "Repository",
            Obj::Owner(_) => "Organization",
            Obj::Pr(_) => "PullRequest",
            Obj::Review(_) => "PullRequestReview",
            Obj::ReviewComment(..) => "PullRequestReviewComment",
            Obj::IssueComment(_) => "IssueComment",
            Obj::Actor(a) => match a.kind {
                ActorKind::User => "User",
                ActorKind::Bot => "Bot",
                ActorKind::Mannequin => "Mannequin",
            },
            Obj::Commit(_) => "Commit",
            Obj::RateLimit => "RateLimit",
        }
    }

    /// Whether a fragment's type condition applies (interfaces included).
    fn matches(&self, condition: &str) -> bool {
        let t = self.typename();
        t == condition
            || match condition {
                "Node" => !matches!(self, Obj::Query | Obj::RateLimit),
                "Actor" => matches!(self, Obj::Actor(_) | Obj::Owner(_)),
                "RepositoryOwner" => matches!(self, Obj::Owner(_)),
                "Comment" => {
                    matches!(self, Obj::Pr(_) | Obj::Review(_) | Obj::ReviewComment(..) | Obj::IssueComment(_))
                }
                _ => false,
            }
    }
}

/// The rate-limit numbers after this request is charged.
pub struct RateSnapshot {
    pub cost: i64,
    pub limit: i64,
    pub remaining: i64,
    pub used: i64,
    pub reset_at: String,
    pub node_count: i64,
}

pub struct Exec<'w> {
    pub world: &'w World,
    pub vars: &'w Map<String, Value>,
    pub fragments: HashMap<&'w str, &'w FragmentDefinition<'w, String>>,
    pub rate: RateSnapshot,
    pub errors: Vec<GqlError>,
    /// `Control::updated_order_slack`, for UPDATED_AT orders.
    pub(crate) updated_slack: Option<chrono::Duration>,
    /// A queued `Fault::EarlyEnd`, and whether this answer used it.
    pub(crate) early_end: crate::paging::EarlyEnd,
    /// Connections and nullable objects answered, for partial answers.
    pub(crate) sites: Vec<Site>,
    /// The one owner the token can see (an App installation's), if any.
    pub(crate) reach: Option<&'w str>,
}

pub fn fragments<'a>(doc: &'a Doc<'a>) -> HashMap<&'a str, &'a FragmentDefinition<'a, String>> {
    doc.definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Fragment(f) => Some((f.name.as_str(), f)),
            _ => None,
        })
        .collect()
}

/// Converts an argument to JSON, substituting variables.
pub fn arg_value(v: &GqlValue<'_, String>, vars: &Map<String, Value>) -> Value {
    match v {
        GqlValue::Variable(name) => vars.get(name).cloned().unwrap_or(Value::Null),
        GqlValue::Int(n) => json!(n.as_i64()),
        GqlValue::Float(f) => json!(f),
        GqlValue::String(s) => json!(s),
        GqlValue::Boolean(b) => json!(b),
        GqlValue::Null => Value::Null,
        GqlValue::Enum(e) => json!(e),
        GqlValue::List(items) => Value::Array(items.iter().map(|i| arg_value(i, vars)).collect()),
        GqlValue::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), arg_value(v, vars))).collect()),
    }
}

pub fn field_arg(field: &Field<'_, String>, name: &str, vars: &Map<String, Value>) -> Value {
    field.arguments.iter().find(|(n, _)| n == name).map(|(_, v)| arg_value(v, vars)).unwrap_or(Value::Null)
}

fn merge(into: &mut Map<String, Value>, key: String, value: Value) {
    match (into.get_mut(&key), value) {
        (Some(Value::Object(existing)), Value::Object(more)) => {
            for (k, v) in more {
                merge(existing, k, v);
            }
        }
        (_, value) => {
            into.insert(key, value);
        }
    }
}

impl<'w> Exec<'w> {
    pub fn run(&mut self, set: &'w SelectionSet<'w, String>) -> Value {
        self.select(Obj::Query, set, &[])
    }

    pub(crate) fn select(&mut self, obj: Obj<'w>, set: &'w SelectionSet<'w, String>, path: &[Value]) -> Value {
        let mut out = Map::new();
        self.select_into(obj, set, path, &mut out);
        Value::Object(out)
    }

    fn select_into(
        &mut self,
        obj: Obj<'w>,
        set: &'w SelectionSet<'w, String>,
        path: &[Value],
        out: &mut Map<String, Value>,
    ) {
        for selection in &set.items {
            match selection {
                Selection::Field(f) => {
                    let key = f.alias.clone().unwrap_or_else(|| f.name.clone());
                    let mut here = path.to_vec();
                    here.push(json!(key));
                    let value = self.field(obj, f, &here);
                    if let Some((nullable, connection)) = shape(obj.typename(), &f.name) {
                        let (line, column) = (f.position.line, f.position.column);
                        self.sites.push(Site { path: here, nullable, connection, line, column });
                    }
                    merge(out, key, value);
                }
                Selection::InlineFragment(i) => {
                    let applies = match &i.type_condition {
                        Some(graphql_parser::query::TypeCondition::On(t)) => obj.matches(t),
                        None => true,
                    };
                    if applies {
                        self.select_into(obj, &i.selection_set, path, out);
                    }
                }
                Selection::FragmentSpread(s) => {
                    if let Some(frag) = self.fragments.get(s.fragment_name.as_str()).copied() {
                        let graphql_parser::query::TypeCondition::On(t) = &frag.type_condition;
                        if obj.matches(t) {
                            self.select_into(obj, &frag.selection_set, path, out);
                        }
                    }
                }
            }
        }
    }

    pub(crate) fn sub(&mut self, obj: Option<Obj<'w>>, f: &'w Field<'w, String>, path: &[Value]) -> Value {
        match obj {
            Some(o) => self.select(o, &f.selection_set, path),
            None => Value::Null,
        }
    }

    pub(crate) fn actor(&self, idx: Option<usize>) -> Option<Obj<'w>> {
        idx.and_then(|i| self.world.actors.get(i)).map(Obj::Actor)
    }

    /// Whether the token can see this owner's repositories.
    pub(crate) fn sees(&self, owner: &str) -> bool {
        self.reach.is_none_or(|reach| reach.eq_ignore_ascii_case(owner))
    }

    fn lookup(&mut self, id: &str, path: &[Value]) -> Option<Obj<'w>> {
        let visible = self.world.owner_of(id).is_some_and(|owner| self.sees(owner));
        let found = self.world.node(id).filter(|_| visible).map(|r| match r {
            NodeRef::Repo(r) => Obj::Repo(r),
            NodeRef::Pr(p) => Obj::Pr(p),
            NodeRef::Review(r) => Obj::Review(r),
            NodeRef::ReviewComment(c, r) => Obj::ReviewComment(c, r),
            NodeRef::IssueComment(c) => Obj::IssueComment(c),
        });
        if found.is_none() {
            let mut e =
                GqlError::new(Some("NOT_FOUND"), format!("Could not resolve to a node with the global id of '{id}'"));
            e.path = path.to_vec();
            self.errors.push(e);
        }
        found
    }

    fn field(&mut self, obj: Obj<'w>, f: &'w Field<'w, String>, path: &[Value]) -> Value {
        let name = f.name.as_str();
        if name == "__typename" {
            return json!(obj.typename());
        }
        let arg = |n: &str| field_arg(f, n, self.vars);
        match obj {
            Obj::Query => match name {
                "rateLimit" => self.sub(Some(Obj::RateLimit), f, path),
                "repository" => {
                    let (owner, repo) = (arg("owner"), arg("name"));
                    let found = self.world.repos.iter().filter(|r| self.sees(&r.owner)).find(|r| {
                        Some(r.owner.to_lowercase()) == owner.as_str().map(str::to_lowercase)
                            && Some(r.name.to_lowercase()) == repo.as_str().map(str::to_lowercase)
                    });
                    if found.is_none() {
                        let mut e = GqlError::new(
                            Some("NOT_FOUND"),
                            format!(
                                "Could not resolve to a Repository with the name '{}/{}'.",
                                owner.as_str().unwrap_or(""),
                                repo.as_str().unwrap_or("")
                            ),
                        );
                        e.path = path.to_vec();
                        self.errors.push(e);
                    }
                    self.sub(found.map(Obj::Repo), f, path)
                }
                "node" => {
                    let id = arg("id");
                    let found = self.lookup(id.as_str().unwrap_or(""), path);
                    self.sub(found, f, path)
                }
                "repositoryOwner" => self.repository_owner(f, path),
                "nodes" => {
                    let ids = arg("ids");
                    let ids: Vec<&str> =
                        ids.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                    let mut list = Vec::new();
                    for (i, id) in ids.iter().enumerate() {
                        let mut here = path.to_vec();
                        here.push(json!(i));
                        let found = self.lookup(id, &here);
                        list.push(self.sub(found, f, &here));
                    }
                    Value::Array(list)
                }
                _ => Value::Null,
            },
            Obj::RateLimit => match name {
                "cost" => json!(self.rate.cost),
                "limit" => json!(self.rate.limit),
                "remaining" => json!(self.rate.remaining),
                "used" => json!(self.rate.used),
                "resetAt" => json!(self.rate.reset_at),
                "nodeCount" => json!(self.rate.node_count),
                _ => Value::Null,
            },
            Obj::Repo(r) => match name {
                "id" => json!(r.node_id),
                "databaseId" => json!(r.database_id),
                "name" => json!(r.name),
                "nameWithOwner" => json!(format!("{}/{}", r.owner, r.name)),
                "url" => json!(format!("https://github.com/{}/{}", r.owner, r.name)),
                "isFork" => json!(r.fork),
                "isArchived" => json!(r.archived),
                "createdAt" => json!(r.created_at.to_rfc3339()),
                "owner" => self.sub(Some(Obj::Owner(&r.owner)), f, path),
                "pullRequests" => self.pull_requests(r, f, path),
                _ => Value::Null,
            },
            Obj::Owner(login) => match name {
                "login" => json!(login),
                "id" => json!(format!("O_{login}")),
                "repositories" => self.repositories(login, f, path),
                _ => Value::Null,
            },
            Obj::Actor(a) => match name {
                "login" => json!(a.login),
                "databaseId" => json!(a.database_id),
                "name" => json!(a.name),
                "avatarUrl" => json!(a.avatar_url()),
                "id" => json!(format!("U_{}", a.database_id)),
                "url" => json!(format!("https://github.com/{}", a.login)),
                _ => Value::Null,
            },
            Obj::Commit(oid) => match name {
                "oid" => json!(oid),
                _ => Value::Null,
            },
            Obj::Pr(p) => self.pr_field(p, f, path),
            Obj::Review(r) => self.review_field(r, f, path),
            Obj::ReviewComment(c, review) => self.review_comment_field(c, review, f, path),
            Obj::IssueComment(c) => self.issue_comment_field(c, f, path),
        }
    }
}
