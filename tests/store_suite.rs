//! One suite of store tests, run against both backends: SQLite in a temporary file and
//! PostgreSQL in a fresh database.

mod common;

use std::sync::Arc;

use common::postgres::PgDatabase;
use pairing_aid::changes::load_model;
use pairing_aid::domain::{Catalog, Collection, Resource, ResourceName};
use pairing_aid::domain::{Commit, Conflict, Precondition, RequestKey, Write};
use pairing_aid::store::{
    PostgresStore, ResourcesAt, Retention, SqliteStore, Store, StoreError, VersionAt,
};

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

/// A resource read as of any revision the log keeps is exactly what stood then, through random
/// puts and deletes of a few names, with the log compacted behind them or not; the versions
/// carry their commit's note, and a compacted log keeps no version no read can find.
async fn versions(store: Arc<dyn Store>, retained: Option<i64>) {
    use pairing_aid::domain::CommitNote;
    use pairing_aid::store::position;
    let resources: Vec<Resource> = demo().into_iter().take(5).collect();
    // What each name held after each revision: the revision of its put, none once deleted.
    let mut states: Vec<Vec<Option<i64>>> = vec![vec![None; resources.len()]];
    let mut changes_of = vec![0; resources.len()];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 1..=40_i64 {
        let mut state = states.last().unwrap().clone();
        let mut writes = Vec::new();
        for (i, resource) in resources.iter().enumerate() {
            match next() % 4 {
                0 => {
                    writes.push(put(resource));
                    state[i] = Some(round);
                }
                1 if state[i].is_some() => {
                    writes.push(Write::Delete(resource.name().clone()));
                    state[i] = None;
                }
                _ => {}
            }
        }
        if writes.is_empty() {
            writes.push(put(&resources[0]));
            state[0] = Some(round);
        }
        for write in &writes {
            let i = resources
                .iter()
                .position(|r| r.name() == write.name())
                .unwrap();
            changes_of[i] += 1;
        }
        let mut written = commit(writes);
        written.note = CommitNote {
            request_id: format!("req-{round}"),
            reason: format!("round {round}"),
        };
        assert_eq!(store.commit(written).await.unwrap().revision, round);
        states.push(state);

        // The oldest revision whose every version the log keeps, and reads at each revision
        // from it on.
        let oldest = retained.map_or(0, |retained| (round - retained).max(0));
        if oldest > 0 {
            assert_eq!(
                store
                    .version_at(resources[0].name(), oldest - 1)
                    .await
                    .unwrap(),
                VersionAt::Expired { oldest },
                "after revision {round}"
            );
            assert_eq!(
                store
                    .resources_at(resources[0].collection(), None, oldest - 1, 10)
                    .await
                    .unwrap(),
                ResourcesAt::Expired { oldest }
            );
        }
        for revision in oldest.max(1)..=round {
            // The whole record at the revision, two at a time, equals what stood then.
            let mut stood: Vec<(String, i64)> = resources
                .iter()
                .zip(&states[revision as usize])
                .filter_map(|(r, state)| state.map(|at| (r.name().to_string(), at)))
                .collect();
            stood.sort();
            let mut read = Vec::new();
            for collection in Collection::ALL {
                let mut after: Option<String> = None;
                loop {
                    let chunk = match store
                        .resources_at(collection, after.as_deref(), revision, 2)
                        .await
                        .unwrap()
                    {
                        ResourcesAt::Stood(chunk) => chunk,
                        expired => panic!("{expired:?} at {revision}"),
                    };
                    let Some(last) = chunk.last() else { break };
                    after = Some(last.name().to_string());
                    read.extend(
                        chunk
                            .iter()
                            .map(|r| (r.name().to_string(), r.meta().revision)),
                    );
                }
            }
            read.sort();
            assert_eq!(
                read, stood,
                "the record at revision {revision}, after revision {round}"
            );
            for (i, resource) in resources.iter().enumerate() {
                let stood = match store.version_at(resource.name(), revision).await.unwrap() {
                    VersionAt::Stood(resource) => resource.map(|r| r.meta().revision),
                    expired => panic!("{expired:?} at {revision}, after revision {round}"),
                };
                assert_eq!(
                    stood,
                    states[revision as usize][i],
                    "{} at revision {revision}, after revision {round}",
                    resource.name()
                );
                let found = store
                    .versions_before(resource.name(), position(revision + 1, 0), 1)
                    .await
                    .unwrap();
                if let Some(version) = found.first() {
                    assert_eq!(version.note.reason, format!("round {}", version.revision));
                    assert_eq!(version.note.request_id, format!("req-{}", version.revision));
                }
            }
        }
    }
    // Kept: the versions at or after the oldest readable revision, and, before it, only each
    // name's last one if it stands.
    for (resource, changes) in resources.iter().zip(changes_of) {
        let kept = store
            .versions_before(resource.name(), i64::MAX, 100)
            .await
            .unwrap();
        let floor = retained.map_or(0, |retained| 40 - retained);
        let before_floor = kept.iter().filter(|v| v.revision <= floor).count();
        match retained {
            Some(_) => assert!(
                before_floor <= 1
                    && kept
                        .iter()
                        .filter(|v| v.revision <= floor)
                        .all(|v| v.resource.is_some()),
                "{}: {:?}",
                resource.name(),
                kept.iter().map(|v| v.revision).collect::<Vec<_>>()
            ),
            None => assert_eq!(kept.len(), changes, "every version kept"),
        }
    }
}

