//! The Slack door: `POST /slack/commands` and `POST /slack/interactions`. Bodies arrive as a
//! [`SlackSigned`] value, read within [`MAX_BODY_BYTES`] and verified over the raw bytes before
//! they are decoded, with the request's [`Sight`]; they are acked at once after the
//! dispatcher's enqueue. What a request starts, it starts through its sight, so a replay inside
//! Slack's window starts nothing: a job with `Dispatcher::dispatch_once` (locally one
//! transaction with the job), a modal with `Records::first_sight` before `views.open`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::dispatch::{DispatchError, Once};
use marquee_core::job::{Change, Job, ReplyTo, Requester, SlackMessageRef, Task};
use marquee_core::metrics::Event;
use marquee_core::slack::blocks;
use marquee_core::slack::command::{self, PosterCommand, SlashCommand};
use marquee_core::slack::interaction::{self, Click, Interaction, InteractionError, Review};
use marquee_core::slack::modal::{self, Form, Submission, UploadedFile};
use marquee_core::slack::verify::{self, Sight};

use super::{ApiError, AppState, BasePath, body_bytes, in_request_span};

/// A request from Slack, read within [`MAX_BODY_BYTES`], its signature verified over the raw
/// body (`slack::verify`), and only then decoded as `T`; with its [`Sight`], through which
/// whatever it starts is started once.
pub(super) struct SlackSigned<T>(pub(super) T, pub(super) Sight);

/// What a verified Slack body decodes into.
pub(super) trait SlackBody: Sized + Send {
    fn decode(body: &[u8]) -> Result<Self, ApiError>;

    /// What a body is that is answered without verifying it (nothing, unless a route says).
    fn unsigned(_body: &[u8]) -> Option<Self> {
        None
    }
}

/// What Slack posts to the slash-command URL: a command, or its SSL check.
pub(super) enum CommandBody {
    Command(Box<SlashCommand>),
    /// `ssl_check=1` ([`verify::is_ssl_check`]): answered with an empty 200, unverified.
    SslCheck,
}

impl SlackBody for CommandBody {
    fn decode(body: &[u8]) -> Result<Self, ApiError> {
        SlashCommand::from_form(body)
            .map(|command| CommandBody::Command(Box::new(command)))
            .map_err(|e| ApiError::BadRequest(e.to_string()))
    }

    fn unsigned(body: &[u8]) -> Option<Self> {
        verify::is_ssl_check(body).then_some(CommandBody::SslCheck)
    }
}

/// The interactivity POST: one form field, `payload`, holding the interaction as JSON.
pub(super) struct InteractionPayload(String);

impl SlackBody for InteractionPayload {
    fn decode(body: &[u8]) -> Result<Self, ApiError> {
        #[derive(Deserialize)]
        struct Form {
            payload: String,
        }
        let form: Form = marquee_core::slack::form::decode(body)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        Ok(InteractionPayload(form.payload))
    }
}

impl<T: SlackBody> FromRequest<AppState> for SlackSigned<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let headers = req.headers().clone();
        let body = body_bytes(Bytes::from_request(req, state).await)?;
        if let Some(unsigned) = T::unsigned(&body) {
            // Answered with nothing and starting nothing (the SSL check), so its sight guards
            // nothing.
            return Ok(SlackSigned(unsigned, Sight::of("")));
        }
        let secret = state
            .signing_secret
            .as_ref()
            .ok_or(ApiError::NoSigningSecret)?;
        secret.verify(&headers, &body, (state.clock)()).await?;
        let decoded = T::decode(&body)?;
        let signature = headers
            .get(verify::SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        Ok(SlackSigned(decoded, Sight::of(signature)))
    }
}

/// Starts `job` once for the request seen as `sight`. A replay is [`ApiError::Replayed`] (an
/// empty 200: nothing queued), a failure of the guard [`ApiError::Unavailable`] (refused rather
/// than risk running it twice); the dispatcher's own errors are returned for the caller to word.
pub(super) async fn start_once(
    state: &AppState,
    job: Job,
    sight: &Sight,
) -> Result<Result<(), DispatchError>, ApiError> {
    match state
        .dispatcher
        .dispatch_once(job, sight, &state.records)
        .await
    {
        Ok(Once::Started) => Ok(Ok(())),
        Ok(Once::Replayed) => Err(ApiError::Replayed),
        Err(DispatchError::Guard(e)) => {
            tracing::error!(error = %marquee_core::errors::ErrorChain(&*e), "could not record a slack request; refusing it rather than risk running it twice");
            Err(ApiError::Unavailable)
        }
        Err(e) => Ok(Err(e)),
    }
}

