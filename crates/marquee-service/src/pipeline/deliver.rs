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

use tokio::time::Instant;

use super::{Outcome, Pipeline, Rendered};
use marquee_core::errors::ErrorChain;
use marquee_core::job::{Job, PosterSpec};
use marquee_core::metrics::{Event, Failure};
use marquee_core::model::EditKind;
use marquee_core::slack::SlackError;
use marquee_core::slack::blocks::{self, PosterResult};
use marquee_core::slack::interaction::Controls;
use marquee_core::slack::web::WebClient;
use marquee_core::store::Link;

impl Pipeline {
    /// Posts a finished poster: into Slack through the Web API when there is a bot token (in
    /// the original poster's thread for follow-ups, with the PNG uploaded so it outlives its
    /// link), otherwise, or when that fails, to the `response_url`.
    pub(super) async fn deliver(
        &self,
        job: &Job,
        spec: &PosterSpec,
        rendered: &Rendered,
        note: Option<String>,
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
            change_detail: self.models.can(spec.model, EditKind::Replace),
            print: false,
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
            let title = spec
                .text
                .title
                .clone()
                .unwrap_or_else(|| marquee_core::poster::default_title(&spec.description));
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
                        tracing::warn!(job = %job.id, code = e.code(), error = %ErrorChain(&e), "the upload into slack failed; the take shows its link");
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
                tracing::warn!(job = %job.id, "slack refused the uploaded file in the message; showing the link");
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
                                        tracing::info!(job = %job.id, file, "poster uploaded into slack and shown from there");
                                        self.keep_shown_file(job, rendered, &file).await;
                                    }
                                    Err(e) => {
                                        tracing::warn!(job = %job.id, code = e.code(), error = %ErrorChain(&e), "poster uploaded into its thread, but the message still shows its link")
                                    }
                                }
                            }
                            Err(e) => {
                                tracing::warn!(job = %job.id, code = e.code(), error = %ErrorChain(&e), "poster posted, but the upload into slack failed; the link remains");
                                if is_not_member(&e) {
                                    self.tell_how_to_keep_posters(job, &rendered.link).await;
                                }
                            }
                        },
                        Some(_) if upload_not_member => {
                            self.tell_how_to_keep_posters(job, &rendered.link).await;
                        }
                        Some(_) => {
                            if let Some(file) = &uploaded {
                                self.keep_shown_file(job, rendered, file).await;
                            }
                        }
                    }
                    tracing::info!(job = %job.id, threaded = thread_ts.is_some(), shows_file = uploaded.is_some(), "poster delivered through the web api");
                    return Outcome::Delivered;
                }
                Err(e) if e.is_definite_refusal() => {
                    not_a_member = is_not_member(&e) || upload_not_member;
                    tracing::warn!(job = %job.id, code = e.code(), error = %ErrorChain(&e), "web api delivery refused; using the response_url");
                }
                Err(e) => {
                    // Slack may have posted it (a timeout, a 5xx): posting again through the
                    // response_url could show the poster twice. Tell the requester privately
                    // instead, with the link, so nothing is lost either way.
                    tracing::warn!(job = %job.id, error = %ErrorChain(&e), "web api delivery unconfirmed; not posting again");
                    let note = blocks::delivery_unconfirmed(
                        &rendered.link.url,
                        rendered.link.expires_at.unix_timestamp(),
                    );
                    return match self.say(job, &note).await {
                        Ok(()) => Outcome::Delivered,
                        Err(e) => {
                            tracing::error!(job = %job.id, error = %ErrorChain(&e), "could not tell the requester that delivery is unconfirmed");
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
                tracing::warn!(job = %job.id, "slack could not show the image; posting the link alone");
                sent = self
                    .say(job, &blocks::poster_link_only(&result, controls))
                    .await;
            }
        }
        match sent {
            Ok(()) => {
                tracing::info!(job = %job.id, slack_ms = posting.elapsed().as_millis() as u64, "poster delivered");
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

    /// Remembers the Slack file the take's message now shows, for rebuilds of the message
    /// (an approval). Best effort: without it a rebuild shows the link, as without a token.
    async fn keep_shown_file(&self, job: &Job, rendered: &Rendered, file: &str) {
        if let Err(e) = self.remember_file(rendered.id, file).await {
            tracing::warn!(job = %job.id, error = %ErrorChain(&e), "could not remember the take's slack file; a rebuilt message will show its link");
        }
    }

    /// Tells the requester, privately and once for this poster, that the bot is not in the
    /// channel, so the poster is a link that expires rather than a file that stays, and how to
    /// change that. Best effort: the poster itself was delivered.
    async fn tell_how_to_keep_posters(&self, job: &Job, link: &Link) {
        let note = blocks::membership_tip(link.expires_at.unix_timestamp());
        if let Err(e) = self.say(job, &note).await {
            tracing::warn!(job = %job.id, error = %ErrorChain(&e), "could not send the channel-membership tip");
        }
    }

    async fn tell_failure(
        &self,
        job: &Job,
        failure: &DeliveryFailed,
        description: &str,
    ) -> Outcome {
        tracing::warn!(job = %job.id, error = %ErrorChain(&failure.0), "could not post the poster to slack");
        self.metrics.record(Event::Failure(Failure::Delivery));
        // An expired or forbidden response_url will not take a second message either.
        if matches!(failure.0, SlackError::ForbiddenUrl | SlackError::NoBotToken)
            || matches!(&failure.0, SlackError::Rejected { reason, .. } if reason.contains("expired") || reason.contains("used_url"))
        {
            tracing::error!(job = %job.id, "poster made but undeliverable: the response_url can no longer be used");
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
                tracing::error!(job = %job.id, error = %ErrorChain(&e), "slack unreachable; poster undeliverable");
                Outcome::Undeliverable {
                    kind: "SlackUnreachable",
                }
            }
        }
    }
}

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
