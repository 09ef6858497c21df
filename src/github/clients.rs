//! Which client serves a repository. A token (or a pool of them), or a
//! GitHub App with its installation named, serves every repository through
//! one client. A GitHub App with none named serves every owner it is
//! installed on, each through that installation's own client: its own
//! tokens, its own budget (5,000 to 12,500 points an hour) and its own
//! pacing, so a spent installation holds back only the repositories it
//! serves. The installation of an owner is found once, by the App's JWT
//! (`GET /repos/{owner}/{name}/installation`), and kept per owner.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use http::Method;

use super::client::{ClientSettings, GithubClient};
use super::credential::{AppCredentials, Credential};
use super::error::GithubError;
use crate::budget::CredentialBudget;
use crate::report::{NoticeLevel, Notifier};

type SharedNotifier = Arc<dyn Fn(NoticeLevel, &str) + Send + Sync>;

pub struct Clients {
    /// The one client of a token, a pool, or an App's named installation;
    /// for an App serving every owner, the App itself (its JWT), which asks
    /// where it is installed and checks the credential.
    main: Arc<GithubClient>,
    per_owner: Option<PerOwner>,
    /// The budgets a run before kept (`seed`), for the clients made later.
    saved: Mutex<Vec<CredentialBudget>>,
}

struct PerOwner {
    app: AppCredentials,
    graphql_url: String,
    rest_url: String,
    settings: ClientSettings,
    notify: SharedNotifier,
    /// Each owner's installation (lower case), none where the App is not installed.
    owners: Mutex<HashMap<String, Option<u64>>>,
    installations: Mutex<BTreeMap<u64, Arc<GithubClient>>>,
}

impl Clients {
    /// The clients of `credentials` (one, or a pool of tokens); `notify`
    /// says what each does.
    pub fn new(
        graphql_url: &str,
        rest_url: &str,
        credentials: &[Credential],
        settings: ClientSettings,
        notify: Notifier,
    ) -> Result<Clients, GithubError> {
        let notify: SharedNotifier = Arc::from(notify);
        let main =
            GithubClient::connect_pool(graphql_url, rest_url, credentials, settings)?.with_notifier(relay(&notify));
        let per_owner = match credentials {
            [Credential::App(app)] if app.installation_id.is_none() => Some(PerOwner {
                app: app.clone(),
                graphql_url: graphql_url.to_string(),
                rest_url: rest_url.to_string(),
                settings,
                notify,
                owners: Mutex::new(HashMap::new()),
                installations: Mutex::new(BTreeMap::new()),
            }),
            _ => None,
        };
        Ok(Clients { main: Arc::new(main), per_owner, saved: Mutex::new(Vec::new()) })
    }

    /// One client for everything (tests, tools).
    pub fn one(client: GithubClient) -> Clients {
        Clients { main: Arc::new(client), per_owner: None, saved: Mutex::new(Vec::new()) }
    }

    /// Takes in the budgets a run before kept: a credential known to be
    /// spent until its reset is not asked before it, in the clients made so
    /// far and those made later.
    pub fn seed(&self, saved: &[CredentialBudget]) {
        for client in self.all() {
            client.seed(saved);
        }
        if let Ok(mut kept) = self.saved.lock() {
            *kept = saved.to_vec();
        }
    }

    /// Each credential's budget as last seen, to keep and to show: every
    /// installation's for an App serving every owner (the App's own JWT
    /// spends no installation's budget), else the client's.
    pub fn credentials(&self) -> Vec<CredentialBudget> {
        let made = self.all();
        let skip = usize::from(self.per_owner());
        made.iter().skip(skip).flat_map(|c| c.credentials()).collect()
    }

    /// The budget the closing line states: the client's, or for an App
    /// serving every owner, the installation with the least left (each is
    /// listed after the run).
    pub fn budget_seen(&self) -> Option<crate::budget::Budget> {
        let skip = usize::from(self.per_owner());
        self.all().iter().skip(skip).filter_map(|c| c.budget_seen()).min_by_key(|b| b.remaining)
    }