/// Records the first sight of a request that starts something other than a job (a modal):
/// `Err(Replayed)` for a replay, `Err(Unavailable)` when it cannot be recorded.
pub(super) async fn first_sight(state: &AppState, sight: &Sight) -> Result<(), ApiError> {
    match state.records.first_sight(sight).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ApiError::Replayed),
        Err(e) => {
            tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "could not record a slack request; refusing it rather than risk running it twice");
            Err(ApiError::Unavailable)
        }
    }
}

/// Slack's slash command. Answers within milliseconds: help, a problem with the command, or
/// "generating", after queueing the job.
pub(super) async fn slash_command(
    State(state): State<AppState>,
    headers: HeaderMap,
    base: Option<axum::Extension<BasePath>>,
    SlackSigned(command, sight): SlackSigned<CommandBody>,
) -> Result<Response, ApiError> {
    let command = match command {
        CommandBody::Command(command) => *command,
        CommandBody::SslCheck => {
            tracing::info!("answered slack's ssl check");
            return Ok(StatusCode::OK.into_response());
        }
    };
    if !state.delivery.slack().is_allowed(&command.response_url) {
        tracing::warn!(team = ?command.team_id, "refused a slash command whose response_url is not an allowed Slack URL");
        return Err(ApiError::BadRequest(
            "response_url is not a Slack URL".into(),
        ));
    }
    // What the worker is asked to do, and the ack: "generating" for a poster; nothing for a
    // lookup, whose private answer follows within a second (the ack reads no state).
    let (task, ack) = match command::parse(&command.text, &state.policy) {
        Ok(PosterCommand::Help) => {
            let card = blocks::usage(
                &state.policy.allowed,
                state.policy.default,
                state.pipeline.limits(),
                &state.pipeline.review_offer(),
            );
            // `/poster` alone opens the New poster form, which is a modal: with a bot token
            // and the command's `trigger_id` (3 seconds). `/poster help`, or no token, is
            // answered with help, which tells of the form where there is one.
            let form = state.delivery.web().is_some();
            if form && command.text.trim().is_empty() && command.trigger_id.is_some() {
                first_sight(&state, &sight).await?;
                return super::shortcut::open_form(&state, &command, card).await;
            }
            let card = if form {
                blocks::usage_with_form(card)
            } else {
                card
            };
            return Ok(Json(card).into_response());
        }
        // Slack shows a reply only on 200, so a mistake in the command is a 200 with advice.
        // That includes control characters in the text: unlike bytes that are not UTF-8 (a
        // malformed body, refused above with 400), they can come from a real user pasting text,
        // and a 4xx would only show them Slack's opaque "/poster failed" with no hint of what
        // to fix. So they get the same ephemeral "invalid" reply, naming the character.
        Err(e) => return Ok(Json(blocks::invalid(&e.to_string())).into_response()),
        Ok(PosterCommand::Usage) => (Task::Usage, None),
        Ok(PosterCommand::History) => (Task::History, None),
        Ok(PosterCommand::Poster(spec)) => {
            let ack = blocks::accepted(&spec);
            (Task::Poster { spec }, Some(ack))
        }
    };
    let is_poster = ack.is_some();
    let job = Job::new(
        task,
        Requester::from(&command),
        ReplyTo::response_url(command.response_url),
        (state.clock)(),
    )
    .with_public_url(state.public_url.resolve(&headers, base.as_deref()));
    let id = job.id;
    in_request_span(id);
    if let Err(e) = start_once(&state, job, &sight).await? {
        if matches!(e, DispatchError::Busy) {
            state.pipeline.metrics().record(Event::Shed);
            return Ok(Json(blocks::busy()).into_response());
        }
        tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "could not queue a slash command job");
        let headline = if is_poster {
            "Marquee couldn't start your poster."
        } else {
            "Marquee couldn't look that up just now."
        };
        return Ok(Json(blocks::failure(
            headline,
            "Nothing was generated or charged. Please try again in a moment; if it keeps happening, tell your Marquee admin.",
            "",
        ))
        .into_response());
    }
    tracing::info!("slash command accepted");
    Ok(match ack {
        Some(ack) => Json(ack).into_response(),
        None => StatusCode::OK.into_response(),
    })
}

