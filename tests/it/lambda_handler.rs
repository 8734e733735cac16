//! The Lambda handler driven in process with raw events, the way the runtime hands them over:
//! API Gateway v2 events (fixtures under `tests/fixtures/apigw/`, in the shape of
//! aws-lambda-rust-runtime's own test events), Marquee jobs as the dispatcher writes them, and
//! SQS events carrying Lambda's records of failed jobs (`tests/fixtures/lambda/`).
//! Nothing here starts an emulator: the handler gets a `serde_json::Value` and a default
//! `Context`, the pipeline draws with the offline model into a temporary directory, and Slack's
//! `response_url` is a tiny local server that records what it is sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::Json;
use axum::extract::State;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use marquee_core::genre::Style;
use marquee_core::job::{Job, PosterSpec, ReplyTo, Requester, Task};
use marquee_core::model::offline::OfflineModel;
use marquee_core::model::{Aspect, ModelId, Models};
use marquee_core::poster::PosterText;
use marquee_core::quota::Limits;
use marquee_core::request::ModelPolicy;
use marquee_core::secret::Secret;
use marquee_core::slack::SlackClient;
use marquee_core::slack::verify;
use marquee_core::store::LinkSigner;
use marquee_core::store::local::LocalStore;
use marquee_service::dispatch::{DispatchError, Dispatcher};
use marquee_service::http::{AppState, PublicUrl, router};
use marquee_service::lambda::{Handler, LambdaError};
use marquee_service::pipeline::Pipeline;
use serde_json::{Value, json};

const SECRET: &str = "test-signing-secret-0123456789abcdef";
const PUBLIC_URL: &str = "http://127.0.0.1:3000";

const HEALTHZ: &str = include_str!("../fixtures/apigw/healthz.json");
const SLACK_COMMAND: &str = include_str!("../fixtures/apigw/slack_command.json");
const SLACK_COMMAND_NAMED_STAGE: &str =
    include_str!("../fixtures/apigw/slack_command_named_stage.json");
const JOB_SHAPED_BODY: &str = include_str!("../fixtures/apigw/posters_job_shaped_body.json");
const SLASH_COMMAND_FORM: &str = include_str!("../fixtures/slack/slash_command.form");
const CHANGE_DETAIL_SUBMISSION: &str =
    include_str!("../fixtures/slack/view_submission_change_detail_org_install.json");
const SQS_EVENT: &str = include_str!("../fixtures/lambda/sqs_event.json");
const DESTINATION_RECORD: &str =
    include_str!("../fixtures/lambda/destination_record_retries_exhausted.json");

/// Records the jobs the front door queues instead of running them.
#[derive(Default)]
struct Queued(Mutex<Vec<Job>>);

#[async_trait]
impl Dispatcher for Queued {
    async fn dispatch(&self, job: Job) -> Result<(), DispatchError> {
        self.0.lock().unwrap().push(job);
        Ok(())
    }
}

/// Slack's side of `response_url`s: a local server that records every message posted to it.
struct ResponseUrls {
    origin: String,
    posts: Arc<Mutex<Vec<Value>>>,
    /// How long the next post is held before it is answered (it is recorded on arrival, as
    /// Slack shows a message it has taken even when its answer is slow).
    stall_next: Arc<Mutex<Option<Duration>>>,
}

#[derive(Clone)]
struct Recorder {
    posts: Arc<Mutex<Vec<Value>>>,
    stall_next: Arc<Mutex<Option<Duration>>>,
}

impl ResponseUrls {
    async fn start() -> ResponseUrls {
        let posts = Arc::new(Mutex::new(Vec::new()));
        let stall_next = Arc::new(Mutex::new(None));
        let app = axum::Router::new()
            .route("/commands/{*rest}", post(record))
            .with_state(Recorder {
                posts: posts.clone(),
                stall_next: stall_next.clone(),
            });
        let origin = format!("http://{}", crate::support::serve("response-url", |_| app));
        ResponseUrls {
            origin,
            posts,
            stall_next,
        }
    }

    fn url(&self) -> String {
        format!(
            "{}/commands/T07MARQEE/8123456789001/vB3nQ8rTs2WpKd6c",
            self.origin
        )
    }

    fn posts(&self) -> Vec<Value> {
        self.posts.lock().unwrap().clone()
    }
}

/// Records a post (then holds the answer if a stall is set); a `response_url` with a `/BUSY/`
/// segment answers 503, as Slack does when it is down, and records nothing.
async fn record(
    State(recorder): State<Recorder>,
    uri: axum::http::Uri,
    Json(message): Json<Value>,
) -> axum::http::StatusCode {
    // A response_url with a `/BUSY/` segment answers 503, as Slack does when it is down, and
    // records nothing.
    if uri.path().contains("/BUSY/") {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
    }
    recorder.posts.lock().unwrap().push(message);
    let stall = recorder.stall_next.lock().unwrap().take();
    if let Some(stall) = stall {
        tokio::time::sleep(stall).await;
    }
    axum::http::StatusCode::OK
}

struct Harness {
    handler: Handler,
    queued: Arc<Queued>,
    slack: ResponseUrls,
    _store_dir: tempfile::TempDir,
}

/// The host of the `response_url` in Slack's slash-command fixture: the front door accepts a
/// command only if its `response_url` is one the Slack client may post to.
fn fixture_response_host() -> String {
    let form: Vec<(String, String)> = serde_urlencoded::from_str(SLASH_COMMAND_FORM).unwrap();
    let (_, response_url) = form.iter().find(|(k, _)| k == "response_url").unwrap();
    let url = url::Url::parse(response_url).unwrap();
    url.host_str().unwrap().to_owned()
}

