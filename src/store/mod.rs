//! Persistence: the source of truth for the record and its change log. The only place with SQL.

mod format1;
mod log;
pub use log::position;
mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::Utc;

use crate::domain::{
    Collection, Commit, Committed, Conflict, RequestKey, Resource, ResourceName, Shared, Version,
};

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Everything the store holds, as of one revision.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub revision: i64,
    pub resources: Vec<Resource>,
}

/// How much of the change log and of the request ids a store keeps. Either limit of the log
/// compacts: what is older than `max_age` or further back than `revisions`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Retention {
    /// Revisions kept behind the newest; none keeps every revision.
    pub revisions: Option<i64>,
    /// Age past which a revision is compacted; none keeps every revision.
    pub max_age: Option<std::time::Duration>,
    /// Age past which a request id is forgotten, and a retry under it applied again; none
    /// remembers every request id.
    pub request_ids_for: Option<std::time::Duration>,
}

impl From<Option<i64>> for Retention {
    /// Keeps `revisions` of the log (all if none) and every request id.
    fn from(revisions: Option<i64>) -> Self {
        Retention {
            revisions,
            ..Retention::default()
        }
    }
}

impl Retention {
    /// Stored commit times before this are older than `age`: the same text form as stored,
    /// which orders as the times do.
    fn cutoff(age: std::time::Duration) -> String {
        let age = chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
        Utc::now()
            .checked_sub_signed(age)
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC)
            .to_rfc3339()
    }

    /// Whether the log is compacted at all.
    pub(crate) fn limits_log(&self) -> bool {
        self.revisions.is_some() || self.max_age.is_some()
    }

    /// The revision to compact the log through after a group that ended at `latest`, given
    /// the newest revision older than the age limit: the newer of what either limit leaves
    /// out, if either does.
    pub(crate) fn compact_through(&self, latest: i64, aged_out: Option<i64>) -> Option<i64> {
        self.revisions.map(|kept| latest - kept).max(aged_out)
    }

    /// The commit-time cutoff of the log, if it is limited by age.
    pub(crate) fn log_cutoff(&self) -> Option<String> {
        self.max_age.map(Self::cutoff)
    }

    /// The commit-time cutoff of request ids, if they expire.
    pub(crate) fn request_cutoff(&self) -> Option<String> {
        self.request_ids_for.map(Self::cutoff)
    }
}

/// Most changes after the floor one commit looks at to find what has aged out: a long backlog
/// is compacted over several commits, never in one.
const AGE_SCAN: i64 = 10_000;

/// A resource as it stood at a revision, if the log still keeps that revision's versions.
#[derive(Debug, PartialEq)]
pub enum VersionAt {
    /// What stood then: none if the resource did not exist.
    Stood(Option<Box<Resource>>),
    /// The log no longer keeps every version of that revision; `oldest` is the oldest
    /// revision it does.
    Expired { oldest: i64 },
}

impl VersionAt {
    /// The answer to a read at `revision` from the oldest revision readable and the body of
    /// the newest change of `name` up to it (none if none, or a deletion).
    fn of(
        name: &ResourceName,
        revision: i64,
        oldest: i64,
        body: Option<&[u8]>,
    ) -> Result<Self, StoreError> {
        if revision < oldest {
            return Ok(VersionAt::Expired { oldest });
        }
        let resource = body
            .map(|body| log::decode(name.as_str(), body).map(Box::new))
            .transpose()?;
        Ok(VersionAt::Stood(resource))
    }
}

/// A name and what stood under it at a revision: none if nothing did.
pub type Stood = (ResourceName, Option<Resource>);

/// Resources as they stood at a revision, if the log still keeps that revision's versions.
#[derive(Debug, PartialEq)]
pub enum ResourcesAt<T = Vec<Resource>> {
    Stood(T),
    /// The log no longer keeps every version of that revision; `oldest` is the oldest
    /// revision it does.
    Expired {
        oldest: i64,
    },
}