/// Slack's interactivity endpoint: the controls on poster messages and the review modals.
/// Clicks are acked at once with an empty 200 and queued for the worker exactly as slash
/// commands are; the worker answers through the interaction's `response_url`. Edit words,
/// Change a detail, Use a picture… and (with a bot token) Formats… open a modal first (within
/// the click's 3-second trigger); a submitted modal is checked here, so field errors show
/// inside it, then queued like a click.
pub(super) async fn interaction(
    State(state): State<AppState>,
    headers: HeaderMap,
    base: Option<axum::Extension<BasePath>>,
    SlackSigned(InteractionPayload(payload), sight): SlackSigned<InteractionPayload>,
) -> Result<Response, ApiError> {
    let interaction = match interaction::parse_interaction(&payload) {
        Ok(interaction) => interaction,
        // Interactions Marquee does not offer (shortcuts, other apps' leftovers) are acked and
        // ignored, so Slack does not show the user an error for them.
        Err(InteractionError::Unsupported(kind)) => {
            tracing::info!(kind, "ignored an unsupported interaction");
            return Ok(StatusCode::OK.into_response());
        }
        Err(e) => return Err(ApiError::BadRequest(e.to_string())),
    };
    let public_url = state.public_url.resolve(&headers, base.as_deref());
    match interaction {
        Interaction::Click(click) => {
            let task = Task::from(&click);
            queue_click(&state, &click, task, public_url, &sight).await
        }
        Interaction::Review(click) => match click.action {
            Review::Vary(strength) => {
                let task = Task::Retake {
                    source: click.source,
                    change: Change::Vary { strength },
                };
                queue_click(&state, &click, task, public_url, &sight).await
            }
            Review::Print => {
                let task = Task::Print {
                    source: click.source,
                };
                queue_click(&state, &click, task, public_url, &sight).await
            }
            Review::EditWords | Review::ChangeDetail | Review::UsePicture => {
                first_sight(&state, &sight).await?;
                open_modal(&state, &click).await
            }
            // With a bot token the requester picks the formats in a modal; without one (no
            // `views.open`) the click makes the whole set, as it always did.
            Review::Formats if state.delivery.web().is_some() && click.trigger_id.is_some() => {
                first_sight(&state, &sight).await?;
                open_modal(&state, &click).await
            }
            Review::Formats => {
                let task = Task::Formats {
                    source: click.source,
                    formats: state.pipeline.format_set(),
                };
                queue_click(&state, &click, task, public_url, &sight).await
            }
        },
        Interaction::Submission(submission) => submit(&state, submission, public_url, &sight).await,
        Interaction::Shortcut(used) => {
            first_sight(&state, &sight).await?;
            super::shortcut::open(&state, &used).await
        }
        Interaction::FromMessage(submitted) => {
            super::shortcut::submit(&state, submitted, public_url, &sight).await
        }
        Interaction::OpenSettings(click) => {
            first_sight(&state, &sight).await?;
            super::settings::open(&state, &click).await
        }
        // Saving writes the kit and its change log: a replay must not write them again.
        Interaction::Settings(submitted) => {
            first_sight(&state, &sight).await?;
            super::settings::submit(&state, submitted, public_url).await
        }
    }
}

