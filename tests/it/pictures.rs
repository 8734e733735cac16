//! Use a picture… end to end, on the real local stack with a bot token: a person clicks
//! 🖼️ Use a picture… on a take, uploads a picture in the modal's `file_input` (the Slack
//! stand-in hosts it, served only with the bot token), and submits. The function downloads it
//! from the allowed file host, checks and cleans it, stores it under `refs/` (with the IAM the
//! template grants), and the worker makes the take through the right Bedrock service with the
//! uploaded pixels. Hostile uploads are refused inside the modal, with nothing stored, queued or
//! billed. New posters are made from a picture too: `/poster` alone opens the New poster form
//! (its `file_input`), and the message shortcut offers the picture a message already carries.

use std::time::Duration;

use crate::support;
use crate::support::client::{DELIVERY, bot_base, bot_poster_in, post_signed, slash_in};
use crate::support::slack as slack_standin;
use crate::support::slack_api::TEAM_ID;
use crate::support::slack_api::{Field, OpenedView, ViewAnswer};
use crate::support::slack_events;
use crate::support::stack;
use base64::Engine;
use serde_json::Value;

/// The picture rounds take turns: each counts what is stored under `refs/` and downloaded
/// from the file host, which the other would change.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const STYLE_GUIDE: &str = "us.stability.stable-image-style-guide-v1:0";
const STYLE_TRANSFER: &str = "us.stability.stable-style-transfer-v1:0";
const SD35: &str = "stability.sd3-5-large-v1:0";

/// A PNG test card (RGB), with a red block top-left.
fn card_png(w: u32, h: u32) -> Vec<u8> {
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            if x < w / 4 && y < h / 4 {
                rgb.extend_from_slice(&[230, 20, 20]);
            } else {
                rgb.extend_from_slice(&[(x * 255 / w) as u8, (y * 255 / h) as u8, 120]);
            }
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(&rgb).unwrap();
    writer.finish().unwrap();
    out
}

/// The RGBA pixels of a PNG.
fn pixels(png: &[u8]) -> (u32, u32, Vec<u8>) {
    let p = tiny_skia::Pixmap::decode_png(png).expect("a PNG");
    (p.width(), p.height(), p.data().to_vec())
}

fn b64_png(value: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(value.as_str().expect("a base64 image"))
        .expect("base64")
}

