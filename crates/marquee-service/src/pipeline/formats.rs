//! Formats… (#26): a take at every format — one-sheet, square, feed, story, banner, wide — as
//! one message in its thread, with a contact sheet and a link per file. The offline
//! generator's art is re-composed at each aspect from the take's own seed and words
//! (`model::offline::render_extended`) and the type set afresh by `poster::render_formats`;
//! art from another model would need Stability's Outpaint, which Marquee does not call yet,
//! so those takes are told so. A take's formats are made once: its files are claimed in the
//! state store, and later clicks are answered with fresh links to them. The files are stored
//! under `prints/` with the print files, so they share their privacy and lifecycle.

use sha2::Digest;
use tokio::time::Instant;
use uuid::Uuid;

use super::records::Formatted;
use super::{Outcome, Pipeline, PipelineError, undeliverable};
use marquee_core::errors::ErrorChain;
use marquee_core::job::{Job, PosterRecord};
use marquee_core::model::ModelId;
use marquee_core::model::offline;
use marquee_core::poster::{self, Format};
use marquee_core::slack::blocks::{self, FormatFile};
use marquee_core::store::{ObjectMeta, print_key};

const ONLY_OFFLINE: &str = "📐 Formats are re-composed from the offline generator's scenes; art from a Bedrock model would need Stability's Outpaint, which this Marquee does not call yet.";
const NOT_A_PLAIN_RENDER: &str = "📐 This take's art was varied or changed after it was drawn, so it cannot be re-composed at other formats. Ask for formats of the take it came from, or regenerate.";

impl Pipeline {
    /// Makes (once) and shares take `source` at every format.
    pub(super) async fn formats(
        &self,
        job: &Job,
        source: Uuid,
    ) -> Result<Outcome, (PipelineError, String)> {
        let record = self
            .records
            .record(source)
            .await
            .map_err(|e| (e, String::new()))?;
        if let Some(why) = self.outsider(&record, &job.requester) {
            return self
                .tell_clicker(job, &blocks::note_to_clicker(why), "NotAllowed")
                .await;
        }
        if record.spec.model != ModelId::Offline {
            return self
                .tell_clicker(job, &blocks::note_to_clicker(ONLY_OFFLINE), "Unsupported")
                .await;
        }
        let description = record.spec.description.clone();
        if let Some(made) = self
            .records
            .formatted(source)
            .await
            .map_err(|e| (e, description.clone()))?
        {
            tracing::info!(poster = %source, "formats asked again; answered with the files made before");
            return self
                .share_formats(job, &record, &made, true)
                .await
                .map_err(|e| (e, description));
        }
        self.make_formats(job, &record)
            .await
            .map_err(|e| (e, description))
    }

