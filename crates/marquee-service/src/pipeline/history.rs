//! `/poster history`: the requester's latest posters, privately, each with a fresh link.

use super::{Outcome, Pipeline, PipelineError};
use marquee_core::job::Job;
use marquee_core::slack::blocks::{self, HistoryItem};

/// How many posters `/poster history` lists.
const HISTORY_LEN: usize = 10;

impl Pipeline {
    /// Lists the requester's latest posters, newest first, from their records (approval
    /// included), each with a link signed now.
    pub(super) async fn show_history(&self, job: &Job) -> Result<Outcome, (PipelineError, String)> {
        let records = self
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
            .reply(job, &blocks::history(&items), Outcome::Delivered)
            .await)
    }
}
