//! The embedded SQLite store: one file, write-ahead log, fsync on every commit.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

mod checkpoint;
mod error;

use self::checkpoint::Checkpointer;
use self::error::unavailable;
use super::log::{
    ChangeRow, LoadBatch, VersionRow, check_preconditions, commit_rows, corrupt, decode,
    first_position, group_commits, load_abandoned, parse_time, precondition_names,
};
use super::{
    AGE_SCAN, LoadSender, Loaded, RecordedRequest, ResourcesAt, Retention, Stood, Store,
    StoreError, VersionAt, name_range,
};
use crate::domain::{Collection, Commit, Committed, RequestKey, ResourceName, Version};

/// Schema versions in order; each runs once, in its own transaction.
///
/// A resource's current body lives once, in the change that wrote it; `resources` points at
/// that change. Compaction drops a change below the floor only once a newer one of the same
/// name is below it too, so the versions that stood at every retained revision stay readable.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE changes (
        position    INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        operation   TEXT NOT NULL,
        subject     TEXT NOT NULL,
        commit_time TEXT NOT NULL,
        body        BLOB
    );
    CREATE TABLE resources (
        name       TEXT PRIMARY KEY,
        collection TEXT NOT NULL,
        position   INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE requests (
        request_id  TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        revision    INTEGER NOT NULL,
        subject     TEXT NOT NULL,
        commit_time TEXT NOT NULL
    );
    CREATE TABLE log_floor (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        revision INTEGER NOT NULL
    );
"#,
    r#"
    CREATE INDEX changes_by_name ON changes (name, position);
    CREATE INDEX requests_by_time ON requests (commit_time);
    CREATE TABLE commit_notes (
        revision   INTEGER PRIMARY KEY,
        request_id TEXT NOT NULL,
        reason     TEXT NOT NULL
    );
    -- Compaction used to keep only the versions resources pointed at, so a read as of a
    -- revision compacted before this schema could miss what stood then: such reads start at
    -- the newest revision of the upgrade.
    ALTER TABLE log_floor ADD COLUMN versions_from INTEGER NOT NULL DEFAULT 0;
    UPDATE log_floor SET versions_from = (SELECT COALESCE(MAX(position), 0) >> 24 FROM changes);
"#,
];

/// The oldest revision a read at a revision can be made at: the one before the log's floor,
/// whose versions compaction keeps, or the newest at the upgrade that began keeping them.
macro_rules! oldest_readable {
    () => {
        "SELECT COALESCE((SELECT MAX(revision - 1, versions_from) FROM log_floor WHERE id = 1), 0)"
    };
}
const OLDEST_READABLE: &str = oldest_readable!();

/// The oldest revision readable, if the log no longer keeps `revision`.
fn expired(connection: &Connection, revision: i64) -> Result<Option<i64>, StoreError> {
    let oldest = oldest_readable(connection)?;
    Ok((revision < oldest).then_some(oldest))
}

fn oldest_readable(connection: &Connection) -> Result<i64, StoreError> {
    connection
        .query_row(OLDEST_READABLE, [], |row| row.get(0))
        .map_err(unavailable)
}

/// Each name changed from position ?1 until ?2, with its newest body before ?1 (none if a
/// deletion or nothing), found on `changes_by_name`.
const CHANGED_AFTER: &str = "SELECT n.name, (SELECT p.body FROM changes p WHERE p.name = n.name
                             AND p.position < ?1 ORDER BY p.position DESC LIMIT 1)
     FROM (SELECT DISTINCT name FROM changes WHERE position >= ?1 AND position < ?2) n";

