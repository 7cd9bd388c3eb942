//! Rules that need other resources: references exist, periods fit their indicator, areas nest.

use super::{
    Area, CodeScheme, Collection, Indicator, Labelled, PlaceCode, RelationKind, Resource,
    ResourceName, Violations, is_currency_unit,
};

/// What validation may look up about the rest of the record.
pub trait Catalog {
    /// Whether a resource of that name exists.
    fn contains(&self, name: &ResourceName) -> bool;
    /// The indicator of that name, if it exists.
    fn indicator(&self, name: &ResourceName) -> Option<&Indicator>;
    /// The area of that name, if it exists.
    fn area(&self, name: &ResourceName) -> Option<&Area>;
    /// The area or party other than `except` that holds a code, if one does.
    fn code_holder(
        &self,
        scheme: CodeScheme,
        value: &str,
        except: &ResourceName,
    ) -> Option<ResourceName>;
}

impl Resource {
    /// The codes a place holds: an area's or a party's.
    pub fn place_codes(&self) -> &[PlaceCode] {
        match self {
            Resource::Area(area) => &area.codes,
            Resource::Party(party) => &party.codes,
            _ => &[],
        }
    }
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
        for (i, code) in self.place_codes().iter().enumerate() {
            if let Some(holder) = catalog.code_holder(code.scheme, &code.value, self.name()) {
                violations.push(
                    format!("codes[{i}].value"),
                    format!("{} {} is {holder}'s code", code.scheme.label(), code.value),
                );
            }
        }
        if let Resource::Indicator(indicator) = self
            && let Some(relation) = &indicator.relation
            && let Some(other) = catalog.indicator(&relation.of)
        {
            relation_fits(indicator, relation.kind, other, &mut violations);
        }
        violations
    }

    /// The resources this one refers to, with the field that refers to each.
    pub fn references(&self) -> Vec<(String, &ResourceName)> {
        let mut references = Vec::new();
        match self {
            Resource::Party(_) => {}
            Resource::Indicator(r) => references.extend(
                r.relation
                    .iter()
                    .map(|rel| ("relation.of".to_owned(), &rel.of)),
            ),
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
                for (i, input) in r.derived_from.iter().enumerate() {
                    references.push((format!("derived_from[{i}]"), input));
                }
            }
        }
        references
    }

    /// The collection the resource belongs to.
    pub fn collection(&self) -> Collection {
        self.name().collection()
    }
}

/// The relation's rules that need the indicator it follows from.
fn relation_fits(
    indicator: &Indicator,
    kind: RelationKind,
    other: &Indicator,
    violations: &mut Violations,
) {
    let mismatch = match kind {
        RelationKind::Conversion if !is_currency_unit(&other.unit) => {
            Some("a CONVERSION follows from an amount in a currency".to_owned())
        }
        RelationKind::Conversion if other.unit == indicator.unit => {
            Some(format!("{} is in {} already", other.name, other.unit))
        }
        RelationKind::Part
            if other.relation.as_ref().map(|r| r.kind) != Some(RelationKind::Share) =>
        {
            Some(format!(
                "a PART follows from a share: {} has no SHARE relation",
                other.name
            ))
        }
        _ => None,
    };
    if let Some(reason) = mismatch {
        violations.push("relation.of", reason);
    }
}
