//! The Lambda entry: one function, three kinds of event.
//!
//! API Gateway events go through the same [`crate::http::router`] as the local server (via
//! `lambda_http`'s request and response conversions). A Marquee job — recognised by its
//! `job::JOB_MARKER` field, which no API Gateway event has — runs the worker. The
//! worker is reachable only by invoking the function; no HTTP route leads to it, because an
//! HTTP event is always converted to a request and routed, never read as a job.
//!
//! The third kind is an SQS event from the function's on-failure destination (`failed`): each
//! record is Lambda's account of a job that ended without the requester being told, and the
//! requester is told now.

mod failed;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use lambda_runtime::{Diagnostic, LambdaEvent, Service};
use serde_json::Value;

use crate::pipeline::{Outcome, Pipeline};
use marquee_core::job::Job;

/// The `errorType` prefix of a job Slack could not be told about (`Undeliverable.<kind>`), which
/// the failed-job records carry back to [`failed`].
const UNDELIVERABLE: &str = "Undeliverable";

#[derive(Debug, thiserror::Error)]
pub enum LambdaError {
    #[error("the event is neither an API Gateway request nor a Marquee job")]
    UnknownEvent(#[source] serde_json::Error),
    #[error("the job event could not be read")]
    BadJob(#[from] marquee_core::job::JobError),
    #[error("the job could not be delivered to Slack ({kind})")]
    Undeliverable { kind: &'static str },
    #[error("could not encode the HTTP response")]
    Response(#[source] serde_json::Error),
    #[error("the SQS event could not be read")]
    BadSqsEvent(#[source] serde_json::Error),
}

impl From<LambdaError> for Diagnostic {
    fn from(e: LambdaError) -> Self {
        let error_type = match &e {
            LambdaError::UnknownEvent(_) => "UnknownEvent".to_owned(),
            LambdaError::BadJob(_) => "BadJob".to_owned(),
            LambdaError::Undeliverable { kind } => format!("{UNDELIVERABLE}.{kind}"),
            LambdaError::Response(_) => "ResponseEncoding".to_owned(),
            LambdaError::BadSqsEvent(_) => "BadSqsEvent".to_owned(),
        };
        Diagnostic {
            error_type,
            error_message: marquee_core::errors::ErrorChain(&e).to_string(),
        }
    }
}

/// What the function holds between invocations.
#[derive(Clone)]
pub struct Handler {
    router: Router,
    pipeline: Arc<Pipeline>,
}

impl Handler {
    pub fn new(router: Router, pipeline: Arc<Pipeline>) -> Self {
        Self { router, pipeline }
    }

    /// Handles one invocation.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, LambdaError> {
        let LambdaEvent { payload, context } = event;
        if Job::is_job_event(&payload) {
            let job = Job::from_event(payload)?;
            let id = job.id;
            // Lambda kills the function at its deadline; the pipeline stops early enough to
            // tell the requester instead. A runtime that reports no usable deadline (one already
            // past at the start, as local emulators may) leaves the pipeline to its own
            // per-call timeouts rather than failing every job at once.
            let left = context
                .deadline()
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            let deadline = (!left.is_zero()).then(|| tokio::time::Instant::now() + left);
            tracing::info!(job = %id, ms_left = left.as_millis() as u64, "worker started");
            return match self.pipeline.run(job, deadline).await {
                Outcome::Delivered => Ok(serde_json::json!({"job": id, "outcome": "delivered"})),
                // A second delivery of the same event: success, so nothing retries it either.
                Outcome::Duplicate => Ok(serde_json::json!({"job": id, "outcome": "duplicate"})),
                Outcome::FailedAndTold { kind } => {
                    // The requester knows; a runtime error here would only make Lambda retry.
                    Ok(serde_json::json!({"job": id, "outcome": "failed", "kind": kind}))
                }
                Outcome::Undeliverable { kind } => Err(LambdaError::Undeliverable { kind }),
            };
        }

        if failed::is_sqs_event(&payload) {
            let batch = failed::read_batch(payload)?;
            return Ok(failed::handle(&self.pipeline, batch).await);
        }

        let request: LambdaRequest =
            serde_json::from_value(payload).map_err(LambdaError::UnknownEvent)?;
        // The router routes on its own paths; a named stage or a custom domain's base path in
        // front of them is taken off first and kept for the links the request makes.
        let service = self
            .router
            .clone()
            .map_request(crate::http::under_base_path::<lambda_http::Body>);
        let mut adapter = lambda_http::Adapter::from(service);
        let response = match adapter.call(LambdaEvent::new(request, context)).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        serde_json::to_value(response).map_err(LambdaError::Response)
    }
}
