//! Telling a requester that their job never finished, when the worker could not say so itself.
//!
//! [`Pipeline::run`](super::Pipeline) reports every failure it sees. What it cannot see is its
//! own end: Lambda stopping it at the function's timeout or when it runs out of memory, a crash,
//! Slack being unreachable when it had something to say, or the job expiring in Lambda's queue
//! before it ran. Lambda records those as failed asynchronous invocations; the door that reads
//! the records (`lambda`) says which of these it was as an [`Unfinished`], and this module
//! decides the words and whether anyone can still be told. It knows nothing of Lambda's record
//! format or of SQS.

use super::Outcome;
use crate::job::{Job, ReplyTo, Task};
use crate::metrics::{Event, Failure};
use crate::slack::blocks;
use crate::slack::client::RESPONSE_URL_LIFETIME;

use super::Pipeline;
use crate::errors::ErrorChain;

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

impl Pipeline {
    /// Tells the requester of `job` that it could not be finished, and why, if its
    /// `response_url` can still be used at `now` (Unix seconds). Logs every outcome but
    /// [`Notice::Told`] as an error: each is a requester left without an answer, for now or
    /// for good.
    pub(crate) async fn tell_unfinished(&self, job: &Job, why: Unfinished, now: i64) -> Notice {
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
            tracing::error!(job = %job.id, why = why.kind(), age_secs = age, "job never finished and its response_url has expired; the requester cannot be told");
            return Notice::TooLate;
        }
        let response_url = job.reply_to.slack_url();
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
        };
        let advice = format!(
            "{} Please try again; if it keeps happening, tell your Marquee admin.",
            why.what_happened()
        );
        let message = blocks::failure(headline, &advice, description);
        match self.slack.respond(response_url, &message).await {
            Ok(()) => {
                tracing::info!(job = %job.id, why = why.kind(), "told the requester their job could not be finished");
                Notice::Told
            }
            Err(e) if e.may_pass() => {
                tracing::error!(job = %job.id, why = why.kind(), error = %ErrorChain(&e), "could not reach slack to say the job never finished; will try again");
                Notice::Unreachable
            }
            Err(e) => {
                tracing::error!(job = %job.id, why = why.kind(), error = %ErrorChain(&e), "slack refused the message that the job never finished");
                Notice::Refused
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::model::Models;
    use crate::slack::SlackClient;
    use crate::store::LinkSigner;
    use crate::store::local::LocalStore;

    /// A response_url server answering every post with `response`; keeps the bodies it got.
    async fn slack(response: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let posts = Arc::new(Mutex::new(Vec::new()));
        let seen = posts.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = vec![0u8; 16 * 1024];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let _ = socket.write_all(response.as_bytes()).await;
            }
        });
        (origin, posts)
    }

    fn pipeline(origin: &str, dir: &std::path::Path) -> Pipeline {
        Pipeline::new(
            Models::new(),
            Arc::new(LocalStore::open(dir).unwrap()),
            Arc::new(crate::state::local::LocalState::open(dir.join("state.sqlite3")).unwrap()),
            SlackClient::new(
                crate::slack::client::http_client().unwrap(),
                &[origin.to_owned()],
            ),
            LinkSigner::from_dir(dir).unwrap(),
            Duration::from_secs(60),
        )
    }

    fn job_for(origin: &str) -> Job {
        let mut job = crate::job::sample_job();
        job.reply_to = ReplyTo::response_url(format!("{origin}/commands/T1/1/secret"));
        job
    }

    const OK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

    #[tokio::test]
    async fn the_requester_is_told_what_happened_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        for (why, words) in [
            (Unfinished::TimedOut, "time limit"),
            (Unfinished::Stopped, "stopped unexpectedly"),
            (Unfinished::SlackUnreachable, "reach Slack"),
            (Unfinished::Expired, "waited too long in the queue"),
        ] {
            let (origin, posts) = slack(OK).await;
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
        let (origin, posts) = slack(OK).await;
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
        let (origin, _) = slack(
            "HTTP/1.1 404 Not Found\r\nContent-Length: 11\r\nConnection: close\r\n\r\nexpired_url",
        )
        .await;
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

    /// A REST job has no `response_url`: what Lambda gave up on is recorded as its status,
    /// which the caller polls, and nothing is posted anywhere.
    #[tokio::test]
    async fn a_rest_job_that_never_finished_is_marked_failed() {
        let dir = tempfile::tempdir().unwrap();
        let (origin, posts) = slack(OK).await;
        let p = pipeline(&origin, dir.path());
        let mut job = job_for(&origin);
        job.reply_to = ReplyTo::Status;
        assert!(p.accept_rest(&job).await.unwrap());
        let notice = p
            .tell_unfinished(&job, Unfinished::SlackUnreachable, job.accepted_at + 60)
            .await;
        assert_eq!(notice, Notice::Told);
        assert!(posts.lock().unwrap().is_empty());
        match p.rest_status(job.id).await.unwrap() {
            Some(crate::pipeline::RestStatus::Failed { message, .. }) => {
                assert!(message.contains("stopped unexpectedly"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
