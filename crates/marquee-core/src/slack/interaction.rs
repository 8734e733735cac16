//! Interactivity: the buttons and menu on every poster message, the `block_actions`
//! payloads Slack sends when someone uses them, and (through [`parse_interaction`]) the
//! `view_submission` payloads of the review modals ([`super::modal`]).
//!
//! Each control carries only the poster's id (a UUID, far inside Slack's 2,000-character
//! `value` limit); the poster's full spec is kept with the stored poster and read by the worker,
//! so a click is acked without touching storage and a spec of any length still works.

use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::modal::ModalContext;
pub use super::payload::InteractionError;
use super::payload::{Id, User, capitalise, org_install};
use crate::genre::Style;
use crate::job::{Change, ReplyTo, SlackMessageRef, Task};

const ACTION_REGENERATE: &str = "poster.regenerate";
/// Offered no more (Vary subtle / Vary strong replaced it), but still on older messages.
const ACTION_VARIATIONS: &str = "poster.variations";
const ACTION_RESTYLE: &str = "poster.restyle";
const ACTION_APPROVE: &str = "poster.approve";
const ACTION_EDIT_WORDS: &str = "poster.edit_words";
const ACTION_VARY_SUBTLE: &str = "poster.vary_subtle";
const ACTION_VARY_STRONG: &str = "poster.vary_strong";
const ACTION_CHANGE_DETAIL: &str = "poster.change_detail";
const ACTION_PRINT: &str = "poster.print";
const ACTION_FORMATS: &str = "poster.formats";
const ACTION_USE_PICTURE: &str = "poster.use_picture";
/// The block that holds the controls, so an approval can replace it.
const ACTIONS_BLOCK_PREFIX: &str = "marquee.actions.";
/// How many posters one click on Variations makes.
pub(crate) const VARIATIONS: u8 = 2;

/// Which of the controls that not every poster can use a message offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Controls {
    /// Edit words and Change a detail open a modal, which needs the workspace's bot token
    /// (`views.open`); without one they are not offered.
    pub modals: bool,
    /// The poster's model can replace a detail of its art (search and replace).
    pub change_detail: bool,
    /// The poster is approved: it offers Print, and nothing that would change it.
    pub print: bool,
    /// The take's art can be grown or re-composed at every format: it offers Formats… under
    /// review and, beside Print, once approved.
    pub formats: bool,
    /// Someone here can make a take with an uploaded picture for the take's model (Style
    /// Guide, image-to-image or Style Transfer; offline, its palette): it offers Use a
    /// picture… (which also needs `modals`).
    pub use_picture: bool,
}

/// A button whose `value` is the poster's id (far inside Slack's 2,000-character limit).
fn button(action_id: &str, id: Uuid, text: &str) -> Value {
    json!({"type": "button", "action_id": action_id, "value": id.to_string(),
           "text": {"type": "plain_text", "text": text, "emoji": true}})
}

/// The actions block for the poster `id`, in style `current`, with the controls `controls`
/// allows. An approved poster offers only Print (and Formats…, which change nothing): the first
/// approval stands, and a new take is made from the poster's earlier takes.
pub(crate) fn actions_block(id: Uuid, current: Style, controls: Controls) -> Value {
    let mut elements = Vec::new();
    if controls.print {
        elements.push(button(ACTION_PRINT, id, "🖨️ Print"));
        if controls.formats {
            elements.push(button(ACTION_FORMATS, id, "📐 Formats…"));
        }
    } else {
        let options: Vec<Value> = Style::ALL
            .iter()
            .filter(|s| **s != current)
            .map(|s| {
                json!({
                    "text": {"type": "plain_text", "text": capitalise(s.name())},
                    "value": s.name(),
                })
            })
            .collect();
        elements.push(button(ACTION_REGENERATE, id, "🎲 Regenerate"));
        elements.push(button(ACTION_VARY_SUBTLE, id, "🎞️ Vary subtle"));
        elements.push(button(ACTION_VARY_STRONG, id, "🎞️ Vary strong"));
        elements.push(json!({"type": "static_select", "action_id": ACTION_RESTYLE,
            "placeholder": {"type": "plain_text", "text": "🎨 Restyle…", "emoji": true},
            "options": options}));
        if controls.modals {
            elements.push(button(ACTION_EDIT_WORDS, id, "✏️ Edit words"));
            if controls.change_detail {
                elements.push(button(ACTION_CHANGE_DETAIL, id, "🖌️ Change a detail"));
            }
            // Its modal's file_input, and the download, need the bot token too; and a model
            // here that can use a picture for this take, as Formats… needs one that outpaints.
            if controls.use_picture {
                elements.push(button(ACTION_USE_PICTURE, id, "🖼️ Use a picture…"));
            }
        }
        let mut approve = button(ACTION_APPROVE, id, "✅ Approve");
        approve["style"] = "primary".into();
        elements.push(approve);
        if controls.formats {
            elements.push(button(ACTION_FORMATS, id, "📐 Formats…"));
        }
    }
    json!({
        "type": "actions",
        "block_id": format!("{ACTIONS_BLOCK_PREFIX}{id}"),
        "elements": elements,
    })
}

