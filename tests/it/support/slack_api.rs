//! Stand-in for the part of Slack's Web API that Marquee may call with a bot token:
//! `chat.postMessage`, `chat.update`, the three-step external file upload
//! (`files.getUploadURLExternal`, a POST of the bytes to the `upload_url` it returns, then
//! `files.completeUploadExternal`), `views.open` for the review modals, `views.publish` for
//! the App Home tab and `users.info` for who administers the workspace; `chat.getPermalink`, and
//! `functions.completeSuccess` / `functions.completeError` for the executions of a Workflow
//! Builder step it starts ([`SlackApi::start_execution`], delivered as `function_executed` by
//! `super::slack_events::function_executed`).
//!
//! Modals: every `trigger_id` the stand-in hands out (in a click's `block_actions` payload, a
//! slash command, a `view_submission`) is remembered with who it belongs to and when it was
//! issued; `views.open` takes it once, within 3 seconds, and judges the view as Slack's "Modal
//! views" reference and the Block Kit references do. An opened view is kept as Slack keeps it
//! ([`OpenedView`]), and [`SlackApi::view_submission`] builds the payload Slack posts when the
//! person submits it, after the checks Slack's client makes before letting them.
//!
//! The `response_url` stand-in's server also serves this part, at `base_url()` + `/api/<method>`.
//! It answers as Slack does: API errors come back as HTTP 200 with `{"ok":false,"error":...}`,
//! rate limiting as HTTP 429 with `Retry-After`. A message is judged exactly as a `response_url`
//! post is (Block Kit limits, text fallback, and each image block's `image_url` downloaded at post
//! time; see [`super::slack::check_message`]). The stand-in keeps channels with their messages
//! and threads, and uploaded files, so tests can assert on what a user would see. It records
//! every call, refused or not.
//!
//! Wire facts come from Slack's method reference (`docs.slack.dev/reference/methods/<method>`,
//! mirrored in `slack-ruby/slack-api-ref`) unless a comment names another source. Where Slack's
//! behaviour is undocumented, the stand-in is strict. When Slack accepts something that no user
//! would ever see, the stand-in accepts it too and writes a note on the call
//! ([`ApiCall::notes`]); tests can assert that there are none.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use super::faults::FaultRules;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};

use super::slack::{
    ImageFetch, Rejection, Violations, broadcast_violations, check_message, validate_blocks,
};

/// The bot scopes `manifest/manifest.yaml` asks for: what an installed token is granted, no
/// more (read from the file by the same reader `marquee doctor` compares granted scopes with).
fn manifest_bot_scopes() -> Vec<String> {
    let path = super::crate_root().join("manifest/manifest.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let scopes = marquee_core::slack::manifest::bot_scopes(&text);
    assert!(
        !scopes.is_empty(),
        "no bot scopes found in {}",
        path.display()
    );
    scopes
}

/// The channel the bot is a member of from the start (the slash-command fixtures' channel).
pub const DEFAULT_CHANNEL: &str = "C0001";
/// Message `text` beyond this many characters is truncated by Slack rather than refused
/// (chat.postMessage's `text` argument: "Provide no more than 40,000 characters or risk
/// truncation"; Slack changelog 2018-04 "truncating really long messages").
pub const MAX_MESSAGE_TEXT: usize = 40_000;
/// `alt_txt` limit of `files.getUploadURLExternal` (its `alt_txt_too_large` error).
pub const MAX_ALT_TXT: usize = 1000;

/// Who the stand-in's bot is, as it appears on messages it posts.
const BOT_ID: &str = "B0001MARQ";
const BOT_USER: &str = "U0001MARQ";
/// The workspace the stand-in's bot is installed in (the slash-command fixtures' `T0001`).
pub const TEAM_ID: &str = "T0001";
const APP_ID: &str = "A0001";

/// A way for a Web API method to misbehave.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiFault {
    /// HTTP 429, `Retry-After: N`, body `{"ok":false,"error":"ratelimited"}` (Slack's rate-limit
    /// answer per docs.slack.dev/apis/web-api/rate-limits).
    RateLimited { retry_after_secs: u64 },
    /// HTTP 200 `{"ok":false,"error":<code>}`, e.g. `Error("internal_error")`.
    Error(&'static str),
    /// HTTP 500 with a plain-text body, as a failing edge answers (no JSON to parse).
    ServerError,
    /// The call is carried out (a message is posted), then answered with [`ApiFault::ServerError`]:
    /// the edge failed after the backend acted, so the client cannot tell that it did.
    DoneThenServerError,
}

/// What the `Authorization` header (or a form `token`) carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    Missing,
    Valid,
    Invalid,
}

/// One call to the Web API or to an `upload_url` (method `"upload"`), accepted or not.
#[derive(Clone, Debug)]
pub struct ApiCall {
    /// `chat.postMessage`, `files.completeUploadExternal`, ..., or `upload` for an `upload_url`.
    pub method: String,
    /// The arguments as JSON: the JSON body, or form/query fields as strings. For `upload`:
    /// `{file_id, bytes, multipart, content_type}`.
    pub body: Value,
    pub auth: Auth,
    pub status: u16,
    /// The Slack error code answered, if any.
    pub error: Option<String>,
    /// What the stand-in saw that Slack accepts silently but a user would not see as intended
    /// (text truncated, a `thread_ts` naming no message, ...).
    pub notes: Vec<String>,
    pub images: Vec<ImageFetch>,
    /// Broadcast mentions and foreign links in the call's `text`, `initial_comment` or mrkdwn
    /// blocks ([`super::slack::broadcast_violations`]): Slack delivers them, tests assert there
    /// are none.
    pub violations: Vec<String>,
}

impl ApiCall {
    pub fn ok(&self) -> bool {
        self.status == 200 && self.error.is_none()
    }
}

/// A file announced with `files.getUploadURLExternal`, and what became of it.
#[derive(Clone, Debug)]
pub struct UploadedFile {
    pub id: String,
    pub filename: String,
    /// The `length` declared when the upload URL was requested.
    pub declared_length: u64,
    pub alt_txt: Option<String>,
    /// Whether bytes were POSTed to the `upload_url`.
    pub uploaded: bool,
    /// The bytes received at the `upload_url` (empty until then).
    pub bytes: Bytes,
    /// Why completing this upload must fail (e.g. a length mismatch), if it must.
    pub upload_error: Option<String>,
    pub completed: bool,
    /// From `files.completeUploadExternal` (defaults to the filename, as Slack shows it).
    pub title: Option<String>,
    pub channel_id: Option<String>,
    pub thread_ts: Option<String>,
    pub initial_comment: Option<String>,
}

struct Inner {
    token: String,
    /// Every view opened, oldest first.
    views: Vec<OpenedView>,
    /// Channel ID → whether the bot is a member. Channels missing here do not exist.
    channels: HashMap<String, bool>,
    /// Channels that are private (the rest are public).
    private: std::collections::HashSet<String>,
    /// The bot scopes the token was granted: exactly what `manifest/manifest.yaml` asks for.
    scopes: Vec<String>,
    /// Channel ID → its messages (top level and replies) in post order, as they now stand.
    messages: HashMap<String, Vec<Value>>,
    files: Vec<UploadedFile>,
    /// The opaque part of an `upload_url` → the file it is for.
    upload_keys: HashMap<String, String>,
    calls: Vec<ApiCall>,
    rules: FaultRules<ApiFault>,
    last_ts_micros: u64,
    /// Every accepted `chat.postEphemeral`: `{channel, user, thread_ts?, text, blocks?,
    /// message_ts}`. Slack keeps no history of them; the stand-in does, for tests.
    ephemerals: Vec<Value>,
    /// User ID → the Home tab last published for them, as Slack keeps it.
    home_tabs: HashMap<String, Value>,
    /// User ID → the `user` object `users.info` answers with ([`SlackApi::add_user`]).
    users: HashMap<String, Value>,
    /// `function_execution_id` → the execution of a workflow step, with its own token.
    executions: HashMap<String, Execution>,
    /// Files people uploaded in a `file_input` ([`SlackApi::upload_by_person`]): id → the file
    /// object and its bytes, served at its `url_private*` with the bot token only.
    hosted: HashMap<String, (Value, Vec<u8>)>,
    /// `http://127.0.0.1:PORT`: where hosted files are served from.
    files_base: String,
}

/// Handle to the Web API side of the Slack stand-in. Cheap to clone; get it with
/// `Slack::api()`.
#[derive(Clone)]
pub struct SlackApi {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Clone)]
struct ApiApp {
    api: SlackApi,
    base: String,
    http: reqwest::Client,
}

impl SlackApi {
    pub(crate) fn new() -> SlackApi {
        let inner = Inner {
            token: format!("xoxb-test-{}", super::random_token(24)),
            views: Vec::new(),
            channels: HashMap::from([(DEFAULT_CHANNEL.to_string(), true)]),
            private: std::collections::HashSet::new(),
            scopes: manifest_bot_scopes(),
            messages: HashMap::new(),
            files: Vec::new(),
            upload_keys: HashMap::new(),
            calls: Vec::new(),
            rules: FaultRules::default(),
            last_ts_micros: 0,
            ephemerals: Vec::new(),
            home_tabs: HashMap::new(),
            users: HashMap::new(),
            executions: HashMap::new(),
            hosted: HashMap::new(),
            files_base: String::new(),
        };
        SlackApi {
            inner: Arc::new(Mutex::new(inner)),
        }
    }

    /// The routes, merged into the Slack stand-in's router. `base` is `http://127.0.0.1:PORT`,
    /// from which `upload_url`s are made; `http` downloads image blocks.
    pub(crate) fn router(&self, base: String, http: reqwest::Client) -> Router {
        self.lock().files_base = base.clone();
        Router::new()
            .route("/api/{method}", post(api_call))
            .route(
                "/files-pri/{key}/download/{name}",
                axum::routing::get(download_file),
            )
            .route("/files-pri/{key}/{name}", axum::routing::get(download_file))
            // Slack takes files of up to 1 GB (Slack Help Center, "Add files to Slack"); axum's
            // own 2 MB default would refuse a print's PDF that Slack accepts.
            .route(
                "/upload/v1/{key}",
                post(upload).layer(axum::extract::DefaultBodyLimit::max(1 << 30)),
            )
            .with_state(ApiApp {
                api: self.clone(),
                base,
                http,
            })
    }

    /// `user` (of workspace `team`) uploads `bytes` as `name` in a modal's `file_input`: the
    /// file object Slack puts in the `view_submission` (bolt-js `UploadedFile`: `id`, `name`,
    /// `title`, `mimetype` and `filetype` guessed from the name as Slack does, `size`, `user`,
    /// `user_team`, `url_private`, `url_private_download` on the file host under
    /// `/files-pri/<team>-<id>/`, `permalink`). Pass it to [`Field::Files`].
    pub fn upload_by_person(&self, user: &str, team: &str, name: &str, bytes: Vec<u8>) -> Value {
        let id = slack_id('F');
        let mut inner = self.lock();
        let base = inner.files_base.clone();
        let ext = name
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let mimetype = match ext.as_str() {
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            "webp" => "image/webp",
            "gif" => "image/gif",
            _ => "application/octet-stream",
        };
        let file = json!({
            "id": id,
            "created": 1764633630,
            "timestamp": 1764633630,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": ext,
            "user": user,
            "user_team": team,
            "size": bytes.len(),
            "mode": "hosted",
            "is_external": false,
            "url_private": format!("{base}/files-pri/{team}-{id}/{name}"),
            "url_private_download": format!("{base}/files-pri/{team}-{id}/download/{name}"),
            "permalink": format!("{base}/files/{user}/{id}/{name}"),
        });
        inner.hosted.insert(id, (file.clone(), bytes));
        file
    }

