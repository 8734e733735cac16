//! Talking back to Slack: POSTs to `response_url`s, only to allowed hosts.
//!
//! A `response_url` arrives inside a request body, so it is attacker-controlled until checked:
//! only Slack's response-URL paths (`/commands/…` for slash commands, `/actions/…` for
//! interactions) on `https://hooks.slack.com` are used by default (an allow-list of origins,
//! configurable so local tests can point at a stand-in), and redirects are never followed
//! (the HTTP client is built without them), so nothing can bounce a post elsewhere. Transient
//! failures (connection refused, 429, 5xx) are retried a few times with jitter; a request that
//! may have reached Slack (a timeout) is never retried, so a message is never posted twice.
//!
//! A `response_url` is a write capability for 30 minutes, so no error from here carries one:
//! transport errors are stripped of their URL before they are kept.

use std::time::Duration;

use crate::slack::blocks::Message;

/// How many times a post is attempted when Slack answers with a transient error.
const ATTEMPTS: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("response_url is not an allowed Slack URL")]
    ForbiddenUrl,
    /// Slack refused the message (for example `expired_url`, `invalid_blocks`).
    #[error("slack refused the message: {status} {reason}")]
    Rejected { status: u16, reason: String },
    #[error("slack is unavailable: {status}")]
    Unavailable { status: u16 },
    /// The cause has had its URL removed ([`reqwest::Error::without_url`]).
    #[error("could not reach slack")]
    Transport(#[source] reqwest::Error),
    /// The invocation's time ran out before Slack answered.
    #[error("slack did not answer before the invocation's deadline")]
    OutOfTime,
    /// A reply posted into a thread through the Web API (a job with no `response_url`).
    #[error("slack did not take the reply in its thread")]
    Web(#[from] super::web::WebError),
    /// A job with no `response_url` and no bot token to post with.
    #[error("there is no bot token to reply in a thread with")]
    NoBotToken,
}

/// The HTTP client for everything Marquee sends to Slack: response_urls, the Web API and file
/// uploads. Every URL is checked before the request, so redirects, which would carry a request
/// past that check, are never followed.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    crate::net::client_builder()
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("marquee/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// The paths under which Slack issues `response_url`s: slash commands and interactions.
const RESPONSE_URL_PATHS: &[&str] = &["/commands/", "/actions/", "/app/"];

/// How long Slack accepts posts to a `response_url` after the command or click that issued it
/// (Slack's "Handling user interaction" guide: five posts within 30 minutes).
pub const RESPONSE_URL_LIFETIME: time::Duration = time::Duration::minutes(30);

impl SlackError {
    /// Whether a later attempt may succeed where this one failed without posting anything:
    /// Slack was busy or down, or no connection was made. A refusal is final, and a post that
    /// timed out may have landed, so neither is worth repeating.
    pub fn may_pass(&self) -> bool {
        match self {
            SlackError::Unavailable { .. } => true,
            SlackError::Transport(e) => e.is_connect(),
            // Our own deadline cut the post off: it may have landed.
            SlackError::ForbiddenUrl
            | SlackError::Rejected { .. }
            | SlackError::OutOfTime
            | SlackError::NoBotToken => false,
            // Only a request that never left may be sent again: a refusal is final, and a
            // timeout or a 5xx may have posted.
            SlackError::Web(e) => e.never_left(),
        }
    }

    /// Whether the post may have reached Slack although no answer said so: it timed out (ours
    /// or the invocation's deadline), or the connection broke after it was sent. Slack answers
    /// a post only once it has fetched the message's images, so a slow image host makes a post
    /// that Slack takes after Marquee stopped waiting.
    pub fn may_have_landed(&self) -> bool {
        match self {
            SlackError::Transport(e) => !e.is_connect(),
            SlackError::OutOfTime => true,
            SlackError::ForbiddenUrl
            | SlackError::Rejected { .. }
            | SlackError::Unavailable { .. }
            | SlackError::NoBotToken => false,
            // The Web API's own rule: only a definite refusal certainly posted nothing.
            SlackError::Web(e) => !e.is_definite_refusal(),
        }
    }

    /// Whether Slack said it could not fetch or render the blocks (most often the image).
    pub fn is_invalid_blocks(&self) -> bool {
        matches!(self, SlackError::Rejected { reason, .. } if reason.contains("invalid_blocks") || reason.contains("downloading image failed"))
    }
}

/// One allowed origin for `response_url`s (and, in [`super::files`], for Slack's file hosts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Allowed {
    /// A bare host name: HTTPS only, default port.
    Host(String),
    /// A full origin such as `http://127.0.0.1:8080`, for local stand-ins.
    Origin(String),
}

impl Allowed {
    pub(super) fn parse(h: &str) -> Allowed {
        if h.contains("://") {
            Allowed::Origin(h.trim_end_matches('/').to_ascii_lowercase())
        } else {
            Allowed::Host(h.to_ascii_lowercase())
        }
    }

    /// Whether `url` is on this origin (no user info: checked by the caller).
    pub(super) fn admits(&self, url: &url::Url) -> bool {
        match self {
            Allowed::Host(host) => {
                url.scheme() == "https"
                    && url.port().is_none()
                    && url.host_str() == Some(host.as_str())
            }
            Allowed::Origin(o) => &url.origin().ascii_serialization() == o,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    allowed: Vec<Allowed>,
}

impl SlackClient {
    pub fn new(http: reqwest::Client, allowed_hosts: &[String]) -> Self {
        let allowed = allowed_hosts.iter().map(|h| Allowed::parse(h)).collect();
        Self { http, allowed }
    }

    /// Whether Marquee may POST to `url`.
    pub fn is_allowed(&self, url: &str) -> bool {
        let Ok(parsed) = url::Url::parse(url) else {
            return false;
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return false;
        }
        if !RESPONSE_URL_PATHS
            .iter()
            .any(|prefix| parsed.path().starts_with(prefix))
        {
            return false;
        }
        self.allowed.iter().any(|a| a.admits(&parsed))
    }

    /// Posts `message` to a `response_url`.
    pub async fn respond(&self, response_url: &str, message: &Message) -> Result<(), SlackError> {
        if !self.is_allowed(response_url) {
            return Err(SlackError::ForbiddenUrl);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .http
                .post(response_url)
                .json(message)
                .timeout(Duration::from_secs(15))
                .send()
                .await;
            let retry_after = match result {
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        return Ok(());
                    }
                    let retry_after = response
                        .headers()
                        .get(http::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let reason = response.text().await.unwrap_or_default();
                    let reason: String = reason.chars().take(200).collect();
                    if status.as_u16() == 429 || status.is_server_error() {
                        if attempt >= ATTEMPTS {
                            return Err(SlackError::Unavailable {
                                status: status.as_u16(),
                            });
                        }
                        retry_after
                    } else {
                        return Err(SlackError::Rejected {
                            status: status.as_u16(),
                            reason,
                        });
                    }
                }
                // A connection that was never made cannot have posted anything: safe to retry.
                Err(e) if e.is_connect() && attempt < ATTEMPTS => None,
                Err(e) => return Err(SlackError::Transport(e.without_url())),
            };
            let backoff = retry_after
                .unwrap_or_else(|| Duration::from_millis(250 * 2u64.pow(attempt)))
                .min(Duration::from_secs(10));
            let jitter = Duration::from_millis(fastrand::u64(0..=250));
            tracing::warn!(
                attempt,
                ?backoff,
                "slack response_url post failed; retrying"
            );
            tokio::time::sleep(backoff + jitter).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A post Slack never answered (a read timeout) or that broke after it was sent may have
    /// landed; one that never connected, or that Slack refused, did not.
    #[tokio::test]
    async fn a_post_that_timed_out_may_have_landed_and_a_refused_one_did_not() {
        use crate::testing::{Misbehaviour, misbehaving};
        let http = crate::net::client();
        let short = Duration::from_millis(200);
        let silent = misbehaving(Misbehaviour::Silent).await;
        let timed_out = http
            .post(format!("http://{silent}/actions/T1/1/x"))
            .timeout(short)
            .send()
            .await
            .unwrap_err();
        assert!(timed_out.is_timeout(), "{timed_out:?}");
        assert!(SlackError::Transport(timed_out.without_url()).may_have_landed());
        let hung_up = misbehaving(Misbehaviour::HangUp).await;
        let broke = http
            .post(format!("http://{hung_up}/actions/T1/1/x"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .unwrap_err();
        assert!(SlackError::Transport(broke.without_url()).may_have_landed());
        // A port nothing listens on: the connection is refused, nothing was sent.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let refused = http
            .post(format!("http://{addr}/actions/T1/1/x"))
            .timeout(short)
            .send()
            .await
            .unwrap_err();
        assert!(!SlackError::Transport(refused.without_url()).may_have_landed());
        assert!(SlackError::OutOfTime.may_have_landed());
        let invalid = SlackError::Rejected {
            status: 400,
            reason: "invalid_blocks".into(),
        };
        assert!(!invalid.may_have_landed());
        assert!(!SlackError::Unavailable { status: 503 }.may_have_landed());
        // The Web API's errors, by its own rule: a refusal posted nothing, a timeout may have.
        let refused = super::super::web::WebError::Api {
            method: "chat.update",
            error: "message_not_found".into(),
        };
        assert!(!SlackError::Web(refused).may_have_landed());
        let timed_out = http
            .post(format!("http://{silent}/api/chat.update"))
            .timeout(short)
            .send()
            .await
            .unwrap_err();
        let timed_out = super::super::web::WebError::Transport {
            method: "chat.update",
            source: timed_out.without_url(),
        };
        assert!(SlackError::Web(timed_out).may_have_landed());
    }

    #[test]
    fn only_allowed_response_urls_are_followed() {
        let client = SlackClient::new(
            crate::net::client(),
            &["hooks.slack.com".into(), "http://127.0.0.1:9000".into()],
        );
        for ok in [
            "https://hooks.slack.com/commands/T1/2/abc",
            "https://HOOKS.slack.com/actions/T1/2/abc",
            "http://127.0.0.1:9000/commands/x",
            "http://127.0.0.1:9000/actions/T1/2/abc",
        ] {
            assert!(client.is_allowed(ok), "{ok}");
        }
        for bad in [
            "http://hooks.slack.com/commands/T1/2/abc",
            "https://hooks.slack.com:8443/commands",
            "https://hooks.slack.com.evil.example/commands",
            "https://evil.example/?https://hooks.slack.com/",
            "https://user@hooks.slack.com/commands",
            "http://127.0.0.1:9001/commands/x",
            "http://169.254.169.254/latest/meta-data",
            // The right host, but not a response-URL path: incoming webhooks, the Web API's
            // host paths, or anything else the host serves is not ours to post to.
            "https://hooks.slack.com/services/T1/B1/xyz",
            "https://hooks.slack.com/",
            "https://hooks.slack.com/commandsX/T1/2/abc",
            "http://127.0.0.1:9000/elsewhere",
            "file:///etc/passwd",
            "not a url",
            "",
        ] {
            assert!(!client.is_allowed(bad), "{bad}");
        }
    }

    fn client_for(origin: &str) -> SlackClient {
        SlackClient::new(http_client().unwrap(), &[origin.to_owned()])
    }

    fn message() -> Message {
        crate::slack::blocks::note_to_clicker("hi")
    }

    #[tokio::test]
    async fn transport_errors_never_carry_the_response_url() {
        // A server that accepts and hangs up without answering: reqwest reports the URL in
        // its error unless Marquee strips it.
        let origin = format!(
            "http://{}",
            crate::testing::misbehaving(crate::testing::Misbehaviour::HangUp).await
        );
        let client = client_for(&origin);
        let secret_part = "SECRETTOKEN0123456789abcdef";
        let url = format!("{origin}/commands/T1/99/{secret_part}");
        let err = client.respond(&url, &message()).await.unwrap_err();
        assert!(matches!(err, SlackError::Transport(_)), "{err:?}");
        let shown = format!("{} / {:?}", crate::errors::ErrorChain(&err), err);
        assert!(!shown.contains(secret_part), "{shown}");
        assert!(!shown.contains("/commands/"), "{shown}");
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let origin = crate::testing::serve(axum::Router::new().fallback(|| async {
            axum::response::Redirect::temporary("http://169.254.169.254/latest")
        }))
        .await;
        let client = client_for(&origin);
        let err = client
            .respond(&format!("{origin}/commands/T1/1/abc"), &message())
            .await
            .unwrap_err();
        assert!(
            matches!(err, SlackError::Rejected { status: 307, .. }),
            "{err:?}"
        );
    }
}
