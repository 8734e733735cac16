//! Slack: request verification, slash-command parsing, Block Kit replies and `response_url`
//! delivery.
//!
//! Everything that knows Slack's wire formats lives here. This module knows nothing of image
//! models or storage: it turns Slack requests into [`crate::job::PosterSpec`]s and messages
//! into Slack requests.
//!
//! Slack's wire formats: `verify` (signing, the replay window, constant-time compare;
//! `SigningSecret` re-reads a rotated secret through `ReloadSecret`, which `app` backs with Secrets
//! Manager, when a signature does not match, at most every 30 s), `form` (Slack's form bodies,
//! decoded strictly: bytes that are not UTF-8 are refused), `command` (the form and the `/poster`
//! syntax), `interaction` (the poster controls — which a message offers depends on `Controls`:
//! modals need a bot token, Change a detail a model that can, an approved take offers only Print —
//! and the `block_actions` payloads they produce), `modal` (the Edit words and Change a detail
//! views, their `view_submission` payloads and the field errors answered inside the modal,
//! `response_action: errors`; a modal's `private_metadata` carries the poster's id and the click's
//! reply address), `blocks` (every Block Kit message, within Slack's limits, with user text escaped
//! in every mrkdwn field including the notification `text`), `client` (`response_url` POSTs to
//! allow-listed hosts only, transient-error retries), `web` (the Web API with a bot token:
//! `chat.postMessage` into threads, file uploads, `views.open`, `views.publish`, `users.info`), `home`
//! (the App Home tab, within the 100 blocks and 250 kB of a view) and `manifest` (the app manifest
//! with the deployment's URLs).

pub mod blocks;
pub mod client;
pub mod command;
pub mod events;
pub mod files;
pub mod form;
pub mod home;
pub mod interaction;
pub mod manifest;
pub mod modal;
mod payload;
pub mod settings;
pub mod shortcut;
pub mod verify;
pub mod web;

pub use client::SlackClient;
pub use client::SlackError;
