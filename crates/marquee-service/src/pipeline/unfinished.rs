//! Telling a requester that their job never finished, when the worker could not say so itself.
//!
//! [`Pipeline::run`](super::Pipeline) reports every failure it sees. What it cannot see is its
//! own end: Lambda stopping it at the function's timeout or when it runs out of memory, a crash,
//! Slack being unreachable when it had something to say, or the job expiring in Lambda's queue
//! before it ran. Lambda records those as failed asynchronous invocations; the door that reads
//! the records (`lambda`) says which of these it was as an [`Unfinished`], and this module
//! decides the words and whether anyone can still be told. It knows nothing of Lambda's record
//! format or of SQS.

use tokio::time::Instant;
use tracing::Instrument;

use super::Outcome;
use marquee_core::job::{Job, ReplyTo, Task};
use marquee_core::metrics::{Event, Failure};
use marquee_core::slack::blocks;
use marquee_core::slack::client::RESPONSE_URL_LIFETIME;

use super::Pipeline;
use marquee_core::errors::ErrorChain;

/// Why a job ended without a word to its requester.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unfinished {
    /// It ran into the function's time limit and was stopped.
    TimedOut,
    /// The worker stopped without finishing: out of memory, a crash, an error it could not
    /// report.
    Stopped,
    /// It was ready, or had failed, but Slack could not be reached to say so.
    SlackUnreachable,
    /// It waited in the queue longer than a job may, and never started.
    Expired,
}

impl Unfinished {
    /// What happened, in words for the requester.
    fn what_happened(self) -> &'static str {
        match self {
            Unfinished::TimedOut => "It took longer than Marquee's time limit and was stopped.",
            Unfinished::Stopped => "Marquee's worker stopped unexpectedly while making it.",
            Unfinished::SlackUnreachable => "Marquee couldn't reach Slack to deliver it.",
            Unfinished::Expired => {
                "It waited too long in the queue, and Marquee never got to start on it."
            }
        }
    }

    /// The kind of failure it counts as, unless the worker counted it already: a worker that
    /// could not reach Slack counted the failure it was trying to report.
    fn failure(self) -> Option<Failure> {
        match self {
            Unfinished::TimedOut => Some(Failure::Timeout),
            Unfinished::Stopped | Unfinished::Expired => Some(Failure::Other),
            Unfinished::SlackUnreachable => None,
        }
    }

    /// A stable name for logs.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Unfinished::TimedOut => "TimedOut",
            Unfinished::Stopped => "Stopped",
            Unfinished::SlackUnreachable => "SlackUnreachable",
            Unfinished::Expired => "Expired",
        }
    }
}

/// How telling the requester went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    /// The requester has the message.
    Told,
    /// The job is older than its `response_url` lives: nothing can reach the requester.
    TooLate,
    /// Slack refused the message, or may have taken it (a post that timed out): trying again
    /// could only be refused again or post twice.
    Refused,
    /// Slack could not be reached and nothing was posted: trying again later may work.
    Unreachable,
}

/// How much of its `response_url`'s life a queued job needs left to be started: a job that
/// has waited longer is told it expired in the queue instead (a poster takes seconds offline
/// and up to a model timeout on Bedrock, and the failure message needs its moment too).
const START_MARGIN: i64 = 120;

impl Pipeline {
    /// Runs `job` from the local server's queue, in its span ([`Job::span`]). A Slack job is given until its
    /// `response_url` expires (30 minutes after the ack), and one that waited so long it
    /// cannot finish in that time is told it expired, without starting. A `resumed` job (the
    /// previous process accepted it) whose run marker is taken already was running when that
    /// process stopped: see [`Self::resume_interrupted`].
    pub(crate) async fn run_queued(&self, job: Job, resumed: bool) -> Outcome {
        let span = job.span();
        async move {
            let now = super::records::now();
            let deadline = if job.reply_to == ReplyTo::Status {
                None
            } else {
                let left = job.accepted_at + RESPONSE_URL_LIFETIME.whole_seconds() - now;
                if left < START_MARGIN {
                    tracing::warn!(
                        waited_secs = now - job.accepted_at,
                        "a queued job waited too long to be started"
                    );
                    self.tell_unfinished(&job, Unfinished::Expired, now).await;
                    return Outcome::FailedAndTold { kind: "Expired" };
                }
                Some(Instant::now() + std::time::Duration::from_secs(left as u64))
            };
            let outcome = self.run(job.clone(), deadline).await;
            if outcome == Outcome::Duplicate && resumed {
                return self.resume_interrupted(job, deadline).await;
            }
            outcome
        }
        .instrument(span)
        .await
    }

