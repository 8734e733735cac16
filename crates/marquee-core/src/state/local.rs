//! State in an embedded SQLite database: the default for one process on one machine
//! (`marquee serve`, `marquee demo`), in one file, `state.sqlite3` in the data directory.
//!
//! One table, `items (pk, sk, value, count, expires_at, claimant)`, keyed as the DynamoDB
//! table is, so every [`StateStore`] operation is one or two statements on one row. SQLite was
//! chosen over redb by measurement (BENCHMARKS.md, "The local state store"). Settings:
//! write-ahead log (readers never wait for the writer) with `synchronous=NORMAL` (a commit is
//! durable once the log is checkpointed; a power cut may lose the last moments of commits but
//! never corrupts the file), and statements prepared once and cached.
//!
//! One thread owns the connection (SQLite allows one writer at a time anyway) and runs every
//! operation, so none blocks an async thread. Operations queue on a channel; the thread takes
//! what has queued (up to [`BATCH`]) and runs it in one transaction, then answers each caller
//! after the commit: under a burst of acks, many claims share one commit, and each one is still
//! atomic, since only this thread writes. An operation is answered only once its transaction
//! committed, so a claim reported won is on disk.
//!
//! Checkpoints (copying the log back into the file) run on a thread of their own
//! ([`super::checkpoint`]), not on the writer between two batches.
//!
//! Expired items are deleted: between batches, at most every [`SWEEP_EVERY`], the thread
//! deletes at most [`SWEEP_BATCH`] expired items (again at once while it finds a full batch),
//! so the file holds what is live plus one sweep interval's expiries however long the server
//! runs, and no sweep holds the writer for long. Every read still treats an expired item as
//! absent, as DynamoDB's lazy TTL requires of the other store.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::checkpoint::Checkpointer;
use super::{Added, Claim, Claimant, Item, Key, StateError, StateStore};

/// The most operations one transaction carries.
const BATCH: usize = 256;
/// How often the writer looks for expired items when the last sweep found few.
pub(crate) const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// The most expired items one sweep deletes.
pub(crate) const SWEEP_BATCH: usize = 1_000;
/// How long an operation waits for another connection's write to the same file (the job
/// queue's, say) before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema's version, in SQLite's `user_version`.
const SCHEMA_VERSION: i64 = 2;
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    value TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER,
    claimant TEXT,
    adder TEXT,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_by_expiry ON items (expires_at) WHERE expires_at IS NOT NULL;
";

/// Version 1 had no `adder` (the token of a counter's last add).
const MIGRATE_1_TO_2: &str = "ALTER TABLE items ADD COLUMN adder TEXT";
const SELECT: &str =
    "SELECT value, count, expires_at, claimant, adder FROM items WHERE pk = ?1 AND sk = ?2";
/// Writes unless a live item of another claimant is there.
const CLAIM: &str = "
INSERT INTO items (pk, sk, value, count, expires_at, claimant) VALUES (?1, ?2, ?3, 0, ?4, ?5)
ON CONFLICT (pk, sk) DO UPDATE SET
    value = excluded.value, count = 0, expires_at = excluded.expires_at,
    claimant = excluded.claimant
WHERE items.expires_at <= ?6 OR items.claimant = ?5";
const PUT: &str = "
INSERT OR REPLACE INTO items (pk, sk, value, count, expires_at, claimant)
VALUES (?1, ?2, ?3, 0, ?4, NULL)";
const SET_COUNT: &str = "
INSERT OR REPLACE INTO items (pk, sk, value, count, expires_at, claimant, adder)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const DELETE: &str = "DELETE FROM items WHERE pk = ?1 AND sk = ?2";
const DELETE_IF: &str = "DELETE FROM items WHERE pk = ?1 AND sk = ?2 AND value = ?3";
const QUERY: &str = "
SELECT sk, value, count, expires_at, claimant, adder FROM items
WHERE pk = ?1 AND (expires_at IS NULL OR expires_at > ?2)
ORDER BY sk DESC LIMIT ?3";
const IMPORT: &str = "
INSERT OR IGNORE INTO items (pk, sk, value, count, expires_at, claimant)
VALUES (?1, ?2, ?3, ?4, ?5, NULL)";
const SWEEP: &str = "
DELETE FROM items WHERE (pk, sk) IN (
    SELECT pk, sk FROM items WHERE expires_at <= ?1 LIMIT ?2
)";

