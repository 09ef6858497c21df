//! The few REST endpoints the tool uses besides GraphQL: issues and their
//! comments (for `--report-issue`), answered the way api.github.com answers.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::server::{authorized, lock_control, AppState};

/// An issue as the fake keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct Issue {
    pub repository: String,
    pub number: u64,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
    pub open: bool,
    pub comments: Vec<String>,
}

fn json_of(status: StatusCode, v: Value) -> Response {
    (status, [("content-type", "application/json; charset=utf-8")], v.to_string()).into_response()
}

fn issue_json(i: &Issue) -> Value {
    json!({
        "number": i.number,
        "title": i.title,
        "body": i.body,
        "state": if i.open { "open" } else { "closed" },
        "labels": i.labels.iter().map(|l| json!({ "name": l })).collect::<Vec<_>>(),
        "html_url": format!("https://github.com/{}/issues/{}", i.repository, i.number),
    })
}

fn unauthorized() -> Response {
    json_of(StatusCode::UNAUTHORIZED, json!({ "message": "Bad credentials" }))
}

pub async fn list_issues(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((owner, name)): Path<(String, String)>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    let repo = format!("{owner}/{name}");
    let want_open = q.get("state").map(String::as_str) != Some("closed");
    let label = q.get("labels").cloned();
    let c = lock_control(&state);
    let list: Vec<Value> = c
        .issues
        .iter()
        .filter(|i| i.repository == repo && i.open == want_open)
        .filter(|i| label.as_ref().is_none_or(|l| i.labels.contains(l)))
        .map(issue_json)
        .collect();
    json_of(StatusCode::OK, Value::Array(list))
}

pub async fn create_issue(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((owner, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return json_of(StatusCode::BAD_REQUEST, json!({ "message": "Problems parsing JSON" }));
    };
    let Some(title) = v.get("title").and_then(Value::as_str).filter(|t| !t.is_empty()) else {
        return json_of(StatusCode::UNPROCESSABLE_ENTITY, json!({ "message": "Validation Failed" }));
    };
    let mut c = lock_control(&state);
    let issue = Issue {
        repository: format!("{owner}/{name}"),
        number: c.issues.len() as u64 + 1,
        title: title.to_string(),
        body: v.get("body").and_then(Value::as_str).unwrap_or("").to_string(),
        labels: v
            .get("labels")
            .and_then(Value::as_array)
            .map(|ls| ls.iter().filter_map(|l| l.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        open: true,
        comments: Vec::new(),
    };
    let out = issue_json(&issue);
    c.issues.push(issue);
    json_of(StatusCode::CREATED, out)
}

pub async fn create_comment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((owner, name, number)): Path<(String, String, u64)>,
    body: Bytes,
) -> Response {
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    let text = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v.get("body")?.as_str().map(str::to_string));
    let Some(text) = text else {
        return json_of(StatusCode::UNPROCESSABLE_ENTITY, json!({ "message": "Validation Failed" }));
    };
    let repo = format!("{owner}/{name}");
    let mut c = lock_control(&state);
    let Some(issue) = c.issues.iter_mut().find(|i| i.repository == repo && i.number == number) else {
        return json_of(StatusCode::NOT_FOUND, json!({ "message": "Not Found" }));
    };
    issue.comments.push(text);
    let url = format!("https://github.com/{repo}/issues/{number}#issuecomment-{}", issue.comments.len());
    json_of(StatusCode::CREATED, json!({ "html_url": url }))
}

/// A GitHub App the fake knows: JWTs signed with its key buy installation
/// tokens, a new one each time, which GraphQL and REST then accept until
/// they die (and a personal token only if `Control::token` names it).
#[derive(Clone, Debug)]
pub struct FakeApp {
    pub app_id: String,
    pub public_key_pem: String,
    /// The installation a setting names, installed on every owner.
    pub installation_id: u64,
    /// More installations, each on one owner (an organisation or user), each
    /// with its own budget (`installation {id}` among the fake's accounts).
    pub installations: Vec<(u64, String)>,
    /// How long a token works: an hour on GitHub.
    pub token_life: Duration,
    /// How long `expires_at` says it works; `None` tells the truth. Longer
    /// than `token_life`, it stands for a token that died early (revoked,
    /// or a clock that ran ahead): only a 401 tells the client.
    pub stated_life: Option<Duration>,
}

impl FakeApp {
    /// GitHub's App with its key, tokens living an hour.
    pub fn new(app_id: &str, public_key_pem: &str, installation_id: u64) -> FakeApp {
        FakeApp {
            app_id: app_id.into(),
            public_key_pem: public_key_pem.into(),
            installation_id,
            installations: Vec::new(),
            token_life: Duration::from_secs(3600),
            stated_life: None,
        }
    }

    /// Installed on `owner` too, as installation `id`.
    pub fn installed_on(mut self, id: u64, owner: &str) -> FakeApp {
        self.installations.push((id, owner.to_string()));
        self
    }

    /// The installation serving `owner`: its own, else the one on every owner.
    pub fn installation_for(&self, owner: &str) -> Option<u64> {
        let own = self.installations.iter().find(|(_, o)| o.eq_ignore_ascii_case(owner)).map(|(id, _)| *id);
        own.or((self.installation_id != 0).then_some(self.installation_id))
    }

    fn has_installation(&self, id: u64) -> bool {
        id == self.installation_id || self.installations.iter().any(|(i, _)| *i == id)
    }
}

/// An installation token the fake sold, and when it stops working.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub token: String,
    /// Whose budget it spends: `installation {id}`.
    pub account: String,
    pub issued_at: DateTime<Utc>,
    pub dies_at: DateTime<Utc>,
}