    /// A job that was running when the server stopped (its run marker is taken, its queue row
    /// still there) is never run twice where that could charge or post twice:
    ///
    /// - a new poster of an unmetered model with no record yet had not been stored, so it had
    ///   not been posted (delivery comes after the record) and cost nothing: it runs again;
    /// - a poster with a record was finished and may have been posted: it is not posted again,
    ///   and its requester gets the link privately, as after a delivery Slack did not confirm;
    /// - anything else (a metered model, whose call may have been billed; a retake, a print)
    ///   is told it could not be finished;
    /// - a REST job whose status already says done had finished before the stop: its status
    ///   stays as it is.
    async fn resume_interrupted(&self, job: Job, deadline: Option<Instant>) -> Outcome {
        if job.reply_to == ReplyTo::Status {
            if let Ok(Some(super::RestStatus::Done { .. })) = self.records.rest_status(job.id).await
            {
                tracing::info!("a resumed REST job had finished before the stop");
                return Outcome::Duplicate;
            }
        }
        if let (Task::Poster { spec }, false) = (&job.task, job.reply_to == ReplyTo::Status) {
            match self.records.record(job.id).await {
                Err(super::PipelineError::UnknownPoster(_))
                    if !self.metering.limits().is_metered(spec.model) =>
                {
                    tracing::info!(
                        "a resumed job had started but made nothing billable or visible; running it again"
                    );
                    return self.run_slack(job, deadline, true).await;
                }
                Ok(record) => match self.link(&record.key, job.public_url.as_deref()) {
                    Ok(link) => {
                        tracing::warn!(
                            "a resumed job's poster was made but may not have been posted; sending its link privately"
                        );
                        let note = blocks::delivery_unconfirmed(
                            &link.url,
                            link.expires_at.unix_timestamp(),
                        );
                        return match self.say(&job, &note).await {
                            Ok(()) => Outcome::Delivered,
                            Err(e) => {
                                tracing::error!(error = %ErrorChain(&e), "could not send a resumed job's link");
                                Outcome::Undeliverable {
                                    kind: "SlackUnconfirmed",
                                }
                            }
                        };
                    }
                    Err(e) => {
                        tracing::error!(error = %ErrorChain(&e), "could not link a resumed job's poster");
                    }
                },
                Err(_) => {}
            }
        }
        tracing::warn!("a resumed job was running when the server stopped; telling its requester");
        self.tell_unfinished(&job, Unfinished::Stopped, super::records::now())
            .await;
        Outcome::FailedAndTold { kind: "Stopped" }
    }

