//! The `/poster` flag parser (`slack::command::parse`) under a model policy.
//!
//! Input: one policy byte, then the command text (UTF-8; other bytes are skipped). The policy
//! byte's low five bits choose the allowed models from `ModelId::ALL` (none chosen: offline
//! only) and the first allowed one is the default, as `Config` guarantees. Invariants:
//! - `parse` never panics and is deterministic;
//! - an `Ok` spec passes `check_spec`, has a non-empty description, an allowed model, and flag
//!   values that are non-empty and already whitespace-normalised;
//! - `Help` comes only from empty text or a help word, `Usage` and `History` only from
//!   their one word;
//! - every error has a message to show the user.
#![no_main]

use libfuzzer_sys::fuzz_target;
use marquee_core::model::ModelId;
use marquee_core::request::{self, ModelPolicy};
use marquee_core::slack::command::{self, PosterCommand};

fn policy(byte: u8) -> ModelPolicy {
    let mut allowed: Vec<ModelId> = ModelId::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| byte & (1 << i) != 0)
        .map(|(_, m)| *m)
        .collect();
    if allowed.is_empty() {
        allowed.push(ModelId::Offline);
    }
    ModelPolicy {
        default: allowed[0],
        allowed,
    }
}

fn normalised(value: &str) -> bool {
    !value.is_empty() && value.split_whitespace().collect::<Vec<_>>().join(" ") == value
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let policy = policy(first);
    let result = command::parse(text, &policy);
    assert_eq!(result, command::parse(text, &policy), "parse is not deterministic");
    match result {
        Ok(PosterCommand::Help) => {
            let t = command::unescape_slack(text);
            let t = t.trim();
            assert!(
                t.is_empty() || ["help", "-h", "--help", "?"].iter().any(|h| t.eq_ignore_ascii_case(h)),
                "help for {text:?}"
            );
        }
        Ok(command @ (PosterCommand::Usage | PosterCommand::History)) => {
            let t = command::unescape_slack(text);
            let word = if command == PosterCommand::Usage { "usage" } else { "history" };
            assert!(t.trim().eq_ignore_ascii_case(word), "{command:?} for {text:?}");
        }
        Ok(PosterCommand::Poster(spec)) => {
            assert_eq!(request::check_spec(&spec), Ok(()), "{spec:?}");
            assert!(!spec.description.trim().is_empty(), "{spec:?}");
            assert!(policy.allowed.contains(&spec.model), "{spec:?}");
            for value in [&spec.text.title, &spec.text.tagline, &spec.text.credits, &spec.avoid]
                .into_iter()
                .flatten()
            {
                assert!(normalised(value), "flag value {value:?} in {spec:?}");
            }
            if let Some(seed) = spec.seed {
                assert!(seed <= spec.model.max_seed());
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
