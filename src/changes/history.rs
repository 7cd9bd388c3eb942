//! The record as it was: one resource as it stood at a past revision, and the versions of one
//! resource page by page, read from the change log in the store (never held in memory).

use super::error::LogError;
use super::ledger::Ledger;
use crate::domain::{Collection, Resource, ResourceName, Version};
use crate::query::listing::{Cursor, Value, fingerprint, page_token};
use crate::store::{ResourcesAt, VersionAt};

/// What stood before a version.
#[derive(Debug)]
pub enum Before<'a> {
    /// Nothing: the version created the resource.
    Nothing,
    /// The version before it; none if that one was a deletion.
    Version(Option<&'a Resource>),
    /// Older than the log keeps.
    Dropped,
}

/// One page of a resource's history, newest first.
#[derive(Debug)]
pub struct HistoryPage {
    pub versions: Vec<Version>,
    /// The version before the page's oldest, if the log keeps one: what it changed from.
    older: Option<Version>,
    /// Resumes before the page's oldest version; empty after the oldest kept.
    pub next_page_token: String,
}

impl HistoryPage {
    /// Each version of the page with what stood before it.
    pub fn entries(&self) -> impl Iterator<Item = (&Version, Before<'_>)> {
        self.versions.iter().enumerate().map(|(i, version)| {
            let before = match self.versions.get(i + 1).or(self.older.as_ref()) {
                Some(older) => Before::Version(older.resource.as_ref()),
                None => first_before(version),
            };
            (version, before)
        })
    }
}

impl Ledger {
    /// `name` as it stood once `revision` was committed: none if it did not exist then. A
    /// revision older than the log keeps whole is refused with the oldest one readable.
    pub async fn version_at(
        &self,
        name: &ResourceName,
        revision: i64,
    ) -> Result<Option<Resource>, LogError> {
        match self.store().version_at(name, revision).await? {
            VersionAt::Stood(resource) => Ok(resource.map(|stood| *stood)),
            VersionAt::Expired { oldest } => Err(LogError::Expired { revision, oldest }),
        }
    }

    /// The resources of `collection` as they stood once `revision` was committed, in name
    /// order after `after`, at most `limit` of them.
    pub async fn resources_at(
        &self,
        collection: Collection,
        after: Option<&str>,
        revision: i64,
        limit: usize,
    ) -> Result<Vec<Resource>, LogError> {
        match self
            .store()
            .resources_at(collection, after, revision, limit)
            .await?
        {
            ResourcesAt::Stood(resources) => Ok(resources),
            ResourcesAt::Expired { oldest } => Err(LogError::Expired { revision, oldest }),
        }
    }

    /// At most `page_size` versions of `name`, newest first, from where `page_token` left off.
    pub async fn history(
        &self,
        name: &ResourceName,
        page_token: &str,
        page_size: usize,
    ) -> Result<HistoryPage, LogError> {
        // A token resumes only the history of the name it was made for.
        let query = fingerprint("history", name.as_str(), "");
        let before = if page_token.is_empty() {
            i64::MAX
        } else {
            let cursor = page_token::decode(page_token, &query).map_err(LogError::PageToken)?;
            match cursor.after.as_slice() {
                [Value::Integer(position)] => *position,
                _ => return Err(LogError::PageToken("page token is corrupt".into())),
            }
        };
        let page_size = page_size.max(1);
        // One more than the page: the version before the page's oldest, to compare it with.
        let mut versions = self
            .store()
            .versions_before(name, before, page_size + 1)
            .await?;
        let older = (versions.len() > page_size)
            .then(|| versions.pop())
            .flatten();
        let next_page_token = match (&older, versions.last()) {
            (Some(_), Some(last)) => page_token::encode(&Cursor {
                query,
                after: vec![Value::Integer(last.position)],
            }),
            _ => String::new(),
        };
        Ok(HistoryPage {
            versions,
            older,
            next_page_token,
        })
    }
}

/// What stood before the oldest version the log holds of a resource: nothing if that version
/// created it (its creation time is its update time), otherwise versions since dropped.
fn first_before(version: &Version) -> Before<'static> {
    match &version.resource {
        Some(resource) if resource.meta().create_time == resource.meta().update_time => {
            Before::Nothing
        }
        _ => Before::Dropped,
    }
}