/// Under continuous writes the store stays bounded: with the log kept by count each name
/// holds the versions of the window and one before it, request ids expire by age (a retry
/// after that is a new write), and a log kept by age is compacted up to the first revision
/// young enough.
async fn bounded(store: Arc<dyn Store>, by_age: Arc<dyn Store>) {
    let resources: Vec<Resource> = demo().into_iter().take(10).collect();
    for round in 0..400 {
        let mut keyed = commit(vec![put(&resources[round % 10])]);
        keyed.request = Some(RequestKey {
            id: format!("suite/bounded-{round}"),
            fingerprint: "f".into(),
        });
        store.commit(keyed).await.unwrap();
    }
    for resource in &resources {
        let kept = store
            .versions_before(resource.name(), i64::MAX, 1000)
            .await
            .unwrap();
        assert!(
            (1..=3).contains(&kept.len()),
            "{}: 40 versions written, {} kept",
            resource.name(),
            kept.len()
        );
    }
    assert_eq!(store.oldest_revision().await.unwrap(), Some(400 - 20 + 1));
    let first = RequestKey {
        id: "suite/bounded-0".into(),
        fingerprint: "f".into(),
    };
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    store
        .commit(commit(vec![put(&resources[0])]))
        .await
        .unwrap();
    assert!(
        store.find_request(&first).await.unwrap().is_none(),
        "a request id older than a second is forgotten"
    );

    for resource in resources.iter().take(5) {
        by_age.commit(commit(vec![put(resource)])).await.unwrap();
    }
    assert_eq!(by_age.oldest_revision().await.unwrap(), Some(1));
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    by_age
        .commit(commit(vec![put(&resources[5])]))
        .await
        .unwrap();
    assert_eq!(
        by_age.oldest_revision().await.unwrap(),
        Some(6),
        "the five revisions older than a second are compacted"
    );
    assert_eq!(
        by_age.version_at(resources[0].name(), 4).await.unwrap(),
        VersionAt::Expired { oldest: 5 }
    );
    assert!(matches!(
        by_age.version_at(resources[0].name(), 5).await.unwrap(),
        VersionAt::Stood(Some(_))
    ));
}

/// Keeps 20 revisions and request ids for a second.
fn twenty_revisions() -> Retention {
    Retention {
        revisions: Some(20),
        max_age: None,
        request_ids_for: Some(std::time::Duration::from_secs(1)),
    }
}

/// Keeps revisions for a second.
fn one_second() -> Retention {
    Retention {
        max_age: Some(std::time::Duration::from_secs(1)),
        ..Retention::default()
    }
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
    for (file, retained) in [("versions.db", None), ("versions-compacted.db", Some(3))] {
        let store = SqliteStore::open(&dir.path().join(file), retained).unwrap();
        versions(Arc::new(store), retained).await;
    }
    bounded(
        Arc::new(SqliteStore::open(&dir.path().join("bounded.db"), twenty_revisions()).unwrap()),
        Arc::new(SqliteStore::open(&dir.path().join("by-age.db"), one_second()).unwrap()),
    )
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
    for retained in [None, Some(3)] {
        let Some(database) = PgDatabase::create().await else {
            return;
        };
        let store = PostgresStore::connect(&database.url(), retained)
            .await
            .unwrap();
        versions(Arc::new(store), retained).await;
    }
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
