//! The job: what the front door hands the worker, as typed, versioned JSON.
//!
//! A [`Job`] is the whole contract between the ack path and the worker. It travels as the
//! payload of an asynchronous Lambda invocation, so it carries a version and a marker field
//! (`JOB_MARKER`) by which the function tells a job apart from an HTTP event. It holds no
//! long-lived secret; its `response_url`, and a workflow step's execution token (valid only
//! until the step completes), are treated as secrets in logs (see [`ReplyTo`]'s `Debug`).
//!
//! The versioned JSON contract between front door and worker: `Job { marquee_job: 1, id, task,
//! requester, reply_to, accepted_at, public_url? }`, where `task` is `poster` (a new spec),
//! `retake` (a stored take with one `Change`: regenerate, variations, restyle, `edit_words` — new
//! words and `Typography` over the same art —, `vary` (subtle or strong) or `change_detail`
//! (search, replace)), `approve` (only the poster's id: the message is rebuilt from the record),
//! `print` (an approved take's print files), `usage` or `history`; `reply_to` is a Slack
//! `response_url` (with the thread clicked, if any), `status` (a REST job, reported through its
//! status record), a Slack thread, the App Home tab or a workflow step (`workflow_step`: its
//! channel, execution id and execution token); and `public_url` is where the front door was reached, under which the job's
//! links are served. The `marquee_job` field is how the function tells a job from an API Gateway
//! event. `PosterRecord` is what is kept about every take (the state item `poster#<id>` /
//! `record`): its spec with the seed used, who asked, its size, its art's key, and its `Lineage`
//! (the family's first take, its parent, its number, how it was made).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::genre::Style;
use crate::model::{Aspect, ModelId, Strength};
use crate::poster::{Format, PosterText, Typography};

/// The field that marks a Lambda event as a Marquee job; its value is the schema version.
const JOB_MARKER: &str = "marquee_job";
/// The job schema this build writes and reads.
const JOB_VERSION: u32 = 1;

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
    /// How the words are set, when a reviewer chose otherwise than the style's own look.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typography: Option<Typography>,
    /// The picture a new poster's art is made from (the New poster form's upload, or the
    /// picture in the message a shortcut was used on), kept on the record so its history
    /// says so. Only a first take carries one: a later take records its own change in its
    /// lineage and is drawn from its parent or the words. Absent in jobs and records made
    /// before pictures were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<PictureRef>,
}

/// A picture someone gave Marquee for a new poster: what to do with it, where it is stored
/// (`refs/…`, re-encoded without metadata) and its name as Slack gave it, for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PictureRef {
    pub usage: PictureUse,
    pub reference: String,
    pub name: String,
}

impl PictureRef {
    /// How the poster came from the picture, for people: "in the style of brand-2026.png".
    pub fn via(&self) -> String {
        self.usage.via(&self.name)
    }
}

impl PosterSpec {
    /// The words the poster shows: the offline generator always composes a full poster, so it
    /// titles one its user left untitled; AI art is delivered clean unless words were asked for.
    pub fn shown_text(&self) -> PosterText {
        let mut text = self.text.clone();
        if self.model == ModelId::Offline && text.title.is_none() {
            text.title = Some(crate::poster::default_title(&self.description));
        }
        text
    }

    /// The poster's name, as messages, uploads and files call it: its title, or one made from
    /// the description when it has none.
    pub fn title(&self) -> String {
        self.text
            .title
            .clone()
            .unwrap_or_else(|| crate::poster::default_title(&self.description))
    }

    /// How the words are set: the reviewer's choice, or the style's own look.
    pub fn typography(&self) -> Typography {
        self.typography
            .unwrap_or_else(|| Typography::for_title(self.style, self.text.title.as_deref()))
    }
}

/// Who asked, for attribution in the message and the stored object's metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    pub user_id: String,
    #[serde(default)]
    pub user_name: Option<String>,
    /// The workspace the app is installed in, where the request arrived (a click's
    /// `team.id`): where things are stored and counted, never who may act.
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub channel_id: Option<String>,
    /// The requester's own workspace (a click's `user.team_id`) when the payload names it: in
    /// a Slack Connect channel it differs from `team_id` (slackapi/java-slack-sdk#1041).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_team_id: Option<String>,
    /// The Enterprise Grid organisation of an org-wide install (`enterprise.id` when
    /// `is_enterprise_install` is true), whose workspaces are all one installation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_id: Option<String>,
}

