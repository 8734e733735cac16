//! One thing at a time per poster: a take, Formats… (of a Bedrock take) and Print each run
//! holding the poster's lock (`Records::take_lock`: a conditional write that expires on its
//! own), so two clicks never pay for the same art twice. A click that finds the lock taken is
//! told so, privately, and never started.

use std::future::Future;

use uuid::Uuid;

use super::{Outcome, Pipeline, PipelineError};
use marquee_core::errors::ErrorChain;
use marquee_core::job::Job;
use marquee_core::slack::blocks;

/// What a click is told when another job holds its poster's lock. The lock is shared by takes,
/// Formats… and Print, so the note names all three rather than guessing which is running;
/// `not_started` says what the click asked for, e.g. "Your formats weren't started".
fn one_at_a_time(not_started: &str) -> String {
    format!(
        "⏳ Marquee is already making something from this poster (a take, its formats or its print files), one thing at a time. {not_started} and nothing was charged: click again once that has arrived."
    )
}

impl Pipeline {
    /// Runs `locked` holding poster `source`'s lock for `job`, then releases it (a lock that
    /// cannot be released expires on its own). When another job holds the lock, the clicker is
    /// told ([`one_at_a_time`] with `not_started`) and `locked` is dropped unpolled: nothing of
    /// it runs. `description` goes with an error taking the lock, as with every job error.
    pub(super) async fn under_poster_lock(
        &self,
        job: &Job,
        source: Uuid,
        description: &str,
        not_started: &str,
        locked: impl Future<Output = Result<Outcome, (PipelineError, String)>>,
    ) -> Result<Outcome, (PipelineError, String)> {
        let acquired = self
            .records
            .take_lock(source, job)
            .await
            .map_err(|e| (e, description.to_owned()))?;
        if !acquired {
            tracing::info!(%source, "not started: another job holds the poster's lock");
            let note = blocks::note_to_clicker(&one_at_a_time(not_started));
            return self.tell_clicker(job, &note, "AlreadyRunning").await;
        }
        let outcome = locked.await;
        if let Err(e) = self.records.release_lock(source, job).await {
            tracing::warn!(%source, error = %ErrorChain(&e), "could not release the poster's lock; it expires on its own");
        }
        outcome
    }
}