    /// How many times hosted files were downloaded, and how many of those were refused.
    pub fn file_downloads(&self) -> (usize, usize) {
        let inner = self.lock();
        let all: Vec<&ApiCall> = inner
            .calls
            .iter()
            .filter(|c| c.method == "files-pri")
            .collect();
        (all.len(), all.iter().filter(|c| c.status != 200).count())
    }

    /// The only bot token accepted (`xoxb-test-<random>`).
    pub fn bot_token(&self) -> String {
        self.lock().token.clone()
    }

    /// Makes `channel` exist, public, with the bot in it or not. `C0001` exists with the bot
    /// in it.
    pub fn set_member(&self, channel: &str, member: bool) {
        self.lock().channels.insert(channel.to_string(), member);
    }

    /// Takes `scope` back from the bot token, as an admin could by editing the app's scopes.
    pub fn revoke_scope(&self, scope: &str) {
        self.lock().scopes.retain(|s| s != scope);
    }

    /// Makes `channel` exist as a private channel, with the bot in it or not.
    pub fn set_private(&self, channel: &str, member: bool) {
        let mut inner = self.lock();
        inner.channels.insert(channel.to_string(), member);
        inner.private.insert(channel.to_string());
    }

    /// Applies `fault` to the next `times` calls of `method` (`chat.postMessage`, ...; `upload`
    /// for `upload_url` POSTs; `*` for any).
    pub fn fault_api(&self, method: &str, fault: ApiFault, times: u32) {
        self.lock().rules.add(method, fault, times);
    }

    /// As [`Self::fault_api`], for calls of `method` into `channel` only, so a test can break
    /// its own channel on the shared stand-in.
    pub fn fault_api_in(&self, method: &str, channel: &str, fault: ApiFault, times: u32) {
        self.lock()
            .rules
            .add(format!("{method}@{channel}"), fault, times);
    }

    /// Every call so far, oldest first.
    pub fn api_calls(&self) -> Vec<ApiCall> {
        self.lock().calls.clone()
    }

    /// The calls of one method, oldest first.
    pub fn calls_to(&self, method: &str) -> Vec<ApiCall> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// The messages in `channel` as a user would now see them, in post order, replies
    /// included: every accepted `chat.postMessage`, every file shared by
    /// `files.completeUploadExternal`, with `chat.update`s applied in place (those carry
    /// `edited`). Each has `ts`, `channel`, and `thread_ts` when in a thread.
    pub fn channel_messages(&self, channel: &str) -> Vec<Value> {
        self.lock()
            .messages
            .get(channel)
            .cloned()
            .unwrap_or_default()
    }

    /// A person (`user`, whose own workspace is `team`) writes `text` in `channel`, at the top
    /// or in the thread under `thread_ts`. Stored as Slack stores a person's message — the
    /// `message` of the `message_action` body in bolt-python's
    /// `tests/scenario_tests/test_app_using_methods_in_class.py` (`client_msg_id`, `type`,
    /// `text`, `user`, `ts`, `team`), with `thread_ts` and `parent_user_id` on a reply (the
    /// thread fields of java-slack-sdk's `BlockActionPayload.json` sample) — and returned.
    pub fn person_says(
        &self,
        channel: &str,
        user: &str,
        team: &str,
        text: &str,
        thread_ts: Option<&str>,
    ) -> Value {
        let mut inner = self.lock();
        inner.channels.entry(channel.to_owned()).or_insert(true);
        let ts = next_ts(&mut inner);
        let mut message = json!({
            "client_msg_id": uuid::Uuid::new_v4().to_string(),
            "type": "message",
            "text": text,
            "user": user,
            "ts": ts,
            "team": team,
        });
        if let Some(thread_ts) = thread_ts {
            let parent_user = inner
                .messages
                .get(channel)
                .and_then(|m| m.iter().find(|m| m["ts"] == thread_ts))
                .map(|m| m["user"].clone())
                .unwrap_or(Value::Null);
            message["thread_ts"] = json!(thread_ts);
            message["parent_user_id"] = parent_user;
        }
        message["channel"] = json!(channel);
        store_message(&mut inner, channel, message.clone());
        message
    }

    /// Every ephemeral message accepted (`chat.postEphemeral`), oldest first.
    pub fn ephemerals(&self) -> Vec<Value> {
        self.lock().ephemerals.clone()
    }

    /// The bot's own user id, as `auth.test` and an event's `authorizations[0].user_id` name it.
    pub fn bot_user(&self) -> &'static str {
        BOT_USER
    }

    /// The replies in the thread whose parent is `ts`, oldest first (the parent excluded).
    pub fn thread(&self, channel: &str, ts: &str) -> Vec<Value> {
        self.channel_messages(channel)
            .into_iter()
            .filter(|m| m["thread_ts"] == ts && m["ts"] != ts)
            .collect()
    }

    /// Every file announced, completed or not.
    pub fn files(&self) -> Vec<UploadedFile> {
        self.lock().files.clone()
    }

    /// Waits until `channel` holds at least `n` messages and returns them; panics after
    /// `timeout` with every call made, refused ones included.
    pub async fn wait_for_channel_messages(
        &self,
        channel: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<Value> {
        let found = super::poll(timeout, || {
            let messages = self.channel_messages(channel);
            (messages.len() >= n).then_some(messages)
        })
        .await;
        match found {
            Some(messages) => messages,
            None => panic!(
                "waited {timeout:?} for {n} message(s) in {channel}; it holds {:#?}\nWeb API calls: {:#?}",
                self.channel_messages(channel),
                self.api_calls()
            ),
        }
    }

    /// Waits until at least `n` uploads are completed and returns the completed ones; panics
    /// after `timeout` with every file and call.
    pub async fn wait_for_files(&self, n: usize, timeout: Duration) -> Vec<UploadedFile> {
        let completed = || {
            self.files()
                .into_iter()
                .filter(|f| f.completed)
                .collect::<Vec<_>>()
        };
        let found = super::poll(timeout, || {
            let files = completed();
            (files.len() >= n).then_some(files)
        })
        .await;
        match found {
            Some(files) => files,
            None => panic!(
                "waited {timeout:?} for {n} completed upload(s); files: {:#?}\nWeb API calls: {:#?}",
                self.files(),
                self.api_calls()
            ),
        }
    }

    /// [`slack_file_errors`] for a message posted to a `response_url` whose message lives in
    /// `channel` (`None`: not known to the stand-in).
    pub(crate) fn slack_file_errors(&self, body: &Value, channel: Option<&str>) -> Vec<String> {
        slack_file_errors(&self.lock(), body, channel)
    }

    /// Replaces the message `ts` in `channel` with `body`, as an accepted `response_url` post
    /// with `replace_original: true` replaces the message whose action carried the URL (Slack's
    /// "Handling user interaction" guide: an interaction's `response_url` updates the source
    /// message when the new message body sets `replace_original` to true). Text and blocks
    /// are the message's; reply-only fields are dropped. `false` when there is no such message.
    pub(crate) fn replace_original(&self, channel: &str, ts: &str, body: &Value) -> bool {
        let mut inner = self.lock();
        let Some(message) = inner
            .messages
            .get_mut(channel)
            .and_then(|messages| messages.iter_mut().find(|m| m["ts"] == ts))
        else {
            return false;
        };
        for key in ["text", "blocks"] {
            match body.get(key) {
                Some(value) => message[key] = value.clone(),
                None => {
                    if let Some(message) = message.as_object_mut() {
                        message.remove(key);
                    }
                }
            }
        }
        true
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A test that panicked while holding the lock must not break every later test.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes one use of the first fault rule for `method`, else of the first for any method.
    fn take_fault(&self, method: &str, channel: Option<&str>) -> Option<ApiFault> {
        let mut inner = self.lock();
        let rules = &mut inner.rules;
        let scoped = channel.map(|c| format!("{method}@{c}"));
        scoped
            .and_then(|key| rules.take(|m| m == key))
            .or_else(|| rules.take(|m| m == method))
            .or_else(|| rules.take(|m| m == "*"))
    }
}

/// A fresh message `ts`, strictly increasing, shaped like Slack's (`<unix secs>.<6 digits>`).
fn next_ts(inner: &mut Inner) -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default();
    let micros = now.max(inner.last_ts_micros + 1);
    inner.last_ts_micros = micros;
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// A Slack-looking ID: `prefix` and ten upper-case letters or digits.
fn slack_id(prefix: char) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::iter::once(prefix)
        .chain((0..10).map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())])))
        .collect()
}

/// `ts` as Slack writes it. Anything else in `thread_ts` is refused with `invalid_thread_ts`,
/// as Slack answered `"[ERROR] 0 is not a valid thread_ts"` in jenkinsci/slack-plugin#584.
fn is_ts(ts: &str) -> bool {
    ts.split_once('.').is_some_and(|(secs, frac)| {
        !secs.is_empty()
            && !frac.is_empty()
            && secs.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The outcome of one call before it is recorded.
struct Outcome {
    status: StatusCode,
    /// JSON, or a string sent as `text/plain`.
    body: Value,
    error: Option<String>,
    notes: Vec<String>,
    images: Vec<ImageFetch>,
    retry_after: Option<u64>,
}

impl Outcome {
    /// `{"ok":true, ...fields}`, with Slack's `warning`s when there are any.
    fn ok(fields: Value, warnings: &[&str]) -> Outcome {
        let mut body = json!({"ok": true});
        if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), fields) {
            body.extend(fields);
            if !warnings.is_empty() {
                body.insert("warning".into(), json!(warnings.join(",")));
                body.insert("response_metadata".into(), json!({ "warnings": warnings }));
            }
        }
        Outcome::with(StatusCode::OK, body, None)
    }

    /// HTTP 200 `{"ok":false,"error":...}`, with `response_metadata.messages` when there are
    /// details, as Slack answers API errors.
    fn fail(error: &str, details: &[String]) -> Outcome {
        let mut body = json!({"ok": false, "error": error});
        if !details.is_empty() {
            body["errors"] = json!(details);
            body["response_metadata"] = json!({
                "messages": details.iter().map(|d| format!("[ERROR] {d}")).collect::<Vec<_>>(),
            });
        }
        Outcome::with(StatusCode::OK, body, Some(error.to_string()))
    }

    fn with(status: StatusCode, body: Value, error: Option<String>) -> Outcome {
        Outcome {
            status,
            body,
            error,
            notes: Vec::new(),
            images: Vec::new(),
            retry_after: None,
        }
    }

    fn response(&self) -> Response {
        let mut response = match &self.body {
            Value::String(text) => (
                self.status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                text.clone(),
            )
                .into_response(),
            json => (
                self.status,
                [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                json.to_string(),
            )
                .into_response(),
        };
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// What a fault turns the call into, after any hang. `None`: handle the call normally.
async fn apply_fault(fault: Option<&ApiFault>) -> Option<Outcome> {
    match fault? {
        ApiFault::RateLimited { retry_after_secs } => {
            let mut outcome = Outcome::with(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"ok": false, "error": "ratelimited"}),
                Some("ratelimited".into()),
            );
            outcome.retry_after = Some(*retry_after_secs);
            Some(outcome)
        }
        ApiFault::Error(code) => Some(Outcome::fail(code, &[])),
        ApiFault::DoneThenServerError => None,
        ApiFault::ServerError => Some(Outcome::with(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!("Internal Server Error"),
            Some("server_error".into()),
        )),
    }
}

/// A method's arguments, wherever they came from.
struct Args {
    fields: Map<String, Value>,
    /// Whether they came as a JSON body (some methods refuse that).
    json: bool,
    /// Slack warnings earned by the request's form (e.g. `missing_charset`).
    warnings: Vec<&'static str>,
}

impl Args {
    /// A string argument; numbers and booleans are taken as Slack takes form values, as text.
    fn str(&self, name: &str) -> Option<String> {
        match self.fields.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// A JSON-typed argument (`blocks`, `files`): inline in a JSON body, a JSON string in a form.
    /// `Err` when the string does not parse.
    fn json(&self, name: &str) -> Result<Option<Value>, ()> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => serde_json::from_str(s).map(Some).map_err(|_| ()),
            Some(other) => Ok(Some(other.clone())),
        }
    }
}

/// Reads the arguments as Slack does: a JSON object body, a url-encoded form body, and
/// query-string arguments underneath. Slack also takes multipart forms; Marquee never sends
/// one, so the stand-in does not model them and refuses them. `Err` is the Slack error code for a
/// request it cannot read (`invalid_post_type`, `missing_post_type`, `invalid_json`,
/// `invalid_form_data`).
fn parse_args(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Result<Args, &'static str> {
    let mut fields = Map::new();
    if let Some(query) = query {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|_| "invalid_arguments")?;
        fields.extend(pairs.into_iter().map(|(k, v)| (k, Value::String(v))));
    }
    let raw_content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let content_type = raw_content_type.map(str::to_ascii_lowercase);
    let mut args = Args {
        fields,
        json: false,
        warnings: Vec::new(),
    };
    let Some(content_type) = content_type else {
        return if body.is_empty() {
            Ok(args)
        } else {
            Err("missing_post_type")
        };
    };
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    match mime {
        "application/json" => {
            // Slack answers a JSON body without a charset with the `missing_charset` warning
            // (seen in jenkinsci/slack-plugin#584's response).
            if !content_type.contains("charset=") {
                args.warnings.push("missing_charset");
            }
            let Ok(Value::Object(object)) = serde_json::from_slice(body) else {
                return Err("invalid_json");
            };
            args.fields.extend(object);
            args.json = true;
        }
        "application/x-www-form-urlencoded" => {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_bytes(body).map_err(|_| "invalid_form_data")?;
            args.fields
                .extend(pairs.into_iter().map(|(k, v)| (k, Value::String(v))));
        }
        _ => return Err("invalid_post_type"),
    }
    Ok(args)
}

