//! The local job queue: accepted jobs kept in SQLite (`jobs.sqlite3` in the data directory)
//! until they have run, so an ack means the job is on disk and a restart resumes it.
//!
//! One table, `jobs` (`seq`, `id`, `accepted_at`, `job`: the job's JSON), in its own file, WAL
//! journal, `synchronous = FULL`: a committed job survives a crash of the process and of the
//! machine. One thread owns the connection and does every read and write, so no SQLite call
//! ever blocks an async worker thread; it takes whatever requests have arrived since its last
//! commit and answers them all with one transaction (a group commit), so a burst of acks costs
//! one fsync per batch, not one per ack.
//!
//! The queue has a bound: a job is accepted only while fewer than `limit` jobs wait, so what
//! waits is bounded on disk, and nothing but the jobs being run is held in memory. Jobs are
//! handed out in the order they were accepted; a job leaves the table when it has run
//! ([`Queue::done`]). At start every job still in the table — waiting, or running when the
//! last process stopped — is handed out again, marked `resumed`.
//!
//! The queue is also the local replay guard for the jobs it takes ([`Queue::push_once`]): a
//! verified Slack request's [`Sight`] is written to `sights` in the same transaction as its
//! job, and a second push with that sight writes nothing. The writer keeps the live sights in
//! memory too (a map only it touches, loaded from the table at start), so a replay is told
//! without a read, and an ack pays one hand-off and one commit rather than one per database.
//! Sights are appended in time order (their index on `expires_at` grows at one end) and the
//! expired ones are forgotten at most every [`SWEEP_EVERY`]: what is remembered is what was
//! accepted within Slack's replay window, which the queue's limit and the slots bound.
//!
//! Checkpoints (copying the log back into the database file, and its fsync) run on a thread of
//! their own (`marquee_core::state::checkpoint`): SQLite's default runs them on the committing
//! thread, so one batch of acks in every ~1,000 pages waited for the copy.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{Notify, oneshot};

use marquee_core::job::Job;
use marquee_core::slack::verify::Sight;
use marquee_core::state::checkpoint::Checkpointer;

