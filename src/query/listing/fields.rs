//! The fields each collection can be filtered and ordered by, and how to read them.
//!
//! Each collection's fields are one enum, declared once with each field's name and type
//! (`fields!`). Reading a field is an exhaustive match on that enum, so a field added without
//! its reading does not compile; the project fields also declare, exhaustively, what the
//! funding summary's pre-aggregates can answer a filter on them from.

use crate::domain::{
    Area, AreaLevel, DataStatus, Frequency, Indicator, Labelled, MeasureKind, Observation, Pairing,
    Party, PartyKind, Period, PriceBasis, Project, ProjectStatus, Qualifier, Reading, ResourceName,
    SupportField,
};
use crate::query::model::ReadModel;

use super::filter::Row;
use super::value::{FieldSpec, FieldType, Value};

/// The fields of one collection: an enum whose variants are in the order of `SPECS`.
pub trait Field: Copy + Eq + std::fmt::Debug + 'static {
    /// Every field, in declaration order.
    const ALL: &'static [Self];
    /// Each field's name and type, in the same order: what filters and orders parse against.
    const SPECS: &'static [FieldSpec];

    /// The field's name, as filters write it.
    fn name(self) -> &'static str;
}

/// Declares a collection's field enum with each field's spec, in one list.
macro_rules! fields {
    (
        $(#[$meta:meta])*
        $name:ident { $($variant:ident: $spec:expr,)* }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($variant,)*
        }

        impl Field for $name {
            const ALL: &'static [Self] = &[$($name::$variant,)*];
            const SPECS: &'static [FieldSpec] = &[$($spec,)*];

            fn name(self) -> &'static str {
                Self::SPECS[self as usize].name
            }
        }
    };
}

/// A resource that listings can filter and order.
pub trait Listed: Clone {
    /// Collection segment, part of every page token's fingerprint.
    const COLLECTION: &'static str;
    /// The fields usable in `filter` and (unless repeated) `order_by`.
    type Field: Field;
    /// The fields' specs, as the filter and order parsers take them.
    const FIELDS: &'static [FieldSpec] = <Self::Field as Field>::SPECS;

    /// The resource's name, the final tie-breaker of every order.
    fn resource_name(&self) -> &ResourceName;

    /// The values of `field`; empty when unset.
    fn read(&self, field: Self::Field, model: &ReadModel) -> Vec<Value>;

    /// The field's one text value without copying it, for the fields that have one.
    fn read_text(&self, _field: Self::Field) -> Option<&str> {
        None
    }

    /// The values of the field at `index` in `FIELDS`, as parsed filters name fields.
    fn values(&self, index: usize, model: &ReadModel) -> Vec<Value> {
        self.read(<Self::Field as Field>::ALL[index], model)
    }

