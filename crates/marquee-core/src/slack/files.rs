//! Downloading a file a person shared with Marquee (a `file_input` upload): only from Slack's
//! file hosts, only with the bot token, never past a redirect to another host, never more than
//! Slack's 10 MB.
//!
//! The URL comes from a signed payload (`url_private_download` of a file in a `view_submission`),
//! but it is still checked against an allow-list of origins, configured like the response-URL
//! list (`files.slack.com` by default; a stand-in's `http://127.0.0.1:PORT` in tests): the bot
//! token rides in an `Authorization: Bearer` header (Slack's "Working with files": files are
//! fetched from `url_private*` with the token), and a token sent to any other host would be a
//! token given away. The HTTP client follows no redirects by itself ([`super::client::http_client`]);
//! this module follows at most [`MAX_REDIRECTS`], each only to an allowed origin. The answer is
//! read in chunks and abandoned as soon as it passes the cap, whatever `Content-Length` said.
//! No error carries the URL (it names the workspace and file) or the token.

use std::time::Duration;

use super::client::Allowed;
use crate::model::reference::MAX_UPLOAD_BYTES;
use crate::secret::Secret;

/// Slack's own file links may redirect within its file hosts (at most this many hops).
const MAX_REDIRECTS: usize = 3;
/// One download, all of it: 10 MB over a slow link is a few seconds, and the modal waits.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(8);

/// Why a file could not be fetched. Nothing fetched is kept.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file is not on an allowed Slack file host")]
    ForbiddenHost,
    #[error("the file host redirected to a host that is not allowed")]
    RedirectedAway,
    #[error("the file host redirected more than {MAX_REDIRECTS} times")]
    TooManyRedirects,
    #[error("the file is larger than {MAX_UPLOAD_BYTES} bytes")]
    TooLarge,
    #[error("the file host answered HTTP {status}")]
    Status { status: u16 },
    /// The cause has had its URL removed.
    #[error("could not fetch the file")]
    Transport(#[source] reqwest::Error),
}

impl FileError {
    /// Words for the person who picked the file, under the file field.
    pub fn friendly(&self) -> String {
        match self {
            FileError::ForbiddenHost | FileError::RedirectedAway => {
                "Marquee only takes pictures uploaded to Slack. Please upload the file here.".into()
            }
            FileError::TooLarge => "That file is over 10 MB; please pick a smaller one.".into(),
            FileError::Status { status: 401 | 403 | 404 } => {
                "Marquee couldn't open that file. Please upload it again here.".into()
            }
            FileError::TooManyRedirects
            | FileError::Status { .. }
            | FileError::Transport(_) => {
                "Marquee couldn't fetch that file from Slack just now. Nothing was charged; please submit again.".into()
            }
        }
    }
}

/// Fetches files from Slack's file hosts with the bot token.
#[derive(Clone)]
pub struct FileFetcher {
    http: reqwest::Client,
    allowed: Vec<Allowed>,
    token: Secret,
}

impl std::fmt::Debug for FileFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileFetcher")
            .field("allowed", &self.allowed)
            .field("token", &self.token)
            .finish()
    }
}

impl FileFetcher {
    /// `http` must follow no redirects ([`super::client::http_client`]); `hosts` are bare host
    /// names (HTTPS, default port) or full origins.
    pub fn new(http: reqwest::Client, hosts: &[String], token: Secret) -> Self {
        Self {
            http,
            allowed: hosts.iter().map(|h| Allowed::parse(h)).collect(),
            token,
        }
    }

    /// Whether `url` may be fetched with the token.
    pub fn is_allowed(&self, url: &str) -> bool {
        url::Url::parse(url).is_ok_and(|u| self.admits(&u))
    }

    fn admits(&self, url: &url::Url) -> bool {
        url.username().is_empty()
            && url.password().is_none()
            && self.allowed.iter().any(|a| a.admits(url))
    }

