//! Print-ready files: an approved take set for print at each standard sheet (the US one-sheet
//! and A1), and at each format made for it with 📐 Formats… (its aspect, 24 in on the long
//! side: `poster::print_format`), as PDF and PNG, with bleed and trim marks. The art is upscaled by the admin's
//! choice of Stability's upscalers (metered like any model call) or only resampled; the type is
//! set afresh at full resolution by [`poster::print`]. Files are stored under `prints/`, linked
//! (the links redirect to the bucket, since the files are too large for a function's answer)
//! and, with a bot token, the PDFs are uploaded into the poster's thread. Only the poster's
//! requester and its reviewers print, and a take is printed once: its sheets are recorded in the
//! state store, each format's print file is its own write-once record, and a later click is
//! answered with fresh links to them, making only the prints of formats made since. A format's
//! print uses the art its formats file was made from (re-composed offline, or the art Outpaint
//! grew), resampled; it never calls a model.

use tokio::time::Instant;
use uuid::Uuid;

use super::metering::Reserved;
use super::records::{Printed, PrintedSheet};
use super::{Outcome, Pipeline, PipelineError, undeliverable};
use marquee_core::errors::ErrorChain;
use marquee_core::job::{Job, PosterRecord};
use marquee_core::model::outpaint;
use marquee_core::model::{Edit, EditKind, ModelId, offline};
use marquee_core::poster::{self, Format, PRINT_DPI, Sheet};
use marquee_core::slack::blocks::{self, PrintFile};
use marquee_core::store::{ObjectMeta, print_key};

/// One print's files, stored: a sheet's or a format's.
struct Stored {
    /// What people call it: "One-sheet 27×40 in", "Square 1:1 print, 24×24 in".
    label: String,
    /// Its name in records and file names: the sheet's, or `print-<format>`.
    name: String,
    pdf_key: String,
    png_key: String,
    width: u32,
    height: u32,
    /// Kept for uploading into Slack when there is a bot token.
    pdf: Option<Vec<u8>>,
}

/// The record name of `format`'s print: never the format's own file's name (`format-<name>`,
/// `pipeline::formats`), which lies in the same folder of the same day.
fn format_print_name(format: Format) -> String {
    format!("print-{}", format.name())
}

/// What people call the print named `name` (a sheet's name, or a format's print name).
fn print_label(name: &str) -> String {
    if let Some(format) = name.strip_prefix("print-").and_then(Format::parse) {
        let (w, h) = poster::format_print_in(format);
        let inches = |v: f64| {
            let t = format!("{v:.1}");
            t.strip_suffix(".0").map(str::to_owned).unwrap_or(t)
        };
        let shown = format.name();
        let mut c = shown.chars();
        let shown: String = c
            .next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default();
        return format!(
            "{shown} {} print, {}×{} in",
            format.ratio(),
            inches(w),
            inches(h)
        );
    }
    Sheet::ALL
        .into_iter()
        .find(|sheet| sheet.name() == name)
        .map_or("Print sheet", Sheet::display_name)
        .to_owned()
}

/// The stored prints of a take: its sheets, then its formats' prints in the contact sheet's
/// order; none of them kept for an upload.
fn stored_of(printed: Option<&Printed>, formats: &[(Format, PrintedSheet)]) -> Vec<Stored> {
    let as_stored = |s: &PrintedSheet| Stored {
        label: print_label(&s.sheet),
        name: s.sheet.clone(),
        pdf_key: s.pdf_key.clone(),
        png_key: s.png_key.clone(),
        width: s.width,
        height: s.height,
        pdf: None,
    };
    printed
        .into_iter()
        .flat_map(|p| p.sheets.iter())
        .chain(formats.iter().map(|(_, s)| s))
        .map(as_stored)
        .collect()
}

/// How the files were made, for the message that links them.
fn how_printed(upscaled_with: Option<&str>, formats: usize) -> String {
    let formats = match formats {
        0 => " · formats made with 📐 Formats… are printed too, at their own aspect, on the next Print".to_owned(),
        _ => format!(" · formats at {} in on the long side, art resampled", poster::FORMAT_PRINT_LONG_SIDE_IN),
    };
    let how = match upscaled_with {
        Some(name) => format!(
            "{PRINT_DPI} dpi at trim size, with bleed and trim marks · art upscaled by {name}"
        ),
        None => format!(
            "{PRINT_DPI} dpi at trim size, with bleed and trim marks · art resampled (Lanczos-3)"
        ),
    };
    how + &formats
}

