//! The fields each collection can be filtered and ordered by, and how to read them.

use crate::domain::{
    Area, Indicator, Observation, Pairing, Party, PriceBasis, Project, ResourceName,
};

use super::filter::Row;
use super::value::{FieldSpec, FieldType, Value};
use crate::query::model::ReadModel;

/// A resource that listings can filter and order.
pub trait Listed: Clone {
    /// Collection segment, part of every page token's fingerprint.
    const COLLECTION: &'static str;
    /// Fields usable in `filter` and (unless repeated) `order_by`.
    const FIELDS: &'static [FieldSpec];

    /// The resource's name, the final tie-breaker of every order.
    fn resource_name(&self) -> &ResourceName;

    /// Values of the field `Self::FIELDS[field]`; empty when unset.
    fn values(&self, field: usize, model: &ReadModel) -> Vec<Value>;

    /// The field's one text value without copying it, for the fields that have one.
    fn text(&self, _field: usize) -> Option<&str> {
        None
    }
}

/// A resource as a filter reads it.
pub struct ItemRow<'a, T> {
    pub item: &'a T,
    pub model: &'a ReadModel,
}

impl<T: Listed> Row for ItemRow<'_, T> {
    fn values(&self, field: usize) -> Vec<Value> {
        self.item.values(field, self.model)
    }

    fn text(&self, field: usize) -> Option<&str> {
        self.item.text(field)
    }
}

// Enum value lists follow the declaration order of the domain enums, so `variant as u16`
// indexes them.
const PARTY_KINDS: &[&str] = &[
    "PROVINCE",
    "MUNICIPALITY",
    "CENTRAL_DEPARTMENT",
    "ENTERPRISE",
    "OTHER",
];
const AREA_LEVELS: &[&str] = &["REGION", "PREFECTURE", "DIVISION", "COUNTY", "COUNTRY"];
const SUPPORT_FIELDS: &[&str] = &[
    "ECONOMY",
    "TECHNOLOGY",
    "EDUCATION",
    "HEALTH_CARE",
    "TALENT",
    "HOUSING",
    "ROADS_AND_TRANSPORT",
    "WATER",
    "CULTURE_AND_TOURISM",
    "AGRICULTURE",
    "INDUSTRY_AND_EMPLOYMENT",
    "OTHER",
];
const DATA_STATUSES: &[&str] = &[
    "REPORTED",
    "ESTIMATED",
    "PROVISIONAL",
    "COMPUTED",
    "SYNTHETIC",
];
const QUALIFIERS: &[&str] = &[
    "EXACT",
    "ABOUT",
    "AT_LEAST",
    "AT_MOST",
    "MORE_THAN",
    "LESS_THAN",
];
const PROJECT_STATUSES: &[&str] = &[
    "PLANNED",
    "IN_PROGRESS",
    "COMPLETED",
    "SUSPENDED",
    "CANCELLED",
];
const FREQUENCIES: &[&str] = &["ANNUAL", "QUARTERLY", "MONTHLY", "MULTI_YEAR"];
const MEASURE_KINDS: &[&str] = &[
    "STOCK",
    "FLOW",
    "COUNT",
    "RATE",
    "SHARE",
    "PER_CAPITA",
    "RATIO",
];
const PRICE_BASES: &[&str] = &["UNSPECIFIED", "NOMINAL", "CONSTANT"];

const fn enumeration(prefix: &'static str, values: &'static [&'static str]) -> FieldType {
    FieldType::Enum { prefix, values }
}

const SUPPORT_FIELD: FieldType = enumeration("SUPPORT_FIELD_", SUPPORT_FIELDS);
const DATA_STATUS: FieldType = enumeration("DATA_STATUS_", DATA_STATUSES);

fn name(name: &ResourceName) -> Vec<Value> {
    vec![Value::text(name.as_str())]
}

fn optional_name(name: Option<&ResourceName>) -> Vec<Value> {
    name.map(|n| Value::text(n.as_str())).into_iter().collect()
}

fn text(text: &str) -> Vec<Value> {
    vec![Value::text(text)]
}

fn ordinal(index: u16) -> Vec<Value> {
    vec![Value::Enum(index)]
}

impl Listed for Party {
    const COLLECTION: &'static str = "parties";
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::one("name", FieldType::Name),
        FieldSpec::one("kind", enumeration("PARTY_KIND_", PARTY_KINDS)),
        FieldSpec::one("display_name", FieldType::Text),
        FieldSpec::one("home_area", FieldType::Text),
    ];

    fn resource_name(&self) -> &ResourceName {
        &self.name
    }

    fn values(&self, field: usize, _: &ReadModel) -> Vec<Value> {
        match field {
            0 => name(&self.name),
            1 => ordinal(self.kind as u16),
            2 => text(&self.display_name),
            _ => text(&self.home_area),
        }
    }
}

impl Listed for Area {
    const COLLECTION: &'static str = "areas";
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::one("name", FieldType::Name),
        FieldSpec::one("display_name", FieldType::Text),
        FieldSpec::one("level", enumeration("AREA_LEVEL_", AREA_LEVELS)),
        FieldSpec::one("parent", FieldType::Name),
        FieldSpec::many("ancestor", FieldType::Name),
    ];

    fn resource_name(&self) -> &ResourceName {
        &self.name
    }

    fn values(&self, field: usize, model: &ReadModel) -> Vec<Value> {
        match field {
            0 => name(&self.name),
            1 => text(&self.display_name),
            2 => ordinal(self.level as u16),
            3 => optional_name(self.parent.as_ref()),
            _ => model
                .area_and_ancestors(&self.name)
                .iter()
                .skip(1)
                .map(|a| Value::text(a.as_str()))
                .collect(),
        }
    }
}

