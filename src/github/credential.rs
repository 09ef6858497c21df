//! Who the requests speak for: a token (alone, or one of a pool), or a
//! GitHub App's installation. Errors name it, so a rejected App is never
//! blamed on `GITHUB_TOKEN`, and a pool's rejected token is told from the
//! others; names never hold a secret.

use octocrab::EncodingKey;
use sha2::{Digest, Sha256};

/// What GitHub is shown: a plain token, or the App whose installation
/// tokens octocrab obtains and renews.
pub enum Credential {
    /// `pooled`: one of several (`GITHUB_TOKENS`, repeated `--github-token`):
    /// messages then say which. A lone `GITHUB_TOKEN` is "the token", as ever.
    Token {
        secret: String,
        pooled: bool,
    },
    App(AppCredentials),
}

#[derive(Clone)]
pub struct AppCredentials {
    /// The App's numeric id: octocrab signs the JWT with it as the issuer.
    pub app_id: u64,
    pub key: EncodingKey,
    /// The installation whose tokens do the work; none: the App itself (its
    /// JWT), which finds the installation serving each owner.
    pub installation_id: Option<u64>,
    /// The organization or user the installation is on, when known: the
    /// name says whose budget it is.
    pub owner: Option<String>,
}

impl AppCredentials {
    /// The same App's installation on `owner`.
    pub fn on_owner(&self, installation_id: u64, owner: &str) -> AppCredentials {
        AppCredentials { installation_id: Some(installation_id), owner: Some(owner.to_string()), ..self.clone() }
    }
}

/// Which credential it is, for messages and the budgets kept per
/// credential: no secret in it. A token is named by its last four
/// characters (none for a token too short to spare them) and a short hash
/// of the whole, enough to tell the tokens of a pool apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CredentialName {
    Token { tail: Option<String>, hash: String, pooled: bool },
    App { app_id: u64, installation_id: Option<u64>, owner: Option<String> },
}

/// Tokens shorter than this keep all their characters out of the name.
const SHORTEST_NAMED_TAIL: usize = 16;

impl Credential {
    /// A lone token (`GITHUB_TOKEN`).
    pub fn token(secret: &str) -> Credential {
        Credential::Token { secret: secret.to_string(), pooled: false }
    }

    pub fn name(&self) -> CredentialName {
        match self {
            Credential::Token { secret, pooled } => CredentialName::of_token(secret, *pooled),
            Credential::App(app) => CredentialName::App {
                app_id: app.app_id,
                installation_id: app.installation_id,
                owner: app.owner.clone(),
            },
        }
    }
}

impl CredentialName {
    fn of_token(secret: &str, pooled: bool) -> CredentialName {
        let chars: Vec<char> = secret.chars().collect();
        let tail = (chars.len() >= SHORTEST_NAMED_TAIL).then(|| chars[chars.len() - 4..].iter().collect());
        let digest = Sha256::digest(secret.as_bytes());
        let hash = digest[..2].iter().map(|b| format!("{b:02x}")).collect();
        CredentialName::Token { tail, hash, pooled }
    }

    /// The short name reports show and budgets are kept under:
    /// `token …a1b2 (3f9c)`, `App 123 installation 456 (acme)`.
    pub fn label(&self) -> String {
        match self {
            CredentialName::Token { tail: Some(tail), hash, .. } => format!("token …{tail} ({hash})"),
            CredentialName::Token { tail: None, hash, .. } => format!("token ({hash})"),
            CredentialName::App { app_id, installation_id: Some(id), owner: Some(owner) } => {
                format!("App {app_id} installation {id} ({owner})")
            }
            CredentialName::App { app_id, installation_id: Some(id), owner: None } => {
                format!("App {app_id} installation {id}")
            }
            CredentialName::App { app_id, installation_id: None, .. } => format!("App {app_id}"),
        }
    }

