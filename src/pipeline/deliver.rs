//! Delivery: the finished poster into Slack — the Web API with a bot token, else the
//! `response_url` — and what the requester is told when Slack will not take it.

use tokio::time::Instant;

use super::{Outcome, Pipeline, Rendered};
use crate::errors::ErrorChain;
use crate::job::{Job, PosterSpec};
use crate::metrics::{Event, Failure};
use crate::model::EditKind;
use crate::slack::SlackError;
use crate::slack::blocks::{self, PosterResult};
use crate::slack::interaction::Controls;
use crate::store::Link;

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
        let response_url = job.reply_to.slack_url();
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
            match web.post_message(&channel, thread_ts, &message).await {
                Ok(ts) => {
                    let root = thread_ts.unwrap_or(&ts);
                    let title = spec
                        .text
                        .title
                        .clone()
                        .unwrap_or_else(|| crate::poster::default_title(&spec.description));
                    let alt = format!("Movie poster: {}", spec.description);
                    match web
                        .upload_file(
                            &channel,
                            Some(root),
                            &format!("poster-{}.png", rendered.id),
                            &title,
                            &alt,
                            rendered.png.clone(),
                        )
                        .await
                    {
                        Ok(file) => {
                            tracing::info!(job = %job.id, file, "poster uploaded into slack")
                        }
                        Err(e) => {
                            tracing::warn!(job = %job.id, code = e.code(), error = %ErrorChain(&e), "poster posted, but the upload into slack failed; the link remains");
                            if is_not_member(&e) {
                                self.tell_how_to_keep_posters(job, response_url, &rendered.link)
                                    .await;
                            }
                        }
                    }
                    tracing::info!(job = %job.id, threaded = thread_ts.is_some(), "poster delivered through the web api");
                    return Outcome::Delivered;
                }
                Err(e) if e.is_definite_refusal() => {
                    not_a_member = is_not_member(&e);
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
                    return match self.slack.respond(response_url, &note).await {
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
        let mut sent = self.slack.respond(response_url, &message).await;
        if let Err(e) = &sent {
            if e.is_invalid_blocks() {
                // Slack could not fetch the image (a firewall, a bucket policy): the link
                // still works in a browser, so post it without the image block.
                tracing::warn!(job = %job.id, "slack could not show the image; posting the link alone");
                sent = self
                    .slack
                    .respond(response_url, &blocks::poster_link_only(&result, controls))
                    .await;
            }
        }
        match sent {
            Ok(()) => {
                tracing::info!(job = %job.id, slack_ms = posting.elapsed().as_millis() as u64, "poster delivered");
                if not_a_member {
                    self.tell_how_to_keep_posters(job, response_url, &rendered.link)
                        .await;
                }
                Outcome::Delivered
            }
            Err(e) => {
                self.tell_failure(job, response_url, &DeliveryFailed(e), &spec.description)
                    .await
            }
        }
    }

    /// Tells the requester, privately and once for this poster, that the bot is not in the
    /// channel, so the poster is a link that expires rather than a file that stays, and how to
    /// change that. Best effort: the poster itself was delivered.
    async fn tell_how_to_keep_posters(&self, job: &Job, response_url: &str, link: &Link) {
        let note = blocks::membership_tip(link.expires_at.unix_timestamp());
        if let Err(e) = self.slack.respond(response_url, &note).await {
            tracing::warn!(job = %job.id, error = %ErrorChain(&e), "could not send the channel-membership tip");
        }
    }

    async fn tell_failure(
        &self,
        job: &Job,
        response_url: &str,
        failure: &DeliveryFailed,
        description: &str,
    ) -> Outcome {
        tracing::warn!(job = %job.id, error = %ErrorChain(&failure.0), "could not post the poster to slack");
        self.metrics.record(Event::Failure(Failure::Delivery));
        // An expired or forbidden response_url will not take a second message either.
        if matches!(failure.0, SlackError::ForbiddenUrl)
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
        match self.slack.respond(response_url, &message).await {
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

/// Whether a Web API refusal means the bot is not a member of the channel: `not_in_channel`,
/// or `channel_not_found` for a private channel it cannot see.
fn is_not_member(e: &crate::slack::web::WebError) -> bool {
    matches!(e.code(), Some("not_in_channel" | "channel_not_found"))
}
