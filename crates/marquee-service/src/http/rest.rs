//! The REST door: `POST /v1/posters` and `GET /v1/posters/{id}`, for callers API Gateway
//! authorised with IAM (or, locally, a bearer token). Jobs run like Slack ones; their outcome is
//! a status record the caller reads back.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::dispatch::DispatchError;
use crate::pipeline::RestStatus;
use marquee_core::job::{Job, PosterSpec, ReplyTo, Requester, Task};
use marquee_core::metrics::Event;
use marquee_core::poster::PosterText;
use marquee_core::request::{self, ModelPolicy, RequestError};
use marquee_core::slack::blocks;

use super::{ApiError, AppState, BasePath, body_bytes, in_request_span};

/// How the REST door (`/v1/*`) knows its caller. It starts paid work on the deployment's AWS
/// account, so it is never open to whoever can reach the server.
#[derive(Debug, Clone)]
pub enum RestAuth {
    /// Behind API Gateway, whose route requires IAM auth (the template): the caller is the
    /// IAM principal it authorised.
    Iam,
    /// `marquee serve`: a request must carry `Authorization: Bearer <MARQUEE_API_TOKEN>`.
    Bearer(marquee_core::secret::Secret),
    /// `marquee serve` with no token configured: the door is off.
    Off,
}

/// Who is calling the REST door, once [`RestAuth`] has let them in.
pub(super) struct RestCaller(String);

impl axum::extract::FromRequestParts<AppState> for RestCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        match &state.rest_auth {
            RestAuth::Iam => {
                let context = parts
                    .extensions
                    .get::<lambda_http::request::RequestContext>();
                Ok(RestCaller(rest_caller(context)))
            }
            RestAuth::Off => Err(ApiError::RestOff),
            RestAuth::Bearer(token) => {
                let presented = parts
                    .headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| {
                        let (scheme, rest) = v.trim().split_once(' ')?;
                        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
                    });
                match presented {
                    Some(presented) if token.matches(presented) => {
                        Ok(RestCaller("local".to_owned()))
                    }
                    _ => Err(ApiError::NoApiToken),
                }
            }
        }
    }
}

/// The REST door's request: the reference design's fields plus Marquee's typography.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreatePoster {
    prompt: String,
    #[serde(default)]
    aspect_ratio: Option<String>,
    #[serde(default)]
    seed: Option<u32>,
    #[serde(default)]
    negative_prompt: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    style: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    tagline: Option<String>,
    #[serde(default)]
    credits: Option<String>,
}

impl CreatePoster {
    /// Validates the request into a spec with the same rules and messages as `/poster`.
    fn into_spec(self, policy: &ModelPolicy) -> Result<PosterSpec, RequestError> {
        let model = request::choose_model(self.model, policy)?;
        let style = request::choose_style(self.style, &self.prompt)?;
        let aspect = request::choose_aspect(self.aspect_ratio)?;
        let spec = PosterSpec {
            picture: None,
            description: self.prompt.trim().to_owned(),
            text: PosterText {
                title: self.title,
                tagline: self.tagline,
                credits: self.credits,
            },
            style,
            aspect,
            seed: self.seed,
            avoid: self.negative_prompt,
            model,
            typography: None,
        };
        request::check_spec(&spec)?;
        Ok(spec)
    }
}

/// The longest `POST /v1/posters` waits for a poster when asked to (`Prefer: wait=N`). A
/// waiting request holds one of the function's executions, the same ones Slack's acks need
/// within 3 seconds; ten seconds sees most posters done, and together with the route's
/// throttle in template.yaml (`RouteSettings`, burst 5 at 0.5 a second) bounds the executions
/// REST waits can hold to about 5 + 0.5 × 10 = 10. A longer job is followed with `GET`.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// Who is calling the REST door: the IAM principal API Gateway authorised (the route requires
/// IAM auth in the template), or `local` when there is no API Gateway in front.
fn rest_caller(context: Option<&lambda_http::request::RequestContext>) -> String {
    use lambda_http::request::RequestContext;
    match context {
        Some(RequestContext::ApiGatewayV2(c)) => c
            .authorizer
            .as_ref()
            .and_then(|a| a.iam.as_ref())
            .and_then(|iam| iam.user_arn.clone().or_else(|| iam.caller_id.clone()))
            .unwrap_or_else(|| "unauthenticated".to_owned()),
        _ => "local".to_owned(),
    }
}

/// How long the caller asked to wait (RFC 7240 `Prefer: wait=N`), at most [`MAX_WAIT`].
fn preferred_wait(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .find_map(|p| p.trim().strip_prefix("wait=")?.trim().parse::<u64>().ok())
        .map(|secs| Duration::from_secs(secs).min(MAX_WAIT))
}

