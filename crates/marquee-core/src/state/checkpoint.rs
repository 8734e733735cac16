//! WAL checkpoints off the writer's thread, for the SQLite files one thread writes
//! (`state.sqlite3` here, the job queue's `jobs.sqlite3` in the service).
//!
//! SQLite checkpoints a write-ahead log on the connection that commits, once the log passes
//! 1,000 pages: the writer then copies the log back into the database file and syncs it
//! before it answers anyone, so one batch in every ~1,000 pages waits for the copy. A
//! [`Checkpointer`] is a second connection on a thread of its own that checkpoints passively
//! (it never waits for, nor holds up, the writer) after commits, at most every
//! [`CHECKPOINT_EVERY`]; the writer keeps its own checkpoint only as a bound, at
//! [`WRITER_CHECKPOINT_PAGES`], should the thread fall behind.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;

/// The least time between two checkpoints of the thread.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// The log's size, in pages, at which the writer checkpoints itself (SQLite's default is
/// 1,000): only if the checkpoint thread has fallen this far behind.
pub const WRITER_CHECKPOINT_PAGES: u32 = 16_000;

/// The writer's side: tells the checkpoint thread there is something to copy back. The
/// thread checkpoints once more and stops when this is dropped.
#[derive(Debug)]
pub struct Checkpointer {
    nudge: mpsc::SyncSender<()>,
}

impl Checkpointer {
    /// Moves `writer`'s checkpoints to a thread named `thread` with its own connection to
    /// `path` (the same file).
    pub fn start(
        writer: &Connection,
        path: &Path,
        thread: &str,
    ) -> Result<Checkpointer, Box<dyn std::error::Error + Send + Sync>> {
        writer.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let (nudge, nudges) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name(thread.to_owned())
            .spawn(move || run(&conn, &nudges))?;
        Ok(Checkpointer { nudge })
    }

    /// After a commit: a checkpoint follows within [`CHECKPOINT_EVERY`] (a nudge already
    /// waiting covers this commit too).
    pub fn nudge(&self) {
        let _ = self.nudge.try_send(());
    }

    /// One that checkpoints nothing, for a writer built by hand in a test.
    #[doc(hidden)]
    pub fn idle() -> Checkpointer {
        Checkpointer {
            nudge: mpsc::sync_channel(1).0,
        }
    }
}

fn run(conn: &Connection, nudges: &mpsc::Receiver<()>) {
    let checkpoint = || {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %crate::errors::ErrorChain(&e), "could not checkpoint a database; trying again after the next commit");
        }
    };
    while nudges.recv().is_ok() {
        std::thread::sleep(CHECKPOINT_EVERY);
        let _ = nudges.try_recv();
        checkpoint();
    }
    checkpoint();
}