/// The token a call carried: the `Authorization: Bearer` header, or a form `token` argument.
fn given_token(headers: &HeaderMap, args: Option<&Args>) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_string);
    // A form `token` argument is also accepted (the method reference's `token` argument); a
    // JSON body must use the header.
    bearer.or_else(|| args.filter(|a| !a.json).and_then(|a| a.str("token")))
}

/// How the call authenticated against the shared bot token.
fn authenticate(token: &str, headers: &HeaderMap, args: Option<&Args>) -> Auth {
    match &given_token(headers, args) {
        None => Auth::Missing,
        Some(given) if given == token => Auth::Valid,
        Some(_) => Auth::Invalid,
    }
}

async fn api_call(
    State(app): State<ApiApp>,
    Path(method): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let args = parse_args(&headers, uri.query(), &body);
    let recorded = match &args {
        Ok(args) => Value::Object(args.fields.clone()),
        Err(_) => Value::String(String::from_utf8_lossy(&body).into_owned()),
    };
    let (auth, scopes) = {
        let inner = app.api.lock();
        let auth = if method.starts_with("functions.") {
            execution_auth(&inner, &headers, args.as_ref().ok())
        } else {
            authenticate(&inner.token, &headers, args.as_ref().ok())
        };
        (auth, inner.scopes.clone())
    };
    // A fault may be scoped to a channel, or to a workflow step's execution
    // (`fault_api_in("functions.completeSuccess", execution, …)`).
    let channel = args
        .as_ref()
        .ok()
        .and_then(|a| a.str("channel").or_else(|| a.str("function_execution_id")));
    let fault = app.api.take_fault(&method, channel.as_deref());
    let outcome = match apply_fault(fault.as_ref()).await {
        Some(outcome) => outcome,
        None => match (auth, args) {
            (Auth::Missing, _) => Outcome::fail("not_authed", &[]),
            (Auth::Invalid, _) => Outcome::fail("invalid_auth", &[]),
            (Auth::Valid, Err(code)) => Outcome::fail(code, &[]),
            (Auth::Valid, Ok(args)) => match method.as_str() {
                "chat.postMessage" => post_message(&app, &args, &scopes).await,
                "chat.update" => update_message(&app, &args).await,
                "chat.postEphemeral" => post_ephemeral(&app, &args, &scopes).await,
                "files.getUploadURLExternal" => get_upload_url(&app, &args),
                "files.completeUploadExternal" => complete_upload(&app, &args).await,
                "views.open" => open_view(&app.api, &args),
                "views.publish" => publish_view(&app.api, &args),
                "users.info" => user_info(&app.api, &args, &scopes),
                "files.info" => file_info(&app.api, &args, &scopes),
                "chat.getPermalink" => permalink(&app.api, &args),
                "functions.completeSuccess" | "functions.completeError" => complete_function(
                    &app.api,
                    &method,
                    &args,
                    given_token(&headers, Some(&args)).as_deref(),
                ),
                _ => Outcome::fail("unknown_method", &[]),
            },
        },
    };
    let outcome = match fault {
        Some(ApiFault::DoneThenServerError) => Outcome::with(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!("Internal Server Error"),
            Some("server_error".into()),
        ),
        _ => outcome,
    };
    let response = outcome.response();
    let violations = broadcast_violations(&recorded);
    app.api.lock().calls.push(ApiCall {
        method,
        violations,
        body: recorded,
        auth,
        status: outcome.status.as_u16(),
        error: outcome.error,
        notes: outcome.notes,
        images: outcome.images,
    });
    response
}

/// `text` and `blocks` as one body for [`check_message`]; `Err` is the Slack error code when
/// `blocks` is not JSON.
fn message_body(args: &Args) -> Result<Value, &'static str> {
    let mut body = json!({});
    if let Some(text) = args.str("text") {
        body["text"] = json!(text);
    }
    match args.json("blocks") {
        Ok(Some(blocks)) => body["blocks"] = blocks,
        Ok(None) => {}
        Err(()) => {
            // chat.update's reference: "The blocks is not a valid JSON object or doesn't match
            // the Block Kit syntax."
            return Err("invalid_blocks_format");
        }
    }
    Ok(body)
}

/// `chat.postEphemeral` (Slack's method reference `reference/methods/chat.postEphemeral`):
/// `channel`, `user`, `text`/`blocks`, optional `thread_ts`; answered `{"ok": true,
/// "message_ts"}`; `channel_not_found` for a channel the bot cannot see, `not_in_channel`
/// for a public one it is not in (without `chat:write.public`), `user_not_in_channel` without
/// a user. The message reaches that user alone and is kept in no channel's history.
async fn post_ephemeral(app: &ApiApp, args: &Args, scopes: &[String]) -> Outcome {
    let Some(channel) = args.str("channel").filter(|c| !c.is_empty()) else {
        return Outcome::fail("channel_not_found", &[]);
    };
    {
        let api = app.api.lock();
        match api.channels.get(&channel) {
            None => return Outcome::fail("channel_not_found", &[]),
            Some(false) if api.private.contains(&channel) => {
                return Outcome::fail("channel_not_found", &[]);
            }
            Some(false) if !scopes.iter().any(|s| s == "chat:write.public") => {
                return Outcome::fail("not_in_channel", &[]);
            }
            Some(_) => {}
        }
    }
    let Some(user) = args.str("user").filter(|u| !u.is_empty()) else {
        return Outcome::fail("user_not_in_channel", &[]);
    };
    let thread_ts = args.str("thread_ts").filter(|t| !t.is_empty());
    if let Some(thread_ts) = &thread_ts
        && !is_ts(thread_ts)
    {
        return Outcome::fail(
            "invalid_thread_ts",
            &[format!("{thread_ts} is not a valid thread_ts")],
        );
    }
    let body = match message_body(args) {
        Ok(body) => body,
        Err(code) => return Outcome::fail(code, &[]),
    };
    let images = match check_message(&app.http, &body, true).await {
        Ok(images) => images,
        Err(rejection) => return refused(rejection),
    };
    let mut inner = app.api.lock();
    let ts = next_ts(&mut inner);
    let mut kept =
        json!({"channel": channel, "user": user, "text": body["text"], "message_ts": ts});
    if let Some(blocks) = body.get("blocks") {
        kept["blocks"] = blocks.clone();
    }
    if let Some(thread_ts) = thread_ts {
        kept["thread_ts"] = json!(thread_ts);
    }
    inner.ephemerals.push(kept);
    drop(inner);
    let mut outcome = Outcome::ok(json!({ "message_ts": ts }), &args.warnings);
    outcome.images = images;
    outcome
}

/// A refused message as Slack's Web API answers it: HTTP 200, the code, the pointers.
fn refused(rejection: Rejection) -> Outcome {
    let mut outcome = Outcome::fail(rejection.error, &rejection.errors);
    outcome.images = rejection.images;
    outcome
}

/// Notes on a `thread_ts` Slack would accept but file where no one looks.
fn thread_notes(inner: &Inner, channel: &str, thread_ts: &str) -> Vec<String> {
    let parent = inner
        .messages
        .get(channel)
        .and_then(|messages| messages.iter().find(|m| m["ts"] == thread_ts));
    match parent {
        None => vec![format!(
            "thread_ts {thread_ts} names no message in {channel}: Slack accepts the reply, but \
             no one will find it"
        )],
        Some(parent) if parent["thread_ts"].as_str().is_some_and(|t| t != thread_ts) => {
            vec![format!(
                "thread_ts {thread_ts} names a reply, not a thread's parent (Slack: \"use its \
                 parent instead\")"
            )]
        }
        Some(_) => Vec::new(),
    }
}

/// Stores `message` in `channel` and, for a reply, updates its parent as Slack does
/// (`thread_ts`, `reply_count`, `latest_reply` on the parent).
fn store_message(inner: &mut Inner, channel: &str, message: Value) {
    let messages = inner.messages.entry(channel.to_string()).or_default();
    if let (Some(thread_ts), Some(ts)) = (message["thread_ts"].as_str(), message["ts"].as_str())
        && let Some(parent) = messages.iter_mut().find(|m| m["ts"] == thread_ts)
    {
        let count = parent["reply_count"].as_u64().unwrap_or(0) + 1;
        parent["thread_ts"] = json!(thread_ts);
        parent["reply_count"] = json!(count);
        parent["latest_reply"] = json!(ts);
    }
    messages.push(message);
}

