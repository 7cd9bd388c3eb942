//! One suite of store tests, run against both backends: SQLite in a temporary file and
//! PostgreSQL in a fresh database.

mod common;

use std::sync::Arc;

use common::postgres::PgDatabase;
use pairing_aid::changes::load_model;
use pairing_aid::domain::{Catalog, Collection, Resource, ResourceName};
use pairing_aid::domain::{Commit, Conflict, Precondition, RequestKey, Write};
use pairing_aid::store::{PostgresStore, SqliteStore, Store, StoreError};

fn demo() -> Vec<Resource> {
    pairing_aid::seed::demo_resources().unwrap()
}

fn put(resource: &Resource) -> Write {
    Write::Put(Box::new(resource.clone()))
}

fn commit(writes: Vec<Write>) -> Commit {
    Commit {
        subject: "suite".into(),
        writes,
        ..Commit::default()
    }
}

fn name(collection: Collection, id: &str) -> ResourceName {
    ResourceName::new(collection, id).unwrap()
}

/// Everything both backends must do alike.
async fn suite(store: Arc<dyn Store>) {
    let empty = store.load().await.unwrap();
    assert_eq!((empty.revision, empty.resources.len()), (0, 0));

    // A commit gets the next revision and its bookkeeping; loading gives it back.
    let resources = demo();
    let first = store
        .commit(commit(resources.iter().take(60).map(put).collect()))
        .await
        .unwrap();
    assert_eq!(first.revision, 1);
    let loaded = store.load().await.unwrap();
    assert_eq!((loaded.revision, loaded.resources.len()), (1, 60));
    assert!(
        loaded
            .resources
            .iter()
            .all(|r| r.meta().revision == 1 && r.meta().create_time.is_some())
    );

    // Failed preconditions write nothing, and say which resource and why.
    let beijing = name(Collection::Parties, "beijing");
    let missing = name(Collection::Parties, "atlantis");
    for (precondition, expected) in [
        (
            Precondition::Absent(beijing.clone()),
            Conflict::Exists(beijing.clone()),
        ),
        (
            Precondition::Exists(missing.clone()),
            Conflict::Missing(missing.clone()),
        ),
        (
            Precondition::AtRevision(beijing.clone(), 7),
            Conflict::Stale {
                name: beijing.clone(),
                expected: 7,
                actual: 1,
            },
        ),
        // Planned against revision 0, but revision 1 was committed since (by "another
        // replica", as far as this commit knows).
        (
            Precondition::PlannedAt(0),
            Conflict::Overtaken {
                planned_at: 0,
                head: 1,
            },
        ),
    ] {
        let mut refused = commit(vec![put(&resources[70])]);
        refused.preconditions = vec![precondition];
        match store.commit(refused).await {
            Err(StoreError::Conflict(conflict)) => assert_eq!(conflict, expected),
            other => panic!("expected {expected:?}, got {other:?}"),
        }
    }
    assert_eq!(
        store.load().await.unwrap().revision,
        1,
        "nothing was written"
    );

    // A group commits each member under its own gap-free revision; a failing member alone is
    // rolled back. A member planned at the revision the group began from passes, though an
    // earlier member of its own group committed after it.
    let mut failing = commit(vec![put(&resources[71])]);
    failing.preconditions = vec![Precondition::Exists(missing.clone())];
    let mut delete = commit(vec![Write::Delete(beijing.clone())]);
    delete.preconditions = vec![Precondition::PlannedAt(1)];
    let outcomes = store
        .commit_group(vec![commit(vec![put(&resources[70])]), failing, delete])
        .await
        .unwrap();
    assert_eq!(outcomes[0].as_ref().unwrap().revision, 2);
    assert!(matches!(
        outcomes[1],
        Err(StoreError::Conflict(Conflict::Missing(_)))
    ));
    assert_eq!(outcomes[2].as_ref().unwrap().revision, 3);
    let loaded = store.load().await.unwrap();
    assert_eq!(
        loaded.resources.len(),
        60,
        "one added, one deleted, the failed one absent"
    );
    assert!(!loaded.resources.iter().any(|r| r.name() == &beijing));

    // A request id is applied once; the same id with other content is refused.
    let key = RequestKey {
        id: "suite/req-1".into(),
        fingerprint: "a".into(),
    };
    let mut keyed = commit(vec![put(&resources[72])]);
    keyed.request = Some(key.clone());
    let once = store.commit(keyed.clone()).await.unwrap();
    let again = store.commit(keyed).await.unwrap();
    assert_eq!(
        (once.revision, again.revision, again.replayed),
        (4, 4, true)
    );
    assert_eq!(again.writes, once.writes);
    assert_eq!(store.find_request(&key).await.unwrap().unwrap().revision, 4);
    let mut other = commit(vec![put(&resources[73])]);
    other.request = Some(RequestKey {
        fingerprint: "b".into(),
        ..key
    });
    assert!(matches!(
        store.commit(other).await,
        Err(StoreError::Conflict(Conflict::RequestReused(_)))
    ));

    // The log gives back every commit in order, deletions included.
    let log = store.commits_after(1, 10).await.unwrap();
    let revisions: Vec<i64> = log.iter().map(|c| c.revision).collect();
    assert_eq!(revisions, vec![2, 3, 4]);
    assert!(matches!(&log[1].writes[0], Write::Delete(n) if n == &beijing));
    assert_eq!(log[0].subject, "suite");
    assert_eq!(store.oldest_revision().await.unwrap(), Some(1));
    store.ping().await.unwrap();
}

