//! Who the requests speak for: a token, or a GitHub App's installation.
//! Errors name it, so a rejected App is never blamed on `GITHUB_TOKEN`.

use octocrab::EncodingKey;

/// What GitHub is shown: the plain token, or the App whose installation
/// tokens octocrab obtains and renews.
pub enum Credential {
    Token(String),
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
}

/// Which credential failed, for error messages: no secret in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialName {
    Token,
    App { app_id: u64, installation_id: Option<u64> },
}

impl Credential {
    pub fn name(&self) -> CredentialName {
        match self {
            Credential::Token(_) => CredentialName::Token,
            Credential::App(app) => CredentialName::App { app_id: app.app_id, installation_id: app.installation_id },
        }
    }
}

impl std::fmt::Display for CredentialName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialName::Token => write!(f, "the token"),
            CredentialName::App { app_id, installation_id: Some(installation_id) } => {
                write!(f, "the GitHub App {app_id} (installation {installation_id})")
            }
            CredentialName::App { app_id, installation_id: None } => write!(f, "the GitHub App {app_id}"),
        }
    }
}

impl CredentialName {
    /// The settings a person should look at.
    pub fn settings(&self) -> &'static str {
        match self {
            CredentialName::Token => "GITHUB_TOKEN",
            CredentialName::App { installation_id: Some(_), .. } => {
                "GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID"
            }
            CredentialName::App { installation_id: None, .. } => "GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY",
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
        let token = Credential::Token("ghp_secret".into());
        assert_eq!(token.name().to_string(), "the token");
        assert_eq!(token.name().settings(), "GITHUB_TOKEN");
        assert!(!format!("{token:?}").contains("ghp_secret"));
        let app = CredentialName::App { app_id: 31337, installation_id: Some(77) };
        assert_eq!(app.to_string(), "the GitHub App 31337 (installation 77)");
        assert!(app.settings().contains("GITHUB_APP_INSTALLATION_ID"));
        let every_owner = CredentialName::App { app_id: 31337, installation_id: None };
        assert_eq!(every_owner.to_string(), "the GitHub App 31337");
        assert!(!every_owner.settings().contains("INSTALLATION"));
        assert!(app_key("not a key").is_none());
    }
}