/// Image blocks that show a Slack file (`slack_file`) instead of an `image_url`, judged as
/// Slack documents and answers them; each problem is one `invalid_blocks` detail.
///
/// - Block Kit's image block reference (docs.slack.dev/reference/block-kit/blocks/image-block):
///   "You must provide either an image_url or slack_file" — one, not both.
/// - The Slack file object (docs.slack.dev/reference/block-kit/composition-objects/
///   slack-file-object): "you must provide either the URL or ID ... If both are provided then
///   the payload will be rejected"; "the user posting these blocks must have access to this
///   file"; "only png, jpg, jpeg, and gif Slack image files are supported".
/// - An `id` that is not a file ID: `input must match regex pattern: ^[F][A-Z0-9]{8,}$
///   [json-pointer:/blocks/N/slack_file/id]` (captured in slackapi/python-slack-sdk#1521).
/// - A file the bot uploaded without sharing it where the message goes (completed with no
///   `channel_id`, "If not specified the file will be private" — files.completeUploadExternal's
///   reference) is refused with `invalid slack file [json-pointer:/blocks/N/slack_file]`
///   (captured in slackapi/bolt-python#1251 and python-slack-sdk#1658). So is a file that does
///   not exist, was never uploaded or completed, or is not an image. The stand-in hands out no
///   `url_private` or `permalink`, so a `url` names no file of this bot.
///
/// `channel` is where the message goes; `None` for a `response_url` the stand-in cannot tie to
/// a channel, where a file shared in any channel passes.
fn slack_file_errors(inner: &Inner, body: &Value, channel: Option<&str>) -> Vec<String> {
    let mut errors = Vec::new();
    let blocks = body.get("blocks").and_then(Value::as_array);
    for (i, block) in blocks.into_iter().flatten().enumerate() {
        if block.get("type").and_then(Value::as_str) != Some("image") {
            continue;
        }
        let Some(file) = block.get("slack_file") else {
            continue;
        };
        let at = format!("/blocks/{i}");
        if block.get("image_url").is_some() {
            errors.push(format!(
                "must provide either image_url or slack_file, not both [json-pointer:{at}]"
            ));
            continue;
        }
        let (id, url) = (
            file.get("id").and_then(Value::as_str),
            file.get("url").and_then(Value::as_str),
        );
        let id = match (id, url) {
            (Some(_), Some(_)) | (None, None) => {
                errors.push(format!(
                    "must provide either url or id [json-pointer:{at}/slack_file]"
                ));
                continue;
            }
            (None, Some(_)) => {
                errors.push(format!("invalid slack file [json-pointer:{at}/slack_file]"));
                continue;
            }
            (Some(id), None) => id,
        };
        let well_formed = id.len() >= 9
            && id.starts_with('F')
            && id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !well_formed {
            errors.push(format!(
                "input must match regex pattern: ^[F][A-Z0-9]{{8,}}$ [json-pointer:{at}/slack_file/id]"
            ));
            continue;
        }
        let visible = inner.files.iter().any(|f| {
            f.id == id
                && f.completed
                && f.channel_id.is_some()
                && channel.is_none_or(|c| f.channel_id.as_deref() == Some(c))
                && super::slack::image_kind(&f.bytes).is_some()
        });
        if !visible {
            errors.push(format!("invalid slack file [json-pointer:{at}/slack_file]"));
        }
    }
    errors
}

async fn post_message(app: &ApiApp, args: &Args, scopes: &[String]) -> Outcome {
    let Some(channel) = args.str("channel").filter(|c| !c.is_empty()) else {
        return Outcome::fail("channel_not_found", &[]);
    };
    {
        let api = app.api.lock();
        match api.channels.get(&channel) {
            None => return Outcome::fail("channel_not_found", &[]),
            // A private channel the bot is not in does not exist for it; a public one takes
            // posts only with `chat:write.public` ("Send messages to channels @app isn't a
            // member of", Slack's scope reference; chat.postMessage's `not_in_channel` error).
            Some(false) if api.private.contains(&channel) => {
                return Outcome::fail("channel_not_found", &[]);
            }
            Some(false) if !scopes.iter().any(|s| s == "chat:write.public") => {
                return Outcome::fail("not_in_channel", &[]);
            }
            Some(_) => {}
        }
    }
    let thread_ts = args.str("thread_ts").filter(|t| !t.is_empty());
    if let Some(thread_ts) = &thread_ts
        && !is_ts(thread_ts)
    {
        return Outcome::fail(
            "invalid_thread_ts",
            &[format!("{thread_ts} is not a valid thread_ts")],
        );
    }
    let mut body = match message_body(args) {
        Ok(body) => body,
        Err(code) => return Outcome::fail(code, &[]),
    };
    // Slack says `text` is optional when there are blocks; Marquee promises a fallback, so the
    // stand-in holds it to that, as on the `response_url` road.
    let images = match check_message(&app.http, &body, true).await {
        Ok(images) => images,
        Err(rejection) => return refused(rejection),
    };
    let file_errors = slack_file_errors(&app.api.lock(), &body, Some(&channel));
    if !file_errors.is_empty() {
        return Outcome::fail("invalid_blocks", &file_errors);
    }

    let mut notes = Vec::new();
    if let Some(text) = body["text"].as_str()
        && text.chars().count() > MAX_MESSAGE_TEXT
    {
        notes.push(format!(
            "text of {} characters truncated to {MAX_MESSAGE_TEXT}",
            text.chars().count()
        ));
        body["text"] = json!(text.chars().take(MAX_MESSAGE_TEXT).collect::<String>());
    }

    let mut inner = app.api.lock();
    if let Some(thread_ts) = &thread_ts {
        notes.extend(thread_notes(&inner, &channel, thread_ts));
    }
    let ts = next_ts(&mut inner);
    let mut message = json!({
        "type": "message",
        "subtype": "bot_message",
        "text": body["text"],
        "user": BOT_USER,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "ts": ts,
    });
    if let Some(blocks) = body.get("blocks") {
        message["blocks"] = blocks.clone();
    }
    if let Some(thread_ts) = &thread_ts {
        message["thread_ts"] = json!(thread_ts);
    }
    let answer = json!({"channel": channel, "ts": ts, "message": message});
    message["channel"] = json!(channel);
    store_message(&mut inner, &channel, message);
    drop(inner);

    let mut outcome = Outcome::ok(answer, &args.warnings);
    outcome.notes = notes;
    outcome.images = images;
    outcome
}

async fn update_message(app: &ApiApp, args: &Args) -> Outcome {
    let Some(channel) = args.str("channel").filter(|c| !c.is_empty()) else {
        return Outcome::fail("channel_not_found", &[]);
    };
    if !app.api.lock().channels.contains_key(&channel) {
        return Outcome::fail("channel_not_found", &[]);
    }
    let Some(ts) = args.str("ts").filter(|t| !t.is_empty()) else {
        return Outcome::fail(
            "invalid_arguments",
            &["missing required field: ts".to_string()],
        );
    };
    let exists = |api: &SlackApi| {
        api.lock()
            .messages
            .get(&channel)
            .is_some_and(|messages| messages.iter().any(|m| m["ts"] == ts))
    };
    if !exists(&app.api) {
        return Outcome::fail("message_not_found", &[]);
    }
    let body = match message_body(args) {
        Ok(body) => body,
        Err(code) => return Outcome::fail(code, &[]),
    };
    let images = match check_message(&app.http, &body, true).await {
        Ok(images) => images,
        Err(rejection) => return refused(rejection),
    };
    let file_errors = slack_file_errors(&app.api.lock(), &body, Some(&channel));
    if !file_errors.is_empty() {
        return Outcome::fail("invalid_blocks", &file_errors);
    }

    let mut inner = app.api.lock();
    let edited_ts = next_ts(&mut inner);
    let Some(message) = inner
        .messages
        .get_mut(&channel)
        .and_then(|messages| messages.iter_mut().find(|m| m["ts"] == ts))
    else {
        return Outcome::fail("message_not_found", &[]);
    };
    if let Some(text) = body.get("text") {
        message["text"] = text.clone();
    }
    // chat.update's reference: blocks are replaced when given, and removed when only `text` is.
    match (body.get("blocks"), body.get("text")) {
        (Some(blocks), _) => message["blocks"] = blocks.clone(),
        (None, Some(_)) => {
            if let Some(message) = message.as_object_mut() {
                message.remove("blocks");
            }
        }
        (None, None) => {}
    }
    message["edited"] = json!({"user": BOT_USER, "ts": edited_ts});
    let mut shown = message.clone();
    if let Some(shown) = shown.as_object_mut() {
        shown.remove("channel");
    }
    drop(inner);

    let answer = json!({"channel": channel, "ts": ts, "text": shown["text"], "message": shown});
    let mut outcome = Outcome::ok(answer, &args.warnings);
    outcome.images = images;
    outcome
}

fn get_upload_url(app: &ApiApp, args: &Args) -> Outcome {
    // Observed live: this method refuses a JSON body, answering `invalid_arguments` with
    // "missing required field" for fields that were present (Octember/earshot#10). So the
    // stand-in takes only form or query arguments, and the product must send a form.
    if args.json {
        return Outcome::fail(
            "invalid_arguments",
            &[
                "missing required field: filename".to_string(),
                "missing required field: length".to_string(),
            ],
        );
    }
    let mut missing = Vec::new();
    let filename = args.str("filename").filter(|f| !f.is_empty());
    if filename.is_none() {
        missing.push("missing required field: filename".to_string());
    }
    let length = args.str("length");
    if length.is_none() {
        missing.push("missing required field: length".to_string());
    }
    if !missing.is_empty() {
        return Outcome::fail("invalid_arguments", &missing);
    }
    let (Some(filename), Some(length)) = (filename, length) else {
        return Outcome::fail("invalid_arguments", &[]);
    };
    let Ok(declared_length) = length.trim().parse::<u64>() else {
        return Outcome::fail(
            "invalid_arguments",
            &["must be an integer [json-pointer:/length]".to_string()],
        );
    };
    if declared_length == 0 {
        // The reference: `missing_argument` "typically only occurs when the length provided is 0".
        return Outcome::fail("missing_argument", &[]);
    }
    let alt_txt = args.str("alt_txt");
    if alt_txt
        .as_deref()
        .is_some_and(|a| a.chars().count() > MAX_ALT_TXT)
    {
        return Outcome::fail("alt_txt_too_large", &[]);
    }

    let id = slack_id('F');
    // Like Slack's (`https://files.slack.com/upload/v1/<opaque>`), the URL does not reveal the
    // file ID, so the product cannot build it instead of using the one it was given.
    let key = super::random_token(32);
    let upload_url = format!("{}/upload/v1/{key}", app.base);
    let mut inner = app.api.lock();
    inner.upload_keys.insert(key, id.clone());
    inner.files.push(UploadedFile {
        id: id.clone(),
        filename,
        declared_length,
        alt_txt,
        uploaded: false,
        bytes: Bytes::new(),
        upload_error: None,
        completed: false,
        title: None,
        channel_id: None,
        thread_ts: None,
        initial_comment: None,
    });
    drop(inner);
    Outcome::ok(json!({"upload_url": upload_url, "file_id": id}), &[])
}

/// A POST of the file's bytes to an `upload_url`. The method reference (usage info of
/// files.getUploadURLExternal): "Files can be sent as raw bytes or can be multipart form
/// encoded. Slack will return HTTP 200 if the upload is successful". Marquee sends raw bytes.
async fn upload(
    State(app): State<ApiApp>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    // Slack also takes a multipart form here; Marquee sends raw bytes, and only those are
    // modelled.
    let multipart = content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data");
    let auth = match headers.get(header::AUTHORIZATION) {
        None => Auth::Missing,
        Some(_) => {
            let token = app.api.bot_token();
            authenticate(&token, &headers, None)
        }
    };
    let fault = app.api.take_fault("upload", None);
    let file_id = app.api.lock().upload_keys.get(&key).cloned();
    let mut received = 0;
    let outcome = match apply_fault(fault.as_ref()).await {
        Some(outcome) => outcome,
        None => match &file_id {
            None => Outcome::with(
                StatusCode::NOT_FOUND,
                json!("Not Found"),
                Some("unknown_upload_url".into()),
            ),
            Some(file_id) => {
                let bytes = (!multipart).then(|| body.clone());
                match bytes {
                    None => Outcome::with(
                        StatusCode::BAD_REQUEST,
                        json!("Bad Request: the stand-in models raw-byte uploads only"),
                        Some("invalid_form_data".into()),
                    ),
                    Some(bytes) => {
                        received = bytes.len();
                        receive_upload(&app.api, file_id, bytes)
                    }
                }
            }
        },
    };
    let response = outcome.response();
    app.api.lock().calls.push(ApiCall {
        method: "upload".into(),
        body: json!({
            "file_id": file_id,
            "bytes": received,
            "multipart": multipart,
            "content_type": content_type,
        }),
        auth,
        status: outcome.status.as_u16(),
        error: outcome.error,
        notes: outcome.notes,
        images: Vec::new(),
        violations: Vec::new(),
    });
    response
}

