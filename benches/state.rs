//! The local state store's engine, chosen by measurement: SQLite (the product's
//! `state::local::LocalState`: WAL, `synchronous=NORMAL`, cached statements, one writer thread
//! committing what has queued as one transaction) against redb 5 built the same way (one writer
//! thread, group commit; reads in read transactions of their own on the blocking pool, as redb
//! allows), each with the operations the state store makes: `claim` (the ack path's replay
//! guard), `put` (records), `add` (a counter), `query` (the ten latest of a partition).
//!
//! Run: `TMPDIR=/dev/shm cargo bench --bench state` (or on the disk the data directory is on).
//! 50 tasks at once on a 2-thread runtime, `STATE_BENCH_N` operations each per phase (default
//! 400); each phase reports throughput and per-operation latency. Plain `Instant`, no framework.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use marquee::state::local::LocalState;
use marquee::state::{Added, Claim, Claimant, Key, StateStore};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

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
            .add(&Key::new(pk, "day"), 1, None, Some(now + 86_400), now)
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

/// Keys are `pk \0 sk`, so one partition is one contiguous range, sorted by sort key.
const ITEMS: TableDefinition<&str, &[u8]> = TableDefinition::new("items");

/// An item as redb keeps it: count, expiry (0: none), claimant length, claimant, value.
fn encode(value: &str, count: i64, expires_at: i64, claimant: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(20 + claimant.len() + value.len());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&expires_at.to_le_bytes());
    out.extend_from_slice(&u32::try_from(claimant.len()).unwrap().to_le_bytes());
    out.extend_from_slice(claimant.as_bytes());
    out.extend_from_slice(value.as_bytes());
    out
}

fn decode(bytes: &[u8]) -> (i64, i64, &[u8]) {
    let count = i64::from_le_bytes(bytes[0..8].try_into().unwrap());
    let expires = i64::from_le_bytes(bytes[8..16].try_into().unwrap());
    let len = u32::from_le_bytes(bytes[16..20].try_into().unwrap()) as usize;
    (count, expires, &bytes[20..20 + len])
}

type RedbTask = Box<dyn FnOnce(&redb::WriteTransaction) -> Box<dyn FnOnce(bool) + Send> + Send>;

struct Redb {
    db: Arc<Database>,
    tasks: mpsc::Sender<RedbTask>,
}

impl Redb {
    fn open(path: &std::path::Path) -> Self {
        let db = Arc::new(Database::create(path).unwrap());
        let (tasks, queue) = mpsc::channel::<RedbTask>();
        let writer = Arc::clone(&db);
        std::thread::spawn(move || {
            while let Ok(first) = queue.recv() {
                let mut batch = vec![first];
                while batch.len() < 256 {
                    match queue.try_recv() {
                        Ok(t) => batch.push(t),
                        Err(_) => break,
                    }
                }
                let mut txn = writer.begin_write().unwrap();
                txn.set_durability(Durability::Immediate).unwrap();
                let answers: Vec<_> = batch.into_iter().map(|t| t(&txn)).collect();
                let ok = txn.commit().is_ok();
                for answer in answers {
                    answer(ok);
                }
            }
        });
        Redb { db, tasks }
    }

    async fn write<T: Send + 'static>(
        &self,
        op: impl FnOnce(&redb::WriteTransaction) -> T + Send + 'static,
    ) -> T {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.tasks
            .send(Box::new(move |txn| {
                let out = op(txn);
                Box::new(move |ok| {
                    assert!(ok, "commit");
                    let _ = reply.send(out);
                })
            }))
            .unwrap();
        answer.await.unwrap()
    }
}

#[async_trait]
impl Engine for Redb {
    async fn claim(&self, pk: String, now: i64) -> bool {
        let claimant = Claimant::new();
        self.write(move |txn| {
            let mut table = txn.open_table(ITEMS).unwrap();
            let key = format!("{pk}\0seen");
            let token = format!("{claimant:?}");
            let held = table.get(key.as_str()).unwrap().is_some_and(|v| {
                let (_, expires, c) = decode(v.value());
                (expires == 0 || expires > now) && c != token.as_bytes()
            });
            if held {
                return false;
            }
            table
                .insert(key.as_str(), encode("", 0, now + 900, &token).as_slice())
                .unwrap();
            true
        })
        .await
    }
    async fn put(&self, pk: String, sk: String, value: String) {
        self.write(move |txn| {
            let mut table = txn.open_table(ITEMS).unwrap();
            let key = format!("{pk}\0{sk}");
            table
                .insert(key.as_str(), encode(&value, 0, 0, "").as_slice())
                .unwrap();
        })
        .await;
    }
    async fn add(&self, pk: String, now: i64) -> i64 {
        self.write(move |txn| {
            let mut table = txn.open_table(ITEMS).unwrap();
            let key = format!("{pk}\0day");
            let count = table
                .get(key.as_str())
                .unwrap()
                .map(|v| {
                    let (count, expires, _) = decode(v.value());
                    (count, expires)
                })
                .filter(|(_, e)| *e == 0 || *e > now)
                .map_or(0, |(c, _)| c);
            table
                .insert(
                    key.as_str(),
                    encode("", count + 1, now + 86_400, "").as_slice(),
                )
                .unwrap();
            count + 1
        })
        .await
    }
    async fn query(&self, pk: String, limit: usize) -> usize {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read().unwrap();
            let table = txn.open_table(ITEMS).unwrap();
            let (from, to) = (format!("{pk}\0"), format!("{pk}\u{1}"));
            table
                .range(from.as_str()..to.as_str())
                .unwrap()
                .rev()
                .take(limit)
                // Each value read, as the store reads every item it returns.
                .filter(|r| !r.as_ref().unwrap().1.value().is_empty())
                .count()
        })
        .await
        .unwrap()
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
        // Twice each, alternating, so neither has the machine to itself.
        for round in 0..2 {
            let sqlite = LocalState::open(dir.path().join(format!("s{round}.sqlite3"))).unwrap();
            run("sqlite", Arc::new(Sqlite(sqlite)), n).await;
            let redb = Redb::open(&dir.path().join(format!("r{round}.redb")));
            run("redb", Arc::new(redb), n).await;
        }
    });
}
