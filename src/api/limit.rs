//! Refuses calls beyond a number in flight with RESOURCE_EXHAUSTED, at once, instead of queueing
//! them until the server falls over. Health checks are never refused, so probes keep working
//! under load.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use foldhash::HashMap;
use tokio::sync::Semaphore;
use tonic::codegen::http;
use tower::Service;

use super::ApiError;
use crate::middleware::{Answer, Wrap, WrapLayer};

/// Limits calls in flight across all connections, and from any one peer address: a client
/// holding many calls open (slow uploads, say) uses up its own share, not everyone's.
#[derive(Clone)]
pub struct ConcurrencyLimit {
    permits: Arc<Semaphore>,
    limit: usize,
    per_peer: usize,
    /// Calls in flight by peer, looked up twice a call: foldhash, seeded per process, is a
    /// third of SipHash's cost and still unpredictable to a caller choosing its addresses.
    peers: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One call's place in its peer's share; given back when dropped.
struct PeerPlace {
    peers: Arc<Mutex<HashMap<IpAddr, usize>>>,
    peer: IpAddr,
}

impl Drop for PeerPlace {
    fn drop(&mut self) {
        let mut peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = peers.get_mut(&self.peer) {
            *count -= 1;
            if *count == 0 {
                peers.remove(&self.peer);
            }
        }
    }
}

impl ConcurrencyLimit {
    /// At most `limit` calls in flight, `per_peer` of them from one address, as a layer.
    pub fn layer(limit: usize, per_peer: usize) -> WrapLayer<Self> {
        WrapLayer(ConcurrencyLimit {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            per_peer: per_peer.max(1),
            peers: Arc::default(),
        })
    }

    /// A place in `peer`'s share, unless the peer holds all of it.
    fn place_for(&self, peer: IpAddr) -> Option<PeerPlace> {
        let mut peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        let count = peers.entry(peer).or_default();
        if *count >= self.per_peer {
            return None;
        }
        *count += 1;
        Some(PeerPlace {
            peers: self.peers.clone(),
            peer,
        })
    }
}

impl<S, B> Wrap<S, http::Request<B>> for ConcurrencyLimit
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    fn wrap(&self, inner: &mut S, request: http::Request<B>) -> Answer<S::Response, S::Error> {
        if request.uri().path().starts_with("/grpc.health.v1.") {
            return Box::pin(inner.call(request));
        }
        let peer = super::peer::address(request.extensions()).map(|address| address.ip());
        let place = match peer {
            Some(peer) => match self.place_for(peer) {
                Some(place) => Some(place),
                None => {
                    let status: tonic::Status = ApiError::ResourceExhausted {
                        reason: "TOO_MANY_REQUESTS_FROM_PEER",
                        message: format!(
                            "{} calls from this address are in flight, the most one address may \
                             have; retry shortly",
                            self.per_peer
                        ),
                    }
                    .into();
                    return Box::pin(async move { Ok(status.into_http()) });
                }
            },
            None => None,
        };
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let response = inner.call(request);
                Box::pin(async move {
                    let response = response.await;
                    drop((permit, place));
                    response
                })
            }
            Err(_) => {
                let status: tonic::Status = ApiError::ResourceExhausted {
                    reason: "TOO_MANY_REQUESTS",
                    message: format!(
                        "{} calls are in flight, the most this server takes; retry shortly",
                        self.limit
                    ),
                }
                .into();
                Box::pin(async move { Ok(status.into_http()) })
            }
        }
    }
}