fn receive_upload(api: &SlackApi, file_id: &str, bytes: Bytes) -> Outcome {
    let mut inner = api.lock();
    let Some(file) = inner.files.iter_mut().find(|f| f.id == file_id) else {
        return Outcome::with(StatusCode::NOT_FOUND, json!("Not Found"), None);
    };
    let mut notes = Vec::new();
    if file.uploaded {
        notes.push(format!(
            "{file_id} uploaded again; the new bytes replace the old"
        ));
    }
    // Slack does not document what a length mismatch does; the stand-in takes the bytes (as an
    // edge would) and refuses to complete the upload, so the mistake cannot pass unseen.
    file.upload_error = (bytes.len() as u64 != file.declared_length).then(|| {
        format!(
            "received {} bytes for {file_id}, but files.getUploadURLExternal declared {}",
            bytes.len(),
            file.declared_length
        )
    });
    file.uploaded = true;
    let len = bytes.len();
    file.bytes = bytes;
    let mut outcome = Outcome::with(StatusCode::OK, json!(format!("OK - {len}")), None);
    outcome.notes = notes;
    outcome
}

async fn complete_upload(app: &ApiApp, args: &Args) -> Outcome {
    let files = match args.json("files") {
        Ok(Some(Value::Array(files))) if !files.is_empty() => files,
        Ok(None) => {
            return Outcome::fail(
                "invalid_arguments",
                &["missing required field: files".to_string()],
            );
        }
        _ => {
            return Outcome::fail(
                "invalid_arguments",
                &["must be a non-empty array of {id, title} [json-pointer:/files]".to_string()],
            );
        }
    };
    let mut wanted = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let Some(id) = file.get("id").and_then(Value::as_str) else {
            return Outcome::fail(
                "invalid_arguments",
                &[format!(
                    "missing required field: id [json-pointer:/files/{i}]"
                )],
            );
        };
        let title = file.get("title").and_then(Value::as_str).map(str::to_owned);
        wanted.push((id.to_string(), title));
    }

    let channel = args.str("channel_id").filter(|c| !c.is_empty());
    if let Some(channel) = &channel {
        // Slack checks `^[CGDZ][A-Z0-9]{8,}$` (bolt-js#2115: a user ID there earns this error).
        // Only the prefix and alphabet are checked, so the short fixture ID `C0001` still works.
        let well_formed = channel.starts_with(['C', 'G', 'D', 'Z'])
            && channel
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !well_formed {
            return Outcome::fail(
                "invalid_arguments",
                &["input must match regex pattern: ^[CGDZ][A-Z0-9]{8,}$ [json-pointer:/channel_id]"
                    .to_string()],
            );
        }
        match app.api.lock().channels.get(channel) {
            None => return Outcome::fail("invalid_channel", &[]),
            // Seen in the field when the bot was never invited (getnao/nao#1372), although the
            // reference does not list it for this method.
            Some(false) => return Outcome::fail("not_in_channel", &[]),
            Some(true) => {}
        }
    }
    let thread_ts = args.str("thread_ts").filter(|t| !t.is_empty());
    if let Some(thread_ts) = &thread_ts
        && !is_ts(thread_ts)
    {
        return Outcome::fail(
            "invalid_thread_ts",
            &[format!("{thread_ts} is not a valid thread_ts")],
        );
    }
    let initial_comment = args.str("initial_comment");
    let blocks = match args.json("blocks") {
        Ok(blocks) => blocks,
        Err(()) => return Outcome::fail("invalid_blocks_format", &[]),
    };
    let images = match &blocks {
        Some(blocks) => match check_message(&app.http, &json!({"blocks": blocks}), false).await {
            Ok(images) => images,
            Err(rejection) => return refused(rejection),
        },
        None => Vec::new(),
    };

    let mut inner = app.api.lock();
    for (id, _) in &wanted {
        let Some(file) = inner.files.iter().find(|f| &f.id == id) else {
            return Outcome::fail("file_not_found", &[]);
        };
        // A file never uploaded, or already completed, has no usable upload ticket: the
        // reference's `file_not_found` is "Could not find the file from the upload ticket".
        if !file.uploaded || file.completed {
            return Outcome::fail("file_not_found", &[]);
        }
        if let Some(error) = &file.upload_error {
            return Outcome::fail("invalid_arguments", std::slice::from_ref(error));
        }
    }
    let mut notes = Vec::new();
    if let (Some(channel), Some(thread_ts)) = (&channel, &thread_ts) {
        notes.extend(thread_notes(&inner, channel, thread_ts));
    }
    let mut answered = Vec::new();
    for (id, title) in &wanted {
        if let Some(file) = inner.files.iter_mut().find(|f| &f.id == id) {
            let title = title.clone().unwrap_or_else(|| file.filename.clone());
            file.completed = true;
            file.title = Some(title.clone());
            file.channel_id = channel.clone();
            file.thread_ts = thread_ts.clone();
            file.initial_comment = initial_comment.clone();
            answered.push(json!({"id": id, "title": title}));
        }
    }
    // Sharing into a channel shows as a message carrying the files, in the thread if one was
    // named. Without a channel the files stay private and nothing is posted.
    if let Some(channel) = &channel {
        let ts = next_ts(&mut inner);
        let mut message = json!({
            "type": "message",
            "text": initial_comment.clone().unwrap_or_default(),
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "upload": true,
            "files": answered,
            "ts": ts,
            "channel": channel,
        });
        if let Some(blocks) = &blocks {
            message["blocks"] = blocks.clone();
        }
        if let Some(thread_ts) = &thread_ts {
            message["thread_ts"] = json!(thread_ts);
        }
        store_message(&mut inner, channel, message);
    }
    drop(inner);

    let mut outcome = Outcome::ok(json!({"files": answered}), &args.warnings);
    outcome.notes = notes;
    outcome.images = images;
    outcome
}

// ---------------------------------------------------------------------------------------------
// Modals: triggers, views.open, and submitting an opened view as Slack would.
// ---------------------------------------------------------------------------------------------

/// How long a `trigger_id` can open a view: "trigger_id ... expires after 3 seconds"
/// (Slack's "Handling user interaction" guide; `views.open`'s `expired_trigger_id`).
pub const TRIGGER_LIFETIME: Duration = Duration::from_secs(3);
/// Modal view object limits ("Modal views" reference: title, submit and close ≤ 24
/// characters, ≤ 100 blocks, `private_metadata` ≤ 3000, `callback_id` ≤ 255; `external_id`
/// ≤ 255 per `views.open`'s usage info).
pub const MAX_VIEW_TITLE: usize = 24;
pub const MAX_VIEW_BLOCKS: usize = 100;
pub const MAX_PRIVATE_METADATA: usize = 3000;
pub const MAX_CALLBACK_ID: usize = 255;
/// `views.open`'s `view_too_large`: "the provided view is greater than 250kb".
pub const MAX_VIEW_BYTES: usize = 250 * 1024;

/// The keys a modal view object may carry on input ("Modal views" reference). Anything else —
/// including what Slack adds to its own copy (`id`, `hash`, `state`, ...) — is refused.
const MODAL_KEYS: &[&str] = &[
    "type",
    "title",
    "blocks",
    "close",
    "submit",
    "private_metadata",
    "callback_id",
    "clear_on_close",
    "notify_on_close",
    "external_id",
    "submit_disabled",
];

/// A `trigger_id` handed out, and to whom.
struct Trigger {
    issued: Instant,
    /// The payload's `user` object: whoever clicked.
    user: Value,
    used: bool,
}

/// Every trigger handed out by this process's stand-ins. Process-wide, so the free
/// `slash_command_body` can register its own; ids are random, so tests cannot collide.
static TRIGGERS: LazyLock<Mutex<HashMap<String, Trigger>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn triggers() -> MutexGuard<'static, HashMap<String, Trigger>> {
    TRIGGERS.lock().unwrap_or_else(|p| p.into_inner())
}

/// A fresh `trigger_id` for `user` (a payload's `user` object), shaped like Slack's
/// (`8123456789012.7123456789012.5f0c…`: the method reference's expected format is
/// `"132456.7890123.abcdef"`).
pub fn issue_trigger(user: Value) -> String {
    let digits = |n: usize| -> String {
        (0..n)
            .map(|i| char::from(b'0' + fastrand::u8(if i == 0 { 1..10 } else { 0..10 })))
            .collect()
    };
    let hex: String = (0..32)
        .map(|_| char::from(b"0123456789abcdef"[fastrand::usize(..16)]))
        .collect();
    let id = format!("{}.{}.{hex}", digits(13), digits(13));
    triggers().insert(
        id.clone(),
        Trigger {
            issued: Instant::now(),
            user,
            used: false,
        },
    );
    id
}

/// A trigger for `user` that was handed out longer ago than [`TRIGGER_LIFETIME`], for tests of
/// `expired_trigger_id` that do not wait 3 seconds.
pub fn expired_trigger(user: Value) -> String {
    let id = issue_trigger(user);
    if let Some(trigger) = triggers().get_mut(&id) {
        trigger.issued = Instant::now()
            .checked_sub(TRIGGER_LIFETIME + Duration::from_secs(1))
            .unwrap_or_else(Instant::now);
    }
    id
}

