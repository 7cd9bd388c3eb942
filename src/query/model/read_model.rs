//! The in-memory read model: every resource, indexed by name, at one revision.

use std::collections::BTreeMap;

use super::cube::FundingCube;
use super::observations::{Chosen, ObservationTable};
use super::past::{PastFunding, StoodProjects};
use super::places::PlaceIndex;
use super::project_index::ProjectIndex;
use super::projects::ProjectTable;
use super::table::Table;
use crate::domain::{
    Area, Catalog, CodeScheme, Collection, FigureChoice, Indicator, Meta, Observation, Pairing,
    Party, Resource, ResourceName, Shared,
};
use crate::domain::{Committed, Write};

/// The whole record as of `revision`, answering every query.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ReadModel {
    pub revision: i64,
    pub parties: BTreeMap<ResourceName, Party>,
    pub areas: BTreeMap<ResourceName, Area>,
    pub pairings: BTreeMap<ResourceName, Pairing>,
    pub projects: ProjectTable,
    pub indicators: BTreeMap<ResourceName, Indicator>,
    pub observations: ObservationTable,
    /// Areas and parties by any name or code.
    pub places: PlaceIndex,
    /// The projects' funding, pre-aggregated for summaries.
    funding: FundingCube,
    /// Which projects hold each value of the filterable attributes.
    project_index: ProjectIndex,
    /// One copy of each reference and provenance the records hold.
    shared: Shared,
}

/// A read model being built from a load's resources as they arrive, in the store's order.
/// The two large collections are built in bulk: maps filled one insert at a time in name
/// order keep their nodes half empty.
#[derive(Default)]
pub struct ModelLoader {
    model: ReadModel,
    /// The few resources neither projects nor observations, put once the sharing is known.
    others: Vec<Resource>,
}

impl ModelLoader {
    pub fn add(&mut self, resource: Resource) {
        let model = &mut self.model;
        match resource {
            Resource::Project(project) => {
                let number = model.projects.push_loaded(&project);
                model.funding.add(number, &project);
                model.project_index.mark(number, &project, true);
            }
            Resource::Observation(observation) => model.observations.push_loaded(observation),
            other => self.others.push(other),
        }
    }

    /// The model, once the load has sent everything: the record at `revision`, whose
    /// references and provenances `shared` already holds one copy of.
    pub fn finish(self, revision: i64, shared: Shared) -> ReadModel {
        let mut model = self.model;
        model.revision = revision;
        model.shared = shared;
        model.projects.finish_loading();
        model.funding.members.shrink_to_fit();
        model.project_index.shrink();
        model.observations.finish_loading();
        for other in self.others {
            model.put(other);
        }
        model
    }
}

impl ReadModel {
    /// Builds the model from every resource of the record at `revision`.
    #[cfg(test)]
    pub fn from_resources(revision: i64, resources: Vec<Resource>) -> Self {
        let mut loader = ModelLoader::default();
        resources.into_iter().for_each(|r| loader.add(r));
        loader.finish(revision, Shared::default())
    }

    /// Applies a commit the store has made durable.
    pub fn apply(&mut self, committed: &Committed) {
        let journal = &mut self.funding.journal;
        journal.begin(self.revision, committed.revision);
        // Only projects have rows to count back; a summary at a revision before any other
        // change reads the record as it stood.
        if committed
            .writes
            .iter()
            .any(|write| write.name().collection() != Collection::Projects)
        {
            journal.forget_through(committed.revision);
        }
        for write in &committed.writes {
            match write {
                Write::Put(resource) => self.put(resource.as_ref().clone()),
                Write::Delete(name) => self.delete(name),
            }
        }
        self.revision = self.revision.max(committed.revision);
    }

    fn put(&mut self, resource: Resource) {
        match self.shared.share(resource) {
            Resource::Party(r) => {
                self.places.put_party(self.parties.get(&r.name), &r);
                self.parties.insert(r.name.clone(), r);
            }
            Resource::Area(r) => {
                self.places.put_area(self.areas.get(&r.name), &r);
                self.areas.insert(r.name.clone(), r);
            }
            Resource::Pairing(r) => _ = self.pairings.insert(r.name.clone(), r),
            Resource::Project(r) => {
                let (number, old) = self.projects.put(&r);
                if let Some(old) = old {
                    self.funding.remove(number, &old);
                    self.project_index.mark(number, &old, false);
                }
                self.funding.add(number, &r);
                self.project_index.mark(number, &r, true);
            }
            Resource::Indicator(r) => _ = self.indicators.insert(r.name.clone(), r),
            Resource::Observation(r) => self.observations.put(r),
        }
    }