/// How the writer sweeps expired items.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sweep {
    /// How often, when the last sweep found fewer than `batch`.
    pub(crate) every: Duration,
    /// The most items one sweep deletes.
    pub(crate) batch: usize,
}

impl Default for Sweep {
    fn default() -> Self {
        Sweep {
            every: SWEEP_EVERY,
            batch: SWEEP_BATCH,
        }
    }
}

/// Whether a transaction committed; the error's words when it did not.
type Committed = Result<(), String>;
/// What an operation leaves to do once its transaction ends: answer its caller.
type Answer = Box<dyn FnOnce(&Committed) + Send>;
/// One operation, run on the writer's connection inside a transaction (`None`: none could
/// begin, and the operation does not run).
type Task = Box<dyn FnOnce(Option<&Connection>) -> Answer + Send>;

#[derive(Debug)]
pub struct LocalState {
    tasks: mpsc::Sender<Task>,
}

impl LocalState {
    /// Opens (creating if needed) the database at `path`, with the default sweep.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, StateError> {
        Self::open_with(path, Sweep::default())
    }

    /// Opens the database at `path`, sweeping expired items as `sweep` says.
    pub(crate) fn open_with(path: impl Into<PathBuf>, sweep: Sweep) -> Result<Self, StateError> {
        let path = path.into();
        let key = Key::new(path.display().to_string(), "");
        let failed = |e: rusqlite::Error| StateError::backend("open", &key, e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StateError::backend("open", &key, e))?;
        }
        let conn = Connection::open(&path).map_err(failed)?;
        configure(&conn).map_err(|e| StateError::backend("open", &key, e))?;
        let checkpointer = Checkpointer::start(&conn, &path, "marquee-state-checkpoint")
            .map_err(|e| StateError::backend("open", &key, e))?;
        let (tasks, queue) = mpsc::channel::<Task>();
        std::thread::Builder::new()
            .name("marquee-state".into())
            .spawn(move || writer(conn, queue, sweep, &checkpointer))
            .map_err(|e| StateError::backend("open", &key, e))?;
        Ok(LocalState { tasks })
    }

    /// Deletes up to `max` items expired at `now`; how many it deleted. The writer does this
    /// on its own with the clock; this is the same sweep at a chosen moment.
    #[cfg(test)]
    pub(crate) async fn sweep(&self, now: i64, max: usize) -> Result<usize, StateError> {
        self.run("sweep", &Key::new("*", ""), move |conn| {
            sweep(conn, now, max)
        })
        .await
    }

    /// Imports the state an earlier Marquee kept as one JSON file per item under `dir`
    /// (`<dir>/<partition>/<sort key>.json`, names percent-encoded), then renames `dir` to
    /// `<dir>.imported` so it is read once; an admin may delete it afterwards. Only items live
    /// at `now` are imported, and an item already in the database is kept. How many it
    /// imported; a directory that is not there imports nothing.
    pub async fn import_files(&self, dir: &Path, now: i64) -> Result<usize, StateError> {
        let key = Key::new(dir.display().to_string(), "");
        let owned = dir.to_owned();
        let items = tokio::task::spawn_blocking(move || legacy::read(&owned, now))
            .await
            .map_err(|e| StateError::backend("import", &key, e))?
            .map_err(|e| StateError::backend("import", &key, e))?;
        let Some(items) = items else {
            return Ok(0);
        };
        let imported = self
            .run("import", &key, move |conn| {
                let mut stmt = conn.prepare_cached(IMPORT)?;
                let mut n = 0;
                for item in items {
                    n += stmt.execute(params![
                        item.key.pk,
                        item.key.sk,
                        item.value,
                        item.count,
                        item.expires_at
                    ])?;
                }
                Ok(n)
            })
            .await?;
        let mut done = dir.as_os_str().to_owned();
        done.push(".imported");
        std::fs::rename(dir, &done).map_err(|e| StateError::backend("import", &key, e))?;
        Ok(imported)
    }

    /// Runs `op` on the writer's connection, inside its next transaction, and answers once
    /// that transaction committed.
    async fn run<T: Send + 'static>(
        &self,
        name: &'static str,
        key: &Key,
        op: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StateError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let task: Task = Box::new(move |conn| {
            let result = conn.map(op);
            Box::new(move |committed: &Committed| {
                let outcome = match (result, committed) {
                    (Some(Ok(value)), Ok(())) => Ok(value),
                    (Some(Err(e)), _) => {
                        Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
                    }
                    (_, Err(why)) => Err(format!("the transaction did not commit: {why}").into()),
                    (None, Ok(())) => Err("the operation did not run".into()),
                };
                let _ = reply.send(outcome);
            })
        });
        self.tasks
            .send(task)
            .map_err(|_| StateError::backend(name, key, "the state database's writer stopped"))?;
        match answer.await {
            Ok(outcome) => outcome.map_err(|source| StateError::Backend {
                op: name,
                pk: key.pk.clone(),
                source,
            }),
            Err(_) => Err(StateError::backend(
                name,
                key,
                "the state database's writer stopped",
            )),
        }
    }
}