/// What a click asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Regenerate,
    Variations,
    Restyle(Style),
    Approve,
}

use crate::model::Strength as VaryStrength;

/// What a click on one of the review controls asks for. Apart from [`Action`] because these
/// need more than a queued job: Edit words and Change a detail open a modal from the front
/// door, Vary and Print are queued with tasks of their own. [`parse`] (the old entry point,
/// which the fuzz target drives through [`parse_interaction`]) reports them as unsupported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Review {
    /// Open the Edit words modal (with the click's `trigger_id`, within 3 s).
    EditWords,
    /// True variations of this take's art.
    Vary(VaryStrength),
    /// Open the Change a detail modal.
    ChangeDetail,
    /// Print an approved poster.
    Print,
    /// The take at every format.
    Formats,
    /// Open the Use a picture… modal.
    UsePicture,
}

/// A click on one of Marquee's controls, with everything the worker needs. `A` is [`Action`]
/// for the controls of old, [`Review`] for the review controls.
#[derive(Debug, Clone, PartialEq)]
pub struct Click<A = Action> {
    pub action: A,
    /// The poster whose message was clicked.
    pub source: Uuid,
    pub user_id: String,
    pub(crate) user_name: Option<String>,
    /// The workspace the app is installed in (`team.id`, or `user.team_id` on an org-wide
    /// install, whose `team` is null): where things are stored, never who may act.
    pub team_id: Option<String>,
    /// The clicker's own workspace (`user.team_id`): in a Slack Connect channel it is not
    /// `team.id` (slackapi/java-slack-sdk#1041).
    pub(crate) user_team_id: Option<String>,
    /// The organisation of an org-wide install ([`org_install`]).
    pub(crate) enterprise_id: Option<String>,
    pub(crate) channel_id: Option<String>,
    /// The root of the clicked message's thread (the message itself when it is not a reply).
    pub thread_ts: Option<String>,
    pub response_url: String,
    /// What opens a modal for the clicker: single use, valid for 3 seconds (Slack's "Handling
    /// user interaction" and `views.open` reference).
    pub trigger_id: Option<String>,
}

/// Anything Slack posts to the interactivity URL that Marquee handles.
#[derive(Debug, Clone, PartialEq)]
pub enum Interaction {
    /// One of the controls of old: a job for the worker.
    Click(Click),
    /// One of the review controls.
    Review(Click<Review>),
    /// A review modal was submitted.
    Submission(super::modal::Submission),
    /// The message shortcut "Make a poster from this message" was used.
    Shortcut(super::shortcut::MessageShortcut),
    /// Its modal was submitted.
    FromMessage(super::shortcut::FromMessage),
    /// The Settings button on the Home tab was clicked.
    OpenSettings(SettingsClick),
    /// The Settings modal was submitted.
    Settings(super::settings::SettingsSubmission),
}

/// A click on the Home tab's Settings button: who clicked (`user.id`; `team_id` the
/// installation from `view.app_installed_team_id`, else `team.id`, else `user.team_id`;
/// `user_team_id` the clicker's own `user.team_id`) and the `trigger_id` to open the modal with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsClick {
    pub requester: crate::job::Requester,
    pub trigger_id: String,
}

// What Slack really sends (tests/fixtures/slack/README.md names the sources): every field
// Marquee does not need is ignored, never refused, because Slack adds fields over time; every
// field Slack may leave out or send as `null` is an `Option`; and no field is an alias of
// another, because Slack sends both `user.username` and `user.name` and serde refuses an alias
// whose target is also present (`duplicate field`).
#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    user: Option<User>,
    /// `null` on org-wide installs (Enterprise Grid); the user's `team_id` names the workspace.
    #[serde(default)]
    team: Option<Id>,
    #[serde(default)]
    channel: Option<Id>,
    #[serde(default)]
    container: Option<Container>,
    #[serde(default)]
    message: Option<MessagePart>,
    #[serde(default)]
    response_url: Option<String>,
    #[serde(default)]
    actions: Option<Vec<ActionPart>>,
    #[serde(default)]
    trigger_id: Option<String>,
    /// `null` outside Enterprise Grid.
    #[serde(default)]
    enterprise: Option<Id>,
    #[serde(default)]
    is_enterprise_install: Option<Value>,
    /// The view clicked in, for a click on a Home tab or a modal (bolt-js `BlockAction.view`).
    #[serde(default)]
    view: Option<ClickedView>,
}

