//! Delivery: the finished poster into Slack — the Web API with a bot token, else the
//! `response_url` — and what the requester is told when Slack will not take it.
//!
//! With a bot token the poster's PNG is uploaded into the poster's thread and the message's
//! image is that file (an image block's `slack_file`), so the channel's image never depends
//! on the expiring link: a follow-up take uploads first and posts its message showing the
//! file; a first take has no thread until its message is posted, so it posts with the link,
//! uploads into the new thread and points the message at the file (`chat.update`). Without a
//! token the message shows the link and says when it expires. The file shown is remembered
//! with the take, so a rebuild of its message (an approval) shows it again.
//!
//! A workflow step's poster is posted at the top of the step's channel, then the step is
//! completed once (`functions.completeSuccess` with the execution's own token) with the
//! poster's link and the message's permalink; a message Slack refuses fails the step instead,
//! in words the workflow's people can act on.

use tokio::time::Instant;

use super::{Outcome, Rendered};
use marquee_core::errors::ErrorChain;
use marquee_core::job::{Job, PosterSpec, ReplyTo};
use marquee_core::metrics::{Event, Failure, Metrics};
use marquee_core::secret::Secret;
use marquee_core::slack::blocks::{self, PosterResult};
use marquee_core::slack::files::FileFetcher;
use marquee_core::slack::interaction::Controls;
use marquee_core::slack::web::WebClient;
use marquee_core::slack::{SlackClient, SlackError};
use marquee_core::store::Link;

/// Everything that reaches Slack: the Web API (when the workspace gave Marquee a bot token)
/// and `response_url`s, with what the requester is told when Slack will not take a message.
/// Cheap to clone: the HTTP clients are shared.
#[derive(Clone)]
pub struct Delivery {
    slack: SlackClient,
    /// The Web API, when the workspace gave Marquee a bot token.
    web: Option<WebClient>,
    /// Downloads of pictures people upload (Use a picture…), with the same bot token.
    files: Option<FileFetcher>,
    /// Where failed deliveries are counted.
    metrics: Metrics,
}

/// A poster delivered (or not), and the Slack file its message now shows, if it shows one:
/// the pipeline remembers it with the take, so a rebuilt message shows the file again.
pub(super) struct Posted {
    pub(super) outcome: Outcome,
    pub(super) shown_file: Option<String>,
}

/// The edits a take's message offers beyond those every take has: each only where someone
/// here can make it for the take's model.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Offers {
    /// Change a detail (the model, or Search and Replace, edits its art).
    pub(super) change_detail: bool,
    /// Formats… (the offline generator re-composes its art, or Outpaint grows it).
    pub(super) formats: bool,
    /// Use a picture… (a model here can start from, draw in the style of, or restyle like
    /// an uploaded picture for the take's model).
    pub(super) use_picture: bool,
}

impl Delivery {
    /// Delivers through `slack`'s `response_url`s only (no bot token), counting nothing.
    pub fn new(slack: SlackClient) -> Self {
        Self {
            slack,
            web: None,
            files: None,
            metrics: Metrics::off(),
        }
    }

    pub(super) fn set_web(&mut self, web: WebClient) {
        self.web = Some(web);
    }

    pub(super) fn set_files(&mut self, files: FileFetcher) {
        self.files = Some(files);
    }

    /// The downloader of uploaded pictures, when the workspace gave Marquee a bot token.
    pub(crate) fn files(&self) -> Option<&FileFetcher> {
        self.files.as_ref()
    }

    pub(super) fn set_metrics(&mut self, metrics: Metrics) {
        self.metrics = metrics;
    }

    /// The Web API client, when the workspace gave Marquee a bot token.
    pub(crate) fn web(&self) -> Option<&WebClient> {
        self.web.as_ref()
    }

    /// The `response_url` client (and its allow-list).
    pub(crate) fn slack(&self) -> &SlackClient {
        &self.slack
    }