    /// The file's bytes, at most [`MAX_UPLOAD_BYTES`].
    pub async fn download(&self, url: &str) -> Result<Vec<u8>, FileError> {
        let mut url = url::Url::parse(url).map_err(|_| FileError::ForbiddenHost)?;
        if !self.admits(&url) {
            return Err(FileError::ForbiddenHost);
        }
        let deadline = tokio::time::Instant::now() + DOWNLOAD_TIMEOUT;
        for _ in 0..=MAX_REDIRECTS {
            let mut response = self
                .http
                .get(url.clone())
                .bearer_auth(self.token.expose())
                .timeout(deadline.saturating_duration_since(tokio::time::Instant::now()))
                .send()
                .await
                .map_err(|e| FileError::Transport(e.without_url()))?;
            let status = response.status();
            if status.is_redirection() {
                let next = response
                    .headers()
                    .get(http::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .ok_or(FileError::RedirectedAway)?;
                if !self.admits(&next) {
                    return Err(FileError::RedirectedAway);
                }
                url = next;
                continue;
            }
            if !status.is_success() {
                return Err(FileError::Status {
                    status: status.as_u16(),
                });
            }
            if response
                .content_length()
                .is_some_and(|n| n > MAX_UPLOAD_BYTES as u64)
            {
                return Err(FileError::TooLarge);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| FileError::Transport(e.without_url()))?
            {
                if body.len() + chunk.len() > MAX_UPLOAD_BYTES {
                    return Err(FileError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            return Ok(body);
        }
        Err(FileError::TooManyRedirects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::IntoResponse;
    use axum::routing::get;

    const TOKEN: &str = "xoxb-test-token";

    fn authorised(headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            == Some("Bearer xoxb-test-token")
    }

    /// Slack's file host as its docs describe it: the file with the bot token, a login page
    /// without (here a 403), and redirects to test with.
    fn files_host(elsewhere: String) -> Router {
        Router::new()
            .route(
                "/files-pri/T1/F1/download/poster.png",
                get(|headers: HeaderMap| async move {
                    if authorised(&headers) {
                        (StatusCode::OK, b"\x89PNG\r\n\x1a\nbytes".to_vec()).into_response()
                    } else {
                        StatusCode::FORBIDDEN.into_response()
                    }
                }),
            )
            .route(
                "/files-pri/T1/F2/download/moved.png",
                get(|| async {
                    (
                        StatusCode::FOUND,
                        [(header::LOCATION, "/files-pri/T1/F1/download/poster.png")],
                    )
                }),
            )
            .route(
                "/files-pri/T1/F3/download/away.png",
                get(move || {
                    let to = format!("{elsewhere}/steal");
                    async move { (StatusCode::FOUND, [(header::LOCATION, to)]) }
                }),
            )
            .route(
                "/files-pri/T1/F4/download/huge.png",
                get(|| async { vec![0u8; MAX_UPLOAD_BYTES + 1] }),
            )
    }

    async fn fetcher() -> (FileFetcher, String, String) {
        let other = crate::testing::serve(Router::new().route(
            "/steal",
            get(|headers: HeaderMap| async move {
                assert!(!authorised(&headers), "the token reached another host");
                "stolen"
            }),
        ))
        .await;
        let base = crate::testing::serve(files_host(other.clone())).await;
        let http = super::super::client::http_client().expect("client");
        let fetcher = FileFetcher::new(http, std::slice::from_ref(&base), Secret::new(TOKEN));
        (fetcher, base, other)
    }

    #[tokio::test]
    async fn a_file_comes_from_an_allowed_host_with_the_bot_token() {
        let (fetcher, base, _) = fetcher().await;
        let bytes = fetcher
            .download(&format!("{base}/files-pri/T1/F1/download/poster.png"))
            .await
            .expect("downloaded");
        assert!(bytes.starts_with(b"\x89PNG"));
        // A redirect within the allowed host is followed, with the token.
        let bytes = fetcher
            .download(&format!("{base}/files-pri/T1/F2/download/moved.png"))
            .await
            .expect("followed");
        assert!(bytes.starts_with(b"\x89PNG"));
        // Without the token the host refuses: the fetcher's token is what opens it.
        let anonymous = FileFetcher::new(
            super::super::client::http_client().expect("client"),
            std::slice::from_ref(&base),
            Secret::new("xoxb-wrong"),
        );
        let err = anonymous
            .download(&format!("{base}/files-pri/T1/F1/download/poster.png"))
            .await
            .expect_err("refused");
        assert!(matches!(err, FileError::Status { status: 403 }), "{err:?}");
    }

    #[tokio::test]
    async fn other_hosts_redirects_away_and_oversize_files_are_refused() {
        let (fetcher, base, other) = fetcher().await;
        for url in [
            format!("{other}/steal"),
            "https://evil.example/files-pri/T1/F1/download/poster.png".into(),
            format!(
                "{}/files-pri/T1/F1/download/poster.png",
                base.replace("127.0.0.1", "localhost")
            ),
            "not a url".into(),
        ] {
            assert!(!fetcher.is_allowed(&url), "{url}");
            assert!(matches!(
                fetcher.download(&url).await,
                Err(FileError::ForbiddenHost)
            ));
        }
        let err = fetcher
            .download(&format!("{base}/files-pri/T1/F3/download/away.png"))
            .await
            .expect_err("redirect away");
        assert!(matches!(err, FileError::RedirectedAway), "{err:?}");
        let err = fetcher
            .download(&format!("{base}/files-pri/T1/F4/download/huge.png"))
            .await
            .expect_err("too large");
        assert!(matches!(err, FileError::TooLarge), "{err:?}");
        // Nothing says where the file was, or the token.
        for e in [err, FileError::RedirectedAway, FileError::ForbiddenHost] {
            let text = format!("{e} {e:?} {}", e.friendly());
            assert!(
                !text.contains("files-pri") && !text.contains(TOKEN),
                "{text}"
            );
        }
        assert!(!format!("{fetcher:?}").contains(TOKEN));
        // The production default: Slack's file host over HTTPS only.
        let slack = FileFetcher::new(
            super::super::client::http_client().expect("client"),
            &["files.slack.com".to_owned()],
            Secret::new(TOKEN),
        );
        assert!(slack.is_allowed("https://files.slack.com/files-pri/T1-F1/download/a.png"));
        assert!(!slack.is_allowed("http://files.slack.com/files-pri/T1-F1/download/a.png"));
        assert!(!slack.is_allowed("https://files.slack.com.evil.example/a.png"));
        assert!(!slack.is_allowed("https://user:pw@files.slack.com/a.png"));
    }
}
