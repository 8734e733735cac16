//! The pipeline: spec → art → poster → stored object → link → Slack message.
//!
//! [`Pipeline::render`] does the work for both front doors (the worker behind Slack, and the
//! synchronous REST route); `Pipeline::run` is the worker: it renders a [`Job`] and delivers
//! the result, or tells the requester exactly what went wrong. It never returns an error for a
//! job whose requester was told, so Lambda never retries (and re-bills, and re-posts) a job.
//! `PipelineError::explain` is the one place where failures become words for people.
//!
//! The pipeline sequences three collaborators, each with one job: [`Records`] (records,
//! approvals, run markers, locks, history, the replay guard, REST statuses), [`Metering`]
//! (reservations, the ledger, usage) and [`Delivery`] (the Web API and `response_url`s). The
//! HTTP door holds clones of the ones it needs rather than reaching through the pipeline.
//!
//! `Pipeline::art` (the model call), `edit_art` (an edit of a take's stored art by whoever
//! `Models::editor` names), `finish_take` (type over the art, store art and poster, record with
//! lineage, link), `draw` and `render` (a first take) and `run` (the worker: take the job's run
//! marker, then per task render and deliver, or explain; the whole task is cut off
//! `FAILURE_RESERVE` before the invocation's deadline so the failure message always fits). One
//! submodule per concern: `retake` (a change planned as takes, each with its art drawn, reused or
//! edited, under the poster's lock, billed as what makes it), `print` (an approved take's print
//! files: the optional upscale, one sheet at a time, stored under `prints/`, linked, PDFs uploaded
//! into the thread), `records` (the `Records` collaborator: everything typed kept in the state store — its key
//! table is at the top of the file), `retry` (the model retry policy: bounded,
//! full-jitter backoff, within the deadline), `retake` (one take per poster at a time, under a lock
//! that expires and is taken over atomically), `approve` (who may approve: `Approvers`; the first
//! approval wins), `deliver` (the Web API into threads with uploads when there is a bot token, the
//! message's image then shown from the uploaded file (`slack_file`) rather than the expiring link,
//! else the `response_url`; falling back only after a definite refusal, never after a timeout) and
//! `error` (`PipelineError::explain`, the one place failures become words for people), and `rest`
//! (REST jobs, `ReplyTo::Status`: the same run marker, quota and render, with the outcome written
//! to the job's status record instead of posted). Drawing and composing hold one of
//! `available_parallelism()` slots, so a burst of local jobs queues instead of rendering all at
//! once. `metering` reserves a poster on the requester's day, the channel's day and the
//! deployment's month (one counter for every team and the REST door) with `StateStore::add` before
//! any metered model is called, all or nothing, refunds calls Bedrock does not bill
//! (`ModelError::may_be_billed`), writes a ledger line per charged poster and answers `/poster
//! usage`; `records::history` answers `/poster history`. `unfinished` (`Pipeline::tell_unfinished`)
//! says the same for a job that ended without a word — timed out, stopped, Slack unreachable,
//! expired in the queue — unless its `response_url` is past its 30 minutes.

use std::sync::Arc;
use std::time::Duration;

use sha2::Digest;
use time::OffsetDateTime;
use tokio::time::Instant;
use tracing::Instrument;
use uuid::Uuid;

use marquee_core::errors::ErrorChain;
use marquee_core::job::{Job, Lineage, PosterRecord, PosterSpec, ReplyTo, Requester, Task};
use marquee_core::metrics::{Event, Metrics, Stage};
use marquee_core::model::{
    Edit, EditRequest, ImageRequest, ModelError, ModelId, Models, Priced, Upscaler,
};
use marquee_core::poster;
use marquee_core::quota::Limits;
use marquee_core::slack::blocks;
use marquee_core::slack::web::WebClient;
use marquee_core::slack::{SlackClient, SlackError};
use marquee_core::state::StateStore;
use marquee_core::store::{Link, LinkSigner, ObjectMeta, ObjectStore, art_key, poster_key};

/// What every AI prompt avoids, whatever the style: garbled lettering above all, since Marquee
/// sets real type itself.
const DEFAULT_NEGATIVE: &str = "text, letters, words, typography, watermark, signature, logo, caption, blurry, low quality, deformed";

/// How long records are kept unless configured: the template's default poster retention.
const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// The kind of an [`Outcome::Undeliverable`] whose `response_url` Slack refused (expired, used
/// up, not allowed): no later message to it can get through either.
pub(crate) const SLACK_REFUSED: &str = "SlackRejected";

/// How a job ends when Slack would not take the message that tells its requester: a refusal
/// is final, but a Slack that was down may take a later one (the on-failure path tries).
/// The metadata stored with a file made from take `record` (its formats, its prints): the
/// take's description hash, model, seed and requester.
fn stored_meta(record: &PosterRecord) -> ObjectMeta {
    ObjectMeta {
        prompt_sha256: hex::encode(sha2::Sha256::digest(record.spec.description.as_bytes())),
        model: record.spec.model.short_name().to_owned(),
        seed: record.spec.seed.unwrap_or_default(),
        requester: record.requester.user_id.clone(),
    }
}

fn undeliverable(e: &SlackError) -> Outcome {
    let kind = if e.may_pass() {
        "SlackUnreachable"
    } else {
        SLACK_REFUSED
    };
    Outcome::Undeliverable { kind }
}

/// Time kept back from a deadline for storing the poster and posting to Slack.
const DELIVERY_RESERVE: Duration = Duration::from_secs(8);

/// Time kept back from a deadline, whatever the job is doing, for one failure message: the
/// whole task is cut off this long before Lambda would kill the invocation, so the requester
/// always hears what happened. Smaller than [`DELIVERY_RESERVE`]: a job that has its art
/// still gets most of the delivery time before it is cut off.
const FAILURE_RESERVE: Duration = Duration::from_secs(5);

mod admins;
mod approve;
mod formats;
mod home;
mod print;
mod rest;
mod unfinished;

pub use admins::Admins;
pub(crate) use approve::{Approvers, ExternalUsers};
pub(crate) use rest::{RestStatus, wait_backoff};
pub(crate) use unfinished::{Notice, Unfinished};
mod deliver;
mod error;
mod history;
mod lock;
mod metering;
mod records;
mod retake;
mod retry;
mod say;
mod step;

pub use deliver::Delivery;
pub use metering::Metering;
pub use records::Records;

pub(crate) use error::Cause;
pub(crate) use error::PipelineError;
use metering::{Reservation, Reserved};
use retry::RetryPolicy;

