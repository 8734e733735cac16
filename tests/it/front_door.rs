//! The front door through the real router, in process: every request Slack or a REST client
//! can send — good, malformed or hostile — gets the right status and message, and only good
//! requests create a job. The dispatcher here records jobs instead of running them, so each
//! case can assert that nothing was queued.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use marquee_core::genre::Style;
use marquee_core::job::{Change, Job, ReplyTo, SlackMessageRef, Task};
use marquee_core::model::offline::OfflineModel;
use marquee_core::model::{Aspect, ModelId, Models};
use marquee_core::request::ModelPolicy;
use marquee_core::secret::Secret;
use marquee_core::slack::SlackClient;
use marquee_core::slack::verify;
use marquee_core::store::LinkSigner;
use marquee_core::store::local::LocalStore;
use marquee_service::dispatch::{DispatchError, Dispatcher};
use marquee_service::http::{AppState, MAX_BODY_BYTES, PublicUrl, RestAuth, router};
use marquee_service::pipeline::Pipeline;
use serde_json::Value;
use tower::ServiceExt;

const SECRET: &str = "test-signing-secret-0123456789abcdef";
const RESPONSE_URL: &str = "https://hooks.slack.com/commands/T1/123/abc";
const PUBLIC_URL: &str = "http://127.0.0.1:3000";
/// The REST door's bearer token in these tests (`MARQUEE_API_TOKEN` of a `marquee serve`).
const API_TOKEN: &str = "test-api-token-0123456789abcdef-0123";
const AUTHORIZATION: &str = "Bearer test-api-token-0123456789abcdef-0123";

#[derive(Default)]
struct Recorder {
    jobs: Mutex<Vec<Job>>,
    fail: bool,
}

#[async_trait]
impl Dispatcher for Recorder {
    async fn dispatch(&self, job: Job) -> Result<(), DispatchError> {
        if self.fail {
            return Err(DispatchError::Status { status: 500 });
        }
        self.jobs.lock().unwrap().push(job);
        Ok(())
    }
}

struct Harness {
    app: axum::Router,
    jobs: Arc<Recorder>,
    store_dir: tempfile::TempDir,
}

fn harness_with(recorder: Recorder) -> Harness {
    harness_dispatching(recorder, false)
}

/// A harness whose jobs run in this process (as `marquee serve` runs them) when `run` is
/// set, besides being recorded.
fn harness_dispatching(recorder: Recorder, run: bool) -> Harness {
    harness_guarded(recorder, run, RestAuth::Bearer(Secret::new(API_TOKEN)))
}

/// A harness whose REST door is guarded by `rest_auth`.
fn harness_guarded(recorder: Recorder, run: bool, rest_auth: RestAuth) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::open(dir.path()).unwrap());
    let links = LinkSigner::from_dir(dir.path()).unwrap();
    let slack = SlackClient::new(marquee_core::net::client(), &["hooks.slack.com".into()]);
    let pipeline = Arc::new(
        Pipeline::new(
            Models::new().with(ModelId::Offline, Arc::new(OfflineModel)),
            store.clone(),
            Arc::new(
                marquee_core::state::local::LocalState::open(dir.path().join("state.sqlite3"))
                    .unwrap(),
            ),
            slack,
            links.clone(),
            Duration::from_secs(3600),
        )
        .with_public_url(Some(PUBLIC_URL.into())),
    );
    let jobs = Arc::new(recorder);
    let dispatcher: Arc<dyn Dispatcher> = if run {
        Arc::new(
            marquee_service::dispatch::InProcessDispatcher::open(
                pipeline.clone(),
                &dir.path().join("jobs.sqlite3"),
                marquee_service::dispatch::QueueSettings {
                    limit: 100,
                    slots: 2,
                },
            )
            .unwrap(),
        )
    } else {
        jobs.clone()
    };
    let state = AppState {
        signing_secret: Some(Secret::new(SECRET).into()),
        policy: ModelPolicy {
            default: ModelId::Offline,
            allowed: vec![ModelId::Offline],
        },
        records: pipeline.records().clone(),
        delivery: pipeline.delivery().clone(),
        pipeline,
        dispatcher,
        store,
        links,
        public_url: PublicUrl::Fixed(PUBLIC_URL.into()),
        clock: marquee_service::http::system_clock,
        rest_auth,
    };
    Harness {
        app: router(state),
        jobs,
        store_dir: dir,
    }
}

fn harness() -> Harness {
    harness_with(Recorder::default())
}

