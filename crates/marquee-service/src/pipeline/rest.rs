//! The REST door's jobs: nobody to post to, so the outcome is kept as the job's status record
//! (`job#<id>` / `status`), which `GET /v1/posters/{id}` reads. API Gateway gives a request
//! 30 seconds and a poster can take longer, so the door answers `202` with the id at once and
//! the worker runs the job exactly as it runs a Slack one: run marker, quota, model, store.
//!
//! The status is written `pending` by the door before the job is queued, then `done` (the
//! poster's key; the door signs a fresh link on every read) or `failed` (what went wrong, in the
//! same words Slack users get) by the worker — or, when Lambda gives up on the job, by the
//! on-failure path.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use uuid::Uuid;

use super::metering::{Refusal, Reserved};
use super::records::now;
use super::{FAILURE_RESERVE, Outcome, Pipeline, PipelineError};
use marquee_core::errors::ErrorChain;
use marquee_core::job::{Job, Task};
use marquee_core::metrics::{Event, Failure};
use marquee_core::quota::LimitKind;
use marquee_core::state::{Claim, Key};

/// Where a REST job stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub(crate) enum RestStatus {
    Pending {
        /// Who asked: the IAM principal API Gateway authorised (`local` on a laptop).
        caller: String,
        accepted_at: i64,
    },
    Done {
        caller: String,
        key: String,
        model: String,
        seed: u32,
        width: u32,
        height: u32,
    },
    Failed {
        caller: String,
        /// A stable name for the failure (`OverLimit`, `ModelThrottled`, …).
        error: String,
        message: String,
    },
}

impl RestStatus {
    pub(crate) fn caller(&self) -> &str {
        match self {
            RestStatus::Pending { caller, .. }
            | RestStatus::Done { caller, .. }
            | RestStatus::Failed { caller, .. } => caller,
        }
    }
}

/// The first pause between reads of a job's status while a `POST /v1/posters` waits for it.
const FIRST_POLL: Duration = Duration::from_millis(100);
/// The longest pause between reads: a poster takes seconds, so reading more often than this
/// late in a wait only costs table reads.
const MAX_POLL: Duration = Duration::from_secs(2);

/// The pauses between reads of a REST job's status while the door waits for it (`Prefer:
/// wait`): 100 ms, doubling to 2 s and staying there. A fast offline poster is seen within a
/// fraction of a second; a ten-second wait reads the table ten times instead of forty.
pub(crate) fn wait_backoff() -> impl Iterator<Item = Duration> {
    std::iter::successors(Some(FIRST_POLL), |pause| Some((*pause * 2).min(MAX_POLL)))
}

fn status_key(id: Uuid) -> Key {
    Key::new(format!("job#{id}"), "status")
}

/// A refusal in plain words, for an API caller.
fn refusal_message(refusal: &Refusal) -> String {
    let what = match refusal.kind {
        LimitKind::User => "your daily poster limit",
        LimitKind::Channel => "the channel's daily poster limit",
        LimitKind::Budget => "Marquee's monthly budget (shared by every team and the API)",
    };
    let resets = time::OffsetDateTime::from_unix_timestamp(refusal.resets_at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| refusal.resets_at.to_string());
    format!(
        "This request would pass {what} ({} of {} used); nothing was generated or charged. It resets at {resets}.",
        refusal.used, refusal.limit
    )
}

impl Pipeline {
    /// Records a REST job as pending, before it is queued. `false`: a job with this id
    /// already has a status (the id is random, so only a retried request can collide).
    pub(crate) async fn accept_rest(&self, job: &Job) -> Result<bool, PipelineError> {
        let status = RestStatus::Pending {
            caller: job.requester.user_id.clone(),
            accepted_at: job.accepted_at,
        };
        let value =
            serde_json::to_string(&status).map_err(|e| PipelineError::Record(Box::new(e)))?;
        let until = self.retention_end(job.accepted_at);
        let claim = self
            .state
            .claim(
                &status_key(job.id),
                value,
                &marquee_core::state::Claimant::new(),
                Some(until),
                now(),
            )
            .await?;
        Ok(claim == Claim::Won)
    }

    /// Where REST job `id` stands; `None` when there is no such job (or it is past retention).
    pub(crate) async fn rest_status(&self, id: Uuid) -> Result<Option<RestStatus>, PipelineError> {
        match self.state.get(&status_key(id), now()).await? {
            Some(item) => serde_json::from_str(&item.value)
                .map(Some)
                .map_err(|e| PipelineError::Record(Box::new(e))),
            None => Ok(None),
        }
    }