    /// Posts `message` to `response_url`.
    pub(crate) async fn respond(
        &self,
        response_url: &str,
        message: &blocks::Message,
    ) -> Result<(), SlackError> {
        self.slack.respond(response_url, message).await
    }

    /// Posts `message` to the job's `response_url`: the job ends `told` when Slack took it,
    /// `Undeliverable` when it did not.
    pub(super) async fn reply(
        &self,
        job: &Job,
        message: &blocks::Message,
        told: Outcome,
    ) -> Outcome {
        match self.say(job, message).await {
            Ok(()) => told,
            Err(e) => {
                tracing::error!(error = %ErrorChain(&e), "could not reply to the requester");
                super::undeliverable(&e)
            }
        }
    }

    /// Posts a finished poster: into Slack through the Web API when there is a bot token (in
    /// the original poster's thread for follow-ups, with the PNG uploaded so it outlives its
    /// link), otherwise, or when that fails, to the `response_url`. `edits`: what the message
    /// offers beyond the controls every take has.
    pub(super) async fn poster(
        &self,
        job: &Job,
        spec: &PosterSpec,
        rendered: &Rendered,
        note: Option<String>,
        edits: Offers,
    ) -> Posted {
        let mut shown_file = None;
        let outcome = self
            .poster_showing(job, spec, rendered, note, edits, &mut shown_file)
            .await;
        Posted {
            outcome,
            shown_file,
        }
    }