/// The function as `marquee-lambda` builds it, with local parts: the same router and pipeline
/// types, an offline model and a store on disk. Jobs reply to the local server; the fixture's
/// Slack host is allowed too so its command passes the front door, but nothing here posts there.
async fn harness() -> Harness {
    harness_with(Limits::default()).await
}

/// The harness with the admin's `limits`. The offline model is free and uncounted unless an
/// admin prices it, as these tests do to meter posters without Bedrock.
async fn harness_with(limits: Limits) -> Harness {
    harness_at(limits, PublicUrl::Fixed(PUBLIC_URL.into())).await
}

/// The harness serving links under `public_url` (`FromRequest`: as in Lambda, from the address
/// the request reached).
async fn harness_at(limits: Limits, public_url: PublicUrl) -> Harness {
    let slack = ResponseUrls::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::open(dir.path()).unwrap());
    let links = LinkSigner::from_dir(dir.path()).unwrap();
    let client = SlackClient::new(
        marquee_core::net::client(),
        &[slack.origin.clone(), fixture_response_host()],
    );
    let pipeline = Arc::new(
        Pipeline::new(
            Models::new().with(ModelId::Offline, Arc::new(OfflineModel)),
            store.clone(),
            Arc::new(
                marquee_core::state::local::LocalState::open(dir.path().join("state.sqlite3"))
                    .unwrap(),
            ),
            client,
            links.clone(),
            Duration::from_secs(3600),
        )
        .with_public_url(Some(PUBLIC_URL.into()))
        .with_limits(limits),
    );
    let queued = Arc::new(Queued::default());
    let state = AppState {
        signing_secret: Some(Secret::new(SECRET).into()),
        policy: ModelPolicy {
            default: ModelId::Offline,
            allowed: vec![ModelId::Offline],
        },
        records: pipeline.records().clone(),
        delivery: pipeline.delivery().clone(),
        pipeline: pipeline.clone(),
        dispatcher: queued.clone(),
        store,
        links,
        public_url,
        clock: marquee_service::http::system_clock,
        rest_auth: marquee_service::http::RestAuth::Iam,
    };
    Harness {
        handler: Handler::new(router(state), pipeline),
        queued,
        slack,
        _store_dir: dir,
    }
}

impl Harness {
    /// One invocation, with the context a runtime that reports no deadline would give.
    async fn invoke(&self, event: Value) -> Result<Value, LambdaError> {
        self.handler
            .handle(LambdaEvent::new(event, Context::default()))
            .await
    }