/// A store in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    /// Folds the write-ahead log into the file off the commit path; none when read-only.
    _checkpointer: Option<Arc<Checkpointer>>,
    /// How many revisions of the change log to keep; `None` keeps all.
    retention: Retention,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// A database on a read-only file system is opened read-only: reads are served and every
    /// write fails as UNAVAILABLE.
    pub fn open(path: &Path, retained: impl Into<Retention>) -> Result<Self, StoreError> {
        let (connection, checkpointer) = if path.exists() && is_read_only(path) {
            (Arc::new(Mutex::new(open_read_only(path)?)), None)
        } else {
            let mut connection = Connection::open(path).map_err(unavailable)?;
            connection
                .execute_batch(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
                )
                .map_err(unavailable)?;
            migrate(&mut connection)?;
            let connection = Arc::new(Mutex::new(connection));
            let checkpointer = Checkpointer::start(&connection, path)?;
            (connection, Some(Arc::new(checkpointer)))
        };
        Ok(SqliteStore {
            connection,
            _checkpointer: checkpointer,
            retention: retained.into(),
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

fn is_read_only(path: &Path) -> bool {
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .is_err_and(|e| {
            matches!(
                e.kind(),
                std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
            )
        })
}

/// Opens a database that cannot be written. SQLite then ignores the write-ahead log, so a log
/// still holding commits (after a crash) would hide them: that case is refused.
fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        return Err(StoreError::Unavailable(format!(
            "{} is read-only and its write-ahead log holds commits not yet in the main file; \
             open it writable once to fold them in",
            path.display()
        )));
    }
    let uri = format!("file:{}?immutable=1", path.display());
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI;
    let connection = Connection::open_with_flags(uri, flags).map_err(unavailable)?;
    let version: i64 = connection
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |row| row.get(0),
        )
        .map_err(unavailable)?;
    if version != MIGRATIONS.len() as i64 {
        return Err(StoreError::Unavailable(format!(
            "{} is read-only and its schema is at version {version}, not {}",
            path.display(),
            MIGRATIONS.len()
        )));
    }
    tracing::warn!(path = %path.display(), "the database is read-only: serving reads, refusing writes");
    Ok(connection)
}

/// The first commit at or after `revision`: its revision and time.
fn commit_time_from(
    connection: &Connection,
    revision: i64,
) -> Result<Option<(i64, DateTime<Utc>)>, StoreError> {
    let found: Option<(i64, String)> = connection
        .query_row(
            "SELECT position >> 24, commit_time FROM changes WHERE position >= ?1
             ORDER BY position LIMIT 1",
            params![first_position(revision)],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(unavailable)?;
    found
        .map(|(revision, time)| Ok((revision, parse_time(&time)?)))
        .transpose()
}

fn latest_revision(tx: &Connection) -> Result<i64, StoreError> {
    tx.query_row(
        "SELECT COALESCE(MAX(position), 0) >> 24 FROM changes",
        [],
        |row| row.get(0),
    )
    .map_err(unavailable)
}

/// The revisions the named resources were last written at, for those that exist.
fn current_revisions<'a>(
    tx: &Connection,
    names: impl IntoIterator<Item = &'a ResourceName>,
) -> Result<HashMap<ResourceName, i64>, StoreError> {
    let mut select = tx
        .prepare_cached("SELECT position >> 24 FROM resources WHERE name = ?1")
        .map_err(unavailable)?;
    let mut current = HashMap::new();
    for name in names {
        let revision: Option<i64> = select
            .query_row([name.as_str()], |row| row.get(0))
            .optional()
            .map_err(unavailable)?;
        if let Some(revision) = revision {
            current.insert(name.clone(), revision);
        }
    }
    Ok(current)
}

/// The result recorded for `request`, rebuilt from the change log and marked as replayed; its
/// writes are empty if the log no longer holds that revision.
fn recorded_result(
    connection: &Connection,
    request: &RequestKey,
) -> Result<Option<Committed>, StoreError> {
    let earlier = connection
        .query_row(
            "SELECT fingerprint, revision, subject, commit_time FROM requests WHERE request_id = ?1",
            [&request.id],
            |row| {
                Ok(RecordedRequest {
                    fingerprint: row.get(0)?,
                    revision: row.get(1)?,
                    subject: row.get(2)?,
                    commit_time: row.get(3)?,
                })
            },
        )
        .optional()
        .map_err(unavailable)?;
    let Some(recorded) = earlier else {
        return Ok(None);
    };
    super::replayed(request, recorded, |revision| {
        commits_between(connection, revision - 1, revision)
    })
    .map(Some)
}