impl Requester {
    /// Whether this requester acts from outside the installation that `home` (a poster's
    /// requester) belongs to: their own workspace differs from the poster's, and they are not
    /// members of the same org-wide install. Without a workspace on either side (REST callers,
    /// records from before workspaces were kept) there is nothing to compare, and nobody is
    /// external.
    pub fn is_external_to(&self, home: &Requester) -> bool {
        let own = |r: &Requester| r.user_team_id.clone().or_else(|| r.team_id.clone());
        match (own(self), own(home)) {
            (Some(mine), Some(theirs)) if mine != theirs => !matches!(
                (&self.enterprise_id, &home.enterprise_id),
                (Some(a), Some(b)) if a == b
            ),
            _ => false,
        }
    }
}

/// A message in a Slack conversation, which replies can thread under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackMessageRef {
    pub channel_id: String,
    /// The thread's root: replies to a reply still go to the original poster's thread.
    pub thread_ts: String,
}

/// Where the finished poster goes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplyTo {
    /// A slash command's or interaction's `response_url`, and, for interactions, the poster
    /// message clicked, so that with a bot token results can go to its thread.
    SlackResponseUrl {
        response_url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread: Option<SlackMessageRef>,
    },
    /// Nobody to post to: the outcome is kept as the job's status record, which the REST
    /// door's `GET /v1/posters/{id}` reads.
    Status,
    /// A Slack thread with no `response_url` (a mention, a direct message): everything is
    /// posted into `thread` with the bot token, private notes as ephemeral messages to the
    /// requester there.
    SlackThread { thread: SlackMessageRef },
    /// The requester's App Home tab (`views.publish` with the bot token): what the worker has
    /// to say, a failure included, is published there.
    AppHome,
    /// A Workflow Builder step (`function_executed`): the poster is posted into the step's
    /// channel with the bot token, then the step is completed (`functions.completeSuccess`
    /// with the poster's link and the message's permalink) or failed
    /// (`functions.completeError` with what the worker would have told the requester).
    WorkflowStep { step: WorkflowStep },
}

/// One execution of Marquee's Workflow Builder step, as the worker needs it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowStep {
    /// The step's `channel` input: where the poster is posted.
    pub channel_id: String,
    /// `event.function_execution_id`: which execution `functions.complete*` completes.
    pub execution_id: String,
    /// `event.bot_access_token`, the execution's own token (a "workflow token", valid until
    /// the step completes), which `functions.complete*` are called with.
    pub token: WorkflowToken,
    /// Whether the step's `requester` input named a person (else the job is the app's own,
    /// counted to the bot user): their workspace is then looked up before anything is made.
    #[serde(default)]
    pub named_person: bool,
}

impl fmt::Debug for WorkflowStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkflowStep")
            .field("channel_id", &self.channel_id)
            .field("execution_id", &self.execution_id)
            .field("token", &"<redacted>")
            .field("named_person", &self.named_person)
            .finish()
    }
}

/// A workflow step's execution token: serialized with the job (the worker needs it), never
/// shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkflowToken(String);

impl WorkflowToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself, for the one client that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WorkflowToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WorkflowToken({} bytes)", self.0.len())
    }
}

impl ReplyTo {
    /// The `response_url` Slack replies go to; empty for a status job, which Slack's client
    /// refuses like any URL it may not post to, so nothing reaches Slack by mistake.
    pub fn slack_url(&self) -> &str {
        match self {
            ReplyTo::SlackResponseUrl { response_url, .. } => response_url,
            ReplyTo::Status
            | ReplyTo::SlackThread { .. }
            | ReplyTo::AppHome
            | ReplyTo::WorkflowStep { .. } => "",
        }
    }

