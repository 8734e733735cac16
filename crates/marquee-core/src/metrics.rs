//! Metrics: what Marquee counts and times, as CloudWatch embedded metric format (EMF) lines.
//!
//! Lambda sends every line the function writes to standard output to CloudWatch Logs, and
//! CloudWatch Logs extracts metrics from each line that is an EMF document, so publishing a
//! metric costs one log line: no CloudWatch API call, no permission beyond logging, nothing
//! awaited. The format is the EMF specification's ("Specification: Embedded metric format",
//! Amazon CloudWatch User Guide); the tests below check every document against its rules.
//!
//! The vocabulary is small and fixed: [`Metric`] (a name and a unit) and [`PUBLISHED`], every
//! metric with the dimension sets it is published under, which the template's alarms and
//! dashboard are tested against. Every dimension value but `Function` (the function's name) is
//! a `&'static str` from the code's own vocabulary — a model's short name, a style's name, a
//! stage, a kind — so no user id, channel, prompt, URL or secret can become a dimension.
//!
//! Documents are written to stdout directly, one line each, not through `tracing`, whose JSON
//! formatter would nest them under its own fields. The template's JSON log format leaves them
//! whole: Lambda does not re-encode a line that is already JSON ("Configuring JSON and plain
//! text log formats", Lambda developer guide), and the EMF specification accepts a document
//! after any metadata Lambda puts before it ("PutLogEvents request format"). Only the Lambda
//! function writes them (`Metrics::to_stdout`, chosen by `app` from the mode); a local server's
//! `Metrics::off` writes nothing. This module is a leaf: it knows nothing of the rest of the
//! crate.
//!
//! What Marquee counts, as CloudWatch embedded metric format (EMF) documents written one line each
//! to stdout, which Lambda sends to CloudWatch Logs and CloudWatch Logs turns into metrics: no API
//! call, no permission, nothing awaited. A fixed vocabulary in namespace `Marquee`: `Metric` (name
//! and unit), `PUBLISHED` (every metric with its dimension sets) and `sample_documents` (one
//! document of every kind, as the function writes them), which the template's alarms and dashboard
//! are tested against. `Ack`/`AckLatency` (ms) by `Door`, timed by a layer on the two Slack routes
//! in `http`; `Poster` by `Model` and by `Style` when one is delivered; `StageTime` (ms) by `Stage`
//! (model, compose, store, deliver); `Failure` by `Kind` (filtered, throttled, timeout, access,
//! delivery, other — `PipelineError::failure`); `EstimatedSpend` (micro-dollars, unit `Count`) by
//! `Model` when `metering` charges; `QuotaRefusal` by `Kind` (user, channel, budget) when a
//! reservation is refused; `Shed` when a request is told Marquee is busy (Lambda throttled the
//! job's `Invoke`, or a local server's queue is full), and `QueueDepth`/`OldestJobAge` (seconds),
//! sampled from a local server's queue. Every metric also carries `Function` (the function's name).
//! `app` turns metrics on in Lambda mode only (`Metrics::to_stdout`); a local server's
//! `Metrics::off` writes nothing.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// The CloudWatch namespace of every metric Marquee publishes.
pub const NAMESPACE: &str = "Marquee";

/// The dimension every metric carries: the function's name (the stack's name in the
/// template), so two deployments in one account keep their metrics apart.
pub const FUNCTION: &str = "Function";
/// Which Slack door was answered: `command` (slash commands) or `interaction` (clicks, forms).
pub(crate) const DOOR: &str = "Door";
/// A model's short name (`sd3.5`, `nova`, …) or an image service's (`search-replace`, …).
pub(crate) const MODEL: &str = "Model";
/// A poster's style (`noir`, `sci-fi`, …).
pub(crate) const STYLE: &str = "Style";
/// A step of making a poster: `model`, `compose`, `store` or `deliver`.
pub(crate) const STAGE: &str = "Stage";
/// A failure's kind (`filtered`, `throttled`, `timeout`, `access`, `delivery`, `other`), or
/// the quota that refused a request (`user`, `channel`, `budget`).
pub(crate) const KIND: &str = "Kind";

/// A CloudWatch unit, as EMF's `Unit` member names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Count,
    Milliseconds,
    Seconds,
}