fn form(text: &str) -> String {
    serde_urlencoded::to_string([
        ("token", "x"),
        ("team_id", "T1"),
        ("team_domain", "acme"),
        ("channel_id", "C1"),
        ("channel_name", "posters"),
        ("user_id", "U1"),
        ("user_name", "ada"),
        ("command", "/poster"),
        ("text", text),
        ("api_app_id", "A1"),
        ("response_url", RESPONSE_URL),
        ("trigger_id", "1.2.3"),
    ])
    .unwrap()
}

fn signed(path: &str, body: impl Into<Vec<u8>>, ts: i64) -> Request<Body> {
    let body = body.into();
    let sig = verify::sign(&Secret::new(SECRET), ts, &body);
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header(verify::TIMESTAMP_HEADER, ts.to_string())
        .header(verify::SIGNATURE_HEADER, sig)
        .body(Body::from(body))
        .unwrap()
}

async fn send(h: &Harness, req: Request<Body>) -> (StatusCode, Value) {
    let res = h.app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, json)
}

/// The router's clock is the system clock; signatures are made against it.
fn now() -> i64 {
    marquee_service::http::system_clock()
}

fn job_count(h: &Harness) -> usize {
    h.jobs.jobs.lock().unwrap().len()
}

#[tokio::test]
async fn a_signed_poster_command_is_acked_and_queued() {
    let h = harness();
    let (status, body) = send(
        &h,
        signed(
            "/slack/commands",
            form("a lighthouse keeper fights a kraken --title “The Keeper” --ar 4:5 --seed 7"),
            now(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response_type"], "ephemeral");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("Generating your poster"),
        "{body}"
    );
    let jobs = h.jobs.jobs.lock().unwrap();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    let Task::Poster { spec } = &job.task else {
        panic!("a poster task: {job:?}")
    };
    assert_eq!(spec.description, "a lighthouse keeper fights a kraken");
    assert_eq!(spec.text.title.as_deref(), Some("The Keeper"));
    assert_eq!(spec.aspect, Aspect::Portrait4x5);
    assert_eq!(spec.seed, Some(7));
    assert_eq!(spec.style, Style::Horror);
    assert_eq!(job.requester.user_id, "U1");
    assert_eq!(job.requester.channel_id.as_deref(), Some("C1"));
    assert_eq!(job.reply_to, ReplyTo::response_url(RESPONSE_URL));
    assert!((job.accepted_at - now()).abs() <= 5);
}

#[tokio::test]
async fn help_and_mistakes_answer_in_slack_without_a_job() {
    let h = harness();
    for (text, needle) in [
        ("", "Make a movie poster"),
        ("help", "Make a movie poster"),
        ("a cat --style musical", "no style called `musical`"),
        ("a cat --ar 7:3", "`7:3` is not a supported aspect ratio"),
        ("a cat --model ultra", "no model called `ultra`"),
        ("a cat --seed many", "is not a seed"),
        ("a cat --colour red", "`--colour` is not an option"),
    ] {
        let (status, body) = send(&h, signed("/slack/commands", form(text), now())).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert_eq!(body["response_type"], "ephemeral", "{text}");
        assert!(body.to_string().contains(needle), "{text}: {body}");
    }
    assert_eq!(job_count(&h), 0);
}

#[tokio::test]
async fn a_dispatch_failure_is_explained_and_nothing_is_lost_silently() {
    let h = harness_with(Recorder {
        fail: true,
        ..Default::default()
    });
    let (status, body) = send(&h, signed("/slack/commands", form("a cat"), now())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.to_string().contains("couldn't start your poster"),
        "{body}"
    );
}

/// One hostile or broken request: what is sent and what must come back.
struct Case {
    name: &'static str,
    request: Request<Body>,
    status: StatusCode,
}

fn raw(path: &str, body: impl Into<Vec<u8>>, headers: &[(&str, &str)]) -> Request<Body> {
    let mut b = Request::post(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::from(body.into())).unwrap()
}

fn hostile_cases() -> Vec<Case> {
    let good = form("a cat");
    let sig = verify::sign(&Secret::new(SECRET), now(), good.as_bytes());
    let ts = now().to_string();
    let with = |headers: &[(&str, &str)]| raw("/slack/commands", good.clone(), headers);
    let signed_body = |body: Vec<u8>| signed("/slack/commands", body, now());
    let mut cases = vec![
        Case {
            name: "no headers",
            request: with(&[]),
            status: StatusCode::UNAUTHORIZED,
        },
        Case {
            name: "no signature",
            request: with(&[("x-slack-request-timestamp", &ts)]),
            status: StatusCode::UNAUTHORIZED,
        },
        Case {
            name: "no timestamp",
            request: with(&[("x-slack-signature", &sig)]),
            status: StatusCode::UNAUTHORIZED,
        },
        Case {
            name: "signature upper-cased",
            request: with(&[
                ("x-slack-request-timestamp", &ts),
                ("x-slack-signature", &sig.to_uppercase()),
            ]),
            status: StatusCode::UNAUTHORIZED,
        },
        Case {
            name: "signature truncated",
            request: with(&[
                ("x-slack-request-timestamp", &ts),
                ("x-slack-signature", &sig[..40]),
            ]),
            status: StatusCode::UNAUTHORIZED,
        },
        Case {
            name: "signature for another body",
            request: raw(
                "/slack/commands",
                form("a dog"),
                &[
                    ("x-slack-request-timestamp", &ts),
                    ("x-slack-signature", &sig),
                ],
            ),
            status: StatusCode::UNAUTHORIZED,
        },
        Case {
            name: "duplicated signature header",
            request: with(&[
                ("x-slack-request-timestamp", &ts),
                ("x-slack-signature", &sig),
                ("x-slack-signature", &sig),
            ]),
            status: StatusCode::UNAUTHORIZED,
        },
        Case {
            name: "non-numeric timestamp",
            request: with(&[
                ("x-slack-request-timestamp", "yesterday"),
                ("x-slack-signature", &sig),
            ]),
            status: StatusCode::UNAUTHORIZED,
        },
        Case {
            name: "stale timestamp",
            request: signed("/slack/commands", good.clone(), now() - 301),
            status: StatusCode::UNAUTHORIZED,
        },
        Case {
            name: "future timestamp",
            request: signed("/slack/commands", good.clone(), now() + 3600),
            status: StatusCode::UNAUTHORIZED,
        },
        Case {
            name: "empty body",
            request: signed_body(vec![]),
            status: StatusCode::BAD_REQUEST,
        },
        Case {
            name: "JSON instead of a form",
            request: signed_body(br#"{"text":"a cat"}"#.to_vec()),
            status: StatusCode::BAD_REQUEST,
        },
        Case {
            name: "duplicate fields",
            request: signed_body(format!("{good}&user_id=U2").into_bytes()),
            status: StatusCode::BAD_REQUEST,
        },
        Case {
            name: "invalid UTF-8",
            request: signed_body([good.as_bytes(), b"&text=%FF%FE"].concat()),
            status: StatusCode::BAD_REQUEST,
        },
        Case {
            name: "response_url elsewhere",
            request: signed_body(good.replace("hooks.slack.com", "evil.example").into_bytes()),
            status: StatusCode::BAD_REQUEST,
        },
        Case {
            name: "response_url to the metadata service",
            request: signed_body(
                good.replace(
                    "https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1%2F123%2Fabc",
                    "http%3A%2F%2F169.254.169.254%2Flatest",
                )
                .into_bytes(),
            ),
            status: StatusCode::BAD_REQUEST,
        },
        Case {
            name: "over the body limit",
            request: signed_body(format!("{good}&pad={}", "x".repeat(MAX_BODY_BYTES)).into_bytes()),
            status: StatusCode::PAYLOAD_TOO_LARGE,
        },
        Case {
            name: "interaction without a signature",
            request: raw("/slack/interactions", "payload=%7B%7D", &[]),
            status: StatusCode::UNAUTHORIZED,
        },
        Case {
            name: "interaction payload not JSON",
            request: signed("/slack/interactions", "payload=not-json", now()),
            status: StatusCode::BAD_REQUEST,
        },
    ];
    // The REST door.
    let json = |body: &str| {
        raw(
            "/v1/posters",
            body.to_owned(),
            &[
                ("content-type", "application/json"),
                ("authorization", AUTHORIZATION),
            ],
        )
    };
    cases.extend([
        Case {
            name: "REST: not JSON",
            request: json("prompt=a cat"),
            status: StatusCode::BAD_REQUEST,
        },
        Case {
            name: "REST: missing prompt",
            request: json(r#"{"seed": 1}"#),
            status: StatusCode::BAD_REQUEST,
        },
        Case {
            name: "REST: wrong type",
            request: json(r#"{"prompt": "a cat", "seed": "seven"}"#),
            status: StatusCode::BAD_REQUEST,
        },
        Case {
            name: "REST: negative seed",
            request: json(r#"{"prompt": "a cat", "seed": -1}"#),
            status: StatusCode::BAD_REQUEST,
        },
        Case {
            name: "REST: extra field",
            request: json(r#"{"prompt": "a cat", "steps": 50}"#),
            status: StatusCode::BAD_REQUEST,
        },
        Case {
            name: "REST: empty prompt",
            request: json(r#"{"prompt": "  "}"#),
            status: StatusCode::UNPROCESSABLE_ENTITY,
        },
        Case {
            name: "REST: 10,000-character prompt",
            request: json(&format!(r#"{{"prompt": "{}"}}"#, "x".repeat(10_000))),
            status: StatusCode::UNPROCESSABLE_ENTITY,
        },
        Case {
            name: "REST: unknown model",
            request: json(r#"{"prompt": "a cat", "model": "dalle"}"#),
            status: StatusCode::UNPROCESSABLE_ENTITY,
        },
        Case {
            name: "REST: bad ratio",
            request: json(r#"{"prompt": "a cat", "aspect_ratio": "7:3"}"#),
            status: StatusCode::UNPROCESSABLE_ENTITY,
        },
    ]);
    cases
}

#[tokio::test]
async fn hostile_and_broken_requests_get_clear_answers_and_do_no_work() {
    let h = harness();
    for case in hostile_cases() {
        let (status, body) = send(&h, case.request).await;
        assert_eq!(status, case.status, "{}: {body}", case.name);
        let message = body["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{}: no message in {body}", case.name);
    }
    assert_eq!(job_count(&h), 0, "no hostile request may queue a job");
    // And nothing was stored: only the link key and the state database (with its write-ahead
    // log) sit in the data directory, and the state holds nothing but the replay guard's
    // record of signed requests seen (a validly signed request that is refused later is still
    // not run twice).
    let mut entries: Vec<_> = std::fs::read_dir(h.store_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| !name.starts_with("state.sqlite3-"))
        .collect();
    entries.sort();
    assert_eq!(entries, [".link-key", "state.sqlite3"]);
    let db = rusqlite::Connection::open(h.store_dir.path().join("state.sqlite3")).unwrap();
    let state: Vec<String> = db
        .prepare("SELECT pk || ' ' || sk FROM items WHERE pk NOT LIKE 'request#%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(state.is_empty(), "{state:?}");
}

#[tokio::test]
async fn the_rest_door_returns_a_working_expiring_link() {
    let h = harness_dispatching(Recorder::default(), true);
    let req = raw(
        "/v1/posters",
        r#"{"prompt": "a derelict starship wakes up", "aspect_ratio": "16:9", "seed": 42, "title": "Adrift"}"#,
        &[
            ("content-type", "application/json"),
            ("prefer", "wait=25"),
            ("authorization", AUTHORIZATION),
        ],
    );
    let (status, first) = send(&h, req).await;
    let id = first["id"].as_str().unwrap().to_owned();
    let poll_status = || {
        send(
            &h,
            Request::get(format!("/v1/posters/{id}"))
                .header("authorization", AUTHORIZATION)
                .body(Body::empty())
                .unwrap(),
        )
    };
    // Done within the wait (at most MAX_WAIT, 10 s), it is 201 with the link. This render runs
    // at the lowest CPU priority, and on a machine busy with builds it can take longer: then the
    // answer is 202 and the poster arrives at the status URL, as for any caller. (The 201 path
    // on the stack: `e2e::the_rest_door_answers_with_a_signed_link`.)
    let body = match status {
        StatusCode::CREATED => first,
        StatusCode::ACCEPTED => {
            assert_eq!(first["status"], "pending", "{first}");
            let started = std::time::Instant::now();
            loop {
                let (status, body) = poll_status().await;
                assert_eq!(status, StatusCode::OK, "{body}");
                if body["status"] == "done" {
                    break body;
                }
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(180),
                    "still not done after 180 s: {body}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
        other => panic!("{other}: {first}"),
    };
    assert_eq!(body["status"], "done", "{body}");
    // The status URL answers the same, with a fresh link.
    let (status, again) = poll_status().await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["status"], "done");
    assert_eq!(again["key"], body["key"]);
    assert_eq!(body["model"], "offline");
    assert_eq!(body["seed"], 42);
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(1536), Some(864))
    );
    assert!(body["key"].as_str().unwrap().starts_with("posters/"));
    assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));

    // The link is served by the same router; its path and query are all that matter here.
    let url = url::Url::parse(body["url"].as_str().unwrap()).unwrap();
    let path_and_query = format!("{}?{}", url.path(), url.query().unwrap());
    let res = h
        .app
        .clone()
        .oneshot(Request::get(&path_and_query).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");
    let png = res.into_body().collect().await.unwrap().to_bytes();
    let decoded = marquee_core::model::image::decode_image(&png).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (1536, 864));

    // Tampered, or signed for another key: 403.
    let tampered = path_and_query.replace("sig=", "sig=0");
    let res = h
        .app
        .clone()
        .oneshot(Request::get(&tampered).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let other = path_and_query.replacen("posters/", "posters/x", 1);
    let res = h
        .app
        .clone()
        .oneshot(Request::get(&other).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // No signature at all.
    let res = h
        .app
        .clone()
        .oneshot(Request::get(url.path()).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_expired_local_link_is_refused() {
    let h = harness();
    let key = "posters/2026/01/01/old.png";
    std::fs::create_dir_all(h.store_dir.path().join("posters/2026/01/01")).unwrap();
    std::fs::write(h.store_dir.path().join(key), b"png").unwrap();
    let links = LinkSigner::from_dir(h.store_dir.path()).unwrap();
    let sign = |at: i64| {
        let at = time::OffsetDateTime::from_unix_timestamp(at).unwrap();
        let link = links
            .sign(PUBLIC_URL, key, Duration::from_secs(60), at)
            .unwrap();
        url::Url::parse(&link.url).unwrap()
    };
    let url = sign(now() - 61);
    let res = h
        .app
        .clone()
        .oneshot(
            Request::get(format!("{}?{}", url.path(), url.query().unwrap()))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::GONE,
        "an expired link says so: 410 Gone"
    );
    // And says where a fresh link is: `/poster history` lists, where Approve would approve.
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("/poster history"), "{body}");
    assert!(!body.contains("Approve"), "{body}");
    let fresh = sign(now());
    let res = h
        .app
        .clone()
        .oneshot(
            Request::get(format!("{}?{}", fresh.path(), fresh.query().unwrap()))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn health_is_reported() {
    let h = harness();
    let (status, body) = send(&h, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

fn click(action: serde_json::Value) -> Request<Body> {
    let payload = serde_json::json!({
        "type": "block_actions",
        "user": {"id": "U2", "username": "grace"},
        "team": {"id": "T1"},
        "container": {"type": "message", "message_ts": "1700000000.000200", "channel_id": "C1"},
        "channel": {"id": "C1"},
        "message": {"ts": "1700000000.000200", "thread_ts": "1700000000.000100", "blocks": [{"type": "image"}]},
        "response_url": "https://hooks.slack.com/actions/T1/2/xyz",
        "trigger_id": "1.2.3",
        "actions": [action],
    });
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
    signed("/slack/interactions", body, now())
}

#[tokio::test]
async fn button_clicks_are_acked_and_queued_for_the_worker() {
    let h = harness();
    let id = uuid::Uuid::new_v4();
    let block_id = format!("marquee.actions.{id}");
    let clicks = [
        serde_json::json!({"action_id": "poster.regenerate", "block_id": block_id, "value": id.to_string()}),
        serde_json::json!({"action_id": "poster.variations", "block_id": block_id, "value": id.to_string()}),
        serde_json::json!({"action_id": "poster.restyle", "block_id": block_id, "selected_option": {"value": "noir"}}),
        serde_json::json!({"action_id": "poster.approve", "block_id": block_id, "value": id.to_string()}),
    ];
    for c in clicks {
        let res = h.app.clone().oneshot(click(c)).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let jobs = h.jobs.jobs.lock().unwrap();
    assert_eq!(jobs.len(), 4);
    let tasks: Vec<_> = jobs.iter().map(|j| j.task.clone()).collect();
    assert_eq!(
        tasks[0],
        Task::Retake {
            source: id,
            change: Change::Regenerate
        }
    );
    assert_eq!(
        tasks[1],
        Task::Retake {
            source: id,
            change: Change::Variations { count: 2 }
        }
    );
    assert_eq!(
        tasks[2],
        Task::Retake {
            source: id,
            change: Change::Restyle { style: Style::Noir }
        }
    );
    // The approval carries only the poster's id: the worker rebuilds the message from the
    // stored record, never from the click's copy of it.
    assert_eq!(tasks[3], Task::Approve { source: id });
    for j in jobs.iter() {
        assert_eq!(j.requester.user_id, "U2");
        assert_eq!(
            j.reply_to,
            ReplyTo::SlackResponseUrl {
                response_url: "https://hooks.slack.com/actions/T1/2/xyz".into(),
                // A click on a reply threads under the original poster.
                thread: Some(SlackMessageRef {
                    channel_id: "C1".into(),
                    thread_ts: "1700000000.000100".into()
                }),
            }
        );
    }
}

#[tokio::test]
async fn odd_interactions_queue_nothing() {
    let h = harness();
    let bad_id =
        click(serde_json::json!({"action_id": "poster.regenerate", "value": "not-a-uuid"}));
    assert_eq!(send(&h, bad_id).await.0, StatusCode::BAD_REQUEST);
    let unknown = click(
        serde_json::json!({"action_id": "poster.delete", "value": uuid::Uuid::nil().to_string()}),
    );
    assert_eq!(send(&h, unknown).await.0, StatusCode::BAD_REQUEST);
    let shortcut =
        serde_urlencoded::to_string([("payload", r#"{"type":"shortcut","callback_id":"x"}"#)])
            .unwrap();
    assert_eq!(
        send(&h, signed("/slack/interactions", shortcut, now()))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(job_count(&h), 0);
}

// Slack-shaped payloads; tests/fixtures/slack/README.md names the source of each shape.
const BUTTON: &str = include_str!("../fixtures/slack/block_actions_button.json");
const SELECT: &str = include_str!("../fixtures/slack/block_actions_static_select.json");
const ORG_INSTALL: &str = include_str!("../fixtures/slack/block_actions_org_install.json");
const SLASH: &str = include_str!("../fixtures/slack/slash_command.form");
const SLASH_ORG_INSTALL: &str = include_str!("../fixtures/slack/slash_command_org_install.form");
const FIXTURE_POSTER: &str = "3f2b8c4e-9d1a-4e6b-8f7c-2a5d9e1b4c60";

fn signed_payload(payload: &str) -> Request<Body> {
    let body = serde_urlencoded::to_string([("payload", payload)]).unwrap();
    signed("/slack/interactions", body, now())
}

#[tokio::test]
async fn clicks_exactly_as_slack_sends_them_are_acked_and_queued() {
    let h = harness();
    let source = uuid::Uuid::parse_str(FIXTURE_POSTER).unwrap();
    for (name, payload) in [
        ("button", BUTTON),
        ("select on a reply", SELECT),
        ("org-wide install", ORG_INSTALL),
    ] {
        let (status, body) = send(&h, signed_payload(payload)).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
    }
    let jobs = h.jobs.jobs.lock().unwrap();
    assert_eq!(jobs.len(), 3);
    assert_eq!(
        jobs[0].task,
        Task::Retake {
            source,
            change: Change::Regenerate
        }
    );
    assert_eq!(jobs[0].requester.user_id, "U07ADAPARK");
    assert_eq!(jobs[0].requester.user_name.as_deref(), Some("ada.park"));
    assert_eq!(jobs[0].requester.team_id.as_deref(), Some("T07MARQEE"));
    assert_eq!(
        jobs[0].reply_to,
        ReplyTo::SlackResponseUrl {
            response_url:
                "https://hooks.slack.com/actions/T07MARQEE/8123456789013/Qm7rT2xYk9LpWc3vHs8dNf4a"
                    .into(),
            thread: Some(SlackMessageRef {
                channel_id: "C07POSTERS".into(),
                thread_ts: "1764633600.000200".into()
            }),
        }
    );
    assert_eq!(
        jobs[1].task,
        Task::Retake {
            source,
            change: Change::Restyle { style: Style::Noir }
        }
    );
    // The select was used on a reply: the take goes to the original thread.
    assert!(
        matches!(&jobs[1].reply_to, ReplyTo::SlackResponseUrl { thread: Some(t), .. } if t.thread_ts == "1764633600.000200"),
        "{:?}",
        jobs[1].reply_to
    );
    assert!(matches!(&jobs[2].task, Task::Approve { source: s, .. } if *s == source));
    assert_eq!(jobs[2].requester.user_id, "W07GRACEH");
    // `team` is null on an org-wide install; the clicker's workspace comes from the user.
    assert_eq!(jobs[2].requester.team_id.as_deref(), Some("T07STUDIO"));
}

#[tokio::test]
async fn slash_commands_exactly_as_slack_sends_them_are_queued() {
    let h = harness();
    for (name, form) in [
        ("workspace", SLASH),
        ("org-wide install", SLASH_ORG_INSTALL),
    ] {
        let (status, body) = send(&h, signed("/slack/commands", form, now())).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        assert!(body.to_string().contains("Generating"), "{name}: {body}");
    }
    let jobs = h.jobs.jobs.lock().unwrap();
    assert_eq!(jobs.len(), 2);
    let Task::Poster { spec } = &jobs[0].task else {
        panic!("{:?}", jobs[0].task)
    };
    assert_eq!(spec.text.title.as_deref(), Some("Too Many Cooks"));
    assert_eq!(jobs[0].requester.team_id.as_deref(), Some("T07MARQEE"));
    assert_eq!(jobs[1].requester.user_id, "W07GRACEH");
    assert_eq!(jobs[1].requester.team_id.as_deref(), Some("T07STUDIO"));
}

#[tokio::test]
async fn command_text_that_is_not_utf8_is_a_malformed_body() {
    let h = harness();
    // `text=%ff%fe%00` in place of the real text, so no field is duplicated.
    let body = form("a cat").replace("text=a+cat", "text=%ff%fe%00");
    assert!(body.contains("text=%ff%fe%00"), "{body}");
    let (status, answer) = send(&h, signed("/slack/commands", body, now())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"], "bad_request");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("`text`") && message.contains("not valid UTF-8"),
        "{message}"
    );
    // The same holds for a click's payload.
    let click = signed(
        "/slack/interactions",
        "payload=%7B%22type%22%3A%ff%7D",
        now(),
    );
    assert_eq!(send(&h, click).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(job_count(&h), 0);
}

#[tokio::test]
async fn control_characters_in_command_text_are_refused_with_no_job() {
    let h = harness();
    for c in [
        '\0', '\u{7}', '\u{8}', '\u{b}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}',
    ] {
        for text in [
            format!("a cat{c}"),
            format!("a cat --title \"The{c}Keeper\""),
        ] {
            let (status, body) = send(&h, signed("/slack/commands", form(&text), now())).await;
            assert_eq!(status, StatusCode::OK, "{text:?}: {body}");
            assert_eq!(body["response_type"], "ephemeral", "{text:?}");
            let code = format!("U+{:04X}", u32::from(c));
            assert!(body.to_string().contains(&code), "{text:?}: {body}");
            assert!(
                !body.to_string().contains(c),
                "the character is named, not echoed: {body}"
            );
        }
    }
    assert_eq!(job_count(&h), 0);
    // Tabs and line breaks are ordinary text.
    let (status, _) = send(
        &h,
        signed("/slack/commands", form("a cat\ton a\r\nmat"), now()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job_count(&h), 1);
}

/// API Gateway allows 30 s and a poster can take longer: the REST door answers 202 at once with
/// the job's id and status URL, having recorded it as pending and queued it exactly as a Slack
/// command is queued. Nobody else's job, and no job at all, is a 404.
#[tokio::test]
async fn the_rest_door_accepts_at_once_and_reports_status() {
    let h = harness();
    let req = raw(
        "/v1/posters",
        r#"{"prompt": "a derelict starship wakes up"}"#,
        &[
            ("content-type", "application/json"),
            ("authorization", AUTHORIZATION),
        ],
    );
    let res = h.app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["status"], "pending");
    assert_eq!(body["status_url"], location.as_str());
    let id = body["id"].as_str().unwrap();
    assert_eq!(location, format!("{PUBLIC_URL}/v1/posters/{id}"));

    let jobs = h.jobs.jobs.lock().unwrap().clone();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].id.to_string(), id);
    assert_eq!(jobs[0].reply_to, marquee_core::job::ReplyTo::Status);
    assert_eq!(jobs[0].requester.user_id, "local", "no IAM caller locally");

    let get = |path: String| {
        Request::get(path)
            .header("authorization", AUTHORIZATION)
            .body(Body::empty())
            .unwrap()
    };
    let (status, pending) = send(&h, get(format!("/v1/posters/{id}"))).await;
    assert_eq!(status, StatusCode::OK, "{pending}");
    assert_eq!(pending["status"], "pending");
    for missing in [
        format!("/v1/posters/{}", uuid::Uuid::new_v4()),
        "/v1/posters/not-an-id".to_owned(),
    ] {
        let (status, _) = send(&h, get(missing.clone())).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    }
}

/// Slack's SSL check of the command URL (`ssl_check=1` with the deprecated `token`) is
/// answered with an empty 200 before any signature check, as Bolt does (slackapi/bolt-python
/// `slack_bolt/middleware/ssl_check/ssl_check.py`, whose test posts `token=random&ssl_check=1`).
/// Only that exact body on the command URL skips verifying, and it runs nothing.
#[tokio::test]
async fn slacks_ssl_check_is_answered_before_verifying() {
    let h = harness();
    let check = "token=random&ssl_check=1";
    for req in [
        raw(
            "/slack/commands",
            check,
            &[("content-type", "application/x-www-form-urlencoded")],
        ),
        signed("/slack/commands", check, now()),
    ] {
        let res = h.app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        assert!(bytes.is_empty(), "an empty answer: {bytes:?}");
    }
    assert_eq!(job_count(&h), 0);
    let sneaked = format!("ssl_check=1&{}", form("a cat"));
    for (path, body) in [
        ("/slack/interactions", check.to_owned()),
        ("/slack/commands", sneaked),
        ("/slack/commands", "ssl_check=2".to_owned()),
    ] {
        let req = raw(
            path,
            body.clone(),
            &[("content-type", "application/x-www-form-urlencoded")],
        );
        let (status, answer) = send(&h, req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} {body}: {answer}");
    }
    assert_eq!(job_count(&h), 0);
}

/// `marquee serve`'s REST door starts paid work on the admin's AWS account: it needs
/// `Authorization: Bearer <MARQUEE_API_TOKEN>`, and with no token configured it is off.
#[tokio::test]
async fn the_rest_door_outside_lambda_needs_the_api_token() {
    let body = r#"{"prompt": "a derelict starship wakes up"}"#;
    let post = |auth: Option<&str>| {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(auth) = auth {
            headers.push(("authorization", auth));
        }
        raw("/v1/posters", body, &headers)
    };
    let get = |auth: Option<&str>| {
        let mut b = Request::get(format!("/v1/posters/{}", uuid::Uuid::new_v4()));
        if let Some(auth) = auth {
            b = b.header("authorization", auth);
        }
        b.body(Body::empty()).unwrap()
    };
    let h = harness();
    let near_miss = format!("{}x", AUTHORIZATION);
    for auth in [
        None,
        Some("Bearer"),
        Some("Bearer wrong-token"),
        Some(near_miss.as_str()),
        Some("Basic dGVzdDp0ZXN0"),
        Some(API_TOKEN),
    ] {
        let res = h.app.clone().oneshot(post(auth)).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        let (status, answer) = send(&h, get(auth)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth:?}: {answer}");
        assert!(answer["message"].as_str().unwrap().contains("Bearer"));
    }
    assert_eq!(job_count(&h), 0);
    let lower = format!("bearer {API_TOKEN}");
    let (status, answer) = send(&h, post(Some(&lower))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(job_count(&h), 1);
    assert_eq!(h.jobs.jobs.lock().unwrap()[0].requester.user_id, "local");

    let off = harness_guarded(Recorder::default(), false, RestAuth::Off);
    for req in [
        post(Some(AUTHORIZATION)),
        get(Some(AUTHORIZATION)),
        post(None),
    ] {
        let (status, answer) = send(&off, req).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
        assert_eq!(answer["error"], "rest_door_off");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains("MARQUEE_API_TOKEN"),
            "{answer}"
        );
    }
    assert_eq!(job_count(&off), 0);
}

/// The events door verifies before anything else (as every Slack door: 401 on a stale or bad
/// signature, even for the challenge), refuses a body that is not an event with 400, answers
/// the challenge, and acks a mention it cannot answer (no bot token here) queueing nothing.
#[tokio::test]
async fn the_events_door_verifies_first_and_refuses_malformed_bodies() {
    let h = harness();
    let mention = include_str!("../fixtures/slack/events_app_mention_thread.json");
    let challenge = include_str!("../fixtures/slack/events_url_verification.json");
    let (status, _) = send(&h, signed("/slack/events", mention, now() - 600)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "stale");
    let (status, _) = send(&h, signed("/slack/events", challenge, now() - 600)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a stale challenge");
    let mut forged = signed("/slack/events", challenge, now());
    forged
        .headers_mut()
        .insert(verify::SIGNATURE_HEADER, "v0=00".parse().unwrap());
    assert_eq!(send(&h, forged).await.0, StatusCode::UNAUTHORIZED, "forged");
    let (status, _) = send(&h, signed("/slack/events", "{not json", now())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, answer) = send(&h, signed("/slack/events", challenge, now())).await;
    assert_eq!(status, StatusCode::OK);
    let sent: Value = serde_json::from_str(challenge).unwrap();
    assert_eq!(answer["challenge"], sent["challenge"]);
    let (status, _) = send(&h, signed("/slack/events", mention, now())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job_count(&h), 0, "no bot token: nothing to answer with");
}

/// On `marquee serve` the local queue is the replay guard: a signed `/poster` replayed inside
/// Slack's window, one copy after another or all at once, is acked "Generating" once and
/// with an empty 200 (nothing queued) every other time, through the real router and queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_command_is_queued_once_by_the_local_queue() {
    let h = harness_dispatching(Recorder::default(), true);
    let generating = |body: &Value| {
        body["text"]
            .as_str()
            .is_some_and(|t| t.contains("Generating your poster"))
    };
    let body = form("a lighthouse keeper fights a kraken");
    let ts = now();
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(send(&h, signed("/slack/commands", body.clone(), ts)).await);
    }
    let copies = form("a robot learns to paint");
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (app, req) = (h.app.clone(), signed("/slack/commands", copies.clone(), ts));
        sends.spawn(async move {
            let res = app.oneshot(req).await.unwrap();
            let status = res.status();
            let bytes = res.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        });
    }
    let at_once: Vec<(StatusCode, Value)> = sends.join_all().await;
    for (answers, what) in [(answers, "one after another"), (at_once, "all at once")] {
        assert!(answers.iter().all(|(s, _)| *s == StatusCode::OK), "{what}");
        let started = answers.iter().filter(|(_, b)| generating(b)).count();
        assert_eq!(started, 1, "{what}: {answers:?}");
        assert!(
            answers.iter().all(|(_, b)| generating(b) || b.is_null()),
            "{what}: {answers:?}"
        );
    }
}
