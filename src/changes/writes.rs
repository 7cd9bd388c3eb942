//! Turning requested writes into one validated, preconditioned commit.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::domain::{Area, Catalog, Indicator, Resource, ResourceName, Violations};
use crate::query::ReadModel;
use crate::store::{Commit, Committed, Conflict, Precondition, RequestKey, StoreError, Write};

use tokio::sync::oneshot;

use super::Ledger;
use super::ledger::QueuedWrite;

/// Makes a resource's new version from the version current when the write is planned, with
/// the problems found in the input.
pub type Rebase = Box<dyn FnOnce(&Resource) -> (Resource, Violations) + Send>;

/// One requested change.
pub enum WriteOp {
    /// Create a resource that must not exist yet.
    Create(Resource),
    /// Replace a resource that must still be at `expected_revision`.
    Replace {
        resource: Resource,
        expected_revision: i64,
    },
    /// Create or replace, whatever is there.
    Upsert(Resource),
    /// Delete a resource, if given only while it is at `expected_revision`.
    Delete {
        name: ResourceName,
        expected_revision: Option<i64>,
    },
}

/// One requested change: a write ready to plan, or a new version made from the current one.
pub enum Edit {
    Write(Box<WriteOp>),
    /// Replace a resource with what `rebase` makes of the version current at planning, under
    /// the write lock: an update without an etag, which no concurrent write makes stale.
    Rebase {
        name: ResourceName,
        rebase: Rebase,
    },
}

impl From<WriteOp> for Edit {
    fn from(op: WriteOp) -> Self {
        Edit::Write(Box::new(op))
    }
}

impl WriteOp {
    fn name(&self) -> &ResourceName {
        match self {
            WriteOp::Create(r) | WriteOp::Upsert(r) | WriteOp::Replace { resource: r, .. } => {
                r.name()
            }
            WriteOp::Delete { name, .. } => name,
        }
    }

    fn resource(&self) -> Option<&Resource> {
        match self {
            WriteOp::Create(r) | WriteOp::Upsert(r) | WriteOp::Replace { resource: r, .. } => {
                Some(r)
            }
            WriteOp::Delete { .. } => None,
        }
    }
}

/// Writes to commit together, all or none.
pub struct WriteRequest {
    pub subject: String,
    /// Each op with the violations already found in its input (while decoding), which are
    /// reported together with those validation finds.
    pub ops: Vec<(Edit, Violations)>,
    pub request: Option<RequestKey>,
}

impl WriteRequest {
    /// The resources the request writes.
    fn names(&self) -> impl Iterator<Item = &ResourceName> {
        self.ops.iter().map(|(edit, _)| match edit {
            Edit::Write(op) => op.name(),
            Edit::Rebase { name, .. } => name,
        })
    }
}

/// Why a write was refused; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Rule violations, by position of the op in the request.
    #[error("invalid input")]
    Invalid(Vec<(usize, Violations)>),
    /// A resource to delete or replace does not exist.
    #[error("{0} does not exist")]
    NotFound(ResourceName),
    /// A resource cannot be deleted while another refers to it.
    #[error("{name} is referred to by {by}")]
    Referenced {
        name: ResourceName,
        by: ResourceName,
    },
    #[error(transparent)]
    Conflict(Conflict),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for WriteError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(conflict) => WriteError::Conflict(conflict),
            other => WriteError::Store(other),
        }
    }
}

/// The record as it will be: the model overlaid with writes not yet applied to it, later
/// writes winning.
struct Staged<'a> {
    model: &'a ReadModel,
    puts: HashMap<&'a ResourceName, &'a Resource>,
    deletes: HashSet<&'a ResourceName>,
}

impl<'a> Staged<'a> {
    fn new(model: &'a ReadModel) -> Self {
        Staged {
            model,
            puts: HashMap::new(),
            deletes: HashSet::new(),
        }
    }

    fn put(&mut self, resource: &'a Resource) {
        self.deletes.remove(resource.name());
        self.puts.insert(resource.name(), resource);
    }

    fn delete(&mut self, name: &'a ResourceName) {
        self.puts.remove(name);
        self.deletes.insert(name);
    }

    /// The model with the writes of commits planned earlier in the same group.
    /// The resource as earlier commits of the group leave it.
    fn get(&self, name: &ResourceName) -> Option<Resource> {
        match self.puts.get(name) {
            Some(resource) => Some((*resource).clone()),
            None if self.deletes.contains(name) => None,
            None => self.model.get(name),
        }
    }

    fn after(model: &'a ReadModel, earlier: &[&'a Commit]) -> Self {
        let mut staged = Staged::new(model);
        for write in earlier.iter().flat_map(|c| &c.writes) {
            match write {
                Write::Put(resource) => staged.put(resource),
                Write::Delete(name) => staged.delete(name),
            }
        }
        staged
    }
}

impl Catalog for Staged<'_> {
    fn contains(&self, name: &ResourceName) -> bool {
        self.puts.contains_key(name) || (!self.deletes.contains(name) && self.model.contains(name))
    }

    fn indicator(&self, name: &ResourceName) -> Option<&Indicator> {
        match self.puts.get(name) {
            Some(Resource::Indicator(indicator)) => Some(indicator),
            Some(_) => None,
            None if self.deletes.contains(name) => None,
            None => self.model.indicator(name),
        }
    }

    fn area(&self, name: &ResourceName) -> Option<&Area> {
        match self.puts.get(name) {
            Some(Resource::Area(area)) => Some(area),
            Some(_) => None,
            None if self.deletes.contains(name) => None,
            None => self.model.area(name),
        }
    }
}

