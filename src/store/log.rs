//! What every backend stores the same way: change positions, body encoding, preconditions,
//! and a commit turned into the rows to write.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Loaded, StoreError};
use crate::domain::{
    Commit, Committed, Conflict, Precondition, Resource, ResourceName, Shared, Write,
};

/// Bits of a change's position that hold its place within its commit: a position is
/// `revision << 24 | seq`, one integer key that orders the whole log. (SQL writes `>> 24`.)
pub const SEQ_BITS: u32 = 24;

/// The position of the `seq`-th change of `revision`.
pub fn position(revision: i64, seq: usize) -> i64 {
    (revision << SEQ_BITS) | seq as i64
}

/// The first position of `revision`.
pub fn first_position(revision: i64) -> i64 {
    revision << SEQ_BITS
}

/// A resource as stored: postcard, a compact binary serde format, several times faster to
/// write and read than JSON on the import and start-up paths.
pub fn encode(resource: &Resource) -> Result<Vec<u8>, StoreError> {
    postcard::to_stdvec(resource).map_err(|e| corrupt("encoding", e))
}

/// Resources a load has decoded and not yet sent, and the sharing made while decoding them.
#[derive(Default)]
pub struct LoadBatch {
    resources: Vec<Resource>,
    shared: Shared,
}

/// Resources per batch a load sends: large enough that sending costs nothing next to decoding,
/// small enough that the batches in flight weigh nothing next to the read model.
const LOAD_BATCH: usize = 1024;

impl LoadBatch {
    /// Decodes a stored body into the batch; a full batch is handed back to be sent.
    pub fn add(&mut self, name: &str, body: &[u8]) -> Result<Option<Vec<Resource>>, StoreError> {
        let resource = self.shared.share(decode(name, body)?);
        self.resources.push(resource);
        Ok((self.resources.len() >= LOAD_BATCH)
            .then(|| std::mem::replace(&mut self.resources, Vec::with_capacity(LOAD_BATCH))))
    }

    /// The resources left to send, and what the load ends with.
    pub fn finish(self, revision: i64) -> (Vec<Resource>, Loaded) {
        let loaded = Loaded {
            revision,
            shared: self.shared,
        };
        (self.resources, loaded)
    }
}

/// The error of a load whose receiver has gone: whoever asked for it no longer wants it.
pub fn load_abandoned<T>(_: T) -> StoreError {
    StoreError::Unavailable("the load's receiver has gone".into())
}

/// Reads a stored body back.
pub fn decode(name: &str, body: &[u8]) -> Result<Resource, StoreError> {
    postcard::from_bytes(body).map_err(|e| corrupt(name, e))
}

/// A store error for data this version cannot read.
pub fn corrupt(context: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{context}: {error}"))
}

/// One stored change as read back: revision, name, subject, commit time, body (none for a
/// deletion).
pub type ChangeRow = (i64, String, String, String, Option<Vec<u8>>);

/// Groups change rows, ordered by position, into whole commits.
pub fn group_commits(rows: Vec<ChangeRow>) -> Result<Vec<Committed>, StoreError> {
    let mut commits: Vec<Committed> = Vec::new();
    for (revision, name, subject, commit_time, body) in rows {
        let write = match body {
            Some(body) => Write::Put(Box::new(decode(&name, &body)?)),
            None => {
                Write::Delete(ResourceName::try_from(name.clone()).map_err(|e| corrupt(&name, e))?)
            }
        };
        match commits.last_mut() {
            Some(last) if last.revision == revision => last.writes.push(write),
            _ => commits.push(Committed {
                revision,
                subject,
                commit_time: parse_time(&commit_time)?,
                writes: vec![write],
                replayed: false,
            }),
        }
    }
    Ok(commits)
}

/// Parses a stored commit time.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    text.parse().map_err(|e| corrupt("commit time", e))
}

