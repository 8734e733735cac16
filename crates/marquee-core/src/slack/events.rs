//! Slack's Events API: the JSON bodies Slack POSTs to `/slack/events` — the
//! `url_verification` challenge and `event_callback`s — read into what Marquee acts on.
//!
//! Events are routed by their `event.type` in [`parse`]; each kind Marquee handles is one arm
//! and one [`Event`] variant, so later surfaces (App Home's `app_home_opened`, a workflow
//! step's `function_executed`) land beside mentions. Everything else is [`Event::Ignored`] with
//! the reason, and acked.
//!
//! Who asked, in a payload whose workspaces differ in a Slack Connect channel (bolt-python
//! `tests/scenario_tests/test_events_shared_channels.py`: the outer `team_id` names the
//! sender's side, `authorizations[0]` the installation the event was delivered for):
//!
//! - the installation (where things are stored and counted): `authorizations[0].team_id`,
//!   else the outer `team_id`;
//! - the author's own workspace (who may act): `event.user_team`, else `event.team` (the
//!   author's workspace on a message), else the outer `team_id`;
//! - an org-wide install: `authorizations[0].enterprise_id` when its `is_enterprise_install`
//!   is true;
//! - the bot itself: `authorizations[0].user_id` (with `is_bot`), whose own messages and
//!   mentions are ignored, as are any event with a `bot_id` and any message `subtype` but
//!   a plain message with files or sent to the channel too.
//!
//! A workflow step (`function_executed`, docs.slack.dev `reference/events/function_executed`;
//! bolt-python `tests/scenario_tests/test_function.py`) names no person at all: the event has
//! the step's `inputs`, its `function_execution_id` and the execution's own token
//! (`bot_access_token`). Where it is stored and counted is the installation, as above. Who it
//! is for is the step's optional `requester` input (a `slack#/types/user_id` the workflow's
//! author fills, usually with "Person who used this workflow"), whose own workspace the worker
//! asks `users.info` for before anything is made; without one the poster is the app's own,
//! counted to the bot user (`authorizations[0].user_id`).

use serde::Deserialize;
use serde_json::Value;

use crate::job::{PosterSpec, Requester, SlackMessageRef, WorkflowStep, WorkflowToken};
use crate::poster::PosterText;
use crate::request::{self, ModelPolicy};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventsError {
    #[error("the event body is not JSON: {0}")]
    NotJson(String),
    #[error("the event body is missing {0}")]
    Missing(&'static str),
}

/// What Slack POSTed to the events URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventsBody {
    /// Slack checking the URL: answered with its `challenge`.
    UrlVerification { challenge: String },
    /// An event, with the id every retry of it repeats.
    Callback { event_id: String, event: Event },
    /// Another envelope type (`app_rate_limited`, …): acked, nothing done.
    Other(String),
}

/// An event Marquee acts on, or why it does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `@Marquee …` in a channel or thread, or a direct message to the app: the same request as
    /// `/poster …`, answered in its thread.
    Mention(Box<Mention>),
    /// Someone opened the app's Home tab (`app_home_opened` with `tab: "home"`): publish it.
    HomeOpened(Box<HomeOpened>),
    /// A workflow ran Marquee's "Make a poster" step (`function_executed` with the callback
    /// id [`POSTER_STEP`]): make the poster, post it, complete the step.
    StepExecuted(Box<StepExecuted>),
    /// Acked and left alone (the bot's own message, another bot's, an edit, a kind Marquee
    /// does not handle).
    Ignored(&'static str),
}

/// Someone asking Marquee by name (an `app_mention`) or in its DM (`message.im`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// The words after the mention, Slack's escaping kept (as a slash command's text).
    pub text: String,
    pub requester: Requester,
    /// Where the answer goes: the message's thread (its `thread_ts`, else its own `ts`).
    pub thread: SlackMessageRef,
    /// `message.im`: a direct message to the app.
    pub direct: bool,
}

/// Someone opening the app's Home tab. The event names the person (`event.user`) and the
/// installation (`authorizations[0]`), never the person's own workspace: who may see settings
/// is decided from `users.info`'s `user.team_id` by the worker, not from this event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeOpened {
    /// `user_id` from `event.user`; `team_id` (where posters are stored and counted) from
    /// `authorizations[0].team_id`, else the outer `team_id`; `user_team_id` left unknown.
    pub requester: Requester,
}