    /// The Slack thread replies belong in, if any.
    pub fn thread(&self) -> Option<&SlackMessageRef> {
        match self {
            ReplyTo::SlackResponseUrl { thread, .. } => thread.as_ref(),
            ReplyTo::SlackThread { thread } => Some(thread),
            ReplyTo::Status | ReplyTo::AppHome | ReplyTo::WorkflowStep { .. } => None,
        }
    }

    pub fn response_url(response_url: impl Into<String>) -> Self {
        ReplyTo::SlackResponseUrl {
            response_url: response_url.into(),
            thread: None,
        }
    }
}

impl fmt::Debug for ReplyTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // response_urls are bearer capabilities: anyone holding one can post as the app.
            ReplyTo::SlackResponseUrl { thread, .. } => f
                .debug_struct("SlackResponseUrl")
                .field("response_url", &"<redacted>")
                .field("thread", thread)
                .finish(),
            ReplyTo::SlackThread { thread } => f
                .debug_struct("SlackThread")
                .field("thread", thread)
                .finish(),
            ReplyTo::Status => f.write_str("Status"),
            ReplyTo::AppHome => f.write_str("AppHome"),
            ReplyTo::WorkflowStep { step } => {
                f.debug_struct("WorkflowStep").field("step", step).finish()
            }
        }
    }
}

/// What a follow-up on an earlier poster changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// The same prompt and options with a new seed: same words, new art.
    Regenerate,
    /// Several new seeds, same look (the control older messages carry).
    Variations { count: u8 },
    /// The same prompt in another style, with a new seed.
    Restyle { style: Style },
    /// New words, set as the reviewer chose, over the same art: no model call, no charge.
    EditWords {
        text: PosterText,
        typography: Typography,
    },
    /// A variation of this take's own art (image-to-image), not a new seed.
    Vary { strength: Strength },
    /// What `search` names in the art, changed into `replace`; the words are re-set over the
    /// result.
    ChangeDetail { search: String, replace: String },
    /// What `search` names in the art, in `colour` and otherwise unchanged (Change a detail's
    /// colour-only variant); the words are re-set over the result.
    RecolorDetail { search: String, colour: String },
    /// A take made with a picture someone uploaded (Use a picture…): `reference` is its key in
    /// the store (`refs/…`, re-encoded without metadata), `name` the file's name as Slack gave
    /// it, for the take's lineage.
    Picture {
        usage: PictureUse,
        reference: String,
        name: String,
    },
}

/// What a person wants from a picture they upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PictureUse {
    /// Start from this picture: its subject kept, the poster's look applied.
    StartFrom,
    /// In the style of this picture: the words drawn in its look.
    StyleOf,
    /// Restyle this take like that picture.
    RestyleLike,
}

impl PictureUse {
    pub const ALL: [PictureUse; 3] = [
        PictureUse::StartFrom,
        PictureUse::StyleOf,
        PictureUse::RestyleLike,
    ];

    /// The choice's value in the modal, and its name in JSON.
    pub fn value(self) -> &'static str {
        match self {
            PictureUse::StartFrom => "start_from",
            PictureUse::StyleOf => "style_of",
            PictureUse::RestyleLike => "restyle_like",
        }
    }

    pub fn parse(value: &str) -> Option<PictureUse> {
        PictureUse::ALL.into_iter().find(|u| u.value() == value)
    }

    /// The choice as people see it.
    pub fn label(self) -> &'static str {
        match self {
            PictureUse::StartFrom => "Start from this picture",
            PictureUse::StyleOf => "In the style of this picture",
            PictureUse::RestyleLike => "Restyle this take like that picture",
        }
    }

    /// How a take came from picture `name` used so, for people: "in the style of x.png".
    pub fn via(self, name: &str) -> String {
        match self {
            PictureUse::StartFrom => format!("started from {name}"),
            PictureUse::StyleOf => format!("in the style of {name}"),
            PictureUse::RestyleLike => format!("restyled like {name}"),
        }
    }

    /// The kind of edit this use is, to ask whether a model here can make it.
    pub fn kind(self) -> crate::model::EditKind {
        match self {
            PictureUse::StartFrom => crate::model::EditKind::StartFrom,
            PictureUse::StyleOf => crate::model::EditKind::StyleOf,
            PictureUse::RestyleLike => crate::model::EditKind::RestyleLike,
        }
    }

    /// The edit a model makes for this use, given the picture.
    pub fn edit(self, picture: std::sync::Arc<tiny_skia::Pixmap>) -> crate::model::Edit {
        match self {
            PictureUse::StartFrom => crate::model::Edit::StartFrom,
            PictureUse::StyleOf => crate::model::Edit::StyleOf,
            PictureUse::RestyleLike => crate::model::Edit::RestyleLike { style: picture },
        }
    }
}