/// Queues the worker's job for a click, or tells the clicker it could not be started.
async fn queue_click<A>(
    state: &AppState,
    click: &Click<A>,
    task: Task,
    public_url: Option<String>,
    sight: &Sight,
) -> Result<Response, ApiError> {
    if !state.delivery.slack().is_allowed(&click.response_url) {
        tracing::warn!(team = ?click.team_id, "refused an interaction whose response_url is not an allowed Slack URL");
        return Err(ApiError::BadRequest(
            "response_url is not a Slack URL".into(),
        ));
    }
    let job = Job::new(
        task,
        click.requester(),
        ReplyTo::from(click),
        (state.clock)(),
    )
    .with_public_url(public_url);
    let id = job.id;
    in_request_span(id);
    if let Err(e) = start_once(state, job, sight).await? {
        if matches!(e, DispatchError::Busy) {
            state.pipeline.metrics().record(Event::Shed);
            tell_clicker(state, &click.response_url, blocks::BUSY).await;
            return Ok(StatusCode::OK.into_response());
        }
        tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "could not queue an interaction job");
        // Slack ignores response bodies for button clicks, so the clicker is told through the
        // response_url: a rare failure path, and better than silence.
        tell_clicker(
            state,
            &click.response_url,
            "Marquee couldn't start that just now. Nothing was generated or charged; please click again in a moment.",
        )
        .await;
        return Ok(StatusCode::OK.into_response());
    }
    tracing::info!("interaction accepted");
    Ok(StatusCode::OK.into_response())
}

/// A private note to whoever clicked, through the click's `response_url`; best effort.
pub(super) async fn tell_clicker(state: &AppState, response_url: &str, text: &str) {
    let note = blocks::note_to_clicker(text);
    if let Err(e) = state.delivery.slack().respond(response_url, &note).await {
        tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "could not tell the clicker");
    }
}

/// Opens a review modal (Edit words, Change a detail, Use a picture…, Formats…) for a click,
/// pre-filled from the poster's record. Slack's trigger lives 3 seconds, so this is the one click that reads state on the
/// ack path (one item) and calls Slack before answering.
async fn open_modal(state: &AppState, click: &Click<Review>) -> Result<Response, ApiError> {
    if !state.delivery.slack().is_allowed(&click.response_url) {
        tracing::warn!(team = ?click.team_id, "refused an interaction whose response_url is not an allowed Slack URL");
        return Err(ApiError::BadRequest(
            "response_url is not a Slack URL".into(),
        ));
    }
    let (Some(web), Some(trigger)) = (state.delivery.web(), click.trigger_id.as_deref()) else {
        // Not offered without a bot token; an old message may still carry the control.
        tell_clicker(
            state,
            &click.response_url,
            "✏️ Editing a poster opens a form, which needs Marquee's bot token. Ask your Marquee admin to add one (see the install guide), or use 🎲 Regenerate and 🎨 Restyle meanwhile.",
        )
        .await;
        return Ok(StatusCode::OK.into_response());
    };
    let record = match state.records.record(click.source).await {
        Ok(record) => record,
        Err(e) => {
            tracing::warn!(poster = %click.source, error = %marquee_core::errors::ErrorChain(&e), "could not read a poster to edit");
            let explained = e.explain();
            tell_clicker(
                state,
                &click.response_url,
                &format!("{} {}", explained.headline, explained.advice),
            )
            .await;
            return Ok(StatusCode::OK.into_response());
        }
    };
    // The form would only lead to a take the worker refuses: say so now, with no form.
    if let Some(why) = state.pipeline.outsider(&record, &click.requester()) {
        tracing::info!(poster = %click.source, "review modal refused: the clicker is outside the poster's workspace");
        tell_clicker(state, &click.response_url, why).await;
        return Ok(StatusCode::OK.into_response());
    }
    let ctx = click.modal_context();
    let view = match click.action {
        Review::ChangeDetail => modal::change_detail_view(&ctx, &record.spec.description),
        Review::UsePicture => modal::use_picture_view(&ctx),
        Review::Formats => modal::formats_view(&ctx, &state.pipeline.format_set()),
        _ => modal::edit_words_view(&ctx, &record.spec.shown_text(), record.spec.typography()),
    };
    if let Err(e) = web.open_view(trigger, &view).await {
        tracing::warn!(poster = %click.source, code = e.code(), error = %marquee_core::errors::ErrorChain(&e), "could not open a review modal");
        tell_clicker(
            state,
            &click.response_url,
            "Slack didn't open the form in time. Please click again.",
        )
        .await;
    }
    Ok(StatusCode::OK.into_response())
}

