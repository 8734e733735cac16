//! The message shortcut "Make a poster from this message": its `message_action` payload, the
//! modal it opens (pre-filled from the message) and that modal's `view_submission`; and the
//! **New poster** form `/poster` alone opens, which is read the same way.
//!
//! Either form may bring a picture: the New poster form's `file_input` (the person uploads
//! one), or the image file of the message the shortcut was used on (`message.files[]`, typed
//! by `slackapi/node-slack-sdk` `packages/types/src/events/message.ts`: `FileShareMessageEvent`
//! `files?: File[]`, each `File` with `id`, `name`, `mimetype`, `mode: 'hosted' | …`,
//! `url_private*`), used to start from or to draw in the style of.
//!
//! Slash commands do not run in threads (bolt-python#873, bolt-js#1816), so a shortcut on a
//! message is how a thread asks for a poster. The poster goes into that message's thread: the
//! message's own `thread_ts` when it is a reply, else its `ts`. Payload shapes: bolt-js
//! `src/types/shortcuts/message-shortcut.ts` and the fixtures named in
//! `tests/fixtures/slack/README.md`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::interaction::InteractionError;
use super::modal::{
    PICTURE, PICTURE_BLOCK, UploadedFile, input, look_option, picture_input, plain, text_input,
};
use super::payload::{Id, SubmissionPayload, User, org_install};
use crate::genre::Style;
use crate::job::{PictureUse, PosterSpec, Requester};
use crate::poster::PosterText;
use crate::request::{
    self, MAX_DESCRIPTION_CHARS, MAX_TAGLINE_CHARS, MAX_TITLE_CHARS, ModelPolicy, RequestError,
};

/// The shortcut's `callback_id`, as the manifest declares it.
pub const CALLBACK_ID: &str = "marquee.poster_from_message";
/// The modal's `callback_id`.
pub const VIEW: &str = "marquee.from_message";
/// The New poster form's `callback_id` (`/poster` alone).
pub const NEW_VIEW: &str = "marquee.new_poster";
const DESCRIPTION_BLOCK: &str = "marquee.from.description";
const TITLE_BLOCK: &str = "marquee.from.title";
const TAGLINE_BLOCK: &str = "marquee.from.tagline";
const STYLE_BLOCK: &str = "marquee.from.style";
/// What to do with the picture: the New poster form's upload, or the message's picture
/// (whose refusals are keyed by this block, the form having no `file_input`).
pub const USE_BLOCK: &str = "marquee.from.use";
const DESCRIPTION: &str = "description";
const TITLE: &str = "title";
const TAGLINE: &str = "tagline";
const STYLE: &str = "style";
const USE: &str = "use";
/// The New poster form's style choice that leaves the style to the words, as `/poster` does.
const GUESS: &str = "guess";
/// The shortcut's choice not to use the message's picture.
const NO_PICTURE: &str = "none";
/// The uses a new poster may make of a picture (restyling needs a take to restyle).
pub const NEW_POSTER_USES: [PictureUse; 2] = [PictureUse::StartFrom, PictureUse::StyleOf];

/// Where a poster made from a form goes: the shortcut's or command's `response_url` (a bearer
/// secret: `Debug` shows its length), the channel and, for a shortcut, the message's thread
/// and picture. Carried in the modal's `private_metadata`, which Slack hands back unchanged
/// and which no person can edit (only the app sets it, through `views.open`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadContext {
    #[serde(rename = "u")]
    pub response_url: String,
    #[serde(rename = "c")]
    pub channel_id: String,
    /// The message's thread; `None` for the New poster form (answered like `/poster`).
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
    /// The image file of the message the shortcut was used on, as its signed `message_action`
    /// payload named it.
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub file: Option<MessageFile>,
}

/// An image file in a message (`message.files[]`): its id, the only thing Marquee trusts of
/// it, and its name for people. The file itself is read again with the bot token
/// (`files.info`) when the form is submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageFile {
    #[serde(rename = "i")]
    pub id: String,
    #[serde(rename = "n")]
    pub name: String,
}

impl std::fmt::Debug for ThreadContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadContext")
            .field(
                "response_url",
                &format_args!("<{} chars>", self.response_url.len()),
            )
            .field("channel_id", &self.channel_id)
            .field("thread_ts", &self.thread_ts)
            .field("file", &self.file)
            .finish()
    }
}

/// Who used a shortcut or submitted its modal, in the words every Slack payload shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: String,
    pub user_name: Option<String>,
    /// The workspace the app is installed in (`team.id`; a modal's
    /// `view.app_installed_team_id`): where things are stored and counted.
    pub team_id: Option<String>,
    /// The actor's own workspace (`user.team_id`): who may act.
    pub user_team_id: Option<String>,
    /// `enterprise.id` of an org-wide install (`is_enterprise_install: true`).
    pub enterprise_id: Option<String>,
}