impl<T> ResourcesAt<T> {
    /// What stood, made into something else by `make`, which may fail.
    fn map<U>(
        self,
        make: impl FnOnce(T) -> Result<U, StoreError>,
    ) -> Result<ResourcesAt<U>, StoreError> {
        match self {
            ResourcesAt::Stood(stood) => Ok(ResourcesAt::Stood(make(stood)?)),
            ResourcesAt::Expired { oldest } => Ok(ResourcesAt::Expired { oldest }),
        }
    }
}

/// The bounds of `collection`'s names after `after`: every name of it sorts between them.
fn name_range(collection: Collection, after: Option<&str>) -> (String, String) {
    let segment = collection.segment();
    // '0' follows '/': no name of another collection falls between.
    let end = format!("{segment}0");
    (
        after.map_or_else(|| format!("{segment}/"), str::to_owned),
        end,
    )
}

/// Where a load sends the resources it reads, in name order, a batch at a time.
pub type LoadSender = tokio::sync::mpsc::Sender<Vec<Resource>>;

/// What a load ends with, once it has sent every resource.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The revision the resources sent reflect.
    pub revision: i64,
    /// The one copy of each reference and provenance the resources sent hold, made while
    /// decoding them; the read model goes on sharing through it instead of sharing every
    /// record again.
    pub shared: Shared,
}

/// Runs `store`'s load, handing each resource to `each` as it arrives, so that only a few
/// batches of the record are held decoded at any time.
pub async fn load_each<S: Store + ?Sized>(
    store: &S,
    mut each: impl FnMut(Resource) + Send,
) -> Result<Loaded, StoreError> {
    let (sender, mut receiver) =
        tokio::sync::mpsc::channel::<Vec<Resource>>(LOAD_BATCHES_IN_FLIGHT);
    let consume = async {
        while let Some(batch) = receiver.recv().await {
            batch.into_iter().for_each(&mut each);
        }
    };
    let (loaded, ()) = tokio::join!(store.load_into(sender), consume);
    loaded
}

/// Batches a load may have sent and not yet seen consumed.
pub const LOAD_BATCHES_IN_FLIGHT: usize = 2;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or written now; retrying later may help.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The database's disk is full; nothing was written. Writes fit again once there is room.
    #[error("the store's disk is full: {0}")]
    Full(String),
    /// The database holds something this version cannot read.
    #[error("store holds unreadable data: {0}")]
    Corrupt(String),
    /// The settings name a database that cannot be connected to as given (a malformed URL,
    /// an unknown `sslmode`); retrying will not help.
    #[error("{0}")]
    Settings(String),
    /// A precondition failed; nothing was written.
    #[error(transparent)]
    Conflict(#[from] Conflict),
}

