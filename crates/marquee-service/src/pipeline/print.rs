//! Print-ready files: an approved take set for print at each standard sheet (the US one-sheet
//! and A1), as PDF and PNG, with bleed and trim marks. The art is upscaled by the admin's
//! choice of Stability's upscalers (metered like any model call) or only resampled; the type is
//! set afresh at full resolution by [`poster::print`]. Files are stored under `prints/`, linked
//! (the links redirect to the bucket, since the files are too large for a function's answer)
//! and, with a bot token, the PDFs are uploaded into the poster's thread. Only the poster's
//! requester and its reviewers print, and a take is printed once: its files are recorded in the
//! state store, and a later click is answered with fresh links to them.

use sha2::Digest;
use tokio::time::Instant;
use uuid::Uuid;

use super::metering::Reserved;
use super::records::{Printed, PrintedSheet};
use super::{Outcome, Pipeline, PipelineError, undeliverable};
use marquee_core::errors::ErrorChain;
use marquee_core::job::{Job, PosterRecord};
use marquee_core::model::{Edit, EditKind};
use marquee_core::poster::{self, PRINT_DPI, Sheet};
use marquee_core::slack::blocks::{self, PrintFile};
use marquee_core::store::{ObjectMeta, print_key};

/// One sheet's files, stored.
struct Stored {
    sheet: Sheet,
    pdf_key: String,
    png_key: String,
    width: u32,
    height: u32,
    /// Kept for uploading into Slack when there is a bot token.
    pdf: Option<Vec<u8>>,
}

/// How the files were made, for the message that links them.
fn how_printed(upscaled_with: Option<&str>) -> String {
    match upscaled_with {
        Some(name) => format!(
            "{PRINT_DPI} dpi at trim size, with bleed and trim marks · art upscaled by {name}"
        ),
        None => format!(
            "{PRINT_DPI} dpi at trim size, with bleed and trim marks · art resampled (Lanczos-3)"
        ),
    }
}

impl Pipeline {
    /// Answers a click on Print for a take printed already: fresh links to its files, to the
    /// clicker only. No art is drawn or upscaled, nothing is reserved, stored or uploaded.
    async fn answer_with_prints(
        &self,
        job: &Job,
        record: &PosterRecord,
        printed: &Printed,
    ) -> Result<Outcome, PipelineError> {
        let public_url = job.public_url.as_deref();
        let mut links = Vec::new();
        for s in &printed.sheets {
            links.push((
                self.link(&s.pdf_key, public_url)?,
                self.link(&s.png_key, public_url)?,
            ));
        }
        let files: Vec<PrintFile<'_>> = printed
            .sheets
            .iter()
            .zip(&links)
            .map(|(s, (pdf, png))| PrintFile {
                sheet: Sheet::ALL
                    .into_iter()
                    .find(|sheet| sheet.name() == s.sheet)
                    .map_or("Print sheet", Sheet::display_name),
                pdf_url: &pdf.url,
                png_url: &png.url,
                width: s.width,
                height: s.height,
            })
            .collect();
        let expires_at = links
            .first()
            .map_or(0, |(l, _)| l.expires_at.unix_timestamp());
        let mut note = blocks::prints(
            &record.spec.title(),
            record.take(),
            &files,
            &how_printed(printed.upscaled_with.as_deref()),
            expires_at,
            false,
        );
        note.make_private();
        tracing::info!(poster = %record.id, "print asked again; answered with the files made before");
        Ok(
            match self.delivery.respond(job.reply_to.slack_url(), &note).await {
                Ok(()) => Outcome::Delivered,
                Err(e) => undeliverable(&e),
            },
        )
    }