    pub(super) async fn set_rest_status(
        &self,
        job: &Job,
        status: &RestStatus,
    ) -> Result<(), PipelineError> {
        let value =
            serde_json::to_string(status).map_err(|e| PipelineError::Record(Box::new(e)))?;
        let until = self.retention_end(job.accepted_at.max(now()));
        self.state
            .put(&status_key(job.id), value, Some(until))
            .await?;
        Ok(())
    }

    /// Records that REST job `job` failed, in the words a Slack user would get.
    pub(crate) async fn fail_rest(&self, job: &Job, error: &str, message: String) -> Outcome {
        let status = RestStatus::Failed {
            caller: job.requester.user_id.clone(),
            error: error.to_owned(),
            message,
        };
        match self.set_rest_status(job, &status).await {
            Ok(()) => Outcome::FailedAndTold {
                kind: if error == "OverLimit" {
                    "OverLimit"
                } else {
                    "RestFailed"
                },
            },
            Err(e) => {
                tracing::error!(job = %job.id, error = %ErrorChain(&e), "could not record a REST job's failure");
                Outcome::Undeliverable {
                    kind: "StatusUnwritable",
                }
            }
        }
    }

    /// The worker for a REST job: the same run marker, quota and pipeline as a Slack job, with
    /// the outcome written to the job's status record instead of posted.
    pub(super) async fn run_for_status(&self, job: &Job, deadline: Option<Instant>) -> Outcome {
        let caller = job.requester.user_id.clone();
        let work = async {
            match self.claim_run(job).await {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
            let Task::Poster { spec } = &job.task else {
                return Some(Err(PipelineError::Record(
                    "only new posters are made through the REST door".into(),
                )));
            };
            let mut reservation = match self.reserve(&job.requester, spec.model, 1).await {
                Ok(Reserved::Free) => None,
                Ok(Reserved::Taken(r)) => Some(r),
                Ok(Reserved::Refused(refusal)) => return Some(Ok(Err(refusal))),
                Err(e) => return Some(Err(e)),
            };
            let rendered = self
                .render(job.id, spec, &job.requester, None, deadline)
                .await;
            if let Some(reservation) = reservation.as_mut() {
                match &rendered {
                    Err(e) if !e.may_be_billed() => self.refund(reservation, 1).await,
                    _ => self.charge(reservation, job, job.id).await,
                }
            }
            Some(rendered.map(Ok))
        };
        let finished = match deadline {
            Some(d) => tokio::time::timeout_at(d - FAILURE_RESERVE, work)
                .await
                .unwrap_or(Some(Err(PipelineError::Overran))),
            None => work.await,
        };
        match finished {
            None => {
                tracing::warn!(job = %job.id, "a second delivery of a job that already ran; ignored");
                Outcome::Duplicate
            }
            Some(Ok(Ok(rendered))) => {
                let status = RestStatus::Done {
                    caller,
                    key: rendered.key.clone(),
                    model: rendered.model.short_name().to_owned(),
                    seed: rendered.seed,
                    width: rendered.width,
                    height: rendered.height,
                };
                match self.set_rest_status(job, &status).await {
                    Ok(()) => {
                        if let Task::Poster { spec } = &job.task {
                            self.count_poster(spec);
                        }
                        Outcome::Delivered
                    }
                    Err(e) => {
                        tracing::error!(job = %job.id, error = %ErrorChain(&e), "poster made, but its status could not be recorded");
                        self.metrics.record(Event::Failure(Failure::Delivery));
                        Outcome::Undeliverable {
                            kind: "StatusUnwritable",
                        }
                    }
                }
            }
            Some(Ok(Err(refusal))) => {
                self.fail_rest(job, "OverLimit", refusal_message(&refusal))
                    .await
            }
            Some(Err(error)) => {
                let x = error.explain();
                tracing::warn!(job = %job.id, kind = x.kind, error = %ErrorChain(&error), "REST job failed");
                self.metrics.record(Event::Failure(error.failure()));
                self.fail_rest(job, x.kind, format!("{} {}", x.headline, x.advice))
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100 ms doubling to 2 s, then 2 s: a 10-second wait reads the table ten times — at the
    /// start, after each pause that ends within the wait, and once more at its end — where
    /// 250 ms polling read it forty times.
    #[test]
    fn waiting_backs_off_from_100_ms_to_2_s() {
        let pauses: Vec<u64> = wait_backoff()
            .take(8)
            .map(|d| d.as_millis() as u64)
            .collect();
        assert_eq!(pauses, [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
        let mut waited = Duration::ZERO;
        let reads = wait_backoff()
            .take_while(|pause| {
                waited += *pause;
                waited <= Duration::from_secs(10)
            })
            .count()
            + 2;
        assert_eq!(reads, 10);
    }
}