/// Checks preconditions against the current revisions of the names they mention and the
/// log's head when the commit's group began.
pub fn check_preconditions(
    preconditions: &[Precondition],
    current: &HashMap<ResourceName, i64>,
    head_before_group: i64,
) -> Result<(), Conflict> {
    for precondition in preconditions {
        match precondition {
            Precondition::PlannedAt(planned_at) if head_before_group > *planned_at => {
                return Err(Conflict::Overtaken {
                    planned_at: *planned_at,
                    head: head_before_group,
                });
            }
            Precondition::Exists(name) if !current.contains_key(name) => {
                return Err(Conflict::Missing(name.clone()));
            }
            Precondition::Absent(name) if current.contains_key(name) => {
                return Err(Conflict::Exists(name.clone()));
            }
            Precondition::AtRevision(name, expected) => match current.get(name) {
                None => return Err(Conflict::Missing(name.clone())),
                Some(actual) if actual != expected => {
                    return Err(Conflict::Stale {
                        name: name.clone(),
                        expected: *expected,
                        actual: *actual,
                    });
                }
                Some(_) => {}
            },
            _ => {}
        }
    }
    Ok(())
}

/// The names whose current revisions the preconditions need.
pub fn precondition_names(preconditions: &[Precondition]) -> Vec<&ResourceName> {
    preconditions
        .iter()
        .filter_map(|p| match p {
            Precondition::Exists(n) | Precondition::Absent(n) | Precondition::AtRevision(n, _) => {
                Some(n)
            }
            Precondition::PlannedAt(_) => None,
        })
        .collect()
}

/// A change row to insert.
pub struct NewChange {
    pub position: i64,
    pub name: String,
    pub operation: &'static str,
    pub body: Option<Vec<u8>>,
}

/// A commit as the rows a backend writes.
pub struct CommitRows {
    /// The commit with its bookkeeping set, as it will be reported.
    pub committed: Committed,
    pub changes: Vec<NewChange>,
    /// Resources left pointing at a change: `(name, collection, position)`, one per name.
    pub pointers: Vec<(String, &'static str, i64)>,
    /// Resources deleted by the commit and not written again after.
    pub removed: Vec<String>,
    pub commit_time: String,
}

/// Turns `commit` into rows under `revision`, stamping each resource's bookkeeping.
pub fn commit_rows(commit: Commit, revision: i64) -> Result<CommitRows, StoreError> {
    if commit.writes.len() >= 1 << SEQ_BITS {
        return Err(StoreError::Unavailable(format!(
            "a commit holds at most {} writes",
            (1 << SEQ_BITS) - 1
        )));
    }
    let now = Utc::now();
    let mut changes = Vec::with_capacity(commit.writes.len());
    let mut last: foldhash::HashMap<String, Option<(&'static str, i64)>> = Default::default();
    let mut writes = Vec::with_capacity(commit.writes.len());
    for (seq, write) in commit.writes.into_iter().enumerate() {
        let name = write.name().as_str().to_owned();
        let position = position(revision, seq);
        let (write, body) = match write {
            Write::Put(mut resource) => {
                let meta = resource.meta_mut();
                meta.revision = revision;
                meta.update_time = Some(now);
                meta.create_time = meta.create_time.or(Some(now));
                let body = encode(&resource)?;
                last.insert(
                    name.clone(),
                    Some((resource.name().collection().segment(), position)),
                );
                (Write::Put(resource), Some(body))
            }
            Write::Delete(deleted) => {
                last.insert(name.clone(), None);
                (Write::Delete(deleted), None)
            }
        };
        let operation = if body.is_some() { "put" } else { "delete" };
        changes.push(NewChange {
            position,
            name,
            operation,
            body,
        });
        writes.push(write);
    }
    let mut pointers = Vec::new();
    let mut removed = Vec::new();
    for (name, state) in last {
        match state {
            Some((collection, position)) => pointers.push((name, collection, position)),
            None => removed.push(name),
        }
    }
    Ok(CommitRows {
        committed: Committed {
            revision,
            subject: commit.subject,
            commit_time: now,
            writes,
            replayed: false,
        },
        changes,
        pointers,
        removed,
        commit_time: now.to_rfc3339(),
    })
}