impl Change {
    /// How a take made by this change came from its parent, for people: "Edit words".
    pub fn via(&self) -> String {
        match self {
            Change::Regenerate => "Regenerate".to_owned(),
            Change::Variations { .. } => "Variations".to_owned(),
            Change::Restyle { style } => format!("Restyle as {style}"),
            Change::EditWords { .. } => "Edit words".to_owned(),
            Change::Vary {
                strength: Strength::Subtle,
            } => "Vary subtle".to_owned(),
            Change::Vary {
                strength: Strength::Strong,
            } => "Vary strong".to_owned(),
            Change::ChangeDetail { .. } => "Change a detail".to_owned(),
            Change::RecolorDetail { .. } => "Recolor a detail".to_owned(),
            Change::Picture { usage, name, .. } => usage.via(name),
        }
    }
}

/// What the worker is asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum Task {
    /// Draw a new poster.
    Poster { spec: PosterSpec },
    /// Another take on a stored poster: its recorded spec, with one change. The spec is read
    /// by the worker, so a button click acks without touching storage.
    Retake { source: Uuid, change: Change },
    /// Mark a stored poster approved and update its message. The message is rebuilt from the
    /// stored record, never from the click's copy of it: Slack's copy of a message carries
    /// read-only keys it refuses on input, and its image link may have expired.
    Approve { source: Uuid },
    /// Tell the requester, privately, what they, their channel and their workspace have used
    /// of their limits. The worker reads the counters, so the ack path reads no state.
    Usage,
    /// List the requester's latest posters, privately, each with a fresh link.
    History,
    /// Print-ready files of an approved take: each standard sheet as PDF and PNG.
    Print { source: Uuid },
    /// The take at each of `formats` (chosen in the Formats… modal; every format when the
    /// click came without a form, and in jobs queued before the choice existed), each format
    /// made once per take.
    Formats {
        source: Uuid,
        #[serde(default = "every_format")]
        formats: Vec<Format>,
    },
    /// Tell the requester, privately, these words (help, or why a mention could not be read):
    /// for requests that came without a `response_url`, whose ack can carry no answer.
    Note { text: String },
    /// Publish the requester's App Home tab: their latest posters, the team's approved ones,
    /// this month's usage and, for admins, the brand kit's settings (`app_home_opened`).
    Home,
}

/// What is kept beside every poster: enough to re-take it, and its approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PosterRecord {
    pub id: Uuid,
    /// The spec as drawn, with the seed actually used.
    pub spec: PosterSpec,
    pub requester: Requester,
    pub key: String,
    /// The finished poster's size in pixels.
    #[serde(default)]
    pub width: u32,
    #[serde(default)]
    pub height: u32,
    /// Characters left out of the lettering, to repeat the warning when the message is rebuilt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_glyphs: Vec<String>,
    pub created_at: i64,
    #[serde(default)]
    pub approved_by: Option<String>,
    #[serde(default)]
    pub approved_at: Option<i64>,
    /// The take's art before typography (`art/…`): words are re-set and details changed over
    /// it without drawing again. Shared by takes that changed only the words. `None` for
    /// posters made before art was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub art_key: Option<String>,
    /// Where a take came from; `None` for a poster's first take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<Lineage>,
    /// Where the words were set (title band, tagline side), chosen from this take's art and
    /// words (`poster::placement`). Edit words and Formats set new words or a new size afresh
    /// and choose again, deterministically; this records what the reader saw. `None` for a
    /// clean take or one made before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrangement: Option<crate::poster::Arrangement>,
}