/// A submitted review modal: field errors go back into the modal (`response_action: errors`);
/// a good one is queued as a retake of its poster and the modal closes.
async fn submit(
    state: &AppState,
    submission: Submission,
    public_url: Option<String>,
    sight: &Sight,
) -> Result<Response, ApiError> {
    let ctx = submission.context().clone();
    if !state.delivery.slack().is_allowed(&ctx.response_url) {
        tracing::warn!(team = ?submission.team_id, "refused a modal whose response_url is not an allowed Slack URL");
        return Err(ApiError::BadRequest(
            "response_url is not a Slack URL".into(),
        ));
    }
    if let Err(errors) = modal::validate(&submission) {
        return Ok(Json(errors).into_response());
    }
    if let Err(errors) = changed_description_fits(state, &submission).await {
        return Ok(Json(errors).into_response());
    }
    let not_started = modal::could_not_start(&submission);
    let picture = match stored_picture(state, &submission).await {
        Ok(picture) => picture,
        Err(errors) => return Ok(Json(errors).into_response()),
    };
    let requester = submission.requester();
    let change = match submission.form {
        // Who may have formats made is the worker's to decide, by the same rule as the click
        // (`Pipeline::outsider`, on the submitter's `user.team_id` and org-wide
        // `enterprise.id`): it reads the take's record and tells an outsider privately.
        Form::Formats { formats, .. } => {
            return queue_submission(
                state,
                &ctx,
                Task::Formats {
                    source: ctx.poster,
                    formats,
                },
                requester,
                public_url,
                sight,
                not_started,
            )
            .await;
        }
        Form::EditWords {
            text, typography, ..
        } => Change::EditWords { text, typography },
        Form::ChangeDetail {
            search,
            replace,
            colour_only: false,
            ..
        } => Change::ChangeDetail { search, replace },
        Form::ChangeDetail {
            search,
            replace: colour,
            colour_only: true,
            ..
        } => Change::RecolorDetail { search, colour },
        Form::UsePicture { usage, .. } => {
            // `stored_picture` answered for every picture submission that gets here.
            let Some((reference, name)) = picture else {
                return Ok(Json(not_started).into_response());
            };
            Change::Picture {
                usage,
                reference,
                name,
            }
        }
    };
    let task = Task::Retake {
        source: ctx.poster,
        change,
    };
    queue_submission(state, &ctx, task, requester, public_url, sight, not_started).await
}

/// Queues a good submission's job, answering into its modal when it could not be started.
async fn queue_submission(
    state: &AppState,
    ctx: &modal::ModalContext,
    task: Task,
    requester: Requester,
    public_url: Option<String>,
    sight: &Sight,
    not_started: serde_json::Value,
) -> Result<Response, ApiError> {
    let thread = match (&ctx.channel_id, &ctx.thread_ts) {
        (Some(channel_id), Some(thread_ts)) => Some(SlackMessageRef {
            channel_id: channel_id.clone(),
            thread_ts: thread_ts.clone(),
        }),
        _ => None,
    };
    let job = Job::new(
        task,
        requester,
        ReplyTo::SlackResponseUrl {
            response_url: ctx.response_url.clone(),
            thread,
        },
        (state.clock)(),
    )
    .with_public_url(public_url);
    let id = job.id;
    in_request_span(id);
    if let Err(e) = start_once(state, job, sight).await? {
        if matches!(e, DispatchError::Busy) {
            state.pipeline.metrics().record(Event::Shed);
        }
        tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "could not queue a modal's job");
        // Keep the modal open with what was typed, and say so where it is seen.
        return Ok(Json(not_started).into_response());
    }
    tracing::info!("modal submission accepted");
    Ok(StatusCode::OK.into_response())
}

/// For Use a picture…, the uploaded file: downloaded from Slack's file hosts with the bot token
/// (`slack::files`), checked and cleaned (`model::reference::accept`: PNG, JPEG or WebP by its
/// bytes, at most 40 megapixels from its header, metadata stripped by re-encoding) and stored
/// privately under `refs/`, all before the modal is answered, so every refusal is a field error
/// under the picture and nothing refused is stored, queued or billed. `Ok(None)` for other
/// forms. Who may use the file was checked by `modal::validate` (its uploader is the submitter).
async fn stored_picture(
    state: &AppState,
    submission: &Submission,
) -> Result<Option<(String, String)>, serde_json::Value> {
    let Form::UsePicture {
        file: Some(file), ..
    } = &submission.form
    else {
        return Ok(None);
    };
    // An outsider's take would be refused by the worker: refuse it here, before anything is
    // downloaded or stored (one record read, as the form's opening does). A record that cannot
    // be read is left to the worker, which reads it again and says why.
    let poster = submission.context().poster;
    match state.records.record(poster).await {
        Ok(record) => {
            if let Some(why) = state.pipeline.outsider(&record, &submission.requester()) {
                tracing::info!(%poster, "picture refused: the submitter is outside the poster's workspace");
                return Err(modal::picture_refused(why));
            }
        }
        Err(e) => {
            tracing::warn!(%poster, error = %marquee_core::errors::ErrorChain(&e), "could not read a poster before taking a picture for it");
        }
    }
    let key = store_picture(
        state,
        file,
        &submission.requester().user_id,
        &modal::picture_refused,
    )
    .await?;
    Ok(Some((key, file.shown_name())))
}