/// Applies one commit as `revision` (in a group that began at `head_before_group`), or returns
/// the recorded result of its request id.
fn commit_one(
    tx: &Connection,
    mut commit: Commit,
    revision: i64,
    head_before_group: i64,
) -> Result<Committed, StoreError> {
    if let Some(request) = &commit.request
        && let Some(committed) = recorded_result(tx, request)?
    {
        return Ok(committed);
    }
    let current = current_revisions(tx, precondition_names(&commit.preconditions))?;
    check_preconditions(&commit.preconditions, &current, head_before_group)?;
    if commit.writes.is_empty() {
        return Ok(super::empty_commit(commit, revision - 1));
    }
    let request = commit.request.clone();
    let note = std::mem::take(&mut commit.note);
    let rows = commit_rows(
        commit,
        revision,
        commit_time_from(tx, revision - 1)?.map(|(_, t)| t),
    )?;
    let mut insert_change = tx
        .prepare_cached(
            "INSERT INTO changes (position, name, operation, subject, commit_time, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(unavailable)?;
    for change in &rows.changes {
        insert_change
            .execute(params![
                change.position,
                change.name,
                change.operation,
                rows.committed.subject,
                rows.commit_time,
                change.body
            ])
            .map_err(unavailable)?;
    }
    let mut point = tx
        .prepare_cached(
            "INSERT INTO resources (name, collection, position) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        )
        .map_err(unavailable)?;
    for (name, collection, position) in &rows.pointers {
        point
            .execute(params![name, collection, position])
            .map_err(unavailable)?;
    }
    let mut remove = tx
        .prepare_cached("DELETE FROM resources WHERE name = ?1")
        .map_err(unavailable)?;
    for name in &rows.removed {
        remove.execute([name]).map_err(unavailable)?;
    }
    if let Some(request) = request {
        tx.execute(
            "INSERT INTO requests (request_id, fingerprint, revision, subject, commit_time)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                request.id,
                request.fingerprint,
                revision,
                rows.committed.subject,
                rows.commit_time
            ],
        )
        .map_err(unavailable)?;
    }
    if !note.is_empty() {
        tx.execute(
            "INSERT INTO commit_notes (revision, request_id, reason) VALUES (?1, ?2, ?3)",
            params![revision, note.request_id, note.reason],
        )
        .map_err(unavailable)?;
    }
    Ok(rows.committed)
}

/// Commits several commits in one transaction, one fsync, each under its own revision and
/// savepoint: a commit whose preconditions fail is rolled back alone.
fn commit_group(
    connection: &mut Connection,
    commits: Vec<Commit>,
    retention: Retention,
) -> Result<Vec<Result<Committed, StoreError>>, StoreError> {
    let mut tx = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(unavailable)?;
    let head_before_group = latest_revision(&tx)?;
    let mut latest = head_before_group;
    let mut results = Vec::with_capacity(commits.len());
    for commit in commits {
        let savepoint = tx.savepoint().map_err(unavailable)?;
        match commit_one(&savepoint, commit, latest + 1, head_before_group) {
            Ok(committed) => {
                savepoint.commit().map_err(unavailable)?;
                if !committed.replayed && !committed.writes.is_empty() {
                    latest = committed.revision;
                }
                results.push(Ok(committed));
            }
            Err(conflict @ StoreError::Conflict(_)) => {
                drop(savepoint);
                results.push(Err(conflict));
            }
            Err(other) => return Err(other),
        }
    }
    if retention.limits_log() {
        let floor = log_floor(&tx)?;
        let aged_out = match retention.log_cutoff() {
            Some(cutoff) => aged_out(&tx, floor, &cutoff)?,
            None => None,
        };
        if let Some(through) = retention.compact_through(latest, aged_out) {
            compact(&tx, floor, through)?;
        }
    }
    if let Some(cutoff) = retention.request_cutoff() {
        tx.execute("DELETE FROM requests WHERE commit_time < ?1", [cutoff])
            .map_err(unavailable)?;
    }
    tx.commit().map_err(unavailable)?;
    Ok(results)
}

/// The oldest revision the log holds whole.
fn log_floor(tx: &Connection) -> Result<i64, StoreError> {
    tx.query_row(
        "SELECT COALESCE((SELECT revision FROM log_floor WHERE id = 1), 1)",
        [],
        |row| row.get(0),
    )
    .map_err(unavailable)
}

/// The newest revision committed before `cutoff` among the first changes from the floor on:
/// a long backlog is compacted over several commits, never in one.
fn aged_out(tx: &Connection, floor: i64, cutoff: &str) -> Result<Option<i64>, StoreError> {
    tx.query_row(
        "SELECT MAX(position) >> 24 FROM (
             SELECT position, commit_time FROM changes WHERE position >= ?1
             ORDER BY position LIMIT ?2)
         WHERE commit_time < ?3",
        params![first_position(floor), AGE_SCAN, cutoff],
        |row| row.get(0),
    )
    .map_err(unavailable)
}

