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

/// `$body` for whichever resource `$resource` holds, bound to `$each`.
macro_rules! each_kind {
    ($resource:expr, $each:ident => $body:expr) => {
        match $resource {
            Resource::Party($each) => $body,
            Resource::Area($each) => $body,
            Resource::Pairing($each) => $body,
            Resource::Project($each) => $body,
            Resource::Indicator($each) => $body,
            Resource::Observation($each) => $body,
        }
    };
}

impl Resource {
    /// The resource's name.
    pub fn name(&self) -> &ResourceName {
        each_kind!(self, r => &r.name)
    }

    /// The store's bookkeeping.
    pub fn meta(&self) -> &Meta {
        each_kind!(self, r => &r.meta)
    }

    /// The store's bookkeeping, for the store to set on write.
    pub fn meta_mut(&mut self) -> &mut Meta {
        each_kind!(self, r => &mut r.meta)
    }
}
