//! The in-process ack path: a signed slash command through the real router — signature check,
//! form and `/poster` parsing, the job's enqueue, the JSON ack — with no network in between.
//!
//! Run: `cargo bench --bench ack` (N requests after a warm-up; `ACK_BENCH_N=50000` for more).
//! The router is built as `tests/it/front_door.rs` builds it: an offline model, a local store in a
//! temporary directory, and a dispatcher that only sends the job into a channel (a task drains
//! it), so what is timed is exactly the work between Slack's request and Marquee's answer.
//! Requests are signed before the clock starts; each timing covers `oneshot` and reading the
//! response body. Plain `std::time::Instant`, no benchmark framework.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use marquee_core::job::Job;
use marquee_core::model::offline::OfflineModel;
use marquee_core::model::{ModelId, Models};
use marquee_core::request::ModelPolicy;
use marquee_core::secret::Secret;
use marquee_core::slack::SlackClient;
use marquee_core::slack::verify;
use marquee_core::store::LinkSigner;
use marquee_core::store::local::LocalStore;
use marquee_service::dispatch::{DispatchError, Dispatcher};
use marquee_service::http::{AppState, PublicUrl, router};
use marquee_service::pipeline::Pipeline;
use tokio::sync::mpsc;
use tower::ServiceExt;

const SECRET: &str = "bench-signing-secret-0123456789abcdef";

/// Prompts of the kinds Slack sends: plain, every flag, curly quotes and dashes, escaping.
const TEXTS: &[&str] = &[
    "a lighthouse keeper fights a kraken, 1950s pulp",
    "a detective in the rain --title \"The Long Night\" --tagline 'Nobody sleeps' --credits \"Directed by Ada Park\" --style noir --ar 16:9 --seed 42 --no \"colour, text\"",
    "a detective — alone in the rain —title “The Long Night” –tagline ‘Nobody sleeps’ —style Noir",
    "Tom &amp; Jerry &lt;3 <@U123ABC> :rocket: 東京の夜 café --title “Ça va?”",
];

/// Enqueues into a channel, as a queue-backed dispatcher would; nothing runs the job.
struct Enqueue(mpsc::UnboundedSender<Job>);

#[async_trait]
impl Dispatcher for Enqueue {
    async fn dispatch(&self, job: Job) -> Result<(), DispatchError> {
        self.0
            .send(job)
            .map_err(|e| DispatchError::Invoke(Box::new(std::io::Error::other(e.to_string()))))
    }
}

fn form(text: &str, i: usize) -> String {
    let response_url = format!("https://hooks.slack.com/commands/T1/{i}/abc{i}");
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
        ("response_url", &response_url),
        ("trigger_id", "1.2.3"),
    ])
    .unwrap()
}

fn signed(i: usize) -> Request<Body> {
    let body = form(TEXTS[i % TEXTS.len()], i);
    let ts = marquee_service::http::system_clock();
    let sig = verify::sign(&Secret::new(SECRET), ts, body.as_bytes());
    Request::post("/slack/commands")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(verify::TIMESTAMP_HEADER, ts.to_string())
        .header(verify::SIGNATURE_HEADER, sig)
        .body(Body::from(body))
        .unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let n: usize = std::env::var("ACK_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let warmup = (n / 10).max(100);
    // One worker thread, like a Lambda with one vCPU's worth of work per request.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(LocalStore::open(dir.path()).unwrap());
        let links = LinkSigner::from_dir(dir.path()).unwrap();
        let slack = SlackClient::new(marquee_core::net::client(), &["hooks.slack.com".into()]);
        let pipeline = Arc::new(Pipeline::new(
            Models::new().with(ModelId::Offline, Arc::new(OfflineModel)),
            store.clone(),
            Arc::new(marquee_core::state::local::LocalState::open(dir.path().join("state.sqlite3")).unwrap()),
            slack,
            links.clone(),
            Duration::from_secs(3600),
        ));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let drained = Arc::clone(&queued);
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                drained.fetch_add(1, Ordering::Relaxed);
            }
        });
        let app = router(AppState {
            signing_secret: Some(Secret::new(SECRET).into()),
            policy: ModelPolicy {
                default: ModelId::Offline,
                allowed: vec![ModelId::Offline],
            },
            pipeline,
            dispatcher: Arc::new(Enqueue(tx)),
            store,
            links,
            public_url: PublicUrl::Fixed("http://127.0.0.1:3000".into()),
            clock: marquee_service::http::system_clock,
            rest_auth: marquee_service::http::RestAuth::Off,
        });

        let mut times = Vec::with_capacity(n);
        for i in 0..warmup + n {
            let request = signed(i);
            let started = Instant::now();
            let response = app.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let elapsed = started.elapsed();
            assert_eq!(status, StatusCode::OK);
            assert!(
                body.windows(10).any(|w| w == b"Generating"),
                "not an ack: {}",
                String::from_utf8_lossy(&body)
            );
            if i >= warmup {
                times.push(elapsed);
            }
        }
        // Let the drain task catch up, then check every request queued exactly one job.
        for _ in 0..100 {
            if queued.load(Ordering::Relaxed) == warmup + n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(queued.load(Ordering::Relaxed), warmup + n, "jobs queued");

        times.sort();
        let total: Duration = times.iter().sum();
        println!("ack path (verify + parse + enqueue + JSON ack), in process, {n} requests after {warmup} warm-up:");
        println!(
            "  median {}  p90 {}  p99 {}  max {}  mean {}  ({:.0} acks/s on one thread)",
            micros(percentile(&times, 50.0)),
            micros(percentile(&times, 90.0)),
            micros(percentile(&times, 99.0)),
            micros(*times.last().unwrap()),
            micros(total / n as u32),
            n as f64 / total.as_secs_f64()
        );
    });
}
