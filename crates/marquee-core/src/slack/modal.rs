//! The review modals: ✏️ Edit words (the poster's title, tagline, billing block, the look of
//! its type and where its title sits), 🖌️ Change a detail (what in the art becomes what),
//! 🖼️ Use a picture… and 📐 Formats… (which formats of the set to make, as checkboxes),
//! the `view_submission` payloads Slack sends when one is submitted, and the field errors
//! Marquee answers inside the modal.
//!
//! A modal is opened with `views.open` and the `trigger_id` of the click on its button, which
//! lives 3 seconds, so the front door opens it; the worker never sees a modal. What the worker
//! needs later (the poster and where to answer) rides in the view's `private_metadata`
//! ([`ModalContext`]), which Slack hands back unchanged on submission.
//!
//! Shapes and limits are Slack's: the modal view object (`docs.slack.dev/reference/views/
//! modal-views`: title, submit and close ≤ 24 characters, ≤ 100 blocks, `callback_id` ≤ 255,
//! `private_metadata` ≤ 3,000), the input block (label and hint ≤ 2,000), the plain-text input
//! (`max_length` 1..=3,000), radio buttons and checkboxes (≤ 10 options each; "Checkboxes
//! element": `initial_options` must match options) and the `view_submission` payload as
//! typed by slackapi/bolt-js `src/types/view/index.ts` (`ViewSubmitAction`, `ViewOutput`,
//! `ViewStateValue`: a plain-text input's `value` may be `null`, a choice's `selected_option`
//! too, checkboxes' `selected_options` is a list of `{text, value}`) and answered with `ViewErrorsResponseAction` (`{"response_action": "errors", "errors":
//! {block_id: message}}`). This module formats and reads; it neither sends nor decides.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::payload::{InteractionError, SubmissionPayload, capitalise, org_install};
use crate::genre::{Placement, Style};
use crate::job::PictureUse;
use crate::poster::{Format, PosterText, Typography};

pub(crate) const EDIT_WORDS: &str = "marquee.edit_words";
pub(crate) const CHANGE_DETAIL: &str = "marquee.change_detail";
pub(crate) const USE_PICTURE: &str = "marquee.use_picture";
/// The title field's hint in every form: what an empty title does differs by model
/// (`PosterSpec::shown_text`), so it says both.
pub(crate) const TITLE_HINT: &str = "Optional. Left empty, an offline poster is titled from its description and AI art is left without words.";
pub(crate) const FORMATS: &str = "marquee.formats";

// Each input's block_id (what errors are keyed by) and action_id (what state.values is keyed
// by under it). Stable: Slack keeps what a user typed across `views.update` only when both stay
// the same (Slack's "Modal views": "Preserving input entry in views").
pub(crate) const TITLE_BLOCK: &str = "marquee.title";
pub(crate) const TAGLINE_BLOCK: &str = "marquee.tagline";
pub(crate) const CREDITS_BLOCK: &str = "marquee.credits";
pub(crate) const LOOK_BLOCK: &str = "marquee.look";
pub(crate) const PLACEMENT_BLOCK: &str = "marquee.placement";
pub(crate) const SEARCH_BLOCK: &str = "marquee.search";
pub(crate) const REPLACE_BLOCK: &str = "marquee.replace";
/// Change a detail's "What changes" choice: the whole thing, or only its colour.
pub(crate) const DETAIL_KIND_BLOCK: &str = "marquee.detail_kind";
/// The `file_input` of Use a picture…: refusals of the upload are keyed by it.
pub const PICTURE_BLOCK: &str = "marquee.picture";
pub(crate) const USE_BLOCK: &str = "marquee.use";
/// The Formats… modal's checkboxes: one per format of the admin's set.
pub(crate) const FORMATS_BLOCK: &str = "marquee.formats";
const FORMATS_ACTION: &str = "formats";
/// Slack's limit on a checkboxes element's options (Block Kit reference, "Checkboxes
/// element": "A maximum of 10 options are allowed").
pub(crate) const MAX_CHECKBOXES: usize = 10;
pub(super) const PICTURE: &str = "picture";
const USE: &str = "use";
const TITLE: &str = "title";
const TAGLINE: &str = "tagline";
const CREDITS: &str = "credits";
const LOOK: &str = "look";
const PLACEMENT: &str = "placement";
const SEARCH: &str = "search";
const REPLACE: &str = "replace";
const DETAIL_KIND: &str = "detail_kind";
/// The values of Change a detail's choice. A submission without the choice (a form opened
/// before it existed) changes the whole thing, as such forms always did.
const KIND_REPLACE: &str = "replace";
const KIND_RECOLOR: &str = "recolor";

/// Marquee's own limits on poster words: `crate::request::check_spec`'s (a test below holds
/// them equal), so a modal never accepts words a `/poster` would refuse.
const MAX_TITLE: usize = crate::request::MAX_TITLE_CHARS;
const MAX_TAGLINE: usize = 140;
const MAX_CREDITS: usize = 400;
/// What to change and what it becomes: a few words each, like `--no`'s list.
const MAX_DETAIL: usize = 300;
/// Slack's limit on `private_metadata`.
#[cfg(test)]
const MAX_PRIVATE_METADATA: usize = 3000;

/// What a modal carries from the click that opened it to its submission, in the view's
/// `private_metadata`: the poster, and where the worker answers — the click's `response_url`
/// (so a submission is answered exactly like a button) and the clicked message's thread.
///
/// The `response_url` is a bearer secret: `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModalContext {
    #[serde(rename = "p")]
    pub poster: Uuid,
    #[serde(rename = "u")]
    pub response_url: String,
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
}

impl std::fmt::Debug for ModalContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModalContext")
            .field("poster", &self.poster)
            .field(
                "response_url",
                &format_args!("<{} chars>", self.response_url.len()),
            )
            .field("channel_id", &self.channel_id)
            .field("thread_ts", &self.thread_ts)
            .finish()
    }
}

impl ModalContext {
    /// Compact JSON for `private_metadata` (about 150 characters for Slack's URLs and ids).
    pub(crate) fn to_metadata(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn from_metadata(metadata: &str) -> Result<ModalContext, InteractionError> {
        serde_json::from_str(metadata).map_err(|_| InteractionError::BadMetadata)
    }
}

pub(super) fn plain(text: &str) -> Value {
    json!({"type": "plain_text", "text": text, "emoji": true})
}

fn modal(
    callback_id: &str,
    title: &str,
    submit: &str,
    ctx: &ModalContext,
    blocks: Vec<Value>,
) -> Value {
    json!({
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title),
        "submit": plain(submit),
        "close": plain("Cancel"),
        "private_metadata": ctx.to_metadata(),
        "blocks": blocks,
    })
}

/// An input block holding `element`.
/// The one-picture `file_input` of the picture forms (Use a picture…, the New poster form):
/// PNG, JPEG or WebP, one file, under [`PICTURE_BLOCK`].
pub(super) fn picture_input(label: &str, hint: &str, optional: bool) -> Value {
    input(
        PICTURE_BLOCK,
        label,
        hint,
        optional,
        json!({
            "type": "file_input",
            "action_id": PICTURE,
            "filetypes": ["png", "jpg", "jpeg", "webp"],
            "max_files": 1,
        }),
    )
}

pub(super) fn input(
    block_id: &str,
    label: &str,
    hint: &str,
    optional: bool,
    element: Value,
) -> Value {
    json!({
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "hint": plain(hint),
        "optional": optional,
        "element": element,
    })
}