/// The callback id of Marquee's Workflow Builder step in `manifest/manifest.yaml`'s
/// `functions`.
pub const POSTER_STEP: &str = "make_poster";

/// One execution of the "Make a poster" step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepExecuted {
    /// `user_id`: the `requester` input, else the bot user; `team_id`: the installation;
    /// `channel_id`: the `channel` input; `user_team_id`: unknown for a named person (the
    /// worker asks `users.info`), the installation for the app's own poster.
    pub requester: Requester,
    pub step: WorkflowStep,
    pub inputs: StepInputs,
}

/// The step's inputs, as the workflow filled them (empty ones are `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepInputs {
    pub description: Option<String>,
    pub title: Option<String>,
    pub style: Option<String>,
}

impl StepInputs {
    /// The poster asked for, as `/poster` would make it (the default model, the one-sheet's
    /// shape, the style named or guessed from the description), or why not, in words for the
    /// workflow's people (Slack shows `functions.completeError`'s `error`).
    pub fn spec(&self, channel_id: &str, policy: &ModelPolicy) -> Result<PosterSpec, String> {
        if channel_id.is_empty() {
            return Err(
                "The Make a poster step has no channel: choose one in the step's settings.".into(),
            );
        }
        let description = self.description.clone().unwrap_or_default();
        if description.trim().is_empty() {
            return Err("The Make a poster step needs a description of the poster.".into());
        }
        let style = request::choose_style(self.style.clone(), &description)
            .map_err(|e| format!("The Make a poster step's style: {e}"))?;
        let spec = PosterSpec {
            picture: None,
            description,
            text: PosterText {
                title: self.title.clone(),
                ..PosterText::default()
            },
            style,
            aspect: Default::default(),
            seed: None,
            avoid: None,
            model: policy.default,
            typography: None,
        };
        request::check_spec(&spec).map_err(|e| format!("The Make a poster step: {e}"))?;
        Ok(spec)
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    challenge: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    authorizations: Option<Vec<Authorization>>,
    #[serde(default)]
    event: Option<Value>,
}

impl Envelope {
    /// The first authorization: the installation this event was delivered to.
    fn authorization(&self) -> Option<&Authorization> {
        self.authorizations.as_ref().and_then(|a| a.first())
    }

    /// Where the app is installed, for where things are stored and counted:
    /// `authorizations[0].team_id`, else the outer `team_id` (which, in Slack Connect, can be
    /// the sender's side, so it is only the fallback).
    fn installation_team(&self) -> Option<String> {
        self.authorization()
            .and_then(|a| a.team_id.clone())
            .or_else(|| self.team_id.clone())
    }

    /// The org of an org-wide install: `authorizations[0].enterprise_id`, only when
    /// `is_enterprise_install` is true.
    fn installation_enterprise(&self) -> Option<String> {
        self.authorization()
            .filter(|a| a.is_enterprise_install == Some(true))
            .and_then(|a| a.enterprise_id.clone())
    }
}

#[derive(Deserialize)]
struct Authorization {
    #[serde(default)]
    enterprise_id: Option<String>,
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    is_enterprise_install: Option<bool>,
}

/// A message-like event (`app_mention`, `message`): only what Marquee reads.
#[derive(Deserialize)]
struct MessageEvent {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    ts: Option<String>,
    #[serde(default)]
    thread_ts: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    channel_type: Option<String>,
    #[serde(default)]
    subtype: Option<String>,
    #[serde(default)]
    bot_id: Option<String>,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    user_team: Option<String>,
}

/// Reads a verified events body.
pub fn parse(body: &[u8]) -> Result<EventsBody, EventsError> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| EventsError::NotJson(e.to_string()))?;
    match envelope.kind.as_str() {
        "url_verification" => Ok(EventsBody::UrlVerification {
            challenge: envelope
                .challenge
                .ok_or(EventsError::Missing("challenge"))?,
        }),
        "event_callback" => {
            let event_id = envelope
                .event_id
                .clone()
                .ok_or(EventsError::Missing("event_id"))?;
            let event = envelope
                .event
                .as_ref()
                .ok_or(EventsError::Missing("event"))?;
            let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
            let event = match kind {
                "app_mention" => mention(&envelope, event, false)?,
                "message" => mention(&envelope, event, true)?,
                "app_home_opened" => home_opened(&envelope, event)?,
                "function_executed" => step_executed(&envelope, event)?,
                _ => Event::Ignored("an event kind Marquee does not handle"),
            };
            Ok(EventsBody::Callback { event_id, event })
        }
        other => Ok(EventsBody::Other(other.to_owned())),
    }
}