    /// The settings a person should look at.
    pub fn settings(&self) -> &'static str {
        match self {
            CredentialName::Token { pooled: false, .. } => "GITHUB_TOKEN",
            CredentialName::Token { pooled: true, .. } => "GITHUB_TOKENS (or the --github-token values)",
            CredentialName::App { installation_id: Some(_), owner: None, .. } => {
                "GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID"
            }
            CredentialName::App { .. } => "GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY",
        }
    }
}

impl std::fmt::Display for CredentialName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialName::Token { pooled: false, .. } => write!(f, "the token"),
            CredentialName::Token { pooled: true, .. } => write!(f, "the {}", self.label()),
            CredentialName::App { app_id, installation_id: Some(id), owner: None } => {
                write!(f, "the GitHub App {app_id} (installation {id})")
            }
            CredentialName::App { app_id, installation_id: Some(id), owner: Some(owner) } => {
                write!(f, "the GitHub App {app_id} (installation {id}, on {owner})")
            }
            CredentialName::App { app_id, installation_id: None, .. } => write!(f, "the GitHub App {app_id}"),
        }
    }
}

/// Neither the token nor the key ever appears in debug output.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.name())
    }
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("app_id", &self.app_id)
            .field("installation_id", &self.installation_id)
            .field("owner", &self.owner)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// The App's key as octocrab takes it; `None` when the PEM is not an RSA key.
pub fn app_key(pem: &str) -> Option<EncodingKey> {
    EncodingKey::from_rsa_pem(pem.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_which_credential_and_where_to_look_without_secrets() {
        let secret = "ghp_0123456789abcdefghijklmnopqrstuvwxyz";
        let app = |installation_id: Option<u64>, owner: Option<&str>| CredentialName::App {
            app_id: 31337,
            installation_id,
            owner: owner.map(str::to_string),
        };
        let pooled = Credential::Token { secret: secret.into(), pooled: true }.name();
        let hash = match &pooled {
            CredentialName::Token { hash, .. } => hash.clone(),
            CredentialName::App { .. } => String::new(),
        };
        // (name, in messages, as a label, the settings named)
        let cases = [
            (
                Credential::token(secret).name(),
                "the token".to_string(),
                format!("token …wxyz ({hash})"),
                "GITHUB_TOKEN",
            ),
            (pooled, format!("the token …wxyz ({hash})"), format!("token …wxyz ({hash})"), "GITHUB_TOKENS"),
            (Credential::token("short").name(), "the token".into(), "token (".into(), "GITHUB_TOKEN"),
            (
                app(Some(77), None),
                "the GitHub App 31337 (installation 77)".into(),
                "App 31337 installation 77".into(),
                "GITHUB_APP_INSTALLATION_ID",
            ),
            (
                app(Some(77), Some("acme")),
                "the GitHub App 31337 (installation 77, on acme)".into(),
                "App 31337 installation 77 (acme)".into(),
                "GITHUB_APP_ID",
            ),
            (app(None, None), "the GitHub App 31337".into(), "App 31337".into(), "GITHUB_APP_PRIVATE_KEY"),
        ];
        for (name, said, label, settings) in cases {
            assert_eq!(name.to_string(), said, "{name:?}");
            assert!(name.label().starts_with(&label), "{name:?}: {}", name.label());
            assert!(name.settings().contains(settings), "{name:?}");
            assert!(!format!("{name:?} {name} {}", name.label()).contains("ghp_0123"), "{name:?}");
        }
        assert_eq!(hash.len(), 4, "a short hash: {hash}");
        assert!(!Credential::token("short").name().label().contains("hort"), "a short token keeps its tail");
        assert_ne!(
            Credential::token("ghp_a_token_of_some_length_1").name(),
            Credential::token("ghp_b_token_of_some_length_1").name()
        );
        assert!(!format!("{:?}", Credential::token(secret)).contains("ghp_0123"));
        assert!(!app(Some(77), Some("acme")).settings().contains("INSTALLATION"), "found, not set");
        assert!(app_key("not a key").is_none());
    }
}
