//! The Slack stand-in proves itself: its Web API side (`chat.postMessage`, `chat.update`, the
//! external file upload) and the Block Kit limits shared with `response_url` posts are driven
//! with reqwest, with the same requests the product sends, and must answer as Slack does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use support::slack::Slack;
use support::slack_api::{ApiFault, Auth, DEFAULT_CHANNEL};

/// A minimal PNG signature; the stand-in sniffs only the magic bytes.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

/// A fresh stand-in per test, so tests keep apart without sharing state.
fn slack() -> Slack {
    Slack::start()
}

/// POSTs JSON to a Web API method as the product does; returns status and body.
async fn call(slack: &Slack, method: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = reqwest::Client::new()
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
    let res = reqwest::Client::new()
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
    slack.api().set_member("C0002", false);
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
    let res = reqwest::Client::new()
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
    let res = reqwest::Client::new()
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
    let res = reqwest::Client::new()
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

    let res = reqwest::Client::new()
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

#[tokio::test]
async fn multipart_upload_with_a_form_complete() {
    let slack = slack();
    let (_, ticket) = call_form(
        &slack,
        "files.getUploadURLExternal",
        &[("filename", "p.png"), ("length", &PNG.len().to_string())],
    )
    .await;
    let boundary = "XyZBoundary42";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(PNG);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let res = reqwest::Client::new()
        .post(ticket["upload_url"].as_str().unwrap())
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);

    let files = json!([{"id": ticket["file_id"]}]).to_string();
    let (_, done) = call_form(&slack, "files.completeUploadExternal", &[("files", &files)]).await;
    assert_eq!(done["ok"], true, "{done}");
    let file = &slack.api().files()[0];
    assert!(file.completed && file.channel_id.is_none());
    assert_eq!(&file.bytes[..], PNG);
    assert_eq!(
        file.title.as_deref(),
        Some("p.png"),
        "the title defaults to the filename"
    );
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
    let res = reqwest::Client::new()
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
    reqwest::Client::new()
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
