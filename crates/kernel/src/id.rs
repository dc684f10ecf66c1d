//! Entity ids: UUIDv7 strings, so that ids sort by creation time (which keyset pagination
//! relies on) and read the same in SQLite and PostgreSQL.

/// A new time-ordered id (UUIDv7, hyphenated lowercase).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Whether `candidate` is a well-formed id (any UUID in hyphenated form).
pub fn is_valid_id(candidate: &str) -> bool {
    candidate.len() == 36 && uuid::Uuid::try_parse(candidate).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_in_creation_order() {
        let first = new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_id();
        assert!(first < second);
        assert!(is_valid_id(&first));
        assert!(!is_valid_id("not-an-id"));
    }
}