/// A finished, stored poster.
#[derive(Clone)]
pub struct Rendered {
    id: Uuid,
    pub(crate) key: String,
    pub link: Link,
    /// The PNG itself, for uploading into Slack.
    pub png: Vec<u8>,
    missing_glyphs: Vec<String>,
    pub(crate) model: ModelId,
    pub(crate) seed: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

/// A composed poster, not yet stored.
#[derive(Debug, Clone)]
pub struct Drawn {
    pub png: Vec<u8>,
    /// Characters of the lettering that no embedded face can draw, left out of the poster.
    pub missing_glyphs: Vec<String>,
    pub seed: u32,
    pub width: u32,
    pub height: u32,
    pub total_ms: u64,
}

/// A take's art before typography.
#[derive(Clone)]
pub(crate) struct Art {
    pub(crate) pixmap: tiny_skia::Pixmap,
    /// The seed the model reports it used.
    pub(crate) seed: u32,
    pub(crate) model_ms: u64,
    /// The art's PNG as the parent take stored it, when this take changes only the words:
    /// written again under this take's own key, never re-encoded. Each take keeps its own copy
    /// because the bucket expires `art/` by object age (template.yaml's lifecycle rule), so a
    /// shared object would vanish with the first take while later ones still need it.
    pub(crate) stored: Option<Vec<u8>>,
}

/// A poster composed over its art, encoded.
struct Composed {
    png: Vec<u8>,
    /// The art, encoded for storing, unless it is stored already.
    art_png: Option<Vec<u8>>,
    missing_glyphs: Vec<String>,
    width: u32,
    height: u32,
    /// Where the words were set, when there were any.
    arrangement: Option<poster::Arrangement>,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The poster was posted to Slack.
    Delivered,
    /// The job failed and the requester was told why.
    FailedAndTold { kind: &'static str },
    /// This job had already run: a second delivery, which did nothing.
    Duplicate,
    /// Slack could not be reached to deliver the poster or the failure: the one case that is
    /// an error for the runtime, so it shows in Lambda's error metrics.
    Undeliverable { kind: &'static str },
}

/// The pipeline that sequences its collaborators — [`Records`], [`Metering`], [`Delivery`] —
/// around the model, the compositor and the object store.
pub struct Pipeline {
    models: Models,
    store: Arc<dyn ObjectStore>,
    /// Records, approvals, run markers, locks, history, the replay guard.
    records: Records,
    /// Reservations, the ledger and usage.
    metering: Metering,
    /// The Web API and `response_url`s.
    delivery: Delivery,
    /// Bounds how many posters are drawn and composed at once (one per core).
    cpu_slots: tokio::sync::Semaphore,
    links: LinkSigner,
    /// Where links are served when a job does not say (a configured or local address).
    public_url: Option<String>,
    link_ttl: Duration,
    approvers: Approvers,
    /// What people from outside the installation may do (Slack Connect guests).
    external_users: ExternalUsers,
    /// Who may change an installation's brand kit.
    admins: Admins,
    /// The upscaler print-ready files use; `None`: resampling only.
    print_upscaler: Option<Upscaler>,
    /// The admin's set of formats Formats… offers (`MARQUEE_FORMATS`), in the contact sheet's
    /// order; every format by default.
    formats: Vec<marquee_core::poster::Format>,
    retry: RetryPolicy,
    /// Where what happens is counted (EMF lines in Lambda, nowhere locally).
    metrics: Metrics,
}

impl Pipeline {
    pub fn new(
        models: Models,
        store: Arc<dyn ObjectStore>,
        state: Arc<dyn StateStore>,
        slack: SlackClient,
        links: LinkSigner,
        link_ttl: Duration,
    ) -> Self {
        Self {
            models,
            store,
            records: Records::new(state.clone(), DEFAULT_RETENTION),
            metering: Metering::new(state, Limits::default(), Metrics::off()),
            delivery: Delivery::new(slack),
            cpu_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
            links,
            public_url: None,
            link_ttl,
            approvers: Approvers::default(),
            external_users: ExternalUsers::default(),
            formats: marquee_core::job::every_format(),
            admins: Admins::default(),
            print_upscaler: None,
            retry: RetryPolicy::default(),
            metrics: Metrics::off(),
        }
    }

    /// Counts acks, posters, stage times, failures, spend and refusals into `metrics`.
    pub(crate) fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metering.set_metrics(metrics.clone());
        self.delivery.set_metrics(metrics.clone());
        self.metrics = metrics;
        self
    }

    /// Counts a delivered poster by its model and style.
    fn count_poster(&self, spec: &PosterSpec) {
        self.metrics.record(Event::Poster {
            model: spec.model.short_name(),
            style: spec.style.name(),
        });
    }

    /// Where the front door counts its acks.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Delivers through the Web API (threads, uploads) where it can, with this client.
    pub(crate) fn with_web(mut self, web: WebClient) -> Self {
        self.delivery.set_web(web);
        self
    }

    /// Downloads pictures people upload (Use a picture…) with this fetcher.
    pub(crate) fn with_files(mut self, files: marquee_core::slack::files::FileFetcher) -> Self {
        self.delivery.set_files(files);
        self
    }

    /// Who may approve posters.
    pub(crate) fn with_approvers(mut self, approvers: Approvers) -> Self {
        self.approvers = approvers;
        self
    }

    /// The formats Formats… offers (empty: every format).
    pub(crate) fn with_formats(mut self, formats: Vec<marquee_core::poster::Format>) -> Self {
        if !formats.is_empty() {
            self.formats = formats;
        }
        self
    }

    /// What people from outside the installation may do.
    pub(crate) fn with_external_users(mut self, external_users: ExternalUsers) -> Self {
        self.external_users = external_users;
        self
    }

    /// Who may change an installation's brand kit (besides its Slack admins).
    pub(crate) fn with_admins(mut self, admins: Admins) -> Self {
        self.admins = admins;
        self
    }

    /// Who may change an installation's brand kit; the HTTP door holds a clone (Settings).
    pub(crate) fn admins(&self) -> &Admins {
        &self.admins
    }

    /// Upscales art for print-ready files with `upscaler` (one of Stability's services);
    /// `None` resamples only.
    pub(crate) fn with_print_upscaler(mut self, upscaler: Option<Upscaler>) -> Self {
        self.print_upscaler = upscaler;
        self
    }

    /// Meters posters against these limits and prices (by default: list prices, no limits).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.metering.set_limits(limits);
        self
    }

    /// What reviewing a poster offers here, and at what price, for the help card.
    pub fn review_offer(&self) -> blocks::ReviewOffer {
        let search_replace = marquee_core::model::Service::SearchReplace;
        blocks::ReviewOffer {
            modals: self.delivery.web().is_some(),
            search_replace_micros: self
                .models
                .has_service(search_replace)
                .then(|| self.limits().price_of(Priced::Service(search_replace))),
            upscale: self.print_upscaler.map(|u| {
                let service = u.service();
                (
                    service.display_name(),
                    self.limits().price_of(Priced::Service(service)),
                )
            }),
        }
    }

    /// The formats Formats… offers, in the contact sheet's order: the admin's set
    /// (`MARQUEE_FORMATS`), by default every format Marquee lays out (one-sheet, square, feed,
    /// story, banner, wide; six, within the modal's ten checkboxes).
    pub(crate) fn format_set(&self) -> Vec<marquee_core::poster::Format> {
        self.formats.clone()
    }

    /// The limits and prices posters are metered against, for the help card.
    pub fn limits(&self) -> &Limits {
        self.metering.limits()
    }

    /// Keeps records as long as posters are kept (the bucket's lifecycle rule).
    pub(crate) fn with_retention(mut self, retention: Duration) -> Self {
        self.records.set_retention(retention);
        self
    }

    /// Serves links under `public_url` when a job names no address of its own.
    pub fn with_public_url(mut self, public_url: Option<String>) -> Self {
        self.public_url = public_url;
        self
    }

    /// What the pipeline remembers; the HTTP door holds a clone (the replay guard, a modal's
    /// record, a REST job's status).
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// How the pipeline reaches Slack; the HTTP door holds a clone (acks that say more later,
    /// the `response_url` allow-list, modals).
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    /// The controls a poster of `spec` offers: only what a model here can make of it.
    fn offers(&self, spec: &PosterSpec) -> deliver::Offers {
        deliver::Offers {
            change_detail: self
                .models
                .can(spec.model, marquee_core::model::EditKind::Replace),
            // Offline formats re-draw the take's own scene, which a picture's take is not.
            formats: (spec.model == ModelId::Offline && spec.picture.is_none())
                || self
                    .models
                    .can(spec.model, marquee_core::model::EditKind::Outpaint),
            use_picture: [
                marquee_core::model::EditKind::StartFrom,
                marquee_core::model::EditKind::StyleOf,
                marquee_core::model::EditKind::RestyleLike,
            ]
            .into_iter()
            .any(|kind| self.models.can(spec.model, kind)),
        }
    }