impl Actor {
    pub fn requester(&self, channel_id: &str) -> Requester {
        Requester {
            user_id: self.user_id.clone(),
            user_name: self.user_name.clone(),
            team_id: self.team_id.clone(),
            channel_id: Some(channel_id.to_owned()),
            user_team_id: self.user_team_id.clone(),
            enterprise_id: self.enterprise_id.clone(),
        }
    }
}

/// A use of the message shortcut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageShortcut {
    pub trigger_id: String,
    pub ctx: ThreadContext,
    /// The message's text, as Slack stores it (mrkdwn, escaped).
    pub text: String,
    pub actor: Actor,
}

#[derive(Deserialize)]
struct ShortcutPayload {
    #[serde(default)]
    callback_id: Option<String>,
    #[serde(default)]
    trigger_id: Option<String>,
    #[serde(default)]
    response_url: Option<String>,
    #[serde(default)]
    message: Option<MessagePart>,
    #[serde(default)]
    channel: Option<Id>,
    #[serde(default)]
    user: Option<User>,
    /// `null` on org-wide installs (bolt-js: `team: {...} | null`).
    #[serde(default)]
    team: Option<Id>,
    #[serde(default)]
    enterprise: Option<Id>,
    #[serde(default)]
    is_enterprise_install: Option<Value>,
}

#[derive(Deserialize)]
struct MessagePart {
    ts: String,
    /// Present when the message is in a thread (the root's own `thread_ts` is its `ts`).
    #[serde(default)]
    thread_ts: Option<String>,
    /// Absent on messages made only of blocks (bolt-js: "undocumented that this is optional").
    #[serde(default)]
    text: Option<String>,
    /// The files shared with the message (`FileShareMessageEvent.files`); absent on most.
    #[serde(default)]
    files: Option<Vec<Value>>,
}

/// The first picture among a message's files that Marquee could use: hosted by Slack (`mode`
/// `hosted`, not an external link or a deleted file's `tombstone`) and an image by Slack's
/// guess (`mimetype` `image/…`; the bytes are checked when it is used). Files whose shape is
/// not a file's are passed over.
fn message_picture(files: &[Value]) -> Option<MessageFile> {
    #[derive(Deserialize)]
    struct FilePart {
        id: String,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        title: Option<String>,
        #[serde(default)]
        mimetype: Option<String>,
        #[serde(default)]
        mode: Option<String>,
    }
    files
        .iter()
        .filter_map(|f| serde_json::from_value::<FilePart>(f.clone()).ok())
        .find(|f| {
            f.mimetype
                .as_deref()
                .is_some_and(|m| m.starts_with("image/"))
                && f.mode.as_deref().is_none_or(|m| m == "hosted")
                && !f.id.is_empty()
        })
        .map(|f| {
            let shown = UploadedFile {
                id: f.id.clone(),
                name: f.name.or(f.title),
                size: None,
                url_private_download: None,
                url_private: None,
                user: None,
            }
            .shown_name();
            MessageFile {
                id: f.id,
                name: shown,
            }
        })
}

/// Reads a `message_action` payload (already verified).
pub fn parse_shortcut(payload: &str) -> Result<MessageShortcut, InteractionError> {
    let p: ShortcutPayload =
        serde_json::from_str(payload).map_err(|e| InteractionError::NotJson(e.to_string()))?;
    let callback_id = p
        .callback_id
        .ok_or(InteractionError::Missing("callback_id"))?;
    if callback_id != CALLBACK_ID {
        return Err(InteractionError::UnknownAction(callback_id));
    }
    let message = p.message.ok_or(InteractionError::Missing("message"))?;
    let channel = p.channel.ok_or(InteractionError::Missing("channel"))?;
    let user = p.user.ok_or(InteractionError::Missing("user"))?;
    let team_id = p.team.map(|t| t.id).or_else(|| user.team_id.clone());
    Ok(MessageShortcut {
        trigger_id: p
            .trigger_id
            .ok_or(InteractionError::Missing("trigger_id"))?,
        ctx: ThreadContext {
            response_url: p
                .response_url
                .ok_or(InteractionError::Missing("response_url"))?,
            channel_id: channel.id,
            thread_ts: Some(message.thread_ts.unwrap_or(message.ts)),
            file: message.files.as_deref().and_then(message_picture),
        },
        text: message.text.unwrap_or_default(),
        actor: Actor {
            user_id: user.id,
            user_name: user.username.or(user.name),
            team_id,
            user_team_id: user.team_id,
            enterprise_id: org_install(p.enterprise, p.is_enterprise_install.as_ref()),
        },
    })
}

