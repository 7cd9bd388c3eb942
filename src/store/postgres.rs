//! The PostgreSQL store, for several replicas on one database.
//!
//! Commits take a transaction-scoped advisory lock, so revisions stay gap-free and ordered
//! whichever replica writes; each commit notifies `pairing_changes`, and replicas follow the
//! log by revision, so a missed notification only delays a change, never loses it.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::StreamExt as _;
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, GenericClient, Transaction};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::log::{
    ChangeRow, LoadBatch, VersionRow, check_preconditions, commit_rows, decode, first_position,
    group_commits, load_abandoned, parse_time, precondition_names,
};
mod tls;

use super::{
    AGE_SCAN, LoadSender, Loaded, RecordedRequest, ResourcesAt, Retention, Stood, Store,
    StoreError, VersionAt, name_range,
};
use crate::domain::{Collection, Commit, Committed, RequestKey, ResourceName, Version};

/// Schema versions in order; the same tables as the SQLite store.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE changes (
        position    BIGINT PRIMARY KEY,
        name        TEXT NOT NULL,
        operation   TEXT NOT NULL,
        subject     TEXT NOT NULL,
        commit_time TEXT NOT NULL,
        body        BYTEA
    );
    CREATE TABLE resources (
        name       TEXT PRIMARY KEY,
        collection TEXT NOT NULL,
        position   BIGINT NOT NULL
    );
    CREATE TABLE requests (
        request_id  TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        revision    BIGINT NOT NULL,
        subject     TEXT NOT NULL,
        commit_time TEXT NOT NULL
    );
    CREATE TABLE log_floor (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        revision BIGINT NOT NULL
    );
"#,
    r#"
    CREATE INDEX changes_by_name ON changes (name, position);
    CREATE INDEX requests_by_time ON requests (commit_time);
    CREATE TABLE commit_notes (
        revision   BIGINT PRIMARY KEY,
        request_id TEXT NOT NULL,
        reason     TEXT NOT NULL
    );
    -- As in the SQLite store: reads as of a revision compacted before this schema start at
    -- the newest revision of the upgrade.
    ALTER TABLE log_floor ADD COLUMN versions_from BIGINT NOT NULL DEFAULT 0;
    UPDATE log_floor SET versions_from = (SELECT COALESCE(MAX(position), 0) >> 24 FROM changes);
"#,
];

/// Advisory lock keys: one serializes commits, one migrations.
const WRITE_LOCK: i64 = 0x7061_6972_0001;
const MIGRATION_LOCK: i64 = 0x7061_6972_0002;
/// The channel commits are announced on.
const CHANNEL: &str = "pairing_changes";

/// The oldest revision a read at a revision can be made at, as in the SQLite store.
macro_rules! oldest_readable {
    () => {
        "SELECT COALESCE(
             (SELECT GREATEST(revision - 1, versions_from) FROM log_floor WHERE id = 1), 0)"
    };
}
const OLDEST_READABLE: &str = oldest_readable!();

/// A store in one PostgreSQL database.
pub struct PostgresStore {
    pool: Pool,
    retention: Retention,
    notifications: watch::Receiver<i64>,
}

/// The error and every error under it: "error performing TLS handshake" alone does not say
/// that the certificate's issuer is unknown.
fn unavailable(error: impl std::error::Error) -> StoreError {
    let mut message = format!("PostgreSQL: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.ends_with(&cause_text) {
            message += &format!(": {cause_text}");
        }
        source = cause.source();
    }
    StoreError::Unavailable(message)
}

