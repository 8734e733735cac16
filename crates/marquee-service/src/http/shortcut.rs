//! The message shortcut "Make a poster from this message", on the interactivity door: its
//! use opens a modal pre-filled from the message (within the 3-second trigger, so it calls
//! `views.open` before it answers, as Edit words does), and the modal's submission is queued
//! as a new poster for that message's thread, like `/poster`. `/poster` alone opens the
//! **New poster** form the same way, from the command door, and its submission is read here.
//!
//! A picture either form brings (the New poster form's upload, the message's own picture) is
//! fetched with the bot token, checked and stored under `refs/` before the form is answered,
//! so every refusal shows inside it, with nothing stored, queued or billed.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::slack::{start_once, store_picture, tell_clicker};
use super::{ApiError, AppState};
use crate::dispatch::DispatchError;
use marquee_core::errors::ErrorChain;
use marquee_core::job::{Job, PictureRef, ReplyTo, Requester, SlackMessageRef, Task};
use marquee_core::metrics::Event;
use marquee_core::slack::blocks;
use marquee_core::slack::command::SlashCommand;
use marquee_core::slack::modal::UploadedFile;
use marquee_core::slack::shortcut::{
    self, FromMessage, MessageShortcut, PicturePick, PictureSource, ThreadContext,
};
use marquee_core::slack::verify::Sight;

/// The shortcut was used: open the modal, or say privately why not.
pub(super) async fn open(state: &AppState, used: &MessageShortcut) -> Result<Response, ApiError> {
    let response_url = &used.ctx.response_url;
    if !state.delivery.slack().is_allowed(response_url) {
        tracing::warn!(team = ?used.actor.team_id, "refused a shortcut whose response_url is not an allowed Slack URL");
        return Err(ApiError::BadRequest(
            "response_url is not a Slack URL".into(),
        ));
    }
    let requester = used.actor.requester(&used.ctx.channel_id);
    // The poster would only be refused by the worker: say so now, with no form.
    if let Some(why) = state.pipeline.outsider_to_start(&requester) {
        tracing::info!("shortcut refused: the user is outside the installation");
        tell_clicker(state, response_url, why).await;
        return Ok(StatusCode::OK.into_response());
    }
    let Some(web) = state.delivery.web() else {
        tell_clicker(
            state,
            response_url,
            "🎬 Making a poster from a message opens a form, which needs Marquee's bot token. Ask your Marquee admin to add one (see the install guide); `/poster` works meanwhile.",
        )
        .await;
        return Ok(StatusCode::OK.into_response());
    };
    if let Err(e) = web
        .open_view(
            &used.trigger_id,
            &shortcut::view(used, &picture_uses(state)),
        )
        .await
    {
        tracing::warn!(code = e.code(), error = %marquee_core::errors::ErrorChain(&e), "could not open the poster-from-message modal");
        tell_clicker(
            state,
            response_url,
            "Slack didn't open the form in time. Please use the shortcut again.",
        )
        .await;
    }
    Ok(StatusCode::OK.into_response())
}

/// The uses of a picture the forms offer: those a model here can make for a new poster of
/// the deployment's default model (what the forms' posters are drawn with).
fn picture_uses(state: &AppState) -> Vec<marquee_core::job::PictureUse> {
    shortcut::NEW_POSTER_USES
        .into_iter()
        .filter(|u| state.pipeline.can_use_picture(state.policy.default, *u))
        .collect()
}

/// `/poster` alone, with a bot token and the command's `trigger_id`: the New poster form,
/// opened before the command is answered (the trigger lives 3 seconds; the caller recorded
/// the request's first sight). Who may start a poster is decided on the command's own fields
/// (`user_id`, `team_id`, `enterprise_id` with `is_enterprise_install`: `Requester::from`),
/// as for a typed `/poster`. When Slack does not open the form, the answer is the help
/// `card`, so the person is never left with nothing.
pub(super) async fn open_form(
    state: &AppState,
    command: &SlashCommand,
    card: blocks::Message,
) -> Result<Response, ApiError> {
    let requester = Requester::from(command);
    if let Some(why) = state.pipeline.outsider_to_start(&requester) {
        tracing::info!("new poster form refused: the user is outside the installation");
        return Ok(Json(blocks::note_to_clicker(why)).into_response());
    }
    let (Some(web), Some(trigger), Some(channel_id)) = (
        state.delivery.web(),
        command.trigger_id.as_deref(),
        command.channel_id.clone(),
    ) else {
        return Ok(Json(blocks::usage_when_form_failed(card)).into_response());
    };
    let ctx = ThreadContext {
        response_url: command.response_url.clone(),
        channel_id,
        thread_ts: None,
        file: None,
    };
    match web
        .open_view(
            trigger,
            &shortcut::new_poster_view(&ctx, &picture_uses(state)),
        )
        .await
    {
        Ok(()) => Ok(StatusCode::OK.into_response()),
        Err(e) => {
            tracing::warn!(code = e.code(), error = %ErrorChain(&e), "could not open the new poster form");
            Ok(Json(blocks::usage_when_form_failed(card)).into_response())
        }
    }
}

