//! The Slack stand-in proves itself: its Events API sender (Slack's retries and headers), its
//! Web API side (`chat.postMessage`, `chat.postEphemeral`, `chat.update`, the
//! external file upload, `views.open` and the submission of an opened view, `views.publish`,
//! `users.info`, `chat.getPermalink` and `functions.complete*`) and the Block Kit
//! limits shared with `response_url` posts are driven with reqwest, with the same requests the
//! product sends, and must answer as Slack does.

use std::time::Duration;

use crate::support;
use crate::support::slack::Slack;
use crate::support::slack_api::{
    ApiFault, Auth, DEFAULT_CHANNEL, Field, ViewAnswer, expired_trigger, issue_trigger,
};
use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

/// A minimal PNG signature; the stand-in sniffs only the magic bytes.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

/// A fresh stand-in per test, so tests keep apart without sharing state.
fn slack() -> Slack {
    Slack::start()
}

/// POSTs JSON to a Web API method as the product does; returns status and body.
async fn call(slack: &Slack, method: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = marquee_core::net::client()
        .post(format!("{}/api/{method}", slack.base_url()))
        .header("Content-Type", "application/json; charset=utf-8")
        .body(body.to_string());
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// POSTs a url-encoded form to a Web API method with the bot token.
async fn call_form(slack: &Slack, method: &str, fields: &[(&str, &str)]) -> (u16, Value) {
    let res = marquee_core::net::client()
        .post(format!("{}/api/{method}", slack.base_url()))
        .bearer_auth(slack.bot_token())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(fields).unwrap())
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn post(slack: &Slack, body: Value) -> Value {
    let (status, answer) = call(slack, "chat.postMessage", Some(&slack.bot_token()), body).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// Serves `body` as `image/png` on a loopback port; returns its URL.
fn image_server(body: &'static [u8]) -> String {
    let addr = support::serve("image", |_| {
        Router::new().route(
            "/poster.png",
            get(move || async move { ([("content-type", "image/png")], body) }),
        )
    });
    format!("http://{addr}/poster.png")
}

fn button(value: &str) -> Value {
    json!({"type": "button", "text": {"type": "plain_text", "text": "Again"},
           "action_id": "again", "value": value})
}

fn errors(answer: &Value) -> String {
    answer["errors"].to_string()
}

#[tokio::test]
async fn post_message_answers_like_slack_and_threads_replies() {
    let slack = slack();
    let parent = post(
        &slack,
        json!({"channel": DEFAULT_CHANNEL, "text": "poster for you",
                                     "unfurl_links": false, "unfurl_media": false}),
    )
    .await;
    assert_eq!(parent["ok"], true, "{parent}");
    assert_eq!(parent["channel"], DEFAULT_CHANNEL);
    let ts = parent["ts"].as_str().unwrap().to_string();
    assert_eq!(parent["message"]["ts"], ts.as_str());
    assert_eq!(parent["message"]["text"], "poster for you");
    assert!(
        parent.get("warning").is_none(),
        "charset was sent: {parent}"
    );

    let reply = post(
        &slack,
        json!({"channel": DEFAULT_CHANNEL, "text": "a variation",
                                    "thread_ts": ts}),
    )
    .await;
    let reply_ts = reply["ts"].as_str().unwrap();
    assert!(
        reply_ts > ts.as_str(),
        "ts must increase: {ts} then {reply_ts}"
    );

    let messages = slack
        .api()
        .wait_for_channel_messages(DEFAULT_CHANNEL, 2, Duration::from_secs(5))
        .await;
    assert_eq!(messages[0]["reply_count"], 1);
    assert_eq!(messages[0]["latest_reply"], reply_ts);
    let thread = slack.api().thread(DEFAULT_CHANNEL, &ts);
    assert_eq!(thread.len(), 1);
    assert_eq!(thread[0]["text"], "a variation");

    let calls = slack.api().calls_to("chat.postMessage");
    assert_eq!(calls.len(), 2);
    assert!(
        calls
            .iter()
            .all(|c| c.ok() && c.auth == Auth::Valid && c.notes.is_empty())
    );
    assert_eq!(calls[0].body["unfurl_links"], false);
}

#[tokio::test]
async fn auth_and_channel_errors_are_http_200_with_slack_codes() {
    let slack = slack();
    let msg = json!({"channel": DEFAULT_CHANNEL, "text": "hi"});
    let (status, answer) = call(&slack, "chat.postMessage", None, msg.clone()).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (200, Some("not_authed"))
    );
    let (status, answer) = call(&slack, "chat.postMessage", Some("xoxb-wrong"), msg).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (200, Some("invalid_auth"))
    );

    let answer = post(&slack, json!({"channel": "C0NOPE", "text": "hi"})).await;
    assert_eq!(answer["error"], "channel_not_found");
    // A private channel the bot is not in does not exist for it.
    slack.api().set_private("G0009", false);
    let answer = post(&slack, json!({"channel": "G0009", "text": "hi"})).await;
    assert_eq!(answer["error"], "channel_not_found");
    // A public one takes the post, with the manifest's chat:write.public...
    slack.api().set_member("C0002", false);
    let answer = post(&slack, json!({"channel": "C0002", "text": "hi"})).await;
    assert_eq!(answer["ok"], true, "{answer}");
    // ...and refuses it without.
    slack.api().revoke_scope("chat:write.public");
    let answer = post(&slack, json!({"channel": "C0002", "text": "hi"})).await;
    assert_eq!(answer["error"], "not_in_channel");
    slack.api().set_member("C0002", true);
    let answer = post(&slack, json!({"channel": "C0002", "text": "hi"})).await;
    assert_eq!(answer["ok"], true, "{answer}");

    let answer = post(
        &slack,
        json!({"channel": DEFAULT_CHANNEL, "text": "hi",
                                     "thread_ts": "0"}),
    )
    .await;
    assert_eq!(answer["error"], "invalid_thread_ts");
    assert!(slack.api().channel_messages(DEFAULT_CHANNEL).is_empty());
    assert_eq!(slack.api().channel_messages("C0002").len(), 2);
}

#[tokio::test]
async fn unknown_thread_and_overlong_text_are_accepted_with_notes() {
    let slack = slack();
    let answer = post(
        &slack,
        json!({"channel": DEFAULT_CHANNEL, "text": "x".repeat(40_001),
                                     "thread_ts": "1700000000.000100"}),
    )
    .await;
    assert_eq!(answer["ok"], true, "Slack truncates rather than refuses");
    let stored = &slack.api().channel_messages(DEFAULT_CHANNEL)[0];
    assert_eq!(stored["text"].as_str().unwrap().len(), 40_000);
    let notes = &slack.api().calls_to("chat.postMessage")[0].notes;
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("truncated") && notes[1].contains("names no message"));
}