/// Subtypes of a message a person wrote themselves (with files; also sent to the channel).
const PERSON_SUBTYPES: &[&str] = &["file_share", "thread_broadcast"];

fn mention(envelope: &Envelope, event: &Value, message: bool) -> Result<Event, EventsError> {
    let e: MessageEvent = serde_json::from_value(event.clone())
        .map_err(|err| EventsError::NotJson(err.to_string()))?;
    if message && e.channel_type.as_deref() != Some("im") {
        return Ok(Event::Ignored(
            "a message outside the app's direct messages",
        ));
    }
    if e.bot_id.is_some() {
        return Ok(Event::Ignored("a bot's message"));
    }
    if let Some(subtype) = e.subtype.as_deref() {
        if !PERSON_SUBTYPES.contains(&subtype) {
            return Ok(Event::Ignored(
                "a message subtype that is not a person writing",
            ));
        }
    }
    let auth = envelope.authorization();
    let bot_user = auth.and_then(|a| a.user_id.as_deref());
    let user = e.user.ok_or(EventsError::Missing("event.user"))?;
    if Some(user.as_str()) == bot_user {
        return Ok(Event::Ignored("the app's own message"));
    }
    let channel = e.channel.ok_or(EventsError::Missing("event.channel"))?;
    let ts = e.ts.ok_or(EventsError::Missing("event.ts"))?;
    let installation = envelope.installation_team();
    let own = e.user_team.or(e.team).or_else(|| envelope.team_id.clone());
    let enterprise_id = envelope.installation_enterprise();
    Ok(Event::Mention(Box::new(Mention {
        text: strip_mention(e.text.as_deref().unwrap_or(""), bot_user),
        requester: Requester {
            user_id: user,
            user_name: None,
            team_id: installation.or_else(|| own.clone()),
            channel_id: Some(channel.clone()),
            user_team_id: own,
            enterprise_id,
        },
        thread: SlackMessageRef {
            channel_id: channel,
            thread_ts: e.thread_ts.unwrap_or(ts),
        },
        direct: message,
    })))
}

/// `app_home_opened` (docs.slack.dev `reference/events/app_home_opened`): `user`, `channel`,
/// `tab` (`home` or `messages`) and, for a Home tab opened before, its `view`. Only the Home
/// tab is Marquee's to publish; opening the Messages tab does nothing.
fn home_opened(envelope: &Envelope, event: &Value) -> Result<Event, EventsError> {
    if event.get("tab").and_then(Value::as_str) != Some("home") {
        return Ok(Event::Ignored("a tab of the app other than Home opened"));
    }
    let user = event
        .get("user")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .ok_or(EventsError::Missing("event.user"))?;
    let installation = envelope.installation_team();
    let enterprise_id = envelope.installation_enterprise();
    Ok(Event::HomeOpened(Box::new(HomeOpened {
        requester: Requester {
            user_id: user.to_owned(),
            user_name: None,
            team_id: installation,
            channel_id: None,
            user_team_id: None,
            enterprise_id,
        },
    })))
}

