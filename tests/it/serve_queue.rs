//! `marquee serve`'s durable job queue, on the real binary (`target/debug/marquee`), each test
//! with its own data directory and the Slack stand-in as the response-URL sink (allow-listed
//! through `MARQUEE_RESPONSE_URL_HOSTS`, as an admin would):
//!
//! - a server killed with SIGKILL in the middle of a burst of 200 offline posters, then started
//!   again on the same data directory, delivers every poster it acked exactly once — a job
//!   that was in a render slot at the kill is made again, or, if it had been stored and so may
//!   have been posted, its link is sent privately — and never posts one twice;
//! - a full queue is answered at once with a Slack-valid ephemeral "busy" ack, nothing is
//!   queued or posted for it, and `GET /healthz` counts it.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinSet;

use crate::support::process::Supervised;
use crate::support::slack::{Slack, check_message, signed_headers, slash_command_body};
use crate::support::{fonts_layer_dir, free_ports, poll, random_token};

/// How a command was answered.
#[derive(Debug, Clone, PartialEq)]
enum Ack {
    /// "Generating your poster…": the job is on disk.
    Accepted,
    /// Marquee is busy: nothing was queued.
    Busy(Value),
    /// No answer (the connection failed): the job may or may not have been queued.
    Lost(String),
}

/// A `marquee serve` on `port` over `data`, logging into `dir`.
struct Server {
    env: Vec<(String, String)>,
    port: u16,
    dir: std::path::PathBuf,
    secret: String,
}