    /// Posts a finished poster ([`Delivery::poster`]) and remembers the Slack file its message
    /// shows, if any.
    async fn deliver(
        &self,
        job: &Job,
        spec: &PosterSpec,
        rendered: &Rendered,
        note: Option<String>,
    ) -> Outcome {
        let offers = self.offers(spec);
        let posted = self
            .delivery
            .poster(job, spec, rendered, note, offers)
            .await;
        if let Some(file) = &posted.shown_file {
            self.keep_shown_file(rendered, file).await;
        }
        posted.outcome
    }

    /// Remembers the Slack file the take's message now shows, for rebuilds of the message
    /// (an approval). Best effort: without it a rebuild shows the link, as without a token.
    async fn keep_shown_file(&self, rendered: &Rendered, file: &str) {
        if let Err(e) = self.records.remember_file(rendered.id, file).await {
            tracing::warn!(error = %ErrorChain(&e), "could not remember the take's slack file; a rebuilt message will show its link");
        }
    }

    /// A fresh link to the stored poster `key`, served under `public_url` (or the configured
    /// address), valid for the configured time from now.
    pub(crate) fn link(&self, key: &str, public_url: Option<&str>) -> Result<Link, PipelineError> {
        let base = public_url
            .or(self.public_url.as_deref())
            .ok_or(PipelineError::NoPublicUrl)?;
        Ok(self
            .links
            .sign(base, key, self.link_ttl, OffsetDateTime::now_utc())?)
    }

    /// The request a model gets for `spec`: the style's prompt additions and the negatives.
    fn image_request(spec: &PosterSpec, seed: u32) -> ImageRequest {
        let mut negative = DEFAULT_NEGATIVE.to_owned();
        for extra in [
            spec.style.negative_suffix(),
            spec.avoid.as_deref().unwrap_or(""),
        ] {
            if !extra.trim().is_empty() {
                negative.push_str(", ");
                negative.push_str(extra.trim());
            }
        }
        ImageRequest {
            model: spec.model,
            prompt: format!(
                "{}. {}",
                spec.description.trim_end_matches('.'),
                spec.style.prompt_suffix()
            ),
            negative_prompt: Some(negative),
            aspect: spec.aspect,
            seed,
            style: spec.style,
        }
    }

    /// Draws the art for `spec`: the model call, within the deadline.
    pub(crate) async fn art(
        &self,
        spec: &PosterSpec,
        deadline: Option<Instant>,
    ) -> Result<Art, PipelineError> {
        let seed = spec
            .seed
            .unwrap_or_else(|| fastrand::u32(1..=spec.model.max_seed()));
        let request = Self::image_request(spec, seed);
        let started = Instant::now();
        // Drawing and composing are CPU work on blocking threads, each holding a few
        // megapixels: without a bound, a burst of jobs starts them all at once and memory
        // follows (measured: 8 GB for 1,000 queued offline jobs). The offline generator is all
        // CPU, so it holds a slot throughout; a Bedrock call waits on the network without one.
        let _slot = if spec.model == ModelId::Offline {
            self.cpu_slots.acquire().await.ok()
        } else {
            None
        };
        let art = self.generate(&request, deadline).await?;
        Ok(Art {
            seed: art.seed,
            pixmap: art.pixmap,
            model_ms: started.elapsed().as_millis() as u64,
            stored: None,
        })
    }

    /// Edits `source` (the parent take's art) as `edit` asks, with whoever makes such edits to
    /// `spec.model`'s art, under the model retry policy. The new art keeps the parent's seed:
    /// it is the same scene, and the offline generator re-derives the scene from that seed.
    pub(super) async fn edit_art(
        &self,
        spec: &PosterSpec,
        source: Art,
        edit: Edit,
        deadline: Option<Instant>,
    ) -> Result<Art, PipelineError> {
        let kind = edit.kind();
        let (priced, editor) = self.models.editor(spec.model, kind).ok_or_else(|| {
            PipelineError::Model(ModelError::Unsupported {
                what: format!("{} cannot {}", spec.model.display_name(), kind.describe()),
            })
        })?;
        let editor = editor.clone();
        let seed = fastrand::u32(1..=spec.model.max_seed());
        let request = EditRequest {
            base: Self::image_request(spec, seed),
            source_seed: source.seed,
            source: std::sync::Arc::new(source.pixmap),
            edit,
        };
        let started = Instant::now();
        let _slot = if priced == Priced::Model(ModelId::Offline) {
            self.cpu_slots.acquire().await.ok()
        } else {
            None
        };
        let label = priced.to_string();
        let edited = self
            .with_retries(&label, deadline, || editor.edit(&request))
            .await?;
        tracing::info!(billed = %priced, edit_seed = edited.seed, "art edited");
        Ok(Art {
            pixmap: edited.pixmap,
            seed: source.seed,
            model_ms: started.elapsed().as_millis() as u64,
            stored: None,
        })
    }

    /// Sets `spec`'s words over `art` and encodes the poster, and the art itself unless it is
    /// stored already; CPU work, under one of the CPU slots.
    async fn compose(&self, spec: &PosterSpec, art: &Art) -> Result<Composed, PipelineError> {
        let _slot = self.cpu_slots.acquire().await.ok();
        let text = spec.shown_text();
        let typography = spec.typography();
        let missing_glyphs = poster::missing_glyphs(&text, typography);
        let mut pixmap = art.pixmap.clone();
        let encode_art = art.stored.is_none();
        // A reviewer's explicit typography is set exactly where they put it; otherwise the words
        // go where the art leaves room (`poster::placement`).
        let zones = if spec.typography.is_some() {
            poster::Zones::Own
        } else {
            poster::Zones::Choose
        };
        let (png, art_png, width, height, arrangement) = marquee_core::cpu::background(move || {
            let art_png = if encode_art {
                Some(poster::encode_png(&pixmap)?)
            } else {
                None
            };
            let arrangement = if text.is_empty() {
                None
            } else {
                poster::compose_in(&mut pixmap, &text, typography, zones).arrangement()
            };
            poster::encode_png(&pixmap)
                .map(|png| (png, art_png, pixmap.width(), pixmap.height(), arrangement))
        })
        .await??;
        Ok(Composed {
            png,
            art_png,
            missing_glyphs,
            width,
            height,
            arrangement,
        })
    }

