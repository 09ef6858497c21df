//! The ids of the synthetic data: node ids as GitHub spells them, database
//! ids above 2^32, and a repository's id from its name.

use crate::data::Rng;

pub(crate) fn node_id(prefix: &str, id: i64) -> String {
    use base64::Engine;
    let raw = format!("0:{prefix}{id}");
    format!("{prefix}_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
}

/// Database ids handed out in increasing order, with gaps.
pub(crate) struct Ids {
    next: i64,
}

impl Ids {
    pub(crate) fn starting_at(base: i64) -> Ids {
        Ids { next: base }
    }

    /// Above 2^32 so a 32-bit id would overflow.
    pub(crate) fn take(&mut self, rng: &mut Rng) -> i64 {
        self.next += 1 + rng.below(5) as i64;
        self.next
    }

    /// The last id handed out (or the base): where the next batch starts.
    pub(crate) fn last(&self) -> i64 {
        self.next
    }
}

/// A repository's `databaseId`, from its name alone: the same repository has
/// the same id in every fake (as on GitHub), and two repositories never share
/// one, even when each is served by a fake of its own (the row of one must not
/// take over the other's). FNV-1a over the lowercased `owner/name` (GitHub's
/// names are case-insensitive), folded into 10^8..2.1*10^9 so it stays a
/// positive 32-bit `Int`, as GitHub's are.
pub fn repository_id(owner: &str, name: &str) -> i64 {
    let full = format!("{}/{}", owner.to_lowercase(), name.to_lowercase());
    let hash = full.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    100_000_000 + (hash % 2_000_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{actors, generate, RepoSpec};

    #[test]
    fn a_repository_has_its_own_id_in_every_fake() {
        let actors = actors();
        let alone = generate(&RepoSpec::new("acme", "one", 0), &actors, 0);
        let other = generate(&RepoSpec::new("acme", "two", 0), &actors, 0);
        let second = generate(&RepoSpec::new("Acme", "One", 0), &actors, 3);
        assert_ne!(alone.database_id, other.database_id, "two single-repository fakes");
        assert_ne!(alone.node_id, other.node_id);
        assert_eq!((alone.database_id, &alone.node_id), (second.database_id, &second.node_id), "stable, any case");
        let mut ids: Vec<i64> = (0..2_000).map(|i| repository_id("org", &format!("repo-{i}"))).collect();
        assert!(ids.iter().all(|id| (100_000_000..i64::from(i32::MAX)).contains(id)), "positive 32-bit ids");
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 2_000, "no two repositories share an id");
    }
}
