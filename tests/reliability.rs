//! Crashes and store faults, against the real binary: `kill -9` at random points during imports
//! and updates, a full disk and a read-only database file. These take a while, so they are
//! ignored by default; CI runs them with `cargo test --release --test reliability --
//! --ignored`. `PAIRING_AID_CRASH_ROUNDS` sets the number of crash rounds (20 by default).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{TestServer, WRITE_TOKEN, project};
use pairing_aid_client::{Client, RetryPolicy, v1};

const BATCH: usize = 20;
const BATCHES: usize = 30;

async fn connect(server: &TestServer) -> Client {
    Client::builder()
        .endpoint(server.endpoint())
        .token(WRITE_TOKEN)
        .retry(RetryPolicy::none())
        .connect()
        .await
        .unwrap()
}

fn counter_update(value: u64) -> v1::UpdateProjectRequest {
    v1::UpdateProjectRequest {
        project: Some(v1::Project {
            name: "projects/crash-counter".into(),
            description: value.to_string(),
            ..Default::default()
        }),
        update_mask: Some(pairing_aid_client::prost_types::FieldMask {
            paths: vec!["description".into()],
        }),
        request_id: format!("counter-{value}"),
        reason: String::new(),
    }
}

/// Imports BATCHES batches of new projects for `round`, killing the server with SIGKILL right
/// after batch `kill_after` is acknowledged, while later batches are in flight; returns how
/// many batches were acknowledged.
async fn import_until_killed(client: Client, round: usize, kill_after: usize, pid: u32) -> usize {
    let records = (0..BATCH * BATCHES).map(move |i| v1::Record {
        resource: Some(v1::record::Resource::Project(project(&format!(
            "crash-{round:02}-{i:03}"
        )))),
    });
    let mut acknowledged = 0;
    let _ = client
        .import(&format!("crash-{round}"), records, BATCH, |progress| {
            acknowledged = progress.batches as usize;
            if acknowledged == kill_after {
                let killed = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                assert!(killed.unwrap().success());
            }
        })
        .await;
    acknowledged
}

/// Updates the counter project with 1, 2, 3... one at a time; returns the last value the
/// server acknowledged and the last one sent.
async fn update_until_killed(client: Client, from: u64) -> (u64, u64) {
    let mut acknowledged = from;
    let mut value = from;
    loop {
        value += 1;
        match client
            .projects()
            .update_project(counter_update(value))
            .await
        {
            Ok(_) => acknowledged = value,
            Err(_) => return (acknowledged, value),
        }
    }
}