impl Unit {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Seconds => "Seconds",
        }
    }
}

/// Every metric Marquee publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// A Slack request answered (slash command or interaction), whatever the answer.
    Ack,
    /// How long answering it took, from the request reaching the router to the response.
    AckLatency,
    /// A poster delivered (to Slack, or to a REST caller's status record).
    Poster,
    /// How long one stage of making a poster took: `Stage`.
    StageTime,
    /// A job that failed, by kind: `Failure`.
    Failure,
    /// What a charged call is estimated to cost, in **micro-dollars** (millionths of a US
    /// dollar, unit `Count`), at the configured prices: the same amount the usage ledger and the
    /// monthly budget count. Divide by 1,000,000 for dollars.
    EstimatedSpend,
    /// A request a quota refused before any model was called: `Limit`.
    QuotaRefusal,
    /// A request refused because the job queue was full: told Marquee is busy, nothing queued.
    Shed,
    /// Jobs waiting in the local server's queue (`marquee serve`), sampled periodically.
    QueueDepth,
    /// How long the oldest waiting job has waited, in seconds, sampled with `QueueDepth`.
    OldestJobAge,
}

const FUNCTION_ONLY: &[&str] = &[FUNCTION];

impl Metric {
    #[cfg(test)]
    pub(crate) const ALL: [Metric; 10] = [
        Metric::Ack,
        Metric::AckLatency,
        Metric::Poster,
        Metric::StageTime,
        Metric::Failure,
        Metric::EstimatedSpend,
        Metric::QuotaRefusal,
        Metric::Shed,
        Metric::QueueDepth,
        Metric::OldestJobAge,
    ];

    /// The metric's name in CloudWatch.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Metric::Ack => "Ack",
            Metric::AckLatency => "AckLatency",
            Metric::Poster => "Poster",
            Metric::StageTime => "StageTime",
            Metric::Failure => "Failure",
            Metric::EstimatedSpend => "EstimatedSpend",
            Metric::QuotaRefusal => "QuotaRefusal",
            Metric::Shed => "Shed",
            Metric::QueueDepth => "QueueDepth",
            Metric::OldestJobAge => "OldestJobAge",
        }
    }

    pub(crate) const fn unit(self) -> Unit {
        match self {
            Metric::AckLatency | Metric::StageTime => Unit::Milliseconds,
            Metric::OldestJobAge => Unit::Seconds,
            Metric::Ack
            | Metric::Poster
            | Metric::Failure
            | Metric::EstimatedSpend
            | Metric::QuotaRefusal
            | Metric::Shed
            | Metric::QueueDepth => Unit::Count,
        }
    }

    /// The dimension sets the metric is published under. Each set is a metric of its own in
    /// CloudWatch (and on the bill), so there are few: a total per function, and one
    /// breakdown or two.
    pub(crate) const fn dimension_sets(self) -> &'static [&'static [&'static str]] {
        match self {
            Metric::Ack | Metric::AckLatency => &[FUNCTION_ONLY, &[FUNCTION, DOOR]],
            Metric::Poster => &[FUNCTION_ONLY, &[FUNCTION, MODEL], &[FUNCTION, STYLE]],
            Metric::StageTime => &[&[FUNCTION, STAGE]],
            Metric::Failure | Metric::QuotaRefusal => &[FUNCTION_ONLY, &[FUNCTION, KIND]],
            Metric::EstimatedSpend => &[FUNCTION_ONLY, &[FUNCTION, MODEL]],
            Metric::Shed | Metric::QueueDepth | Metric::OldestJobAge => &[FUNCTION_ONLY],
        }
    }

    pub(crate) const fn published(self) -> Published {
        Published {
            name: self.name(),
            unit: self.unit().as_str(),
            dimension_sets: self.dimension_sets(),
        }
    }
}

/// A metric as CloudWatch will know it: what an alarm or a dashboard widget may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub name: &'static str,
    pub unit: &'static str,
    pub dimension_sets: &'static [&'static [&'static str]],
}

