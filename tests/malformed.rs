//! Malformed and truncated gRPC requests, and broken HTTP/2, sent straight to the running
//! server: every gRPC request is answered with a status, nothing hangs or panics, and the
//! server goes on serving.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::TestServer;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::codegen::http;

const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// A gRPC message frame: the compressed flag, the declared length, then `payload`.
fn frame(compressed: bool, declared: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![u8::from(compressed)];
    out.extend(declared.to_be_bytes());
    out.extend(payload);
    out
}

/// Sends `body` as one gRPC request on a fresh HTTP/2 connection and returns the grpc-status
/// the server answered with, from the headers (trailers-only) or the trailers.
async fn grpc_status(server: &TestServer, path: &str, content_type: &str, body: Vec<u8>) -> String {
    let answered = async {
        let tcp = TcpStream::connect(&server.address).await.unwrap();
        let (client, connection) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(connection);
        let mut client = client.ready().await.unwrap();
        let request = http::Request::post(format!("http://{}{path}", server.address))
            .header("content-type", content_type)
            .header("te", "trailers")
            .body(())
            .unwrap();
        let (response, mut send) = client.send_request(request, false).unwrap();
        send.send_data(Bytes::from(body), true).unwrap();
        let response = response.await.unwrap();
        if let Some(status) = response.headers().get("grpc-status") {
            return status.to_str().unwrap().to_owned();
        }
        let mut body = response.into_body();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap();
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        let trailers = body.trailers().await.unwrap().expect("trailers");
        trailers["grpc-status"].to_str().unwrap().to_owned()
    };
    tokio::time::timeout(ANSWER_WITHIN, answered)
        .await
        .unwrap_or_else(|_| panic!("no answer within {ANSWER_WITHIN:?} to a request on {path}"))
}

const GET_PROJECT: &str = "/pairing.v1.ProjectService/GetProject";
const CREATE_PROJECT: &str = "/pairing.v1.ProjectService/CreateProject";
const GRPC: &str = "application/grpc";

/// The server still answers a well-formed call, and the process is alive.
async fn still_serving(server: &mut TestServer) {
    let valid = pairing_aid_client::v1::GetProjectRequest {
        name: "projects/shanghai-kashgar-2013-01".into(),
        min_revision: 0,
        read_at: None,
    }
    .encode_to_vec();
    let status = grpc_status(
        server,
        GET_PROJECT,
        GRPC,
        frame(false, valid.len() as u32, &valid),
    )
    .await;
    assert_eq!(status, "0", "a valid call still succeeds");
    assert!(server.is_running(), "the server is alive");
    let logs = server.logs.lock().unwrap();
    assert!(
        !logs.iter().any(|l| l.contains("panicked")),
        "no panic logged"
    );
}

