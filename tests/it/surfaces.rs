//! Marquee where people already talk, on the real local stack with a bot token: the message
//! shortcut "Make a poster from this message" and the Events API door (`/slack/events`:
//! mentions in channels and threads, direct messages), driven as Slack drives them — signed
//! payloads in the shapes of `tests/fixtures/slack/`, events delivered with Slack's retries
//! (`support::slack_events`, its minutes compressed to milliseconds) — and the Workflow
//! Builder step "Make a poster" (`function_executed`, completed with `functions.complete*`
//! against the stand-in's executions).

use std::time::Duration;

use serde_json::{Value, json};

use crate::support;
use crate::support::client::{DELIVERY, bot_base, post_signed};
use crate::support::slack_api::{ApiFault, TEAM_ID, ViewAnswer};
use crate::support::slack_events::{self, Schedule};
use crate::support::stack;

fn is_poster(m: &Value) -> bool {
    m["blocks"].to_string().contains("\"image\"")
}

/// The posters Marquee posted in the thread under `root` in `channel`.
fn posters_in_thread(channel: &str, root: &str) -> Vec<Value> {
    stack()
        .slack()
        .api()
        .thread(channel, root)
        .into_iter()
        .filter(|m| m["user"] == stack().slack().api().bot_user() && is_poster(m))
        .collect()
}

