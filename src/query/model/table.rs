//! What listings and lookups read of a collection, whether the model keeps it as structs
//! keyed by name or as rows of numbers.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Bound;

use roaring::RoaringBitmap;

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

/// A collection kept as rows numbered for the indexes, which pick rows by number.
pub trait Numbered<T> {
    /// The numbers of the rows named after `after` (every one for `None`), in name order.
    fn numbers_after<'a>(&'a self, after: Option<&str>) -> Box<dyn Iterator<Item = u32> + 'a>;
    /// The name of the row numbered `number`.
    fn name_at(&self, number: u32) -> ResourceName;
    /// The numbers of `numbers` named after `after`, in name order.
    fn sorted_by_name(&self, numbers: &RoaringBitmap, after: Option<&str>) -> Vec<u32>;
    /// The resource of the row numbered `number`, which must be live.
    fn at(&self, number: u32) -> T;
}

/// Implements [`Numbered`] for packed tables through their methods of the same names.
macro_rules! numbered {
    ($($table:ty => $resource:ty),*) => {$(
        impl Numbered<$resource> for $table {
            fn numbers_after<'a>(
                &'a self,
                after: Option<&str>,
            ) -> Box<dyn Iterator<Item = u32> + 'a> {
                Box::new(<$table>::numbers_after(self, after))
            }

            fn name_at(&self, number: u32) -> ResourceName {
                <$table>::name_at(self, number)
            }

            fn sorted_by_name(&self, numbers: &RoaringBitmap, after: Option<&str>) -> Vec<u32> {
                <$table>::sorted_by_name(self, numbers, after)
            }

            fn at(&self, number: u32) -> $resource {
                <$table>::at(self, number)
            }
        }
    )*};
}

numbered!(ProjectTable => Project, ObservationTable => Observation);
