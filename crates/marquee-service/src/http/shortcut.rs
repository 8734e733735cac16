//! The message shortcut "Make a poster from this message", on the interactivity door: its
//! use opens a modal pre-filled from the message (within the 3-second trigger, so it calls
//! `views.open` before it answers, as Edit words does), and the modal's submission is queued
//! as a new poster for that message's thread, like `/poster`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::slack::{start_once, tell_clicker};
use super::{ApiError, AppState};
use crate::dispatch::DispatchError;
use marquee_core::job::{Job, ReplyTo, SlackMessageRef, Task};
use marquee_core::metrics::Event;
use marquee_core::slack::blocks;
use marquee_core::slack::shortcut::{self, FromMessage, MessageShortcut};
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
    if let Err(e) = web.open_view(&used.trigger_id, &shortcut::view(used)).await {
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
    let spec = match submitted.spec(&state.policy) {
        Ok(spec) => spec,
        Err(errors) => return Ok(Json(errors).into_response()),
    };
    let job = Job::new(
        Task::Poster { spec },
        submitted.actor.requester(&ctx.channel_id),
        ReplyTo::SlackResponseUrl {
            response_url: ctx.response_url.clone(),
            thread: Some(SlackMessageRef {
                channel_id: ctx.channel_id.clone(),
                thread_ts: ctx.thread_ts.clone(),
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
        "view": shortcut::accepted_view(),
    }))
    .into_response())
}
