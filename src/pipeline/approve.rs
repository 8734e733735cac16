//! Approval: who may approve, first approval wins, shown on the poster's message.

use uuid::Uuid;

use super::records::{Approval, now};
use super::{Outcome, Pipeline, PipelineError, undeliverable};
use crate::errors::ErrorChain;
use crate::job::{Job, PosterRecord};
use crate::slack::blocks::{self, PosterResult};

/// Who may approve a poster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Approvers {
    /// Any member of the poster's workspace except whoever asked for it: a review needs a
    /// second pair of eyes.
    #[default]
    AnyoneButRequester,
    /// Any member of the poster's workspace, the requester included.
    Anyone,
    /// Only these Slack user ids.
    Only(Vec<String>),
}

/// Why a click may not approve.
fn refusal(approvers: &Approvers, record: &PosterRecord, job: &Job) -> Option<&'static str> {
    let clicker = &job.requester;
    // A poster shared into another workspace (Slack Connect) is not that workspace's to
    // approve.
    if let (Some(theirs), Some(ours)) = (&clicker.team_id, &record.requester.team_id) {
        if theirs != ours {
            return Some(
                "🚫 Only members of the workspace this poster was made in can approve it.",
            );
        }
    }
    match approvers {
        Approvers::Anyone => None,
        Approvers::AnyoneButRequester if clicker.user_id == record.requester.user_id => Some(
            "🚫 You asked for this poster, so someone else needs to approve it — share it with a reviewer.",
        ),
        Approvers::AnyoneButRequester => None,
        Approvers::Only(ids) if ids.contains(&clicker.user_id) => None,
        Approvers::Only(_) => Some(
            "🚫 Only the reviewers your Marquee admin named can approve posters. Ask one of them to take a look.",
        ),
    }
}

impl Pipeline {
    /// Records the approval with the stored poster and shows it on the message, rebuilt from
    /// the record with a fresh link. When Slack will not update the message, the approver is
    /// told that the approval stands anyway.
    pub(super) async fn approve(
        &self,
        job: &Job,
        source: Uuid,
    ) -> Result<Outcome, (PipelineError, String)> {
        let response_url = job.reply_to.slack_url();
        let mut record = self.record(source).await.map_err(|e| (e, String::new()))?;
        let description = record.spec.description.clone();
        if let Some(why) = refusal(&self.approvers, &record, job) {
            tracing::info!(job = %job.id, %source, "approval refused: not an approver");
            return self
                .tell_clicker(job, &blocks::note_to_clicker(why), "NotAnApprover")
                .await;
        }
        let now = now();
        let approval = Approval {
            by: job.requester.user_id.clone(),
            at: now,
        };
        if let Some(first) = self
            .claim_approval(&record, &approval)
            .await
            .map_err(|e| (e, description.clone()))?
        {
            tracing::info!(job = %job.id, %source, "approval refused: already approved");
            return self
                .tell_clicker(
                    job,
                    &blocks::already_approved(&first.by, first.at),
                    "AlreadyApproved",
                )
                .await;
        }
        record.approved_by = Some(approval.by.clone());
        record.approved_at = Some(now);
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
                Ok(undeliverable(&e))
            }
        }
    }

    /// Tells the clicker, privately, why nothing happened.
    async fn tell_clicker(
        &self,
        job: &Job,
        note: &blocks::Message,
        kind: &'static str,
    ) -> Result<Outcome, (PipelineError, String)> {
        let response_url = job.reply_to.slack_url();
        match self.slack.respond(response_url, note).await {
            Ok(()) => Ok(Outcome::FailedAndTold { kind }),
            Err(e) => {
                tracing::error!(job = %job.id, error = %ErrorChain(&e), "could not tell the clicker");
                Ok(undeliverable(&e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{Requester, Task, sample_job};

    fn record_by(user: &str, team: &str) -> PosterRecord {
        let job = sample_job();
        let Task::Poster { spec } = job.task else {
            unreachable!()
        };
        PosterRecord {
            id: Uuid::nil(),
            spec,
            requester: Requester {
                user_id: user.into(),
                user_name: None,
                team_id: Some(team.into()),
                channel_id: None,
            },
            key: "posters/x.png".into(),
            width: 1,
            height: 1,
            missing_glyphs: vec![],
            created_at: 0,
            approved_by: None,
            approved_at: None,
        }
    }

    fn click_by(user: &str, team: &str) -> Job {
        let mut job = sample_job();
        job.requester.user_id = user.into();
        job.requester.team_id = Some(team.into());
        job
    }

    #[test]
    fn by_default_anyone_but_the_requester_approves() {
        let record = record_by("U1", "T1");
        let rule = Approvers::default();
        assert!(refusal(&rule, &record, &click_by("U1", "T1")).is_some());
        assert!(refusal(&rule, &record, &click_by("U2", "T1")).is_none());
        assert!(refusal(&Approvers::Anyone, &record, &click_by("U1", "T1")).is_none());
    }

    #[test]
    fn a_named_list_is_exclusive() {
        let record = record_by("U1", "T1");
        let rule = Approvers::Only(vec!["U7".into()]);
        assert!(refusal(&rule, &record, &click_by("U2", "T1")).is_some());
        assert!(refusal(&rule, &record, &click_by("U7", "T1")).is_none());
    }

    #[test]
    fn another_workspace_never_approves() {
        let record = record_by("U1", "T1");
        for rule in [Approvers::Anyone, Approvers::Only(vec!["U7".into()])] {
            let why = refusal(&rule, &record, &click_by("U7", "T2")).unwrap();
            assert!(why.contains("workspace"), "{why}");
        }
    }
}
