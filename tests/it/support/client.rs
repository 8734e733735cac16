//! How the tests reach the function under `cargo lambda watch`: as Slack does (signed forms
//! and payloads, the stack's signing secret), and how they wait for what it sends back.
//! Every stack-using module talks to the function through these helpers, so a change in how
//! Slack signs or what a poster message looks like is made once.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::lambda_async::AsyncInvoke;
use super::watch::Watch;
use super::{slack, stack};

/// How long a job may take to reach Slack. Only a failing test waits this long.
pub const DELIVERY: Duration = Duration::from_secs(90);

/// What the front door answered, and how long it took.
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub took: Duration,
}

/// The base URL of the main function instance, starting the stack and the function (compiling
/// it on first use) off the test's runtime.
pub async fn lambda_base() -> String {
    tokio::task::spawn_blocking(|| stack().lambda().http_base())
        .await
        .unwrap()
}

/// The same for the instance configured with a bot token.
pub async fn bot_base() -> String {
    tokio::task::spawn_blocking(|| stack().lambda_with_bot().http_base())
        .await
        .unwrap()
}

/// The same for the instance with a daily limit per person.
pub async fn limited_base() -> String {
    tokio::task::spawn_blocking(|| stack().lambda_with_limits().http_base())
        .await
        .unwrap()
}

/// POSTs a form body signed as Slack signs it, with `secret`.
pub async fn post_signed_with(secret: &str, url: String, body: String) -> Answer {
    let mut req = marquee_core::net::client().post(url);
    for (k, v) in slack::signed_headers(secret, body.as_bytes()) {
        req = req.header(k, v);
    }
    let started = Instant::now();
    let res = req.body(body).send().await.unwrap();
    let took = started.elapsed();
    let status = res.status().as_u16();
    let body = res.json().await.unwrap_or(Value::Null);
    Answer { status, body, took }
}

/// POSTs a form body signed with the stack's signing secret (a slash command or a click).
pub async fn post_signed(url: String, body: String) -> Answer {
    post_signed_with(stack().signing_secret(), url, body).await
}

/// Sends `/poster <text>` from channel `C0001` to the front door at `base`.
pub async fn slash(base: &str, text: &str, response_url: &str) -> Answer {
    slash_in(base, text, response_url, "C0001").await
}

/// Sends `/poster <text>` from `channel`.
pub async fn slash_in(base: &str, text: &str, response_url: &str, channel: &str) -> Answer {
    let body = slack::slash_command_body(text, response_url)
        .replace("channel_id=C0001", &format!("channel_id={channel}"));
    post_signed(format!("{base}/slack/commands"), body).await
}

/// The image block's URL in a message, if it has one.
pub fn image_url(message: &Value) -> Option<String> {
    message["blocks"]
        .as_array()?
        .iter()
        .find(|b| b["type"] == "image")
        .and_then(|b| b["image_url"].as_str())
        .map(str::to_owned)
}

/// The messages among `messages` that show a poster.
pub fn posters(messages: &[Value]) -> Vec<Value> {
    messages
        .iter()
        .filter(|m| image_url(m).is_some())
        .cloned()
        .collect()
}

/// A poster posted for the whole channel to see.
pub fn is_poster(m: &Value) -> bool {
    m["response_type"] == "in_channel" && image_url(m).is_some()
}

/// Waits for `n` messages at `url`; when they do not come, shows the function's log.
pub async fn wait_messages(url: &str, n: usize) -> Vec<Value> {
    let messages = stack().slack().wait_for(url, n, DELIVERY).await;
    if messages.len() < n {
        eprintln!("--- function log ---\n{}", stack().lambda().log_tail(6000));
    }
    messages
}

/// The bot's poster for `marker` in `channel` (the message carrying its image), waiting up to
/// [`DELIVERY`]; panics with the bot-token instance's log and Web API calls.
pub async fn bot_poster_in(channel: &str, marker: &str) -> Value {
    let api = stack().slack().api();
    super::poll(DELIVERY, || {
        api.channel_messages(channel).into_iter().find(|m| {
            m.to_string().contains(marker) && m["blocks"].to_string().contains("\"image\"")
        })
    })
    .await
    .unwrap_or_else(|| panic!("no poster\n{}", stack().bot_log()))
}

