//! What the two kinds of interaction payload share — `block_actions` (a click:
//! [`super::interaction`]) and `view_submission` (a modal: [`super::modal`]): who acted, their
//! workspace and organisation, and the one error type for a payload Marquee cannot read. A leaf
//! of `slack`, so the two payload modules depend on it and neither on the other for these.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InteractionError {
    #[error("the payload is not JSON: {0}")]
    NotJson(String),
    #[error("the payload is missing {0}")]
    Missing(&'static str),
    #[error("unsupported interaction type {0:?}")]
    Unsupported(String),
    #[error("unknown action {0:?}")]
    UnknownAction(String),
    #[error("the action's poster id is not valid")]
    BadPosterId,
    #[error("unknown style {0:?}")]
    UnknownStyle(String),
    #[error("unknown view {0:?}")]
    UnknownView(String),
    #[error("the view's private_metadata is not Marquee's")]
    BadMetadata,
    #[error("unknown title placement {0:?}")]
    UnknownPlacement(String),
}

/// The organisation of an org-wide install: `enterprise.id` when `is_enterprise_install` is
/// true (a boolean in JSON; Bolt reads the string `"true"` too). Elsewhere the payload's
/// `enterprise` says nothing about whether the user belongs to the installation, so it is not
/// used to decide who may act.
pub(super) fn org_install(
    enterprise: Option<Id>,
    is_enterprise_install: Option<&Value>,
) -> Option<String> {
    let org_wide = matches!(is_enterprise_install, Some(Value::Bool(true)))
        || matches!(is_enterprise_install, Some(Value::String(s)) if s == "true");
    enterprise.filter(|_| org_wide).map(|e| e.id)
}

#[derive(Deserialize)]
pub(super) struct User {
    pub(super) id: String,
    /// The handle; Slack's docs show only this key.
    #[serde(default)]
    pub(super) username: Option<String>,
    /// Sent beside `username` in captured payloads (and alone from a Home tab, per Bolt).
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) team_id: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Id {
    pub(super) id: String,
}

/// A style's name as a Block Kit label: `noir` → `Noir`.
pub(super) fn capitalise(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A submitted view's `state`: the values of its inputs, shared by every modal Marquee opens.
#[derive(Deserialize)]
pub(super) struct StatePart {
    /// `{block_id: {action_id: value}}`; read as JSON because Slack's own examples also show an
    /// empty state as `[]`.
    #[serde(default)]
    values: Value,
}

impl StatePart {
    pub(super) fn value(&self, block_id: &str, action_id: &str) -> Option<&Value> {
        self.values.get(block_id)?.get(action_id)
    }

    /// A plain-text input's `value`: `null` (or absent) when left empty; trimmed, and `None`
    /// when nothing but spaces was typed.
    pub(super) fn text(&self, block_id: &str, action_id: &str) -> Option<String> {
        let value = self.value(block_id, action_id)?.get("value")?.as_str()?;
        let value = value.trim();
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// The first of a `file_input`'s `files` (bolt-js `ViewStateValue.files`), as Slack sent
    /// it; `None` when none was uploaded.
    pub(super) fn first_file(&self, block_id: &str, action_id: &str) -> Option<&Value> {
        self.value(block_id, action_id)?
            .get("files")?
            .as_array()?
            .first()
    }

    /// The `value` of a static select's or radio group's `selected_option` (`null` when none).
    pub(super) fn choice(&self, block_id: &str, action_id: &str) -> Option<&str> {
        self.value(block_id, action_id)?
            .get("selected_option")?
            .get("value")?
            .as_str()
    }
}

/// The `view_submission` payload of every modal Marquee opens, as typed in bolt-js's
/// `ViewSubmitAction` and captured in bolt-python's tests (tests/fixtures/slack/README.md): only
/// what Marquee reads; every field Slack may leave out or send as null is an Option.
#[derive(Deserialize)]
pub(super) struct SubmissionPayload {
    #[serde(rename = "type")]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) user: Option<User>,
    /// `null` on org-wide installs (bolt-js: `team: {...} | null`).
    #[serde(default)]
    pub(super) team: Option<Id>,
    #[serde(default)]
    pub(super) view: Option<ViewPart>,
    #[serde(default)]
    pub(super) enterprise: Option<Id>,
    #[serde(default)]
    pub(super) is_enterprise_install: Option<Value>,
}

#[derive(Deserialize)]
pub(super) struct ViewPart {
    /// The workspace the app is installed in. In a Slack Connect channel `team` is the
    /// submitter's side and this the installing one (bolt-python#734's `connect_channel_payload`).
    #[serde(default)]
    pub(super) app_installed_team_id: Option<String>,
    #[serde(default)]
    pub(super) callback_id: Option<String>,
    #[serde(default)]
    pub(super) private_metadata: Option<String>,
    #[serde(default)]
    pub(super) state: Option<StatePart>,
}