    /// Draws and composes the poster for `spec`, without storing it.
    pub async fn draw(
        &self,
        spec: &PosterSpec,
        deadline: Option<Instant>,
    ) -> Result<Drawn, PipelineError> {
        let started = Instant::now();
        let art = self.art(spec, deadline).await?;
        let composed = self.compose(spec, &art).await?;
        Ok(Drawn {
            png: composed.png,
            missing_glyphs: composed.missing_glyphs,
            seed: art.seed,
            width: composed.width,
            height: composed.height,
            total_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// Draws, composes and stores the poster for `spec` (its first take), and signs a link.
    pub async fn render(
        &self,
        id: Uuid,
        spec: &PosterSpec,
        requester: &Requester,
        public_url: Option<&str>,
        deadline: Option<Instant>,
    ) -> Result<Rendered, PipelineError> {
        let art = self.art(spec, deadline).await?;
        self.finish_take(id, spec, art, None, requester, public_url)
            .await
    }

    /// Composes `spec`'s words over `art`, stores the art (under this take's own key, also
    /// when it is the parent take's art unchanged) and the poster, keeps the take's record with its `lineage`, and signs a link.
    pub(super) async fn finish_take(
        &self,
        id: Uuid,
        spec: &PosterSpec,
        art: Art,
        lineage: Option<Lineage>,
        requester: &Requester,
        public_url: Option<&str>,
    ) -> Result<Rendered, PipelineError> {
        let composing = Instant::now();
        let Composed {
            png,
            art_png,
            missing_glyphs,
            width,
            height,
            arrangement,
        } = self.compose(spec, &art).await?;
        let compose_ms = composing.elapsed().as_millis() as u64;
        // Art reused from the parent take cost no model call this time.
        let drawn_ms = art.stored.is_none().then_some(art.model_ms);
        let now = OffsetDateTime::now_utc();
        let key = poster_key(id, now);
        let meta = ObjectMeta {
            prompt_sha256: hex::encode(sha2::Sha256::digest(spec.description.as_bytes())),
            model: spec.model.short_name().to_owned(),
            seed: art.seed,
            requester: requester.user_id.clone(),
        };
        let bytes = png.len();
        let stored = Instant::now();
        // Every take's art under its own key, written with the take: it lives as long as the
        // take's poster and record, whichever take it was first drawn for.
        let art_png = match (art.stored, art_png) {
            (Some(parents), _) => parents,
            (None, Some(art_png)) => art_png,
            (None, None) => unreachable!("art that is not stored is encoded to be stored"),
        };
        let art_key = art_key(id, now);
        self.store.put_png(&art_key, art_png, &meta).await?;
        self.store.put_png(&key, png.clone(), &meta).await?;
        // The record lets buttons on the message re-take the poster without carrying its spec.
        let record = PosterRecord {
            id,
            spec: PosterSpec {
                seed: Some(art.seed),
                ..spec.clone()
            },
            requester: requester.clone(),
            key: key.clone(),
            width,
            height,
            missing_glyphs: missing_glyphs.clone(),
            created_at: now.unix_timestamp(),
            approved_by: None,
            approved_at: None,
            art_key: Some(art_key),
            lineage,
            arrangement,
        };
        self.records.put_record(&record).await?;
        let store_ms = stored.elapsed().as_millis() as u64;
        let link = self.link(&key, public_url)?;
        tracing::info!(
            poster = %id,
            model = %spec.model,
            seed = art.seed,
            width,
            height,
            bytes,
            model_ms = art.model_ms,
            compose_ms,
            store_ms,
            "poster rendered"
        );
        if let Some(ms) = drawn_ms {
            self.metrics.stages(&[(Stage::Model, ms)]);
        }
        self.metrics
            .stages(&[(Stage::Compose, compose_ms), (Stage::Store, store_ms)]);
        Ok(Rendered {
            id,
            key,
            link,
            png,
            missing_glyphs,
            model: spec.model,
            seed: art.seed,
            width,
            height,
        })
    }

    /// The worker: does what `job` asks and reports to the requester however it ends.
    /// Runs in the job's span ([`Job::span`]): every line it logs carries the job's id.
    pub(crate) async fn run(&self, job: Job, deadline: Option<Instant>) -> Outcome {
        let span = job.span();
        async move {
            if job.reply_to == ReplyTo::Status {
                return self.run_for_status(&job, deadline).await;
            }
            self.run_slack(job, deadline, false).await
        }
        .instrument(span)
        .await
    }

    /// [`Self::run`] for a Slack job; `marker_held`: its run marker was taken already, by a
    /// run that stopped before doing anything billable or visible (see `run_queued`).
    async fn run_slack(&self, job: Job, deadline: Option<Instant>, marker_held: bool) -> Outcome {
        let work = async {
            if marker_held {
                return Some(self.do_task(&job, deadline).await);
            }
            match self.records.claim_run(&job).await {
                Ok(true) => Some(self.do_task(&job, deadline).await),
                Ok(false) => None,
                Err(e) => Some(Err((e, String::new()))),
            }
        };
        // Every call the task makes (model, store, Slack) ends before the cut-off, however
        // slow, so the failure message below always has its reserve.
        let finished = match deadline {
            Some(d) => tokio::time::timeout_at(d - FAILURE_RESERVE, work)
                .await
                .unwrap_or(Some(Err((PipelineError::Overran, String::new())))),
            None => work.await,
        };
        let Some(result) = finished else {
            tracing::warn!("a second delivery of a job that already ran; ignored");
            return Outcome::Duplicate;
        };
        let (error, description) = match result {
            Ok(outcome) => return outcome,
            Err(failure) => failure,
        };
        let explanation = error.explain();
        tracing::warn!(kind = explanation.kind, error = %ErrorChain(&error), "job failed");
        self.metrics.record(Event::Failure(error.failure()));
        let message = blocks::failure(explanation.headline, &explanation.advice, &description);
        let told = match deadline {
            Some(d) => tokio::time::timeout_at(d, self.say(&job, &message))
                .await
                .unwrap_or(Err(SlackError::OutOfTime)),
            None => self.say(&job, &message).await,
        };
        match told {
            Ok(()) => Outcome::FailedAndTold {
                kind: explanation.kind,
            },
            Err(slack) => {
                tracing::error!(kind = explanation.kind, error = %ErrorChain(&slack), "could not tell the requester that their job failed");
                Outcome::Undeliverable {
                    kind: explanation.kind,
                }
            }
        }
    }

    /// Does what `job` asks, once its run marker is taken.
    async fn do_task(
        &self,
        job: &Job,
        deadline: Option<Instant>,
    ) -> Result<Outcome, (PipelineError, String)> {
        match &job.task {
            Task::Poster { spec } => match self.step_requester(job).await {
                Ok(job) => self.new_poster(&job, spec, deadline).await,
                Err(told) => Ok(told),
            },
            Task::Retake { source, change } => self.retake(job, *source, change, deadline).await,
            Task::Approve { source } => self.approve(job, *source).await,
            Task::Usage => self.usage(job).await,
            Task::History => self.show_history(job).await,
            Task::Print { source } => self.print(job, *source, deadline).await,
            Task::Formats { source, formats } => {
                self.formats(job, *source, formats, deadline).await
            }
            Task::Note { text } => Ok(self
                .delivery
                .reply(job, &blocks::note_to_clicker(text), Outcome::Delivered)
                .await),
            Task::Home => self.show_home(job).await,
        }
    }

    /// Whether someone here can make a new poster's art from a picture used so, for `model`.
    pub(crate) fn can_use_picture(
        &self,
        model: ModelId,
        usage: marquee_core::job::PictureUse,
    ) -> bool {
        usage != marquee_core::job::PictureUse::RestyleLike && self.models.can(model, usage.kind())
    }

    /// A new poster: quota is reserved before the model is called, and a request over a
    /// limit is told so at once, with nothing generated or charged.
    async fn new_poster(
        &self,
        job: &Job,
        spec: &PosterSpec,
        deadline: Option<Instant>,
    ) -> Result<Outcome, (PipelineError, String)> {
        if let Some(why) = self.outsider_to_start(&job.requester) {
            tracing::info!("a new poster refused: the requester is outside the installation");
            let told = Outcome::FailedAndTold { kind: "Outsider" };
            return Ok(self
                .delivery
                .reply(job, &blocks::note_to_clicker(why), told)
                .await);
        }
        // The installation's brand kit applies to every new poster at once: it is read here,
        // by the worker, for each job.
        let kit = self
            .records
            .kit(&job.requester)
            .await
            .map_err(|e| (e, spec.description.clone()))?;
        if !kit.models.is_empty() && !kit.models.contains(&spec.model) {
            tracing::info!(model = %spec.model, "a new poster refused: the brand kit does not allow its model");
            let names: Vec<String> = kit
                .models
                .iter()
                .map(|m| format!("`{}`", m.short_name()))
                .collect();
            let why = format!(
                "🎨 This workspace's brand kit allows {} — not `{}`. Ask again with `--model {}`.",
                names.join(", "),
                spec.model.short_name(),
                kit.models[0].short_name()
            );
            let told = Outcome::FailedAndTold {
                kind: "ModelNotInKit",
            };
            return Ok(self
                .delivery
                .reply(job, &blocks::note_to_clicker(&why), told)
                .await);
        }
        let spec = &with_kit(spec, &kit);
        // A poster from a picture is the picture edited as its use asks (Style Guide or
        // image-to-image; offline, its palette), billed as whoever makes that edit.
        let (take, priced, note) = match &spec.picture {
            None => (Take::first(), Priced::Model(spec.model), None),
            Some(picture) => match self.first_take_from(spec, picture).await {
                Ok(planned) => planned,
                Err(e) => return Err((e, spec.description.clone())),
            },
        };
        let spec = &match priced {
            // Art of another model than asked (an editor standing in for a retired one) is
            // that model's, and says so, as a retake's does.
            Priced::Model(model) if model != spec.model => PosterSpec {
                model,
                ..spec.clone()
            },
            _ => spec.clone(),
        };
        let mut reservation = match self
            .metering
            .reserve_within(
                &job.requester,
                priced,
                1,
                kit.person_daily,
                kit.channel_daily,
            )
            .await
        {
            Ok(Reserved::Free) => None,
            Ok(Reserved::Taken(r)) => Some(r),
            Ok(Reserved::Refused(refusal)) => return Ok(self.tell_over_limit(job, &refusal).await),
            Err(e) => return Err((e, spec.description.clone())),
        };
        self.make_take(
            job,
            job.id,
            spec,
            take,
            note,
            deadline,
            reservation.as_mut(),
        )
        .await
    }

    /// The first take of a poster made from `picture`: its art is the stored picture edited
    /// as its use asks, by whoever here makes that edit for `spec`'s model; refused (before
    /// anything is reserved) when nobody here can, or the picture is no longer kept.
    async fn first_take_from(
        &self,
        spec: &PosterSpec,
        picture: &marquee_core::job::PictureRef,
    ) -> Result<(Take, Priced, Option<String>), PipelineError> {
        let kind = picture.usage.kind();
        // Restyling needs a take to restyle: a new poster only starts from a picture or
        // takes its style (the forms offer nothing else).
        let priced = self
            .models
            .editor(spec.model, kind)
            .map(|(priced, _)| priced)
            .filter(|_| picture.usage != marquee_core::job::PictureUse::RestyleLike)
            .ok_or_else(|| {
                PipelineError::Model(ModelError::Unsupported {
                    what: format!(
                        "{} cannot {} here",
                        spec.model.display_name(),
                        kind.describe()
                    ),
                })
            })?;
        let pixmap = Arc::new(self.reference(&picture.reference).await?);
        // Only a restyle keeps the picture in its edit, and a new poster is never one: the
        // pixels are not copied.
        let edit = picture.usage.edit(pixmap.clone());
        // The take's seed (kept with it, and the scene the offline generator derives from
        // it): the one asked for, else a fresh one, as a poster drawn from words gets.
        let source = Art {
            pixmap: Arc::unwrap_or_clone(pixmap),
            seed: spec
                .seed
                .unwrap_or_else(|| fastrand::u32(1..=spec.model.max_seed())),
            model_ms: 0,
            stored: None,
        };
        let take = Take {
            art: ArtPlan::Edit { source, edit },
            lineage: None,
        };
        let via = picture.via();
        let mut note = String::from("🖼️ ");
        let mut chars = via.chars();
        note.extend(chars.next().map(|c| c.to_ascii_uppercase()));
        note.push_str(chars.as_str());
        Ok((take, priced, Some(note)))
    }

    /// Makes one take — its art as `take.art` says, then the words, storage and record — and
    /// posts it. Errors carry the description for the failure message. With a `reservation`,
    /// the take is charged to it once the model has (or may have) billed for it, and refunded
    /// when the model made nothing Bedrock bills.
    #[allow(clippy::too_many_arguments)]
    async fn make_take(
        &self,
        job: &Job,
        id: Uuid,
        spec: &PosterSpec,
        take: Take,
        note: Option<String>,
        deadline: Option<Instant>,
        reservation: Option<&mut Reservation>,
    ) -> Result<Outcome, (PipelineError, String)> {
        let Take { art, lineage } = take;
        let art = match art {
            ArtPlan::Draw => self.art(spec, deadline).await,
            ArtPlan::Reuse(art) => Ok(art),
            ArtPlan::Edit { source, edit } => self.edit_art(spec, source, edit, deadline).await,
        };
        let rendered = match art {
            Ok(art) => {
                self.finish_take(
                    id,
                    spec,
                    art,
                    lineage,
                    &job.requester,
                    job.public_url.as_deref(),
                )
                .await
            }
            Err(e) => Err(e),
        };
        if let Some(reservation) = reservation {
            match &rendered {
                Err(e) if !e.may_be_billed() => self.metering.refund(reservation, 1).await,
                _ => self.metering.charge(reservation, job, id).await,
            }
        }
        let rendered = rendered.map_err(|e| (e, spec.description.clone()))?;
        let delivering = Instant::now();
        let outcome = self.deliver(job, spec, &rendered, note).await;
        if outcome == Outcome::Delivered {
            let ms = delivering.elapsed().as_millis() as u64;
            self.metrics.stages(&[(Stage::Deliver, ms)]);
            self.count_poster(spec);
        }
        Ok(outcome)
    }
}

/// `spec` as the installation's brand kit makes it: the kit's credits line on a poster with
/// words that gives none, and the kit's look and house palette for the type when the request
/// chose no typography (a reviewer's later choice in Edit words is theirs).
fn with_kit(spec: &PosterSpec, kit: &marquee_core::slack::settings::BrandKit) -> PosterSpec {
    let mut spec = spec.clone();
    let has_words = !spec.shown_text().is_empty();
    if spec.text.credits.is_none() && has_words {
        spec.text.credits = kit.credits.clone();
    }
    let ink = poster::Ink::from_palette(&kit.palette);
    if spec.typography.is_none() && (kit.look.is_some() || ink.is_some()) {
        // The kit's look set as the request's own would be (a CJK title in columns where the
        // look does that), in the kit's ink.
        let look = kit.look.unwrap_or(spec.style);
        let mut typography = PosterSpec {
            style: look,
            ..spec.clone()
        }
        .typography();
        typography.ink = ink;
        spec.typography = Some(typography);
    }
    spec
}

/// How a take's art is made.
enum ArtPlan {
    /// Drawn afresh by the spec's model.
    Draw,
    /// The parent's art, as stored: only the words change.
    Reuse(Art),
    /// The parent's art, edited by whoever [`Models::editor`] names for the spec's model.
    Edit { source: Art, edit: Edit },
}

/// What one take is made from: its art, and where it came from (`None` for a first take).
struct Take {
    art: ArtPlan,
    lineage: Option<Lineage>,
}

impl Take {
    fn first() -> Self {
        Take {
            art: ArtPlan::Draw,
            lineage: None,
        }
    }
}

/// For unit tests here and in the doors: log capture, and one way to serve a stand-in.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::{Arc, Mutex};

    /// Serves `app` on a fresh loopback port (the one test server, `marquee_core::testing`).
    pub(crate) use marquee_core::testing::serve;

    /// A pipeline with the offline model, a local store and state in `dir`, and Slack's
    /// replies allowed only to `origin`.
    pub(crate) fn offline_pipeline(dir: &std::path::Path, origin: &str) -> super::Pipeline {
        use std::time::Duration;

        use marquee_core::model::{ModelId, Models};
        use marquee_core::slack::SlackClient;
        use marquee_core::store::LinkSigner;

        super::Pipeline::new(
            Models::new().with(
                ModelId::Offline,
                Arc::new(marquee_core::model::offline::OfflineModel),
            ),
            Arc::new(marquee_core::store::local::LocalStore::open(dir).unwrap()),
            Arc::new(
                marquee_core::state::local::LocalState::open(dir.join("state.sqlite3")).unwrap(),
            ),
            SlackClient::new(
                marquee_core::slack::client::http_client().unwrap(),
                &[origin.to_owned()],
            ),
            LinkSigner::from_dir(dir).unwrap(),
            Duration::from_secs(60),
        )
        .with_public_url(Some("http://127.0.0.1:3000".to_owned()))
    }

    /// Log output kept in memory.
    #[derive(Clone, Default)]
    pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Captured {
        /// Everything logged so far, as text.
        pub(crate) fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Captured;

        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    /// Keeps this thread's log lines (info and above, as text) while the guards live.
    pub(crate) fn capture() -> (
        Captured,
        (tracing::subscriber::DefaultGuard, tracing::Dispatch),
    ) {
        let logs = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        // A second registered dispatcher, which sees nothing: with only one, `tracing` asks
        // just the registering thread's subscriber whether a new callsite is of interest, so
        // a line another test's thread logs first (with none) would be cached as of no
        // interest, and missing here.
        let second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        let default = tracing::subscriber::set_default(subscriber);
        tracing::callsite::rebuild_interest_cache();
        (logs, (default, second))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response_url server that takes every post.
    async fn slack_origin() -> String {
        super::testing::serve(axum::Router::new().fallback(|| async { "ok" })).await
    }

    /// Stands in for SD3.5 on Bedrock: varies art (returning its source) and records which
    /// model each edit's request names.
    struct Heir(std::sync::Mutex<Vec<ModelId>>);

    #[async_trait::async_trait]
    impl marquee_core::model::ImageModel for Heir {
        async fn generate(
            &self,
            _: &ImageRequest,
        ) -> Result<marquee_core::model::GeneratedImage, ModelError> {
            Err(ModelError::Throttled)
        }
        fn can(&self, kind: marquee_core::model::EditKind) -> bool {
            kind == marquee_core::model::EditKind::Vary
        }
        async fn edit(
            &self,
            request: &EditRequest,
        ) -> Result<marquee_core::model::GeneratedImage, ModelError> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(request.base.model);
            Ok(marquee_core::model::GeneratedImage {
                pixmap: (*request.source).clone(),
                seed: 1,
            })
        }
    }

    /// A call still out when the job's time runs out was sent: it is reported as abandoned
    /// (billed, Bedrock finishes it), made once; a call never sent is out of time (unbilled).
    #[tokio::test]
    async fn a_call_cut_off_by_the_deadline_is_abandoned_and_billed_once() {
        let dir = tempfile::tempdir().unwrap();
        let pipeline = Pipeline::new(
            Models::new(),
            Arc::new(marquee_core::store::local::LocalStore::open(dir.path()).unwrap()),
            Arc::new(
                marquee_core::state::local::LocalState::open(dir.path().join("state")).unwrap(),
            ),
            SlackClient::new(marquee_core::slack::client::http_client().unwrap(), &[]),
            LinkSigner::from_dir(dir.path()).unwrap(),
            Duration::from_secs(60),
        );
        let calls = std::sync::atomic::AtomicU32::new(0);
        let slow = || async {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(5)).await;
            Err(ModelError::Throttled)
        };
        let deadline = Instant::now() + DELIVERY_RESERVE + Duration::from_millis(200);
        let e = pipeline
            .with_retries("test", Some(deadline), slow)
            .await
            .unwrap_err();
        assert!(
            matches!(e, PipelineError::Model(ModelError::Abandoned { .. })),
            "{e:?}"
        );
        assert!(e.may_be_billed());
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        let never = pipeline
            .with_retries("test", Some(Instant::now()), slow)
            .await
            .unwrap_err();
        assert!(matches!(never, PipelineError::OutOfTime), "{never:?}");
        assert!(!never.may_be_billed());
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    /// A poster Amazon Nova Canvas drew before its end of life still varies: SD3.5
    /// image-to-image makes the new take, which is SD3.5's from then on. Regenerate, which
    /// needs new art from Nova itself, is told the model is retired.
    #[tokio::test]
    async fn a_retired_models_poster_is_varied_by_sd35() {
        use marquee_core::job::Change;
        use marquee_core::model::Strength;
        let dir = tempfile::tempdir().unwrap();
        let origin = slack_origin().await;
        let heir = Arc::new(Heir(std::sync::Mutex::new(Vec::new())));
        let pipeline = Pipeline::new(
            Models::new()
                .with(
                    ModelId::Offline,
                    Arc::new(marquee_core::model::offline::OfflineModel),
                )
                .with(ModelId::Sd35Large, heir.clone()),
            Arc::new(marquee_core::store::local::LocalStore::open(dir.path()).unwrap()),
            Arc::new(
                marquee_core::state::local::LocalState::open(dir.path().join("state")).unwrap(),
            ),
            SlackClient::new(
                marquee_core::slack::client::http_client().unwrap(),
                std::slice::from_ref(&origin),
            ),
            LinkSigner::from_dir(dir.path()).unwrap(),
            Duration::from_secs(60),
        )
        .with_public_url(Some("http://127.0.0.1:3000".into()));
        let reply_to = ReplyTo::response_url(format!("{origin}/commands/T1/1/secret"));
        let mut first = marquee_core::job::sample_job();
        first.reply_to = reply_to.clone();
        assert_eq!(pipeline.run(first.clone(), None).await, Outcome::Delivered);
        // The record as Nova Canvas left it.
        let mut record = pipeline.records().record(first.id).await.unwrap();
        record.spec.model = ModelId::NovaCanvas;
        pipeline.records().put_record(&record).await.unwrap();

        let retake = |change| {
            let mut job = marquee_core::job::sample_job();
            job.reply_to = reply_to.clone();
            job.task = Task::Retake {
                source: first.id,
                change,
            };
            job
        };
        let vary = Change::Vary {
            strength: Strength::Subtle,
        };
        assert_eq!(pipeline.run(retake(vary), None).await, Outcome::Delivered);
        assert_eq!(
            *heir.0.lock().unwrap(),
            [ModelId::Sd35Large],
            "one edit, and the new take is SD3.5's"
        );
        let outcome = pipeline.run(retake(Change::Regenerate), None).await;
        assert!(
            matches!(outcome, Outcome::FailedAndTold { .. }),
            "{outcome:?}"
        );
        assert_eq!(heir.0.lock().unwrap().len(), 1, "nothing else was called");
    }

    /// A delivered poster is counted by model and style with each stage's time; a failed job
    /// is counted once, by its kind, and makes no poster.
    #[tokio::test]
    async fn a_job_counts_its_poster_and_stages_or_its_failure() {
        use marquee_core::metrics::{Metric, Metrics};
        let dir = tempfile::tempdir().unwrap();
        let origin = slack_origin().await;
        let (metrics, recorded) = Metrics::recorded();
        let pipeline = Pipeline::new(
            Models::new().with(
                ModelId::Offline,
                Arc::new(marquee_core::model::offline::OfflineModel),
            ),
            Arc::new(marquee_core::store::local::LocalStore::open(dir.path()).unwrap()),
            Arc::new(
                marquee_core::state::local::LocalState::open(dir.path().join("state.sqlite3"))
                    .unwrap(),
            ),
            SlackClient::new(
                marquee_core::slack::client::http_client().unwrap(),
                std::slice::from_ref(&origin),
            ),
            LinkSigner::from_dir(dir.path()).unwrap(),
            Duration::from_secs(60),
        )
        .with_public_url(Some("http://127.0.0.1:3000".into()))
        .with_metrics(metrics);
        let job = |model| {
            let mut job = marquee_core::job::sample_job();
            job.reply_to = ReplyTo::response_url(format!("{origin}/commands/T1/1/secret"));
            if let Task::Poster { spec } = &mut job.task {
                spec.model = model;
            }
            job
        };

        assert_eq!(
            pipeline.run(job(ModelId::Offline), None).await,
            Outcome::Delivered
        );
        let posters = recorded.of(Metric::Poster);
        assert_eq!(posters.len(), 1);
        assert_eq!(
            (&posters[0]["Model"], &posters[0]["Style"]),
            (&"offline".into(), &"horror".into())
        );
        let stages: Vec<String> = recorded
            .of(Metric::StageTime)
            .iter()
            .map(|d| d["Stage"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(stages, ["model", "compose", "store", "deliver"]);
        assert!(recorded.of(Metric::Failure).is_empty());

        // A model this deployment does not offer: told, counted once, no poster.
        let outcome = pipeline.run(job(ModelId::Sd35Large), None).await;
        assert!(
            matches!(outcome, Outcome::FailedAndTold { .. }),
            "{outcome:?}"
        );
        let failures = recorded.of(Metric::Failure);
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0]["Kind"], "other");
        assert_eq!(recorded.of(Metric::Poster).len(), 1);
    }

    /// A new poster from a picture (the New poster form, a message's picture): its first take
    /// is the stored picture edited as asked (offline: the picture's palette), its record keeps
    /// the picture, and its message says so; a picture no longer kept, or a use a new poster
    /// cannot make (restyling: there is no take yet), is refused with no poster made.
    #[tokio::test]
    async fn a_new_poster_is_made_from_a_stored_picture_and_records_it() {
        use marquee_core::job::{PictureRef, PictureUse};
        let dir = tempfile::tempdir().unwrap();
        let origin = slack_origin().await;
        let pipeline = testing::offline_pipeline(dir.path(), &origin);
        let mut picture = tiny_skia::Pixmap::new(96, 64).unwrap();
        picture.fill(tiny_skia::Color::from_rgba8(20, 160, 220, 255));
        let key = "refs/2026/12/07/brand.png";
        let meta = ObjectMeta {
            prompt_sha256: String::new(),
            model: "reference".into(),
            seed: 0,
            requester: "U1".into(),
        };
        pipeline
            .store
            .put_png(key, picture.encode_png().unwrap(), &meta)
            .await
            .unwrap();
        let job = |usage, reference: &str| {
            let mut job = marquee_core::job::sample_job();
            job.id = Uuid::new_v4();
            job.reply_to = ReplyTo::response_url(format!("{origin}/commands/T1/1/secret"));
            if let Task::Poster { spec } = &mut job.task {
                spec.model = ModelId::Offline;
                spec.picture = Some(PictureRef {
                    usage,
                    reference: reference.into(),
                    name: "brand-2026.png".into(),
                });
            }
            job
        };
        let styled = job(PictureUse::StyleOf, key);
        assert_eq!(pipeline.run(styled.clone(), None).await, Outcome::Delivered);
        let record = pipeline.records.record(styled.id).await.unwrap();
        assert_eq!(
            record.spec.picture.as_ref().map(|p| p.via()),
            Some("in the style of brand-2026.png".to_owned())
        );
        assert_eq!(record.lineage, None, "a first take");
        // Offline formats re-draw a take's own scene, which this one is not: not offered.
        assert!(!pipeline.offers(&record.spec).formats);
        let words_only = PosterSpec {
            picture: None,
            ..record.spec.clone()
        };
        assert!(pipeline.offers(&words_only).formats);
        assert!(
            record.spec.seed.is_some_and(|s| s > 0),
            "a seed of its own, as a poster from words gets"
        );
        assert!(pipeline.can_use_picture(ModelId::Offline, PictureUse::StyleOf));
        assert!(!pipeline.can_use_picture(ModelId::Offline, PictureUse::RestyleLike));

        for refused in [
            job(PictureUse::StyleOf, "refs/2026/12/07/gone.png"),
            job(PictureUse::StyleOf, "posters/not-a-reference.png"),
            job(PictureUse::RestyleLike, key),
        ] {
            let id = refused.id;
            let outcome = pipeline.run(refused, None).await;
            assert!(
                matches!(outcome, Outcome::FailedAndTold { .. }),
                "{outcome:?}"
            );
            assert!(pipeline.records.record(id).await.is_err(), "no poster made");
        }
    }

    /// Formats… (#26): each format of a take is made once, each PNG its format's size. A
    /// first click asks two formats (two files and their contact sheet); a second asks the
    /// whole set, a superset, and makes only the four new ones (and the set's sheet), the two
    /// files made before untouched; a third makes nothing. A varied take, whose art is not its
    /// seed's scene, is told so and makes nothing.
    #[tokio::test]
    async fn a_takes_formats_are_made_once_each_and_a_superset_makes_only_the_new_ones() {
        use marquee_core::poster::Format;
        let dir = tempfile::tempdir().unwrap();
        let origin = slack_origin().await;
        let pipeline = testing::offline_pipeline(dir.path(), &origin);
        let reply = ReplyTo::response_url(format!("{origin}/commands/T1/1/secret"));
        let mut first = marquee_core::job::sample_job();
        first.reply_to = reply.clone();
        assert_eq!(pipeline.run(first.clone(), None).await, Outcome::Delivered);
        let pngs = |dir: &std::path::Path| {
            fn walk(d: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
                for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        walk(&p, out);
                    } else if p.to_string_lossy().contains("format")
                        && p.extension().is_some_and(|e| e == "png")
                    {
                        out.push(p);
                    }
                }
            }
            let mut out = Vec::new();
            walk(&dir.join("prints"), &mut out);
            out.sort();
            out
        };
        let click = |id, formats: &[Format]| {
            let mut job = marquee_core::job::sample_job();
            job.reply_to = reply.clone();
            job.task = Task::Formats {
                source: id,
                formats: formats.to_vec(),
            };
            job
        };
        let written = |files: &[std::path::PathBuf]| -> Vec<std::time::SystemTime> {
            files
                .iter()
                .map(|p| std::fs::metadata(p).unwrap().modified().unwrap())
                .collect()
        };
        let two = [Format::Story, Format::Square];
        assert_eq!(
            pipeline.run(click(first.id, &two), None).await,
            Outcome::Delivered
        );
        let made_two = pngs(dir.path());
        assert_eq!(
            made_two.len(),
            3,
            "two formats and their sheet: {made_two:?}"
        );
        let before = written(&made_two);
        let of = |id| pipeline.records().made_formats(id, &Format::ALL);
        let recorded_two = of(first.id).await.unwrap();
        assert_eq!(
            recorded_two.iter().map(|(f, _)| *f).collect::<Vec<_>>(),
            [Format::Square, Format::Story]
        );

        assert_eq!(
            pipeline.run(click(first.id, &Format::ALL), None).await,
            Outcome::Delivered
        );
        let made = pngs(dir.path());
        // Four new formats and the whole set's sheet; the two made before are kept as they were.
        assert_eq!(made.len(), 3 + 4 + 1, "{made:?}");
        assert_eq!(
            written(&made_two),
            before,
            "a format made before was made again"
        );
        for f in Format::ALL {
            let file = made
                .iter()
                .find(|p| {
                    p.to_string_lossy()
                        .ends_with(&format!("format-{}.png", f.name()))
                })
                .unwrap_or_else(|| panic!("no {f} in {made:?}"));
            let png =
                marquee_core::model::image::decode_image(&std::fs::read(file).unwrap()).unwrap();
            assert_eq!((png.width(), png.height()), f.size(), "{f}");
        }
        let recorded = of(first.id).await.unwrap();
        assert_eq!(recorded.len(), 6);
        for (format, file) in &recorded_two {
            assert!(recorded.contains(&(*format, file.clone())), "{format}");
        }
        // A third click makes nothing new (no file written again) and gets the same files.
        let before = written(&made);
        assert_eq!(
            pipeline.run(click(first.id, &Format::ALL), None).await,
            Outcome::Delivered
        );
        assert_eq!(pngs(dir.path()), made);
        assert_eq!(written(&made), before);
        assert_eq!(of(first.id).await.unwrap(), recorded);

        // A varied take's art is not its seed's scene: told, and nothing is made.
        let mut vary = marquee_core::job::sample_job();
        vary.reply_to = reply.clone();
        vary.task = Task::Retake {
            source: first.id,
            change: marquee_core::job::Change::Vary {
                strength: marquee_core::model::Strength::Strong,
            },
        };
        assert_eq!(pipeline.run(vary.clone(), None).await, Outcome::Delivered);
        let varied = pipeline
            .records()
            .history(&vary.requester, 1)
            .await
            .unwrap()
            .remove(0);
        assert_ne!(varied.id, first.id);
        assert_eq!(
            pipeline.run(click(varied.id, &Format::ALL), None).await,
            Outcome::FailedAndTold {
                kind: "NotAPlainRender"
            }
        );
        assert!(of(varied.id).await.unwrap().is_empty());
        assert_eq!(pngs(dir.path()), made);
    }

    /// Edit words sets a look and a placement from its form, which knows nothing of the brand
    /// kit's house ink: the take keeps the ink its poster was made with.
    #[tokio::test]
    async fn an_edit_words_take_keeps_the_house_ink() {
        let dir = tempfile::tempdir().unwrap();
        let origin = slack_origin().await;
        let pipeline = testing::offline_pipeline(dir.path(), &origin);
        let reply = ReplyTo::response_url(format!("{origin}/commands/T1/1/secret"));
        let ink = marquee_core::poster::Ink::from_palette(&["#f2c14e".into(), "#fafafa".into()]);
        let mut first = marquee_core::job::sample_job();
        first.reply_to = reply.clone();
        let Task::Poster { spec } = &mut first.task else {
            panic!("the sample job makes a poster")
        };
        let mut inked = spec.typography();
        inked.ink = ink;
        spec.typography = Some(inked);
        assert_eq!(pipeline.run(first.clone(), None).await, Outcome::Delivered);
        let parent = pipeline.records().record(first.id).await.unwrap();
        assert_eq!(parent.spec.typography.and_then(|t| t.ink), ink);

        let mut edit = marquee_core::job::sample_job();
        edit.reply_to = reply;
        let mut from_the_form = parent.spec.typography();
        from_the_form.ink = None;
        edit.task = Task::Retake {
            source: first.id,
            change: marquee_core::job::Change::EditWords {
                text: marquee_core::poster::PosterText {
                    title: Some("The Second Reel".into()),
                    ..Default::default()
                },
                typography: from_the_form,
            },
        };
        assert_eq!(pipeline.run(edit.clone(), None).await, Outcome::Delivered);
        let child = pipeline
            .records()
            .history(&edit.requester, 1)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(child.spec.typography.and_then(|t| t.ink), ink);
    }

    /// A take that changes only the words keeps a copy of its parent's art under its own key
    /// (#22, item 8): the bucket expires `art/` by object age, so when the parent's art object
    /// is gone (here deleted, as the lifecycle rule would at the parent's age) the later take
    /// can still be edited, varied and printed from its own.
    #[tokio::test]
    async fn an_edit_words_take_keeps_its_own_art_past_its_parents() {
        let dir = tempfile::tempdir().unwrap();
        let origin = slack_origin().await;
        let pipeline = testing::offline_pipeline(dir.path(), &origin);
        let reply = ReplyTo::response_url(format!("{origin}/commands/T1/1/secret"));
        let mut first = marquee_core::job::sample_job();
        first.reply_to = reply.clone();
        assert_eq!(pipeline.run(first.clone(), None).await, Outcome::Delivered);
        let parent = pipeline.records().record(first.id).await.unwrap();

        let mut edit = marquee_core::job::sample_job();
        edit.reply_to = reply;
        edit.task = Task::Retake {
            source: first.id,
            change: marquee_core::job::Change::EditWords {
                text: marquee_core::poster::PosterText {
                    title: Some("The Second Reel".into()),
                    ..Default::default()
                },
                typography: parent.spec.typography(),
            },
        };
        assert_eq!(pipeline.run(edit.clone(), None).await, Outcome::Delivered);
        let child = pipeline
            .records()
            .history(&edit.requester, 1)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(child.lineage.as_ref().map(|l| l.parent), Some(first.id));
        let (parent_art, child_art) = (parent.art_key.unwrap(), child.art_key.clone().unwrap());
        assert_ne!(parent_art, child_art, "each take has its own art object");
        assert!(child_art.contains(&child.id.to_string()), "{child_art}");
        let parent_bytes = std::fs::read(dir.path().join(&parent_art)).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join(&child_art)).unwrap(),
            parent_bytes,
            "the same art, copied as stored"
        );