#[tokio::test]
async fn block_kit_limits_fail_with_invalid_blocks_and_pointers() {
    let slack = slack();
    let cases = [
        (
            json!([{"type": "actions", "elements": [button(&"v".repeat(2001))]}]),
            "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]",
        ),
        (
            json!([{"type": "actions", "elements": (0..26).map(|_| button("v")).collect::<Vec<_>>()}]),
            "no more than 25 items allowed [json-pointer:/blocks/0/elements]",
        ),
        (
            json!([{"type": "actions", "block_id": "b".repeat(256), "elements": [button("v")]}]),
            "must be less than 256 characters [json-pointer:/blocks/0/block_id]",
        ),
        (
            json!([{"type": "actions", "elements": [{"type": "button", "action_id": "a".repeat(256),
                 "text": {"type": "plain_text", "text": "t".repeat(76)}}]}]),
            "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
        ),
        (
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": "s".repeat(3001)}}]),
            "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": "model"},
                 "accessory": {"type": "static_select", "action_id": "model",
                   "placeholder": {"type": "plain_text", "text": "Model"},
                   "options": (0..101).map(|i| json!({"text": {"type": "plain_text", "text": "o"},
                                                      "value": i.to_string()}))
                                      .collect::<Vec<_>>()}}]),
            "no more than 100 items allowed [json-pointer:/blocks/0/accessory/options]",
        ),
        (
            json!([{"type": "actions", "elements": [{"type": "static_select", "action_id": "m",
                 "options": [{"text": {"type": "plain_text", "text": "o".repeat(76)},
                              "value": "v".repeat(151)}]}]}]),
            "must be less than 151 characters [json-pointer:/blocks/0/elements/0/options/0/value]",
        ),
        (
            json!(
                (0..51)
                    .map(|_| json!({"type": "divider"}))
                    .collect::<Vec<_>>()
            ),
            "no more than 50 items allowed [json-pointer:/blocks]",
        ),
    ];
    for (blocks, expected) in cases {
        let answer = post(
            &slack,
            json!({"channel": DEFAULT_CHANNEL, "text": "fallback",
                                         "blocks": blocks}),
        )
        .await;
        assert_eq!(answer["error"], "invalid_blocks", "{answer}");
        assert!(
            errors(&answer).contains(expected),
            "{expected}\nnot in {answer}"
        );
        assert!(
            answer["response_metadata"]["messages"][0]
                .as_str()
                .unwrap()
                .starts_with("[ERROR] ")
        );
    }
    assert!(slack.api().channel_messages(DEFAULT_CHANNEL).is_empty());

    // The same limits hold on the response_url road, with its HTTP 400.
    let url = slack.response_url();
    let res = marquee_core::net::client()
        .post(&url)
        .json(&json!({"text": "fallback",
                      "blocks": [{"type": "actions", "elements": [button(&"v".repeat(2001))]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    assert_eq!(
        slack.posts(&url)[0].error.as_deref(),
        Some("invalid_blocks")
    );
}

#[tokio::test]
async fn image_blocks_are_downloaded_at_post_time() {
    let slack = slack();
    let good = image_server(PNG);
    let bad = image_server(b"<html>not an image</html>");
    let image = |url: &str| json!([{"type": "image", "image_url": url, "alt_text": "poster"}]);

    let answer = post(
        &slack,
        json!({"channel": DEFAULT_CHANNEL, "text": "poster",
                                     "blocks": image(&bad)}),
    )
    .await;
    assert_eq!(answer["error"], "invalid_blocks");
    assert!(
        errors(&answer).contains("downloading image failed [json-pointer:/blocks/0/image_url]")
    );

    let answer = post(
        &slack,
        json!({"channel": DEFAULT_CHANNEL, "text": "poster",
                                     "blocks": image(&good)}),
    )
    .await;
    assert_eq!(answer["ok"], true, "{answer}");
    let call = slack.api().calls_to("chat.postMessage").pop().unwrap();
    assert_eq!(call.images.len(), 1);
    assert_eq!(&call.images[0].bytes[..], PNG);

    let answer = post(
        &slack,
        json!({"channel": DEFAULT_CHANNEL, "blocks": image(&good)}),
    )
    .await;
    assert_eq!(answer["error"], "no_text", "a fallback text is required");
}

#[tokio::test]
async fn faults_rate_limit_then_recover() {
    let slack = slack();
    let api = slack.api();
    api.fault_api(
        "chat.postMessage",
        ApiFault::RateLimited {
            retry_after_secs: 7,
        },
        1,
    );
    api.fault_api("chat.update", ApiFault::Error("internal_error"), 1);
    let res = marquee_core::net::client()
        .post(format!("{}/api/chat.postMessage", slack.base_url()))
        .bearer_auth(slack.bot_token())
        .header("Content-Type", "application/json; charset=utf-8")
        .body(json!({"channel": DEFAULT_CHANNEL, "text": "hi"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 429);
    assert_eq!(res.headers()["retry-after"], "7");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({"ok": false, "error": "ratelimited"}));

    let ts = post(&slack, json!({"channel": DEFAULT_CHANNEL, "text": "hi"})).await["ts"].clone();
    let update = json!({"channel": DEFAULT_CHANNEL, "ts": ts, "text": "edited"});
    let (_, answer) = call(&slack, "chat.update", Some(&slack.bot_token()), update).await;
    assert_eq!(answer["error"], "internal_error");

    api.fault_api("*", ApiFault::ServerError, 1);
    let res = marquee_core::net::client()
        .post(format!("{}/api/chat.postMessage", slack.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 500);
    assert_eq!(api.channel_messages(DEFAULT_CHANNEL).len(), 1);
}

#[tokio::test]
async fn update_replaces_text_and_blocks_or_answers_message_not_found() {
    let slack = slack();
    let token = slack.bot_token();
    let posted = post(
        &slack,
        json!({"channel": DEFAULT_CHANNEL, "text": "rendering…",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "rendering…"}}]}),
    )
    .await;
    let ts = posted["ts"].as_str().unwrap();
    let (_, answer) = call(
        &slack,
        "chat.update",
        Some(&token),
        json!({"channel": DEFAULT_CHANNEL, "ts": ts, "text": "done"}),
    )
    .await;
    assert_eq!(
        (answer["ok"].as_bool(), answer["ts"].as_str()),
        (Some(true), Some(ts))
    );
    assert_eq!(answer["text"], "done");
    let messages = slack.api().channel_messages(DEFAULT_CHANNEL);
    assert_eq!(messages.len(), 1, "an update edits in place");
    assert_eq!(messages[0]["text"], "done");
    assert!(
        messages[0].get("blocks").is_none(),
        "text alone removes the blocks"
    );
    assert!(messages[0]["edited"]["ts"].is_string());

    let (_, answer) = call(
        &slack,
        "chat.update",
        Some(&token),
        json!({"channel": DEFAULT_CHANNEL, "ts": "1.000001", "text": "x"}),
    )
    .await;
    assert_eq!(answer["error"], "message_not_found");
}

/// The product's three steps: announce, upload, complete into a thread.
#[tokio::test]
async fn external_upload_completes_into_a_thread() {
    let slack = slack();
    let api = slack.api();
    let parent = post(
        &slack,
        json!({"channel": DEFAULT_CHANNEL, "text": "your poster"}),
    )
    .await;
    let parent_ts = parent["ts"].as_str().unwrap();

    let (_, ticket) = call_form(
        &slack,
        "files.getUploadURLExternal",
        &[
            ("filename", "poster.png"),
            ("length", &PNG.len().to_string()),
            ("alt_txt", "a movie poster"),
        ],
    )
    .await;
    assert_eq!(ticket["ok"], true, "{ticket}");
    let file_id = ticket["file_id"].as_str().unwrap();
    assert!(file_id.starts_with('F'));
    let upload_url = ticket["upload_url"].as_str().unwrap();
    assert!(upload_url.starts_with(&format!("{}/upload/", slack.base_url())));

    let res = marquee_core::net::client()
        .post(upload_url)
        .body(PNG)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.text().await.unwrap(), format!("OK - {}", PNG.len()));

    let (_, done) = call(
        &slack,
        "files.completeUploadExternal",
        Some(&slack.bot_token()),
        json!({"files": [{"id": file_id, "title": "Poster"}], "channel_id": DEFAULT_CHANNEL,
               "thread_ts": parent_ts, "initial_comment": "here it is"}),
    )
    .await;
    assert_eq!(
        done,
        json!({"ok": true, "files": [{"id": file_id, "title": "Poster"}]})
    );

    let files = api.wait_for_files(1, Duration::from_secs(5)).await;
    assert_eq!(&files[0].bytes[..], PNG);
    assert_eq!(files[0].title.as_deref(), Some("Poster"));
    assert_eq!(files[0].alt_txt.as_deref(), Some("a movie poster"));
    assert_eq!(files[0].channel_id.as_deref(), Some(DEFAULT_CHANNEL));
    assert_eq!(files[0].thread_ts.as_deref(), Some(parent_ts));
    let thread = api.thread(DEFAULT_CHANNEL, parent_ts);
    assert_eq!(thread.len(), 1);
    assert_eq!(thread[0]["files"][0]["id"], file_id);
    assert_eq!(thread[0]["text"], "here it is");

    // Completing twice finds no upload ticket.
    let (_, again) = call(
        &slack,
        "files.completeUploadExternal",
        Some(&slack.bot_token()),
        json!({"files": [{"id": file_id}]}),
    )
    .await;
    assert_eq!(again["error"], "file_not_found");
}

/// Uploads `bytes` as `filename` and completes it, shared into `channel` when given (else
/// private to the bot); returns the file's id.
async fn upload_file(
    slack: &Slack,
    filename: &str,
    bytes: &'static [u8],
    channel: Option<&str>,
) -> String {
    let (_, ticket) = call_form(
        slack,
        "files.getUploadURLExternal",
        &[("filename", filename), ("length", &bytes.len().to_string())],
    )
    .await;
    let file_id = ticket["file_id"].as_str().unwrap().to_owned();
    let res = marquee_core::net::client()
        .post(ticket["upload_url"].as_str().unwrap())
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let mut complete = json!({"files": [{"id": file_id}]});
    if let Some(channel) = channel {
        complete["channel_id"] = json!(channel);
    }
    let (_, done) = call(
        slack,
        "files.completeUploadExternal",
        Some(&slack.bot_token()),
        complete,
    )
    .await;
    assert_eq!(done["ok"], true, "{done}");
    file_id
}

/// An image block may show a Slack file (`slack_file: {id}`) instead of a public URL, as
/// Slack documents it: one of `image_url`/`slack_file`, one of `id`/`url`, an id shaped like a
/// file's, and a file the poster can see in that channel — shared there, not kept private —
/// that is an image. The message shows it without downloading anything.
#[tokio::test]
async fn image_blocks_show_slack_files_shared_where_they_are_posted() {
    let slack = slack();
    slack.api().set_member("C0002", true);
    let image = |slack_file: Value| {
        json!({"channel": DEFAULT_CHANNEL, "text": "a poster", "blocks": [
            {"type": "image", "slack_file": slack_file, "alt_text": "a poster"}
        ]})
    };
    let shared = upload_file(&slack, "poster.png", PNG, Some(DEFAULT_CHANNEL)).await;
    let answer = post(&slack, image(json!({"id": shared}))).await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(
        answer["message"]["blocks"][0]["slack_file"]["id"],
        shared.as_str()
    );
    let posted = slack.api().calls_to("chat.postMessage").pop().unwrap();
    assert!(
        posted.images.is_empty(),
        "nothing is downloaded for a Slack file"
    );

    let private = upload_file(&slack, "private.png", PNG, None).await;
    let elsewhere = upload_file(&slack, "elsewhere.png", PNG, Some("C0002")).await;
    let text = upload_file(&slack, "notes.txt", b"just words", Some(DEFAULT_CHANNEL)).await;
    for (slack_file, why) in [
        (json!({"id": private}), "a private file of the bot"),
        (json!({"id": elsewhere}), "a file shared in another channel"),
        (json!({"id": text}), "a file that is not an image"),
        (json!({"id": "F0NOSUCHFILE"}), "a file that does not exist"),
    ] {
        let answer = post(&slack, image(slack_file)).await;
        assert_eq!(answer["error"], "invalid_blocks", "{why}: {answer}");
        assert!(
            errors(&answer).contains("invalid slack file [json-pointer:/blocks/0/slack_file]"),
            "{why}: {answer}"
        );
    }
    let answer = post(&slack, image(json!({"id": "U0001MARQ"}))).await;
    assert!(
        errors(&answer).contains("^[F][A-Z0-9]{8,}$ [json-pointer:/blocks/0/slack_file/id]"),
        "{answer}"
    );
    let answer = post(
        &slack,
        image(json!({"id": shared, "url": "https://files.slack.com/files-pri/T0001-F1/x.png"})),
    )
    .await;
    assert_eq!(
        answer["error"], "invalid_blocks",
        "both id and url: {answer}"
    );
    let mut both = image(json!({"id": shared}));
    both["blocks"][0]["image_url"] = json!(image_server(PNG));
    let answer = post(&slack, both).await;
    assert_eq!(
        answer["error"], "invalid_blocks",
        "image_url and slack_file: {answer}"
    );

    // chat.update holds a file to the same rules.
    let plain = post(
        &slack,
        json!({"channel": DEFAULT_CHANNEL, "text": "soon a poster"}),
    )
    .await;
    let mut update = image(json!({"id": private}));
    update["ts"] = plain["ts"].clone();
    let (_, answer) = call(
        &slack,
        "chat.update",
        Some(&slack.bot_token()),
        update.clone(),
    )
    .await;
    assert_eq!(answer["error"], "invalid_blocks", "{answer}");
    update["blocks"][0]["slack_file"]["id"] = json!(shared);
    let (_, answer) = call(&slack, "chat.update", Some(&slack.bot_token()), update).await;
    assert_eq!(answer["ok"], true, "{answer}");

    // So does a click's response_url, in the channel of the message clicked; replacing the
    // original replaces that message in the channel's history.
    let ts = plain["ts"].as_str().unwrap();
    let url = slack.action_response_url_for(DEFAULT_CHANNEL, ts);
    let mut reply = image(json!({"id": elsewhere}));
    reply["replace_original"] = json!(true);
    reply.as_object_mut().unwrap().remove("channel");
    assert_eq!(respond(&url, &reply).await, 400, "a file shared elsewhere");
    assert_eq!(
        slack.posts(&url)[0].errors,
        ["invalid slack file [json-pointer:/blocks/0/slack_file]"]
    );
    reply["blocks"][0]["slack_file"]["id"] = json!(shared);
    reply["text"] = json!("an approved poster");
    assert_eq!(respond(&url, &reply).await, 200);
    let held = slack
        .api()
        .channel_messages(DEFAULT_CHANNEL)
        .into_iter()
        .find(|m| m["ts"] == ts)
        .unwrap();
    assert_eq!(held["text"], "an approved poster");
    assert_eq!(held["blocks"][0]["slack_file"]["id"], shared.as_str());
    assert!(held.get("replace_original").is_none(), "{held}");
}

#[tokio::test]
async fn upload_mistakes_are_refused() {
    let slack = slack();
    let token = slack.bot_token();

    // A JSON body is refused by getUploadURLExternal, as seen live.
    let (_, answer) = call(
        &slack,
        "files.getUploadURLExternal",
        Some(&token),
        json!({"filename": "p.png", "length": 3}),
    )
    .await;
    assert_eq!(answer["error"], "invalid_arguments");
    let (_, answer) = call_form(
        &slack,
        "files.getUploadURLExternal",
        &[("filename", "p.png")],
    )
    .await;
    assert_eq!(answer["error"], "invalid_arguments");
    assert!(errors(&answer).contains("missing required field: length"));

    // Never uploaded.
    let (_, ticket) = call_form(
        &slack,
        "files.getUploadURLExternal",
        &[("filename", "a.png"), ("length", "3")],
    )
    .await;
    let (_, answer) = call(
        &slack,
        "files.completeUploadExternal",
        Some(&token),
        json!({"files": [{"id": ticket["file_id"]}]}),
    )
    .await;
    assert_eq!(answer["error"], "file_not_found");

    // Length mismatch: the bytes are taken, completion is refused.
    let res = marquee_core::net::client()
        .post(ticket["upload_url"].as_str().unwrap())
        .body(&b"four"[..])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let (_, answer) = call(
        &slack,
        "files.completeUploadExternal",
        Some(&token),
        json!({"files": [{"id": ticket["file_id"]}]}),
    )
    .await;
    assert_eq!(answer["error"], "invalid_arguments");
    assert!(errors(&answer).contains("declared 3"), "{answer}");

    // Not a member of the channel; a user ID where a channel ID belongs.
    let (_, ticket) = call_form(
        &slack,
        "files.getUploadURLExternal",
        &[("filename", "b.png"), ("length", "3")],
    )
    .await;
    marquee_core::net::client()
        .post(ticket["upload_url"].as_str().unwrap())
        .body(&b"abc"[..])
        .send()
        .await
        .unwrap();
    slack.api().set_member("C0OUT", false);
    let complete =
        |channel: &str| json!({"files": [{"id": ticket["file_id"]}], "channel_id": channel});
    let (_, answer) = call(
        &slack,
        "files.completeUploadExternal",
        Some(&token),
        complete("C0OUT"),
    )
    .await;
    assert_eq!(answer["error"], "not_in_channel");
    let (_, answer) = call(
        &slack,
        "files.completeUploadExternal",
        Some(&token),
        complete("U0001"),
    )
    .await;
    assert_eq!(answer["error"], "invalid_arguments");
    let (_, answer) = call(
        &slack,
        "files.completeUploadExternal",
        Some(&token),
        complete("C0MISSING"),
    )
    .await;
    assert_eq!(answer["error"], "invalid_channel");
    assert!(slack.api().files().iter().all(|f| !f.completed));
    let (_, answer) = call(
        &slack,
        "files.completeUploadExternal",
        None,
        complete("C0001"),
    )
    .await;
    assert_eq!(answer["error"], "not_authed");
}

/// The first 24 bytes of an 832×1216 PNG: signature, then the IHDR chunk's length, type, width
/// and height, which is all Slack (and the stand-in) reads for the normalised copy.
const PNG_832X1216: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x03\x40\0\0\x04\xc0";

/// A poster message shaped as Marquee posts it, with the image at `image_url`.
fn poster_message(image_url: &str) -> Value {
    json!({
        "response_type": "in_channel",
        "replace_original": false,
        "text": "🎬 “Adrift” — a poster for <@U0001>",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Adrift* — for <@U0001>"}},
            {"type": "image", "image_url": image_url, "alt_text": "Movie poster “Adrift”",
             "title": {"type": "plain_text", "text": "Adrift", "emoji": true}},
            {"type": "context", "elements": [{"type": "mrkdwn",
              "text": format!("seed 7 · <{image_url}|Open full size>")}]},
            {"type": "actions", "block_id": "marquee.actions.00000000-0000-0000-0000-000000000000",
             "elements": [
                {"type": "button", "action_id": "poster.regenerate", "value": "x",
                 "text": {"type": "plain_text", "text": "🎲 Regenerate", "emoji": true}},
                {"type": "static_select", "action_id": "poster.restyle",
                 "placeholder": {"type": "plain_text", "text": "🎨 Restyle…", "emoji": true},
                 "options": [{"text": {"type": "plain_text", "text": "Noir"}, "value": "noir"}]},
                {"type": "button", "action_id": "poster.approve", "value": "x", "style": "primary",
                 "text": {"type": "plain_text", "text": "✅ Approve", "emoji": true}},
             ]},
        ],
    })
}

async fn respond(url: &str, body: &Value) -> u16 {
    marquee_core::net::client()
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn unknown_block_types_and_keys_are_refused_as_slack_refuses_them() {
    let slack = slack();
    let image = image_server(PNG_832X1216);
    let cases = [
        (
            json!([{"type": "poster", "text": "x"}]),
            "unsupported type: poster [json-pointer:/blocks/0/type]",
        ),
        (
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "colour": "red"}]),
            "invalid additional property: colour [json-pointer:/blocks/0/colour]",
        ),
        (
            json!([{"type": "divider", "text": "x"}]),
            "invalid additional property: text [json-pointer:/blocks/0/text]",
        ),
        // Slack's normalised image block, echoed back (slackapi/bolt-js#1841).
        (
            json!([{"type": "image", "block_id": "FACJU", "image_url": image, "alt_text": "a",
                    "image_width": 832, "image_height": 1216, "image_bytes": 24,
                    "is_animated": false, "fallback": "832x1216px image"}]),
            "invalid additional property: image_width [json-pointer:/blocks/0/image_width]",
        ),
        (
            json!([{"type": "actions", "elements": [{"type": "button", "action_id": "a",
                    "text": {"type": "plain_text", "text": "t"}, "emoji": true}]}]),
            "invalid additional property: emoji [json-pointer:/blocks/0/elements/0/emoji]",
        ),
        (
            json!([{"type": "actions", "elements": [{"type": "static_select", "action_id": "m",
                    "options": [{"text": {"type": "plain_text", "text": "o"}, "value": "v",
                                 "selected": true}]}]}]),
            "invalid additional property: selected [json-pointer:/blocks/0/elements/0/options/0/selected]",
        ),
    ];
    for (blocks, expected) in cases {
        let answer = post(
            &slack,
            json!({"channel": DEFAULT_CHANNEL, "text": "fallback", "blocks": blocks.clone()}),
        )
        .await;
        assert_eq!(answer["error"], "invalid_blocks", "{answer}");
        assert!(
            errors(&answer).contains(expected),
            "{expected}\nnot in {answer}"
        );

        let url = slack.response_url();
        let status = respond(&url, &json!({"text": "fallback", "blocks": blocks})).await;
        assert_eq!(status, 400, "{expected}");
        assert!(
            slack.posts(&url)[0].errors.iter().any(|e| e == expected),
            "{expected}\nnot in {:?}",
            slack.posts(&url)[0].errors
        );
    }
    for key in ["image_height", "image_bytes", "is_animated", "fallback"] {
        let url = slack.response_url();
        let block = json!({"type": "image", "image_url": image, "alt_text": "a", key: 1});
        assert_eq!(
            respond(&url, &json!({"text": "t", "blocks": [block]})).await,
            400,
            "{key}"
        );
    }
    // Every key the reference allows passes.
    let url = slack.response_url();
    assert_eq!(respond(&url, &poster_message(&image)).await, 200);
}