impl StoreError {
    /// The same failure for each of several requests that failed together.
    pub fn for_each_request(&self) -> StoreError {
        match self {
            StoreError::Unavailable(message) => StoreError::Unavailable(message.clone()),
            StoreError::Full(message) => StoreError::Full(message.clone()),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

/// A request id's row: what the first request with that id was and what it committed.
struct RecordedRequest {
    fingerprint: String,
    revision: i64,
    subject: String,
    commit_time: String,
}

/// The recorded result of a request seen before, rebuilt with `commits` (the commit at its
/// revision) and marked replayed; an error if the same id came with another request.
fn replayed(
    request: &RequestKey,
    recorded: RecordedRequest,
    commits: impl FnOnce(i64) -> Result<Vec<Committed>, StoreError>,
) -> Result<Committed, StoreError> {
    if recorded.fingerprint != request.fingerprint {
        return Err(Conflict::RequestReused(request.id.clone()).into());
    }
    let mut committed = match commits(recorded.revision)?.pop() {
        Some(committed) => committed,
        // The log no longer holds that revision: the result without its writes.
        None => Committed {
            revision: recorded.revision,
            subject: recorded.subject,
            commit_time: log::parse_time(&recorded.commit_time)?,
            writes: Vec::new(),
            replayed: false,
        },
    };
    committed.replayed = true;
    Ok(committed)
}

/// The result of a commit that writes nothing: the current revision, no new one.
fn empty_commit(commit: Commit, latest: i64) -> Committed {
    Committed {
        revision: latest,
        subject: commit.subject,
        commit_time: Utc::now(),
        writes: Vec::new(),
        replayed: false,
    }
}

/// A backend that keeps the record and its change log.
#[async_trait]
pub trait Store: Send + Sync {
    /// Reads every resource, in name order, into `into`, and returns the revision they
    /// reflect. Consume it with [`load_each`].
    async fn load_into(&self, into: LoadSender) -> Result<Loaded, StoreError>;

    /// Every resource at once, for records small enough to hold decoded.
    async fn load(&self) -> Result<Snapshot, StoreError> {
        let mut resources = Vec::new();
        let revision = load_each(self, |r| resources.push(r)).await?.revision;
        Ok(Snapshot {
            revision,
            resources,
        })
    }

    /// Applies `commit` atomically under the next revision and makes it durable before
    /// returning; a commit whose request id was seen before returns the first result instead.
    async fn commit(&self, commit: Commit) -> Result<Committed, StoreError> {
        self.commit_group(vec![commit])
            .await?
            .pop()
            .expect("one result per commit")
    }

    /// Applies each commit, in order, under the next revisions, made durable together before
    /// returning: one fsync for many commits. Each succeeds or fails on its own; the outer error
    /// means none was applied.
    async fn commit_group(
        &self,
        commits: Vec<Commit>,
    ) -> Result<Vec<Result<Committed, StoreError>>, StoreError>;

    /// The recorded result of an earlier commit with this request id, if any; an error if the
    /// id was used for a different request.
    async fn find_request(&self, request: &RequestKey) -> Result<Option<Committed>, StoreError>;

    /// Commits with a revision greater than `after`, oldest first, at most `limit` of them.
    async fn commits_after(&self, after: i64, limit: usize) -> Result<Vec<Committed>, StoreError>;

    /// The changes from `position` on (see `log::position`), at most `limit` of them, grouped
    /// by commit in order: the first and the last group may be parts of their commits.
    async fn changes_from(&self, position: i64, limit: usize)
    -> Result<Vec<Committed>, StoreError>;

    /// The versions of `name` before `position` (see `log::position`), newest first, at most
    /// `limit` of them, each with its commit's note.
    async fn versions_before(
        &self,
        name: &ResourceName,
        position: i64,
        limit: usize,
    ) -> Result<Vec<Version>, StoreError>;

    /// `name` as it stood once `revision` was committed, in one trip to the database: the
    /// version a read at a revision costs.
    async fn version_at(&self, name: &ResourceName, revision: i64)
    -> Result<VersionAt, StoreError>;

    /// The resources of `collection` as they stood once `revision` was committed, in name
    /// order after the name `after` (from the first if none), at most `limit` of them; all in
    /// one read, so compaction cannot move under it.
    async fn resources_at(
        &self,
        collection: Collection,
        after: Option<&str>,
        revision: i64,
        limit: usize,
    ) -> Result<ResourcesAt, StoreError>;

    /// Every name changed after `revision` up to `through`, each as it stood at `revision`
    /// (none if it did not exist then), in one read: what a question at `revision` must take
    /// back from the record as it stands at `through`.
    async fn changed_after(
        &self,
        revision: i64,
        through: i64,
    ) -> Result<ResourcesAt<Vec<Stood>>, StoreError>;

    /// The first commit at or after `revision` still in the log: its revision and time.
    async fn commit_time_from(
        &self,
        revision: i64,
    ) -> Result<Option<(i64, chrono::DateTime<chrono::Utc>)>, StoreError>;

    /// The oldest revision still in the change log, if any.
    async fn oldest_revision(&self) -> Result<Option<i64>, StoreError>;

    /// The oldest revision a read at a revision can be made at.
    async fn oldest_readable(&self) -> Result<i64, StoreError>;

    /// Whether the database answers now.
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Announcements of commits other processes made (the latest revision announced), for
    /// backends shared by several replicas; `None` when this process is the only writer.
    fn change_notifications(&self) -> Option<tokio::sync::watch::Receiver<i64>> {
        None
    }
}
