//! The Slack Web API, for workspaces that gave Marquee a bot token: posting into a poster's
//! thread (`chat.postMessage` with `thread_ts`) and uploading the PNG into Slack
//! (`files.getUploadURLExternal` → upload → `files.completeUploadExternal`) so the image
//! outlives its link.
//!
//! It also opens the review modals (`views.open`) for the front door, with the `trigger_id` of
//! the click that asked for one.
//!
//! Every method is optional for the product: callers fall back to `response_url` delivery
//! when a call fails, so a missing scope or a channel the bot is not in degrades gracefully.

use std::time::Duration;

use serde_json::{Value, json};

use crate::secret::Secret;
use crate::slack::blocks::Message;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Slack answered `ok: false` (e.g. `not_in_channel`, `invalid_auth`, `missing_scope`).
    #[error("slack {method} failed: {error}")]
    Api { method: &'static str, error: String },
    #[error("slack {method} is rate limited (retry after {retry_after:?})")]
    RateLimited {
        method: &'static str,
        retry_after: Duration,
    },
    #[error("slack {method} answered HTTP {status}")]
    Http { method: &'static str, status: u16 },
    #[error("could not reach slack for {method}")]
    Transport {
        method: &'static str,
        #[source]
        source: reqwest::Error,
    },
}

impl WebError {
    /// Whether Slack certainly did not post anything: it answered with a refusal (`ok:
    /// false`, 429, a 4xx), or the request never left (no connection). A timeout, a 5xx or a
    /// broken answer may come after Slack posted, so falling back to the `response_url` then
    /// could post the poster twice.
    pub fn is_definite_refusal(&self) -> bool {
        match self {
            WebError::Api { .. } | WebError::RateLimited { .. } => true,
            WebError::Http { status, .. } => (400..500).contains(status),
            WebError::Transport { source, .. } => source.is_connect() && !source.is_timeout(),
        }
    }

    /// Whether the request never reached Slack (no connection was made).
    pub(crate) fn never_left(&self) -> bool {
        matches!(self, WebError::Transport { source, .. } if source.is_connect() && !source.is_timeout())
    }

    /// The Slack error code, when Slack gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            WebError::Api { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// What `users.info` says of a person, as far as Marquee decides anything on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackUser {
    pub id: String,
    /// The person's own workspace (`user.team_id`): another one than the installation's for
    /// a Slack Connect guest, whose admin flags are their own workspace's.
    pub team_id: Option<String>,
    /// The Enterprise Grid organisation of a Grid member (`user.enterprise_user.enterprise_id`).
    pub enterprise_id: Option<String>,
    pub is_admin: bool,
    pub is_owner: bool,
    pub is_primary_owner: bool,
    pub deleted: bool,
    /// A guest account (`is_restricted` or `is_ultra_restricted`).
    pub is_restricted: bool,
}

impl SlackUser {
    /// Reads `users.info`'s answer about `asked`.
    fn from_answer(answer: &Value, asked: &str) -> Self {
        let u = &answer["user"];
        let flag = |k: &str| u[k].as_bool().unwrap_or(false);
        SlackUser {
            id: u["id"].as_str().unwrap_or(asked).to_owned(),
            team_id: u["team_id"].as_str().map(str::to_owned),
            enterprise_id: u["enterprise_user"]["enterprise_id"]
                .as_str()
                .map(str::to_owned),
            is_admin: flag("is_admin"),
            is_owner: flag("is_owner"),
            is_primary_owner: flag("is_primary_owner"),
            deleted: flag("deleted"),
            is_restricted: flag("is_restricted") || flag("is_ultra_restricted"),
        }
    }

    /// Whether this person is of the installation: the workspace `team`, or the org
    /// `enterprise` of an org-wide install.
    pub fn belongs_to(&self, team: Option<&str>, enterprise: Option<&str>) -> bool {
        (team.is_some() && self.team_id.as_deref() == team)
            || (enterprise.is_some() && self.enterprise_id.as_deref() == enterprise)
    }

    /// An admin or owner of the installation — the workspace `team`, or every workspace of the
    /// org `enterprise` on an org-wide install: Slack's own flags, for a live, full member of
    /// that installation — never for someone from another one (a Slack Connect guest's flags
    /// are their own workspace's).
    pub fn administers(&self, team: Option<&str>, enterprise: Option<&str>) -> bool {
        self.belongs_to(team, enterprise)
            && !self.deleted
            && !self.is_restricted
            && (self.is_admin || self.is_owner || self.is_primary_owner)
    }
}

#[derive(Clone)]
pub struct WebClient {
    http: reqwest::Client,
    base: String,
    token: Secret,
}

impl std::fmt::Debug for WebClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebClient")
            .field("base", &self.base)
            .field("token", &self.token)
            .finish()
    }
}

