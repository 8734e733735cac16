//! Interaction payloads: the form `payload=<json>` Slack posts to `/slack/interactions`, read by
//! the crate's own parser (`marquee_core::slack::interaction::parse`), the code the router runs
//! after verifying the signature. Invariants:
//! - neither the form decoding nor the parser ever panics, whatever the bytes;
//! - what is accepted comes from the payload: the clicker is `user.id`, the answer goes to the
//!   payload's `response_url`, and the thread is one of the timestamps the payload carried;
//! - a restyle names a style that round-trips through its own name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use marquee_core::genre::Style;
use marquee_core::slack::interaction::{Action, parse};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Form {
    payload: String,
}

fuzz_target!(|data: &[u8]| {
    let Ok(form) = serde_urlencoded::from_bytes::<Form>(data) else {
        return;
    };
    let Ok(click) = parse(&form.payload) else {
        return;
    };
    let payload: Value = serde_json::from_str(&form.payload).expect("the parser accepted it, so it is JSON");
    assert_eq!(payload["user"]["id"].as_str(), Some(click.user_id.as_str()));
    assert_eq!(payload["response_url"].as_str(), Some(click.response_url.as_str()));
    if let Some(ts) = &click.thread_ts {
        let carried = [
            &payload["message"]["thread_ts"],
            &payload["message"]["ts"],
            &payload["container"]["thread_ts"],
            &payload["container"]["message_ts"],
        ];
        assert!(carried.iter().any(|v| v.as_str() == Some(ts.as_str())), "thread_ts {ts:?} came from nowhere");
    }
    if let Action::Restyle(style) = click.action {
        assert_eq!(Style::parse(style.name()), Some(style));
    }
});
