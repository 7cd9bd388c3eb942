//! What a change to the record is: the writes of one commit, the conditions it is committed
//! under, and what a commit wrote. `changes` owns every operation on the change log; the types
//! live here, below it, because the store persists them and the read model applies them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Collection, Resource, ResourceName};

/// One change within a commit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Write {
    Put(Box<Resource>),
    Delete(ResourceName),
}

impl Write {
    /// The name of the resource written.
    pub fn name(&self) -> &ResourceName {
        match self {
            Write::Put(resource) => resource.name(),
            Write::Delete(name) => name,
        }
    }
}

/// A condition the store checks inside the commit's transaction; if one fails nothing is written.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Precondition {
    /// The resource exists.
    Exists(ResourceName),
    /// The resource does not exist.
    Absent(ResourceName),
    /// The resource exists and was last written at this revision.
    AtRevision(ResourceName, i64),
    /// No other writer has committed after this revision, the one the commit was planned
    /// against: checked against the log's head when the commit's group began, so earlier
    /// commits of the same group, which the plan saw, do not count.
    PlannedAt(i64),
}

/// Identifies a request so a retry is applied once (AIP-155).
#[derive(Clone, Debug, PartialEq)]
pub struct RequestKey {
    /// The client's `request_id`, scoped by the caller's subject and the method.
    pub id: String,
    /// Digest of the request's content; a different request under the same id is refused.
    pub fingerprint: String,
}

/// Writes applied together as one revision, or not at all.
#[derive(Clone, Debug, Default)]
pub struct Commit {
    /// Who asked for the writes (a token's subject, or "seed").
    pub subject: String,
    pub writes: Vec<Write>,
    pub preconditions: Vec<Precondition>,
    pub request: Option<RequestKey>,
    /// What the writer said of the commit, kept in the log beside it.
    pub note: CommitNote,
}

/// What a writer said of a commit: kept in the change log and shown in histories.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CommitNote {
    /// The client's `request_id` as sent; empty if none.
    pub request_id: String,
    /// Why the change was made, in the writer's words; empty if none was given.
    pub reason: String,
}

impl CommitNote {
    /// Longest reason kept, in characters: a sentence, not a document.
    pub const MAX_REASON_CHARS: usize = 500;

    /// Whether there is anything to keep.
    pub fn is_empty(&self) -> bool {
        self.request_id.is_empty() && self.reason.is_empty()
    }

    /// Why `reason` cannot be kept, if it cannot: too long, or holding control characters
    /// that would garble a history printed in a terminal.
    pub fn check_reason(reason: &str) -> Result<(), String> {
        let chars = reason.chars().count();
        if chars > Self::MAX_REASON_CHARS {
            return Err(format!(
                "is {chars} characters; at most {} are kept",
                Self::MAX_REASON_CHARS
            ));
        }
        if reason.chars().any(char::is_control) {
            return Err("must not hold control characters (line breaks, tabs, ...)".into());
        }
        Ok(())
    }
}

/// One version of a resource as the change log holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Version {
    /// The change's place in the log (see `store::position`): orders versions of one name.
    pub position: i64,
    pub revision: i64,
    pub subject: String,
    pub commit_time: DateTime<Utc>,
    pub note: CommitNote,
    /// The resource as the change left it; none for a deletion.
    pub resource: Option<Resource>,
}

/// What a commit wrote: its revision and the writes with their bookkeeping filled in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Committed {
    pub revision: i64,
    pub subject: String,
    pub commit_time: DateTime<Utc>,
    pub writes: Vec<Write>,
    /// True when this is the recorded result of an earlier request with the same id.
    #[serde(skip)]
    pub replayed: bool,
}

/// Which changes a listing or a watch follows: every one where a part is left empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChangeScope {
    /// Writes to resources of these collections.
    pub collections: Vec<Collection>,
    /// Writes to these resources.
    pub names: Vec<ResourceName>,
    /// Commits by these writers (the subjects of their tokens).
    pub subjects: Vec<String>,
    /// Commits at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Commits before this time.
    pub before: Option<DateTime<Utc>>,
}

impl ChangeScope {
    /// Whether the scope leaves nothing out.
    pub fn is_everything(&self) -> bool {
        *self == ChangeScope::default()
    }

    /// Whether the commit's writer and time are in scope (its writes are judged one by one).
    pub fn admits_commit(&self, committed: &Committed) -> bool {
        (self.subjects.is_empty() || self.subjects.contains(&committed.subject))
            && self
                .since
                .is_none_or(|since| committed.commit_time >= since)
            && self
                .before
                .is_none_or(|before| committed.commit_time < before)
    }

    /// Whether a write of an admitted commit is in scope.
    pub fn admits_write(&self, write: &Write) -> bool {
        let name = write.name();
        (self.collections.is_empty() || self.collections.contains(&name.collection()))
            && (self.names.is_empty() || self.names.contains(name))
    }

    /// The commit with only its writes in scope; `None` when none is.
    pub fn select(&self, mut committed: Committed) -> Option<Committed> {
        if !self.admits_commit(&committed) {
            return None;
        }
        committed.writes.retain(|write| self.admits_write(write));
        (!committed.writes.is_empty()).then_some(committed)
    }
}

/// Why a commit's preconditions failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Conflict {
    #[error("{0} does not exist")]
    Missing(ResourceName),
    #[error("{0} already exists")]
    Exists(ResourceName),
    #[error("{name} has changed since it was read (now at revision {actual}, not {expected})")]
    Stale {
        name: ResourceName,
        expected: i64,
        actual: i64,
    },
    #[error("request_id {0:?} was already used for a different request")]
    RequestReused(String),
    #[error(
        "another writer committed up to revision {head} while this write was planned against \
         revision {planned_at}; retry"
    )]
    Overtaken { planned_at: i64, head: i64 },
}

/// Where a read looks in the record's history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadPoint {
    /// The record as it stands now.
    Now,
    /// The record once this revision was committed.
    Revision(i64),
    /// The record at this time: the last revision committed at or before it.
    Time(DateTime<Utc>),
}
