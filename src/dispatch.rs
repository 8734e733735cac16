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
pub(crate) struct InProcessDispatcher {
    pipeline: Arc<Pipeline>,
    tasks: TaskTracker,
}

impl InProcessDispatcher {
    pub(crate) fn new(pipeline: Arc<Pipeline>) -> Self {
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