    async fn make_formats(
        &self,
        job: &Job,
        record: &PosterRecord,
    ) -> Result<Outcome, PipelineError> {
        let seed = record.spec.seed.unwrap_or_default();
        let request = Self::image_request(&record.spec, seed);
        let (prompt, style) = (request.prompt.clone(), record.spec.style);
        // The take's art must be the scene its seed draws, not a variation of it.
        let art = self.stored_art(record).await?;
        let (w, h) = (art.pixmap.width(), art.pixmap.height());
        let same = {
            let prompt = prompt.clone();
            let drawn =
                marquee_core::cpu::background(move || offline::render(&prompt, style, seed, w, h))
                    .await?;
            drawn.data() == art.pixmap.data()
        };
        drop(art);
        if !same {
            return Ok(
                match self
                    .delivery
                    .respond(
                        job.reply_to.slack_url(),
                        &blocks::note_to_clicker(NOT_A_PLAIN_RENDER),
                    )
                    .await
                {
                    Ok(()) => Outcome::FailedAndTold {
                        kind: "NotAPlainRender",
                    },
                    Err(e) => undeliverable(&e),
                },
            );
        }
        let text = record.spec.shown_text();
        let typography = record.spec.typography();
        let started = Instant::now();
        let (set, sheet) = {
            let _slot = self.cpu_slots.acquire().await.ok();
            marquee_core::cpu::background(move || {
                let set = poster::render_formats(&Format::ALL, &text, typography, |w, h| {
                    offline::render_extended(&prompt, style, seed, w, h)
                })?;
                let posters: Vec<_> = set.iter().map(|r| (r.format, &r.pixmap)).collect();
                let sheet = poster::encode_png(&poster::contact_sheet(&posters, 360))?;
                let set: Vec<(Format, Vec<u8>)> =
                    set.into_iter().map(|r| (r.format, r.png)).collect();
                Ok::<_, poster::PosterError>((set, sheet))
            })
            .await??
        };
        let meta = ObjectMeta {
            prompt_sha256: hex::encode(sha2::Sha256::digest(record.spec.description.as_bytes())),
            model: record.spec.model.short_name().to_owned(),
            seed,
            requester: record.requester.user_id.clone(),
        };
        let now = time::OffsetDateTime::now_utc();
        let mut files = Vec::new();
        for (format, png) in set {
            let key = print_key(record.id, &format!("format-{}", format.name()), "png", now);
            self.store.put_png(&key, png, &meta).await?;
            let (w, h) = format.size();
            files.push((format.to_string(), key, w, h));
        }
        let sheet_key = print_key(record.id, "formats-contact-sheet", "png", now);
        self.store.put_png(&sheet_key, sheet, &meta).await?;
        tracing::info!(poster = %record.id, formats_ms = started.elapsed().as_millis() as u64, "formats made");
        let made = Formatted {
            files,
            sheet_key,
            at: now.unix_timestamp(),
        };
        let made = match self.records.claim_formats(record.id, &made).await {
            Ok(None) => made,
            // Another click made them first: share those, so every link names one set.
            Ok(Some(first)) => first,
            Err(e) => {
                tracing::error!(poster = %record.id, error = %ErrorChain(&e), "formats made but not recorded; a later click will make them again");
                made
            }
        };
        self.share_formats(job, record, &made, false).await
    }

    /// Posts the formats into the poster's thread (Web API), or answers through the
    /// `response_url`: to the clicker only when they were shared before.
    async fn share_formats(
        &self,
        job: &Job,
        record: &PosterRecord,
        made: &Formatted,
        again: bool,
    ) -> Result<Outcome, PipelineError> {
        let public_url = job.public_url.as_deref();
        let sheet = self.link(&made.sheet_key, public_url)?;
        let mut links = Vec::new();
        for (_, key, _, _) in &made.files {
            links.push(self.link(key, public_url)?);
        }
        let files: Vec<FormatFile<'_>> = made
            .files
            .iter()
            .zip(&links)
            .map(|((name, _, w, h), link)| FormatFile {
                format: name.clone(),
                url: &link.url,
                width: *w,
                height: *h,
            })
            .collect();
        let title = record.spec.title();
        let expires = sheet.expires_at.unix_timestamp();
        let mut message = blocks::formats(&title, record.take(), &sheet.url, &files, expires);
        let thread = job.reply_to.thread();
        let channel = thread
            .map(|t| t.channel_id.clone())
            .or_else(|| job.requester.channel_id.clone());
        if !again && let (Some(web), Some(channel)) = (self.delivery.web(), channel) {
            let thread_ts = thread.map(|t| t.thread_ts.as_str());
            match web.post_message(&channel, thread_ts, &message).await {
                Ok(_) => return Ok(Outcome::Delivered),
                Err(e) => {
                    tracing::warn!(code = e.code(), error = %ErrorChain(&e), "web api did not take the formats message; using the response_url");
                    message.make_private();
                }
            }
        } else if again {
            message.make_private();
        }
        Ok(
            match self
                .delivery
                .respond(job.reply_to.slack_url(), &message)
                .await
            {
                Ok(()) => Outcome::Delivered,
                Err(e) => undeliverable(&e),
            },
        )
    }
}
