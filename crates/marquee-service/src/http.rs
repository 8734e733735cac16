//! The one HTTP router: every route Marquee serves, in Lambda (through `lambda_http`) and on a
//! local TCP listener alike.
//!
//! Slack routes take a `SlackSigned` body: the extractor reads it within the size limit,
//! verifies the signature over the raw bytes and only then decodes it, so a handler never sees
//! an unverified byte. They ack at once: nothing on the ack path awaits the model, the store or
//! the worker — only the dispatcher's enqueue. `ApiError` is the one place where request
//! failures become statuses and messages. The router and [`routes`] (what the deployment
//! template is checked against) are built from one table, so they cannot drift. A layer on the
//! two Slack routes counts and times every answer as an ack (`metrics`): one log line, after
//! the response is ready.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::dispatch::{DispatchError, Dispatcher};
use crate::pipeline::{Cause, Pipeline, PipelineError, RestStatus};
use marquee_core::job::{Change, Job, PosterSpec, ReplyTo, Requester, SlackMessageRef, Task};
use marquee_core::metrics::{Door, Event, Metrics};
use marquee_core::poster::PosterText;
use marquee_core::request::{self, ModelPolicy, RequestError};
use marquee_core::slack::blocks;
use marquee_core::slack::command::{self, PosterCommand, SlashCommand};
use marquee_core::slack::interaction::{self, Click, Interaction, InteractionError, Review};
pub use marquee_core::slack::modal::{self, Form, ModalContext, Submission};
use marquee_core::slack::verify::{self, VerifyError};
use marquee_core::store::{LinkError, LinkSigner, ObjectStore};

mod events;
mod shortcut;

/// One route: its method, its path (axum's syntax) and its handler.
type Route = (Method, &'static str, MethodRouter<AppState>);

fn route<H, T>(method: Method, path: &'static str, handler: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone())
        .unwrap_or_else(|_| unreachable!("the table uses only standard methods"));
    (method, path, on(filter, handler))
}

/// Every route Marquee serves, in Lambda and locally alike.
fn table() -> [Route; 7] {
    [
        route(Method::POST, "/slack/commands", slash_command),
        route(Method::POST, "/slack/interactions", interaction),
        route(Method::POST, "/slack/events", events::events),
        route(Method::POST, "/v1/posters", create_poster),
        route(Method::GET, "/v1/posters/{id}", poster_status),
        route(Method::GET, "/healthz", healthz),
        route(Method::GET, "/files/{*key}", serve_file),
    ]
}

/// Every route as (method, path), from the same table as [`router`]; the deployment template
/// is checked against it.
pub fn routes() -> Vec<(Method, &'static str)> {
    table().into_iter().map(|(m, p, _)| (m, p)).collect()
}

/// The largest poster `/files/` serves itself. Lambda's synchronous responses are capped at
/// 6 MB, which a PNG reaches base64-encoded at about 4.5 MB; a poster is about a quarter of that.
const MAX_FILE_BYTES: usize = 4_400_000;

/// The largest request body accepted. Slack's slash-command and interaction bodies are a few
/// kilobytes; anything bigger is refused with 413 before any work is done.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A source of "now" in unix seconds; a parameter so signature windows can be tested.
type Clock = fn() -> i64;

pub fn system_clock() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// What every handler shares. Built once at start.
#[derive(Clone)]
pub struct AppState {
    pub signing_secret: Option<verify::SigningSecret>,
    pub policy: ModelPolicy,
    pub pipeline: Arc<Pipeline>,
    pub dispatcher: Arc<dyn Dispatcher>,
    /// Where posters are read from for `/files/` links.
    pub store: Arc<dyn ObjectStore>,
    /// Checks `/files/` links.
    pub links: LinkSigner,
    /// The address links are served under.
    pub public_url: PublicUrl,
    pub clock: Clock,
    /// Who may use the REST door (`/v1/*`).
    pub rest_auth: RestAuth,
}

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
struct RestCaller(String);

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

/// The address under which this deployment serves `/files/` links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicUrl {
    /// Configured (`MARQUEE_PUBLIC_URL`), or a local server's own address.
    Fixed(String),
    /// Behind API Gateway: `https://` plus the `Host` the request arrived on. API Gateway
    /// routes by that host, so only the API's own domains (or its custom domain) get here.
    FromRequest,
}