/// A plain-text input, pre-filled with `initial` (cut to `max_length` characters, which
/// `check_spec` already guarantees for stored words).
pub(super) fn text_input(
    action_id: &str,
    initial: Option<&str>,
    max_length: usize,
    multiline: bool,
    placeholder: &str,
) -> Value {
    let mut element = json!({
        "type": "plain_text_input",
        "action_id": action_id,
        "max_length": max_length,
        "placeholder": plain(placeholder),
    });
    if multiline {
        element["multiline"] = true.into();
    }
    if let Some(initial) = initial.filter(|t| !t.is_empty()) {
        element["initial_value"] = initial.chars().take(max_length).collect::<String>().into();
    }
    element
}

pub(super) fn look_option(style: Style) -> Value {
    json!({"text": plain(&capitalise(style.name())), "value": style.name()})
}

fn placement_name(placement: Placement) -> &'static str {
    placement.name()
}

fn parse_placement(name: &str) -> Option<Placement> {
    Placement::parse(name)
}

fn placement_option(placement: Placement) -> Value {
    let text = match placement {
        Placement::Top => "At the top",
        Placement::Center => "In the middle",
        Placement::Bottom => "At the bottom",
        Placement::Vertical => "Vertical, at the right (CJK titles)",
    };
    json!({"text": plain(text), "value": placement_name(placement)})
}

/// The ✏️ Edit words modal, pre-filled from the poster.
pub fn edit_words_view(ctx: &ModalContext, text: &PosterText, typography: Typography) -> Value {
    let looks: Vec<Value> = Style::ALL.iter().map(|s| look_option(*s)).collect();
    let places: Vec<Value> = Placement::ALL.into_iter().map(placement_option).collect();
    modal(
        EDIT_WORDS,
        "Edit the words",
        "Set the type",
        ctx,
        vec![
            json!({"type": "context", "elements": [plain(
                "The words are set again over the same art: no new picture, nothing charged."
            )]}),
            input(
                TITLE_BLOCK,
                "Title",
                TITLE_HINT,
                true,
                text_input(TITLE, text.title.as_deref(), MAX_TITLE, false, "The Keeper"),
            ),
            input(
                TAGLINE_BLOCK,
                "Tagline",
                "One line, set under the title.",
                true,
                text_input(
                    TAGLINE,
                    text.tagline.as_deref(),
                    MAX_TAGLINE,
                    false,
                    "The sea keeps what it takes",
                ),
            ),
            input(
                CREDITS_BLOCK,
                "Billing block",
                "The credits at the foot of the poster. Line breaks are kept.",
                true,
                text_input(
                    CREDITS,
                    text.credits.as_deref(),
                    MAX_CREDITS,
                    true,
                    "Directed by …",
                ),
            ),
            input(
                LOOK_BLOCK,
                "Look of the type",
                "Typefaces and colours of one of Marquee's styles; the art stays as it is.",
                false,
                json!({
                    "type": "static_select",
                    "action_id": LOOK,
                    "placeholder": plain("Choose a look"),
                    "options": looks,
                    "initial_option": look_option(typography.look),
                }),
            ),
            input(
                PLACEMENT_BLOCK,
                "Where the title sits",
                "Marquee keeps the type clear of the art's busiest part wherever it sits.",
                false,
                json!({
                    "type": "radio_buttons",
                    "action_id": PLACEMENT,
                    "options": places,
                    "initial_option": placement_option(typography.placement),
                }),
            ),
        ],
    )
}

/// The 🖌️ Change a detail modal for a poster of `description`.
pub fn change_detail_view(ctx: &ModalContext, description: &str) -> Value {
    let about: String = description.chars().take(280).collect();
    let about = if about.len() < description.len() {
        format!("This poster: {about}…")
    } else {
        format!("This poster: {about}")
    };
    modal(
        CHANGE_DETAIL,
        "Change a detail",
        "Change it",
        ctx,
        vec![
            json!({"type": "context", "elements": [plain(&about)]}),
            input(
                SEARCH_BLOCK,
                "What to change",
                "Something in the picture, in a few words.",
                false,
                text_input(SEARCH, None, MAX_DETAIL, false, "the kraken"),
            ),
            input(
                REPLACE_BLOCK,
                "Into what",
                "What it becomes. The rest of the poster stays as it is.",
                false,
                text_input(REPLACE, None, MAX_DETAIL, false, "a dragon"),
            ),
            input(
                DETAIL_KIND_BLOCK,
                "What changes",
                "Only its colour keeps its shape and everything around it exactly as it is.",
                false,
                json!({
                    "type": "radio_buttons",
                    "action_id": DETAIL_KIND,
                    "options": [detail_kind_option(false), detail_kind_option(true)],
                    "initial_option": detail_kind_option(false),
                }),
            ),
        ],
    )
}

fn detail_kind_option(colour_only: bool) -> Value {
    if colour_only {
        json!({"text": plain("Only its colour (“red”, “deep blue”)"), "value": KIND_RECOLOR})
    } else {
        json!({"text": plain("The whole thing"), "value": KIND_REPLACE})
    }
}

/// The 🖼️ Use a picture… modal: one picture (Slack's `file_input`, `max_files: 1`; Block Kit
/// reference, "File input element": modals only, inside an input block, needs `files:read`, files
/// up to 10 MB; `filetypes` "is provided for convenience only", so Marquee sniffs the bytes
/// itself) and what to do with it.
pub fn use_picture_view(ctx: &ModalContext) -> Value {
    let options: Vec<Value> = PictureUse::ALL
        .into_iter()
        .map(|u| {
            json!({
                "text": plain(u.label()),
                "value": u.value(),
                "description": plain(match u {
                    PictureUse::StartFrom => "Keep its subject and composition; the poster's look is applied.",
                    PictureUse::StyleOf => "New art from this poster's words, in the picture's colours and look.",
                    PictureUse::RestyleLike => "This take's art, repainted like the picture; the layout stays.",
                }),
            })
        })
        .collect();
    modal(
        USE_PICTURE,
        "Use a picture",
        "Make the take",
        ctx,
        vec![
            picture_input(
                "Your picture",
                "A PNG, JPEG or WebP up to 10 MB. It is kept privately for this poster's takes, never posted back.",
                false,
            ),
            input(
                USE_BLOCK,
                "What to do with it",
                "Each makes one new take, billed like Change a detail.",
                false,
                json!({
                    "type": "radio_buttons",
                    "action_id": USE,
                    "options": options,
                    "initial_option": options[1].clone(),
                }),
            ),
        ],
    )
}

/// One format as a checkbox: its name and aspect, and its pixel size beneath.
fn format_option(format: Format) -> Value {
    let (w, h) = format.size();
    json!({
        "text": plain(&format!("{} {}", capitalise(format.name()), format.ratio())),
        "value": format.name(),
        "description": plain(&format!("{w} × {h} px")),
    })
}

/// The 📐 Formats… modal: the admin's set of formats (`formats`, at most
/// [`MAX_CHECKBOXES`]) as checkboxes, every one ticked. The block is optional to Slack, so a
/// form with none ticked reaches Marquee, which answers with a field error under it
/// ([`validate`]) rather than Slack's generic "required".
pub fn formats_view(ctx: &ModalContext, formats: &[Format]) -> Value {
    let options: Vec<Value> = formats
        .iter()
        .take(MAX_CHECKBOXES)
        .map(|f| format_option(*f))
        .collect();
    modal(
        FORMATS,
        "Formats",
        "Make formats",
        ctx,
        vec![
            json!({"type": "context", "elements": [plain(
                "Each format is made once for this take, with its words set afresh; formats made before are shared again, not made again."
            )]}),
            input(
                FORMATS_BLOCK,
                "Which formats",
                "They arrive as one message in the poster's thread, with a contact sheet.",
                true,
                json!({
                    "type": "checkboxes",
                    "action_id": FORMATS_ACTION,
                    "options": options,
                    "initial_options": options,
                }),
            ),
        ],
    )
}