#[tokio::test]
async fn the_normalised_copy_is_what_slack_sends_back_and_is_refused_on_input() {
    let slack = slack();
    let image = image_server(PNG_832X1216);
    let url = slack.response_url();
    let sent = poster_message(&image);
    assert_eq!(respond(&url, &sent).await, 200);

    let copy = slack.normalise(&slack.messages(&url)[0]);
    let blocks = copy["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 4);
    for b in blocks {
        assert!(
            b["block_id"].as_str().is_some_and(|id| !id.is_empty()),
            "{b}"
        );
    }
    assert_eq!(
        blocks[3]["block_id"], sent["blocks"][3]["block_id"],
        "an app's own block_id is kept"
    );
    let img = &blocks[1];
    assert_eq!(img["image_width"], 832);
    assert_eq!(img["image_height"], 1216);
    assert_eq!(img["image_bytes"], PNG_832X1216.len());
    assert_eq!(img["is_animated"], false);
    assert_eq!(img["fallback"], "832x1216px image");
    assert_eq!(blocks[0]["text"]["verbatim"], false);
    assert_eq!(
        blocks[3]["elements"][1]["options"][0]["text"]["emoji"],
        true
    );
    assert!(copy.get("response_type").is_none());
    assert_eq!(slack.normalise(&sent), copy, "normalising is stable");

    // The shape matches the fixture's Slack-captured copy, key for key.
    let fixture: Value =
        serde_json::from_str(include_str!("../fixtures/slack/block_actions_button.json")).unwrap();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    for i in 0..4 {
        assert_eq!(
            keys(&blocks[i]),
            keys(&fixture["message"]["blocks"][i]),
            "block {i}"
        );
    }

    // Echoing Slack's copy back fails as it does on Slack.
    let again = slack.response_url();
    let mut echo = copy.clone();
    echo["replace_original"] = true.into();
    assert_eq!(respond(&again, &echo).await, 400);
    let errors = &slack.posts(&again)[0].errors;
    for key in [
        "image_width",
        "image_height",
        "image_bytes",
        "is_animated",
        "fallback",
    ] {
        let expected = format!("invalid additional property: {key} [json-pointer:/blocks/1/{key}]");
        assert!(errors.contains(&expected), "{expected} not in {errors:?}");
    }
}

#[tokio::test]
async fn clicks_are_built_in_slacks_shape_from_slacks_copy() {
    let slack = slack();
    let image = image_server(PNG_832X1216);
    let url = slack.response_url();
    assert_eq!(respond(&url, &poster_message(&image)).await, 200);
    let message = slack.messages(&url).remove(0);
    let fixture: Value =
        serde_json::from_str(include_str!("../fixtures/slack/block_actions_button.json")).unwrap();
    let select_fixture: Value = serde_json::from_str(include_str!(
        "../fixtures/slack/block_actions_static_select.json"
    ))
    .unwrap();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let answer_url = slack.action_response_url();
    assert!(answer_url.contains("/actions/T0001/"), "{answer_url}");
    let payload_of = |form: String| -> Value {
        let fields: Vec<(String, String)> = serde_urlencoded::from_str(&form).unwrap();
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].0, "payload");
        serde_json::from_str(&fields[0].1).unwrap()
    };
    let click = |action_id, choice, thread_ts| support::slack::Click {
        message: &message,
        action_id,
        choice,
        response_url: &answer_url,
        channel: "C0001",
        ts: "1700000000.000100",
        thread_ts,
        user: None,
    };

    let button = payload_of(slack.block_actions(&click("poster.regenerate", None, None)));
    assert_eq!(keys(&button), keys(&fixture));
    for part in ["user", "team", "container", "channel", "state"] {
        assert_eq!(keys(&button[part]), keys(&fixture[part]), "{part}");
    }
    assert_eq!(keys(&button["actions"][0]), keys(&fixture["actions"][0]));
    assert_eq!(keys(&button["message"]), keys(&fixture["message"]));
    assert_eq!(button["user"]["username"], button["user"]["name"]);
    assert_eq!(button["enterprise"], Value::Null);
    assert_eq!(button["is_enterprise_install"], false);
    assert_eq!(button["response_url"], answer_url.as_str());
    assert_eq!(
        button["message"]["blocks"],
        slack.normalise(&message)["blocks"]
    );
    assert_eq!(
        button["actions"][0]["block_id"],
        "marquee.actions.00000000-0000-0000-0000-000000000000"
    );

    let approve = payload_of(slack.block_actions(&click("poster.approve", None, None)));
    assert_eq!(approve["actions"][0]["style"], "primary");

    let select = payload_of(slack.block_actions(&click(
        "poster.restyle",
        Some("noir"),
        Some("1699999999.000001"),
    )));
    assert_eq!(
        keys(&select["actions"][0]),
        keys(&select_fixture["actions"][0])
    );
    assert_eq!(
        keys(&select["container"]),
        keys(&select_fixture["container"])
    );
    assert_eq!(keys(&select["message"]), keys(&select_fixture["message"]));
    assert_eq!(select["actions"][0]["selected_option"]["value"], "noir");
    assert_eq!(select["message"]["thread_ts"], "1699999999.000001");

    // The interaction's response_url takes Marquee's answer like a command's does.
    let answer =
        json!({"response_type": "ephemeral", "text": "Regenerating…", "replace_original": false});
    assert_eq!(respond(&answer_url, &answer).await, 200);
    assert_eq!(slack.messages(&answer_url).len(), 1);

    // A click's trigger opens one modal, for the person who clicked.
    let (_, opened) = open(&slack, button["trigger_id"].as_str().unwrap(), modal()).await;
    assert_eq!(opened["ok"], true, "{opened}");
    let view = slack.api().opened_views().pop().unwrap();
    assert_eq!(view.user, button["user"]);
}

