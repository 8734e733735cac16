//! The job: what the front door hands the worker, as typed, versioned JSON.
//!
//! A [`Job`] is the whole contract between the ack path and the worker. It travels as the
//! payload of an asynchronous Lambda invocation, so it carries a version and a marker field
//! ([`JOB_MARKER`]) by which the function tells a job apart from an HTTP event. It holds no
//! secrets; its `response_url` is treated as one in logs (see [`ReplyTo`]'s `Debug`).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{Aspect, ModelId};
use crate::poster::PosterText;
use crate::poster::style::Style;

/// The field that marks a Lambda event as a Marquee job; its value is the schema version.
pub const JOB_MARKER: &str = "marquee_job";
/// The job schema this build writes and reads.
pub const JOB_VERSION: u32 = 1;

/// Everything needed to draw one poster, however it was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PosterSpec {
    /// What the art should show.
    pub description: String,
    #[serde(default)]
    pub text: PosterText,
    pub style: Style,
    #[serde(default)]
    pub aspect: Aspect,
    /// `None`: the worker picks one, and reports it.
    #[serde(default)]
    pub seed: Option<u32>,
    /// Things the art should avoid, added to the style's defaults.
    #[serde(default)]
    pub avoid: Option<String>,
    pub model: ModelId,
}

/// Who asked, for attribution in the message and the stored object's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    pub user_id: String,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub channel_id: Option<String>,
}

/// Where the finished poster goes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplyTo {
    /// A slash command's or interaction's `response_url`.
    SlackResponseUrl { response_url: String },
}

impl fmt::Debug for ReplyTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // response_urls are bearer capabilities: anyone holding one can post as the app.
            ReplyTo::SlackResponseUrl { .. } => f.write_str("SlackResponseUrl(<redacted>)"),
        }
    }
}

/// One unit of work for the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Always [`JOB_VERSION`] when written by this build; see [`JOB_MARKER`].
    pub marquee_job: u32,
    /// Unique per request; names the stored object, so a duplicate delivery cannot store twice.
    pub id: Uuid,
    pub spec: PosterSpec,
    pub requester: Requester,
    pub reply_to: ReplyTo,
    /// Unix seconds when the request was accepted.
    pub accepted_at: i64,
}

impl Job {
    pub fn new(
        spec: PosterSpec,
        requester: Requester,
        reply_to: ReplyTo,
        accepted_at: i64,
    ) -> Self {
        Self {
            marquee_job: JOB_VERSION,
            id: Uuid::new_v4(),
            spec,
            requester,
            reply_to,
            accepted_at,
        }
    }

    /// Whether `event` (any Lambda payload) is a Marquee job rather than an HTTP event.
    pub fn is_job_event(event: &serde_json::Value) -> bool {
        event.get(JOB_MARKER).is_some()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("job schema version {found} is not supported (this build reads {JOB_VERSION})")]
    Version { found: u64 },
    #[error("the job event is malformed")]
    Malformed(#[from] serde_json::Error),
}

impl Job {
    /// Reads a job from a Lambda event, checking its version first so that a job written by a
    /// newer build is refused with a clear error rather than half-understood.
    pub fn from_event(event: serde_json::Value) -> Result<Job, JobError> {
        let version = event.get(JOB_MARKER).and_then(|v| v.as_u64()).unwrap_or(0);
        if version != u64::from(JOB_VERSION) {
            return Err(JobError::Version { found: version });
        }
        Ok(serde_json::from_value(event)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        Job::new(
            PosterSpec {
                description: "a lighthouse keeper fights a kraken".into(),
                text: PosterText::default(),
                style: Style::Horror,
                aspect: Aspect::Portrait2x3,
                seed: Some(7),
                avoid: None,
                model: ModelId::Offline,
            },
            Requester {
                user_id: "U1".into(),
                user_name: None,
                team_id: None,
                channel_id: None,
            },
            ReplyTo::SlackResponseUrl {
                response_url: "https://hooks.slack.com/commands/T/1/secret".into(),
            },
            1_700_000_000,
        )
    }

    #[test]
    fn jobs_round_trip_through_json_and_are_recognised() {
        let j = job();
        let value = serde_json::to_value(&j).unwrap();
        assert!(Job::is_job_event(&value));
        assert_eq!(value["marquee_job"], 1);
        assert_eq!(value["spec"]["aspect"], "2:3");
        assert_eq!(Job::from_event(value).unwrap(), j);
    }

    #[test]
    fn http_events_are_not_jobs_and_future_versions_are_refused() {
        let http = serde_json::json!({"version": "2.0", "rawPath": "/healthz"});
        assert!(!Job::is_job_event(&http));
        let mut value = serde_json::to_value(job()).unwrap();
        value["marquee_job"] = 2.into();
        assert!(matches!(
            Job::from_event(value),
            Err(JobError::Version { found: 2 })
        ));
    }

    #[test]
    fn response_urls_are_redacted_in_debug_output() {
        let shown = format!("{:?}", job());
        assert!(!shown.contains("hooks.slack.com"), "{shown}");
    }
}