/// Where a take came from: every take after the first remembers its parent and how it was
/// made from it, so a thread reads as a history ("take 3, from take 2 via Vary strong").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    /// The poster's first take, which names the whole family (one approval per family).
    pub root: Uuid,
    pub parent: Uuid,
    pub parent_take: u32,
    /// This take's number in its family; the first take is 1.
    pub take: u32,
    /// How it was made from its parent, for people: "Vary strong", "Edit words".
    pub via: String,
}

impl PosterRecord {
    /// The poster family this take belongs to: its first take's id.
    pub fn root(&self) -> Uuid {
        self.lineage.as_ref().map_or(self.id, |l| l.root)
    }

    /// This take's number in its family.
    pub fn take(&self) -> u32 {
        self.lineage.as_ref().map_or(1, |l| l.take)
    }
}

/// One unit of work for the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Always [`JOB_VERSION`] when written by this build; see [`JOB_MARKER`].
    marquee_job: u32,
    /// Unique per request; names the stored object, so a duplicate delivery cannot store twice.
    pub id: Uuid,
    #[serde(flatten)]
    pub task: Task,
    pub requester: Requester,
    pub reply_to: ReplyTo,
    /// Unix seconds when the request was accepted.
    pub accepted_at: i64,
    /// The base URL of the front door that accepted the job, under which its poster links are
    /// served (`{public_url}/files/...`); `None` when the deployment configures one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

/// The name of a job's span ([`Job::span`]).
const JOB_SPAN: &str = "job";

impl Job {
    pub fn new(task: Task, requester: Requester, reply_to: ReplyTo, accepted_at: i64) -> Self {
        Self {
            marquee_job: JOB_VERSION,
            id: Uuid::new_v4(),
            task,
            requester,
            reply_to,
            accepted_at,
            public_url: None,
        }
    }