/// A modal in the shape of Marquee's review modals: a text input, a multiline optional one, a
/// static select and a radio group, each pre-filled.
fn modal() -> Value {
    let plain = |t: &str| json!({"type": "plain_text", "text": t});
    let option = |t: &str, v: &str| json!({"text": plain(t), "value": v});
    json!({
        "type": "modal",
        "callback_id": "marquee.edit_words",
        "title": plain("Edit the words"),
        "submit": plain("Set the type"),
        "close": plain("Cancel"),
        "private_metadata": "{\"p\":\"3f2b8c4e-9d1a-4e6b-8f7c-2a5d9e1b4c60\"}",
        "blocks": [
            {"type": "context", "elements": [plain("Same art, no charge.")]},
            {"type": "input", "block_id": "marquee.title", "label": plain("Title"), "optional": true,
             "element": {"type": "plain_text_input", "action_id": "title", "max_length": 80, "initial_value": "The Keeper"}},
            {"type": "input", "block_id": "marquee.tagline", "label": plain("Tagline"), "optional": true,
             "hint": plain("One line."),
             "element": {"type": "plain_text_input", "action_id": "tagline", "max_length": 140, "initial_value": "It remembers"}},
            {"type": "input", "block_id": "marquee.credits", "label": plain("Billing block"), "optional": true,
             "element": {"type": "plain_text_input", "action_id": "credits", "multiline": true, "max_length": 400}},
            {"type": "input", "block_id": "marquee.look", "label": plain("Look of the type"),
             "element": {"type": "static_select", "action_id": "look", "placeholder": plain("Choose"),
                         "options": [option("Noir", "noir"), option("Horror", "horror")],
                         "initial_option": option("Horror", "horror")}},
            {"type": "input", "block_id": "marquee.placement", "label": plain("Where the title sits"),
             "element": {"type": "radio_buttons", "action_id": "placement",
                         "options": [option("At the top", "top"), option("At the bottom", "bottom")],
                         "initial_option": option("At the top", "top")}},
        ],
    })
}