/// The refusal of a picture that could not be taken for a reason of Marquee's own.
pub(super) const PICTURE_NOT_STARTED: &str = "Marquee couldn't start that just now. Nothing was changed or charged; please submit again in a moment.";

/// Downloads `file` from Slack's file hosts with the bot token (`slack::files`: only the
/// allow-listed hosts, no other redirects), checks and cleans it (`model::reference::accept`:
/// PNG, JPEG or WebP by its bytes, at most 40 megapixels from its header, metadata stripped
/// by re-encoding) and stores it privately under `refs/` for `requester`; its key. Every
/// refusal is `refused(words)`, the modal's answer with the words under the picture's field;
/// nothing refused is stored.
pub(super) async fn store_picture(
    state: &AppState,
    file: &UploadedFile,
    requester: &str,
    refused: &(dyn Fn(&str) -> serde_json::Value + Sync),
) -> Result<String, serde_json::Value> {
    let Some(files) = state.delivery.files() else {
        return Err(refused(
            "Using a picture needs Marquee's bot token. Ask your Marquee admin to add one (see the install guide).",
        ));
    };
    let bytes = match files.download(file.url().unwrap_or_default()).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(file = %file.id, error = %marquee_core::errors::ErrorChain(&e), "refused an uploaded picture's download");
            return Err(refused(&e.friendly()));
        }
    };
    let accepted = match marquee_core::cpu::background(move || {
        marquee_core::model::reference::accept(&bytes)
    })
    .await
    {
        Ok(Ok(accepted)) => accepted,
        Ok(Err(reason)) => {
            tracing::info!(file = %file.id, %reason, "refused an uploaded picture");
            return Err(refused(&reason.friendly()));
        }
        Err(e) => {
            tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "could not check an uploaded picture");
            return Err(refused(PICTURE_NOT_STARTED));
        }
    };
    let at = time::OffsetDateTime::from_unix_timestamp((state.clock)())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let key = marquee_core::store::reference_key(uuid::Uuid::new_v4(), at);
    let meta = marquee_core::store::ObjectMeta {
        prompt_sha256: String::new(),
        model: "reference".into(),
        seed: 0,
        requester: requester.to_owned(),
    };
    if let Err(e) = state.store.put_png(&key, accepted.png, &meta).await {
        tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "could not store an uploaded picture");
        return Err(refused(PICTURE_NOT_STARTED));
    }
    tracing::info!(file = %file.id, format = accepted.format.name(), original = ?accepted.original, "stored an uploaded picture");
    Ok(key)
}

/// For Change a detail, the description the change would leave the poster with, checked
/// against its limit inside the modal (one record read, well within Slack's 3 seconds). When
/// the record cannot be read the job is queued anyway: the worker reads it again, tells the
/// requester if it is gone, and never lets a description pass its limit.
async fn changed_description_fits(
    state: &AppState,
    submission: &Submission,
) -> Result<(), serde_json::Value> {
    let Form::ChangeDetail {
        ctx,
        search,
        replace,
        colour_only: false,
    } = &submission.form
    else {
        return Ok(());
    };
    match state
        .pipeline
        .changed_description(ctx.poster, search, replace)
        .await
    {
        Ok(Some(changed)) => modal::validate_changed_description(&changed),
        Ok(None) => Ok(()),
        Err(e) => {
            tracing::warn!(error = %marquee_core::errors::ErrorChain(&e), "could not read a poster to check a change's description; the worker checks it again");
            Ok(())
        }
    }
}
