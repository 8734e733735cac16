//! Stand-in for Slack's side of a slash command: the `response_url`s Marquee posts results to.
//!
//! It behaves like Slack where Marquee can get it wrong: each URL takes at most 5 messages within
//! 30 minutes (then `expired_url`), Block Kit limits are enforced, and every image block's
//! `image_url` is downloaded while the post is handled, exactly when Slack fetches it; an
//! unreachable URL or a body that is not PNG/JPEG/GIF fails the post with `invalid_blocks` /
//! `downloading image failed`, as Slack answers. Only loopback image URLs are fetched (tests
//! never reach out); any other host counts as a failed download. Every attempt is recorded.
//!
//! The same server also plays Slack's Web API for a bot token (`chat.postMessage`, `chat.update`,
//! external file uploads); that part lives in [`super::slack_api`] and shares this file's message
//! checks, so a message is judged the same way whichever road it takes.
//!
//! It refuses what Slack refuses beyond the limits: block types and keys outside the Block Kit
//! reference, including the read-only keys of Slack's own normalised image blocks. What Slack
//! accepts but Marquee must never send (broadcast mentions, links to foreign hosts) is recorded
//! per post as a violation; [`Slack::violations`] gathers them for tests to assert on.
//!
//! It also plays Slack towards Marquee: [`Slack::normalise`] gives Slack's stored copy of a
//! message it received, [`Slack::block_actions`] a signed-ready click payload in Slack's shape
//! (`tests/fixtures/slack/`) with a `trigger_id` good for one `views.open` within 3 seconds,
//! [`super::slack_api::SlackApi::view_submission`] the payload of submitting a modal Marquee
//! opened, and the request-signing helpers sign them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::faults::FaultRules;
use super::slack_api::SlackApi;

/// Slack's limit on messages per `response_url`.
pub const POSTS_PER_URL: usize = 5;
/// How long a `response_url` stays usable.
pub const URL_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// A way for a `response_url` to misbehave.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// 500 with body `rollup_error`.
    ServerError,
    /// 404 `{"ok":false,"error":"expired_url"}` as if the URL were used up or too old.
    Expired,
    /// Wait this long before handling the post normally.
    Hang(Duration),
    /// Slack cannot download the message's images (a firewall or bucket policy in the way):
    /// a post with an image block fails with `invalid_blocks`, one without is handled normally.
    ImageFetchFails,
}

/// One image download made while handling a post.
#[derive(Clone, Debug)]
pub struct ImageFetch {
    pub url: String,
    /// HTTP status, if a response arrived.
    pub status: Option<u16>,
    pub content_type: Option<String>,
    pub bytes: Bytes,
    /// Why the download counts as failed, if it does.
    pub error: Option<String>,
}

/// One POST to a `response_url`, accepted or not.
#[derive(Clone, Debug)]
pub struct Post {
    pub url: String,
    /// The parsed JSON body, or `Value::Null` if it was not JSON.
    pub body: Value,
    pub status: u16,
    /// The Slack error code answered (`invalid_blocks`, `expired_url`, ...), if any.
    pub error: Option<String>,
    /// Details, e.g. `downloading image failed [json-pointer:/blocks/1/image_url]`.
    pub errors: Vec<String>,
    pub images: Vec<ImageFetch>,
    /// Broadcasts and foreign links in the message's mrkdwn (see [`broadcast_violations`]).
    /// Slack would accept and deliver them; tests assert there are none.
    pub violations: Vec<String>,
    /// How long the post took to answer (its image downloads included), and when it arrived.
    pub took: Duration,
    pub arrived: Instant,
}

impl Post {
    pub fn accepted(&self) -> bool {
        self.status == 200
    }
}

struct UrlState {
    created: Instant,
    accepted: usize,
    /// The channel and `ts` of the message whose action carried this URL, when the test tied
    /// it to one: a `replace_original` post replaces that message.
    message: Option<(String, String)>,
}

#[derive(Default)]
struct Inner {
    urls: HashMap<String, UrlState>,
    posts: Vec<Post>,
    rules: FaultRules<Fault>,
}

#[derive(Clone)]
struct App {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    http: reqwest::Client,
    api: SlackApi,
}

/// Handle to the Slack stand-in. Cheap to clone.
#[derive(Clone)]
pub struct Slack {
    app: App,
    api: SlackApi,
    next: Arc<AtomicU64>,
}