#[derive(Deserialize)]
struct ClickedView {
    #[serde(default)]
    app_installed_team_id: Option<String>,
}

#[derive(Deserialize)]
struct Container {
    #[serde(default)]
    channel_id: Option<String>,
    #[serde(default)]
    message_ts: Option<String>,
    #[serde(default)]
    thread_ts: Option<String>,
}

/// The clicked message: only where it sits. Its `blocks` are Slack's normalised copy, which
/// Marquee never reads, let alone echoes back (Slack refuses its read-only keys on input).
#[derive(Deserialize)]
struct MessagePart {
    #[serde(default)]
    ts: Option<String>,
    #[serde(default)]
    thread_ts: Option<String>,
}

#[derive(Deserialize)]
struct ActionPart {
    action_id: String,
    #[serde(default)]
    block_id: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    selected_option: Option<SelectedOption>,
}

#[derive(Deserialize)]
struct SelectedOption {
    value: String,
}

/// Reads the `payload` field of an interaction POST (already verified): a click on one of the
/// controls of old. The review controls and modal submissions are [`parse_interaction`]'s;
/// here they are [`InteractionError::Unsupported`], which the front door acks and ignores.
pub fn parse(payload: &str) -> Result<Click, InteractionError> {
    match parse_interaction(payload)? {
        Interaction::Click(click) => Ok(click),
        Interaction::Review(click) => Err(InteractionError::Unsupported(format!(
            "block_actions review control {:?}",
            click.action
        ))),
        Interaction::Submission(_) | Interaction::FromMessage(_) => {
            Err(InteractionError::Unsupported("view_submission".into()))
        }
        Interaction::Shortcut(_) => Err(InteractionError::Unsupported("message_action".into())),
        Interaction::OpenSettings(_) => Err(InteractionError::Unsupported(
            "block_actions settings".into(),
        )),
        Interaction::Settings(_) => Err(InteractionError::Unsupported("view_submission".into())),
    }
}

/// Reads the `payload` field of an interaction POST (already verified): a click on any
/// control, or a review modal's submission.
pub fn parse_interaction(payload: &str) -> Result<Interaction, InteractionError> {
    #[derive(Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        kind: String,
    }
    let kind: Kind =
        serde_json::from_str(payload).map_err(|e| InteractionError::NotJson(e.to_string()))?;
    match kind.kind.as_str() {
        "block_actions" => parse_click(payload),
        "view_submission"
            if matches!(
                view_callback(payload).as_deref(),
                Some(super::shortcut::VIEW | super::shortcut::NEW_VIEW)
            ) =>
        {
            super::shortcut::parse_submission(payload).map(Interaction::FromMessage)
        }
        "view_submission"
            if view_callback(payload).as_deref() == Some(super::settings::CALLBACK_ID) =>
        {
            super::settings::parse_submission(payload).map(Interaction::Settings)
        }
        "view_submission" => super::modal::parse_submission(payload).map(Interaction::Submission),
        "message_action" => super::shortcut::parse_shortcut(payload).map(Interaction::Shortcut),
        _ => Err(InteractionError::Unsupported(kind.kind)),
    }
}

/// A `view_submission`'s `view.callback_id`, which names the modal submitted.
fn view_callback(payload: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Envelope {
        view: Option<View>,
    }
    #[derive(Deserialize)]
    struct View {
        callback_id: Option<String>,
    }
    serde_json::from_str::<Envelope>(payload)
        .ok()?
        .view?
        .callback_id
}

/// What an action id asks for.
enum Asked {
    Action(Action),
    Review(Review),
}