    fn delete(&mut self, name: &ResourceName) {
        match name.collection() {
            Collection::Parties => {
                if let Some(old) = self.parties.remove(name) {
                    self.places.remove_party(&old);
                }
            }
            Collection::Areas => {
                if let Some(old) = self.areas.remove(name) {
                    self.places.remove_area(&old);
                }
            }
            Collection::Pairings => _ = self.pairings.remove(name),
            Collection::Projects => {
                if let Some((number, old)) = self.projects.remove(name) {
                    self.funding.remove(number, &old);
                    self.project_index.mark(number, &old, false);
                }
            }
            Collection::Indicators => _ = self.indicators.remove(name),
            Collection::Observations => self.observations.remove(name),
        }
    }

    /// The observation of `indicator` for every area and period, by area and then period:
    /// where several compete, the last written.
    pub fn series_of(&self, indicator: &ResourceName) -> Vec<Observation> {
        self.observations.series_of(indicator)
    }

    /// Of `indicator`'s observations for `area` (every area for `None`), by area and then
    /// period, the one `choice` picks for each period and those it passed over.
    pub fn chosen(
        &self,
        indicator: &ResourceName,
        area: Option<&ResourceName>,
        choice: &FigureChoice,
    ) -> Vec<Chosen> {
        self.observations.chosen(indicator, area, choice)
    }

    /// The projects' funding, pre-aggregated for summaries.
    pub fn funding_cube(&self) -> &FundingCube {
        &self.funding
    }

    /// Which projects hold each value of the filterable attributes.
    pub fn project_index(&self) -> &ProjectIndex {
        &self.project_index
    }

    /// The area and every area enclosing it, innermost first.
    pub fn area_and_ancestors(&self, area: &ResourceName) -> Vec<ResourceName> {
        let mut chain = vec![area.clone()];
        let mut current = self.areas.get(area);
        while let Some(parent) = current.and_then(|a| a.parent.as_ref()) {
            if chain.contains(parent) {
                break;
            }
            chain.push(parent.clone());
            current = self.areas.get(parent);
        }
        chain
    }

    /// Whether the model holds no resource at all.
    pub fn is_empty(&self) -> bool {
        self.parties.is_empty()
            && self.areas.is_empty()
            && self.pairings.is_empty()
            && self.projects.is_empty()
            && self.indicators.is_empty()
            && self.observations.is_empty()
    }

    /// The funding of `stood`, projects changed since `revision`, as they stood then, against
    /// this model: see [`PastFunding`]; none when the cube cannot count them.
    pub fn past_funding(&self, revision: i64, stood: StoodProjects) -> Option<PastFunding> {
        self.funding.past(revision, self.revision, stood, |name| {
            self.projects.number(name)
        })
    }

    /// Whether a summary at `revision` can count the projects changed since back without
    /// reading them from the log.
    pub fn journal_reaches(&self, revision: i64) -> bool {
        self.funding.journal_reaches(revision, self.revision)
    }

    /// How many resources the model holds.
    pub fn resource_count(&self) -> usize {
        self.parties.len()
            + self.areas.len()
            + self.pairings.len()
            + self.projects.len()
            + self.indicators.len()
            + self.observations.len()
    }

    /// How many resources of each collection the model holds, for the start-up log.
    pub fn counts(&self) -> String {
        format!(
            "{} parties, {} areas, {} pairings, {} projects, {} indicators, {} observations",
            self.parties.len(),
            self.areas.len(),
            self.pairings.len(),
            self.projects.len(),
            self.indicators.len(),
            self.observations.len()
        )
    }
}

impl Catalog for ReadModel {
    fn contains(&self, name: &ResourceName) -> bool {
        self.meta_of(name).is_some()
    }

    fn indicator(&self, name: &ResourceName) -> Option<&Indicator> {
        self.indicators.get(name)
    }

    fn area(&self, name: &ResourceName) -> Option<&Area> {
        self.areas.get(name)
    }

    fn code_holder(
        &self,
        scheme: CodeScheme,
        value: &str,
        except: &ResourceName,
    ) -> Option<ResourceName> {
        self.places
            .holder(scheme, value)
            .filter(|holder| *holder != except)
            .cloned()
    }
}

impl ReadModel {
    /// The bookkeeping of `name`, if it exists.
    pub fn meta_of(&self, name: &ResourceName) -> Option<Meta> {
        match name.collection() {
            Collection::Parties => self.parties.get(name).map(|r| r.meta.clone()),
            Collection::Areas => self.areas.get(name).map(|r| r.meta.clone()),
            Collection::Pairings => self.pairings.get(name).map(|r| r.meta.clone()),
            Collection::Projects => self.projects.get(name).map(|r| r.meta),
            Collection::Indicators => self.indicators.get(name).map(|r| r.meta.clone()),
            Collection::Observations => self.observations.meta(name),
        }
    }

