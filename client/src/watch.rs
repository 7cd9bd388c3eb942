//! The change feed as one stream that survives reconnects.

use std::collections::VecDeque;

use futures_util::stream;

use crate::{Client, Error, ItemStream, v1};

impl Client {
    /// Every change after `start_revision`, then live ones, as one stream that reconnects
    /// (with the retry policy's backoff) after a retryable failure and resumes after the last
    /// revision it delivered, so no change is lost or repeated.
    pub fn watch(&self, start_revision: i64) -> ItemStream<v1::Change> {
        struct State {
            client: Client,
            after: i64,
            changes: Option<tonic::Streaming<v1::WatchChangesResponse>>,
            pending: VecDeque<v1::Change>,
            failures: u32,
        }
        let state = State {
            client: self.clone(),
            after: start_revision,
            changes: None,
            pending: VecDeque::new(),
            failures: 0,
        };
        Box::pin(stream::unfold(state, |mut state| async move {
            loop {
                if let Some(change) = state.pending.pop_front() {
                    state.after = state.after.max(change.revision);
                    return Some((Ok(change), state));
                }
                let received = match state.changes.as_mut() {
                    Some(changes) => changes.message().await.map_err(Error::from),
                    None => {
                        let request = v1::WatchChangesRequest {
                            start_revision: state.after,
                            ..Default::default()
                        };
                        let mut stub = state.client.records();
                        match stub.watch_changes(request).await {
                            Ok(response) => {
                                state.changes = Some(response.into_inner());
                                continue;
                            }
                            Err(status) => Err(Error::from(status)),
                        }
                    }
                };
                match received {
                    Ok(Some(message)) => {
                        state.failures = 0;
                        state.pending.extend(
                            message
                                .changes
                                .into_iter()
                                .filter(|c| c.revision > state.after),
                        );
                    }
                    // The server ended the stream (it is shutting down): reconnect.
                    Ok(None) => state.changes = None,
                    Err(error)
                        if error.is_retryable()
                            && state.failures + 1 < state.client.retry.max_attempts =>
                    {
                        state.changes = None;
                        let wait = state.client.retry.delay(state.failures, &error);
                        state.failures += 1;
                        tokio::time::sleep(wait).await;
                    }
                    Err(error) => return Some((Err(error), state)),
                }
            }
        }))
    }
}
