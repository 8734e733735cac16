//! Approval: who may approve, first approval wins, shown on the poster's message.

use uuid::Uuid;

use super::records::{Approval, now};
use super::{Outcome, Pipeline, PipelineError, undeliverable};
use marquee_core::errors::ErrorChain;
use marquee_core::job::{Job, PosterRecord, Requester};
use marquee_core::slack::blocks::{self, PosterResult};

/// Who may approve a poster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Approvers {
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

/// What people from outside the installation — Slack Connect guests, whose own workspace
/// (`user.team_id`) is not the poster's and who are not in the same org-wide install — may do
/// with posters they can see (`MARQUEE_EXTERNAL_USERS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ExternalUsers {
    /// Look at posters and open their links; no paid takes, no edits, no approval, no print.
    #[default]
    ViewOnly,
    /// Everything a member of the installation may do.
    Full,
}

/// What an external user is told when they use a control view-only users may not.
pub(crate) const VIEW_ONLY: &str = "👀 This poster was made in another organisation's workspace. People from outside it (Slack Connect) can view its posters here, but not make new takes, edit, approve or print them — ask someone from that workspace.";

/// Why `clicker` may not act on `record` at all: they are outside its installation and the
/// admin lets outsiders only look.
pub(crate) fn outsider(
    external: ExternalUsers,
    record: &PosterRecord,
    clicker: &Requester,
) -> Option<&'static str> {
    (external == ExternalUsers::ViewOnly && clicker.is_external_to(&record.requester))
        .then_some(VIEW_ONLY)
}

/// What an external user is told when they ask for a new poster (a mention, a message
/// shortcut) and outsiders may only look.
pub(crate) const VIEW_ONLY_NEW: &str = "👀 Marquee belongs to another organisation's workspace here. People from outside it (Slack Connect) can view its posters, but not make new ones — ask someone from that workspace.";

/// Why `who` may not start a new poster: they are outside the installation the request came
/// to and the admin lets outsiders only look. Their own workspace (`user_team_id`: a
/// shortcut's `user.team_id`, a mention's `event.user_team`) is compared with the
/// installation's (`team_id`); a requester whose own workspace is unknown (a slash command)
/// is a member. On an org-wide install Slack names no installing workspace (`team` is null),
/// so the requester's own stands for it and only the org's members reach the app.
pub(crate) fn outsider_to_start(external: ExternalUsers, who: &Requester) -> Option<&'static str> {
    let installation = Requester {
        user_team_id: None,
        enterprise_id: None,
        ..who.clone()
    };
    (external == ExternalUsers::ViewOnly && who.is_external_to(&installation))
        .then_some(VIEW_ONLY_NEW)
}

/// Whether `id` names a Slack user group rather than a user.
fn is_group(id: &str) -> bool {
    id.starts_with('S')
}

/// Slack refused to update the approved take's message.
const APPROVAL_NOT_SHOWN: &str = "✅ Your approval is recorded, but Slack wouldn't update the poster message to show it. The approval stands; the buttons may still show until the message is refreshed.";
/// Slack did not answer the update in time: it may yet show it.
const APPROVAL_SLOW_TO_SHOW: &str = "✅ Your approval is recorded. Slack was slow to update the poster message, so it may take a moment to show it; the approval stands either way.";
const NOT_A_REVIEWER: &str = "🚫 Only the reviewers your Marquee admin named can approve posters. Ask one of them to take a look.";

