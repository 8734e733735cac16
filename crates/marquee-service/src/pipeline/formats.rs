//! Formats… (#26): a take at every format — one-sheet, square, feed, story, banner, wide — as
//! one message in its thread, with a contact sheet and a link per file. The art is extended,
//! never cropped: the offline generator's art is re-composed at each aspect from the take's own
//! seed and words (`model::offline::render_extended`); a Bedrock model's art is grown to each
//! aspect by Stability's Outpaint, keeping its pixels (`model::outpaint` plans each call within
//! the service's limits), one call per format whose aspect differs from the art's, billed per
//! call through the same reservations as every model call and refused up front over a limit.
//! Either way the type is set afresh for each format by `poster::render_formats`.
//!
//! Made once: a take's files are claimed in the state store, and later clicks are answered with
//! fresh links to them; a Bedrock take's formats are made under the take's lock, and each
//! outpainted art is stored and recorded as soon as its call returns, so a run that stops
//! part-way is finished by the next click without paying again for what it had. The files are
//! stored under `prints/` with the print files, so they share their privacy and lifecycle.

use std::collections::HashMap;

use tokio::time::Instant;
use uuid::Uuid;

use super::metering::Reserved;
use super::records::{FormatSheet, MadeFormat, Outpainted};
use super::{Art, Outcome, Pipeline, PipelineError, undeliverable};
use marquee_core::errors::ErrorChain;
use marquee_core::job::{Job, PosterRecord};
use marquee_core::model::offline;
use marquee_core::model::outpaint::{self, Plan};
use marquee_core::model::{Edit, EditKind, ModelError, ModelId, Priced, Service};
use marquee_core::poster::{self, Format};
use marquee_core::slack::blocks::{self, FormatFile};
use marquee_core::store::{ObjectMeta, print_key};

const NO_OUTPAINT: &str = "📐 Formats of this take need Stability's Outpaint on Amazon Bedrock, which this Marquee is not set up to call (the image services are off, or the Stability region does not serve them). Ask your Marquee admin.";
const NOT_A_PLAIN_RENDER: &str = "📐 This take's art was varied or changed after it was drawn, so it cannot be re-composed at other formats. Ask for formats of the take it came from, or regenerate.";

/// The formats one click made: each one's pixels (for the contact sheet) and, with a bot
/// token, its PNG (for the upload into the thread).
type JustMade = HashMap<Format, (tiny_skia::Pixmap, Option<Vec<u8>>)>;

/// A format's art, ready for its type: drawn or grown at its aspect, any size.
type ArtFor = HashMap<Format, tiny_skia::Pixmap>;

impl Pipeline {
    /// Makes (each once) and shares take `source` at `chosen` (every format when empty).
    pub(super) async fn formats(
        &self,
        job: &Job,
        source: Uuid,
        chosen: &[Format],
        deadline: Option<Instant>,
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
        // Only the admin's set is made: a job queued before the set changed, or a form
        // submitted with more than it offered, makes what the set allows of it.
        let set = self.format_set();
        let asked = chosen.len();
        let chosen: Vec<Format> = chosen.iter().copied().filter(|f| set.contains(f)).collect();
        if asked > 0 && chosen.is_empty() {
            // Never the whole set in their place: that would make (and bill) what nobody chose.
            let offered: Vec<String> = set.iter().map(ToString::to_string).collect();
            let note = format!(
                "📐 None of the formats you chose is offered here any more (your Marquee admin changed the set). Nothing was made or charged; click 📐 Formats… again to choose from {}.",
                offered.join(", ")
            );
            return self
                .tell_clicker(job, &blocks::note_to_clicker(&note), "NotOffered")
                .await;
        }
        let chosen = in_sheet_order(if chosen.is_empty() { &set } else { &chosen });
        let description = record.spec.description.clone();
        let made = self
            .records
            .made_formats(source, &chosen)
            .await
            .map_err(|e| (e, description.clone()))?;
        if made.len() == chosen.len() {
            tracing::info!(poster = %source, formats = chosen.len(), "formats asked again; answered with the files made before");
            return self
                .share_made(job, &record, &chosen, made, JustMade::new(), true)
                .await
                .map_err(|e| (e, description));
        }
        let outpainted = record.spec.model != ModelId::Offline;
        if outpainted && !self.models.can(record.spec.model, EditKind::Outpaint) {
            return self
                .tell_clicker(job, &blocks::note_to_clicker(NO_OUTPAINT), "Unsupported")
                .await;
        }
        if !outpainted {
            return self
                .make_formats(job, &record, &chosen, made)
                .await
                .map_err(|e| (e, description));
        }
        // Paid calls: one run at a time per take, so two clicks never pay twice.
        let locked = async {
            // The run that held the lock before this one may have made some in between.
            match self.records.made_formats(source, &chosen).await {
                Ok(made) if made.len() == chosen.len() => {
                    self.share_made(job, &record, &chosen, made, JustMade::new(), true)
                        .await
                }
                Ok(made) => {
                    self.make_outpainted(job, &record, &chosen, made, deadline)
                        .await
                }
                Err(e) => Err(e),
            }
            .map_err(|e| (e, description.clone()))
        };
        let not_started = "Your formats weren't started";
        self.under_poster_lock(job, source, &description, not_started, locked)
            .await
    }