/// The connection's settings and the schema.
fn configure(conn: &Connection) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // `journal_mode` answers with the mode it set.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!(
            "the state database cannot use a write-ahead log (journal mode {mode})"
        )
        .into());
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Keep the log file itself small once checkpointed (64 MiB).
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    conn.set_prepared_statement_cache_capacity(32);
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(format!(
            "the state database was written by a newer Marquee (schema {version}, this one knows {SCHEMA_VERSION})"
        )
        .into());
    }
    if version == 1 {
        conn.execute_batch(MIGRATE_1_TO_2)?;
    }
    conn.execute_batch(SCHEMA)?;
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(())
}

/// The writer thread: batches of operations, each batch one transaction, and a bounded sweep
/// between batches when one is due. Ends when the store is dropped.
fn writer(
    conn: Connection,
    queue: mpsc::Receiver<Task>,
    sweep_every: Sweep,
    checkpointer: &Checkpointer,
) {
    let mut next_sweep = Instant::now() + sweep_every.every;
    loop {
        let wait = next_sweep.saturating_duration_since(Instant::now());
        let first = match queue.recv_timeout(wait) {
            Ok(task) => Some(task),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        if Instant::now() >= next_sweep {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let deleted = in_transaction(&conn, |conn| sweep(conn, now, sweep_every.batch));
            next_sweep = match deleted {
                // More are waiting: sweep again after the next batch of operations.
                Ok(n) if n >= sweep_every.batch => Instant::now(),
                Ok(_) => Instant::now() + sweep_every.every,
                Err(e) => {
                    tracing::warn!(error = %crate::errors::ErrorChain(&e), "could not delete expired state items; will try again");
                    Instant::now() + sweep_every.every
                }
            };
        }
        let Some(first) = first else { continue };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(task) => batch.push(task),
                Err(_) => break,
            }
        }
        run_batch(&conn, batch);
        checkpointer.nudge();
    }
}

/// Runs `batch` in one transaction and answers each task after the commit. A task whose error
/// ended the transaction (SQLite rolls back on a full disk or an I/O error) fails with every
/// task before it in that transaction; the rest run in a new one. A task that finds no
/// transaction can begin fails without running.
fn run_batch(conn: &Connection, batch: Vec<Task>) {
    let mut pending: Vec<Answer> = Vec::with_capacity(batch.len());
    let mut open = false;
    for task in batch {
        if !open {
            if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
                task(None)(&Err(format!("could not begin a transaction: {e}")));
                continue;
            }
            open = true;
        }
        pending.push(task(Some(conn)));
        if conn.is_autocommit() {
            let failed: Committed = Err("rolled back by an error in the same transaction".into());
            for answer in pending.drain(..) {
                answer(&failed);
            }
            open = false;
        }
    }
    if !open {
        return;
    }
    let committed: Committed = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
    if committed.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for answer in pending {
        answer(&committed);
    }
}