impl PublicUrl {
    /// The base URL for links made for a request with these `headers`, reached under `base`
    /// (an API Gateway stage or a custom domain's base path, see [`under_base_path`]).
    fn resolve(&self, headers: &HeaderMap, base: Option<&BasePath>) -> Option<String> {
        match self {
            PublicUrl::Fixed(url) => Some(url.clone()),
            PublicUrl::FromRequest => {
                let host = headers.get(header::HOST)?.to_str().ok()?;
                // A host name with an optional port: nothing that could reshape the URL.
                let plausible = !host.is_empty()
                    && host.len() <= 253
                    && host
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
                plausible.then(|| {
                    let base = base.map_or("", |b| b.0.as_str());
                    format!("https://{}{base}", host.to_ascii_lowercase())
                })
            }
        }
    }
}

/// The path prefix an API Gateway request was reached under and the router does not route
/// on: a named stage (`/prod`) or a custom domain's API mapping (`/marquee`). Links and status
/// URLs made for the request keep it, so they work where the request itself did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BasePath(String);

/// Takes the stage or base path off an API Gateway v2 request's path, so the router sees its
/// own routes, and keeps it as the request's [`BasePath`].
///
/// An HTTP API's event keeps the whole path the client asked for: `rawPath` carries a named
/// stage's segment and a custom domain's mapping key before the route's path (lambda_http's
/// `apigw_path_with_stage` adds the stage when `rawPath` lacks it; its test event
/// `lambda-http/tests/data/apigw_v2_proxy_request_with_stage_in_path.json` shows `/Prod/my/path`).
/// API Gateway names the route it matched in `requestContext.routeKey` (`POST /slack/commands`,
/// `GET /files/{key+}` with the key in `pathParameters`), so the prefix is whatever precedes
/// that route's path; with no route key to go by (`$default`) it is the stage's segment, if
/// the path has one. Anything else is left as it is.
pub(crate) fn under_base_path<B>(mut request: http::Request<B>) -> http::Request<B> {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        return request;
    };
    let path = request.uri().path();
    let route = context
        .route_key
        .as_deref()
        .and_then(|key| key.split_once(' '))
        .map(|(_, route)| fill_route(route, &request.path_parameters()));
    let prefix = match route {
        Some(route) if route.starts_with('/') && path.ends_with(&route) => {
            &path[..path.len() - route.len()]
        }
        _ => match context.stage.as_deref() {
            Some(stage) if stage != "$default" && !stage.is_empty() => {
                let segment = format!("/{stage}");
                if path.starts_with(&format!("{segment}/")) {
                    &path[..segment.len()]
                } else {
                    ""
                }
            }
            _ => "",
        },
    };
    // Stage names and mapping keys are letters, digits and `-._~/`: nothing that could
    // reshape a URL built on them.
    let plausible = prefix.starts_with('/')
        && !prefix.ends_with('/')
        && prefix.len() <= 256
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/'));
    if !plausible {
        return request;
    }
    let prefix = prefix.to_owned();
    let rest = match request.uri().path_and_query() {
        Some(pq) => pq.as_str()[prefix.len()..].to_owned(),
        None => return request,
    };
    let mut parts = request.uri().clone().into_parts();
    match rest.parse() {
        Ok(pq) => parts.path_and_query = Some(pq),
        Err(_) => return request,
    }
    if let Ok(uri) = http::Uri::from_parts(parts) {
        *request.uri_mut() = uri;
        request.extensions_mut().insert(BasePath(prefix));
    }
    request
}

