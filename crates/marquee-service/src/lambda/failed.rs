//! The on-failure destination read back: SQS events whose records are Lambda's accounts of
//! worker invocations that ended without the requester being told.
//!
//! Lambda sends a record to the destination when an asynchronous invocation fails for good
//! (`RetriesExhausted`: a function error, with retries off, after the one attempt; a kill at
//! the timeout or out of memory; a crash) or expires in its queue (`EventAgeExceeded`). The
//! record ("Capturing records of Lambda asynchronous invocations", AWS Lambda developer guide)
//! carries the original event as `requestPayload` — the job — and, after a run, the error as
//! `responsePayload`. SQS hands the records over as message bodies ("Using Lambda with Amazon
//! SQS"). Each record becomes one message to the requester, through
//! [`Pipeline::tell_unfinished`]; the answer lists the records whose message may still get
//! through later (`batchItemFailures`, for an event source mapping with
//! `ReportBatchItemFailures`), so SQS offers only those again. Records that can never lead to
//! a message (unreadable, not a job, too old, refused by Slack) are logged and let go.
//!
//! Record bodies hold `response_url`s: nothing here logs a body or a parse error's text.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{LambdaError, UNDELIVERABLE};
use crate::pipeline::{Notice, Pipeline, SLACK_REFUSED, Unfinished};
use marquee_core::job::Job;

/// The `eventSource` of every record of an SQS event.
const SQS_EVENT_SOURCE: &str = "aws:sqs";

/// The `errorType` Lambda reports for an invocation it stopped at the function's timeout.
const LAMBDA_TIMED_OUT: &str = "Sandbox.Timedout";

/// What an SQS event carries that matters here.
#[derive(Debug, Deserialize)]
pub(super) struct Batch {
    #[serde(rename = "Records")]
    records: Vec<Message>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Message {
    message_id: String,
    body: String,
}

/// Lambda's record of one asynchronous invocation (the fields Marquee reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvocationRecord {
    request_context: RequestContext,
    request_payload: Value,
    /// Absent, or without an error, when the event expired before any run.
    #[serde(default)]
    response_payload: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext {
    request_id: String,
    condition: Condition,
    #[serde(default)]
    approximate_invoke_count: u32,
}

/// Why Lambda sent the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum Condition {
    RetriesExhausted,
    EventAgeExceeded,
    /// Only an on-success destination receives these.
    Success,
    #[serde(other)]
    Unknown,
}

/// Why a record leads to no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Silent {
    /// Not a failure (a `Success` record, or a condition this build does not know).
    NotAFailure,
    /// The worker's own posts to the `response_url` were refused: another would be too.
    SlackRefusedTheWorker,
}

/// Whether `event` is an SQS event (every record's `eventSource` is `aws:sqs`).
pub(super) fn is_sqs_event(event: &Value) -> bool {
    match event.get("Records").and_then(Value::as_array) {
        Some(records) if !records.is_empty() => records
            .iter()
            .all(|r| r.get("eventSource").and_then(Value::as_str) == Some(SQS_EVENT_SOURCE)),
        _ => false,
    }
}

/// Reads an SQS event. One that does not have the shape of one fails as a whole, so SQS keeps
/// its messages (and, after three receives, moves them to the dead-letter queue).
pub(super) fn read_batch(event: Value) -> Result<Batch, LambdaError> {
    serde_json::from_value(event).map_err(LambdaError::BadSqsEvent)
}

/// Tells the requester of every record's job, and answers with the records to offer again.
pub(super) async fn handle(pipeline: &Arc<Pipeline>, batch: Batch) -> Value {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    // Each record is one Slack post with its own retries; a batch's posts go out together, so
    // a batch takes as long as its slowest post rather than the sum of them.
    let mut posts = tokio::task::JoinSet::new();
    let mut ids = HashMap::new();
    for message in batch.records {
        let pipeline = pipeline.clone();
        let id = message.message_id.clone();
        let task = posts.spawn(async move { handle_record(&pipeline, &message, now).await });
        ids.insert(task.id(), id);
    }
    let mut failures = Vec::new();
    while let Some(done) = posts.join_next_with_id().await {
        let (task, retry) = match done {
            Ok((task, retry)) => (task, retry),
            // A record whose handling panicked is offered again, never lost.
            Err(e) => {
                tracing::error!(error = %e, "handling a failed-job record panicked");
                (e.id(), true)
            }
        };
        if retry && let Some(id) = ids.remove(&task) {
            failures.push(json!({ "itemIdentifier": id }));
        }
    }
    json!({ "batchItemFailures": failures })
}