impl PostgresStore {
    /// The rows `statement` reads, for a read at `revision`: refused if the log no longer
    /// keeps that revision. One snapshot for the check and the read: a compaction committing
    /// between them cannot remove what the read returns.
    async fn rows_at(
        &self,
        revision: i64,
        statement: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<ResourcesAt<Vec<tokio_postgres::Row>>, StoreError> {
        let mut client = self.pool.get().await.map_err(unavailable)?;
        let tx = snapshot(&mut client).await?;
        let oldest: i64 = tx
            .query_one(OLDEST_READABLE, &[])
            .await
            .map_err(unavailable)?
            .get(0);
        if revision < oldest {
            return Ok(ResourcesAt::Expired { oldest });
        }
        let rows = tx.query(statement, params).await.map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(ResourcesAt::Stood(rows))
    }

    /// Connects to `url`, brings the schema up to date (safely, if replicas start together)
    /// and starts listening for commits made elsewhere.
    pub async fn connect(url: &str, retained: impl Into<Retention>) -> Result<Self, StoreError> {
        let tls::Connection { config, tls } = tls::connection(url).map_err(StoreError::Settings)?;
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(8)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(unavailable)?;
        migrate(&pool).await?;
        let (sender, notifications) = watch::channel(0);
        tokio::spawn(listen(config, tls, sender));
        Ok(PostgresStore {
            pool,
            retention: retained.into(),
            notifications,
        })
    }
}

async fn migrate(pool: &Pool) -> Result<(), StoreError> {
    let mut client = pool.get().await.map_err(unavailable)?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(unavailable)?;
    let result = async {
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)",
            )
            .await
            .map_err(unavailable)?;
        for (index, script) in MIGRATIONS.iter().enumerate() {
            let version = index as i32 + 1;
            let tx = client.transaction().await.map_err(unavailable)?;
            let applied = tx
                .query_opt(
                    "SELECT version FROM schema_migrations WHERE version = $1",
                    &[&version],
                )
                .await
                .map_err(unavailable)?;
            if applied.is_none() {
                tx.batch_execute(script).await.map_err(unavailable)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version) VALUES ($1)",
                    &[&version],
                )
                .await
                .map_err(unavailable)?;
            }
            tx.commit().await.map_err(unavailable)?;
        }
        Ok(())
    }
    .await;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(unavailable)?;
    result
}

