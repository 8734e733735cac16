//! The local state store (the product's `state::local::LocalState`: SQLite, WAL,
//! `synchronous=NORMAL`, cached statements, one writer thread committing what has queued as
//! one transaction) with the operations it makes: `claim` (the ack path's replay
//! guard), `put` (records), `add` (a counter), `query` (the ten latest of a partition).
//!
//! Run: `TMPDIR=/dev/shm cargo bench --bench state` (or on the disk the data directory is on).
//! 50 tasks at once on a 2-thread runtime, `STATE_BENCH_N` operations each per phase (default
//! 400); each phase reports throughput and per-operation latency. Plain `Instant`, no framework.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use marquee_core::state::local::LocalState;
use marquee_core::state::{Added, Claim, Claimant, Key, StateStore};

const TASKS: usize = 50;

/// The four operations, as each engine does them.
#[async_trait]
trait Engine: Send + Sync {
    async fn claim(&self, pk: String, now: i64) -> bool;
    async fn put(&self, pk: String, sk: String, value: String);
    async fn add(&self, pk: String, now: i64) -> i64;
    async fn query(&self, pk: String, limit: usize) -> usize;
}

struct Sqlite(LocalState);

#[async_trait]
impl Engine for Sqlite {
    async fn claim(&self, pk: String, now: i64) -> bool {
        let key = Key::new(pk, "seen");
        self.0
            .claim(&key, String::new(), &Claimant::new(), Some(now + 900), now)
            .await
            .unwrap()
            == Claim::Won
    }
    async fn put(&self, pk: String, sk: String, value: String) {
        self.0
            .put(&Key::new(pk, sk), value, Some(i64::MAX / 2))
            .await
            .unwrap();
    }
    async fn add(&self, pk: String, now: i64) -> i64 {
        match self
            .0
            .add(
                &Key::new(pk, "day"),
                1,
                None,
                &Claimant::new(),
                Some(now + 86_400),
                now,
            )
            .await
            .unwrap()
        {
            Added::To(n) | Added::Refused(n) => n,
        }
    }
    async fn query(&self, pk: String, limit: usize) -> usize {
        self.0.query_latest(&pk, limit, 0).await.unwrap().len()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs `op(task, i)` `n` times in each of [`TASKS`] tasks at once; prints one line.
async fn phase<F, Fut>(engine: &str, name: &str, n: usize, op: F)
where
    F: Fn(usize, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let op = op.clone();
        handles.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(n);
            for i in 0..n {
                let s = Instant::now();
                op(t, i).await;
                times.push(s.elapsed());
            }
            times
        }));
    }
    let mut times = Vec::with_capacity(TASKS * n);
    for h in handles {
        times.extend(h.await.unwrap());
    }
    let wall = started.elapsed();
    times.sort();
    println!(
        "{engine:7} {name:6} {:>8.0} ops/s   p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
        times.len() as f64 / wall.as_secs_f64(),
        percentile(&times, 50.0).as_secs_f64() * 1e3,
        percentile(&times, 99.0).as_secs_f64() * 1e3,
        times.last().unwrap().as_secs_f64() * 1e3,
    );
}

async fn run(name: &'static str, engine: Arc<dyn Engine>, n: usize) {
    let now = 1_800_000_000;
    let e = Arc::clone(&engine);
    phase(name, "claim", n, move |t, i| {
        let e = Arc::clone(&e);
        async move {
            assert!(e.claim(format!("request#{t}-{i}"), now).await);
        }
    })
    .await;
    let e = Arc::clone(&engine);
    let record = "x".repeat(600);
    phase(name, "put", n, move |t, i| {
        let (e, record) = (Arc::clone(&e), record.clone());
        async move {
            e.put(format!("history#T#U{t}"), format!("{i:015}"), record)
                .await;
        }
    })
    .await;
    let e = Arc::clone(&engine);
    phase(name, "add", n, move |t, _| {
        let e = Arc::clone(&e);
        async move {
            e.add(format!("quota#user#T#U{}", t % 5), now).await;
        }
    })
    .await;
    let e = Arc::clone(&engine);
    phase(name, "query", n, move |t, _| {
        let e = Arc::clone(&e);
        async move {
            assert_eq!(e.query(format!("history#T#U{t}"), 10).await, 10);
        }
    })
    .await;
}

fn main() {
    let n: usize = std::env::var("STATE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        println!(
            "{TASKS} tasks at once, {n} operations each per phase, in {}",
            dir.path().display()
        );
        // SQLite was chosen over redb 5 with this bench; the redb side (the same writer-thread
        // design) is in commit 5ee0ea4 and its numbers in BENCHMARKS.md.
        for round in 0..2 {
            let sqlite = LocalState::open(dir.path().join(format!("s{round}.sqlite3"))).unwrap();
            run("sqlite", Arc::new(Sqlite(sqlite)), n).await;
        }
    });
}
