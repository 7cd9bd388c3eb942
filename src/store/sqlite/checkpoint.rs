//! Copies SQLite's write-ahead log into the database file on a thread of its own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold (1,000
//! pages), so that one commit also copies a thousand pages into the main file and fsyncs it:
//! every write queued behind it waits, which showed as stalls of a few hundred milliseconds
//! under a steady write load. Here a thread copies the log in passively, beside the writer.
//! A passive checkpoint never lets a busy log start over (frames keep arriving while it runs),
//! so once the log is long the thread restarts it between two commits, holding the writer's
//! connection: by then nearly every frame is copied, so the writer waits for little more than
//! one fsync. (Restarting from the thread's own connection instead made both connections back
//! off on SQLite's busy handler in turn: one stall lasted 1.2 s.)

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::error::unavailable;
use crate::store::StoreError;

/// How often the log is copied in.
const INTERVAL: Duration = Duration::from_millis(100);
/// Log length, in pages, at which the log is restarted: about 16 MiB.
const RESTART_PAGES: i64 = 4096;
/// The writer's own automatic checkpoint, in case the thread falls behind: about 64 MiB.
const WRITER_CHECKPOINT_PAGES: i64 = 16384;

/// Runs the checkpoint thread while any clone of the store lives, and stops it with the store.
pub struct Checkpointer {
    running: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Raises the writer's automatic checkpoint threshold and starts copying the log of the
    /// database at `path` in from a connection of its own.
    pub fn start(writer: &Arc<Mutex<Connection>>, path: &Path) -> Result<Self, StoreError> {
        let connection = Connection::open(path).map_err(unavailable)?;
        connection
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;")
            .map_err(unavailable)?;
        writer
            .lock()
            .map_err(|_| StoreError::Unavailable("connection lock poisoned".into()))?
            .pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
            .map_err(unavailable)?;
        let (running, stopped) = mpsc::channel();
        let path = path.display().to_string();
        let writer = Arc::downgrade(writer);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&connection, &writer, &path, &stopped))
            .map_err(|e| StoreError::Unavailable(format!("starting the checkpoint thread: {e}")))?;
        Ok(Checkpointer {
            running: Some(running),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    /// Waits for the thread, so its connection is closed when the store is gone.
    fn drop(&mut self) {
        drop(self.running.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Checkpoints every `INTERVAL` until the store is dropped; SQLite folds in the rest when the
/// last connection closes.
fn run(
    connection: &Connection,
    writer: &Weak<Mutex<Connection>>,
    path: &str,
    stopped: &mpsc::Receiver<()>,
) {
    let mut failing = false;
    // Nothing is ever sent: the channel closing is the signal to stop.
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
        let checkpointed = checkpoint(connection, "PASSIVE").and_then(|log_pages| {
            if log_pages >= RESTART_PAGES
                && let Some(writer) = writer.upgrade()
                && let Ok(writer) = writer.lock()
            {
                checkpoint(&writer, "RESTART")?;
            }
            Ok(())
        });
        // Said once per outage (a full disk fails every attempt), not ten times a second.
        match checkpointed {
            Err(error) if !failing => {
                // The log keeps every commit until a later checkpoint succeeds; nothing is lost.
                tracing::warn!(path, %error, "checkpointing the write-ahead log failed");
                failing = true;
            }
            Ok(()) if failing => {
                tracing::info!(path, "checkpointing the write-ahead log works again");
                failing = false;
            }
            _ => {}
        }
    }
}

/// Runs a checkpoint in `mode` and returns how many pages the log holds.
fn checkpoint(connection: &Connection, mode: &str) -> rusqlite::Result<i64> {
    connection.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        row.get(1)
    })
}