impl Slack {
    /// Starts the stand-in on the background runtime.
    pub fn start() -> Slack {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let http = marquee_core::net::client_builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|e| panic!("could not build the Slack stand-in's HTTP client: {e}"));
        let api = SlackApi::new();
        let addr = super::serve("slack", |addr| {
            Router::new()
                .route("/commands/{team}/{id}/{token}", post(response_url_post))
                .route("/actions/{team}/{id}/{token}", post(response_url_post))
                // A message shortcut's response_url: `https://hooks.slack.com/app/T…/…/…` (the
                // message_action example in seratch's "Slack ペイロードに含まれる response_url を
                // 完全に理解する", zenn.dev/slack/articles/256c916f71b343, and a Zapier capture).
                .route("/app/{team}/{id}/{token}", post(response_url_post))
                .with_state(App {
                    addr,
                    inner: inner.clone(),
                    http: http.clone(),
                    api: api.clone(),
                })
                .merge(api.router(format!("http://{addr}"), http.clone()))
        });
        Slack {
            app: App {
                addr,
                inner,
                http,
                api: api.clone(),
            },
            api,
            next: Arc::new(AtomicU64::new(1)),
        }
    }

    /// The Web API side of the stand-in (`base_url()` + `/api/...`): bot token, channels,
    /// messages, files, faults.
    pub fn api(&self) -> &SlackApi {
        &self.api
    }

    /// The only bot token the Web API stand-in accepts (`xoxb-test-...`).
    pub fn bot_token(&self) -> String {
        self.api.bot_token()
    }

    /// `http://127.0.0.1:PORT`, the value for `MARQUEE_RESPONSE_URL_HOSTS`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.app.addr)
    }

    /// A fresh, unique `response_url` like `http://127.0.0.1:PORT/commands/T0001/<n>/<token>`,
    /// as a slash command carries.
    pub fn response_url(&self) -> String {
        self.new_url("commands")
    }

    /// A fresh, unique `response_url` like `http://127.0.0.1:PORT/actions/T0001/<n>/<token>`,
    /// as a `block_actions` payload carries (Slack's interaction URLs live under `/actions/`).
    pub fn action_response_url(&self) -> String {
        self.new_url("actions")
    }

    /// A fresh `response_url` like `http://127.0.0.1:PORT/app/T0001/<n>/<token>`, as a message
    /// shortcut's `message_action` payload carries.
    pub fn shortcut_response_url(&self) -> String {
        self.new_url("app")
    }

    /// An action `response_url` carried by a click on the Web API stand-in's message `ts` in
    /// `channel`: posts to it are judged in that channel (a `slack_file` must be shared there),
    /// and one with `replace_original: true` replaces that message in the channel's history.
    pub fn action_response_url_for(&self, channel: &str, ts: &str) -> String {
        self.new_url_for("actions", Some((channel.to_owned(), ts.to_owned())))
    }

    fn new_url(&self, kind: &str) -> String {
        self.new_url_for(kind, None)
    }

    fn new_url_for(&self, kind: &str, message: Option<(String, String)>) -> String {
        let n = 397_700_000_000 + self.next.fetch_add(1, Ordering::Relaxed);
        let path = format!("/{kind}/T0001/{n}/{}", super::random_token(24));
        self.lock().urls.insert(
            path.clone(),
            UrlState {
                created: Instant::now(),
                accepted: 0,
                message,
            },
        );
        format!("{}{path}", self.base_url())
    }

    /// The accepted messages posted to `url`, oldest first.
    pub fn messages(&self, url: &str) -> Vec<Value> {
        self.posts(url)
            .into_iter()
            .filter(Post::accepted)
            .map(|p| p.body)
            .collect()
    }

    /// Every post to `url`, including rejected ones.
    pub fn posts(&self, url: &str) -> Vec<Post> {
        self.lock()
            .posts
            .iter()
            .filter(|p| p.url == url)
            .cloned()
            .collect()
    }

    /// Every post to any URL.
    pub fn all_posts(&self) -> Vec<Post> {
        self.lock().posts.clone()
    }

    /// Waits until `url` has at least `n` accepted messages and returns them; panics after
    /// `timeout` with everything that did arrive, rejected posts included.
    pub async fn wait_for(&self, url: &str, n: usize, timeout: Duration) -> Vec<Value> {
        let found = super::poll(timeout, || {
            let messages = self.messages(url);
            (messages.len() >= n).then_some(messages)
        })
        .await;
        match found {
            Some(messages) => messages,
            None => panic!(
                "waited {timeout:?} for {n} message(s) at a response_url; posts there: {:#?}",
                self.posts(url)
            ),
        }
    }

    /// Applies `fault` to the next `times` posts to `url`.
    pub fn fault_for(&self, url: &str, fault: Fault, times: u32) {
        let path = url
            .strip_prefix(&self.base_url())
            .unwrap_or(url)
            .to_string();
        self.lock().rules.add(path, fault, times);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.app.inner)
    }

    /// Every broadcast mention or foreign link Marquee sent, on either road (`response_url` posts
    /// and Web API calls), each prefixed with where it was seen. Tests assert this is empty.
    pub fn violations(&self) -> Vec<String> {
        let posts = self.all_posts().into_iter().flat_map(|p| {
            let url = p.url.clone();
            p.violations
                .into_iter()
                .map(move |v| format!("response_url {url}: {v}"))
        });
        let calls = self.api.api_calls().into_iter().flat_map(|c| {
            let method = c.method.clone();
            c.violations
                .into_iter()
                .map(move |v| format!("{method}: {v}"))
        });
        posts.chain(calls).collect()
    }

    /// The last successful download of `image_url` the stand-in made while accepting a message,
    /// on either road.
    fn downloaded(&self, image_url: &str) -> Option<ImageFetch> {
        let from_posts = self.all_posts().into_iter().flat_map(|p| p.images);
        let from_calls = self.api.api_calls().into_iter().flat_map(|c| c.images);
        from_posts
            .chain(from_calls)
            .filter(|f| f.url == image_url && f.error.is_none())
            .last()
    }

    /// Slack's normalised copy of `message`, a message the stand-in accepted: what Slack sends
    /// back as `message` in a `block_actions` payload (and in `conversations.history`). Every
    /// block gets a `block_id` (a made-up 5-character one when it had none), `mrkdwn` text gains
    /// `verbatim: false` and `plain_text` `emoji: true`, and every image block gains the
    /// read-only `image_width`, `image_height`, `image_bytes`, `is_animated` and `fallback`
    /// from the image Slack downloaded when the message was posted (slackapi/bolt-js#1841 shows
    /// a block before and after; tests/fixtures/slack/README.md). Reply-only fields
    /// (`response_type`, `replace_original`) are not part of a stored message and are dropped.
    ///
    /// Panics if an image in `message` was never downloaded by the stand-in: then Slack never
    /// received this message, and no one could click on it.
    pub fn normalise(&self, message: &Value) -> Value {
        let mut copy = message.clone();
        if let Some(fields) = copy.as_object_mut() {
            for key in ["response_type", "replace_original", "delete_original"] {
                fields.remove(key);
            }
        }
        let Some(blocks) = copy.get_mut("blocks").and_then(Value::as_array_mut) else {
            return copy;
        };
        for (i, block) in blocks.iter_mut().enumerate() {
            if block.get("block_id").is_none() {
                block["block_id"] = made_up_block_id(i, block).into();
            }
            if block["type"] == "image"
                && let Some(url) = block["image_url"].as_str().map(str::to_owned)
            {
                let fetch = self.downloaded(&url).unwrap_or_else(|| {
                    panic!("the stand-in never downloaded {url}: Slack never received this message")
                });
                let (w, h) = image_size(&fetch.bytes)
                    .unwrap_or_else(|| panic!("{url} was accepted but has no readable size"));
                block["image_width"] = w.into();
                block["image_height"] = h.into();
                block["image_bytes"] = fetch.bytes.len().into();
                block["is_animated"] = false.into();
                block["fallback"] = format!("{w}x{h}px image").into();
            }
            default_text_keys(block);
        }
        copy
    }

    /// The signed form body Slack would POST to Marquee's interactivity URL for `click`, in the
    /// shape of `tests/fixtures/slack/block_actions_button.json` (Slack's, per that folder's
    /// README): the user with both `username` and `name`, `enterprise: null`, `state`, and
    /// `message` as Slack's [`Self::normalise`]d copy of the message the stand-in received,
    /// never the blocks as Marquee built them.
    pub fn block_actions(&self, click: &Click<'_>) -> String {
        let mut payload: Value = match serde_json::from_str(BLOCK_ACTIONS_SHAPE) {
            Ok(p) => p,
            Err(e) => panic!("the block_actions fixture is JSON: {e}"),
        };
        let mut message = self.normalise(click.message);
        let (block_id, element) = message["blocks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|b| b["type"] == "actions")
            .find_map(|b| {
                let element = b["elements"]
                    .as_array()?
                    .iter()
                    .find(|e| e["action_id"] == click.action_id)?;
                Some((b["block_id"].clone(), element.clone()))
            })
            .unwrap_or_else(|| panic!("no {} control in {}", click.action_id, click.message));
        let action_ts = format!("{}.{:06}", unix_now(), fastrand::u32(..1_000_000));
        let action = match element["type"].as_str() {
            Some("static_select") => {
                let choice = click
                    .choice
                    .unwrap_or_else(|| panic!("a select needs a choice"));
                let option = element["options"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|o| o["value"] == choice)
                    .unwrap_or_else(|| panic!("no option {choice} in {element}"));
                json!({
                    "type": "static_select",
                    "action_id": click.action_id,
                    "block_id": block_id,
                    "selected_option": {"text": option["text"], "value": option["value"]},
                    "placeholder": element["placeholder"],
                    "action_ts": action_ts,
                })
            }
            _ => {
                let mut action = json!({
                    "action_id": click.action_id,
                    "block_id": block_id,
                    "text": element["text"],
                    "value": element["value"],
                    "type": element["type"],
                    "action_ts": action_ts,
                });
                if let Some(style) = element.get("style") {
                    action["style"] = style.clone();
                }
                action
            }
        };
        // A message posted through a response_url carries no author fields; Slack's copy does.
        for (key, value) in [
            ("type", "message"),
            ("user", "U0001MARQ"),
            ("bot_id", "B0001MARQ"),
            ("app_id", "A0001"),
            ("team", "T0001"),
            ("ts", click.ts),
        ] {
            if message.get(key).is_none() {
                message[key] = value.into();
            }
        }
        let mut container = json!({
            "type": "message",
            "message_ts": click.ts,
            "channel_id": click.channel,
            "is_ephemeral": false,
        });
        if let Some(thread_ts) = click.thread_ts {
            message["thread_ts"] = thread_ts.into();
            message["parent_user_id"] = "U0001MARQ".into();
            container["thread_ts"] = thread_ts.into();
        }
        let id = click.user.unwrap_or("U0002");
        let handle = if id == "U0002" {
            "reviewer".to_owned()
        } else {
            format!("user-{}", id.to_lowercase())
        };
        let user = json!({"id": id, "username": handle, "name": handle, "team_id": "T0001"});
        payload["user"] = user.clone();
        payload["api_app_id"] = "A0001".into();
        payload["token"] = "legacy-verification-token".into();
        payload["container"] = container;
        // Good for one `views.open` within 3 seconds, for this user, as Slack's is.
        payload["trigger_id"] = super::slack_api::issue_trigger(user).into();
        payload["team"] = json!({"id": "T0001", "domain": "marquee-test"});
        payload["enterprise"] = Value::Null;
        payload["is_enterprise_install"] = false.into();
        payload["channel"] = json!({"id": click.channel, "name": "general"});
        payload["message"] = message;
        payload["state"] = json!({"values": {}});
        payload["response_url"] = click.response_url.into();
        payload["actions"] = json!([action]);
        serde_urlencoded::to_string([("payload", payload.to_string())])
            .unwrap_or_else(|e| panic!("a form of one string always encodes: {e}"))
    }
}