        // The parent's art expires with the parent; the later take's outlives it.
        std::fs::remove_file(dir.path().join(&parent_art)).unwrap();
        let (_, pixmap) = pipeline.take_with_art(child.id).await.unwrap();
        assert!(pixmap.width() > 0);
        assert!(matches!(
            pipeline.take_with_art(first.id).await,
            Err(PipelineError::NoArt(_))
        ));
    }

    #[test]
    fn prompts_carry_the_style_and_the_negatives() {
        let spec = PosterSpec {
            picture: None,
            description: "a lighthouse keeper.".into(),
            text: Default::default(),
            style: marquee_core::genre::Style::Noir,
            aspect: Default::default(),
            seed: None,
            avoid: Some("boats".into()),
            model: ModelId::Sd35Large,
            typography: None,
        };
        let r = Pipeline::image_request(&spec, 9);
        assert!(
            r.prompt.starts_with("a lighthouse keeper. film noir"),
            "{}",
            r.prompt
        );
        let neg = r.negative_prompt.unwrap();
        assert!(
            neg.starts_with(DEFAULT_NEGATIVE) && neg.ends_with("boats"),
            "{neg}"
        );
        assert_eq!(r.seed, 9);
    }

    /// A description in another language keeps its words, and the look its cues chose is
    /// asked for in English: the style's suffix follows it into the prompt.
    #[test]
    fn a_japanese_description_gets_the_horror_look_in_english() {
        let description = "幽霊屋敷の夜";
        let spec = PosterSpec {
            picture: None,
            description: description.into(),
            text: Default::default(),
            style: marquee_core::request::choose_style(None, description).unwrap(),
            aspect: Default::default(),
            seed: None,
            avoid: None,
            model: ModelId::Sd35Large,
            typography: None,
        };
        let r = Pipeline::image_request(&spec, 9);
        assert_eq!(
            r.prompt,
            format!(
                "{description}. {}",
                marquee_core::genre::Style::Horror.prompt_suffix()
            )
        );
    }
}
