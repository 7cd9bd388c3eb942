//! Streaming import: per-batch acknowledgements after durability, bad rows named, resumption
//! after a crash without duplicates.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{TestServer, WRITE_TOKEN, project};
use pairing_aid_client::tonic::Streaming;
use pairing_aid_client::v1::*;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

const BATCH: usize = 200;

fn batch(import_id: &str, sequence: i64) -> ImportRecordsRequest {
    let records = (0..BATCH)
        .map(|i| Record {
            resource: Some(record::Resource::Project(project(&format!(
                "imported-{sequence}-{i}"
            )))),
        })
        .collect();
    ImportRecordsRequest {
        import_id: import_id.into(),
        batch_sequence: sequence,
        records,
        reason: String::new(),
    }
}

struct Import {
    sender: mpsc::Sender<ImportRecordsRequest>,
    acks: Streaming<ImportRecordsResponse>,
}

impl Import {
    async fn open(server: &TestServer) -> Self {
        let (sender, receiver) = mpsc::channel(4);
        let acks = server
            .client(Some(WRITE_TOKEN))
            .await
            .records()
            .import_records(ReceiverStream::new(receiver))
            .await
            .unwrap()
            .into_inner();
        Import { sender, acks }
    }

    async fn send(&mut self, request: ImportRecordsRequest) -> ImportRecordsResponse {
        self.sender.send(request).await.unwrap();
        tokio::time::timeout(Duration::from_secs(30), self.acks.message())
            .await
            .expect("an acknowledgement")
            .unwrap()
            .expect("the stream stays open")
    }
}

async fn project_names(server: &TestServer) -> HashSet<String> {
    common::all_projects(server, r#"name = "projects/imported-*""#)
        .await
        .into_iter()
        .map(|p| p.name)
        .collect()
}

fn batch_names(sequence: i64) -> HashSet<String> {
    (0..BATCH)
        .map(|i| format!("projects/imported-{sequence}-{i}"))
        .collect()
}

#[tokio::test]
async fn a_batch_with_bad_rows_names_them_and_commits_none_while_the_import_goes_on() {
    let server = TestServer::start_with_tokens(&[]);
    let mut import = Import::open(&server).await;
    let first = import.send(batch("mixed", 1)).await;
    assert_eq!(
        (first.accepted_count, first.violations.len()),
        (BATCH as i32, 0)
    );

    let mut bad = batch("mixed", 2);
    if let Some(record::Resource::Project(p)) = &mut bad.records[7].resource {
        p.party = "parties/nowhere".into();
    }
    if let Some(record::Resource::Project(p)) = &mut bad.records[42].resource {
        p.funding_lines[0].amount.as_mut().unwrap().currency_code = "US$".into();
    }
    let second = import.send(bad).await;
    assert_eq!((second.revision, second.accepted_count), (0, 0));
    let rows: Vec<(i32, &str)> = second
        .violations
        .iter()
        .map(|v| (v.index, v.field.as_str()))
        .collect();
    assert_eq!(
        rows,
        vec![(7, "party"), (42, "funding_lines[0].amount.currency_code")]
    );

    let third = import.send(batch("mixed", 3)).await;
    assert!(third.revision > first.revision);
    let names = project_names(&server).await;
    assert!(batch_names(1).is_subset(&names) && batch_names(3).is_subset(&names));
    assert!(
        batch_names(2).is_disjoint(&names),
        "a rejected batch commits none of its rows"
    );
}

#[tokio::test]
async fn an_import_killed_mid_way_keeps_every_acknowledged_batch_and_resumes_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::database_in(&dir);
    let mut server = TestServer::start_on(&database, &common::token_args());
    let mut import = Import::open(&server).await;
    let mut acknowledged = Vec::new();
    for sequence in 1..=5 {
        let ack = import.send(batch("crash", sequence)).await;
        assert_eq!(ack.accepted_count, BATCH as i32);
        acknowledged.push(sequence);
    }
    // Batch 6 is on the wire when the process dies; its fate is unknown to the client.
    import.sender.send(batch("crash", 6)).await.unwrap();
    server.kill_hard();

    let server = TestServer::start_on(&database, &common::token_args());
    let names = project_names(&server).await;
    for sequence in &acknowledged {
        assert!(
            batch_names(*sequence).is_subset(&names),
            "acknowledged batch {sequence} survived kill -9"
        );
    }
    let sixth = batch_names(6);
    assert!(
        sixth.is_subset(&names) || sixth.is_disjoint(&names),
        "no batch is half present"
    );

    // The client resumes from the first batch; the server replays what it already has.
    let mut import = Import::open(&server).await;
    for sequence in 1..=8 {
        let ack = import.send(batch("crash", sequence)).await;
        assert_eq!(ack.accepted_count, BATCH as i32);
        assert_eq!(
            ack.replayed,
            sequence <= 5 || (sequence == 6 && sixth.is_subset(&names)),
            "batch {sequence}"
        );
    }
    let names = project_names(&server).await;
    assert_eq!(names.len(), 8 * BATCH);

    // Every batch is one revision, and the log has no gaps.
    let changes = common::all_changes(&server, 1, 1000).await;
    let mut revisions: Vec<i64> = changes.iter().map(|c| c.revision).collect();
    revisions.dedup();
    assert_eq!(revisions, (2..10).collect::<Vec<i64>>());
    assert_eq!(changes.len(), 8 * BATCH, "no row written twice");
}