    /// The one text value of the field at `index` in `FIELDS`, if it has one.
    fn text(&self, index: usize) -> Option<&str> {
        self.read_text(<Self::Field as Field>::ALL[index])
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

/// An enum-typed field over a labelled domain enum; `prefix` is what its proto names add.
const fn enumeration<E: Labelled>(prefix: &'static str) -> FieldType {
    FieldType::Enum {
        prefix,
        values: E::LABELS,
    }
}

const SUPPORT_FIELD: FieldType = enumeration::<SupportField>("SUPPORT_FIELD_");
const DATA_STATUS: FieldType = enumeration::<DataStatus>("DATA_STATUS_");

pub(super) fn name(name: &ResourceName) -> Vec<Value> {
    vec![Value::text(name.as_str())]
}

pub(super) fn optional_name(name: Option<&ResourceName>) -> Vec<Value> {
    name.map(|n| Value::text(n.as_str())).into_iter().collect()
}

pub(super) fn text(text: &str) -> Vec<Value> {
    vec![Value::text(text)]
}

pub(super) fn ordinal<E: Labelled>(value: E) -> Vec<Value> {
    vec![Value::Enum(value.ordinal() as u16)]
}

pub(super) fn integer(value: impl Into<i64>) -> Vec<Value> {
    vec![Value::Integer(value.into())]
}

/// The first year of `period`, what an observation's `year` is.
pub(super) fn first_year(period: &str) -> Vec<Value> {
    Period::years_of(period)
        .map(|(first, _)| integer(first))
        .unwrap_or_default()
}

/// The names of `areas` and of every area above them, once each.
pub(super) fn areas_and_ancestors<'a>(
    areas: impl Iterator<Item = &'a ResourceName>,
    model: &ReadModel,
) -> Vec<Value> {
    let mut values: Vec<Value> = areas
        .flat_map(|area| model.area_and_ancestors(area))
        .map(|a| Value::text(a.as_str()))
        .collect();
    values.sort();
    values.dedup();
    values
}

fields! {
    /// What parties can be filtered and ordered by.
    PartyField {
        Name: FieldSpec::one("name", FieldType::Name),
        Kind: FieldSpec::one("kind", enumeration::<PartyKind>("PARTY_KIND_")),
        DisplayName: FieldSpec::one("display_name", FieldType::Text),
        HomeArea: FieldSpec::one("home_area", FieldType::Text),
        Codes: FieldSpec::many("codes", FieldType::Text),
    }
}

impl Listed for Party {
    const COLLECTION: &'static str = "parties";
    type Field = PartyField;

    fn resource_name(&self) -> &ResourceName {
        &self.name
    }

    fn read(&self, field: PartyField, _: &ReadModel) -> Vec<Value> {
        match field {
            PartyField::Name => name(&self.name),
            PartyField::Kind => ordinal(self.kind),
            PartyField::DisplayName => text(&self.display_name),
            PartyField::HomeArea => text(&self.home_area),
            PartyField::Codes => self.codes.iter().map(|c| Value::text(&c.value)).collect(),
        }
    }
}

fields! {
    /// What areas can be filtered and ordered by.
    AreaField {
        Name: FieldSpec::one("name", FieldType::Name),
        DisplayName: FieldSpec::one("display_name", FieldType::Text),
        Level: FieldSpec::one("level", enumeration::<AreaLevel>("AREA_LEVEL_")),
        Parent: FieldSpec::one("parent", FieldType::Name),
        Ancestor: FieldSpec::many("ancestor", FieldType::Name),
        Names: FieldSpec::many("names", FieldType::Text),
        Codes: FieldSpec::many("codes", FieldType::Text),
    }
}

impl Listed for Area {
    const COLLECTION: &'static str = "areas";
    type Field = AreaField;

    fn resource_name(&self) -> &ResourceName {
        &self.name
    }

    fn read(&self, field: AreaField, model: &ReadModel) -> Vec<Value> {
        match field {
            AreaField::Name => name(&self.name),
            AreaField::DisplayName => text(&self.display_name),
            AreaField::Level => ordinal(self.level),
            AreaField::Parent => optional_name(self.parent.as_ref()),
            AreaField::Ancestor => model
                .area_and_ancestors(&self.name)
                .iter()
                .skip(1)
                .map(|a| Value::text(a.as_str()))
                .collect(),
            AreaField::Names => self.names.iter().map(|n| Value::text(&n.text)).collect(),
            AreaField::Codes => self.codes.iter().map(|c| Value::text(&c.value)).collect(),
        }
    }
}

fields! {
    /// What pairings can be filtered and ordered by.
    PairingField {
        Name: FieldSpec::one("name", FieldType::Name),
        Party: FieldSpec::one("party", FieldType::Name),
        Area: FieldSpec::one("area", FieldType::Name),
        StartYear: FieldSpec::one("start_year", FieldType::Integer),
        EndYear: FieldSpec::one("end_year", FieldType::Integer),
        Field: FieldSpec::many("field", SUPPORT_FIELD),
        Status: FieldSpec::one("status", DATA_STATUS),
    }
}

impl Listed for Pairing {
    const COLLECTION: &'static str = "pairings";
    type Field = PairingField;

