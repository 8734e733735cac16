//! `POST /slack/events`: Slack's Events API door.
//!
//! The body is verified like every Slack door (401 on a bad or stale signature), then read by
//! `slack::events`. The `url_verification` challenge is echoed (after verifying, as Bolt
//! does). Slack retries an event it thinks failed — at once, after a minute and after five,
//! and three seconds after a request it got no answer to (`X-Slack-Retry-Num`,
//! `X-Slack-Retry-Reason`) — so every event runs once, keyed by its `event_id` in the state
//! store with a claim whose [`Claimant`] is this request alone; a retry finds the claim and is
//! acked doing nothing. The ack path holds nothing but that claim and the job's enqueue: the
//! answer goes into the thread from the worker. Events are routed by kind (`slack::events`),
//! so later kinds land as more arms here: `app_home_opened` is claimed the same way and queued
//! as a `Task::Home` job, whose worker publishes the tab (`views.publish`). A Workflow
//! Builder step (`function_executed`) is claimed the same way and queued as the same job as
//! `/poster` (`ReplyTo::WorkflowStep`), whose worker posts the poster into the step's channel
//! and completes the step; inputs that make no poster are queued as a note, which fails the
//! step with it.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::slack::{SlackBody, SlackSigned};
use super::{ApiError, AppState, BasePath};
use crate::dispatch::DispatchError;
use marquee_core::job::{Job, ReplyTo, Task};
use marquee_core::metrics::Event as Metric;
use marquee_core::secret::Secret;
use marquee_core::slack::blocks;
use marquee_core::slack::command::{self, PosterCommand};
use marquee_core::slack::events::{self, Event, EventsBody, HomeOpened, Mention, StepExecuted};
use marquee_core::state::Claimant;

/// Slack's retry headers (docs.slack.dev `apis/events-api`, "Retries").
const RETRY_NUM: &str = "x-slack-retry-num";
const RETRY_REASON: &str = "x-slack-retry-reason";
/// Slack's last retry of an event is its third.
const LAST_RETRY: u32 = 3;

/// What a mention says when it asks for help or nothing at all.
const HELP: &str = "🎬 Mention me with what the poster should show, written as you would after `/poster`: `@Marquee a lighthouse keeper fights a kraken --style horror --title \"The Keeper\"`. `@Marquee usage` and `@Marquee history` work too. The poster arrives in this thread.";

impl SlackBody for EventsBody {
    fn decode(body: &[u8]) -> Result<Self, ApiError> {
        events::parse(body).map_err(|e| ApiError::BadRequest(e.to_string()))
    }
}

pub(super) async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    base: Option<axum::Extension<BasePath>>,
    // The Events API's once-only is keyed on `event_id`, which a replay repeats and each of
    // Slack's retries (a fresh signature) does too; the sight is not needed.
    SlackSigned(body, _sight): SlackSigned<EventsBody>,
) -> Result<Response, ApiError> {
    let (event_id, event) = match body {
        EventsBody::UrlVerification { challenge } => {
            tracing::info!("answered slack's url verification");
            return Ok(Json(json!({ "challenge": challenge })).into_response());
        }
        EventsBody::Other(kind) => {
            tracing::info!(kind, "acked an events-api envelope marquee does not handle");
            return Ok(StatusCode::OK.into_response());
        }
        EventsBody::Callback { event_id, event } => (event_id, event),
    };
    let retry = headers
        .get(RETRY_NUM)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    let reason = headers
        .get(RETRY_REASON)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match event {
        Event::Ignored(why) => {
            tracing::debug!(event_id, why, "ignored a slack event");
            Ok(StatusCode::OK.into_response())
        }
        Event::Mention(mention) => {
            let public_url = state.public_url.resolve(&headers, base.as_deref());
            mentioned(&state, &event_id, *mention, public_url, retry, reason).await
        }
        Event::HomeOpened(home) => {
            let public_url = state.public_url.resolve(&headers, base.as_deref());
            home_opened(&state, &event_id, *home, public_url, retry).await
        }
        Event::StepExecuted(step) => {
            let public_url = state.public_url.resolve(&headers, base.as_deref());
            step_executed(&state, &event_id, *step, public_url, retry, reason).await
        }
    }
}

