//! Hostile and odd input, each reproduced from outside against a real server: what one caller
//! sends can neither mislead the server nor make its answers unreadable to the caller.

mod common;

use common::{ADMIN_TOKEN, TestServer, WRITE_TOKEN, reason, violations};
use pairing_aid_client::pb::google::r#type::{Date, Money};
use pairing_aid_client::prost_types::FieldMask;
use pairing_aid_client::tonic;
use pairing_aid_client::tonic::codegen::http;
use pairing_aid_client::tonic::{Code, Request};
use pairing_aid_client::v1::project_service_client::ProjectServiceClient;
use pairing_aid_client::v1::*;
use prost::bytes::Bytes;

/// Two `authorization` headers, an admin's then a reader's: which one counts differs between
/// proxies and servers, so the call is refused whichever comes first.
#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let server = TestServer::start_with_tokens(&[]);
    let client = server.client(None).await;
    let mut request = Request::new(common::create_request("twice-authorized", ""));
    for token in [ADMIN_TOKEN, common::READ_TOKEN] {
        request
            .metadata_mut()
            .append("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let status = client.projects().create_project(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let missing = client
        .projects()
        .get_project(GetProjectRequest {
            name: "projects/twice-authorized".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "nothing was written");
}

#[tokio::test]
async fn a_mask_of_star_and_other_paths_is_refused() {
    let server = TestServer::start_with_tokens(&[]);
    let client = server.client(Some(WRITE_TOKEN)).await;
    client
        .projects()
        .create_project(common::create_request("masked", ""))
        .await
        .unwrap();
    for paths in [vec!["*", "title"], vec!["*", "a.b.c.d.e.f"]] {
        let mut project = common::project("masked");
        project.title = "Changed".into();
        let status = client
            .projects()
            .update_project(UpdateProjectRequest {
                project: Some(project),
                update_mask: Some(FieldMask {
                    paths: paths.iter().map(|p| p.to_string()).collect(),
                }),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{paths:?}: {status:?}"
        );
        assert_eq!(reason(&status), "INVALID_UPDATE_MASK");
    }
}

#[tokio::test]
async fn dates_outside_the_documented_years_are_refused_field_by_field() {
    let server = TestServer::start_with_tokens(&[]);
    let client = server.client(Some(WRITE_TOKEN)).await;
    let mut project = common::project("far-future");
    let date = |year| {
        Some(Date {
            year,
            month: 1,
            day: 1,
        })
    };
    project.planned_start_date = date(10_000);
    project.funding_lines[0].date = date(-2015);
    project.provenance.as_mut().unwrap().publish_date = date(10_000);
    let status = client
        .projects()
        .create_project(CreateProjectRequest {
            project_id: "far-future".into(),
            project: Some(project),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields: Vec<String> = violations(&status).into_iter().map(|(f, _)| f).collect();
    for field in [
        "project.planned_start_date",
        "project.funding_lines[0].date",
        "project.provenance.publish_date",
    ] {
        assert!(fields.iter().any(|f| f == field), "{field} in {fields:?}");
    }
}

/// A 10,000-character name and a megabyte filter: the errors quote them cut short, so clients
/// with grpc-core's 16 KiB metadata limit read the INVALID_ARGUMENT meant for them.
#[tokio::test]
async fn errors_quote_huge_input_cut_short() {
    let server = TestServer::start();
    let client = server.client(None).await;
    let long_name = format!("projects/{}", "x".repeat(10_000));
    let status = client
        .projects()
        .get_project(GetProjectRequest {
            name: long_name,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{}", status.code());
    let trailers = status.message().len() + status.details().len();
    assert!(trailers < 2_000, "{trailers} bytes of message and details");
    assert!(
        status.message().contains("bytes in all"),
        "{}",
        status.message()
    );

    let currency = "Y".repeat(1 << 20);
    let status = client
        .analytics()
        .summarize_funding(SummarizeFundingRequest {
            currency_code: currency,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let trailers = status.message().len() + status.details().len();
    assert!(trailers < 2_000, "{trailers} bytes of message and details");
}

#[tokio::test]
async fn orders_of_many_or_repeated_keys_are_refused_before_any_work() {
    let server = TestServer::start();
    let client = server.client(None).await;
    let many = vec!["title"; 5_000].join(", ") + ", name";
    for order_by in [many.as_str(), "title, status, title"] {
        let status = client
            .projects()
            .list_projects(ListProjectsRequest {
                order_by: order_by.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(reason(&status), "INVALID_ORDER_BY");
    }
}

/// Lines near the largest amount google.type.Money holds: their sum does not fit, and the
/// summary says so instead of capping the total.
#[tokio::test]
async fn a_total_too_large_for_money_is_out_of_range_naming_its_group() {
    let server = TestServer::start_with_tokens(&[]);
    let client = server.client(Some(WRITE_TOKEN)).await;
    for id in ["huge-a", "huge-b"] {
        let mut project = common::project(id);
        project.title = "Huge test works".into();
        project.funding_lines[0].amount = Some(Money {
            currency_code: "CNY".into(),
            units: 9_000_000_000_000_000_000,
            nanos: 0,
        });
        client
            .projects()
            .create_project(CreateProjectRequest {
                project_id: id.into(),
                project: Some(project),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let status = client
        .analytics()
        .summarize_funding(SummarizeFundingRequest {
            filter: "title:\"huge test\"".into(),
            funding_types: vec![FundingType::Commitment.into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert_eq!(reason(&status), "AMOUNT_OUT_OF_RANGE");
    assert!(
        status.message().contains("the total"),
        "{}",
        status.message()
    );
}

/// Calls opened from another address and never finished (a message announced as 100 bytes of
/// which 5 come): they use up that address's share of the calls in flight, while callers from
/// elsewhere keep being served, and health stays SERVING.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_uploads_from_one_address_do_not_lock_out_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_on(
        common::database_in(&dir),
        &[
            "--max-concurrent-requests",
            "64",
            "--max-concurrent-requests-per-peer",
            "16",
        ],
    );
    let mut held = Vec::new();
    for _ in 0..4 {
        let client = connect_from("127.0.0.2", &server).await;
        for _ in 0..40 {
            held.push(open_unfinished_call(&client, &server).await);
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let client = server.client(None).await;
    for _ in 0..20 {
        let answered = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            common::get_project(&client, "projects/shanghai-kashgar-2013-01"),
        )
        .await
        .expect("answered within 2 s");
        assert!(answered.is_ok(), "{answered:?}");
    }
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, 1, "SERVING");

    // Beyond its share, the other address's calls were refused at once.
    let mut refused = 0;
    for (response, _send) in held {
        if let Ok(Ok(response)) =
            tokio::time::timeout(std::time::Duration::from_millis(10), response).await
            && response
                .headers()
                .get("grpc-status")
                .is_some_and(|s| s == "8")
        {
            refused += 1;
        }
    }
    assert_eq!(refused, 160 - 16, "all but the address's share refused");
}

/// A raw HTTP/2 connection to `server` from the local address `from`.
async fn connect_from(from: &str, server: &TestServer) -> h2::client::SendRequest<Bytes> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let tcp = socket
        .connect(server.address.parse().unwrap())
        .await
        .unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    client
}

/// A GetProject whose message is announced as 100 bytes of which 5 are sent, and no more.
async fn open_unfinished_call(
    client: &h2::client::SendRequest<Bytes>,
    server: &TestServer,
) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
    let mut client = client.clone().ready().await.unwrap();
    let request = http::Request::post(format!(
        "http://{}/pairing.v1.ProjectService/GetProject",
        server.address
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .body(())
    .unwrap();
    let (response, mut send) = client.send_request(request, false).unwrap();
    send.send_data(
        Bytes::from_static(&[0, 0, 0, 0, 100, 10, 3, 1, 2, 3]),
        false,
    )
    .unwrap();
    (response, send)
}

/// The status a raw call ended with, from its headers (a trailers-only answer) or trailers.
async fn raw_status(response: h2::client::ResponseFuture) -> tonic::Status {
    let response = response.await.unwrap();
    if let Some(status) = tonic::Status::from_header_map(response.headers()) {
        return status;
    }
    let mut body = response.into_body();
    while body.data().await.is_some() {}
    let trailers = body.trailers().await.unwrap().expect("trailers");
    tonic::Status::from_header_map(&trailers).expect("a grpc-status")
}

/// Calls whose message never finishes arriving are refused once the upload timeout passes,
/// naming the limit, and their address can call again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_uploads_are_refused_after_the_upload_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_on(
        common::database_in(&dir),
        &[
            "--max-concurrent-requests-per-peer",
            "4",
            "--upload-timeout-ms",
            "400",
        ],
    );
    let connection = connect_from("127.0.0.2", &server).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(open_unfinished_call(&connection, &server).await);
    }
    let started = std::time::Instant::now();
    for (response, _send) in held {
        let status = tokio::time::timeout(std::time::Duration::from_secs(5), raw_status(response))
            .await
            .expect("answered long before the 30-s request timeout");
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert_eq!(reason(&status), "REQUEST_SENT_TOO_SLOWLY");
        assert!(status.message().contains("within 400 ms"), "{status:?}");
    }
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));

    let channel = tonic::transport::Endpoint::from_shared(server.endpoint())
        .unwrap()
        .local_address(Some("127.0.0.2".parse().unwrap()))
        .connect()
        .await
        .unwrap();
    let answer = ProjectServiceClient::new(channel)
        .get_project(GetProjectRequest {
            name: "projects/shanghai-kashgar-2013-01".into(),
            ..Default::default()
        })
        .await;
    assert!(
        answer.is_ok(),
        "the address's slots are free again: {answer:?}"
    );
}

/// A call without a token gets a fixed budget: waiting for a revision that does not come is
/// cut off at it, while the same wait with a token runs to its own limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_calls_end_at_their_budget() {
    let dir = tempfile::tempdir().unwrap();
    let [tokens, token_list] = common::token_args();
    let server = TestServer::start_on(
        common::database_in(&dir),
        &["--anonymous-budget-ms", "300", tokens, token_list],
    );
    let future = GetProjectRequest {
        name: "projects/shanghai-kashgar-2013-01".into(),
        min_revision: 1_000_000,
    };
    let started = std::time::Instant::now();
    let refused = server
        .client(None)
        .await
        .projects()
        .get_project(future.clone())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(reason(&refused), "ANONYMOUS_CALL_TOO_LONG");
    assert!(refused.message().contains("300 ms"), "{refused:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));

    let mut with_token = Request::new(future);
    with_token.set_timeout(std::time::Duration::from_millis(800));
    let started = std::time::Instant::now();
    let waited = server
        .client(Some(common::READ_TOKEN))
        .await
        .projects()
        .get_project(with_token)
        .await
        .unwrap_err();
    assert_ne!(reason(&waited), "ANONYMOUS_CALL_TOO_LONG", "{waited:?}");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(700),
        "{waited:?} after {:?}",
        started.elapsed()
    );

    // A watch waits for changes by design and is not cut off.
    let mut watch = server
        .client(None)
        .await
        .records()
        .watch_changes(WatchChangesRequest { start_revision: 2 })
        .await
        .unwrap()
        .into_inner();
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(700), watch.message()).await;
    assert!(
        quiet.is_err(),
        "a watch from the next revision stays open past the budget"
    );
}