async fn open(slack: &Slack, trigger_id: &str, view: Value) -> (u16, Value) {
    call(
        slack,
        "views.open",
        Some(&slack.bot_token()),
        json!({"trigger_id": trigger_id, "view": view}),
    )
    .await
}

fn reviewer() -> Value {
    json!({"id": "U0002", "username": "reviewer", "name": "reviewer", "team_id": "T0001"})
}

#[tokio::test]
async fn views_open_takes_a_fresh_trigger_once() {
    let slack = slack();
    let trigger = issue_trigger(reviewer());
    let (status, answer) = call(
        &slack,
        "views.open",
        None,
        json!({"trigger_id": trigger, "view": modal()}),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (200, Some("not_authed"))
    );

    let (status, answer) = open(&slack, &trigger, modal()).await;
    assert_eq!(status, 200);
    assert_eq!(answer["ok"], true, "{answer}");
    // The reference's success response: the view as Slack keeps it.
    let fixture: Value =
        serde_json::from_str(include_str!("../fixtures/slack/views_open_response.json")).unwrap();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let mut expected = keys(&fixture["view"]);
    // bolt-python's view_submission bodies show two more keys on Slack's copy of a view.
    expected.extend([
        "app_installed_team_id".to_owned(),
        "previous_view_id".to_owned(),
    ]);
    expected.sort();
    assert_eq!(keys(&answer["view"]), expected);
    assert!(answer["view"]["id"].as_str().unwrap().starts_with('V'));
    assert_eq!(answer["view"]["root_view_id"], answer["view"]["id"]);
    assert_eq!(answer["view"]["state"], json!({"values": []}));
    let blocks = answer["view"]["blocks"].as_array().unwrap();
    assert!(blocks.iter().all(|b| b["block_id"].is_string()));
    assert_eq!(blocks[1]["optional"], true);
    assert_eq!(blocks[4]["optional"], false, "Slack's copy says so");
    assert_eq!(
        blocks[1]["element"]["dispatch_action_config"],
        json!({"trigger_actions_on": ["on_enter_pressed"]})
    );
    assert_eq!(blocks[1]["label"]["emoji"], true);

    let (_, again) = open(&slack, &trigger, modal()).await;
    assert_eq!(again["error"], "exchanged_trigger_id");
    let (_, old) = open(&slack, &expired_trigger(reviewer()), modal()).await;
    assert_eq!(old["error"], "expired_trigger_id");
    let (_, unknown) = open(&slack, "1234567890123.1234567890123.abcdef", modal()).await;
    assert_eq!(unknown["error"], "invalid_trigger_id");
    let (_, malformed) = open(&slack, "not-a-trigger", modal()).await;
    assert_eq!(malformed["error"], "invalid_trigger_id");
    let (_, missing) = call(
        &slack,
        "views.open",
        Some(&slack.bot_token()),
        json!({"view": modal()}),
    )
    .await;
    assert_eq!(missing["error"], "invalid_arguments");
    assert_eq!(slack.api().opened_views().len(), 1);
    assert_eq!(slack.api().calls_to("views.open").len(), 7);
}