/// The most requests one transaction answers.
const MAX_BATCH: usize = 512;
/// How often expired sights are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("could not open the job queue {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("could not create the job queue's directory {path}")]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not start the job queue's thread")]
    Thread(#[source] std::io::Error),
    #[error("could not start the job queue's checkpoint thread")]
    Checkpointer(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the job queue's database failed")]
    Database(#[from] rusqlite::Error),
    #[error("could not encode the job")]
    Encode(#[from] serde_json::Error),
    #[error("the job queue could not commit: {0}")]
    Commit(String),
    #[error("the job queue has stopped")]
    Stopped,
}

/// What became of a job offered to the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// It is on disk, and will run.
    Queued,
    /// The queue is full: nothing was written.
    Full,
    /// A request with the same sight was queued before: nothing was written.
    Replayed,
}

/// A job handed out to run: its place in the table and its JSON, as accepted.
#[derive(Debug, Clone)]
pub(crate) struct Queued {
    pub(crate) seq: i64,
    pub(crate) job: String,
    /// Accepted before this process started: it may have been running when the last one
    /// stopped.
    pub(crate) resumed: bool,
}

/// How full the queue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Depth {
    /// Jobs accepted and not yet handed out.
    pub(crate) waiting: u64,
    /// Jobs handed out and not yet done.
    pub(crate) running: u64,
    /// When the oldest waiting job was accepted (Unix seconds).
    pub(crate) oldest_accepted_at: Option<i64>,
}

enum Op {
    Push {
        id: String,
        accepted_at: i64,
        job: String,
        /// The request's sight and until when it is remembered, for [`Queue::push_once`].
        sight: Option<([u8; 32], i64)>,
        reply: oneshot::Sender<Result<Pushed, QueueError>>,
    },
    Next {
        reply: oneshot::Sender<Result<Option<Queued>, QueueError>>,
    },
    Done {
        seq: i64,
        reply: oneshot::Sender<Result<(), QueueError>>,
    },
    Depth {
        reply: oneshot::Sender<Result<Depth, QueueError>>,
    },
}

/// The queue's handle: cheap to share; the thread stops when the last handle is dropped.
pub(crate) struct Queue {
    ops: mpsc::Sender<Op>,
    limit: u64,
    /// Woken when a job is queued.
    ready: Arc<Notify>,
    /// Jobs refused because the queue was full, since start.
    shed: AtomicU64,
}

impl Queue {
    /// Opens (or creates) the queue at `path`, accepting jobs while fewer than `limit` wait.
    pub(crate) fn open(path: &Path, limit: u64) -> Result<Self, QueueError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| QueueError::Directory {
                path: dir.to_owned(),
                source,
            })?;
        }
        let open = |source| QueueError::Open {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(open)?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            .map_err(open)?;
        conn.execute_batch(
            "PRAGMA synchronous = FULL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS jobs (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 id TEXT NOT NULL UNIQUE,
                 accepted_at INTEGER NOT NULL,
                 job TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS sights (
                 digest BLOB NOT NULL,
                 expires_at INTEGER NOT NULL
             );
             CREATE INDEX IF NOT EXISTS sights_by_expiry ON sights (expires_at);",
        )
        .map_err(open)?;
        let sights = live_sights(&conn, unix_now()).map_err(open)?;
        let (rows, last): (u64, i64) = conn
            .query_row(
                "SELECT count(*), coalesce(max(seq), 0) FROM jobs",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(open)?;
        let checkpointer = Checkpointer::start(&conn, path, "marquee-queue-checkpoint")
            .map_err(QueueError::Checkpointer)?;
        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            checkpointer,
            conn,
            limit,
            rows,
            taken: 0,
            cursor: 0,
            resumed_up_to: last,
            sights,
            swept: Instant::now(),
        };
        std::thread::Builder::new()
            .name("marquee-queue".into())
            .spawn(move || writer.serve(rx))
            .map_err(QueueError::Thread)?;
        if rows > 0 {
            tracing::info!(jobs = rows, "resuming jobs accepted before this start");
        }
        Ok(Self {
            ops: tx,
            limit,
            ready: Arc::new(Notify::new()),
            shed: AtomicU64::new(0),
        })
    }

    async fn ask<T>(
        &self,
        op: impl FnOnce(oneshot::Sender<Result<T, QueueError>>) -> Op,
    ) -> Result<T, QueueError> {
        let (reply, answer) = oneshot::channel();
        self.ops.send(op(reply)).map_err(|_| QueueError::Stopped)?;
        answer.await.map_err(|_| QueueError::Stopped)?
    }

    /// Writes `job` to disk unless the queue is full; returns once it is committed.
    pub(crate) async fn push(&self, job: &Job) -> Result<Pushed, QueueError> {
        self.offer(job, None).await
    }

    /// Writes `job` to disk unless the queue is full or a push with the same `sight` was
    /// committed before (and is remembered until `remember_until`, Unix seconds). The sight is
    /// committed with the job, so a replay is refused after a restart too.
    pub(crate) async fn push_once(
        &self,
        job: &Job,
        sight: &Sight,
        remember_until: i64,
    ) -> Result<Pushed, QueueError> {
        self.offer(job, Some((*sight.digest(), remember_until)))
            .await
    }

    async fn offer(&self, job: &Job, sight: Option<([u8; 32], i64)>) -> Result<Pushed, QueueError> {
        let json = serde_json::to_string(job)?;
        let limit = self.limit;
        let pushed = self
            .ask(|reply| Op::Push {
                id: job.id.to_string(),
                accepted_at: job.accepted_at,
                job: json,
                sight,
                reply,
            })
            .await?;
        match pushed {
            Pushed::Queued => self.ready.notify_one(),
            Pushed::Full => {
                self.shed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(limit, "the job queue is full; a job was refused");
            }
            Pushed::Replayed => {}
        }
        Ok(pushed)
    }

    /// The next waiting job, in the order they were accepted; `None` when none waits.
    pub(crate) async fn next(&self) -> Result<Option<Queued>, QueueError> {
        self.ask(|reply| Op::Next { reply }).await
    }

    /// Forgets job `seq`: it has run.
    pub(crate) async fn done(&self, seq: i64) -> Result<(), QueueError> {
        self.ask(|reply| Op::Done { seq, reply }).await
    }

    /// How many jobs wait and run, and the oldest waiting job's acceptance.
    pub(crate) async fn depth(&self) -> Result<Depth, QueueError> {
        self.ask(|reply| Op::Depth { reply }).await
    }

    /// Woken whenever a job is queued.
    pub(crate) fn ready(&self) -> &Notify {
        &self.ready
    }

    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// Jobs refused for a full queue since start.
    pub(crate) fn shed(&self) -> u64 {
        self.shed.load(Ordering::Relaxed)
    }
}