/// Moves the log's floor past `through`, dropping the changes no read at a revision after it
/// can find: for each name written since the last floor, every version older than its newest
/// one up to `through`, and that one too if it is a deletion (a read finds nothing either way).
fn compact(tx: &Connection, floor: i64, through: i64) -> Result<(), StoreError> {
    if through < floor {
        return Ok(());
    }
    let below = first_position(through + 1);
    // Only the names written since the last compaction can have a version newly superseded.
    let names: Vec<String> = tx
        .prepare_cached("SELECT DISTINCT name FROM changes WHERE position >= ?1 AND position < ?2")
        .map_err(unavailable)?
        .query_map([first_position(floor), below], |row| row.get(0))
        .map_err(unavailable)?
        .collect::<Result<_, _>>()
        .map_err(unavailable)?;
    let mut drop = tx
        .prepare_cached(
            "DELETE FROM changes WHERE name = ?1 AND position < ?2 AND (body IS NULL OR position <
                 (SELECT MAX(position) FROM changes WHERE name = ?1 AND position < ?2))
             RETURNING position >> 24",
        )
        .map_err(unavailable)?;
    let mut emptied = std::collections::BTreeSet::new();
    for name in &names {
        let revisions = drop
            .query_map(params![name, below], |row| row.get::<_, i64>(0))
            .map_err(unavailable)?;
        for revision in revisions {
            emptied.insert(revision.map_err(unavailable)?);
        }
    }
    let mut forget_note = tx
        .prepare_cached(
            "DELETE FROM commit_notes WHERE revision = ?1 AND NOT EXISTS (
                 SELECT 1 FROM changes WHERE position >= ?2 AND position < ?3)",
        )
        .map_err(unavailable)?;
    for revision in emptied {
        forget_note
            .execute(params![
                revision,
                first_position(revision),
                first_position(revision + 1)
            ])
            .map_err(unavailable)?;
    }
    tx.execute(
        "INSERT INTO log_floor (id, revision) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET revision = excluded.revision",
        [through + 1],
    )
    .map_err(unavailable)?;
    Ok(())
}

/// Whole commits with `after < revision <= through`, oldest first.
fn commits_between(
    connection: &Connection,
    after: i64,
    through: i64,
) -> Result<Vec<Committed>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT position >> 24, name, subject, commit_time, body FROM changes
             WHERE position >= ?1 AND position < ?2
             ORDER BY position",
        )
        .map_err(unavailable)?;
    read_commits(
        &mut statement,
        params![first_position(after + 1), first_position(through + 1)],
    )
}

