//! The change feed, incremental sync, export and the server's protective limits.

mod common;

use std::time::Duration;

use common::{TestServer, WRITE_TOKEN, create_request, get_project, project};
use pairing_aid_client::tonic::Code;
use pairing_aid_client::v1::*;
use tonic_types::StatusExt;

async fn create(server: &TestServer, id: &str) -> i64 {
    server
        .client(Some(WRITE_TOKEN))
        .await
        .projects()
        .create_project(create_request(id, ""))
        .await
        .unwrap()
        .into_inner()
        .revision
}

async fn next_revision(
    stream: &mut pairing_aid_client::tonic::Streaming<WatchChangesResponse>,
) -> (i64, Vec<String>) {
    let message = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("a change arrives")
        .unwrap()
        .expect("the stream stays open");
    let revision = message.changes[0].revision;
    assert!(
        message.changes.iter().all(|c| c.revision == revision),
        "one commit per message"
    );
    (
        revision,
        message.changes.into_iter().map(|c| c.name).collect(),
    )
}

#[tokio::test]
async fn watch_resumes_across_a_reconnect_with_every_revision_exactly_once() {
    let server = TestServer::start_with_tokens(&[]);
    let mut watcher = server.client(None).await.records();
    let mut stream = watcher
        .watch_changes(WatchChangesRequest {
            start_revision: 0,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let (seed, names) = next_revision(&mut stream).await;
    assert_eq!(seed, 1, "the demo data is revision 1");
    assert!(names.len() > 900);

    let mut written = Vec::new();
    for i in 0..5 {
        written.push(create(&server, &format!("watched-{i}")).await);
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(next_revision(&mut stream).await.0);
    }
    drop(stream);
    for i in 5..8 {
        written.push(create(&server, &format!("watched-{i}")).await);
    }
    let resume_from = *seen.last().unwrap();
    let mut stream = watcher
        .watch_changes(WatchChangesRequest {
            start_revision: resume_from,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    while seen.len() < written.len() {
        seen.push(next_revision(&mut stream).await.0);
    }
    assert_eq!(seen, written, "in order, no gap, no duplicate");
    assert_eq!(
        written,
        (2..10).collect::<Vec<i64>>(),
        "revisions are gap-free"
    );

    let live = create(&server, "after-resume").await;
    assert_eq!(
        next_revision(&mut stream).await.0,
        live,
        "then live changes"
    );
}

#[tokio::test]
async fn a_revision_older_than_the_log_keeps_is_out_of_range_and_names_the_oldest() {
    let server = TestServer::start_with_tokens(&["--retain-revisions", "2"]);
    for i in 0..5 {
        create(&server, &format!("compacted-{i}")).await;
    }
    let mut client = server.client(None).await.records();
    let status = client
        .watch_changes(WatchChangesRequest {
            start_revision: 0,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange);
    assert!(
        status.message().contains("oldest revision available is 5"),
        "{}",
        status.message()
    );
    let listed = client
        .list_changes(ListChangesRequest {
            after_revision: 1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(listed.code(), Code::OutOfRange);
    let recent = client
        .list_changes(ListChangesRequest {
            after_revision: 4,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(recent.changes.len(), 2);
}

#[tokio::test]
async fn list_changes_pages_incremental_sync_and_records_who_wrote() {
    let server = TestServer::start_with_tokens(&[]);
    for i in 0..7 {
        create(&server, &format!("synced-{i}")).await;
    }
    let changes = common::all_changes(&server, 1, 3).await;
    let revisions: Vec<i64> = changes.iter().map(|c| c.revision).collect();
    assert_eq!(revisions, (2..9).collect::<Vec<i64>>());
    for change in &changes {
        assert_eq!(change.subject, "office", "the write token's subject");
        assert_eq!(change.kind(), ChangeKind::Put);
        assert!(change.commit_time.is_some());
    }
}

#[tokio::test]
async fn list_changes_splits_a_commit_larger_than_the_page() {
    // The demo data is one commit of over a thousand changes.
    let server = TestServer::start();
    let mut client = server.client(None).await.records();
    let first = client
        .list_changes(ListChangesRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.changes.len(), 1, "page_size 1 returns one change");
    assert!(!first.next_page_token.is_empty());

    let mut paged = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_changes(ListChangesRequest {
                page_size: 7,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.changes.len() <= 7, "{} changes", page.changes.len());
        paged.extend(page.changes);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let whole = common::all_changes(&server, 0, 1000).await;
    assert!(whole.len() > 1000, "{}", whole.len());
    let names = |changes: &[pairing_aid_client::v1::Change]| -> Vec<(i64, String)> {
        changes
            .iter()
            .map(|c| (c.revision, c.name.clone()))
            .collect()
    };
    assert_eq!(names(&paged), names(&whole), "every change once, in order");
}

#[tokio::test]
async fn export_streams_the_whole_record_or_the_collections_asked_for() {
    let server = TestServer::start();
    let mut client = server.client(None).await.records();
    let count = |collections: Vec<String>| {
        let mut client = client.clone();
        async move {
            let mut stream = client
                .export_records(ExportRecordsRequest {
                    collections,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            let mut records = Vec::new();
            while let Some(chunk) = stream.message().await.unwrap() {
                assert_eq!(chunk.revision, 1);
                records.extend(chunk.records);
            }
            records
        }
    };
    let everything = count(vec![]).await;
    let projects = count(vec!["projects".into()]).await;
    let observations = count(vec!["observations".into()]).await;
    assert!(projects.len() > 500);
    assert_eq!(observations.len(), 12);
    let (parties, areas, pairings, indicators) = (19, 36, 20, 12);
    assert_eq!(
        everything.len(),
        projects.len() + observations.len() + parties + areas + pairings + indicators
    );
    assert!(matches!(
        everything[0].resource,
        Some(record::Resource::Party(_)) | Some(record::Resource::Area(_))
    ));

    let unknown = client
        .export_records(ExportRecordsRequest {
            collections: vec!["budgets".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        unknown
            .get_error_details()
            .bad_request()
            .unwrap()
            .field_violations[0]
            .field,
        "collections[0]"
    );
}

#[tokio::test]
async fn limits_refuse_clearly_while_other_calls_are_served() {
    let server = TestServer::start_with_tokens(&[
        "--max-message-bytes",
        "20000",
        "--max-concurrent-requests",
        "1",
    ]);
    let big = BatchUpsertProjectsRequest {
        projects: (0..200).map(|i| project(&format!("big-{i}"))).collect(),
        request_id: String::new(),
        reason: String::new(),
    };
    let too_big = server
        .client(Some(WRITE_TOKEN))
        .await
        .records()
        .batch_upsert_projects(big)
        .await
        .unwrap_err();
    assert_eq!(too_big.code(), Code::ResourceExhausted, "{too_big:?}");
    assert_eq!(
        too_big.get_error_details().error_info().unwrap().reason,
        "MESSAGE_TOO_LARGE"
    );
    assert!(
        too_big.message().contains("limit is: 20000 bytes"),
        "{}",
        too_big.message()
    );

    // One call waits for a revision that will not come; the next is refused at once.
    let waiting = common::spawn_waiting_read(&server, 1_000, Duration::from_millis(900)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = get_project(&server.client(None).await, "projects/none")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(refused.get_error_details().retry_info().is_some());
    let health = tonic_health::pb::health_client::HealthClient::new(server.channel().await)
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await;
    assert!(health.is_ok(), "probes are never refused");
    assert_eq!(
        waiting.await.unwrap().unwrap_err().code(),
        Code::DeadlineExceeded
    );
    get_project(
        &server.client(None).await,
        "projects/shanghai-kashgar-2013-01",
    )
    .await
    .expect("served again once the slot is free");
}

/// Every change of `scope` after `after`, page by page (pages of `page_size`, each at most that).
async fn scoped_changes(
    server: &TestServer,
    after: i64,
    page_size: i32,
    scope: ChangeScope,
) -> Vec<(i64, String, String)> {
    let mut client = server.client(None).await.records();
    let mut changes = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_changes(ListChangesRequest {
                after_revision: after,
                page_size,
                page_token,
                scope: Some(scope.clone()),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.changes.len() <= page_size as usize);
        changes.extend(
            page.changes
                .into_iter()
                .map(|c| (c.revision, c.name, c.subject)),
        );
        if page.next_page_token.is_empty() {
            return changes;
        }
        page_token = page.next_page_token;
    }
}

/// A calling service lists and follows only what it needs: by collection, resource, writer
/// and time, each listing equal to the whole log filtered by hand.
#[tokio::test]
async fn changes_list_and_watch_by_collection_name_writer_and_time() {
    let server = TestServer::start_with_tokens(&[]);
    let mut watch = server
        .client(None)
        .await
        .records()
        .watch_changes(WatchChangesRequest {
            start_revision: 1,
            scope: Some(ChangeScope {
                collections: vec!["parties".into()],
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    create(&server, "scoped-a").await;
    let between = std::time::SystemTime::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let admin = server.client(Some(common::ADMIN_TOKEN)).await;
    admin
        .parties()
        .create_party(CreatePartyRequest {
            party: Some(Party {
                kind: PartyKind::Enterprise.into(),
                display_name: "Scoped Enterprise".into(),
                home_area: "Nowhere".into(),
                ..Default::default()
            }),
            party_id: "scoped-enterprise".into(),
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap();
    create(&server, "scoped-b").await;

    let whole: Vec<(i64, String, String)> = common::all_changes(&server, 1, 1000)
        .await
        .into_iter()
        .map(|c| (c.revision, c.name, c.subject))
        .collect();
    assert_eq!(whole.len(), 3);
    let by_hand = |keep: &dyn Fn(&(i64, String, String)) -> bool| -> Vec<(i64, String, String)> {
        whole.iter().filter(|c| keep(c)).cloned().collect()
    };
    let parties = ChangeScope {
        collections: vec!["parties".into()],
        ..Default::default()
    };
    assert_eq!(
        scoped_changes(&server, 1, 1, parties).await,
        by_hand(&|c| c.1.starts_with("parties/"))
    );
    let one = ChangeScope {
        names: vec!["projects/scoped-b".into()],
        ..Default::default()
    };
    assert_eq!(
        scoped_changes(&server, 0, 2, one).await,
        by_hand(&|c| c.1 == "projects/scoped-b")
    );
    let office = ChangeScope {
        subjects: vec!["office".into()],
        ..Default::default()
    };
    assert_eq!(
        scoped_changes(&server, 1, 5, office).await,
        by_hand(&|c| c.2 == "office")
    );
    let since: prost_types::Timestamp = between.into();
    let later = ChangeScope {
        start_time: Some(since),
        ..Default::default()
    };
    assert_eq!(
        scoped_changes(&server, 0, 1, later).await,
        whole[1..].to_vec(),
        "the two commits after the first"
    );

    // The watch sends only the party's commit.
    let (revision, names) = next_revision(&mut watch).await;
    assert_eq!(names, ["parties/scoped-enterprise"]);
    assert_eq!(revision, whole[1].0);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), watch.message())
            .await
            .is_err(),
        "nothing else is in scope"
    );

    // A scope that names no collection, or an impossible span, is refused by field.
    let refused = server
        .client(None)
        .await
        .records()
        .list_changes(ListChangesRequest {
            scope: Some(ChangeScope {
                collections: vec!["projcts".into()],
                start_time: Some(since),
                end_time: Some(since),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let fields: Vec<String> = common::violations(&refused)
        .into_iter()
        .map(|(field, _)| field)
        .collect();
    assert_eq!(fields, ["scope.collections[0]", "scope.end_time"]);
}