/// The shape every `block_actions` payload built here copies (Slack's; see the fixture's README).
const BLOCK_ACTIONS_SHAPE: &str = include_str!("../../fixtures/slack/block_actions_button.json");

/// Someone using a control on a message the stand-in received.
pub struct Click<'a> {
    /// The message as Marquee sent it (a `response_url` body or a stored channel message).
    pub message: &'a Value,
    pub action_id: &'a str,
    /// For a select: the value of the option chosen.
    pub choice: Option<&'a str>,
    /// Where Marquee must answer (a fresh stand-in `response_url`).
    pub response_url: &'a str,
    pub channel: &'a str,
    /// The clicked message's `ts`.
    pub ts: &'a str,
    /// Its thread's root, when the clicked message is a reply.
    pub thread_ts: Option<&'a str>,
    /// Who clicks: `U0002` (a reviewer) unless another user id is given.
    pub user: Option<&'a str>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A 5-character `block_id` like the ones Slack makes up (`XDFOE`, `p9Wx+`), stable for a given
/// block so repeated normalisations agree.
fn made_up_block_id(index: usize, block: &Value) -> String {
    use std::hash::{Hash, Hasher};
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    index.hash(&mut hasher);
    block.to_string().hash(&mut hasher);
    let mut n = hasher.finish();
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// Adds the keys Slack's stored copy gives every text object: `verbatim` on `mrkdwn`, `emoji` on
/// `plain_text`.
fn default_text_keys(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            let default = match fields.get("type").and_then(Value::as_str) {
                Some("mrkdwn") if fields.contains_key("text") => Some(("verbatim", false)),
                Some("plain_text") if fields.contains_key("text") => Some(("emoji", true)),
                _ => None,
            };
            if let Some((key, v)) = default {
                fields.entry(key).or_insert(Value::Bool(v));
            }
            fields.values_mut().for_each(default_text_keys);
        }
        Value::Array(items) => items.iter_mut().for_each(default_text_keys),
        _ => {}
    }
}

/// Width and height of a PNG, GIF or JPEG, read from its header as Slack reports them.
pub fn image_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let be16 = |at: usize| {
        Some(u32::from(u16::from_be_bytes([
            *bytes.get(at)?,
            *bytes.get(at + 1)?,
        ])))
    };
    match image_kind(bytes)? {
        "png" => {
            let be32 =
                |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
            Some((be32(16)?, be32(20)?))
        }
        "gif" => {
            let le16 = |at: usize| {
                Some(u32::from(u16::from_le_bytes([
                    *bytes.get(at)?,
                    *bytes.get(at + 1)?,
                ])))
            };
            Some((le16(6)?, le16(8)?))
        }
        _ => {
            // JPEG: walk the segments to the first start-of-frame marker.
            let mut at = 2;
            loop {
                if *bytes.get(at)? != 0xFF {
                    return None;
                }
                let marker = *bytes.get(at + 1)?;
                if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
                    return Some((be16(at + 7)?, be16(at + 5)?));
                }
                at += 2 + usize::try_from(be16(at + 2)?).ok()?;
            }
        }
    }
}

// What Slack accepts but a Marquee message must never contain. Slack delivers both; neither is a
// Block Kit error, so they are recorded as violations rather than refused.

/// Special mentions that notify everyone in a channel or workspace, or a whole user group
/// (Slack's "Formatting text for app surfaces" reference: `<!here>`, `<!channel>`,
/// `<!everyone>`, `<!subteam^ID>`). Marquee never broadcasts, so one in its output came from
/// user text that was not escaped (`&`, `<`, `>` → `&amp;`, `&lt;`, `&gt;`, the same page).
const BROADCASTS: &[&str] = &["!channel", "!here", "!everyone", "!subteam^"];