/// A file a person uploaded in a `file_input`, as the `view_submission` carries it under
/// `state.values.{block}.{action}.files[]` (bolt-js `ViewStateValue.files: UploadedFile[]`;
/// `UploadedFile`: `id`, `name`, `mimetype`, `filetype`, `size`, `url_private`,
/// `url_private_download`, `user`, `user_team`, …). Only what Marquee reads; `mimetype` and
/// `filetype` are Slack's guesses from the name and are never trusted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UploadedFile {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub url_private_download: Option<String>,
    #[serde(default)]
    pub url_private: Option<String>,
    /// Who uploaded it: must be the submitter.
    #[serde(default)]
    pub user: Option<String>,
}

impl UploadedFile {
    /// The URL to download from: `url_private_download`, else `url_private`.
    pub fn url(&self) -> Option<&str> {
        self.url_private_download
            .as_deref()
            .or(self.url_private.as_deref())
    }

    /// The name shown in the take's lineage: Slack's name, without control characters and at
    /// most 80 characters.
    pub fn shown_name(&self) -> String {
        let name: String = self
            .name
            .as_deref()
            .unwrap_or("your picture")
            .chars()
            .filter(|c| !c.is_control())
            .take(80)
            .collect();
        if name.trim().is_empty() {
            "your picture".into()
        } else {
            name
        }
    }
}

/// What is wrong with `file`, uploaded in a `file_input` and submitted by `submitter`, as far
/// as the payload tells: no URL, too big, or not the submitter's. Who may use the file: the
/// submitter (`user.id`) must be who uploaded it (`files[].user`): a file_input only holds
/// files the submitter uploaded in this form, so anything else is not theirs to give.
pub(crate) fn upload_problem(file: &UploadedFile, submitter: &str) -> Option<String> {
    if file.url().is_none() {
        Some("Slack didn't send that file. Please upload it again.".into())
    } else if file.user.as_deref() != Some(submitter) {
        Some("Marquee can only use a picture you upload in this form yourself.".into())
    } else if file
        .size
        .is_some_and(|n| n > crate::model::reference::MAX_UPLOAD_BYTES as u64)
    {
        Some("That file is over 10 MB; please pick a smaller one.".into())
    } else {
        None
    }
}

/// The answer that keeps the Use a picture… modal open with `message` under the picture: a
/// refused upload (nothing stored, nothing billed).
pub fn picture_refused(message: &str) -> Value {
    json!({"response_action": "errors", "errors": {PICTURE_BLOCK: message}})
}

/// What a submitted modal asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Form {
    /// Set these words, in this type, over the same art.
    EditWords {
        ctx: ModalContext,
        text: PosterText,
        typography: Typography,
    },
    /// Replace `search` in the art with `replace` or, when `colour_only`, recolour it in the
    /// colour `replace` names.
    ChangeDetail {
        ctx: ModalContext,
        search: String,
        replace: String,
        colour_only: bool,
    },
    /// Make a take with an uploaded picture (`None`: no file came with the submission).
    UsePicture {
        ctx: ModalContext,
        usage: PictureUse,
        file: Option<UploadedFile>,
    },
    /// Make (once) and share the take at these formats, in the order offered; empty when none
    /// was ticked.
    Formats {
        ctx: ModalContext,
        formats: Vec<Format>,
    },
}

/// A submitted review modal, with who submitted it.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub form: Form,
    pub(crate) user_id: String,
    pub(crate) user_name: Option<String>,
    /// The workspace the app is installed in (`view.app_installed_team_id`, else `team.id`):
    /// where things are stored, never who may act.
    pub team_id: Option<String>,
    /// The submitter's own workspace (`user.team_id`).
    pub(crate) user_team_id: Option<String>,
    /// The organisation of an org-wide install (`enterprise.id` with `is_enterprise_install`).
    pub(crate) enterprise_id: Option<String>,
}

impl Submission {
    /// Who submitted, as the worker's job carries them (see [`super::interaction::Click::requester`]).
    pub fn requester(&self) -> crate::job::Requester {
        crate::job::Requester {
            user_id: self.user_id.clone(),
            user_name: self.user_name.clone(),
            team_id: self.team_id.clone(),
            channel_id: self.context().channel_id.clone(),
            user_team_id: self.user_team_id.clone(),
            enterprise_id: self.enterprise_id.clone(),
        }
    }

    pub fn context(&self) -> &ModalContext {
        match &self.form {
            Form::EditWords { ctx, .. }
            | Form::ChangeDetail { ctx, .. }
            | Form::UsePicture { ctx, .. }
            | Form::Formats { ctx, .. } => ctx,
        }
    }
}