    /// The same job, with links served under `public_url`.
    pub fn with_public_url(mut self, public_url: Option<String>) -> Self {
        self.public_url = public_url;
        self
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
    /// The span every log line of this job is written in: its id, once, instead of a field
    /// added to each event by hand. Inside this job's span already (a run that calls another
    /// step of the same job), that span, so the id is not repeated.
    pub fn span(&self) -> tracing::Span {
        let current = tracing::Span::current();
        if current.metadata().is_some_and(|m| m.name() == JOB_SPAN) {
            return current;
        }
        tracing::info_span!(JOB_SPAN, job = %self.id)
    }

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

/// Every format, in the contact sheet's order: what a formats job without a choice makes.
pub fn every_format() -> Vec<Format> {
    Format::ALL.to_vec()
}

/// A poster job as the Slack door makes one, for other modules' unit tests.
#[doc(hidden)]
pub fn sample_job() -> Job {
    Job::new(
        Task::Poster {
            spec: PosterSpec {
                picture: None,
                description: "a lighthouse keeper fights a kraken".into(),
                text: PosterText::default(),
                style: Style::Horror,
                aspect: Aspect::Portrait2x3,
                seed: Some(7),
                avoid: None,
                model: ModelId::Offline,
                typography: None,
            },
        },
        Requester {
            user_id: "U1".into(),
            user_name: None,
            team_id: None,
            channel_id: None,
            ..Requester::default()
        },
        ReplyTo::response_url("https://hooks.slack.com/commands/T/1/secret"),
        1_700_000_000,
    )
}

/// The record a pipeline keeps of `job`'s poster (a [`Task::Poster`]), made at `created_at`,
/// with a fresh id, for other modules' unit tests.
#[doc(hidden)]
pub fn sample_record(job: &Job, created_at: i64) -> PosterRecord {
    let Task::Poster { spec } = &job.task else {
        unreachable!("a sample record is of a new poster")
    };
    PosterRecord {
        id: Uuid::new_v4(),
        spec: PosterSpec {
            seed: Some(spec.seed.unwrap_or(1)),
            ..spec.clone()
        },
        requester: job.requester.clone(),
        key: "posters/x.png".into(),
        width: 2,
        height: 3,
        missing_glyphs: vec![],
        created_at,
        approved_by: None,
        approved_at: None,
        art_key: None,
        lineage: None,
        arrangement: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        sample_job()
    }

    #[test]
    fn jobs_round_trip_through_json_and_are_recognised() {
        let j = job();
        let value = serde_json::to_value(&j).unwrap();
        assert!(Job::is_job_event(&value));
        assert_eq!(value["marquee_job"], 1);
        assert_eq!(value["task"], "poster");
        assert_eq!(value["spec"]["aspect"], "2:3");
        assert_eq!(Job::from_event(value).unwrap(), j);
    }

    /// A poster from a picture carries it in its spec; a job queued before pictures were
    /// kept (no `picture` key) still parses, as a poster from words.
    #[test]
    fn a_poster_from_a_picture_round_trips_and_older_jobs_still_parse() {
        let mut j = job();
        let Task::Poster { spec } = &mut j.task else {
            panic!("a poster job")
        };
        spec.picture = Some(PictureRef {
            usage: PictureUse::StyleOf,
            reference: "refs/2026/12/07/x.png".into(),
            name: "brand-2026.png".into(),
        });
        let value = serde_json::to_value(&j).unwrap();
        assert_eq!(value["spec"]["picture"]["usage"], "style_of");
        assert_eq!(Job::from_event(value).unwrap(), j);
        let older = serde_json::to_value(job()).unwrap();
        assert!(older["spec"].get("picture").is_none(), "absent, not null");
        let Task::Poster { spec } = Job::from_event(older).unwrap().task else {
            panic!("a poster job")
        };
        assert_eq!(spec.picture, None);
    }

    /// A formats job queued before the choice existed (no `formats`) still parses, as every
    /// format; a chosen subset rides by name.
    #[test]
    fn a_formats_job_without_a_choice_is_every_format() {
        let mut j = job();
        let source = Uuid::new_v4();
        j.task = Task::Formats {
            source,
            formats: vec![Format::Square, Format::Story],
        };
        let mut value = serde_json::to_value(&j).unwrap();
        assert_eq!(value["formats"], serde_json::json!(["square", "story"]));
        assert_eq!(Job::from_event(value.clone()).unwrap(), j);
        value.as_object_mut().unwrap().remove("formats");
        let old = Job::from_event(value).unwrap();
        assert_eq!(
            old.task,
            Task::Formats {
                source,
                formats: Format::ALL.to_vec()
            }
        );
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
    fn follow_up_tasks_round_trip() {
        let mut j = job();
        j.task = Task::Retake {
            source: Uuid::nil(),
            change: Change::Restyle { style: Style::Noir },
        };
        let value = serde_json::to_value(&j).unwrap();
        assert_eq!(value["task"], "retake");
        assert_eq!(value["change"]["kind"], "restyle");
        assert_eq!(Job::from_event(value).unwrap(), j);
    }

    #[test]
    fn usage_and_history_jobs_round_trip() {
        for (task, name) in [(Task::Usage, "usage"), (Task::History, "history")] {
            let mut j = job();
            j.task = task;
            let value = serde_json::to_value(&j).unwrap();
            assert_eq!(value["task"], name);
            assert_eq!(Job::from_event(value).unwrap(), j);
        }
    }

    #[test]
    fn response_urls_are_redacted_in_debug_output() {
        let shown = format!("{:?}", job());
        assert!(!shown.contains("hooks.slack.com"), "{shown}");
        // A workflow step's execution token is as much a bearer capability.
        let mut step = job();
        step.reply_to = ReplyTo::WorkflowStep {
            step: WorkflowStep {
                channel_id: "C07LAUNCH".into(),
                execution_id: "Fx07POSTER01".into(),
                token: WorkflowToken::new("xwfp-1-2-3-secretpart"),
                named_person: false,
            },
        };
        let shown = format!("{step:?}");
        assert!(!shown.contains("secretpart"), "{shown}");
        assert!(shown.contains("Fx07POSTER01"), "{shown}");
        let json = serde_json::to_string(&step).unwrap();
        assert_eq!(serde_json::from_str::<Job>(&json).unwrap(), step);
    }
}
