//! Team review end to end, on the real local stack: a poster, then Regenerate, Vary, Restyle,
//! Edit words and Change a detail (through Slack modals), Approve and Print, clicked and
//! submitted as Slack sends them (signed `block_actions` payloads built from the message Slack
//! received; `view_submission` payloads built from the view Slack opened), with and without a
//! bot token. Without one, everything goes through `response_url`s; with one, follow-ups land
//! in the poster's thread and every PNG (and a print's PDFs) is uploaded into Slack.

use std::time::Duration;

use crate::support;
use crate::support::bedrock::Fault;
use crate::support::client::{
    DELIVERY, bot_base, bot_poster_in, get_link, lambda_base, post_signed, posters, slash_in,
    wait_posters,
};
use crate::support::slack as slack_standin;
use crate::support::slack::Fault as SlackFault;
use crate::support::slack_api::{Field, ViewAnswer};
use crate::support::stack;
use serde_json::Value;

/// The actions block of a poster message.
fn actions(message: &Value) -> Value {
    message["blocks"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["type"] == "actions"))
        .cloned()
        .unwrap_or_else(|| panic!("no actions block in {message}"))
}

/// Where a clicked message sits in Slack: its channel, its `ts`, and the thread it replies in.
#[derive(Clone, Copy)]
struct Posted<'a> {
    channel: &'a str,
    ts: &'a str,
    thread_ts: Option<&'a str>,
    /// Who clicks (`None`: the stand-in's reviewer, U0002).
    user: Option<&'a str>,
}

impl<'a> Posted<'a> {
    /// A top-level message in channel `C0001`.
    fn top(ts: &'a str) -> Self {
        Posted {
            channel: "C0001",
            ts,
            thread_ts: None,
            user: None,
        }
    }
}

/// Uses control `action_id` (choosing `choice` in a menu) on `message`, posted `at`, as Slack
/// does: a signed `block_actions` payload the stand-in builds from Slack's normalised copy of
/// the message, never from Marquee's own blocks. Gives the front door's status.
async fn click(
    base: &str,
    message: &Value,
    action_id: &str,
    choice: Option<&str>,
    response_url: &str,
    at: Posted<'_>,
) -> u16 {
    let form = stack().slack().block_actions(&slack_standin::Click {
        message,
        action_id,
        choice,
        response_url,
        channel: at.channel,
        ts: at.ts,
        thread_ts: at.thread_ts,
        user: at.user,
    });
    post_signed(format!("{base}/slack/interactions"), form)
        .await
        .status
}