/// A route key's path (`/files/{key+}`) with its parameters filled in from the event's
/// `pathParameters`, as the request's path spells it.
fn fill_route(
    route: &str,
    parameters: &lambda_http::aws_lambda_events::query_map::QueryMap,
) -> String {
    route
        .split('/')
        .map(|segment| {
            match segment
                .strip_prefix('{')
                .and_then(|s| s.strip_suffix('}'))
                .map(|name| name.trim_end_matches('+'))
            {
                Some(name) => parameters.first(name).unwrap_or(segment).to_owned(),
                None => segment.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The Slack door a path is, if it is one: its answers are acks, counted and timed.
fn door(path: &str) -> Option<Door> {
    match path {
        "/slack/commands" => Some(Door::Command),
        "/slack/interactions" => Some(Door::Interaction),
        "/slack/events" => Some(Door::Events),
        _ => None,
    }
}

/// Builds the router.
pub fn router(state: AppState) -> Router {
    table()
        .into_iter()
        .fold(Router::new(), |app, (_, path, handler)| {
            let handler = match door(path) {
                Some(door) => handler.layer(middleware::from_fn_with_state(
                    (state.pipeline.metrics().clone(), door),
                    time_ack,
                )),
                None => handler,
            };
            app.route(path, handler)
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Counts and times an ack, from the request reaching its route (before the body is read and
/// verified) to the response: one metric line, nothing awaited but the handler itself.
async fn time_ack(
    State((metrics, door)): State<(Metrics, Door)>,
    request: Request,
    next: Next,
) -> Response {
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    metrics.record(Event::Ack {
        door,
        latency: started.elapsed(),
    });
    response
}

/// A request from Slack, read within [`MAX_BODY_BYTES`], its signature verified over the raw
/// body (`slack::verify`), and only then decoded as `T`.
struct SlackSigned<T>(T);

/// What a verified Slack body decodes into.
trait SlackBody: Sized + Send {
    fn decode(body: &[u8]) -> Result<Self, ApiError>;

    /// What a body is that is answered without verifying it (nothing, unless a route says).
    fn unsigned(_body: &[u8]) -> Option<Self> {
        None
    }

    /// Whether a replay is told by its signature (remembered through Slack's replay window).
    /// The Events API keys its own once-only on `event_id`, which a replay repeats and a
    /// retry (a fresh signature) does too.
    const REPLAY_BY_SIGNATURE: bool = true;
}

/// What Slack posts to the slash-command URL: a command, or its SSL check.
enum CommandBody {
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
struct InteractionPayload(String);

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
            return Ok(SlackSigned(unsigned));
        }
        let secret = state
            .signing_secret
            .as_ref()
            .ok_or(ApiError::NoSigningSecret)?;
        secret.verify(&headers, &body, (state.clock)()).await?;
        let decoded = T::decode(&body)?;
        if !T::REPLAY_BY_SIGNATURE {
            return Ok(SlackSigned(decoded));
        }
        // A replay inside the five-minute window verifies like the original; its signature
        // (over the timestamp and body, which carries a fresh trigger_id per request) is what
        // gives it away. The first sight is recorded before anything is queued.
        let signature = headers
            .get(verify::SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        match state.pipeline.first_sight(signature).await {
            Ok(true) => {}
            Ok(false) => return Err(ApiError::Replayed),
            Err(e) => {
                tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "could not record a slack request; refusing it rather than risk running it twice");
                return Err(ApiError::Unavailable);
            }
        }
        Ok(SlackSigned(decoded))
    }
}

/// Request failures, each with its status and a message for the caller.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("invalid slack signature: {0}")]
    Unauthorized(#[from] VerifyError),
    #[error("slack signing is not configured on this server")]
    NoSigningSecret,
    #[error("malformed request body: {0}")]
    BadRequest(String),
    #[error("{0}")]
    Invalid(#[from] RequestError),
    #[error("poster generation failed")]
    Pipeline(#[from] PipelineError),
    #[error("the request body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    Gone(&'static str),
    #[error("not found")]
    NotFound,
    #[error("the service is temporarily unavailable; try again shortly")]
    Unavailable,
    #[error("this request was already received")]
    Replayed,
    #[error(
        "the REST door is off on this server: set MARQUEE_API_TOKEN and send it as `Authorization: Bearer <token>`"
    )]
    RestOff,
    #[error("the REST door needs `Authorization: Bearer <MARQUEE_API_TOKEN>`")]
    NoApiToken,
    #[error("{}", blocks::BUSY)]
    Busy,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self {
            // The original is being handled; acknowledging the copy with an empty 200 starts
            // nothing and shows nothing, whoever sent it.
            ApiError::Replayed => {
                tracing::warn!("ignored a replayed slack request (its signature was seen before)");
                return StatusCode::OK.into_response();
            }
            ApiError::Unauthorized(e) => {
                tracing::warn!(reason = %e, "rejected a request with a bad slack signature");
                (
                    StatusCode::UNAUTHORIZED,
                    "invalid_signature",
                    self.to_string(),
                )
            }
            ApiError::NoSigningSecret => {
                tracing::error!("a slack request arrived but SLACK_SIGNING_SECRET is not set");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not_configured",
                    "this Marquee has no Slack signing secret configured — set SLACK_SIGNING_SECRET".to_owned(),
                )
            }
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request", self.to_string()),
            ApiError::Invalid(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                self.to_string(),
            ),
            ApiError::Pipeline(e) => {
                let x = e.explain();
                let status = status_for(x.cause);
                if status.is_server_error() {
                    tracing::error!(kind = x.kind, error = %marquee_core::errors::ErrorChain(e), "poster request failed");
                }
                return (
                    status,
                    Json(
                        json!({"error": x.kind, "message": format!("{} {}", x.headline, x.advice)}),
                    ),
                )
                    .into_response();
            }
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", self.to_string()),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", (*m).to_owned()),
            ApiError::Gone(m) => (StatusCode::GONE, "gone", (*m).to_owned()),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found", self.to_string()),
            ApiError::RestOff => (StatusCode::NOT_FOUND, "rest_door_off", self.to_string()),
            ApiError::NoApiToken => {
                tracing::warn!("refused a REST request without the API token");
                return (
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
                    Json(json!({"error": "unauthorized", "message": self.to_string()})),
                )
                    .into_response();
            }
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                self.to_string(),
            ),
            ApiError::Busy => {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, HeaderValue::from_static("60"))],
                    Json(json!({"error": "busy", "message": self.to_string()})),
                )
                    .into_response();
            }
        };
        (status, Json(json!({"error": code, "message": message}))).into_response()
    }
}

