//! Errors in logs: one line with every cause, outermost first.
//!
//! A leaf module. Each module owns its own `thiserror` enum with causes kept as sources; this
//! is how any of them is written into a log line. Causes that carry capabilities (a
//! `response_url`, an upload URL) are stripped where they are made, never here.

/// Displays an error with all its causes, `a: b: c`, for logs.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;

    #[test]
    fn every_cause_is_shown_outermost_first() {
        assert_eq!(ErrorChain(&Outer(Inner)).to_string(), "outer: inner");
    }
}
