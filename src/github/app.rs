//! GitHub App authentication: a short-lived JWT signed with the App's private
//! key buys an installation token, whose budget grows with the installation
//! (up to 12,500 points an hour, against 5,000 for a personal token).

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde::Serialize;

use super::client::{ClientSettings, GithubClient};
use super::error::GithubError;

pub struct AppCredentials {
    pub app_id: String,
    /// The PEM the App's settings page downloads.
    pub private_key: String,
    pub installation_id: u64,
}

/// The key never appears in debug output.
impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("app_id", &self.app_id)
            .field("installation_id", &self.installation_id)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

#[derive(Serialize)]
struct Claims {
    iat: i64,
    exp: i64,
    /// A numeric App id goes as a number (as GitHub long required), a
    /// client id (`Iv1.…`) as a string.
    iss: serde_json::Value,
}

/// The App's JWT: issued a minute in the past (clock drift, as GitHub
/// advises) and valid for nine minutes, under GitHub's ten-minute cap.
pub fn app_jwt(app: &AppCredentials, now: i64) -> Result<String, GithubError> {
    let key = EncodingKey::from_rsa_pem(app.private_key.as_bytes())
        .map_err(|_| GithubError::Other("the GitHub App private key is not an RSA key in PEM form".into()))?;
    let iss = app.app_id.parse::<u64>().map_or_else(|_| app.app_id.clone().into(), serde_json::Value::from);
    let claims = Claims { iat: now - 60, exp: now + 540, iss };
    encode(&Header::new(Algorithm::RS256), &claims, &key)
        .map_err(|e| GithubError::Other(format!("cannot sign the GitHub App token: {e}")))
}

/// Trades the App's JWT for an installation token (valid for an hour).
pub async fn installation_token(
    graphql_url: &str,
    rest_url: Option<&str>,
    app: &AppCredentials,
    settings: ClientSettings,
) -> Result<String, GithubError> {
    let jwt = app_jwt(app, chrono::Utc::now().timestamp())?;
    let mut client = GithubClient::new(graphql_url, &jwt, settings)?;
    if let Some(url) = rest_url {
        client = client.with_rest_url(url);
    }
    let path = format!("/app/installations/{}/access_tokens", app.installation_id);
    let answer = client.rest(Method::POST, &path, None).await.map_err(|e| match e {
        GithubError::BadCredentials => GithubError::AppRejected,
        GithubError::NotFound(_) => GithubError::AppRejected,
        other => other,
    })?;
    answer
        .get("token")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| GithubError::Other("GitHub's answer held no installation token".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_that_is_not_pem_is_a_clear_error() {
        let app = AppCredentials { app_id: "1".into(), private_key: "not a key".into(), installation_id: 2 };
        let e = app_jwt(&app, 0).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(e, Err("GitHub error: the GitHub App private key is not an RSA key in PEM form".into()));
        assert!(!format!("{app:?}").contains("not a key"), "the key stays out of debug output");
    }
}
