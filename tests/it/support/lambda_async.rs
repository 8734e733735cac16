//! Stand-in for Lambda's Invoke API in front of `cargo lambda watch`, reached through
//! `AWS_ENDPOINT_URL_LAMBDA`.
//!
//! `cargo lambda watch` runs every Invoke synchronously, even `InvocationType=Event`, and a
//! function that invokes itself would wait on itself. Real Lambda queues Event invocations and
//! answers 202 at once; this stand-in does the same and forwards the body to watch's Invoke API
//! in the background. `RequestResponse` (or no type) is forwarded synchronously and relayed.
//! Every invocation and every forward's outcome is recorded.
//!
//! It also plays Lambda's on-failure destination, as `template.yaml` configures it
//! ([`AsyncInvoke::follow`]): when an Event invocation ends in a function error
//! (`X-Amz-Function-Error`) or outlasts the function's `Timeout`, it writes the invocation
//! record Lambda writes ("Capturing records of Lambda asynchronous invocations", AWS Lambda
//! developer guide; `tests/fixtures/lambda/`) and, when the function's SQS event source reads
//! that queue, hands it over as the event source mapping would: an SQS event with one record
//! ("Using Lambda with Amazon SQS"), through watch's Invoke API. Not modelled: retries
//! (the template turns them off), the event's maximum age, killing a function at its timeout
//! (the record is sent at the timeout; the function runs on), and SQS offering a record again
//! after its visibility timeout.

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
    /// How failed Event invocations are recorded, from the template; `None`: they vanish.
    on_failure: Option<OnFailure>,
    /// SQS events delivered to the function from the on-failure destination.
    deliveries: Vec<Forward>,
}

/// The function's on-failure destination as the evaluated template declares it.
#[derive(Clone, Debug)]
struct OnFailure {
    function_arn: String,
    region: String,
    /// The function's `Timeout`: an invocation running longer is recorded as timed out.
    timeout: Duration,
    /// The destination queue; `None` when the destination is not an SQS queue.
    queue_arn: Option<String>,
    /// Whether the function has an SQS event source on that queue (otherwise the records stay
    /// in the queue and are not delivered).
    consumed: bool,
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
        let http = marquee_core::net::client_builder()
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

    /// Records failed Event invocations as `function` of `deployment` has Lambda do it: its
    /// `Timeout`, its `EventInvokeConfig.DestinationConfig.OnFailure` and its SQS event
    /// sources, as evaluated. Without an on-failure destination nothing is recorded.
    pub fn follow(&self, deployment: &super::cfn::Deployment, function: &str) {
        let props = deployment.eval_at(&["Resources", function, "Properties"]);
        let config = props.find(&["EventInvokeConfig"]);
        if let Some(retries) = config.and_then(|c| c.find(&["MaximumRetryAttempts"])) {
            assert_eq!(
                retries.as_str(),
                "0",
                "the async-invoke stand-in does not model Lambda's retries"
            );
        }
        let Some(destination) = config.and_then(|c| c.find(&["DestinationConfig", "OnFailure"]))
        else {
            self.lock().on_failure = None;
            return;
        };
        let timeout: u64 = props
            .at(&["Timeout"])
            .as_str()
            .parse()
            .expect("Timeout is a number of seconds");
        let queue_arn = (destination.at(&["Type"]).as_str() == "SQS")
            .then(|| destination.at(&["Destination"]).as_str().to_owned());
        let consumed = props.find(&["Events"]).is_some_and(|events| {
            events.as_map().values().any(|e| {
                e.at(&["Type"]).as_str() == "SQS"
                    && Some(e.at(&["Properties", "Queue"]).as_str()) == queue_arn.as_deref()
            })
        });
        let region = deployment
            .eval(&serde_yaml::Value::Tagged(Box::new(
                serde_yaml::value::TaggedValue {
                    tag: serde_yaml::value::Tag::new("Ref"),
                    value: "AWS::Region".into(),
                },
            )))
            .as_str()
            .to_owned();
        let function_arn = deployment
            .eval(&serde_yaml::from_str::<serde_yaml::Value>(&format!(
                "!Sub \"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{}\"",
                props.at(&["FunctionName"]).as_str()
            ))
            .expect("an ARN template"))
            .as_str()
            .to_owned();
        self.lock().on_failure = Some(OnFailure {
            function_arn,
            region,
            timeout: Duration::from_secs(timeout),
            queue_arn,
            consumed,
        });
    }

