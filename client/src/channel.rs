//! The channel every call goes through: tonic's channel, telling the DNS discovery when a
//! connection fails so that it resolves again at once.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use tokio::sync::Notify;
use tonic::body::Body;
use tonic::codegen::http;
use tonic::transport::Channel;

/// A connection to one server or a balanced set of them. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ServerChannel {
    channel: Channel,
    /// Notified when a call fails to reach a server; `None` without DNS discovery.
    failures: Option<Arc<Notify>>,
}

impl ServerChannel {
    pub(crate) fn new(channel: Channel, failures: Option<Arc<Notify>>) -> Self {
        ServerChannel { channel, failures }
    }

    fn report_failure(&self) {
        if let Some(failures) = &self.failures {
            failures.notify_one();
        }
    }
}

impl tower_service::Service<http::Request<Body>> for ServerChannel {
    type Response = http::Response<Body>;
    type Error = tonic::transport::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let ready = self.channel.poll_ready(cx);
        if let Poll::Ready(Err(_)) = &ready {
            self.report_failure();
        }
        ready
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let response = self.channel.call(request);
        let this = self.clone();
        Box::pin(async move {
            let response = response.await;
            if response.is_err() {
                this.report_failure();
            }
            response
        })
    }
}
