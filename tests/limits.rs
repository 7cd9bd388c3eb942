//! Limits: huge page sizes, deep and long filters, and a flood of streams are refused with a
//! clear status (or capped) while other clients keep being served. Oversized messages and the
//! in-flight call limit are in `changes.rs`.

mod common;

use std::time::Duration;

use common::TestServer;
use pairing_aid_client::v1::{ListProjectsRequest, WatchChangesRequest};
use tonic::Code;
use tonic_types::StatusExt;

async fn list(server: &TestServer, request: ListProjectsRequest) -> Result<usize, tonic::Status> {
    server
        .client(None)
        .await
        .projects()
        .list_projects(request)
        .await
        .map(|r| r.into_inner().projects.len())
}

#[tokio::test]
async fn huge_page_sizes_are_capped_and_negative_ones_refused() {
    let server = TestServer::start();
    let huge = list(
        &server,
        ListProjectsRequest {
            page_size: i32::MAX,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let all = common::all_projects(&server, "").await.len();
    assert_eq!(
        huge,
        all.min(1000),
        "capped at the documented maximum of 1000"
    );
    let negative = list(
        &server,
        ListProjectsRequest {
            page_size: -1,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(negative.code(), Code::InvalidArgument);
    assert_eq!(
        negative
            .get_error_details()
            .bad_request()
            .unwrap()
            .field_violations[0]
            .field,
        "page_size"
    );
}

#[tokio::test]
async fn deep_and_long_filters_are_refused_with_the_reason() {
    let server = TestServer::start();
    let refused = |filter: String| {
        let server = &server;
        async move {
            list(
                server,
                ListProjectsRequest {
                    filter,
                    ..Default::default()
                },
            )
            .await
            .unwrap_err()
        }
    };
    let nested = format!("{}field = EDUCATION{}", "(".repeat(40), ")".repeat(40));
    let deep = refused(nested).await;
    assert_eq!(deep.code(), Code::InvalidArgument);
    assert!(
        deep.message().contains("nests deeper than 32"),
        "{}",
        deep.message()
    );
    let negations = refused(format!("{}field = EDUCATION", "NOT ".repeat(500))).await;
    assert_eq!(negations.code(), Code::InvalidArgument);
    let long = refused("field = EDUCATION OR ".repeat(10_000) + "field = WATER").await;
    assert_eq!(long.code(), Code::InvalidArgument);
    assert!(
        long.message().contains("longer than 4096 bytes"),
        "{}",
        long.message()
    );
    let million_parentheses = refused("(".repeat(1_000_000)).await;
    assert_eq!(million_parentheses.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn a_flood_of_streams_is_refused_past_the_limit_while_others_are_served() {
    let server = TestServer::start_with_tokens(&["--max-watchers", "64"]);
    // Streams over several connections, as many clients would open them.
    let mut open = Vec::new();
    let mut refused = Vec::new();
    for connection in 0..4 {
        let client = server.client(None).await;
        for _ in 0..40 {
            let mut client = client.records();
            match client
                .watch_changes(WatchChangesRequest {
                    start_revision: 0,
                    ..Default::default()
                })
                .await
            {
                Ok(stream) => open.push(stream.into_inner()),
                Err(status) => refused.push((connection, status)),
            }
        }
    }
    assert_eq!(open.len(), 64, "the limit's worth of streams is open");
    assert_eq!(refused.len(), 160 - 64);
    for (_, status) in &refused {
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert!(status.get_error_details().retry_info().is_some());
    }
    // Everyone else is served meanwhile, promptly.
    let served = tokio::time::timeout(
        Duration::from_secs(2),
        common::get_project(
            &server.client(None).await,
            "projects/shanghai-kashgar-2013-01",
        ),
    )
    .await
    .expect("answered within 2 s");
    assert!(served.is_ok());
    // Closing streams frees their places.
    open.truncate(10);
    let mut reopened = false;
    for _ in 0..50 {
        let attempt = server
            .client(None)
            .await
            .records()
            .watch_changes(WatchChangesRequest {
                start_revision: 0,
                ..Default::default()
            })
            .await;
        if attempt.is_ok() {
            reopened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        reopened,
        "a closed stream's place is given to the next watcher"
    );
}
