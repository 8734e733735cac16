//! Dispatch: handing a [`Job`] to the worker without waiting for it.
//!
//! In Lambda the function invokes itself asynchronously (`InvocationType::Event`): Lambda
//! queues the job and answers 202 at once, so the ack path never waits on the model. Locally the
//! job runs as an in-process task. Either way the caller learns only whether the job was
//! *accepted*; the worker reports the result to the requester itself.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use tokio_util::task::TaskTracker;

use crate::job::Job;
use crate::pipeline::Pipeline;

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("could not encode the job")]
    Encode(#[from] serde_json::Error),
    #[error("could not invoke the worker function")]
    Invoke(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the worker function answered {status} instead of 202")]
    Status { status: i32 },
}

/// Starts a job somewhere else and returns as soon as it is queued.
#[async_trait]
pub trait Dispatcher: Send + Sync {
    async fn dispatch(&self, job: Job) -> Result<(), DispatchError>;
}

/// Queues jobs as asynchronous invocations of a Lambda function (normally this one).
#[derive(Debug, Clone)]
pub(crate) struct LambdaDispatcher {
    client: aws_sdk_lambda::Client,
    function: String,
}

impl LambdaDispatcher {
    pub(crate) fn new(client: aws_sdk_lambda::Client, function: impl Into<String>) -> Self {
        Self {
            client,
            function: function.into(),
        }
    }
}

#[async_trait]
impl Dispatcher for LambdaDispatcher {
    async fn dispatch(&self, job: Job) -> Result<(), DispatchError> {
        let payload = serde_json::to_vec(&job)?;
        let output = self
            .client
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| DispatchError::Invoke(Box::new(e)))?;
        // Lambda answers an accepted Event invocation with 202.
        if output.status_code() != 202 {
            return Err(DispatchError::Status {
                status: output.status_code(),
            });
        }
        tracing::info!(job = %job.id, "job queued for the worker");
        Ok(())
    }
}

/// Runs jobs as tasks in this process (the local server and `marquee demo`).
#[derive(Clone)]
pub struct InProcessDispatcher {
    pipeline: Arc<Pipeline>,
    tasks: TaskTracker,
}

impl InProcessDispatcher {
    pub fn new(pipeline: Arc<Pipeline>) -> Self {
        Self {
            pipeline,
            tasks: TaskTracker::new(),
        }
    }

    /// Waits for every job started so far to finish (for a graceful shutdown).
    pub(crate) async fn wait_idle(&self) {
        self.tasks.close();
        self.tasks.wait().await;
        self.tasks.reopen();
    }
}

#[async_trait]
impl Dispatcher for InProcessDispatcher {
    async fn dispatch(&self, job: Job) -> Result<(), DispatchError> {
        let pipeline = Arc::clone(&self.pipeline);
        self.tasks.spawn(async move {
            pipeline.run(job, None).await;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
    use axum::Router;
    use axum::body::Bytes;
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;

    use super::*;
    use crate::job::sample_job;

    /// What the Invoke stand-in received: function name, `X-Amz-Invocation-Type`, payload.
    type Received = Arc<Mutex<Vec<(String, String, Bytes)>>>;

    /// Lambda's Invoke API as the AWS Lambda API Reference ("Invoke") documents it:
    /// `POST /2015-03-31/functions/{FunctionName}/invocations`, the invocation type in
    /// `X-Amz-Invocation-Type`, the payload as the body; an accepted `Event` is answered 202
    /// with an empty body, and errors carry their type in `X-Amzn-ErrorType` with a JSON
    /// `message`. `answer` decides the response.
    async fn invoke_api(answer: fn() -> Response) -> (String, Received) {
        let received = Received::default();
        let app = Router::new()
            .route(
                "/2015-03-31/functions/{function}/invocations",
                post(
                    move |State(received): State<Received>,
                          Path(function): Path<String>,
                          headers: HeaderMap,
                          payload: Bytes| async move {
                        let kind = headers
                            .get("x-amz-invocation-type")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("RequestResponse")
                            .to_owned();
                        received
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((function, kind, payload));
                        answer()
                    },
                ),
            )
            .with_state(Arc::clone(&received));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}"), received)
    }

    fn dispatcher(endpoint: &str) -> LambdaDispatcher {
        let conf = aws_sdk_lambda::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(crate::net::aws_http_client())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .endpoint_url(endpoint)
            .build();
        LambdaDispatcher::new(aws_sdk_lambda::Client::from_conf(conf), "marquee-fn")
    }

    #[tokio::test]
    async fn a_job_is_queued_as_an_event_invocation_of_the_function() {
        let (endpoint, received) = invoke_api(|| StatusCode::ACCEPTED.into_response()).await;
        let job = sample_job();
        dispatcher(&endpoint)
            .dispatch(job.clone())
            .await
            .expect("an accepted Event invocation");
        let received = received.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(received.len(), 1);
        let (function, kind, payload) = &received[0];
        assert_eq!((function.as_str(), kind.as_str()), ("marquee-fn", "Event"));
        let sent: serde_json::Value = serde_json::from_slice(payload).expect("a JSON payload");
        assert_eq!(sent, serde_json::to_value(&job).expect("a job encodes"));
    }

    #[tokio::test]
    async fn anything_but_an_accepted_event_is_an_error_not_a_silent_drop() {
        // A synchronous answer (200) means the job ran or failed somewhere unseen.
        let (endpoint, _) = invoke_api(|| StatusCode::OK.into_response()).await;
        let err = dispatcher(&endpoint).dispatch(sample_job()).await;
        assert!(
            matches!(err, Err(DispatchError::Status { status: 200 })),
            "{err:?}"
        );

        // Throttled: TooManyRequestsException, 429, per the Invoke reference's error list; the
        // body's fields (Type, message, Reason) are the exception's shape in AWS's SDK references.
        let (endpoint, received) = invoke_api(|| {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("x-amzn-errortype", "TooManyRequestsException")],
                r#"{"Type":"User","message":"Rate Exceeded.","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"}"#,
            )
                .into_response()
        })
        .await;
        let throttled = dispatcher(&endpoint).dispatch(sample_job()).await;
        assert!(
            matches!(throttled, Err(DispatchError::Invoke(_))),
            "{throttled:?}"
        );
        assert!(
            !received
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_empty()
        );
    }

    #[tokio::test]
    async fn an_unreachable_lambda_api_is_an_invoke_error() {
        // A port nothing listens on: bound, then released.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a loopback port")
            .port();
        let err = dispatcher(&format!("http://127.0.0.1:{port}"))
            .dispatch(sample_job())
            .await;
        assert!(matches!(err, Err(DispatchError::Invoke(_))), "{err:?}");
    }
}