fn controls(message: &Value) -> Vec<String> {
    message["blocks"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["type"] == "actions"))
        .map(|a| {
            a["elements"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|e| e["action_id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Clicks `action_id` on `message` (in `C0001`, in thread `thread`) as the stand-in's reviewer.
async fn click(base: &str, message: &Value, action_id: &str, url: &str, thread: &str) -> u16 {
    let ts = message["ts"].as_str().unwrap();
    let form = stack().slack().block_actions(&slack_standin::Click {
        message,
        action_id,
        choice: None,
        response_url: url,
        channel: "C0001",
        ts,
        thread_ts: (ts != thread).then_some(thread),
        user: None,
    });
    post_signed(format!("{base}/slack/interactions"), form)
        .await
        .status
}

/// Submits the Use a picture… modal with `file` (as the opener uploaded it) and `usage`.
async fn submit(base: &str, view: &OpenedView, file: Value, usage: &str) -> ViewAnswer {
    let api = stack().slack().api();
    let form = api
        .view_submission(
            &view.id,
            &[
                ("marquee.picture", Field::Files(vec![file])),
                ("marquee.use", Field::Choose(usage)),
            ],
        )
        .unwrap_or_else(|e| panic!("Slack's client would not submit: {e}"));
    let answer = post_signed(format!("{base}/slack/interactions"), form).await;
    api.view_answer(&view.id, answer.status, &answer.body)
        .unwrap_or_else(|e| panic!("Slack would show an error: {e}"))
}

/// Uploads `bytes` as `name`, by the person the view was opened for.
fn upload(view: &OpenedView, name: &str, bytes: Vec<u8>) -> Value {
    let user = view.user["id"].as_str().unwrap_or("U0002");
    let team = view.user["team_id"].as_str().unwrap_or("T0001");
    stack()
        .slack()
        .api()
        .upload_by_person(user, team, name, bytes)
}

/// The objects under `refs/` in the deployment's bucket.
async fn stored_refs() -> Vec<String> {
    let s3 = stack().s3();
    let listed = s3
        .client()
        .list_objects_v2()
        .bucket(s3.bucket())
        .prefix("refs/")
        .send()
        .await
        .unwrap();
    listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

async fn stored(key: &str) -> Vec<u8> {
    let s3 = stack().s3();
    let got = s3
        .client()
        .get_object()
        .bucket(s3.bucket())
        .key(key)
        .send()
        .await
        .unwrap();
    got.body.collect().await.unwrap().into_bytes().to_vec()
}

/// A poster made with the bot token, and a fresh modal of Use a picture… opened on it.
async fn poster_and_modal(base: &str, marker: &str) -> (Value, String) {
    let s = stack();
    let url = s.slack().response_url();
    let asked = format!("{marker} a lighthouse keeper at dawn --title \"The Keeper\"");
    assert_eq!(slash_in(base, &asked, &url, "C0001").await.status, 200);
    let root = bot_poster_in("C0001", marker).await;
    assert!(
        controls(&root).iter().any(|c| c == "poster.use_picture"),
        "{:?}",
        controls(&root)
    );
    let ts = root["ts"].as_str().unwrap().to_owned();
    (root, ts)
}

async fn open(base: &str, message: &Value, thread: &str) -> OpenedView {
    let s = stack();
    let u = s.slack().action_response_url();
    assert_eq!(
        click(base, message, "poster.use_picture", &u, thread).await,
        200
    );
    let view = s.slack().api().wait_for_view(&u, DELIVERY).await;
    assert_eq!(view.callback_id(), "marquee.use_picture");
    view
}

/// One round per use: each makes one take whose lineage names the picture, through the right
/// service, with the uploaded pixels in the service's own field.
#[tokio::test(flavor = "multi_thread")]
async fn a_picture_round_for_each_of_the_three_uses() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let marker = "PICTURE-ROUND";
    let (root, root_ts) = poster_and_modal(&base, marker).await;
    let (downloads_before, refused_before) = api.file_downloads();
    let picture = card_png(480, 320);
    let (pw, ph, want_pixels) = pixels(&picture);
    let take = |via: String| {
        let root_ts = root_ts.clone();
        async move {
            support::poll(DELIVERY, || {
                api.thread("C0001", &root_ts)
                    .into_iter()
                    .find(|m| m.to_string().contains(&via))
            })
            .await
            .unwrap_or_else(|| panic!("no take {via:?} in the thread\n{}", stack().bot_log()))
        }
    };

    // In the style of this picture: Stability Style Guide, the picture as `image`.
    let view = open(&base, &root, &root_ts).await;
    let file = upload(&view, "brand-2026.png", picture.clone());
    assert_eq!(
        submit(&base, &view, file, "style_of").await,
        ViewAnswer::Closed
    );
    let take2 = take("in the style of brand-2026.png".into()).await;
    assert!(
        take2
            .to_string()
            .contains("Take 2 · in the style of brand-2026.png"),
        "{take2}"
    );
    let guide = s.bedrock().calls_to(STYLE_GUIDE);
    let call = guide
        .iter()
        .find(|c| {
            c.body["prompt"]
                .as_str()
                .is_some_and(|p| p.contains(marker))
        })
        .unwrap_or_else(|| panic!("no Style Guide call: {guide:?}\n{}", stack().bot_log()));
    assert_eq!(call.status, 200);
    assert_eq!(
        pixels(&b64_png(&call.body["image"])),
        (pw, ph, want_pixels.clone()),
        "the service got the uploaded pixels"
    );
    assert_eq!(call.body["aspect_ratio"], "2:3");
    // The clean copy is kept privately under refs/, a PNG of the same pixels.
    let refs = stored_refs().await;
    assert!(!refs.is_empty());

    // Start from this picture: SD3.5 image-to-image from the picture (cropped to 2:3).
    let view = open(&base, &root, &root_ts).await;
    let file = upload(&view, "product.png", picture.clone());
    assert_eq!(
        submit(&base, &view, file, "start_from").await,
        ViewAnswer::Closed
    );
    take("started from product.png".into()).await;
    let started = s
        .bedrock()
        .calls_to(SD35)
        .into_iter()
        .find(|c| {
            c.body["mode"] == "image-to-image"
                && c.body["prompt"]
                    .as_str()
                    .is_some_and(|p| p.contains(marker))
        })
        .unwrap_or_else(|| panic!("no image-to-image call\n{}", stack().bot_log()));
    let (w, h, _) = pixels(&b64_png(&started.body["image"]));
    assert_eq!(h, ph, "cropped, never stretched");
    assert!(
        (f64::from(w) / f64::from(h) - 2.0 / 3.0).abs() < 0.01,
        "{w}x{h}"
    );
    assert!(started.body.get("aspect_ratio").is_none());

    // Restyle this take like that picture: Style Transfer, the take's art as init_image and
    // the picture as style_image.
    let view = open(&base, &take2, &root_ts).await;
    let file = upload(&view, "moodboard.png", picture.clone());
    assert_eq!(
        submit(&base, &view, file, "restyle_like").await,
        ViewAnswer::Closed
    );
    take("restyled like moodboard.png".into()).await;
    let transfer = s.bedrock().calls_to(STYLE_TRANSFER);
    let call = transfer
        .iter()
        .find(|c| {
            c.body["prompt"]
                .as_str()
                .is_some_and(|p| p.contains(marker))
        })
        .unwrap_or_else(|| {
            panic!(
                "no Style Transfer call: {transfer:?}\n{}",
                stack().bot_log()
            )
        });
    assert_eq!(
        pixels(&b64_png(&call.body["style_image"])),
        (pw, ph, want_pixels),
        "the service got the uploaded pixels as the style"
    );
    assert!(call.body.get("image").is_none());
    // Three takes, three pictures kept, each downloaded once with the bot token.
    assert!(stored_refs().await.len() >= 3);
    let (downloads, refused) = api.file_downloads();
    assert_eq!(downloads - downloads_before, 3);
    assert_eq!(
        refused, refused_before,
        "every download carried the bot token"
    );
}

/// Hostile uploads are refused inside the modal, under the picture, each with words for
/// people; nothing is stored under refs/, nothing queued, nothing billed. A JPEG carrying GPS
/// EXIF is accepted and stored without it.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_uploads_are_refused_inside_the_modal_and_nothing_is_stored_or_billed() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let base = bot_base().await;
    let s = stack();
    let marker = "PICTURE-HOSTILE";
    let (root, root_ts) = poster_and_modal(&base, marker).await;
    let calls_before = s.bedrock().calls_for_prompt(marker).len();
    let refs_before = stored_refs().await;

    // A 20,000 × 20,000 PNG header: a few bytes declaring 400 megapixels.
    let mut bomb = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    bomb.extend_from_slice(&20_000u32.to_be_bytes());
    bomb.extend_from_slice(&20_000u32.to_be_bytes());
    bomb.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    let gif = b"GIF89a\x01\0\x01\0\x80\0\0\xff\xff\xff\0\0\0!\xf9\x04\0\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;".to_vec();
    let cases: [(&str, Vec<u8>, &str); 2] = [
        ("brand.png", gif, "GIF"),
        ("huge.png", bomb, "40 megapixels"),
    ];
    for (name, bytes, says) in cases {
        let view = open(&base, &root, &root_ts).await;
        let file = upload(&view, name, bytes);
        match submit(&base, &view, file, "style_of").await {
            ViewAnswer::Errors(errors) => {
                let message = errors["marquee.picture"].as_str().unwrap_or_default();
                assert!(message.contains(says), "{name}: {message}");
            }
            other => panic!("{name} was not refused in the modal: {other:?}"),
        }
    }
    // A file on another host: its URL is not Slack's file host, so it is never fetched (and
    // the bot token never sent there).
    let view = open(&base, &root, &root_ts).await;
    let mut file = upload(&view, "elsewhere.png", card_png(100, 100));
    file["url_private_download"] = "https://evil.example/files-pri/T0001-F1/download/a.png".into();
    file["url_private"] = "https://evil.example/files-pri/T0001-F1/a.png".into();
    let (downloads_before, _) = s.slack().api().file_downloads();
    match submit(&base, &view, file, "style_of").await {
        ViewAnswer::Errors(errors) => {
            let message = errors["marquee.picture"].as_str().unwrap_or_default();
            assert!(message.contains("uploaded to Slack"), "{message}");
        }
        other => panic!("another host's file was not refused: {other:?}"),
    }
    assert_eq!(s.slack().api().file_downloads().0, downloads_before);
    // Nothing stored, nothing called, nothing billed for any of them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stored_refs().await, refs_before);
    assert_eq!(s.bedrock().calls_for_prompt(marker).len(), calls_before);

    // A JPEG with GPS EXIF: accepted, stored and sent without it.
    let view = open(&base, &root, &root_ts).await;
    let mut jpeg = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut jpeg, 90);
    let mut exif =
        b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x88\x25\0\x04\0\0\0\x01\0\0\0\x1a\0\0\0\0".to_vec();
    exif.extend_from_slice(b"\0\x01\0\x01\0\x02\0\0\0\x02N\0\0\0\0\0\0\0GPS 51.5074 N 0.1278 W");
    enc.add_app_segment(1, exif).unwrap();
    let rgb: Vec<u8> = (0..300 * 200)
        .flat_map(|i| [(i % 255) as u8, 90, 160])
        .collect();
    enc.encode(&rgb, 300, 200, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    assert!(jpeg.windows(3).any(|w| w == b"GPS"));
    let file = upload(&view, "holiday.jpg", jpeg);
    assert_eq!(
        submit(&base, &view, file, "style_of").await,
        ViewAnswer::Closed
    );
    let new: Vec<String> = stored_refs()
        .await
        .into_iter()
        .filter(|k| !refs_before.contains(k))
        .collect();
    assert_eq!(new.len(), 1, "{new:?}");
    let kept = stored(&new[0]).await;
    assert!(kept.starts_with(b"\x89PNG"), "stored as a clean PNG");
    assert!(!kept.windows(3).any(|w| w == b"GPS"), "GPS survived");
    assert!(
        !kept.windows(4).any(|w| w == b"Exif" || w == b"eXIf"),
        "EXIF survived"
    );
    let sent = support::poll(DELIVERY, || {
        s.bedrock().calls_to(STYLE_GUIDE).into_iter().find(|c| {
            c.body["prompt"]
                .as_str()
                .is_some_and(|p| p.contains(marker))
        })
    })
    .await
    .unwrap_or_else(|| panic!("no Style Guide call\n{}", stack().bot_log()));
    assert!(!b64_png(&sent.body["image"]).windows(3).any(|w| w == b"GPS"));
}

/// The file host serves a file only with the bot token; `files.info` needs `files:read`.
#[tokio::test(flavor = "multi_thread")]
async fn the_file_host_wants_the_bot_token() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let s = stack();
    let _ = bot_base().await;
    let api = s.slack().api();
    let file = api.upload_by_person("U0002", "T0001", "a.png", card_png(64, 64));
    let url = file["url_private_download"].as_str().unwrap().to_owned();
    let http = marquee_core::net::client();
    let anonymous = http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 403);
    let other = http
        .get(&url)
        .bearer_auth("xoxb-someone-else")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 403);
    let ok = http
        .get(&url)
        .bearer_auth(api.bot_token())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(
        ok.bytes().await.unwrap().as_ref(),
        card_png(64, 64).as_slice()
    );
    let info: Value = http
        .post(format!("{}/api/files.info", s.slack().base_url()))
        .bearer_auth(api.bot_token())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("file={}", file["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["ok"], true, "{info}");
    assert_eq!(info["file"]["id"], file["id"]);
}

/// The New poster form, opened by `/poster` alone for the command's user, within the trigger.
async fn new_poster_form(base: &str) -> (OpenedView, String) {
    let s = stack();
    let url = s.slack().response_url();
    let answer = slash_in(base, "", &url, "C0001").await;
    assert_eq!(answer.status, 200, "{}", stack().bot_log());
    assert_eq!(
        answer.body,
        Value::Null,
        "the form, not help: {}",
        answer.body
    );
    let view = s.slack().api().wait_for_view(&url, DELIVERY).await;
    assert_eq!(view.callback_id(), "marquee.new_poster");
    assert!(view.trigger_age < Duration::from_secs(3));
    (view, url)
}

/// Submits the New poster form with `description`, the picture `file` (if any) and `usage`.
async fn submit_form(
    base: &str,
    view: &OpenedView,
    description: &str,
    file: Option<Value>,
    usage: &str,
) -> ViewAnswer {
    let api = stack().slack().api();
    let mut fields = vec![
        ("marquee.from.description", Field::Text(description)),
        ("marquee.from.title", Field::Text("The Keeper")),
        ("marquee.from.use", Field::Choose(usage)),
    ];
    if let Some(file) = file {
        fields.push(("marquee.picture", Field::Files(vec![file])));
    }
    let form = api
        .view_submission(&view.id, &fields)
        .unwrap_or_else(|e| panic!("Slack's client would not submit: {e}"));
    let answer = post_signed(format!("{base}/slack/interactions"), form).await;
    api.view_answer(&view.id, answer.status, &answer.body)
        .unwrap_or_else(|e| panic!("Slack would show an error: {e}"))
}

/// `/poster` alone opens the New poster form (with a bot token and the command's trigger);
/// `/poster help` still answers help, which tells of the form. A picture uploaded in the form,
/// *In the style of this picture*, makes a new poster through Style Guide with the uploaded
/// pixels, the poster's message says so, and `/poster history` shows it.
#[tokio::test(flavor = "multi_thread")]
async fn slash_poster_alone_opens_the_form_and_a_picture_makes_a_new_poster() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let help = slash_in(&base, "help", &s.slack().response_url(), "C0001").await;
    assert!(
        help.body.to_string().contains("Make a movie poster"),
        "{}",
        help.body
    );
    assert!(
        help.body.to_string().contains("New poster"),
        "{}",
        help.body
    );

    let marker = "NEWFORM-STYLE";
    let (view, url) = new_poster_form(&base).await;
    let picture = card_png(360, 240);
    let (pw, ph, want_pixels) = pixels(&picture);
    let refs_before = stored_refs().await;
    let file = upload(&view, "brand-2026.png", picture);
    let answer = submit_form(
        &base,
        &view,
        &format!("{marker} a lighthouse keeper at dawn"),
        Some(file),
        "style_of",
    )
    .await;
    assert!(
        matches!(answer, ViewAnswer::Other(_)),
        "{answer:?}\n{}",
        stack().bot_log()
    );
    let poster = bot_poster_in("C0001", marker).await;
    assert!(
        poster
            .to_string()
            .contains("In the style of brand-2026.png"),
        "{poster}"
    );
    let call = s
        .bedrock()
        .calls_to(STYLE_GUIDE)
        .into_iter()
        .find(|c| {
            c.body["prompt"]
                .as_str()
                .is_some_and(|p| p.contains(marker))
        })
        .unwrap_or_else(|| panic!("no Style Guide call\n{}", stack().bot_log()));
    assert_eq!(
        pixels(&b64_png(&call.body["image"])),
        (pw, ph, want_pixels),
        "the service got the uploaded pixels"
    );
    assert_eq!(stored_refs().await.len(), refs_before.len() + 1);
    // History shows where the poster came from.
    assert_eq!(slash_in(&base, "history", &url, "C0001").await.status, 200);
    let history = support::poll(DELIVERY, || {
        s.slack()
            .messages(&url)
            .into_iter()
            .find(|m| m.to_string().contains("Your latest posters"))
    })
    .await
    .unwrap_or_else(|| panic!("no history\n{}", stack().bot_log()));
    assert!(
        history
            .to_string()
            .contains("take 1, in the style of brand-2026.png"),
        "{history}"
    );
    let _ = api;
}

/// Hostile uploads in the New poster form are refused inside it, under the picture, with
/// nothing stored, called or billed; a poster from the words alone needs no picture.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_uploads_in_the_new_poster_form_are_refused_inside_it() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let base = bot_base().await;
    let s = stack();
    let marker = "NEWFORM-HOSTILE";
    let refs_before = stored_refs().await;
    let gif = b"GIF89a\x01\0\x01\0\x80\0\0\xff\xff\xff\0\0\0!\xf9\x04\0\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;".to_vec();
    let (view, _) = new_poster_form(&base).await;
    let file = upload(&view, "brand.png", gif);
    match submit_form(
        &base,
        &view,
        &format!("{marker} a cat"),
        Some(file),
        "start_from",
    )
    .await
    {
        ViewAnswer::Errors(errors) => {
            let message = errors["marquee.picture"].as_str().unwrap_or_default();
            assert!(message.contains("GIF"), "{message}");
        }
        other => panic!("a GIF named .png was not refused in the form: {other:?}"),
    }
    let (view, _) = new_poster_form(&base).await;
    let mut file = upload(&view, "elsewhere.png", card_png(100, 100));
    file["url_private_download"] = "https://evil.example/files-pri/T0001-F1/download/a.png".into();
    file["url_private"] = "https://evil.example/files-pri/T0001-F1/a.png".into();
    match submit_form(
        &base,
        &view,
        &format!("{marker} a dog"),
        Some(file),
        "style_of",
    )
    .await
    {
        ViewAnswer::Errors(errors) => {
            let message = errors["marquee.picture"].as_str().unwrap_or_default();
            assert!(message.contains("uploaded to Slack"), "{message}");
        }
        other => panic!("another host's file was not refused: {other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stored_refs().await, refs_before);
    assert!(s.bedrock().calls_for_prompt(marker).is_empty());
    // Without a picture, the form makes a poster from the words, as /poster does.
    let (view, _) = new_poster_form(&base).await;
    let words = format!("{marker}-WORDS a lighthouse keeper at dawn");
    let answer = submit_form(&base, &view, &words, None, "style_of").await;
    assert!(matches!(answer, ViewAnswer::Other(_)), "{answer:?}");
    bot_poster_in("C0001", &format!("{marker}-WORDS")).await;
    assert_eq!(stored_refs().await, refs_before);
}

/// The message shortcut on a message that shares a picture offers it; chosen as *Start from
/// this picture*, the file is read again by its id with the bot token (`files.info`), fetched
/// from the file host and made into the poster by SD3.5 image-to-image, in the message's
/// thread. Chosen as "Don't use it", nothing is fetched.
#[tokio::test(flavor = "multi_thread")]
async fn a_shortcut_on_a_message_with_a_picture_starts_the_poster_from_it() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let marker = "SHORTCUT-PICTURE";
    let picture = card_png(480, 320);
    let (_, ph, _) = pixels(&picture);
    let file = api.upload_by_person("U0002", TEAM_ID, "key-art.png", picture);
    let mut message = api.person_says(
        "C0001",
        "U0002",
        TEAM_ID,
        &format!("{marker} here's the key art: a lighthouse keeper at dawn"),
        None,
    );
    // A `file_share` message (node-slack-sdk `FileShareMessageEvent`): its files beside it.
    message["subtype"] = "file_share".into();
    message["upload"] = true.into();
    message["files"] = serde_json::json!([file]);
    let user =
        serde_json::json!({"id": "U0002", "username": "ana", "name": "ana", "team_id": TEAM_ID});
    let (downloads_before, refused_before) = api.file_downloads();
    let info_before = api.calls_to("files.info").len();

    for (choice, fetched) in [("none", 0), ("start_from", 1)] {
        let url = s.slack().shortcut_response_url();
        let form = slack_events::message_action(
            &message,
            "C0001",
            &user,
            marquee_core::slack::shortcut::CALLBACK_ID,
            &url,
        );
        assert_eq!(
            post_signed(format!("{base}/slack/interactions"), form)
                .await
                .status,
            200
        );
        let view = api.wait_for_view(&url, DELIVERY).await;
        assert!(
            view.input("marquee.from.use")["label"]["text"]
                .as_str()
                .unwrap_or_default()
                .contains("key-art.png"),
            "the message's picture is offered"
        );
        let submitted = api
            .view_submission(&view.id, &[("marquee.from.use", Field::Choose(choice))])
            .unwrap();
        let answer = post_signed(format!("{base}/slack/interactions"), submitted).await;
        assert!(
            matches!(
                api.view_answer(&view.id, answer.status, &answer.body),
                Ok(ViewAnswer::Other(_))
            ),
            "{choice}: {:?}\n{}",
            answer.body,
            stack().bot_log()
        );
        assert_eq!(
            api.calls_to("files.info").len(),
            info_before + fetched,
            "{choice}"
        );
        assert_eq!(
            api.file_downloads().0,
            downloads_before + fetched,
            "{choice}"
        );
    }
    assert_eq!(api.file_downloads().1, refused_before, "with the bot token");
    let started = support::poll(DELIVERY, || {
        s.bedrock().calls_to(SD35).into_iter().find(|c| {
            c.body["mode"] == "image-to-image"
                && c.body["prompt"]
                    .as_str()
                    .is_some_and(|p| p.contains(marker))
        })
    })
    .await
    .unwrap_or_else(|| panic!("no image-to-image call\n{}", stack().bot_log()));
    let (_, h, _) = pixels(&b64_png(&started.body["image"]));
    assert_eq!(h, ph, "the message's picture, cropped, never stretched");
    let posted = support::poll(DELIVERY, || {
        api.thread("C0001", message["ts"].as_str().unwrap())
            .into_iter()
            .find(|m| m.to_string().contains("Started from key-art.png"))
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "no poster from the picture in the thread\n{}",
            stack().bot_log()
        )
    });
    assert_eq!(posted["thread_ts"], message["ts"]);
}