impl Listed for Pairing {
    const COLLECTION: &'static str = "pairings";
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::one("name", FieldType::Name),
        FieldSpec::one("party", FieldType::Name),
        FieldSpec::one("area", FieldType::Name),
        FieldSpec::one("start_year", FieldType::Integer),
        FieldSpec::one("end_year", FieldType::Integer),
        FieldSpec::many("field", SUPPORT_FIELD),
        FieldSpec::one("status", DATA_STATUS),
    ];

    fn resource_name(&self) -> &ResourceName {
        &self.name
    }

    fn values(&self, field: usize, _: &ReadModel) -> Vec<Value> {
        match field {
            0 => name(&self.name),
            1 => name(&self.party),
            2 => name(&self.area),
            3 => vec![Value::Integer(self.start_year.into())],
            4 => self
                .end_year
                .map(|y| Value::Integer(y.into()))
                .into_iter()
                .collect(),
            5 => self.fields.iter().map(|f| Value::Enum(*f as u16)).collect(),
            _ => ordinal(self.status as u16),
        }
    }
}

impl Listed for Project {
    const COLLECTION: &'static str = "projects";
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::one("name", FieldType::Name),
        FieldSpec::one("title", FieldType::Text),
        FieldSpec::one("description", FieldType::Text),
        FieldSpec::one("party", FieldType::Name),
        FieldSpec::one("pairing", FieldType::Name),
        FieldSpec::many("area", FieldType::Name),
        FieldSpec::one("field", SUPPORT_FIELD),
        FieldSpec::one("livelihood", FieldType::Bool),
        FieldSpec::one("status", enumeration("PROJECT_STATUS_", PROJECT_STATUSES)),
        FieldSpec::one("data_status", DATA_STATUS),
        FieldSpec::many("year", FieldType::Integer),
    ];

    fn resource_name(&self) -> &ResourceName {
        &self.name
    }

    fn text(&self, field: usize) -> Option<&str> {
        match field {
            0 => Some(self.name.as_str()),
            1 => Some(&self.title),
            2 => Some(&self.description),
            3 => Some(self.party.as_str()),
            _ => None,
        }
    }

    fn values(&self, field: usize, model: &ReadModel) -> Vec<Value> {
        match field {
            0 => name(&self.name),
            1 => text(&self.title),
            2 => text(&self.description),
            3 => name(&self.party),
            4 => optional_name(self.pairing.as_ref()),
            5 => {
                let mut areas: Vec<Value> = self
                    .recipients
                    .iter()
                    .flat_map(|r| model.area_and_ancestors(&r.area))
                    .map(|a| Value::text(a.as_str()))
                    .collect();
                areas.sort();
                areas.dedup();
                areas
            }
            6 => ordinal(self.field as u16),
            7 => vec![Value::Bool(self.livelihood)],
            8 => ordinal(self.status as u16),
            9 => ordinal(self.data_status as u16),
            _ => self
                .funding_years()
                .into_iter()
                .map(|y| Value::Integer(y.into()))
                .collect(),
        }
    }
}

impl Listed for Indicator {
    const COLLECTION: &'static str = "indicators";
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::one("name", FieldType::Name),
        FieldSpec::one("code", FieldType::Text),
        FieldSpec::one("display_name", FieldType::Text),
        FieldSpec::one("unit", FieldType::Text),
        FieldSpec::one("frequency", enumeration("FREQUENCY_", FREQUENCIES)),
        FieldSpec::one("measure_kind", enumeration("MEASURE_KIND_", MEASURE_KINDS)),
        FieldSpec::one("summable", FieldType::Bool),
        FieldSpec::one("price_basis", enumeration("PRICE_BASIS_", PRICE_BASES)),
        FieldSpec::one("topic", FieldType::Text),
    ];

    fn resource_name(&self) -> &ResourceName {
        &self.name
    }

    fn values(&self, field: usize, _: &ReadModel) -> Vec<Value> {
        match field {
            0 => name(&self.name),
            1 => text(&self.code),
            2 => text(&self.display_name),
            3 => text(&self.unit),
            4 => ordinal(self.frequency as u16),
            5 => ordinal(self.measure_kind as u16),
            6 => vec![Value::Bool(self.summable)],
            7 => ordinal(match self.price_basis {
                PriceBasis::NotApplicable => 0,
                PriceBasis::Nominal => 1,
                PriceBasis::Constant(_) => 2,
            }),
            _ => text(&self.topic),
        }
    }
}

impl Listed for Observation {
    const COLLECTION: &'static str = "observations";
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::one("name", FieldType::Name),
        FieldSpec::one("indicator", FieldType::Name),
        FieldSpec::one("area", FieldType::Name),
        FieldSpec::one("period", FieldType::Text),
        FieldSpec::one("year", FieldType::Integer),
        FieldSpec::one("qualifier", enumeration("QUALIFIER_", QUALIFIERS)),
        FieldSpec::one("status", DATA_STATUS),
    ];

    fn resource_name(&self) -> &ResourceName {
        &self.name
    }

    fn text(&self, field: usize) -> Option<&str> {
        match field {
            0 => Some(self.name.as_str()),
            1 => Some(self.indicator.as_str()),
            2 => Some(self.area.as_str()),
            3 => Some(&self.period),
            _ => None,
        }
    }

    fn values(&self, field: usize, _: &ReadModel) -> Vec<Value> {
        match field {
            0 => name(&self.name),
            1 => name(&self.indicator),
            2 => name(&self.area),
            3 => text(&self.period),
            4 => crate::domain::Period::years_of(&self.period)
                .map(|(first, _)| Value::Integer(first.into()))
                .into_iter()
                .collect(),
            5 => ordinal(self.qualifier as u16),
            _ => ordinal(self.status as u16),
        }
    }
}
