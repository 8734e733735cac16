//! Dispatch: handing a [`Job`] to the worker without waiting for it.
//!
//! In Lambda the function invokes itself asynchronously (`InvocationType::Event`): Lambda
//! queues the job and answers 202 at once, so the ack path never waits on the model. Locally
//! (`marquee serve`) the job is written to the local job queue ([`queue`], SQLite) before the
//! ack, and a fixed number of render slots run queued jobs in this process, oldest first; at
//! start, jobs an earlier process accepted and did not finish are resumed. Either way the caller
//! learns only whether the job was *accepted* — or, when the queue is full, that Marquee is
//! busy ([`DispatchError::Busy`]: nothing was queued); the worker reports the result to the
//! requester itself.
//!
//! `Dispatcher` trait with two implementations: `LambdaDispatcher` (aws-sdk-lambda `Invoke`,
//! `InvocationType::Event`, on the function's own name; a throttled `Invoke` is `Busy`) and
//! `InProcessDispatcher`, the local server's. Its `queue` is one SQLite table (`jobs.sqlite3` in
//! the data directory, WAL, `synchronous = FULL`) owned by one thread that answers whatever
//! requests arrived since its last commit with one transaction (a group commit, so no SQLite call
//! runs on an async worker and a burst costs one fsync per batch). `dispatch` returns only once the
//! job's JSON is committed — the ack's "Generating" means it is on disk — or `Busy`, without
//! writing, when `MARQUEE_QUEUE_LIMIT` jobs wait; `http` then answers that Marquee is busy (an
//! ephemeral message, a note to the clicker, or 503 with `Retry-After`). A feeder hands jobs,
//! oldest first, to `MARQUEE_RENDER_SLOTS` tasks; only those hold a job in memory beyond its row,
//! so art, canvases and PNGs exist only inside a slot (the pipeline's CPU slots, one per core,
//! bound the drawing within them). A job leaves the table when it has run. At start every row is
//! handed out again as *resumed*: `Pipeline::run_queued` runs it through its run marker, so one
//! that never started runs now. One whose marker is taken was running when the process died: a free
//! poster with no record yet (so never stored, never posted) runs again; one with a record may have
//! been posted, so its link is sent privately instead (`blocks::delivery_unconfirmed`); anything
//! else (a metered model's call may have been billed, a retake, a print) is told through
//! `tell_unfinished` that it stopped — never run twice. A Slack job is given until its
//! `response_url` expires, and one that waited too long to finish in time is told it expired. A
//! shutdown stops the feeder and waits for the running jobs; waiting ones stay queued. Every 30 s
//! while it is busy, the queue's depth, oldest job's age and shed count are logged (and counted as
//! metrics where metrics are on). One-shot commands (`marquee poster`, `print --id`) are built with
//! `Mode::Tool`, whose `NoWorker` leaves a server's queue alone.

mod queue;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde::Serialize;
use tokio::sync::{Semaphore, watch};
use tokio_util::task::TaskTracker;