/// Waits for `n` posters at `url`, and panics with the function's log when they do not come.
pub async fn wait_posters(url: &str, n: usize) -> Vec<Value> {
    let found = super::poll(DELIVERY, || {
        let p = posters(&stack().slack().messages(url));
        (p.len() >= n).then_some(p)
    })
    .await;
    found.unwrap_or_else(|| {
        panic!(
            "fewer than {n} posters at {url}: {:?}\n--- images Slack could not fetch ---\n{}\n--- log ---\n{}",
            stack().slack().messages(url),
            failed_fetches(url).join("\n"),
            stack().lambda().log_tail(6000)
        )
    })
}

/// Each image the Slack stand-in failed to fetch for a message posted to `url`: the link's
/// path (its signature stays out of the output), the status if one came, and why.
pub fn failed_fetches(url: &str) -> Vec<String> {
    stack()
        .slack()
        .posts(url)
        .iter()
        .flat_map(|p| &p.images)
        .filter_map(|f| {
            let error = f.error.as_ref()?;
            let path = f.url.split('?').next().unwrap_or_default();
            Some(format!("{path}: status {:?}: {error}", f.status))
        })
        .collect()
}

/// Waits for the first message at `url`, then for the job to return, and gives every message
/// it sent: once the job has returned it can post nothing more, so duplicates are in too.
pub async fn finish(url: &str, marker: &str) -> Vec<Value> {
    finish_on(stack().lambda(), stack().invoke(), url, marker).await
}

/// [`finish`] for a job run by another function instance (`lambda`, invoked via `invoke`).
pub async fn finish_on(
    lambda: &Watch,
    invoke: &AsyncInvoke,
    url: &str,
    marker: &str,
) -> Vec<Value> {
    let first = stack().slack().wait_for(url, 1, DELIVERY).await;
    if first.is_empty() {
        panic!(
            "{marker}: no message arrived\n--- function log ---\n{}",
            lambda.log_tail(6000)
        );
    }
    job_finished_on(lambda, invoke, url).await;
    stack().slack().messages(url)
}

/// Waits until the one job answering at `url` has returned.
pub async fn job_finished(url: &str) {
    job_finished_on(stack().lambda(), stack().invoke(), url).await;
}

async fn job_finished_on(lambda: &Watch, invoke: &AsyncInvoke, url: &str) {
    let done = invoke.wait_finished(url, 1, DELIVERY).await;
    assert_eq!(
        done.len(),
        1,
        "the job did not finish\n--- function log ---\n{}",
        lambda.log_tail(6000)
    );
}

/// GETs `url` (a link the function serves) with `client`, as a person's browser would, and
/// gives its status, headers and body. `cargo lambda watch` sometimes fails one request by
/// itself: it answers 500 with its own problem document, or (seen once, on a loaded two-core
/// run) never answers at all — emulator failures with no counterpart in API Gateway and Lambda
/// (see `support::slack`'s `download`). Those, and only those, are retried once; each attempt
/// gets [`LINK_TIMEOUT`], so a link that never answers fails the test instead of hanging it.
pub async fn get_link(
    client: &reqwest::Client,
    url: &str,
) -> (u16, reqwest::header::HeaderMap, bytes::Bytes) {
    // The link's query is its signature: kept out of the test output.
    let path = url.split('?').next().unwrap_or_default();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let answer = async {
            let response = client.get(url).timeout(LINK_TIMEOUT).send().await?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, headers, body))
        }
        .await;
        let (status, headers, body) = match answer {
            Ok(answer) => answer,
            Err(e) if e.is_timeout() && attempt == 1 => {
                eprintln!("no answer for {path} within {LINK_TIMEOUT:?}; retrying once");
                continue;
            }
            Err(e) => panic!("GET {path}: {e}"),
        };
        let emulator = status == 500
            && body
                .windows(super::slack::EMULATOR_PROBLEM.len())
                .any(|w| w == super::slack::EMULATOR_PROBLEM.as_bytes());
        if emulator && attempt == 1 {
            // Its `detail` says what the emulator could not do; kept in the test output so the
            // cause can be found.
            eprintln!(
                "cargo lambda watch answered its own 500 for {path}: {}; retrying once",
                String::from_utf8_lossy(&body)
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        }
        return (status, headers, body);
    }
}

/// How long one GET of a link may take: a poster or a redirect is answered in well under a
/// second, even in the dev build.
const LINK_TIMEOUT: Duration = Duration::from_secs(30);
