//! The HTTP under every request, GraphQL and REST: octocrab, over our own
//! reqwest client. octocrab signs the App's JWT, obtains the installation
//! token, renews it before it expires (and once more on a 401 an expired
//! token caused); it retries nothing else, so the client's own policy
//! decides what is sent again and when.
//!
//! Requests go out with relative paths, which octocrab authenticates, and
//! `Routes` puts them on GitHub's hosts: `/graphql` on the GraphQL URL, every
//! other path under the REST root, the installation-token exchange included.
//! (octocrab's own base URI cannot hold both of Enterprise Server's roots,
//! `https://HOST/api/graphql` and `https://HOST/api/v3`.)

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE, USER_AGENT};
use http::{Method, Request, Uri};
use http_body_util::BodyExt;
use octocrab::auth::AppAuth;
use octocrab::models::{AppId, InstallationId};
use octocrab::service::middleware::reqwest_connector::ReqwestConnector;
use octocrab::{AuthState, OctoBody, Octocrab, OctocrabBuilder};
use tower::util::MapRequestLayer;

use super::answer::transport_error;
use super::credential::{AppCredentials, Credential, CredentialName};
use super::error::GithubError;
use crate::text::one_line;

/// GitHub kills queries after 10 s; anything much slower is a dead connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The path that `Routes` sends to the GraphQL URL.
const GRAPHQL_ROUTE: &str = "/graphql";

const AGENT: &str = concat!("backfill/", env!("CARGO_PKG_VERSION"));

/// Where a request goes.
pub enum Route<'a> {
    Graphql,
    /// A REST path with its query, such as `/repos/o/n/issues?state=open`.
    Rest(&'a str),
}

/// An answer, whatever its status: the caller classifies it.
pub struct Exchange {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub struct Transport {
    crab: Octocrab,
    credential: CredentialName,
}

impl Transport {
    pub fn new(graphql_url: &str, rest_url: &str, credential: &Credential) -> Result<Transport, GithubError> {
        // Both TLS stacks in the binary (sqlx's and this one) use ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(READ_TIMEOUT)
            .build()
            .map_err(|e| GithubError::Other(format!("cannot set up the HTTP client: {e}")))?;
        let routes = Routes::new(graphql_url, rest_url)?;
        let auth = match credential {
            Credential::Token { secret, .. } => AuthState::AccessToken { token: secret.clone().into() },
            Credential::App(app) => AuthState::App(AppAuth { app_id: AppId(app.app_id), key: app.key.clone() }),
        };
        let crab = OctocrabBuilder::new_empty()
            .with_service(ReqwestConnector::new(http))
            .with_layer(&MapRequestLayer::new(move |req| routes.place(req)))
            .with_auth(auth)
            .build()
            .map_err(|e| GithubError::Other(format!("cannot set up the GitHub client: {e}")))?;
        let crab = match credential {
            Credential::Token { .. } | Credential::App(AppCredentials { installation_id: None, .. }) => crab,
            Credential::App(AppCredentials { installation_id: Some(id), .. }) => crab
                .installation(InstallationId(*id))
                .map_err(|e| GithubError::Other(format!("cannot set up the GitHub App client: {e}")))?,
        };
        Ok(Transport { crab, credential: credential.name() })
    }