    fn resource_name(&self) -> &ResourceName {
        &self.name
    }

    fn read(&self, field: PairingField, _: &ReadModel) -> Vec<Value> {
        match field {
            PairingField::Name => name(&self.name),
            PairingField::Party => name(&self.party),
            PairingField::Area => name(&self.area),
            PairingField::StartYear => integer(self.start_year),
            PairingField::EndYear => self.end_year.map(integer).unwrap_or_default(),
            PairingField::Field => self.fields.iter().flat_map(|f| ordinal(*f)).collect(),
            PairingField::Status => ordinal(self.status),
        }
    }
}

fields! {
    /// What projects can be filtered and ordered by.
    ProjectField {
        Name: FieldSpec::one("name", FieldType::Name),
        Title: FieldSpec::one("title", FieldType::Text),
        Description: FieldSpec::one("description", FieldType::Text),
        Party: FieldSpec::one("party", FieldType::Name),
        Pairing: FieldSpec::one("pairing", FieldType::Name),
        Area: FieldSpec::many("area", FieldType::Name),
        Field: FieldSpec::one("field", SUPPORT_FIELD),
        Livelihood: FieldSpec::one("livelihood", FieldType::Bool),
        Status: FieldSpec::one("status", enumeration::<ProjectStatus>("PROJECT_STATUS_")),
        DataStatus: FieldSpec::one("data_status", DATA_STATUS),
        Year: FieldSpec::many("year", FieldType::Integer),
    }
}

/// What the funding summary's pre-aggregates can answer a filter on a project field from
/// (see `model::cube`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Summarized {
    /// What every project of a class shares: its class's representative answers.
    ByClass,
    /// What a class shares only in the table that keeps recipients apart.
    ByClassWithRecipients,
    /// Each project's own (name, title, description): the indexes pick the projects, whose
    /// rows in the cube's title column are summed by class.
    ByProject,
}

impl ProjectField {
    /// What answers a summary filtered on this field. Declaring a field `ByClass` makes the
    /// cube's class key hold it; the cube's tests check every such field against the projects.
    pub const fn summarized(self) -> Summarized {
        match self {
            ProjectField::Name | ProjectField::Title | ProjectField::Description => {
                Summarized::ByProject
            }
            ProjectField::Area => Summarized::ByClassWithRecipients,
            ProjectField::Party
            | ProjectField::Pairing
            | ProjectField::Field
            | ProjectField::Livelihood
            | ProjectField::Status
            | ProjectField::DataStatus
            | ProjectField::Year => Summarized::ByClass,
        }
    }
}

impl Listed for Project {
    const COLLECTION: &'static str = "projects";
    type Field = ProjectField;

    fn resource_name(&self) -> &ResourceName {
        &self.name
    }

    fn read_text(&self, field: ProjectField) -> Option<&str> {
        match field {
            ProjectField::Name => Some(self.name.as_str()),
            ProjectField::Title => Some(&self.title),
            ProjectField::Description => Some(&self.description),
            ProjectField::Party => Some(self.party.as_str()),
            ProjectField::Pairing
            | ProjectField::Area
            | ProjectField::Field
            | ProjectField::Livelihood
            | ProjectField::Status
            | ProjectField::DataStatus
            | ProjectField::Year => None,
        }
    }

    fn read(&self, field: ProjectField, model: &ReadModel) -> Vec<Value> {
        match field {
            ProjectField::Name => name(&self.name),
            ProjectField::Title => text(&self.title),
            ProjectField::Description => text(&self.description),
            ProjectField::Party => name(&self.party),
            ProjectField::Pairing => optional_name(self.pairing.as_ref()),
            ProjectField::Area => {
                areas_and_ancestors(self.recipients.iter().map(|r| &r.area), model)
            }
            ProjectField::Field => ordinal(self.field),
            ProjectField::Livelihood => vec![Value::Bool(self.livelihood)],
            ProjectField::Status => ordinal(self.status),
            ProjectField::DataStatus => ordinal(self.data_status),
            ProjectField::Year => self.funding_years().into_iter().flat_map(integer).collect(),
        }
    }
}

