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
//!
//! One door per file: [`slack`] (commands, interactions, modals), [`rest`] (`/v1/posters`) and
//! [`files`] (`/files/`); this file holds what they share — the route table, [`AppState`], the
//! public address, [`ApiError`] — and `/healthz`.
//!
//! Routes: `POST /slack/commands`, `POST /slack/interactions`, `POST /v1/posters` (202 and a
//! status URL; `Prefer: wait=N` waits up to 25 s), `GET /v1/posters/{id}` (the IAM caller's own
//! jobs only), `GET /healthz` (with the local queue's depth, running jobs, bound, slots, oldest
//! job's age and shed count, from `Dispatcher::backlog`), and `GET /files/{*key}` (poster links,
//! checked by `store::links`, then read from the store). The REST handlers take a `RestCaller`,
//! which `RestAuth` lets in: IAM in Lambda, a bearer token (`MARQUEE_API_TOKEN`) under
//! `marquee serve`, or nobody. Pipeline failures carry a `Cause`, which only `http` turns into a
//! status. The ack path also awaits the replay guard, which the local queue writes in the
//! job's own transaction (`Dispatcher::dispatch_once`).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use serde_json::json;
use time::OffsetDateTime;
use tracing::Instrument;
use uuid::Uuid;

use crate::dispatch::Dispatcher;
use crate::pipeline::{Cause, Delivery, Pipeline, PipelineError, Records};
use marquee_core::metrics::{Door, Event, Metrics};
use marquee_core::request::{ModelPolicy, RequestError};
use marquee_core::slack::blocks;
use marquee_core::slack::verify::{self, VerifyError};
use marquee_core::store::{LinkSigner, ObjectStore};

mod events;
mod files;
mod rest;
mod settings;
mod shortcut;
mod slack;

use files::serve_file;
pub use rest::{MAX_WAIT, RestAuth};
use rest::{create_poster, poster_status};
use slack::{interaction, slash_command};

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
    /// Where jobs go, and what the door asks of it: the help card's offer, links, who may act.
    pub pipeline: Arc<Pipeline>,
    /// The replay guard, the records modals open on, REST job statuses.
    pub records: Records,
    /// Acks that say more later, the `response_url` allow-list, modals (the Web API).
    pub delivery: Delivery,
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
            let handler = handler.layer(middleware::from_fn_with_state(path, request_span));
            app.route(path, handler)
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Runs a request in its own span: its method and route (the route's pattern, never the
/// request's path or query, which for `/files/` carry a link's signature), and — once the
/// request has started one — the job's id ([`in_request_span`]).
async fn request_span(State(route): State<&'static str>, request: Request, next: Next) -> Response {
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route,
        job = tracing::field::Empty,
    );
    next.run(request).instrument(span).await
}

/// Names the job this request started in the request's span, so the door's lines about it
/// (queued, accepted, or why not) carry its id as the worker's lines do.
fn in_request_span(job: Uuid) {
    tracing::Span::current().record("job", tracing::field::display(job));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use marquee_core::job::Job;
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
            records: pipeline.records().clone(),
            delivery: pipeline.delivery().clone(),
            pipeline: Arc::new(pipeline),
            dispatcher,
            store,
            links,
            public_url: PublicUrl::Fixed("http://127.0.0.1:3000".into()),
            clock: system_clock,
            rest_auth: RestAuth::Off,
        })
    }

    /// `/poster a lighthouse in a storm` from U1 in T1, signed with [`TEST_SECRET`] now.
    fn signed_poster_command(response_url: &str) -> axum::http::Request<axum::body::Body> {
        let body = serde_urlencoded::to_string([
            ("team_id", "T1"),
            ("channel_id", "C1"),
            ("user_id", "U1"),
            ("command", "/poster"),
            ("text", "a lighthouse in a storm"),
            ("response_url", response_url),
            ("trigger_id", "1.2.3"),
        ])
        .unwrap();
        let ts = system_clock();
        let signature = verify::sign(
            &marquee_core::secret::Secret::new(TEST_SECRET),
            ts,
            body.as_bytes(),
        );
        axum::http::Request::builder()
            .method(Method::POST)
            .uri("/slack/commands")
            .header("content-type", "application/x-www-form-urlencoded")
            .header(verify::TIMESTAMP_HEADER, ts.to_string())
            .header(verify::SIGNATURE_HEADER, signature)
            .body(axum::body::Body::from(body))
            .unwrap()
    }

    /// A full queue: the command is answered at once, privately, that Marquee is busy and to
    /// try again in a minute (nothing queued, nothing charged), counted as shed; `/healthz`
    /// shows the queue.
    #[tokio::test]
    async fn a_full_queue_is_answered_busy_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let (metrics, recorded) = Metrics::recorded();
        let app = test_app(dir.path(), metrics, Arc::new(Full));
        let request = signed_poster_command("https://hooks.slack.com/commands/T1/1/abc");
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

    /// A request runs in its span (method and route), which names the job it started, so
    /// the door's lines about the job carry its id; its `response_url` appears in none.
    #[tokio::test]
    async fn a_requests_lines_carry_its_route_and_the_job_it_started() {
        let (logs, _capturing) = crate::pipeline::testing::capture();
        let dir = tempfile::tempdir().unwrap();
        let app = test_app(dir.path(), Metrics::off(), Arc::new(Nowhere));
        let response_url = "https://hooks.slack.com/commands/T1/1/sekrit";
        let response = app
            .oneshot(signed_poster_command(response_url))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);

        let text = logs.text();
        let accepted = text
            .lines()
            .find(|l| l.contains("slash command accepted"))
            .unwrap_or_else(|| panic!("no acceptance line: {text}"));
        assert!(
            accepted.contains("request{method=POST route=/slack/commands job="),
            "{accepted}"
        );
        let id = accepted
            .split("job=")
            .nth(1)
            .and_then(|rest| rest.get(..36))
            .unwrap_or_default();
        assert!(Uuid::parse_str(id).is_ok(), "{accepted}");
        assert!(!text.contains("sekrit"), "{text}");
    }
}