#[tokio::test]
async fn views_open_judges_the_view_as_slack_does() {
    let slack = slack();
    type Break = fn(&mut Value);
    let cases: [(Break, &str); 16] = [
        (
            |v| {
                v["title"]["text"] = "A title of 25 characters"
                    .to_owned()
                    .replace("A ", "A  ")
                    .into()
            },
            "must be less than 25 characters [json-pointer:/view/title/text]",
        ),
        (
            |v| {
                v.as_object_mut().unwrap().remove("submit");
            },
            "must define submit to use input block [json-pointer:/view/blocks/1/input]",
        ),
        (
            |v| v["blocks"] = json!(vec![json!({"type": "divider"}); 101]),
            "no more than 100 items allowed [json-pointer:/view/blocks]",
        ),
        (
            |v| v["private_metadata"] = "m".repeat(3001).into(),
            "must be less than 3001 characters [json-pointer:/view/private_metadata]",
        ),
        (
            |v| v["callback_id"] = "c".repeat(256).into(),
            "must be less than 256 characters [json-pointer:/view/callback_id]",
        ),
        (
            |v| v["type"] = "home".into(),
            "unsupported type: home [json-pointer:/view/type]",
        ),
        (
            |v| v["hash"] = "1.abc".into(),
            "invalid additional property: hash [json-pointer:/view/hash]",
        ),
        (
            |v| v["blocks"][4]["element"]["initial_option"]["value"] = "western".into(),
            "must match one of the options [json-pointer:/view/blocks/4/element/initial_option]",
        ),
        (
            |v| {
                let option = v["blocks"][5]["element"]["options"][0].clone();
                v["blocks"][5]["element"]["options"] = json!(vec![option; 11]);
            },
            "no more than 10 items allowed [json-pointer:/view/blocks/5/element/options]",
        ),
        (
            |v| v["blocks"][1]["element"]["max_length"] = 3001.into(),
            "must be between 1 and 3000 [json-pointer:/view/blocks/1/element/max_length]",
        ),
        (
            |v| v["blocks"][1]["element"]["initial_value"] = "t".repeat(81).into(),
            "must be no longer than max_length (80) [json-pointer:/view/blocks/1/element/initial_value]",
        ),
        (
            |v| v["blocks"][2]["label"]["text"] = "l".repeat(2001).into(),
            "must be less than 2001 characters [json-pointer:/view/blocks/2/label/text]",
        ),
        (
            |v| v["blocks"][2]["element"] = json!({"type": "button", "action_id": "b", "text": {"type": "plain_text", "text": "B"}}),
            "unsupported type: button [json-pointer:/view/blocks/2/element/type]",
        ),
        // Checkboxes ("Checkboxes element"): at most 10 options, `initial_options` among
        // them, and only the element's own keys.
        (
            |v| {
                let option = v["blocks"][5]["element"]["options"][0].clone();
                v["blocks"][5]["element"] =
                    json!({"type": "checkboxes", "action_id": "c", "options": vec![option; 11]});
            },
            "no more than 10 items allowed [json-pointer:/view/blocks/5/element/options]",
        ),
        (
            |v| {
                let options = v["blocks"][5]["element"]["options"].clone();
                let other =
                    json!({"text": {"type": "plain_text", "text": "Wide"}, "value": "wide"});
                v["blocks"][5]["element"] = json!({"type": "checkboxes", "action_id": "c",
                    "options": options, "initial_options": [other]});
            },
            "must match one of the options [json-pointer:/view/blocks/5/element/initial_options/0]",
        ),
        (
            |v| {
                let options = v["blocks"][5]["element"]["options"].clone();
                v["blocks"][5]["element"] = json!({"type": "checkboxes", "action_id": "c",
                    "options": options, "initial_option": options[0]});
            },
            "invalid additional property: initial_option [json-pointer:/view/blocks/5/element/initial_option]",
        ),
    ];
    for (i, (break_it, expected)) in cases.into_iter().enumerate() {
        let mut view = modal();
        break_it(&mut view);
        let (status, answer) = open(&slack, &issue_trigger(reviewer()), view).await;
        assert_eq!(status, 200, "case {i}");
        assert_eq!(answer["error"], "invalid_arguments", "case {i}: {answer}");
        let errors = errors(&answer);
        assert!(
            errors.contains(expected),
            "case {i}: {expected} not in {errors}"
        );
    }
    assert!(slack.api().opened_views().is_empty());
}

#[tokio::test]
async fn an_opened_view_is_submitted_in_slacks_shape() {
    let slack = slack();
    let (_, answer) = open(&slack, &issue_trigger(reviewer()), modal()).await;
    let id = answer["view"]["id"].as_str().unwrap();
    let opened = slack
        .api()
        .wait_for_view("3f2b8c4e", Duration::from_secs(1))
        .await;
    assert_eq!(opened.id, id);
    assert_eq!(opened.callback_id(), "marquee.edit_words");
    assert!(opened.trigger_age < support::slack_api::TRIGGER_LIFETIME);
    assert_eq!(
        opened.input("marquee.look")["element"]["type"],
        "static_select"
    );

    let form = slack
        .api()
        .view_submission(
            id,
            &[
                ("marquee.title", Field::Text("The Keeper Returns")),
                ("marquee.tagline", Field::Text("")),
                ("marquee.look", Field::Choose("noir")),
            ],
        )
        .unwrap();
    let fields: Vec<(String, String)> = serde_urlencoded::from_str(&form).unwrap();
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].0, "payload");
    let payload: Value = serde_json::from_str(&fields[0].1).unwrap();
    let fixture: Value = serde_json::from_str(include_str!(
        "../fixtures/slack/view_submission_edit_words.json"
    ))
    .unwrap();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&payload), keys(&fixture));
    assert_eq!(keys(&payload["view"]), keys(&fixture["view"]));
    assert_eq!(keys(&payload["user"]), keys(&fixture["user"]));
    assert_eq!(
        payload["user"],
        reviewer(),
        "the person the view was opened for"
    );
    assert_eq!(payload["type"], "view_submission");
    assert_eq!(payload["view"]["id"], id);
    assert_eq!(
        payload["view"]["private_metadata"],
        modal()["private_metadata"]
    );
    let values = &payload["view"]["state"]["values"];
    assert_eq!(
        values["marquee.title"]["title"],
        json!({"type": "plain_text_input", "value": "The Keeper Returns"})
    );
    assert_eq!(
        values["marquee.tagline"]["tagline"],
        json!({"type": "plain_text_input", "value": null}),
        "a cleared input is null"
    );
    assert_eq!(
        values["marquee.credits"]["credits"],
        json!({"type": "plain_text_input", "value": null}),
        "never filled"
    );
    assert_eq!(values["marquee.look"]["look"]["type"], "static_select");
    assert_eq!(
        values["marquee.look"]["look"]["selected_option"]["value"],
        "noir"
    );
    assert_eq!(
        values["marquee.placement"]["placement"],
        json!({"type": "radio_buttons", "selected_option": {"text": {"type": "plain_text", "text": "At the top", "emoji": true}, "value": "top"}}),
        "untouched: its initial option"
    );
    // The submission's own trigger can open a modal, as Slack's can.
    let (_, next) = open(&slack, payload["trigger_id"].as_str().unwrap(), modal()).await;
    assert_eq!(next["ok"], true, "{next}");

    // The app's answer: field errors keep the view open, keyed by its input blocks only.
    let api = slack.api();
    let errors = json!({"response_action": "errors", "errors": {"marquee.title": "Too long"}});
    assert!(matches!(
        api.view_answer(id, 200, &errors),
        Ok(ViewAnswer::Errors(_))
    ));
    let stray = json!({"response_action": "errors", "errors": {"title": "Too long"}});
    assert!(api.view_answer(id, 200, &stray).is_err());
    assert!(api.view_answer(id, 500, &Value::Null).is_err());
    assert!(api.view_answer(id, 200, &json!({"ok": true})).is_err());

    // What Slack's client refuses before sending anything.
    let refused =
        |fields: &[(&str, Field<'_>)]| slack.api().view_submission(id, fields).unwrap_err();
    assert!(refused(&[("marquee.title", Field::Text(&"t".repeat(81)))]).contains("at most 80"));
    let mut required = modal();
    required["blocks"][1]["optional"] = false.into();
    let (_, answer) = open(&slack, &issue_trigger(reviewer()), required).await;
    let strict = answer["view"]["id"].as_str().unwrap();
    let err = slack
        .api()
        .view_submission(strict, &[("marquee.title", Field::Text(""))])
        .unwrap_err();
    assert!(err.contains("required"), "{err}");

    // An empty 200 closes the modal; nothing more can be submitted from it.
    assert_eq!(
        api.view_answer(id, 200, &Value::Null),
        Ok(ViewAnswer::Closed)
    );
    let closed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        slack.api().view_submission(id, &[])
    }));
    assert!(closed.is_err(), "a closed view cannot be submitted");
}