impl Pipeline {
    /// Answers a click on Print for a take printed already (and each of its formats): fresh
    /// links to its files, to the clicker only. No art is drawn or upscaled, nothing is
    /// reserved, stored or uploaded.
    async fn answer_with_prints(
        &self,
        job: &Job,
        record: &PosterRecord,
        printed: &Printed,
        formats: &[(Format, PrintedSheet)],
    ) -> Result<Outcome, PipelineError> {
        let stored = stored_of(Some(printed), formats);
        let (links, expires_at) = self.print_links(job, &stored)?;
        let files: Vec<PrintFile<'_>> = links.iter().map(Linked::as_file).collect();
        let mut note = blocks::prints(
            &record.spec.title(),
            record.take(),
            &files,
            &how_printed(printed.upscaled_with.as_deref(), formats.len()),
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

    /// Fresh links to every stored print, and when they expire.
    fn print_links(
        &self,
        job: &Job,
        stored: &[Stored],
    ) -> Result<(Vec<Linked>, i64), PipelineError> {
        let public_url = job.public_url.as_deref();
        let mut out = Vec::new();
        let mut expires_at = 0;
        for s in stored {
            let pdf = self.link(&s.pdf_key, public_url)?;
            if expires_at == 0 {
                expires_at = pdf.expires_at.unix_timestamp();
            }
            out.push(Linked {
                label: s.label.clone(),
                pdf: pdf.url,
                png: self.link(&s.png_key, public_url)?.url,
                width: s.width,
                height: s.height,
            });
        }
        Ok((out, expires_at))
    }

    /// The prints of take `source`: its sheets' record, its formats' prints recorded, and the
    /// formats made for it (with 📐 Formats…) whose print is still to make.
    async fn print_state(&self, source: Uuid) -> Result<PrintState, PipelineError> {
        let printed = self.records.printed(source).await?;
        let made = self.records.made_formats(source, &Format::ALL).await?;
        let mut formats = Vec::new();
        let mut to_print = Vec::new();
        for (format, _) in made {
            match self.records.printed_format(source, format).await? {
                Some(file) => formats.push((format, file)),
                None => to_print.push(format),
            }
        }
        Ok(PrintState {
            printed,
            formats,
            to_print,
        })
    }

    /// Makes the print-ready files of take `source`, which must be the approved take: its
    /// sheets once, and the print of each format made for it once.
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
        // A take is printed once: a later click gets the same files, linked afresh, and only
        // the prints of formats made since are made.
        let state = self
            .print_state(source)
            .await
            .map_err(|e| (e, description.clone()))?;
        if let (Some(printed), true) = (&state.printed, state.to_print.is_empty()) {
            return self
                .answer_with_prints(job, &record, printed, &state.formats)
                .await
                .map_err(|e| (e, description));
        }
        let locked = async {
            // The print that held the lock before this one may have finished in between.
            match self.print_state(source).await {
                Ok(PrintState {
                    printed: Some(printed),
                    formats,
                    to_print,
                }) if to_print.is_empty() => {
                    self.answer_with_prints(job, &record, &printed, &formats)
                        .await
                }
                Ok(state) => self.print_locked(job, &record, state, deadline).await,
                Err(e) => Err(e),
            }
            .map_err(|e| (e, description.clone()))
        };
        let not_started = "Your print files weren't started";
        self.under_poster_lock(job, source, &description, not_started, locked)
            .await
    }

    async fn print_locked(
        &self,
        job: &Job,
        record: &PosterRecord,
        state: PrintState,
        deadline: Option<Instant>,
    ) -> Result<Outcome, PipelineError> {
        let response_url = job.reply_to.slack_url();
        let meta = super::stored_meta(record);
        let now = time::OffsetDateTime::now_utc();
        let started = Instant::now();
        let (mut stored, upscaled_with) = match &state.printed {
            Some(printed) => (stored_of(Some(printed), &[]), printed.upscaled_with.clone()),
            None => {
                match self
                    .print_sheets(job, record, &meta, now, state.to_print.len(), deadline)
                    .await?
                {
                    Ok(made) => made,
                    Err(refused) => return Ok(refused),
                }
            }
        };
        if state.printed.is_some() {
            let working = format!(
                "🖨️ Setting {} for print at {} in on the long side — PDF and PNG.",
                match state.to_print.len() {
                    1 => "one format".to_owned(),
                    n => format!("{n} formats"),
                },
                poster::FORMAT_PRINT_LONG_SIDE_IN
            );
            let _ = self
                .delivery
                .respond(response_url, &blocks::note_to_clicker(&working))
                .await;
        }
        let mut formats = state.formats;
        let mut new = self
            .print_formats(record, &state.to_print, &meta, now)
            .await?;
        // Nothing could be printed now (a format's grown art is no longer kept): the files
        // made before, privately, rather than the same message in the thread again.
        if let (Some(printed), true) = (&state.printed, new.is_empty()) {
            return self
                .answer_with_prints(job, record, printed, &formats)
                .await;
        }
        for (format, s) in &new {
            formats.push((*format, s.recorded()));
        }
        formats.sort_by_key(|(f, _)| Format::ALL.iter().position(|g| g == f));
        // Sheets first, then every format's print in the contact sheet's order; the new ones
        // keep their PDFs for the upload.
        for (format, _) in &formats {
            match new.iter().position(|(f, _)| f == format) {
                Some(i) => stored.push(new.remove(i).1),
                None => stored.extend(stored_of(
                    None,
                    &formats
                        .iter()
                        .filter(|(f, _)| f == format)
                        .cloned()
                        .collect::<Vec<_>>(),
                )),
            }
        }
        tracing::info!(poster = %record.id, print_ms = started.elapsed().as_millis() as u64, formats = formats.len(), "print-ready files made");
        self.deliver_prints(job, record, stored, upscaled_with.as_deref(), formats.len())
            .await
    }

    /// Sets the take for print at every standard sheet (upscaling its art first when the admin
    /// chose an upscaler and the model offers it, metered), stores and records them. `Err`
    /// carries the answer when the person is over a limit.
    async fn print_sheets(
        &self,
        job: &Job,
        record: &PosterRecord,
        meta: &ObjectMeta,
        now: time::OffsetDateTime,
        formats: usize,
        deadline: Option<Instant>,
    ) -> Result<Result<(Vec<Stored>, Option<String>), Outcome>, PipelineError> {
        let response_url = job.reply_to.slack_url();
        let upscaler = self
            .print_upscaler
            .filter(|u| self.models.can(record.spec.model, EditKind::Upscale(*u)));
        let and_formats = match formats {
            0 => String::new(),
            1 => ", and one format".to_owned(),
            n => format!(", and {n} formats"),
        };
        let working = match upscaler {
            Some(u) => format!(
                "🖨️ Upscaling the art ({}) and setting the type for print — one-sheet and A1{and_formats}, PDF and PNG. This takes a minute or two.",
                u.service().display_name()
            ),
            None => format!(
                "🖨️ Setting the type for print — one-sheet and A1{and_formats}, PDF and PNG. This takes a minute."
            ),
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
                Reserved::Refused(refusal) => {
                    return Ok(Err(self.tell_over_limit(job, &refusal).await));
                }
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
            stored.push(
                self.keep_print(record, sheet.name(), printed, meta, now)
                    .await?,
            );
        }
        drop(art);
        let upscaled_with = upscaler.map(|u| u.service().display_name().to_owned());
        let printed = Printed {
            sheets: stored.iter().map(Stored::recorded).collect(),
            upscaled_with: upscaled_with.clone(),
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
        Ok(Ok((stored, upscaled_with)))
    }

    /// Stores one print's PDF and PNG under `prints/` as `name`.
    async fn keep_print(
        &self,
        record: &PosterRecord,
        name: &str,
        printed: poster::Printed,
        meta: &ObjectMeta,
        now: time::OffsetDateTime,
    ) -> Result<Stored, PipelineError> {
        let pdf_key = print_key(record.id, name, "pdf", now);
        let png_key = print_key(record.id, name, "png", now);
        self.store
            .put(&pdf_key, printed.pdf.clone(), "application/pdf", meta)
            .await?;
        self.store.put_png(&png_key, printed.png, meta).await?;
        Ok(Stored {
            label: print_label(name),
            name: name.to_owned(),
            pdf_key,
            png_key,
            width: printed.width,
            height: printed.height,
            pdf: self.delivery.web().is_some().then_some(printed.pdf),
        })
    }

    /// Prints each of `formats` (made for the take with 📐 Formats…) from the art its formats
    /// file was made from, one at a time, and claims each as the take's print of that format
    /// (write-once; a print another run recorded first is kept and shared instead).
    async fn print_formats(
        &self,
        record: &PosterRecord,
        formats: &[Format],
        meta: &ObjectMeta,
        now: time::OffsetDateTime,
    ) -> Result<Vec<(Format, Stored)>, PipelineError> {
        let mut out = Vec::new();
        if formats.is_empty() {
            return Ok(out);
        }
        let text = record.spec.shown_text();
        let typography = record.spec.typography();
        let take_art = if record.spec.model == ModelId::Offline {
            None
        } else {
            Some(self.stored_art(record).await?.pixmap)
        };
        for format in formats {
            let Some(art) = self.format_art(record, *format, take_art.as_ref()).await? else {
                tracing::warn!(poster = %record.id, format = format.name(), "no art kept for a format; its print is left out");
                continue;
            };
            let printed = {
                let _slot = self.cpu_slots.acquire().await.ok();
                let (text, format) = (text.clone(), *format);
                marquee_core::cpu::background(move || {
                    poster::print_format(&art, &text, typography, format, PRINT_DPI)
                })
                .await??
            };
            let name = format_print_name(*format);
            let ours = self.keep_print(record, &name, printed, meta, now).await?;
            match self
                .records
                .claim_printed_format(record.id, *format, &ours.recorded())
                .await
            {
                Ok(None) => out.push((*format, ours)),
                Ok(Some(first)) => out.extend(
                    stored_of(None, &[(*format, first)])
                        .into_iter()
                        .map(|s| (*format, s)),
                ),
                Err(e) => {
                    tracing::error!(poster = %record.id, format = format.name(), error = %ErrorChain(&e), "a format's print made but not recorded; a later Print reads it back if the write landed, else prints it again");
                    out.push((*format, ours));
                }
            }
        }
        Ok(out)
    }

    /// The art `format`'s file of this take was made from: re-composed from the take's seed
    /// and words (offline), the art Outpaint grew to it, or the take's own art when its aspect
    /// is the format's. `None` when the grown art is no longer kept.
    async fn format_art(
        &self,
        record: &PosterRecord,
        format: Format,
        take_art: Option<&tiny_skia::Pixmap>,
    ) -> Result<Option<tiny_skia::Pixmap>, PipelineError> {
        let Some(take_art) = take_art else {
            let seed = record.spec.seed.unwrap_or_default();
            let prompt = Self::image_request(&record.spec, seed).prompt;
            let style = record.spec.style;
            let (w, h) = format.size();
            return Ok(Some(
                marquee_core::cpu::background(move || {
                    offline::render_extended(&prompt, style, seed, w, h)
                })
                .await?,
            ));
        };
        let (w, h) = (take_art.width(), take_art.height());
        if matches!(outpaint::plan(w, h, format.ratio_parts()), Ok(None)) {
            return Ok(Some(take_art.clone()));
        }
        self.outpainted_art(record.id, format).await
    }

    /// Posts the links to the print files into the poster's thread (Web API) or to the
    /// `response_url`, then uploads the PDFs made now into the thread when there is a bot
    /// token.
    async fn deliver_prints(
        &self,
        job: &Job,
        record: &PosterRecord,
        stored: Vec<Stored>,
        upscaled_with: Option<&str>,
        formats: usize,
    ) -> Result<Outcome, PipelineError> {
        let (links, expires_at) = self.print_links(job, &stored)?;
        let files: Vec<PrintFile<'_>> = links.iter().map(Linked::as_file).collect();
        let how = how_printed(upscaled_with, formats);
        let title = record.spec.title();
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
                        let name = format!("marquee-{}-{}.pdf", record.id, s.name);
                        let file_title = format!("{title} — {}", s.label);
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

/// Where a take's prints stand.
struct PrintState {
    /// Its sheets, once printed.
    printed: Option<Printed>,
    /// The prints of its formats made so far.
    formats: Vec<(Format, PrintedSheet)>,
    /// The formats made for it whose print is still to make.
    to_print: Vec<Format>,
}

/// One print's links, for the message.
struct Linked {
    label: String,
    pdf: String,
    png: String,
    width: u32,
    height: u32,
}

impl Linked {
    fn as_file(&self) -> PrintFile<'_> {
        PrintFile {
            sheet: &self.label,
            pdf_url: &self.pdf,
            png_url: &self.png,
            width: self.width,
            height: self.height,
        }
    }
}

impl Stored {
    /// The record of this print.
    fn recorded(&self) -> PrintedSheet {
        PrintedSheet {
            sheet: self.name.clone(),
            pdf_key: self.pdf_key.clone(),
            png_key: self.png_key.clone(),
            width: self.width,
            height: self.height,
        }
    }
}