/// A message's text as a poster description: Slack's markup read as a person sees it (a
/// link's label, a channel's name; mentions of people and broadcasts dropped), whitespace
/// collapsed, control characters removed, cut to the description's limit.
pub fn description_from(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let inner = &after[..close];
        let (target, label) = match inner.split_once('|') {
            Some((t, l)) => (t, Some(l)),
            None => (inner, None),
        };
        match target.chars().next() {
            // A person, a user group or a broadcast: not poster words.
            Some('@') | Some('!') => {}
            Some('#') => {
                out.push('#');
                out.push_str(label.unwrap_or(&target[1..]));
            }
            _ => out.push_str(label.unwrap_or(target)),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    let out = super::command::unescape_slack(&out);
    let words: Vec<&str> = out.split_whitespace().collect();
    let cleaned: String = words
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    cleaned.chars().take(MAX_DESCRIPTION_CHARS).collect()
}

/// The modal a shortcut opens: the message's words as the description, a title guessed from
/// them, the style `/poster` would guess and, when the message carries a picture, what to do
/// with it (nothing, unless the person chooses) among `uses`, those a model here can make.
pub fn view(shortcut: &MessageShortcut, uses: &[PictureUse]) -> Value {
    let description = description_from(&shortcut.text);
    let title: String = if description.is_empty() {
        String::new()
    } else {
        crate::poster::default_title(&description)
            .chars()
            .take(MAX_TITLE_CHARS)
            .collect()
    };
    let style = Style::guess(&description);
    let looks: Vec<Value> = Style::ALL.iter().map(|s| look_option(*s)).collect();
    let mut blocks = vec![
        json!({"type": "context", "elements": [plain(
            "The poster is posted in this message's thread, with the usual controls."
        )]}),
        description_input(
            Some(&description),
            "Taken from the message; change it as you like.",
        ),
        input(
            TITLE_BLOCK,
            "Title",
            super::modal::TITLE_HINT,
            true,
            text_input(TITLE, Some(&title), MAX_TITLE_CHARS, false, "The Keeper"),
        ),
        input(
            STYLE_BLOCK,
            "Style",
            "Guessed from the words, as /poster does.",
            false,
            json!({
                "type": "static_select",
                "action_id": STYLE,
                "placeholder": plain("Choose a style"),
                "options": looks,
                "initial_option": look_option(style),
            }),
        ),
    ];
    if let Some(file) = shortcut.ctx.file.as_ref().filter(|_| !uses.is_empty()) {
        let mut options: Vec<Value> = NEW_POSTER_USES
            .into_iter()
            .filter(|u| uses.contains(u))
            .map(use_option)
            .collect();
        let none = json!({"text": plain("Don't use it"), "value": NO_PICTURE});
        options.push(none.clone());
        blocks.push(input(
            USE_BLOCK,
            &format!("The message's picture: {}", file.name),
            "Marquee reads it from Slack with its own access when you make the poster; it is kept privately, never posted back.",
            false,
            json!({
                "type": "radio_buttons",
                "action_id": USE,
                "options": options,
                "initial_option": none,
            }),
        ));
    }
    json!({
        "type": "modal",
        "callback_id": VIEW,
        "title": plain("Make a poster"),
        "submit": plain("Make it"),
        "close": plain("Cancel"),
        "private_metadata": serde_json::to_string(&shortcut.ctx).unwrap_or_default(),
        "blocks": blocks,
    })
}

fn description_input(initial: Option<&str>, hint: &str) -> Value {
    input(
        DESCRIPTION_BLOCK,
        "What the poster shows",
        hint,
        false,
        text_input(
            DESCRIPTION,
            initial,
            MAX_DESCRIPTION_CHARS,
            true,
            "A lighthouse keeper fights a kraken",
        ),
    )
}

fn use_option(usage: PictureUse) -> Value {
    json!({
        "text": plain(usage.label()),
        "value": usage.value(),
        "description": plain(match usage {
            PictureUse::StartFrom => "Keep its subject and composition; the style's look is applied.",
            _ => "New art from your words, in the picture's colours and look.",
        }),
    })
}

/// The **New poster** form `/poster` alone opens: what the poster shows (required: every
/// service that uses a picture draws from words too — Style Guide's and SD3.5
/// image-to-image's `prompt` is required), an optional title and tagline, the style (guessed
/// from the words unless chosen) and an optional picture (Slack's `file_input`, as in Use a
/// picture…) with what to do with it: `uses`, those a model here can make for the poster's
/// model (none: no picture is offered, as 🖼️ is hidden on takes no model here can use one for).
pub fn new_poster_view(ctx: &ThreadContext, uses: &[PictureUse]) -> Value {
    let mut looks = vec![json!({"text": plain("Guess from the words"), "value": GUESS})];
    looks.extend(Style::ALL.iter().map(|s| look_option(*s)));
    let options: Vec<Value> = NEW_POSTER_USES
        .into_iter()
        .filter(|u| uses.contains(u))
        .map(use_option)
        .collect();
    let mut view = json!({
        "type": "modal",
        "callback_id": NEW_VIEW,
        "title": plain("New poster"),
        "submit": plain("Make it"),
        "close": plain("Cancel"),
        "private_metadata": serde_json::to_string(ctx).unwrap_or_default(),
        "blocks": [
            description_input(None, "The scene, the mood, the era: what /poster takes as its description."),
            input(
                TITLE_BLOCK,
                "Title",
                super::modal::TITLE_HINT,
                true,
                text_input(TITLE, None, MAX_TITLE_CHARS, false, "The Keeper"),
            ),
            input(
                TAGLINE_BLOCK,
                "Tagline",
                "One line, set under the title.",
                true,
                text_input(TAGLINE, None, MAX_TAGLINE_CHARS, false, "The sea keeps what it takes"),
            ),
            input(
                STYLE_BLOCK,
                "Style",
                "Left to the words, Marquee guesses it as /poster does.",
                false,
                json!({
                    "type": "static_select",
                    "action_id": STYLE,
                    "placeholder": plain("Choose a style"),
                    "options": looks,
                    "initial_option": looks[0].clone(),
                }),
            ),
        ],
    });
    // The last use offered (In the style of, where it is) is chosen to begin with.
    if let (Some(initial), Some(blocks)) = (options.last().cloned(), view["blocks"].as_array_mut())
    {
        blocks.push(picture_input(
            "A picture to work from",
            "Optional. A PNG, JPEG or WebP up to 10 MB, kept privately for this poster, never posted back.",
            true,
        ));
        blocks.push(input(
            USE_BLOCK,
            "What to do with the picture",
            "Only used when you add a picture.",
            false,
            json!({
                "type": "radio_buttons",
                "action_id": USE,
                "options": options,
                "initial_option": initial,
            }),
        ));
    }
    view
}

/// Where a form's picture comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PictureSource {
    /// Uploaded in the New poster form's `file_input`.
    Upload(UploadedFile),
    /// The picture of the message the shortcut was used on, by the id its signed
    /// `message_action` payload carried.
    Message(MessageFile),
}

