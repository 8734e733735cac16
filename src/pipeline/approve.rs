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
    /// Only these Slack users (`U…`, `W…`) and members of these user groups (`S…`, looked up
    /// with the bot token when someone not named clicks).
    Only(Vec<String>),
}

/// Whether `id` names a Slack user group rather than a user.
fn is_group(id: &str) -> bool {
    id.starts_with('S')
}

const NOT_A_REVIEWER: &str = "🚫 Only the reviewers your Marquee admin named can approve posters. Ask one of them to take a look.";

/// Why a click may not approve, as far as the rule and the click tell (user groups are looked
/// up separately).
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
        Approvers::Only(_) => Some(NOT_A_REVIEWER),
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
        if let Some(why) = self.refusal_after_groups(&record, job).await {
            tracing::info!(job = %job.id, %source, "approval refused: not an approver");
            return self
                .tell_clicker(job, &blocks::note_to_clicker(why), "NotAnApprover")
                .await;
        }
        let now = now();
        let approval = Approval {
            by: job.requester.user_id.clone(),
            at: now,
            take: Some(record.id),
            take_number: Some(record.take()),
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
                    &blocks::already_approved(
                        &first.by,
                        first.at,
                        first
                            .take_number
                            .filter(|_| first.approved_take(record.root()) != record.id),
                    ),
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
            // The approved take offers Print, and only that.
            controls: Some(record.id),
            // The rebuilt message still says which take it is and where it came from.
            note: record
                .lineage
                .as_ref()
                .map(|l| super::retake::take_note(l, None)),
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

    /// [`refusal`], and when the clicker is not named but user groups are, whether they are a
    /// member of one. Without a bot token, or when Slack will not say, they are refused, and
    /// the admin learns why from the log.
    async fn refusal_after_groups(&self, record: &PosterRecord, job: &Job) -> Option<&'static str> {
        let why = refusal(&self.approvers, record, job)?;
        let Approvers::Only(ids) = &self.approvers else {
            return Some(why);
        };
        if why != NOT_A_REVIEWER {
            return Some(why);
        }
        let groups: Vec<&String> = ids.iter().filter(|id| is_group(id)).collect();
        if groups.is_empty() {
            return Some(why);
        }
        let Some(web) = &self.web else {
            tracing::error!(job = %job.id, "MARQUEE_APPROVERS names user groups, but there is no bot token to look them up");
            return Some(why);
        };
        for group in groups {
            match web.usergroup_members(group).await {
                Ok(members) if members.contains(&job.requester.user_id) => return None,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(job = %job.id, %group, code = e.code(), error = %ErrorChain(&e), "could not list an approver group's members");
                }
            }
        }
        Some(why)
    }

    /// Tells the clicker, privately, why nothing happened.
    pub(super) async fn tell_clicker(
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
    use crate::job::{sample_job, sample_record};

    fn record_by(user: &str, team: &str) -> PosterRecord {
        sample_record(&click_by(user, team), 0)
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

    /// A pipeline whose approvers are `approvers`, with the Web API at `web` (a local
    /// stand-in) when given.
    fn pipeline(dir: &std::path::Path, approvers: Approvers, web: Option<String>) -> Pipeline {
        use std::sync::Arc;
        let http = crate::net::client();
        let mut p = Pipeline::new(
            crate::model::Models::new(),
            Arc::new(crate::store::local::LocalStore::open(dir).unwrap()),
            Arc::new(crate::state::local::LocalState::open(dir.join("state.sqlite3")).unwrap()),
            crate::slack::SlackClient::new(http.clone(), &[]),
            crate::store::LinkSigner::from_dir(dir).unwrap(),
            std::time::Duration::from_secs(60),
        )
        .with_approvers(approvers);
        if let Some(base) = web {
            p = p.with_web(crate::slack::web::WebClient::new(
                http,
                base,
                crate::secret::Secret::new("xoxb-test"),
            ));
        }
        p
    }

    /// `usergroups.users.list` as Slack's method reference describes it: group `S1` has `U9`;
    /// any other group is `no_such_subteam`.
    async fn groups_api() -> String {
        use axum::response::IntoResponse;
        let app = axum::Router::new().route(
            "/api/usergroups.users.list",
            axum::routing::post(|body: String| async move {
                let answer = if body == "usergroup=S1" {
                    serde_json::json!({"ok": true, "users": ["U9"]})
                } else {
                    serde_json::json!({"ok": false, "error": "no_such_subteam"})
                };
                axum::Json(answer).into_response()
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/api")
    }

    #[tokio::test]
    async fn members_of_a_named_user_group_approve() {
        let dir = tempfile::tempdir().unwrap();
        let rule = Approvers::Only(vec!["U7".into(), "S0BOGUS".into(), "S1".into()]);
        let p = pipeline(dir.path(), rule.clone(), Some(groups_api().await));
        let record = record_by("U1", "T1");
        assert!(
            p.refusal_after_groups(&record, &click_by("U9", "T1"))
                .await
                .is_none()
        );
        assert!(
            p.refusal_after_groups(&record, &click_by("U7", "T1"))
                .await
                .is_none()
        );
        assert!(
            p.refusal_after_groups(&record, &click_by("U8", "T1"))
                .await
                .is_some()
        );
        // Another workspace's member of the group is still refused.
        assert!(
            p.refusal_after_groups(&record, &click_by("U9", "T2"))
                .await
                .is_some()
        );
        // Without a bot token nobody can be looked up: only named users approve.
        let p = pipeline(dir.path(), rule, None);
        assert!(
            p.refusal_after_groups(&record, &click_by("U9", "T1"))
                .await
                .is_some()
        );
        assert!(
            p.refusal_after_groups(&record, &click_by("U7", "T1"))
                .await
                .is_none()
        );
    }
}
