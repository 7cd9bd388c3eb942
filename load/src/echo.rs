//! The yardstick: a tonic service that does nothing but send the request back, served the way
//! pairing-aid is (TCP_NODELAY, HTTP/2 over plaintext TCP).

use tonic::{Request, Response, Status};

pub mod pb {
    tonic::include_proto!("loadtest.echo.v1");
}

use pb::echo_service_server::{EchoService, EchoServiceServer};
use pb::{EchoRequest, EchoResponse};

struct Echo;

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(EchoResponse {
            payload: request.into_inner().payload,
        }))
    }
}

/// Serves the echo service on `listen` until the process ends; prints the bound address.
pub async fn serve(listen: std::net::SocketAddr) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("binding {listen}: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {address}");
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(EchoServiceServer::new(Echo))
        .serve_with_incoming(incoming)
        .await
        .map_err(|e| e.to_string())
}