    fn queued(&self) -> usize {
        self.queued.0.lock().unwrap().len()
    }
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The status and body of an API Gateway v2 response, decoding the body as lambda_http
/// encodes it (base64 when it is not text).
fn http_response(response: &Value) -> (u64, Vec<u8>) {
    let status = response["statusCode"]
        .as_u64()
        .expect("an HTTP response has a status code");
    let body = response["body"].as_str().unwrap_or_default();
    let body = if response["isBase64Encoded"] == json!(true) {
        STANDARD.decode(body).unwrap()
    } else {
        body.as_bytes().to_vec()
    };
    (status, body)
}

fn poster_job(response_url: String) -> Job {
    Job::new(
        Task::Poster {
            spec: PosterSpec {
                picture: None,
                description: "a lighthouse keeper fights a kraken".into(),
                text: PosterText::default(),
                style: Style::Horror,
                aspect: Aspect::Portrait2x3,
                seed: Some(7),
                avoid: None,
                model: ModelId::Offline,
                typography: None,
            },
        },
        Requester {
            user_id: "U07ADAPARK".into(),
            user_name: Some("ada.park".into()),
            team_id: Some("T07MARQEE".into()),
            channel_id: Some("C07POSTERS".into()),
            ..marquee_core::job::Requester::default()
        },
        ReplyTo::response_url(response_url),
        marquee_service::http::system_clock(),
    )
    .with_public_url(Some(PUBLIC_URL.into()))
}

#[tokio::test]
async fn a_healthz_event_is_routed_and_answered() {
    let h = harness().await;
    let response = h.invoke(fixture(HEALTHZ)).await.unwrap();
    let (status, body) = http_response(&response);
    assert_eq!(status, 200);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn a_job_in_an_http_body_is_answered_by_the_router_never_run() {
    let h = harness().await;
    let mut event = fixture(JOB_SHAPED_BODY);
    // Make the smuggled job a real one that would post to the recorder if it ever ran.
    let mut job: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    job["reply_to"]["response_url"] = json!(h.slack.url());
    Job::from_event(job.clone()).expect("the body is a well-formed job");
    let body = job.to_string();
    event["headers"]["content-length"] = json!(body.len().to_string());
    event["body"] = json!(body);

    let response = h.invoke(event).await.unwrap();
    assert!(
        response.get("outcome").is_none(),
        "read as a job: {response}"
    );
    let (status, _) = http_response(&response);
    assert!((400..500).contains(&status), "status {status}");
    assert!(h.slack.posts().is_empty(), "the worker ran");
    assert_eq!(h.queued(), 0, "the front door queued it");
}

#[tokio::test]
async fn a_job_event_runs_the_worker_and_replies_to_slack() {
    let h = harness().await;
    let job = poster_job(h.slack.url());
    let id = job.id;

    let result = h.invoke(serde_json::to_value(&job).unwrap()).await.unwrap();
    assert_eq!(
        result,
        json!({"job": id, "outcome": "delivered"}),
        "{result}"
    );
    let posts = h.slack.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(
        posts[0]
            .to_string()
            .contains(&format!("{PUBLIC_URL}/files/")),
        "the reply links the poster: {}",
        posts[0]
    );
}

#[tokio::test]
async fn malformed_and_future_jobs_are_reported_not_dropped() {
    let h = harness().await;
    for event in [
        json!({"marquee_job": 1, "id": "not-a-uuid"}),
        json!({"marquee_job": 99}),
        json!({"marquee_job": "one"}),
    ] {
        let error = h.invoke(event.clone()).await.unwrap_err();
        assert!(
            matches!(error, LambdaError::BadJob(_)),
            "{event}: {error:?}"
        );
        let diagnostic = Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "BadJob", "{event}");
        assert!(!diagnostic.error_message.is_empty(), "{event}");
    }
    assert!(h.slack.posts().is_empty());
}

#[tokio::test]
async fn a_signed_slack_command_with_a_base64_body_is_acked() {
    let h = harness().await;
    let mut event = fixture(SLACK_COMMAND);
    // API Gateway base64-encodes form bodies; lambda_http decodes them with the standard
    // alphabet before the router sees them, so the signature covers the decoded bytes.
    assert_eq!(event["isBase64Encoded"], json!(true));
    let body = STANDARD
        .decode(event["body"].as_str().unwrap())
        .expect("the fixture's body is standard base64");
    assert_eq!(body, SLASH_COMMAND_FORM.as_bytes());
    let ts = marquee_service::http::system_clock();
    let headers = &mut event["headers"];
    headers[verify::TIMESTAMP_HEADER] = json!(ts.to_string());
    headers[verify::SIGNATURE_HEADER] = json!(verify::sign(&Secret::new(SECRET), ts, &body));

    let response = h.invoke(event).await.unwrap();
    let (status, reply) = http_response(&response);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
    assert_eq!(h.queued(), 1, "the command queued one job");
    let job = &h.queued.0.lock().unwrap()[0];
    assert_eq!(job.requester.user_id, "U07ADAPARK");
}

/// `event` with its base64 body signed as Slack signs it, `ago` seconds ago (inside the
/// five-minute window; a different moment is a different request, not a replay).
fn signed(mut event: Value, ago: i64) -> Value {
    let body = STANDARD.decode(event["body"].as_str().unwrap()).unwrap();
    let ts = marquee_service::http::system_clock() - ago;
    let headers = &mut event["headers"];
    headers[verify::TIMESTAMP_HEADER] = json!(ts.to_string());
    headers[verify::SIGNATURE_HEADER] = json!(verify::sign(&Secret::new(SECRET), ts, &body));
    event
}

/// Links keep the path the front door was reached under (#22, item 13): a named stage
/// (`/prod`, the runtime's stage-in-path event) or a custom domain's base path (`/marquee`) is
/// routed past and carried into the job's links, and a link made there is served there. The
/// `$default` stage adds nothing.
#[tokio::test]
async fn links_keep_the_stage_or_base_path_the_door_was_reached_under() {
    let h = harness_at(Limits::default(), PublicUrl::FromRequest).await;
    let public_url_of_last_job = |h: &Harness| {
        let job = h.queued.0.lock().unwrap().last().cloned().unwrap();
        serde_json::to_value(job).unwrap()["public_url"].clone()
    };

    let response = h
        .invoke(signed(fixture(SLACK_COMMAND_NAMED_STAGE), 0))
        .await
        .unwrap();
    let (status, reply) = http_response(&response);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
    assert_eq!(
        public_url_of_last_job(&h),
        "https://q7m2x9k4pd.execute-api.marquee.test/prod"
    );

    let mut custom = fixture(SLACK_COMMAND_NAMED_STAGE);
    custom["rawPath"] = json!("/marquee/slack/commands");
    custom["requestContext"]["http"]["path"] = json!("/marquee/slack/commands");
    custom["requestContext"]["stage"] = json!("$default");
    custom["requestContext"]["domainName"] = json!("api.marquee.test");
    custom["requestContext"]["domainPrefix"] = json!("api");
    custom["headers"]["host"] = json!("api.marquee.test");
    let (status, _) = http_response(&h.invoke(signed(custom, 1)).await.unwrap());
    assert_eq!(status, 200);
    assert_eq!(
        public_url_of_last_job(&h),
        "https://api.marquee.test/marquee"
    );

    let (status, _) = http_response(&h.invoke(signed(fixture(SLACK_COMMAND), 2)).await.unwrap());
    assert_eq!(status, 200);
    assert_eq!(
        public_url_of_last_job(&h),
        "https://q7m2x9k4pd.execute-api.marquee.test"
    );

    // The poster made for the command under the stage links under the stage, and the link
    // is served there.
    let mut job = h.queued.0.lock().unwrap()[0].clone();
    job.reply_to = ReplyTo::response_url(h.slack.url());
    assert_eq!(outcome(&h, &job).await["outcome"], "delivered");
    let posts = h.slack.posts();
    let link = posts
        .iter()
        .find_map(crate::support::client::image_url)
        .unwrap_or_else(|| panic!("no poster in {posts:#?}"));
    let base = "https://q7m2x9k4pd.execute-api.marquee.test/prod/files/";
    let (key, query) = link
        .strip_prefix(base)
        .and_then(|rest| rest.split_once('?'))
        .unwrap_or_else(|| panic!("not under the stage: {link}"));
    let mut get = fixture(HEALTHZ);
    get["routeKey"] = json!("GET /files/{key+}");
    get["requestContext"]["routeKey"] = json!("GET /files/{key+}");
    get["requestContext"]["stage"] = json!("prod");
    get["rawPath"] = json!(format!("/prod/files/{key}"));
    get["requestContext"]["http"]["path"] = json!(format!("/prod/files/{key}"));
    get["rawQueryString"] = json!(query);
    get["pathParameters"] = json!({"key": key});
    let (status, body) = http_response(&h.invoke(get).await.unwrap());
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(body.starts_with(b"\x89PNG"), "a poster is served");
}

#[tokio::test]
async fn an_unsigned_slack_command_event_is_refused() {
    let h = harness().await;
    let response = h.invoke(fixture(SLACK_COMMAND)).await.unwrap();
    let (status, _) = http_response(&response);
    assert_eq!(status, 401);
    assert_eq!(h.queued(), 0);
}

#[tokio::test]
async fn an_event_that_is_none_of_them_is_reported() {
    let h = harness().await;
    let error = h
        .invoke(json!({"Records": [{"EventSource": "aws:sns"}]}))
        .await
        .unwrap_err();
    assert!(matches!(error, LambdaError::UnknownEvent(_)), "{error:?}");
    assert_eq!(Diagnostic::from(error).error_type, "UnknownEvent");
}

/// Lambda delivers async events at least once, and the SDK retries an `Invoke` whose answer
/// was lost: the same job can arrive twice, even at once. It runs once, posts once, and the
/// copy succeeds so nothing retries it.
#[tokio::test]
async fn the_same_job_delivered_twice_runs_once() {
    let h = harness().await;
    let job = serde_json::to_value(poster_job(h.slack.url())).unwrap();
    let (a, b) = tokio::join!(h.invoke(job.clone()), h.invoke(job.clone()));
    let mut outcomes = vec![
        a.unwrap()["outcome"].as_str().unwrap().to_owned(),
        b.unwrap()["outcome"].as_str().unwrap().to_owned(),
    ];
    outcomes.sort();
    assert_eq!(outcomes, ["delivered", "duplicate"]);
    let third = h.invoke(job).await.unwrap();
    assert_eq!(third["outcome"], "duplicate", "{third}");
    assert_eq!(h.slack.posts().len(), 1, "{:?}", h.slack.posts());
}

/// A signed request replayed inside Slack's five-minute window verifies like the original;
/// it is acknowledged and starts nothing.
#[tokio::test]
async fn a_replayed_slash_command_starts_nothing() {
    let h = harness().await;
    let mut event = fixture(SLACK_COMMAND);
    let body = STANDARD.decode(event["body"].as_str().unwrap()).unwrap();
    let ts = marquee_service::http::system_clock();
    let headers = &mut event["headers"];
    headers[verify::TIMESTAMP_HEADER] = json!(ts.to_string());
    headers[verify::SIGNATURE_HEADER] = json!(verify::sign(&Secret::new(SECRET), ts, &body));

    for _ in 0..3 {
        let (status, _) = http_response(&h.invoke(event.clone()).await.unwrap());
        assert_eq!(status, 200);
    }
    assert_eq!(h.queued(), 1, "a replay queued another job");
}

fn approve_job(h: &Harness, source: uuid::Uuid, user: &str, team: &str) -> Value {
    let mut job = poster_job(h.slack.url());
    job.task = Task::Approve { source };
    job.requester.user_id = user.into();
    job.requester.team_id = Some(team.into());
    serde_json::to_value(job).unwrap()
}

/// The first approval is the one that counts; a later (or simultaneous) click is told who
/// approved and when. The requester cannot approve their own poster by default, and nobody
/// from another workspace can.
#[tokio::test]
async fn the_first_approval_wins_and_everyone_is_told_the_truth() {
    let h = harness().await;
    let poster = poster_job(h.slack.url());
    let id = poster.id;
    h.invoke(serde_json::to_value(&poster).unwrap())
        .await
        .unwrap();
    assert_eq!(h.slack.posts().len(), 1);

    let own = h
        .invoke(approve_job(&h, id, "U07ADAPARK", "T07MARQEE"))
        .await
        .unwrap();
    assert_eq!(own["kind"], "NotAnApprover", "{own}");
    let foreign = h
        .invoke(approve_job(&h, id, "U09OUTSIDE", "T09OTHER"))
        .await
        .unwrap();
    assert_eq!(foreign["kind"], "NotAnApprover", "{foreign}");

    let (a, b) = tokio::join!(
        h.invoke(approve_job(&h, id, "U07REVIEWA", "T07MARQEE")),
        h.invoke(approve_job(&h, id, "U07REVIEWB", "T07MARQEE")),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let won: Vec<&Value> = [&a, &b]
        .into_iter()
        .filter(|r| r["outcome"] == "delivered")
        .collect();
    assert_eq!(won.len(), 1, "{a} {b}");

    let posts = h.slack.posts();
    let approved: Vec<&Value> = posts
        .iter()
        .filter(|p| p["replace_original"] == true)
        .collect();
    assert_eq!(approved.len(), 1, "{posts:#?}");
    let winner = if approved[0].to_string().contains("<@U07REVIEWA>") {
        "U07REVIEWA"
    } else {
        "U07REVIEWB"
    };
    let told: Vec<&Value> = posts
        .iter()
        .filter(|p| p.to_string().contains("already approved"))
        .collect();
    assert_eq!(told.len(), 1, "{posts:#?}");
    assert!(
        told[0].to_string().contains(&format!("<@{winner}>")),
        "the loser is told who won: {}",
        told[0]
    );
    assert_eq!(told[0]["response_type"], "ephemeral");
}

/// Whatever the job is doing when its time runs out — here, waiting on a Slack that took the
/// poster but will not answer — it is cut off with enough of the invocation left to tell the
/// requester, rather than killed by Lambda in silence.
#[tokio::test]
async fn a_job_out_of_time_tells_the_requester_before_the_deadline() {
    let h = harness().await;
    *h.slack.stall_next.lock().unwrap() = Some(Duration::from_secs(30));
    let job = poster_job(h.slack.url());
    let mut context = Context::default();
    // Enough for the offline model (the model is given what is left after the delivery
    // reserve), not for a Slack that never answers.
    let budget = Duration::from_secs(14);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    context.deadline = u64::try_from((now + budget).as_millis()).unwrap();

    let started = std::time::Instant::now();
    let result = h
        .handler
        .handle(LambdaEvent::new(
            serde_json::to_value(&job).unwrap(),
            context,
        ))
        .await
        .unwrap();
    assert!(started.elapsed() < budget, "took {:?}", started.elapsed());
    assert_eq!(result["kind"], "Overran", "{result}");
    let posts = h.slack.posts();
    assert_eq!(posts.len(), 2, "{posts:#?}");
    assert!(
        posts[1].to_string().contains("ran out of time"),
        "{}",
        posts[1]
    );
}

/// An offline poster priced at one cent, as an admin would with `MARQUEE_MODEL_PRICES`.
fn priced_offline(limits: Limits) -> Limits {
    Limits {
        prices: [(ModelId::Offline, 10_000)].into(),
        ..limits
    }
}

fn task_job(h: &Harness, task: Task) -> Job {
    let mut job = poster_job(h.slack.url());
    job.task = task;
    job
}

async fn outcome(h: &Harness, job: &Job) -> Value {
    h.invoke(serde_json::to_value(job).unwrap()).await.unwrap()
}

/// Past the requester's daily limit a poster is refused at once, privately, with what is left
/// and when it resets; `/poster usage` then reports the count, the limit and the spend.
#[tokio::test]
async fn a_poster_over_the_daily_limit_is_refused_and_usage_reports_it() {
    let h = harness_with(priced_offline(Limits {
        user_daily: Some(2),
        ..Limits::default()
    }))
    .await;
    for _ in 0..2 {
        let done = outcome(&h, &poster_job(h.slack.url())).await;
        assert_eq!(done["outcome"], "delivered", "{done}");
    }
    let refused = outcome(&h, &poster_job(h.slack.url())).await;
    assert_eq!(refused["kind"], "OverLimit", "{refused}");
    let posts = h.slack.posts();
    assert_eq!(posts.len(), 3, "{posts:#?}");
    let told = posts[2].to_string();
    assert_eq!(posts[2]["response_type"], "ephemeral");
    assert!(told.contains("your limit of 2 posters a day"), "{told}");
    assert!(told.contains("You have 0 posters left today"), "{told}");
    assert!(told.contains("<!date^"), "when it resets: {told}");

    let usage = outcome(&h, &task_job(&h, Task::Usage)).await;
    assert_eq!(usage["outcome"], "delivered", "{usage}");
    let posts = h.slack.posts();
    let report = posts.last().unwrap();
    assert_eq!(report["response_type"], "ephemeral");
    let report = report.to_string();
    assert!(
        report.contains("*2* of 2 posters today (0 left)"),
        "{report}"
    );
    assert!(
        report.contains("*This channel*: *2 posters* today (no limit)"),
        "{report}"
    );
    assert!(
        report.contains("*$0.02* this month (no budget set)"),
        "{report}"
    );
}

/// Ten posters at once against a budget of three: exactly three are made and charged, the
/// other seven are told the budget is spent, and nothing is left reserved.
#[tokio::test]
async fn a_burst_never_spends_past_the_monthly_budget() {
    let h = harness_with(priced_offline(Limits {
        monthly_budget_micros: Some(30_000),
        ..Limits::default()
    }))
    .await;
    // The handler's futures are not Send, so the burst shares this test's thread: every job
    // interleaves with the others at each await, as concurrent invocations do.
    let local = tokio::task::LocalSet::new();
    let mut burst = Vec::new();
    for _ in 0..10 {
        let handler = h.handler.clone();
        let job = serde_json::to_value(poster_job(h.slack.url())).unwrap();
        burst.push(local.spawn_local(async move {
            handler
                .handle(LambdaEvent::new(job, Context::default()))
                .await
                .unwrap()
        }));
    }
    let results: Vec<Value> = local
        .run_until(async {
            let mut results = Vec::new();
            for task in burst {
                results.push(task.await.unwrap());
            }
            results
        })
        .await;
    let delivered = results
        .iter()
        .filter(|r| r["outcome"] == "delivered")
        .count();
    let refused = results.iter().filter(|r| r["kind"] == "OverLimit").count();
    assert_eq!((delivered, refused), (3, 7), "{results:#?}");
    let told = h
        .slack
        .posts()
        .iter()
        .filter(|p| p.to_string().contains("budget of $0.03 for the month"))
        .count();
    assert_eq!(told, 7);

    outcome(&h, &task_job(&h, Task::Usage)).await;
    let report = h.slack.posts().last().unwrap().to_string();
    assert!(
        report.contains("*$0.03* of $0.03 this month ($0.00 left)"),
        "{report}"
    );
}

/// The monthly budget is one ceiling for the deployment (#22, item 6): with $1 to spend and
/// $1 posters, a T1 poster is made, and then one for T2 (a Slack Connect guest's organisation
/// or another Enterprise Grid workspace) and one from the REST door are both refused.
#[tokio::test]
async fn one_monthly_ceiling_holds_across_teams_and_the_rest_door() {
    let h = harness_with(Limits {
        monthly_budget_micros: Some(1_000_000),
        prices: [(ModelId::Offline, 1_000_000)].into(),
        ..Limits::default()
    })
    .await;
    let t1 = poster_job(h.slack.url());
    let done = outcome(&h, &t1).await;
    assert_eq!(done["outcome"], "delivered", "{done}");

    let mut t2 = poster_job(h.slack.url());
    t2.requester.team_id = Some("T2GUESTORG".into());
    t2.requester.user_id = "U2GUEST".into();
    let refused = outcome(&h, &t2).await;
    assert_eq!(refused["kind"], "OverLimit", "T2: {refused}");
    let told = h.slack.posts().last().unwrap().to_string();
    assert!(told.contains("budget of $1.00 for the month"), "{told}");

    let mut rest = poster_job(String::new());
    rest.reply_to = ReplyTo::Status;
    rest.requester = Requester {
        user_id: "arn:aws:sts::210987654321:assumed-role/poster-bot/nightly".into(),
        user_name: None,
        team_id: None,
        channel_id: None,
        ..Requester::default()
    };
    let refused = outcome(&h, &rest).await;
    assert_eq!(refused["kind"], "OverLimit", "REST: {refused}");
    assert_eq!(
        h.slack.posts().len(),
        2,
        "the REST door posts nothing to Slack"
    );
}

/// A signed `POST /slack/interactions` event carrying `payload`, as API Gateway delivers
/// Slack's form (the slash-command fixture's event, pointed at the interactions route).
fn interaction_event(payload: &Value) -> Value {
    let mut event = fixture(SLACK_COMMAND);
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
    event["rawPath"] = json!("/slack/interactions");
    event["requestContext"]["http"]["path"] = json!("/slack/interactions");
    event["body"] = json!(STANDARD.encode(&body));
    let ts = marquee_service::http::system_clock();
    let headers = &mut event["headers"];
    headers["content-length"] = json!(body.len().to_string());
    headers[verify::TIMESTAMP_HEADER] = json!(ts.to_string());
    headers[verify::SIGNATURE_HEADER] =
        json!(verify::sign(&Secret::new(SECRET), ts, body.as_bytes()));
    event
}

/// The take a poster message shows: the id its controls carry (`marquee.actions.<id>`).
fn take_of(message: &Value) -> uuid::Uuid {
    let text = message.to_string();
    let at = text
        .find("marquee.actions.")
        .unwrap_or_else(|| panic!("no controls in {message}"))
        + "marquee.actions.".len();
    uuid::Uuid::parse_str(&text[at..at + 36]).unwrap()
}

/// Slack's Change a detail `view_submission` (the fixture) for take `poster`, asking to turn
/// `search` into `replace`, answered at `response_url`.
fn change_detail(poster: uuid::Uuid, response_url: &str, search: &str, replace: &str) -> Value {
    let mut payload = fixture(CHANGE_DETAIL_SUBMISSION);
    payload["user"]["team_id"] = json!("T07MARQEE");
    payload["view"]["private_metadata"] =
        json!(json!({"p": poster, "u": response_url, "c": "C07POSTERS"}).to_string());
    let values = &mut payload["view"]["state"]["values"];
    values["marquee.search"]["search"]["value"] = json!(search);
    values["marquee.replace"]["replace"]["value"] = json!(replace);
    payload
}

/// Change a detail cannot grow a poster's description past its limit (#22, item 7: repeated
/// changes grew it 334 → 633 → 932 → 1,231 characters against 600). Each change is checked
/// inside the modal with the description it would produce: the first fits and is made, the
/// second would pass 600 and is answered with a field error under "Into what", queuing
/// nothing; a shorter change of the same take still goes through.
#[tokio::test]
async fn repeated_changes_never_grow_the_description_past_its_limit() {
    let h = harness().await;
    let mut first = poster_job(h.slack.url());
    let description = format!(
        "the kraken rises beside a lighthouse at dusk, {}",
        "spray and storm clouds over a tiny keeper with a lantern, ".repeat(3)
    );
    if let Task::Poster { spec } = &mut first.task {
        spec.description = description.trim().to_owned();
    }
    let start = description.trim().chars().count();
    assert_eq!(outcome(&h, &first).await["outcome"], "delivered");

    // Each change puts "the kraken" back, so it can be changed again.
    let grown = format!(
        "the kraken wrapped in {} a tail",
        "barnacled chains and torn sails and glowing green eyes, ".repeat(4)
    );
    let growth = grown.chars().count() - "the kraken".chars().count();
    assert!(start + growth <= 600 && start + 2 * growth > 600);

    let submit = |poster, replace: &str| {
        interaction_event(&change_detail(
            poster,
            &h.slack.url(),
            "the kraken",
            replace,
        ))
    };
    let (status, body) = http_response(&h.invoke(submit(first.id, &grown)).await.unwrap());
    assert_eq!(
        (status, body.as_slice()),
        (200, &b""[..]),
        "the first change fits"
    );
    let change = h
        .queued
        .0
        .lock()
        .unwrap()
        .pop()
        .expect("the change was queued");
    assert_eq!(outcome(&h, &change).await["outcome"], "delivered");
    let second = take_of(h.slack.posts().last().unwrap());

    let (status, body) = http_response(&h.invoke(submit(second, &grown)).await.unwrap());
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["response_action"], "errors", "{answer}");
    let error = answer["errors"]["marquee.replace"]
        .as_str()
        .unwrap_or_default();
    assert!(
        error.contains(&format!("{} characters", start + 2 * growth))
            && error.contains("at most 600"),
        "{answer}"
    );
    assert_eq!(h.queued(), 0, "nothing was queued or charged");

    let (status, body) = http_response(&h.invoke(submit(second, "a dragon")).await.unwrap());
    assert_eq!(
        (status, body.as_slice()),
        (200, &b""[..]),
        "a short change still fits"
    );
    assert_eq!(h.queued(), 1);
}

/// Free posters (the offline model, unpriced) are neither counted nor limited.
#[tokio::test]
async fn free_posters_are_not_limited() {
    let h = harness_with(Limits {
        user_daily: Some(0),
        ..Limits::default()
    })
    .await;
    let done = outcome(&h, &poster_job(h.slack.url())).await;
    assert_eq!(done["outcome"], "delivered", "{done}");
    outcome(&h, &task_job(&h, Task::Usage)).await;
    let report = h.slack.posts().last().unwrap().to_string();
    assert!(report.contains("*0* of 0 posters today"), "{report}");
    assert!(
        report.contains("`offline` are free and not counted"),
        "{report}"
    );
}

/// `/poster history` lists the caller's posters, newest first, each with a fresh link, and
/// says which were approved.
#[tokio::test]
async fn history_lists_the_callers_posters_with_fresh_links() {
    let h = harness().await;
    let first = poster_job(h.slack.url());
    let mut second = poster_job(h.slack.url());
    if let Task::Poster { spec } = &mut second.task {
        spec.text.title = Some("The Second Take".into());
    }
    outcome(&h, &first).await;
    outcome(&h, &second).await;
    let approved = outcome(&h, &{
        let mut j = task_job(&h, Task::Approve { source: first.id });
        j.requester.user_id = "U07REVIEWA".into();
        j
    })
    .await;
    assert_eq!(approved["outcome"], "delivered", "{approved}");
    // Someone else's posters are not listed.
    let mut theirs = poster_job(h.slack.url());
    theirs.requester.user_id = "U07OTHER".into();
    if let Task::Poster { spec } = &mut theirs.task {
        spec.text.title = Some("Not Yours".into());
    }
    outcome(&h, &theirs).await;

    let listed = outcome(&h, &task_job(&h, Task::History)).await;
    assert_eq!(listed["outcome"], "delivered", "{listed}");
    let posts = h.slack.posts();
    let message = posts.last().unwrap();
    assert_eq!(message["response_type"], "ephemeral");
    let text = message.to_string();
    assert!(!text.contains("Not Yours"), "{text}");
    let newest = text
        .find("The Second Take")
        .expect("the second poster is listed");
    let oldest = text
        .find("✅ approved by <@U07REVIEWA>")
        .expect("the first, approved");
    assert!(newest < oldest, "newest first: {text}");
    assert!(text.contains("not approved"), "{text}");
    assert_eq!(
        text.matches(&format!("{PUBLIC_URL}/files/posters/"))
            .count(),
        2,
        "{text}"
    );
}

/// `/poster usage` and `/poster history` are queued for the worker like posters; the ack is
/// an empty 200 (it reads no state) and the answer follows through the `response_url`.
#[tokio::test]
async fn usage_and_history_commands_are_queued_and_acked_empty() {
    let h = harness().await;
    for (word, task) in [("usage", Task::Usage), ("history", Task::History)] {
        let mut event = fixture(SLACK_COMMAND);
        let form: Vec<(String, String)> = serde_urlencoded::from_str(SLASH_COMMAND_FORM).unwrap();
        let form: Vec<(String, String)> = form
            .into_iter()
            .map(|(k, v)| {
                if k == "text" {
                    (k, word.to_owned())
                } else {
                    (k, v)
                }
            })
            .collect();
        let body = serde_urlencoded::to_string(&form).unwrap();
        let ts = marquee_service::http::system_clock();
        event["body"] = json!(STANDARD.encode(&body));
        let headers = &mut event["headers"];
        headers["content-length"] = json!(body.len().to_string());
        headers[verify::TIMESTAMP_HEADER] = json!(ts.to_string());
        headers[verify::SIGNATURE_HEADER] =
            json!(verify::sign(&Secret::new(SECRET), ts, body.as_bytes()));
        let (status, reply) = http_response(&h.invoke(event).await.unwrap());
        assert_eq!(status, 200, "{word}");
        assert!(
            reply.is_empty(),
            "{word}: {}",
            String::from_utf8_lossy(&reply)
        );
        assert_eq!(h.queued.0.lock().unwrap().last().unwrap().task, task);
    }
    assert_eq!(h.queued(), 2);
}

/// Lambda's record of a failed invocation (the fixture), as the on-failure destination queue
/// delivers it, for the job `reply_to` accepted at `accepted_at`.
fn destination_record(response_url: &str, accepted_at: i64) -> Value {
    let mut record = fixture(DESTINATION_RECORD);
    record["requestPayload"]["reply_to"]["response_url"] = json!(response_url);
    record["requestPayload"]["accepted_at"] = json!(accepted_at);
    record
}

/// The SQS event of the fixture carrying `records` as message bodies, each with its own id.
fn sqs_event(records: &[(&str, String)]) -> Value {
    let mut event = fixture(SQS_EVENT);
    let template = event["Records"][0].clone();
    event["Records"] = records
        .iter()
        .map(|(id, body)| {
            let mut message = template.clone();
            message["messageId"] = json!(id);
            message["body"] = json!(body);
            message
        })
        .collect();
    event
}

#[tokio::test]
async fn a_failed_job_record_tells_the_requester_once_that_it_could_not_be_finished() {
    let h = harness().await;
    let record = destination_record(&h.slack.url(), marquee_service::http::system_clock());
    let event = sqs_event(&[("MessageID_1", record.to_string())]);

    let result = h.invoke(event).await.unwrap();
    assert_eq!(result, json!({"batchItemFailures": []}));
    let posts = h.slack.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    let text = posts[0].to_string();
    for expected in [
        "Your poster could not be finished.",
        // The record says the process exited: neither a timeout nor an expiry.
        "stopped unexpectedly",
        "Please try again",
        "a lighthouse keeper fights a kraken",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    assert_eq!(posts[0]["response_type"], "ephemeral");
}

#[tokio::test]
async fn each_condition_is_told_in_its_own_words() {
    let h = harness().await;
    let now = marquee_service::http::system_clock();
    let mut timed_out = destination_record(&h.slack.url(), now);
    timed_out["responsePayload"] = json!({
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: e4b46cbf-b738-xmpl-8880-a18cdf61200e Error: Task timed out after 180.00 seconds"
    });
    let mut expired = destination_record(&h.slack.url(), now);
    expired["requestContext"]["condition"] = json!("EventAgeExceeded");
    expired["requestContext"]["approximateInvokeCount"] = json!(0);
    for key in ["responseContext", "responsePayload"] {
        expired.as_object_mut().unwrap().remove(key);
    }
    for (record, words) in [
        (timed_out, "longer than Marquee's time limit"),
        (expired, "waited too long in the queue"),
    ] {
        let before = h.slack.posts().len();
        let result = h
            .invoke(sqs_event(&[("m", record.to_string())]))
            .await
            .unwrap();
        assert_eq!(result, json!({"batchItemFailures": []}));
        let posts = h.slack.posts();
        assert_eq!(posts.len(), before + 1);
        assert!(
            posts[before].to_string().contains(words),
            "{}",
            posts[before]
        );
    }
}

/// In one batch: a record that is told, one whose Slack is down (offered again, alone), and
/// three that can never be told — not a record, not a job, and a job older than its
/// response_url — which are logged and let go rather than offered again forever.
#[tokio::test]
async fn only_records_that_may_yet_get_through_are_offered_again() {
    let h = harness().await;
    let now = marquee_service::http::system_clock();
    let told = destination_record(&h.slack.url(), now);
    let busy_url = h.slack.url().replace("/commands/", "/commands/BUSY/");
    let busy = destination_record(&busy_url, now);
    let stale = destination_record(&h.slack.url(), now - 31 * 60);
    let mut not_a_job = destination_record(&h.slack.url(), now);
    not_a_job["requestPayload"] = json!({"ORDER_IDS": ["9e07af03-ce31-4ff3-xmpl-36dce652cb4f"]});
    let event = sqs_event(&[
        ("told", told.to_string()),
        ("busy", busy.to_string()),
        ("stale", stale.to_string()),
        ("not-a-job", not_a_job.to_string()),
        ("not-a-record", "Message Body".into()),
    ]);

    let result = h.invoke(event).await.unwrap();
    assert_eq!(
        result,
        json!({"batchItemFailures": [{"itemIdentifier": "busy"}]})
    );
    assert_eq!(h.slack.posts().len(), 1, "{:?}", h.slack.posts());
}

#[tokio::test]
async fn an_sqs_event_without_message_ids_fails_whole() {
    let h = harness().await;
    // SQS keeps every message of a batch the function fails, and moves them to the dead-letter
    // queue after maxReceiveCount; without ids the records cannot be answered one by one.
    let error = h
        .invoke(json!({"Records": [{"eventSource": "aws:sqs"}]}))
        .await
        .unwrap_err();
    assert!(matches!(error, LambdaError::BadSqsEvent(_)), "{error:?}");
    assert_eq!(Diagnostic::from(error).error_type, "BadSqsEvent");
}

const IAM_REQUEST: &str = include_str!("../fixtures/apigw/iam_request.json");

/// The REST door's request as API Gateway hands it over with IAM auth, from `caller`.
fn rest_event(method: &str, path: &str, body: Option<&str>, caller: &str) -> Value {
    let mut event = fixture(IAM_REQUEST);
    event["rawPath"] = json!(path);
    event["rawQueryString"] = json!("");
    event["queryStringParameters"] = json!({});
    event["pathParameters"] = json!({});
    event["cookies"] = json!([]);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    event["requestContext"]["authorizer"]["iam"]["userArn"] = json!(caller);
    let mut headers = json!({"host": "id.execute-api.us-east-1.amazonaws.com"});
    match body {
        Some(body) => {
            headers["content-type"] = json!("application/json");
            headers["content-length"] = json!(body.len().to_string());
            event["body"] = json!(body);
        }
        None => event["body"] = Value::Null,
    }
    event["headers"] = headers;
    event
}

/// A REST poster is the IAM caller's: it is recorded as theirs (and counts against their
/// limits), its status is theirs to read, and the worker's outcome reaches it through the
/// status record — a pending job becomes a done one with a working link.
#[tokio::test]
async fn a_rest_poster_belongs_to_its_iam_caller() {
    const ADMIN: &str = "arn:aws:iam::1234567890:user/Admin";
    const OTHER: &str = "arn:aws:iam::1234567890:user/Someone";
    let h = harness().await;
    let accepted = h
        .invoke(rest_event(
            "POST",
            "/v1/posters",
            Some(r#"{"prompt": "a derelict starship wakes up", "seed": 5}"#),
            ADMIN,
        ))
        .await
        .unwrap();
    let (status, body) = http_response(&accepted);
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
    let body: Value = serde_json::from_slice(&body).unwrap();
    let id = body["id"].as_str().unwrap().to_owned();
    let job = h.queued.0.lock().unwrap()[0].clone();
    assert_eq!(job.requester.user_id, ADMIN);
    assert_eq!(job.reply_to, ReplyTo::Status);

    let status_of = |caller| rest_event("GET", &format!("/v1/posters/{id}"), None, caller);
    let (status, pending) = http_response(&h.invoke(status_of(ADMIN)).await.unwrap());
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&pending).unwrap()["status"],
        "pending"
    );
    let (status, _) = http_response(&h.invoke(status_of(OTHER)).await.unwrap());
    assert_eq!(status, 404, "another caller must not see the job");

    let ran = h.invoke(serde_json::to_value(&job).unwrap()).await.unwrap();
    assert_eq!(ran["outcome"], "delivered", "{ran}");
    assert!(
        h.slack.posts().is_empty(),
        "a REST job posts nothing to Slack"
    );
    let (status, done) = http_response(&h.invoke(status_of(ADMIN)).await.unwrap());
    assert_eq!(status, 200);
    let done: Value = serde_json::from_slice(&done).unwrap();
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["seed"], 5);
    let url = url::Url::parse(done["url"].as_str().unwrap()).unwrap();
    let file = rest_event("GET", url.path(), None, ADMIN);
    let mut file = file;
    file["rawQueryString"] = json!(url.query().unwrap());
    let (status, png) = http_response(&h.invoke(file).await.unwrap());
    assert_eq!(status, 200);
    assert!(png.starts_with(b"\x89PNG"), "the link serves the poster");
}
