//! Who is at the other end of a call's connection: its address and, under mutual TLS, the
//! names its certificate proves.

use std::net::SocketAddr;
use std::sync::Arc;

use tonic::codegen::http::Extensions;
use tonic::transport::server::TcpConnectInfo;

/// A connection's peer, put on every call's extensions by the server's accept loop.
#[derive(Clone, Debug)]
pub struct Peer {
    pub tcp: TcpConnectInfo,
    /// The URI (SPIFFE ID) and DNS names of the client certificate's subject alternative
    /// names; empty without a client certificate.
    pub certificate_names: Arc<[String]>,
}

/// The address a call came from, from our accept loop's `Peer` or tonic's own.
pub fn address(extensions: &Extensions) -> Option<SocketAddr> {
    match extensions.get::<Peer>() {
        Some(peer) => peer.tcp.remote_addr(),
        None => extensions
            .get::<TcpConnectInfo>()
            .and_then(TcpConnectInfo::remote_addr),
    }
}