/// Handles one record; `true` when SQS should offer it again.
async fn handle_record(pipeline: &Pipeline, message: &Message, now: i64) -> bool {
    let message_id = message.message_id.as_str();
    let record: InvocationRecord = match serde_json::from_str(&message.body) {
        Ok(record) => record,
        Err(e) => {
            tracing::error!(message_id, error_kind = ?e.classify(), line = e.line(), column = e.column(), "a failed-job record is not a Lambda invocation record; dropped");
            return false;
        }
    };
    let context = &record.request_context;
    let job = match Job::from_event(record.request_payload.clone()) {
        Ok(job) => job,
        Err(e) => {
            let detail = match &e {
                marquee_core::job::JobError::Malformed(m) => format!("{:?}", m.classify()),
                other => other.to_string(),
            };
            tracing::error!(message_id, request_id = %context.request_id, condition = ?context.condition, detail, "a failed invocation did not carry a job; nobody to tell");
            return false;
        }
    };
    let why = match unfinished(&record) {
        Ok(why) => why,
        Err(silent) => {
            tracing::error!(job = %job.id, message_id, request_id = %context.request_id, condition = ?context.condition, ?silent, "a job failed without a word, and none can be sent now");
            return false;
        }
    };
    tracing::warn!(job = %job.id, message_id, request_id = %context.request_id, condition = ?context.condition, attempts = context.approximate_invoke_count, why = why.kind(), "a job ended without telling its requester");
    match pipeline.tell_unfinished(&job, why, now).await {
        Notice::Told | Notice::TooLate | Notice::Refused => false,
        Notice::Unreachable => true,
    }
}

/// What the record says happened, in the pipeline's terms.
fn unfinished(record: &InvocationRecord) -> Result<Unfinished, Silent> {
    match record.request_context.condition {
        Condition::EventAgeExceeded => return Ok(Unfinished::Expired),
        Condition::RetriesExhausted => {}
        Condition::Success | Condition::Unknown => return Err(Silent::NotAFailure),
    }
    let error = record.response_payload.as_ref();
    let field = |name: &str| {
        error
            .and_then(|e| e.get(name))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let (error_type, message) = (field("errorType"), field("errorMessage"));
    // Runtimes older than the `Sandbox.Timedout` type report a timeout only in the message.
    if error_type == LAMBDA_TIMED_OUT || message.contains("Task timed out after") {
        return Ok(Unfinished::TimedOut);
    }
    match error_type
        .strip_prefix(UNDELIVERABLE)
        .and_then(|rest| rest.strip_prefix('.'))
    {
        Some(kind) if kind == SLACK_REFUSED => Err(Silent::SlackRefusedTheWorker),
        Some(_) => Ok(Unfinished::SlackUnreachable),
        None => Ok(Unfinished::Stopped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(condition: &str, response: Value) -> InvocationRecord {
        serde_json::from_value(json!({
            "version": "1.0",
            "timestamp": "2019-11-14T18:16:05.568Z",
            "requestContext": {
                "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:marquee:$LATEST",
                "condition": condition,
                "approximateInvokeCount": 1
            },
            "requestPayload": {"marquee_job": 1},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": response
        }))
        .unwrap()
    }

    #[test]
    fn each_way_a_worker_ends_unheard_is_named() {
        let cases = [
            (
                "RetriesExhausted",
                json!({"errorType": "Sandbox.Timedout", "errorMessage": "RequestId: x Error: Task timed out after 180.00 seconds"}),
                Ok(Unfinished::TimedOut),
            ),
            (
                "RetriesExhausted",
                json!({"errorMessage": "2019-11-14T18:16:05.568Z x Task timed out after 180.01 seconds"}),
                Ok(Unfinished::TimedOut),
            ),
            (
                "RetriesExhausted",
                json!({"errorMessage": "RequestId: x Process exited before completing request"}),
                Ok(Unfinished::Stopped),
            ),
            (
                "RetriesExhausted",
                json!({"errorType": "Runtime.OutOfMemory", "errorMessage": "Runtime exited with error: signal: killed"}),
                Ok(Unfinished::Stopped),
            ),
            (
                "RetriesExhausted",
                json!({"errorType": "Undeliverable.SlackUnreachable", "errorMessage": "the job could not be delivered to Slack"}),
                Ok(Unfinished::SlackUnreachable),
            ),
            (
                "RetriesExhausted",
                json!({"errorType": "Undeliverable.SlackRejected", "errorMessage": "the job could not be delivered to Slack"}),
                Err(Silent::SlackRefusedTheWorker),
            ),
            ("EventAgeExceeded", Value::Null, Ok(Unfinished::Expired)),
            ("Success", json!({"job": "x"}), Err(Silent::NotAFailure)),
            ("SomethingNew", Value::Null, Err(Silent::NotAFailure)),
        ];
        for (condition, response, expected) in cases {
            assert_eq!(
                unfinished(&record(condition, response.clone())),
                expected,
                "{condition} {response}"
            );
        }
    }

    #[test]
    fn only_all_sqs_records_make_an_sqs_event() {
        let sqs = json!({"eventSource": "aws:sqs", "messageId": "m", "body": "{}"});
        let sns = json!({"EventSource": "aws:sns"});
        assert!(is_sqs_event(&json!({"Records": [sqs.clone()]})));
        assert!(!is_sqs_event(&json!({"Records": [sqs, sns.clone()]})));
        assert!(!is_sqs_event(&json!({"Records": [sns]})));
        assert!(!is_sqs_event(&json!({"Records": []})));
        assert!(!is_sqs_event(
            &json!({"version": "2.0", "rawPath": "/healthz"})
        ));
    }
}
