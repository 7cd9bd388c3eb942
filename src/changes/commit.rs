//! The write path: single writes queued and committed in groups sharing one fsync, each
//! planned against the record as earlier commits of its group leave it, made durable, then
//! applied to the read model in revision order.

use std::sync::Arc;

use foldhash::HashSet;

use tokio::sync::oneshot;

use super::ledger::{Ledger, QueuedWrite, WriteQueue};
use super::plan::{WriteError, WriteRequest, plan};
use crate::domain::{Commit, Committed};
use crate::store::StoreError;
use crate::telemetry;

impl Ledger {
    /// Validates and commits `request` as one revision. The caller has looked its request id
    /// up (`replay`); a retry racing its first attempt is answered by the store, which checks
    /// the id again inside the transaction.
    ///
    /// Writes arriving while a group commits are committed together in the next group, each
    /// under its own revision, with one fsync: when the disk stalls, the writes queued behind
    /// it then cost one more fsync, not one each. The group runs on a task of its own, so a
    /// caller that goes away cannot cut short the others' writes; its own write may still be
    /// made (a retry with the same request id finds it).
    pub async fn write(
        self: &Arc<Self>,
        request: WriteRequest,
    ) -> Result<Arc<Committed>, WriteError> {
        let (outcome, answer) = oneshot::channel();
        let start_drain = {
            let mut queue = self.write_queue();
            queue.writes.push(QueuedWrite { request, outcome });
            !std::mem::replace(&mut queue.drain_scheduled, true)
        };
        if start_drain {
            let ledger = self.clone();
            tokio::spawn(async move { ledger.commit_queued().await });
        }
        answer.await.unwrap_or_else(|_| {
            Err(WriteError::Store(StoreError::Unavailable(
                "the write's group ended without an answer; retry with the same request id".into(),
            )))
        })
    }

    /// The queue of single writes; a panic while it was held leaves nothing half-done in it.
    fn write_queue(&self) -> std::sync::MutexGuard<'_, WriteQueue> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Commits every queued write, in arrival order, in as few groups as can be.
    async fn commit_queued(&self) {
        let _guard = self.write_lock.lock().await;
        let queued = {
            let mut queue = self.write_queue();
            queue.drain_scheduled = false;
            std::mem::take(&mut queue.writes)
        };
        let mut queued = queued.into_iter().peekable();
        while queued.peek().is_some() {
            // A group ends before a write to a resource the group already writes: that write's
            // precondition needs the revision the earlier one is given at commit.
            let mut names = HashSet::default();
            let mut requests = Vec::new();
            let mut outcomes = Vec::new();
            while let Some(next) =
                queued.next_if(|q| q.request.names().all(|name| !names.contains(name)))
            {
                names.extend(next.request.names().cloned());
                requests.push(next.request);
                outcomes.push(next.outcome);
            }
            for (outcome, result) in outcomes.into_iter().zip(self.commit_locked(requests).await) {
                // The caller may have gone away; its write stands either way.
                let _ = outcome.send(result);
            }
        }
    }

    /// Validates and commits each request under its own revision, in order, made durable
    /// together: a later request sees the writes of earlier ones. Each succeeds or fails alone;
    /// a request whose id was seen before gets its first result.
    pub async fn write_group(
        &self,
        requests: Vec<WriteRequest>,
    ) -> Vec<Result<Arc<Committed>, WriteError>> {
        let mut results: Vec<Option<Result<Arc<Committed>, WriteError>>> =
            Vec::with_capacity(requests.len());
        let mut pending = Vec::new();
        for request in requests {
            let replayed = match &request.request {
                Some(key) => self.replay(key).await.map_err(WriteError::from).transpose(),
                None => None,
            };
            if replayed.is_none() {
                pending.push((results.len(), request));
            }
            results.push(replayed);
        }
        let (indexes, pending): (Vec<usize>, Vec<WriteRequest>) = pending.into_iter().unzip();
        let outcomes = {
            let _guard = self.write_lock.lock().await;
            self.commit_locked(pending).await
        };
        for (index, outcome) in indexes.into_iter().zip(outcomes) {
            results[index] = Some(outcome);
        }
        results
            .into_iter()
            .map(|r| r.expect("every request has a result"))
            .collect()
    }

    /// Plans, commits and applies `requests`, in order and with one result each; the caller
    /// holds `write_lock`, so the model planned against is exactly the store's state before
    /// the group.
    async fn commit_locked(
        &self,
        requests: Vec<WriteRequest>,
    ) -> Vec<Result<Arc<Committed>, WriteError>> {
        // Plan against everything committed so far, also by other replicas.
        if self.is_shared()
            && let Err(error) = self.catch_up_to(i64::MAX).await
        {
            return requests
                .iter()
                .map(|_| Err(WriteError::Store(error.for_each_request())))
                .collect();
        }
        let mut results: Vec<Option<Result<Arc<Committed>, WriteError>>> =
            Vec::with_capacity(requests.len());
        let mut planned: Vec<(usize, Commit)> = Vec::new();
        {
            let model = self.model().read();
            for request in requests {
                let earlier: Vec<&Commit> = planned.iter().map(|(_, c)| c).collect();
                match plan(&model, &earlier, request) {
                    Ok(commit) => {
                        planned.push((results.len(), commit));
                        results.push(None);
                    }
                    Err(error) => results.push(Some(Err(error))),
                }
            }
        }
        let (indexes, commits): (Vec<usize>, Vec<Commit>) = planned.into_iter().unzip();
        if !commits.is_empty() {
            match self.commit_planned(commits).await {
                Ok(outcomes) => {
                    for (index, outcome) in indexes.into_iter().zip(outcomes) {
                        results[index] = Some(outcome.map_err(WriteError::from));
                    }
                }
                Err(error) => {
                    for index in indexes {
                        results[index] = Some(Err(WriteError::Store(error.for_each_request())));
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every request has a result"))
            .collect()
    }

    /// Commits a group and applies each commit in order; the caller holds `write_lock`.
    async fn commit_planned(
        &self,
        commits: Vec<Commit>,
    ) -> Result<Vec<Result<Arc<Committed>, StoreError>>, StoreError> {
        let started = std::time::Instant::now();
        let outcomes = self.store().commit_group(commits).await?;
        telemetry::metrics()
            .store_commit_duration
            .observe(started.elapsed().as_secs_f64());
        let mut results = Vec::with_capacity(outcomes.len());
        for outcome in outcomes {
            let committed = match outcome {
                Ok(committed) => Arc::new(committed),
                Err(error) => {
                    results.push(Err(error));
                    continue;
                }
            };
            if !committed.replayed && !committed.writes.is_empty() {
                // Another replica may have committed since this one last caught up: apply
                // its commits first, so the model sees every revision in order.
                if committed.revision > self.applied_revision() + 1 {
                    self.catch_up_to(committed.revision - 1).await?;
                }
                self.publish(committed.clone());
            }
            results.push(Ok(committed));
        }
        Ok(results)
    }
}