/// Reads a `view_submission` payload (the `payload` field of an interaction POST, already
/// verified) of one of Marquee's modals.
pub(crate) fn parse_submission(payload: &str) -> Result<Submission, InteractionError> {
    let p: SubmissionPayload =
        serde_json::from_str(payload).map_err(|e| InteractionError::NotJson(e.to_string()))?;
    if p.kind != "view_submission" {
        return Err(InteractionError::Unsupported(p.kind));
    }
    let view = p.view.ok_or(InteractionError::Missing("view"))?;
    let callback_id = view
        .callback_id
        .ok_or(InteractionError::Missing("view.callback_id"))?;
    if ![EDIT_WORDS, CHANGE_DETAIL, USE_PICTURE, FORMATS].contains(&callback_id.as_str()) {
        return Err(InteractionError::UnknownView(callback_id));
    }
    let ctx = ModalContext::from_metadata(
        view.private_metadata
            .as_deref()
            .ok_or(InteractionError::Missing("view.private_metadata"))?,
    )?;
    let state = view.state.ok_or(InteractionError::Missing("view.state"))?;
    let form = if callback_id == EDIT_WORDS {
        let look = state
            .choice(LOOK_BLOCK, LOOK)
            .ok_or(InteractionError::Missing("the look of the type"))?;
        let look =
            Style::parse(look).ok_or_else(|| InteractionError::UnknownStyle(look.to_owned()))?;
        let placement = state
            .choice(PLACEMENT_BLOCK, PLACEMENT)
            .ok_or(InteractionError::Missing("where the title sits"))?;
        let placement = parse_placement(placement)
            .ok_or_else(|| InteractionError::UnknownPlacement(placement.to_owned()))?;
        Form::EditWords {
            ctx,
            text: PosterText {
                title: state.text(TITLE_BLOCK, TITLE),
                tagline: state.text(TAGLINE_BLOCK, TAGLINE),
                credits: state.text(CREDITS_BLOCK, CREDITS),
            },
            typography: Typography {
                look,
                placement,
                ink: None,
            },
        }
    } else if callback_id == USE_PICTURE {
        let usage = state
            .choice(USE_BLOCK, USE)
            .ok_or(InteractionError::Missing("what to do with the picture"))?;
        let usage = PictureUse::parse(usage)
            .ok_or_else(|| InteractionError::UnknownAction(usage.to_owned()))?;
        let file = state
            .first_file(PICTURE_BLOCK, PICTURE)
            .and_then(|f| serde_json::from_value::<UploadedFile>(f.clone()).ok());
        Form::UsePicture { ctx, usage, file }
    } else if callback_id == FORMATS {
        // Checkboxes come back as `selected_options: [{text, value}]` (bolt-js
        // `ViewStateValue.selected_options: ViewStateSelectedOption[]`), empty when none is
        // ticked; only the `value`s (format names) are read.
        let ticked = state
            .value(FORMATS_BLOCK, FORMATS_ACTION)
            .and_then(|v| v.get("selected_options"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut formats = Vec::new();
        for option in ticked {
            let name = option
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let format = Format::parse(name)
                .filter(|f| f.name() == name)
                .ok_or_else(|| InteractionError::UnknownAction(name.to_owned()))?;
            if !formats.contains(&format) {
                formats.push(format);
            }
        }
        formats.sort_by_key(|f| Format::ALL.iter().position(|g| g == f));
        Form::Formats { ctx, formats }
    } else {
        let colour_only = match state.choice(DETAIL_KIND_BLOCK, DETAIL_KIND) {
            None | Some(KIND_REPLACE) => false,
            Some(KIND_RECOLOR) => true,
            Some(other) => return Err(InteractionError::Unsupported(other.to_owned())),
        };
        Form::ChangeDetail {
            ctx,
            search: state.text(SEARCH_BLOCK, SEARCH).unwrap_or_default(),
            replace: state.text(REPLACE_BLOCK, REPLACE).unwrap_or_default(),
            colour_only,
        }
    };
    let user = p.user.ok_or(InteractionError::Missing("user"))?;
    // On an org-wide install `team` is null and the submitter's own workspace is the only one.
    let team_id = view
        .app_installed_team_id
        .or_else(|| p.team.map(|t| t.id))
        .or_else(|| user.team_id.clone());
    Ok(Submission {
        form,
        user_id: user.id,
        user_name: user.username.or(user.name),
        team_id,
        user_team_id: user.team_id,
        enterprise_id: org_install(p.enterprise, p.is_enterprise_install.as_ref()),
    })
}

/// Checks a submission as a person would want it checked, before anything is queued. `Err` is
/// the whole HTTP answer to the `view_submission`: `{"response_action": "errors", "errors":
/// {block_id: message}}`, which Slack shows under each field, keeping the modal open.
pub fn validate(sub: &Submission) -> Result<(), Value> {
    let mut errors = Map::new();
    let mut flag = |block: &str, message: String| {
        errors
            .entry(block.to_owned())
            .or_insert(Value::String(message));
    };
    match &sub.form {
        Form::EditWords {
            text, typography, ..
        } => {
            let fields = [
                (TITLE_BLOCK, "the title", &text.title, MAX_TITLE),
                (TAGLINE_BLOCK, "the tagline", &text.tagline, MAX_TAGLINE),
                (
                    CREDITS_BLOCK,
                    "the billing block",
                    &text.credits,
                    MAX_CREDITS,
                ),
            ];
            for (block, what, value, max) in fields {
                let Some(value) = value else { continue };
                if let Some(problem) = too_long(what, value, max).or_else(|| control(value)) {
                    flag(block, problem);
                    continue;
                }
                // Each field is set in its own face, so each is asked about on its own.
                let alone = match block {
                    TITLE_BLOCK => PosterText {
                        title: Some(value.clone()),
                        ..PosterText::default()
                    },
                    TAGLINE_BLOCK => PosterText {
                        tagline: Some(value.clone()),
                        ..PosterText::default()
                    },
                    _ => PosterText {
                        credits: Some(value.clone()),
                        ..PosterText::default()
                    },
                };
                let missing = crate::poster::missing_glyphs(&alone, *typography);
                if !missing.is_empty() {
                    let shown: Vec<String> = missing.iter().take(12).cloned().collect();
                    let more = if missing.len() > 12 { " and more" } else { "" };
                    let advice = if block == TITLE_BLOCK {
                        "Use other characters, or try another look."
                    } else {
                        "Use other characters."
                    };
                    flag(
                        block,
                        format!(
                            "Marquee's poster type can't draw {}{more}, so {} would be left out. {advice}",
                            shown.join(" "),
                            if missing.len() == 1 { "it" } else { "they" },
                        ),
                    );
                }
            }
        }
        Form::ChangeDetail {
            search,
            replace,
            colour_only,
            ..
        } => {
            if search.is_empty() {
                flag(
                    SEARCH_BLOCK,
                    "Say what in the picture to change, e.g. “the kraken”.".into(),
                );
            }
            if replace.is_empty() {
                let example = if *colour_only {
                    "Say its new colour, e.g. “red”."
                } else {
                    "Say what it should become, e.g. “a dragon”."
                };
                flag(REPLACE_BLOCK, example.into());
            }
            for (block, what, value) in [
                (SEARCH_BLOCK, "what to change", search),
                (REPLACE_BLOCK, "what it becomes", replace),
            ] {
                if let Some(problem) = too_long(what, value, MAX_DETAIL).or_else(|| control(value))
                {
                    flag(block, problem);
                }
            }
            if !search.is_empty() && search.to_lowercase() == replace.to_lowercase() {
                flag(
                    REPLACE_BLOCK,
                    "That's what is there already: say what it should become instead.".into(),
                );
            }
        }
        Form::UsePicture { file, .. } => match file {
            None => flag(PICTURE_BLOCK, "Pick a picture to use.".into()),
            Some(file) => {
                if let Some(problem) = upload_problem(file, &sub.user_id) {
                    flag(PICTURE_BLOCK, problem);
                }
            }
        },
        Form::Formats { formats, .. } => {
            if formats.is_empty() {
                flag(FORMATS_BLOCK, "Tick at least one format to make.".into());
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(json!({"response_action": "errors", "errors": errors}))
    }
}

/// Checks the description a Change a detail would leave the poster with (`changed`, as the
/// worker will write it) against the description's limit, so a change that would grow it past
/// the limit is refused inside the modal, under "Into what", before anything is queued or
/// charged. Repeated changes otherwise grow the description by up to a field's length each.
pub fn validate_changed_description(changed: &str) -> Result<(), Value> {
    let max = crate::request::MAX_DESCRIPTION_CHARS;
    let len = changed.chars().count();
    if len <= max {
        return Ok(());
    }
    Err(json!({"response_action": "errors", "errors": {
        REPLACE_BLOCK: format!(
            "That would make this poster's description {len} characters; it can have at most {max}. Say what it becomes in fewer words."
        ),
    }}))
}

/// The answer to a good submission whose job could not be queued: the modal stays open with
/// what was typed, and says so under its first field.
pub fn could_not_start(sub: &Submission) -> Value {
    let first = match sub.form {
        Form::EditWords { .. } => TITLE_BLOCK,
        Form::ChangeDetail { .. } => SEARCH_BLOCK,
        Form::UsePicture { .. } => PICTURE_BLOCK,
        Form::Formats { .. } => FORMATS_BLOCK,
    };
    json!({"response_action": "errors", "errors": {
        first: "Marquee couldn't start that just now. Nothing was changed or charged; please submit again in a moment.",
    }})
}

fn too_long(what: &str, value: &str, max: usize) -> Option<String> {
    let len = value.chars().count();
    (len > max).then(|| format!("That's {len} characters; {what} can have at most {max}."))
}

/// Control characters other than tab and line breaks, as `check_spec` refuses them.
fn control(value: &str) -> Option<String> {
    crate::request::check_controls("text", value).err().map(|e| match e {
        crate::request::RequestError::ControlCharacter { code, .. } => format!(
            "There's an invisible control character (U+{code:04X}) in this; please type it again without it."
        ),
        other => other.to_string(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::job::PosterSpec;
    use crate::model::{Aspect, ModelId};

    const EDIT_WORDS_FIXTURE: &str =
        include_str!("../../../../tests/fixtures/slack/view_submission_edit_words.json");
    const CHANGE_DETAIL_FIXTURE: &str = include_str!(
        "../../../../tests/fixtures/slack/view_submission_change_detail_org_install.json"
    );
    const SLACK_CONNECT_FIXTURE: &str =
        include_str!("../../../../tests/fixtures/slack/view_submission_slack_connect.json");
    const FIXTURE_POSTER: &str = "3f2b8c4e-9d1a-4e6b-8f7c-2a5d9e1b4c60";

    fn ctx() -> ModalContext {
        ModalContext {
            poster: Uuid::parse_str(FIXTURE_POSTER).unwrap(),
            response_url:
                "https://hooks.slack.com/actions/T07MARQEE/8012345678901/yXb3kL9qR2mN4pT6vW8zA1cE"
                    .into(),
            channel_id: Some("C07POSTERS".into()),
            thread_ts: Some("1764633600.000200".into()),
        }
    }

    fn text() -> PosterText {
        PosterText {
            title: Some("Too Many Cooks".into()),
            tagline: Some("Two chefs. One kitchen.".into()),
            credits: Some("Directed by Ada Park\nMusic by Grace H.".into()),
        }
    }

    const TYPE: Typography = Typography {
        look: Style::Comedy,
        placement: Placement::Top,
        ink: None,
    };

    fn chars(v: &Value) -> usize {
        v.as_str().unwrap().chars().count()
    }

    /// Slack's limits on a modal view ("Modal views", "Input block", "Plain-text input
    /// element", "Radio button group element", "Select menu element", "Option object").
    /// Slack's limits on a modal and its inputs (the module's sources).
    pub(crate) fn assert_within_slacks_limits(view: &Value) {
        assert_eq!(view["type"], "modal");
        for key in ["title", "submit", "close"] {
            assert_eq!(view[key]["type"], "plain_text", "{key}");
            assert!(chars(&view[key]["text"]) <= 24, "{key}: {}", view[key]);
        }
        assert!(chars(&view["callback_id"]) <= 255);
        assert!(chars(&view["private_metadata"]) <= MAX_PRIVATE_METADATA);
        let blocks = view["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 100);
        let mut ids = std::collections::HashSet::new();
        for block in blocks.iter().filter(|b| b["type"] == "input") {
            assert!(
                ids.insert(block["block_id"].as_str().unwrap()),
                "unique block_id"
            );
            assert!(chars(&block["label"]["text"]) <= 2000);
            assert!(chars(&block["hint"]["text"]) <= 2000);
            let e = &block["element"];
            assert!(chars(&e["action_id"]) <= 255);
            match e["type"].as_str().unwrap() {
                "plain_text_input" => {
                    let max = e["max_length"].as_u64().unwrap() as usize;
                    assert!((1..=3000).contains(&max));
                    if let Some(initial) = e.get("initial_value") {
                        assert!(chars(initial) <= max);
                    }
                    assert!(chars(&e["placeholder"]["text"]) <= 150);
                }
                kind @ ("static_select" | "radio_buttons") => {
                    let options = e["options"].as_array().unwrap();
                    assert!(options.len() <= if kind == "radio_buttons" { 10 } else { 100 });
                    for o in options {
                        assert!(chars(&o["text"]["text"]) <= 75);
                        // An option's description: plain text, at most 75 characters.
                        if let Some(d) = o.get("description") {
                            assert!(chars(&d["text"]) <= 75, "{d}");
                        }
                        assert!(chars(&o["value"]) <= 150);
                    }
                    assert!(
                        options.contains(&e["initial_option"]),
                        "the initial option is one of the options"
                    );
                }
                // Block Kit reference, "Checkboxes element": at most 10 options;
                // `initial_options` "exactly matches one or more of the options"; an option's
                // text and description ≤ 75 characters, its value ≤ 150 ("Option object").
                "checkboxes" => {
                    let options = e["options"].as_array().unwrap();
                    assert!((1..=MAX_CHECKBOXES).contains(&options.len()));
                    for o in options {
                        assert!(chars(&o["text"]["text"]) <= 75);
                        assert!(chars(&o["value"]) <= 150);
                        if o.get("description").is_some() {
                            assert!(chars(&o["description"]["text"]) <= 75);
                        }
                    }
                    for initial in e["initial_options"].as_array().into_iter().flatten() {
                        assert!(options.contains(initial), "{initial}");
                    }
                }
                // Block Kit reference, "File input element": `max_files` 1..=10, and the
                // element needs the files:read scope the manifest asks for.
                "file_input" => {
                    let max = e["max_files"].as_u64().unwrap_or(10);
                    assert!((1..=10).contains(&max));
                }
                other => panic!("unexpected element {other}"),
            }
        }
    }

    #[test]
    fn the_edit_words_modal_is_prefilled_within_slacks_limits_and_marquees() {
        let view = edit_words_view(&ctx(), &text(), TYPE);
        assert_within_slacks_limits(&view);
        assert_eq!(view["callback_id"], EDIT_WORDS);
        let input = |block: &str| -> Value {
            view["blocks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["block_id"] == block)
                .unwrap_or_else(|| panic!("no {block}"))
                .clone()
        };
        assert_eq!(
            input(TITLE_BLOCK)["element"]["initial_value"],
            "Too Many Cooks"
        );
        assert_eq!(input(CREDITS_BLOCK)["element"]["multiline"], true);
        assert_eq!(
            input(CREDITS_BLOCK)["element"]["initial_value"],
            "Directed by Ada Park\nMusic by Grace H."
        );
        for block in [TITLE_BLOCK, TAGLINE_BLOCK, CREDITS_BLOCK] {
            assert_eq!(input(block)["optional"], true, "{block} may be emptied");
        }
        assert_eq!(
            input(LOOK_BLOCK)["element"]["initial_option"]["value"],
            "comedy"
        );
        assert_eq!(
            input(LOOK_BLOCK)["element"]["options"]
                .as_array()
                .unwrap()
                .len(),
            Style::ALL.len()
        );
        assert_eq!(
            input(PLACEMENT_BLOCK)["element"]["initial_option"]["value"],
            "top"
        );

        // No words at all: nothing is pre-filled.
        let bare = edit_words_view(&ctx(), &PosterText::default(), TYPE);
        assert_within_slacks_limits(&bare);
        assert!(bare.to_string().matches("initial_value").count() == 0);
    }

    /// (block_id, element type, action_id) of every input of `view`.
    fn inputs(view: &Value) -> Vec<(String, String, String)> {
        view["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "input")
            .map(|b| {
                let s = |v: &Value| v.as_str().unwrap().to_owned();
                (
                    s(&b["block_id"]),
                    s(&b["element"]["type"]),
                    s(&b["element"]["action_id"]),
                )
            })
            .collect()
    }

    #[test]
    fn the_fixtures_hold_these_modals_inputs() {
        // Slack echoes the app's own inputs in a submission; the fixtures must still name the
        // inputs these modals have, or the parsing tests above prove nothing.
        for (fixture, view) in [
            (EDIT_WORDS_FIXTURE, edit_words_view(&ctx(), &text(), TYPE)),
            (CHANGE_DETAIL_FIXTURE, change_detail_view(&ctx(), "a cat")),
        ] {
            let fixture: Value = serde_json::from_str(fixture).unwrap();
            assert_eq!(inputs(&fixture["view"]), inputs(&view));
            assert_eq!(fixture["view"]["callback_id"], view["callback_id"]);
            for (block, kind, action) in inputs(&view) {
                let state = &fixture["view"]["state"]["values"][&block][&action];
                assert_eq!(state["type"], kind.as_str(), "{block}");
            }
        }
    }

    #[test]
    fn marquees_limits_are_check_specs() {
        let spec = |title: &str, tagline: &str, credits: &str| PosterSpec {
            picture: None,
            description: "a cat".into(),
            text: PosterText {
                title: Some(title.into()),
                tagline: Some(tagline.into()),
                credits: Some(credits.into()),
            },
            style: Style::Noir,
            aspect: Aspect::Portrait2x3,
            seed: None,
            avoid: None,
            model: ModelId::Offline,
            typography: None,
        };
        let (t, g, c) = (
            "t".repeat(MAX_TITLE),
            "g".repeat(MAX_TAGLINE),
            "c".repeat(MAX_CREDITS),
        );
        assert!(crate::request::check_spec(&spec(&t, &g, &c)).is_ok());
        for (t2, g2, c2) in [
            (format!("{t}t"), g.clone(), c.clone()),
            (t.clone(), format!("{g}g"), c.clone()),
            (t.clone(), g.clone(), format!("{c}c")),
        ] {
            assert!(crate::request::check_spec(&spec(&t2, &g2, &c2)).is_err());
        }
    }

    #[test]
    fn the_change_detail_modal_is_within_slacks_limits() {
        let view = change_detail_view(&ctx(), &"a lighthouse keeper fights a kraken ".repeat(100));
        assert_within_slacks_limits(&view);
        assert_eq!(view["callback_id"], CHANGE_DETAIL);
        let about = view["blocks"][0]["elements"][0]["text"].as_str().unwrap();
        assert!(
            about.ends_with('…') && about.chars().count() < 300,
            "{about}"
        );
        let blocks = view["blocks"].as_array().unwrap();
        assert!(
            blocks
                .iter()
                .filter(|b| b["type"] == "input")
                .all(|b| b["optional"] == false)
        );
    }

    #[test]
    fn a_clicks_context_is_its_poster_and_where_to_answer() {
        let click = super::super::interaction::parse(include_str!(
            "../../../../tests/fixtures/slack/block_actions_static_select.json"
        ))
        .unwrap();
        let c = click.modal_context();
        assert_eq!(c.poster, click.source);
        assert_eq!(c.response_url, click.response_url);
        assert_eq!(c.channel_id, click.channel_id);
        assert_eq!(c.thread_ts.as_deref(), Some("1764633600.000200"));
    }

    #[test]
    fn the_context_rides_compactly_and_its_response_url_stays_out_of_debug() {
        let c = ctx();
        let metadata = c.to_metadata();
        assert!(metadata.len() < 250, "{metadata}");
        assert_eq!(ModalContext::from_metadata(&metadata).unwrap(), c);
        let bare = ModalContext {
            channel_id: None,
            thread_ts: None,
            ..c.clone()
        };
        assert_eq!(
            ModalContext::from_metadata(&bare.to_metadata()).unwrap(),
            bare
        );
        assert!(!bare.to_metadata().contains("\"c\""));
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hooks.slack.com") && !shown.contains("yXb3kL9"),
            "{shown}"
        );
        assert!(shown.contains(FIXTURE_POSTER));
        assert_eq!(
            ModalContext::from_metadata("{\"x\":1}"),
            Err(InteractionError::BadMetadata)
        );
    }

    #[test]
    fn slacks_edit_words_submission_is_read() {
        let sub = parse_submission(EDIT_WORDS_FIXTURE).unwrap();
        assert_eq!(sub.user_id, "U07ADAPARK");
        assert_eq!(sub.user_name.as_deref(), Some("ada.park"));
        assert_eq!(sub.team_id.as_deref(), Some("T07MARQEE"));
        assert_eq!(sub.context(), &ctx());
        let Form::EditWords {
            text, typography, ..
        } = &sub.form
        else {
            panic!("{sub:?}")
        };
        assert_eq!(text.title.as_deref(), Some("Too Many Cooks, Again"));
        assert_eq!(text.tagline, None, "a cleared input is null");
        assert_eq!(
            text.credits.as_deref(),
            Some("Directed by Ada Park\nMusic by Grace H.")
        );
        assert_eq!(
            *typography,
            Typography {
                look: Style::Noir,
                placement: Placement::Bottom,
                ink: None,
            }
        );
        assert_eq!(validate(&sub), Ok(()));
        // The same payload through the interaction router.
        assert_eq!(
            super::super::interaction::parse_interaction(EDIT_WORDS_FIXTURE),
            Ok(super::super::interaction::Interaction::Submission(sub))
        );
    }

    #[test]
    fn slacks_change_detail_submission_from_an_org_install_is_read() {
        let sub = parse_submission(CHANGE_DETAIL_FIXTURE).unwrap();
        assert_eq!(sub.user_id, "W07GRACEH");
        assert_eq!(
            sub.team_id.as_deref(),
            Some("T07MARQEE"),
            "team is null: the installing workspace is view.app_installed_team_id"
        );
        assert_eq!(sub.user_team_id.as_deref(), Some("T07STUDIO"));
        assert_eq!(
            sub.enterprise_id.as_deref(),
            Some("E07MARQEE"),
            "an org-wide install: the org is the installation"
        );
        assert_eq!(
            sub.form,
            Form::ChangeDetail {
                ctx: ctx(),
                search: "the copper pans".into(),
                replace: "a wall of cast-iron skillets".into(),
                colour_only: false,
            }
        );
        assert_eq!(validate(&sub), Ok(()));
    }

    /// The colour-only choice arrives as a radio button's `selected_option` in `state.values`
    /// (bolt-js `ViewStateValue`); an unknown value is refused, not taken for a replacement.
    #[test]
    fn the_colour_only_choice_of_change_a_detail_is_read() {
        let with_choice = |value: &str| {
            let mut payload: Value = serde_json::from_str(CHANGE_DETAIL_FIXTURE).unwrap();
            payload["view"]["state"]["values"][DETAIL_KIND_BLOCK] = json!({
                DETAIL_KIND: {
                    "type": "radio_buttons",
                    "selected_option": {
                        "text": {"type": "plain_text", "text": "x", "emoji": true},
                        "value": value,
                    },
                },
            });
            parse_submission(&payload.to_string())
        };
        let sub = with_choice(KIND_RECOLOR).unwrap();
        assert!(matches!(
            sub.form,
            Form::ChangeDetail {
                colour_only: true,
                ..
            }
        ));
        let sub = with_choice(KIND_REPLACE).unwrap();
        assert!(matches!(
            sub.form,
            Form::ChangeDetail {
                colour_only: false,
                ..
            }
        ));
        assert!(with_choice("repaint").is_err());
        // The modal offers both, the whole thing first and chosen.
        let view = change_detail_view(&ctx(), "a cat");
        let kind = view["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["block_id"] == DETAIL_KIND_BLOCK)
            .unwrap();
        let values: Vec<&str> = kind["element"]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, [KIND_REPLACE, KIND_RECOLOR]);
        assert_eq!(kind["element"]["initial_option"]["value"], KIND_REPLACE);
    }

    /// Slack Connect: the submitter's side is `team` and `enterprise`; the installing
    /// workspace is only `view.app_installed_team_id` (bolt-python#734).
    #[test]
    fn a_slack_connect_submission_keeps_the_installing_workspace_apart_from_the_submitters() {
        let sub = parse_submission(SLACK_CONNECT_FIXTURE).unwrap();
        assert_eq!(sub.user_id, "W07GUESTLI");
        assert_eq!(sub.team_id.as_deref(), Some("T07MARQEE"));
        assert_eq!(sub.user_team_id.as_deref(), Some("T07PARTNER"));
        assert_eq!(
            sub.enterprise_id, None,
            "not an org-wide install: the submitter's org is not the installation"
        );
    }

    /// A change to a Slack payload that Slack may really make.
    type Edit = fn(&mut Value);

    #[test]
    fn what_slack_may_leave_out_or_send_as_null_is_accepted() {
        let edits: [(&str, Edit); 6] = [
            ("user.name only", |p| {
                p["user"].as_object_mut().unwrap().remove("username");
            }),
            ("team null", |p| p["team"] = Value::Null),
            ("a value absent", |p| {
                p["view"]["state"]["values"]["marquee.title"]["title"]
                    .as_object_mut()
                    .unwrap()
                    .remove("value");
            }),
            ("only spaces typed", |p| {
                p["view"]["state"]["values"]["marquee.title"]["title"]["value"] = "   ".into()
            }),
            ("unknown new fields", |p| {
                p["view"]["new_thing"] = true.into();
                p["view"]["state"]["values"]["marquee.look"]["look"]["extra"] = 1.into();
            }),
            ("no response_urls", |p| {
                p.as_object_mut().unwrap().remove("response_urls");
            }),
        ];
        for (what, edit) in edits {
            let mut payload: Value = serde_json::from_str(EDIT_WORDS_FIXTURE).unwrap();
            edit(&mut payload);
            let sub = parse_submission(&payload.to_string())
                .unwrap_or_else(|e| panic!("{what}: Slack may send this, but: {e}"));
            assert_eq!(sub.user_id, "U07ADAPARK", "{what}");
        }
    }

    const PICTURE_FIXTURES: [&str; 3] = [
        include_str!("../../../../tests/fixtures/slack/view_submission_use_picture.json"),
        include_str!(
            "../../../../tests/fixtures/slack/view_submission_use_picture_slack_connect.json"
        ),
        include_str!(
            "../../../../tests/fixtures/slack/view_submission_use_picture_org_install.json"
        ),
    ];

    #[test]
    fn the_use_picture_modal_holds_one_file_input_within_slacks_limits() {
        let view = use_picture_view(&ctx());
        assert_within_slacks_limits(&view);
        assert_eq!(view["callback_id"], USE_PICTURE);
        let file = &view["blocks"][0];
        assert_eq!(file["block_id"], PICTURE_BLOCK);
        assert_eq!(file["element"]["type"], "file_input");
        assert_eq!(file["element"]["max_files"], 1);
        let uses = &view["blocks"][1]["element"]["options"];
        assert_eq!(uses.as_array().map(Vec::len), Some(3));
        // The fixtures answer this modal: same callback, blocks and actions.
        for fixture in PICTURE_FIXTURES {
            let fixture: Value = serde_json::from_str(fixture).unwrap();
            assert_eq!(fixture["view"]["callback_id"], view["callback_id"]);
            let values = &fixture["view"]["state"]["values"];
            assert!(values[PICTURE_BLOCK][PICTURE]["files"].is_array());
            assert!(values[USE_BLOCK][USE]["selected_option"]["value"].is_string());
        }
    }

    /// Who may use the file: the submitter (`user.id`) must be its uploader (`files[].user`);
    /// where it is stored and counted comes from `view.app_installed_team_id`, and the
    /// submitter's own workspace (`user.team_id`) and org-wide `enterprise.id` go to the job
    /// for the member check, as for every modal.
    #[test]
    fn a_picture_submission_is_read_for_each_kind_of_workspace() {
        let want = [
            // (submitter, installation, submitter's workspace, org)
            ("U07DESIGNR", "T07MARQEE", "T07MARQEE", None),
            ("W07GUESTLI", "T07MARQEE", "T07PARTNER", None),
            ("W07GRIDART", "T07MARQEE", "T07GRIDTWO", Some("E07MARQEE")),
        ];
        for (fixture, (user, installed, own, org)) in PICTURE_FIXTURES.into_iter().zip(want) {
            let payload: Value = serde_json::from_str(fixture).unwrap();
            let sub = parse_submission(&payload.to_string()).expect("read");
            let Form::UsePicture { usage, file, .. } = &sub.form else {
                panic!("{:?}", sub.form)
            };
            assert_eq!(*usage, PictureUse::StyleOf);
            let file = file.as_ref().expect("a file");
            assert_eq!(file.shown_name(), "brand-2026.png");
            assert!(
                file.url()
                    .unwrap()
                    .starts_with("https://files.slack.com/files-pri/")
            );
            assert_eq!(file.user.as_deref(), Some(user));
            assert_eq!(sub.user_id, user);
            assert_eq!(sub.team_id.as_deref(), Some(installed));
            assert_eq!(sub.user_team_id.as_deref(), Some(own));
            assert_eq!(sub.enterprise_id.as_deref(), org);
            assert_eq!(validate(&sub), Ok(()));
            let requester = sub.requester();
            assert_eq!(requester.user_team_id.as_deref(), Some(own));
        }
    }

    #[test]
    fn a_picture_not_uploaded_by_the_submitter_or_missing_is_a_field_error() {
        let payload: Value = serde_json::from_str(PICTURE_FIXTURES[0]).unwrap();
        let files = "/view/state/values/marquee.picture/picture/files";
        let with = |f: &dyn Fn(&mut Value)| {
            let mut p = payload.clone();
            f(&mut p);
            let sub = parse_submission(&p.to_string()).expect("read");
            validate(&sub).expect_err("refused")["errors"][PICTURE_BLOCK]
                .as_str()
                .unwrap()
                .to_owned()
        };
        // Someone else's file (a forged or replayed state): not the submitter's to give.
        let other = with(&|p| {
            *p.pointer_mut(&format!("{files}/0/user")).unwrap() = "U07SOMEONE".into();
        });
        assert!(other.contains("upload in this form yourself"), "{other}");
        let none = with(&|p| {
            *p.pointer_mut(files).unwrap() = json!([]);
        });
        assert!(none.contains("Pick a picture"), "{none}");
        let big = with(&|p| {
            *p.pointer_mut(&format!("{files}/0/size")).unwrap() = json!(10_485_761);
        });
        assert!(big.contains("10 MB"), "{big}");
        assert_eq!(
            picture_refused("x"),
            json!({"response_action": "errors", "errors": {PICTURE_BLOCK: "x"}})
        );
        // A name Slack passes through is shown without control characters.
        let odd = UploadedFile {
            id: "F1".into(),
            name: Some("a\u{7}b.png".into()),
            size: None,
            url_private_download: None,
            url_private: Some("https://files.slack.com/x".into()),
            user: None,
        };
        assert_eq!(odd.shown_name(), "ab.png");
        assert_eq!(odd.url(), Some("https://files.slack.com/x"));
    }

    const FORMATS_FIXTURES: [&str; 3] = [
        include_str!("../../../../tests/fixtures/slack/view_submission_formats.json"),
        include_str!("../../../../tests/fixtures/slack/view_submission_formats_slack_connect.json"),
        include_str!("../../../../tests/fixtures/slack/view_submission_formats_org_install.json"),
    ];

    /// The Formats… modal: one checkbox per format of the set, every one ticked, each naming
    /// the format, its aspect and its pixel size, within Slack's limits (checkboxes ≤ 10
    /// options; title and submit ≤ 24 characters); a set larger than Slack allows is cut to
    /// ten rather than refused by `views.open`.
    #[test]
    fn the_formats_modal_ticks_every_format_of_the_set_within_slacks_limits() {
        let view = formats_view(&ctx(), &Format::ALL);
        assert_within_slacks_limits(&view);
        assert_eq!(view["callback_id"], FORMATS);
        assert_eq!(view["submit"]["text"], "Make formats");
        let input = view["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["block_id"] == FORMATS_BLOCK)
            .unwrap();
        assert_eq!(
            input["optional"], true,
            "none ticked is Marquee's to answer"
        );
        let e = &input["element"];
        assert_eq!(e["type"], "checkboxes");
        let options = e["options"].as_array().unwrap();
        assert_eq!(options.len(), Format::ALL.len());
        assert_eq!(e["initial_options"], e["options"], "all initially ticked");
        for (o, f) in options.iter().zip(Format::ALL) {
            assert_eq!(o["value"], f.name());
            let text = o["text"]["text"].as_str().unwrap();
            assert!(text.contains(f.ratio()), "{text}");
            let (w, h) = f.size();
            assert_eq!(o["description"]["text"], format!("{w} × {h} px"));
        }
        let many: Vec<Format> = Format::ALL.iter().chain(&Format::ALL).copied().collect();
        assert_within_slacks_limits(&formats_view(&ctx(), &many));
        // The fixtures answer this modal: same callback, block and action, checkboxes state.
        for fixture in FORMATS_FIXTURES {
            let fixture: Value = serde_json::from_str(fixture).unwrap();
            assert_eq!(inputs(&fixture["view"]), inputs(&view));
            assert_eq!(fixture["view"]["callback_id"], view["callback_id"]);
            let state = &fixture["view"]["state"]["values"][FORMATS_BLOCK][FORMATS_ACTION];
            assert_eq!(state["type"], "checkboxes");
            assert!(state["selected_options"].is_array());
        }
    }

    /// A formats submission is read for each kind of workspace: the ticked formats (by their
    /// `value`, in the contact sheet's order), and who submitted — `user.id`, the submitter's
    /// own workspace `user.team_id` and the org-wide `enterprise.id`, which the worker's
    /// `Pipeline::outsider` judges as it judges the click — apart from the installation
    /// (`view.app_installed_team_id`).
    #[test]
    fn a_formats_submission_is_read_for_each_kind_of_workspace() {
        let want = [
            (
                "U07DESIGNR",
                "T07MARQEE",
                None,
                vec![Format::Square, Format::Story],
            ),
            (
                "W07GUESTLI",
                "T07PARTNER",
                Some("E07PARTNER"),
                Format::ALL.to_vec(),
            ),
            (
                "W07GRIDART",
                "T07GRIDTWO",
                Some("E07MARQEE"),
                vec![Format::OneSheet, Format::Wide],
            ),
        ];
        for (fixture, (user, own, org, formats)) in FORMATS_FIXTURES.into_iter().zip(want) {
            let sub = parse_submission(fixture).expect("read");
            assert_eq!(
                sub.form,
                Form::Formats {
                    ctx: ctx(),
                    formats
                }
            );
            assert_eq!(validate(&sub), Ok(()));
            let requester = sub.requester();
            assert_eq!(requester.user_id, user);
            assert_eq!(requester.team_id.as_deref(), Some("T07MARQEE"));
            assert_eq!(requester.user_team_id.as_deref(), Some(own));
            let org_install = fixture.contains("\"is_enterprise_install\": true");
            assert_eq!(
                requester.enterprise_id.as_deref(),
                if org_install { org } else { None },
                "{user}"
            );
        }
    }

    /// None ticked (Slack sends `selected_options: []`) is a field error under the
    /// checkboxes, keeping the modal open; a value Marquee never offered is refused.
    #[test]
    fn a_formats_submission_with_none_ticked_is_a_field_error() {
        let payload: Value = serde_json::from_str(FORMATS_FIXTURES[0]).unwrap();
        let ticked = "/view/state/values/marquee.formats/formats/selected_options";
        let mut none = payload.clone();
        *none.pointer_mut(ticked).unwrap() = json!([]);
        let sub = parse_submission(&none.to_string()).expect("read");
        assert_eq!(
            sub.form,
            Form::Formats {
                ctx: ctx(),
                formats: vec![]
            }
        );
        let answer = validate(&sub).expect_err("refused");
        assert_eq!(answer["response_action"], "errors");
        assert!(
            answer["errors"][FORMATS_BLOCK]
                .as_str()
                .unwrap()
                .contains("at least one format"),
            "{answer}"
        );
        assert_eq!(
            could_not_start(&sub)["errors"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            [FORMATS_BLOCK]
        );
        let mut odd = payload;
        *odd.pointer_mut(&format!("{ticked}/0/value")).unwrap() = "poster-a0".into();
        assert_eq!(
            parse_submission(&odd.to_string()),
            Err(InteractionError::UnknownAction("poster-a0".into()))
        );
    }

    #[test]
    fn submissions_marquee_did_not_make_are_errors() {
        let with = |edit: Edit| {
            let mut payload: Value = serde_json::from_str(EDIT_WORDS_FIXTURE).unwrap();
            edit(&mut payload);
            parse_submission(&payload.to_string())
        };
        assert_eq!(
            with(|p| p["view"]["callback_id"] = "someone.elses".into()),
            Err(InteractionError::UnknownView("someone.elses".into()))
        );
        assert_eq!(
            with(|p| p["view"]["private_metadata"] = "".into()),
            Err(InteractionError::BadMetadata)
        );
        assert_eq!(
            with(
                |p| p["view"]["state"]["values"]["marquee.look"]["look"]["selected_option"] =
                    Value::Null
            ),
            Err(InteractionError::Missing("the look of the type"))
        );
        assert_eq!(
            with(
                |p| p["view"]["state"]["values"]["marquee.placement"]["placement"]["selected_option"]
                    ["value"] = "left".into()
            ),
            Err(InteractionError::UnknownPlacement("left".into()))
        );
        assert_eq!(
            with(
                |p| p["view"]["state"]["values"]["marquee.look"]["look"]["selected_option"]["value"] =
                    "musical".into()
            ),
            Err(InteractionError::UnknownStyle("musical".into()))
        );
        assert!(matches!(
            parse_submission("{"),
            Err(InteractionError::NotJson(_))
        ));
        assert_eq!(
            parse_submission(r#"{"type":"view_closed"}"#),
            Err(InteractionError::Unsupported("view_closed".into()))
        );
    }

    fn words(title: &str, tagline: Option<&str>, look: Style) -> Submission {
        Submission {
            form: Form::EditWords {
                ctx: ctx(),
                text: PosterText {
                    title: Some(title.into()),
                    tagline: tagline.map(str::to_owned),
                    credits: None,
                },
                typography: Typography {
                    look,
                    placement: Placement::Center,
                    ink: None,
                },
            },
            user_id: "U1".into(),
            user_name: None,
            team_id: None,
            user_team_id: None,
            enterprise_id: None,
        }
    }

    fn detail(search: &str, replace: &str) -> Submission {
        Submission {
            form: Form::ChangeDetail {
                ctx: ctx(),
                search: search.into(),
                replace: replace.into(),
                colour_only: false,
            },
            user_id: "U1".into(),
            user_name: None,
            team_id: None,
            user_team_id: None,
            enterprise_id: None,
        }
    }

    fn errors(sub: &Submission) -> Map<String, Value> {
        let body = validate(sub).expect_err("errors");
        assert_eq!(body["response_action"], "errors");
        body["errors"].as_object().unwrap().clone()
    }

    #[test]
    fn field_errors_are_keyed_by_block_and_worded_for_people() {
        let e = errors(&words(&"T".repeat(81), Some("fine"), Style::Noir));
        assert_eq!(e.keys().collect::<Vec<_>>(), [TITLE_BLOCK]);
        assert_eq!(
            e[TITLE_BLOCK],
            "That's 81 characters; the title can have at most 80."
        );

        let e = errors(&words("The \u{7}Keeper", None, Style::Noir));
        assert!(e[TITLE_BLOCK].as_str().unwrap().contains("U+0007"), "{e:?}");

        // Text the fonts cannot draw (Tibetan: no font in the layer has it) is named, on
        // the field that holds it, a letter with its vowel sign as one; Japanese, which the
        // fonts layer draws, is fine.
        let e = errors(&words("The Keeper", Some("བོད"), Style::Noir));
        assert_eq!(e.keys().collect::<Vec<_>>(), [TAGLINE_BLOCK]);
        let message = e[TAGLINE_BLOCK].as_str().unwrap();
        assert!(message.contains("can't draw བོ ད"), "{message}");
        assert!(message.contains("they would be left out"), "{message}");

        let e = errors(&detail("", ""));
        assert!(
            e[SEARCH_BLOCK]
                .as_str()
                .unwrap()
                .contains("what in the picture")
        );
        assert!(
            e[REPLACE_BLOCK]
                .as_str()
                .unwrap()
                .contains("what it should become")
        );
        let e = errors(&detail("The Kraken", "the kraken"));
        assert_eq!(e.keys().collect::<Vec<_>>(), [REPLACE_BLOCK]);
        assert!(e[REPLACE_BLOCK].as_str().unwrap().contains("already"));
        let e = errors(&detail(&"k".repeat(301), "a dragon"));
        assert_eq!(
            e[SEARCH_BLOCK],
            "That's 301 characters; what to change can have at most 300."
        );
        assert_eq!(validate(&detail("the kraken", "a dragon")), Ok(()));
    }
}
