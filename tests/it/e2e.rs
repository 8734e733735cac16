//! End to end on real local parts: the `marquee-lambda` binary under `cargo lambda watch`,
//! SeaweedFS's S3 gateway with authentication on, and wire-exact Bedrock and Slack stand-ins,
//! all reached through the standard `AWS_ENDPOINT_URL_*` variables and the response-URL
//! allow-list (see `tests/it/support/`). A signed slash command travels the whole way: ack,
//! asynchronous self-invoke, Bedrock, S3, a signed link served by the function from the
//! bucket, and the Slack message whose image
//! Slack's stand-in downloads at post time, as Slack does.

use std::time::Duration;

use crate::support;
use crate::support::bedrock::Fault;
use crate::support::client::{
    Answer, DELIVERY, get_link, image_url, lambda_base, post_signed_with, slash, wait_messages,
};
use crate::support::{slack, stack};
use serde_json::Value;

/// GETs a poster link the function serves (through [`get_link`], which rides out
/// `cargo lambda watch`'s own one-off 500s and nothing else) and gives its status and, when
/// the body is an image, its size.
async fn png_size(url: &str) -> (u16, Option<(u32, u32)>) {
    let (status, _, bytes) = get_link(&marquee_core::net::client(), url).await;
    let size = marquee_core::model::image::decode_image(&bytes)
        .ok()
        .map(|p| (p.width(), p.height()));
    (status, size)
}

/// The first message at the response URL `url` that shows a poster; without one in time, a
/// panic naming `what` with the function's log.
async fn poster_at(url: &str, what: &str) -> Value {
    let s = stack();
    support::poll(DELIVERY, || {
        s.slack()
            .messages(url)
            .into_iter()
            .find(|m| image_url(m).is_some())
    })
    .await
    .unwrap_or_else(|| panic!("no poster for {what}\n{}", s.lambda().log_tail(6000)))
}

/// The status a link the function serves answers with.
async fn link_status(url: &str) -> u16 {
    get_link(&marquee_core::net::client(), url).await.0
}

