//! Faults on the real local stack: Bedrock failing in every documented way, Slack refusing or
//! stalling, and SeaweedFS going away mid-run. For each: bounded retries where the error is
//! retryable, then exactly one clear message to the requester (or, when Slack itself cannot be
//! reached, no duplicate post) — never a poster billed twice, never silence.

use std::time::Duration;

use crate::support;
use crate::support::bedrock::Fault;
use crate::support::client::{
    DELIVERY, finish, finish_on, is_poster, job_finished, lambda_base, slash,
};
use crate::support::slack::Fault as SlackFault;
use crate::support::stack;
use serde_json::Value;

/// Sends `/poster <marker> …` and returns every message that reached the response_url once
/// the job is done (a short quiet period after the first one catches duplicates).
async fn run(marker: &str, extra: &str) -> Vec<Value> {
    let base = lambda_base().await;
    let url = stack().slack().response_url();
    assert_eq!(
        slash(
            &base,
            &format!("{marker} a lighthouse at night {extra}"),
            &url
        )
        .await
        .status,
        200
    );
    finish(&url, marker).await
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_bedrock_errors_are_retried_until_the_poster_arrives() {
    for (marker, fault) in [
        ("F-500", Fault::InternalError),
        ("F-503", Fault::Unavailable),
        ("F-NOTREADY", Fault::ModelNotReady),
    ] {
        stack().bedrock().fault_for_prompt(marker, fault, 2);
        let messages = run(marker, "").await;
        assert_eq!(messages.len(), 1, "{marker}: {messages:?}");
        assert!(is_poster(&messages[0]), "{marker}: {}", messages[0]);
        assert_eq!(
            stack().bedrock().calls_for_prompt(marker).len(),
            3,
            "{marker}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_persistent_outage_is_explained_after_bounded_attempts() {
    stack()
        .bedrock()
        .fault_for_prompt("F-DOWN", Fault::Unavailable, 100);
    let messages = run("F-DOWN", "").await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["response_type"], "ephemeral");
    assert!(
        messages[0].to_string().contains("having trouble"),
        "{}",
        messages[0]
    );
    assert_eq!(stack().bedrock().calls_for_prompt("F-DOWN").len(), 4);
}

/// A model call Marquee gives up on (the stand-in answers after the function's 5 s call
/// timeout) was sent: Bedrock finishes and bills it. So it is made once — never retried —,
/// counted as billed (its ledger line is written, nothing refunded), and the user is told in
/// plain words, once.
#[tokio::test(flavor = "multi_thread")]
async fn a_model_call_abandoned_on_timeout_is_billed_once_and_explained() {
    stack()
        .bedrock()
        .fault_for_prompt("F-HANG", Fault::Hang(Duration::from_secs(20)), 10);
    let base = lambda_base().await;
    let url = stack().slack().response_url();
    let answer = slash(&base, "F-HANG a lighthouse at night", &url).await;
    assert_eq!(answer.status, 200);
    let messages = finish(&url, "F-HANG").await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let text = messages[0].to_string();
    assert!(
        text.contains("stopped waiting") && text.contains("billed"),
        "{text}"
    );
    assert_eq!(
        stack().bedrock().calls_for_prompt("F-HANG").len(),
        1,
        "a call given up on is never sent again"
    );
    // Counted as billed: the job's ledger line exists (a refund writes none).
    let jobs = stack().invoke().invocations_with(&url);
    assert_eq!(jobs.len(), 1, "one job");
    let payload = String::from_utf8_lossy(&jobs[0].payload).into_owned();
    let lines = ledger_lines().await;
    let charged: Vec<&Value> = lines
        .iter()
        .filter(|l| l["job"].as_str().is_some_and(|j| payload.contains(j)))
        .collect();
    assert_eq!(charged.len(), 1, "{lines:?}");
    assert!(
        charged[0]["micros"].as_i64().unwrap_or_default() > 0,
        "{lines:?}"
    );
}

/// Every usage-ledger line in the state table (`ledger#…` items, see
/// `src/pipeline/metering.rs`), parsed.
async fn ledger_lines() -> Vec<Value> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let s = stack();
    let out = s
        .dynamo()
        .admin_client()
        .scan()
        .table_name(s.dynamo().table())
        .filter_expression("begins_with(pk, :ledger)")
        .expression_attribute_values(":ledger", AttributeValue::S("ledger#".into()))
        .send()
        .await
        .expect("scanning the state table");
    out.items()
        .iter()
        .filter_map(|item| item.get("v").and_then(|v| v.as_s().ok()))
        .filter_map(|v| serde_json::from_str(v).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_that_are_not_images_are_explained_without_retrying() {
    for (marker, fault, needle) in [
        ("F-OUTPUT", Fault::FilterOutput, "blocked the picture"),
        (
            "F-MALFORMED",
            Fault::MalformedJson,
            "went wrong while generating",
        ),
        (
            "F-NOTIMAGE",
            Fault::NotAnImage,
            "went wrong while generating",
        ),
        ("F-TIMEOUTX", Fault::ModelTimeout, "took too long"),
    ] {
        stack().bedrock().fault_for_prompt(marker, fault, 100);
        let messages = run(marker, "").await;
        assert_eq!(messages.len(), 1, "{marker}: {messages:?}");
        assert_eq!(messages[0]["response_type"], "ephemeral", "{marker}");
        assert!(
            messages[0].to_string().contains(needle),
            "{marker}: {}",
            messages[0]
        );
        let calls = stack().bedrock().calls_for_prompt(marker).len();
        // A model-side timeout is retried once; a response that cannot be read is not.
        let expected = if marker == "F-TIMEOUTX" { 2 } else { 1 };
        assert_eq!(calls, expected, "{marker}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flaky_slack_gets_the_poster_exactly_once() {
    let base = lambda_base().await;
    let url = stack().slack().response_url();
    stack().slack().fault_for(&url, SlackFault::ServerError, 2);
    assert_eq!(
        slash(&base, "F-SLACK500 a lighthouse at night", &url)
            .await
            .status,
        200
    );
    let messages = finish(&url, "F-SLACK500").await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(is_poster(&messages[0]));
    let posts = stack().slack().posts(&url);
    assert_eq!(posts.len(), 3, "two refused, one accepted: {posts:?}");
    assert_eq!(posts.iter().filter(|p| p.accepted()).count(), 1);
    assert_eq!(
        stack().bedrock().calls_for_prompt("F-SLACK500").len(),
        1,
        "billed once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_response_url_is_not_hammered() {
    let base = lambda_base().await;
    let url = stack().slack().response_url();
    stack().slack().fault_for(&url, SlackFault::Expired, 100);
    assert_eq!(
        slash(&base, "F-EXPIRED a lighthouse at night", &url)
            .await
            .status,
        200
    );
    // The poster is made once; the one post is refused with expired_url and not retried.
    let posts = support::poll(DELIVERY, || {
        let p = stack().slack().posts(&url);
        (!p.is_empty()).then_some(p)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "no post attempt\n--- function log ---\n{}",
            stack().lambda().log_tail(8000)
        )
    });
    job_finished(&url).await;
    let posts_after = stack().slack().posts(&url);
    assert_eq!(posts_after.len(), posts.len().max(1), "{posts_after:?}");
    assert_eq!(posts_after.len(), 1, "{posts_after:?}");
    assert!(!posts_after[0].accepted());
    assert_eq!(stack().bedrock().calls_for_prompt("F-EXPIRED").len(), 1);
    // The worker's error reaches the failure destination, which knows Slack refused this
    // response_url and posts nothing more to it.
    assert_eq!(stack().invoke().deliveries_with(&url).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn losing_storage_mid_run_is_explained_and_recovers() {
    // Its own SeaweedFS and function instance: stopping the shared one would fail every test
    // running beside this one.
    let (s3, instance) = tokio::task::spawn_blocking(|| stack().own_storage())
        .await
        .unwrap();
    let lambda = instance.watch();
    let base = lambda.http_base();
    tokio::task::spawn_blocking(|| s3.stop()).await.unwrap();
    let url = stack().slack().response_url();
    assert_eq!(
        slash(&base, "F-NOS3 a lighthouse at night", &url)
            .await
            .status,
        200
    );
    let messages = finish_on(lambda, instance.invoke(), &url, "F-NOS3").await;
    tokio::task::spawn_blocking(|| s3.restart())
        .await
        .unwrap()
        .expect("SeaweedFS restarts");
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].to_string().contains("could not be saved"),
        "{}",
        messages[0]
    );

    // Once storage is back, the next poster goes through.
    let url = stack().slack().response_url();
    assert_eq!(
        slash(&base, "F-S3BACK a lighthouse at night", &url)
            .await
            .status,
        200
    );
    let messages = finish_on(lambda, instance.invoke(), &url, "F-S3BACK").await;
    assert!(
        is_poster(&messages[0]),
        "{}\n--- function log ---\n{}",
        messages[0],
        lambda.log_tail(6000)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn when_slack_cannot_fetch_the_image_the_link_is_posted_instead() {
    let base = lambda_base().await;
    let url = stack().slack().response_url();
    stack()
        .slack()
        .fault_for(&url, SlackFault::ImageFetchFails, 5);
    assert_eq!(
        slash(&base, "F-NOFETCH a lighthouse at night", &url)
            .await
            .status,
        200
    );
    let messages = finish(&url, "F-NOFETCH").await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let m = &messages[0];
    assert_eq!(m["response_type"], "in_channel");
    assert!(
        m["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["type"] != "image"),
        "{m}"
    );
    assert!(m.to_string().contains("Open the poster"), "{m}");
    let posts = stack().slack().posts(&url);
    assert_eq!(
        posts.len(),
        2,
        "the refused post, then the link-only one: {posts:?}"
    );
    assert_eq!(
        stack().bedrock().calls_for_prompt("F-NOFETCH").len(),
        1,
        "billed once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_slack_never_gets_a_duplicate_poster() {
    let base = lambda_base().await;
    let url = stack().slack().response_url();
    // Longer than the client's 15 s timeout: the post may or may not have landed, so it is
    // not repeated; at most one poster can appear.
    stack()
        .slack()
        .fault_for(&url, SlackFault::Hang(Duration::from_secs(20)), 1);
    assert_eq!(
        slash(&base, "F-STALL a lighthouse at night", &url)
            .await
            .status,
        200
    );
    job_finished(&url).await;
    let accepted: Vec<_> = stack()
        .slack()
        .posts(&url)
        .into_iter()
        .filter(|p| p.accepted())
        .collect();
    let posters = accepted
        .iter()
        .filter(|p| p.body["response_type"] == "in_channel")
        .count();
    assert!(posters <= 1, "{accepted:?}");
    assert_eq!(
        stack().bedrock().calls_for_prompt("F-STALL").len(),
        1,
        "billed once"
    );
}

/// A worker that cannot tell anyone is told about through Lambda's on-failure destination.
/// Slack answers 500 to all three attempts at the poster and all three at the failure message,
/// so the worker gives up, logs and returns an error; Lambda (the stand-in, following
/// template.yaml) records the invocation in the destination queue, which the function reads,
/// and Slack, up again, takes the one message that says the poster could not be finished.
/// Without the destination in the template, nothing ever reaches the requester.
#[tokio::test(flavor = "multi_thread")]
async fn a_worker_that_cannot_tell_anyone_is_told_about_through_the_failure_destination() {
    let base = lambda_base().await;
    let url = stack().slack().response_url();
    stack().slack().fault_for(&url, SlackFault::ServerError, 6);
    assert_eq!(
        slash(&base, "F-DEST a lighthouse at night", &url)
            .await
            .status,
        200
    );
    let messages = finish(&url, "F-DEST").await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let text = messages[0].to_string();
    for expected in [
        "Your poster could not be finished.",
        "couldn't reach Slack",
        "Please try again",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    assert_eq!(messages[0]["response_type"], "ephemeral");

    let posts = stack().slack().posts(&url);
    assert_eq!(
        posts.len(),
        7,
        "six refused, then the destination's: {posts:?}"
    );
    assert_eq!(posts.iter().filter(|p| p.accepted()).count(), 1);
    let done = stack().invoke().wait_finished(&url, 1, DELIVERY).await;
    // watch answers a function error with a 500 and the error as body.
    let worker: Value = serde_json::from_slice(&done[0].body).unwrap();
    assert_eq!(
        worker["errorType"], "Undeliverable.SlackUnreachable",
        "the worker's invocation failed"
    );
    let deliveries = stack().invoke().deliveries_with(&url);
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].function_error, None);
    let answer: Value = serde_json::from_slice(&deliveries[0].body).unwrap();
    assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
    assert_eq!(
        stack().bedrock().calls_for_prompt("F-DEST").len(),
        1,
        "billed once"
    );
}

/// The front door's replay guard is a conditional write. DynamoDB applies it, but its answer is
/// lost (a 500 after the write, as the proxy plays it); the SDK retries the same put, which now
/// finds the item. That item is this request's own claim: the command is acked and its poster
/// delivered once, not taken for a replay and dropped with an empty answer.
#[tokio::test(flavor = "multi_thread")]
async fn a_claim_whose_write_landed_but_whose_answer_was_lost_is_still_ours() {
    use sha2::Digest;
    use support::dynamo::Fault as DynamoFault;

    let base = lambda_base().await;
    let url = stack().slack().response_url();
    let marker = "F-LOSTCLAIM";
    let body = support::slack::slash_command_body(&format!("{marker} a lighthouse at night"), &url);
    let headers = support::slack::signed_headers(stack().signing_secret(), body.as_bytes());
    let signature = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("x-slack-signature"))
        .map(|(_, value)| value.clone())
        .unwrap();
    // The replay guard's item, as `pipeline::records` keys it: the signature's SHA-256.
    let pk = format!(
        "request#{}",
        hex::encode(sha2::Sha256::digest(signature.as_bytes()))
    );
    stack()
        .dynamo()
        .fault_for_item("PutItem", &pk, DynamoFault::AppliedThenInternalError, 1);

    let mut request = marquee_core::net::client().post(format!("{base}/slack/commands"));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let answer = request.body(body).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let ack = answer.text().await.unwrap();
    assert!(
        ack.contains("Generating"),
        "the command was taken for a replay: {ack:?}\n--- function log ---\n{}",
        stack().lambda().log_tail(4000)
    );
    assert_eq!(
        stack().dynamo().faults_played("PutItem", &pk),
        1,
        "the fault was not played"
    );
    // The first put (applied, answer lost) and the SDK's retry of it.
    assert_eq!(stack().dynamo().calls_for_item("PutItem", &pk).len(), 2);

    let messages = finish(&url, marker).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(is_poster(&messages[0]), "{}", messages[0]);
    assert_eq!(
        stack().bedrock().calls_for_prompt(marker).len(),
        1,
        "billed once"
    );
}