/// The picture a form asks the poster to be made from, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PicturePick {
    pub usage: PictureUse,
    pub source: PictureSource,
}

/// The shortcut's modal or the New poster form, submitted.
#[derive(Debug, Clone, PartialEq)]
pub struct FromMessage {
    pub ctx: ThreadContext,
    pub description: String,
    pub title: Option<String>,
    pub tagline: Option<String>,
    pub style: Style,
    pub picture: Option<PicturePick>,
    pub actor: Actor,
}

/// Reads the `view_submission` of the shortcut's modal or the New poster form (already
/// verified; its `view.callback_id` is [`VIEW`] or [`NEW_VIEW`]).
pub fn parse_submission(payload: &str) -> Result<FromMessage, InteractionError> {
    let p: SubmissionPayload =
        serde_json::from_str(payload).map_err(|e| InteractionError::NotJson(e.to_string()))?;
    let view = p.view.ok_or(InteractionError::Missing("view"))?;
    let new_form = view.callback_id.as_deref() == Some(NEW_VIEW);
    let ctx: ThreadContext = serde_json::from_str(
        view.private_metadata
            .as_deref()
            .ok_or(InteractionError::Missing("view.private_metadata"))?,
    )
    .map_err(|_| InteractionError::BadMetadata)?;
    let state = view.state.ok_or(InteractionError::Missing("view.state"))?;
    let description = state
        .text(DESCRIPTION_BLOCK, DESCRIPTION)
        .unwrap_or_default();
    let style = state
        .choice(STYLE_BLOCK, STYLE)
        .ok_or(InteractionError::Missing("the style"))?;
    let style = match style {
        GUESS if new_form => Style::guess(&description),
        named => Style::parse(named).ok_or_else(|| InteractionError::UnknownStyle(named.into()))?,
    };
    // What to do with a picture: one of the uses a new poster may make, or (the shortcut)
    // none. A value the form never offered is refused, never taken for another use.
    let usage = match state.choice(USE_BLOCK, USE) {
        None | Some(NO_PICTURE) => None,
        Some(value) => Some(
            PictureUse::parse(value)
                .filter(|u| NEW_POSTER_USES.contains(u))
                .ok_or_else(|| InteractionError::UnknownAction(value.to_owned()))?,
        ),
    };
    let source = if new_form {
        state
            .first_file(PICTURE_BLOCK, PICTURE)
            .map(|f| {
                serde_json::from_value::<UploadedFile>(f.clone())
                    .map(PictureSource::Upload)
                    .map_err(|_| InteractionError::Missing("the picture's id"))
            })
            .transpose()?
    } else {
        ctx.file.clone().map(PictureSource::Message)
    };
    let picture = match (usage, source) {
        (Some(usage), Some(source)) => Some(PicturePick { usage, source }),
        _ => None,
    };
    let user = p.user.ok_or(InteractionError::Missing("user"))?;
    let team_id = view
        .app_installed_team_id
        .or_else(|| p.team.map(|t| t.id))
        .or_else(|| user.team_id.clone());
    Ok(FromMessage {
        ctx,
        description,
        title: state.text(TITLE_BLOCK, TITLE),
        tagline: state.text(TAGLINE_BLOCK, TAGLINE),
        style,
        picture,
        actor: Actor {
            user_id: user.id,
            user_name: user.username.or(user.name),
            team_id,
            user_team_id: user.team_id,
            enterprise_id: org_install(p.enterprise, p.is_enterprise_install.as_ref()),
        },
    })
}

