//! The ids of the rows the tool inserts.

/// UUID version 7, which begins with the time, so the rows a chunk writes
/// land together on the last pages of each primary-key index (a random id
/// puts every insert on a random page, and writes slow down as the tables
/// grow past memory).
pub(crate) fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_grow_with_time() {
        let ids: Vec<uuid::Uuid> = (0..1000).map(|_| super::new_id()).collect();
        assert!(ids.iter().all(|id| id.get_version_num() == 7));
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "each id sorts after the one before");
    }
}
