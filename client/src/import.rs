//! Imports that stream batches, hold only unacknowledged ones and resume after a reconnect.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, MutexGuard, PoisonError};

use futures_util::{Stream, StreamExt, stream};

use crate::{Client, Error, v1};

/// What an import did so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportProgress {
    /// Batches acknowledged.
    pub batches: u64,
    /// Records committed.
    pub accepted: u64,
    /// Records refused, with the batch and position they had and why.
    pub rejected: Vec<RejectedRecord>,
}

/// One refused record of an import.
#[derive(Clone, Debug, PartialEq)]
pub struct RejectedRecord {
    /// Position of the record in the whole import, from 0.
    pub position: u64,
    /// The field at fault.
    pub field: String,
    /// What is wrong.
    pub description: String,
}

/// Batches sent but not yet acknowledged, and the source of the batches still to send.
struct ImportQueue {
    import_id: String,
    source: tokio::sync::Mutex<Pin<Box<dyn Stream<Item = Vec<v1::Record>> + Send>>>,
    unacknowledged: std::sync::Mutex<VecDeque<SentBatch>>,
    /// Sequence number and first record position of the next batch taken from the source.
    next: std::sync::Mutex<(i64, u64)>,
    exhausted: AtomicBool,
}

/// A batch kept until the server acknowledges it, to resend it after a reconnect.
#[derive(Clone)]
struct SentBatch {
    sequence: i64,
    first_position: u64,
    records: Vec<v1::Record>,
}

impl ImportQueue {
    fn request(&self, batch: SentBatch) -> v1::ImportRecordsRequest {
        v1::ImportRecordsRequest {
            import_id: self.import_id.clone(),
            batch_sequence: batch.sequence,
            records: batch.records,
            ..Default::default()
        }
    }

    fn unacknowledged(&self) -> MutexGuard<'_, VecDeque<SentBatch>> {
        self.unacknowledged
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The requests of one attempt: every unacknowledged batch again, then new batches pulled
    /// from the source as the server takes them.
    fn outbound(self: &Arc<Self>) -> impl Stream<Item = v1::ImportRecordsRequest> + Send + use<> {
        let resent: Vec<_> = self
            .unacknowledged()
            .iter()
            .map(|batch| self.request(batch.clone()))
            .collect();
        let fresh = stream::unfold(Arc::clone(self), |queue| async move {
            let Some(records) = queue.source.lock().await.next().await else {
                queue.exhausted.store(true, Ordering::SeqCst);
                return None;
            };
            let batch = {
                let mut next = queue.next.lock().unwrap_or_else(PoisonError::into_inner);
                let batch = SentBatch {
                    sequence: next.0,
                    first_position: next.1,
                    records,
                };
                *next = (next.0 + 1, next.1 + batch.records.len() as u64);
                batch
            };
            queue.unacknowledged().push_back(batch.clone());
            Some((queue.request(batch), queue))
        });
        stream::iter(resent).chain(fresh)
    }

    /// Forgets batches up to `sequence`; the first position of batch `sequence`.
    fn acknowledge(&self, sequence: i64) -> Option<u64> {
        let mut unacknowledged = self.unacknowledged();
        let mut first_position = None;
        while unacknowledged
            .front()
            .is_some_and(|batch| batch.sequence <= sequence)
        {
            let batch = unacknowledged.pop_front()?;
            if batch.sequence == sequence {
                first_position = Some(batch.first_position);
            }
        }
        first_position
    }

    fn finished(&self) -> bool {
        self.exhausted.load(Ordering::SeqCst) && self.unacknowledged().is_empty()
    }
}

impl Client {
    /// Imports `records` in batches of `batch_size` under `import_id`, calling `progress`
    /// after each acknowledged batch. See [`Client::import_stream`].
    pub async fn import(
        &self,
        import_id: &str,
        records: impl IntoIterator<Item = v1::Record, IntoIter: Send + 'static>,
        batch_size: usize,
        progress: impl FnMut(&ImportProgress),
    ) -> Result<ImportProgress, Error> {
        self.import_stream(import_id, stream::iter(records), batch_size, progress)
            .await
    }

    /// Imports the records of a stream in batches of `batch_size` under `import_id`, calling
    /// `progress` after each acknowledged batch. Records are pulled only as fast as the server
    /// takes them, and only unacknowledged batches are held in memory. Each batch is all or
    /// none; a refused batch is reported and the import goes on. After a retryable failure the
    /// import reconnects and resends from the first unacknowledged batch; the server replays
    /// batches it already has.
    ///
    /// ```no_run
    /// # async fn run(client: pairing_aid_client::Client) -> Result<(), pairing_aid_client::Error> {
    /// use pairing_aid_client::v1;
    /// let (sender, receiver) = tokio::sync::mpsc::channel::<v1::Record>(1000);
    /// tokio::spawn(async move {
    ///     // Records arrive from elsewhere, e.g. another service.
    ///     let _ = sender.send(v1::Record::default()).await;
    /// });
    /// let records = futures_util::stream::unfold(receiver, |mut receiver| async move {
    ///     receiver.recv().await.map(|record| (record, receiver))
    /// });
    /// let report = client
    ///     .import_stream("nightly-2026-11-29", records, 500, |p| eprintln!("{} accepted", p.accepted))
    ///     .await?;
    /// println!("{} rejected", report.rejected.len());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn import_stream(
        &self,
        import_id: &str,
        records: impl Stream<Item = v1::Record> + Send + 'static,
        batch_size: usize,
        mut progress: impl FnMut(&ImportProgress),
    ) -> Result<ImportProgress, Error> {
        let queue = Arc::new(ImportQueue {
            import_id: import_id.to_owned(),
            source: tokio::sync::Mutex::new(Box::pin(records.chunks(batch_size.max(1)))),
            unacknowledged: std::sync::Mutex::new(VecDeque::new()),
            next: std::sync::Mutex::new((1, 0)),
            exhausted: AtomicBool::new(false),
        });
        let mut report = ImportProgress::default();
        let mut attempt = 1;
        while !queue.finished() {
            let result = async {
                let mut acks = self
                    .records()
                    .import_records(queue.outbound())
                    .await?
                    .into_inner();
                while let Some(ack) = acks.message().await? {
                    let Some(first_position) = queue.acknowledge(ack.batch_sequence) else {
                        continue;
                    };
                    report.batches += 1;
                    report.accepted += ack.accepted_count as u64;
                    report
                        .rejected
                        .extend(ack.violations.into_iter().map(|v| RejectedRecord {
                            position: first_position + v.index as u64,
                            field: v.field,
                            description: v.description,
                        }));
                    progress(&report);
                }
                if queue.finished() {
                    Ok(())
                } else {
                    Err(tonic::Status::unavailable(
                        "the server ended the import before acknowledging every batch",
                    ))
                }
            }
            .await
            .map_err(Error::from);
            match result {
                Ok(()) => {}
                Err(error) if error.is_retryable() && attempt < self.retry.max_attempts => {
                    tokio::time::sleep(self.retry.delay(attempt - 1, &error)).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
        Ok(report)
    }
}
