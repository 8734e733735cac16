//! Secrets in memory: signing secrets, tokens and keys that must never reach a log.
//!
//! A leaf module: it knows nothing of where secrets come from (`marquee_service::config`) or what they
//! sign ([`crate::slack`], [`crate::store`]); every module that holds one uses this type.

use std::fmt;

/// A secret string whose `Debug` shows only its length, so it can sit inside structs that are
/// logged without ever being printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call sites are the few places that must use it (HMAC keys, headers).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this secret, compared in constant time: both are hashed first,
    /// so neither the position of the first difference nor the secret's length shows in the
    /// time taken.
    pub fn matches(&self, presented: &str) -> bool {
        use sha2::Digest;
        let (a, b) = (
            sha2::Sha256::digest(self.0.as_bytes()),
            sha2::Sha256::digest(presented.as_bytes()),
        );
        a.iter()
            .zip(b.iter())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_length_only() {
        let shown = format!("{:?}", Secret::new("xoxb-123-abc"));
        assert_eq!(shown, "Secret(12 bytes)");
    }

    #[test]
    fn matches_only_itself() {
        let s = Secret::new("a-long-api-token-0123456789");
        assert!(s.matches("a-long-api-token-0123456789"));
        for other in [
            "",
            "a-long-api-token-012345678",
            "a-long-api-token-01234567890",
            "A-long-api-token-0123456789",
        ] {
            assert!(!s.matches(other), "{other}");
        }
    }
}