/// The thread that owns the connection.
struct Writer {
    conn: Connection,
    /// Told after each commit; its thread copies the log back (and stops when this is dropped).
    checkpointer: Checkpointer,
    /// How many jobs may wait.
    limit: u64,
    /// Rows in the table.
    rows: u64,
    /// Rows handed out and not yet done.
    taken: u64,
    /// The last `seq` handed out.
    cursor: i64,
    /// Rows up to this `seq` were in the table when it was opened.
    resumed_up_to: i64,
    /// The live sights (digest → expires at), as in the `sights` table.
    sights: HashMap<[u8; 32], i64>,
    /// When expired sights were last forgotten.
    swept: Instant,
}

/// An answer held until its transaction commits.
enum Reply {
    Push(oneshot::Sender<Result<Pushed, QueueError>>, Pushed),
    Next(
        oneshot::Sender<Result<Option<Queued>, QueueError>>,
        Option<Queued>,
    ),
    Done(oneshot::Sender<Result<(), QueueError>>),
    Depth(oneshot::Sender<Result<Depth, QueueError>>, Depth),
}

impl Reply {
    fn send(self) {
        // A requester that stopped waiting has nothing to be told.
        let _ = match self {
            Reply::Push(r, v) => r.send(Ok(v)).map_err(drop),
            Reply::Next(r, v) => r.send(Ok(v)).map_err(drop),
            Reply::Done(r) => r.send(Ok(())).map_err(drop),
            Reply::Depth(r, v) => r.send(Ok(v)).map_err(drop),
        };
    }

    fn fail(self, e: &rusqlite::Error) {
        let err = || QueueError::Commit(e.to_string());
        let _ = match self {
            Reply::Push(r, _) => r.send(Err(err())).map_err(drop),
            Reply::Next(r, _) => r.send(Err(err())).map_err(drop),
            Reply::Done(r) => r.send(Err(err())).map_err(drop),
            Reply::Depth(r, _) => r.send(Err(err())).map_err(drop),
        };
    }
}