/// Compaction keeps every resource's body but drops older changes.
async fn compaction(store: Arc<dyn Store>) {
    let resources = demo();
    for resource in resources.iter().take(6) {
        store.commit(commit(vec![put(resource)])).await.unwrap();
    }
    assert_eq!(
        store.oldest_revision().await.unwrap(),
        Some(5),
        "two revisions kept"
    );
    assert_eq!(
        store.load().await.unwrap().resources.len(),
        6,
        "bodies still pointed at survive"
    );
    assert_eq!(store.commits_after(4, 10).await.unwrap().len(), 2);
}

/// A record many load batches long comes back whole and in name order, and the read model
/// built from the load's stream holds every resource as stored.
async fn large_load(store: Arc<dyn Store>) {
    let mut resources = demo();
    pairing_aid::seed::each_scaled_resource(1_500, 3_000, |r| resources.push(r)).unwrap();
    store
        .commit(commit(resources.iter().map(put).collect()))
        .await
        .unwrap();
    let loaded = store.load().await.unwrap();
    let mut names: Vec<&ResourceName> = resources.iter().map(Resource::name).collect();
    names.sort();
    assert!(names.len() > 4_000, "{} resources", names.len());
    assert!(loaded.resources.iter().map(Resource::name).eq(names));

    let model = load_model(store.as_ref()).await.unwrap();
    assert_eq!(model.revision, 1);
    let (mut projects, mut observations) = (0, 0);
    for resource in loaded.resources {
        match resource {
            Resource::Project(p) => {
                projects += 1;
                assert_eq!(model.projects.get(&p.name).as_ref(), Some(&p));
            }
            Resource::Observation(o) => {
                observations += 1;
                assert_eq!(model.observations.get(&o.name).as_ref(), Some(&o));
            }
            other => assert!(model.contains(other.name()), "{}", other.name()),
        }
    }
    assert_eq!(
        (model.projects.len(), model.observations.len()),
        (projects, observations)
    );
}

#[tokio::test]
async fn sqlite_passes_the_store_suite() {
    let dir = tempfile::tempdir().unwrap();
    suite(Arc::new(
        SqliteStore::open(&dir.path().join("suite.db"), None).unwrap(),
    ))
    .await;
    compaction(Arc::new(
        SqliteStore::open(&dir.path().join("compact.db"), Some(2)).unwrap(),
    ))
    .await;
    large_load(Arc::new(
        SqliteStore::open(&dir.path().join("large.db"), None).unwrap(),
    ))
    .await;
}

/// Under continuous writes the write-ahead log is folded in and restarted, not left to grow
/// with everything written. The checkpoint thread usually restarts it near 16 MiB; on a
/// loaded machine (every test binary at once on two cores) it can be starved, and then the
/// writer's own checkpoint at 64 MiB bounds it: the bound asserted is that one, with more
/// written than it, so the test holds however the thread is scheduled.
#[tokio::test]
async fn sqlite_keeps_its_write_ahead_log_bounded_under_continuous_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal.db");
    let store = SqliteStore::open(&path, None).unwrap();
    let mut project = demo()
        .into_iter()
        .find_map(|r| match r {
            Resource::Project(project) => Some(project),
            _ => None,
        })
        .unwrap();
    const COMMITS: usize = 1000;
    const DESCRIPTION_BYTES: usize = 100_000;
    let mut largest_log = 0;
    for round in 0..COMMITS {
        project.description = format!("{round} {}", "x".repeat(DESCRIPTION_BYTES));
        let resource = Resource::Project(project.clone());
        store.commit(commit(vec![put(&resource)])).await.unwrap();
        let log = std::fs::metadata(dir.path().join("wal.db-wal")).map_or(0, |m| m.len());
        largest_log = largest_log.max(log);
    }
    let written = (COMMITS * DESCRIPTION_BYTES) as u64;
    assert!(
        largest_log < written * 3 / 4,
        "the log reached {largest_log} bytes after {written} bytes were written"
    );
}

#[tokio::test]
async fn postgres_passes_the_store_suite() {
    let Some(database) = PgDatabase::create().await else {
        return;
    };
    suite(Arc::new(
        PostgresStore::connect(&database.url(), None).await.unwrap(),
    ))
    .await;
    let Some(database) = PgDatabase::create().await else {
        return;
    };
    compaction(Arc::new(
        PostgresStore::connect(&database.url(), Some(2))
            .await
            .unwrap(),
    ))
    .await;
    let Some(database) = PgDatabase::create().await else {
        return;
    };
    large_load(Arc::new(
        PostgresStore::connect(&database.url(), None).await.unwrap(),
    ))
    .await;
}

#[tokio::test]
async fn postgres_migrations_are_safe_when_replicas_start_together() {
    let Some(database) = PgDatabase::create().await else {
        return;
    };
    let url = database.url();
    let starts = (0..4).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { PostgresStore::connect(&url, None).await.map(|_| ()) })
    });
    for start in starts {
        start.await.unwrap().expect("every replica starts");
    }
}
