//! Talking back to Slack: POSTs to `response_url`s, only to allowed hosts.
//!
//! A `response_url` arrives inside a request body, so it is attacker-controlled until checked:
//! only `https://hooks.slack.com/...` is followed by default (an allow-list, configurable so
//! local tests can point at a stand-in). Transient failures (connection refused, 429, 5xx) are
//! retried a few times with jitter; a request that may have reached Slack (a timeout) is never
//! retried, so a message is never posted twice.

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
    #[error("could not reach slack")]
    Transport(#[source] reqwest::Error),
}

impl SlackError {
    /// Whether Slack said it could not fetch or render the blocks (most often the image).
    pub fn is_invalid_blocks(&self) -> bool {
        matches!(self, SlackError::Rejected { reason, .. } if reason.contains("invalid_blocks") || reason.contains("downloading image failed"))
    }
}

/// One allowed origin for `response_url`s.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    /// A bare host name: HTTPS only, default port.
    Host(String),
    /// A full origin such as `http://127.0.0.1:8080`, for local stand-ins.
    Origin(String),
}

#[derive(Debug, Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    allowed: Vec<Allowed>,
}

impl SlackClient {
    pub fn new(http: reqwest::Client, allowed_hosts: &[String]) -> Self {
        let allowed = allowed_hosts
            .iter()
            .map(|h| {
                if h.contains("://") {
                    Allowed::Origin(h.trim_end_matches('/').to_ascii_lowercase())
                } else {
                    Allowed::Host(h.to_ascii_lowercase())
                }
            })
            .collect();
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
        let origin = parsed.origin().ascii_serialization();
        self.allowed.iter().any(|a| match a {
            Allowed::Host(host) => {
                parsed.scheme() == "https"
                    && parsed.port().is_none()
                    && parsed.host_str() == Some(host.as_str())
            }
            Allowed::Origin(o) => &origin == o,
        })
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
                Err(e) => return Err(SlackError::Transport(e)),
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

    #[test]
    fn only_allowed_response_urls_are_followed() {
        let client = SlackClient::new(
            reqwest::Client::new(),
            &["hooks.slack.com".into(), "http://127.0.0.1:9000".into()],
        );
        for ok in [
            "https://hooks.slack.com/commands/T1/2/abc",
            "https://HOOKS.slack.com/actions/T1/2/abc",
            "http://127.0.0.1:9000/commands/x",
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
            "file:///etc/passwd",
            "not a url",
            "",
        ] {
            assert!(!client.is_allowed(bad), "{bad}");
        }
    }
}
