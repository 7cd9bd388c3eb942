//! The embedded SQLite store: one file, write-ahead log, fsync on every commit.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Commit, Committed, Snapshot, Store, StoreError, Write};
use crate::domain::Resource;

/// Schema versions in order; each runs once, in its own transaction.
const MIGRATIONS: &[&str] = &[r#"
    CREATE TABLE resources (
        name       TEXT PRIMARY KEY,
        collection TEXT NOT NULL,
        revision   INTEGER NOT NULL,
        body       TEXT NOT NULL
    );
    CREATE TABLE changes (
        revision    INTEGER NOT NULL,
        seq         INTEGER NOT NULL,
        name        TEXT NOT NULL,
        operation   TEXT NOT NULL,
        subject     TEXT NOT NULL,
        commit_time TEXT NOT NULL,
        body        TEXT,
        PRIMARY KEY (revision, seq)
    );
"#];

/// A store in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut connection = Connection::open(path).map_err(unavailable)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
            )
            .map_err(unavailable)?;
        migrate(&mut connection)?;
        Ok(SqliteStore {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    async fn with_connection<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = connection
                .lock()
                .map_err(|_| StoreError::Unavailable("connection lock poisoned".into()))?;
            work(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
    }
}

fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    connection
        .execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
        .map_err(unavailable)?;
    for (index, script) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(unavailable)?;
        let applied: Option<i64> = tx
            .query_row(
                "SELECT version FROM schema_migrations WHERE version = ?1",
                [version],
                |row| row.get(0),
            )
            .optional()
            .map_err(unavailable)?;
        if applied.is_none() {
            tx.execute_batch(script).map_err(unavailable)?;
            tx.execute(
                "INSERT INTO schema_migrations (version) VALUES (?1)",
                [version],
            )
            .map_err(unavailable)?;
        }
        tx.commit().map_err(unavailable)?;
    }
    Ok(())
}

fn unavailable(error: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

#[async_trait]
impl Store for SqliteStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        self.with_connection(|connection| {
            let tx = connection.transaction().map_err(unavailable)?;
            let revision: i64 = tx
                .query_row(
                    "SELECT COALESCE(MAX(revision), 0) FROM changes",
                    [],
                    |row| row.get(0),
                )
                .map_err(unavailable)?;
            let mut statement = tx
                .prepare("SELECT name, body FROM resources ORDER BY name")
                .map_err(unavailable)?;
            let rows = statement
                .query_map([], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(unavailable)?;
            let mut resources = Vec::new();
            for row in rows {
                let (name, body) = row.map_err(unavailable)?;
                let resource: Resource = serde_json::from_str(&body)
                    .map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))?;
                resources.push(resource);
            }
            Ok(Snapshot {
                revision,
                resources,
            })
        })
        .await
    }

    async fn commit(&self, commit: Commit) -> Result<Committed, StoreError> {
        self.with_connection(move |connection| {
            let tx = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let revision: i64 = tx
                .query_row("SELECT COALESCE(MAX(revision), 0) + 1 FROM changes", [], |row| row.get(0))
                .map_err(unavailable)?;
            let now = Utc::now();
            let mut written = Vec::with_capacity(commit.writes.len());
            for (seq, write) in commit.writes.into_iter().enumerate() {
                let (name, operation, body) = match write {
                    Write::Put(mut resource) => {
                        let name = resource.name().to_string();
                        let create_time: Option<String> = tx
                            .query_row(
                                "SELECT json_extract(body, '$.meta.create_time') FROM resources WHERE name = ?1",
                                [&name],
                                |row| row.get(0),
                            )
                            .optional()
                            .map_err(unavailable)?
                            .flatten();
                        let meta = resource.meta_mut();
                        meta.revision = revision;
                        meta.update_time = Some(now);
                        meta.create_time = create_time
                            .and_then(|t| t.parse().ok())
                            .or(Some(now));
                        let body = serde_json::to_string(&resource)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        tx.execute(
                            "INSERT INTO resources (name, collection, revision, body) VALUES (?1, ?2, ?3, ?4)
                             ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, body = excluded.body",
                            params![name, resource.name().collection().segment(), revision, body],
                        )
                        .map_err(unavailable)?;
                        written.push(Write::Put(resource));
                        (name, "put", Some(body))
                    }
                    Write::Delete(name) => {
                        tx.execute("DELETE FROM resources WHERE name = ?1", [name.as_str()])
                            .map_err(unavailable)?;
                        let text = name.to_string();
                        written.push(Write::Delete(name));
                        (text, "delete", None)
                    }
                };
                tx.execute(
                    "INSERT INTO changes (revision, seq, name, operation, subject, commit_time, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![revision, seq as i64, name, operation, commit.subject, now.to_rfc3339(), body],
                )
                .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)?;
            Ok(Committed { revision, writes: written })
        })
        .await
    }
}
