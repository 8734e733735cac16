//! The pipeline: spec → art → poster → stored object → link → Slack message.
//!
//! [`Pipeline::render`] does the work for both front doors (the worker behind Slack, and the
//! synchronous REST route); `Pipeline::run` is the worker: it renders a [`Job`] and delivers
//! the result, or tells the requester exactly what went wrong. It never returns an error for a
//! job whose requester was told, so Lambda never retries (and re-bills, and re-posts) a job.
//! `PipelineError::explain` is the one place where failures become words for people.

use std::sync::Arc;
use std::time::Duration;

use sha2::Digest;
use time::OffsetDateTime;
use tokio::time::Instant;
use uuid::Uuid;

use crate::errors::ErrorChain;
use crate::job::{Change, Job, PosterRecord, PosterSpec, ReplyTo, Requester, Task};
use crate::model::{FilterStage, ImageRequest, ModelError, ModelId, Models};
use crate::poster::{self, PosterError};
use crate::slack::blocks::{self, PosterResult};
use crate::slack::web::WebClient;
use crate::slack::{SlackClient, SlackError};
use crate::store::{Link, LinkSigner, ObjectMeta, ObjectStore, StoreError, poster_key};

mod unfinished;

pub(crate) use unfinished::{Notice, Unfinished};

/// What every AI prompt avoids, whatever the style: garbled lettering above all, since Marquee
/// sets real type itself.
const DEFAULT_NEGATIVE: &str = "text, letters, words, typography, watermark, signature, logo, caption, blurry, low quality, deformed";

/// A retake lock older than this is left over from a crash and may be taken over.
const LOCK_STALE_SECS: i64 = 15 * 60;

/// The kind of an [`Outcome::Undeliverable`] whose `response_url` Slack refused (expired, used
/// up, not allowed): no later message to it can get through either.
pub(crate) const SLACK_REFUSED: &str = "SlackRejected";

/// Time kept back from a deadline for storing the poster and posting to Slack.
const DELIVERY_RESERVE: Duration = Duration::from_secs(8);

