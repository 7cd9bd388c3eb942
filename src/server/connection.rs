//! The connections gRPC is served on: accepted here, with TLS when it is on, so that a renewed
//! certificate takes effect for the next connection without a restart, and so that every
//! connection, plaintext or TLS, carries its peer's TCP address (the per-address limit reads
//! it; tonic's own TLS hides it behind another type).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;
use tracing::{debug, warn};

use crate::api::peer::Peer;

/// Longest a client may take over its TLS handshake; a slow one never delays the others, each
/// handshake runs on its own task.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Idle connections are probed so that a peer that vanished does not hold its place forever.
const KEEPALIVE: Duration = Duration::from_secs(60);

trait Transport: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Transport for T {}

/// One accepted connection, plaintext or TLS, that tells h2 it has no vectored writes.
///
/// h2 sends a DATA frame's payload over 256 bytes with a `writev` of its own when the stream
/// writes vectors, and copies payloads up to 1 KiB into its write buffer when it does not.
/// A project is about 600 bytes, so with vectors every GetProject answer needed a write for its
/// headers and one for its message and trailers (1.8 `writev` per call under load); copied,
/// the answers of many calls leave together, as small echo replies do (0.9).
pub struct Connection {
    io: Box<dyn Transport>,
    peer: Peer,
}

/// Accepts connections on `listener` until the returned stream is dropped; with `tls`, each
/// completes the handshake with the configuration in force when it arrived.
pub fn accept(
    listener: TcpListener,
    tls: Option<Arc<ArcSwap<rustls::ServerConfig>>>,
) -> ReceiverStream<io::Result<Connection>> {
    let (sender, receiver) = mpsc::channel(256);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = sender.closed() => return,
                accepted = listener.accept() => accepted,
            };
            let tcp = match accepted {
                Ok((tcp, _)) => tcp,
                Err(error) => {
                    // Out of descriptors, usually: accepting again at once would spin.
                    warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let address = match tune(&tcp) {
                Ok(()) => tcp.connect_info(),
                Err(error) => {
                    debug!(%error, "dropping a connection that closed as it arrived");
                    continue;
                }
            };
            let Some(tls) = &tls else {
                let connection = Connection {
                    io: Box::new(tcp),
                    peer: Peer {
                        tcp: address,
                        certificate_names: Arc::from([]),
                    },
                };
                if sender.send(Ok(connection)).await.is_err() {
                    return;
                }
                continue;
            };
            let acceptor = tokio_rustls::TlsAcceptor::from(tls.load_full());
            let sender = sender.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let certificate_names = stream
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|chain| chain.first())
                            .map_or_else(|| Arc::from([]), |leaf| certificate_names(leaf));
                        let connection = Connection {
                            io: Box::new(stream),
                            peer: Peer {
                                tcp: address,
                                certificate_names,
                            },
                        };
                        let _ = sender.send(Ok(connection)).await;
                    }
                    Ok(Err(error)) => {
                        debug!(%error, remote = ?address.remote_addr, "TLS handshake failed")
                    }
                    Err(_) => debug!(remote = ?address.remote_addr, "TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(receiver)
}

/// Small answers go out at once, not after the peer's delayed acknowledgement.
fn tune(tcp: &TcpStream) -> io::Result<()> {
    tcp.set_nodelay(true)?;
    socket2::SockRef::from(tcp)
        .set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(KEEPALIVE))
}

/// The URI and DNS subject alternative names of a client certificate the handshake verified:
/// the identities `--tls-client-roles` maps to roles.
fn certificate_names(leaf: &rustls::pki_types::CertificateDer<'_>) -> Arc<[String]> {
    use x509_parser::extensions::GeneralName;
    let Ok((_, certificate)) = x509_parser::parse_x509_certificate(leaf) else {
        return Arc::from([]);
    };
    let Ok(Some(names)) = certificate.subject_alternative_name() else {
        return Arc::from([]);
    };
    names
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::URI(uri) => Some((*uri).to_owned()),
            GeneralName::DNSName(dns) => Some((*dns).to_owned()),
            _ => None,
        })
        .collect()
}

impl Connected for Connection {
    type ConnectInfo = Peer;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.peer.clone()
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}
