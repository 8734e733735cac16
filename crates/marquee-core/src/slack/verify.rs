//! Slack request signing: the only code that looks at unverified request bytes.
//!
//! Slack signs every request with `v0=` + hex(HMAC-SHA256(signing secret,
//! `v0:{timestamp}:{raw body}`)). We recompute it over the body exactly as received, reject
//! timestamps more than five minutes from now (replays), and compare in constant time. Time is a
//! parameter so the check is testable against Slack's published example.

use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use hmac::{KeyInit, Mac};
use http::HeaderMap;
use sha2::Digest;

use crate::secret::Secret;

pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// Slack's replay window.
const MAX_SKEW_SECS: i64 = 300;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Whether `body` (unverified) is exactly Slack's SSL check of a slash command's URL:
/// `ssl_check=1`, with the deprecated verification `token` beside it and nothing else. Slack
/// sends it to see that the URL's certificate is good, and it may come unsigned, so Bolt
/// answers it with an empty 200 before verifying anything (slackapi/bolt-python
/// `slack_bolt/middleware/ssl_check/ssl_check.py`, tested in `tests/scenario_tests/
/// test_ssl_check.py` with the body `token=random&ssl_check=1`). The answer says nothing and
/// runs nothing; any other field, a repeated one or another value makes it an ordinary
/// request, verified as every other.
pub fn is_ssl_check(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SslCheck {
        ssl_check: String,
        #[serde(default, rename = "token")]
        _token: Option<String>,
    }
    // Slack's own is a few dozen bytes.
    body.len() <= 256
        && matches!(super::form::decode::<SslCheck>(body), Ok(c) if c.ssl_check == "1")
}

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

/// The least time between two reads of a rotated secret (see [`SigningSecret`]): bad
/// signatures, which anyone can send, cost at most one read per instance per interval.
const RELOAD_EVERY: Duration = Duration::from_secs(30);

/// Reads the signing secret again from where it is kept (Secrets Manager in a deployment).
#[async_trait::async_trait]
pub trait ReloadSecret: Send + Sync {
    /// The secret as stored now, or `None` when it cannot be read (the caller keeps its own).
    async fn reload(&self) -> Option<Secret>;
}

/// Slack's signing secret as the front door holds it: the value read at start and, when it is
/// kept somewhere it can change, a way to read it again.
///
/// Slack switches to a regenerated secret at once, while a warm function still holds the one it
/// read at its cold start. So when a signature does not match, the secret is read again (at most
/// once per [`RELOAD_EVERY`]) and the request checked once more against the stored value: a
/// rotation takes effect with the first request after the new secret is stored, with no restart
/// and no window of refused commands beyond the moment between regenerating and storing it.
#[derive(Clone)]
pub struct SigningSecret {
    current: Arc<RwLock<Secret>>,
    reload: Option<Arc<dyn ReloadSecret>>,
    last_reload: Arc<Mutex<Option<Instant>>>,
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningSecret")
            .field("reloads", &self.reload.is_some())
            .finish_non_exhaustive()
    }
}

impl From<Secret> for SigningSecret {
    fn from(secret: Secret) -> Self {
        Self {
            current: Arc::new(RwLock::new(secret)),
            reload: None,
            last_reload: Arc::new(Mutex::new(None)),
        }
    }
}

impl SigningSecret {
    /// A secret that is read again from `reload` when a signature does not match it.
    pub fn reloading(secret: Secret, reload: Arc<dyn ReloadSecret>) -> Self {
        Self {
            reload: Some(reload),
            ..Self::from(secret)
        }
    }

    fn current(&self) -> Secret {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Checks a request as [`verify`] does; on a mismatch, against a freshly read secret too.
    pub async fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<(), VerifyError> {
        let held = self.current();
        match verify(&held, headers, body, now) {
            Err(VerifyError::Mismatch) => {}
            other => return other,
        }
        let Some(fresh) = self.reloaded(&held).await else {
            return Err(VerifyError::Mismatch);
        };
        verify(&fresh, headers, body, now)
    }

    /// The stored secret if it is due to be read, could be read, and differs from `held`.
    async fn reloaded(&self, held: &Secret) -> Option<Secret> {
        let reload = self.reload.as_ref()?;
        {
            let mut last = self
                .last_reload
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < RELOAD_EVERY) {
                return None;
            }
            *last = Some(Instant::now());
        }
        let fresh = reload.reload().await.filter(|f| f != held)?;
        tracing::info!("the Slack signing secret changed where it is stored; using the new one");
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh.clone();
        Some(fresh)
    }
}