    /// One exchange: the status, headers and body of whatever GitHub answered.
    pub async fn send(
        &self,
        method: Method,
        route: Route<'_>,
        accept: &'static str,
        body: Option<Bytes>,
    ) -> Result<Exchange, GithubError> {
        let path = match route {
            Route::Graphql => GRAPHQL_ROUTE,
            Route::Rest(path) => path,
        };
        let mut request = Request::builder().method(method).uri(path).header(ACCEPT, accept);
        if body.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(OctoBody::from(body.unwrap_or_default()))
            .map_err(|e| GithubError::Other(format!("cannot build the request for {path}: {e}")))?;
        let response = self.crab.execute(request).await.map_err(|e| self.failure(&e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.map_err(|e| self.failure(&e))?.to_bytes();
        Ok(Exchange { status, headers, body })
    }

    /// What a failure inside octocrab means: the installation token refused
    /// (the App's id, key or installation is wrong), or the network's.
    fn failure(&self, e: &octocrab::Error) -> GithubError {
        let app_rejected = |reason: String| GithubError::AppRejected { app: self.credential.clone(), reason };
        match e {
            // Only the token exchange turns an answer into an error here.
            octocrab::Error::GitHub { source, .. } => match source.status_code.as_u16() {
                status @ 500..=599 => {
                    GithubError::ServerError(format!("the installation token request answered HTTP {status}"))
                }
                _ => app_rejected(one_line(&source.message)),
            },
            octocrab::Error::JWT { .. } => app_rejected("its private key cannot sign a JWT".into()),
            _ => match reqwest_cause(e) {
                Some(cause) => transport_error(cause),
                // An answer octocrab could not read (the token's JSON).
                None => GithubError::ServerError(one_line(&e.to_string())),
            },
        }
    }
}

/// The reqwest error under octocrab's wrappers, if the network failed.
fn reqwest_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a reqwest::Error> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(cause) = err.downcast_ref::<reqwest::Error>() {
            return Some(cause);
        }
        next = err.source();
    }
    None
}

/// Puts relative requests on GitHub's hosts, with who we are and what we accept.
#[derive(Clone)]
struct Routes {
    graphql: Uri,
    rest_root: String,
}

impl Routes {
    fn new(graphql_url: &str, rest_url: &str) -> Result<Routes, GithubError> {
        let graphql =
            graphql_url.parse::<Uri>().map_err(|e| GithubError::Other(format!("the GraphQL URL is not a URL: {e}")))?;
        let rest_root = rest_url.trim_end_matches('/').to_string();
        rest_root.parse::<Uri>().map_err(|e| GithubError::Other(format!("the REST API URL is not a URL: {e}")))?;
        Ok(Routes { graphql, rest_root })
    }

    fn uri_for(&self, uri: &Uri) -> Uri {
        if uri.authority().is_some() {
            return uri.clone();
        }
        if uri.path() == GRAPHQL_ROUTE {
            return self.graphql.clone();
        }
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        // Both halves were checked, so the join parses; if not, the request
        // fails as a relative URL would.
        format!("{}{path}", self.rest_root).parse().unwrap_or_else(|_| uri.clone())
    }

    fn place(&self, mut req: Request<OctoBody>) -> Request<OctoBody> {
        let uri = self.uri_for(req.uri());
        let rest = uri != self.graphql;
        *req.uri_mut() = uri;
        let headers = req.headers_mut();
        headers.entry(USER_AGENT).or_insert(HeaderValue::from_static(AGENT));
        headers.entry(ACCEPT).or_insert(HeaderValue::from_static("application/vnd.github+json"));
        if rest {
            headers.entry("x-github-api-version").or_insert(HeaderValue::from_static("2022-11-28"));
        }
        req
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_land_on_the_graphql_url_or_under_the_rest_root() {
        // (GraphQL URL, REST root, request path, where it goes)
        let cases = [
            ("https://api.github.com/graphql", "https://api.github.com", "/graphql", "https://api.github.com/graphql"),
            (
                "https://api.github.com/graphql",
                "https://api.github.com",
                "/repos/o/n/issues?x=1",
                "https://api.github.com/repos/o/n/issues?x=1",
            ),
            (
                "https://ghe.example/api/graphql",
                "https://ghe.example/api/v3",
                "/graphql",
                "https://ghe.example/api/graphql",
            ),
            (
                "https://ghe.example/api/graphql",
                "https://ghe.example/api/v3/",
                "/app/installations/7/access_tokens",
                "https://ghe.example/api/v3/app/installations/7/access_tokens",
            ),
            ("http://127.0.0.1:9/graphql", "http://127.0.0.1:9", "/graphql", "http://127.0.0.1:9/graphql"),
        ];
        for (graphql, rest, path, want) in cases {
            let routes = Routes::new(graphql, rest).expect("routes");
            let uri: Uri = path.parse().expect("path");
            assert_eq!(routes.uri_for(&uri).to_string(), want, "{path} with {graphql}");
        }
    }

    #[test]
    fn every_request_says_who_it_is() {
        let routes = Routes::new("https://api.github.com/graphql", "https://api.github.com").expect("routes");
        let req = Request::builder().uri("/app/installations/7/access_tokens").body(OctoBody::from(Vec::new()));
        let req = routes.place(req.expect("request"));
        assert_eq!(req.headers().get(USER_AGENT).map(|v| v.as_bytes()), Some(AGENT.as_bytes()));
        assert_eq!(req.headers()["x-github-api-version"], "2022-11-28");
        let req =
            Request::builder().uri("/graphql").header(ACCEPT, "application/json").body(OctoBody::from(Vec::new()));
        let req = routes.place(req.expect("request"));
        assert_eq!(req.headers()[ACCEPT], "application/json", "a caller's Accept stays");
        assert!(req.headers().get("x-github-api-version").is_none());
    }
}
