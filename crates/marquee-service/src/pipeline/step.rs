//! Whom a Workflow Builder step's poster is for, and whether they may have it.
//!
//! `function_executed` names nobody: the step's optional `requester` input (a
//! `slack#/types/user_id`) names whom the workflow's author made it for, usually "Person who
//! used this workflow". That person's own workspace is not in the event, so the worker asks
//! `users.info` (`user.team_id`, `enterprise_user.enterprise_id`) before anything is made or
//! counted, and someone outside the installation (a Slack Connect guest) gets the rule for
//! outsiders (`MARQUEE_EXTERNAL_USERS`), as their mention would. Without a `requester` the
//! poster is the app's own, counted to the bot user, a member of the installation.

use super::{Outcome, Pipeline};
use marquee_core::errors::ErrorChain;
use marquee_core::job::{Job, ReplyTo};
use marquee_core::slack::blocks;

/// Why a step's poster was not made when Slack would not say who it is for.
const UNKNOWN_REQUESTER: &str = "Marquee could not check who this poster is for (Slack did not answer users.info). Run the workflow again; if it keeps happening, tell your Marquee admin.";

impl Pipeline {
    /// `job` with its requester's own workspace filled in from `users.info` when it is a
    /// workflow step's for a named person; `Err` with the outcome once the step has been
    /// failed with why (an outsider, or nobody could tell).
    pub(super) async fn step_requester(&self, job: &Job) -> Result<Job, Outcome> {
        let ReplyTo::WorkflowStep { step } = &job.reply_to else {
            return Ok(job.clone());
        };
        if !step.named_person {
            return Ok(job.clone());
        }
        let looked_up = match self.delivery.web() {
            Some(web) => web.user_info(&job.requester.user_id).await,
            None => {
                let told = Outcome::FailedAndTold {
                    kind: "StepRequesterUnknown",
                };
                return Err(self
                    .delivery
                    .reply(job, &blocks::note_to_clicker(UNKNOWN_REQUESTER), told)
                    .await);
            }
        };
        let user = match looked_up {
            Ok(user) => user,
            Err(e) => {
                tracing::warn!(code = e.code(), error = %ErrorChain(&e), "users.info failed for a workflow step's requester; the step fails");
                let told = Outcome::FailedAndTold {
                    kind: "StepRequesterUnknown",
                };
                return Err(self
                    .delivery
                    .reply(job, &blocks::note_to_clicker(UNKNOWN_REQUESTER), told)
                    .await);
            }
        };
        let mut job = job.clone();
        job.requester.user_team_id = user.team_id.clone();
        let member = user.belongs_to(
            job.requester.team_id.as_deref(),
            job.requester.enterprise_id.as_deref(),
        );
        if !member {
            if let Some(why) = self.outsider_may_not_start() {
                tracing::info!(
                    "a workflow step refused: the person it is for is outside the installation"
                );
                let told = Outcome::FailedAndTold { kind: "Outsider" };
                return Err(self
                    .delivery
                    .reply(&job, &blocks::note_to_clicker(why), told)
                    .await);
            }
        }
        Ok(job)
    }
}
