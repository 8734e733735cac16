//! The Slack stand-in's Events API side and message shortcuts: Slack POSTing events to an
//! app's events request URL, as Slack does, and the `message_action` payload of a shortcut used
//! on a message in the Web API stand-in's history.
//!
//! Rules, from Slack's Events API guide (docs.slack.dev `apis/events-api`, "Responding to
//! events", "Retries", "Request URL configuration & verification"):
//! - every request is a signed JSON `POST` (`X-Slack-Signature`, `X-Slack-Request-Timestamp`;
//!   a retry is a new request, signed afresh);
//! - a URL is first checked with a `url_verification` body whose `challenge` the app echoes;
//! - Slack waits 3 seconds for a 2xx; a request not answered in time or answered otherwise is
//!   retried up to three times — nearly immediately, after 1 minute, after 5 minutes — each
//!   carrying `X-Slack-Retry-Num` (1, 2, 3) and `X-Slack-Retry-Reason` (`http_timeout`,
//!   `http_error`, …), and the event's `event_id` unchanged.
//!
//! The minutes are a parameter of the stand-in ([`Schedule::compressed`]), never of the
//! product: tests run the same schedule in milliseconds.
//!
//! Payload shapes come from the fixtures in `tests/fixtures/slack/` (sources in its README),
//! filled in from the stand-in's own messages.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::slack::signature;

/// When Slack gives up on a request and when it sends each retry.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// How long Slack waits for an answer: 3 s.
    pub timeout: Duration,
    /// The wait before retry 1, 2 and 3 once the previous request failed: about nothing, a
    /// minute and five minutes.
    pub retries: [Duration; 3],
}

impl Schedule {
    /// Slack's schedule.
    pub const SLACK: Schedule = Schedule {
        timeout: Duration::from_secs(3),
        retries: [
            Duration::ZERO,
            Duration::from_secs(60),
            Duration::from_secs(300),
        ],
    };

    /// Slack's schedule with each minute lasting `minute` and the 3 s timeout lasting `timeout`.
    pub fn compressed(minute: Duration, timeout: Duration) -> Schedule {
        Schedule {
            timeout,
            retries: [Duration::ZERO, minute, minute * 5],
        }
    }
}

/// One POST of an event.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// 0 for the first request, then `X-Slack-Retry-Num`.
    pub retry_num: u32,
    /// `X-Slack-Retry-Reason`, on retries.
    pub reason: Option<&'static str>,
    /// When it was sent, from the first request.
    pub sent_at: Duration,
    /// When its answer arrived (however late), from the first request.
    pub answered_at: Option<Duration>,
    pub status: Option<u16>,
}

/// A signed JSON POST of `body` to `url`, as Slack sends events, with retry headers.
async fn post(
    url: &str,
    secret: &str,
    body: &[u8],
    retry: Option<(u32, &str)>,
) -> (Option<u16>, Value) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let mut request = marquee_core::net::client()
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Slack-Request-Timestamp", now.to_string())
        .header("X-Slack-Signature", signature(secret, now, body));
    if let Some((n, reason)) = retry {
        request = request
            .header("X-Slack-Retry-Num", n.to_string())
            .header("X-Slack-Retry-Reason", reason);
    }
    match request
        .body(body.to_vec())
        .timeout(Duration::from_secs(30))
        .send()
        .await
    {
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
            (Some(status), body)
        }
        Err(_) => (None, Value::Null),
    }
}