/// Checks every op against the record, as left by the `earlier` commits of the same group,
/// and builds the commit with its preconditions.
fn plan(
    model: &ReadModel,
    earlier: &[&Commit],
    request: WriteRequest,
) -> Result<Commit, WriteError> {
    let before = Staged::after(model, earlier);
    let mut rebased = Vec::with_capacity(request.ops.len());
    for (op, known) in request.ops {
        rebased.push(match op {
            Edit::Rebase { name, rebase } => {
                let current = before
                    .get(&name)
                    .ok_or_else(|| WriteError::NotFound(name.clone()))?;
                let expected_revision = current.meta().revision;
                let (resource, mut violations) = rebase(&current);
                violations.extend(known);
                let op = WriteOp::Replace {
                    resource,
                    expected_revision,
                };
                (op, violations)
            }
            Edit::Write(op) => (*op, known),
        });
    }
    let (ops, known): (Vec<WriteOp>, Vec<Violations>) = rebased.into_iter().unzip();
    let mut staged = Staged::after(model, earlier);
    for op in &ops {
        match op.resource() {
            Some(resource) => staged.put(resource),
            None => staged.delete(op.name()),
        }
    }
    let own_puts: HashSet<&ResourceName> = ops
        .iter()
        .filter_map(|op| op.resource().map(Resource::name))
        .collect();
    let mut invalid = Vec::new();
    let mut preconditions = Vec::new();
    for ((index, op), known) in ops.iter().enumerate().zip(known) {
        if let Some(resource) = op.resource() {
            let mut violations = known;
            for found in resource.validate(&staged).0 {
                // A field that failed to decode is reported once, for why it failed.
                if !violations.0.iter().any(|v| v.field == found.field) {
                    violations.0.push(found);
                }
            }
            if !violations.is_empty() {
                invalid.push((index, violations));
            }
            for (_, target) in resource.references() {
                if !own_puts.contains(target) {
                    preconditions.push(Precondition::Exists(target.clone()));
                }
            }
        }
        match op {
            WriteOp::Create(resource) => {
                preconditions.push(Precondition::Absent(resource.name().clone()))
            }
            WriteOp::Replace {
                resource,
                expected_revision,
            } => preconditions.push(Precondition::AtRevision(
                resource.name().clone(),
                *expected_revision,
            )),
            WriteOp::Upsert(_) => {}
            WriteOp::Delete {
                name,
                expected_revision,
            } => {
                if !before.contains(name) {
                    return Err(WriteError::NotFound(name.clone()));
                }
                let referrer = model
                    .first_referrer(name)
                    .filter(|by| !staged.deletes.contains(by))
                    .or_else(|| {
                        staged
                            .puts
                            .values()
                            .find(|r| r.references().iter().any(|(_, t)| *t == name))
                            .map(|r| r.name().clone())
                    });
                if let Some(by) = referrer {
                    return Err(WriteError::Referenced {
                        name: name.clone(),
                        by,
                    });
                }
                preconditions.push(match expected_revision {
                    Some(revision) => Precondition::AtRevision(name.clone(), *revision),
                    None => Precondition::Exists(name.clone()),
                });
                // No referrer was found in the model; one another replica commits before
                // this commit's transaction would not be, so the store refuses the delete
                // if anything was committed after the revision planned against.
                preconditions.push(Precondition::PlannedAt(model.revision));
            }
        }
    }
    if !invalid.is_empty() {
        return Err(WriteError::Invalid(invalid));
    }
    preconditions.sort();
    preconditions.dedup();
    let writes = ops
        .into_iter()
        .map(|op| match op {
            WriteOp::Create(mut r)
            | WriteOp::Upsert(mut r)
            | WriteOp::Replace {
                resource: mut r, ..
            } => {
                // Keep the first creation time; the store sets it for new resources.
                r.meta_mut().create_time = model.meta_of(r.name()).and_then(|old| old.create_time);
                Write::Put(Box::new(r))
            }
            WriteOp::Delete { name, .. } => Write::Delete(name),
        })
        .collect();
    Ok(Commit {
        subject: request.subject,
        writes,
        preconditions,
        request: request.request,
    })
}

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
    fn write_queue(&self) -> std::sync::MutexGuard<'_, super::ledger::WriteQueue> {
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
            let mut names = HashSet::new();
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Snapshot;

    #[test]
    fn a_planned_delete_requires_that_nothing_was_committed_after_the_models_revision() {
        let resources = crate::seed::demo_resources().unwrap();
        let project = resources
            .iter()
            .find(|r| matches!(r, Resource::Project(_)))
            .unwrap()
            .name()
            .clone();
        let model = ReadModel::from_snapshot(Snapshot {
            revision: 7,
            resources,
        });
        let delete = WriteOp::Delete {
            name: project,
            expected_revision: None,
        };
        let request = WriteRequest {
            subject: "test".into(),
            ops: vec![(delete.into(), Violations::default())],
            request: None,
        };
        let commit = plan(&model, &[], request).unwrap();
        assert!(
            commit.preconditions.contains(&Precondition::PlannedAt(7)),
            "{:?}",
            commit.preconditions
        );
    }
}