fields! {
    /// What indicators can be filtered and ordered by.
    IndicatorField {
        Name: FieldSpec::one("name", FieldType::Name),
        Code: FieldSpec::one("code", FieldType::Text),
        DisplayName: FieldSpec::one("display_name", FieldType::Text),
        Unit: FieldSpec::one("unit", FieldType::Text),
        Frequency: FieldSpec::one("frequency", enumeration::<Frequency>("FREQUENCY_")),
        MeasureKind: FieldSpec::one("measure_kind", enumeration::<MeasureKind>("MEASURE_KIND_")),
        Summable: FieldSpec::one("summable", FieldType::Bool),
        PriceBasis: FieldSpec::one(
            "price_basis",
            FieldType::Enum { prefix: "PRICE_BASIS_", values: &PriceBasis::LABELS },
        ),
        Topic: FieldSpec::one("topic", FieldType::Text),
    }
}

impl Listed for Indicator {
    const COLLECTION: &'static str = "indicators";
    type Field = IndicatorField;

    fn resource_name(&self) -> &ResourceName {
        &self.name
    }

    fn read(&self, field: IndicatorField, _: &ReadModel) -> Vec<Value> {
        match field {
            IndicatorField::Name => name(&self.name),
            IndicatorField::Code => text(&self.code),
            IndicatorField::DisplayName => text(&self.display_name),
            IndicatorField::Unit => text(&self.unit),
            IndicatorField::Frequency => ordinal(self.frequency),
            IndicatorField::MeasureKind => ordinal(self.measure_kind),
            IndicatorField::Summable => vec![Value::Bool(self.summable)],
            IndicatorField::PriceBasis => vec![Value::Enum(self.price_basis.kind() as u16)],
            IndicatorField::Topic => text(&self.topic),
        }
    }
}

fields! {
    /// What observations can be filtered and ordered by.
    ObservationField {
        Name: FieldSpec::one("name", FieldType::Name),
        Indicator: FieldSpec::one("indicator", FieldType::Name),
        Area: FieldSpec::one("area", FieldType::Name),
        Period: FieldSpec::one("period", FieldType::Text),
        Year: FieldSpec::one("year", FieldType::Integer),
        Qualifier: FieldSpec::one("qualifier", enumeration::<Qualifier>("QUALIFIER_")),
        Status: FieldSpec::one("status", DATA_STATUS),
        Reading: FieldSpec::one("reading", enumeration::<Reading>("READING_")),
    }
}

impl Listed for Observation {
    const COLLECTION: &'static str = "observations";
    type Field = ObservationField;

    fn resource_name(&self) -> &ResourceName {
        &self.name
    }

    fn read_text(&self, field: ObservationField) -> Option<&str> {
        match field {
            ObservationField::Name => Some(self.name.as_str()),
            ObservationField::Indicator => Some(self.indicator.as_str()),
            ObservationField::Area => Some(self.area.as_str()),
            ObservationField::Period => Some(&self.period),
            ObservationField::Year
            | ObservationField::Qualifier
            | ObservationField::Status
            | ObservationField::Reading => None,
        }
    }

    fn read(&self, field: ObservationField, _: &ReadModel) -> Vec<Value> {
        match field {
            ObservationField::Name => name(&self.name),
            ObservationField::Indicator => name(&self.indicator),
            ObservationField::Area => name(&self.area),
            ObservationField::Period => text(&self.period),
            ObservationField::Year => first_year(&self.period),
            ObservationField::Qualifier => ordinal(self.qualifier),
            ObservationField::Status => ordinal(self.status),
            ObservationField::Reading => self.reading.map_or_else(Vec::new, ordinal),
        }
    }
}