/// The method reference's `invalid_trigger_id`: "The expected format for the trigger_id
/// argument is "132456.7890123.abcdef"".
fn is_trigger_shape(id: &str) -> bool {
    let parts: Vec<&str> = id.split('.').collect();
    parts.len() == 3
        && parts[..2]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && !parts[2].is_empty()
        && parts[2].bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A view a user has open, as Slack keeps it: the view Marquee sent plus Slack's keys.
#[derive(Clone, Debug)]
pub struct OpenedView {
    /// `V…`, Slack's id for the view.
    pub id: String,
    /// Slack's copy of the view: the app's view, normalised (every block has a `block_id`,
    /// input blocks say `optional` and `dispatch_action`, plain-text inputs carry
    /// `dispatch_action_config`, text objects `emoji`), with `id`, `team_id`, `state`, `hash`,
    /// `root_view_id`, `previous_view_id`, `app_id`, `bot_id`, ... (the `views.open` reference's
    /// success response; the view in bolt-python's `view_submission` test bodies).
    pub view: Value,
    /// Who the view was opened for: the user of the trigger.
    pub user: Value,
    /// How long after its trigger was handed out (the click) the view was opened: under
    /// [`TRIGGER_LIFETIME`], or Slack would have refused it.
    pub trigger_age: Duration,
    /// Whether the app's answer to a submission closed it ([`SlackApi::view_answer`]).
    pub closed: bool,
}

/// What Slack does with the app's HTTP answer to a `view_submission`.
#[derive(Clone, Debug, PartialEq)]
pub enum ViewAnswer {
    /// An empty 200: the modal closes.
    Closed,
    /// `response_action: errors`: the modal stays open with each message under its input.
    Errors(Map<String, Value>),
    /// `response_action: update` / `push` with a new view, or `clear`.
    Other(Value),
}

impl OpenedView {
    pub fn callback_id(&self) -> &str {
        self.view["callback_id"].as_str().unwrap_or_default()
    }

    /// The input block `block_id` (panics if there is none: the test asked for a field the
    /// view does not have).
    pub fn input(&self, block_id: &str) -> &Value {
        self.view["blocks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|b| b["type"] == "input" && b["block_id"] == block_id)
            .unwrap_or_else(|| panic!("no input {block_id} in {:#}", self.view))
    }
}

/// What a person does to one input before submitting.
#[derive(Clone, Debug)]
pub enum Field<'a> {
    /// Types this into a plain-text input, replacing what was there; `""` clears it.
    Text(&'a str),
    /// Picks the option whose `value` is this, in a select or a radio group.
    Choose(&'a str),
    /// The files uploaded in a `file_input` ([`SlackApi::upload_by_person`]).
    Files(Vec<Value>),
    /// Ticks exactly the options whose `value`s these are in a checkboxes group (none: all
    /// unticked).
    Tick(&'a [&'a str]),
}

/// Slack's stored copy of `view` as sent by the app: what `views.open` answers and what a
/// `view_submission` carries. The keys added are those in Slack's own examples (the views.open
/// reference's response; bolt-python's `tests/scenario_tests/test_view_submission.py`).
fn slack_copy(view: &Value, id: &str) -> Value {
    let mut copy = view.clone();
    if let Some(blocks) = copy.get_mut("blocks").and_then(Value::as_array_mut) {
        for (i, block) in blocks.iter_mut().enumerate() {
            if block.get("block_id").is_none() {
                block["block_id"] = made_up_block_id(i).into();
            }
            if block["type"] == "input" {
                for (key, default) in [("optional", false), ("dispatch_action", false)] {
                    if block.get(key).is_none() {
                        block[key] = default.into();
                    }
                }
                let element = &mut block["element"];
                if element["type"] == "plain_text_input"
                    && element.get("dispatch_action_config").is_none()
                {
                    element["dispatch_action_config"] =
                        json!({"trigger_actions_on": ["on_enter_pressed"]});
                }
            }
        }
    }
    add_emoji_keys(&mut copy);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    for (key, value) in [
        ("id", json!(id)),
        ("team_id", json!("T0001")),
        ("private_metadata", json!("")),
        ("callback_id", json!("")),
        ("external_id", json!("")),
        ("state", json!({"values": {}})),
        ("hash", json!(format!("{now}.{}", super::random_token(8)))),
        ("clear_on_close", json!(false)),
        ("notify_on_close", json!(false)),
        ("previous_view_id", Value::Null),
        ("root_view_id", json!(id)),
        ("app_id", json!(APP_ID)),
        ("app_installed_team_id", json!("T0001")),
        ("bot_id", json!(BOT_ID)),
    ] {
        if copy.get(key).is_none() {
            copy[key] = value;
        }
    }
    copy
}

/// `plain_text` objects gain `emoji: true` in Slack's copy (every text object in bolt-python's
/// and the captured bodies).
fn add_emoji_keys(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            if fields.get("type").and_then(Value::as_str) == Some("plain_text")
                && fields.contains_key("text")
            {
                fields.entry("emoji").or_insert(Value::Bool(true));
            }
            fields.values_mut().for_each(add_emoji_keys);
        }
        Value::Array(items) => items.iter_mut().for_each(add_emoji_keys),
        _ => {}
    }
}

/// A 4–5 character block id like Slack makes up (`hspI`, `zniAM` in bolt-python's bodies).
fn made_up_block_id(index: usize) -> String {
    format!("{}{index}", super::random_token(4))
}

/// Judges a modal view for `views.open`; each problem is Slack's `[ERROR]` detail with a JSON
/// pointer under `/view`.
fn validate_view(view: &Value) -> Vec<String> {
    let mut v = Violations(Vec::new());
    if !view.is_object() {
        v.push("must be an object", "/view");
        return v.0;
    }
    v.only_keys(view, MODAL_KEYS, "/view");
    match view.get("type").and_then(Value::as_str) {
        Some("modal") => {}
        // views.open opens modals; a Home tab is views.publish's.
        Some(other) => v.push(&format!("unsupported type: {other}"), "/view/type"),
        None => v.push("missing required field: type", "/view"),
    }
    match view.get("title") {
        None => v.push("missing required field: title", "/view"),
        Some(title) => v.plain_text(title, MAX_VIEW_TITLE, "/view/title"),
    }
    for key in ["submit", "close"] {
        if let Some(button) = view.get(key) {
            v.plain_text(button, MAX_VIEW_TITLE, &format!("/view/{key}"));
        }
    }
    let str_field = |key: &str| view.get(key).and_then(Value::as_str);
    v.max_len(
        str_field("callback_id"),
        MAX_CALLBACK_ID,
        "/view/callback_id",
    );
    v.max_len(
        str_field("private_metadata"),
        MAX_PRIVATE_METADATA,
        "/view/private_metadata",
    );
    v.max_len(
        str_field("external_id"),
        MAX_CALLBACK_ID,
        "/view/external_id",
    );
    match view.get("blocks").and_then(Value::as_array) {
        None => v.push("missing required field: blocks", "/view"),
        Some(blocks) => {
            v.0.extend(validate_blocks(blocks, MAX_VIEW_BLOCKS, "/view/blocks"));
            // "submit is required when an input block is within the blocks array" (the
            // reference); Slack's words for it, from slackapi/node-slack-sdk#875.
            if view.get("submit").is_none()
                && let Some(i) = blocks.iter().position(|b| b["type"] == "input")
            {
                v.push(
                    "must define submit to use input block",
                    &format!("/view/blocks/{i}/input"),
                );
            }
        }
    }
    v.0
}

/// `views.open`, per its method reference: `trigger_id` (format, single use, 3 seconds) and a
/// `view` (JSON, a JSON string in a form) judged as Slack judges it. Slack does not document
/// whether a refused view spends the trigger; the stand-in is strict and spends it once the
/// trigger itself was good.
fn open_view(api: &SlackApi, args: &Args) -> Outcome {
    let view = match args.json("view") {
        Ok(Some(view)) => view,
        Ok(None) => {
            return Outcome::fail(
                "invalid_arguments",
                &["missing required field: view".to_string()],
            );
        }
        Err(()) => {
            return Outcome::fail(
                "invalid_arguments",
                &["must be a JSON object [json-pointer:/view]".to_string()],
            );
        }
    };
    // One of trigger_id and interactivity_pointer is required (the reference; @slack/web-api
    // `ViewsOpenArguments`); Marquee's modals open from clicks, so only triggers are modelled.
    let Some(trigger_id) = args.str("trigger_id").filter(|t| !t.is_empty()) else {
        return Outcome::fail(
            "invalid_arguments",
            &["missing required field: trigger_id".to_string()],
        );
    };
    if !is_trigger_shape(&trigger_id) {
        return Outcome::fail("invalid_trigger_id", &[]);
    }
    let (user, trigger_age) = {
        let mut triggers = triggers();
        let Some(trigger) = triggers.get_mut(&trigger_id) else {
            return Outcome::fail("invalid_trigger_id", &[]);
        };
        if trigger.used {
            return Outcome::fail("exchanged_trigger_id", &[]);
        }
        if trigger.issued.elapsed() > TRIGGER_LIFETIME {
            return Outcome::fail("expired_trigger_id", &[]);
        }
        trigger.used = true;
        (trigger.user.clone(), trigger.issued.elapsed())
    };
    if view.to_string().len() > MAX_VIEW_BYTES {
        return Outcome::fail("view_too_large", &[]);
    }
    let problems = validate_view(&view);
    if !problems.is_empty() {
        return Outcome::fail("invalid_arguments", &problems);
    }
    let id = slack_id('V');
    let copy = slack_copy(&view, &id);
    api.lock().views.push(OpenedView {
        id,
        view: copy.clone(),
        user,
        trigger_age,
        closed: false,
    });
    // The reference's success response shows the new view's empty state as `"values": []`.
    let mut shown = copy;
    shown["state"] = json!({"values": []});
    Outcome::ok(json!({ "view": shown }), &args.warnings)
}

/// The shape every `view_submission` payload built here copies (Slack's; see the fixtures'
/// README).
const VIEW_SUBMISSION_SHAPE: &str =
    include_str!("../../fixtures/slack/view_submission_edit_words.json");

impl SlackApi {
    /// Every view opened so far, oldest first.
    pub fn opened_views(&self) -> Vec<OpenedView> {
        self.lock().views.clone()
    }

    /// Waits for the view opened with `marker` in its `private_metadata` (a test's own
    /// `response_url`, which Marquee carries there) and returns it; panics after `timeout` with
    /// every `views.open` call.
    pub async fn wait_for_view(&self, marker: &str, timeout: Duration) -> OpenedView {
        let found = super::poll(timeout, || {
            self.opened_views().into_iter().find(|v| {
                v.view["private_metadata"]
                    .as_str()
                    .is_some_and(|m| m.contains(marker))
            })
        })
        .await;
        found.unwrap_or_else(|| {
            panic!(
                "waited {timeout:?} for a view carrying {marker}; views.open calls: {:#?}",
                self.calls_to("views.open")
            )
        })
    }

    /// What Slack makes of the app's answer (`status`, and `body`: `Value::Null` when empty)
    /// to a submission of view `view_id`, per bolt-js's `ViewResponseAction` and Slack's "Modals"
    /// guide: an empty 200 closes the modal; `{"response_action": "errors", "errors":
    /// {block_id: message}}` keeps it open. `Err` when Slack would show the person an error
    /// instead: not a 200, not one of those shapes, or errors keyed by anything but the view's
    /// input blocks (Slack documents only input `block_id`s as keys; the stand-in is strict).
    pub fn view_answer(
        &self,
        view_id: &str,
        status: u16,
        body: &Value,
    ) -> Result<ViewAnswer, String> {
        let mut inner = self.lock();
        let Some(view) = inner.views.iter_mut().find(|v| v.id == view_id) else {
            panic!("no view {view_id} was opened");
        };
        if status != 200 {
            return Err(format!("HTTP {status}: Slack shows the person an error"));
        }
        let answer = match body {
            Value::Null => ViewAnswer::Closed,
            Value::Object(o) if o.is_empty() => ViewAnswer::Closed,
            Value::Object(o) => match o.get("response_action").and_then(Value::as_str) {
                Some("errors") => {
                    let Some(errors) = o.get("errors").and_then(Value::as_object) else {
                        return Err(format!(
                            "response_action errors without an errors object: {body}"
                        ));
                    };
                    let inputs: Vec<&str> = view.view["blocks"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|b| b["type"] == "input")
                        .filter_map(|b| b["block_id"].as_str())
                        .collect();
                    for (key, message) in errors {
                        if !inputs.contains(&key.as_str()) {
                            return Err(format!(
                                "error for {key}, which is not an input block of the view"
                            ));
                        }
                        if !message.is_string() {
                            return Err(format!("the error for {key} is not a string"));
                        }
                    }
                    ViewAnswer::Errors(errors.clone())
                }
                Some("update" | "push") if o.get("view").is_some() => {
                    ViewAnswer::Other(body.clone())
                }
                Some("clear") => ViewAnswer::Other(body.clone()),
                _ => return Err(format!("not a response_action Slack knows: {body}")),
            },
            other => return Err(format!("not a JSON object: {other}")),
        };
        view.closed = matches!(answer, ViewAnswer::Closed)
            || body.get("response_action").and_then(Value::as_str) == Some("clear");
        Ok(answer)
    }

