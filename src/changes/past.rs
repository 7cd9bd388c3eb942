//! The whole record as it stood at a past revision, for listings and analytics: a read model
//! built from the change log the way a start-up builds one from the store, so every question
//! is answered by the same code as today's. The last one built is kept: an analyst reading
//! last March's report asks many questions at the same revision.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::error::LogError;
use super::ledger::{KeptFunding, Ledger};
use crate::domain::{Collection, ReadPoint, Shared};
use crate::query::interrupt::Interrupt;
use crate::query::model::{ModelLoader, PastFunding, ReadModel, StoodProjects};
use crate::store::{ResourcesAt, StoreError};

/// Resources read from the log at a time while building a past record.
const CHUNK: usize = 1000;

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

    /// The funding of the projects changed since `revision` as they stood then, against the
    /// read model as it stands: a summary at `revision` without the whole record as it stood
    /// (see `PastFunding`). None when more than projects changed since, the cube cannot count
    /// them, or the model moved on while they were read. The last one made is kept.
    pub async fn past_funding(&self, revision: i64) -> Result<Option<Arc<PastFunding>>, LogError> {
        let through = self.applied_revision();
        let mut kept = self.past_funding.lock().await;
        if let Some(kept) = kept
            .as_ref()
            .filter(|kept| kept.revision == revision && kept.through == through)
        {
            return Ok(kept.funding.clone());
        }
        let stood = match self.store().changed_after(revision, through).await? {
            ResourcesAt::Stood(stood) => stood,
            ResourcesAt::Expired { oldest } => return Err(LogError::Expired { revision, oldest }),
        };
        // Counting the projects as they stood is the work of a scan: off the async threads,
        // and the model locked only to find their classes.
        let model = self.model().clone();
        let funding = tokio::task::spawn_blocking(move || {
            let stood = StoodProjects::of(stood)?;
            let model = model.read();
            (model.revision == through)
                .then(|| model.past_funding(revision, stood))
                .flatten()
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("counting the projects as they stood: {e}")))?
        .map(Arc::new);
        *kept = Some(KeptFunding {
            revision,
            through,
            funding: funding.clone(),
        });
        (self.release_freed_memory)();
        Ok(funding)
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
