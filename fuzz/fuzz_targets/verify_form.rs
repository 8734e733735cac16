//! Signature verification and slash-command form parsing: the bytes Slack (or anyone) sends to
//! `/slack/commands`, before and after `slack::verify` has looked at them.
//!
//! Input: `<timestamp header>\n<signature header>\n<body>` (any bytes; a missing line means a
//! missing header). Invariants:
//! - `verify` never panics, whatever the headers and body;
//! - it accepts only the exact canonical signature of this body at this timestamp;
//! - the body signed with the secret at an in-window time always verifies, and a one-byte change
//!   to the body, a one-character change to the signature, or a different timestamp never does;
//! - `SlashCommand::from_form` never panics and agrees with a plain decoding of the form: it
//!   succeeds exactly when each required field is present once, no known field repeats and
//!   every name and value is UTF-8 once decoded, and then returns those values; it refuses a
//!   form as not UTF-8 only when the plain (lossy) decoding shows a replacement character;
//! - `command::parse` of the decoded `text` never panics (the rest of the ack path).
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use marquee_core::model::ModelId;
use marquee_core::request::ModelPolicy;
use marquee_core::secret::Secret;
use marquee_core::slack::command::{self, SlashCommand};
use marquee_core::slack::form::FormError;
use marquee_core::slack::verify::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER, VerifyError};

/// Slack's published example secret and timestamp (shared/reference/SLACK.md), so the committed
/// seed of Slack's own request verifies and the fuzzer starts from a passing case.
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const NOW: i64 = 1_531_420_618;

fn split_line(data: &[u8]) -> (Option<&[u8]>, &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(i) => (Some(&data[..i]), &data[i + 1..]),
        None => (None, data),
    }
}

fn headers(ts: Option<&[u8]>, sig: Option<&[u8]>) -> HeaderMap {
    let mut h = HeaderMap::new();
    // Bytes that are not a valid header value cannot reach the router either; drop them.
    if let Some(v) = ts.and_then(|t| HeaderValue::from_bytes(t).ok()) {
        h.insert(TIMESTAMP_HEADER, v);
    }
    if let Some(v) = sig.and_then(|s| HeaderValue::from_bytes(s).ok()) {
        h.insert(SIGNATURE_HEADER, v);
    }
    h
}

fn signed_headers(ts: i64, sig: &str) -> HeaderMap {
    headers(Some(ts.to_string().as_bytes()), Some(sig.as_bytes()))
}

fn check_verify(secret: &Secret, ts: Option<&[u8]>, sig: Option<&[u8]>, body: &[u8]) {
    // 1. Whatever arrived: no panic, and Ok only for the canonical signature.
    let h = headers(ts, sig);
    if verify::verify(secret, &h, body, NOW).is_ok() {
        let ts_text = std::str::from_utf8(ts.unwrap_or_default()).expect("accepted => utf-8");
        let ts: i64 = ts_text.parse().expect("accepted => a number");
        assert_eq!(
            sig.unwrap_or_default(),
            verify::sign(secret, ts, body).as_bytes(),
            "verify accepted a signature that is not the canonical one"
        );
    }

    // 2. Signed with the secret at an in-window time: always verifies.
    let skew = i64::from(body.len() as u16 % 601) - 300;
    let ts = NOW + skew;
    let good = verify::sign(secret, ts, body);
    assert_eq!(
        verify::verify(secret, &signed_headers(ts, &good), body, NOW),
        Ok(()),
        "a correctly signed body was rejected"
    );

    // 3. One byte of the body changed: never verifies.
    if !body.is_empty() {
        let mut tampered = body.to_vec();
        let i = usize::from(body[0]) % body.len();
        tampered[i] ^= 1 + body[body.len() - 1] % 255;
        assert_eq!(
            verify::verify(secret, &signed_headers(ts, &good), &tampered, NOW),
            Err(VerifyError::Mismatch),
            "a body with one changed byte verified"
        );
    }
    // A body with one byte more or less: never verifies.
    let mut longer = body.to_vec();
    longer.push(b'&');
    assert!(verify::verify(secret, &signed_headers(ts, &good), &longer, NOW).is_err());
    if let Some((_, shorter)) = body.split_last() {
        assert!(verify::verify(secret, &signed_headers(ts, &good), shorter, NOW).is_err());
    }

    // 4. One hex digit of the signature changed: never verifies.
    let mut sig_bytes = good.clone().into_bytes();
    let i = 3 + body.len() % 64;
    sig_bytes[i] = if sig_bytes[i] == b'0' { b'1' } else { b'0' };
    let bad_sig = String::from_utf8(sig_bytes).expect("hex is ascii");
    assert_eq!(
        verify::verify(secret, &signed_headers(ts, &bad_sig), body, NOW),
        Err(VerifyError::Mismatch)
    );

    // 5. The same signature presented with another timestamp: never verifies.
    assert!(verify::verify(secret, &signed_headers(ts + 1, &good), body, NOW).is_err());
}

/// The fields `SlashCommand` reads; `text`, `user_name`, `team_id` and `channel_id` are optional.
const REQUIRED: [&str; 3] = ["command", "user_id", "response_url"];
const OPTIONAL: [&str; 4] = ["text", "user_name", "team_id", "channel_id"];

fn check_form(body: &[u8]) {
    let parsed = SlashCommand::from_form(body);
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) else {
        return;
    };
    let count = |k: &str| pairs.iter().filter(|(n, _)| n == k).count();
    let value = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let well_formed = REQUIRED.iter().all(|k| count(k) == 1) && OPTIONAL.iter().all(|k| count(k) <= 1);
    match &parsed {
        Ok(c) => {
            assert!(well_formed, "from_form accepted a form with missing or repeated fields");
            assert_eq!(Some(&c.command), value("command").as_ref());
            assert_eq!(Some(&c.user_id), value("user_id").as_ref());
            assert_eq!(Some(&c.response_url), value("response_url").as_ref());
            assert_eq!(c.text, value("text").unwrap_or_default());
            assert_eq!(c.team_id, value("team_id"));
            // The Debug form is logged: it must never show the response_url (unless the same
            // text is also in a field Debug does show, as a fuzzed form can arrange).
            let shown = [Some(&c.command), Some(&c.user_id), c.team_id.as_ref(), c.channel_id.as_ref()];
            if c.response_url.len() > 8 && !shown.into_iter().flatten().any(|f| f.contains(&c.response_url)) {
                assert!(!format!("{c:?}").contains(&c.response_url));
            }
            let policy = ModelPolicy {
                default: ModelId::Offline,
                allowed: vec![ModelId::Offline, ModelId::NovaCanvas],
            };
            let _ = command::parse(&c.text, &policy);
        }
        // Bytes that are not UTF-8 decode lossily to U+FFFD in the plain decoding, so a refusal
        // for that reason must show one there.
        Err(e @ FormError::NotUtf8 { .. }) => assert!(
            pairs.iter().any(|(k, v)| k.contains('\u{FFFD}') || v.contains('\u{FFFD}')),
            "from_form called UTF-8 not UTF-8: {e}"
        ),
        Err(e) => assert!(!well_formed, "from_form rejected a well-formed form: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let secret = Secret::new(SECRET);
    let (ts, rest) = split_line(data);
    let (sig, body) = match ts {
        Some(_) => split_line(rest),
        None => (None, rest),
    };
    check_verify(&secret, ts, sig, body);
    check_form(body);
});
