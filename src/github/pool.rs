//! What a client's pool of credentials (`lanes`) shows its callers: whose
//! requests they are, each credential's budget (to keep and to show), the
//! budget to plan on and what the next request may cost; and what it says
//! when requests move to another credential.

use chrono::{DateTime, Utc};

use super::client::GithubClient;
use super::credential::CredentialName;
use super::error::GithubError;
use super::lanes::{AllSpent, Pick};
use crate::budget::{Budget, CredentialBudget, Headroom};
use crate::report::NoticeLevel;

impl GithubClient {
    /// Whose requests these are now, for messages.
    pub fn credential(&self) -> CredentialName {
        self.lanes.lane(self.lanes.in_use()).name.clone()
    }

    /// How many credentials the client holds (`query_on` takes each).
    pub fn credential_count(&self) -> usize {
        self.lanes.len()
    }

    /// Each credential's name and budget as last seen: what a run keeps
    /// (`backfill_credentials`) and the reports show.
    pub fn credentials(&self) -> Vec<CredentialBudget> {
        self.lanes.credentials()
    }

    /// Takes in the budgets a run before kept (`credentials`): a credential
    /// known to be spent until its reset is not asked before it.
    pub fn seed(&self, saved: &[CredentialBudget]) {
        self.lanes.seed(saved, Utc::now());
    }

    /// The budget as GitHub's last answer stated it, for the credential in use.
    pub fn budget_seen(&self) -> Option<Budget> {
        self.lanes.budget_of(self.lanes.in_use())
    }

    /// What the credentials not spent may still spend in this window, with
    /// the reserve each keeps: for planning chunks, which may span a pool.
    /// `None` before any budget is known.
    pub fn headroom(&self) -> Option<Headroom> {
        self.lanes.headroom(Utc::now())
    }

    /// The most the next request may cost: what is left on the credential
    /// it goes out on, less the reserve (`None` while unknown).
    pub fn spendable(&self) -> Option<i64> {
        self.lanes.spendable(Utc::now())
    }

    /// The points of each credential's hour left unspent (`--reserve`).
    pub fn reserve(&self) -> i64 {
        self.lanes.reserve()
    }

    /// Says when requests move to another credential, and why.
    pub(super) fn moved(&self, pick: Pick) -> usize {
        let Some(left) = pick.left else { return pick.lane };
        let (from, to) = (self.lanes.lane(left).name.label(), self.lanes.lane(pick.lane).name.label());
        let why = match (self.lanes.budget_of(left), self.lanes.spent_until(left, Utc::now())) {
            (Some(b), Some(reset)) if b.remaining > 0 => {
                format!("{from} keeps its last {} points, the reserve, until {}", b.remaining, hms(reset))
            }
            (_, Some(reset)) => format!("{from} is spent until {}", hms(reset)),
            (_, None) => format!("{from} rests"),
        };
        (self.notify)(NoticeLevel::Info, &format!("{why}: the requests go on with {to}"));
        pick.lane
    }

    /// Every credential spent, or down to its reserve: the caller pauses until the first reset.
    pub(super) fn all_spent(&self, spent: AllSpent) -> GithubError {
        match spent.reserve_held {
            true => GithubError::ReserveHeld { reset_at: spent.reset_at, reserve: self.lanes.reserve() },
            false => GithubError::RateLimited { reset_at: Some(spent.reset_at) },
        }
    }

    /// Takes in an answer's budget; says once when two tokens turn out to
    /// share one account's budget. Returns what the request cost, when told.
    pub(super) fn record(&self, lane: usize, budget: Budget) -> Option<i64> {
        let (drop, twin) = self.lanes.record(lane, budget, Utc::now());
        if let Some(twin) = twin {
            let (a, b) = (self.lanes.lane(twin).name.label(), self.lanes.lane(lane).name.label());
            let until = budget.reset_at.map_or_else(|| "its reset".to_string(), hms);
            (self.notify)(
                NoticeLevel::Warning,
                &format!(
                    "{a} and {b} share one hourly budget (one account: the same window, its use carried on): \
                     both are spent until {until}, and tokens of one account add no budget"
                ),
            );
        }
        drop
    }
}

fn hms(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%S UTC").to_string()
}
