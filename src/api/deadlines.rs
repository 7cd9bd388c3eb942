//! Time limits a caller cannot stretch, in one layer: a request's message must arrive promptly,
//! so a client that opens calls and never finishes sending them cannot hold the server's call
//! slots; and a call without a token gets a small, fixed budget, so no anonymous question can
//! keep the server's threads for long.

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

/// A deadline whose timer is made only when first waited on: most requests have arrived
/// whole by the time they are read and most answers are ready at once, and their calls never
/// pay for a timer.
struct LazyDeadline {
    until: Instant,
    timer: Option<Pin<Box<Sleep>>>,
}

impl LazyDeadline {
    fn new(until: Instant) -> Self {
        LazyDeadline { until, timer: None }
    }

    fn reset(&mut self, until: Instant) {
        self.until = until;
        if let Some(timer) = &mut self.timer {
            timer.as_mut().reset(until);
        }
    }

    /// Ready once the deadline has passed.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let until = self.until;
        self.timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(until)))
            .as_mut()
            .poll(cx)
    }
}

/// A body that gives up when its deadline passes before its end, ending as `outcome` says.
/// `window`, if set, moves the deadline on by that much with every frame.
struct Deadlined {
    inner: GrpcBody,
    deadline: LazyDeadline,
    window: Option<Duration>,
    outcome: Option<Outcome>,
}

/// How a body that ran out of time ends, and why.
enum Outcome {
    /// A request body: the decoder hands this error to the handler, which answers with it.
    SentTooSlowly { limit: Duration, streamed: bool },
    /// A response body: trailers with this refusal end the call.
    AnonymousTooLong { budget: Duration },
}

impl Outcome {
    fn frame(self) -> Result<Frame<Bytes>, tonic::Status> {
        match self {
            Outcome::SentTooSlowly { limit, streamed } => Err(sent_too_slowly(limit, streamed)),
            Outcome::AnonymousTooLong { budget } => {
                let mut trailers = http::HeaderMap::new();
                // Adding the status's headers fails only for an invalid message, which ours are not.
                let _ = anonymous_too_long(budget).add_header(&mut trailers);
                Ok(Frame::trailers(trailers))
            }
        }
    }
}

fn sent_too_slowly(limit: Duration, streamed: bool) -> tonic::Status {
    ApiError::ResourceExhausted {
        reason: "REQUEST_SENT_TOO_SLOWLY",
        message: format!(
            "the request message did not arrive within {} ms{}; send it whole, at once",
            limit.as_millis(),
            if streamed { " of the previous one" } else { "" }
        ),
    }
    .into()
}

fn anonymous_too_long(budget: Duration) -> tonic::Status {
    ApiError::ResourceExhausted {
        reason: "ANONYMOUS_CALL_TOO_LONG",
        message: format!(
            "a call without a token may run {} ms and this one needed more; send a bearer \
             token for longer questions",
            budget.as_millis()
        ),
    }
    .into()
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
                this.deadline.reset(Instant::now() + window);
            }
            return Poll::Ready(frame);
        }
        if this.deadline.poll(cx).is_pending() {
            return Poll::Pending;
        }
        Poll::Ready(this.outcome.take().map(Outcome::frame))
    }

    fn is_end_stream(&self) -> bool {
        self.outcome.is_none() || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Deadlined {
    fn wrap(
        inner: GrpcBody,
        until: Instant,
        window: Option<Duration>,
        outcome: Outcome,
    ) -> GrpcBody {
        GrpcBody::new(Deadlined {
            inner,
            deadline: LazyDeadline::new(until),
            window,
            outcome: Some(outcome),
        })
    }
}

/// Both limits, in one layer: a request whose message does not arrive within `upload` of the
/// call's start (for imports: of the previous frame) is refused with RESOURCE_EXHAUSTED,
/// freeing its slot; a call without a token ends once it has run for `anonymous_budget`: its
/// answer, or for an export its whole stream. Probes, discovery and watches have no budget.
#[derive(Clone)]
pub struct Deadlines {
    upload: Duration,
    anonymous_budget: Duration,
}

impl Deadlines {
    pub fn layer(upload: Duration, anonymous_budget: Duration) -> WrapLayer<Self> {
        WrapLayer(Deadlines {
            upload,
            anonymous_budget,
        })
    }
}

impl<S> Wrap<S, http::Request<GrpcBody>> for Deadlines
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
        let budgeted = !(request.headers().contains_key(http::header::AUTHORIZATION)
            || infrastructure(path)
            || path == WATCH);
        let streamed = path == STREAMED_ANSWER;
        let (upload, limit) = (path == STREAMED_UPLOAD, self.upload);
        let started = Instant::now();
        let request = request.map(|body| {
            Deadlined::wrap(
                body,
                started + limit,
                upload.then_some(limit),
                Outcome::SentTooSlowly {
                    limit,
                    streamed: upload,
                },
            )
        });
        let answer = inner.call(request);
        if !budgeted {
            return Box::pin(answer);
        }
        let budget = self.anonymous_budget;
        let until = started + budget;
        Box::pin(async move {
            // Dropping the answer on time-out raises its interrupt, which stops the work.
            let mut answer = std::pin::pin!(answer);
            let mut deadline = LazyDeadline::new(until);
            let answered = std::future::poll_fn(|cx| {
                if let Poll::Ready(answered) = answer.as_mut().poll(cx) {
                    return Poll::Ready(Some(answered));
                }
                deadline.poll(cx).map(|()| None)
            })
            .await;
            match answered {
                Some(Ok(response)) if streamed => Ok(response.map(|body| {
                    Deadlined::wrap(body, until, None, Outcome::AnonymousTooLong { budget })
                })),
                Some(answered) => answered,
                None => Ok(anonymous_too_long(budget).into_http()),
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
        let mut body = Deadlined::wrap(
            stalled(),
            Instant::now() + limit,
            None,
            Outcome::AnonymousTooLong { budget: limit },
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
            Outcome::SentTooSlowly {
                limit,
                streamed: true,
            },
        );
        let status = body.frame().await.unwrap().unwrap_err();
        assert!(
            status
                .message()
                .contains("within 20 ms of the previous one")
        );
    }
}
