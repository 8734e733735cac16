//! Secrets in memory: signing secrets, tokens and keys that must never reach a log.
//!
//! A leaf module: it knows nothing of where secrets come from ([`crate::config`]) or what they
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
    pub(crate) fn expose(&self) -> &str {
        &self.0
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
}
