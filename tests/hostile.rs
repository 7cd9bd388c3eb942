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
        read_at: None,
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
        .watch_changes(WatchChangesRequest {
            start_revision: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(700), watch.message()).await;
    assert!(
        quiet.is_err(),
        "a watch from the next revision stays open past the budget"
    );
}

/// Bytes that are not the method's message, and a message cut short, are the caller's fault:
/// INVALID_ARGUMENT with the field tonic's decoder names, not a bare INTERNAL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_are_invalid_arguments_naming_the_field() {
    let server = TestServer::start();
    let connection = connect_from("127.0.0.1", &server).await;
    let send = |body: &'static [u8]| {
        let mut client = connection.clone();
        let address = server.address.clone();
        async move {
            client = client.ready().await.unwrap();
            let request = http::Request::post(format!(
                "http://{address}/pairing.v1.ProjectService/ListProjects"
            ))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .unwrap();
            let (response, mut stream) = client.send_request(request, false).unwrap();
            stream.send_data(Bytes::from_static(body), true).unwrap();
            raw_status(response).await
        }
    };
    // ListProjectsRequest.filter (field 3) holding bytes that are not UTF-8.
    let not_utf8 = send(&[0, 0, 0, 0, 4, 0x1a, 2, 0xff, 0xfe]).await;
    assert_eq!(not_utf8.code(), Code::InvalidArgument, "{not_utf8:?}");
    assert_eq!(reason(&not_utf8), "MALFORMED_MESSAGE");
    let named: Vec<String> = violations(&not_utf8).into_iter().map(|(f, _)| f).collect();
    assert_eq!(named, vec!["filter".to_owned()], "{not_utf8:?}");

    // A message announced as 10 bytes of which 2 arrive before the stream ends.
    let cut_short = send(&[0, 0, 0, 0, 10, 0x1a, 2]).await;
    assert_eq!(cut_short.code(), Code::InvalidArgument, "{cut_short:?}");
    assert_eq!(reason(&cut_short), "MALFORMED_MESSAGE");

    // A compression flag no encoding was named for.
    let flagged = send(&[1, 0, 0, 0, 0]).await;
    assert_eq!(flagged.code(), Code::InvalidArgument, "{flagged:?}");
}

/// The server's resident memory now and at its peak since the peak was last reset, in bytes.
fn resident_and_peak(pid: u32) -> (u64, u64) {
    (
        common::memory_bytes(pid, "VmRSS:"),
        common::memory_bytes(pid, "VmHWM:"),
    )
}

/// How far `request` raised the server's resident memory above where it stood: the kernel's
/// peak mark is reset first (`/proc/PID/clear_refs`), so the peak is this request's.
async fn growth_of<F: std::future::Future>(pid: u32, request: F) -> (u64, F::Output) {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
    let (before, _) = resident_and_peak(pid);
    let answer = request.await;
    let (_, peak) = resident_and_peak(pid);
    (peak.saturating_sub(before), answer)
}

/// The budget docs/RELIABILITY.md states: no single request raises resident memory by more
/// than 64 MiB. Each of the largest questions and writes a caller can send is measured alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_single_request_raises_resident_memory_by_more_than_64_mib() {
    const BUDGET: u64 = 64 << 20;
    let dir = tempfile::tempdir().unwrap();
    let [tokens, token_list] = common::token_args();
    let server = TestServer::start_on(
        common::database_in(&dir),
        &["--synthetic-projects", "50000", tokens, token_list],
    );
    let pid = server.pid();
    let client = server.client(Some(common::READ_TOKEN)).await;
    let writer = server.client(Some(WRITE_TOKEN)).await;
    let mut grown = Vec::new();

    let list = |filter: &str, order_by: &str| ListProjectsRequest {
        page_size: 1000,
        filter: filter.into(),
        order_by: order_by.into(),
        ..Default::default()
    };
    for (what, request) in [
        ("sorted page of 1000", list("", "title desc, name")),
        ("substring page of 1000", list("title:\"water\"", "")),
        (
            "filtered, sorted page",
            list("year >= 2015 OR livelihood = true", "party, title"),
        ),
        ("5,000 order keys", list("", &"title, ".repeat(5_000))),
    ] {
        let (growth, answer) = growth_of(pid, client.projects().list_projects(request)).await;
        assert!(
            answer.is_ok() || what == "5,000 order keys",
            "{what}: {answer:?}"
        );
        grown.push((what, growth));
    }

    let every_dimension = SummarizeFundingRequest {
        group_by: (1..=7).collect(),
        area_level: AreaLevel::County.into(),
        funding_types: vec![1, 2, 3],
        ..Default::default()
    };
    let (growth, answer) =
        growth_of(pid, client.analytics().summarize_funding(every_dimension)).await;
    // More groups than an answer holds: refused, saying how to ask for less.
    let refused = answer.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(reason(&refused), "TOO_MANY_GROUPS");
    grown.push(("summary by every dimension", growth));

    let (growth, answer) = growth_of(
        pid,
        client
            .analytics()
            .reconcile_reported_figures(ReconcileReportedFiguresRequest::default()),
    )
    .await;
    assert!(answer.is_ok(), "{answer:?}");
    grown.push(("reconciliation of every figure", growth));

    let export = async {
        let mut stream = client
            .records()
            .export_records(ExportRecordsRequest::default())
            .await?
            .into_inner();
        let mut messages = 0;
        while stream.message().await?.is_some() {
            messages += 1;
        }
        Ok::<_, pairing_aid_client::tonic::Status>(messages)
    };
    let (growth, answer) = growth_of(pid, export).await;
    assert!(answer.is_ok_and(|m| m > 1), "the export streams in parts");
    grown.push(("export of the whole record", growth));

    // A batch at the limits: 1,000 projects with long titles, 15 MiB in all, refused whole.
    let batch = BatchUpsertProjectsRequest {
        projects: (0..1_000)
            .map(|i| Project {
                title: "t".repeat(15_000),
                recipients: vec![],
                ..common::project(&format!("memory-{i}"))
            })
            .collect(),
        ..Default::default()
    };
    let (growth, answer) = growth_of(pid, writer.records().batch_upsert_projects(batch)).await;
    assert!(answer.is_err(), "invalid projects are refused");
    grown.push(("15-MiB batch of 1,000 projects", growth));

    // Forty projects of a megabyte each: a page of 1,000 asked for comes back shorter, within
    // its byte budget, with a token for the rest.
    for i in 0..40 {
        let mut request = CreateProjectRequest {
            project: Some(Project {
                description: "d".repeat(1 << 20),
                ..common::project(&format!("large-{i:02}"))
            }),
            ..Default::default()
        };
        request.project_id = format!("large-{i:02}");
        writer.projects().create_project(request).await.unwrap();
    }
    let (growth, answer) = growth_of(
        pid,
        client
            .projects()
            .list_projects(list("title:\"Test project large\"", "")),
    )
    .await;
    let page = answer.unwrap().into_inner();
    assert_eq!(page.total_size, 40);
    assert!(
        (1..=4).contains(&page.projects.len()) && !page.next_page_token.is_empty(),
        "{} projects in the first page",
        page.projects.len()
    );
    grown.push(("page of 1000 asked for, of 1-MiB projects", growth));

    println!("resident memory growth by request: {grown:#?}");
    for (what, growth) in grown {
        assert!(
            growth <= BUDGET,
            "{what} raised resident memory by {} MiB",
            growth >> 20
        );
    }
}
