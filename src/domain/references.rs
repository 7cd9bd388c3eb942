//! Rules that need other resources: references exist, periods fit their indicator, areas nest.

use super::{Area, Collection, Indicator, Resource, ResourceName, Violations};

/// What validation may look up about the rest of the record.
pub trait Catalog {
    /// Whether a resource of that name exists.
    fn contains(&self, name: &ResourceName) -> bool;
    /// The indicator of that name, if it exists.
    fn indicator(&self, name: &ResourceName) -> Option<&Indicator>;
    /// The area of that name, if it exists.
    fn area(&self, name: &ResourceName) -> Option<&Area>;
}

impl Resource {
    /// Every rule the resource must satisfy, own fields and references, with field paths
    /// relative to the resource.
    pub fn validate(&self, catalog: &impl Catalog) -> Violations {
        let mut violations = match self {
            Resource::Party(r) => r.validate(),
            Resource::Area(r) => r.validate(),
            Resource::Pairing(r) => r.validate(),
            Resource::Project(r) => r.validate(),
            Resource::Indicator(r) => r.validate(),
            Resource::Observation(r) => r.validate(catalog.indicator(&r.indicator)),
        };
        for (field, name) in self.references() {
            let missing_indicator =
                matches!(self, Resource::Observation(o) if &o.indicator == name);
            if !missing_indicator && !catalog.contains(name) {
                violations.push(field, format!("{name} does not exist"));
            }
        }
        if let Resource::Area(area) = self
            && let Some(parent) = area.parent.as_ref().and_then(|p| catalog.area(p))
            && parent.level.depth() >= area.level.depth()
        {
            violations.push(
                "parent",
                format!("{} is not above a {:?} area", parent.name, area.level),
            );
        }
        violations
    }

    /// The resources this one refers to, with the field that refers to each.
    pub fn references(&self) -> Vec<(String, &ResourceName)> {
        let mut references = Vec::new();
        match self {
            Resource::Party(_) | Resource::Indicator(_) => {}
            Resource::Area(r) => {
                references.extend(r.parent.iter().map(|p| ("parent".to_owned(), p)))
            }
            Resource::Pairing(r) => {
                references.push(("party".to_owned(), &r.party));
                references.push(("area".to_owned(), &r.area));
            }
            Resource::Project(r) => {
                references.push(("party".to_owned(), &r.party));
                references.extend(r.pairing.iter().map(|p| ("pairing".to_owned(), p)));
                for (i, recipient) in r.recipients.iter().enumerate() {
                    references.push((format!("recipients[{i}].area"), &recipient.area));
                }
                for (i, output) in r.outputs.iter().enumerate() {
                    references.push((format!("outputs[{i}].indicator"), &output.indicator));
                }
            }
            Resource::Observation(r) => {
                references.push(("indicator".to_owned(), &r.indicator));
                references.push(("area".to_owned(), &r.area));
            }
        }
        references
    }

    /// The collection the resource belongs to.
    pub fn collection(&self) -> Collection {
        self.name().collection()
    }
}