/// Runs `op` in a transaction of its own.
fn in_transaction<T>(
    conn: &Connection,
    op: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match op(conn) {
        Ok(value) => {
            conn.execute_batch("COMMIT")?;
            Ok(value)
        }
        Err(e) => {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            Err(e)
        }
    }
}

fn sweep(conn: &Connection, now: i64, max: usize) -> rusqlite::Result<usize> {
    conn.prepare_cached(SWEEP)?
        .execute(params![now, i64::try_from(max).unwrap_or(i64::MAX)])
}

fn select(conn: &Connection, key: &Key) -> rusqlite::Result<Option<Item>> {
    conn.prepare_cached(SELECT)?
        .query_row(params![key.pk, key.sk], |r| {
            Ok(Item {
                key: key.clone(),
                value: r.get(0)?,
                count: r.get(1)?,
                expires_at: r.get(2)?,
                claimant: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                adder: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            })
        })
        .optional()
}

/// The JSON-file layout of earlier versions, read once to import it.
mod legacy {
    use std::path::Path;

    use serde::Deserialize;

    use super::{Item, Key};

    /// An item as those versions kept it.
    #[derive(Deserialize)]
    struct Stored {
        #[serde(default)]
        value: String,
        #[serde(default)]
        count: i64,
        #[serde(default)]
        expires_at: Option<i64>,
    }

    /// Every item live at `now` under `dir`; `None` when there is no such directory. Files that
    /// are not items (a `.tmp` left by a crash, a name that does not decode, a body that does not
    /// parse) are skipped: they were never state anyone could read.
    pub(super) fn read(dir: &Path, now: i64) -> std::io::Result<Option<Vec<Item>>> {
        let partitions = match std::fs::read_dir(dir) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut items = Vec::new();
        for partition in partitions {
            let partition = partition?;
            let Some(pk) = partition.file_name().to_str().and_then(decode) else {
                continue;
            };
            if !partition.file_type()?.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(partition.path())? {
                let file = file?;
                let name = file.file_name();
                let Some(sk) = name
                    .to_str()
                    .and_then(|n| n.strip_suffix(".json"))
                    .and_then(decode)
                else {
                    continue;
                };
                let Ok(stored) = serde_json::from_slice::<Stored>(&std::fs::read(file.path())?)
                else {
                    continue;
                };
                let item = Item {
                    key: Key::new(pk.clone(), sk),
                    value: stored.value,
                    claimant: String::new(),
                    adder: String::new(),
                    count: stored.count,
                    expires_at: stored.expires_at,
                };
                if item.is_live(now) {
                    items.push(item);
                }
            }
        }
        Ok(Some(items))
    }

    /// A name of those files back to its key: `%XX` is the byte XX, anything else itself.
    fn decode(s: &str) -> Option<String> {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).ok()
    }
}