    async fn poster_showing(
        &self,
        job: &Job,
        spec: &PosterSpec,
        rendered: &Rendered,
        note: Option<String>,
        edits: Offers,
        shown_file: &mut Option<String>,
    ) -> Outcome {
        let thread = job.reply_to.thread();
        let result = PosterResult {
            spec,
            requester_id: &job.requester.user_id,
            url: &rendered.link.url,
            expires_at: rendered.link.expires_at.unix_timestamp(),
            seed: rendered.seed,
            width: rendered.width,
            height: rendered.height,
            controls: Some(rendered.id),
            note,
            missing_glyphs: &rendered.missing_glyphs,
        };
        let controls = Controls {
            modals: self.web.is_some(),
            change_detail: edits.change_detail,
            print: false,
            formats: edits.formats,
            use_picture: edits.use_picture,
        };
        let message = blocks::poster_with(&result, controls);

        let channel = thread
            .as_ref()
            .map(|t| t.channel_id.clone())
            .or_else(|| job.requester.channel_id.clone());
        // Set when the bot token works but the bot is not in the channel, so the poster ends up
        // as an expiring link instead of a file in the channel's history.
        let mut not_a_member = false;
        if let (Some(web), Some(channel)) = (&self.web, channel) {
            let thread_ts = thread.as_ref().map(|t| t.thread_ts.as_str());
            let title = spec.title();
            let upload = Upload {
                filename: format!("poster-{}.png", rendered.id),
                title,
                alt: format!("Movie poster: {}", spec.description),
            };
            // A follow-up's thread exists already: its PNG goes into the thread first, and the
            // take's message shows that file (`slack_file`), which lasts as long as the
            // message, where its link expires.
            let mut uploaded = None;
            let mut upload_not_member = false;
            if let Some(root) = thread_ts {
                match upload.share_in(web, &channel, root, rendered).await {
                    Ok(file) => uploaded = Some(file),
                    Err(e) => {
                        tracing::warn!(code = e.code(), error = %ErrorChain(&e), "the upload into slack failed; the take shows its link");
                        upload_not_member = is_not_member(&e);
                    }
                }
            }
            let mut posted = match &uploaded {
                Some(file) => {
                    web.post_message(&channel, thread_ts, &blocks::showing_file(&message, file))
                        .await
                }
                None => web.post_message(&channel, thread_ts, &message).await,
            };
            if uploaded.is_some() && matches!(&posted, Err(e) if e.code() == Some("invalid_blocks"))
            {
                // Slack would not show the file (still processing, or not visible here): the
                // message is posted with its link instead, as without an upload.
                tracing::warn!("slack refused the uploaded file in the message; showing the link");
                posted = web.post_message(&channel, thread_ts, &message).await;
                uploaded = None;
            }
            match posted {
                Ok(ts) => {
                    match thread_ts {
                        // A first take has no thread until now: its PNG goes into the new
                        // thread, and the message is pointed at that file.
                        None => match upload.share_in(web, &channel, &ts, rendered).await {
                            Ok(file) => {
                                let shown = blocks::showing_file(&message, &file);
                                match web.update_message(&channel, &ts, &shown).await {
                                    Ok(()) => {
                                        tracing::info!(
                                            file,
                                            "poster uploaded into slack and shown from there"
                                        );
                                        *shown_file = Some(file);
                                    }
                                    Err(e) => {
                                        tracing::warn!(code = e.code(), error = %ErrorChain(&e), "poster uploaded into its thread, but the message still shows its link")
                                    }
                                }
                            }
                            Err(e) => {
                                tracing::warn!(code = e.code(), error = %ErrorChain(&e), "poster posted, but the upload into slack failed; the link remains");
                                if is_not_member(&e) {
                                    self.tell_how_to_keep_posters(job, &rendered.link).await;
                                }
                            }
                        },
                        Some(_) if upload_not_member => {
                            self.tell_how_to_keep_posters(job, &rendered.link).await;
                        }
                        Some(_) => {
                            shown_file.clone_from(&uploaded);
                        }
                    }
                    tracing::info!(
                        threaded = thread_ts.is_some(),
                        shows_file = uploaded.is_some(),
                        "poster delivered through the web api"
                    );
                    self.complete_step(job, web, &channel, &ts, &rendered.link)
                        .await;
                    return Outcome::Delivered;
                }
                Err(e) if is_step(job) && e.is_definite_refusal() => {
                    // A step has no response_url to fall back on: it fails, saying what to do.
                    tracing::warn!(code = e.code(), error = %ErrorChain(&e), "slack refused a workflow step's poster");
                    let why = if is_not_member(&e) {
                        STEP_NOT_A_MEMBER
                    } else {
                        STEP_REFUSED
                    };
                    let told = Outcome::FailedAndTold {
                        kind: "StepNotPosted",
                    };
                    return self.reply(job, &blocks::note_to_clicker(why), told).await;
                }
                Err(e) if e.is_definite_refusal() => {
                    not_a_member = is_not_member(&e) || upload_not_member;
                    tracing::warn!(code = e.code(), error = %ErrorChain(&e), "web api delivery refused; using the response_url");
                }
                Err(e) => {
                    // Slack may have posted it (a timeout, a 5xx): posting again through the
                    // response_url could show the poster twice. Tell the requester privately
                    // instead, with the link, so nothing is lost either way.
                    tracing::warn!(error = %ErrorChain(&e), "web api delivery unconfirmed; not posting again");
                    let note = blocks::delivery_unconfirmed(
                        &rendered.link.url,
                        rendered.link.expires_at.unix_timestamp(),
                    );
                    return match self.say(job, &note).await {
                        Ok(()) => Outcome::Delivered,
                        Err(e) => {
                            tracing::error!(error = %ErrorChain(&e), "could not tell the requester that delivery is unconfirmed");
                            self.metrics.record(Event::Failure(Failure::Delivery));
                            Outcome::Undeliverable {
                                kind: "SlackUnconfirmed",
                            }
                        }
                    };
                }
            }
        }

        let posting = Instant::now();
        let mut sent = self.say(job, &message).await;
        if let Err(e) = &sent {
            if e.is_invalid_blocks() {
                // Slack could not fetch the image (a firewall, a bucket policy): the link
                // still works in a browser, so post it without the image block.
                tracing::warn!("slack could not show the image; posting the link alone");
                sent = self
                    .say(job, &blocks::poster_link_only(&result, controls))
                    .await;
            }
        }
        match sent {
            Ok(()) => {
                tracing::info!(
                    slack_ms = posting.elapsed().as_millis() as u64,
                    "poster delivered"
                );
                if not_a_member {
                    self.tell_how_to_keep_posters(job, &rendered.link).await;
                }
                Outcome::Delivered
            }
            Err(e) => {
                self.tell_failure(job, &DeliveryFailed(e), &spec.description)
                    .await
            }
        }
    }

