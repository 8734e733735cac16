//! Slack request signing: the only code that looks at unverified request bytes.
//!
//! Slack signs every request with `v0=` + hex(HMAC-SHA256(signing secret,
//! `v0:{timestamp}:{raw body}`)). We recompute it over the body exactly as received, reject
//! timestamps more than five minutes from now (replays), and compare in constant time. Time is a
//! parameter so the check is testable against Slack's published example.

use hmac::{KeyInit, Mac};
use http::HeaderMap;

use crate::secret::Secret;

pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// Slack's replay window.
const MAX_SKEW_SECS: i64 = 300;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("missing {0} header")]
    Missing(&'static str),
    #[error("the {0} header appears more than once")]
    Duplicated(&'static str),
    #[error("the request timestamp is not a unix time")]
    BadTimestamp,
    #[error(
        "the request timestamp is {skew} s away from now; Slack requests are valid for 5 minutes"
    )]
    Stale { skew: i64 },
    #[error("the signature is not of the form v0=<64 hex digits>")]
    BadSignatureFormat,
    #[error("the signature does not match")]
    Mismatch,
}

/// Computes Slack's signature for `body` at `timestamp`.
pub fn sign(secret: &Secret, timestamp: i64, body: &[u8]) -> String {
    let mac = mac(secret, timestamp, body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn mac(secret: &Secret, timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"v0:");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

fn single<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, VerifyError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next().ok_or(VerifyError::Missing(name))?;
    if values.next().is_some() {
        return Err(VerifyError::Duplicated(name));
    }
    first.to_str().map_err(|_| match name {
        TIMESTAMP_HEADER => VerifyError::BadTimestamp,
        _ => VerifyError::BadSignatureFormat,
    })
}

/// Checks that `body` was signed by Slack with `secret`, at a time close to `now` (unix secs).
pub fn verify(
    secret: &Secret,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    let timestamp_text = single(headers, TIMESTAMP_HEADER)?;
    let signature = single(headers, SIGNATURE_HEADER)?;

    // Only plain decimal digits: `+5`, ` 5` or `5.0` are not Slack timestamps.
    if timestamp_text.is_empty()
        || timestamp_text.len() > 12
        || !timestamp_text.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(VerifyError::BadTimestamp);
    }
    let timestamp: i64 = timestamp_text
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    let skew = now - timestamp;
    if skew.abs() > MAX_SKEW_SECS {
        return Err(VerifyError::Stale { skew });
    }

    let hex_part = signature
        .strip_prefix("v0=")
        .ok_or(VerifyError::BadSignatureFormat)?;
    // Slack sends lowercase hex; accept nothing else, so one signature has one spelling.
    if hex_part.len() != 64
        || !hex_part
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(VerifyError::BadSignatureFormat);
    }
    let expected = hex::decode(hex_part).map_err(|_| VerifyError::BadSignatureFormat)?;
    // `verify_slice` compares in constant time.
    mac(secret, timestamp, body)
        .verify_slice(&expected)
        .map_err(|_| VerifyError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's published example (see shared/reference/SLACK.md).
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: i64 = 1_531_420_618;
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const EXPECTED: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn headers(ts: &str, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, ts.parse().unwrap());
        h.insert(SIGNATURE_HEADER, sig.parse().unwrap());
        h
    }

    #[test]
    fn slacks_published_example_signs_and_verifies() {
        let secret = Secret::new(SECRET);
        assert_eq!(sign(&secret, TIMESTAMP, BODY.as_bytes()), EXPECTED);
        let h = headers(&TIMESTAMP.to_string(), EXPECTED);
        assert_eq!(verify(&secret, &h, BODY.as_bytes(), TIMESTAMP + 10), Ok(()));
    }

    #[test]
    fn every_tampering_is_rejected() {
        let secret = Secret::new(SECRET);
        let ts = TIMESTAMP.to_string();
        let now = TIMESTAMP;
        let cases: Vec<(HeaderMap, &str, VerifyError)> = vec![
            (
                headers(&ts, EXPECTED),
                "token=changed",
                VerifyError::Mismatch,
            ),
            (
                headers(&ts, &EXPECTED.replace("a2114", "a2115")),
                BODY,
                VerifyError::Mismatch,
            ),
            (
                headers(&ts, &EXPECTED.to_uppercase().replace("V0=", "v0=")),
                BODY,
                VerifyError::BadSignatureFormat,
            ),
            (
                headers(&ts, &EXPECTED[..60]),
                BODY,
                VerifyError::BadSignatureFormat,
            ),
            (
                headers(&ts, &EXPECTED.replace("v0=", "v1=")),
                BODY,
                VerifyError::BadSignatureFormat,
            ),
            (
                headers("1531420618.5", EXPECTED),
                BODY,
                VerifyError::BadTimestamp,
            ),
            (
                headers("-1531420618", EXPECTED),
                BODY,
                VerifyError::BadTimestamp,
            ),
            (headers("", EXPECTED), BODY, VerifyError::BadTimestamp),
            (
                headers(&(TIMESTAMP - 301).to_string(), EXPECTED),
                BODY,
                VerifyError::Stale { skew: 301 },
            ),
            (
                headers(&(TIMESTAMP + 301).to_string(), EXPECTED),
                BODY,
                VerifyError::Stale { skew: -301 },
            ),
            (
                HeaderMap::new(),
                BODY,
                VerifyError::Missing(TIMESTAMP_HEADER),
            ),
        ];
        for (h, body, want) in cases {
            assert_eq!(
                verify(&secret, &h, body.as_bytes(), now),
                Err(want.clone()),
                "{want}"
            );
        }
    }

    #[test]
    fn a_wrong_secret_or_duplicated_header_is_rejected() {
        let h = headers(&TIMESTAMP.to_string(), EXPECTED);
        assert_eq!(
            verify(
                &Secret::new("another secret"),
                &h,
                BODY.as_bytes(),
                TIMESTAMP
            ),
            Err(VerifyError::Mismatch)
        );
        let mut dup = h.clone();
        dup.append(SIGNATURE_HEADER, EXPECTED.parse().unwrap());
        assert_eq!(
            verify(&Secret::new(SECRET), &dup, BODY.as_bytes(), TIMESTAMP),
            Err(VerifyError::Duplicated(SIGNATURE_HEADER))
        );
    }

    #[test]
    fn the_window_edges_are_inclusive() {
        let secret = Secret::new(SECRET);
        let h = headers(&TIMESTAMP.to_string(), EXPECTED);
        assert!(verify(&secret, &h, BODY.as_bytes(), TIMESTAMP + 300).is_ok());
        assert!(verify(&secret, &h, BODY.as_bytes(), TIMESTAMP - 300).is_ok());
    }
}
