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
use marquee_core::job::{Job, ReplyTo, Requester};
use marquee_core::slack::blocks;
use marquee_core::slack::web::SlackUser;

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
            Some(web) => web.user_info(&job.requester.user_id).await.map_err(|e| {
                tracing::warn!(code = e.code(), error = %ErrorChain(&e), "users.info failed for a workflow step's requester; the step fails");
            }),
            None => Err(()),
        };
        let Ok(user) = looked_up else {
            let told = Outcome::FailedAndTold {
                kind: "StepRequesterUnknown",
            };
            return Err(self
                .delivery
                .reply(job, &blocks::note_to_clicker(UNKNOWN_REQUESTER), told)
                .await);
        };
        let mut job = job.clone();
        job.requester.user_team_id = user.team_id.clone();
        if is_outsider(&user, &job.requester) {
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

/// Whether `user` (what `users.info` says of a step's named requester) is outside the
/// installation `requester` names: its workspace (`authorizations[0].team_id`) or, on an
/// org-wide install, its org (`authorizations[0].enterprise_id`).
fn is_outsider(user: &SlackUser, requester: &Requester) -> bool {
    !user.belongs_to(
        requester.team_id.as_deref(),
        requester.enterprise_id.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(team: &str, enterprise: Option<&str>) -> SlackUser {
        SlackUser {
            id: "U07ADA".into(),
            team_id: Some(team.into()),
            enterprise_id: enterprise.map(str::to_owned),
            is_admin: false,
            is_owner: false,
            is_primary_owner: false,
            deleted: false,
            is_restricted: false,
        }
    }

    fn installed(team: Option<&str>, enterprise: Option<&str>) -> Requester {
        Requester {
            user_id: "U07ADA".into(),
            team_id: team.map(str::to_owned),
            enterprise_id: enterprise.map(str::to_owned),
            ..Requester::default()
        }
    }

    /// Slack Connect and Enterprise Grid: a guest from another workspace is an outsider; on an
    /// org-wide install (`authorizations[0].team_id` null) a member of any workspace of the
    /// org is not, and someone of another org is.
    #[test]
    fn a_steps_requester_is_judged_on_their_own_workspace_or_org() {
        let workspace = installed(Some("T07MARQEE"), None);
        assert!(!is_outsider(&user("T07MARQEE", None), &workspace));
        assert!(is_outsider(&user("T07PARTNER", None), &workspace));
        let org = installed(None, Some("E07GRID"));
        assert!(!is_outsider(&user("T07GRIDWS", Some("E07GRID")), &org));
        assert!(is_outsider(&user("T09OTHER", Some("E09OTHER")), &org));
        assert!(is_outsider(&user("T07PARTNER", None), &org));
    }
}
