//! The private reports a requester asks for or is given: `/poster history` (their latest
//! posters, each with a fresh link), `/poster usage` and the note that a limit stopped them.

use super::metering::Refusal;
use super::{Outcome, Pipeline, PipelineError};
use marquee_core::job::Job;
use marquee_core::slack::blocks::{self, HistoryItem};

/// How many posters `/poster history` lists.
const HISTORY_LEN: usize = 10;

impl Pipeline {
    /// What `requester`, their channel (if any) and the deployment have used of their limits:
    /// `/poster usage`'s report, which the Home tab shows too.
    pub(super) async fn usage_of(
        &self,
        requester: &marquee_core::job::Requester,
    ) -> Result<blocks::UsageReport, PipelineError> {
        let limits = self.metering.limits();
        let free_models = self
            .models
            .ids()
            .into_iter()
            .filter(|m| !limits.is_metered(*m))
            .collect();
        Ok(self.metering.usage(requester, free_models).await?)
    }

    /// Lists the requester's latest posters, newest first, from their records (approval
    /// included), each with a link signed now.
    pub(super) async fn show_history(&self, job: &Job) -> Result<Outcome, (PipelineError, String)> {
        let records = self
            .records
            .history(&job.requester, HISTORY_LEN)
            .await
            .map_err(|e| (e, String::new()))?;
        let mut links = Vec::with_capacity(records.len());
        for record in &records {
            let link = self
                .link(&record.key, job.public_url.as_deref())
                .map_err(|e| (e, String::new()))?;
            links.push(link);
        }
        let items: Vec<HistoryItem<'_>> = records
            .iter()
            .zip(&links)
            .map(|(record, link)| HistoryItem {
                record,
                url: &link.url,
                expires_at: link.expires_at.unix_timestamp(),
            })
            .collect();
        Ok(self
            .delivery
            .reply(job, &blocks::history(&items), Outcome::Delivered)
            .await)
    }

    /// Tells the requester, privately, which limit stopped their request.
    pub(super) async fn tell_over_limit(&self, job: &Job, refusal: &Refusal) -> Outcome {
        self.tell_over_limit_led(job, refusal, None).await
    }

    /// The same, with `lead` above the limit's numbers: why the request needed so much.
    pub(super) async fn tell_over_limit_led(
        &self,
        job: &Job,
        refusal: &Refusal,
        lead: Option<&str>,
    ) -> Outcome {
        tracing::info!(kind = ?refusal.kind, used = refusal.used, limit = refusal.limit, asked = refusal.asked, "request refused: over a limit");
        let message = blocks::over_limit(
            refusal.kind,
            refusal.used,
            refusal.limit,
            refusal.asked,
            refusal.resets_at,
        );
        let message = match lead {
            Some(lead) => message.led_by(lead),
            None => message,
        };
        self.delivery
            .reply(job, &message, Outcome::FailedAndTold { kind: "OverLimit" })
            .await
    }

    /// `/poster usage`: the requester's posters today, the channel's, and the workspace's
    /// spend this month, each against its limit, privately.
    pub(super) async fn usage(&self, job: &Job) -> Result<Outcome, (PipelineError, String)> {
        let report = self
            .usage_of(&job.requester)
            .await
            .map_err(|e| (e, String::new()))?;
        Ok(self
            .delivery
            .reply(job, &blocks::usage_report(&report), Outcome::Delivered)
            .await)
    }
}
