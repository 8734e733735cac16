//! Retakes: another take on a stored poster, one at a time per poster.

use tokio::time::Instant;
use uuid::Uuid;

use super::metering::Reserved;
use super::{Outcome, Pipeline, PipelineError};
use crate::errors::ErrorChain;
use crate::job::{Change, Job, PosterSpec};
use crate::slack::blocks;

impl Pipeline {
    /// Another take on a stored poster. One take per poster runs at a time: a second click
    /// while one is running is told so instead of paying for a duplicate.
    pub(super) async fn retake(
        &self,
        job: &Job,
        source: Uuid,
        change: Change,
        deadline: Option<Instant>,
    ) -> Result<Outcome, (PipelineError, String)> {
        let response_url = job.reply_to.slack_url();
        let record = self.record(source).await.map_err(|e| (e, String::new()))?;
        let description = record.spec.description.clone();
        let acquired = self
            .take_lock(source, job)
            .await
            .map_err(|e| (e, description.clone()))?;
        if !acquired {
            let note = blocks::note_to_clicker(
                "⏳ A new take of this poster is already being made — it will appear here shortly.",
            );
            let _ = self.slack.respond(response_url, &note).await;
            tracing::info!(job = %job.id, %source, "retake refused: one is already running");
            return Ok(Outcome::FailedAndTold {
                kind: "AlreadyRunning",
            });
        }

        // Every take is reserved before any is drawn: a click for two variations with one
        // poster left is refused whole rather than half made.
        let takes_wanted = match change {
            Change::Variations { count } => i64::from(count),
            Change::Regenerate | Change::Restyle { .. } => 1,
        };
        let mut reservation = match self
            .reserve(&job.requester, record.spec.model, takes_wanted)
            .await
        {
            Ok(Reserved::Free) => None,
            Ok(Reserved::Taken(r)) => Some(r),
            Ok(Reserved::Refused(refusal)) => {
                self.release_lock_or_log(source, job).await;
                return Ok(self.tell_over_limit(job, &refusal).await);
            }
            Err(e) => {
                self.release_lock_or_log(source, job).await;
                return Err((e, description));
            }
        };

        let working = match change {
            Change::Regenerate => "🎲 Regenerating with a new seed…".to_owned(),
            Change::Variations { count } => format!("🎞️ Making {count} variations…"),
            Change::Restyle { style } => format!("🎨 Restyling as {style}…"),
        };
        let _ = self
            .slack
            .respond(response_url, &blocks::note_to_clicker(&working))
            .await;

        let mut base = record.spec.clone();
        base.seed = None;
        let takes: Vec<(PosterSpec, Option<String>)> = match change {
            Change::Regenerate => vec![(base, Some("Regenerated".to_owned()))],
            Change::Variations { count } => (1..=count)
                .map(|i| (base.clone(), Some(format!("Variation {i} of {count}"))))
                .collect(),
            Change::Restyle { style } => vec![(
                PosterSpec { style, ..base },
                Some(format!("Restyled as {style}")),
            )],
        };
        let mut outcome = Ok(Outcome::Delivered);
        for (spec, note) in takes {
            match self
                .make_and_deliver(
                    job,
                    Uuid::new_v4(),
                    &spec,
                    note,
                    deadline,
                    reservation.as_mut(),
                )
                .await
            {
                Ok(Outcome::Delivered) => {}
                other => {
                    outcome = other;
                    break;
                }
            }
        }
        // Takes never started (the run stopped at a failure) give back what they reserved.
        if let Some(reservation) = reservation.as_mut() {
            self.refund(reservation, takes_wanted).await;
        }
        self.release_lock_or_log(source, job).await;
        outcome
    }

    async fn release_lock_or_log(&self, source: Uuid, job: &Job) {
        if let Err(e) = self.release_lock(source, job).await {
            tracing::warn!(job = %job.id, error = %ErrorChain(&e), "could not release the retake lock; it expires on its own");
        }
    }
}