use crate::pipeline::{Pipeline, Records};
use marquee_core::job::Job;
use marquee_core::metrics::{Event, Metrics};
use marquee_core::slack::verify::{SIGHT_SECS, Sight};
pub(crate) use queue::QueueError;
use queue::{Pushed, Queue};

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("could not encode the job")]
    Encode(#[from] serde_json::Error),
    #[error("could not invoke the worker function")]
    Invoke(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the worker function answered {status} instead of 202")]
    Status { status: i32 },
    #[error("the job queue is full")]
    Busy,
    #[error("could not queue the job")]
    Queue(#[from] QueueError),
    #[error("could not record the request's first sight")]
    Guard(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What became of a job started once per request ([`Dispatcher::dispatch_once`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Once {
    /// Queued for the worker.
    Started,
    /// A request with the same sight started its job before: nothing was queued.
    Replayed,
}

/// Starts a job somewhere else and returns as soon as it is queued.
#[async_trait]
pub trait Dispatcher: Send + Sync {
    async fn dispatch(&self, job: Job) -> Result<(), DispatchError>;

    /// Starts `job` for a verified Slack request unless a request with the same `sight`
    /// started one before (a replay): the replay guard and the start as one step. By default
    /// the guard is `records`' conditional write in the state store (DynamoDB in Lambda), then
    /// [`Dispatcher::dispatch`]; the local queue writes the sight in the job's own transaction.
    /// A job refused as [`DispatchError::Busy`] may leave its sight remembered (default) or not
    /// (the local queue): either way nothing ran, and a replay runs it at most once.
    async fn dispatch_once(
        &self,
        job: Job,
        sight: &Sight,
        records: &Records,
    ) -> Result<Once, DispatchError> {
        match records.first_sight(sight).await {
            Ok(true) => {}
            Ok(false) => return Ok(Once::Replayed),
            Err(e) => return Err(DispatchError::Guard(Box::new(e))),
        }
        self.dispatch(job).await.map(|()| Once::Started)
    }

    /// How full this process's queue is; `None` where the queue is not ours (Lambda's).
    async fn backlog(&self) -> Option<Backlog> {
        None
    }
}

/// How full the local queue is: what `GET /healthz` shows and the periodic log line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Backlog {
    /// Jobs accepted and waiting for a render slot.
    pub(crate) waiting: u64,
    /// Jobs running (at most `slots`).
    pub(crate) running: u64,
    /// How many jobs may wait before new ones are refused.
    pub(crate) limit: u64,
    /// How many jobs run at once.
    pub(crate) slots: u64,
    /// How long the oldest waiting job has waited, in seconds.
    pub(crate) oldest_age_secs: Option<i64>,
    /// Jobs refused because the queue was full, since start.
    pub(crate) shed: u64,
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
            .map_err(|e| {
                // Lambda refuses an Event invocation with TooManyRequestsException (429) when
                // the function's async queue is throttled: Marquee is busy, nothing was queued.
                if e.as_service_error()
                    .is_some_and(|e| e.is_too_many_requests_exception())
                {
                    DispatchError::Busy
                } else {
                    DispatchError::Invoke(Box::new(e))
                }
            })?;
        // Lambda answers an accepted Event invocation with 202.
        if output.status_code() != 202 {
            return Err(DispatchError::Status {
                status: output.status_code(),
            });
        }
        tracing::info!("job queued for the worker");
        Ok(())
    }
}

/// How the local queue is bounded: how many jobs may wait, how many run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// Jobs that may wait; beyond it new ones are refused as busy.
    pub limit: u64,
    /// Jobs that run at once (render slots): each holds at most one job's art and PNGs.
    pub slots: usize,
}

/// How often the local queue's depth is logged (and counted) while it is not idle.
const BACKLOG_EVERY: Duration = Duration::from_secs(30);

/// Runs jobs in this process (the local server and `marquee demo`), from a durable queue.
#[derive(Clone)]
pub struct InProcessDispatcher {
    queue: Arc<Queue>,
    slots: usize,
    tasks: TaskTracker,
    stop: watch::Sender<bool>,
}

impl InProcessDispatcher {
    /// Opens the queue at `path` and starts running its jobs with `pipeline`: first those an
    /// earlier process left unfinished, then each job as it is queued. Needs a Tokio runtime.
    pub fn open(
        pipeline: Arc<Pipeline>,
        path: &Path,
        settings: QueueSettings,
    ) -> Result<Self, QueueError> {
        let queue = Arc::new(Queue::open(path, settings.limit)?);
        let slots = settings.slots.max(1);
        let (stop, stopped) = watch::channel(false);
        let tasks = TaskTracker::new();
        let dispatcher = Self {
            queue: Arc::clone(&queue),
            slots,
            tasks: tasks.clone(),
            stop,
        };
        let metrics = pipeline.metrics().clone();
        tokio::spawn(feed(
            Arc::clone(&queue),
            pipeline,
            Arc::new(Semaphore::new(slots)),
            tasks,
            stopped.clone(),
        ));
        tokio::spawn(watch_backlog(dispatcher.clone(), metrics, stopped));
        Ok(dispatcher)
    }

    /// Stops starting jobs and waits for the running ones to finish (a graceful shutdown);
    /// jobs still waiting stay queued for the next start.
    pub async fn wait_idle(&self) {
        let _ = self.stop.send(true);
        self.tasks.close();
        self.tasks.wait().await;
    }

    async fn backlog_now(&self) -> Option<Backlog> {
        let depth = match self.queue.depth().await {
            Ok(depth) => depth,
            Err(e) => {
                tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "could not read the job queue's depth");
                return None;
            }
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        Some(Backlog {
            waiting: depth.waiting,
            running: depth.running,
            limit: self.queue.limit(),
            slots: self.slots as u64,
            oldest_age_secs: depth.oldest_accepted_at.map(|at| (now - at).max(0)),
            shed: self.queue.shed(),
        })
    }
}

/// Hands queued jobs to free render slots, oldest first, until told to stop.
async fn feed(
    queue: Arc<Queue>,
    pipeline: Arc<Pipeline>,
    slots: Arc<Semaphore>,
    tasks: TaskTracker,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => return,
            },
            _ = stop.wait_for(|stop| *stop) => return,
        };
        let queued = loop {
            let ready = queue.ready().notified();
            match queue.next().await {
                Ok(Some(queued)) => break queued,
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "could not read the job queue; trying again");
                }
            }
            tokio::select! {
                _ = ready => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
        };
        let queue = Arc::clone(&queue);
        let pipeline = Arc::clone(&pipeline);
        tasks.spawn(async move {
            let _slot = slot;
            match serde_json::from_str::<Job>(&queued.job) {
                Ok(job) => {
                    pipeline.run_queued(job, queued.resumed).await;
                }
                // Written by this program, so only a newer or damaged file gets here; with no
                // job there is no reply address to tell.
                Err(e) => {
                    tracing::error!(seq = queued.seq, error = %e, "a queued job could not be read; dropped");
                }
            }
            if let Err(e) = queue.done(queued.seq).await {
                tracing::error!(seq = queued.seq, error = %marquee_core::errors::ErrorChain(&e), "could not mark a job done; it will be resumed at the next start");
            }
        });
    }
}