/// `function_executed` (docs.slack.dev `reference/events/function_executed`): `function`
/// (with its `callback_id`), `inputs` keyed by the manifest's input names,
/// `function_execution_id` and `bot_access_token`. A step of another callback id is not
/// Marquee's to complete.
fn step_executed(envelope: &Envelope, event: &Value) -> Result<Event, EventsError> {
    let callback = event
        .get("function")
        .and_then(|f| f.get("callback_id"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if callback != POSTER_STEP {
        return Ok(Event::Ignored("a workflow step Marquee does not declare"));
    }
    let execution_id = event
        .get("function_execution_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(EventsError::Missing("event.function_execution_id"))?;
    let token = event
        .get("bot_access_token")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(EventsError::Missing("event.bot_access_token"))?;
    let inputs = event.get("inputs").cloned().unwrap_or(Value::Null);
    let input = |name: &str| {
        inputs
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let auth = envelope.authorization();
    let installation = envelope.installation_team();
    let enterprise_id = envelope.installation_enterprise();
    let named = input("requester");
    let named_person = named.is_some();
    let user_id = named
        .or_else(|| auth.and_then(|a| a.user_id.clone()))
        .ok_or(EventsError::Missing("authorizations[0].user_id"))?;
    let channel_id = input("channel").unwrap_or_default();
    Ok(Event::StepExecuted(Box::new(StepExecuted {
        requester: Requester {
            user_id,
            user_name: None,
            team_id: installation.clone(),
            channel_id: Some(channel_id.clone()).filter(|c| !c.is_empty()),
            user_team_id: if named_person { None } else { installation },
            enterprise_id,
        },
        step: WorkflowStep {
            channel_id,
            execution_id: execution_id.to_owned(),
            token: WorkflowToken::new(token),
            named_person,
        },
        inputs: StepInputs {
            description: input("description"),
            title: input("title"),
            style: input("style"),
        },
    })))
}

/// The text with the app's mention taken out: every `<@BOT>` (and `<@BOT|name>`) when the bot
/// user is known, else a leading mention, as `app_mention` text starts with it.
fn strip_mention(text: &str, bot_user: Option<&str>) -> String {
    let mut out = text.to_owned();
    match bot_user {
        Some(bot) => {
            let plain = format!("<@{bot}>");
            out = out.replace(&plain, " ");
            let named = format!("<@{bot}|");
            while let Some(start) = out.find(&named) {
                match out[start..].find('>') {
                    Some(end) => out.replace_range(start..start + end + 1, " "),
                    None => break,
                }
            }
        }
        None => {
            let trimmed = out.trim_start();
            if trimmed.starts_with("<@") {
                if let Some(end) = trimmed.find('>') {
                    out = trimmed[end + 1..].to_owned();
                }
            }
        }
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../../tests/fixtures/slack/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn mention_of(name: &str) -> (String, Mention) {
        match parse(&fixture(name)).unwrap() {
            EventsBody::Callback {
                event_id,
                event: Event::Mention(m),
            } => (event_id, *m),
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn the_challenge_is_read() {
        assert_eq!(
            parse(&fixture("events_url_verification.json")).unwrap(),
            EventsBody::UrlVerification {
                challenge: "mq7Lr2VbX9cT4wZs1KpE8nJd3hQ6yF0aGu5oRiWe".into()
            }
        );
    }

    #[test]
    fn a_mention_in_a_thread_is_answered_in_that_thread() {
        let (id, m) = mention_of("events_app_mention_thread.json");
        assert_eq!(id, "Ev07MENTION1");
        assert_eq!(m.thread.thread_ts, "1764930000.000100");
        assert_eq!(m.thread.channel_id, "C07LAUNCH");
        assert_eq!(
            m.text,
            "a poster of the haunted lighthouse launch --style horror"
        );
        assert_eq!(m.requester.team_id.as_deref(), Some("T07MARQEE"));
        assert_eq!(m.requester.user_team_id.as_deref(), Some("T07MARQEE"));
        assert!(!m.direct);
        // At the top of a channel, the mention's own ts starts the thread.
        let mut top: Value =
            serde_json::from_slice(&fixture("events_app_mention_thread.json")).unwrap();
        top["event"].as_object_mut().unwrap().remove("thread_ts");
        let EventsBody::Callback {
            event: Event::Mention(m),
            ..
        } = parse(top.to_string().as_bytes()).unwrap()
        else {
            panic!()
        };
        assert_eq!(m.thread.thread_ts, "1764930600.000300");
    }

    #[test]
    fn a_slack_connect_guest_is_named_by_their_own_workspace() {
        let (_, m) = mention_of("events_app_mention_slack_connect.json");
        assert_eq!(
            m.requester.team_id.as_deref(),
            Some("T07MARQEE"),
            "the installation"
        );
        assert_eq!(
            m.requester.user_team_id.as_deref(),
            Some("T07PARTNER"),
            "event.user_team"
        );
        assert_eq!(m.requester.enterprise_id, None);
    }

    #[test]
    fn an_org_wide_install_names_its_organisation() {
        let (_, m) = mention_of("events_app_mention_org_install.json");
        assert_eq!(m.requester.enterprise_id.as_deref(), Some("E07GRID"));
        assert_eq!(m.requester.user_team_id.as_deref(), Some("T07GRIDWS"));
        // Without is_enterprise_install, the enterprise is not an installation.
        let mut not_org: Value =
            serde_json::from_slice(&fixture("events_app_mention_org_install.json")).unwrap();
        not_org["authorizations"][0]["is_enterprise_install"] = false.into();
        let EventsBody::Callback {
            event: Event::Mention(m),
            ..
        } = parse(not_org.to_string().as_bytes()).unwrap()
        else {
            panic!()
        };
        assert_eq!(m.requester.enterprise_id, None);
    }

    #[test]
    fn a_direct_message_is_a_request_and_bots_are_ignored() {
        let (_, m) = mention_of("events_message_im.json");
        assert!(m.direct);
        assert_eq!(m.text, "a noir poster of our cat");
        let ignored = |body: &Value| match parse(body.to_string().as_bytes()).unwrap() {
            EventsBody::Callback {
                event: Event::Ignored(why),
                ..
            } => why,
            other => panic!("{other:?}"),
        };
        let bot: Value = serde_json::from_slice(&fixture("events_message_bot.json")).unwrap();
        assert_eq!(ignored(&bot), "a bot's message");
        let mut own: Value = serde_json::from_slice(&fixture("events_message_im.json")).unwrap();
        own["event"]["user"] = own["authorizations"][0]["user_id"].clone();
        assert_eq!(ignored(&own), "the app's own message");
        let mut edited: Value = serde_json::from_slice(&fixture("events_message_im.json")).unwrap();
        edited["event"]["subtype"] = "message_changed".into();
        assert!(ignored(&edited).contains("subtype"));
        let mut channel: Value =
            serde_json::from_slice(&fixture("events_message_im.json")).unwrap();
        channel["event"]["channel_type"] = "channel".into();
        assert!(ignored(&channel).contains("outside"));
        let mut other: Value = serde_json::from_slice(&fixture("events_message_im.json")).unwrap();
        other["event"]["type"] = "reaction_added".into();
        assert!(ignored(&other).contains("does not handle"));
    }

    #[test]
    fn opening_the_home_tab_is_read_and_the_messages_tab_ignored() {
        let home = |name: &str| match parse(&fixture(name)).unwrap() {
            EventsBody::Callback {
                event: Event::HomeOpened(h),
                event_id,
            } => (event_id, *h),
            other => panic!("{name}: {other:?}"),
        };
        let (id, h) = home("events_app_home_opened.json");
        assert_eq!(id, "Ev07HOME0001");
        assert_eq!(h.requester.user_id, "U07ADA");
        assert_eq!(h.requester.team_id.as_deref(), Some("T07MARQEE"));
        assert_eq!(h.requester.user_team_id, None, "users.info decides");
        assert_eq!(h.requester.enterprise_id, None);
        let (_, org) = home("events_app_home_opened_org_install.json");
        assert_eq!(org.requester.enterprise_id.as_deref(), Some("E07GRID"));
        let mut messages: Value =
            serde_json::from_slice(&fixture("events_app_home_opened.json")).unwrap();
        messages["event"]["tab"] = "messages".into();
        assert!(matches!(
            parse(messages.to_string().as_bytes()).unwrap(),
            EventsBody::Callback {
                event: Event::Ignored(_),
                ..
            }
        ));
        messages["event"]["tab"] = "home".into();
        messages["event"]["user"] = Value::Null;
        assert_eq!(
            parse(messages.to_string().as_bytes()),
            Err(EventsError::Missing("event.user"))
        );
    }

    fn offline() -> ModelPolicy {
        ModelPolicy {
            default: crate::model::ModelId::Offline,
            allowed: vec![crate::model::ModelId::Offline],
        }
    }

    fn step_of(body: &Value) -> StepExecuted {
        match parse(body.to_string().as_bytes()).unwrap() {
            EventsBody::Callback {
                event: Event::StepExecuted(s),
                ..
            } => *s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_workflow_step_is_read_with_its_execution_and_whom_it_is_for() {
        let body: Value =
            serde_json::from_slice(&fixture("events_function_executed.json")).unwrap();
        let s = step_of(&body);
        assert_eq!(s.step.execution_id, "Fx07POSTER01");
        assert_eq!(s.step.channel_id, "C07LAUNCH");
        assert!(s.step.token.expose().starts_with("xwfp-"));
        assert!(s.step.named_person);
        assert_eq!(s.requester.user_id, "U07ADA");
        assert_eq!(s.requester.team_id.as_deref(), Some("T07MARQEE"));
        assert_eq!(
            s.requester.user_team_id, None,
            "a named person's workspace is users.info's to say"
        );
        let spec = s.inputs.spec(&s.step.channel_id, &offline()).unwrap();
        assert_eq!(spec.style, crate::genre::Style::Horror);
        assert_eq!(spec.text.title.as_deref(), Some("The Keeper"));
        // Without a `requester` input the poster is the app's own, counted to the bot user.
        let mut unnamed = body.clone();
        unnamed["event"]["inputs"]
            .as_object_mut()
            .unwrap()
            .remove("requester");
        let s = step_of(&unnamed);
        assert!(!s.step.named_person);
        assert_eq!(s.requester.user_id, "U07MARQBOT");
        assert_eq!(s.requester.user_team_id.as_deref(), Some("T07MARQEE"));
        // Inputs that make no poster are said in words for the workflow's people.
        let mut empty = body.clone();
        empty["event"]["inputs"]["description"] = "  ".into();
        let s = step_of(&empty);
        let why = s.inputs.spec(&s.step.channel_id, &offline()).unwrap_err();
        assert!(why.contains("description"), "{why}");
        // Another function's step is not Marquee's; a step without its token is malformed.
        let mut other = body.clone();
        other["event"]["function"]["callback_id"] = "reverse".into();
        assert!(matches!(
            parse(other.to_string().as_bytes()).unwrap(),
            EventsBody::Callback {
                event: Event::Ignored(_),
                ..
            }
        ));
        // An org-wide install names its organisation, as for mentions.
        let mut org = body.clone();
        org["authorizations"][0]["team_id"] = Value::Null;
        org["authorizations"][0]["enterprise_id"] = "E07GRID".into();
        org["authorizations"][0]["is_enterprise_install"] = true.into();
        org["team_id"] = "T07GRIDWS".into();
        let s = step_of(&org);
        assert_eq!(s.requester.enterprise_id.as_deref(), Some("E07GRID"));
        assert_eq!(
            s.requester.team_id.as_deref(),
            Some("T07GRIDWS"),
            "the outer team_id"
        );
        let mut tokenless = body;
        tokenless["event"]
            .as_object_mut()
            .unwrap()
            .remove("bot_access_token");
        assert_eq!(
            parse(tokenless.to_string().as_bytes()),
            Err(EventsError::Missing("event.bot_access_token"))
        );
    }

    #[test]
    fn bodies_that_are_not_events_are_errors_or_other() {
        assert!(matches!(parse(b"not json"), Err(EventsError::NotJson(_))));
        assert_eq!(
            parse(br#"{"type":"event_callback","event":{}}"#),
            Err(EventsError::Missing("event_id"))
        );
        assert_eq!(
            parse(br#"{"type":"app_rate_limited","minute_rate_limited":1518467820}"#).unwrap(),
            EventsBody::Other("app_rate_limited".into())
        );
    }

    #[test]
    fn the_apps_mention_is_taken_out_wherever_it_is() {
        assert_eq!(strip_mention("<@U07BOT> a cat", Some("U07BOT")), "a cat");
        assert_eq!(
            strip_mention("a cat <@U07BOT|marquee> please", Some("U07BOT")),
            "a cat   please".trim()
        );
        assert_eq!(
            strip_mention("<@U07BOT> a <@U07ADA> cat", Some("U07BOT")),
            "a <@U07ADA> cat"
        );
        assert_eq!(strip_mention("<@W1> a cat", None), "a cat");
    }
}