/// How model calls are retried.
#[derive(Debug, Clone, Copy)]
struct RetryPolicy {
    /// Attempts in all, for throttling and unavailability.
    attempts: u32,
    /// Attempts in all, for timeouts (each one may take the whole timeout).
    timeout_attempts: u32,
    base: Duration,
    cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            timeout_attempts: 2,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// "Full jitter" backoff: a random wait up to an exponentially growing ceiling, so that
    /// many throttled workers do not retry in lockstep.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.cap);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(millis / 2..=millis.max(1)))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("model {0} is not configured here")]
    ModelNotConfigured(ModelId),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("could not compose the poster")]
    Poster(#[from] PosterError),
    #[error("could not store the poster")]
    Store(#[from] StoreError),
    #[error("could not take or check the poster's retake lock")]
    Lock(#[source] StoreError),
    #[error("no public URL is known to serve poster links under")]
    NoPublicUrl,
    #[error("a rendering task failed")]
    Task(#[from] tokio::task::JoinError),
    #[error("ran out of time before the model answered")]
    OutOfTime,
    #[error("poster {0} has no stored record")]
    UnknownPoster(Uuid),
    #[error("a poster record could not be read or written")]
    Record(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What kind of failure it was, for whoever turns it into a protocol's terms (the REST door's
/// status codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// The request cannot be served as asked (a filtered prompt, settings the model refuses).
    Refused,
    /// The request names something this deployment does not offer.
    NotOffered,
    /// The poster asked about is no longer kept.
    Gone,
    /// A service is busy or briefly unavailable: trying again later works.
    Busy,
    /// A service took too long.
    TimedOut,
    /// A service failed or refused us (access, configuration, a bad answer).
    Upstream,
    /// Marquee itself failed.
    Internal,
}

/// A failure in words: a headline, what to do, and what kind of failure it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Explanation {
    pub(crate) headline: &'static str,
    pub(crate) advice: String,
    pub(crate) cause: Cause,
    /// A stable name for logs, metrics and Lambda's `errorType`.
    pub(crate) kind: &'static str,
}

impl PipelineError {
    /// What the requester is told. User-caused problems say how to fix them; service problems
    /// say when to try again; configuration problems say to ask the admin.
    pub(crate) fn explain(&self) -> Explanation {
        let e = |headline, advice: &str, cause, kind| Explanation {
            headline,
            advice: advice.to_owned(),
            cause,
            kind,
        };
        match self {
            PipelineError::Model(m) => match m {
                ModelError::Filtered {
                    stage: FilterStage::Prompt,
                    ..
                } => e(
                    "The image model's safety filter declined this description.",
                    "Try rephrasing it — describe the scene without graphic or sensitive details. Nothing was charged for the blocked request.",
                    Cause::Refused,
                    m.kind(),
                ),
                ModelError::Filtered {
                    stage: FilterStage::Output,
                    ..
                } => e(
                    "The image model's safety filter blocked the picture it made.",
                    "Run the same command again for a new seed, or soften the description.",
                    Cause::Refused,
                    m.kind(),
                ),
                ModelError::Throttled => e(
                    "The image model is busy right now (too many requests).",
                    "Please try again in a minute.",
                    Cause::Busy,
                    m.kind(),
                ),
                ModelError::Unavailable { .. } => e(
                    "The image model is having trouble right now.",
                    "Please try again in a few minutes.",
                    Cause::Busy,
                    m.kind(),
                ),
                ModelError::Timeout { .. } => e(
                    "The image model took too long to answer.",
                    "Please try again; a shorter description or `--model core` is usually faster.",
                    Cause::TimedOut,
                    m.kind(),
                ),
                // Configuration, not the request: the advice names the admin and never the
                // user's settings, and says which region was called so the admin can act.
                ModelError::AccessDenied { region, .. } => e(
                    "This workspace's AWS account can't use that image model yet.",
                    &format!(
                        "Ask your Marquee admin to enable model access in Amazon Bedrock in {region} (see docs/INSTALL.md), or try another `--model`."
                    ),
                    Cause::Upstream,
                    m.kind(),
                ),
                ModelError::NotInRegion { region, .. } => e(
                    "That image model is not available in the AWS region Marquee calls it in.",
                    &format!(
                        "Amazon Bedrock does not serve it in {region}. Ask your Marquee admin to set the model's region (see docs/INSTALL.md), or try another `--model`."
                    ),
                    Cause::Upstream,
                    m.kind(),
                ),
                ModelError::QuotaExceeded { .. } => e(
                    "This AWS account has reached its image-model quota.",
                    "Try again later, or ask your Marquee admin to raise the Bedrock quota.",
                    Cause::Busy,
                    m.kind(),
                ),
                ModelError::Invalid { .. } => e(
                    "The image model refused these settings.",
                    "Try a different `--ar` or `--model`; if it keeps happening, tell your Marquee admin.",
                    Cause::Refused,
                    m.kind(),
                ),
                ModelError::Malformed { .. } | ModelError::Other(_) => e(
                    "Something went wrong while generating the poster.",
                    "Please try again; if it keeps happening, tell your Marquee admin.",
                    Cause::Upstream,
                    m.kind(),
                ),
            },
            PipelineError::OutOfTime => e(
                "The image model took too long to answer.",
                "Please try again in a minute.",
                Cause::TimedOut,
                "OutOfTime",
            ),
            PipelineError::ModelNotConfigured(_) => e(
                "That model isn't set up on this Marquee.",
                "Type `/poster help` to see the models you can use.",
                Cause::NotOffered,
                "ModelNotConfigured",
            ),
            PipelineError::Store(_) => e(
                "The poster was made but could not be saved.",
                "Please try again; if it keeps happening, tell your Marquee admin (storage).",
                Cause::Upstream,
                "StoreFailed",
            ),
            PipelineError::Lock(_) => e(
                "Marquee couldn't start a new take of this poster.",
                "Nothing was generated or charged. Please click again in a moment; if it keeps happening, tell your Marquee admin (storage).",
                Cause::Busy,
                "LockFailed",
            ),
            PipelineError::NoPublicUrl => e(
                "Marquee doesn't know its own address, so it can't link to the poster.",
                "Tell your Marquee admin to set MARQUEE_PUBLIC_URL.",
                Cause::Internal,
                "NoPublicUrl",
            ),
            PipelineError::UnknownPoster(_) => e(
                "Marquee no longer has that poster's details.",
                "Its record may have passed the retention period; start a new one with `/poster`.",
                Cause::Gone,
                "UnknownPoster",
            ),
            PipelineError::Record(_) => e(
                "Marquee couldn't read that poster's details.",
                "Please try again; if it keeps happening, tell your Marquee admin (storage).",
                Cause::Upstream,
                "RecordFailed",
            ),
            PipelineError::Poster(_) | PipelineError::Task(_) => e(
                "Something went wrong while composing the poster.",
                "Please try again; if it keeps happening, tell your Marquee admin.",
                Cause::Internal,
                "ComposeFailed",
            ),
        }
    }
}

/// A finished, stored poster.
#[derive(Clone)]
pub struct Rendered {
    id: Uuid,
    pub(crate) key: String,
    pub link: Link,
    /// The PNG itself, for uploading into Slack.
    pub png: Vec<u8>,
    missing_glyphs: Vec<char>,
    pub(crate) model: ModelId,
    pub(crate) seed: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

/// A composed poster, not yet stored.
#[derive(Debug, Clone)]
pub(crate) struct Drawn {
    pub(crate) png: Vec<u8>,
    /// Characters of the lettering that no embedded face can draw, left out of the poster.
    pub(crate) missing_glyphs: Vec<char>,
    pub(crate) seed: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
    model_ms: u64,
    pub(crate) total_ms: u64,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The poster was posted to Slack.
    Delivered,
    /// The job failed and the requester was told why.
    FailedAndTold { kind: &'static str },
    /// Slack could not be reached to deliver the poster or the failure: the one case that is
    /// an error for the runtime, so it shows in Lambda's error metrics.
    Undeliverable { kind: &'static str },
}

pub struct Pipeline {
    models: Models,
    store: Arc<dyn ObjectStore>,
    slack: SlackClient,
    /// The Web API, when the workspace gave Marquee a bot token.
    web: Option<WebClient>,
    /// Bounds how many posters are drawn and composed at once (one per core).
    cpu_slots: tokio::sync::Semaphore,
    links: LinkSigner,
    /// Where links are served when a job does not say (a configured or local address).
    public_url: Option<String>,
    link_ttl: Duration,
    retry: RetryPolicy,
}

impl Pipeline {
    pub fn new(
        models: Models,
        store: Arc<dyn ObjectStore>,
        slack: SlackClient,
        links: LinkSigner,
        link_ttl: Duration,
    ) -> Self {
        Self {
            models,
            store,
            slack,
            web: None,
            cpu_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
            links,
            public_url: None,
            link_ttl,
            retry: RetryPolicy::default(),
        }
    }

    /// Delivers through the Web API (threads, uploads) where it can, with this client.
    pub(crate) fn with_web(mut self, web: WebClient) -> Self {
        self.web = Some(web);
        self
    }

    /// Serves links under `public_url` when a job names no address of its own.
    pub fn with_public_url(mut self, public_url: Option<String>) -> Self {
        self.public_url = public_url;
        self
    }

    pub(crate) fn slack(&self) -> &SlackClient {
        &self.slack
    }

    /// A fresh link to the stored poster `key`, served under `public_url` (or the configured
    /// address), valid for the configured time from now.
    fn link(&self, key: &str, public_url: Option<&str>) -> Result<Link, PipelineError> {
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

    async fn generate(
        &self,
        request: &ImageRequest,
        deadline: Option<Instant>,
    ) -> Result<crate::model::GeneratedImage, PipelineError> {
        let model = self
            .models
            .get(request.model)
            .ok_or(PipelineError::ModelNotConfigured(request.model))?;
        let mut attempt = 0;
        let mut timeouts = 0;
        loop {
            attempt += 1;
            let call = model.generate(request);
            let result = match deadline {
                Some(d) => {
                    let left = d
                        .saturating_duration_since(Instant::now())
                        .saturating_sub(DELIVERY_RESERVE);
                    if left.is_zero() {
                        return Err(PipelineError::OutOfTime);
                    }
                    match tokio::time::timeout(left, call).await {
                        Ok(r) => r,
                        Err(_) => return Err(PipelineError::OutOfTime),
                    }
                }
                None => call.await,
            };
            let error = match result {
                Ok(image) => return Ok(image),
                Err(e) => e,
            };
            if matches!(error, ModelError::Timeout { .. }) {
                timeouts += 1;
            }
            let may_retry = error.is_retryable()
                && attempt < self.retry.attempts
                && timeouts < self.retry.timeout_attempts.max(1);
            if !may_retry {
                return Err(error.into());
            }
            let wait = self.retry.backoff(attempt);
            if let Some(d) = deadline {
                if Instant::now() + wait + DELIVERY_RESERVE >= d {
                    return Err(error.into());
                }
            }
            tracing::warn!(model = %request.model, attempt, kind = error.kind(), wait_ms = wait.as_millis() as u64, "model call failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// Draws and composes the poster for `spec`, without storing it.
    pub(crate) async fn draw(
        &self,
        spec: &PosterSpec,
        deadline: Option<Instant>,
    ) -> Result<Drawn, PipelineError> {
        let seed = spec
            .seed
            .unwrap_or_else(|| fastrand::u32(1..=spec.model.max_seed()));
        let request = Self::image_request(spec, seed);
        let started = Instant::now();
        // Drawing and composing are CPU work on blocking threads, each holding a few
        // megapixels: without a bound, a burst of jobs starts them all at once and memory
        // follows (measured: 8 GB for 1,000 queued offline jobs). The offline generator is all
        // CPU, so it holds a slot throughout; a Bedrock call waits on the network without one.
        let offline_slot = if spec.model == ModelId::Offline {
            self.cpu_slots.acquire().await.ok()
        } else {
            None
        };
        let art = self.generate(&request, deadline).await?;
        let model_ms = started.elapsed().as_millis() as u64;
        let _slot = match offline_slot {
            Some(slot) => Some(slot),
            None => self.cpu_slots.acquire().await.ok(),
        };

        // The offline generator always composes a full poster; AI art is delivered clean unless
        // the user asked for words on it.
        let mut text = spec.text.clone();
        if spec.model == ModelId::Offline && text.title.is_none() {
            text.title = Some(poster::default_title(&spec.description));
        }
        let style = spec.style;
        let seed = art.seed;
        let missing_glyphs = poster::missing_glyphs(&text, style);
        let mut pixmap = art.pixmap;
        let (png, width, height) = tokio::task::spawn_blocking(move || {
            if !text.is_empty() {
                poster::compose(&mut pixmap, &text, style);
            }
            poster::encode_png(&pixmap).map(|png| (png, pixmap.width(), pixmap.height()))
        })
        .await??;
        Ok(Drawn {
            png,
            missing_glyphs,
            seed,
            width,
            height,
            model_ms,
            total_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// Draws, composes and stores the poster for `spec`, and signs a link to it.
    pub async fn render(
        &self,
        id: Uuid,
        spec: &PosterSpec,
        requester: &Requester,
        public_url: Option<&str>,
        deadline: Option<Instant>,
    ) -> Result<Rendered, PipelineError> {
        let drawn = self.draw(spec, deadline).await?;
        let Drawn {
            png,
            missing_glyphs,
            seed,
            width,
            height,
            model_ms,
            total_ms,
        } = drawn;
        let key = poster_key(id, OffsetDateTime::now_utc());
        let meta = ObjectMeta {
            prompt_sha256: hex::encode(sha2::Sha256::digest(spec.description.as_bytes())),
            model: spec.model.short_name().to_owned(),
            seed,
            requester: requester.user_id.clone(),
        };
        let bytes = png.len();
        let stored = Instant::now();
        self.store.put_png(&key, png.clone(), &meta).await?;
        // The record lets buttons on the message re-take the poster without carrying its spec.
        let record = PosterRecord {
            id,
            spec: PosterSpec {
                seed: Some(seed),
                ..spec.clone()
            },
            requester: requester.clone(),
            key: key.clone(),
            width,
            height,
            missing_glyphs: missing_glyphs.clone(),
            created_at: OffsetDateTime::now_utc().unix_timestamp(),
            approved_by: None,
            approved_at: None,
        };
        self.put_record(&record).await?;
        let link = self.link(&key, public_url)?;
        tracing::info!(
            job = %id,
            model = %spec.model,
            seed,
            width,
            height,
            bytes,
            model_ms,
            draw_ms = total_ms,
            store_ms = stored.elapsed().as_millis() as u64,
            "poster rendered"
        );
        Ok(Rendered {
            id,
            key,
            link,
            png,
            missing_glyphs,
            model: spec.model,
            seed,
            width,
            height,
        })
    }

    async fn put_record(&self, record: &PosterRecord) -> Result<(), PipelineError> {
        let json = serde_json::to_vec(record).map_err(|e| PipelineError::Record(Box::new(e)))?;
        self.store
            .put_json(&PosterRecord::key(record.id), json)
            .await?;
        Ok(())
    }

    async fn record(&self, id: Uuid) -> Result<PosterRecord, PipelineError> {
        let bytes = self
            .store
            .get(&PosterRecord::key(id))
            .await?
            .ok_or(PipelineError::UnknownPoster(id))?;
        serde_json::from_slice(&bytes).map_err(|e| PipelineError::Record(Box::new(e)))
    }

    /// The worker: does what `job` asks and reports to the requester however it ends.
    pub(crate) async fn run(&self, job: Job, deadline: Option<Instant>) -> Outcome {
        let ReplyTo::SlackResponseUrl { response_url, .. } = &job.reply_to;
        let result = match &job.task {
            Task::Poster { spec } => {
                self.make_and_deliver(&job, job.id, spec, None, deadline)
                    .await
            }
            Task::Retake { source, change } => self.retake(&job, *source, *change, deadline).await,
            Task::Approve { source } => self.approve(&job, *source).await,
        };
        let (error, description) = match result {
            Ok(outcome) => return outcome,
            Err(failure) => failure,
        };
        let explanation = error.explain();
        tracing::warn!(job = %job.id, kind = explanation.kind, error = %ErrorChain(&error), "job failed");
        let message = blocks::failure(explanation.headline, &explanation.advice, &description);
        match self.slack.respond(response_url, &message).await {
            Ok(()) => Outcome::FailedAndTold {
                kind: explanation.kind,
            },
            Err(slack) => {
                tracing::error!(job = %job.id, kind = explanation.kind, error = %ErrorChain(&slack), "could not tell the requester that their job failed");
                Outcome::Undeliverable {
                    kind: explanation.kind,
                }
            }
        }
    }

    /// Renders one poster and posts it. Errors carry the description for the failure message.
    async fn make_and_deliver(
        &self,
        job: &Job,
        id: Uuid,
        spec: &PosterSpec,
        note: Option<String>,
        deadline: Option<Instant>,
    ) -> Result<Outcome, (PipelineError, String)> {
        let rendered = self
            .render(
                id,
                spec,
                &job.requester,
                job.public_url.as_deref(),
                deadline,
            )
            .await
            .map_err(|e| (e, spec.description.clone()))?;
        Ok(self.deliver(job, spec, &rendered, note).await)
    }

    /// Another take on a stored poster. One take per poster runs at a time: a second click
    /// while one is running is told so instead of paying for a duplicate.
    async fn retake(
        &self,
        job: &Job,
        source: Uuid,
        change: Change,
        deadline: Option<Instant>,
    ) -> Result<Outcome, (PipelineError, String)> {
        let ReplyTo::SlackResponseUrl { response_url, .. } = &job.reply_to;
        let record = self.record(source).await.map_err(|e| (e, String::new()))?;
        let description = record.spec.description.clone();
        let lock = format!("locks/{source}.json");
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let stamp = serde_json::json!({"job": job.id, "at": now})
            .to_string()
            .into_bytes();
        let mut acquired = self
            .store
            .put_json_if_absent(&lock, stamp.clone())
            .await
            .map_err(|e| (PipelineError::Lock(e), description.clone()))?;
        if !acquired {
            // A lock older than any job can run is left over from a crash: take it over.
            let held_since = self
                .store
                .get(&lock)
                .await
                .ok()
                .flatten()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| v["at"].as_i64())
                .unwrap_or(now);
            if now - held_since > LOCK_STALE_SECS {
                self.store
                    .delete(&lock)
                    .await
                    .map_err(|e| (PipelineError::Lock(e), description.clone()))?;
                acquired = self
                    .store
                    .put_json_if_absent(&lock, stamp)
                    .await
                    .map_err(|e| (PipelineError::Lock(e), description.clone()))?;
            }
        }
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
                .make_and_deliver(job, Uuid::new_v4(), &spec, note, deadline)
                .await
            {
                Ok(Outcome::Delivered) => {}
                other => {
                    outcome = other;
                    break;
                }
            }
        }
        if let Err(e) = self.store.delete(&lock).await {
            tracing::warn!(job = %job.id, error = %ErrorChain(&e), "could not release the retake lock; it expires on its own");
        }
        outcome
    }

    /// Records the approval with the stored poster and shows it on the message, rebuilt from
    /// the record with a fresh link. When Slack will not update the message, the approver is
    /// told that the approval stands anyway.
    async fn approve(&self, job: &Job, source: Uuid) -> Result<Outcome, (PipelineError, String)> {
        let ReplyTo::SlackResponseUrl { response_url, .. } = &job.reply_to;
        let mut record = self.record(source).await.map_err(|e| (e, String::new()))?;
        let description = record.spec.description.clone();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        record.approved_by = Some(job.requester.user_id.clone());
        record.approved_at = Some(now);
        self.put_record(&record)
            .await
            .map_err(|e| (e, description.clone()))?;
        tracing::info!(job = %job.id, %source, "poster approved");
        let link = self
            .link(&record.key, job.public_url.as_deref())
            .map_err(|e| (e, description.clone()))?;
        let shown = PosterResult {
            spec: &record.spec,
            requester_id: &record.requester.user_id,
            url: &link.url,
            expires_at: link.expires_at.unix_timestamp(),
            seed: record.spec.seed.unwrap_or_default(),
            width: record.width,
            height: record.height,
            controls: None,
            note: None,
            missing_glyphs: &record.missing_glyphs,
        };
        let message = blocks::approved(&shown, &job.requester.user_id, now);
        let refused = match self.slack.respond(response_url, &message).await {
            Ok(()) => return Ok(Outcome::Delivered),
            Err(e) => e,
        };
        tracing::warn!(job = %job.id, error = %ErrorChain(&refused), "approval recorded but the message could not be updated");
        let note = blocks::note_to_clicker(
            "✅ Your approval is recorded, but Slack wouldn't update the poster message to show it. The approval stands; the buttons may still show until the message is refreshed.",
        );
        match self.slack.respond(response_url, &note).await {
            Ok(()) => Ok(Outcome::FailedAndTold {
                kind: "ApprovalNotShown",
            }),
            Err(e) => {
                tracing::error!(job = %job.id, error = %ErrorChain(&e), "could not tell the approver either");
                // Only a refusal is final; a Slack that was down may take a later message.
                let kind = if e.may_pass() {
                    "SlackUnreachable"
                } else {
                    SLACK_REFUSED
                };
                Ok(Outcome::Undeliverable { kind })
            }
        }
    }

    /// Posts a finished poster: into Slack through the Web API when there is a bot token (in
    /// the original poster's thread for follow-ups, with the PNG uploaded so it outlives its
    /// link), otherwise, or when that fails, to the `response_url`.
    async fn deliver(
        &self,
        job: &Job,
        spec: &PosterSpec,
        rendered: &Rendered,
        note: Option<String>,
    ) -> Outcome {
        let ReplyTo::SlackResponseUrl {
            response_url,
            thread,
        } = &job.reply_to;
        let result = PosterResult {
            spec,
            requester_id: &job.requester.user_id,
            url: &rendered.link.url,
            expires_at: rendered.link.expires_at.unix_timestamp(),
            seed: rendered.seed,
            width: rendered.width,
            height: rendered.height,
            controls: Some(rendered.id),
            note,
            missing_glyphs: &rendered.missing_glyphs,
        };
        let message = blocks::poster(&result);

        let channel = thread
            .as_ref()
            .map(|t| t.channel_id.clone())
            .or_else(|| job.requester.channel_id.clone());
        // Set when the bot token works but the bot is not in the channel, so the poster ends up
        // as an expiring link instead of a file in the channel's history.
        let mut not_a_member = false;
        if let (Some(web), Some(channel)) = (&self.web, channel) {
            let thread_ts = thread.as_ref().map(|t| t.thread_ts.as_str());
            match web.post_message(&channel, thread_ts, &message).await {
                Ok(ts) => {
                    let root = thread_ts.unwrap_or(&ts);
                    let title = spec
                        .text
                        .title
                        .clone()
                        .unwrap_or_else(|| crate::poster::default_title(&spec.description));
                    let alt = format!("Movie poster: {}", spec.description);
                    match web
                        .upload_png(
                            &channel,
                            Some(root),
                            &format!("poster-{}.png", rendered.id),
                            &title,
                            &alt,
                            rendered.png.clone(),
                        )
                        .await
                    {
                        Ok(file) => {
                            tracing::info!(job = %job.id, file, "poster uploaded into slack")
                        }
                        Err(e) => {
                            tracing::warn!(job = %job.id, code = e.code(), error = %ErrorChain(&e), "poster posted, but the upload into slack failed; the link remains");
                            if is_not_member(&e) {
                                self.tell_how_to_keep_posters(job, response_url, &rendered.link)
                                    .await;
                            }
                        }
                    }
                    tracing::info!(job = %job.id, threaded = thread_ts.is_some(), "poster delivered through the web api");
                    return Outcome::Delivered;
                }
                Err(e) => {
                    not_a_member = is_not_member(&e);
                    tracing::warn!(job = %job.id, code = e.code(), error = %ErrorChain(&e), "web api delivery failed; using the response_url");
                }
            }
        }

        let posting = Instant::now();
        let mut sent = self.slack.respond(response_url, &message).await;
        if let Err(e) = &sent {
            if e.is_invalid_blocks() {
                // Slack could not fetch the image (a firewall, a bucket policy): the link
                // still works in a browser, so post it without the image block.
                tracing::warn!(job = %job.id, "slack could not show the image; posting the link alone");
                sent = self
                    .slack
                    .respond(response_url, &blocks::poster_link_only(&result))
                    .await;
            }
        }
        match sent {
            Ok(()) => {
                tracing::info!(job = %job.id, slack_ms = posting.elapsed().as_millis() as u64, "poster delivered");
                if not_a_member {
                    self.tell_how_to_keep_posters(job, response_url, &rendered.link)
                        .await;
                }
                Outcome::Delivered
            }
            Err(e) => {
                self.tell_failure(job, response_url, &DeliveryFailed(e), &spec.description)
                    .await
            }
        }
    }

    /// Tells the requester, privately and once for this poster, that the bot is not in the
    /// channel, so the poster is a link that expires rather than a file that stays, and how to
    /// change that. Best effort: the poster itself was delivered.
    async fn tell_how_to_keep_posters(&self, job: &Job, response_url: &str, link: &Link) {
        let note = blocks::membership_tip(link.expires_at.unix_timestamp());
        if let Err(e) = self.slack.respond(response_url, &note).await {
            tracing::warn!(job = %job.id, error = %ErrorChain(&e), "could not send the channel-membership tip");
        }
    }

    async fn tell_failure(
        &self,
        job: &Job,
        response_url: &str,
        failure: &DeliveryFailed,
        description: &str,
    ) -> Outcome {
        tracing::warn!(job = %job.id, error = %ErrorChain(&failure.0), "could not post the poster to slack");
        // An expired or forbidden response_url will not take a second message either.
        if matches!(failure.0, SlackError::ForbiddenUrl)
            || matches!(&failure.0, SlackError::Rejected { reason, .. } if reason.contains("expired") || reason.contains("used_url"))
        {
            tracing::error!(job = %job.id, "poster made but undeliverable: the response_url can no longer be used");
            return Outcome::Undeliverable {
                kind: SLACK_REFUSED,
            };
        }
        let message = blocks::failure(
            "Your poster was made, but Slack would not accept the message.",
            "Please try again; if it keeps happening, tell your Marquee admin.",
            description,
        );
        match self.slack.respond(response_url, &message).await {
            Ok(()) => Outcome::FailedAndTold {
                kind: "SlackRejected",
            },
            Err(e) => {
                tracing::error!(job = %job.id, error = %ErrorChain(&e), "slack unreachable; poster undeliverable");
                Outcome::Undeliverable {
                    kind: "SlackUnreachable",
                }
            }
        }
    }
}

struct DeliveryFailed(SlackError);

/// Whether a Web API refusal means the bot is not a member of the channel: `not_in_channel`,
/// or `channel_not_found` for a private channel it cannot see.
fn is_not_member(e: &crate::slack::web::WebError) -> bool {
    matches!(e.code(), Some("not_in_channel" | "channel_not_found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        for attempt in 1..10 {
            let d = p.backoff(attempt);
            assert!(d <= p.cap, "{attempt}: {d:?}");
        }
        assert!(p.backoff(1) <= Duration::from_millis(500));
        assert!(p.backoff(6) >= Duration::from_secs(4));
    }

    #[test]
    fn every_error_explains_itself_distinctly() {
        let errors = [
            PipelineError::Model(ModelError::Filtered {
                stage: FilterStage::Prompt,
                detail: String::new(),
            }),
            PipelineError::Model(ModelError::Filtered {
                stage: FilterStage::Output,
                detail: String::new(),
            }),
            PipelineError::Model(ModelError::Throttled),
            PipelineError::Model(ModelError::Timeout { secs: 1 }),
            PipelineError::Model(ModelError::AccessDenied {
                region: "us-west-2".into(),
                detail: String::new(),
            }),
            PipelineError::Model(ModelError::NotInRegion {
                region: "us-west-2".into(),
                detail: String::new(),
            }),
            PipelineError::Model(ModelError::Invalid {
                detail: String::new(),
            }),
            PipelineError::Model(ModelError::QuotaExceeded {
                detail: String::new(),
            }),
        ];
        let headlines: std::collections::HashSet<_> =
            errors.iter().map(|e| e.explain().headline).collect();
        assert_eq!(headlines.len(), errors.len());
        for e in &errors {
            let x = e.explain();
            assert!(!x.advice.is_empty() && x.advice.ends_with('.'), "{x:?}");
        }
    }

    /// A model called in a region that does not serve it is the admin's to fix: the message
    /// names the region and never sends the user after their `--ar`.
    #[test]
    fn a_model_outside_its_region_is_explained_as_configuration() {
        let x = PipelineError::Model(ModelError::NotInRegion {
            region: "us-west-2".into(),
            detail: "The provided model identifier is invalid.".into(),
        })
        .explain();
        assert!(x.headline.contains("not available"), "{x:?}");
        assert!(
            x.advice.contains("us-west-2") && x.advice.contains("admin"),
            "{x:?}"
        );
        assert!(!x.advice.contains("--ar"), "{x:?}");
        assert_eq!(x.kind, "ModelNotInRegion");
    }

    #[test]
    fn prompts_carry_the_style_and_the_negatives() {
        let spec = PosterSpec {
            description: "a lighthouse keeper.".into(),
            text: Default::default(),
            style: crate::genre::Style::Noir,
            aspect: Default::default(),
            seed: None,
            avoid: Some("boats".into()),
            model: ModelId::Sd35Large,
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
}
