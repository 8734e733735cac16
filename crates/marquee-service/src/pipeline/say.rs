//! Where the worker's words go: a job's `response_url`, or — for a job that came without one
//! (a mention, a direct message: `ReplyTo::SlackThread`) — its thread, through the Web API
//! with the bot token, private notes as ephemeral messages to the requester there.

use super::Pipeline;
use super::deliver::Delivery;
use marquee_core::job::{Job, ReplyTo};
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