/// How long a request's [`Sight`] is remembered: Slack's replay window (five minutes either
/// side of the request's timestamp, so a replay verifies for up to ten minutes after the
/// original arrived) with a margin.
pub const SIGHT_SECS: i64 = 15 * 60;

/// A verified request's replay key: the SHA-256 of its signature. A replay inside Slack's
/// window verifies like the original, so its signature (over the timestamp and the body, which
/// carries a fresh `trigger_id` per request) is what gives it away. Whatever a request starts
/// is started through its sight, once: a job with `Dispatcher::dispatch_once`, anything else
/// after `Records::first_sight`. Not secret: a digest of a signature already sent in the clear
/// to whoever holds the request.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Sight([u8; 32]);

impl Sight {
    /// The sight of a request signed `signature` (the `X-Slack-Signature` header as sent).
    pub fn of(signature: &str) -> Sight {
        Sight(sha2::Sha256::digest(signature.as_bytes()).into())
    }

    pub fn digest(&self) -> &[u8; 32] {
        &self.0
    }

    /// The digest in lowercase hex: how a state store keys it.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Sight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sight({}…)", &self.hex()[..12])
    }
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

    /// A secret store whose value an admin has just replaced; counts its reads.
    struct Rotated {
        value: &'static str,
        reads: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl ReloadSecret for Rotated {
        async fn reload(&self) -> Option<Secret> {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Some(Secret::new(self.value))
        }
    }

    #[tokio::test]
    async fn a_rotated_secret_is_picked_up_on_the_first_request_signed_with_it() {
        let store = Arc::new(Rotated {
            value: SECRET,
            reads: Default::default(),
        });
        let held = SigningSecret::reloading(
            Secret::new("the-secret-read-at-the-cold-start"),
            store.clone(),
        );
        let h = headers(&TIMESTAMP.to_string(), EXPECTED);
        assert_eq!(held.verify(&h, BODY.as_bytes(), TIMESTAMP).await, Ok(()));
        assert_eq!(store.reads.load(std::sync::atomic::Ordering::SeqCst), 1);
        // From now on the new secret is held: no more reads for good requests.
        assert_eq!(held.verify(&h, BODY.as_bytes(), TIMESTAMP).await, Ok(()));
        assert_eq!(store.reads.load(std::sync::atomic::Ordering::SeqCst), 1);
        // A forged signature is refused, and within the interval causes no read at all.
        let forged = headers(&TIMESTAMP.to_string(), &format!("v0={}", "0".repeat(64)));
        assert_eq!(
            held.verify(&forged, BODY.as_bytes(), TIMESTAMP).await,
            Err(VerifyError::Mismatch)
        );
        assert_eq!(store.reads.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_fixed_secret_never_reloads_and_stale_requests_are_not_retried() {
        let fixed = SigningSecret::from(Secret::new(SECRET));
        let forged = headers(&TIMESTAMP.to_string(), &format!("v0={}", "0".repeat(64)));
        assert_eq!(
            fixed.verify(&forged, BODY.as_bytes(), TIMESTAMP).await,
            Err(VerifyError::Mismatch)
        );
        let store = Arc::new(Rotated {
            value: SECRET,
            reads: Default::default(),
        });
        let held = SigningSecret::reloading(Secret::new("old"), store.clone());
        let h = headers(&TIMESTAMP.to_string(), EXPECTED);
        assert!(matches!(
            held.verify(&h, BODY.as_bytes(), TIMESTAMP + 3600).await,
            Err(VerifyError::Stale { .. })
        ));
        assert_eq!(store.reads.load(std::sync::atomic::Ordering::SeqCst), 0);
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

    #[test]
    fn only_an_exact_ssl_check_is_recognised_before_verifying() {
        for yes in [
            "ssl_check=1",
            "token=random&ssl_check=1",
            "ssl_check=1&token=xyzz0WbapA4vBCDEFasx0q6G",
        ] {
            assert!(is_ssl_check(yes.as_bytes()), "{yes}");
        }
        for no in [
            "",
            "ssl_check=0",
            "token=random",
            "ssl_check=1&ssl_check=1",
            "ssl_check=1&command=%2Fposter&text=a+kraken",
            "ssl_check=1&token=x&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1%2F1%2Fa",
            "ssl_check=1&%FF=1",
        ] {
            assert!(!is_ssl_check(no.as_bytes()), "{no}");
        }
        let long = format!("ssl_check=1&token={}", "x".repeat(300));
        assert!(!is_ssl_check(long.as_bytes()));
    }
}