#[derive(serde::Deserialize)]
struct AppClaims {
    iat: i64,
    exp: i64,
    iss: serde_json::Value,
}

/// The App, when the request carries a JWT it signed; else the answer.
fn app_of(state: &AppState, headers: &HeaderMap) -> Result<FakeApp, Box<Response>> {
    let Some(app) = lock_control(state).app.clone() else {
        return Err(Box::new(json_of(StatusCode::NOT_FOUND, json!({ "message": "Not Found" }))));
    };
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let Ok(key) = jsonwebtoken::DecodingKey::from_rsa_pem(app.public_key_pem.as_bytes()) else {
        return Err(Box::new(json_of(StatusCode::INTERNAL_SERVER_ERROR, json!({ "message": "fake: bad public key" }))));
    };
    let mut rules = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    // `iss` may be a number, which the library does not read as a spec claim: checked below.
    rules.set_required_spec_claims(&["exp"]);
    let claims = match jsonwebtoken::decode::<AppClaims>(bearer, &key, &rules) {
        Ok(data) => data.claims,
        Err(e) => {
            let message = format!("A JSON web token could not be decoded ({e})");
            return Err(Box::new(json_of(StatusCode::UNAUTHORIZED, json!({ "message": message }))));
        }
    };
    let issuer = match &claims.iss {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if issuer != app.app_id || claims.exp - claims.iat > 600 {
        let message = json!({ "message": "'Issuer' claim ('iss') must be an Integer" });
        return Err(Box::new(json_of(StatusCode::UNAUTHORIZED, message)));
    }
    Ok(app)
}

/// `GET /repos/{owner}/{name}/installation`, authorized by the App's JWT:
/// the installation serving the repository's owner, or 404 where the App is
/// not installed.
pub async fn repository_installation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((owner, _name)): Path<(String, String)>,
) -> Response {
    owner_installation(State(state), headers, Path(owner)).await
}

/// `GET /orgs/{org}/installation` and `GET /users/{user}/installation`: the
/// installation on an owner, or 404.
pub async fn owner_installation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(owner): Path<String>,
) -> Response {
    let app = match app_of(&state, &headers) {
        Ok(app) => app,
        Err(answer) => return *answer,
    };
    match app.installation_for(&owner) {
        Some(id) => json_of(
            StatusCode::OK,
            json!({ "id": id, "app_id": app.app_id.parse::<u64>().unwrap_or(0), "account": { "login": owner },
                    "target_type": "Organization", "repository_selection": "all" }),
        ),
        None => json_of(StatusCode::NOT_FOUND, json!({ "message": "Not Found" })),
    }
}

/// `POST /app/installations/{id}/access_tokens`, authorized by the App's JWT.
pub async fn installation_token(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<u64>) -> Response {
    let app = match app_of(&state, &headers) {
        Ok(app) => app,
        Err(answer) => return *answer,
    };
    if !app.has_installation(id) {
        return json_of(StatusCode::NOT_FOUND, json!({ "message": "Not Found" }));
    }
    let now = Utc::now();
    let life = |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::hours(1));
    let mut c = lock_control(&state);
    let token = format!("ghs_fake{:04}{}", c.app_tokens.len(), "x".repeat(32));
    let dies_at = now + life(app.token_life);
    let expires_at = now + life(app.stated_life.unwrap_or(app.token_life));
    let account = if id == app.installation_id { String::new() } else { format!("installation {id}") };
    c.app_tokens.push(IssuedToken { token: token.clone(), account, issued_at: now, dies_at });
    // GitHub states the expiry to the second.
    let expires_at = expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let permissions = json!({ "metadata": "read", "pull_requests": "read", "issues": "write" });
    let answer = json!({
        "token": token,
        "expires_at": expires_at,
        "permissions": permissions,
        "repository_selection": "all",
    });
    json_of(StatusCode::CREATED, answer)
}