/// Logs (and counts, where metrics are on) the queue's depth every [`BACKLOG_EVERY`] while
/// jobs wait or run or commands were shed.
async fn watch_backlog(d: InProcessDispatcher, metrics: Metrics, mut stop: watch::Receiver<bool>) {
    let mut last_shed = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(BACKLOG_EVERY) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        let Some(b) = d.backlog_now().await else {
            continue;
        };
        if b.waiting == 0 && b.running == 0 && b.shed == last_shed {
            continue;
        }
        tracing::info!(
            waiting = b.waiting,
            running = b.running,
            limit = b.limit,
            slots = b.slots,
            oldest_age_secs = b.oldest_age_secs.unwrap_or(0),
            shed = b.shed,
            shed_since_last = b.shed - last_shed,
            "job queue"
        );
        metrics.record(Event::Backlog {
            depth: b.waiting,
            oldest_age_secs: b.oldest_age_secs.unwrap_or(0).max(0) as u64,
        });
        last_shed = b.shed;
    }
}

#[async_trait]
impl Dispatcher for InProcessDispatcher {
    async fn dispatch(&self, job: Job) -> Result<(), DispatchError> {
        match self.queue.push(&job).await? {
            Pushed::Queued => Ok(()),
            Pushed::Full => Err(DispatchError::Busy),
            // Only a push with a sight is refused as a replay.
            Pushed::Replayed => Ok(()),
        }
    }

    /// The sight is written in the job's own transaction (one hand-off per ack, not one per
    /// database); the state store is not asked.
    async fn dispatch_once(
        &self,
        job: Job,
        sight: &Sight,
        _records: &Records,
    ) -> Result<Once, DispatchError> {
        let until = time::OffsetDateTime::now_utc().unix_timestamp() + SIGHT_SECS;
        match self.queue.push_once(&job, sight, until).await? {
            Pushed::Queued => Ok(Once::Started),
            Pushed::Replayed => Ok(Once::Replayed),
            Pushed::Full => Err(DispatchError::Busy),
        }
    }

    async fn backlog(&self) -> Option<Backlog> {
        self.backlog_now().await
    }
}

/// For one-shot commands (`marquee poster`, `print --id`): they never queue a job, and must
/// not take over a server's queue.
pub(crate) struct NoWorker;

#[async_trait]
impl Dispatcher for NoWorker {
    async fn dispatch(&self, _job: Job) -> Result<(), DispatchError> {
        Err(DispatchError::Queue(QueueError::Stopped))
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
    use marquee_core::job::sample_job;

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
        (crate::pipeline::testing::serve(app).await, received)
    }

    fn dispatcher(endpoint: &str) -> LambdaDispatcher {
        let conf = aws_sdk_lambda::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(marquee_core::net::aws_http_client())
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
    async fn anything_but_an_accepted_event_is_an_error_or_busy_not_a_silent_drop() {
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
            matches!(throttled, Err(DispatchError::Busy)),
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
