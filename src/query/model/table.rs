//! What listings and lookups read of a collection, whether the model keeps it as structs
//! keyed by name or as rows of numbers.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Bound;

use super::observations::ObservationTable;
use super::projects::ProjectTable;
use crate::domain::{Observation, Project, ResourceName};

/// One collection's resources, in name order.
pub trait Table<T: Clone> {
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The resource of that name.
    fn find(&self, name: &ResourceName) -> Option<Cow<'_, T>>;

    /// The resources named after `after` (every one for `None`), in name order.
    fn after<'a>(&'a self, after: Option<&str>) -> Box<dyn Iterator<Item = Cow<'a, T>> + 'a>;
}

impl<T: Clone> Table<T> for BTreeMap<ResourceName, T> {
    fn len(&self) -> usize {
        BTreeMap::len(self)
    }

    fn find(&self, name: &ResourceName) -> Option<Cow<'_, T>> {
        self.get(name).map(Cow::Borrowed)
    }

    fn after<'a>(&'a self, after: Option<&str>) -> Box<dyn Iterator<Item = Cow<'a, T>> + 'a> {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        Box::new(
            self.range::<str, _>((start, Bound::Unbounded))
                .map(|(_, item)| Cow::Borrowed(item)),
        )
    }
}

impl Table<Observation> for ObservationTable {
    fn len(&self) -> usize {
        ObservationTable::len(self)
    }

    fn find(&self, name: &ResourceName) -> Option<Cow<'_, Observation>> {
        self.get(name).map(Cow::Owned)
    }

    fn after<'a>(
        &'a self,
        after: Option<&str>,
    ) -> Box<dyn Iterator<Item = Cow<'a, Observation>> + 'a> {
        Box::new(ObservationTable::after(self, after).map(Cow::Owned))
    }
}

impl Table<Project> for ProjectTable {
    fn len(&self) -> usize {
        ProjectTable::len(self)
    }

    fn find(&self, name: &ResourceName) -> Option<Cow<'_, Project>> {
        self.get(name).map(Cow::Owned)
    }

    fn after<'a>(&'a self, after: Option<&str>) -> Box<dyn Iterator<Item = Cow<'a, Project>> + 'a> {
        Box::new(ProjectTable::after(self, after).map(Cow::Owned))
    }
}