/// The longest Marquee waits on a `Retry-After` before giving up on the Web API for this call.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// How long `views.open` may take: a `trigger_id` expires 3 seconds after the click (the
/// method's reference, `expired_trigger_id`), and the front door must ack within the same 3
/// seconds, so a slower answer is worth nothing.
const VIEWS_OPEN_TIMEOUT: Duration = Duration::from_millis(2500);

impl WebClient {
    pub fn new(http: reqwest::Client, base: impl Into<String>, token: Secret) -> Self {
        Self {
            http,
            base: base.into().trim_end_matches('/').to_owned(),
            token,
        }
    }

    async fn send(
        &self,
        method: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<Value, WebError> {
        self.send_within(method, request, Duration::from_secs(30), MAX_RETRY_AFTER)
            .await
    }

    /// Sends `request`, giving each attempt `timeout`, and waiting out one `Retry-After` of at
    /// most `max_retry_after`.
    async fn send_within(
        &self,
        method: &'static str,
        request: reqwest::RequestBuilder,
        timeout: Duration,
        max_retry_after: Duration,
    ) -> Result<Value, WebError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Some(request) = request.try_clone() else {
                unreachable!("web API bodies are buffered, so requests can be cloned")
            };
            let response = request
                .bearer_auth(self.token.expose())
                .timeout(timeout)
                .send()
                .await
                .map_err(|source| WebError::Transport {
                    method,
                    source: source.without_url(),
                })?;
            let status = response.status().as_u16();
            if status == 429 {
                let retry_after = response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(Duration::from_secs)
                    .unwrap_or(Duration::from_secs(1));
                // Slack rejected the call before doing anything, so one patient retry is safe.
                if attempt == 1 && retry_after <= max_retry_after {
                    tracing::warn!(method, ?retry_after, "slack web api rate limited; waiting");
                    tokio::time::sleep(retry_after).await;
                    continue;
                }
                return Err(WebError::RateLimited {
                    method,
                    retry_after,
                });
            }
            if !(200..300).contains(&status) {
                return Err(WebError::Http { method, status });
            }
            let body: Value = response
                .json()
                .await
                .map_err(|source| WebError::Transport {
                    method,
                    source: source.without_url(),
                })?;
            if body["ok"] != true {
                return Err(WebError::Api {
                    method,
                    error: body["error"].as_str().unwrap_or("unknown_error").to_owned(),
                });
            }
            return Ok(body);
        }
    }

    async fn call_json(&self, method: &'static str, body: &Value) -> Result<Value, WebError> {
        let request = self
            .http
            .post(format!("{}/{method}", self.base))
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_string());
        self.send(method, request).await
    }

    /// Opens `view` (a modal) for the person whose click carried `trigger_id`: `views.open`
    /// with a JSON body `{trigger_id, view}` (the method's reference; no scope needed). Slack
    /// answers `expired_trigger_id` after 3 seconds, `exchanged_trigger_id` for a trigger
    /// already used and `invalid_arguments` for a view it refuses, with details under
    /// `response_metadata.messages`. A rate limit is not waited out: the trigger would expire.
    pub async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<(), WebError> {
        let method = "views.open";
        let request = self
            .http
            .post(format!("{}/{method}", self.base))
            .header("content-type", "application/json; charset=utf-8")
            .body(json!({"trigger_id": trigger_id, "view": view}).to_string());
        let answer = self
            .send_within(method, request, VIEWS_OPEN_TIMEOUT, Duration::ZERO)
            .await;
        if let Err(WebError::Api { error, .. }) = &answer {
            tracing::warn!(method, error, "slack refused to open a modal");
        }
        answer.map(|_| ())
    }

    /// Publishes `view` (of type `home`) as `user`'s Home tab: `views.publish` with a JSON body
    /// `{user_id, view}` (the method's reference; no scope needed, the Home tab enabled in the
    /// app's settings, else `not_enabled`; `view_too_large` above 250 kB).
    pub async fn publish_view(&self, user: &str, view: &Value) -> Result<(), WebError> {
        self.call_json("views.publish", &json!({"user_id": user, "view": view}))
            .await
            .map(|_| ())
    }

    /// This client with another token: a workflow step's execution token
    /// (`event.bot_access_token`), which its `functions.complete*` are called with.
    pub fn with_token(&self, token: Secret) -> Self {
        Self {
            token,
            ..self.clone()
        }
    }

    /// Completes workflow step `execution` successfully with `outputs` (keyed by the
    /// manifest's output names): `functions.completeSuccess`, JSON `{function_execution_id,
    /// outputs}` (the method's reference; `function_execution_not_found`,
    /// `execution_not_in_running_state`, `parameter_validation_failed`), with the execution's
    /// own token as Bolt sends it (bolt-python `tests/scenario_tests/test_function.py`).
    pub async fn complete_step(&self, execution: &str, outputs: &Value) -> Result<(), WebError> {
        let body = json!({"function_execution_id": execution, "outputs": outputs});
        self.call_json("functions.completeSuccess", &body)
            .await
            .map(|_| ())
    }

    /// Ends workflow step `execution` unsuccessfully with `error`, which Slack shows the
    /// workflow's people: `functions.completeError`, JSON `{function_execution_id, error}`.
    pub async fn fail_step(&self, execution: &str, error: &str) -> Result<(), WebError> {
        let body = json!({"function_execution_id": execution, "error": error});
        self.call_json("functions.completeError", &body)
            .await
            .map(|_| ())
    }

    /// A link to message `ts` in `channel`: `chat.getPermalink` (no scope; answers
    /// `{ok, channel, permalink}`, or `channel_not_found` / `message_not_found`).
    pub async fn permalink(&self, channel: &str, ts: &str) -> Result<String, WebError> {
        let method = "chat.getPermalink";
        let request = self
            .http
            .post(format!("{}/{method}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                serde_urlencoded::to_string([("channel", channel), ("message_ts", ts)])
                    .unwrap_or_default(),
            );
        let answer = self.send(method, request).await?;
        Ok(answer["permalink"].as_str().unwrap_or_default().to_owned())
    }

    /// The file `file` (an id, `F…`) as Slack describes it to this bot: `files.info` (scope
    /// `files:read`; `file_not_found` for a file it cannot see), answered as `{ok, file}`
    /// (the method's reference), `file` in the shape of a message's files (`id`, `name`,
    /// `mimetype`, `user`, `size`, `url_private`, `url_private_download`, …).
    pub async fn file_info(&self, file: &str) -> Result<Value, WebError> {
        let method = "files.info";
        let request = self
            .http
            .post(format!("{}/{method}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string([("file", file)]).unwrap_or_default());
        let mut answer = self.send(method, request).await?;
        Ok(answer["file"].take())
    }

    /// Who `user` is to Slack: `users.info` (scope `users:read`), read into the few fields
    /// Marquee trusts for admin-ness (java-slack-sdk `json-logs/samples/api/users.info.json`).
    pub async fn user_info(&self, user: &str) -> Result<SlackUser, WebError> {
        let method = "users.info";
        let request = self
            .http
            .post(format!("{}/{method}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string([("user", user)]).unwrap_or_default());
        let answer = self.send(method, request).await?;
        Ok(SlackUser::from_answer(&answer, user))
    }

    /// The members of Slack user group `group` (`S…`): `usergroups.users.list`, which needs
    /// the `usergroups:read` scope and answers `{"ok": true, "users": ["U…", "W…"]}`, or
    /// `no_such_subteam` for an unknown group (Slack's method reference; `users` as typed in
    /// the Node SDK's `UsergroupsUsersListResponse`).
    pub async fn usergroup_members(&self, group: &str) -> Result<Vec<String>, WebError> {
        let method = "usergroups.users.list";
        let request = self
            .http
            .post(format!("{}/{method}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string([("usergroup", group)]).unwrap_or_default());
        let answer = self.send(method, request).await?;
        Ok(answer["users"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u.as_str().map(str::to_owned))
            .collect())
    }

    /// Posts `message` to `channel`, in the thread under `thread_ts` when given; returns the
    /// new message's `ts`.
    pub async fn post_message(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        message: &Message,
    ) -> Result<String, WebError> {
        let mut body = json!({
            "channel": channel,
            "text": message.text,
            "blocks": message.blocks,
            "unfurl_links": false,
            "unfurl_media": false,
        });
        if let Some(ts) = thread_ts {
            body["thread_ts"] = ts.into();
        }
        let answer = self.call_json("chat.postMessage", &body).await?;
        Ok(answer["ts"].as_str().unwrap_or_default().to_owned())
    }

    /// Posts `message` to `user` alone in `channel`, in the thread under `thread_ts` when
    /// given (`chat.postEphemeral`, scope `chat:write`): a private note where no `response_url`
    /// exists (a mention).
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        thread_ts: Option<&str>,
        message: &Message,
    ) -> Result<(), WebError> {
        let mut body = json!({
            "channel": channel,
            "user": user,
            "text": message.text,
            "blocks": message.blocks,
        });
        if let Some(ts) = thread_ts {
            body["thread_ts"] = ts.into();
        }
        self.call_json("chat.postEphemeral", &body).await?;
        Ok(())
    }

    /// Replaces the message `ts` in `channel` with `message` (`chat.update`, scope
    /// `chat:write`).
    pub async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        message: &Message,
    ) -> Result<(), WebError> {
        let body = json!({
            "channel": channel,
            "ts": ts,
            "text": message.text,
            "blocks": message.blocks,
        });
        self.call_json("chat.update", &body).await?;
        Ok(())
    }

    /// Uploads a file (a poster's PNG, a print's PDF) into `channel`, in the thread under
    /// `thread_ts` when given; returns the file's id.
    pub async fn upload_file(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        filename: &str,
        title: &str,
        alt_text: &str,
        bytes: Vec<u8>,
    ) -> Result<String, WebError> {
        let length = bytes.len().to_string();
        let alt: String = alt_text.chars().take(1000).collect();
        let form = serde_urlencoded::to_string([
            ("filename", filename),
            ("length", length.as_str()),
            ("alt_txt", alt.as_str()),
        ])
        .unwrap_or_default();
        let request = self
            .http
            .post(format!("{}/files.getUploadURLExternal", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form);
        let answer = self.send("files.getUploadURLExternal", request).await?;
        let (Some(upload_url), Some(file_id)) =
            (answer["upload_url"].as_str(), answer["file_id"].as_str())
        else {
            return Err(WebError::Api {
                method: "files.getUploadURLExternal",
                error: "missing_upload_url".into(),
            });
        };
        let file_id = file_id.to_owned();

        let uploaded = self
            .http
            .post(upload_url)
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .map_err(|source| WebError::Transport {
                method: "file upload",
                // The upload URL is a capability to put bytes into this workspace.
                source: source.without_url(),
            })?;
        if !uploaded.status().is_success() {
            return Err(WebError::Http {
                method: "file upload",
                status: uploaded.status().as_u16(),
            });
        }

        let mut body = json!({
            "files": [{"id": file_id, "title": title}],
            "channel_id": channel,
        });
        if let Some(ts) = thread_ts {
            body["thread_ts"] = ts.into();
        }
        self.call_json("files.completeUploadExternal", &body)
            .await?;
        Ok(file_id)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_an_installations_own_admins_administer_it() {
        let read = |name: &str| -> super::SlackUser {
            let text = std::fs::read_to_string(format!(
                "{}/../../tests/fixtures/slack/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            super::SlackUser::from_answer(&serde_json::from_str(&text).unwrap(), "U0")
        };
        let admin = read("users_info_admin.json");
        assert!(admin.administers(Some("T07MARQEE"), None));
        assert!(!admin.administers(Some("T07OTHER"), None));
        // An admin and owner of their own workspace, a guest in ours.
        let guest = read("users_info_slack_connect.json");
        assert!(guest.is_admin && guest.is_owner);
        assert!(!guest.administers(Some("T07MARQEE"), None));
        // A Grid workspace owner administers an org-wide install from any of its workspaces.
        let grid = read("users_info_grid_owner.json");
        assert!(grid.administers(Some("T07GRIDWS"), Some("E07GRID")));
        assert!(grid.administers(Some("T07OTHERWS"), Some("E07GRID")));
        assert!(!grid.administers(Some("T07OTHERWS"), None));
        let mut left = admin.clone();
        left.deleted = true;
        assert!(!left.administers(Some("T07MARQEE"), None));
    }

    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use axum::Router;
    use axum::extract::{Path, State};
    use axum::http::HeaderMap;
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;

    use super::*;
    use crate::errors::ErrorChain;
    use crate::slack::blocks;

    const TOKEN: &str = "xoxb-test-0123456789-secret";

    /// One call as the stand-in saw it: method, `Authorization`, `Content-Type`, body.
    type Seen = (String, String, String, String);

    #[derive(Clone, Default)]
    struct Api {
        seen: Arc<Mutex<Vec<Seen>>>,
        /// What to answer, in order; `ok` with a `ts` once they run out.
        answers: Arc<Mutex<VecDeque<Response>>>,
    }

    impl Api {
        fn seen(&self) -> Vec<Seen> {
            self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
        }
    }

    /// Slack's Web API as docs.slack.dev/apis/web-api documents it: `POST /api/{method}`,
    /// the token as a bearer credential, HTTP 200 with `{"ok": true, ...}` or `{"ok": false,
    /// "error": code}`, and HTTP 429 with `Retry-After` (seconds) when rate limited
    /// (docs.slack.dev/apis/web-api/rate-limits).
    async fn web_api(answers: Vec<Response>) -> (WebClient, Api) {
        let api = Api {
            answers: Arc::new(Mutex::new(answers.into())),
            ..Api::default()
        };
        let app = Router::new()
            .route(
                "/api/{method}",
                post(
                    |State(api): State<Api>,
                     Path(method): Path<String>,
                     headers: HeaderMap,
                     body: String| async move {
                        let header = |name: &str| {
                            headers
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned()
                        };
                        api.seen.lock().unwrap_or_else(|p| p.into_inner()).push((
                            method,
                            header("authorization"),
                            header("content-type"),
                            body,
                        ));
                        let next = api
                            .answers
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .pop_front();
                        next.unwrap_or_else(|| {
                            axum::Json(json!({"ok": true, "ts": "1700000000.000200"}))
                                .into_response()
                        })
                    },
                ),
            )
            .with_state(api.clone());
        let base = crate::testing::serve(app).await;
        let client = WebClient::new(
            crate::net::client(),
            format!("{base}/api/"),
            Secret::new(TOKEN),
        );
        (client, api)
    }

    fn slack_error(code: &str) -> Response {
        axum::Json(json!({"ok": false, "error": code})).into_response()
    }

    fn rate_limited(retry_after: &str) -> Response {
        (
            http::StatusCode::TOO_MANY_REQUESTS,
            [(http::header::RETRY_AFTER, retry_after.to_owned())],
            r#"{"ok":false,"error":"ratelimited"}"#,
        )
            .into_response()
    }

    fn message() -> Message {
        blocks::note_to_clicker("The poster is on its way.")
    }

    #[tokio::test]
    async fn a_thread_reply_is_posted_as_slack_documents_and_its_ts_returned() {
        let (client, api) = web_api(vec![]).await;
        let ts = client
            .post_message("C0001", Some("1700000000.000100"), &message())
            .await
            .expect("posted");
        assert_eq!(ts, "1700000000.000200");
        let seen = api.seen();
        assert_eq!(seen.len(), 1);
        let (method, auth, content_type, body) = &seen[0];
        assert_eq!(method, "chat.postMessage");
        assert_eq!(auth, &format!("Bearer {TOKEN}"));
        assert_eq!(content_type, "application/json; charset=utf-8");
        let body: Value = serde_json::from_str(body).expect("a JSON body");
        assert_eq!(body["channel"], "C0001");
        assert_eq!(body["thread_ts"], "1700000000.000100");
        assert_eq!(
            (body["unfurl_links"].clone(), body["unfurl_media"].clone()),
            (json!(false), json!(false))
        );
        assert_eq!(body["text"], json!(message().text));
    }

    #[tokio::test]
    async fn slack_refusals_keep_their_code_and_other_failures_their_status() {
        let (client, _) = web_api(vec![
            slack_error("not_in_channel"),
            http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        ])
        .await;
        let refused = client.post_message("C0002", None, &message()).await;
        let refused = refused.expect_err("refused");
        assert_eq!(refused.code(), Some("not_in_channel"));
        let failed = client.post_message("C0002", None, &message()).await;
        assert!(
            matches!(failed, Err(WebError::Http { status: 500, .. })),
            "{failed:?}"
        );
    }

    #[tokio::test]
    async fn a_short_rate_limit_is_waited_out_once_and_a_long_one_is_not() {
        let (client, api) = web_api(vec![rate_limited("1")]).await;
        let started = Instant::now();
        client
            .post_message("C0001", None, &message())
            .await
            .expect("posted after waiting");
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert_eq!(api.seen().len(), 2, "one retry");

        let (client, api) = web_api(vec![rate_limited("30")]).await;
        let started = Instant::now();
        let err = client.post_message("C0001", None, &message()).await;
        assert!(
            matches!(err, Err(WebError::RateLimited { retry_after, .. }) if retry_after == Duration::from_secs(30)),
            "{err:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5), "not waited");
        assert_eq!(api.seen().len(), 1);
    }

    #[tokio::test]
    async fn the_token_and_the_endpoint_stay_out_of_errors_and_debug_output() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a loopback port")
            .port();
        let base = format!("http://127.0.0.1:{port}/api");
        let client = WebClient::new(crate::net::client(), base.clone(), Secret::new(TOKEN));
        let err = client
            .post_message("C0001", None, &message())
            .await
            .expect_err("nothing listens there");
        let shown = format!("{} / {err:?}", ErrorChain(&err));
        assert!(matches!(err, WebError::Transport { .. }), "{shown}");
        assert!(!shown.contains(TOKEN), "{shown}");
        // The socket address may show; the URL (a capability, for upload URLs) may not.
        assert!(!shown.contains(&base), "{shown}");
        assert!(!shown.contains("/api/chat.postMessage"), "{shown}");
        assert!(!format!("{client:?}").contains(TOKEN));
    }

    #[tokio::test]
    async fn a_modal_is_opened_with_the_trigger_and_slacks_refusals_keep_their_code() {
        let (web, api) = web_api(vec![
            axum::Json(
                serde_json::from_str::<Value>(include_str!(
                    "../../../../tests/fixtures/slack/views_open_response.json"
                ))
                .unwrap(),
            )
            .into_response(),
            slack_error("expired_trigger_id"),
            rate_limited("1"),
        ])
        .await;
        let view = json!({"type": "modal", "title": {"type": "plain_text", "text": "Edit the words"}, "blocks": []});
        web.open_view("8123456789012.7123456789012.5f0c2a9b", &view)
            .await
            .expect("opened");
        let err = web
            .open_view("8123456789012.7123456789012.5f0c2a9b", &view)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("expired_trigger_id"));
        let started = Instant::now();
        let err = web.open_view("1.2.3", &view).await.unwrap_err();
        assert!(matches!(err, WebError::RateLimited { .. }), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "a trigger lives 3 s: no waiting"
        );
        let seen = api.seen();
        assert_eq!(seen.len(), 3, "no retry");
        let (method, auth, content_type, body) = &seen[0];
        assert_eq!(method, "views.open");
        assert_eq!(auth, &format!("Bearer {TOKEN}"));
        assert_eq!(content_type, "application/json; charset=utf-8");
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["trigger_id"], "8123456789012.7123456789012.5f0c2a9b");
        assert_eq!(body["view"], view);
    }

    #[tokio::test]
    async fn user_group_members_are_listed_by_form_post() {
        let (web, api) = web_api(vec![
            axum::Json(json!({"ok": true, "users": ["U060R4BJ4", "W123A4BC5"]})).into_response(),
            slack_error("no_such_subteam"),
        ])
        .await;
        let members = web.usergroup_members("S0604QSJC").await.unwrap();
        assert_eq!(members, ["U060R4BJ4", "W123A4BC5"]);
        let err = web.usergroup_members("S0000NONE").await.unwrap_err();
        assert_eq!(err.code(), Some("no_such_subteam"));
        let seen = api.seen();
        assert_eq!(seen[0].0, "usergroups.users.list");
        assert_eq!(seen[0].1, format!("Bearer {TOKEN}"));
        assert_eq!(seen[0].2, "application/x-www-form-urlencoded");
        assert_eq!(seen[0].3, "usergroup=S0604QSJC");
    }
}