fn parse_click(payload: &str) -> Result<Interaction, InteractionError> {
    let p: Payload =
        serde_json::from_str(payload).map_err(|e| InteractionError::NotJson(e.to_string()))?;
    let action = p
        .actions
        .as_deref()
        .and_then(<[ActionPart]>::first)
        .ok_or(InteractionError::Missing("actions"))?;
    if action.action_id == super::home::SETTINGS_ACTION {
        let user = p.user.ok_or(InteractionError::Missing("user"))?;
        let team_id = p
            .view
            .and_then(|v| v.app_installed_team_id)
            .or(p.team.map(|t| t.id))
            .or_else(|| user.team_id.clone());
        return Ok(Interaction::OpenSettings(SettingsClick {
            requester: crate::job::Requester {
                user_id: user.id,
                user_name: user.username.or(user.name),
                team_id,
                channel_id: None,
                user_team_id: user.team_id,
                enterprise_id: org_install(p.enterprise, p.is_enterprise_install.as_ref()),
            },
            trigger_id: p
                .trigger_id
                .ok_or(InteractionError::Missing("trigger_id"))?,
        }));
    }
    let source_text = match (&action.value, &action.block_id) {
        (Some(v), _) => v.as_str(),
        (None, Some(block)) => block.strip_prefix(ACTIONS_BLOCK_PREFIX).unwrap_or(block),
        (None, None) => return Err(InteractionError::BadPosterId),
    };
    let source = Uuid::parse_str(source_text).map_err(|_| InteractionError::BadPosterId)?;
    let kind = match action.action_id.as_str() {
        ACTION_REGENERATE => Asked::Action(Action::Regenerate),
        ACTION_VARIATIONS => Asked::Action(Action::Variations),
        ACTION_APPROVE => Asked::Action(Action::Approve),
        ACTION_RESTYLE => {
            let chosen = action
                .selected_option
                .as_ref()
                .ok_or(InteractionError::Missing("selected_option"))?;
            Asked::Action(Action::Restyle(Style::parse(&chosen.value).ok_or_else(
                || InteractionError::UnknownStyle(chosen.value.clone()),
            )?))
        }
        ACTION_EDIT_WORDS => Asked::Review(Review::EditWords),
        ACTION_VARY_SUBTLE => Asked::Review(Review::Vary(VaryStrength::Subtle)),
        ACTION_VARY_STRONG => Asked::Review(Review::Vary(VaryStrength::Strong)),
        ACTION_CHANGE_DETAIL => Asked::Review(Review::ChangeDetail),
        ACTION_PRINT => Asked::Review(Review::Print),
        ACTION_FORMATS => Asked::Review(Review::Formats),
        ACTION_USE_PICTURE => Asked::Review(Review::UsePicture),
        other => return Err(InteractionError::UnknownAction(other.to_owned())),
    };
    let user = p.user.ok_or(InteractionError::Missing("user"))?;
    let response_url = p
        .response_url
        .ok_or(InteractionError::Missing("response_url"))?;
    let container = p.container;
    let message = p.message;
    let channel_id = p
        .channel
        .map(|c| c.id)
        .or_else(|| container.as_ref().and_then(|c| c.channel_id.clone()));
    // Replies to a reply belong to the original thread, whose root is the thread_ts.
    let thread_ts = message
        .as_ref()
        .and_then(|m| m.thread_ts.clone().or_else(|| m.ts.clone()))
        .or_else(|| {
            container
                .as_ref()
                .and_then(|c| c.thread_ts.clone().or_else(|| c.message_ts.clone()))
        });
    // On an org-wide install `team` is null and the clicker's own workspace is the only one.
    let team_id = p.team.map(|t| t.id).or_else(|| user.team_id.clone());
    let click = Click {
        action: (),
        source,
        user_id: user.id,
        user_name: user.username.or(user.name),
        team_id,
        user_team_id: user.team_id,
        enterprise_id: org_install(p.enterprise, p.is_enterprise_install.as_ref()),
        channel_id,
        thread_ts,
        response_url,
        trigger_id: p.trigger_id,
    };
    Ok(match kind {
        Asked::Action(action) => Interaction::Click(click.with(action)),
        Asked::Review(review) => Interaction::Review(click.with(review)),
    })
}

impl<A> Click<A> {
    /// What a modal opened by this click carries to its submission.
    pub fn modal_context(&self) -> ModalContext {
        ModalContext {
            poster: self.source,
            response_url: self.response_url.clone(),
            channel_id: self.channel_id.clone(),
            thread_ts: self.thread_ts.clone(),
        }
    }

    /// Who clicked, as the worker's job carries them: the installing workspace for storage,
    /// and the clicker's own workspace and org-wide install for deciding what they may do.
    pub fn requester(&self) -> crate::job::Requester {
        crate::job::Requester {
            user_id: self.user_id.clone(),
            user_name: self.user_name.clone(),
            team_id: self.team_id.clone(),
            channel_id: self.channel_id.clone(),
            user_team_id: self.user_team_id.clone(),
            enterprise_id: self.enterprise_id.clone(),
        }
    }
}