/// The modal kept open with what was typed, and `text` under the description: the poster
/// could not be queued.
pub fn could_not_start(text: &str) -> Value {
    json!({"response_action": "errors", "errors": { DESCRIPTION_BLOCK: text }})
}

/// What the modal shows once the poster is queued (`response_action: update`).
pub fn accepted_view(in_thread: bool) -> Value {
    let text = if in_thread {
        "🎬 *Generating your poster.* It will appear in the message's thread in a few seconds, with the usual controls."
    } else {
        "🎬 *Generating your poster.* It will appear in the channel in a few seconds, with the usual controls."
    };
    json!({
        "type": "modal",
        "callback_id": VIEW,
        "title": plain("Make a poster"),
        "close": plain("Done"),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}}
        ],
    })
}

impl FromMessage {
    /// The poster asked for, as `/poster` would make it (the workspace's default model and
    /// the one-sheet's shape), or the modal's field errors (`response_action: errors`). A
    /// picture is checked as far as the payload tells (who uploaded it, its size); it is
    /// fetched, checked and stored by the front door, which sets `spec.picture`.
    pub fn spec(&self, policy: &ModelPolicy) -> Result<PosterSpec, Value> {
        let spec = PosterSpec {
            description: self.description.clone(),
            text: PosterText {
                title: self.title.clone(),
                tagline: self.tagline.clone(),
                ..PosterText::default()
            },
            style: self.style,
            aspect: Default::default(),
            seed: None,
            avoid: None,
            model: policy.default,
            typography: None,
            picture: None,
        };
        if let Err(e) = request::check_spec(&spec) {
            let block = match &e {
                RequestError::TooLong { what: "title", .. }
                | RequestError::ControlCharacter { what: "title", .. } => TITLE_BLOCK,
                RequestError::TooLong {
                    what: "tagline", ..
                }
                | RequestError::ControlCharacter {
                    what: "tagline", ..
                } => TAGLINE_BLOCK,
                _ => DESCRIPTION_BLOCK,
            };
            return Err(json!({
                "response_action": "errors",
                "errors": { block: e.to_string() },
            }));
        }
        if let Some(PicturePick {
            source: PictureSource::Upload(file),
            ..
        }) = &self.picture
        {
            // Who may use the file: its uploader (`files[].user`) must be the submitter
            // (`user.id`), as in Use a picture….
            if let Some(problem) = super::modal::upload_problem(file, &self.actor.user_id) {
                return Err(super::modal::picture_refused(&problem));
            }
        }
        Ok(spec)
    }