/// A workflow ran the "Make a poster" step: claimed once by `event_id`, then queued like
/// `/poster`, the step's inputs read into the same spec (or, when they make none, a note that
/// fails the step with why). Nothing on the ack path talks to Slack but, on Slack's last
/// retry of a step that could not be queued, the step's failure.
async fn step_executed(
    state: &AppState,
    event_id: &str,
    executed: StepExecuted,
    public_url: Option<String>,
    retry: u32,
    reason: &str,
) -> Result<Response, ApiError> {
    let Some(claimant) =
        claim_answerable(state, event_id, retry, reason, "a workflow step").await?
    else {
        return Ok(StatusCode::OK.into_response());
    };
    let StepExecuted {
        requester,
        step,
        inputs,
    } = executed;
    let task = match inputs.spec(&step.channel_id, &state.policy) {
        Ok(spec) => Task::Poster { spec },
        Err(why) => Task::Note {
            text: format!("⚠️ {why}"),
        },
    };
    let execution = step.execution_id.clone();
    let token = Secret::new(step.token.expose());
    let job = Job::new(
        task,
        requester,
        ReplyTo::WorkflowStep { step },
        (state.clock)(),
    )
    .with_public_url(public_url);
    match queue_claimed(state, job, event_id, &claimant, retry, "a workflow step").await {
        Queued::Accepted(id) => {
            tracing::info!(job = %id, event_id, retry, execution, "workflow step accepted");
            return Ok(StatusCode::OK.into_response());
        }
        Queued::Retry(response) => return Ok(response),
        Queued::Lost => {}
    }
    // Slack's last try: the step fails rather than waiting for a poster nobody will make.
    if let Some(web) = state.delivery.web() {
        let failed = web.with_token(token);
        let failed = failed.fail_step(&execution, STEP_BUSY);
        if let Err(e) = tokio::time::timeout(std::time::Duration::from_secs(2), failed)
            .await
            .unwrap_or(Ok(()))
        {
            tracing::error!(
                event_id,
                code = e.code(),
                "could not fail a workflow step marquee had no room for"
            );
        }
    }
    Ok(StatusCode::OK.into_response())
}

/// Why a workflow step failed when Marquee had no room to queue it, even on Slack's last retry.
const STEP_BUSY: &str =
    "Marquee is too busy to make this poster right now. Run the workflow again in a few minutes.";

/// Someone opened the Home tab: claimed once by `event_id`, then its publishing queued as a
/// job (`Task::Home`), so the ack never waits on the state store's reads or on Slack.
async fn home_opened(
    state: &AppState,
    event_id: &str,
    home: HomeOpened,
    public_url: Option<String>,
    retry: u32,
) -> Result<Response, ApiError> {
    let Some(claimant) = claim_answerable(state, event_id, retry, "", "a home tab opening").await?
    else {
        return Ok(StatusCode::OK.into_response());
    };
    let job = Job::new(
        Task::Home,
        home.requester,
        ReplyTo::AppHome,
        (state.clock)(),
    )
    .with_public_url(public_url);
    // The tab shows what it showed last; the next opening publishes it. Slack's retry may
    // find room sooner: the event is given back unless this was its last.
    match queue_claimed(state, job, event_id, &claimant, retry, "a home tab").await {
        Queued::Accepted(id) => tracing::info!(job = %id, event_id, retry, "home tab queued"),
        Queued::Retry(response) => return Ok(response),
        Queued::Lost => {}
    }
    Ok(StatusCode::OK.into_response())
}