/// Why a click may not approve, as far as the rule and the click tell (user groups are looked
/// up separately).
fn refusal(
    approvers: &Approvers,
    external: ExternalUsers,
    record: &PosterRecord,
    job: &Job,
) -> Option<&'static str> {
    let clicker = &job.requester;
    // A poster seen from another organisation (Slack Connect) is not theirs to approve,
    // unless the admin lets outsiders do everything. Decided on the clicker's own workspace
    // (`user.team_id`), never the installing one the payload's `team` names.
    if let Some(why) = outsider(external, record, clicker) {
        return Some(why);
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

const NOT_FOR_PRINT: &str = "🚫 Print-ready files are for whoever asked for this poster and its reviewers. Ask one of them, or your Marquee admin.";

impl Pipeline {
    /// Why `who` may not act on `record` at all (make takes, edit, approve, print): they are
    /// outside its installation and outsiders may only look. Decided on their own workspace
    /// (`user.team_id`) and org-wide install, never the installing `team.id` of the payload.
    pub(crate) fn outsider(&self, record: &PosterRecord, who: &Requester) -> Option<&'static str> {
        outsider(self.external_users, record, who)
    }

    /// Why `who` may not start a new poster ([`outsider_to_start`]).
    pub(crate) fn outsider_to_start(&self, who: &Requester) -> Option<&'static str> {
        outsider_to_start(self.external_users, who)
    }

    /// Why someone `users.info` found outside the installation may not start a new poster
    /// (a workflow step's named requester), by the same rule as [`Self::outsider_to_start`].
    pub(super) fn outsider_may_not_start(&self) -> Option<&'static str> {
        (self.external_users == ExternalUsers::ViewOnly).then_some(VIEW_ONLY_NEW)
    }

    /// Why the clicker of `job` may not print `record`: print-ready files are for the
    /// poster's requester, whoever approved it, and anyone the approval rule lets approve.
    pub(super) async fn print_refusal(
        &self,
        record: &PosterRecord,
        job: &Job,
    ) -> Option<&'static str> {
        if let Some(why) = self.outsider(record, &job.requester) {
            return Some(why);
        }
        let clicker = &job.requester.user_id;
        if *clicker == record.requester.user_id || record.approved_by.as_ref() == Some(clicker) {
            return None;
        }
        match self.refusal_after_groups(record, job).await {
            None => None,
            Some(NOT_A_REVIEWER) => Some(NOT_FOR_PRINT),
            Some(why) => Some(why),
        }
    }

    /// Records the approval with the stored poster and shows it on the message, rebuilt from
    /// the record with a fresh link, or, with a bot token, the Slack file the message showed. When Slack will not update the message, the approver is
    /// told that the approval stands anyway.
    pub(super) async fn approve(
        &self,
        job: &Job,
        source: Uuid,
    ) -> Result<Outcome, (PipelineError, String)> {
        let response_url = job.reply_to.slack_url();
        let mut record = self
            .records
            .record(source)
            .await
            .map_err(|e| (e, String::new()))?;
        let description = record.spec.description.clone();
        if let Some(why) = self.refusal_after_groups(&record, job).await {
            tracing::info!(%source, "approval refused: not an approver");
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
            .records
            .claim_approval(&record, &approval)
            .await
            .map_err(|e| (e, description.clone()))?
        {
            tracing::info!(%source, "approval refused: already approved");
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
        tracing::info!(%source, "poster approved");
        // Best effort: the approval stands without it, and the gallery is only a listing.
        if let Err(e) = self.records.add_to_gallery(&record, now).await {
            tracing::warn!(%source, error = %ErrorChain(&e), "could not list an approved poster in the team's gallery");
        }
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
            // The approved take offers Print (and Formats…, whose prints are part of Print).
            controls: Some(record.id),
            // The rebuilt message still says which take it is and where it came from.
            note: record
                .lineage
                .as_ref()
                .map(|l| super::retake::take_note(l, None)),
            missing_glyphs: &record.missing_glyphs,
        };
        // What the take offered under review: Formats… where a model here can make them.
        let formats = self.offers(&record.spec).formats;
        let message = blocks::approved(&shown, &job.requester.user_id, now, formats);
        // The message showed the take's uploaded PNG (a Slack file) rather than its expiring
        // link: the rebuilt one does too, falling back to the link if Slack will not show it.
        let file = match self.delivery.web() {
            Some(_) => self.records.shown_file(record.id).await.unwrap_or_else(|e| {
                tracing::warn!(error = %ErrorChain(&e), "could not read the take's slack file; the approved message shows its link");
                None
            }),
            None => None,
        };
        let sent = match &file {
            Some(file) => {
                let with_file = blocks::showing_file(&message, file);
                match self.delivery.respond(response_url, &with_file).await {
                    Err(e) if e.is_invalid_blocks() => {
                        tracing::warn!(
                            "slack refused the take's file in the approved message; showing the link"
                        );
                        self.delivery.respond(response_url, &message).await
                    }
                    sent => sent,
                }
            }
            None => self.delivery.respond(response_url, &message).await,
        };
        let refused = match sent {
            Ok(()) => return Ok(Outcome::Delivered),
            Err(e) => e,
        };
        // Slack answers only once it has fetched the message's image: a post it was slow to
        // answer may still land, so the approver is not told it was refused.
        let note = if refused.may_have_landed() {
            tracing::warn!(error = %ErrorChain(&refused), "approval recorded; slack did not answer the message's update in time");
            blocks::note_to_clicker(APPROVAL_SLOW_TO_SHOW)
        } else {
            tracing::warn!(error = %ErrorChain(&refused), "approval recorded but the message could not be updated");
            blocks::note_to_clicker(APPROVAL_NOT_SHOWN)
        };
        match self.delivery.respond(response_url, &note).await {
            Ok(()) => Ok(Outcome::FailedAndTold {
                kind: "ApprovalNotShown",
            }),
            Err(e) => {
                tracing::error!(error = %ErrorChain(&e), "could not tell the approver either");
                Ok(undeliverable(&e))
            }
        }
    }

    /// [`refusal`], and when the clicker is not named but user groups are, whether they are a
    /// member of one. Without a bot token, or when Slack will not say, they are refused, and
    /// the admin learns why from the log.
    async fn refusal_after_groups(&self, record: &PosterRecord, job: &Job) -> Option<&'static str> {
        // The poster's installation's brand kit names its approvers, when it does; else the
        // deployment's rule. Read from the poster's requester, never the clicker's workspace.
        let from_kit = match self.records.kit(&record.requester).await {
            Ok(kit) if !kit.approvers.is_empty() => Some(Approvers::Only(kit.approvers)),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %ErrorChain(&e), "could not read the brand kit's approvers; the deployment's rule holds");
                None
            }
        };
        let approvers = from_kit.as_ref().unwrap_or(&self.approvers);
        let why = refusal(approvers, self.external_users, record, job)?;
        let Approvers::Only(ids) = approvers else {
            return Some(why);
        };
        if why != NOT_A_REVIEWER {
            return Some(why);
        }
        let groups: Vec<&String> = ids.iter().filter(|id| is_group(id)).collect();
        if groups.is_empty() {
            return Some(why);
        }
        let Some(web) = self.delivery.web() else {
            tracing::error!(
                "MARQUEE_APPROVERS names user groups, but there is no bot token to look them up"
            );
            return Some(why);
        };
        for group in groups {
            match web.usergroup_members(group).await {
                Ok(members) if members.contains(&job.requester.user_id) => return None,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(%group, code = e.code(), error = %ErrorChain(&e), "could not list an approver group's members");
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
        match self.delivery.respond(response_url, note).await {
            Ok(()) => Ok(Outcome::FailedAndTold { kind }),
            Err(e) => {
                tracing::error!(error = %ErrorChain(&e), "could not tell the clicker");
                Ok(undeliverable(&e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use marquee_core::job::{sample_job, sample_record};

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
        assert!(
            refusal(
                &rule,
                ExternalUsers::ViewOnly,
                &record,
                &click_by("U1", "T1")
            )
            .is_some()
        );
        assert!(
            refusal(
                &rule,
                ExternalUsers::ViewOnly,
                &record,
                &click_by("U2", "T1")
            )
            .is_none()
        );
        assert!(
            refusal(
                &Approvers::Anyone,
                ExternalUsers::ViewOnly,
                &record,
                &click_by("U1", "T1")
            )
            .is_none()
        );
    }

    #[test]
    fn a_named_list_is_exclusive() {
        let record = record_by("U1", "T1");
        let rule = Approvers::Only(vec!["U7".into()]);
        assert!(
            refusal(
                &rule,
                ExternalUsers::ViewOnly,
                &record,
                &click_by("U2", "T1")
            )
            .is_some()
        );
        assert!(
            refusal(
                &rule,
                ExternalUsers::ViewOnly,
                &record,
                &click_by("U7", "T1")
            )
            .is_none()
        );
    }

    #[test]
    fn another_workspace_never_approves() {
        let record = record_by("U1", "T1");
        for rule in [Approvers::Anyone, Approvers::Only(vec!["U7".into()])] {
            let why = refusal(
                &rule,
                ExternalUsers::ViewOnly,
                &record,
                &click_by("U7", "T2"),
            )
            .unwrap();
            assert!(why.contains("workspace"), "{why}");
        }
    }

    /// A pipeline whose approvers are `approvers`, with the Web API at `web` (a local
    /// stand-in) when given.
    fn pipeline(dir: &std::path::Path, approvers: Approvers, web: Option<String>) -> Pipeline {
        use std::sync::Arc;
        let http = marquee_core::net::client();
        let mut p = Pipeline::new(
            marquee_core::model::Models::new(),
            Arc::new(marquee_core::store::local::LocalStore::open(dir).unwrap()),
            Arc::new(
                marquee_core::state::local::LocalState::open(dir.join("state.sqlite3")).unwrap(),
            ),
            marquee_core::slack::SlackClient::new(http.clone(), &[]),
            marquee_core::store::LinkSigner::from_dir(dir).unwrap(),
            std::time::Duration::from_secs(60),
        )
        .with_approvers(approvers);
        if let Some(base) = web {
            p = p.with_web(marquee_core::slack::web::WebClient::new(
                http,
                base,
                marquee_core::secret::Secret::new("xoxb-test"),
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
        format!("{}/api", super::super::testing::serve(app).await)
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

    // Who may act, decided on Slack's own payloads (tests/fixtures/slack/README.md names the
    // source of each): a Slack Connect guest, whose `team` is the installing workspace and
    // whose own is `user.team_id`, and a member of an org-wide (Enterprise Grid) install,
    // whose `team` is null.
    const SLACK_CONNECT_CLICK: &str =
        include_str!("../../../../tests/fixtures/slack/block_actions_slack_connect.json");
    const ORG_INSTALL_CLICK: &str =
        include_str!("../../../../tests/fixtures/slack/block_actions_org_install.json");
    const SLACK_CONNECT_SUBMISSION: &str =
        include_str!("../../../../tests/fixtures/slack/view_submission_slack_connect.json");
    const ORG_INSTALL_SUBMISSION: &str = include_str!(
        "../../../../tests/fixtures/slack/view_submission_change_detail_org_install.json"
    );

    /// The job the front door queues for the interaction in `payload`, with `task`.
    fn job_from(payload: &str, task: marquee_core::job::Task) -> Job {
        use marquee_core::slack::interaction::{Interaction, parse_interaction};
        let requester = match parse_interaction(payload).unwrap() {
            Interaction::Click(click) => click.requester(),
            Interaction::Review(click) => click.requester(),
            Interaction::Submission(sub) => sub.requester(),
            Interaction::Shortcut(s) => s.actor.requester(&s.ctx.channel_id),
            Interaction::FromMessage(s) => s.actor.requester(&s.ctx.channel_id),
            Interaction::OpenSettings(c) => c.requester,
            Interaction::Settings(s) => s.requester,
        };
        let mut job = sample_job();
        job.task = task;
        job.requester = requester;
        job
    }

    /// The poster every fixture's controls belong to, made by Ada in workspace `team`, with
    /// the org-wide install `org` when there is one.
    fn poster_in(team: &str, org: Option<&str>) -> PosterRecord {
        let mut record = record_by("U07ADAPARK", team);
        record.id = uuid::Uuid::parse_str("3f2b8c4e-9d1a-4e6b-8f7c-2a5d9e1b4c60").unwrap();
        record.requester.enterprise_id = org.map(str::to_owned);
        record.created_at = super::now();
        record
    }

    /// What a [`response_urls`] stand-in does with an image shown from a Slack file.
    #[derive(Clone, Copy)]
    enum Files {
        Shown,
        /// Refused as Slack refuses a file it cannot show there (`invalid slack file`,
        /// captured in slackapi/bolt-python#1251).
        Refused,
    }

    /// A response-URL stand-in (Slack's `/actions/…` path on a local origin) that keeps what
    /// it is sent.
    async fn response_urls(
        files: Files,
    ) -> (
        String,
        std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    ) {
        use axum::response::IntoResponse;
        use std::sync::{Arc, Mutex};
        let seen: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
        let kept = seen.clone();
        let app = axum::Router::new().route(
            "/actions/{*rest}",
            axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
                let kept = kept.clone();
                async move {
                    let refused = matches!(files, Files::Refused)
                        && body["blocks"].to_string().contains("slack_file");
                    kept.lock().unwrap().push(body);
                    if refused {
                        let refusal = serde_json::json!({"ok": false, "error": "invalid_blocks",
                            "errors": ["invalid slack file [json-pointer:/blocks/1/slack_file]"]});
                        (axum::http::StatusCode::BAD_REQUEST, axum::Json(refusal)).into_response()
                    } else {
                        "ok".into_response()
                    }
                }
            }),
        );
        (super::super::testing::serve(app).await, seen)
    }

    /// A pipeline that answers clickers through [`response_urls`] at `origin`.
    fn told_pipeline(dir: &std::path::Path, origin: &str, external: ExternalUsers) -> Pipeline {
        use std::sync::Arc;
        Pipeline::new(
            marquee_core::model::Models::new(),
            Arc::new(marquee_core::store::local::LocalStore::open(dir).unwrap()),
            Arc::new(marquee_core::state::local::LocalState::open(dir.join("state")).unwrap()),
            marquee_core::slack::SlackClient::new(
                marquee_core::net::client(),
                &[origin.to_owned()],
            ),
            marquee_core::store::LinkSigner::from_dir(dir).unwrap(),
            std::time::Duration::from_secs(60),
        )
        .with_external_users(external)
    }

    fn answering(job: &mut Job, origin: &str) {
        job.reply_to =
            marquee_core::job::ReplyTo::response_url(format!("{origin}/actions/T07MARQEE/1/x"));
    }

    /// The text of everything the clicker was told.
    fn texts(seen: &std::sync::Mutex<Vec<serde_json::Value>>) -> String {
        seen.lock()
            .unwrap()
            .iter()
            .map(|m| m["text"].to_string())
            .collect()
    }

    /// With a bot token, the approved message shows the Slack file the take's message showed;
    /// when Slack will not show it, the link, and the approval is shown all the same. Without
    /// a token the link, whatever is remembered.
    #[tokio::test]
    async fn an_approved_message_shows_the_takes_file_else_its_link() {
        let dir = tempfile::tempdir().unwrap();
        let (origin, seen) = response_urls(Files::Refused).await;
        let with_token = told_pipeline(dir.path(), &origin, ExternalUsers::default()).with_web(
            marquee_core::slack::web::WebClient::new(
                marquee_core::net::client(),
                format!("{origin}/api"),
                marquee_core::secret::Secret::new("xoxb-test"),
            ),
        );
        let without = told_pipeline(dir.path(), &origin, ExternalUsers::default());
        let shown = |m: &serde_json::Value| {
            let image = m["blocks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["type"] == "image")
                .cloned()
                .unwrap_or_default();
            (
                image["slack_file"]["id"].as_str().map(str::to_owned),
                image["image_url"].is_string(),
            )
        };
        for (p, expected) in [
            (
                &with_token,
                vec![(Some("F0SHOWNFILE".into()), false), (None, true)],
            ),
            (&without, vec![(None, true)]),
        ] {
            let mut record = record_by("U1", "T1");
            record.created_at = super::now();
            p.records().put_record(&record).await.unwrap();
            p.records()
                .remember_file(record.id, "F0SHOWNFILE")
                .await
                .unwrap();
            let mut job = click_by("U2", "T1");
            answering(&mut job, &origin);
            job.public_url = Some("https://marquee.example".into());
            seen.lock().unwrap().clear();
            assert_eq!(
                p.approve(&job, record.id).await.unwrap(),
                Outcome::Delivered
            );
            let sent = seen.lock().unwrap().clone();
            assert_eq!(sent.iter().map(shown).collect::<Vec<_>>(), expected);
            assert!(sent.iter().all(|m| m["replace_original"] == true));
        }
    }

    /// Issue 22: a click from `user.team_id = T07PARTNER` with `team = {id: T07MARQEE}`
    /// approved a T07MARQEE poster, since the check compared the installing workspace with
    /// itself. Now the guest is told, and no approval is written; a member of an org-wide
    /// install approves a poster of another workspace in the same org.
    #[tokio::test]
    async fn a_slack_connect_guest_cannot_approve_and_an_org_member_can() {
        let dir = tempfile::tempdir().unwrap();
        let (origin, seen) = response_urls(Files::Shown).await;
        let p = told_pipeline(dir.path(), &origin, ExternalUsers::default());
        let record = poster_in("T07MARQEE", None);
        p.records().put_record(&record).await.unwrap();
        let mut guest = job_from(
            SLACK_CONNECT_CLICK,
            marquee_core::job::Task::Approve { source: record.id },
        );
        answering(&mut guest, &origin);
        assert_eq!(
            guest.requester.team_id.as_deref(),
            Some("T07MARQEE"),
            "the payload's team"
        );
        let outcome = p.approve(&guest, record.id).await;
        assert_eq!(
            p.records().approval(record.id).await.unwrap(),
            None,
            "the guest approved the poster"
        );
        assert_eq!(
            outcome.unwrap(),
            Outcome::FailedAndTold {
                kind: "NotAnApprover"
            }
        );
        assert!(
            texts(&seen).contains("another organisation"),
            "{}",
            texts(&seen)
        );
        // The same guest, were outsiders let in, is judged by the approval rule alone.
        assert_eq!(
            refusal(&Approvers::default(), ExternalUsers::Full, &record, &guest),
            None
        );

        // Enterprise Grid: Grace (T07STUDIO) in the org-wide install E07MARQORG, on a poster
        // made in T07MARQEE of the same org, approves; on one from outside the org she is
        // the outsider.
        let grace = job_from(
            ORG_INSTALL_CLICK,
            marquee_core::job::Task::Approve { source: record.id },
        );
        let ours = poster_in("T07MARQEE", Some("E07MARQORG"));
        assert_eq!(
            refusal(
                &Approvers::default(),
                ExternalUsers::ViewOnly,
                &ours,
                &grace
            ),
            None
        );
        assert_eq!(
            refusal(
                &Approvers::default(),
                ExternalUsers::ViewOnly,
                &record,
                &grace
            ),
            Some(VIEW_ONLY)
        );
        let mut member = guest.clone();
        member.requester.user_id = "U07BENMEMB".into();
        member.requester.user_team_id = Some("T07MARQEE".into());
        let _ = p.approve(&member, record.id).await;
        let approval = p
            .records()
            .approval(record.id)
            .await
            .unwrap()
            .expect("a member approves");
        assert_eq!(approval.by, "U07BENMEMB");
    }

    /// Print-ready files are for the requester, whoever approved, and whom the approval rule
    /// names; never for an outsider. A refused click is told and prints nothing.
    #[tokio::test]
    async fn print_is_for_the_requester_and_reviewers() {
        use marquee_core::job::Task;
        let dir = tempfile::tempdir().unwrap();
        let (origin, seen) = response_urls(Files::Shown).await;
        let p = told_pipeline(dir.path(), &origin, ExternalUsers::default())
            .with_approvers(Approvers::Only(vec!["U07REVIEWR".into()]));
        let mut record = poster_in("T07MARQEE", Some("E07MARQORG"));
        record.approved_by = Some("U07REVIEWR".into());
        let print = Task::Print { source: record.id };
        let guest = job_from(SLACK_CONNECT_CLICK, print.clone());
        let grace = job_from(ORG_INSTALL_CLICK, print.clone());
        assert_eq!(p.print_refusal(&record, &guest).await, Some(VIEW_ONLY));
        assert_eq!(
            p.print_refusal(&record, &grace).await,
            Some(NOT_FOR_PRINT),
            "an org member, but neither the requester nor a reviewer"
        );
        for who in ["U07ADAPARK", "U07REVIEWR"] {
            let mut job = grace.clone();
            job.requester.user_id = who.into();
            assert_eq!(p.print_refusal(&record, &job).await, None, "{who}");
        }
        // With the default rule every member of the installation reviews, so prints.
        let open = told_pipeline(dir.path(), &origin, ExternalUsers::default());
        assert_eq!(open.print_refusal(&record, &grace).await, None);
        assert_eq!(open.print_refusal(&record, &guest).await, Some(VIEW_ONLY));

        // Through the worker: the guest is told, and nothing is printed.
        p.records().put_record(&record).await.unwrap();
        let mut guest = guest;
        answering(&mut guest, &origin);
        let outcome = p.print(&guest, record.id, None).await.unwrap();
        assert_eq!(
            outcome,
            Outcome::FailedAndTold {
                kind: "NotAllowedToPrint"
            }
        );
        assert_eq!(p.records().printed(record.id).await.unwrap(), None);
        assert!(
            texts(&seen).contains("another organisation"),
            "{}",
            texts(&seen)
        );
    }

    /// Paid takes and the Edit words / Change a detail forms: an outsider's click or
    /// submission is told and makes nothing; org members act as members.
    #[tokio::test]
    async fn outsiders_make_no_takes_and_open_no_forms() {
        use marquee_core::job::{Change, Task};
        let dir = tempfile::tempdir().unwrap();
        let (origin, seen) = response_urls(Files::Shown).await;
        let p = told_pipeline(dir.path(), &origin, ExternalUsers::default());
        let record = poster_in("T07MARQEE", None);
        p.records().put_record(&record).await.unwrap();
        let detail = Change::ChangeDetail {
            search: "the copper pans".into(),
            replace: "a wall of cast-iron skillets".into(),
        };
        for (payload, change) in [
            (SLACK_CONNECT_CLICK, Change::Regenerate),
            (SLACK_CONNECT_SUBMISSION, detail.clone()),
        ] {
            let task = Task::Retake {
                source: record.id,
                change: change.clone(),
            };
            let mut job = job_from(payload, task);
            assert_eq!(p.outsider(&record, &job.requester), Some(VIEW_ONLY));
            answering(&mut job, &origin);
            let outcome = p.retake(&job, record.id, &change, None).await.unwrap();
            assert_eq!(
                outcome,
                Outcome::FailedAndTold {
                    kind: "ExternalUser"
                }
            );
        }
        assert_eq!(seen.lock().unwrap().len(), 2);
        assert!(texts(&seen).contains("not make new takes, edit, approve or print"));
        let full = told_pipeline(dir.path(), &origin, ExternalUsers::Full);
        let guest = job_from(SLACK_CONNECT_SUBMISSION, Task::Usage);
        assert_eq!(full.outsider(&record, &guest.requester), None);
        // Enterprise Grid: members of the org-wide install are no outsiders to its posters.
        for (payload, org) in [
            (ORG_INSTALL_CLICK, "E07MARQORG"),
            (ORG_INSTALL_SUBMISSION, "E07MARQEE"),
        ] {
            let member = job_from(payload, Task::Usage);
            let ours = poster_in("T07MARQEE", Some(org));
            assert_eq!(p.outsider(&ours, &member.requester), None, "{org}");
            let theirs = poster_in("T07ELSEWHR", Some("E07ELSEWHR"));
            assert_eq!(
                p.outsider(&theirs, &member.requester),
                Some(VIEW_ONLY),
                "{org}"
            );
        }
    }

    /// Use a picture…: the take is judged like every retake, on the submitter's own workspace
    /// (`user.team_id`) and org-wide `enterprise.id` — a Slack Connect guest makes none (the
    /// door refuses the picture before downloading it, with the same words), a member of the
    /// workspace or of the org-wide install may.
    #[tokio::test]
    async fn a_slack_connect_guest_makes_no_take_from_a_picture_and_members_may() {
        use marquee_core::job::{Change, PictureUse, Task};
        let picture = |name: &str| {
            std::fs::read_to_string(format!(
                "{}/../../tests/fixtures/slack/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let (origin, seen) = response_urls(Files::Shown).await;
        let p = told_pipeline(dir.path(), &origin, ExternalUsers::default());
        let record = poster_in("T07MARQEE", None);
        p.records().put_record(&record).await.unwrap();
        let change = Change::Picture {
            usage: PictureUse::StyleOf,
            reference: "refs/2026/12/07/x.png".into(),
            name: "brand-2026.png".into(),
        };
        let task = Task::Retake {
            source: record.id,
            change: change.clone(),
        };
        let mut guest = job_from(
            &picture("view_submission_use_picture_slack_connect.json"),
            task,
        );
        assert_eq!(p.outsider(&record, &guest.requester), Some(VIEW_ONLY));
        answering(&mut guest, &origin);
        let outcome = p.retake(&guest, record.id, &change, None).await.unwrap();
        assert_eq!(
            outcome,
            Outcome::FailedAndTold {
                kind: "ExternalUser"
            }
        );
        assert_eq!(seen.lock().unwrap().len(), 1);
        let member = job_from(&picture("view_submission_use_picture.json"), Task::Usage);
        assert_eq!(p.outsider(&record, &member.requester), None);
        let org = job_from(
            &picture("view_submission_use_picture_org_install.json"),
            Task::Usage,
        );
        assert_eq!(
            p.outsider(&poster_in("T07MARQEE", Some("E07MARQEE")), &org.requester),
            None
        );
        assert_eq!(
            p.outsider(&poster_in("T07ELSEWHR", Some("E07ELSEWHR")), &org.requester),
            Some(VIEW_ONLY)
        );
    }

    /// 📐 Formats… submitted from its modal is judged as the click is (`Pipeline::outsider`),
    /// on the submitter's own workspace (`user.team_id`) and org-wide `enterprise.id`: a Slack
    /// Connect guest is told and nothing is made; a member of the workspace or of the org-wide
    /// install may have formats made.
    #[tokio::test]
    async fn a_slack_connect_guest_has_no_formats_made_and_members_may() {
        use marquee_core::job::Task;
        use marquee_core::poster::Format;
        let fixture = |name: &str| {
            std::fs::read_to_string(format!(
                "{}/../../tests/fixtures/slack/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let (origin, seen) = response_urls(Files::Shown).await;
        let p = told_pipeline(dir.path(), &origin, ExternalUsers::default());
        let record = poster_in("T07MARQEE", None);
        p.records().put_record(&record).await.unwrap();
        let task = Task::Formats {
            source: record.id,
            formats: Format::ALL.to_vec(),
        };
        let mut guest = job_from(
            &fixture("view_submission_formats_slack_connect.json"),
            task.clone(),
        );
        assert_eq!(p.outsider(&record, &guest.requester), Some(VIEW_ONLY));
        answering(&mut guest, &origin);
        let outcome = p
            .formats(&guest, record.id, &Format::ALL, None)
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::FailedAndTold { kind: "NotAllowed" });
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert!(texts(&seen).contains("not make new takes, edit, approve or print"));
        assert!(
            p.records()
                .made_formats(record.id, &Format::ALL)
                .await
                .unwrap()
                .is_empty()
        );
        let full = told_pipeline(dir.path(), &origin, ExternalUsers::Full);
        assert_eq!(full.outsider(&record, &guest.requester), None);
        let member = job_from(&fixture("view_submission_formats.json"), task.clone());
        assert_eq!(p.outsider(&record, &member.requester), None);
        let org = job_from(&fixture("view_submission_formats_org_install.json"), task);
        assert_eq!(
            p.outsider(&poster_in("T07MARQEE", Some("E07MARQEE")), &org.requester),
            None
        );
        assert_eq!(
            p.outsider(&poster_in("T07ELSEWHR", Some("E07ELSEWHR")), &org.requester),
            Some(VIEW_ONLY)
        );
    }

    #[test]
    fn a_slack_connect_guest_starts_no_poster_and_org_members_do() {
        use marquee_core::slack::events::{self, Event, EventsBody};
        let mention = |body: &str| match events::parse(body.as_bytes()).unwrap() {
            EventsBody::Callback {
                event: Event::Mention(m),
                ..
            } => m.requester.clone(),
            other => panic!("{other:?}"),
        };
        let shortcut = |body: &str| {
            let s = marquee_core::slack::shortcut::parse_shortcut(body).unwrap();
            s.actor.requester(&s.ctx.channel_id)
        };
        let fixture = |name: &str| {
            std::fs::read_to_string(format!(
                "{}/../../tests/fixtures/slack/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        let guests = [
            mention(&fixture("events_app_mention_slack_connect.json")),
            shortcut(&fixture("message_action_slack_connect.json")),
        ];
        for guest in &guests {
            assert_eq!(
                outsider_to_start(ExternalUsers::ViewOnly, guest),
                Some(VIEW_ONLY_NEW),
                "{guest:?}"
            );
            assert_eq!(outsider_to_start(ExternalUsers::Full, guest), None);
        }
        let members = [
            mention(&fixture("events_app_mention_thread.json")),
            mention(&fixture("events_app_mention_org_install.json")),
            shortcut(&fixture("message_action_thread_reply.json")),
            shortcut(&fixture("message_action_org_install.json")),
        ];
        for member in &members {
            assert_eq!(
                outsider_to_start(ExternalUsers::ViewOnly, member),
                None,
                "{member:?}"
            );
        }
        // A slash command names no own workspace: its requester is a member.
        let command = sample_job().requester;
        assert_eq!(outsider_to_start(ExternalUsers::ViewOnly, &command), None);
    }
}