    /// Re-composes an offline take's art at each of `chosen` not yet `made`, sets the type on
    /// each, and shares all of `chosen`.
    async fn make_formats(
        &self,
        job: &Job,
        record: &PosterRecord,
        chosen: &[Format],
        made: Vec<(Format, MadeFormat)>,
    ) -> Result<Outcome, PipelineError> {
        let missing = missing(chosen, &made);
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
        let started = Instant::now();
        let set = {
            let _slot = self.cpu_slots.acquire().await.ok();
            let text = record.spec.shown_text();
            let typography = record.spec.typography();
            marquee_core::cpu::background(move || {
                poster::render_formats(&missing, &text, typography, |format| {
                    let (w, h) = format.size();
                    offline::render_extended(&prompt, style, seed, w, h)
                })
            })
            .await??
        };
        tracing::info!(poster = %record.id, made = set.len(), formats_ms = started.elapsed().as_millis() as u64, "formats made");
        self.keep_and_share(job, record, chosen, made, set, None)
            .await
    }

    /// Grows a Bedrock take's art to each of `chosen` not yet `made` with Stability's Outpaint
    /// (one call per format whose aspect differs from the art's; art from an earlier,
    /// interrupted run is used as it is), then sets the type on each and shares all of
    /// `chosen`. Called under the take's lock.
    async fn make_outpainted(
        &self,
        job: &Job,
        record: &PosterRecord,
        chosen: &[Format],
        made: Vec<(Format, MadeFormat)>,
        deadline: Option<Instant>,
    ) -> Result<Outcome, PipelineError> {
        let missing = missing(chosen, &made);
        let art = self.stored_art(record).await?;
        let (w, h) = (art.pixmap.width(), art.pixmap.height());
        let mut plans = Vec::new();
        for format in &missing {
            let plan = outpaint::plan(w, h, format.ratio_parts()).map_err(|e| {
                PipelineError::Model(ModelError::Unsupported {
                    what: e.to_string(),
                })
            })?;
            plans.push((*format, plan));
        }
        // What earlier runs already paid for.
        let mut grown: ArtFor = HashMap::new();
        let mut wanted = Vec::new();
        for (format, plan) in &plans {
            let Some(plan) = plan else { continue };
            match self.outpainted_art(record.id, *format).await? {
                Some(pixmap) => {
                    grown.insert(*format, pixmap);
                }
                None => wanted.push((*format, *plan)),
            }
        }
        let calls = wanted.len() as i64;
        let priced = Priced::Service(Service::Outpaint);
        let mut reservation = match self.metering.reserve(&job.requester, priced, calls).await? {
            Reserved::Free => None,
            Reserved::Taken(r) => Some(r),
            Reserved::Refused(refusal) => {
                let lead = format!(
                    "📐 *Formats of this take need {calls} call{} to {}*, one for each format whose shape differs from the take's, and each call counts like a poster.",
                    if calls == 1 { "" } else { "s" },
                    Service::Outpaint.display_name()
                );
                return Ok(self.tell_over_limit_led(job, &refusal, Some(&lead)).await);
            }
        };
        if calls > 0 {
            let working = format!(
                "📐 Extending the art to {calls} format{} with {} (one call each), then setting the type for {}…",
                if calls == 1 { "" } else { "s" },
                Service::Outpaint.display_name(),
                if missing.len() == 1 {
                    "it".to_owned()
                } else {
                    format!("all {}", missing.len())
                },
            );
            let _ = self
                .delivery
                .respond(job.reply_to.slack_url(), &blocks::note_to_clicker(&working))
                .await;
        }
        let meta = super::stored_meta(record);
        let source = std::sync::Arc::new(art.pixmap);
        let started = Instant::now();
        let mut model_ms = 0;
        let mut failed = None;
        // One call at a time: each holds a few megapixels, and Bedrock throttles bursts.
        for (i, (format, plan)) in wanted.iter().enumerate() {
            let called = Instant::now();
            let result = self.outpaint_one(record, &source, *plan, deadline).await;
            model_ms += called.elapsed().as_millis() as u64;
            if let Some(reservation) = reservation.as_mut() {
                match &result {
                    Err(e) if !e.may_be_billed() => self.metering.refund(reservation, 1).await,
                    _ => self.metering.charge(reservation, job, record.id).await,
                }
            }
            match result {
                Ok(pixmap) => {
                    if let Err(e) = self.keep_outpainted(record, *format, &pixmap, &meta).await {
                        // This call is charged (its art is lost with the store); the calls not
                        // made give their reservations back.
                        if let Some(reservation) = reservation.as_mut() {
                            self.metering
                                .refund(reservation, calls - i as i64 - 1)
                                .await;
                        }
                        return Err(e);
                    }
                    grown.insert(*format, pixmap);
                }
                Err(e) => {
                    // The calls not made give their reservations back; those made are kept.
                    if let Some(reservation) = reservation.as_mut() {
                        self.metering
                            .refund(reservation, calls - i as i64 - 1)
                            .await;
                    }
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        let calls_ms = model_ms;
        let own = std::sync::Arc::try_unwrap(source).unwrap_or_else(|a| (*a).clone());
        for (format, plan) in &plans {
            if plan.is_none() {
                grown.insert(*format, own.clone());
            }
        }
        drop(own);
        let set_started = Instant::now();
        let set = {
            let _slot = self.cpu_slots.acquire().await.ok();
            let text = record.spec.shown_text();
            let typography = record.spec.typography();
            marquee_core::cpu::background(move || render_over(&grown, &missing, &text, typography))
                .await??
        };
        tracing::info!(
            poster = %record.id,
            calls,
            calls_ms,
            formats_ms = started.elapsed().as_millis() as u64,
            set_ms = set_started.elapsed().as_millis() as u64,
            "formats outpainted"
        );
        self.keep_and_share(
            job,
            record,
            chosen,
            made,
            set,
            Some(Service::Outpaint.display_name().to_owned()),
        )
        .await
    }

    /// One Outpaint call of `plan` on `source` (scaled first when the plan says so).
    async fn outpaint_one(
        &self,
        record: &PosterRecord,
        source: &std::sync::Arc<tiny_skia::Pixmap>,
        plan: Plan,
        deadline: Option<Instant>,
    ) -> Result<tiny_skia::Pixmap, PipelineError> {
        let art = (*source.as_ref()).clone();
        let (sw, sh) = plan.source;
        let pixmap = if plan.scaled((art.width(), art.height())) {
            marquee_core::cpu::background(move || poster::resample_cover(&art, sw, sh))
                .await?
                .ok_or_else(|| {
                    PipelineError::Record("cannot scale the art for outpainting".into())
                })?
        } else {
            art
        };
        let edit = Edit::Outpaint {
            left: plan.left,
            right: plan.right,
            up: plan.up,
            down: plan.down,
        };
        let art = Art {
            pixmap,
            seed: record.spec.seed.unwrap_or_default(),
            model_ms: 0,
            stored: None,
        };
        Ok(self
            .edit_art(&record.spec, art, edit, deadline)
            .await?
            .pixmap)
    }

    /// Stores the art `format` was grown to and records it for the take, so a later run of an
    /// interrupted set uses it instead of calling again.
    async fn keep_outpainted(
        &self,
        record: &PosterRecord,
        format: Format,
        pixmap: &tiny_skia::Pixmap,
        meta: &ObjectMeta,
    ) -> Result<(), PipelineError> {
        let now = time::OffsetDateTime::now_utc();
        let key = print_key(
            record.id,
            &format!("outpaint-{}", format.name()),
            "png",
            now,
        );
        let copy = pixmap.clone();
        let png = marquee_core::cpu::background(move || poster::encode_png(&copy)).await??;
        self.store.put_png(&key, png, meta).await?;
        let kept = Outpainted {
            art_key: key,
            width: pixmap.width(),
            height: pixmap.height(),
            at: now.unix_timestamp(),
        };
        if let Err(e) = self
            .records
            .claim_outpainted(record.id, format.name(), &kept)
            .await
        {
            tracing::error!(poster = %record.id, format = format.name(), error = %ErrorChain(&e), "outpainted art stored but not recorded; a later run would pay for it again");
        }
        Ok(())
    }

    /// The art Outpaint grew take `id` to at `format`, as an earlier run stored and recorded it;
    /// `None` when it was never recorded or is no longer kept.
    pub(super) async fn outpainted_art(
        &self,
        id: Uuid,
        format: Format,
    ) -> Result<Option<tiny_skia::Pixmap>, PipelineError> {
        let Some(kept) = self.records.outpainted(id, format.name()).await? else {
            return Ok(None);
        };
        let Some(png) = self.store.get(&kept.art_key).await? else {
            return Ok(None);
        };
        let art =
            marquee_core::cpu::background(move || marquee_core::model::image::decode_image(&png))
                .await?
                .map_err(|e| PipelineError::Record(Box::new(e)))?;
        Ok(Some(art))
    }

    /// Stores each newly rendered format and claims it as the take's file at that format (the
    /// first run to claim a format wins; later runs share its file), then shares all of
    /// `chosen`: those `made` before and these.
    async fn keep_and_share(
        &self,
        job: &Job,
        record: &PosterRecord,
        chosen: &[Format],
        mut made: Vec<(Format, MadeFormat)>,
        set: Vec<poster::Rendered>,
        outpainted_with: Option<String>,
    ) -> Result<Outcome, PipelineError> {
        let meta = super::stored_meta(record);
        let now = time::OffsetDateTime::now_utc();
        let mut just_made = JustMade::new();
        for rendered in set {
            let format = rendered.format;
            let key = print_key(record.id, &format!("format-{}", format.name()), "png", now);
            // With a bot token each new file is uploaded too: its bytes are kept for that.
            let upload = self.delivery.web().is_some().then(|| rendered.png.clone());
            self.store.put_png(&key, rendered.png, &meta).await?;
            let (width, height) = format.size();
            let ours = MadeFormat {
                key,
                width,
                height,
                type_box: union(&rendered.composition.line_boxes()),
                outpainted_with: outpainted_with.clone(),
                at: now.unix_timestamp(),
            };
            let first = match self.records.claim_format(record.id, format, &ours).await {
                Ok(first) => first,
                Err(e) => {
                    tracing::error!(poster = %record.id, format = format.name(), error = %ErrorChain(&e), "a format made but not recorded; a later click reads it back if the write landed, else makes it again");
                    None
                }
            };
            let kept = match first {
                // Another run made it first: share that one, so every link names one file.
                Some(first) => first,
                None => {
                    just_made.insert(format, (rendered.pixmap, upload));
                    ours
                }
            };
            made.push((format, kept));
        }
        self.share_made(job, record, chosen, made, just_made, false)
            .await
    }

    /// Shares take `record` at `chosen` (every one of which is in `made`) with their contact
    /// sheet, made once per set of formats: from the formats `just_made` and the stored files
    /// of the rest; the PNGs just made go into the thread too.
    async fn share_made(
        &self,
        job: &Job,
        record: &PosterRecord,
        chosen: &[Format],
        made: Vec<(Format, MadeFormat)>,
        just_made: JustMade,
        again: bool,
    ) -> Result<Outcome, PipelineError> {
        let files: Vec<(Format, MadeFormat)> = chosen
            .iter()
            .filter_map(|f| made.iter().find(|(g, _)| g == f).cloned())
            .collect();
        let mut uploads = HashMap::new();
        let drawn = just_made
            .into_iter()
            .map(|(format, (pixmap, png))| {
                uploads.extend(png.map(|png| (format, png)));
                (format, pixmap)
            })
            .collect();
        let sheet = match self.records.format_sheet(record.id, chosen).await? {
            Some(sheet) => sheet.key,
            None => self.make_sheet(record, chosen, &files, drawn).await?,
        };
        self.share_formats(job, record, &files, uploads, &sheet, again)
            .await
    }

    /// Makes, stores and claims the contact sheet of `files`; the key of the sheet kept.
    async fn make_sheet(
        &self,
        record: &PosterRecord,
        chosen: &[Format],
        files: &[(Format, MadeFormat)],
        mut drawn: HashMap<Format, tiny_skia::Pixmap>,
    ) -> Result<String, PipelineError> {
        for (format, file) in files {
            if drawn.contains_key(format) {
                continue;
            }
            let png = self.store.get(&file.key).await?.ok_or_else(|| {
                PipelineError::Record(format!("the {format} file is gone from the store").into())
            })?;
            let pixmap = marquee_core::cpu::background(move || {
                marquee_core::model::image::decode_image(&png)
            })
            .await?
            .map_err(|e| PipelineError::Record(Box::new(e)))?;
            drawn.insert(*format, pixmap);
        }
        let order: Vec<Format> = files.iter().map(|(f, _)| *f).collect();
        let png = {
            let _slot = self.cpu_slots.acquire().await.ok();
            marquee_core::cpu::background(move || {
                let posters: Vec<_> = order
                    .iter()
                    .filter_map(|f| drawn.get(f).map(|p| (*f, p)))
                    .collect();
                poster::encode_png(&poster::contact_sheet(&posters, 360))
            })
            .await??
        };
        let now = time::OffsetDateTime::now_utc();
        let names: Vec<&str> = chosen.iter().map(|f| f.name()).collect();
        let key = print_key(
            record.id,
            &format!("formats-sheet-{}", names.join("-")),
            "png",
            now,
        );
        self.store
            .put_png(&key, png, &super::stored_meta(record))
            .await?;
        let ours = FormatSheet {
            key,
            at: now.unix_timestamp(),
        };
        Ok(
            match self
                .records
                .claim_format_sheet(record.id, chosen, &ours)
                .await
            {
                Ok(Some(first)) => first.key,
                Ok(None) => ours.key,
                Err(e) => {
                    tracing::warn!(poster = %record.id, error = %ErrorChain(&e), "a formats contact sheet made but not recorded");
                    ours.key
                }
            },
        )
    }

    /// Posts the formats into the poster's thread (Web API), uploading `uploads` (the PNGs this
    /// click made), or answers through the `response_url`: to the clicker only when they were
    /// shared before.
    async fn share_formats(
        &self,
        job: &Job,
        record: &PosterRecord,
        made: &[(Format, MadeFormat)],
        mut uploads: HashMap<Format, Vec<u8>>,
        sheet_key: &str,
        again: bool,
    ) -> Result<Outcome, PipelineError> {
        let public_url = job.public_url.as_deref();
        let sheet = self.link(sheet_key, public_url)?;
        let mut links = Vec::new();
        for (_, file) in made {
            links.push(self.link(&file.key, public_url)?);
        }
        let files: Vec<FormatFile<'_>> = made
            .iter()
            .zip(&links)
            .map(|((format, file), link)| FormatFile {
                format: format.to_string(),
                url: &link.url,
                width: file.width,
                height: file.height,
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
                Ok(ts) => {
                    // With a bot token each file is also uploaded into the thread, as the
                    // poster itself is, so it outlives its link.
                    let root = thread_ts.unwrap_or(&ts);
                    // In the set's order; only files this click made (the others went into
                    // the thread before).
                    for (format, _) in made {
                        let Some(png) = uploads.remove(format) else {
                            continue;
                        };
                        let name = format.to_string();
                        let upload = format!("marquee-{}-{}.png", record.id, format.name());
                        let file_title = format!("{title} — {name}");
                        let alt = format!("Poster: {title}, {name}");
                        if let Err(e) = web
                            .upload_file(&channel, Some(root), &upload, &file_title, &alt, png)
                            .await
                        {
                            tracing::warn!(code = e.code(), error = %ErrorChain(&e), "formats linked, but a file could not be uploaded into slack");
                        }
                    }
                    return Ok(Outcome::Delivered);
                }
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

/// `chosen` in the contact sheet's order, each once; every format when none is named.
fn in_sheet_order(chosen: &[Format]) -> Vec<Format> {
    let set: Vec<Format> = Format::ALL
        .into_iter()
        .filter(|f| chosen.contains(f))
        .collect();
    if set.is_empty() {
        Format::ALL.to_vec()
    } else {
        set
    }
}

/// The formats of `chosen` that are not in `made`.
fn missing(chosen: &[Format], made: &[(Format, MadeFormat)]) -> Vec<Format> {
    chosen
        .iter()
        .filter(|f| !made.iter().any(|(g, _)| g == *f))
        .copied()
        .collect()
}

/// The box around every box in `boxes` (`[x, y, width, height]`), in whole pixels rounded
/// outward; zeros for none.
fn union(boxes: &[[f32; 4]]) -> [u32; 4] {
    let Some(first) = boxes.first() else {
        return [0; 4];
    };
    let (mut x0, mut y0) = (first[0], first[1]);
    let (mut x1, mut y1) = (first[0] + first[2], first[1] + first[3]);
    for b in &boxes[1..] {
        x0 = x0.min(b[0]);
        y0 = y0.min(b[1]);
        x1 = x1.max(b[0] + b[2]);
        y1 = y1.max(b[1] + b[3]);
    }
    let (x0, y0) = (x0.floor().max(0.0) as u32, y0.floor().max(0.0) as u32);
    let (x1, y1) = (x1.ceil().max(0.0) as u32, y1.ceil().max(0.0) as u32);
    [x0, y0, x1.saturating_sub(x0), y1.saturating_sub(y0)]
}

/// Sets the take's words afresh over the art of each of `formats` (fitted to the format's
/// size on the rendering threads, cropped centred by at most the rounding of its aspect).
fn render_over(
    art: &ArtFor,
    formats: &[Format],
    text: &poster::PosterText,
    typography: poster::Typography,
) -> Result<Vec<poster::Rendered>, poster::PosterError> {
    if let Some(format) = formats.iter().find(|f| !art.contains_key(f)) {
        let (width, height) = format.size();
        return Err(poster::PosterError::Size { width, height });
    }
    poster::render_formats(formats, text, typography, |format| {
        let (w, h) = format.size();
        art.get(&format)
            .and_then(|a| poster::fit_cover(a, w, h))
            .expect("every format has its art, and no format's size is zero")
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::pipeline::testing::{offline_pipeline, serve};
    use marquee_core::job::{ReplyTo, Task};
    use marquee_core::model::{EditRequest, GeneratedImage, ImageModel, ImageRequest, Models};
    use marquee_core::quota::Limits;

    /// SD3.5 as Bedrock answers it (a 2:3 picture of 832×1216), or art of another size.
    struct Drawer(u32, u32);

    #[async_trait::async_trait]
    impl ImageModel for Drawer {
        async fn generate(&self, r: &ImageRequest) -> Result<GeneratedImage, ModelError> {
            let mut pixmap = tiny_skia::Pixmap::new(self.0, self.1).expect("size");
            pixmap.fill(tiny_skia::Color::from_rgba8(40, 60, 90, 255));
            Ok(GeneratedImage {
                pixmap,
                seed: r.seed,
            })
        }
    }

    /// Outpaint in-process: grows its source by the margins asked (the source kept where it
    /// was), and fails the calls whose numbers (from 1) are in `failing` as Bedrock refuses a
    /// request, unbilled.
    #[derive(Default)]
    struct Grower {
        calls: AtomicUsize,
        failing: Mutex<Vec<usize>>,
        sizes: Mutex<Vec<(u32, u32)>>,
        sources: Mutex<Vec<(u32, u32)>>,
    }

    #[async_trait::async_trait]
    impl ImageModel for Grower {
        async fn generate(&self, _: &ImageRequest) -> Result<GeneratedImage, ModelError> {
            Err(ModelError::Throttled)
        }
        fn can(&self, kind: EditKind) -> bool {
            kind == EditKind::Outpaint
        }
        async fn edit(&self, r: &EditRequest) -> Result<GeneratedImage, ModelError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if self.failing.lock().unwrap().contains(&n) {
                return Err(ModelError::Invalid {
                    detail: "refused for the test".into(),
                });
            }
            let Edit::Outpaint {
                left,
                right,
                up,
                down,
            } = r.edit
            else {
                return Err(ModelError::Unsupported {
                    what: "not an outpaint".into(),
                });
            };
            let (w, h) = (r.source.width(), r.source.height());
            self.sources.lock().unwrap().push((w, h));
            let mut pixmap = tiny_skia::Pixmap::new(w + left + right, h + up + down).unwrap();
            pixmap.fill(tiny_skia::Color::from_rgba8(200, 120, 40, 255));
            pixmap.draw_pixmap(
                left as i32,
                up as i32,
                r.source.as_ref().as_ref(),
                &tiny_skia::PixmapPaint::default(),
                tiny_skia::Transform::identity(),
                None,
            );
            self.sizes
                .lock()
                .unwrap()
                .push((pixmap.width(), pixmap.height()));
            Ok(GeneratedImage {
                pixmap,
                seed: r.base.seed,
            })
        }
    }

    /// A pipeline with SD3.5 and Outpaint in-process, a person allowed `daily` metered calls a
    /// day, and one SD3.5 take (which counts one of them).
    async fn bedrock_take(
        dir: &std::path::Path,
        daily: i64,
    ) -> (Pipeline, Arc<Grower>, Uuid, ReplyTo) {
        bedrock_take_of(dir, daily, (832, 1216)).await
    }

    async fn bedrock_take_of(
        dir: &std::path::Path,
        daily: i64,
        art: (u32, u32),
    ) -> (Pipeline, Arc<Grower>, Uuid, ReplyTo) {
        let origin = serve(axum::Router::new().fallback(|| async { "ok" })).await;
        bedrock_take_at(dir, daily, art, origin).await
    }

    /// The same, replying to Slack's side at `origin`.
    async fn bedrock_take_at(
        dir: &std::path::Path,
        daily: i64,
        art: (u32, u32),
        origin: String,
    ) -> (Pipeline, Arc<Grower>, Uuid, ReplyTo) {
        let grower = Arc::new(Grower::default());
        let mut pipeline = offline_pipeline(dir, &origin).with_limits(Limits {
            user_daily: Some(daily),
            ..Limits::default()
        });
        pipeline.models = Models::new()
            .with(ModelId::Offline, Arc::new(offline::OfflineModel))
            .with(ModelId::Sd35Large, Arc::new(Drawer(art.0, art.1)))
            .with_service(Service::Outpaint, grower.clone());
        let reply = ReplyTo::response_url(format!("{origin}/commands/T1/1/secret"));
        let mut job = marquee_core::job::sample_job();
        job.reply_to = reply.clone();
        if let Task::Poster { spec } = &mut job.task {
            spec.model = ModelId::Sd35Large;
            spec.text = poster::PosterText {
                title: Some("Deep Water".into()),
                tagline: Some("The harbour is not safe.".into()),
                credits: Some("a harbour lights production directed by Ada Lovelace".into()),
            };
        }
        assert_eq!(pipeline.run(job.clone(), None).await, Outcome::Delivered);
        (pipeline, grower, job.id, reply)
    }

    fn click(id: Uuid, reply: &ReplyTo) -> Job {
        let mut job = marquee_core::job::sample_job();
        job.reply_to = reply.clone();
        job.task = Task::Formats {
            source: id,
            formats: Format::ALL.to_vec(),
        };
        job
    }

    /// One Outpaint call per format but the take's own 2:3; a run that fails part-way keeps
    /// what it paid for, and the next click pays only for the rest: with exactly enough quota
    /// for one take and five calls, the set is finished, and a third click calls nothing.
    #[tokio::test]
    async fn a_bedrock_takes_formats_are_billed_once_per_call_even_across_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let (pipeline, grower, id, reply) = bedrock_take(dir.path(), 1 + 5).await;
        grower.failing.lock().unwrap().push(3);
        let first = pipeline.run(click(id, &reply), None).await;
        assert!(matches!(first, Outcome::FailedAndTold { .. }), "{first:?}");
        assert_eq!(grower.calls.load(Ordering::SeqCst), 3);
        let made = |id| pipeline.records().made_formats(id, &Format::ALL);
        assert!(made(id).await.unwrap().is_empty());

        // Two calls were paid for and kept; three remain, and exactly three are left today.
        assert_eq!(
            pipeline.run(click(id, &reply), None).await,
            Outcome::Delivered
        );
        assert_eq!(grower.calls.load(Ordering::SeqCst), 6);
        let made = made(id).await.unwrap();
        assert_eq!(made.len(), Format::ALL.len());
        for (_, file) in &made {
            assert_eq!(
                file.outpainted_with.as_deref(),
                Some("Stable Image Outpaint")
            );
        }
        // Each call grew 832×1216 to its format's aspect.
        let mut sizes = grower.sizes.lock().unwrap().clone();
        sizes.sort_unstable();
        assert_eq!(
            sizes,
            [
                (832, 1480),
                (973, 1216),
                (1216, 1216),
                (2162, 1216),
                (2838, 1216)
            ]
        );
        for (format, b) in made.iter().map(|(f, m)| (*f, &m.type_box)) {
            let (x, y, w, h) = format.safe_area();
            let b = b.map(|v| v as f32);
            assert!(b[2] > 0.0 && b[0] >= x && b[1] >= y, "{format}: {b:?}");
            assert!(
                b[0] + b[2] <= x + w && b[1] + b[3] <= y + h,
                "{format}: {b:?}"
            );
        }

        assert_eq!(
            pipeline.run(click(id, &reply), None).await,
            Outcome::Delivered
        );
        assert_eq!(
            grower.calls.load(Ordering::SeqCst),
            6,
            "a third click called"
        );
    }

    /// A subset first, then the whole set: the second click pays only for the formats it
    /// adds (the square's call is not made again, the one-sheet needs none), with exactly
    /// enough quota for the take and five calls; both answers list the formats asked.
    #[tokio::test]
    async fn a_superset_of_a_bedrock_takes_formats_pays_only_for_the_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        let (pipeline, grower, id, reply) = bedrock_take(dir.path(), 1 + 5).await;
        let mut job = click(id, &reply);
        job.task = Task::Formats {
            source: id,
            formats: vec![Format::Square, Format::OneSheet],
        };
        assert_eq!(pipeline.run(job, None).await, Outcome::Delivered);
        assert_eq!(grower.calls.load(Ordering::SeqCst), 1, "the square's call");
        let made = |id| pipeline.records().made_formats(id, &Format::ALL);
        let two = made(id).await.unwrap();
        assert_eq!(
            two.iter().map(|(f, _)| *f).collect::<Vec<_>>(),
            [Format::OneSheet, Format::Square]
        );
        assert_eq!(
            pipeline.run(click(id, &reply), None).await,
            Outcome::Delivered
        );
        assert_eq!(grower.calls.load(Ordering::SeqCst), 5, "four more calls");
        let all = made(id).await.unwrap();
        assert_eq!(all.len(), Format::ALL.len());
        for kept in &two {
            assert!(all.contains(kept), "{:?} was made again", kept.0);
        }
        // Six files stored in all: none of the first two was set and stored again.
        fn files(d: &std::path::Path, out: &mut usize) {
            for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    files(&p, out);
                } else if p.file_name().is_some_and(|n| {
                    let n = n.to_string_lossy();
                    n.starts_with("format-") && n.ends_with(".png")
                }) {
                    *out += 1;
                }
            }
        }
        let mut stored = 0;
        files(&dir.path().join("prints"), &mut stored);
        assert_eq!(stored, Format::ALL.len());
    }

    /// Only the admin's set is made: a job asking every format (one queued before the set
    /// was narrowed, or a forged form) makes the set's formats alone, and a job asking none of
    /// them makes the set.
    #[tokio::test]
    async fn only_the_admins_set_of_formats_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let origin = serve(axum::Router::new().fallback(|| async { "ok" })).await;
        let pipeline =
            offline_pipeline(dir.path(), &origin).with_formats(vec![Format::Story, Format::Square]);
        assert_eq!(pipeline.format_set(), [Format::Story, Format::Square]);
        let reply = ReplyTo::response_url(format!("{origin}/commands/T1/1/secret"));
        let mut job = marquee_core::job::sample_job();
        job.reply_to = reply.clone();
        assert_eq!(pipeline.run(job.clone(), None).await, Outcome::Delivered);
        assert_eq!(
            pipeline.run(click(job.id, &reply), None).await,
            Outcome::Delivered
        );
        let made = pipeline.records().made_formats(job.id, &Format::ALL);
        let made: Vec<Format> = made.await.unwrap().iter().map(|(f, _)| *f).collect();
        assert_eq!(made, [Format::Square, Format::Story]);
        let mut wide = click(job.id, &reply);
        wide.task = Task::Formats {
            source: job.id,
            formats: vec![Format::Wide],
        };
        // Nothing asked is offered: told so, and never the whole set in its place.
        assert_eq!(
            pipeline.run(wide, None).await,
            Outcome::FailedAndTold { kind: "NotOffered" }
        );
        let made = pipeline.records().made_formats(job.id, &Format::ALL).await;
        assert_eq!(made.unwrap().len(), 2, "the wide one is not in the set");
    }

    /// Art too large for one call at some format is sent scaled down first, by one factor,
    /// and still makes one call (one bill) for that format; the set is complete.
    #[tokio::test]
    async fn art_too_large_for_a_call_is_scaled_and_still_one_call_per_format() {
        let dir = tempfile::tempdir().unwrap();
        let (pipeline, grower, id, reply) = bedrock_take_of(dir.path(), 100, (3072, 1280)).await;
        assert_eq!(
            pipeline.run(click(id, &reply), None).await,
            Outcome::Delivered
        );
        let sources = grower.sources.lock().unwrap().clone();
        // 2.4:1 art: every format but the wide one (within 3 % of it) is a call.
        assert_eq!(sources.len(), 5, "{sources:?}");
        assert!(sources.contains(&(3072, 1280)), "{sources:?}");
        let scaled: Vec<_> = sources.iter().filter(|s| **s != (3072, 1280)).collect();
        assert!(!scaled.is_empty(), "the story needs scaling: {sources:?}");
        for (w, h) in scaled {
            assert!(
                (f64::from(*w) / f64::from(*h) - 2.4).abs() < 0.01,
                "{w}x{h}"
            );
        }
        for (w, h) in grower.sizes.lock().unwrap().iter() {
            assert!(
                u64::from(*w) * u64::from(*h) <= outpaint::MAX_PIXELS,
                "{w}x{h}"
            );
        }
        let made = pipeline
            .records()
            .made_formats(id, &Format::ALL)
            .await
            .unwrap();
        assert_eq!(made.len(), Format::ALL.len());
    }

    /// Art Outpaint takes at no size (2.67:1, past AWS's page's "between 1:2.5 and 2.5:1") is
    /// refused before anything is reserved or called, and the clicker is told why and that
    /// nothing was charged.
    #[tokio::test]
    async fn art_outside_outpaints_aspect_limit_is_refused_and_the_clicker_told_why() {
        let dir = tempfile::tempdir().unwrap();
        let posts = Arc::new(Mutex::new(Vec::<String>::new()));
        let router = {
            let posts = posts.clone();
            axum::Router::new().fallback(move |body: String| {
                let posts = posts.clone();
                async move {
                    posts.lock().unwrap().push(body);
                    "ok"
                }
            })
        };
        let origin = serve(router).await;
        // One take of today's two, so a reservation of five would be refused as over the
        // limit: the refusal must come from the art, before any reservation.
        let (pipeline, grower, id, reply) =
            bedrock_take_at(dir.path(), 1 + 1, (1600, 600), origin).await;
        let before = posts.lock().unwrap().len();
        let outcome = pipeline.run(click(id, &reply), None).await;
        assert!(
            matches!(outcome, Outcome::FailedAndTold { .. }),
            "{outcome:?}"
        );
        assert_ne!(outcome, Outcome::FailedAndTold { kind: "OverLimit" });
        assert_eq!(grower.calls.load(Ordering::SeqCst), 0);
        assert!(
            pipeline
                .records()
                .made_formats(id, &Format::ALL)
                .await
                .unwrap()
                .is_empty()
        );
        let told = posts.lock().unwrap()[before..].join("\n");
        for said in [
            "art of 1600x600 is outside what Outpaint takes",
            "an aspect within 1:2.5 and 2.5:1",
            "Nothing was charged",
        ] {
            assert!(
                told.to_lowercase().contains(&said.to_lowercase()),
                "{said:?} not in {told}"
            );
        }
    }

    /// Five calls with four left today: refused before any call, nothing made.
    #[tokio::test]
    async fn formats_over_a_limit_are_refused_up_front() {
        let dir = tempfile::tempdir().unwrap();
        let (pipeline, grower, id, reply) = bedrock_take(dir.path(), 1 + 4).await;
        let outcome = pipeline.run(click(id, &reply), None).await;
        assert!(
            outcome == Outcome::FailedAndTold { kind: "OverLimit" },
            "{outcome:?}"
        );
        assert_eq!(grower.calls.load(Ordering::SeqCst), 0);
        let made = pipeline.records().made_formats(id, &Format::ALL).await;
        assert!(made.unwrap().is_empty());
    }
}