/// A mention or direct message: claimed once by `event_id`, then queued like `/poster`.
async fn mentioned(
    state: &AppState,
    event_id: &str,
    mention: Mention,
    public_url: Option<String>,
    retry: u32,
    reason: &str,
) -> Result<Response, ApiError> {
    let Some(claimant) = claim_answerable(state, event_id, retry, reason, "a mention").await?
    else {
        return Ok(StatusCode::OK.into_response());
    };
    let task = match command::parse(&mention.text, &state.policy) {
        Ok(PosterCommand::Poster(spec)) => Task::Poster { spec },
        Ok(PosterCommand::Usage) => Task::Usage,
        Ok(PosterCommand::History) => Task::History,
        Ok(PosterCommand::Help) => Task::Note { text: HELP.into() },
        Err(e) => Task::Note {
            text: format!("⚠️ {e}"),
        },
    };
    let job = Job::new(
        task,
        mention.requester.clone(),
        ReplyTo::SlackThread {
            thread: mention.thread.clone(),
        },
        (state.clock)(),
    )
    .with_public_url(public_url);
    match queue_claimed(state, job, event_id, &claimant, retry, "a slack event").await {
        Queued::Accepted(id) => {
            tracing::info!(job = %id, event_id, retry, direct = mention.direct, "slack event accepted");
            return Ok(StatusCode::OK.into_response());
        }
        // Nothing was queued: Slack's next retry (a minute or five later) runs it.
        Queued::Retry(response) => return Ok(response),
        Queued::Lost => {}
    }
    // Slack's last try: nobody would hear of it otherwise.
    if let Some(web) = state.delivery.web() {
        let note = blocks::note_to_clicker(blocks::BUSY);
        let told = web.post_ephemeral(
            &mention.thread.channel_id,
            &mention.requester.user_id,
            Some(&mention.thread.thread_ts),
            &note,
        );
        if let Err(e) = tokio::time::timeout(std::time::Duration::from_secs(2), told)
            .await
            .unwrap_or(Ok(()))
        {
            tracing::error!(
                event_id,
                code = e.code(),
                "could not tell a mention's author marquee is busy"
            );
        }
    }
    Ok(StatusCode::OK.into_response())
}

/// What became of a claimed event's job.
enum Queued {
    /// In the queue, as this job.
    Accepted(uuid::Uuid),
    /// Not queued, the claim given back: the answer asks Slack to retry.
    Retry(Response),
    /// Not queued on Slack's last retry: the caller tells whoever would otherwise wait.
    Lost,
}

/// Queues `job` for event `event_id`, which `claimant` holds. When it cannot be queued (the
/// queue full: counted as shed), the claim is given back for Slack's next retry, unless this
/// was the last (`LAST_RETRY`).
async fn queue_claimed(
    state: &AppState,
    job: Job,
    event_id: &str,
    claimant: &Claimant,
    retry: u32,
    what: &str,
) -> Queued {
    let id = job.id;
    let Err(e) = state.dispatcher.dispatch(job).await else {
        return Queued::Accepted(id);
    };
    if matches!(e, DispatchError::Busy) {
        state.pipeline.metrics().record(Metric::Shed);
    }
    tracing::warn!(job = %id, event_id, retry, error = %marquee_core::errors::ErrorChain(&e), "could not queue {what}'s job");
    if retry < LAST_RETRY {
        return Queued::Retry(give_back(state, event_id, claimant).await);
    }
    Queued::Lost
}

/// Releases `claimant`'s claim on event `event_id`, whose job could not be queued, and asks
/// Slack to retry it (503, `Retry-After: 60`).
async fn give_back(state: &AppState, event_id: &str, claimant: &Claimant) -> Response {
    if let Err(e) = state.records.release_event(event_id, claimant).await {
        tracing::error!(event_id, error = %marquee_core::errors::ErrorChain(&e), "could not release a slack event's claim");
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from_static("60"))],
    )
        .into_response()
}

/// Claims Slack event `event_id` (`what`, for the log) for this request: its claimant the
/// first time (to queue its job, or release the claim if that fails), `None` for a retry
/// another request has taken, or when there is no bot token to answer any event with (acked
/// with nothing more). A claim that cannot be written is [`ApiError::Unavailable`]: Slack
/// retries what is not answered 2xx, so the event is not lost.
async fn claim_answerable(
    state: &AppState,
    event_id: &str,
    retry: u32,
    reason: &str,
    what: &str,
) -> Result<Option<Claimant>, ApiError> {
    if state.delivery.web().is_none() {
        tracing::warn!(
            event_id,
            "{what} arrived but there is no bot token to answer it with; ignored"
        );
        return Ok(None);
    }
    let claimant = Claimant::new();
    match state.records.claim_event(event_id, &claimant).await {
        Ok(true) => Ok(Some(claimant)),
        Ok(false) => {
            tracing::info!(
                event_id,
                retry,
                reason,
                "a retry of a slack event already taken; acked"
            );
            Ok(None)
        }
        Err(e) => {
            tracing::error!(event_id, error = %marquee_core::errors::ErrorChain(&e), "could not claim a slack event; slack will retry it");
            Err(ApiError::Unavailable)
        }
    }
}
