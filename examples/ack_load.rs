//! Warm-ack load against a running `marquee serve`: distinct signed `/poster` commands at a
//! fixed concurrency, timed per request, while the server's worker renders what they queue.
//! Run it through `scripts/load.sh acks` (which starts the server with a queue large enough to
//! accept every command); Python's aiohttp cannot send ten thousand requests a second on this
//! machine, so this client is Rust.
//!
//! ```text
//! ack_load --url http://127.0.0.1:PORT/slack/commands --secret S --receiver-port P
//!          [--requests 20000] [--concurrency 50] [--warmup 2000] [--busy-ok] [--events|--steps]
//! ```
//!
//! `--events` sends signed `app_mention` events (each its own `event_id`) to the events door
//! (`--url …/slack/events`) instead, and the receiver also answers the Web API (`/api/…`,
//! `{"ok": true}`) for a server started with `SLACK_API_URL` pointing at it: a mention is
//! answered with the bot token, in its thread. `--steps` sends signed `function_executed`
//! events of the "Make a poster" workflow step instead (each its own `event_id` and
//! `function_execution_id`, the shape of tests/fixtures/slack/events_function_executed.json
//! without a `requester` input); the receiver answers `functions.completeSuccess` too.
//!
//! `--busy-ok` counts a "Marquee is busy" ack as answered: run against a server whose queue is
//! full, it times the ack path without the queue's write.
//!
//! Every command has its own `response_url` on the receiver this program serves (so the worker
//! can deliver) and is signed before the clock starts. It prints acks per second and the
//! latency distribution, and exits 1 if any command was not acked "Generating" with HTTP 200.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use marquee_core::secret::Secret;
use marquee_core::slack::verify;

struct Args {
    url: String,
    secret: String,
    receiver_port: u16,
    requests: usize,
    concurrency: usize,
    warmup: usize,
    busy_ok: bool,
    events: bool,
    steps: bool,
}

