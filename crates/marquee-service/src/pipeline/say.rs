//! Where the worker's words go: a job's `response_url`, or — for a job that came without one
//! (a mention, a direct message: `ReplyTo::SlackThread`) — its thread, through the Web API
//! with the bot token, private notes as ephemeral messages to the requester there. A workflow
//! step's job (`ReplyTo::WorkflowStep`) has nobody to whisper to: what the worker would tell
//! its requester privately is why it made no poster, so the step fails with those words
//! (`functions.completeError`, with the execution's own token), which Slack shows the
//! workflow's people.

use super::Pipeline;
use super::deliver::Delivery;
use marquee_core::job::{Job, ReplyTo};
use marquee_core::secret::Secret;
use marquee_core::slack::SlackError;
use marquee_core::slack::blocks::Message;

impl Pipeline {
    /// Posts `message` wherever `job` is answered (see [`Delivery::say`]).
    pub(super) async fn say(&self, job: &Job, message: &Message) -> Result<(), SlackError> {
        self.delivery.say(job, message).await
    }
}

impl Delivery {
    /// Posts `message` wherever `job` is answered: its `response_url`, or its thread.
    pub(super) async fn say(&self, job: &Job, message: &Message) -> Result<(), SlackError> {
        match &job.reply_to {
            ReplyTo::SlackThread { thread } => {
                let web = self.web().ok_or(SlackError::NoBotToken)?;
                let (channel, ts) = (&thread.channel_id, Some(thread.thread_ts.as_str()));
                if message.is_private() {
                    web.post_ephemeral(channel, &job.requester.user_id, ts, message)
                        .await?;
                } else {
                    web.post_message(channel, ts, message).await?;
                }
                Ok(())
            }
            ReplyTo::WorkflowStep { step } => {
                let web = self.web().ok_or(SlackError::NoBotToken)?;
                if message.is_private() {
                    let as_step = web.with_token(Secret::new(step.token.expose()));
                    as_step
                        .fail_step(&step.execution_id, &message.plain_text())
                        .await?;
                    tracing::info!(
                        execution = step.execution_id,
                        "workflow step failed with what the requester would have been told"
                    );
                } else {
                    web.post_message(&step.channel_id, None, message).await?;
                }
                Ok(())
            }
            // Whatever the worker says to someone who opened Home is published there.
            ReplyTo::AppHome => {
                let web = self.web().ok_or(SlackError::NoBotToken)?;
                let view = marquee_core::slack::home::home_note(message);
                web.publish_view(&job.requester.user_id, &view).await?;
                Ok(())
            }
            other => self.slack().respond(other.slack_url(), message).await,
        }
    }
}
