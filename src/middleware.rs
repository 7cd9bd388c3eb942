//! The one shape of the server's router-wide tower middleware: a layer whose service hands
//! each call, with the service it wraps, to a `Wrap`, which answers with a boxed future. Each
//! middleware then says only what it does to a call. (Authentication wraps each guarded
//! service instead: `api::auth::Authenticated`.)

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower::{Layer, Service};

/// A call's answer, boxed.
pub type Answer<Response, Error> = Pin<Box<dyn Future<Output = Result<Response, Error>> + Send>>;

/// What a middleware does with each call.
pub trait Wrap<S: Service<Request>, Request>: Clone {
    /// Answers `request`, calling `inner` (which is ready) as it sees fit.
    fn wrap(&self, inner: &mut S, request: Request) -> Answer<S::Response, S::Error>;
}

/// A layer that wraps every call of its service with `W`.
#[derive(Clone)]
pub struct WrapLayer<W>(pub W);

impl<S, W: Clone> Layer<S> for WrapLayer<W> {
    type Service = Wrapped<S, W>;

    fn layer(&self, inner: S) -> Self::Service {
        Wrapped {
            inner,
            wrap: self.0.clone(),
        }
    }
}

/// The service a [`WrapLayer`] makes.
#[derive(Clone)]
pub struct Wrapped<S, W> {
    inner: S,
    wrap: W,
}

impl<S, W, Request> Service<Request> for Wrapped<S, W>
where
    S: Service<Request>,
    W: Wrap<S, Request>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Answer<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        self.wrap.wrap(&mut self.inner, request)
    }
}