#[async_trait]
impl StateStore for LocalState {
    async fn claim(
        &self,
        key: &Key,
        value: String,
        claimant: &Claimant,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<Claim, StateError> {
        let (k, claimant) = (key.clone(), claimant.as_str().to_owned());
        self.run("claim", key, move |conn| {
            let written = conn
                .prepare_cached(CLAIM)?
                .execute(params![k.pk, k.sk, value, expires_at, claimant, now])?;
            if written == 1 {
                return Ok(Claim::Won);
            }
            match select(conn, &k)? {
                Some(item) => Ok(Claim::Held(item)),
                None => Err(rusqlite::Error::QueryReturnedNoRows),
            }
        })
        .await
    }

    async fn put(
        &self,
        key: &Key,
        value: String,
        expires_at: Option<i64>,
    ) -> Result<(), StateError> {
        let k = key.clone();
        self.run("put", key, move |conn| {
            conn.prepare_cached(PUT)?
                .execute(params![k.pk, k.sk, value, expires_at])
                .map(drop)
        })
        .await
    }

    async fn get(&self, key: &Key, now: i64) -> Result<Option<Item>, StateError> {
        let k = key.clone();
        let item = self.run("get", key, move |conn| select(conn, &k)).await?;
        Ok(item.filter(|i| i.is_live(now)))
    }

    async fn delete(&self, key: &Key, only_if: Option<&str>) -> Result<bool, StateError> {
        let (k, only_if) = (key.clone(), only_if.map(str::to_owned));
        self.run("delete", key, move |conn| match only_if {
            None => conn
                .prepare_cached(DELETE)?
                .execute(params![k.pk, k.sk])
                .map(|_| true),
            Some(v) => conn
                .prepare_cached(DELETE_IF)?
                .execute(params![k.pk, k.sk, v])
                .map(|n| n == 1),
        })
        .await
    }

    async fn add(
        &self,
        key: &Key,
        amount: i64,
        limit: Option<i64>,
        adder: &Claimant,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<Added, StateError> {
        let (k, adder) = (key.clone(), adder.as_str().to_owned());
        self.run("add", key, move |conn| {
            let current = select(conn, &k)?.filter(|i| i.is_live(now));
            if let Some(item) = &current
                && item.adder == adder
            {
                // This add already landed (its caller is trying it again).
                return Ok(Added::To(item.count));
            }
            let (value, count, old_expiry, claimant) = match current {
                Some(item) => (item.value, item.count, item.expires_at, item.claimant),
                None => (String::new(), 0, None, String::new()),
            };
            let total = count.saturating_add(amount);
            if amount > 0 && limit.is_some_and(|l| total > l) {
                return Ok(Added::Refused(count));
            }
            let claimant = (!claimant.is_empty()).then_some(claimant);
            conn.prepare_cached(SET_COUNT)?.execute(params![
                k.pk,
                k.sk,
                value,
                total,
                expires_at.or(old_expiry),
                claimant,
                adder
            ])?;
            Ok(Added::To(total))
        })
        .await
    }

    async fn query_latest(
        &self,
        pk: &str,
        limit: usize,
        now: i64,
    ) -> Result<Vec<Item>, StateError> {
        let owned = pk.to_owned();
        self.run("query", &Key::new(pk, ""), move |conn| {
            let mut stmt = conn.prepare_cached(QUERY)?;
            let rows = stmt.query_map(
                params![owned, now, i64::try_from(limit).unwrap_or(i64::MAX)],
                |r| {
                    Ok(Item {
                        key: Key::new(owned.clone(), r.get::<_, String>(0)?),
                        value: r.get(1)?,
                        count: r.get(2)?,
                        expires_at: r.get(3)?,
                        claimant: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                        adder: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                    })
                },
            )?;
            rows.collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn rows(path: &Path) -> i64 {
        // A connection of its own, as an admin's `sqlite3` would read the file.
        let conn = Connection::open(path).unwrap();
        conn.query_row("SELECT count(*) FROM items", [], |r| r.get(0))
            .unwrap()
    }

    #[tokio::test]
    async fn the_local_store_keeps_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(LocalState::open(dir.path().join("state.sqlite3")).unwrap());
        crate::state::contract::all(store).await;
    }

    #[tokio::test]
    async fn state_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite3");
        let key = Key::new("poster#1", "approval");
        {
            let store = LocalState::open(&path).unwrap();
            store
                .claim(&key, "U1".into(), &Claimant::new(), None, 0)
                .await
                .unwrap();
        }
        let store = LocalState::open(&path).unwrap();
        assert!(matches!(
            store.claim(&key, "U2".into(), &Claimant::new(), None, 0).await.unwrap(),
            Claim::Held(i) if i.value == "U1"
        ));
    }

    /// Commits reach the database file itself, not only its log, soon after, through the
    /// checkpoint thread (the writer's own checkpoint waits for 16,000 pages). Read as the file
    /// alone, without its log.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpoint_thread_copies_commits_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite3");
        let store = LocalState::open(&path).unwrap();
        for i in 0..200 {
            let key = Key::new(format!("request#{i}"), "seen");
            store
                .put(&key, String::new(), Some(i64::MAX))
                .await
                .unwrap();
        }
        let alone = dir.path().join("alone.sqlite3");
        let mut n = 0;
        for _ in 0..50 {
            tokio::time::sleep(super::super::checkpoint::CHECKPOINT_EVERY).await;
            std::fs::copy(&path, &alone).unwrap();
            n = Connection::open(&alone)
                .unwrap()
                .query_row("SELECT count(*) FROM items", [], |r| r.get::<_, i64>(0))
                .unwrap_or(0);
            if n == 200 {
                break;
            }
        }
        assert_eq!(n, 200, "the log was not copied back");
    }

    /// A database written by the first schema (no `adder` column) opens, keeps its items, and
    /// its counters then take tokens like any other.
    #[tokio::test]
    async fn a_first_schema_database_is_migrated_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite3");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE items (pk TEXT NOT NULL, sk TEXT NOT NULL, value TEXT NOT NULL,
                     count INTEGER NOT NULL DEFAULT 0, expires_at INTEGER, claimant TEXT,
                     PRIMARY KEY (pk, sk)) WITHOUT ROWID;
                 INSERT INTO items VALUES ('quota#user#T#U', '2026-12-06', '', 2, NULL, NULL);
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let store = LocalState::open(&path).unwrap();
        let key = Key::new("quota#user#T#U", "2026-12-06");
        let ours = Claimant::new();
        for _ in 0..2 {
            assert_eq!(
                store.add(&key, 1, Some(5), &ours, None, 0).await.unwrap(),
                Added::To(3)
            );
        }
    }

