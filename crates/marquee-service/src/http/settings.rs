//! The brand kit's Settings, on the interactivity door: the Home tab's Settings button opens
//! the modal (within the click's 3-second trigger, so `views.open` is called before the ack,
//! after one `users.info` — cached — and one read of the kit), and the modal's submission is
//! checked, stored with a record of the change, and the modal closed.
//!
//! Who may act is decided here on trusted fields only: the payload's `user.id` and
//! `user.team_id` (a Slack Connect guest's is their own workspace: never an admin here), and
//! Slack's `users.info` for that user (`pipeline::Admins`) — on the click *and again on the
//! submission*, never on anything the modal carries (`private_metadata`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;

use super::{ApiError, AppState};
use marquee_core::errors::ErrorChain;
use marquee_core::job::{Job, ReplyTo, Requester, Task};
use marquee_core::model::ModelId;
use marquee_core::slack::interaction::SettingsClick;
use marquee_core::slack::settings::{self, KitChange, SettingsSubmission};

/// What someone who is not an admin sees instead of the form (a stale Home tab's button).
const ADMINS_ONLY: &str = "Only this workspace's admins and owners (and the people your Marquee admin named) can change the brand kit.";

/// The models an admin may allow: the deployment's, never a retired one.
fn offered(state: &AppState) -> Vec<ModelId> {
    state
        .policy
        .allowed
        .iter()
        .copied()
        .filter(|m| m.is_offered())
        .collect()
}

/// The Settings button was clicked: the modal for an admin, a note for anyone else.
pub(super) async fn open(state: &AppState, click: &SettingsClick) -> Result<Response, ApiError> {
    let Some(web) = state.delivery.web() else {
        return Ok(StatusCode::OK.into_response());
    };
    let requester = &click.requester;
    if !state.pipeline.admins().is_admin(requester, Some(web)).await {
        tracing::info!("settings refused: the clicker is not an admin of the installation");
        let note = json!({
            "type": "modal",
            "title": {"type": "plain_text", "text": "Brand kit"},
            "close": {"type": "plain_text", "text": "Close"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": ADMINS_ONLY}}],
        });
        if let Err(e) = web.open_view(&click.trigger_id, &note).await {
            tracing::warn!(code = e.code(), "could not show the admins-only note");
        }
        return Ok(StatusCode::OK.into_response());
    }
    let kit = match state.records.kit(requester).await {
        Ok(kit) => kit,
        Err(e) => {
            tracing::error!(error = %ErrorChain(&e), "could not read the brand kit");
            return Err(ApiError::Unavailable);
        }
    };
    if let Err(e) = web
        .open_view(
            &click.trigger_id,
            &settings::settings_view(&kit, &offered(state)),
        )
        .await
    {
        tracing::warn!(code = e.code(), error = %ErrorChain(&e), "could not open the settings modal");
    }
    Ok(StatusCode::OK.into_response())
}

/// The Settings modal was submitted: admin-ness checked again, fields checked, the kit stored
/// with its change, the modal closed and the admin's Home tab published again.
pub(super) async fn submit(
    state: &AppState,
    submitted: SettingsSubmission,
    public_url: Option<String>,
) -> Result<Response, ApiError> {
    let requester = &submitted.requester;
    if !state
        .pipeline
        .admins()
        .is_admin_now(requester, state.delivery.web())
        .await
    {
        tracing::warn!("a settings submission from someone who is not an admin; refused");
        return Ok(Json(json!({
            "response_action": "errors",
            "errors": {settings::FIRST_FIELD: ADMINS_ONLY},
        }))
        .into_response());
    }
    let kit = match settings::validate(&submitted, &offered(state)) {
        Ok(kit) => kit,
        Err(errors) => return Ok(Json(errors).into_response()),
    };
    let old = state.records.kit(requester).await.map_err(|e| {
        tracing::error!(error = %ErrorChain(&e), "could not read the brand kit");
        ApiError::Unavailable
    })?;
    let what = kit.changes_from(&old);
    if what.is_empty() {
        return Ok(StatusCode::OK.into_response());
    }
    let change = KitChange {
        by: requester.user_id.clone(),
        at: OffsetDateTime::now_utc().unix_timestamp(),
        what,
    };
    if let Err(e) = state.records.set_kit(requester, &kit, &change).await {
        tracing::error!(error = %ErrorChain(&e), "could not store the brand kit");
        return Err(ApiError::Unavailable);
    }
    tracing::info!(changes = change.what.len(), "brand kit changed");
    republish_home(state, requester, public_url).await;
    Ok(StatusCode::OK.into_response())
}

/// Queues the admin's Home tab again, so the change shows where they made it. Best effort.
async fn republish_home(state: &AppState, requester: &Requester, public_url: Option<String>) {
    let job = Job::new(
        Task::Home,
        requester.clone(),
        ReplyTo::AppHome,
        (state.clock)(),
    )
    .with_public_url(public_url);
    if let Err(e) = state.dispatcher.dispatch(job).await {
        tracing::warn!(error = %ErrorChain(&e), "could not queue the home tab after a settings change");
    }
}