    /// The block a refusal of this form's picture is shown under: the upload's own field, or
    /// the choice of what to do with the message's picture.
    pub fn picture_block(&self) -> &'static str {
        match &self.picture {
            Some(PicturePick {
                source: PictureSource::Message(_),
                ..
            }) => USE_BLOCK,
            _ => PICTURE_BLOCK,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/../../tests/fixtures/slack/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn a_shortcut_on_a_reply_goes_to_its_thread_and_on_a_root_to_its_own() {
        let reply = parse_shortcut(&fixture("message_action_thread_reply.json")).unwrap();
        assert_eq!(
            reply.ctx.thread_ts.as_deref(),
            Some("1764930000.000100"),
            "the reply's thread_ts"
        );
        assert_eq!(reply.ctx.channel_id, "C07LAUNCH");
        assert_eq!(reply.actor.team_id.as_deref(), Some("T07MARQEE"));
        assert_eq!(reply.actor.user_team_id.as_deref(), Some("T07MARQEE"));
        assert_eq!(reply.actor.enterprise_id, None);
        let mut root: Value =
            serde_json::from_str(&fixture("message_action_thread_reply.json")).unwrap();
        root["message"].as_object_mut().unwrap().remove("thread_ts");
        root["message"]
            .as_object_mut()
            .unwrap()
            .remove("parent_user_id");
        let root = parse_shortcut(&root.to_string()).unwrap();
        assert_eq!(
            root.ctx.thread_ts.as_deref(),
            Some("1764930500.000200"),
            "the message's own ts"
        );
    }

    #[test]
    fn a_slack_connect_guest_and_an_org_install_are_told_apart() {
        let guest = parse_shortcut(&fixture("message_action_slack_connect.json")).unwrap();
        assert_eq!(guest.actor.team_id.as_deref(), Some("T07MARQEE"));
        assert_eq!(guest.actor.user_team_id.as_deref(), Some("T07PARTNER"));
        let requester = guest.actor.requester(&guest.ctx.channel_id);
        assert!(requester.user_team_id != requester.team_id);
        let org = parse_shortcut(&fixture("message_action_org_install.json")).unwrap();
        assert_eq!(org.actor.enterprise_id.as_deref(), Some("E07GRID"));
        assert_eq!(
            org.actor.team_id.as_deref(),
            Some("T07GRIDWS"),
            "team is null: the user's own"
        );
    }

    #[test]
    fn the_modal_is_prefilled_from_the_message_as_slash_poster_would_guess() {
        let shortcut = parse_shortcut(&fixture("message_action_thread_reply.json")).unwrap();
        let view = view(&shortcut, &NEW_POSTER_USES);
        assert_eq!(view["callback_id"], VIEW);
        let description = view["blocks"][1]["element"]["initial_value"]
            .as_str()
            .unwrap();
        assert!(
            !description.contains('<') && !description.contains("&gt;"),
            "{description}"
        );
        assert!(description.contains("haunted lighthouse"), "{description}");
        assert_eq!(
            view["blocks"][3]["element"]["initial_option"]["value"],
            Style::guess(description).name()
        );
        assert_eq!(
            view["blocks"][2]["element"]["initial_value"],
            crate::poster::default_title(description)
        );
        let back: ThreadContext =
            serde_json::from_str(view["private_metadata"].as_str().unwrap()).unwrap();
        assert_eq!(back, shortcut.ctx);
        assert!(view["private_metadata"].as_str().unwrap().len() <= 3000);
    }

    #[test]
    fn slack_markup_reads_as_a_person_sees_it() {
        assert_eq!(
            description_from(
                "<@U07ADA> <!here> a poster of <https://x.io/a|the launch> in <#C1|general> &amp; more"
            ),
            "a poster of the launch in #general & more"
        );
        assert_eq!(description_from("a <b"), "a <b");
        assert_eq!(
            description_from(&"word ".repeat(400)).chars().count(),
            MAX_DESCRIPTION_CHARS
        );
    }

    #[test]
    fn the_submitted_modal_becomes_a_poster_or_field_errors() {
        let sub = parse_submission(&fixture("view_submission_poster_from_message.json")).unwrap();
        assert_eq!(sub.ctx.thread_ts.as_deref(), Some("1764930000.000100"));
        assert_eq!(sub.style, Style::Horror);
        assert_eq!(sub.actor.team_id.as_deref(), Some("T07MARQEE"));
        let policy = ModelPolicy {
            default: crate::model::ModelId::Offline,
            allowed: vec![crate::model::ModelId::Offline],
        };
        let spec = sub.spec(&policy).unwrap();
        assert_eq!(spec.text.title.as_deref(), Some("The Keeper"));
        assert_eq!(spec.model, policy.default);
        let mut long = sub.clone();
        long.title = Some("t".repeat(MAX_TITLE_CHARS + 1));
        let errors = long.spec(&policy).unwrap_err();
        assert!(errors["errors"][TITLE_BLOCK].is_string(), "{errors}");
        let mut empty = sub;
        empty.description.clear();
        assert!(empty.spec(&policy).unwrap_err()["errors"][DESCRIPTION_BLOCK].is_string());
    }

    fn as_json(name: &str) -> Value {
        serde_json::from_str(&fixture(name)).unwrap()
    }

    fn block<'a>(view: &'a Value, id: &str) -> &'a Value {
        view["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["block_id"] == id)
            .unwrap_or_else(|| panic!("no {id} in {view}"))
    }

    fn policy() -> ModelPolicy {
        ModelPolicy {
            default: crate::model::ModelId::Offline,
            allowed: vec![crate::model::ModelId::Offline],
        }
    }

    /// Slack's limits (modal view object, input block, plain-text input, select and radio
    /// options, `file_input`; see `modal`'s sources), for both forms.
    #[test]
    fn the_new_poster_form_and_the_shortcut_with_a_picture_fit_slacks_limits() {
        let ctx = ThreadContext {
            response_url: "https://hooks.slack.com/commands/T1/1/abc".into(),
            channel_id: "C1".into(),
            thread_ts: None,
            file: None,
        };
        let form = new_poster_view(&ctx, &NEW_POSTER_USES);
        super::super::modal::tests::assert_within_slacks_limits(&form);
        assert_eq!(form["callback_id"], NEW_VIEW);
        let picture = block(&form, PICTURE_BLOCK);
        assert_eq!(picture["element"]["type"], "file_input");
        assert_eq!(picture["element"]["max_files"], 1);
        assert_eq!(picture["optional"], true, "the picture is optional");
        assert_eq!(block(&form, DESCRIPTION_BLOCK)["optional"], false);
        let uses: Vec<&str> = block(&form, USE_BLOCK)["element"]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["value"].as_str().unwrap())
            .collect();
        assert_eq!(uses, ["start_from", "style_of"], "no restyle: no take yet");
        assert_eq!(
            block(&form, STYLE_BLOCK)["element"]["initial_option"]["value"],
            GUESS
        );
        let back: ThreadContext =
            serde_json::from_str(form["private_metadata"].as_str().unwrap()).unwrap();
        assert_eq!(back, ctx);
        // Where no model here can use a picture, neither form offers one.
        let bare = new_poster_view(&ctx, &[]);
        super::super::modal::tests::assert_within_slacks_limits(&bare);
        assert!(!view_blocks(&bare).contains(&PICTURE_BLOCK.to_owned()));
        assert!(!view_blocks(&bare).contains(&USE_BLOCK.to_owned()));
        let only_start = new_poster_view(&ctx, &[PictureUse::StartFrom]);
        assert_eq!(
            block(&only_start, USE_BLOCK)["element"]["initial_option"]["value"],
            "start_from"
        );