impl Writer {
    fn serve(mut self, ops: mpsc::Receiver<Op>) {
        while let Ok(first) = ops.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match ops.try_recv() {
                    Ok(op) => batch.push(op),
                    Err(_) => break,
                }
            }
            let before = (self.rows, self.taken, self.cursor);
            let mut added = Vec::new();
            match self.apply(batch, &mut added) {
                Ok(replies) => {
                    replies.into_iter().for_each(Reply::send);
                    self.checkpointer.nudge();
                }
                Err((e, replies)) => {
                    (self.rows, self.taken, self.cursor) = before;
                    for digest in &added {
                        self.sights.remove(digest);
                    }
                    tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "the job queue could not commit");
                    replies.into_iter().for_each(|r| r.fail(&e));
                }
            }
            if self.swept.elapsed() >= SWEEP_EVERY {
                self.swept = Instant::now();
                self.forget_expired_sights(unix_now());
            }
        }
    }

    /// Forgets the sights expired at `now`, in memory and on disk. A failure leaves them to
    /// the next sweep: an expired sight refuses nothing.
    fn forget_expired_sights(&mut self, now: i64) {
        self.sights.retain(|_, expires_at| *expires_at > now);
        if let Err(e) = self
            .conn
            .prepare_cached("DELETE FROM sights WHERE expires_at <= ?1")
            .and_then(|mut stmt| stmt.execute(params![now]))
        {
            tracing::warn!(error = %marquee_core::errors::ErrorChain(&e), "could not delete expired sights from the job queue; trying again later");
        }
    }

    /// Runs `batch` in one transaction; on failure, the error and every reply to fail.
    /// The sights it remembers are pushed to `added`, for the caller to forget if the
    /// transaction fails.
    fn apply(
        &mut self,
        batch: Vec<Op>,
        added: &mut Vec<[u8; 32]>,
    ) -> Result<Vec<Reply>, (rusqlite::Error, Vec<Reply>)> {
        let now = unix_now();
        let mut replies = Vec::with_capacity(batch.len());
        let mut pending = Vec::new();
        let result = (|| {
            let tx = self.conn.transaction()?;
            for op in batch {
                let reply = match op {
                    Op::Push {
                        id,
                        accepted_at,
                        job,
                        sight,
                        reply,
                    } => {
                        let replayed = sight.is_some_and(|(digest, _)| {
                            self.sights.get(&digest).is_some_and(|until| *until > now)
                        });
                        if replayed {
                            Reply::Push(reply, Pushed::Replayed)
                        } else if self.rows - self.taken >= self.limit {
                            Reply::Push(reply, Pushed::Full)
                        } else {
                            tx.prepare_cached(
                                "INSERT INTO jobs (id, accepted_at, job) VALUES (?1, ?2, ?3)",
                            )?
                            .execute(params![id, accepted_at, job])?;
                            self.rows += 1;
                            if let Some((digest, until)) = sight {
                                tx.prepare_cached(
                                    "INSERT INTO sights (digest, expires_at) VALUES (?1, ?2)",
                                )?
                                .execute(params![&digest[..], until])?;
                                self.sights.insert(digest, until);
                                added.push(digest);
                            }
                            Reply::Push(reply, Pushed::Queued)
                        }
                    }
                    Op::Next { reply } => {
                        let next = tx
                            .prepare_cached(
                                "SELECT seq, job FROM jobs WHERE seq > ?1 ORDER BY seq LIMIT 1",
                            )?
                            .query_row(params![self.cursor], |r| {
                                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                            })
                            .optional()?;
                        let next = next.map(|(seq, job)| {
                            self.cursor = seq;
                            self.taken += 1;
                            Queued {
                                seq,
                                job,
                                resumed: seq <= self.resumed_up_to,
                            }
                        });
                        Reply::Next(reply, next)
                    }
                    Op::Done { seq, reply } => {
                        let gone = tx
                            .prepare_cached("DELETE FROM jobs WHERE seq = ?1")?
                            .execute(params![seq])?;
                        if gone > 0 {
                            self.rows -= 1;
                            self.taken = self.taken.saturating_sub(1);
                        }
                        Reply::Done(reply)
                    }
                    Op::Depth { reply } => {
                        let oldest = tx
                            .prepare_cached(
                                "SELECT accepted_at FROM jobs WHERE seq > ?1 ORDER BY seq LIMIT 1",
                            )?
                            .query_row(params![self.cursor], |r| r.get::<_, i64>(0))
                            .optional()?;
                        Reply::Depth(
                            reply,
                            Depth {
                                waiting: self.rows - self.taken,
                                running: self.taken,
                                oldest_accepted_at: oldest,
                            },
                        )
                    }
                };
                pending.push(reply);
            }
            tx.commit()
        })();
        replies.append(&mut pending);
        match result {
            Ok(()) => Ok(replies),
            Err(e) => Err((e, replies)),
        }
    }
}