/// Broadcast mentions and links to foreign hosts in every field Slack parses as mrkdwn: the
/// top-level `text` (the notification text), `initial_comment` (a file's message) and every
/// `mrkdwn` text object in `blocks` (an array, or a JSON string as form arguments carry it).
/// A link (`<https://host/…|label>`) counts when its host is not loopback: Marquee links only its
/// own store, which in tests always listens on loopback, so any other link target was typed by a
/// user and would be rendered as a disguised link.
pub fn broadcast_violations(body: &Value) -> Vec<String> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for key in ["text", "initial_comment"] {
        if let Some(text) = body.get(key).and_then(Value::as_str) {
            fields.push((format!("/{key}"), text.to_owned()));
        }
    }
    let blocks = match body.get("blocks") {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    collect_mrkdwn(&blocks, "/blocks", &mut fields);
    let mut found = Vec::new();
    for (pointer, text) in fields {
        let mut rest = text.as_str();
        while let Some(open) = rest.find('<') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('>') else { break };
            let inner = &after[..close];
            rest = &after[close + 1..];
            if BROADCASTS.iter().any(|b| inner.starts_with(b)) {
                found.push(format!(
                    "broadcast mention <{inner}> [json-pointer:{pointer}]"
                ));
                continue;
            }
            let target = inner.split('|').next().unwrap_or_default();
            if target.starts_with("http://") || target.starts_with("https://") {
                let host = url::Url::parse(target)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned));
                if !matches!(host.as_deref(), Some("127.0.0.1" | "localhost" | "[::1]")) {
                    found.push(format!(
                        "link to a foreign host <{inner}> [json-pointer:{pointer}]"
                    ));
                }
            }
        }
    }
    found
}