        let shortcut = parse_shortcut(&fixture("message_action_with_picture.json")).unwrap();
        let view = view(&shortcut, &NEW_POSTER_USES);
        super::super::modal::tests::assert_within_slacks_limits(&view);
        let offer = block(&view, USE_BLOCK);
        assert!(
            offer["label"]["text"]
                .as_str()
                .unwrap()
                .contains("key-art.jpg")
        );
        assert_eq!(offer["element"]["initial_option"]["value"], NO_PICTURE);
        assert!(!view_blocks(&super::view(&shortcut, &[])).contains(&USE_BLOCK.to_owned()));
        // A message without a picture offers none.
        let plain = parse_shortcut(&fixture("message_action_thread_reply.json")).unwrap();
        assert!(
            !view_blocks(&super::view(&plain, &NEW_POSTER_USES)).contains(&USE_BLOCK.to_owned()),
            "no picture, no offer"
        );
    }

    fn view_blocks(view: &Value) -> Vec<String> {
        view["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["block_id"].as_str().map(str::to_owned))
            .collect()
    }

    /// The message's picture is its first hosted image file; a snippet, an external file or a
    /// deleted one is passed over. Only its id and name are kept.
    #[test]
    fn a_shortcut_on_a_message_with_a_picture_offers_that_picture() {
        let used = parse_shortcut(&fixture("message_action_with_picture.json")).unwrap();
        assert_eq!(
            used.ctx.file,
            Some(MessageFile {
                id: "F07KEYART1".into(),
                name: "key-art.jpg".into()
            })
        );
        let mut payload = as_json("message_action_with_picture.json");
        payload["message"]["files"][1]["mode"] = "external".into();
        assert_eq!(parse_shortcut(&payload.to_string()).unwrap().ctx.file, None);
        payload["message"]["files"][1]["mode"] = "tombstone".into();
        assert_eq!(parse_shortcut(&payload.to_string()).unwrap().ctx.file, None);
        payload["message"]["files"] = json!([{"not": "a file"}]);
        assert_eq!(parse_shortcut(&payload.to_string()).unwrap().ctx.file, None);
        // A Slack Connect guest's shortcut on a shared picture: the picture is offered, the
        // guest is still told apart from the installation.
        let mut guest = as_json("message_action_slack_connect.json");
        guest["message"]["files"] =
            as_json("message_action_with_picture.json")["message"]["files"].clone();
        let guest = parse_shortcut(&guest.to_string()).unwrap();
        assert_eq!(
            guest.ctx.file.as_ref().map(|f| f.id.as_str()),
            Some("F07KEYART1")
        );
        assert_eq!(guest.actor.user_team_id.as_deref(), Some("T07PARTNER"));
    }

    /// The shortcut's form submitted with the message's picture: the file is the one the
    /// signed `message_action` named (kept in `private_metadata`); "Don't use it" is none.
    #[test]
    fn the_shortcut_form_submitted_with_the_messages_picture() {
        let used = parse_shortcut(&fixture("message_action_with_picture.json")).unwrap();
        let with = |choice: &str| {
            let mut p = as_json("view_submission_poster_from_message.json");
            p["view"]["private_metadata"] = serde_json::to_string(&used.ctx).unwrap().into();
            p["view"]["state"]["values"][USE_BLOCK] = json!({USE: {
                "type": "radio_buttons",
                "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": choice},
            }});
            parse_submission(&p.to_string())
        };
        let sub = with("start_from").unwrap();
        assert_eq!(
            sub.picture,
            Some(PicturePick {
                usage: PictureUse::StartFrom,
                source: PictureSource::Message(used.ctx.file.clone().unwrap()),
            })
        );
        assert_eq!(sub.picture_block(), USE_BLOCK);
        assert!(sub.spec(&policy()).is_ok());
        assert_eq!(with(NO_PICTURE).unwrap().picture, None);
        assert!(with("restyle_like").is_err(), "not offered, not taken");
        assert!(with("repaint").is_err());
    }

    /// The New poster form of each kind of workspace. Who may use the picture: the submitter
    /// (`user.id`) must have uploaded it (`files[].user`); where the poster is counted is the
    /// installation (`view.app_installed_team_id`, else `team.id`); who acts for the member
    /// check is `user.team_id` and an org-wide install's `enterprise.id`. The Slack Connect and
    /// org-wide payloads are the Use a picture… fixtures' envelopes around this form.
    #[test]
    fn the_new_poster_form_is_read_for_each_kind_of_workspace() {
        let form = as_json("view_submission_new_poster.json");
        let want = [
            // (fixture, submitter, installation, submitter's workspace, org)
            (
                "view_submission_use_picture.json",
                "U07DESIGNR",
                "T07MARQEE",
                "T07MARQEE",
                None,
            ),
            (
                "view_submission_use_picture_slack_connect.json",
                "W07GUESTLI",
                "T07MARQEE",
                "T07PARTNER",
                None,
            ),
            (
                "view_submission_use_picture_org_install.json",
                "W07GRIDART",
                "T07MARQEE",
                "T07GRIDTWO",
                Some("E07MARQEE"),
            ),
        ];
        for (envelope, user, installed, own, org) in want {
            let mut p = as_json(envelope);
            let files = p["view"]["state"]["values"][PICTURE_BLOCK].clone();
            let mut view = form["view"].clone();
            view["state"]["values"][PICTURE_BLOCK] = files;
            view["app_installed_team_id"] = p["view"]["app_installed_team_id"].clone();
            p["view"] = view;
            let sub = parse_submission(&p.to_string()).expect(envelope);
            assert_eq!(sub.actor.user_id, user, "{envelope}");
            assert_eq!(sub.actor.team_id.as_deref(), Some(installed), "{envelope}");
            assert_eq!(sub.actor.user_team_id.as_deref(), Some(own), "{envelope}");
            assert_eq!(sub.actor.enterprise_id.as_deref(), org, "{envelope}");
            assert_eq!(sub.ctx.thread_ts, None, "answered like /poster");
            let Some(PicturePick {
                usage: PictureUse::StyleOf,
                source: PictureSource::Upload(file),
            }) = &sub.picture
            else {
                panic!("{envelope}: {:?}", sub.picture)
            };
            assert_eq!(file.shown_name(), "brand-2026.png");
            assert_eq!(sub.picture_block(), PICTURE_BLOCK);
            let spec = sub.spec(&policy()).expect(envelope);
            assert_eq!(spec.text.title.as_deref(), Some("Grand Crema"));
            assert_eq!(spec.text.tagline, None);
            assert_eq!(
                spec.style,
                Style::guess(&sub.description),
                "guessed as /poster does"
            );
            assert_eq!(spec.picture, None, "set once the picture is stored");
            // Someone else's upload is not the submitter's to give.
            let mut other = sub.clone();
            if let Some(PicturePick {
                source: PictureSource::Upload(file),
                ..
            }) = &mut other.picture
            {
                file.user = Some("U07SOMEONE".into());
            }
            let refused = other.spec(&policy()).unwrap_err();
            assert!(
                refused["errors"][PICTURE_BLOCK]
                    .as_str()
                    .unwrap()
                    .contains("upload in this form yourself"),
                "{refused}"
            );
        }
    }

    #[test]
    fn the_new_poster_form_needs_words_and_refuses_what_it_never_offered() {
        let form = as_json("view_submission_new_poster.json");
        let with = |edit: &dyn Fn(&mut Value)| {
            let mut p = form.clone();
            edit(&mut p);
            parse_submission(&p.to_string())
        };
        let values = "/view/state/values";
        // No picture: a poster from the words alone.
        let sub = with(&|p| {
            *p.pointer_mut(&format!("{values}/{PICTURE_BLOCK}/{PICTURE}/files"))
                .unwrap() = json!([]);
        })
        .unwrap();
        assert_eq!(sub.picture, None);
        // A picture with no words: refused under the description.
        let sub = with(&|p| {
            *p.pointer_mut(&format!("{values}/{DESCRIPTION_BLOCK}/{DESCRIPTION}/value"))
                .unwrap() = Value::Null;
        })
        .unwrap();
        assert!(sub.spec(&policy()).unwrap_err()["errors"][DESCRIPTION_BLOCK].is_string());
        // A tagline too long for /poster is refused under the tagline.
        let sub = with(&|p| {
            *p.pointer_mut(&format!("{values}/{TAGLINE_BLOCK}/{TAGLINE}/value"))
                .unwrap() = "t".repeat(141).into();
        })
        .unwrap();
        assert!(sub.spec(&policy()).unwrap_err()["errors"][TAGLINE_BLOCK].is_string());
        // A named style is taken as named.
        let sub = with(&|p| {
            *p.pointer_mut(&format!(
                "{values}/{STYLE_BLOCK}/{STYLE}/selected_option/value"
            ))
            .unwrap() = "western".into();
        })
        .unwrap();
        assert_eq!(sub.style, Style::Western);
        assert!(
            with(&|p| {
                *p.pointer_mut(&format!("{values}/{USE_BLOCK}/{USE}/selected_option/value"))
                    .unwrap() = "restyle_like".into();
            })
            .is_err()
        );
        // "guess" is the New poster form's only: the shortcut's form names a style.
        let mut shortcut = as_json("view_submission_poster_from_message.json");
        shortcut["view"]["state"]["values"][STYLE_BLOCK][STYLE]["selected_option"]["value"] =
            GUESS.into();
        assert!(parse_submission(&shortcut.to_string()).is_err());
    }
}