/// The commits of the change rows a statement selects (revision, name, subject, commit time,
/// body, in position order).
fn read_commits(
    statement: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<Committed>, StoreError> {
    let rows = statement
        .query_map(params, |row| {
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
}

#[async_trait]
impl Store for SqliteStore {
    async fn load_into(&self, into: LoadSender) -> Result<Loaded, StoreError> {
        self.with_connection(move |connection| {
            let tx = connection.transaction().map_err(unavailable)?;
            let revision = latest_revision(&tx)?;
            let mut statement = tx
                .prepare(
                    "SELECT r.name, c.body FROM resources r
                     JOIN changes c ON c.position = r.position
                     ORDER BY r.name",
                )
                .map_err(unavailable)?;
            let mut rows = statement.query([]).map_err(unavailable)?;
            let mut batch = LoadBatch::default();
            while let Some(row) = rows.next().map_err(unavailable)? {
                let name = row.get_ref(0).map_err(unavailable)?;
                let body = row.get_ref(1).map_err(unavailable)?;
                let name = name.as_str().map_err(|e| corrupt("a resource's name", e))?;
                let body = body.as_blob().map_err(|e| corrupt(name, e))?;
                if let Some(full) = batch.add(name, body)? {
                    into.blocking_send(full).map_err(load_abandoned)?;
                }
            }
            let (rest, loaded) = batch.finish(revision);
            into.blocking_send(rest).map_err(load_abandoned)?;
            Ok(loaded)
        })
        .await
    }

    async fn commit_group(
        &self,
        commits: Vec<Commit>,
    ) -> Result<Vec<Result<Committed, StoreError>>, StoreError> {
        let retention = self.retention;
        self.with_connection(move |connection| commit_group(connection, commits, retention))
            .await
    }

    async fn find_request(&self, request: &RequestKey) -> Result<Option<Committed>, StoreError> {
        let request = request.clone();
        self.with_connection(move |connection| recorded_result(connection, &request))
            .await
    }

    async fn commits_after(&self, after: i64, limit: usize) -> Result<Vec<Committed>, StoreError> {
        // Revisions are gap-free, so the next `limit` commits are the next `limit` revisions.
        self.with_connection(move |connection| {
            commits_between(connection, after, after + limit as i64)
        })
        .await
    }

    async fn changes_from(
        &self,
        position: i64,
        limit: usize,
    ) -> Result<Vec<Committed>, StoreError> {
        self.with_connection(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT position >> 24, name, subject, commit_time, body FROM changes
                     WHERE position >= ?1 ORDER BY position LIMIT ?2",
                )
                .map_err(unavailable)?;
            read_commits(&mut statement, params![position, limit as i64])
        })
        .await
    }

    async fn versions_before(
        &self,
        name: &ResourceName,
        position: i64,
        limit: usize,
    ) -> Result<Vec<Version>, StoreError> {
        let name = name.as_str().to_owned();
        self.with_connection(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT c.position, c.subject, c.commit_time, c.body,
                            COALESCE(n.request_id, ''), COALESCE(n.reason, '')
                     FROM changes c LEFT JOIN commit_notes n ON n.revision = c.position >> 24
                     WHERE c.name = ?1 AND c.position < ?2
                     ORDER BY c.position DESC LIMIT ?3",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![name, position, limit as i64], |row| {
                    Ok(VersionRow {
                        position: row.get(0)?,
                        subject: row.get(1)?,
                        commit_time: row.get(2)?,
                        body: row.get(3)?,
                        request_id: row.get(4)?,
                        reason: row.get(5)?,
                    })
                })
                .map_err(unavailable)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            rows.into_iter().map(|row| row.version(&name)).collect()
        })
        .await
    }

    async fn version_at(
        &self,
        name: &ResourceName,
        revision: i64,
    ) -> Result<VersionAt, StoreError> {
        let name = name.clone();
        self.with_connection(move |connection| {
            let mut statement = connection
                .prepare_cached(concat!(
                    "SELECT (",
                    oldest_readable!(),
                    "), (SELECT body FROM changes WHERE name = ?1 AND position < ?2
                         ORDER BY position DESC LIMIT 1)"
                ))
                .map_err(unavailable)?;
            let mut rows = statement
                .query(params![name.as_str(), first_position(revision + 1)])
                .map_err(unavailable)?;
            let row = rows.next().map_err(unavailable)?.expect("one row");
            let oldest: i64 = row.get(0).map_err(unavailable)?;
            let body = row.get_ref(1).map_err(unavailable)?;
            let body = body
                .as_blob_or_null()
                .map_err(|e| corrupt(name.as_str(), e))?;
            VersionAt::of(&name, revision, oldest, body)
        })
        .await
    }

    async fn resources_at(
        &self,
        collection: Collection,
        after: Option<&str>,
        revision: i64,
        limit: usize,
    ) -> Result<ResourcesAt, StoreError> {
        let (from, to) = name_range(collection, after);
        self.with_connection(move |connection| {
            if let Some(oldest) = expired(connection, revision)? {
                return Ok(ResourcesAt::Expired { oldest });
            }
            // Each name's newest change up to the revision, walked in name order on
            // `changes_by_name`, so a chunk reads about as many entries as it returns.
            let mut statement = connection
                .prepare_cached(
                    "SELECT c.name, c.body FROM changes c
                     WHERE c.name > ?1 AND c.name < ?2 AND c.position < ?3 AND c.body IS NOT NULL
                       AND NOT EXISTS (SELECT 1 FROM changes n WHERE n.name = c.name
                                       AND n.position > c.position AND n.position < ?3)
                     ORDER BY c.name LIMIT ?4",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(
                    params![from, to, first_position(revision + 1), limit as i64],
                    |row| Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?)),
                )
                .map_err(unavailable)?;
            let mut resources = Vec::new();
            for row in rows {
                let (name, body) = row.map_err(unavailable)?;
                resources.push(decode(&name, &body)?);
            }
            Ok(ResourcesAt::Stood(resources))
        })
        .await
    }

    async fn changed_after(
        &self,
        revision: i64,
        through: i64,
    ) -> Result<ResourcesAt<Vec<Stood>>, StoreError> {
        self.with_connection(move |connection| {
            if let Some(oldest) = expired(connection, revision)? {
                return Ok(ResourcesAt::Expired { oldest });
            }
            let mut statement = connection
                .prepare_cached(CHANGED_AFTER)
                .map_err(unavailable)?;
            let rows = statement
                .query_map(
                    params![first_position(revision + 1), first_position(through + 1)],
                    |row| Ok((row.get::<_, String>(0)?, row.get::<_, Option<Vec<u8>>>(1)?)),
                )
                .map_err(unavailable)?;
            let mut stood = Vec::new();
            for row in rows {
                let (name, body) = row.map_err(unavailable)?;
                stood.push(super::log::stood(name, body.as_deref())?);
            }
            Ok(ResourcesAt::Stood(stood))
        })
        .await
    }

    async fn commit_time_from(
        &self,
        revision: i64,
    ) -> Result<Option<(i64, DateTime<Utc>)>, StoreError> {
        self.with_connection(move |connection| commit_time_from(connection, revision))
            .await
    }

    async fn oldest_readable(&self) -> Result<i64, StoreError> {
        self.with_connection(|connection| oldest_readable(connection))
            .await
    }

    async fn oldest_revision(&self) -> Result<Option<i64>, StoreError> {
        self.with_connection(|connection| {
            connection
                .query_row(
                    "SELECT COALESCE((SELECT revision FROM log_floor WHERE id = 1),
                                     (SELECT MIN(position) >> 24 FROM changes))",
                    [],
                    |row| row.get(0),
                )
                .map_err(unavailable)
        })
        .await
    }
}