fn ts(message: &Value) -> String {
    message["ts"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shortcut_on_a_reply_posts_the_poster_into_its_thread() {
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let root = api.person_says("C0001", "U0002", TEAM_ID, "Launch planning", None);
    let reply = api.person_says(
        "C0001",
        "U0003",
        TEAM_ID,
        "What if the launch poster shows SHORTCUT-REPLY, a haunted lighthouse at dusk? <@U0002> &amp; I like it",
        Some(&ts(&root)),
    );
    let url = s.slack().shortcut_response_url();
    let user = json!({"id": "U0004", "username": "ada", "name": "ada", "team_id": TEAM_ID});
    let form = slack_events::message_action(
        &reply,
        "C0001",
        &user,
        marquee_core::slack::shortcut::CALLBACK_ID,
        &url,
    );
    let opened = post_signed(format!("{base}/slack/interactions"), form).await;
    assert_eq!(opened.status, 200, "{}", stack().bot_log());
    // The modal, within the trigger, pre-filled from the message as /poster would guess.
    let view = api.wait_for_view(&url, Duration::from_secs(10)).await;
    assert!(view.trigger_age < Duration::from_secs(3));
    let description = view.input("marquee.from.description")["element"]["initial_value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        description.contains("SHORTCUT-REPLY, a haunted lighthouse at dusk")
            && !description.contains("<@")
            && description.contains("& I like it"),
        "{description}"
    );
    assert_eq!(
        view.input("marquee.from.style")["element"]["initial_option"]["value"],
        "horror",
        "a haunted lighthouse reads as horror, as /poster guesses it"
    );
    let submission = api.view_submission(&view.id, &[]).unwrap();
    let answer = post_signed(format!("{base}/slack/interactions"), submission).await;
    assert!(
        matches!(
            api.view_answer(&view.id, answer.status, &answer.body),
            Ok(ViewAnswer::Other(_))
        ),
        "{:?} {}",
        answer.body,
        stack().bot_log()
    );
    // Into the thread the reply belongs to (the root's ts), never the reply's own ts.
    let posted = support::poll(DELIVERY, || {
        posters_in_thread("C0001", &ts(&root))
            .into_iter()
            .find(|m| m.to_string().contains("SHORTCUT-REPLY"))
    })
    .await
    .unwrap_or_else(|| panic!("no poster in the thread\n{}", stack().bot_log()));
    assert_eq!(posted["thread_ts"], root["ts"]);
    assert!(
        api.channel_messages("C0001")
            .iter()
            .filter(|m| m.to_string().contains("SHORTCUT-REPLY") && is_poster(m))
            .all(|m| m["thread_ts"] == root["ts"]),
        "a poster outside the thread"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mention_in_a_thread_is_answered_there_once_while_slack_retries_it_three_times() {
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let root = api.person_says("C0001", "U0002", TEAM_ID, "Movie night", None);
    let bot = api.bot_user();
    let mention = api.person_says(
        "C0001",
        "U0003",
        TEAM_ID,
        &format!("<@{bot}> MENTION-RETRY a lighthouse keeper fights a kraken --style horror"),
        Some(&ts(&root)),
    );
    let event = slack_events::app_mention(&mention, "C0001", bot);
    // Slack's 3 s is 1 ms here, so no answer is in time: every request is retried, the first
    // retry leaving while the first request is still being answered.
    let schedule = Schedule::compressed(Duration::from_millis(50), Duration::from_millis(1));
    let attempts = slack_events::deliver(
        &format!("{base}/slack/events"),
        s.signing_secret(),
        &event,
        schedule,
    )
    .await;
    assert_eq!(attempts.len(), 4, "{attempts:#?}");
    for (n, attempt) in attempts.iter().enumerate() {
        assert_eq!(attempt.retry_num, n as u32);
        assert_eq!(
            attempt.status,
            Some(200),
            "{attempt:?}\n{}",
            stack().bot_log()
        );
        if n > 0 {
            assert_eq!(attempt.reason, Some("http_timeout"));
        }
    }
    assert!(
        attempts[1].sent_at < attempts[0].answered_at.unwrap(),
        "the first retry left before the first ack: {attempts:#?}"
    );
    let first = support::poll(DELIVERY, || {
        posters_in_thread("C0001", &ts(&root))
            .into_iter()
            .find(|m| m.to_string().contains("MENTION-RETRY"))
    })
    .await
    .unwrap_or_else(|| panic!("no poster in the thread\n{}", stack().bot_log()));
    assert_eq!(first["thread_ts"], root["ts"]);
    // Time for any second run to have posted too.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let answered: Vec<Value> = posters_in_thread("C0001", &ts(&root))
        .into_iter()
        .filter(|m| m.to_string().contains("MENTION-RETRY"))
        .collect();
    assert_eq!(answered.len(), 1, "{answered:#?}\n{}", stack().bot_log());
    assert_eq!(
        s.bot_invoke().invocations_with("MENTION-RETRY").len(),
        1,
        "one job for four deliveries"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_apps_own_messages_and_other_bots_are_ignored() {
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let bot = api.bot_user();
    let url = format!("{base}/slack/events");
    let dm = "D0001TEST";
    // The app's own post in its DM (as chat.postMessage stores it), and another bot's.
    let mut own = api.person_says(dm, bot, TEAM_ID, "BOT-OWN a poster of a robot", None);
    own["bot_id"] = json!("B0001MARQ");
    own["subtype"] = json!("bot_message");
    let mut other = api.person_says(
        dm,
        "U0009BOT",
        TEAM_ID,
        "BOT-OTHER a poster of a robot",
        None,
    );
    other["bot_id"] = json!("B0009OTHR");
    other["subtype"] = json!("bot_message");
    // A person, after them: the control that shows the door answers DMs at all.
    let person = api.person_says(
        dm,
        "U0003",
        TEAM_ID,
        "BOT-PERSON a noir poster of our cat",
        None,
    );
    for message in [&own, &other, &person] {
        let attempts = slack_events::deliver(
            &url,
            s.signing_secret(),
            &slack_events::message_im(message, dm, bot),
            Schedule::SLACK,
        )
        .await;
        assert_eq!(attempts.len(), 1, "acked in time: {attempts:#?}");
        assert_eq!(attempts[0].status, Some(200));
    }
    support::poll(DELIVERY, || {
        posters_in_thread(dm, &ts(&person))
            .into_iter()
            .find(|m| m.to_string().contains("BOT-PERSON"))
    })
    .await
    .unwrap_or_else(|| panic!("the person's DM got no poster\n{}", stack().bot_log()));
    for (marker, message) in [("BOT-OWN", &own), ("BOT-OTHER", &other)] {
        assert!(posters_in_thread(dm, &ts(message)).is_empty(), "{marker}");
        assert!(
            s.bot_invoke().invocations_with(marker).is_empty(),
            "{marker} was queued"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slack_connect_guests_mention_gets_the_external_user_answer() {
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let bot = api.bot_user();
    let root = api.person_says(
        "C0001",
        "U0002",
        TEAM_ID,
        "Joint launch with our partner",
        None,
    );
    let guest = api.person_says(
        "C0001",
        "U0009GST",
        "T0009PARTNER",
        &format!("<@{bot}> CONNECT-GUEST a poster of our joint launch"),
        Some(&ts(&root)),
    );
    let attempts = slack_events::deliver(
        &format!("{base}/slack/events"),
        s.signing_secret(),
        &slack_events::app_mention(&guest, "C0001", bot),
        Schedule::SLACK,
    )
    .await;
    assert_eq!(attempts[0].status, Some(200), "{attempts:#?}");
    let told = support::poll(DELIVERY, || {
        api.ephemerals()
            .into_iter()
            .find(|e| e["user"] == "U0009GST")
    })
    .await
    .unwrap_or_else(|| panic!("the guest was not told\n{}", stack().bot_log()));
    assert_eq!(told["thread_ts"], root["ts"], "in the thread: {told}");
    assert!(
        told.to_string().contains("Slack Connect"),
        "the external-user answer: {told}"
    );
    assert!(posters_in_thread("C0001", &ts(&root)).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_events_door_answers_the_challenge_and_refuses_bad_signatures() {
    let base = bot_base().await;
    let url = format!("{base}/slack/events");
    let secret = stack().signing_secret();
    let (challenge, status, body) = slack_events::url_verification(&url, secret).await;
    assert_eq!(status, Some(200));
    assert_eq!(body["challenge"], challenge.as_str());
    let (_, status, _) = slack_events::url_verification(&url, "not-the-secret").await;
    assert_eq!(status, Some(401), "a bad signature, even on the challenge");
}

/// A person with this many posters kept: far more than a Home tab can list.
const MANY_POSTERS: usize = 200;

/// Fills the bot instance's state store (its DynamoDB table) with `n` poster records of `user`
/// in the stand-in's workspace, as the worker keeps them; returns their titles, oldest first.
async fn seed_posters(user: &str, n: usize, marker: &str) -> Vec<String> {
    use marquee_core::job::{PosterRecord, PosterSpec, Requester};
    let dynamo = stack().dynamo();
    let state = std::sync::Arc::new(marquee_core::state::dynamo::DynamoState::new(
        dynamo.function_client(),
        dynamo.table(),
    ));
    let records =
        marquee_service::pipeline::Records::new(state, Duration::from_secs(30 * 24 * 3600));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut titles = Vec::with_capacity(n);
    for i in 0..n {
        let title = format!("{marker} {i:03} {}", "Ω".repeat(60));
        let id = uuid::Uuid::new_v4();
        let record = PosterRecord {
            id,
            spec: PosterSpec {
                picture: None,
                description: format!("poster {i} of a lighthouse keeper & a kraken <!channel>"),
                text: marquee_core::poster::PosterText {
                    title: Some(title.clone()),
                    ..Default::default()
                },
                style: marquee_core::genre::Style::Noir,
                aspect: Default::default(),
                seed: Some(7),
                avoid: None,
                model: marquee_core::model::ModelId::Offline,
                typography: None,
            },
            requester: Requester {
                user_id: user.to_owned(),
                team_id: Some(TEAM_ID.to_owned()),
                channel_id: Some("C0001".into()),
                ..Default::default()
            },
            key: format!("posters/2026/12/06/{id}.png"),
            width: 1024,
            height: 1536,
            missing_glyphs: vec![],
            created_at: now - (n - i) as i64,
            approved_by: None,
            approved_at: None,
            art_key: None,
            lineage: None,
            arrangement: None,
        };
        records.put_record(&record).await.unwrap();
        titles.push(title);
    }
    titles
}

fn fresh_user() -> String {
    format!("U0{}", support::random_token(8).to_uppercase())
}

/// Opening Home publishes it — acked at once, published by the worker — and with 200 posters
/// kept the tab stays within Slack's limits (100 blocks, 250 kB: the stand-in refuses more, as
/// Slack does), listing the latest twenty, newest first, and saying how many more there are.
#[tokio::test(flavor = "multi_thread")]
async fn the_home_tab_of_someone_with_200_posters_stays_within_slacks_limits() {
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let user = fresh_user();
    api.add_user(&user, TEAM_ID, false, false, None);
    let titles = seed_posters(&user, MANY_POSTERS, "HOME-MANY").await;
    let event = slack_events::app_home_opened(&user, api.bot_user(), None);
    let opened = std::time::Instant::now();
    let attempts = slack_events::deliver(
        &format!("{base}/slack/events"),
        s.signing_secret(),
        &event,
        Schedule::SLACK,
    )
    .await;
    assert_eq!(attempts.len(), 1, "acked in time: {attempts:#?}");
    assert_eq!(attempts[0].status, Some(200));
    let tab = support::poll(DELIVERY, || api.home_tab(&user))
        .await
        .unwrap_or_else(|| panic!("no home tab published\n{}", stack().bot_log()));
    let took = opened.elapsed();
    eprintln!("home tab with {MANY_POSTERS} posters published {took:?} after app_home_opened");
    // The stand-in keeps the tab before it records the call that published it.
    let publishes = support::poll(DELIVERY, || {
        let publishes: Vec<_> = api
            .calls_to("views.publish")
            .into_iter()
            .filter(|c| c.body["user_id"] == user.as_str())
            .collect();
        (!publishes.is_empty()).then_some(publishes)
    })
    .await
    .unwrap_or_default();
    assert_eq!(publishes.len(), 1, "{publishes:#?}");
    assert!(publishes[0].ok(), "{:?}", publishes[0].error);
    let blocks = tab["blocks"].as_array().unwrap();
    assert!(blocks.len() <= 100, "{} blocks", blocks.len());
    assert!(tab.to_string().len() <= 250 * 1024);
    let text = tab.to_string();
    // The latest twenty, newest first; the oldest not at all.
    let newest = &titles[MANY_POSTERS - 1][..12];
    let twentieth = &titles[MANY_POSTERS - 20][..12];
    assert!(text.contains(newest) && text.contains(twentieth), "{text}");
    assert!(!text.contains(&titles[MANY_POSTERS - 21][..12]));
    assert!(text.find(newest) < text.find(twentieth), "newest first");
    assert!(text.contains("…and 180 more"), "{text}");
    assert!(!text.contains("<!channel>"), "user text is escaped");
    assert!(
        !text.contains(marquee_core::slack::home::SETTINGS_ACTION),
        "not an admin: no settings"
    );
    assert!(
        took < Duration::from_secs(3),
        "published {took:?} after opening"
    );
}

/// A payload's `user` object for `id` of workspace `team` (both `username` and `name`, as Slack
/// sends them).
fn user_object(id: &str, team: &str) -> Value {
    json!({"id": id, "username": "grace.h", "name": "grace.h", "team_id": team})
}

/// Opens `user`'s Home tab as Slack does (from the org-wide install `org` when given) and
/// returns it once a new publish for them has landed.
async fn open_home(user: &str, org: Option<&str>) -> Value {
    let s = stack();
    let api = s.slack().api();
    let base = bot_base().await;
    let before = api
        .calls_to("views.publish")
        .iter()
        .filter(|c| c.body["user_id"] == user)
        .count();
    let attempts = slack_events::deliver(
        &format!("{base}/slack/events"),
        s.signing_secret(),
        &slack_events::app_home_opened(user, api.bot_user(), org),
        Schedule::SLACK,
    )
    .await;
    assert_eq!(attempts[0].status, Some(200), "{attempts:#?}");
    support::poll(DELIVERY, || {
        let calls: Vec<_> = api
            .calls_to("views.publish")
            .into_iter()
            .filter(|c| c.body["user_id"] == user)
            .collect();
        (calls.len() > before).then_some(calls)
    })
    .await
    .unwrap_or_else(|| panic!("no home tab published\n{}", stack().bot_log()));
    api.home_tab(user)
        .unwrap_or_else(|| panic!("slack refused the home tab\n{}", stack().bot_log()))
}

fn offers_settings(tab: &Value) -> bool {
    tab.to_string()
        .contains(marquee_core::slack::home::SETTINGS_ACTION)
}

/// An admin opens Settings from Home, gets a field error for a colour that is not one, saves
/// a credits line and a house look, sees the change listed on Home with their name, and the
/// next poster anyone in the workspace makes carries the credits and the look.
#[tokio::test(flavor = "multi_thread")]
async fn an_admins_setting_changes_the_next_poster() {
    use crate::support::slack_api::Field;
    use marquee_core::slack::settings::CALLBACK_ID;
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let admin = fresh_user();
    api.add_user(&admin, TEAM_ID, true, false, None);
    let tab = open_home(&admin, None).await;
    assert!(
        offers_settings(&tab),
        "an admin is offered settings: {tab:#}"
    );
    let opened_before = api.opened_views().len();
    let click = slack_events::home_click(
        &tab,
        &user_object(&admin, TEAM_ID),
        marquee_core::slack::home::SETTINGS_ACTION,
        None,
    );
    let answer = post_signed(format!("{base}/slack/interactions"), click).await;
    assert_eq!(answer.status, 200, "{}", stack().bot_log());
    let view = api
        .wait_for_view_of(&admin, CALLBACK_ID, opened_before, Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("no settings modal\n{}", stack().bot_log()));
    assert!(view.trigger_age < Duration::from_secs(3));
    // A colour that is not one: the modal stays open with the error under that field.
    let bad = api
        .view_submission(
            &view.id,
            &[("marquee.settings.palette", Field::Text("#F4C430, gold"))],
        )
        .unwrap();
    let answer = post_signed(format!("{base}/slack/interactions"), bad).await;
    match api.view_answer(&view.id, answer.status, &answer.body) {
        Ok(ViewAnswer::Errors(errors)) => {
            assert!(
                errors["marquee.settings.palette"]
                    .to_string()
                    .contains("gold")
            );
        }
        other => panic!("{other:?} {}", stack().bot_log()),
    }
    let credits = "KIT-CREDITS A MARQUEE FILMS PRODUCTION";
    let good = api
        .view_submission(
            &view.id,
            &[
                ("marquee.settings.credits", Field::Text(credits)),
                ("marquee.settings.look", Field::Choose("western")),
                ("marquee.settings.palette", Field::Text("#F4C430, #1B1B1B")),
            ],
        )
        .unwrap();
    let answer = post_signed(format!("{base}/slack/interactions"), good).await;
    assert_eq!(
        api.view_answer(&view.id, answer.status, &answer.body),
        Ok(ViewAnswer::Closed),
        "{}",
        stack().bot_log()
    );
    // The change is on the admin's Home, with who made it.
    let shown = support::poll(DELIVERY, || {
        api.home_tab(&admin)
            .filter(|t| t.to_string().contains("Recent changes"))
    })
    .await
    .unwrap_or_else(|| panic!("the change is not on Home\n{}", stack().bot_log()));
    let text = shown.to_string();
    assert!(
        text.contains(&format!("<@{admin}>")) && text.contains("KIT-CREDITS"),
        "{text}"
    );
    // The next poster, from another member, carries the kit.
    let member = fresh_user();
    let bot = api.bot_user();
    let mention = api.person_says(
        "C0001",
        &member,
        TEAM_ID,
        &format!("<@{bot}> a lighthouse keeper fights a kraken --title \"KIT-NEXT\""),
        None,
    );
    slack_events::deliver(
        &format!("{base}/slack/events"),
        s.signing_secret(),
        &slack_events::app_mention(&mention, "C0001", bot),
        Schedule::SLACK,
    )
    .await;
    support::poll(DELIVERY, || {
        posters_in_thread("C0001", &ts(&mention)).into_iter().next()
    })
    .await
    .unwrap_or_else(|| panic!("no poster\n{}", stack().bot_log()));
    let dynamo = s.dynamo();
    let records = marquee_service::pipeline::Records::new(
        std::sync::Arc::new(marquee_core::state::dynamo::DynamoState::new(
            dynamo.function_client(),
            dynamo.table(),
        )),
        Duration::from_secs(3600),
    );
    let requester = marquee_core::job::Requester {
        user_id: member.clone(),
        team_id: Some(TEAM_ID.into()),
        ..Default::default()
    };
    let made = records.history(&requester, 1).await.unwrap();
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].spec.text.credits.as_deref(), Some(credits));
    assert_eq!(
        made[0].spec.typography.map(|t| t.look),
        Some(marquee_core::genre::Style::Western)
    );
    assert_eq!(
        made[0].spec.typography.and_then(|t| t.ink),
        Some(marquee_core::poster::Ink {
            title: [0xF4, 0xC4, 0x30],
            text: [0x1B, 0x1B, 0x1B]
        }),
        "the house palette inks the type"
    );
}

/// Settings are for the installation's admins only, decided on `user.id`, `user.team_id` and
/// Slack's `users.info`: a member sees no button, and a forged click opens only a note; an
/// admin demoted while the form is open cannot save it; a Slack Connect guest who is an admin
/// and owner of their own workspace sees no settings here; an Enterprise Grid admin of an
/// org-wide install does.
#[tokio::test(flavor = "multi_thread")]
async fn a_non_admin_cannot_open_settings_and_a_slack_connect_guest_sees_none() {
    use marquee_core::slack::home::SETTINGS_ACTION;
    use marquee_core::slack::settings::CALLBACK_ID;
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let url = format!("{base}/slack/interactions");
    let settings_opened_for = |user: &str, after: usize| {
        api.opened_views()
            .into_iter()
            .skip(after)
            .any(|v| v.user["id"] == user && v.callback_id() == CALLBACK_ID)
    };
    // A member.
    let member = fresh_user();
    api.add_user(&member, TEAM_ID, false, false, None);
    let tab = open_home(&member, None).await;
    assert!(!offers_settings(&tab), "{tab:#}");
    let before = api.opened_views().len();
    let forged = slack_events::forged_home_click(
        &tab,
        &user_object(&member, TEAM_ID),
        SETTINGS_ACTION,
        None,
    );
    assert_eq!(post_signed(url.clone(), forged).await.status, 200);
    let note = api
        .wait_for_view_of(&member, "", before, Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("no note\n{}", stack().bot_log()));
    assert!(
        note.view
            .to_string()
            .contains("Only this workspace's admins")
    );
    assert!(!settings_opened_for(&member, before));
    // A Slack Connect guest: admin and owner of their own workspace, a guest here.
    let guest = fresh_user();
    api.add_user(&guest, "T0009PARTNER", true, true, None);
    let tab = open_home(&guest, None).await;
    assert!(!offers_settings(&tab), "a guest sees no settings: {tab:#}");
    let before = api.opened_views().len();
    let forged = slack_events::forged_home_click(
        &tab,
        &user_object(&guest, "T0009PARTNER"),
        SETTINGS_ACTION,
        None,
    );
    assert_eq!(post_signed(url.clone(), forged).await.status, 200);
    api.wait_for_view_of(&guest, "", before, Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("no note for the guest\n{}", stack().bot_log()));
    assert!(!settings_opened_for(&guest, before));
    // An admin demoted while the form is open: the submission is checked again.
    let demoted = fresh_user();
    api.add_user(&demoted, TEAM_ID, false, true, None);
    let tab = open_home(&demoted, None).await;
    let before = api.opened_views().len();
    let click =
        slack_events::home_click(&tab, &user_object(&demoted, TEAM_ID), SETTINGS_ACTION, None);
    assert_eq!(post_signed(url.clone(), click).await.status, 200);
    let view = api
        .wait_for_view_of(&demoted, CALLBACK_ID, before, Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("no settings modal for an owner\n{}", stack().bot_log()));
    api.add_user(&demoted, TEAM_ID, false, false, None);
    let submission = api
        .view_submission(
            &view.id,
            &[(
                "marquee.settings.credits",
                crate::support::slack_api::Field::Text("DEMOTED"),
            )],
        )
        .unwrap();
    let answer = post_signed(url.clone(), submission).await;
    assert!(
        matches!(
            api.view_answer(&view.id, answer.status, &answer.body),
            Ok(ViewAnswer::Errors(_))
        ),
        "{:?}",
        answer.body
    );
    // An Enterprise Grid admin, on an org-wide install.
    let org = "E0001GRID";
    let grid = format!("W0{}", support::random_token(8).to_uppercase());
    api.add_user(&grid, TEAM_ID, true, false, Some(org));
    let tab = open_home(&grid, Some(org)).await;
    assert!(offers_settings(&tab), "a grid admin: {tab:#}");
    let before = api.opened_views().len();
    let click = slack_events::home_click(
        &tab,
        &user_object(&grid, TEAM_ID),
        SETTINGS_ACTION,
        Some(org),
    );
    assert_eq!(post_signed(url.clone(), click).await.status, 200);
    assert!(
        api.wait_for_view_of(&grid, CALLBACK_ID, before, Duration::from_secs(10))
            .await
            .is_some(),
        "{}",
        stack().bot_log()
    );
}

/// The top-level messages in `channel` that are Marquee's posters of `marker`.
fn posters_of(channel: &str, marker: &str) -> Vec<Value> {
    let api = stack().slack().api();
    api.channel_messages(channel)
        .into_iter()
        // A parent message carries its own ts as thread_ts once it has replies.
        .filter(|m| m.get("thread_ts").is_none_or(|t| *t == m["ts"]))
        .filter(|m| m["user"] == api.bot_user() && is_poster(m))
        .filter(|m| m.to_string().contains(marker))
        .collect()
}

/// Runs the "Make a poster" step with `inputs` as Slack does (`function_executed`, with
/// `schedule`'s retries) and waits for the stand-in's execution to be completed or failed.
async fn run_step(inputs: Value, schedule: Schedule) -> (String, Result<Value, String>) {
    run_step_with(inputs, schedule, |_| {}).await
}

/// [`run_step`], calling `before` with the execution's id before Slack sends the event.
async fn run_step_with(
    inputs: Value,
    schedule: Schedule,
    before: impl FnOnce(&str),
) -> (String, Result<Value, String>) {
    let base = bot_base().await;
    let s = stack();
    let api = s.slack().api();
    let (event, execution) = slack_events::function_executed(api, inputs, api.bot_user());
    before(&execution);
    let attempts = slack_events::deliver(
        &format!("{base}/slack/events"),
        s.signing_secret(),
        &event,
        schedule,
    )
    .await;
    for attempt in &attempts {
        assert_eq!(
            attempt.status,
            Some(200),
            "{attempt:?}\n{}",
            stack().bot_log()
        );
    }
    let done = support::poll(DELIVERY, || {
        api.execution(&execution).and_then(|e| e.completed)
    })
    .await
    .unwrap_or_else(|| panic!("the step was never completed\n{}", stack().bot_log()));
    (execution, done)
}

/// The `functions.*` calls the stand-in answered for `execution`.
fn completions_of(execution: &str) -> Vec<crate::support::slack_api::ApiCall> {
    let api = stack().slack().api();
    ["functions.completeSuccess", "functions.completeError"]
        .into_iter()
        .flat_map(|m| api.calls_to(m))
        .filter(|c| c.body["function_execution_id"] == execution)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workflow_step_completes_with_the_posters_link_once_while_slack_retries_it() {
    let s = stack();
    let api = s.slack().api();
    api.add_user("U0007FLOW", TEAM_ID, false, false, None);
    let inputs = json!({
        "description": "STEP-RETRY a lighthouse keeper fights a kraken on release night",
        "title": "The Keeper",
        "style": "horror",
        "channel": "C0001",
        "requester": "U0007FLOW",
    });
    // Slack's 3 s is 1 ms here: every request is retried, as for a mention.
    let schedule = Schedule::compressed(Duration::from_millis(50), Duration::from_millis(1));
    let (execution, done) = run_step(inputs, schedule).await;
    let outputs = done.unwrap_or_else(|e| panic!("the step failed: {e}\n{}", stack().bot_log()));
    let posters = posters_of("C0001", "STEP-RETRY");
    assert_eq!(posters.len(), 1, "{posters:#?}\n{}", stack().bot_log());
    let poster = &posters[0];
    // The outputs name that poster: its link, and its message's permalink.
    let url = outputs["poster_url"].as_str().unwrap_or_default();
    assert!(url.starts_with("http"), "{outputs}");
    let id = url
        .split(".png")
        .next()
        .and_then(|k| k.rsplit('/').next())
        .unwrap_or_default();
    assert!(
        id.len() == 36 && poster.to_string().contains(id),
        "the link is the poster's ({id}): {outputs}\n{poster}"
    );
    let permalink = outputs["message_link"].as_str().unwrap_or_default();
    assert!(
        permalink.ends_with(&format!("/archives/C0001/p{}", ts(poster).replace('.', ""))),
        "{permalink} names {}",
        ts(poster)
    );
    // Time for any second run to have posted or completed too.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(posters_of("C0001", "STEP-RETRY").len(), 1);
    let completions = completions_of(&execution);
    assert_eq!(completions.len(), 1, "{completions:#?}");
    assert!(completions[0].ok(), "{:?}", completions[0].error);
    assert_eq!(completions[0].method, "functions.completeSuccess");
    assert_eq!(
        s.bot_invoke().invocations_with("STEP-RETRY").len(),
        1,
        "one job for four deliveries"
    );
    // The step's requester is who the poster is for, in the message.
    assert!(poster.to_string().contains("U0007FLOW"), "{poster}");
    // The execution's token is a bearer capability: it never reaches the function's log.
    let token = api.execution(&execution).unwrap().token;
    let log = s.lambda_with_bot().log_tail(50_000_000);
    assert!(log.contains(&execution), "the log covers this step");
    assert!(!log.contains(&token), "the workflow token was logged");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workflow_step_whose_prompt_the_model_refuses_fails_with_words_slack_shows() {
    use crate::support::bedrock::Fault;
    let s = stack();
    // A declined description fails the step with what `/poster` would have said, in plain
    // words. (Throttling and timeouts take the same path: the failure `say`s privately, which
    // for a step is `functions.completeError`; e2e and faults cover their words.)
    for (marker, fault, words) in [(
        "STEP-REFUSED",
        Fault::FilterPrompt,
        ["safety filter declined", "rephrasing"],
    )] {
        s.bedrock().fault_for_prompt(marker, fault, 100);
        let inputs = json!({
            "description": format!("{marker} a poster of a midnight premiere"),
            "channel": "C0001",
        });
        let (execution, done) = run_step(inputs, Schedule::SLACK).await;
        let error = done.expect_err("the step must fail");
        for w in words {
            assert!(error.contains(w), "{marker}: {w}: {error}");
        }
        assert!(
            !error.contains("&amp;") && !error.contains('*'),
            "plain words: {error}"
        );
        assert!(posters_of("C0001", marker).is_empty(), "{marker}");
        let completions = completions_of(&execution);
        assert_eq!(completions.len(), 1, "{marker}: {completions:#?}");
        assert_eq!(completions[0].method, "functions.completeError");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workflow_step_for_a_slack_connect_guest_fails_with_the_external_user_answer() {
    let s = stack();
    let api = s.slack().api();
    // The step's requester input names someone whose own workspace is another one.
    api.add_user("U0009FLOWGST", "T0009PARTNER", false, false, None);
    let inputs = json!({
        "description": "STEP-GUEST a poster of our joint launch",
        "channel": "C0001",
        "requester": "U0009FLOWGST",
    });
    let (_, done) = run_step(inputs, Schedule::SLACK).await;
    let error = done.expect_err("a guest's step must fail under view-only");
    assert!(error.contains("Slack Connect"), "{error}");
    assert!(posters_of("C0001", "STEP-GUEST").is_empty());
    assert!(
        s.bedrock().calls_for_prompt("STEP-GUEST").is_empty(),
        "nothing was drawn"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workflow_steps_completion_whose_answer_is_lost_is_not_sent_again() {
    let s = stack();
    let api = s.slack().api();
    let inputs = json!({
        "description": "STEP-LOST a drive-in double feature under the stars",
        "channel": "C0001",
    });
    // Slack completes the step, then the answer is lost (a 500 after the write).
    let (execution, done) = run_step_with(inputs, Schedule::SLACK, |execution| {
        api.fault_api_in(
            "functions.completeSuccess",
            execution,
            ApiFault::DoneThenServerError,
            1,
        );
    })
    .await;
    let outputs = done.unwrap_or_else(|e| panic!("the step failed: {e}\n{}", stack().bot_log()));
    assert!(outputs["poster_url"].as_str().is_some(), "{outputs}");
    // Time for a second completion or a failure to be sent, if one were.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let completions = completions_of(&execution);
    assert_eq!(completions.len(), 1, "{completions:#?}");
    assert_eq!(completions[0].status, 500);
    assert_eq!(posters_of("C0001", "STEP-LOST").len(), 1);
    // The poster without a requester input is the app's own.
    assert!(
        posters_of("C0001", "STEP-LOST")[0]
            .to_string()
            .contains(api.bot_user()),
        "counted to the bot user"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workflow_step_whose_inputs_make_no_poster_fails_saying_which() {
    let s = stack();
    let inputs = json!({
        "description": "STEP-BADSTYLE a poster of a silent film festival",
        "style": "claymation",
        "channel": "C0001",
    });
    let (_, done) = run_step(inputs, Schedule::SLACK).await;
    let error = done.expect_err("an unknown style makes no poster");
    assert!(error.contains("style"), "{error}");
    assert!(error.contains("claymation"), "{error}");
    assert!(posters_of("C0001", "STEP-BADSTYLE").is_empty());
    assert!(s.bedrock().calls_for_prompt("STEP-BADSTYLE").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workflow_step_into_a_private_channel_without_the_bot_fails_saying_what_to_do() {
    let api = stack().slack().api();
    // Slack answers chat.postMessage channel_not_found for a private channel the bot is not in.
    api.set_private("G0STEPPRIV", false);
    let inputs = json!({
        "description": "STEP-PRIVATE a poster for the team offsite",
        "channel": "G0STEPPRIV",
    });
    let (execution, done) = run_step(inputs, Schedule::SLACK).await;
    let error = done.expect_err("the poster cannot be posted there");
    assert!(error.contains("/invite @Marquee"), "{error}");
    assert!(api.channel_messages("G0STEPPRIV").is_empty());
    let completions = completions_of(&execution);
    assert_eq!(completions.len(), 1, "{completions:#?}");
    assert_eq!(completions[0].method, "functions.completeError");
}