/// What the state table holds about poster `id` under sort key `sk` (`record`: its spec;
/// `approval`: `{by, at}`), read with the harness's own line to dynalite.
async fn stored(id: &str, sk: &str) -> Value {
    use aws_sdk_dynamodb::types::AttributeValue;
    let dynamo = stack().dynamo();
    let item = dynamo
        .admin_client()
        .get_item()
        .table_name(dynamo.table())
        .key("pk", AttributeValue::S(format!("poster#{id}")))
        .key("sk", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_else(|| panic!("poster {id} has no {sk}"));
    serde_json::from_str(item["v"].as_s().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_review_round_through_response_urls() {
    let base = lambda_base().await;
    let s = stack();
    let marker = "REVIEW-URL";
    let url = s.slack().response_url();
    assert_eq!(
        slash_in(
            &base,
            &format!("{marker} two rival chefs in Lyon --title \"Too Many Cooks\" --style comedy"),
            &url,
            "C0001"
        )
        .await
        .status,
        200
    );
    let original = wait_posters(&url, 1).await.remove(0);
    let poster_id = poster_id_of(&original);
    let posted_controls = controls(&original);
    let ts = "1700000000.000100";

    // Regenerate: a new seed, same everything else.
    let u1 = s.slack().action_response_url();
    assert_eq!(
        click(
            &base,
            &original,
            "poster.regenerate",
            None,
            &u1,
            Posted::top(ts)
        )
        .await,
        200
    );
    let regenerated = wait_posters(&u1, 1).await;
    assert!(
        regenerated[0]
            .to_string()
            .contains("Take 2 · from take 1 via Regenerate"),
        "{}",
        regenerated[0]
    );
    assert!(regenerated[0].to_string().contains("Too Many Cooks"));

    // Vary subtle: a variation of this take's own art (SD3.5 image-to-image), not a new seed.
    let u2 = s.slack().action_response_url();
    assert_eq!(
        click(
            &base,
            &original,
            "poster.vary_subtle",
            None,
            &u2,
            Posted::top(ts)
        )
        .await,
        200
    );
    let varied = wait_posters(&u2, 1).await;
    // Each take is numbered in the poster's family and says where it came from.
    assert!(
        varied[0]
            .to_string()
            .contains("Take 3 · from take 1 via Vary subtle"),
        "{}",
        varied[0]
    );

    // Restyle as noir.
    let u3 = s.slack().action_response_url();
    assert_eq!(
        click(
            &base,
            &original,
            "poster.restyle",
            Some("noir"),
            &u3,
            Posted::top(ts)
        )
        .await,
        200
    );
    let restyled = wait_posters(&u3, 1).await;
    assert!(
        restyled[0]
            .to_string()
            .contains("Take 4 · from take 1 via Restyle as noir"),
        "{}",
        restyled[0]
    );

    // Every take went to the model with the original prompt; seeds all differ, and the
    // variation sent the first take's art.
    let calls = s.bedrock().calls_for_prompt(marker);
    assert_eq!(calls.len(), 4, "poster + regenerate + vary + restyle");
    assert_eq!(calls[2].body["mode"], "image-to-image", "{}", calls[2].body);
    assert!(
        calls[2].body["image"]
            .as_str()
            .is_some_and(|i| i.len() > 1000)
    );
    assert!(
        calls[3].body["prompt"]
            .as_str()
            .unwrap()
            .contains("film noir"),
        "{}",
        calls[4].body
    );
    let seeds: std::collections::HashSet<_> =
        calls.iter().map(|c| c.body["seed"].as_u64()).collect();
    assert_eq!(seeds.len(), 4, "{seeds:?}");
    // The clicker was told what was happening, ephemerally, before each take.
    assert!(
        s.slack()
            .messages(&u1)
            .iter()
            .any(|m| m["response_type"] == "ephemeral" && m.to_string().contains("Regenerating"))
    );

    // Approve: the message is replaced, and the approval is kept with the poster.
    let u4 = s.slack().action_response_url();
    assert_eq!(
        click(
            &base,
            &original,
            "poster.approve",
            None,
            &u4,
            Posted::top(ts)
        )
        .await,
        200
    );
    // The click carries Slack's normalised copy of the poster (its image block has the
    // read-only image_width, image_height, image_bytes, is_animated and fallback, which Slack
    // refuses on input: slackapi/bolt-js#1841, and the stand-in with it). Approve rebuilds the
    // message from the stored record instead, with a fresh link that serves the poster.
    let approved = s.slack().wait_for(&u4, 1, DELIVERY).await;
    assert!(
        s.slack().posts(&u4).iter().all(|p| p.accepted()),
        "{:?}",
        s.slack().posts(&u4)
    );
    assert_eq!(approved[0]["replace_original"], true);
    let image = approved[0]["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "image")
        .unwrap_or_else(|| panic!("the approved poster keeps its image: {}", approved[0]));
    let link = image["image_url"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("{base}/files/posters/")),
        "{link}"
    );
    assert_eq!(get_link(&marquee_core::net::client(), link).await.0, 200);
    assert!(
        approved[0].to_string().contains("Approved* by <@U0002>"),
        "{}",
        approved[0]
    );
    // The approved take offers Print (and Formats…, as the take did), nothing that would
    // change it.
    assert_eq!(controls(&approved[0]), print_and_formats(&posted_controls));
    let approval = stored(&poster_id, "approval").await;
    assert_eq!(approval["by"], "U0002");
    let record = stored(&poster_id, "record").await;
    assert_eq!(record["spec"]["text"]["title"], "Too Many Cooks");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_click_while_a_take_runs_is_told_instead_of_billed() {
    let base = lambda_base().await;
    let s = stack();
    let marker = "REVIEW-DOUBLE";
    let url = s.slack().response_url();
    assert_eq!(
        slash_in(&base, &format!("{marker} a slow lighthouse"), &url, "C0001")
            .await
            .status,
        200
    );
    let original = wait_posters(&url, 1).await.remove(0);
    // The next model call takes 3 s, so the second click lands while the first take runs.
    s.bedrock()
        .fault_for_prompt(marker, Fault::Hang(Duration::from_secs(3)), 1);
    let (u1, u2) = (
        s.slack().action_response_url(),
        s.slack().action_response_url(),
    );
    assert_eq!(
        click(
            &base,
            &original,
            "poster.regenerate",
            None,
            &u1,
            Posted::top("1.1")
        )
        .await,
        200
    );
    // The clicker is told "Regenerating…" once the take holds the poster's lock.
    let working = s.slack().wait_for(&u1, 1, DELIVERY).await;
    assert!(
        working[0].to_string().contains("Regenerating"),
        "{}",
        working[0]
    );
    assert_eq!(
        click(
            &base,
            &original,
            "poster.regenerate",
            None,
            &u2,
            Posted::top("1.1")
        )
        .await,
        200
    );
    let told = s.slack().wait_for(&u2, 1, DELIVERY).await;
    assert!(
        told[0]
            .to_string()
            .contains("Your new take wasn't started and nothing was charged"),
        "{}",
        told[0]
    );
    wait_posters(&u1, 1).await;
    // Both jobs have returned, so nothing more can be posted.
    for url in [&u1, &u2] {
        assert_eq!(s.invoke().wait_finished(url, 1, DELIVERY).await.len(), 1);
    }
    assert!(posters(&s.slack().messages(&u2)).is_empty());
    assert_eq!(
        s.bedrock().calls_for_prompt(marker).len(),
        2,
        "the original and one take"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_bot_token_takes_go_to_the_thread_and_images_into_slack() {
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let marker = "REVIEW-BOT";
    let url = s.slack().response_url();
    assert_eq!(
        slash_in(
            &base,
            &format!("{marker} a derelict starship wakes up --style sci-fi"),
            &url,
            "C0001"
        )
        .await
        .status,
        200
    );

    // The poster is posted by the bot (not through the response_url), with its PNG uploaded
    // into its thread so it outlives the link.
    let mine = |api: &support::slack_api::SlackApi| -> Vec<Value> {
        api.channel_messages("C0001")
            .into_iter()
            .filter(|m| m.to_string().contains(marker))
            .collect()
    };
    let root = support::poll(DELIVERY, || {
        mine(api)
            .into_iter()
            .find(|m| m["blocks"].to_string().contains("\"image\""))
    })
    .await
    .unwrap_or_else(|| panic!("no bot post\n{}", stack().lambda_with_bot().log_tail(6000)));
    let root_ts = root["ts"].as_str().unwrap().to_owned();
    assert!(
        s.slack()
            .messages(&url)
            .iter()
            .all(|m| m["response_type"] != "in_channel"),
        "not via response_url"
    );
    let file = support::poll(DELIVERY, || {
        api.files()
            .into_iter()
            .find(|f| f.completed && f.thread_ts.as_deref() == Some(root_ts.as_str()))
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "no the PNG uploaded into the poster's thread\n{}",
            stack().bot_log()
        )
    });
    assert_eq!(slack_standin::image_kind(&file.bytes), Some("png"));
    // The channel's image is that file from then on, not the link that expires (#22, item 13).
    let shown = support::poll(DELIVERY, || {
        mine(api)
            .into_iter()
            .find(|m| m["ts"] == root_ts.as_str())
            .and_then(|m| shown_file(&m))
    })
    .await
    .unwrap_or_else(|| panic!("the root still shows its link\n{}", stack().bot_log()));
    assert_eq!(shown, file.id);

    // Regenerate from the root: the new take is a reply in the root's thread.
    let u1 = s.slack().action_response_url();
    assert_eq!(
        click(
            &base,
            &root,
            "poster.regenerate",
            None,
            &u1,
            Posted::top(&root_ts)
        )
        .await,
        200
    );
    let reply = support::poll(DELIVERY, || {
        api.thread("C0001", &root_ts)
            .into_iter()
            .find(|m| m.to_string().contains("via Regenerate"))
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "missing: the regenerated poster in the thread\n{}",
            stack().bot_log()
        )
    });
    // A follow-up uploads first and its message shows that file, uploaded into the thread.
    let reply_file = shown_file(&reply)
        .unwrap_or_else(|| panic!("the take shows its link, not its file: {reply}"));
    assert!(
        api.files()
            .iter()
            .any(|f| f.id == reply_file && f.thread_ts.as_deref() == Some(root_ts.as_str())),
        "{reply_file} is not the PNG uploaded into the thread"
    );

    // Restyle from that reply: still the original thread, never a thread on a reply.
    let reply_ts = reply["ts"].as_str().unwrap().to_owned();
    let u2 = s.slack().action_response_url();
    assert_eq!(
        click(
            &base,
            &reply,
            "poster.restyle",
            Some("western"),
            &u2,
            Posted {
                channel: "C0001",
                ts: &reply_ts,
                thread_ts: Some(&root_ts),
                user: None,
            }
        )
        .await,
        200
    );
    support::poll(DELIVERY, || {
        api.thread("C0001", &root_ts)
            .into_iter()
            .find(|m| m.to_string().contains("from take 2 via Restyle as western"))
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "no the restyled poster in the original thread\n{}",
            stack().bot_log()
        )
    });
    let uploads = support::poll(DELIVERY, || {
        let f: Vec<_> = api
            .files()
            .into_iter()
            .filter(|f| f.completed && f.thread_ts.as_deref() == Some(root_ts.as_str()))
            .collect();
        (f.len() >= 3).then_some(f)
    })
    .await;
    assert!(
        uploads.is_some(),
        "three PNGs in the thread: {:?}",
        api.files().len()
    );
    let bad_threads: Vec<_> = api
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| !c.notes.is_empty())
        .collect();
    assert!(
        bad_threads.is_empty(),
        "{:?}",
        bad_threads.iter().map(|c| &c.notes).collect::<Vec<_>>()
    );

    // Approve the root: its message is rebuilt through the click's response_url, and the image
    // the channel holds is still the uploaded file, never the link that expires (#22, item 13).
    let held = |api: &support::slack_api::SlackApi| {
        mine(api)
            .into_iter()
            .find(|m| m["ts"] == root_ts.as_str())
            .unwrap_or_else(|| panic!("the root is gone from the channel"))
    };
    let u3 = s.slack().action_response_url_for("C0001", &root_ts);
    assert_eq!(
        click(
            &base,
            &held(api),
            "poster.approve",
            None,
            &u3,
            Posted::top(&root_ts)
        )
        .await,
        200
    );
    let approved = s.slack().wait_for(&u3, 1, DELIVERY).await;
    assert_eq!(approved[0]["replace_original"], true);
    let after = s.slack().normalise(&held(api));
    assert!(
        after.to_string().contains("approved by <@U0002>"),
        "the root was not replaced: {after}"
    );
    assert_eq!(
        shown_file(&after).as_deref(),
        Some(file.id.as_str()),
        "after approval the channel's image is not the uploaded file: {after}"
    );
}

/// The tip a requester gets, privately, when the bot could not keep their poster in the
/// channel's history.
fn membership_tips(url: &str) -> Vec<Value> {
    stack()
        .slack()
        .messages(url)
        .into_iter()
        .filter(|m| m["response_type"] == "ephemeral" && m.to_string().contains("/invite @Marquee"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bot_outside_a_public_channel_posts_there_and_says_how_to_keep_posters() {
    let base = bot_base().await;
    let s = stack();
    s.slack().api().set_member("C0002", false);
    let url = s.slack().response_url();
    assert_eq!(
        slash_in(&base, "REVIEW-OUTSIDE a quiet harbour", &url, "C0002")
            .await
            .status,
        200
    );
    // `chat:write.public` (granted by the manifest) lets the bot post in a public channel it
    // is not in; the upload needs membership and is refused, so the link is what remains.
    let posted = support::poll(DELIVERY, || {
        let m = s.slack().api().channel_messages("C0002");
        (!m.is_empty()).then_some(m)
    })
    .await
    .unwrap_or_else(|| panic!("no poster in C0002\n{}", s.lambda_with_bot().log_tail(6000)));
    assert!(
        posted[0].to_string().contains("REVIEW-OUTSIDE"),
        "{}",
        posted[0]
    );
    // The upload comes after the post: look once the job has returned.
    assert_eq!(
        s.bot_invoke().wait_finished(&url, 1, DELIVERY).await.len(),
        1
    );
    let uploads: Vec<_> = s
        .slack()
        .api()
        .calls_to("files.completeUploadExternal")
        .into_iter()
        .filter(|c| c.body.to_string().contains("C0002"))
        .collect();
    assert!(
        !uploads.is_empty() && uploads.iter().all(|c| !c.ok()),
        "the upload is tried and refused: {uploads:?}"
    );
    // Told once, privately, and nothing posted twice.
    assert_eq!(
        membership_tips(&url).len(),
        1,
        "{:?}",
        s.slack().messages(&url)
    );
    assert!(posters(&s.slack().messages(&url)).is_empty());
    assert_eq!(s.slack().api().channel_messages("C0002").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bot_outside_a_private_channel_falls_back_to_the_response_url() {
    let base = bot_base().await;
    let s = stack();
    s.slack().api().set_private("G0003", false);
    let url = s.slack().response_url();
    assert_eq!(
        slash_in(&base, "REVIEW-PRIVATE a quiet harbour", &url, "G0003")
            .await
            .status,
        200
    );
    let delivered = wait_posters(&url, 1).await;
    assert_eq!(delivered[0]["response_type"], "in_channel");
    let refused: Vec<_> = s
        .slack()
        .api()
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["channel"] == "G0003")
        .collect();
    assert_eq!(refused.len(), 1);
    assert!(!refused[0].ok());
    assert_eq!(
        s.bot_invoke().wait_finished(&url, 1, DELIVERY).await.len(),
        1
    );
    assert_eq!(
        membership_tips(&url).len(),
        1,
        "{:?}",
        s.slack().messages(&url)
    );
    assert_eq!(posters(&s.slack().messages(&url)).len(), 1, "posted once");
}

/// When Slack will not update the approved message, the approval still stands and the
/// approver is told so, instead of the failure only reaching the logs.
#[tokio::test(flavor = "multi_thread")]
async fn an_approval_slack_will_not_show_is_still_recorded_and_the_approver_told() {
    let base = lambda_base().await;
    let s = stack();
    let marker = "REVIEW-APPROVE-REFUSED";
    let url = s.slack().response_url();
    assert_eq!(
        slash_in(
            &base,
            &format!("{marker} a lantern festival"),
            &url,
            "C0001",
        )
        .await
        .status,
        200
    );
    let original = wait_posters(&url, 1).await.remove(0);
    let poster_id = actions(&original)["elements"][0]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let u = s.slack().action_response_url();
    // Slack cannot fetch the image of the rebuilt message, so it refuses the update.
    s.slack().fault_for(&u, SlackFault::ImageFetchFails, 1);
    assert_eq!(
        click(
            &base,
            &original,
            "poster.approve",
            None,
            &u,
            Posted::top("1.2")
        )
        .await,
        200
    );
    assert_eq!(s.invoke().wait_finished(&u, 1, DELIVERY).await.len(), 1);
    let posts = s.slack().posts(&u);
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(!posts[0].accepted());
    assert!(posts[1].accepted());
    assert_eq!(posts[1].body["response_type"], "ephemeral");
    assert_eq!(posts[1].body["replace_original"], false);
    assert!(
        posts[1].body.to_string().contains("approval is recorded"),
        "{}",
        posts[1].body
    );
    let approval = stored(&poster_id, "approval").await;
    assert_eq!(approval["by"], "U0002");
}

/// The flake of `a_design_review_round_through_response_urls`, made to happen: Slack answers a
/// `response_url` post only once it has fetched the message's image, and when that fetch is
/// slow (here held 17 s; in the flake, `cargo lambda watch` starting an instance to serve the
/// link under load) Marquee stops waiting after 15 s. The post may still land, so the approver
/// is told Slack was slow, never that it would not update the message, and the approved
/// message is shown when Slack takes it, after the note.
#[tokio::test(flavor = "multi_thread")]
async fn an_approval_slack_is_slow_to_show_is_told_as_slow_and_shown_late() {
    let base = lambda_base().await;
    let s = stack();
    let marker = "REVIEW-APPROVE-SLOW";
    let url = s.slack().response_url();
    assert_eq!(
        slash_in(&base, &format!("{marker} a harbour at dusk"), &url, "C0001")
            .await
            .status,
        200
    );
    let original = wait_posters(&url, 1).await.remove(0);
    let poster_id = actions(&original)["elements"][0]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let u = s.slack().action_response_url();
    s.slack()
        .fault_for(&u, SlackFault::Hang(Duration::from_secs(17)), 1);
    assert_eq!(
        click(
            &base,
            &original,
            "poster.approve",
            None,
            &u,
            Posted::top("1.3")
        )
        .await,
        200
    );
    let log = || s.lambda().log_tail(8000);
    let note = told_saying(&u, "approval is recorded", log).await;
    let note = note.to_string();
    assert!(note.contains("Slack was slow to update"), "{note}");
    assert!(
        !note.contains("wouldn't update"),
        "told it was refused: {note}"
    );
    let shown = told_saying(&u, "approved by <@U0002>", log).await;
    assert_eq!(controls(&shown), print_and_formats(&controls(&original)));
    let posts = s.slack().posts(&u);
    assert_eq!(posts.len(), 2, "{}", posts_at(&u));
    assert!(posts.iter().all(|p| p.accepted()), "{}", posts_at(&u));
    let approval = stored(&poster_id, "approval").await;
    assert_eq!(approval["by"], "U0002");
}

/// Slack may take a message and still fail to answer (an edge's 500 after the post, or a
/// timeout): the Web API cannot say whether the poster is in the channel, so posting it again
/// through the `response_url` could show it twice. The poster is not posted again; the
/// requester gets a private note with its link instead.
#[tokio::test(flavor = "multi_thread")]
async fn a_post_slack_took_without_confirming_is_not_posted_twice() {
    use support::slack_api::ApiFault;
    let base = bot_base().await;
    let s = stack();
    s.slack().api().set_member("C0UNSURE", true);
    s.slack().api().fault_api_in(
        "chat.postMessage",
        "C0UNSURE",
        ApiFault::DoneThenServerError,
        1,
    );
    let url = s.slack().response_url();
    assert_eq!(
        slash_in(&base, "REVIEW-UNSURE a quiet harbour", &url, "C0UNSURE")
            .await
            .status,
        200
    );
    assert_eq!(
        s.bot_invoke().wait_finished(&url, 1, DELIVERY).await.len(),
        1
    );
    assert_eq!(
        s.slack().api().channel_messages("C0UNSURE").len(),
        1,
        "the poster Slack took is there once"
    );
    let replies = s.slack().messages(&url);
    assert!(posters(&replies).is_empty(), "posted again: {replies:?}");
    let notes: Vec<_> = replies
        .iter()
        .filter(|m| m["response_type"] == "ephemeral" && m.to_string().contains("didn't confirm"))
        .collect();
    assert_eq!(notes.len(), 1, "{replies:?}");
    assert!(
        notes[0].to_string().contains("/files/posters/"),
        "{}",
        notes[0]
    );
}

/// How long print-ready files may take on the local stack: an upscale to 4K and two sheets of
/// tens of megapixels, in the dev build `cargo lambda watch` runs (in release a print takes a
/// few seconds; see BENCHMARKS.md).
const PRINTING: Duration = Duration::from_secs(300);

/// Saves take `n` of review round `round` where a person can look at it, and says where.
fn keep_for_people(round: &str, name: &str, bytes: &[u8]) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("review-round")
        .join(round);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    println!("{round}: {name} → {}", path.display());
}

/// The Slack file a poster message's image shows (`slack_file: {id}`), if it shows one.
fn shown_file(message: &Value) -> Option<String> {
    message["blocks"]
        .as_array()?
        .iter()
        .find(|b| b["type"] == "image")
        .and_then(|b| b["slack_file"]["id"].as_str())
        .map(str::to_owned)
}

/// The bytes behind a poster message's image: the Slack file it shows, or its link.
async fn image_of(message: &Value) -> Vec<u8> {
    if let Some(id) = shown_file(message) {
        let file = stack()
            .slack()
            .api()
            .files()
            .into_iter()
            .find(|f| f.id == id);
        return file
            .unwrap_or_else(|| panic!("no file {id} for {message}"))
            .bytes
            .to_vec();
    }
    let url =
        support::client::image_url(message).unwrap_or_else(|| panic!("no image in {message}"));
    let (status, _, body) = get_link(&marquee_core::net::client(), &url).await;
    assert_eq!(status, 200, "{url}");
    body.to_vec()
}

/// The action ids a poster message offers.
fn controls(message: &Value) -> Vec<String> {
    actions(message)["elements"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action_id"].as_str().map(str::to_owned))
        .collect()
}

/// The poster id a message's controls carry.
fn poster_id_of(message: &Value) -> String {
    actions(message)["block_id"]
        .as_str()
        .unwrap()
        .trim_start_matches("marquee.actions.")
        .to_owned()
}

/// Submits view `view` (opened for a click) with `fields` as Slack would, and gives what
/// Slack makes of the app's answer.
async fn submit_view(
    base: &str,
    view: &support::slack_api::OpenedView,
    fields: &[(&str, support::slack_api::Field<'_>)],
) -> support::slack_api::ViewAnswer {
    let api = stack().slack().api();
    let form = api
        .view_submission(&view.id, fields)
        .unwrap_or_else(|e| panic!("Slack's client would not submit: {e}"));
    let answer = post_signed(format!("{base}/slack/interactions"), form).await;
    api.view_answer(&view.id, answer.status, &answer.body)
        .unwrap_or_else(|e| panic!("Slack would show an error: {e}"))
}

/// The print-ready files a print message links: `(sheet line, pdf url, png url)`.
fn print_links(message: &Value) -> Vec<(String, String, String)> {
    let text = message["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with('•'))
        .map(|line| {
            let urls: Vec<String> = line
                .split('<')
                .skip(1)
                .filter_map(|part| part.split_once('|').map(|(url, _)| url.to_owned()))
                .collect();
            assert_eq!(urls.len(), 2, "{line}");
            (line.to_owned(), urls[0].clone(), urls[1].clone())
        })
        .collect()
}

/// Opens every print file a print message links, as a person would: the PDF and PNG of each
/// sheet, at print resolution. Print files are too big for a function's answer, so from S3 the
/// link answers with a redirect to the bucket, presigned at that moment.
async fn check_print_files(round: &str, message: &Value) {
    let links = print_links(message);
    assert_eq!(links.len(), 2, "one-sheet and A1: {message}");
    let no_redirects = marquee_core::net::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (line, pdf_url, png_url) in links {
        let (status, headers, _) = get_link(&no_redirects, &pdf_url).await;
        assert_eq!(status, 303, "{pdf_url}");
        let location = headers["location"].to_str().unwrap().to_owned();
        assert!(
            location.starts_with(&stack().s3().endpoint()) && location.contains("X-Amz-Signature"),
            "a presigned bucket URL, not {location}"
        );
        let (status, _, pdf) = get_link(&marquee_core::net::client(), &pdf_url).await;
        assert_eq!(status, 200, "{line}");
        assert!(pdf.starts_with(b"%PDF-"), "{line}");
        assert!(
            pdf.windows(8).any(|w| w == b"/TrimBox") && pdf.windows(9).any(|w| w == b"/BleedBox"),
            "{line}"
        );
        let (status, _, png) = get_link(&marquee_core::net::client(), &png_url).await;
        assert_eq!(status, 200, "{line}");
        let (w, h) = slack_standin::image_size(&png).unwrap_or_else(|| panic!("{line}"));
        // At least 150 dpi at trim: 27×40 in is 4050×6000, A1 (23.4×33.1 in) 3508×4967.
        let (min_w, min_h) = if line.contains("One-sheet") {
            (4050, 6000)
        } else {
            (3508, 4967)
        };
        assert!(w >= min_w && h >= min_h, "{line}: {w}×{h}");
        let sheet = if line.contains("One-sheet") {
            "one-sheet"
        } else {
            "a1"
        };
        keep_for_people(round, &format!("print-{sheet}.png"), &png);
        keep_for_people(round, &format!("print-{sheet}.pdf"), &pdf);
    }
}

/// The whole design review a team does in a poster's thread, with a bot token: Edit words
/// (a modal, with an error shown inside it first), Vary strong, Change a detail (a modal, then
/// Stability's Search and Replace), Approve by someone else, and Print (upscaled by Stability's
/// Conservative Upscale, set for print, linked and the PDFs uploaded). Each take's PNG is kept
/// under `target/tmp/review-round/bot/` for a person to look at.
#[tokio::test(flavor = "multi_thread")]
async fn a_design_review_round_in_the_thread_with_a_bot_token() {
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let marker = "DESIGN-BOT";
    let url = s.slack().response_url();
    let asked = format!(
        "{marker} a lighthouse keeper fights the kraken --title \"The Keeper\" --style horror"
    );
    assert_eq!(slash_in(&base, &asked, &url, "C0001").await.status, 200);
    let root = bot_poster_in("C0001", marker).await;
    let root_ts = root["ts"].as_str().unwrap().to_owned();
    let in_thread = |ts: &str| Posted {
        channel: "C0001",
        ts: string_leak(ts),
        thread_ts: Some(string_leak(&root_ts)),
        user: None,
    };
    let offered = controls(&root);
    for control in [
        "poster.regenerate",
        "poster.vary_subtle",
        "poster.vary_strong",
        "poster.restyle",
        "poster.edit_words",
        "poster.change_detail",
        "poster.approve",
    ] {
        assert!(
            offered.iter().any(|c| c == control),
            "{control}: {offered:?}"
        );
    }
    keep_for_people("bot", "take-1.png", &image_of(&root).await);
    let take = |via: &'static str| {
        let root_ts = root_ts.clone();
        async move {
            support::poll(DELIVERY, || {
                api.thread("C0001", &root_ts)
                    .into_iter()
                    .find(|m| m.to_string().contains(via))
            })
            .await
            .unwrap_or_else(|| panic!("no take {via:?} in the thread\n{}", stack().bot_log()))
        }
    };

    // ✏️ Edit words: the modal opens pre-filled from the poster.
    let u1 = s.slack().action_response_url();
    assert_eq!(
        click(
            &base,
            &root,
            "poster.edit_words",
            None,
            &u1,
            Posted::top(&root_ts)
        )
        .await,
        200
    );
    let view = api.wait_for_view(&u1, DELIVERY).await;
    assert_eq!(view.callback_id(), "marquee.edit_words");
    assert_eq!(
        view.input("marquee.title")["element"]["initial_value"],
        "The Keeper"
    );
    // A title the poster's type cannot draw (Tibetan: no font in the layer has it) is
    // refused inside the modal, which stays open.
    match submit_view(&base, &view, &[("marquee.title", Field::Text("བོད"))]).await {
        ViewAnswer::Errors(errors) => {
            assert!(errors.contains_key("marquee.title"), "{errors:?}")
        }
        other => panic!("the modal should stay open with an error: {other:?}"),
    }
    // Other tests call the shared stand-in at the same time: count this poster's calls only.
    let ours = || {
        s.bedrock()
            .calls()
            .iter()
            .filter(|c| c.body.to_string().contains(marker))
            .count()
    };
    let model_calls = ours();
    assert!(model_calls > 0, "take 1 was made by a model");
    let answer = submit_view(
        &base,
        &view,
        &[
            ("marquee.title", Field::Text("Keeper of the Deep")),
            ("marquee.tagline", Field::Text("The sea wants him back")),
            ("marquee.look", Field::Choose("noir")),
            ("marquee.placement", Field::Choose("bottom")),
        ],
    )
    .await;
    assert_eq!(answer, ViewAnswer::Closed);
    let take2 = take("Take 2 · from take 1 via Edit words").await;
    assert!(take2.to_string().contains("Keeper of the Deep"), "{take2}");
    assert_eq!(
        ours(),
        model_calls,
        "new words over the same art call no model"
    );
    let (root_id, take2_id) = (poster_id_of(&root), poster_id_of(&take2));
    let (first, second) = (
        stored(&root_id, "record").await,
        stored(&take2_id, "record").await,
    );
    // The same art, in an object of take 2's own, which the bucket expires with take 2, not
    // with take 1 (#22, item 8).
    assert_ne!(
        second["art_key"], first["art_key"],
        "take 2 keeps its own art"
    );
    let art = |key: &Value| {
        let key = key.as_str().unwrap().to_owned();
        async move {
            let object = s
                .s3()
                .client()
                .get_object()
                .bucket(s.s3().bucket())
                .key(&key)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{key}: {e:?}"));
            object.body.collect().await.unwrap().into_bytes()
        }
    };
    assert_eq!(
        art(&second["art_key"]).await,
        art(&first["art_key"]).await,
        "the same art"
    );
    assert_eq!(second["lineage"]["parent"], root_id.as_str());
    assert_eq!(second["spec"]["typography"]["placement"], "bottom");
    keep_for_people("bot", "take-2-edit-words.png", &image_of(&take2).await);

    // 🎞️ Vary strong on take 2: SD3.5 image-to-image from take 2's art; the words stay.
    let take2_ts = take2["ts"].as_str().unwrap().to_owned();
    let u2 = s.slack().action_response_url();
    assert_eq!(
        click(
            &base,
            &take2,
            "poster.vary_strong",
            None,
            &u2,
            in_thread(&take2_ts)
        )
        .await,
        200
    );
    let take3 = take("Take 3 · from take 2 via Vary strong").await;
    assert!(take3.to_string().contains("Keeper of the Deep"), "{take3}");
    let varied = s.bedrock().calls_for_prompt(marker);
    let vary = varied.last().unwrap();
    assert_eq!(vary.body["mode"], "image-to-image", "{}", vary.body);
    assert_eq!(vary.body["strength"], 0.7);
    keep_for_people("bot", "take-3-vary-strong.png", &image_of(&take3).await);

    // 🖌️ Change a detail on take 3: Stability's Search and Replace service.
    let take3_ts = take3["ts"].as_str().unwrap().to_owned();
    let u3 = s.slack().action_response_url();
    assert_eq!(
        click(
            &base,
            &take3,
            "poster.change_detail",
            None,
            &u3,
            in_thread(&take3_ts)
        )
        .await,
        200
    );
    let view = api.wait_for_view(&u3, DELIVERY).await;
    assert_eq!(view.callback_id(), "marquee.change_detail");
    let answer = submit_view(
        &base,
        &view,
        &[
            ("marquee.search", Field::Text("the kraken")),
            ("marquee.replace", Field::Text("a dragon")),
        ],
    )
    .await;
    assert_eq!(answer, ViewAnswer::Closed);
    let take4 = take("Take 4 · from take 3 via Change a detail").await;
    let replaced = s
        .bedrock()
        .calls_to("us.stability.stable-image-search-replace-v1:0");
    let call = replaced
        .iter()
        .find(|c| {
            c.body["prompt"]
                .as_str()
                .is_some_and(|p| p.contains(marker))
        })
        .unwrap_or_else(|| panic!("no search and replace call: {replaced:?}"));
    assert_eq!(call.body["search_prompt"], "the kraken");
    let take4_id = poster_id_of(&take4);
    let fourth = stored(&take4_id, "record").await;
    assert!(
        fourth["spec"]["description"]
            .as_str()
            .unwrap()
            .contains("a dragon"),
        "{fourth}"
    );
    keep_for_people("bot", "take-4-change-detail.png", &image_of(&take4).await);

    // ✅ Approve take 4: U0002 made it, so someone else approves it.
    let take4_ts = take4["ts"].as_str().unwrap().to_owned();
    let u4 = s.slack().action_response_url();
    let by_u3 = Posted {
        user: Some("U0003"),
        ..in_thread(&take4_ts)
    };
    assert_eq!(
        click(&base, &take4, "poster.approve", None, &u4, by_u3).await,
        200
    );
    let approved = s.slack().wait_for(&u4, 1, DELIVERY).await.remove(0);
    assert!(
        approved.to_string().contains("Approved* by <@U0003>"),
        "{approved}"
    );
    assert_eq!(controls(&approved), print_and_formats(&offered));
    assert!(
        approved
            .to_string()
            .contains("Take 4 · from take 3 via Change a detail"),
        "the approved take still says which take it is: {approved}"
    );
    // Exactly one take is approved: a click on another take is told which one was.
    let u5 = s.slack().action_response_url();
    assert_eq!(
        click(
            &base,
            &take2,
            "poster.approve",
            None,
            &u5,
            Posted {
                user: Some("U0003"),
                ..in_thread(&take2_ts)
            }
        )
        .await,
        200
    );
    let told = s.slack().wait_for(&u5, 1, DELIVERY).await;
    assert!(
        told[0]
            .to_string()
            .contains("Take 4 of this poster was already approved"),
        "{}",
        told[0]
    );

    // 🖨️ Print the approved take.
    let u6 = s.slack().action_response_url();
    let upscales_of_this_poster = || {
        s.bedrock()
            .calls_for_prompt(marker)
            .into_iter()
            .filter(|c| c.model_id == "us.stability.stable-conservative-upscale-v1:0")
            .count()
    };
    assert_eq!(
        click(
            &base,
            &approved,
            "poster.print",
            None,
            &u6,
            in_thread(&take4_ts)
        )
        .await,
        200
    );
    let printed = support::poll(PRINTING, || {
        api.thread("C0001", &root_ts)
            .into_iter()
            .find(|m| m.to_string().contains("Print-ready files"))
    })
    .await
    .unwrap_or_else(|| panic!("no print-ready files in the thread\n{}", stack().bot_log()));
    assert!(printed.to_string().contains("take 4"), "{printed}");
    assert_eq!(upscales_of_this_poster(), 1, "the art was upscaled once");
    check_print_files("bot", &printed).await;
    let uploaded = support::poll(DELIVERY, || {
        let pdfs: Vec<_> = api
            .files()
            .into_iter()
            .filter(|f| {
                f.completed && f.filename.contains(&take4_id) && f.filename.ends_with(".pdf")
            })
            .collect();
        (pdfs.len() == 2).then_some(pdfs)
    })
    .await
    .unwrap_or_else(|| panic!("the two PDFs were not uploaded\n{}", stack().bot_log()));
    for f in uploaded {
        assert_eq!(f.thread_ts.as_deref(), Some(root_ts.as_str()));
        assert!(f.bytes.starts_with(b"%PDF-"));
    }

    // A take is printed once (issue 22): two more clicks on Print are each answered, privately,
    // with fresh links to the same files — no second upscale (nor its charge), no new files,
    // no new upload.
    let keys = |message: &Value| -> Vec<String> {
        print_links(message)
            .into_iter()
            .flat_map(|(_, pdf, png)| [pdf, png])
            .map(|url| url.split('?').next().unwrap_or_default().to_owned())
            .collect()
    };
    for round in 0..2 {
        let again = s.slack().action_response_url();
        assert_eq!(
            click(
                &base,
                &approved,
                "poster.print",
                None,
                &again,
                in_thread(&take4_ts)
            )
            .await,
            200
        );
        let answer = s.slack().wait_for(&again, 1, DELIVERY).await.remove(0);
        assert_eq!(answer["response_type"], "ephemeral", "{answer}");
        assert_eq!(keys(&answer), keys(&printed), "the same files: {answer}");
        if round == 0 {
            // The fresh links open the files.
            check_print_files("bot-again", &answer).await;
        }
    }
    assert_eq!(upscales_of_this_poster(), 1, "three clicks, one upscale");
    let pdfs = api
        .files()
        .into_iter()
        .filter(|f| f.filename.contains(&take4_id) && f.filename.ends_with(".pdf"))
        .count();
    assert_eq!(pdfs, 2, "three clicks, one upload of each PDF");
}

/// The same round without a bot token: no modal controls are offered (they need the token),
/// Vary and Print work through response URLs, and the print files are linked.
/// Every post made to `url`, one line each in the order Slack finished them: when it arrived
/// (from the first), how long it took, Slack's answer, its image downloads and its text.
fn posts_at(url: &str) -> String {
    let posts = stack().slack().posts(url);
    let first = posts.iter().map(|p| p.arrived).min();
    posts
        .iter()
        .map(|p| {
            let images: Vec<String> = p
                .images
                .iter()
                .map(|i| {
                    let path = i.url.split('?').next().unwrap_or_default();
                    format!("{path} {:?} {:?}", i.status, i.error)
                })
                .collect();
            format!(
                "+{:?} took {:?}: {} {:?} {:?} images {images:?} text {:?}",
                first
                    .map(|f| p.arrived.duration_since(f))
                    .unwrap_or_default(),
                p.took,
                p.status,
                p.error,
                p.errors,
                p.body["text"].as_str().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The message Slack took at `url` that says `expected`, once it has, or a panic that explains
/// itself: every post made there and the tail of the instance's log, as `log` gives it. Not
/// necessarily the first: Slack answers a post only once it has fetched the
/// message's image, so one it was slow to answer (Marquee stopped waiting and said so) can be
/// shown after the note that followed it.
async fn told_saying(url: &str, expected: &str, log: impl Fn() -> String) -> Value {
    let slack = stack().slack();
    let found = support::poll(DELIVERY, || {
        slack
            .messages(url)
            .into_iter()
            .find(|m| m.to_string().contains(expected))
    })
    .await;
    found.unwrap_or_else(|| {
        panic!(
            "no message taken at a response_url says {expected:?}; every post there:\n{}\n--- function log ---\n{}",
            posts_at(url),
            log()
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_design_review_round_through_response_urls() {
    let base = lambda_base().await;
    let s = stack();
    let marker = "DESIGN-URL";
    let url = s.slack().response_url();
    assert_eq!(
        slash_in(
            &base,
            &format!("{marker} a lighthouse keeper fights the kraken --title \"The Keeper\" --model offline"),
            &url,
            "C0001"
        )
        .await
        .status,
        200
    );
    let original = wait_posters(&url, 1).await.remove(0);
    let ts = "1700000000.000300";
    let offered = controls(&original);
    assert!(
        !offered
            .iter()
            .any(|c| c == "poster.edit_words" || c == "poster.change_detail"),
        "modal controls need a bot token: {offered:?}"
    );
    keep_for_people("url", "take-1.png", &image_of(&original).await);

    let u1 = s.slack().action_response_url();
    assert_eq!(
        click(
            &base,
            &original,
            "poster.vary_strong",
            None,
            &u1,
            Posted::top(ts)
        )
        .await,
        200
    );
    let varied = wait_posters(&u1, 1).await.remove(0);
    assert!(
        varied
            .to_string()
            .contains("Take 2 · from take 1 via Vary strong"),
        "{varied}"
    );
    keep_for_people("url", "take-2-vary-strong.png", &image_of(&varied).await);

    // Print before approval is refused, privately.
    let u2 = s.slack().action_response_url();
    let unapproved = serde_json::json!({"blocks": [{"type": "actions",
        "block_id": format!("marquee.actions.{}", poster_id_of(&varied)),
        "elements": [{"type": "button", "action_id": "poster.print",
            "value": poster_id_of(&varied), "text": {"type": "plain_text", "text": "🖨️ Print"}}]}]});
    assert_eq!(
        click(
            &base,
            &unapproved,
            "poster.print",
            None,
            &u2,
            Posted::top(ts)
        )
        .await,
        200
    );
    let log = || s.lambda().log_tail(8000);
    told_saying(&u2, "Approve this take first", log).await;

    let u3 = s.slack().action_response_url();
    assert_eq!(
        click(
            &base,
            &varied,
            "poster.approve",
            None,
            &u3,
            Posted {
                user: Some("U0003"),
                ..Posted::top(ts)
            }
        )
        .await,
        200
    );
    let approved = told_saying(&u3, "approved by <@U0003>", log).await;
    assert_eq!(controls(&approved), print_and_formats(&offered));

    let u4 = s.slack().action_response_url();
    assert_eq!(
        click(&base, &approved, "poster.print", None, &u4, Posted::top(ts)).await,
        200
    );
    let printed = support::poll(PRINTING, || {
        s.slack()
            .messages(&u4)
            .into_iter()
            .find(|m| m.to_string().contains("Print-ready files"))
    })
    .await
    .unwrap_or_else(|| panic!("no print message\n{}", s.lambda().log_tail(6000)));
    assert_eq!(printed["response_type"], "in_channel");
    check_print_files("url", &printed).await;
}

/// The controls an approved take offers: Print, and Formats… when the take offered it under
/// review (`offered`).
fn print_and_formats(offered: &[String]) -> Vec<String> {
    let mut out = vec!["poster.print".to_owned()];
    if offered.iter().any(|c| c == "poster.formats") {
        out.push("poster.formats".to_owned());
    }
    out
}

/// A `&'static str` for a test's short-lived strings (a handful per test run).
fn string_leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

/// 📐 Formats… with a bot token: the click opens the modal of the set's formats (checked by
/// the Slack stand-in as `views.open` checks a view), every one ticked; the clicker's choice
/// comes back in Slack's checkboxes state. Returns the modal's answer.
async fn ask_formats(
    base: &str,
    root: &Value,
    at: Posted<'_>,
    response_url: &str,
    ticked: Option<&[&str]>,
) -> ViewAnswer {
    let api = stack().slack().api();
    assert_eq!(
        click(base, root, "poster.formats", None, response_url, at).await,
        200
    );
    let view = api.wait_for_view(response_url, DELIVERY).await;
    assert_eq!(view.callback_id(), "marquee.formats");
    let element = &view.input("marquee.formats")["element"];
    assert_eq!(element["type"], "checkboxes");
    assert_eq!(
        element["initial_options"].as_array().map(Vec::len),
        Some(marquee_core::poster::Format::ALL.len()),
        "every format ticked"
    );
    match ticked {
        None => submit_view(base, &view, &[]).await,
        Some(values) => {
            let none = submit_view(base, &view, &[("marquee.formats", Field::Tick(&[]))]).await;
            let ViewAnswer::Errors(errors) = none else {
                panic!("none ticked was not refused in the modal: {none:?}")
            };
            assert!(
                errors["marquee.formats"]
                    .as_str()
                    .is_some_and(|m| m.contains("at least one format")),
                "{errors:?}"
            );
            submit_view(base, &view, &[("marquee.formats", Field::Tick(values))]).await
        }
    }
}

/// The formats a formats message links, in order, each checked to be a PNG of its format's
/// size.
async fn linked_formats(message: &Value) -> Vec<marquee_core::poster::Format> {
    let text = message["blocks"].to_string();
    let link = regex_lite::Regex::new(r"<(http[^|>]+)\|([a-z-]+) (\d+:\d+)>").unwrap();
    let client = marquee_core::net::client();
    let mut seen = Vec::new();
    for cap in link.captures_iter(&text) {
        let (href, name) = (cap[1].replace("&amp;", "&"), cap[2].to_owned());
        let format = marquee_core::poster::Format::parse(&name).expect("a format");
        let (mut status, mut headers, mut body) = get_link(&client, &href).await;
        if (300..400).contains(&status) {
            let to = headers["location"].to_str().unwrap().to_owned();
            (status, headers, body) = get_link(&client, &to).await;
        }
        let _ = headers;
        assert_eq!(status, 200, "{name}");
        let png = marquee_core::model::image::decode_image(&body).expect("a PNG");
        assert_eq!((png.width(), png.height()), format.size(), "{name}");
        seen.push(format);
    }
    seen
}

/// 📐 Formats… (#26) on an offline take in its thread, with a bot token: the modal round
/// through the Slack stand-in — none ticked is a field error inside the modal; two ticked make
/// one message in the thread with their contact sheet and a link per format, each a PNG of its
/// format's size; a second round asking every format makes only the four new ones (the two
/// made before keep their stored files) and posts them all; a third posts nothing new in the
/// thread and answers the clicker with the same files.
#[tokio::test(flavor = "multi_thread")]
async fn a_takes_formats_arrive_once_in_its_thread() {
    use marquee_core::poster::Format;
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let marker = "FORMATS-BOT";
    let url = s.slack().response_url();
    let asked =
        format!("{marker} a kraken attacks brooklyn --title \"Deep Water\" --model offline");
    assert_eq!(slash_in(&base, &asked, &url, "C0001").await.status, 200);
    let root = bot_poster_in("C0001", marker).await;
    let root_ts = root["ts"].as_str().unwrap().to_owned();
    let id = poster_id_of(&root);
    assert!(
        controls(&root).iter().any(|c| c == "poster.formats"),
        "{:?}",
        controls(&root)
    );
    let sets = || {
        api.thread("C0001", &root_ts)
            .into_iter()
            .filter(|m| m.to_string().contains("Formats of"))
            .collect::<Vec<_>>()
    };
    let at = Posted::top(&root_ts);
    let u1 = s.slack().action_response_url();
    let answer = ask_formats(&base, &root, at, &u1, Some(&["story", "square"])).await;
    assert_eq!(answer, ViewAnswer::Closed);
    let set = support::poll(DELIVERY, || sets().into_iter().next())
        .await
        .unwrap_or_else(|| panic!("no formats in the thread\n{}", stack().bot_log()));
    assert!(
        support::client::image_url(&set).is_some(),
        "no contact sheet: {set}"
    );
    assert_eq!(linked_formats(&set).await, [Format::Square, Format::Story]);
    let square = stored(&id, "format#square").await;

    // Every format: the four missing are made, the two made before are shared as they are.
    let u2 = s.slack().action_response_url();
    assert_eq!(
        ask_formats(&base, &root, at, &u2, None).await,
        ViewAnswer::Closed
    );
    let all = support::poll(DELIVERY, || sets().into_iter().nth(1))
        .await
        .unwrap_or_else(|| panic!("no second formats message\n{}", stack().bot_log()));
    assert_eq!(linked_formats(&all).await, Format::ALL, "{all}");
    assert_eq!(stored(&id, "format#square").await, square, "made again");
    // Each format's file is uploaded into the thread once: by the click that made it. The
    // uploads go in the set's order, so once the wide one is in, a second square would be too.
    let uploads = support::poll(DELIVERY, || {
        let names: Vec<String> = api
            .files()
            .into_iter()
            .filter(|f| f.completed && f.filename.starts_with(&format!("marquee-{id}-")))
            .map(|f| f.filename)
            .collect();
        names
            .iter()
            .any(|n| n.ends_with("-wide.png"))
            .then_some(names)
    })
    .await
    .unwrap_or_else(|| panic!("no wide upload: {:?}", api.files().len()));
    let mut each = uploads.clone();
    each.sort();
    each.dedup();
    assert_eq!(
        (uploads.len(), each.len()),
        (Format::ALL.len(), Format::ALL.len()),
        "{uploads:?}"
    );

    // Again: nothing new in the thread; the clicker gets the same set, privately.
    let u3 = s.slack().action_response_url();
    assert_eq!(
        ask_formats(&base, &root, at, &u3, None).await,
        ViewAnswer::Closed
    );
    let told = s.slack().wait_for(&u3, 1, DELIVERY).await;
    assert!(told[0].to_string().contains("Formats of"), "{}", told[0]);
    assert_eq!(told[0]["response_type"], "ephemeral");
    assert_eq!(linked_formats(&told[0]).await, Format::ALL);
    assert_eq!(sets().len(), 2, "a third formats message in the thread");
}

/// Print offers the formats (#26): an approved offline take whose square was made with
/// 📐 Formats… prints it with the sheets — the square at 24×24 in, 150 dpi, with 1/8 in of
/// bleed and the slug's marks (a 3,788 px page), a PDF with its TrimBox and BleedBox. The
/// approved take still offers Formats…; a story made afterwards is printed by the next Print,
/// which makes only it (the sheets' and square's files are the same), and a third Print
/// answers privately with the same files.
#[tokio::test(flavor = "multi_thread")]
async fn an_approved_takes_formats_are_printed_with_bleed_and_marks() {
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let marker = "PRINT-FORMATS";
    let url = s.slack().response_url();
    let asked = format!("{marker} a lighthouse in a storm --title \"The Keeper\" --model offline");
    assert_eq!(slash_in(&base, &asked, &url, "C0001").await.status, 200);
    let root = bot_poster_in("C0001", marker).await;
    let root_ts = root["ts"].as_str().unwrap().to_owned();
    let at = Posted::top(&root_ts);
    let in_thread = |needle: &'static str| {
        let api = api.clone();
        let root_ts = root_ts.clone();
        move || {
            api.thread("C0001", &root_ts)
                .into_iter()
                .filter(|m| m.to_string().contains(needle))
                .collect::<Vec<_>>()
        }
    };
    let sets = in_thread("Formats of");
    let prints = in_thread("Print-ready files");
    let u1 = s.slack().action_response_url();
    let answer = ask_formats(&base, &root, at, &u1, Some(&["square"])).await;
    assert_eq!(answer, ViewAnswer::Closed);
    support::poll(DELIVERY, || sets().into_iter().next())
        .await
        .unwrap_or_else(|| panic!("no formats in the thread\n{}", stack().bot_log()));

    let u2 = s.slack().action_response_url();
    let by_u3 = Posted {
        user: Some("U0003"),
        ..at
    };
    assert_eq!(
        click(&base, &root, "poster.approve", None, &u2, by_u3).await,
        200
    );
    let approved = s.slack().wait_for(&u2, 1, DELIVERY).await.remove(0);
    assert_eq!(controls(&approved), ["poster.print", "poster.formats"]);

    let print = |response_url: String| {
        let (base, approved) = (base.clone(), approved.clone());
        async move {
            assert_eq!(
                click(&base, &approved, "poster.print", None, &response_url, at).await,
                200
            );
        }
    };
    print(s.slack().action_response_url()).await;
    let first = support::poll(PRINTING, || prints().into_iter().next())
        .await
        .unwrap_or_else(|| panic!("no print-ready files in the thread\n{}", stack().bot_log()));
    let links = print_links(&first);
    assert_eq!(links.len(), 3, "two sheets and the square: {first}");
    let (line, pdf_url, png_url) = &links[2];
    assert!(line.contains("Square 1:1 print, 24×24 in"), "{line}");
    let (status, _, pdf) = get_link(&marquee_core::net::client(), pdf_url).await;
    assert_eq!(status, 200, "{line}");
    assert!(pdf.starts_with(b"%PDF-"), "{line}");
    assert!(
        pdf.windows(8).any(|w| w == b"/TrimBox") && pdf.windows(9).any(|w| w == b"/BleedBox"),
        "{line}"
    );
    let (status, _, png) = get_link(&marquee_core::net::client(), png_url).await;
    assert_eq!(status, 200, "{line}");
    // 24 in at 150 dpi (3,600 px), 1/8 in of bleed (19 px) and a 1/2 in slug (75 px) a side.
    assert_eq!(
        slack_standin::image_size(&png),
        Some((3788, 3788)),
        "{line}"
    );
    let (w, h, rgba) = png_pixels(&png);
    assert_eq!((w, h), (3788, 3788));
    let px = |x: u32, y: u32| {
        let o = (y as usize * w as usize + x as usize) * 4;
        [rgba[o], rgba[o + 1], rgba[o + 2]]
    };
    assert_eq!(px(2, 2), [255, 255, 255], "the slug is paper");
    keep_for_people("print-formats", "print-square.png", &png);

    // The approved take still offers Formats…: a story made now is printed by the next Print.
    let u3 = s.slack().action_response_url();
    let answer = ask_formats(&base, &approved, at, &u3, Some(&["square", "story"])).await;
    assert_eq!(answer, ViewAnswer::Closed);
    let again = support::poll(DELIVERY, || sets().into_iter().nth(1))
        .await
        .unwrap_or_else(|| panic!("no second formats message\n{}", stack().bot_log()));
    // The square's own file is still the 1080 px one the first set linked, not its print page.
    assert_eq!(
        linked_formats(&again).await,
        [
            marquee_core::poster::Format::Square,
            marquee_core::poster::Format::Story
        ],
        "{again}"
    );
    print(s.slack().action_response_url()).await;
    let second = support::poll(PRINTING, || prints().into_iter().nth(1))
        .await
        .unwrap_or_else(|| panic!("no second print message\n{}", stack().bot_log()));
    let keys = |message: &Value| -> Vec<String> {
        print_links(message)
            .into_iter()
            .flat_map(|(_, pdf, png)| [pdf, png])
            .map(|url| url.split('?').next().unwrap_or_default().to_owned())
            .collect()
    };
    let (was, now) = (keys(&first), keys(&second));
    assert_eq!(now.len(), 8, "{second}");
    assert_eq!(
        now[..6],
        was[..],
        "the sheets and the square are the same files"
    );
    assert!(
        print_links(&second)[3]
            .0
            .contains("Story 9:16 print, 13.5×24 in"),
        "{second}"
    );
    // A third Print: nothing new, the same files to the clicker alone.
    let u5 = s.slack().action_response_url();
    print(u5.clone()).await;
    let told = s.slack().wait_for(&u5, 1, DELIVERY).await.remove(0);
    assert_eq!(told["response_type"], "ephemeral", "{told}");
    assert_eq!(keys(&told), now);
    assert_eq!(prints().len(), 2, "a third print message in the thread");
}

/// 📐 Formats… without a bot token: no `views.open` to open a form with, so the click makes
/// every format, as it did before the form existed, and the set arrives through the click's
/// `response_url`.
#[tokio::test(flavor = "multi_thread")]
async fn without_a_bot_token_a_formats_click_makes_every_format() {
    use marquee_core::poster::Format;
    let base = lambda_base().await;
    let s = stack();
    let marker = "FORMATS-URL";
    let url = s.slack().response_url();
    let asked =
        format!("{marker} a kraken attacks brooklyn --title \"Deep Water\" --model offline");
    assert_eq!(slash_in(&base, &asked, &url, "C0001").await.status, 200);
    let original = wait_posters(&url, 1).await.remove(0);
    assert!(
        controls(&original).iter().any(|c| c == "poster.formats"),
        "{:?}",
        controls(&original)
    );
    let u1 = s.slack().action_response_url();
    assert_eq!(
        click(
            &base,
            &original,
            "poster.formats",
            None,
            &u1,
            Posted::top("1700000000.000400")
        )
        .await,
        200
    );
    let set = support::poll(DELIVERY, || {
        s.slack()
            .messages(&u1)
            .into_iter()
            .find(|m| m.to_string().contains("Formats of"))
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "no formats at the response_url\n{}",
            s.lambda().log_tail(6000)
        )
    });
    assert_eq!(linked_formats(&set).await, Format::ALL, "{set}");
}

/// The pixels (RGBA, 8-bit) of a PNG.
fn png_pixels(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    buf.truncate(info.buffer_size());
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::Rgb => buf
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    (info.width, info.height, rgba)
}

/// 🎨 Change a detail, colour only (#26, item 3): the modal's "Only its colour" choice sends
/// the take's own art to Stability's Search and Recolor once — `select_prompt` what was named,
/// `prompt` the colour —, the answer becomes the next take with the same words, its
/// description unchanged, and the take is billed once, as the service.
#[tokio::test(flavor = "multi_thread")]
async fn a_recolor_round_calls_search_and_recolor_once_with_the_takes_art() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use base64::Engine;
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let marker = "RECOLOR-BOT";
    let url = s.slack().response_url();
    let asked = format!("{marker} a lighthouse keeper fights the kraken --title \"The Keeper\"");
    assert_eq!(slash_in(&base, &asked, &url, "C0001").await.status, 200);
    let root = bot_poster_in("C0001", marker).await;
    let root_ts = root["ts"].as_str().unwrap().to_owned();
    let u1 = s.slack().action_response_url();
    assert_eq!(
        click(
            &base,
            &root,
            "poster.change_detail",
            None,
            &u1,
            Posted::top(&root_ts)
        )
        .await,
        200
    );
    let view = api.wait_for_view(&u1, DELIVERY).await;
    assert_eq!(view.callback_id(), "marquee.change_detail");
    let answer = submit_view(
        &base,
        &view,
        &[
            ("marquee.search", Field::Text("the kraken")),
            ("marquee.replace", Field::Text("crimson")),
            ("marquee.detail_kind", Field::Choose("recolor")),
        ],
    )
    .await;
    assert_eq!(answer, ViewAnswer::Closed);
    let take2 = support::poll(DELIVERY, || {
        api.thread("C0001", &root_ts)
            .into_iter()
            .find(|m| m.to_string().contains("via Recolor a detail"))
    })
    .await
    .unwrap_or_else(|| panic!("no recoloured take in the thread\n{}", stack().bot_log()));
    assert!(take2.to_string().contains("The Keeper"), "{take2}");

    // One call to Search and Recolor, with the take's own art and what the modal said.
    let ours = |model: &str| -> Vec<_> {
        s.bedrock()
            .calls_to(model)
            .into_iter()
            .filter(|c| c.body.to_string().contains(marker))
            .collect()
    };
    let recolor = ours("us.stability.stable-image-search-recolor-v1:0");
    assert_eq!(recolor.len(), 1, "{recolor:?}");
    assert!(
        ours("us.stability.stable-image-search-replace-v1:0").is_empty(),
        "a recolour is not a replacement"
    );
    let body = &recolor[0].body;
    assert_eq!(body["select_prompt"], "the kraken");
    assert!(
        body["prompt"]
            .as_str()
            .unwrap()
            .starts_with("the kraken in crimson"),
        "{body}"
    );
    let sent = base64::engine::general_purpose::STANDARD
        .decode(body["image"].as_str().unwrap())
        .unwrap();
    let root_id = poster_id_of(&root);
    let first = stored(&root_id, "record").await;
    let art_key = first["art_key"].as_str().unwrap().to_owned();
    let art = s
        .s3()
        .client()
        .get_object()
        .bucket(s.s3().bucket())
        .key(&art_key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(
        png_pixels(&sent),
        png_pixels(&art),
        "the take's own art is sent"
    );

    // The new take: the same description, lineage from take 1.
    let take2_id = poster_id_of(&take2);
    let second = stored(&take2_id, "record").await;
    assert_eq!(second["spec"]["description"], first["spec"]["description"]);
    assert_eq!(second["lineage"]["parent"], root_id.as_str());

    // Billed once, as Search and Recolor.
    let dynamo = s.dynamo();
    let lines: Vec<Value> = dynamo
        .admin_client()
        .scan()
        .table_name(dynamo.table())
        .filter_expression("begins_with(pk, :ledger)")
        .expression_attribute_values(":ledger", AttributeValue::S("ledger#".into()))
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .filter_map(|item| item.get("v").and_then(|v| v.as_s().ok()))
        .filter_map(|v| serde_json::from_str(v).ok())
        .collect();
    let billed: Vec<&Value> = lines
        .iter()
        .filter(|l| l["poster"] == take2_id.as_str())
        .collect();
    assert_eq!(billed.len(), 1, "{lines:?}");
    assert_eq!(billed[0]["model"], "search-recolor");
    assert!(billed[0]["micros"].as_i64().unwrap() > 0);
    keep_for_people("bot", "take-2-recolor.png", &image_of(&take2).await);
}

/// 📐 Formats… on a Bedrock (SD3.5) take in its thread, with a bot token: the art is grown by
/// Stability's Outpaint — one call per format whose aspect differs from the take's (its 2:3
/// one-sheet needs none), each from the take's own art — and the type set afresh on each: one
/// message in the thread, every file at its format's size, every line of type inside its
/// format's safe area; each format's file is its own record. A second round calls nothing and
/// posts nothing new. Both rounds go through the Formats… modal, every format ticked.
#[tokio::test(flavor = "multi_thread")]
async fn a_bedrock_takes_formats_are_outpainted_once_per_format() {
    use marquee_core::poster::Format;
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let marker = "FORMATS-OUTPAINT";
    let url = s.slack().response_url();
    let asked = format!("{marker} a kraken attacks brooklyn --title \"Deep Water\" --model sd3.5");
    assert_eq!(slash_in(&base, &asked, &url, "C0001").await.status, 200);
    let root = bot_poster_in("C0001", marker).await;
    let root_ts = root["ts"].as_str().unwrap().to_owned();
    assert!(
        controls(&root).iter().any(|c| c == "poster.formats"),
        "{:?}",
        controls(&root)
    );
    let profile = "us.stability.stable-outpaint-v1:0";
    let outpaints = || {
        s.bedrock()
            .calls_to(profile)
            .into_iter()
            .filter(|c| c.prompt().is_some_and(|p| p.contains(marker)))
            .collect::<Vec<_>>()
    };
    let sets = || {
        api.thread("C0001", &root_ts)
            .into_iter()
            .filter(|m| m.to_string().contains("Formats of"))
            .collect::<Vec<_>>()
    };
    let u1 = s.slack().action_response_url();
    let at = Posted::top(&root_ts);
    assert_eq!(
        ask_formats(&base, &root, at, &u1, None).await,
        ViewAnswer::Closed
    );
    let set = support::poll(Duration::from_secs(90), || sets().into_iter().next())
        .await
        .unwrap_or_else(|| panic!("no formats in the thread\n{}", stack().bot_log()));

    // One call per format but the one-sheet, each growing the take's own 832×1216 art to its
    // format's aspect on one axis, evenly.
    let calls = outpaints();
    assert_eq!(calls.len(), 5, "{calls:#?}");
    let mut grown = Vec::new();
    for c in &calls {
        assert_eq!(c.status, 200, "{}", c.body);
        let b = &c.body;
        let image = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            b["image"].as_str().unwrap(),
        )
        .unwrap();
        let art = marquee_core::model::image::decode_image(&image).unwrap();
        assert_eq!((art.width(), art.height()), (832, 1216));
        let side = |k: &str| b[k].as_u64().unwrap_or(0) as f64;
        let (w, h) = (
            832.0 + side("left") + side("right"),
            1216.0 + side("up") + side("down"),
        );
        assert!(side("left").min(side("right")) + 1.0 >= side("left").max(side("right")));
        let format = Format::ALL
            .into_iter()
            .find(|f| {
                let (rw, rh) = f.ratio_parts();
                (w / h - f64::from(rw) / f64::from(rh)).abs() < 0.002
            })
            .unwrap_or_else(|| panic!("{w}x{h} is no format's aspect"));
        grown.push(format);
    }
    grown.sort_by_key(|f| Format::ALL.iter().position(|g| g == f));
    assert_eq!(
        grown,
        &Format::ALL[1..],
        "one call per format but the one-sheet"
    );

    // Every file at its format's size; every line of type inside its safe area.
    assert_eq!(linked_formats(&set).await, Format::ALL);
    // With the bot token, each file is also uploaded into the thread, at its format's size.
    let id = poster_id_of(&root);
    let uploads = support::poll(DELIVERY, || {
        let f: Vec<_> = api
            .files()
            .into_iter()
            .filter(|f| f.completed && f.filename.starts_with(&format!("marquee-{id}-")))
            .filter(|f| f.thread_ts.as_deref() == Some(root_ts.as_str()))
            .collect();
        (f.len() >= Format::ALL.len()).then_some(f)
    })
    .await
    .unwrap_or_else(|| panic!("no upload per format: {:?}", api.files().len()));
    for format in Format::ALL {
        let file = uploads
            .iter()
            .find(|f| f.filename == format!("marquee-{id}-{}.png", format.name()))
            .unwrap_or_else(|| panic!("no {format} upload"));
        let png = marquee_core::model::image::decode_image(&file.bytes).expect("a PNG");
        assert_eq!((png.width(), png.height()), format.size(), "{format}");
    }
    for format in Format::ALL {
        let made = stored(&id, &format!("format#{}", format.name())).await;
        let b: Vec<f32> = made["type_box"]
            .as_array()
            .expect("a type box")
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let (x, y, w, h) = format.safe_area();
        assert!(b[2] > 0.0 && b[3] > 0.0, "{format}: no type");
        assert!(
            b[0] >= x && b[1] >= y && b[0] + b[2] <= x + w && b[1] + b[3] <= y + h,
            "{format}: type {b:?} outside the safe area {:?}",
            (x, y, w, h)
        );
        assert_eq!(made["outpainted_with"], "Stable Image Outpaint");
    }

    // Again: no call, nothing new in the thread; the clicker gets the same set, privately.
    let u2 = s.slack().action_response_url();
    assert_eq!(
        ask_formats(&base, &root, at, &u2, None).await,
        ViewAnswer::Closed
    );
    let told = s.slack().wait_for(&u2, 1, DELIVERY).await;
    assert!(told[0].to_string().contains("Formats of"), "{}", told[0]);
    assert_eq!(told[0]["response_type"], "ephemeral");
    assert_eq!(sets().len(), 1, "a second formats message in the thread");
    assert_eq!(outpaints().len(), 5, "a second click called Outpaint");
    let uploaded = api
        .files()
        .into_iter()
        .filter(|f| f.filename.starts_with(&format!("marquee-{id}-")))
        .count();
    assert_eq!(uploaded, Format::ALL.len(), "a second click uploaded again");
}

/// 📐 Formats… over the requester's daily limit (#26: "billed per outpaint call, refused up
/// front when over a limit"), on a deployment whose admin allows five posters a person a day:
/// someone whose SD3.5 take used one of the five clicks Formats…, which needs five Outpaint
/// calls. They are told at once, privately, why so many and what is left; no Outpaint call
/// reaches Bedrock, nothing is billed (no ledger line, the day's count unchanged) and nothing
/// is made. When their day starts afresh (its counter gone, as every new UTC day's is), the
/// same click makes the set with five calls, each billed once in the ledger.
#[tokio::test(flavor = "multi_thread")]
async fn formats_over_the_daily_limit_are_refused_up_front_and_bill_nothing() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let base = support::client::limited_base().await;
    let s = stack();
    let api = s.slack().api();
    // The state table is the whole stack's: this person is counted by no other test.
    let user = "U0LIMITED";
    let counter = format!("quota#user#T0001#{user}");
    let marker = "FORMATS-OVER-LIMIT";
    let asked = format!("{marker} a lighthouse in a gale --title \"Last Light\" --model sd3.5");
    let body = support::slack::slash_command_body(&asked, &s.slack().response_url())
        .replace("user_id=U0001", &format!("user_id={user}"));
    let answer = post_signed(format!("{base}/slack/commands"), body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let root = support::poll(DELIVERY, || {
        api.channel_messages("C0001").into_iter().find(|m| {
            m.to_string().contains(marker) && m["blocks"].to_string().contains("\"image\"")
        })
    })
    .await
    .unwrap_or_else(|| panic!("no poster\n{}", s.limited_log()));
    let root_ts = root["ts"].as_str().unwrap().to_owned();
    let id = poster_id_of(&root);
    let dynamo = s.dynamo();
    let day_count = || async {
        let items = dynamo
            .admin_client()
            .query()
            .table_name(dynamo.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(counter.clone()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default();
        items
            .iter()
            .filter_map(|i| i.get("n").and_then(|n| n.as_n().ok()))
            .map(|n| n.parse::<i64>().unwrap())
            .sum::<i64>()
    };
    assert_eq!(day_count().await, 1, "the take counts one of five");
    let ledger = || async {
        let lines: Vec<Value> = dynamo
            .admin_client()
            .scan()
            .table_name(dynamo.table())
            .filter_expression("begins_with(pk, :ledger)")
            .expression_attribute_values(":ledger", AttributeValue::S("ledger#".into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .items()
            .iter()
            .filter_map(|item| item.get("v").and_then(|v| v.as_s().ok()))
            .filter_map(|v| serde_json::from_str(v).ok())
            .collect();
        lines
            .into_iter()
            .filter(|l| l["poster"] == id.as_str() && l["model"] == "outpaint")
            .collect::<Vec<_>>()
    };
    let outpaints = || {
        s.bedrock()
            .calls_to("us.stability.stable-outpaint-v1:0")
            .into_iter()
            .filter(|c| c.prompt().is_some_and(|p| p.contains(marker)))
            .count()
    };
    let sets = || {
        api.thread("C0001", &root_ts)
            .into_iter()
            .filter(|m| m.to_string().contains("Formats of"))
            .count()
    };
    let at = Posted {
        user: Some(user),
        ..Posted::top(&root_ts)
    };

    // Five calls needed, four left: refused before any call, and told why.
    let u1 = s.slack().action_response_url();
    assert_eq!(
        ask_formats(&base, &root, at, &u1, None).await,
        ViewAnswer::Closed
    );
    let told = support::poll(DELIVERY, || s.slack().messages(&u1).into_iter().next())
        .await
        .unwrap_or_else(|| panic!("not told\n{}", s.limited_log()));
    let text = told.to_string();
    assert_eq!(told["response_type"], "ephemeral", "{told}");
    for said in [
        "need 5 calls to Stable Image Outpaint",
        "This would pass your limit of 5 posters a day",
        "You have 4 posters left today; this needs 5 posters",
        "Nothing was generated or charged",
    ] {
        assert!(text.contains(said), "{said:?} not in {text}");
    }
    assert_eq!(outpaints(), 0, "an Outpaint call was made over the limit");
    assert!(ledger().await.is_empty(), "billed over the limit");
    assert_eq!(day_count().await, 1, "the refusal kept a reservation");
    assert_eq!(sets(), 0, "formats were posted over the limit");

    // A new day: the count starts from nothing, and the same click makes the set.
    for sk in dynamo
        .admin_client()
        .query()
        .table_name(dynamo.table())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(counter.clone()))
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.get("sk").cloned())
    {
        dynamo
            .admin_client()
            .delete_item()
            .table_name(dynamo.table())
            .key("pk", AttributeValue::S(counter.clone()))
            .key("sk", sk)
            .send()
            .await
            .unwrap();
    }
    let u2 = s.slack().action_response_url();
    assert_eq!(
        ask_formats(&base, &root, at, &u2, None).await,
        ViewAnswer::Closed
    );
    support::poll(Duration::from_secs(90), || (sets() == 1).then_some(()))
        .await
        .unwrap_or_else(|| panic!("no formats in the thread\n{}", s.limited_log()));
    assert_eq!(outpaints(), 5);
    let billed = ledger().await;
    assert_eq!(billed.len(), 5, "one ledger line per call: {billed:#?}");
    for line in &billed {
        assert_eq!(line["user"], user);
        assert!(line["micros"].as_i64().unwrap() > 0, "{line}");
    }
    assert_eq!(day_count().await, 5, "five calls counted, nothing else");
}