/// The REST door's status for each kind of pipeline failure.
fn status_for(cause: Cause) -> StatusCode {
    match cause {
        Cause::Refused => StatusCode::UNPROCESSABLE_ENTITY,
        Cause::NotOffered => StatusCode::BAD_REQUEST,
        Cause::Gone => StatusCode::NOT_FOUND,
        Cause::Busy => StatusCode::SERVICE_UNAVAILABLE,
        Cause::TimedOut => StatusCode::GATEWAY_TIMEOUT,
        Cause::Upstream => StatusCode::BAD_GATEWAY,
        Cause::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Alive, and — on a local server — how full its job queue is (`queue`: waiting, running,
/// limit, slots, oldest_age_secs, shed).
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let mut body = json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")});
    if let Some(backlog) = state.dispatcher.backlog().await {
        body["queue"] = json!(backlog);
    }
    Json(body)
}

/// Reads the body, turning axum's rejections (over the limit, a broken stream) into ours.
fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::BadRequest(rejection.body_text())
        }
    })
}

/// Slack's slash command. Answers within milliseconds: help, a problem with the command, or
/// "generating", after queueing the job.
async fn slash_command(
    State(state): State<AppState>,
    headers: HeaderMap,
    base: Option<axum::Extension<BasePath>>,
    SlackSigned(command): SlackSigned<CommandBody>,
) -> Result<Response, ApiError> {
    let command = match command {
        CommandBody::Command(command) => *command,
        CommandBody::SslCheck => {
            tracing::info!("answered slack's ssl check");
            return Ok(StatusCode::OK.into_response());
        }
    };
    if !state.pipeline.slack().is_allowed(&command.response_url) {
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
    if let Err(e) = state.dispatcher.dispatch(job).await {
        if matches!(e, DispatchError::Busy) {
            state.pipeline.metrics().record(Event::Shed);
            return Ok(Json(blocks::busy()).into_response());
        }
        tracing::error!(job = %id, error = %marquee_core::errors::ErrorChain(&e), "could not queue a slash command job");
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
    tracing::info!(job = %id, "slash command accepted");
    Ok(match ack {
        Some(ack) => Json(ack).into_response(),
        None => StatusCode::OK.into_response(),
    })
}

/// Slack's interactivity endpoint: the controls on poster messages and the review modals.
/// Clicks are acked at once with an empty 200 and queued for the worker exactly as slash
/// commands are; the worker answers through the interaction's `response_url`. Edit words and
/// Change a detail open a modal first (within the click's 3-second trigger); a submitted modal
/// is checked here, so field errors show inside it, then queued like a click.
async fn interaction(
    State(state): State<AppState>,
    headers: HeaderMap,
    base: Option<axum::Extension<BasePath>>,
    SlackSigned(InteractionPayload(payload)): SlackSigned<InteractionPayload>,
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
            queue_click(&state, &click, task, public_url).await
        }
        Interaction::Review(click) => match click.action {
            Review::Vary(strength) => {
                let task = Task::Retake {
                    source: click.source,
                    change: Change::Vary { strength },
                };
                queue_click(&state, &click, task, public_url).await
            }
            Review::Print => {
                let task = Task::Print {
                    source: click.source,
                };
                queue_click(&state, &click, task, public_url).await
            }
            Review::EditWords | Review::ChangeDetail => open_modal(&state, &click).await,
        },
        Interaction::Submission(submission) => submit(&state, submission, public_url).await,
        Interaction::Shortcut(used) => shortcut::open(&state, &used).await,
        Interaction::FromMessage(submitted) => {
            shortcut::submit(&state, submitted, public_url).await
        }
    }
}