    /// The SQS events delivered from the on-failure destination whose payload contains
    /// `needle`, with the function's answers.
    pub fn deliveries_with(&self, needle: &str) -> Vec<Forward> {
        self.lock()
            .deliveries
            .iter()
            .filter(|d| contains(&d.payload, needle))
            .cloned()
            .collect()
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
    /// have finished (the function returned, and any record of its failure was delivered and
    /// handled), and returns those forwards; fewer on timeout. Once a job's forward finished,
    /// its worker and the on-failure destination have done everything they will ever do.
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
                let on_failure = lock(&app.inner).on_failure.clone();
                let call = forward(&app.http, target.clone(), function.clone(), payload.clone());
                let Some(on_failure) = on_failure else {
                    let forward = call.await;
                    lock(&app.inner).forwards.push(forward);
                    return;
                };
                tokio::pin!(call);
                // Lambda stops a function at its timeout and records the invocation then.
                let (forward, timed_out) = tokio::select! {
                    forward = &mut call => (forward, false),
                    _ = tokio::time::sleep(on_failure.timeout) => {
                        let response = serde_json::json!({
                            "errorType": "Sandbox.Timedout",
                            "errorMessage": format!(
                                "RequestId: {} Error: Task timed out after {:.2} seconds",
                                uuid::Uuid::new_v4(),
                                on_failure.timeout.as_secs_f64()
                            ),
                        });
                        let record = invocation_record(&on_failure, &payload, "Unhandled", response);
                        deliver(&app, &on_failure, target.clone(), &function, record).await;
                        (call.await, true)
                    }
                };
                if !timed_out && let Some((error, response)) = function_error(&forward) {
                    let record = invocation_record(&on_failure, &payload, &error, response);
                    deliver(&app, &on_failure, target, &function, record).await;
                }
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

/// Whether the function failed, as Lambda would say it (`X-Amz-Function-Error`), and the error
/// it reported. Lambda answers a failed invocation with 200, the header and the error as body;
/// `cargo lambda watch` answers 500 with the error as body and no header, so an error body
/// (`errorType`, `errorMessage`) on a 5xx counts too.
fn function_error(forward: &Forward) -> Option<(String, serde_json::Value)> {
    let body: Option<serde_json::Value> = serde_json::from_slice(&forward.body).ok();
    if let Some(error) = &forward.function_error {
        return Some((error.clone(), body.unwrap_or_default()));
    }
    let body = body?;
    let reported = body.get("errorType").is_some() || body.get("errorMessage").is_some();
    (forward.status.is_some_and(|s| s >= 500) && reported).then(|| ("Unhandled".to_owned(), body))
}

/// Lambda's record of an asynchronous invocation of `payload` that failed with
/// `function_error` and answered `response`, after one attempt (retries are off).
fn invocation_record(
    on_failure: &OnFailure,
    payload: &[u8],
    function_error: &str,
    response: serde_json::Value,
) -> serde_json::Value {
    let timestamp = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    serde_json::json!({
        "version": "1.0",
        "timestamp": timestamp,
        "requestContext": {
            "requestId": uuid::Uuid::new_v4().to_string(),
            "functionArn": format!("{}:$LATEST", on_failure.function_arn),
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 1
        },
        "requestPayload": serde_json::from_slice::<serde_json::Value>(payload).unwrap_or_default(),
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": function_error
        },
        "responsePayload": response
    })
}

/// The SQS event an event source mapping hands the function for one message whose body is
/// `body`, received for the first time.
fn sqs_event(on_failure: &OnFailure, queue_arn: &str, body: &str) -> serde_json::Value {
    use md5::Digest;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        .to_string();
    serde_json::json!({
        "Records": [{
            "messageId": uuid::Uuid::new_v4().to_string(),
            "receiptHandle": super::random_token(64),
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": now,
                "SenderId": "AROAEXAMPLEMARQUEEROLE:marquee-test",
                "ApproximateFirstReceiveTimestamp": now
            },
            "messageAttributes": {},
            "md5OfBody": hex::encode(md5::Md5::digest(body.as_bytes())),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": on_failure.region
        }]
    })
}

/// Sends `record` to the on-failure destination and, when the function reads that queue,
/// hands it to the function (synchronously, as the event source mapping's poller does).
async fn deliver(
    app: &App,
    on_failure: &OnFailure,
    target: Option<String>,
    function: &str,
    record: serde_json::Value,
) {
    let Some(queue_arn) = on_failure.queue_arn.as_deref() else {
        return;
    };
    if !on_failure.consumed {
        return;
    }
    let event = sqs_event(on_failure, queue_arn, &record.to_string());
    let delivered = forward(
        &app.http,
        target,
        function.to_owned(),
        Bytes::from(event.to_string()),
    )
    .await;
    lock(&app.inner).deliveries.push(delivered);
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every key of `value`, as dotted paths (arrays by their first item).
    fn keys(value: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let path = format!("{prefix}{k}");
                    out.insert(path.clone());
                    keys(v, &format!("{path}."), out);
                }
            }
            serde_json::Value::Array(items) => {
                if let Some(first) = items.first() {
                    keys(first, prefix, out);
                }
            }
            _ => {}
        }
    }

    fn key_set(value: &serde_json::Value, skip: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        keys(value, "", &mut out);
        out.retain(|k| !k.starts_with(skip));
        out
    }

    /// What the stand-in sends has the documented shapes, field for field: the fixtures are
    /// AWS's own examples.
    #[test]
    fn records_and_events_have_lambdas_shapes() {
        let on_failure = OnFailure {
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:marquee-test".into(),
            region: "us-east-1".into(),
            timeout: Duration::from_secs(180),
            queue_arn: Some(
                "arn:aws:sqs:us-east-1:123456789012:marquee-test-FailedJobQueue".into(),
            ),
            consumed: true,
        };
        let record = invocation_record(
            &on_failure,
            br#"{"marquee_job": 1}"#,
            "Unhandled",
            serde_json::json!({"errorMessage": "RequestId: x Process exited before completing request"}),
        );
        let documented: serde_json::Value = serde_json::from_str(include_str!(
            "../../fixtures/lambda/destination_record_retries_exhausted.json"
        ))
        .unwrap();
        assert_eq!(
            key_set(&record, "requestPayload."),
            key_set(&documented, "requestPayload.")
        );

        let event = sqs_event(
            &on_failure,
            "arn:aws:sqs:us-east-1:1:q",
            &record.to_string(),
        );
        let documented: serde_json::Value =
            serde_json::from_str(include_str!("../../fixtures/lambda/sqs_event.json")).unwrap();
        // The fixture's message carries attributes of its own (and their digest); Lambda's
        // destination sends none.
        let mut expected = key_set(&documented, "Records.messageAttributes.");
        expected.remove("Records.md5OfMessageAttributes");
        assert_eq!(key_set(&event, "Records.messageAttributes."), expected);
        assert_eq!(
            event["Records"][0]["md5OfBody"],
            hex::encode(<md5::Md5 as md5::Digest>::digest(
                record.to_string().as_bytes()
            ))
        );
    }
}