fn args() -> Args {
    let mut a = Args {
        url: String::new(),
        secret: String::new(),
        receiver_port: 0,
        requests: 20_000,
        concurrency: 50,
        warmup: 2_000,
        busy_ok: false,
        events: false,
        steps: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--busy-ok" {
            a.busy_ok = true;
            continue;
        }
        if flag == "--events" {
            a.events = true;
            continue;
        }
        if flag == "--steps" {
            a.events = true;
            a.steps = true;
            continue;
        }
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--url" => a.url = value,
            "--secret" => a.secret = value,
            "--receiver-port" => a.receiver_port = value.parse().unwrap_or(0),
            "--requests" => a.requests = value.parse().unwrap_or(a.requests),
            "--concurrency" => a.concurrency = value.parse().unwrap_or(a.concurrency),
            "--warmup" => a.warmup = value.parse().unwrap_or(a.warmup),
            other => {
                eprintln!("ack_load: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    if a.url.is_empty() || a.secret.is_empty() || a.receiver_port == 0 {
        eprintln!("ack_load: --url, --secret and --receiver-port are required");
        std::process::exit(2);
    }
    a
}

/// One signed command: body, timestamp, signature.
type Signed = (String, String, String);

fn sign_all(a: &Args, from: usize, n: usize) -> Vec<Signed> {
    let secret = Secret::new(a.secret.clone());
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if a.steps {
        return (from..from + n)
            .map(|i| {
                // The shape of tests/fixtures/slack/events_function_executed.json.
                let body = serde_json::json!({
                    "token": "x",
                    "team_id": "T0LOAD",
                    "api_app_id": "A0LOAD",
                    "event": {
                        "type": "function_executed",
                        "function": {"id": "Fn0LOAD", "callback_id": "make_poster",
                            "title": "Make a poster", "type": "app", "app_id": "A0LOAD"},
                        "inputs": {"description": "a lighthouse keeper fights a kraken",
                            "channel": "C0LOAD"},
                        "function_execution_id": format!("Fx{i:010}"),
                        "workflow_execution_id": format!("Wx{i:010}"),
                        "event_ts": format!("1700000000.{i:06}"),
                        "bot_access_token": format!("xwfp-load-{i}"),
                    },
                    "type": "event_callback",
                    "event_id": format!("Ev{}", uuid::Uuid::new_v4().simple()),
                    "event_time": 1_700_000_000,
                    "authorizations": [{"enterprise_id": null, "team_id": "T0LOAD",
                        "user_id": "U0LOADBOT", "is_bot": true, "is_enterprise_install": false}],
                    "is_ext_shared_channel": false,
                })
                .to_string();
                let signature = verify::sign(&secret, ts, body.as_bytes());
                (body, ts.to_string(), signature)
            })
            .collect();
    }
    if a.events {
        return (from..from + n)
            .map(|i| {
                // The shape of tests/fixtures/slack/events_app_mention_thread.json.
                let body = serde_json::json!({
                    "token": "x",
                    "team_id": "T0LOAD",
                    "api_app_id": "A0LOAD",
                    "event": {
                        "type": "app_mention",
                        "text": "<@U0LOADBOT> a lighthouse keeper fights a kraken",
                        "user": format!("U{i:06}"),
                        "ts": format!("1700000000.{i:06}"),
                        "team": "T0LOAD",
                        "channel": "C0LOAD",
                        "event_ts": format!("1700000000.{i:06}"),
                    },
                    "type": "event_callback",
                    "event_id": format!("Ev{}", uuid::Uuid::new_v4().simple()),
                    "event_time": 1_700_000_000,
                    "authorizations": [{"enterprise_id": null, "team_id": "T0LOAD",
                        "user_id": "U0LOADBOT", "is_bot": true, "is_enterprise_install": false}],
                    "is_ext_shared_channel": false,
                })
                .to_string();
                let signature = verify::sign(&secret, ts, body.as_bytes());
                (body, ts.to_string(), signature)
            })
            .collect();
    }
    (from..from + n)
        .map(|i| {
            let response_url = format!(
                "http://127.0.0.1:{}/commands/T0LOAD/{i}/{}",
                a.receiver_port,
                uuid::Uuid::new_v4().simple()
            );
            let body = serde_urlencoded::to_string([
                ("token", "x"),
                ("team_id", "T0LOAD"),
                ("team_domain", "load"),
                ("channel_id", "C0LOAD"),
                ("channel_name", "load"),
                ("user_id", &format!("U{i:06}")),
                ("user_name", "load"),
                ("command", "/poster"),
                ("text", "a lighthouse keeper fights a kraken"),
                ("api_app_id", "A0LOAD"),
                ("response_url", &response_url),
                ("trigger_id", &format!("{i}.1.load")),
            ])
            .unwrap_or_default();
            let signature = verify::sign(&secret, ts, body.as_bytes());
            (body, ts.to_string(), signature)
        })
        .collect()
}

/// Sends `signed` at `concurrency`; each request's latency, and how many were not acked.
async fn round(
    client: &reqwest::Client,
    url: &str,
    signed: Vec<Signed>,
    concurrency: usize,
    busy_ok: bool,
    events: bool,
) -> (Vec<Duration>, usize, usize, Duration) {
    let signed = Arc::new(signed);
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let busy = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, url) = (client.clone(), url.to_owned());
        let (signed, next, failed) = (signed.clone(), next.clone(), failed.clone());
        let busy = busy.clone();
        workers.spawn(async move {
            let mut times = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((body, ts, sig)) = signed.get(i) else {
                    return times;
                };
                let t = Instant::now();
                let content_type = if events {
                    "application/json"
                } else {
                    "application/x-www-form-urlencoded"
                };
                let ok = match client
                    .post(&url)
                    .header("content-type", content_type)
                    .header(verify::TIMESTAMP_HEADER, ts)
                    .header(verify::SIGNATURE_HEADER, sig)
                    .body(body.clone())
                    .send()
                    .await
                {
                    // An event is acked with an empty 200; a full queue gives the event back
                    // with 503 for Slack to retry.
                    Ok(r) if events && r.status() == 200 => true,
                    Ok(r) if events && busy_ok && r.status() == 503 => {
                        busy.fetch_add(1, Ordering::Relaxed);
                        true
                    }
                    Ok(r) if r.status() == 200 => match r.text().await {
                        Ok(text) if text.contains("Generating") => true,
                        Ok(text) if busy_ok && text.contains("busy") => {
                            busy.fetch_add(1, Ordering::Relaxed);
                            true
                        }
                        _ => false,
                    },
                    _ => false,
                };
                times.push(t.elapsed());
                if !ok {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    let mut times = Vec::new();
    while let Some(done) = workers.join_next().await {
        times.extend(done.unwrap_or_default());
    }
    (
        times,
        failed.load(Ordering::Relaxed),
        busy.load(Ordering::Relaxed),
        started.elapsed(),
    )
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((p / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let delivered = Arc::new(AtomicU64::new(0));
    let counter = delivered.clone();
    let posted = delivered.clone();
    let receiver = Router::new()
        .route(
            "/commands/{team}/{id}/{token}",
            post(move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::Relaxed);
                    "ok"
                }
            }),
        )
        // The Web API, for `--events`: every method answers ok; a poster message counts.
        .route(
            "/api/{method}",
            post(
                move |axum::extract::Path(method): axum::extract::Path<String>| {
                    let posted = posted.clone();
                    async move {
                        if method == "chat.postMessage" {
                            posted.fetch_add(1, Ordering::Relaxed);
                        }
                        axum::Json(serde_json::json!({"ok": true, "ts": "1700000001.000100"}))
                    }
                },
            ),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", a.receiver_port))
        .await
        .unwrap_or_else(|e| panic!("could not bind the receiver: {e}"));
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    // Marquee's own builder: it installs the TLS stack's crypto provider reqwest needs.
    let client = marquee_core::net::client_builder()
        .pool_max_idle_per_host(a.concurrency)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| panic!("no HTTP client: {e}"));
    let warm = sign_all(&a, 10_000_000, a.warmup);
    let (_, warm_failed, _, _) =
        round(&client, &a.url, warm, a.concurrency, a.busy_ok, a.events).await;
    let measured = sign_all(&a, 0, a.requests);
    let (mut times, failed, busy, elapsed) = round(
        &client,
        &a.url,
        measured,
        a.concurrency,
        a.busy_ok,
        a.events,
    )
    .await;
    times.sort();
    let mean = times.iter().sum::<Duration>().as_secs_f64() * 1000.0 / times.len().max(1) as f64;
    let what = if a.steps {
        "function_executed events"
    } else if a.events {
        "app_mention events"
    } else {
        "/poster commands"
    };
    println!(
        "{} distinct signed {what} at {}-way after {} warm-up ({} not acked in warm-up)",
        a.requests, a.concurrency, a.warmup, warm_failed
    );
    println!(
        "  {:.0} acks/s; latency median {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms, mean {:.2} ms; {} answered busy, {} not acked",
        times.len() as f64 / elapsed.as_secs_f64(),
        pct(&times, 50.0),
        pct(&times, 90.0),
        pct(&times, 99.0),
        pct(&times, 100.0),
        mean,
        busy,
        failed
    );
    println!(
        "  posters delivered while the acks ran and just after: {}",
        delivered.load(Ordering::Relaxed)
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