    /// Makes the print-ready files of take `source`, which must be the approved take.
    pub(super) async fn print(
        &self,
        job: &Job,
        source: Uuid,
        deadline: Option<Instant>,
    ) -> Result<Outcome, (PipelineError, String)> {
        let record = self
            .records
            .record(source)
            .await
            .map_err(|e| (e, String::new()))?;
        if let Some(why) = self.print_refusal(&record, job).await {
            tracing::info!(%source, "print refused: not the requester or a reviewer");
            return self
                .tell_clicker(job, &blocks::note_to_clicker(why), "NotAllowedToPrint")
                .await;
        }
        if record.approved_by.is_none() {
            return self
                .tell_clicker(
                    job,
                    &blocks::note_to_clicker(
                        "🖨️ Print-ready files are made from a poster's approved take. Approve this take first, or print the take that was approved.",
                    ),
                    "NotApproved",
                )
                .await;
        }
        let description = record.spec.description.clone();
        // A take is printed once: a later click gets the same files, linked afresh.
        if let Some(printed) = self
            .records
            .printed(source)
            .await
            .map_err(|e| (e, description.clone()))?
        {
            return self
                .answer_with_prints(job, &record, &printed)
                .await
                .map_err(|e| (e, description));
        }
        let acquired = self
            .records
            .take_lock(source, job)
            .await
            .map_err(|e| (e, description.clone()))?;
        if !acquired {
            return self
                .tell_clicker(
                    job,
                    &blocks::note_to_clicker(
                        "⏳ Print-ready files for this poster are already being made — they will appear here shortly.",
                    ),
                    "AlreadyRunning",
                )
                .await;
        }
        // The print that held the lock before this one may have finished in between.
        let outcome = match self.records.printed(source).await {
            Ok(Some(printed)) => self.answer_with_prints(job, &record, &printed).await,
            Ok(None) => self.print_locked(job, &record, deadline).await,
            Err(e) => Err(e),
        }
        .map_err(|e| (e, description));
        if let Err(e) = self.records.release_lock(source, job).await {
            tracing::warn!(error = %ErrorChain(&e), "could not release the print lock; it expires on its own");
        }
        outcome
    }

    async fn print_locked(
        &self,
        job: &Job,
        record: &PosterRecord,
        deadline: Option<Instant>,
    ) -> Result<Outcome, PipelineError> {
        let response_url = job.reply_to.slack_url();
        let upscaler = self
            .print_upscaler
            .filter(|u| self.models.can(record.spec.model, EditKind::Upscale(*u)));
        let working = match upscaler {
            Some(u) => format!(
                "🖨️ Upscaling the art ({}) and setting the type for print — one-sheet and A1, PDF and PNG. This takes a minute or two.",
                u.service().display_name()
            ),
            None => "🖨️ Setting the type for print — one-sheet and A1, PDF and PNG. This takes a minute.".to_owned(),
        };
        let _ = self
            .delivery
            .respond(response_url, &blocks::note_to_clicker(&working))
            .await;

        let mut art = self.stored_art(record).await?;
        if let Some(upscaler) = upscaler {
            let priced = upscaler.service();
            let mut reservation = match self
                .metering
                .reserve(
                    &job.requester,
                    marquee_core::model::Priced::Service(priced),
                    1,
                )
                .await?
            {
                Reserved::Free => None,
                Reserved::Taken(r) => Some(r),
                Reserved::Refused(refusal) => return Ok(self.tell_over_limit(job, &refusal).await),
            };
            let upscaled = self
                .edit_art(&record.spec, art, Edit::Upscale { upscaler }, deadline)
                .await;
            if let Some(reservation) = reservation.as_mut() {
                match &upscaled {
                    Err(e) if !e.may_be_billed() => self.metering.refund(reservation, 1).await,
                    _ => self.metering.charge(reservation, job, record.id).await,
                }
            }
            art = upscaled?;
        }

        let text = record.spec.shown_text();
        let typography = record.spec.typography();
        let meta = ObjectMeta {
            prompt_sha256: hex::encode(sha2::Sha256::digest(record.spec.description.as_bytes())),
            model: record.spec.model.short_name().to_owned(),
            seed: record.spec.seed.unwrap_or_default(),
            requester: record.requester.user_id.clone(),
        };
        let started = Instant::now();
        let now = time::OffsetDateTime::now_utc();
        let art = std::sync::Arc::new(art.pixmap);
        let mut stored = Vec::new();
        // One sheet at a time: each holds tens of megapixels while it is set.
        for sheet in Sheet::ALL {
            let printed = {
                let _slot = self.cpu_slots.acquire().await.ok();
                let (art, text) = (art.clone(), text.clone());
                marquee_core::cpu::background(move || {
                    poster::print(&art, &text, typography, sheet, PRINT_DPI)
                })
                .await??
            };
            let pdf_key = print_key(record.id, sheet.name(), "pdf", now);
            let png_key = print_key(record.id, sheet.name(), "png", now);
            self.store
                .put(&pdf_key, printed.pdf.clone(), "application/pdf", &meta)
                .await?;
            self.store.put_png(&png_key, printed.png, &meta).await?;
            stored.push(Stored {
                sheet,
                pdf_key,
                png_key,
                width: printed.width,
                height: printed.height,
                pdf: self.delivery.web().is_some().then_some(printed.pdf),
            });
        }
        drop(art);
        tracing::info!(poster = %record.id, print_ms = started.elapsed().as_millis() as u64, upscaled = upscaler.is_some(), "print-ready files made");
        let printed = Printed {
            sheets: stored
                .iter()
                .map(|s| PrintedSheet {
                    sheet: s.sheet.name().to_owned(),
                    pdf_key: s.pdf_key.clone(),
                    png_key: s.png_key.clone(),
                    width: s.width,
                    height: s.height,
                })
                .collect(),
            upscaled_with: upscaler.map(|u| u.service().display_name().to_owned()),
            at: now.unix_timestamp(),
        };
        // Under the print lock nobody else records files for this take; were the record lost,
        // the next click would print again, so the files made here are delivered either way.
        match self.records.claim_prints(record.id, &printed).await {
            Ok(None) => {}
            Ok(Some(_)) => {
                tracing::warn!(poster = %record.id, "another print recorded files for this take first");
            }
            Err(e) => {
                tracing::error!(poster = %record.id, error = %ErrorChain(&e), "print files made but not recorded; a later click will print again");
            }
        }
        self.deliver_prints(
            job,
            record,
            stored,
            upscaler.map(|u| u.service().display_name()),
        )
        .await
    }

