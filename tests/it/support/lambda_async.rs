//! Stand-in for Lambda's Invoke API in front of `cargo lambda watch`, reached through
//! `AWS_ENDPOINT_URL_LAMBDA`.
//!
//! `cargo lambda watch` runs every Invoke synchronously, even `InvocationType=Event`, and a
//! function that invokes itself would wait on itself. Real Lambda queues Event invocations and
//! answers 202 at once; this stand-in does the same and forwards the body to watch's Invoke API
//! in the background. `RequestResponse` (or no type) is forwarded synchronously and relayed.
//! Every invocation and every forward's outcome is recorded.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

/// Set by Lambda (and watch) when the function failed; the SDK reads it into `function_error`.
const FUNCTION_ERROR: &str = "x-amz-function-error";

/// One Invoke call as received.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// `Event`, `RequestResponse` or `DryRun`.
    pub invocation_type: String,
    pub payload: Bytes,
}

impl Invocation {
    /// The payload parsed as JSON (`Value::Null` if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).unwrap_or_default()
    }
}

/// The outcome of forwarding one invocation to the target.
#[derive(Clone, Debug)]
pub struct Forward {
    pub function: String,
    /// The invocation's payload, so a forward can be matched to the job it carried.
    pub payload: Bytes,
    /// The target's HTTP status, if it answered.
    pub status: Option<u16>,
    /// `X-Amz-Function-Error` from the target (`Unhandled` when the function failed).
    pub function_error: Option<String>,
    pub body: Bytes,
    pub error: Option<String>,
    pub elapsed: Duration,
}

#[derive(Default)]
struct Inner {
    target: Option<String>,
    invocations: Vec<Invocation>,
    forwards: Vec<Forward>,
}

#[derive(Clone)]
struct App {
    inner: Arc<Mutex<Inner>>,
    http: reqwest::Client,
}

/// Handle to the async-invoke stand-in. Cheap to clone.
#[derive(Clone)]
pub struct AsyncInvoke {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl AsyncInvoke {
    /// Starts the stand-in with no target; [`Self::set_target`] points it at an Invoke API.
    pub fn start() -> AsyncInvoke {
        let inner = Arc::new(Mutex::new(Inner::default()));
        // No overall timeout: a real invocation may run up to Lambda's 15 minutes.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_else(|e| panic!("could not build the async-invoke HTTP client: {e}"));
        let app = App {
            inner: inner.clone(),
            http,
        };
        let router = Router::new()
            .route("/2015-03-31/functions/{function}/invocations", post(invoke))
            .with_state(app);
        let addr = super::serve("async-invoke", |_| router);
        AsyncInvoke { addr, inner }
    }

    /// `http://127.0.0.1:PORT`, the value for `AWS_ENDPOINT_URL_LAMBDA`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Forwards to `base` (e.g. `http://127.0.0.1:WATCHPORT`) from now on.
    pub fn set_target(&self, base: &str) {
        self.lock().target = Some(base.trim_end_matches('/').to_string());
    }

    /// The invocations whose payload contains `needle` (a response_url, a prompt marker).
    pub fn invocations_with(&self, needle: &str) -> Vec<Invocation> {
        self.lock()
            .invocations
            .iter()
            .filter(|i| contains(&i.payload, needle))
            .cloned()
            .collect()
    }

    /// Waits until `n` invocations whose payload contains `needle` have been forwarded and
    /// have finished (the function returned), and returns those forwards; fewer on timeout.
    /// Once a job's forward finished, its worker has done everything it will ever do.
    pub async fn wait_finished(&self, needle: &str, n: usize, timeout: Duration) -> Vec<Forward> {
        let finished = || -> Vec<Forward> {
            self.lock()
                .forwards
                .iter()
                .filter(|f| contains(&f.payload, needle))
                .cloned()
                .collect()
        };
        super::poll(timeout, || {
            let done = finished();
            (done.len() >= n).then_some(done)
        })
        .await
        .unwrap_or_else(finished)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }
}

fn contains(payload: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    !needle.is_empty() && payload.windows(needle.len()).any(|w| w == needle)
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // A test that panicked while holding the lock must not break every later test.
    inner.lock().unwrap_or_else(|p| p.into_inner())
}

async fn invoke(
    State(app): State<App>,
    Path(function): Path<String>,
    headers: HeaderMap,
    payload: Bytes,
) -> Response {
    // The SDK accepts names, partial and full ARNs; watch knows functions by binary name.
    let function = function
        .rsplit_once("function:")
        .map(|(_, name)| name.split(':').next().unwrap_or(name).to_string())
        .unwrap_or(function);
    let invocation_type = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse")
        .to_string();
    let target = {
        let mut inner = lock(&app.inner);
        inner.invocations.push(Invocation {
            invocation_type: invocation_type.clone(),
            payload: payload.clone(),
        });
        inner.target.clone()
    };
    match invocation_type.as_str() {
        "DryRun" => with_request_id(StatusCode::NO_CONTENT.into_response()),
        "Event" => {
            tokio::spawn(async move {
                let forward = forward(&app.http, target, function, payload).await;
                lock(&app.inner).forwards.push(forward);
            });
            with_request_id(StatusCode::ACCEPTED.into_response())
        }
        _ => {
            let forward = forward(&app.http, target, function, payload).await;
            let response = relay(&forward);
            lock(&app.inner).forwards.push(forward);
            response
        }
    }
}

async fn forward(
    http: &reqwest::Client,
    target: Option<String>,
    function: String,
    payload: Bytes,
) -> Forward {
    let started = Instant::now();
    let mut result = Forward {
        function,
        payload: payload.clone(),
        status: None,
        function_error: None,
        body: Bytes::new(),
        error: None,
        elapsed: Duration::ZERO,
    };
    let Some(target) = target else {
        result.error = Some("no target: call stack().lambda() before invoking".into());
        return result;
    };
    // watch runs everything synchronously, so the forward is always RequestResponse.
    let url = format!(
        "{target}/2015-03-31/functions/{}/invocations",
        result.function
    );
    match http
        .post(&url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(payload)
        .send()
        .await
    {
        Ok(response) => {
            result.status = Some(response.status().as_u16());
            result.function_error = response
                .headers()
                .get(FUNCTION_ERROR)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            match response.bytes().await {
                Ok(body) => result.body = body,
                Err(e) => result.error = Some(format!("reading {url} failed: {e}")),
            }
        }
        Err(e) => result.error = Some(format!("POST {url} failed: {e}")),
    }
    result.elapsed = started.elapsed();
    result
}

fn relay(forward: &Forward) -> Response {
    let Some(status) = forward.status else {
        let message = forward.error.clone().unwrap_or_default();
        let body = serde_json::json!({"message": message, "Type": "Service"}).to_string();
        let mut response = (StatusCode::INTERNAL_SERVER_ERROR, body).into_response();
        response.headers_mut().insert(
            "x-amzn-errortype",
            HeaderValue::from_static("ServiceException"),
        );
        return with_request_id(response);
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = (status, forward.body.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(error) = &forward.function_error
        && let Ok(value) = HeaderValue::from_str(error)
    {
        headers.insert(FUNCTION_ERROR, value);
    }
    with_request_id(response)
}

fn with_request_id(mut response: Response) -> Response {
    if let Ok(value) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}
