//! Calls made on raw HTTP/2 (the `h2` crate), below any gRPC library, so that a message, its
//! framing and its headers can be anything at all; and bytes that are not HTTP/2 at all.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use prost::bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::codegen::http;

/// How a call ended, as the caller saw it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ending {
    /// A gRPC status, whether it carried `grpc-status-details-bin`, and its message.
    Status {
        code: tonic::Code,
        details: bool,
        message: String,
    },
    /// An HTTP answer without a gRPC status (a protocol-level refusal).
    Http(u16),
    /// The stream or connection was reset or closed.
    Reset,
    /// No answer within the caller's patience.
    NoAnswer,
}

/// A raw HTTP/2 connection from a chosen local address.
pub async fn connect(
    server: SocketAddr,
    from: IpAddr,
) -> Result<h2::client::SendRequest<Bytes>, String> {
    let tcp = bound_stream(server, from).await?;
    let (client, connection) = h2::client::handshake(tcp)
        .await
        .map_err(|e| format!("HTTP/2 handshake: {e}"))?;
    tokio::spawn(connection);
    Ok(client)
}

async fn bound_stream(server: SocketAddr, from: IpAddr) -> Result<tokio::net::TcpStream, String> {
    let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket
        .bind(SocketAddr::new(from, 0))
        .map_err(|e| e.to_string())?;
    socket
        .connect(server)
        .await
        .map_err(|e| format!("connecting to {server}: {e}"))
}

/// `message` in gRPC's length-prefixed framing, uncompressed.
pub fn framed(message: &[u8]) -> Bytes {
    let mut bytes = Vec::with_capacity(message.len() + 5);
    bytes.push(0);
    bytes.extend_from_slice(&(message.len() as u32).to_be_bytes());
    bytes.extend_from_slice(message);
    bytes.into()
}

/// A gRPC request to `path` with `headers` beside the usual ones.
pub fn request(server: SocketAddr, path: &str, headers: &[(String, String)]) -> http::Request<()> {
    let mut builder = http::Request::post(format!("http://{server}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder.body(()).unwrap_or_else(|_| {
        // A path or header the http crate cannot carry: send the plain request instead.
        http::Request::post(format!(
            "http://{server}/pairing.v1.ProjectService/GetProject"
        ))
        .header("content-type", "application/grpc")
        .body(())
        .expect("a valid request")
    })
}

/// Sends `request` with `body` and waits up to `patience` for its ending.
pub async fn call(
    client: &h2::client::SendRequest<Bytes>,
    request: http::Request<()>,
    body: Bytes,
    patience: Duration,
) -> Result<Ending, h2::Error> {
    let mut client = client.clone().ready().await?;
    let (response, mut send) = client.send_request(request, false)?;
    send.send_data(body, true)?;
    Ok(
        match tokio::time::timeout(patience, ending(response)).await {
            Ok(ending) => ending,
            Err(_) => Ending::NoAnswer,
        },
    )
}

/// Reads a response to its end: its gRPC status from the headers (trailers-only) or trailers.
pub async fn ending(response: h2::client::ResponseFuture) -> Ending {
    let Ok(response) = response.await else {
        return Ending::Reset;
    };
    let status_of = |headers: &http::HeaderMap| {
        tonic::Status::from_header_map(headers).map(|status| Ending::Status {
            code: status.code(),
            details: headers.contains_key("grpc-status-details-bin"),
            message: status.message().chars().take(48).collect(),
        })
    };
    if let Some(ending) = status_of(response.headers()) {
        return ending;
    }
    let code = response.status().as_u16();
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        match chunk {
            Ok(chunk) => {
                let _ = body.flow_control().release_capacity(chunk.len());
            }
            Err(_) => return Ending::Reset,
        }
    }
    match body.trailers().await {
        Ok(Some(trailers)) => status_of(&trailers).unwrap_or(Ending::Http(code)),
        Ok(None) => Ending::Http(code),
        Err(_) => Ending::Reset,
    }
}

/// Opens a call whose message is announced as `announced` bytes of which `sent` come, and holds
/// it for `hold` (or until answered).
pub async fn unfinished(
    client: &h2::client::SendRequest<Bytes>,
    request: http::Request<()>,
    announced: u32,
    sent: usize,
    hold: Duration,
) -> Result<Ending, h2::Error> {
    let mut client = client.clone().ready().await?;
    let (response, mut send) = client.send_request(request, false)?;
    let mut bytes = vec![0u8];
    bytes.extend_from_slice(&announced.to_be_bytes());
    bytes.extend(std::iter::repeat_n(7u8, sent));
    send.send_data(bytes.into(), false)?;
    let ending = match tokio::time::timeout(hold, ending(response)).await {
        Ok(ending) => ending,
        Err(_) => Ending::NoAnswer,
    };
    drop(send);
    Ok(ending)
}

/// Sends a request and resets it at once (a "rapid reset").
pub async fn reset_at_once(
    client: &h2::client::SendRequest<Bytes>,
    request: http::Request<()>,
) -> Result<Ending, h2::Error> {
    let mut client = client.clone().ready().await?;
    let (_response, mut send) = client.send_request(request, false)?;
    send.send_reset(h2::Reason::CANCEL);
    Ok(Ending::Reset)
}

/// Writes the HTTP/2 preface and `frames` (any bytes) on a new TCP connection, then reads until
/// the server closes it or `patience` passes. True if the server closed it.
pub async fn garbage(
    server: SocketAddr,
    from: IpAddr,
    frames: &[u8],
    patience: Duration,
) -> Result<bool, String> {
    let mut tcp = bound_stream(server, from).await?;
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    // An empty SETTINGS frame, so the server reads on to the frames that follow.
    bytes.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    bytes.extend_from_slice(frames);
    if tcp.write_all(&bytes).await.is_err() {
        return Ok(true);
    }
    let mut sink = [0u8; 4096];
    let read_to_end = async {
        loop {
            match tcp.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    Ok(tokio::time::timeout(patience, read_to_end).await.is_ok())
}