/// Keeps a LISTEN connection open, reconnecting after failures, and bumps `sender` on every
/// notification and every reconnect (after which the follower must catch up anyway).
async fn listen(
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    sender: watch::Sender<i64>,
) {
    loop {
        if sender.is_closed() {
            return;
        }
        if let Ok((client, mut connection)) = config.connect(tls.clone()).await {
            let (messages_sender, mut messages) = tokio::sync::mpsc::unbounded_channel();
            let driver = tokio::spawn(async move {
                let mut stream =
                    futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                while let Some(Ok(message)) = stream.next().await {
                    if messages_sender.send(message).is_err() {
                        break;
                    }
                }
            });
            if client
                .batch_execute(&format!("LISTEN {CHANNEL}"))
                .await
                .is_ok()
            {
                sender.send_modify(|_| {});
                while let Some(message) = messages.recv().await {
                    if let AsyncMessage::Notification(notification) = message {
                        let revision = notification.payload().parse().unwrap_or_default();
                        sender.send_modify(|latest| *latest = (*latest).max(revision));
                    }
                }
            }
            driver.abort();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn latest_revision(tx: &Transaction<'_>) -> Result<i64, StoreError> {
    let row = tx
        .query_one("SELECT COALESCE(MAX(position), 0) >> 24 FROM changes", &[])
        .await
        .map_err(unavailable)?;
    Ok(row.get(0))
}

async fn current_revisions(
    tx: &Transaction<'_>,
    names: Vec<&ResourceName>,
) -> Result<HashMap<ResourceName, i64>, StoreError> {
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let texts: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
    let rows = tx
        .query(
            "SELECT name, position >> 24 FROM resources WHERE name = ANY($1)",
            &[&texts],
        )
        .await
        .map_err(unavailable)?;
    rows.iter()
        .map(|row| {
            let name: String = row.get(0);
            let name = ResourceName::try_from(name).map_err(StoreError::Corrupt)?;
            Ok((name, row.get(1)))
        })
        .collect()
}

async fn commits_between(
    tx: &impl tokio_postgres::GenericClient,
    after: i64,
    through: i64,
) -> Result<Vec<Committed>, StoreError> {
    let rows = tx
        .query(
            "SELECT position >> 24, name, subject, commit_time, body FROM changes
             WHERE position >= $1 AND position < $2 ORDER BY position",
            &[&first_position(after + 1), &first_position(through + 1)],
        )
        .await
        .map_err(unavailable)?;
    read_commits(&rows)
}

/// The commits of change rows (revision, name, subject, commit time, body, in position
/// order).
fn read_commits(rows: &[tokio_postgres::Row]) -> Result<Vec<Committed>, StoreError> {
    group_commits(
        rows.iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect::<Vec<ChangeRow>>(),
    )
}

async fn recorded_result(
    tx: &impl tokio_postgres::GenericClient,
    request: &RequestKey,
) -> Result<Option<Committed>, StoreError> {
    let Some(row) = tx
        .query_opt(
            "SELECT fingerprint, revision, subject, commit_time FROM requests WHERE request_id = $1",
            &[&request.id],
        )
        .await
        .map_err(unavailable)?
    else {
        return Ok(None);
    };
    let recorded = RecordedRequest {
        fingerprint: row.get(0),
        revision: row.get(1),
        subject: row.get(2),
        commit_time: row.get(3),
    };
    let commits = commits_between(tx, recorded.revision - 1, recorded.revision).await;
    super::replayed(request, recorded, |_| commits).map(Some)
}

/// The first commit at or after `revision`: its revision and time.
async fn commit_time_from(
    client: &impl GenericClient,
    revision: i64,
) -> Result<Option<(i64, DateTime<Utc>)>, StoreError> {
    let row = client
        .query_opt(
            "SELECT position >> 24, commit_time FROM changes WHERE position >= $1
             ORDER BY position LIMIT 1",
            &[&first_position(revision)],
        )
        .await
        .map_err(unavailable)?;
    row.map(|row| Ok((row.get(0), parse_time(row.get(1))?)))
        .transpose()
}

/// Applies one commit as `revision` (in a group that began at `head_before_group`), or returns
/// the recorded result of its request id.
async fn commit_one(
    tx: &Transaction<'_>,
    mut commit: Commit,
    revision: i64,
    head_before_group: i64,
) -> Result<Committed, StoreError> {
    if let Some(request) = &commit.request
        && let Some(committed) = recorded_result(tx, request).await?
    {
        return Ok(committed);
    }
    let current = current_revisions(tx, precondition_names(&commit.preconditions)).await?;
    check_preconditions(&commit.preconditions, &current, head_before_group)?;
    if commit.writes.is_empty() {
        return Ok(super::empty_commit(commit, revision - 1));
    }
    let request = commit.request.clone();
    let note = std::mem::take(&mut commit.note);
    let previous = commit_time_from(tx, revision - 1).await?;
    let rows = commit_rows(commit, revision, previous.map(|(_, time)| time))?;
    let positions: Vec<i64> = rows.changes.iter().map(|c| c.position).collect();
    let names: Vec<&str> = rows.changes.iter().map(|c| c.name.as_str()).collect();
    let operations: Vec<&str> = rows.changes.iter().map(|c| c.operation).collect();
    let bodies: Vec<Option<&[u8]>> = rows.changes.iter().map(|c| c.body.as_deref()).collect();
    tx.execute(
        "INSERT INTO changes (position, name, operation, subject, commit_time, body)
         SELECT p, n, o, $4, $5, b FROM UNNEST($1::bigint[], $2::text[], $3::text[], $6::bytea[]) AS t(p, n, o, b)",
        &[&positions, &names, &operations, &rows.committed.subject, &rows.commit_time, &bodies],
    )
    .await
    .map_err(unavailable)?;
    if !rows.pointers.is_empty() {
        let names: Vec<&str> = rows.pointers.iter().map(|p| p.0.as_str()).collect();
        let collections: Vec<&str> = rows.pointers.iter().map(|p| p.1).collect();
        let positions: Vec<i64> = rows.pointers.iter().map(|p| p.2).collect();
        tx.execute(
            "INSERT INTO resources (name, collection, position)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[])
             ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position",
            &[&names, &collections, &positions],
        )
        .await
        .map_err(unavailable)?;
    }
    if !rows.removed.is_empty() {
        tx.execute(
            "DELETE FROM resources WHERE name = ANY($1)",
            &[&rows.removed],
        )
        .await
        .map_err(unavailable)?;
    }
    if let Some(request) = request {
        tx.execute(
            "INSERT INTO requests (request_id, fingerprint, revision, subject, commit_time)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &request.id,
                &request.fingerprint,
                &revision,
                &rows.committed.subject,
                &rows.commit_time,
            ],
        )
        .await
        .map_err(unavailable)?;
    }
    if !note.is_empty() {
        tx.execute(
            "INSERT INTO commit_notes (revision, request_id, reason) VALUES ($1, $2, $3)",
            &[&revision, &note.request_id, &note.reason],
        )
        .await
        .map_err(unavailable)?;
    }
    Ok(rows.committed)
}

/// A read-only transaction on one snapshot: everything read in it is of one state.
async fn snapshot(
    client: &mut deadpool_postgres::Object,
) -> Result<deadpool_postgres::Transaction<'_>, StoreError> {
    client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(unavailable)
}

/// The oldest revision the log holds whole.
async fn log_floor(tx: &Transaction<'_>) -> Result<i64, StoreError> {
    let row = tx
        .query_one(
            "SELECT COALESCE((SELECT revision FROM log_floor WHERE id = 1), 1)",
            &[],
        )
        .await
        .map_err(unavailable)?;
    Ok(row.get(0))
}

/// The newest revision committed before `cutoff` among the first changes from the floor on,
/// as in the SQLite store.
async fn aged_out(
    tx: &Transaction<'_>,
    floor: i64,
    cutoff: &str,
) -> Result<Option<i64>, StoreError> {
    let row = tx
        .query_one(
            "SELECT MAX(position) >> 24 FROM (
                 SELECT position, commit_time FROM changes WHERE position >= $1
                 ORDER BY position LIMIT $2) AS oldest
             WHERE commit_time < $3",
            &[&first_position(floor), &AGE_SCAN, &cutoff],
        )
        .await
        .map_err(unavailable)?;
    Ok(row.get(0))
}