    /// Tells the requester, privately and once for this poster, that the bot is not in the
    /// channel, so the poster is a link that expires rather than a file that stays, and how to
    /// change that. Best effort: the poster itself was delivered.
    async fn tell_how_to_keep_posters(&self, job: &Job, link: &Link) {
        if is_step(job) {
            // The step's outcome is its completion; a private tip would fail it.
            return;
        }
        let note = blocks::membership_tip(link.expires_at.unix_timestamp());
        if let Err(e) = self.say(job, &note).await {
            tracing::warn!(error = %ErrorChain(&e), "could not send the channel-membership tip");
        }
    }

    async fn tell_failure(
        &self,
        job: &Job,
        failure: &DeliveryFailed,
        description: &str,
    ) -> Outcome {
        tracing::warn!(error = %ErrorChain(&failure.0), "could not post the poster to slack");
        self.metrics.record(Event::Failure(Failure::Delivery));
        // An expired or forbidden response_url will not take a second message either.
        if matches!(failure.0, SlackError::ForbiddenUrl | SlackError::NoBotToken)
            || matches!(&failure.0, SlackError::Rejected { reason, .. } if reason.contains("expired") || reason.contains("used_url"))
        {
            tracing::error!(
                "poster made but undeliverable: the response_url can no longer be used"
            );
            return Outcome::Undeliverable {
                kind: super::SLACK_REFUSED,
            };
        }
        let message = blocks::failure(
            "Your poster was made, but Slack would not accept the message.",
            "Please try again; if it keeps happening, tell your Marquee admin.",
            description,
        );
        match self.say(job, &message).await {
            Ok(()) => Outcome::FailedAndTold {
                kind: "SlackRejected",
            },
            Err(e) => {
                tracing::error!(error = %ErrorChain(&e), "slack unreachable; poster undeliverable");
                Outcome::Undeliverable {
                    kind: "SlackUnreachable",
                }
            }
        }
    }
}

impl Delivery {
    /// Completes `job`'s workflow step, if it is one, with the poster's `link` and the
    /// permalink of message `ts` in `channel`: `functions.completeSuccess`, once, with the
    /// execution's own token. Best effort: the poster is in the channel either way, and a
    /// completion whose answer was lost is not sent again (Slack answers a second one
    /// `execution_not_in_running_state`).
    async fn complete_step(
        &self,
        job: &Job,
        web: &WebClient,
        channel: &str,
        ts: &str,
        link: &Link,
    ) {
        let ReplyTo::WorkflowStep { step } = &job.reply_to else {
            return;
        };
        let mut outputs = serde_json::json!({ "poster_url": link.url });
        match web.permalink(channel, ts).await {
            Ok(permalink) if !permalink.is_empty() => {
                outputs["message_link"] = permalink.into();
            }
            Ok(_) => tracing::warn!("slack gave no permalink for a workflow step's poster"),
            Err(e) => {
                tracing::warn!(code = e.code(), error = %ErrorChain(&e), "no permalink for a workflow step's poster; completing with its link alone")
            }
        }
        let as_step = web.with_token(Secret::new(step.token.expose()));
        match as_step.complete_step(&step.execution_id, &outputs).await {
            Ok(()) => tracing::info!(execution = step.execution_id, "workflow step completed"),
            Err(e) => {
                tracing::error!(execution = step.execution_id, code = e.code(), error = %ErrorChain(&e), "could not complete a workflow step whose poster was posted")
            }
        }
    }
}

/// Whether `job` is a workflow step's.
fn is_step(job: &Job) -> bool {
    matches!(job.reply_to, ReplyTo::WorkflowStep { .. })
}