    /// A server left running for days: every day's replay guards, run markers and locks
    /// expire, and the sweep takes them out of the file, so the database holds what is live and
    /// not every item ever written. Time is the sweep's `now`.
    #[tokio::test]
    async fn expired_items_leave_the_database_and_it_stays_bounded_over_days() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite3");
        // No sweep of its own during the test: only the chosen moments below.
        let store = LocalState::open_with(
            &path,
            Sweep {
                every: Duration::from_secs(3600),
                batch: 1_000,
            },
        )
        .unwrap();
        const DAY: i64 = 24 * 3600;
        const PER_DAY: i64 = 500;
        store
            .put(&Key::new("poster#kept", "record"), "{}".into(), None)
            .await
            .unwrap();
        let mut most = 0;
        for day in 0..10 {
            let start = day * DAY;
            for i in 0..PER_DAY {
                // Each lives one day.
                store
                    .claim(
                        &Key::new(format!("request#{day}-{i}"), "seen"),
                        String::new(),
                        &Claimant::new(),
                        Some(start + DAY),
                        start,
                    )
                    .await
                    .unwrap();
            }
            // At the day's end the sweep runs in bounded batches until it finds no more.
            let now = start + DAY;
            let mut swept = 0;
            loop {
                let n = store.sweep(now, 300).await.unwrap();
                assert!(n <= 300, "a sweep is bounded: {n}");
                swept += n;
                if n < 300 {
                    break;
                }
            }
            assert_eq!(swept, usize::try_from(PER_DAY).unwrap(), "day {day}");
            most = most.max(rows(&path));
            assert_eq!(
                rows(&path),
                1,
                "day {day}: only the item without expiry is left"
            );
        }
        assert_eq!(most, 1);
        // Live items are never swept.
        assert_eq!(store.sweep(i64::MAX, 1_000).await.unwrap(), 0);
        assert!(
            store
                .get(&Key::new("poster#kept", "record"), i64::MAX)
                .await
                .unwrap()
                .is_some()
        );
    }

    /// The writer sweeps on its own, by the clock.
    #[tokio::test]
    async fn the_writer_sweeps_expired_items_periodically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite3");
        let store = LocalState::open_with(
            &path,
            Sweep {
                every: Duration::from_millis(20),
                batch: 7,
            },
        )
        .unwrap();
        let past = time::OffsetDateTime::now_utc().unix_timestamp() - 1;
        for i in 0..20 {
            store
                .put(
                    &Key::new("request#old", format!("{i:02}")),
                    String::new(),
                    Some(past),
                )
                .await
                .unwrap();
        }
        store
            .put(
                &Key::new("request#new", "seen"),
                String::new(),
                Some(past + 3_600),
            )
            .await
            .unwrap();
        let started = Instant::now();
        while rows(&path) > 1 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "still {} rows",
                rows(&path)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            store
                .get(&Key::new("request#new", "seen"), past)
                .await
                .unwrap()
                .is_some()
        );
    }

    /// A server upgraded from the JSON-file store keeps its approvals, records, history and
    /// quota counters: the live ones are imported once, and the old directory is set aside.
    #[tokio::test]
    async fn state_kept_as_json_files_by_earlier_versions_is_imported_once() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("state");
        // The layout `b8d4653`'s store wrote: percent-encoded names, one JSON body per item.
        for (partition, file, body) in [
            (
                "poster%23p1",
                "approval.json",
                r#"{"value":"{\"by\":\"U2\"}","count":0,"expires_at":9000}"#,
            ),
            (
                "quota%23user%23T%23U",
                "2026-12.json",
                r#"{"value":"","count":3,"expires_at":9000}"#,
            ),
            (
                "request%23abc",
                "seen.json",
                r#"{"value":"","count":0,"expires_at":50}"#,
            ),
            (
                "history%23T%23U",
                "000000000001000%23p1.json",
                r#"{"value":"{}","count":0,"expires_at":null}"#,
            ),
            ("history%23T%23U", "000000000002000%23p2.json.tmp", "{"),
        ] {
            std::fs::create_dir_all(old.join(partition)).unwrap();
            std::fs::write(old.join(partition).join(file), body).unwrap();
        }
        let store = LocalState::open(dir.path().join("state.sqlite3")).unwrap();
        // Already in the database: kept over the file's.
        store
            .put(&Key::new("quota#user#T#U", "2026-12"), String::new(), None)
            .await
            .unwrap();
        assert_eq!(store.import_files(&old, 100).await.unwrap(), 2);
        assert_eq!(
            store
                .get(&Key::new("poster#p1", "approval"), 100)
                .await
                .unwrap()
                .unwrap()
                .value,
            r#"{"by":"U2"}"#
        );
        assert_eq!(
            store
                .get(&Key::new("quota#user#T#U", "2026-12"), 100)
                .await
                .unwrap()
                .unwrap()
                .count,
            0
        );
        assert_eq!(
            store
                .query_latest("history#T#U", 10, 100)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            store
                .get(&Key::new("request#abc", "seen"), 10)
                .await
                .unwrap()
                .is_none()
        );
        assert!(!old.exists());
        assert!(dir.path().join("state.imported").is_dir());
        assert_eq!(store.import_files(&old, 100).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn the_file_is_a_write_ahead_logged_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/state.sqlite3");
        let store = LocalState::open(&path).unwrap();
        store
            .put(&Key::new("a", "b"), "c".into(), None)
            .await
            .unwrap();
        let conn = Connection::open(&path).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        // The sweep's lookup uses the expiry index, not a scan of every item.
        let plan: Vec<String> = conn
            .prepare("EXPLAIN QUERY PLAN SELECT pk, sk FROM items WHERE expires_at <= 5 LIMIT 10")
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|p| p.contains("items_by_expiry")),
            "{plan:?}"
        );
    }
}