#[tokio::test]
async fn malformed_grpc_messages_are_answered_with_a_status() {
    let mut server = TestServer::start();
    let valid = pairing_aid_client::v1::GetProjectRequest {
        name: "projects/shanghai-kashgar-2013-01".into(),
        min_revision: 0,
        read_at: None,
    }
    .encode_to_vec();
    let garbage: Vec<u8> = (0..64u8).map(|b| b.wrapping_mul(37) ^ 0xA5).collect();
    let cases: Vec<(&str, &str, Vec<u8>, &[&str])> = vec![
        // Bytes that are not a GetProjectRequest: the caller's fault, INVALID_ARGUMENT (tonic's
        // bare INTERNAL restated, with details).
        (
            "garbage protobuf",
            GET_PROJECT,
            frame(false, 64, &garbage),
            &["3"],
        ),
        // A frame declaring more bytes than the stream carries.
        (
            "truncated frame",
            GET_PROJECT,
            frame(false, 100, &valid[..10]),
            &["3"],
        ),
        // Half a frame header.
        ("truncated header", GET_PROJECT, vec![0, 0, 0], &["3"]),
        // The compressed flag without a grpc-encoding.
        (
            "compressed flag",
            GET_PROJECT,
            frame(true, valid.len() as u32, &valid),
            &["3"],
        ),
        // A declared length over the server's message limit.
        (
            "4 GiB declared",
            GET_PROJECT,
            frame(false, u32::MAX, &valid),
            &["8"],
        ),
        // No message at all.
        ("empty body", GET_PROJECT, Vec::new(), &["3"]),
        (
            "unknown method",
            "/pairing.v1.ProjectService/Frobnicate",
            frame(false, 0, &[]),
            &["12"],
        ),
        (
            "unknown service",
            "/nope.v1.Nope/Nope",
            frame(false, 0, &[]),
            &["12"],
        ),
        // A write without a token and with a malformed body: refused either way, never served.
        (
            "unauthenticated write",
            CREATE_PROJECT,
            frame(false, 64, &garbage),
            &["16", "3"],
        ),
    ];
    for (case, path, body, expected) in cases {
        let status = grpc_status(&server, path, GRPC, body).await;
        assert!(
            expected.contains(&status.as_str()),
            "{case}: grpc-status {status}, expected one of {expected:?}"
        );
    }
    // Probing paths no service serves must not add a metric series per path.
    let metrics = server.scrape_metrics();
    assert!(
        !metrics.contains("Frobnicate") && !metrics.contains("nope.v1"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains(r#"grpc_server_handled_total{grpc_code="Unimplemented",grpc_method="unknown",grpc_service="unknown",grpc_type="unary"} 2"#),
        "{metrics}"
    );
    still_serving(&mut server).await;
}

#[tokio::test]
async fn randomly_mutated_and_truncated_requests_are_all_answered() {
    let mut server = TestServer::start_with_tokens(&[]);
    let valid = pairing_aid_client::v1::CreateProjectRequest {
        project: Some(common::project("mutated")),
        project_id: String::new(),
        request_id: "mutated".into(),
        reason: String::new(),
    }
    .encode_to_vec();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..300 {
        let mut payload = valid.clone();
        for _ in 0..1 + next() % 8 {
            let at = (next() as usize) % payload.len();
            payload[at] = next() as u8;
        }
        let keep = if round % 3 == 0 {
            (next() as usize) % payload.len()
        } else {
            payload.len()
        };
        let declared = if round % 5 == 0 {
            payload.len() as u32 + (next() % 50) as u32
        } else {
            keep as u32
        };
        let status = grpc_status(
            &server,
            GET_PROJECT,
            GRPC,
            frame(false, declared, &payload[..keep]),
        )
        .await;
        let code: i32 = status.parse().unwrap();
        assert!(
            (0..=16).contains(&code),
            "round {round}: grpc-status {status}"
        );
    }
    still_serving(&mut server).await;
}

/// Opens a raw TCP connection, writes `bytes`, and waits for the server to close it or answer.
async fn raw(server: &TestServer, bytes: &[u8]) {
    let exchange = async {
        let mut tcp = TcpStream::connect(&server.address).await.unwrap();
        let _ = tcp.write_all(bytes).await;
        let _ = tcp.shutdown().await;
        let mut sink = Vec::new();
        let _ = tcp.read_to_end(&mut sink).await;
    };
    tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .expect("the server closes a broken connection");
}

#[tokio::test]
async fn broken_http2_connections_are_closed_and_others_served() {
    let mut server = TestServer::start();
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    // Not HTTP/2 at all.
    raw(&server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    raw(&server, &[0xFF; 512]).await;
    // Half a preface.
    raw(&server, &PREFACE[..10]).await;
    // A preface, then a frame header declaring a huge frame, then nothing.
    raw(
        &server,
        &[PREFACE, &[0xFF, 0xFF, 0xFF, 0x00, 0x00, 0, 0, 0, 1]].concat(),
    )
    .await;
    // A preface, then a HEADERS frame with a garbage header block.
    raw(
        &server,
        &[PREFACE, &[0, 0, 8, 0x01, 0x05, 0, 0, 0, 1], &[0xFF; 8]].concat(),
    )
    .await;
    // A preface, then DATA on a stream never opened.
    raw(
        &server,
        &[PREFACE, &[0, 0, 4, 0x00, 0x01, 0, 0, 0, 7], b"oops"].concat(),
    )
    .await;
    still_serving(&mut server).await;
}
