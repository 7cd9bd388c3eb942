//! Planning: requested writes checked against the record as it will be, turned into one
//! commit with the preconditions the store checks when it writes.

use foldhash::{HashMap, HashSet};

use crate::domain::{
    Area, Catalog, CodeScheme, Commit, CommitNote, Conflict, Indicator, Precondition, RequestKey,
    Resource, ResourceName, Violations, Write,
};
use crate::query::model::ReadModel;
use crate::store::StoreError;

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
    pub note: CommitNote,
}

impl WriteRequest {
    /// The resources the request writes.
    pub(super) fn names(&self) -> impl Iterator<Item = &ResourceName> {
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
            puts: HashMap::default(),
            deletes: HashSet::default(),
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

impl<'a> Staged<'a> {
    /// What the group's writes make of `name`, as `pick` reads it: `Some(None)` when they
    /// delete it or put another kind there, `None` when they leave it as the model has it.
    fn staged<T>(
        &self,
        name: &ResourceName,
        pick: impl Fn(&'a Resource) -> Option<&'a T>,
    ) -> Option<Option<&'a T>> {
        match self.puts.get(name) {
            Some(resource) => Some(pick(resource)),
            None if self.deletes.contains(name) => Some(None),
            None => None,
        }
    }
}

impl Catalog for Staged<'_> {
    fn contains(&self, name: &ResourceName) -> bool {
        self.puts.contains_key(name) || (!self.deletes.contains(name) && self.model.contains(name))
    }

    fn indicator(&self, name: &ResourceName) -> Option<&Indicator> {
        self.staged(name, |r| match r {
            Resource::Indicator(indicator) => Some(indicator),
            _ => None,
        })
        .unwrap_or_else(|| self.model.indicator(name))
    }

    fn area(&self, name: &ResourceName) -> Option<&Area> {
        self.staged(name, |r| match r {
            Resource::Area(area) => Some(area),
            _ => None,
        })
        .unwrap_or_else(|| self.model.area(name))
    }

    /// A code is held by a place the group puts with it, else by the model's holder unless
    /// the group deletes that place or puts it without the code.
    fn code_holder(
        &self,
        scheme: CodeScheme,
        value: &str,
        except: &ResourceName,
    ) -> Option<ResourceName> {
        let holds = |r: &Resource| {
            r.place_codes()
                .iter()
                .any(|c| c.scheme == scheme && c.value == value)
        };
        if let Some(put) = self.puts.values().find(|r| r.name() != except && holds(r)) {
            return Some(put.name().clone());
        }
        self.model
            .code_holder(scheme, value, except)
            .filter(|holder| !self.deletes.contains(holder) && !self.puts.contains_key(holder))
    }
}

/// Checks every op against the record, as left by the `earlier` commits of the same group,
/// and builds the commit with its preconditions.
pub(super) fn plan(
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
        note: request.note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planned_delete_requires_that_nothing_was_committed_after_the_models_revision() {
        let resources = crate::seed::demo_resources().unwrap();
        let project = resources
            .iter()
            .find(|r| matches!(r, Resource::Project(_)))
            .unwrap()
            .name()
            .clone();
        let model = ReadModel::from_resources(7, resources);
        let delete = WriteOp::Delete {
            name: project,
            expected_revision: None,
        };
        let request = WriteRequest {
            subject: "test".into(),
            ops: vec![(delete.into(), Violations::default())],
            request: None,
            note: CommitNote::default(),
        };
        let commit = plan(&model, &[], request).unwrap();
        assert!(
            commit.preconditions.contains(&Precondition::PlannedAt(7)),
            "{:?}",
            commit.preconditions
        );
    }
}