/// A REST job's status as the caller sees it, with a fresh link once the poster is done, and
/// the HTTP status that goes with it for `POST` (201 done, 202 pending, 429 over a limit, 422
/// otherwise failed).
fn status_document(
    state: &AppState,
    id: Uuid,
    status: &RestStatus,
    public_url: Option<&str>,
) -> Result<(StatusCode, serde_json::Value), ApiError> {
    // Absolute under the address the door was reached at (with any stage or prefix), so a
    // client can follow it as it is.
    let status_url = format!("{}/v1/posters/{id}", public_url.unwrap_or_default());
    Ok(match status {
        RestStatus::Pending { .. } => (
            StatusCode::ACCEPTED,
            json!({"id": id, "status": "pending", "status_url": status_url}),
        ),
        RestStatus::Done {
            key,
            model,
            seed,
            width,
            height,
            ..
        } => {
            let link = state.pipeline.link(key, public_url)?;
            let expires_at = link
                .expires_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            (
                StatusCode::CREATED,
                json!({
                    "id": id,
                    "status": "done",
                    "status_url": status_url,
                    "url": link.url,
                    "expires_at": expires_at,
                    "key": key,
                    "model": model,
                    "seed": seed,
                    "width": width,
                    "height": height,
                }),
            )
        }
        RestStatus::Failed { error, message, .. } => (
            if error == "OverLimit" {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            },
            json!({"id": id, "status": "failed", "status_url": status_url, "error": error, "message": message}),
        ),
    })
}

/// `POST /v1/posters`: checks the request, records it as pending, queues it for the worker
/// exactly as a Slack command is queued (same run marker, quotas and pipeline), and answers
/// `202` with the job's id and status URL. With `Prefer: wait=N` it waits up to N seconds
/// (at most [`MAX_WAIT`]) for the poster and answers `201` with its link when it is done in time.
pub(super) async fn create_poster(
    State(state): State<AppState>,
    headers: HeaderMap,
    base: Option<axum::Extension<BasePath>>,
    RestCaller(caller): RestCaller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_bytes(body)?;
    let request: CreatePoster =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let spec = request.into_spec(&state.policy)?;
    let requester = Requester {
        user_id: caller,
        user_name: None,
        team_id: None,
        channel_id: None,
        ..Requester::default()
    };
    let public_url = state.public_url.resolve(&headers, base.as_deref());
    let job = Job::new(
        Task::Poster { spec },
        requester,
        ReplyTo::Status,
        (state.clock)(),
    )
    .with_public_url(public_url.clone());
    let id = job.id;
    in_request_span(id);
    if !state.records.accept_rest(&job).await? {
        return Err(ApiError::Unavailable);
    }
    if let Err(e) = state.dispatcher.dispatch(job.clone()).await {
        if matches!(e, DispatchError::Busy) {
            state.pipeline.metrics().record(Event::Shed);
            // The status says so too, for a caller who polls it anyway.
            state
                .pipeline
                .fail_rest(&job, "Busy", blocks::BUSY.to_owned())
                .await;
            return Err(ApiError::Busy);
        }
        tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "could not queue a REST poster job");
        return Err(ApiError::Unavailable);
    }
    tracing::info!("REST poster accepted");
    let mut status = RestStatus::Pending {
        caller: String::new(),
        accepted_at: 0,
    };
    if let Some(wait) = preferred_wait(&headers) {
        let until = tokio::time::Instant::now() + wait;
        let mut pauses = crate::pipeline::wait_backoff();
        loop {
            if let Some(now) = state.records.rest_status(id).await? {
                status = now;
            }
            let now = tokio::time::Instant::now();
            if !matches!(status, RestStatus::Pending { .. }) || now >= until {
                break;
            }
            let pause = pauses.next().unwrap_or(Duration::from_secs(2));
            tokio::time::sleep(pause.min(until - now)).await;
        }
    }
    let (code, document) = status_document(&state, id, &status, public_url.as_deref())?;
    let location = document["status_url"]
        .as_str()
        .and_then(|url| HeaderValue::from_str(url).ok())
        .unwrap_or_else(|| HeaderValue::from_static("/v1/posters"));
    Ok((code, [(header::LOCATION, location)], Json(document)).into_response())
}

/// `GET /v1/posters/{id}`: where a REST job stands, for the caller who started it only (any
/// other caller gets the same 404 as for a job that does not exist).
pub(super) async fn poster_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    base: Option<axum::Extension<BasePath>>,
    RestCaller(caller): RestCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let status = match state.records.rest_status(id).await? {
        Some(status) if status.caller() == caller => status,
        _ => return Err(ApiError::NotFound),
    };
    let public_url = state.public_url.resolve(&headers, base.as_deref());
    let (_, document) = status_document(&state, id, &status, public_url.as_deref())?;
    Ok(Json(document).into_response())
}