/// Why a workflow step's poster is not in its channel: the bot may not post there.
const STEP_NOT_A_MEMBER: &str = "Marquee made the poster but may not post in that channel. Add Marquee to the channel (/invite @Marquee) or choose another channel in the step, then run the workflow again.";
/// Why a workflow step's poster is not in its channel: Slack refused the message.
const STEP_REFUSED: &str = "Marquee made the poster but Slack would not accept the message. Run the workflow again; if it keeps happening, tell your Marquee admin.";

struct DeliveryFailed(SlackError);

/// A poster's PNG as it is uploaded into Slack.
struct Upload {
    filename: String,
    title: String,
    alt: String,
}

impl Upload {
    /// Uploads the PNG into `channel`'s thread under `thread_ts` (shared there, so the bot's
    /// messages in the channel may show it); returns the file's id.
    async fn share_in(
        &self,
        web: &WebClient,
        channel: &str,
        thread_ts: &str,
        rendered: &Rendered,
    ) -> Result<String, marquee_core::slack::web::WebError> {
        web.upload_file(
            channel,
            Some(thread_ts),
            &self.filename,
            &self.title,
            &self.alt,
            rendered.png.clone(),
        )
        .await
    }
}

/// Whether a Web API refusal means the bot is not a member of the channel: `not_in_channel`,
/// or `channel_not_found` for a private channel it cannot see.
pub(crate) fn is_not_member(e: &marquee_core::slack::web::WebError) -> bool {
    matches!(e.code(), Some("not_in_channel" | "channel_not_found"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use marquee_core::job::sample_job;
    use marquee_core::metrics::Metric;

    fn rendered() -> Rendered {
        Rendered {
            id: uuid::Uuid::new_v4(),
            key: "posters/x.png".into(),
            link: Link {
                url: "https://files.example/posters/x.png?sig=abc".into(),
                expires_at: time::OffsetDateTime::now_utc(),
            },
            png: vec![1, 2, 3],
            missing_glyphs: Vec::new(),
            model: marquee_core::model::ModelId::Offline,
            seed: 7,
            width: 2,
            height: 3,
        }
    }

    /// A `response_url` outside the allow-list is never posted to: the reply ends the job
    /// undeliverable, as a refusal (no later message can get through either).
    #[tokio::test]
    async fn a_reply_to_a_url_outside_the_allow_list_is_refused() {
        let delivery = Delivery::new(SlackClient::new(
            marquee_core::net::client(),
            &["https://slack.example".to_owned()],
        ));
        let job = sample_job();
        assert!(!delivery.slack().is_allowed(job.reply_to.slack_url()));
        let told = Outcome::Delivered;
        assert_eq!(
            delivery
                .reply(&job, &blocks::note_to_clicker("hi"), told)
                .await,
            Outcome::Undeliverable {
                kind: super::super::SLACK_REFUSED
            }
        );
    }

    /// Without a bot token a poster goes to the `response_url` alone; when that is refused the
    /// failure is counted, nothing else is tried, and no Slack file is shown.
    #[tokio::test]
    async fn a_poster_slack_refuses_is_counted_and_shows_no_file() {
        let (metrics, recorded) = Metrics::recorded();
        let mut delivery = Delivery::new(SlackClient::new(marquee_core::net::client(), &[]));
        delivery.set_metrics(metrics);
        assert!(delivery.web().is_none());
        let job = sample_job();
        let marquee_core::job::Task::Poster { spec } = &job.task else {
            unreachable!()
        };
        let posted = delivery
            .poster(&job, spec, &rendered(), None, Offers::default())
            .await;
        assert_eq!(
            posted.outcome,
            Outcome::Undeliverable {
                kind: super::super::SLACK_REFUSED
            }
        );
        assert_eq!(posted.shown_file, None);
        assert_eq!(recorded.of(Metric::Failure).len(), 1);
    }
}