/// Moves the log's floor past `through`, as the SQLite store's `compact` does: for each name
/// written since the last floor, the versions older than its newest up to `through` go, and
/// that one too if it is a deletion.
async fn compact(tx: &Transaction<'_>, floor: i64, through: i64) -> Result<(), StoreError> {
    if through < floor {
        return Ok(());
    }
    let below = first_position(through + 1);
    let emptied: Vec<i64> = tx
        .query(
            "WITH names AS (
                 SELECT DISTINCT name FROM changes WHERE position >= $1 AND position < $2
             )
             DELETE FROM changes c USING names
             WHERE c.name = names.name AND c.position < $2 AND (c.body IS NULL OR c.position <
                 (SELECT MAX(n.position) FROM changes n WHERE n.name = c.name AND n.position < $2))
             RETURNING c.position >> 24",
            &[&first_position(floor), &below],
        )
        .await
        .map_err(unavailable)?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if !emptied.is_empty() {
        tx.execute(
            "DELETE FROM commit_notes WHERE revision = ANY($1) AND NOT EXISTS (
                 SELECT 1 FROM changes WHERE position >= commit_notes.revision << 24
                     AND position < (commit_notes.revision + 1) << 24)",
            &[&emptied],
        )
        .await
        .map_err(unavailable)?;
    }
    tx.execute(
        "INSERT INTO log_floor (id, revision) VALUES (1, $1)
         ON CONFLICT (id) DO UPDATE SET revision = EXCLUDED.revision",
        &[&(through + 1)],
    )
    .await
    .map_err(unavailable)?;
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    async fn load_into(&self, into: LoadSender) -> Result<Loaded, StoreError> {
        let mut client = self.pool.get().await.map_err(unavailable)?;
        let tx = snapshot(&mut client).await?;
        let revision = latest_revision(&tx).await?;
        let rows = tx
            .query_raw(
                "SELECT r.name, c.body FROM resources r JOIN changes c ON c.position = r.position ORDER BY r.name",
                std::iter::empty::<&str>(),
            )
            .await
            .map_err(unavailable)?;
        let mut rows = std::pin::pin!(rows);
        let mut batch = LoadBatch::default();
        while let Some(row) = rows.next().await.transpose().map_err(unavailable)? {
            if let Some(full) = batch.add(row.get(0), row.get(1))? {
                into.send(full).await.map_err(load_abandoned)?;
            }
        }
        tx.commit().await.map_err(unavailable)?;
        let (rest, loaded) = batch.finish(revision);
        into.send(rest).await.map_err(load_abandoned)?;
        Ok(loaded)
    }

    async fn commit_group(
        &self,
        commits: Vec<Commit>,
    ) -> Result<Vec<Result<Committed, StoreError>>, StoreError> {
        let mut client = self.pool.get().await.map_err(unavailable)?;
        let mut tx = client.transaction().await.map_err(unavailable)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .await
            .map_err(unavailable)?;
        let head_before_group = latest_revision(&tx).await?;
        let mut latest = head_before_group;
        let mut results = Vec::with_capacity(commits.len());
        for commit in commits {
            let savepoint = tx.savepoint("commit").await.map_err(unavailable)?;
            match commit_one(&savepoint, commit, latest + 1, head_before_group).await {
                Ok(committed) => {
                    savepoint.commit().await.map_err(unavailable)?;
                    if !committed.replayed && !committed.writes.is_empty() {
                        latest = committed.revision;
                    }
                    results.push(Ok(committed));
                }
                Err(conflict @ StoreError::Conflict(_)) => {
                    savepoint.rollback().await.map_err(unavailable)?;
                    results.push(Err(conflict));
                }
                Err(other) => return Err(other),
            }
        }
        if self.retention.limits_log() {
            let floor = log_floor(&tx).await?;
            let aged_out = match self.retention.log_cutoff() {
                Some(cutoff) => aged_out(&tx, floor, &cutoff).await?,
                None => None,
            };
            if let Some(through) = self.retention.compact_through(latest, aged_out) {
                compact(&tx, floor, through).await?;
            }
        }
        if let Some(cutoff) = self.retention.request_cutoff() {
            tx.execute("DELETE FROM requests WHERE commit_time < $1", &[&cutoff])
                .await
                .map_err(unavailable)?;
        }
        tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &latest.to_string()])
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(results)
    }

    async fn find_request(&self, request: &RequestKey) -> Result<Option<Committed>, StoreError> {
        let client = self.pool.get().await.map_err(unavailable)?;
        recorded_result(&**client, request).await
    }

    async fn commits_after(&self, after: i64, limit: usize) -> Result<Vec<Committed>, StoreError> {
        let client = self.pool.get().await.map_err(unavailable)?;
        commits_between(&**client, after, after + limit as i64).await
    }

    async fn changes_from(
        &self,
        position: i64,
        limit: usize,
    ) -> Result<Vec<Committed>, StoreError> {
        let client = self.pool.get().await.map_err(unavailable)?;
        let rows = client
            .query(
                "SELECT position >> 24, name, subject, commit_time, body FROM changes
                 WHERE position >= $1 ORDER BY position LIMIT $2",
                &[&position, &(limit as i64)],
            )
            .await
            .map_err(unavailable)?;
        read_commits(&rows)
    }

    async fn versions_before(
        &self,
        name: &ResourceName,
        position: i64,
        limit: usize,
    ) -> Result<Vec<Version>, StoreError> {
        let client = self.pool.get().await.map_err(unavailable)?;
        let rows = client
            .query(
                "SELECT c.position, c.subject, c.commit_time, c.body,
                        COALESCE(n.request_id, ''), COALESCE(n.reason, '')
                 FROM changes c LEFT JOIN commit_notes n ON n.revision = c.position >> 24
                 WHERE c.name = $1 AND c.position < $2
                 ORDER BY c.position DESC LIMIT $3",
                &[&name.as_str(), &position, &(limit as i64)],
            )
            .await
            .map_err(unavailable)?;
        rows.iter()
            .map(|row| {
                VersionRow {
                    position: row.get(0),
                    subject: row.get(1),
                    commit_time: row.get(2),
                    body: row.get(3),
                    request_id: row.get(4),
                    reason: row.get(5),
                }
                .version(name.as_str())
            })
            .collect()
    }

    async fn version_at(
        &self,
        name: &ResourceName,
        revision: i64,
    ) -> Result<VersionAt, StoreError> {
        let client = self.pool.get().await.map_err(unavailable)?;
        let row = client
            .query_one(
                concat!(
                    "SELECT (",
                    oldest_readable!(),
                    "), (SELECT body FROM changes WHERE name = $1 AND position < $2
                         ORDER BY position DESC LIMIT 1)"
                ),
                &[&name.as_str(), &first_position(revision + 1)],
            )
            .await
            .map_err(unavailable)?;
        VersionAt::of(name, revision, row.get(0), row.get(1))
    }

    async fn resources_at(
        &self,
        collection: Collection,
        after: Option<&str>,
        revision: i64,
        limit: usize,
    ) -> Result<ResourcesAt, StoreError> {
        let (from, to) = name_range(collection, after);
        let rows = self
            .rows_at(
                revision,
                "SELECT c.name, c.body FROM changes c
                 WHERE c.name > $1 AND c.name < $2 AND c.position < $3 AND c.body IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM changes n WHERE n.name = c.name
                                   AND n.position > c.position AND n.position < $3)
                 ORDER BY c.name LIMIT $4",
                &[&from, &to, &first_position(revision + 1), &(limit as i64)],
            )
            .await?;
        rows.map(|rows| {
            rows.iter()
                .map(|row| decode(row.get(0), row.get(1)))
                .collect()
        })
    }

    async fn changed_after(
        &self,
        revision: i64,
        through: i64,
    ) -> Result<ResourcesAt<Vec<Stood>>, StoreError> {
        let rows = self
            .rows_at(
                revision,
                "SELECT n.name, (SELECT p.body FROM changes p WHERE p.name = n.name
                                 AND p.position < $1 ORDER BY p.position DESC LIMIT 1)
                 FROM (SELECT DISTINCT name FROM changes WHERE position >= $1 AND position < $2) n",
                &[&first_position(revision + 1), &first_position(through + 1)],
            )
            .await?;
        rows.map(|rows| {
            rows.iter()
                .map(|row| super::log::stood(row.get::<_, String>(0), row.get(1)))
                .collect()
        })
    }

    async fn commit_time_from(
        &self,
        revision: i64,
    ) -> Result<Option<(i64, DateTime<Utc>)>, StoreError> {
        let client = self.pool.get().await.map_err(unavailable)?;
        commit_time_from(&**client, revision).await
    }

    async fn oldest_readable(&self) -> Result<i64, StoreError> {
        let client = self.pool.get().await.map_err(unavailable)?;
        let row = client
            .query_one(OLDEST_READABLE, &[])
            .await
            .map_err(unavailable)?;
        Ok(row.get(0))
    }

    async fn oldest_revision(&self) -> Result<Option<i64>, StoreError> {
        let client = self.pool.get().await.map_err(unavailable)?;
        let row = client
            .query_one(
                "SELECT COALESCE((SELECT revision FROM log_floor WHERE id = 1),
                                 (SELECT MIN(position) >> 24 FROM changes))",
                &[],
            )
            .await
            .map_err(unavailable)?;
        Ok(row.get(0))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(unavailable)?;
        client.simple_query("SELECT 1").await.map_err(unavailable)?;
        Ok(())
    }

    fn change_notifications(&self) -> Option<watch::Receiver<i64>> {
        Some(self.notifications.clone())
    }
}