/// Changes one hex digit of a poster link's signature.
fn tamper(url: &str) -> String {
    let at = url.find("&sig=").expect("a signed poster link") + "&sig=".len();
    let mut bytes = url.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    String::from_utf8(bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slash_command_becomes_a_poster_in_the_channel() {
    let base = lambda_base().await;
    let s = stack();
    let url = s.slack().response_url();
    let text = "E2E-SD35 a lighthouse keeper fights a kraken --title “The Keeper” --tagline 'The sea wants him back' --seed 42 --style horror";

    let Answer {
        status,
        body: ack,
        took: latency,
    } = slash(&base, text, &url).await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(ack["response_type"], "ephemeral");
    assert!(
        ack["text"]
            .as_str()
            .unwrap()
            .contains("Generating your poster"),
        "{ack}"
    );
    assert!(latency < Duration::from_secs(3), "ack took {latency:?}");
    eprintln!("ack latency through cargo lambda watch: {latency:?}");

    let messages = wait_messages(&url, 1).await;
    assert_eq!(messages.len(), 1, "exactly one message: {messages:?}");
    let m = &messages[0];
    assert_eq!(m["response_type"], "in_channel", "{m}");
    let text = m.to_string();
    for needle in [
        "The Keeper",
        "<@U0001>",
        "seed 42",
        "Stable Diffusion 3.5 Large",
        "832×1216",
        "<!date^",
    ] {
        assert!(text.contains(needle), "missing {needle}: {m}");
    }
    // Slack's stand-in fetched the image when the message was posted, and accepted it.
    let posts = s.slack().posts(&url);
    assert!(posts.iter().all(|p| p.accepted()), "{posts:?}");

    // The link is the function's own, signed, read from SeaweedFS by the function, serving
    // a PNG of the model's size; it carries no storage credential.
    let link = image_url(m).expect("an image block");
    assert!(
        link.starts_with(&format!("{base}/files/posters/")),
        "{link}"
    );
    assert!(!link.contains("X-Amz"), "{link}");
    assert_eq!(png_size(&link).await, (200, Some((832, 1216))));
    assert_eq!(link_status(&tamper(&link)).await, 403);
    let unsigned = link.split('?').next().unwrap();
    assert_eq!(link_status(unsigned).await, 403);

    // The function's own timings, for BENCHMARKS.md's "overhead beyond the model" figure.
    for line in stack().lambda().log_tail(200_000).lines() {
        if line.contains("\"poster rendered\"") || line.contains("\"poster delivered\"") {
            eprintln!("function log: {line}");
        }
    }

    // Bedrock got exactly one request in SD3.5's format, with the style and the negatives.
    let calls = s.bedrock().calls_for_prompt("E2E-SD35");
    assert_eq!(calls.len(), 1, "{calls:?}");
    let body = &calls[0].body;
    assert_eq!(calls[0].model_id, "stability.sd3-5-large-v1:0");
    assert_eq!(body["aspect_ratio"], "2:3");
    assert_eq!(body["seed"], 42);
    assert_eq!(body["output_format"], "png");
    assert!(
        body["prompt"]
            .as_str()
            .unwrap()
            .contains("horror movie poster"),
        "{body}"
    );
    assert!(
        body["negative_prompt"]
            .as_str()
            .unwrap()
            .contains("watermark"),
        "{body}"
    );
}

/// Amazon Nova Canvas reached end of life on 2026-09-30: `--model nova` is answered at the
/// door, naming the date and what to use instead (this deployment's models); nothing is
/// queued, called or billed.
#[tokio::test(flavor = "multi_thread")]
async fn a_retired_model_is_refused_at_the_door_with_what_to_use_instead() {
    let base = lambda_base().await;
    let s = stack();
    let url = s.slack().response_url();
    let Answer { status, body, .. } = slash(
        &base,
        "E2E-NOVA a derelict starship wakes up --model nova --ar 16:9",
        &url,
    )
    .await;
    assert_eq!(status, 200);
    let text = body.to_string();
    assert!(
        text.contains("Amazon Nova Canvas") && text.contains("2026-09-30"),
        "{text}"
    );
    assert!(text.contains("sd3.5, core, ultra, offline"), "{text}");
    assert!(s.invoke().invocations_with(&url).is_empty());
    assert!(s.bedrock().calls_for_prompt("E2E-NOVA").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rest_door_answers_with_a_signed_link() {
    let base = lambda_base().await;
    let s = stack();
    // The door queues the job to the worker (a self-invoke, as for Slack) and, asked to wait,
    // polls its status record in the state table until the poster is done.
    let res = marquee_core::net::client()
        .post(format!("{base}/v1/posters"))
        .header("prefer", "wait=25")
        .json(&serde_json::json!({"prompt": "E2E-REST a quiet harbour at dawn", "aspect_ratio": "1:1", "model": "core", "seed": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "done", "{body}");
    let status_url = body["status_url"].as_str().unwrap();
    assert_eq!(
        status_url,
        format!("{base}/v1/posters/{}", body["id"].as_str().unwrap())
    );
    let again: Value =
        serde_json::from_slice(&get_link(&marquee_core::net::client(), status_url).await.2)
            .unwrap();
    assert_eq!(again["status"], "done", "{again}");
    assert_eq!(body["model"], "core");
    assert_eq!(body["seed"], 7);
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(1024), Some(1024))
    );
    let link = body["url"].as_str().unwrap();
    assert_eq!(png_size(link).await, (200, Some((1024, 1024))));
    assert_eq!(link_status(&tamper(link)).await, 403);
    assert_eq!(
        s.bedrock().calls_for_prompt("E2E-REST")[0].model_id,
        "stability.stable-image-core-v1:1"
    );

    let bad = marquee_core::net::client()
        .post(format!("{base}/v1/posters"))
        .json(&serde_json::json!({"prompt": "x", "steps": 50}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_and_stale_signatures_are_refused_with_no_work_done() {
    let base = lambda_base().await;
    let s = stack();
    let url = s.slack().response_url();
    let Answer { status, body, .. } = post_signed_with(
        "not-the-signing-secret",
        format!("{base}/slack/commands"),
        slack::slash_command_body("E2E-BADSIG a cat", &url),
    )
    .await;
    assert_eq!(status, 401, "{body}");

    // A correct signature made six minutes ago.
    let form = slack::slash_command_body("E2E-BADSIG a cat", &url);
    let old = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 360;
    let res = marquee_core::net::client()
        .post(format!("{base}/slack/commands"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", old.to_string())
        .header(
            "x-slack-signature",
            slack::signature(s.signing_secret(), old, form.as_bytes()),
        )
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);

    // The front door queues a job before it acks, so once the 401s are in, no job can appear:
    // nothing was queued, hence nothing was drawn or posted.
    assert!(s.invoke().invocations_with(&url).is_empty());
    assert!(s.bedrock().calls_for_prompt("E2E-BADSIG").is_empty());
    assert!(s.slack().messages(&url).is_empty());
}

/// Bedrock's Stable Image pages document `seeds` as strings: an answer in that shape still
/// delivers its (already billed) poster, with the seed it names, from one call.
#[tokio::test(flavor = "multi_thread")]
async fn seeds_given_as_strings_still_deliver_the_poster() {
    let base = lambda_base().await;
    let s = stack();
    s.bedrock()
        .fault_for_prompt("E2E-STRSEED", Fault::SeedsAsStrings, 1);
    let url = s.slack().response_url();
    let Answer { status, .. } = slash(
        &base,
        "E2E-STRSEED a lighthouse at dawn --model core --seed 4242",
        &url,
    )
    .await;
    assert_eq!(status, 200);
    let messages = wait_messages(&url, 1).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(image_url(&messages[0]).is_some(), "{}", messages[0]);
    assert!(messages[0].to_string().contains("4242"), "{}", messages[0]);
    let calls = s.bedrock().calls_for_prompt("E2E-STRSEED");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].fault, Some(Fault::SeedsAsStrings));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filtered_prompt_is_explained_to_the_requester() {
    let base = lambda_base().await;
    let s = stack();
    s.bedrock()
        .fault_for_prompt("E2E-FILTER", Fault::FilterPrompt, 1);
    let url = s.slack().response_url();
    let Answer { status, .. } =
        slash(&base, "E2E-FILTER something the filter dislikes", &url).await;
    assert_eq!(status, 200);
    let messages = wait_messages(&url, 1).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["response_type"], "ephemeral");
    let text = messages[0].to_string();
    assert!(
        text.contains("safety filter") && text.contains("rephras"),
        "{text}"
    );
    // A filtered prompt is not retried: it would be filtered again.
    assert_eq!(s.bedrock().calls_for_prompt("E2E-FILTER").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_is_retried_then_explained_when_it_persists() {
    let base = lambda_base().await;
    let s = stack();

    // Twice throttled, then served: the poster arrives and nothing is posted twice.
    s.bedrock()
        .fault_for_prompt("E2E-THROTTLE-2", Fault::Throttle, 2);
    let url = s.slack().response_url();
    slash(&base, "E2E-THROTTLE-2 a busy night", &url).await;
    let messages = wait_messages(&url, 1).await;
    assert_eq!(
        messages[0]["response_type"], "in_channel",
        "{}",
        messages[0]
    );
    assert_eq!(s.bedrock().calls_for_prompt("E2E-THROTTLE-2").len(), 3);

    // Throttled every time: a bounded number of attempts, then one clear message.
    s.bedrock()
        .fault_for_prompt("E2E-THROTTLE-ALL", Fault::Throttle, 100);
    let url = s.slack().response_url();
    slash(&base, "E2E-THROTTLE-ALL a busier night", &url).await;
    let messages = wait_messages(&url, 1).await;
    assert_eq!(messages[0]["response_type"], "ephemeral");
    assert!(
        messages[0].to_string().contains("busy right now"),
        "{}",
        messages[0]
    );
    assert_eq!(s.bedrock().calls_for_prompt("E2E-THROTTLE-ALL").len(), 4);
    // Once the worker has returned it can post nothing more.
    assert_eq!(s.invoke().wait_finished(&url, 1, DELIVERY).await.len(), 1);
    assert_eq!(s.slack().messages(&url).len(), 1, "exactly one message");
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_tells_the_user_to_ask_the_admin() {
    let base = lambda_base().await;
    let s = stack();
    s.bedrock()
        .fault_for_prompt("E2E-DENIED", Fault::AccessDenied, 1);
    let url = s.slack().response_url();
    slash(&base, "E2E-DENIED a locked door", &url).await;
    let messages = wait_messages(&url, 1).await;
    let text = messages[0].to_string();
    assert!(
        text.contains("admin") && text.contains("model access"),
        "{text}"
    );
    assert_eq!(
        s.bedrock().calls_for_prompt("E2E-DENIED").len(),
        1,
        "not retryable"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn help_and_mistakes_are_answered_at_the_door() {
    let base = lambda_base().await;
    let s = stack();
    let url = s.slack().response_url();
    let Answer {
        status, body: help, ..
    } = slash(&base, "help", &url).await;
    assert_eq!(status, 200);
    assert!(help.to_string().contains("Make a movie poster"), "{help}");
    // The card lists exactly this deployment's models, each one the catalog offers: never a
    // retired one (the method's "model facts come from one catalog").
    let listed: Vec<String> = help
        .to_string()
        .split("• `")
        .skip(1)
        .filter_map(|line| line.split_once('`').map(|(name, _)| name.to_owned()))
        .filter(|name| {
            marquee_core::model::ModelId::ALL
                .iter()
                .any(|m| m.short_name() == name)
        })
        .collect();
    assert_eq!(listed, ["sd3.5", "core", "ultra", "offline"], "{help}");
    for name in &listed {
        let model = marquee_core::model::ModelId::ALL
            .into_iter()
            .find(|m| m.short_name() == name)
            .unwrap();
        assert!(model.is_offered(), "{name} is retired but listed");
    }
    let Answer {
        status,
        body: wrong,
        ..
    } = slash(&base, "E2E-WRONG a cat --ar 7:3", &url).await;
    assert_eq!(status, 200);
    assert!(wrong.to_string().contains("7:3"), "{wrong}");
    // Answered at the door: no job was queued (the door queues before it answers).
    assert!(s.invoke().invocations_with(&url).is_empty());
    assert!(s.bedrock().calls_for_prompt("E2E-WRONG").is_empty());
    assert!(s.slack().messages(&url).is_empty());
}

/// The ack never waits for the work: with the model stalled well past Slack's 3 seconds, the
/// command is still acked in time, by exactly one asynchronous (`Event`) self-invocation
/// carrying the job. Wiring the front door to run the worker inline, or to invoke it
/// synchronously, fails here.
#[tokio::test(flavor = "multi_thread")]
async fn the_ack_never_waits_for_a_slow_model() {
    let base = lambda_base().await;
    let s = stack();
    s.bedrock()
        .fault_for_prompt("E2E-SLOWMODEL", Fault::Hang(Duration::from_secs(4)), 1);
    let url = s.slack().response_url();
    let Answer {
        status,
        body: ack,
        took: latency,
    } = slash(
        &base,
        "E2E-SLOWMODEL a glacier creeping --model sd3.5",
        &url,
    )
    .await;
    assert_eq!(status, 200, "{ack}");
    assert!(
        latency < Duration::from_secs(3),
        "the ack took {latency:?} with the model stalled"
    );
    let invocations = s.invoke().invocations_with(&url);
    assert_eq!(
        invocations.len(),
        1,
        "exactly one invocation: {invocations:?}"
    );
    assert_eq!(invocations[0].invocation_type, "Event");
    assert_eq!(invocations[0].json()["marquee_job"], 1);

    // The stalled model still ends in exactly one message, however the job ends.
    let done = s.invoke().wait_finished(&url, 1, DELIVERY).await;
    assert_eq!(done.len(), 1, "the job did not finish");
    assert_eq!(s.slack().messages(&url).len(), 1);
    assert_eq!(
        s.invoke().invocations_with(&url).len(),
        1,
        "never re-invoked"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_titles_reach_slack_escaped_and_broadcast_nothing() {
    let base = lambda_base().await;
    let s = stack();
    let url = s.slack().response_url();
    let Answer { status, body: ack, .. } = slash(
        &base,
        "E2E-HOSTILE a quiet harbour <!everyone> --title \"<!channel> <https://evil.example|free pizza>\" --tagline \"<!here> <@U0BOSS>\"",
        &url)
    .await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(slack::broadcast_violations(&ack), Vec::<String>::new());
    let poster = poster_at(&url, "the hostile title").await;
    assert!(
        poster["text"]
            .as_str()
            .unwrap()
            .contains("&lt;!channel&gt;"),
        "{poster}"
    );
    let violations: Vec<_> = s
        .slack()
        .posts(&url)
        .into_iter()
        .flat_map(|p| p.violations)
        .collect();
    assert!(violations.is_empty(), "{violations:#?}");
}

/// A Japanese title is set (from the fonts layer, vertically in the noir look) and the
/// message says nothing is missing; a title in a script no font has is still delivered, and
/// the message names the characters left out.
#[tokio::test(flavor = "multi_thread")]
async fn titles_in_other_scripts_are_set_and_only_missing_characters_are_named() {
    let base = lambda_base().await;
    let s = stack();
    for (prompt, title, missing) in [
        (
            "E2E-SCRIPTS 東京の夜 a neon city at night",
            "東京の夜",
            false,
        ),
        (
            "E2E-SCRIPTS a camel caravan at dusk",
            "قافلة الصحراء 🐪",
            false,
        ),
        ("E2E-SCRIPTS a quiet valley", "ሰላም", true),
    ] {
        let url = s.slack().response_url();
        let command = format!("{prompt} --style noir --title \"{title}\"");
        let Answer { status, body, .. } = slash(&base, &command, &url).await;
        assert_eq!(status, 200, "{body}");
        let poster = poster_at(&url, title).await;
        let shown = poster.to_string();
        assert!(shown.contains(title), "{shown}");
        assert_eq!(shown.contains("can't draw"), missing, "{title}: {shown}");
        if missing {
            assert!(shown.contains("can't draw ሰላም"), "{shown}");
        }
        let (status, size) = png_size(&image_url(&poster).expect("an image")).await;
        assert!(
            status == 200 && size.is_some(),
            "{title}: {status} {size:?}"
        );
    }
}

/// An admin who puts the Stability models in a region that does not serve them
/// (StabilityRegion=eu-west-3) gets Bedrock's "invalid model identifier" there; the user is told
/// it is a configuration matter for the admin, never to change their `--ar`.
#[tokio::test(flavor = "multi_thread")]
async fn a_model_in_a_region_that_does_not_serve_it_is_explained_honestly() {
    let base = tokio::task::spawn_blocking(|| stack().lambda_with_misplaced_models().http_base())
        .await
        .unwrap();
    let s = stack();
    let url = s.slack().response_url();
    let Answer { status, .. } = slash(
        &base,
        "E2E-MISPLACED a lighthouse --model core --ar 16:9",
        &url,
    )
    .await;
    assert_eq!(status, 200);
    let messages = s.slack().wait_for(&url, 1, DELIVERY).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let text = messages[0].to_string();
    assert!(image_url(&messages[0]).is_none(), "{text}");
    assert!(
        text.contains("not available") && text.contains("eu-west-3") && text.contains("admin"),
        "{text}"
    );
    assert!(!text.contains("--ar"), "{text}");
    let calls = s.bedrock().calls_for_prompt("E2E-MISPLACED");
    assert_eq!(calls.len(), 1, "not retried: {calls:?}");
    assert_eq!(
        (calls[0].region.as_str(), calls[0].status),
        ("eu-west-3", 400)
    );
}

/// The function's S3 identity is generated from the template: it may read and write exactly
/// the granted prefix (posters/) and nothing else, while the harness keeps an admin of its own.
/// Records and retake locks are in the state table, not the bucket.
#[tokio::test(flavor = "multi_thread")]
async fn storage_allows_the_function_only_what_the_template_grants() {
    let s = stack();
    let bucket = s.s3().bucket().to_owned();
    let function = s.s3().function_client();
    let put = |key: &'static str| {
        let (function, bucket) = (function.clone(), bucket.clone());
        async move {
            function
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(b"{}".to_vec().into())
                .send()
                .await
        }
    };
    let key = "posters/e2e-iam.png";
    put(key).await.unwrap_or_else(|e| panic!("{key}: {e:?}"));
    for key in [
        "jobs/e2e-iam.json",
        "locks/e2e-iam.json",
        "elsewhere/e2e-iam.json",
        "e2e-iam.json",
    ] {
        let err = put(key).await.expect_err(key);
        assert_eq!(
            err.raw_response().map(|r| r.status().as_u16()),
            Some(403),
            "{key}"
        );
    }
    // Posters may be written but not deleted (SeaweedFS's Write would allow it; the harness's
    // bucket policy denies what the template does not grant).
    let err = function
        .delete_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .expect_err(key);
    assert_eq!(
        err.raw_response().map(|r| r.status().as_u16()),
        Some(403),
        "{key}"
    );
    // Listing its own bucket is granted (so a missing key is a 404, not a 403, on S3), and
    // nothing else outside the granted prefixes is.
    function
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(
        s.s3()
            .function_actions()
            .iter()
            .all(|a| a.contains(&format!(":{bucket}/")) || a == &format!("List:{bucket}")),
        "{:?}",
        s.s3().function_actions()
    );
}

/// The Bedrock stand-in answers as Bedrock and IAM would: a model outside the regions that
/// serve it gets ValidationException, and a call the template's policy does not allow (SD3.5
/// in us-east-1: the template grants it only in StabilityRegion) gets AccessDeniedException.
#[tokio::test(flavor = "multi_thread")]
async fn the_bedrock_stand_in_enforces_regions_and_the_templates_policy() {
    use aws_sdk_bedrockruntime::config::{Credentials, Region};
    use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
    let s = stack();
    let key = s.s3().function_credentials(0).clone();
    let client = |region: &'static str| {
        let conf = s
            .bedrock()
            .sdk_config()
            .region(Region::new(region))
            .credentials_provider(Credentials::new(
                &key.access_key,
                &key.secret_key,
                None,
                None,
                "function",
            ))
            .build();
        aws_sdk_bedrockruntime::Client::from_conf(conf)
    };
    let body = serde_json::json!({"prompt": "E2E-STANDIN a moth", "aspect_ratio": "2:3"});
    let call = |region: &'static str, model: &'static str| {
        let (client, body) = (client(region), body.to_string());
        async move {
            client
                .invoke_model()
                .model_id(model)
                .content_type("application/json")
                .accept("application/json")
                .body(aws_sdk_bedrockruntime::primitives::Blob::new(body))
                .send()
                .await
        }
    };
    call("us-west-2", support::bedrock::SD35_LARGE)
        .await
        .unwrap();
    let denied = call("us-east-1", support::bedrock::SD35_LARGE)
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Some("AccessDeniedException"), "{denied:?}");
    assert!(denied.into_service_error().is_access_denied_exception());

    // The harness key may call anything, so the region check shows on its own.
    let harness = s.bedrock().client();
    let invalid = harness
        .invoke_model()
        .model_id(support::bedrock::IMAGE_CORE)
        .content_type("application/json")
        .body(aws_sdk_bedrockruntime::primitives::Blob::new(
            body.to_string(),
        ))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(invalid.is_validation_exception(), "{invalid:?}");
    assert_eq!(
        invalid.meta().message(),
        Some(support::bedrock::INVALID_MODEL_ID)
    );
}

/// A poster link lives exactly as long as the message says, whatever happens to the
/// credentials that made it. The poster is made with session credentials that expire in two
/// seconds (a presigned link would die with them, or be capped to them); the link still states
/// the full lifetime, and once those credentials have expired it is served, by a process with
/// another identity's credentials, until exactly its stated expiry.
#[tokio::test(flavor = "multi_thread")]
async fn a_link_outlives_the_credentials_that_made_it() {
    use std::sync::Arc;

    use axum::body::Body;
    use http_body_util::BodyExt;
    use marquee_core::model::offline::OfflineModel;
    use marquee_core::model::{ModelId, Models};
    use marquee_core::request::ModelPolicy;
    use marquee_core::slack::SlackClient;
    use marquee_core::store::LinkSigner;
    use marquee_core::store::s3::S3Store;
    use marquee_service::http::{AppState, PublicUrl, router};
    use marquee_service::pipeline::Pipeline;
    use tower::ServiceExt;

    const TTL: Duration = Duration::from_secs(24 * 3600);
    const PUBLIC: &str = "https://posters.example.test";
    let s = stack();
    let key = marquee_core::secret::Secret::new(support::random_token(48));
    let links = LinkSigner::new(key).unwrap();
    let state_dir = tempfile::tempdir().unwrap();
    let pipeline = |client: aws_sdk_s3::Client| {
        Arc::new(
            Pipeline::new(
                Models::new().with(ModelId::Offline, Arc::new(OfflineModel)),
                Arc::new(S3Store::new(client, s.s3().bucket())),
                Arc::new(
                    marquee_core::state::local::LocalState::open(
                        state_dir.path().join("state.sqlite3"),
                    )
                    .unwrap(),
                ),
                SlackClient::new(marquee_core::net::client(), &[]),
                links.clone(),
                TTL,
            )
            .with_public_url(Some(PUBLIC.into())),
        )
    };

    let expiring = std::time::SystemTime::now() + Duration::from_secs(2);
    let maker = pipeline(s.s3().function_session(0, expiring));
    let spec = marquee_core::slack::command::parse(
        "E2E-LINKCREDS a harbour at dusk --model offline",
        &ModelPolicy {
            default: ModelId::Offline,
            allowed: vec![ModelId::Offline],
        },
    )
    .unwrap();
    let marquee_core::slack::command::PosterCommand::Poster(spec) = spec else {
        panic!("not a poster command")
    };
    let made_at = time::OffsetDateTime::now_utc().unix_timestamp();
    let rendered = maker
        .render(
            uuid::Uuid::new_v4(),
            &spec,
            &marquee_core::job::Requester {
                user_id: "U0001".into(),
                user_name: None,
                team_id: None,
                channel_id: None,
                ..marquee_core::job::Requester::default()
            },
            None,
            None,
        )
        .await
        .unwrap();
    let done_at = time::OffsetDateTime::now_utc().unix_timestamp();
    let link = rendered.link;
    let stated = link.expires_at.unix_timestamp();
    let ttl = TTL.as_secs() as i64;
    assert!(
        (made_at + ttl..=done_at + ttl).contains(&stated),
        "the link states {stated}, not 24 h after it was made ({made_at}..={done_at})"
    );
    assert!(!link.url.contains("X-Amz"), "no credential in {}", link.url);

    // The credentials that made it are past their expiry...
    while std::time::SystemTime::now() < expiring {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // ...and another process, with another identity, serves the link: now, a second before
    // its stated expiry, and not at it.
    let server = pipeline(s.s3().function_session(1, expiring + TTL * 2));
    let path = link.url.strip_prefix(PUBLIC).unwrap().to_owned();
    for (now, want) in [
        (time::OffsetDateTime::now_utc().unix_timestamp(), 200),
        (stated - 1, 200),
        (stated, 410),
    ] {
        CLOCK.store(now, std::sync::atomic::Ordering::Relaxed);
        let app = router(AppState {
            signing_secret: None,
            policy: ModelPolicy {
                default: ModelId::Offline,
                allowed: vec![ModelId::Offline],
            },
            pipeline: Arc::clone(&server),
            dispatcher: Arc::new(NoDispatch),
            store: Arc::new(S3Store::new(
                s.s3().function_session(1, expiring + TTL * 2),
                s.s3().bucket(),
            )),
            links: links.clone(),
            public_url: PublicUrl::Fixed(PUBLIC.into()),
            clock: || CLOCK.load(std::sync::atomic::Ordering::Relaxed),
            rest_auth: marquee_service::http::RestAuth::Iam,
        });
        let response = app
            .oneshot(axum::http::Request::get(&path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), want, "at {now}");
        if want == 200 {
            let png = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(png.as_ref(), rendered.png.as_slice());
        }
    }
}

/// The clock the link test's router reads.
static CLOCK: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// A dispatcher for a router that must never queue anything.
struct NoDispatch;

#[async_trait::async_trait]
impl marquee_service::dispatch::Dispatcher for NoDispatch {
    async fn dispatch(
        &self,
        _job: marquee_core::job::Job,
    ) -> Result<(), marquee_service::dispatch::DispatchError> {
        unreachable!("serving a link queues nothing")
    }
}