/// Queues the worker's job for a click, or tells the clicker it could not be started.
async fn queue_click<A>(
    state: &AppState,
    click: &Click<A>,
    task: Task,
    public_url: Option<String>,
) -> Result<Response, ApiError> {
    if !state.pipeline.slack().is_allowed(&click.response_url) {
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
    if let Err(e) = state.dispatcher.dispatch(job).await {
        if matches!(e, DispatchError::Busy) {
            state.pipeline.metrics().record(Event::Shed);
            tell_clicker(state, &click.response_url, blocks::BUSY).await;
            return Ok(StatusCode::OK.into_response());
        }
        tracing::error!(job = %id, error = %marquee_core::errors::ErrorChain(&e), "could not queue an interaction job");
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
    tracing::info!(job = %id, "interaction accepted");
    Ok(StatusCode::OK.into_response())
}

/// A private note to whoever clicked, through the click's `response_url`; best effort.
async fn tell_clicker(state: &AppState, response_url: &str, text: &str) {
    let note = blocks::note_to_clicker(text);
    if let Err(e) = state.pipeline.slack().respond(response_url, &note).await {
        tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "could not tell the clicker");
    }
}

/// Opens the Edit words or Change a detail modal for a click, pre-filled from the poster's
/// record. Slack's trigger lives 3 seconds, so this is the one click that reads state on the
/// ack path (one item) and calls Slack before answering.
async fn open_modal(state: &AppState, click: &Click<Review>) -> Result<Response, ApiError> {
    if !state.pipeline.slack().is_allowed(&click.response_url) {
        tracing::warn!(team = ?click.team_id, "refused an interaction whose response_url is not an allowed Slack URL");
        return Err(ApiError::BadRequest(
            "response_url is not a Slack URL".into(),
        ));
    }
    let (Some(web), Some(trigger)) = (state.pipeline.web(), click.trigger_id.as_deref()) else {
        // Not offered without a bot token; an old message may still carry the control.
        tell_clicker(
            state,
            &click.response_url,
            "✏️ Editing a poster opens a form, which needs Marquee's bot token. Ask your Marquee admin to add one (see the install guide), or use 🎲 Regenerate and 🎨 Restyle meanwhile.",
        )
        .await;
        return Ok(StatusCode::OK.into_response());
    };
    let record = match state.pipeline.record(click.source).await {
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
    let ctx = ModalContext::from_click(click);
    let view = match click.action {
        Review::ChangeDetail => modal::change_detail_view(&ctx, &record.spec.description),
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
) -> Result<Response, ApiError> {
    let ctx = submission.context().clone();
    if !state.pipeline.slack().is_allowed(&ctx.response_url) {
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
    let requester = submission.requester();
    let change = match submission.form {
        Form::EditWords {
            text, typography, ..
        } => Change::EditWords { text, typography },
        Form::ChangeDetail {
            search, replace, ..
        } => Change::ChangeDetail { search, replace },
    };
    let thread = match (&ctx.channel_id, &ctx.thread_ts) {
        (Some(channel_id), Some(thread_ts)) => Some(SlackMessageRef {
            channel_id: channel_id.clone(),
            thread_ts: thread_ts.clone(),
        }),
        _ => None,
    };
    let job = Job::new(
        Task::Retake {
            source: ctx.poster,
            change,
        },
        requester,
        ReplyTo::SlackResponseUrl {
            response_url: ctx.response_url.clone(),
            thread,
        },
        (state.clock)(),
    )
    .with_public_url(public_url);
    let id = job.id;
    if let Err(e) = state.dispatcher.dispatch(job).await {
        if matches!(e, DispatchError::Busy) {
            state.pipeline.metrics().record(Event::Shed);
        }
        tracing::error!(job = %id, error = %marquee_core::errors::ErrorChain(&e), "could not queue a modal's job");
        // Keep the modal open with what was typed, and say so where it is seen.
        return Ok(Json(not_started).into_response());
    }
    tracing::info!(job = %id, "modal submission accepted");
    Ok(StatusCode::OK.into_response())
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
async fn create_poster(
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
    if !state.pipeline.accept_rest(&job).await? {
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
        tracing::error!(job = %id, error = %marquee_core::errors::ErrorChain(&e), "could not queue a REST poster job");
        return Err(ApiError::Unavailable);
    }
    tracing::info!(job = %id, "REST poster accepted");
    let mut status = RestStatus::Pending {
        caller: String::new(),
        accepted_at: 0,
    };
    if let Some(wait) = preferred_wait(&headers) {
        let until = tokio::time::Instant::now() + wait;
        let mut pauses = crate::pipeline::wait_backoff();
        loop {
            if let Some(now) = state.pipeline.rest_status(id).await? {
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
async fn poster_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    base: Option<axum::Extension<BasePath>>,
    RestCaller(caller): RestCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let status = match state.pipeline.rest_status(id).await? {
        Some(status) if status.caller() == caller => status,
        _ => return Err(ApiError::NotFound),
    };
    let public_url = state.public_url.resolve(&headers, base.as_deref());
    let (_, document) = status_document(&state, id, &status, public_url.as_deref())?;
    Ok(Json(document).into_response())
}

#[derive(Deserialize)]
struct FileQuery {
    #[serde(default)]
    exp: String,
    #[serde(default)]
    sig: String,
}

/// How long a redirect to a print file's direct URL works: enough to start the download,
/// short enough that a copied URL is useless soon after.
const DIRECT_URL_TTL: Duration = Duration::from_secs(300);

/// What `/files/` serves: posters (`posters/….png`) and print files (`prints/…/<sheet>.png` or
/// `.pdf`), with their content type and, for print files, the name they are saved as. Art
/// before typography is never served.
fn servable(key: &str) -> Option<(&'static str, Option<String>)> {
    if key.starts_with("posters/") && key.ends_with(".png") {
        return Some(("image/png", None));
    }
    let rest = key.strip_prefix("prints/")?;
    let (take, file) = rest.rsplit_once('/')?;
    let take = take.rsplit('/').next()?;
    let short = take.get(..8).unwrap_or(take);
    let name = format!("marquee-{short}-{file}");
    if file.ends_with(".pdf") {
        Some(("application/pdf", Some(name)))
    } else if file.ends_with(".png") {
        Some(("image/png", Some(name)))
    } else {
        None
    }
}

/// Serves a stored poster or print file behind its signed, expiring link, reading it from the
/// store with this process's own credentials. Print files are too large for a function's
/// response: from S3 they are answered with a redirect to a URL presigned now, for minutes.
async fn serve_file(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<FileQuery>,
) -> Result<Response, ApiError> {
    let Some((content_type, download_name)) = servable(&key) else {
        return Err(ApiError::NotFound);
    };
    let now = (state.clock)();
    match state.links.verify(&key, &q.exp, &q.sig, now) {
        Ok(()) => {}
        // Approve would also post a fresh link, but it approves: history only lists.
        Err(LinkError::Expired) => {
            return Err(ApiError::Gone(
                "this link has expired; type /poster history in Slack for your posters with fresh links",
            ));
        }
        Err(LinkError::BadSignature) => return Err(ApiError::Forbidden("this link is not valid")),
        Err(LinkError::NotFound) => return Err(ApiError::NotFound),
    }
    if let Some(name) = &download_name {
        match state.store.direct_url(&key, DIRECT_URL_TTL, name).await {
            Ok(Some(url)) => {
                let location = HeaderValue::from_str(&url).map_err(|_| ApiError::Unavailable)?;
                return Ok((
                    StatusCode::SEE_OTHER,
                    [
                        (header::LOCATION, location),
                        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                    ],
                )
                    .into_response());
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "could not sign a print file's direct url");
                return Err(ApiError::Unavailable);
            }
        }
    }
    let bytes = match state.store.get(&key).await {
        Ok(Some(bytes)) => bytes,
        // Past the bucket's retention period the object is gone while a link may not be.
        Ok(None) => return Err(ApiError::Gone("this poster is no longer kept")),
        Err(e) => {
            tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "could not read a linked poster");
            return Err(ApiError::Unavailable);
        }
    };
    if download_name.is_none() && bytes.len() > MAX_FILE_BYTES {
        tracing::error!(bytes = bytes.len(), "a linked poster is too large to serve");
        return Err(ApiError::Unavailable);
    }
    // Cacheable privately until the link expires, and never beyond.
    let max_age = q.exp.parse::<i64>().map_or(0, |exp| (exp - now).max(0));
    let cache = HeaderValue::from_str(&format!("private, max-age={max_age}"))
        .unwrap_or_else(|_| HeaderValue::from_static("private, no-cache"));
    let mut response = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, cache),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
        .into_response();
    if let Some(name) = download_name {
        if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use marquee_core::metrics::{Metric, Metrics};
    use marquee_core::model::{ModelId, Models};
    use tower::ServiceExt;

    /// Takes every job and runs none.
    struct Nowhere;

    #[async_trait::async_trait]
    impl Dispatcher for Nowhere {
        async fn dispatch(&self, _job: Job) -> Result<(), crate::dispatch::DispatchError> {
            Ok(())
        }
    }

    /// Refuses every job as a full queue would, and reports a backlog.
    struct Full;

    #[async_trait::async_trait]
    impl Dispatcher for Full {
        async fn dispatch(&self, _job: Job) -> Result<(), crate::dispatch::DispatchError> {
            Err(crate::dispatch::DispatchError::Busy)
        }

        async fn backlog(&self) -> Option<crate::dispatch::Backlog> {
            Some(crate::dispatch::Backlog {
                waiting: 7,
                running: 2,
                limit: 7,
                slots: 2,
                oldest_age_secs: Some(42),
                shed: 1,
            })
        }
    }

    /// The signing secret [`test_app`]'s Slack routes verify.
    const TEST_SECRET: &str = "test-signing-secret-0123456789abcdef";

    /// The router over a local store and state in `dir`, no models, offline only, counting
    /// into `metrics` and queueing through `dispatcher`.
    fn test_app(
        dir: &std::path::Path,
        metrics: Metrics,
        dispatcher: Arc<dyn crate::dispatch::Dispatcher>,
    ) -> Router {
        let links = LinkSigner::from_dir(dir).unwrap();
        let store: Arc<dyn ObjectStore> =
            Arc::new(marquee_core::store::local::LocalStore::open(dir).unwrap());
        let state = Arc::new(
            marquee_core::state::local::LocalState::open(dir.join("state.sqlite3")).unwrap(),
        );
        let slack = marquee_core::slack::SlackClient::new(
            marquee_core::net::client(),
            &["hooks.slack.com".to_owned()],
        );
        let pipeline = Pipeline::new(
            Models::new(),
            store.clone(),
            state,
            slack,
            links.clone(),
            Duration::from_secs(60),
        )
        .with_metrics(metrics);
        router(AppState {
            signing_secret: Some(marquee_core::secret::Secret::new(TEST_SECRET).into()),
            policy: ModelPolicy {
                default: ModelId::Offline,
                allowed: vec![ModelId::Offline],
            },
            pipeline: Arc::new(pipeline),
            dispatcher,
            store,
            links,
            public_url: PublicUrl::Fixed("http://127.0.0.1:3000".into()),
            clock: system_clock,
            rest_auth: RestAuth::Off,
        })
    }

    /// A full queue: the command is answered at once, privately, that Marquee is busy and to
    /// try again in a minute (nothing queued, nothing charged), counted as shed; `/healthz`
    /// shows the queue.
    #[tokio::test]
    async fn a_full_queue_is_answered_busy_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let (metrics, recorded) = Metrics::recorded();
        let app = test_app(dir.path(), metrics, Arc::new(Full));
        let secret = TEST_SECRET;
        let body = serde_urlencoded::to_string([
            ("team_id", "T1"),
            ("channel_id", "C1"),
            ("user_id", "U1"),
            ("command", "/poster"),
            ("text", "a lighthouse in a storm"),
            ("response_url", "https://hooks.slack.com/commands/T1/1/abc"),
            ("trigger_id", "1.2.3"),
        ])
        .unwrap();
        let ts = system_clock();
        let signature = verify::sign(
            &marquee_core::secret::Secret::new(secret),
            ts,
            body.as_bytes(),
        );
        let request = axum::http::Request::builder()
            .method(Method::POST)
            .uri("/slack/commands")
            .header("content-type", "application/x-www-form-urlencoded")
            .header(verify::TIMESTAMP_HEADER, ts.to_string())
            .header(verify::SIGNATURE_HEADER, signature)
            .body(axum::body::Body::from(body))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let ack: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(ack["response_type"], "ephemeral");
        let text = ack["text"].as_str().unwrap();
        assert!(
            text.contains("busy") && text.contains("try again in a minute"),
            "{text}"
        );
        assert!(!text.contains("Generating"), "{text}");
        assert_eq!(recorded.of(Metric::Shed).len(), 1);

        let request = axum::http::Request::builder()
            .uri("/healthz")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let health: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            health["queue"],
            json!({"waiting": 7, "running": 2, "limit": 7, "slots": 2, "oldest_age_secs": 42, "shed": 1})
        );
    }

    /// Every answer on a Slack route is an ack, counted and timed once by its door (a refused
    /// signature too: Slack saw an answer); other routes count nothing.
    #[tokio::test]
    async fn slack_answers_are_counted_and_timed_by_door() {
        let dir = tempfile::tempdir().unwrap();
        let (metrics, recorded) = Metrics::recorded();
        let app = test_app(dir.path(), metrics, Arc::new(Nowhere));
        for (method, path) in [
            (Method::POST, "/slack/commands"),
            (Method::POST, "/slack/interactions"),
            (Method::GET, "/healthz"),
        ] {
            let request = axum::http::Request::builder()
                .method(method)
                .uri(path)
                .body(axum::body::Body::from("text=hi"))
                .unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            assert_ne!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let acks = recorded.of(Metric::Ack);
        let doors: Vec<&str> = acks.iter().map(|d| d["Door"].as_str().unwrap()).collect();
        assert_eq!(doors, ["command", "interaction"]);
        assert!(
            acks.iter()
                .all(|d| d["AckLatency"].as_f64().is_some_and(|ms| ms >= 0.0)),
            "{acks:?}"
        );
        assert_eq!(recorded.documents().len(), 2, "/healthz is not an ack");
    }
}
