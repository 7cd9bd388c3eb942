//! The embedded SQLite store: one file, write-ahead log, fsync on every commit.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::{
    Commit, Committed, Conflict, Precondition, RequestKey, Snapshot, Store, StoreError, Write,
};
use crate::domain::{Resource, ResourceName};

/// Schema versions in order; each runs once, in its own transaction.
const MIGRATIONS: &[&str] = &[
    r#"
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
    "#,
    r#"
    CREATE TABLE requests (
        request_id  TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        revision    INTEGER NOT NULL,
        result      TEXT NOT NULL
    );
    "#,
];

/// A store in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    /// How many revisions of the change log to keep; `None` keeps all.
    retained_revisions: Option<i64>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path, retained_revisions: Option<i64>) -> Result<Self, StoreError> {
        let mut connection = Connection::open(path).map_err(unavailable)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
            )
            .map_err(unavailable)?;
        migrate(&mut connection)?;
        Ok(SqliteStore {
            connection: Arc::new(Mutex::new(connection)),
            retained_revisions,
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

fn corrupt(context: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{context}: {error}"))
}

fn latest_revision(tx: &Transaction<'_>) -> Result<i64, StoreError> {
    tx.query_row(
        "SELECT COALESCE(MAX(revision), 0) FROM changes",
        [],
        |row| row.get(0),
    )
    .map_err(unavailable)
}

/// The revision and creation time of a stored resource, if it exists.
fn current(
    tx: &Transaction<'_>,
    name: &ResourceName,
) -> Result<Option<(i64, Option<String>)>, StoreError> {
    tx.query_row(
        "SELECT revision, json_extract(body, '$.meta.create_time') FROM resources WHERE name = ?1",
        [name.as_str()],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .optional()
    .map_err(unavailable)
}

fn check(tx: &Transaction<'_>, precondition: &Precondition) -> Result<(), StoreError> {
    let conflict = match precondition {
        Precondition::Exists(name) => current(tx, name)?
            .is_none()
            .then(|| Conflict::Missing(name.clone())),
        Precondition::Absent(name) => current(tx, name)?
            .is_some()
            .then(|| Conflict::Exists(name.clone())),
        Precondition::AtRevision(name, expected) => match current(tx, name)? {
            None => Some(Conflict::Missing(name.clone())),
            Some((actual, _)) if actual != *expected => Some(Conflict::Stale {
                name: name.clone(),
                expected: *expected,
                actual,
            }),
            Some(_) => None,
        },
    };
    conflict.map_or(Ok(()), |c| Err(c.into()))
}

fn apply(tx: &Transaction<'_>, commit: Commit, revision: i64) -> Result<Committed, StoreError> {
    let now = Utc::now();
    let mut written = Vec::with_capacity(commit.writes.len());
    for (seq, write) in commit.writes.into_iter().enumerate() {
        let name = write.name().clone();
        let body = match write {
            Write::Put(mut resource) => {
                let created = current(tx, &name)?
                    .and_then(|(_, created)| created)
                    .and_then(|t| t.parse::<DateTime<Utc>>().ok());
                let meta = resource.meta_mut();
                meta.revision = revision;
                meta.update_time = Some(now);
                meta.create_time = created.or(Some(now));
                let body = serde_json::to_string(&resource).map_err(|e| corrupt("encoding", e))?;
                tx.execute(
                    "INSERT INTO resources (name, collection, revision, body) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, body = excluded.body",
                    params![name.as_str(), name.collection().segment(), revision, body],
                )
                .map_err(unavailable)?;
                written.push(Write::Put(resource));
                Some(body)
            }
            Write::Delete(name) => {
                tx.execute("DELETE FROM resources WHERE name = ?1", [name.as_str()])
                    .map_err(unavailable)?;
                written.push(Write::Delete(name));
                None
            }
        };
        tx.execute(
            "INSERT INTO changes (revision, seq, name, operation, subject, commit_time, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                revision,
                seq as i64,
                name.as_str(),
                if body.is_some() { "put" } else { "delete" },
                commit.subject,
                now.to_rfc3339(),
                body
            ],
        )
        .map_err(unavailable)?;
    }
    Ok(Committed {
        revision,
        subject: commit.subject,
        commit_time: now,
        writes: written,
        replayed: false,
    })
}

/// The result recorded for `request`, marked as replayed.
fn recorded_result(
    connection: &Connection,
    request: &RequestKey,
) -> Result<Option<Committed>, StoreError> {
    let earlier: Option<(String, String)> = connection
        .query_row(
            "SELECT fingerprint, result FROM requests WHERE request_id = ?1",
            [&request.id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(unavailable)?;
    let Some((fingerprint, result)) = earlier else {
        return Ok(None);
    };
    if fingerprint != request.fingerprint {
        return Err(Conflict::RequestReused(request.id.clone()).into());
    }
    let mut committed: Committed =
        serde_json::from_str(&result).map_err(|e| corrupt("request result", e))?;
    committed.replayed = true;
    Ok(Some(committed))
}

fn commit_in(
    connection: &mut Connection,
    commit: Commit,
    retained_revisions: Option<i64>,
) -> Result<Committed, StoreError> {
    let tx = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(unavailable)?;
    if let Some(request) = &commit.request
        && let Some(committed) = recorded_result(&tx, request)?
    {
        return Ok(committed);
    }
    for precondition in &commit.preconditions {
        check(&tx, precondition)?;
    }
    let latest = latest_revision(&tx)?;
    if commit.writes.is_empty() {
        return Ok(Committed {
            revision: latest,
            subject: commit.subject,
            commit_time: Utc::now(),
            writes: Vec::new(),
            replayed: false,
        });
    }
    let request = commit.request.clone();
    let committed = apply(&tx, commit, latest + 1)?;
    if let Some(request) = request {
        let result = serde_json::to_string(&committed).map_err(|e| corrupt("encoding", e))?;
        tx.execute(
            "INSERT INTO requests (request_id, fingerprint, revision, result) VALUES (?1, ?2, ?3, ?4)",
            params![request.id, request.fingerprint, committed.revision, result],
        )
        .map_err(unavailable)?;
    }
    if let Some(retained) = retained_revisions {
        tx.execute(
            "DELETE FROM changes WHERE revision <= ?1",
            [committed.revision - retained],
        )
        .map_err(unavailable)?;
    }
    tx.commit().map_err(unavailable)?;
    Ok(committed)
}

type ChangeRow = (i64, String, String, String, Option<String>);

fn group_commits(rows: Vec<ChangeRow>) -> Result<Vec<Committed>, StoreError> {
    let mut commits: Vec<Committed> = Vec::new();
    for (revision, name, subject, commit_time, body) in rows {
        let write = match body {
            Some(body) => Write::Put(Box::new(
                serde_json::from_str::<Resource>(&body).map_err(|e| corrupt(&name, e))?,
            )),
            None => {
                Write::Delete(ResourceName::try_from(name.clone()).map_err(|e| corrupt(&name, e))?)
            }
        };
        match commits.last_mut() {
            Some(last) if last.revision == revision => last.writes.push(write),
            _ => commits.push(Committed {
                revision,
                subject,
                commit_time: commit_time.parse().map_err(|e| corrupt("commit time", e))?,
                writes: vec![write],
                replayed: false,
            }),
        }
    }
    Ok(commits)
}

#[async_trait]
impl Store for SqliteStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        self.with_connection(|connection| {
            let tx = connection.transaction().map_err(unavailable)?;
            let revision = latest_revision(&tx)?;
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
                resources.push(serde_json::from_str(&body).map_err(|e| corrupt(&name, e))?);
            }
            Ok(Snapshot {
                revision,
                resources,
            })
        })
        .await
    }

    async fn commit(&self, commit: Commit) -> Result<Committed, StoreError> {
        let retained = self.retained_revisions;
        self.with_connection(move |connection| commit_in(connection, commit, retained))
            .await
    }

    async fn find_request(&self, request: &RequestKey) -> Result<Option<Committed>, StoreError> {
        let request = request.clone();
        self.with_connection(move |connection| recorded_result(connection, &request))
            .await
    }

    async fn commits_after(&self, after: i64, limit: usize) -> Result<Vec<Committed>, StoreError> {
        self.with_connection(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT revision, name, subject, commit_time, body FROM changes
                     WHERE revision > ?1 AND revision <= ?1 + ?2
                     ORDER BY revision, seq",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![after, limit as i64], |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                    ))
                })
                .map_err(unavailable)?
                .collect::<Result<Vec<ChangeRow>, _>>()
                .map_err(unavailable)?;
            group_commits(rows)
        })
        .await
    }

    async fn oldest_revision(&self) -> Result<Option<i64>, StoreError> {
        self.with_connection(|connection| {
            connection
                .query_row("SELECT MIN(revision) FROM changes", [], |row| row.get(0))
                .map_err(unavailable)
        })
        .await
    }
}
