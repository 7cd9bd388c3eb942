//! The whole record as it stood at a past revision, for listings and analytics: a read model
//! built from the change log the way a start-up builds one from the store, so every question
//! is answered by the same code as today's. The last one built is kept: an analyst reading
//! last March's report asks many questions at the same revision.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::error::LogError;
use super::ledger::Ledger;
use crate::domain::{Collection, ReadPoint, Shared};
use crate::query::interrupt::Interrupt;
use crate::query::model::{ModelLoader, PastFunding, ReadModel, StoodProjects};
use crate::store::{ResourcesAt, StoreError};

/// Resources read from the log at a time while building a past record.
const CHUNK: usize = 1000;
/// How often the projects changed since a past revision are counted again after commits
/// landed while they were read, before the record as it stood is read whole instead.
const COUNTING_ATTEMPTS: usize = 8;

/// What a summary at a past revision reads besides the read model as it stands.
pub enum PastCount {
    /// Nothing: the funding cube's journal holds every project changed since.
    Journal,
    /// The projects changed before the journal reaches, counted against the cube.
    Read(Arc<PastFunding>),
    /// The cube cannot count the changes back: the record as it stood, whole.
    Whole,
}

impl Ledger {
    /// The revision `point` reads at; none for the record as it stands now.
    pub async fn revision_of(&self, point: ReadPoint) -> Result<Option<i64>, LogError> {
        match point {
            ReadPoint::Now => Ok(None),
            ReadPoint::Revision(revision) => Ok(Some(revision)),
            ReadPoint::Time(time) => self.revision_at_time(time).await.map(Some),
        }
    }

    /// The last revision committed at or before `time`, found by bisection over the log:
    /// commit times rise with revisions (the store makes them).
    async fn revision_at_time(&self, time: DateTime<Utc>) -> Result<i64, LogError> {
        let store = self.store();
        let floor = store.oldest_revision().await?.unwrap_or(1).max(1);
        let (mut low, mut high) = (floor, self.applied_revision());
        let mut found = None;
        while low <= high {
            let middle = low + (high - low) / 2;
            match store.commit_time_from(middle).await? {
                Some((revision, committed)) if committed <= time && revision <= high => {
                    found = Some(revision);
                    low = revision + 1;
                }
                _ => high = middle - 1,
            }
        }
        match (found, store.commit_time_from(floor).await?) {
            (Some(revision), _) => Ok(revision),
            // Before the first commit, when the log still holds it: the empty record.
            (None, None) => Ok(0),
            (None, Some(_)) if floor == 1 => Ok(0),
            (None, Some((oldest, oldest_time))) => Err(LogError::TooEarly {
                time,
                oldest,
                oldest_time,
            }),
        }
    }

    /// What a summary at `revision` must read from the log before the read model's funding
    /// cube can count the record back to how it stood then: nothing when the cube's journal
    /// reaches back so far; otherwise the projects changed between `revision` and the model's
    /// revision as they stood (the last one read is kept, and the journal carries it on as
    /// commits land). Refused when the log no longer keeps `revision`.
    pub async fn past_funding(&self, revision: i64) -> Result<PastCount, LogError> {
        let oldest = self.store().oldest_readable().await?;
        if revision < oldest {
            return Err(LogError::Expired { revision, oldest });
        }
        if self.model().read().journal_reaches(revision) {
            return Ok(PastCount::Journal);
        }
        let mut kept = self.past_funding.lock().await;
        if let Some(counted) = kept.as_ref().filter(|counted| {
            let model = self.model().read();
            counted.revision == revision && model.funding_cube().carries(counted, model.revision)
        }) {
            return Ok(PastCount::Read(counted.clone()));
        }
        *kept = None;
        let mut through = self.applied_revision();
        let Some(mut stood) = self.stood_after(revision, through).await? else {
            return Ok(PastCount::Whole);
        };
        // Counted against the model at exactly `through`, whose numbers name the projects:
        // commits that landed meanwhile are read too, they are few.
        for _ in 0..COUNTING_ATTEMPTS {
            let model = self.model().clone();
            let counting = tokio::task::spawn_blocking(move || {
                let model = model.read();
                if model.revision == through {
                    Ok(model.past_funding(revision, stood))
                } else {
                    Err((stood, model.revision))
                }
            })
            .await
            .map_err(|e| {
                StoreError::Corrupt(format!("counting the projects as they stood: {e}"))
            })?;
            match counting {
                Ok(counted) => {
                    let counted = counted.map(Arc::new);
                    kept.clone_from(&counted);
                    (self.release_freed_memory)();
                    return Ok(counted.map_or(PastCount::Whole, PastCount::Read));
                }
                Err((earlier, moved_to)) => {
                    stood = earlier;
                    let Some(later) = self.stood_after(through, moved_to).await? else {
                        return Ok(PastCount::Whole);
                    };
                    stood.extend(later);
                    through = moved_to;
                }
            }
        }
        Ok(PastCount::Whole)
    }

    /// The projects changed after `revision` up to `through` as they stood at `revision`;
    /// none when other resources changed too.
    async fn stood_after(
        &self,
        revision: i64,
        through: i64,
    ) -> Result<Option<StoodProjects>, LogError> {
        let stood = match self.store().changed_after(revision, through).await? {
            ResourcesAt::Stood(stood) => stood,
            ResourcesAt::Expired { oldest } => return Err(LogError::Expired { revision, oldest }),
        };
        // Working out each project's funding is the work of a scan: off the async threads.
        let projects = tokio::task::spawn_blocking(move || StoodProjects::of(stood))
            .await
            .map_err(|e| StoreError::Corrupt(format!("reading the projects as they stood: {e}")))?;
        Ok(projects)
    }

    /// The whole record as it stood once `revision` was committed, read from the log. One
    /// past record is held at a time: the one kept is let go before the next is built.
    /// The build stops between chunks once `interrupt` is raised.
    pub async fn past_model(
        &self,
        revision: i64,
        interrupt: &Interrupt,
    ) -> Result<Arc<ReadModel>, LogError> {
        let mut kept = self.past.lock().await;
        if let Some(model) = kept.as_ref().filter(|model| model.revision == revision) {
            return Ok(model.clone());
        }
        *kept = None;
        let mut loader = ModelLoader::default();
        for collection in Collection::ALL {
            let mut after: Option<String> = None;
            loop {
                interrupt.check()?;
                let resources = self
                    .resources_at(collection, after.as_deref(), revision, CHUNK)
                    .await?;
                let Some(last) = resources.last() else {
                    break;
                };
                after = Some(last.name().to_string());
                resources
                    .into_iter()
                    .for_each(|resource| loader.add(resource));
            }
        }
        let model = tokio::task::spawn_blocking(move || loader.finish(revision, Shared::default()))
            .await
            .map_err(|e| StoreError::Corrupt(format!("building the record at a revision: {e}")))?;
        let model = Arc::new(model);
        *kept = Some(model.clone());
        (self.release_freed_memory)();
        Ok(model)
    }
}