/// The modal was submitted: field errors go back into it; a good one is queued as a poster
/// for the message's thread, and the modal says so.
pub(super) async fn submit(
    state: &AppState,
    submitted: FromMessage,
    public_url: Option<String>,
    sight: &Sight,
) -> Result<Response, ApiError> {
    let ctx = &submitted.ctx;
    if !state.delivery.slack().is_allowed(&ctx.response_url) {
        tracing::warn!(team = ?submitted.actor.team_id, "refused a modal whose response_url is not an allowed Slack URL");
        return Err(ApiError::BadRequest(
            "response_url is not a Slack URL".into(),
        ));
    }
    let mut spec = match submitted.spec(&state.policy) {
        Ok(spec) => spec,
        Err(errors) => return Ok(Json(errors).into_response()),
    };
    let requester = submitted.actor.requester(&ctx.channel_id);
    if let Some(pick) = &submitted.picture {
        match picture(state, &submitted, pick, &requester, spec.model).await {
            Ok(picture) => spec.picture = Some(picture),
            Err(errors) => return Ok(Json(errors).into_response()),
        }
    }
    let job = Job::new(
        Task::Poster { spec },
        requester,
        ReplyTo::SlackResponseUrl {
            response_url: ctx.response_url.clone(),
            thread: ctx.thread_ts.as_ref().map(|thread_ts| SlackMessageRef {
                channel_id: ctx.channel_id.clone(),
                thread_ts: thread_ts.clone(),
            }),
        },
        (state.clock)(),
    )
    .with_public_url(public_url);
    let id = job.id;
    if let Err(e) = start_once(state, job, sight).await? {
        let text = if matches!(e, DispatchError::Busy) {
            state.pipeline.metrics().record(Event::Shed);
            blocks::BUSY.to_owned()
        } else {
            tracing::error!(job = %id, error = %marquee_core::errors::ErrorChain(&e), "could not queue a poster from a message");
            "Marquee couldn't start your poster. Nothing was generated or charged; please try again in a moment.".to_owned()
        };
        return Ok(Json(shortcut::could_not_start(&text)).into_response());
    }
    tracing::info!(job = %id, "poster from a message accepted");
    Ok(Json(json!({
        "response_action": "update",
        "view": shortcut::accepted_view(ctx.thread_ts.is_some()),
    }))
    .into_response())
}

/// The picture a form chose, fetched, checked and stored (`slack::store_picture`), or the
/// form's answer with why not under the picture's field. Refused before anything is fetched
/// when the submitter is outside the installation or no model here can use a picture so.
async fn picture(
    state: &AppState,
    submitted: &FromMessage,
    pick: &PicturePick,
    requester: &Requester,
    model: marquee_core::model::ModelId,
) -> Result<PictureRef, serde_json::Value> {
    let block = submitted.picture_block();
    let refused = |words: &str| json!({"response_action": "errors", "errors": { block: words }});
    if let Some(why) = state.pipeline.outsider_to_start(requester) {
        tracing::info!("picture refused: the submitter is outside the installation");
        return Err(refused(why));
    }
    if !state.pipeline.can_use_picture(model, pick.usage) {
        return Err(refused(&format!(
            "{} here can't {}. Make the poster without it, or ask your Marquee admin.",
            model.display_name(),
            pick.usage.kind().describe()
        )));
    }
    let file = match &pick.source {
        // Who may use the file: the submitter uploaded it (checked by `FromMessage::spec`).
        PictureSource::Upload(file) => file.clone(),
        PictureSource::Message(shown) => message_file(state, &shown.id, &refused).await?,
    };
    let reference = store_picture(state, &file, &requester.user_id, &refused).await?;
    Ok(PictureRef {
        usage: pick.usage,
        reference,
        name: file.shown_name(),
    })
}

/// The message's picture, described again by Slack to the bot (`files.info`). Only its id is
/// trusted, and only because it came from the shortcut's signed `message_action` payload
/// (`message.files[].id`, kept in the form's `private_metadata`, which only the app sets):
/// its URL, name and size are Slack's answer now, never anything a payload or a person
/// supplied, and the download goes through the same allow-listed, checked path as an upload.
/// A file the bot may not read (`file_not_found`: not shared where the bot is) is refused.
async fn message_file(
    state: &AppState,
    id: &str,
    refused: &(dyn Fn(&str) -> serde_json::Value + Sync),
) -> Result<UploadedFile, serde_json::Value> {
    let Some(web) = state.delivery.web() else {
        return Err(refused(
            "Using a picture needs Marquee's bot token. Ask your Marquee admin to add one (see the install guide).",
        ));
    };
    let described = match web.file_info(id).await {
        Ok(file) => file,
        Err(e) => {
            tracing::warn!(file = %id, code = e.code(), error = %ErrorChain(&e), "could not read a message's picture");
            return Err(refused(
                "Marquee can't read that message's picture (it may be in a conversation Marquee isn't in). Use /poster alone and upload it there.",
            ));
        }
    };
    match serde_json::from_value::<UploadedFile>(described) {
        Ok(file) if file.id == id => Ok(file),
        _ => {
            tracing::warn!(file = %id, "files.info answered with another or no file");
            Err(refused(super::slack::PICTURE_NOT_STARTED))
        }
    }
}
