//! Any resource of the record, as the store and the change log carry it.

use serde::{Deserialize, Serialize};

use super::{Area, Indicator, Meta, Observation, Pairing, Party, Project, ResourceName};

/// One resource of any collection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Party(Party),
    Area(Area),
    Pairing(Pairing),
    Project(Project),
    Indicator(Indicator),
    Observation(Observation),
}

impl Resource {
    /// The resource's name.
    pub fn name(&self) -> &ResourceName {
        match self {
            Resource::Party(r) => &r.name,
            Resource::Area(r) => &r.name,
            Resource::Pairing(r) => &r.name,
            Resource::Project(r) => &r.name,
            Resource::Indicator(r) => &r.name,
            Resource::Observation(r) => &r.name,
        }
    }

    /// The store's bookkeeping.
    pub fn meta(&self) -> &Meta {
        match self {
            Resource::Party(r) => &r.meta,
            Resource::Area(r) => &r.meta,
            Resource::Pairing(r) => &r.meta,
            Resource::Project(r) => &r.meta,
            Resource::Indicator(r) => &r.meta,
            Resource::Observation(r) => &r.meta,
        }
    }

    /// The store's bookkeeping, for the store to set on write.
    pub fn meta_mut(&mut self) -> &mut Meta {
        match self {
            Resource::Party(r) => &mut r.meta,
            Resource::Area(r) => &mut r.meta,
            Resource::Pairing(r) => &mut r.meta,
            Resource::Project(r) => &mut r.meta,
            Resource::Indicator(r) => &mut r.meta,
            Resource::Observation(r) => &mut r.meta,
        }
    }
}
