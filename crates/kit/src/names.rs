//! The one name shortener: AWS names have limits (32 characters for a load balancer, 63 for a
//! bucket, 64 for a request id), app names may be 48 characters, and a name must come out the
//! same on every run so that reruns find what they made.

use sha2::{Digest, Sha256};

/// Hex digits of the hash a shortened name ends with.
pub const HASH_LEN: usize = 8;

/// `name` when it has at most `max` characters; else its first `max - 9` characters (trailing
/// hyphens and dots dropped), a hyphen and [`digest`] of the whole name: deterministic, within
/// `max`, and different for two long names that share a prefix. `name` is expected to be
/// ASCII (AWS names are); `max` must leave room for the hash (at least 10).
pub fn shorten(name: &str, max: usize) -> String {
    assert!(
        max > HASH_LEN + 1,
        "no room for the hash in {max} characters"
    );
    if name.chars().count() <= max {
        return name.to_owned();
    }
    let head: String = name.chars().take(max - HASH_LEN - 1).collect();
    let head = head.trim_end_matches(['-', '.']);
    if head.is_empty() {
        digest(name)
    } else {
        format!("{head}-{}", digest(name))
    }
}

/// The first [`HASH_LEN`] hex digits of the SHA-256 of `text`.
pub fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(HASH_LEN / 2)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept() {
        assert_eq!(shorten("unicorn-ui", 32), "unicorn-ui");
        assert_eq!(shorten(&"a".repeat(32), 32), "a".repeat(32));
    }

    #[test]
    fn long_names_are_cut_and_hashed() {
        let long = "a-very-long-application-name-for-tests1x-tg";
        let s = shorten(long, 32);
        assert_eq!(s.len(), 32);
        assert!(s.starts_with("a-very-long-application"), "{s}");
        assert_eq!(s, shorten(long, 32), "deterministic");
        assert_ne!(
            s,
            shorten("a-very-long-application-name-for-tests2x-tg", 32)
        );
        // A cut at a hyphen does not leave two in a row.
        let s = shorten("abcdefghijklmnopqrstuvw-xyz-and-more", 32);
        assert!(!s.contains("--"), "{s}");
        assert_eq!(digest("x").len(), HASH_LEN);
    }
}
