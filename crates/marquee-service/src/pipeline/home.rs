//! The App Home tab, published by the worker when someone opens it (`Task::Home`): their
//! latest posters and the team's approved ones, each with a link signed now, this month's
//! usage as `/poster usage` says it, and the brand kit — with the Settings button only for
//! admins (`Admins`). The front door only claimed the event and queued the job: nothing here
//! runs on the ack path.

use super::{Outcome, Pipeline, PipelineError};
use marquee_core::errors::ErrorChain;
use marquee_core::job::Job;
use marquee_core::slack::SlackError;
use marquee_core::slack::blocks::HistoryItem;
use marquee_core::slack::home::{self, GalleryItem, HomeTab, KitPanel};

/// How many of the latest brand kit changes the tab lists.
const KIT_CHANGES_SHOWN: usize = 5;
/// How many of a person's posters are counted for "…and N more" before saying "N+".
const COUNT_UP_TO: usize = 1000;

impl Pipeline {
    /// The brand kit as the Home tab shows it (its settings and latest changes).
    async fn kit_panel(
        &self,
        requester: &marquee_core::job::Requester,
    ) -> Result<KitPanel, PipelineError> {
        let (kit, changes) = tokio::join!(
            self.records.kit(requester),
            self.records.kit_changes(requester, KIT_CHANGES_SHOWN)
        );
        Ok(KitPanel {
            lines: kit?.lines(),
            changes: changes?
                .iter()
                .map(|c| {
                    format!(
                        "• <@{}> {}: {}",
                        c.by,
                        marquee_core::slack::blocks::date_phrase(c.at),
                        c.what.join("; ")
                    )
                })
                .collect(),
            can_edit: false,
        })
    }

    /// Builds and publishes `job.requester`'s Home tab.
    pub(super) async fn show_home(&self, job: &Job) -> Result<Outcome, (PipelineError, String)> {
        let fail = |e: PipelineError| (e, String::new());
        let requester = &job.requester;
        let web = self.delivery.web();
        let (mine, total, gallery, usage, admin, kit) = tokio::join!(
            self.records.history(requester, home::MY_POSTERS),
            self.records.history_len(requester, COUNT_UP_TO),
            self.records.gallery(requester, home::GALLERY_LEN),
            self.usage_of(requester),
            self.admins.is_admin(requester, web),
            self.kit_panel(requester),
        );
        let (mine, total, gallery, usage, kit) = (
            mine.map_err(fail)?,
            total.map_err(fail)?,
            gallery.map_err(fail)?,
            usage.map_err(fail)?,
            kit.map_err(fail)?,
        );
        let public_url = job.public_url.as_deref();
        let mut links = Vec::with_capacity(mine.len() + gallery.len());
        for record in mine.iter().chain(&gallery) {
            links.push(self.link(&record.key, public_url).map_err(fail)?);
        }
        let (mine_links, gallery_links) = links.split_at(mine.len());
        let mine_items: Vec<HistoryItem<'_>> = mine
            .iter()
            .zip(mine_links)
            .map(|(record, link)| HistoryItem {
                record,
                url: &link.url,
                expires_at: link.expires_at.unix_timestamp(),
            })
            .collect();
        let gallery_items: Vec<GalleryItem<'_>> = gallery
            .iter()
            .zip(gallery_links)
            .map(|(record, link)| GalleryItem {
                record,
                url: &link.url,
            })
            .collect();
        let panel = KitPanel {
            can_edit: admin,
            ..kit
        };
        let view = home::home_view(&HomeTab {
            mine: &mine_items,
            mine_total: (total < COUNT_UP_TO).then_some(total),
            gallery: &gallery_items,
            usage: &usage,
            kit: &panel,
        });
        let Some(web) = web else {
            tracing::error!("a home tab to publish, but no bot token to publish it with");
            return Ok(Outcome::Undeliverable { kind: "NoBotToken" });
        };
        match web.publish_view(&requester.user_id, &view).await {
            Ok(()) => {
                tracing::info!(
                    posters = mine.len(),
                    approved = gallery.len(),
                    admin,
                    "home tab published"
                );
                Ok(Outcome::Delivered)
            }
            Err(e) => {
                // Slack shows the tab as it was; the next open publishes it again.
                tracing::error!(error = %ErrorChain(&e), code = e.code(), "slack refused the home tab");
                Ok(super::undeliverable(&SlackError::from(e)))
            }
        }
    }
}