/// A pseudo-random batch for `round` after which the server is killed, so kills land at
/// different points each round but the same points on every run.
fn kill_after(round: usize) -> usize {
    let mixed = (round as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    1 + (mixed % (BATCHES as u64 - 1)) as usize
}

async fn project_names(server: &TestServer, prefix: &str) -> std::collections::BTreeSet<String> {
    common::all_projects(server, "")
        .await
        .into_iter()
        .map(|p| p.name)
        .filter(|name| name.starts_with(prefix))
        .collect()
}

async fn export(server: &TestServer) -> Vec<v1::Record> {
    let client = connect(server).await;
    let mut stream = client
        .records()
        .export_records(v1::ExportRecordsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut records = Vec::new();
    while let Some(chunk) = stream.message().await.unwrap() {
        records.extend(chunk.records);
    }
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "about a minute; CI runs it with --ignored"]
async fn kill_9_during_imports_and_updates_loses_no_acknowledged_write() {
    let rounds: usize = std::env::var("PAIRING_AID_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let database = common::database_in(&dir);
    let mut server = TestServer::start_on(&database, &common::token_args());
    let client = connect(&server).await;
    let mut counter = project("crash-counter");
    counter.description = "0".into();
    client
        .projects()
        .create_project(v1::CreateProjectRequest {
            project: Some(counter),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut acknowledged_counter = 0;
    let mut interrupted_imports = 0;
    let mut updates_acknowledged = 0;
    for round in 0..rounds {
        let start = acknowledged_counter.max(round as u64 * 1_000_000);
        let updating = tokio::spawn(update_until_killed(connect(&server).await, start));
        // Let the updates run a little before the import starts.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let acknowledged_batches = import_until_killed(
            connect(&server).await,
            round,
            kill_after(round),
            server.pid(),
        )
        .await;
        let (acknowledged, attempted) = updating.await.unwrap();
        server.kill_hard();
        // Acknowledgements already on the wire when the server died still arrive.
        assert!(acknowledged_batches >= kill_after(round), "round {round}");
        interrupted_imports += usize::from(acknowledged_batches < BATCHES);
        assert!(acknowledged > start, "round {round}: updates ran");
        updates_acknowledged += acknowledged - start;
        server = TestServer::start_on(&database, &common::token_args());

        // Every acknowledged batch is there whole; any other batch whole or not at all.
        let names = project_names(&server, &format!("projects/crash-{round:02}-")).await;
        for batch in 0..BATCHES {
            let present = (batch * BATCH..(batch + 1) * BATCH)
                .filter(|i| names.contains(&format!("projects/crash-{round:02}-{i:03}")))
                .count();
            if batch < acknowledged_batches {
                assert_eq!(present, BATCH, "round {round}: acknowledged batch {batch}");
            } else {
                assert!(
                    present == 0 || present == BATCH,
                    "round {round}: batch {batch} is half there ({present} of {BATCH})"
                );
            }
        }
        // The counter holds the last acknowledged value or a later one that was sent.
        let stored: u64 = connect(&server)
            .await
            .projects()
            .get_project(v1::GetProjectRequest {
                name: "projects/crash-counter".into(),
                min_revision: 0,
                read_at: None,
            })
            .await
            .unwrap()
            .into_inner()
            .project
            .unwrap()
            .description
            .parse()
            .unwrap();
        assert!(
            (acknowledged..=attempted).contains(&stored),
            "round {round}: counter {stored}, acknowledged {acknowledged}, sent up to {attempted}"
        );
        acknowledged_counter = stored;
    }

    eprintln!(
        "{rounds} kills: {interrupted_imports} inside an import, {updates_acknowledged} updates acknowledged"
    );
    assert!(
        interrupted_imports * 2 >= rounds,
        "most kills land inside an import: {interrupted_imports} of {rounds}"
    );

    // Revisions have no gaps: every commit from 1 to the latest is in the log.
    let changes = common::all_changes(&server, 0, 1000).await;
    let revisions: std::collections::BTreeSet<i64> = changes.iter().map(|c| c.revision).collect();
    let latest = *revisions.last().unwrap();
    assert_eq!(
        revisions.len() as i64,
        latest,
        "revisions 1..={latest} all present"
    );

    // The read model kept up to date write by write equals one rebuilt from the store.
    let client = connect(&server).await;
    client
        .projects()
        .update_project(counter_update(acknowledged_counter + 1))
        .await
        .unwrap();
    let incremental = export(&server).await;
    assert!(server.stop().success());
    let rebuilt_server = TestServer::start_on(&database, &common::token_args());
    let rebuilt = export(&rebuilt_server).await;
    assert_eq!(incremental.len(), rebuilt.len());
    let by_position: BTreeMap<usize, (&v1::Record, &v1::Record)> =
        incremental.iter().zip(&rebuilt).enumerate().collect();
    for (position, (before, after)) in by_position {
        assert_eq!(before, after, "record {position} differs after a rebuild");
    }
}

/// A small tmpfs mounted on a temporary directory, unmounted when dropped: a disk that can fill
/// up or turn read-only under a running server.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts one of `megabytes`; `None` where the tests may not mount (not root), which
    /// CI does not accept.
    fn mount(megabytes: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            assert!(!common::in_ci(), "CI must be able to mount a tmpfs");
            eprintln!("skipped: cannot mount a tmpfs here");
            return None;
        }
        Some(SmallDisk { dir })
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    fn remount(&self, option: &str) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{option}")])
            .arg(self.dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

fn batch(prefix: &str, from: usize, count: usize) -> v1::BatchUpsertProjectsRequest {
    v1::BatchUpsertProjectsRequest {
        projects: (from..from + count)
            .map(|i| project(&format!("{prefix}-{i:05}")))
            .collect(),
        request_id: format!("{prefix}-{from}"),
        reason: String::new(),
    }
}

/// Reads still answer: a Get of a project written before the fault, and a listing.
async fn reads_go_on(server: &TestServer, name: &str) {
    let client = connect(server).await;
    client
        .projects()
        .get_project(v1::GetProjectRequest {
            name: name.into(),
            min_revision: 0,
            read_at: None,
        })
        .await
        .expect("reads are served while writes fail");
    assert!(!common::all_projects(server, "").await.is_empty());
}

/// `PRAGMA integrity_check` of the database file.
fn integrity(database: &std::path::Path) -> String {
    rusqlite::Connection::open(database)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
#[ignore = "mounts a tmpfs (needs root); CI runs it with --ignored"]
async fn a_full_disk_refuses_writes_clearly_serves_reads_and_recovers() {
    let Some(disk) = SmallDisk::mount(6) else {
        return;
    };
    let database = disk.path().join("pairing-aid.db");
    // Room the test frees later, as an operator would.
    let filler = disk.path().join("filler");
    std::fs::write(&filler, vec![0u8; 2 << 20]).unwrap();
    let server = TestServer::start_on(&database, &common::token_args());
    let client = connect(&server).await;
    let mut written = 0;
    let refusal = loop {
        match client
            .records()
            .batch_upsert_projects(batch("full", written, 200))
            .await
        {
            Ok(_) => written += 200,
            Err(status) => break status,
        }
        assert!(written < 1_000_000, "the disk never filled up");
    };
    assert!(written > 0, "some batches fit");
    assert_eq!(
        refusal.code(),
        tonic::Code::ResourceExhausted,
        "{refusal:?}"
    );
    assert_eq!(
        tonic_types::StatusExt::get_error_details(&refusal)
            .error_info()
            .map(|info| info.reason.clone()),
        Some("STORE_FULL".to_owned())
    );
    assert!(refusal.message().contains("full"), "{}", refusal.message());
    reads_go_on(&server, "projects/full-00000").await;

    std::fs::remove_file(&filler).unwrap();
    client
        .records()
        .batch_upsert_projects(batch("full", written, 200))
        .await
        .expect("writes succeed again once there is room, without a restart");
    written += 200;
    assert!(server.stop().success());
    assert_eq!(integrity(&database), "ok");
    let restarted = TestServer::start_on(&database, &common::token_args());
    let names = project_names(&restarted, "projects/full-").await;
    assert_eq!(
        names.len(),
        written,
        "every acknowledged batch, nothing of the refused one"
    );
}

#[tokio::test]
#[ignore = "mounts a tmpfs (needs root); CI runs it with --ignored"]
async fn a_database_on_a_read_only_disk_serves_reads_and_refuses_writes_clearly() {
    let Some(disk) = SmallDisk::mount(64) else {
        return;
    };
    let database = disk.path().join("pairing-aid.db");
    let server = TestServer::start_on(&database, &common::token_args());
    connect(&server)
        .await
        .records()
        .batch_upsert_projects(batch("ro", 0, 50))
        .await
        .unwrap();
    assert!(server.stop().success());
    // A file system cannot turn read-only under open files, so the server starts on one.
    disk.remount("ro");
    let server = TestServer::start_on(&database, &common::token_args());
    let refusal = connect(&server)
        .await
        .records()
        .batch_upsert_projects(batch("ro", 50, 50))
        .await
        .unwrap_err();
    assert_eq!(refusal.code(), tonic::Code::Unavailable, "{refusal:?}");
    assert!(
        refusal.message().contains("read-only"),
        "{}",
        refusal.message()
    );
    reads_go_on(&server, "projects/ro-00049").await;
    assert_eq!(project_names(&server, "projects/ro-").await.len(), 50);
    assert!(server.stop().success());

    disk.remount("rw");
    assert_eq!(integrity(&database), "ok");
    let server = TestServer::start_on(&database, &common::token_args());
    connect(&server)
        .await
        .records()
        .batch_upsert_projects(batch("ro", 50, 50))
        .await
        .expect("writable again");
    assert_eq!(project_names(&server, "projects/ro-").await.len(), 100);
}