fn collect_mrkdwn(value: &Value, pointer: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(fields) => {
            if fields.get("type").and_then(Value::as_str) == Some("mrkdwn")
                && let Some(text) = fields.get("text").and_then(Value::as_str)
            {
                out.push((format!("{pointer}/text"), text.to_owned()));
            }
            for (key, v) in fields {
                collect_mrkdwn(v, &format!("{pointer}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_mrkdwn(v, &format!("{pointer}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // A test that panicked while holding the lock must not break every later test.
    inner.lock().unwrap_or_else(|p| p.into_inner())
}

/// The outcome of one post before it is recorded.
struct Outcome {
    status: StatusCode,
    error: Option<String>,
    errors: Vec<String>,
    images: Vec<ImageFetch>,
}

impl Outcome {
    fn ok(images: Vec<ImageFetch>) -> Outcome {
        Outcome {
            status: StatusCode::OK,
            error: None,
            errors: Vec::new(),
            images,
        }
    }

    fn fail(status: StatusCode, error: &str, errors: Vec<String>) -> Outcome {
        Outcome {
            status,
            error: Some(error.to_string()),
            errors,
            images: Vec::new(),
        }
    }

    fn response(&self) -> Response {
        let body = match &self.error {
            None => json!({"ok": true}),
            Some(error) if self.errors.is_empty() => json!({"ok": false, "error": error}),
            Some(error) => json!({
                "ok": false,
                "error": error,
                "errors": self.errors,
                "response_metadata": {
                    "messages": self.errors.iter().map(|e| format!("[ERROR] {e}")).collect::<Vec<_>>(),
                },
            }),
        };
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body.to_string(),
        )
            .into_response()
    }
}

/// A post to a `response_url`. Slack finishes what it received whether or not the sender waits
/// for the answer, so the post is handled on a task of its own: a sender that stops waiting (a
/// client timeout while Slack fetches a slow image) drops only its answer, never the post.
async fn response_url_post(State(app): State<App>, uri: Uri, body: Bytes) -> Response {
    tokio::spawn(handle_response_url_post(app, uri, body))
        .await
        .unwrap_or_else(|e| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the stand-in failed: {e}"),
            )
                .into_response()
        })
}

async fn handle_response_url_post(app: App, uri: Uri, body: Bytes) -> Response {
    let arrived = Instant::now();
    let path = uri.path().to_string();
    let url = format!("http://{}{path}", app.addr);
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let fault = take_fault(&app.inner, &path);
    let outcome = handle(&app, &path, &body, &parsed, fault.as_ref()).await;
    let response = outcome.response();
    let violations = broadcast_violations(&parsed);
    lock(&app.inner).posts.push(Post {
        url,
        body: parsed,
        status: outcome.status.as_u16(),
        error: outcome.error,
        errors: outcome.errors,
        images: outcome.images,
        violations,
        took: arrived.elapsed(),
        arrived,
    });
    response
}

async fn handle(app: &App, path: &str, raw: &[u8], body: &Value, fault: Option<&Fault>) -> Outcome {
    match fault {
        Some(Fault::ServerError) => {
            return Outcome::fail(StatusCode::INTERNAL_SERVER_ERROR, "rollup_error", vec![]);
        }
        Some(Fault::Expired) => return Outcome::fail(StatusCode::NOT_FOUND, "expired_url", vec![]),
        Some(Fault::Hang(duration)) => tokio::time::sleep(*duration).await,
        Some(Fault::ImageFetchFails) => {
            let image_at = body["blocks"]
                .as_array()
                .and_then(|blocks| blocks.iter().position(|b| b["type"] == "image"));
            if let Some(i) = image_at {
                return Outcome::fail(
                    StatusCode::BAD_REQUEST,
                    "invalid_blocks",
                    vec![format!(
                        "downloading image failed [json-pointer:/blocks/{i}/image_url]"
                    )],
                );
            }
        }
        None => {}
    }
    {
        let inner = lock(&app.inner);
        match inner.urls.get(path) {
            Some(state)
                if state.accepted < POSTS_PER_URL && state.created.elapsed() < URL_LIFETIME => {}
            _ => return Outcome::fail(StatusCode::NOT_FOUND, "expired_url", vec![]),
        }
    }
    if serde_json::from_slice::<Value>(raw).is_err() || !body.is_object() {
        return Outcome::fail(StatusCode::BAD_REQUEST, "invalid_payload", vec![]);
    }
    // Slack itself only warns (`missing_text`) when a fallback is missing; Marquee promises one,
    // so the stand-in fails the post instead. Deleting needs no text.
    let needs_text = body.get("delete_original").and_then(Value::as_bool) != Some(true);
    let images = match check_message(&app.http, body, needs_text).await {
        Ok(images) => images,
        Err(rejection) => {
            let mut outcome =
                Outcome::fail(StatusCode::BAD_REQUEST, rejection.error, rejection.errors);
            outcome.images = rejection.images;
            return outcome;
        }
    };

    // A `slack_file` is judged as on the Web API road, in the channel of the message the URL
    // came from when the stand-in knows it.
    let message = lock(&app.inner)
        .urls
        .get(path)
        .and_then(|state| state.message.clone());
    let file_errors = app
        .api
        .slack_file_errors(body, message.as_ref().map(|(channel, _)| channel.as_str()));
    if !file_errors.is_empty() {
        return Outcome::fail(StatusCode::BAD_REQUEST, "invalid_blocks", file_errors);
    }

    {
        let mut inner = lock(&app.inner);
        match inner.urls.get_mut(path) {
            // Counted at acceptance so two racing posts cannot both be the fifth.
            Some(state) if state.accepted < POSTS_PER_URL => state.accepted += 1,
            _ => return Outcome::fail(StatusCode::NOT_FOUND, "expired_url", vec![]),
        }
    }
    if body.get("replace_original").and_then(Value::as_bool) == Some(true)
        && let Some((channel, ts)) = &message
    {
        app.api.replace_original(channel, ts, body);
    }
    Outcome::ok(images)
}

/// Why a message was refused: Slack's error code and its `[json-pointer:...]` details.
#[derive(Debug)]
pub(crate) struct Rejection {
    pub error: &'static str,
    pub errors: Vec<String>,
    /// Downloads made before the refusal (an image that failed is among them).
    pub images: Vec<ImageFetch>,
}

/// Judges a message body (`text`, `blocks`) as Slack does when it is posted, whichever way it
/// comes (`response_url` or `chat.postMessage`/`chat.update`/file comments): Block Kit limits
/// first, then the text fallback when `needs_text`, then every image block's `image_url` is
/// downloaded, because Slack fetches it at post time and refuses the message if it cannot.
pub(crate) async fn check_message(
    http: &reqwest::Client,
    body: &Value,
    needs_text: bool,
) -> Result<Vec<ImageFetch>, Rejection> {
    if let Err(errors) = validate(body) {
        return Err(Rejection {
            error: "invalid_blocks",
            errors,
            images: Vec::new(),
        });
    }
    if needs_text
        && body
            .get("text")
            .and_then(Value::as_str)
            .is_none_or(|t| t.trim().is_empty())
    {
        return Err(Rejection {
            error: "no_text",
            errors: vec!["a plain `text` fallback is required alongside blocks".into()],
            images: Vec::new(),
        });
    }

    let mut images = Vec::new();
    let mut errors = Vec::new();
    let blocks = body.get("blocks").and_then(Value::as_array);
    for (i, block) in blocks.into_iter().flatten().enumerate() {
        if block.get("type").and_then(Value::as_str) != Some("image") {
            continue;
        }
        let Some(image_url) = block.get("image_url").and_then(Value::as_str) else {
            continue;
        };
        let fetch = download(http, image_url).await;
        if fetch.error.is_some() {
            errors.push(format!(
                "downloading image failed [json-pointer:/blocks/{i}/image_url]"
            ));
        }
        images.push(fetch);
    }
    if errors.is_empty() {
        Ok(images)
    } else {
        Err(Rejection {
            error: "invalid_blocks",
            errors,
            images,
        })
    }
}

/// Takes one use of the first fault rule for `path`.
fn take_fault(inner: &Mutex<Inner>, path: &str) -> Option<Fault> {
    lock(inner).rules.take(|p| p == path)
}

// Block Kit limits, as Slack documents them (docs.slack.dev/reference/block-kit/...). The block
// count, `block_id` length and actions element count also appear in Slack's Block Kit JSON schema
// (`https://api.slack.com/json-schema/block-kit/input/blocks`: `maxItems` 50, `block_id`
// `maxLength` 255, actions `elements` 1..=25).

/// Blocks per message (`.../blocks`).
pub const MAX_BLOCKS: usize = 50;
/// Any block's `block_id` (`.../blocks`, "Maximum length for this field is 255 characters").
pub const MAX_BLOCK_ID: usize = 255;
/// Section `text` (`.../blocks/section-block`).
pub const MAX_SECTION_TEXT: usize = 3000;
/// Section `fields`: at most 10 items of at most 2000 characters each (`.../blocks/section-block`).
pub const MAX_SECTION_FIELDS: usize = 10;
pub const MAX_SECTION_FIELD_TEXT: usize = 2000;
/// Header `text` (`.../blocks/header-block`).
pub const MAX_HEADER_TEXT: usize = 150;
/// Elements in an actions block (`.../blocks/actions-block`; it was 5 until Slack raised it).
pub const MAX_ACTIONS_ELEMENTS: usize = 25;
/// Any interactive element's `action_id` (`.../block-elements/button-element` and the others).
pub const MAX_ACTION_ID: usize = 255;
/// Button `text.text`, `value` and `url` (`.../block-elements/button-element`).
pub const MAX_BUTTON_TEXT: usize = 75;
pub const MAX_BUTTON_VALUE: usize = 2000;
pub const MAX_URL: usize = 3000;
/// Static select `options`/`option_groups` and `placeholder`
/// (`.../block-elements/select-menu-element`).
pub const MAX_SELECT_OPTIONS: usize = 100;
pub const MAX_PLACEHOLDER: usize = 150;
/// Option object `text` and `value` (`.../composition-objects/option-object`; older copies of
/// the docs and `@slack/types` still say 75 for `value`, the current page says 150).
pub const MAX_OPTION_TEXT: usize = 75;
pub const MAX_OPTION_VALUE: usize = 150;
/// An input block's `label` and `hint` (`.../blocks/input-block`).
pub const MAX_INPUT_LABEL: usize = 2000;
/// Radio buttons' `options` (`.../block-elements/radio-button-group-element`; @slack/types:
/// "A maximum of 10 options are allowed").
pub const MAX_RADIO_OPTIONS: usize = 10;
/// Checkboxes' `options` (`.../block-elements/checkboxes-element`: "A maximum of 10 options are
/// allowed"; @slack/types `Checkboxes`).
pub const MAX_CHECKBOX_OPTIONS: usize = 10;
/// A plain-text input's `min_length`/`max_length` bound (`.../block-elements/
/// plain-text-input-element`: "between 1 and 3000, inclusive").
pub const MAX_TEXT_INPUT_LENGTH: u64 = 3000;

/// Every block type in the Block Kit reference ("Blocks" page and one page per block), with the
/// keys each accepts on input. Slack refuses any other type, and any other key, with
/// `invalid_blocks`. The image block's list is the reference's ("Image block": `type`,
/// `image_url` or `slack_file`, `alt_text`, `title`, `block_id`); Slack's normalised copy of a
/// posted image block adds `image_width`, `image_height`, `image_bytes`, `is_animated` and
/// `fallback`, which are read-only: posting them back fails with `invalid_blocks` ("additional
/// invalid properties", slackapi/bolt-js#1841). So a message rebuilt from a payload's
/// `message.blocks` is refused here as Slack refuses it.
const BLOCK_KEYS: &[(&str, &[&str])] = &[
    ("actions", &["type", "block_id", "elements"]),
    ("context", &["type", "block_id", "elements"]),
    ("context_actions", &["type", "block_id", "elements"]),
    ("divider", &["type", "block_id"]),
    ("file", &["type", "block_id", "external_id", "source"]),
    ("header", &["type", "block_id", "text"]),
    (
        "image",
        &[
            "type",
            "block_id",
            "image_url",
            "slack_file",
            "alt_text",
            "title",
        ],
    ),
    (
        "input",
        &[
            "type",
            "block_id",
            "label",
            "element",
            "dispatch_action",
            "hint",
            "optional",
        ],
    ),
    ("markdown", &["type", "block_id", "text"]),
    ("rich_text", &["type", "block_id", "elements"]),
    (
        "section",
        &["type", "block_id", "text", "fields", "accessory", "expand"],
    ),
    ("table", &["type", "block_id", "rows", "column_settings"]),
    (
        "video",
        &[
            "type",
            "block_id",
            "alt_text",
            "author_name",
            "description",
            "provider_icon_url",
            "provider_name",
            "title",
            "title_url",
            "thumbnail_url",
            "video_url",
        ],
    ),
];

/// The keys of the elements Marquee sends, per the Block Kit reference pages "Button element",
/// "Select menu element" (static) and "Option object"; anything else is refused like an unknown
/// block key.
const BUTTON_KEYS: &[&str] = &[
    "type",
    "text",
    "action_id",
    "url",
    "value",
    "style",
    "confirm",
    "accessibility_label",
];
const STATIC_SELECT_KEYS: &[&str] = &[
    "type",
    "action_id",
    "options",
    "option_groups",
    "initial_option",
    "confirm",
    "focus_on_load",
    "placeholder",
];
const OPTION_KEYS: &[&str] = &["text", "value", "description", "url"];
/// "Checkboxes element" reference: `type`, `action_id`, `options`, `initial_options`,
/// `confirm`, `focus_on_load`.
const CHECKBOXES_KEYS: &[&str] = &[
    "type",
    "action_id",
    "options",
    "initial_options",
    "confirm",
    "focus_on_load",
];
/// "Radio button group element" reference.
const RADIO_BUTTONS_KEYS: &[&str] = &[
    "type",
    "action_id",
    "options",
    "initial_option",
    "confirm",
    "focus_on_load",
];
/// "Plain-text input element" reference.
const PLAIN_TEXT_INPUT_KEYS: &[&str] = &[
    "type",
    "action_id",
    "initial_value",
    "multiline",
    "min_length",
    "max_length",
    "dispatch_action_config",
    "focus_on_load",
    "placeholder",
];
/// The elements an input block holds ("Input block" reference, "element": "See above for full
/// list").
const INPUT_ELEMENTS: &[&str] = &[
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "email_text_input",
    "file_input",
    "multi_static_select",
    "multi_external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
    "number_input",
    "plain_text_input",
    "radio_buttons",
    "rich_text_input",
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "timepicker",
    "url_text_input",
];

/// Collects Block Kit violations in Slack's own wording, each with a JSON pointer.
pub(crate) struct Violations(pub(crate) Vec<String>);

impl Violations {
    /// Refuses every key of `object` not in `keys`.
    pub(crate) fn only_keys(&mut self, object: &Value, keys: &[&str], pointer: &str) {
        for key in object.as_object().into_iter().flat_map(|o| o.keys()) {
            if !keys.contains(&key.as_str()) {
                self.push(
                    &format!("invalid additional property: {key}"),
                    &format!("{pointer}/{key}"),
                );
            }
        }
    }

    pub(crate) fn push(&mut self, what: &str, pointer: &str) {
        self.0.push(format!("{what} [json-pointer:{pointer}]"));
    }

    /// Checks a string against a limit of `max` characters (Slack counts characters, not bytes).
    pub(crate) fn max_len(&mut self, value: Option<&str>, max: usize, pointer: &str) {
        if value.is_some_and(|v| v.chars().count() > max) {
            self.push(
                &format!("must be less than {} characters", max + 1),
                pointer,
            );
        }
    }

    /// A text object that must be `plain_text`, with text of at most `max` characters.
    pub(crate) fn plain_text(&mut self, object: &Value, max: usize, pointer: &str) {
        if object.get("type").and_then(Value::as_str) != Some("plain_text") {
            self.push(
                "must be a plain_text text object",
                &format!("{pointer}/type"),
            );
        }
        match text_of(object) {
            None => self.push("missing required field: text", pointer),
            Some(text) => self.max_len(Some(text), max, &format!("{pointer}/text")),
        }
    }

    fn max_items(&mut self, items: Option<&Vec<Value>>, max: usize, pointer: &str) {
        if items.is_some_and(|items| items.len() > max) {
            self.push(&format!("no more than {max} items allowed"), pointer);
        }
    }
}

fn text_of(v: &Value) -> Option<&str> {
    v.get("text").and_then(Value::as_str)
}

/// Block Kit limits Marquee could break; each violation is reported with a JSON pointer.
fn validate(body: &Value) -> Result<(), Vec<String>> {
    let Some(blocks) = body.get("blocks") else {
        return Ok(());
    };
    let Some(blocks) = blocks.as_array() else {
        return Err(vec!["must be an array [json-pointer:/blocks]".into()]);
    };
    let errors = validate_blocks(blocks, MAX_BLOCKS, "/blocks");
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Judges `blocks` (at JSON pointer `pointer`: `/blocks` in a message, `/view/blocks` in a
/// view), allowing at most `max_blocks` of them (50 in a message, 100 in a modal).
pub(crate) fn validate_blocks(blocks: &[Value], max_blocks: usize, pointer: &str) -> Vec<String> {
    let mut v = Violations(Vec::new());
    if blocks.len() > max_blocks {
        v.push(&format!("no more than {max_blocks} items allowed"), pointer);
    }
    for (i, block) in blocks.iter().enumerate() {
        let at = format!("{pointer}/{i}");
        if let Some(kind) = block.get("type").and_then(Value::as_str) {
            match BLOCK_KEYS.iter().find(|(k, _)| *k == kind) {
                None => {
                    v.push(&format!("unsupported type: {kind}"), &format!("{at}/type"));
                    continue;
                }
                Some((_, keys)) => v.only_keys(block, keys, &at),
            }
        }
        v.max_len(
            block.get("block_id").and_then(Value::as_str),
            MAX_BLOCK_ID,
            &format!("{at}/block_id"),
        );
        match block.get("type").and_then(Value::as_str) {
            Some("image") => {
                let url = block.get("image_url").and_then(Value::as_str);
                if url.is_none() && block.get("slack_file").is_none() {
                    v.push("missing required field: image_url", &at);
                }
                v.max_len(url, 3000, &format!("{at}/image_url"));
                match block.get("alt_text").and_then(Value::as_str) {
                    None => v.push("missing required field: alt_text", &at),
                    Some(alt) => v.max_len(Some(alt), 2000, &format!("{at}/alt_text")),
                }
                v.max_len(
                    block.get("title").and_then(text_of),
                    2000,
                    &format!("{at}/title/text"),
                );
            }
            Some("section") => {
                v.max_len(
                    block.get("text").and_then(text_of),
                    MAX_SECTION_TEXT,
                    &format!("{at}/text/text"),
                );
                let fields = block.get("fields").and_then(Value::as_array);
                if block.get("text").is_none() && fields.is_none() {
                    v.push("must provide text or fields", &at);
                }
                v.max_items(fields, MAX_SECTION_FIELDS, &format!("{at}/fields"));
                for (j, field) in fields.into_iter().flatten().enumerate() {
                    v.max_len(
                        text_of(field),
                        MAX_SECTION_FIELD_TEXT,
                        &format!("{at}/fields/{j}/text"),
                    );
                }
                if let Some(accessory) = block.get("accessory") {
                    validate_element(&mut v, accessory, &format!("{at}/accessory"));
                }
            }
            Some("header") => v.max_len(
                block.get("text").and_then(text_of),
                MAX_HEADER_TEXT,
                &format!("{at}/text/text"),
            ),
            Some("actions") => match block.get("elements").and_then(Value::as_array) {
                None => v.push("missing required field: elements", &at),
                Some(elements) if elements.is_empty() => {
                    v.push("must provide at least 1 items", &format!("{at}/elements"))
                }
                Some(elements) => {
                    v.max_items(
                        Some(elements),
                        MAX_ACTIONS_ELEMENTS,
                        &format!("{at}/elements"),
                    );
                    for (j, element) in elements.iter().enumerate() {
                        validate_element(&mut v, element, &format!("{at}/elements/{j}"));
                    }
                }
            },
            Some("input") => {
                // The "Input block" reference: `label` (plain_text, ≤ 2000) and `element` are
                // required, `hint` is plain_text ≤ 2000, and only input elements fit.
                match block.get("label") {
                    None => v.push("missing required field: label", &at),
                    Some(label) => v.plain_text(label, MAX_INPUT_LABEL, &format!("{at}/label")),
                }
                if let Some(hint) = block.get("hint") {
                    v.plain_text(hint, MAX_INPUT_LABEL, &format!("{at}/hint"));
                }
                match block.get("element") {
                    None => v.push("missing required field: element", &at),
                    Some(element) => {
                        let kind = element
                            .get("type")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        if !INPUT_ELEMENTS.contains(&kind) {
                            v.push(
                                &format!("unsupported type: {kind}"),
                                &format!("{at}/element/type"),
                            );
                        }
                        validate_element(&mut v, element, &format!("{at}/element"));
                    }
                }
            }
            Some(_) => {}
            None => v.push("missing required field: type", &at),
        }
    }
    v.0
}

/// The interactive elements Marquee may send (buttons, static selects); others pass unchecked.
fn validate_element(v: &mut Violations, element: &Value, at: &str) {
    let str_field = |name: &str| element.get(name).and_then(Value::as_str);
    v.max_len(
        str_field("action_id"),
        MAX_ACTION_ID,
        &format!("{at}/action_id"),
    );
    match str_field("type") {
        Some("button") => {
            v.only_keys(element, BUTTON_KEYS, at);
            match element.get("text").and_then(text_of) {
                None => v.push("missing required field: text", at),
                Some(text) => v.max_len(Some(text), MAX_BUTTON_TEXT, &format!("{at}/text/text")),
            }
            v.max_len(str_field("value"), MAX_BUTTON_VALUE, &format!("{at}/value"));
            v.max_len(str_field("url"), MAX_URL, &format!("{at}/url"));
        }
        Some("static_select") => {
            v.only_keys(element, STATIC_SELECT_KEYS, at);
            v.max_len(
                element.get("placeholder").and_then(text_of),
                MAX_PLACEHOLDER,
                &format!("{at}/placeholder/text"),
            );
            let options = element.get("options").and_then(Value::as_array);
            let groups = element.get("option_groups").and_then(Value::as_array);
            if options.is_none() && groups.is_none() {
                v.push("must provide options or option_groups", at);
            }
            v.max_items(options, MAX_SELECT_OPTIONS, &format!("{at}/options"));
            v.max_items(groups, MAX_SELECT_OPTIONS, &format!("{at}/option_groups"));
            for (k, option) in options.into_iter().flatten().enumerate() {
                validate_option(v, option, &format!("{at}/options/{k}"));
            }
            for (g, group) in groups.into_iter().flatten().enumerate() {
                let options = group.get("options").and_then(Value::as_array);
                v.max_items(
                    options,
                    MAX_SELECT_OPTIONS,
                    &format!("{at}/option_groups/{g}/options"),
                );
                for (k, option) in options.into_iter().flatten().enumerate() {
                    validate_option(v, option, &format!("{at}/option_groups/{g}/options/{k}"));
                }
            }
            if let Some(initial) = element.get("initial_option") {
                validate_option(v, initial, &format!("{at}/initial_option"));
                // "A single option that exactly matches one of the options within `options` or
                // `option_groups`" (@slack/types `StaticSelect.initial_option`; the "Select menu
                // element" reference).
                let grouped = groups
                    .into_iter()
                    .flatten()
                    .filter_map(|g| g.get("options").and_then(Value::as_array))
                    .flatten();
                if !options
                    .into_iter()
                    .flatten()
                    .chain(grouped)
                    .any(|o| o == initial)
                {
                    v.push(
                        "must match one of the options",
                        &format!("{at}/initial_option"),
                    );
                }
            }
        }
        Some("radio_buttons") => {
            // The "Radio button group element" reference and @slack/types `RadioButtons`:
            // `options` (1 to 10), `initial_option` exactly one of them.
            v.only_keys(element, RADIO_BUTTONS_KEYS, at);
            match element.get("options").and_then(Value::as_array) {
                None => v.push("missing required field: options", at),
                Some(options) => {
                    if options.is_empty() {
                        v.push("must provide at least 1 items", &format!("{at}/options"));
                    }
                    v.max_items(Some(options), MAX_RADIO_OPTIONS, &format!("{at}/options"));
                    for (k, option) in options.iter().enumerate() {
                        validate_option(v, option, &format!("{at}/options/{k}"));
                    }
                    if let Some(initial) = element.get("initial_option") {
                        validate_option(v, initial, &format!("{at}/initial_option"));
                        if !options.contains(initial) {
                            v.push(
                                "must match one of the options",
                                &format!("{at}/initial_option"),
                            );
                        }
                    }
                }
            }
        }
        Some("checkboxes") => {
            // The "Checkboxes element" reference and @slack/types `Checkboxes`: `options` (at
            // most 10), `initial_options` "an array of option objects that exactly matches one
            // or more of the options within `options`".
            v.only_keys(element, CHECKBOXES_KEYS, at);
            match element.get("options").and_then(Value::as_array) {
                None => v.push("missing required field: options", at),
                Some(options) => {
                    if options.is_empty() {
                        v.push("must provide at least 1 items", &format!("{at}/options"));
                    }
                    v.max_items(
                        Some(options),
                        MAX_CHECKBOX_OPTIONS,
                        &format!("{at}/options"),
                    );
                    for (k, option) in options.iter().enumerate() {
                        validate_option(v, option, &format!("{at}/options/{k}"));
                        if let Some(description) = option.get("description") {
                            v.plain_text(
                                description,
                                MAX_OPTION_TEXT,
                                &format!("{at}/options/{k}/description"),
                            );
                        }
                    }
                    for (k, initial) in element
                        .get("initial_options")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .enumerate()
                    {
                        if !options.contains(initial) {
                            v.push(
                                "must match one of the options",
                                &format!("{at}/initial_options/{k}"),
                            );
                        }
                    }
                }
            }
        }
        Some("plain_text_input") => {
            // The "Plain-text input element" reference: `min_length` 0..=3000, `max_length`
            // 1..=3000, a placeholder ≤ 150.
            v.only_keys(element, PLAIN_TEXT_INPUT_KEYS, at);
            let number = |name: &str| element.get(name).map(|n| n.as_u64());
            let max = match number("max_length") {
                None => None,
                Some(Some(n)) if (1..=MAX_TEXT_INPUT_LENGTH).contains(&n) => Some(n),
                Some(_) => {
                    v.push(
                        &format!("must be between 1 and {MAX_TEXT_INPUT_LENGTH}"),
                        &format!("{at}/max_length"),
                    );
                    None
                }
            };
            let min = match number("min_length") {
                None => None,
                Some(Some(n)) if n <= MAX_TEXT_INPUT_LENGTH => Some(n),
                Some(_) => {
                    v.push(
                        &format!("must be between 0 and {MAX_TEXT_INPUT_LENGTH}"),
                        &format!("{at}/min_length"),
                    );
                    None
                }
            };
            // Not in the reference: a field that could never be valid, or one pre-filled with
            // text its own limit refuses. Slack's behaviour is undocumented, so the stand-in
            // is strict (this file's rule).
            if let (Some(min), Some(max)) = (min, max)
                && min > max
            {
                v.push(
                    "min_length must not exceed max_length",
                    &format!("{at}/min_length"),
                );
            }
            if let (Some(initial), Some(max)) = (str_field("initial_value"), max)
                && initial.chars().count() as u64 > max
            {
                v.push(
                    &format!("must be no longer than max_length ({max})"),
                    &format!("{at}/initial_value"),
                );
            }
            if let Some(placeholder) = element.get("placeholder") {
                v.plain_text(placeholder, MAX_PLACEHOLDER, &format!("{at}/placeholder"));
            }
        }
        Some(_) => {}
        None => v.push("missing required field: type", at),
    }
}

fn validate_option(v: &mut Violations, option: &Value, at: &str) {
    v.only_keys(option, OPTION_KEYS, at);
    match option.get("text").and_then(text_of) {
        None => v.push("missing required field: text", at),
        Some(text) => v.max_len(Some(text), MAX_OPTION_TEXT, &format!("{at}/text/text")),
    }
    match option.get("value").and_then(Value::as_str) {
        None => v.push("missing required field: value", at),
        Some(value) => v.max_len(Some(value), MAX_OPTION_VALUE, &format!("{at}/value")),
    }
}

/// The `type` of the problem document `cargo lambda watch` answers with when it could not run
/// the function (Marquee's own errors are `{"error", "message"}` objects).
pub(crate) const EMULATOR_PROBLEM: &str = "https://httpstatuses.com/500";

/// Fetches an image the way Slack does at post time; only loopback hosts are contacted.
async fn download(http: &reqwest::Client, image_url: &str) -> ImageFetch {
    let mut fetch = ImageFetch {
        url: image_url.to_string(),
        status: None,
        content_type: None,
        bytes: Bytes::new(),
        error: None,
    };
    let loopback = url::Url::parse(image_url).ok().is_some_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
    });
    if !loopback {
        fetch.error = Some("not a loopback http(s) URL; the stand-in fetches nothing else".into());
        return fetch;
    }
    // `cargo lambda watch` answers 500 with its own problem document when it could not run the
    // function for a request (an instance that failed to start or to answer) — an emulator
    // failure API Gateway and Lambda have no counterpart to, seen about once per full stack run
    // on two cores. Under the same load its local HTTP server has also dropped a connection
    // (a send error with no answer at all). One retry keeps either from failing an unrelated
    // test; a function that really fails fails again, and the second answer is what is judged.
    let mut attempt = 0;
    let response = loop {
        attempt += 1;
        let response = match http.get(image_url).send().await {
            Ok(r) => r,
            Err(e) => {
                // Without the link's query (its signature), as in every log line.
                let e = e.without_url();
                let mut chain = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    chain.push_str(&format!(": {s}"));
                    source = s.source();
                }
                if attempt == 1 {
                    let path = image_url.split('?').next().unwrap_or_default();
                    eprintln!("fetching {path} failed: {chain}; retrying once");
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                    continue;
                }
                fetch.error = Some(format!("request failed: {chain}"));
                return fetch;
            }
        };
        if attempt == 1 && response.status() == reqwest::StatusCode::INTERNAL_SERVER_ERROR {
            let body = response.bytes().await.unwrap_or_default();
            if body
                .windows(EMULATOR_PROBLEM.len())
                .any(|w| w == EMULATOR_PROBLEM.as_bytes())
            {
                let path = image_url.split('?').next().unwrap_or_default();
                eprintln!(
                    "cargo lambda watch answered its own 500 for {path}: {}; retrying once",
                    String::from_utf8_lossy(&body)
                );
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                continue;
            }
            fetch.status = Some(500);
            fetch.bytes = body;
            fetch.error = Some("HTTP 500".into());
            return fetch;
        }
        break response;
    };
    fetch.status = Some(response.status().as_u16());
    fetch.content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let ok_status = response.status().is_success();
    match response.bytes().await {
        Ok(bytes) => fetch.bytes = bytes,
        Err(e) => {
            fetch.error = Some(format!("reading the body failed: {e}"));
            return fetch;
        }
    }
    if !ok_status {
        fetch.error = Some(format!("HTTP {}", fetch.status.unwrap_or_default()));
    } else if image_kind(&fetch.bytes).is_none() {
        fetch.error = Some("the body is not a PNG, JPEG or GIF".into());
    }
    fetch
}

