//! Time limits a caller cannot stretch: a request's message must arrive promptly, so a client
//! that opens calls and never finishes sending them cannot hold the server's call slots; and a
//! call without a token gets a small, fixed budget, so no anonymous question can keep the
//! server's threads for long.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};
use prost::bytes::Bytes;
use tokio::time::{Instant, Sleep};
use tonic::body::Body as GrpcBody;
use tonic::codegen::http;
use tower::Service;

use super::ApiError;
use crate::middleware::{Answer, Wrap, WrapLayer};

/// The one client-streaming method: its messages may come over a long time, so the limit
/// applies to the wait for each next frame instead of to the whole upload.
const STREAMED_UPLOAD: &str = "/pairing.v1.RecordService/ImportRecords";
/// A watch waits for changes by design; it holds a watcher slot, limited on its own.
const WATCH: &str = "/pairing.v1.RecordService/WatchChanges";
/// The only method whose answer streams from work the server does on the caller's behalf.
const STREAMED_ANSWER: &str = "/pairing.v1.RecordService/ExportRecords";

/// Whether `path` is a probe or a discovery call, which every limit here leaves alone.
fn infrastructure(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.") || path.starts_with("/grpc.reflection.")
}

/// A body that gives up when `deadline` passes before its end: with `error`, after which it
/// ends. `window`, if set, moves the deadline on by that much with every frame.
struct Deadlined {
    inner: GrpcBody,
    deadline: Pin<Box<Sleep>>,
    window: Option<Duration>,
    error: Option<Outcome>,
}

/// How a body that ran out of time ends.
enum Outcome {
    /// A request body: the error the decoder hands the handler, which answers with it.
    Fail(tonic::Status),
    /// A response body: trailers with this status end the call.
    Trailers(tonic::Status),
}

impl Body for Deadlined {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            if let (Some(window), Some(Ok(_))) = (this.window, &frame) {
                this.deadline.as_mut().reset(Instant::now() + window);
            }
            return Poll::Ready(frame);
        }
        if this.deadline.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        Poll::Ready(this.error.take().map(|outcome| match outcome {
            Outcome::Fail(status) => Err(status),
            Outcome::Trailers(status) => {
                let mut trailers = http::HeaderMap::new();
                // Adding the status's headers fails only for an invalid message, which ours are not.
                let _ = status.add_header(&mut trailers);
                Ok(Frame::trailers(trailers))
            }
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.error.is_none() || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Deadlined {
    fn wrap(inner: GrpcBody, until: Instant, window: Option<Duration>, error: Outcome) -> GrpcBody {
        GrpcBody::new(Deadlined {
            inner,
            deadline: Box::pin(tokio::time::sleep_until(until)),
            window,
            error: Some(error),
        })
    }
}

/// Refuses a request whose message does not arrive within `limit` of the call's start (for
/// uploads: of the previous frame), with RESOURCE_EXHAUSTED, freeing its slot.
#[derive(Clone)]
pub struct UploadDeadline {
    limit: Duration,
}

impl UploadDeadline {
    pub fn layer(limit: Duration) -> WrapLayer<Self> {
        WrapLayer(UploadDeadline { limit })
    }
}

impl<S> Wrap<S, http::Request<GrpcBody>> for UploadDeadline
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<GrpcBody>>,
    S::Future: Send + 'static,
{
    fn wrap(
        &self,
        inner: &mut S,
        request: http::Request<GrpcBody>,
    ) -> Answer<S::Response, S::Error> {
        let streamed = request.uri().path() == STREAMED_UPLOAD;
        let status: tonic::Status = ApiError::ResourceExhausted {
            reason: "REQUEST_SENT_TOO_SLOWLY",
            message: format!(
                "the request message did not arrive within {} ms{}; send it whole, at once",
                self.limit.as_millis(),
                if streamed { " of the previous one" } else { "" }
            ),
        }
        .into();
        let limit = self.limit;
        let request = request.map(|body| {
            Deadlined::wrap(
                body,
                Instant::now() + limit,
                streamed.then_some(limit),
                Outcome::Fail(status),
            )
        });
        Box::pin(inner.call(request))
    }
}

/// Ends a call without a token once it has run for `budget`: its answer, or for an export its
/// whole stream. A caller with a token is not limited here.
#[derive(Clone)]
pub struct AnonymousBudget {
    budget: Duration,
}

impl AnonymousBudget {
    pub fn layer(budget: Duration) -> WrapLayer<Self> {
        WrapLayer(AnonymousBudget { budget })
    }

    fn refusal(&self) -> tonic::Status {
        ApiError::ResourceExhausted {
            reason: "ANONYMOUS_CALL_TOO_LONG",
            message: format!(
                "a call without a token may run {} ms and this one needed more; send a bearer \
                 token for longer questions",
                self.budget.as_millis()
            ),
        }
        .into()
    }
}

impl<S> Wrap<S, http::Request<GrpcBody>> for AnonymousBudget
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<GrpcBody>>,
    S::Future: Send + 'static,
{
    fn wrap(
        &self,
        inner: &mut S,
        request: http::Request<GrpcBody>,
    ) -> Answer<S::Response, S::Error> {
        let path = request.uri().path();
        if request.headers().contains_key(http::header::AUTHORIZATION) || infrastructure(path) {
            return Box::pin(inner.call(request));
        }
        let (watch, streamed) = (path == WATCH, path == STREAMED_ANSWER);
        let until = Instant::now() + self.budget;
        let refusal = self.refusal();
        let answer = inner.call(request);
        Box::pin(async move {
            if watch {
                return answer.await;
            }
            // Dropping the answer on time-out raises its interrupt, which stops the work.
            match tokio::time::timeout_at(until, answer).await {
                Ok(Ok(response)) if streamed => Ok(response
                    .map(|body| Deadlined::wrap(body, until, None, Outcome::Trailers(refusal)))),
                Ok(answered) => answered,
                Err(_) => Ok(refusal.into_http()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, StreamBody};

    use super::*;

    /// A body that never sends anything, like a client that stalls.
    fn stalled() -> GrpcBody {
        GrpcBody::new(StreamBody::new(futures_util::stream::pending::<
            Result<Frame<Bytes>, tonic::Status>,
        >()))
    }

    #[tokio::test]
    async fn a_stalled_answer_ends_with_the_refusal_in_its_trailers() {
        let limit = Duration::from_millis(20);
        let refusal = AnonymousBudget { budget: limit }.refusal();
        let mut body = Deadlined::wrap(
            stalled(),
            Instant::now() + limit,
            None,
            Outcome::Trailers(refusal),
        );
        let frame = body.frame().await.unwrap().unwrap();
        let status = tonic::Status::from_header_map(frame.trailers_ref().unwrap()).unwrap();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(body.frame().await.is_none(), "nothing after the trailers");
    }

    #[tokio::test]
    async fn a_stalled_upload_fails_with_the_refusal() {
        let limit = Duration::from_millis(20);
        let mut body = Deadlined::wrap(
            stalled(),
            Instant::now() + limit,
            Some(limit),
            Outcome::Fail(tonic::Status::resource_exhausted("slow")),
        );
        let status = body.frame().await.unwrap().unwrap_err();
        assert_eq!(status.message(), "slow");
    }
}