/// The sights in the table still live at `now`.
fn live_sights(conn: &Connection, now: i64) -> rusqlite::Result<HashMap<[u8; 32], i64>> {
    let mut stmt = conn.prepare("SELECT digest, expires_at FROM sights WHERE expires_at > ?1")?;
    let rows = stmt.query_map(params![now], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut sights = HashMap::new();
    for row in rows {
        let (digest, expires_at) = row?;
        // Written by this program, 32 bytes each; anything else is no sight of ours.
        if let Ok(digest) = <[u8; 32]>::try_from(digest) {
            sights.insert(digest, expires_at);
        }
    }
    Ok(sights)
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use marquee_core::job::sample_job;

    fn job_at(accepted_at: i64) -> Job {
        let mut job = sample_job();
        job.accepted_at = accepted_at;
        job
    }

    #[tokio::test]
    async fn jobs_come_out_in_order_until_done_and_a_full_queue_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.sqlite3");
        let queue = Queue::open(&path, 2).unwrap();
        let (a, b, c) = (job_at(100), job_at(101), job_at(102));
        assert_eq!(queue.push(&a).await.unwrap(), Pushed::Queued);
        assert_eq!(queue.push(&b).await.unwrap(), Pushed::Queued);
        // Two wait: the third is refused, and not written.
        assert_eq!(queue.push(&c).await.unwrap(), Pushed::Full);
        assert_eq!(queue.shed(), 1);
        let depth = queue.depth().await.unwrap();
        assert_eq!(
            (depth.waiting, depth.running, depth.oldest_accepted_at),
            (2, 0, Some(100))
        );

        let first = queue.next().await.unwrap().unwrap();
        let read: Job = serde_json::from_str(&first.job).unwrap();
        assert_eq!((read.id, first.resumed), (a.id, false));
        // One runs, one waits: there is room for one more.
        let depth = queue.depth().await.unwrap();
        assert_eq!(
            (depth.waiting, depth.running, depth.oldest_accepted_at),
            (1, 1, Some(101))
        );
        assert_eq!(queue.push(&c).await.unwrap(), Pushed::Queued);
        let second = queue.next().await.unwrap().unwrap();
        let third = queue.next().await.unwrap().unwrap();
        assert_eq!(queue.next().await.unwrap().map(|q| q.seq), None);
        let ids: Vec<_> = [&second, &third]
            .iter()
            .map(|q| serde_json::from_str::<Job>(&q.job).unwrap().id)
            .collect();
        assert_eq!(ids, [b.id, c.id]);
        for q in [first, second, third] {
            queue.done(q.seq).await.unwrap();
        }
        let depth = queue.depth().await.unwrap();
        assert_eq!((depth.waiting, depth.running), (0, 0));
    }

    /// What was accepted is on disk: a new process (a new `Queue` on the same file) hands out
    /// every job not done — waiting or running when the last one stopped — marked resumed, in
    /// the order they were accepted, before anything accepted since.
    #[tokio::test]
    async fn a_reopened_queue_resumes_every_job_not_done_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/jobs.sqlite3");
        let jobs: Vec<Job> = (0..4).map(|i| job_at(100 + i)).collect();
        {
            let queue = Queue::open(&path, 10).unwrap();
            for job in &jobs {
                queue.push(job).await.unwrap();
            }
            let done = queue.next().await.unwrap().unwrap();
            queue.done(done.seq).await.unwrap();
            // Running when the process stops: handed out, never done.
            queue.next().await.unwrap().unwrap();
        }
        let queue = Queue::open(&path, 10).unwrap();
        let later = job_at(200);
        queue.push(&later).await.unwrap();
        let mut out = Vec::new();
        while let Some(q) = queue.next().await.unwrap() {
            out.push((serde_json::from_str::<Job>(&q.job).unwrap().id, q.resumed));
        }
        assert_eq!(
            out,
            [
                (jobs[1].id, true),
                (jobs[2].id, true),
                (jobs[3].id, true),
                (later.id, false)
            ]
        );
    }

    /// Many pushes at once are answered from few transactions, and each is committed before
    /// it is answered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_pushes_are_each_committed_before_they_are_answered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.sqlite3");
        let queue = Arc::new(Queue::open(&path, 1000).unwrap());
        let mut pushes = tokio::task::JoinSet::new();
        for i in 0..200 {
            let queue = Arc::clone(&queue);
            pushes.spawn(async move { queue.push(&job_at(i)).await.unwrap() });
        }
        let answers = pushes.join_all().await;
        assert!(answers.iter().all(|p| *p == Pushed::Queued));
        // Read by another connection, as the next process would.
        let rows: i64 = Connection::open(&path)
            .unwrap()
            .query_row("SELECT count(*) FROM jobs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 200);
    }
    fn sight(n: u8) -> Sight {
        Sight::of(&format!("v0={n:064x}"))
    }

    /// A replayed request queues nothing, in the same process and after a restart; a request
    /// refused for a full queue is not remembered (it started nothing, so it may start once);
    /// an expired sight refuses nothing.
    #[tokio::test]
    async fn a_sight_queues_its_job_once_and_is_remembered_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.sqlite3");
        let until = unix_now() + 900;
        {
            let queue = Queue::open(&path, 2).unwrap();
            let first = queue.push_once(&job_at(1), &sight(1), until).await;
            assert_eq!(first.unwrap(), Pushed::Queued);
            let again = queue.push_once(&job_at(2), &sight(1), until).await;
            assert_eq!(again.unwrap(), Pushed::Replayed);
            let other = queue.push_once(&job_at(3), &sight(2), until).await;
            assert_eq!(other.unwrap(), Pushed::Queued);
            let full = queue.push_once(&job_at(4), &sight(3), until).await;
            assert_eq!(full.unwrap(), Pushed::Full);
            assert_eq!(queue.depth().await.unwrap().waiting, 2);
        }
        let queue = Queue::open(&path, 10).unwrap();
        let replay = queue.push_once(&job_at(6), &sight(2), until).await;
        assert_eq!(replay.unwrap(), Pushed::Replayed, "forgotten at restart");
        let shed_before = queue.push_once(&job_at(7), &sight(3), until).await;
        assert_eq!(shed_before.unwrap(), Pushed::Queued);
        // A sight remembered until a moment ago refuses nothing.
        for n in [8, 9] {
            let stale = queue.push_once(&job_at(n), &sight(4), unix_now() - 1).await;
            assert_eq!(stale.unwrap(), Pushed::Queued);
        }
        // Concurrent copies of one request: exactly one is queued.
        let queue = Arc::new(queue);
        let mut copies = tokio::task::JoinSet::new();
        for i in 0..20 {
            let queue = Arc::clone(&queue);
            copies.spawn(async move { queue.push_once(&job_at(100 + i), &sight(9), until).await });
        }
        let answers: Vec<Pushed> = copies
            .join_all()
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(answers.iter().filter(|p| **p == Pushed::Queued).count(), 1);
        assert_eq!(queue.depth().await.unwrap().waiting, 6);
    }

    /// Commits reach the database file itself (not only its log) soon after, by the
    /// checkpoint thread: SQLite's own checkpoint would wait for 16,000 pages of log, on the
    /// writer. Read as the file alone, without its log.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpoint_thread_copies_commits_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.sqlite3");
        let queue = Queue::open(&path, 1000).unwrap();
        for i in 0..200 {
            queue.push(&job_at(i)).await.unwrap();
        }
        let alone = dir.path().join("alone.sqlite3");
        let mut rows = 0;
        for _ in 0..50 {
            tokio::time::sleep(marquee_core::state::checkpoint::CHECKPOINT_EVERY).await;
            std::fs::copy(&path, &alone).unwrap();
            rows = Connection::open(&alone)
                .unwrap()
                .query_row("SELECT count(*) FROM jobs", [], |r| r.get::<_, i64>(0))
                .unwrap_or(0);
            if rows == 200 {
                break;
            }
        }
        assert_eq!(rows, 200, "the log was not copied back");
    }

    /// Expired sights leave memory and the file; live ones stay in both.
    #[test]
    fn expired_sights_are_forgotten_in_memory_and_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.sqlite3");
        drop(Queue::open(&path, 10).unwrap());
        let conn = Connection::open(&path).unwrap();
        for (n, expires_at) in [(1u8, 100), (2, 200), (3, 300)] {
            conn.execute(
                "INSERT INTO sights (digest, expires_at) VALUES (?1, ?2)",
                params![&sight(n).digest()[..], expires_at],
            )
            .unwrap();
        }
        let mut writer = Writer {
            checkpointer: Checkpointer::idle(),
            sights: live_sights(&conn, 0).unwrap(),
            conn,
            limit: 10,
            rows: 0,
            taken: 0,
            cursor: 0,
            resumed_up_to: 0,
            swept: Instant::now(),
        };
        assert_eq!(writer.sights.len(), 3);
        writer.forget_expired_sights(200);
        assert_eq!(
            writer.sights.keys().collect::<Vec<_>>(),
            [sight(3).digest()]
        );
        let on_disk: i64 = writer
            .conn
            .query_row("SELECT count(*) FROM sights", [], |r| r.get(0))
            .unwrap();
        assert_eq!(on_disk, 1);
    }
}