    /// Posts the links to the print files into the poster's thread (Web API) or to the
    /// `response_url`, then uploads the PDFs into the thread when there is a bot token.
    async fn deliver_prints(
        &self,
        job: &Job,
        record: &PosterRecord,
        stored: Vec<Stored>,
        upscaled_with: Option<&str>,
    ) -> Result<Outcome, PipelineError> {
        let public_url = job.public_url.as_deref();
        let mut links = Vec::new();
        for s in &stored {
            links.push((
                self.link(&s.pdf_key, public_url)?,
                self.link(&s.png_key, public_url)?,
            ));
        }
        let files: Vec<PrintFile<'_>> = stored
            .iter()
            .zip(&links)
            .map(|(s, (pdf, png))| PrintFile {
                sheet: s.sheet.display_name(),
                pdf_url: &pdf.url,
                png_url: &png.url,
                width: s.width,
                height: s.height,
            })
            .collect();
        let how = how_printed(upscaled_with);
        let title = record.spec.title();
        let expires_at = links
            .first()
            .map_or(0, |(l, _)| l.expires_at.unix_timestamp());
        let thread = job.reply_to.thread();
        let channel = thread
            .map(|t| t.channel_id.clone())
            .or_else(|| job.requester.channel_id.clone());
        if let (Some(web), Some(channel)) = (self.delivery.web(), channel) {
            let message = blocks::prints(&title, record.take(), &files, &how, expires_at, true);
            let thread_ts = thread.map(|t| t.thread_ts.as_str());
            match web.post_message(&channel, thread_ts, &message).await {
                Ok(ts) => {
                    let root = thread_ts.unwrap_or(&ts);
                    for s in stored {
                        let Some(pdf) = s.pdf else { continue };
                        let name = format!("marquee-{}-{}.pdf", record.id, s.sheet.name());
                        let file_title = format!("{title} — {}", s.sheet.display_name());
                        let alt = format!("Print-ready poster: {title}");
                        if let Err(e) = web
                            .upload_file(&channel, Some(root), &name, &file_title, &alt, pdf)
                            .await
                        {
                            tracing::warn!(code = e.code(), error = %ErrorChain(&e), "print files linked, but a PDF could not be uploaded into slack");
                        }
                    }
                    return Ok(Outcome::Delivered);
                }
                Err(e) if e.is_definite_refusal() => {
                    tracing::warn!(code = e.code(), error = %ErrorChain(&e), "web api refused the print message; using the response_url");
                }
                Err(e) => {
                    // Slack may have posted it; a second copy through the response_url would
                    // repeat it. The files are stored; tell the clicker privately with links.
                    tracing::warn!(error = %ErrorChain(&e), "web api delivery of the print message unconfirmed");
                    let mut note =
                        blocks::prints(&title, record.take(), &files, &how, expires_at, false);
                    note.make_private();
                    return Ok(
                        match self.delivery.respond(job.reply_to.slack_url(), &note).await {
                            Ok(()) => Outcome::Delivered,
                            Err(e) => undeliverable(&e),
                        },
                    );
                }
            }
        }
        let message = blocks::prints(&title, record.take(), &files, &how, expires_at, false);
        Ok(
            match self
                .delivery
                .respond(job.reply_to.slack_url(), &message)
                .await
            {
                Ok(()) => Outcome::Delivered,
                Err(e) => {
                    tracing::error!(error = %ErrorChain(&e), "print files made but could not be posted");
                    undeliverable(&e)
                }
            },
        )
    }
}