/// Delivers `event` to `url` as Slack does, signed with `secret`, retrying on `schedule` until
/// a request is answered 2xx in time or the third retry was sent. A request that timed out
/// is not abandoned: its late answer is recorded too. Returns every request, in order.
pub async fn deliver(url: &str, secret: &str, event: &Value, schedule: Schedule) -> Vec<Attempt> {
    let body = event.to_string().into_bytes();
    let start = Instant::now();
    let mut sent = Vec::new();
    let mut reason: Option<&'static str> = None;
    for retry_num in 0..=3u32 {
        if retry_num > 0 {
            tokio::time::sleep(schedule.retries[retry_num as usize - 1]).await;
        }
        let sent_at = start.elapsed();
        let (url, secret, body) = (url.to_owned(), secret.to_owned(), body.clone());
        let retry = reason.map(|r| (retry_num, r));
        let mut handle = tokio::spawn(async move {
            let answer = post(&url, &secret, &body, retry).await;
            (answer, start.elapsed())
        });
        let outcome = tokio::time::timeout(schedule.timeout, &mut handle).await;
        // Slack judges the answer by its own clock. `timeout` polls the request before its
        // timer, so on a busy machine an answer that came after the timeout (this task was not
        // scheduled in between) reads as in time: its arrival time decides instead.
        let late = |answered_at: Duration| answered_at.saturating_sub(sent_at) > schedule.timeout;
        let failed = match &outcome {
            Ok(Ok((_, answered_at))) if late(*answered_at) => Some("http_timeout"),
            Ok(Ok(((Some(status), _), _))) if (200..300).contains(status) => None,
            Ok(_) => Some("http_error"),
            Err(_) => Some("http_timeout"),
        };
        sent.push((
            retry_num,
            reason,
            sent_at,
            outcome.ok().and_then(Result::ok),
            handle,
        ));
        match failed {
            None => break,
            Some(why) => reason = Some(why),
        }
    }
    let mut attempts = Vec::new();
    for (retry_num, reason, sent_at, answered, handle) in sent {
        let ((status, _), answered_at) = match answered {
            Some(answered) => answered,
            None => handle
                .await
                .unwrap_or(((None, Value::Null), start.elapsed())),
        };
        attempts.push(Attempt {
            retry_num,
            reason,
            sent_at,
            answered_at: status.map(|_| answered_at),
            status,
        });
    }
    attempts
}