    /// The form body (`payload=<json>`, to be signed) Slack POSTs to the interactivity URL when
    /// the person the view `view_id` was opened for submits it after making `fields`' changes.
    /// Inputs they leave alone keep their initial values, as in Slack's `state.values`, which
    /// holds every input by `block_id` and `action_id`: a `plain_text_input` as `{type, value}`
    /// (`null` when empty), a `static_select` or `radio_buttons` as `{type, selected_option}`
    /// (`{text, value}`, or `null`) — bolt-js `ViewStateValue`.
    ///
    /// `Err` is what Slack's client tells the person instead of submitting: a required input
    /// left empty, or text outside an input's `min_length`/`max_length` (the "Plain-text input
    /// element" reference: "If the user provides more, they will receive an error").
    pub fn view_submission(
        &self,
        view_id: &str,
        fields: &[(&str, Field<'_>)],
    ) -> Result<String, String> {
        let opened = self
            .opened_views()
            .into_iter()
            .find(|v| v.id == view_id)
            .unwrap_or_else(|| panic!("no view {view_id} was opened"));
        assert!(
            !opened.closed,
            "view {view_id} was closed: no one can submit it"
        );
        for (block_id, _) in fields {
            opened.input(block_id);
        }
        let mut values = serde_json::Map::new();
        let blocks = opened.view["blocks"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for block in blocks.iter().filter(|b| b["type"] == "input") {
            let block_id = block["block_id"].as_str().unwrap_or_default();
            let element = &block["element"];
            let action_id = element["action_id"].as_str().unwrap_or_default();
            let kind = element["type"].as_str().unwrap_or_default();
            let change = fields
                .iter()
                .find(|(b, _)| *b == block_id)
                .map(|(_, f)| f.clone());
            let state = match kind {
                "plain_text_input" => {
                    let text = match change {
                        Some(Field::Text(text)) => Some(text.to_owned()),
                        Some(Field::Choose(_) | Field::Files(_) | Field::Tick(_)) => {
                            panic!("{block_id} is a text input")
                        }
                        None => element["initial_value"].as_str().map(str::to_owned),
                    }
                    .filter(|t| !t.is_empty());
                    let len = text.as_deref().map_or(0, |t| t.chars().count()) as u64;
                    if let Some(max) = element["max_length"].as_u64()
                        && len > max
                    {
                        return Err(format!("{block_id}: at most {max} characters"));
                    }
                    if let Some(min) = element["min_length"].as_u64()
                        && len > 0
                        && len < min
                    {
                        return Err(format!("{block_id}: at least {min} characters"));
                    }
                    json!({"type": kind, "value": text})
                }
                "static_select" | "radio_buttons" => {
                    let option = match change {
                        Some(Field::Choose(value)) => Some(
                            element["options"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .find(|o| o["value"] == value)
                                .cloned()
                                .unwrap_or_else(|| panic!("no option {value} in {block_id}")),
                        ),
                        Some(Field::Text(_) | Field::Files(_) | Field::Tick(_)) => {
                            panic!("{block_id} is a choice")
                        }
                        None => element.get("initial_option").cloned(),
                    };
                    // The selected option as bolt-js types it: its `text` and `value`.
                    let selected = option.map(|o| json!({"text": o["text"], "value": o["value"]}));
                    json!({"type": kind, "selected_option": selected})
                }
                // Checkboxes as bolt-js types them (`ViewStateValue.selected_options:
                // ViewStateSelectedOption[]`, each `{text, value}`), `[]` when none is ticked
                // (as in captured submissions, e.g. `"selected_options": []`).
                "checkboxes" => {
                    let options = element["options"].as_array().cloned().unwrap_or_default();
                    let ticked: Vec<Value> = match change {
                        Some(Field::Tick(values)) => {
                            for value in values {
                                assert!(
                                    options.iter().any(|o| o["value"] == *value),
                                    "no option {value} in {block_id}"
                                );
                            }
                            options
                                .iter()
                                .filter(|o| values.iter().any(|v| o["value"] == *v))
                                .cloned()
                                .collect()
                        }
                        Some(_) => panic!("{block_id} is a checkboxes group"),
                        None => element["initial_options"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default(),
                    };
                    let selected: Vec<Value> = ticked
                        .iter()
                        .map(|o| json!({"text": o["text"], "value": o["value"]}))
                        .collect();
                    json!({"type": kind, "selected_options": selected})
                }
                // Block Kit reference, "File input element": `max_files` (default 10) files,
                // each of at most 10 MB, checked by Slack's client before it submits.
                "file_input" => {
                    let files = match change {
                        Some(Field::Files(files)) => files.clone(),
                        Some(_) => panic!("{block_id} is a file input"),
                        None => Vec::new(),
                    };
                    let max = element["max_files"].as_u64().unwrap_or(10) as usize;
                    if files.len() > max {
                        return Err(format!("{block_id}: at most {max} files"));
                    }
                    if files
                        .iter()
                        .any(|f| f["size"].as_u64().unwrap_or(0) > 10 * 1024 * 1024)
                    {
                        return Err(format!("{block_id}: files are at most 10 MB"));
                    }
                    json!({"type": kind, "files": files})
                }
                other => panic!("the stand-in does not submit {other} inputs"),
            };
            let empty = state.get("value").is_some_and(Value::is_null)
                || state
                    .get("selected_options")
                    .is_some_and(|o| o.as_array().is_some_and(Vec::is_empty))
                || state.get("selected_option").is_some_and(Value::is_null)
                || state
                    .get("files")
                    .is_some_and(|f| f.as_array().is_some_and(Vec::is_empty));
            if empty && block["optional"] != true {
                return Err(format!("{block_id}: this field is required"));
            }
            values
                .entry(block_id.to_owned())
                .or_insert_with(|| json!({}))[action_id] = state;
        }
        let mut payload: Value = serde_json::from_str(VIEW_SUBMISSION_SHAPE)
            .unwrap_or_else(|e| panic!("the view_submission fixture is JSON: {e}"));
        let mut view = opened.view.clone();
        view["state"] = json!({ "values": values });
        payload["team"] = json!({"id": "T0001", "domain": "marquee-test"});
        payload["user"] = opened.user.clone();
        payload["api_app_id"] = APP_ID.into();
        payload["token"] = "legacy-verification-token".into();
        payload["trigger_id"] = issue_trigger(opened.user.clone()).into();
        payload["view"] = view;
        payload["response_urls"] = json!([]);
        payload["is_enterprise_install"] = false.into();
        payload["enterprise"] = Value::Null;
        Ok(
            serde_urlencoded::to_string([("payload", payload.to_string())])
                .unwrap_or_else(|e| panic!("a form of one string always encodes: {e}")),
        )
    }
}

/// The keys a Home tab view object may carry on input (Block Kit's "Home tab views"
/// reference, `reference/views/home-tab-views`: `type`, `blocks`, `private_metadata`,
/// `callback_id`, `external_id`); Slack's own keys are refused as in a modal.
const HOME_KEYS: &[&str] = &[
    "type",
    "blocks",
    "private_metadata",
    "callback_id",
    "external_id",
];

/// Whether `manifest/manifest.yaml` turns the Home tab on (`features.app_home.home_tab_enabled`,
/// the app manifest reference): without it `views.publish` of a `home` view answers
/// `not_enabled` ("Error returned if a `home` view is published but the Home tab isn't
/// enabled for the app", the method reference).
fn manifest_home_tab_enabled() -> bool {
    let path = super::crate_root().join("manifest/manifest.yaml");
    std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .any(|l| l.trim() == "home_tab_enabled: true")
}

/// Judges a Home tab view for `views.publish`, as [`validate_view`] judges a modal: ≤ 100
/// blocks ("You can include up to 50 blocks in each message, and 100 blocks in modals or Home
/// tabs", docs.slack.dev `reference/block-kit/blocks`), every block as Block Kit's references
/// say, the view's own keys only.
fn validate_home(view: &Value) -> Vec<String> {
    let mut v = Violations(Vec::new());
    if !view.is_object() {
        v.push("must be an object", "/view");
        return v.0;
    }
    v.only_keys(view, HOME_KEYS, "/view");
    match view.get("type").and_then(Value::as_str) {
        Some("home") => {}
        Some(other) => v.push(&format!("unsupported type: {other}"), "/view/type"),
        None => v.push("missing required field: type", "/view"),
    }
    let str_field = |key: &str| view.get(key).and_then(Value::as_str);
    v.max_len(
        str_field("private_metadata"),
        MAX_PRIVATE_METADATA,
        "/view/private_metadata",
    );
    v.max_len(
        str_field("callback_id"),
        MAX_CALLBACK_ID,
        "/view/callback_id",
    );
    match view.get("blocks").and_then(Value::as_array) {
        None => v.push("missing required field: blocks", "/view"),
        Some(blocks) => {
            v.0.extend(validate_blocks(blocks, MAX_VIEW_BLOCKS, "/view/blocks"));
            if let Some(i) = blocks.iter().position(|b| b["type"] == "input") {
                // Input blocks in a Home tab carry no submit button to send them; Marquee
                // never puts one there, and the stand-in is strict.
                v.push(
                    "input blocks are not supported here",
                    &format!("/view/blocks/{i}"),
                );
            }
        }
    }
    v.0
}

/// `views.publish`, per its method reference: `user_id` and a `view` of type `home` (JSON, a
/// JSON string in a form); `view_too_large` above 250 kB, `not_enabled` when the manifest does
/// not enable the Home tab, `invalid_arguments` with `[ERROR]` details for a view Slack refuses
/// (the reference's typical error response: `"invalid `user_id`"`). A published view replaces
/// the user's Home tab; the answer carries Slack's copy (the reference's success response).
fn publish_view(api: &SlackApi, args: &Args) -> Outcome {
    let view = match args.json("view") {
        Ok(Some(view)) => view,
        Ok(None) => {
            return Outcome::fail(
                "invalid_arguments",
                &["missing required field: view".to_string()],
            );
        }
        Err(()) => {
            return Outcome::fail(
                "invalid_arguments",
                &["must be a JSON object [json-pointer:/view]".to_string()],
            );
        }
    };
    let Some(user) = args
        .str("user_id")
        .filter(|u| u.starts_with(['U', 'W']) && u.len() > 2)
    else {
        return Outcome::fail("invalid_arguments", &["invalid `user_id`".to_string()]);
    };
    if view.to_string().len() > MAX_VIEW_BYTES {
        return Outcome::fail("view_too_large", &[]);
    }
    if view.get("type").and_then(Value::as_str) == Some("home") && !manifest_home_tab_enabled() {
        return Outcome::fail("not_enabled", &[]);
    }
    let problems = validate_home(&view);
    if !problems.is_empty() {
        return Outcome::fail("invalid_arguments", &problems);
    }
    let mut inner = api.lock();
    let id = inner
        .home_tabs
        .get(&user)
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| slack_id('V'));
    let mut copy = slack_copy(&view, &id);
    copy["state"] = json!({"values": {}});
    for key in ["close", "submit"] {
        copy[key] = Value::Null;
    }
    inner.home_tabs.insert(user, copy.clone());
    Outcome::ok(json!({ "view": copy }), &args.warnings)
}

/// The `user` object of `users.info` for a member of the stand-in's workspace, shaped as
/// `tests/fixtures/slack/users_info_admin.json` (java-slack-sdk's `users.info.json` key set).
const USER_SHAPE: &str = include_str!("../../fixtures/slack/users_info_admin.json");

/// `users.info`, per its method reference: `user` required; needs `users:read`
/// (`missing_scope` with `needed` and `provided` otherwise); `user_not_found` for anyone the
/// stand-in was not told of.
/// `files.info` (Slack's method reference): `file` → `{ok, file}`; needs `files:read`
/// (`missing_scope` otherwise, with `needed` and `provided`), `file_not_found` for an id it does
/// not hold.
fn file_info(api: &SlackApi, args: &Args, scopes: &[String]) -> Outcome {
    if !scopes.iter().any(|s| s == "files:read") {
        let mut outcome = Outcome::fail("missing_scope", &[]);
        outcome.body["needed"] = json!("files:read");
        outcome.body["provided"] = json!(scopes.join(","));
        return outcome;
    }
    let Some(id) = args.str("file").filter(|f| !f.is_empty()) else {
        return Outcome::fail("file_not_found", &[]);
    };
    match api.lock().hosted.get(&id) {
        Some((file, _)) => Outcome::ok(json!({ "file": file }), &[]),
        None => Outcome::fail("file_not_found", &[]),
    }
}

/// A hosted file's bytes at its `url_private` or `url_private_download`, for the bot token only:
/// Slack's "Working with files" says private files are fetched with the token in an
/// `Authorization: Bearer` header. Without it (or with another token) the stand-in refuses with
/// 403 (ASSUMED: Slack answers such requests with its sign-in page rather than the file; either
/// way the caller does not get the bytes). Every download is recorded as a call `files-pri`.
async fn download_file(
    State(app): State<ApiApp>,
    Path((key, _name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut inner = app.api.lock();
    let authorised = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        == Some(inner.token.as_str());
    let id = key.rsplit('-').next().unwrap_or_default().to_owned();
    let found = inner.hosted.get(&id).map(|(_, bytes)| bytes.clone());
    let (status, body) = match (authorised, found) {
        (false, _) => (StatusCode::FORBIDDEN, Vec::new()),
        (true, None) => (StatusCode::NOT_FOUND, Vec::new()),
        (true, Some(bytes)) => (StatusCode::OK, bytes),
    };
    inner.calls.push(ApiCall {
        method: "files-pri".into(),
        violations: Vec::new(),
        body: json!({"file": id}),
        auth: if authorised {
            Auth::Valid
        } else {
            Auth::Invalid
        },
        status: status.as_u16(),
        error: None,
        notes: Vec::new(),
        images: Vec::new(),
    });
    (status, body).into_response()
}

fn user_info(api: &SlackApi, args: &Args, scopes: &[String]) -> Outcome {
    if !scopes.iter().any(|s| s == "users:read") {
        let mut outcome = Outcome::fail("missing_scope", &[]);
        outcome.body["needed"] = json!("users:read");
        outcome.body["provided"] = json!(scopes.join(","));
        return outcome;
    }
    let Some(user) = args.str("user").filter(|u| !u.is_empty()) else {
        return Outcome::fail("user_not_found", &[]);
    };
    match api.lock().users.get(&user) {
        Some(found) => Outcome::ok(json!({ "user": found }), &[]),
        None => Outcome::fail("user_not_found", &[]),
    }
}

impl SlackApi {
    /// Makes `id` known to `users.info`: a person of workspace `team_id` (a Slack Connect
    /// guest when it is not [`TEAM_ID`]), an admin or owner or neither, of org `enterprise` on
    /// Grid — the shape of `users_info_admin.json` with these fields set.
    pub fn add_user(
        &self,
        id: &str,
        team_id: &str,
        admin: bool,
        owner: bool,
        enterprise: Option<&str>,
    ) {
        let shape: Value = serde_json::from_str(USER_SHAPE)
            .unwrap_or_else(|e| panic!("the users.info fixture is JSON: {e}"));
        let mut user = shape["user"].clone();
        user["id"] = json!(id);
        user["team_id"] = json!(team_id);
        user["profile"]["team"] = json!(team_id);
        user["is_admin"] = json!(admin);
        user["is_owner"] = json!(owner);
        user["is_primary_owner"] = json!(false);
        if let Some(org) = enterprise {
            user["enterprise_user"] = json!({
                "id": id, "enterprise_id": org, "enterprise_name": "Marquee Grid",
                "is_admin": admin, "is_owner": owner, "teams": [team_id],
            });
        }
        self.lock().users.insert(id.to_owned(), user);
    }

    /// Waits for a view with `callback_id` opened for `user` after `after` views were open.
    pub async fn wait_for_view_of(
        &self,
        user: &str,
        callback_id: &str,
        after: usize,
        timeout: Duration,
    ) -> Option<OpenedView> {
        super::poll(timeout, || {
            self.opened_views()
                .into_iter()
                .skip(after)
                .find(|v| v.user["id"] == user && v.callback_id() == callback_id)
        })
        .await
    }

    /// The Home tab last published for `user`, as Slack keeps it.
    pub fn home_tab(&self, user: &str) -> Option<Value> {
        self.lock().home_tabs.get(user).cloned()
    }
}

/// One execution of a workflow step, as Slack keeps it between `function_executed` and the
/// app's `functions.complete*`.
#[derive(Clone, Debug)]
pub struct Execution {
    /// The execution's own token (`event.bot_access_token`, shaped `xwfp-…` as in bolt-python
    /// `tests/scenario_tests/test_function.py`).
    pub token: String,
    /// `None` while running; then the accepted `completeSuccess` (`Ok(outputs)`) or
    /// `completeError` (`Err(error)`).
    pub completed: Option<Result<Value, String>>,
}

/// The outputs the manifest's `make_poster` step declares, and which of them are required:
/// what `functions.completeSuccess` validates `outputs` against.
fn manifest_step_outputs() -> Vec<(String, bool)> {
    let path = super::crate_root().join("manifest/manifest.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let outputs = &yaml["functions"][marquee_core::slack::events::POSTER_STEP]["output_parameters"];
    outputs
        .as_mapping()
        .into_iter()
        .flatten()
        .map(|(name, p)| {
            (
                name.as_str().unwrap_or_default().to_owned(),
                p["is_required"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// How a `functions.*` call authenticated: any token Slack issued (the bot token or an
/// execution's) is a valid token; which execution it may complete is the method's to judge.
fn execution_auth(inner: &Inner, headers: &HeaderMap, args: Option<&Args>) -> Auth {
    match given_token(headers, args) {
        None => Auth::Missing,
        Some(t) if t == inner.token || inner.executions.values().any(|e| e.token == t) => {
            Auth::Valid
        }
        Some(_) => Auth::Invalid,
    }
}

/// `functions.completeSuccess` / `functions.completeError`, per their method references
/// (docs.slack.dev `reference/methods/functions.completeSuccess`, `.completeError`):
/// - `function_execution_id` is required, and `outputs` (an object) for completeSuccess,
///   `error` (a string) for completeError: without them Slack answers `invalid_arguments`
///   (its generic error for a required argument missing or malformed);
/// - an execution Slack does not know: `function_execution_not_found`;
/// - an execution already completed or failed: `execution_not_in_running_state` ("The function
///   execution is no longer in a state to be completed"), so a step completes once;
/// - `outputs` not matching the step's `output_parameters` in the manifest (a required output
///   missing, an undeclared one): `parameter_validation_failed`.
///
/// The token: the references list bot tokens, but Bolt calls both with the execution's own
/// token (bolt-python `test_function.py` asserts `complete.client.token == "xwfp-valid"`, the
/// event's `bot_access_token`), and a workflow token is scoped to its execution. The stand-in
/// is strict: only that execution's token completes it; any other token (the bot token,
/// another execution's) is answered `invalid_auth`.
fn complete_function(api: &SlackApi, method: &str, args: &Args, token: Option<&str>) -> Outcome {
    let Some(id) = args.str("function_execution_id").filter(|s| !s.is_empty()) else {
        return Outcome::fail(
            "invalid_arguments",
            &["missing required field: function_execution_id".into()],
        );
    };
    let success = method == "functions.completeSuccess";
    let result = if success {
        match args.json("outputs") {
            Ok(Some(Value::Object(outputs))) => Ok(Value::Object(outputs)),
            _ => {
                return Outcome::fail(
                    "invalid_arguments",
                    &["missing required field: outputs".into()],
                );
            }
        }
    } else {
        match args.str("error").filter(|e| !e.trim().is_empty()) {
            Some(error) => Err(error),
            None => {
                return Outcome::fail(
                    "invalid_arguments",
                    &["missing required field: error".into()],
                );
            }
        }
    };
    let mut inner = api.lock();
    let Some(execution) = inner.executions.get_mut(&id) else {
        return Outcome::fail("function_execution_not_found", &[]);
    };
    if token != Some(execution.token.as_str()) {
        return Outcome::fail("invalid_auth", &[]);
    }
    if execution.completed.is_some() {
        return Outcome::fail("execution_not_in_running_state", &[]);
    }
    if let Ok(outputs) = &result {
        let declared = manifest_step_outputs();
        let mut problems = Vec::new();
        for (name, required) in &declared {
            if *required && outputs.get(name).is_none_or(Value::is_null) {
                problems.push(format!("missing required output: {name}"));
            }
        }
        for name in outputs.as_object().into_iter().flat_map(|o| o.keys()) {
            if !declared.iter().any(|(d, _)| d == name) {
                problems.push(format!("undeclared output: {name}"));
            }
        }
        if !problems.is_empty() {
            return Outcome::fail("parameter_validation_failed", &problems);
        }
    }
    execution.completed = Some(result);
    Outcome::ok(json!({}), &args.warnings)
}

/// `chat.getPermalink`, per its method reference: `channel` and `message_ts` required;
/// `channel_not_found` for a channel that does not exist, `message_not_found` for a ts naming
/// no message there; the answer `{channel, permalink}`, the permalink shaped as the reference's
/// example (`https://<workspace>.slack.com/archives/<channel>/p<ts without its dot>`).
fn permalink(api: &SlackApi, args: &Args) -> Outcome {
    let (Some(channel), Some(ts)) = (args.str("channel"), args.str("message_ts")) else {
        return Outcome::fail("invalid_arguments", &[]);
    };
    let inner = api.lock();
    if !inner.channels.contains_key(&channel) {
        return Outcome::fail("channel_not_found", &[]);
    }
    let known = inner
        .messages
        .get(&channel)
        .is_some_and(|m| m.iter().any(|m| m["ts"] == ts.as_str()));
    if !known {
        return Outcome::fail("message_not_found", &[]);
    }
    Outcome::ok(
        json!({
            "channel": channel,
            "permalink": format!("https://marquee-test.slack.com/archives/{channel}/p{}", ts.replace('.', "")),
        }),
        &[],
    )
}

impl SlackApi {
    /// Starts an execution of a workflow step, as Slack does before it sends
    /// `function_executed`: its `function_execution_id` and its own token.
    pub fn start_execution(&self) -> (String, String) {
        let id = format!("Fx{}", super::random_token(10).to_uppercase());
        let token = format!(
            "xwfp-{}-{}",
            fastrand::u64(1_000_000_000_000..10_000_000_000_000),
            super::random_token(32).to_lowercase()
        );
        self.lock().executions.insert(
            id.clone(),
            Execution {
                token: token.clone(),
                completed: None,
            },
        );
        (id, token)
    }

    /// The execution `id`, as it now stands.
    pub fn execution(&self, id: &str) -> Option<Execution> {
        self.lock().executions.get(id).cloned()
    }
}