    /// Tells the requester of `job` that it could not be finished, and why, if its
    /// `response_url` can still be used at `now` (Unix seconds). Logs every outcome but
    /// [`Notice::Told`] as an error: each is a requester left without an answer, for now or
    /// for good.
    pub(crate) async fn tell_unfinished(&self, job: &Job, why: Unfinished, now: i64) -> Notice {
        async move {
            if let Some(failure) = why.failure() {
                self.metrics.record(Event::Failure(failure));
            }
            if job.reply_to == ReplyTo::Status {
                // A REST caller polls the job's status: record the failure there, whatever its age.
                // (Slack plays no part in a REST job, so its "couldn't reach Slack" reason reads as
                // the worker stopping.)
                let what = match why {
                    Unfinished::SlackUnreachable => Unfinished::Stopped.what_happened(),
                    other => other.what_happened(),
                };
                let message = format!("Your poster could not be finished. {what} Please try again.");
                return match self.fail_rest(job, "Unfinished", message).await {
                    Outcome::Undeliverable { .. } => Notice::Unreachable,
                    _ => Notice::Told,
                };
            }
            let age = now.saturating_sub(job.accepted_at);
            if age >= RESPONSE_URL_LIFETIME.whole_seconds() {
                tracing::error!(why = why.kind(), age_secs = age, "job never finished and its response_url has expired; the requester cannot be told");
                return Notice::TooLate;
            }
            let (headline, description) = match &job.task {
                Task::Poster { spec } => (
                    "Your poster could not be finished.",
                    spec.description.as_str(),
                ),
                Task::Retake { .. } => ("Your new take could not be finished.", ""),
                Task::Approve { .. } => ("Your approval could not be finished.", ""),
                Task::Usage => ("Marquee couldn't look up your usage.", ""),
                Task::History => ("Marquee couldn't look up your posters.", ""),
                Task::Print { .. } => ("Your print-ready files could not be finished.", ""),
                Task::Formats { .. } => ("Your poster's formats could not be finished.", ""),
                Task::Note { .. } => ("Marquee couldn't answer you just now.", ""),
                Task::Home => ("Marquee couldn't show your Home tab just now.", ""),
            };
            let advice = format!(
                "{} Please try again; if it keeps happening, tell your Marquee admin.",
                why.what_happened()
            );
            let message = blocks::failure(headline, &advice, description);
            match self.say(job, &message).await {
                Ok(()) => {
                    tracing::info!(why = why.kind(), "told the requester their job could not be finished");
                    Notice::Told
                }
                Err(e) if e.may_pass() => {
                    tracing::error!(why = why.kind(), error = %ErrorChain(&e), "could not reach slack to say the job never finished; will try again");
                    Notice::Unreachable
                }
                Err(e) => {
                    tracing::error!(why = why.kind(), error = %ErrorChain(&e), "slack refused the message that the job never finished");
                    Notice::Refused
                }
            }
        }
        .instrument(job.span())
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use marquee_core::model::Models;
    use marquee_core::slack::SlackClient;
    use marquee_core::store::LinkSigner;
    use marquee_core::store::local::LocalStore;

    /// A response_url server answering every post with `status` and `body`; keeps the
    /// bodies it got.
    async fn slack(status: u16, body: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
        let posts = Arc::new(Mutex::new(Vec::new()));
        let seen = posts.clone();
        let app = axum::Router::new().fallback(move |got: String| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(got);
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [(axum::http::header::CONNECTION, "close")],
                    body,
                )
            }
        });
        (super::super::testing::serve(app).await, posts)
    }

    fn pipeline(origin: &str, dir: &std::path::Path) -> Pipeline {
        Pipeline::new(
            Models::new(),
            Arc::new(LocalStore::open(dir).unwrap()),
            Arc::new(
                marquee_core::state::local::LocalState::open(dir.join("state.sqlite3")).unwrap(),
            ),
            SlackClient::new(
                marquee_core::slack::client::http_client().unwrap(),
                &[origin.to_owned()],
            ),
            LinkSigner::from_dir(dir).unwrap(),
            Duration::from_secs(60),
        )
    }

    fn job_for(origin: &str) -> Job {
        let mut job = marquee_core::job::sample_job();
        job.reply_to = ReplyTo::response_url(format!("{origin}/commands/T1/1/secret"));
        job
    }

    /// A job for `origin` accepted just now, as one taken from the local queue is.
    fn fresh_job_for(origin: &str) -> Job {
        let mut job = job_for(origin);
        job.accepted_at = crate::pipeline::records::now();
        job
    }

    use crate::pipeline::testing::offline_pipeline;

    /// Every line a job logs carries its id — from the job's span, not a field added to each
    /// event — and none carries its `response_url` or a link's signature. The job here makes
    /// its poster and then finds its `response_url` expired, so it logs on the way in, at
    /// the render, and on both failure paths (delivery, then the failure message).
    #[tokio::test]
    async fn every_line_a_job_logs_carries_its_id_and_no_secret() {
        let (logs, _capturing) = super::super::testing::capture();

        let dir = tempfile::tempdir().unwrap();
        let (origin, posts) = slack(404, "expired_url").await;
        let p = offline_pipeline(dir.path(), &origin);
        let job = fresh_job_for(&origin);
        let outcome = p.run_queued(job.clone(), false).await;
        assert_eq!(
            outcome,
            Outcome::Undeliverable {
                kind: super::super::SLACK_REFUSED
            }
        );
        assert!(!posts.lock().unwrap().is_empty(), "slack was asked");

        let text = logs.text();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() >= 3, "the job logged: {text}");
        assert!(text.contains("poster rendered"), "{text}");
        let id = format!("job={}", job.id);
        for line in &lines {
            assert!(line.contains(&id), "a line without the job's id: {line}");
            assert_eq!(
                line.matches(&id).count(),
                1,
                "the id once, not once per span: {line}"
            );
        }
        let response_url = job.reply_to.slack_url();
        assert!(!text.contains(response_url), "{text}");
        assert!(!text.contains("secret"), "{text}");
        assert!(!text.contains("sig="), "{text}");
    }

    #[tokio::test]
    async fn the_requester_is_told_what_happened_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        for (why, words) in [
            (Unfinished::TimedOut, "time limit"),
            (Unfinished::Stopped, "stopped unexpectedly"),
            (Unfinished::SlackUnreachable, "reach Slack"),
            (Unfinished::Expired, "waited too long in the queue"),
        ] {
            let (origin, posts) = slack(200, "ok").await;
            let job = job_for(&origin);
            let notice = pipeline(&origin, dir.path())
                .tell_unfinished(&job, why, job.accepted_at + 60)
                .await;
            assert_eq!(notice, Notice::Told, "{why:?}");
            let posts = posts.lock().unwrap();
            assert_eq!(posts.len(), 1, "{why:?}");
            for expected in [
                "Your poster could not be finished.",
                words,
                "Please try again",
                "tell your Marquee admin",
                "a lighthouse keeper fights a kraken",
                r#""replace_original":false"#,
            ] {
                assert!(
                    posts[0].contains(expected),
                    "{why:?}: {expected} in {}",
                    posts[0]
                );
            }
        }
    }

    #[tokio::test]
    async fn a_job_older_than_its_response_url_is_not_posted() {
        let dir = tempfile::tempdir().unwrap();
        let (origin, posts) = slack(200, "ok").await;
        let job = job_for(&origin);
        let now = job.accepted_at + RESPONSE_URL_LIFETIME.whole_seconds();
        let notice = pipeline(&origin, dir.path())
            .tell_unfinished(&job, Unfinished::Expired, now)
            .await;
        assert_eq!(notice, Notice::TooLate);
        assert!(posts.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn refusals_are_final_and_an_unreachable_slack_may_be_tried_again() {
        let dir = tempfile::tempdir().unwrap();
        let (origin, _) = slack(404, "expired_url").await;
        let job = job_for(&origin);
        let notice = pipeline(&origin, dir.path())
            .tell_unfinished(&job, Unfinished::Stopped, job.accepted_at)
            .await;
        assert_eq!(notice, Notice::Refused);

        // Nothing listens: the connection is refused, so nothing can have been posted.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let job = job_for(&closed);
        let notice = pipeline(&closed, dir.path())
            .tell_unfinished(&job, Unfinished::Stopped, job.accepted_at)
            .await;
        assert_eq!(notice, Notice::Unreachable);
    }

    /// A job that waited in the local queue until its `response_url` had under two minutes
    /// left is told it expired, and never started (no run marker is taken).
    #[tokio::test]
    async fn a_queued_job_too_old_to_finish_is_told_it_expired() {
        let dir = tempfile::tempdir().unwrap();
        let (origin, posts) = slack(200, "ok").await;
        let p = pipeline(&origin, dir.path());
        let mut job = fresh_job_for(&origin);
        job.accepted_at -= RESPONSE_URL_LIFETIME.whole_seconds() - 60;
        let outcome = p.run_queued(job.clone(), false).await;
        assert_eq!(outcome, Outcome::FailedAndTold { kind: "Expired" });
        {
            let posts = posts.lock().unwrap();
            assert_eq!(posts.len(), 1);
            assert!(
                posts[0].contains("waited too long in the queue"),
                "{}",
                posts[0]
            );
        }
        assert!(
            p.records().claim_run(&job).await.unwrap(),
            "it never started"
        );
    }

    /// A resumed job whose run marker is taken was running when the server stopped. One of a
    /// metered model (its call may have been billed) is not run again, and its requester is
    /// told; a job that is not resumed and finds its marker taken is a duplicate and says
    /// nothing.
    #[tokio::test]
    async fn a_resumed_metered_job_that_had_started_is_told_not_run_again() {
        let dir = tempfile::tempdir().unwrap();
        let (origin, posts) = slack(200, "ok").await;
        let p = pipeline(&origin, dir.path());
        let mut job = fresh_job_for(&origin);
        if let Task::Poster { spec } = &mut job.task {
            spec.model = marquee_core::model::ModelId::Sd35Large;
        }
        assert!(p.records().claim_run(&job).await.unwrap());
        assert_eq!(p.run_queued(job.clone(), false).await, Outcome::Duplicate);
        assert!(posts.lock().unwrap().is_empty());
        let outcome = p.run_queued(job, true).await;
        assert_eq!(outcome, Outcome::FailedAndTold { kind: "Stopped" });
        let posts = posts.lock().unwrap();
        assert_eq!(posts.len(), 1);
        assert!(posts[0].contains("stopped unexpectedly"), "{}", posts[0]);
    }

    /// A resumed free poster that had started but had no record (so it was never stored, nor
    /// posted) is made and posted now; one whose record exists was made and may have been
    /// posted, so its requester gets the link privately instead of a second poster.
    #[tokio::test]
    async fn a_resumed_free_poster_runs_again_unless_it_was_made() {
        let dir = tempfile::tempdir().unwrap();
        let (origin, posts) = slack(200, "ok").await;
        let p = offline_pipeline(dir.path(), &origin);

        let unmade = fresh_job_for(&origin);
        assert!(p.records().claim_run(&unmade).await.unwrap());
        assert_eq!(p.run_queued(unmade.clone(), true).await, Outcome::Delivered);
        assert!(p.records().record(unmade.id).await.is_ok(), "it was made");
        {
            let posts = posts.lock().unwrap();
            assert_eq!(posts.len(), 1);
            assert!(posts[0].contains(r#""type":"image""#), "{}", posts[0]);
        }

        let made = fresh_job_for(&origin);
        let mut record = marquee_core::job::sample_record(&made, made.accepted_at);
        record.id = made.id;
        p.records().put_record(&record).await.unwrap();
        assert!(p.records().claim_run(&made).await.unwrap());
        assert_eq!(p.run_queued(made, true).await, Outcome::Delivered);
        let posts = posts.lock().unwrap();
        assert_eq!(posts.len(), 2);
        assert!(
            posts[1].contains("didn't confirm it was posted")
                && posts[1].contains("http://127.0.0.1:3000/files/posters/x.png?exp="),
            "{}",
            posts[1]
        );
        assert!(!posts[1].contains(r#""type":"image""#), "{}", posts[1]);
    }

    /// A REST job has no `response_url`: what Lambda gave up on is recorded as its status,
    /// which the caller polls, and nothing is posted anywhere.
    #[tokio::test]
    async fn a_rest_job_that_never_finished_is_marked_failed() {
        let dir = tempfile::tempdir().unwrap();
        let (origin, posts) = slack(200, "ok").await;
        let p = pipeline(&origin, dir.path());
        let mut job = fresh_job_for(&origin);
        job.reply_to = ReplyTo::Status;
        assert!(p.records().accept_rest(&job).await.unwrap());
        let notice = p
            .tell_unfinished(&job, Unfinished::SlackUnreachable, job.accepted_at + 60)
            .await;
        assert_eq!(notice, Notice::Told);
        assert!(posts.lock().unwrap().is_empty());
        match p.records().rest_status(job.id).await.unwrap() {
            Some(crate::pipeline::RestStatus::Failed { message, .. }) => {
                assert!(message.contains("stopped unexpectedly"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// A REST job that had finished when the server stopped (its queue row not yet removed)
    /// keeps its done status when it is resumed; it is not marked failed.
    #[tokio::test]
    async fn a_resumed_rest_job_that_had_finished_keeps_its_result() {
        let dir = tempfile::tempdir().unwrap();
        let (origin, posts) = slack(200, "ok").await;
        let p = pipeline(&origin, dir.path());
        let mut job = fresh_job_for(&origin);
        job.reply_to = ReplyTo::Status;
        assert!(p.records().accept_rest(&job).await.unwrap());
        let done = crate::pipeline::RestStatus::Done {
            caller: job.requester.user_id.clone(),
            key: "posters/x.png".into(),
            model: "offline".into(),
            seed: 7,
            width: 1024,
            height: 1536,
        };
        p.records().set_rest_status(&job, &done).await.unwrap();
        assert!(p.records().claim_run(&job).await.unwrap());
        assert_eq!(p.run_queued(job.clone(), true).await, Outcome::Duplicate);
        assert!(posts.lock().unwrap().is_empty());
        assert!(
            matches!(
                p.records().rest_status(job.id).await.unwrap(),
                Some(crate::pipeline::RestStatus::Done { .. })
            ),
            "the finished job's status was overwritten"
        );
    }
}
