//! What every backend stores the same way: change positions, body encoding, preconditions,
//! and a commit turned into the rows to write.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::format1::Resource1;
use super::{Loaded, StoreError};
use crate::domain::{
    Commit, CommitNote, Committed, Conflict, Precondition, Resource, ResourceName, Shared, Version,
    Write,
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

/// The first byte of every body this release writes: its format. The first release wrote no
/// such byte; its bodies begin with postcard's number for the `Resource` variant, 0 to 5,
/// which a format byte from 0xF0 up cannot be mistaken for. A release that changes a stored
/// shape takes the next number and keeps the old shapes (`format1`) to read older bodies.
const BODY_FORMAT: u8 = 0xF2;

/// A resource as stored: its format, then postcard, a compact binary serde format, several
/// times faster to write and read than JSON on the import and start-up paths.
pub fn encode(resource: &Resource) -> Result<Vec<u8>, StoreError> {
    let mut body = vec![BODY_FORMAT];
    postcard::to_io(resource, &mut body).map_err(|e| corrupt("encoding", e))?;
    Ok(body)
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

/// Reads a stored body back, of this release's format or an earlier one.
pub fn decode(name: &str, body: &[u8]) -> Result<Resource, StoreError> {
    match body.split_first() {
        Some((&BODY_FORMAT, rest)) => postcard::from_bytes(rest).map_err(|e| corrupt(name, e)),
        Some((&variant, _)) if variant < 0x80 => postcard::from_bytes::<Resource1>(body)
            .map(Resource::from)
            .map_err(|e| corrupt(name, e)),
        Some((&format, _)) => Err(corrupt(
            name,
            format!("body format {format:#x} is newer than this release reads"),
        )),
        None => Err(corrupt(name, "empty body")),
    }
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
        let write = match stood(name, body.as_deref())? {
            (_, Some(resource)) => Write::Put(Box::new(resource)),
            (name, None) => Write::Delete(name),
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

/// One version of a resource as a backend reads it back.
pub struct VersionRow {
    pub position: i64,
    pub subject: String,
    pub commit_time: String,
    pub body: Option<Vec<u8>>,
    pub request_id: String,
    pub reason: String,
}

impl VersionRow {
    /// The version of `name` the row holds, its body decoded.
    pub fn version(self, name: &str) -> Result<Version, StoreError> {
        Ok(Version {
            position: self.position,
            revision: self.position >> SEQ_BITS,
            subject: self.subject,
            commit_time: parse_time(&self.commit_time)?,
            note: CommitNote {
                request_id: self.request_id,
                reason: self.reason,
            },
            resource: self.body.map(|body| decode(name, &body)).transpose()?,
        })
    }
}

/// A name as the store holds it.
fn stored_name(name: String) -> Result<ResourceName, StoreError> {
    ResourceName::try_from(name.clone()).map_err(|e| corrupt(&name, e))
}

/// A stored name with its newest body up to some position: none if a deletion or nothing.
pub fn stood(name: impl Into<String>, body: Option<&[u8]>) -> Result<super::Stood, StoreError> {
    let name = name.into();
    match body {
        Some(body) => {
            let resource = decode(&name, body)?;
            Ok((resource.name().clone(), Some(resource)))
        }
        None => Ok((stored_name(name)?, None)),
    }
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

/// Turns `commit` into rows under `revision`, stamping each resource's bookkeeping. Its time is
/// never before `previous`, the time of the commit before it: commit times rise with
/// revisions, even across replicas with clocks apart, so a read at a time finds its revision
/// by bisection.
pub fn commit_rows(
    commit: Commit,
    revision: i64,
    previous: Option<DateTime<Utc>>,
) -> Result<CommitRows, StoreError> {
    if commit.writes.len() >= 1 << SEQ_BITS {
        return Err(StoreError::Unavailable(format!(
            "a commit holds at most {} writes",
            (1 << SEQ_BITS) - 1
        )));
    }
    let now = previous.map_or_else(Utc::now, |previous| Utc::now().max(previous));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Collection;

    /// Bodies of this format as released: `{name} {hex}` lines of demo resources of every
    /// kind, relations, readings and derivations included, encoded when it was made.
    const RELEASED: &str = include_str!("format2.golden");

    fn samples() -> Vec<Resource> {
        let demo = crate::seed::demo_resources().unwrap();
        let mut samples: Vec<Resource> = Collection::ALL
            .into_iter()
            .filter_map(|c| demo.iter().find(|r| r.collection() == c).cloned())
            .collect();
        for name in [
            "areas/yarkant",
            "indicators/gdp-multiple",
            "observations/gdp-multiple-2012-2022",
            "observations/cny-per-usd-implied-2013-2022",
        ] {
            samples.extend(demo.iter().find(|r| r.name().as_str() == name).cloned());
        }
        samples
    }

    /// A stored shape that changes without a new format would make every body written before
    /// unreadable (or misread): this fails first. Bump `BODY_FORMAT`, keep the old shapes as
    /// `format1.rs` keeps the first release's, and replace the golden file with the lines
    /// printed here.
    #[test]
    fn bodies_of_this_format_read_back_as_written() {
        let new_lines = || {
            samples()
                .iter()
                .map(|r| format!("{} {}", r.name(), hex(&encode(r).unwrap())))
                .collect::<Vec<_>>()
                .join("\n")
        };
        for line in RELEASED.lines() {
            let (name, hex_body) = line.split_once(' ').unwrap();
            let body: Vec<u8> = (0..hex_body.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex_body[i..i + 2], 16).unwrap())
                .collect();
            let read = decode(name, &body).unwrap_or_else(|e| {
                panic!(
                    "{name} no longer reads ({e}); the stored shape changed:\n{}",
                    new_lines()
                )
            });
            assert_eq!(
                encode(&read).unwrap(),
                body,
                "{name} reads differently; the stored shape changed:\n{}",
                new_lines()
            );
        }
        assert_eq!(RELEASED.lines().count(), samples().len());
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn a_body_of_a_later_format_is_refused_by_name() {
        let error = decode("projects/p", &[0xF3, 0]).unwrap_err();
        assert!(
            error.to_string().contains("newer than this release reads"),
            "{error}"
        );
        assert!(decode("projects/p", &[]).is_err());
    }
}
