//! The client crate against a real server: listings as streams, typed errors, imports with
//! progress and rejected rows, watches that resume after the server restarts, several
//! endpoints and compression.

mod common;

use std::time::Duration;

use common::{TestServer, WRITE_TOKEN, project};
use futures_util::{StreamExt, TryStreamExt};
use pairing_aid_client::tonic::Code;
use pairing_aid_client::{Client, v1};

async fn writer(server: &TestServer) -> Client {
    Client::builder()
        .endpoint(server.endpoint())
        .token(WRITE_TOKEN)
        .connect()
        .await
        .unwrap()
}

/// A writer that keeps retrying long enough to outlast a server restart.
async fn patient_writer(server: &TestServer) -> Client {
    Client::builder()
        .endpoint(server.endpoint())
        .token(WRITE_TOKEN)
        .retry(pairing_aid_client::RetryPolicy {
            max_attempts: 50,
            ..Default::default()
        })
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn listings_stream_every_item_across_pages() {
    let server = TestServer::start();
    let client = Client::connect(server.endpoint()).await.unwrap();
    let projects: Vec<v1::Project> = client
        .list_projects(v1::ListProjectsRequest {
            page_size: 37,
            ..Default::default()
        })
        .items()
        .try_collect()
        .await
        .unwrap();
    let total = client
        .projects()
        .list_projects(v1::ListProjectsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .total_size;
    assert_eq!(projects.len(), total as usize);
    assert!(
        projects.windows(2).all(|w| w[0].name < w[1].name),
        "in order, none repeated"
    );
}

#[tokio::test]
async fn errors_expose_code_reason_and_every_field_violation() {
    let server = TestServer::start_with_tokens(&[]);
    let client = writer(&server).await;
    let mut bad = project("bad");
    bad.title.clear();
    bad.party = "parties/nowhere".into();
    let error = client
        .projects()
        .create_project(v1::CreateProjectRequest {
            project: Some(bad),
            project_id: "bad".into(),
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .map_err(pairing_aid_client::Error::from)
        .unwrap_err();
    assert_eq!(error.code(), Some(Code::InvalidArgument));
    assert_eq!(error.reason(), Some("INVALID_ARGUMENT"));
    let fields: Vec<&str> = error
        .violations()
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert!(
        fields.contains(&"project.title") && fields.contains(&"project.party"),
        "{fields:?}"
    );
    assert!(
        error.to_string().contains("project.title"),
        "one readable line: {error}"
    );
    assert!(!error.is_retryable());

    let listing = client.list_projects(v1::ListProjectsRequest {
        filter: "colour = RED".into(),
        ..Default::default()
    });
    let failed = listing.items().next().await.unwrap().unwrap_err();
    assert_eq!(failed.reason(), Some("INVALID_FILTER"));
}

#[tokio::test]
async fn imports_report_progress_and_rejected_rows_by_position() {
    let server = TestServer::start_with_tokens(&[]);
    let client = writer(&server).await;
    let mut records: Vec<v1::Record> = (0..25)
        .map(|i| v1::Record {
            resource: Some(v1::record::Resource::Project(project(&format!(
                "client-import-{i}"
            )))),
        })
        .collect();
    if let Some(v1::record::Resource::Project(p)) = &mut records[12].resource {
        p.party = "parties/nowhere".into();
    }
    let mut seen = Vec::new();
    let report = client
        .import("client-test", records, 10, |progress| {
            seen.push(progress.batches)
        })
        .await
        .unwrap();
    assert_eq!(seen, vec![1, 2, 3], "progress after each batch");
    assert_eq!(
        report.accepted, 15,
        "the batch with the bad row commits none of its rows"
    );
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(
        (
            report.rejected[0].position,
            report.rejected[0].field.as_str()
        ),
        (12, "party")
    );
}

#[tokio::test]
async fn a_streamed_import_survives_a_server_crash_and_applies_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::database_in(&dir);
    let address = common::address_for_restarts();
    let start = || TestServer::start_with(&database, &address, &common::token_args(), &[]);
    let mut server = Some(start());
    let client = patient_writer(server.as_ref().unwrap()).await;
    // Records arrive over a channel, as from another service; none is held before it is sent.
    let (sender, receiver) = tokio::sync::mpsc::channel(10);
    tokio::spawn(async move {
        for i in 0..2_000 {
            let record = v1::Record {
                resource: Some(v1::record::Resource::Project(project(&format!(
                    "streamed-{i:04}"
                )))),
            };
            if sender.send(record).await.is_err() {
                return;
            }
        }
    });
    let records = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|record| (record, receiver))
    });
    let report = client
        .import_stream("streamed", records, 50, |progress| {
            if progress.batches == 5 {
                // Crash the server mid-import and bring it back on the same address.
                let mut crashed = server.take().unwrap();
                crashed.kill_hard();
                server = Some(start());
            }
        })
        .await
        .unwrap();
    assert_eq!((report.accepted, report.rejected.len()), (2_000, 0));
    assert_eq!(report.batches, 40, "each batch acknowledged once");
    let server = server.unwrap();
    let changes = common::all_changes(&server, 0, 1000).await;
    let streamed = changes
        .iter()
        .filter(|c| c.name.starts_with("projects/streamed-"))
        .count();
    assert_eq!(streamed, 2_000, "no batch applied twice");
    let stored = common::all_projects(&server, "").await;
    assert_eq!(
        stored
            .iter()
            .filter(|p| p.name.starts_with("projects/streamed-"))
            .count(),
        2_000
    );
}

#[tokio::test]
async fn watch_resumes_after_the_server_restarts_without_losing_or_repeating_changes() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::database_in(&dir);
    let address = common::address_for_restarts();
    let start = || TestServer::start_with(&database, &address, &common::token_args(), &[]);
    let mut server = start();
    let client = patient_writer(&server).await;
    // The client gives each write a request id, so retrying it across the restart is safe.
    let create = |id: String| {
        let client = client.clone();
        async move {
            let request = v1::CreateProjectRequest {
                project: Some(project(&id)),
                request_id: String::new(),
                project_id: id,
                reason: String::new(),
            };
            client
                .write(request, |client, request| async move {
                    client.projects().create_project(request).await
                })
                .await
                .unwrap()
                .revision
        }
    };
    let mut revisions = vec![create("watched-a".into()).await];
    let mut changes = client.watch(revisions[0] - 1);
    assert_eq!(
        changes.next().await.unwrap().unwrap().revision,
        revisions[0]
    );

    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(15)).success());
    let server = start();
    revisions.push(create("watched-b".into()).await);
    revisions.push(create("watched-c".into()).await);
    let mut seen = vec![revisions[0]];
    while seen.len() < revisions.len() {
        let change = tokio::time::timeout(Duration::from_secs(20), changes.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push(change.revision);
    }
    assert_eq!(seen, revisions);
    drop(server);
}

#[tokio::test]
async fn several_endpoints_and_compression_work_together() {
    let first = TestServer::start();
    let second = TestServer::start();
    let client = Client::builder()
        .endpoint(first.endpoint())
        .endpoint(second.endpoint())
        .compression(true)
        .connect()
        .await
        .unwrap();
    for _ in 0..6 {
        let page = client
            .parties()
            .list_parties(v1::ListPartiesRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.parties.len(), 19);
    }
}