#[tokio::test]
async fn broadcasts_and_foreign_links_are_recorded_as_violations() {
    let slack = slack();
    let url = slack.response_url();
    // Slack delivers all of these; the stand-in accepts them too and records what it saw.
    let status = respond(
        &url,
        &json!({"text": "🎬 “<!channel> free pizza” — a poster", "blocks": [
            {"type": "section", "text": {"type": "mrkdwn",
             "text": "*<https://evil.example/login|Open full size>* <!here|here>"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "<!subteam^S123|@team>"}]},
        ]}),
    )
    .await;
    assert_eq!(status, 200);
    let post = &slack.posts(&url)[0];
    assert_eq!(post.violations.len(), 4, "{:?}", post.violations);
    assert!(post.violations[0].contains("<!channel>") && post.violations[0].contains("/text"));

    let answer = post_form_message(&slack, "<!everyone> look").await;
    assert_eq!(answer["ok"], true, "{answer}");

    // What Marquee does send is clean: escaped user text, mentions of one person, links to its
    // own (loopback) store, dates.
    let clean = slack.response_url();
    let status = respond(
        &clean,
        &json!({"text": "🎬 “&lt;!channel&gt; &amp; co” — a poster for <@U0001>", "blocks": [
            {"type": "context", "elements": [{"type": "mrkdwn",
             "text": "<http://127.0.0.1:9/p.png?a=1&b=2|Open full size> (link expires <!date^1800000000^{date_short_pretty}|soon>)"}]},
        ]}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(slack.posts(&clean)[0].violations.is_empty());

    let all = slack.violations();
    assert_eq!(all.len(), 5, "{all:#?}");
    assert!(
        all.iter()
            .any(|v| v.starts_with("chat.postMessage: ") && v.contains("<!everyone>"))
    );
}

async fn post_form_message(slack: &Slack, text: &str) -> Value {
    call_form(
        slack,
        "chat.postMessage",
        &[("channel", DEFAULT_CHANNEL), ("text", text)],
    )
    .await
    .1
}

/// A request the events sender made: its retry headers, whether it verifies, its event id.
#[derive(Debug, Clone)]
struct Seen {
    retry_num: Option<String>,
    reason: Option<String>,
    verifies: bool,
    event_id: String,
}

/// An app at an events URL that answers each request in turn with `answers` (status, delay),
/// recording what it got.
fn events_app(
    answers: Vec<(u16, Duration)>,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Seen>>>) {
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let answers = Arc::new(Mutex::new(answers.into_iter()));
    let recorded = seen.clone();
    let base = support::serve("events app", move |_| {
        Router::new().route(
            "/slack/events",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let (recorded, answers) = (recorded.clone(), answers.clone());
                    async move {
                        let header = |name: &str| {
                            headers
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned)
                        };
                        let ts: i64 = header("x-slack-request-timestamp")
                            .and_then(|t| t.parse().ok())
                            .unwrap_or_default();
                        let verifies = header("x-slack-signature").as_deref()
                            == Some(&*support::slack::signature("s3cret", ts, &body));
                        let event: Value = serde_json::from_slice(&body).unwrap_or_default();
                        recorded.lock().unwrap().push(Seen {
                            retry_num: header("x-slack-retry-num"),
                            reason: header("x-slack-retry-reason"),
                            verifies,
                            event_id: event["event_id"].as_str().unwrap_or_default().into(),
                        });
                        let (status, delay) = answers
                            .lock()
                            .unwrap()
                            .next()
                            .unwrap_or((200, Duration::ZERO));
                        tokio::time::sleep(delay).await;
                        axum::http::StatusCode::from_u16(status).unwrap()
                    }
                },
            ),
        )
    });
    (format!("http://{base}/slack/events"), seen)
}

/// Slack's Events API retries (docs.slack.dev `apis/events-api`, "Retries"): an error answer
/// or no answer within the timeout is retried, at most three times, each retry numbered in
/// `X-Slack-Retry-Num` with its `X-Slack-Retry-Reason`, the same `event_id`, signed afresh; an
/// event answered 2xx in time is not sent again.
#[tokio::test(flavor = "multi_thread")]
async fn events_are_retried_on_slacks_schedule_with_its_headers() {
    use crate::support::slack_events::{Schedule, deliver};
    // Each "minute" 30 ms; the 3 s timeout 1 s, so that an answer made at once is never late
    // on a busy machine (200 ms was, with builds beside the tests).
    let (minute, timeout) = (Duration::from_millis(30), Duration::from_secs(1));
    let schedule = Schedule::compressed(minute, timeout);
    let event = json!({"type": "event_callback", "event_id": "Ev0SELFTEST", "event": {"type": "app_mention"}});

    // Answered at once: one request.
    let (url, seen) = events_app(vec![(200, Duration::ZERO)]);
    let attempts = deliver(&url, "s3cret", &event, schedule).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(seen.lock().unwrap().len(), 1);

    // An error, then too slow, then answered: two retries, with their reasons.
    let (url, seen) = events_app(vec![
        (500, Duration::ZERO),
        (200, timeout * 2),
        (200, Duration::ZERO),
    ]);
    let attempts = deliver(&url, "s3cret", &event, schedule).await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(attempts.len(), 3, "{attempts:#?}");
    assert_eq!(seen.len(), 3);
    assert_eq!(
        (seen[0].retry_num.as_deref(), seen[0].reason.as_deref()),
        (None, None)
    );
    assert_eq!(
        (seen[1].retry_num.as_deref(), seen[1].reason.as_deref()),
        (Some("1"), Some("http_error"))
    );
    assert_eq!(
        (seen[2].retry_num.as_deref(), seen[2].reason.as_deref()),
        (Some("2"), Some("http_timeout"))
    );
    assert!(
        seen.iter()
            .all(|s| s.verifies && s.event_id == "Ev0SELFTEST")
    );
    // The slow request was not abandoned: its answer arrived after retry 2 left, and retry 2
    // waited Slack's "one minute" after it timed out.
    assert!(attempts[1].answered_at.unwrap() > attempts[2].sent_at);
    assert!(attempts[2].sent_at >= attempts[1].sent_at + timeout + minute);

    // Never answered well: three retries, then Slack gives up.
    let (url, seen) = events_app(vec![(503, Duration::ZERO); 10]);
    let attempts = deliver(&url, "s3cret", &event, schedule).await;
    assert_eq!(attempts.len(), 4);
    assert_eq!(seen.lock().unwrap().len(), 4);
    assert_eq!(
        seen.lock().unwrap()[3].retry_num.as_deref(),
        Some("3"),
        "the last retry"
    );
    assert!(
        attempts[3].sent_at >= attempts[2].sent_at + Duration::from_millis(150),
        "five minutes"
    );
}