/// Every metric the code emits, in namespace [`NAMESPACE`], with its unit and dimension sets.
/// `tests/it/deploy.rs` checks that every alarm on a `Marquee` metric names one of these with
/// one of its dimension sets: no alarm waits on a metric nothing emits.
pub const PUBLISHED: [Published; 10] = [
    Metric::Ack.published(),
    Metric::AckLatency.published(),
    Metric::Poster.published(),
    Metric::StageTime.published(),
    Metric::Failure.published(),
    Metric::EstimatedSpend.published(),
    Metric::QuotaRefusal.published(),
    Metric::Shed.published(),
    Metric::QueueDepth.published(),
    Metric::OldestJobAge.published(),
];

/// One EMF document of every kind the code writes, as it writes them, for `function`: what
/// `tests/it/deploy.rs` checks the template's alarms and dashboard against. Model and style
/// values are examples; every other dimension value appears.
pub fn sample_documents(function: &str) -> Vec<Value> {
    let mut events = vec![
        Event::Ack {
            door: Door::Command,
            latency: Duration::from_millis(40),
        },
        Event::Ack {
            door: Door::Interaction,
            latency: Duration::from_millis(40),
        },
        Event::Ack {
            door: Door::Events,
            latency: Duration::from_millis(40),
        },
        Event::Poster {
            model: "sd3.5",
            style: "noir",
        },
        Event::Spend {
            model: "sd3.5",
            micros: 80_000,
        },
        Event::Shed,
        Event::Backlog {
            depth: 12,
            oldest_age_secs: 30,
        },
    ];
    events.extend(Stage::ALL.map(|stage| Event::Stage { stage, ms: 1000 }));
    events.extend(Failure::ALL.map(Event::Failure));
    events.extend(Limit::ALL.map(Event::QuotaRefusal));
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    events
        .iter()
        .map(|e| e.document(function, now_ms))
        .collect()
}

/// The Slack door a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    Command,
    Interaction,
    /// The Events API (`/slack/events`): mentions and direct messages.
    Events,
}

impl Door {
    const fn name(self) -> &'static str {
        match self {
            Door::Command => "command",
            Door::Interaction => "interaction",
            Door::Events => "events",
        }
    }
}

/// A stage of making and delivering a poster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The model call that drew (or edited) the art, retries included.
    Model,
    /// Setting the type over the art and encoding the PNG.
    Compose,
    /// Storing the art and the poster, and keeping the record.
    Store,
    /// Posting to Slack.
    Deliver,
}

impl Stage {
    const ALL: [Stage; 4] = [Stage::Model, Stage::Compose, Stage::Store, Stage::Deliver];

    const fn name(self) -> &'static str {
        match self {
            Stage::Model => "model",
            Stage::Compose => "compose",
            Stage::Store => "store",
            Stage::Deliver => "deliver",
        }
    }
}

/// What kind of failure ended a job, in the few kinds an operator acts on differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The model's safety filter blocked the prompt or the picture.
    Filtered,
    /// Bedrock throttled the call or the account's quota is used up.
    Throttled,
    /// The model, or the whole job, ran out of time.
    Timeout,
    /// The account may not use the model (model access, IAM), or not in the region called.
    Access,
    /// Slack would not take the poster or the message about it.
    Delivery,
    /// Everything else: storage, state, composing, a model answer that made no sense.
    Other,
}

impl Failure {
    const ALL: [Failure; 6] = [
        Failure::Filtered,
        Failure::Throttled,
        Failure::Timeout,
        Failure::Access,
        Failure::Delivery,
        Failure::Other,
    ];

    const fn name(self) -> &'static str {
        match self {
            Failure::Filtered => "filtered",
            Failure::Throttled => "throttled",
            Failure::Timeout => "timeout",
            Failure::Access => "access",
            Failure::Delivery => "delivery",
            Failure::Other => "other",
        }
    }
}

/// The quota that refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    User,
    Channel,
    Budget,
}

impl Limit {
    const ALL: [Limit; 3] = [Limit::User, Limit::Channel, Limit::Budget];

    const fn name(self) -> &'static str {
        match self {
            Limit::User => "user",
            Limit::Channel => "channel",
            Limit::Budget => "budget",
        }
    }
}

/// Something worth counting; each becomes one EMF document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    Ack {
        door: Door,
        latency: Duration,
    },
    Poster {
        model: &'static str,
        style: &'static str,
    },
    Stage {
        stage: Stage,
        ms: u64,
    },
    Failure(Failure),
    Spend {
        model: &'static str,
        micros: i64,
    },
    QuotaRefusal(Limit),
    /// A request refused because the job queue was full.
    Shed,
    /// The local queue's depth and its oldest waiting job's age, sampled.
    Backlog {
        depth: u64,
        oldest_age_secs: u64,
    },
}