impl Click<()> {
    fn with<A>(self, action: A) -> Click<A> {
        Click {
            action,
            source: self.source,
            user_id: self.user_id,
            user_name: self.user_name,
            team_id: self.team_id,
            user_team_id: self.user_team_id,
            enterprise_id: self.enterprise_id,
            channel_id: self.channel_id,
            thread_ts: self.thread_ts,
            response_url: self.response_url,
            trigger_id: self.trigger_id,
        }
    }
}

/// What a click asks the worker to do with the poster it was made on.
impl From<&Click> for Task {
    fn from(click: &Click) -> Self {
        let source = click.source;
        let retake = |change| Task::Retake { source, change };
        match click.action {
            Action::Regenerate => retake(Change::Regenerate),
            Action::Variations => retake(Change::Variations { count: VARIATIONS }),
            Action::Restyle(style) => retake(Change::Restyle { style }),
            Action::Approve => Task::Approve { source },
        }
    }
}

/// Where a click's results go: its `response_url`, and its poster's thread when known.
impl<A> From<&Click<A>> for ReplyTo {
    fn from(click: &Click<A>) -> Self {
        let thread = match (&click.channel_id, &click.thread_ts) {
            (Some(channel_id), Some(thread_ts)) => Some(SlackMessageRef {
                channel_id: channel_id.clone(),
                thread_ts: thread_ts.clone(),
            }),
            _ => None,
        };
        ReplyTo::SlackResponseUrl {
            response_url: click.response_url.clone(),
            thread,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(action: Value, thread_ts: Option<&str>) -> String {
        let mut message =
            json!({"type": "message", "ts": "1700000000.000200", "blocks": [{"type": "section"}]});
        if let Some(t) = thread_ts {
            message["thread_ts"] = t.into();
        }
        json!({
            "type": "block_actions",
            "user": {"id": "U9", "username": "grace", "team_id": "T1"},
            "team": {"id": "T1", "domain": "acme"},
            "container": {"type": "message", "message_ts": "1700000000.000200", "channel_id": "C1", "is_ephemeral": false},
            "channel": {"id": "C1", "name": "posters"},
            "message": message,
            "response_url": "https://hooks.slack.com/actions/T1/1/abc",
            "trigger_id": "1.2.3",
            "actions": [action],
        })
        .to_string()
    }

    #[test]
    fn every_control_fits_slacks_limits_and_round_trips() {
        let id = Uuid::new_v4();
        let all = Controls {
            modals: true,
            change_detail: true,
            print: false,
            formats: true,
            use_picture: true,
        };
        let block = actions_block(id, Style::Noir, all);
        assert!(block["block_id"].as_str().unwrap().len() <= 255);
        let elements = block["elements"].as_array().unwrap();
        assert!(elements.len() <= 25);
        for e in elements {
            if e["type"] == "button" {
                assert!(e["text"]["text"].as_str().unwrap().chars().count() <= 75);
            }
            assert!(e["action_id"].as_str().unwrap().len() <= 255);
            if let Some(v) = e["value"].as_str() {
                assert!(v.len() <= 2000);
            }
            if e["type"] == "static_select" {
                let options = e["options"].as_array().unwrap();
                assert_eq!(
                    options.len(),
                    Style::ALL.len() - 1,
                    "the current style is not offered"
                );
                for o in options {
                    assert!(o["text"]["text"].as_str().unwrap().chars().count() <= 75);
                    assert!(o["value"].as_str().unwrap().len() <= 150);
                }
            }
        }
        for (action_id, want) in [
            (ACTION_REGENERATE, Action::Regenerate),
            (ACTION_VARIATIONS, Action::Variations),
            (ACTION_APPROVE, Action::Approve),
        ] {
            let click = parse(&payload(
                json!({"action_id": action_id, "block_id": format!("{ACTIONS_BLOCK_PREFIX}{id}"), "value": id.to_string(), "type": "button", "action_ts": "1"}),
                None,
            ))
            .unwrap();
            assert_eq!(click.action, want);
            assert_eq!(click.source, id);
            assert_eq!(click.user_id, "U9");
            assert_eq!(click.user_name.as_deref(), Some("grace"));
            assert_eq!(click.channel_id.as_deref(), Some("C1"));
            assert_eq!(click.thread_ts.as_deref(), Some("1700000000.000200"));
            assert_eq!(click.trigger_id.as_deref(), Some("1.2.3"));
        }
        for (action_id, want) in [
            (ACTION_EDIT_WORDS, Review::EditWords),
            (ACTION_VARY_SUBTLE, Review::Vary(VaryStrength::Subtle)),
            (ACTION_VARY_STRONG, Review::Vary(VaryStrength::Strong)),
            (ACTION_CHANGE_DETAIL, Review::ChangeDetail),
            (ACTION_PRINT, Review::Print),
            (ACTION_FORMATS, Review::Formats),
            (ACTION_USE_PICTURE, Review::UsePicture),
        ] {
            let payload = payload(
                json!({"action_id": action_id, "block_id": format!("{ACTIONS_BLOCK_PREFIX}{id}"), "value": id.to_string(), "type": "button", "action_ts": "1"}),
                None,
            );
            let Ok(Interaction::Review(click)) = parse_interaction(&payload) else {
                panic!("{action_id}: {:?}", parse_interaction(&payload))
            };
            assert_eq!(click.action, want);
            assert_eq!(click.source, id);
            assert_eq!(click.trigger_id.as_deref(), Some("1.2.3"));
            assert_eq!(
                click.response_url,
                "https://hooks.slack.com/actions/T1/1/abc"
            );
            // The front door of today acks and ignores them.
            assert!(
                matches!(parse(&payload), Err(InteractionError::Unsupported(_))),
                "{action_id}"
            );
        }
    }

    /// The action ids of the elements of `block`.
    fn offered(block: &Value) -> Vec<&str> {
        block["elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action_id"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn controls_are_offered_only_where_they_can_work() {
        let id = Uuid::new_v4();
        let with = |modals, change_detail, print| {
            actions_block(
                id,
                Style::Horror,
                Controls {
                    modals,
                    change_detail,
                    print,
                    formats: false,
                    use_picture: true,
                },
            )
        };
        assert_eq!(
            offered(&with(false, false, false)),
            [
                ACTION_REGENERATE,
                ACTION_VARY_SUBTLE,
                ACTION_VARY_STRONG,
                ACTION_RESTYLE,
                ACTION_APPROVE
            ],
            "no bot token: nothing that opens a modal; Variations is gone"
        );
        assert_eq!(
            offered(&with(false, true, false)),
            offered(&with(false, false, false)),
            "Change a detail needs a modal too"
        );
        assert_eq!(
            offered(&with(true, false, false)),
            [
                ACTION_REGENERATE,
                ACTION_VARY_SUBTLE,
                ACTION_VARY_STRONG,
                ACTION_RESTYLE,
                ACTION_EDIT_WORDS,
                ACTION_USE_PICTURE,
                ACTION_APPROVE
            ]
        );
        assert_eq!(
            offered(&with(true, true, false)),
            [
                ACTION_REGENERATE,
                ACTION_VARY_SUBTLE,
                ACTION_VARY_STRONG,
                ACTION_RESTYLE,
                ACTION_EDIT_WORDS,
                ACTION_CHANGE_DETAIL,
                ACTION_USE_PICTURE,
                ACTION_APPROVE
            ]
        );
        assert_eq!(offered(&with(true, true, true)), [ACTION_PRINT]);
        let formats = Controls {
            formats: true,
            ..Controls::default()
        };
        assert_eq!(
            offered(&actions_block(id, Style::Horror, formats)).last(),
            Some(&ACTION_FORMATS)
        );
        let approve = with(false, false, false)["elements"][4].clone();
        assert_eq!(approve["style"], "primary");
    }

    /// Use a picture… is offered only where a model here can use a picture for the take, as
    /// Formats… only where one can outpaint it.
    #[test]
    fn use_a_picture_is_hidden_where_no_model_can_use_one() {
        let id = Uuid::new_v4();
        let with = |use_picture| {
            let block = actions_block(
                id,
                Style::Horror,
                Controls {
                    modals: true,
                    use_picture,
                    ..Controls::default()
                },
            );
            offered(&block)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<String>>()
        };
        assert!(with(true).iter().any(|a| a == ACTION_USE_PICTURE));
        assert!(!with(false).iter().any(|a| a == ACTION_USE_PICTURE));
        assert!(with(false).iter().any(|a| a == ACTION_EDIT_WORDS));
    }

    #[test]
    fn restyle_reads_the_selected_option_and_replies_stay_in_the_original_thread() {
        let id = Uuid::new_v4();
        let click = parse(&payload(
            json!({"action_id": ACTION_RESTYLE, "block_id": format!("{ACTIONS_BLOCK_PREFIX}{id}"), "type": "static_select",
                   "selected_option": {"text": {"type": "plain_text", "text": "Western"}, "value": "western"}}),
            Some("1700000000.000100"),
        ))
        .unwrap();
        assert_eq!(click.action, Action::Restyle(Style::Western));
        assert_eq!(click.source, id);
        assert_eq!(click.thread_ts.as_deref(), Some("1700000000.000100"));
    }

    // Slack-shaped payloads (tests/fixtures/slack/README.md names the source of each shape).
    const HOME_SETTINGS: &str =
        include_str!("../../../../tests/fixtures/slack/block_actions_home_settings.json");

    /// The Settings click names its clicker by `user.id` and `user.team_id`, and the
    /// installation by the Home view's `app_installed_team_id`: a Slack Connect guest keeps
    /// their own workspace, an org-wide install its org.
    #[test]
    fn a_settings_click_on_home_names_the_clicker_and_the_installation() {
        let read = |payload: &str| match parse_interaction(payload).unwrap() {
            Interaction::OpenSettings(click) => click,
            other => panic!("{other:?}"),
        };
        let click = read(HOME_SETTINGS);
        assert_eq!(click.requester.user_id, "U07GRACEH");
        assert_eq!(click.requester.team_id.as_deref(), Some("T07MARQEE"));
        assert_eq!(click.requester.user_team_id.as_deref(), Some("T07MARQEE"));
        assert!(click.trigger_id.starts_with("8123456789012."));
        let mut guest: Value = serde_json::from_str(HOME_SETTINGS).unwrap();
        guest["user"]["team_id"] = "T07PARTNER".into();
        guest["team"]["id"] = "T07PARTNER".into();
        let guest = read(&guest.to_string());
        assert_eq!(
            guest.requester.team_id.as_deref(),
            Some("T07MARQEE"),
            "the view's installation"
        );
        assert_eq!(guest.requester.user_team_id.as_deref(), Some("T07PARTNER"));
        let mut org: Value = serde_json::from_str(HOME_SETTINGS).unwrap();
        org["team"] = Value::Null;
        org["enterprise"] = serde_json::json!({"id": "E07GRID", "name": "Marquee Grid"});
        org["is_enterprise_install"] = true.into();
        assert_eq!(
            read(&org.to_string()).requester.enterprise_id.as_deref(),
            Some("E07GRID")
        );
        // The old entry point leaves it to parse_interaction.
        assert!(matches!(
            parse(HOME_SETTINGS),
            Err(InteractionError::Unsupported(_))
        ));
    }

    const BUTTON: &str = include_str!("../../../../tests/fixtures/slack/block_actions_button.json");
    const SELECT: &str =
        include_str!("../../../../tests/fixtures/slack/block_actions_static_select.json");
    const ORG_INSTALL: &str =
        include_str!("../../../../tests/fixtures/slack/block_actions_org_install.json");
    const SLACK_CONNECT: &str =
        include_str!("../../../../tests/fixtures/slack/block_actions_slack_connect.json");
    const FIXTURE_POSTER: &str = "3f2b8c4e-9d1a-4e6b-8f7c-2a5d9e1b4c60";

    #[test]
    fn slacks_button_click_with_username_and_name_is_read() {
        let click = parse(BUTTON).unwrap();
        assert_eq!(click.action, Action::Regenerate);
        assert_eq!(click.source.to_string(), FIXTURE_POSTER);
        assert_eq!(click.user_id, "U07ADAPARK");
        assert_eq!(click.user_name.as_deref(), Some("ada.park"));
        assert_eq!(click.team_id.as_deref(), Some("T07MARQEE"));
        assert_eq!(click.channel_id.as_deref(), Some("C07POSTERS"));
        assert_eq!(click.thread_ts.as_deref(), Some("1764633600.000200"));
        assert!(click.response_url.contains("/actions/T07MARQEE/"));
    }

    #[test]
    fn slacks_select_on_a_reply_is_read_and_stays_in_the_thread() {
        let click = parse(SELECT).unwrap();
        assert_eq!(click.action, Action::Restyle(Style::Noir));
        assert_eq!(click.source.to_string(), FIXTURE_POSTER);
        assert_eq!(click.thread_ts.as_deref(), Some("1764633600.000200"));
    }

    #[test]
    fn an_org_wide_install_takes_the_team_from_the_user() {
        let click = parse(ORG_INSTALL).unwrap();
        assert_eq!(click.action, Action::Approve);
        assert_eq!(click.user_id, "W07GRACEH");
        assert_eq!(click.team_id.as_deref(), Some("T07STUDIO"));
        assert_eq!(click.user_team_id.as_deref(), Some("T07STUDIO"));
        assert_eq!(click.enterprise_id.as_deref(), Some("E07MARQORG"));
    }

    /// Slack Connect (slackapi/java-slack-sdk#1041): `team` is the installing workspace, the
    /// clicker's own is only `user.team_id`; both are kept, for different uses.
    #[test]
    fn a_slack_connect_click_keeps_the_clickers_own_workspace() {
        let click = parse(SLACK_CONNECT).unwrap();
        assert_eq!(click.action, Action::Approve);
        assert_eq!(click.user_id, "U07GUESTLI");
        assert_eq!(
            click.team_id.as_deref(),
            Some("T07MARQEE"),
            "where it is stored"
        );
        assert_eq!(
            click.user_team_id.as_deref(),
            Some("T07PARTNER"),
            "who clicked"
        );
        assert_eq!(click.enterprise_id, None);
        let requester = click.requester();
        assert_eq!(requester.team_id.as_deref(), Some("T07MARQEE"));
        assert_eq!(requester.user_team_id.as_deref(), Some("T07PARTNER"));
        // `enterprise` outside an org-wide install says nothing about the installation.
        let mut payload: Value = serde_json::from_str(SLACK_CONNECT).unwrap();
        payload["enterprise"] = json!({"id": "E07PARTNER", "name": "Partner Studio Org"});
        assert_eq!(parse(&payload.to_string()).unwrap().enterprise_id, None);
        payload["is_enterprise_install"] = "true".into();
        assert_eq!(
            parse(&payload.to_string())
                .unwrap()
                .enterprise_id
                .as_deref(),
            Some("E07PARTNER")
        );
    }

    /// A change to a Slack payload that Slack may really make.
    type Edit = fn(&mut Value);

    #[test]
    fn fields_slack_may_omit_or_send_as_null_are_accepted() {
        let edits: [(&str, Edit); 9] = [
            ("user.name only", |p| {
                p["user"].as_object_mut().unwrap().remove("username");
            }),
            ("user.username only", |p| {
                p["user"].as_object_mut().unwrap().remove("name");
            }),
            ("user names null", |p| {
                p["user"]["name"] = Value::Null;
                p["user"]["username"] = Value::Null;
            }),
            ("team null", |p| p["team"] = Value::Null),
            ("channel null", |p| p["channel"] = Value::Null),
            ("container null", |p| p["container"] = Value::Null),
            ("message null", |p| p["message"] = Value::Null),
            ("thread_ts null", |p| {
                p["message"]["thread_ts"] = Value::Null
            }),
            ("unknown new fields", |p| {
                p["is_ext_shared_channel"] = true.into();
                p["user"]["display_name"] = "Ada".into();
                p["actions"][0]["confirm"] = json!({"title": {"type": "plain_text", "text": "?"}});
            }),
        ];
        for (what, edit) in edits {
            let mut payload: Value = serde_json::from_str(BUTTON).unwrap();
            edit(&mut payload);
            let click = parse(&payload.to_string())
                .unwrap_or_else(|e| panic!("{what}: Slack may send this, but: {e}"));
            assert_eq!(click.action, Action::Regenerate, "{what}");
            assert_eq!(click.user_id, "U07ADAPARK", "{what}");
            assert_eq!(click.team_id.as_deref(), Some("T07MARQEE"), "{what}");
        }
        let mut payload: Value = serde_json::from_str(BUTTON).unwrap();
        payload["actions"] = Value::Null;
        assert_eq!(
            parse(&payload.to_string()),
            Err(InteractionError::Missing("actions"))
        );
    }

    #[test]
    fn broken_payloads_are_errors() {
        assert!(matches!(parse("{"), Err(InteractionError::NotJson(_))));
        assert_eq!(
            parse(r#"{"type":"view_submission"}"#),
            Err(InteractionError::Missing("view")),
            "a submission with nothing in it is broken"
        );
        assert_eq!(
            parse(r#"{"type":"shortcut"}"#),
            Err(InteractionError::Unsupported("shortcut".into()))
        );
        assert_eq!(
            parse(&payload(
                json!({"action_id": "poster.delete", "value": Uuid::nil().to_string()}),
                None
            )),
            Err(InteractionError::UnknownAction("poster.delete".into()))
        );
        assert_eq!(
            parse(&payload(
                json!({"action_id": ACTION_REGENERATE, "value": "../../etc"}),
                None
            )),
            Err(InteractionError::BadPosterId)
        );
        assert_eq!(
            parse(&payload(
                json!({"action_id": ACTION_RESTYLE, "block_id": format!("{ACTIONS_BLOCK_PREFIX}{}", Uuid::nil()), "selected_option": {"value": "musical"}}),
                None
            )),
            Err(InteractionError::UnknownStyle("musical".into()))
        );
    }
}
