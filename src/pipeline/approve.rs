//! Approval: recorded with the poster, shown on its message.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Outcome, Pipeline, PipelineError};
use crate::errors::ErrorChain;
use crate::job::{Job, ReplyTo};
use crate::slack::blocks::{self, PosterResult};

impl Pipeline {
    /// Records the approval with the stored poster and shows it on the message, rebuilt from
    /// the record with a fresh link. When Slack will not update the message, the approver is
    /// told that the approval stands anyway.
    pub(super) async fn approve(
        &self,
        job: &Job,
        source: Uuid,
    ) -> Result<Outcome, (PipelineError, String)> {
        let ReplyTo::SlackResponseUrl { response_url, .. } = &job.reply_to;
        let mut record = self.record(source).await.map_err(|e| (e, String::new()))?;
        let description = record.spec.description.clone();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        record.approved_by = Some(job.requester.user_id.clone());
        record.approved_at = Some(now);
        self.put_record(&record)
            .await
            .map_err(|e| (e, description.clone()))?;
        tracing::info!(job = %job.id, %source, "poster approved");
        let link = self
            .link(&record.key, job.public_url.as_deref())
            .map_err(|e| (e, description.clone()))?;
        let shown = PosterResult {
            spec: &record.spec,
            requester_id: &record.requester.user_id,
            url: &link.url,
            expires_at: link.expires_at.unix_timestamp(),
            seed: record.spec.seed.unwrap_or_default(),
            width: record.width,
            height: record.height,
            controls: None,
            note: None,
            missing_glyphs: &record.missing_glyphs,
        };
        let message = blocks::approved(&shown, &job.requester.user_id, now);
        let refused = match self.slack.respond(response_url, &message).await {
            Ok(()) => return Ok(Outcome::Delivered),
            Err(e) => e,
        };
        tracing::warn!(job = %job.id, error = %ErrorChain(&refused), "approval recorded but the message could not be updated");
        let note = blocks::note_to_clicker(
            "✅ Your approval is recorded, but Slack wouldn't update the poster message to show it. The approval stands; the buttons may still show until the message is refreshed.",
        );
        match self.slack.respond(response_url, &note).await {
            Ok(()) => Ok(Outcome::FailedAndTold {
                kind: "ApprovalNotShown",
            }),
            Err(e) => {
                tracing::error!(job = %job.id, error = %ErrorChain(&e), "could not tell the approver either");
                Ok(Outcome::Undeliverable {
                    kind: "SlackRejected",
                })
            }
        }
    }
}
