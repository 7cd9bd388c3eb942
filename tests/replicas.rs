//! Several server processes on one PostgreSQL: writes through one are read and watched
//! through the others, a PostgreSQL restart in the middle, a late replica catching up, and a
//! paused one reloading the record once the log no longer reaches back to it.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::postgres::PgDatabase;
use common::{TestServer, WRITE_TOKEN, create_request};
use pairing_aid_client::tonic::Code;
use pairing_aid_client::v1::*;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

/// Held by each test for its whole run: one of them stops PostgreSQL under every other.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A fresh database, and PostgreSQL to this test alone until the guard is dropped.
async fn fresh_database_alone() -> Option<(tokio::sync::MutexGuard<'static, ()>, PgDatabase)> {
    let alone = ONE_AT_A_TIME.lock().await;
    Some((alone, PgDatabase::create().await?))
}

/// Stops the local PostgreSQL cluster and starts it again when dropped, even if the test fails.
struct PostgresOutage {
    version: String,
}

impl PostgresOutage {
    fn cluster(action: &str, version: &str) {
        let status = Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", version, "main", action])
            .status()
            .expect("pg_ctlcluster runs");
        assert!(status.success(), "pg_ctlcluster {action} failed");
    }

    fn begin() -> Self {
        let version = std::fs::read_dir("/etc/postgresql")
            .expect("a local PostgreSQL cluster")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .next()
            .expect("a cluster version");
        Self::cluster("stop", &version);
        PostgresOutage { version }
    }

    fn end(self) {
        drop(self);
    }
}

impl Drop for PostgresOutage {
    fn drop(&mut self) {
        Self::cluster("start", &self.version);
    }
}

async fn create(server: &TestServer, id: &str) -> Result<i64, pairing_aid_client::tonic::Status> {
    server
        .client(Some(WRITE_TOKEN))
        .await
        .projects()
        .create_project(create_request(id, &format!("create-{id}")))
        .await
        .map(|r| r.into_inner().revision)
}

async fn health(server: &TestServer) -> Option<ServingStatus> {
    let channel = tokio::time::timeout(Duration::from_secs(2), server.channel())
        .await
        .ok()?;
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .ok()
        .map(|r| r.into_inner().status())
}

async fn eventually(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_one_record_and_ride_out_a_postgres_restart() {
    let Some((_alone, database)) = fresh_database_alone().await else {
        return;
    };
    let url = database.url();
    let a = TestServer::start_on(&url, &common::token_args());
    let b = TestServer::start_on(&url, &common::token_args());

    // Read your writes across replicas: written through A, read through B.
    let revision = create(&a, "replicated-1").await.unwrap();
    let seen = b
        .client(None)
        .await
        .projects()
        .get_project(GetProjectRequest {
            name: "projects/replicated-1".into(),
            min_revision: revision,
            read_at: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.project.unwrap().revision, revision);

    // B's watchers see A's writes, in order.
    let mut watch = b
        .client(None)
        .await
        .records()
        .watch_changes(WatchChangesRequest {
            start_revision: revision,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let next = create(&a, "replicated-2").await.unwrap();
    assert_eq!(
        next,
        revision + 1,
        "revisions stay gap-free across replicas"
    );
    let change = tokio::time::timeout(Duration::from_secs(10), watch.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(change.changes[0].name, "projects/replicated-2");

    // PostgreSQL goes away: writes are UNAVAILABLE with retry advice, health turns NOT_SERVING.
    let outage = PostgresOutage::begin();
    let refused = create(&a, "during-outage").await.unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(refused.get_error_details().retry_info().is_some());
    eventually(
        "B reports NOT_SERVING",
        Duration::from_secs(15),
        async || health(&b).await == Some(ServingStatus::NotServing),
    )
    .await;

    // It comes back: both replicas recover by themselves, and B accepts writes again.
    outage.end();
    for server in [&a, &b] {
        eventually("SERVING again", Duration::from_secs(30), async || {
            health(server).await == Some(ServingStatus::Serving)
        })
        .await;
    }
    let mut after = None;
    eventually(
        "writes succeed again",
        Duration::from_secs(30),
        async || {
            after = create(&b, "after-outage").await.ok();
            after.is_some()
        },
    )
    .await;
    let on_a = a
        .client(None)
        .await
        .projects()
        .get_project(GetProjectRequest {
            name: "projects/after-outage".into(),
            min_revision: after.unwrap(),
            read_at: None,
        })
        .await
        .unwrap();
    assert_eq!(
        on_a.into_inner().project.unwrap().name,
        "projects/after-outage"
    );

    // A replica that starts late catches up from the log before it serves.
    let c = TestServer::start_on(&url, &common::token_args());
    let listed = c
        .client(None)
        .await
        .projects()
        .list_projects(ListProjectsRequest {
            filter: r#"name = "*-outage" OR name = "projects/replicated-*""#.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut names: Vec<String> = listed.projects.into_iter().map(|p| p.name).collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "projects/after-outage",
            "projects/replicated-1",
            "projects/replicated-2"
        ]
    );
    drop((a, b, c));
}

/// Pauses a server process (SIGSTOP) until dropped (SIGCONT), even if the test fails.
struct Paused(u32);

impl Paused {
    fn signal(pid: u32, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {pid} failed");
    }

    fn begin(server: &TestServer) -> Self {
        Self::signal(server.pid(), "-STOP");
        Paused(server.pid())
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        Self::signal(self.0, "-CONT");
    }
}

/// A replica that falls further behind than the change log reaches reloads the whole record
/// from the store, and serves what was written while it was away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_behind_the_retained_log_reloads_the_record() {
    let Some((_alone, database)) = fresh_database_alone().await else {
        return;
    };
    let url = database.url();
    let args = [&common::token_args()[..], &["--retain-revisions", "2"]].concat();
    let a = TestServer::start_on(&url, &args);
    let b = TestServer::start_on(&url, &args);
    let before = create(&a, "before-pause").await.unwrap();

    let paused = Paused::begin(&b);
    let mut latest = before;
    for i in 0..5 {
        latest = create(&a, &format!("while-paused-{i}")).await.unwrap();
    }
    assert_eq!(latest, before + 5);
    drop(paused);

    let mut on_b = b.client(None).await.projects();
    for id in ["before-pause", "while-paused-0", "while-paused-4"] {
        let project = on_b
            .get_project(GetProjectRequest {
                name: format!("projects/{id}"),
                min_revision: latest,
                read_at: None,
            })
            .await
            .unwrap_or_else(|status| panic!("{id} on B: {status:?}"))
            .into_inner();
        assert_eq!(project.project.unwrap().name, format!("projects/{id}"));
    }
    let changes = b
        .client(None)
        .await
        .records()
        .list_changes(ListChangesRequest {
            after_revision: before,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        changes.code(),
        Code::OutOfRange,
        "the revisions B missed are gone from the log: {changes:?}"
    );
    drop((a, b));
}