impl Server {
    fn new(dir: &Path, slack: &Slack, slots: usize, limit: u64) -> Self {
        let secret = random_token(40);
        let port = free_ports(1)[0];
        let env = [
            ("SLACK_SIGNING_SECRET", secret.clone()),
            ("MARQUEE_MODEL", "offline".into()),
            ("MARQUEE_DATA_DIR", dir.join("data").display().to_string()),
            ("MARQUEE_RESPONSE_URL_HOSTS", slack.base_url()),
            ("MARQUEE_RENDER_SLOTS", slots.to_string()),
            ("MARQUEE_QUEUE_LIMIT", limit.to_string()),
            ("MARQUEE_FONTS_DIR", fonts_layer_dir()),
            ("MARQUEE_LOG", "info".into()),
            ("NO_COLOR", "1".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Server {
            env,
            port,
            dir: dir.to_owned(),
            secret,
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the binary (as `name`, for its log) and waits until `/healthz` answers.
    async fn start(&self, name: &str) -> Supervised {
        let process = Supervised::spawn(
            name,
            Path::new(env!("CARGO_BIN_EXE_marquee")),
            &[
                "serve".into(),
                "--addr".into(),
                format!("127.0.0.1:{}", self.port),
            ],
            &self.dir,
            &self.env,
            &self.dir,
        )
        .expect("marquee serve starts");
        let client = marquee_core::net::client();
        let url = format!("{}/healthz", self.base());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = client.get(&url).send().await
                && r.status().is_success()
            {
                return process;
            }
            if let Err(e) = process.check_alive() {
                panic!("marquee serve stopped while starting: {e:?}");
            }
            assert!(
                Instant::now() < deadline,
                "marquee serve did not answer /healthz within 30 s:\n{}",
                process.log_tail(4000)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn healthz(&self) -> Value {
        marquee_core::net::client()
            .get(format!("{}/healthz", self.base()))
            .send()
            .await
            .expect("/healthz answers")
            .json()
            .await
            .expect("/healthz is JSON")
    }

    /// Sends one signed `/poster` for `response_url`, as Slack does.
    async fn command(
        client: &reqwest::Client,
        base: &str,
        secret: &str,
        text: &str,
        response_url: &str,
    ) -> Ack {
        let body = slash_command_body(text, response_url);
        let mut request = client
            .post(format!("{base}/slack/commands"))
            .timeout(Duration::from_secs(10));
        for (k, v) in signed_headers(secret, body.as_bytes()) {
            request = request.header(k, v);
        }
        let response = match request.body(body).send().await {
            Ok(r) => r,
            Err(e) => return Ack::Lost(e.to_string()),
        };
        let status = response.status();
        let ack: Value = match response.json().await {
            Ok(v) => v,
            Err(e) => return Ack::Lost(format!("{status}: {e}")),
        };
        assert_eq!(status, 200, "a slash command is answered 200: {ack}");
        let text = ack["text"].as_str().unwrap_or_default();
        if text.contains("Generating") {
            Ack::Accepted
        } else if text.contains("busy") {
            Ack::Busy(ack)
        } else {
            panic!("an ack that is neither accepted nor busy: {ack}");
        }
    }

    /// Sends `n` distinct commands, `concurrency` at a time; their response URLs and acks.
    async fn burst(&self, slack: &Slack, n: usize, concurrency: usize) -> Vec<(String, Ack)> {
        let client = marquee_core::net::client();
        let gate = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let mut sends = JoinSet::new();
        for i in 0..n {
            let url = slack.response_url();
            let (client, gate) = (client.clone(), gate.clone());
            let (base, secret) = (self.base(), self.secret.clone());
            sends.spawn(async move {
                let _turn = gate.acquire_owned().await.expect("the gate stays open");
                let text = format!("queue burst poster {i} a lighthouse in a storm --ar 9:21");
                let ack = Server::command(&client, &base, &secret, &text, &url).await;
                (i, url, ack)
            });
        }
        let mut acks = sends.join_all().await;
        acks.sort_by_key(|(i, _, _)| *i);
        acks.into_iter().map(|(_, url, ack)| (url, ack)).collect()
    }
}

/// Whether `message` is a delivered poster (it shows an image), not a note.
fn is_poster(message: &Value) -> bool {
    message["blocks"]
        .as_array()
        .is_some_and(|blocks| blocks.iter().any(|b| b["type"] == "image"))
}

/// Whether `message` is the private note with a poster's link that a restarted server sends
/// for a job it finished before the kill but cannot know was posted.
fn is_link_note(message: &Value) -> bool {
    message["text"]
        .as_str()
        .is_some_and(|t| t.contains("Your poster is ready"))
}

const POSTERS: usize = 200;
const SLOTS: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_burst_answers_every_accepted_poster_once_after_a_restart() {
    let slack = Slack::start();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path(), &slack, SLOTS, 1000);
    let mut first = server.start("serve-before-kill").await;

    let started = Instant::now();
    let acks = server.burst(&slack, POSTERS, 20).await;
    let accepted: Vec<&String> = acks
        .iter()
        .filter(|(_, a)| *a == Ack::Accepted)
        .map(|(u, _)| u)
        .collect();
    assert_eq!(
        accepted.len(),
        POSTERS,
        "every command is accepted below the bound: {:?}",
        acks.iter().find(|(_, a)| *a != Ack::Accepted)
    );
    eprintln!(
        "[serve_queue] {POSTERS} commands acked in {:?}",
        started.elapsed()
    );

    // Kill it with most of the burst still queued and two jobs in their render slots.
    let delivered = |slack: &Slack| {
        accepted
            .iter()
            .filter(|u| !slack.messages(u).is_empty())
            .count()
    };
    // Generous limits: on a quiet machine the whole test takes about a minute, but a debug
    // build's offline posters slow down many times over while other builds share the cores.
    let some = poll(Duration::from_secs(240), || {
        (delivered(&slack) >= 30).then_some(())
    })
    .await;
    assert!(
        some.is_some(),
        "30 posters within 240 s:\n{}",
        first.log_tail(4000)
    );
    let health = server.healthz().await;
    first.kill_hard();
    let before_kill = delivered(&slack);
    eprintln!(
        "[serve_queue] killed after {before_kill} delivered, {:?} in; /healthz said {}",
        started.elapsed(),
        health["queue"]
    );
    assert!(
        health["queue"]["waiting"].as_u64().unwrap_or(0) > 0,
        "jobs were still waiting when it was killed: {health}"
    );
    assert!(
        before_kill < POSTERS - 50,
        "the kill came in the middle of the burst ({before_kill} of {POSTERS} delivered)"
    );

    // The killed process's socket goes with it, a moment after the signal.
    let freed = poll(Duration::from_secs(15), || {
        std::net::TcpListener::bind(("127.0.0.1", server.port))
            .ok()
            .map(drop)
    })
    .await;
    assert!(freed.is_some(), "the killed server's port was freed");
    let second = server.start("serve-after-kill").await;
    let all = poll(Duration::from_secs(600), || {
        (delivered(&slack) == POSTERS).then_some(())
    })
    .await;
    assert!(
        all.is_some(),
        "only {} of {POSTERS} accepted commands were answered after the restart:\n{}",
        delivered(&slack),
        second.log_tail(6000)
    );
    // Anything posted twice would arrive within moments of the rest.
    tokio::time::sleep(Duration::from_secs(2)).await;
    eprintln!(
        "[serve_queue] all {POSTERS} answered {:?} after the first command",
        started.elapsed()
    );

    let (mut posters, mut links, mut told) = (0, 0, Vec::new());
    for url in &accepted {
        let messages = slack.messages(url);
        let shown: Vec<&Value> = messages.iter().filter(|m| is_poster(m)).collect();
        let linked: Vec<&Value> = messages.iter().filter(|m| is_link_note(m)).collect();
        // Never two posters. A poster and then its link is the one window a crash cannot
        // close: posted, and killed before the job left the queue; the restart cannot know
        // Slack took it, so it sends the link privately rather than post again.
        assert!(
            shown.len() + linked.len() == messages.len()
                && shown.len() <= 1
                && (messages.len() == 1 || (messages.len() == 2 && is_poster(&messages[0]))),
            "an accepted command is answered exactly once: {:#?}",
            slack.posts(url)
        );
        match (shown.len(), linked.len()) {
            (1, 0) => posters += 1,
            (0, 1) => links += 1,
            (1, 1) => {
                posters += 1;
                links += 1;
            }
            _ => told.push(messages),
        }
    }
    // What was waiting is delivered; a job that was in a render slot at the kill is made again
    // if it had not been stored (the offline model is free), or its link is sent if it had.
    assert!(told.is_empty(), "{told:#?}");
    assert!(links <= SLOTS, "{links} links for {SLOTS} slots");
    assert!(posters >= POSTERS - SLOTS, "{posters} posters shown");
    assert!(slack.violations().is_empty(), "{:?}", slack.violations());
    assert!(
        second.log_path().exists()
            && std::fs::read_to_string(second.log_path())
                .unwrap_or_default()
                .contains("resuming jobs accepted before this start"),
        "the second start says it resumes"
    );
    let health = server.healthz().await;
    assert_eq!(
        (
            &health["queue"]["waiting"],
            &health["queue"]["running"],
            &health["queue"]["slots"]
        ),
        (&Value::from(0), &Value::from(0), &Value::from(SLOTS)),
        "{health}"
    );
    eprintln!(
        "[serve_queue] {posters} posters shown and {links} sent as links for {POSTERS} accepted commands"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_busy_at_once_and_queues_nothing() {
    let slack = Slack::start();
    let dir = tempfile::tempdir().unwrap();
    // One render slot and room for one waiting job: a burst of 24 overflows it at once.
    let server = Server::new(dir.path(), &slack, 1, 1);
    let _serve = server.start("serve-full").await;

    let acks = server.burst(&slack, 24, 12).await;
    let busy: Vec<(&String, &Value)> = acks
        .iter()
        .filter_map(|(u, a)| match a {
            Ack::Busy(ack) => Some((u, ack)),
            _ => None,
        })
        .collect();
    let accepted: Vec<&String> = acks
        .iter()
        .filter(|(_, a)| *a == Ack::Accepted)
        .map(|(u, _)| u)
        .collect();
    assert!(!busy.is_empty() && !accepted.is_empty(), "{acks:#?}");
    assert_eq!(busy.len() + accepted.len(), acks.len(), "{acks:#?}");

    let http = marquee_core::net::client();
    for (_, ack) in &busy {
        // Slack's rules for a message, as the stand-in judges a posted one.
        check_message(&http, ack, true)
            .await
            .unwrap_or_else(|r| panic!("the busy ack is not a valid Slack message: {r:?}"));
        assert_eq!(ack["response_type"], "ephemeral", "{ack}");
        let text = ack["text"].as_str().unwrap_or_default();
        assert!(
            text.contains("try again in a minute") && text.contains("Nothing was queued"),
            "{text}"
        );
    }

    let answered = poll(Duration::from_secs(180), || {
        accepted
            .iter()
            .all(|u| !slack.messages(u).is_empty())
            .then_some(())
    })
    .await;
    assert!(answered.is_some(), "every accepted command is answered");
    tokio::time::sleep(Duration::from_secs(1)).await;
    for url in &accepted {
        assert_eq!(slack.messages(url).len(), 1);
        assert!(is_poster(&slack.messages(url)[0]));
    }
    for (url, _) in &busy {
        assert!(
            slack.posts(url).is_empty(),
            "nothing is posted for a shed command"
        );
    }
    let health = server.healthz().await;
    assert_eq!(
        health["queue"]["shed"].as_u64(),
        Some(busy.len() as u64),
        "{health}"
    );
    assert_eq!(health["queue"]["limit"], 1, "{health}");
}