/// Sniffs the formats Slack renders in image blocks.
pub fn image_kind(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("gif")
    } else {
        None
    }
}

/// `X-Slack-Signature` for `body` sent at `timestamp` (unix seconds): `v0=` + hex HMAC-SHA256
/// of `v0:{timestamp}:{body}`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(e) => panic!("HMAC accepts keys of any length: {e}"),
    };
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// The form body Slack posts for `/poster <text>`, with `response_url`.
pub fn slash_command_body(text: &str, response_url: &str) -> String {
    let trigger = super::slack_api::issue_trigger(
        json!({"id": "U0001", "username": "tester", "name": "tester", "team_id": "T0001"}),
    );
    serde_urlencoded::to_string([
        ("token", "legacy-verification-token"),
        ("team_id", "T0001"),
        ("team_domain", "marquee-test"),
        ("channel_id", "C0001"),
        ("channel_name", "general"),
        ("user_id", "U0001"),
        ("user_name", "tester"),
        ("command", "/poster"),
        ("text", text),
        ("api_app_id", "A0001"),
        ("response_url", response_url),
        ("trigger_id", &trigger),
    ])
    .unwrap_or_else(|e| panic!("a form of plain strings always encodes: {e}"))
}

/// Headers that sign `body` as Slack would, now.
pub fn signed_headers(secret: &str, body: &[u8]) -> [(String, String); 3] {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    [
        ("X-Slack-Request-Timestamp".into(), now.to_string()),
        ("X-Slack-Signature".into(), signature(secret, now, body)),
        (
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ),
    ]
}