impl Event {
    /// The metrics this event sets, with their values. All of one event's metrics share
    /// their dimension sets, so one directive carries them.
    fn values(&self) -> Vec<(Metric, Value)> {
        match *self {
            Event::Ack { latency, .. } => vec![
                (Metric::Ack, json!(1)),
                (Metric::AckLatency, json!(latency.as_secs_f64() * 1000.0)),
            ],
            Event::Poster { .. } => vec![(Metric::Poster, json!(1))],
            Event::Stage { ms, .. } => vec![(Metric::StageTime, json!(ms))],
            Event::Failure(_) => vec![(Metric::Failure, json!(1))],
            Event::Spend { micros, .. } => vec![(Metric::EstimatedSpend, json!(micros))],
            Event::QuotaRefusal(_) => vec![(Metric::QuotaRefusal, json!(1))],
            Event::Shed => vec![(Metric::Shed, json!(1))],
            Event::Backlog {
                depth,
                oldest_age_secs,
            } => vec![
                (Metric::QueueDepth, json!(depth)),
                (Metric::OldestJobAge, json!(oldest_age_secs)),
            ],
        }
    }

    /// The event's dimension values, but `Function`.
    fn dimensions(&self) -> Vec<(&'static str, &'static str)> {
        match *self {
            Event::Ack { door, .. } => vec![(DOOR, door.name())],
            Event::Poster { model, style } => vec![(MODEL, model), (STYLE, style)],
            Event::Stage { stage, .. } => vec![(STAGE, stage.name())],
            Event::Failure(failure) => vec![(KIND, failure.name())],
            Event::Spend { model, .. } => vec![(MODEL, model)],
            Event::QuotaRefusal(limit) => vec![(KIND, limit.name())],
            Event::Shed | Event::Backlog { .. } => vec![],
        }
    }

    /// The event as an EMF document for `function`, stamped `timestamp_ms` (milliseconds
    /// since the Unix epoch).
    pub(crate) fn document(&self, function: &str, timestamp_ms: u64) -> Value {
        let values = self.values();
        let sets = values
            .first()
            .map(|(metric, _)| metric.dimension_sets())
            .unwrap_or_default();
        let definitions: Vec<Value> = values
            .iter()
            .map(|(metric, _)| json!({"Name": metric.name(), "Unit": metric.unit().as_str()}))
            .collect();
        let mut root = Map::new();
        root.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": sets,
                    "Metrics": definitions,
                }],
            }),
        );
        root.insert(FUNCTION.to_owned(), json!(function));
        for (key, value) in self.dimensions() {
            root.insert(key.to_owned(), json!(value));
        }
        for (metric, value) in values {
            root.insert(metric.name().to_owned(), value);
        }
        Value::Object(root)
    }
}

/// Where each EMF line goes: standard output in Lambda.
type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// Where metrics go: standard output as EMF lines in Lambda, nowhere locally. Cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics {
    /// The `Function` dimension's value and where lines go; `None`: metrics are off.
    target: Option<(Arc<str>, Sink)>,
}

impl Metrics {
    /// Records nothing (a local server or the CLI, whose terminal EMF lines would clutter).
    pub fn off() -> Self {
        Metrics::default()
    }

    /// Writes each event to standard output as one EMF line, for `function`.
    pub fn to_stdout(function: &str) -> Self {
        Metrics::to_sink(
            function,
            Arc::new(|line: &str| {
                // One write of the whole line under stdout's lock, so it never interleaves with
                // a tracing line. A metric that cannot be written is not worth failing a
                // request for.
                let _ = std::io::stdout().lock().write_all(line.as_bytes());
            }),
        )
    }

    /// Hands each event's EMF line (newline included) to `sink`, for `function`.
    fn to_sink(function: &str, sink: Sink) -> Self {
        Metrics {
            target: Some((Arc::from(function), sink)),
        }
    }

