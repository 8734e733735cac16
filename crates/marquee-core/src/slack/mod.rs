//! Slack: request verification, slash-command parsing, Block Kit replies and `response_url`
//! delivery.
//!
//! Everything that knows Slack's wire formats lives here. This module knows nothing of image
//! models or storage: it turns Slack requests into [`crate::job::PosterSpec`]s and messages
//! into Slack requests.

pub mod blocks;
pub mod client;
pub mod command;
pub mod events;
pub mod form;
pub mod interaction;
pub mod manifest;
pub mod modal;
pub mod shortcut;
pub mod verify;
pub mod web;

pub use client::SlackClient;
pub use client::SlackError;