    /// The points of each credential's hour left unspent (`--reserve`).
    pub fn reserve(&self) -> i64 {
        self.main.reserve()
    }

    /// The client that checks the credential, and serves what belongs to no
    /// repository: the one client, or the App itself.
    pub fn main(&self) -> &GithubClient {
        &self.main
    }

    /// The main client, shared.
    pub fn main_arc(&self) -> Arc<GithubClient> {
        self.main.clone()
    }

    /// Whether each owner has an installation (and a budget) of its own.
    pub fn per_owner(&self) -> bool {
        self.per_owner.is_some()
    }

    /// The client serving `owner/name`.
    pub async fn for_repository(&self, owner: &str, name: &str) -> Result<Arc<GithubClient>, GithubError> {
        let Some(p) = &self.per_owner else { return Ok(self.main.clone()) };
        let known = p.owners.lock().map_err(poisoned)?.get(&owner.to_lowercase()).copied();
        let installation = match known {
            Some(found) => found,
            None => {
                let found = self.installation_of(owner, name).await?;
                p.owners.lock().map_err(poisoned)?.insert(owner.to_lowercase(), found);
                found
            }
        };
        let id = installation.ok_or_else(|| GithubError::NotInstalled { app_id: p.app.app_id, owner: owner.into() })?;
        let mut made = p.installations.lock().map_err(poisoned)?;
        if let Some(client) = made.get(&id) {
            return Ok(client.clone());
        }
        let credential = Credential::App(p.app.on_owner(id, owner));
        let client = GithubClient::connect(&p.graphql_url, &p.rest_url, &credential, p.settings)?;
        if let Ok(saved) = self.saved.lock() {
            client.seed(&saved);
        }
        let client = Arc::new(client.with_notifier(relay(&p.notify)));
        made.insert(id, client.clone());
        Ok(client)
    }

    /// The client serving an owner's repositories as a whole (an owner-wide
    /// `add`): its installation, found through the organisation's or user's.
    pub async fn for_owner(&self, owner: &str) -> Result<Arc<GithubClient>, GithubError> {
        if self.per_owner.is_none() {
            return Ok(self.main.clone());
        }
        // Any repository path finds the owner's installation: the owner's
        // own endpoints differ for organisations and users.
        for path in [format!("/orgs/{owner}/installation"), format!("/users/{owner}/installation")] {
            match self.main.rest(Method::GET, &path, None).await {
                Ok(answer) => {
                    let id = answer.get("id").and_then(serde_json::Value::as_u64);
                    if let (Some(p), Some(id)) = (&self.per_owner, id) {
                        p.owners.lock().map_err(poisoned)?.insert(owner.to_lowercase(), Some(id));
                        return self.for_repository(owner, "").await;
                    }
                }
                Err(GithubError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        let app_id = self.per_owner.as_ref().map_or(0, |p| p.app.app_id);
        Err(GithubError::NotInstalled { app_id, owner: owner.into() })
    }

    /// The installation on `owner`, asked with the App's JWT; none where
    /// the App is not installed.
    async fn installation_of(&self, owner: &str, name: &str) -> Result<Option<u64>, GithubError> {
        match self.main.rest(Method::GET, &format!("/repos/{owner}/{name}/installation"), None).await {
            Ok(answer) => Ok(answer.get("id").and_then(serde_json::Value::as_u64)),
            Err(GithubError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every client made so far: the main one first, then each installation's.
    pub fn all(&self) -> Vec<Arc<GithubClient>> {
        let mut out = vec![self.main.clone()];
        if let Some(p) = &self.per_owner {
            if let Ok(made) = p.installations.lock() {
                out.extend(made.values().cloned());
            }
        }
        out
    }

    /// Requests sent by every client.
    pub fn requests_sent(&self) -> u32 {
        self.all().iter().map(|c| c.requests_sent()).sum()
    }
}

/// Each client's notifier passes on to the one the run gave.
fn relay(notify: &SharedNotifier) -> Notifier {
    let notify = notify.clone();
    Box::new(move |level, text| notify(level, text))
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> GithubError {
    GithubError::Other("a lock of the GitHub clients was poisoned".into())
}