    /// Records `event`: one line, written at once; nothing is awaited or buffered.
    pub fn record(&self, event: Event) {
        let Some((function, sink)) = &self.target else {
            return;
        };
        let timestamp_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut line = event.document(function, timestamp_ms).to_string();
        line.push('\n');
        sink(&line);
    }

    /// Records each stage's time, one document per stage.
    pub fn stages(&self, stages: &[(Stage, u64)]) {
        for &(stage, ms) in stages {
            self.record(Event::Stage { stage, ms });
        }
    }

    /// Metrics for function `f` kept in memory, and the documents recorded so far (each line
    /// checked against the EMF specification), for tests of the places that count.
    #[doc(hidden)]
    pub fn recorded() -> (Metrics, Recorded) {
        let lines = Recorded::default();
        let kept = lines.clone();
        let sink: Sink = Arc::new(move |line: &str| {
            kept.0
                .lock()
                .expect("recorded metrics lock")
                .push(line.to_owned())
        });
        (Metrics::to_sink("f", sink), lines)
    }
}

/// The lines a [`Metrics::recorded`] kept.
#[doc(hidden)]
#[derive(Clone, Default)]
pub struct Recorded(Arc<std::sync::Mutex<Vec<String>>>);

#[doc(hidden)]
impl Recorded {
    /// Every document so far, after checking each is one EMF line.
    pub fn documents(&self) -> Vec<Value> {
        self.0
            .lock()
            .expect("recorded metrics lock")
            .iter()
            .map(|line| {
                let body = line.strip_suffix('\n').expect("a line ends in a newline");
                emf::check_emf(body).unwrap_or_else(|e| panic!("{e}: {body}"));
                serde_json::from_str(body).expect("an EMF line is JSON")
            })
            .collect()
    }

    /// The documents that set `metric`.
    pub fn of(&self, metric: Metric) -> Vec<Value> {
        self.documents()
            .into_iter()
            .filter(|d| d.get(metric.name()).is_some())
            .collect()
    }
}

// The EMF checker, for this module's tests and for `Recorded` (other crates' tests).
mod emf {
    use super::*;

    /// The units EMF accepts: "Values SHOULD be valid CloudWatch metric units" (spec,
    /// "MetricDefinition object"), as listed by the spec's JSON schema (`MetricUnit` pattern)
    /// and CloudWatch's `MetricDatum`.
    const CLOUDWATCH_UNITS: &[&str] = &[
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ];