    /// The resource of that name, if it exists.
    pub fn get(&self, name: &ResourceName) -> Option<Resource> {
        match name.collection() {
            Collection::Parties => self.parties.get(name).cloned().map(Resource::Party),
            Collection::Areas => self.areas.get(name).cloned().map(Resource::Area),
            Collection::Pairings => self.pairings.get(name).cloned().map(Resource::Pairing),
            Collection::Projects => self.projects.get(name).map(Resource::Project),
            Collection::Indicators => self.indicators.get(name).cloned().map(Resource::Indicator),
            Collection::Observations => self.observations.get(name).map(Resource::Observation),
        }
    }

    /// The resources of `collection` named after `after` (every one for `None`), in name order.
    pub fn resources_after<'a>(
        &'a self,
        collection: Collection,
        after: Option<&str>,
    ) -> Box<dyn Iterator<Item = Resource> + 'a> {
        fn of<'a, T: Clone + 'a>(
            table: &'a dyn Table<T>,
            after: Option<&str>,
            wrap: fn(T) -> Resource,
        ) -> Box<dyn Iterator<Item = Resource> + 'a> {
            Box::new(table.after(after).map(move |item| wrap(item.into_owned())))
        }
        match collection {
            Collection::Parties => of(&self.parties, after, Resource::Party),
            Collection::Areas => of(&self.areas, after, Resource::Area),
            Collection::Pairings => of(&self.pairings, after, Resource::Pairing),
            Collection::Projects => of(&self.projects, after, Resource::Project),
            Collection::Indicators => of(&self.indicators, after, Resource::Indicator),
            Collection::Observations => of(&self.observations, after, Resource::Observation),
        }
    }

    /// The first resource that refers to `name`, if any; a referenced resource cannot be deleted.
    pub fn first_referrer(&self, name: &ResourceName) -> Option<ResourceName> {
        let refers = |resource: Resource| {
            resource
                .references()
                .iter()
                .any(|(_, target)| *target == name)
                .then(|| resource.name().clone())
        };
        match name.collection() {
            Collection::Projects => None,
            Collection::Observations => self.observations.first_derived_from(name),
            Collection::Pairings => self
                .projects
                .values()
                .map(Resource::Project)
                .find_map(refers),
            _ => Collection::ALL
                .into_iter()
                .find_map(|c| self.resources_after(c, None).find_map(refers)),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::AreaLevel;
    use crate::query::analytics::{Dimension, FundingQuery, summarize};
    use crate::seed;

    /// The demo data and a small scaled record, in the store's load order (by name).
    fn record() -> Vec<Resource> {
        let mut resources = seed::demo_resources().unwrap();
        seed::each_scaled_resource(120, 2_400, |r| resources.push(r)).unwrap();
        resources.sort_by(|a, b| a.name().cmp(b.name()));
        resources
    }

    #[test]
    fn a_model_loaded_in_bulk_answers_like_one_built_write_by_write() {
        let resources = record();
        let loaded = ReadModel::from_resources(1, resources.clone());
        let mut written = ReadModel::default();
        let mut in_write_order = resources;
        in_write_order.sort_by_key(|r| {
            Collection::ALL
                .iter()
                .position(|c| *c == r.name().collection())
        });
        written.apply(&Committed {
            revision: 1,
            subject: "test".into(),
            commit_time: Utc::now(),
            writes: in_write_order
                .into_iter()
                .map(|r| Write::Put(Box::new(r)))
                .collect(),
            replayed: false,
        });

        assert!(loaded.observations.len() > 2_400 && loaded.projects.len() > 120);
        assert!(loaded.projects.values().eq(written.projects.values()));
        assert!(
            loaded
                .observations
                .values()
                .eq(written.observations.values())
        );
        for indicator in loaded.indicators.keys() {
            assert_eq!(
                loaded.series_of(indicator),
                written.series_of(indicator),
                "{indicator}"
            );
        }
        let query =
            FundingQuery::all_cny(&[Dimension::Party, Dimension::Area], AreaLevel::Prefecture);
        let (from_load, from_writes) = (
            summarize(&loaded, &query, &Default::default()).unwrap(),
            summarize(&written, &query, &Default::default()).unwrap(),
        );
        assert!(!from_load.groups.is_empty());
        assert_eq!(
            format!("{:?}", from_load.groups),
            format!("{:?}", from_writes.groups)
        );
    }
}