/// `chat.postEphemeral` answers as its method reference says: `message_ts`, kept out of the
/// channel's history; refused without a user or for a channel the bot cannot see.
#[tokio::test]
async fn post_ephemeral_answers_like_slack_and_stays_out_of_history() {
    let slack = slack();
    let token = slack.bot_token();
    let (status, answer) = call(
        &slack,
        "chat.postEphemeral",
        Some(&token),
        json!({"channel": DEFAULT_CHANNEL, "user": "U0002", "text": "only you", "thread_ts": "1700000000.000100"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["ok"], true, "{answer}");
    assert!(answer["message_ts"].is_string());
    assert!(slack.api().channel_messages(DEFAULT_CHANNEL).is_empty());
    assert_eq!(slack.api().ephemerals()[0]["user"], "U0002");
    let (_, answer) = call(
        &slack,
        "chat.postEphemeral",
        Some(&token),
        json!({"channel": DEFAULT_CHANNEL, "text": "to nobody"}),
    )
    .await;
    assert_eq!(answer["error"], "user_not_in_channel");
    let (_, answer) = call(
        &slack,
        "chat.postEphemeral",
        Some(&token),
        json!({"channel": "C0NOSUCH", "user": "U0002", "text": "x"}),
    )
    .await;
    assert_eq!(answer["error"], "channel_not_found");
}

/// `views.publish` keeps a Home tab per user and refuses what Slack refuses: more than 100
/// blocks, more than 250 kB, a view that is not a `home`, a bad `user_id`; `users.info`
/// answers for people it was told of, in the shape of the fixtures, needs `users:read`, and
/// says `user_not_found` otherwise.
#[tokio::test]
async fn views_publish_keeps_home_tabs_within_limits_and_users_info_answers() {
    let slack = slack();
    let token = slack.bot_token();
    let home = |blocks: Vec<Value>| json!({"type": "home", "blocks": blocks});
    let section = json!({"type": "section", "text": {"type": "mrkdwn", "text": "hi"}});
    let (status, ok) = call(
        &slack,
        "views.publish",
        Some(&token),
        json!({"user_id": "U07ADA", "view": home(vec![section.clone(); 100])}),
    )
    .await;
    assert_eq!((status, &ok["ok"]), (200, &json!(true)), "{ok}");
    assert_eq!(ok["view"]["type"], "home");
    let first_id = ok["view"]["id"].clone();
    assert_eq!(
        slack.api().home_tab("U07ADA").unwrap()["blocks"]
            .as_array()
            .unwrap()
            .len(),
        100
    );
    // Publishing again replaces the tab and keeps its view id.
    let (_, again) = call(
        &slack,
        "views.publish",
        Some(&token),
        json!({"user_id": "U07ADA", "view": home(vec![section.clone()])}),
    )
    .await;
    assert_eq!(again["view"]["id"], first_id);
    let refused = |answer: &Value| answer["error"].as_str().unwrap_or_default().to_owned();
    let (_, too_many) = call(
        &slack,
        "views.publish",
        Some(&token),
        json!({"user_id": "U07ADA", "view": home(vec![section.clone(); 101])}),
    )
    .await;
    assert_eq!(refused(&too_many), "invalid_arguments");
    assert!(
        too_many
            .to_string()
            .contains("no more than 100 items allowed")
    );
    let big = json!({"type": "section", "text": {"type": "mrkdwn", "text": "x".repeat(2900)}});
    let (_, too_large) = call(
        &slack,
        "views.publish",
        Some(&token),
        json!({"user_id": "U07ADA", "view": home(vec![big; 95])}),
    )
    .await;
    assert_eq!(refused(&too_large), "view_too_large");
    let (_, modal) = call(
        &slack,
        "views.publish",
        Some(&token),
        json!({"user_id": "U07ADA", "view": {"type": "modal", "blocks": [section.clone()]}}),
    )
    .await;
    assert_eq!(refused(&modal), "invalid_arguments");
    let (_, nobody) = call(
        &slack,
        "views.publish",
        Some(&token),
        json!({"user_id": "", "view": home(vec![section])}),
    )
    .await;
    assert!(nobody.to_string().contains("invalid `user_id`"), "{nobody}");
    // users.info.
    slack
        .api()
        .add_user("U09GUEST", "T0009PARTNER", true, true, None);
    let (_, guest) = call_form(&slack, "users.info", &[("user", "U09GUEST")]).await;
    assert_eq!(guest["user"]["team_id"], "T0009PARTNER");
    assert_eq!(guest["user"]["is_owner"], true);
    let (_, unknown) = call_form(&slack, "users.info", &[("user", "U0NOBODY")]).await;
    assert_eq!(refused(&unknown), "user_not_found");
    slack.api().revoke_scope("users:read");
    let (_, scoped) = call_form(&slack, "users.info", &[("user", "U09GUEST")]).await;
    assert_eq!(refused(&scoped), "missing_scope");
    assert_eq!(scoped["needed"], "users:read");
}

/// `functions.completeSuccess` / `completeError` complete an execution once, with its own
/// token only, and refuse what their references refuse (`invalid_arguments`,
/// `function_execution_not_found`, `execution_not_in_running_state`,
/// `parameter_validation_failed`); `chat.getPermalink` links a message that exists.
#[tokio::test]
async fn workflow_steps_complete_once_with_their_own_token() {
    let slack = slack();
    let api = slack.api();
    let (execution, token) = api.start_execution();
    let (other, other_token) = api.start_execution();
    let outputs = json!({"poster_url": "https://files.example/p.png"});
    let success =
        |id: &str, outputs: &Value| json!({"function_execution_id": id, "outputs": outputs});
    // The bot token, another execution's token, none at all.
    for (given, code) in [
        (Some(slack.bot_token()), "invalid_auth"),
        (Some(other_token.clone()), "invalid_auth"),
        (Some("xwfp-made-up".to_owned()), "invalid_auth"),
        (None, "not_authed"),
    ] {
        let (_, answer) = call(
            &slack,
            "functions.completeSuccess",
            given.as_deref(),
            success(&execution, &outputs),
        )
        .await;
        assert_eq!(answer["error"], code, "{given:?}: {answer}");
    }
    // Required arguments, an unknown execution, outputs the manifest does not declare.
    for (body, code) in [
        (json!({"outputs": outputs}), "invalid_arguments"),
        (
            json!({"function_execution_id": execution}),
            "invalid_arguments",
        ),
        (
            success("Fx0NOSUCHONE", &outputs),
            "function_execution_not_found",
        ),
        (
            success(&execution, &json!({"message_link": "https://x"})),
            "parameter_validation_failed",
        ),
        (
            success(&execution, &json!({"poster_url": "https://x", "extra": 1})),
            "parameter_validation_failed",
        ),
    ] {
        let (_, answer) = call(&slack, "functions.completeSuccess", Some(&token), body).await;
        assert_eq!(answer["error"], code, "{answer}");
    }
    assert!(api.execution(&execution).unwrap().completed.is_none());
    let (_, answer) = call(
        &slack,
        "functions.completeSuccess",
        Some(&token),
        success(&execution, &outputs),
    )
    .await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(
        api.execution(&execution).unwrap().completed,
        Some(Ok(outputs.clone()))
    );
    // Once: a second completion of either kind is refused.
    let (_, again) = call(
        &slack,
        "functions.completeError",
        Some(&token),
        json!({"function_execution_id": execution, "error": "late"}),
    )
    .await;
    assert_eq!(again["error"], "execution_not_in_running_state", "{again}");
    // completeError needs its error, and records it.
    let (_, answer) = call(
        &slack,
        "functions.completeError",
        Some(&other_token),
        json!({"function_execution_id": other}),
    )
    .await;
    assert_eq!(answer["error"], "invalid_arguments", "{answer}");
    let (_, answer) = call(
        &slack,
        "functions.completeError",
        Some(&other_token),
        json!({"function_execution_id": other, "error": "The model declined."}),
    )
    .await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(
        api.execution(&other).unwrap().completed,
        Some(Err("The model declined.".to_owned()))
    );
    // chat.getPermalink: a posted message's link; an unknown ts or channel is refused.
    let bot = slack.bot_token();
    let (_, posted) = call(
        &slack,
        "chat.postMessage",
        Some(&bot),
        json!({"channel": DEFAULT_CHANNEL, "text": "hello"}),
    )
    .await;
    let ts = posted["ts"].as_str().unwrap().to_owned();
    let (_, link) = call_form(
        &slack,
        "chat.getPermalink",
        &[("channel", DEFAULT_CHANNEL), ("message_ts", &ts)],
    )
    .await;
    assert_eq!(link["ok"], true, "{link}");
    assert!(
        link["permalink"].as_str().unwrap().ends_with(&format!(
            "/archives/{DEFAULT_CHANNEL}/p{}",
            ts.replace('.', "")
        )),
        "{link}"
    );
    for (channel, ts, code) in [
        (DEFAULT_CHANNEL, "1.000001", "message_not_found"),
        ("C0NOSUCH", ts.as_str(), "channel_not_found"),
    ] {
        let (_, answer) = call_form(
            &slack,
            "chat.getPermalink",
            &[("channel", channel), ("message_ts", ts)],
        )
        .await;
        assert_eq!(answer["error"], code, "{answer}");
    }
}