    /// Checks `line` against the EMF specification ("Specification: Embedded metric format",
    /// Amazon CloudWatch User Guide); each rule names the section it comes from.
    pub(super) fn check_emf(line: &str) -> Result<(), String> {
        // "Embedded metric format document structure": limited like any CloudWatch Logs
        // event; the spec gives 256 KB (newer revisions 1 MB), so the smaller bound is used.
        if line.len() > 256 * 1024 {
            return Err(format!("{} bytes is over 256 KB", line.len()));
        }
        // "Root node": the message MUST be a valid JSON object with no additional data at the
        // beginning or end; one line here, since Lambda makes one log event of each line.
        if line.contains('\n') {
            return Err("a document must be one line".into());
        }
        let root: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
        let root = root.as_object().ok_or("the root is not an object")?;
        // "Root node": MUST contain the `_aws` member, a Metadata object.
        let aws = root
            .get("_aws")
            .and_then(Value::as_object)
            .ok_or("no _aws object")?;
        // "Metadata object": `Timestamp`, a number of milliseconds since the epoch (the
        // schema: an integer).
        let timestamp = aws
            .get("Timestamp")
            .and_then(Value::as_u64)
            .ok_or("_aws.Timestamp is not a whole number of milliseconds")?;
        if timestamp < 1_000_000_000_000 {
            return Err(format!("_aws.Timestamp {timestamp} is not in milliseconds"));
        }
        // "Metadata object": `CloudWatchMetrics`, an array of MetricDirective objects.
        let directives = aws
            .get("CloudWatchMetrics")
            .and_then(Value::as_array)
            .ok_or("_aws.CloudWatchMetrics is not an array")?;
        if directives.is_empty() {
            return Err("no metric directive".into());
        }
        for directive in directives {
            let directive = directive
                .as_object()
                .ok_or("a directive is not an object")?;
            // "MetricDirective object": MUST contain Namespace, a string (the schema: 1 to 255
            // characters).
            let namespace = directive
                .get("Namespace")
                .and_then(Value::as_str)
                .ok_or("a directive has no Namespace string")?;
            if namespace.is_empty() || namespace.len() > 255 {
                return Err(format!(
                    "Namespace {namespace:?} is not 1 to 255 characters"
                ));
            }
            // "MetricDirective object": MUST contain Dimensions, a DimensionSet array (the
            // schema: at least one set).
            let sets = directive
                .get("Dimensions")
                .and_then(Value::as_array)
                .ok_or("a directive has no Dimensions array")?;
            if sets.is_empty() {
                return Err("Dimensions holds no dimension set".into());
            }
            for set in sets {
                let keys = set.as_array().ok_or("a dimension set is not an array")?;
                // "DimensionSet array": MUST NOT contain more than 30 dimension keys (the
                // current revision; earlier ones said 9, which these sets also meet).
                if keys.len() > 30 {
                    return Err(format!("a dimension set has {} keys", keys.len()));
                }
                for key in keys {
                    // The schema's DimensionReference: a string of 1 to 255 characters.
                    let key = key.as_str().ok_or("a dimension key is not a string")?;
                    if key.is_empty() || key.len() > 255 {
                        return Err(format!("dimension key {key:?} is not 1 to 255 characters"));
                    }
                    // "DimensionSet array" and "Target members": each key MUST be a member of
                    // the root node, with a string value. CloudWatch's `Dimension` adds:
                    // ASCII, at least one non-whitespace character, at most 1024 characters.
                    let value = root
                        .get(key)
                        .ok_or(format!("dimension {key} is not a root member"))?
                        .as_str()
                        .ok_or(format!("dimension {key}'s value is not a string"))?;
                    if value.trim().is_empty()
                        || value.len() > 1024
                        || !value.is_ascii()
                        || value.chars().any(|c| c.is_ascii_control())
                    {
                        return Err(format!("dimension {key} has an unusable value {value:?}"));
                    }
                }
            }
            // "MetricDirective object": MUST contain Metrics, an array of MetricDefinition
            // objects, at most 100 of them.
            let metrics = directive
                .get("Metrics")
                .and_then(Value::as_array)
                .ok_or("a directive has no Metrics array")?;
            if metrics.is_empty() || metrics.len() > 100 {
                return Err(format!("{} metric definitions", metrics.len()));
            }
            for metric in metrics {
                let metric = metric
                    .as_object()
                    .ok_or("a metric definition is not an object")?;
                // "MetricDefinition object": MUST contain Name, a string (the schema: 1 to 255
                // characters) referring to a target member.
                let name = metric
                    .get("Name")
                    .and_then(Value::as_str)
                    .ok_or("a metric definition has no Name string")?;
                if name.is_empty() || name.len() > 255 {
                    return Err(format!("metric name {name:?} is not 1 to 255 characters"));
                }
                // "MetricDefinition object": Unit is optional; a value SHOULD be a CloudWatch
                // unit (held to MUST here).
                if let Some(unit) = metric.get("Unit") {
                    let unit = unit.as_str().ok_or("Unit is not a string")?;
                    if !CLOUDWATCH_UNITS.contains(&unit) {
                        return Err(format!("{unit} is not a CloudWatch unit"));
                    }
                }
                // "Target members": a metric target MUST be a root member (never nested) whose
                // value is a number, or an array of at most 100 numbers.
                match root.get(name) {
                    Some(Value::Number(_)) => {}
                    Some(Value::Array(values))
                        if values.len() <= 100 && values.iter().all(Value::is_number) => {}
                    Some(other) => {
                        return Err(format!("metric {name}'s value {other} is not numeric"));
                    }
                    None => return Err(format!("metric {name} is not a root member")),
                }
            }
            // "Unless otherwise noted, objects defined by this specification MUST NOT contain
            // any additional members" ("Embedded metric format document structure").
            for key in directive.keys() {
                if !["Namespace", "Dimensions", "Metrics"].contains(&key.as_str()) {
                    return Err(format!("a directive has an extra member {key}"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use emf::check_emf;

    /// One event of every kind, with every value each can take.
    fn every_event() -> Vec<Event> {
        let mut events = vec![
            Event::Ack {
                door: Door::Command,
                latency: Duration::from_micros(41_250),
            },
            Event::Ack {
                door: Door::Interaction,
                latency: Duration::from_millis(2),
            },
            Event::Ack {
                door: Door::Events,
                latency: Duration::from_millis(3),
            },
        ];
        for model in crate::model::ModelId::ALL {
            for style in crate::genre::Style::ALL {
                events.push(Event::Poster {
                    model: model.short_name(),
                    style: style.name(),
                });
            }
            events.push(Event::Spend {
                model: model.short_name(),
                micros: 80_000,
            });
        }
        for service in [
            crate::model::Service::SearchReplace,
            crate::model::Service::ConservativeUpscale,
            crate::model::Service::CreativeUpscale,
            crate::model::Service::SearchRecolor,
        ] {
            events.push(Event::Spend {
                model: service.short_name(),
                micros: 400_000,
            });
        }
        events.extend(Stage::ALL.map(|stage| Event::Stage { stage, ms: 1234 }));
        events.extend(Failure::ALL.map(Event::Failure));
        events.extend(Limit::ALL.map(Event::QuotaRefusal));
        events.push(Event::Shed);
        events.push(Event::Backlog {
            depth: 120,
            oldest_age_secs: 45,
        });
        events
    }

    const NOW_MS: u64 = 1_764_662_400_000;

    #[test]
    fn every_document_meets_the_emf_specification() {
        for event in every_event() {
            let line = event.document("marquee-prod", NOW_MS).to_string();
            check_emf(&line).unwrap_or_else(|e| panic!("{event:?}: {e}\n{line}"));
        }
    }

    /// What the documents say is what `PUBLISHED` says, so the template's alarms, checked
    /// against `PUBLISHED`, are checked against the code's output.
    #[test]
    fn documents_publish_exactly_the_published_metrics() {
        let mut seen = std::collections::BTreeSet::new();
        for event in every_event() {
            let doc = event.document("marquee-prod", NOW_MS);
            let directive = &doc["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(directive["Namespace"], NAMESPACE);
            for definition in directive["Metrics"].as_array().unwrap() {
                let name = definition["Name"].as_str().unwrap();
                let published = PUBLISHED
                    .iter()
                    .find(|p| p.name == name)
                    .unwrap_or_else(|| panic!("{name} is emitted but not in PUBLISHED"));
                assert_eq!(definition["Unit"], published.unit, "{name}");
                let sets: Vec<Vec<&str>> = directive["Dimensions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| {
                        s.as_array()
                            .unwrap()
                            .iter()
                            .map(|k| k.as_str().unwrap())
                            .collect()
                    })
                    .collect();
                let expected: Vec<Vec<&str>> = published
                    .dimension_sets
                    .iter()
                    .map(|s| s.to_vec())
                    .collect();
                assert_eq!(sets, expected, "{name}");
                seen.insert(name.to_owned());
            }
        }
        let all: std::collections::BTreeSet<String> =
            PUBLISHED.iter().map(|p| p.name.to_owned()).collect();
        assert_eq!(seen, all, "a PUBLISHED metric no event emits");
    }

    /// The samples the deploy tests use are the code's own documents, of every metric.
    #[test]
    fn the_samples_are_real_documents_of_every_metric() {
        let samples = sample_documents("marquee-prod");
        let mut names = std::collections::BTreeSet::new();
        for doc in &samples {
            check_emf(&doc.to_string()).unwrap();
            for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
            {
                names.insert(m["Name"].as_str().unwrap().to_owned());
            }
        }
        let all: std::collections::BTreeSet<String> =
            PUBLISHED.iter().map(|p| p.name.to_owned()).collect();
        assert_eq!(names, all);
    }

    #[test]
    fn a_document_carries_the_values_as_numbers_and_its_dimensions() {
        let doc = Event::Ack {
            door: Door::Command,
            latency: Duration::from_micros(41_250),
        }
        .document("marquee-prod", NOW_MS);
        assert_eq!(doc["_aws"]["Timestamp"], NOW_MS);
        assert_eq!(doc["Function"], "marquee-prod");
        assert_eq!(doc["Door"], "command");
        assert_eq!(doc["Ack"], 1);
        assert_eq!(doc["AckLatency"].as_f64(), Some(41.25));

        let doc = Event::Spend {
            model: "sd3.5",
            micros: 80_000,
        }
        .document("f", NOW_MS);
        assert_eq!(doc["EstimatedSpend"], 80_000);
        assert_eq!(doc["Model"], "sd3.5");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
            "Count"
        );
    }

    /// The checker is only worth something if it refuses what the specification refuses.
    #[test]
    fn the_checker_refuses_documents_that_break_the_specification() {
        let good = Event::Failure(Failure::Timeout).document("f", NOW_MS);
        assert_eq!(check_emf(&good.to_string()), Ok(()));
        let broken = |edit: &dyn Fn(&mut Value)| {
            let mut doc = good.clone();
            edit(&mut doc);
            check_emf(&doc.to_string())
        };
        type Edit<'a> = (&'a str, &'a dyn Fn(&mut Value));
        let refused: [Edit; 12] = [
            ("no _aws", &|d| {
                d.as_object_mut().unwrap().remove("_aws");
            }),
            ("seconds, not ms", &|d| {
                d["_aws"]["Timestamp"] = json!(1_764_662_400)
            }),
            ("no namespace", &|d| {
                d["_aws"]["CloudWatchMetrics"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("Namespace");
            }),
            ("dimensions not nested", &|d| {
                d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!(["Function"])
            }),
            ("dimension missing", &|d| {
                d.as_object_mut().unwrap().remove("Kind");
            }),
            ("dimension not a string", &|d| d["Kind"] = json!(3)),
            ("dimension not ASCII", &|d| d["Kind"] = json!("délai")),
            ("metric missing", &|d| {
                d.as_object_mut().unwrap().remove("Failure");
            }),
            ("metric nested", &|d| {
                d.as_object_mut().unwrap().remove("Failure");
                d["nested"] = json!({"Failure": 1});
            }),
            ("metric a string", &|d| d["Failure"] = json!("1")),
            ("unknown unit", &|d| {
                d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Dollars")
            }),
            ("too many dimensions", &|d| {
                let keys: Vec<String> = (0..31).map(|i| format!("D{i}")).collect();
                for k in &keys {
                    d[k.as_str()] = json!("x");
                }
                d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([keys]);
            }),
        ];
        for (what, edit) in refused {
            assert!(broken(edit).is_err(), "{what} was accepted");
        }
        let too_many_metrics = broken(&|d| {
            let defs: Vec<Value> = (0..101)
                .map(|i| {
                    d[format!("M{i}").as_str()] = json!(1);
                    json!({"Name": format!("M{i}"), "Unit": "Count"})
                })
                .collect();
            d["_aws"]["CloudWatchMetrics"][0]["Metrics"] = json!(defs);
        });
        assert!(too_many_metrics.is_err(), "101 metrics were accepted");
        let long_name = broken(&|d| {
            let name = "M".repeat(256);
            d[name.as_str()] = json!(1);
            d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] = json!(name);
        });
        assert!(long_name.is_err(), "a 256-character name was accepted");
        assert!(check_emf("{\"_aws\":{}}\n").is_err());
    }

    #[test]
    fn the_vocabulary_is_small_and_consistent() {
        for (metric, published) in Metric::ALL.iter().zip(PUBLISHED.iter()) {
            assert_eq!(metric.name(), published.name);
            for set in published.dimension_sets {
                assert_eq!(set.first(), Some(&FUNCTION), "{}", published.name);
                assert!(set.len() <= 3, "{}", published.name);
            }
        }
        let names: std::collections::BTreeSet<_> = PUBLISHED.iter().map(|p| p.name).collect();
        assert_eq!(names.len(), PUBLISHED.len(), "a metric name repeats");
    }

    #[test]
    fn off_writes_nothing_and_on_writes_one_line_per_event() {
        assert!(Metrics::off().target.is_none());
        Metrics::off().record(Event::Failure(Failure::Other));
        let (metrics, recorded) = Metrics::recorded();
        metrics.record(Event::Failure(Failure::Other));
        metrics.stages(&[(Stage::Compose, 12), (Stage::Store, 30)]);
        let docs = recorded.documents();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0]["Kind"], "other");
        assert_eq!(recorded.of(Metric::StageTime)[1]["Stage"], "store");
    }
}