/// Slack checking an events URL: a signed `url_verification` (the shape of
/// `tests/fixtures/slack/events_url_verification.json`) with a fresh challenge. Returns the
/// challenge sent and the answer's status and body.
pub async fn url_verification(url: &str, secret: &str) -> (String, Option<u16>, Value) {
    let challenge = super::random_token(48);
    let body = json!({
        "token": "legacy-verification-token",
        "challenge": challenge,
        "type": "url_verification",
    });
    let (status, answer) = post(url, secret, body.to_string().as_bytes(), None).await;
    (challenge, status, answer)
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/slack/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A fresh `event_id` shaped like Slack's (`Ev` and ten upper-case letters or digits).
fn event_id() -> String {
    format!("Ev{}", super::random_token(10).to_uppercase())
}

/// Who the app is installed for: the stand-in's workspace and bot user.
const INSTALLED_TEAM: &str = super::slack_api::TEAM_ID;

/// The `app_mention` event Slack sends when `message` (a person's message in `channel`, as
/// [`super::slack_api::SlackApi::person_says`] stored it) mentions the app, in the shape of
/// `events_app_mention_thread.json`. When the author's workspace (`message.team`) is not the
/// installation's, it is a Slack Connect guest's: the outer `team_id` is the guest's side,
/// the event carries `user_team` and `source_team`, `is_ext_shared_channel` is true, and only
/// `authorizations[0]` names the installation (`events_app_mention_slack_connect.json`).
pub fn app_mention(message: &Value, channel: &str, bot_user: &str) -> Value {
    let mut body = fixture("events_app_mention_thread.json");
    let team = message["team"]
        .as_str()
        .unwrap_or(INSTALLED_TEAM)
        .to_owned();
    let ts = message["ts"].clone();
    let mut event = json!({
        "client_msg_id": message["client_msg_id"],
        "type": "app_mention",
        "text": message["text"],
        "user": message["user"],
        "ts": ts,
        "team": team,
        "channel": channel,
        "event_ts": ts,
    });
    if let Some(thread_ts) = message["thread_ts"].as_str() {
        event["thread_ts"] = json!(thread_ts);
        event["parent_user_id"] = message["parent_user_id"].clone();
    }
    let connect = team != INSTALLED_TEAM;
    if connect {
        event["user_team"] = json!(team);
        event["source_team"] = json!(team);
    }
    body["team_id"] = json!(team);
    body["api_app_id"] = json!("A0001");
    body["event"] = event;
    body["event_id"] = json!(event_id());
    body["event_time"] = json!(
        ts.as_str()
            .and_then(|t| t.split('.').next())
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or_default()
    );
    body["authorizations"] = json!([{
        "enterprise_id": null,
        "team_id": INSTALLED_TEAM,
        "user_id": bot_user,
        "is_bot": true,
        "is_enterprise_install": false,
    }]);
    body["is_ext_shared_channel"] = json!(connect);
    body
}

/// The `message.im` event of a message posted in the app's direct messages: the shape of
/// `events_message_im.json` (a bot's own post there carries `bot_id` and `subtype:
/// bot_message`, `events_message_bot.json`).
pub fn message_im(message: &Value, channel: &str, bot_user: &str) -> Value {
    let mut body = app_mention(message, channel, bot_user);
    body["event"]["type"] = json!("message");
    body["event"]["channel_type"] = json!("im");
    for key in ["bot_id", "subtype", "app_id"] {
        if let Some(v) = message.get(key) {
            body["event"][key] = v.clone();
        }
    }
    body
}

/// The `app_home_opened` event Slack sends when `user` opens the app's Home tab in the
/// stand-in's workspace, in the shape of `events_app_home_opened.json`; with `org`, from an
/// org-wide install of that Enterprise Grid org (`events_app_home_opened_org_install.json`:
/// `authorizations[0].team_id` null, `is_enterprise_install` true).
pub fn app_home_opened(user: &str, bot_user: &str, org: Option<&str>) -> Value {
    let mut body = fixture("events_app_home_opened.json");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    body["team_id"] = json!(INSTALLED_TEAM);
    body["api_app_id"] = json!("A0001");
    body["event"]["user"] = json!(user);
    body["event"]["channel"] = json!(format!("D{}", &user[1..]));
    body["event"]["event_ts"] = json!(format!("{now}.000100"));
    if let Some(view) = body["event"]["view"].as_object_mut() {
        view.insert("team_id".into(), json!(INSTALLED_TEAM));
        view.insert("app_installed_team_id".into(), json!(INSTALLED_TEAM));
        view.insert("app_id".into(), json!("A0001"));
    }
    body["event_id"] = json!(event_id());
    body["event_time"] = json!(now);
    body["authorizations"] = json!([{
        "enterprise_id": org,
        "team_id": if org.is_some() { Value::Null } else { json!(INSTALLED_TEAM) },
        "user_id": bot_user,
        "is_bot": true,
        "is_enterprise_install": org.is_some(),
    }]);
    if let Some(org) = org {
        body["enterprise_id"] = json!(org);
    }
    body
}

/// The form body (`payload=<json>`, to be signed) Slack POSTs to the interactivity URL when
/// `user` (`{id, username, name, team_id}`) uses the message shortcut `callback_id` on
/// `message` in `channel`: the shape of `message_action_thread_reply.json`, with a fresh
/// trigger and `response_url`. In a Slack Connect channel `team` stays the installation and
/// `user.team_id` is the guest's own (`message_action_slack_connect.json`).
pub fn message_action(
    message: &Value,
    channel: &str,
    user: &Value,
    callback_id: &str,
    response_url: &str,
) -> String {
    let mut payload = fixture("message_action_thread_reply.json");
    payload["team"] = json!({"id": INSTALLED_TEAM, "domain": "marquee-test"});
    payload["user"] = user.clone();
    payload["channel"] = json!({"id": channel, "name": "general"});
    payload["callback_id"] = json!(callback_id);
    payload["trigger_id"] = json!(super::slack_api::issue_trigger(user.clone()));
    payload["response_url"] = json!(response_url);
    payload["message_ts"] = message["ts"].clone();
    let mut shown = message.clone();
    if let Some(m) = shown.as_object_mut() {
        m.remove("channel");
    }
    payload["message"] = shown;
    payload["action_ts"] = json!(format!(
        "{}.{:06}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
        fastrand::u32(..1_000_000)
    ));
    serde_urlencoded::to_string([("payload", payload.to_string())])
        .unwrap_or_else(|e| panic!("a form of one string always encodes: {e}"))
}

/// The form body Slack POSTs to the interactivity URL when `user` (a payload's `user` object:
/// `id`, `username`, `name`, `team_id` — a Slack Connect guest's own workspace when it is not
/// the installation's) clicks the button `action_id` on the Home tab `home` (as
/// [`super::slack_api::SlackApi::home_tab`] keeps it), in the shape of
/// `block_actions_home_settings.json`; with `org`, from an org-wide install (`team: null`,
/// `enterprise`, `is_enterprise_install: true`). Panics when the tab has no such button: a
/// person cannot click what they are not shown — tests that forge such a click use
/// [`forged_home_click`].
pub fn home_click(home: &Value, user: &Value, action_id: &str, org: Option<&str>) -> String {
    let shown = home["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|b| b["accessory"]["action_id"] == action_id);
    assert!(shown, "the home tab offers no {action_id}: {home:#}");
    forged_home_click(home, user, action_id, org)
}

/// [`home_click`] without checking the tab shows the button: what a stale tab, or a forger
/// with a valid signature, would send.
pub fn forged_home_click(home: &Value, user: &Value, action_id: &str, org: Option<&str>) -> String {
    let mut payload = fixture("block_actions_home_settings.json");
    payload["user"] = user.clone();
    payload["api_app_id"] = json!("A0001");
    payload["team"] = match org {
        Some(_) => Value::Null,
        None => json!({"id": INSTALLED_TEAM, "domain": "marquee-test"}),
    };
    payload["enterprise"] = match org {
        Some(org) => json!({"id": org, "name": "Marquee Grid"}),
        None => Value::Null,
    };
    payload["is_enterprise_install"] = json!(org.is_some());
    payload["view"] = home.clone();
    payload["container"] = json!({"type": "view", "view_id": home["id"]});
    payload["trigger_id"] = json!(super::slack_api::issue_trigger(user.clone()));
    payload["actions"][0]["action_id"] = json!(action_id);
    payload["actions"][0]["action_ts"] = json!(format!(
        "{}.{:06}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
        fastrand::u32(..1_000_000)
    ));
    serde_urlencoded::to_string([("payload", payload.to_string())])
        .unwrap_or_else(|e| panic!("a form of one string always encodes: {e}"))
}

/// The `function_executed` event Slack sends when a workflow runs Marquee's "Make a poster"
/// step with `inputs` (keyed by the manifest's input names, each a plain string as Slack's
/// event reference shows a `user_id` input), for a fresh execution of the Web API stand-in
/// (whose id and token it carries): the shape of `events_function_executed.json` (Slack's
/// `reference/events/function_executed`, bolt-python `test_function.py`), installed in the
/// stand-in's workspace. Returns the body and the execution's id.
pub fn function_executed(
    api: &super::slack_api::SlackApi,
    inputs: Value,
    bot_user: &str,
) -> (Value, String) {
    let mut body = fixture("events_function_executed.json");
    let (execution, token) = api.start_execution();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    body["team_id"] = json!(INSTALLED_TEAM);
    body["api_app_id"] = json!("A0001");
    body["event"]["function"]["app_id"] = json!("A0001");
    body["event"]["inputs"] = inputs;
    body["event"]["function_execution_id"] = json!(execution);
    body["event"]["workflow_execution_id"] =
        json!(format!("Wx{}", super::random_token(10).to_uppercase()));
    body["event"]["event_ts"] = json!(format!("{now}.000100"));
    body["event"]["bot_access_token"] = json!(token);
    body["event_id"] = json!(event_id());
    body["event_time"] = json!(now);
    body["authorizations"] = json!([{
        "enterprise_id": null,
        "team_id": INSTALLED_TEAM,
        "user_id": bot_user,
        "is_bot": true,
        "is_enterprise_install": false,
    }]);
    (body, execution)
}