/// Who may make a poster from a picture is decided on the submission's own `user.team_id`:
/// a Slack Connect guest (their own workspace, not the installation's; view-only by default)
/// who opened the New poster form has their picture refused under it before anything is
/// fetched, stored or billed. (A slash command names no user workspace, so the form opens.)
#[tokio::test(flavor = "multi_thread")]
async fn a_slack_connect_guests_picture_is_refused_before_it_is_fetched() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let url = s.slack().response_url();
    let guest = serde_json::json!({"id": "W0GUEST01", "username": "guest", "name": "guest", "team_id": "T0PARTNER"});
    let trigger = crate::support::slack_api::issue_trigger(guest);
    let body = serde_urlencoded::to_string([
        ("team_id", TEAM_ID),
        ("channel_id", "C0001"),
        ("user_id", "W0GUEST01"),
        ("user_name", "guest"),
        ("command", "/poster"),
        ("text", ""),
        ("api_app_id", "A0001"),
        ("response_url", url.as_str()),
        ("trigger_id", trigger.as_str()),
    ])
    .unwrap();
    let answer = post_signed(format!("{base}/slack/commands"), body).await;
    assert_eq!(answer.status, 200);
    let view = api.wait_for_view(&url, DELIVERY).await;
    assert_eq!(view.user["team_id"], "T0PARTNER");
    let refs_before = stored_refs().await;
    let (downloads_before, _) = api.file_downloads();
    let file = upload(&view, "partner-logo.png", card_png(120, 80));
    match submit_form(&base, &view, "NEWFORM-GUEST a cat", Some(file), "style_of").await {
        ViewAnswer::Errors(errors) => {
            let message = errors["marquee.picture"].as_str().unwrap_or_default();
            assert!(message.contains("Slack Connect"), "{message}");
        }
        other => panic!("a guest's picture was taken: {other:?}"),
    }
    assert_eq!(api.file_downloads().0, downloads_before, "nothing fetched");
    assert_eq!(stored_refs().await, refs_before, "nothing stored");
    assert!(s.bedrock().calls_for_prompt("NEWFORM-GUEST").is_empty());
}

/// Without a bot token there is no form to open: `/poster` alone answers help, as before,
/// and the help does not offer the form.
#[tokio::test(flavor = "multi_thread")]
async fn without_a_bot_token_poster_alone_answers_help() {
    let base = crate::support::client::lambda_base().await;
    let url = stack().slack().response_url();
    let answer = slash_in(&base, "", &url, "C0001").await;
    assert_eq!(answer.status, 200);
    let card = answer.body.to_string();
    assert!(card.contains("Make a movie poster"), "{card}");
    assert!(!card.contains("New poster"), "no form to offer: {card}");
    assert!(
        !stack()
            .slack()
            .api()
            .opened_views()
            .iter()
            .any(|v| v.view["private_metadata"]
                .as_str()
                .is_some_and(|m| m.contains(&url))),
        "no form was opened for this command"
    );
}
